//! The shipped Fluent Bit configs under `pipeline-examples/`: YAML parses,
//! the classic and YAML forms carry the same settings, the wasm module's
//! contract is followed (heartbeat with its settings, rewrite_tag on the
//! tick tag only, the filter order, the time parser, the helper fields
//! removed), and the Kubernetes copies match. Whether the pipeline does what
//! it should is checked in the real Fluent Bit (`tests/real-hosts/`).

// Tests assert by panicking; clippy's restriction lints are for host code.
#![allow(clippy::restriction)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use regex::Regex;
use yaml_rust2::{Yaml, YamlLoader};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("pipeline-examples")
}

fn read(rel: &str) -> String {
    let p = examples().join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

// ---------------------------------------------------------------------------
// Classic config format
// ---------------------------------------------------------------------------

/// One `[SECTION]` (or one YAML list entry) with its properties in order;
/// keys lower-cased, values trimmed. A YAML list value becomes repeated keys,
/// as Fluent Bit sets a property once per list entry.
#[derive(Debug, Clone, PartialEq)]
struct Section {
    kind: String,
    props: Vec<(String, String)>,
}

impl Section {
    fn get(&self, key: &str) -> Option<&str> {
        self.props
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    fn all(&self, key: &str) -> Vec<&str> {
        self.props
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
    fn name(&self) -> &str {
        self.get("name").unwrap_or("")
    }
}

fn parse_classic(text: &str) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            out.push(Section {
                kind: line[1..line.len() - 1].trim().to_lowercase(),
                props: vec![],
            });
            continue;
        }
        assert!(
            !line.starts_with('@'),
            "@-directives are not used in the shipped configs: {line}"
        );
        let (k, v) = match line.split_once(char::is_whitespace) {
            Some((k, v)) => (k, v.trim()),
            None => (line, ""),
        };
        let sec = out
            .last_mut()
            .unwrap_or_else(|| panic!("property outside a section: {line}"));
        sec.props.push((k.to_lowercase(), v.to_string()));
    }
    out
}

fn load_yaml(rel: &str) -> Vec<Yaml> {
    YamlLoader::load_from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn scalar(y: &Yaml) -> String {
    match y {
        Yaml::String(s) | Yaml::Real(s) => s.clone(),
        Yaml::Integer(i) => i.to_string(),
        Yaml::Boolean(b) => b.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

fn yaml_props(map: &Yaml, kind: &str) -> Section {
    let mut props = Vec::new();
    let h = map.as_hash().unwrap_or_else(|| panic!("{kind}: not a map"));
    for (k, v) in h {
        let k = scalar(k).to_lowercase();
        match v {
            Yaml::Array(a) if k != "rules" => {
                for e in a {
                    props.push((k.clone(), scalar(e)));
                }
            }
            Yaml::Array(_) => {}
            v => props.push((k, scalar(v))),
        }
    }
    Section {
        kind: kind.to_string(),
        props,
    }
}

/// A Fluent Bit YAML config as the same sections a classic file gives.
fn yaml_sections(doc: &Yaml) -> Vec<Section> {
    let mut out = Vec::new();
    if !doc["service"].is_badvalue() {
        out.push(yaml_props(&doc["service"], "service"));
    }
    for (key, kind) in [
        ("parsers", "parser"),
        ("multiline_parsers", "multiline_parser"),
    ] {
        if let Some(list) = doc[key].as_vec() {
            for p in list {
                let mut s = yaml_props(p, kind);
                if let Some(rules) = p["rules"].as_vec() {
                    for r in rules {
                        let f = scalar(&r["state"]);
                        let re = scalar(&r["regex"]);
                        let to = scalar(&r["next_state"]);
                        s.props
                            .push(("rule".into(), format!("\"{f}\" \"{re}\" \"{to}\"")));
                    }
                }
                out.push(s);
            }
        }
    }
    for (key, kind) in [
        ("inputs", "input"),
        ("filters", "filter"),
        ("outputs", "output"),
    ] {
        if let Some(list) = doc["pipeline"][key].as_vec() {
            for p in list {
                out.push(yaml_props(p, kind));
            }
        }
    }
    out
}

/// Values as Fluent Bit reads them: booleans in any spelling alike.
fn norm_value(v: &str) -> String {
    match v.to_lowercase().as_str() {
        "on" | "true" | "yes" => "true".into(),
        "off" | "false" | "no" => "false".into(),
        _ => v.to_string(),
    }
}

/// The settings that must agree between the forms: every section except the
/// classic-only `parsers_file` (the YAML form holds its parsers inline), each
/// property normalised, rules compared as (from, regex, to).
fn comparable(sections: &[Section]) -> Vec<(String, Vec<(String, String)>)> {
    sections
        .iter()
        .map(|s| {
            let mut props: Vec<(String, String)> = s
                .props
                .iter()
                .filter(|(k, _)| k != "parsers_file")
                .map(|(k, v)| (k.clone(), norm_value(v)))
                .collect();
            // Order matters for repeated keys; not between keys.
            props.sort_by(|a, b| a.0.cmp(&b.0));
            (s.kind.clone(), props)
        })
        .collect()
}

/// Sections of a classic config plus those of its `Parsers_File`s.
fn classic_with_parsers(rel: &str) -> Vec<Section> {
    let mut secs = parse_classic(&read(rel));
    let dir = Path::new(rel).parent().unwrap_or(Path::new(""));
    let files: Vec<String> = secs
        .iter()
        .filter(|s| s.kind == "service")
        .flat_map(|s| s.all("parsers_file").into_iter().map(str::to_string))
        .collect();
    let mut parsers = Vec::new();
    for f in files {
        parsers.extend(parse_classic(&read(&dir.join(f).to_string_lossy())));
    }
    // Only the parsers this config uses (the file serves both modes).
    let used: BTreeSet<String> = secs
        .iter()
        .filter(|s| s.kind == "filter" || s.kind == "input")
        .flat_map(|s| s.all("parser").into_iter().chain(s.all("multiline.parser")))
        .flat_map(|v| {
            v.split(',')
                .map(|x| x.trim().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    parsers.retain(|p| used.contains(p.name()));
    // Same order as yaml_sections: service, parsers, multiline parsers, rest.
    let service: Vec<Section> = secs
        .iter()
        .filter(|s| s.kind == "service")
        .cloned()
        .collect();
    secs.retain(|s| s.kind != "service");
    let mut out = service;
    out.extend(parsers.iter().filter(|s| s.kind == "parser").cloned());
    out.extend(
        parsers
            .iter()
            .filter(|s| s.kind == "multiline_parser")
            .cloned(),
    );
    out.extend(secs);
    out
}

// ---------------------------------------------------------------------------
// The configs
// ---------------------------------------------------------------------------

/// Every YAML file shipped under the four example directories.
fn shipped_yaml_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in ["fluent-bit", "kubernetes", "loki", "elasticsearch"] {
        let dir = examples().join(d);
        for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let p = e.unwrap().path();
            if matches!(p.extension().and_then(|x| x.to_str()), Some("yaml" | "yml")) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn yaml_files_parse() {
    let files = shipped_yaml_files();
    assert!(files.len() >= 6, "{files:?}");
    for p in files {
        let text = std::fs::read_to_string(&p).unwrap();
        let docs =
            YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(!docs.is_empty(), "{}: empty", p.display());
        for d in &docs {
            assert!(
                d.as_hash().is_some(),
                "{}: a document is not a map",
                p.display()
            );
        }
    }
}

#[test]
fn classic_and_yaml_forms_match() {
    for mode in ["reassemble"] {
        let classic = comparable(&classic_with_parsers(&format!("fluent-bit/{mode}.conf")));
        let docs = load_yaml(&format!("fluent-bit/{mode}.yaml"));
        let yaml = comparable(&yaml_sections(&docs[0]));
        assert_eq!(classic.len(), yaml.len(), "{mode}: section count");
        for (c, y) in classic.iter().zip(&yaml) {
            assert_eq!(c, y, "{mode}: sections differ");
        }
    }
}

fn find<'a>(secs: &'a [Section], kind: &str, name: &str) -> Vec<&'a Section> {
    secs.iter()
        .filter(|s| s.kind == kind && s.name().eq_ignore_ascii_case(name))
        .collect()
}

/// The module's contract and the traps listed in the reference page, checked
/// on both forms of both modes.
#[test]
fn configs_follow_the_module_contract() {
    for form in ["conf", "yaml"] {
        for mode in ["reassemble"] {
            let secs = if form == "conf" {
                classic_with_parsers(&format!("fluent-bit/{mode}.conf"))
            } else {
                yaml_sections(&load_yaml(&format!("fluent-bit/{mode}.yaml"))[0])
            };
            let ctx = format!("{mode}.{form}");
            let wasm = find(&secs, "filter", "wasm");
            assert_eq!(wasm.len(), 1, "{ctx}: one wasm filter");
            let w = wasm[0];
            assert_eq!(
                w.get("wasm_path"),
                Some("/fluent-bit/wasm/gopanic.wasm"),
                "{ctx}"
            );
            assert_eq!(w.get("event_format"), Some("json"), "{ctx}");
            assert!(
                w.get("wasm_stack_size").is_some() && w.get("wasm_heap_size").is_some(),
                "{ctx}"
            );
            let keys: Vec<&str> = w.props.iter().map(|(k, _)| k.as_str()).collect();
            let stack = keys.iter().position(|k| *k == "wasm_stack_size").unwrap();
            assert_eq!(
                keys.get(stack + 1),
                Some(&"wasm_heap_size"),
                "{ctx}: stack size, then heap size"
            );
            let filters: Vec<&str> = secs
                .iter()
                .filter(|s| s.kind == "filter")
                .map(|s| s.name())
                .collect();
            let pos = |n: &str| {
                filters
                    .iter()
                    .position(|f| f.eq_ignore_ascii_case(n))
                    .unwrap()
            };
            let outputs: Vec<&Section> = secs.iter().filter(|s| s.kind == "output").collect();
            assert!(!outputs.is_empty(), "{ctx}: an output");
            {
                assert_eq!(w.get("function_name"), Some("gopanic_reassemble"), "{ctx}");
                assert_eq!(
                    w.get("match_regex"),
                    Some(r"^(kube\..*|gopanic\.tick)$"),
                    "{ctx}"
                );
                let dummy = find(&secs, "input", "dummy");
                assert_eq!(dummy.len(), 1, "{ctx}");
                assert_eq!(dummy[0].get("tag"), Some("gopanic.tick"), "{ctx}");
                // The heartbeat carries the settings: Loki's line limit as
                // the record bound.
                let beat: serde_json::Value =
                    serde_json::from_str(dummy[0].get("dummy").unwrap()).unwrap();
                assert_eq!(beat["gopanic_tick"], true, "{ctx}");
                assert_eq!(beat["max_record_bytes"], 262_144, "{ctx}");
                let rate: u32 = dummy[0].get("rate").unwrap().parse().unwrap();
                assert!(50 / rate <= 5, "{ctx}: 50 reports drain in at most 5 s");
                let rt = find(&secs, "filter", "rewrite_tag");
                assert_eq!(rt.len(), 1, "{ctx}");
                assert_eq!(
                    rt[0].get("match"),
                    Some("gopanic.tick"),
                    "{ctx}: rewrite_tag matches the tick only"
                );
                assert_eq!(
                    rt[0].get("rule"),
                    Some("$gopanic_tag ^(.+)$ $1 false"),
                    "{ctx}"
                );
                assert!(rt[0].get("emitter_name").is_some(), "{ctx}");
                let lim = rt[0].get("emitter_mem_buf_limit").unwrap();
                assert!(parse_size(lim) >= 32 << 20, "{ctx}: generous emitter limit");
                assert!(pos("wasm") < pos("rewrite_tag"), "{ctx}");
                // kubernetes after wasm: a re-emitted report passes the
                // filters again, and kubernetes before wasm would add its key
                // twice.
                assert!(
                    pos("wasm") < pos("kubernetes"),
                    "{ctx}: kubernetes after wasm"
                );
                let pf = find(&secs, "filter", "parser");
                assert_eq!(pf.len(), 1, "{ctx}");
                assert_eq!(pf[0].get("key_name"), Some("gopanic_time"), "{ctx}");
                assert_eq!(
                    norm_value(pf[0].get("reserve_data").unwrap()),
                    "true",
                    "{ctx}"
                );
                let parser = find(&secs, "parser", pf[0].get("parser").unwrap());
                assert_eq!(parser.len(), 1, "{ctx}: the time parser is defined");
                assert_eq!(parser[0].get("regex"), Some("^(?<time>.+)$"), "{ctx}");
                assert_eq!(parser[0].get("time_key"), Some("time"), "{ctx}");
                assert_eq!(
                    parser[0].get("time_format"),
                    Some("%Y-%m-%dT%H:%M:%S.%LZ"),
                    "{ctx}"
                );
                let rm = find(&secs, "filter", "modify");
                let removed = rm[0].all("remove");
                for k in ["gopanic_tag", "gopanic_time", "gopanic_reemitted"] {
                    assert!(removed.contains(&k), "{ctx}: {k} removed");
                }
                for o in &outputs {
                    assert_ne!(o.name(), "null", "{ctx}");
                    let m = o.get("match_regex").unwrap_or("");
                    assert!(
                        Regex::new(m).unwrap().is_match("gopanic.tick"),
                        "{ctx}: gopanic.tick reaches {}",
                        o.name()
                    );
                    assert!(
                        Regex::new(m)
                            .unwrap()
                            .is_match("kube.var.log.containers.x.log"),
                        "{ctx}"
                    );
                }
            }
        }
    }
    // The stack and heap sizes sit on one line each, under the comment the
    // module engineer will look for.
    for f in ["reassemble.conf", "reassemble.yaml"] {
        let text = read(&format!("fluent-bit/{f}"));
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        let c = lines
            .iter()
            .position(|l| *l == "# measured minimum: see plugin/fluent-bit/README.md");
        let c = c.unwrap_or_else(|| panic!("{f}: the measured-minimum comment"));
        assert!(
            lines[c + 1].to_lowercase().starts_with("wasm_stack_size"),
            "{f}"
        );
        assert!(
            lines[c + 2].to_lowercase().starts_with("wasm_heap_size"),
            "{f}"
        );
    }
}

fn parse_size(s: &str) -> u64 {
    let s = s.trim().to_uppercase();
    let (num, mult) = match s.trim_end_matches('B').chars().last() {
        Some('K') => (s.trim_end_matches('B').trim_end_matches('K'), 1u64 << 10),
        Some('M') => (s.trim_end_matches('B').trim_end_matches('M'), 1 << 20),
        Some('G') => (s.trim_end_matches('B').trim_end_matches('G'), 1 << 30),
        _ => (s.as_str(), 1),
    };
    num.trim().parse::<u64>().unwrap() * mult
}

/// The DaemonSet's ConfigMap carries the reassemble config and parsers file
/// verbatim; the Helm values carry the same sections.
#[test]
fn kubernetes_copies_match() {
    let docs = load_yaml("kubernetes/daemonset.yaml");
    let kinds: Vec<String> = docs.iter().map(|d| scalar(&d["kind"])).collect();
    for k in [
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "ConfigMap",
        "DaemonSet",
    ] {
        assert!(kinds.iter().any(|x| x == k), "daemonset.yaml has a {k}");
    }
    let cm = docs
        .iter()
        .find(|d| scalar(&d["kind"]) == "ConfigMap")
        .unwrap();
    assert_eq!(
        cm["data"]["fluent-bit.conf"].as_str(),
        Some(read("fluent-bit/reassemble.conf").as_str()),
        "ConfigMap fluent-bit.conf is reassemble.conf"
    );
    assert_eq!(
        cm["data"]["parsers-gopanic.conf"].as_str(),
        Some(read("fluent-bit/parsers-gopanic.conf").as_str()),
        "ConfigMap parsers-gopanic.conf is the shipped parsers file"
    );
    let ds = docs
        .iter()
        .find(|d| scalar(&d["kind"]) == "DaemonSet")
        .unwrap();
    let spec = &ds["spec"]["template"]["spec"];
    let mounts: Vec<String> = spec["containers"][0]["volumeMounts"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|m| scalar(&m["mountPath"]))
        .collect();
    for m in ["/var/log/containers", "/var/log/pods", "/fluent-bit/wasm"] {
        assert!(
            mounts.iter().any(|x| x == m),
            "fluent-bit mounts {m}: {mounts:?}"
        );
    }
    let res = &spec["containers"][0]["resources"];
    assert!(!res["requests"]["memory"].is_badvalue() && !res["limits"]["memory"].is_badvalue());

    // Helm values: the classic snippets, parsed together, give the same
    // pipeline as reassemble.conf (paths of the parsers file aside).
    let v = &load_yaml("kubernetes/values-gopanic.yaml")[0];
    let mut text = String::new();
    for k in ["service", "inputs", "filters", "outputs"] {
        text.push_str(
            v["config"][k]
                .as_str()
                .unwrap_or_else(|| panic!("config.{k}")),
        );
        text.push('\n');
    }
    let helm = parse_classic(&text);
    let mut ours = parse_classic(&read("fluent-bit/reassemble.conf"));
    let strip = |secs: &mut Vec<Section>| {
        for s in secs.iter_mut() {
            s.props.retain(|(k, _)| k != "parsers_file");
        }
    };
    let mut helm = helm;
    strip(&mut helm);
    strip(&mut ours);
    assert_eq!(
        comparable(&helm),
        comparable(&ours),
        "Helm values differ from reassemble.conf"
    );
    let parsers = parse_classic(v["config"]["customParsers"].as_str().unwrap());
    let shipped = parse_classic(&read("fluent-bit/parsers-gopanic.conf"));
    assert_eq!(
        parsers,
        shipped
            .into_iter()
            .filter(|s| s.kind == "parser")
            .collect::<Vec<_>>()
    );
}
