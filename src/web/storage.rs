//! Everything the desk keeps: one SQLite database (WAL) in the data folder, and
//! the submitted files named by their SHA-256. All SQL of the desk is here.
//!
//! Migrations are numbered: `MIGRATIONS[i]` brings the schema from version `i`
//! to `i + 1` (`PRAGMA user_version`). Never edit a published migration: add one.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::error::WebError;

const MIGRATIONS: &[&str] = &[
    // 1: reviewers, sessions, campaigns, expected returns, submissions, decisions.
    r#"
    CREATE TABLE relecteurs (
        id INTEGER PRIMARY KEY,
        identifiant TEXT NOT NULL UNIQUE,
        mot_de_passe TEXT,                 -- argon2 PHC string; NULL until set
        cree_le TEXT NOT NULL
    );
    CREATE TABLE liens_initialisation (
        empreinte TEXT PRIMARY KEY,        -- SHA-256 of the one-time token
        relecteur_id INTEGER NOT NULL REFERENCES relecteurs(id),
        expire_le TEXT NOT NULL
    );
    CREATE TABLE sessions (
        empreinte TEXT PRIMARY KEY,        -- SHA-256 of the cookie value
        relecteur_id INTEGER NOT NULL REFERENCES relecteurs(id),
        expire_le TEXT NOT NULL
    );
    CREATE TABLE cles_api (
        empreinte TEXT PRIMARY KEY,
        relecteur_id INTEGER NOT NULL REFERENCES relecteurs(id),
        creee_le TEXT NOT NULL
    );
    CREATE TABLE campagnes (
        id INTEGER PRIMARY KEY,
        nom TEXT NOT NULL,
        exercice INTEGER,
        date_arrete TEXT,
        fichier TEXT NOT NULL,             -- the campagne.toml text
        sha256 TEXT NOT NULL,
        creee_le TEXT NOT NULL
    );
    CREATE TABLE attendus (
        id INTEGER PRIMARY KEY,
        campagne_id INTEGER NOT NULL REFERENCES campagnes(id),
        modele TEXT NOT NULL,
        organisation TEXT NOT NULL,
        jeton TEXT NOT NULL UNIQUE,
        UNIQUE (campagne_id, modele, organisation)
    );
    CREATE TABLE depots (
        id INTEGER PRIMARY KEY,
        attendu_id INTEGER NOT NULL REFERENCES attendus(id),
        nom_fichier TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        chemin TEXT NOT NULL,              -- relative to the data folder, made by the desk
        taille INTEGER NOT NULL,
        recu_le TEXT NOT NULL,
        etat TEXT NOT NULL DEFAULT 'en_attente',  -- en_attente | controle
        controle_le TEXT,
        statut TEXT,                       -- conforme | conforme_avec_reserves | non_conforme
        erreurs INTEGER,
        avertissements INTEGER,
        informations INTEGER,
        justifies INTEGER,
        modele TEXT,
        organisation TEXT,
        rapport TEXT,                      -- the file's rapport.json entry
        vue TEXT,                          -- the findings with their sheet excerpts
        suivi TEXT                         -- comparison with the previous version
    );
    CREATE INDEX depots_attendu ON depots(attendu_id, id);
    CREATE INDEX depots_etat ON depots(etat);
    CREATE TABLE decisions (
        id INTEGER PRIMARY KEY,
        attendu_id INTEGER NOT NULL REFERENCES attendus(id),
        depot_id INTEGER REFERENCES depots(id),
        decision TEXT NOT NULL,            -- acceptee | a_corriger
        commentaire TEXT NOT NULL,
        relecteur TEXT NOT NULL,
        decide_le TEXT NOT NULL
    );
    CREATE INDEX decisions_attendu ON decisions(attendu_id, id);
    "#,
    // 2: the data read from each submission (values with their cells), for the
    // comparison with the next version.
    r#"
    ALTER TABLE depots ADD COLUMN donnees TEXT;
    "#,
];

/// The database of the desk.
pub struct Storage {
    conn: Mutex<Connection>,
    data: PathBuf,
}

fn db_err(e: rusqlite::Error) -> WebError {
    WebError::Internal(format!("base de données : {e}"))
}

pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn later(seconds: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(seconds))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

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

#[derive(Debug, Clone, Serialize)]
pub struct Submission {
    pub id: i64,
    pub attendu_id: i64,
    pub nom_fichier: String,
    pub sha256: String,
    pub chemin: String,
    pub taille: i64,
    pub recu_le: String,
    pub etat: String,
    pub controle_le: Option<String>,
    pub statut: Option<String>,
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

#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub id: i64,
    pub attendu_id: i64,
    pub depot_id: Option<i64>,
    pub decision: String,
    pub commentaire: String,
    pub relecteur: String,
    pub decide_le: String,
}

/// One row of the dashboard: an expected return, its latest submission and decision.
#[derive(Debug, Clone)]
pub struct DashboardRow {
    pub expected: Expected,
    pub latest: Option<Submission>,
    pub decision: Option<Decision>,
    pub versions: i64,
}

/// What a check gives, to be recorded on the submission.
#[derive(Debug, Clone, Default)]
pub struct CheckResult {
    pub statut: String,
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

const SUBMISSION_COLUMNS: &str =
    "id, attendu_id, nom_fichier, sha256, chemin, taille, recu_le, etat, controle_le, statut, \
     erreurs, avertissements, informations, justifies, modele, organisation, rapport, vue, suivi, donnees";

fn submission_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Submission> {
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

fn decision_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Decision> {
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

impl Storage {
    /// Opens (or creates) the database in `data` and runs the migrations.
    pub fn open(data: &Path) -> Result<Self, WebError> {
        for sub in ["fichiers", "rapports", "tmp"] {
            std::fs::create_dir_all(data.join(sub)).map_err(|e| {
                WebError::Internal(format!(
                    "création du dossier {} impossible : {}",
                    data.join(sub).display(),
                    super::error::io_fr(&e)
                ))
            })?;
        }
        // Leftovers of uploads interrupted by a stop: never a submission (the
        // row is written after the file is in place).
        if let Ok(entries) = std::fs::read_dir(data.join("tmp")) {
            for e in entries.flatten() {
                let _ = std::fs::remove_file(e.path());
            }
        }
        let conn = Connection::open(data.join("bilan.sqlite3")).map_err(db_err)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(db_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(db_err)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(db_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(db_err)?;
        let storage = Self {
            conn: Mutex::new(conn),
            data: data.to_path_buf(),
        };
        storage.migrate()?;
        Ok(storage)
    }

    fn migrate(&self) -> Result<(), WebError> {
        let mut conn = self.lock()?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(db_err)?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            let tx = conn.transaction().map_err(db_err)?;
            tx.execute_batch(sql).map_err(db_err)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64).map_err(db_err)?;
            tx.commit().map_err(db_err)?;
        }
        Ok(())
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Connection>, WebError> {
        self.conn
            .lock()
            .map_err(|_| WebError::Internal("base de données indisponible".into()))
    }

    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// Where a stored file or report lives (paths made by the desk only).
    pub fn path_of(&self, relative: &str) -> PathBuf {
        self.data.join(relative)
    }

    // ---- reviewers -------------------------------------------------------

    /// The reviewer account, created on first use. Returns (id, has password).
    pub fn reviewer(&self, login: &str) -> Result<(i64, Option<String>), WebError> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT OR IGNORE INTO relecteurs (identifiant, cree_le) VALUES (?1, ?2)",
            params![login, now()],
        )
        .map_err(db_err)?;
        conn.query_row(
            "SELECT id, mot_de_passe FROM relecteurs WHERE identifiant = ?1",
            params![login],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(db_err)
    }

    pub fn reviewer_login(&self, id: i64) -> Result<Option<String>, WebError> {
        let conn = self.lock()?;
        conn.query_row("SELECT identifiant FROM relecteurs WHERE id = ?1", params![id], |r| {
            r.get(0)
        })
        .optional()
        .map_err(db_err)
    }

    pub fn set_password(&self, reviewer: i64, hash: &str) -> Result<(), WebError> {
        let conn = self.lock()?;
        conn.execute(
            "UPDATE relecteurs SET mot_de_passe = ?1 WHERE id = ?2",
            params![hash, reviewer],
        )
        .map_err(db_err)?;
        conn.execute("DELETE FROM sessions WHERE relecteur_id = ?1", params![reviewer])
            .map_err(db_err)?;
        Ok(())
    }

    pub fn add_setup_link(&self, digest: &str, reviewer: i64) -> Result<(), WebError> {
        let conn = self.lock()?;
        conn.execute("DELETE FROM liens_initialisation", []).map_err(db_err)?;
        conn.execute(
            "INSERT INTO liens_initialisation (empreinte, relecteur_id, expire_le) VALUES (?1, ?2, ?3)",
            params![digest, reviewer, later(24 * 3600)],
        )
        .map_err(db_err)?;
        Ok(())
    }

    pub fn setup_link(&self, digest: &str) -> Result<Option<i64>, WebError> {
        let conn = self.lock()?;
        conn.query_row(
            "SELECT relecteur_id FROM liens_initialisation WHERE empreinte = ?1 AND expire_le > ?2",
            params![digest, now()],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_err)
    }

    pub fn use_setup_link(&self, digest: &str) -> Result<(), WebError> {
        let conn = self.lock()?;
        conn.execute("DELETE FROM liens_initialisation WHERE empreinte = ?1", params![digest])
            .map_err(db_err)?;
        Ok(())
    }

    pub fn add_session(&self, digest: &str, reviewer: i64, seconds: i64) -> Result<(), WebError> {
        let conn = self.lock()?;
        conn.execute("DELETE FROM sessions WHERE expire_le <= ?1", params![now()])
            .map_err(db_err)?;
        conn.execute(
            "INSERT INTO sessions (empreinte, relecteur_id, expire_le) VALUES (?1, ?2, ?3)",
            params![digest, reviewer, later(seconds)],
        )
        .map_err(db_err)?;
        Ok(())
    }

    pub fn session(&self, digest: &str) -> Result<Option<i64>, WebError> {
        let conn = self.lock()?;
        conn.query_row(
            "SELECT relecteur_id FROM sessions WHERE empreinte = ?1 AND expire_le > ?2",
            params![digest, now()],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_err)
    }

    pub fn end_session(&self, digest: &str) -> Result<(), WebError> {
        let conn = self.lock()?;
        conn.execute("DELETE FROM sessions WHERE empreinte = ?1", params![digest])
            .map_err(db_err)?;
        Ok(())
    }

    pub fn add_api_key(&self, digest: &str, reviewer: i64) -> Result<(), WebError> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO cles_api (empreinte, relecteur_id, creee_le) VALUES (?1, ?2, ?3)",
            params![digest, reviewer, now()],
        )
        .map_err(db_err)?;
        Ok(())
    }

    pub fn api_key(&self, digest: &str) -> Result<Option<i64>, WebError> {
        let conn = self.lock()?;
        conn.query_row(
            "SELECT relecteur_id FROM cles_api WHERE empreinte = ?1",
            params![digest],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_err)
    }

    // ---- campaigns -------------------------------------------------------

    pub fn add_campaign(
        &self,
        nom: &str,
        exercice: Option<i64>,
        date_arrete: Option<&str>,
        fichier: &str,
        sha256: &str,
    ) -> Result<i64, WebError> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO campagnes (nom, exercice, date_arrete, fichier, sha256, creee_le) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![nom, exercice, date_arrete, fichier, sha256, now()],
        )
        .map_err(db_err)?;
        Ok(conn.last_insert_rowid())
    }

    pub fn campaigns(&self) -> Result<Vec<Campaign>, WebError> {
        let conn = self.lock()?;
        let mut st = conn
            .prepare("SELECT id, nom, exercice, date_arrete, fichier, sha256, creee_le FROM campagnes ORDER BY id DESC")
            .map_err(db_err)?;
        let rows = st.query_map([], campaign_row).map_err(db_err)?;
        rows.collect::<Result<_, _>>().map_err(db_err)
    }

    pub fn campaign(&self, id: i64) -> Result<Option<Campaign>, WebError> {
        let conn = self.lock()?;
        conn.query_row(
            "SELECT id, nom, exercice, date_arrete, fichier, sha256, creee_le FROM campagnes WHERE id = ?1",
            params![id],
            campaign_row,
        )
        .optional()
        .map_err(db_err)
    }

    /// Adds an expected return (or returns the existing one: same template and organisation).
    pub fn add_expected(&self, campaign: i64, modele: &str, organisation: &str, jeton: &str) -> Result<i64, WebError> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT OR IGNORE INTO attendus (campagne_id, modele, organisation, jeton) VALUES (?1, ?2, ?3, ?4)",
            params![campaign, modele, organisation, jeton],
        )
        .map_err(db_err)?;
        conn.query_row(
            "SELECT id FROM attendus WHERE campagne_id = ?1 AND modele = ?2 AND organisation = ?3",
            params![campaign, modele, organisation],
            |r| r.get(0),
        )
        .map_err(db_err)
    }

    pub fn expected_by_token(&self, jeton: &str) -> Result<Option<Expected>, WebError> {
        let conn = self.lock()?;
        conn.query_row(
            "SELECT id, campagne_id, modele, organisation, jeton FROM attendus WHERE jeton = ?1",
            params![jeton],
            expected_row,
        )
        .optional()
        .map_err(db_err)
    }

    pub fn expected(&self, id: i64) -> Result<Option<Expected>, WebError> {
        let conn = self.lock()?;
        conn.query_row(
            "SELECT id, campagne_id, modele, organisation, jeton FROM attendus WHERE id = ?1",
            params![id],
            expected_row,
        )
        .optional()
        .map_err(db_err)
    }

    /// Every expected return of a campaign with its latest submission and decision.
    pub fn dashboard(&self, campaign: i64) -> Result<Vec<DashboardRow>, WebError> {
        let conn = self.lock()?;
        let mut st = conn
            .prepare(
                "SELECT id, campagne_id, modele, organisation, jeton FROM attendus WHERE campagne_id = ?1 \
                 ORDER BY modele, organisation",
            )
            .map_err(db_err)?;
        let expected: Vec<Expected> = st
            .query_map(params![campaign], expected_row)
            .map_err(db_err)?
            .collect::<Result<_, _>>()
            .map_err(db_err)?;
        let sql = format!(
            "SELECT {SUBMISSION_COLUMNS} FROM depots WHERE id IN \
             (SELECT MAX(d.id) FROM depots d JOIN attendus a ON a.id = d.attendu_id WHERE a.campagne_id = ?1 GROUP BY d.attendu_id)"
        );
        let mut st = conn.prepare(&sql).map_err(db_err)?;
        let mut latest: std::collections::HashMap<i64, Submission> = st
            .query_map(params![campaign], submission_row)
            .map_err(db_err)?
            .filter_map(Result::ok)
            .map(|s| (s.attendu_id, s))
            .collect();
        let mut st = conn
            .prepare(
                "SELECT id, attendu_id, depot_id, decision, commentaire, relecteur, decide_le FROM decisions WHERE id IN \
                 (SELECT MAX(x.id) FROM decisions x JOIN attendus a ON a.id = x.attendu_id WHERE a.campagne_id = ?1 GROUP BY x.attendu_id)",
            )
            .map_err(db_err)?;
        let mut decisions: std::collections::HashMap<i64, Decision> = st
            .query_map(params![campaign], decision_row)
            .map_err(db_err)?
            .filter_map(Result::ok)
            .map(|d| (d.attendu_id, d))
            .collect();
        let mut st = conn
            .prepare(
                "SELECT d.attendu_id, COUNT(*) FROM depots d JOIN attendus a ON a.id = d.attendu_id \
                 WHERE a.campagne_id = ?1 GROUP BY d.attendu_id",
            )
            .map_err(db_err)?;
        let versions: std::collections::HashMap<i64, i64> = st
            .query_map(params![campaign], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(db_err)?
            .filter_map(Result::ok)
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

    // ---- submissions -----------------------------------------------------

    pub fn add_submission(
        &self,
        expected: i64,
        nom_fichier: &str,
        sha256: &str,
        chemin: &str,
        taille: i64,
    ) -> Result<i64, WebError> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO depots (attendu_id, nom_fichier, sha256, chemin, taille, recu_le) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![expected, nom_fichier, sha256, chemin, taille, now()],
        )
        .map_err(db_err)?;
        Ok(conn.last_insert_rowid())
    }

    pub fn submission(&self, id: i64) -> Result<Option<Submission>, WebError> {
        let conn = self.lock()?;
        conn.query_row(
            &format!("SELECT {SUBMISSION_COLUMNS} FROM depots WHERE id = ?1"),
            params![id],
            submission_row,
        )
        .optional()
        .map_err(db_err)
    }

    /// Submissions of an expected return, newest first.
    pub fn submissions(&self, expected: i64) -> Result<Vec<Submission>, WebError> {
        let conn = self.lock()?;
        let mut st = conn
            .prepare(&format!(
                "SELECT {SUBMISSION_COLUMNS} FROM depots WHERE attendu_id = ?1 ORDER BY id DESC"
            ))
            .map_err(db_err)?;
        let rows = st.query_map(params![expected], submission_row).map_err(db_err)?;
        rows.collect::<Result<_, _>>().map_err(db_err)
    }

    /// The submission before `id` for the same expected return, if any.
    pub fn previous_submission(&self, id: i64) -> Result<Option<Submission>, WebError> {
        let conn = self.lock()?;
        conn.query_row(
            &format!(
                "SELECT {SUBMISSION_COLUMNS} FROM depots WHERE attendu_id = (SELECT attendu_id FROM depots WHERE id = ?1) \
                 AND id < ?1 AND etat = 'controle' ORDER BY id DESC LIMIT 1"
            ),
            params![id],
            submission_row,
        )
        .optional()
        .map_err(db_err)
    }

    /// Submissions stored but not checked yet (a stop during a check, a full queue).
    pub fn pending(&self) -> Result<Vec<i64>, WebError> {
        let conn = self.lock()?;
        let mut st = conn
            .prepare("SELECT id FROM depots WHERE etat = 'en_attente' ORDER BY id")
            .map_err(db_err)?;
        let rows = st.query_map([], |r| r.get(0)).map_err(db_err)?;
        rows.collect::<Result<_, _>>().map_err(db_err)
    }

    pub fn record_check(&self, id: i64, r: &CheckResult) -> Result<(), WebError> {
        let conn = self.lock()?;
        conn.execute(
            "UPDATE depots SET etat = 'controle', controle_le = ?2, statut = ?3, erreurs = ?4, avertissements = ?5, \
             informations = ?6, justifies = ?7, modele = ?8, organisation = ?9, rapport = ?10, vue = ?11, suivi = ?12, \
             donnees = ?13 WHERE id = ?1",
            params![
                id,
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
        )
        .map_err(db_err)?;
        Ok(())
    }

    // ---- decisions -------------------------------------------------------

    pub fn add_decision(
        &self,
        expected: i64,
        submission: Option<i64>,
        decision: &str,
        commentaire: &str,
        relecteur: &str,
    ) -> Result<i64, WebError> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO decisions (attendu_id, depot_id, decision, commentaire, relecteur, decide_le) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![expected, submission, decision, commentaire, relecteur, now()],
        )
        .map_err(db_err)?;
        Ok(conn.last_insert_rowid())
    }

    /// Decisions on an expected return, newest first.
    pub fn decisions(&self, expected: i64) -> Result<Vec<Decision>, WebError> {
        let conn = self.lock()?;
        let mut st = conn
            .prepare(
                "SELECT id, attendu_id, depot_id, decision, commentaire, relecteur, decide_le FROM decisions \
                 WHERE attendu_id = ?1 ORDER BY id DESC",
            )
            .map_err(db_err)?;
        let rows = st.query_map(params![expected], decision_row).map_err(db_err)?;
        rows.collect::<Result<_, _>>().map_err(db_err)
    }
}
