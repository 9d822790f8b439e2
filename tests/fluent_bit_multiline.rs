//! The Fluent Bit configs under `pipeline-examples/`: the enrich-mode
//! multiline rules against the whole fixture corpus, and the configs
//! themselves (YAML parses, classic and YAML forms carry the same settings,
//! the wasm module's contract is followed, the Kubernetes copies match).
//!
//! The multiline rules are read FROM the shipped parsers file and run through
//! a re-implementation of Fluent Bit's regex rule engine (v5.1.1,
//! `src/multiline/flb_ml_rule.c`, `src/multiline/flb_ml.c`,
//! `plugins/filter_multiline/ml.c`):
//!
//! - a group's state is the LAST rule that matched (`rule_to_state`); the next
//!   line is tried against the rules whose from-states contain that rule's
//!   to-state, in rule order, start rules skipped; the first match appends
//!   the line: a `\n` first unless the buffer is empty or already ends in one,
//!   then the text, or a second `\n` for an empty line;
//! - no continuation: the start rules are tried in order; a match flushes
//!   the group's buffer (if any) and starts it again with this line;
//! - after a match, if the matched rule's to-state names a start rule (e.g.
//!   `start_state`), the group is flushed at once;
//! - no rule at all: every group of the stream (one stream per input + tag in
//!   the buffered multiline filter) is flushed and the line leaves alone; the
//!   state is NOT reset, nor is it by any flush;
//! - groups: one per value of the parser's `key_group` field, else one;
//! - the filter's timer flushes every group every `flush_ms`, whatever its
//!   state (modelled in log time, ticks at multiples of `flush_ms` plus a
//!   phase; Fluent Bit can only run it between input batches, so the model is
//!   if anything pessimistic); end of input flushes everything.
//!
//! Regexes are Onigmo in Fluent Bit and Rust `regex` here; the shipped rules
//! keep to the syntax both read the same way (`^`/`$` on single lines, `\s`,
//! `\S`, `\d`, `\b`, classes, groups, counted repetition).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::fixtures;
use gopanic::container::{Decoder, Format};
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

/// `flb_slist_split_tokens(list, str, 3)`: space-separated tokens, a token
/// may be double-quoted (a `"` preceded by `\` does not close it, and `\"`
/// becomes `"`); after three tokens the rest is one more token.
fn split_rule_tokens(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        if out.len() == 3 {
            out.push(s[i..].to_string());
            break;
        }
        if b[i] == b'"' {
            let start = i + 1;
            let mut j = start;
            loop {
                while j < b.len() && b[j] != b'"' {
                    j += 1;
                }
                if j >= b.len() || b[j - 1] != b'\\' {
                    break;
                }
                j += 1;
            }
            out.push(s[start..j.min(b.len())].replace("\\\"", "\""));
            i = j + 1;
        } else {
            let start = i;
            while i < b.len() && b[i] != b' ' {
                i += 1;
            }
            out.push(s[start..i].to_string());
        }
    }
    out
}

// ---------------------------------------------------------------------------
// YAML config format
// ---------------------------------------------------------------------------

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
                .map(|(k, v)| {
                    if k == "rule" && s.kind == "multiline_parser" {
                        (k.clone(), split_rule_tokens(v).join(" | "))
                    } else {
                        (k.clone(), norm_value(v))
                    }
                })
                .collect();
            // Order matters for rules (and repeated keys); not between keys.
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
// The rule engine
// ---------------------------------------------------------------------------

struct Rule {
    from: Vec<String>,
    re: Regex,
    to: Option<String>,
    start: bool,
}

struct MlParser {
    rules: Vec<Rule>,
    /// `to_state_map`: for each rule, the rules whose from-states contain its
    /// to-state, in rule order.
    next: Vec<Vec<usize>>,
    key_group: Option<String>,
}

/// `str_to_regex`: `/pattern/` loses its slashes; option suffixes are not
/// used by the shipped rules and rejected here.
fn compile(pattern: &str) -> Regex {
    let inner = if pattern.len() > 1 && pattern.starts_with('/') && pattern.ends_with('/') {
        &pattern[1..pattern.len() - 1]
    } else {
        assert!(
            !pattern.starts_with('/'),
            "regex options are not supported here: {pattern}"
        );
        pattern
    };
    Regex::new(inner).unwrap_or_else(|e| panic!("rule regex {pattern}: {e}"))
}

impl MlParser {
    fn new(
        raw: &[(String, String, Option<String>)],
        key_group: Option<String>,
    ) -> Result<Self, String> {
        let mut rules: Vec<Rule> = Vec::new();
        for (i, (from, re, to)) in raw.iter().enumerate() {
            let from: Vec<String> = from.split(',').map(|s| s.trim().to_string()).collect();
            let start = from.iter().any(|s| s == "start_state");
            if i == 0 && !start {
                return Err("the first rule has no start_state".into());
            }
            rules.push(Rule {
                from,
                re: compile(re),
                to: to.clone(),
                start,
            });
        }
        let mut next = Vec::new();
        for r in &rules {
            let mut n = Vec::new();
            if let Some(to) = &r.to {
                if !rules.iter().any(|x| x.from.contains(to)) {
                    return Err(format!("to_state {to:?} is not registered"));
                }
                for (j, x) in rules.iter().enumerate() {
                    if x.from.contains(to) {
                        n.push(j);
                    }
                }
            }
            next.push(n);
        }
        Ok(MlParser {
            rules,
            next,
            key_group,
        })
    }

    fn first_start(&self, text: &str) -> Option<usize> {
        self.rules
            .iter()
            .position(|r| r.start && r.re.is_match(text))
    }
}

#[derive(Default)]
struct Group {
    key: Option<String>,
    lines: Vec<usize>,
    text: String,
    state: Option<usize>,
}

/// A record the filter emits: which input lines it holds, and its `log`.
#[derive(Debug, Clone)]
struct Record {
    lines: Vec<usize>,
    text: String,
}

/// One `flb_ml_stream` (input + tag): its groups, default group first.
struct Stream<'a> {
    p: &'a MlParser,
    groups: Vec<Group>,
    out: Vec<Record>,
}

impl<'a> Stream<'a> {
    fn new(p: &'a MlParser) -> Self {
        Stream {
            p,
            groups: vec![Group::default()],
            out: Vec::new(),
        }
    }

    fn flush(out: &mut Vec<Record>, g: &mut Group) {
        if !g.text.is_empty() {
            out.push(Record {
                lines: std::mem::take(&mut g.lines),
                text: std::mem::take(&mut g.text),
            });
        }
        g.lines.clear();
    }

    fn flush_all(&mut self) {
        for g in &mut self.groups {
            Self::flush(&mut self.out, g);
        }
    }

    fn push(&mut self, index: usize, text: &str, group_value: Option<&str>) {
        let p = self.p;
        let gi = match (&p.key_group, group_value) {
            (Some(_), Some(v)) => {
                match self.groups.iter().position(|g| g.key.as_deref() == Some(v)) {
                    Some(i) => i,
                    None => {
                        self.groups.push(Group {
                            key: Some(v.to_string()),
                            ..Group::default()
                        });
                        self.groups.len() - 1
                    }
                }
            }
            _ => 0,
        };
        let out = &mut self.out;
        let g = &mut self.groups[gi];
        let mut matched = None;
        if let Some(s) = g.state {
            for &c in &p.next[s] {
                if p.rules[c].start {
                    continue;
                }
                if p.rules[c].re.is_match(text) {
                    if !g.text.is_empty() && !g.text.ends_with('\n') {
                        g.text.push('\n');
                    }
                    if text.is_empty() {
                        g.text.push('\n');
                    } else {
                        g.text.push_str(text);
                    }
                    g.lines.push(index);
                    matched = Some(c);
                    break;
                }
            }
        }
        if matched.is_none()
            && let Some(s) = p.first_start(text)
        {
            if !g.text.is_empty() {
                Self::flush(out, g);
            }
            g.text.push_str(text);
            g.lines.push(index);
            matched = Some(s);
        }
        match matched {
            Some(m) => {
                g.state = Some(m);
                if p.next[m].iter().any(|&x| p.rules[x].start) && !g.text.is_empty() {
                    Self::flush(out, g);
                }
            }
            None => {
                // Not processed: flush every group of the stream, then the
                // line leaves as it came.
                self.flush_all();
                self.out.push(Record {
                    lines: vec![index],
                    text: text.to_string(),
                });
            }
        }
    }
}

struct Line {
    text: String,
    stream: Option<String>,
    time: i64,
}

/// Runs one container's lines (one tag) through the multiline filter.
fn run(p: &MlParser, lines: &[Line], flush_ms: i64, phase_ms: i64) -> Vec<Record> {
    let period = flush_ms * 1_000_000;
    let phase = phase_ms * 1_000_000;
    let mut st = Stream::new(p);
    let mut next_tick = None;
    for (i, l) in lines.iter().enumerate() {
        let nt = *next_tick
            .get_or_insert_with(|| (l.time - phase).div_euclid(period) * period + phase + period);
        if l.time >= nt {
            st.flush_all();
            next_tick = Some((l.time - phase).div_euclid(period) * period + phase + period);
        }
        st.push(i, &l.text, l.stream.as_deref());
    }
    st.flush_all();
    st.out
}

fn cri_lines(dir: &Path) -> Vec<Line> {
    let raw = std::fs::read_to_string(dir.join("cri.log")).unwrap();
    let mut d = Decoder::new(Format::Cri, 4 << 20);
    let mut out: Vec<_> = raw.lines().filter_map(|l| d.push(l)).collect();
    out.extend(d.finish());
    out.into_iter()
        .map(|l| Line {
            text: l.text,
            stream: l.stream,
            time: l.time_nanos.expect("CRI lines carry a time"),
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Corpus runs
// ---------------------------------------------------------------------------

/// The custom parser, exactly as shipped (classic form).
fn shipped_parser() -> (MlParser, String) {
    let secs = parse_classic(&read("fluent-bit/parsers-gopanic.conf"));
    let ml = secs
        .iter()
        .find(|s| s.kind == "multiline_parser" && s.name() == "gopanic_go")
        .expect("[MULTILINE_PARSER] gopanic_go");
    assert_eq!(
        ml.get("type").map(str::to_lowercase).as_deref(),
        Some("regex")
    );
    let raw: Vec<(String, String, Option<String>)> = ml
        .all("rule")
        .into_iter()
        .map(|r| {
            let t = split_rule_tokens(r);
            assert!(t.len() == 2 || t.len() == 3, "rule {r:?}");
            (t[0].clone(), t[1].clone(), t.get(2).cloned())
        })
        .collect();
    let p = MlParser::new(&raw, ml.get("key_group").map(str::to_string)).expect("rules map");
    (p, ml.get("key_group").unwrap_or("").to_string())
}

/// The `multiline` filter's flush_ms in the shipped enrich config.
fn shipped_flush_ms() -> i64 {
    let secs = parse_classic(&read("fluent-bit/enrich.conf"));
    let f = secs
        .iter()
        .find(|s| s.kind == "filter" && s.name() == "multiline")
        .expect("multiline filter");
    f.get("flush_ms").expect("flush_ms is set").parse().unwrap()
}

/// Fluent Bit's built-in `go` parser (`src/multiline/flb_ml_parser_go.c`,
/// v5.1.1), rule for rule, duplicate included; no key_group.
fn builtin_go() -> MlParser {
    let r = |f: &str, re: &str, to: &str| (f.to_string(), re.to_string(), Some(to.to_string()));
    let raw = vec![
        r("start_state", r"/\bpanic: /", "go_after_panic"),
        r("start_state", r"/http: panic serving/", "go_goroutine"),
        r("go_after_panic", r"/^$/", "go_goroutine"),
        r(
            "go_after_panic, go_after_signal, go_frame_1",
            r"/^$/",
            "go_goroutine",
        ),
        r("go_after_panic", r"/^\[signal /", "go_after_signal"),
        r(
            "go_goroutine",
            r"/^goroutine \d+ \[[^\]]+\]:$/",
            "go_frame_1",
        ),
        r(
            "go_frame_1",
            r"/^(?:[^\s.:]+\.)*[^\s.():]+\(|^created by /",
            "go_frame_2",
        ),
        r("go_frame_2", r"/^\s/", "go_frame_1"),
    ];
    MlParser::new(&raw, None).unwrap()
}

struct Outcome {
    /// (fixture, report index) of every truth report.
    all: BTreeSet<(String, usize)>,
    /// Those that came out as exactly one record holding exactly its lines,
    /// joined with `\n`.
    joined: BTreeSet<(String, usize)>,
    /// Time from the first to the last line of each joined report (ns).
    spans: BTreeMap<(String, usize), i64>,
}

fn run_corpus(p: &MlParser, flush_ms: i64, phase_ms: i64) -> Outcome {
    let mut o = Outcome {
        all: BTreeSet::new(),
        joined: BTreeSet::new(),
        spans: BTreeMap::new(),
    };
    for fx in fixtures() {
        let lines = cri_lines(&fx.dir);
        let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        let want: Vec<&str> = fx.truth.lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(
            texts,
            want,
            "{}: decoded lines differ from truth",
            fx.name()
        );
        let records = run(p, &lines, flush_ms, phase_ms);
        // The engine loses nothing and duplicates nothing.
        let mut seen: Vec<usize> = records
            .iter()
            .flat_map(|r| r.lines.iter().copied())
            .collect();
        seen.sort_unstable();
        assert_eq!(
            seen,
            (0..lines.len()).collect::<Vec<_>>(),
            "{}: conservation",
            fx.name()
        );
        for (ri, rep) in fx.truth.reports.iter().enumerate() {
            let key = (fx.name(), ri);
            o.all.insert(key.clone());
            let text = rep
                .lines
                .iter()
                .map(|&i| texts[i])
                .collect::<Vec<_>>()
                .join("\n");
            // GOPANIC_ML_DEBUG=<fixture> shows the records around a report.
            if std::env::var("GOPANIC_ML_DEBUG").is_ok_and(|d| d == fx.name()) {
                for r in records
                    .iter()
                    .filter(|r| r.lines.iter().any(|i| rep.lines.contains(i)))
                {
                    eprintln!(
                        "--- record of {} lines, first {:?}",
                        r.lines.len(),
                        r.text.lines().next()
                    );
                    eprintln!("    last {:?}", r.text.lines().last());
                }
            }
            if records
                .iter()
                .any(|r| r.lines == rep.lines && r.text == text)
            {
                let first = lines[rep.lines[0]].time;
                let last = lines[*rep.lines.last().unwrap()].time;
                o.spans.insert(key.clone(), last - first);
                o.joined.insert(key);
            }
        }
    }
    o
}

/// Truth reports the shipped rules do NOT join exactly (fixture, report
/// index), and why. Any change to this list is a change of behaviour: a
/// regression, or an improvement to record here and in the README.
const KNOWN_MISSES: &[(&str, usize, &str)] = &[
    // Every miss is a report with a line of ANOTHER writer on the SAME
    // stream inside it (a sidecar's stderr, the program's own stderr logger):
    // that line continues nothing, so it cuts the report, and the regex
    // engine cannot set a line aside. (Lines of the other stream do not cut:
    // `Key_Group stream` plus the catch-all start rule.)
    ("chatty/go1.21", 0, "sidecar stderr line inside the report"),
    ("chatty/go1.24", 0, "sidecar stderr line inside the report"),
    ("chatty/go1.27", 0, "sidecar stderr line inside the report"),
    (
        "concurrent_map_read_write/go1.19",
        0,
        "the program's stderr log line inside the report",
    ),
    (
        "concurrent_map_read_write/go1.26",
        0,
        "the program's stderr log line inside the report",
    ),
    (
        "concurrent_map_writes/go1.19",
        0,
        "the program's stderr log line inside the report",
    ),
    (
        "concurrent_map_writes/go1.21",
        0,
        "the program's stderr log line inside the report",
    ),
    (
        "concurrent_map_writes/go1.23",
        0,
        "sidecar stderr line inside the report",
    ),
    (
        "concurrent_map_writes/go1.26",
        0,
        "the program's stderr log line inside the report",
    ),
    (
        "data_race/go1.24",
        0,
        "sidecar stderr line inside the race report",
    ),
    (
        "deadlock/go1.19",
        0,
        "sidecar stderr line inside the report",
    ),
    (
        "deadlock/go1.25",
        0,
        "the program's stderr log line inside the report",
    ),
    (
        "gotraceback_all/go1.25",
        0,
        "sidecar stderr line inside the report",
    ),
    (
        "http_panic/go1.27",
        1,
        "sidecar stderr line inside the report",
    ),
    (
        "nil_deref/go1.22",
        0,
        "sidecar stderr line inside the report",
    ),
    ("repanic/go1.26", 0, "sidecar stderr line inside the report"),
    (
        "rwmutex_unlock_unlocked/go1.25",
        0,
        "the program's stderr log line inside the report",
    ),
    ("sigquit/go1.21", 0, "sidecar stderr line inside the report"),
];

#[test]
fn shipped_rules_join_corpus_reports() {
    let (p, key_group) = shipped_parser();
    assert_eq!(key_group, "stream", "gopanic_go groups by stream");
    let flush_ms = shipped_flush_ms();
    let o = run_corpus(&p, flush_ms, 0);
    let missed: BTreeSet<(String, usize)> = o.all.difference(&o.joined).cloned().collect();
    let known: BTreeSet<(String, usize)> = KNOWN_MISSES
        .iter()
        .map(|(f, i, _)| (f.to_string(), *i))
        .collect();
    let mut spans: Vec<(i64, &(String, usize))> = o.spans.iter().map(|(k, v)| (*v, k)).collect();
    spans.sort_unstable_by(|a, b| b.cmp(a));
    eprintln!(
        "gopanic_go (flush_ms {flush_ms}): {} of {} corpus reports joined exactly; longest print times: {:?}",
        o.joined.len(),
        o.all.len(),
        spans
            .iter()
            .take(4)
            .map(|(s, k)| format!("{}#{} {} ms", k.0, k.1, s / 1_000_000))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        missed,
        known,
        "missed reports changed: new misses {:?}, now joined {:?}",
        missed.difference(&known).collect::<Vec<_>>(),
        known.difference(&missed).collect::<Vec<_>>()
    );
    assert_eq!(o.all.len(), 218);
    assert_eq!(o.joined.len(), 200);
    // And that is exactly the set of reports with a same-stream line of
    // another writer between their first and last line.
    let mut interleaved = BTreeSet::new();
    for fx in fixtures() {
        for (ri, r) in fx.truth.reports.iter().enumerate() {
            let (first, last) = (r.lines[0], *r.lines.last().unwrap());
            if (first..last).any(|i| !r.lines.contains(&i) && fx.truth.lines[i].stream == r.stream)
            {
                interleaved.insert((fx.name(), ri));
            }
        }
    }
    assert_eq!(missed, interleaved);
}

/// The timer cuts whatever is being written when it fires. Over eight timer
/// phases, only reports that take long to print can be cut; every other
/// report stays joined.
#[test]
fn shipped_rules_against_timer_phases() {
    let (p, _) = shipped_parser();
    let flush_ms = shipped_flush_ms();
    let base = run_corpus(&p, flush_ms, 0);
    for k in 1..8 {
        let o = run_corpus(&p, flush_ms, flush_ms * k / 8);
        for lost in base.joined.difference(&o.joined) {
            let span = base.spans[lost];
            assert!(
                span > 100_000_000,
                "{}#{}: cut by the timer (phase {k}/8) though printed in {} µs",
                lost.0,
                lost.1,
                span / 1000
            );
        }
    }
}

/// The built-in `go` parser with the filter's default flush_ms (2000), on the
/// same engine and corpus: the baseline the custom rules are measured against.
#[test]
fn builtin_go_parser_baseline() {
    let o = run_corpus(&builtin_go(), 2000, 0);
    let by_event = |joined: bool| {
        let mut m: BTreeMap<String, usize> = BTreeMap::new();
        for fx in fixtures() {
            for (ri, r) in fx.truth.reports.iter().enumerate() {
                if o.joined.contains(&(fx.name(), ri)) == joined {
                    *m.entry(r.event.clone()).or_default() += 1;
                }
            }
        }
        m
    };
    eprintln!(
        "built-in go: {} of {} joined; joined by event {:?}; missed by event {:?}",
        o.joined.len(),
        o.all.len(),
        by_event(true),
        by_event(false)
    );
    assert_eq!(o.joined.len(), BUILTIN_GO_JOINED);
}

const BUILTIN_GO_JOINED: usize = 111;

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
    for mode in ["enrich", "reassemble"] {
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
        for mode in ["enrich", "reassemble"] {
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
            if mode == "enrich" {
                assert_eq!(w.get("function_name"), Some("gopanic_enrich"), "{ctx}");
                assert_eq!(
                    filters[0], "multiline",
                    "{ctx}: the multiline filter comes first"
                );
                assert!(
                    pos("kubernetes") < pos("wasm"),
                    "{ctx}: kubernetes before wasm"
                );
                let ml = find(&secs, "filter", "multiline")[0];
                assert_eq!(ml.get("multiline.parser"), Some("gopanic_go"), "{ctx}");
                assert_eq!(ml.get("multiline.key_content"), Some("log"), "{ctx}");
                let limit = ml
                    .get("emitter_mem_buf_limit")
                    .expect("emitter limit sized");
                assert!(
                    parse_size(limit) >= 256 << 20,
                    "{ctx}: emitter_mem_buf_limit {limit}"
                );
                assert!(ml.get("flush_ms").is_some(), "{ctx}: flush_ms sized");
            } else {
                assert_eq!(w.get("function_name"), Some("gopanic_reassemble"), "{ctx}");
                assert_eq!(
                    w.get("match_regex"),
                    Some(r"^(kube\..*|gopanic\.tick)$"),
                    "{ctx}"
                );
                let dummy = find(&secs, "input", "dummy");
                assert_eq!(dummy.len(), 1, "{ctx}");
                assert_eq!(dummy[0].get("tag"), Some("gopanic.tick"), "{ctx}");
                assert_eq!(
                    dummy[0].get("dummy"),
                    Some(r#"{"gopanic_tick":true}"#),
                    "{ctx}"
                );
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
                let rm = find(&secs, "filter", "record_modifier");
                let removed = rm[0].all("remove_key");
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
    for f in [
        "enrich.conf",
        "enrich.yaml",
        "reassemble.conf",
        "reassemble.yaml",
    ] {
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
