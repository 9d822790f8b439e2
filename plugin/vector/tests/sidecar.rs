//! The sidecar as Vector sees it, over real HTTP on loopback: a client
//! posting as Vector's `http` sink does, and a downstream server standing in
//! for Vector's `http_server` source. Acknowledgement, back-pressure, timers,
//! shutdown, and the fixture corpus across request boundaries.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gopanic::container::{Decoder, Format, LogLine};
use gopanic::reassembler::{Config, Line, Output, Reassembler};
use serde_json::{Value, json};

/// Stands in for Vector's `http_server` source: keeps every NDJSON line of
/// the requests it answers 2xx, answers with `status`, after `delay_ms`.
struct Downstream {
    url: String,
    lines: Arc<Mutex<Vec<String>>>,
    status: Arc<AtomicU16>,
    delay_ms: Arc<AtomicU64>,
    attempts: Arc<AtomicU64>,
}

impl Downstream {
    fn start() -> Downstream {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let d = Downstream {
            url: format!("http://127.0.0.1:{port}/"),
            lines: Arc::default(),
            status: Arc::new(AtomicU16::new(200)),
            delay_ms: Arc::default(),
            attempts: Arc::default(),
        };
        let (lines, status, delay, attempts) = (
            Arc::clone(&d.lines),
            Arc::clone(&d.status),
            Arc::clone(&d.delay_ms),
            Arc::clone(&d.attempts),
        );
        std::thread::spawn(move || {
            for mut req in server.incoming_requests() {
                let mut body = String::new();
                std::io::Read::read_to_string(req.as_reader(), &mut body).unwrap();
                attempts.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(delay.load(Ordering::SeqCst)));
                let code = status.load(Ordering::SeqCst);
                if (200..300).contains(&code) {
                    lines
                        .lock()
                        .unwrap()
                        .extend(body.lines().map(str::to_owned));
                }
                let _ = req.respond(tiny_http::Response::empty(code));
            }
        });
        d
    }

    fn events(&self) -> Vec<Value> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
            .collect()
    }

    fn raw(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits until `n` events arrived.
    fn wait_for(&self, n: usize, within: Duration) -> Vec<Value> {
        let start = Instant::now();
        while self.lines.lock().unwrap().len() < n && start.elapsed() < within {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.events()
    }
}

/// Status, `Retry-After`, time to the answer.
type Answer = (u16, Option<String>, Duration);

struct Sidecar {
    child: Child,
    base: String,
    agent: ureq::Agent,
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build(),
    )
}

impl Sidecar {
    fn start(downstream: &Downstream, extra: &[&str]) -> Sidecar {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_gopanic-vector"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--downstream", &downstream.url])
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

    fn get(&self, path: &str) -> (u16, String) {
        match self.agent.get(format!("{}{path}", self.base)).call() {
            Ok(mut r) => (
                r.status().as_u16(),
                r.body_mut().read_to_string().unwrap_or_default(),
            ),
            Err(_) => (0, String::new()),
        }
    }

    fn metric(&self, name: &str) -> u64 {
        let (_, text) = self.get("/metrics");
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("gopanic_{name} ")))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .parse()
            .unwrap()
    }

    /// Posts `body` as the http sink does; returns (status, Retry-After,
    /// time to the answer).
    fn post(&self, body: &str) -> Answer {
        post(&self.agent, &self.base, body)
    }

    /// Posts on a thread, after the previous post was received (so that
    /// requests arrive in order, as Vector sends them).
    fn post_async(&self, body: String) -> JoinHandle<Answer> {
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

    fn terminate(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }
}

fn post(agent: &ureq::Agent, base: &str, body: &str) -> Answer {
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
fn k8s(pod: &str, stream: &str, time: &str, message: &str, n: usize) -> Value {
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

fn ndjson(events: &[Value]) -> String {
    events.iter().map(|e| format!("{e}\n")).collect()
}

const PANIC: &[&str] = &[
    "panic: runtime error: integer divide by zero",
    "",
    "goroutine 1 [running]:",
    "main.divide(...)",
    "\t/app/main.go:9",
    "main.main()",
    "\t/app/main.go:14 +0x1d",
];

fn panic_events(pod: &str, from: usize) -> Vec<Value> {
    PANIC
        .iter()
        .enumerate()
        .map(|(i, l)| {
            k8s(
                pod,
                "stderr",
                &format!("2026-11-27T06:51:01.{i:03}Z"),
                l,
                from + i,
            )
        })
        .collect()
}

#[test]
fn ordinary_events_are_answered_once_delivered_byte_for_byte() {
    let down = Downstream::start();
    down.delay_ms.store(300, Ordering::SeqCst);
    let side = Sidecar::start(&down, &[]);
    let events: Vec<Value> = (0..3)
        .map(|n| {
            k8s(
                "api",
                "stdout",
                "2026-11-27T06:51:01Z",
                "{\"msg\":\"ok\"}",
                n,
            )
        })
        .collect();
    let body = ndjson(&events);
    let (code, _, took) = side.post(&body);
    assert_eq!(code, 200);
    assert!(
        took >= Duration::from_millis(300),
        "answered before delivery: {took:?}"
    );
    assert_eq!(down.raw(), body.lines().collect::<Vec<_>>());

    // The http sink's default framing: a JSON array.
    let array = serde_json::to_string(&events).unwrap();
    assert_eq!(side.post(&array).0, 200);
    assert_eq!(down.raw().len(), 6);
    assert_eq!(down.events()[3..], events[..]);
    assert_eq!(side.metric("events_in_total"), 6);
    assert_eq!(side.metric("events_out_total"), 6);
    assert_eq!(side.metric("held_bytes"), 0);
}

#[test]
fn a_held_report_delays_the_answer_and_leaves_on_time_with_no_new_input() {
    let down = Downstream::start();
    let side = Sidecar::start(&down, &["--idle-timeout-ms", "700"]);
    let mut events = vec![k8s("api", "stdout", "2026-11-27T06:51:00Z", "ready", 0)];
    events.extend(panic_events("api", 1));
    let (code, _, took) = side.post(&ndjson(&events));
    assert_eq!(code, 200);
    // Held until idle by the wall clock: the event times are long past.
    assert!(took >= Duration::from_millis(700), "{took:?}");
    assert!(took < Duration::from_millis(3000), "{took:?}");
    let out = down.events();
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(out[0], events[0]);
    let report = &out[1];
    assert_eq!(report["message"], PANIC.join("\n"));
    assert_eq!(report["n"], 1, "the first line's fields");
    assert_eq!(report["kubernetes"]["pod_uid"], "api-uid");
    assert_eq!(report["timestamp"], "2026-11-27T06:51:01.000Z");
    assert_eq!(report["level"], "fatal");
    assert_eq!(report["go"]["class"], "divide_by_zero");
    assert_eq!(report["go"]["top_frame"]["function"], "main.divide");
    assert_eq!(side.metric("reports_total"), 1);
    assert_eq!(side.metric("report_lines_total"), 7);
    assert_eq!(side.metric("open_streams"), 0);
}

#[test]
fn a_report_across_two_requests_is_one_event_and_answers_both() {
    let down = Downstream::start();
    let side = Sidecar::start(&down, &["--idle-timeout-ms", "1000"]);
    let mut events = panic_events("api", 0);
    events.push(k8s(
        "api",
        "stderr",
        "2026-11-27T06:51:01.500Z",
        "exit status 2",
        7,
    ));
    // Another pod's line in between keeps its own order.
    let other = k8s("web", "stderr", "2026-11-27T06:51:01.001Z", "GET /", 100);
    let first = side.post_async(ndjson(
        &[events[..3].to_vec(), vec![other.clone()]].concat(),
    ));
    std::thread::sleep(Duration::from_millis(200));
    assert!(!first.is_finished(), "answered while its events are held");
    assert_eq!(down.events(), vec![other.clone()]);
    let second = side.post_async(ndjson(&events[3..]));
    let (a, b) = (first.join().unwrap(), second.join().unwrap());
    assert_eq!((a.0, b.0), (200, 200));
    assert!(
        a.2 < Duration::from_millis(4000),
        "waited for idle: {:?}",
        a.2
    );
    let out = down.events();
    assert_eq!(out.len(), 3, "{out:?}");
    assert_eq!(out[1]["message"], PANIC.join("\n"));
    assert_eq!(out[2], events[7]);
}

#[test]
fn downstream_failure_refuses_new_requests_and_loses_nothing() {
    let down = Downstream::start();
    down.status.store(503, Ordering::SeqCst);
    let side = Sidecar::start(&down, &["--retry-after-secs", "3"]);
    let events: Vec<Value> = (0..5)
        .map(|n| k8s("api", "stdout", "2026-11-27T06:51:01Z", "line", n))
        .collect();
    // Admitted (downstream not known to fail yet), then held while retried.
    let held = side.post_async(ndjson(&events));
    let start = Instant::now();
    while down.attempts.load(Ordering::SeqCst) < 2 {
        assert!(start.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(10));
    }
    let (code, retry_after, _) = side.post(&ndjson(&events[..1]));
    assert_eq!(code, 503);
    assert_eq!(retry_after.as_deref(), Some("3"));
    assert!(side.metric("downstream_errors_total") >= 2);
    assert_eq!(side.metric("downstream_up"), 0);
    assert!(!held.is_finished());
    down.status.store(200, Ordering::SeqCst);
    assert_eq!(held.join().unwrap().0, 200);
    // Every event exactly once, in order.
    assert_eq!(down.events(), events);
    assert_eq!(side.metric("downstream_up"), 1);
    assert_eq!(side.post(&ndjson(&events[..1])).0, 200);
}

#[test]
fn a_full_memory_bound_answers_429_until_requests_are_answered() {
    let down = Downstream::start();
    let side = Sidecar::start(
        &down,
        &["--max-held-bytes", "1000", "--idle-timeout-ms", "1500"],
    );
    let held = side.post_async(ndjson(&panic_events("api", 0)));
    assert!(side.metric("held_bytes") > 1000);
    let (code, retry_after, _) = side.post(&ndjson(&[k8s(
        "web",
        "stdout",
        "2026-11-27T06:51:01Z",
        "x",
        9,
    )]));
    assert_eq!(code, 429);
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert_eq!(side.metric("requests_rejected_total{reason=\"full\"}"), 1);
    assert_eq!(held.join().unwrap().0, 200);
    assert_eq!(side.metric("held_bytes"), 0);
    let (code, _, _) = side.post(&ndjson(&[k8s(
        "web",
        "stdout",
        "2026-11-27T06:51:01Z",
        "x",
        9,
    )]));
    assert_eq!(code, 200);
    assert_eq!(down.events().len(), 2);
}

#[test]
fn sigterm_flushes_open_reports_and_answers_before_exiting() {
    let down = Downstream::start();
    let mut side = Sidecar::start(
        &down,
        &["--idle-timeout-ms", "60000", "--shutdown-quiet-ms", "1000"],
    );
    let held = side.post_async(ndjson(&panic_events("api", 0)));
    std::thread::sleep(Duration::from_millis(200));
    assert!(down.events().is_empty());
    side.terminate();
    assert_eq!(held.join().unwrap().0, 200);
    let out = down.wait_for(1, Duration::from_secs(5));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0]["message"], PANIC.join("\n"));
    assert_eq!(side.get("/health").0, 503);
    // Vector, stopping in the same pod, flushes its last batch: it is taken
    // and nothing of it is held.
    let (code, _, took) = side.post(&ndjson(&panic_events("web", 10)));
    assert_eq!(code, 200);
    assert!(took < Duration::from_secs(5), "{took:?}");
    let out = down.events();
    assert_eq!(out.len(), 2);
    assert_eq!(out[1]["kubernetes"]["pod_name"], "web");
    let status = side.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn health_metrics_and_bad_requests() {
    let down = Downstream::start();
    let side = Sidecar::start(&down, &[]);
    assert_eq!(side.get("/health"), (200, "ok\n".into()));
    let (code, text) = side.get("/metrics");
    assert_eq!(code, 200);
    for name in [
        "events_in_total",
        "events_out_total",
        "reports_total",
        "open_streams",
        "held_bytes",
        "downstream_errors_total",
    ] {
        assert!(
            text.contains(&format!("\n# TYPE gopanic_{name} ")),
            "{name}"
        );
    }
    assert_eq!(side.post("[{\"message\": ").0, 400);
    assert_eq!(side.get("/nope").0, 404);
    // A line that is not JSON is passed on as {"message": …} and counted.
    assert_eq!(side.post("plain text\n").0, 200);
    assert_eq!(down.raw(), vec![r#"{"message":"plain text"}"#.to_owned()]);
    assert_eq!(side.metric("malformed_events_total"), 1);
}

/// The fixture corpus's CRI logs as kubernetes_logs events, four pods at a
/// time interleaved, cut into requests of 1 to 100 events sent with up to
/// [`WINDOW`] in flight: every stream's output equals the core's own output on
/// that log (same reports, same ordinary lines, same order), every line
/// exactly once.
const WINDOW: usize = 64;

/// Per (pod, stream): the outputs in order, as (`n` of the event or of a
/// report's first event, the report's text).
type PerStream = std::collections::HashMap<(String, String), Vec<(usize, Option<String>)>>;

#[test]
fn fixture_corpus_across_request_boundaries_matches_the_core() {
    let cfg = Config {
        idle_timeout_ns: 1_000_000_000,
        deep_stack_idle_timeout_ns: 3_000_000_000,
        ..Config::default()
    };
    let down = Downstream::start();
    let side = Sidecar::start(
        &down,
        &[
            "--idle-timeout-ms",
            "1000",
            "--deep-stack-idle-timeout-ms",
            "3000",
            "--max-record-bytes",
            "100000000",
        ],
    );
    let runs = corpus();
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % n) as usize
    };
    // Expected: per (pod, stream), the core's outputs as ("n", report text).
    let mut expected: PerStream = Default::default();
    let mut all = Vec::new();
    let mut total = 0;
    for (g, group) in runs.chunks(4).enumerate() {
        let mut queues: Vec<std::collections::VecDeque<Value>> = Vec::new();
        for (i, dir) in group.iter().enumerate() {
            let pod = format!("p{g}-{i}");
            let lines = decode(dir);
            for o in reassemble(&lines, cfg.clone()) {
                let (stream, item) = match o {
                    Output::Line(s, l) => (s, (l.0 + total, None)),
                    Output::Report(s, r) => (
                        s,
                        (
                            r.lines[0].0 + total,
                            Some(
                                r.lines
                                    .iter()
                                    .map(|l| l.text())
                                    .collect::<Vec<_>>()
                                    .join("\n"),
                            ),
                        ),
                    ),
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
            let q = next(queues.len() as u64);
            for _ in 0..=next(12) {
                if let Some(e) = queues[q].pop_front() {
                    all.push(e);
                }
            }
        }
    }
    assert_eq!(all.len(), total);
    let mut texts = vec![String::new(); total];
    for e in &all {
        texts[e["n"].as_u64().unwrap() as usize] = e["message"].as_str().unwrap().to_owned();
    }
    let mut in_flight: std::collections::VecDeque<JoinHandle<Answer>> = Default::default();
    let mut i = 0;
    while i < all.len() {
        let n = (1 + next(100)).min(all.len() - i);
        // As Vector's request.concurrency: a slot frees when any request
        // is answered (the oldest may be held by an open report). A report
        // holds every request that carries one of its lines, so the window
        // must exceed the requests the largest report spans (1,205 lines
        // here), or the report is cut at the idle timeout.
        while in_flight.len() == WINDOW {
            if let Some(done) = in_flight.iter().position(|h| h.is_finished()) {
                let h = in_flight.remove(done).unwrap();
                assert_eq!(h.join().unwrap().0, 200);
            } else {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        in_flight.push_back(side.post_async(ndjson(&all[i..i + n])));
        i += n;
    }
    for h in in_flight {
        assert_eq!(h.join().unwrap().0, 200);
    }
    let mut got: PerStream = Default::default();
    let mut seen = vec![0u32; total];
    for e in down.events() {
        let pod = e["kubernetes"]["pod_name"].as_str().unwrap().to_owned();
        let stream = e["stream"].as_str().unwrap().to_owned();
        let n = e["n"].as_u64().unwrap() as usize;
        let text = e["message"].as_str().unwrap().to_owned();
        if e.get("go").is_some() {
            got.entry((pod, stream)).or_default().push((n, Some(text)));
        } else {
            seen[n] += 1;
            assert_eq!(text, texts[n]);
            got.entry((pod, stream)).or_default().push((n, None));
        }
    }
    assert_eq!(got.len(), expected.len());
    let mut reports = 0;
    for (k, want) in &expected {
        assert_eq!(got.get(k), Some(want), "stream {k:?}");
        reports += want.iter().filter(|(_, t)| t.is_some()).count();
    }
    assert!(reports > 150, "{reports} reports");
    // Ordinary lines exactly once (report lines are checked as text above).
    assert!(seen.iter().all(|&c| c <= 1));
}

fn corpus() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/corpus");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .flat_map(|c| std::fs::read_dir(c.path()).into_iter().flatten().flatten())
        .map(|r| r.path())
        .filter(|p| p.join("cri.log").is_file())
        .collect();
    dirs.sort();
    assert!(dirs.len() > 100, "fixture corpus not found under {root:?}");
    dirs
}

/// The CRI log decoded as kubernetes_logs hands it over (partial lines
/// merged).
fn decode(dir: &Path) -> Vec<LogLine> {
    let raw = std::fs::read_to_string(dir.join("cri.log")).unwrap();
    let mut d = Decoder::new(Format::Cri, 4 << 20);
    let mut lines: Vec<LogLine> = raw.lines().filter_map(|l| d.push(l)).collect();
    lines.extend(d.finish());
    lines
}

struct Numbered<'a>(usize, &'a LogLine);

impl Line for Numbered<'_> {
    fn text(&self) -> &str {
        &self.1.text
    }
}

/// The core on its own, keyed by stream, by the log's clock.
fn reassemble(lines: &[LogLine], cfg: Config) -> Vec<Output<String, Numbered<'_>>> {
    let mut r = Reassembler::new(cfg);
    let mut out = Vec::new();
    for (n, l) in lines.iter().enumerate() {
        let key = l.stream.clone().unwrap_or_else(|| "stdout".into());
        r.push(&key, Numbered(n, l), l.time_nanos.unwrap_or(0), &mut out);
    }
    r.finish(&mut out);
    out
}
