//! A host-faithful harness for the gopanic Fluent Bit filter.
//!
//! [`Host`] loads the built `.wasm` in wasmtime and calls a filter function
//! exactly as Fluent Bit's `filter_wasm` (JSON event format) does through
//! WAMR: the tag and the record are copied into module memory with the
//! module's exported `malloc`, each with a trailing NUL that the length does
//! not count (a failed copy passes NULL with the real length); the function
//! gets `(tag, tag_len, time_sec, time_nsec, record, record_len)`; its
//! result is read as a C string and copied; the host's copies are freed with
//! the module's `free`; "" and NULL drop the record, invalid JSON or a
//! non-object drops it with an error, a trap drops it and leaves the
//! instance as it is.
//!
//! [`Pipeline`] adds the rest of the shipped reassemble-mode pipeline: the
//! `dummy` heartbeat (`gopanic.tick`, `{"gopanic_tick":true}`), `rewrite_tag`
//! (`Rule $gopanic_tag ^(.+)$ $1 false`: the record re-enters the pipeline
//! under its original tag and passes the wasm filter again) and the
//! `parser` filter that restores the timestamp from `gopanic_time`.

// A test harness: a failed setup step stops the test with its message;
// clippy's restriction lints are for host code.
#![allow(clippy::restriction)]
#![allow(clippy::missing_panics_doc)]

pub mod corpus;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{Map, Value};
use wasmtime::{Config, Engine, Instance, Memory, Module, Store, TypedFunc};

/// The heartbeat input's tag in the shipped configs.
pub const TICK_TAG: &str = "gopanic.tick";
/// The heartbeat record, without settings.
pub const TICK_RECORD: &str = r#"{"gopanic_tick":true}"#;

/// The release `.wasm`: `$GOPANIC_WASM`, else built by
/// `plugin/fluent-bit/build.sh` into `target/wasm`.
pub fn wasm_path() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        if let Some(p) = std::env::var_os("GOPANIC_WASM") {
            return PathBuf::from(p);
        }
        // plugin/fluent-bit/build.sh installs the target if missing, builds
        // and prints the path.
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fluent-bit/build.sh");
        let out = Command::new("bash")
            .arg(&script)
            .output()
            .expect("run plugin/fluent-bit/build.sh");
        assert!(
            out.status.success(),
            "building the .wasm failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
    .clone()
}

/// The compiled module, shared by every [`Host`] with the default stack.
fn compiled(max_stack: Option<usize>) -> (Engine, Module) {
    let mut cfg = Config::new();
    if let Some(s) = max_stack {
        cfg.max_wasm_stack(s);
    }
    let engine = Engine::new(&cfg).expect("engine");
    let module = Module::from_file(&engine, wasm_path()).expect("load .wasm");
    (engine, module)
}

fn shared() -> &'static (Engine, Module) {
    static SHARED: OnceLock<(Engine, Module)> = OnceLock::new();
    SHARED.get_or_init(|| compiled(None))
}

/// Why the host dropped a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drop {
    /// The function returned "".
    Empty,
    /// The function returned NULL.
    Null,
    /// The result pointer or its string lies outside memory.
    BadAddress,
    /// The result is not a JSON object (Fluent Bit logs an error).
    NotAnObject(String),
    /// The function trapped (Fluent Bit logs the exception).
    Trap(String),
}

/// What the host does with one call's result.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The record body that goes on (the timestamp stays the input's).
    Record(Map<String, Value>),
    /// The record does not go on (an empty result, an error, a trap).
    Dropped(Drop),
}

impl Outcome {
    /// The record that goes on, if any.
    pub fn record(&self) -> Option<&Map<String, Value>> {
        match self {
            Outcome::Record(r) => Some(r),
            Outcome::Dropped(_) => None,
        }
    }

    /// Whether the call trapped.
    pub fn is_trap(&self) -> bool {
        matches!(self, Outcome::Dropped(Drop::Trap(_)))
    }
}

type FilterFn = TypedFunc<(i32, i32, i32, i32, i32, i32), i32>;

/// One filter instance, as Fluent Bit ≥ 4.1 keeps one per `[FILTER]`.
pub struct Host {
    store: Store<()>,
    memory: Memory,
    malloc: TypedFunc<i32, i32>,
    free: TypedFunc<i32, ()>,
    func: FilterFn,
    /// Make the next copy of the record fail, as when the module's malloc
    /// returns 0: the function gets NULL with the real length.
    pub fail_next_copy: bool,
    /// The raw bytes of the last result (without the NUL).
    pub last_raw: Vec<u8>,
}

impl Host {
    /// An instance of the built module whose filter function is `function` (e.g. `gopanic_reassemble`).
    pub fn new(function: &str) -> Self {
        let (engine, module) = shared();
        Host::from(engine, module, function)
    }

    /// A host whose wasm stack is limited to `bytes` (wasmtime's
    /// `max_wasm_stack`, native frames of compiled code).
    pub fn with_stack(function: &str, bytes: usize) -> Self {
        let (engine, module) = compiled(Some(bytes));
        Host::from(&engine, &module, function)
    }

    fn from(engine: &Engine, module: &Module, function: &str) -> Self {
        let mut store = Store::new(engine, ());
        let instance = Instance::new(&mut store, module, &[]).expect("instantiate");
        let memory = instance
            .get_memory(&mut store, "memory")
            .expect("exported memory");
        let malloc = instance
            .get_typed_func::<i32, i32>(&mut store, "malloc")
            .expect("malloc(i32) -> i32");
        let free = instance
            .get_typed_func::<i32, ()>(&mut store, "free")
            .expect("free(i32)");
        let func = instance
            .get_typed_func(&mut store, function)
            .expect("filter function with the filter_wasm signature");
        Host {
            store,
            memory,
            malloc,
            free,
            func,
            fail_next_copy: false,
            last_raw: Vec::new(),
        }
    }

    /// `wasm_runtime_module_dup_data(data, len + 1)`: 0 when malloc fails.
    fn dup(&mut self, data: &[u8]) -> i32 {
        let Ok(ptr) = self.malloc.call(&mut self.store, (data.len() + 1) as i32) else {
            return 0;
        };
        if ptr == 0 {
            return 0;
        }
        let mem = self.memory.data_mut(&mut self.store);
        let start = ptr as u32 as usize;
        let Some(dst) = mem.get_mut(start..start + data.len() + 1) else {
            return 0;
        };
        dst[..data.len()].copy_from_slice(data);
        dst[data.len()] = 0;
        ptr
    }

    /// Calls the filter on one record.
    pub fn call(&mut self, tag: &str, time_sec: u32, time_nsec: u32, record: &[u8]) -> Outcome {
        let tag_buf = self.dup(tag.as_bytes());
        let record_buf = if std::mem::take(&mut self.fail_next_copy) {
            0
        } else {
            self.dup(record)
        };
        let args = (
            tag_buf,
            tag.len() as i32,
            time_sec as i32,
            time_nsec as i32,
            record_buf,
            record.len() as i32,
        );
        let result = self.func.call(&mut self.store, args);
        let outcome = match result {
            Err(e) => Outcome::Dropped(Drop::Trap(format!("{e:?}"))),
            Ok(0) => Outcome::Dropped(Drop::Null),
            Ok(ptr) => self.read_result(ptr),
        };
        // The host frees its copies even after a trap.
        for buf in [tag_buf, record_buf] {
            if buf != 0 {
                let _ = self.free.call(&mut self.store, buf);
            }
        }
        outcome
    }

    fn read_result(&mut self, ptr: i32) -> Outcome {
        let mem = self.memory.data(&self.store);
        let start = ptr as u32 as usize;
        let Some(tail) = mem.get(start..) else {
            return Outcome::Dropped(Drop::BadAddress);
        };
        let Some(len) = tail.iter().position(|&b| b == 0) else {
            return Outcome::Dropped(Drop::BadAddress);
        };
        self.last_raw = tail[..len].to_vec();
        if len == 0 {
            return Outcome::Dropped(Drop::Empty);
        }
        match serde_json::from_slice::<Value>(&self.last_raw) {
            Ok(Value::Object(m)) => Outcome::Record(m),
            Ok(_) => Outcome::Dropped(Drop::NotAnObject("not an object".into())),
            Err(e) => Outcome::Dropped(Drop::NotAnObject(e.to_string())),
        }
    }

    /// Linear memory size in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.memory.data_size(&self.store)
    }
}

/// Serializes a record as Fluent Bit hands it to a JSON-format filter:
/// compact, non-ASCII escaped as `\uXXXX` (`json.escape_unicode` on).
pub fn fluent_json(record: &Map<String, Value>) -> Vec<u8> {
    let s = serde_json::to_string(record).expect("serialize");
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out.into_bytes()
}

/// Ordinary service lines (JSON logs), as tail + `cri` parser +
/// `kubernetes` filter hand them on, members in Fluent Bit's order
/// (`time`, `stream`, `_p`, `log`, then `kubernetes`): the cost
/// benchmark's common case.
pub fn service_records(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let log = format!(
                "{{\"level\":\"info\",\"msg\":\"request done\",\"path\":\"/api/v1/orders/{i}\",\"status\":200,\"duration_ms\":{}}}",
                i % 97
            );
            format!(
                concat!(
                    "{{\"time\":\"2026-11-27T07:27:10.{:09}Z\",\"stream\":\"{}\",\"_p\":\"F\",\"log\":{},",
                    "\"kubernetes\":{{\"pod_name\":\"orders-7d9f6c-x2k4p\",\"namespace_name\":\"shop\",",
                    "\"container_name\":\"orders\",\"labels\":{{\"app\":\"orders\",\"pod-template-hash\":\"7d9f6c\"}},",
                    "\"host\":\"node-1\"}}}}"
                ),
                i,
                if i % 3 == 0 { "stderr" } else { "stdout" },
                Value::String(log),
            )
            .into_bytes()
        })
        .collect()
}

/// A record as it reaches the outputs.
#[derive(Debug, Clone)]
pub struct Emitted {
    /// The tag it left under.
    pub tag: String,
    /// Its timestamp, in nanoseconds since the Unix epoch.
    pub time_ns: i64,
    /// Its body.
    pub record: Map<String, Value>,
}

/// The reassemble-mode pipeline around one [`Host`].
pub struct Pipeline {
    /// The filter instance.
    pub host: Host,
    /// Records out, in the order they reached the outputs.
    pub out: Vec<Emitted>,
    /// Host calls made (records in, including heartbeats and re-entries).
    pub calls: usize,
    /// Every drop that is not "" (errors, traps), with the record's tag.
    pub errors: Vec<(String, Drop)>,
    /// Records absorbed ("" for an app record).
    pub absorbed: usize,
    /// Re-emitted records that came back changed through the filter.
    pub loops: usize,
}

fn split_ns(ns: i64) -> (u32, u32) {
    (
        ns.div_euclid(1_000_000_000) as u32,
        ns.rem_euclid(1_000_000_000) as u32,
    )
}

impl Pipeline {
    /// A pipeline around a new instance of the module calling `function`.
    pub fn new(function: &str) -> Self {
        Pipeline {
            host: Host::new(function),
            out: Vec::new(),
            calls: 0,
            errors: Vec::new(),
            absorbed: 0,
            loops: 0,
        }
    }

    fn call(&mut self, tag: &str, time_ns: i64, record: &[u8]) -> Outcome {
        self.calls += 1;
        let (s, n) = split_ns(time_ns);
        let o = self.host.call(tag, s, n, record);
        if let Outcome::Dropped(d) = &o
            && *d != Drop::Empty
        {
            self.errors.push((tag.to_owned(), d.clone()));
        }
        o
    }

    /// An application record (from `tail`) with its timestamp.
    pub fn record(&mut self, tag: &str, time_ns: i64, record: &[u8]) {
        match self.call(tag, time_ns, record) {
            Outcome::Record(r) => self.after_filter(tag, time_ns, r),
            Outcome::Dropped(Drop::Empty) => self.absorbed += 1,
            Outcome::Dropped(_) => {}
        }
    }

    /// A heartbeat from the `dummy` input at `time_ns`.
    pub fn tick(&mut self, time_ns: i64) -> bool {
        let Outcome::Record(r) = self.call(TICK_TAG, time_ns, TICK_RECORD.as_bytes()) else {
            return false;
        };
        // rewrite_tag, Match gopanic.tick, Rule $gopanic_tag ^(.+)$ $1 false.
        match r.get("gopanic_tag").and_then(Value::as_str) {
            Some(tag) if !tag.is_empty() => {
                let tag = tag.to_owned();
                // Re-enters the pipeline under its tag: through the filter.
                let json = fluent_json(&r);
                match self.call(&tag, time_ns, &json) {
                    Outcome::Record(back) => {
                        if back != r {
                            self.loops += 1;
                        }
                        self.after_filter(&tag, time_ns, back);
                    }
                    _ => self.loops += 1,
                }
            }
            _ => self.out.push(Emitted {
                tag: TICK_TAG.into(),
                time_ns,
                record: r,
            }),
        }
        true
    }

    /// The `parser` filter (Key_Name gopanic_time, Time_Key time,
    /// Reserve_Data On) then the output.
    fn after_filter(&mut self, tag: &str, time_ns: i64, mut record: Map<String, Value>) {
        let mut time_ns = time_ns;
        if let Some(Value::String(t)) = record.remove("gopanic_time")
            && let Some(ns) = gopanic::time::parse_rfc3339_nanos(&t)
        {
            time_ns = ns;
        }
        self.out.push(Emitted {
            tag: tag.to_owned(),
            time_ns,
            record,
        });
    }
}
