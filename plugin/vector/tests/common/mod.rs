//! Shared by the sidecar's tests: the sidecar process, a client posting as
//! Vector's `http` sink does, and the fixture corpus as `kubernetes_logs`
//! events with the core's own output to compare with.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gopanic::container::{Decoder, Format, LogLine};
use gopanic::reassembler::{Config, Line, Output, Reassembler};
use serde_json::{Value, json};

/// Status, `Retry-After`, time to the answer.
pub(crate) type Answer = (u16, Option<String>, Duration);

pub(crate) struct Sidecar {
    pub child: Child,
    pub base: String,
    pub agent: ureq::Agent,
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build(),
    )
}

impl Sidecar {
    pub(crate) fn start(downstream_url: &str, extra: &[&str]) -> Sidecar {
        Sidecar::start_on(free_port(), downstream_url, extra)
    }

    /// On a given port: a restarted sidecar takes its predecessor's place.
    pub(crate) fn start_on(port: u16, downstream_url: &str, extra: &[&str]) -> Sidecar {
        let child = Command::new(env!("CARGO_BIN_EXE_gopanic-vector"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--downstream", downstream_url])
            .args(extra)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let s = Sidecar {
            child,
            base: format!("http://127.0.0.1:{port}"),
            agent: agent(),
        };
        let start = Instant::now();
        while s.get("/health").0 != 200 {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "sidecar did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        s
    }

    pub(crate) fn get(&self, path: &str) -> (u16, String) {
        match self.agent.get(format!("{}{path}", self.base)).call() {
            Ok(mut r) => (
                r.status().as_u16(),
                r.body_mut().read_to_string().unwrap_or_default(),
            ),
            Err(_) => (0, String::new()),
        }
    }

    pub(crate) fn metric(&self, name: &str) -> u64 {
        let (_, text) = self.get("/metrics");
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("gopanic_{name} ")))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .parse()
            .unwrap()
    }

    /// Posts `body` as the http sink does; returns (status, Retry-After,
    /// time to the answer).
    pub(crate) fn post(&self, body: &str) -> Answer {
        post(&self.agent, &self.base, body)
    }

    /// Posts on a thread, after the previous post was received (so that
    /// requests arrive in order, as Vector sends them).
    pub(crate) fn post_async(&self, body: String) -> JoinHandle<Answer> {
        let before = self.metric("requests_total");
        let (agent, base) = (self.agent.clone(), self.base.clone());
        let h = std::thread::spawn(move || post(&agent, &base, &body));
        let start = Instant::now();
        while self.metric("requests_total") == before && !h.is_finished() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "request not received"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        h
    }

    pub(crate) fn terminate(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }
}

pub(crate) fn post(agent: &ureq::Agent, base: &str, body: &str) -> Answer {
    let start = Instant::now();
    match agent
        .post(format!("{base}/"))
        .header("Content-Type", "application/x-ndjson")
        .send(body)
    {
        Ok(r) => (
            r.status().as_u16(),
            r.headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            start.elapsed(),
        ),
        Err(e) => panic!("post: {e}"),
    }
}

/// An event as `kubernetes_logs` emits it, with `n` to identify it.
pub(crate) fn k8s(pod: &str, stream: &str, time: &str, message: &str, n: usize) -> Value {
    json!({
        "file": format!("/var/log/pods/shop_{pod}_{pod}-uid/app/0.log"),
        "kubernetes": {
            "container_name": "app",
            "pod_labels": {"app": pod},
            "pod_name": pod,
            "pod_namespace": "shop",
            "pod_uid": format!("{pod}-uid"),
        },
        "message": message,
        "n": n,
        "source_type": "kubernetes_logs",
        "stream": stream,
        "timestamp": time,
    })
}

pub(crate) fn ndjson(events: &[Value]) -> String {
    events.iter().map(|e| format!("{e}\n")).collect()
}

/// Per (pod, stream): the outputs in order, as (`n` of the event or of a
/// report's first event, the report's text).
pub(crate) type PerStream = HashMap<(String, String), Vec<(usize, Option<String>)>>;

/// The fixture corpus's CRI logs as kubernetes_logs events (each run its own
/// pod, four pods at a time interleaved a few events at a time), and what
/// the core makes of each log on its own.
pub(crate) struct Corpus {
    /// In sending order; `n` numbers them by pod and position.
    pub events: Vec<Value>,
    /// Text of event `n`.
    pub texts: Vec<String>,
    pub expected: PerStream,
}

/// A small deterministic generator (xorshift).
pub(crate) struct Rng(pub u64);

impl Rng {
    pub(crate) fn below(&mut self, n: u64) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n) as usize
    }
}

impl Corpus {
    pub(crate) fn build(cfg: &Config, rng: &mut Rng) -> Corpus {
        let mut expected: PerStream = HashMap::new();
        let mut events = Vec::new();
        let mut total = 0;
        for (g, group) in corpus().chunks(4).enumerate() {
            let mut queues: Vec<VecDeque<Value>> = Vec::new();
            for (i, dir) in group.iter().enumerate() {
                let pod = format!("p{g}-{i}");
                let lines = decode(dir);
                for o in reassemble(&lines, cfg.clone()) {
                    let (stream, item) = match o {
                        Output::Line(s, l) => (s, (l.0 + total, None)),
                        Output::Report(s, r) => {
                            let text: Vec<&str> = r.lines.iter().map(|l| l.text()).collect();
                            (s, (r.lines[0].0 + total, Some(text.join("\n"))))
                        }
                    };
                    expected
                        .entry((pod.clone(), stream))
                        .or_default()
                        .push(item);
                }
                queues.push(
                    lines
                        .iter()
                        .enumerate()
                        .map(|(n, l)| {
                            k8s(
                                &pod,
                                l.stream.as_deref().unwrap_or("stdout"),
                                l.time.as_deref().unwrap_or(""),
                                &l.text,
                                n + total,
                            )
                        })
                        .collect(),
                );
                total += lines.len();
            }
            while queues.iter().any(|q| !q.is_empty()) {
                let q = rng.below(queues.len() as u64);
                for _ in 0..=rng.below(12) {
                    if let Some(e) = queues[q].pop_front() {
                        events.push(e);
                    }
                }
            }
        }
        assert_eq!(events.len(), total);
        let mut texts = vec![String::new(); total];
        for e in &events {
            texts[e["n"].as_u64().unwrap() as usize] = e["message"].as_str().unwrap().to_owned();
        }
        Corpus {
            events,
            texts,
            expected,
        }
    }

    /// Output events per stream, as [`PerStream`].
    pub(crate) fn per_stream(out: &[Value]) -> PerStream {
        let mut got: PerStream = HashMap::new();
        for e in out {
            let pod = e["kubernetes"]["pod_name"].as_str().unwrap().to_owned();
            let stream = e["stream"].as_str().unwrap().to_owned();
            let n = e["n"].as_u64().unwrap() as usize;
            let text = e["message"].as_str().unwrap().to_owned();
            let report = e.get("go").is_some().then_some(text);
            got.entry((pod, stream)).or_default().push((n, report));
        }
        got
    }

    /// Asserts that every stream's output is exactly the core's: the same
    /// reports, the same ordinary events, in the same order, each once.
    /// Returns the number of reports.
    pub(crate) fn assert_exact(&self, out: &[Value]) -> usize {
        for e in out {
            if e.get("go").is_none() {
                let n = e["n"].as_u64().unwrap() as usize;
                assert_eq!(e["message"].as_str().unwrap(), self.texts[n]);
            }
        }
        let got = Corpus::per_stream(out);
        assert_eq!(got.len(), self.expected.len());
        let mut reports = 0;
        for (k, want) in &self.expected {
            assert_eq!(got.get(k), Some(want), "stream {k:?}");
            reports += want.iter().filter(|(_, t)| t.is_some()).count();
        }
        reports
    }

    /// How many times each input event left (alone, or as a line of a
    /// report): a report covers the lines of its stream from its first
    /// event on whose texts continue it in order (foreign lines skipped).
    pub(crate) fn coverage(&self, out: &[Value]) -> Vec<u32> {
        let mut by_stream: HashMap<(String, String), Vec<usize>> = HashMap::new();
        for e in &self.events {
            let k = (
                e["kubernetes"]["pod_name"].as_str().unwrap().to_owned(),
                e["stream"].as_str().unwrap().to_owned(),
            );
            by_stream
                .entry(k)
                .or_default()
                .push(e["n"].as_u64().unwrap() as usize);
        }
        for v in by_stream.values_mut() {
            v.sort_unstable();
        }
        let mut seen = vec![0u32; self.texts.len()];
        for (k, items) in Corpus::per_stream(out) {
            let ns = &by_stream[&k];
            for (n, report) in items {
                let Some(text) = report else {
                    seen[n] += 1;
                    continue;
                };
                let mut lines = text.split('\n').peekable();
                let start = ns.partition_point(|&m| m < n);
                for &m in &ns[start..] {
                    match lines.peek() {
                        Some(l) if *l == self.texts[m] => {
                            seen[m] += 1;
                            lines.next();
                        }
                        Some(_) => {}
                        None => break,
                    }
                }
            }
        }
        seen
    }
}

pub(crate) fn corpus() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/corpus");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .flat_map(|c| std::fs::read_dir(c.path()).into_iter().flatten().flatten())
        .map(|r| r.path())
        .filter(|p| p.join("cri.log").is_file())
        // A report holds every request that carries one of its lines, and
        // Vector keeps at most `request.concurrency` (64 shipped) in
        // flight: busy_server's 22,089-line dump spans more requests than
        // that and is cut at the idle timeout, by design (README.md). The
        // corpus runs here without it.
        .filter(|p| !p.starts_with(root.join("busy_server")))
        .collect();
    dirs.sort();
    assert!(dirs.len() > 100, "fixture corpus not found under {root:?}");
    dirs
}

/// The CRI log decoded as kubernetes_logs hands it over (partial lines
/// merged).
pub(crate) fn decode(dir: &Path) -> Vec<LogLine> {
    let raw = std::fs::read_to_string(dir.join("cri.log")).unwrap();
    let mut d = Decoder::new(Format::Cri, 4 << 20);
    let mut lines: Vec<LogLine> = raw.lines().flat_map(|l| d.push(l)).collect();
    lines.extend(d.finish());
    lines
}

pub(crate) struct Numbered<'a>(usize, &'a LogLine);

impl Line for Numbered<'_> {
    fn text(&self) -> &str {
        &self.1.text
    }
}

/// The core on its own, keyed by stream, by the log's clock.
pub(crate) fn reassemble(lines: &[LogLine], cfg: Config) -> Vec<Output<String, Numbered<'_>>> {
    let mut r = Reassembler::new(cfg);
    let mut out = Vec::new();
    for (n, l) in lines.iter().enumerate() {
        let key = l.stream.as_deref().unwrap_or("stdout").to_owned();
        r.push(&key, Numbered(n, l), l.time_nanos.unwrap_or(0), &mut out);
    }
    r.finish(&mut out);
    out
}
