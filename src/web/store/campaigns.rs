//! Campaigns, their expected returns (each with its submitter's token), and
//! the dashboard's rows.

use std::collections::HashMap;

use rusqlite::params;
use serde::Serialize;

use super::submissions::{decision_row, submission_row, DECISION_COLUMNS, SUBMISSION_COLUMNS};
use super::{now, Decision, Result, Store, StoreError, Submission};

#[derive(Debug, Clone, Serialize)]
pub struct Campaign {
    pub id: i64,
    pub nom: String,
    pub exercice: Option<i64>,
    pub date_arrete: Option<String>,
    pub fichier: String,
    pub sha256: String,
    pub creee_le: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Expected {
    pub id: i64,
    pub campagne_id: i64,
    pub modele: String,
    pub organisation: String,
    pub jeton: String,
}

/// One row of the dashboard: an expected return, its latest submission and decision.
#[derive(Debug, Clone)]
pub struct DashboardRow {
    pub expected: Expected,
    pub latest: Option<Submission>,
    pub decision: Option<Decision>,
    pub versions: i64,
}

const CAMPAIGN_COLUMNS: &str = "id, nom, exercice, date_arrete, fichier, sha256, creee_le";
const EXPECTED_COLUMNS: &str = "id, campagne_id, modele, organisation, jeton";

fn campaign_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Campaign> {
    Ok(Campaign {
        id: r.get(0)?,
        nom: r.get(1)?,
        exercice: r.get(2)?,
        date_arrete: r.get(3)?,
        fichier: r.get(4)?,
        sha256: r.get(5)?,
        creee_le: r.get(6)?,
    })
}

fn expected_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Expected> {
    Ok(Expected {
        id: r.get(0)?,
        campagne_id: r.get(1)?,
        modele: r.get(2)?,
        organisation: r.get(3)?,
        jeton: r.get(4)?,
    })
}

impl Store {
    pub fn add_campaign(
        &self,
        nom: &str,
        exercice: Option<i64>,
        date_arrete: Option<&str>,
        fichier: &str,
        sha256: &str,
    ) -> Result<i64> {
        self.insert(
            "INSERT INTO campagnes (nom, exercice, date_arrete, fichier, sha256, creee_le) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![nom, exercice, date_arrete, fichier, sha256, now()],
        )
    }

    pub fn campaigns(&self) -> Result<Vec<Campaign>> {
        self.all(
            &format!("SELECT {CAMPAIGN_COLUMNS} FROM campagnes ORDER BY id DESC"),
            [],
            campaign_row,
        )
    }

    pub fn campaign(&self, id: i64) -> Result<Option<Campaign>> {
        self.one(
            &format!("SELECT {CAMPAIGN_COLUMNS} FROM campagnes WHERE id = ?1"),
            params![id],
            campaign_row,
        )
    }

    /// Adds an expected return (or returns the existing one: same template and organisation).
    pub fn add_expected(&self, campaign: i64, modele: &str, organisation: &str, jeton: &str) -> Result<i64> {
        self.run(
            "INSERT OR IGNORE INTO attendus (campagne_id, modele, organisation, jeton) VALUES (?1, ?2, ?3, ?4)",
            params![campaign, modele, organisation, jeton],
        )?;
        self.one(
            "SELECT id FROM attendus WHERE campagne_id = ?1 AND modele = ?2 AND organisation = ?3",
            params![campaign, modele, organisation],
            |r| r.get(0),
        )?
        .ok_or(StoreError::NotFound("retour attendu"))
    }

    pub fn expected_by_token(&self, jeton: &str) -> Result<Option<Expected>> {
        self.one(
            &format!("SELECT {EXPECTED_COLUMNS} FROM attendus WHERE jeton = ?1"),
            params![jeton],
            expected_row,
        )
    }

    pub fn expected(&self, id: i64) -> Result<Option<Expected>> {
        self.one(
            &format!("SELECT {EXPECTED_COLUMNS} FROM attendus WHERE id = ?1"),
            params![id],
            expected_row,
        )
    }

    /// The latest row of `table` (`depots`, `decisions`) for each expected
    /// return of a campaign.
    fn latest_of<T>(
        &self,
        campaign: i64,
        table: &'static str,
        columns: &str,
        row: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        self.all(
            &format!(
                "SELECT {columns} FROM {table} WHERE id IN \
                 (SELECT MAX(x.id) FROM {table} x JOIN attendus a ON a.id = x.attendu_id \
                 WHERE a.campagne_id = ?1 GROUP BY x.attendu_id)"
            ),
            params![campaign],
            row,
        )
    }

    /// Every expected return of a campaign with its latest submission and
    /// decision. A row the desk cannot read (an unknown word) is an error.
    pub fn dashboard(&self, campaign: i64) -> Result<Vec<DashboardRow>> {
        let expected = self.all(
            &format!("SELECT {EXPECTED_COLUMNS} FROM attendus WHERE campagne_id = ?1 ORDER BY modele, organisation"),
            params![campaign],
            expected_row,
        )?;
        let mut latest: HashMap<i64, Submission> = self
            .latest_of(campaign, "depots", SUBMISSION_COLUMNS, submission_row)?
            .into_iter()
            .map(|s| (s.attendu_id, s))
            .collect();
        let mut decisions: HashMap<i64, Decision> = self
            .latest_of(campaign, "decisions", DECISION_COLUMNS, decision_row)?
            .into_iter()
            .map(|d| (d.attendu_id, d))
            .collect();
        let versions: HashMap<i64, i64> = self
            .all(
                "SELECT d.attendu_id, COUNT(*) FROM depots d JOIN attendus a ON a.id = d.attendu_id \
                 WHERE a.campagne_id = ?1 GROUP BY d.attendu_id",
                params![campaign],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
            .into_iter()
            .collect();
        Ok(expected
            .into_iter()
            .map(|e| DashboardRow {
                latest: latest.remove(&e.id),
                decision: decisions.remove(&e.id),
                versions: versions.get(&e.id).copied().unwrap_or(0),
                expected: e,
            })
            .collect())
    }
}
