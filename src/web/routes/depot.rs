//! A submitter's side, reached by their personal link: their return's page,
//! sending a return (the service `service::submissions::deposit`, shared with
//! the API), and their own annotated workbooks.

use std::collections::HashMap;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};

use super::returns;
use crate::web::service::intake::Door;
use crate::web::service::submissions::{deposit, expected_of};
use crate::web::{Shared, WebError};

pub async fn send(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(jeton): Path<String>,
    multipart: Multipart,
) -> Result<Response, WebError> {
    let (_, id) = deposit(&state, &jeton, &headers, multipart, Door::Page).await?;
    Ok(Redirect::to(&format!("/depot/{jeton}?recu={id}#envoi-{id}")).into_response())
}

pub async fn page(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(jeton): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let expected = expected_of(&state, &jeton)?;
    let received = q.get("recu").and_then(|v| v.parse().ok());
    returns::page(&state, &headers, expected, false, received)
}

/// The annotated workbook of one of this submitter's own submissions.
pub async fn annotated(
    State(state): State<Shared>,
    Path((jeton, id)): Path<(String, i64)>,
) -> Result<Response, WebError> {
    let expected = expected_of(&state, &jeton)?;
    returns::annotated_of(&state, &expected, id)
}
