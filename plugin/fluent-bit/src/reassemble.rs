//! `gopanic_reassemble`: the filter joins one-line records itself.
//!
//! The host gives one record in and takes at most one out, has no timer and
//! no shutdown hook. So:
//! - an ordinary line leaves at once, unchanged;
//! - a chunk of a line the host left partial (CRI `_p: "P"`, a docker `log`
//!   without its trailing `\n`) is absorbed until the rest of the line
//!   arrives, and the merged line is read as one;
//! - a line the core keeps (inside a report, or held while the grammar
//!   decides) is absorbed: the filter returns "" and Fluent Bit drops it;
//! - everything the core lets out that is not the current record (finished
//!   reports, held lines released, foreign lines) goes into a queue;
//! - a heartbeat record (`gopanic_tick: true`, from a `dummy` input matched
//!   by the same filter) carries the settings, closes idle reports and
//!   takes the oldest queued record out in its place. That record names its
//!   original tag in `gopanic_tag` (for `rewrite_tag`), its first line's
//!   time in `gopanic_time` (for a `parser` filter) and carries
//!   `gopanic_reemitted: true`, so that when it comes back through this
//!   filter under its original tag it passes unchanged.
//!
//! Streams are keyed by tag and the record's `stream` field, all in one core
//! [`Reassembler`]; the filter adds what the host needs around it: partial
//! chunks, each stream's clock (from heartbeats), the memory bound and the
//! queue.

use std::collections::VecDeque;
use std::hash::Hasher;
use std::ops::Range;

use gopanic::reassembler::{Line, Output, Reassembler, Report, Split};
use gopanic::record::{Profile, Shaper};
use gopanic::time::{parse_rfc3339_nanos, rfc3339_nanos};

use crate::Verdict;
use crate::hash::{FxHasher, FxMap};
use crate::json::{Record, decode_string, write_key, write_string};
use crate::quick::{ascii_str, cri_record, glance, plain_cri};
use crate::settings::Settings;

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

/// A stream's name: the tag, a NUL, the record's `stream` value.
type Key = Box<[u8]>;

/// A stream as the core knows it: a number the filter hands out per name
/// while the stream holds something. The core hashes its key on every line
/// with std's SipHash, which on a 60-byte name costs more, interpreted, than
/// the rest of a line's fast path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Sid(u64);

/// A line as the core holds it: its text and where its record is kept.
struct Held {
    text: String,
    id: u64,
    /// The length of its record, kept beside it while the core holds it.
    raw_len: usize,
}

impl Line for Held {
    fn text(&self) -> &str {
        &self.text
    }

    /// The text and the record kept for it: what `max_held_bytes` bounds.
    fn mem_bytes(&self) -> usize {
        self.text.len() + self.raw_len
    }
}

/// A kept line's record, for when it leaves.
struct Kept {
    raw: Box<[u8]>,
    time: i64,
    /// The text came in `message` rather than `log`.
    message: bool,
}

/// How a record marks a line the host may have left partial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// A CRI record: `_p` (Fluent Bit's `cri` multiline parser) or `logtag`
    /// (its classic `cri` parser); `P` on a text of whole chunks marks a
    /// piece left unjoined.
    Cri(&'static str),
    /// A docker json-file record (`stream` and `time`, no CRI tag): a
    /// `log` of a whole chunk (16 KiB) without its trailing `\n` is a
    /// partial chunk.
    Docker,
    /// Anything else: every record is a whole line.
    Plain,
}

/// A line still arriving in chunks: the first chunk's record and time, the
/// text so far.
struct Partial {
    raw: Box<[u8]>,
    time: i64,
    message: bool,
    shape: Shape,
    text: String,
}

/// The filter's own state of a stream that holds something: an open report
/// in the core, or a partial line.
struct Stream {
    name: Key,
    /// Input time of the stream's latest line.
    last_time: i64,
    /// Host time of the first heartbeat after that line.
    first_beat: Option<i64>,
    /// Bytes held (records and texts of kept lines, the partial line).
    bytes: usize,
    partial: Option<Partial>,
}

struct Queued {
    tag: String,
    json: Vec<u8>,
}

/// Counters since the module started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Records given to the filter, heartbeats included.
    pub records_in: u64,
    /// Lines read (a merged line counts once).
    pub lines_in: u64,
    /// Heartbeat records.
    pub heartbeats: u64,
    /// Records returned unchanged.
    pub passed: u64,
    /// Records decided by the fast path (a subset of `passed`).
    pub passed_quickly: u64,
    /// Records the filter kept (in a report, held, or a partial chunk).
    pub absorbed: u64,
    /// Records put in the queue.
    pub queued: u64,
    /// Report records written (parts count each).
    pub reports: u64,
    /// Records returned early because the queue was full (`gopanic_overflow`).
    pub overflows: u64,
    /// Reports closed because too many streams held one (`stream_limit`).
    pub stream_evictions: u64,
    /// Streams closed by the memory bound (`memory_limit`).
    pub memory_closes: u64,
    /// Partial chunks merged into the line they belong to.
    pub chunks_merged: u64,
    /// Lines longer than the line cap, left in pieces.
    pub lines_cut: u64,
    /// Heartbeats whose settings differed from the previous ones.
    pub settings_applied: u64,
    /// Queued records that left in the slot of an absorbed line of their
    /// tag rather than on a heartbeat.
    pub left_in_slot: u64,
}

/// The filter; see the module docs.
pub struct Filter {
    /// The settings the filter was made with; a heartbeat overrides them
    /// member by member.
    initial: Settings,
    settings: Settings,
    core: Reassembler<Sid, Held>,
    streams: FxMap<Sid, Stream>,
    /// The streams that hold something, by name.
    ids: FxMap<Key, Sid>,
    /// How many of those streams fall in each slot of [`slot`]: a zero
    /// tells the fast path that a stream holds nothing without building
    /// its name or looking it up.
    slots: Box<[u32; SLOTS]>,
    next_sid: u64,
    /// Streams held per tag, for the fast path when a record names its
    /// stream only after `log` (docker).
    tags: FxMap<Box<[u8]>, usize>,
    kept: FxMap<u64, Kept>,
    queue: VecDeque<Queued>,
    queue_bytes: usize,
    held_bytes: usize,
    next_id: u64,
    /// Mixed into report ids so that they differ across restarts and nodes.
    salt: u64,
    shaper: Shaper,
    /// The last heartbeat record, to apply settings only when they change.
    heartbeat: Vec<u8>,
    /// Reused to build stream keys.
    scratch: Vec<u8>,
    stats: Stats,
}

impl Default for Filter {
    fn default() -> Self {
        Filter::new(Settings::default())
    }
}

impl Filter {
    /// A filter with these settings (heartbeats may change them).
    pub fn new(settings: Settings) -> Self {
        Filter {
            core: Reassembler::new(settings.core()),
            shaper: Shaper::new(settings.profile, settings.record_limits(0)),
            initial: settings.clone(),
            settings,
            streams: FxMap::default(),
            ids: FxMap::default(),
            slots: Box::new([0; SLOTS]),
            next_sid: 0,
            tags: FxMap::default(),
            kept: FxMap::default(),
            queue: VecDeque::new(),
            queue_bytes: 0,
            held_bytes: 0,
            next_id: 0,
            salt: 0,
            heartbeat: Vec::new(),
            scratch: Vec::new(),
            stats: Stats::default(),
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Records waiting for a heartbeat.
    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    /// Streams holding an open report or a partial line.
    pub fn open_streams(&self) -> usize {
        self.streams.len()
    }

    /// Bytes held (records and texts of open reports and partial lines), as bounded by `max_held_bytes`.
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
        if let Some(key_at) = self.passes_quickly(tag, record) {
            self.stats.lines_in += 1;
            self.stats.passed += 1;
            self.stats.passed_quickly += 1;
            if self.settings.profile == Profile::Ecs {
                rename_log(record, key_at, out);
                return Verdict::Emit;
            }
            return Verdict::Unchanged;
        }
        if is_reemitted(record) {
            self.stats.passed += 1;
            return Verdict::Unchanged;
        }
        self.process_in_full(tag, now, record, out)
    }

    /// Whether the record is certainly an ordinary whole line of a stream
    /// that holds nothing, read as little as possible: what the full reading
    /// would conclude. Returns where its `log` key starts.
    fn passes_quickly(&mut self, tag: &[u8], record: &[u8]) -> Option<usize> {
        if record.len() > self.settings.line_cap() || self.over_queue_bound() {
            return None;
        }
        let g = glance(record, self.settings.chunk_bytes)?;
        if g.may_open || !g.whole {
            return None;
        }
        if self.streams.is_empty() {
            return Some(g.key_at);
        }
        let idle = match g.stream {
            Some(r) => {
                let name = record.get(r.start + 1..r.end.checked_sub(1)?)?;
                // The two names a runtime writes need no scan for escapes.
                if !matches!(name, b"stdout" | b"stderr") && name.contains(&b'\\') {
                    return None;
                }
                if self.slots.get(slot(tag, name)) == Some(&0) {
                    return Some(g.key_at);
                }
                !self.ids.contains_key(name_in(&mut self.scratch, tag, name))
            }
            None => !self.tags.contains_key(tag),
        };
        idle.then_some(g.key_at)
    }

    fn process_in_full(
        &mut self,
        tag: &[u8],
        now: i64,
        record: &[u8],
        out: &mut Vec<u8>,
    ) -> Verdict {
        let direct =
            read_plain(record).or_else(|| cri_record(record).map(|m| read_cri(record, &m)));
        let read = match direct {
            Some(read) => read,
            None => {
                let Some(rec) = Record::parse(record) else {
                    self.stats.passed += 1;
                    return Verdict::Unchanged;
                };
                if rec.is_true(REEMITTED) {
                    self.stats.passed += 1;
                    return Verdict::Unchanged;
                }
                match read_full(&rec) {
                    Some(read) => read,
                    None if rec.is_true(TICK) => return self.heartbeat(now, record, &rec, out),
                    None => {
                        self.stats.passed += 1;
                        return Verdict::Unchanged;
                    }
                }
            }
        };
        let Read {
            message,
            text,
            time,
            stream,
            shape,
            marked_partial,
        } = read;
        self.stats.lines_in += 1;
        if self.salt == 0 {
            self.salt = now.unsigned_abs().wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        }
        let time = time.unwrap_or(now);
        // Borrowed: Fluent Bit's tags are ASCII; only another tag is copied.
        let tag = match ascii_str(tag) {
            Some(t) => std::borrow::Cow::Borrowed(t),
            None => String::from_utf8_lossy(tag),
        };
        let key = self.stream_id(&tag, &stream);
        // Fluent Bit's `cri` multiline parser keeps the first chunk's `P`
        // on the lines it joins: only a text of whole chunks is a piece.
        let partial = match shape {
            Shape::Cri(_) => marked_partial && self.settings.is_chunk(text.len()),
            Shape::Docker => !text.ends_with('\n') && self.settings.is_chunk(text.len()),
            Shape::Plain => false,
        };
        let pending = self.streams.get(&key).is_some_and(|s| s.partial.is_some());
        let (raw, text, time, merged) = if partial || pending {
            let chunk = Partial {
                raw: record.into(),
                time,
                message,
                shape,
                text,
            };
            match self.merge(key, chunk, partial) {
                Some(line) => (line.raw, line.text, line.time, true),
                None => {
                    self.stats.absorbed += 1;
                    return self.end_call(&tag, key, None, out);
                }
            }
        } else {
            (Box::from(record), text, time, false)
        };
        let text = strip_newline(text);
        self.touch(key, time);
        let cap = self.settings.line_cap();
        // Under a record bound the cap counts the text as JSON writes it;
        // no byte escapes to more than six.
        let json = self.settings.record_bound().is_some();
        let over = if json && text.len().saturating_mul(6) > cap {
            gopanic::record::json_cut(&text, cap, true).0.len() < text.len()
        } else {
            text.len() > cap
        };
        if over {
            // Too long for one record: the line leaves in pieces, through
            // the queue, each a record of its own.
            self.stats.lines_cut += 1;
            self.stats.absorbed += 1;
            for piece in pieces(&text, cap, json) {
                let piece_raw = with_text(&raw, piece, shape);
                self.push_line(
                    key,
                    piece_raw.into(),
                    piece.to_owned(),
                    time,
                    message,
                    false,
                );
            }
            return self.end_call(&tag, key, None, out);
        }
        match self.push_line(key, raw, text, time, message, true) {
            Some(own) => {
                self.stats.passed += 1;
                let own = Own {
                    raw: own.raw,
                    time: own.time,
                    rewrite: merged || self.settings.profile == Profile::Ecs,
                };
                self.end_call(&tag, key, Some(own), out)
            }
            None => {
                self.stats.absorbed += 1;
                self.end_call(&tag, key, None, out)
            }
        }
    }

    /// Adds a chunk to its stream's partial line. Returns the whole line
    /// once the chunk completes it (`partial` false), `None` while it is
    /// still arriving. Past the line cap, what is gathered leaves as a line
    /// of its own (the core's decoder does the same with raw chunks).
    fn merge(&mut self, key: Sid, chunk: Partial, partial: bool) -> Option<Partial> {
        self.stats.chunks_merged += 1;
        let cap = self.settings.line_cap();
        let pending = self.streams.get_mut(&key).and_then(|s| s.partial.take());
        if let Some(p) = &pending {
            self.unhold(key, p.raw.len() + p.text.len());
        }
        let whole = match pending {
            Some(p) if p.text.len() + chunk.text.len() > cap => {
                self.flush_partial(key, p);
                chunk
            }
            Some(mut p) => {
                p.text.push_str(&chunk.text);
                p
            }
            None => chunk,
        };
        if !partial {
            let raw = with_text(&whole.raw, &whole.text, whole.shape);
            return Some(Partial {
                raw: raw.into(),
                ..whole
            });
        }
        self.touch(key, whole.time);
        self.hold(key, whole.raw.len() + whole.text.len());
        if let Some(s) = self.streams.get_mut(&key) {
            s.partial = Some(whole);
        }
        None
    }

    /// A partial line whose rest will not come (a bound, an idle stream)
    /// is read as it is.
    fn flush_partial(&mut self, key: Sid, p: Partial) {
        let text = strip_newline(p.text);
        let raw = with_text(&p.raw, &text, p.shape);
        self.push_line(key, raw.into(), text, p.time, p.message, false);
    }

    /// Keeps a line's record and feeds the line to the core; sorts what
    /// leaves. With `current`, a line that leaves at once on its own is
    /// not queued but returned (it is the call's return).
    fn push_line(
        &mut self,
        key: Sid,
        raw: Box<[u8]>,
        text: String,
        time: i64,
        message: bool,
        current: bool,
    ) -> Option<Kept> {
        self.next_id += 1;
        let id = self.next_id;
        let raw_len = raw.len();
        self.hold(key, raw_len + text.len());
        self.kept.insert(id, Kept { raw, time, message });
        let mut outputs = Vec::new();
        let line = Held { text, id, raw_len };
        self.core.push(&key, line, time, &mut outputs);
        self.sort(outputs, Some(key), current.then_some(id), None)
    }

    /// After a line: tidies the stream, applies the memory and queue
    /// bounds, and says what to return.
    fn end_call(&mut self, tag: &str, key: Sid, own: Option<Own>, out: &mut Vec<u8>) -> Verdict {
        self.tidy(key);
        self.bound_memory();
        if self.over_queue_bound() {
            // The queue is full. A queued record of the same tag leaves now
            // in place of this one (which is queued instead when it was to
            // leave at once); failing that, when this record is absorbed, the
            // oldest queued record leaves in its place, under this record's
            // tag. Either way the record says so (`gopanic_overflow`).
            let same = self.queue.iter().position(|q| q.tag == tag);
            let at = match same {
                Some(at) => Some(at),
                None if own.is_none() => Some(0),
                None => None,
            };
            if let Some(q) = at.and_then(|at| self.take_at(at)) {
                if let Some(own) = &own {
                    let json = self.line_json(&own.raw, Some((tag, own.time)));
                    self.enqueue(tag.to_owned(), json);
                }
                self.stats.overflows += 1;
                out.clear();
                out.extend_from_slice(&q.json);
                mark(out, OVERFLOW);
                return Verdict::Emit;
            }
        }
        match own {
            // The line was absorbed: its slot carries out the oldest queued
            // record when that is of the same tag (its tag, metadata and
            // restored time are then right without rewrite_tag), so that
            // records queued while a container writes a report do not all
            // wait for heartbeats.
            None => match self.queue.front() {
                Some(q) if q.tag == tag => {
                    let q = self.take_at(0);
                    out.clear();
                    out.extend_from_slice(q.as_ref().map_or(&[][..], |q| &q.json));
                    self.stats.left_in_slot += 1;
                    Verdict::Emit
                }
                _ => Verdict::Drop,
            },
            Some(own) if own.rewrite => {
                *out = self.line_json(&own.raw, None);
                Verdict::Emit
            }
            Some(_) => Verdict::Unchanged,
        }
    }

    /// A heartbeat at host time `now`: applies its settings, closes idle
    /// reports and partial lines, then lets the oldest queued record out.
    fn heartbeat(&mut self, now: i64, raw: &[u8], rec: &Record<'_>, out: &mut Vec<u8>) -> Verdict {
        self.stats.heartbeats += 1;
        if raw != self.heartbeat.as_slice() {
            self.heartbeat = raw.to_vec();
            let (settings, problems) = Settings::from_heartbeat(rec, &self.initial);
            self.apply(settings);
            for p in problems {
                let mut json = b"{\"gopanic_error\":".to_vec();
                write_string(&mut json, &p);
                json.push(b'}');
                self.enqueue(String::new(), json);
            }
        }
        let idle = self.settings.core().idle_timeout_ns;
        let keys: Vec<Sid> = self.streams.keys().copied().collect();
        for key in keys {
            let Some(s) = self.streams.get_mut(&key) else {
                continue;
            };
            // Idle time in the stream's own clock: its last line's time plus
            // the heartbeat time elapsed since the first heartbeat after it.
            let first = *s.first_beat.get_or_insert(now);
            let stream_now = s.last_time.saturating_add(now.saturating_sub(first).max(0));
            if stream_now.saturating_sub(s.last_time) >= idle
                && let Some(p) = s.partial.take()
            {
                self.unhold(key, p.raw.len() + p.text.len());
                self.flush_partial(key, p);
            }
            let mut outputs = Vec::new();
            self.core.tick_stream(&key, stream_now, &mut outputs);
            self.sort(outputs, None, None, None);
            self.tidy(key);
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

    fn apply(&mut self, settings: Settings) {
        if settings == self.settings {
            return;
        }
        self.stats.settings_applied += 1;
        self.core.set_config(settings.core());
        self.shaper = Shaper::new(settings.profile, settings.record_limits(0));
        self.settings = settings;
    }

    /// Sends the core's outputs on. A line that left on its own and is
    /// `current` is handed back; everything else is queued. `pushing` is
    /// the stream whose line was pushed: a report of another stream was
    /// closed by the core's stream bound.
    fn sort(
        &mut self,
        outputs: Vec<Output<Sid, Held>>,
        pushing: Option<Sid>,
        current: Option<u64>,
        closed: Option<&str>,
    ) -> Option<Kept> {
        let mut own = None;
        let mut touched: Vec<Sid> = Vec::new();
        for o in outputs {
            match o {
                Output::Line(key, h) => {
                    let Some(k) = self.release(key, &h) else {
                        continue;
                    };
                    if current == Some(h.id) {
                        own = Some(k);
                        continue;
                    }
                    let tag = self.tag_of(key);
                    let json = self.line_json(&k.raw, Some((&tag, k.time)));
                    self.enqueue(tag, json);
                }
                Output::Report(key, rep) => {
                    let evicted = pushing.is_some_and(|p| p != key);
                    if evicted {
                        self.stats.stream_evictions += 1;
                        touched.push(key);
                    }
                    let reason = closed.or(evicted.then_some("stream_limit"));
                    self.report(key, rep, reason);
                }
            }
        }
        for key in touched {
            self.tidy(key);
        }
        own
    }

    /// Shapes a report (or part) and queues it.
    fn report(&mut self, key: Sid, rep: Report<Held>, closed: Option<&str>) {
        let mut first: Option<Kept> = None;
        for h in &rep.lines {
            let k = self.release(key, h);
            if first.is_none() {
                first = k;
            }
        }
        let (raw, time, message) = match first {
            Some(k) => (k.raw, k.time, k.message),
            None => (Box::from(&b"{}"[..]), 0, false),
        };
        let split = rep.split.map(|s| Split {
            id: s.id.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ self.salt,
            part: s.part,
        });
        let tag = self.tag_of(key);
        // The bound covers the whole record; the module's own members
        // (tag, time, marks) are reserved.
        self.shaper.limits = self.settings.record_limits(tag.len());
        let mut shaped =
            self.shaper
                .shape_with_kinds(rep.event, &rep.lines, rep.kinds.as_slice(), split);
        if message && self.settings.profile == Profile::Default {
            shaped.set_text_key("message");
        }
        let mut skip = shaped.member_names();
        skip.extend_from_slice(OWN_KEYS);
        let mut out = Vec::new();
        match Record::parse(&raw) {
            Some(base) => base.write_open(&mut out, &skip),
            None => out.push(b'{'),
        }
        shaped.write(&mut out, 0);
        // Reopened for the module's own members.
        out.pop();
        write_own(&mut out, &tag, time);
        if let Some(reason) = closed {
            write_key(&mut out, CLOSED);
            write_string(&mut out, reason);
        }
        out.push(b'}');
        self.stats.reports += 1;
        self.enqueue(tag, out);
    }

    /// An ordinary line's record as it leaves: as it came (in the ECS
    /// profile with `log` named `message`), with the re-emission members
    /// when `own` gives its tag and time.
    fn line_json(&self, raw: &[u8], own: Option<(&str, i64)>) -> Vec<u8> {
        let Some(rec) = Record::parse(raw) else {
            return raw.to_vec();
        };
        let mut out = Vec::with_capacity(raw.len() + 128);
        let rename = (self.settings.profile == Profile::Ecs).then_some(("log", "message"));
        rec.write_open_renamed(&mut out, OWN_KEYS, rename);
        if let Some((tag, time)) = own {
            write_own(&mut out, tag, time);
        }
        out.push(b'}');
        out
    }

    /// The id of the stream named `name`, with its state (created empty if
    /// it holds nothing yet).
    fn stream_id(&mut self, tag: &str, stream: &str) -> Sid {
        // Looked up through the scratch buffer: a stream's name is built
        // (allocated) only when the stream is new.
        let name = name_in(&mut self.scratch, tag.as_bytes(), stream.as_bytes());
        if let Some(&sid) = self.ids.get(name) {
            return sid;
        }
        let name: Key = name.into();
        self.next_sid += 1;
        let sid = Sid(self.next_sid);
        *self.tags.entry(Box::from(tag_bytes(&name))).or_default() += 1;
        if let Some(n) = self.slots.get_mut(slot_of(&name)) {
            *n += 1;
        }
        self.ids.insert(name.clone(), sid);
        self.streams.insert(
            sid,
            Stream {
                name,
                last_time: 0,
                first_beat: None,
                bytes: 0,
                partial: None,
            },
        );
        sid
    }

    /// Notes a line of `key` at input time `time`.
    fn touch(&mut self, key: Sid, time: i64) {
        if let Some(s) = self.streams.get_mut(&key) {
            s.last_time = time;
            s.first_beat = None;
        }
    }

    fn tag_of(&self, key: Sid) -> String {
        self.streams
            .get(&key)
            .map(|s| String::from_utf8_lossy(tag_bytes(&s.name)).into_owned())
            .unwrap_or_default()
    }

    /// Forgets the state of a stream that holds nothing any more.
    fn tidy(&mut self, key: Sid) {
        let holds =
            self.core.holds(&key) || self.streams.get(&key).is_some_and(|s| s.partial.is_some());
        if holds {
            return;
        }
        let Some(s) = self.streams.remove(&key) else {
            return;
        };
        self.ids.remove(&s.name);
        if let Some(n) = self.slots.get_mut(slot_of(&s.name)) {
            *n = n.saturating_sub(1);
        }
        let tag = tag_bytes(&s.name);
        if let Some(n) = self.tags.get_mut(tag) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.tags.remove(tag);
            }
        }
    }

    fn hold(&mut self, key: Sid, bytes: usize) {
        if let Some(s) = self.streams.get_mut(&key) {
            s.bytes += bytes;
        }
        self.held_bytes += bytes;
    }

    fn unhold(&mut self, key: Sid, bytes: usize) {
        if let Some(s) = self.streams.get_mut(&key) {
            s.bytes = s.bytes.saturating_sub(bytes);
        }
        self.held_bytes = self.held_bytes.saturating_sub(bytes);
    }

    /// Forgets a kept line that leaves; returns its record.
    fn release(&mut self, key: Sid, h: &Held) -> Option<Kept> {
        let k = self.kept.remove(&h.id)?;
        self.unhold(key, k.raw.len() + h.text.len());
        Some(k)
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
        self.queue.len() > self.settings.max_queue_records
            || self.queue_bytes > self.settings.max_queue_bytes
    }

    /// Past `max_held_bytes`: the streams holding the most are closed.
    fn bound_memory(&mut self) {
        while self.held_bytes > self.settings.max_held_bytes {
            let largest = self
                .streams
                .iter()
                .max_by_key(|(_, s)| s.bytes)
                .map(|(k, _)| *k);
            let Some(k) = largest else {
                return;
            };
            self.stats.memory_closes += 1;
            self.close(k, "memory_limit");
        }
    }

    /// Closes a stream as it is: its partial line is read, its report
    /// leaves.
    fn close(&mut self, key: Sid, reason: &str) {
        if let Some(p) = self.streams.get_mut(&key).and_then(|s| s.partial.take()) {
            self.unhold(key, p.raw.len() + p.text.len());
            self.flush_partial(key, p);
        }
        let mut outputs = Vec::new();
        self.core.close_stream(&key, &mut outputs);
        self.sort(outputs, None, None, Some(reason));
        self.tidy(key);
        if let Some(s) = self.streams.get(&key) {
            // Nothing can be held any more; never loop on a stale count.
            let stale = s.bytes;
            self.unhold(key, stale);
        }
    }
}

/// The current line, leaving on its own.
struct Own {
    raw: Box<[u8]>,
    /// Its time as read when it came (its `time`, else the host's).
    time: i64,
    /// Its record must be written (merged from chunks, or renamed for
    /// ECS), not returned as the host's copy.
    rewrite: bool,
}

/// Whether the record is one this filter re-emitted, seen from its end:
/// the filter writes `gopanic_reemitted` last, and rewrite_tag keeps the
/// members' order. Records that do not end so are read in full, where the
/// member is looked for anywhere.
fn is_reemitted(record: &[u8]) -> bool {
    record.ends_with(b",\"gopanic_reemitted\":true}")
}

/// What the filter reads of a line's record.
#[derive(Debug, PartialEq, Eq)]
struct Read {
    /// The text came in `message` rather than `log`.
    message: bool,
    text: String,
    /// Its `time`, when that is an RFC 3339 time.
    time: Option<i64>,
    stream: String,
    shape: Shape,
    /// Its CRI tag (`_p` or `logtag`) is `P`.
    marked_partial: bool,
}

/// A line's record read in full; `None` when it has no text.
fn read_full(rec: &Record<'_>) -> Option<Read> {
    let (message, text) = text_of(rec)?;
    let shape = shape_of(rec, message);
    Some(Read {
        message,
        text,
        time: rec.get_str("time").and_then(|t| parse_rfc3339_nanos(&t)),
        stream: rec.get_str("stream").unwrap_or_default(),
        shape,
        marked_partial: match shape {
            Shape::Cri(member) => rec.get_str(member).as_deref() == Some("P"),
            _ => false,
        },
    })
}

/// A record of the exact `cri` shape, from the ranges [`cri_record`]
/// found: what [`read_full`] reads, without collecting members.
fn read_cri(record: &[u8], [time, stream, p, log]: &[Range<usize>; 4]) -> Read {
    let string = |r: &Range<usize>| {
        record
            .get(r.clone())
            .and_then(decode_string)
            .unwrap_or_default()
    };
    Read {
        message: false,
        text: string(log),
        // A time without escapes needs no copy: only its digits are read.
        time: match record.get(time.start + 1..time.end.saturating_sub(1)) {
            Some(t) if !t.contains(&b'\\') => {
                std::str::from_utf8(t).ok().and_then(parse_rfc3339_nanos)
            }
            _ => parse_rfc3339_nanos(&string(time)),
        },
        stream: string(stream),
        shape: Shape::Cri("_p"),
        marked_partial: record.get(p.clone()) == Some(b"\"P\""),
    }
}

/// A record of the exact `cri` shape with plain strings ([`plain_cri`]):
/// what [`read_cri`] reads, in one pass over each string.
fn read_plain(record: &[u8]) -> Option<Read> {
    let p = plain_cri(record)?;
    Some(Read {
        message: false,
        text: p.text,
        time: parse_rfc3339_nanos(p.time),
        stream: p.stream.to_owned(),
        shape: Shape::Cri("_p"),
        marked_partial: p.partial,
    })
}

/// The line's text: `log` when it is a string, else `message`.
fn text_of(rec: &Record<'_>) -> Option<(bool, String)> {
    match rec.get_str("log") {
        Some(t) => Some((false, t)),
        None => rec.get_str("message").map(|t| (true, t)),
    }
}

fn shape_of(rec: &Record<'_>, message: bool) -> Shape {
    for member in ["_p", "logtag"] {
        if rec.get(member).is_some_and(|v| v.starts_with(b"\"")) {
            return Shape::Cri(member);
        }
    }
    if !message && rec.get("stream").is_some() && rec.get("time").is_some() {
        return Shape::Docker;
    }
    Shape::Plain
}

/// Docker's `log` ends with the line's newline; the core reads lines.
fn strip_newline(mut text: String) -> String {
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    text
}

/// A stream's name (the tag, a NUL, the `stream` value) built in a reused
/// buffer, to look it up without allocating.
fn name_in<'s>(scratch: &'s mut Vec<u8>, tag: &[u8], stream: &[u8]) -> &'s [u8] {
    scratch.clear();
    scratch.extend_from_slice(tag);
    scratch.push(0);
    scratch.extend_from_slice(stream);
    scratch
}

/// Slots of the fast path's count of streams holding something.
const SLOTS: usize = 256;

/// The slot of the stream of `tag` named `name` (raw bytes). A slot only
/// filters (a busy slot sends the line to the exact lookup), so it mixes
/// the tag's length and last 16 bytes, where Kubernetes tags differ
/// (`…_<container>-<id>.log`), and the name's length and ends: hashing
/// whole names cost ~500 interpreted instructions on every line.
#[inline(always)]
fn slot(tag: &[u8], name: &[u8]) -> usize {
    let word = |b: Option<&[u8; 8]>| b.map_or(0, |w| u64::from_le_bytes(*w));
    let short = |b: &[u8]| b.iter().fold(0u64, |w, &c| (w << 8) | u64::from(c));
    let mut h = FxHasher::default();
    h.add(tag.len() as u64);
    match tag.len() {
        0..8 => h.add(short(tag)),
        8..16 => h.add(word(tag.last_chunk())),
        n => {
            h.add(word(tag.last_chunk()));
            h.add(word(tag.get(..n - 8).and_then(|t| t.last_chunk())));
        }
    }
    let ends = |b: Option<&u8>| u64::from(b.copied().unwrap_or_default());
    h.add((name.len() as u64) << 16 | ends(name.first()) << 8 | ends(name.last()));
    (h.finish() >> 56) as usize % SLOTS
}

/// [`slot`] of a stream's key (tag, NUL, name).
fn slot_of(key: &[u8]) -> usize {
    let tag = tag_bytes(key);
    slot(tag, key.get(tag.len() + 1..).unwrap_or_default())
}

fn tag_bytes(key: &[u8]) -> &[u8] {
    key.split(|&c| c == 0).next().unwrap_or_default()
}

/// `text` cut into pieces of at most `cap` bytes (as JSON writes them with
/// `json`) at character boundaries.
fn pieces(text: &str, cap: usize, json: bool) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut at = gopanic::record::json_cut(rest, cap, json).0.len();
        if at == 0 {
            // A cap smaller than one character: take the character.
            at = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        let (head, tail) = rest.split_at(at);
        out.push(head);
        rest = tail;
    }
    out
}

/// A line's record with its text replaced (a merged line, a piece): the
/// first chunk's members as they are (Fluent Bit's own joined lines keep
/// the first chunk's `_p` too), a docker text with its newline back.
fn with_text(raw: &[u8], text: &str, shape: Shape) -> Vec<u8> {
    let Some(rec) = Record::parse(raw) else {
        return raw.to_vec();
    };
    let key = if rec.get_str("log").is_some() {
        "log"
    } else {
        "message"
    };
    let mut out = Vec::with_capacity(raw.len() + text.len());
    rec.write_open(&mut out, &[key]);
    write_key(&mut out, key);
    match shape {
        Shape::Docker if !text.ends_with('\n') => write_string(&mut out, &format!("{text}\n")),
        _ => write_string(&mut out, text),
    }
    out.push(b'}');
    out
}

/// `record` with the key at `key_at` (`"log"`) renamed `message`.
fn rename_log(record: &[u8], key_at: usize, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(record.get(..key_at).unwrap_or_default());
    out.extend_from_slice(b"\"message\"");
    out.extend_from_slice(record.get(key_at + 5..).unwrap_or_default());
}

fn write_own(out: &mut Vec<u8>, tag: &str, time: i64) {
    write_key(out, TAG);
    write_string(out, tag);
    write_key(out, TIME);
    write_string(out, &rfc3339_nanos(time));
    write_key(out, REEMITTED);
    out.extend_from_slice(b"true");
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

    /// A record as Fluent Bit's `cri` parser makes it, members in its
    /// order (`json!` would sort them).
    fn rec(t: i64, stream: &str, log: &str) -> Vec<u8> {
        format!(
            r#"{{"time":"{}","stream":"{stream}","_p":"F","log":{},"kubernetes":{{"pod_name":"p"}}}}"#,
            rfc3339_nanos(t),
            Value::from(log)
        )
        .into_bytes()
    }

    struct Run {
        f: Filter,
        out: Vec<u8>,
        /// Queued records that left in the slot of an absorbed line.
        slots: Vec<Value>,
    }

    impl Run {
        fn new(settings: Settings) -> Self {
            Run {
                f: Filter::new(settings),
                out: Vec::new(),
                slots: Vec::new(),
            }
        }

        fn raw(&mut self, tag: &str, t: i64, record: &[u8]) -> (Verdict, Option<Value>) {
            let v = self.f.process(tag.as_bytes(), t, record, &mut self.out);
            let got: Option<Value> =
                (v == Verdict::Emit).then(|| serde_json::from_slice(&self.out).unwrap());
            if let Some(g) = &got
                && g[REEMITTED] == true
                && g.get(OVERFLOW).is_none()
            {
                self.slots.push(g.clone());
            }
            (v, got)
        }

        fn push(&mut self, tag: &str, t: i64, stream: &str, log: &str) -> (Verdict, Option<Value>) {
            self.raw(tag, t, &rec(t, stream, log))
        }

        fn tick_with(&mut self, t: i64, record: &str) -> Option<Value> {
            match self
                .f
                .process(b"gopanic.tick", t, record.as_bytes(), &mut self.out)
            {
                Verdict::Emit => Some(serde_json::from_slice(&self.out).unwrap()),
                Verdict::Drop => None,
                Verdict::Unchanged => panic!("a tick passed"),
            }
        }

        fn tick(&mut self, t: i64) -> Option<Value> {
            self.tick_with(t, r#"{"gopanic_tick":true}"#)
        }

        /// What left in slots, then heartbeats until the queue is empty and
        /// nothing is held.
        fn drain(&mut self, mut t: i64) -> Vec<Value> {
            let mut got = std::mem::take(&mut self.slots);
            for _ in 0..200 {
                t += S / 2;
                if let Some(v) = self.tick(t) {
                    got.push(v);
                }
                if self.f.queue_len() == 0 && self.f.open_streams() == 0 {
                    break;
                }
            }
            got
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
        let mut r = Run::new(Settings::default());
        assert_eq!(r.push("app", T0, "stdout", "hello").0, Verdict::Unchanged);
        assert_eq!(r.f.stats().passed_quickly, 1);
        for (i, l) in PANIC.iter().enumerate() {
            assert_eq!(r.push("app", T0 + i as i64, "stderr", l).0, Verdict::Drop);
        }
        assert_eq!(r.f.held_lines(), 5);
        // Another stream of the same tag, and another tag, keep the fast
        // path while stderr holds a report.
        let quick = r.f.stats().passed_quickly;
        assert_eq!(
            r.push("app", T0, "stdout", "still here").0,
            Verdict::Unchanged
        );
        assert_eq!(r.f.stats().passed_quickly, quick + 1);
        assert_eq!(r.push("other", T0, "stderr", "fine").0, Verdict::Unchanged);
        assert_eq!(r.f.stats().passed_quickly, quick + 2);
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
        assert_eq!(r.f.open_streams(), 0);
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
        let mut r = Run::new(Settings::default());
        for l in PANIC {
            r.push("app", T0, "stderr", l);
        }
        // After a frame the core holds a line (the report may go on).
        assert_eq!(r.push("app", T0 + 1, "stderr", "next").0, Verdict::Drop);
        // Idle: the report and the released line are queued; a heartbeat
        // takes the report out, and the next absorbed line of the same tag
        // carries the released line out in its slot.
        assert_eq!(r.tick(T0 + S), None);
        assert!(r.tick(T0 + 3 * S).unwrap()["go"].is_object());
        assert_eq!(r.f.queue_len(), 1);
        let (v, got) = r.push("app", T0 + 4 * S, "stderr", "panic: again");
        assert_eq!(v, Verdict::Emit);
        assert_eq!(got.unwrap()["log"], "next");
        assert_eq!(r.f.stats().left_in_slot, 1);
        assert_eq!(r.f.queue_len(), 0);
        // A slot never carries another tag's record.
        let mut r = Run::new(Settings::default());
        for l in PANIC {
            r.push("app", T0, "stderr", l);
        }
        r.push("app", T0, "stderr", "held");
        // Idle: the report and the held line are queued, one leaves.
        r.tick(T0 + S);
        assert!(r.tick(T0 + 3 * S).is_some());
        let queued = r.f.queue_len();
        assert_eq!(queued, 1);
        assert_eq!(
            r.push("other", T0 + 3, "stderr", "panic: q").0,
            Verdict::Drop
        );
        assert_eq!(r.f.queue_len(), queued);
        // Non-records and records without a text pass unchanged.
        for bad in [&b"not json"[..], b"[1]", br#"{"a":1}"#, br#"{"log":5}"#] {
            assert_eq!(r.f.process(b"app", T0, bad, &mut r.out), Verdict::Unchanged);
        }
    }

    #[test]
    fn cri_chunks_merge_into_one_line() {
        let mut r = Run::new(Settings::default());
        let chunk = |t: i64, p: &str, log: &str| {
            json!({"time": rfc3339_nanos(t), "stream": "stdout", "_p": p, "log": log})
                .to_string()
                .into_bytes()
        };
        let a = "x".repeat(16384);
        let b = "y".repeat(16384);
        let value = "v".repeat(16384 - "panic: ".len());
        assert_eq!(r.raw("app", T0, &chunk(T0, "P", &a)).0, Verdict::Drop);
        assert_eq!(
            r.raw("app", T0 + 1, &chunk(T0 + 1, "P", &b)).0,
            Verdict::Drop
        );
        let (v, got) = r.raw("app", T0 + 2, &chunk(T0 + 2, "F", "z"));
        assert_eq!(v, Verdict::Emit);
        let got = got.unwrap();
        assert!(got["log"] == format!("{a}{b}z"));
        assert_eq!(got["_p"], "P");
        assert_eq!(got["time"], rfc3339_nanos(T0));
        assert_eq!(r.f.open_streams(), 0);
        // A line Fluent Bit joined keeps its first chunk's `P`: not whole
        // chunks, so a whole line, and the next line stays its own.
        let joined = format!("{a}tail");
        assert_eq!(
            r.raw("app", T0, &chunk(T0, "P", &joined)).0,
            Verdict::Unchanged
        );
        assert_eq!(r.raw("app", T0, &chunk(T0, "F", "")).0, Verdict::Unchanged);
        // A panic value split by the host: one report, its value whole.
        r.raw("app", T0, &chunk(T0, "P", &format!("panic: {value}")));
        r.raw("app", T0, &chunk(T0, "F", "end"));
        for l in PANIC.iter().skip(1) {
            r.push("app", T0, "stdout", l);
        }
        let got = r.drain(T0);
        assert_eq!(got.len(), 1);
        let first = got[0]["log"].as_str().unwrap().lines().next().unwrap();
        assert!(first == format!("panic: {value}end"));
        assert!(got[0]["go"]["message"] == format!("{value}end"));
        assert_eq!(got[0]["go"]["lines"], 5);
    }

    #[test]
    fn docker_chunks_merge_and_a_lone_chunk_leaves_when_idle() {
        let mut r = Run::new(Settings::default());
        let d = |t: i64, log: &str| {
            json!({"log": log, "stream": "stderr", "time": rfc3339_nanos(t)})
                .to_string()
                .into_bytes()
        };
        let half = "h".repeat(16 << 10);
        assert_eq!(r.raw("d", T0, &d(T0, &half)).0, Verdict::Drop);
        let (v, got) = r.raw("d", T0, &d(T0, "second half\n"));
        assert_eq!(v, Verdict::Emit);
        assert!(got.unwrap()["log"] == format!("{half}second half\n"));
        // Shorter than a chunk and without a newline: a whole line.
        assert_eq!(r.raw("d", T0, &d(T0, "no newline")).0, Verdict::Unchanged);
        // A whole docker line takes the fast path.
        let quick = r.f.stats().passed_quickly;
        assert_eq!(r.raw("d", T0, &d(T0, "whole\n")).0, Verdict::Unchanged);
        assert_eq!(r.f.stats().passed_quickly, quick + 1);
        // A chunk whose rest never comes leaves after the idle time.
        assert_eq!(r.raw("d", T0, &d(T0, &half)).0, Verdict::Drop);
        let got = r.drain(T0);
        assert_eq!(got.len(), 1);
        assert!(got[0]["log"] == format!("{half}\n"));
        assert_eq!(got[0]["gopanic_tag"], "d");
    }

    #[test]
    fn long_lines_leave_in_pieces_under_the_record_bound() {
        let mut r = Run::new(Settings {
            max_record_bytes: 4096,
            ..Settings::default()
        });
        // 3,000 bytes, 8,000 in JSON: pieces count the latter.
        let long = "é\u{1}".repeat(1000);
        // The pieces are queued; the first leaves in the line's own slot.
        assert_eq!(r.push("app", T0, "stdout", &long).0, Verdict::Emit);
        let got = r.drain(T0);
        let texts: Vec<&str> = got.iter().map(|v| v["log"].as_str().unwrap()).collect();
        assert_eq!(texts.concat(), long);
        let json_lens: Vec<usize> = texts
            .iter()
            .map(|t| serde_json::to_string(t).unwrap().len() - 2)
            .collect();
        assert!(json_lens.iter().all(|&n| n <= 2048), "{json_lens:?}");
        assert_eq!(r.f.stats().lines_cut, 1);
    }

    #[test]
    fn big_reports_leave_in_parts_under_the_record_bound() {
        let mut r = Run::new(Settings::default());
        let mut lines = vec!["panic: boom".to_owned(), String::new()];
        for g in 1..=3000 {
            lines.push(format!("goroutine {g} [chan receive]:"));
            lines.push("main.worker(0xc000012345)".to_owned());
            lines.push("\t/app/main.go:42 +0x25".to_owned());
            lines.push("created by main.main in goroutine 1".to_owned());
            lines.push("\t/app/main.go:17 +0x66".to_owned());
            lines.push(String::new());
        }
        lines.pop();
        for l in &lines {
            r.push("app", T0, "stderr", l);
        }
        let got = r.drain(T0);
        assert!(got.len() > 3, "{}", got.len());
        let id = got[0]["go"]["report_id"].clone();
        let mut text = Vec::new();
        for (i, part) in got.iter().enumerate() {
            let bytes = part.to_string().len();
            assert!(bytes <= LOKI, "part {i}: {bytes} bytes");
            assert_eq!(part["go"]["report_id"], id);
            assert_eq!(part["go"]["part"], i + 1);
            assert_eq!(part["go"]["class"], "custom_panic");
            text.push(part["log"].as_str().unwrap().to_owned());
        }
        assert_eq!(text.join("\n"), lines.join("\n"));
    }

    const LOKI: usize = crate::settings::LOKI_MAX_LINE;

    #[test]
    fn settings_arrive_with_the_heartbeat() {
        let mut r = Run::new(Settings::default());
        assert_eq!(
            r.tick_with(
                T0,
                r#"{"gopanic_tick":true,"profile":"ecs","idle_timeout_ms":3000}"#
            ),
            None
        );
        assert_eq!(r.f.settings().profile, Profile::Ecs);
        // ECS: ordinary lines carry their text as `message`, fast or not.
        let (v, got) = r.push("app", T0, "stdout", "hello");
        assert_eq!(v, Verdict::Emit);
        let got = got.unwrap();
        assert_eq!(got["message"], "hello");
        assert!(got.get("log").is_none());
        for l in PANIC {
            r.push("app", T0, "stderr", l);
        }
        let t = r#"{"gopanic_tick":true,"profile":"ecs","idle_timeout_ms":3000}"#;
        assert_eq!(r.tick_with(T0 + 2 * S, t), None);
        assert_eq!(r.tick_with(T0 + 4 * S, t), None);
        let rep = r.tick_with(T0 + 5 * S + S / 2, t).unwrap();
        assert_eq!(rep["message"], PANIC.join("\n"));
        assert_eq!(rep["log"]["level"], "fatal");
        assert_eq!(r.f.stats().settings_applied, 1);
        // A heartbeat without settings keeps the filter's own.
        let mut plain = Run::new(Settings {
            max_queue_records: 3,
            ..Settings::default()
        });
        plain.tick(T0);
        assert_eq!(plain.f.settings().max_queue_records, 3);
        // A bad setting is reported once, under the heartbeat's tag.
        let bad = r#"{"gopanic_tick":true,"max_record_bytes":"big"}"#;
        let err = r.tick_with(T0 + 6 * S, bad).unwrap();
        assert!(
            err["gopanic_error"]
                .as_str()
                .unwrap()
                .contains("max_record_bytes")
        );
        assert!(err.get("gopanic_tag").is_none());
        assert_eq!(r.tick_with(T0 + 7 * S, bad), None);
        assert_eq!(r.f.settings().profile, Profile::Default);
    }

    #[test]
    fn stream_bound_closes_the_oldest_and_says_so() {
        let mut r = Run::new(Settings {
            max_open_streams: 2,
            ..Settings::default()
        });
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
    fn memory_bound_splits_the_largest_report_into_parts() {
        // The core counts each line with its record and its own bookkeeping
        // (about 190 bytes a line here, a few hundred a stream): the big
        // report crosses 4,000 bytes about its 20th line.
        let mut r = Run::new(Settings {
            max_held_bytes: 4000,
            ..Settings::default()
        });
        r.push("small", T0, "stderr", "panic: s");
        let mut big = vec!["panic: boom", "", "goroutine 1 [running]:"];
        for _ in 0..20 {
            big.extend(["main.f()", "\t/app/main.go:5 +0x25"]);
        }
        for l in &big {
            r.push("big", T0, "stderr", l);
        }
        // The core, bounded like the filter, let the big report out in parts
        // as it grew (each took the slot of an absorbed line); the rest
        // leaves by heartbeat as the last part. None was closed.
        assert!(r.f.held_bytes() <= 4000, "{}", r.f.held_bytes());
        for i in 1..=30 {
            if let Some(rec) = r.tick(T0 + i * S) {
                r.slots.push(rec);
            }
        }
        let parts: Vec<&Value> = r
            .slots
            .iter()
            .filter(|v| v["gopanic_tag"] == "big")
            .collect();
        assert!(parts.len() >= 2, "{parts:?}");
        for (i, p) in parts.iter().enumerate() {
            assert_eq!(p["go"]["part"], i + 1);
            assert_eq!(p["go"]["report_id"], parts[0]["go"]["report_id"]);
            assert_eq!(p["go"]["truncated"], true, "{p}");
            assert!(p.get("gopanic_closed").is_none());
        }
        let lines: u64 = parts
            .iter()
            .map(|p| p["go"]["lines"].as_u64().unwrap())
            .sum();
        assert_eq!(lines, big.len() as u64);
        assert_eq!(r.f.stats().memory_closes, 0);
    }

    #[test]
    fn memory_bound_closes_a_partial_line_and_says_so() {
        let mut r = Run::new(Settings {
            max_held_bytes: 600,
            chunk_bytes: 8,
            ..Settings::default()
        });
        // Chunks of a line Fluent Bit left partial pile up past the bound:
        // the stream is closed, the gathered text leaves as a line.
        let mut left = None;
        for i in 0..100 {
            let rec = format!(
                r#"{{"time":"2026-11-27T06:51:01Z","stream":"stderr","_p":"P","log":"chunk{i:03}"}}"#
            );
            if let (_, Some(v)) = r.raw("big", T0, rec.as_bytes()) {
                left = Some(v);
                break;
            }
        }
        assert!(r.f.held_bytes() <= 600, "{}", r.f.held_bytes());
        assert_eq!(r.f.stats().memory_closes, 1);
        let closed = left.or_else(|| r.tick(T0 + S)).expect("the closed line");
        assert!(
            closed["log"]
                .as_str()
                .unwrap()
                .starts_with("chunk000chunk001"),
            "{closed}"
        );
    }

    #[test]
    fn full_queue_swaps_and_says_so() {
        let mut r = Run::new(Settings {
            max_queue_records: 0,
            ..Settings::default()
        });
        // Two reports closed by idle time: one leaves by heartbeat, the
        // other stays queued, over the bound.
        r.push("a", T0, "s1", "panic: 0");
        r.push("a", T0, "s2", "panic: 2");
        assert_eq!(r.tick(T0 + S), None);
        assert!(r.tick(T0 + 2 * S).is_some());
        assert_eq!(r.f.queue_len(), 1);
        // An absorbed line while the queue is over its bound: the queued
        // record of its tag leaves in its place, marked.
        let (v, got) = r.push("a", T0 + 3 * S, "s3", "panic: 1");
        assert_eq!(v, Verdict::Emit);
        let got = got.unwrap();
        assert_eq!(got["gopanic_overflow"], true);
        assert!(got["go"].is_object());
        assert_eq!(r.f.queue_len(), 0);
        r.push("a", T0 + 3 * S, "s4", "panic: 4");
        assert_eq!(r.tick(T0 + 4 * S), None);
        assert!(r.tick(T0 + 5 * S).is_some());
        assert_eq!(r.f.queue_len(), 1);
        // An ordinary line of tag a: the queued record of a leaves in its
        // place, the line is queued instead.
        let (v, got) = r.push("a", T0 + 6 * S, "s5", "line of a");
        assert_eq!(v, Verdict::Emit);
        let got = got.unwrap();
        assert_eq!(got["gopanic_overflow"], true);
        assert_eq!(got["gopanic_tag"], "a");
        assert!(got["go"].is_object());
        assert_eq!(r.f.queue_len(), 1);
        // An ordinary line of tag b, nothing of b queued: it passes.
        assert_eq!(
            r.push("b", T0 + 6 * S, "s", "line of b").0,
            Verdict::Unchanged
        );
        // An absorbed line of b: the oldest queued record leaves in its
        // place, under b's tag (its own is in gopanic_tag).
        let (v, got) = r.push("b", T0 + 6 * S, "s", "panic: y");
        assert_eq!(v, Verdict::Emit);
        let got = got.unwrap();
        assert_eq!(got["gopanic_tag"], "a");
        assert_eq!(got["log"], "line of a");
        assert_eq!(got["gopanic_time"], rfc3339_nanos(T0 + 6 * S));
        assert_eq!(got["gopanic_overflow"], true);
        assert_eq!(r.f.queue_len(), 0);
    }

    #[test]
    fn split_reports_have_ids_unique_across_streams() {
        let mut r = Run::new(Settings {
            max_report_lines: 2,
            ..Settings::default()
        });
        for l in PANIC {
            r.push("a", T0, "stderr", l);
            r.push("b", T0, "stderr", l);
        }
        let mut ids: Vec<(String, String)> = Vec::new();
        for rep in r.drain(T0) {
            assert_eq!(rep["go"]["truncated"], true);
            ids.push((
                rep["gopanic_tag"].as_str().unwrap().into(),
                rep["go"]["report_id"].as_str().unwrap().into(),
            ));
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
        let mut r = Run::new(Settings::default());
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

    /// The direct reading of `cri` records reads what the full reading
    /// does, and leaves every other record to it.
    #[test]
    fn cri_records_read_directly_as_in_full() {
        let t = r#""2027-01-15T08:00:00.5Z""#;
        let direct = [
            format!(r#"{{"time":{t},"stream":"stderr","_p":"F","log":"panic: x"}}"#),
            format!(r#"{{"time":{t},"stream":"stdout","_p":"P","log":"caf\u00e9 \"q\" \\"}}"#),
            format!(r#"{{"time":{t},"stream":"std\u006fut","_p":"F","log":""}}"#),
            r#"{"time":"not a time","stream":"","_p":"F","log":"\tx\n"}"#.to_owned(),
        ];
        let mut plain = 0;
        for r in &direct {
            let members = cri_record(r.as_bytes()).unwrap_or_else(|| panic!("{r}"));
            let rec = Record::parse(r.as_bytes()).unwrap();
            assert_eq!(rec.members.len(), 4);
            let full = read_full(&rec).unwrap();
            assert_eq!(read_cri(r.as_bytes(), &members), full, "{r}");
            if let Some(read) = read_plain(r.as_bytes()) {
                plain += 1;
                assert_eq!(read, full, "{r}");
            }
        }
        // Not the `\u` escapes: they take the other reading.
        assert_eq!(plain, 2);
        let full = [
            // More members, whitespace, another order or shape.
            format!(r#"{{"time":{t},"stream":"s","_p":"F","log":"x","k":1}}"#),
            format!(r#"{{"time":{t},"stream":"s","_p":"F","log":"x"}} "#),
            format!(r#"{{"time":{t},"stream":"s","_p":"FF","log":"x"}}"#),
            format!(r#"{{"stream":"s","time":{t},"_p":"F","log":"x"}}"#),
            // Invalid strings: a full reading passes the record unchanged.
            format!(
                r#"{{"time":{t},"stream":"s","_p":"F","log":"a{}b"}}"#,
                '\u{1}'
            ),
            format!(r#"{{"time":{t},"stream":"s\x","_p":"F","log":"x"}}"#),
            format!(r#"{{"time":{t},"stream":"s","_p":"\","log":"x"}}"#),
            format!(r#"{{"time":{t},"stream":"s","_p":"F","log":"x\"}}"#),
            format!(r#"{{"time":{t},"stream":"s","_p":"F","log":"x"#),
        ];
        for r in &full {
            assert!(cri_record(r.as_bytes()).is_none(), "{r}");
            assert!(read_plain(r.as_bytes()).is_none(), "{r}");
        }
    }

    /// On records of the `cri` shape with random texts (escapes, control
    /// characters, multi-byte characters, stray quotes), the plain reading
    /// concludes what a full reading does whenever it answers.
    #[test]
    fn plain_reading_agrees_with_the_full_one() {
        let atoms: &[&str] = &[
            "a",
            "panic: x",
            " ",
            "\\t",
            "\\n",
            "\\r",
            "\\\"",
            "\\\\",
            "\\/",
            "\\b",
            "\\f",
            "\\u0041",
            "\\x",
            "\\",
            "\"",
            "\u{1}",
            "\u{7f}",
            "é",
            "\u{ff}",
            "0123456789abcdef",
            "}",
            "{",
        ];
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let (mut agreed, mut plain) = (0, 0);
        for _ in 0..20_000 {
            let mut pick = |n: u64| {
                (0..next() % n)
                    .map(|_| atoms[(next() % atoms.len() as u64) as usize])
                    .collect::<String>()
            };
            let (log, stream) = (pick(12), pick(3));
            let tag = ["F", "P", "", "\\\"", "FF"][(next() % 5) as usize];
            let r = format!(
                r#"{{"time":"2027-01-15T08:00:00.5Z","stream":"{stream}","_p":"{tag}","log":"{log}"}}"#
            );
            let Some(read) = read_plain(r.as_bytes()) else {
                continue;
            };
            plain += 1;
            let rec = Record::parse(r.as_bytes()).unwrap_or_else(|| panic!("{r}"));
            assert_eq!(Some(read), read_full(&rec), "{r}");
            agreed += 1;
        }
        assert!(plain > 1_000 && agreed == plain, "{plain} {agreed}");
    }

    #[test]
    fn reset_after_a_trap_is_reported() {
        let mut r = Run::new(Settings::default());
        r.f.note_reset(7);
        let e = r.tick(T0).unwrap();
        assert_eq!(e["gopanic_lost_lines"], 7);
        assert!(e.get("gopanic_tag").is_none());
    }
}
