//! Throughput and CPU cost of the sidecar, and of Vector with and without
//! the sidecar hop.
//!
//!   cargo bench -p gopanic-vector --bench sidecar [-- EVENTS]
//!   VECTOR=/path/to/vector cargo bench -p gopanic-vector --bench sidecar
//!
//! Input: a realistic mix as `kubernetes_logs` emits it: 50 pods writing
//! service logs (JSON and plain lines), and every ~2,000 lines one of the
//! fixture corpus's real crash logs (a Go program's last lines and its
//! crash report). The sidecar (release build) gets it as Vector's http sink
//! sends it (NDJSON requests of 1,000 events, 64 in flight) and delivers to
//! a downstream server that only counts. Figures: events/s end to end, and
//! the sidecar's CPU time (user + system, from /proc) per event.
//!
//! With `VECTOR` set, the same events also go through a real Vector twice:
//! file source → file sink, and file source → the shipped gopanic.yaml hop
//! → file sink; Vector's and the sidecar's CPU time are reported per event.

// A measuring tool: a failed step stops it with its message.
#![allow(clippy::restriction)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::free_port;
use serde_json::{Value, json};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The crash logs: each fixture run's CRI log, decoded.
fn crash_logs() -> Vec<Vec<(String, String)>> {
    common::corpus()
        .iter()
        .map(|dir| {
            common::decode(dir)
                .into_iter()
                .map(|l| (l.stream.unwrap_or_default().into_owned(), l.text))
                .collect()
        })
        .collect()
}

fn event(pod: usize, stream: &str, t: u64, message: &str) -> Value {
    let secs = 1_795_000_000 + t / 1_000_000;
    let ts = format!(
        "2026-11-16T{:02}:{:02}:{:02}.{:06}Z",
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60,
        t % 1_000_000
    );
    json!({
        "file": format!("/var/log/pods/shop_svc-{pod}-7d9f6c-x2k4p_0b6e{pod:04}-uid/svc/0.log"),
        "kubernetes": {
            "container_id": format!("containerd://{pod:064x}"),
            "container_image": format!("registry.example.com/shop/svc-{pod}:1.4.2"),
            "container_name": "svc",
            "namespace_labels": {"kubernetes.io/metadata.name": "shop"},
            "node_labels": {"kubernetes.io/hostname": "node-1"},
            "pod_ip": format!("10.0.{}.{}", pod / 200, pod % 200),
            "pod_labels": {"app": format!("svc-{pod}"), "pod-template-hash": "7d9f6c"},
            "pod_name": format!("svc-{pod}-7d9f6c-x2k4p"),
            "pod_namespace": "shop",
            "pod_node_name": "node-1",
            "pod_owner": format!("ReplicaSet/svc-{pod}-7d9f6c"),
            "pod_uid": format!("0b6e{pod:04}-uid"),
        },
        "message": message,
        "source_type": "kubernetes_logs",
        "stream": stream,
        "timestamp": ts,
    })
}

/// `n` events: service lines from 50 pods, a crash log every ~2,000.
fn mix(n: usize) -> Vec<String> {
    let crashes = crash_logs();
    let mut out = Vec::with_capacity(n);
    let mut t = 0u64;
    let mut crash = 0;
    while out.len() < n {
        let i = out.len();
        let pod = i % 50;
        t += 200;
        if i % 2000 == 1999 {
            let log = &crashes[crash % crashes.len()];
            crash += 1;
            for (stream, text) in log {
                out.push(event(50 + crash % 50, stream, t, text).to_string());
                t += 20;
            }
            continue;
        }
        let msg = if i % 3 == 0 {
            format!(
                "{{\"level\":\"info\",\"ts\":\"2026-11-16T10:00:00Z\",\"msg\":\"request served\",\"method\":\"GET\",\"path\":\"/api/v1/orders/{i}\",\"status\":200,\"duration_ms\":{}}}",
                i % 97
            )
        } else if i % 3 == 1 {
            format!(
                "2026/11/16 10:00:00 cache refresh: {} keys, {} evicted",
                i % 1000,
                i % 13
            )
        } else {
            format!(
                "level=debug msg=\"poll\" queue=orders depth={} worker={}",
                i % 50,
                pod
            )
        };
        out.push(event(pod, if i % 7 == 0 { "stderr" } else { "stdout" }, t, &msg).to_string());
    }
    out
}

/// A downstream that only counts lines.
fn counting_downstream() -> (String, Arc<AtomicU64>) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let port = server.server_addr().to_ip().unwrap().port();
    let count = Arc::new(AtomicU64::new(0));
    let c = Arc::clone(&count);
    std::thread::spawn(move || {
        let mut body = Vec::new();
        for mut req in server.incoming_requests() {
            body.clear();
            req.as_reader().read_to_end(&mut body).unwrap();
            let lines = body.iter().filter(|&&b| b == b'\n').count() as u64;
            let _ = req.respond(tiny_http::Response::empty(200));
            c.fetch_add(lines, Ordering::SeqCst);
        }
    });
    (format!("http://127.0.0.1:{port}/"), count)
}

/// CPU seconds (user + system) a process has used so far.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime) are 12 and 13 after `)`.
    let ticks: f64 = f.get(11..13).map_or(0.0, |v| {
        v.iter().map(|x| x.parse::<f64>().unwrap_or(0.0)).sum()
    });
    ticks / 100.0
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sidecar(port: u16, downstream: &str) -> Proc {
    let child = Command::new(env!("CARGO_BIN_EXE_gopanic-vector"))
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--downstream",
            downstream,
        ])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(10));
    }
    Proc(child)
}

/// Requests in flight, as `request.concurrency` in gopanic.yaml.
const INFLIGHT: usize = 64;

fn bench_sidecar(events: &[String]) {
    let (down, count) = counting_downstream();
    let port = free_port();
    let side = sidecar(port, &down);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let bodies: Vec<String> = events.chunks(1000).map(|c| c.join("\n") + "\n").collect();
    let bytes: usize = bodies.iter().map(String::len).sum();
    let cpu0 = cpu_secs(side.0.id());
    let start = Instant::now();
    // 64 senders, each posting every 64th body in turn (the shipped in-flight
    // limit, request.concurrency); order across senders does not matter for
    // throughput.
    let bodies = Arc::new(bodies);
    let senders: Vec<_> = (0..INFLIGHT)
        .map(|k| {
            let (agent, bodies) = (agent.clone(), Arc::clone(&bodies));
            let url = format!("http://127.0.0.1:{port}/");
            std::thread::spawn(move || {
                for b in bodies.iter().skip(k).step_by(INFLIGHT) {
                    let r = agent.post(&url).send(b.as_str()).unwrap();
                    assert_eq!(r.status().as_u16(), 200);
                }
            })
        })
        .collect();
    for s in senders {
        s.join().unwrap();
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = cpu_secs(side.0.id()) - cpu0;
    let n = events.len() as f64;
    println!(
        "sidecar: {} events ({:.1} MiB, {} out) in {wall:.2} s = {:.0} events/s; sidecar CPU {cpu:.2} s = {:.2} µs/event",
        events.len(),
        bytes as f64 / (1 << 20) as f64,
        count.load(Ordering::SeqCst),
        n / wall,
        cpu * 1e6 / n
    );
}

/// Runs Vector on `configs` over the events until the file sink has
/// `want` lines; returns (wall s, Vector CPU s, sidecar CPU s).
fn run_vector(bin: &Path, events: &[String], hop: bool, want: usize) -> (f64, f64, f64) {
    let dir =
        std::env::temp_dir().join(format!("gopanic-vector-bench-{hop}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let mut f = std::fs::File::create(dir.join("input.ndjson")).unwrap();
    for e in events {
        writeln!(f, "{e}").unwrap();
    }
    drop(f);
    // The shipped gopanic.yaml names its addresses literally (Vector 0.57
    // interpolates environment variables only when told to), so the hop
    // runs on the ports it names.
    let (port, back) = (8687, 8688);
    let side = hop.then(|| sidecar(port, &format!("http://127.0.0.1:{back}/")));
    let mut cmd = Command::new(bin);
    if hop {
        cmd.arg("--config")
            .arg(repo().join("pipeline-examples/vector/gopanic.yaml"));
    }
    cmd.arg("--config")
        .arg(repo().join("plugin/vector/tests/vector/source-file.yaml"))
        .arg("--config")
        .arg(repo().join("plugin/vector/tests/vector/sink-file.yaml"))
        // The test's own file source and sink name their directory by an
        // environment variable.
        .env("GOPANIC_TEST_DIR", &dir)
        .env("VECTOR_DANGEROUSLY_ALLOW_ENV_VAR_INTERPOLATION", "true")
        .env(
            "GOPANIC_TEST_SINK_INPUT",
            if hop { "gopanic" } else { "kubernetes_logs" },
        )
        .env("VECTOR_LOG", "error")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("vector.log")).unwrap());
    let start = Instant::now();
    let mut vector = Proc(cmd.spawn().unwrap());
    let out = dir.join("out.ndjson");
    loop {
        let lines = std::fs::read(&out).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count());
        if lines >= want {
            break;
        }
        if let Some(status) = vector.0.try_wait().unwrap() {
            panic!(
                "vector exited with {status}: {}",
                std::fs::read_to_string(dir.join("vector.log")).unwrap_or_default()
            );
        }
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "vector stalled at {lines} of {want}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let wall = start.elapsed().as_secs_f64();
    let result = (
        wall,
        cpu_secs(vector.0.id()),
        side.as_ref().map_or(0.0, |s| cpu_secs(s.0.id())),
    );
    drop(vector);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn main() {
    // `cargo bench` passes `--bench`; a number is the event count.
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200_000);
    let events = mix(n);
    bench_sidecar(&events);
    let Some(bin) = std::env::var_os("VECTOR").filter(|v| !v.is_empty()) else {
        println!("SKIP Vector with/without the hop: set VECTOR=<path to a vector binary>");
        return;
    };
    let bin = PathBuf::from(bin);
    // Through the hop, reports leave as one event each: count outputs with
    // the CLI's equivalent, the core run on the same events.
    let want_hop = expected_outputs(&events);
    let (w0, v0, _) = run_vector(&bin, &events, false, events.len());
    let (w1, v1, s1) = run_vector(&bin, &events, true, want_hop);
    let per = |cpu: f64| cpu * 1e6 / events.len() as f64;
    println!(
        "vector without the hop: {w0:.2} s, Vector CPU {v0:.2} s = {:.2} µs/event",
        per(v0)
    );
    println!(
        "vector with the hop:    {w1:.2} s, Vector CPU {v1:.2} s = {:.2} µs/event, sidecar CPU {s1:.2} s = {:.2} µs/event",
        per(v1),
        per(s1)
    );
    println!(
        "the hop costs Vector {:.2}x its CPU without it ({:.2}x counting the sidecar's), {:.2}x the wall time",
        v1 / v0,
        (v1 + s1) / v0,
        w1 / w0
    );
}

/// Events out of the hop: the core's outputs for these events.
fn expected_outputs(events: &[String]) -> usize {
    use gopanic::event::{EventFormat, EventStreams, JsonEvent};
    let format = EventFormat::default();
    let mut s: EventStreams<JsonEvent> = EventStreams::new(gopanic::reassembler::Config::default());
    let mut out = Vec::new();
    let mut count = 0;
    for e in events {
        let (k, ev) = format.read(e);
        s.push(k, ev, 0, &mut out);
        count += out.len();
        out.clear();
    }
    s.finish(&mut out);
    count + out.len()
}
