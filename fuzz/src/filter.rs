//! The `filter` fuzz check: `gopanic_reassemble`'s entry point
//! (`reassemble::Filter::process`) natively, fed a sequence of records.
//!
//! Input layout: records separated by `\n` (JSON needs no raw newline);
//! each record's first byte picks its tag (bit 0) and how far the host
//! clock moves before it (the other bits, in steps of 100 ms), the rest is
//! the record. Heartbeats are records like any other
//! (`{"gopanic_tick":true,…}`), settings included.
//!
//! Checked: no panic; a record that is a valid JSON object never comes
//! back invalid; and the fast path changes nothing: a second filter gets
//! every record with a leading space, which the fast path never takes
//! (so every record is read in full) and a full reading ignores, and both
//! filters return the same records, stream by stream and in any order
//! (compared after the module's own member-by-member rewrite, which drops
//! insignificant whitespace), once heartbeats have let out everything held.

use std::collections::BTreeMap;

use gopanic_fluent_bit::Verdict;
use gopanic_fluent_bit::json::{Record, object_members};
use gopanic_fluent_bit::reassemble::Filter;

/// A returned record, whitespace between top-level members dropped.
fn normal(record: &[u8]) -> Vec<u8> {
    let Some(rec) = Record::parse(record) else {
        return record.trim_ascii_start().to_vec();
    };
    let mut out = Vec::with_capacity(record.len());
    rec.write_open(&mut out, &[]);
    out.push(b'}');
    out
}

/// What a call returned: `None` when the record was dropped.
fn returned(verdict: Verdict, record: &[u8], out: &[u8]) -> Option<Vec<u8>> {
    match verdict {
        Verdict::Unchanged => Some(record.to_vec()),
        Verdict::Drop => None,
        Verdict::Emit => Some(out.to_vec()),
    }
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).chars().take(400).collect()
}

/// A stream as the records returned name it: tag (a re-emitted record's
/// own), raw `stream` value.
type StreamName = (Vec<u8>, Vec<u8>);

/// One filter and what it returned, grouped by stream.
struct Side {
    filter: Filter,
    out: Vec<u8>,
    /// Per (tag, raw `stream` value): the records returned, in order.
    returned: BTreeMap<StreamName, Vec<Vec<u8>>>,
}

impl Side {
    fn new() -> Self {
        Side {
            filter: Filter::default(),
            out: Vec::new(),
            returned: BTreeMap::new(),
        }
    }

    /// One call; returns what came back.
    fn call(&mut self, tag: &[u8], now: i64, record: &[u8]) -> Option<Vec<u8>> {
        let verdict = self.filter.process(tag, now, record, &mut self.out);
        let back = returned(verdict, record, &self.out)?;
        let normal = normal(&back);
        // A re-emitted record leaves under its own tag.
        let (tag, stream) = match Record::parse(&normal) {
            Some(r) => (
                r.get_str("gopanic_tag")
                    .map_or(tag.to_vec(), String::into_bytes),
                r.get("stream").unwrap_or_default().to_vec(),
            ),
            None => (tag.to_vec(), Vec::new()),
        };
        self.returned.entry((tag, stream)).or_default().push(normal);
        Some(back)
    }

    /// Heartbeats far apart until nothing is held or queued (as a host's
    /// `dummy` input would send them), at most `n`.
    fn drain(&mut self, mut now: i64, n: usize) {
        for _ in 0..n {
            let f = &self.filter;
            if f.queue_len() == 0 && f.held_lines() == 0 && f.open_streams() == 0 {
                return;
            }
            now = now.saturating_add(20_000_000_000);
            self.call(b"gopanic.tick", now, b"{\"gopanic_tick\":true}");
        }
    }
}

/// Runs one input through two filters; panics on a violation. Returns how
/// many calls were made.
pub fn check(data: &[u8]) -> usize {
    let mut quick = Side::new();
    let mut full = Side::new();
    let mut now: i64 = 1_800_000_000_000_000_000;
    // A first line both read in full (no `log`: the fast path needs one),
    // so that both filters take their report id salt from the same time.
    for side in [&mut quick, &mut full] {
        side.call(b"kube.a", now, b"{\"message\":\"start\"}");
    }
    let mut spaced = Vec::new();
    let mut calls = 0;
    for chunk in data.split(|&c| c == b'\n') {
        let Some((&control, record)) = chunk.split_first() else {
            continue;
        };
        let tag: &[u8] = if control & 1 == 0 {
            b"kube.a"
        } else {
            b"kube.b"
        };
        now = now.saturating_add(i64::from(control >> 1) * 100_000_000);
        calls += 1;
        spaced.clear();
        spaced.push(b' ');
        spaced.extend_from_slice(record);
        let back = quick.call(tag, now, record);
        full.call(tag, now, &spaced);
        if object_members(record).is_some()
            && let Some(r) = &back
        {
            assert!(
                object_members(r).is_some(),
                "a valid record came back invalid: {}\n-> {}",
                show(record),
                show(r)
            );
        }
    }
    quick.drain(now, 64);
    full.drain(now, 64);
    // The full reading holds one byte more of each record it keeps: a
    // memory bound (settable by a heartbeat) may then close a stream in one
    // filter only, and the two may differ.
    if quick.filter.stats().memory_closes + full.filter.stats().memory_closes > 0 {
        return calls;
    }
    // Records queued for heartbeats leave one per heartbeat, all streams
    // in one queue, in the order a heartbeat finds idle streams; a later
    // line of the stream may pass before them (hosts order by time:
    // `gopanic_time`). So per stream, the same records in any order.
    for (key, q) in &mut quick.returned {
        let mut f = full
            .returned
            .get_mut(key)
            .map(std::mem::take)
            .unwrap_or_default();
        let mut q = std::mem::take(q);
        q.sort();
        f.sort();
        assert!(
            q == f,
            "the fast path and the full reading differ in stream {}/{}:\n{}\n---\n{}",
            show(&key.0),
            show(&key.1),
            q.iter().map(|r| show(r)).collect::<Vec<_>>().join("\n"),
            f.iter().map(|r| show(r)).collect::<Vec<_>>().join("\n"),
        );
    }
    assert_eq!(
        quick.returned.keys().collect::<Vec<_>>(),
        full.returned.keys().collect::<Vec<_>>(),
        "streams returned"
    );
    calls
}
