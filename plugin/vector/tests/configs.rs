//! The shipped Vector configs agree with each other: the Helm values'
//! `customConfig` is kubernetes.yaml + gopanic.yaml + sinks.yaml, and the
//! sidecar container listens and sends where the hop's sink and source
//! expect it.

// Tests assert by panicking; clippy's restriction lints are for host code.
#![allow(clippy::restriction)]

use std::path::Path;

use yaml_rust2::{Yaml, YamlLoader};

fn load(name: &str) -> Yaml {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../pipeline-examples/vector")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    YamlLoader::load_from_str(&text)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .remove(0)
}

/// Undoes the chart's `tpl` escaping of Vector's `{{ field }}` templates.
fn untemplate(y: &Yaml) -> Yaml {
    match y {
        Yaml::String(s) => Yaml::String(
            s.replace("{{ \"{{\" }}", "{{")
                .replace("{{ \"}}\" }}", "}}"),
        ),
        Yaml::Hash(h) => Yaml::Hash(h.iter().map(|(k, v)| (k.clone(), untemplate(v))).collect()),
        Yaml::Array(a) => Yaml::Array(a.iter().map(untemplate).collect()),
        other => other.clone(),
    }
}

/// Maps with their keys in order, so that comparison ignores member order.
fn sorted(y: &Yaml) -> Yaml {
    match y {
        Yaml::Hash(h) => {
            let mut items: Vec<(Yaml, Yaml)> =
                h.iter().map(|(k, v)| (k.clone(), sorted(v))).collect();
            items.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
            Yaml::Hash(items.into_iter().collect())
        }
        Yaml::Array(a) => Yaml::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

fn merge(into: &mut Yaml, from: &Yaml) {
    if let (Yaml::Hash(a), Yaml::Hash(b)) = (&mut *into, from) {
        for (k, v) in b {
            match a.get_mut(k) {
                Some(existing) if matches!(v, Yaml::Hash(_)) => merge(existing, v),
                _ => {
                    a.insert(k.clone(), v.clone());
                }
            }
        }
    }
}

#[test]
fn helm_values_carry_the_shipped_pipeline() {
    let values = load("values-vector.yaml");
    assert_eq!(values["role"].as_str(), Some("Agent"));
    let mut want = load("kubernetes.yaml");
    merge(&mut want, &load("gopanic.yaml"));
    merge(&mut want, &load("sinks.yaml"));
    assert_eq!(sorted(&untemplate(&values["customConfig"])), sorted(&want));
    // Vector's templates survive the escaping.
    assert_eq!(
        want["sinks"]["loki"]["labels"]["namespace"].as_str(),
        Some("{{ kubernetes.pod_namespace }}")
    );
}

#[test]
fn the_sidecar_listens_and_sends_where_the_hop_expects() {
    let values = load("values-vector.yaml");
    let hop = load("gopanic.yaml");
    let sidecar = values["extraContainers"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|c| c["name"].as_str() == Some("gopanic"))
        .unwrap();
    let args: Vec<&str> = sidecar["args"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    let uri = hop["sinks"]["to_gopanic"]["uri"].as_str().unwrap();
    let back = hop["sources"]["from_gopanic"]["address"].as_str().unwrap();
    // Literal addresses: Vector >= 0.57 interpolates environment variables
    // only when run with --dangerously-allow-env-var-interpolation.
    let default = |s: &str| {
        assert!(!s.contains("${"), "{s}: an environment variable");
        s.trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned()
    };
    let port = |a: &str| {
        a.rsplit(':')
            .next()
            .unwrap()
            .trim_end_matches('/')
            .to_owned()
    };
    assert!(args.contains(&format!("--listen=0.0.0.0:{}", port(&default(uri))).as_str()));
    assert!(args.contains(&format!("--downstream=http://{}/", default(back)).as_str()));
    assert!(args.contains(&"--max-record-bytes=262144"));
    // Every event the sidecar sees was encoded as NDJSON by the http sink.
    assert_eq!(
        hop["sinks"]["to_gopanic"]["framing"]["method"].as_str(),
        Some("newline_delimited")
    );
    assert_eq!(
        hop["sources"]["from_gopanic"]["framing"]["method"].as_str(),
        Some("newline_delimited")
    );
}
