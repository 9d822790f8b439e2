//! The `log_pipeline` fuzz check: arbitrary bytes as container log input
//! through decode → reassemble → parse → emit, with the project's
//! invariants asserted (a violation panics, which the fuzzer reports).
//!
//! Input layout (so that a mutation of the fixture corpus stays a log):
//! - byte 0 picks the options: bits 0-1 the format (auto, CRI, docker,
//!   plain), bit 2 the ECS profile, bit 3 a record bound (4096 + 64 × byte
//!   1, at least the hosts' minimum), bit 4 small report
//!   bounds, bit 5 a small merged-line bound, bit 6 a short idle timeout,
//!   bit 7 few goroutines in full; byte 1 sizes the bounds chosen, and its
//!   bit 7 makes every stream single-writer (one open report at a time);
//! - the rest is the log text (invalid UTF-8 replaced), read line by line.
//!   A line starting with byte 1, 2 or 3 belongs to that source (another
//!   container, with its own decoder), any other line to source 0; a line
//!   `\x04<digits>` is no log line but a clock tick to that many
//!   milliseconds. Times come from the lines themselves (CRI, docker).
//!
//! Checked: no panic; every decoded line leaves in exactly one output, in
//! its own stream, unchanged; within a single-writer stream ordinary
//! lines keep their order (with several reports open in a stream, a line
//! found foreign to one report later than it arrived may overtake a line
//! another report still holds: the README's exception for foreign lines);
//! each report's lines keep theirs, whole reports leave in the order
//! they started and a split report's parts in order; every record is one valid JSON object carrying its
//! line's text (a report: its lines joined with `\n`) and, when a record
//! bound is set, no longer than it; with one source and no ticks the
//! records are byte for byte those of `gopanic::pipeline::reassemble_text`
//! (the CLI's path) on the same text ended by a newline.
//!
//! `GOPANIC_FUZZ_SKIP=record_bound,report_order` leaves the record bound
//! and the order of a report's lines unchecked: a fuzzer stopped by a known
//! finding finds nothing else.

use std::collections::HashMap;

use gopanic::container::{Decoder, Format, LogLine};
use gopanic::pipeline::{Options, lines, reassemble_text};
use gopanic::reassembler::{Line, Output, Reassembler, Report, Split};
use gopanic::record::{Profile, Shaper};
use serde_json::Value;

/// A decoded line and its position among all decoded lines.
struct Indexed {
    index: usize,
    line: LogLine,
}

impl Line for Indexed {
    fn text(&self) -> &str {
        &self.line.text
    }
}

/// Source and stream. Streams are told apart as `gopanic::pipeline` tells
/// them (stdout, stderr, none, any other name), so that one source gives
/// the same records as the pipeline.
type Key = (usize, u8);

fn stream_key(stream: Option<&str>) -> u8 {
    match stream {
        None => 0,
        Some("stdout") => 1,
        Some("stderr") => 2,
        Some(_) => 3,
    }
}

/// The options byte 0 and byte 1 choose.
pub fn options(b0: u8, b1: u8) -> Options {
    let mut o = Options {
        format: [Format::Auto, Format::Cri, Format::Docker, Format::Plain][usize::from(b0 & 3)],
        ..Options::default()
    };
    let b = usize::from(b1);
    if b0 & 4 != 0 {
        o.profile = Profile::Ecs;
    }
    if b0 & 8 != 0 {
        // Hosts refuse a bound under the minimum (`MIN_RECORD_BYTES`).
        o.max_record_bytes = Some(gopanic::record::MIN_RECORD_BYTES + 64 * b);
    }
    if b0 & 16 != 0 {
        o.max_report_bytes = 64 + 16 * b;
        o.max_report_lines = 1 + b % 32;
    }
    if b0 & 32 != 0 {
        o.max_line_bytes = 1 + b;
    }
    if b0 & 64 != 0 {
        o.idle_timeout_ms = u64::from(b1);
    }
    if b0 & 128 != 0 {
        o.max_goroutines = b % 4;
    }
    o
}

/// One step of the input.
enum Step<'a> {
    Raw(usize, &'a str),
    Tick(i64),
}

fn step(raw: &str) -> Step<'_> {
    let mut chars = raw.chars();
    match chars.next() {
        Some(c @ '\u{1}'..='\u{3}') => Step::Raw(c as usize, chars.as_str()),
        Some('\u{4}') => {
            let ms = chars
                .as_str()
                .bytes()
                .take_while(u8::is_ascii_digit)
                .fold(0i64, |v, d| {
                    v.saturating_mul(10).saturating_add(i64::from(d - b'0'))
                });
            Step::Tick(ms.saturating_mul(1_000_000))
        }
        _ => Step::Raw(0, raw),
    }
}

/// What the check saw, for the replay test's own assertions.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    /// Lines out of the decoders.
    pub lines: usize,
    /// Records written.
    pub records: usize,
    /// Report records among them.
    pub reports: usize,
}

/// The harness: decoders per source, one reassembler, one shaper, and the
/// ground truth each output is checked against as it leaves.
struct Run {
    options: Options,
    decoders: Vec<Decoder>,
    reassembler: Reassembler<Key, Indexed>,
    shaper: Shaper,
    clock: i64,
    /// Every decoded line, with its stream, by index.
    truth: Vec<(Key, LogLine)>,
    /// Times each line has left.
    left: Vec<u32>,
    /// At most one report open per stream.
    single_writer: bool,
    /// The line being pushed, while its outputs are checked.
    pushing: Option<usize>,
    /// Per stream: the latest ordinary line out that did not leave as it
    /// arrived (it was held).
    released: HashMap<Key, usize>,
    /// Per stream: index of the last ordinary line out, first index of the
    /// last whole (unsplit) report out.
    last_line: HashMap<Key, usize>,
    last_report: HashMap<Key, usize>,
    /// Per split report: the last part out and its last line.
    parts: HashMap<u64, (u32, usize)>,
    out: Vec<Output<Key, Indexed>>,
    ndjson: Vec<u8>,
    seen: Seen,
}

impl Run {
    fn new(options: Options, single_writer: bool) -> Self {
        let mut config = options.config();
        if single_writer {
            config.max_reports_per_stream = 1;
        }
        Run {
            decoders: (0..4)
                .map(|_| {
                    Decoder::new(options.format, options.line_bound())
                        .counting_json(options.max_record_bytes.is_some())
                })
                .collect(),
            reassembler: Reassembler::new(config),
            shaper: options.shaper(),
            options,
            clock: 0,
            truth: Vec::new(),
            left: Vec::new(),
            single_writer,
            pushing: None,
            released: HashMap::new(),
            last_line: HashMap::new(),
            last_report: HashMap::new(),
            parts: HashMap::new(),
            out: Vec::new(),
            ndjson: Vec::new(),
            seen: Seen::default(),
        }
    }

    fn push_decoded(&mut self, source: usize, line: LogLine) {
        let now = match line.time_nanos {
            Some(t) => {
                self.clock = self.clock.max(t);
                t
            }
            None => self.clock,
        };
        let key = (source, stream_key(line.stream.as_deref()));
        let index = self.truth.len();
        self.truth.push((key, line.clone()));
        self.left.push(0);
        self.reassembler
            .push(&key, Indexed { index, line }, now, &mut self.out);
        self.pushing = Some(index);
        self.drain();
        self.pushing = None;
    }

    fn drain(&mut self) {
        let out = std::mem::take(&mut self.out);
        for o in out {
            self.check(o);
        }
    }

    /// Checks one output against the truth, then writes and checks its
    /// record.
    fn check(&mut self, o: Output<Key, Indexed>) {
        let record = match o {
            Output::Line(key, l) => {
                self.check_line(&key, &l, "line");
                if self.single_writer {
                    if self.pushing != Some(l.index) {
                        self.released.insert(key, l.index);
                    }
                    let last = self.last_line.insert(key, l.index);
                    assert!(
                        last.is_none_or(|p| p < l.index),
                        "stream {key:?}: line {} left after line {last:?}",
                        l.index
                    );
                }
                Output::Line(key, l.line)
            }
            Output::Report(key, rep) => {
                let first = rep.lines.first().map(|l| l.index);
                let first =
                    first.unwrap_or_else(|| panic!("stream {key:?}: a report with no line"));
                let mut prev = None;
                for l in &rep.lines {
                    self.check_line(&key, l, "report");
                    assert!(
                        prev.is_none_or(|p| p < l.index) || skipped("report_order"),
                        "stream {key:?}: report lines out of order: {prev:?} then {}",
                        l.index
                    );
                    prev = Some(l.index);
                }
                let last = prev.unwrap_or(first);
                self.check_report_order(key, first, last, rep.split);
                // A report leaves before any line that followed it, but for
                // foreign lines (which leave as they arrive). A part cut off
                // by a bound is no whole report: lines held inside the
                // report may leave before the part is cut.
                if self.single_writer
                    && rep.split.is_none()
                    && let Some(&r) = self.released.get(&key)
                {
                    assert!(
                        r < last,
                        "stream {key:?}: report ending at line {last} left after held line {r}"
                    );
                }
                self.seen.reports += 1;
                Output::Report(
                    key,
                    Report {
                        event: rep.event,
                        lines: rep.lines.into_iter().map(|l| l.line).collect(),
                        kinds: rep.kinds,
                        split: rep.split,
                    },
                )
            }
        };
        self.check_record(&record);
    }

    /// Whole reports leave in the order they started. A part split off by
    /// a size bound leaves as soon as it is full, ahead of reports that
    /// started before it and are still open; its report's parts leave in
    /// order.
    fn check_report_order(&mut self, key: Key, first: usize, last: usize, split: Option<Split>) {
        match split {
            None => {
                let before = self.last_report.insert(key, first);
                assert!(
                    before.is_none_or(|p| p < first),
                    "stream {key:?}: report started at line {first} left after one started at {before:?}"
                );
            }
            Some(s) => {
                let before = self.parts.insert(s.id, (s.part, last));
                let (part, end) = before.unwrap_or((0, 0));
                assert!(
                    s.part == part + 1 && (part == 0 || end < first),
                    "report {}: part {} (lines {first}..={last}) after part {part} (ending at line {end})",
                    s.id,
                    s.part
                );
            }
        }
    }

    fn check_line(&mut self, key: &Key, l: &Indexed, what: &str) {
        let (want_key, want) = self
            .truth
            .get(l.index)
            .unwrap_or_else(|| panic!("{what}: unknown line {}", l.index));
        assert_eq!(key, want_key, "line {} left in another stream", l.index);
        assert_eq!(&l.line, want, "line {} changed", l.index);
        if let Some(n) = self.left.get_mut(l.index) {
            *n += 1;
        }
    }

    fn check_record(&mut self, record: &Output<Key, LogLine>) {
        let start = self.ndjson.len();
        self.shaper.write_json(record, &mut self.ndjson);
        let json = self.ndjson.get(start..).unwrap_or_default();
        let value: Value = serde_json::from_slice(json).unwrap_or_else(|e| {
            panic!(
                "record is not JSON ({e}): {}",
                String::from_utf8_lossy(json)
            )
        });
        if let Some(bound) = self.options.max_record_bytes
            && !skipped("record_bound")
        {
            assert!(
                json.len() <= bound,
                "record of {} bytes over the bound {bound}",
                json.len()
            );
        }
        let text_key = match self.options.profile {
            Profile::Default => "log",
            Profile::Ecs => "message",
        };
        let text = value.get(text_key).and_then(Value::as_str);
        match record {
            Output::Line(_, l) => {
                assert_eq!(text, Some(l.text.as_str()), "line record text");
            }
            Output::Report(_, rep) => {
                let joined = rep
                    .lines
                    .iter()
                    .map(|l| l.text.as_str())
                    .collect::<Vec<_>>()
                    .join("\n");
                assert_eq!(text, Some(joined.as_str()), "report record text");
                let event = value.pointer("/go/event").and_then(Value::as_str);
                assert_eq!(event, Some(rep.event.as_str()), "go.event");
            }
        }
        self.ndjson.push(b'\n');
        self.seen.records += 1;
    }

    fn finish(mut self) -> (Seen, Vec<u8>) {
        for source in 0..self.decoders.len() {
            let rest = self
                .decoders
                .get_mut(source)
                .map(Decoder::finish)
                .unwrap_or_default();
            for line in rest {
                self.push_decoded(source, line);
            }
        }
        self.reassembler.finish(&mut self.out);
        self.drain();
        for (i, n) in self.left.iter().enumerate() {
            assert_eq!(
                *n,
                1,
                "line {i} ({:?}) left {n} times",
                self.truth.get(i).map(|t| &t.1.text)
            );
        }
        self.seen.lines = self.truth.len();
        (self.seen, self.ndjson)
    }
}

/// Whether `GOPANIC_FUZZ_SKIP` (comma-separated) names the check.
fn skipped(check: &str) -> bool {
    static SKIP: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SKIP.get_or_init(|| std::env::var("GOPANIC_FUZZ_SKIP").unwrap_or_default())
        .split(',')
        .any(|s| s.trim() == check)
}

/// Runs one input through the pipeline and asserts the invariants (see the
/// module docs); panics on a violation.
pub fn check(data: &[u8]) -> Seen {
    let b0 = data.first().copied().unwrap_or_default();
    let b1 = data.get(1).copied().unwrap_or_default();
    let options = options(b0, b1);
    let text = String::from_utf8_lossy(data.get(2..).unwrap_or_default());
    let single_writer = b1 & 0x80 != 0;
    let mut run = Run::new(options.clone(), single_writer);
    // The pipeline's own records, when the input is what it reads.
    let mut single = !single_writer;
    for raw in lines(&text) {
        match step(raw) {
            Step::Raw(source, raw) => {
                single &= source == 0;
                let decoded = run.decoders.get_mut(source).map(|d| d.push(raw));
                for line in decoded.into_iter().flatten() {
                    run.push_decoded(source, line);
                }
            }
            Step::Tick(now) => {
                single = false;
                run.clock = run.clock.max(now);
                run.reassembler.tick(run.clock, &mut run.out);
                run.drain();
            }
        }
    }
    let (seen, ndjson) = run.finish();
    if single {
        // The harness pushes whole lines; the CLI's path reads bytes, where
        // a last line with no newline is still being written and, over the
        // line bound, streams in pieces (a docker line so loses its
        // envelope). Ended, it is a whole line there too.
        let want = if text.is_empty() || text.ends_with('\n') {
            reassemble_text(&text, &options)
        } else {
            reassemble_text(&format!("{text}\n"), &options)
        };
        assert!(
            ndjson == want,
            "records differ from reassemble_text's:\n{}\n---\n{}",
            String::from_utf8_lossy(&ndjson),
            String::from_utf8_lossy(&want)
        );
    }
    seen
}
