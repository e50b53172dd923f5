//! Who is asking: the reviewer's session ([`require`], [`require_admin`]),
//! a form posted from a page ([`Posted`]: its CSRF field, its journal line),
//! and the pages that open or end a session (login, logout, the one-time
//! set-up link).

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, Path, Request, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;

use super::{nav, with_cookie};
use crate::web::auth::{self, Csrf, Reviewer};
use crate::web::pages::{render, Login, Setup};
use crate::web::{Shared, WebError};

/// The reviewer of this request, or a redirect to the login page.
pub fn require(state: &Shared, headers: &HeaderMap) -> Result<Reviewer, WebError> {
    auth::reviewer(&state.store, headers, state.config.secure_cookies)?.ok_or(WebError::LoginRequired)
}

/// An administrator, or 403.
pub fn require_admin(state: &Shared, headers: &HeaderMap) -> Result<Reviewer, WebError> {
    let r = require(state, headers)?;
    if !r.admin {
        return Err(WebError::Forbidden("Page réservée aux administrateurs.".into()));
    }
    Ok(r)
}

/// A form posted from a page (`application/x-www-form-urlencoded`): its
/// fields, the client's address and headers. Nothing is trusted until
/// [`Posted::verify`] (or [`Posted::reviewer`], [`Posted::admin`]) checks its
/// CSRF field against this browser's session.
pub struct Posted {
    pub peer: SocketAddr,
    pub headers: HeaderMap,
    pub form: HashMap<String, String>,
}

impl FromRequest<Shared> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, state: &Shared) -> Result<Self, Response> {
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0)
            .ok_or_else(|| WebError::Internal("adresse du client inconnue".into()).into_response())?;
        let headers = req.headers().clone();
        // A body that is not a form: axum's rejection, put in French by the
        // router's middleware.
        let Form(form) = Form::<HashMap<String, String>>::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Posted { peer, headers, form })
    }
}

impl Posted {
    /// Checks the form's CSRF field against this browser's session.
    pub fn verify(&self, state: &Shared) -> Result<(), WebError> {
        Csrf::verify(
            &self.headers,
            state.config.secure_cookies,
            self.form.get("csrf").map(String::as_str),
        )
    }

    /// The reviewer who posted (else the login page), then the CSRF field.
    pub fn reviewer(&self, state: &Shared) -> Result<Reviewer, WebError> {
        let r = require(state, &self.headers)?;
        self.verify(state)?;
        Ok(r)
    }

    /// The same for an administrator (else 403).
    pub fn admin(&self, state: &Shared) -> Result<Reviewer, WebError> {
        let r = require_admin(state, &self.headers)?;
        self.verify(state)?;
        Ok(r)
    }

    /// A field, trimmed (empty when absent).
    pub fn text(&self, name: &str) -> String {
        self.form.get(name).map(|s| s.trim()).unwrap_or_default().to_string()
    }

    /// Writes a line of the journal from this client's address.
    pub fn journal(&self, state: &Shared, who: &str, action: &str, detail: &str) -> Result<(), WebError> {
        journal(state, who, &self.peer, action, detail)
    }
}

/// Writes a line of the journal; a journal that cannot be written is an error
/// (the action it records must not pass unrecorded).
pub fn journal(state: &Shared, who: &str, peer: &SocketAddr, action: &str, detail: &str) -> Result<(), WebError> {
    Ok(state.store.journal_add(who, &peer.ip().to_string(), action, detail)?)
}

// ---- login ----------------------------------------------------------------

pub async fn login_page(State(state): State<Shared>, headers: HeaderMap) -> Result<Response, WebError> {
    let (nav, cookie) = nav(&state, &headers)?;
    Ok(with_cookie(render(&Login { nav, message: None }), cookie))
}

pub async fn login(State(state): State<Shared>, posted: Posted) -> Result<Response, WebError> {
    posted.verify(&state)?;
    let login: String = posted.text("identifiant").chars().take(100).collect();
    let password = posted.form.get("mot_de_passe").cloned().unwrap_or_default();
    let keys = [format!("compte:{login}"), format!("adresse:{}", posted.peer.ip())];
    if let Some(wait) = state.throttle.wait(&keys) {
        posted.journal(
            &state,
            &login,
            "connexion refusée",
            &format!("trop d'échecs, attente de {wait} s"),
        )?;
        return Err(WebError::Throttled(wait));
    }
    let account = state.store.account_by_login(&login)?.filter(|a| a.active);
    let ok = match account.as_ref().and_then(|a| a.hash.clone()) {
        Some(hash) if password.len() <= 1024 => {
            // At most two hashes at once: a login flood waits here instead of
            // growing memory (argon2 takes 19 MB a hash).
            state
                .hashing
                .run(move || auth::verify_password(&password, &hash))
                .await?
        }
        _ => false,
    };
    let Some(account) = account.filter(|_| ok) else {
        state.throttle.fail(&keys);
        posted.journal(
            &state,
            &login,
            "connexion échouée",
            "identifiant ou mot de passe incorrect",
        )?;
        let (nav, cookie) = nav(&state, &posted.headers)?;
        let page = Login {
            nav,
            message: Some("Identifiant ou mot de passe incorrect."),
        };
        let mut resp = with_cookie(render(&page), cookie);
        *resp.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
        return Ok(resp);
    };
    state.throttle.clear(&keys[0]);
    let token = auth::random_token()?;
    state
        .store
        .add_session(&auth::digest(&token), account.id, auth::SESSION_SECONDS)?;
    posted.journal(&state, &account.login, "connexion", "")?;
    let mut resp = Redirect::to("/campagnes").into_response();
    let secure = state.config.secure_cookies;
    resp.headers_mut().append(
        header::SET_COOKIE,
        auth::set_cookie(
            auth::session_cookie(secure),
            &token,
            Some(auth::SESSION_SECONDS),
            secure,
        ),
    );
    Ok(resp)
}

pub async fn logout(State(state): State<Shared>, posted: Posted) -> Result<Response, WebError> {
    posted.verify(&state)?;
    let secure = state.config.secure_cookies;
    if let Some(token) = auth::cookie(&posted.headers, auth::session_cookie(secure)) {
        state.store.end_session(&auth::digest(&token))?;
    }
    let mut resp = Redirect::to("/connexion").into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        auth::set_cookie(auth::session_cookie(secure), "", Some(0), secure),
    );
    Ok(resp)
}

fn unknown_link() -> WebError {
    WebError::Forbidden("Lien d'initialisation inconnu, expiré ou déjà utilisé.".into())
}

/// The login a live one-time link is for.
fn link_owner(state: &Shared, token: &str) -> Result<String, WebError> {
    if !auth::well_formed(token) {
        return Err(unknown_link());
    }
    let (_, login) = state.store.setup_link(&auth::digest(token))?.ok_or_else(unknown_link)?;
    Ok(login)
}

pub async fn setup_page(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let login = link_owner(&state, &token)?;
    let (nav, cookie) = nav(&state, &headers)?;
    Ok(with_cookie(
        render(&Setup {
            nav,
            token: &token,
            login: &login,
            message: None,
        }),
        cookie,
    ))
}

pub async fn setup(
    State(state): State<Shared>,
    Path(token): Path<String>,
    posted: Posted,
) -> Result<Response, WebError> {
    posted.verify(&state)?;
    let login = link_owner(&state, &token)?;
    let form = &posted.form;
    let pw = form.get("mot_de_passe").cloned().unwrap_or_default();
    let problem = if pw.chars().count() < auth::MIN_PASSWORD {
        Some("Le mot de passe doit compter au moins 12 caractères.")
    } else if pw.len() > 1024 {
        Some("Le mot de passe est trop long (1 024 octets au plus).")
    } else if form.get("confirmation") != Some(&pw) {
        Some("Les deux mots de passe ne sont pas identiques.")
    } else {
        None
    };
    if let Some(message) = problem {
        let (nav, cookie) = nav(&state, &posted.headers)?;
        return Ok(with_cookie(
            render(&Setup {
                nav,
                token: &token,
                login: &login,
                message: Some(message),
            }),
            cookie,
        ));
    }
    // The link is used up before anything else: of requests racing on it,
    // exactly one goes on.
    let id = state
        .store
        .take_setup_link(&auth::digest(&token))?
        .ok_or_else(unknown_link)?;
    let hash = state.hashing.run(move || auth::hash_password(&pw)).await??;
    state.store.set_password(id, &hash)?;
    posted.journal(&state, &login, "mot de passe choisi", "par un lien à usage unique")?;
    Ok(Redirect::to("/connexion").into_response())
}
