//! Who may do what: random tokens, reviewer passwords (argon2), sessions, API
//! keys, CSRF tokens and the login throttle.
//!
//! CSRF: every page that shows a form makes sure the browser holds a random
//! CSRF cookie (`HttpOnly`, `SameSite=Strict`); the hidden field of its forms
//! holds a token derived from the session cookie (or, before login, from that
//! CSRF cookie) with a secret of the server: a POST is refused unless the field
//! is that token. A token of another session, or a cookie/field pair made up by
//! the client, is refused.
//!
//! Over HTTPS the cookies are named `__Host-…` (the browser then only accepts
//! them from this very host, `Secure`, with `Path=/`).

use crate::base::format::hex;
use axum::http::{header, HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};

use super::error::WebError;
use super::store::Store;

pub const SESSION_COOKIE: &str = "bilan_session";
pub const CSRF_COOKIE: &str = "bilan_csrf";
pub const SECURE_SESSION_COOKIE: &str = "__Host-bilan_session";
pub const SECURE_CSRF_COOKIE: &str = "__Host-bilan_csrf";
/// Shortest password (the set-up page and `BILAN_ADMIN_PASSWORD`).
pub const MIN_PASSWORD: usize = 12;

/// The cookie names: `__Host-` prefixed over HTTPS.
pub fn session_cookie(secure: bool) -> &'static str {
    if secure {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

pub fn csrf_cookie(secure: bool) -> &'static str {
    if secure {
        SECURE_CSRF_COOKIE
    } else {
        CSRF_COOKIE
    }
}

/// The secret CSRF tokens are derived with (one per server process).
fn csrf_secret() -> &'static [u8; 32] {
    static SECRET: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
    SECRET.get_or_init(|| {
        let mut buf = [0u8; 32];
        if getrandom::fill(&mut buf).is_err() {
            // No randomness: tokens still bound to the session, from the time.
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            buf[..16].copy_from_slice(&t.to_le_bytes());
        }
        buf
    })
}

/// The CSRF token bound to a cookie value (the session's, or the CSRF cookie's).
fn csrf_token_for(binding: &str) -> String {
    let mut h = Sha256::new();
    h.update(csrf_secret());
    h.update(b"csrf:");
    h.update(binding.as_bytes());
    hex(&h.finalize())
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
pub const SESSION_SECONDS: i64 = 12 * 3600;
/// The reviewer account's name.
pub const REVIEWER: &str = "relecteur";

/// 32 random bytes as 64 hex digits (unguessable).
pub fn random_token() -> Result<String, WebError> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(|e| WebError::Internal(format!("aléa indisponible : {e}")))?;
    Ok(hex(&buf))
}

/// Whether a token from a URL has the form [`random_token`] makes (checked
/// before any lookup).
pub fn well_formed(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
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

/// `Set-Cookie` for one of our cookies: `HttpOnly`, `SameSite=Strict`, whole site
/// (`name` is one of the names above: `__Host-` ones go with `secure`).
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

/// The CSRF token of this browser's forms, and the CSRF cookie to set when it
/// has none yet.
pub struct Csrf {
    pub token: String,
    /// The new CSRF cookie's value, to set.
    pub new_cookie: Option<String>,
}

impl Csrf {
    pub fn of(headers: &HeaderMap, secure: bool) -> Result<Self, WebError> {
        let existing = cookie(headers, csrf_cookie(secure)).filter(|c| c.len() == 64);
        let new_cookie = match existing {
            Some(_) => None,
            None => Some(random_token()?),
        };
        let binding = cookie(headers, session_cookie(secure))
            .or(existing)
            .or_else(|| new_cookie.clone())
            .unwrap_or_default();
        Ok(Csrf {
            token: csrf_token_for(&binding),
            new_cookie,
        })
    }

    /// Checks a submitted field: it must be the token of this browser's session
    /// (or, before login, of its CSRF cookie).
    pub fn verify(headers: &HeaderMap, secure: bool, field: Option<&str>) -> Result<(), WebError> {
        let binding = cookie(headers, session_cookie(secure)).or_else(|| cookie(headers, csrf_cookie(secure)));
        let (Some(binding), Some(field)) = (binding, field) else {
            return Err(WebError::Csrf);
        };
        if same(&csrf_token_for(&binding), field.trim()) {
            Ok(())
        } else {
            Err(WebError::Csrf)
        }
    }
}

pub use super::store::Reviewer;

pub fn reviewer(store: &Store, headers: &HeaderMap, secure: bool) -> Result<Option<Reviewer>, WebError> {
    let Some(token) = cookie(headers, session_cookie(secure)) else {
        return Ok(None);
    };
    Ok(store.session(&digest(&token))?)
}

/// A reviewer from the session or from `Authorization: Bearer KEY` (API).
pub fn api_reviewer(store: &Store, headers: &HeaderMap, secure: bool) -> Result<Option<Reviewer>, WebError> {
    if let Some(r) = reviewer(store, headers, secure)? {
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
    Ok(store.api_key(&digest(key))?)
}

/// Password hashing on two threads of its own: at most two argon2 hashes at
/// once (19 MB each), always on the same two threads, so that their memory is
/// reused instead of spreading over the allocator's per-thread arenas. A
/// request that waits more than 20 s gets "serveur occupé" (503).
pub struct Hasher {
    jobs: std::sync::Mutex<std::sync::mpsc::Sender<Box<dyn FnOnce() + Send>>>,
    waiting: std::sync::atomic::AtomicUsize,
}

/// Hashes at most waiting for a hashing thread before 503.
const HASH_QUEUE: usize = 256;

impl Hasher {
    pub fn new(threads: usize) -> Self {
        let (tx, rx) = std::sync::mpsc::channel::<Box<dyn FnOnce() + Send>>();
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = std::sync::Arc::clone(&rx);
            let _ = std::thread::Builder::new()
                .name(format!("bilan-hachage-{i}"))
                .spawn(move || loop {
                    let job = match rx.lock() {
                        Ok(r) => r.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                });
        }
        Self {
            jobs: std::sync::Mutex::new(tx),
            waiting: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Runs `f` on a hashing thread.
    pub async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, WebError> {
        use std::sync::atomic::Ordering;
        struct Waiting<'a>(&'a std::sync::atomic::AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= HASH_QUEUE {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(WebError::Busy);
        }
        let _waiting = Waiting(&self.waiting);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Box<dyn FnOnce() + Send> = Box::new(move || {
            let _ = tx.send(f());
        });
        self.jobs
            .lock()
            .map_err(|_| WebError::Busy)?
            .send(job)
            .map_err(|_| WebError::Busy)?;
        tokio::time::timeout(std::time::Duration::from_secs(20), rx)
            .await
            .map_err(|_| WebError::Busy)?
            .map_err(|_| WebError::Busy)
    }
}

/// Failed logins per account and per address: after [`THROTTLE_FREE`]
/// failures within [`THROTTLE_WINDOW`], each attempt must wait a delay that
/// doubles with every further failure (5 s, 10 s, 20 s… at most 15 min).
#[derive(Default)]
pub struct Throttle {
    failures: std::sync::Mutex<std::collections::HashMap<String, Vec<std::time::Instant>>>,
}

pub const THROTTLE_FREE: usize = 5;
pub const THROTTLE_WINDOW: std::time::Duration = std::time::Duration::from_secs(15 * 60);

impl Throttle {
    /// Seconds to wait before trying again, if the keys are throttled now.
    pub fn wait(&self, keys: &[String]) -> Option<u64> {
        let mut map = self.failures.lock().ok()?;
        let now = std::time::Instant::now();
        let mut longest = 0u64;
        for k in keys {
            let Some(list) = map.get_mut(k) else { continue };
            list.retain(|t| now.duration_since(*t) < THROTTLE_WINDOW);
            if list.len() < THROTTLE_FREE {
                continue;
            }
            let extra = (list.len() - THROTTLE_FREE).min(10) as u32;
            let delay = (5u64 << extra).min(THROTTLE_WINDOW.as_secs());
            let last = list.last().copied().unwrap_or(now);
            let until = last + std::time::Duration::from_secs(delay);
            if until > now {
                longest = longest.max((until - now).as_secs().max(1));
            }
        }
        (longest > 0).then_some(longest)
    }

    pub fn fail(&self, keys: &[String]) {
        if let Ok(mut map) = self.failures.lock() {
            let now = std::time::Instant::now();
            // Bounded: an address flood cannot grow the table without end.
            if map.len() > 100_000 {
                map.retain(|_, l| l.last().is_some_and(|t| now.duration_since(*t) < THROTTLE_WINDOW));
            }
            for k in keys {
                let list = map.entry(k.clone()).or_default();
                list.push(now);
                if list.len() > 64 {
                    list.remove(0);
                }
            }
        }
    }

    pub fn clear(&self, key: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(key);
        }
    }
}

/// Setting up the first administrator at start: the password from
/// `BILAN_ADMIN_PASSWORD` (at least [`MIN_PASSWORD`] characters; any set-up
/// link of that account dies), or a one-time link (returned, to print) when no
/// password is set yet.
pub fn first_start(store: &Store, admin_password: Option<&str>) -> Result<Option<String>, WebError> {
    let (id, existing) = store.first_admin(REVIEWER)?;
    if let Some(pw) = admin_password.filter(|p| !p.is_empty()) {
        if pw.chars().count() < MIN_PASSWORD {
            return Err(WebError::BadRequest(format!(
                "BILAN_ADMIN_PASSWORD doit compter au moins {MIN_PASSWORD} caractères (comme sur la page d'initialisation)."
            )));
        }
        let keep = existing.as_deref().is_some_and(|h| verify_password(pw, h));
        if keep {
            store.end_setup_links(id)?;
        } else {
            store.set_password(id, &hash_password(pw)?)?;
        }
        return Ok(None);
    }
    if existing.is_some() {
        // A password is set: no set-up link of an earlier start may still work.
        store.end_setup_links(id)?;
        return Ok(None);
    }
    let token = random_token()?;
    store.add_setup_link(&digest(&token), id)?;
    Ok(Some(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_throttle_waits_after_five_failures_and_the_delay_grows() {
        let t = Throttle::default();
        let keys = vec!["compte:x".to_string()];
        for _ in 0..4 {
            t.fail(&keys);
            assert_eq!(t.wait(&keys), None);
        }
        t.fail(&keys);
        let first = t.wait(&keys).unwrap_or(0);
        assert!((1..=5).contains(&first), "{first}");
        t.fail(&keys);
        let second = t.wait(&keys).unwrap_or(0);
        assert!(second > first && second <= 10, "{second}");
        t.clear("compte:x");
        assert_eq!(t.wait(&keys), None);
    }

    #[test]
    fn a_csrf_token_is_bound_to_its_session() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("bilan_session=aa11; bilan_csrf=bb22"),
        );
        let mine = Csrf::of(&h, false).map(|c| c.token).unwrap_or_default();
        assert!(Csrf::verify(&h, false, Some(&mine)).is_ok());
        // The CSRF cookie's value itself (double submit) is not enough.
        assert!(Csrf::verify(&h, false, Some("bb22")).is_err());
        let mut other = HeaderMap::new();
        other.insert(
            header::COOKIE,
            HeaderValue::from_static("bilan_session=cc33; bilan_csrf=bb22"),
        );
        assert!(Csrf::verify(&other, false, Some(&mine)).is_err());
    }
}
