//! Counts the wasm instructions a filter function executes per call
//! (wasmtime fuel: about one unit per instruction), replaying a trace
//! written by the `trace` example. Under an interpreter (WAMR, in Fluent
//! Bit) time follows the instruction count, so this is a deterministic
//! proxy for the cost measured there.
//!
//! `cargo run --release -p gopanic-fluent-bit-host-tests --example ops -- FUNCTION TRACE`
//! prints calls, instructions per call in the function itself and in the
//! host's copies (the module's `malloc`/`free`), then per outcome of the
//! call. With `OPS_DUMP=1` each call's outcome, cost and record head go to
//! stderr, to find the calls that cost most.

// A measuring tool: a failed step stops it with its message.
#![allow(clippy::restriction)]

use std::io::BufRead;

use gopanic_fluent_bit_host_tests::wasm_path;
use wasmtime::{Config, Engine, Instance, Module, Store, TypedFunc};

fn main() {
    let mut args = std::env::args().skip(1);
    let function = args.next().expect("FUNCTION");
    let trace = args.next().expect("TRACE");
    let mut cfg = Config::new();
    cfg.consume_fuel(true);
    let engine = Engine::new(&cfg).expect("engine");
    let module = Module::from_file(&engine, wasm_path()).expect("load .wasm");
    let mut store = Store::new(&engine, ());
    store.set_fuel(u64::MAX).expect("fuel");
    let instance = Instance::new(&mut store, &module, &[]).expect("instantiate");
    let memory = instance.get_memory(&mut store, "memory").expect("memory");
    let malloc: TypedFunc<i32, i32> = instance
        .get_typed_func(&mut store, "malloc")
        .expect("malloc");
    let free: TypedFunc<i32, ()> = instance.get_typed_func(&mut store, "free").expect("free");
    let func: TypedFunc<(i32, i32, i32, i32, i32, i32), i32> = instance
        .get_typed_func(&mut store, &function)
        .expect("function");
    let (mut calls, mut in_func, mut in_copies) = (0u64, 0u64, 0u64);
    // Calls and instructions by what the call returned: the input record
    // (unchanged), "" (dropped) or a record of its own; heartbeats apart.
    let mut kinds = [(0u64, 0u64); 4];
    let file = std::fs::File::open(&trace).expect("trace");
    for line in std::io::BufReader::new(file).split(b'\n') {
        let line = line.expect("read");
        let mut f = line.splitn(4, |&b| b == b'\t');
        let (Some(tag), Some(s), Some(n), Some(rec)) = (f.next(), f.next(), f.next(), f.next())
        else {
            continue;
        };
        let num = |b: &[u8]| String::from_utf8_lossy(b).parse::<u32>().unwrap_or(0);
        let fuel = |st: &Store<()>| st.get_fuel().unwrap_or(0);
        let before = fuel(&store);
        let dup = |st: &mut Store<()>, data: &[u8]| -> i32 {
            let p = malloc.call(&mut *st, data.len() as i32 + 1).unwrap_or(0);
            if p != 0 {
                let m = memory.data_mut(&mut *st);
                let at = p as u32 as usize;
                m[at..at + data.len()].copy_from_slice(data);
                m[at + data.len()] = 0;
            }
            p
        };
        let tb = dup(&mut store, tag);
        let rb = if rec == b"NULL" {
            0
        } else {
            dup(&mut store, rec)
        };
        let copied = fuel(&store);
        let args = (
            tb,
            tag.len() as i32,
            num(s) as i32,
            num(n) as i32,
            rb,
            rec.len() as i32,
        );
        let ret = match func.call(&mut store, args) {
            Ok(r) => r,
            Err(_) => {
                eprintln!("trap");
                0
            }
        };
        let called = fuel(&store);
        let kind = if tag == b"gopanic.tick" {
            3
        } else if ret == rb {
            0
        } else if ret != 0 && memory.data(&store).get(ret as u32 as usize) == Some(&0) {
            1
        } else {
            2
        };
        if std::env::var_os("OPS_DUMP").is_some() {
            eprintln!(
                "{kind}\t{}\t{}",
                copied - called,
                String::from_utf8_lossy(&rec[..rec.len().min(160)])
            );
        }
        kinds[kind].0 += 1;
        kinds[kind].1 += copied - called;
        for b in [tb, rb] {
            if b != 0 {
                let _ = free.call(&mut store, b);
            }
        }
        calls += 1;
        in_func += copied - called;
        in_copies += (before - copied) + (called - fuel(&store));
    }
    let per = |x: u64| x as f64 / calls.max(1) as f64;
    println!(
        "{function}: calls={calls} instructions/call: function {:.0}, host copies {:.0}",
        per(in_func),
        per(in_copies)
    );
    for ((n, f), name) in kinds
        .iter()
        .zip(["unchanged", "dropped", "own record", "heartbeat"])
    {
        println!(
            "  {name}: {n} calls, {:.0} instructions/call",
            *f as f64 / (*n).max(1) as f64
        );
    }
}
