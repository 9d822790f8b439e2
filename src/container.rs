//! Container log decoding: CRI (containerd, CRI-O), docker json-file, plain.
//!
//! A [`Decoder`] serves one source (one log file, one container) and turns
//! raw lines into [`LogLine`]s: it strips the container envelope and merges
//! the chunks a runtime writes for a line longer than 16 KiB (CRI `P`…`F`,
//! docker's `log` without a trailing `\n`) per stream, keeping the first
//! chunk's timestamp. A line that claims a format but is malformed comes out
//! as plain text, flagged, never dropped.

use serde::Deserialize;

use crate::time::parse_rfc3339_nanos;

/// How raw lines are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Detect per line: CRI, docker json-file, else plain.
    #[default]
    Auto,
    Cri,
    Docker,
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
    Cri,
    Docker,
    Plain,
}

/// One logical line of a container's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub envelope: Envelope,
    /// The timestamp exactly as the runtime wrote it (CRI and docker only).
    pub time: Option<String>,
    /// `time` in nanoseconds since the Unix epoch.
    pub time_nanos: Option<i64>,
    /// `stdout` or `stderr` (CRI and docker only).
    pub stream: Option<String>,
    /// The line's text without envelope and trailing newline.
    pub text: String,
    /// The line claimed a format but did not follow it; `text` is the raw
    /// line, passed through as plain text.
    pub malformed: bool,
}

impl LogLine {
    pub fn plain(text: String) -> Self {
        LogLine {
            envelope: Envelope::Plain,
            time: None,
            time_nanos: None,
            stream: None,
            text,
            malformed: false,
        }
    }

    fn malformed(raw: &str) -> Self {
        LogLine {
            malformed: true,
            ..LogLine::plain(raw.to_owned())
        }
    }
}

/// A line chunk waiting for the rest of its line.
#[derive(Debug)]
struct Partial {
    first: LogLine,
}

/// Decodes the raw lines of one source; see the module docs.
#[derive(Debug)]
pub struct Decoder {
    format: Format,
    max_line_bytes: usize,
    /// At most one open partial line per stream; two streams in practice.
    partials: Vec<Partial>,
}

/// The raw text as read is not a complete logical line yet.
const MERGED: Option<LogLine> = None;

impl Decoder {
    /// `max_line_bytes` bounds a merged line: past it, the text gathered so
    /// far comes out as a line of its own and merging starts again, so a
    /// runaway writer cannot grow memory without bound.
    pub fn new(format: Format, max_line_bytes: usize) -> Self {
        Decoder {
            format,
            max_line_bytes: max_line_bytes.max(1),
            partials: Vec::new(),
        }
    }

    /// Decodes one raw line (without its trailing newline). Returns `None`
    /// when the line is a chunk of a longer line still being merged.
    pub fn push(&mut self, raw: &str) -> Option<LogLine> {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let (line, complete) = match self.format {
            Format::Plain => return Some(LogLine::plain(raw.to_owned())),
            Format::Cri => decode_cri(raw).unwrap_or_else(|| (LogLine::malformed(raw), true)),
            Format::Docker => decode_docker(raw).unwrap_or_else(|| (LogLine::malformed(raw), true)),
            Format::Auto => decode_auto(raw),
        };
        if line.malformed || line.envelope == Envelope::Plain {
            return Some(line);
        }
        self.merge(line, complete)
    }

    /// Lines still being merged at the end of input, as they are.
    pub fn finish(&mut self) -> Vec<LogLine> {
        self.partials.drain(..).map(|p| p.first).collect()
    }

    fn merge(&mut self, chunk: LogLine, complete: bool) -> Option<LogLine> {
        let slot = self
            .partials
            .iter()
            .position(|p| p.first.stream == chunk.stream);
        let Some(i) = slot else {
            if complete {
                return Some(chunk);
            }
            self.partials.push(Partial { first: chunk });
            return MERGED;
        };
        let partial = self.partials.get_mut(i)?;
        partial.first.text.push_str(&chunk.text);
        if complete || partial.first.text.len() >= self.max_line_bytes {
            return Some(self.partials.swap_remove(i).first);
        }
        MERGED
    }
}

/// `<RFC3339Nano> <stdout|stderr> <P|F>[:more tags] <text>`; the bool says
/// whether this chunk completes its line.
fn decode_cri(raw: &str) -> Option<(LogLine, bool)> {
    let (time, rest) = split_word(raw)?;
    let (stream, rest) = split_word(rest)?;
    let (tag, text) = split_word(rest).unwrap_or((rest, ""));
    if stream != "stdout" && stream != "stderr" {
        return None;
    }
    let complete = match tag.split(':').next() {
        Some("F") => true,
        Some("P") => false,
        _ => return None,
    };
    let time_nanos = Some(parse_rfc3339_nanos(time)?);
    Some((
        LogLine {
            envelope: Envelope::Cri,
            time: Some(time.to_owned()),
            time_nanos,
            stream: Some(stream.to_owned()),
            text: text.to_owned(),
            malformed: false,
        },
        complete,
    ))
}

/// `s` up to its first space, and the rest after that space.
fn split_word(s: &str) -> Option<(&str, &str)> {
    // memchr: std's `splitn(' ')` costs a searcher per piece, more than the
    // rest of a CRI envelope's decoding.
    let at = memchr::memchr(b' ', s.as_bytes())?;
    Some((s.get(..at)?, s.get(at + 1..)?))
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
fn decode_docker(raw: &str) -> Option<(LogLine, bool)> {
    let d: DockerLine = serde_json::from_str(raw).ok()?;
    let (text, complete) = match d.log.strip_suffix('\n') {
        Some(t) => (t.strip_suffix('\r').unwrap_or(t).to_owned(), true),
        None => (d.log, false),
    };
    let time_nanos = d.time.as_deref().and_then(parse_rfc3339_nanos);
    Some((
        LogLine {
            envelope: Envelope::Docker,
            time: d.time,
            time_nanos,
            stream: d.stream,
            text,
            malformed: false,
        },
        complete,
    ))
}

/// Detects the envelope of one line. Only a line that clearly claims a
/// format and then breaks it counts as malformed: an application's own JSON
/// or timestamped text in a plain log is plain, not a broken envelope.
fn decode_auto(raw: &str) -> (LogLine, bool) {
    if raw.starts_with('{') {
        if let Some(d) = decode_docker(raw) {
            return d;
        }
        if raw.starts_with("{\"log\":") {
            return (LogLine::malformed(raw), true);
        }
        return (LogLine::plain(raw.to_owned()), true);
    }
    if raw.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        if let Some(d) = decode_cri(raw) {
            return d;
        }
        // `<something> stdout ` is a CRI line gone wrong (bad time or tag).
        let mut parts = raw.splitn(3, ' ');
        let _ = parts.next();
        if matches!(parts.next(), Some("stdout" | "stderr")) {
            return (LogLine::malformed(raw), true);
        }
    }
    (LogLine::plain(raw.to_owned()), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(format: Format, raws: &[&str]) -> Vec<LogLine> {
        let mut d = Decoder::new(format, 1 << 20);
        let mut out: Vec<LogLine> = raws.iter().filter_map(|r| d.push(r)).collect();
        out.extend(d.finish());
        out
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
            parse_rfc3339_nanos("2026-11-27T06:51:01.1Z")
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
    }

    #[test]
    fn unfinished_partials_and_oversized_lines_are_kept() {
        let mut d = Decoder::new(Format::Cri, 8);
        assert_eq!(d.push("2026-11-27T06:51:01Z stderr P 12345"), None);
        let first = d.push("2026-11-27T06:51:01Z stderr P 67890").unwrap();
        assert_eq!(first.text, "1234567890");
        assert_eq!(d.push("2026-11-27T06:51:01Z stderr P tail"), None);
        let rest = d.finish();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].text, "tail");
    }

    #[test]
    fn plain_keeps_everything() {
        let out = decode_all(Format::Plain, &["{\"log\":\"x\\n\"}", "a\r"]);
        assert_eq!(out[0].text, "{\"log\":\"x\\n\"}");
        assert_eq!(out[1].text, "a");
    }
}
