//! Every fixture of the real-toolchain corpus, in every container format:
//! the decoded lines equal the ground truth's, the reports found are exactly
//! the ground truth's (same lines, same event), and every line leaves once.

// Tests assert by panicking; clippy's restriction lints are for host code.
#![allow(clippy::restriction)]

mod common;

use common::{FORMATS, Fixture, check_conserved, decode_checked, fixtures, reassemble};
use gopanic::container::Format;
use gopanic::reassembler::Config;

fn check(fx: &Fixture, file: &str, format: Format) -> Result<(), String> {
    let name = format!("{} {file}", fx.name());
    let raw = std::fs::read_to_string(fx.dir.join(file)).map_err(|e| format!("{name}: {e}"))?;
    for detect in [format, Format::Auto] {
        let lines = decode_checked(fx, &raw, detect, &name)?;
        let found = reassemble(lines, Config::default());
        check_conserved(&found, fx.truth.lines.len(), &name)?;

        // Exactness: the same reports, in the same order.
        let mut want: Vec<(String, Vec<usize>)> = fx
            .truth
            .reports
            .iter()
            .map(|r| (r.event.clone(), r.lines.clone()))
            .collect();
        want.sort_by_key(|r| r.1.first().copied());
        let mut got = found.reports.clone();
        got.sort_by_key(|r| r.1.first().copied());
        if got != want {
            let show = |rs: &[(String, Vec<usize>)]| -> String {
                rs.iter()
                    .map(|(e, ls)| {
                        let first = ls.first().map(|&i| fx.truth.lines[i].text.as_str());
                        let last = ls.last().map(|&i| fx.truth.lines[i].text.as_str());
                        format!(
                            "  {e} lines {:?}..{:?} ({} lines) {first:?} .. {last:?}\n",
                            ls.first(),
                            ls.last(),
                            ls.len()
                        )
                    })
                    .collect()
            };
            let missing: Vec<usize> = want
                .iter()
                .flat_map(|r| r.1.iter().copied())
                .filter(|i| !got.iter().any(|g| g.1.contains(i)))
                .collect();
            let extra: Vec<usize> = got
                .iter()
                .flat_map(|r| r.1.iter().copied())
                .filter(|i| !want.iter().any(|w| w.1.contains(i)))
                .collect();
            let txt = |is: &[usize]| -> Vec<String> {
                is.iter()
                    .take(6)
                    .map(|&i| format!("{i}: {:?}", fx.truth.lines[i].text))
                    .collect()
            };
            return Err(format!(
                "{name} ({detect:?}): reports differ\n want:\n{} got:\n{} truth lines not in a report: {:?}\n report lines not in truth: {:?}",
                show(&want),
                show(&got),
                txt(&missing),
                txt(&extra)
            ));
        }
    }
    Ok(())
}

#[test]
fn corpus_reports_are_exact_in_every_format() {
    let all = fixtures();
    // The generator's index lists every run: none may be missing.
    let index: Vec<serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(common::corpus_dir().join("index.json")).unwrap(),
    )
    .unwrap();
    assert!(!index.is_empty());
    assert_eq!(all.len(), index.len(), "corpus runs on disk vs index.json");
    let mut failures = Vec::new();
    let mut checked = 0;
    for fx in &all {
        for (file, format) in FORMATS {
            checked += 1;
            if let Err(e) = check(fx, file, format) {
                failures.push(e);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} fixture files failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn corpus_truth_is_consistent() {
    for fx in fixtures() {
        let t = &fx.truth;
        let n = t.lines.len();
        let mut owner = vec![false; n];
        for r in &t.reports {
            assert!(!r.lines.is_empty(), "{}: empty report", fx.name());
            assert!(
                r.lines.windows(2).all(|w| w[0] < w[1]),
                "{}: unordered",
                fx.name()
            );
            for &i in &r.lines {
                assert!(i < n && !owner[i], "{}: line {i} in two reports", fx.name());
                owner[i] = true;
                assert_eq!(t.lines[i].origin, "runtime", "{}: line {i}", fx.name());
            }
        }
    }
}
