//! Settings carried by the heartbeat record.
//!
//! Fluent Bit's `wasm` filter passes a module no parameters, so the bounds
//! and the record profile travel in the `dummy` input's record, which the
//! module sees several times a second:
//!
//! ```text
//! Dummy {"gopanic_tick":true,"max_record_bytes":262144,"profile":"default"}
//! ```
//!
//! A member that is absent keeps its default; a member with a wrong value
//! is ignored and reported once, as a record under the heartbeat's tag.

use gopanic::reassembler::Config;
use gopanic::record::{self, Profile};

use crate::json::{Record, decode_string};

/// Loki rejects log lines over 256 KiB (`max_line_size`, default).
pub const LOKI_MAX_LINE: usize = 262_144;

/// Everything a deployment may set without rebuilding the module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// No record the module writes is longer than this (JSON bytes), 0 for
    /// no bound. Reports leave in parts (`go.report_id`, `go.part`) whose
    /// text is at most half of it, lines longer than half of it leave in
    /// pieces, and nested parts of `go` are dropped (`go.cut`) until the
    /// record fits.
    pub max_record_bytes: usize,
    /// `default` or `ecs` (see `docs/record-schema.md`).
    pub profile: Profile,
    /// A report with no new line for this long is complete.
    pub idle_timeout_ms: u64,
    /// The same while a goroutine's traceback is deep enough for Go to
    /// elide frames (the runtime pauses to count them).
    pub deep_idle_timeout_ms: u64,
    /// Lines of one report part.
    pub max_report_lines: usize,
    /// A line (after merging partial chunks) longer than this leaves in
    /// pieces; with a record bound, at most half of it.
    pub max_line_bytes: usize,
    /// Goroutines given in full under `go.goroutines`.
    pub max_goroutines: usize,
    /// Bytes kept of `go.message` (the full text stays in `log`).
    pub max_message_bytes: usize,
    /// Streams holding an open report or a partial line.
    pub max_open_streams: usize,
    /// The container runtime's chunk size: a line longer than this is
    /// written in chunks of exactly this many bytes (containerd's
    /// `max_container_log_line_size`, docker's 16 KiB), the last one
    /// marked `F` (CRI) or ending with the newline (docker). A record whose
    /// text is a whole number of chunks and is not marked whole is a piece
    /// Fluent Bit left unjoined. 0: never merge.
    pub chunk_bytes: usize,
    /// Bytes held in open reports and partial lines, all streams together.
    pub max_held_bytes: usize,
    /// Records waiting for a heartbeat.
    pub max_queue_records: usize,
    /// Bytes waiting for a heartbeat.
    pub max_queue_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_record_bytes: LOKI_MAX_LINE,
            profile: Profile::Default,
            idle_timeout_ms: 1_000,
            deep_idle_timeout_ms: 10_000,
            max_report_lines: 100_000,
            max_line_bytes: 4 << 20,
            max_goroutines: 20,
            max_message_bytes: 16 << 10,
            max_open_streams: 1024,
            chunk_bytes: 16 << 10,
            max_held_bytes: 128 << 20,
            max_queue_records: 8192,
            max_queue_bytes: 64 << 20,
        }
    }
}

/// What the core's record shaping may use of a bounded record: the rest is
/// the first line's other members and what the module adds.
const RESERVE: usize = 1024;

impl Settings {
    /// Reads the settings of a heartbeat record: `base` (the module's own
    /// settings), overridden by each member present. Returns the problems
    /// found, one sentence each (the members concerned keep `base`'s values).
    pub fn from_heartbeat(rec: &Record<'_>, base: &Settings) -> (Settings, Vec<String>) {
        let mut s = base.clone();
        let mut problems = Vec::new();
        let mut num = |key: &str, slot: &mut usize| {
            let Some(raw) = rec.get(key) else {
                return;
            };
            match std::str::from_utf8(raw).ok().and_then(|t| t.parse().ok()) {
                Some(v) => *slot = v,
                None => problems.push(format!(
                    "setting {key}: expected a non-negative integer, got {}",
                    String::from_utf8_lossy(raw)
                )),
            }
        };
        num("max_record_bytes", &mut s.max_record_bytes);
        let mut idle = usize::try_from(s.idle_timeout_ms).unwrap_or(usize::MAX);
        num("idle_timeout_ms", &mut idle);
        s.idle_timeout_ms = idle as u64;
        let mut deep = usize::try_from(s.deep_idle_timeout_ms).unwrap_or(usize::MAX);
        num("deep_idle_timeout_ms", &mut deep);
        s.deep_idle_timeout_ms = deep as u64;
        num("max_report_lines", &mut s.max_report_lines);
        num("max_line_bytes", &mut s.max_line_bytes);
        num("max_goroutines", &mut s.max_goroutines);
        num("max_message_bytes", &mut s.max_message_bytes);
        num("max_open_streams", &mut s.max_open_streams);
        num("chunk_bytes", &mut s.chunk_bytes);
        num("max_held_bytes", &mut s.max_held_bytes);
        num("max_queue_records", &mut s.max_queue_records);
        num("max_queue_bytes", &mut s.max_queue_bytes);
        if let Err(e) = record::record_bound(s.max_record_bytes) {
            problems.push(format!("setting max_record_bytes: {e}"));
            s.max_record_bytes = base.max_record_bytes;
        }
        if let Some(raw) = rec.get("profile") {
            match decode_string(raw).map(|p| p.parse::<Profile>()) {
                Some(Ok(p)) => s.profile = p,
                Some(Err(e)) => problems.push(format!("setting profile: {e}")),
                None => problems.push("setting profile: expected a string".to_owned()),
            }
        }
        (s, problems)
    }

    /// Whether a text of `len` bytes not marked whole is a piece of a line
    /// (see [`Settings::chunk_bytes`]).
    pub fn is_chunk(&self, len: usize) -> bool {
        self.chunk_bytes > 0 && len > 0 && len.is_multiple_of(self.chunk_bytes)
    }

    /// The record bound, if any.
    pub fn record_bound(&self) -> Option<usize> {
        (self.max_record_bytes > 0).then_some(self.max_record_bytes)
    }

    /// The longest line text kept whole.
    pub fn line_cap(&self) -> usize {
        let cap = match self.record_bound() {
            Some(b) => self.max_line_bytes.min(b / 2),
            None => self.max_line_bytes,
        };
        cap.max(1)
    }

    /// The core reassembler's configuration.
    pub fn core(&self) -> Config {
        let ms = |v: u64| i64::try_from(v.saturating_mul(1_000_000)).unwrap_or(i64::MAX);
        let d = Config::default();
        Config {
            idle_timeout_ns: ms(self.idle_timeout_ms),
            deep_stack_idle_timeout_ns: ms(self.deep_idle_timeout_ms),
            // Half the record bound for the text (counted escaped, as
            // `json_text` says) leaves the rest for the `go` object, as the
            // CLI does.
            max_report_bytes: match self.record_bound() {
                Some(b) => d.max_report_bytes.min(b / 2).max(1),
                None => d.max_report_bytes,
            },
            max_report_lines: self.max_report_lines.max(1),
            json_text: self.record_bound().is_some(),
            max_open_streams: self.max_open_streams.max(1),
            // The core counts a line's text and record (`Held::mem_bytes`)
            // as the filter does: past the bound, the report holding the
            // most leaves as a part and goes on in further parts, before
            // the filter's own bound (partial lines too) closes a stream.
            max_held_bytes: self.max_held_bytes.max(1),
            ..d
        }
    }

    /// The core's record limits for a report record to which the module
    /// adds `own_bytes` of its own members after the core has written it.
    pub fn record_limits(&self, own_bytes: usize) -> record::Limits {
        record::Limits {
            max_goroutines: self.max_goroutines,
            max_record_bytes: self
                .record_bound()
                .map(|b| b.saturating_sub(own_bytes + RESERVE).max(1)),
            max_message_bytes: Some(self.max_message_bytes),
            ..record::Limits::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> (Settings, Vec<String>) {
        Settings::from_heartbeat(
            &Record::parse(json.as_bytes()).unwrap(),
            &Settings::default(),
        )
    }

    #[test]
    fn defaults_overrides_and_problems() {
        let (s, p) = read(r#"{"gopanic_tick":true}"#);
        assert_eq!(s, Settings::default());
        assert!(p.is_empty());
        assert_eq!(s.core().max_report_bytes, LOKI_MAX_LINE / 2);
        assert_eq!(s.line_cap(), LOKI_MAX_LINE / 2);

        let (s, p) = read(
            r#"{"gopanic_tick":true,"max_record_bytes":0,"profile":"ecs","idle_timeout_ms":2500}"#,
        );
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(s.record_bound(), None);
        assert_eq!(s.profile, Profile::Ecs);
        assert_eq!(s.core().idle_timeout_ns, 2_500_000_000);
        assert_eq!(
            s.core().max_report_bytes,
            Config::default().max_report_bytes
        );
        assert_eq!(s.line_cap(), 4 << 20);

        let (s, p) = read(r#"{"max_record_bytes":-1,"profile":"xml","max_goroutines":"5"}"#);
        assert_eq!(s, Settings::default());
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p.iter().any(|m| m.contains("max_record_bytes")));
        assert!(p.iter().any(|m| m.contains("profile")));

        let (s, p) = read(r#"{"max_record_bytes":4095}"#);
        assert_eq!(s.max_record_bytes, LOKI_MAX_LINE);
        assert!(p.len() == 1 && p[0].contains("minimum of 4096"), "{p:?}");
        assert_eq!(
            read(r#"{"max_record_bytes":4096}"#).0.record_bound(),
            Some(4096)
        );
    }
}
