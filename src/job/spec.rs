//! What a job asks for a file and what it gets back (moved from `check`).

use crate::pipeline::check::FileReport;

/// A file to check: on disk (its path's bytes go to the worker as they are, so
/// names that are not UTF-8 work), or in memory (an upload).
#[derive(Debug, Clone)]
pub enum Input {
    Path(std::path::PathBuf),
    Bytes { name: String, bytes: Vec<u8> },
}

impl Input {
    /// How reports call the file.
    pub fn shown(&self) -> String {
        match self {
            Input::Path(p) => crate::output::path_text(p),
            Input::Bytes { name, .. } => name.clone(),
        }
    }
}

/// What to produce for a file besides its findings; all of it is made where
/// the file is checked (in the worker process when isolated).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Job {
    /// Write the annotated workbook here (as the bytes of a path).
    pub annotated: Option<Vec<u8>>,
    /// The time of the check, for the annotated workbook (seconds since 1970).
    pub checked_at: i64,
    /// Keep the cells that terminal excerpts show (`FileReport::workbook`,
    /// pruned to the rows around each finding).
    pub excerpts: bool,
    /// Compute the key figures of the synthesis.
    pub key_rows: bool,
    /// Keep what `bilan extract` prints.
    pub extraction: bool,
    /// `bilan diff --report`: the comparison with the previous submission (and
    /// how it is named), for the annotated workbook's follow-up.
    #[serde(default)]
    pub follow_up: Option<(crate::diff::Diff, String)>,
    /// Keep what the cross-file rules read of the return (its template's
    /// `x-template.cross_file` values, their cells and stated precision): a
    /// batch, or a `check` of several files.
    #[serde(default)]
    pub cross: bool,
    /// Cross-file findings about this file, to show in its annotated workbook
    /// (the second pass of a run whose cross-file rules found something here).
    #[serde(default)]
    pub extra_findings: Vec<crate::finding::Finding>,
}

impl Job {
    pub fn follow_up(&self) -> Option<crate::report::xlsx::FollowUp<'_>> {
        self.follow_up
            .as_ref()
            .map(|(diff, previous)| crate::report::xlsx::FollowUp { diff, previous })
    }
}

/// A checked file: its report and what the [`Job`] asked for.
#[derive(Debug)]
pub struct Checked {
    pub report: FileReport,
    pub key_rows: Vec<Vec<serde_json::Value>>,
    /// `None`: not asked; `Some(Err(message))`: the annotated workbook could
    /// not be written (BILAN-OUT-001 for the caller to report).
    pub annotated: Option<Result<(), String>>,
    /// `bilan extract`'s JSON.
    pub extraction: Option<serde_json::Value>,
    /// What the cross-file rules read of the return ([`Job::cross`]).
    pub cross: Option<serde_json::Value>,
}
