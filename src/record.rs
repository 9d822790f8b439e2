//! Record shaping: reassembler output as JSON records.
//!
//! An ordinary line leaves as its decoded record (`time`, `stream`, `log`
//! for CRI and docker, `log` alone for plain text). A crash report leaves as
//! one record: the first line's `time` and `stream`, `log` holding the
//! report's lines joined with `\n`, and a `go` object. The names under `go`
//! are a stable interface (see `docs/record-schema.md` once it exists).

use serde::Serialize;

use crate::container::LogLine;
use crate::reassembler::{Line, Output, Report};

#[derive(Serialize)]
struct LineRecord<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<&'a str>,
    log: &'a str,
}

#[derive(Serialize)]
struct ReportRecord<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<&'a str>,
    log: String,
    go: GoFields,
}

/// The `go` object of a report record.
#[derive(Serialize)]
struct GoFields {
    /// What the runtime printed: `panic`, `fatal_error`, `signal`,
    /// `data_race`, `goroutine_dump`, `http_panic`.
    event: &'static str,
    /// Number of lines joined into `log`.
    lines: usize,
    /// The report hit a size bound and was split into parts.
    truncated: bool,
    /// Shared by all parts of a split report.
    #[serde(skip_serializing_if = "Option::is_none")]
    report_id: Option<String>,
    /// 1-based part number of a split report.
    #[serde(skip_serializing_if = "Option::is_none")]
    part: Option<u32>,
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

/// Writes one output as a JSON object (no trailing newline) to `buf`.
pub fn write_json<K>(output: &Output<K, LogLine>, buf: &mut Vec<u8>) {
    let result = match output {
        Output::Line(_, line) => serde_json::to_writer(
            &mut *buf,
            &LineRecord {
                time: line.time.as_deref(),
                stream: line.stream.as_deref(),
                log: &line.text,
            },
        ),
        Output::Report(_, report) => serde_json::to_writer(&mut *buf, &report_record(report)),
    };
    // Serializing borrowed strings and numbers into a Vec cannot fail.
    debug_assert!(result.is_ok());
}

fn report_record(report: &Report<LogLine>) -> ReportRecord<'_> {
    let first = report.lines.first();
    ReportRecord {
        time: first.and_then(|l| l.time.as_deref()),
        stream: first.and_then(|l| l.stream.as_deref()),
        log: join_lines(&report.lines),
        go: GoFields {
            event: report.event.as_str(),
            lines: report.lines.len(),
            truncated: report.split.is_some(),
            report_id: report.split.map(|s| format!("{:016x}", s.id)),
            part: report.split.map(|s| s.part),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reassembler::{Event, Split};

    fn cri(text: &str) -> LogLine {
        LogLine {
            envelope: crate::container::Envelope::Cri,
            time: Some("2026-11-27T06:51:01.5Z".into()),
            time_nanos: None,
            stream: Some("stderr".into()),
            text: text.into(),
            malformed: false,
        }
    }

    fn json<K>(o: &Output<K, LogLine>) -> serde_json::Value {
        let mut buf = Vec::new();
        write_json(o, &mut buf);
        serde_json::from_slice(&buf).unwrap()
    }

    #[test]
    fn ordinary_lines_keep_their_fields() {
        let v = json(&Output::Line((), cri("hello \"x\"")));
        assert_eq!(
            v,
            serde_json::json!({"time":"2026-11-27T06:51:01.5Z","stream":"stderr","log":"hello \"x\""})
        );
        let v = json(&Output::Line((), LogLine::plain("plain".into())));
        assert_eq!(v, serde_json::json!({"log":"plain"}));
    }

    #[test]
    fn reports_are_one_record() {
        let report = Report {
            event: Event::Panic,
            lines: vec![cri("panic: boom"), cri(""), cri("goroutine 1 [running]:")],
            split: None,
        };
        let v = json(&Output::Report((), report.clone()));
        assert_eq!(v["log"], "panic: boom\n\ngoroutine 1 [running]:");
        assert_eq!(v["time"], "2026-11-27T06:51:01.5Z");
        assert_eq!(v["go"], serde_json::json!({"event":"panic","lines":3,"truncated":false}));

        let part = Report {
            split: Some(Split { id: 42, part: 2 }),
            ..report
        };
        let v = json(&Output::Report((), part));
        assert_eq!(v["go"]["truncated"], true);
        assert_eq!(v["go"]["part"], 2);
        assert_eq!(v["go"]["report_id"], "000000000000002a");
    }
}
