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
