//! The checks the fuzz targets run, one module per target. The modules are
//! also compiled into the project's own test suites (`#[path]`), which
//! replay the saved findings under `tests/fuzz-regressions/` on the stable
//! toolchain.

pub mod filter;
pub mod json_scan;
pub mod log_pipeline;
pub mod replay;
