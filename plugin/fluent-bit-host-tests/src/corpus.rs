//! The fixture corpus as Fluent Bit's parsers hand it to the filter.

use std::path::{Path, PathBuf};

use gopanic::container::{Decoder, Format, LogLine};
use gopanic::reassembler::{Config, Line, Output, Reassembler};
use serde_json::{Map, Value, json};

/// The fixture corpus's directories (one per Go program and version), sorted.
pub fn corpus() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/corpus");
    let mut dirs = Vec::new();
    for case in std::fs::read_dir(&root).unwrap().flatten() {
        for run in std::fs::read_dir(case.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if run.path().join("truth.json").is_file() {
                dirs.push(run.path());
            }
        }
    }
    dirs.sort();
    assert!(dirs.len() > 100, "fixture corpus not found under {root:?}");
    dirs
}

/// One input record: as Fluent Bit's `cri` / `docker` parsers shape a line
/// (after tail's `multiline.parser cri|docker` merged partial lines), and
/// the timestamp the parser gives it.
pub struct Input {
    /// The record as the parser shapes it (`log`, `stream`, `time`, ...).
    pub record: Map<String, Value>,
    /// The timestamp the parser gives the record, in nanoseconds since the Unix epoch.
    pub time_ns: i64,
    /// The line's text as the core reads it.
    pub text: String,
    /// `stdout` or `stderr`.
    pub stream: String,
}

/// The records Fluent Bit's parser makes of one corpus directory's log in `format` (CRI or docker), in order.
pub fn inputs(dir: &Path, format: Format) -> Vec<Input> {
    let name = if format == Format::Cri {
        "cri.log"
    } else {
        "docker.log"
    };
    let raw = std::fs::read_to_string(dir.join(name)).unwrap();
    let mut d = Decoder::new(format, 4 << 20);
    let mut lines: Vec<LogLine> = raw.lines().flat_map(|l| d.push(l)).collect();
    lines.extend(d.finish());
    let mut last = 0;
    lines
        .into_iter()
        .map(|l| {
            let time_ns = l.time_nanos.unwrap_or(last + 1_000);
            last = time_ns;
            let mut record = Map::new();
            match (&l.time, &l.stream) {
                (Some(t), Some(s)) if format == Format::Cri => {
                    record.insert("time".into(), json!(t));
                    record.insert("stream".into(), json!(s));
                    record.insert("_p".into(), json!("F"));
                    record.insert("log".into(), json!(l.text));
                }
                (Some(t), Some(s)) => {
                    record.insert("log".into(), json!(format!("{}\n", l.text)));
                    record.insert("stream".into(), json!(s));
                    record.insert("time".into(), json!(t));
                }
                // A line the parser could not read keeps its raw text.
                _ => {
                    record.insert("log".into(), json!(l.text));
                }
            }
            Input {
                record,
                time_ns,
                text: l.text,
                stream: l.stream.unwrap_or_default().into_owned(),
            }
        })
        .collect()
}

/// A line for the core's reassembler that remembers its index in the input.
pub struct Idx {
    /// The line's text.
    pub text: String,
    /// Its index among the input's lines.
    pub i: usize,
}

impl Line for Idx {
    fn text(&self) -> &str {
        &self.text
    }
}

/// The records Fluent Bit's `multiline` filter would hand on, as the core
/// joins them: each report in its first line's record with the lines joined
/// in `log` (`true`), every other line's record as it is (`false`).
pub fn joined_records(inputs: &[Input]) -> Vec<(Map<String, Value>, bool)> {
    let mut r: Reassembler<String, Idx> = Reassembler::new(Config::default());
    let mut out = Vec::new();
    for (i, inp) in inputs.iter().enumerate() {
        let line = Idx {
            text: inp.text.clone(),
            i,
        };
        r.push(&inp.stream, line, inp.time_ns, &mut out);
    }
    r.finish(&mut out);
    out.into_iter()
        .filter_map(|o| match o {
            Output::Line(_, l) => Some((inputs.get(l.i)?.record.clone(), false)),
            Output::Report(_, rep) => {
                let mut rec = inputs.get(rep.lines.first()?.i)?.record.clone();
                let text: Vec<&str> = rep.lines.iter().map(|l| l.text.as_str()).collect();
                rec.insert("log".into(), json!(text.join("\n")));
                Some((rec, true))
            }
        })
        .collect()
}
