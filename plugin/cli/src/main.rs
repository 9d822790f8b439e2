//! `gopanic`: container log lines in, NDJSON records out, one record per
//! ordinary line and one per Go crash report.
//!
//! This host only reads, writes and keeps time: decoding, joining and record
//! shaping are the core's [`Pipeline`], one per input.

// Unit tests assert by panicking; the workspace's no-panic lints
// (Cargo.toml) are for host code.
#![cfg_attr(test, allow(clippy::restriction))]

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::Parser;
use gopanic::container::Format;
use gopanic::event::{EventFormat, StreamKeys};
use gopanic::pipeline::{Counts, Options, Pipeline};
use gopanic::reassembler::Config;
use gopanic::record::{Limits, Profile};

/// Bytes per read: large enough that a read costs little per line, small
/// enough to stay out of the memory budget.
const READ_BYTES: usize = 1 << 16;

/// Output is written once this much is waiting.
const WRITE_BYTES: usize = 1 << 16;

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
    /// Longest line kept whole (after merging a runtime's partial chunks):
    /// a longer one leaves in pieces of at most this many bytes, each but the
    /// last marked `continued`, and is never held whole.
    #[arg(long, default_value_t = 4 << 20)]
    max_line_bytes: usize,
    /// Record field names: `default` (`log`, `level`) or `ecs` (`message`,
    /// `log.level`, `error.*`, `event.*`).
    #[arg(long, default_value = "default", value_parser = parse_profile)]
    profile: Profile,
    /// Keep every record's JSON at most this long (Loki rejects lines over
    /// 262144 bytes): reports split into parts of at most half this much
    /// text, and nested parts of `go` are dropped (named in `go.cut`) until
    /// the record fits. At least 4096 (`gopanic::record::MIN_RECORD_BYTES`);
    /// 0 sets no bound.
    #[arg(long, value_parser = parse_record_bound)]
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

/// A record bound, checked (0: none).
fn parse_record_bound(s: &str) -> Result<usize, String> {
    let b = s.parse().map_err(|e| format!("{e}"))?;
    gopanic::record::record_bound(b).map(|_| b)
}

impl Args {
    fn options(&self) -> Options {
        Options {
            format: match self.format {
                Input::Container(f) => f,
                Input::Json => Format::Plain,
            },
            profile: self.profile,
            max_report_bytes: self.max_report_bytes,
            max_report_lines: self.max_report_lines,
            idle_timeout_ms: self.idle_timeout_ms,
            max_line_bytes: self.max_line_bytes,
            max_record_bytes: self.max_record_bytes.filter(|&b| b > 0),
            max_goroutines: self.max_goroutines,
        }
    }

    /// The pipeline for one input.
    fn pipeline(&self) -> Pipeline {
        let options = self.options();
        match self.format {
            Input::Container(_) => Pipeline::new(&options),
            Input::Json => {
                let keys = if self.keys.is_empty() {
                    StreamKeys::default()
                } else {
                    StreamKeys::parse(&self.keys)
                };
                let format = EventFormat {
                    keys,
                    ..EventFormat::default()
                };
                Pipeline::for_events(&options, format)
            }
        }
    }
}

/// Standard output and the records waiting to be written to it.
struct Out<W> {
    w: W,
    buf: Vec<u8>,
}

impl<W: Write> Out<W> {
    /// Takes the records that left `p`; writes once enough are waiting.
    fn take(&mut self, p: &mut Pipeline) -> io::Result<()> {
        p.drain_json(&mut self.buf, b'\n');
        if self.buf.len() >= WRITE_BYTES {
            self.write()?;
        }
        Ok(())
    }

    fn write(&mut self) -> io::Result<()> {
        self.w.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// Writes everything waiting and flushes: the records reach the reader.
    fn flush(&mut self) -> io::Result<()> {
        self.write()?;
        self.w.flush()
    }
}

/// Where a run failed: reading an input or writing the output.
enum Step {
    Read,
    Write,
}

fn step(s: Step) -> impl FnOnce(io::Error) -> (Step, io::Error) {
    move |e| (s, e)
}

/// Reads `input` to its end into `p`, writing records as they leave.
fn run_reader(
    mut input: impl Read,
    p: &mut Pipeline,
    out: &mut Out<impl Write>,
) -> Result<(), (Step, io::Error)> {
    let mut buf = vec![0; READ_BYTES];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err((Step::Read, e)),
        };
        p.push_bytes(buf.get(..n).unwrap_or_default());
        out.take(p).map_err(step(Step::Write))?;
    }
}

/// Standard input may be a live stream (`kubectl logs -f`): it is read on a
/// thread so that idle reports are closed while nothing arrives, by the
/// input clock advanced with the wall clock.
fn run_stdin(
    p: &mut Pipeline,
    out: &mut Out<impl Write>,
    idle: Duration,
) -> Result<(), (Step, io::Error)> {
    // Bounded, so a slow writer holds back the reader instead of memory.
    let (tx, rx) = mpsc::sync_channel::<io::Result<Vec<u8>>>(16);
    std::thread::spawn(move || {
        let mut stdin = io::stdin().lock();
        loop {
            let mut buf = vec![0; READ_BYTES];
            let read = match stdin.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    buf.truncate(n);
                    Ok(buf)
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Err(e),
            };
            let failed = read.is_err();
            if tx.send(read).is_err() || failed {
                return;
            }
        }
    });
    let wait = idle.max(Duration::from_millis(10));
    // The input clock when the last read arrived, and when that was.
    let mut last = (p.clock(), Instant::now());
    loop {
        match rx.recv_timeout(wait) {
            Ok(read) => {
                p.push_bytes(&read.map_err(step(Step::Read))?);
                last = (p.clock(), Instant::now());
                out.take(p).map_err(step(Step::Write))?;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let since = i64::try_from(last.1.elapsed().as_nanos()).unwrap_or(i64::MAX);
                p.tick(last.0.saturating_add(since));
                out.take(p).map_err(step(Step::Write))?;
                out.flush().map_err(step(Step::Write))?;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
        }
    }
}

/// Why a run stopped early. A closed output pipe (`gopanic … | head`) is
/// the reader's choice, not an error.
enum Failure {
    BrokenPipe,
    Message(String),
}

/// A failure reading `what` or writing the output.
fn failure(what: &str, (s, e): (Step, io::Error)) -> Failure {
    match (s, e.kind()) {
        (_, io::ErrorKind::BrokenPipe) => Failure::BrokenPipe,
        (Step::Read, _) => Failure::Message(format!("reading {what}: {e}")),
        (Step::Write, _) => Failure::Message(format!("writing output: {e}")),
    }
}

/// Counters summed over the inputs.
fn add(total: &mut Counts, c: Counts) {
    total.lines_in += c.lines_in;
    total.records_out += c.records_out;
    total.reports += c.reports;
    total.report_parts += c.report_parts;
    total.malformed += c.malformed;
}

fn run(args: &Args) -> Result<Counts, Failure> {
    let mut out = Out {
        w: io::stdout().lock(),
        buf: Vec::with_capacity(2 * WRITE_BYTES),
    };
    let mut total = Counts::default();
    let use_stdin = args.files.is_empty() || args.files.iter().all(|f| f.as_os_str() == "-");
    if use_stdin {
        let mut p = args.pipeline();
        let idle = Duration::from_millis(args.idle_timeout_ms);
        run_stdin(&mut p, &mut out, idle).map_err(|e| failure("standard input", e))?;
        finish(&mut p, &mut out, &mut total)?;
    } else {
        // Open everything first: a typo in the last name fails before output.
        let files = args
            .files
            .iter()
            .map(|p| File::open(p).map_err(|e| format!("cannot open {}: {e}", p.display())))
            .collect::<Result<Vec<_>, _>>()
            .map_err(Failure::Message)?;
        for (file, path) in files.into_iter().zip(&args.files) {
            let mut p = args.pipeline();
            run_reader(file, &mut p, &mut out)
                .map_err(|e| failure(&path.display().to_string(), e))?;
            finish(&mut p, &mut out, &mut total)?;
        }
    }
    out.flush().map_err(|e| failure("", (Step::Write, e)))?;
    Ok(total)
}

/// End of one input: its last records leave.
fn finish(p: &mut Pipeline, out: &mut Out<impl Write>, total: &mut Counts) -> Result<(), Failure> {
    p.finish();
    out.take(p).map_err(|e| failure("", (Step::Write, e)))?;
    add(total, p.counts());
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_bound_under_the_minimum_is_an_argument_error() {
        let parse = |v: &str| Args::try_parse_from(["gopanic", "--max-record-bytes", v]);
        let e = parse("4095").err().unwrap().to_string();
        assert!(
            e.contains("--max-record-bytes") && e.contains("4096"),
            "{e}"
        );
        let bound = |v: &str| parse(v).unwrap().options().max_record_bytes;
        assert_eq!(bound("4096"), Some(4096));
        assert_eq!(bound("0"), None);
        assert_eq!(
            Args::try_parse_from(["gopanic"])
                .unwrap()
                .options()
                .max_record_bytes,
            None
        );
    }
}
