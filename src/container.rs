//! Container log decoding: CRI (containerd, CRI-O), docker json-file, plain.
//!
//! A [`Decoder`] serves one source (one log file, one container) and turns
//! raw lines into [`LogLine`]s: it strips the container envelope and merges
//! the chunks a runtime writes for a line longer than 16 KiB (CRI `P`…`F`,
//! docker's `log` without a trailing `\n`) per stream, keeping the first
//! chunk's timestamp. A line that claims a format but is malformed comes out
//! as plain text, flagged, never dropped.

use std::borrow::Cow;

use serde::Deserialize;

use crate::time::TimeCache;

mod short;
pub use short::ShortText;

/// How raw lines are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Detect per line: CRI, docker json-file, else plain.
    #[default]
    Auto,
    /// CRI (containerd, CRI-O): `<time> <stream> <P|F> <text>`.
    Cri,
    /// Docker's json-file driver: `{"log":…,"stream":…,"time":…}`.
    Docker,
    /// Lines as they are.
    Plain,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Format::Auto),
            "cri" => Ok(Format::Cri),
            "docker" => Ok(Format::Docker),
            "plain" => Ok(Format::Plain),
            _ => Err(format!(
                "unknown format {s:?} (expected auto, cri, docker or plain)"
            )),
        }
    }
}

/// The envelope a line arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Envelope {
    /// A CRI line.
    Cri,
    /// A docker json-file line.
    Docker,
    /// No envelope (plain text, or a line that claimed one and broke it).
    Plain,
}

/// One logical line of a container's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The envelope it arrived in.
    pub envelope: Envelope,
    /// The timestamp exactly as the runtime wrote it (CRI and docker only).
    pub time: Option<ShortText>,
    /// `time` in nanoseconds since the Unix epoch.
    pub time_nanos: Option<i64>,
    /// `stdout` or `stderr` (CRI and docker only): borrowed for those two,
    /// so that no line allocates for its stream.
    pub stream: Option<Cow<'static, str>>,
    /// The line's text without envelope and trailing newline.
    pub text: String,
    /// The line claimed a format but did not follow it; `text` is the raw
    /// line, passed through as plain text.
    pub malformed: bool,
    /// The line was longer than the decoder's `max_line_bytes` and was cut:
    /// the stream's next line holds the text that follows (the last piece of
    /// a cut line is not marked).
    pub continued: bool,
}

impl LogLine {
    /// A line of plain text, without envelope.
    pub fn plain(text: String) -> Self {
        LogLine {
            envelope: Envelope::Plain,
            time: None,
            time_nanos: None,
            stream: None,
            text,
            malformed: false,
            continued: false,
        }
    }

    fn malformed(raw: &str) -> Self {
        LogLine {
            malformed: true,
            ..LogLine::plain(raw.to_owned())
        }
    }

    /// The line's envelope without its text.
    fn head(&self) -> LogLine {
        LogLine {
            envelope: self.envelope,
            time: self.time.clone(),
            time_nanos: self.time_nanos,
            stream: self.stream.clone(),
            text: String::new(),
            malformed: self.malformed,
            continued: false,
        }
    }
}

/// A logical line still being gathered: chunks of a CRI `P`…`F` or docker
/// split line, or the text of an over-long physical line arriving in reads.
#[derive(Debug)]
struct Partial {
    first: LogLine,
}

/// A physical line over the bound, read in pieces: its envelope was decoded
/// from its head and its text goes to the stream's [`Partial`].
#[derive(Debug)]
struct LongLine {
    /// The line's envelope (its text is in the partial).
    head: LogLine,
    /// A CRI `F` line (or any line without chunk tags) ends its logical
    /// line with its newline; a CRI `P` line does not.
    completes: bool,
    /// The bytes of a character split by a read boundary.
    carry: Vec<u8>,
    /// A `\r` read last, dropped if the newline follows.
    cr: bool,
}

/// Room for the envelope before a physical line counts as over-long: a CRI
/// head (timestamp, stream, tags) is well under it.
const HEAD_ROOM: usize = 256;

/// Decodes the raw lines of one source; see the module docs.
///
/// Lines come either whole ([`Decoder::push`]) or as raw bytes in reads of
/// any size ([`Decoder::push_bytes`]), which are split at `\n` here. No
/// logical line is held longer than `max_line_bytes`: past it the text
/// gathered so far leaves as a line marked [`LogLine::continued`] (cut on a
/// character boundary) and the rest follows as further lines. A physical
/// line over the bound is read in pieces, never held whole: a CRI line's
/// head is decoded first and its text streams through; any other line
/// (docker's `log` value comes before its `stream` and `time`, and a
/// docker or CRI runtime never writes a physical line over 16 KiB) leaves as
/// plain text pieces, flagged `malformed` when it claimed the docker format.
#[derive(Debug)]
pub struct Decoder {
    format: Format,
    max_line_bytes: usize,
    /// The bound counts a text's JSON-escaped length (under a record bound).
    json: bool,
    /// At most one open partial line per stream; two streams in practice.
    partials: Vec<Partial>,
    /// The start of a physical line whose newline has not been read yet.
    pending: Vec<u8>,
    /// The physical line being read is over the bound.
    long: Option<LongLine>,
    /// Physical lines read.
    raw_lines: u64,
    /// The last timestamp's second, read once for the lines within it.
    times: TimeCache,
    /// Texts the host gave back, to hold later lines.
    spare: Spare,
}

/// The allocations of line texts the host is done with
/// ([`Decoder::recycle`]), filled again by later lines: a host writing each
/// line as it leaves then pays no allocation per line. At most
/// [`Spare::TEXTS`] are kept, each of at most [`Spare::BYTES`] capacity,
/// so what is kept stays small. (Nothing is kept in the wasm builds, for
/// their size.)
#[derive(Debug, Default)]
struct Spare {
    #[cfg(not(target_arch = "wasm32"))]
    texts: Vec<String>,
}

impl Spare {
    /// Texts kept at most: more than a read's worth of lines that leave
    /// at once is of no use.
    #[cfg(not(target_arch = "wasm32"))]
    const TEXTS: usize = 256;
    /// The largest capacity kept: a log line's usual length, so that a
    /// short line never holds a long line's block for long.
    #[cfg(not(target_arch = "wasm32"))]
    const BYTES: usize = 512;

    /// `text` in a kept allocation, or a new one.
    fn text(&mut self, text: &str) -> String {
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(mut kept) = self.texts.pop() {
            kept.clear();
            kept.push_str(text);
            return kept;
        }
        text.to_owned()
    }

    /// Keeps `text`'s allocation, if there is room and it is not too large.
    fn keep(&mut self, text: String) {
        #[cfg(not(target_arch = "wasm32"))]
        if self.texts.len() < Self::TEXTS && text.capacity() <= Self::BYTES {
            self.texts.push(text);
        }
        #[cfg(target_arch = "wasm32")]
        drop(text);
    }
}

/// Lines that left the decoder for one pushed line, in order; several when
/// a line over the bound was cut.
#[derive(Debug, Default)]
pub struct Decoded {
    first: Option<LogLine>,
    rest: std::collections::VecDeque<LogLine>,
}

impl Decoded {
    fn push(&mut self, line: LogLine) {
        if self.first.is_none() && self.rest.is_empty() {
            self.first = Some(line);
        } else {
            self.rest.push_back(line);
        }
    }
}

impl Iterator for Decoded {
    type Item = LogLine;
    fn next(&mut self) -> Option<LogLine> {
        self.first.take().or_else(|| self.rest.pop_front())
    }
}

impl Decoder {
    /// `max_line_bytes` bounds a logical line (at least 4 bytes, so that
    /// any character fits); see the type docs.
    pub fn new(format: Format, max_line_bytes: usize) -> Self {
        Decoder {
            format,
            max_line_bytes: max_line_bytes.max(4),
            json: false,
            partials: Vec::new(),
            pending: Vec::new(),
            long: None,
            raw_lines: 0,
            times: TimeCache::default(),
            spare: Spare::default(),
        }
    }

    /// Gives back the text of a line the host has written: a later line's
    /// text may take its allocation. Optional; a host that writes each
    /// line as it leaves saves an allocation and a free per line.
    pub fn recycle(&mut self, text: String) {
        self.spare.keep(text);
    }

    /// Physical lines read so far (each chunk of a split line counts).
    pub fn raw_lines(&self) -> u64 {
        self.raw_lines
    }

    /// Decodes one raw line (without its trailing newline). Yields nothing
    /// when the line is a chunk of a longer line still being merged, and
    /// several lines when the bound cut it.
    pub fn push(&mut self, raw: &str) -> Decoded {
        let mut out = Decoded::default();
        self.raw_lines += 1;
        self.decode_line(raw, &mut |l| out.push(l));
        out
    }

    /// Feeds raw bytes as read (split anywhere, even inside a character):
    /// every line completed by them goes to `emit`, in order. Invalid UTF-8
    /// is replaced by U+FFFD.
    pub fn push_bytes(&mut self, bytes: &[u8], emit: &mut impl FnMut(LogLine)) {
        // A read checked as UTF-8 at once spares each line a check of its
        // own, whose setup costs more than a short line's bytes. A read
        // that is not all UTF-8 (invalid bytes, or a character its end
        // cuts) goes line by line.
        // (Not in the wasm builds, for their size: their hosts give lines.)
        if !cfg!(target_arch = "wasm32")
            && let Ok(text) = std::str::from_utf8(bytes)
        {
            self.push_text(text, emit);
            return;
        }
        let mut rest = bytes;
        while let Some(i) = memchr::memchr(b'\n', rest) {
            let (line, tail) = rest.split_at(i);
            self.end_physical(line, emit);
            rest = tail.get(1..).unwrap_or_default();
        }
        if !rest.is_empty() {
            self.more_physical(rest, emit);
        }
    }

    /// [`Decoder::push_bytes`] of a read that is UTF-8 throughout.
    fn push_text(&mut self, text: &str, emit: &mut impl FnMut(LogLine)) {
        let mut rest = text;
        while let Some(i) = memchr::memchr(b'\n', rest.as_bytes()) {
            let (line, tail) = rest.split_at_checked(i).unwrap_or((rest, ""));
            if self.pending.is_empty() && self.long.is_none() {
                // What `end_physical` does with such a line, less the check.
                self.raw_lines += 1;
                self.decode_line(line, emit);
            } else {
                self.end_physical(line.as_bytes(), emit);
            }
            rest = tail.get(1..).unwrap_or_default();
        }
        if !rest.is_empty() {
            self.more_physical(rest.as_bytes(), emit);
        }
    }

    /// End of input: a last line without its newline, then lines still
    /// being merged, as they are.
    pub fn finish(&mut self) -> Vec<LogLine> {
        let mut out = Vec::new();
        self.finish_with(&mut |l| out.push(l));
        out
    }

    /// [`Decoder::finish`], each line to `emit`.
    pub fn finish_with(&mut self, emit: &mut impl FnMut(LogLine)) {
        if !self.pending.is_empty() || self.long.is_some() {
            self.end_physical(&[], emit);
        }
        for p in self.partials.drain(..) {
            emit(p.first);
        }
    }

    /// The bytes up to a newline end the physical line being read.
    fn end_physical(&mut self, bytes: &[u8], emit: &mut impl FnMut(LogLine)) {
        self.raw_lines += 1;
        if self.long.is_some() {
            self.long_text(bytes, emit);
            self.end_long(emit);
        } else if self.pending.is_empty() {
            decode_bytes(bytes, |raw| self.decode_line(raw, emit));
        } else {
            let mut line = std::mem::take(&mut self.pending);
            line.extend_from_slice(bytes);
            decode_bytes(&line, |raw| self.decode_line(raw, emit));
            // Keep the allocation for the next line that spans reads,
            // unless a long line grew it.
            if line.capacity() <= 1 << 16 {
                line.clear();
                self.pending = line;
            }
        }
    }

    /// With `json`, `max_line_bytes` counts a text as its JSON string does
    /// (escapes included): a record bound's line bound.
    pub fn counting_json(mut self, json: bool) -> Self {
        self.json = json;
        // Room for any one character escaped (`\u0001`).
        self.max_line_bytes = self.max_line_bytes.max(6);
        self
    }

    /// Bytes of a physical line whose newline is still to come.
    fn more_physical(&mut self, bytes: &[u8], emit: &mut impl FnMut(LogLine)) {
        if self.long.is_some() {
            self.long_text(bytes, emit);
            return;
        }
        self.pending.extend_from_slice(bytes);
        if self.pending.len() > self.max_line_bytes.saturating_add(HEAD_ROOM) {
            self.start_long(emit);
        }
    }

    /// The physical line grew over the bound: decode its head, stream its
    /// text.
    fn start_long(&mut self, emit: &mut impl FnMut(LogLine)) {
        let pending = std::mem::take(&mut self.pending);
        let (head, completes, text) = self.long_head(&pending);
        self.long = Some(LongLine {
            head,
            completes,
            carry: Vec::new(),
            cr: false,
        });
        self.long_text(pending.get(text..).unwrap_or_default(), emit);
    }

    /// An over-long line's envelope, whether it completes its logical line,
    /// and where its text starts.
    fn long_head(&self, raw: &[u8]) -> (LogLine, bool, usize) {
        let head = raw.get(..HEAD_ROOM.min(raw.len())).unwrap_or_default();
        let cri = matches!(self.format, Format::Cri | Format::Auto);
        if cri && let Some((line, completes, at)) = cri_head(head, &mut TimeCache::default()) {
            return (line, completes, at);
        }
        // Claimed a format it does not follow, as `decode_auto` judges.
        let malformed = match self.format {
            Format::Docker | Format::Cri => true,
            Format::Auto => {
                head.starts_with(b"{\"log\":")
                    || head.first().is_some_and(u8::is_ascii_digit) && looks_cri(head)
            }
            Format::Plain => false,
        };
        let line = LogLine {
            malformed,
            ..LogLine::plain(String::new())
        };
        (line, true, 0)
    }

    /// Text of the over-long line: into its stream's partial, cut there.
    fn long_text(&mut self, bytes: &[u8], emit: &mut impl FnMut(LogLine)) {
        let Some(long) = self.long.as_mut() else {
            return;
        };
        let mut text = String::new();
        // A `\r` read last is text only if the line goes on.
        if !bytes.is_empty() && std::mem::take(&mut long.cr) {
            text.push('\r');
        }
        let bytes = match bytes.strip_suffix(b"\r") {
            Some(b) => {
                long.cr = true;
                b
            }
            None => bytes,
        };
        push_lossy(&mut long.carry, bytes, &mut text);
        let head = long.head.head();
        self.merge(LogLine { text, ..head }, false, emit);
    }

    /// The over-long line's newline: its logical line may be complete.
    fn end_long(&mut self, emit: &mut impl FnMut(LogLine)) {
        let Some(long) = self.long.take() else {
            return;
        };
        let text = String::from_utf8_lossy(&long.carry).into_owned();
        let head = long.head.head();
        self.merge(LogLine { text, ..head }, long.completes, emit);
    }

    /// Decodes one whole physical line (without its newline).
    fn decode_line(&mut self, raw: &str, emit: &mut impl FnMut(LogLine)) {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let (line, complete) = match self.format {
            Format::Plain => (LogLine::plain(self.spare.text(raw)), true),
            Format::Cri => decode_cri(raw, &mut self.times, &mut self.spare)
                .unwrap_or_else(|| (LogLine::malformed(raw), true)),
            Format::Docker => decode_docker(raw, &mut self.times)
                .unwrap_or_else(|| (LogLine::malformed(raw), true)),
            Format::Auto => decode_auto(raw, &mut self.times, &mut self.spare),
        };
        if line.malformed || line.envelope == Envelope::Plain {
            // Never merged with chunks: only cut when over the bound.
            let mut line = line;
            while let Some(at) = cut_at(&line.text, self.max_line_bytes, self.json) {
                emit(cut_piece(&mut line, at));
            }
            return emit(line);
        }
        self.merge(line, complete, emit);
    }

    /// Adds a chunk to its stream's logical line; lines that are complete
    /// or reach the bound leave.
    fn merge(&mut self, chunk: LogLine, complete: bool, emit: &mut impl FnMut(LogLine)) {
        let slot = self
            .partials
            .iter()
            .position(|p| p.first.stream == chunk.stream && p.first.envelope == chunk.envelope);
        let i = match slot {
            // Under a record bound a chunk is measured below.
            None if complete && !self.json && chunk.text.len() <= self.max_line_bytes => {
                return emit(chunk);
            }
            None => {
                self.partials.push(Partial { first: chunk });
                self.partials.len() - 1
            }
            Some(i) => {
                if let Some(p) = self.partials.get_mut(i) {
                    p.first.text.push_str(&chunk.text);
                }
                i
            }
        };
        let (max, json) = (self.max_line_bytes, self.json);
        let Some(p) = self.partials.get_mut(i) else {
            return;
        };
        while let Some(at) = cut_at(&p.first.text, max, json) {
            emit(cut_piece(&mut p.first, at));
        }
        if complete {
            emit(self.partials.swap_remove(i).first);
        }
    }
}

/// Runs `f` on the bytes as text, lossily when they are not UTF-8.
fn decode_bytes(bytes: &[u8], f: impl FnOnce(&str)) {
    match std::str::from_utf8(bytes) {
        Ok(s) => f(s),
        Err(_) => f(&String::from_utf8_lossy(bytes)),
    }
}

/// Appends `bytes` to `out` as UTF-8, replacing invalid sequences; the
/// bytes of a character cut at the end wait in `carry` for the next read.
fn push_lossy(carry: &mut Vec<u8>, mut bytes: &[u8], out: &mut String) {
    // Complete a character cut by the previous read (at most 3 more bytes).
    while !carry.is_empty() {
        let Some((&b, rest)) = bytes.split_first() else {
            return;
        };
        carry.push(b);
        bytes = rest;
        match std::str::from_utf8(carry) {
            Ok(s) => out.push_str(s),
            Err(e) if e.error_len().is_none() && carry.len() < 4 => continue,
            Err(_) => out.push_str(&String::from_utf8_lossy(carry)),
        }
        carry.clear();
    }
    loop {
        match std::str::from_utf8(bytes) {
            Ok(s) => return out.push_str(s),
            Err(e) => {
                let (valid, rest) = bytes.split_at(e.valid_up_to());
                out.push_str(&String::from_utf8_lossy(valid));
                match e.error_len() {
                    Some(n) => {
                        out.push(char::REPLACEMENT_CHARACTER);
                        bytes = rest.get(n..).unwrap_or_default();
                    }
                    None => return carry.extend_from_slice(rest),
                }
            }
        }
    }
}

/// Where `text` is cut to keep within the bound `max` (counted as its JSON
/// string with `json`), if it is over; never at 0, as `max` holds any one
/// character (escaped, with `json`).
fn cut_at(text: &str, max: usize, json: bool) -> Option<usize> {
    if !json && text.len() <= max {
        return None;
    }
    let at = crate::record::json_cut(text, max, json).0.len();
    (at < text.len()).then_some(at)
}

/// The text of `line` before `at` (a character boundary) as a line of its
/// own, marked `continued`; `line` keeps the rest.
fn cut_piece(line: &mut LogLine, at: usize) -> LogLine {
    let rest = line.text.split_off(at);
    LogLine {
        text: std::mem::replace(&mut line.text, rest),
        continued: true,
        ..line.head()
    }
}

/// The head of a CRI line (`<time> <stream> <tag> `): the line without
/// text, whether it completes its logical line, and where the text starts.
fn cri_head(head: &[u8], times: &mut TimeCache) -> Option<(LogLine, bool, usize)> {
    let mut spaces = head.iter().enumerate().filter(|&(_, &b)| b == b' ');
    let (third, _) = spaces.nth(2)?;
    let prefix = std::str::from_utf8(head.get(..third)?).ok()?;
    // The head has no text: nothing to allocate or give back.
    let (line, completes) = decode_cri(prefix, times, &mut Spare::default())?;
    Some((line, completes, third + 1))
}

/// `<something> stdout …`: a CRI line gone wrong.
fn looks_cri(head: &[u8]) -> bool {
    let mut parts = head.splitn(3, |&b| b == b' ');
    let _ = parts.next();
    matches!(parts.next(), Some(b"stdout" | b"stderr"))
}

/// `<RFC3339Nano> <stdout|stderr> <P|F>[:more tags] <text>`; the bool says
/// whether this chunk completes its line.
fn decode_cri(raw: &str, times: &mut TimeCache, spare: &mut Spare) -> Option<(LogLine, bool)> {
    // Byte scans: this runs once per line of every CRI log.
    let (time, rest) = raw.split_at_checked(memchr::memchr(b' ', raw.as_bytes())?)?;
    let rest = rest.get(1..)?;
    let stream = match rest.as_bytes().get(..7)? {
        b"stdout " => "stdout",
        b"stderr " => "stderr",
        _ => return None,
    };
    let rest = rest.get(7..)?;
    // The tag is `F` or `P` but for runtimes that add more (`F:…`).
    let (tag, text) = match rest.as_bytes() {
        [t @ (b'F' | b'P'), b' ', ..] if !cfg!(target_arch = "wasm32") => {
            (std::slice::from_ref(t), rest.get(2..)?)
        }
        _ => match memchr::memchr(b' ', rest.as_bytes()) {
            Some(i) => (rest.get(..i)?.as_bytes(), rest.get(i + 1..)?),
            None => (rest.as_bytes(), ""),
        },
    };
    let complete = match tag {
        [b'F'] | [b'F', b':', ..] => true,
        [b'P'] | [b'P', b':', ..] => false,
        _ => return None,
    };
    let time_nanos = Some(times.parse(time)?);
    Some((
        LogLine {
            envelope: Envelope::Cri,
            time: Some(time.into()),
            time_nanos,
            stream: Some(Cow::Borrowed(stream)),
            text: spare.text(text),
            malformed: false,
            continued: false,
        },
        complete,
    ))
}

#[derive(Deserialize)]
struct DockerLine {
    log: String,
    #[serde(default)]
    stream: Option<String>,
    #[serde(default)]
    time: Option<String>,
}

/// `{"log":"…\n","stream":"stderr","time":"…"}`; a `log` without the
/// trailing `\n` is a 16 KiB chunk of a longer line.
fn decode_docker(raw: &str, times: &mut TimeCache) -> Option<(LogLine, bool)> {
    let d: DockerLine = serde_json::from_str(raw).ok()?;
    let (text, complete) = match d.log.strip_suffix('\n') {
        Some(t) => (t.strip_suffix('\r').unwrap_or(t).to_owned(), true),
        None => (d.log, false),
    };
    let time_nanos = d.time.as_deref().and_then(|t| times.parse(t));
    Some((
        LogLine {
            envelope: Envelope::Docker,
            time: d.time.map(ShortText::from),
            time_nanos,
            stream: d.stream.map(|s| match s.as_str() {
                "stdout" => Cow::Borrowed("stdout"),
                "stderr" => Cow::Borrowed("stderr"),
                _ => Cow::Owned(s),
            }),
            text,
            malformed: false,
            continued: false,
        },
        complete,
    ))
}

/// Detects the envelope of one line. Only a line that clearly claims a
/// format and then breaks it counts as malformed: an application's own JSON
/// or timestamped text in a plain log is plain, not a broken envelope.
fn decode_auto(raw: &str, times: &mut TimeCache, spare: &mut Spare) -> (LogLine, bool) {
    if raw.starts_with('{') {
        if let Some(d) = decode_docker(raw, times) {
            return d;
        }
        if raw.starts_with("{\"log\":") {
            return (LogLine::malformed(raw), true);
        }
        return (LogLine::plain(raw.to_owned()), true);
    }
    if raw.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        if let Some(d) = decode_cri(raw, times, spare) {
            return d;
        }
        // `<something> stdout ` is a CRI line gone wrong (bad time or tag).
        if looks_cri(raw.as_bytes()) {
            return (LogLine::malformed(raw), true);
        }
    }
    (LogLine::plain(spare.text(raw)), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(format: Format, raws: &[&str]) -> Vec<LogLine> {
        let mut d = Decoder::new(format, 1 << 20);
        let mut out: Vec<LogLine> = raws.iter().flat_map(|r| d.push(r)).collect();
        out.extend(d.finish());
        out
    }

    #[test]
    fn a_text_given_back_holds_a_later_line() {
        let mut d = Decoder::new(Format::Cri, 1 << 20);
        let one = |d: &mut Decoder, raw: &str| d.push(raw).next().unwrap();
        let first = one(
            &mut d,
            "2026-11-27T06:51:01.5Z stdout F a line of some length",
        );
        let block = first.text.as_ptr();
        d.recycle(first.text);
        let second = one(&mut d, "2026-11-27T06:51:01.6Z stdout F short");
        assert_eq!(second.text, "short");
        assert_eq!(second.text.as_ptr(), block, "the given-back allocation");
        // A block larger than a usual line is not kept.
        d.recycle(String::with_capacity(Spare::BYTES + 1));
        let third = one(&mut d, "2026-11-27T06:51:01.7Z stdout F x");
        assert!(
            third.text.capacity() <= Spare::BYTES,
            "{}",
            third.text.capacity()
        );
        // Nor more than `Spare::TEXTS` texts.
        for _ in 0..Spare::TEXTS + 10 {
            d.recycle(String::with_capacity(8));
        }
        assert_eq!(d.spare.texts.len(), Spare::TEXTS);
    }

    #[test]
    fn cri_lines_and_partials() {
        let out = decode_all(
            Format::Auto,
            &[
                "2026-11-27T06:51:01.000000001Z stderr P panic: ",
                "2026-11-27T06:51:01.000000002Z stdout F hello",
                "2026-11-27T06:51:01.000000003Z stderr P very ",
                "2026-11-27T06:51:01.000000004Z stderr F long",
                "2026-11-27T06:51:01.000000005Z stderr F ",
            ],
        );
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].text, "hello");
        assert_eq!(out[0].stream.as_deref(), Some("stdout"));
        assert_eq!(out[1].text, "panic: very long");
        assert_eq!(
            out[1].time.as_deref(),
            Some("2026-11-27T06:51:01.000000001Z")
        );
        assert_eq!(out[1].envelope, Envelope::Cri);
        assert_eq!(out[2].text, "");
    }

    #[test]
    fn docker_lines_and_splits() {
        let out = decode_all(
            Format::Auto,
            &[
                r#"{"log":"panic: ","stream":"stderr","time":"2026-11-27T06:51:01.1Z"}"#,
                r#"{"log":"out\n","stream":"stdout","time":"2026-11-27T06:51:01.2Z"}"#,
                r#"{"log":"boom \u003cx\u003e\n","stream":"stderr","time":"2026-11-27T06:51:01.3Z"}"#,
            ],
        );
        assert_eq!(out[0].text, "out");
        assert_eq!(out[1].text, "panic: boom <x>");
        assert_eq!(out[1].time.as_deref(), Some("2026-11-27T06:51:01.1Z"));
        assert_eq!(
            out[1].time_nanos,
            crate::time::parse_rfc3339_nanos("2026-11-27T06:51:01.1Z")
        );
    }

    #[test]
    fn malformed_lines_pass_through_as_plain() {
        let out = decode_all(
            Format::Auto,
            &[
                r#"{"log":"unterminated"#,
                "2026-11-27T06:51:01Z stderr X text",
                r#"{"level":"info","msg":"app json"}"#,
                "2026-11-27T06:51:01Z INFO started",
            ],
        );
        let flags: Vec<bool> = out.iter().map(|l| l.malformed).collect();
        assert_eq!(flags, [true, true, false, false]);
        assert_eq!(out[0].text, r#"{"log":"unterminated"#);
        assert!(out.iter().all(|l| l.envelope == Envelope::Plain));

        // Forced formats count every line that does not fit.
        let out = decode_all(
            Format::Cri,
            &["plain text", "2026-11-27T06:51:01Z stdout F ok"],
        );
        assert!(out[0].malformed);
        assert_eq!(out[1].text, "ok");
        let out = decode_all(Format::Docker, &["2026-11-27T06:51:01Z stdout F ok"]);
        assert!(out[0].malformed);

        // Tags past `F`/`P` after a colon; nothing else after the stream.
        let out = decode_all(
            Format::Cri,
            &[
                "2026-11-27T06:51:01Z stdout F:x ok",
                "2026-11-27T06:51:01Z stdout F",
                "2026-11-27T06:51:01Z stdout FX no",
                "2026-11-27T06:51:01Z stdout",
                "2026-11-27T06:51:01Z  stdout F no",
            ],
        );
        let got: Vec<(&str, bool)> = out.iter().map(|l| (l.text.as_str(), l.malformed)).collect();
        assert_eq!(got[..2], [("ok", false), ("", false)]);
        assert!(got[2..].iter().all(|&(_, m)| m));
    }

    #[test]
    fn unfinished_partials_and_oversized_lines_are_kept() {
        let mut d = Decoder::new(Format::Cri, 8);
        assert_eq!(d.push("2026-11-27T06:51:01Z stderr P 12345").count(), 0);
        let first: Vec<LogLine> = d.push("2026-11-27T06:51:01Z stderr P 67890").collect();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].text, "12345678");
        assert!(first[0].continued);
        assert_eq!(d.push("2026-11-27T06:51:02Z stderr P tail").count(), 0);
        let rest = d.finish();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].text, "90tail");
        assert!(!rest[0].continued);
        assert_eq!(rest[0].time.as_deref(), Some("2026-11-27T06:51:01Z"));
        assert_eq!(d.raw_lines(), 3);
    }

    /// Feeds `input` in reads of `size` bytes.
    fn decode_reads(format: Format, max: usize, input: &[u8], size: usize) -> Vec<LogLine> {
        let mut d = Decoder::new(format, max);
        let mut out = Vec::new();
        for read in input.chunks(size) {
            d.push_bytes(read, &mut |l| out.push(l));
            assert!(d.pending.len() <= max + HEAD_ROOM);
            assert!(d.partials.iter().all(|p| p.first.text.len() <= max));
        }
        d.finish_with(&mut |l| out.push(l));
        out
    }

    #[test]
    fn reads_of_any_size_give_the_lines_pushed_whole() {
        let input: &[u8] = b"2026-11-27T06:51:01.000000001Z stderr P panic: \n\
            {\"log\":\"out\\n\",\"stream\":\"stdout\"}\r\n\
            2026-11-27T06:51:01.000000002Z stderr F caf\xc3\xa9 \xf0\x9f\x98\x80\n\
            \n\
            plain \xc3\xa9\xff last";
        let lossy = String::from_utf8_lossy(input).into_owned();
        let whole = decode_all(Format::Auto, &lines(&lossy));
        for size in 1..input.len() {
            let got = decode_reads(Format::Auto, 1 << 20, input, size);
            assert_eq!(got, whole, "reads of {size}");
        }
        assert_eq!(whole.len(), 4);
        assert_eq!(whole[1].text, "panic: caf\u{e9} \u{1F600}");
    }

    fn lines(text: &str) -> Vec<&str> {
        text.split('\n').collect()
    }

    #[test]
    fn under_a_record_bound_a_line_is_cut_by_its_escaped_length() {
        let json_len = |t: &str| serde_json::to_string(t).unwrap().len() - 2;
        // 200 control characters take 1,200 bytes in JSON; a tab and a
        // quote between them take two each, and no piece splits `é`.
        let text = "\u{5}".repeat(100) + "\t\"é" + &"\u{1}".repeat(100);
        for format in [Format::Plain, Format::Cri] {
            let raw = match format {
                Format::Cri => format!("2026-11-27T06:51:01Z stderr F {text}"),
                _ => text.clone(),
            };
            let mut d = Decoder::new(format, 100).counting_json(true);
            let pieces: Vec<LogLine> = d.push(&raw).chain(d.finish()).collect();
            assert_eq!(pieces.iter().map(|l| &l.text[..]).collect::<String>(), text);
            assert!(
                pieces.iter().all(|l| json_len(&l.text) <= 100),
                "{pieces:?}"
            );
            // Full pieces: the next character would not have fitted.
            assert_eq!(pieces.len(), 13, "{format:?}");
            // Raw bytes counted, it would have left whole.
            let mut raw_bound = Decoder::new(format, 300);
            assert_eq!(raw_bound.push(&raw).count(), 1);
        }
        // Read in pieces of any size, the same cut.
        let mut d = Decoder::new(Format::Plain, 100).counting_json(true);
        let mut out = Vec::new();
        for read in text.as_bytes().chunks(7) {
            d.push_bytes(read, &mut |l| out.push(l));
        }
        d.finish_with(&mut |l| out.push(l));
        assert_eq!(out.iter().map(|l| &l.text[..]).collect::<String>(), text);
        assert!(out.iter().all(|l| json_len(&l.text) <= 100), "{out:?}");
    }

    #[test]
    fn a_long_cri_line_streams_in_pieces_on_character_boundaries() {
        let text = "panic: ".to_owned() + &"\u{e9}ab\u{1F600}".repeat(40);
        let input =
            format!("2026-11-27T06:51:01Z stderr F {text}\r\n2026-11-27T06:51:02Z stderr F next\n");
        for size in [1, 3, 7, 64, 4096] {
            let got = decode_reads(Format::Auto, 16, input.as_bytes(), size);
            let (pieces, next) = got.split_at(got.len() - 1);
            assert_eq!(next[0].text, "next");
            assert!(pieces.iter().all(|p| p.text.len() <= 16));
            // Cut at the bound, less at most a character's other bytes.
            assert!(pieces.iter().all(|p| !p.continued || p.text.len() >= 13));
            assert!(pieces.iter().all(|p| p.stream.as_deref() == Some("stderr")));
            assert!(
                pieces
                    .iter()
                    .all(|p| p.time.as_deref() == Some("2026-11-27T06:51:01Z"))
            );
            let flags: Vec<bool> = pieces.iter().map(|p| p.continued).collect();
            assert!(flags[..flags.len() - 1].iter().all(|&c| c));
            assert!(!flags[flags.len() - 1]);
            let joined: String = pieces.iter().map(|p| p.text.as_str()).collect();
            assert_eq!(joined, text, "reads of {size}");
        }
    }

    #[test]
    fn long_lines_without_a_readable_head_leave_as_plain_pieces() {
        // Past the bound and the room for an envelope: read in pieces.
        let log = "x".repeat(8 + HEAD_ROOM);
        let docker = format!("{{\"log\":\"{log}\\n\",\"stream\":\"stderr\"}}\n");
        let plain = format!("{log}\n");
        for (format, input, malformed) in [
            (Format::Auto, &docker, true),
            (Format::Docker, &docker, true),
            (Format::Auto, &plain, false),
            (Format::Cri, &plain, true),
        ] {
            let got = decode_reads(format, 8, input.as_bytes(), 5);
            assert!(
                got.iter()
                    .all(|p| p.malformed == malformed && p.text.len() <= 8)
            );
            assert!(
                got.iter()
                    .all(|p| p.envelope == Envelope::Plain && p.stream.is_none())
            );
            let joined: String = got.iter().map(|p| p.text.as_str()).collect();
            assert_eq!(joined, input.trim_end(), "{format:?}");
        }
    }

    #[test]
    fn a_long_chunk_continues_its_partial_line() {
        let long = "y".repeat(30);
        let input = format!(
            "2026-11-27T06:51:01Z stderr P ab\n2026-11-27T06:51:02Z stdout F out\n\
             2026-11-27T06:51:03Z stderr P {long}\n2026-11-27T06:51:04Z stderr F cd\n"
        );
        let got = decode_reads(Format::Cri, 10, input.as_bytes(), 4);
        let texts: Vec<&str> = got.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(
            texts,
            ["out", "abyyyyyyyy", "yyyyyyyyyy", "yyyyyyyyyy", "yycd"]
        );
        assert!(
            got[1..]
                .iter()
                .all(|l| l.time.as_deref() == Some("2026-11-27T06:51:01Z"))
        );
    }

    #[test]
    fn plain_keeps_everything() {
        let out = decode_all(Format::Plain, &["{\"log\":\"x\\n\"}", "a\r"]);
        assert_eq!(out[0].text, "{\"log\":\"x\\n\"}");
        assert_eq!(out[1].text, "a");
    }
}
