//! Fluent Bit `wasm` filter for gopanic: see README.md for the contract.
//!
//! The logic is plain safe Rust ([`Module`]); `abi` holds the thin wasm
//! exports Fluent Bit calls (built only for `wasm32`), so the same code is
//! unit-tested natively and loaded by the host-faithful harness as `.wasm`.

// Unit tests assert by panicking; the workspace's no-panic lints
// (Cargo.toml) are for host code.
#![cfg_attr(test, allow(clippy::restriction))]

// Its functions are exported by symbol name (`no_mangle`), not by path.
#[cfg(target_arch = "wasm32")]
#[allow(unreachable_pub)]
mod abi;
pub mod enrich;
mod hash;
pub mod json;
pub mod quick;
pub mod reassemble;
pub mod settings;

use reassemble::Filter;
use settings::Settings;

/// What a filter function does with the record it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Return the input record as it came.
    Unchanged,
    /// Return "": Fluent Bit drops the record.
    Drop,
    /// Return the record written to the output buffer.
    Emit,
}

/// What a call hands back to the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply<'a> {
    /// The host's own copy of the record (NUL-terminated by the host).
    Input,
    /// These bytes, NUL-terminated, in the module's output buffer.
    Own(&'a [u8]),
}

/// The exported functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// Adds the `go` fields to records another stage joined (`gopanic_enrich`).
    Enrich,
    /// Joins reports from one-line records itself (`gopanic_reassemble`).
    Reassemble,
    /// Returns every record unchanged: the baseline for cost measurements.
    Passthrough,
}

/// What `gopanic_*` returns when the host passes a NULL record: Fluent Bit
/// does so only when copying the record into module memory failed (the
/// module's `malloc` returned 0), so the record's content is already gone.
/// Rather than drop silently, the filter returns this record in its place.
pub const NULL_RECORD: &str = "record not available: the host could not copy it into module memory";

/// The module's state: the reassembler (created on first use) and the
/// output buffer, which the module owns and reuses (the host copies it
/// before the next call and never frees it).
#[derive(Default)]
pub struct Module {
    out: Vec<u8>,
    /// `gopanic_enrich`'s settings, from heartbeats that pass through it.
    enrich_settings: Settings,
    filter: Option<Filter>,
    /// Lines lost by a reset after a trap, to report at the next call.
    lost: Option<usize>,
}

impl Module {
    /// A module with no state yet.
    pub fn new() -> Self {
        Module::default()
    }

    /// The reassembler's state, if it has seen a record.
    pub fn filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    /// Records that a previous call trapped half-way and its state was
    /// dropped with `lost` held lines; the next heartbeat's record says so.
    pub fn note_reset(&mut self, lost: usize) {
        self.lost = Some(lost);
    }

    /// One call as Fluent Bit makes it. `record_nul` says whether the byte
    /// after the record is a NUL (the host's copy is NUL-terminated).
    /// Returns what to hand back: the input record itself, or the bytes
    /// of the module's output buffer, NUL-terminated (a lone NUL is the
    /// empty string: the record is dropped).
    pub fn call(
        &mut self,
        function: Function,
        tag: Option<&[u8]>,
        time_sec: u32,
        time_nsec: u32,
        record: Option<&[u8]>,
        record_nul: bool,
    ) -> Reply<'_> {
        let Some(record) = record else {
            self.out.clear();
            self.out.extend_from_slice(b"{\"gopanic_error\":");
            json::write_string(&mut self.out, NULL_RECORD);
            self.out.push(b'}');
            self.out.push(0);
            return Reply::Own(&self.out);
        };
        let tag = tag.unwrap_or_default();
        let now = i64::from(time_sec) * 1_000_000_000 + i64::from(time_nsec);
        let verdict = match function {
            Function::Passthrough => Verdict::Unchanged,
            Function::Enrich => match heartbeat_settings(record) {
                Some(settings) => {
                    self.enrich_settings = settings;
                    Verdict::Drop
                }
                None => enrich::enrich(record, &self.enrich_settings, &mut self.out),
            },
            Function::Reassemble => {
                let filter = self.filter.get_or_insert_with(Filter::default);
                if let Some(lost) = self.lost.take() {
                    filter.note_reset(lost);
                }
                filter.process(tag, now, record, &mut self.out)
            }
        };
        match verdict {
            // Fluent Bit copies the result (`strdup`) before it frees its
            // copy of the record, so the record itself can be returned.
            Verdict::Unchanged if record_nul => return Reply::Input,
            Verdict::Unchanged => {
                self.out.clear();
                self.out.extend_from_slice(record);
            }
            Verdict::Drop => self.out.clear(),
            Verdict::Emit => {}
        }
        self.out.push(0);
        Reply::Own(&self.out)
    }
}

/// The settings of a heartbeat record (`gopanic_tick: true`, no text),
/// over the defaults; `None` for any other record. Members with a wrong
/// value keep their defaults (`gopanic_reassemble` reports them).
fn heartbeat_settings(record: &[u8]) -> Option<Settings> {
    // Cheap rejection: a heartbeat starts with its marker.
    if !record.starts_with(b"{\"gopanic_tick\"") {
        return None;
    }
    let rec = json::Record::parse(record)?;
    if !rec.is_true(reassemble::TICK) || rec.get("log").is_some() || rec.get("message").is_some() {
        return None;
    }
    Some(Settings::from_heartbeat(&rec, &Settings::default()).0)
}
