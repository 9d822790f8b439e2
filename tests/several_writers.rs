//! Property tests for several writers in one stream, on real reports of the
//! fixture corpus: other writers' lines inserted at random positions inside
//! a report, and two reports of different binaries interleaved in random
//! runs. Exactness is checked wherever the documented rules
//! (`docs/grammar.md`, "Several writers") say the grammar decides; every
//! line must leave exactly once everywhere.

// Tests assert by panicking; clippy's restriction lints are for host code.
#![allow(clippy::restriction)]

mod common;

use std::sync::OnceLock;

use common::{CorpusReport, corpus_reports};
use gopanic::grammar::{LineKind, is_location, line_kind};
use gopanic::reassembler::{Config, Output, Reassembler};
use proptest::prelude::*;

/// Lines in the shapes loggers write: decided at every position.
const LOG_LINES: &[&str] = &[
    r#"{"ts":"2026-11-27T06:51:01.5Z","level":"info","logger":"shipper","msg":"flushed","seq":7}"#,
    "time=2026-11-27T06:51:01.5Z level=INFO msg=\"shipped batch\" seq=8",
    "2026/11/27 06:51:01 sync: pushed 3 objects to cache",
    "I1127 06:51:01.500000   12 reflector.go:301] watch of *v1.Pod ended",
    "2026-11-27T06:51:01.500Z\tWARN\tqueue/backpressure.go:44\tqueue is filling up",
    "level=warning msg=\"slow flush\" duration_ms=12",
    "INFO[0001] worker started",
];

/// Lines of no particular shape: decided except where the grammar would
/// take them (see `decided_gaps`).
const PLAIN_LINES: &[&str] = &[
    "Starting worker (pool=4)",
    "GET /healthz 200 1.2ms",
    "sidecar: heartbeat ok",
    "x",
    "résumé ünïcödé ✓",
];

/// Real reports of the single-writer corpus, deduplicated, at most 150
/// lines each.
fn pool() -> &'static Vec<CorpusReport> {
    static POOL: OnceLock<Vec<CorpusReport>> = OnceLock::new();
    POOL.get_or_init(|| corpus_reports(150))
}

/// The gaps (`k`: between line `k` and `k + 1`) inside a report where a line
/// of no particular shape is decided foreign by the grammar: not before the
/// line that proves an unconfirmed start, not inside a panic message
/// (before Go 1.23 a value continues on unindented lines), not before a
/// second `fatal error:` line (two threads throwing) or before `signal
/// arrived during …`.
fn decided_gaps(event: &str, lines: &[String]) -> Vec<usize> {
    let kinds: Vec<LineKind> = lines.iter().map(|l| line_kind(l)).collect();
    let proof = match kinds.first() {
        Some(LineKind::Panic | LineKind::HttpPanic | LineKind::FatalError) => 0,
        Some(LineKind::RuntimeNote | LineKind::FaultAddress) => kinds
            .iter()
            .position(|k| matches!(k, LineKind::FatalError | LineKind::Panic))
            .unwrap_or(lines.len()),
        Some(LineKind::SignalHeader) => 1,
        Some(LineKind::RaceDelimiter) => 1,
        Some(LineKind::GoroutineHeader) => 1,
        _ => lines.len(),
    };
    let message_end = if matches!(event, "panic" | "http_panic") {
        match kinds.iter().position(|k| *k == LineKind::GoroutineHeader) {
            Some(h) if h > 0 && kinds[h - 1] == LineKind::Blank => h - 1,
            Some(h) => h,
            None => lines.len(),
        }
    } else {
        0
    };
    (0..lines.len().saturating_sub(1))
        .filter(|&k| k >= proof && k >= message_end)
        .filter(|&k| !matches!(kinds[k + 1], LineKind::FatalError | LineKind::SignalNote))
        .collect()
}

/// Whether a location line's file is in the standard library: under
/// `…/src/<pkg>/` of a GOROOT, or `<pkg>/…` without a dot under `-trimpath`.
fn is_std(location: &str) -> bool {
    let file = location.trim_start_matches('\t');
    let path = file.rsplit_once("/src/").map_or(file, |(_, p)| p);
    let first = path.split('/').next().unwrap_or_default();
    path.contains('/') && !first.contains('.') && (file.contains("/src/") || !file.starts_with('/'))
}

/// Runs lines through one stream; returns (reports as line positions,
/// every position that left).
fn run(lines: &[String]) -> (Vec<(String, Vec<usize>)>, Vec<usize>) {
    let mut r: Reassembler<u8, At> = Reassembler::new(Config::default());
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        r.push(&0, At(i, l.clone()), i as i64 * 1_000, &mut out);
    }
    r.finish(&mut out);
    let mut reports = Vec::new();
    let mut left = Vec::new();
    for o in out {
        match o {
            Output::Line(_, At(i, _)) => left.push(i),
            Output::Report(_, rep) => {
                let idx: Vec<usize> = rep.lines.iter().map(|l| l.0).collect();
                left.extend(&idx);
                reports.push((rep.event.as_str().to_owned(), idx));
            }
        }
    }
    reports.sort();
    left.sort_unstable();
    (reports, left)
}

/// A line and its position.
struct At(usize, String);

impl gopanic::reassembler::Line for At {
    fn text(&self) -> &str {
        &self.1
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// One real report with other writers' lines inside it: log-shaped
    /// lines anywhere, other lines in the decided gaps.
    #[test]
    fn foreign_lines_inside_a_report_leave_alone(
        pick in any::<prop::sample::Index>(),
        shaped in prop::collection::vec((any::<prop::sample::Index>(), 0..LOG_LINES.len()), 0..12),
        plain in prop::collection::vec((any::<prop::sample::Index>(), 0..PLAIN_LINES.len()), 0..6),
    ) {
        let rep = &pool()[pick.index(pool().len())];
        let n = rep.lines.len();
        prop_assume!(n >= 2);
        let gaps = decided_gaps(&rep.event, &rep.lines);
        // inserts[k]: lines to put after report line k (k < n - 1).
        let mut inserts: Vec<Vec<&str>> = vec![Vec::new(); n];
        for (at, i) in &shaped {
            inserts[at.index(n - 1)].push(LOG_LINES[*i]);
        }
        for (at, i) in &plain {
            if !gaps.is_empty() {
                let k = gaps[at.index(gaps.len())];
                // Fewer than the 8 foreign lines in a row that end a report.
                if inserts[k].len() < 3 {
                    inserts[k].push(PLAIN_LINES[*i]);
                }
            }
        }
        let mut lines = vec!["2026/11/27 06:51:00 starting".to_owned()];
        let mut want = Vec::new();
        for (k, l) in rep.lines.iter().enumerate() {
            want.push(lines.len());
            lines.push(l.clone());
            lines.extend(inserts[k].iter().map(|s| (*s).to_owned()));
        }
        lines.push(r#"{"level":"info","msg":"restarted"}"#.to_owned());
        let (reports, left) = run(&lines);
        prop_assert_eq!(left, (0..lines.len()).collect::<Vec<_>>(), "conservation");
        prop_assert_eq!(reports, vec![(rep.event.clone(), want)], "{:#?}", lines);
    }

    /// Two real reports of binaries built by different toolchains (other
    /// GOROOT, other source directory) interleaved in random runs once each
    /// has printed its first frame, with log-shaped lines anywhere.
    #[test]
    fn two_reports_of_different_binaries_de_interleave(
        a in any::<prop::sample::Index>(),
        b in any::<prop::sample::Index>(),
        runs in prop::collection::vec(3usize..12, 1..60),
        shaped in prop::collection::vec((any::<prop::sample::Index>(), 0..LOG_LINES.len()), 0..10),
        start_b in any::<prop::sample::Index>(),
    ) {
        let of = |go: &str| -> Vec<&CorpusReport> {
            pool()
                .iter()
                .filter(|r| r.go.starts_with(go))
                .filter(|r| matches!(r.event.as_str(), "panic" | "fatal_error"))
                // Both kinds of file, so that each report shows where its
                // binary lives.
                .filter(|r| r.lines.iter().any(|l| is_location(l) && is_std(l)))
                .filter(|r| r.lines.iter().any(|l| is_location(l) && !is_std(l)))
                .filter(|r| !r.lines.iter().any(|l| l.contains("stack unavailable")))
                .collect()
        };
        // go1.19 builds under /go/src/… with GOROOT /usr/lib/go-1.19, go1.25
        // under /app with GOROOT /usr/local/go (tests/fixtures/README.md).
        let (pa, pb) = (of("go1.19."), of("go1.25."));
        let (ra, rb) = (pa[a.index(pa.len())], pb[b.index(pb.len())]);
        // Each report first shows where its binary lives: its first frame
        // of the standard library (GOROOT) and of its own code.
        let first_loc = |r: &CorpusReport| {
            let std = r.lines.iter().position(|l| is_location(l) && is_std(l));
            let own = r.lines.iter().position(|l| is_location(l) && !is_std(l));
            std.into_iter().chain(own).max().unwrap_or(0)
        };
        // A alone up to its first location (or further), then B alone up to
        // its first location, then runs of either.
        let mut a0 = first_loc(ra) + 1 + start_b.index(ra.lines.len() - first_loc(ra));
        // B does not start right after one of A's goroutine blocks ended: a
        // new report there closes the one before it (docs/grammar.md).
        let block_end = |mut k: usize| {
            while k > 0 && ra.lines[k - 1].is_empty() {
                k -= 1;
            }
            k >= 2
                && ["created by ", "main.main(", "runtime.main("]
                    .iter()
                    .any(|p| ra.lines[k - 2].starts_with(p))
        };
        while a0 < ra.lines.len() && block_end(a0) {
            a0 += 1;
        }
        let mut order: Vec<(u8, usize)> = (0..a0).map(|i| (0, i)).collect();
        let b0 = first_loc(rb) + 1;
        order.extend((0..b0).map(|i| (1, i)));
        let (mut ia, mut ib) = (a0, b0);
        let mut who = 0u8;
        for len in runs.iter().cycle() {
            if ia >= ra.lines.len() && ib >= rb.lines.len() {
                break;
            }
            let (i, r) = if who == 0 { (&mut ia, ra) } else { (&mut ib, rb) };
            // A run ends at a frame boundary: after a location line.
            let mut n = 0;
            while *i < r.lines.len() && (n < *len || !is_location(&r.lines[*i - 1])) {
                order.push((who, *i));
                *i += 1;
                n += 1;
            }
            who = 1 - who;
        }
        let mut lines = Vec::new();
        let mut want: [Vec<usize>; 2] = [Vec::new(), Vec::new()];
        let mut extra: Vec<Vec<&str>> = vec![Vec::new(); order.len()];
        for (at, i) in &shaped {
            extra[at.index(order.len())].push(LOG_LINES[*i]);
        }
        for (j, (w, i)) in order.iter().enumerate() {
            let r = if *w == 0 { ra } else { rb };
            want[*w as usize].push(lines.len());
            lines.push(r.lines[*i].clone());
            lines.extend(extra[j].iter().map(|s| (*s).to_owned()));
        }
        let (reports, left) = run(&lines);
        prop_assert_eq!(left, (0..lines.len()).collect::<Vec<_>>(), "conservation");
        let mut expect = vec![
            (ra.event.clone(), want[0].clone()),
            (rb.event.clone(), want[1].clone()),
        ];
        expect.sort();
        prop_assert_eq!(reports, expect, "{:#?}", lines);
    }
}
