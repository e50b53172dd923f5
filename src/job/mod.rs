//! Layer `job`: a file's check as a job. The [`Checker`] runs the pure
//! pipeline in this process or in a worker process ([`isolate`]), and makes
//! what the [`Job`] asks for besides the findings (the annotated workbook, the
//! key figures, the cells of the excerpts).
//!
//! Imports the layers below (`pipeline`, `outcome`, `diff`, `output`,
//! `report`); `batch`, `run` and `web` call it.

pub mod checker;
pub mod isolate;
pub mod spec;

pub use checker::Checker;
pub use spec::{Checked, Input, Job};
