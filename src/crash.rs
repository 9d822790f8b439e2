//! The crash model: what a Go crash report says, field by field.
//!
//! Every field is read from the runtime's own output (see `parse`); a field
//! the report does not print is `None`/empty rather than guessed. Names
//! follow Go's vocabulary (goroutine, frame, created by, wait reason).
//!
//! Texts borrow from the report's lines (`Cow`): a dump of thousands of
//! goroutines is read without a copy of each frame's function and file;
//! only texts the parser builds (a multi-line panic value, a generic
//! method's name without its shapes) are owned.

use std::borrow::Cow;

use serde::Serialize;

/// What kind of crash report a record holds (`go.event`): the line that
/// opened it, as the reassembler proved it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// `panic: …`, an unrecovered panic.
    Panic,
    /// `fatal error: …`, a runtime throw (with its `runtime: …` lead-ins).
    FatalError,
    /// `SIGQUIT: quit` and the like: a signal the runtime did not turn into
    /// a panic, with its register dump.
    Signal,
    /// A race detector report between its `==================` lines.
    DataRace,
    /// Goroutine blocks with no panic or fatal error before them.
    GoroutineDump,
    /// `http: panic serving …`: a handler panic net/http recovered and
    /// logged with its stack.
    HttpPanic,
}

impl Event {
    /// The name in records (`go.event`).
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Panic => "panic",
            Event::FatalError => "fatal_error",
            Event::Signal => "signal",
            Event::DataRace => "data_race",
            Event::GoroutineDump => "goroutine_dump",
            Event::HttpPanic => "http_panic",
        }
    }
}

/// One parsed crash report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Crash<'a> {
    /// `runtime: …` lines printed before the report's header (stack
    /// overflow, out of memory), without the `runtime: ` prefix.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runtime_notes: Vec<Cow<'a, str>>,
    /// The panic values in the order printed: the first is the panic that
    /// started it all; each later one was raised while it was being handled
    /// (`[recovered]` then `\tpanic: …`, or a panic in a deferred call).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub panics: Vec<PanicValue<'a>>,
    /// The reason of `fatal error: <reason>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fatal_error: Option<Cow<'a, str>>,
    /// The address of `unexpected fault address 0x…`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault_address: Option<Cow<'a, str>>,
    /// The signal, from `[signal …]` or a `SIGxxx: …` / `PC=…` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<Signal<'a>>,
    /// `signal arrived during cgo execution` (or external code) was printed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub in_cgo: bool,
    /// `http: panic serving <remote>: …`: the client's address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_remote: Option<Cow<'a, str>>,
    /// Goroutine blocks in the order printed (for a panic or fatal error the
    /// first is the goroutine that crashed).
    pub goroutines: Vec<Goroutine<'a>>,
    /// `runtime stack:` sections (the system stack of a throw), raw text.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runtime_stacks: Vec<String>,
    /// The register dump of a signal report, raw text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registers: Option<String>,
    /// A race detector report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub race: Option<Race<'a>>,
    /// The event as the reassembler recognised it.
    #[serde(skip)]
    pub event: Option<Event>,
}

/// One `panic: …` value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PanicValue<'a> {
    /// The value as printed, continuation lines joined with `\n` (the tab Go
    /// 1.23+ puts before them removed), without the ` [recovered]` suffix.
    pub value: Cow<'a, str>,
    /// The value starts with `runtime error: ` (a runtime.Error).
    pub runtime_error: bool,
    /// The Go type when the runtime printed one: `main.StatusCode` for
    /// `main.StatusCode(503)`, `main.Point` for `(main.Point) 0xc000012345`.
    /// Errors, Stringers, strings and plain numbers print no type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub go_type: Option<Cow<'a, str>>,
    /// Recovered, then panicked again (` [recovered]` up to Go 1.24,
    /// ` [recovered, repanicked]` from 1.25).
    pub recovered: bool,
}

/// A signal the runtime reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signal<'a> {
    /// `SIGSEGV`, `SIGBUS`, `SIGQUIT`…
    pub name: Cow<'a, str>,
    /// `segmentation violation`, `quit`…
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Cow<'a, str>>,
    /// `code=` of `[signal …]` or `sigcode=` of `PC=…`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<Cow<'a, str>>,
    /// The faulting address (`addr=`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addr: Option<Cow<'a, str>>,
    /// The program counter (`pc=` or `PC=`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pc: Option<Cow<'a, str>>,
    /// The M (OS thread) that took the signal (`m=` of `PC=…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub m: Option<u32>,
}

/// One goroutine block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Goroutine<'a> {
    /// The goroutine id (`goroutine 7`); 0 is the scheduler's g0.
    pub id: u64,
    /// The status or wait reason: `running`, `chan receive`, `select`,
    /// `IO wait`, `sync.Mutex.Lock`, `semacquire`…
    pub state: Cow<'a, str>,
    /// Minutes blocked (`, 5 minutes`); printed only from one minute on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_minutes: Option<u64>,
    /// `, locked to thread`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub locked_to_thread: bool,
    /// `gp=0x…` (Go 1.22+ under GOTRACEBACK=system, or runtime crashes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gp: Option<Cow<'a, str>>,
    /// `m=N`, or `nil` when not running on an M.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub m: Option<Cow<'a, str>>,
    /// `mp=0x…`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mp: Option<Cow<'a, str>>,
    /// pprof labels: `labels:{"k": "v"}` in the bracket (Go 1.26 with
    /// GODEBUG=tracebacklabels=1) or `{k: "v"}` after it (Go 1.27), in the
    /// order printed. Values may be cut by the runtime (`…`). Serialised
    /// as an object (`labels.request_id`).
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "labels_object"
    )]
    pub labels: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    /// The frames, innermost first.
    pub frames: Vec<Frame<'a>>,
    /// `...N frames elided...`: how many; 0 for the older
    /// `...additional frames elided...`, which gives no count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elided_frames: Option<u64>,
    /// `goroutine running on other thread; stack unavailable`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stack_unavailable: bool,
    /// Where the goroutine was started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<CreatedBy<'a>>,
}

/// Label pairs as a JSON object, in the order printed.
pub(crate) fn labels_object<S: serde::Serializer>(
    labels: &[(Cow<'_, str>, Cow<'_, str>)],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(labels.iter().map(|(k, v)| (k, v)))
}

/// One frame: a function line and its location line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Frame<'a> {
    /// The function as printed, without arguments:
    /// `github.com/acme/shop/cart.(*Cart).Total`, `main.Map[...]`.
    pub function: Cow<'a, str>,
    /// The import path: `github.com/acme/shop/cart`, `main`, `net/http`.
    /// Empty for the builtin `panic`.
    pub package: Cow<'a, str>,
    /// The receiver type for methods printed as `(*T).M` (pointer
    /// receivers, `*T`) or `T.M` where `M` is not a closure (`funcN`,
    /// `gowrapN`) or init suffix; `None` for functions and closures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receiver: Option<Cow<'a, str>>,
    /// The function or method name after package and receiver, closure
    /// suffixes kept (`main.func1`), generic brackets removed.
    pub name: Cow<'a, str>,
    /// A generic function (`[...]` or a shape in brackets).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub generic: bool,
    /// The argument list as printed, without parentheses: `0xc000010000,
    /// {0x1, 0x2}`, `...` (inlined), `` (none).
    pub args: Cow<'a, str>,
    /// The source file as printed (absolute, or module-relative with
    /// -trimpath).
    pub file: Cow<'a, str>,
    /// The line in it.
    pub line: u32,
    /// `+0x1d`: the PC offset in the function (absent on inlined frames).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<Cow<'a, str>>,
    /// The frame belongs to the runtime (`runtime`, `internal/runtime/…`,
    /// `runtime/debug`'s stack printers, the `panic` builtin,
    /// `internal/sync`/`sync.fatal` throws).
    pub runtime: bool,
}

/// `created by pkg.Func in goroutine N` and its location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreatedBy<'a> {
    /// The function that ran the `go` statement.
    pub function: Cow<'a, str>,
    /// Its source file.
    pub file: Cow<'a, str>,
    /// The line of the `go` statement.
    pub line: u32,
    /// The goroutine that ran the `go` statement (Go 1.21+).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_goroutine: Option<u64>,
}

/// A race detector report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Race<'a> {
    /// The accesses in the order printed: the current one first, then the
    /// previous one (`Previous write at …`).
    pub accesses: Vec<RaceAccess<'a>>,
    /// `Goroutine 7 (running) created at:` sections.
    pub goroutines: Vec<RaceGoroutine<'a>>,
    /// `Location is …` when printed (globals, heap blocks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Cow<'a, str>>,
}

/// One access of a race report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RaceAccess<'a> {
    /// `read` or `write`, prefixed `atomic ` for atomic accesses.
    pub kind: Cow<'a, str>,
    /// This is the earlier access (`Previous …`).
    pub previous: bool,
    /// The address accessed (`0x00c000012345`).
    pub address: Cow<'a, str>,
    /// The goroutine; absent, with `main_goroutine`, for `by main goroutine`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goroutine: Option<u64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    /// `by main goroutine`.
    pub main_goroutine: bool,
    /// Where the access happened, innermost first.
    pub frames: Vec<Frame<'a>>,
}

/// A goroutine of a race report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RaceGoroutine<'a> {
    /// The goroutine id.
    pub id: u64,
    /// `running` or `finished`.
    pub status: Cow<'a, str>,
    /// Where it was created, innermost first.
    pub frames: Vec<Frame<'a>>,
}

impl<'a> Signal<'a> {
    /// A signal known by name only (`SIGSEGV`), its other fields unset.
    pub fn named(name: impl Into<Cow<'a, str>>) -> Self {
        Signal {
            name: name.into(),
            description: None,
            code: None,
            addr: None,
            pc: None,
            m: None,
        }
    }
}

impl<'a> Crash<'a> {
    /// The goroutine the report is about: the first block of a panic, fatal
    /// error or signal report (the one that crashed, or for SIGQUIT the one
    /// the signal landed on; the scheduler's goroutine 0 is skipped), the
    /// dumping goroutine of a goroutine dump (printed first), `None` for
    /// race reports.
    pub fn crashing_goroutine(&self) -> Option<&Goroutine<'a>> {
        match self.event {
            Some(Event::DataRace) | None => None,
            _ => self.goroutines.iter().find(|g| g.id != 0),
        }
    }

    /// The first panic value, or the fatal reason, or `SIGxxx:
    /// description`, or `DATA RACE`: borrowed where the report holds it.
    pub fn message(&self) -> Option<Cow<'_, str>> {
        if let Some(p) = self.panics.first() {
            return Some(Cow::Borrowed(&p.value));
        }
        if let Some(f) = &self.fatal_error {
            return Some(Cow::Borrowed(f));
        }
        if let Some(s) = &self.signal {
            return Some(match &s.description {
                Some(d) => Cow::Owned(format!("{}: {d}", s.name)),
                None => Cow::Borrowed(&s.name),
            });
        }
        if self.race.is_some() {
            return Some(Cow::Borrowed("DATA RACE"));
        }
        None
    }
}
