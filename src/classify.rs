//! What happened, whether the process died, and a fingerprint of the cause.
//!
//! The class vocabulary is fixed and documented in `docs/record-schema.md`;
//! every class is decided from the runtime's own message, never from
//! frames alone.

use std::collections::HashMap;

use crate::crash::Event;
use crate::crash::{Crash, Frame, Goroutine};

/// `go.class` values. Kept in one list so the schema and docs can be checked
/// against it.
pub const CLASSES: &[&str] = &[
    "nil_dereference",
    "index_out_of_range",
    "slice_bounds_out_of_range",
    "divide_by_zero",
    "nil_map_write",
    "type_assertion",
    "closed_channel",
    "nil_channel_close",
    "negative_waitgroup",
    "makeslice",
    "nil_panic",
    "runtime_error",
    "custom_panic",
    "repanic",
    "concurrent_map_writes",
    "concurrent_map_read_write",
    "concurrent_map_iteration_write",
    "deadlock",
    "stack_overflow",
    "out_of_memory",
    "unlock_of_unlocked",
    "fault",
    "cgo_signal",
    "data_race",
    "goroutine_dump",
    "unknown",
];

/// The verdict on one crash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    /// One of [`CLASSES`].
    pub class: &'static str,
    /// The process ends because of this report.
    pub fatal: bool,
    /// A `recover()` could have stopped it (panics, not throws or signals).
    pub recoverable: bool,
    /// `fatal`, `error` or `warning`.
    pub level: &'static str,
}

pub fn classify(c: &Crash) -> Classification {
    let event = c.event.unwrap_or(Event::Panic);
    let class = class_of(c, event);
    let (fatal, recoverable) = match event {
        Event::Panic => (true, true),
        Event::HttpPanic => (false, true),
        Event::FatalError | Event::Signal => (true, false),
        Event::DataRace | Event::GoroutineDump => (false, false),
    };
    let level = match (fatal, event) {
        (true, _) => "fatal",
        (false, Event::HttpPanic | Event::DataRace) => "error",
        (false, _) => "warning",
    };
    Classification {
        class,
        fatal,
        recoverable,
        level,
    }
}

fn class_of(c: &Crash, event: Event) -> &'static str {
    match event {
        Event::DataRace => return "data_race",
        Event::GoroutineDump => return "goroutine_dump",
        Event::Panic | Event::HttpPanic => {
            let Some(root) = c.panics.first() else {
                return "unknown";
            };
            let class = panic_class(&root.value);
            // A user value recovered and panicked again (Go 1.25+ prints a
            // re-panic of the same value as one `[recovered, repanicked]`
            // line, older versions as a `\tpanic:` chain), or a panic in a
            // deferred call: the chain is the story. A runtime error keeps
            // its own class however wrapped.
            if class == "custom_panic" && (c.panics.len() > 1 || root.recovered) {
                return "repanic";
            }
            return class;
        }
        Event::FatalError | Event::Signal => {}
    }
    if let Some(reason) = &c.fatal_error {
        let class = match reason.as_str() {
            "concurrent map writes" => "concurrent_map_writes",
            "concurrent map read and map write" => "concurrent_map_read_write",
            "concurrent map iteration and map write" => "concurrent_map_iteration_write",
            // `main` called runtime.Goexit and every other goroutine ended
            // (`runtime/proc.go`: the same scheduler check as the classic
            // deadlock).
            "all goroutines are asleep - deadlock!"
            | "no goroutines (main called runtime.Goexit) - deadlock!" => "deadlock",
            "stack overflow" => "stack_overflow",
            "out of memory" => "out_of_memory",
            "fault" => "fault",
            "unexpected signal during runtime execution" if in_cgo(c) => "cgo_signal",
            "unexpected signal during runtime execution" => "fault",
            r if r.starts_with("sync: ") && r.contains("nlock of unlocked") => "unlock_of_unlocked",
            r if r.starts_with("out of memory") => "out_of_memory",
            _ => "unknown",
        };
        return class;
    }
    match c.signal.as_ref().map(|s| s.name.as_str()) {
        Some("SIGQUIT") => "goroutine_dump",
        Some(_) if in_cgo(c) => "cgo_signal",
        Some("SIGSEGV" | "SIGBUS" | "SIGILL" | "SIGFPE" | "SIGTRAP") => "fault",
        _ => "unknown",
    }
}

/// A C crash: the runtime said so, or the crashing goroutine was in a cgo
/// call.
fn in_cgo(c: &Crash) -> bool {
    c.in_cgo
        || c.goroutines.first().is_some_and(|g| {
            g.frames
                .iter()
                .any(|f| f.function == "runtime.cgocall" || f.function.contains("._Cfunc_"))
        })
}

/// The class of a panic value, from the runtime's fixed messages.
pub fn panic_class(value: &str) -> &'static str {
    let v = value.strip_prefix("runtime error: ").unwrap_or(value);
    let runtime_error = v.len() != value.len();
    if v.starts_with("invalid memory address or nil pointer dereference") {
        "nil_dereference"
    } else if v.starts_with("index out of range") {
        "index_out_of_range"
    } else if v.starts_with("slice bounds out of range") {
        "slice_bounds_out_of_range"
    } else if v.starts_with("integer divide by zero") {
        "divide_by_zero"
    } else if v.starts_with("assignment to entry in nil map") {
        "nil_map_write"
    } else if v.starts_with("interface conversion: ") {
        "type_assertion"
    } else if v == "close of closed channel" || v == "send on closed channel" {
        "closed_channel"
    } else if v == "close of nil channel" {
        "nil_channel_close"
    } else if v == "sync: negative WaitGroup counter" {
        "negative_waitgroup"
    } else if v.starts_with("makeslice: ") {
        "makeslice"
    } else if v == "panic called with nil argument" || value == "nil" {
        // panic(nil): `nil` (≤1.20), a PanicNilError (1.21+), a runtime
        // error from 1.27. One class, whatever the version.
        "nil_panic"
    } else if runtime_error {
        "runtime_error"
    } else {
        "custom_panic"
    }
}

/// The frames that say where the crash happened: after the last `panic`
/// frame (those above it are deferred calls, such as net/http's recover),
/// without the runtime's own frames and the `sync` plumbing that reports
/// misuse of a lock or WaitGroup.
pub fn site_frames(g: &Goroutine) -> impl Iterator<Item = &Frame> + Clone {
    let after_panic = g
        .frames
        .iter()
        .rposition(|f| f.function == "panic" || f.function == "runtime.gopanic")
        .map_or(0, |i| i + 1);
    g.frames
        .get(after_panic..)
        .unwrap_or_default()
        .iter()
        .filter(|f| !is_plumbing(f))
}

fn is_plumbing(f: &Frame) -> bool {
    f.runtime || f.package == "sync" || f.package == "internal/sync"
}

/// The first frame outside the runtime (see [`site_frames`]).
pub fn top_frame(g: &Goroutine) -> Option<&Frame> {
    site_frames(g).next()
}

/// The first site frame in the program's own code (for a goroutine parked
/// in `time.Sleep` or `net.(*conn).Read`, the caller that waits), else the
/// first frame outside the runtime, else the first frame.
pub fn own_frame(g: &Goroutine) -> Option<&Frame> {
    site_frames(g)
        .find(|f| !is_std(&f.package))
        .or_else(|| top_frame(g))
        .or(g.frames.first())
}

/// How many site frames the fingerprint takes.
pub const FINGERPRINT_FRAMES: usize = 3;

/// A short stable id of the root cause: FNV-1a (64 bit, hex) over
///
/// `v1`, the class, then up to [`FINGERPRINT_FRAMES`] site frames of the
/// goroutine the report is about, as `function:line`, taken from the
/// program's own code: frames of the standard library are skipped, because
/// their line numbers (and sometimes their call chains) change with every
/// Go release; only when the site has no frame outside the standard library
/// do its standard-library functions count, without line numbers. Generic
/// shapes are removed from names and compiler wrappers (`gowrapN`,
/// `deferwrapN`, which Go 1.22+ adds for `go f(x)` / `defer f(x)`) skipped.
/// For a race report, the top frame of each access, sorted (which access
/// comes first varies between runs; callers of the racing function differ
/// by Go version: `main.main.func1` before 1.22, `main.main.gowrap1` after).
/// A report with no frames at all (`GOTRACEBACK=none`) uses its message
/// instead, digits removed.
///
/// Left out on purpose: addresses, offsets, goroutine ids, argument values,
/// file paths (they change with the build directory and -trimpath) and the
/// panic value (the same bug panics with different data).
pub fn fingerprint(c: &Crash, class: &str) -> String {
    let mut parts: Vec<String> = vec!["v1".into(), class.into()];
    if let Some(race) = &c.race {
        let mut accesses: Vec<String> = race
            .accesses
            .iter()
            .map(|a| frame_keys(a.frames.iter().filter(|f| !is_plumbing(f)), 1).join(","))
            .collect();
        accesses.sort();
        parts.extend(accesses);
    } else if let Some(g) = c.crashing_goroutine().or_else(|| c.goroutines.first())
        && g.frames.iter().any(|f| !f.runtime)
    {
        parts.extend(frame_keys(site_frames(g), FINGERPRINT_FRAMES));
    } else if let Some(m) = c.message() {
        parts.push(m.chars().filter(|ch| !ch.is_ascii_digit()).collect());
    }
    format!("{:016x}", fnv1a(parts.join("\n").as_bytes()))
}

fn frame_keys<'a>(frames: impl Iterator<Item = &'a Frame> + Clone, n: usize) -> Vec<String> {
    let own: Vec<String> = frames
        .clone()
        .filter(|f| !is_wrapper(f) && !is_std(&f.package))
        .take(n)
        .map(|f| format!("{}:{}", strip_generics(&f.function), f.line))
        .collect();
    if !own.is_empty() {
        return own;
    }
    frames
        .filter(|f| !is_wrapper(f))
        .take(n)
        .map(|f| strip_generics(&f.function))
        .collect()
}

/// A standard-library package: its path's first element has no dot
/// (`net/http`, `time`), and it is not `main`. A module named without a dot
/// (`module app`) is taken for the standard library too; its crashes then
/// fingerprint by the frames of dotted modules and `main`.
pub fn is_std(package: &str) -> bool {
    let first = package.split('/').next().unwrap_or("");
    !first.is_empty() && !first.contains('.') && package != "main"
}

/// `main.main.gowrap1`, `main.f.deferwrap2`: wrappers the compiler adds;
/// `main._Cfunc_decode` in `_cgo_gotypes.go`: wrappers cgo generates.
fn is_wrapper(f: &Frame) -> bool {
    if f.name.starts_with("_Cfunc_") || f.name.starts_with("_cgo") {
        return true;
    }
    let last = f.function.rsplit('.').next().unwrap_or("");
    ["gowrap", "deferwrap"].iter().any(|p| {
        last.strip_prefix(p)
            .is_some_and(|d| !d.is_empty() && d.bytes().all(|c| c.is_ascii_digit()))
    })
}

fn strip_generics(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut depth = 0u32;
    for ch in s.chars() {
        match ch {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(ch),
            _ => {}
        }
    }
    out
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Goroutines with the same state and frames, counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket<'a> {
    pub count: usize,
    pub state: &'a str,
    pub min_wait_minutes: Option<u64>,
    pub max_wait_minutes: Option<u64>,
    pub top_frame: Option<&'a Frame>,
    /// The lowest goroutine id in the bucket.
    pub first_id: u64,
}

/// Buckets by (state, function names of all frames, creator), largest
/// first; ties in order of first appearance.
pub fn buckets(goroutines: &[Goroutine]) -> Vec<Bucket<'_>> {
    let mut index: HashMap<(&str, Vec<&str>, Option<&str>), usize> = HashMap::new();
    let mut out: Vec<Bucket<'_>> = Vec::new();
    for g in goroutines {
        let key = (
            g.state.as_str(),
            g.frames.iter().map(|f| f.function.as_str()).collect(),
            g.created_by.as_ref().map(|c| c.function.as_str()),
        );
        let i = *index.entry(key).or_insert_with(|| {
            out.push(Bucket {
                count: 0,
                state: &g.state,
                min_wait_minutes: None,
                max_wait_minutes: None,
                top_frame: own_frame(g),
                first_id: g.id,
            });
            out.len() - 1
        });
        let Some(b) = out.get_mut(i) else {
            continue;
        };
        b.count += 1;
        b.first_id = b.first_id.min(g.id);
        if let Some(m) = g.wait_minutes {
            b.min_wait_minutes = Some(b.min_wait_minutes.map_or(m, |x| x.min(m)));
            b.max_wait_minutes = Some(b.max_wait_minutes.map_or(m, |x| x.max(m)));
        }
    }
    // Stable: equal counts keep first-appearance order.
    out.sort_by_key(|b| std::cmp::Reverse(b.count));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    fn crash(event: Event, text: &str) -> Crash {
        let lines: Vec<&str> = text.lines().collect();
        parse(event, &lines)
    }

    #[test]
    fn panic_classes_from_runtime_messages() {
        for (v, class) in [
            (
                "runtime error: invalid memory address or nil pointer dereference",
                "nil_dereference",
            ),
            (
                "runtime error: index out of range [5] with length 3",
                "index_out_of_range",
            ),
            (
                "runtime error: index out of range [-1]",
                "index_out_of_range",
            ),
            (
                "runtime error: slice bounds out of range [:7] with capacity 4",
                "slice_bounds_out_of_range",
            ),
            ("runtime error: integer divide by zero", "divide_by_zero"),
            ("assignment to entry in nil map", "nil_map_write"),
            (
                "interface conversion: interface {} is string, not int",
                "type_assertion",
            ),
            ("close of closed channel", "closed_channel"),
            ("send on closed channel", "closed_channel"),
            ("close of nil channel", "nil_channel_close"),
            ("sync: negative WaitGroup counter", "negative_waitgroup"),
            ("runtime error: makeslice: len out of range", "makeslice"),
            (
                "runtime error: hash of unhashable type []int",
                "runtime_error",
            ),
            ("runtime error: panic called with nil argument", "nil_panic"),
            ("panic called with nil argument", "nil_panic"),
            ("nil", "nil_panic"),
            ("main.StatusCode(503)", "custom_panic"),
        ] {
            assert_eq!(panic_class(v), class, "{v}");
        }
    }

    #[test]
    fn chains_fatal_and_levels() {
        let c = crash(
            Event::Panic,
            "panic: job failed [recovered]\n\tpanic: job failed again",
        );
        let k = classify(&c);
        assert_eq!(
            (k.class, k.fatal, k.recoverable, k.level),
            ("repanic", true, true, "fatal")
        );
        let c = crash(
            Event::Panic,
            "panic: runtime error: integer divide by zero [recovered]\n\tpanic: wrapped",
        );
        assert_eq!(classify(&c).class, "divide_by_zero");
        let c = crash(
            Event::HttpPanic,
            "2026/11/27 05:20:58 http: panic serving 1.2.3.4:5: boom",
        );
        let k = classify(&c);
        assert_eq!(
            (k.class, k.fatal, k.recoverable, k.level),
            ("custom_panic", false, true, "error")
        );
        let c = crash(Event::FatalError, "fatal error: concurrent map writes");
        let k = classify(&c);
        assert_eq!(
            (k.class, k.fatal, k.recoverable),
            ("concurrent_map_writes", true, false)
        );
        // Seen in real output: main called runtime.Goexit, nothing else runs.
        let c = crash(
            Event::FatalError,
            "fatal error: no goroutines (main called runtime.Goexit) - deadlock!",
        );
        assert_eq!(classify(&c).class, "deadlock");
        let c = crash(Event::Signal, "SIGQUIT: quit\nPC=0x1 m=0 sigcode=0");
        assert_eq!(classify(&c).class, "goroutine_dump");
        let c = crash(
            Event::Signal,
            "SIGSEGV: segmentation violation\nPC=0x1 m=0 sigcode=1 addr=0x0\nsignal arrived during cgo execution",
        );
        assert_eq!(classify(&c).class, "cgo_signal");
        let c = crash(
            Event::GoroutineDump,
            "goroutine 1 [running]:\nmain.main()\n\t/app/main.go:3 +0x1",
        );
        let k = classify(&c);
        assert_eq!(
            (k.class, k.fatal, k.level),
            ("goroutine_dump", false, "warning")
        );
    }

    const HTTP: &str = "\
2026/11/27 07:11:26 http: panic serving 127.0.0.1:38440: runtime error: invalid memory address or nil pointer dereference
goroutine 17 [running]:
net/http.(*conn).serve.func1()
\tnet/http/server.go:1897 +0xbd
panic({0x70eba0?, 0xa1d3a0?})
\truntime/panic.go:860 +0x13a
main.orderHandler({0x793a40, 0x132b8eff41e0}, 0x132b8f007af8?)
\tgithub.com/acme/http-panic/main.go:22 +0x8a
net/http.HandlerFunc.ServeHTTP(0x132b8efbc0c0?, {0x793a40?, 0x132b8eff41e0?}, 0x6468f6?)
\tnet/http/server.go:2284 +0x29
created by net/http.(*Server).Serve in goroutine 8
\tnet/http/server.go:3462 +0x485";

    #[test]
    fn top_frame_skips_deferred_recover_and_runtime() {
        let c = crash(Event::HttpPanic, HTTP);
        let g = c.crashing_goroutine().unwrap();
        assert_eq!(g.id, 17);
        let f = top_frame(g).unwrap();
        assert_eq!(f.function, "main.orderHandler");
        assert_eq!(f.line, 22);
        assert_eq!(classify(&c).class, "nil_dereference");
    }

    #[test]
    fn fingerprint_ignores_paths_addresses_and_ids_but_not_sites() {
        let c1 = crash(Event::HttpPanic, HTTP);
        let moved = HTTP
            .replace("github.com/acme/http-panic/main.go", "/app/main.go")
            .replace("0x8a", "0x99")
            .replace("goroutine 17", "goroutine 4242")
            .replace("{0x793a40, 0x132b8eff41e0}", "{0x1, 0x2}");
        let c2 = crash(Event::HttpPanic, &moved);
        let k = classify(&c1).class;
        assert_eq!(fingerprint(&c1, k), fingerprint(&c2, k));
        assert_eq!(fingerprint(&c1, k).len(), 16);
        let other_line = HTTP.replace("main.go:22", "main.go:23");
        let c3 = crash(Event::HttpPanic, &other_line);
        assert_ne!(fingerprint(&c1, k), fingerprint(&c3, k));
        assert_ne!(fingerprint(&c1, k), fingerprint(&c1, "custom_panic"));
    }

    #[test]
    fn buckets_group_identical_goroutines() {
        let mut text = String::from("fatal error: x\n");
        for id in 1..=5 {
            let (state, f) = if id == 3 {
                ("select", "main.poll()")
            } else {
                ("chan receive, 7 minutes", "main.worker()")
            };
            text.push_str(&format!(
                "\ngoroutine {id} [{state}]:\n{f}\n\t/app/main.go:9 +0x1\n"
            ));
        }
        let c = crash(Event::FatalError, &text);
        let b = buckets(&c.goroutines);
        assert_eq!(b.len(), 2);
        assert_eq!(
            (b[0].count, b[0].state, b[0].first_id),
            (4, "chan receive", 1)
        );
        assert_eq!(b[0].max_wait_minutes, Some(7));
        assert_eq!(b[0].top_frame.unwrap().function, "main.worker");
        assert_eq!((b[1].count, b[1].state), (1, "select"));
    }
}
