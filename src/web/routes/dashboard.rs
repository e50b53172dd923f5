//! A campaign's dashboard and its downloads (`rapport.json`, `synthese.xlsx`,
//! the zip, the campaign file, `attendus.csv`), for reviewers.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::session::require;
use super::{attachment, nav, with_cookie, XLSX};
use crate::web::export::Export;
use crate::web::pages::{render, CrossFinding, Dashboard, Filters};
use crate::web::service::campaigns::{campaign_report, parse_campaign};
use crate::web::store::Campaign;
use crate::web::{Shared, WebError};

pub async fn dashboard(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let campaign = campaign_of(&state, &headers, id)?;
    let overrides = parse_campaign(&state, &campaign.fichier, "campagne.toml")
        .map(|h| h.overrides)
        .unwrap_or_default();
    let filters = Filters {
        modele: q.get("modele").cloned().unwrap_or_default(),
        statut: q.get("statut").cloned().unwrap_or_default(),
        manquants: q.get("manquants").is_some_and(|v| v == "1"),
        a_decider: q.get("a_decider").is_some_and(|v| v == "1"),
    };
    let (rows, tally) = crate::web::service::dashboard::rows(&state, id, &filters)?;
    let cross = crate::web::export::gather(&state, id)?
        .cross
        .into_iter()
        .map(|b| CrossFinding {
            rule: b.finding.rule.as_str().to_string(),
            severity: b.finding.severity.as_str().to_string(),
            severity_label: b.finding.severity.title_fr().to_string(),
            message: b.finding.message,
            file: b.file.unwrap_or_default(),
        })
        .collect();
    let (nav, cookie) = nav(&state, &headers)?;
    let page = Dashboard {
        nav,
        overrides,
        rows,
        templates: state
            .engine
            .checker()
            .templates
            .ids()
            .into_iter()
            .map(str::to_string)
            .collect(),
        filters,
        tally,
        cross,
        base_url: String::new(),
        campaign,
    };
    Ok(with_cookie(render(&page), cookie))
}

/// A campaign of this request's reviewer (else the login page; 404 if none).
fn campaign_of(state: &Shared, headers: &HeaderMap, id: i64) -> Result<Campaign, WebError> {
    require(state, headers)?;
    state.store.campaign(id)?.ok_or(WebError::NotFound)
}

/// A file made from the campaign's export, off the request threads (a
/// workbook or a zip of many takes a while).
async fn from_export(
    state: &Shared,
    headers: &HeaderMap,
    id: i64,
    make: fn(Export) -> Result<Vec<u8>, WebError>,
) -> Result<Vec<u8>, WebError> {
    campaign_of(state, headers, id)?;
    let export = crate::web::export::gather(state, id)?;
    tokio::task::spawn_blocking(move || make(export))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?
}

pub async fn report_json(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    campaign_of(&state, &headers, id)?;
    let value = campaign_report(&state, id)?;
    let text = serde_json::to_string_pretty(&value).unwrap_or_default() + "\n";
    Ok(attachment(text.into_bytes(), "rapport.json", "application/json"))
}

pub async fn synthesis(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let bytes = from_export(&state, &headers, id, |e| e.synthese()).await?;
    Ok(attachment(bytes, "synthese.xlsx", XLSX))
}

/// One zip with `synthese.xlsx`, `rapport.json` and `annotes/`, laid out as
/// `bilan batch --out` lays them out (the synthesis' links work once unzipped).
pub async fn export_zip(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let bytes = from_export(&state, &headers, id, |e| e.zip()).await?;
    Ok(attachment(bytes, &format!("campagne-{id}.zip"), "application/zip"))
}

/// The campaign file as stored: the bytes its SHA-256 is of, so that
/// `bilan batch --campagne` on it states the same fingerprint.
pub async fn campaign_file(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let campaign = campaign_of(&state, &headers, id)?;
    Ok(attachment(
        campaign.fichier.into_bytes(),
        "campagne.toml",
        "application/toml",
    ))
}

/// The campaign's expected returns as the `attendus.csv` its file names.
pub async fn expected_csv(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    campaign_of(&state, &headers, id)?;
    let list: Vec<crate::batch::Expected> = state
        .store
        .dashboard(id)?
        .into_iter()
        .map(|r| crate::batch::Expected {
            template: r.expected.modele,
            organisation: r.expected.organisation,
        })
        .collect();
    Ok(attachment(
        crate::web::campaign_form::expected_csv(&list).into_bytes(),
        "attendus.csv",
        "text/csv; charset=utf-8",
    ))
}
