//! The reassembler on small inputs, line by line.

use super::*;

/// Pushes `lines` (one stream, 1 ms apart), finishes, and describes the
/// outputs: `L text` for an ordinary line, `R event [lines…]` for a
/// report.
fn run_with(cfg: Config, text: &str) -> Vec<String> {
    let mut r: Reassembler<u8, String> = Reassembler::new(cfg);
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        r.push(&0, l.to_owned(), i as i64 * 1_000_000, &mut out);
    }
    r.finish(&mut out);
    let stats = r.stats();
    let shown: Vec<String> = out.iter().map(describe).collect();
    let lines_out: usize = out
        .iter()
        .map(|o| match o {
            Output::Line(..) => 1,
            Output::Report(_, rep) => rep.lines.len(),
        })
        .sum();
    assert_eq!(lines_out as u64, stats.lines_in, "conservation: {shown:#?}");
    shown
}

fn run(text: &str) -> Vec<String> {
    run_with(Config::default(), text)
}

fn describe(o: &Output<u8, String>) -> String {
    match o {
        Output::Line(_, l) => format!("L {l}"),
        Output::Report(_, rep) => format!("R {} {:?}", rep.event.as_str(), rep.lines),
    }
}

const NIL_DEREF_122: &str = "\
panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x47e0a4]

goroutine 1 [running]:
main.(*Cart).Total(...)
\t/app/cart.go:88
main.main()
\t/app/main.go:12 +0x24";

#[test]
fn a_panic_is_one_report_between_ordinary_lines() {
    let text = format!("starting\n{NIL_DEREF_122}\nnext process line");
    let out = run(&text);
    assert_eq!(out.len(), 3, "{out:#?}");
    assert_eq!(out[0], "L starting");
    assert!(out[1].starts_with("R panic [\"panic: runtime error"));
    assert!(out[1].ends_with("\"\\t/app/main.go:12 +0x24\"]"));
    assert_eq!(out[2], "L next process line");
}

#[test]
fn foreign_line_between_function_and_location_leaves_alone() {
    let text = NIL_DEREF_122.replace(
        "main.main()\n",
        "main.main()\n{\"level\":\"info\",\"msg\":\"sidecar\"}\n",
    );
    let out = run(&text);
    assert_eq!(out.len(), 2, "{out:#?}");
    assert_eq!(out[0], "L {\"level\":\"info\",\"msg\":\"sidecar\"}");
    assert!(out[1].contains("\"main.main()\", \"\\t/app/main.go:12 +0x24\""));
}

#[test]
fn goroutine_blocks_join_across_blank_lines_and_held_foreign_lines() {
    let text = "\
fatal error: all goroutines are asleep - deadlock!

goroutine 1 [chan receive]:
main.main()
\t/app/main.go:9 +0x2d
sidecar says hi

goroutine 6 gp=0xc000007a40 m=nil [select, 3 minutes, locked to thread]:
main.worker[...](0xc000010000, {0x1, 0x2})
\t/app/worker.go:20 +0x90 fp=0xc0000 sp=0xc0000 pc=0x4a
created by main.main in goroutine 1
\t/app/main.go:8 +0x25
after";
    let out = run(text);
    assert_eq!(out.len(), 3, "{out:#?}");
    assert_eq!(out[0], "L sidecar says hi");
    assert!(out[1].starts_with("R fatal_error"));
    assert!(out[1].contains("goroutine 6 gp="));
    assert_eq!(out[2], "L after");
}

#[test]
fn trailing_blank_and_ordinary_lines_after_a_report_are_ordinary() {
    let text = format!("{NIL_DEREF_122}\n\nnext");
    let out = run(&text);
    assert_eq!(out.len(), 3, "{out:#?}");
    assert_eq!(out[1], "L ");
    assert_eq!(out[2], "L next");
}

#[test]
fn recovered_chains_and_tabbed_values() {
    let text = "\
panic: first [recovered, repanicked]
\tpanic: second
\tline two of second

goroutine 1 [running]:
main.main.func1()
\t/app/main.go:7 +0x1d
panic({0x4b2d40?, 0xc000012345?})
\t/usr/local/go/src/runtime/panic.go:792 +0x132
main.main()
\t/app/main.go:10 +0x4b";
    let out = run(text);
    assert_eq!(out.len(), 1, "{out:#?}");
}

#[test]
fn old_multi_line_panic_values_join_when_goroutines_follow() {
    let text = "\
panic: line one
line two

line four

goroutine 1 [running]:
main.main()
\t/app/main.go:5 +0x25";
    let out = run(text);
    assert_eq!(out.len(), 1, "{out:#?}");
    assert!(out[0].contains("\"line four\""));
}

#[test]
fn stack_overflow_with_lead_in_and_runtime_stack() {
    let text = "\
runtime: goroutine stack exceeds 1000000000-byte limit
runtime: sp=0xc0200e0390 stack=[0xc0200e0000, 0xc0400e0000]
fatal error: stack overflow

runtime stack:
runtime.throw({0x4a0b5b?, 0x0?})
\t/usr/local/go/src/runtime/panic.go:1047 +0x5d fp=0x7ffd sp=0x7ffd pc=0x4331dd
runtime.newstack()
\t/usr/local/go/src/runtime/stack.go:1103 +0x5cc fp=0x7ffd sp=0x7ffd pc=0x44c9ec

goroutine 1 gp=0xc0000061c0 m=0 mp=0x5ba2c0 [running]:
main.f(0x0?)
\t/app/main.go:5 +0x2c fp=0xc0200e03a0 sp=0xc0200e0398 pc=0x457a8c
...22369475 frames elided...
main.f(0x0?)
\t/app/main.go:5 +0x25
main.main()
\t/app/main.go:9 +0x17";
    let out = run(text);
    assert_eq!(out.len(), 1, "{out:#?}");
    assert!(out[0].starts_with("R fatal_error [\"runtime: goroutine stack"));
}

#[test]
fn unconfirmed_lead_ins_fall_back_to_ordinary_lines() {
    let out =
        run("runtime: just an app line\nnext\n==================\nnot a race\nSIGTERM: bye\nok");
    assert_eq!(
        out,
        [
            "L runtime: just an app line",
            "L next",
            "L ==================",
            "L not a race",
            "L SIGTERM: bye",
            "L ok",
        ]
    );
}

#[test]
fn signal_reports_with_registers() {
    let text = "\
SIGQUIT: quit
PC=0x46a9e1 m=0 sigcode=0

goroutine 0 gp=0x5ba500 m=0 mp=0x5ba2c0 [idle]:
runtime.futex(0x5ba400, 0x80, 0x0, 0x0, 0x0, 0x0)
\t/usr/local/go/src/runtime/sys_linux_amd64.s:557 +0x21 fp=0x7ffd sp=0x7ffd pc=0x46a9e1

goroutine 1 gp=0xc0000061c0 m=nil [sleep]:
\tgoroutine running on other thread; stack unavailable

rax    0xca
rbx    0x0
rip    0x46a9e1
next";
    let out = run(text);
    assert_eq!(out.len(), 2, "{out:#?}");
    assert!(out[0].starts_with("R signal"));
    assert!(out[0].contains("\"rip    0x46a9e1\""));
}

#[test]
fn race_reports_close_at_their_delimiter() {
    let text = "\
==================
WARNING: DATA RACE
Write at 0x00c000012345 by goroutine 7:
  main.main.func1()
      /app/main.go:12 +0x44
{\"level\":\"info\"}

Previous read at 0x00c000012345 by main goroutine:
  main.main()
      /app/main.go:15 +0x88

Goroutine 7 (running) created at:
  main.main()
      /app/main.go:11 +0x7a
==================
==================
WARNING: DATA RACE
Read at 0x00c000012345 by goroutine 8:
  main.main.func2()
      /app/main.go:20 +0x44
==================
Found 2 data race(s)";
    let out = run(text);
    assert_eq!(out.len(), 4, "{out:#?}");
    assert_eq!(out[0], "L {\"level\":\"info\"}");
    assert!(out[1].starts_with("R data_race"));
    assert!(out[2].starts_with("R data_race"));
    assert_eq!(out[3], "L Found 2 data race(s)");
}

#[test]
fn http_panics_and_bare_dumps() {
    let text = "\
2026/11/27 05:20:58 http: panic serving 127.0.0.1:54321: boom
goroutine 7 [running]:
net/http.(*conn).serve.func1()
\t/usr/local/go/src/net/http/server.go:1947 +0xbe
created by net/http.(*Server).Serve in goroutine 1
\t/usr/local/go/src/net/http/server.go:3285 +0x4b4
goroutine 1 [running]:
main.main()
\t/app/main.go:5 +0x25
goroutine 2 [nothing follows]:
plain";
    let out = run(text);
    assert_eq!(out.len(), 4, "{out:#?}");
    assert!(out[0].starts_with("R http_panic"));
    assert!(out[1].starts_with("R goroutine_dump"));
    assert_eq!(out[2], "L goroutine 2 [nothing follows]:");
    assert_eq!(out[3], "L plain");
}

#[test]
fn idle_timeout_and_tick_close_reports() {
    let mut r: Reassembler<u8, String> = Reassembler::new(Config::default());
    let mut out = Vec::new();
    r.push(&0, "panic: boom".into(), 0, &mut out);
    r.push(&0, String::new(), 1, &mut out);
    r.tick(999_999_999, &mut out);
    assert!(out.is_empty());
    r.tick(1_000_000_001, &mut out);
    assert_eq!(out.len(), 2);
    assert!(matches!(out[0], Output::Report(0, _)));
    assert_eq!(out[1], Output::Line(0, String::new()));
    // A line arriving after the idle time closes the report first.
    out.clear();
    r.push(&1, "panic: again".into(), 0, &mut out);
    r.push(&1, "\tvalue".into(), 5_000_000_000, &mut out);
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(out[1], Output::Line(1, "\tvalue".into()));
}

#[test]
fn deep_tracebacks_get_the_longer_idle_timeout() {
    // Go pauses after the 50th frame to count elided frames.
    let mut r: Reassembler<u8, String> = Reassembler::new(Config::default());
    let mut out = Vec::new();
    r.push(&0, "fatal error: stack overflow".into(), 0, &mut out);
    r.push(&0, String::new(), 0, &mut out);
    r.push(&0, "goroutine 1 [running]:".into(), 0, &mut out);
    for _ in 0..TRACEBACK_INNER_FRAMES {
        r.push(&0, "main.depth(...)".into(), 0, &mut out);
        r.push(&0, "\t/app/main.go:12".into(), 0, &mut out);
    }
    r.push(
        &0,
        "...44739045 frames elided...".into(),
        1_500_000_000,
        &mut out,
    );
    r.push(&0, "main.depth(...)".into(), 3_000_000_000, &mut out);
    r.push(&0, "\t/app/main.go:12".into(), 3_000_000_000, &mut out);
    r.tick(9_000_000_000, &mut out);
    assert!(out.is_empty(), "{out:?}");
    r.tick(13_000_000_000, &mut out);
    assert_eq!(out.len(), 1);
    assert!(matches!(&out[0], Output::Report(_, rep) if rep.lines.len() == 106));
}

#[test]
fn two_threads_throwing_at_once_is_one_report() {
    let text = "\
fatal error: concurrent map writes
fatal error: concurrent map writes

goroutine 7 [running]:
main.fill()
\t/app/main.go:15 +0xd2";
    assert_eq!(run(text).len(), 1);
    // But a fatal error after a finished report is a report of its own.
    let text = format!("{NIL_DEREF_122}\nfatal error: concurrent map writes");
    assert_eq!(run(&text).len(), 2);
}

#[test]
fn hosts_can_close_one_stream_and_see_what_is_held() {
    let mut r: Reassembler<u8, String> = Reassembler::new(Config::default());
    let mut out = Vec::new();
    r.push(&1, "panic: a".into(), 0, &mut out);
    r.push(&2, "panic: bb".into(), 0, &mut out);
    r.push(&2, String::new(), 0, &mut out);
    let mut sizes: Vec<(u8, usize)> = r.open_streams().map(|(k, n)| (*k, n)).collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [(1, 9), (2, 11)]);
    r.tick_stream(&2, 999_999_999, &mut out);
    assert!(out.is_empty());
    r.tick_stream(&1, 1_000_000_000, &mut out);
    assert_eq!(out.len(), 1);
    assert!(matches!(&out[0], Output::Report(1, rep) if rep.lines == ["panic: a"]));
    out.clear();
    r.close_stream(&2, &mut out);
    r.close_stream(&3, &mut out);
    assert_eq!(out.len(), 2);
    assert!(matches!(&out[0], Output::Report(2, rep) if rep.lines == ["panic: bb"]));
    assert_eq!(out[1], Output::Line(2, String::new()));
    assert_eq!(r.open_reports(), 0);
}

#[test]
fn bounds_split_reports_into_parts() {
    let cfg = Config {
        max_report_lines: 3,
        ..Config::default()
    };
    let out = run_with(cfg.clone(), NIL_DEREF_122);
    assert_eq!(out.len(), 3, "{out:#?}");
    let mut r: Reassembler<u8, String> = Reassembler::new(cfg);
    let mut outs = Vec::new();
    for l in NIL_DEREF_122.lines() {
        r.push(&0, l.into(), 0, &mut outs);
    }
    r.finish(&mut outs);
    let splits: Vec<Split> = outs
        .iter()
        .filter_map(|o| match o {
            Output::Report(_, rep) => rep.split,
            Output::Line(..) => None,
        })
        .collect();
    assert_eq!(splits.len(), 3);
    assert!(splits.iter().all(|s| s.id == splits[0].id));
    assert_eq!(splits.iter().map(|s| s.part).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(r.stats().reports, 1);
}

#[test]
fn under_a_record_bound_report_parts_count_escaped_text() {
    // Frame lines heavy with tabs: each takes about twice its bytes in JSON.
    let mut text = "panic: boom\n\ngoroutine 1 [running]:\n".to_owned();
    for i in 0..40 {
        text += &format!("main.f{i}()\n\t\t\t\t\t\t\t\t\t\t/a.go:{i}\n");
    }
    let bound = crate::event::bounded_config(Config::default(), Some(1000));
    assert!(bound.json_text && bound.max_report_bytes == 500);
    let mut r: Reassembler<u8, String> = Reassembler::new(bound);
    let mut out = Vec::new();
    for l in text.lines() {
        r.push(&0, l.to_owned(), 0, &mut out);
    }
    r.finish(&mut out);
    let parts: Vec<String> = out
        .iter()
        .filter_map(|o| match o {
            Output::Report(_, rep) => Some(rep.lines.join("\n")),
            Output::Line(..) => None,
        })
        .collect();
    assert_eq!(parts.concat().len() + parts.len() - 1, text.len() - 1);
    for p in &parts {
        assert!(serde_json::to_string(p).unwrap().len() - 2 <= 500, "{p:?}");
    }
    // Counted in raw bytes the parts would be fewer, and over the bound.
    let raw = Config {
        max_report_bytes: 500,
        ..Config::default()
    };
    let raw_parts = run_with(raw, &text).len();
    assert!(raw_parts < parts.len(), "{raw_parts} {}", parts.len());
}

#[test]
fn log_lines_after_a_panic_message_are_foreign() {
    // Before Go 1.23 an untabbed line after `panic:` reads as the value;
    // one in a log's shape never does, nor one after the blank line.
    let text = "\
panic: config invalid
  - missing port
{\"level\":\"info\",\"msg\":\"sidecar\"}
2026/11/27 05:20:58 sidecar flushed

stray line
goroutine 1 [running]:
main.main()
\t/app/main.go:5 +0x25";
    let out = run(text);
    assert_eq!(
        out,
        [
            "L {\"level\":\"info\",\"msg\":\"sidecar\"}",
            "L 2026/11/27 05:20:58 sidecar flushed",
            "L stray line",
            "R panic [\"panic: config invalid\", \"  - missing port\", \"\", \"goroutine 1 [running]:\", \"main.main()\", \"\\t/app/main.go:5 +0x25\"]",
        ]
    );
}

#[test]
fn unproven_starts_wait_over_log_lines() {
    let text = "\
SIGQUIT: quit
{\"level\":\"info\"}
PC=0x46a9e1 m=0 sigcode=0

goroutine 1 [sleep]:
time.Sleep(0x3b9aca00)
\t/usr/local/go/src/runtime/time.go:315 +0xf2

rax    0xca
{\"level\":\"info\"}
rbx    0x0";
    let out = run(text);
    assert_eq!(out.len(), 3, "{out:#?}");
    assert!(out[2].starts_with("R signal [\"SIGQUIT: quit\", \"PC="));
    assert!(out[2].ends_with("\"rbx    0x0\"]"));
}

#[test]
fn two_binaries_crashing_together_are_told_apart() {
    // Two processes' reports interleaved: goroutine ids, `created by`
    // and each binary's source directory decide.
    let a = [
        "panic: a failed",
        "",
        "goroutine 1 [running]:",
        "main.a()",
        "\t/app/a.go:3 +0x1",
    ];
    let b = [
        "panic: b failed",
        "",
        "goroutine 1 [running]:",
        "main.b()",
        "\t/srv/b/main.go:9 +0x2",
    ];
    let a2 = [
        "main.main()",
        "\t/app/main.go:12 +0x3",
        "",
        "goroutine 7 [chan receive]:",
        "runtime.gopark(0x0?)",
        "\t/usr/lib/go-1.22/src/runtime/proc.go:402 +0xce",
        "created by main.start in goroutine 1",
        "\t/app/main.go:20 +0x5",
    ];
    let b2 = ["main.main()", "\t/srv/b/main.go:14 +0x4"];
    let text = [&a[..], &b, &a2, &b2].concat().join("\n");
    let out = run(&text);
    let want_a = format!("R panic {:?}", [&a[..], &a2].concat());
    let want_b = format!("R panic {:?}", [&b[..], &b2].concat());
    assert_eq!(out, [want_a, want_b]);
}

#[test]
fn a_blank_line_a_report_passed_over_never_joins_it_later() {
    // Two panics open in one stream; the block goes to `panic: b`. The
    // blank line after `panic: a` is no line of its value (Go prints none
    // between a panic line and its `\t` lines), so `\t/b` leaves it
    // behind; `panic: b` taking `t()` must not make it `panic: a`'s again,
    // to join after `\t/c` as a value line.
    let text = "panic: a\n\npanic: b\n\ngoroutine 1 [running]:\n\t/b\n\nt()\n\t/c";
    let out = run(text);
    assert_eq!(
        out,
        [
            r#"R panic ["panic: a", "\t/b", "\t/c"]"#,
            r#"R panic ["panic: b", "", "goroutine 1 [running]:", "t()"]"#,
            "L ",
            "L ",
        ]
    );
}

#[test]
fn a_disproved_start_keeps_its_place_among_held_lines() {
    // `SIGSEGV: s` opens an unconfirmed report beside `panic: a`; the next
    // line continues the panic's value, the blank line disproves the
    // signal report. `SIGSEGV: s` came before that value line: held, it
    // must not join the panic after it (as a value line, when the header
    // comes).
    let text =
        "panic: a\nSIGSEGV: s\nsignal arrived during cgo execution\n\ngoroutine 1 [syscall]:";
    let out = run(text);
    assert_eq!(
        out,
        [
            "L SIGSEGV: s",
            r#"R panic ["panic: a", "signal arrived during cgo execution", "", "goroutine 1 [syscall]:"]"#,
        ]
    );
}

#[test]
fn reports_leave_in_the_order_they_started() {
    let text = format!(
        "{NIL_DEREF_122}\n==================\nWARNING: DATA RACE\nRead at 0x00c000012345 by goroutine 8:\n  main.f()\n      /app/main.go:20 +0x44\n=================="
    );
    let out = run(&text);
    assert_eq!(out.len(), 2, "{out:#?}");
    assert!(out[0].starts_with("R panic"));
    assert!(out[1].starts_with("R data_race"));
}

#[test]
fn documented_ambiguities_come_out_as_documented() {
    // docs/grammar.md, "Lines in another writer's shape".
    let block = "\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:5 +0x1d";
    let out = run(&format!("panic: config invalid\nretrying in 5s\n{block}"));
    assert_eq!(out.len(), 1, "value line: {out:#?}");
    let out = run("panic: config invalid\nretrying in 5s");
    assert_eq!(
        out,
        ["R panic [\"panic: config invalid\"]", "L retrying in 5s"]
    );
    let out = run(&format!("panic: x\n\nretrying in 5s{block}"));
    assert_eq!(out[0], "L retrying in 5s", "{out:#?}");
    let out = run("SIGQUIT: quit\nretrying in 5s\nPC=0x46a9e1 m=0 sigcode=0");
    assert!(out.iter().all(|o| o.starts_with("L ")), "{out:#?}");
    let out =
        run("fatal error: concurrent map writes\nretrying\nfatal error: concurrent map writes");
    assert_eq!(
        out.iter().filter(|o| o.starts_with("R ")).count(),
        2,
        "{out:#?}"
    );
    // "Several writers": one binary twice; the block goes to `panic: b`.
    let out = run(&format!("panic: a\npanic: b\n{block}"));
    assert_eq!(out[0], "R panic [\"panic: a\"]", "{out:#?}");
    assert!(out[1].starts_with("R panic [\"panic: b\", \"\", \"goroutine 1"));
}

#[test]
fn streams_are_independent_and_bounded() {
    let cfg = Config {
        max_open_streams: 2,
        ..Config::default()
    };
    let mut r: Reassembler<u8, String> = Reassembler::new(cfg);
    let mut out = Vec::new();
    r.push(&1, "panic: a".into(), 0, &mut out);
    r.push(&2, "panic: b".into(), 1, &mut out);
    r.push(&1, "\tmore of a".into(), 2, &mut out);
    assert!(out.is_empty());
    r.push(&3, "panic: c".into(), 3, &mut out);
    // Stream 2 was idle the longest: its report left.
    assert_eq!(out.len(), 1);
    assert!(matches!(&out[0], Output::Report(2, rep) if rep.lines == ["panic: b"]));
    assert_eq!(r.open_reports(), 2);
}

/// Pushes `(stream, line)` pairs 1 ms apart, checking after each that the
/// memory held stays within `cfg.max_held_bytes`, then finishes; checks that
/// every line left exactly once and, per stream, in the order pushed (the
/// inputs hold no other writer's lines, which alone may overtake a report).
fn run_budget(cfg: Config, input: &[(u16, String)]) -> Vec<Output<u16, String>> {
    let max = cfg.max_held_bytes;
    let mut r: Reassembler<u16, String> = Reassembler::new(cfg);
    let mut out = Vec::new();
    for (i, (k, l)) in input.iter().enumerate() {
        r.push(k, l.clone(), i as i64 * 1_000_000, &mut out);
        assert!(r.held_bytes() <= max, "{} > {max}", r.held_bytes());
    }
    r.finish(&mut out);
    assert_eq!((r.open_reports(), r.held_bytes()), (0, 0));
    let mut streams: Vec<u16> = input.iter().map(|(k, _)| *k).collect();
    streams.sort_unstable();
    streams.dedup();
    for s in streams {
        let sent: Vec<&String> = input
            .iter()
            .filter(|(k, _)| *k == s)
            .map(|x| &x.1)
            .collect();
        let left: Vec<&String> = out
            .iter()
            .flat_map(|o| match o {
                Output::Line(k, l) if *k == s => vec![l],
                Output::Report(k, rep) if *k == s => rep.lines.iter().collect(),
                _ => vec![],
            })
            .collect();
        assert_eq!(left, sent, "stream {s}");
    }
    out
}

/// A fatal error with `n` goroutine blocks, every line distinct.
fn dump(n: usize) -> Vec<String> {
    let mut lines = vec!["fatal error: all goroutines are asleep - deadlock!".to_owned()];
    for g in 1..=n {
        lines.push(String::new());
        lines.push(format!("goroutine {g} [chan receive]:"));
        lines.push(format!("main.worker{g}(0xc000010000)"));
        lines.push(format!("\t/app/worker.go:{g} +0x90"));
        lines.push("created by main.main in goroutine 1".to_owned());
        lines.push(format!("\t/app/main.go:{g} +0x25"));
    }
    lines
}

fn parts(out: &[Output<u16, String>]) -> Vec<Option<Split>> {
    out.iter()
        .filter_map(|o| match o {
            Output::Report(_, rep) => Some(rep.split),
            Output::Line(..) => None,
        })
        .collect()
}

#[test]
fn memory_budget_splits_the_largest_report_into_parts() {
    let cfg = Config {
        max_held_bytes: 64 << 10,
        ..Config::default()
    };
    // Unbounded, the dump is one report holding several times the budget.
    let input: Vec<(u16, String)> = dump(2000).into_iter().map(|l| (7, l)).collect();
    let whole = run_budget(
        Config {
            max_held_bytes: usize::MAX,
            ..cfg.clone()
        },
        &input,
    );
    assert_eq!(parts(&whole), [None]);
    let out = run_budget(cfg, &input);
    let parts = parts(&out);
    assert!(parts.len() > 5, "{} parts", parts.len());
    for (n, p) in parts.iter().enumerate() {
        let p = p.expect("every part is marked");
        assert_eq!((p.id, p.part as usize), (parts[0].unwrap().id, n + 1));
    }
}

#[test]
fn memory_budget_closes_streams_when_many_hold_a_report() {
    // 5,000 streams each in the middle of a report (a frame waiting for its
    // location), interleaved; the budget holds a few hundred.
    let cfg = Config {
        max_held_bytes: 256 << 10,
        max_open_streams: 100_000,
        ..Config::default()
    };
    let mut input = Vec::new();
    for step in 0..4 {
        for s in 0..5000u16 {
            let line = match step {
                0 => format!("panic: stream {s}"),
                1 => String::new(),
                2 => format!("goroutine {s} [running]:"),
                _ => format!("main.f{s}()"),
            };
            input.push((s, line));
        }
    }
    let out = run_budget(cfg, &input);
    assert!(out.len() >= 5000, "{}", out.len());
}

#[test]
fn memory_budget_closes_a_stream_whose_held_lines_dominate() {
    // A panic message, its blank line, then other writers' lines held while
    // the goroutine block may still come: closing the stream lets them out.
    let cfg = Config {
        max_held_bytes: 32 << 10,
        ..Config::default()
    };
    let mut input = vec![(1, "panic: boom".to_owned()), (1, String::new())];
    for i in 0..100 {
        input.push((1, format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat(1000))));
    }
    let out = run_budget(cfg, &input);
    assert_eq!(parts(&out), [None], "{out:?}");
    assert!(matches!(&out[0], Output::Report(1, rep) if rep.lines == ["panic: boom"]));
}

#[test]
fn streams_with_nothing_open_are_dropped() {
    let mut r: Reassembler<u16, String> = Reassembler::new(Config::default());
    let mut out = Vec::new();
    for s in 0..1000 {
        r.push(&s, format!("panic: {s}"), 0, &mut out);
    }
    assert_eq!(r.open_reports(), 1000);
    assert!(r.held_bytes() > 1000 * 100);
    r.tick(2_000_000_000, &mut out);
    assert_eq!((r.open_reports(), r.held_bytes(), out.len()), (0, 0, 1000));
}

#[test]
fn goroutine_ids_read_as_str_parse_reads_them() {
    for text in [
        "goroutine 1 [running]:",
        "goroutine 18446744073709551615 [select]:",
        "goroutine 18446744073709551616 [select]:",
        "goroutine 007 [x]:",
        "goroutine  [x]:",
        "goroutine 12",
        "goroutine -1 [x]:",
        "created by main.main in goroutine 1",
    ] {
        let by_parse = text.strip_prefix("goroutine ").and_then(|rest| {
            let end = rest.find(|c: char| !c.is_ascii_digit())?;
            rest[..end].parse::<u64>().ok()
        });
        assert_eq!(goroutine_id(text), by_parse, "{text:?}");
    }
}

/// What `root_of` means, read from the whole file path: the last `/src/`
/// followed by a standard package path gives GOROOT; a relative standard
/// path gives `""`; else the file's directory.
fn root_by_file(text: &str) -> Option<(bool, &str)> {
    let rest = text.strip_prefix('\t')?;
    let file = &rest[..rest.rfind(':')?];
    let is_std = |p: &str| {
        p.split_once('/')
            .is_some_and(|(first, _)| !first.is_empty() && !first.contains('.'))
    };
    if let Some(at) = file.rfind("/src/")
        && is_std(&file[at + 5..])
    {
        return Some((true, &file[..at + 5]));
    }
    if !file.starts_with('/') && is_std(file) {
        return Some((true, ""));
    }
    Some((false, &file[..file.rfind('/')?]))
}

/// A location line's root is read from its file's directory, the same for
/// every file there: what lets a report skip the directories it has seen.
#[test]
fn root_depends_on_the_directory_alone() {
    let dirs = [
        "/usr/local/go/src/net/http",
        "/usr/local/go/src",
        "/usr/local/go/src/cmd/vendor/x/src/y",
        "/go/src/github.com/acme/orders/worker",
        "/src",
        "/a/src/b.c/d",
        "runtime",
        "net/http",
        "github.com/acme/x",
        "",
        "C:/go/src/runtime",
        "a/src/src",
        "x/src/",
        "/go/src/a/src",
        "/usr/local/go/src/vendor/golang.org/x/net",
        "a//b",
    ];
    for dir in dirs {
        let lines = [
            format!("\t{dir}/pool.go:141 +0x8d"),
            format!("\t{dir}/a.b.go:7"),
            format!("\t{dir}/x:y.go:7 fp=0xc000 sp=0xc000 pc=0x1"),
        ];
        for line in &lines {
            assert_eq!(location_dir(line), Some(dir), "{line:?}");
            assert_eq!(root_of(line), root_by_file(line), "{line:?}");
        }
    }
    assert_eq!(location_dir("\t_cgo_gotypes.go:12"), None);
    assert_eq!(root_of("\t_cgo_gotypes.go:12"), None);
}
