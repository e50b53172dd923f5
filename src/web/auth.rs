//! Who may do what: random tokens, reviewer passwords (argon2), sessions, API
//! keys and CSRF tokens.
//!
//! CSRF: every page that shows a form makes sure the browser holds a random
//! `bilan_csrf` cookie (`HttpOnly`, `SameSite=Strict`) and repeats its value in a
//! hidden field; a POST from a form is refused unless both are present and equal
//! (double submit; another site can neither read the cookie nor make the
//! browser send it).

use crate::base::format::hex;
use axum::http::{header, HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};

use super::error::WebError;
use super::storage::Storage;

pub const SESSION_COOKIE: &str = "bilan_session";
pub const CSRF_COOKIE: &str = "bilan_csrf";
pub const SESSION_SECONDS: i64 = 12 * 3600;
/// The reviewer account's name.
pub const REVIEWER: &str = "relecteur";

/// 32 random bytes as 64 hex digits (unguessable).
pub fn random_token() -> Result<String, WebError> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(|e| WebError::Internal(format!("aléa indisponible : {e}")))?;
    Ok(hex(&buf))
}

/// What the database keeps of a secret: its SHA-256.
pub fn digest(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

pub fn hash_password(password: &str) -> Result<String, WebError> {
    use argon2::PasswordHasher;
    argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| WebError::Internal(format!("hachage du mot de passe impossible : {e}")))
}

pub fn verify_password(password: &str, stored: &str) -> bool {
    use argon2::PasswordVerifier;
    let Ok(hash) = argon2::password_hash::phc::PasswordHash::new(stored) else {
        return false;
    };
    argon2::Argon2::default()
        .verify_password(password.as_bytes(), &hash)
        .is_ok()
}

/// A cookie's value from the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `Set-Cookie` for one of our cookies: `HttpOnly`, `SameSite=Strict`, whole site.
pub fn set_cookie(name: &str, value: &str, max_age: Option<i64>, secure: bool) -> HeaderValue {
    let mut s = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        s.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        s.push_str("; Secure");
    }
    HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The CSRF token of this browser: the cookie's, or a new one to set.
pub struct Csrf {
    pub token: String,
    pub is_new: bool,
}

impl Csrf {
    pub fn of(headers: &HeaderMap) -> Result<Self, WebError> {
        match cookie(headers, CSRF_COOKIE) {
            Some(token) if token.len() == 64 => Ok(Csrf { token, is_new: false }),
            _ => Ok(Csrf {
                token: random_token()?,
                is_new: true,
            }),
        }
    }

    /// Checks a submitted field against the cookie (constant time).
    pub fn verify(headers: &HeaderMap, field: Option<&str>) -> Result<(), WebError> {
        let (Some(c), Some(f)) = (cookie(headers, CSRF_COOKIE), field) else {
            return Err(WebError::Csrf);
        };
        if c.len() != 64 || c.len() != f.len() {
            return Err(WebError::Csrf);
        }
        let diff = c.bytes().zip(f.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if diff == 0 {
            Ok(())
        } else {
            Err(WebError::Csrf)
        }
    }
}

/// A reviewer, from the session cookie.
#[derive(Debug, Clone)]
pub struct Reviewer {
    pub id: i64,
    pub login: String,
}

pub fn reviewer(storage: &Storage, headers: &HeaderMap) -> Result<Option<Reviewer>, WebError> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let Some(id) = storage.session(&digest(&token))? else {
        return Ok(None);
    };
    let login = storage.reviewer_login(id)?.unwrap_or_else(|| REVIEWER.to_string());
    Ok(Some(Reviewer { id, login }))
}

/// A reviewer from the session or from `Authorization: Bearer KEY` (API).
pub fn api_reviewer(storage: &Storage, headers: &HeaderMap) -> Result<Option<Reviewer>, WebError> {
    if let Some(r) = reviewer(storage, headers)? {
        return Ok(Some(r));
    }
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(key) = key.filter(|k| !k.is_empty() && k.len() <= 128) else {
        return Ok(None);
    };
    let Some(id) = storage.api_key(&digest(key))? else {
        return Ok(None);
    };
    let login = storage.reviewer_login(id)?.unwrap_or_else(|| REVIEWER.to_string());
    Ok(Some(Reviewer { id, login }))
}

/// Setting up the reviewer account at start: the password from
/// `BILAN_ADMIN_PASSWORD`, or a one-time link (returned, to print) when no
/// password is set yet.
pub fn first_start(storage: &Storage, admin_password: Option<&str>) -> Result<Option<String>, WebError> {
    let (id, existing) = storage.reviewer(REVIEWER)?;
    if let Some(pw) = admin_password.filter(|p| !p.is_empty()) {
        let keep = existing.as_deref().is_some_and(|h| verify_password(pw, h));
        if !keep {
            storage.set_password(id, &hash_password(pw)?)?;
        }
        return Ok(None);
    }
    if existing.is_some() {
        return Ok(None);
    }
    let token = random_token()?;
    storage.add_setup_link(&digest(&token), id)?;
    Ok(Some(token))
}
