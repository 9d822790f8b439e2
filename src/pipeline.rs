//! One log source from raw lines to JSON records: [`Decoder`] →
//! [`Reassembler`] → [`Shaper`], with the options a user sets. Hosts that
//! read a whole log or a tail of one (the CLI, the JavaScript package) share
//! this; the Fluent Bit filter gets decoded records and drives the parts
//! itself.
//!
//! Time is the log's own: a CRI or docker line carries its timestamp, and a
//! plain line (which carries none) is placed at the newest time seen, from a
//! line or from [`Pipeline::tick`]. A whole file read at speed is therefore
//! processed the same on every run, and a live host advances the clock by
//! ticking while nothing arrives.

use crate::container::{Decoder, Format, LogLine};
use crate::reassembler::{Config, Output, Reassembler};
use crate::record::{Limits, Profile, Shaper};

/// What a user may set; the defaults are the CLI's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Input envelope; `Auto` detects it per line.
    pub format: Format,
    /// Record field names.
    pub profile: Profile,
    /// A report larger than this leaves in parts marked `go.truncated`.
    pub max_report_bytes: usize,
    /// A report with more lines than this leaves in parts.
    pub max_report_lines: usize,
    /// A report with no new line for this long (input time) is complete.
    pub idle_timeout_ms: u64,
    /// Longest logical line kept whole after merging partial chunks.
    pub max_line_bytes: usize,
    /// Keep every record's JSON at most this long (see `Limits`).
    pub max_record_bytes: Option<usize>,
    /// Goroutines given in full under `go.goroutines`.
    pub max_goroutines: usize,
}

impl Default for Options {
    fn default() -> Self {
        let cfg = Config::default();
        Options {
            format: Format::Auto,
            profile: Profile::Default,
            max_report_bytes: cfg.max_report_bytes,
            max_report_lines: cfg.max_report_lines,
            idle_timeout_ms: 1000,
            max_line_bytes: 4 << 20,
            max_record_bytes: None,
            max_goroutines: Limits::default().max_goroutines,
        }
    }
}

impl Options {
    /// The reassembler's configuration for these options.
    pub fn config(&self) -> Config {
        Config {
            idle_timeout_ns: i64::try_from(self.idle_timeout_ms.saturating_mul(1_000_000))
                .unwrap_or(i64::MAX),
            // Half the record bound for the text leaves room for JSON
            // escaping (a tab becomes `\t`) and the `go` object.
            max_report_bytes: self.max_record_bytes.map_or(self.max_report_bytes, |r| {
                self.max_report_bytes.min(r / 2).max(1)
            }),
            max_report_lines: self.max_report_lines.max(1),
            ..Config::default()
        }
    }

    /// The record shaper for these options.
    pub fn shaper(&self) -> Shaper {
        Shaper::new(
            self.profile,
            Limits {
                max_goroutines: self.max_goroutines,
                max_record_bytes: self.max_record_bytes,
                ..Limits::default()
            },
        )
    }
}

/// Counters since creation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Raw lines pushed.
    pub lines_in: u64,
    /// Records written.
    pub records_out: u64,
    /// Crash reports (a report split by a bound counts once).
    pub reports: u64,
    /// Report records, parts included.
    pub report_parts: u64,
    /// Lines that claimed a format but broke it, passed through as plain.
    pub malformed: u64,
}

/// Stream key: integers, so a key costs no allocation per line.
type Key = u8;

fn stream_key(stream: Option<&str>) -> Key {
    match stream {
        None => 0,
        Some("stdout") => 1,
        Some("stderr") => 2,
        Some(_) => 3,
    }
}

/// One source; see the module docs.
pub struct Pipeline {
    decoder: Decoder,
    reassembler: Reassembler<Key, LogLine>,
    shaper: Shaper,
    /// The newest input time seen, in nanoseconds since the Unix epoch.
    clock: i64,
    out: Vec<Output<Key, LogLine>>,
    lines_in: u64,
    records_out: u64,
    malformed: u64,
}

impl Pipeline {
    pub fn new(options: &Options) -> Self {
        Pipeline {
            decoder: Decoder::new(
                options.format,
                crate::event::bounded_line_bytes(options.max_line_bytes, options.max_record_bytes),
            ),
            reassembler: Reassembler::new(options.config()),
            shaper: options.shaper(),
            clock: 0,
            out: Vec::new(),
            lines_in: 0,
            records_out: 0,
            malformed: 0,
        }
    }

    /// Feeds one raw line (without its trailing newline) through the
    /// decoder.
    pub fn push_raw(&mut self, raw: &str) {
        self.lines_in += 1;
        if let Some(line) = self.decoder.push(raw) {
            self.push_decoded(line);
        }
    }

    /// Feeds a line its host decoded itself: `stream` keys the stream and
    /// `time_nanos`, when set, advances the clock.
    pub fn push_line(&mut self, line: LogLine) {
        self.lines_in += 1;
        self.push_decoded(line);
    }

    fn push_decoded(&mut self, line: LogLine) {
        self.malformed += u64::from(line.malformed);
        let now = match line.time_nanos {
            Some(t) => {
                self.clock = self.clock.max(t);
                t
            }
            None => self.clock,
        };
        let key = stream_key(line.stream.as_deref());
        self.reassembler.push(&key, line, now, &mut self.out);
    }

    /// The newest input time seen (0 before any).
    pub fn clock(&self) -> i64 {
        self.clock
    }

    /// Moves the clock to `now` (never back) and closes the reports idle at
    /// it: a live host calls this while no line arrives.
    pub fn tick(&mut self, now: i64) {
        self.clock = self.clock.max(now);
        self.reassembler.tick(self.clock, &mut self.out);
    }

    /// End of input: lines still being merged and open reports leave.
    pub fn finish(&mut self) {
        for line in self.decoder.finish() {
            self.push_decoded(line);
        }
        self.reassembler.finish(&mut self.out);
    }

    /// Appends the JSON of every record that left since the last call to
    /// `buf`, each followed by `separator`; returns how many.
    pub fn drain_json(&mut self, buf: &mut Vec<u8>, separator: u8) -> usize {
        let n = self.out.len();
        for o in self.out.drain(..) {
            self.shaper.write_json(&o, buf);
            buf.push(separator);
        }
        self.records_out += n as u64;
        n
    }

    /// Whether records are waiting for [`Pipeline::drain_json`].
    pub fn has_output(&self) -> bool {
        !self.out.is_empty()
    }

    pub fn counts(&self) -> Counts {
        let s = self.reassembler.stats();
        Counts {
            lines_in: self.lines_in,
            records_out: self.records_out,
            reports: s.reports,
            report_parts: s.report_parts,
            malformed: self.malformed,
        }
    }
}

/// A whole log's records as NDJSON (each record followed by `\n`), exactly
/// as the CLI writes them for one file.
pub fn reassemble_text(text: &str, options: &Options) -> Vec<u8> {
    let mut p = Pipeline::new(options);
    let mut buf = Vec::with_capacity(text.len() + text.len() / 2);
    for raw in lines(text) {
        p.push_raw(raw);
    }
    p.finish();
    p.drain_json(&mut buf, b'\n');
    buf
}

/// The lines of a text as a line reader sees them: split at `\n`, a final
/// line without one included, no empty line after a final `\n`.
pub fn lines(text: &str) -> impl Iterator<Item = &str> {
    // An empty text has no lines (not one empty line).
    let body = (!text.is_empty()).then(|| text.strip_suffix('\n').unwrap_or(text));
    body.into_iter().flat_map(|b| b.split('\n'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CRI: &str = "\
2026-11-27T06:51:01.000000001Z stdout F ready
2026-11-27T06:51:01.000000002Z stderr F panic: boom
2026-11-27T06:51:01.000000003Z stderr F 
2026-11-27T06:51:01.000000004Z stderr F goroutine 1 [running]:
2026-11-27T06:51:01.000000005Z stderr F main.main()
2026-11-27T06:51:01.000000006Z stderr F \t/app/main.go:9 +0x1d
2026-11-27T06:51:09.000000000Z stderr F later
";

    fn records(ndjson: &[u8]) -> Vec<serde_json::Value> {
        std::str::from_utf8(ndjson)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn whole_text_and_line_by_line_agree() {
        let whole = reassemble_text(CRI, &Options::default());
        let recs = records(&whole);
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[1]["go"]["class"], "custom_panic");
        assert_eq!(recs[1]["time"], "2026-11-27T06:51:01.000000002Z");

        // Pushed one at a time, the report leaves as soon as the later line
        // shows it idle, before `finish`.
        let mut p = Pipeline::new(&Options::default());
        let mut buf = Vec::new();
        let mut left_before_finish = 0;
        for raw in lines(CRI) {
            p.push_raw(raw);
            left_before_finish += p.drain_json(&mut buf, b'\n');
        }
        p.finish();
        p.drain_json(&mut buf, b'\n');
        assert_eq!(left_before_finish, 3);
        assert_eq!(buf, whole);
        let c = p.counts();
        assert_eq!((c.lines_in, c.records_out, c.reports), (7, 3, 1));
    }

    #[test]
    fn plain_lines_take_the_clock_and_ticks_advance_it() {
        let mut p = Pipeline::new(&Options::default());
        let mut buf = Vec::new();
        p.push_raw("panic: boom");
        p.tick(999_999_999);
        assert!(!p.has_output());
        p.tick(1_000_000_000);
        assert_eq!(p.drain_json(&mut buf, b'\n'), 1);
        assert_eq!(p.clock(), 1_000_000_000);
        assert_eq!(records(&buf)[0]["go"]["event"], "panic");
    }

    #[test]
    fn lines_like_a_line_reader() {
        assert_eq!(lines("").count(), 0);
        assert_eq!(lines("\n").collect::<Vec<_>>(), [""]);
        assert_eq!(lines("a\nb").collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(lines("a\n\nb\n").collect::<Vec<_>>(), ["a", "", "b"]);
    }

    #[test]
    fn options_bound_the_report_by_the_record_bound() {
        let o = Options {
            max_record_bytes: Some(1000),
            ..Options::default()
        };
        assert_eq!(o.config().max_report_bytes, 500);
        assert_eq!(Options::default().config().max_report_bytes, 8 << 20);
    }
}
