//! See `gopanic_fuzz::filter`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    gopanic_fuzz::filter::check(data);
});
