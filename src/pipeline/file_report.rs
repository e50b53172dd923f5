//! What the pipeline produces for one file (moved from `outcome`, so that the
//! pure pipeline does not import a layer above it).

use serde::{Deserialize, Serialize};

use crate::finding::{Counts, Finding, Status};
use crate::pipeline::extract::Extraction;
use crate::pipeline::read::Workbook;

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
