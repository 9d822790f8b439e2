//! The Go traceback grammar, one line at a time.
//!
//! [`line_kind`] looks at a single line, without context, and says which
//! element of the runtime's crash output it can be; [`role`] says, once for
//! every kind, what such a line does to a report: which report it opens
//! (and whether it needs a proving line), which report it proves, whether
//! Go prints a blank line before it. Context (is a location line expected
//! here? are we inside a race report?) is the reassembler's job; keeping
//! the two apart lets each element be unit-tested on its own and keeps the
//! per-line cost to a few byte comparisons.
//!
//! Everything here follows what `runtime/panic.go`, `runtime/traceback.go`,
//! `runtime/signal_*.go` and the race detector print, for Go 1.19 to 1.27
//! (see `docs/grammar.md` for the line forms with examples).

use crate::crash::Event;

/// Where in the grammar a report is after its last line: which lines may
/// come next (`docs/grammar.md`, "How a report continues").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pos {
    /// After a panic or fatal message (or its value continuation): tabbed
    /// continuations, `[signal …]`, then a blank line and goroutines.
    Message,
    /// After `SIGQUIT: quit`; `PC=…` must follow.
    SignalHeader,
    /// After `PC=…` or `signal arrived during cgo execution`.
    SignalPc,
    /// After a goroutine header; a frame must follow.
    Header,
    /// After a function or `created by` line; its location must follow.
    Function,
    /// After a location (or elided / stack unavailable): the next frame,
    /// `created by`, a blank line and the next block, or the end.
    Location,
    /// After `runtime stack:`; a frame must follow.
    RuntimeStack,
    /// In a register dump.
    Register,
    /// After the opening `==================`; `WARNING: DATA RACE` must
    /// follow.
    RaceOpen,
    /// Inside a race report, until the closing `==================`.
    RaceBody,
}

/// What a single line can be in Go's crash output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// An empty line (blocks of a traceback are separated by one).
    Blank,
    /// `panic: <value>` at the start of the line, possibly ending in
    /// ` [recovered]` or ` [recovered, repanicked]`.
    Panic,
    /// `<log prefix>http: panic serving <addr>: <value>`: net/http recovered
    /// a handler panic and logged it with the stack that follows.
    HttpPanic,
    /// `fatal error: <reason>`: an unrecoverable runtime throw.
    FatalError,
    /// `runtime: …`: a diagnostic the runtime prints before a throw
    /// (stack overflow, out of memory) or inside a traceback
    /// (`runtime: unexpected return pc …`).
    RuntimeNote,
    /// `unexpected fault address 0x…`, printed before `fatal error: fault`.
    FaultAddress,
    /// `SIGQUIT: quit`, `SIGSEGV: segmentation violation`…: the header of a
    /// signal the runtime could not turn into a panic.
    SignalHeader,
    /// `PC=0x… m=N sigcode=N [addr=0x…]`, the second line of a signal report.
    SignalPc,
    /// `[signal SIGSEGV: segmentation violation code=… addr=… pc=…]`.
    SignalInfo,
    /// `signal arrived during cgo execution` (or `external code`).
    SignalNote,
    /// `goroutine N [state…]:` in every form (`gp=… m=… mp=…`, labels).
    GoroutineHeader,
    /// A function line of a frame: `pkg.(*T).Method[...](args…)`.
    Function,
    /// `created by pkg.Func` optionally followed by ` in goroutine N`.
    CreatedBy,
    /// A tab-indented line. After a function line it is the frame's location
    /// (`\t/path/file.go:12 +0x1d`); after a panic line it is a continuation
    /// of the panic value (Go 1.23+) or a chained `\tpanic: …`.
    Indented,
    /// `...N frames elided...` or `...additional frames elided...`.
    Elided,
    /// `goroutine running on other thread; stack unavailable` (with or
    /// without a leading tab).
    StackUnavailable,
    /// `runtime stack:`, which opens the system stack of a throw.
    RuntimeStack,
    /// A register of a signal report's dump: `rax    0x0`, `r10 0x…`, `lr …`.
    Register,
    /// A raw stack word dump printed with `runtime: unexpected return pc`:
    /// `stack: frame={sp:…}` and `0x000000c000012345: …` lines.
    StackWords,
    /// `==================`, which opens and closes a race report.
    RaceDelimiter,
    /// `WARNING: DATA RACE`.
    RaceWarning,
    /// A line of a race report's body: access headers
    /// (`Write at 0x… by goroutine 7:`), `Goroutine 7 (running) created at:`,
    /// `Location is …`, `Mutex M1 …`, and the space-indented frames.
    RaceBody,
    /// Anything else.
    Other,
}

impl LineKind {
    /// Every kind, in declaration order (`ALL[k as usize] == k`).
    pub const ALL: [LineKind; 23] = [
        LineKind::Blank,
        LineKind::Panic,
        LineKind::HttpPanic,
        LineKind::FatalError,
        LineKind::RuntimeNote,
        LineKind::FaultAddress,
        LineKind::SignalHeader,
        LineKind::SignalPc,
        LineKind::SignalInfo,
        LineKind::SignalNote,
        LineKind::GoroutineHeader,
        LineKind::Function,
        LineKind::CreatedBy,
        LineKind::Indented,
        LineKind::Elided,
        LineKind::StackUnavailable,
        LineKind::RuntimeStack,
        LineKind::Register,
        LineKind::StackWords,
        LineKind::RaceDelimiter,
        LineKind::RaceWarning,
        LineKind::RaceBody,
        LineKind::Other,
    ];
}

/// A report a line opens where no open report continues with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opening {
    /// The report's event (a later proving line may say otherwise, see
    /// [`Role::proves`]).
    pub event: Event,
    /// The line is a crash report on its own. An unconfirmed report
    /// becomes one only when a proving line follows; otherwise its lines
    /// leave as ordinary lines.
    pub confirmed: bool,
    /// The report's position after the line.
    pub then: Pos,
}

/// What a line of one kind does to reports, whatever the position: the
/// grammar's roles, stated once ([`role`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Role {
    /// The text every line of the kind starts with (empty when the kind
    /// has no fixed start, or, for `http: panic serving`, when the phrase
    /// follows a log prefix).
    pub prefix: &'static str,
    /// The report the line opens where no open report continues with it.
    /// Such a line also ends an open report that cannot take it, rather
    /// than landing inside it as another writer's line.
    pub opens: Option<Opening>,
    /// The line proves an unconfirmed report it continues, and says which
    /// event it is. A frame proves a traceback: a report that began with
    /// `runtime:` lead-ins is then a goroutine dump.
    pub proves: Option<Event>,
    /// Go prints a blank line before it: it starts a block of the
    /// traceback (a goroutine, `runtime stack:`, the register dump).
    pub separated: bool,
}

/// The role of each line kind: the one place that says which lines open
/// a report, which prove one and which follow a blank line (the table in
/// `docs/grammar.md`, "Where a report starts"):
/// - `panic: boom`, `… http: panic serving 1.2.3.4:5: boom` and `fatal
///   error: concurrent map writes` open a report on their own;
/// - `runtime: goroutine stack exceeds 1000000000-byte limit` and
///   `unexpected fault address 0x…` open a fatal error that `fatal error:`
///   (or `panic:`, `SIGxxx:`) proves; `SIGQUIT: quit` a signal report that
///   `PC=0x… m=0 sigcode=0` proves; `==================` a race report that
///   `WARNING: DATA RACE` proves; a goroutine header with no header above
///   a goroutine dump that its first frame proves.
pub const fn role(kind: LineKind) -> Role {
    use Event as E;
    use LineKind as K;
    use Pos as P;
    /// A report opened on its own (`true`) or to be proved.
    const fn opens(event: Event, confirmed: bool, then: Pos) -> Option<Opening> {
        Some(Opening {
            event,
            confirmed,
            then,
        })
    }
    /// One role.
    const fn r(prefix: &'static str, opens: Option<Opening>, proves: Option<Event>) -> Role {
        Role {
            prefix,
            opens,
            proves,
            separated: false,
        }
    }
    const fn separated(role: Role) -> Role {
        Role {
            separated: true,
            ..role
        }
    }
    match kind {
        K::Panic => r("panic: ", opens(E::Panic, true, P::Message), Some(E::Panic)),
        K::HttpPanic => r("", opens(E::HttpPanic, true, P::Message), None),
        K::FatalError => r(
            "fatal error: ",
            opens(E::FatalError, true, P::Message),
            Some(E::FatalError),
        ),
        K::RuntimeNote => r("runtime: ", opens(E::FatalError, false, P::Message), None),
        K::FaultAddress => r(
            "unexpected fault address ",
            opens(E::FatalError, false, P::Message),
            None,
        ),
        K::SignalHeader => r("SIG", opens(E::Signal, false, P::SignalHeader), None),
        K::SignalPc => r("PC=0x", None, Some(E::Signal)),
        K::GoroutineHeader => separated(r(
            "goroutine ",
            opens(E::GoroutineDump, false, P::Header),
            None,
        )),
        K::Function | K::Elided | K::StackUnavailable => r("", None, Some(E::GoroutineDump)),
        K::RuntimeStack => separated(r("runtime stack:", None, None)),
        K::Register => separated(r("", None, None)),
        K::RaceDelimiter => r(
            "==================",
            opens(E::DataRace, false, P::RaceOpen),
            None,
        ),
        K::RaceWarning => r("WARNING: DATA RACE", None, Some(E::DataRace)),
        K::Blank
        | K::SignalInfo
        | K::SignalNote
        | K::CreatedBy
        | K::Indented
        | K::StackWords
        | K::RaceBody
        | K::Other => r("", None, None),
    }
}

/// The fixed start of the lines that may open a report, by first byte
/// (empty: no such line starts with the byte). Lines of `http: panic
/// serving` are not here: the phrase follows a log prefix. Hosts use it
/// to pass most lines on after one byte.
pub const OPENING_PREFIXES: [&str; 256] = opening_prefixes();

#[allow(clippy::indexing_slicing)] // const evaluation: out of bounds fails the build
const fn opening_prefixes() -> [&'static str; 256] {
    let mut table = [""; 256];
    let mut i = 0;
    while i < LineKind::ALL.len() {
        let r = role(LineKind::ALL[i]);
        if r.opens.is_some() && !r.prefix.is_empty() {
            let first = r.prefix.as_bytes()[0] as usize;
            assert!(
                table[first].is_empty(),
                "two opening prefixes share a first byte"
            );
            table[first] = r.prefix;
        }
        i += 1;
    }
    table
}

/// The phrase of an `http: panic serving` line, after its log prefix.
pub const HTTP_PANIC_MARK: &str = "http: panic serving ";

/// Classifies one line (no trailing newline) without context.
pub fn line_kind(line: &str) -> LineKind {
    let b = line.as_bytes();
    let Some(&first) = b.first() else {
        return LineKind::Blank;
    };
    match first {
        b'\t' => {
            let rest = line.get(1..).unwrap_or_default();
            if is_stack_unavailable(rest) {
                LineKind::StackUnavailable
            } else {
                LineKind::Indented
            }
        }
        b' ' => {
            if line.trim().is_empty() {
                LineKind::Blank
            } else {
                // The race detector indents frames with 2 and locations with
                // 6 spaces; nothing else in Go's crash output starts so.
                LineKind::RaceBody
            }
        }
        b'p' if line.starts_with("panic: ") => LineKind::Panic,
        b'f' if line.starts_with("fatal error: ") => LineKind::FatalError,
        b'r' if line.starts_with("runtime: ") => LineKind::RuntimeNote,
        b'r' if line == "runtime stack:" => LineKind::RuntimeStack,
        b'u' if line.starts_with("unexpected fault address ") => LineKind::FaultAddress,
        b'g' if is_goroutine_header(line) => LineKind::GoroutineHeader,
        b'g' if is_stack_unavailable(line) => LineKind::StackUnavailable,
        b'c' if line.starts_with("created by ") => LineKind::CreatedBy,
        b'S' if is_signal_header(line) => LineKind::SignalHeader,
        b'P' if line.starts_with("PC=0x") => LineKind::SignalPc,
        b'[' if line.starts_with("[signal ") && line.ends_with(']') => LineKind::SignalInfo,
        b's' if line.starts_with("signal arrived during ") => LineKind::SignalNote,
        b's' if line.starts_with("stack: frame={") => LineKind::StackWords,
        b'.' if is_elided(line) => LineKind::Elided,
        b'=' if line == "==================" => LineKind::RaceDelimiter,
        b'W' if line == "WARNING: DATA RACE" => LineKind::RaceWarning,
        b'0' if line.starts_with("0x") && is_stack_words(line) => LineKind::StackWords,
        _ => {
            if is_http_panic(line) {
                LineKind::HttpPanic
            } else if is_race_body(line) {
                LineKind::RaceBody
            } else if is_register(line) {
                LineKind::Register
            } else if is_function(line) {
                LineKind::Function
            } else {
                LineKind::Other
            }
        }
    }
}

/// Whether `line` can open a crash report (confirmed or not): the cheap
/// test a host can run before anything else, since most lines fail it at
/// their first byte.
pub fn may_start_report(line: &str) -> bool {
    role(line_kind(line)).opens.is_some()
}

/// Whether a line has the shape of an application's log line: a JSON
/// object, or a line that starts with a log timestamp (`2026/11/27
/// 05:20:58`, `2026-11-27T05:20:58…`, klog's `I1127 05:20:58.123456`), a
/// level word (`INFO `, `WARN[0001]`, `[ERROR]`) or a logfmt key (`time=`,
/// `ts=`, `level=`, `msg=`). No line of Go's crash output has such a shape,
/// so where the grammar alone would accept the line (an untabbed line after
/// `panic:` reads as a pre-1.23 multi-line value), its shape says that
/// another writer wrote it.
pub fn is_log_line(line: &str) -> bool {
    is_log_line_of_kind(line_kind(line), line)
}

/// [`is_log_line`] of a line whose [`line_kind`] the caller has already.
pub fn is_log_line_of_kind(kind: LineKind, line: &str) -> bool {
    // A line of the crash grammar is never another writer's, whatever its
    // prefix (`2026/11/27 05:20:58 http: panic serving …`).
    if kind != LineKind::Other {
        return false;
    }
    let b = line.as_bytes();
    match b.first() {
        Some(b'{') => line.ends_with('}') && crate::json_check::is_json(line),
        Some(c) if c.is_ascii_digit() => is_date_time(b),
        Some(b'I' | b'W' | b'E' | b'F') if is_klog(b) => true,
        Some(b'[') => line
            .get(1..)
            .and_then(|rest| rest.split_once(']'))
            .is_some_and(|(inner, _)| is_level(inner)),
        _ => {
            let word_end = line
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(line.len());
            let (word, rest) = line.split_at(word_end);
            // `INFO msg`, `WARN[0001]`, `error: …`; a lower-case word
            // before a space is prose (`fatal error: …` is Go's own).
            let upper = word.bytes().all(|c| c.is_ascii_uppercase());
            (is_level(word)
                && (rest.starts_with(['[', ':']) || (upper && rest.starts_with([' ', '\t']))))
                || (matches!(word, "time" | "ts" | "level" | "lvl" | "msg" | "t")
                    && rest.starts_with('=')
                    && rest.len() > 1)
        }
    }
}

/// `2026/11/27 05:20` or `2026-11-27T05:20` (or with a space) at the start.
fn is_date_time(b: &[u8]) -> bool {
    ["dddd/dd/dd dd:dd", "dddd-dd-ddTdd:dd", "dddd-dd-dd dd:dd"]
        .iter()
        .any(|p| has_shape(b, p.as_bytes()))
}

/// klog's header: `I1127 05:20:58.123456`.
fn is_klog(b: &[u8]) -> bool {
    has_shape(b.get(1..).unwrap_or_default(), b"dddd dd:dd:dd")
}

/// Whether `b` starts with `pattern`, where `d` stands for any digit.
fn has_shape(b: &[u8], pattern: &[u8]) -> bool {
    b.len() >= pattern.len()
        && b.iter().zip(pattern).all(|(c, p)| match p {
            b'd' => c.is_ascii_digit(),
            _ => c == p,
        })
}

/// A log level word, upper or lower case.
fn is_level(w: &str) -> bool {
    const LEVELS: [&str; 10] = [
        "TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "WARNING", "ERROR", "ERR", "CRITICAL", "FATAL",
    ];
    LEVELS.iter().any(|l| l.eq_ignore_ascii_case(w))
}

/// Whether a tab-indented line (tab included) is a frame location:
/// `\t<file>:<line>` optionally followed by ` +0x…` and ` fp=… sp=… pc=…`.
///
/// Used where the grammar would accept either a location or a panic value
/// continuation, to tell them apart.
pub fn is_location(line: &str) -> bool {
    line.strip_prefix('\t')
        .is_some_and(|rest| location_end(rest.as_bytes()).is_some())
}

/// Where a location's `<file>:<line>` has its last `:` and where it ends:
/// after the digits that follow that `:`, when nothing follows them but
/// ` +0x…` or ` fp=0x…`. Read from the end, since the file may hold
/// anything and the suffixes hold no `:` — and the line number is a few
/// bytes from the end, where a search from the start would cross the whole
/// path.
pub(crate) fn location_end(b: &[u8]) -> Option<(usize, usize)> {
    let colon = rfind_byte(b, b':').filter(|&c| c > 0)?;
    let after = b.get(colon + 1..)?;
    let digits = after.iter().take_while(|c| c.is_ascii_digit()).count();
    let tail = after.get(digits..)?;
    (digits > 0 && (tail.is_empty() || tail.starts_with(b" +0x") || tail.starts_with(b" fp=0x")))
        .then_some((colon, colon + 1 + digits))
}

/// `goroutine <id> [` … `]:` with optional `gp=… m=… mp=…` between the id
/// and the bracket and optional labels (`{…}`) after it.
fn is_goroutine_header(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("goroutine ") else {
        return false;
    };
    let rest_after = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    if rest_after.len() == rest.len() || !line.ends_with(':') {
        return false;
    }
    let rest = rest_after;
    // Either the state bracket follows at once, or the internals do.
    (rest.starts_with(" [") || rest.starts_with(" gp=0x"))
        && find_byte(rest.as_bytes(), b'[').is_some()
}

fn is_stack_unavailable(line: &str) -> bool {
    line.starts_with("goroutine running on other thread; stack unavailable")
}

/// `SIGQUIT: quit`: `SIG`, upper-case letters or digits, `: `, a description.
fn is_signal_header(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("SIG") else {
        return false;
    };
    let after = rest.trim_start_matches(|c: char| c.is_ascii_uppercase() || c.is_ascii_digit());
    after.len() < rest.len() && after.strip_prefix(": ").is_some_and(|d| !d.is_empty())
}

/// `...N frames elided...` (1.21+) or `...additional frames elided...`.
fn is_elided(line: &str) -> bool {
    line.starts_with("...") && line.ends_with(" frames elided...")
}

/// `0x000000c000012345:  0x0000000000000000  0x…` or
/// `0x000000c000012345: <main.f+0x25>  …` (a stack word dump).
fn is_stack_words(line: &str) -> bool {
    let digits = line.get(2..).unwrap_or_default();
    let after = digits.trim_start_matches(|c: char| c.is_ascii_hexdigit());
    after.len() < digits.len() && after.starts_with(':')
}

/// A register line of a signal report: a short lower-case name, spaces, a
/// hex value (`rax    0x0`, `r8     0xc000…`, `rflags 0x246`, `lr 0x…`).
fn is_register(line: &str) -> bool {
    let b = line.as_bytes();
    let name = b
        .iter()
        .position(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
        .unwrap_or(b.len());
    if name == 0 || name > 8 || !b.first().is_some_and(u8::is_ascii_lowercase) {
        return false;
    }
    let Some(after) = line.get(name..) else {
        return false;
    };
    let rest = after.trim_start_matches(' ');
    if rest.len() == after.len() {
        return false; // no separating space
    }
    rest.strip_prefix("0x")
        .is_some_and(|h| !h.is_empty() && h.bytes().all(|c| c.is_ascii_hexdigit()))
}

/// The unindented lines of a race report body.
fn is_race_body(line: &str) -> bool {
    // Access headers: `Read at 0x… by goroutine 7:`, `Previous write at …:`,
    // and the atomic/mutex variants; goroutine creation sites.
    let access = [
        "Read ",
        "Write ",
        "Previous read ",
        "Previous write ",
        "Atomic read ",
        "Atomic write ",
        "Previous atomic read ",
        "Previous atomic write ",
    ];
    // Older race runtimes print no address: `Write by goroutine 81:`,
    // `Previous read by main goroutine:`.
    let access_header = |p: &&str| {
        line.strip_prefix(*p).is_some_and(|rest| {
            rest.starts_with("at 0x")
                || rest.starts_with("by goroutine ")
                || rest.starts_with("by main goroutine")
        })
    };
    if line.ends_with(':') && access.iter().any(access_header) {
        return true;
    }
    if line.starts_with("Goroutine ") && line.ends_with(" created at:") {
        return true;
    }
    line.starts_with("Location is ") || (line.starts_with("Mutex ") && line.ends_with(':'))
}

/// A frame's function line: `main.main()`, `main.(*Cart).Total(0xc…, {…})`,
/// `main.Map[...](...)`, `panic({0x45e900?, 0x4d6f70?})`.
///
/// The function name holds no space and is followed by the parenthesised
/// argument list that ends the line: the name ends at the first `(` that
/// does not open a `(*T)` receiver (as [`split_args`] splits it). One pass
/// over the name: most lines of a traceback are function lines.
fn is_function(line: &str) -> bool {
    let b = line.as_bytes();
    if b.last() != Some(&b')') || b.first() == Some(&b'.') {
        return false;
    }
    if cfg!(target_arch = "wasm32") {
        // The wasm builds keep the smaller walk.
        return function_by_bytes(b);
    }
    // The first byte that decides, eight bytes at a time: every frame line
    // of a dump comes here, and its name runs for dozens of bytes.
    let mut i = 0;
    let mut word = load8(b, 0).map(function_stops);
    loop {
        let (at, c) = match word {
            Some(0) => {
                i += 8;
                word = load8(b, i).map(function_stops);
                continue;
            }
            Some(hits) => {
                let at = i + (hits.trailing_zeros() / 8) as usize;
                // The byte is dealt with: the next hit of this word next.
                word = Some(hits & (hits - 1));
                (at, b.get(at).copied().unwrap_or(b')'))
            }
            // The last few bytes, one at a time.
            None => match b.get(i) {
                Some(&c) => {
                    i += 1;
                    (i - 1, c)
                }
                None => return false,
            },
        };
        match c {
            b'(' if b.get(at + 1) != Some(&b'*') => return at > 0,
            b' ' | b'"' | b'{' | b'}' | b'=' | b',' | b'\\' => return false,
            _ => {}
        }
    }
}

/// [`is_function`] past its first checks, byte by byte: the first `(` not
/// opening a receiver (`(*T)`) ends the name, which must be there and hold
/// no byte that Go's frame lines never have before it.
fn function_by_bytes(b: &[u8]) -> bool {
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'(' if b.get(i + 1) != Some(&b'*') => return i > 0,
            b' ' | b'"' | b'{' | b'}' | b'=' | b',' | b'\\' => return false,
            _ => {}
        }
    }
    false
}

/// The high bit of each byte of `w` that may decide [`is_function`]: every
/// `(`, space, `"`, `{`, `}`, `=`, `,` and `\\`, and some bytes that do not
/// (those below `-`, those above `z`), checked one by one.
fn function_stops(w: u64) -> u64 {
    const HIGH: u64 = splat(0x80);
    const LOW7: u64 = splat(0x7f);
    // Below 0x2d: a byte with its high bit set minus 0x2d keeps it clear.
    let below = !((w | HIGH) - splat(0x2d)) & !w & HIGH;
    // 0x7b and above (no carry: 0x7f + 5 < 0x100).
    let above = (((w & LOW7) + splat(5)) | w) & HIGH;
    below | above | zero_bytes(w ^ splat(b'=')) | zero_bytes(w ^ splat(b'\\'))
}

/// Splits `pkg.(*T).f(args` at the argument list's `(`: the first `(` that
/// does not open a `(*T)` receiver.
pub fn split_args(s: &str) -> Option<(&str, &str)> {
    let mut from = 0;
    loop {
        let open = from + find_byte(s.as_bytes().get(from..)?, b'(')?;
        let (name, rest) = s.split_at_checked(open)?;
        let args = rest.get(1..).unwrap_or_default();
        if !args.starts_with('*') {
            return Some((name, args));
        }
        from = open + 1;
    }
}

/// `[<log prefix>]http: panic serving <addr>: <value>`.
///
/// The prefix must look like the `log` package's (date, time, file:line
/// tokens): a JSON or text log line that merely quotes the phrase is not a
/// crash report.
fn is_http_panic(line: &str) -> bool {
    // Token by token from the start: an ordinary line (JSON, logfmt, text)
    // is given up at its first token that is no log prefix's, without a
    // search of the rest (this runs on every line of every stream). A
    // token in which a mark starts is `p` + `http:`; when it is no
    // prefix's, `p` is none either, so such a token ends the search too.
    let b = line.as_bytes();
    let mark = HTTP_PANIC_MARK.as_bytes();
    let mut start = 0;
    loop {
        let rest = b.get(start..).unwrap_or_default();
        if matches!(rest.first(), Some(b'"' | b'{' | b'}' | b'=')) {
            // No prefix token holds these: a JSON line ends at its first
            // byte, without a search for the end of its first token.
            return false;
        }
        let end = start + find_byte(rest, b' ').unwrap_or(rest.len());
        let token = line.get(start..end).unwrap_or_default();
        if !is_log_prefix_token(token) {
            return false;
        }
        // The mark's `http:` ends the token it starts in.
        if let Some(p) = token.strip_suffix("http:")
            && rest.get(p.len()..).is_some_and(|m| m.starts_with(mark))
        {
            return is_log_prefix_token(p);
        }
        if end >= b.len() {
            return false;
        }
        start = end + 1;
    }
}

/// The index of the first [`HTTP_PANIC_MARK`] in `line`. Looks for its
/// `:`, which few lines hold (a frame's function line none).
pub fn find_http_panic(line: &str) -> Option<usize> {
    const COLON: usize = 4;
    let mut from = 0;
    loop {
        let colon = from + find_byte(line.as_bytes().get(from..)?, b':')?;
        if let Some(at) = colon.checked_sub(COLON)
            && line
                .as_bytes()
                .get(at..)?
                .starts_with(HTTP_PANIC_MARK.as_bytes())
        {
            return Some(at);
        }
        from = colon + 1;
    }
}

/// The index of the first occurrence of `needle` in `hay`. Finds the
/// needle's first character with `memchr` (what `str::find(char)` runs)
/// and compares from there: on a line, cheaper than `str::find(&str)`,
/// whose searcher costs more to set up than a short line takes to scan.
pub fn find_str(hay: &str, needle: &str) -> Option<usize> {
    let (&first, rest) = needle.as_bytes().split_first()?;
    let b = hay.as_bytes();
    let mut from = 0;
    loop {
        let i = from + find_byte(b.get(from..)?, first)?;
        // A match starts where the needle's first byte is: at a character
        // boundary, since the needle is text.
        if b.get(i + 1..)?.starts_with(rest) {
            return Some(i);
        }
        from = i + 1;
    }
}

/// The index of the first `c` in `b`, eight bytes at a time: on a line's
/// few dozen bytes this beats `str::find(char)`, whose searcher costs more
/// to set up than such a line takes to scan.
pub fn find_byte(b: &[u8], c: u8) -> Option<usize> {
    let mut i = 0;
    while let Some(x) = load8(b, i) {
        let hits = zero_bytes(x ^ splat(c));
        if hits != 0 {
            return Some(i + (hits.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    let tail = b.get(i..)?;
    tail.iter().position(|&x| x == c).map(|p| i + p)
}

/// The index of the last `c` in `b` (see [`find_byte`]).
pub fn rfind_byte(b: &[u8], c: u8) -> Option<usize> {
    let mut end = b.len();
    while end >= 8 {
        let x = load8(b, end - 8)?;
        let hits = zero_bytes(x ^ splat(c));
        if hits != 0 {
            return Some(end - 8 + (7 - hits.leading_zeros() / 8) as usize);
        }
        end -= 8;
    }
    b.get(..end)?.iter().rposition(|&x| x == c)
}

/// Eight bytes at `i`, little-endian, if there are eight.
#[inline(always)]
pub(crate) fn load8(b: &[u8], i: usize) -> Option<u64> {
    let chunk: [u8; 8] = b.get(i..i.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(chunk))
}

/// `c` in every byte.
#[inline(always)]
pub(crate) const fn splat(c: u8) -> u64 {
    0x0101_0101_0101_0101 * c as u64
}

/// The high bit of each byte of `v` that is zero, exactly (no false hits
/// beside a true one, so the last hit is as sure as the first).
#[inline(always)]
pub(crate) fn zero_bytes(v: u64) -> u64 {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    !(((v & LOW7).wrapping_add(LOW7)) | v | LOW7)
}

/// A token of a `log` package prefix: empty, `2026/11/27`, `05:20:58`,
/// `05:20:58.123456`, `main.go:12:`, or a short bracketed/word prefix ending
/// in `:` such as `server:`.
fn is_log_prefix_token(tok: &str) -> bool {
    if tok.is_empty() {
        return true;
    }
    let date_time = tok
        .bytes()
        .all(|c| c.is_ascii_digit() || matches!(c, b'/' | b':' | b'.' | b'-'));
    if date_time {
        return true;
    }
    // `file.go:12:` (Lshortfile/Llongfile) or a `prefix:` word.
    tok.ends_with(':') && !tok.contains(['"', '{', '}', '='])
}

#[cfg(test)]
mod tests {
    use super::LineKind::*;
    use super::*;

    /// The word-at-a-time `is_function` agrees with the byte walk (the
    /// wasm builds' way): every character of interest at every place of
    /// frame lines.
    #[test]
    fn function_scan_agrees_with_byte_walk() {
        let by_definition = |line: &str| {
            let b = line.as_bytes();
            b.last() == Some(&b')') && b.first() != Some(&b'.') && function_by_bytes(b)
        };
        let chars = [
            '(', '*', ')', ' ', '"', '{', '}', '=', ',', '\\', '-', '.', '/', '+', '!', 'z', '|',
            '~', '\u{7f}', '\u{1}', 'é', '[', ']', '_', '0',
        ];
        for base in [
            "main.main()",
            "github.com/acme/orders/worker.(*Pool).run(0xc000124000)",
            "net.(*conn).Read(0xc000112040, {0xc000200000?, 0x1000?, 0x0?})",
            "example.com/m.Map[...].Get(...)",
            "abcdefghijklmnopqrstuvwxy",
        ] {
            for at in 0..=base.len() {
                for c in chars {
                    let mut line = base.to_owned();
                    line.insert(at, c);
                    for l in [line.clone(), format!("{line})")] {
                        assert_eq!(is_function(&l), by_definition(&l), "{l:?}");
                    }
                }
            }
        }
    }

    /// The token walk of `is_http_panic` agrees with its definition: the
    /// text before the first mark is log prefix tokens.
    #[test]
    fn http_panic_prefix_walk() {
        let by_definition = |line: &str| {
            find_http_panic(line)
                .and_then(|at| line.get(..at))
                .is_some_and(|p| p.split(' ').all(is_log_prefix_token))
        };
        for line in [
            "http: panic serving 1.2.3.4:5: boom",
            "2026/11/27 05:20:58 http: panic serving 1.2.3.4:5: boom",
            "2026/11/27  05:20:58.123 main.go:12: http: panic serving x: y",
            "server:http: panic serving x: y",
            "x=http: panic serving x: y",
            "xhttp: panic serving x: y",
            "level=error msg=\"http: panic serving x: y\"",
            "{\"msg\":\"http: panic serving x: y\"}",
            "2026/11/27 GET /healthz 200 http: panic serving x: y",
            "hhttp: panic serving a: b http: panic serving c: d",
            "2026/11/27 http:x http: panic serving",
            "2026/11/27 http: panic serving",
            "http: panic servin",
            "",
            " ",
            "2026/11/27 ",
        ] {
            assert_eq!(is_http_panic(line), by_definition(line), "{line:?}");
        }
    }

    /// One line of each kind, as Go prints it.
    const EXAMPLES: [(LineKind, &str); 23] = [
        (Blank, ""),
        (Panic, "panic: boom [recovered]"),
        (
            HttpPanic,
            "2026/11/27 05:20:58 http: panic serving 127.0.0.1:54321: boom",
        ),
        (FatalError, "fatal error: concurrent map writes"),
        (
            RuntimeNote,
            "runtime: goroutine stack exceeds 1000000000-byte limit",
        ),
        (FaultAddress, "unexpected fault address 0xdeadbeef"),
        (SignalHeader, "SIGQUIT: quit"),
        (SignalPc, "PC=0x46a9e1 m=0 sigcode=0"),
        (
            SignalInfo,
            "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x47e0a4]",
        ),
        (SignalNote, "signal arrived during cgo execution"),
        (GoroutineHeader, "goroutine 18 [chan receive, 5 minutes]:"),
        (Function, "main.(*Cart).Total(...)"),
        (CreatedBy, "created by main.main in goroutine 1"),
        (Indented, "\t/app/main.go:12 +0x1d"),
        (Elided, "...22369475 frames elided..."),
        (
            StackUnavailable,
            "\tgoroutine running on other thread; stack unavailable",
        ),
        (RuntimeStack, "runtime stack:"),
        (Register, "rflags 0x10246"),
        (
            StackWords,
            "stack: frame={sp:0xc000, fp:0xc000} stack=[0xc000,0xc001)",
        ),
        (RaceDelimiter, "=================="),
        (RaceWarning, "WARNING: DATA RACE"),
        (RaceBody, "Write at 0x00c000012345 by goroutine 7:"),
        (Other, "retrying in 5s"),
    ];

    #[test]
    fn every_kind_once_in_order() {
        assert_eq!(LineKind::ALL.len(), Other as usize + 1);
        for (i, k) in LineKind::ALL.into_iter().enumerate() {
            assert_eq!(k as usize, i, "{k:?}");
            assert_eq!(EXAMPLES[i].0, k);
        }
    }

    #[test]
    fn every_kind_starts_with_its_prefix() {
        for (kind, line) in EXAMPLES {
            assert_eq!(line_kind(line), kind, "{line:?}");
            assert!(line.starts_with(role(kind).prefix), "{kind:?}");
        }
    }

    /// The roles, kind by kind, as `docs/grammar.md` states them.
    #[test]
    fn roles() {
        use Event as E;
        let opening = |kind: LineKind| role(kind).opens.map(|o| (o.event, o.confirmed, o.then));
        let opens: Vec<_> = LineKind::ALL
            .into_iter()
            .filter_map(|k| Some((k, opening(k)?)))
            .collect();
        assert_eq!(
            opens,
            [
                (Panic, (E::Panic, true, Pos::Message)),
                (HttpPanic, (E::HttpPanic, true, Pos::Message)),
                (FatalError, (E::FatalError, true, Pos::Message)),
                (RuntimeNote, (E::FatalError, false, Pos::Message)),
                (FaultAddress, (E::FatalError, false, Pos::Message)),
                (SignalHeader, (E::Signal, false, Pos::SignalHeader)),
                (GoroutineHeader, (E::GoroutineDump, false, Pos::Header)),
                (RaceDelimiter, (E::DataRace, false, Pos::RaceOpen)),
            ]
        );
        let proves: Vec<_> = LineKind::ALL
            .into_iter()
            .filter_map(|k| Some((k, role(k).proves?)))
            .collect();
        assert_eq!(
            proves,
            [
                (Panic, E::Panic),
                (FatalError, E::FatalError),
                (SignalPc, E::Signal),
                (Function, E::GoroutineDump),
                (Elided, E::GoroutineDump),
                (StackUnavailable, E::GoroutineDump),
                (RaceWarning, E::DataRace),
            ]
        );
        let separated: Vec<_> = LineKind::ALL
            .into_iter()
            .filter(|&k| role(k).separated)
            .collect();
        assert_eq!(separated, [GoroutineHeader, RuntimeStack, Register]);
        // An unconfirmed opening is proved by a line of another kind.
        for (kind, (event, confirmed, _)) in opens {
            assert!(
                confirmed
                    || LineKind::ALL
                        .iter()
                        .any(|&k| k != kind && role(k).proves == Some(event)),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn opening_prefixes_by_first_byte() {
        let table: Vec<(u8, &str)> = (0..=255u8)
            .zip(OPENING_PREFIXES)
            .filter(|(_, p)| !p.is_empty())
            .collect();
        let mut want: Vec<(u8, &str)> = LineKind::ALL
            .into_iter()
            .map(role)
            .filter(|r| r.opens.is_some() && !r.prefix.is_empty())
            .map(|r| (r.prefix.as_bytes()[0], r.prefix))
            .collect();
        want.sort();
        assert_eq!(table, want);
        assert_eq!(table.len(), 7);
        // Every opening line but `http: panic serving` starts with one.
        for (kind, line) in EXAMPLES {
            assert_eq!(may_start_report(line), role(kind).opens.is_some());
            let first = usize::from(line.as_bytes().first().copied().unwrap_or(0));
            if may_start_report(line) && kind != HttpPanic {
                assert!(line.starts_with(OPENING_PREFIXES[first]), "{line}");
            }
        }
        assert!(EXAMPLES[HttpPanic as usize].1.contains(HTTP_PANIC_MARK));
    }

    #[test]
    fn report_headers() {
        assert_eq!(line_kind("panic: boom"), Panic);
        assert_eq!(line_kind("panic: boom [recovered]"), Panic);
        assert_eq!(line_kind("panicking: no"), Other);
        assert_eq!(line_kind("fatal error: concurrent map writes"), FatalError);
        assert_eq!(
            line_kind("runtime: goroutine stack exceeds 1000000000-byte limit"),
            RuntimeNote
        );
        assert_eq!(
            line_kind("unexpected fault address 0xdeadbeef"),
            FaultAddress
        );
        assert_eq!(line_kind("SIGQUIT: quit"), SignalHeader);
        assert_eq!(line_kind("SIGSEGV: segmentation violation"), SignalHeader);
        assert_eq!(line_kind("SIGTERM"), Other);
        assert_eq!(line_kind("PC=0x46a9e1 m=0 sigcode=0"), SignalPc);
        assert_eq!(
            line_kind("[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x47e0a4]"),
            SignalInfo
        );
        assert_eq!(line_kind("signal arrived during cgo execution"), SignalNote);
        assert_eq!(line_kind("=================="), RaceDelimiter);
        assert_eq!(line_kind("WARNING: DATA RACE"), RaceWarning);
    }

    #[test]
    fn http_panic_needs_a_log_prefix() {
        assert_eq!(
            line_kind("2026/11/27 05:20:58 http: panic serving 127.0.0.1:54321: boom"),
            HttpPanic
        );
        assert_eq!(line_kind("http: panic serving [::1]:80: boom"), HttpPanic);
        assert_eq!(
            line_kind("2026/11/27 05:20:58.123456 server.go:12: http: panic serving 1.2.3.4:5: x"),
            HttpPanic
        );
        assert_eq!(
            line_kind(r#"{"msg":"saw http: panic serving 1.2.3.4:5: x"}"#),
            Other
        );
    }

    #[test]
    fn byte_search_agrees_with_std() {
        let hay: Vec<u8> = (0..40u8)
            .map(|i| [b'a', b':', 0x80, 0xff, b' '][usize::from(i % 7 % 5)])
            .collect();
        for len in 0..hay.len() {
            for start in 0..len {
                let b = &hay[start..len];
                for c in [b'a', b':', 0x80, 0xff, b' ', b'z', 0] {
                    assert_eq!(find_byte(b, c), b.iter().position(|&x| x == c), "{b:?} {c}");
                    assert_eq!(
                        rfind_byte(b, c),
                        b.iter().rposition(|&x| x == c),
                        "{b:?} {c}"
                    );
                }
            }
        }
    }

    #[test]
    fn http_panic_mark_found_anywhere() {
        for (line, at) in [
            ("http: panic serving 1.2.3.4:5: x", Some(0)),
            ("é: http: panic serving 1.2.3.4:5: x", Some(4)),
            ("aé: http: panic serving 1.2.3.4:5: x", Some(5)),
            ("a: b: http: panic serving x", Some(6)),
            ("http: panic serving", None),
            ("main.main()", None),
        ] {
            assert_eq!(find_http_panic(line), at, "{line}");
            assert_eq!(find_str(line, HTTP_PANIC_MARK), line.find(HTTP_PANIC_MARK));
        }
    }

    #[test]
    fn goroutine_headers_in_every_form() {
        for h in [
            "goroutine 1 [running]:",
            "goroutine 18 [chan receive, 5 minutes]:",
            "goroutine 7 [semacquire, locked to thread]:",
            "goroutine 3 [running (scan)]:",
            "goroutine 1 gp=0xc000002380 m=0 mp=0x5ba2c0 [running]:",
            "goroutine 5 gp=0xc000003500 m=nil [GC worker (idle)]:",
            r#"goroutine 6 [running labels:{"request_id": "req-7f3a"}]:"#,
            r#"goroutine 6 [running] {request_id: "req-7f3a", route: /v1/t…}:"#,
        ] {
            assert_eq!(line_kind(h), GoroutineHeader, "{h}");
        }
        assert_eq!(line_kind("goroutine 1 running"), Other);
        assert_eq!(line_kind("goroutines [x]:"), Other);
    }

    #[test]
    fn frames() {
        for f in [
            "main.main()",
            "main.(*Cart).Total(0xc000010000, {0x1, 0x2})",
            "panic({0x45e900?, 0x4d6f70?})",
            "main.Map[...](...)",
            "main.Map[go.shape.int](0x1)",
            "runtime.gopark(0x0?, 0x0?, 0x0?, 0x0?, 0x0?)",
            "main.main.func1.1()",
            "type:.eq.main.T(...)",
            "github.com/acme/shop/orders.(*Cart).Total(...)",
        ] {
            assert_eq!(line_kind(f), Function, "{f}");
        }
        for o in ["Starting server (v1.2)", r#"{"a": "b (c)"}"#, "(x)"] {
            assert_ne!(line_kind(o), Function, "{o}");
        }
        assert_eq!(line_kind("created by main.main in goroutine 1"), CreatedBy);
        assert_eq!(line_kind("created by main.main"), CreatedBy);
        assert_eq!(line_kind("...22369475 frames elided..."), Elided);
        assert_eq!(line_kind("...additional frames elided..."), Elided);
        assert_eq!(
            line_kind("\tgoroutine running on other thread; stack unavailable"),
            StackUnavailable
        );
        assert_eq!(line_kind("runtime stack:"), RuntimeStack);
    }

    #[test]
    fn locations() {
        for l in [
            "\t/app/main.go:12 +0x1d",
            "\t/app/main.go:12",
            "\t/usr/lib/go-1.22/src/runtime/panic.go:1023 +0x5d fp=0xc000 sp=0xc000 pc=0x43",
            "\t/app/my dir/main.go:7 +0x1d",
            "\tgithub.com/acme/x/y.go:3 +0x1",
            "\t?:0",
        ] {
            assert_eq!(line_kind(l), Indented);
            assert!(is_location(l), "{l}");
        }
        for v in [
            "\tline two of a value",
            "\tpanic: second",
            "\tmain.go",
            "\t:12",
            "\t/app/main.go:12 and more",
            "\t/app/main.go:12:",
        ] {
            assert!(!is_location(v), "{v}");
        }
        // The line number is the one after the last `:`, whatever the
        // path holds before it.
        for (l, head) in [
            ("/app/main.go:12 +0x1d", "/app/main.go:12"),
            ("/odd +0x dir/main.go:7 +0x1d", "/odd +0x dir/main.go:7"),
            (
                "C:/src/main.go:9 +0x5d fp=0xc0 sp=0xc0 pc=0x43",
                "C:/src/main.go:9",
            ),
            (
                "/usr/local/go/src/sync/mutex.go:46",
                "/usr/local/go/src/sync/mutex.go:46",
            ),
        ] {
            let (colon, end) = location_end(l.as_bytes()).unwrap();
            assert_eq!((&l[..end], l.as_bytes()[colon]), (head, b':'), "{l}");
        }
    }

    #[test]
    fn registers_and_stack_words() {
        for r in [
            "rax    0x0",
            "rflags 0x10246",
            "r10    0xc000",
            "lr     0x4",
            "fault  0x0",
        ] {
            assert_eq!(line_kind(r), Register, "{r}");
        }
        assert_eq!(line_kind("rax"), Other);
        assert_eq!(line_kind("version 1.2"), Other);
        assert_eq!(
            line_kind("stack: frame={sp:0xc000, fp:0xc000} stack=[0xc000,0xc001)"),
            StackWords
        );
        assert_eq!(
            line_kind("0x000000c000012345:  0x0000000000000000"),
            StackWords
        );
        assert_eq!(line_kind("0x1f is a number"), Other);
    }

    #[test]
    fn log_lines_by_their_shape() {
        for l in [
            r#"{"level":"info","msg":"flushed","seq":3}"#,
            "2026/11/27 05:20:58 sync: pushed 3 objects",
            "2026-11-27T05:20:58.123Z\tWARN\tqueue is filling up",
            "I1127 05:20:58.123456   12 reflector.go:301] watch ended",
            "time=2026-11-27T05:20:58Z level=INFO msg=\"shipped batch\"",
            "level=warning msg=\"slow flush\"",
            "INFO[0001] starting",
            "WARN: disk almost full",
            "[ERROR] upstream timeout",
        ] {
            assert!(is_log_line(l), "{l}");
        }
        for l in [
            "panic: boom",
            "fatal error: concurrent map writes",
            "2026/11/27 05:20:58 http: panic serving 127.0.0.1:54321: boom",
            "info about the run",
            "  - listen_addr: missing port",
            "main.main()",
            "\t/app/main.go:12 +0x1d",
            "goroutine 1 [running]:",
            "{not json}",
            "Information wants to be free",
            "2026 was a good year",
            "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x47e0a4]",
            "",
        ] {
            assert!(!is_log_line(l), "{l}");
        }
    }

    #[test]
    fn race_body() {
        for r in [
            "Write at 0x00c000012345 by goroutine 7:",
            "Previous read at 0x00c000012345 by main goroutine:",
            "Write by goroutine 81:",
            "Previous read by goroutine 80 (mutexes: write M12):",
            "Atomic write by main goroutine:",
            "Goroutine 7 (running) created at:",
            "Goroutine 8 (finished) created at:",
            "  main.main.func1()",
            "      /app/main.go:12 +0x44",
            "Location is global 'counter' of size 8 at 0x0000005f1a30 (race+0x5f1a30)",
        ] {
            assert_eq!(line_kind(r), RaceBody, "{r}");
        }
        assert_eq!(line_kind("Write by the team:"), Other);
        assert_eq!(line_kind("   "), Blank);
        assert_eq!(line_kind(""), Blank);
    }
}
