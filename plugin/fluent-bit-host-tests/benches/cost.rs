//! Per-record cost of the filter functions in wasmtime, each called as
//! Fluent Bit calls it (copies through the module's malloc, result read
//! back), relative to `gopanic_passthrough` in the same run.
//!
//! `cargo bench -p gopanic-fluent-bit-host-tests --bench cost`

// A measuring tool: a failed step stops it with its message.
#![allow(clippy::restriction)]

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use gopanic::container::Format;
use gopanic_fluent_bit_host_tests::corpus::{corpus, inputs};
use gopanic_fluent_bit_host_tests::{Host, TICK_RECORD, TICK_TAG, fluent_json, service_records};

const FUNCTIONS: [&str; 3] = [
    "gopanic_passthrough",
    "gopanic_enrich",
    "gopanic_reassemble",
];

/// The fixture corpus (CRI), crash-heavy: about one line in ten is ordinary.
fn corpus_records() -> Vec<(i64, Vec<u8>)> {
    corpus()
        .iter()
        .flat_map(|d| inputs(d, Format::Cri))
        .map(|i| (i.time_ns, fluent_json(&i.record)))
        .collect()
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let service = service_records(2_000);
    let crashes = corpus_records();

    let mut g = c.benchmark_group("service_lines");
    g.throughput(Throughput::Elements(service.len() as u64));
    for f in FUNCTIONS {
        let mut host = Host::new(f);
        g.bench_function(f, |b| {
            b.iter(|| {
                for r in &service {
                    black_box(host.call("kube.orders", 1_800_000_000, 0, r));
                }
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("crash_corpus");
    g.sample_size(10);
    g.throughput(Throughput::Elements(crashes.len() as u64));
    for f in FUNCTIONS {
        let mut host = Host::new(f);
        g.bench_function(f, |b| {
            b.iter(|| {
                let mut next_tick = 0i64;
                for (t, r) in &crashes {
                    let (s, n) = ((t / 1_000_000_000) as u32, (t % 1_000_000_000) as u32);
                    black_box(host.call("kube.app", s, n, r));
                    if *t >= next_tick {
                        black_box(host.call(TICK_TAG, s, n, TICK_RECORD.as_bytes()));
                        next_tick = t + 500_000_000;
                    }
                }
            })
        });
    }
    g.finish();
    c.final_summary();
}
