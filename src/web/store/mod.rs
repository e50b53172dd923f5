//! Everything the desk keeps: one SQLite database (WAL) in the data folder, and
//! the submitted files named by their SHA-256. All SQL of the desk is in this
//! module, split by what each part owns:
//!
//! - [`schema`]: the numbered migrations;
//! - [`kinds`]: the typed words stored in columns (submission states,
//!   verdicts, decisions), each with a `CHECK` constraint in the schema;
//! - [`accounts`]: reviewers, sessions, one-time set-up links, API keys;
//! - [`journal`]: the append-only journal;
//! - [`campaigns`]: campaigns, expected returns, the dashboard's rows;
//! - [`submissions`]: submissions, their checks, decisions.
//!
//! The store has its own error, [`StoreError`]; `web::error` turns it into a
//! response in one place.

pub mod accounts;
pub mod campaigns;
pub mod journal;
pub mod kinds;
mod schema;
pub mod submissions;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, Params, Row};

pub use accounts::{Account, ApiKey, Reviewer};
pub use campaigns::{Campaign, DashboardRow, Expected};
pub use journal::JournalEntry;
pub use kinds::{DecisionKind, SubmissionState, UnknownValue};
pub use submissions::{CheckResult, Decision, Submission};

/// Why the store could not do what was asked. Its French text is what the
/// desk shows (through `WebError`).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database or the disk under it is full (507).
    #[error("base de données : espace disque épuisé")]
    DiskFull,
    /// What was asked for does not exist.
    #[error("{0} introuvable")]
    NotFound(&'static str),
    /// What was to be added exists already (an account's login…).
    #[error("{0}")]
    Conflict(String),
    /// A value in the database that the desk does not know (a row written
    /// by something else): an error, never a guess.
    #[error(transparent)]
    Unknown(#[from] UnknownValue),
    /// Any other error of SQLite.
    #[error("base de données : {0}")]
    Database(rusqlite::Error),
    /// Another request panicked while holding the connection.
    #[error("base de données indisponible")]
    Unavailable,
    /// A folder of the data directory cannot be made.
    #[error("création du dossier {} impossible : {}", .path.display(), crate::base::messages::io_error(.source))]
    Folder { path: PathBuf, source: std::io::Error },
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DiskFull => StoreError::DiskFull,
            rusqlite::Error::FromSqlConversionFailure(column, kind, source) => {
                match source.downcast::<UnknownValue>() {
                    Ok(unknown) => StoreError::Unknown(*unknown),
                    Err(source) => {
                        StoreError::Database(rusqlite::Error::FromSqlConversionFailure(column, kind, source))
                    }
                }
            }
            e => StoreError::Database(e),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The database of the desk.
pub struct Store {
    conn: Mutex<Connection>,
    data: PathBuf,
}

/// A time as stored (`2026-12-07T16:28:03Z`, UTC).
pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `seconds` from now, as stored.
fn later(seconds: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(seconds))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

impl Store {
    /// Opens (or creates) the database in `data` and runs the migrations.
    pub fn open(data: &Path) -> Result<Self> {
        for sub in ["fichiers", "rapports", "tmp"] {
            let path = data.join(sub);
            std::fs::create_dir_all(&path).map_err(|source| StoreError::Folder { path, source })?;
        }
        // Leftovers of uploads interrupted by a stop: never a submission (the
        // row is written after the file is in place).
        if let Ok(entries) = std::fs::read_dir(data.join("tmp")) {
            for e in entries.flatten() {
                let _ = std::fs::remove_file(e.path());
            }
        }
        let mut conn = Connection::open(data.join("bilan.sqlite3"))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        schema::migrate(&mut conn)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let store = Self {
            conn: Mutex::new(conn),
            data: data.to_path_buf(),
        };
        store.remove_orphans();
        Ok(store)
    }

    /// Stored files no row points to (a request that failed between the file
    /// and its row, a stop): removed, so that nothing half-kept survives.
    fn remove_orphans(&self) {
        let Ok(known) = self.all("SELECT chemin FROM depots", [], |r| r.get::<_, String>(0)) else {
            return;
        };
        let known: std::collections::HashSet<String> = known.into_iter().collect();
        let root = self.data.join("fichiers");
        let Ok(dirs) = std::fs::read_dir(&root) else { return };
        for dir in dirs.flatten() {
            let Ok(files) = std::fs::read_dir(dir.path()) else {
                continue;
            };
            for f in files.flatten() {
                let relative = format!(
                    "fichiers/{}/{}",
                    dir.file_name().to_string_lossy(),
                    f.file_name().to_string_lossy()
                );
                if !known.contains(&relative) {
                    let _ = std::fs::remove_file(f.path());
                }
            }
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>> {
        self.conn.lock().map_err(|_| StoreError::Unavailable)
    }

    /// One row (or none) of a query.
    fn one<T>(
        &self,
        sql: &str,
        params: impl Params,
        row: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>> {
        Ok(self.lock()?.query_row(sql, params, row).optional()?)
    }

    /// Every row of a query.
    fn all<T>(
        &self,
        sql: &str,
        params: impl Params,
        row: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let conn = self.lock()?;
        let mut st = conn.prepare(sql)?;
        let rows = st.query_map(params, row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Runs one statement; returns the rows it changed.
    fn run(&self, sql: &str, params: impl Params) -> Result<usize> {
        Ok(self.lock()?.execute(sql, params)?)
    }

    /// Inserts one row; returns its id.
    fn insert(&self, sql: &str, params: impl Params) -> Result<i64> {
        let conn = self.lock()?;
        conn.execute(sql, params)?;
        Ok(conn.last_insert_rowid())
    }

    /// Several statements about one reviewer, in one transaction.
    fn for_reviewer(&self, reviewer: i64, statements: &[&str]) -> Result<()> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        for sql in statements {
            tx.execute(sql, [reviewer])?;
        }
        Ok(tx.commit()?)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// Where a stored file or report lives (paths made by the desk only).
    pub fn path_of(&self, relative: &str) -> PathBuf {
        self.data.join(relative)
    }
}
