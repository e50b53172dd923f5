//! `bilan`: validation of the spreadsheet returns of the SRDE reporting cycle.
//!
//! Layers, each importing only from the layers above it in this list (see
//! `ARCHITECTURE.md` and `tests/architecture.rs`, which keeps it so):
//!
//! - [`base`]: cell positions, French numbers, dates and words, embedded files;
//! - [`finding`]: findings, severities, statuses and their French words;
//! - [`pipeline`]: one file's bytes → its report, pure: [`pipeline::read`] →
//!   [`pipeline::template`] → [`pipeline::extract`] → [`pipeline::validate`] →
//!   [`pipeline::rules`] → [`pipeline::campaign`] → [`pipeline::justify`],
//!   chained by [`pipeline::check`];
//! - [`outcome`]: what a batch keeps of a file, key figures, wire forms;
//! - [`diff`]: what a resubmission changed;
//! - [`output`]: output names and atomic writes;
//! - [`report`] (with [`docs`] and [`blank`]): printers;
//! - [`job`]: a file's check as a job, in a worker process ([`job::isolate`]);
//! - [`batch`]: many files, cross-file rules;
//! - [`run`] (with [`clap_fr`]): the commands;
//! - [`web`]: the web desk.

pub mod base;
pub mod finding;
pub mod pipeline;

pub mod outcome;

pub mod diff;

pub mod output;

pub mod blank;
pub mod docs;
pub mod report;

pub mod job;

pub mod batch;

pub mod clap_fr;
pub mod run;
#[cfg(feature = "sheetgen")]
pub mod sheetgen;

pub mod web;

// ---------------------------------------------------------------------------
// Transition aliases: the module paths from before the layers, so that code
// written against them (other branches, tests, benches, `main.rs`) still
// compiles. New code uses the paths above. Only the lead removes this block.
pub use base::{embedded, format, model, values};
pub use pipeline::{campaign, extract, justify, read, rules, template, validate};
/// Transition alias of `base::messages` (with the severity and status words now
/// on `finding`'s types, and `read_error` in `pipeline::read::error_fr`).
pub mod messages {
    pub use crate::base::messages::*;
    use crate::finding::{Counts, Severity, Status};
    /// Now [`Severity::label_fr`].
    pub fn severity(s: Severity) -> &'static str {
        s.label_fr()
    }
    /// Now [`Severity::title_fr`].
    pub fn severity_title(s: Severity) -> &'static str {
        s.title_fr()
    }
    /// Now [`Status::label_fr`].
    pub fn status(s: Status) -> &'static str {
        s.label_fr()
    }
    /// Now [`Counts::label_fr`].
    pub fn counts(c: Counts) -> String {
        c.label_fr()
    }
    pub use crate::pipeline::read::error_fr::read_error;
}
/// Transition alias of `pipeline::check` (with the job's types, now in `job`).
pub mod check {
    pub use crate::job::{Checked, Checker, Input, Job};
    pub use crate::pipeline::check::*;
}
/// Transition alias of `job::isolate` (with the worker's side, now in `job::isolate::worker`).
pub mod isolate {
    pub use crate::job::isolate::worker::serve;
    pub use crate::job::isolate::*;
}
// End of the transition aliases.
// ---------------------------------------------------------------------------
