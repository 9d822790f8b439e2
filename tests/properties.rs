//! Property tests: several sources and streams, each a random sequence of
//! ordinary lines and real crash reports, interleaved at random, wrapped in
//! CRI or docker envelopes with lines split into random partial chunks.
//! Whatever the mix, every line leaves exactly once and the reports found
//! are exactly the reports put in.

// Tests assert by panicking; clippy's restriction lints are for host code.
#![allow(clippy::restriction)]

mod common;

use std::collections::HashMap;
use std::sync::OnceLock;

use common::{Indexed, corpus_reports};
use gopanic::container::{Decoder, Format};
use gopanic::reassembler::{Config, Output, Reassembler};
use proptest::prelude::*;

/// Ordinary lines that neither start nor continue a report wherever they
/// land between reports. (Blank lines, tab-indented lines, `runtime: …`
/// lines and goroutine headers are not in the pool on purpose: by the
/// grammar they legitimately join a neighbouring report — a tab-indented
/// line after `panic: …` is how Go 1.23+ continues a multi-line value.)
const ORDINARY: &[&str] = &[
    r#"{"level":"info","ts":"2026-11-27T06:51:01Z","msg":"request served","status":200}"#,
    r#"{"level":"error","msg":"upstream timeout","err":"context deadline exceeded"}"#,
    "GET /healthz 200 1.2ms",
    "level=warn msg=\"retrying\" attempt=3",
    "2026/11/27 06:51:01 listening on :8080",
    "Starting worker (pool=4)",
    "panicking is not an option",
    "goroutines: 42",
    "fatal: config file missing",
    "  two-space indented output",
    "SIGTERM received, shutting down",
    "main.go:12: something (x)",
    "résumé ünïcödé ✓",
    "x",
];

/// Real reports from the fixture corpus (deduplicated by text, size capped),
/// plus a few that stand for shapes the corpus may lack.
fn report_pool() -> &'static Vec<(String, Vec<String>)> {
    static POOL: OnceLock<Vec<(String, Vec<String>)>> = OnceLock::new();
    POOL.get_or_init(|| {
        let mut pool: Vec<(String, Vec<String>)> = vec![
            (
                "panic".into(),
                vec!["panic: boom".into()], // GOTRACEBACK=none prints only this
            ),
            (
                "fatal_error".into(),
                [
                    "fatal error: all goroutines are asleep - deadlock!",
                    "",
                    "goroutine 1 [chan receive]:",
                    "main.main()",
                    "\t/app/main.go:9 +0x2d",
                ]
                .map(String::from)
                .to_vec(),
            ),
        ];
        pool.extend(corpus_reports(300).into_iter().map(|r| (r.event, r.lines)));
        pool
    })
}

#[derive(Debug, Clone)]
enum Segment {
    Ordinary(usize),
    Report(usize),
}

fn segment() -> impl Strategy<Value = Segment> {
    prop_oneof![
        3 => (0..ORDINARY.len()).prop_map(Segment::Ordinary),
        1 => any::<prop::sample::Index>().prop_map(|i| Segment::Report(i.index(report_pool().len()))),
    ]
}

/// One stream's content: its segments.
fn stream() -> impl Strategy<Value = Vec<Segment>> {
    prop::collection::vec(segment(), 1..12)
}

#[derive(Debug, Clone, Copy)]
enum Envelope {
    Cri,
    Docker,
}

const STREAMS: [&str; 2] = ["stdout", "stderr"];

/// Wraps one logical line as raw lines, split into chunks at `cuts`.
fn wrap(env: Envelope, stream: &str, text: &str, cuts: &[usize], t: &mut u64) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut start = 0;
    for &c in cuts {
        let mut c = start + c % (text.len() - start + 1);
        while !text.is_char_boundary(c) {
            c += 1;
        }
        if c > start && c < text.len() {
            chunks.push(&text[start..c]);
            start = c;
        }
    }
    chunks.push(&text[start..]);
    let n = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| {
            *t += 1;
            let time = format!(
                "2026-11-27T06:51:{:02}.{:06}Z",
                (*t / 1_000_000) % 60,
                *t % 1_000_000
            );
            let last = i + 1 == n;
            match env {
                Envelope::Cri => {
                    format!("{time} {stream} {} {chunk}", if last { "F" } else { "P" })
                }
                Envelope::Docker => {
                    let log = if last {
                        format!("{chunk}\n")
                    } else {
                        chunk.to_owned()
                    };
                    format!(
                        r#"{{"log":{},"stream":"{stream}","time":"{time}"}}"#,
                        serde_json::to_string(&log).unwrap()
                    )
                }
            }
        })
        .collect()
}

/// Expected reports of one stream: (event, positions of its lines).
fn expected(segments: &[Segment]) -> (Vec<String>, Vec<(String, Vec<usize>)>) {
    let pool = report_pool();
    let mut lines = Vec::new();
    let mut reports = Vec::new();
    for s in segments {
        match s {
            Segment::Ordinary(i) => lines.push(ORDINARY[*i].to_owned()),
            Segment::Report(i) => {
                let (event, rl) = &pool[*i];
                let start = lines.len();
                lines.extend(rl.iter().cloned());
                reports.push((event.clone(), (start..lines.len()).collect()));
            }
        }
    }
    (lines, reports)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn interleaved_streams_conserve_lines_and_find_exact_reports(
        content in prop::collection::vec(stream(), 4),
        docker in prop::collection::vec(any::<bool>(), 2),
        order in prop::collection::vec(0u8..4, 0..4000),
        cuts in prop::collection::vec(prop::collection::vec(0usize..40, 0..3), 64),
    ) {
        // Streams 0,1 are source 0's stdout/stderr; 2,3 are source 1's.
        let mut t = 0u64;
        let mut raw: Vec<Vec<String>> = Vec::new();
        let mut want = Vec::new();
        for (s, segs) in content.iter().enumerate() {
            let env = if docker[s / 2] { Envelope::Docker } else { Envelope::Cri };
            let (lines, reports) = expected(segs);
            let mut chunks = Vec::new();
            for (i, l) in lines.iter().enumerate() {
                chunks.extend(wrap(env, STREAMS[s % 2], l, &cuts[i % cuts.len()], &mut t));
            }
            raw.push(chunks);
            want.push((lines, reports));
        }
        // Interleave raw lines of all streams in a random order.
        let mut next = [0usize; 4];
        let mut merged: Vec<(usize, String)> = Vec::new();
        let mut picks = order.iter().map(|&o| o as usize).chain((0..4).cycle());
        while merged.len() < raw.iter().map(Vec::len).sum() {
            let s = picks.next().unwrap_or(0);
            if next[s] < raw[s].len() {
                merged.push((s, raw[s][next[s]].clone()));
                next[s] += 1;
            }
        }

        let mut decoders = [Decoder::new(Format::Auto, 1 << 20), Decoder::new(Format::Auto, 1 << 20)];
        let mut r: Reassembler<(usize, Option<String>), Indexed> = Reassembler::new(Config::default());
        let mut seq: HashMap<(usize, Option<String>), usize> = HashMap::new();
        let mut out = Vec::new();
        for (i, (s, line)) in merged.iter().enumerate() {
            let src = s / 2;
            for l in decoders[src].push(line) {
                prop_assert!(!l.malformed, "malformed: {line}");
                let key = (src, l.stream.as_deref().map(str::to_owned));
                let n = seq.entry(key.clone()).or_default();
                let index = *n;
                *n += 1;
                r.push(&key, Indexed { index, line: l }, i as i64, &mut out);
            }
        }
        for d in &mut decoders {
            prop_assert!(d.finish().is_empty());
        }
        r.finish(&mut out);

        for (s, (lines, reports)) in want.iter().enumerate() {
            let key = (s / 2, Some(STREAMS[s % 2].to_owned()));
            let mut seen = vec![0; lines.len()];
            let mut got = Vec::new();
            for o in &out {
                match o {
                    Output::Line(k, l) if *k == key => {
                        prop_assert_eq!(&l.line.text, &lines[l.index]);
                        seen[l.index] += 1;
                    }
                    Output::Report(k, rep) if *k == key => {
                        let idx: Vec<usize> = rep.lines.iter().map(|l| l.index).collect();
                        for l in &rep.lines {
                            prop_assert_eq!(&l.line.text, &lines[l.index]);
                            seen[l.index] += 1;
                        }
                        got.push((rep.event.as_str().to_owned(), idx));
                    }
                    _ => {}
                }
            }
            prop_assert!(seen.iter().all(|&n| n == 1), "stream {}: conservation {:?}", s, seen);
            prop_assert_eq!(&got, reports, "stream {}", s);
        }
    }
}
