//! Checking files for the desk: the library's [`Checker`] (schemas and compiled
//! rules built once, kept in memory), the isolated reader processes, and one
//! bounded queue shared by every request.
//!
//! At most `workers` files are checked at once; at most `queue` more wait for a
//! slot. A request that finds the queue full gets "serveur occupé, réessayez"
//! (503) at once instead of waiting without end. Stored submissions never get
//! that answer: they wait for a slot (they are already safe on disk).

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::Semaphore;

use super::error::WebError;
use super::view::{file_view, FileView};
use crate::check::{Checker, FileReport};

/// A file once checked: what the pages and the API need.
pub struct Checked {
    /// The file's entry of `rapport.json`.
    pub json: Value,
    pub view: FileView,
    /// The annotated workbook, when asked for.
    pub annotated: Option<Vec<u8>>,
    /// The report itself, cells included (for the comparison between versions).
    pub report: FileReport,
}

pub struct Engine {
    checker: Arc<Checker>,
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
}

/// Whether a request may wait for a slot when the queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Answer "serveur occupé" when the queue is full.
    IfRoom,
    /// Wait whatever the queue (stored submissions).
    Always,
}

impl Engine {
    pub fn new(checker: Checker, workers: usize, queue: usize) -> Self {
        Self {
            checker: Arc::new(checker),
            slots: Arc::new(Semaphore::new(workers.max(1))),
            waiting: AtomicUsize::new(0),
            max_waiting: queue,
        }
    }

    pub fn checker(&self) -> &Arc<Checker> {
        &self.checker
    }

    /// Checks the file at `path` (a path the desk made), calling it `name` in
    /// every report.
    pub async fn check(&self, path: PathBuf, name: String, annotated: bool, wait: Wait) -> Result<Checked, WebError> {
        let before = self.waiting.fetch_add(1, Ordering::SeqCst);
        if wait == Wait::IfRoom && before >= self.max_waiting && self.slots.available_permits() == 0 {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(WebError::Busy);
        }
        let permit = Arc::clone(&self.slots).acquire_owned().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let permit = permit.map_err(|_| WebError::Internal("file de contrôle fermée".into()))?;
        let checker = Arc::clone(&self.checker);
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            check_now(&checker, &path, &name, annotated)
        });
        task.await
            .map_err(|e| WebError::Internal(format!("contrôle interrompu : {e}")))?
    }
}

fn check_now(checker: &Checker, path: &std::path::Path, name: &str, annotated: bool) -> Result<Checked, WebError> {
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut report = checker.check_path(path);
        report.path = name.to_string();
        report
    }));
    let report = match run {
        Ok(r) => r,
        Err(_) => FileReport::failed(
            name,
            None,
            crate::finding::Finding::new(
                "BILAN-IO-001",
                crate::finding::Severity::Error,
                "Le contrôle de ce fichier a échoué sur une erreur interne. Signalez ce fichier à l'équipe bilan.",
            ),
        ),
    };
    let mut view = file_view(&report, &|_| None);
    view.key_rows = crate::batch::key_rows(&checker.templates, &report);
    let json = crate::report::json::file_json(&report);
    let annotated = if annotated {
        let at = super::storage::now();
        Some(
            crate::report::xlsx::write_report(&report, &checker.rules, &at)
                .map_err(|e| WebError::Internal(format!("classeur annoté impossible : {e}")))?,
        )
    } else {
        None
    };
    Ok(Checked {
        json,
        view,
        annotated,
        report,
    })
}
