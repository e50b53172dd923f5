//! The schema of the desk's database, as numbered migrations:
//! `MIGRATIONS[i]` brings it from version `i` to `i + 1` (`PRAGMA
//! user_version`). Never edit a published migration: add one.

use rusqlite::Connection;

use super::{Result, StoreError};

pub(super) const MIGRATIONS: &[&str] = &[
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
    // 4: the words a column may hold, checked by the database itself (the
    // enums of `kinds`). SQLite adds a CHECK only by rebuilding the table:
    // copied, replaced, indexes made again (foreign keys are off meanwhile).
    r#"
    CREATE TABLE depots_4 (
        id INTEGER PRIMARY KEY,
        attendu_id INTEGER NOT NULL REFERENCES attendus(id),
        nom_fichier TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        chemin TEXT NOT NULL,
        taille INTEGER NOT NULL,
        recu_le TEXT NOT NULL,
        etat TEXT NOT NULL DEFAULT 'en_attente' CHECK (etat IN ('en_attente', 'controle')),
        controle_le TEXT,
        statut TEXT CHECK (statut IS NULL OR statut IN ('conforme', 'conforme_avec_reserves', 'non_conforme')),
        erreurs INTEGER,
        avertissements INTEGER,
        informations INTEGER,
        justifies INTEGER,
        modele TEXT,
        organisation TEXT,
        rapport TEXT,
        vue TEXT,
        suivi TEXT,
        donnees TEXT
    );
    INSERT INTO depots_4 (id, attendu_id, nom_fichier, sha256, chemin, taille, recu_le, etat, controle_le, statut,
        erreurs, avertissements, informations, justifies, modele, organisation, rapport, vue, suivi, donnees)
    SELECT id, attendu_id, nom_fichier, sha256, chemin, taille, recu_le, etat, controle_le, statut,
        erreurs, avertissements, informations, justifies, modele, organisation, rapport, vue, suivi, donnees
    FROM depots;
    DROP TABLE depots;
    ALTER TABLE depots_4 RENAME TO depots;
    CREATE INDEX depots_attendu ON depots(attendu_id, id);
    CREATE INDEX depots_etat ON depots(etat);
    CREATE TABLE decisions_4 (
        id INTEGER PRIMARY KEY,
        attendu_id INTEGER NOT NULL REFERENCES attendus(id),
        depot_id INTEGER REFERENCES depots(id),
        decision TEXT NOT NULL CHECK (decision IN ('acceptee', 'a_corriger')),
        commentaire TEXT NOT NULL,
        relecteur TEXT NOT NULL,
        decide_le TEXT NOT NULL
    );
    INSERT INTO decisions_4 (id, attendu_id, depot_id, decision, commentaire, relecteur, decide_le)
    SELECT id, attendu_id, depot_id, decision, commentaire, relecteur, decide_le FROM decisions;
    DROP TABLE decisions;
    ALTER TABLE decisions_4 RENAME TO decisions;
    CREATE INDEX decisions_attendu ON decisions(attendu_id, id);
    "#,
];

/// Runs the migrations a database lacks, each in its own transaction. Foreign
/// keys are off meanwhile (a table rebuilt by migration 4 is dropped while
/// others point to it) and checked whole afterwards.
pub(super) fn migrate(conn: &mut Connection) -> Result<()> {
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql).map_err(|e| refused(i + 1, e))?;
        let broken: i64 = tx.query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| r.get(0))?;
        if broken > 0 {
            return Err(StoreError::Conflict(format!(
                "base de données : la migration {} laisserait {broken} lien(s) rompu(s) ; rien n'a été changé",
                i + 1
            )));
        }
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

/// A migration SQLite refused: a row the new schema does not accept is said
/// in French (SQLite's own text is English); the transaction is rolled back.
fn refused(version: usize, e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            StoreError::Conflict(format!(
                "base de données : mise à jour du schéma (migration {version}) impossible, une ligne contient une \
                 valeur que cette version ne connaît pas ; rien n'a été changé"
            ))
        }
        e => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::kinds::{DecisionKind, Status, SubmissionState};
    use super::super::{Store, StoreError};
    use super::*;

    /// A database left at `version` by an older desk.
    fn old_database(dir: &std::path::Path, version: usize) -> Connection {
        let conn = Connection::open(dir.join("bilan.sqlite3")).expect("db");
        for sql in &MIGRATIONS[..version] {
            conn.execute_batch(sql).expect("old migration");
        }
        conn.pragma_update(None, "user_version", version as i64)
            .expect("version");
        conn
    }

    #[test]
    fn a_database_of_version_2_upgrades_and_keeps_its_reviewer() {
        let dir = tempfile::tempdir().expect("temp dir");
        {
            // The schema of version 2 (before accounts), with its one reviewer.
            let conn = old_database(dir.path(), 2);
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
        let store = Store::open(dir.path()).expect("upgraded");
        let admin = store.account_by_login("relecteur").expect("query").expect("kept");
        assert!(admin.admin && admin.active, "{admin:?}");
        assert_eq!(admin.hash.as_deref(), Some("h"));
        let keys = store.api_keys(None).expect("keys");
        assert_eq!(keys.len(), 1);
        assert_eq!(
            store.api_key("k").expect("query").map(|r| r.login).as_deref(),
            Some("relecteur")
        );
        // The journal is append-only.
        store.journal_add("relecteur", "127.0.0.1", "essai", "").expect("added");
        let conn = store.lock().expect("lock");
        assert!(conn.execute("UPDATE journal SET detail = 'x'", []).is_err());
        assert!(conn.execute("DELETE FROM journal", []).is_err());
    }

    /// Version 3 (before the CHECK constraints): one campaign, one expected
    /// return, a checked submission with a decision, and a pending one.
    fn version_3_with_rows(dir: &std::path::Path, decision: &str) {
        let conn = old_database(dir, 3);
        conn.execute_batch(&format!(
            "INSERT INTO campagnes (nom, fichier, sha256, creee_le) VALUES ('C', 'nom = \"C\"', 'x', '2026-11-28T00:00:00Z');
             INSERT INTO attendus (campagne_id, modele, organisation, jeton) VALUES (1, 'BILAN-POLE', 'Pôle A', 'j');
             INSERT INTO depots (attendu_id, nom_fichier, sha256, chemin, taille, recu_le, etat, statut, erreurs)
                 VALUES (1, 'a.xlsx', 's', 'fichiers/s/a', 3, '2026-11-28T00:00:00Z', 'controle', 'non_conforme', 2);
             INSERT INTO depots (attendu_id, nom_fichier, sha256, chemin, taille, recu_le)
                 VALUES (1, 'b.xlsx', 't', 'fichiers/t/b', 4, '2026-11-29T00:00:00Z');
             INSERT INTO decisions (attendu_id, depot_id, decision, commentaire, relecteur, decide_le)
                 VALUES (1, 1, '{decision}', 'voir B12', 'relecteur', '2026-11-28T01:00:00Z');"
        ))
        .expect("rows of version 3");
    }

    #[test]
    fn a_database_of_version_3_upgrades_keeps_its_rows_and_then_refuses_unknown_words() {
        let dir = tempfile::tempdir().expect("temp dir");
        version_3_with_rows(dir.path(), "a_corriger");
        let store = Store::open(dir.path()).expect("upgraded");
        let subs = store.submissions(1).expect("submissions");
        assert_eq!(subs.len(), 2);
        assert_eq!(subs[0].etat, SubmissionState::Pending);
        assert_eq!(subs[1].etat, SubmissionState::Checked);
        assert_eq!(subs[1].statut, Some(Status::NonConforme));
        assert_eq!(subs[1].erreurs, Some(2));
        assert_eq!(store.pending().expect("pending"), vec![subs[0].id]);
        let decisions = store.decisions(1).expect("decisions");
        assert_eq!(decisions.len(), 1);
        assert_eq!(decisions[0].decision, DecisionKind::ToCorrect);
        assert_eq!(decisions[0].depot_id, Some(1));
        let rows = store.dashboard(1).expect("dashboard");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].versions, 2);
        // Indexes and foreign keys are back.
        let conn = store.lock().expect("lock");
        let indexes: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name IN ('depots_attendu', 'depots_etat', 'decisions_attendu')",
                [],
                |r| r.get(0),
            )
            .expect("indexes");
        assert_eq!(indexes, 3);
        assert!(conn
            .execute("INSERT INTO decisions (attendu_id, depot_id, decision, commentaire, relecteur, decide_le) VALUES (1, 99, 'acceptee', '', 'r', 'x')", [])
            .is_err(), "a decision on a submission that does not exist");
        // The database refuses a word the desk does not know.
        assert!(conn
            .execute("UPDATE depots SET etat = 'perdu' WHERE id = 1", [])
            .is_err());
        assert!(conn
            .execute("UPDATE depots SET statut = 'presque' WHERE id = 1", [])
            .is_err());
        assert!(conn.execute("UPDATE decisions SET decision = 'refusee'", []).is_err());
        assert!(conn.execute("UPDATE depots SET statut = NULL WHERE id = 1", []).is_ok());
    }

    #[test]
    fn a_version_3_database_holding_an_unknown_word_is_not_upgraded_halfway() {
        let dir = tempfile::tempdir().expect("temp dir");
        version_3_with_rows(dir.path(), "refusee");
        let err = Store::open(dir.path()).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            err,
            "base de données : mise à jour du schéma (migration 4) impossible, une ligne contient une valeur \
             que cette version ne connaît pas ; rien n'a été changé"
        );
        let conn = Connection::open(dir.path().join("bilan.sqlite3")).expect("db");
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(version, 3, "the failed migration changed nothing");
        let kept: i64 = conn
            .query_row("SELECT COUNT(*) FROM decisions", [], |r| r.get(0))
            .expect("rows");
        assert_eq!(kept, 1);
    }

    #[test]
    fn an_unknown_word_read_back_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().expect("temp dir");
        version_3_with_rows(dir.path(), "acceptee");
        let store = Store::open(dir.path()).expect("upgraded");
        {
            // Written past the CHECK (as another program could).
            let conn = store.lock().expect("lock");
            conn.pragma_update(None, "ignore_check_constraints", "ON")
                .expect("pragma");
            conn.execute("UPDATE depots SET etat = 'perdu' WHERE id = 2", [])
                .expect("forced");
        }
        match store.submission(2) {
            Err(StoreError::Unknown(u)) => {
                assert_eq!((u.column, u.value.as_str()), ("depots.etat", "perdu"));
            }
            other => panic!("expected an unknown value, got {other:?}"),
        }
        assert!(matches!(store.dashboard(1), Err(StoreError::Unknown(_))));
        assert!(store.submission(1).is_ok());
    }
}
