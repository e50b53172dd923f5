//! The routes of `web.md`, and what every response carries (security headers).

pub mod api;
pub mod depot;
pub mod public;
pub mod reviewer;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use super::auth::{self, Csrf};
use super::pages::Nav;
use super::{Shared, WebError};

pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/", get(public::home))
        .route("/controle", post(public::self_check).layer(DefaultBodyLimit::disable()))
        .route("/controle/{key}/annote", get(public::self_check_annotated))
        .route("/modeles", get(public::templates))
        .route("/modeles/{file}", get(public::blank_template))
        .route("/regles/{id}", get(public::rule))
        .route("/static/{file}", get(public::asset))
        .route(
            "/depot/{jeton}",
            get(depot::page).post(depot::send).layer(DefaultBodyLimit::disable()),
        )
        .route("/depot/{jeton}/envois/{id}/annote", get(depot::annotated))
        .route("/connexion", get(reviewer::login_page).post(reviewer::login))
        .route("/deconnexion", post(reviewer::logout))
        .route(
            "/initialisation/{jeton}",
            get(reviewer::setup_page).post(reviewer::setup),
        )
        .route(
            "/campagnes",
            get(reviewer::campaigns)
                .post(reviewer::create_campaign)
                .layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/campagnes/formulaire",
            post(reviewer::campaign_form).layer(DefaultBodyLimit::disable()),
        )
        .route("/campagnes/{id}", get(reviewer::dashboard))
        .route("/campagnes/{id}/attendus", post(reviewer::add_expected))
        .route("/campagnes/{id}/synthese.xlsx", get(reviewer::synthesis))
        .route("/campagnes/{id}/rapport.json", get(reviewer::report_json))
        .route("/campagnes/{id}/annotes.zip", get(reviewer::export_zip))
        .route("/campagnes/{id}/export.zip", get(reviewer::export_zip))
        .route("/campagnes/{id}/campagne.toml", get(reviewer::campaign_file))
        .route("/campagnes/{id}/attendus.csv", get(reviewer::expected_csv))
        .route("/retours/{id}", get(reviewer::return_page))
        .route("/retours/{id}/decision", post(reviewer::decide))
        .route("/retours/{id}/envois/{envoi}/annote", get(reviewer::annotated))
        .route("/cle-api", post(reviewer::new_api_key))
        .route("/api/sante", get(api::health))
        .route(
            "/api/controle",
            post(api::self_check).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/api/depots/{jeton}",
            post(api::send).layer(DefaultBodyLimit::disable()),
        )
        .route("/api/campagnes/{id}", get(api::campaign))
        .fallback(|| async { WebError::NotFound })
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(state)
}

/// No inline script or style, no framing, no referrer (a submitter's link holds
/// their token), no content sniffing.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// The layout's data for this request, and the CSRF cookie to set if the
/// browser has none yet.
pub fn nav(state: &Shared, headers: &HeaderMap) -> Result<(Nav, Option<HeaderValue>), WebError> {
    let csrf = Csrf::of(headers)?;
    let reviewer = auth::reviewer(&state.storage, headers)?.is_some();
    let cookie = csrf
        .is_new
        .then(|| auth::set_cookie(auth::CSRF_COOKIE, &csrf.token, None, state.config.secure_cookies));
    Ok((Nav::new(reviewer, &csrf.token), cookie))
}

/// A page response with the CSRF cookie when it is new.
pub fn with_cookie(resp: impl IntoResponse, cookie: Option<HeaderValue>) -> Response {
    let mut resp = resp.into_response();
    if let Some(c) = cookie {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

/// A download: attachment with a safe name (ASCII fallback and UTF-8 name).
pub fn attachment(bytes: Vec<u8>, name: &str, content_type: &'static str) -> Response {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ' | '(' | ')') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let disposition = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}");
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// `pole-itrans.xlsx` → `pole-itrans.controle.xlsx` (the CLI's naming).
pub fn annotated_name(original: &str) -> String {
    crate::output::report_file_name(std::path::Path::new(original))
}

/// The size limit in words.
pub fn max_size_fr(bytes: u64) -> String {
    if bytes >= 1_000_000 {
        format!("{} Mo", bytes / 1_000_000)
    } else {
        format!("{} octets", crate::base::format::int_fr(bytes as i128))
    }
}
