//! The one error type of the desk, and how it becomes a response: an HTML page
//! for people, JSON with a French `message` under `/api/`.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug)]
pub enum WebError {
    /// 400: the request is malformed (missing field, not a form…).
    BadRequest(String),
    /// 403: a CSRF token is missing or wrong.
    Csrf,
    /// 403: an unknown token, or a page that is not the caller's.
    Forbidden(String),
    /// A reviewer page without a session: to the login page.
    LoginRequired,
    /// 401 under `/api/`: no session and no valid API key.
    Unauthorized,
    NotFound,
    /// 413: the upload is larger than the limit (bytes).
    TooLarge(u64),
    /// 413: a form with too many or too long text fields (at most so many
    /// fields of so many bytes).
    FormTooLarge(usize, usize),
    /// 503: the check queue is full.
    Busy,
    /// 507 (disk full, quota, file size limit) or 500 (any other write error):
    /// nothing was kept. The text says what failed.
    Storage(std::io::ErrorKind, String),
    /// 429: too many failed logins; retry after so many seconds.
    Throttled(u64),
    /// 500: something on our side; the text is for the log and the page.
    Internal(String),
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::Csrf | WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::LoginRequired => StatusCode::SEE_OTHER,
            WebError::Unauthorized => StatusCode::UNAUTHORIZED,
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::TooLarge(_) | WebError::FormTooLarge(..) => StatusCode::PAYLOAD_TOO_LARGE,
            WebError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Storage(kind, _) if disk_full(*kind) => StatusCode::INSUFFICIENT_STORAGE,
            WebError::Storage(..) | WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            WebError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// What the user reads, in French.
    pub fn message(&self) -> String {
        match self {
            WebError::BadRequest(m) | WebError::Forbidden(m) => m.clone(),
            WebError::Csrf => {
                "Formulaire expiré ou envoyé depuis un autre site : rechargez la page et recommencez.".into()
            }
            WebError::LoginRequired | WebError::Unauthorized => "Connexion requise.".into(),
            WebError::NotFound => "Page introuvable.".into(),
            WebError::TooLarge(limit) => format!(
                "Fichier trop volumineux : la limite est de {} ; rien n'a été enregistré.",
                size_fr(*limit)
            ),
            WebError::FormTooLarge(fields, bytes) => format!(
                "Formulaire trop volumineux : au plus {fields} champs de texte de {} Ko chacun ; rien n'a été enregistré.",
                bytes / 1024
            ),
            WebError::Busy => "Serveur occupé, réessayez dans un instant : rien n'a été perdu.".into(),
            WebError::Internal(m) => format!("Erreur interne du serveur : {m}"),
            WebError::Storage(kind, what) if disk_full(*kind) => format!(
                "Enregistrement impossible, l'espace disque du serveur est épuisé ({what}) : rien n'a été enregistré. \
                 Réessayez plus tard ou prévenez la Région."
            ),
            WebError::Storage(_, what) => format!(
                "Enregistrement impossible sur le serveur ({what}) : rien n'a été enregistré. \
                 Réessayez plus tard ou prévenez la Région."
            ),
            WebError::Throttled(secs) => {
                format!("Trop d'essais de connexion manqués : réessayez dans {secs} secondes.")
            }
        }
    }

    /// A write error of the disk, in French (disk full gives 507).
    pub fn storage(what: &str, e: &std::io::Error) -> Self {
        WebError::Storage(e.kind(), format!("{what} : {}", io_fr(e)))
    }

    /// Headers every rendering of this error carries (`Retry-After`).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            WebError::Busy => Some(5),
            WebError::Throttled(s) => Some(*s),
            _ => None,
        }
    }

    /// The same error as JSON (for `/api/`).
    pub fn into_api(self) -> Response {
        let status = if matches!(self, WebError::LoginRequired) {
            StatusCode::UNAUTHORIZED
        } else {
            self.status()
        };
        self.log();
        let mut resp = (status, axum::Json(json!({ "message": self.message() }))).into_response();
        if let Some(secs) = self.retry_after() {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        }
        resp
    }

    pub fn log(&self) {
        match self {
            WebError::Internal(m) | WebError::Storage(_, m) => eprintln!("bilan serve : {m}"),
            _ => {}
        }
    }
}

impl std::fmt::Display for WebError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

/// An error under `/api/`: the same enum, rendered as JSON.
pub struct ApiError(pub WebError);

impl From<WebError> for ApiError {
    fn from(e: WebError) -> Self {
        ApiError(e)
    }
}

impl From<crate::web::store::StoreError> for ApiError {
    fn from(e: crate::web::store::StoreError) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.into_api()
    }
}

/// The store's errors, answered once here: a full disk is a 507 (nothing
/// was kept), a missing row a 404, a conflict a 400 with its French text,
/// anything else a 500.
impl From<crate::web::store::StoreError> for WebError {
    fn from(e: crate::web::store::StoreError) -> Self {
        use crate::web::store::StoreError;
        match e {
            StoreError::DiskFull => WebError::Storage(std::io::ErrorKind::StorageFull, "base de données".into()),
            StoreError::NotFound(_) => WebError::NotFound,
            StoreError::Conflict(m) => WebError::BadRequest(m),
            e => WebError::Internal(e.to_string()),
        }
    }
}

/// `52 428 800 octets (50 Mo)`.
pub fn size_fr(bytes: u64) -> String {
    let int = crate::base::format::int_fr(bytes as i128);
    if bytes >= 1_000_000 {
        format!("{int} octets ({} Mo)", bytes / 1_000_000)
    } else {
        format!("{int} octets")
    }
}

/// A system error in French (never `os error 2`): one home, [`crate::base::messages::io_error`].
pub use crate::base::messages::io_error as io_fr;

/// Whether a write error means "no room left" (507 rather than 500).
pub fn disk_full(kind: std::io::ErrorKind) -> bool {
    use std::io::ErrorKind::*;
    matches!(kind, StorageFull | FileTooLarge | QuotaExceeded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::store::{StoreError, UnknownValue};

    #[test]
    fn each_store_error_answers_once_with_its_status_and_french() {
        let full: WebError = StoreError::DiskFull.into();
        assert_eq!(full.status(), StatusCode::INSUFFICIENT_STORAGE);
        assert!(
            full.message().contains("espace disque du serveur est épuisé"),
            "{}",
            full.message()
        );
        let missing: WebError = StoreError::NotFound("envoi").into();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        let taken: WebError = StoreError::Conflict("L'identifiant « a » existe déjà.".into()).into();
        assert_eq!(taken.status(), StatusCode::BAD_REQUEST);
        assert_eq!(taken.message(), "L'identifiant « a » existe déjà.");
        let unknown: WebError = StoreError::Unknown(UnknownValue {
            column: "depots.etat",
            value: "perdu".into(),
        })
        .into();
        assert_eq!(unknown.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            unknown.message(),
            "Erreur interne du serveur : base de données : valeur inconnue « perdu » dans la colonne « depots.etat »"
        );
        let busy: WebError = StoreError::Unavailable.into();
        assert_eq!(
            busy.message(),
            "Erreur interne du serveur : base de données indisponible"
        );
    }
}
