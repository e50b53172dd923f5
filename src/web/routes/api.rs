//! The JSON API of `web.md` (`/api/…`): the `rapport.json` format; errors are
//! JSON with a French `message`.

use std::collections::HashMap;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::{attachment, XLSX};
use crate::web::engine::Wait;
use crate::web::error::ApiError;
use crate::web::service::campaigns::campaign_report;
use crate::web::service::intake::{read_upload, Door, SELF_CHECK_FILES};
use crate::web::service::returns::{mismatch, mismatch_of, numbers, receipt};
use crate::web::service::submissions::deposit;
use crate::web::{Shared, WebError};

/// `{"statut": "ok", "version", "controles_en_cours", "en_attente"}`.
pub async fn health(State(state): State<Shared>) -> Json<Value> {
    let (running, waiting) = state.engine.load();
    Json(json!({
        "statut": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "controles_en_cours": running,
        "en_attente": waiting,
    }))
}

fn report_of(state: &Shared, files: Vec<Value>) -> Value {
    let mut value =
        crate::report::json::report(&[], &state.engine.checker().rules.name, chrono::Utc::now(), Vec::new());
    value["files"] = Value::Array(files);
    value
}

/// `POST /api/controle` (`fichier`, several allowed): the self-check's
/// `rapport.json`; with `?annote=1` and one file, the annotated workbook.
pub async fn self_check(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    multipart: Multipart,
) -> Result<Response, ApiError> {
    if !state.config.self_check {
        return Err(WebError::Forbidden("L'autocontrôle est désactivé sur ce serveur.".into()).into());
    }
    let form = read_upload(&state, &headers, multipart, Door::Api, SELF_CHECK_FILES).await?;
    if form.files.is_empty() {
        return Err(WebError::BadRequest(Door::Api.no_file_to_check().into()).into());
    }
    let annotate = q.get("annote").is_some_and(|v| v == "1");
    if annotate {
        if form.files.len() != 1 {
            return Err(WebError::BadRequest("Avec annote=1, envoyez un seul fichier.".into()).into());
        }
        let f = &form.files[0];
        let (_, bytes) = state
            .engine
            .check_annotated(
                f.temp_path().to_path_buf(),
                f.name.clone(),
                &state.store.data_dir().join("tmp"),
                Wait::IfRoom,
            )
            .await?;
        return Ok(attachment(bytes, &super::annotated_name(&f.name), XLSX));
    }
    let mut files = Vec::new();
    for f in &form.files {
        let checked = state
            .engine
            .check(None, f.temp_path().to_path_buf(), f.name.clone(), None, Wait::IfRoom)
            .await?;
        files.push(checked.json);
    }
    Ok(Json(report_of(&state, files)).into_response())
}

/// `POST /api/depots/{jeton}`: a submitter sends a return; 201 with the stored
/// submission's report.
pub async fn send(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(jeton): Path<String>,
    multipart: Multipart,
) -> Result<Response, ApiError> {
    let (expected, id) = deposit(&state, &jeton, &headers, multipart, Door::Api).await?;
    let sub = state.store.submission(id)?.ok_or(WebError::NotFound)?;
    let number = numbers(&state.store.submissions(expected.id)?)
        .get(&id)
        .copied()
        .unwrap_or(0);
    // The submitter is told at once when the file is another return than the
    // one this link expects (stored all the same).
    let mut submission = json!({
        "id": sub.id,
        "number": number,
        "received_at": sub.recu_le,
        "state": sub.etat,
        "message": receipt(&expected, &sub, number),
    });
    if let (Some(kind), Some(message)) = (mismatch_of(&expected, &sub), mismatch(&expected, &sub)) {
        submission["mismatch"] = json!({"code": kind.code(), "message": message});
    }
    let file = match sub
        .rapport
        .as_deref()
        .and_then(|r| serde_json::from_str::<Value>(r).ok())
    {
        Some(mut f) => {
            f["submission"] = submission;
            f
        }
        None => json!({
            "path": sub.nom_fichier, "sha256": sub.sha256,
            "submission": submission,
            "findings": [],
        }),
    };
    Ok((StatusCode::CREATED, Json(report_of(&state, vec![file]))).into_response())
}

/// `GET /api/campagnes/{id}`: the campaign's `rapport.json` (reviewer session or API key).
pub async fn campaign(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    if crate::web::auth::api_reviewer(&state.store, &headers, state.config.secure_cookies)?.is_none() {
        return Err(WebError::Unauthorized.into());
    }
    let value = campaign_report(&state, id)?;
    Ok(Json(value).into_response())
}
