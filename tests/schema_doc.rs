//! `docs/record-schema.md`'s field tables are generated from the doc
//! comments of the record's types (`src/record/`, `src/crash.rs`) and of
//! the class list (`src/classify.rs`): this test fails when they differ.
//! `GOPANIC_BLESS=1 cargo test --test schema_doc` rewrites the tables.

// Tests assert by panicking; clippy's restriction lints are for host code.
#![allow(clippy::restriction)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One field of a struct, as its source says.
struct Field {
    name: String,
    doc: String,
    ty: String,
    flatten: bool,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap()
}

/// The structs of `src` with their fields' docs, serde names and types.
fn structs(src: &str, out: &mut BTreeMap<String, Vec<Field>>) {
    let mut lines = src.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(rest) = line.trim().strip_prefix("pub struct ") else {
            continue;
        };
        if rest.starts_with('$') || !rest.ends_with('{') {
            continue;
        }
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric()).collect();
        let (mut fields, mut doc, mut attrs) = (Vec::new(), Vec::new(), String::new());
        for line in lines.by_ref() {
            let t = line.trim();
            if t == "}" {
                break;
            }
            if let Some(d) = t.strip_prefix("///") {
                doc.push(d.trim().to_owned());
            } else if let Some(field) = t
                .strip_prefix("pub ")
                .filter(|_| attrs.matches('(').count() == attrs.matches(')').count())
            {
                let (fname, ty) = field.split_once(':').unwrap();
                let rename = attrs
                    .split_once("rename = \"")
                    .map(|(_, r)| r.split('"').next().unwrap().to_owned());
                fields.push(Field {
                    name: rename.unwrap_or_else(|| fname.to_owned()),
                    doc: doc.join(" "),
                    ty: ty.trim().trim_end_matches(',').to_owned(),
                    flatten: attrs.contains("flatten"),
                });
                doc.clear();
                attrs.clear();
            } else if !t.is_empty() {
                attrs.push_str(t);
            }
        }
        out.insert(name, fields);
    }
}

/// The struct a field's type holds, and whether as an array.
fn child<'a>(ty: &str, all: &'a BTreeMap<String, Vec<Field>>) -> Option<(&'a str, bool)> {
    let array = ty.contains("Vec<") || ty.contains('[');
    ty.split(|c: char| !c.is_alphanumeric() && c != '_')
        .find_map(|w| all.get_key_value(w))
        .map(|(k, _)| (k.as_str(), array))
}

/// The rows of struct `name`'s fields under `prefix`; a struct met again
/// (frames) is named, not expanded again.
fn rows<'a>(
    name: &str,
    prefix: &str,
    all: &'a BTreeMap<String, Vec<Field>>,
    seen: &mut BTreeMap<&'a str, String>,
    out: &mut String,
) {
    for f in &all[name] {
        let sub = child(&f.ty, all);
        if f.flatten {
            rows(sub.unwrap().0, prefix, all, seen, out);
            continue;
        }
        let path = format!("{prefix}{}", f.name);
        let brackets = if sub.is_some_and(|(_, array)| array) {
            "[]"
        } else {
            ""
        };
        let mut doc = f.doc.replace('|', "\\|");
        let expand = match sub {
            Some((s, _)) => match seen.get(s) {
                Some(first) => {
                    doc.push_str(&format!(" Each as `{first}`."));
                    None
                }
                None => {
                    seen.insert(s, format!("{path}{brackets}"));
                    Some(s)
                }
            },
            None => None,
        };
        out.push_str(&format!("| `{path}` | {doc} |\n"));
        if let Some(s) = expand {
            rows(s, &format!("{path}{brackets}."), all, seen, out);
        }
    }
}

/// The member names struct `name` writes, flattened members expanded.
fn members(name: &str, all: &BTreeMap<String, Vec<Field>>) -> Vec<String> {
    all[name]
        .iter()
        .flat_map(|f| match (f.flatten, child(&f.ty, all)) {
            (true, Some((s, _))) => members(s, all),
            _ => vec![f.name.clone()],
        })
        .collect()
}

fn table(name: &str, prefix: &str, all: &BTreeMap<String, Vec<Field>>) -> String {
    let mut out = String::from("| field | meaning |\n|---|---|\n");
    rows(name, prefix, all, &mut BTreeMap::new(), &mut out);
    out
}

/// The class table, from the `classes!` list.
fn classes() -> String {
    let src = read("src/classify.rs");
    let body = src.split("classes! {").nth(1).unwrap();
    let body = body.split("\n}\n").next().unwrap();
    let mut out = String::from("| class | from |\n|---|---|\n");
    let mut doc = Vec::new();
    for line in body.lines().map(str::trim) {
        if let Some(d) = line.strip_prefix("///") {
            doc.push(d.trim().to_owned());
        } else if let Some((_, name)) = line.split_once(" = \"") {
            let name = name.trim_end_matches("\",");
            out.push_str(&format!("| `{name}` | {} |\n", doc.join(" ")));
            doc.clear();
        }
    }
    out
}

/// `text` with the section between `<!-- generated: id -->` and
/// `<!-- end: id -->` replaced by `table`.
fn replace(text: &str, id: &str, table: &str) -> String {
    let open = format!("<!-- generated: {id} -->\n");
    let close = format!("<!-- end: {id} -->");
    let (head, rest) = text
        .split_once(&open)
        .unwrap_or_else(|| panic!("no {open}"));
    let (_, tail) = rest
        .split_once(&close)
        .unwrap_or_else(|| panic!("no {close}"));
    format!("{head}{open}{table}{close}{tail}")
}

#[test]
fn field_tables_are_generated_from_the_types() {
    let mut all = BTreeMap::new();
    for file in [
        "src/record/go.rs",
        "src/record/ecs.rs",
        "src/record/mod.rs",
        "src/crash.rs",
    ] {
        structs(&read(file), &mut all);
    }
    for f in all.values().flatten() {
        assert!(!f.doc.is_empty(), "field {} has no doc", f.name);
    }
    // The JSON Schema files list exactly the members of `go`, and `go.cut`
    // exactly what a bound may drop.
    let go = members("Go", &all);
    let mut cuttable = vec!["error.stack_trace".to_owned()];
    cuttable.extend(members("Nested", &all).into_iter().rev());
    cuttable.extend(members("Site", &all));
    for file in ["docs/record.schema.json", "docs/record-ecs.schema.json"] {
        let schema: serde_json::Value = serde_json::from_str(&read(file)).unwrap();
        let props = schema["$defs"]["go"]["properties"].as_object().unwrap();
        let mut listed: Vec<&String> = props.keys().collect();
        let mut have: Vec<&String> = go.iter().collect();
        listed.sort();
        have.sort();
        assert_eq!(listed, have, "{file}: go's members");
        let cut: Vec<&str> = props["cut"]["items"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(cut, cuttable, "{file}: go.cut");
    }
    let path = "docs/record-schema.md";
    let doc = read(path);
    let mut want = doc.clone();
    for (id, table) in [
        ("go", table("Go", "go.", &all)),
        ("flat", table("Flat", "", &all)),
        ("ecs", table("Ecs", "", &all)),
        ("classes", classes()),
    ] {
        want = replace(&want, id, &table);
    }
    if std::env::var_os("GOPANIC_BLESS").is_some() {
        std::fs::write(root().join(path), &want).unwrap();
        return;
    }
    assert!(
        doc == want,
        "{path}'s field tables differ from the types' docs: run GOPANIC_BLESS=1 cargo test --test schema_doc"
    );
}
