//! What a check produces, below every stage that makes or prints it: the report
//! of one file ([`FileReport`]), and what a batch keeps of each file
//! ([`Summary`]), finds across files ([`BatchFinding`]) or leaves out
//! ([`Skipped`]). Orchestration (`check`, `batch`) fills these; reporters
//! (`report::*`) only read them.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::extract::Extraction;
use crate::finding::{Counts, Finding, Status};
use crate::read::Workbook;

/// The outcome for one file: identity, findings, and what was read.
/// It crosses the boundary of a worker process (without its extraction).
#[derive(Debug, Serialize, Deserialize)]
pub struct FileReport {
    pub path: String,
    pub sha256: Option<String>,
    pub template: Option<String>,
    pub template_version: Option<String>,
    pub organisation: Option<String>,
    pub cut_off: Option<String>,
    pub exercice: Option<String>,
    pub findings: Vec<Finding>,
    pub workbook: Option<Workbook>,
    #[serde(skip)]
    pub extraction: Option<Extraction>,
}

impl FileReport {
    pub fn counts(&self) -> Counts {
        Counts::of(&self.findings)
    }

    pub fn status(&self) -> Status {
        Status::of(self.counts())
    }

    /// A file that could not be checked: one finding, nothing read.
    pub fn failed(path: &str, sha256: Option<String>, finding: Finding) -> Self {
        Self {
            path: path.to_string(),
            sha256,
            template: None,
            template_version: None,
            organisation: None,
            cut_off: None,
            exercice: None,
            findings: vec![finding],
            workbook: None,
            extraction: None,
        }
    }
}

/// A return once checked in a batch: everything the batch outputs need, without
/// its cells.
#[derive(Debug)]
pub struct Summary {
    pub report: FileReport,
    /// Key figures for the template's sheet of the synthesis (rows of values).
    pub key_rows: Vec<Vec<Value>>,
    /// The annotated report, relative to the output folder.
    pub annotated: Option<String>,
    /// What the cross-file rules read of the return (see `batch::cross_data`).
    pub cross: Option<Value>,
}

/// A cross-file finding, with the file it is about (if any).
#[derive(Debug, Clone)]
pub struct BatchFinding {
    pub finding: Finding,
    pub file: Option<String>,
}

impl BatchFinding {
    /// The index of the return the finding is about, when its pointer is
    /// `/returns/<i>/…`.
    pub fn return_index(&self) -> Option<usize> {
        self.finding
            .pointer
            .as_deref()?
            .strip_prefix("/returns/")?
            .split('/')
            .next()?
            .parse()
            .ok()
    }
}

/// A file found under the inputs but not checked, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: String,
}
