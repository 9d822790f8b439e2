//! The engine: owns the reassembler and the unanswered requests.
//!
//! Every event remembers the request it came in. When an output (an
//! ordinary event, or a report made of events from one or more requests)
//! has been delivered, each of its events counts down its request; a
//! request is answered 200 when all its events are delivered. Events held
//! in an open report therefore delay their request's answer until the
//! report leaves (idle timeout, a line that ends it, or shutdown).

use std::borrow::Borrow;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gopanic::event::{EventStreams, JsonEvent};
use gopanic::reassembler::{Line, Output};
use gopanic::record::Shaper;
use tiny_http::{Request, Response};

use crate::Args;
use crate::ingest::respond;
use crate::metrics::Metrics;
use crate::sender::Outgoing;

/// An admitted request: its events, parsed, and the request to answer.
pub(crate) struct Incoming {
    pub request: Request,
    pub events: Vec<(String, JsonEvent)>,
    /// Body size, counted in `held_bytes` until the answer.
    pub bytes: u64,
}

pub(crate) enum Msg {
    Request(Incoming),
    /// Events delivered: (request id, events of it).
    Delivered(Vec<(u64, u32)>),
    /// Flush every open report, and from now on hold nothing: the process
    /// is about to exit.
    Shutdown,
}

/// An event and the request it came in.
pub(crate) struct Tagged {
    event: JsonEvent,
    request: u64,
}

impl Line for Tagged {
    fn text(&self) -> &str {
        self.event.text()
    }
}

impl Borrow<JsonEvent> for Tagged {
    fn borrow(&self) -> &JsonEvent {
        &self.event
    }
}

struct Pending {
    request: Request,
    /// Events not yet delivered.
    remaining: usize,
    bytes: u64,
}

pub(crate) struct Engine {
    streams: EventStreams<Tagged>,
    shaper: Shaper,
    metrics: Arc<Metrics>,
    sender: Sender<Outgoing>,
    pending: HashMap<u64, Pending>,
    next_id: u64,
    out: Vec<Output<String, Tagged>>,
}

/// How often idle reports are looked for.
const TICK: Duration = Duration::from_millis(50);

fn unix_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

impl Engine {
    pub(crate) fn new(args: &Args, metrics: Arc<Metrics>, sender: Sender<Outgoing>) -> Self {
        Engine {
            streams: EventStreams::new(args.config()),
            shaper: Shaper::new(args.profile, args.limits()),
            metrics,
            sender,
            pending: HashMap::new(),
            next_id: 0,
            out: Vec::new(),
        }
    }

    /// Runs until the process exits.
    pub(crate) fn run(mut self, rx: Receiver<Msg>) {
        let mut stopping = false;
        let mut next_tick = Instant::now() + TICK;
        loop {
            let wait = next_tick.saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait) {
                Ok(Msg::Request(inc)) => {
                    self.admit(inc);
                    if stopping {
                        self.streams.finish(&mut self.out);
                        self.emit();
                    }
                }
                Ok(Msg::Delivered(counts)) => self.delivered(&counts),
                Ok(Msg::Shutdown) => {
                    stopping = true;
                    self.streams.finish(&mut self.out);
                    self.emit();
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            if Instant::now() >= next_tick {
                self.streams.tick(unix_nanos(), &mut self.out);
                self.emit();
                next_tick = Instant::now() + TICK;
            }
        }
    }

    fn admit(&mut self, inc: Incoming) {
        let id = self.next_id;
        self.next_id += 1;
        if inc.events.is_empty() {
            self.answer(inc.request, inc.bytes);
            return;
        }
        self.pending.insert(
            id,
            Pending {
                request: inc.request,
                remaining: inc.events.len(),
                bytes: inc.bytes,
            },
        );
        let now = unix_nanos();
        for (key, event) in inc.events {
            let tagged = Tagged { event, request: id };
            self.streams.push(key, tagged, now, &mut self.out);
        }
        self.emit();
    }

    /// Hands what left the reassembler to the sender, in order.
    fn emit(&mut self) {
        let m = &self.metrics;
        m.open_streams.store(
            self.streams.reassembler().open_reports() as u64,
            Ordering::Relaxed,
        );
        m.report_bytes
            .store(self.streams.held_bytes() as u64, Ordering::Relaxed);
        for o in self.out.drain(..) {
            let mut body = Vec::with_capacity(256);
            self.shaper.write_event(&o, &mut body);
            body.push(b'\n');
            let (requests, lines) = match &o {
                Output::Line(_, t) => (vec![(t.request, 1)], 0),
                Output::Report(_, r) => (tally(&r.lines), r.lines.len() as u64),
            };
            let out = Outgoing {
                body,
                requests,
                report_lines: lines,
            };
            // The sender outlives the engine; if it died, the requests stay
            // unanswered and Vector sends them again.
            let _ = self.sender.send(out);
        }
    }

    fn delivered(&mut self, counts: &[(u64, u32)]) {
        for &(id, n) in counts {
            let done = match self.pending.get_mut(&id) {
                Some(p) => {
                    p.remaining = p.remaining.saturating_sub(n as usize);
                    p.remaining == 0
                }
                None => false,
            };
            if done && let Some(p) = self.pending.remove(&id) {
                self.answer(p.request, p.bytes);
            }
        }
    }

    fn answer(&self, request: Request, bytes: u64) {
        let m = &self.metrics;
        m.held_bytes.fetch_sub(bytes, Ordering::Relaxed);
        m.pending_requests.fetch_sub(1, Ordering::Relaxed);
        respond(request, Response::empty(200));
    }
}

/// Events per request among a report's lines, in first-seen order.
fn tally(lines: &[Tagged]) -> Vec<(u64, u32)> {
    let mut v: Vec<(u64, u32)> = Vec::new();
    for l in lines {
        match v.iter_mut().find(|(id, _)| *id == l.request) {
            Some((_, n)) => *n += 1,
            None => v.push((l.request, 1)),
        }
    }
    v
}
