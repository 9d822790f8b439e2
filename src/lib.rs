//! gopanic: Go crash reports from container logs, one record per crash.
//!
//! When a Go program dies, the runtime writes its crash report (`panic:` or
//! `fatal error:`, `[signal …]`, one block per goroutine, race reports,
//! register dumps) to stderr, and log collectors cut it into one record per
//! line. This crate joins those lines back into one report per crash, per
//! stream, parses it (goroutines, frames, created by, labels, signal, race
//! accesses), classifies it and fingerprints it, and shapes records for
//! Loki and Elasticsearch. Ordinary lines pass through unchanged: every line
//! in leaves in exactly one record, in order per stream.
//!
//! The crate is sans-IO: hosts (the CLI, the Fluent Bit filter, the Vector
//! sidecar, the JavaScript package) read and write, and pass time in. The
//! layers are
//! [`container::Decoder`] (CRI, docker JSON or plain lines, partial lines
//! merged) → [`reassembler::Reassembler`] (per-stream joining driven by
//! [`grammar`]) → [`parse`] and [`classify`] (a [`crash::Crash`] and its
//! verdict) → [`record`] (JSON records); [`pipeline`] strings them together
//! for hosts that read raw log lines, [`event`] for hosts that get JSON
//! events.
//!
//! # A whole log at once
//!
//! ```
//! use gopanic::pipeline::{Options, reassemble_text};
//!
//! let log = "server started\n\
//!            panic: boom\n\
//!            \n\
//!            goroutine 1 [running]:\n\
//!            main.main()\n\
//!            \t/app/main.go:5 +0x18\n\
//!            exit status 2\n";
//! let out = String::from_utf8(reassemble_text(log, &Options::default())).unwrap();
//! let records: Vec<serde_json::Value> =
//!     out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
//!
//! // The line before, the report, the line after.
//! assert_eq!(records.len(), 3);
//! assert_eq!(records[0]["log"], "server started");
//! assert_eq!(records[1]["go"]["event"], "panic");
//! assert_eq!(records[1]["go"]["message"], "boom");
//! assert_eq!(records[1]["go"]["top_frame"]["function"], "main.main");
//! assert_eq!(records[1]["level"], "fatal");
//! assert_eq!(records[2]["log"], "exit status 2");
//! ```
//!
//! # Line by line, many streams
//!
//! A host that tails logs keeps one [`Reassembler`] for all its streams,
//! keyed by anything hashable, and passes the time with each line (a report
//! with no new line for the idle timeout is complete; [`Reassembler::tick`]
//! closes it when nothing arrives).
//!
//! ```
//! use gopanic::{Config, Output, Reassembler};
//!
//! let mut r: Reassembler<&str, String> = Reassembler::new(Config::default());
//! let mut out = Vec::new();
//! let second = 1_000_000_000;
//! for (i, line) in ["panic: boom", "", "goroutine 1 [running]:", "main.main()", "\t/app/main.go:5 +0x18"]
//!     .into_iter()
//!     .enumerate()
//! {
//!     r.push(&"orders/stderr", line.to_owned(), i as i64, &mut out);
//! }
//! assert!(out.is_empty(), "the report is still open");
//! r.tick(2 * second, &mut out);
//! let [Output::Report(stream, report)] = out.as_slice() else { panic!("{out:?}") };
//! assert_eq!(*stream, "orders/stderr");
//! assert_eq!(report.lines.len(), 5);
//! ```

// Unit tests assert by panicking; the workspace's no-panic lints
// (Cargo.toml) are for host code.
#![cfg_attr(test, allow(clippy::restriction))]

pub mod classify;
pub mod container;
pub mod crash;
pub mod event;
pub mod grammar;
pub mod json_check;
pub mod parse;
pub mod pipeline;
pub mod reassembler;
pub mod record;
pub mod time;

pub use container::{Decoder, Format, LogLine};
pub use crash::Event;
pub use reassembler::{Config, LineKinds, Output, Reassembler, Report};
