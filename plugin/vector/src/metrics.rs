//! Counters and gauges, shared by the threads, served as Prometheus text.

use std::fmt::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Everything `/metrics` shows, plus the flags admission reads.
#[derive(Default)]
pub(crate) struct Metrics {
    pub requests: AtomicU64,
    pub rejected_downstream: AtomicU64,
    pub rejected_full: AtomicU64,
    pub rejected_bad: AtomicU64,
    pub events_in: AtomicU64,
    pub malformed_events: AtomicU64,
    pub events_out: AtomicU64,
    pub reports: AtomicU64,
    pub report_lines: AtomicU64,
    pub downstream_batches: AtomicU64,
    pub downstream_errors: AtomicU64,
    /// Gauges.
    pub open_streams: AtomicU64,
    pub held_bytes: AtomicU64,
    pub report_bytes: AtomicU64,
    pub pending_requests: AtomicU64,
    /// Downstream answered 2xx to the last attempt.
    pub downstream_ok: AtomicBool,
    /// SIGTERM seen: nothing is held, `/health` answers 503.
    pub draining: AtomicBool,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let m = Metrics::default();
        m.downstream_ok.store(true, Ordering::Relaxed);
        m
    }

    /// The Prometheus text exposition.
    pub(crate) fn render(&self) -> String {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut s = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, samples: &[(&str, u64)]| {
            let _ = writeln!(
                s,
                "# HELP gopanic_{name} {help}\n# TYPE gopanic_{name} {kind}"
            );
            for (labels, v) in samples {
                let _ = writeln!(s, "gopanic_{name}{labels} {v}");
            }
        };
        metric(
            "requests_total",
            "counter",
            "Event requests received.",
            &[("", get(&self.requests))],
        );
        metric(
            "requests_rejected_total",
            "counter",
            "Event requests refused, by reason (Vector sends them again).",
            &[
                ("{reason=\"downstream\"}", get(&self.rejected_downstream)),
                ("{reason=\"full\"}", get(&self.rejected_full)),
                ("{reason=\"bad_request\"}", get(&self.rejected_bad)),
            ],
        );
        metric(
            "events_in_total",
            "counter",
            "Events received.",
            &[("", get(&self.events_in))],
        );
        metric(
            "malformed_events_total",
            "counter",
            "Events that were not JSON objects, passed on as {\"message\": …}.",
            &[("", get(&self.malformed_events))],
        );
        metric(
            "events_out_total",
            "counter",
            "Events delivered downstream (a report counts once).",
            &[("", get(&self.events_out))],
        );
        metric(
            "reports_total",
            "counter",
            "Crash report events delivered (parts of split reports count each).",
            &[("", get(&self.reports))],
        );
        metric(
            "report_lines_total",
            "counter",
            "Input events joined into delivered reports.",
            &[("", get(&self.report_lines))],
        );
        metric(
            "downstream_batches_total",
            "counter",
            "Downstream requests answered 2xx.",
            &[("", get(&self.downstream_batches))],
        );
        metric(
            "downstream_errors_total",
            "counter",
            "Downstream attempts that failed (retried).",
            &[("", get(&self.downstream_errors))],
        );
        metric(
            "open_streams",
            "gauge",
            "Streams holding an open report.",
            &[("", get(&self.open_streams))],
        );
        metric(
            "held_bytes",
            "gauge",
            "Bytes of requests not yet answered.",
            &[("", get(&self.held_bytes))],
        );
        metric(
            "report_bytes",
            "gauge",
            "Bytes of text in open reports.",
            &[("", get(&self.report_bytes))],
        );
        metric(
            "pending_requests",
            "gauge",
            "Requests waiting for their events to leave.",
            &[("", get(&self.pending_requests))],
        );
        metric(
            "downstream_up",
            "gauge",
            "1 when the last downstream attempt succeeded.",
            &[("", u64::from(self.downstream_ok.load(Ordering::Relaxed)))],
        );
        s
    }
}
