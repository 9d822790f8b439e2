//! The per-stream reassembler: lines in, records out, no I/O.
//!
//! Each stream (a host-chosen key, e.g. file + `stderr`) is either idle or
//! holds one open crash report. A line either
//! - continues the open report (the grammar allows it at this position),
//! - is *foreign*: it cannot continue the report, but the report cannot end
//!   here either (a frame's function line must be followed by its location),
//!   so another writer's line landed inside; it leaves at once on its own,
//! - is *held*: the report may have ended or may go on (a blank line after a
//!   frame, a line after the panic value); the next lines decide, or
//! - ends the report: the report leaves, then the line is read afresh.
//!
//! Starts that are not conclusive on their own (`runtime: …`,
//! `==================`, `SIGTERM: …`, a bare `goroutine 1 [running]:`) open
//! an *unconfirmed* report that becomes a crash report only when the line
//! that proves it arrives; otherwise its lines leave as ordinary lines.
//!
//! Every line pushed leaves in exactly one [`Output`]. Within a stream,
//! ordinary lines keep their order, reports keep theirs, a report's lines
//! keep theirs (a held line that a report passed over never joins it
//! later), and a report leaves before any line that followed its last line,
//! except foreign lines that landed inside it, which leave as they arrive.

use crate::crash::Event;
use crate::grammar::{
    LineKind, Opening, Pos, find_byte, is_location, is_log_line, is_log_line_of_kind, line_kind,
    location_end, rfind_byte, role,
};
use std::collections::HashSet;
use std::hash::Hash;

mod table;
use table::Table;

/// A line as the reassembler sees it: the host's own record, whose text it
/// can read. Ordinary lines come back as the same value, untouched.
pub trait Line {
    /// The line's text, without a trailing newline.
    fn text(&self) -> &str;

    /// Bytes the line keeps on the heap, counted against
    /// [`Config::max_held_bytes`] while the reassembler holds it: by default
    /// its text's length; a line that carries more (an event's other
    /// fields) says so.
    fn mem_bytes(&self) -> usize {
        self.text().len()
    }
}

impl Line for String {
    fn text(&self) -> &str {
        self
    }
}

impl Line for &str {
    fn text(&self) -> &str {
        self
    }
}

impl Line for crate::container::LogLine {
    fn text(&self) -> &str {
        &self.text
    }

    fn mem_bytes(&self) -> usize {
        self.text.capacity()
            + self.time.as_ref().map_or(0, |t| t.heap_bytes())
            + match &self.stream {
                Some(std::borrow::Cow::Owned(s)) => s.capacity(),
                _ => 0,
            }
    }
}

/// Limits and timing. Times are in the input's clock, in nanoseconds.
#[derive(Debug, Clone)]
pub struct Config {
    /// A report with no new line for this long is complete.
    pub idle_timeout_ns: i64,
    /// The idle timeout while a goroutine's traceback is deep enough for the
    /// runtime to elide frames: Go 1.21+ prints the innermost 50 frames, then
    /// unwinds the whole stack to count the elided ones and again to reach
    /// the outermost 50, which takes about a second each on a stack overflow
    /// (measured 0.6-1.1 s on the fixture machine).
    pub deep_stack_idle_timeout_ns: i64,
    /// A report that would grow past this many bytes of text leaves as a
    /// part (`truncated`), and the rest follows as further parts.
    pub max_report_bytes: usize,
    /// Same, counted in lines.
    pub max_report_lines: usize,
    /// `max_report_bytes` counts the text as its JSON string takes it
    /// (escapes included), as a record bound must.
    pub json_text: bool,
    /// At most this many streams hold an open report; past it the stream
    /// idle the longest has its report closed.
    pub max_open_streams: usize,
    /// How many lines in a row may be foreign or held before the report is
    /// taken to have ended (a writer died mid-report).
    pub max_interleaved_lines: usize,
    /// How many reports one stream may hold open at once (processes sharing
    /// the stream crashing together). With 1, a new report's start closes
    /// the open one, as if the stream had a single writer.
    pub max_reports_per_stream: usize,
    /// The memory all streams together may hold (their lines and the
    /// bookkeeping around them, see [`Reassembler::held_bytes`]). Past it,
    /// the stream holding the most gives up its largest report's lines as a
    /// part (`truncated`, the rest follows as further parts), or closes.
    pub max_held_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            idle_timeout_ns: 1_000_000_000,
            deep_stack_idle_timeout_ns: 10_000_000_000,
            // A GOTRACEBACK=all dump of ~5,000 goroutines is 2-4 MB.
            max_report_bytes: 8 << 20,
            max_report_lines: 100_000,
            json_text: false,
            max_open_streams: 4096,
            max_interleaved_lines: 8,
            max_reports_per_stream: 4,
            // The process stays under 64 MiB: this, plus the part being
            // written (parsed and serialised, about twice its memory
            // again), a merged line (4 MiB) and the program (a few MiB).
            // Measured: the CLI on a 10-million-line dump peaks at 42 MiB
            // RSS (58 MiB with 24 MiB here; 90 MiB before this bound). A
            // 5,000-goroutine CRI dump (35,000 lines) takes about 8 MiB.
            max_held_bytes: 16 << 20,
        }
    }
}

/// A crash report, or one part of one that hit a bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report<L> {
    /// What kind of report it is.
    pub event: Event,
    /// The report's lines in order (foreign lines excluded).
    pub lines: Vec<L>,
    /// The grammar's kind of each line, as the reassembler read it (see
    /// [`LineKinds`]).
    pub kinds: LineKinds,
    /// Set when the report was split by a bound: all parts share `id` and
    /// number from 1.
    pub split: Option<Split>,
}

/// The grammar's kind of each line of a report as the reassembler read it:
/// the `i`th is [`line_kind`] of the report's `i`th line, so that the
/// parser need not read every line again. It may hold fewer kinds than the
/// report has lines (none, for a report built by hand, and always none in
/// the wasm builds, which keep the smaller code): the kinds of the other
/// lines are read from their texts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineKinds(#[cfg(not(target_arch = "wasm32"))] Vec<LineKind>);

impl LineKinds {
    /// The kinds held, from the report's first line on.
    pub fn as_slice(&self) -> &[LineKind] {
        #[cfg(not(target_arch = "wasm32"))]
        return &self.0;
        #[cfg(target_arch = "wasm32")]
        return &[];
    }

    /// Bytes of memory it holds beside itself.
    fn heap_bytes(&self) -> usize {
        #[cfg(not(target_arch = "wasm32"))]
        return self.0.capacity() * std::mem::size_of::<LineKind>();
        #[cfg(target_arch = "wasm32")]
        return 0;
    }

    /// Holds the kind of the report's next line.
    fn push(&mut self, kind: LineKind) {
        #[cfg(not(target_arch = "wasm32"))]
        self.0.push(kind);
        #[cfg(target_arch = "wasm32")]
        let _ = kind;
    }
}

/// Where a part stands in a report split by a bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    /// Identifies the report across its parts: unique per reassembler, so
    /// a host keeps one reassembler for all its streams.
    pub id: u64,
    /// 1-based part number.
    pub part: u32,
}

/// One record out of the reassembler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output<K, L> {
    /// An ordinary line, exactly as pushed.
    Line(K, L),
    /// A crash report (or one part of it), from the stream's first line of it.
    Report(K, Report<L>),
}

/// Counters since creation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Lines pushed.
    pub lines_in: u64,
    /// Reports that left (a split report counts once).
    pub reports: u64,
    /// Parts of split reports that left.
    pub report_parts: u64,
    /// Lines found to be another writer's while a report was open.
    pub foreign_lines: u64,
}

/// What a line does to the open report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Continue(Pos),
    Foreign,
    Hold,
    End,
}

struct Timed<L> {
    line: L,
    time: i64,
}

/// A line whose fate waits on the next ones.
struct HeldLine<L> {
    line: L,
    time: i64,
    /// The newest report open when it arrived: lines held since a report
    /// started are counted against it.
    after: u64,
    /// Its stream's turn when it was held: only reports that have taken no
    /// line since can own it (see [`Stream::turn`]).
    turn: u64,
    /// [`is_log_line`] of its text, asked once: counting held lines asks
    /// it of every held line again on every new one.
    log_line: bool,
}

/// Where a report is in the grammar and what its last lines allow next:
/// small and `Copy`, so that an ambiguous line can be tried against
/// several reports.
#[derive(Debug, Clone, Copy)]
struct State {
    event: Event,
    /// Proven a crash report (see module docs).
    confirmed: bool,
    /// The message was `http: panic serving`, whose goroutine header follows
    /// without a blank line.
    http: bool,
    pos: Pos,
    /// Frames printed so far in the current goroutine (or runtime stack).
    block_frames: usize,
    /// The current goroutine's frames were elided.
    block_elided: bool,
    /// The current goroutine's `created by` was printed: only the next
    /// block (or the end) can follow.
    block_done: bool,
    /// The last frame was `main.main`: only `runtime.main` can follow in
    /// this block (`GOTRACEBACK=system`).
    after_main: bool,
    /// The current goroutine block cannot end yet: Go ends a goroutine's
    /// block with its `created by` (goroutine 1: with `main.main`,
    /// `runtime.main` or `runtime.goexit`).
    block_open: bool,
    /// The last frame was `runtime.goexit`: only `created by` follows.
    after_goexit: bool,
    /// The current block is goroutine 1's, the main goroutine.
    main_block: bool,
    /// `fatal error:` lines: two threads throwing at once print a goroutine
    /// twice.
    throws: u8,
    /// A panic without a goroutine block yet: the first is the panicking
    /// goroutine's, `[running]`. (Not so for fatal errors: a deadlock is
    /// raised by the scheduler, a cgo crash shows `[syscall]`.)
    first_running: bool,
}

struct OpenReport<L> {
    st: State,
    lines: Vec<L>,
    /// The kind of each line (see [`LineKinds`]).
    kinds: LineKinds,
    bytes: usize,
    /// Time of the last line of the report.
    last_time: i64,
    split: Option<Split>,
    /// Creation order, so that `finish` is deterministic.
    seq: u64,
    /// Memory the lines hold (see [`line_cost`]).
    mem: usize,
    /// Goroutine ids of the headers printed so far: a traceback prints each
    /// goroutine once, which tells two reports in one stream apart.
    goroutines: Goroutines,
    /// Where this binary's files are (see [`root_of`]): its GOROOT and its
    /// own source directories, a few at most.
    roots: Vec<(bool, Box<str>)>,
    /// The directories of the last location lines noted, and which of
    /// them the next new one replaces (see [`OpenReport::new_dir`]).
    #[cfg(not(target_arch = "wasm32"))]
    dirs: Vec<Box<str>>,
    #[cfg(not(target_arch = "wasm32"))]
    next_dir: u8,
    /// Bytes of the texts of `roots` and `dirs`, counted as they change:
    /// the stream's cost is counted again after every line.
    notes_bytes: usize,
    /// Its stream's turn when it opened or last took a line.
    last_turn: u64,
    /// Its stream's turn when it opened: disproved, its first line is held
    /// as of then (see [`Reassembler::disown`]).
    first_turn: u64,
}

/// One stream: its open reports (usually one; several when processes
/// sharing the stream crash at once) and the lines whose fate is open.
struct Stream<L> {
    /// Open reports, oldest first.
    reports: Vec<OpenReport<L>>,
    /// Lines that may still join a report (blank lines, old-style panic
    /// value lines) or must wait for the report before them to leave.
    held: Vec<HeldLine<L>>,
    /// Lines that continue two or more reports equally well, in order, and
    /// the ways of giving them to the reports that the grammar allows; the
    /// next lines (a location line's file belongs to one binary) decide.
    pending: Vec<Timed<L>>,
    beam: Vec<Hypothesis>,
    /// Foreign lines in a row.
    foreign_run: usize,
    /// The report that took the last line: lines come in runs per writer.
    last: u64,
    /// Reports complete while an older one is still open, by start order.
    done: Vec<Done<L>>,
    /// Memory held, as last counted ([`Stream::cost`]).
    cost: usize,
    /// Counts the lines held and the lines reports open with or take. A
    /// report that takes a line while others are held and leaves them
    /// can never own them: they came before its last line, and a report
    /// keeps its lines in input order.
    turn: u64,
}

/// A report complete while an older one of its stream is still open.
struct Done<L> {
    seq: u64,
    event: Event,
    lines: Vec<L>,
    kinds: LineKinds,
    split: Option<Split>,
    /// Memory the lines hold.
    mem: usize,
}

/// One way of giving the pending lines to the open reports.
#[derive(Debug, Clone)]
struct Hypothesis {
    /// For each pending line, the report that takes it (0: none, a blank
    /// line that waits).
    owners: Vec<u64>,
    /// Every open report's state, and what it sees held, after them.
    states: Vec<(u64, State, HeldBefore)>,
    /// Roots the pending location lines show, by report.
    learned: Vec<(u64, bool, Box<str>)>,
}

/// How often a hypothesis switches between reports, from report `last`.
fn switches(last: u64, h: &Hypothesis) -> usize {
    let mut prev = last;
    let mut n = 0;
    for &o in h.owners.iter().filter(|&&o| o != 0) {
        n += usize::from(o != prev);
        prev = o;
    }
    n
}

/// Lines that a blank line precedes in Go's output.
fn takes_separator(kind: LineKind) -> bool {
    role(kind).separated
}

/// Hypotheses kept at most.
const MAX_HYPOTHESES: usize = 32;

/// Ambiguous lines waiting for a location line, at most.
const MAX_PENDING: usize = 16;
/// Goroutine ids remembered per report (about 1 MiB): a dump of millions of
/// goroutines is told apart from another report by its first ones.
const MAX_GOROUTINE_IDS: usize = 1 << 16;
/// Roots remembered per report.
const MAX_ROOTS: usize = 16;
/// Directories a report remembers having read its roots from.
#[cfg(not(target_arch = "wasm32"))]
const DIRS_SEEN: usize = 8;
/// Lines in another writer's shape held in a row, at most.
const MAX_HELD_LOG_LINES: usize = 256;

/// The reassembler; see the module docs.
pub struct Reassembler<K, L> {
    cfg: Config,
    open: Table<K, Stream<L>>,
    next_seq: u64,
    stats: Stats,
    /// Lines to read (again), as a stack; kept to reuse its allocation.
    work: Vec<Timed<L>>,
    /// The memory the streams hold, as last counted ([`Stream::cost`]).
    held_bytes: usize,
}

impl<K: Hash + Eq + Clone, L: Line> Reassembler<K, L> {
    /// A reassembler with no stream open.
    pub fn new(cfg: Config) -> Self {
        Reassembler {
            cfg,
            open: Table::new(),
            next_seq: 0,
            stats: Stats::default(),
            work: Vec::new(),
            held_bytes: 0,
        }
    }

    /// The limits and timing in force.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Counters since creation.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Number of streams holding an open report.
    pub fn open_reports(&self) -> usize {
        self.open.len()
    }

    /// Whether stream `key` holds an open report (or lines held while the
    /// grammar decides).
    pub fn holds(&self, key: &K) -> bool {
        self.open.contains_key(key)
    }

    /// The memory the open streams hold, as counted against
    /// [`Config::max_held_bytes`]: their lines (text and whatever else a
    /// host's line carries, see [`Line::mem_bytes`]) and the bookkeeping
    /// around them.
    pub fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    /// Replaces the limits and timing; open reports keep their lines and are
    /// judged by the new values from the next line or tick on (for hosts
    /// whose settings arrive at run time).
    pub fn set_config(&mut self, cfg: Config) {
        self.cfg = cfg;
    }

    /// Feeds one line of stream `key` that arrived at `now`; appends what
    /// leaves to `out`.
    pub fn push(&mut self, key: &K, line: L, now: i64, out: &mut Vec<Output<K, L>>) {
        self.stats.lines_in += 1;
        // (Not in the wasm builds, for their size: the Fluent Bit module
        // passes most lines by before they reach the reassembler.)
        #[cfg(not(target_arch = "wasm32"))]
        let Err(line) = self.push_common(key, line, now, out) else {
            return;
        };
        self.close_idle(key, now, out);
        // `work` is a stack: lines to read afresh are pushed in reverse.
        let mut work = std::mem::take(&mut self.work);
        work.push(Timed { line, time: now });
        while let Some(t) = work.pop() {
            self.step(key, t, &mut work, out);
        }
        self.work = work;
        self.recount(key);
        self.keep_budget(out);
    }

    /// The two ways most lines take, done as `step` would do them but
    /// without the work stack: a line of a stream with nothing open that
    /// opens nothing leaves as it came (most lines of a node); a line that
    /// the one open report of its stream continues, with no line held or
    /// pending and the report not idle, joins it (most lines of a crash).
    /// Any other line comes back for the general path.
    #[cfg(not(target_arch = "wasm32"))]
    fn push_common(
        &mut self,
        key: &K,
        line: L,
        now: i64,
        out: &mut Vec<Output<K, L>>,
    ) -> Result<(), L> {
        let kind = line_kind(line.text());
        let Some(s) = self.open.get_mut(key) else {
            if starts_report(kind) {
                return Err(line);
            }
            out.push(Output::Line(key.clone(), line));
            self.keep_budget(out);
            return Ok(());
        };
        let pos = match s.reports.as_slice() {
            [r] if s.held.is_empty()
                && s.pending.is_empty()
                && kind != LineKind::RaceDelimiter
                && !is_idle(r, &self.cfg, now) =>
            {
                let hb = HeldBefore::default();
                match step_in(r, &r.st, hb, false, kind, line.text()) {
                    Step::Continue(pos) => pos,
                    _ => return Err(line),
                }
            }
            _ => return Err(line),
        };
        // What `continue_report` and the recount do with such a line.
        let turn = s.next_turn();
        let Some(r) = s.reports.first_mut() else {
            return Err(line);
        };
        // Only the report changes: the stream's cost moves by its cost's.
        let before = r.cost();
        let mut to = Emit {
            cfg: &self.cfg,
            stats: &mut self.stats,
            key,
            out,
        };
        s.last = take_line(r, Timed { line, time: now }, kind, pos, turn, &mut to);
        s.foreign_run = 0;
        let cost = (s.cost + r.cost()).saturating_sub(before);
        debug_assert_eq!(cost, s.cost());
        self.held_bytes = self.held_bytes.saturating_sub(s.cost) + cost;
        s.cost = cost;
        self.keep_budget(out);
        Ok(())
    }

    /// Closes every report idle since `now - idle_timeout`.
    pub fn tick(&mut self, now: i64, out: &mut Vec<Output<K, L>>) {
        let mut idle: Vec<(u64, K)> = self
            .open
            .iter()
            .filter_map(|(k, s)| {
                s.reports
                    .iter()
                    .filter(|r| is_idle(r, &self.cfg, now))
                    .map(|r| r.seq)
                    .min()
                    .map(|seq| (seq, k.clone()))
            })
            .collect();
        idle.sort_unstable_by_key(|(seq, _)| *seq);
        for (_, k) in idle {
            self.close_idle(&k, now, out);
            self.recount(&k);
        }
    }

    /// Closes the reports of `key` that are idle at `now`: for hosts whose
    /// streams keep clocks of their own (the Fluent Bit filter advances each
    /// stream's clock from heartbeats after its last line).
    pub fn tick_stream(&mut self, key: &K, now: i64, out: &mut Vec<Output<K, L>>) {
        self.close_idle(key, now, out);
        self.recount(key);
    }

    /// Closes the open reports of `key`, if any, as if nothing more could
    /// come: for hosts that enforce bounds of their own (memory across
    /// streams, a stream going away).
    pub fn close_stream(&mut self, key: &K, out: &mut Vec<Output<K, L>>) {
        if self.open.contains_key(key) {
            self.close(key, out);
        }
    }

    /// The streams holding an open report, with the bytes of text each holds
    /// (report lines and held lines).
    pub fn open_streams(&self) -> impl Iterator<Item = (&K, usize)> {
        self.open.iter().map(|(k, s)| {
            let held: usize = s.held.iter().map(|h| h.line.text().len() + 1).sum();
            let pending: usize = s.pending.iter().map(|h| h.line.text().len() + 1).sum();
            let reports: usize = s.reports.iter().map(|r| r.bytes).sum();
            (k, reports + held + pending)
        })
    }

    /// Closes every open report (end of input).
    pub fn finish(&mut self, out: &mut Vec<Output<K, L>>) {
        let mut all: Vec<(u64, K)> = self
            .open
            .iter()
            .map(|(k, s)| {
                (
                    s.reports.iter().map(|r| r.seq).min().unwrap_or(0),
                    k.clone(),
                )
            })
            .collect();
        all.sort_unstable_by_key(|(seq, _)| *seq);
        for (_, k) in all {
            self.close(&k, out);
        }
    }

    /// Counts again what stream `key` holds (after a line or a close).
    fn recount(&mut self, key: &K) {
        if let Some(s) = self.open.get_mut(key) {
            let cost = s.cost();
            self.held_bytes = self.held_bytes.saturating_sub(s.cost) + cost;
            s.cost = cost;
        }
    }

    /// Past [`Config::max_held_bytes`], frees memory down to 7/8 of it (so
    /// that a host at the bound does not search the streams on every line):
    /// the stream holding the most gives up its largest report's lines as a
    /// part, as [`Config::max_report_bytes`] would, or closes when that
    /// frees more (its held lines, an unproven report, bookkeeping).
    fn keep_budget(&mut self, out: &mut Vec<Output<K, L>>) {
        if self.held_bytes <= self.cfg.max_held_bytes {
            return;
        }
        let target = self.cfg.max_held_bytes / 8 * 7;
        while self.held_bytes > target {
            let largest = self.open.iter().max_by_key(|(_, s)| s.cost);
            let Some(key) = largest.map(|(k, _)| k.clone()) else {
                return;
            };
            if !self.split_largest(&key, out) {
                self.close(&key, out);
            }
            self.recount(&key);
        }
    }

    /// The largest confirmed report of `key` leaves as a part, if its lines
    /// take more memory than the stream's held and pending lines; the rest
    /// of it follows as further parts.
    fn split_largest(&mut self, key: &K, out: &mut Vec<Output<K, L>>) -> bool {
        let Some(s) = self.open.get_mut(key) else {
            return false;
        };
        let held = s.held.iter().map(|h| line_cost(&h.line));
        let waiting: usize = held
            .chain(s.pending.iter().map(|t| line_cost(&t.line)))
            .sum();
        let largest = s.reports.iter_mut().max_by_key(|r| r.mem);
        let Some(r) = largest.filter(|r| r.st.confirmed && !r.lines.is_empty()) else {
            return false;
        };
        if r.mem < waiting {
            return false;
        }
        let mut to = Emit {
            cfg: &self.cfg,
            stats: &mut self.stats,
            key,
            out,
        };
        emit_part(r, &mut to);
        true
    }

    /// Removes the stream of `key`, uncounting what it held.
    fn drop_stream(&mut self, key: &K) -> Option<Stream<L>> {
        let s = self.open.remove(key)?;
        self.held_bytes = self.held_bytes.saturating_sub(s.cost);
        Some(s)
    }

    /// Closes the reports of `key` idle at `now`, oldest first.
    fn close_idle(&mut self, key: &K, now: i64, out: &mut Vec<Output<K, L>>) {
        let Some(s) = self.open.get(key) else {
            return;
        };
        let idle: Vec<u64> = s
            .reports
            .iter()
            .filter(|r| is_idle(r, &self.cfg, now))
            .map(|r| r.seq)
            .collect();
        if idle.is_empty() {
            return;
        }
        if idle.len() == s.reports.len() {
            self.close(key, out);
            return;
        }
        self.resolve_pending(key, out);
        for seq in idle {
            self.close_one(key, seq, out);
        }
    }

    /// Reads one line in the state of its stream.
    fn step(
        &mut self,
        key: &K,
        t: Timed<L>,
        work: &mut Vec<Timed<L>>,
        out: &mut Vec<Output<K, L>>,
    ) {
        let kind = line_kind(t.line.text());
        let Some(t) = self.step_pending(key, t, kind, out) else {
            return;
        };
        let Some(s) = self.open.get_mut(key) else {
            self.start(key, t, kind, out);
            return;
        };
        let fit = fit(s, kind, t.line.text());
        match fit.first {
            Some((i, pos)) if fit.others.is_empty() => {
                self.continue_report(key, i, t, kind, pos, out);
            }
            Some(first) => {
                let mut cands = fit.others;
                cands.insert(0, first);
                self.take_undecided(key, t, kind, &cands, out);
            }
            None => self.step_unclaimed(key, t, kind, &fit, work, out),
        }
    }

    /// A line that several reports continue equally well: a location line's
    /// file may single one out; otherwise each candidate taking it is a
    /// hypothesis, and the next lines decide (see `step_pending`).
    fn take_undecided(
        &mut self,
        key: &K,
        t: Timed<L>,
        kind: LineKind,
        cands: &[(usize, Pos)],
        out: &mut Vec<Output<K, L>>,
    ) {
        let Some(s) = self.open.get_mut(key) else {
            out.push(Output::Line(key.clone(), t.line));
            return;
        };
        let text = t.line.text();
        let pick = if kind == LineKind::Indented && is_location(text) {
            best_by_affinity(s, cands, text)
        } else {
            None
        };
        if let Some((i, pos)) = pick {
            self.continue_report(key, i, t, kind, pos, out);
            return;
        }
        s.beam = open_beam(s, cands, kind, text);
        s.pending.push(t);
    }

    /// A line that no open report of its stream continues: it disproves an
    /// unconfirmed report, starts one of its own, leaves as another writer's
    /// line, or waits (held) for the next lines to tell.
    fn step_unclaimed(
        &mut self,
        key: &K,
        t: Timed<L>,
        kind: LineKind,
        fit: &Fit,
        work: &mut Vec<Timed<L>>,
        out: &mut Vec<Output<K, L>>,
    ) {
        let log_line = is_log_line_of_kind(kind, t.line.text());
        if fit.end_unconfirmed && !log_line {
            self.disprove(key, t, work, out);
            return;
        }
        if starts_report(kind) {
            self.start(key, t, kind, out);
            return;
        }
        let unconfirmed_waits = fit.end_unconfirmed && log_line;
        let Some(s) = self.open.get_mut(key) else {
            out.push(Output::Line(key.clone(), t.line));
            return;
        };
        if log_line && s.held.is_empty() && !unconfirmed_waits {
            // Another writer's line where no report can take it: it leaves
            // at once, whatever the reports do next.
            self.stats.foreign_lines += 1;
            out.push(Output::Line(key.clone(), t.line));
            return;
        }
        if fit.hold || unconfirmed_waits {
            self.hold(key, t, log_line, work, out);
            return;
        }
        if s.foreign_run >= self.cfg.max_interleaved_lines && !log_line {
            work.push(t);
            self.end_all(key, work, out);
            return;
        }
        if !log_line {
            s.foreign_run += 1;
        }
        self.stats.foreign_lines += 1;
        out.push(Output::Line(key.clone(), t.line));
    }

    /// An unproven start that the line disproves: its lines are read again
    /// as ordinary lines (the first) or afresh (the rest), then the line.
    fn disprove(
        &mut self,
        key: &K,
        t: Timed<L>,
        work: &mut Vec<Timed<L>>,
        out: &mut Vec<Output<K, L>>,
    ) {
        work.push(t);
        let seqs: Vec<u64> = self
            .open
            .get(key)
            .map(|s| {
                s.reports
                    .iter()
                    .filter(|r| !r.st.confirmed)
                    .map(|r| r.seq)
                    .collect()
            })
            .unwrap_or_default();
        self.resolve_pending(key, out);
        for seq in seqs {
            self.end_one(key, seq, work, out);
        }
    }

    /// Holds a line whose fate the next lines decide, unless too many wait
    /// already: then the reports ended before them (their writer died), they
    /// leave, and the held lines are read afresh.
    fn hold(
        &mut self,
        key: &K,
        t: Timed<L>,
        log_line: bool,
        work: &mut Vec<Timed<L>>,
        out: &mut Vec<Output<K, L>>,
    ) {
        let Some(s) = self.open.get_mut(key) else {
            out.push(Output::Line(key.clone(), t.line));
            return;
        };
        let limit = if log_line {
            MAX_HELD_LOG_LINES
        } else {
            self.cfg.max_interleaved_lines
        };
        // Counted since the newest report started: lines held before it are
        // not its own.
        let newest = s.reports.iter().map(|r| r.seq).max().unwrap_or(0);
        let since = s.held.iter().filter(|h| h.after >= newest);
        let count = if log_line {
            since.count()
        } else {
            since.filter(|h| !h.log_line).count()
        };
        if count >= limit {
            work.push(t);
            self.end_all(key, work, out);
            return;
        }
        let turn = s.next_turn();
        s.held.push(HeldLine {
            line: t.line,
            time: t.time,
            after: self.next_seq,
            turn,
            log_line,
        });
    }

    /// With lines pending (they continued several reports equally well),
    /// reads the next line under each hypothesis of who took them. Returns
    /// the line unless it was taken (into the pending lines, or out as
    /// another writer's line).
    fn step_pending(
        &mut self,
        key: &K,
        t: Timed<L>,
        kind: LineKind,
        out: &mut Vec<Output<K, L>>,
    ) -> Option<Timed<L>> {
        let Some(s) = self.open.get_mut(key) else {
            return Some(t);
        };
        if s.pending.is_empty() {
            return Some(t);
        }
        let text = t.line.text();
        if is_log_line_of_kind(kind, text) {
            // Another writer's line: it changes nothing here.
            self.stats.foreign_lines += 1;
            out.push(Output::Line(key.clone(), t.line));
            return None;
        }
        let mut next = extend_beam(s, kind, text);
        if kind == LineKind::Indented && is_location(text) && !next.is_empty() {
            // The file tells binaries apart (see `best_scored`).
            keep_best_scored(&mut next);
        }
        let beam = fewest_switches(s.last, next);
        if beam.is_empty() || s.pending.len() >= MAX_PENDING {
            // The line continues no hypothesis (or too many lines wait): the
            // pending lines go as the likeliest one says, then the line is
            // read as usual.
            self.resolve_pending(key, out);
            return Some(t);
        }
        s.beam = beam;
        s.pending.push(t);
        self.commit_agreed(key, out);
        None
    }

    /// Commits the pending lines that every hypothesis gives to the same
    /// report.
    fn commit_agreed(&mut self, key: &K, out: &mut Vec<Output<K, L>>) {
        loop {
            let Some(s) = self.open.get_mut(key) else {
                return;
            };
            let first = s.beam.first().and_then(|h| h.owners.first().copied());
            let Some(owner) = first else {
                return;
            };
            if s.pending.is_empty() || s.beam.iter().any(|h| h.owners.first() != Some(&owner)) {
                return;
            }
            for h in &mut s.beam {
                h.owners.remove(0);
            }
            let t = s.pending.remove(0);
            if s.pending.is_empty() {
                s.beam.clear();
            }
            self.commit_line(key, owner, t, out);
        }
    }

    /// Gives all pending lines as the likeliest hypothesis says: the one
    /// that switches least between reports, starting from the report that
    /// took the last line (writers write in runs).
    fn resolve_pending(&mut self, key: &K, out: &mut Vec<Output<K, L>>) {
        let Some(s) = self.open.get_mut(key) else {
            return;
        };
        if s.pending.is_empty() {
            return;
        }
        let owners = s
            .beam
            .iter()
            .min_by_key(|h| switches(s.last, h))
            .map(|h| h.owners.clone())
            .unwrap_or_default();
        let pending = std::mem::take(&mut s.pending);
        s.beam.clear();
        for (n, t) in pending.into_iter().enumerate() {
            let owner = owners.get(n).copied().unwrap_or(0);
            self.commit_line(key, owner, t, out);
        }
    }

    /// A pending line continues report `seq` (0: it waits as a held line).
    fn commit_line(&mut self, key: &K, seq: u64, t: Timed<L>, out: &mut Vec<Output<K, L>>) {
        let after = self.next_seq;
        let Some(s) = self.open.get_mut(key) else {
            out.push(Output::Line(key.clone(), t.line));
            return;
        };
        let kind = line_kind(t.line.text());
        let several = s.reports.len() > 1;
        let step = s.reports.iter().position(|r| r.seq == seq).and_then(|i| {
            let r = s.reports.get(i)?;
            let hb = held_before(&s.held, r);
            Some((i, step_in(r, &r.st, hb, several, kind, t.line.text())))
        });
        match step {
            Some((i, Step::Continue(pos))) => self.continue_report(key, i, t, kind, pos, out),
            _ if kind == LineKind::Blank || seq == 0 => {
                let turn = s.next_turn();
                s.held.push(HeldLine {
                    log_line: is_log_line_of_kind(kind, t.line.text()),
                    line: t.line,
                    time: t.time,
                    after,
                    turn,
                });
            }
            _ => {
                self.stats.foreign_lines += 1;
                out.push(Output::Line(key.clone(), t.line));
            }
        }
    }

    /// A line that no open report continues: ordinary, or the start of a
    /// report (alongside the open ones of its stream, if any).
    fn start(&mut self, key: &K, t: Timed<L>, kind: LineKind, out: &mut Vec<Output<K, L>>) {
        let Some((event, confirmed, pos)) = opening(kind) else {
            out.push(Output::Line(key.clone(), t.line));
            return;
        };
        self.make_room(key, out);
        self.next_seq += 1;
        let seq = self.next_seq;
        let Some(s) = self.open.get_or_insert_with(key, Stream::new) else {
            out.push(Output::Line(key.clone(), t.line));
            return;
        };
        let st = State::opened(event, confirmed, pos, kind);
        let turn = s.next_turn();
        s.reports.push(OpenReport::new(seq, st, t, kind, turn));
        if s.reports.len() > 1 {
            // From now on each goroutine header is checked against them.
            for r in &mut s.reports {
                r.goroutines.index();
            }
        }
        s.last = seq;
        s.foreign_run = 0;
    }

    /// Before a report opens in stream `key`: the stream's reports that look
    /// finished leave, and the bounds on open streams and on reports per
    /// stream close the oldest.
    fn make_room(&mut self, key: &K, out: &mut Vec<Output<K, L>>) {
        // Reports whose last goroutine block is complete leave now: one
        // writer's reports follow one another far more often than two
        // writers crash at once, and hosts see the report without waiting for
        // its idle time. One mid-block stays open for its writer.
        let finished: Vec<u64> = self
            .open
            .get(key)
            .map(|s| {
                s.reports
                    .iter()
                    .filter(|r| r.st.confirmed && looks_finished(&r.st))
                    .map(|r| r.seq)
                    .collect()
            })
            .unwrap_or_default();
        if !finished.is_empty() {
            self.resolve_pending(key, out);
            for seq in finished {
                self.close_one(key, seq, out);
            }
        }
        if !self.open.contains_key(key) && self.open.len() >= self.cfg.max_open_streams {
            self.evict_one(out);
        }
        let per_stream = self.cfg.max_reports_per_stream.max(1);
        if self
            .open
            .get(key)
            .is_some_and(|s| s.reports.len() >= per_stream)
        {
            self.resolve_pending(key, out);
            let oldest = self
                .open
                .get(key)
                .and_then(|s| s.reports.first())
                .map(|r| r.seq);
            if let Some(seq) = oldest {
                self.close_one(key, seq, out);
            }
        }
    }

    /// Report `i` of `key` continues with the line, which leaves it at
    /// `pos`; the held lines before it are settled first.
    fn continue_report(
        &mut self,
        key: &K,
        i: usize,
        t: Timed<L>,
        kind: LineKind,
        pos: Pos,
        out: &mut Vec<Output<K, L>>,
    ) {
        let Some(s) = self.open.get_mut(key) else {
            out.push(Output::Line(key.clone(), t.line));
            return;
        };
        let several = s.reports.len() > 1;
        let turn = s.next_turn();
        let Some(r) = s.reports.get_mut(i) else {
            out.push(Output::Line(key.clone(), t.line));
            return;
        };
        let mut to = Emit {
            cfg: &self.cfg,
            stats: &mut self.stats,
            key,
            out,
        };
        if !s.held.is_empty() {
            let held = std::mem::take(&mut s.held);
            s.held = settle_held(r, held, kind, several, &mut to);
        }
        // The held lines it left are no longer its own.
        let seq = take_line(r, t, kind, pos, turn, &mut to);
        s.last = seq;
        s.foreign_run = 0;
        if kind == LineKind::RaceDelimiter {
            // The closing delimiter: nothing more can belong to this report.
            self.close_one(key, seq, out);
        }
    }

    /// Report `seq` of `key` leaves (or, never confirmed, its first line
    /// leaves as an ordinary line and the others are read afresh).
    fn end_one(
        &mut self,
        key: &K,
        seq: u64,
        work: &mut Vec<Timed<L>>,
        out: &mut Vec<Output<K, L>>,
    ) {
        let Some(s) = self.open.get_mut(key) else {
            return;
        };
        let Some(i) = s.reports.iter().position(|r| r.seq == seq) else {
            return;
        };
        let r = s.reports.remove(i);
        let stream_done = s.reports.is_empty();
        if !stream_done && s.last == seq {
            s.last = s.reports.last().map_or(0, |r| r.seq);
        }
        let mut again: Vec<Timed<L>> = Vec::new();
        if r.st.confirmed {
            self.leave_in_order(key, r, out);
        } else {
            self.disown(key, r, stream_done, &mut again, out);
        }
        if stream_done {
            // Nothing can own the held lines now: they are read afresh.
            if let Some(s) = self.drop_stream(key) {
                for d in s.done {
                    self.emit(key, d.event, (d.lines, d.kinds), d.split, out);
                }
                again.extend(s.held.into_iter().map(|h| Timed {
                    line: h.line,
                    time: h.time,
                }));
                again.extend(s.pending);
            }
        }
        // `work` is a stack: these arrived before the line on top of it.
        work.extend(again.into_iter().rev());
    }

    /// A confirmed report leaves, after the reports of its stream that
    /// started before it: one that ends while an older one is still open
    /// waits for it.
    fn leave_in_order(&mut self, key: &K, r: OpenReport<L>, out: &mut Vec<Output<K, L>>) {
        let Some(s) = self.open.get_mut(key) else {
            self.emit(key, r.st.event, (r.lines, r.kinds), r.split, out);
            return;
        };
        s.done.push(Done {
            seq: r.seq,
            event: r.st.event,
            lines: r.lines,
            kinds: r.kinds,
            split: r.split,
            mem: r.mem,
        });
        let oldest_open = s.reports.first().map_or(u64::MAX, |o| o.seq);
        s.done.sort_unstable_by_key(|d| d.seq);
        let ready = s.done.partition_point(|d| d.seq < oldest_open);
        let ready: Vec<Done<L>> = s.done.drain(..ready).collect();
        for d in ready {
            self.emit(key, d.event, (d.lines, d.kinds), d.split, out);
        }
    }

    /// An unconfirmed report ends: its first line is an ordinary line (held
    /// while other reports of the stream are open, not to leave before
    /// them), the others go to `again` to be read afresh.
    ///
    /// The first line is held as it would have been when it arrived: in
    /// its place among the held lines and with the turn the report opened
    /// at. Held anew, it would come after lines held since, and a report
    /// that took a line in between (an old-style panic value line, say)
    /// would own it and take it after that line.
    fn disown(
        &mut self,
        key: &K,
        r: OpenReport<L>,
        stream_done: bool,
        again: &mut Vec<Timed<L>>,
        out: &mut Vec<Output<K, L>>,
    ) {
        let mut lines = r.lines.into_iter();
        if let Some(first) = lines.next() {
            match self.open.get_mut(key) {
                Some(s) if !stream_done => {
                    // Held lines are in turn order.
                    let at = s.held.partition_point(|h| h.turn < r.first_turn);
                    s.held.insert(
                        at,
                        HeldLine {
                            log_line: is_log_line(first.text()),
                            line: first,
                            time: r.last_time,
                            after: r.seq,
                            turn: r.first_turn,
                        },
                    );
                }
                _ => out.push(Output::Line(key.clone(), first)),
            }
        }
        again.extend(lines.map(|line| Timed {
            line,
            time: r.last_time,
        }));
    }

    /// Every report of `key` ends before the last line of `work`.
    fn end_all(&mut self, key: &K, work: &mut Vec<Timed<L>>, out: &mut Vec<Output<K, L>>) {
        self.resolve_pending(key, out);
        let seqs: Vec<u64> = self
            .open
            .get(key)
            .map(|s| s.reports.iter().map(|r| r.seq).collect())
            .unwrap_or_default();
        for seq in seqs {
            self.end_one(key, seq, work, out);
        }
    }

    /// Closes report `seq` of `key` because nothing more can come to it.
    fn close_one(&mut self, key: &K, seq: u64, out: &mut Vec<Output<K, L>>) {
        let mut work = Vec::new();
        self.end_one(key, seq, &mut work, out);
        self.reread(key, work, out);
    }

    /// Closes every report of `key` because nothing more can come (idle
    /// time, end of input, eviction): held lines leave as ordinary lines.
    fn close(&mut self, key: &K, out: &mut Vec<Output<K, L>>) {
        let mut work = Vec::new();
        self.end_all(key, &mut work, out);
        self.reread(key, work, out);
    }

    /// Reads lines afresh after a close: with no later line, anything they
    /// start is closed as well.
    fn reread(&mut self, key: &K, mut work: Vec<Timed<L>>, out: &mut Vec<Output<K, L>>) {
        if work.is_empty() {
            return;
        }
        let was_open = self.open.contains_key(key);
        while let Some(t) = work.pop() {
            self.step(key, t, &mut work, out);
        }
        if !was_open && self.open.contains_key(key) {
            let mut rest = Vec::new();
            self.end_all(key, &mut rest, out);
            // An unconfirmed restart yields only ordinary lines now.
            for t in rest.into_iter().rev() {
                out.push(Output::Line(key.clone(), t.line));
            }
        }
    }

    /// Past `max_open_streams`: the stream idle the longest closes.
    fn evict_one(&mut self, out: &mut Vec<Output<K, L>>) {
        let oldest = self
            .open
            .iter()
            .filter_map(|(k, s)| {
                let last = s.reports.iter().map(|r| (r.last_time, r.seq)).max()?;
                Some((last, k))
            })
            .min_by_key(|(last, _)| *last)
            .map(|(_, k)| k.clone());
        if let Some(k) = oldest {
            self.close(&k, out);
        }
    }

    fn emit(
        &mut self,
        key: &K,
        event: Event,
        (lines, kinds): (Vec<L>, LineKinds),
        split: Option<Split>,
        out: &mut Vec<Output<K, L>>,
    ) {
        if split.is_none_or(|s| s.part == 1) {
            self.stats.reports += 1;
        }
        self.stats.report_parts += 1;
        out.push(Output::Report(
            key.clone(),
            Report {
                event,
                lines,
                kinds,
                split,
            },
        ));
    }
}

/// Go prints at most this many innermost frames before eliding (Go 1.21+;
/// Go 1.19 and 1.20 print 100 and stop).
const TRACEBACK_INNER_FRAMES: usize = 50;

/// Whether the report has waited out its idle timeout at `now`.
fn is_idle<L>(r: &OpenReport<L>, cfg: &Config, now: i64) -> bool {
    let deep = r.st.block_elided || r.st.block_frames >= TRACEBACK_INNER_FRAMES;
    let timeout = if deep {
        cfg.deep_stack_idle_timeout_ns.max(cfg.idle_timeout_ns)
    } else {
        cfg.idle_timeout_ns
    };
    now.saturating_sub(r.last_time) >= timeout
}

/// How the open reports of a stream take a line.
struct Fit {
    /// The first report that continues with the line, and where it leaves it.
    first: Option<(usize, Pos)>,
    /// The other reports that continue with it (rarely any).
    others: Vec<(usize, Pos)>,
    /// A report may take it once the next lines tell.
    hold: bool,
    /// An unconfirmed report does not continue with it.
    end_unconfirmed: bool,
}

/// What each open report of `s` makes of a line.
fn fit<L: Line>(s: &Stream<L>, kind: LineKind, text: &str) -> Fit {
    let several = s.reports.len() > 1;
    let mut fit = Fit {
        first: None,
        others: Vec::new(),
        hold: false,
        end_unconfirmed: false,
    };
    for (i, r) in s.reports.iter().enumerate() {
        let hb = held_before(&s.held, r);
        let step = step_in(r, &r.st, hb, several, kind, text);
        match step {
            Step::Continue(pos) if fit.first.is_none() => fit.first = Some((i, pos)),
            Step::Continue(pos) => fit.others.push((i, pos)),
            Step::Hold => fit.hold = true,
            Step::Foreign | Step::End => {}
        }
        // Unconfirmed reports never hold or interleave: anything that does
        // not prove them ends them.
        if !r.st.confirmed && !matches!(step, Step::Continue(_)) {
            fit.end_unconfirmed = true;
        }
    }
    fit
}

/// The hypotheses for a line that the candidates continue equally well:
/// one per candidate taking it.
fn open_beam<L: Line>(
    s: &Stream<L>,
    cands: &[(usize, Pos)],
    kind: LineKind,
    text: &str,
) -> Vec<Hypothesis> {
    let now: Vec<(u64, State, HeldBefore)> = s
        .reports
        .iter()
        .map(|r| (r.seq, r.st, held_before(&s.held, r)))
        .collect();
    cands
        .iter()
        .filter_map(|&(i, pos)| {
            let seq = s.reports.get(i)?.seq;
            let mut states = now.clone();
            if takes_separator(kind) {
                // The blank line is this block's separator.
                for x in &mut states {
                    x.2.blank = false;
                }
            }
            let st = states.iter_mut().find(|x| x.0 == seq)?;
            advance(&mut st.1, kind, text, pos);
            st.2 = HeldBefore::default();
            Some(Hypothesis {
                owners: vec![seq],
                states,
                learned: Vec::new(),
            })
        })
        .collect()
}

/// Each hypothesis of `s` extended by each report that continues the line
/// in it (with that line's affinity), or by no report for a blank line that
/// may be a separator.
fn extend_beam<L: Line>(s: &Stream<L>, kind: LineKind, text: &str) -> Vec<(Hypothesis, i32)> {
    let several = s.reports.len() > 1;
    let mut next: Vec<(Hypothesis, i32)> = Vec::new();
    for h in &s.beam {
        let mut held_blank = false;
        for (k, &(seq, st, hb)) in h.states.iter().enumerate() {
            let Some(r) = s.reports.iter().find(|r| r.seq == seq) else {
                continue;
            };
            match step_in(r, &st, hb, several, kind, text) {
                Step::Continue(pos) => next.push(extend(h, r, k, hb, kind, text, pos)),
                Step::Hold if kind == LineKind::Blank => held_blank = true,
                _ => {}
            }
        }
        if held_blank {
            let mut c = h.clone();
            for x in &mut c.states {
                x.2 = HeldBefore {
                    any: true,
                    blank: true,
                };
            }
            c.owners.push(0);
            next.push((c, UNKNOWN));
        }
    }
    next
}

/// Hypothesis `h` with report `r` (its `k`th state, seeing `hb` held)
/// taking the line, which leaves it at `pos`; scored by the line's affinity
/// to `r` if it is a location line.
fn extend<L: Line>(
    h: &Hypothesis,
    r: &OpenReport<L>,
    k: usize,
    hb: HeldBefore,
    kind: LineKind,
    text: &str,
    pos: Pos,
) -> (Hypothesis, i32) {
    let mut c = h.clone();
    if hb.blank && takes_separator(kind) {
        // The blank line is this block's separator now.
        for x in &mut c.states {
            x.2.blank = false;
        }
    }
    if let Some(x) = c.states.get_mut(k) {
        advance(&mut x.1, kind, text, pos);
        x.2 = HeldBefore::default();
    }
    c.owners.push(r.seq);
    let location = kind == LineKind::Indented && is_location(text);
    let score = if location {
        affinity(r, text, &c.learned)
    } else {
        UNKNOWN
    };
    if location && let Some((std, root)) = root_of(text) {
        c.learned.push((r.seq, std, root.into()));
    }
    (c, score)
}

/// Keeps the hypotheses whose binary a location line's file may be (see
/// [`best_scored`]).
fn keep_best_scored(next: &mut Vec<(Hypothesis, i32)>) {
    let scored: Vec<(u64, i32)> = next
        .iter()
        .enumerate()
        .map(|(n, (_, score))| (n as u64, *score))
        .collect();
    let keep = best_scored(&scored);
    let mut n = 0;
    next.retain(|_| {
        n += 1;
        keep.contains(&(n - 1))
    });
}

/// The distinct hypotheses that switch least between reports (from report
/// `last`), at most [`MAX_HYPOTHESES`].
fn fewest_switches(last: u64, mut next: Vec<(Hypothesis, i32)>) -> Vec<Hypothesis> {
    next.sort_by_key(|(h, _)| switches(last, h));
    let mut beam: Vec<Hypothesis> = Vec::new();
    for (h, _) in next {
        if beam.len() < MAX_HYPOTHESES && !beam.iter().any(|b| b.owners == h.owners) {
            beam.push(h);
        }
    }
    beam
}

/// The report a line opens, if it opens one: its event, whether the line
/// proves it a crash report, and where the report is after it.
fn opening(kind: LineKind) -> Option<(Event, bool, Pos)> {
    let Opening {
        event,
        confirmed,
        then,
    } = role(kind).opens?;
    Some((event, confirmed, then))
}

impl State {
    /// The state after a report's opening line of kind `kind`.
    fn opened(event: Event, confirmed: bool, pos: Pos, kind: LineKind) -> Self {
        State {
            event,
            confirmed,
            http: kind == LineKind::HttpPanic,
            pos,
            block_frames: 0,
            block_elided: false,
            block_done: false,
            after_main: false,
            block_open: false,
            after_goexit: false,
            main_block: false,
            throws: u8::from(kind == LineKind::FatalError),
            first_running: matches!(kind, LineKind::Panic | LineKind::HttpPanic),
        }
    }
}

impl<L: Line> OpenReport<L> {
    /// A report opened by line `t` (of `kind`) at its stream's turn `turn`.
    fn new(seq: u64, st: State, t: Timed<L>, kind: LineKind, turn: u64) -> Self {
        let mut goroutines = Goroutines::new();
        if let Some(id) = goroutine_id(t.line.text()) {
            goroutines.insert(id);
        }
        OpenReport {
            st,
            bytes: t.line.text().len() + 1,
            mem: line_cost(&t.line),
            lines: vec![t.line],
            kinds: {
                let mut kinds = LineKinds::default();
                kinds.push(kind);
                kinds
            },
            last_time: t.time,
            split: None,
            seq,
            goroutines,
            roots: Vec::new(),
            #[cfg(not(target_arch = "wasm32"))]
            dirs: Vec::new(),
            #[cfg(not(target_arch = "wasm32"))]
            next_dir: 0,
            notes_bytes: 0,
            last_turn: turn,
            first_turn: turn,
        }
    }

    /// Remembers what a continuing line shows of the binary: a goroutine
    /// printed, a root its files live under.
    fn note(&mut self, kind: LineKind, pos: Pos, text: &str) {
        if kind == LineKind::GoroutineHeader
            && self.goroutines.len() < MAX_GOROUTINE_IDS
            && let Some(id) = goroutine_id(text)
        {
            self.goroutines.insert(id);
        }
        if kind == LineKind::Indented
            && pos == Pos::Location
            && self.roots.len() < MAX_ROOTS
            && let Some(dir) = location_dir(text)
            && self.new_dir(dir)
        {
            let root = root_of_dir(dir);
            if !self.roots.iter().any(|x| x.0 == root.0 && *x.1 == *root.1) {
                self.notes_bytes += root.1.len();
                self.roots.push((root.0, root.1.into()));
            }
        }
    }

    /// Whether `dir` is none of the directories of the last location lines
    /// noted; it becomes one. A root depends on the directory alone, and a
    /// dump's frames come from a few directories again and again.
    #[cfg(not(target_arch = "wasm32"))]
    fn new_dir(&mut self, dir: &str) -> bool {
        if self.dirs.iter().any(|d| **d == *dir) {
            return false;
        }
        self.notes_bytes += dir.len();
        if self.dirs.len() < DIRS_SEEN {
            self.dirs.push(dir.into());
        } else if let Some(d) = self.dirs.get_mut(usize::from(self.next_dir)) {
            self.notes_bytes -= d.len();
            *d = dir.into();
        }
        self.next_dir = (self.next_dir + 1) % DIRS_SEEN as u8;
        true
    }

    /// Every directory is new to the wasm builds, for their size.
    #[cfg(target_arch = "wasm32")]
    fn new_dir(&mut self, _dir: &str) -> bool {
        true
    }

    /// Bytes of memory the directory list takes beside its texts.
    fn dirs_cost(&self) -> usize {
        #[cfg(not(target_arch = "wasm32"))]
        return self.dirs.capacity() * std::mem::size_of::<Box<str>>();
        #[cfg(target_arch = "wasm32")]
        return 0;
    }

    /// Bytes of memory the report holds.
    fn cost(&self) -> usize {
        let spare = self.lines.capacity() - self.lines.len();
        std::mem::size_of::<Self>()
            + self.mem
            + spare * std::mem::size_of::<L>()
            + self.goroutines.cost()
            + self.roots.capacity() * std::mem::size_of::<(bool, Box<str>)>()
            + self.notes_bytes
            + self.dirs_cost()
            + self.kinds.heap_bytes()
    }
}

/// The goroutine ids a report printed. Only with another report open in
/// its stream are they asked for (see [`consistent`]), so until then they
/// are listed as they come, not hashed: most reports never share a stream.
/// (The wasm builds hash them from the start, for their size.)
enum Goroutines {
    #[cfg(not(target_arch = "wasm32"))]
    List(Vec<u64>),
    Set(HashSet<u64>),
}

impl Goroutines {
    fn new() -> Self {
        #[cfg(not(target_arch = "wasm32"))]
        return Goroutines::List(Vec::new());
        #[cfg(target_arch = "wasm32")]
        return Goroutines::Set(HashSet::new());
    }

    fn len(&self) -> usize {
        match self {
            #[cfg(not(target_arch = "wasm32"))]
            Goroutines::List(ids) => ids.len(),
            Goroutines::Set(ids) => ids.len(),
        }
    }

    fn insert(&mut self, id: u64) {
        match self {
            #[cfg(not(target_arch = "wasm32"))]
            Goroutines::List(ids) => ids.push(id),
            Goroutines::Set(ids) => {
                ids.insert(id);
            }
        }
    }

    fn contains(&self, id: u64) -> bool {
        match self {
            #[cfg(not(target_arch = "wasm32"))]
            Goroutines::List(ids) => ids.contains(&id),
            Goroutines::Set(ids) => ids.contains(&id),
        }
    }

    /// Makes the ids a set, for the lookups to come.
    fn index(&mut self) {
        #[cfg(not(target_arch = "wasm32"))]
        if let Goroutines::List(ids) = self {
            *self = Goroutines::Set(std::mem::take(ids).into_iter().collect());
        }
    }

    /// Bytes of memory the ids take.
    fn cost(&self) -> usize {
        match self {
            #[cfg(not(target_arch = "wasm32"))]
            Goroutines::List(ids) => ids.capacity() * std::mem::size_of::<u64>(),
            Goroutines::Set(ids) => ids.capacity() * (std::mem::size_of::<u64>() + 1),
        }
    }
}

/// Bytes of memory a line takes where the reassembler keeps it: the value
/// itself, what it keeps on the heap, and the allocator's share.
fn line_cost<L: Line>(line: &L) -> usize {
    std::mem::size_of::<L>() + line.mem_bytes() + ALLOC_OVERHEAD
}

/// What the allocator adds to a line's heap blocks, roughly: a header and
/// rounding for each (a decoded CRI line has one, its text; a host's own
/// line type may have more).
const ALLOC_OVERHEAD: usize = 48;

/// What a stream costs before any line: its entry, its key's heap (a
/// guess: keys are short names) and the allocator's share.
const KEY_OVERHEAD: usize = 64;

impl<L: Line> Stream<L> {
    fn new() -> Self {
        Stream {
            reports: Vec::new(),
            held: Vec::new(),
            pending: Vec::new(),
            beam: Vec::new(),
            foreign_run: 0,
            last: 0,
            done: Vec::new(),
            cost: 0,
            turn: 0,
        }
    }

    /// Advances the stream's turn (see [`Stream::turn`]) and returns it.
    fn next_turn(&mut self) -> u64 {
        self.turn += 1;
        self.turn
    }

    /// Bytes of memory the stream holds: its reports, held and pending
    /// lines, the hypotheses about them and the bookkeeping around them.
    fn cost(&self) -> usize {
        let reports: usize = self.reports.iter().map(OpenReport::cost).sum();
        let done: usize = self.done.iter().map(|d| d.mem).sum();
        let held: usize = self.held.iter().map(|h| line_cost(&h.line)).sum();
        let pending: usize = self.pending.iter().map(|t| line_cost(&t.line)).sum();
        let beam: usize = self.beam.iter().map(Hypothesis::cost).sum();
        std::mem::size_of::<Self>()
            + KEY_OVERHEAD
            + self.reports.capacity() * std::mem::size_of::<OpenReport<L>>()
            + self.done.capacity() * std::mem::size_of::<Done<L>>()
            + self.held.capacity() * std::mem::size_of::<HeldLine<L>>()
            + self.pending.capacity() * std::mem::size_of::<Timed<L>>()
            + reports
            + done
            + held
            + pending
            + beam
    }
}

impl Hypothesis {
    /// Bytes of memory the hypothesis holds.
    fn cost(&self) -> usize {
        let learned: usize = self.learned.iter().map(|l| l.2.len()).sum();
        std::mem::size_of::<Self>()
            + self.owners.capacity() * std::mem::size_of::<u64>()
            + self.states.capacity() * std::mem::size_of::<(u64, State, HeldBefore)>()
            + self.learned.capacity() * std::mem::size_of::<(u64, bool, Box<str>)>()
            + learned
    }
}

/// Where a report's lines and parts leave to, and under which bounds.
struct Emit<'a, K, L> {
    cfg: &'a Config,
    stats: &'a mut Stats,
    key: &'a K,
    out: &'a mut Vec<Output<K, L>>,
}

/// The line that continues report `r` (of kind `kind`) proves what the
/// held lines were: blank lines and lines of a panic value belong to the
/// report, anything else was foreign. Returns the lines still held.
fn settle_held<K: Clone, L: Line>(
    r: &mut OpenReport<L>,
    held: Vec<HeldLine<L>>,
    kind: LineKind,
    several: bool,
    to: &mut Emit<'_, K, L>,
) -> Vec<HeldLine<L>> {
    // Lines after the last blank line are never value lines (Go prints the
    // value, then one blank line, then the goroutine header), and a line in
    // a log's shape is no value line either.
    let value_lines =
        r.st.pos == Pos::Message && matches!(r.st.event, Event::Panic | Event::HttpPanic);
    let since = r.last_turn;
    let mine = |h: &HeldLine<L>| h.turn > since;
    let last_blank = held
        .iter()
        .rposition(|h| mine(h) && is_blank(h.line.text()));
    let mut keep = Vec::new();
    for (j, h) in held.into_iter().enumerate() {
        let text = h.line.text();
        let mine = mine(&h);
        let blank = is_blank(text);
        let value = value_lines && last_blank.is_some_and(|b| j < b) && !h.log_line;
        // Go prints one blank line before a block: with several reports
        // open, an earlier blank may be another report's separator.
        let separator = blank && takes_separator(kind) && (!several || last_blank == Some(j));
        if mine && (separator || value) {
            // Read only where reports keep their kinds (see `LineKinds`).
            let kind = if cfg!(target_arch = "wasm32") {
                LineKind::Other
            } else {
                line_kind(text)
            };
            add_line(r, h.line, kind, to);
        } else if blank && several {
            // Perhaps the separator of another report's next block; never
            // this report's now (see `Stream::turn`).
            keep.push(h);
        } else {
            to.stats.foreign_lines += 1;
            to.out.push(Output::Line(to.key.clone(), h.line));
        }
    }
    keep
}

/// Report `r` takes line `t` (of `kind`, at `pos`) in stream turn `turn`:
/// its state advances and the line joins it. Returns the report's `seq`.
// Inlined: two callers, and the wasm builds have no room for a call.
#[inline(always)]
fn take_line<K: Clone, L: Line>(
    r: &mut OpenReport<L>,
    t: Timed<L>,
    kind: LineKind,
    pos: Pos,
    turn: u64,
    to: &mut Emit<'_, K, L>,
) -> u64 {
    r.last_turn = turn;
    let text = t.line.text();
    advance(&mut r.st, kind, text, pos);
    r.note(kind, pos, text);
    r.last_time = r.last_time.max(t.time);
    add_line(r, t.line, kind, to);
    r.seq
}

/// Appends a line (of `kind`) to the report, first sending out the part
/// gathered so far when the line would break a bound.
fn add_line<K: Clone, L: Line>(
    r: &mut OpenReport<L>,
    line: L,
    kind: LineKind,
    to: &mut Emit<'_, K, L>,
) {
    let len = if to.cfg.json_text {
        // The joining newline is written `\n`.
        crate::record::json_cut(line.text(), usize::MAX, true).1 + 2
    } else {
        line.text().len() + 1
    };
    let full = r.lines.len() >= to.cfg.max_report_lines || r.bytes + len > to.cfg.max_report_bytes;
    if full && !r.lines.is_empty() {
        emit_part(r, to);
    }
    r.bytes += len;
    r.mem += line_cost(&line);
    r.lines.push(line);
    r.kinds.push(kind);
}

/// The lines of report `r` gathered so far leave as a part; the report
/// goes on in the next part.
fn emit_part<K: Clone, L>(r: &mut OpenReport<L>, to: &mut Emit<'_, K, L>) {
    let split = r.split.get_or_insert(Split { id: r.seq, part: 1 });
    let this = *split;
    split.part += 1;
    if this.part == 1 {
        to.stats.reports += 1;
    }
    to.stats.report_parts += 1;
    to.out.push(Output::Report(
        to.key.clone(),
        Report {
            event: r.st.event,
            lines: std::mem::take(&mut r.lines),
            kinds: std::mem::take(&mut r.kinds),
            split: Some(this),
        },
    ));
    r.bytes = 0;
    r.mem = 0;
}

/// What a continuing line does to the state.
fn advance(st: &mut State, kind: LineKind, text: &str, pos: Pos) {
    confirm(st, kind);
    match kind {
        LineKind::GoroutineHeader | LineKind::RuntimeStack => {
            st.first_running = false;
            let id = goroutine_id(text);
            st.block_open = id.is_some_and(|id| id > 0);
            st.main_block = id == Some(1);
            st.after_goexit = false;
            st.block_frames = 0;
            st.block_elided = false;
            st.block_done = false;
            st.after_main = false;
        }
        LineKind::Function => {
            st.block_frames += 1;
            st.after_main = text.starts_with("main.main(");
            st.after_goexit = text.starts_with("runtime.goexit(");
            // Goroutine 1 ends at the bottom of the main goroutine.
            if st.after_main || st.after_goexit || text.starts_with("runtime.main(") {
                st.block_open &= !st.main_block;
            }
        }
        LineKind::CreatedBy => {
            st.block_done = true;
            st.block_open = false;
        }
        LineKind::Elided | LineKind::StackUnavailable => {
            st.block_elided |= kind == LineKind::Elided;
            st.block_open = false;
        }
        LineKind::FatalError => st.throws = st.throws.saturating_add(1),
        _ => {}
    }
    st.pos = pos;
}

/// Records what a continuing line proves about the report.
fn confirm(st: &mut State, kind: LineKind) {
    let Some(proved) = role(kind).proves else {
        return;
    };
    // A frame makes a goroutine dump only of `runtime:` lead-ins; other
    // unproven starts keep their event.
    if !st.confirmed && (proved != Event::GoroutineDump || st.event == Event::FatalError) {
        st.event = proved;
    }
    st.confirmed = true;
}

/// What `kind` does to report `r` in state `st` (its own, or the one a
/// hypothesis gives it), with several reports open or not.
fn step_in<L>(
    r: &OpenReport<L>,
    st: &State,
    hb: HeldBefore,
    several: bool,
    kind: LineKind,
    text: &str,
) -> Step {
    let mut step = next_step(st, hb, kind, text);
    if several && hb.blank && st.pos == Pos::Location && !matches!(step, Step::Continue(_)) {
        // A held blank line may be another report's separator: a frame
        // continues this one all the same.
        let blind = HeldBefore { blank: false, ..hb };
        if let frame @ Step::Continue(Pos::Function | Pos::Location) =
            next_step(st, blind, kind, text)
        {
            step = frame;
        }
    }
    match step {
        Step::Continue(_) if several && !consistent(r, st, kind, text) => Step::Foreign,
        s => s,
    }
}

/// Whether a report can be complete as it stands and nothing shows it is
/// not: its last goroutine block ended (`created by`, the main goroutine's
/// bottom frame) or its register dump has begun.
fn looks_finished(st: &State) -> bool {
    match st.pos {
        Pos::Location => st.block_frames > 0 && !st.block_open && !st.after_goexit,
        Pos::Register => true,
        _ => false,
    }
}

/// With several reports open in a stream, what the grammar allows but one
/// report's own history rules out.
fn consistent<L>(r: &OpenReport<L>, st: &State, kind: LineKind, text: &str) -> bool {
    match kind {
        // A traceback prints each goroutine once (twice only when two
        // threads threw at once).
        LineKind::GoroutineHeader => {
            !(st.pos == Pos::Location && st.block_open)
                && goroutine_id(text)
                    .is_none_or(|id| !r.goroutines.contains(id) || st.throws > 1)
                // A crash's first block is the crashing goroutine's.
                && (!st.first_running || is_running(text))
        }
        // After `created by` and its location, the goroutine is complete.
        LineKind::Function | LineKind::CreatedBy | LineKind::Elided
            if st.pos == Pos::Location && st.block_done =>
        {
            false
        }
        // Below `main.main` only the runtime's own `runtime.main` is printed.
        LineKind::Function if st.pos == Pos::Location && st.after_main => {
            text.starts_with("runtime.main(")
        }
        LineKind::CreatedBy if st.pos == Pos::Location && st.after_main => false,
        // Below `runtime.goexit` only the creator is printed.
        LineKind::Function if st.pos == Pos::Location && st.after_goexit => false,
        // A goroutine other than 0 and 1 ends with its creator.
        LineKind::RuntimeStack | LineKind::Register if st.pos == Pos::Location && st.block_open => {
            false
        }
        // A location line is not taken for a panic value's continuation
        // while another report waits for its frame's location.
        LineKind::Indented if st.pos == Pos::Message => !is_location(text),
        _ => true,
    }
}

/// The held lines as one report sees them: those held since it opened or
/// took its last line.
#[derive(Debug, Clone, Copy, Default)]
struct HeldBefore {
    any: bool,
    blank: bool,
}

fn held_before<L: Line>(held: &[HeldLine<L>], r: &OpenReport<L>) -> HeldBefore {
    let mut hb = HeldBefore::default();
    for h in held.iter().filter(|h| h.turn > r.last_turn) {
        hb.any = true;
        hb.blank |= is_blank(h.line.text());
    }
    hb
}

/// Among the candidates for a location line, the one whose binary the file
/// belongs to, if that singles one out; otherwise the one that took the last
/// line.
fn best_by_affinity<L: Line>(
    s: &Stream<L>,
    cands: &[(usize, Pos)],
    text: &str,
) -> Option<(usize, Pos)> {
    let scored: Vec<(u64, i32)> = cands
        .iter()
        .filter_map(|&(i, _)| {
            let r = s.reports.get(i)?;
            Some((r.seq, affinity(r, text, &[])))
        })
        .collect();
    let seq = pick_local(s.last, &best_scored(&scored));
    cands
        .iter()
        .copied()
        .find(|&(i, _)| s.reports.get(i).is_some_and(|r| r.seq == seq))
}

/// `last` if it is among `seqs`, else the newest of them.
fn pick_local(last: u64, seqs: &[u64]) -> u64 {
    if seqs.contains(&last) {
        last
    } else {
        seqs.iter().copied().max().unwrap_or(last)
    }
}

/// How well a location line's file fits the binary of report `r`: its
/// GOROOT or one of its source directories seen (3), nothing of that kind
/// seen yet ([`UNKNOWN`]), a source directory not seen yet (1), a different
/// GOROOT (0).
fn affinity<L>(r: &OpenReport<L>, text: &str, learned: &[(u64, bool, Box<str>)]) -> i32 {
    let Some((std, root)) = root_of(text) else {
        return UNKNOWN;
    };
    let roots = r.roots.iter().map(|(s, x)| (*s, &**x)).chain(
        learned
            .iter()
            .filter(|l| l.0 == r.seq)
            .map(|l| (l.1, &*l.2)),
    );
    let mut kind_seen = false;
    for (s, x) in roots {
        if s == std && x == root {
            return 3;
        }
        kind_seen |= s == std;
    }
    if !kind_seen {
        UNKNOWN
    } else if std {
        0
    } else {
        1
    }
}

/// The affinity of a report that has shown no file of the kind yet.
const UNKNOWN: i32 = 2;

/// The candidates a location line leaves: those whose binary it may be
/// (nothing against it, [`UNKNOWN`] or better), if any; else the least
/// contradicted. A known match is not preferred to a report that has shown
/// nothing of the kind yet: that could be the same binary.
fn best_scored(scored: &[(u64, i32)]) -> Vec<u64> {
    let best = scored.iter().map(|x| x.1).max().unwrap_or(UNKNOWN);
    let floor = best.min(UNKNOWN);
    scored
        .iter()
        .filter(|x| x.1 >= floor)
        .map(|x| x.0)
        .collect()
}

/// The directory of a location line's file, `None` for a file without
/// one. [`root_of`] depends on nothing else: it reads `/src/` and the
/// package path before the last `/`, or the directory itself.
fn location_dir(text: &str) -> Option<&str> {
    let rest = text.strip_prefix('\t')?;
    let (colon, _) = location_end(rest.as_bytes())?;
    let file = rest.get(..colon)?;
    file.get(..rfind_byte(file.as_bytes(), b'/')?)
}

/// Where a location line's file lives: `(true, GOROOT)` for the standard
/// library (`/usr/local/go/src/`, or `""` under `-trimpath`), `(false,
/// directory)` for everything else.
fn root_of(text: &str) -> Option<(bool, &str)> {
    location_dir(text).map(root_of_dir)
}

/// [`root_of`] a location line whose file is in `dir`. The file's path is
/// `dir/name`, and `name` holds no `/`: its last `/src/` is `dir`'s, unless
/// `dir` ends in `/src` (then the package path is the file's name alone,
/// which is no standard library path).
fn root_of_dir(dir: &str) -> (bool, &str) {
    if !dir.ends_with("/src")
        && let Some(at) = rfind_src(dir)
        && let Some((goroot, pkg)) = dir.split_at_checked(at + 5)
        && is_std_first(pkg)
    {
        return (true, goroot);
    }
    if !dir.is_empty() && !dir.starts_with('/') && is_std_first(dir) {
        return (true, "");
    }
    (false, dir)
}

/// The last `/src/` in a file's path, by bytes from the end: on every
/// location line of a report, where `str::rfind` would build a substring
/// searcher each time.
fn rfind_src(file: &str) -> Option<usize> {
    let b = file.as_bytes();
    let mut end = b.len();
    while let Some(i) = rfind_byte(b.get(..end)?, b'/') {
        if b.get(i..).is_some_and(|r| r.starts_with(b"/src/")) {
            return Some(i);
        }
        end = i;
    }
    None
}

/// The directory of a file of the standard library: its first element
/// has no dot (`runtime`, `net/http`), unlike a module path
/// (`github.com/…`).
fn is_std_first(dir: &str) -> bool {
    let b = dir.as_bytes();
    let first = b
        .get(..find_byte(b, b'/').unwrap_or(b.len()))
        .unwrap_or_default();
    !first.is_empty() && find_byte(first, b'.').is_none()
}

/// Whether a goroutine header's state is `running`.
fn is_running(text: &str) -> bool {
    text.split_once('[')
        .is_some_and(|(_, state)| state.starts_with("running"))
}

/// The id of a goroutine header line: its digits read directly, as for
/// every header of a dump (no `str::parse`, whose checks cost more).
/// `None` past `u64`.
fn goroutine_id(text: &str) -> Option<u64> {
    let rest = text.strip_prefix("goroutine ")?.as_bytes();
    // Digits, then something else (` [`).
    let end = rest.iter().position(|c| !c.is_ascii_digit())?;
    if cfg!(target_arch = "wasm32") {
        // The wasm builds' `str::parse` is there anyway; a loop is not.
        return std::str::from_utf8(rest.get(..end)?).ok()?.parse().ok();
    }
    let mut id: u64 = 0;
    for &c in rest.get(..end)? {
        id = id.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    (end > 0).then_some(id)
}

/// Lines that begin a crash report of their own: where they cannot continue
/// the open report, they end it rather than being taken for foreign.
fn starts_report(kind: LineKind) -> bool {
    role(kind).opens.is_some()
}

/// The grammar: what `kind` does at the report's position.
fn next_step(st: &State, hb: HeldBefore, kind: LineKind, text: &str) -> Step {
    use LineKind as K;
    use Pos as P;
    use Step::{Continue, End, Foreign, Hold};
    let blank_before = hb.blank;
    let held = hb.any;
    // Only `runtime:` lines so far: the report waits for its header.
    let lead_in = !st.confirmed && st.pos == P::Message;

    match st.pos {
        P::RaceOpen | P::RaceBody => race_step(st.pos, kind),
        // `runtime:` lines open a fatal report (lead-ins), or are the
        // unwinder's complaints inside a traceback.
        _ if kind == K::RuntimeNote => match st.pos {
            P::Message if lead_in => Continue(P::Message),
            P::Location | P::Function | P::Header if is_traceback_note(text) => {
                Continue(P::Location)
            }
            _ => End,
        },
        _ if kind == K::StackWords => Continue(P::Location),
        P::Message => match kind {
            K::Indented | K::SignalInfo | K::SignalNote => Continue(P::Message),
            K::Panic | K::FatalError | K::FaultAddress if lead_in => Continue(P::Message),
            // Two threads can throw at once: `fatal error: concurrent map
            // writes` is then printed twice before the first traceback.
            K::FatalError if st.event == Event::FatalError && !held => Continue(P::Message),
            K::SignalHeader if lead_in => Continue(P::SignalHeader),
            K::GoroutineHeader if blank_before || (st.http && !held) => Continue(P::Header),
            K::RuntimeStack if blank_before => Continue(P::RuntimeStack),
            _ if starts_report(kind) => End,
            _ => Hold,
        },
        P::SignalHeader => match kind {
            K::SignalPc => Continue(P::SignalPc),
            _ => End,
        },
        P::SignalPc | P::Register => match kind {
            K::SignalNote if !held && st.pos == P::SignalPc => Continue(P::SignalPc),
            K::Register if !held || blank_before || st.pos == P::Register => Continue(P::Register),
            K::GoroutineHeader | K::RuntimeStack if blank_before => Continue(match kind {
                K::RuntimeStack => P::RuntimeStack,
                _ => P::Header,
            }),
            _ if starts_report(kind) => End,
            _ => Hold,
        },
        P::Header => match kind {
            K::Function => Continue(P::Function),
            K::StackUnavailable | K::Elided => Continue(P::Location),
            _ if starts_report(kind) => End,
            _ => Foreign,
        },
        P::Function => match kind {
            K::Indented if is_location(text) => Continue(P::Location),
            _ if starts_report(kind) => End,
            _ => Foreign,
        },
        P::RuntimeStack => match kind {
            K::Function => Continue(P::Function),
            _ if starts_report(kind) => End,
            _ => Foreign,
        },
        P::Location => match kind {
            K::Function | K::CreatedBy if !blank_before => Continue(P::Function),
            K::Elided | K::StackUnavailable if !blank_before => Continue(P::Location),
            K::GoroutineHeader if blank_before => Continue(P::Header),
            K::RuntimeStack if blank_before => Continue(P::RuntimeStack),
            // Only a signal report ends with the signal's registers.
            K::Register if blank_before && st.event == Event::Signal => Continue(P::Register),
            _ if starts_report(kind) => End,
            _ => Hold,
        },
    }
}

/// The grammar inside a race report: `WARNING: DATA RACE` after the opening
/// delimiter, then the body up to the closing one.
fn race_step(pos: Pos, kind: LineKind) -> Step {
    use LineKind as K;
    match (pos, kind) {
        (Pos::RaceOpen, K::RaceWarning) => Step::Continue(Pos::RaceBody),
        (Pos::RaceOpen, _) => Step::End,
        (_, K::RaceDelimiter | K::RaceBody | K::RaceWarning | K::Blank | K::Indented) => {
            Step::Continue(Pos::RaceBody)
        }
        _ => Step::Foreign,
    }
}

/// The unwinder's diagnostics printed within a traceback
/// (`runtime: unexpected return pc for …`, `runtime: g 5: …`,
/// `runtime: traceback stuck…`), as opposed to a fatal error's lead-in.
fn is_traceback_note(text: &str) -> bool {
    let rest = text.strip_prefix("runtime: ").unwrap_or("");
    rest.starts_with("unexpected return pc")
        || rest.starts_with("traceback")
        || rest.starts_with("frame")
        || rest
            .strip_prefix("g")
            .is_some_and(|g| g.trim_start().starts_with(|c: char| c.is_ascii_digit()))
}

fn is_blank(text: &str) -> bool {
    text.trim().is_empty()
}

#[cfg(test)]
mod tests;
