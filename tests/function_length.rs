//! Keeps the core readable: no function in `src/` (tests aside) runs over
//! `MAX_LINES` lines, counted from its `fn` line to its closing brace.
//! rustfmt's layout makes the count mechanical: a function's closing brace
//! is the first later line that is exactly its indentation plus `}`.

// Tests assert by panicking; clippy's restriction lints are for host code.
#![allow(clippy::restriction)]

use std::path::{Path, PathBuf};

const MAX_LINES: usize = 80;

fn sources(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

/// Each function's name and length in lines, in the source before its
/// `#[cfg(test)]` module.
fn function_lengths(source: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = source
        .lines()
        .take_while(|l| l.trim() != "#[cfg(test)]")
        .collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let code = line.trim_start();
        let indent = &line[..line.len() - code.len()];
        let Some(at) = code.find("fn ") else { continue };
        let head = &code[..at];
        let is_item = head.split_whitespace().all(|w| {
            matches!(
                w,
                "pub" | "pub(crate)" | "pub(super)" | "const" | "unsafe" | "async" | "extern"
            )
        });
        if !is_item || code.ends_with(';') || code.ends_with('}') {
            continue;
        }
        let close = format!("{indent}}}");
        if let Some(len) = lines[i + 1..].iter().position(|l| *l == close) {
            let name = code[at + 3..]
                .split(|c: char| !c.is_alphanumeric() && c != '_')
                .next()
                .unwrap_or("");
            found.push((name.to_owned(), len + 2));
        }
    }
    found
}

#[test]
fn counts_a_function_from_fn_to_its_brace() {
    let src = "fn a() {\n    x();\n}\n\nimpl T {\n    pub fn b(\n        y: u8,\n    ) -> u8 {\n        y\n    }\n}\n";
    assert_eq!(
        function_lengths(src),
        vec![("a".to_owned(), 3), ("b".to_owned(), 5)]
    );
}

#[test]
fn no_function_in_src_is_longer_than_the_limit() {
    let mut files = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    files.sort();
    assert!(files.len() > 5, "src/ not found");
    let mut long = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (name, len) in function_lengths(&text) {
            if len > MAX_LINES {
                long.push(format!(
                    "{}: fn {name}: {len} lines",
                    file.strip_prefix(env!("CARGO_MANIFEST_DIR"))
                        .unwrap_or(file)
                        .display()
                ));
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over {MAX_LINES} lines:\n{}",
        long.join("\n")
    );
}
