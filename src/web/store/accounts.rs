//! Reviewers: accounts, sessions, one-time set-up links, API keys.

use rusqlite::params;

use super::{later, now, Result, Store, StoreError};

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

const ACCOUNT_COLUMNS: &str = "id, identifiant, mot_de_passe, administrateur, actif, cree_le";

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

/// `r.id, r.identifiant, r.administrateur` of a join on `relecteurs r`.
fn reviewer_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Reviewer> {
    Ok(Reviewer {
        id: r.get(0)?,
        login: r.get(1)?,
        admin: r.get::<_, i64>(2)? != 0,
    })
}

/// What ends with a reviewer's password or account: sessions and set-up links.
const END_SESSIONS: &str = "DELETE FROM sessions WHERE relecteur_id = ?1";
const END_SETUP_LINKS: &str = "DELETE FROM liens_initialisation WHERE relecteur_id = ?1";

impl Store {
    /// The first administrator, created on first start. Returns (id, password hash).
    pub fn first_admin(&self, login: &str) -> Result<(i64, Option<String>)> {
        self.run(
            "INSERT OR IGNORE INTO relecteurs (identifiant, cree_le, administrateur) VALUES (?1, ?2, 1)",
            params![login, now()],
        )?;
        self.one(
            "SELECT id, mot_de_passe FROM relecteurs WHERE identifiant = ?1",
            params![login],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?
        .ok_or(StoreError::NotFound("compte"))
    }

    pub fn account_by_login(&self, login: &str) -> Result<Option<Account>> {
        self.one(
            &format!("SELECT {ACCOUNT_COLUMNS} FROM relecteurs WHERE identifiant = ?1"),
            params![login],
            account_row,
        )
    }

    pub fn account(&self, id: i64) -> Result<Option<Account>> {
        self.one(
            &format!("SELECT {ACCOUNT_COLUMNS} FROM relecteurs WHERE id = ?1"),
            params![id],
            account_row,
        )
    }

    pub fn accounts(&self) -> Result<Vec<Account>> {
        self.all(
            &format!("SELECT {ACCOUNT_COLUMNS} FROM relecteurs ORDER BY identifiant"),
            [],
            account_row,
        )
    }

    /// A new account, without a password yet; [`StoreError::Conflict`] if the
    /// login is taken.
    pub fn add_account(&self, login: &str, admin: bool) -> Result<i64> {
        let conn = self.lock()?;
        let n = conn.execute(
            "INSERT OR IGNORE INTO relecteurs (identifiant, cree_le, administrateur) VALUES (?1, ?2, ?3)",
            params![login, now(), admin as i64],
        )?;
        if n != 1 {
            return Err(StoreError::Conflict(format!("L'identifiant « {login} » existe déjà.")));
        }
        Ok(conn.last_insert_rowid())
    }

    /// Disables an account: its sessions, API keys and set-up links end at once.
    pub fn disable_account(&self, id: i64) -> Result<()> {
        self.for_reviewer(
            id,
            &[
                "UPDATE relecteurs SET actif = 0 WHERE id = ?1",
                END_SESSIONS,
                "DELETE FROM cles_api WHERE relecteur_id = ?1",
                END_SETUP_LINKS,
            ],
        )
    }

    /// Sets a password: the account's sessions and set-up links end.
    pub fn set_password(&self, reviewer: i64, hash: &str) -> Result<()> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE relecteurs SET mot_de_passe = ?1 WHERE id = ?2",
            params![hash, reviewer],
        )?;
        for sql in [END_SESSIONS, END_SETUP_LINKS] {
            tx.execute(sql, [reviewer])?;
        }
        Ok(tx.commit()?)
    }

    /// A new one-time link for an account (its earlier links die).
    pub fn add_setup_link(&self, digest: &str, reviewer: i64) -> Result<()> {
        self.end_setup_links(reviewer)?;
        self.run(
            "INSERT INTO liens_initialisation (empreinte, relecteur_id, expire_le) VALUES (?1, ?2, ?3)",
            params![digest, reviewer, later(24 * 3600)],
        )?;
        Ok(())
    }

    pub fn end_setup_links(&self, reviewer: i64) -> Result<()> {
        self.for_reviewer(reviewer, &[END_SETUP_LINKS])
    }

    /// The account a live set-up link opens (login shown on its page).
    pub fn setup_link(&self, digest: &str) -> Result<Option<(i64, String)>> {
        self.one(
            "SELECT l.relecteur_id, r.identifiant FROM liens_initialisation l JOIN relecteurs r ON r.id = l.relecteur_id \
             WHERE l.empreinte = ?1 AND l.expire_le > ?2 AND r.actif = 1",
            params![digest, now()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// Uses a set-up link: one statement deletes it and says whose it was, so
    /// that of requests racing on one link, exactly one gets the account.
    pub fn take_setup_link(&self, digest: &str) -> Result<Option<i64>> {
        self.one(
            "DELETE FROM liens_initialisation WHERE empreinte = ?1 AND expire_le > ?2 \
             AND relecteur_id IN (SELECT id FROM relecteurs WHERE actif = 1) RETURNING relecteur_id",
            params![digest, now()],
            |r| r.get(0),
        )
    }

    pub fn add_session(&self, digest: &str, reviewer: i64, seconds: i64) -> Result<()> {
        self.run("DELETE FROM sessions WHERE expire_le <= ?1", params![now()])?;
        self.run(
            "INSERT INTO sessions (empreinte, relecteur_id, expire_le) VALUES (?1, ?2, ?3)",
            params![digest, reviewer, later(seconds)],
        )?;
        Ok(())
    }

    /// The reviewer of a live session of an active account.
    pub fn session(&self, digest: &str) -> Result<Option<Reviewer>> {
        self.one(
            "SELECT r.id, r.identifiant, r.administrateur FROM sessions s JOIN relecteurs r ON r.id = s.relecteur_id \
             WHERE s.empreinte = ?1 AND s.expire_le > ?2 AND r.actif = 1",
            params![digest, now()],
            reviewer_row,
        )
    }

    pub fn end_session(&self, digest: &str) -> Result<()> {
        self.run("DELETE FROM sessions WHERE empreinte = ?1", params![digest])?;
        Ok(())
    }

    pub fn add_api_key(&self, digest: &str, reviewer: i64, name: &str) -> Result<i64> {
        self.insert(
            "INSERT INTO cles_api (empreinte, relecteur_id, creee_le, nom) VALUES (?1, ?2, ?3, ?4)",
            params![digest, reviewer, now(), name],
        )
    }

    /// The reviewer an API key acts for (active accounts only).
    pub fn api_key(&self, digest: &str) -> Result<Option<Reviewer>> {
        self.one(
            "SELECT r.id, r.identifiant, r.administrateur FROM cles_api k JOIN relecteurs r ON r.id = k.relecteur_id \
             WHERE k.empreinte = ?1 AND r.actif = 1",
            params![digest],
            reviewer_row,
        )
    }

    /// API keys, of one reviewer or (`None`) of everyone.
    pub fn api_keys(&self, owner: Option<i64>) -> Result<Vec<ApiKey>> {
        self.all(
            "SELECT k.rowid, k.nom, r.identifiant, r.id, k.creee_le FROM cles_api k JOIN relecteurs r ON r.id = k.relecteur_id \
             WHERE ?1 IS NULL OR k.relecteur_id = ?1 ORDER BY k.rowid",
            params![owner],
            |r| {
                Ok(ApiKey {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    owner: r.get(2)?,
                    owner_id: r.get(3)?,
                    created: r.get(4)?,
                })
            },
        )
    }

    /// Revokes a key (of `owner` only, unless `None`: an administrator). Returns its name.
    pub fn revoke_api_key(&self, id: i64, owner: Option<i64>) -> Result<Option<String>> {
        self.one(
            "DELETE FROM cles_api WHERE rowid = ?1 AND (?2 IS NULL OR relecteur_id = ?2) RETURNING nom",
            params![id, owner],
            |r| r.get(0),
        )
    }
}
