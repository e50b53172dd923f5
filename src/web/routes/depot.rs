//! A submitter's page (reached by their personal link), sending a return, and
//! checking stored submissions — including those a stop left unchecked.

use std::sync::atomic::Ordering;

use axum::extract::{Multipart, Path, State};
use axum::http::HeaderMap;
use axum::response::{Redirect, Response};

use super::{attachment, max_size_fr, nav, with_cookie, XLSX};
use crate::web::engine::Wait;
use crate::web::pages::{render, FollowUp, ReturnPage, SubmissionItem};
use crate::web::storage::{CheckResult, Expected, Submission};
use crate::web::upload::{self, read_form, Received};
use crate::web::view::FileView;
use crate::web::{Shared, WebError};

pub fn unknown_token() -> WebError {
    WebError::Forbidden(
        "Lien de dépôt inconnu : vérifiez l'adresse reçue de la Région, ou demandez-lui un nouveau lien.".into(),
    )
}

/// The expected return a token opens (one organisation, one campaign).
pub fn expected_of(state: &Shared, jeton: &str) -> Result<Expected, WebError> {
    if jeton.len() != 64 || !jeton.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(unknown_token());
    }
    state.storage.expected_by_token(jeton)?.ok_or_else(unknown_token)
}

/// Stores a received file and its submission row (before any check).
pub fn store(state: &Shared, expected: &Expected, received: Received) -> Result<i64, WebError> {
    let name = received.name.clone();
    let sha = received.sha256.clone();
    let size = received.size as i64;
    let (relative, created) = received.store(state.storage.data_dir())?;
    match state.storage.add_submission(expected.id, &name, &sha, &relative, size) {
        Ok(id) => Ok(id),
        Err(e) => {
            // No row: no file either (unless another submission holds the same content).
            if created {
                let _ = std::fs::remove_file(state.storage.path_of(&relative));
            }
            Err(e)
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
    let sub = state.storage.submission(id)?.ok_or(WebError::NotFound)?;
    if sub.etat != "en_attente" {
        return Ok(true);
    }
    let path = state.storage.path_of(&sub.chemin);
    let out = state.storage.path_of(&annotated_path(id));
    // Checked with the campaign's rules (overrides, CAMP-001/002).
    let expected = state.storage.expected(sub.attendu_id)?.ok_or(WebError::NotFound)?;
    let campaign = state
        .storage
        .campaign(expected.campagne_id)?
        .ok_or(WebError::NotFound)?;
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
        statut: v.status.clone(),
        erreurs: v.errors as i64,
        avertissements: v.warnings as i64,
        informations: v.infos as i64,
        justifies: v.justified as i64,
        modele: v.template.clone(),
        organisation: v.organisation.clone(),
        rapport: serde_json::to_string(&checked.json).unwrap_or_default(),
        vue: serde_json::to_string(&checked.view).unwrap_or_default(),
        suivi: follow_up.and_then(|f| serde_json::to_string(&f).ok()),
        donnees: checked.extraction.as_ref().map(|d| d.to_string()),
    };
    state.storage.record_check(id, &result)?;
    Ok(true)
}

/// The comparison with the previous checked version of the same return, by
/// the library's diff engine (`bilan diff`): findings corrected, new, still
/// there, justified (same rule, same data pointer), and values changed.
fn follow_up(
    state: &Shared,
    sub: &Submission,
    checked: &crate::web::engine::Checked,
) -> Result<Option<FollowUp>, WebError> {
    let Some(prev) = state.storage.previous_submission(sub.id)? else {
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
        values: diff
            .valeurs_modifiees
            .iter()
            .map(crate::report::diff::value_change_fr)
            .collect(),
    }))
}

/// Checks every stored submission not checked yet: at start (a stop during a
/// check), and whenever a submission could not be checked at once (queue full).
pub async fn check_pending_loop(state: Shared) {
    loop {
        if let Ok(ids) = state.storage.pending() {
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

/// Sends a return: stores it, then checks it if a reader is free.
pub async fn receive_and_check(state: &Shared, expected: &Expected, received: Received) -> Result<i64, WebError> {
    let id = store(state, expected, received)?;
    match check_submission(state, id, Wait::IfRoom).await {
        Ok(_) => {}
        Err(WebError::Busy) => state.pending.notify_one(),
        Err(e) => {
            // Stored: it will be checked by the pending loop.
            eprintln!("bilan serve : contrôle de l'envoi {id} différé : {e}");
            state.pending.notify_one();
        }
    }
    Ok(id)
}

pub async fn send(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(jeton): Path<String>,
    multipart: Multipart,
) -> Result<Response, WebError> {
    let expected = expected_of(&state, &jeton)?;
    upload::check_length(&headers, state.config.max_file_size + 1_000_000)?;
    let mut form = read_form(
        multipart,
        &state.storage.data_dir().join("tmp"),
        upload::Limits {
            max_file: state.config.max_file_size,
            max_text: upload::MAX_TEXT_FIELD,
            max_files: 1,
            csrf: Some((headers.clone(), state.config.secure_cookies)),
        },
    )
    .await?;
    let Some(received) = form.files.pop() else {
        return Err(WebError::BadRequest("Choisissez le fichier à envoyer.".into()));
    };
    let id = receive_and_check(&state, &expected, received).await?;
    Ok(axum::response::IntoResponse::into_response(Redirect::to(&format!(
        "/depot/{jeton}#envoi-{id}"
    ))))
}

/// The data of a return page, for the submitter or a reviewer.
pub fn return_page(
    state: &Shared,
    headers: &HeaderMap,
    expected: Expected,
    reviewer: bool,
) -> Result<Response, WebError> {
    let (nav, cookie) = nav(state, headers)?;
    let campaign = state
        .storage
        .campaign(expected.campagne_id)?
        .ok_or(WebError::NotFound)?;
    let decisions = state.storage.decisions(expected.id)?;
    let prefix = if reviewer {
        format!("/retours/{}", expected.id)
    } else {
        format!("/depot/{}", expected.jeton)
    };
    let submissions = state
        .storage
        .submissions(expected.id)?
        .into_iter()
        .map(|s| SubmissionItem {
            mismatch: mismatch(&expected, &s),
            id: s.id,
            received: s.recu_le.replace('T', " à ").replace('Z', " UTC"),
            name: s.nom_fichier.clone(),
            sha256: s.sha256.clone(),
            checked: s.etat == "controle",
            view: s.vue.as_deref().and_then(|v| serde_json::from_str::<FileView>(v).ok()),
            annotated: format!("{prefix}/envois/{}/annote", s.id),
            follow_up: s.suivi.as_deref().and_then(|v| serde_json::from_str(v).ok()),
            decisions: decisions.iter().filter(|d| d.depot_id == Some(s.id)).cloned().collect(),
        })
        .collect();
    let link = deposit_link(state, &expected.jeton);
    let page = ReturnPage {
        nav,
        reviewer,
        campaign,
        send_action: format!("/depot/{}", expected.jeton),
        expected,
        submissions,
        decisions,
        max_size: max_size_fr(state.config.max_file_size),
        message: None,
        link,
    };
    Ok(with_cookie(render(&page), cookie))
}

/// A checked file that is not the return this link expects (another template
/// or organisation): said in words on the page.
fn mismatch(expected: &Expected, s: &crate::web::storage::Submission) -> Option<String> {
    if s.etat != "controle" {
        return None;
    }
    let norm = |t: &str| crate::base::values::normalize_label(t);
    let template_ok = s.modele.as_deref().is_none_or(|m| m == expected.modele);
    let org_ok = s
        .organisation
        .as_deref()
        .is_none_or(|o| norm(o) == norm(&expected.organisation));
    if template_ok && org_ok {
        return None;
    }
    Some(format!(
        "Ce fichier est un retour {} de « {} », alors que ce lien attend le retour {} de « {} » : vérifiez que vous avez envoyé le bon classeur.",
        s.modele.as_deref().unwrap_or("de modèle non reconnu"),
        s.organisation.as_deref().unwrap_or("organisation inconnue"),
        expected.modele,
        expected.organisation
    ))
}

/// The full address of a submitter's link.
pub fn deposit_link(state: &Shared, jeton: &str) -> String {
    let base = state
        .config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", state.config.bind));
    format!("{base}/depot/{jeton}")
}

pub async fn page(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(jeton): Path<String>,
) -> Result<Response, WebError> {
    let expected = expected_of(&state, &jeton)?;
    return_page(&state, &headers, expected, false)
}

/// The annotated workbook of one of this submitter's own submissions.
pub async fn annotated(
    State(state): State<Shared>,
    Path((jeton, id)): Path<(String, i64)>,
) -> Result<Response, WebError> {
    let expected = expected_of(&state, &jeton)?;
    annotated_of(&state, &expected, id)
}

pub fn annotated_of(state: &Shared, expected: &Expected, id: i64) -> Result<Response, WebError> {
    let sub = state.storage.submission(id)?.ok_or(WebError::NotFound)?;
    if sub.attendu_id != expected.id {
        return Err(WebError::NotFound);
    }
    let bytes = std::fs::read(state.storage.path_of(&annotated_path(id))).map_err(|_| WebError::NotFound)?;
    Ok(attachment(bytes, &super::annotated_name(&sub.nom_fichier), XLSX))
}
