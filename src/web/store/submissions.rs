//! Submissions (stored before they are checked), the result of their check,
//! and the reviewers' decisions.

use rusqlite::params;
use serde::Serialize;

use super::kinds::{DecisionKind, Status, SubmissionState};
use super::{now, Result, Store, StoreError};

#[derive(Debug, Clone, Serialize)]
pub struct Submission {
    pub id: i64,
    pub attendu_id: i64,
    pub nom_fichier: String,
    pub sha256: String,
    pub chemin: String,
    pub taille: i64,
    pub recu_le: String,
    pub etat: SubmissionState,
    pub controle_le: Option<String>,
    pub statut: Option<Status>,
    pub erreurs: Option<i64>,
    pub avertissements: Option<i64>,
    pub informations: Option<i64>,
    pub justifies: Option<i64>,
    pub modele: Option<String>,
    pub organisation: Option<String>,
    pub rapport: Option<String>,
    pub vue: Option<String>,
    pub suivi: Option<String>,
    pub donnees: Option<String>,
}

impl Submission {
    pub fn is_checked(&self) -> bool {
        self.etat == SubmissionState::Checked
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub id: i64,
    pub attendu_id: i64,
    pub depot_id: Option<i64>,
    pub decision: DecisionKind,
    pub commentaire: String,
    pub relecteur: String,
    pub decide_le: String,
}

impl Decision {
    /// `Acceptée`, `À corriger`.
    pub fn label(&self) -> &'static str {
        self.decision.label_fr()
    }
}

/// What a check gives, to be recorded on the submission.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub statut: Status,
    pub erreurs: i64,
    pub avertissements: i64,
    pub informations: i64,
    pub justifies: i64,
    pub modele: Option<String>,
    pub organisation: Option<String>,
    pub rapport: String,
    pub vue: String,
    pub suivi: Option<String>,
    pub donnees: Option<String>,
}

pub(super) const SUBMISSION_COLUMNS: &str =
    "id, attendu_id, nom_fichier, sha256, chemin, taille, recu_le, etat, controle_le, statut, \
     erreurs, avertissements, informations, justifies, modele, organisation, rapport, vue, suivi, donnees";

pub(super) const DECISION_COLUMNS: &str = "id, attendu_id, depot_id, decision, commentaire, relecteur, decide_le";

pub(super) fn submission_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Submission> {
    Ok(Submission {
        id: r.get(0)?,
        attendu_id: r.get(1)?,
        nom_fichier: r.get(2)?,
        sha256: r.get(3)?,
        chemin: r.get(4)?,
        taille: r.get(5)?,
        recu_le: r.get(6)?,
        etat: r.get(7)?,
        controle_le: r.get(8)?,
        statut: r.get(9)?,
        erreurs: r.get(10)?,
        avertissements: r.get(11)?,
        informations: r.get(12)?,
        justifies: r.get(13)?,
        modele: r.get(14)?,
        organisation: r.get(15)?,
        rapport: r.get(16)?,
        vue: r.get(17)?,
        suivi: r.get(18)?,
        donnees: r.get(19)?,
    })
}

pub(super) fn decision_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Decision> {
    Ok(Decision {
        id: r.get(0)?,
        attendu_id: r.get(1)?,
        depot_id: r.get(2)?,
        decision: r.get(3)?,
        commentaire: r.get(4)?,
        relecteur: r.get(5)?,
        decide_le: r.get(6)?,
    })
}

impl Store {
    pub fn add_submission(
        &self,
        expected: i64,
        nom_fichier: &str,
        sha256: &str,
        chemin: &str,
        taille: i64,
    ) -> Result<i64> {
        self.insert(
            "INSERT INTO depots (attendu_id, nom_fichier, sha256, chemin, taille, recu_le, etat) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                expected,
                nom_fichier,
                sha256,
                chemin,
                taille,
                now(),
                SubmissionState::Pending
            ],
        )
    }

    pub fn submission(&self, id: i64) -> Result<Option<Submission>> {
        self.one(
            &format!("SELECT {SUBMISSION_COLUMNS} FROM depots WHERE id = ?1"),
            params![id],
            submission_row,
        )
    }

    /// Submissions of an expected return, newest first.
    pub fn submissions(&self, expected: i64) -> Result<Vec<Submission>> {
        self.all(
            &format!("SELECT {SUBMISSION_COLUMNS} FROM depots WHERE attendu_id = ?1 ORDER BY id DESC"),
            params![expected],
            submission_row,
        )
    }

    /// The checked submission before `id` for the same expected return, if any.
    pub fn previous_submission(&self, id: i64) -> Result<Option<Submission>> {
        self.one(
            &format!(
                "SELECT {SUBMISSION_COLUMNS} FROM depots WHERE attendu_id = (SELECT attendu_id FROM depots WHERE id = ?1) \
                 AND id < ?1 AND etat = ?2 ORDER BY id DESC LIMIT 1"
            ),
            params![id, SubmissionState::Checked],
            submission_row,
        )
    }

    /// Submissions stored but not checked yet (a stop during a check, a full queue).
    pub fn pending(&self) -> Result<Vec<i64>> {
        self.all(
            "SELECT id FROM depots WHERE etat = ?1 ORDER BY id",
            params![SubmissionState::Pending],
            |r| r.get(0),
        )
    }

    /// Records a check: the submission becomes [`SubmissionState::Checked`].
    pub fn record_check(&self, id: i64, r: &CheckResult) -> Result<()> {
        let changed = self.run(
            "UPDATE depots SET etat = ?2, controle_le = ?3, statut = ?4, erreurs = ?5, avertissements = ?6, \
             informations = ?7, justifies = ?8, modele = ?9, organisation = ?10, rapport = ?11, vue = ?12, suivi = ?13, \
             donnees = ?14 WHERE id = ?1",
            params![
                id,
                SubmissionState::Checked,
                now(),
                r.statut,
                r.erreurs,
                r.avertissements,
                r.informations,
                r.justifies,
                r.modele,
                r.organisation,
                r.rapport,
                r.vue,
                r.suivi,
                r.donnees
            ],
        )?;
        if changed == 0 {
            return Err(StoreError::NotFound("envoi"));
        }
        Ok(())
    }

    pub fn add_decision(
        &self,
        expected: i64,
        submission: Option<i64>,
        decision: DecisionKind,
        commentaire: &str,
        relecteur: &str,
    ) -> Result<i64> {
        self.insert(
            "INSERT INTO decisions (attendu_id, depot_id, decision, commentaire, relecteur, decide_le) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![expected, submission, decision, commentaire, relecteur, now()],
        )
    }

    /// Decisions on an expected return, newest first.
    pub fn decisions(&self, expected: i64) -> Result<Vec<Decision>> {
        self.all(
            &format!("SELECT {DECISION_COLUMNS} FROM decisions WHERE attendu_id = ?1 ORDER BY id DESC"),
            params![expected],
            decision_row,
        )
    }
}
