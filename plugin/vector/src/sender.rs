//! The sender: delivers output downstream as NDJSON, in order, one request
//! at a time, retrying a failed request (the same events, nothing added)
//! until it is answered 2xx. While it fails, new event requests are refused
//! with 503, so memory stays bounded and Vector buffers instead.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, Sender as Chan};
use std::time::Duration;

use crate::Args;
use crate::engine::Msg;
use crate::metrics::Metrics;

/// One output event, serialised, and the request events it carries.
pub(crate) struct Outgoing {
    /// One NDJSON line, newline included.
    pub body: Vec<u8>,
    /// (request id, events of it) that this output carries.
    pub requests: Vec<(u64, u32)>,
    /// Input events joined into it, when it is a report.
    pub report_lines: u64,
}

pub(crate) struct Sender {
    agent: ureq::Agent,
    url: String,
    batch_bytes: usize,
    metrics: Arc<Metrics>,
    engine: Chan<Msg>,
}

/// Retry pause bounds.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

impl Sender {
    pub(crate) fn new(args: &Args, metrics: Arc<Metrics>, engine: Chan<Msg>) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_millis(args.downstream_timeout_ms)))
            .build();
        Sender {
            agent: ureq::Agent::new_with_config(config),
            url: args.downstream.clone(),
            batch_bytes: args.batch_bytes.max(1),
            metrics,
            engine,
        }
    }

    pub(crate) fn run(self, rx: Receiver<Outgoing>) {
        let mut body = Vec::new();
        let mut carried: Vec<(u64, u32)> = Vec::new();
        let (mut events, mut reports, mut report_lines) = (0u64, 0u64, 0u64);
        // Blocks for the first output of a batch, then takes what is queued.
        while let Ok(first) = rx.recv() {
            let mut next = Some(first);
            while let Some(o) = next.take() {
                body.extend_from_slice(&o.body);
                merge(&mut carried, &o.requests);
                events += 1;
                if o.report_lines > 0 {
                    reports += 1;
                    report_lines += o.report_lines;
                }
                if body.len() < self.batch_bytes {
                    next = rx.try_recv().ok();
                }
            }
            self.deliver(&body);
            let m = &self.metrics;
            m.events_out.fetch_add(events, Ordering::Relaxed);
            m.reports.fetch_add(reports, Ordering::Relaxed);
            m.report_lines.fetch_add(report_lines, Ordering::Relaxed);
            if self
                .engine
                .send(Msg::Delivered(std::mem::take(&mut carried)))
                .is_err()
            {
                return;
            }
            body.clear();
            (events, reports, report_lines) = (0, 0, 0);
        }
    }

    /// Posts `body` until it is answered 2xx.
    fn deliver(&self, body: &[u8]) {
        let mut pause = BACKOFF_MIN;
        loop {
            let result = self
                .agent
                .post(&self.url)
                .header("Content-Type", "application/x-ndjson")
                .send(body);
            let m = &self.metrics;
            match result {
                Ok(mut r) => {
                    // Read to the end so the connection can be reused.
                    let _ = r.body_mut().read_to_vec();
                    if r.status().is_success() {
                        m.downstream_ok.store(true, Ordering::Relaxed);
                        m.downstream_batches.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    eprintln!("gopanic-vector: downstream answered {}", r.status());
                }
                Err(e) => eprintln!("gopanic-vector: downstream: {e}"),
            }
            m.downstream_errors.fetch_add(1, Ordering::Relaxed);
            m.downstream_ok.store(false, Ordering::Relaxed);
            std::thread::sleep(pause);
            pause = (pause * 2).min(BACKOFF_MAX);
        }
    }
}

fn merge(into: &mut Vec<(u64, u32)>, add: &[(u64, u32)]) {
    for &(id, n) in add {
        match into.iter_mut().rev().find(|(i, _)| *i == id) {
            Some((_, c)) => *c += n,
            None => into.push((id, n)),
        }
    }
}
