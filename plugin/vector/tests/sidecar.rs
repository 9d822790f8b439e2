//! The sidecar as Vector sees it, over real HTTP on loopback: a client
//! posting as Vector's `http` sink does, and a downstream server standing in
//! for Vector's `http_server` source. Acknowledgement, back-pressure, timers,
//! shutdown, and the fixture corpus across request boundaries.

// Tests assert by panicking; clippy's restriction lints are for host code.
#![allow(clippy::restriction)]

mod common;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{Answer, Corpus, Rng, Sidecar, k8s, ndjson};
use gopanic::reassembler::Config;
use serde_json::Value;

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
    let side = Sidecar::start(&down.url, &[]);
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
    let side = Sidecar::start(&down.url, &["--idle-timeout-ms", "700"]);
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
    let side = Sidecar::start(&down.url, &["--idle-timeout-ms", "1000"]);
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
    let side = Sidecar::start(&down.url, &["--retry-after-secs", "3"]);
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
        &down.url,
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
        &down.url,
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
    let side = Sidecar::start(&down.url, &[]);
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
/// [`WINDOW`] in flight: every stream's output equals the core's own output
/// on that log (same reports, same ordinary lines, same order), every line
/// exactly once.
const WINDOW: usize = 64;

#[test]
fn fixture_corpus_across_request_boundaries_matches_the_core() {
    let cfg = Config {
        idle_timeout_ns: 1_000_000_000,
        deep_stack_idle_timeout_ns: 3_000_000_000,
        ..Config::default()
    };
    let down = Downstream::start();
    let side = Sidecar::start(
        &down.url,
        &[
            "--idle-timeout-ms",
            "1000",
            "--deep-stack-idle-timeout-ms",
            "3000",
            "--max-record-bytes",
            "100000000",
        ],
    );
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let corpus = Corpus::build(&cfg, &mut rng);
    let all = &corpus.events;
    let mut in_flight: VecDeque<JoinHandle<Answer>> = VecDeque::new();
    let mut i = 0;
    while i < all.len() {
        let n = (1 + rng.below(100)).min(all.len() - i);
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
    let out = down.events();
    let reports = corpus.assert_exact(&out);
    assert!(reports > 150, "{reports} reports");
    assert!(corpus.coverage(&out).iter().all(|&c| c == 1));
}
