//! Parsed fields against the fixture corpus: every record validates against
//! the schema files, every field the ground truth states is right, and the
//! fingerprint is the same for one program across Go versions and build
//! paths and differs between programs.

// Tests assert by panicking; clippy's restriction lints are for host code.
#![allow(clippy::restriction)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{Fixture, Indexed, decode, fixtures};
use gopanic::container::Format;
use gopanic::reassembler::{Config, Output, Reassembler, Report};
use gopanic::record::{Limits, Profile, Shaper};
use serde_json::Value;

/// All records of one fixture file, shaped with `profile`.
fn records(fx: &Fixture, file: &str, format: Format, profile: Profile) -> Vec<Value> {
    let raw = std::fs::read_to_string(fx.dir.join(file)).unwrap();
    let mut r: Reassembler<Option<String>, Indexed> = Reassembler::new(Config::default());
    let mut out = Vec::new();
    for (index, line) in decode(&raw, format).into_iter().enumerate() {
        let now = line.time_nanos.unwrap_or(index as i64 * 1_000);
        let key = line.stream.as_deref().map(str::to_owned);
        r.push(&key, Indexed { index, line }, now, &mut out);
    }
    r.finish(&mut out);
    let mut shaper = Shaper::new(profile, Limits::default());
    let mut buf = Vec::new();
    out.into_iter()
        .map(|o| {
            let o = match o {
                Output::Line(k, l) => Output::Line(k, l.line),
                Output::Report(k, rep) => Output::Report(
                    k,
                    Report {
                        event: rep.event,
                        lines: rep.lines.into_iter().map(|l| l.line).collect(),
                        kinds: rep.kinds,
                        split: rep.split,
                    },
                ),
            };
            buf.clear();
            shaper.write_json(&o, &mut buf);
            serde_json::from_slice(&buf).unwrap()
        })
        .collect()
}

fn report_records(fx: &Fixture) -> Vec<Value> {
    records(fx, "cri.log", Format::Cri, Profile::Default)
        .into_iter()
        .filter(|r| r.get("go").is_some())
        .collect()
}

fn validator(file: &str) -> jsonschema::Validator {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join(file);
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

#[test]
fn every_record_validates_against_the_schema() {
    let default = validator("record.schema.json");
    let ecs = validator("record-ecs.schema.json");
    let mut checked = 0;
    let mut failures = Vec::new();
    for fx in fixtures() {
        for (file, format) in [("cri.log", Format::Cri), ("plain.log", Format::Plain)] {
            for (profile, v) in [(Profile::Default, &default), (Profile::Ecs, &ecs)] {
                for rec in records(&fx, file, format, profile) {
                    checked += 1;
                    if let Some(e) = v.iter_errors(&rec).next() {
                        failures.push(format!(
                            "{} {file} {profile:?}: {e} at {}",
                            fx.name(),
                            e.instance_path()
                        ));
                    }
                }
            }
        }
    }
    assert!(checked > 1000, "only {checked} records");
    assert!(
        failures.is_empty(),
        "{} invalid records:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn schema_lists_exactly_the_class_vocabulary() {
    for file in ["record.schema.json", "record-ecs.schema.json"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("docs")
            .join(file);
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let classes: Vec<&str> = schema["$defs"]["go"]["properties"]["class"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(classes, gopanic::classify::CLASSES, "{file}");
    }
}

/// The ground truth's fields, where it states them, against the records.
#[test]
fn fields_match_the_ground_truth() {
    let mut failures = Vec::new();
    let mut stated = 0;
    for fx in fixtures() {
        let recs = report_records(&fx);
        let mut truth = fx.truth.reports.clone();
        truth.sort_by_key(|r| r.lines.first().copied());
        if recs.len() != truth.len() {
            failures.push(format!(
                "{}: {} records for {} reports",
                fx.name(),
                recs.len(),
                truth.len()
            ));
            continue;
        }
        for (rec, t) in recs.iter().zip(&truth) {
            let go = &rec["go"];
            let mut check = |what: &str, got: &Value, want: Value| {
                stated += 1;
                if *got != want {
                    failures.push(format!("{}: {what}: got {got}, want {want}", fx.name()));
                }
            };
            check("event", &go["event"], Value::from(t.event.as_str()));
            if let Some(c) = &t.class {
                check("class", &go["class"], Value::from(c.as_str()));
            }
            if let Some(f) = t.fatal {
                check("fatal", &go["fatal"], Value::from(f));
            }
            if let Some(r) = t.recoverable {
                check("recoverable", &go["recoverable"], Value::from(r));
            }
            if let Some(n) = t.goroutines {
                check("goroutines_total", &go["goroutines_total"], Value::from(n));
            }
            if let Some(id) = t.goroutine
                && t.goroutine_in_output != Some(false)
            {
                check("goroutine.id", &go["goroutine"]["id"], Value::from(id));
            }
            if let Some(f) = &t.top_frame {
                check(
                    "top_frame.function",
                    &go["top_frame"]["function"],
                    Value::from(f.function.as_str()),
                );
                check(
                    "top_frame.file",
                    &go["top_frame"]["file"],
                    Value::from(f.file.as_str()),
                );
            }
        }
    }
    assert!(stated > 200, "only {stated} fields stated by the truth");
    assert!(
        failures.is_empty(),
        "{} fields differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn fingerprints_are_stable_per_program_and_distinct_between_programs() {
    // program -> the fingerprints of each of its runs (one set per run).
    let mut by_program: BTreeMap<String, Vec<(String, BTreeSet<String>)>> = BTreeMap::new();
    for fx in fixtures() {
        let prints: BTreeSet<String> = report_records(&fx)
            .iter()
            .map(|r| r["go"]["fingerprint"].as_str().unwrap().to_owned())
            .collect();
        // GOTRACEBACK=none prints no frames: such a report fingerprints by
        // its message and is compared with the other none-level runs.
        let mut program = fx.program();
        if fx.truth.gotraceback == "none" {
            program.push_str(" (GOTRACEBACK=none)");
        }
        by_program
            .entry(program)
            .or_default()
            .push((fx.name(), prints));
    }
    let mut failures = Vec::new();
    for (program, runs) in &by_program {
        let first = &runs[0];
        for run in &runs[1..] {
            if run.1 != first.1 {
                failures.push(format!(
                    "{program}: {} {:?} vs {} {:?}",
                    first.0, first.1, run.0, run.1
                ));
            }
        }
    }
    // Two different programs never share a fingerprint.
    let mut owner: BTreeMap<String, &str> = BTreeMap::new();
    for (program, runs) in &by_program {
        let program = program.split(' ').next().unwrap_or(program);
        for fp in runs.iter().flat_map(|r| &r.1) {
            if let Some(other) = owner.insert(fp.clone(), program)
                && other != program
            {
                failures.push(format!("{fp} shared by {other} and {program}"));
            }
        }
    }
    assert!(by_program.len() >= 30);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// One field of ECS's own field list (`tests/data/ecs/ecs_flat.yml`).
struct EcsField {
    kind: String,
    array: bool,
    allowed: Vec<String>,
}

/// ECS's field list by flat name, and each `event.category` value's expected
/// `event.type` values.
fn ecs_fields() -> (BTreeMap<String, EcsField>, BTreeMap<String, Vec<String>>) {
    use yaml_rust2::YamlLoader;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ecs");
    let text = std::fs::read_to_string(dir.join("ecs_flat.yml")).unwrap();
    let doc = YamlLoader::load_from_str(&text).unwrap().remove(0);
    let strings = |y: &yaml_rust2::Yaml| -> Vec<String> {
        y.as_vec()
            .map(|v| {
                v.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut fields = BTreeMap::new();
    let mut expected = BTreeMap::new();
    for (name, f) in doc.as_hash().unwrap() {
        let name = name.as_str().unwrap().to_owned();
        let allowed_values = f["allowed_values"].as_vec().cloned().unwrap_or_default();
        if name == "event.category" {
            for a in &allowed_values {
                expected.insert(
                    a["name"].as_str().unwrap().to_owned(),
                    strings(&a["expected_event_types"]),
                );
            }
        }
        fields.insert(
            name,
            EcsField {
                kind: f["type"].as_str().unwrap().to_owned(),
                array: strings(&f["normalize"]).iter().any(|n| n == "array"),
                allowed: allowed_values
                    .iter()
                    .map(|a| a["name"].as_str().unwrap().to_owned())
                    .collect(),
            },
        );
    }
    assert!(fields.len() > 1000, "{} ECS fields", fields.len());
    (fields, expected)
}

/// Leaf fields of a record as (flat name, value); arrays of scalars are
/// leaves, objects (also inside arrays) are walked.
fn leaves<'a>(prefix: &str, v: &'a Value, out: &mut Vec<(String, &'a Value)>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(&name, x, out);
            }
        }
        Value::Array(a) if a.iter().any(Value::is_object) => {
            for x in a {
                leaves(prefix, x, out);
            }
        }
        _ => out.push((prefix.to_owned(), v)),
    }
}

/// Fields the ECS profile keeps from the host's record (CRI/docker decoding)
/// or adds as its own, outside ECS's field sets.
fn custom_field(name: &str) -> bool {
    let top = name.split('.').next().unwrap();
    top == "go" || top.starts_with("go_") || top == "time" || top == "stream"
}

/// Every field of every ECS-profile record of the corpus against ECS's own
/// field list: a field named by ECS has ECS's type and allowed values, the
/// category/type pairs are ones ECS expects, `ecs.version` is on every
/// record, and gopanic's own fields collide with no ECS field set.
#[test]
fn ecs_records_follow_ecs_field_list() {
    let (ecs, expected) = ecs_fields();
    let version = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ecs/version"),
    )
    .unwrap();
    assert_eq!(gopanic::record::ECS_VERSION, version.trim());
    let field_sets: BTreeSet<&str> = ecs.keys().map(|k| k.split('.').next().unwrap()).collect();
    let mut failures = BTreeSet::new();
    let (mut checked, mut errors, mut dumps) = (0, 0, 0);
    for fx in fixtures() {
        for (file, format) in [("cri.log", Format::Cri), ("plain.log", Format::Plain)] {
            for rec in records(&fx, file, format, Profile::Ecs) {
                checked += 1;
                if rec["ecs"]["version"] != version.trim() {
                    failures.insert(format!("{}: no ecs.version", fx.name()));
                }
                if rec.get("go").is_some() {
                    if rec.get("error").is_some() {
                        errors += 1;
                    } else {
                        dumps += 1;
                    }
                }
                let mut fields = Vec::new();
                leaves("", &rec, &mut fields);
                for (name, value) in fields {
                    if custom_field(&name) {
                        let top = name.split('.').next().unwrap();
                        if field_sets.contains(top) || ecs.contains_key(top) {
                            failures.insert(format!("custom field {name} collides with ECS"));
                        }
                        continue;
                    }
                    let Some(f) = ecs.get(&name) else {
                        failures.insert(format!("{name} is not an ECS field"));
                        continue;
                    };
                    let values: Vec<&Value> = match value {
                        Value::Array(a) if f.array => a.iter().collect(),
                        Value::Array(_) => {
                            failures.insert(format!("{name}: an array, ECS says a scalar"));
                            continue;
                        }
                        v if f.array => {
                            failures.insert(format!("{name}: {v} is not an array"));
                            continue;
                        }
                        v => vec![v],
                    };
                    for v in values {
                        let type_ok = match f.kind.as_str() {
                            "keyword" | "constant_keyword" | "wildcard" | "text"
                            | "match_only_text" => v.is_string(),
                            "long" | "integer" | "short" | "byte" => v.is_i64() || v.is_u64(),
                            "boolean" => v.is_boolean(),
                            _ => false,
                        };
                        if !type_ok {
                            failures.insert(format!("{name}: {v} is not an ECS {}", f.kind));
                        }
                        if !f.allowed.is_empty() && !f.allowed.iter().any(|a| v == a.as_str()) {
                            failures.insert(format!("{name}: {v} is not an allowed value"));
                        }
                    }
                }
                if let (Some(cats), Some(types)) = (
                    rec["event"]["category"].as_array(),
                    rec["event"]["type"].as_array(),
                ) {
                    for c in cats {
                        let exp = &expected[c.as_str().unwrap()];
                        for t in types {
                            if !exp.iter().any(|e| t == e.as_str()) {
                                failures.insert(format!("event.category {c} with type {t}"));
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(
        checked > 1000 && errors > 100 && dumps > 5,
        "{checked} {errors} {dumps}"
    );
    assert!(
        failures.is_empty(),
        "{}",
        failures.into_iter().collect::<Vec<_>>().join("\n")
    );
}
