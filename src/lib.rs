//! `bilan`: validation of the spreadsheet returns of the SRDE reporting cycle.
//!
//! The pipeline, one module per stage:
//! [`read`] (workbooks, through calamine) → [`template`] (schemas annotated with
//! where each value sits) → [`extract`] (structured JSON, every value with its
//! cell) → [`validate`] (JSON Schema) → [`rules`] (Rhai scripts) → [`report`]
//! (terminal, JSON). [`check`] runs it for one file.
//!
//! A reporting cycle: [`campaign`] (`campagne.toml`: this year's decisions on the
//! rules, CAMP-001/002), [`justify`] (comply or explain: the `Justifications`
//! sheet), [`diff`] (what a resubmission changed).

pub mod batch;
pub mod blank;
pub mod campaign;
pub mod check;
pub mod clap_fr;
pub mod diff;
pub mod docs;
pub mod embedded;
pub mod extract;
pub mod finding;
pub mod format;
pub mod isolate;
pub mod justify;
pub mod live;
pub mod messages;
pub mod model;
pub mod outcome;
pub mod output;
pub mod read;
pub mod report;
pub mod rules;
pub mod run;
#[cfg(feature = "sheetgen")]
pub mod sheetgen;
pub mod template;
pub mod validate;
pub mod values;
pub mod web;
