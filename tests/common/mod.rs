//! Shared by the integration tests: the fixture corpus and a line type that
//! remembers where each line came from, so outputs can be compared with the
//! ground truth by position rather than by text.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use gopanic::container::{Decoder, Format, LogLine};
use gopanic::reassembler::{Config, Line, Output, Reassembler};
use serde::Deserialize;

/// Each fixture's three files and their formats.
pub(crate) const FORMATS: [(&str, Format); 3] = [
    ("cri.log", Format::Cri),
    ("docker.log", Format::Docker),
    ("plain.log", Format::Plain),
];

pub(crate) fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus")
}

#[derive(Debug, Deserialize, Clone)]
pub(crate) struct TruthLine {
    pub stream: String,
    pub time: String,
    pub text: String,
    pub origin: String,
}

#[derive(Debug, Deserialize, Clone)]
pub(crate) struct TruthReport {
    pub event: String,
    pub stream: String,
    pub lines: Vec<usize>,
    /// The panicking goroutine's id, where the program knows it.
    pub goroutine: Option<u64>,
    /// False when the runtime printed no block for that goroutine
    /// (GOTRACEBACK=none).
    #[serde(default)]
    pub goroutine_in_output: Option<bool>,
    #[serde(default)]
    pub class: Option<String>,
    #[serde(default)]
    pub fatal: Option<bool>,
    #[serde(default)]
    pub recoverable: Option<bool>,
    /// Goroutine blocks printed, where the program can know it.
    #[serde(default)]
    pub goroutines: Option<u64>,
    #[serde(default)]
    pub top_frame: Option<TruthFrame>,
}

#[derive(Debug, Deserialize, Clone)]
pub(crate) struct TruthFrame {
    pub function: String,
    pub file: String,
}

#[derive(Debug, Deserialize, Clone)]
pub(crate) struct Truth {
    pub case: String,
    pub go_version: String,
    pub gotraceback: String,
    pub exit_code: i64,
    pub lines: Vec<TruthLine>,
    pub reports: Vec<TruthReport>,
}

/// One fixture run: its directory and ground truth.
pub(crate) struct Fixture {
    pub dir: PathBuf,
    pub truth: Truth,
}

impl Fixture {
    /// The Go program the run comes from: cases such as `gotraceback_all`
    /// share the program `gotraceback`.
    pub(crate) fn program(&self) -> String {
        let programs = corpus_dir().join("../programs");
        let case = &self.truth.case;
        if programs.join(case).is_dir() {
            return case.clone();
        }
        let mut best = String::new();
        for e in std::fs::read_dir(&programs).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if case.starts_with(&name) && name.len() > best.len() {
                best = name;
            }
        }
        if best.is_empty() { case.clone() } else { best }
    }

    pub(crate) fn name(&self) -> String {
        let dir = &self.dir;
        dir.strip_prefix(corpus_dir())
            .or_else(|_| dir.strip_prefix(multi_dir()))
            .unwrap_or(dir)
            .display()
            .to_string()
    }
}

/// The several-writer fixtures (`tests/fixtures/multi`).
pub(crate) fn multi_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/multi")
}

/// Every `truth.json` under the corpus, sorted by path.
pub(crate) fn fixtures() -> Vec<Fixture> {
    fixtures_in(&corpus_dir())
}

/// Every `truth.json` under `root`, sorted by path.
pub(crate) fn fixtures_in(root: &Path) -> Vec<Fixture> {
    let mut dirs = Vec::new();
    collect(root, &mut dirs);
    dirs.sort();
    dirs.into_iter()
        .map(|dir| {
            let text = std::fs::read_to_string(dir.join("truth.json")).unwrap();
            let truth: Truth =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            Fixture { dir, truth }
        })
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.join("truth.json").is_file() {
                out.push(p.clone());
            }
            collect(&p, out);
        }
    }
}

/// A decoded line and its position in the input's logical line sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Indexed {
    pub index: usize,
    pub line: LogLine,
}

impl Line for Indexed {
    fn text(&self) -> &str {
        &self.line.text
    }
}

pub(crate) type Key = Option<String>;

/// What came out of a run, by line position.
#[derive(Debug, Default)]
pub(crate) struct Found {
    /// (event, line positions) of each report, in output order.
    pub reports: Vec<(String, Vec<usize>)>,
    /// Positions of ordinary lines, in output order.
    pub ordinary: Vec<usize>,
}

/// Decodes raw lines with `format` (per-line detection for `Auto`).
pub(crate) fn decode(raw: &str, format: Format) -> Vec<LogLine> {
    let mut d = Decoder::new(format, 4 << 20);
    let mut out: Vec<LogLine> = raw.lines().flat_map(|l| d.push(l)).collect();
    out.extend(d.finish());
    out
}

/// Runs decoded lines through a reassembler keyed by stream. Lines without a
/// time (plain text) are spaced 1 µs apart, as if read from a file at speed.
pub(crate) fn reassemble(lines: Vec<LogLine>, cfg: Config) -> Found {
    let mut r: Reassembler<Key, Indexed> = Reassembler::new(cfg);
    let mut out = Vec::new();
    for (index, line) in lines.into_iter().enumerate() {
        let now = line.time_nanos.unwrap_or(index as i64 * 1_000);
        let key = line.stream.as_deref().map(str::to_owned);
        r.push(&key, Indexed { index, line }, now, &mut out);
    }
    r.finish(&mut out);
    let mut found = Found::default();
    for o in out {
        match o {
            Output::Line(_, l) => found.ordinary.push(l.index),
            Output::Report(_, rep) => found.reports.push((
                rep.event.as_str().to_owned(),
                rep.lines.iter().map(|l| l.index).collect(),
            )),
        }
    }
    found
}

/// Decodes a fixture file with `format` and checks the lines against the
/// truth: none malformed, same texts, and (CRI, docker) same streams and
/// times.
pub(crate) fn decode_checked(
    fx: &Fixture,
    raw: &str,
    format: Format,
    name: &str,
) -> Result<Vec<LogLine>, String> {
    let lines = decode(raw, format);
    if let Some(bad) = lines.iter().find(|l| l.malformed) {
        return Err(format!("{name}: malformed line {:?}", bad.text));
    }
    let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    let want: Vec<&str> = fx.truth.lines.iter().map(|l| l.text.as_str()).collect();
    if texts != want {
        return Err(format!("{name}: decoded lines differ from truth"));
    }
    if !name.ends_with("plain.log") {
        for (l, t) in lines.iter().zip(&fx.truth.lines) {
            if l.stream.as_deref() != Some(t.stream.as_str()) || l.time.as_deref() != Some(&t.time)
            {
                return Err(format!("{name}: stream/time differ at {:?}", t.text));
            }
        }
    }
    Ok(lines)
}

/// Conservation: every one of `n` lines left exactly once.
pub(crate) fn check_conserved(found: &Found, n: usize, name: &str) -> Result<(), String> {
    let mut seen = vec![0u32; n];
    for i in found
        .ordinary
        .iter()
        .chain(found.reports.iter().flat_map(|r| &r.1))
    {
        seen[*i] += 1;
    }
    match seen.iter().position(|&n| n != 1) {
        Some(i) => Err(format!("{name}: line {i} left {} times", seen[i])),
        None => Ok(()),
    }
}

/// A report of the corpus as text.
pub(crate) struct CorpusReport {
    pub event: String,
    pub lines: Vec<String>,
    /// The toolchain that printed it (`go1.19.8`).
    pub go: String,
}

/// The corpus's reports of at most `max_lines` lines, deduplicated by
/// text, in path order.
pub(crate) fn corpus_reports(max_lines: usize) -> Vec<CorpusReport> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for fx in fixtures() {
        for r in &fx.truth.reports {
            if r.lines.len() > max_lines {
                continue;
            }
            let lines: Vec<String> = r
                .lines
                .iter()
                .map(|&i| fx.truth.lines[i].text.clone())
                .collect();
            if seen.insert(lines.join("\n")) {
                out.push(CorpusReport {
                    event: r.event.clone(),
                    lines,
                    go: fx.truth.go_version.clone(),
                });
            }
        }
    }
    out
}
