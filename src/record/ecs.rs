//! The ECS profile's members of a report record, as types: only the fields
//! that map honestly. A goroutine is not an OS thread, so
//! `process.thread.id` stays unset. A goroutine dump (SIGQUIT,
//! `debug.Stack`, a pprof dump) shows state, not a failure: no `error.*`
//! and no `event.outcome`; every other report is an error.

use serde::Serialize;

use crate::classify::{Class, Level};
use crate::reassembler::Event;

use super::ECS_VERSION;
use super::go::Verdict;

/// `ecs.version`, on every record of the ECS profile.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct EcsVersion {
    /// [`ECS_VERSION`].
    pub version: &'static str,
}

impl Default for EcsVersion {
    fn default() -> Self {
        EcsVersion {
            version: ECS_VERSION,
        }
    }
}

/// The ECS members of a report record; `T` is the report's text.
#[derive(Debug, Serialize)]
pub struct Ecs<'a, T> {
    /// `ecs.version`.
    pub ecs: EcsVersion,
    /// `log.level`: the level (no top-level `level`).
    pub log: EcsLog,
    /// `event.*`.
    pub event: EcsEvent,
    /// `error.*`, except on goroutine dumps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<EcsError<'a, T>>,
}

/// `log.level`.
#[derive(Debug, Serialize)]
pub struct EcsLog {
    /// The report's level.
    pub level: Level,
}

/// `event.*`.
#[derive(Debug, Serialize)]
pub struct EcsEvent {
    /// `event`.
    pub kind: &'static str,
    /// `web` for `http: panic serving`, else `process`.
    pub category: [&'static str; 1],
    /// What ECS expects per category: `web` takes `error`; `process`
    /// takes `end` when fatal, `info` when the process goes on.
    #[serde(rename = "type")]
    pub kind_of: [&'static str; 1],
    /// `failure`, except on goroutine dumps (not set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<&'static str>,
}

/// `error.*`.
#[derive(Debug, Serialize)]
pub struct EcsError<'a, T> {
    /// `go.message`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'a str>,
    /// `go.class`.
    #[serde(rename = "type")]
    pub class: Class,
    /// The report's text; the first thing a record byte bound drops.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack_trace: Option<T>,
}

impl<'a, T> Ecs<'a, T> {
    /// The ECS members of a report with this verdict.
    pub fn of(
        event: Event,
        verdict: &Verdict,
        level: Level,
        message: Option<&'a str>,
        text: T,
    ) -> Self {
        let http = event == Event::HttpPanic;
        let is_error = verdict.class != Class::GoroutineDump;
        let (category, kind_of) = match (http, verdict.fatal) {
            (true, _) => ("web", "error"),
            (false, true) => ("process", "end"),
            (false, false) => ("process", "info"),
        };
        Ecs {
            ecs: EcsVersion::default(),
            log: EcsLog { level },
            event: EcsEvent {
                kind: "event",
                category: [category],
                kind_of: [kind_of],
                outcome: is_error.then_some("failure"),
            },
            error: is_error.then(|| EcsError {
                message,
                class: verdict.class,
                stack_trace: Some(text),
            }),
        }
    }
}
