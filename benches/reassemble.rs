//! Throughput of the core on two inputs, reported by criterion in MB/s:
//! (a) ordinary CRI log traffic with no crash (the common case: every line
//!     of a node passes through), and
//! (b) a `GOTRACEBACK=all` dump of 5,000 goroutines in CRI form.
//! Each input is measured for decode alone, decode and reassemble, and the
//! whole path: decode, reassemble, parse, classify and JSON record output
//! (what the CLI does); `parse+emit` measures the last steps alone, on the
//! reassembler's outputs, and `parse/…` the parser alone on the dump's
//! report lines. Input reaches the decoder as the CLI feeds it: in 64 KiB
//! reads that the decoder splits into lines, streams keyed by one byte, and
//! the texts of written lines go back to the decoder (as in the CLI).

// A measuring tool: a failed step stops it with its message.
#![allow(missing_docs, clippy::restriction)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gopanic::Event;
use gopanic::container::{Decoder, Format, LogLine};
use gopanic::parse::parse;
use gopanic::reassembler::{Config, Output, Reassembler};
use gopanic::record::Shaper;
use std::hint::black_box;

fn cri(i: usize, stream: &str, text: &str) -> String {
    format!(
        "2026-11-27T06:51:{:02}.{:09}Z {stream} F {text}\n",
        (i / 1_000_000) % 60,
        i % 1_000_000 * 1000
    )
}

/// 20,000 lines of typical service output on both streams.
fn ordinary_traffic() -> String {
    let samples = [
        r#"{"level":"info","ts":"2026-11-27T06:51:01.123Z","caller":"server/handler.go:88","msg":"request served","method":"GET","path":"/api/v1/orders/8812","status":200,"duration_ms":12.4}"#,
        r#"{"level":"warn","ts":"2026-11-27T06:51:01.456Z","msg":"slow query","query":"SELECT * FROM carts WHERE id = $1","ms":512}"#,
        "2026/11/27 06:51:01 GET /healthz 200 1.204ms",
        "level=info msg=\"cache refreshed\" entries=5123 took=33ms",
    ];
    (0..20_000)
        .map(|i| {
            cri(
                i,
                if i % 5 == 0 { "stdout" } else { "stderr" },
                samples[i % samples.len()],
            )
        })
        .collect()
}

/// A fatal error followed by 5,000 goroutine blocks in the shapes a busy
/// server shows (chan receive, select, IO wait, mutex), as Go 1.22+ prints
/// them.
fn big_dump() -> String {
    let mut lines = vec![
        "fatal error: concurrent map writes".to_owned(),
        String::new(),
    ];
    let shapes: [(&str, &[&str]); 4] = [
        (
            "chan receive, 12 minutes",
            &[
                "github.com/acme/orders/worker.(*Pool).run(0xc000124000)",
                "\t/go/src/github.com/acme/orders/worker/pool.go:141 +0x8d",
            ],
        ),
        (
            "select",
            &[
                "github.com/acme/orders/queue.(*Consumer).loop(0xc0001a2000, {0x9a5e60, 0xc0000b6000})",
                "\t/go/src/github.com/acme/orders/queue/consumer.go:77 +0x1c5",
            ],
        ),
        (
            "IO wait",
            &[
                "internal/poll.runtime_pollWait(0x7f0c2c4d5e28, 0x72)",
                "\t/usr/local/go/src/runtime/netpoll.go:351 +0x85",
                "net.(*conn).Read(0xc000112040, {0xc000200000?, 0x1000?, 0x0?})",
                "\t/usr/local/go/src/net/net.go:194 +0x45",
            ],
        ),
        (
            "sync.Mutex.Lock",
            &[
                "sync.(*Mutex).Lock(...)",
                "\t/usr/local/go/src/sync/mutex.go:46",
                "github.com/acme/orders/cart.(*Store).Get(0xc00011e000, {0xc0002f4000, 0x24})",
                "\t/go/src/github.com/acme/orders/cart/store.go:52 +0x6e",
            ],
        ),
    ];
    for g in 0..5_000 {
        let (state, frames) = shapes[g % shapes.len()];
        lines.push(format!("goroutine {} [{state}]:", g + 1));
        lines.extend(frames.iter().map(|f| (*f).to_owned()));
        lines.push(format!(
            "created by github.com/acme/orders/worker.Start in goroutine {}",
            g / 10 + 1
        ));
        lines.push("\t/go/src/github.com/acme/orders/worker/start.go:31 +0x4a".to_owned());
        lines.push(String::new());
    }
    lines.pop();
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| cri(i, "stderr", l))
        .collect()
}

/// The stream key the CLI's pipeline uses: one byte, no allocation per line.
fn key(line: &LogLine) -> u8 {
    match line.stream.as_deref() {
        None => 0,
        Some("stdout") => 1,
        Some("stderr") => 2,
        Some(_) => 3,
    }
}

/// The CLI's read size: input reaches the decoder in reads of this many
/// bytes, which it splits into lines itself.
const READ_BYTES: usize = 1 << 16;

/// Decodes `input` as the CLI reads it and reassembles its lines into
/// `out`, calling `drain` after each read and at the end (with the decoder,
/// to give written texts back as the CLI's pipeline does).
fn reassemble_reads(
    input: &str,
    out: &mut Vec<Output<u8, LogLine>>,
    mut drain: impl FnMut(&mut Vec<Output<u8, LogLine>>, &mut Decoder),
) {
    let mut d = Decoder::new(Format::Auto, 4 << 20);
    let mut r: Reassembler<u8, LogLine> = Reassembler::new(Config::default());
    let push = |r: &mut Reassembler<u8, LogLine>, out: &mut Vec<_>, line: LogLine| {
        let now = line.time_nanos.unwrap_or(0);
        r.push(&key(&line), line, now, out);
    };
    for read in input.as_bytes().chunks(READ_BYTES) {
        d.push_bytes(read, &mut |line| push(&mut r, out, line));
        drain(out, &mut d);
    }
    d.finish_with(&mut |line| push(&mut r, out, line));
    // The dump's report leaves here, at the end of input.
    r.finish(out);
    drain(out, &mut d);
}

fn run(input: &str, emit: bool) -> usize {
    let mut out: Vec<Output<u8, LogLine>> = Vec::new();
    let mut buf = Vec::with_capacity(1 << 16);
    let mut shaper = Shaper::default();
    let mut written = 0;
    reassemble_reads(input, &mut out, |out, d| {
        for o in out.drain(..) {
            if emit {
                buf.clear();
                shaper.write_json(&o, &mut buf);
                written += buf.len();
            } else {
                written += 1;
            }
            match o {
                Output::Line(_, line) => d.recycle(line.text),
                Output::Report(_, r) => r.lines.into_iter().for_each(|l| d.recycle(l.text)),
            }
        }
    });
    written
}

/// Decoding alone, to tell its share of the per-line cost.
fn decode(input: &str) -> usize {
    let mut d = Decoder::new(Format::Auto, 4 << 20);
    let mut n = 0;
    for read in input.as_bytes().chunks(READ_BYTES) {
        d.push_bytes(read, &mut |l| n += l.text.len());
    }
    d.finish_with(&mut |l| n += l.text.len());
    n
}

/// The reassembler's outputs for `input`.
fn outputs(input: &str) -> Vec<Output<u8, LogLine>> {
    let mut out = Vec::new();
    let mut all = Vec::new();
    reassemble_reads(input, &mut out, |out, _| all.append(out));
    all
}

/// Parses and writes every output, as `run` does.
fn emit(outputs: &[Output<u8, LogLine>]) -> usize {
    let mut buf = Vec::with_capacity(1 << 16);
    let mut shaper = Shaper::default();
    let mut written = 0;
    for o in outputs {
        buf.clear();
        shaper.write_json(o, &mut buf);
        written += buf.len();
    }
    written
}

fn bench(c: &mut Criterion) {
    for (name, input) in [
        ("ordinary_traffic", ordinary_traffic()),
        ("dump_5000_goroutines", big_dump()),
    ] {
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Bytes(input.len() as u64));
        g.sample_size(20);
        g.bench_function("decode", |b| b.iter(|| decode(black_box(&input))));
        g.bench_function("decode+reassemble", |b| {
            b.iter(|| run(black_box(&input), false))
        });
        g.bench_function("decode+reassemble+parse+emit", |b| {
            b.iter(|| run(black_box(&input), true))
        });
        let outs = outputs(&input);
        g.bench_function("parse+emit", |b| b.iter(|| emit(black_box(&outs))));
        g.finish();
    }
}

/// The parser alone, on the lines of the dump's one report (no container
/// decoding, no reassembling, no record).
fn bench_parse(c: &mut Criterion) {
    let dump = big_dump();
    let lines: Vec<&str> = dump
        .lines()
        .map(|l| l.splitn(4, ' ').nth(3).unwrap_or_default())
        .collect();
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.sample_size(20);
    g.bench_function("dump_5000_goroutines", |b| {
        b.iter(|| parse(Event::FatalError, black_box(&lines)).goroutines.len())
    });
    g.finish();
}

// The criterion groups: the stages on two inputs, and parsing alone.
criterion_group!(benches, bench, bench_parse);
criterion_main!(benches);
