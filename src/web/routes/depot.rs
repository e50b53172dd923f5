//! A submitter's page (reached by their personal link), sending a return, and
//! checking stored submissions — including those a stop left unchecked.

use std::sync::atomic::Ordering;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{Redirect, Response};

use super::{attachment, max_size_fr, nav, with_cookie, XLSX};
use crate::web::engine::Wait;
use crate::web::pages::{render, FollowUp, ReturnPage, SubmissionItem};
use crate::web::store::{CheckResult, Expected, Submission, SubmissionState};
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
    state.store.expected_by_token(jeton)?.ok_or_else(unknown_token)
}

/// Stores a received file and its submission row (before any check).
pub fn store(state: &Shared, expected: &Expected, received: Received) -> Result<i64, WebError> {
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
fn follow_up(
    state: &Shared,
    sub: &Submission,
    checked: &crate::web::engine::Checked,
) -> Result<Option<FollowUp>, WebError> {
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
        &state.store.data_dir().join("tmp"),
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
        "/depot/{jeton}?recu={id}#envoi-{id}"
    ))))
}

/// The data of a return page, for the submitter or a reviewer. `received`: the
/// submission just sent (its receipt is said at the top of the page).
pub fn return_page(
    state: &Shared,
    headers: &HeaderMap,
    expected: Expected,
    reviewer: bool,
    received: Option<i64>,
) -> Result<Response, WebError> {
    let (nav, cookie) = nav(state, headers)?;
    let campaign = state.store.campaign(expected.campagne_id)?.ok_or(WebError::NotFound)?;
    let decisions = state.store.decisions(expected.id)?;
    let prefix = if reviewer {
        format!("/retours/{}", expected.id)
    } else {
        format!("/depot/{}", expected.jeton)
    };
    let all = state.store.submissions(expected.id)?;
    let numbers = numbers(&all);
    let number_of = |id: i64| numbers.get(&id).copied().unwrap_or(0);
    let mut notice = None;
    let submissions = all
        .into_iter()
        .map(|s| {
            if received == Some(s.id) {
                notice = Some(receipt(&expected, &s, number_of(s.id)));
            }
            SubmissionItem {
                mismatch: mismatch(&expected, &s),
                id: s.id,
                number: number_of(s.id),
                received: stamp_fr(&s.recu_le),
                name: s.nom_fichier.clone(),
                sha256: s.sha256.clone(),
                checked: s.is_checked(),
                view: s.vue.as_deref().and_then(|v| serde_json::from_str::<FileView>(v).ok()),
                annotated: format!("{prefix}/envois/{}/annote", s.id),
                follow_up: s
                    .suivi
                    .as_deref()
                    .and_then(|v| serde_json::from_str::<FollowUp>(v).ok())
                    .map(|mut f| {
                        f.previous = number_of(f.previous);
                        f
                    }),
                decisions: decisions
                    .iter()
                    .filter(|d| d.depot_id == Some(s.id))
                    .cloned()
                    .map(dated)
                    .collect(),
            }
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
        decisions: decisions.into_iter().map(dated).collect(),
        max_size: max_size_fr(state.config.max_file_size),
        message: notice.as_deref(),
        link,
    };
    Ok(with_cookie(render(&page), cookie))
}

/// The submissions of one return numbered 1, 2, 3… in the order they came
/// (`submissions` is newest first): the number the page, the dashboard and the
/// API show.
pub fn numbers(submissions: &[Submission]) -> std::collections::HashMap<i64, i64> {
    let n = submissions.len() as i64;
    submissions
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id, n - i as i64))
        .collect()
}

/// A stored time (`2026-12-07T16:28:03Z`) as people read it, in local time:
/// `07/12/2026 à 17:28` (the same form as every report's date of check).
pub fn stamp_fr(stored: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(stored)
        .map(|t| crate::base::messages::checked_at(t.with_timezone(&chrono::Utc)))
        .unwrap_or_else(|_| stored.to_string())
}

fn dated(mut d: crate::web::store::Decision) -> crate::web::store::Decision {
    d.decide_le = stamp_fr(&d.decide_le);
    d
}

/// What the submitter reads after « Envoyer à la Région ».
pub fn receipt(expected: &Expected, s: &Submission, number: i64) -> String {
    let head = format!(
        "Votre fichier « {} » a bien été reçu par la Région le {} (envoi n° {number}) et enregistré.",
        s.nom_fichier,
        stamp_fr(&s.recu_le)
    );
    match (s.etat, mismatch_of(expected, s)) {
        (_, Some(_)) => format!("{head} Attention : ce n'est pas le retour attendu par ce lien (voir ci-dessous)."),
        (SubmissionState::Checked, None) => format!("{head} Son contrôle est ci-dessous."),
        _ => format!("{head} Son contrôle est en cours : rechargez la page dans un instant."),
    }
}

/// How a checked file differs from the return its link expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mismatch {
    /// Another template than the expected one (or none recognised).
    Template,
    /// The expected template, another organisation.
    Organisation,
}

impl Mismatch {
    /// The dashboard's words: « À vérifier : autre modèle ».
    pub fn label(self) -> &'static str {
        match self {
            Mismatch::Template => "À vérifier : autre modèle",
            Mismatch::Organisation => "À vérifier : autre organisation",
        }
    }

    /// The value in JSON answers and the dashboard's filter.
    pub fn code(self) -> &'static str {
        match self {
            Mismatch::Template => "autre_modele",
            Mismatch::Organisation => "autre_organisation",
        }
    }
}

/// Whether a checked submission is another return than the one expected: such
/// a file is kept (nothing is lost) but never counts as the expected return.
/// An organisation is compared as labels are (case, accents and spaces aside).
pub fn mismatch_of(expected: &Expected, s: &Submission) -> Option<Mismatch> {
    if !s.is_checked() {
        return None;
    }
    // A file whose template or organisation could not be read is not another
    // return: it is « Non conforme », and its findings say why.
    if s.modele.as_deref().is_some_and(|m| m != expected.modele) {
        return Some(Mismatch::Template);
    }
    let norm = crate::base::values::normalize_label;
    match s.organisation.as_deref() {
        Some(o) if norm(o) != norm(&expected.organisation) => Some(Mismatch::Organisation),
        _ => None,
    }
}

/// The same, said to the submitter in words.
pub fn mismatch(expected: &Expected, s: &Submission) -> Option<String> {
    let kind = mismatch_of(expected, s)?;
    let what = match kind {
        Mismatch::Template => "Il ne compte pas comme le retour attendu",
        Mismatch::Organisation => "Il ne compte pas comme le retour de votre organisation",
    };
    Some(format!(
        "Ce fichier est un retour {} de « {} », alors que ce lien attend le retour {} de « {} ». {what} : il est conservé, mais la Région le vérifiera avant tout. Si vous vous êtes trompé de classeur, envoyez le bon.",
        s.modele.as_deref().unwrap_or_default(),
        s.organisation.as_deref().unwrap_or_default(),
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
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Result<Response, WebError> {
    let expected = expected_of(&state, &jeton)?;
    let received = q.get("recu").and_then(|v| v.parse().ok());
    return_page(&state, &headers, expected, false, received)
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
    let sub = state.store.submission(id)?.ok_or(WebError::NotFound)?;
    if sub.attendu_id != expected.id {
        return Err(WebError::NotFound);
    }
    let bytes = std::fs::read(state.store.path_of(&annotated_path(id))).map_err(|_| WebError::NotFound)?;
    Ok(attachment(bytes, &super::annotated_name(&sub.nom_fichier), XLSX))
}
