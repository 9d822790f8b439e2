//! Writes the calls the host-faithful tests make, as a trace another host
//! can replay (one call a line: `tag TAB time_sec TAB time_nsec TAB record`,
//! `NULL` for a record whose copy failed). Used to measure the smallest
//! `wasm_stack_size` under a real WAMR build; see the filter's README.
//!
//! `cargo run -p gopanic-fluent-bit-host-tests --example trace -- reassemble|enrich > trace.tsv`
//!
//! Two more modes write the cost benchmark's inputs, for timing under
//! another host: `service` (100,000 ordinary service lines, tag
//! `kube.orders`) and `corpus` (the fixture corpus in CRI form, one tag,
//! a heartbeat every 500 ms: crash-heavy).

// A measuring tool: a failed step stops it with its message.
#![allow(clippy::restriction)]

use std::io::{BufWriter, Write};

use gopanic::container::Format;
use gopanic_fluent_bit_host_tests::corpus::{corpus, inputs, joined_records};
use gopanic_fluent_bit_host_tests::{TICK_RECORD, TICK_TAG, fluent_json, service_records};
use serde_json::{Map, Value, json};

fn line(w: &mut impl Write, tag: &str, ns: i64, record: &[u8]) {
    let _ = write!(w, "{tag}\t{}\t{}\t", ns / 1_000_000_000, ns % 1_000_000_000);
    let _ = w.write_all(record);
    let _ = w.write_all(b"\n");
}

/// A `GOTRACEBACK=all` dump of `n` goroutines, as lines.
pub fn big_dump(n: usize) -> Vec<String> {
    let mut l = vec!["fatal error: all goroutines are asleep - deadlock!".to_owned()];
    for id in 1..=n {
        l.push(String::new());
        l.push(format!(
            "goroutine {id} [chan receive, {} minutes]:",
            id % 7
        ));
        l.push(format!(
            "main.worker{}(0xc000010000, {{0x1, 0x2}})",
            id % 13
        ));
        l.push(format!("\t/app/worker.go:{} +0x90", 20 + id % 5));
        l.push("created by main.main in goroutine 1".to_owned());
        l.push("\t/app/main.go:8 +0x25".to_owned());
    }
    l
}

fn main() {
    let mode = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "reassemble".into());
    let stdout = std::io::stdout();
    let mut w = BufWriter::new(stdout.lock());
    let mut t = 1_700_000_000_000_000_000i64;
    if mode == "service" {
        for (i, r) in service_records(100_000).iter().enumerate() {
            line(
                &mut w,
                "kube.orders",
                1_800_000_000_000_000_000 + i as i64,
                r,
            );
        }
        return;
    }
    if mode == "corpus" {
        // As the cost benchmark's crash_corpus group.
        let mut next_tick = 0i64;
        for dir in corpus() {
            for i in inputs(&dir, Format::Cri) {
                line(&mut w, "kube.app", i.time_ns, &fluent_json(&i.record));
                if i.time_ns >= next_tick {
                    line(&mut w, TICK_TAG, i.time_ns, TICK_RECORD.as_bytes());
                    next_tick = i.time_ns + 500_000_000;
                }
            }
        }
        return;
    }
    for dir in corpus() {
        for format in [Format::Cri, Format::Docker] {
            let tag = format!("kube.{}.{format:?}", dir.display()).replace('/', ".");
            let inputs = inputs(&dir, format);
            if mode == "reassemble" {
                // Times shifted onto one clock; a heartbeat every 500 ms.
                let shift = t - inputs.first().map_or(0, |i| i.time_ns);
                let mut next_tick = t + 500_000_000;
                for inp in &inputs {
                    let now = inp.time_ns + shift;
                    while next_tick <= now {
                        line(&mut w, TICK_TAG, next_tick, TICK_RECORD.as_bytes());
                        next_tick += 500_000_000;
                    }
                    line(&mut w, &tag, now, &fluent_json(&inp.record));
                }
                for _ in 0..40 {
                    line(&mut w, TICK_TAG, next_tick, TICK_RECORD.as_bytes());
                    next_tick += 500_000_000;
                }
                t = next_tick;
            } else {
                for (rec, _) in joined_records(&inputs) {
                    line(&mut w, &tag, t, &fluent_json(&rec));
                }
            }
        }
    }
    // Worst cases beyond the corpus.
    let tag = "kube.worst";
    let dump = big_dump(5_000);
    if mode == "reassemble" {
        for l in &dump {
            t += 1_000;
            let rec: Map<String, Value> = [
                ("time".to_owned(), json!(gopanic::time::rfc3339_nanos(t))),
                ("stream".to_owned(), json!("stderr")),
                ("log".to_owned(), json!(l)),
            ]
            .into_iter()
            .collect();
            line(&mut w, tag, t, &fluent_json(&rec));
        }
        for _ in 0..40 {
            t += 500_000_000;
            line(&mut w, TICK_TAG, t, TICK_RECORD.as_bytes());
        }
    } else {
        line(
            &mut w,
            tag,
            t,
            &fluent_json(
                &[("log".to_owned(), json!(dump.join("\n")))]
                    .into_iter()
                    .collect(),
            ),
        );
    }
    let huge = "x".repeat(4 << 20);
    line(&mut w, tag, t, format!("{{\"log\":\"{huge}\"}}").as_bytes());
    let deep = format!(
        "{{\"log\":\"panic: x\",\"k\":{}1{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    line(&mut w, tag, t, deep.as_bytes());
    line(&mut w, tag, t, b"{\"log\":\"panic: broken");
    line(&mut w, tag, t, b"NULL");
    line(
        &mut w,
        tag,
        t,
        br#"{"log":"panic: caf\u00e9 \ud83d\ude00","stream":"stderr"}"#,
    );
    for _ in 0..40 {
        t += 500_000_000;
        line(&mut w, TICK_TAG, t, TICK_RECORD.as_bytes());
    }
}
