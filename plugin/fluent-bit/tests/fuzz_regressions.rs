//! Replays the fuzzer's findings for the module (`fuzz/`, targets
//! `json_scan` and `filter`) through the same checks the fuzzer runs, on
//! the stable toolchain: every input under
//! `tests/fuzz-regressions/{json_scan,filter}/` at the repository root,
//! plus hand-picked inputs that exercise each check.
//! `GOPANIC_FUZZ_REPLAY=<dir>` replays a directory for both targets too.

// Tests assert by panicking; clippy's restriction lints are for host code.
#![allow(clippy::restriction)]

// The fuzz crate\'s public API, included here as modules.
#[path = "../../../fuzz/src/filter.rs"]
#[allow(unreachable_pub)]
mod filter;
// The fuzz crate\'s public API, included here as modules.
#[path = "../../../fuzz/src/json_scan.rs"]
#[allow(unreachable_pub)]
mod json_scan;

// The fuzz crate\'s public API, included here as modules.
#[path = "../../../fuzz/src/replay.rs"]
#[allow(unreachable_pub)]
mod replay;

use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

#[test]
fn json_scan_findings_replay() {
    replay::replay(root(), "json_scan", json_scan::check);
}

#[test]
fn filter_findings_replay() {
    replay::replay(root(), "filter", |d| {
        filter::check(d);
    });
}

/// The checks hold on records of the shapes Fluent Bit sends, and on
/// records that reach each branch (nested, escaped, duplicate keys).
#[test]
fn json_scan_checks_hold_on_shapes() {
    for r in [
        &br#"{"time":"2026-11-27T06:51:01.5Z","stream":"stderr","_p":"F","log":"panic: boom"}"#[..],
        br#"{"log":"goroutine 1 [running]:\n","stream":"stderr","time":"2026-11-27T06:51:01.5Z"}"#,
        br#" {"a":[1,{"b":"log"}],"log":"caf\u00e9 \ud83d\ude00","log":"x"} "#,
        br#"{"gopanic_tick":true,"max_record_bytes":1000}"#,
        br#"{"log":"\ud800"}"#,
        b"{\"log\":\"\xff\"}",
        br#"{"a":01}"#,
        b"",
    ] {
        json_scan::check(r);
    }
    let deep = format!(
        "{{\"log\":\"x\",\"k\":{}1{}}}",
        "[".repeat(500),
        "]".repeat(500)
    );
    json_scan::check(deep.as_bytes());
}

/// A report through both filters: seven lines, then heartbeats that let
/// the queued records out.
#[test]
fn filter_checks_hold_on_a_report() {
    let lines = [
        "ready",
        "panic: boom",
        "",
        "goroutine 1 [running]:",
        "main.main()",
        "\\t/app/main.go:9 +0x1d",
        "after",
    ];
    let mut data = Vec::new();
    for (i, log) in lines.iter().enumerate() {
        data.push(2);
        data.extend_from_slice(
            format!(
                r#"{{"time":"2026-11-27T06:51:01.{i}Z","stream":"stderr","_p":"F","log":"{log}"}}"#
            )
            .as_bytes(),
        );
        data.push(b'\n');
    }
    for _ in 0..3 {
        data.extend_from_slice(b"\x18{\"gopanic_tick\":true}\n");
    }
    assert_eq!(filter::check(&data), 10);
}
