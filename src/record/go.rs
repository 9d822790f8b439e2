//! The `go` object of a report record, as types. The field docs here are
//! the schema's: `docs/record-schema.md`'s field tables are generated from
//! them (a test checks that they agree).
//!
//! What a split report's later parts carry is [`Verdict`]; what only the
//! first part says is [`Site`]; what a record byte bound may drop is
//! [`Nested`], most useful first, dropped from the end.

use std::borrow::Cow;

use serde::{Serialize, Serializer};

use crate::classify::{Bucket, Class};
use crate::crash::Event;
use crate::crash::{Frame, Goroutine, Race, Signal};

/// The `go` object: flat scalars first (Loki's `| json` skips arrays), then
/// the nested structure for Elasticsearch.
#[derive(Debug, Serialize)]
pub struct Go<'a> {
    /// This layout's version: 1.
    pub schema: u64,
    /// What the runtime printed: `panic`, `fatal_error`, `signal`,
    /// `data_race`, `goroutine_dump`, `http_panic`.
    #[serde(serialize_with = "event_name")]
    pub event: Event,
    /// The verdict, the same on every part of a split report.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// What the report's header says; only on its first part.
    #[serde(flatten)]
    pub site: Option<Site<'a>>,
    /// Lines joined into the text (`log`).
    pub lines: usize,
    /// The report hit the size bound and left in parts.
    pub truncated: bool,
    /// On split reports: the id the parts share (16 hex digits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_id: Option<ReportId>,
    /// On split reports: the 1-based part number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part: Option<u32>,
    /// Goroutine blocks in this record's text.
    pub goroutines_total: usize,
    /// Goroutines beyond those given in full (all are in the text and in
    /// the buckets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goroutines_omitted: Option<usize>,
    /// Buckets beyond those given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goroutine_buckets_omitted: Option<usize>,
    /// The nested parts a record byte bound may drop.
    #[serde(flatten)]
    pub nested: Nested<'a>,
    /// Only when a record byte bound is set (`--max-record-bytes`; Loki
    /// rejects lines over 256 KiB) and the record was over it: the members
    /// dropped, in the order dropped (see [`Nested`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cut: Vec<Cow<'static, str>>,
}

fn event_name<S: Serializer>(e: &Event, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(e.as_str())
}

/// The verdict that every part of a split report carries: a later part
/// (which holds only goroutine blocks) says what the report as a whole was.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// What happened (see the class table).
    pub class: Class,
    /// The process terminates because of this report: unrecovered panics,
    /// fatal errors, signal crashes and SIGQUIT dumps; not `http: panic
    /// serving`, `runtime.Stack`/`debug.PrintStack` dumps or race reports.
    pub fatal: bool,
    /// A `recover()` could have stopped it: panics yes; `fatal error:`
    /// throws, signals, races, dumps no.
    pub recoverable: bool,
    /// A stable id of the root cause: 16 hex digits (see Fingerprint).
    pub fingerprint: String,
}

/// What the report's header and crashing goroutine say; a later part of a
/// split report holds none of it (its own first goroutine is not the one
/// the report is about). Texts copied from the report are capped
/// (`Limits::max_message_bytes`) and marked.
#[derive(Debug, Serialize)]
pub struct Site<'a> {
    /// The first panic value (multi-line values joined with `\n`), or the
    /// fatal error's reason, or `SIGxxx: description`, or `DATA RACE`; at
    /// most `max_message_bytes` (16 KiB by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'a str>,
    /// `true` when `message` was cut to its bound (at a character
    /// boundary); the full text is in `log`.
    #[serde(skip_serializing_if = "is_false")]
    pub message_truncated: bool,
    /// The panic value's Go type when the runtime printed one
    /// (`main.StatusCode` for `main.StatusCode(503)`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_type: Option<&'a str>,
    /// The goroutine the report is about: the one that panicked or threw
    /// (the first block), the one a SIGQUIT landed on, the dumping one of a
    /// goroutine dump; absent for race reports and when no block was
    /// printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goroutine: Option<GoroutineRef<'a>>,
    /// Where it happened: the first frame of that goroutine after the last
    /// `panic` frame, skipping the runtime's own frames and the `sync`
    /// plumbing; for race reports, the first access's top frame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_frame: Option<TopFrame<'a>>,
    /// From `[signal …]` or `SIGxxx: …` + `PC=… m=… sigcode=… addr=…`:
    /// `name`, `description`, `code`, `addr`, `pc`, `m`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<&'a Signal<'a>>,
    /// The client address of `http: panic serving <remote>: …`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_remote: Option<&'a str>,
    /// The reason of `fatal error: <reason>`, capped as `message`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fatal_error: Option<&'a str>,
    /// `true` when `fatal_error` was cut to its bound.
    #[serde(skip_serializing_if = "is_false")]
    pub fatal_error_truncated: bool,
    /// The address of `unexpected fault address 0x…`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault_address: Option<&'a str>,
    /// `true` when `signal arrived during cgo execution` was printed.
    #[serde(skip_serializing_if = "is_false")]
    pub in_cgo: bool,
}

fn is_false(b: &bool) -> bool {
    !b
}

/// `go.goroutine`: the goroutine the report is about, in brief.
#[derive(Debug, Serialize)]
pub struct GoroutineRef<'a> {
    /// The goroutine id.
    pub id: u64,
    /// The status or wait reason (`running`, `chan receive`, …).
    pub state: &'a str,
    /// Minutes blocked, when printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_minutes: Option<u64>,
    /// pprof labels, as an object (`labels.request_id`).
    #[serde(
        skip_serializing_if = "<[_]>::is_empty",
        serialize_with = "crate::crash::labels_object"
    )]
    pub labels: &'a [(Cow<'a, str>, Cow<'a, str>)],
}

impl<'a> GoroutineRef<'a> {
    /// The brief of `g`.
    pub fn of(g: &'a Goroutine) -> Self {
        GoroutineRef {
            id: g.id,
            state: &g.state,
            wait_minutes: g.wait_minutes,
            labels: &g.labels,
        }
    }
}

/// `go.top_frame`: where it happened.
#[derive(Debug, Serialize)]
pub struct TopFrame<'a> {
    /// The function as printed, without arguments.
    pub function: &'a str,
    /// Its import path.
    pub package: &'a str,
    /// The source file as printed.
    pub file: &'a str,
    /// The line in it.
    pub line: u32,
}

impl<'a> TopFrame<'a> {
    /// The location of `f`.
    pub fn of(f: &'a Frame) -> Self {
        TopFrame {
            function: &f.function,
            package: &f.package,
            file: &f.file,
            line: f.line,
        }
    }
}

/// A split report's id, written as 16 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportId(pub u64);

impl Serialize for ReportId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{:016x}", self.0))
    }
}

/// Declares [`Nested`]: every member an `Option`, listed most useful first;
/// the record byte bound drops them from the end.
macro_rules! nested {
    ($(#[doc = $sdoc:literal])* pub struct $name:ident<'a> {
        $($(#[doc = $doc:literal])* pub $field:ident: $ty:ty,)*
    }) => {
        $(#[doc = $sdoc])*
        #[derive(Debug, Default, Serialize)]
        pub struct $name<'a> {
            $($(#[doc = $doc])*
            #[serde(skip_serializing_if = "Option::is_none")]
            pub $field: Option<$ty>,)*
        }

        impl $name<'_> {
            /// The members, most useful first: a bound drops the last first.
            pub const MEMBERS: &'static [&'static str] = &[$(stringify!($field)),*];

            /// The present members, most useful first, each with the bytes
            /// its `,"name":value` takes in the JSON.
            pub(crate) fn sizes(&self) -> Vec<(&'static str, usize)> {
                let mut sizes = Vec::new();
                $(if let Some(v) = &self.$field {
                    sizes.push((stringify!($field), super::json::member_len(stringify!($field), v)));
                })*
                sizes
            }

            /// Drops the member named `name`.
            pub(crate) fn drop_member(&mut self, name: &str) {
                $(if name == stringify!($field) {
                    self.$field = None;
                })*
            }
        }
    };
}

nested! {
    /// The nested parts of `go`, for Elasticsearch. When a record byte bound
    /// is set and the record is over it, they are dropped from the last
    /// (`goroutines`) to the first (`goroutine_summary`) until it fits, and
    /// `go.cut` names them.
    pub struct Nested<'a> {
        /// The three largest buckets in one line: `4980 × chan receive in
        /// github.com/acme/orders/worker.(*Pool).run; 20 × select in
        /// main.loop; 12 more`.
        pub goroutine_summary: String,
        /// `runtime:` lines printed before the header (stack overflow, out
        /// of memory), without the prefix.
        pub runtime_notes: &'a [Cow<'a, str>],
        /// Every panic value in printed order: `value` (capped as
        /// `message`; `value_truncated` when cut), `runtime_error`,
        /// `go_type`, `recovered` (` [recovered]` ≤1.24, ` [recovered,
        /// repanicked]` 1.25+).
        pub panics: Vec<PanicRecord<'a>>,
        /// Up to 10 buckets of goroutines with the same state, frames and
        /// creator, largest first.
        pub goroutine_buckets: Vec<BucketRecord<'a>>,
        /// The register dump of a signal report, raw text.
        pub registers: &'a str,
        /// `runtime stack:` sections (the system stack of a throw), raw
        /// text.
        pub runtime_stacks: &'a [String],
        /// A race detector report: `accesses[]`, `goroutines[]`,
        /// `location`.
        pub race: &'a Race<'a>,
        /// Up to 20 goroutines in full, the one the report is about first.
        pub goroutines: &'a [Goroutine<'a>],
    }
}

/// One panic value in `go.panics`.
#[derive(Debug, Serialize)]
pub struct PanicRecord<'a> {
    /// The value as printed, at most `max_message_bytes`.
    pub value: &'a str,
    /// `true` when `value` was cut to its bound.
    #[serde(skip_serializing_if = "is_false")]
    pub value_truncated: bool,
    /// The value starts with `runtime error: `.
    pub runtime_error: bool,
    /// The Go type when the runtime printed one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub go_type: Option<&'a str>,
    /// Recovered, then panicked again.
    pub recovered: bool,
}

/// One bucket in `go.goroutine_buckets`.
#[derive(Debug, Serialize)]
pub struct BucketRecord<'a> {
    /// Goroutines in the bucket.
    pub count: usize,
    /// Their state.
    pub state: &'a str,
    /// The shortest wait, in minutes, when printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_minutes_min: Option<u64>,
    /// The longest wait, in minutes, when printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_minutes_max: Option<u64>,
    /// The first frame in the program's own code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_function: Option<&'a str>,
    /// Its file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_file: Option<&'a str>,
    /// Its line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_line: Option<u32>,
    /// The lowest goroutine id in the bucket.
    pub first_goroutine: u64,
}

impl<'a> BucketRecord<'a> {
    /// The record of `b`.
    pub fn of(b: &Bucket<'a>) -> Self {
        BucketRecord {
            count: b.count,
            state: b.state,
            wait_minutes_min: b.min_wait_minutes,
            wait_minutes_max: b.max_wait_minutes,
            top_function: b.top_frame.map(|f| f.function.as_ref()),
            top_file: b.top_frame.map(|f| f.file.as_ref()),
            top_line: b.top_frame.map(|f| f.line),
            first_goroutine: b.first_id,
        }
    }
}
