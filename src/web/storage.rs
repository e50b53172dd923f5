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
    // 3: reviewer accounts (administrator right, disabled accounts), named API
    // keys, and the journal (append only: triggers refuse any change).
    r#"
    ALTER TABLE relecteurs ADD COLUMN administrateur INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE relecteurs ADD COLUMN actif INTEGER NOT NULL DEFAULT 1;
    UPDATE relecteurs SET administrateur = 1 WHERE identifiant = 'relecteur';
    ALTER TABLE cles_api ADD COLUMN nom TEXT NOT NULL DEFAULT 'clé';
    CREATE TABLE journal (
        id INTEGER PRIMARY KEY,
        le TEXT NOT NULL,
        qui TEXT NOT NULL,
        adresse TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE TRIGGER journal_sans_modification BEFORE UPDATE ON journal
        BEGIN SELECT RAISE(ABORT, 'le journal ne se modifie pas'); END;
    CREATE TRIGGER journal_sans_suppression BEFORE DELETE ON journal
        BEGIN SELECT RAISE(ABORT, 'le journal ne se modifie pas'); END;
    "#,
];

/// A reviewer, from a session or an API key (active accounts only).
#[derive(Debug, Clone)]
pub struct Reviewer {
    pub id: i64,
    pub login: String,
    pub admin: bool,
}

/// A reviewer account as the administrators' page lists it.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: i64,
    pub login: String,
    pub hash: Option<String>,
    pub admin: bool,
    pub active: bool,
    pub created: String,
}

/// A named API key (its secret is never kept, only its SHA-256).
#[derive(Debug, Clone)]
pub struct ApiKey {
    pub id: i64,
    pub name: String,
    pub owner: String,
    pub owner_id: i64,
    pub created: String,
}

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

fn account_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: r.get(0)?,
        login: r.get(1)?,
        hash: r.get(2)?,
        admin: r.get::<_, i64>(3)? != 0,
        active: r.get::<_, i64>(4)? != 0,
        created: r.get(5)?,
    })
}

const ACCOUNT_COLUMNS: &str = "id, identifiant, mot_de_passe, administrateur, actif, cree_le";

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
        storage.remove_orphans();
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

    /// Stored files no row points to (a request that failed between the file
    /// and its row, a stop): removed, so that nothing half-kept survives.
    fn remove_orphans(&self) {
        let Ok(known) = self.lock().and_then(|conn| {
            let mut st = conn.prepare("SELECT chemin FROM depots").map_err(db_err)?;
            let rows = st.query_map([], |r| r.get::<_, String>(0)).map_err(db_err)?;
            rows.collect::<Result<std::collections::HashSet<_>, _>>()
                .map_err(db_err)
        }) else {
            return;
        };
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

    /// The first administrator, created on first start. Returns (id, password hash).
    pub fn first_admin(&self, login: &str) -> Result<(i64, Option<String>), WebError> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT OR IGNORE INTO relecteurs (identifiant, cree_le, administrateur) VALUES (?1, ?2, 1)",
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

    pub fn account_by_login(&self, login: &str) -> Result<Option<Account>, WebError> {
        let conn = self.lock()?;
        conn.query_row(
            &format!("SELECT {ACCOUNT_COLUMNS} FROM relecteurs WHERE identifiant = ?1"),
            params![login],
            account_row,
        )
        .optional()
        .map_err(db_err)
    }

    pub fn account(&self, id: i64) -> Result<Option<Account>, WebError> {
        let conn = self.lock()?;
        conn.query_row(
            &format!("SELECT {ACCOUNT_COLUMNS} FROM relecteurs WHERE id = ?1"),
            params![id],
            account_row,
        )
        .optional()
        .map_err(db_err)
    }

    pub fn accounts(&self) -> Result<Vec<Account>, WebError> {
        let conn = self.lock()?;
        let mut st = conn
            .prepare(&format!(
                "SELECT {ACCOUNT_COLUMNS} FROM relecteurs ORDER BY identifiant"
            ))
            .map_err(db_err)?;
        let rows = st.query_map([], account_row).map_err(db_err)?;
        rows.collect::<Result<_, _>>().map_err(db_err)
    }

    /// A new account, without a password yet; `None` if the login is taken.
    pub fn add_account(&self, login: &str, admin: bool) -> Result<Option<i64>, WebError> {
        let conn = self.lock()?;
        let n = conn
            .execute(
                "INSERT OR IGNORE INTO relecteurs (identifiant, cree_le, administrateur) VALUES (?1, ?2, ?3)",
                params![login, now(), admin as i64],
            )
            .map_err(db_err)?;
        Ok((n == 1).then(|| conn.last_insert_rowid()))
    }

    /// Disables an account: its sessions, API keys and set-up links end at once.
    pub fn disable_account(&self, id: i64) -> Result<(), WebError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction().map_err(db_err)?;
        tx.execute("UPDATE relecteurs SET actif = 0 WHERE id = ?1", params![id])
            .map_err(db_err)?;
        for table in ["sessions", "cles_api", "liens_initialisation"] {
            tx.execute(&format!("DELETE FROM {table} WHERE relecteur_id = ?1"), params![id])
                .map_err(db_err)?;
        }
        tx.commit().map_err(db_err)
    }

    /// Sets a password: the account's sessions and set-up links end.
    pub fn set_password(&self, reviewer: i64, hash: &str) -> Result<(), WebError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction().map_err(db_err)?;
        tx.execute(
            "UPDATE relecteurs SET mot_de_passe = ?1 WHERE id = ?2",
            params![hash, reviewer],
        )
        .map_err(db_err)?;
        tx.execute("DELETE FROM sessions WHERE relecteur_id = ?1", params![reviewer])
            .map_err(db_err)?;
        tx.execute(
            "DELETE FROM liens_initialisation WHERE relecteur_id = ?1",
            params![reviewer],
        )
        .map_err(db_err)?;
        tx.commit().map_err(db_err)
    }

    /// A new one-time link for an account (its earlier links die).
    pub fn add_setup_link(&self, digest: &str, reviewer: i64) -> Result<(), WebError> {
        let conn = self.lock()?;
        conn.execute(
            "DELETE FROM liens_initialisation WHERE relecteur_id = ?1",
            params![reviewer],
        )
        .map_err(db_err)?;
        conn.execute(
            "INSERT INTO liens_initialisation (empreinte, relecteur_id, expire_le) VALUES (?1, ?2, ?3)",
            params![digest, reviewer, later(24 * 3600)],
        )
        .map_err(db_err)?;
        Ok(())
    }

    pub fn end_setup_links(&self, reviewer: i64) -> Result<(), WebError> {
        let conn = self.lock()?;
        conn.execute(
            "DELETE FROM liens_initialisation WHERE relecteur_id = ?1",
            params![reviewer],
        )
        .map_err(db_err)?;
        Ok(())
    }

    /// The account a live set-up link opens (login shown on its page).
    pub fn setup_link(&self, digest: &str) -> Result<Option<(i64, String)>, WebError> {
        let conn = self.lock()?;
        conn.query_row(
            "SELECT l.relecteur_id, r.identifiant FROM liens_initialisation l JOIN relecteurs r ON r.id = l.relecteur_id \
             WHERE l.empreinte = ?1 AND l.expire_le > ?2 AND r.actif = 1",
            params![digest, now()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(db_err)
    }

    /// Uses a set-up link: one statement deletes it and says whose it was, so
    /// that of requests racing on one link, exactly one gets the account.
    pub fn take_setup_link(&self, digest: &str) -> Result<Option<i64>, WebError> {
        let conn = self.lock()?;
        conn.query_row(
            "DELETE FROM liens_initialisation WHERE empreinte = ?1 AND expire_le > ?2 \
             AND relecteur_id IN (SELECT id FROM relecteurs WHERE actif = 1) RETURNING relecteur_id",
            params![digest, now()],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_err)
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

    /// The reviewer of a live session of an active account.
    pub fn session(&self, digest: &str) -> Result<Option<Reviewer>, WebError> {
        let conn = self.lock()?;
        conn.query_row(
            "SELECT r.id, r.identifiant, r.administrateur FROM sessions s JOIN relecteurs r ON r.id = s.relecteur_id \
             WHERE s.empreinte = ?1 AND s.expire_le > ?2 AND r.actif = 1",
            params![digest, now()],
            |r| {
                Ok(Reviewer {
                    id: r.get(0)?,
                    login: r.get(1)?,
                    admin: r.get::<_, i64>(2)? != 0,
                })
            },
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

    pub fn add_api_key(&self, digest: &str, reviewer: i64, name: &str) -> Result<i64, WebError> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO cles_api (empreinte, relecteur_id, creee_le, nom) VALUES (?1, ?2, ?3, ?4)",
            params![digest, reviewer, now(), name],
        )
        .map_err(db_err)?;
        Ok(conn.last_insert_rowid())
    }

    /// The reviewer an API key acts for (active accounts only).
    pub fn api_key(&self, digest: &str) -> Result<Option<Reviewer>, WebError> {
        let conn = self.lock()?;
        conn.query_row(
            "SELECT r.id, r.identifiant, r.administrateur FROM cles_api k JOIN relecteurs r ON r.id = k.relecteur_id \
             WHERE k.empreinte = ?1 AND r.actif = 1",
            params![digest],
            |r| {
                Ok(Reviewer {
                    id: r.get(0)?,
                    login: r.get(1)?,
                    admin: r.get::<_, i64>(2)? != 0,
                })
            },
        )
        .optional()
        .map_err(db_err)
    }

    /// API keys, of one reviewer or (`None`) of everyone.
    pub fn api_keys(&self, owner: Option<i64>) -> Result<Vec<ApiKey>, WebError> {
        let conn = self.lock()?;
        let mut st = conn
            .prepare(
                "SELECT k.rowid, k.nom, r.identifiant, r.id, k.creee_le FROM cles_api k JOIN relecteurs r ON r.id = k.relecteur_id \
                 WHERE ?1 IS NULL OR k.relecteur_id = ?1 ORDER BY k.rowid",
            )
            .map_err(db_err)?;
        let rows = st
            .query_map(params![owner], |r| {
                Ok(ApiKey {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    owner: r.get(2)?,
                    owner_id: r.get(3)?,
                    created: r.get(4)?,
                })
            })
            .map_err(db_err)?;
        rows.collect::<Result<_, _>>().map_err(db_err)
    }

    /// Revokes a key (of `owner` only, unless `None`: an administrator). Returns its name.
    pub fn revoke_api_key(&self, id: i64, owner: Option<i64>) -> Result<Option<String>, WebError> {
        let conn = self.lock()?;
        conn.query_row(
            "DELETE FROM cles_api WHERE rowid = ?1 AND (?2 IS NULL OR relecteur_id = ?2) RETURNING nom",
            params![id, owner],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_err)
    }

    // ---- journal ---------------------------------------------------------

    /// Adds a line to the journal (never changed afterwards).
    pub fn journal_add(&self, who: &str, address: &str, action: &str, detail: &str) -> Result<(), WebError> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO journal (le, qui, adresse, action, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![now(), who, address, action, detail],
        )
        .map_err(db_err)?;
        Ok(())
    }

    /// The latest `limit` lines, newest first.
    pub fn journal(&self, limit: i64) -> Result<Vec<JournalEntry>, WebError> {
        let conn = self.lock()?;
        let mut st = conn
            .prepare("SELECT id, le, qui, adresse, action, detail FROM journal ORDER BY id DESC LIMIT ?1")
            .map_err(db_err)?;
        let rows = st
            .query_map(params![limit], |r| {
                Ok(JournalEntry {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    who: r.get(2)?,
                    address: r.get(3)?,
                    action: r.get(4)?,
                    detail: r.get(5)?,
                })
            })
            .map_err(db_err)?;
        rows.collect::<Result<_, _>>().map_err(db_err)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_of_the_previous_version_upgrades_and_keeps_its_reviewer() {
        let dir = tempfile::tempdir().expect("temp dir");
        {
            // The schema of version 2 (before accounts), with its one reviewer.
            std::fs::create_dir_all(dir.path()).expect("dir");
            let conn = Connection::open(dir.path().join("bilan.sqlite3")).expect("db");
            for sql in &MIGRATIONS[..2] {
                conn.execute_batch(sql).expect("old migration");
            }
            conn.pragma_update(None, "user_version", 2).expect("version");
            conn.execute(
                "INSERT INTO relecteurs (identifiant, mot_de_passe, cree_le) VALUES ('relecteur', 'h', '2026-11-28T00:00:00Z')",
                [],
            )
            .expect("reviewer");
            conn.execute(
                "INSERT INTO cles_api (empreinte, relecteur_id, creee_le) VALUES ('k', 1, '2026-11-28T00:00:00Z')",
                [],
            )
            .expect("key");
        }
        let storage = Storage::open(dir.path()).expect("upgraded");
        let admin = storage.account_by_login("relecteur").expect("query").expect("kept");
        assert!(admin.admin && admin.active, "{admin:?}");
        assert_eq!(admin.hash.as_deref(), Some("h"));
        let keys = storage.api_keys(None).expect("keys");
        assert_eq!(keys.len(), 1);
        assert_eq!(
            storage.api_key("k").expect("query").map(|r| r.login).as_deref(),
            Some("relecteur")
        );
        // The journal is append-only.
        storage
            .journal_add("relecteur", "127.0.0.1", "essai", "")
            .expect("added");
        let conn = storage.lock().expect("lock");
        assert!(conn.execute("UPDATE journal SET detail = 'x'", []).is_err());
        assert!(conn.execute("DELETE FROM journal", []).is_err());
    }
}
