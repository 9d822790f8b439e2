//! `gopanic_enrich`: records whose `log` (or `message`) already holds a
//! joined crash report get the `go` fields and `level`; every other record
//! passes unchanged. For records that something else joined (an
//! application's own logger, a forwarder upstream); Fluent Bit's own
//! `multiline` filter is not such a joiner (see README.md). Stateless but
//! for its settings: works where Fluent Bit re-instantiates the module for
//! every batch (≤ 4.0), with the default settings there.
//!
//! One record in, one out: a joined report over the record bound cannot
//! leave in parts, so its text is cut at a line boundary to fit and the
//! record says how much was cut (`go.text_cut_bytes`); Loki would reject
//! the whole record otherwise.

use gopanic::record::{Shaper, find_report};
use serde_json::{Map, Value};

use crate::Verdict;
use crate::json::{Record, decode_string, write_key};
use crate::quick::locate_log;
use crate::settings::Settings;

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
pub fn enrich(record: &[u8], settings: &Settings, out: &mut Vec<u8>) -> Verdict {
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
    let base = record.len().saturating_sub(text.len());
    let mut only_text = Map::new();
    only_text.insert(key.to_owned(), Value::String(text));
    let mut shaper = Shaper::new(settings.profile, settings.record_limits(base));
    let Some(mut shaped) = shaper.enrich(only_text) else {
        return Verdict::Unchanged;
    };
    if let Some(bound) = settings.record_bound() {
        cut_text(&mut shaped, bound.saturating_sub(base));
    }
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

/// Cuts the report's text (`log`, or `message` in the ECS profile and for
/// records that carried it there) at a line boundary until the shaped
/// members fit in `budget` bytes of JSON; notes the bytes cut.
fn cut_text(shaped: &mut Map<String, Value>, budget: usize) {
    let len = |m: &Map<String, Value>| serde_json::to_vec(m).map_or(0, |v| v.len());
    let total = len(shaped);
    if total <= budget {
        return;
    }
    let key = if shaped.get("log").is_some_and(Value::is_string) {
        "log"
    } else {
        "message"
    };
    let Some(Value::String(text)) = shaped.get_mut(key) else {
        return;
    };
    let excess = total - budget;
    let before = text.len();
    // Escaping makes the JSON at least as long as the text: cutting
    // `excess` bytes of text is enough; a line boundary keeps lines whole.
    let mut at = before.saturating_sub(excess + 64);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let at = text.get(..at).and_then(|t| t.rfind('\n')).unwrap_or(at);
    text.truncate(at);
    let cut = before - at;
    if let Some(Value::Object(go)) = shaped.get_mut("go") {
        go.insert("text_cut_bytes".into(), Value::from(cut));
        go.insert("truncated".into(), Value::Bool(true));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(record: &str) -> Option<Value> {
        let mut out = Vec::new();
        match enrich(record.as_bytes(), &Settings::default(), &mut out) {
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
    fn a_joined_report_over_the_bound_is_cut_to_fit() {
        let mut text = String::from(
            "panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:5 +0x25\n",
        );
        for g in 2..3000 {
            text.push_str(&format!(
                "\ngoroutine {g} [select]:\nmain.wait()\n\t/app/main.go:9 +0x25\n"
            ));
        }
        let rec = serde_json::json!({"log": text, "stream": "stderr"}).to_string();
        assert!(rec.len() > 100_000);
        let settings = Settings {
            max_record_bytes: 50_000,
            ..Settings::default()
        };
        let mut out = Vec::new();
        assert_eq!(enrich(rec.as_bytes(), &settings, &mut out), Verdict::Emit);
        assert!(out.len() <= 50_000, "{}", out.len());
        let got: Value = serde_json::from_slice(&out).unwrap();
        let kept = got["log"].as_str().unwrap();
        assert!(text.starts_with(kept) && text[kept.len()..].starts_with('\n'));
        assert_eq!(
            got["go"]["text_cut_bytes"],
            text.trim_end().len() - kept.len()
        );
        assert_eq!(got["go"]["class"], "custom_panic");
    }

    #[test]
    fn escaped_non_ascii_text() {
        let got = run(r#"{"log":"panic: caf\u00e9 \ud83d\ude00\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:5 +0x25"}"#).unwrap();
        assert_eq!(got["go"]["message"], "café 😀");
    }
}
