//! The routes of `web.md`, and what every response carries (security headers).

pub mod accounts;
pub mod api;
pub mod campaigns;
pub mod dashboard;
pub mod depot;
pub mod public;
pub mod returns;
pub mod session;

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
        .route("/connexion", get(session::login_page).post(session::login))
        .route("/deconnexion", post(session::logout))
        .route("/initialisation/{jeton}", get(session::setup_page).post(session::setup))
        .route(
            "/campagnes",
            get(campaigns::campaigns)
                .post(campaigns::create_campaign)
                .layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/campagnes/formulaire",
            post(campaigns::campaign_form).layer(DefaultBodyLimit::disable()),
        )
        .route("/campagnes/{id}", get(dashboard::dashboard))
        .route("/campagnes/{id}/attendus", post(campaigns::add_expected))
        .route("/campagnes/{id}/synthese.xlsx", get(dashboard::synthesis))
        .route("/campagnes/{id}/rapport.json", get(dashboard::report_json))
        .route("/campagnes/{id}/annotes.zip", get(dashboard::export_zip))
        .route("/campagnes/{id}/export.zip", get(dashboard::export_zip))
        .route("/campagnes/{id}/campagne.toml", get(dashboard::campaign_file))
        .route("/campagnes/{id}/attendus.csv", get(dashboard::expected_csv))
        .route("/retours/{id}", get(returns::reviewer_page))
        .route("/retours/{id}/decision", post(returns::decide))
        .route("/retours/{id}/envois/{envoi}/annote", get(returns::annotated))
        .route("/cle-api", post(accounts::new_api_key))
        .route("/cles-api", get(accounts::keys_page).post(accounts::new_api_key))
        .route("/cles-api/{id}/revoquer", post(accounts::revoke_key))
        .route("/comptes", get(accounts::accounts_page).post(accounts::create_account))
        .route("/comptes/{id}/desactiver", post(accounts::disable_account))
        .route("/journal", get(accounts::journal_page))
        .route("/accessibilite", get(public::accessibility))
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
    let path = req.uri().path().to_string();
    let mut resp = next.run(req).await;
    if let Some(french) = french_rejection(&path, &resp) {
        resp = french;
    }
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

/// The errors axum answers by itself (a body that is not the expected form, no
/// multipart boundary, a wrong content type, a path parameter that is not a
/// number, a method not allowed…) come in English `text/plain` or empty: they
/// are replaced by the same error in French, JSON under `/api/`, a page elsewhere.
fn french_rejection(path: &str, resp: &Response) -> Option<Response> {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return None;
    }
    let kind = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if kind.starts_with("application/json") || kind.starts_with("text/html") {
        return None;
    }
    let upload = path.starts_with("/api/controle") || path.starts_with("/api/depots/");
    let message = match status.as_u16() {
        400 | 415 | 422 if upload => {
            "Envoi mal formé : il faut un formulaire multipart/form-data (avec sa limite « boundary ») \
             portant le fichier dans le champ « fichier ». Rien n'a été enregistré."
        }
        400 | 422 => "Demande mal formée : un champ manque ou n'a pas la forme attendue.",
        415 => "Type de contenu non pris en charge pour cette adresse.",
        405 => "Méthode non autorisée pour cette adresse.",
        413 => "Envoi trop volumineux : rien n'a été enregistré.",
        404 => "Page introuvable.",
        408 => "Envoi trop lent : la connexion a été fermée, rien n'a été enregistré.",
        _ if status.is_server_error() => "Erreur interne du serveur.",
        _ => "Demande refusée.",
    };
    let mut out = if path.starts_with("/api/") {
        (status, axum::Json(serde_json::json!({ "message": message }))).into_response()
    } else {
        super::pages::error_page(status, message)
    };
    if let Some(allow) = resp.headers().get(header::ALLOW) {
        out.headers_mut().insert(header::ALLOW, allow.clone());
    }
    Some(out)
}

/// The layout's data for this request, and the CSRF cookie to set if the
/// browser has none yet.
pub fn nav(state: &Shared, headers: &HeaderMap) -> Result<(Nav, Option<HeaderValue>), WebError> {
    let secure = state.config.secure_cookies;
    let csrf = Csrf::of(headers, secure)?;
    let reviewer = auth::reviewer(&state.store, headers, secure)?;
    let cookie = csrf
        .new_cookie
        .map(|c| auth::set_cookie(auth::csrf_cookie(secure), &c, None, secure));
    let mut nav = Nav::new(reviewer.is_some(), &csrf.token);
    nav.admin = reviewer.is_some_and(|r| r.admin);
    Ok((nav, cookie))
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
