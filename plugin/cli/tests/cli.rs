//! The `gopanic` binary as a user runs it: files and stdin in, NDJSON out,
//! flags, errors.

// Tests assert by panicking; clippy's restriction lints are for host code.
#![allow(clippy::restriction)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gopanic"))
}

fn run_stdin(args: &[&str], input: impl AsRef<[u8]>) -> Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_ref())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn records(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

const CRI: &str = "\
2026-11-27T06:51:01.000000001Z stdout F {\"level\":\"info\",\"msg\":\"ready\"}
2026-11-27T06:51:01.000000002Z stderr F panic: runtime error: integer divide by zero
2026-11-27T06:51:01.000000003Z stderr F 
2026-11-27T06:51:01.000000004Z stderr F goroutine 1 [running]:
2026-11-27T06:51:01.000000005Z stdout F {\"level\":\"info\",\"msg\":\"still here\"}
2026-11-27T06:51:01.000000006Z stderr F main.main()
2026-11-27T06:51:01.000000007Z stderr P \t/app/ma
2026-11-27T06:51:01.000000008Z stderr F in.go:9 +0x1d
";

fn temp_file(name: &str, content: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gopanic-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

#[test]
fn joins_a_cri_report_from_stdin() {
    let out = run_stdin(&["--stats"], CRI);
    assert!(out.status.success());
    let recs = records(&out);
    assert_eq!(recs.len(), 3, "{recs:#?}");
    assert_eq!(recs[0]["log"], "{\"level\":\"info\",\"msg\":\"ready\"}");
    assert_eq!(recs[0]["stream"], "stdout");
    assert_eq!(recs[1]["stream"], "stdout");
    let report = &recs[2];
    assert_eq!(report["time"], "2026-11-27T06:51:01.000000002Z");
    assert_eq!(report["stream"], "stderr");
    assert_eq!(
        report["log"],
        "panic: runtime error: integer divide by zero\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:9 +0x1d"
    );
    assert_eq!(report["go"]["event"], "panic");
    assert_eq!(report["go"]["lines"], 5);
    assert_eq!(report["go"]["truncated"], false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("8 lines in, 3 records out, 1 reports (1 parts), 0 malformed"),
        "{stderr}"
    );
}

#[test]
fn files_are_separate_sources() {
    // The report's first half in one file must not join the second half in
    // another: each file is its own source.
    let (a, b) = CRI.split_at(CRI.find("2026-11-27T06:51:01.000000005Z").unwrap());
    let fa = temp_file("a.log", a);
    let fb = temp_file("b.log", b);
    let out = bin().arg(&fa).arg(&fb).output().unwrap();
    assert!(out.status.success());
    let recs = records(&out);
    let reports: Vec<_> = recs.iter().filter(|r| r.get("go").is_some()).collect();
    assert_eq!(reports.len(), 1, "{recs:#?}");
    assert_eq!(reports[0]["go"]["lines"], 3);
    // a.log: its stdout line and the 3-line report; b.log: three ordinary
    // lines (stdout, `main.main()`, the location merged from P+F).
    assert_eq!(recs.len(), 5, "{recs:#?}");
    assert_eq!(recs[4]["log"], "\t/app/main.go:9 +0x1d");
}

#[test]
fn forced_format_counts_malformed_lines_and_keeps_them() {
    let out = run_stdin(
        &["--format", "docker", "--stats"],
        "not json\n{\"log\":\"ok\\n\",\"stream\":\"stdout\"}\n",
    );
    assert!(out.status.success());
    let recs = records(&out);
    assert_eq!(recs[0], serde_json::json!({"log": "not json"}));
    assert_eq!(
        recs[1],
        serde_json::json!({"stream": "stdout", "log": "ok"})
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 malformed"));
}

#[test]
fn report_bound_splits_into_parts() {
    let out = run_stdin(&["--max-report-bytes", "60"], CRI);
    assert!(out.status.success());
    let recs = records(&out);
    let parts: Vec<_> = recs.iter().filter(|r| r.get("go").is_some()).collect();
    assert!(parts.len() >= 2, "{recs:#?}");
    for (i, p) in parts.iter().enumerate() {
        assert_eq!(p["go"]["truncated"], true);
        assert_eq!(p["go"]["part"], i + 1);
        assert_eq!(p["go"]["report_id"], parts[0]["go"]["report_id"]);
        assert!(p["log"].as_str().unwrap().len() <= 60);
    }
    let lines: u64 = parts
        .iter()
        .map(|p| p["go"]["lines"].as_u64().unwrap())
        .sum();
    assert_eq!(lines, 5);
}

#[test]
fn record_bound_keeps_every_record_under_it() {
    // A deadlock dump of 300 goroutines, far over the bound.
    let mut input = String::from("fatal error: all goroutines are asleep - deadlock!\n");
    for id in 1..=300 {
        input.push_str(&format!(
            "\ngoroutine {id} [chan receive, {} minutes]:\nmain.worker{}(0xc000010000)\n\t/app/worker.go:{} +0x1d\n",
            id % 7,
            id % 13,
            id % 50
        ));
    }
    let out = run_stdin(&["--max-record-bytes", "8192"], &input);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(
        text.lines().all(|l| l.len() <= 8192),
        "a record over the bound"
    );
    let recs = records(&out);
    assert!(recs.len() > 2, "{}", recs.len());
    let lines: u64 = recs
        .iter()
        .map(|r| r["go"]["lines"].as_u64().unwrap())
        .sum();
    assert_eq!(lines, input.lines().count() as u64);
    assert!(recs.iter().all(|r| r["go"]["class"] == "deadlock"));
    assert!(recs.iter().any(|r| r["go"].get("cut").is_some()));
}

#[test]
fn idle_timeout_closes_a_report_on_a_quiet_stream() {
    // The report's last line, then nothing for longer than the idle time:
    // the report leaves while stdin is still open.
    let mut child = bin()
        .args(["--idle-timeout-ms", "50"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"panic: boom\n").unwrap();
    stdin.flush().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut buf = [0u8; 256];
    let n = std::io::Read::read(&mut stdout, &mut buf).unwrap();
    let first = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(first.contains("\"event\":\"panic\""), "{first}");
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn errors_are_clear_and_nonzero() {
    let out = bin().arg("/nonexistent/pod.log").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot open /nonexistent/pod.log"), "{err}");

    let out = bin().args(["--format", "xml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown format"));

    let out = bin().args(["--idle-timeout-ms", "soon"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn invalid_utf8_is_kept_lossily_not_dropped() {
    let out = run_stdin(&[], b"ok\n\xff\xfe bad\nlast");
    let recs = records(&out);
    assert_eq!(recs.len(), 3);
    assert_eq!(recs[1]["log"], "\u{fffd}\u{fffd} bad");
    assert_eq!(recs[2]["log"], "last");
}

/// Vector's `kubernetes_logs` shape of a decoded CRI line.
fn k8s_event(pod: &str, line: &gopanic::LogLine) -> serde_json::Value {
    serde_json::json!({
        "file": format!("/var/log/pods/shop_{pod}_uid-{pod}/app/0.log"),
        "kubernetes": {"container_name": "app", "pod_name": pod, "pod_namespace": "shop", "pod_uid": format!("uid-{pod}")},
        "message": line.text,
        "source_type": "kubernetes_logs",
        "stream": line.stream,
        "timestamp": line.time,
    })
}

#[test]
fn json_events_are_joined_as_their_container_lines_are() {
    // Every fixture's CRI log, once as CRI and once as kubernetes_logs
    // events (two pods' events interleaved): per stream, the same records.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/corpus");
    let mut logs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .flat_map(|c| std::fs::read_dir(c.path()).into_iter().flatten().flatten())
        .map(|r| r.path().join("cri.log"))
        .filter(|p| p.is_file())
        .collect();
    logs.sort();
    assert!(logs.len() > 100);
    let mut reports = 0;
    for pair in logs.chunks(2) {
        let mut events: Vec<Vec<serde_json::Value>> = Vec::new();
        let mut want: Vec<Vec<serde_json::Value>> = Vec::new();
        for (i, log) in pair.iter().enumerate() {
            let raw = std::fs::read_to_string(log).unwrap();
            let mut d = gopanic::Decoder::new(gopanic::Format::Cri, 4 << 20);
            let mut lines: Vec<gopanic::LogLine> = raw.lines().flat_map(|l| d.push(l)).collect();
            lines.extend(d.finish());
            events.push(
                lines
                    .iter()
                    .map(|l| k8s_event(&format!("p{i}"), l))
                    .collect(),
            );
            want.push(records(&bin().arg(log).output().unwrap()));
        }
        // Interleave the two pods' events a few at a time.
        let mut input = String::new();
        let mut iters: Vec<_> = events.iter().map(|e| e.iter()).collect();
        loop {
            let mut any = false;
            for it in &mut iters {
                for e in it.by_ref().take(3) {
                    input.push_str(&format!("{e}\n"));
                    any = true;
                }
            }
            if !any {
                break;
            }
        }
        let got = records(&run_stdin(&["--format", "json"], input));
        for (i, want) in want.iter().enumerate() {
            for stream in ["stdout", "stderr"] {
                let pod = format!("p{i}");
                let g: Vec<_> = got
                    .iter()
                    .filter(|r| {
                        r["kubernetes"]["pod_name"] == pod.as_str() && r["stream"] == stream
                    })
                    .map(|r| {
                        (
                            r["message"].clone(),
                            r["timestamp"].clone(),
                            r["go"].clone(),
                            r["level"].clone(),
                        )
                    })
                    .collect();
                let w: Vec<_> = want
                    .iter()
                    .filter(|r| r["stream"] == stream)
                    .map(|r| {
                        (
                            r["log"].clone(),
                            r["time"].clone(),
                            r["go"].clone(),
                            r["level"].clone(),
                        )
                    })
                    .collect();
                assert_eq!(g, w, "{} {stream}", pair[i].display());
                reports += w.iter().filter(|r| !r.2.is_null()).count();
            }
        }
    }
    assert!(reports > 150, "{reports}");
}

#[test]
fn json_events_pass_through_member_for_member() {
    let input = "{\"b\":1,\"message\":\"hello\",\"a\":{\"z\":0.10}}\n\nnot json\n{\"message\":\"panic: boom\",\"stream\":\"stderr\"}\n";
    let out = run_stdin(&["--format", "json", "--key", "stream", "--stats"], input);
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "{\"b\":1,\"message\":\"hello\",\"a\":{\"z\":0.10}}"
    );
    assert_eq!(lines[1], "{\"message\":\"not json\"}");
    let recs = records(&out);
    assert_eq!(recs.len(), 3);
    assert_eq!(recs[2]["go"]["event"], "panic");
    assert_eq!(recs[2]["message"], "panic: boom");
    assert_eq!(recs[2]["stream"], "stderr");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1 malformed"), "{err}");
}
