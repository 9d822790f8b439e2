//! The shipped Vector configs in a real Vector, given as `VECTOR=<binary>`
//! (built outside this repository). The kubernetes_logs source, which needs
//! a cluster, is swapped for a file of kubernetes_logs-shaped events
//! (`tests/vector/source-file.yaml`), and the Loki/Elasticsearch sinks for a
//! file sink (`tests/vector/sink-file.yaml`); `gopanic.yaml` and
//! `reduce-fallback.yaml` run as shipped. Without `VECTOR` every test here
//! says it was skipped and passes.

// Tests assert by panicking; clippy's restriction lints are for host code.
#![allow(clippy::restriction)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Corpus, Rng, Sidecar};
use gopanic::reassembler::Config;
use serde_json::Value;

fn vector() -> Option<PathBuf> {
    match std::env::var_os("VECTOR") {
        Some(v) if !v.is_empty() => Some(PathBuf::from(v)),
        _ => {
            eprintln!("SKIP real Vector test: set VECTOR=<path to a vector binary> to run it");
            None
        }
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The sidecar's timing, also used for the expected output.
const SIDECAR_ARGS: &[&str] = &[
    "--idle-timeout-ms",
    "1000",
    "--deep-stack-idle-timeout-ms",
    "3000",
];

fn config() -> Config {
    Config {
        idle_timeout_ns: 1_000_000_000,
        deep_stack_idle_timeout_ns: 3_000_000_000,
        ..Config::default()
    }
}

struct Run {
    dir: PathBuf,
    vector: Child,
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.vector.kill();
        let _ = self.vector.wait();
    }
}

impl Run {
    /// Starts Vector on `configs` (paths from the repository root) with the
    /// test's files in a fresh directory.
    fn start(bin: &Path, name: &str, configs: &[&str], env: &[(&str, String)]) -> Run {
        let dir =
            std::env::temp_dir().join(format!("gopanic-vector-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("data")).unwrap();
        std::fs::File::create(dir.join("input.ndjson")).unwrap();
        let mut cmd = Command::new(bin);
        for c in configs {
            cmd.arg("--config").arg(repo().join(c));
        }
        // The test's own file source and sink name their directory by an
        // environment variable; the shipped configs use none.
        cmd.env("GOPANIC_TEST_DIR", &dir)
            .env("VECTOR_DANGEROUSLY_ALLOW_ENV_VAR_INTERPOLATION", "true")
            .env("VECTOR_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("vector.log")).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let vector = cmd.spawn().unwrap();
        Run { dir, vector }
    }

    fn append(&self, events: &[Value]) {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(self.dir.join("input.ndjson"))
            .unwrap();
        let mut s = String::new();
        for e in events {
            s.push_str(&e.to_string());
            s.push('\n');
        }
        f.write_all(s.as_bytes()).unwrap();
    }

    fn output(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.dir.join("out.ndjson")).unwrap_or_default();
        // Only lines the sink finished writing (newline-terminated).
        let done = text.rfind('\n').map_or("", |i| &text[..i]);
        done.lines()
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
            .collect()
    }

    /// Waits until `done` holds for the output and then no more arrives for
    /// `settle`.
    fn wait(
        &mut self,
        within: Duration,
        settle: Duration,
        done: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let start = Instant::now();
        let mut last = (0, Instant::now());
        loop {
            if let Some(status) = self.vector.try_wait().unwrap() {
                panic!("vector exited with {status}: {}", self.log());
            }
            let out = self.output();
            if out.len() != last.0 {
                last = (out.len(), Instant::now());
            }
            if done(&out) && last.1.elapsed() >= settle {
                return out;
            }
            assert!(
                start.elapsed() < within,
                "timed out with {} events out; vector log:\n{}",
                out.len(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("vector.log")).unwrap_or_default();
        log.lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn version(bin: &Path) -> String {
    let out = Command::new(bin).arg("--version").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn expected_outputs(corpus: &Corpus) -> usize {
    corpus.expected.values().map(Vec::len).sum()
}

const HOP: &[&str] = &[
    "pipeline-examples/vector/gopanic.yaml",
    "plugin/vector/tests/vector/source-file.yaml",
    "plugin/vector/tests/vector/sink-file.yaml",
];

/// The shipped hop's addresses (literal: Vector >= 0.57 interpolates
/// environment variables only with --dangerously-allow-env-var-interpolation,
/// which the test's own file source and sink use for their directory).
const SIDECAR_PORT: u16 = 8687;
const RETURN_PORT: u16 = 8688;

/// The shipped ports are fixed: the tests that use them take turns.
static HOP_TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn hop_env(sidecar: u16, back: u16) -> Vec<(&'static str, String)> {
    assert_eq!(
        (sidecar, back),
        (SIDECAR_PORT, RETURN_PORT),
        "the shipped ports"
    );
    Vec::new()
}

#[test]
#[ignore = "needs a Vector binary: scripts/test.sh runs it, SKIP without VECTOR"]
fn shipped_config_joins_the_corpus_exactly_and_conserves_every_event() {
    let Some(bin) = vector() else { return };
    eprintln!("{}", version(&bin));
    let corpus = Corpus::build(&config(), &mut Rng(0x9e37_79b9_7f4a_7c15));
    let _turn = HOP_TURN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (port, back) = (SIDECAR_PORT, RETURN_PORT);
    let _side = Sidecar::start_on(port, &format!("http://127.0.0.1:{back}/"), SIDECAR_ARGS);
    let mut run = Run::start(&bin, "exact", HOP, &hop_env(port, back));
    run.append(&corpus.events);
    let want = expected_outputs(&corpus);
    let out = run.wait(Duration::from_secs(180), Duration::from_secs(3), |o| {
        o.len() >= want
    });
    let reports = corpus.assert_exact(&out);
    let coverage = corpus.coverage(&out);
    assert!(coverage.iter().all(|&c| c == 1), "every event exactly once");
    eprintln!(
        "real Vector: {} events in, {} out, {reports} reports, all exact, every event once, order kept per stream",
        corpus.events.len(),
        out.len()
    );
}

#[test]
#[ignore = "needs a Vector binary: scripts/test.sh runs it, SKIP without VECTOR"]
fn killing_gopanic_mid_stream_loses_no_event() {
    let Some(bin) = vector() else { return };
    let corpus = Corpus::build(&config(), &mut Rng(0x2545_f491_4f6c_dd1d));
    let _turn = HOP_TURN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (port, back) = (SIDECAR_PORT, RETURN_PORT);
    let down = format!("http://127.0.0.1:{back}/");
    let mut side = Sidecar::start_on(port, &down, SIDECAR_ARGS);
    let mut run = Run::start(&bin, "kill", HOP, &hop_env(port, back));
    // The events arrive over time, as a node's logs do.
    let chunks: Vec<&[Value]> = corpus.events.chunks(100).collect();
    let third = chunks.len() / 3;
    for c in &chunks[..third] {
        run.append(c);
        std::thread::sleep(Duration::from_millis(30));
    }
    let before = run
        .wait(Duration::from_secs(60), Duration::ZERO, |o| !o.is_empty())
        .len();
    for c in &chunks[third..2 * third] {
        run.append(c);
        std::thread::sleep(Duration::from_millis(30));
    }
    // SIGKILL: no flush, no answer to the requests it holds.
    side.child.kill().unwrap();
    side.child.wait().unwrap();
    let at_kill = run.output().len();
    std::thread::sleep(Duration::from_secs(3));
    let side = Sidecar::start_on(port, &down, SIDECAR_ARGS);
    for c in &chunks[2 * third..] {
        run.append(c);
        std::thread::sleep(Duration::from_millis(30));
    }
    let out = run.wait(Duration::from_secs(240), Duration::from_secs(5), |o| {
        corpus.coverage(o).iter().all(|&c| c >= 1)
    });
    drop(side);
    let coverage = corpus.coverage(&out);
    let lost = coverage.iter().filter(|&&c| c == 0).count();
    let duplicated = coverage.iter().filter(|&&c| c > 1).count();
    let got = Corpus::per_stream(&out);
    let exact_reports = corpus
        .expected
        .iter()
        .flat_map(|(k, v)| v.iter().filter(|(_, t)| t.is_some()).map(move |i| (k, i)))
        .filter(|(k, i)| got.get(*k).is_some_and(|g| g.contains(i)))
        .count();
    let reports: usize = corpus
        .expected
        .values()
        .flatten()
        .filter(|(_, t)| t.is_some())
        .count();
    eprintln!(
        "kill test: {} events in; {before} out before the first third, {at_kill} when killed; \
         after restart {} out, {lost} events lost, {duplicated} events out more than once, \
         {exact_reports} of {reports} reports exact",
        corpus.events.len(),
        out.len()
    );
    assert_eq!(lost, 0, "no event may be lost");
}

/// The reduce + remap fallback: every event still leaves exactly once (its
/// lines are joined, never dropped); prints how many reports it joins
/// exactly, the figure README.md states.
#[test]
#[ignore = "needs a Vector binary: scripts/test.sh runs it, SKIP without VECTOR"]
fn reduce_fallback_conserves_events_and_its_accuracy_is_measured() {
    let Some(bin) = vector() else { return };
    let corpus = Corpus::build(&config(), &mut Rng(0x9e37_79b9_7f4a_7c15));
    let mut run = Run::start(
        &bin,
        "reduce",
        &[
            "pipeline-examples/vector/reduce-fallback.yaml",
            "plugin/vector/tests/vector/source-file.yaml",
            "plugin/vector/tests/vector/sink-file.yaml",
        ],
        &[],
    );
    // reduce sums numbers by default: `n` goes as text, kept from the first
    // event of each joined group.
    let events: Vec<Value> = corpus
        .events
        .iter()
        .map(|e| {
            let mut e = e.clone();
            e["n"] = Value::String(e["n"].to_string());
            e
        })
        .collect();
    run.append(&events);
    let total = corpus.events.len();
    let out = run.wait(Duration::from_secs(180), Duration::from_secs(4), |o| {
        corpus.coverage(&renumber(o)).iter().all(|&c| c >= 1)
    });
    let out = renumber(&out);
    let coverage = corpus.coverage(&out);
    assert!(coverage.iter().all(|&c| c == 1), "every event exactly once");
    // A report is joined exactly when one output event's text is exactly
    // the report's text, starting at its first line.
    let got = Corpus::per_stream(&out);
    let mut exact = 0;
    let mut reports = 0;
    for (k, want) in &corpus.expected {
        let texts: std::collections::HashSet<(usize, &str)> = got
            .get(k)
            .into_iter()
            .flatten()
            .map(|(n, t)| (*n, t.as_deref().unwrap_or(corpus.texts[*n].as_str())))
            .collect();
        for (n, t) in want {
            if let Some(t) = t {
                reports += 1;
                exact += usize::from(texts.contains(&(*n, t.as_str())));
            }
        }
    }
    eprintln!(
        "reduce fallback: {total} events in, {} out, {exact} of {reports} reports joined exactly ({:.0}%)",
        out.len(),
        100.0 * exact as f64 / reports as f64
    );
}

/// Output of the reduce run with `n` back as a number and every joined
/// event marked as a report candidate (`go` present when the remap found a
/// crash start; joined events without it still count as joined text).
fn renumber(out: &[Value]) -> Vec<Value> {
    out.iter()
        .map(|e| {
            let mut e = e.clone();
            if let Some(n) = e["n"].as_str().and_then(|s| s.parse::<u64>().ok()) {
                e["n"] = n.into();
            }
            if e["message"].as_str().is_some_and(|m| m.contains('\n')) && e.get("go").is_none() {
                e["go"] = Value::Object(Default::default());
            }
            e
        })
        .collect()
}
