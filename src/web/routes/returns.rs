//! A return's page, the same for its submitter (by their link) and its
//! reviewers (who also decide), and the annotated workbook of one of its
//! submissions.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};

use super::session::{require, Posted};
use super::{annotated_name, attachment, max_size_fr, nav, with_cookie, XLSX};
use crate::web::pages::{render, FollowUp, ReturnPage, SubmissionItem};
use crate::web::service::returns::{dated, deposit_link, mismatch, numbers, receipt, stamp_fr};
use crate::web::service::submissions::annotated_path;
use crate::web::store::{DecisionKind, Expected};
use crate::web::view::FileView;
use crate::web::{Shared, WebError};

/// The data of a return page, for the submitter or a reviewer. `received`: the
/// submission just sent (its receipt is said at the top of the page).
pub fn page(
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

// ---- the reviewer's side ------------------------------------------------

/// `/retours/{id}`: the return's page with the decision form.
pub async fn reviewer_page(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    require(&state, &headers)?;
    let expected = state.store.expected(id)?.ok_or(WebError::NotFound)?;
    page(&state, &headers, expected, true, None)
}

pub async fn decide(State(state): State<Shared>, Path(id): Path<i64>, posted: Posted) -> Result<Response, WebError> {
    let reviewer = posted.reviewer(&state)?;
    let form = &posted.form;
    let expected = state.store.expected(id)?.ok_or(WebError::NotFound)?;
    let decision = match form.get("decision").map(|d| d.parse::<DecisionKind>()) {
        Some(Ok(d)) => d,
        _ => {
            return Err(WebError::BadRequest(
                "Choisissez « Acceptée » ou « À corriger ».".into(),
            ))
        }
    };
    let comment: String = form
        .get("commentaire")
        .map(|c| c.trim().chars().take(5000).collect())
        .unwrap_or_default();
    let latest = state.store.submissions(expected.id)?.first().map(|s| s.id);
    state
        .store
        .add_decision(expected.id, latest, decision, &comment, &reviewer.login)?;
    posted.journal(
        &state,
        &reviewer.login,
        "décision",
        &format!(
            "{} de « {} » (envoi n° {}) : {decision}",
            expected.modele,
            expected.organisation,
            latest.map(|l| l.to_string()).unwrap_or_else(|| "aucun".into())
        ),
    )?;
    Ok(Redirect::to(&format!("/retours/{id}")).into_response())
}

pub async fn annotated(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path((id, envoi)): Path<(i64, i64)>,
) -> Result<Response, WebError> {
    require(&state, &headers)?;
    let expected = state.store.expected(id)?.ok_or(WebError::NotFound)?;
    annotated_of(&state, &expected, envoi)
}

/// The annotated workbook of a submission of this return (404 for another return's).
pub fn annotated_of(state: &Shared, expected: &Expected, id: i64) -> Result<Response, WebError> {
    let sub = state.store.submission(id)?.ok_or(WebError::NotFound)?;
    if sub.attendu_id != expected.id {
        return Err(WebError::NotFound);
    }
    let bytes = std::fs::read(state.store.path_of(&annotated_path(id))).map_err(|_| WebError::NotFound)?;
    Ok(attachment(bytes, &annotated_name(&sub.nom_fichier), XLSX))
}
