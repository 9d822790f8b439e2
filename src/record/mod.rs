//! Record shaping: reassembler output as JSON records for Loki and
//! Elasticsearch. The schema is documented in `docs/record-schema.md` and
//! checked by `docs/record.schema.json` / `docs/record-ecs.schema.json`.
//!
//! An ordinary line leaves as its decoded record (`time`, `stream`, `log`
//! for CRI and docker, `log` alone for plain text). A crash report leaves as
//! one record: the first line's fields, `log` holding the report's lines
//! joined with `\n`, a top-level `level`, and the `go` object ([`Go`]): flat
//! scalars for Loki's `| json` (which skips arrays) and the full structure
//! for Elasticsearch, bounded in size.
//!
//! A report record also carries flat top-level string copies of its key
//! facts ([`Flat`]: `go_class`, `go_fingerprint`, …): a Loki output can move
//! them into structured metadata, filterable without a parser, while the
//! `go` object stays whole in the line.
//!
//! The ECS profile renames the text field to `message` (ECS's `log` is an
//! object: `log.level`) on every record, so one index never sees `log` as
//! both text and object, sets `ecs.version` on every record, and adds
//! `event.*` and, for reports that are errors, `error.*` ([`Ecs`]).
//!
//! Records are written straight from these types into the caller's buffer;
//! a record byte bound is checked on the written length, and only a record
//! over it is measured part by part and written again without the parts
//! that must go.

mod ecs;
mod go;
mod json;

use std::borrow::Cow;
use std::collections::VecDeque;

use serde::Serialize;
use serde_json::{Map, Value};

pub use ecs::{Ecs, EcsError, EcsEvent, EcsLog, EcsVersion};
pub use go::{
    BucketRecord, Go, GoroutineRef, Nested, PanicRecord, ReportId, Site, TopFrame, Verdict,
};
pub use json::{Text, json_cut};

use crate::classify::{Bucket, Level, buckets, classify, fingerprint, top_frame};
use crate::container::{LogLine, ShortText};
use crate::crash::Event;
use crate::crash::{Crash, Frame};
use crate::grammar::{LineKind, may_start_report};
use crate::parse::parse_with_kinds;
use crate::reassembler::{Config, Line, Output, Reassembler, Report, Split};
use json::{json_len, member_len};

/// Version of the `go` object's layout (`go.schema`).
pub const SCHEMA_VERSION: u64 = 1;

/// The ECS version whose field list the ECS profile follows (`ecs.version`).
pub const ECS_VERSION: &str = "9.4.0";

/// Longest flat copy, in bytes: a generic function name can be long, and
/// structured metadata is bounded per line (64 KiB).
pub const MAX_FLAT_BYTES: usize = 256;

/// Field naming of the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// `log` holds the text; `level` at the top; for Loki and plain
    /// Elasticsearch indices.
    #[default]
    Default,
    /// Elastic Common Schema: `message`, `log.level`, `error.*`, `event.*`.
    Ecs,
}

impl std::str::FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "default" => Ok(Profile::Default),
            "ecs" => Ok(Profile::Ecs),
            _ => Err(format!("unknown profile {s:?} (expected default or ecs)")),
        }
    }
}

/// The smallest record bound a host accepts ([`Limits::max_record_bytes`]):
/// half of it goes to the report's text and the other half must hold what
/// no bound drops (the base and `go` scalars, `go.cut`, the flat copies;
/// about 750 bytes with the ECS profile) plus a useful message.
pub const MIN_RECORD_BYTES: usize = 4096;

/// A host's record bound setting: 0 for none, else at least
/// [`MIN_RECORD_BYTES`].
pub fn record_bound(bytes: usize) -> Result<Option<usize>, String> {
    match bytes {
        0 => Ok(None),
        b if b < MIN_RECORD_BYTES => Err(format!(
            "{b} is under the minimum of {MIN_RECORD_BYTES} bytes (0 sets no bound)"
        )),
        b => Ok(Some(b)),
    }
}

/// Size bounds of the parts of a record.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Goroutines given in full under `go.goroutines` (the crashing one
    /// first); the rest are counted in `go.goroutines_omitted` and still
    /// appear in `log` and in the buckets.
    pub max_goroutines: usize,
    /// Buckets under `go.goroutine_buckets`.
    pub max_buckets: usize,
    /// Buckets named in the one-line `go.goroutine_summary`.
    pub summary_buckets: usize,
    /// When set, no report record's JSON is longer: the ECS
    /// `error.stack_trace`, then the [`Nested`] parts from the last, then
    /// (only for a record whose header alone is huge) the [`Site`] are
    /// dropped until it fits, and `go.cut` names them. Loki rejects lines
    /// over 256 KiB. The report's text is never cut here: the reassembler's
    /// report bound splits it into parts.
    pub max_record_bytes: Option<usize>,
    /// When set, texts copied from the report into fields (`go.message`,
    /// `go.fatal_error`, `go.panics[].value`: a program may make them
    /// megabytes long) keep at most this many bytes, cut at a character
    /// boundary and marked (`go.message_truncated`, …). The full text stays
    /// in `log`; class and fingerprint are computed from the whole text.
    /// 16 KiB by default: real panic values and fatal reasons are far
    /// shorter (a wrapped error chain runs to a few hundred bytes), and
    /// three such copies stay well inside Loki's 256 KiB line.
    pub max_message_bytes: Option<usize>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_goroutines: 20,
            max_buckets: 10,
            summary_buckets: 3,
            max_record_bytes: None,
            max_message_bytes: Some(16 << 10),
        }
    }
}

/// What a split report's first part decided, handed to its later parts.
#[derive(Debug, Clone)]
struct Carry {
    id: u64,
    verdict: Verdict,
    level: Level,
}

/// Shapes records; holds the little state that split reports need.
#[derive(Debug, Default)]
pub struct Shaper {
    /// Field naming.
    pub profile: Profile,
    /// Size bounds.
    pub limits: Limits,
    carries: VecDeque<Carry>,
}

/// Split reports in flight remembered at most (oldest forgotten first).
const MAX_CARRIES: usize = 256;

impl Shaper {
    /// A shaper with these settings.
    pub fn new(profile: Profile, limits: Limits) -> Self {
        Shaper {
            profile,
            limits,
            carries: VecDeque::new(),
        }
    }

    /// Parses and classifies a report (or part); a first part's verdict is
    /// remembered for its later parts, which carry it.
    pub fn shape<'l, L: Line>(
        &mut self,
        event: Event,
        lines: &'l [L],
        split: Option<Split>,
    ) -> Shaped<'l> {
        self.shape_with_kinds(event, lines, &[], split)
    }

    /// [`Shaper::shape`] of a reassembled report, whose line kinds the
    /// parser takes instead of reading every line again.
    pub fn shape_report<'l, L: Line>(&mut self, report: &'l Report<L>) -> Shaped<'l> {
        self.shape_with_kinds(
            report.event,
            &report.lines,
            report.kinds.as_slice(),
            report.split,
        )
    }

    /// [`Shaper::shape`], given the kinds of the first lines (see
    /// [`parse_with_kinds`]): for a host that shapes a report under a
    /// [`Split`] of its own.
    pub fn shape_with_kinds<'l, L: Line>(
        &mut self,
        event: Event,
        lines: &'l [L],
        kinds: &[LineKind],
        split: Option<Split>,
    ) -> Shaped<'l> {
        // From here on only the texts count: the rest is written for
        // `&str` lines once, not again for every host's line type.
        let texts: Vec<&'l str> = lines.iter().map(Line::text).collect();
        self.shape_texts(event, texts, kinds, split)
    }

    /// [`Shaper::shape_with_kinds`] of the lines' texts.
    fn shape_texts<'l>(
        &mut self,
        event: Event,
        texts: Vec<&'l str>,
        kinds: &[LineKind],
        split: Option<Split>,
    ) -> Shaped<'l> {
        let crash = parse_with_kinds(event, &texts, kinds);
        let c = classify(&crash);
        let mut verdict = Verdict {
            class: c.class,
            fatal: c.fatal,
            recoverable: c.recoverable,
            fingerprint: fingerprint(&crash, c.class),
        };
        let mut level = c.level;
        match split {
            Some(s) if s.part == 1 => {
                if self.carries.len() >= MAX_CARRIES {
                    self.carries.pop_front();
                }
                self.carries.push_back(Carry {
                    id: s.id,
                    verdict: verdict.clone(),
                    level,
                });
            }
            Some(s) => {
                if let Some(c) = self.carries.iter().find(|c| c.id == s.id) {
                    verdict = c.verdict.clone();
                    level = c.level;
                }
            }
            None => {}
        }
        Shaped {
            profile: self.profile,
            limits: self.limits.clone(),
            event,
            lines: texts,
            crash,
            verdict,
            level,
            split,
            text_key: Cow::Borrowed(self.profile.text_key()),
        }
    }
}

impl Profile {
    /// The name of the text field: `log`, or `message` in ECS.
    pub fn text_key(self) -> &'static str {
        match self {
            Profile::Default => "log",
            Profile::Ecs => "message",
        }
    }
}

/// A parsed and classified report, ready to be written.
#[derive(Debug)]
pub struct Shaped<'l> {
    profile: Profile,
    limits: Limits,
    event: Event,
    lines: Vec<&'l str>,
    crash: Crash<'l>,
    verdict: Verdict,
    level: Level,
    split: Option<Split>,
    text_key: Cow<'static, str>,
}

/// The members a report record adds to its first line's fields.
#[derive(Serialize)]
#[serde(bound(serialize = "L: Line"))]
struct Members<'a, L> {
    #[serde(skip_serializing_if = "Option::is_none")]
    level: Option<Level>,
    #[serde(flatten)]
    ecs: Option<Ecs<'a, Text<'a, L>>>,
    go: Go<'a>,
    #[serde(flatten)]
    flat: Flat<'a>,
}

/// The flat top-level copies of a report's facts. Names are those Loki's
/// `| json` gives the nested fields (`go.class` → `go_class`), so a query
/// reads the same whether a value came from structured metadata or from
/// parsing the line. Values are strings (structured metadata holds only
/// strings).
#[derive(Debug, Serialize)]
pub struct Flat<'a> {
    /// Copy of `go.event`; always.
    pub go_event: &'static str,
    /// Copy of `go.class`; always.
    pub go_class: &'static str,
    /// Copy of `go.fatal`, as `"true"` or `"false"`; always.
    pub go_fatal: &'static str,
    /// Copy of `go.fingerprint`; always.
    pub go_fingerprint: &'a str,
    /// Copy of `go.top_frame.function`, at most 256 bytes
    /// ([`MAX_FLAT_BYTES`], cut on a character boundary); when there is a
    /// top frame, and dropped with it (`go.cut`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub go_top_frame_function: Option<&'a str>,
    /// Copy of `go.report_id`; split reports only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub go_report_id: Option<ReportId>,
}

impl<'l> Shaped<'l> {
    /// Writes the text under `key` instead (a collector's own field).
    pub fn set_text_key(&mut self, key: impl Into<Cow<'static, str>>) {
        self.text_key = key.into();
    }

    /// The report's verdict (carried from the first part on later parts).
    pub fn verdict(&self) -> &Verdict {
        &self.verdict
    }

    /// The top-level members [`Shaped::write`] writes: a base record's
    /// members of these names are left out.
    pub fn member_names(&self) -> Vec<&str> {
        // `log` and `message` both: the text is in one, under ECS `log` is
        // the level.
        let mut names = vec!["log", "message"];
        if !names.contains(&self.text_key.as_ref()) {
            names.push(&self.text_key);
        }
        match self.profile {
            Profile::Default => names.push("level"),
            Profile::Ecs => {
                names.extend(["ecs", "event"]);
                if self.verdict.class != crate::classify::Class::GoroutineDump {
                    names.push("error");
                }
            }
        }
        names.extend(["go", "go_event", "go_class", "go_fatal", "go_fingerprint"]);
        if self.site_frame().is_some() {
            names.push("go_top_frame_function");
        }
        if self.split.is_some() {
            names.push("go_report_id");
        }
        names
    }

    /// The first part, or an unsplit report: the one whose header is read.
    fn is_first(&self) -> bool {
        self.split.is_none_or(|s| s.part == 1)
    }

    /// Where it happened (see [`Site::top_frame`]).
    fn site_frame(&self) -> Option<&Frame<'_>> {
        if !self.is_first() {
            return None;
        }
        let c = &self.crash;
        c.crashing_goroutine()
            .or_else(|| c.goroutines.first())
            .and_then(top_frame)
            .or_else(|| {
                let race = c.race.as_ref()?;
                race.accesses.first()?.frames.iter().find(|f| !f.runtime)
            })
    }

    /// Writes the report's members and closes the object `buf[start..]`
    /// opened: it holds nothing, `{`, or `{` and the base record's members
    /// (without those of [`Shaped::member_names`]). With
    /// `limits.max_record_bytes`, parts are dropped until `buf[start..]` is
    /// at most that long, or only the text, the verdict and the base are
    /// left (the reassembler's report bound keeps the text under it).
    pub fn write(&self, buf: &mut Vec<u8>, start: usize) {
        let has_base = buf.len() > start + 1;
        if !has_base {
            buf.truncate(start);
        }
        let message = self.crash.message();
        let all = buckets(&self.crash.goroutines);
        let mut members = self.members(message.as_deref(), &all);
        let at = buf.len();
        let text = (self.text_key.as_ref(), &self.lines[..]);
        write_members(buf, text, &members, has_base);
        let Some(max) = self.limits.max_record_bytes else {
            return;
        };
        // Rarely over: measure the parts once, drop what must go, write
        // again; a second round only if the estimate fell short.
        for _ in 0..2 {
            let len = buf.len() - start;
            if len <= max || !fit(&mut members, len - max) {
                return;
            }
            buf.truncate(at);
            let text = (self.text_key.as_ref(), &self.lines[..]);
            write_members(buf, text, &members, has_base);
        }
    }

    /// Writes the report's members after `base`'s other members, as one
    /// JSON object.
    pub fn write_with_base(&self, base: &Map<String, Value>, buf: &mut Vec<u8>) {
        let start = buf.len();
        let skip = self.member_names();
        buf.push(b'{');
        for (k, v) in base.iter().filter(|(k, _)| !skip.contains(&k.as_str())) {
            if buf.len() > start + 1 {
                buf.push(b',');
            }
            // Writing into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut *buf, k);
            buf.push(b':');
            let _ = serde_json::to_writer(&mut *buf, v);
        }
        self.write(buf, start);
    }

    /// [`Shaped::write_with_base`], as a map (for hosts that hand objects
    /// on).
    pub fn to_map(&self, base: &Map<String, Value>) -> Map<String, Value> {
        let mut buf = Vec::new();
        self.write_with_base(base, &mut buf);
        json::object_of(&buf).unwrap_or_default()
    }

    fn members<'a>(&'a self, message: Option<&'a str>, all: &[Bucket<'a>]) -> Members<'a, &'l str> {
        let text = Text(&self.lines[..]);
        // Under a record bound a cap counts a text as JSON writes it.
        let json = self.limits.max_record_bytes.is_some();
        let cap = (self.limits.max_message_bytes.unwrap_or(usize::MAX), json);
        let go = self.go(message, all, cap);
        let ecs = (self.profile == Profile::Ecs).then(|| {
            let message = go.site.as_ref().and_then(|s| s.message);
            Ecs::of(self.event, &self.verdict, self.level, message, text)
        });
        let flat = Flat {
            go_event: self.event.as_str(),
            go_class: self.verdict.class.as_str(),
            go_fatal: if self.verdict.fatal { "true" } else { "false" },
            go_fingerprint: &self.verdict.fingerprint,
            go_top_frame_function: go
                .site
                .as_ref()
                .and_then(|s| s.top_frame.as_ref())
                .map(|f| cut_at_char(f.function, (MAX_FLAT_BYTES, json)).0),
            go_report_id: go.report_id,
        };
        Members {
            level: (self.profile == Profile::Default).then_some(self.level),
            ecs,
            go,
            flat,
        }
    }

    fn go<'a>(&'a self, message: Option<&'a str>, all: &[Bucket<'a>], cap: Cap) -> Go<'a> {
        let c = &self.crash;
        let total = c.goroutines.len();
        let (max_g, max_b) = (self.limits.max_goroutines, self.limits.max_buckets);
        let nested = Nested {
            goroutine_summary: (total > 0).then(|| summary(all, self.limits.summary_buckets)),
            runtime_notes: (!c.runtime_notes.is_empty()).then_some(&c.runtime_notes[..]),
            panics: (!c.panics.is_empty()).then(|| panic_records(c, cap)),
            goroutine_buckets: (total > 0)
                .then(|| all.iter().take(max_b).map(BucketRecord::of).collect()),
            registers: c.registers.as_deref(),
            runtime_stacks: (!c.runtime_stacks.is_empty()).then_some(&c.runtime_stacks[..]),
            race: c.race.as_ref(),
            goroutines: (total > 0).then(|| c.goroutines.get(..max_g).unwrap_or(&c.goroutines)),
        };
        Go {
            schema: SCHEMA_VERSION,
            event: self.event,
            verdict: self.verdict.clone(),
            site: self.is_first().then(|| self.site(message, cap)),
            lines: self.lines.len(),
            truncated: self.split.is_some(),
            report_id: self.split.map(|s| ReportId(s.id)),
            part: self.split.map(|s| s.part),
            goroutines_total: total,
            goroutines_omitted: (total > max_g).then(|| total - max_g),
            goroutine_buckets_omitted: (all.len() > max_b).then(|| all.len() - max_b),
            nested,
            cut: Vec::new(),
        }
    }

    fn site<'a>(&'a self, message: Option<&'a str>, cap: Cap) -> Site<'a> {
        let c = &self.crash;
        let (message, message_truncated) = message.map_or((None, false), |m| {
            let (m, cut) = cut_at_char(m, cap);
            (Some(m), cut)
        });
        let (fatal_error, fatal_error_truncated) =
            c.fatal_error.as_deref().map_or((None, false), |f| {
                let (f, cut) = cut_at_char(f, cap);
                (Some(f), cut)
            });
        Site {
            message,
            message_truncated,
            value_type: c.panics.first().and_then(|p| p.go_type.as_deref()),
            goroutine: c.crashing_goroutine().map(GoroutineRef::of),
            top_frame: self.site_frame().map(TopFrame::of),
            signal: c.signal.as_ref(),
            http_remote: c.http_remote.as_deref(),
            fatal_error,
            fatal_error_truncated,
            fault_address: c.fault_address.as_deref(),
            in_cgo: c.in_cgo,
        }
    }
}

fn panic_records<'a>(c: &'a Crash<'a>, cap: Cap) -> Vec<PanicRecord<'a>> {
    c.panics
        .iter()
        .map(|p| {
            let (value, value_truncated) = cut_at_char(&p.value, cap);
            PanicRecord {
                value,
                value_truncated,
                runtime_error: p.runtime_error,
                go_type: p.go_type.as_deref(),
                recovered: p.recovered,
            }
        })
        .collect()
}

/// Writes the text member, then serialises `members` after it; the first
/// member opens the object, or follows a base record's members when
/// `after_base`.
fn write_members<L: Line>(
    buf: &mut Vec<u8>,
    text: (&str, &[L]),
    members: &Members<'_, L>,
    after_base: bool,
) {
    buf.push(if after_base { b',' } else { b'{' });
    json::write_str(buf, text.0.as_bytes());
    buf.extend_from_slice(b":\"");
    // Room for the text at once: a dump's record grows to megabytes, and
    // doubling there copies it again and again (the wasm builds keep the
    // smaller code). Each line takes its text, the `\n` joining it and the
    // escape of a location line's tab.
    if !cfg!(target_arch = "wasm32") {
        buf.reserve(text.1.iter().map(|l| l.text().len() + 3).sum());
    }
    for (i, l) in text.1.iter().enumerate() {
        if i > 0 {
            buf.extend_from_slice(b"\\n");
        }
        json::write_str_contents(buf, l.text().as_bytes());
    }
    buf.push(b'"');
    let at = buf.len();
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *buf, members);
    // Its `{` joins it to the text member.
    if let Some(open) = buf.get_mut(at) {
        *open = b',';
    }
}

/// Drops parts of a record `excess` bytes over its bound, in this order
/// until the bytes dropped cover the excess and the `cut` member that names
/// them: the ECS `error.stack_trace`, the [`Nested`] parts from the last,
/// the whole [`Site`]. Whether it dropped anything.
fn fit<L: Line>(m: &mut Members<'_, L>, excess: usize) -> bool {
    let mut names = m.go.cut.clone();
    let before = names.len();
    let mut dropped = 0;
    for (part, size) in droppable(m) {
        // `,"cut":[…]`: 9 bytes and each name quoted, with its comma.
        let cut_len = 9 + names.iter().map(|n| n.len() + 3).sum::<usize>();
        if dropped >= excess + cut_len {
            break;
        }
        dropped += size;
        match part {
            Part::StackTrace => {
                if let Some(e) = m.ecs.as_mut().and_then(|e| e.error.as_mut()) {
                    e.stack_trace = None;
                }
                names.push("error.stack_trace".into());
            }
            Part::Nested(name) => {
                m.go.nested.drop_member(name);
                names.push(name.into());
            }
            Part::Site(members) => {
                m.go.site = None;
                // Copies of its members go with them: the ECS
                // `error.message` can be as long as the text.
                m.flat.go_top_frame_function = None;
                if let Some(e) = m.ecs.as_mut().and_then(|e| e.error.as_mut()) {
                    e.message = None;
                }
                names.extend(members.into_iter().map(Cow::Owned));
            }
        }
    }
    let dropped_any = names.len() > before;
    m.go.cut = names;
    dropped_any
}

/// A part [`fit`] may drop.
enum Part {
    StackTrace,
    Nested(&'static str),
    Site(Vec<String>),
}

/// The parts of `m` a bound may drop, in the order it drops them, each with
/// the bytes it takes.
fn droppable<L: Line>(m: &Members<'_, L>) -> Vec<(Part, usize)> {
    let mut parts = Vec::new();
    if let Some(st) = m
        .ecs
        .as_ref()
        .and_then(|e| e.error.as_ref()?.stack_trace.as_ref())
    {
        parts.push((Part::StackTrace, member_len("stack_trace", st)));
    }
    let nested = m.go.nested.sizes().into_iter().rev();
    parts.extend(nested.map(|(name, size)| (Part::Nested(name), size)));
    if let Some(site) = &m.go.site {
        let members = site_members(site);
        if !members.is_empty() {
            // Flattened: its JSON less the braces, plus the comma before;
            // and the copies that go with it.
            let copies = m
                .flat
                .go_top_frame_function
                .map_or(0, |f| member_len("go_top_frame_function", f))
                + m.ecs
                    .as_ref()
                    .and_then(|e| e.error.as_ref()?.message)
                    .map_or(0, |msg| member_len("message", msg));
            let size = json_len(site).saturating_sub(1) + copies;
            parts.push((Part::Site(members), size));
        }
    }
    parts
}

/// The names of the members `site` writes (a record whose site is dropped
/// lists them in `go.cut`), read back from its JSON: only a record whose
/// header alone is over the bound gets here.
fn site_members(site: &Site<'_>) -> Vec<String> {
    // Through bytes, not `to_value`: see `json_len`.
    let mut buf = Vec::new();
    let _ = serde_json::to_writer(&mut buf, site);
    json::object_of(&buf).map_or_else(Vec::new, |o| o.into_iter().map(|(k, _)| k).collect())
}

/// `4980 × chan receive in worker.(*Pool).run; 20 × select in main.loop`.
fn summary(buckets: &[Bucket<'_>], n: usize) -> String {
    let mut parts: Vec<String> = buckets
        .iter()
        .take(n)
        .map(|b| match b.top_frame {
            Some(f) => format!("{} × {} in {}", b.count, b.state, f.function),
            None => format!("{} × {}", b.count, b.state),
        })
        .collect();
    let rest: usize = buckets.iter().skip(n).map(|b| b.count).sum();
    if rest > 0 {
        parts.push(format!("{rest} more"));
    }
    parts.join("; ")
}

/// A text cap: its bytes, and whether they count the text as JSON writes
/// it (under a record bound).
type Cap = (usize, bool);

/// `s` cut to at most `max` bytes on a character boundary; whether it cut.
fn cut_at_char(s: &str, (max, json): Cap) -> (&str, bool) {
    let cut = json_cut(s, max, json).0;
    (cut, cut.len() < s.len())
}

/// The event of the first crash report in `text` (lines joined with `\n`),
/// for hosts whose collector joined the lines itself.
pub fn find_report(text: &str) -> Option<Event> {
    // Most records hold no report: no line can even start one.
    if !text
        .split('\n')
        .any(|l| may_start_report(l.strip_suffix('\r').unwrap_or(l)))
    {
        return None;
    }
    // The types the line pipeline reassembles with (a one-byte stream key,
    // `LogLine`): one more instantiation of the reassembler would cost the
    // wasm builds its whole code again, and this path is not hot.
    let mut r: Reassembler<u8, LogLine> = Reassembler::new(Config::default());
    let mut out = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        r.push(&0, LogLine::plain(line.to_owned()), 0, &mut out);
        if let Some(event) = first_report(&out) {
            return Some(event);
        }
    }
    r.finish(&mut out);
    first_report(&out)
}

fn first_report<K, L>(out: &[Output<K, L>]) -> Option<Event> {
    out.iter().find_map(|o| match o {
        Output::Report(_, rep) => Some(rep.event),
        Output::Line(..) => None,
    })
}

impl Shaper {
    /// Enriches a record whose `log` (or `message`) already holds a whole
    /// crash report, joined by the collector: the record comes back with
    /// `go`, `level` (or the ECS fields), the text under the key it came
    /// in. `None` when the record holds no crash report.
    pub fn enrich(&mut self, mut record: Map<String, Value>) -> Option<Map<String, Value>> {
        let key = ["log", "message"]
            .into_iter()
            .find(|k| record.get(*k).is_some_and(Value::is_string))?;
        let Some(Value::String(text)) = record.remove(key) else {
            return None;
        };
        let event = find_report(&text)?;
        let lines: Vec<&str> = text.trim_end_matches('\n').split('\n').collect();
        let mut shaped = self.shape(event, &lines, None);
        if self.profile == Profile::Default {
            shaped.set_text_key(key);
        }
        Some(shaped.to_map(&record))
    }

    /// Writes one reassembler output as a JSON object (no newline) to `buf`.
    pub fn write_json<K>(&mut self, output: &Output<K, LogLine>, buf: &mut Vec<u8>) {
        match output {
            // The common case, every ordinary line: written by hand, the
            // text escaped in runs.
            Output::Line(_, line) => {
                buf.push(b'{');
                // The time's bytes as they are: `as_str` checks them again,
                // which the wasm builds pay for rather than for more code.
                let time = if cfg!(target_arch = "wasm32") {
                    line.time.as_deref().map(str::as_bytes)
                } else {
                    line.time.as_ref().map(ShortText::as_bytes)
                };
                for (key, value) in [
                    (&b"\"time\":"[..], time),
                    (b"\"stream\":", line.stream.as_deref().map(str::as_bytes)),
                ] {
                    if let Some(v) = value {
                        buf.extend_from_slice(key);
                        json::write_str(buf, v);
                        buf.push(b',');
                    }
                }
                buf.push(b'"');
                buf.extend_from_slice(self.profile.text_key().as_bytes());
                buf.extend_from_slice(b"\":");
                json::write_str(buf, line.text.as_bytes());
                if self.profile == Profile::Ecs {
                    buf.extend_from_slice(b",\"ecs\":");
                    let _ = serde_json::to_writer(&mut *buf, &EcsVersion::default());
                }
                // A piece of a line cut at the line bound: the stream's
                // next record continues its text.
                if line.continued {
                    buf.extend_from_slice(b",\"continued\":true");
                }
                buf.push(b'}');
            }
            Output::Report(_, report) => {
                let start = buf.len();
                if let Some(first) = report.lines.first() {
                    let _ = serde_json::to_writer(&mut *buf, &Base::of(first));
                    // Left open for the report's members.
                    buf.pop();
                }
                self.shape_report(report).write(buf, start);
            }
        }
    }
}

/// A line's own fields, beside its text.
#[derive(Serialize)]
struct Base<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<&'a str>,
}

impl<'a> Base<'a> {
    fn of(line: &'a LogLine) -> Self {
        Base {
            time: line.time.as_deref(),
            stream: line.stream.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reassembler::{LineKinds, Report};
    use serde_json::json;

    fn cri(text: &str) -> LogLine {
        LogLine {
            envelope: crate::container::Envelope::Cri,
            time: Some("2026-11-27T06:51:01.5Z".into()),
            stream: Some("stderr".into()),
            ..LogLine::plain(text.into())
        }
    }

    fn json_of(shaper: &mut Shaper, o: &Output<(), LogLine>) -> Value {
        let mut buf = Vec::new();
        shaper.write_json(o, &mut buf);
        serde_json::from_slice(&buf).unwrap()
    }

    const REPORT: &[&str] = &[
        "panic: runtime error: invalid memory address or nil pointer dereference",
        "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a1f2e]",
        "",
        "goroutine 7 [running]:",
        "github.com/acme/shop/cart.(*Cart).Total(...)",
        "\t/app/cart/cart.go:88",
        "main.main()",
        "\t/app/main.go:12 +0x24",
    ];

    fn report(split: Option<Split>) -> Output<(), LogLine> {
        Output::Report(
            (),
            Report {
                event: Event::Panic,
                lines: REPORT.iter().map(|l| cri(l)).collect(),
                kinds: LineKinds::default(),
                split,
            },
        )
    }

    #[test]
    fn ordinary_lines_keep_their_fields() {
        let mut s = Shaper::default();
        let v = json_of(&mut s, &Output::Line((), cri("hello \"x\"")));
        assert_eq!(
            v,
            json!({"time":"2026-11-27T06:51:01.5Z","stream":"stderr","log":"hello \"x\""})
        );
        let v = json_of(&mut s, &Output::Line((), LogLine::plain("plain".into())));
        assert_eq!(v, json!({"log":"plain"}));
        let mut ecs = Shaper::new(Profile::Ecs, Limits::default());
        let v = json_of(&mut ecs, &Output::Line((), LogLine::plain("plain".into())));
        assert_eq!(v, json!({"message":"plain","ecs":{"version":ECS_VERSION}}));
    }

    #[test]
    fn a_report_record_has_flat_scalars_and_structure() {
        let mut s = Shaper::default();
        let v = json_of(&mut s, &report(None));
        assert_eq!(v["log"], REPORT.join("\n"));
        assert_eq!(v["time"], "2026-11-27T06:51:01.5Z");
        assert_eq!(v["level"], "fatal");
        let go = &v["go"];
        assert_eq!(go["schema"], 1);
        assert_eq!(go["event"], "panic");
        assert_eq!(go["class"], "nil_dereference");
        assert_eq!(go["fatal"], true);
        assert_eq!(go["recoverable"], true);
        assert_eq!(go["message"], REPORT[0]["panic: ".len()..]);
        assert_eq!(go["goroutine"], json!({"id": 7, "state": "running"}));
        assert_eq!(
            go["top_frame"]["function"],
            "github.com/acme/shop/cart.(*Cart).Total"
        );
        assert_eq!(go["top_frame"]["line"], 88);
        assert_eq!(go["signal"]["addr"], "0x0");
        assert_eq!(go["goroutines_total"], 1);
        assert_eq!(
            go["goroutine_summary"],
            "1 × running in github.com/acme/shop/cart.(*Cart).Total"
        );
        assert_eq!(go["goroutines"][0]["frames"][1]["function"], "main.main");
        assert_eq!(go["truncated"], false);
        assert_eq!(go["lines"], 8);
        assert_eq!(go["fingerprint"].as_str().unwrap().len(), 16);
        // The flat copies for Loki's structured metadata: strings, equal to
        // what `| json` makes of the nested fields.
        assert_eq!(v["go_event"], "panic");
        assert_eq!(v["go_class"], "nil_dereference");
        assert_eq!(v["go_fatal"], "true");
        assert_eq!(v["go_fingerprint"], go["fingerprint"]);
        assert_eq!(
            v["go_top_frame_function"],
            "github.com/acme/shop/cart.(*Cart).Total"
        );
        assert!(v.get("go_report_id").is_none());
    }

    #[test]
    fn flat_copies_are_bounded_strings() {
        let e = "é".repeat(200);
        assert_eq!(
            cut_at_char(&e, (MAX_FLAT_BYTES, false)),
            (&e[..MAX_FLAT_BYTES], true)
        );
        assert_eq!(cut_at_char(&e, (5, false)).0, "éé");
        assert_eq!(
            cut_at_char("main.f", (MAX_FLAT_BYTES, false)),
            ("main.f", false)
        );
        let long = format!("main.{}", "x".repeat(300));
        let lines = [
            "panic: boom".to_owned(),
            String::new(),
            "goroutine 1 [running]:".to_owned(),
            format!("{long}()"),
            "\t/app/main.go:3 +0x1".to_owned(),
        ];
        let mut buf = Vec::new();
        Shaper::default()
            .shape(Event::Panic, &lines, None)
            .write(&mut buf, 0);
        let v: Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(v["go"]["top_frame"]["function"], long);
        assert_eq!(v["go_top_frame_function"], long[..MAX_FLAT_BYTES]);
        assert_eq!(v["go_fatal"], "true");
    }

    #[test]
    fn ecs_profile_maps_honestly() {
        let mut s = Shaper::new(Profile::Ecs, Limits::default());
        let v = json_of(&mut s, &report(None));
        assert_eq!(v["message"], REPORT.join("\n"));
        assert_eq!(v["log"], json!({"level": "fatal"}));
        assert_eq!(v["error"]["type"], "nil_dereference");
        assert_eq!(v["error"]["stack_trace"], REPORT.join("\n"));
        assert_eq!(v["event"]["type"], json!(["end"]));
        assert_eq!(v["event"]["category"], json!(["process"]));
        assert_eq!(v["event"]["outcome"], "failure");
        assert_eq!(v["ecs"]["version"], ECS_VERSION);
        assert!(v.get("level").is_none());
        assert_eq!(v["go"]["class"], "nil_dereference");
        assert_eq!(v["go_class"], "nil_dereference");
    }

    #[test]
    fn ecs_goroutine_dumps_are_not_errors() {
        let dump = Output::Report(
            (),
            Report {
                event: Event::GoroutineDump,
                lines: vec![
                    cri("goroutine 1 [running]:"),
                    cri("main.main()"),
                    cri("\t/app/main.go:9 +0x1"),
                ],
                kinds: LineKinds::default(),
                split: None,
            },
        );
        let v = json_of(&mut Shaper::new(Profile::Ecs, Limits::default()), &dump);
        assert_eq!(v["log"]["level"], "warning");
        assert!(v.get("error").is_none(), "{v}");
        assert_eq!(
            v["event"],
            json!({"kind": "event", "category": ["process"], "type": ["info"]})
        );
        assert_eq!(v["ecs"]["version"], ECS_VERSION);
        assert_eq!(v["go_class"], "goroutine_dump");
        assert_eq!(v["go_fatal"], "false");
    }

    #[test]
    fn later_parts_carry_the_first_parts_verdict() {
        let mut s = Shaper::default();
        let first = json_of(&mut s, &report(Some(Split { id: 9, part: 1 })));
        let later = Output::Report(
            (),
            Report {
                event: Event::Panic,
                lines: vec![
                    cri("goroutine 8 [select]:"),
                    cri("main.loop()"),
                    cri("\t/app/main.go:30 +0x1"),
                ],
                kinds: LineKinds::default(),
                split: Some(Split { id: 9, part: 2 }),
            },
        );
        let second = json_of(&mut s, &later);
        for k in ["class", "fatal", "recoverable", "fingerprint", "event"] {
            assert_eq!(first["go"][k], second["go"][k], "{k}");
        }
        // The first part's header facts are not repeated; the later part's
        // own first goroutine is not the one the report is about.
        for k in ["message", "goroutine", "top_frame", "signal"] {
            assert!(first["go"].get(k).is_some(), "{k}");
            assert!(second["go"].get(k).is_none(), "{k}");
        }
        assert_eq!(second["go"]["part"], 2);
        assert_eq!(second["go"]["goroutines_total"], 1);
        assert_eq!(second["go"]["goroutines"][0]["id"], 8);
        assert_eq!(second["level"], "fatal");
        for k in ["go_class", "go_fingerprint", "go_report_id"] {
            assert_eq!(first[k], second[k], "{k}");
        }
        assert!(second.get("go_top_frame_function").is_none());
        assert_eq!(second["go_report_id"], "0000000000000009");
    }

    #[test]
    fn enrich_finds_a_joined_report_and_leaves_other_records() {
        let mut s = Shaper::default();
        let mut rec = Map::new();
        rec.insert("log".into(), json!(format!("{}\n", REPORT.join("\n"))));
        rec.insert("kubernetes".into(), json!({"pod_name": "orders-1"}));
        let v = s.enrich(rec).unwrap();
        assert_eq!(v["go"]["class"], "nil_dereference");
        assert_eq!(v["go"]["lines"], 8);
        assert_eq!(v["kubernetes"]["pod_name"], "orders-1");
        assert_eq!(v["level"], "fatal");

        let mut rec = Map::new();
        rec.insert("message".into(), json!("GET /healthz 200"));
        assert_eq!(s.enrich(rec), None);
        let mut rec = Map::new();
        rec.insert(
            "message".into(),
            json!("fatal error: all goroutines are asleep - deadlock!"),
        );
        let v = s.enrich(rec).unwrap();
        assert_eq!(
            v["message"],
            "fatal error: all goroutines are asleep - deadlock!"
        );
        assert_eq!(v["go"]["class"], "deadlock");
        assert!(v.get("log").is_none());
        assert_eq!(s.enrich(Map::new()), None);
    }

    #[test]
    fn records_over_the_byte_bound_drop_nested_parts_and_say_so() {
        let mut lines = vec![cri("fatal error: all goroutines are asleep - deadlock!")];
        for id in 1..=40 {
            lines.push(cri(""));
            lines.push(cri(&format!("goroutine {id} [select]:")));
            lines.push(cri(&format!("main.worker{id}()")));
            lines.push(cri("\t/app/main.go:9 +0x1"));
        }
        let out = Output::Report(
            (),
            Report {
                event: Event::FatalError,
                lines,
                kinds: LineKinds::default(),
                split: None,
            },
        );
        let full = json_of(&mut Shaper::default(), &out).to_string().len();
        let limits = Limits {
            max_record_bytes: Some(full / 2),
            ..Limits::default()
        };
        let mut s = Shaper::new(Profile::Default, limits);
        let v = json_of(&mut s, &out);
        assert!(
            v.to_string().len() <= full / 2,
            "{} > {}",
            v.to_string().len(),
            full / 2
        );
        assert_eq!(v["go"]["cut"], json!(["goroutines", "goroutine_buckets"]));
        assert_eq!(v["go"]["class"], "deadlock");
        assert_eq!(v["go"]["goroutines_total"], 40);
        assert!(v["log"].as_str().unwrap().ends_with("main.go:9 +0x1"));
        // A bound the text alone exceeds cuts everything it may: the nested
        // parts, then the header's fields; never the verdict or the text.
        let limits = Limits {
            max_record_bytes: Some(10),
            ..Limits::default()
        };
        let v = json_of(&mut Shaper::new(Profile::Ecs, limits), &out);
        assert_eq!(
            v["go"]["cut"],
            json!([
                "error.stack_trace",
                "goroutines",
                "goroutine_buckets",
                "goroutine_summary",
                "fatal_error",
                "goroutine",
                "message",
                "top_frame"
            ])
        );
        assert_eq!(v["go"]["class"], "deadlock");
        // The flat copy of `top_frame` went with it.
        assert!(v.get("go_top_frame_function").is_none());
        assert_eq!(v["message"].as_str().unwrap().lines().count(), 161);
    }

    fn shaped_json(limits: Limits, profile: Profile, event: Event, lines: &[String]) -> Value {
        let mut buf = Vec::new();
        Shaper::new(profile, limits)
            .shape(event, lines, None)
            .write(&mut buf, 0);
        serde_json::from_slice(&buf).unwrap()
    }

    fn frames(head: &str) -> Vec<String> {
        [
            head,
            "",
            "goroutine 1 [running]:",
            "main.main()",
            "\t/app/main.go:3 +0x1",
        ]
        .map(str::to_owned)
        .to_vec()
    }

    #[test]
    fn copied_texts_are_capped_and_marked() {
        let value = "é".repeat(60_000);
        let lines = frames(&format!("panic: {value}"));
        let v = shaped_json(Limits::default(), Profile::Default, Event::Panic, &lines);
        let go = &v["go"];
        let cap = Limits::default().max_message_bytes.unwrap();
        let message = go["message"].as_str().unwrap();
        assert_eq!(message.len(), cap);
        assert!(value.starts_with(message));
        assert_eq!(go["message_truncated"], true);
        assert_eq!(go["panics"][0]["value"], message);
        assert_eq!(go["panics"][0]["value_truncated"], true);
        assert_eq!(v["log"], lines.join("\n"));
        assert_eq!(go["class"], "custom_panic");

        let lines = frames(&format!("fatal error: {value}"));
        let v = shaped_json(Limits::default(), Profile::Ecs, Event::FatalError, &lines);
        assert_eq!(v["go"]["fatal_error"].as_str().unwrap().len(), cap);
        assert_eq!(v["go"]["fatal_error_truncated"], true);
        assert_eq!(v["error"]["message"], v["go"]["message"]);

        // Short texts are whole and unmarked.
        let v = shaped_json(
            Limits::default(),
            Profile::Default,
            Event::Panic,
            &frames("panic: x"),
        );
        assert_eq!(v["go"]["message"], "x");
        assert!(v["go"].get("message_truncated").is_none());
        assert!(v["go"]["panics"][0].get("value_truncated").is_none());
    }

    /// A 200 KiB panic value under a 230 KiB bound, its copies uncapped:
    /// the text fits, its copies do not. Returns the lines and the record,
    /// checked against the bound.
    fn long_value_under_bound(profile: Profile) -> (Vec<String>, Value) {
        let lines = frames(&format!("panic: {}", "v".repeat(200 << 10)));
        let max = 230 << 10;
        let limits = Limits {
            max_record_bytes: Some(max),
            max_message_bytes: None,
            ..Limits::default()
        };
        let mut buf = Vec::new();
        Shaper::new(profile, limits)
            .shape(Event::Panic, &lines, None)
            .write(&mut buf, 0);
        assert!(buf.len() <= max, "{} > {max}", buf.len());
        (lines, serde_json::from_slice(&buf).unwrap())
    }

    #[test]
    fn the_record_bound_holds_when_the_header_alone_is_over_it() {
        let (lines, v) = long_value_under_bound(Profile::Default);
        assert_eq!(v["log"], lines.join("\n"));
        let cut = v["go"]["cut"].as_array().unwrap();
        assert!(
            cut.contains(&json!("panics")) && cut.contains(&json!("message")),
            "{cut:?}"
        );
        assert_eq!(v["go"]["class"], "custom_panic");
        assert_eq!(v["go_fingerprint"], v["go"]["fingerprint"]);
    }

    #[test]
    fn copies_of_dropped_members_go_with_them() {
        // The ECS `error.message` copies `go.message`, the flat
        // `go_top_frame_function` copies `go.top_frame.function`: once
        // the site is dropped, copies that stayed kept the record over
        // its bound (here by the value's 200 KiB).
        let (lines, v) = long_value_under_bound(Profile::Ecs);
        let cut = v["go"]["cut"].as_array().unwrap();
        assert!(
            cut.contains(&json!("message")) && cut.contains(&json!("top_frame")),
            "{cut:?}"
        );
        assert!(v["error"].get("message").is_none());
        assert_eq!(v["error"]["type"], "custom_panic");
        assert!(v.get("go_top_frame_function").is_none());
        assert_eq!(v["message"], lines.join("\n"));
    }

    #[test]
    fn big_dumps_are_bounded() {
        let mut lines = vec![cri("fatal error: all goroutines are asleep - deadlock!")];
        for id in 1..=60 {
            lines.push(cri(""));
            lines.push(cri(&format!(
                "goroutine {id} [chan receive, {} minutes]:",
                id % 5 + 1
            )));
            lines.push(cri(if id % 2 == 0 {
                "main.worker()"
            } else {
                "main.poller()"
            }));
            lines.push(cri("\t/app/main.go:9 +0x1"));
        }
        let mut s = Shaper::default();
        let v = json_of(
            &mut s,
            &Output::Report(
                (),
                Report {
                    event: Event::FatalError,
                    lines,
                    kinds: LineKinds::default(),
                    split: None,
                },
            ),
        );
        let go = &v["go"];
        assert_eq!(go["goroutines_total"], 60);
        assert_eq!(go["goroutines"].as_array().unwrap().len(), 20);
        assert_eq!(go["goroutines_omitted"], 40);
        assert_eq!(go["goroutine_buckets"][0]["count"], 30);
        assert_eq!(go["goroutine_buckets"][0]["wait_minutes_min"], 1);
        assert_eq!(go["goroutine_buckets"][0]["wait_minutes_max"], 5);
        assert_eq!(
            go["goroutine_summary"],
            "30 × chan receive in main.poller; 30 × chan receive in main.worker"
        );
    }
}
