//! JSON events in, JSON events out: for collectors that hand over structured
//! events (Vector's `http` sink and `console`/`file` sinks, Fluent Bit's
//! `json_lines`, any JSON-lines log) rather than container log lines.
//!
//! An event carries its line of text in a field (`message`, else `log`) and
//! belongs to a stream named by other fields ([`StreamKeys`]; for Vector's
//! `kubernetes_logs`: pod UID, container and `stdout`/`stderr`). Ordinary
//! events leave exactly as they came, member for member; a crash report
//! leaves as one event: its first event's fields, the text field holding the
//! report's lines joined with `\n`, plus `level` and `go`.
//!
//! [`EventStreams`] keeps one clock per stream, so that an idle report
//! leaves on time by the clock of the pod that wrote it, whatever the other
//! streams do.

use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use crate::reassembler::{Config, Line, Output, Reassembler};
use crate::record::{Profile, Shaper};
use crate::time::parse_rfc3339_nanos;

/// Which fields name an event's stream: the first alternative whose fields
/// are all present wins; events with none of them share one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamKeys {
    /// Alternatives in order; each a list of field paths (`a.b` reads member
    /// `b` of object `a`, or a member literally named `a.b`).
    pub alternatives: Vec<Vec<String>>,
}

impl Default for StreamKeys {
    /// Vector's `kubernetes_logs` fields, then a file-tailing source's.
    fn default() -> Self {
        StreamKeys::parse(&[
            "kubernetes.pod_uid,kubernetes.container_name,stream",
            "file,stream",
        ])
    }
}

impl StreamKeys {
    /// From comma-separated field lists, one per alternative.
    pub fn parse<S: AsRef<str>>(alternatives: &[S]) -> Self {
        StreamKeys {
            alternatives: alternatives
                .iter()
                .map(|a| {
                    a.as_ref()
                        .split(',')
                        .map(str::trim)
                        .filter(|f| !f.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .filter(|a: &Vec<String>| !a.is_empty())
                .collect(),
        }
    }

    /// The stream key of an event: the alternative's number and its field
    /// values, separated by a byte no JSON text holds unescaped.
    pub fn key_of(&self, event: &Map<String, Value>) -> String {
        for (i, fields) in self.alternatives.iter().enumerate() {
            let values: Option<Vec<&Value>> = fields.iter().map(|f| lookup(event, f)).collect();
            if let Some(values) = values {
                let mut key = i.to_string();
                for v in values {
                    key.push('\u{1f}');
                    match v {
                        Value::String(s) => key.push_str(s),
                        other => key.push_str(&other.to_string()),
                    }
                }
                return key;
            }
        }
        String::new()
    }
}

/// The value at `path`: a literal member of that name, else the dotted path
/// through nested objects.
fn lookup<'a>(event: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(v) = event.get(path) {
        return Some(v);
    }
    let mut parts = path.split('.');
    let mut v = event.get(parts.next()?)?;
    for p in parts {
        v = v.as_object()?.get(p)?;
    }
    Some(v)
}

/// How events are read.
#[derive(Debug, Clone)]
pub struct EventFormat {
    /// The fields that name an event's stream.
    pub keys: StreamKeys,
    /// Fields that may hold the line's text, in order of preference.
    pub text_fields: Vec<String>,
    /// Fields that may hold the event's time (RFC 3339 text, or seconds
    /// since the Unix epoch as a number), in order of preference.
    pub time_fields: Vec<String>,
}

impl Default for EventFormat {
    fn default() -> Self {
        EventFormat {
            keys: StreamKeys::default(),
            text_fields: vec!["message".into(), "log".into()],
            time_fields: vec![
                "timestamp".into(),
                "time".into(),
                "@timestamp".into(),
                "date".into(),
            ],
        }
    }
}

/// One event as read: its JSON text kept as it came, and what the
/// reassembler needs from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonEvent {
    /// The event's JSON object, as it came (one line).
    raw: String,
    /// The text field's name and value; `None` when no text field holds a
    /// string (such an event joins no report).
    text: Option<(String, String)>,
    /// The event's time in nanoseconds since the Unix epoch, when it has one.
    pub time_nanos: Option<i64>,
    /// The input was not a JSON object: it is carried as the text of an
    /// event `{"message": …}`.
    pub malformed: bool,
}

impl Line for JsonEvent {
    fn text(&self) -> &str {
        self.text.as_ref().map_or("", |(_, t)| t.as_str())
    }

    fn mem_bytes(&self) -> usize {
        self.raw.capacity()
            + self
                .text
                .as_ref()
                .map_or(0, |(f, t)| f.capacity() + t.capacity())
    }
}

impl JsonEvent {
    /// Whether the event has a line of text that can join a report.
    pub fn has_text(&self) -> bool {
        self.text.is_some()
    }

    /// The event's JSON text as it came (for a malformed input, the event
    /// that carries it).
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// Size in bytes, for hosts that bound what they hold.
    pub fn size(&self) -> usize {
        self.raw.len() + self.text.as_ref().map_or(0, |(f, t)| f.len() + t.len())
    }
}

impl EventFormat {
    /// Reads one event (one JSON object, no framing newline) and its stream
    /// key. Anything but a JSON object is carried as the text of an event
    /// `{"message": …}` marked `malformed`, on the stream of events without
    /// key fields.
    pub fn read(&self, raw: &str) -> (String, JsonEvent) {
        let raw = raw.trim_matches(|c: char| c.is_ascii_whitespace());
        let map = match serde_json::from_str::<Value>(raw) {
            Ok(Value::Object(m)) => m,
            _ => return (String::new(), JsonEvent::malformed(raw)),
        };
        let key = self.keys.key_of(&map);
        let text = self.text_fields.iter().find_map(|f| match map.get(f) {
            Some(Value::String(s)) => Some((f.clone(), s.clone())),
            _ => None,
        });
        let time_nanos = self.time_fields.iter().find_map(|f| match map.get(f)? {
            Value::String(s) => parse_rfc3339_nanos(s),
            Value::Number(n) => {
                let secs = n.as_f64()?;
                (secs.is_finite() && secs.abs() < 9.2e9).then_some((secs * 1e9) as i64)
            }
            _ => None,
        });
        // Framing is one event per line: an event spread over several lines
        // (pretty-printed) is written compactly.
        let raw = if raw.contains(['\n', '\r']) {
            Value::Object(map).to_string()
        } else {
            raw.to_owned()
        };
        let event = JsonEvent {
            raw,
            text,
            time_nanos,
            malformed: false,
        };
        (key, event)
    }
}

impl JsonEvent {
    /// Text that is not a JSON event, carried as the text of an event
    /// `{"message": …}` marked `malformed`.
    pub fn malformed(raw: &str) -> Self {
        let mut m = Map::new();
        m.insert("message".into(), Value::String(raw.to_owned()));
        JsonEvent {
            raw: Value::Object(m).to_string(),
            text: Some(("message".into(), raw.to_owned())),
            time_nanos: None,
            malformed: true,
        }
    }
}

/// The record bound's consequence for the reassembler: report text is cut
/// into parts of at most half the record bound, counted as JSON writes it
/// (a tab becomes `\t`), which leaves the other half for the `go` object.
pub fn bounded_config(mut cfg: Config, max_record_bytes: Option<usize>) -> Config {
    if let Some(r) = max_record_bytes {
        cfg.max_report_bytes = cfg.max_report_bytes.min(r / 2).max(1);
        cfg.json_text = true;
    }
    cfg.max_report_lines = cfg.max_report_lines.max(1);
    cfg
}

/// The record bound's consequence for the decoder: a line longer than half
/// the record bound (as JSON writes it: see [`crate::Decoder::counting_json`])
/// leaves in pieces, as report parts do (a report of one huge line would
/// otherwise be a record over the bound).
pub fn bounded_line_bytes(max_line_bytes: usize, max_record_bytes: Option<usize>) -> usize {
    max_record_bytes
        .map_or(max_line_bytes, |r| max_line_bytes.min(r / 2))
        .max(1)
}

/// Per-stream clock: the newest event time of the stream and the host's
/// clock when that event arrived.
#[derive(Debug, Clone, Copy)]
struct Clock {
    event: i64,
    arrived: i64,
}

/// Reassembles JSON events stream by stream; see the module docs. `L` is
/// the host's event type (a [`JsonEvent`], or one wrapped with the host's
/// own bookkeeping).
pub struct EventStreams<L> {
    reassembler: Reassembler<String, L>,
    clocks: HashMap<String, Clock>,
}

impl<L: Line + Borrow<JsonEvent>> EventStreams<L> {
    /// A reassembler of events with the core's configuration `cfg`.
    pub fn new(cfg: Config) -> Self {
        EventStreams {
            reassembler: Reassembler::new(cfg),
            clocks: HashMap::new(),
        }
    }

    /// The reassembler, for its counters and open streams.
    pub fn reassembler(&self) -> &Reassembler<String, L> {
        &self.reassembler
    }

    /// Feeds one event of stream `key`, arrived at `now` by the host's clock
    /// (nanoseconds since the Unix epoch; the event's time when it has none).
    /// An event without text ends its stream's open report and leaves as it
    /// came, after it.
    pub fn push(&mut self, key: String, event: L, now: i64, out: &mut Vec<Output<String, L>>) {
        if !event.borrow().has_text() {
            self.reassembler.close_stream(&key, out);
            self.clocks.remove(&key);
            out.push(Output::Line(key, event));
            return;
        }
        let time = event.borrow().time_nanos.unwrap_or(now);
        let c = self.clocks.entry(key.clone()).or_insert(Clock {
            event: time,
            arrived: now,
        });
        c.event = c.event.max(time);
        c.arrived = now;
        self.reassembler.push(&key, event, time, out);
        // Only streams with an open report need a clock.
        if self.clocks.len() > 2 * self.reassembler.config().max_open_streams {
            self.forget_closed_clocks();
        }
    }

    /// Closes the reports idle at `now` (the host's clock): each stream's
    /// clock is its newest event time advanced by the time since that event
    /// arrived.
    pub fn tick(&mut self, now: i64, out: &mut Vec<Output<String, L>>) {
        let open: Vec<String> = self
            .reassembler
            .open_streams()
            .map(|(k, _)| k.clone())
            .collect();
        for key in &open {
            let stream_now = self.clocks.get(key).map_or(now, |c| {
                c.event.saturating_add(now.saturating_sub(c.arrived).max(0))
            });
            self.reassembler.tick_stream(key, stream_now, out);
        }
        self.forget_closed_clocks();
    }

    fn forget_closed_clocks(&mut self) {
        let open: HashSet<&String> = self.reassembler.open_streams().map(|(k, _)| k).collect();
        self.clocks.retain(|k, _| open.contains(k));
    }

    /// Closes every open report (end of input, shutdown).
    pub fn finish(&mut self, out: &mut Vec<Output<String, L>>) {
        self.reassembler.finish(out);
        self.clocks.clear();
    }

    /// Bytes of text held in open reports.
    pub fn held_bytes(&self) -> usize {
        self.reassembler.open_streams().map(|(_, b)| b).sum()
    }
}

impl Shaper {
    /// Writes one output of [`EventStreams`] as a JSON object (no newline):
    /// an ordinary event exactly as it came; a report as its first event's
    /// fields with the text field holding the joined report, `level` and
    /// `go` (the ECS profile's fields instead with [`Profile::Ecs`]).
    pub fn write_event<K, L: Line + Borrow<JsonEvent>>(
        &mut self,
        output: &Output<K, L>,
        buf: &mut Vec<u8>,
    ) {
        match output {
            Output::Line(_, e) => buf.extend_from_slice(e.borrow().raw.as_bytes()),
            Output::Report(_, report) => {
                let first = report.lines.first().map(|l| l.borrow());
                let mut base = first
                    .and_then(|e| serde_json::from_str::<Map<String, Value>>(&e.raw).ok())
                    .unwrap_or_default();
                let field = first
                    .and_then(|e| e.text.as_ref())
                    .map_or("message", |(f, _)| f.as_str());
                let mut shaped = self.shape_report(report);
                // The joined text goes back under the field it came in.
                if self.profile == Profile::Default {
                    shaped.set_text_key(field.to_owned());
                }
                // The base's own text field is replaced by the report's.
                base.remove(field);
                shaped.write_with_base(&base, buf);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn k8s(uid: &str, stream: &str, ts: &str, message: &str) -> String {
        json!({
            "file": format!("/var/log/pods/shop_billing_{uid}/billing/0.log"),
            "kubernetes": {"container_name": "billing", "pod_name": "billing-1", "pod_namespace": "shop", "pod_uid": uid},
            "message": message,
            "source_type": "kubernetes_logs",
            "stream": stream,
            "timestamp": ts,
        })
        .to_string()
    }

    fn run(format: &EventFormat, raws: &[String]) -> Vec<Value> {
        let mut s: EventStreams<JsonEvent> = EventStreams::new(Config::default());
        let mut out = Vec::new();
        for r in raws {
            let (key, e) = format.read(r);
            s.push(key, e, 0, &mut out);
        }
        s.finish(&mut out);
        let mut shaper = Shaper::default();
        out.iter()
            .map(|o| {
                let mut buf = Vec::new();
                shaper.write_event(o, &mut buf);
                serde_json::from_slice(&buf).unwrap()
            })
            .collect()
    }

    const PANIC: &[&str] = &[
        "panic: boom",
        "",
        "goroutine 1 [running]:",
        "main.main()",
        "\t/app/main.go:9 +0x18",
        "exit status 2",
    ];

    #[test]
    fn keys_follow_the_first_complete_alternative() {
        let keys = StreamKeys::default();
        let m = |v: Value| v.as_object().unwrap().clone();
        let a = keys.key_of(&m(
            json!({"kubernetes": {"pod_uid": "u", "container_name": "c"}, "stream": "stderr"}),
        ));
        let b = keys.key_of(&m(
            json!({"kubernetes": {"pod_uid": "u", "container_name": "c"}, "stream": "stdout"}),
        ));
        let c = keys.key_of(&m(
            json!({"kubernetes": {"pod_uid": "u"}, "file": "/f", "stream": "stdout"}),
        ));
        let d = keys.key_of(&m(json!({"kubernetes.pod_uid": "u", "kubernetes.container_name": "c", "stream": "stderr"})));
        assert_eq!(a, "0\u{1f}u\u{1f}c\u{1f}stderr");
        assert_ne!(a, b);
        assert_eq!(c, "1\u{1f}/f\u{1f}stdout");
        assert_eq!(d, a, "a literal dotted member counts as the path");
        assert_eq!(keys.key_of(&m(json!({"message": "x"}))), "");
    }

    #[test]
    fn ordinary_events_leave_verbatim_and_a_report_as_one_event() {
        let mut raws = vec![k8s(
            "u1",
            "stdout",
            "2026-11-27T06:51:01.1Z",
            "{\"level\":\"info\"}",
        )];
        for (i, l) in PANIC.iter().enumerate() {
            raws.push(k8s("u1", "stderr", &format!("2026-11-27T06:51:02.{i}Z"), l));
        }
        let out = run(&EventFormat::default(), &raws);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0], serde_json::from_str::<Value>(&raws[0]).unwrap());
        let report = &out[1];
        assert_eq!(report["message"], PANIC[..5].join("\n"));
        assert_eq!(report["timestamp"], "2026-11-27T06:51:02.0Z");
        assert_eq!(report["kubernetes"]["pod_uid"], "u1");
        assert_eq!(report["stream"], "stderr");
        assert_eq!(report["level"], "fatal");
        assert_eq!(report["go"]["event"], "panic");
        assert_eq!(report["go"]["message"], "boom");
        assert!(report.get("log").is_none());
        assert_eq!(out[2]["message"], "exit status 2");
    }

    #[test]
    fn ordinary_event_text_is_byte_for_byte() {
        let raw = r#"{"z":1,"message":"a\u00e9","a":[1.50,2]}"#;
        let (_, e) = EventFormat::default().read(raw);
        let mut buf = Vec::new();
        Shaper::default().write_event(&Output::Line((), e), &mut buf);
        assert_eq!(buf, raw.as_bytes());
    }

    #[test]
    fn streams_are_joined_apart() {
        // Two pods' panics interleaved line by line.
        let mut raws = Vec::new();
        for l in &PANIC[..5] {
            raws.push(k8s("a", "stderr", "2026-11-27T06:51:02Z", l));
            raws.push(k8s("b", "stderr", "2026-11-27T06:51:02Z", l));
        }
        let out = run(&EventFormat::default(), &raws);
        assert_eq!(out.len(), 2);
        for r in &out {
            assert_eq!(r["message"], PANIC[..5].join("\n"));
        }
    }

    #[test]
    fn textless_and_malformed_events() {
        let f = EventFormat::default();
        let (key, e) = f.read("not json {");
        assert_eq!(key, "");
        assert!(e.malformed);
        assert_eq!(e.raw(), r#"{"message":"not json {"}"#);
        let raws = vec![
            k8s("u", "stderr", "2026-11-27T06:51:02Z", PANIC[0]),
            k8s("u", "stderr", "2026-11-27T06:51:02Z", PANIC[1]),
            // No text: the open report ends before it.
            json!({"kubernetes": {"pod_uid": "u", "container_name": "billing"}, "stream": "stderr", "message": {"k": 1}}).to_string(),
        ];
        let out = run(&f, &raws);
        assert_eq!(out.len(), 3, "{out:?}");
        assert_eq!(out[2]["message"], json!({"k": 1}));
    }

    #[test]
    fn fluent_bit_json_lines_use_log() {
        let f = EventFormat {
            keys: StreamKeys::parse(&["stream"]),
            ..EventFormat::default()
        };
        let raws: Vec<String> = PANIC[..5]
            .iter()
            .map(|l| json!({"date": 1764226262.5, "log": l, "stream": "stderr"}).to_string())
            .collect();
        let (_, e) = f.read(&raws[0]);
        assert_eq!(e.time_nanos, Some(1_764_226_262_500_000_000));
        let out = run(&f, &raws);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0]["log"], PANIC[..5].join("\n"));
        assert!(out[0].get("message").is_none());
    }

    #[test]
    fn idle_reports_leave_by_their_streams_clock() {
        let f = EventFormat::default();
        let mut s: EventStreams<JsonEvent> = EventStreams::new(Config::default());
        let mut out = Vec::new();
        // Event time is a day in the past; arrival is "now".
        let now = 1_800_000_000_000_000_000;
        for l in &PANIC[..5] {
            let (k, e) = f.read(&k8s("u", "stderr", "2026-11-27T06:51:02Z", l));
            s.push(k, e, now, &mut out);
        }
        assert!(out.is_empty());
        s.tick(now + 900_000_000, &mut out);
        assert!(out.is_empty(), "not idle yet");
        assert!(s.held_bytes() > 0);
        s.tick(now + 1_100_000_000, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(s.held_bytes(), 0);
        assert!(s.clocks.is_empty());
    }
}
