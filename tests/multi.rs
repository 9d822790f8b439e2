//! The several-writer fixtures (`tests/fixtures/multi`): real processes
//! writing into one container stream at once — a chatty logger while a Go
//! program crashes, a SIGQUIT dump while another process logs, two Go
//! programs crashing together. In every container format every line leaves
//! exactly once, and every report comes out exact: the same lines, by
//! position, as the ground truth recorded from each process's own pipes.

// Tests assert by panicking; clippy's restriction lints are for host code.
#![allow(clippy::restriction)]

mod common;

use common::{
    FORMATS, Fixture, check_conserved, decode_checked, fixtures_in, multi_dir, reassemble,
};
use gopanic::container::Format;
use gopanic::reassembler::Config;

/// Checks one file; `Err` describes the first difference.
fn check(fx: &Fixture, file: &str, format: Format) -> Result<(), String> {
    let name = format!("{} {file}", fx.name());
    let raw = std::fs::read_to_string(fx.dir.join(file)).map_err(|e| format!("{name}: {e}"))?;
    let lines = decode_checked(fx, &raw, format, &name)?;
    let found = reassemble(lines, Config::default());
    check_conserved(&found, fx.truth.lines.len(), &name)?;
    let mut want: Vec<(String, Vec<usize>)> = fx
        .truth
        .reports
        .iter()
        .map(|r| (r.event.clone(), r.lines.clone()))
        .collect();
    want.sort();
    let mut got = found.reports;
    got.sort();
    if got != want {
        let text = |i: &usize| fx.truth.lines[*i].text.clone();
        let mut diff = String::new();
        for w in &want {
            if let Some(g) = got
                .iter()
                .max_by_key(|g| g.1.iter().filter(|i| w.1.contains(i)).count())
            {
                let missing: Vec<String> =
                    w.1.iter()
                        .filter(|i| !g.1.contains(i))
                        .take(4)
                        .map(|i| format!("{i} {:?}", text(i)))
                        .collect();
                let extra: Vec<String> =
                    g.1.iter()
                        .filter(|i| !w.1.contains(i))
                        .take(4)
                        .map(|i| format!("{i} {:?}", text(i)))
                        .collect();
                diff += &format!(
                    "  want {} ({} lines from {}): missing {missing:?}, extra {extra:?}\n",
                    w.0,
                    w.1.len(),
                    w.1[0]
                );
            }
        }
        return Err(format!(
            "{name}: {} reports found, {} in truth\n{diff}",
            got.len(),
            want.len()
        ));
    }
    Ok(())
}

#[test]
fn several_writers_reports_are_exact_in_every_format() {
    let all = fixtures_in(&multi_dir());
    assert!(all.len() >= 12, "{} several-writer fixtures", all.len());
    let mut failures = Vec::new();
    let mut checked = 0;
    for fx in &all {
        // Real interleaving: some line of another origin lies inside a report.
        let inside = fx.truth.reports.iter().any(|r| {
            let (lo, hi) = (r.lines[0], *r.lines.last().unwrap());
            (lo..hi).any(|i| !r.lines.contains(&i) && fx.truth.lines[i].stream == r.stream)
        });
        assert!(
            inside,
            "{}: no line of another writer inside a report",
            fx.name()
        );
        for (file, format) in FORMATS {
            checked += 1;
            if let Err(e) = check(fx, file, format) {
                failures.push(e);
            }
        }
    }
    eprintln!(
        "several-writer fixtures: {} of {checked} files exact",
        checked - failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {checked} files not exact:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
