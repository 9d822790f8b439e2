//! `gopanic-vector`: gopanic as a Vector transform. Vector's `http` sink
//! posts events here; they leave, with every Go crash report joined into one
//! event, to Vector's `http_server` source (NDJSON), and each request is
//! answered only once all its events have been accepted downstream.
//!
//! Threads: the main thread receives HTTP requests, answers `/health` and
//! `/metrics`, admits or refuses event requests and parses them; the engine
//! ([`engine`]) owns the reassembler, its timers and the unanswered
//! requests; the sender ([`sender`]) delivers output in order and reports
//! what was delivered. Joining, keying and record shaping are the core's
//! (`gopanic::event`).

// Unit tests assert by panicking; the workspace's no-panic lints
// (Cargo.toml) are for host code.
#![cfg_attr(test, allow(clippy::restriction))]

mod engine;
mod ingest;
mod metrics;
mod sender;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::Parser;
use gopanic::event::{EventFormat, StreamKeys};
use gopanic::reassembler::Config;
use gopanic::record::{Limits, Profile};

use crate::engine::{Engine, Msg};
use crate::metrics::Metrics;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "gopanic-vector",
    version,
    about = "Join Go crash reports between Vector's http sink and http_server source"
)]
/// The command line.
pub struct Args {
    /// Address to listen on: event requests (POST, any path), `GET /health`,
    /// `GET /metrics`.
    #[arg(long, default_value = "127.0.0.1:8687")]
    listen: String,
    /// Where events go on: Vector's `http_server` source (NDJSON POST).
    #[arg(long, default_value = "http://127.0.0.1:8688/")]
    downstream: String,
    /// Fields naming a stream, comma-separated; repeat for fallbacks (the
    /// first whose fields are all present wins). Default:
    /// `kubernetes.pod_uid,kubernetes.container_name,stream` then
    /// `file,stream`.
    #[arg(long = "key", value_name = "FIELDS")]
    keys: Vec<String>,
    /// A report with no new line for this long (its stream's clock) is
    /// complete; 10 s while a deep goroutine stack is being printed.
    #[arg(long, default_value_t = 1000)]
    idle_timeout_ms: u64,
    /// The idle timeout while a goroutine's traceback is deep enough for Go
    /// to elide frames (it pauses to count them).
    #[arg(long, default_value_t = 10_000)]
    deep_stack_idle_timeout_ms: u64,
    /// Keep every event's JSON under this many bytes (Loki rejects lines
    /// over 262144): reports split into parts, nested parts of `go` dropped.
    /// At least 4096 (`gopanic::record::MIN_RECORD_BYTES`); 0 sets no bound.
    #[arg(long, default_value_t = 262_144, value_parser = parse_record_bound)]
    max_record_bytes: usize,
    /// A report larger than this leaves in parts marked `go.truncated`.
    #[arg(long, default_value_t = Config::default().max_report_bytes)]
    max_report_bytes: usize,
    /// A report with more lines than this leaves in parts.
    #[arg(long, default_value_t = Config::default().max_report_lines)]
    max_report_lines: usize,
    /// Record field names: `default` (text field kept, `level`, `go`) or
    /// `ecs`.
    #[arg(long, default_value = "default", value_parser = parse_profile)]
    profile: Profile,
    /// Bytes of unanswered requests held at most; past it requests are
    /// refused with 429 until earlier ones are answered.
    #[arg(long, default_value_t = 64 << 20)]
    max_held_bytes: usize,
    /// Largest request body accepted (413 past it).
    #[arg(long, default_value_t = 16 << 20)]
    max_request_bytes: usize,
    /// Largest downstream request body (more events wait for the next).
    #[arg(long, default_value_t = 1 << 20)]
    batch_bytes: usize,
    /// Downstream request timeout.
    #[arg(long, default_value_t = 30_000)]
    downstream_timeout_ms: u64,
    /// `Retry-After` seconds sent with 429 and 503.
    #[arg(long, default_value_t = 1)]
    retry_after_secs: u64,
    /// On SIGTERM/SIGINT, time allowed to flush open reports downstream and
    /// answer held requests before exiting anyway.
    #[arg(long, default_value_t = 20_000)]
    shutdown_timeout_ms: u64,
    /// After SIGTERM, requests are still taken (Vector, stopped in the same
    /// pod, flushes its last batches) and nothing is held; the process exits
    /// once every request is answered and none came for this long.
    #[arg(long, default_value_t = 2_000)]
    shutdown_quiet_ms: u64,
}

fn parse_profile(s: &str) -> Result<Profile, String> {
    s.parse()
}

/// A record bound, checked (0: none).
fn parse_record_bound(s: &str) -> Result<usize, String> {
    let b = s.parse().map_err(|e| format!("{e}"))?;
    gopanic::record::record_bound(b).map(|_| b)
}

impl Args {
    fn format(&self) -> EventFormat {
        EventFormat {
            keys: if self.keys.is_empty() {
                StreamKeys::default()
            } else {
                StreamKeys::parse(&self.keys)
            },
            ..EventFormat::default()
        }
    }

    fn config(&self) -> Config {
        let ns = |ms: u64| i64::try_from(ms.saturating_mul(1_000_000)).unwrap_or(i64::MAX);
        let cfg = Config {
            idle_timeout_ns: ns(self.idle_timeout_ms),
            deep_stack_idle_timeout_ns: ns(self.deep_stack_idle_timeout_ms),
            max_report_bytes: self.max_report_bytes,
            max_report_lines: self.max_report_lines,
            ..Config::default()
        };
        gopanic::event::bounded_config(cfg, self.record_bound())
    }

    /// 0: no bound.
    fn record_bound(&self) -> Option<usize> {
        (self.max_record_bytes > 0).then_some(self.max_record_bytes)
    }

    fn limits(&self) -> Limits {
        Limits {
            max_record_bytes: self.record_bound(),
            ..Limits::default()
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let server = match tiny_http::Server::http(&args.listen) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("gopanic-vector: cannot listen on {}: {e}", args.listen);
            return ExitCode::from(2);
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        if let Err(e) = signal_hook::flag::register(sig, Arc::clone(&stop)) {
            eprintln!("gopanic-vector: cannot handle signal {sig}: {e}");
            return ExitCode::from(2);
        }
    }
    let metrics = Arc::new(Metrics::new());
    let (engine_tx, engine_rx) = mpsc::channel::<Msg>();
    let (send_tx, send_rx) = mpsc::channel();
    let sender = sender::Sender::new(&args, Arc::clone(&metrics), engine_tx.clone());
    std::thread::spawn(move || sender.run(send_rx));
    let engine = Engine::new(&args, Arc::clone(&metrics), send_tx);
    std::thread::spawn(move || engine.run(engine_rx));
    eprintln!(
        "gopanic-vector: listening on {}, sending to {}",
        args.listen, args.downstream
    );
    let ingest = ingest::Ingest::new(&args, Arc::clone(&metrics), engine_tx.clone());
    let mut deadline: Option<Instant> = None;
    let mut last_request = Instant::now();
    let quiet = Duration::from_millis(args.shutdown_quiet_ms);
    loop {
        if deadline.is_none() && stop.load(Ordering::Relaxed) {
            eprintln!("gopanic-vector: stopping: flushing open reports");
            metrics.draining.store(true, Ordering::Relaxed);
            let _ = engine_tx.send(Msg::Shutdown);
            deadline = Some(Instant::now() + Duration::from_millis(args.shutdown_timeout_ms));
        }
        if let Some(d) = deadline {
            // Requests are counted as pending before the engine sees them,
            // on this thread: zero means nothing is in flight.
            if metrics.pending_requests.load(Ordering::Relaxed) == 0
                && last_request.elapsed() >= quiet
            {
                eprintln!("gopanic-vector: stopped: every request answered");
                return ExitCode::SUCCESS;
            }
            if Instant::now() >= d {
                eprintln!(
                    "gopanic-vector: stopped at the shutdown timeout with {} requests unanswered (Vector sends them again)",
                    metrics.pending_requests.load(Ordering::Relaxed)
                );
                return ExitCode::from(1);
            }
        }
        match server.recv_timeout(Duration::from_millis(50)) {
            Ok(Some(req)) => {
                last_request = Instant::now();
                ingest.handle(req);
            }
            Ok(None) => {}
            Err(e) => eprintln!("gopanic-vector: accepting a request: {e}"),
        }
    }
}
