//! See `gopanic_fuzz::json_scan`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    gopanic_fuzz::json_scan::check(data);
});
