//! Replays the fuzzer's findings for the core (`fuzz/`, target
//! `log_pipeline`) through the same invariant checks the fuzzer runs, on
//! the stable toolchain: every input under
//! `tests/fuzz-regressions/log_pipeline/`, and the fixture corpus's logs in
//! the fuzzer's input layout. `GOPANIC_FUZZ_REPLAY=<dir>` replays a
//! directory of inputs too (a fuzzer corpus, say).

// Tests assert by panicking; clippy's restriction lints are for host code.
#![allow(clippy::restriction)]

// The fuzz crate\'s public API, included here as modules.
#[path = "../fuzz/src/log_pipeline.rs"]
#[allow(unreachable_pub)]
mod log_pipeline;

// The fuzz crate\'s public API, included here as modules.
#[path = "../fuzz/src/replay.rs"]
#[allow(unreachable_pub)]
mod replay;

use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn log_pipeline_findings_replay() {
    replay::replay(root(), "log_pipeline", |d| {
        log_pipeline::check(d);
    });
}

/// The checks themselves hold on real logs, in every format and with the
/// bounds the header selects, and see what the logs hold.
#[test]
fn log_pipeline_checks_hold_on_fixtures() {
    let dir = root().join("tests/fixtures/corpus/nil_map_write/go1.26");
    for (name, format) in [
        ("cri.log", 1u8),
        ("docker.log", 2),
        ("plain.log", 3),
        ("cri.log", 0),
    ] {
        let log = std::fs::read(dir.join(name)).unwrap();
        for (b0, b1) in [
            (format, 0u8),
            // No tiny line bound here (bit 32): lines cut into a few bytes
            // each open no report, and this checks that reports are seen.
            (format | 8 | 16, 3),
            (format | 4 | 64 | 128, 200),
        ] {
            let mut data = vec![b0, b1];
            data.extend_from_slice(&log);
            let seen = log_pipeline::check(&data);
            assert!(
                seen.lines >= 9 && seen.reports >= 1,
                "{name} {b0:#x}: {seen:?}"
            );
            assert!(seen.records > seen.reports, "{name} {b0:#x}: {seen:?}");
        }
    }
}
