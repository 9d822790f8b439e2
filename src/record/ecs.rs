//! The ECS profile's members of a report record, as types: only the fields
//! that map honestly. A goroutine is not an OS thread, so
//! `process.thread.id` stays unset. A goroutine dump (SIGQUIT,
//! `debug.Stack`, a pprof dump) shows state, not a failure: no `error.*`
//! and no `event.outcome`; every other report is an error.

use serde::Serialize;

use crate::classify::{Class, Level};
use crate::crash::Event;

use super::ECS_VERSION;
use super::go::Verdict;

/// `ecs.version`, on every record of the ECS profile.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct EcsVersion {
    /// `9.4.0` ([`ECS_VERSION`]), the version whose field list the test
    /// suite checks the records against; on every record.
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
    /// The ECS version.
    pub ecs: EcsVersion,
    /// ECS's `log` object (the text is in `message`).
    pub log: EcsLog,
    /// What kind of event.
    pub event: EcsEvent,
    /// What went wrong; not on goroutine dumps (a dump is not an error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<EcsError<'a, T>>,
}

/// `log.level`.
#[derive(Debug, Serialize)]
pub struct EcsLog {
    /// The report's level (no top-level `level` in this profile).
    pub level: Level,
}

/// `event.*`.
#[derive(Debug, Serialize)]
pub struct EcsEvent {
    /// Always `event`.
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
    /// Copy of `go.message`; dropped with it (`go.cut`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'a str>,
    /// Copy of `go.class`.
    #[serde(rename = "type")]
    pub class: Class,
    /// The report's text (a copy of `message`); the first thing a record
    /// byte bound drops.
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
