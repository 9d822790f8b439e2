//! One log source from raw bytes to JSON records: [`Decoder`] →
//! [`Reassembler`] → [`Shaper`], with the options a user sets. Hosts that
//! read a whole log or a tail of one (the CLI, the JavaScript package) share
//! this; the Fluent Bit filter gets decoded records and drives the parts
//! itself. A pipeline reads container log lines ([`Pipeline::new`]) or JSON
//! events ([`Pipeline::for_events`], see [`crate::event`]).
//!
//! Input comes as raw bytes in reads of any size ([`Pipeline::push_bytes`]),
//! as whole lines, or as lines the host decoded; nothing holds a line longer
//! than `max_line_bytes` (see [`Decoder`]).
//!
//! Time is the log's own: a CRI or docker line (an event's time field)
//! carries its timestamp, and a plain line (which carries none) is placed at
//! the newest time seen, from a line or from [`Pipeline::tick`]. A whole
//! file read at speed is therefore processed the same on every run, and a
//! live host advances the clock by ticking while nothing arrives.

use crate::container::{Decoder, Format, LogLine};
use crate::event::{EventFormat, EventStreams, JsonEvent, bounded_config};
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
    /// Longest line kept whole (after merging a runtime's partial chunks):
    /// a longer one leaves in pieces of at most this many bytes, each but the
    /// last marked `continued`, and is never held whole.
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
        bounded_config(
            Config {
                idle_timeout_ns: i64::try_from(self.idle_timeout_ms.saturating_mul(1_000_000))
                    .unwrap_or(i64::MAX),
                max_report_bytes: self.max_report_bytes,
                max_report_lines: self.max_report_lines,
                ..Config::default()
            },
            self.max_record_bytes,
        )
    }

    /// The decoder's line bound: `max_line_bytes`, and with a record bound
    /// at most half of it counted as JSON writes the text, as for report
    /// parts (an ordinary record is its line's text and envelope).
    pub fn line_bound(&self) -> usize {
        crate::event::bounded_line_bytes(self.max_line_bytes, self.max_record_bytes)
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

/// Container log lines joined per stream.
struct Lines {
    reassembler: Reassembler<Key, LogLine>,
    out: Vec<Output<Key, LogLine>>,
}

/// JSON events joined per stream named by their fields.
struct Events {
    format: EventFormat,
    streams: EventStreams<JsonEvent>,
    out: Vec<Output<String, JsonEvent>>,
    /// The last line read was cut at the line bound: the next is its rest.
    in_cut_line: bool,
}

enum Stages {
    Lines(Lines),
    Events(Events),
}

/// Everything after the decoder: what a decoded line goes through.
struct Sink {
    stages: Stages,
    /// The newest input time seen, in nanoseconds since the Unix epoch.
    clock: i64,
    malformed: u64,
}

impl Sink {
    fn push(&mut self, line: LogLine) {
        match &mut self.stages {
            Stages::Lines(l) => {
                self.malformed += u64::from(line.malformed);
                let now = match line.time_nanos {
                    Some(t) => {
                        self.clock = self.clock.max(t);
                        t
                    }
                    None => self.clock,
                };
                let key = stream_key(line.stream.as_deref());
                l.reassembler.push(&key, line, now, &mut l.out);
            }
            Stages::Events(_) => self.push_event(line),
        }
    }

    /// A line of JSON-events input: one event; a blank line carries none,
    /// and the pieces of a line over the bound are not read as JSON but
    /// carried as the text of `{"message": …}` events marked malformed.
    fn push_event(&mut self, line: LogLine) {
        let Stages::Events(e) = &mut self.stages else {
            return;
        };
        // A piece: this line goes on in the next, or the last went on here.
        let after_cut = std::mem::replace(&mut e.in_cut_line, line.continued);
        let piece = line.continued || after_cut;
        let (key, event) = if piece {
            (String::new(), JsonEvent::malformed(&line.text))
        } else if line.text.trim().is_empty() {
            return;
        } else {
            e.format.read(&line.text)
        };
        self.malformed += u64::from(event.malformed);
        if let Some(t) = event.time_nanos {
            self.clock = self.clock.max(t);
        }
        e.streams.push(key, event, self.clock, &mut e.out);
    }

    fn tick(&mut self, now: i64) {
        self.clock = self.clock.max(now);
        match &mut self.stages {
            Stages::Lines(l) => l.reassembler.tick(self.clock, &mut l.out),
            Stages::Events(e) => e.streams.tick(self.clock, &mut e.out),
        }
    }
}

/// One source; see the module docs.
pub struct Pipeline {
    decoder: Decoder,
    sink: Sink,
    shaper: Shaper,
    /// Lines the host decoded itself ([`Pipeline::push_line`]).
    host_lines: u64,
    records_out: u64,
}

impl Pipeline {
    /// A pipeline for container log lines (CRI, docker, plain).
    pub fn new(options: &Options) -> Self {
        let stages = Stages::Lines(Lines {
            reassembler: Reassembler::new(options.config()),
            out: Vec::new(),
        });
        Self::with_stages(options, options.format, stages)
    }

    /// A pipeline for JSON events, one per line (`options.format` is not
    /// used).
    pub fn for_events(options: &Options, format: EventFormat) -> Self {
        let stages = Stages::Events(Events {
            format,
            streams: EventStreams::new(options.config()),
            out: Vec::new(),
            in_cut_line: false,
        });
        Self::with_stages(options, Format::Plain, stages)
    }

    fn with_stages(options: &Options, format: Format, stages: Stages) -> Self {
        Pipeline {
            decoder: Decoder::new(format, options.line_bound())
                .counting_json(options.max_record_bytes.is_some()),
            sink: Sink {
                stages,
                clock: 0,
                malformed: 0,
            },
            shaper: options.shaper(),
            host_lines: 0,
            records_out: 0,
        }
    }

    /// Feeds raw bytes as read, split anywhere: lines end at `\n`, and the
    /// last one without it at [`Pipeline::finish`].
    pub fn push_bytes(&mut self, bytes: &[u8]) {
        let sink = &mut self.sink;
        self.decoder.push_bytes(bytes, &mut |line| sink.push(line));
    }

    /// Feeds one raw line (without its trailing newline) through the
    /// decoder.
    pub fn push_raw(&mut self, raw: &str) {
        for line in self.decoder.push(raw) {
            self.sink.push(line);
        }
    }

    /// Feeds a line its host decoded itself: `stream` keys the stream and
    /// `time_nanos`, when set, advances the clock.
    pub fn push_line(&mut self, line: LogLine) {
        self.host_lines += 1;
        self.sink.push(line);
    }

    /// The newest input time seen (0 before any).
    pub fn clock(&self) -> i64 {
        self.sink.clock
    }

    /// Moves the clock to `now` (never back) and closes the reports idle at
    /// it: a live host calls this while no line arrives.
    pub fn tick(&mut self, now: i64) {
        self.sink.tick(now);
    }

    /// End of input: a last line without newline, lines still being merged
    /// and open reports leave.
    pub fn finish(&mut self) {
        let sink = &mut self.sink;
        self.decoder.finish_with(&mut |line| sink.push(line));
        match &mut self.sink.stages {
            Stages::Lines(l) => l.reassembler.finish(&mut l.out),
            Stages::Events(e) => e.streams.finish(&mut e.out),
        }
    }

    /// Appends the JSON of every record that left since the last call to
    /// `buf`, each followed by `separator`; returns how many.
    pub fn drain_json(&mut self, buf: &mut Vec<u8>, separator: u8) -> usize {
        let shaper = &mut self.shaper;
        let n = match &mut self.sink.stages {
            // Natively each written line's text goes back to the decoder,
            // which fills it again; the wasm builds keep none, for their
            // size.
            #[cfg(not(target_arch = "wasm32"))]
            Stages::Lines(l) => {
                let n = l.out.len();
                for o in l.out.drain(..) {
                    shaper.write_json(&o, buf);
                    buf.push(separator);
                    recycle(&mut self.decoder, o);
                }
                n
            }
            #[cfg(target_arch = "wasm32")]
            Stages::Lines(l) => drain(&mut l.out, buf, separator, |o, b| shaper.write_json(o, b)),
            Stages::Events(e) => drain(&mut e.out, buf, separator, |o, b| shaper.write_event(o, b)),
        };
        self.records_out += n as u64;
        n
    }

    /// Whether records are waiting for [`Pipeline::drain_json`].
    pub fn has_output(&self) -> bool {
        match &self.sink.stages {
            Stages::Lines(l) => !l.out.is_empty(),
            Stages::Events(e) => !e.out.is_empty(),
        }
    }

    /// Counters since creation.
    pub fn counts(&self) -> Counts {
        let s = match &self.sink.stages {
            Stages::Lines(l) => l.reassembler.stats(),
            Stages::Events(e) => e.streams.reassembler().stats(),
        };
        Counts {
            lines_in: self.decoder.raw_lines() + self.host_lines,
            records_out: self.records_out,
            reports: s.reports,
            report_parts: s.report_parts,
            malformed: self.sink.malformed,
        }
    }
}

/// Gives the texts of a written output back to the decoder.
#[cfg(not(target_arch = "wasm32"))]
fn recycle(decoder: &mut Decoder, output: Output<Key, LogLine>) {
    match output {
        Output::Line(_, line) => decoder.recycle(line.text),
        Output::Report(_, report) => {
            for line in report.lines {
                decoder.recycle(line.text);
            }
        }
    }
}

/// Writes each output to `buf` followed by `separator`; returns how many.
fn drain<O>(
    out: &mut Vec<O>,
    buf: &mut Vec<u8>,
    separator: u8,
    mut write: impl FnMut(&O, &mut Vec<u8>),
) -> usize {
    let n = out.len();
    for o in out.drain(..) {
        write(&o, buf);
        buf.push(separator);
    }
    n
}

/// A whole log's records as NDJSON (each record followed by `\n`), exactly
/// as the CLI writes them for one file.
pub fn reassemble_text(text: &str, options: &Options) -> Vec<u8> {
    let mut p = Pipeline::new(options);
    let mut buf = Vec::with_capacity(text.len() + text.len() / 2);
    p.push_bytes(text.as_bytes());
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
    fn event_lines_over_the_bound_leave_as_malformed_pieces() {
        let o = Options {
            max_line_bytes: 16,
            ..Options::default()
        };
        let mut p = Pipeline::for_events(&o, EventFormat::default());
        let long = format!("{{\"message\":\"{}\"}}", "x".repeat(30));
        p.push_bytes(format!("{long}\n{{\"message\":\"ok\"}}\n").as_bytes());
        p.finish();
        let mut buf = Vec::new();
        assert_eq!(p.drain_json(&mut buf, b'\n'), 4);
        let recs = records(&buf);
        let pieces: String = recs[..3]
            .iter()
            .map(|r| r["message"].as_str().unwrap())
            .collect();
        assert_eq!(pieces, long);
        assert_eq!(recs[3]["message"], "ok");
        let c = p.counts();
        assert_eq!((c.lines_in, c.records_out, c.malformed), (2, 4, 3));
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
        assert_eq!(o.line_bound(), 500);
        assert_eq!(Options::default().line_bound(), 4 << 20);
        assert_eq!(Options::default().config().max_report_bytes, 8 << 20);
    }
}
