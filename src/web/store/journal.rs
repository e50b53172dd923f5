//! The journal: who did what, when, from where; append only (the schema's
//! triggers refuse any change).

use rusqlite::params;

use super::{now, Result, Store};

/// One line of the journal.
#[derive(Debug, Clone)]
pub struct JournalEntry {
    pub id: i64,
    pub at: String,
    pub who: String,
    pub address: String,
    pub action: String,
    pub detail: String,
}

impl Store {
    /// Adds a line to the journal (never changed afterwards).
    pub fn journal_add(&self, who: &str, address: &str, action: &str, detail: &str) -> Result<()> {
        self.run(
            "INSERT INTO journal (le, qui, adresse, action, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![now(), who, address, action, detail],
        )?;
        Ok(())
    }

    /// The latest `limit` lines, newest first.
    pub fn journal(&self, limit: i64) -> Result<Vec<JournalEntry>> {
        self.all(
            "SELECT id, le, qui, adresse, action, detail FROM journal ORDER BY id DESC LIMIT ?1",
            params![limit],
            |r| {
                Ok(JournalEntry {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    who: r.get(2)?,
                    address: r.get(3)?,
                    action: r.get(4)?,
                    detail: r.get(5)?,
                })
            },
        )
    }
}
