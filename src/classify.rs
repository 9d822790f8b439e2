//! What happened, whether the process died, and a fingerprint of the cause.
//!
//! The class vocabulary is fixed and documented in `docs/record-schema.md`;
//! every class is decided from the runtime's own message, never from
//! frames alone.

use std::collections::HashMap;

use serde::{Serialize, Serializer};

use crate::crash::Event;
use crate::crash::{Crash, Frame, Goroutine};

/// Declares [`Class`] from one list: each variant with its `go.class`
/// name and the doc line the schema documentation shows.
macro_rules! classes {
    ($($(#[doc = $doc:literal])* $variant:ident = $name:literal,)*) => {
        /// What happened (`go.class`), decided from the runtime's own
        /// message. Serialised as its snake_case name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Class {
            $($(#[doc = $doc])* $variant,)*
        }

        /// `go.class` values, in [`Class`]'s order, for checking the schema
        /// and docs.
        pub const CLASSES: [&str; [$($name),*].len()] = [$($name),*];

        impl Class {
            /// Every class, in the order the schema lists them.
            pub const ALL: [Class; [$($name),*].len()] = [$(Class::$variant),*];

            /// The `go.class` name.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Class::$variant => $name,)*
                }
            }
        }
    };
}

classes! {
    /// `runtime error: invalid memory address or nil pointer dereference`
    NilDereference = "nil_dereference",
    /// `runtime error: index out of range …`
    IndexOutOfRange = "index_out_of_range",
    /// `runtime error: slice bounds out of range …`
    SliceBoundsOutOfRange = "slice_bounds_out_of_range",
    /// `runtime error: integer divide by zero`
    DivideByZero = "divide_by_zero",
    /// `assignment to entry in nil map`
    NilMapWrite = "nil_map_write",
    /// `interface conversion: …`
    TypeAssertion = "type_assertion",
    /// `close of closed channel`, `send on closed channel`
    ClosedChannel = "closed_channel",
    /// `close of nil channel`
    NilChannelClose = "nil_channel_close",
    /// `sync: negative WaitGroup counter`
    NegativeWaitgroup = "negative_waitgroup",
    /// `runtime error: makeslice: …`
    Makeslice = "makeslice",
    /// `panic(nil)`: `nil` (≤1.20), `panic called with nil argument`
    /// (1.21–1.26), `runtime error: panic called with nil argument` (1.27)
    NilPanic = "nil_panic",
    /// any other `runtime error: …`
    RuntimeError = "runtime_error",
    /// a user value (error, Stringer, string, number, struct)
    CustomPanic = "custom_panic",
    /// a user value recovered and panicked again, or a panic raised while
    /// panicking (a runtime error keeps its own class however wrapped)
    Repanic = "repanic",
    /// `fatal error: concurrent map writes`
    ConcurrentMapWrites = "concurrent_map_writes",
    /// `fatal error: concurrent map read and map write`
    ConcurrentMapReadWrite = "concurrent_map_read_write",
    /// `fatal error: concurrent map iteration and map write`
    ConcurrentMapIterationWrite = "concurrent_map_iteration_write",
    /// `fatal error: all goroutines are asleep - deadlock!`
    Deadlock = "deadlock",
    /// `fatal error: stack overflow`
    StackOverflow = "stack_overflow",
    /// `fatal error: out of memory`
    OutOfMemory = "out_of_memory",
    /// `fatal error: sync: unlock of unlocked mutex`, `… Unlock/RUnlock of
    /// unlocked RWMutex`
    UnlockOfUnlocked = "unlock_of_unlocked",
    /// `unexpected fault address` / `fatal error: fault`, a signal report
    /// for SIGSEGV/SIGBUS/SIGILL/SIGFPE/SIGTRAP outside cgo
    Fault = "fault",
    /// a signal in C code: `signal arrived during cgo execution` (1.21+) or
    /// `fatal error: unexpected signal during runtime execution` with the
    /// crashing goroutine in `runtime.cgocall` (1.19)
    CgoSignal = "cgo_signal",
    /// a race detector report
    DataRace = "data_race",
    /// a bare goroutine dump, or a SIGQUIT dump
    GoroutineDump = "goroutine_dump",
    /// anything else
    Unknown = "unknown",
}

impl Serialize for Class {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for Class {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How bad a report is (`level`, ECS `log.level`; Loki's `detected_level`
/// reads it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// The process dies of it.
    Fatal,
    /// Recovered `http: panic serving` and race reports: the program goes
    /// on, something went wrong.
    Error,
    /// Goroutine dumps: a look at the goroutines, not a failure.
    Warning,
}

impl Level {
    /// The `level` name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::Fatal => "fatal",
            Level::Error => "error",
            Level::Warning => "warning",
        }
    }
}

/// The verdict on one crash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    /// What happened.
    pub class: Class,
    /// The process ends because of this report.
    pub fatal: bool,
    /// A `recover()` could have stopped it (panics, not throws or signals).
    pub recoverable: bool,
    /// How bad it is.
    pub level: Level,
}

/// The verdict on a parsed crash: class, whether it ends the process and
/// could have been recovered, level.
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
        (true, _) => Level::Fatal,
        (false, Event::HttpPanic | Event::DataRace) => Level::Error,
        (false, _) => Level::Warning,
    };
    Classification {
        class,
        fatal,
        recoverable,
        level,
    }
}

fn class_of(c: &Crash, event: Event) -> Class {
    match event {
        Event::DataRace => return Class::DataRace,
        Event::GoroutineDump => return Class::GoroutineDump,
        Event::Panic | Event::HttpPanic => {
            let Some(root) = c.panics.first() else {
                return Class::Unknown;
            };
            let class = panic_class(&root.value);
            // A user value recovered and panicked again (Go 1.25+ prints a
            // re-panic of the same value as one `[recovered, repanicked]`
            // line, older versions as a `\tpanic:` chain), or a panic in a
            // deferred call: the chain is the story. A runtime error keeps
            // its own class however wrapped.
            if class == Class::CustomPanic && (c.panics.len() > 1 || root.recovered) {
                return Class::Repanic;
            }
            return class;
        }
        Event::FatalError | Event::Signal => {}
    }
    if let Some(reason) = &c.fatal_error {
        let class = match reason.as_ref() {
            "concurrent map writes" => Class::ConcurrentMapWrites,
            "concurrent map read and map write" => Class::ConcurrentMapReadWrite,
            "concurrent map iteration and map write" => Class::ConcurrentMapIterationWrite,
            // `main` called runtime.Goexit and every other goroutine ended
            // (`runtime/proc.go`: the same scheduler check as the classic
            // deadlock).
            "all goroutines are asleep - deadlock!"
            | "no goroutines (main called runtime.Goexit) - deadlock!" => Class::Deadlock,
            "stack overflow" => Class::StackOverflow,
            "out of memory" => Class::OutOfMemory,
            "fault" => Class::Fault,
            "unexpected signal during runtime execution" if in_cgo(c) => Class::CgoSignal,
            "unexpected signal during runtime execution" => Class::Fault,
            r if r.starts_with("sync: ") && r.contains("nlock of unlocked") => {
                Class::UnlockOfUnlocked
            }
            r if r.starts_with("out of memory") => Class::OutOfMemory,
            _ => Class::Unknown,
        };
        return class;
    }
    match c.signal.as_ref().map(|s| s.name.as_ref()) {
        Some("SIGQUIT") => Class::GoroutineDump,
        Some(_) if in_cgo(c) => Class::CgoSignal,
        Some("SIGSEGV" | "SIGBUS" | "SIGILL" | "SIGFPE" | "SIGTRAP") => Class::Fault,
        _ => Class::Unknown,
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
pub fn panic_class(value: &str) -> Class {
    let v = value.strip_prefix("runtime error: ").unwrap_or(value);
    let runtime_error = v.len() != value.len();
    if v.starts_with("invalid memory address or nil pointer dereference") {
        Class::NilDereference
    } else if v.starts_with("index out of range") {
        Class::IndexOutOfRange
    } else if v.starts_with("slice bounds out of range") {
        Class::SliceBoundsOutOfRange
    } else if v.starts_with("integer divide by zero") {
        Class::DivideByZero
    } else if v.starts_with("assignment to entry in nil map") {
        Class::NilMapWrite
    } else if v.starts_with("interface conversion: ") {
        Class::TypeAssertion
    } else if v == "close of closed channel" || v == "send on closed channel" {
        Class::ClosedChannel
    } else if v == "close of nil channel" {
        Class::NilChannelClose
    } else if v == "sync: negative WaitGroup counter" {
        Class::NegativeWaitgroup
    } else if v.starts_with("makeslice: ") {
        Class::Makeslice
    } else if v == "panic called with nil argument" || value == "nil" {
        // panic(nil): `nil` (≤1.20), a PanicNilError (1.21+), a runtime
        // error from 1.27. One class, whatever the version.
        Class::NilPanic
    } else if runtime_error {
        Class::RuntimeError
    } else {
        Class::CustomPanic
    }
}

/// The frames that say where the crash happened: after the last `panic`
/// frame (those above it are deferred calls, such as net/http's recover),
/// without the runtime's own frames and the `sync` plumbing that reports
/// misuse of a lock or WaitGroup.
pub fn site_frames<'g>(g: &'g Goroutine<'g>) -> impl Iterator<Item = &'g Frame<'g>> + Clone {
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
pub fn top_frame<'g>(g: &'g Goroutine<'g>) -> Option<&'g Frame<'g>> {
    site_frames(g).next()
}

/// The first site frame in the program's own code (for a goroutine parked
/// in `time.Sleep` or `net.(*conn).Read`, the caller that waits), else the
/// first frame outside the runtime, else the first frame.
pub fn own_frame<'g>(g: &'g Goroutine<'g>) -> Option<&'g Frame<'g>> {
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
pub fn fingerprint(c: &Crash, class: Class) -> String {
    let mut parts: Vec<String> = vec!["v1".into(), class.as_str().into()];
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

fn frame_keys<'a>(frames: impl Iterator<Item = &'a Frame<'a>> + Clone, n: usize) -> Vec<String> {
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
    /// Goroutines in the bucket.
    pub count: usize,
    /// Their state, as printed (`chan receive`).
    pub state: &'a str,
    /// The shortest wait among them, in minutes, when printed.
    pub min_wait_minutes: Option<u64>,
    /// The longest wait among them, in minutes, when printed.
    pub max_wait_minutes: Option<u64>,
    /// Their innermost frame outside the runtime, if any.
    pub top_frame: Option<&'a Frame<'a>>,
    /// The lowest goroutine id in the bucket.
    pub first_id: u64,
}

/// Buckets by (state, function names of all frames, creator), largest
/// first; ties in order of first appearance.
pub fn buckets<'a>(goroutines: &'a [Goroutine<'a>]) -> Vec<Bucket<'a>> {
    // Keyed by a hash of the shape, without building a key per goroutine; a
    // goroutine joins a bucket of its hash only if its shape is the same.
    let mut index: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut shapes: Vec<&Goroutine> = Vec::new();
    let mut out: Vec<Bucket<'_>> = Vec::new();
    for g in goroutines {
        let same = index.entry(shape_hash(g)).or_default();
        let found = same
            .iter()
            .copied()
            .find(|&i| shapes.get(i).is_some_and(|s| same_shape(s, g)));
        let i = found.unwrap_or_else(|| {
            out.push(Bucket {
                count: 0,
                state: &g.state,
                min_wait_minutes: None,
                max_wait_minutes: None,
                top_frame: own_frame(g),
                first_id: g.id,
            });
            shapes.push(g);
            same.push(out.len() - 1);
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

/// What makes two goroutines one bucket: state, frames' functions, creator.
fn same_shape(a: &Goroutine, b: &Goroutine) -> bool {
    a.state == b.state
        && a.frames.len() == b.frames.len()
        && a.frames
            .iter()
            .zip(&b.frames)
            .all(|(x, y)| x.function == y.function)
        && a.created_by.as_ref().map(|c| &c.function) == b.created_by.as_ref().map(|c| &c.function)
}

/// A hash of [`same_shape`]'s parts (FxHash's mixing, 8 bytes at a time).
fn shape_hash(g: &Goroutine) -> u64 {
    fn mix(h: u64, bytes: &[u8]) -> u64 {
        let step = |h: u64, w: u64| (h.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
        let mut chunks = bytes.chunks_exact(8);
        let mut h = chunks.by_ref().fold(h, |h, c| {
            step(h, c.try_into().map_or(0, u64::from_le_bytes))
        });
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        if let Some(t) = tail.get_mut(..rest.len()) {
            t.copy_from_slice(rest);
        }
        h = step(h, u64::from_le_bytes(tail));
        // The length ends each part, so parts cannot run into each other.
        step(h, bytes.len() as u64)
    }
    let mut h = mix(0, g.state.as_bytes());
    for f in &g.frames {
        h = mix(h, f.function.as_bytes());
    }
    match &g.created_by {
        Some(c) => mix(h, c.function.as_bytes()),
        None => h.rotate_left(7),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    fn crash(event: Event, text: &str) -> Crash<'_> {
        let lines: Vec<&str> = text.lines().collect();
        parse(event, &lines)
    }

    #[test]
    fn panic_classes_from_runtime_messages() {
        for (v, class) in [
            (
                "runtime error: invalid memory address or nil pointer dereference",
                Class::NilDereference,
            ),
            (
                "runtime error: index out of range [5] with length 3",
                Class::IndexOutOfRange,
            ),
            (
                "runtime error: index out of range [-1]",
                Class::IndexOutOfRange,
            ),
            (
                "runtime error: slice bounds out of range [:7] with capacity 4",
                Class::SliceBoundsOutOfRange,
            ),
            ("runtime error: integer divide by zero", Class::DivideByZero),
            ("assignment to entry in nil map", Class::NilMapWrite),
            (
                "interface conversion: interface {} is string, not int",
                Class::TypeAssertion,
            ),
            ("close of closed channel", Class::ClosedChannel),
            ("send on closed channel", Class::ClosedChannel),
            ("close of nil channel", Class::NilChannelClose),
            ("sync: negative WaitGroup counter", Class::NegativeWaitgroup),
            (
                "runtime error: makeslice: len out of range",
                Class::Makeslice,
            ),
            (
                "runtime error: hash of unhashable type []int",
                Class::RuntimeError,
            ),
            (
                "runtime error: panic called with nil argument",
                Class::NilPanic,
            ),
            ("panic called with nil argument", Class::NilPanic),
            ("nil", Class::NilPanic),
            ("main.StatusCode(503)", Class::CustomPanic),
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
            (Class::Repanic, true, true, Level::Fatal)
        );
        let c = crash(
            Event::Panic,
            "panic: runtime error: integer divide by zero [recovered]\n\tpanic: wrapped",
        );
        assert_eq!(classify(&c).class, Class::DivideByZero);
        let c = crash(
            Event::HttpPanic,
            "2026/11/27 05:20:58 http: panic serving 1.2.3.4:5: boom",
        );
        let k = classify(&c);
        assert_eq!(
            (k.class, k.fatal, k.recoverable, k.level),
            (Class::CustomPanic, false, true, Level::Error)
        );
        let c = crash(Event::FatalError, "fatal error: concurrent map writes");
        let k = classify(&c);
        assert_eq!(
            (k.class, k.fatal, k.recoverable),
            (Class::ConcurrentMapWrites, true, false)
        );
        // Seen in real output: main called runtime.Goexit, nothing else runs.
        let c = crash(
            Event::FatalError,
            "fatal error: no goroutines (main called runtime.Goexit) - deadlock!",
        );
        assert_eq!(classify(&c).class, Class::Deadlock);
        let c = crash(Event::Signal, "SIGQUIT: quit\nPC=0x1 m=0 sigcode=0");
        assert_eq!(classify(&c).class, Class::GoroutineDump);
        let c = crash(
            Event::Signal,
            "SIGSEGV: segmentation violation\nPC=0x1 m=0 sigcode=1 addr=0x0\nsignal arrived during cgo execution",
        );
        assert_eq!(classify(&c).class, Class::CgoSignal);
        let c = crash(
            Event::GoroutineDump,
            "goroutine 1 [running]:\nmain.main()\n\t/app/main.go:3 +0x1",
        );
        let k = classify(&c);
        assert_eq!(
            (k.class, k.fatal, k.level),
            (Class::GoroutineDump, false, Level::Warning)
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
        assert_eq!(classify(&c).class, Class::NilDereference);
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
        assert_ne!(fingerprint(&c1, k), fingerprint(&c1, Class::CustomPanic));
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
