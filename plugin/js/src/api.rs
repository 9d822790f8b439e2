//! The package's logic on strings and JSON, free of JavaScript types so it
//! runs (and is tested) natively. Results are JSON arrays or objects that
//! the bindings hand to `JSON.parse`.

use gopanic::classify::{classify, fingerprint};
use gopanic::container::{Format, LogLine};
use gopanic::parse::parse as parse_crash;
use gopanic::pipeline::{Options, Pipeline, lines};
use gopanic::record::{MIN_RECORD_BYTES, Profile, find_report};

// The options' error message names it.
const _: () = assert!(MIN_RECORD_BYTES == 4096);
use gopanic::time::parse_rfc3339_nanos;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The options object as JavaScript spells it; unknown keys are an error,
/// so a typo does not silently fall back to a default.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OptionsJson {
    format: Option<String>,
    profile: Option<String>,
    max_report_bytes: Option<usize>,
    max_report_lines: Option<usize>,
    idle_timeout_ms: Option<u64>,
    max_line_bytes: Option<usize>,
    max_record_bytes: Option<usize>,
    max_goroutines: Option<usize>,
}

/// Validated options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OptionsIn(pub Options);

impl OptionsIn {
    /// Reads the options object's JSON (`None`: all defaults).
    pub fn from_json(json: Option<&str>) -> Result<Self, String> {
        let Some(json) = json else {
            return Ok(OptionsIn::default());
        };
        let o: OptionsJson =
            serde_json::from_str(json).map_err(|e| format!("invalid options: {e}"))?;
        let d = Options::default();
        Ok(OptionsIn(Options {
            format: match o.format {
                Some(f) => f.parse::<Format>()?,
                None => d.format,
            },
            profile: match o.profile {
                Some(p) => p.parse::<Profile>()?,
                None => d.profile,
            },
            max_report_bytes: o.max_report_bytes.unwrap_or(d.max_report_bytes),
            max_report_lines: o.max_report_lines.unwrap_or(d.max_report_lines),
            idle_timeout_ms: o.idle_timeout_ms.unwrap_or(d.idle_timeout_ms),
            max_line_bytes: o.max_line_bytes.unwrap_or(d.max_line_bytes),
            max_record_bytes: match o.max_record_bytes {
                Some(0) | None => None,
                Some(..MIN_RECORD_BYTES) => {
                    // A fixed message: formatting one costs the wasm budget.
                    return Err("invalid options: maxRecordBytes < 4096".into());
                }
                b => b,
            },
            max_goroutines: o.max_goroutines.unwrap_or(d.max_goroutines),
        }))
    }
}

/// A whole log's records as a JSON array, in output order.
pub fn reassemble(text: &str, options: &OptionsIn) -> Vec<u8> {
    let mut s = Stream::new(options);
    for raw in lines(text) {
        s.pipeline.push_raw(raw);
    }
    s.finish()
}

/// Where a line came from when the caller decoded it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    stream: Option<String>,
    time: Option<String>,
}

impl Meta {
    /// Reads a line's metadata object from its JSON.
    pub fn from_json(json: &str) -> Result<Self, String> {
        serde_json::from_str(json).map_err(|e| format!("invalid line meta: {e}"))
    }
}

/// A live source: the core pipeline and a reused output buffer.
pub struct Stream {
    pipeline: Pipeline,
    buf: Vec<u8>,
}

impl Stream {
    /// A source with these options.
    pub fn new(options: &OptionsIn) -> Self {
        Stream {
            pipeline: Pipeline::new(&options.0),
            buf: Vec::new(),
        }
    }

    /// Pushes a raw line (no `meta`) or a decoded one; returns the records
    /// that left.
    pub fn push(&mut self, line: &str, meta: Option<&Meta>) -> Result<Vec<u8>, String> {
        let time_nanos = match meta.and_then(|m| m.time.as_deref()) {
            Some(t) => Some(
                parse_rfc3339_nanos(t)
                    .ok_or_else(|| format!("time {t:?} is not an RFC 3339 timestamp"))?,
            ),
            None => None,
        };
        // One line, or several separated by `\n`; "" is one empty line.
        for text in line.strip_suffix('\n').unwrap_or(line).split('\n') {
            match meta {
                None => self.pipeline.push_raw(text),
                Some(m) => self.pipeline.push_line(LogLine {
                    time: m.time.as_deref().map(Into::into),
                    time_nanos,
                    stream: m.stream.clone().map(Into::into),
                    ..LogLine::plain(text.to_owned())
                }),
            }
        }
        Ok(self.drain())
    }

    /// Closes the reports idle at `now_ms` (milliseconds, the log's clock).
    pub fn tick(&mut self, now_ms: f64) -> Result<Vec<u8>, String> {
        if !now_ms.is_finite() {
            return Err(format!("tick: now must be a finite number, not {now_ms}"));
        }
        // Saturating: a float beyond the range becomes its end.
        let now = (now_ms * 1e6) as i64;
        self.pipeline.tick(now);
        Ok(self.drain())
    }

    /// Ends every open report (end of input); the records that left, as a JSON array.
    pub fn finish(&mut self) -> Vec<u8> {
        self.pipeline.finish();
        self.drain()
    }

    /// The records that left since the last call, as a JSON array.
    fn drain(&mut self) -> Vec<u8> {
        self.buf.clear();
        self.buf.push(b'[');
        if self.pipeline.drain_json(&mut self.buf, b',') > 0 {
            self.buf.pop();
        }
        self.buf.push(b']');
        self.buf.clone()
    }

    /// The counters, as the JSON `Stats` object.
    pub fn stats(&self) -> Vec<u8> {
        let c = self.pipeline.counts();
        json!({
            "linesIn": c.lines_in,
            "recordsOut": c.records_out,
            "reports": c.reports,
            "reportParts": c.report_parts,
            "malformed": c.malformed,
        })
        .to_string()
        .into_bytes()
    }
}

/// The lines of a report given as one text (a collector's joined record).
fn report_lines(text: &str) -> Vec<&str> {
    text.trim_end_matches('\n')
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect()
}

/// One crash report parsed in full: the crash model with its verdict.
pub fn parse(text: &str) -> Result<Vec<u8>, String> {
    let event = find_report(text).ok_or("no Go crash report found in the text")?;
    let crash = parse_crash(event, &report_lines(text));
    let verdict = classify(&crash);
    // Through bytes, not `to_value`: a second serializer type would add its
    // own copy of every `Serialize` impl of the crash model to the wasm.
    // Read back as `&str`: the slice reader is another copy of serde_json's
    // deserializer.
    let json = serde_json::to_string(&crash).map_err(|e| e.to_string())?;
    let mut m: Map<String, Value> = serde_json::from_str(&json).map_err(|e| e.to_string())?;
    // Labels are an object already, as in records (`labels.request_id`).
    m.insert("event".into(), json!(event.as_str()));
    m.insert("class".into(), json!(verdict.class));
    m.insert("fatal".into(), json!(verdict.fatal));
    m.insert("recoverable".into(), json!(verdict.recoverable));
    m.insert("level".into(), json!(verdict.level));
    if let Some(msg) = crash.message() {
        m.insert("message".into(), json!(msg));
    }
    m.insert(
        "fingerprint".into(),
        json!(fingerprint(&crash, verdict.class)),
    );
    serde_json::to_vec(&m).map_err(|e| e.to_string())
}

/// A collector-joined record (JSON object) with the `go` fields added, or
/// `None` when it holds no crash report.
pub fn enrich(record: &str, options: &OptionsIn) -> Result<Option<Vec<u8>>, String> {
    let record: Map<String, Value> =
        serde_json::from_str(record).map_err(|e| format!("the record is not an object: {e}"))?;
    let Some(shaped) = options.0.shaper().enrich(record) else {
        return Ok(None);
    };
    serde_json::to_vec(&shaped)
        .map(Some)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CRI: &str = "\
2026-11-27T06:51:01.000000001Z stdout F ready
2026-11-27T06:51:01.000000002Z stderr F panic: runtime error: integer divide by zero
2026-11-27T06:51:01.000000003Z stderr F 
2026-11-27T06:51:01.000000004Z stderr F goroutine 1 [running]:
2026-11-27T06:51:01.000000005Z stderr F main.main()
2026-11-27T06:51:01.000000006Z stderr F \t/app/main.go:9 +0x1d
";

    fn values(json: &[u8]) -> Value {
        serde_json::from_slice(json).unwrap()
    }

    #[test]
    fn whole_log_as_the_cli_writes_it() {
        let o = OptionsIn::default();
        let got = values(&reassemble(CRI, &o));
        let ndjson = gopanic::pipeline::reassemble_text(CRI, &o.0);
        let want: Vec<Value> = std::str::from_utf8(&ndjson)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(got, Value::Array(want));
        assert_eq!(got[1]["go"]["class"], "divide_by_zero");
        assert_eq!(values(&reassemble("", &o)), json!([]));
    }

    #[test]
    fn options_are_checked() {
        let o = OptionsIn::from_json(Some(
            r#"{"format":"cri","profile":"ecs","maxRecordBytes":262144}"#,
        ))
        .unwrap();
        assert_eq!(o.0.format, Format::Cri);
        assert_eq!(o.0.profile, Profile::Ecs);
        assert_eq!(o.0.max_record_bytes, Some(262144));
        let bound = |j: &str| OptionsIn::from_json(Some(j)).unwrap().0.max_record_bytes;
        assert_eq!(bound(r#"{"maxRecordBytes":4096}"#), Some(4096));
        assert_eq!(bound(r#"{"maxRecordBytes":0}"#), None);
        for bad in [
            r#"{"format":"xml"}"#,
            r#"{"idleTimeout":5}"#,
            r#"{"maxReportBytes":-1}"#,
            r#"{"maxReportBytes":1.5}"#,
            r#"{"profile":3}"#,
            r#"{"maxRecordBytes":4095}"#,
        ] {
            let e = OptionsIn::from_json(Some(bad)).unwrap_err();
            assert!(!e.is_empty(), "{bad}");
        }
        assert!(
            OptionsIn::from_json(Some(r#"{"format":"xml"}"#))
                .unwrap_err()
                .contains("unknown format")
        );
    }

    #[test]
    fn decoded_lines_with_meta() {
        let mut s = Stream::new(&OptionsIn::default());
        let meta = Meta::from_json(r#"{"stream":"stderr","time":"2026-11-27T06:51:01Z"}"#).unwrap();
        let out = values(
            &s.push(
                "panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:5 +0x25",
                Some(&meta),
            )
            .unwrap(),
        );
        assert_eq!(out, json!([]));
        let out = values(&s.tick(f64::MAX).unwrap());
        assert_eq!(out[0]["time"], "2026-11-27T06:51:01Z");
        assert_eq!(out[0]["stream"], "stderr");
        assert_eq!(out[0]["go"]["lines"], 5);
        assert!(
            s.push(
                "x",
                Some(&Meta::from_json(r#"{"time":"yesterday"}"#).unwrap())
            )
            .is_err()
        );
        assert!(Meta::from_json(r#"{"steam":"stderr"}"#).is_err());
        assert!(s.tick(f64::NAN).is_err());
        // An empty string is one empty line.
        let out = values(&s.push("", None).unwrap());
        assert_eq!(out[0]["log"], "");
        assert_eq!(values(&s.stats())["linesIn"], 6);
    }

    #[test]
    fn parse_and_enrich() {
        let text = "panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:5 +0x25\n";
        let c = values(&parse(text).unwrap());
        assert_eq!(c["class"], "custom_panic");
        assert_eq!(c["goroutines"][0]["frames"][0]["function"], "main.main");
        assert!(
            parse("GET / 200")
                .unwrap_err()
                .contains("no Go crash report")
        );

        let rec = json!({"log": text, "kubernetes": {"pod_name": "p"}}).to_string();
        let out = values(&enrich(&rec, &OptionsIn::default()).unwrap().unwrap());
        assert_eq!(out["go"]["fingerprint"], c["fingerprint"]);
        assert_eq!(out["kubernetes"]["pod_name"], "p");
        assert_eq!(
            enrich(r#"{"log":"GET / 200"}"#, &OptionsIn::default()).unwrap(),
            None
        );
        assert!(enrich("[1]", &OptionsIn::default()).is_err());
    }
}
