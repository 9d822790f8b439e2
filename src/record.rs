//! Record shaping: reassembler output as JSON records for Loki and
//! Elasticsearch. The schema is documented in `docs/record-schema.md` and
//! checked by `docs/record.schema.json` / `docs/record-ecs.schema.json`.
//!
//! An ordinary line leaves as its decoded record (`time`, `stream`, `log`
//! for CRI and docker, `log` alone for plain text). A crash report leaves as
//! one record: the first line's fields, `log` holding the report's lines
//! joined with `\n`, a top-level `level`, and the `go` object: flat scalars
//! for Loki's `| json` (which skips arrays) and the full structure for
//! Elasticsearch, bounded in size.
//!
//! A report record also carries flat top-level string copies of its key
//! facts (`go_class`, `go_fingerprint`, …, see [`FLAT`]): a Loki output can
//! move them into structured metadata, filterable without a parser, while
//! the `go` object stays whole in the line.
//!
//! The ECS profile renames the text field to `message` (ECS's `log` is an
//! object: `log.level`) on every record, so one index never sees `log` as
//! both text and object, sets `ecs.version` on every record, and adds
//! `event.*` and, for reports that are errors, `error.*`.

use std::collections::VecDeque;

use serde_json::{Map, Value, json};

use crate::classify::{Bucket, Classification, buckets, classify, fingerprint, top_frame};
use crate::container::LogLine;
use crate::crash::{Crash, Goroutine};
use crate::grammar::may_start_report;
use crate::parse::parse;
use crate::reassembler::{Config, Event, Line, Output, Reassembler, Split};

/// Version of the `go` object's layout (`go.schema`).
pub const SCHEMA_VERSION: u64 = 1;

/// The ECS version whose field list the ECS profile follows (`ecs.version`).
pub const ECS_VERSION: &str = "9.4.0";

/// The flat top-level copies of a report's facts: name, and path in `go`.
/// Names are those Loki's `| json` gives the nested fields (`go.class` →
/// `go_class`), so a query reads the same whether a value came from
/// structured metadata or from parsing the line. Values are strings
/// (structured metadata holds only strings), `fatal` as `"true"`/`"false"`.
pub const FLAT: &[(&str, &[&str])] = &[
    ("go_event", &["event"]),
    ("go_class", &["class"]),
    ("go_fatal", &["fatal"]),
    ("go_fingerprint", &["fingerprint"]),
    ("go_top_frame_function", &["top_frame", "function"]),
    ("go_report_id", &["report_id"]),
];

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

/// Size bounds of the nested parts of a record.
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
    /// When set, nested parts of a report record are dropped (see
    /// [`CUTTABLE`]) until its JSON fits, and `go.cut` names them. Loki
    /// rejects lines over 256 KiB. The report's text is never cut here: the
    /// reassembler's report bound splits it into parts.
    pub max_record_bytes: Option<usize>,
    /// When set, `go.message` (a copy of the panic value or fatal error,
    /// which a program may make megabytes long) keeps at most this many
    /// bytes, cut at a character boundary, and `go.message_truncated` is
    /// set. The full text stays in `log`; class and fingerprint are
    /// computed from the whole message.
    pub max_message_bytes: Option<usize>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_goroutines: 20,
            max_buckets: 10,
            summary_buckets: 3,
            max_record_bytes: None,
            max_message_bytes: None,
        }
    }
}

/// What a split report's first part knew, handed to the later parts (which
/// hold only goroutine blocks) so that every part carries the same class,
/// message and fingerprint.
#[derive(Debug, Clone)]
struct Carry {
    id: u64,
    fields: Map<String, Value>,
    level: &'static str,
}

/// Shapes records; holds the little state that split reports need.
#[derive(Debug, Default)]
pub struct Shaper {
    pub profile: Profile,
    pub limits: Limits,
    carries: VecDeque<Carry>,
}

/// The scalars a first part hands to later parts.
const CARRIED: &[&str] = &[
    "class",
    "fatal",
    "recoverable",
    "message",
    "fingerprint",
    "goroutine",
    "top_frame",
    "signal",
    "value_type",
    "http_remote",
];

/// Split reports in flight remembered at most (oldest forgotten first).
const MAX_CARRIES: usize = 256;

impl Shaper {
    pub fn new(profile: Profile, limits: Limits) -> Self {
        Shaper {
            profile,
            limits,
            carries: VecDeque::new(),
        }
    }

    /// The record of an ordinary line, from the host's record of it.
    pub fn line_record(&self, mut base: Map<String, Value>) -> Map<String, Value> {
        if self.profile == Profile::Ecs {
            if let Some(text) = base.remove("log") {
                base.insert("message".into(), text);
            }
            base.insert("ecs".into(), json!({"version": ECS_VERSION}));
        }
        base
    }

    /// The record of a report: `base` holds the first line's other fields
    /// (time, stream, Kubernetes metadata…), which are kept.
    pub fn report_record<L: Line>(
        &mut self,
        mut base: Map<String, Value>,
        event: Event,
        lines: &[L],
        split: Option<Split>,
    ) -> Map<String, Value> {
        let texts: Vec<&str> = lines.iter().map(Line::text).collect();
        let text = texts.join("\n");
        let crash = parse(event, &texts);
        let verdict = classify(&crash);
        let mut go = Map::new();
        go.insert("schema".into(), json!(SCHEMA_VERSION));
        go.insert("event".into(), json!(event.as_str()));
        let mut level = verdict.level;
        self.insert_verdict(&mut go, &crash, &verdict);
        go.insert("lines".into(), json!(lines.len()));
        go.insert("truncated".into(), json!(split.is_some()));
        if let Some(s) = split {
            go.insert("report_id".into(), json!(format!("{:016x}", s.id)));
            go.insert("part".into(), json!(s.part));
            level = self.carry(s, &mut go, level);
        }
        self.insert_goroutines(&mut go, &crash);
        insert_details(&mut go, &crash);

        base.remove("log");
        base.remove("message");
        match self.profile {
            Profile::Default => {
                base.insert("log".into(), Value::String(text));
                base.insert("level".into(), json!(level));
            }
            Profile::Ecs => {
                insert_ecs(&mut base, &go, level, &text);
                base.insert("message".into(), Value::String(text));
            }
        }
        insert_flat(&mut base, &go);
        base.insert("go".into(), Value::Object(go));
        if let Some(max) = self.limits.max_record_bytes {
            fit(&mut base, max);
        }
        base
    }

    fn insert_verdict(&self, go: &mut Map<String, Value>, crash: &Crash, v: &Classification) {
        go.insert("class".into(), json!(v.class));
        go.insert("fatal".into(), json!(v.fatal));
        go.insert("recoverable".into(), json!(v.recoverable));
        if let Some(mut m) = crash.message() {
            if let Some(max) = self.limits.max_message_bytes
                && cut_on_char_boundary(&mut m, max)
            {
                go.insert("message_truncated".into(), json!(true));
            }
            go.insert("message".into(), json!(m));
        }
        go.insert("fingerprint".into(), json!(fingerprint(crash, v.class)));
        if let Some(t) = crash.panics.first().and_then(|p| p.go_type.as_ref()) {
            go.insert("value_type".into(), json!(t));
        }
        if let Some(g) = crash.crashing_goroutine() {
            let mut o = Map::new();
            o.insert("id".into(), json!(g.id));
            o.insert("state".into(), json!(g.state));
            if let Some(m) = g.wait_minutes {
                o.insert("wait_minutes".into(), json!(m));
            }
            if !g.labels.is_empty() {
                o.insert("labels".into(), labels_object(g));
            }
            go.insert("goroutine".into(), Value::Object(o));
        }
        let site = crash
            .crashing_goroutine()
            .or_else(|| crash.goroutines.first())
            .and_then(top_frame)
            .or_else(|| {
                let race = crash.race.as_ref()?;
                race.accesses.first()?.frames.iter().find(|f| !f.runtime)
            });
        if let Some(f) = site {
            go.insert(
                "top_frame".into(),
                json!({"function": f.function, "package": f.package, "file": f.file, "line": f.line}),
            );
        }
        if let Some(s) = &crash.signal {
            go.insert(
                "signal".into(),
                serde_json::to_value(s).unwrap_or(Value::Null),
            );
        }
        if let Some(r) = &crash.http_remote {
            go.insert("http_remote".into(), json!(r));
        }
    }

    /// Remembers a first part's verdict, or applies it to a later part.
    fn carry(
        &mut self,
        s: Split,
        go: &mut Map<String, Value>,
        level: &'static str,
    ) -> &'static str {
        if s.part == 1 {
            let fields = CARRIED
                .iter()
                .filter_map(|k| go.get(*k).map(|v| ((*k).to_owned(), v.clone())))
                .collect();
            if self.carries.len() >= MAX_CARRIES {
                self.carries.pop_front();
            }
            self.carries.push_back(Carry {
                id: s.id,
                fields,
                level,
            });
            return level;
        }
        let Some(c) = self.carries.iter().find(|c| c.id == s.id) else {
            return level;
        };
        for (k, v) in &c.fields {
            go.insert(k.clone(), v.clone());
        }
        c.level
    }

    fn insert_goroutines(&self, go: &mut Map<String, Value>, crash: &Crash) {
        let total = crash.goroutines.len();
        go.insert("goroutines_total".into(), json!(total));
        if total == 0 {
            return;
        }
        let all = buckets(&crash.goroutines);
        go.insert(
            "goroutine_summary".into(),
            json!(summary(&all, self.limits.summary_buckets)),
        );
        let shown: Vec<Value> = all
            .iter()
            .take(self.limits.max_buckets)
            .map(bucket_value)
            .collect();
        go.insert("goroutine_buckets".into(), Value::Array(shown));
        if all.len() > self.limits.max_buckets {
            go.insert(
                "goroutine_buckets_omitted".into(),
                json!(all.len() - self.limits.max_buckets),
            );
        }
        let full: Vec<Value> = crash
            .goroutines
            .iter()
            .take(self.limits.max_goroutines)
            .map(goroutine_value)
            .collect();
        go.insert("goroutines".into(), Value::Array(full));
        if total > self.limits.max_goroutines {
            go.insert(
                "goroutines_omitted".into(),
                json!(total - self.limits.max_goroutines),
            );
        }
    }
}

/// The nested parts of `go` that a size bound may drop, least useful first.
/// The flat scalars, the summary and `log` always stay.
pub const CUTTABLE: &[&str] = &[
    "goroutines",
    "race",
    "runtime_stacks",
    "registers",
    "goroutine_buckets",
    "panics",
    "runtime_notes",
];

/// Drops nested parts until the record's JSON is at most `max` bytes; the
/// ECS `error.stack_trace`, a copy of `message`, goes first.
fn fit(record: &mut Map<String, Value>, max: usize) {
    let mut cut: Vec<&str> = Vec::new();
    if json_len(record) > max
        && let Some(error) = record.get_mut("error").and_then(Value::as_object_mut)
        && error.remove("stack_trace").is_some()
    {
        cut.push("error.stack_trace");
    }
    for key in CUTTABLE {
        if json_len(record) <= max {
            break;
        }
        if let Some(go) = record.get_mut("go").and_then(Value::as_object_mut)
            && go.remove(*key).is_some()
        {
            cut.push(key);
        }
    }
    if !cut.is_empty()
        && let Some(go) = record.get_mut("go").and_then(Value::as_object_mut)
    {
        go.insert("cut".into(), json!(cut));
    }
}

/// The length of a value's JSON, without building it.
fn json_len(v: &Map<String, Value>) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    // Counting cannot fail; on the impossible error the count stays short.
    let _ = serde_json::to_writer(&mut c, v);
    c.0
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

fn bucket_value(b: &Bucket<'_>) -> Value {
    let mut o = Map::new();
    o.insert("count".into(), json!(b.count));
    o.insert("state".into(), json!(b.state));
    if let Some(m) = b.min_wait_minutes {
        o.insert("wait_minutes_min".into(), json!(m));
    }
    if let Some(m) = b.max_wait_minutes {
        o.insert("wait_minutes_max".into(), json!(m));
    }
    if let Some(f) = b.top_frame {
        o.insert("top_function".into(), json!(f.function));
        o.insert("top_file".into(), json!(f.file));
        o.insert("top_line".into(), json!(f.line));
    }
    o.insert("first_goroutine".into(), json!(b.first_id));
    Value::Object(o)
}

fn labels_object(g: &Goroutine) -> Value {
    Value::Object(
        g.labels
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

fn goroutine_value(g: &Goroutine) -> Value {
    let mut v = serde_json::to_value(g).unwrap_or(Value::Null);
    // Labels as an object (`labels.request_id`), not pairs.
    if let Some(o) = v.as_object_mut()
        && !g.labels.is_empty()
    {
        o.insert("labels".into(), labels_object(g));
    }
    v
}

fn insert_details(go: &mut Map<String, Value>, crash: &Crash) {
    let mut put = |k: &str, v: Value| {
        go.insert(k.into(), v);
    };
    if !crash.panics.is_empty() {
        put(
            "panics",
            serde_json::to_value(&crash.panics).unwrap_or(Value::Null),
        );
    }
    if let Some(f) = &crash.fatal_error {
        put("fatal_error", json!(f));
    }
    if let Some(a) = &crash.fault_address {
        put("fault_address", json!(a));
    }
    if crash.in_cgo {
        put("in_cgo", json!(true));
    }
    if !crash.runtime_notes.is_empty() {
        put("runtime_notes", json!(crash.runtime_notes));
    }
    if !crash.runtime_stacks.is_empty() {
        put("runtime_stacks", json!(crash.runtime_stacks));
    }
    if let Some(r) = &crash.registers {
        put("registers", json!(r));
    }
    if let Some(r) = &crash.race {
        put("race", serde_json::to_value(r).unwrap_or(Value::Null));
    }
}

/// The [`FLAT`] copies of `go`'s facts, as strings.
fn insert_flat(base: &mut Map<String, Value>, go: &Map<String, Value>) {
    for (name, path) in FLAT {
        let Some((last, parents)) = path.split_last() else {
            continue;
        };
        let value = parents
            .iter()
            .try_fold(go, |o, k| o.get(*k)?.as_object())
            .and_then(|o| o.get(*last));
        let text = match value {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Bool(b)) => b.to_string(),
            _ => continue,
        };
        base.insert((*name).into(), Value::String(bounded(text)));
    }
}

/// `s` cut to at most [`MAX_FLAT_BYTES`], on a character boundary.
fn bounded(mut s: String) -> String {
    cut_on_char_boundary(&mut s, MAX_FLAT_BYTES);
    s
}

/// Cuts `s` to at most `max` bytes on a character boundary; whether it cut.
fn cut_on_char_boundary(s: &mut String, max: usize) -> bool {
    if s.len() <= max {
        return false;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    true
}

/// ECS fields: only those that map honestly. A goroutine is not an OS
/// thread, so `process.thread.id` stays unset. A goroutine dump (SIGQUIT,
/// `debug.Stack`, a pprof dump) shows state, not a failure: no `error.*`
/// and no `event.outcome`; every other report is an error.
fn insert_ecs(base: &mut Map<String, Value>, go: &Map<String, Value>, level: &str, text: &str) {
    let fatal = go.get("fatal").and_then(Value::as_bool).unwrap_or(false);
    let class = go.get("class").and_then(Value::as_str).unwrap_or("unknown");
    let http = go.get("event").and_then(Value::as_str) == Some("http_panic");
    let is_error = class != "goroutine_dump";
    let mut event = Map::new();
    event.insert("kind".into(), json!("event"));
    // ECS lists the event types expected per category: `process` takes
    // `end`/`info`, `web` takes `error`.
    let (category, kind) = match (http, fatal) {
        (true, _) => ("web", "error"),
        (false, true) => ("process", "end"),
        (false, false) => ("process", "info"),
    };
    event.insert("category".into(), json!([category]));
    event.insert("type".into(), json!([kind]));
    if is_error {
        event.insert("outcome".into(), json!("failure"));
        let mut error = Map::new();
        if let Some(m) = go.get("message") {
            error.insert("message".into(), m.clone());
        }
        error.insert("type".into(), json!(class));
        error.insert("stack_trace".into(), json!(text));
        base.insert("error".into(), Value::Object(error));
    }
    base.insert("ecs".into(), json!({"version": ECS_VERSION}));
    base.insert("log".into(), json!({"level": level}));
    base.insert("event".into(), Value::Object(event));
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
    let mut r: Reassembler<(), &str> = Reassembler::new(Config::default());
    let mut out = Vec::new();
    for line in text.split('\n') {
        r.push(&(), line.strip_suffix('\r').unwrap_or(line), 0, &mut out);
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
        let text = record.get(key)?.as_str()?.to_owned();
        let event = find_report(&text)?;
        let lines: Vec<&str> = text.trim_end_matches('\n').split('\n').collect();
        record.remove(key);
        let mut shaped = self.report_record(record, event, &lines, None);
        if self.profile == Profile::Default
            && key != "log"
            && let Some(t) = shaped.remove("log")
        {
            shaped.insert(key.to_owned(), t);
        }
        Some(shaped)
    }
}

/// The host record of a decoded container line: `time`, `stream`, `log`.
pub fn log_line_base(line: &LogLine) -> Map<String, Value> {
    let mut m = Map::new();
    if let Some(t) = &line.time {
        m.insert("time".into(), json!(t));
    }
    if let Some(s) = &line.stream {
        m.insert("stream".into(), json!(s));
    }
    m.insert("log".into(), json!(line.text));
    m
}

impl Shaper {
    /// Writes one reassembler output as a JSON object (no newline) to `buf`.
    pub fn write_json<K>(&mut self, output: &Output<K, LogLine>, buf: &mut Vec<u8>) {
        // Writing into a Vec cannot fail.
        let _ = match output {
            // The common case, every ordinary line: serialised from borrows,
            // without building a map.
            Output::Line(_, line) => {
                let record = OrdinaryLine {
                    time: line.time.as_deref(),
                    stream: line.stream.as_deref(),
                    log: (self.profile == Profile::Default).then_some(line.text.as_str()),
                    message: (self.profile == Profile::Ecs).then_some(line.text.as_str()),
                    ecs: (self.profile == Profile::Ecs).then_some(EcsVersion {
                        version: ECS_VERSION,
                    }),
                    continued: line.continued,
                };
                serde_json::to_writer(&mut *buf, &record)
            }
            Output::Report(_, report) => {
                let base = report.lines.first().map(log_line_base).unwrap_or_default();
                let record = self.report_record(base, report.event, &report.lines, report.split);
                serde_json::to_writer(&mut *buf, &record)
            }
        };
    }
}

/// [`log_line_base`] + [`Shaper::line_record`], borrowed.
#[derive(serde::Serialize)]
struct OrdinaryLine<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ecs: Option<EcsVersion>,
    /// A piece of a line cut at the line bound; the stream's next record
    /// continues its text.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    continued: bool,
}

/// `ecs.version` of an ordinary line in the ECS profile.
#[derive(serde::Serialize)]
struct EcsVersion {
    version: &'static str,
}

/// The report's lines joined with `\n`.
pub fn join_lines<L: Line>(lines: &[L]) -> String {
    let len = lines.iter().map(|l| l.text().len() + 1).sum();
    let mut s = String::with_capacity(len);
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        s.push_str(l.text());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reassembler::Report;

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
        // The borrowed fast path and the map path agree.
        let mut base = Map::new();
        base.insert("log".into(), json!("plain"));
        assert_eq!(Value::Object(ecs.line_record(base)), v);
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
        assert_eq!(bounded("é".repeat(200)).len(), MAX_FLAT_BYTES);
        assert_eq!(bounded("x".repeat(300)).len(), MAX_FLAT_BYTES);
        assert_eq!(bounded("main.f".into()), "main.f");
        let mut go = Map::new();
        go.insert("fatal".into(), json!(false));
        go.insert("top_frame".into(), json!({"function": 3}));
        go.insert("report_id".into(), json!("00000000000000ff"));
        let mut base = Map::new();
        insert_flat(&mut base, &go);
        assert_eq!(
            Value::Object(base),
            json!({"go_fatal": "false", "go_report_id": "00000000000000ff"})
        );
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
                split: Some(Split { id: 9, part: 2 }),
            },
        );
        let second = json_of(&mut s, &later);
        for k in ["class", "message", "fingerprint", "goroutine", "top_frame"] {
            assert_eq!(first["go"][k], second["go"][k], "{k}");
        }
        assert_eq!(second["go"]["part"], 2);
        assert_eq!(second["go"]["goroutines_total"], 1);
        assert_eq!(second["go"]["goroutines"][0]["id"], 8);
        assert_eq!(second["level"], "fatal");
        for k in ["go_class", "go_fingerprint", "go_report_id"] {
            assert_eq!(first[k], second[k], "{k}");
        }
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
        // A bound the text alone exceeds cuts everything it may, and no more.
        let limits = Limits {
            max_record_bytes: Some(10),
            ..Limits::default()
        };
        let v = json_of(&mut Shaper::new(Profile::Ecs, limits), &out);
        assert_eq!(
            v["go"]["cut"],
            json!(["error.stack_trace", "goroutines", "goroutine_buckets"])
        );
        assert_eq!(v["message"].as_str().unwrap().lines().count(), 161);
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
