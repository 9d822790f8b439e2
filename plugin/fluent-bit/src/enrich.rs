//! `gopanic_enrich`: records whose `log` (or `message`) already holds a
//! joined crash report get the `go` fields and `level`; every other record
//! passes unchanged. Stateless: works where Fluent Bit re-instantiates the
//! module for every batch (≤ 4.0).

use gopanic::record::{Shaper, find_report};
use serde_json::{Map, Value};

use crate::Verdict;
use crate::quick::locate_log;
use crate::json::{Record, decode_string, write_key};

/// Whether the record certainly passes unchanged, found by reading as
/// little of it as possible: its `log` text holds no line that could start
/// a report. `false` means "read it in full".
pub fn passes_quickly(record: &[u8]) -> bool {
    let Some((value, maybe)) = locate_log(record, false, true) else {
        return false;
    };
    if !maybe {
        return true;
    }
    // A line starts with a report's first byte: ask the core (it rejects
    // without building anything when no line can start a report).
    record
        .get(value)
        .and_then(decode_string)
        .is_some_and(|text| find_report(&text).is_none())
}

/// Enriches `record` into `out` (without NUL), or says it passes unchanged.
pub fn enrich(record: &[u8], out: &mut Vec<u8>) -> Verdict {
    if passes_quickly(record) {
        return Verdict::Unchanged;
    }
    let Some(rec) = Record::parse(record) else {
        return Verdict::Unchanged;
    };
    // As `Shaper::enrich`: `log` when it is a string, else `message`.
    let Some((key, text)) = ["log", "message"]
        .into_iter()
        .find_map(|k| Some((k, rec.get_str(k)?)))
    else {
        return Verdict::Unchanged;
    };
    // Cheap rejection before any shaping: most records hold no report.
    if find_report(&text).is_none() {
        return Verdict::Unchanged;
    }
    let mut only_text = Map::new();
    only_text.insert(key.to_owned(), Value::String(text));
    let Some(shaped) = Shaper::default().enrich(only_text) else {
        return Verdict::Unchanged;
    };
    // The shaper drops `log` and `message` from the base record and sets
    // its own members; everything else is spliced through untouched.
    let mut skip: Vec<&str> = vec!["log", "message"];
    skip.extend(shaped.keys().map(String::as_str));
    out.clear();
    rec.write_open(out, &skip);
    for (k, v) in &shaped {
        write_key(out, k);
        if serde_json::to_writer(&mut *out, v).is_err() {
            return Verdict::Unchanged;
        }
    }
    out.push(b'}');
    Verdict::Emit
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(record: &str) -> Option<Value> {
        let mut out = Vec::new();
        match enrich(record.as_bytes(), &mut out) {
            Verdict::Emit => Some(serde_json::from_slice(&out).unwrap()),
            _ => None,
        }
    }

    #[test]
    fn enriches_like_the_core_and_keeps_other_fields() {
        let text = "panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:5 +0x25\n";
        let rec = serde_json::json!({"log": text, "kubernetes": {"pod_name": "p", "labels": {"a": "b"}}, "level": "x", "stream": "stderr"});
        let got = run(&rec.to_string()).unwrap();
        let want = Shaper::default()
            .enrich(rec.as_object().unwrap().clone())
            .unwrap();
        assert_eq!(got, Value::Object(want));
        assert_eq!(got["go"]["class"], "custom_panic");
        assert_eq!(got["kubernetes"]["labels"]["a"], "b");
    }

    #[test]
    fn message_key_and_unchanged_records() {
        let got =
            run(r#"{"message":"fatal error: all goroutines are asleep - deadlock!","log":1}"#)
                .unwrap();
        assert_eq!(got["go"]["class"], "deadlock");
        assert!(got.get("log").is_none());
        for rec in [
            r#"{"log":"GET / 200"}"#,
            r#"{"log":1}"#,
            "{}",
            "[1]",
            "not json",
            r#"{"log":"panic: x""#,
        ] {
            assert!(run(rec).is_none(), "{rec}");
        }
    }

    #[test]
    fn escaped_non_ascii_text() {
        let got = run(r#"{"log":"panic: caf\u00e9 \ud83d\ude00\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:5 +0x25"}"#).unwrap();
        assert_eq!(got["go"]["message"], "café 😀");
    }
}
