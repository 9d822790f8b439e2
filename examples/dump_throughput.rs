//! Throughput of gopanic on one plain-text goroutine dump, for
//! `benches/gostackparse.sh`, which runs it beside DataDog's gostackparse on
//! the same file in the same run.
//!
//! ```text
//! cargo run --release --example dump_throughput -- <dump.txt> <iterations> <parse|emit>
//! ```
//!
//! `parse` splits the text into lines and parses them as one report into a
//! `Crash` (goroutines, frames, created-by): the work gostackparse does.
//! `emit` is the whole path a host runs: decode, reassemble, parse,
//! classify, fingerprint and write the JSON records.
//! Prints one JSON object: CPU seconds per iteration and MiB per CPU second.

// A measuring tool: a failed step stops it with its message.
#![allow(clippy::restriction)]

use gopanic::pipeline::{Options, Pipeline};
use std::hint::black_box;

/// CPU time this (single-threaded) process has run, from the kernel's
/// scheduler statistics (nanoseconds), so that the figure does not depend on
/// what else the machine runs.
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map(|ns| ns as f64 / 1e9)
        .unwrap_or_else(|| {
            eprintln!("/proc/self/schedstat unreadable: CPU time needs Linux");
            std::process::exit(1)
        })
}

fn parse_only(text: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let crash = gopanic::parse::parse(gopanic::Event::Panic, &lines);
    crash.goroutines.len()
}

fn emit(text: &str, buf: &mut Vec<u8>) -> usize {
    let mut p = Pipeline::new(&Options::default());
    let mut written = 0;
    for line in text.lines() {
        p.push_raw(line);
        buf.clear();
        p.drain_json(buf, b'\n');
        written += buf.len();
    }
    p.finish();
    buf.clear();
    p.drain_json(buf, b'\n');
    written + buf.len()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, path, n, mode] = args.as_slice() else {
        eprintln!("usage: dump_throughput <dump.txt> <iterations> <parse|emit>");
        std::process::exit(2);
    };
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(1)
    });
    let n: usize = n.parse().ok().filter(|&n| n > 0).unwrap_or_else(|| {
        eprintln!("iterations must be a positive integer");
        std::process::exit(2)
    });
    let mut buf = Vec::with_capacity(1 << 20);
    let mut result = 0;
    let start = cpu_seconds();
    for _ in 0..n {
        result = match mode.as_str() {
            "parse" => parse_only(black_box(&text)),
            "emit" => emit(black_box(&text), &mut buf),
            _ => {
                eprintln!("mode must be parse or emit");
                std::process::exit(2)
            }
        };
    }
    let per_iteration = (cpu_seconds() - start) / n as f64;
    println!(
        "{{\"tool\":\"gopanic\",\"mode\":\"{mode}\",\"bytes\":{},\"result\":{result},\"cpu_s\":{per_iteration},\"mib_s\":{}}}",
        text.len(),
        text.len() as f64 / per_iteration / f64::from(1 << 20)
    );
}
