//! See `gopanic_fuzz::log_pipeline`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    gopanic_fuzz::log_pipeline::check(data);
});
