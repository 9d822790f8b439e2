//! Hostile input through the built `.wasm`: the module must never trap and
//! never turn a valid record into an invalid one.

// Tests assert by panicking; clippy's restriction lints are for host code.
#![allow(clippy::restriction)]

use gopanic::container::Format;
use gopanic_fluent_bit_host_tests::corpus::{corpus, inputs};
use gopanic_fluent_bit_host_tests::{Drop, Host, Outcome, Pipeline, fluent_json};
use serde_json::{Map, Value, json};

const FUNCTIONS: [&str; 3] = [
    "gopanic_enrich",
    "gopanic_reassemble",
    "gopanic_passthrough",
];

/// xorshift64*: reproducible without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Strict JSON grammar, any depth (serde_json stops at 128 levels and at
/// lone surrogate escapes, which JSON's grammar allows).
fn is_object(bytes: &[u8]) -> bool {
    gopanic_fluent_bit::json::object_members(bytes).is_some()
}

/// Calls and checks: no trap; a valid record never comes back invalid; an
/// invalid one comes back unchanged (Fluent Bit then drops it itself).
fn check(host: &mut Host, f: &str, tag: &str, record: &[u8], rng: &mut Rng) {
    let (sec, nsec) = match rng.below(4) {
        0 => (0, 0),
        1 => (u32::MAX, 999_999_999),
        _ => (
            1_800_000_000 + rng.below(1000) as u32,
            rng.below(1_000_000_000) as u32,
        ),
    };
    let out = host.call(tag, sec, nsec, record);
    assert!(
        !out.is_trap(),
        "{f} trapped on {} bytes: {out:?}",
        record.len()
    );
    if is_object(record) {
        let ok = match &out {
            Outcome::Record(_) | Outcome::Dropped(Drop::Empty) => true,
            Outcome::Dropped(Drop::NotAnObject(_)) => is_object(&host.last_raw),
            Outcome::Dropped(_) => false,
        };
        assert!(
            ok,
            "{f} broke a valid record: {out:?}\n{}",
            String::from_utf8_lossy(&record[..record.len().min(300)])
        );
    } else if !record.contains(&0) && host.last_raw != record {
        // JSON grammar allows lone surrogate escapes that serde rejects;
        // the module reads them as U+FFFD and may return a valid record.
        assert!(
            is_object(&host.last_raw),
            "{f} changed an invalid record into another invalid one:\n{}\n{}",
            String::from_utf8_lossy(record),
            String::from_utf8_lossy(&host.last_raw)
        );
    }
}

fn samples() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"{}".to_vec(),
        b"[]".to_vec(),
        b"null".to_vec(),
        b"{\"log\":".to_vec(),
        br#"{"log":"panic: x","gopanic_tick":true}"#.to_vec(),
        br#"{"gopanic_tick":1}"#.to_vec(),
        br#"{"gopanic_reemitted":"yes","log":"panic: y"}"#.to_vec(),
        br#"{"log":"panic: \ud800\udfff\ud800 \u0000 \u001f","stream":"stderr"}"#.to_vec(),
        br#"{"log":"goroutine 1 [running]:","time":"not a time","stream":7}"#.to_vec(),
        br#"{"message":"fatal error: all goroutines are asleep - deadlock!","log":{"a":1}}"#
            .to_vec(),
    ];
    let deep = format!(
        "{{\"log\":\"panic: x\",\"k\":{}1{}}}",
        "[".repeat(1_000_000),
        "]".repeat(1_000_000)
    );
    v.push(deep.into_bytes());
    v.push(format!("{{\"log\":{}", "{\"a\":".repeat(100_000)).into_bytes());
    // A 8 MiB line and a 3 MB record of many members.
    v.push(format!("{{\"log\":\"panic: {}\"}}", "x".repeat(8 << 20)).into_bytes());
    let mut many = Map::new();
    for i in 0..100_000 {
        many.insert(format!("k{i}"), json!(i));
    }
    many.insert("log".into(), json!("panic: many"));
    v.push(fluent_json(&many));
    v
}

#[test]
fn no_trap_on_hostile_records() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let corpus_records: Vec<Vec<u8>> = corpus()
        .iter()
        .take(12)
        .flat_map(|d| inputs(d, Format::Cri))
        .map(|i| fluent_json(&i.record))
        .collect();
    for f in FUNCTIONS {
        let mut host = Host::new(f);
        for s in samples() {
            check(&mut host, f, "app", &s, &mut rng);
            check(&mut host, f, "gopanic.tick", &s, &mut rng);
        }
        for _ in 0..3_000 {
            let len = rng.below(2048) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            check(&mut host, f, "app", &bytes, &mut rng);
            // Mutated and truncated real records.
            let base = &corpus_records[rng.below(corpus_records.len() as u64) as usize];
            let mut m = base.clone();
            for _ in 0..rng.below(4) {
                let at = rng.below(m.len() as u64) as usize;
                const POOL: &[u8] = b"{}[]\",:\\u0aZ\xff ";
                m[at] = POOL[rng.below(POOL.len() as u64) as usize];
            }
            m.truncate(m.len() - rng.below(3) as usize * rng.below(m.len() as u64) as usize / 2);
            let tag = ["app", "", "gopanic.tick", "a\u{e9}"][rng.below(4) as usize];
            check(&mut host, f, tag, &m, &mut rng);
            check(&mut host, f, "app", base, &mut rng);
        }
        // A record the host could not copy arrives as NULL: the module says so.
        host.fail_next_copy = true;
        let out = host.call("app", 1, 2, br#"{"log":"lost"}"#);
        let rec = out.record().expect("an error record, not a drop");
        assert!(
            rec["gopanic_error"]
                .as_str()
                .unwrap()
                .contains("could not copy")
        );
        eprintln!(
            "{f}: memory after fuzzing {} MiB",
            host.memory_bytes() >> 20
        );
    }
}

#[test]
fn a_report_past_the_bounds_leaves_in_parts_under_the_record_bound_without_loss() {
    // 100,100 lines, 1.6 MB: past the core's 100,000-line bound and far
    // past the record bound (Loki's 262,144 bytes by default).
    let mut p = Pipeline::new("gopanic_reassemble");
    let t0 = 1_800_000_000_000_000_000i64;
    let mut lines = vec!["fatal error: all goroutines are asleep - deadlock!".to_owned()];
    let mut id = 1;
    while lines.len() < 100_100 {
        lines.push(String::new());
        lines.push(format!("goroutine {id} [select]:"));
        lines.push("main.loop()".into());
        lines.push("\t/app/main.go:30 +0x1".into());
        id += 1;
    }
    for (i, l) in lines.iter().enumerate() {
        let t = t0 + i as i64 * 1_000;
        let rec = json!({"time": gopanic::time::rfc3339_nanos(t), "stream": "stderr", "log": l});
        p.record("app", t, &fluent_json(rec.as_object().unwrap()));
    }
    let mut t = t0 + 1_000_000_000;
    let mut quiet = 0;
    while quiet < 5 {
        quiet = if p.tick(t) { 0 } else { quiet + 1 };
        t += 500_000_000;
    }
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    let parts: Vec<&Map<String, Value>> = p.out.iter().map(|e| &e.record).collect();
    for r in &parts {
        assert!(
            r.contains_key("go"),
            "not a report: {:?}",
            r.get("log")
                .and_then(Value::as_str)
                .map(|s| &s[..s.len().min(200)])
        );
    }
    assert!(parts.len() > 6, "{} parts", parts.len());
    let total: u64 = parts
        .iter()
        .map(|r| r["go"]["lines"].as_u64().unwrap())
        .sum();
    assert_eq!(total, lines.len() as u64);
    let text: Vec<&str> = parts.iter().map(|r| r["log"].as_str().unwrap()).collect();
    assert_eq!(text.join("\n"), lines.join("\n"));
    for (i, r) in parts.iter().enumerate() {
        let bytes = serde_json::to_vec(r).unwrap().len();
        assert!(bytes <= 262_144, "part {i}: {bytes} bytes");
        assert_eq!(r["go"]["truncated"], true);
        assert_eq!(r["go"]["part"], i + 1);
        assert_eq!(r["go"]["report_id"], parts[0]["go"]["report_id"]);
        assert_eq!(r["go"]["class"], "deadlock");
    }
}

#[test]
fn interleaved_tags_and_random_heartbeats_conserve_every_line() {
    let mut rng = Rng(42);
    let dirs = corpus();
    let mut p = Pipeline::new("gopanic_reassemble");
    let mut lines_in = 0u64;
    for round in 0..6 {
        // Three containers writing at once, heartbeats at random moments.
        let mut streams: Vec<(String, Vec<Vec<u8>>)> = (0..3)
            .map(|k| {
                let d = &dirs[rng.below(dirs.len() as u64) as usize];
                let fmt = if k % 2 == 0 {
                    Format::Cri
                } else {
                    Format::Docker
                };
                let recs = inputs(d, fmt)
                    .iter()
                    .map(|i| fluent_json(&i.record))
                    .collect();
                (format!("app.{round}.{k}"), recs)
            })
            .collect();
        let mut t = 1_800_000_000_000_000_000i64 + round * 3_600_000_000_000;
        for s in &mut streams {
            s.1.reverse();
        }
        while streams.iter().any(|s| !s.1.is_empty()) {
            let k = rng.below(3) as usize;
            if let Some(rec) = streams[k].1.pop() {
                t += rng.below(50_000_000) as i64;
                p.record(&streams[k].0, t, &rec);
                lines_in += 1;
            }
            if rng.below(20) == 0 {
                p.tick(t);
            }
        }
        let end = t + 15_000_000_000;
        while t < end {
            t += 500_000_000;
            p.tick(t);
        }
    }
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(p.loops, 0);
    let lines_out: u64 = p
        .out
        .iter()
        .map(|e| {
            assert!(e.tag.starts_with("app."), "left under {}", e.tag);
            e.record
                .get("go")
                .map_or(1, |g| g["lines"].as_u64().unwrap())
        })
        .sum();
    assert_eq!(lines_out, lines_in, "conservation");
}

/// One container's records: its tag, and (time, record) in order.
type Container = (String, Vec<(i64, Vec<u8>)>);

/// Runs records of several containers, interleaved at random, with random
/// heartbeats, then drains; returns each tag's records (helper members
/// removed, canonical JSON) in the order they left.
fn run_interleaved(
    rng: &mut Rng,
    streams: Vec<Container>,
) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut p = Pipeline::new("gopanic_reassemble");
    let mut streams = streams;
    for s in &mut streams {
        s.1.reverse();
    }
    let mut now = 0;
    while streams.iter().any(|s| !s.1.is_empty()) {
        let k = rng.below(streams.len() as u64) as usize;
        if let Some((t, rec)) = streams[k].1.pop() {
            now = now.max(t);
            p.record(&streams[k].0, t, &rec);
        }
        if rng.below(10) == 0 {
            p.tick(now);
        }
    }
    let mut quiet = 0;
    while quiet < 30 {
        now += 500_000_000;
        quiet = if p.tick(now) { 0 } else { quiet + 1 };
    }
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(p.loops, 0);
    let mut by_tag = std::collections::BTreeMap::<String, Vec<String>>::new();
    for e in p.out {
        let mut r = e.record;
        for k in ["gopanic_tag", "gopanic_reemitted", "gopanic_time"] {
            r.remove(k);
        }
        by_tag
            .entry(e.tag)
            .or_default()
            .push(format!("{} {}", e.time_ns, Value::Object(r)));
    }
    for v in by_tag.values_mut() {
        v.sort();
    }
    by_tag
}

/// Lines the host hands over in pieces come out exactly as the same lines
/// handed over whole. The runtime writes a long line in 16 KiB chunks (CRI
/// `P`… `F`; docker without the newline until the last); Fluent Bit's
/// `cri`/`docker` multiline parser joins them, but under load flushes what
/// it holds after a timeout, so it hands over runs of consecutive chunks,
/// each run keeping its first chunk's `_p`. The runs here are cut at random
/// chunk boundaries.
#[test]
fn chunks_at_random_boundaries_merge_into_the_same_records() {
    const CHUNK: usize = 16_384;
    let mut rng = Rng(7);
    let dirs = corpus();
    for round in 0..4 {
        let mut whole = Vec::new();
        let mut chunked = Vec::new();
        for k in 0..3 {
            let d = &dirs[rng.below(dirs.len() as u64) as usize];
            let fmt = if (round + k) % 2 == 0 {
                Format::Cri
            } else {
                Format::Docker
            };
            let tag = format!("app.{round}.{k}");
            let (mut w, mut c) = (Vec::new(), Vec::new());
            for inp in inputs(d, fmt) {
                if rng.below(3) != 0 {
                    w.push((inp.time_ns, fluent_json(&inp.record)));
                    c.push((inp.time_ns, fluent_json(&inp.record)));
                    continue;
                }
                // A long line: padded to one to four chunks and more.
                let log = inp.record["log"].as_str().unwrap().to_owned();
                let pad = CHUNK * (1 + rng.below(3) as usize) + rng.below(CHUNK as u64) as usize;
                let long = format!("{}{log}", "d".repeat(pad));
                let docker = fmt == Format::Docker;
                let mut r = inp.record.clone();
                r.insert("log".into(), json!(long));
                if !docker {
                    // As Fluent Bit joins it: the first chunk's tag.
                    r.insert("_p".into(), json!("P"));
                }
                w.push((inp.time_ns, fluent_json(&r)));
                // The runtime's chunks (docker's keep the newline at the end).
                let body = long.strip_suffix('\n').unwrap_or(&long);
                let pieces: Vec<&str> = body
                    .as_bytes()
                    .chunks(CHUNK)
                    .map(|c| std::str::from_utf8(c).unwrap())
                    .collect();
                let n = pieces.len();
                let mut from = 0;
                while from < n {
                    let to = from + 1 + rng.below((n - from) as u64) as usize;
                    let mut text: String = pieces[from..to].concat();
                    let last = to == n;
                    if docker && last {
                        text.push('\n');
                    }
                    let mut r = inp.record.clone();
                    r.insert("log".into(), json!(text));
                    if !docker {
                        // A run keeps its first chunk's tag.
                        r.insert("_p".into(), json!(if from + 1 == n { "F" } else { "P" }));
                    }
                    c.push((inp.time_ns, fluent_json(&r)));
                    from = to;
                }
            }
            whole.push((tag.clone(), w));
            chunked.push((tag, c));
        }
        let count = |v: &Vec<Container>| v.iter().map(|s| s.1.len()).sum::<usize>();
        assert!(
            count(&chunked) > count(&whole),
            "round {round}: lines were cut"
        );
        let a = run_interleaved(&mut Rng(round + 1), whole);
        let b = run_interleaved(&mut Rng(round + 1), chunked);
        assert_eq!(a.len(), b.len(), "round {round}: tags");
        for (tag, recs) in &a {
            let other = &b[tag];
            assert_eq!(recs.len(), other.len(), "round {round} {tag}: record count");
            for (x, y) in recs.iter().zip(other) {
                let (tx, jx) = x.split_once(' ').unwrap();
                let (ty, jy) = y.split_once(' ').unwrap();
                assert_eq!(tx, ty, "round {round} {tag}: time");
                let (vx, vy): (Value, Value) = (
                    serde_json::from_str(jx).unwrap(),
                    serde_json::from_str(jy).unwrap(),
                );
                assert!(vx == vy, "round {round} {tag}: {jx:.300} != {jy:.300}");
            }
        }
    }
}
