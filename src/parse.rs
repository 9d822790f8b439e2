//! From the lines of one reassembled report to a [`Crash`].
//!
//! The parser walks the lines once with the same line grammar the
//! reassembler used ([`line_kind`]), so what was joined by a rule is read by
//! the same rule. It never fails: a line it cannot place is skipped, and the
//! raw report always travels with the record.

use crate::crash::{
    Crash, CreatedBy, Frame, Goroutine, PanicValue, Race, RaceAccess, RaceGoroutine, Signal,
};
use crate::grammar::{LineKind, is_location, line_kind, split_args};
use crate::reassembler::Event;

/// Where the parser is: which section the next frame belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Message,
    Goroutine,
    RuntimeStack,
    Registers,
    Race,
    Other,
}

/// Parses one report's lines.
pub fn parse<S: AsRef<str>>(event: Event, lines: &[S]) -> Crash {
    let mut c = Crash {
        event: Some(event),
        ..Crash::default()
    };
    let mut section = Section::Other;
    // A function line waiting for its location.
    let mut pending: Option<&str> = None;
    let mut pending_created_by: Option<&str> = None;
    let mut runtime_stack = String::new();
    let mut registers = String::new();
    let mut race_frames: Option<RaceTarget> = None;

    for line in lines {
        let line = line.as_ref();
        let kind = line_kind(line);
        if section == Section::Race {
            parse_race_line(&mut c, line, kind, &mut race_frames);
            continue;
        }
        match kind {
            LineKind::Panic => {
                section = Section::Message;
                c.panics
                    .push(panic_value(line.strip_prefix("panic: ").unwrap_or(line)));
            }
            LineKind::HttpPanic => {
                section = Section::Message;
                if let Some((remote, value)) = http_panic(line) {
                    c.http_remote = Some(remote.to_owned());
                    c.panics.push(panic_value(value));
                }
            }
            LineKind::Indented if section == Section::Message => {
                let text = line.strip_prefix('\t').unwrap_or(line);
                if let Some(v) = text.strip_prefix("panic: ") {
                    c.panics.push(panic_value(v));
                } else if let Some(p) = c.panics.last_mut() {
                    p.value.push('\n');
                    p.value.push_str(text);
                }
            }
            LineKind::FatalError => {
                section = Section::Message;
                c.fatal_error = line.strip_prefix("fatal error: ").map(str::to_owned);
            }
            LineKind::RuntimeNote
                if c.goroutines.is_empty() && section != Section::RuntimeStack =>
            {
                c.runtime_notes
                    .push(line.strip_prefix("runtime: ").unwrap_or(line).to_owned());
            }
            LineKind::FaultAddress => {
                c.fault_address = line
                    .strip_prefix("unexpected fault address ")
                    .map(|a| a.trim().to_owned());
            }
            LineKind::SignalInfo => {
                c.signal = Some(signal_info(line));
            }
            LineKind::SignalHeader => {
                let (name, desc) = line.split_once(": ").unwrap_or((line, ""));
                c.signal = Some(Signal {
                    description: Some(desc.to_owned()).filter(|d| !d.is_empty()),
                    ..Signal::named(name)
                });
            }
            LineKind::SignalPc => {
                if let Some(s) = c.signal.as_mut() {
                    signal_pc(s, line);
                }
            }
            LineKind::SignalNote => c.in_cgo = true,
            LineKind::GoroutineHeader => {
                section = Section::Goroutine;
                pending = None;
                if let Some(g) = goroutine_header(line) {
                    c.goroutines.push(g);
                }
            }
            LineKind::RuntimeStack => {
                section = Section::RuntimeStack;
                flush_text(&mut runtime_stack, &mut c.runtime_stacks);
                runtime_stack.push_str(line);
            }
            LineKind::Register => {
                section = Section::Registers;
                if !registers.is_empty() {
                    registers.push('\n');
                }
                registers.push_str(line);
            }
            LineKind::RaceDelimiter | LineKind::RaceWarning => {
                section = Section::Race;
                c.race.get_or_insert_with(Race::default);
            }
            LineKind::Blank => {
                if section == Section::RuntimeStack {
                    flush_text(&mut runtime_stack, &mut c.runtime_stacks);
                }
                if section != Section::Message {
                    section = Section::Other;
                }
            }
            _ if section == Section::RuntimeStack => {
                runtime_stack.push('\n');
                runtime_stack.push_str(line);
            }
            LineKind::Function if section == Section::Goroutine => pending = Some(line),
            LineKind::CreatedBy if section == Section::Goroutine => {
                pending_created_by = Some(line);
            }
            LineKind::Indented if section == Section::Goroutine && is_location(line) => {
                let Some(g) = c.goroutines.last_mut() else {
                    continue;
                };
                if let Some(f) = pending.take() {
                    if let Some(frame) = frame(f, line) {
                        g.frames.push(frame);
                    }
                } else if let Some(cb) = pending_created_by.take() {
                    g.created_by = Some(created_by(cb, line));
                }
            }
            LineKind::Elided if section == Section::Goroutine => {
                if let Some(g) = c.goroutines.last_mut() {
                    g.elided_frames = Some(elided_count(line));
                }
            }
            LineKind::StackUnavailable => {
                if let Some(g) = c.goroutines.last_mut() {
                    g.stack_unavailable = true;
                }
            }
            _ => {}
        }
    }
    flush_text(&mut runtime_stack, &mut c.runtime_stacks);
    if !registers.is_empty() {
        c.registers = Some(registers);
    }
    // Pre-1.23 multi-line panic values continue on unindented lines, which
    // the reassembler joined; they sit between the panic line and the first
    // blank/goroutine line.
    if let Some(first) = c.panics.first_mut()
        && !first.value.contains('\n')
    {
        let extra = old_value_continuation(lines);
        if !extra.is_empty() {
            first.value.push('\n');
            first.value.push_str(&extra);
        }
    }
    c
}

/// Unindented lines right after the first `panic:` line that are not part
/// of the traceback grammar: the rest of a multi-line value (Go < 1.23).
fn old_value_continuation<S: AsRef<str>>(lines: &[S]) -> String {
    let start = lines
        .iter()
        .position(|l| matches!(line_kind(l.as_ref()), LineKind::Panic | LineKind::HttpPanic));
    let Some(start) = start else {
        return String::new();
    };
    let mut value: Vec<&str> = Vec::new();
    let mut blanks = 0;
    for l in lines.iter().skip(start + 1) {
        let l = l.as_ref();
        match line_kind(l) {
            LineKind::Blank => blanks += 1,
            LineKind::Indented
            | LineKind::SignalInfo
            | LineKind::GoroutineHeader
            | LineKind::RuntimeStack
            | LineKind::FatalError
            | LineKind::Panic => break,
            _ => {
                value.extend(std::iter::repeat_n("", blanks));
                blanks = 0;
                value.push(l);
            }
        }
    }
    value.join("\n")
}

fn flush_text(buf: &mut String, into: &mut Vec<String>) {
    if !buf.is_empty() {
        into.push(std::mem::take(buf));
    }
}

/// `boom [recovered]` → value, recovered; the runtime error and Go type
/// recognised.
fn panic_value(text: &str) -> PanicValue {
    let (value, recovered) = if let Some(v) = text.strip_suffix(" [recovered, repanicked]") {
        (v, true)
    } else if let Some(v) = text.strip_suffix(" [recovered]") {
        (v, true)
    } else {
        (text, false)
    };
    PanicValue {
        value: value.to_owned(),
        runtime_error: value.starts_with("runtime error: "),
        go_type: go_type(value),
        recovered,
    }
}

/// The type the runtime printed with a value: `main.StatusCode(503)`,
/// `(main.Point) 0xc000012345`, `(*main.T) 0x…`.
fn go_type(value: &str) -> Option<String> {
    if let Some(rest) = value.strip_prefix('(') {
        let (ty, addr) = rest.split_once(") ")?;
        if addr.starts_with("0x") && is_type_name(ty) {
            return Some(ty.to_owned());
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
    (ty.contains('.') && is_type_name(ty) && (numeric || quoted)).then(|| ty.to_owned())
}

fn is_type_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '/' | '*' | '[' | ']' | '-'))
}

/// `[<prefix>]http: panic serving <remote>: <value>`.
fn http_panic(line: &str) -> Option<(&str, &str)> {
    const MARK: &str = "http: panic serving ";
    let (_, rest) = line.split_once(MARK)?;
    // The remote is host:port, `[v6]:port` included: cut at the first ": ".
    rest.split_once(": ").or(Some((rest, "")))
}

/// `[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x47e0a4]`.
fn signal_info(line: &str) -> Signal {
    let inner = line
        .strip_prefix("[signal ")
        .and_then(|l| l.strip_suffix(']'))
        .unwrap_or(line);
    let (name, rest) = inner.split_once(": ").unwrap_or((inner, ""));
    let mut desc = Vec::new();
    let mut s = Signal::named(name);
    for word in rest.split(' ') {
        match word.split_once('=') {
            Some(("code", v)) => s.code = Some(v.to_owned()),
            Some(("addr", v)) => s.addr = Some(v.to_owned()),
            Some(("pc", v)) => s.pc = Some(v.to_owned()),
            _ => desc.push(word),
        }
    }
    s.description = Some(desc.join(" ")).filter(|d| !d.is_empty());
    s
}

/// `PC=0x46a9e1 m=0 sigcode=0 addr=0x0`.
fn signal_pc(s: &mut Signal, line: &str) {
    for word in line.split(' ') {
        match word.split_once('=') {
            Some(("PC", v)) => s.pc = Some(v.to_owned()),
            Some(("m", v)) => s.m = v.parse().ok(),
            Some(("sigcode", v)) => s.code = Some(v.to_owned()),
            Some(("addr", v)) => s.addr = Some(v.to_owned()),
            _ => {}
        }
    }
}

/// `goroutine 6 gp=0x… m=nil mp=0x… [chan receive, 5 minutes, locked to
/// thread labels:{…}] {k: v}:`.
fn goroutine_header(line: &str) -> Option<Goroutine> {
    let rest = line.strip_prefix("goroutine ")?.strip_suffix(':')?;
    let after_id = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    let id = rest.get(..rest.len() - after_id.len())?.parse().ok()?;
    let (internals, bracketed) = after_id.split_once(" [")?;
    let mut g = Goroutine {
        id,
        state: String::new(),
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
            Some(("gp", v)) => g.gp = Some(v.to_owned()),
            Some(("m", v)) => g.m = Some(v.to_owned()),
            Some(("mp", v)) => g.mp = Some(v.to_owned()),
            _ => {}
        }
    }
    // The bracket ends at the `]` that closes it, after any labels inside.
    let (inside, after) = split_bracket(bracketed);
    let (status, inner_labels) = match inside.split_once(" labels:") {
        Some((status, labels)) if labels.starts_with('{') => (status, Some(labels)),
        _ => (inside, None),
    };
    let mut parts = status.split(", ");
    g.state = parts.next().unwrap_or("").to_owned();
    for p in parts {
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
        g.labels = labels(&format!("{{{l}"));
    }
    Some(g)
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
fn labels(s: &str) -> Vec<(String, String)> {
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

fn unquote(s: &str) -> String {
    match s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => s.to_owned(),
    }
}

/// A function line and its location line.
pub fn frame(function_line: &str, location_line: &str) -> Option<Frame> {
    let mut f = call_frame(function_line)?;
    let (file, line, offset) = location(location_line)?;
    f.file = file.to_owned();
    f.line = line;
    f.offset = offset.map(str::to_owned);
    Some(f)
}

/// A frame from its function line alone; the location follows.
fn call_frame(function_line: &str) -> Option<Frame> {
    let (function, args) = split_call(function_line)?;
    let (package, receiver, name, generic) = split_function(function);
    Some(Frame {
        runtime: is_runtime(function, package),
        function: function.to_owned(),
        package: package.to_owned(),
        receiver,
        name,
        generic,
        args: args.to_owned(),
        file: String::new(),
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
    let (file, tail) = rest.rsplit_once(':')?;
    let mut tail_words = tail.split(' ');
    let line_no = tail_words.next()?.parse().ok()?;
    let offset = tail_words.find_map(|w| w.strip_prefix('+').filter(|o| o.starts_with("0x")));
    Some((file, line_no, offset))
}

/// `github.com/acme/shop/cart.(*Cart).Total[...]` →
/// (`github.com/acme/shop/cart`, `*Cart`, `Total`, generic).
fn split_function(function: &str) -> (&str, Option<String>, String, bool) {
    // The package path ends at the first `.` after the last `/`.
    let slash = function.rfind('/').map_or(0, |i| i + 1);
    let dot = function
        .get(slash..)
        .and_then(|tail| tail.find('.'))
        .map(|d| slash + d);
    let Some((package, rest)) = dot.and_then(|d| function.split_at_checked(d)) else {
        // The builtin `panic` and other bare names.
        return ("", None, function.to_owned(), false);
    };
    let mut rest = rest.strip_prefix('.').unwrap_or(rest).to_owned();
    let generic = rest.contains('[');
    if generic {
        rest = strip_brackets(&rest);
    }
    if let Some(r) = rest.strip_prefix("(*")
        && let Some((ty, name)) = r.split_once(").")
    {
        return (package, Some(format!("*{ty}")), name.to_owned(), generic);
    }
    if let Some((ty, name)) = rest.split_once('.') {
        let method = name.split('.').next().unwrap_or("");
        if !is_closure_suffix(method) && !ty.is_empty() {
            return (package, Some(ty.to_owned()), name.to_owned(), generic);
        }
    }
    (package, None, rest, generic)
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
fn created_by(line: &str, location_line: &str) -> CreatedBy {
    let rest = line.strip_prefix("created by ").unwrap_or(line);
    let (function, parent) = match rest.split_once(" in goroutine ") {
        Some((f, id)) => (f, id.trim().parse().ok()),
        None => (rest, None),
    };
    let (file, line_no, _) = location(location_line).unwrap_or(("", 0, None));
    CreatedBy {
        function: function.to_owned(),
        file: file.to_owned(),
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
}

fn parse_race_line(c: &mut Crash, line: &str, kind: LineKind, target: &mut Option<RaceTarget>) {
    let race = c.race.get_or_insert_with(Race::default);
    match kind {
        LineKind::RaceBody if !line.starts_with(' ') => {
            if let Some(access) = race_access(line) {
                race.accesses.push(access);
                *target = Some(RaceTarget::Access(race.accesses.len() - 1));
            } else if let Some(g) = race_goroutine(line) {
                race.goroutines.push(g);
                *target = Some(RaceTarget::Goroutine(race.goroutines.len() - 1));
            } else if let Some(loc) = line.strip_prefix("Location is ") {
                race.location = Some(loc.to_owned());
                *target = None;
            }
        }
        LineKind::RaceBody => {
            // `  main.f()` then `      /app/main.go:12 +0x44`.
            let trimmed = line.trim_start();
            let frames = match target {
                Some(RaceTarget::Access(i)) => race.accesses.get_mut(*i).map(|a| &mut a.frames),
                Some(RaceTarget::Goroutine(i)) => {
                    race.goroutines.get_mut(*i).map(|g| &mut g.frames)
                }
                None => None,
            };
            let Some(frames) = frames else {
                return;
            };
            if location(trimmed).is_some() {
                if let Some(f) = frames.last_mut()
                    && f.file.is_empty()
                    && let Some((file, line_no, offset)) = location(trimmed)
                {
                    f.file = file.to_owned();
                    f.line = line_no;
                    f.offset = offset.map(str::to_owned);
                }
            } else if let Some(f) = call_frame(trimmed) {
                frames.push(f);
            }
        }
        _ => {}
    }
}

/// `Previous write at 0x00c000012345 by main goroutine:`.
fn race_access(line: &str) -> Option<RaceAccess> {
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
        kind,
        previous,
        address: address.to_owned(),
        goroutine,
        main_goroutine,
        frames: Vec::new(),
    })
}

/// `Goroutine 7 (running) created at:`.
fn race_goroutine(line: &str) -> Option<RaceGoroutine> {
    let rest = line
        .strip_prefix("Goroutine ")?
        .strip_suffix(" created at:")?;
    let (id, status) = rest.split_once(' ')?;
    Some(RaceGoroutine {
        id: id.parse().ok()?,
        status: status.trim_matches(['(', ')']).to_owned(),
        frames: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(event: Event, text: &str) -> Crash {
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
            (s.name.as_str(), s.description.as_deref()),
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
            (g.id, g.state.as_str(), g.wait_minutes, g.locked_to_thread),
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
            (f.file.as_str(), f.line, f.offset.as_deref()),
            (
                "/go/src/github.com/acme/shop/cart/cart.go",
                88,
                Some("0x1d")
            )
        );
        assert!(!f.runtime);
        let f = frame("main.Map[...](...)", "\tmain.go:7").unwrap();
        assert!(f.generic);
        assert_eq!(
            (f.package.as_str(), f.name.as_str(), f.receiver),
            ("main", "Map", None)
        );
        assert_eq!(f.offset, None);
        let f = frame("main.main.func1()", "\t/app/main.go:7 +0x1").unwrap();
        assert_eq!((f.name.as_str(), f.receiver), ("main.func1", None));
        let f = frame(
            "net/http.HandlerFunc.ServeHTTP(0x1?)",
            "\tnet/http/server.go:2284 +0x29",
        )
        .unwrap();
        assert_eq!(
            (f.package.as_str(), f.receiver.as_deref(), f.name.as_str()),
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
            (cb.function.as_str(), cb.line, cb.parent_goroutine),
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
                r.accesses[0].kind.as_str(),
                r.accesses[0].goroutine,
                r.accesses[0].previous
            ),
            ("read", Some(9), false)
        );
        assert_eq!(r.accesses[0].frames[0].function, "main.serve");
        assert_eq!(r.accesses[0].frames[0].line, 14);
        assert!(r.accesses[1].previous && r.accesses[1].main_goroutine);
        assert_eq!(
            (r.goroutines[0].id, r.goroutines[0].status.as_str()),
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
            .map(|a| (a.kind.as_str(), a.address.as_str(), a.goroutine, a.previous))
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
