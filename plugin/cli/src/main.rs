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
use gopanic::container::Format;
use gopanic::pipeline::{Counts, Options, Pipeline};
use gopanic::record::Profile;

#[derive(Parser, Debug)]
#[command(
    name = "gopanic",
    version,
    about = "Join Go crash reports in container logs into one NDJSON record each",
    long_about = "Reads container log lines (CRI, docker json-file or plain text) from FILEs \
                  (each its own source) or standard input, and writes one JSON record per line \
                  to standard output, except that the lines of each Go crash report (panic, \
                  fatal error, signal, data race, goroutine dump, http: panic serving) leave as \
                  ONE record with a `go` object."
)]
struct Args {
    /// Input envelope; `auto` detects it per line.
    #[arg(long, default_value = "auto", value_parser = parse_format)]
    format: Format,
    /// A report larger than this leaves in parts marked `go.truncated`.
    #[arg(long, default_value_t = Options::default().max_report_bytes)]
    max_report_bytes: usize,
    /// A report with more lines than this leaves in parts.
    #[arg(long, default_value_t = Options::default().max_report_lines)]
    max_report_lines: usize,
    /// A report with no new line for this long (input time) is complete.
    #[arg(long, default_value_t = Options::default().idle_timeout_ms)]
    idle_timeout_ms: u64,
    /// Longest logical line kept whole after merging partial chunks.
    #[arg(long, default_value_t = Options::default().max_line_bytes)]
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
    #[arg(long, default_value_t = Options::default().max_goroutines)]
    max_goroutines: usize,
    /// Print counters to standard error at the end.
    #[arg(long)]
    stats: bool,
    /// Log files; standard input when none (or `-`).
    files: Vec<PathBuf>,
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

fn parse_profile(s: &str) -> Result<Profile, String> {
    s.parse()
}

/// Counters printed by `--stats`, summed over the inputs.
#[derive(Default)]
struct Totals {
    lines_in: u64,
    records_out: u64,
    reports: u64,
    report_parts: u64,
    malformed: u64,
}

impl Totals {
    fn add(&mut self, c: Counts) {
        self.lines_in += c.lines_in;
        self.records_out += c.records_out;
        self.reports += c.reports;
        self.report_parts += c.report_parts;
        self.malformed += c.malformed;
    }
}

/// One input: the core's pipeline, and the wall clock that moves its input
/// clock on while a live stream is quiet.
struct Source {
    pipeline: Pipeline,
    /// The input clock when the last line arrived, and when that was.
    last_input: Option<(i64, Instant)>,
    buf: Vec<u8>,
}

impl Source {
    fn new(args: &Args) -> Self {
        let options = Options {
            format: args.format,
            profile: args.profile,
            max_report_bytes: args.max_report_bytes,
            max_report_lines: args.max_report_lines,
            idle_timeout_ms: args.idle_timeout_ms,
            max_line_bytes: args.max_line_bytes,
            max_record_bytes: args.max_record_bytes,
            max_goroutines: args.max_goroutines,
        };
        Source {
            pipeline: Pipeline::new(&options),
            last_input: None,
            buf: Vec::with_capacity(1 << 12),
        }
    }

    fn push_raw(&mut self, raw: &str) {
        self.pipeline.push_raw(raw);
        self.last_input = Some((self.pipeline.clock(), Instant::now()));
    }

    /// Closes reports idle by the input clock advanced by wall time.
    fn tick(&mut self) {
        if let Some((time, at)) = self.last_input {
            let now = time.saturating_add(nanos_since(at));
            self.pipeline.tick(now);
        }
    }

    fn flush(&mut self, w: &mut impl Write) -> io::Result<()> {
        if !self.pipeline.has_output() {
            return Ok(());
        }
        self.buf.clear();
        self.pipeline.drain_json(&mut self.buf, b'\n');
        w.write_all(&self.buf)
    }

    /// End of input: the rest leaves, and the counters join the totals.
    fn finish(&mut self, w: &mut impl Write, totals: &mut Totals) -> io::Result<()> {
        self.pipeline.finish();
        let written = self.flush(w);
        totals.add(self.pipeline.counts());
        written
    }
}

fn nanos_since(t: Instant) -> i64 {
    i64::try_from(t.elapsed().as_nanos()).unwrap_or(i64::MAX)
}

/// Reads `input` line by line into `src`, writing records as they leave.
fn run_reader(input: impl Read, src: &mut Source, w: &mut impl Write) -> io::Result<()> {
    let mut reader = BufReader::with_capacity(1 << 16, input);
    let mut buf = Vec::with_capacity(1 << 12);
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            return Ok(());
        }
        let raw = strip_newline(&buf);
        src.push_raw(&String::from_utf8_lossy(raw));
        src.flush(w)?;
    }
}

fn strip_newline(b: &[u8]) -> &[u8] {
    b.strip_suffix(b"\n").unwrap_or(b)
}

/// Standard input may be a live stream (`kubectl logs -f`): lines are read
/// on a thread so that idle reports are closed while nothing arrives.
fn run_stdin(src: &mut Source, w: &mut impl Write, idle: Duration) -> io::Result<()> {
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
                src.push_raw(&String::from_utf8_lossy(strip_newline(&line)));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                src.tick();
                src.flush(w)?;
                w.flush()?;
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
        }
        src.flush(w)?;
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
        let mut src = Source::new(args);
        let idle = Duration::from_millis(args.idle_timeout_ms);
        run_stdin(&mut src, &mut w, idle).map_err(|e| match e.kind() {
            io::ErrorKind::BrokenPipe => Failure::BrokenPipe,
            _ => Failure::Message(format!("reading standard input: {e}")),
        })?;
        src.finish(&mut w, &mut totals).map_err(io_err)?;
    } else {
        // Open everything first: a typo in the last name fails before output.
        let files = args
            .files
            .iter()
            .map(|p| File::open(p).map_err(|e| format!("cannot open {}: {e}", p.display())))
            .collect::<Result<Vec<_>, _>>()?;
        for (file, path) in files.into_iter().zip(&args.files) {
            let mut src = Source::new(args);
            run_reader(file, &mut src, &mut w).map_err(|e| match e.kind() {
                io::ErrorKind::BrokenPipe => Failure::BrokenPipe,
                _ => Failure::Message(format!("reading {}: {e}", path.display())),
            })?;
            src.finish(&mut w, &mut totals).map_err(io_err)?;
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
