//! Incoming requests: routing, admission and body parsing.
//!
//! Admission happens before any event is read, so a refused request left
//! nothing behind and Vector's retry sends it whole again.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Sender;

use gopanic::event::{EventFormat, JsonEvent};
use serde_json::value::RawValue;
use tiny_http::{Header, Method, Request, Response};

use crate::Args;
use crate::engine::{Incoming, Msg};
use crate::metrics::Metrics;

pub(crate) struct Ingest {
    format: EventFormat,
    metrics: Arc<Metrics>,
    engine: Sender<Msg>,
    max_held_bytes: u64,
    max_request_bytes: usize,
    retry_after: String,
}

impl Ingest {
    pub(crate) fn new(args: &Args, metrics: Arc<Metrics>, engine: Sender<Msg>) -> Self {
        Ingest {
            format: args.format(),
            metrics,
            engine,
            max_held_bytes: args.max_held_bytes as u64,
            max_request_bytes: args.max_request_bytes,
            retry_after: args.retry_after_secs.to_string(),
        }
    }

    pub(crate) fn handle(&self, req: Request) {
        let path = req.url().split('?').next().unwrap_or("").to_owned();
        match (req.method(), path.as_str()) {
            (Method::Get | Method::Head, "/health") => {
                let (code, text) = if self.metrics.draining.load(Ordering::Relaxed) {
                    (503, "draining\n")
                } else {
                    (200, "ok\n")
                };
                respond(req, Response::from_string(text).with_status_code(code));
            }
            (Method::Get, "/metrics") => {
                let body = self.metrics.render();
                let r = Response::from_string(body);
                respond(
                    req,
                    with_header(r, "Content-Type", "text/plain; version=0.0.4"),
                );
            }
            (Method::Post | Method::Put, _) => self.events(req),
            _ => respond(
                req,
                Response::from_string("not found\n").with_status_code(404),
            ),
        }
    }

    fn events(&self, mut req: Request) {
        let m = &self.metrics;
        m.requests.fetch_add(1, Ordering::Relaxed);
        if !m.downstream_ok.load(Ordering::Relaxed) {
            m.rejected_downstream.fetch_add(1, Ordering::Relaxed);
            return self.refuse(req, 503, "downstream unavailable");
        }
        let held = m.held_bytes.load(Ordering::Relaxed);
        let size = req.body_length().unwrap_or(0) as u64;
        // An empty pipeline admits any one request, however large, so that
        // no request size can stall forever.
        if held > 0 && held.saturating_add(size) > self.max_held_bytes {
            m.rejected_full.fetch_add(1, Ordering::Relaxed);
            return self.refuse(req, 429, "held bytes at the bound");
        }
        if req.headers().iter().any(|h| {
            h.field.equiv("Content-Encoding") && !h.value.as_str().eq_ignore_ascii_case("identity")
        }) {
            m.rejected_bad.fetch_add(1, Ordering::Relaxed);
            return self.refuse(req, 415, "set compression: none on the http sink");
        }
        let mut body = Vec::with_capacity(size.min(self.max_request_bytes as u64) as usize);
        let limit = self.max_request_bytes as u64 + 1;
        if let Err(e) = req.as_reader().take(limit).read_to_end(&mut body) {
            m.rejected_bad.fetch_add(1, Ordering::Relaxed);
            return self.refuse(req, 400, &format!("reading the body: {e}"));
        }
        if body.len() > self.max_request_bytes {
            m.rejected_bad.fetch_add(1, Ordering::Relaxed);
            return self.refuse(
                req,
                413,
                "body over --max-request-bytes: lower batch.max_bytes",
            );
        }
        let events = match parse_body(&self.format, &body) {
            Ok(e) => e,
            Err(e) => {
                m.rejected_bad.fetch_add(1, Ordering::Relaxed);
                return self.refuse(req, 400, &e);
            }
        };
        let bytes = body.len() as u64;
        m.events_in
            .fetch_add(events.len() as u64, Ordering::Relaxed);
        let malformed = events.iter().filter(|(_, e)| e.malformed).count();
        m.malformed_events
            .fetch_add(malformed as u64, Ordering::Relaxed);
        m.held_bytes.fetch_add(bytes, Ordering::Relaxed);
        m.pending_requests.fetch_add(1, Ordering::Relaxed);
        let incoming = Incoming {
            request: req,
            events,
            bytes,
        };
        // The engine only stops after shutdown, when requests are refused
        // above; a send error leaves the request unanswered, as a crash would.
        let _ = self.engine.send(Msg::Request(incoming));
    }

    fn refuse(&self, req: Request, code: u16, why: &str) {
        let mut r = Response::from_string(format!("{why}\n")).with_status_code(code);
        if code == 429 || code == 503 {
            r = with_header(r, "Retry-After", &self.retry_after);
        }
        respond(req, r);
    }
}

/// Events of a body: a JSON array (the http sink's default framing) or one
/// event per line (`framing.method: newline_delimited`).
pub(crate) fn parse_body(
    format: &EventFormat,
    body: &[u8],
) -> Result<Vec<(String, JsonEvent)>, String> {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        let items: Vec<&RawValue> = serde_json::from_str(trimmed)
            .map_err(|e| format!("body is not a JSON array of events: {e}"))?;
        return Ok(items.iter().map(|r| format.read(r.get())).collect());
    }
    Ok(text
        .split('\n')
        .filter(|l| !l.trim().is_empty())
        .map(|l| format.read(l))
        .collect())
}

fn with_header<R: Read>(mut r: Response<R>, name: &str, value: &str) -> Response<R> {
    // Names and values here are ASCII constants or digits, always valid.
    if let Ok(h) = Header::from_bytes(name.as_bytes(), value.as_bytes()) {
        r.add_header(h);
    }
    r
}

/// Answers, ignoring a client that already went away: Vector retries what
/// it did not see answered.
pub(crate) fn respond<R: Read>(req: Request, r: Response<R>) {
    let _ = req.respond(r);
}
