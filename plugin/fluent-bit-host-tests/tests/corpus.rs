//! The whole fixture corpus through the built `.wasm`, as Fluent Bit calls
//! it, in CRI and docker form, compared with the native core.

// Tests assert by panicking; clippy's restriction lints are for host code.
#![allow(clippy::restriction)]

use std::path::Path;

use gopanic::container::Format;
use gopanic::reassembler::{Output, Reassembler};
use gopanic::record::Shaper;
use gopanic_fluent_bit::settings::Settings;
use gopanic_fluent_bit_host_tests::corpus::{Idx, Input, corpus, inputs, joined_records};
use gopanic_fluent_bit_host_tests::{Emitted, Host, Outcome, Pipeline, TICK_TAG, fluent_json};
use serde_json::{Map, Value};

/// The native core's records for the same input, with the module's default
/// settings: reports shaped from the first line's record, ordinary lines as
/// they came.
fn native(inputs: &[Input]) -> (Vec<Value>, Vec<Value>) {
    let settings = Settings::default();
    let mut r: Reassembler<String, Idx> = Reassembler::new(settings.core());
    let mut out = Vec::new();
    for (i, inp) in inputs.iter().enumerate() {
        r.push(
            &inp.stream,
            Idx {
                text: inp.text.clone(),
                i,
            },
            inp.time_ns,
            &mut out,
        );
    }
    r.finish(&mut out);
    let mut shaper = Shaper::new(settings.profile, settings.record_limits(0));
    let (mut reports, mut lines) = (Vec::new(), Vec::new());
    for o in out {
        match o {
            Output::Line(_, l) => lines.push(Value::Object(inputs[l.i].record.clone())),
            Output::Report(_, rep) => {
                let base = inputs[rep.lines[0].i].record.clone();
                // The module's budget: the tag around the record.
                shaper.limits = settings.record_limits(TAG.len());
                let mut rec = shaper.shape_report(&rep).to_map(&base);
                strip_report_id(&mut rec);
                reports.push(Value::Object(rec));
            }
        }
    }
    (reports, lines)
}

/// Report ids differ by design (the module salts them per instance).
fn strip_report_id(rec: &mut Map<String, Value>) {
    rec.remove("go_report_id");
    if let Some(Value::Object(go)) = rec.get_mut("go") {
        go.remove("report_id");
    }
}

fn canon(mut v: Vec<Value>) -> Vec<String> {
    let mut s: Vec<String> = v.drain(..).map(|v| v.to_string()).collect();
    s.sort();
    s
}

const TAG: &str = "kube.var.log.containers.app";

/// Runs one fixture through the reassemble pipeline with a heartbeat every
/// 500 ms of input time, then heartbeats until everything has left.
fn run_reassemble(inputs: &[Input]) -> Pipeline {
    let mut p = Pipeline::new("gopanic_reassemble");
    let period = 500_000_000;
    let mut next_tick = inputs.first().map_or(0, |i| i.time_ns) + period;
    for inp in inputs {
        while next_tick <= inp.time_ns {
            p.tick(next_tick);
            next_tick += period;
        }
        p.record(TAG, inp.time_ns, &fluent_json(&inp.record));
    }
    // The deep-stack idle timeout is 10 s: 30 quiet heartbeats after that.
    let end = next_tick + 12_000_000_000;
    let mut quiet = 0;
    while next_tick < end || quiet < 30 {
        quiet = if p.tick(next_tick) { 0 } else { quiet + 1 };
        next_tick += period;
        assert!(next_tick < end + 3_600_000_000_000, "queue never drained");
    }
    p
}

fn time_of(rec: &Map<String, Value>) -> Option<i64> {
    gopanic::time::parse_rfc3339_nanos(rec.get("time")?.as_str()?)
}

fn check_reassemble(dir: &Path, format: Format) -> (usize, usize) {
    let name = format!("{} {format:?}", dir.display());
    let inputs = inputs(dir, format);
    let p = run_reassemble(&inputs);
    assert!(p.errors.is_empty(), "{name}: {:?}", p.errors);
    assert_eq!(p.loops, 0, "{name}: re-emitted records changed on re-entry");

    let (mut reports, mut lines) = (Vec::new(), Vec::new());
    let mut lines_out = 0u64;
    for Emitted {
        tag,
        time_ns,
        record,
    } in &p.out
    {
        assert_eq!(tag, TAG, "{name}: a record left under {tag}: {record:?}");
        let mut rec = record.clone();
        for k in [
            "gopanic_tag",
            "gopanic_reemitted",
            "gopanic_closed",
            "gopanic_overflow",
        ] {
            if k != "gopanic_tag" && k != "gopanic_reemitted" {
                assert!(rec.get(k).is_none(), "{name}: unexpected {k}");
            }
            rec.remove(k);
        }
        // The timestamp is the (first) line's own.
        if let Some(t) = time_of(&rec) {
            assert_eq!(*time_ns, t, "{name}: timestamp not kept/restored: {rec:?}");
        }
        if rec.contains_key("go") {
            lines_out += rec["go"]["lines"].as_u64().unwrap();
            strip_report_id(&mut rec);
            reports.push(Value::Object(rec));
        } else {
            lines_out += 1;
            lines.push(Value::Object(rec));
        }
    }
    // Conservation: every input line leaves exactly once.
    assert_eq!(lines_out, inputs.len() as u64, "{name}: conservation");
    let (want_reports, want_lines) = native(&inputs);
    let (got_c, want_c) = (canon(reports.clone()), canon(want_reports.clone()));
    if got_c != want_c {
        let pairs: Vec<(&String, &String)> =
            got_c.iter().zip(&want_c).filter(|(a, b)| a != b).collect();
        let diff = pairs.first().map(|(a, b)| {
            let (a, b): (Value, Value) = (
                serde_json::from_str(a).unwrap(),
                serde_json::from_str(b).unwrap(),
            );
            let keys: Vec<String> = a["go"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(k, v)| b["go"].get(k.as_str()) != Some(v))
                .map(|(k, _)| k.clone())
                .collect();
            format!(
                "go members differing: {keys:?}; cut {} vs {}",
                a["go"]["cut"], b["go"]["cut"]
            )
        });
        panic!(
            "{name}: reports differ from the native core ({} vs {}): {diff:?}",
            got_c.len(),
            want_c.len()
        );
    }
    assert_eq!(
        canon(lines),
        canon(want_lines),
        "{name}: ordinary lines differ"
    );
    (want_reports.len(), inputs.len())
}

#[test]
fn reassemble_matches_the_core_on_the_whole_corpus_cri_and_docker() {
    let (mut runs, mut reports, mut lines) = (0, 0, 0);
    for dir in corpus() {
        for format in [Format::Cri, Format::Docker] {
            let (r, l) = check_reassemble(&dir, format);
            runs += 1;
            reports += r;
            lines += l;
        }
    }
    eprintln!("reassemble: {runs} runs, {lines} lines, {reports} reports, all equal to the core");
}

#[test]
fn enrich_matches_the_core_on_the_whole_corpus() {
    let mut host = Host::new("gopanic_enrich");
    let (mut records, mut enriched, mut cut) = (0, 0, 0);
    for dir in corpus() {
        for format in [Format::Cri, Format::Docker] {
            let inputs = inputs(&dir, format);
            // What Fluent Bit's multiline filter would hand on: reports
            // joined into the first line's record, other lines as they are.
            for (rec, is_report) in joined_records(&inputs) {
                let settings = Settings::default();
                let want =
                    Shaper::new(settings.profile, settings.record_limits(0)).enrich(rec.clone());
                assert_eq!(want.is_some(), is_report || want.is_some());
                let got = host.call(TAG, 1, 2, &fluent_json(&rec));
                let Outcome::Record(got) = got else {
                    panic!("{}: dropped: {got:?}", dir.display());
                };
                records += 1;
                match want {
                    Some(w)
                        if serde_json::to_vec(&w).unwrap().len() > settings.max_record_bytes =>
                    {
                        // One record in, one out: the text is cut to fit.
                        enriched += 1;
                        cut += 1;
                        let bytes = serde_json::to_vec(&got).unwrap().len();
                        assert!(
                            bytes <= settings.max_record_bytes,
                            "{}: {bytes}",
                            dir.display()
                        );
                        let (full, kept) =
                            (w["log"].as_str().unwrap(), got["log"].as_str().unwrap());
                        assert!(full.starts_with(kept), "{}", dir.display());
                        assert_eq!(got["go"]["text_cut_bytes"], full.len() - kept.len());
                        assert_eq!(got["go"]["fingerprint"], w["go"]["fingerprint"]);
                    }
                    Some(w) => {
                        enriched += 1;
                        assert_eq!(got, w, "{}", dir.display());
                    }
                    None => assert_eq!(got, rec, "{}", dir.display()),
                }
                if is_report {
                    assert!(
                        got.contains_key("go"),
                        "{}: report not enriched",
                        dir.display()
                    );
                }
            }
        }
    }
    eprintln!(
        "enrich: {records} records in and out, {enriched} enriched, equal to the core but {cut} cut to the record bound"
    );
    assert!(
        cut >= 2,
        "the busy_server report, CRI and docker, is over the bound"
    );
}

#[test]
fn heartbeats_alone_are_dropped_and_nothing_stays_under_the_tick_tag() {
    let mut p = Pipeline::new("gopanic_reassemble");
    for i in 0..10 {
        assert!(!p.tick(i * 500_000_000));
    }
    assert!(p.out.iter().all(|e| e.tag != TICK_TAG));
    assert!(p.errors.is_empty());
}
