//! From the lines of one reassembled report to a [`Crash`].
//!
//! The parser walks the lines once with the same line grammar the
//! reassembler used ([`line_kind`], [`role`]), so what was joined by a rule
//! is read by the same rule. It is a small state machine: the section it is
//! in (`Section`) says what the next lines mean, and each section has its
//! own method, documented with the line forms it reads. It never fails: a
//! line it cannot place is skipped, and the raw report always travels with
//! the record.

use std::borrow::Cow;

use crate::crash::{
    Crash, CreatedBy, Event, Frame, Goroutine, PanicValue, Race, RaceAccess, RaceGoroutine, Signal,
};
use crate::grammar::{
    HTTP_PANIC_MARK, LineKind, Pos, find_byte, find_http_panic, find_str, is_location, line_kind,
    rfind_byte, role, split_args,
};

/// Where the parser is: what the next lines mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    /// After `panic:`, `http: panic serving` or `fatal error:`: the value's
    /// continuation lines and chained panics, until a goroutine block.
    Message,
    /// In a goroutine block: frames, `created by`, elided frames.
    Goroutine,
    /// In a `runtime stack:` section, kept as raw text.
    RuntimeStack,
    /// In a signal report's register dump, kept as raw text.
    Registers,
    /// In a race report, to its end (nothing else follows one).
    Race,
    /// Between sections, or before the first.
    Other,
}

/// Parses one report's lines.
pub fn parse<'a>(event: Event, lines: &[&'a str]) -> Crash<'a> {
    parse_with_kinds(event, lines, &[])
}

/// [`parse`], given the kinds of the first lines ([`line_kind`] of each, as
/// the reassembler read them: see
/// [`LineKinds`](crate::reassembler::LineKinds)); the kinds of the
/// lines after those are read from their texts.
pub fn parse_with_kinds<'a>(event: Event, lines: &[&'a str], kinds: &[LineKind]) -> Crash<'a> {
    const HEADER: &[u8] = role(LineKind::GoroutineHeader).prefix.as_bytes();
    // Room for every goroutine at once: a dump's blocks are many and large.
    let headers = lines
        .iter()
        .filter(|l| l.as_bytes().starts_with(HEADER))
        .count();
    let mut p = Parser::new(event, headers);
    for (i, &line) in lines.iter().enumerate() {
        // The wasm builds are never given kinds (see `LineKinds`): leaving
        // the branch out keeps the JS package within its size budget.
        let kind = match kinds.get(i) {
            Some(&k) if !cfg!(target_arch = "wasm32") => k,
            _ => line_kind(line),
        };
        debug_assert_eq!(kind, line_kind(line), "line {i}: {line:?}");
        p.line(i, line, kind);
    }
    p.finish(lines)
}

/// The parser's state between lines.
struct Parser<'a> {
    crash: Crash<'a>,
    section: Section,
    /// A function line waiting for its location.
    function: Option<&'a str>,
    /// A `created by` line waiting for its location.
    created_by: Option<&'a str>,
    /// The `runtime stack:` section being read.
    runtime_stack: String,
    /// The register dump being read.
    registers: String,
    /// Where the frames of a race report go.
    race_target: Option<RaceTarget>,
    /// Lines that may continue the first panic's value.
    old_value: OldValue,
}

impl<'a> Parser<'a> {
    fn new(event: Event, goroutines: usize) -> Self {
        Parser {
            crash: Crash {
                event: Some(event),
                goroutines: Vec::with_capacity(goroutines),
                ..Crash::default()
            },
            section: Section::Other,
            function: None,
            created_by: None,
            runtime_stack: String::new(),
            registers: String::new(),
            race_target: None,
            old_value: OldValue::default(),
        }
    }

    /// Reads line `i` in the current section.
    fn line(&mut self, i: usize, line: &'a str, kind: LineKind) {
        self.old_value.see(i, kind);
        if self.section == Section::Race {
            self.race_line(line, kind);
        } else if !self.message_header(line, kind) && !self.section_header(line, kind) {
            match self.section {
                Section::Message => self.message_line(line, kind),
                Section::Goroutine => self.goroutine_line(line, kind),
                Section::RuntimeStack => self.runtime_stack_line(line, kind),
                Section::Registers | Section::Other | Section::Race => {
                    self.other_line(line, kind);
                }
            }
        }
    }

    /// The lines that say what happened, in any section (a report's lines
    /// of one kind mean the same wherever they are):
    /// - `panic: <value>[ [recovered]]`, `[<log prefix>]http: panic
    ///   serving <remote>: <value>`, `fatal error: <reason>`: the message,
    ///   whose section begins (they open confirmed reports at the message);
    /// - `unexpected fault address 0x…`;
    /// - `[signal SIGSEGV: segmentation violation code=… addr=… pc=…]`,
    ///   `SIGQUIT: quit`, `PC=0x… m=0 sigcode=0 [addr=0x…]`,
    ///   `signal arrived during cgo execution`.
    ///
    /// Returns whether the line was one of them.
    fn message_header(&mut self, line: &'a str, kind: LineKind) -> bool {
        let c = &mut self.crash;
        match kind {
            LineKind::Panic => c.panics.push(panic_value(after(line, role(kind).prefix))),
            LineKind::HttpPanic => {
                if let Some((remote, value)) = http_panic(line) {
                    c.http_remote = Some(remote.into());
                    c.panics.push(panic_value(value));
                }
            }
            LineKind::FatalError => {
                c.fatal_error = Some(after(line, role(kind).prefix).into());
            }
            LineKind::FaultAddress => {
                c.fault_address = Some(after(line, role(kind).prefix).trim().into());
            }
            LineKind::SignalInfo => c.signal = Some(signal_info(line)),
            LineKind::SignalHeader => {
                let (name, desc) = line.split_once(": ").unwrap_or((line, ""));
                c.signal = Some(Signal {
                    description: Some(desc.into()).filter(|d: &Cow<'_, str>| !d.is_empty()),
                    ..Signal::named(name)
                });
            }
            LineKind::SignalPc => {
                if let Some(s) = c.signal.as_mut() {
                    signal_pc(s, line);
                }
            }
            LineKind::SignalNote => c.in_cgo = true,
            _ => return false,
        }
        if role(kind)
            .opens
            .is_some_and(|o| o.confirmed && o.then == Pos::Message)
        {
            self.section = Section::Message;
        }
        true
    }

    /// The lines that begin a section, in any section:
    /// `goroutine N [state]:` (every form, see [`goroutine_header`]),
    /// `runtime stack:`, a register (`rax    0x0`), `==================`
    /// and `WARNING: DATA RACE`. Returns whether the line was one of them.
    fn section_header(&mut self, line: &'a str, kind: LineKind) -> bool {
        match kind {
            LineKind::GoroutineHeader => {
                self.section = Section::Goroutine;
                self.function = None;
                self.crash.goroutines.extend(goroutine_header(line));
            }
            LineKind::RuntimeStack => {
                self.section = Section::RuntimeStack;
                flush_text(&mut self.runtime_stack, &mut self.crash.runtime_stacks);
                self.runtime_stack.push_str(line);
            }
            LineKind::Register => {
                self.section = Section::Registers;
                if !self.registers.is_empty() {
                    self.registers.push('\n');
                }
                self.registers.push_str(line);
            }
            LineKind::RaceDelimiter | LineKind::RaceWarning => {
                self.section = Section::Race;
                self.crash.race.get_or_insert_with(Race::default);
            }
            _ => return false,
        }
        true
    }

    /// In the message section:
    /// - `\tpanic: <value>`: a panic raised while the previous one was
    ///   being handled (Go 1.23+ prints the chain indented);
    /// - `\t<text>`: the next line of the last panic's value (1.23+);
    /// - blank lines: the section goes on to the first goroutine block.
    ///
    /// Untabbed value lines (before 1.23) are read by [`OldValue`].
    fn message_line(&mut self, line: &'a str, kind: LineKind) {
        if kind != LineKind::Indented {
            return self.other_line(line, kind);
        }
        let text = line.strip_prefix('\t').unwrap_or(line);
        if let Some(v) = text.strip_prefix(role(LineKind::Panic).prefix) {
            self.crash.panics.push(panic_value(v));
        } else if let Some(p) = self.crash.panics.last_mut() {
            let value = p.value.to_mut();
            value.push('\n');
            value.push_str(text);
        }
    }

    /// In a goroutine block: `pkg.f(args)` then its location
    /// `\t/path/file.go:12 +0x1d` (a frame), `created by pkg.f in goroutine
    /// N` then its location, `...N frames elided...`, `\tgoroutine running
    /// on other thread; stack unavailable`; a blank line ends the block.
    fn goroutine_line(&mut self, line: &'a str, kind: LineKind) {
        match kind {
            LineKind::Function => self.function = Some(line),
            LineKind::CreatedBy => self.created_by = Some(line),
            LineKind::Indented if is_location(line) => {
                let Some(g) = self.crash.goroutines.last_mut() else {
                    return;
                };
                if let Some(f) = self.function.take() {
                    g.frames.extend(frame(f, line));
                } else if let Some(cb) = self.created_by.take() {
                    g.created_by = Some(created_by(cb, line));
                }
            }
            LineKind::Elided => {
                if let Some(g) = self.crash.goroutines.last_mut() {
                    g.elided_frames = Some(elided_count(line));
                }
            }
            _ => self.other_line(line, kind),
        }
    }

    /// In a `runtime stack:` section (the system stack of a throw): every
    /// line up to a blank one, as printed.
    fn runtime_stack_line(&mut self, line: &'a str, kind: LineKind) {
        if kind == LineKind::Blank {
            flush_text(&mut self.runtime_stack, &mut self.crash.runtime_stacks);
            self.section = Section::Other;
        } else {
            self.runtime_stack.push('\n');
            self.runtime_stack.push_str(line);
        }
    }

    /// Lines read the same in the other sections: `runtime: <note>` before
    /// the first goroutine block (stack overflow, out of memory), `\tgoroutine
    /// running on other thread; stack unavailable` for the last block, and a
    /// blank line, which ends any section but the message's.
    fn other_line(&mut self, line: &'a str, kind: LineKind) {
        let c = &mut self.crash;
        match kind {
            LineKind::RuntimeNote if c.goroutines.is_empty() => {
                c.runtime_notes.push(after(line, role(kind).prefix).into());
            }
            LineKind::StackUnavailable => {
                if let Some(g) = c.goroutines.last_mut() {
                    g.stack_unavailable = true;
                }
            }
            LineKind::Blank if self.section != Section::Message => self.section = Section::Other,
            _ => {}
        }
    }

    /// The sections still open end with the report.
    fn finish(mut self, lines: &[&str]) -> Crash<'a> {
        let mut c = self.crash;
        flush_text(&mut self.runtime_stack, &mut c.runtime_stacks);
        if !self.registers.is_empty() {
            c.registers = Some(self.registers);
        }
        if let Some(first) = c.panics.first_mut()
            && !first.value.contains('\n')
        {
            self.old_value.append_to(&mut first.value, lines);
        }
        c
    }
}

/// The text after a prefix the grammar checked.
fn after<'a>(line: &'a str, prefix: &str) -> &'a str {
    line.strip_prefix(prefix).unwrap_or(line)
}

/// Pre-1.23 multi-line panic values continue on unindented lines, which the
/// reassembler joined: the lines after the first `panic:` (or `http: panic
/// serving`) line up to the first line of the traceback (indented,
/// `[signal …]`, a goroutine header, `runtime stack:`, `fatal error:`,
/// `panic:`), trailing blank lines left out.
#[derive(Default)]
struct OldValue {
    /// The index after the first panic line.
    start: Option<usize>,
    /// The index after the last value line.
    end: usize,
    /// The value may go on.
    open: bool,
}

impl OldValue {
    fn see(&mut self, i: usize, kind: LineKind) {
        let Some(_) = self.start else {
            if matches!(kind, LineKind::Panic | LineKind::HttpPanic) {
                self.start = Some(i + 1);
                self.end = i + 1;
                self.open = true;
            }
            return;
        };
        if !self.open {
            return;
        }
        match kind {
            LineKind::Blank => {}
            LineKind::Indented
            | LineKind::SignalInfo
            | LineKind::GoroutineHeader
            | LineKind::RuntimeStack
            | LineKind::FatalError
            | LineKind::Panic => self.open = false,
            _ => self.end = i + 1,
        }
    }

    /// Appends the value lines, if any (blank ones as empty lines).
    fn append_to(&self, value: &mut Cow<'_, str>, lines: &[&str]) {
        let Some(extra) = self.start.and_then(|s| lines.get(s..self.end)) else {
            return;
        };
        if extra.is_empty() {
            return;
        }
        let value = value.to_mut();
        for &l in extra {
            value.push('\n');
            if line_kind(l) != LineKind::Blank {
                value.push_str(l);
            }
        }
    }
}

fn flush_text(buf: &mut String, into: &mut Vec<String>) {
    if !buf.is_empty() {
        into.push(std::mem::take(buf));
    }
}

/// `boom [recovered]` → value, recovered; the runtime error and Go type
/// recognised.
fn panic_value(text: &str) -> PanicValue<'_> {
    let (value, recovered) = if let Some(v) = text.strip_suffix(" [recovered, repanicked]") {
        (v, true)
    } else if let Some(v) = text.strip_suffix(" [recovered]") {
        (v, true)
    } else {
        (text, false)
    };
    PanicValue {
        value: value.into(),
        runtime_error: value.starts_with("runtime error: "),
        go_type: go_type(value),
        recovered,
    }
}

/// The type the runtime printed with a value: `main.StatusCode(503)`,
/// `(main.Point) 0xc000012345`, `(*main.T) 0x…`.
fn go_type(value: &str) -> Option<Cow<'_, str>> {
    if let Some(rest) = value.strip_prefix('(') {
        let (ty, addr) = rest.split_once(") ")?;
        if addr.starts_with("0x") && is_type_name(ty) {
            return Some(ty.into());
        }
        return None;
    }
    let (ty, arg) = value.split_once('(')?;
    let arg = arg.strip_suffix(')')?;
    let numeric = !arg.is_empty()
        && (arg.parse::<f64>().is_ok()
            || arg.starts_with("0x")
            || (arg.starts_with('(') && arg.ends_with(')'))
            || arg == "true"
            || arg == "false");
    let quoted = arg.starts_with('"') && arg.ends_with('"') && arg.len() >= 2;
    (ty.contains('.') && is_type_name(ty) && (numeric || quoted)).then(|| ty.into())
}

fn is_type_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '/' | '*' | '[' | ']' | '-'))
}

/// `[<prefix>]http: panic serving <remote>: <value>`.
fn http_panic(line: &str) -> Option<(&str, &str)> {
    let at = find_http_panic(line)?;
    let rest = line.get(at + HTTP_PANIC_MARK.len()..)?;
    // The remote is host:port, `[v6]:port` included: cut at the first ": ".
    rest.split_once(": ").or(Some((rest, "")))
}

/// `[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x47e0a4]`.
fn signal_info(line: &str) -> Signal<'_> {
    let inner = line
        .strip_prefix("[signal ")
        .and_then(|l| l.strip_suffix(']'))
        .unwrap_or(line);
    let (name, rest) = inner.split_once(": ").unwrap_or((inner, ""));
    let mut desc = Vec::new();
    let mut s = Signal::named(name);
    for word in rest.split(' ') {
        match word.split_once('=') {
            Some(("code", v)) => s.code = Some(v.into()),
            Some(("addr", v)) => s.addr = Some(v.into()),
            Some(("pc", v)) => s.pc = Some(v.into()),
            _ => desc.push(word),
        }
    }
    s.description = Some(Cow::<str>::Owned(desc.join(" "))).filter(|d| !d.is_empty());
    s
}

/// `PC=0x46a9e1 m=0 sigcode=0 addr=0x0`.
fn signal_pc<'a>(s: &mut Signal<'a>, line: &'a str) {
    for word in line.split(' ') {
        match word.split_once('=') {
            Some(("PC", v)) => s.pc = Some(v.into()),
            Some(("m", v)) => s.m = v.parse().ok(),
            Some(("sigcode", v)) => s.code = Some(v.into()),
            Some(("addr", v)) => s.addr = Some(v.into()),
            _ => {}
        }
    }
}

/// `goroutine 6 gp=0x… m=nil mp=0x… [chan receive, 5 minutes, locked to
/// thread labels:{…}] {k: v}:`.
fn goroutine_header(line: &str) -> Option<Goroutine<'_>> {
    let rest = line.strip_prefix("goroutine ")?.strip_suffix(':')?;
    let after_id = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    let id = rest.get(..rest.len() - after_id.len())?.parse().ok()?;
    let (internals, bracketed) = split_once(after_id, " [")?;
    let mut g = Goroutine {
        id,
        state: Cow::Borrowed(""),
        wait_minutes: None,
        locked_to_thread: false,
        gp: None,
        m: None,
        mp: None,
        labels: Vec::new(),
        frames: Vec::new(),
        elided_frames: None,
        stack_unavailable: false,
        created_by: None,
    };
    for word in internals.split(' ') {
        match word.split_once('=') {
            Some(("gp", v)) => g.gp = Some(v.into()),
            Some(("m", v)) => g.m = Some(v.into()),
            Some(("mp", v)) => g.mp = Some(v.into()),
            _ => {}
        }
    }
    // The bracket ends at the `]` that closes it, after any labels inside.
    let (inside, after) = split_bracket(bracketed);
    let (status, inner_labels) = match split_once(inside, " labels:") {
        Some((status, labels)) if labels.starts_with('{') => (status, Some(labels)),
        _ => (inside, None),
    };
    let (state, mut more) = split_once(status, ", ").unwrap_or((status, ""));
    g.state = state.into();
    while !more.is_empty() {
        let (p, next) = split_once(more, ", ").unwrap_or((more, ""));
        more = next;
        if p == "locked to thread" {
            g.locked_to_thread = true;
        } else if let Some(n) = p
            .strip_suffix(" minutes")
            .or_else(|| p.strip_suffix(" minute"))
        {
            g.wait_minutes = n.parse().ok();
        }
    }
    if let Some(l) = inner_labels {
        g.labels = labels(l);
    } else if let Some(l) = after.trim().strip_prefix('{') {
        g.labels = labels(l);
    }
    Some(g)
}

/// The first space-separated word of `s`, and the rest after the space.
fn split_word(s: &str) -> (&str, Option<&str>) {
    match find_byte(s.as_bytes(), b' ') {
        Some(sp) => (s.get(..sp).unwrap_or(s), s.get(sp + 1..)),
        None => (s, None),
    }
}

/// `s.split_once(pat)`, by [`find_str`].
fn split_once<'a>(s: &'a str, pat: &str) -> Option<(&'a str, &'a str)> {
    let at = find_str(s, pat)?;
    Some((s.get(..at)?, s.get(at + pat.len()..)?))
}

/// Splits `state, … labels:{"k": "v"}] {…}` at the bracket's closing `]`,
/// skipping `]` inside braces or quotes.
fn split_bracket(s: &str) -> (&str, &str) {
    let mut depth = 0i32;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if quoted {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => quoted = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            '{' => depth += 1,
            '}' => depth -= 1,
            ']' if depth <= 0 => {
                let (inside, rest) = s.split_at_checked(i).unwrap_or((s, "]"));
                return (inside, rest.get(1..).unwrap_or_default());
            }
            _ => {}
        }
    }
    (s, "")
}

/// `{"request_id": "req-7f3a", "route": "/v1"}` (1.26) or
/// `{request_id: "req-7f3a", route: /v1/t…}` (1.27): key/value pairs, quotes
/// removed.
fn labels(s: &str) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    let inner = s.trim().trim_start_matches('{').trim_end_matches('}');
    let mut out = Vec::new();
    for pair in split_top_level(inner) {
        let Some((k, v)) = pair.split_once(": ").or_else(|| pair.split_once(':')) else {
            continue;
        };
        out.push((unquote(k.trim()), unquote(v.trim())));
    }
    out
}

/// Splits at `, ` outside double quotes.
fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quoted = false;
    let mut escaped = false;
    let mut start = 0;
    let b = s.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if quoted {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => quoted = false,
                _ => {}
            }
            continue;
        }
        if c == b'"' {
            quoted = true;
        } else if c == b',' && b.get(i + 1) == Some(&b' ') {
            parts.extend(s.get(start..i));
            start = i + 2;
        }
    }
    if start < s.len() {
        parts.extend(s.get(start..));
    }
    parts
}

fn unquote(s: &str) -> Cow<'_, str> {
    match s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(inner) if inner.contains('\\') => {
            Cow::Owned(inner.replace("\\\"", "\"").replace("\\\\", "\\"))
        }
        Some(inner) => Cow::Borrowed(inner),
        None => Cow::Borrowed(s),
    }
}

/// A function line and its location line.
pub fn frame<'a>(function_line: &'a str, location_line: &'a str) -> Option<Frame<'a>> {
    let mut f = call_frame(function_line)?;
    let (file, line, offset) = location(location_line)?;
    f.file = file.into();
    f.line = line;
    f.offset = offset.map(Cow::Borrowed);
    Some(f)
}

/// A frame from its function line alone; the location follows.
fn call_frame(function_line: &str) -> Option<Frame<'_>> {
    let (function, args) = split_call(function_line)?;
    let (package, receiver, name, generic) = split_function(function);
    Some(Frame {
        runtime: is_runtime(function, package),
        function: function.into(),
        package: package.into(),
        receiver,
        name,
        generic,
        args: args.into(),
        file: Cow::Borrowed(""),
        line: 0,
        offset: None,
    })
}

/// `pkg.f(args)` → (`pkg.f`, `args`). The argument list is the first `(`
/// that does not open a `(*T)` receiver.
fn split_call(line: &str) -> Option<(&str, &str)> {
    let (name, args) = split_args(line.trim())?;
    Some((name, args.strip_suffix(')')?))
}

/// `\t/app/main.go:12 +0x1d fp=… sp=… pc=…` → (file, line, offset).
fn location(line: &str) -> Option<(&str, u32, Option<&str>)> {
    let rest = line.trim_start_matches([' ', '\t']);
    let colon = rfind_byte(rest.as_bytes(), b':')?;
    let (file, tail) = (rest.get(..colon)?, rest.get(colon + 1..)?);
    let (number, mut words) = split_word(tail);
    let line_no = number.parse().ok()?;
    // The offset is the first later word `+0x…`.
    while let Some(w) = words {
        let (word, more) = split_word(w);
        if let Some(offset) = word.strip_prefix('+').filter(|o| o.starts_with("0x")) {
            return Some((file, line_no, Some(offset)));
        }
        words = more;
    }
    Some((file, line_no, None))
}

/// `github.com/acme/shop/cart.(*Cart).Total[...]` →
/// (`github.com/acme/shop/cart`, `*Cart`, `Total`, generic).
fn split_function(function: &str) -> (&str, Option<Cow<'_, str>>, Cow<'_, str>, bool) {
    // The package path ends at the first `.` after the last `/`.
    let b = function.as_bytes();
    let slash = rfind_byte(b, b'/').map_or(0, |i| i + 1);
    let dot = b
        .get(slash..)
        .and_then(|tail| find_byte(tail, b'.'))
        .map(|d| slash + d);
    let Some((package, rest)) = dot.and_then(|d| function.split_at_checked(d)) else {
        // The builtin `panic` and other bare names.
        return ("", None, function.into(), false);
    };
    let rest = rest.strip_prefix('.').unwrap_or(rest);
    let generic = find_byte(rest.as_bytes(), b'[').is_some();
    if generic {
        let plain = strip_brackets(rest);
        let (receiver, name) = split_method(&plain);
        let owned = |s: &str| Cow::Owned(s.to_owned());
        return (package, receiver.map(owned), owned(name), true);
    }
    let (receiver, name) = split_method(rest);
    (package, receiver.map(Cow::Borrowed), name.into(), false)
}

/// `(*Cart).Total` → (`*Cart`, `Total`); `Cart.Total` → (`Cart`, `Total`);
/// `main.func1` → (none, `main.func1`).
fn split_method(rest: &str) -> (Option<&str>, &str) {
    if rest.starts_with("(*")
        && let Some(close) = find_str(rest, ").")
        && let (Some(ty), Some(name)) = (rest.get(1..close), rest.get(close + 2..))
    {
        return (Some(ty), name);
    }
    if let Some((ty, name)) = rest.split_once('.') {
        let method = name.split('.').next().unwrap_or("");
        if !is_closure_suffix(method) && !ty.is_empty() {
            return (Some(ty), name);
        }
    }
    (None, rest)
}

/// `func1`, `gowrap2`, `0` (from `init.0`), `deferwrap1`: compiler-made
/// names, not methods.
fn is_closure_suffix(s: &str) -> bool {
    let digits = s.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    let prefix = s.get(..s.len() - digits.len()).unwrap_or_default();
    !digits.is_empty()
        && digits.bytes().all(|c| c.is_ascii_digit())
        && matches!(prefix, "" | "func" | "gowrap" | "deferwrap")
}

fn strip_brackets(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut depth = 0;
    for c in s.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Frames of the runtime itself, which say how it crashed, not where.
pub fn is_runtime(function: &str, package: &str) -> bool {
    package == "runtime"
        // debug.Stack / debug.PrintStack print a goroutine dump: the dump's
        // subject is their caller.
        || package == "runtime/debug"
        || package.starts_with("runtime/internal")
        || package.starts_with("internal/runtime")
        || package == "internal/sync" && function.ends_with(".fatal")
        || package == "internal/sync" && function.ends_with(".throw")
        || function == "sync.fatal"
        || function == "sync.throw"
        || function == "panic"
}

/// `created by pkg.F in goroutine 1` and its location.
fn created_by<'a>(line: &'a str, location_line: &'a str) -> CreatedBy<'a> {
    let rest = line.strip_prefix("created by ").unwrap_or(line);
    const IN: &str = " in goroutine ";
    let (function, parent) = match find_str(rest, IN) {
        Some(at) => (
            rest.get(..at).unwrap_or(rest),
            rest.get(at + IN.len()..)
                .and_then(|id| id.trim().parse().ok()),
        ),
        None => (rest, None),
    };
    let (file, line_no, _) = location(location_line).unwrap_or(("", 0, None));
    CreatedBy {
        function: function.into(),
        file: file.into(),
        line: line_no,
        parent_goroutine: parent,
    }
}

/// `...22369475 frames elided...` → 22369475; `...additional frames
/// elided...` → 0.
fn elided_count(line: &str) -> u64 {
    line.trim_start_matches('.')
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Where the frames of a race report section go.
enum RaceTarget {
    Access(usize),
    Goroutine(usize),
    /// After `Location is …`: frames are not kept.
    Location,
}

impl<'a> Parser<'a> {
    /// In a race report: `Read at 0x… by goroutine 7:`, `Previous write at
    /// 0x… by main goroutine:` (older race runtimes print no address),
    /// `Goroutine 7 (running) created at:` and `Location is …`, each followed
    /// by its frames, space-indented: `  main.f()` then `      /app/main.go:12
    /// +0x44`.
    fn race_line(&mut self, line: &'a str, kind: LineKind) {
        let race = self.crash.race.get_or_insert_with(Race::default);
        match kind {
            LineKind::RaceBody if !line.starts_with(' ') => {
                if let Some(target) = race_section(race, line) {
                    self.race_target = Some(target);
                }
            }
            LineKind::RaceBody => {
                let frames = match self.race_target {
                    Some(RaceTarget::Access(i)) => race.accesses.get_mut(i).map(|a| &mut a.frames),
                    Some(RaceTarget::Goroutine(i)) => {
                        race.goroutines.get_mut(i).map(|g| &mut g.frames)
                    }
                    Some(RaceTarget::Location) | None => None,
                };
                if let Some(frames) = frames {
                    race_frame_line(frames, line.trim_start());
                }
            }
            _ => {}
        }
    }
}

/// A race report's section header, if the line is one: where the frames
/// that follow go.
fn race_section<'a>(race: &mut Race<'a>, line: &'a str) -> Option<RaceTarget> {
    if let Some(access) = race_access(line) {
        race.accesses.push(access);
        Some(RaceTarget::Access(race.accesses.len() - 1))
    } else if let Some(g) = race_goroutine(line) {
        race.goroutines.push(g);
        Some(RaceTarget::Goroutine(race.goroutines.len() - 1))
    } else if let Some(loc) = line.strip_prefix("Location is ") {
        race.location = Some(loc.into());
        Some(RaceTarget::Location)
    } else {
        None
    }
}

/// A race frame's function line, or the location of the last frame.
fn race_frame_line<'a>(frames: &mut Vec<Frame<'a>>, trimmed: &'a str) {
    if let Some((file, line_no, offset)) = location(trimmed) {
        if let Some(f) = frames.last_mut()
            && f.file.is_empty()
        {
            f.file = file.into();
            f.line = line_no;
            f.offset = offset.map(Cow::Borrowed);
        }
    } else if let Some(f) = call_frame(trimmed) {
        frames.push(f);
    }
}

/// `Previous write at 0x00c000012345 by main goroutine:`.
fn race_access(line: &str) -> Option<RaceAccess<'_>> {
    let body = line.strip_suffix(':')?;
    let (previous, body) = match body.strip_prefix("Previous ") {
        Some(b) => (true, b),
        None => (false, body),
    };
    // Older race runtimes print no address: `Write by goroutine 81:`.
    let (head, by) = body.split_once(" by ")?;
    let (kind, address) = head.split_once(" at ").unwrap_or((head, ""));
    let kind = kind.to_lowercase();
    if !kind.ends_with("read") && !kind.ends_with("write") {
        return None;
    }
    // `by goroutine 7 (mutexes: write M1)`: the held mutexes follow.
    let by = by.split_once(" (").map_or(by, |(b, _)| b);
    let main_goroutine = by == "main goroutine";
    let goroutine = by.strip_prefix("goroutine ").and_then(|n| n.parse().ok());
    Some(RaceAccess {
        kind: kind.into(),
        previous,
        address: address.into(),
        goroutine,
        main_goroutine,
        frames: Vec::new(),
    })
}

/// `Goroutine 7 (running) created at:`.
fn race_goroutine(line: &str) -> Option<RaceGoroutine<'_>> {
    let rest = line
        .strip_prefix("Goroutine ")?
        .strip_suffix(" created at:")?;
    let (id, status) = rest.split_once(' ')?;
    Some(RaceGoroutine {
        id: id.parse().ok()?,
        status: status.trim_matches(['(', ')']).into(),
        frames: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(event: Event, text: &str) -> Crash<'_> {
        let lines: Vec<&str> = text.lines().collect();
        parse(event, &lines)
    }

    #[test]
    fn panic_values_chains_and_types() {
        let c = p(
            Event::Panic,
            "panic: first [recovered, repanicked]\n\tpanic: second\n\tline two\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:5 +0x1d",
        );
        assert_eq!(c.panics.len(), 2);
        assert!(c.panics[0].recovered);
        assert_eq!(c.panics[0].value, "first");
        assert_eq!(c.panics[1].value, "second\nline two");
        assert_eq!(
            p(Event::Panic, "panic: main.StatusCode(503)").panics[0]
                .go_type
                .as_deref(),
            Some("main.StatusCode")
        );
        assert_eq!(
            p(Event::Panic, "panic: (main.Point) 0xc000012345").panics[0]
                .go_type
                .as_deref(),
            Some("main.Point")
        );
        assert_eq!(
            p(Event::Panic, "panic: render(x) failed").panics[0].go_type,
            None
        );
        assert_eq!(p(Event::Panic, "panic: 4").panics[0].go_type, None);
        let rt = p(Event::Panic, "panic: runtime error: integer divide by zero");
        assert!(rt.panics[0].runtime_error);
    }

    #[test]
    fn old_multi_line_values_are_joined() {
        let c = p(
            Event::Panic,
            "panic: config validation failed:\n  - port: must be > 0\n\n  - host: empty\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:5 +0x1d",
        );
        assert_eq!(
            c.panics[0].value,
            "config validation failed:\n  - port: must be > 0\n\n  - host: empty"
        );
    }

    #[test]
    fn signals_and_faults() {
        let c = p(
            Event::Panic,
            "panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x10 pc=0x4a2a18]",
        );
        let s = c.signal.unwrap();
        assert_eq!(
            (&*s.name, s.description.as_deref()),
            ("SIGSEGV", Some("segmentation violation"))
        );
        assert_eq!(
            (s.code.as_deref(), s.addr.as_deref(), s.pc.as_deref()),
            (Some("0x1"), Some("0x10"), Some("0x4a2a18"))
        );
        let c = p(
            Event::Signal,
            "SIGSEGV: segmentation violation\nPC=0x4c92e9 m=3 sigcode=1 addr=0x0\nsignal arrived during cgo execution",
        );
        let s = c.signal.clone().unwrap();
        assert_eq!(
            (s.pc.as_deref(), s.m, s.code.as_deref(), s.addr.as_deref()),
            (Some("0x4c92e9"), Some(3), Some("1"), Some("0x0"))
        );
        assert!(c.in_cgo);
        let c = p(
            Event::FatalError,
            "unexpected fault address 0xdeadbeef000\nfatal error: fault",
        );
        assert_eq!(c.fault_address.as_deref(), Some("0xdeadbeef000"));
        assert_eq!(c.fatal_error.as_deref(), Some("fault"));
    }

    #[test]
    fn goroutine_headers() {
        let g = goroutine_header(
            "goroutine 6 gp=0xc000007a40 m=nil [select, 3 minutes, locked to thread]:",
        )
        .unwrap();
        assert_eq!(
            (g.id, &*g.state, g.wait_minutes, g.locked_to_thread),
            (6, "select", Some(3), true)
        );
        assert_eq!(
            (g.gp.as_deref(), g.m.as_deref(), g.mp),
            (Some("0xc000007a40"), Some("nil"), None)
        );
        let g = goroutine_header(r#"goroutine 19 [chan receive labels:{"request_id": "req-1a2b", "route": "/v1/orders"}]:"#).unwrap();
        assert_eq!(g.state, "chan receive");
        assert_eq!(
            g.labels,
            [
                ("request_id".into(), "req-1a2b".into()),
                ("route".into(), "/v1/orders".into())
            ]
        );
        let g = goroutine_header(
            r#"goroutine 19 [chan receive] {request_id: "req-1a2b", route: /v1/orders}:"#,
        )
        .unwrap();
        assert_eq!(g.state, "chan receive");
        assert_eq!(
            g.labels,
            [
                ("request_id".into(), "req-1a2b".into()),
                ("route".into(), "/v1/orders".into())
            ]
        );
        let g = goroutine_header("goroutine 5 gp=0xc000003500 m=nil [GC worker (idle)]:").unwrap();
        assert_eq!(g.state, "GC worker (idle)");
    }

    #[test]
    fn frames_split_into_parts() {
        let f = frame(
            "github.com/acme/shop/cart.(*Cart).Total(0xc000010000, {0x1, 0x2})",
            "\t/go/src/github.com/acme/shop/cart/cart.go:88 +0x1d fp=0x1 sp=0x2 pc=0x3",
        )
        .unwrap();
        assert_eq!(f.package, "github.com/acme/shop/cart");
        assert_eq!(f.receiver.as_deref(), Some("*Cart"));
        assert_eq!(f.name, "Total");
        assert_eq!(f.args, "0xc000010000, {0x1, 0x2}");
        assert_eq!(
            (&*f.file, f.line, f.offset.as_deref()),
            (
                "/go/src/github.com/acme/shop/cart/cart.go",
                88,
                Some("0x1d")
            )
        );
        assert!(!f.runtime);
        let f = frame("main.Map[...](...)", "\tmain.go:7").unwrap();
        assert!(f.generic);
        assert_eq!((&*f.package, &*f.name, f.receiver), ("main", "Map", None));
        assert_eq!(f.offset, None);
        let f = frame("main.main.func1()", "\t/app/main.go:7 +0x1").unwrap();
        assert_eq!((&*f.name, f.receiver), ("main.func1", None));
        let f = frame(
            "net/http.HandlerFunc.ServeHTTP(0x1?)",
            "\tnet/http/server.go:2284 +0x29",
        )
        .unwrap();
        assert_eq!(
            (&*f.package, f.receiver.as_deref(), &*f.name),
            ("net/http", Some("HandlerFunc"), "ServeHTTP")
        );
        let f = frame(
            "panic({0x70eba0?, 0xa1d3a0?})",
            "\truntime/panic.go:860 +0x13a",
        )
        .unwrap();
        assert!(f.runtime);
        let f = frame(
            "internal/runtime/maps.fatal({0x4d7e4b?, 0x0?})",
            "\tinternal/runtime/maps/panic.go:1 +0x1",
        )
        .unwrap();
        assert!(f.runtime);
    }

    #[test]
    fn goroutine_blocks_created_by_elided_unavailable() {
        let c = p(
            Event::FatalError,
            "\
fatal error: stack overflow

runtime stack:
runtime.throw({0x4a0b5b?, 0x0?})
\truntime/panic.go:1047 +0x5d

goroutine 1 [running]:
main.f(...)
\t/app/main.go:5
...22369475 frames elided...
created by main.main in goroutine 1
\t/app/main.go:9 +0x17

goroutine 2 [sleep]:
\tgoroutine running on other thread; stack unavailable",
        );
        assert_eq!(
            c.runtime_stacks,
            ["runtime stack:\nruntime.throw({0x4a0b5b?, 0x0?})\n\truntime/panic.go:1047 +0x5d"]
        );
        assert_eq!(c.goroutines.len(), 2);
        let g = &c.goroutines[0];
        assert_eq!(g.frames.len(), 1);
        assert_eq!(g.elided_frames, Some(22369475));
        let cb = g.created_by.as_ref().unwrap();
        assert_eq!(
            (&*cb.function, cb.line, cb.parent_goroutine),
            ("main.main", 9, Some(1))
        );
        assert!(c.goroutines[1].stack_unavailable);
    }

    #[test]
    fn race_reports() {
        let c = p(
            Event::DataRace,
            "\
==================
WARNING: DATA RACE
Read at 0x00c0000180e8 by goroutine 9:
  main.serve()
      /app/main.go:14 +0x75

Previous write at 0x00c0000180e8 by main goroutine:
  main.main()
      /app/main.go:28 +0x44

Goroutine 9 (running) created at:
  main.main()
      /app/main.go:29 +0x207
==================",
        );
        let r = c.race.unwrap();
        assert_eq!(r.accesses.len(), 2);
        assert_eq!(
            (
                &*r.accesses[0].kind,
                r.accesses[0].goroutine,
                r.accesses[0].previous
            ),
            ("read", Some(9), false)
        );
        assert_eq!(r.accesses[0].frames[0].function, "main.serve");
        assert_eq!(r.accesses[0].frames[0].line, 14);
        assert!(r.accesses[1].previous && r.accesses[1].main_goroutine);
        assert_eq!(
            (r.goroutines[0].id, &*r.goroutines[0].status),
            (9, "running")
        );
        assert_eq!(r.goroutines[0].frames[0].line, 29);
    }

    #[test]
    fn older_race_reports_print_no_address() {
        let c = p(
            Event::DataRace,
            "\
==================
WARNING: DATA RACE
Write by goroutine 81:
  main.(*Pool).put()
      /app/pool.go:40 +0x5e

Previous read by goroutine 80 (mutexes: write M12):
  main.(*Pool).get()
      /app/pool.go:31 +0x3a

Goroutine 81 (running) created at:
  main.main()
      /app/main.go:20 +0x9b
==================",
        );
        let r = c.race.unwrap();
        let got: Vec<_> = r
            .accesses
            .iter()
            .map(|a| (&*a.kind, &*a.address, a.goroutine, a.previous))
            .collect();
        assert_eq!(
            got,
            [("write", "", Some(81), false), ("read", "", Some(80), true)]
        );
        assert_eq!(r.accesses[1].frames[0].function, "main.(*Pool).get");
    }

    #[test]
    fn http_panics_and_registers() {
        let c = p(
            Event::HttpPanic,
            "2026/11/27 07:11:26 http: panic serving [::1]:38440: boom: bad",
        );
        assert_eq!(c.http_remote.as_deref(), Some("[::1]:38440"));
        assert_eq!(c.panics[0].value, "boom: bad");
        let c = p(
            Event::Signal,
            "SIGQUIT: quit\nPC=0x1 m=0 sigcode=0\n\nrax    0x0\nrbx    0x1",
        );
        assert_eq!(c.registers.as_deref(), Some("rax    0x0\nrbx    0x1"));
    }
}
