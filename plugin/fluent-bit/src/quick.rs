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
#[inline(always)]
fn string_end(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        i = next_special(b, i);
        match b.get(i)? {
            b'"' => return Some(i + 1),
            _ => i += 2,
        }
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
            if b.get(i).copied().is_some_and(|c| may_open_with(c) || c == b'\\') {
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

/// First bytes of the lines `gopanic::grammar::may_start_report` accepts,
/// other than an `http: panic serving` line: `panic: `, `fatal error: `,
/// `runtime: `, `unexpected fault address `, `goroutine N [`, `SIG…: `,
/// `==================`.
#[inline(always)]
fn may_open_with(first: u8) -> bool {
    matches!(first, b'p' | b'f' | b'r' | b'u' | b'g' | b'S' | b'=')
}

/// What the grammar finds anywhere in a line: `[log prefix ]http: panic
/// serving `. The prefix's tokens hold no `{`, so a line starting with `{`
/// (a JSON log line) cannot be one.
const HTTP_PANIC: Needle<20> = Needle::new(b"http: panic serving ");

/// A fixed byte string searched for with Horspool's algorithm: the skip
/// table is built at compile time, and a search reads about one byte in
/// `N` of the text.
struct Needle<const N: usize> {
    pat: [u8; N],
    skip: [u8; 256],
}

impl<const N: usize> Needle<N> {
    #[allow(clippy::indexing_slicing, clippy::cast_possible_truncation)]
    const fn new(pat: &[u8; N]) -> Self {
        assert!(N > 0 && N < 256);
        let mut skip = [N as u8; 256];
        let mut i = 0;
        while i + 1 < N {
            skip[pat[i] as usize] = (N - 1 - i) as u8;
            i += 1;
        }
        Needle { pat: *pat, skip }
    }

    fn found_in(&self, hay: &[u8]) -> bool {
        let last_pat = self.pat.last().copied().unwrap_or_default();
        let mut i = 0;
        while let Some(&last) = hay.get(i + N - 1) {
            if last == last_pat && hay.get(i..i + N) == Some(&self.pat[..]) {
                return true;
            }
            i += usize::from(self.skip.get(usize::from(last)).copied().unwrap_or(1).max(1));
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
        if at_string {
            i = string_end(b, i + 1)?;
        } else {
            let mut p = Parser { b, i };
            p.value()?;
            i = p.i;
        }
        i = skip_ws(b, i);
        if b.get(i) != Some(&b',') {
            // The end of the object (or an error): no `log` to take.
            return None;
        }
        i += 1;
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

    /// Lines whose first bytes are certain must agree with the grammar:
    /// whenever it may start a report, the fast path must say "maybe".
    #[test]
    fn never_misses_what_the_grammar_may_start() {
        let lines = [
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
        for l in lines {
            for text in [l.to_owned(), format!("{l}\n"), format!("{l}\r\n")] {
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
            assert!(locate_log(r, true, false).is_none(), "{}", String::from_utf8_lossy(r));
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
            let r = format!("{{\"log\":\"x\",\"{}\":1,\"gopanic_tick\":true}}", "a".repeat(pad));
            assert!(locate_log(r.as_bytes(), true, false).is_none(), "{r}");
            let r = format!("{{\"log\":\"x\",\"{}g\":\"k\"}}", "a".repeat(pad));
            assert!(locate_log(r.as_bytes(), true, false).is_some(), "{r}");
        }
    }
}
