//! Checking files for the desk: the library's [`Checker`] (schemas and compiled
//! rules built once, kept in memory), the isolated reader processes, and one
//! bounded queue shared by every request.
//!
//! At most `workers` files are checked at once; at most `queue` more wait for a
//! slot. A request that finds the queue full gets "serveur occupé, réessayez"
//! (503) at once instead of waiting without end. Stored submissions never get
//! that answer: they wait for a slot (they are already safe on disk).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::Semaphore;

use super::error::WebError;
use super::view::{file_view, FileView};
use crate::job::{Checker, Input, Job};
use crate::pipeline::check::FileReport;

/// A file once checked: what the pages and the API need.
pub struct Checked {
    /// The file's entry of `rapport.json`.
    pub json: Value,
    pub view: FileView,
    /// The report (findings; only the cells of the excerpts).
    pub report: FileReport,
    /// The data read, each value with its cell (`bilan extract`'s JSON), for
    /// the comparison with the next version.
    pub extraction: Option<Value>,
    /// What the cross-file rules read of the return (as `bilan batch` keeps it).
    pub cross: Option<Value>,
}

pub struct Engine {
    checker: Arc<Checker>,
    /// The checker of each campaign (its rules as the campaign sets them), built once.
    campaigns: std::sync::Mutex<std::collections::HashMap<i64, Arc<Checker>>>,
    worker_exe: Option<PathBuf>,
    max_file_size: u64,
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
    running: Arc<AtomicUsize>,
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
    /// `worker_exe`: the program campaign checkers run as isolated workers.
    pub fn new(checker: Checker, workers: usize, queue: usize, worker_exe: Option<PathBuf>) -> Self {
        Self {
            worker_exe,
            max_file_size: checker.limits.max_file_size,
            campaigns: std::sync::Mutex::new(std::collections::HashMap::new()),
            checker: Arc::new(checker),
            slots: Arc::new(Semaphore::new(workers.max(1))),
            waiting: AtomicUsize::new(0),
            running: Arc::new(AtomicUsize::new(0)),
            max_waiting: queue,
        }
    }

    pub fn checker(&self) -> &Arc<Checker> {
        &self.checker
    }

    /// The checker of a campaign: the rules as its `campagne.toml` sets them.
    pub fn for_campaign(&self, id: i64, text: &str) -> Result<Arc<Checker>, WebError> {
        if let Some(c) = self.campaigns.lock().ok().and_then(|m| m.get(&id).cloned()) {
            return Ok(c);
        }
        let checker = Arc::new(load_checker(
            self.worker_exe.clone(),
            self.max_file_size,
            Some(text.to_string()),
        )?);
        if let Ok(mut m) = self.campaigns.lock() {
            m.insert(id, Arc::clone(&checker));
        }
        Ok(checker)
    }

    /// Files being checked now, and files waiting for a reader.
    pub fn load(&self) -> (usize, usize) {
        (self.running.load(Ordering::SeqCst), self.waiting.load(Ordering::SeqCst))
    }

    /// Checks the file at `path` (a path the desk made), calling it `name` in
    /// every report; writes its annotated workbook to `annotated` if given.
    pub async fn check(
        &self,
        checker: Option<Arc<Checker>>,
        path: PathBuf,
        name: String,
        annotated: Option<PathBuf>,
        wait: Wait,
    ) -> Result<Checked, WebError> {
        let before = self.waiting.fetch_add(1, Ordering::SeqCst);
        if wait == Wait::IfRoom && before >= self.max_waiting && self.slots.available_permits() == 0 {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(WebError::Busy);
        }
        let permit = Arc::clone(&self.slots).acquire_owned().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let permit = permit.map_err(|_| WebError::Internal("file de contrôle fermée".into()))?;
        let checker = checker.unwrap_or_else(|| Arc::clone(&self.checker));
        let running = Arc::clone(&self.running);
        running.fetch_add(1, Ordering::SeqCst);
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let result = check_now(&checker, &path, &name, annotated.as_deref());
            running.fetch_sub(1, Ordering::SeqCst);
            result
        });
        task.await
            .map_err(|e| WebError::Internal(format!("contrôle interrompu : {e}")))?
    }
}

impl Engine {
    /// [`Engine::check`] with the annotated workbook returned in memory (it
    /// passes through `tmp`, a folder of the desk, and is removed from it).
    pub async fn check_annotated(
        &self,
        path: PathBuf,
        name: String,
        tmp: &Path,
        wait: Wait,
    ) -> Result<(Checked, Vec<u8>), WebError> {
        let out = tmp.join(format!("annote-{}.xlsx", super::auth::random_token()?));
        let checked = self.check(None, path, name, Some(out.clone()), wait).await;
        let bytes = std::fs::read(&out);
        let _ = std::fs::remove_file(&out);
        let checked = checked?;
        let bytes = bytes
            .map_err(|e| WebError::Internal(format!("classeur annoté illisible : {}", super::error::io_fr(&e))))?;
        Ok((checked, bytes))
    }
}

fn check_now(checker: &Checker, path: &Path, name: &str, annotated: Option<&Path>) -> Result<Checked, WebError> {
    // The bytes go to the isolated worker under the name the user gave.
    let bytes = std::fs::read(path)
        .map_err(|e| WebError::Internal(format!("fichier reçu illisible : {}", super::error::io_fr(&e))))?;
    let input = Input::Bytes {
        name: name.to_string(),
        bytes,
    };
    let job = Job {
        annotated: annotated.map(crate::output::path_to_bytes),
        checked_at: chrono::Utc::now().timestamp(),
        excerpts: true,
        key_rows: true,
        extraction: true,
        cross: true,
        follow_up: None,
        ..Job::default()
    };
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| checker.process(&input, &job)));
    let checked = run.map_err(|_| WebError::Internal("le contrôle a échoué sur une erreur interne".into()))?;
    if let Some(Err(e)) = &checked.annotated {
        return Err(WebError::Internal(format!("classeur annoté non écrit : {e}")));
    }
    let mut report = checked.report;
    report.path = name.to_string();
    let mut view = file_view(&report);
    view.key_rows = checked.key_rows;
    let json = crate::report::json::file_json(&report);
    Ok(Checked {
        json,
        view,
        report,
        extraction: checked.extraction,
        cross: checked.cross,
    })
}

/// The library's checker as the desk uses it: built-in schemas and rules,
/// files read by isolated worker processes (`worker_exe __worker`).
pub fn default_checker(worker_exe: Option<PathBuf>, max_file_size: u64) -> Result<Checker, WebError> {
    load_checker(worker_exe, max_file_size, None)
}

/// A checker with a campaign's rules (`campagne.toml` text), or the built-in ones.
pub fn load_checker(
    worker_exe: Option<PathBuf>,
    max_file_size: u64,
    campaign: Option<String>,
) -> Result<Checker, WebError> {
    let exe = match worker_exe {
        Some(p) => Some(p),
        None => std::env::current_exe().ok(),
    };
    let setup = crate::run::Setup {
        max_file_size: Some(max_file_size),
        isolation: exe,
        campagne_texte: campaign.map(|t| (PathBuf::from("campagne.toml"), t)),
        ..crate::run::Setup::default()
    };
    crate::run::load(&setup).map_err(|e| match e {
        crate::run::RunError::Rule(r) => WebError::Internal(format!("règle invalide : {}", r.message)),
        crate::run::RunError::Campaign(c) => WebError::BadRequest(c.to_string()),
        crate::run::RunError::Message(m) => WebError::Internal(m),
        crate::run::RunError::Interrupted => WebError::Internal("interrompu".into()),
    })
}
