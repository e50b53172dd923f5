//! A submission's life on the desk, whichever door it came through (the
//! submitter's page or the API): the token opens the expected return, the file
//! is received, stored (file and row) before anything reads it, checked when a
//! reader is free, and the result recorded with the comparison to the previous
//! version. The background checker ([`check_pending_loop`]) checks what a stop
//! or a full queue left unchecked.

use std::sync::atomic::Ordering;

use axum::extract::Multipart;
use axum::http::HeaderMap;

use super::intake::{read_upload, Door};
use crate::web::engine::{Checked, Wait};
use crate::web::pages::FollowUp;
use crate::web::store::{CheckResult, Expected, Submission, SubmissionState};
use crate::web::upload::Received;
use crate::web::{Shared, WebError};

/// A submitter sends a return (`POST /depot/{jeton}` and `POST
/// /api/depots/{jeton}`): receive → store → check → record. Returns the
/// expected return and the stored submission's id; the check may still be
/// waiting for a reader (the background checker then does it).
pub async fn deposit(
    state: &Shared,
    jeton: &str,
    headers: &HeaderMap,
    multipart: Multipart,
    door: Door,
) -> Result<(Expected, i64), WebError> {
    let expected = expected_of(state, jeton)?;
    let mut form = read_upload(state, headers, multipart, door, 1).await?;
    let Some(received) = form.files.pop() else {
        return Err(WebError::BadRequest(door.no_file_to_send().into()));
    };
    let id = store(state, &expected, received)?;
    match check_submission(state, id, Wait::IfRoom).await {
        Ok(_) => {}
        Err(WebError::Busy) => state.pending.notify_one(),
        Err(e) => {
            // Stored: it will be checked by the pending loop.
            eprintln!("bilan serve : contrôle de l'envoi {id} différé : {e}");
            state.pending.notify_one();
        }
    }
    Ok((expected, id))
}

pub fn unknown_token() -> WebError {
    WebError::Forbidden(
        "Lien de dépôt inconnu : vérifiez l'adresse reçue de la Région, ou demandez-lui un nouveau lien.".into(),
    )
}

/// The expected return a token opens (one organisation, one campaign).
pub fn expected_of(state: &Shared, jeton: &str) -> Result<Expected, WebError> {
    if !crate::web::auth::well_formed(jeton) {
        return Err(unknown_token());
    }
    state.store.expected_by_token(jeton)?.ok_or_else(unknown_token)
}

/// Stores a received file and its submission row (before any check).
fn store(state: &Shared, expected: &Expected, received: Received) -> Result<i64, WebError> {
    let name = received.name.clone();
    let sha = received.sha256.clone();
    let size = received.size as i64;
    let (relative, created) = received.store(state.store.data_dir())?;
    match state.store.add_submission(expected.id, &name, &sha, &relative, size) {
        Ok(id) => Ok(id),
        Err(e) => {
            // No row: no file either (unless another submission holds the same content).
            if created {
                let _ = std::fs::remove_file(state.store.path_of(&relative));
            }
            Err(e.into())
        }
    }
}

/// Where a submission's annotated workbook is kept (a name the desk makes).
pub fn annotated_path(id: i64) -> String {
    format!("rapports/{id}.controle.xlsx")
}

/// Removes the id from the in-flight set when the check ends, however it ends.
struct InFlight<'a>(&'a Shared, i64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Ok(mut set) = self.0.in_flight.lock() {
            set.remove(&self.1);
        }
    }
}

/// Checks a stored submission and records the result. Returns false when it is
/// already being checked.
pub async fn check_submission(state: &Shared, id: i64, wait: Wait) -> Result<bool, WebError> {
    {
        let mut set = state
            .in_flight
            .lock()
            .map_err(|_| WebError::Internal("état du serveur indisponible".into()))?;
        if !set.insert(id) {
            return Ok(false);
        }
    }
    let _guard = InFlight(state, id);
    let sub = state.store.submission(id)?.ok_or(WebError::NotFound)?;
    if sub.etat != SubmissionState::Pending {
        return Ok(true);
    }
    let path = state.store.path_of(&sub.chemin);
    let out = state.store.path_of(&annotated_path(id));
    // Checked with the campaign's rules (overrides, CAMP-001/002).
    let expected = state.store.expected(sub.attendu_id)?.ok_or(WebError::NotFound)?;
    let campaign = state.store.campaign(expected.campagne_id)?.ok_or(WebError::NotFound)?;
    let checker = state.engine.for_campaign(campaign.id, &campaign.fichier)?;
    let checked = state
        .engine
        .check(Some(checker), path, sub.nom_fichier.clone(), Some(out), wait)
        .await?;
    if state.stopping.load(Ordering::SeqCst) {
        // The server is stopping: the submission stays pending for the next start.
        return Ok(true);
    }
    let follow_up = follow_up(state, &sub, &checked)?;
    let v = &checked.view;
    let result = CheckResult {
        statut: checked.report.status(),
        erreurs: v.errors as i64,
        avertissements: v.warnings as i64,
        informations: v.infos as i64,
        justifies: v.justified as i64,
        modele: v.template.clone(),
        organisation: v.organisation.clone(),
        rapport: serde_json::to_string(&checked.json).unwrap_or_default(),
        vue: serde_json::to_string(&checked.view).unwrap_or_default(),
        suivi: follow_up.and_then(|f| serde_json::to_string(&f).ok()),
        donnees: stored_data(checked.extraction.clone(), checked.cross.clone()),
    };
    state.store.record_check(id, &result)?;
    Ok(true)
}

/// The data kept with a submission: the extraction (`bilan extract`'s JSON,
/// for the next version's comparison) and, under `cross`, what the cross-file
/// rules read of it (for the campaign's exports, as `bilan batch` has it).
fn stored_data(extraction: Option<serde_json::Value>, cross: Option<serde_json::Value>) -> Option<String> {
    let mut v = extraction?;
    if let (Some(obj), Some(cross)) = (v.as_object_mut(), cross) {
        obj.insert("cross".into(), cross);
    }
    Some(v.to_string())
}

/// The comparison with the previous checked version of the same return, by
/// the library's diff engine (`bilan diff`): findings corrected, new, still
/// there, justified (same rule, same data pointer), and values changed.
fn follow_up(state: &Shared, sub: &Submission, checked: &Checked) -> Result<Option<FollowUp>, WebError> {
    let Some(prev) = state.store.previous_submission(sub.id)? else {
        return Ok(None);
    };
    let Some(mut old) = crate::web::service::summary_of(&prev, None).map(|s| s.report) else {
        return Ok(None);
    };
    old.extraction = prev
        .donnees
        .as_deref()
        .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        .as_ref()
        .and_then(crate::diff::extraction_of_json);
    let mut new = crate::outcome::FileReport {
        path: checked.report.path.clone(),
        sha256: checked.report.sha256.clone(),
        template: checked.report.template.clone(),
        template_version: checked.report.template_version.clone(),
        organisation: checked.report.organisation.clone(),
        cut_off: checked.report.cut_off.clone(),
        exercice: checked.report.exercice.clone(),
        findings: checked.report.findings.clone(),
        workbook: None,
        extraction: None,
    };
    new.extraction = checked.extraction.as_ref().and_then(crate::diff::extraction_of_json);
    let describe = |f: &crate::finding::Finding| match f.cell {
        Some(c) => format!("{} ({}!{c})", f.rule.as_str(), f.sheet.as_deref().unwrap_or("")),
        None => f.rule.as_str().to_string(),
    };
    let diff = match crate::diff::compare(&old, &new) {
        Ok(d) => d,
        // Another return than the previous one (template, organisation): no comparison.
        Err(_) => return Ok(None),
    };
    Ok(Some(FollowUp {
        previous: prev.id,
        corrected: diff.corriges.iter().map(describe).collect(),
        new: diff.nouveaux.iter().map(describe).collect(),
        still: diff.toujours_presents.iter().map(describe).collect(),
        justified: diff.justifies.iter().map(describe).collect(),
        values: {
            let checker = state.engine.checker();
            let template = new.template.as_deref().and_then(|id| checker.templates.get(id));
            let data = |r: &crate::outcome::FileReport| r.extraction.as_ref().map(|e| e.data.clone());
            let (old_data, new_data) = (data(&old), data(&new));
            diff.valeurs_modifiees
                .iter()
                .map(|c| crate::report::diff::value_change_fr(c, template, old_data.as_ref(), new_data.as_ref()))
                .collect()
        },
    }))
}

/// Checks every stored submission not checked yet: at start (a stop during a
/// check), and whenever a submission could not be checked at once (queue full).
pub async fn check_pending_loop(state: Shared) {
    loop {
        if let Ok(ids) = state.store.pending() {
            for id in ids {
                if state.stopping.load(Ordering::SeqCst) {
                    return;
                }
                if let Err(e) = check_submission(&state, id, Wait::Always).await {
                    eprintln!("bilan serve : contrôle de l'envoi {id} impossible : {e}");
                }
            }
        }
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), state.pending.notified()).await;
    }
}
