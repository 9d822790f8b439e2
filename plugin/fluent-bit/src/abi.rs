//! The exports Fluent Bit's `wasm` filter calls (JSON event format):
//! `NAME(tag, tag_len, time_sec, time_nsec, record, record_len) -> *const u8`,
//! plus `malloc`/`free`, which WAMR then uses to copy records of any size
//! into module memory (without them it uses a fixed app heap of
//! `wasm_heap_size` and large records arrive as NULL).

use std::alloc::{Layout, alloc, dealloc};
use std::cell::{Cell, UnsafeCell};

use crate::{Function, Module, Reply};

/// The module instance's state. Fluent Bit calls a filter from its engine
/// thread only, never concurrently, and wasm32 here has no threads.
struct Slot {
    /// Set during a call: still set at the next call means that call
    /// trapped half-way and left the state inconsistent.
    busy: Cell<bool>,
    module: UnsafeCell<Option<Module>>,
}

// SAFETY: single-threaded target (wasm32 without shared memory), and the
// host never re-enters the module.
unsafe impl Sync for Slot {}

static SLOT: Slot = Slot {
    busy: Cell::new(false),
    module: UnsafeCell::new(None),
};

fn call(
    function: Function,
    tag: *const u8,
    tag_len: u32,
    time_sec: u32,
    time_nsec: u32,
    record: *const u8,
    record_len: u32,
) -> *const u8 {
    let trapped = SLOT.busy.replace(true);
    // SAFETY: see `Slot`; no other reference to the module exists.
    let slot = unsafe { &mut *SLOT.module.get() };
    if trapped {
        // Do not touch the broken state beyond counting what it held.
        let lost = slot
            .as_ref()
            .and_then(|m| m.filter())
            .map_or(0, |f| f.held_lines());
        if let Some(old) = slot.take() {
            std::mem::forget(old);
        }
        let mut fresh = Module::new();
        fresh.note_reset(lost);
        *slot = Some(fresh);
    }
    let module = slot.get_or_insert_with(Module::new);
    // SAFETY: the host copied `len` bytes and a NUL to each non-NULL
    // pointer (`wasm_runtime_module_dup_data(data, len + 1)`).
    let tag =
        (!tag.is_null()).then(|| unsafe { std::slice::from_raw_parts(tag, tag_len as usize) });
    // SAFETY: the host's copy holds a NUL after the `len` bytes.
    let record_nul = !record.is_null() && unsafe { *record.add(record_len as usize) } == 0;
    let input = record;
    let record = (!record.is_null())
        .then(|| unsafe { std::slice::from_raw_parts(record, record_len as usize) });
    let out = match module.call(function, tag, time_sec, time_nsec, record, record_nul) {
        Reply::Input => input,
        Reply::Own(bytes) => bytes.as_ptr(),
    };
    SLOT.busy.set(false);
    out
}

/// Enriches records whose `log`/`message` holds a joined crash report.
///
/// # Safety
/// Called by the host with pointers to `len` readable bytes followed by a
/// NUL (its copies), or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gopanic_enrich(
    tag: *const u8,
    tag_len: u32,
    time_sec: u32,
    time_nsec: u32,
    record: *const u8,
    record_len: u32,
) -> *const u8 {
    call(
        Function::Enrich,
        tag,
        tag_len,
        time_sec,
        time_nsec,
        record,
        record_len,
    )
}

/// Joins one-line records into crash reports (Fluent Bit ≥ 4.1.2).
///
/// # Safety
/// As [`gopanic_enrich`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gopanic_reassemble(
    tag: *const u8,
    tag_len: u32,
    time_sec: u32,
    time_nsec: u32,
    record: *const u8,
    record_len: u32,
) -> *const u8 {
    call(
        Function::Reassemble,
        tag,
        tag_len,
        time_sec,
        time_nsec,
        record,
        record_len,
    )
}

/// Returns every record unchanged (a baseline for cost measurements).
///
/// # Safety
/// As [`gopanic_enrich`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gopanic_passthrough(
    tag: *const u8,
    tag_len: u32,
    time_sec: u32,
    time_nsec: u32,
    record: *const u8,
    record_len: u32,
) -> *const u8 {
    call(
        Function::Passthrough,
        tag,
        tag_len,
        time_sec,
        time_nsec,
        record,
        record_len,
    )
}

/// Allocation header: the size, so that `free` can rebuild the layout.
const HEADER: usize = 8;

/// Host copies up to this size (header included) are kept for reuse when
/// freed.
const SPARE_MAX: usize = 64 * 1024;

/// Blocks of freed host copies, as (base, size); size 0 is an empty slot.
///
/// The host copies the tag and the record into the module before every
/// call and frees both after it. Through the allocator that cost ~530
/// interpreted instructions a call, more than the fast path of an ordinary
/// line, and more still once the heap holds a report's lines. Sizes are
/// rounded up to a multiple of [`SPARE_STEP`], so that the next call's
/// copies (a tag of the same length, a record of about the same) take a
/// kept block as it is. At most four blocks of at most [`SPARE_MAX`] are
/// kept.
struct Spares(UnsafeCell<[(*mut u8, usize); 4]>);

/// Rounding of kept block sizes.
const SPARE_STEP: usize = 256;

// SAFETY: single-threaded target, as for `Slot`.
unsafe impl Sync for Spares {}

static SPARES: Spares = Spares(UnsafeCell::new([(std::ptr::null_mut(), 0); 4]));

/// `malloc(size) -> ptr`, for the host's copies of tag and record. Returns
/// 0 when memory cannot grow.
#[unsafe(no_mangle)]
pub extern "C" fn malloc(size: usize) -> *mut u8 {
    let Some(total) = size
        .checked_add(HEADER + SPARE_STEP - 1)
        .map(|n| n / SPARE_STEP * SPARE_STEP)
    else {
        return std::ptr::null_mut();
    };
    // SAFETY: single-threaded, and no other reference to it is alive.
    let spares = unsafe { &mut *SPARES.0.get() };
    // A kept block that fits, unless it is more than twice what is asked.
    let fit = spares
        .iter_mut()
        .find(|(_, have)| *have >= total && *have <= total * 2);
    let (base, total) = match fit {
        Some(slot) => std::mem::replace(slot, (std::ptr::null_mut(), 0)),
        None => {
            let Ok(layout) = Layout::from_size_align(total, HEADER) else {
                return std::ptr::null_mut();
            };
            // SAFETY: `layout` has a non-zero size.
            (unsafe { alloc(layout) }, total)
        }
    };
    if base.is_null() {
        return base;
    }
    // SAFETY: `base` points to `total >= HEADER` bytes aligned to 8.
    unsafe {
        base.cast::<usize>().write(total);
        base.add(HEADER)
    }
}

/// `free(ptr)` for pointers from [`malloc`]; NULL is ignored.
///
/// # Safety
/// `ptr` must come from [`malloc`] and not be freed twice.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn free(ptr: *mut u8) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: `malloc` put the total size HEADER bytes before `ptr`.
    unsafe {
        let base = ptr.sub(HEADER);
        let total = base.cast::<usize>().read();
        if total <= SPARE_MAX {
            let spares = &mut *SPARES.0.get();
            if let Some(slot) = spares.iter_mut().find(|(_, have)| *have == 0) {
                *slot = (base, total);
                return;
            }
        }
        if let Ok(layout) = Layout::from_size_align(total, HEADER) {
            dealloc(base, layout);
        }
    }
}

/// `memcmp`, in place of the builtin one, which compares a byte at a time:
/// about ten interpreted instructions a byte, and every line of a stream
/// holding a report compares its stream's name (the tag and more, ~80
/// bytes) a few times. This one compares eight bytes at a time.
///
/// # Safety
/// `a` and `b` must point to `n` readable bytes each.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: `i + 8 <= n` bytes are readable from each.
        let (x, y) = unsafe {
            (
                a.add(i).cast::<u64>().read_unaligned(),
                b.add(i).cast::<u64>().read_unaligned(),
            )
        };
        if x != y {
            // Little-endian: the lowest differing byte comes first.
            let shift = (x ^ y).trailing_zeros() / 8 * 8;
            return i32::from((x >> shift) as u8) - i32::from((y >> shift) as u8);
        }
        i += 8;
    }
    while i < n {
        // SAFETY: `i < n`.
        let (x, y) = unsafe { (*a.add(i), *b.add(i)) };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
        i += 1;
    }
    0
}
