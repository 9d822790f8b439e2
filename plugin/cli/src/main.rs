//! `gopanic`: container log lines in, NDJSON records out, one record per
//! ordinary line and one per Go crash report.
//!
//! This host only reads, writes and keeps time; decoding, joining and record
//! shaping are the core crate's.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::Parser;
use gopanic::container::{Decoder, Format, LogLine};
use gopanic::event::{EventFormat, EventStreams, JsonEvent, StreamKeys};
use gopanic::reassembler::{Config, Output, Reassembler};
use gopanic::record::{Limits, Profile, Shaper};

#[derive(Parser, Debug)]
#[command(
    name = "gopanic",
    version,
    about = "Join Go crash reports in container logs into one NDJSON record each",
    long_about = "Reads container log lines (CRI, docker json-file or plain text) from FILEs \
                  (each its own source) or standard input, and writes one JSON record per line \
                  to standard output, except that the lines of each Go crash report (panic, \
                  fatal error, signal, data race, goroutine dump, http: panic serving) leave as \
                  ONE record with a `go` object. With --format json it reads JSON events \
                  (Vector, Fluent Bit json_lines) and writes them back, ordinary events \
                  unchanged and each report as one event."
)]
struct Args {
    /// Input envelope; `auto` detects it per line. `json`: one JSON event per
    /// line (text in `message` or `log`), streams named by `--key`.
    #[arg(long, default_value = "auto", value_parser = parse_format)]
    format: Input,
    /// With `--format json`: fields naming a stream, comma-separated; repeat
    /// for fallbacks (the first whose fields are all present wins). Default:
    /// `kubernetes.pod_uid,kubernetes.container_name,stream` then
    /// `file,stream`.
    #[arg(long = "key", value_name = "FIELDS")]
    keys: Vec<String>,
    /// A report larger than this leaves in parts marked `go.truncated`.
    #[arg(long, default_value_t = Config::default().max_report_bytes)]
    max_report_bytes: usize,
    /// A report with more lines than this leaves in parts.
    #[arg(long, default_value_t = Config::default().max_report_lines)]
    max_report_lines: usize,
    /// A report with no new line for this long (input time) is complete.
    #[arg(long, default_value_t = 1000)]
    idle_timeout_ms: u64,
    /// Longest logical line kept whole after merging partial chunks.
    #[arg(long, default_value_t = 4 << 20)]
    max_line_bytes: usize,
    /// Record field names: `default` (`log`, `level`) or `ecs` (`message`,
    /// `log.level`, `error.*`, `event.*`).
    #[arg(long, default_value = "default", value_parser = parse_profile)]
    profile: Profile,
    /// Keep every record's JSON at most this long (Loki rejects lines over
    /// 262144 bytes): reports split into parts of at most half this much
    /// text, and nested parts of `go` are dropped (named in `go.cut`) until
    /// the record fits.
    #[arg(long)]
    max_record_bytes: Option<usize>,
    /// Goroutines given in full under `go.goroutines` (all are in `log`).
    #[arg(long, default_value_t = Limits::default().max_goroutines)]
    max_goroutines: usize,
    /// Print counters to standard error at the end.
    #[arg(long)]
    stats: bool,
    /// Log files; standard input when none (or `-`).
    files: Vec<PathBuf>,
}

/// What the input lines are.
#[derive(Debug, Clone, Copy)]
enum Input {
    Container(Format),
    Json,
}

fn parse_format(s: &str) -> Result<Input, String> {
    match s {
        "json" => Ok(Input::Json),
        _ => s
            .parse()
            .map(Input::Container)
            .map_err(|e| format!("{e}, or json")),
    }
}

fn parse_profile(s: &str) -> Result<Profile, String> {
    s.parse()
}

/// Counters printed by `--stats`.
#[derive(Default)]
struct Totals {
    lines_in: u64,
    records_out: u64,
    reports: u64,
    report_parts: u64,
    malformed: u64,
}

/// Stream key: the input's position on the command line, and the stream
/// (see [`stream_id`]); integers, so a key costs no allocation per line.
type Key = (usize, u8);

fn stream_id(stream: Option<&str>) -> u8 {
    match stream {
        None => 0,
        Some("stdout") => 1,
        Some("stderr") => 2,
        Some(_) => 3,
    }
}

/// JSON events: read, keyed and joined by the core's `event` module.
struct Events {
    format: EventFormat,
    streams: EventStreams<JsonEvent>,
    out: Vec<Output<String, JsonEvent>>,
}

struct Source {
    decoder: Decoder,
    reassembler: Reassembler<Key, LogLine>,
    /// Set with `--format json`: lines are events, not container lines.
    events: Option<Events>,
    shaper: Shaper,
    index: usize,
    /// Plain lines carry no time: they get the time elapsed since start.
    started: Instant,
    /// The input clock: the newest time seen, and when it was seen.
    last_input: Option<(i64, Instant)>,
    /// Reading a live stream (stdin): `tick` runs while it is quiet.
    live: bool,
    out: Vec<Output<Key, LogLine>>,
}

impl Source {
    fn new(args: &Args, index: usize) -> Self {
        let cfg = gopanic::event::bounded_config(
            Config {
                idle_timeout_ns: i64::try_from(args.idle_timeout_ms.saturating_mul(1_000_000))
                    .unwrap_or(i64::MAX),
                max_report_bytes: args.max_report_bytes,
                max_report_lines: args.max_report_lines,
                ..Config::default()
            },
            args.max_record_bytes,
        );
        let (format, events) = match args.format {
            Input::Container(f) => (f, None),
            Input::Json => {
                let keys = if args.keys.is_empty() {
                    StreamKeys::default()
                } else {
                    StreamKeys::parse(&args.keys)
                };
                let events = Events {
                    format: EventFormat {
                        keys,
                        ..EventFormat::default()
                    },
                    streams: EventStreams::new(cfg.clone()),
                    out: Vec::new(),
                };
                (Format::Auto, Some(events))
            }
        };
        Source {
            decoder: Decoder::new(
                format,
                gopanic::event::bounded_line_bytes(args.max_line_bytes, args.max_record_bytes),
            ),
            reassembler: Reassembler::new(cfg),
            events,
            shaper: Shaper::new(
                args.profile,
                Limits {
                    max_goroutines: args.max_goroutines,
                    max_record_bytes: args.max_record_bytes,
                    ..Limits::default()
                },
            ),
            index,
            started: Instant::now(),
            last_input: None,
            live: false,
            out: Vec::new(),
        }
    }

    fn push_raw(&mut self, raw: &str, totals: &mut Totals) {
        totals.lines_in += 1;
        if let Some(ev) = &mut self.events {
            if raw.trim().is_empty() {
                // Blank lines between JSON events carry no event.
                return;
            }
            let (key, event) = ev.format.read(raw);
            totals.malformed += u64::from(event.malformed);
            let now = unix_nanos();
            if self.live {
                self.last_input = Some((now, Instant::now()));
            }
            ev.streams.push(key, event, now, &mut ev.out);
            return;
        }
        if let Some(line) = self.decoder.push(raw) {
            self.push_line(line, totals);
        }
    }

    fn push_line(&mut self, line: LogLine, totals: &mut Totals) {
        totals.malformed += u64::from(line.malformed);
        let now = line.time_nanos.unwrap_or_else(|| nanos_since(self.started));
        if self.live {
            self.last_input = Some((now, Instant::now()));
        }
        let key = (self.index, stream_id(line.stream.as_deref()));
        self.reassembler.push(&key, line, now, &mut self.out);
    }

    /// Closes reports idle by the input clock advanced by wall time.
    fn tick(&mut self) {
        if let Some(ev) = &mut self.events {
            // Each stream keeps its own clock (the core's `EventStreams`).
            ev.streams.tick(unix_nanos(), &mut ev.out);
            return;
        }
        if let Some((time, at)) = self.last_input {
            let now = time.saturating_add(nanos_since(at));
            self.reassembler.tick(now, &mut self.out);
        }
    }

    fn finish(&mut self, totals: &mut Totals) {
        if let Some(ev) = &mut self.events {
            ev.streams.finish(&mut ev.out);
            let s = ev.streams.reassembler().stats();
            totals.reports += s.reports;
            totals.report_parts += s.report_parts;
            return;
        }
        for line in self.decoder.finish() {
            self.push_line(line, totals);
        }
        self.reassembler.finish(&mut self.out);
        let s = self.reassembler.stats();
        totals.reports += s.reports;
        totals.report_parts += s.report_parts;
    }

    fn flush(&mut self, w: &mut impl Write, totals: &mut Totals) -> io::Result<()> {
        let shaper = &mut self.shaper;
        match &mut self.events {
            Some(ev) => write_records(
                ev.out.drain(..),
                |o, b| shaper.write_event(&o, b),
                w,
                totals,
            ),
            None => write_records(
                self.out.drain(..),
                |o, b| shaper.write_json(&o, b),
                w,
                totals,
            ),
        }
    }
}

/// Writes records as NDJSON, one `write` per output.
fn write_records<O>(
    outputs: impl Iterator<Item = O>,
    mut write: impl FnMut(O, &mut Vec<u8>),
    w: &mut impl Write,
    totals: &mut Totals,
) -> io::Result<()> {
    let mut buf = Vec::with_capacity(512);
    for o in outputs {
        buf.clear();
        write(o, &mut buf);
        buf.push(b'\n');
        w.write_all(&buf)?;
        totals.records_out += 1;
    }
    Ok(())
}

/// Wall-clock time for JSON events: the scale of their own timestamps.
fn unix_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

fn nanos_since(t: Instant) -> i64 {
    i64::try_from(t.elapsed().as_nanos()).unwrap_or(i64::MAX)
}

/// Reads `input` line by line into `src`, writing records as they leave.
fn run_reader(
    input: impl Read,
    src: &mut Source,
    w: &mut impl Write,
    totals: &mut Totals,
) -> io::Result<()> {
    let mut reader = BufReader::with_capacity(1 << 16, input);
    let mut buf = Vec::with_capacity(1 << 12);
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            return Ok(());
        }
        let raw = strip_newline(&buf);
        src.push_raw(&String::from_utf8_lossy(raw), totals);
        src.flush(w, totals)?;
    }
}

fn strip_newline(b: &[u8]) -> &[u8] {
    b.strip_suffix(b"\n").unwrap_or(b)
}

/// Standard input may be a live stream (`kubectl logs -f`): lines are read
/// on a thread so that idle reports are closed while nothing arrives.
fn run_stdin(
    src: &mut Source,
    w: &mut impl Write,
    totals: &mut Totals,
    idle: Duration,
) -> io::Result<()> {
    // Bounded, so a slow writer holds back the reader instead of memory.
    let (tx, rx) = mpsc::sync_channel::<io::Result<Vec<u8>>>(1024);
    std::thread::spawn(move || {
        let mut reader = BufReader::with_capacity(1 << 16, io::stdin().lock());
        loop {
            let mut buf = Vec::new();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) => return,
                Ok(_) => {
                    if tx.send(Ok(buf)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        }
    });
    let wait = idle.max(Duration::from_millis(10));
    loop {
        match rx.recv_timeout(wait) {
            Ok(line) => {
                let line = line?;
                src.push_raw(&String::from_utf8_lossy(strip_newline(&line)), totals);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                src.tick();
                src.flush(w, totals)?;
                w.flush()?;
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
        }
        src.flush(w, totals)?;
    }
}

/// Why a run stopped early. A closed output pipe (`gopanic … | head`) is
/// the reader's choice, not an error.
enum Failure {
    BrokenPipe,
    Message(String),
}

impl From<String> for Failure {
    fn from(s: String) -> Self {
        Failure::Message(s)
    }
}

fn io_err(e: io::Error) -> Failure {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Failure::BrokenPipe
    } else {
        Failure::Message(format!("writing output: {e}"))
    }
}

fn run(args: &Args) -> Result<Totals, Failure> {
    let stdout = io::stdout();
    let mut w = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut totals = Totals::default();
    let use_stdin = args.files.is_empty() || args.files.iter().all(|f| f.as_os_str() == "-");
    if use_stdin {
        let mut src = Source::new(args, 0);
        src.live = true;
        let idle = Duration::from_millis(args.idle_timeout_ms);
        run_stdin(&mut src, &mut w, &mut totals, idle).map_err(|e| match e.kind() {
            io::ErrorKind::BrokenPipe => Failure::BrokenPipe,
            _ => Failure::Message(format!("reading standard input: {e}")),
        })?;
        src.finish(&mut totals);
        src.flush(&mut w, &mut totals).map_err(io_err)?;
    } else {
        // Open everything first: a typo in the last name fails before output.
        let files = args
            .files
            .iter()
            .map(|p| File::open(p).map_err(|e| format!("cannot open {}: {e}", p.display())))
            .collect::<Result<Vec<_>, _>>()?;
        for (i, (file, path)) in files.into_iter().zip(&args.files).enumerate() {
            let mut src = Source::new(args, i);
            run_reader(file, &mut src, &mut w, &mut totals).map_err(|e| match e.kind() {
                io::ErrorKind::BrokenPipe => Failure::BrokenPipe,
                _ => Failure::Message(format!("reading {}: {e}", path.display())),
            })?;
            src.finish(&mut totals);
            src.flush(&mut w, &mut totals).map_err(io_err)?;
        }
    }
    w.flush().map_err(io_err)?;
    Ok(totals)
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(t) => {
            if args.stats {
                eprintln!(
                    "gopanic: {} lines in, {} records out, {} reports ({} parts), {} malformed lines passed through",
                    t.lines_in, t.records_out, t.reports, t.report_parts, t.malformed
                );
            }
            ExitCode::SUCCESS
        }
        Err(Failure::BrokenPipe) => ExitCode::SUCCESS,
        Err(Failure::Message(e)) => {
            eprintln!("gopanic: {e}");
            ExitCode::from(2)
        }
    }
}
