//! `gopanic_reassemble`: the filter joins one-line records itself.
//!
//! The host gives one record in and takes at most one out, has no timer and
//! no shutdown hook. So:
//! - an ordinary line leaves at once, unchanged;
//! - a line the core keeps (inside a report, or held while the grammar
//!   decides) is absorbed: the filter returns "" and Fluent Bit drops it;
//! - everything the core lets out that is not the current record (finished
//!   reports, held lines released, foreign lines) goes into a queue;
//! - a heartbeat record (`gopanic_tick: true`, from a `dummy` input matched
//!   by the same filter) closes idle reports and takes the oldest queued
//!   record out in its place. That record names its original tag in
//!   `gopanic_tag` (for `rewrite_tag`), its first line's time in
//!   `gopanic_time` (for a `parser` filter) and carries
//!   `gopanic_reemitted: true`, so that when it comes back through this
//!   filter under its original tag it passes unchanged.
//!
//! Streams are keyed by tag and the record's `stream` field; each holds its
//! own core [`Reassembler`], so that one stream's report can be closed on its
//! own at a bound.

use std::collections::{HashMap, VecDeque};

use gopanic::grammar::may_start_report;
use gopanic::reassembler::{Config, Line, Output, Reassembler, Split};
use gopanic::record::Shaper;
use gopanic::time::parse_rfc3339_nanos;

use crate::Verdict;
use crate::quick::locate_log;
use crate::json::{Record, decode_string, write_key, write_string};
use crate::time::rfc3339_nanos;

/// Marks a record re-emitted by this filter; it then passes unchanged.
pub const REEMITTED: &str = "gopanic_reemitted";
/// Names the original tag of a re-emitted record.
pub const TAG: &str = "gopanic_tag";
/// The first line's time, RFC 3339 UTC with nanoseconds.
pub const TIME: &str = "gopanic_time";
/// Marks a heartbeat record.
pub const TICK: &str = "gopanic_tick";
/// On a report closed by a bound rather than by the grammar or idle time:
/// `stream_limit` or `memory_limit`.
pub const CLOSED: &str = "gopanic_closed";
/// On a queued record returned in place of an incoming record because the
/// queue was full (it then leaves under that record's tag).
pub const OVERFLOW: &str = "gopanic_overflow";

/// Members this filter sets; stripped from a base record before it is
/// rewritten.
const OWN_KEYS: &[&str] = &[REEMITTED, TAG, TIME, CLOSED, OVERFLOW];

/// Bounds on everything the filter holds.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The core's bounds: idle timeouts, report size (split into parts
    /// past it), lines in a report, interleaved lines. `max_open_streams`
    /// bounds the streams holding an open report.
    pub core: Config,
    /// Bytes held in open reports (record and text of every kept line)
    /// across all streams; past it, the stream holding the most is closed.
    pub max_held_bytes: usize,
    /// Records waiting for a heartbeat.
    pub max_queue_records: usize,
    /// Bytes waiting for a heartbeat.
    pub max_queue_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            core: Config {
                max_open_streams: 1024,
                ..Config::default()
            },
            max_held_bytes: 128 << 20,
            max_queue_records: 8192,
            max_queue_bytes: 64 << 20,
        }
    }
}

/// A line as the core holds it: its text and where its record is kept.
struct Held {
    text: String,
    id: u64,
}

impl Line for Held {
    fn text(&self) -> &str {
        &self.text
    }
}

/// A kept line's record, for when it leaves.
struct Kept {
    raw: Box<[u8]>,
    time: i64,
    /// The text came in `message` rather than `log`.
    message: bool,
}

struct Stream {
    r: Reassembler<(), Held>,
    /// Input time of the stream's latest line.
    last_time: i64,
    /// Host time of the first heartbeat after that line.
    first_beat: Option<i64>,
    /// Arrival order of the latest line, for eviction.
    last_arrival: u64,
    /// Bytes held (records and texts of kept lines).
    bytes: usize,
    /// The core's id of the report being split, and the filter's id for it.
    split: Option<(u64, u64)>,
}

struct Queued {
    tag: String,
    json: Vec<u8>,
}

/// Counters since the module started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub records_in: u64,
    pub lines_in: u64,
    pub heartbeats: u64,
    pub passed: u64,
    pub absorbed: u64,
    pub queued: u64,
    pub reports: u64,
    pub overflows: u64,
    pub stream_evictions: u64,
    pub memory_closes: u64,
}

/// The current record while its outputs are sorted.
struct Current<'a> {
    id: u64,
    raw: &'a [u8],
    time: i64,
    message: bool,
    /// It left as an ordinary line: it is the call's return.
    left_alone: bool,
    /// It left inside a report (queued).
    left_in_report: bool,
}

pub struct Filter {
    limits: Limits,
    streams: HashMap<String, Stream>,
    kept: HashMap<u64, Kept>,
    queue: VecDeque<Queued>,
    queue_bytes: usize,
    held_bytes: usize,
    next_id: u64,
    next_split: u64,
    shaper: Shaper,
    key: String,
    stats: Stats,
}

impl Default for Filter {
    fn default() -> Self {
        Filter::new(Limits::default())
    }
}

impl Filter {
    pub fn new(limits: Limits) -> Self {
        Filter {
            limits,
            streams: HashMap::new(),
            kept: HashMap::new(),
            queue: VecDeque::new(),
            queue_bytes: 0,
            held_bytes: 0,
            next_id: 0,
            next_split: 0,
            shaper: Shaper::default(),
            key: String::new(),
            stats: Stats::default(),
        }
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    pub fn open_streams(&self) -> usize {
        self.streams.len()
    }

    pub fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    /// Lines held in open reports (lost if the host stops now).
    pub fn held_lines(&self) -> usize {
        self.kept.len()
    }

    /// A previous call trapped and its state was dropped, with `lost` held
    /// lines: the next heartbeat returns a record that says so.
    pub fn note_reset(&mut self, lost: usize) {
        let mut json =
            b"{\"gopanic_error\":\"state reset after a trap\",\"gopanic_lost_lines\":".to_vec();
        json.extend_from_slice(lost.to_string().as_bytes());
        json.push(b'}');
        self.enqueue(String::new(), json);
    }

    /// One record from the host: `now` is the host's timestamp of the record
    /// in nanoseconds. Writes the record to return into `out` (no NUL) when
    /// the verdict is [`Verdict::Emit`].
    pub fn process(&mut self, tag: &[u8], now: i64, record: &[u8], out: &mut Vec<u8>) -> Verdict {
        self.stats.records_in += 1;
        if self.streams.is_empty() && !self.over_queue_bound() && passes_quickly(record) {
            // No stream holds a report, the line cannot start one and the
            // queue has room: what the full reading below would conclude.
            self.stats.lines_in += 1;
            self.stats.passed += 1;
            return Verdict::Unchanged;
        }
        let Some(rec) = Record::parse(record) else {
            self.stats.passed += 1;
            return Verdict::Unchanged;
        };
        if rec.is_true(REEMITTED) {
            self.stats.passed += 1;
            return Verdict::Unchanged;
        }
        if rec.is_true(TICK) {
            return self.heartbeat(now, out);
        }
        let (message, text) = match rec.get_str("log") {
            Some(t) => (false, t),
            None => match rec.get_str("message") {
                Some(t) => (true, t),
                None => {
                    self.stats.passed += 1;
                    return Verdict::Unchanged;
                }
            },
        };
        // Docker's `log` ends with the line's newline; the core reads lines.
        let text = match text.strip_suffix('\n') {
            Some(t) => t.strip_suffix('\r').unwrap_or(t).to_owned(),
            None => text,
        };
        self.stats.lines_in += 1;
        let time = rec
            .get_str("time")
            .and_then(|t| parse_rfc3339_nanos(&t))
            .unwrap_or(now);
        let tag = String::from_utf8_lossy(tag);
        self.key.clear();
        self.key.push_str(&tag);
        self.key.push('\0');
        self.key
            .push_str(&rec.get_str("stream").unwrap_or_default());

        self.next_id += 1;
        let id = self.next_id;
        let text_len = text.len();
        let mut outputs = Vec::new();
        let (mut stream, existed) = match self.streams.remove(self.key.as_str()) {
            Some(s) => (s, true),
            None => (
                Stream {
                    r: Reassembler::new(self.limits.core.clone()),
                    last_time: time,
                    first_beat: None,
                    last_arrival: id,
                    bytes: 0,
                    split: None,
                },
                false,
            ),
        };
        stream.r.push(&(), Held { text, id }, time, &mut outputs);
        stream.last_time = time;
        stream.first_beat = None;
        stream.last_arrival = id;
        let mut cur = Current {
            id,
            raw: record,
            time,
            message,
            left_alone: false,
            left_in_report: false,
        };
        self.sort(&tag, &mut stream, outputs, Some(&mut cur), None);
        let own = cur.left_alone;
        if !own && !cur.left_in_report {
            // Kept by the core: remember its record for when it leaves.
            let bytes = record.len() + text_len;
            stream.bytes += bytes;
            self.held_bytes += bytes;
            self.kept.insert(
                id,
                Kept {
                    raw: record.into(),
                    time,
                    message,
                },
            );
        }
        if own {
            self.stats.passed += 1;
        } else {
            self.stats.absorbed += 1;
        }
        if stream.r.open_reports() > 0 {
            if !existed && self.streams.len() >= self.limits.core.max_open_streams {
                self.evict_oldest();
            }
            self.streams.insert(self.key.clone(), stream);
        }
        self.bound_memory();

        if self.over_queue_bound() {
            // The queue is full. A queued record of the same tag leaves now
            // in place of this one (which is queued instead when it was to
            // leave at once); failing that, when this record is absorbed, the
            // oldest queued record leaves in its place, under this record's
            // tag. Either way the record says so (`gopanic_overflow`).
            let same = self.queue.iter().position(|q| *q.tag == *tag);
            let at = match same {
                Some(at) => Some(at),
                None if !own => Some(0),
                None => None,
            };
            if let Some(q) = at.and_then(|at| self.take_at(at)) {
                if own {
                    let json = reemit_line(&rec, &tag, time);
                    self.enqueue(tag.into_owned(), json);
                }
                self.stats.overflows += 1;
                out.clear();
                out.extend_from_slice(&q.json);
                mark(out, OVERFLOW);
                return Verdict::Emit;
            }
        }
        if own {
            Verdict::Unchanged
        } else {
            Verdict::Drop
        }
    }

    /// A heartbeat at host time `now`: closes idle reports, then lets the
    /// oldest queued record out.
    fn heartbeat(&mut self, now: i64, out: &mut Vec<u8>) -> Verdict {
        self.stats.heartbeats += 1;
        let keys: Vec<String> = self.streams.keys().cloned().collect();
        for key in keys {
            let Some(mut s) = self.streams.remove(&key) else {
                continue;
            };
            // Idle time in the stream's own clock: its last line's time plus
            // the heartbeat time elapsed since the first heartbeat after it.
            let first = *s.first_beat.get_or_insert(now);
            let stream_now = s.last_time.saturating_add(now.saturating_sub(first).max(0));
            let mut outputs = Vec::new();
            s.r.tick(stream_now, &mut outputs);
            let tag = tag_of(&key).to_owned();
            self.sort(&tag, &mut s, outputs, None, None);
            if s.r.open_reports() > 0 {
                self.streams.insert(key, s);
            }
        }
        match self.take_at(0) {
            Some(q) => {
                out.clear();
                out.extend_from_slice(&q.json);
                Verdict::Emit
            }
            None => Verdict::Drop,
        }
    }

    /// Sends the core's outputs of one stream on: the current record is only
    /// noted (it leaves as the call's return), everything else is queued.
    fn sort(
        &mut self,
        tag: &str,
        stream: &mut Stream,
        outputs: Vec<Output<(), Held>>,
        mut cur: Option<&mut Current<'_>>,
        closed: Option<&str>,
    ) {
        for o in outputs {
            match o {
                Output::Line((), h) => {
                    if let Some(c) = cur.as_deref_mut()
                        && c.id == h.id
                    {
                        c.left_alone = true;
                        continue;
                    }
                    let Some(k) = self.release(stream, &h) else {
                        continue;
                    };
                    let json = match Record::parse(&k.raw) {
                        Some(rec) => reemit_line(&rec, tag, k.time),
                        None => k.raw.into_vec(),
                    };
                    self.enqueue(tag.to_owned(), json);
                }
                Output::Report((), rep) => {
                    let mut first: Option<(Box<[u8]>, i64, bool)> = None;
                    for h in &rep.lines {
                        let base = match cur.as_deref_mut() {
                            Some(c) if c.id == h.id => {
                                c.left_in_report = true;
                                Some((Box::from(c.raw), c.time, c.message))
                            }
                            _ => self.release(stream, h).map(|k| (k.raw, k.time, k.message)),
                        };
                        if first.is_none() {
                            first = base;
                        }
                    }
                    let split = rep.split.map(|s| Split {
                        id: self.split_id(stream, s),
                        part: s.part,
                    });
                    let (raw, time, message) = first.unwrap_or((Box::from(&b"{}"[..]), 0, false));
                    let json = self.report_json(&raw, tag, time, message, &rep, split, closed);
                    self.stats.reports += 1;
                    self.enqueue(tag.to_owned(), json);
                }
            }
        }
    }

    /// Forgets a kept line that leaves; returns its record.
    fn release(&mut self, stream: &mut Stream, h: &Held) -> Option<Kept> {
        let k = self.kept.remove(&h.id)?;
        let bytes = k.raw.len() + h.text.len();
        stream.bytes = stream.bytes.saturating_sub(bytes);
        self.held_bytes = self.held_bytes.saturating_sub(bytes);
        Some(k)
    }

    /// A split report's parts share an id unique across streams: the core
    /// numbers reports per reassembler, and each stream has its own.
    fn split_id(&mut self, stream: &mut Stream, s: Split) -> u64 {
        match stream.split {
            Some((core, ours)) if core == s.id && s.part > 1 => ours,
            _ => {
                self.next_split += 1;
                let ours = stream
                    .last_time
                    .unsigned_abs()
                    .wrapping_mul(31)
                    .wrapping_add(self.next_split);
                stream.split = Some((s.id, ours));
                ours
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn report_json(
        &mut self,
        base_raw: &[u8],
        tag: &str,
        time: i64,
        message: bool,
        rep: &gopanic::reassembler::Report<Held>,
        split: Option<Split>,
        closed: Option<&str>,
    ) -> Vec<u8> {
        let mut shaped =
            self.shaper
                .report_record(serde_json::Map::new(), rep.event, &rep.lines, split);
        if message && let Some(t) = shaped.remove("log") {
            shaped.insert("message".into(), t);
        }
        let mut skip: Vec<&str> = vec!["log", "message"];
        skip.extend(shaped.keys().map(String::as_str));
        skip.extend_from_slice(OWN_KEYS);
        let mut out = Vec::new();
        match Record::parse(base_raw) {
            Some(base) => base.write_open(&mut out, &skip),
            None => out.push(b'{'),
        }
        for (k, v) in &shaped {
            write_key(&mut out, k);
            if serde_json::to_writer(&mut out, v).is_err() {
                out.extend_from_slice(b"null");
            }
        }
        write_own(&mut out, tag, time);
        if let Some(reason) = closed {
            write_key(&mut out, CLOSED);
            write_string(&mut out, reason);
        }
        out.push(b'}');
        out
    }

    fn enqueue(&mut self, tag: String, json: Vec<u8>) {
        self.stats.queued += 1;
        self.queue_bytes += json.len();
        self.queue.push_back(Queued { tag, json });
    }

    fn take_at(&mut self, at: usize) -> Option<Queued> {
        let q = self.queue.remove(at)?;
        self.queue_bytes = self.queue_bytes.saturating_sub(q.json.len());
        Some(q)
    }

    fn over_queue_bound(&self) -> bool {
        self.queue.len() > self.limits.max_queue_records
            || self.queue_bytes > self.limits.max_queue_bytes
    }

    /// Past `max_open_streams`: the stream whose latest line is oldest has
    /// its report closed as it is.
    fn evict_oldest(&mut self) {
        let oldest = self
            .streams
            .iter()
            .min_by_key(|(_, s)| s.last_arrival)
            .map(|(k, _)| k.clone());
        if let Some(k) = oldest {
            self.stats.stream_evictions += 1;
            self.close(&k, "stream_limit");
        }
    }

    /// Past `max_held_bytes`: the streams holding the most are closed.
    fn bound_memory(&mut self) {
        while self.held_bytes > self.limits.max_held_bytes {
            let largest = self
                .streams
                .iter()
                .max_by_key(|(_, s)| s.bytes)
                .map(|(k, _)| k.clone());
            let Some(k) = largest else {
                return;
            };
            self.stats.memory_closes += 1;
            self.close(&k, "memory_limit");
        }
    }

    fn close(&mut self, key: &str, reason: &str) {
        let Some(mut s) = self.streams.remove(key) else {
            return;
        };
        let mut outputs = Vec::new();
        s.r.finish(&mut outputs);
        let tag = tag_of(key).to_owned();
        self.sort(&tag, &mut s, outputs, None, Some(reason));
    }
}

fn tag_of(key: &str) -> &str {
    key.split('\0').next().unwrap_or_default()
}

/// An ordinary line's record as it leaves through a heartbeat.
fn reemit_line(rec: &Record<'_>, tag: &str, time: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(rec.text.len() + 128);
    rec.write_open(&mut out, OWN_KEYS);
    write_own(&mut out, tag, time);
    out.push(b'}');
    out
}

fn write_own(out: &mut Vec<u8>, tag: &str, time: i64) {
    write_key(out, TAG);
    write_string(out, tag);
    write_key(out, TIME);
    write_string(out, &rfc3339_nanos(time));
    write_key(out, REEMITTED);
    out.extend_from_slice(b"true");
}

/// Whether the record is certainly an ordinary line, found by reading as
/// little of it as possible: no marker, and its `log` text cannot start a
/// report. `false` means "read it in full". Valid only while no stream
/// holds an open report.
fn passes_quickly(record: &[u8]) -> bool {
    let Some((value, maybe)) = locate_log(record, true, false) else {
        return false;
    };
    if !maybe {
        return true;
    }
    // Its first byte could start a report: decode and ask the grammar, as
    // the core would on this line (`log` with docker's newline removed).
    record.get(value).and_then(decode_string).is_some_and(|text| {
        let line = match text.strip_suffix('\n') {
            Some(t) => t.strip_suffix('\r').unwrap_or(t),
            None => &text,
        };
        !may_start_report(line)
    })
}

/// Adds `"key":true` to a finished object.
fn mark(out: &mut Vec<u8>, key: &str) {
    if out.last() == Some(&b'}') {
        out.pop();
        write_key(out, key);
        out.extend_from_slice(b"true}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const S: i64 = 1_000_000_000;
    const T0: i64 = 1_800_000_000 * S;

    fn rec(t: i64, stream: &str, log: &str) -> Vec<u8> {
        json!({"time": rfc3339_nanos(t), "stream": stream, "_p": "F", "log": log, "kubernetes": {"pod_name": "p"}})
            .to_string()
            .into_bytes()
    }

    struct Run {
        f: Filter,
        out: Vec<u8>,
    }

    impl Run {
        fn new(limits: Limits) -> Self {
            Run {
                f: Filter::new(limits),
                out: Vec::new(),
            }
        }

        fn push(&mut self, tag: &str, t: i64, stream: &str, log: &str) -> (Verdict, Option<Value>) {
            let v = self
                .f
                .process(tag.as_bytes(), t, &rec(t, stream, log), &mut self.out);
            (
                v,
                (v == Verdict::Emit).then(|| serde_json::from_slice(&self.out).unwrap()),
            )
        }

        fn tick(&mut self, t: i64) -> Option<Value> {
            match self.f.process(
                b"gopanic.tick",
                t,
                br#"{"gopanic_tick":true}"#,
                &mut self.out,
            ) {
                Verdict::Emit => Some(serde_json::from_slice(&self.out).unwrap()),
                Verdict::Drop => None,
                Verdict::Unchanged => panic!("a tick passed"),
            }
        }
    }

    const PANIC: &[&str] = &[
        "panic: boom",
        "",
        "goroutine 1 [running]:",
        "main.main()",
        "\t/app/main.go:5 +0x25",
    ];

    #[test]
    fn ordinary_lines_pass_reports_leave_by_heartbeat_and_pass_on_reentry() {
        let mut r = Run::new(Limits::default());
        assert_eq!(r.push("app", T0, "stdout", "hello").0, Verdict::Unchanged);
        for (i, l) in PANIC.iter().enumerate() {
            assert_eq!(r.push("app", T0 + i as i64, "stderr", l).0, Verdict::Drop);
        }
        assert_eq!(r.f.held_lines(), 5);
        // Idle rule: 1 s of heartbeat time after the first heartbeat that
        // follows the last line.
        assert_eq!(r.tick(T0 + S / 2), None);
        assert_eq!(r.tick(T0 + S), None);
        let rep = r.tick(T0 + 3 * S / 2).unwrap();
        assert_eq!(rep["gopanic_tag"], "app");
        assert_eq!(rep["gopanic_time"], rfc3339_nanos(T0));
        assert_eq!(rep["gopanic_reemitted"], true);
        assert_eq!(rep["go"]["class"], "custom_panic");
        assert_eq!(rep["go"]["lines"], 5);
        assert_eq!(rep["kubernetes"]["pod_name"], "p");
        assert_eq!(rep["log"], PANIC.join("\n"));
        assert_eq!(r.f.held_lines(), 0);
        assert_eq!(r.tick(T0 + 2 * S), None);
        // Back through the filter under its tag: unchanged, no state.
        let back = rep.to_string().into_bytes();
        assert_eq!(
            r.f.process(b"app", T0, &back, &mut r.out),
            Verdict::Unchanged
        );
        assert_eq!(r.f.queue_len(), 0);
    }

    #[test]
    fn a_line_that_ends_a_report_passes_and_the_report_is_queued() {
        let mut r = Run::new(Limits::default());
        for l in PANIC {
            r.push("app", T0, "stderr", l);
        }
        // After a frame the core holds a line (the report may go on);
        // another report's start ends it.
        assert_eq!(r.push("app", T0 + 1, "stderr", "next").0, Verdict::Drop);
        assert_eq!(
            r.push("app", T0 + 1, "stderr", "panic: again").0,
            Verdict::Drop
        );
        assert_eq!(r.f.queue_len(), 2);
        assert!(r.tick(T0 + 2).unwrap()["go"].is_object());
        assert_eq!(r.tick(T0 + 2).unwrap()["log"], "next");
        // Non-records and records without a text pass unchanged.
        for bad in [&b"not json"[..], b"[1]", br#"{"a":1}"#, br#"{"log":5}"#] {
            assert_eq!(r.f.process(b"app", T0, bad, &mut r.out), Verdict::Unchanged);
        }
    }

    #[test]
    fn stream_bound_closes_the_oldest_and_says_so() {
        let mut limits = Limits::default();
        limits.core.max_open_streams = 2;
        let mut r = Run::new(limits);
        r.push("a", T0, "stderr", "panic: a");
        r.push("b", T0 + 1, "stderr", "panic: b");
        r.push("c", T0 + 2, "stderr", "panic: c");
        assert_eq!(r.f.open_streams(), 2);
        let rep = r.tick(T0 + 3).unwrap();
        assert_eq!(rep["gopanic_tag"], "a");
        assert_eq!(rep["gopanic_closed"], "stream_limit");
        assert_eq!(r.f.stats().stream_evictions, 1);
    }

    #[test]
    fn memory_bound_closes_the_largest_and_says_so() {
        let limits = Limits {
            max_held_bytes: 600,
            ..Limits::default()
        };
        let mut r = Run::new(limits);
        r.push("small", T0, "stderr", "panic: s");
        for l in PANIC {
            r.push("big", T0, "stderr", l);
        }
        let rep = r.tick(T0 + 1).unwrap();
        assert_eq!(rep["gopanic_tag"], "big");
        assert_eq!(rep["gopanic_closed"], "memory_limit");
        assert!(r.f.held_bytes() <= 600);
        assert_eq!(r.f.open_streams(), 1);
    }

    #[test]
    fn full_queue_swaps_and_says_so() {
        let limits = Limits {
            max_queue_records: 0,
            ..Limits::default()
        };
        let mut r = Run::new(limits);
        // An absorbed line while the queue is over its bound: a queued
        // record of the same tag leaves in its place.
        r.push("a", T0, "s1", "panic: 0");
        let (v, got) = r.push("a", T0, "s1", "panic: 1");
        assert_eq!(v, Verdict::Emit);
        let got = got.unwrap();
        assert_eq!(got["gopanic_overflow"], true);
        assert_eq!(got["go"]["message"], "0");
        assert_eq!(r.f.queue_len(), 0);
        // Two reports closed by idle time, one leaves by heartbeat.
        r.push("a", T0, "s2", "panic: 2");
        assert_eq!(r.tick(T0 + S), None);
        assert!(r.tick(T0 + 2 * S).is_some());
        assert_eq!(r.f.queue_len(), 1);
        // An ordinary line of tag a: the queued record of a leaves in its
        // place, the line is queued instead.
        let (v, got) = r.push("a", T0 + 3 * S, "s3", "line of a");
        assert_eq!(v, Verdict::Emit);
        let got = got.unwrap();
        assert_eq!(got["gopanic_overflow"], true);
        assert_eq!(got["gopanic_tag"], "a");
        assert!(got["go"].is_object());
        assert_eq!(r.f.queue_len(), 1);
        // An ordinary line of tag b, nothing of b queued: it passes.
        assert_eq!(
            r.push("b", T0 + 3 * S, "s", "line of b").0,
            Verdict::Unchanged
        );
        // An absorbed line of b: the oldest queued record leaves in its
        // place, under b's tag (its own is in gopanic_tag).
        let (v, got) = r.push("b", T0 + 3 * S, "s", "panic: y");
        assert_eq!(v, Verdict::Emit);
        let got = got.unwrap();
        assert_eq!(got["gopanic_tag"], "a");
        assert_eq!(got["log"], "line of a");
        assert_eq!(got["gopanic_overflow"], true);
        assert_eq!(r.f.queue_len(), 0);
    }

    #[test]
    fn split_reports_have_ids_unique_across_streams() {
        let mut limits = Limits::default();
        limits.core.max_report_lines = 2;
        let mut r = Run::new(limits);
        for l in PANIC {
            r.push("a", T0, "stderr", l);
            r.push("b", T0, "stderr", l);
        }
        let mut ids: Vec<(String, String)> = Vec::new();
        for i in 1..20 {
            if let Some(rep) = r.tick(T0 + i * S) {
                assert_eq!(rep["go"]["truncated"], true);
                ids.push((
                    rep["gopanic_tag"].as_str().unwrap().into(),
                    rep["go"]["report_id"].as_str().unwrap().into(),
                ));
            }
        }
        assert_eq!(ids.len(), 6);
        let of = |t: &str| -> Vec<&String> {
            ids.iter().filter(|(g, _)| g == t).map(|(_, i)| i).collect()
        };
        let (a, b) = (of("a"), of("b"));
        assert!(a.iter().all(|i| *i == a[0]) && b.iter().all(|i| *i == b[0]));
        assert_ne!(a[0], b[0]);
    }

    #[test]
    fn time_falls_back_to_the_host_and_docker_newlines_are_lines() {
        let mut r = Run::new(Limits::default());
        let mut out = Vec::new();
        for l in PANIC {
            let rec = json!({"log": format!("{l}\n"), "stream": "stderr"}).to_string();
            assert_eq!(
                r.f.process(b"d", T0, rec.as_bytes(), &mut out),
                Verdict::Drop
            );
        }
        assert_eq!(r.tick(T0 + 5 * S), None);
        let rep = r.tick(T0 + 6 * S).unwrap();
        assert_eq!(rep["gopanic_time"], rfc3339_nanos(T0));
        assert_eq!(rep["log"], PANIC.join("\n"));
    }

    #[test]
    fn reset_after_a_trap_is_reported() {
        let mut r = Run::new(Limits::default());
        r.f.note_reset(7);
        let e = r.tick(T0).unwrap();
        assert_eq!(e["gopanic_lost_lines"], 7);
        assert!(e.get("gopanic_tag").is_none());
    }
}
