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
    /// The reviewers' decision on this return (web desk exports; `None` on the
    /// command line, where nobody reviews).
    pub review: Option<Review>,
}

/// Where the Region's review of a return stands, as the desk records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    /// `acceptee` or `a_corriger`; `None` while waiting for a decision.
    pub decision: Option<String>,
    pub comment: String,
    pub reviewer: String,
    /// When it was decided (RFC 3339, UTC).
    pub decided_at: Option<String>,
}

impl Review {
    /// `Acceptée`, `À corriger`, `En attente de décision`.
    pub fn label_fr(&self) -> &'static str {
        match self.decision.as_deref() {
            Some("acceptee") => "Acceptée",
            Some("a_corriger") => "À corriger",
            Some(_) => "Décision inconnue",
            None => "En attente de décision",
        }
    }

    /// `À corriger — « Ligne 7 à revoir » (marie, 07/12/2026 à 16:28)`.
    pub fn describe_fr(&self) -> String {
        let mut out = self.label_fr().to_string();
        if !self.comment.is_empty() {
            out.push_str(&format!(" — « {} »", self.comment));
        }
        let when = self
            .decided_at
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| crate::messages::checked_at(t.with_timezone(&chrono::Utc)));
        match (self.reviewer.is_empty(), when) {
            (false, Some(w)) => out.push_str(&format!(" ({}, {w})", self.reviewer)),
            (false, None) => out.push_str(&format!(" ({})", self.reviewer)),
            (true, Some(w)) => out.push_str(&format!(" ({w})")),
            (true, None) => {}
        }
        out
    }

    /// The `review` object of a file in `rapport.json`.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "decision": self.decision,
            "comment": self.comment,
            "reviewer": self.reviewer,
            "decided_at": self.decided_at,
        })
    }
}

/// A cross-file finding, with the file it is about (if any).
#[derive(Debug, Clone)]
pub struct BatchFinding {
    pub finding: Finding,
    pub file: Option<String>,
}

/// A file found under the inputs but not checked, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: String,
}
