//! gopanic for JavaScript: the core compiled to WebAssembly with
//! wasm-bindgen, for Node and the browser (see README.md).
//!
//! [`api`] is the logic on strings and JSON, tested natively; the
//! `#[wasm_bindgen]` exports below only convert JavaScript values. Records
//! cross the boundary as the JSON the CLI writes and become plain objects
//! through `JSON.parse`, so a record has exactly the fields of
//! `docs/record-schema.md` and nothing else. Every failure is a thrown
//! `Error` with a message; the core is written not to panic (its lints
//! forbid `unwrap`, indexing and string slicing), so bad input does not end
//! in a wasm trap.

// Unit tests assert by panicking; the workspace's no-panic lints
// (Cargo.toml) are for host code.
#![cfg_attr(test, allow(clippy::restriction))]

pub mod api;

use js_sys::{JSON, Uint8Array};
use wasm_bindgen::prelude::*;

use api::{Meta, OptionsIn, Stream};

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** Options of `reassemble`, `Reassembler` and `enrich` (the CLI's flags). */
export interface Options {
  /** Input envelope; `auto` (default) detects CRI, docker json-file or plain per line. */
  format?: "auto" | "cri" | "docker" | "plain";
  /** Field names: `default` (`log`, `level`) or `ecs` (`message`, `log.level`, `error.*`, `event.*`). */
  profile?: "default" | "ecs";
  /** A report larger than this (bytes of text) leaves in parts marked `go.truncated`. Default 8 MiB. */
  maxReportBytes?: number;
  /** A report with more lines than this leaves in parts. Default 100,000. */
  maxReportLines?: number;
  /** A report with no new line for this long (input time) is complete. Default 1000. */
  idleTimeoutMs?: number;
  /** Longest logical line kept whole after merging partial chunks. Default 4 MiB. */
  maxLineBytes?: number;
  /** Keep every record's JSON at most this long (Loki: 262144). Default: no bound. */
  maxRecordBytes?: number;
  /** Goroutines given in full under `go.goroutines`. Default 20. */
  maxGoroutines?: number;
}

/** Where a line pushed to `Reassembler.push` came from, when the caller decoded it. */
export interface LineMeta {
  /** `stdout` or `stderr`: each stream is joined on its own. */
  stream?: string;
  /** RFC 3339 timestamp as the runtime wrote it; kept as the record's `time` and used as its clock. */
  time?: string;
}

/** Counters of a `Reassembler`. */
export interface Stats {
  linesIn: number;
  recordsOut: number;
  reports: number;
  reportParts: number;
  malformed: number;
}

export type GoEvent = "panic" | "fatal_error" | "signal" | "data_race" | "goroutine_dump" | "http_panic";
export type GoClass =
  | "nil_dereference" | "index_out_of_range" | "slice_bounds_out_of_range" | "divide_by_zero"
  | "nil_map_write" | "type_assertion" | "closed_channel" | "nil_channel_close"
  | "negative_waitgroup" | "makeslice" | "nil_panic" | "runtime_error" | "custom_panic" | "repanic"
  | "concurrent_map_writes" | "concurrent_map_read_write" | "concurrent_map_iteration_write"
  | "deadlock" | "stack_overflow" | "out_of_memory" | "unlock_of_unlocked" | "fault"
  | "cgo_signal" | "data_race" | "goroutine_dump" | "unknown";
export type Level = "fatal" | "error" | "warning";

export interface GoSignal { name: string; description?: string; code?: string; addr?: string; pc?: string; m?: number; }
export interface GoFrame {
  function: string; package: string; receiver?: string; name: string; generic?: boolean;
  args: string; file: string; line: number; offset?: string; runtime: boolean;
}
export interface GoCreatedBy { function: string; file: string; line: number; parent_goroutine?: number; }
export interface GoGoroutine {
  id: number; state: string; wait_minutes?: number; locked_to_thread?: boolean;
  gp?: string; m?: string; mp?: string; labels?: Record<string, string>;
  frames: GoFrame[]; elided_frames?: number; stack_unavailable?: boolean; created_by?: GoCreatedBy;
}
export interface GoPanic {
  value: string; runtime_error: boolean; go_type?: string; recovered: boolean;
  /** `value` was cut at the copied-text cap (16 KiB); `log` holds it whole. */
  value_truncated?: true;
}
export interface GoBucket {
  count: number; state: string; wait_minutes_min?: number; wait_minutes_max?: number;
  top_function?: string; top_file?: string; top_line?: number; first_goroutine: number;
}
export interface GoRaceAccess {
  kind: string; previous: boolean; address: string; goroutine?: number; main_goroutine?: boolean; frames: GoFrame[];
}
export interface GoRace {
  accesses: GoRaceAccess[];
  goroutines: { id: number; status: string; frames: GoFrame[] }[];
  location?: string;
}

/** The `go` object of a report record (docs/record-schema.md). */
export interface GoFields {
  schema: 1; event: GoEvent; class: GoClass; fatal: boolean; recoverable: boolean;
  message?: string;
  /** `message` was cut at the copied-text cap (16 KiB); `log` holds it whole. */
  message_truncated?: true;
  value_type?: string; fingerprint: string;
  goroutine?: { id: number; state: string; wait_minutes?: number; labels?: Record<string, string> };
  top_frame?: { function: string; package: string; file: string; line: number };
  signal?: GoSignal; http_remote?: string;
  goroutines_total: number; goroutine_summary?: string; lines: number; truncated: boolean;
  cut?: string[]; report_id?: string; part?: number;
  panics?: GoPanic[]; goroutines?: GoGoroutine[]; goroutines_omitted?: number;
  goroutine_buckets?: GoBucket[]; goroutine_buckets_omitted?: number;
  fatal_error?: string; fatal_error_truncated?: true; fault_address?: string; in_cgo?: true;
  runtime_notes?: string[]; runtime_stacks?: string[]; registers?: string; race?: GoRace;
}

/**
 * One record: an ordinary line (`go` absent) or a crash report. Default
 * profile: text in `log`, `level` on reports. ECS profile: text in
 * `message`, `log.level`, `error.*`, `event.*` on reports.
 */
export interface GoRecord {
  time?: string;
  stream?: string;
  log?: string | { level: Level };
  message?: string;
  /** A piece of a line longer than `maxLineBytes`: the stream's next record continues its text. */
  continued?: true;
  level?: Level;
  go?: GoFields;
  /** Flat copies of `go` fields (for Loki structured metadata and `| json`), strings. */
  go_event?: GoEvent;
  go_class?: GoClass;
  go_fatal?: "true" | "false";
  go_fingerprint?: string;
  go_report_id?: string;
  go_top_frame_function?: string;
  ecs?: { version: string };
  error?: { message?: string; type?: GoClass; stack_trace?: string };
  event?: { kind: "event"; category: ["process"]; type: ["end"] | ["info"]; outcome: "failure" };
  /** `enrich` keeps the fields of the record it was given. */
  [field: string]: unknown;
}

/** One crash report parsed in full (`parse`): the model behind `go`, with its verdict. */
export interface Crash {
  event: GoEvent; class: GoClass; fatal: boolean; recoverable: boolean; level: Level;
  message?: string; fingerprint: string;
  runtime_notes?: string[]; panics?: GoPanic[]; fatal_error?: string; fault_address?: string;
  signal?: GoSignal; in_cgo?: true; http_remote?: string;
  /** Every goroutine block, in printed order. */
  goroutines: GoGoroutine[];
  runtime_stacks?: string[]; registers?: string; race?: GoRace;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// `Options` in TypeScript; any object, checked when read.
    #[wasm_bindgen(typescript_type = "Options")]
    pub type OptionsArg;
    /// A whole log: text, or bytes read from a file.
    #[wasm_bindgen(typescript_type = "string | Uint8Array")]
    pub type LogInput;
    /// `LineMeta` in TypeScript.
    #[wasm_bindgen(typescript_type = "LineMeta")]
    pub type MetaArg;
}

fn error(message: impl std::fmt::Display) -> JsError {
    JsError::new(&message.to_string())
}

/// A plain object from JSON the core wrote.
fn from_json(json: &[u8]) -> Result<JsValue, JsError> {
    let text = std::str::from_utf8(json).map_err(error)?;
    JSON::parse(text).map_err(|_| error("internal error: records are not valid JSON"))
}

/// An options-like object as JSON (`undefined`/`null` → `None`).
fn to_json(value: &JsValue, what: &str) -> Result<Option<String>, JsError> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    if !value.is_object() || js_sys::Array::is_array(value) {
        return Err(error(format!("{what} must be an object")));
    }
    let json = JSON::stringify(value).map_err(|_| error(format!("{what} is not serialisable")))?;
    Ok(json.as_string())
}

fn options(value: Option<OptionsArg>) -> Result<OptionsIn, JsError> {
    let value: JsValue = value.map_or(JsValue::UNDEFINED, Into::into);
    OptionsIn::from_json(to_json(&value, "options")?.as_deref()).map_err(error)
}

/// The text of a log given as a string or as bytes (UTF-8, invalid
/// sequences replaced as the CLI does).
fn log_text(value: &JsValue) -> Result<String, JsError> {
    if let Some(s) = value.as_string() {
        return Ok(s);
    }
    if let Some(bytes) = value.dyn_ref::<Uint8Array>() {
        return Ok(String::from_utf8_lossy(&bytes.to_vec()).into_owned());
    }
    Err(error("the log must be a string or a Uint8Array"))
}

/// Every record of a whole log, in output order: one per ordinary line,
/// one per crash report.
#[wasm_bindgen(unchecked_return_type = "GoRecord[]")]
pub fn reassemble(text: LogInput, options: Option<OptionsArg>) -> Result<JsValue, JsError> {
    let (text, opts) = whole_log(text, options)?;
    from_json(&api::reassemble(&text, &opts))
}

/// The records of a whole log as NDJSON, byte for byte what the CLI writes
/// for one file: for tools that pass records on as text (a log shipper) or
/// read only some of them (a viewer), without building every object.
#[wasm_bindgen(js_name = reassembleNdjson)]
pub fn reassemble_ndjson(text: LogInput, options: Option<OptionsArg>) -> Result<String, JsError> {
    let (text, opts) = whole_log(text, options)?;
    String::from_utf8(gopanic::pipeline::reassemble_text(&text, &opts.0)).map_err(error)
}

fn whole_log(text: LogInput, options: Option<OptionsArg>) -> Result<(String, OptionsIn), JsError> {
    Ok((log_text(&text)?, self::options(options)?))
}

/// One crash report parsed in full, with its class and fingerprint. Throws
/// when the text holds no crash report.
#[wasm_bindgen(unchecked_return_type = "Crash")]
pub fn parse(report: &str) -> Result<JsValue, JsError> {
    from_json(&api::parse(report).map_err(error)?)
}

/// A record whose `log` (or `message`) holds a whole crash report, joined
/// by a collector, with the `go` fields and `level` added, as the Fluent Bit
/// filter's `gopanic_enrich` does; any other record comes back unchanged
/// (the same object).
#[wasm_bindgen(unchecked_return_type = "GoRecord")]
pub fn enrich(
    #[wasm_bindgen(unchecked_param_type = "Record<string, unknown>")] record: JsValue,
    options: Option<OptionsArg>,
) -> Result<JsValue, JsError> {
    let opts = self::options(options)?;
    let Some(json) = to_json(&record, "the record")? else {
        return Err(error("the record must be an object"));
    };
    match api::enrich(&json, &opts).map_err(error)? {
        Some(out) => from_json(&out),
        None => Ok(record),
    }
}

/// A live tail: push lines as they arrive, tick while none do, finish at
/// the end. Each call returns the records that left.
#[wasm_bindgen]
pub struct Reassembler {
    stream: Stream,
}

#[wasm_bindgen]
impl Reassembler {
    /// A reassembler for lines pushed one by one; `options` as for `reassemble`.
    #[wasm_bindgen(constructor)]
    pub fn new(options: Option<OptionsArg>) -> Result<Reassembler, JsError> {
        let opts = self::options(options)?;
        Ok(Reassembler {
            stream: Stream::new(&opts),
        })
    }

    /// Pushes one line. Without `meta` it is a raw log line (CRI, docker
    /// json-file or plain, per the `format` option); with `meta` it is the
    /// line's text, decoded by the caller. A string holding several lines
    /// (`\n`) is pushed line by line.
    #[wasm_bindgen(unchecked_return_type = "GoRecord[]")]
    pub fn push(&mut self, line: &str, meta: Option<MetaArg>) -> Result<JsValue, JsError> {
        let meta: JsValue = meta.map_or(JsValue::UNDEFINED, Into::into);
        let meta = match to_json(&meta, "meta")? {
            Some(json) => Some(Meta::from_json(&json).map_err(error)?),
            None => None,
        };
        from_json(&self.stream.push(line, meta.as_ref()).map_err(error)?)
    }

    /// Closes the reports idle at `now` (milliseconds since the Unix epoch
    /// in the log's clock, e.g. `Date.now()` for a live tail).
    #[wasm_bindgen(unchecked_return_type = "GoRecord[]")]
    pub fn tick(&mut self, now: f64) -> Result<JsValue, JsError> {
        from_json(&self.stream.tick(now).map_err(error)?)
    }

    /// End of input: every open report leaves.
    #[wasm_bindgen(unchecked_return_type = "GoRecord[]")]
    pub fn finish(&mut self) -> Result<JsValue, JsError> {
        from_json(&self.stream.finish())
    }

    /// Counters since creation.
    #[wasm_bindgen(getter, unchecked_return_type = "Stats")]
    pub fn stats(&self) -> Result<JsValue, JsError> {
        from_json(&self.stream.stats())
    }
}
