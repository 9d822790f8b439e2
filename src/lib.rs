//! gopanic: Go crash reports from container logs, one record per crash.
//!
//! The crate is sans-IO: hosts (the CLI, the Fluent Bit filter) read and
//! write, and pass time in. The pipeline is
//! [`container::Decoder`] (envelopes, partial lines) →
//! [`reassembler::Reassembler`] (per-stream grammar-driven joining, built on
//! [`grammar`]) → [`record`] (JSON records); [`pipeline`] strings them
//! together for hosts that read raw log lines.

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic,
        clippy::unreachable,
        clippy::todo,
        clippy::string_slice
    )
)]

pub mod classify;
pub mod container;
pub mod crash;
pub mod event;
pub mod grammar;
pub mod parse;
pub mod pipeline;
pub mod reassembler;
pub mod record;
pub mod time;

pub use container::{Decoder, Format, LogLine};
pub use crash::Event;
pub use reassembler::{Config, Output, Reassembler, Report};
