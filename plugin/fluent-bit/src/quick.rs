//! The fast path: deciding that a record passes unchanged while reading
//! as little of it as possible.
//!
//! Under an interpreter (WAMR's, in Fluent Bit) every instruction costs
//! about a nanosecond, so reading all of an ordinary record (validating
//! it, decoding its text) costs several times what Fluent Bit itself
//! spends on it. Almost every record is an ordinary line whose first byte
//! already says it cannot start a crash report. [`locate_log`] finds the
//! top-level `log` string, skipping the members before it and scanning
//! the strings eight bytes at a time, and tells whether its text may open
//! a report; the callers decide "unchanged" only when the full reading
//! would certainly conclude the same, and read the record in full
//! otherwise.

use std::ops::Range;

use gopanic::grammar::{HTTP_PANIC_MARK, OPENING_PREFIXES};

use crate::json::Parser;

const ONES: u64 = 0x0101_0101_0101_0101;
const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;

/// Eight bytes at `i`, if there are eight.
#[inline(always)]
fn load8(b: &[u8], i: usize) -> Option<u64> {
    let chunk: [u8; 8] = b.get(i..i.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(chunk))
}

/// The high bit of each byte of `v` that is zero, exactly.
#[inline(always)]
fn zeros(v: u64) -> u64 {
    !(((v & LOW7).wrapping_add(LOW7)) | v | LOW7)
}

/// `c` in every byte.
#[inline(always)]
const fn splat(c: u8) -> u64 {
    ONES * c as u64
}

/// Bytes 0 to 6 of a chunk: a scan that also looks at the byte after a
/// hit steps seven bytes at a time.
const FIRST7: u64 = 0x00FF_FFFF_FFFF_FFFF;

/// The index of the first `"` or `\` at or after `i`, or `b.len()`.
#[inline(always)]
fn next_special(b: &[u8], mut i: usize) -> usize {
    while let Some(x) = load8(b, i) {
        let m = zeros(x ^ splat(b'"')) | zeros(x ^ splat(b'\\'));
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' {
            return i;
        }
        i += 1;
    }
    i
}

/// The index after the closing quote of the string whose text starts at
/// `i`. Escapes are skipped, not checked: only a full reading relies on
/// the record being valid.
///
/// Every `"` and `\` of a chunk of eight is taken from one load: a JSON
/// log line escapes a quote every few bytes, and reloading after each
/// would cost more than the scan.
#[inline(always)]
fn string_end(b: &[u8], mut i: usize) -> Option<usize> {
    // Bytes before this index are escaped or consumed.
    let mut skip = i;
    while let Some(x) = load8(b, i) {
        let mut m = zeros(x ^ splat(b'"')) | zeros(x ^ splat(b'\\'));
        while m != 0 {
            let at = i + (m.trailing_zeros() / 8) as usize;
            m &= m - 1;
            if at < skip {
                continue;
            }
            if b.get(at) == Some(&b'"') {
                return Some(at + 1);
            }
            skip = at + 2;
        }
        i += 8;
    }
    i = i.max(skip);
    loop {
        match b.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
}

/// Whether `b` holds `pat` at `i`: eight bytes at a time, the last eight
/// overlapping (a byte-wise `memcmp` costs ten times more interpreted).
#[inline(always)]
fn has_at(b: &[u8], i: usize, pat: &[u8]) -> bool {
    let n = pat.len();
    if n < 8 {
        return b.get(i..i + n) == Some(pat);
    }
    let mut k = 0;
    loop {
        let k8 = k.min(n - 8);
        match (load8(b, i + k8), load8(pat, k8)) {
            (Some(x), Some(p)) if x == p => {}
            _ => return false,
        }
        if k8 == n - 8 {
            return true;
        }
        k += 8;
    }
}

/// A string scanned to its closing quote, with what the fast path needs to
/// know of its text.
struct Scan {
    /// Index after the closing quote.
    end: usize,
    /// With `lines`: the text has a `\n` escape.
    newlines: bool,
    /// With `lines`: a line after a `\n` starts with a report's first
    /// byte or with an escape (`\u` could spell one).
    may_open: bool,
}

/// Scans the string whose text starts at `i` to its closing quote. With
/// `lines`, notes `\n` escapes and the first byte after each. Escapes
/// other than `\u` decode to `"`, `\`, `/` or control characters: none
/// starts a report or occurs in [`HTTP_PANIC`].
#[inline(always)]
fn scan_string(b: &[u8], mut i: usize, lines: bool) -> Option<Scan> {
    let mut newlines = false;
    let mut may_open = false;
    loop {
        i = next_special(b, i);
        if *b.get(i)? == b'"' {
            return Some(Scan {
                end: i + 1,
                newlines,
                may_open,
            });
        }
        let escaped = b.get(i + 1).copied();
        i += 2;
        if lines && escaped == Some(b'n') {
            newlines = true;
            if b.get(i)
                .copied()
                .is_some_and(|c| may_open_with(c) || c == b'\\')
            {
                may_open = true;
            }
        }
    }
}

/// Whether `raw` holds a `\u` escape (or `\\u`, which is none).
fn has_u_escape(raw: &[u8]) -> bool {
    let pair = |w: &[u8]| w.windows(2).any(|p| p == b"\\u");
    let mut i = 0;
    while let Some(x) = load8(raw, i) {
        if zeros(x ^ splat(b'\\')) & (zeros(x ^ splat(b'u')) >> 8) & FIRST7 != 0
            && raw.get(i..i + 8).is_some_and(pair)
        {
            return true;
        }
        i += 7;
    }
    raw.get(i..).is_some_and(pair)
}

#[inline(always)]
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The fixed start of the lines that may open a report, other than an
/// `http: panic serving` line, by first byte: the grammar's
/// [`OPENING_PREFIXES`] as byte strings (empty: none starts so).
const START_PREFIXES: [&[u8]; 256] = start_prefixes();

#[allow(clippy::indexing_slicing)] // const evaluation: out of bounds fails the build
const fn start_prefixes() -> [&'static [u8]; 256] {
    let mut table: [&[u8]; 256] = [b""; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = OPENING_PREFIXES[i].as_bytes();
        i += 1;
    }
    table
}

/// The prefix of the lines that may open a report starting with `first`
/// (`panic: `, `fatal error: `, `runtime: `, `goroutine `, `SIG`…), other
/// than an `http: panic serving` line.
#[inline(always)]
fn start_prefix(first: u8) -> Option<&'static [u8]> {
    let prefix = *START_PREFIXES.get(usize::from(first))?;
    (!prefix.is_empty()).then_some(prefix)
}

/// Whether a line starting with `first` may open a report, other than an
/// `http: panic serving` line.
#[inline(always)]
fn may_open_with(first: u8) -> bool {
    start_prefix(first).is_some()
}

/// What the grammar finds anywhere in a line: `[log prefix ]http: panic
/// serving `. The prefix's tokens hold no `{`, so a line starting with `{`
/// (a JSON log line) cannot be one.
const HTTP_PANIC: Needle<20> = Needle::new(HTTP_PANIC_MARK.as_bytes());

/// A fixed byte string searched for with Horspool's algorithm: the skip
/// table is built at compile time, and a search reads about one byte in
/// `N` of the text.
struct Needle<const N: usize> {
    pat: [u8; N],
    skip: [u8; 256],
}

impl<const N: usize> Needle<N> {
    #[allow(clippy::indexing_slicing, clippy::cast_possible_truncation)]
    const fn new(text: &[u8]) -> Self {
        assert!(N > 0 && N < 256 && text.len() == N);
        let mut pat = [0; N];
        let mut i = 0;
        while i < N {
            pat[i] = text[i];
            i += 1;
        }
        let mut skip = [N as u8; 256];
        let mut i = 0;
        while i + 1 < N {
            skip[pat[i] as usize] = (N - 1 - i) as u8;
            i += 1;
        }
        Needle { pat, skip }
    }

    fn found_in(&self, hay: &[u8]) -> bool {
        let last_pat = self.pat.last().copied().unwrap_or_default();
        let mut i = 0;
        while let Some(&last) = hay.get(i + N - 1) {
            if last == last_pat && hay.get(i..i + N) == Some(&self.pat[..]) {
                return true;
            }
            i += usize::from(
                self.skip
                    .get(usize::from(last))
                    .copied()
                    .unwrap_or(1)
                    .max(1),
            );
        }
        false
    }
}

/// Whether `rest` holds `"log"` (a later `log` member would be the one a
/// full reading takes) or, with `tick`, `"gopanic_tick"` (a heartbeat).
/// Finds the byte pairs `g"` and `k"` eight bytes at a time (seven new
/// ones a step), and checks the few it finds.
fn later_log_or_tick(rest: &[u8], tick: bool) -> bool {
    let check = |at: usize| -> bool {
        // `at` is the index of the closing quote.
        let ends = |word: &[u8]| {
            at.checked_sub(word.len())
                .and_then(|s| rest.get(s..at))
                .is_some_and(|w| w == word)
        };
        ends(b"\"log") || (tick && ends(b"\"gopanic_tick"))
    };
    let mut i = 0;
    while let Some(x) = load8(rest, i) {
        let quote_next = zeros(x ^ splat(b'"')) >> 8;
        let m = (zeros(x ^ splat(b'g')) | zeros(x ^ splat(b'k'))) & quote_next & FIRST7;
        if m != 0 {
            let mut bits = m;
            while bits != 0 {
                let at = i + (bits.trailing_zeros() / 8) as usize + 1;
                if check(at) {
                    return true;
                }
                bits &= bits - 1;
            }
        }
        i += 7;
    }
    // The last pairs, fewer than eight bytes.
    while let Some(&c) = rest.get(i) {
        if c == b'"' && check(i) {
            return true;
        }
        i += 1;
    }
    false
}

/// The top-level `log` string of a record, found without reading the
/// whole record, when that is enough to know it is the member a full
/// reading takes: the members before it are well formed enough to skip,
/// `log` is a string, and no `"log"` follows it (a duplicate key wins).
/// With `markers`, `None` also when a member before `log` is named
/// `gopanic_…` or `"gopanic_tick"` occurs after it (a heartbeat).
///
/// Returns the raw value's range (quotes included) and whether its text
/// may open a report. `false` is certain: no line of the text (or only the
/// first, with `!all_lines`) starts with a report's first byte, and none
/// can be an `http: panic serving` line; `true` means "decode it and ask
/// the grammar". `None` means "read the record in full". The record may be
/// invalid JSON either way: a full reading would return it unchanged, as
/// the callers do with a text that cannot open a report.
pub fn locate_log(b: &[u8], markers: bool, all_lines: bool) -> Option<(Range<usize>, bool)> {
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    loop {
        i = skip_ws(b, i);
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let key = i + 1;
        i = string_end(b, key)?;
        let name = b.get(key..i - 1)?;
        i = skip_ws(b, i);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        let at_string = b.get(i) == Some(&b'"');
        if name == b"log" {
            if !at_string {
                return None;
            }
            let text = scan_string(b, i + 1, all_lines)?;
            let value = i..text.end;
            if later_log_or_tick(b.get(text.end..)?, markers) {
                return None;
            }
            let first = b.get(i + 1).copied().unwrap_or(b'"');
            let raw = b.get(value.clone())?;
            let may_open = may_open_with(first)
                || (first == b'\\' && b.get(i + 2) == Some(&b'u'))
                || text.may_open
                // An `http: panic serving` line, unless every line starts
                // with `{` (only the first is known to, and with
                // `all_lines` only when it is the only one). A `\u` escape
                // could spell the phrase.
                || ((first != b'{' || text.newlines)
                    && (HTTP_PANIC.found_in(raw) || has_u_escape(raw)));
            return Some((value, may_open));
        }
        if markers && name.starts_with(b"gopanic_") {
            return None;
        }
        // The end of the object (or an error): no `log` to take.
        i = next_member(b, i, at_string)?;
    }
}

/// Where the members of a record of Fluent Bit's `cri` parser lie, in its
/// exact shape `{"time":"…","stream":"…","_p":"F","log":"…`, found by fixed
/// comparisons: raw values with their quotes (the `log` value only up to
/// its opening quote's next byte, `log_text`), and the one-byte `_p` tag.
/// The strings are not validated.
struct CriMembers {
    time: Range<usize>,
    stream: Range<usize>,
    /// The `_p` value, quotes included (one byte between them).
    p: Range<usize>,
    tag: u8,
    /// Where the `log` text starts, after the opening quote.
    log_text: usize,
}

const CRI_TIME: &[u8] = b"{\"time\":\"";
const CRI_LOG: &[u8] = b"\",\"log\":\"";

#[inline(always)]
fn cri_members(b: &[u8]) -> Option<CriMembers> {
    const STREAM: &[u8] = b",\"stream\":\"";
    const P: &[u8] = b",\"_p\":\"";
    // `{"time":"`: nine bytes.
    if load8(b, 0)? != u64::from_le_bytes(*b"{\"time\":") || b.get(8) != Some(&b'"') {
        return None;
    }
    let time_end = time_string_end(b, CRI_TIME.len())?;
    if let Some(m) = std_members(b, time_end) {
        return Some(m);
    }
    if !has_at(b, time_end, STREAM) {
        return None;
    }
    let stream = time_end + STREAM.len();
    let stream_end = string_end(b, stream)?;
    if !has_at(b, stream_end, P) {
        return None;
    }
    let tag = *b.get(stream_end + P.len())?;
    let log = stream_end + P.len() + 1;
    if !has_at(b, log, CRI_LOG) {
        return None;
    }
    Some(CriMembers {
        time: CRI_TIME.len() - 1..time_end,
        stream: stream - 1..stream_end,
        p: stream_end + P.len() - 1..log + 1,
        tag,
        log_text: log + CRI_LOG.len(),
    })
}

/// The index after the closing quote of the `time` string whose text
/// starts at `i`. An RFC 3339 time's bytes all lie in `+`..=`Z`, which
/// holds neither `"` nor `\`: the first byte out of that range, found
/// eight at a time, ends the string when it is the quote. Anything else
/// goes to [`string_end`].
#[inline(always)]
fn time_string_end(b: &[u8], i: usize) -> Option<usize> {
    // A runtime's time is 20 to 35 bytes long: four chunks, checked
    // without a loop (whose steps cost more than the checks, interpreted).
    if let Some(w) = b.get(i..i + 32) {
        let out = |k: usize| load8(w, k).map_or(u64::MAX, |x| outside(x, b'+', b'Z'));
        let (o0, o8, o16, o24) = (out(0), out(8), out(16), out(24));
        let (k, o) = match () {
            () if o0 != 0 => (0, o0),
            () if o8 != 0 => (8, o8),
            () if o16 != 0 => (16, o16),
            () if o24 != 0 => (24, o24),
            () => return string_end(b, i),
        };
        let at = i + k + (o.trailing_zeros() / 8) as usize;
        if b.get(at) == Some(&b'"') {
            return Some(at + 1);
        }
        return string_end(b, i);
    }
    let mut j = i;
    while let Some(x) = load8(b, j) {
        let out = outside(x, b'+', b'Z');
        if out != 0 {
            let at = j + (out.trailing_zeros() / 8) as usize;
            if b.get(at) == Some(&b'"') {
                return Some(at + 1);
            }
            break;
        }
        j += 8;
    }
    string_end(b, i)
}

/// The high bit of each byte of `v` outside `lo..=hi` (both below 0x80).
/// Exact up to the first byte at or above 0x80, which is marked; bytes
/// after it may be marked wrongly (a carry): callers take the first.
#[inline(always)]
const fn outside(v: u64, lo: u8, hi: u8) -> u64 {
    const HIGH: u64 = !LOW7;
    let at_least_lo = v.wrapping_add(splat(0x80 - lo));
    let above_hi = v.wrapping_add(splat(0x7F - hi));
    !(at_least_lo & !above_hi & !v) & HIGH
}

/// [`cri_members`] after the time (`t` is after its closing quote) when
/// the rest has the one shape a runtime writes:
/// `,"stream":"stdout","_p":"F","log":"` (or `stderr`, any one-byte tag),
/// checked as six eight-byte words rather than member by member.
#[inline(always)]
fn std_members(b: &[u8], t: usize) -> Option<CriMembers> {
    let word = |w: &[u8; 8]| u64::from_le_bytes(*w);
    // One bounds check: the loads below are at fixed offsets in `m`.
    let m = b.get(t..t + 35)?;
    let at = |k: usize| load8(m, k).unwrap_or_default();
    let name = at(11);
    let fixed = at(0) == word(b",\"stream")
        && at(3) == word(b"tream\":\"")
        && (name == word(b"stdout\",") || name == word(b"stderr\","))
        && at(17) == word(b"\",\"_p\":\"")
        && at(26) == word(b"\",\"log\":")
        && m.get(34) == Some(&b'"');
    if !fixed {
        return None;
    }
    Some(CriMembers {
        time: CRI_TIME.len() - 1..t,
        stream: t + 10..t + 18,
        p: t + 24..t + 27,
        tag: *b.get(t + 25)?,
        log_text: t + 35,
    })
}

/// [`glance`] for the exact shape of Fluent Bit's `cri` parser records:
/// the common case under an interpreter, where each generic step costs.
#[inline(always)]
fn glance_cri(b: &[u8]) -> Option<Glance> {
    let m = cri_members(b)?;
    Some(Glance {
        // `","log":"`: the key's quote is the third byte.
        key_at: m.log_text - CRI_LOG.len() + 2,
        may_open: text_may_open(b.get(m.log_text..)?),
        stream: Some(m.stream),
        whole: !matches!(m.tag, b'P' | b'\\'),
    })
}

/// The members of a record that is exactly `{"time":"…","stream":"…",
/// "_p":"…","log":"…"}` (Fluent Bit's `cri` parser, before any filter adds
/// members), every string valid: what a full reading would find, read
/// without collecting members. Raw values with their quotes: `time`,
/// `stream`, `_p`, `log`. `None` for any other record (read it in full).
pub fn cri_record(b: &[u8]) -> Option<[Range<usize>; 4]> {
    let m = cri_members(b)?;
    let log = m.log_text - 1..string_end(b, m.log_text)?;
    if b.get(log.end..) != Some(b"}") {
        return None;
    }
    let valid = |r: &Range<usize>| {
        let mut parser = Parser { b, i: r.start };
        parser.string() == Some(r.clone())
    };
    if ![&m.time, &m.stream, &m.p, &log].into_iter().all(valid) {
        return None;
    }
    Some([m.time, m.stream, m.p, log])
}

/// A record of the exact `cri` shape (see [`cri_record`]) whose strings
/// are plain: printable ASCII, with no escapes but the one-letter ones
/// (`\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`) in `log`, as nearly
/// every line is. What [`cri_record`] and decoding its strings conclude,
/// read in one pass over each string rather than three (validate, find
/// the end, decode).
pub struct PlainCri<'a> {
    /// The `time` text.
    pub time: &'a str,
    /// The `stream` text.
    pub stream: &'a str,
    /// The `_p` tag is `P`.
    pub partial: bool,
    /// The `log` text, decoded.
    pub text: String,
}

/// [`PlainCri`] of a record; `None` for any other record (read it with
/// [`cri_record`], which takes every valid one).
pub fn plain_cri(b: &[u8]) -> Option<PlainCri<'_>> {
    let m = cri_members(b)?;
    let (text, end) = plain_string(b, m.log_text)?;
    if b.get(end..) != Some(b"}") {
        return None;
    }
    let inner = |r: Range<usize>| {
        let raw = b.get(r.start + 1..r.end.checked_sub(1)?)?;
        if is_plain(raw) { ascii_str(raw) } else { None }
    };
    let tag = inner(m.p)?;
    Some(PlainCri {
        time: inner(m.time)?,
        stream: inner(m.stream)?,
        partial: tag == "P",
        text,
    })
}

/// `b` as text when it is ASCII, checked eight bytes at a time (`from_utf8`
/// checks four, interpreted, and a stream's tag is ~80 bytes).
pub fn ascii_str(b: &[u8]) -> Option<&str> {
    let mut i = 0;
    while let Some(x) = load8(b, i) {
        if x & !LOW7 != 0 {
            return None;
        }
        i += 8;
    }
    if !b.get(i..)?.is_ascii() {
        return None;
    }
    // SAFETY: every byte is below 0x80: ASCII, which is UTF-8.
    Some(unsafe { std::str::from_utf8_unchecked(b) })
}

/// The high bit of each byte of `v` below 0x20 (a control character),
/// exact up to the first such byte.
#[inline(always)]
const fn controls(v: u64) -> u64 {
    v.wrapping_sub(splat(0x20)) & !v & !LOW7
}

/// The high bit of each byte of `v` that a plain string's text cannot hold
/// as it is: `"`, `\`, a control character or a byte of a multi-byte
/// character; the first one is exact.
#[inline(always)]
fn not_plain(v: u64) -> u64 {
    zeros(v ^ splat(b'"')) | zeros(v ^ splat(b'\\')) | controls(v) | (v & !LOW7)
}

/// A byte a plain string's text holds as it is: [`not_plain`] for one byte.
fn plain_byte(c: u8) -> bool {
    (0x20..0x80).contains(&c) && c != b'"' && c != b'\\'
}

/// Whether `raw` (a string's text without quotes) is printable ASCII
/// without escapes.
fn is_plain(raw: &[u8]) -> bool {
    let mut i = 0;
    while let Some(x) = load8(raw, i) {
        if not_plain(x) != 0 {
            return false;
        }
        i += 8;
    }
    raw.get(i..)
        .unwrap_or_default()
        .iter()
        .all(|&c| plain_byte(c))
}

/// The text of the plain string whose text starts at `i` (see
/// [`PlainCri`]), decoded, and the index after its closing quote; `None`
/// at anything else (a `\u` escape, a control character, a non-ASCII
/// byte, no closing quote).
fn plain_string(b: &[u8], mut i: usize) -> Option<(String, usize)> {
    let mut out = Vec::with_capacity(b.len().saturating_sub(i));
    let mut run = i;
    loop {
        while let Some(x) = load8(b, i) {
            let m = not_plain(x);
            if m != 0 {
                i += (m.trailing_zeros() / 8) as usize;
                break;
            }
            i += 8;
        }
        while b.get(i).is_some_and(|&c| plain_byte(c)) {
            i += 1;
        }
        out.extend_from_slice(b.get(run..i)?);
        match *b.get(i)? {
            b'"' => {
                // SAFETY: every byte pushed is ASCII (below 0x80): the runs
                // hold no other byte, and the escapes decode to ASCII.
                let text = unsafe { String::from_utf8_unchecked(out) };
                return Some((text, i + 1));
            }
            // The escaped byte itself: it starts the next run (a JSON log
            // line's text escapes a quote every few bytes).
            b'\\' if matches!(b.get(i + 1), Some(b'"' | b'\\' | b'/')) => {
                run = i + 1;
                i += 2;
            }
            b'\\' => {
                out.push(match *b.get(i + 1)? {
                    b'b' => 0x08,
                    b'f' => 0x0C,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    _ => return None,
                });
                i += 2;
                run = i;
            }
            _ => return None,
        }
    }
}

/// Skips the member value at `i` (a string when `at_string`) and the comma
/// after it; `None` at the end of the object or on an error.
#[inline(always)]
fn next_member(b: &[u8], i: usize, at_string: bool) -> Option<usize> {
    let i = if at_string {
        string_end(b, i + 1)?
    } else {
        let mut p = Parser { b, i };
        p.value()?;
        p.i
    };
    let i = skip_ws(b, i);
    (b.get(i) == Some(&b',')).then_some(i + 1)
}

/// Docker's json-file driver cuts a line into chunks of this many bytes;
/// only the last keeps the line's `\n`. A record without the newline but
/// shorter than this is a whole line (of a writer that strips newlines, or
/// the end of a stream), never a chunk.
pub const DOCKER_CHUNK: usize = 16 * 1024;

/// What `gopanic_reassemble`'s fast path learns of a one-line record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glance {
    /// Where the `log` member's key starts (its opening quote), for hosts
    /// that rename it.
    pub key_at: usize,
    /// The text may open a report: decode it and ask the grammar. `false`
    /// is certain.
    pub may_open: bool,
    /// The raw `stream` value (quotes included) when the first `stream`
    /// member precedes `log` and is a string, as in records of Fluent
    /// Bit's `cri` parser.
    pub stream: Option<Range<usize>>,
    /// The record is a whole line: the CRI tag a full reading takes
    /// (`_p`, else `logtag`, before `log`) is not `P`, or the text is too
    /// short to be a chunk. `false` means the line may be a chunk still to
    /// be merged.
    pub whole: bool,
}

/// Reads as little of a record as the fast path needs: the members before
/// the first top-level `log` (short scalars in Fluent Bit's records) and
/// the first bytes of its text; the text is scanned to its end only when
/// no CRI tag said whether the line is whole. `chunk_bytes` is the
/// container runtime's chunk size (0: lines are never chunks). `None`:
/// read the record in full (no `log` string, a key with escapes, not an
/// object). The record is not validated: a full reading returns an
/// invalid one unchanged too.
///
/// The full reading takes the same members (the first `log`, the first
/// `stream`, the first `_p` or else the first `logtag`), so the fast path
/// and the full reading agree on every record.
pub fn glance(b: &[u8], chunk_bytes: usize) -> Option<Glance> {
    if let Some(g) = glance_cri(b) {
        return Some(g);
    }
    if b.first() != Some(&b'{') {
        return None;
    }
    let mut i = 1;
    // The first `stream`, `_p` and `logtag` members: `Some(None)` when the
    // value is not a string (a full reading then ignores the member).
    let mut stream: Option<Option<Range<usize>>> = None;
    let mut p: Option<Option<bool>> = None;
    let mut logtag: Option<Option<bool>> = None;
    loop {
        i = skip_ws(b, i);
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let key_at = i;
        let key = i + 1;
        i = next_special(b, key);
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let name = b.get(key..i)?;
        i = skip_ws(b, i + 1);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        let at_string = b.get(i) == Some(&b'"');
        match name {
            b"log" if at_string => {
                // A `_p` after `log` would win over a `logtag` before it.
                let tag = match (p, logtag) {
                    (Some(Some(whole)), _) | (Some(None), Some(Some(whole))) => Some(whole),
                    _ => None,
                };
                let whole = match tag {
                    Some(whole) => whole,
                    None => {
                        // A chunk's text is a whole number of chunks; the
                        // text is at most three times the raw value (an
                        // invalid byte reads as U+FFFD, escapes shorten).
                        let end = string_end(b, i + 1)?;
                        let raw = (end - 1).checked_sub(i + 1)?;
                        chunk_bytes == 0 || raw.saturating_mul(3) < chunk_bytes
                    }
                };
                return Some(Glance {
                    key_at,
                    may_open: text_may_open(b.get(i + 1..)?),
                    stream: stream.flatten(),
                    whole,
                });
            }
            b"log" => return None,
            b"_p" if p.is_none() => p = Some(at_string.then(|| tag_whole(b, i))),
            b"logtag" if logtag.is_none() => logtag = Some(at_string.then(|| tag_whole(b, i))),
            b"stream" if stream.is_none() => {
                stream = Some(if at_string {
                    Some(i..string_end(b, i + 1)?)
                } else {
                    None
                });
            }
            _ => {}
        }
        i = next_member(b, i, at_string)?;
    }
}

/// Whether the CRI tag whose string value starts at `i` marks a whole
/// line: not `P` (nor an escape, which could spell it).
fn tag_whole(b: &[u8], i: usize) -> bool {
    !matches!(b.get(i + 1), Some(b'P' | b'\\'))
}

/// Whether `rest` (at a backslash) is `\n` or `\r\n` closing the string.
fn at_line_end(rest: &[u8]) -> bool {
    matches!(
        rest,
        [b'\\', b'n', b'"', ..] | [b'\\', b'r', b'\\', b'n', b'"', ..]
    )
}

/// Whether the text of a raw JSON string (`text` starts after the opening
/// quote) may open a report, from its first bytes: a report's first line
/// prefix, or the log-prefix tokens of an `http: panic serving` line.
/// Certain when `false`; an escape where it matters gives `true`.
pub fn text_may_open(text: &[u8]) -> bool {
    let Some(&first) = text.first() else {
        return false;
    };
    match first {
        // Indented and blank lines never open a report (the grammar reads
        // them before anything else); a JSON log line cannot carry an
        // `http: panic serving` log prefix (its first token holds `{`).
        b' ' | b'{' | b'"' => return false,
        // `\t`: a tab-indented line; any other escape could spell a start.
        b'\\' => return text.get(1) != Some(&b't'),
        _ => {}
    }
    if let Some(prefix) = start_prefix(first) {
        for (k, &want) in prefix.iter().enumerate() {
            match text.get(k) {
                Some(&c) if c == want => {}
                // An escape could spell the byte; a string ending is no start.
                Some(b'\\') => return true,
                _ => return http_may_open(text),
            }
        }
        return true;
    }
    http_may_open(text)
}

/// Whether the text may be `[log prefix ]http: panic serving …`: walks the
/// space-separated tokens from the start while each is a token the grammar
/// allows before the phrase (date/time characters only, or ending with
/// `:` and free of `"{}=`), and answers `true` as soon as a token ends
/// with `http:` before a space (the phrase's first word). Stops at the
/// first token that cannot belong to such a prefix: the grammar takes the
/// phrase's first occurrence, and every token before it must be allowed.
/// Escapes answer `true` (they could spell anything), but a tab, which is
/// a token byte like any other.
///
/// A token's end (a space, `"` or `\`) and whether all its bytes are
/// date/time bytes are found eight bytes at a time: a log line's
/// timestamp is most of what is walked, and a byte at a time costs
/// several times more interpreted.
fn http_may_open(text: &[u8]) -> bool {
    // The phrase's first word, which a space follows.
    const WORD: &[u8] = HTTP_PANIC_MARK.as_bytes().split_at(5).0;
    // Where the token starts, and how far it is read.
    let (mut start, mut j) = (0, 0);
    if date_then_time(text) {
        (start, j) = (20, 20);
    }
    let mut date_time = true;
    loop {
        let end = token_end(text, &mut j, &mut date_time);
        let Some(&c) = text.get(end) else {
            // The string has no closing quote: not a line to judge.
            return false;
        };
        if c == b'\\' {
            if text.get(end + 1) == Some(&b't') {
                date_time = false;
                j = end + 2;
                continue;
            }
            // Docker's trailing newline ends the line; any other escape
            // could spell anything.
            return !at_line_end(text.get(end..).unwrap_or_default());
        }
        if c == b'"' {
            return false;
        }
        // A date/time token holds no `h`; an empty one is allowed too.
        if !date_time && end > start {
            let token = text.get(start..end).unwrap_or_default();
            if token.last() != Some(&b':') {
                return false;
            }
            if token.ends_with(WORD) {
                return true;
            }
            if token.iter().any(|c| b"{}=".contains(c)) {
                return false;
            }
        }
        (start, j) = (end + 1, end + 1);
        date_time = true;
    }
}

/// Whether the text starts with two date/time tokens of ten and eight
/// bytes and a space after each (`2026/11/27 05:20:58 `, the `log`
/// package's, or `2026-11-27 05:20:58 `): the usual start of a log line
/// that starts with a digit, checked in three eight-byte range checks.
#[inline(always)]
fn date_then_time(text: &[u8]) -> bool {
    // The space at index 10 is byte 2 of the chunk at 8.
    const SPACE_10: u64 = 0x80 << 16;
    let (Some(a), Some(b), Some(c)) = (load8(text, 0), load8(text, 8), load8(text, 11)) else {
        return false;
    };
    outside(a, b'-', b':') == 0
        && outside(b, b'-', b':') == SPACE_10
        && text.get(10) == Some(&b' ')
        && outside(c, b'-', b':') == 0
        && text.get(19) == Some(&b' ')
}

/// The index of the first space, `"` or `\` at or after `*j` (or the
/// text's end), clearing `date_time` when a byte before it is not a
/// date/time byte (`-`, `.`, `/`, `0`-`9`, `:`).
#[inline(always)]
fn token_end(text: &[u8], j: &mut usize, date_time: &mut bool) -> usize {
    // While the token may be a date or time (most tokens walked are), one
    // range check a chunk finds its first other byte, usually its end.
    if *date_time {
        while let Some(x) = load8(text, *j) {
            let other = outside(x, b'-', b':');
            if other != 0 {
                *j += (other.trailing_zeros() / 8) as usize;
                if matches!(text.get(*j), Some(b' ' | b'"' | b'\\')) {
                    return *j;
                }
                *date_time = false;
                break;
            }
            *j += 8;
        }
    }
    while let Some(x) = load8(text, *j) {
        let stops = zeros(x ^ splat(b' ')) | zeros(x ^ splat(b'"')) | zeros(x ^ splat(b'\\'));
        if stops != 0 {
            return *j + (stops.trailing_zeros() / 8) as usize;
        }
        *j += 8;
    }
    while let Some(&c) = text.get(*j) {
        if matches!(c, b' ' | b'"' | b'\\') {
            break;
        }
        *date_time &= matches!(c, b'-'..=b':');
        *j += 1;
    }
    *j
}

/// [`http_may_open`] a byte at a time: the reference the tests compare it
/// with.
#[cfg(test)]
fn http_tokens_bytewise(text: &[u8]) -> bool {
    // `http: `, the phrase's first word: the walk answers where it starts.
    const MARK: &[u8] = HTTP_PANIC_MARK.as_bytes().split_at(6).0;
    let mut i = 0;
    loop {
        // One token: [i, end).
        let mut date_time = true;
        let mut bad = false;
        let mut last = 0u8;
        let mut j = i;
        loop {
            let Some(&c) = text.get(j) else {
                return false;
            };
            match c {
                b'"' | b' ' => break,
                b'\\' if text.get(j + 1) == Some(&b't') => {
                    date_time = false;
                    j += 2;
                    last = b'\t';
                    continue;
                }
                b'\\' if at_line_end(text.get(j..).unwrap_or_default()) => break,
                b'\\' => return true,
                b'h' if text.get(j..j + MARK.len()) == Some(MARK) => return true,
                b'{' | b'}' | b'=' => {
                    bad = true;
                    date_time = false;
                }
                b'0'..=b'9' | b'/' | b':' | b'.' | b'-' => {}
                _ => date_time = false,
            }
            last = c;
            j += 1;
        }
        let allowed = j == i || date_time || (last == b':' && !bad);
        if !allowed || text.get(j) != Some(&b' ') {
            return false;
        }
        i = j + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gopanic::grammar::may_start_report;

    fn rec(log: &str) -> Vec<u8> {
        serde_json::json!({"time": "t", "stream": "stderr", "_p": "F", "log": log, "kubernetes": {"pod_name": "p", "labels": {"tag": "big", "x": "log"}}})
            .to_string()
            .into_bytes()
    }

    /// Lines that start reports, or nearly, or look like them.
    const LINES: &[&str] = &[
        "panic: boom",
        "fatal error: all goroutines are asleep - deadlock!",
        "runtime: out of memory",
        "unexpected fault address 0x1",
        "goroutine 1 [running]:",
        "SIGQUIT: quit",
        "==================",
        "http: panic serving 1.2.3.4:5: x",
        "2026/11/27 05:20:58 http: panic serving 1.2.3.4:5: x",
        "server: http: panic serving 1.2.3.4:5: x",
        "[srv]: http: panic serving 1.2.3.4:5: x",
        "{\"msg\":\"saw http: panic serving 1.2.3.4:5: x\"}",
        "{\"level\":\"info\"}",
        "GET / 200",
        "plain words",
        "",
        "\tat x",
        " indented",
        "10.0.0.1 - - GET",
    ];

    /// The first-byte tests are the grammar's: every kind of line that
    /// opens a report has its prefix here (or is found by `HTTP_PANIC`),
    /// and no other byte passes.
    #[test]
    fn start_bytes_are_the_grammars() {
        use gopanic::grammar::{LineKind, role};
        let mut firsts = Vec::new();
        for kind in LineKind::ALL {
            let r = role(kind);
            if r.opens.is_none() {
                continue;
            }
            if r.prefix.is_empty() {
                assert_eq!(kind, LineKind::HttpPanic);
                assert_eq!(&HTTP_PANIC.pat[..], HTTP_PANIC_MARK.as_bytes());
                continue;
            }
            let p = r.prefix.as_bytes();
            assert_eq!(start_prefix(p[0]), Some(p), "{kind:?}");
            firsts.push(p[0]);
        }
        firsts.sort();
        let passing: Vec<u8> = (0..=255u8).filter(|&b| may_open_with(b)).collect();
        assert_eq!(passing, firsts);
        assert_eq!(
            passing,
            [b'=', b'S', b'f', b'g', b'p', b'r', b'u'],
            "the bytes the module's docs name"
        );
    }

    /// Lines whose first bytes are certain must agree with the grammar:
    /// whenever it may start a report, the fast path must say "maybe".
    #[test]
    fn never_misses_what_the_grammar_may_start() {
        for l in LINES {
            for text in [l.to_string(), format!("{l}\n"), format!("{l}\r\n")] {
                let r = rec(&text);
                let (range, maybe) = locate_log(&r, true, false).unwrap();
                let raw: String = serde_json::from_slice(&r[range]).unwrap();
                assert_eq!(raw, text);
                if may_start_report(text.trim_end_matches(['\n', '\r'])) {
                    assert!(maybe, "{text:?}");
                }
                // As a later line of a joined text.
                let joined = format!("{{\"a\":1}}\n{text}");
                let (_, maybe) = locate_log(&rec(&joined), false, true).unwrap();
                if may_start_report(text.trim_end_matches(['\n', '\r'])) {
                    assert!(maybe, "{joined:?}");
                }
            }
        }
        // Escapes that could spell a start.
        let r = br#"{"log":"\u0070anic: x"}"#;
        assert!(locate_log(r, true, false).unwrap().1);
        let r = br#"{"log":"{\"a\":1}"}"#;
        assert!(!locate_log(r, true, false).unwrap().1);
    }

    #[test]
    fn reads_in_full_when_unsure_of_the_member() {
        for r in [
            &br#"{"log":"x","log":"panic: y"}"#[..],
            br#"{"log":"x", "log" :"panic: y"}"#,
            br#"{"log":"x","gopanic_tick":true}"#,
            br#"{"gopanic_reemitted":true,"log":"x"}"#,
            br#"{"log":1}"#,
            br#"{"message":"x"}"#,
            br#"{"a":1}"#,
            b"[1]",
            b"",
            br#"{"log":"x"#,
        ] {
            assert!(
                locate_log(r, true, false).is_none(),
                "{}",
                String::from_utf8_lossy(r)
            );
        }
        // Nested `log` keys before the member are skipped; a later nested
        // one sends the record to a full reading (it cannot tell).
        let r = br#"{"k":{"log":"panic: x"},"log":"okay","t":"gopanic"}"#;
        assert_eq!(locate_log(r, true, false).map(|x| x.1), Some(false));
        // Without markers the tick is no reason to read in full.
        let r = br#"{"log":"okay","gopanic_tick":true}"#;
        assert_eq!(locate_log(r, false, true).map(|x| x.1), Some(false));
    }

    #[test]
    fn pairs_across_chunk_boundaries() {
        for pad in 0..20 {
            let r = format!("{{\"log\":\"x\",\"{}\":1,\"log\":\"y\"}}", "a".repeat(pad));
            assert!(locate_log(r.as_bytes(), true, false).is_none(), "{r}");
            let r = format!(
                "{{\"log\":\"x\",\"{}\":1,\"gopanic_tick\":true}}",
                "a".repeat(pad)
            );
            assert!(locate_log(r.as_bytes(), true, false).is_none(), "{r}");
            let r = format!("{{\"log\":\"x\",\"{}g\":\"k\"}}", "a".repeat(pad));
            assert!(locate_log(r.as_bytes(), true, false).is_some(), "{r}");
        }
    }

    /// The reassemble fast path against the grammar: whenever the grammar
    /// may start a report on a line, `glance` must say "maybe", whatever
    /// the members around `log`.
    #[test]
    fn glance_never_misses_what_the_grammar_may_start() {
        let more = [
            "runtime stack:",
            "SIGSEGV: segmentation violation",
            "2026/11/27 05:20:58.123456 server.go:12: http: panic serving 1.2.3.4:5: x",
            "server:http: panic serving 1.2.3.4:5: x",
            "a:  http: panic serving 1.2.3.4:5: x",
            "x\tb: http: panic serving 1.2.3.4:5: x",
            "pan",
            "panic:",
            "goroutine",
            "fatal",
            "2026/11/27 05:20:58 hello",
            "SIG",
            "=====",
            "café: http: panic serving a: b",
            "\u{1}: http: panic serving a: b",
            "p\"q: http: panic serving a: b",
        ];
        let mut n = 0;
        for head in LINES.iter().chain(&more) {
            for text in [head.to_string(), format!("{head}\n"), format!("{head}\r\n")] {
                let line = text.trim_end_matches(['\n', '\r']);
                let log = serde_json::Value::from(text.as_str()).to_string();
                for rec in [
                    format!(
                        r#"{{"time":"t","stream":"stderr","_p":"F","log":{log},"k":{{"log":"x"}}}}"#
                    ),
                    format!(r#"{{"log":{log},"stream":"stderr","time":"t"}}"#),
                    format!(r#"{{"a":[1,{{"b":"log"}}],"log":{log}}}"#),
                ] {
                    let g = glance(rec.as_bytes(), DOCKER_CHUNK).unwrap();
                    if may_start_report(line) {
                        n += 1;
                        assert!(g.may_open, "{rec}");
                    }
                }
            }
        }
        assert!(n > 40, "{n}");
        // Ordinary lines are decided without a full reading.
        for text in [
            "GET / 200",
            "{\"level\":\"info\"}",
            "2026/11/27 05:20:58 hello",
            "\tat x",
        ] {
            let log = serde_json::Value::from(format!("{text}\n")).to_string();
            let g = glance(
                format!(r#"{{"log":{log},"stream":"s","time":"t"}}"#).as_bytes(),
                DOCKER_CHUNK,
            )
            .unwrap();
            assert!(!g.may_open && g.whole, "{text}");
        }
    }

    /// A deterministic pseudo-random sequence for generated inputs.
    fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
        move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        }
    }

    #[test]
    fn token_walk_matches_the_bytewise_walk() {
        let atoms: &[&[u8]] = &[
            b"2026/11/27",
            b"05:20:58.123",
            b"0123456789012345",
            b"1234567\xff89",
            b"2026-11-27T05:20:58.123456789Z",
            b"2026/11/27 05:20:58 ",
            b"2026-11-27 05:20:58",
            b"2026-11-27 05\xff20:58",
            b"-",
            b".",
            b"0",
            b"9",
            b"/",
            b":",
            b" ",
            b"  ",
            b"http: ",
            b"http: panic serving ",
            b"h",
            b"ht",
            b"main.go:12:",
            b"srv:",
            b"{",
            b"}",
            b"=",
            b"\\t",
            b"\\n",
            b"\\r\\n",
            b"\\\"",
            b"\\u0068",
            b"\\\\",
            b"x",
            b"INFO",
            b"caf\xc3\xa9",
            b"\xff",
            b",",
            b";",
            b"+",
            b"*",
            b"@",
        ];
        let mut next = xorshift(0x2545_F491_4F6C_DD1Du64);
        let mut yes = 0;
        for _ in 0..60_000 {
            let n = (next() % 12) as usize;
            let mut text = Vec::new();
            for _ in 0..n {
                text.extend_from_slice(atoms[(next() % atoms.len() as u64) as usize]);
            }
            if !next().is_multiple_of(4) {
                text.push(b'"');
                text.extend_from_slice(b",\"next\":1}");
            }
            let want = http_tokens_bytewise(&text);
            yes += usize::from(want);
            assert_eq!(
                http_may_open(&text),
                want,
                "{}",
                String::from_utf8_lossy(&text)
            );
        }
        assert!(yes > 1000, "{yes}");
    }

    /// Random texts against the grammar: whenever it may start a report
    /// on the decoded line, the raw text must say "maybe".
    #[test]
    fn text_may_open_never_misses_on_random_texts() {
        let atoms: &[&str] = &[
            "2026/11/27",
            "2026-11-27",
            "05:20:58.123",
            " ",
            "http: panic serving ",
            "http: ",
            "\\u0068ttp: panic serving ",
            "panic: ",
            "main.go:12:",
            "srv:",
            "{",
            "=",
            "\\t",
            "\\\"",
            "\\u00e9",
            "x",
            "INFO",
            "1",
            ":",
            "goroutine ",
        ];
        let mut next = xorshift(0x9E37_79B9_7F4A_7C15u64);
        let mut opened = 0;
        for _ in 0..60_000 {
            let mut raw = String::new();
            for _ in 0..(next() % 8) {
                raw.push_str(atoms[(next() % atoms.len() as u64) as usize]);
            }
            let end = ["", "\\n", "\\r\\n"][(next() % 3) as usize];
            let raw = format!("{raw}{end}\"}}");
            let line: String =
                serde_json::from_str(&format!("\"{}", &raw[..raw.len() - 1])).unwrap();
            if may_start_report(line.trim_end_matches(['\n', '\r'])) {
                opened += 1;
                assert!(text_may_open(raw.as_bytes()), "{raw}");
            }
        }
        assert!(opened > 1000, "{opened}");
    }

    /// `string_end` finds the closing quote of any JSON string, escapes
    /// anywhere across the eight-byte chunks.
    #[test]
    fn string_end_across_chunks() {
        let alphabet = ['a', '"', '\\', '\n', 'é', '/', 'x'];
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..5000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 40) as usize;
            let text: String = (0..len)
                .map(|k| alphabet[((seed >> (k % 60)) % alphabet.len() as u64) as usize])
                .collect();
            let raw = serde_json::Value::from(text.as_str()).to_string();
            let padded = format!("{raw},\"next\":\"\\\"\"");
            assert_eq!(string_end(padded.as_bytes(), 1), Some(raw.len()), "{raw}");
        }
    }

    #[test]
    fn glance_reads_cri_and_docker_partials_and_streams() {
        // The CRI shortcut and the generic reading agree.
        for r in [
            &br#"{"time":"2026-11-27T07:27:10.5Z","stream":"stderr","_p":"F","log":"panic: x"}"#[..],
            br#"{"time":"t","stream":"std\"out","_p":"P","log":"{\"a\":1}","k":{}}"#,
        ] {
            let fast = glance_cri(r).unwrap();
            let mut slow = r.to_vec();
            slow.insert(1, b' ');
            let slow = glance(&slow, DOCKER_CHUNK).unwrap();
            assert_eq!((fast.may_open, fast.whole), (slow.may_open, slow.whole));
            assert_eq!(fast.stream.map(|s| s.start + 1..s.end + 1), slow.stream);
            assert_eq!(fast.key_at + 1, slow.key_at);
            assert_eq!(r.get(fast.key_at..fast.key_at + 5), Some(&b"\"log\""[..]));
        }
        let g = glance(
            br#"{"time":"t","stream":"stdout","_p":"P","log":"x"}"#,
            DOCKER_CHUNK,
        )
        .unwrap();
        assert!(!g.whole);
        assert_eq!(g.stream, Some(21..29));
        let g = glance(
            br#"{"time":"t","stream":"stdout","logtag":"F","log":"x"}"#,
            DOCKER_CHUNK,
        )
        .unwrap();
        assert!(g.whole);
        assert!(
            glance(br#"{"log":"short","stream":"stdout"}"#, DOCKER_CHUNK)
                .unwrap()
                .whole
        );
        let chunk = format!(
            r#"{{"log":"{}","stream":"stdout"}}"#,
            "a".repeat(DOCKER_CHUNK)
        );
        assert!(!glance(chunk.as_bytes(), DOCKER_CHUNK).unwrap().whole);
        assert!(
            glance(br#"{"log":"whole\n","stream":"stdout"}"#, DOCKER_CHUNK)
                .unwrap()
                .whole
        );
        let back = format!(
            r#"{{"log":"{}\\n","stream":"stdout"}}"#,
            "a".repeat(DOCKER_CHUNK)
        );
        assert!(!glance(back.as_bytes(), DOCKER_CHUNK).unwrap().whole);
        assert_eq!(glance(br#"{"log":"x"}"#, DOCKER_CHUNK).unwrap().key_at, 1);
        for r in [
            &br#"{"log":1}"#[..],
            br#"{"a":1}"#,
            b"[1]",
            b"",
            br#"{"l\u006fg":"x"}"#,
        ] {
            assert!(
                glance(r, DOCKER_CHUNK).is_none(),
                "{}",
                String::from_utf8_lossy(r)
            );
        }
    }
}
