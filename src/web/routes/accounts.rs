//! Reviewer accounts (administrators only), API keys, and the journal.
//!
//! An administrator creates an account (a login, with or without the
//! administrator right): the desk makes a one-time link, valid 24 hours, for
//! its owner to choose a password. Disabling an account ends its sessions, API
//! keys and links at once. Every change is written to the journal.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};

use super::session::{require, require_admin, Posted};
use super::{nav, with_cookie};
use crate::web::auth;
use crate::web::pages::{render, AccountsPage, JournalPage, KeysPage};
use crate::web::store::StoreError;
use crate::web::{Shared, WebError};

/// Lines of the journal shown on its page (the newest).
const JOURNAL_LINES: i64 = 1000;

fn accounts_view(
    state: &Shared,
    headers: &HeaderMap,
    message: Option<String>,
    new_link: Option<(String, String)>,
) -> Result<Response, WebError> {
    let (nav, cookie) = nav(state, headers)?;
    let page = AccountsPage {
        nav,
        accounts: state.store.accounts()?,
        message,
        new_link,
    };
    Ok(with_cookie(render(&page), cookie))
}

pub async fn accounts_page(State(state): State<Shared>, headers: HeaderMap) -> Result<Response, WebError> {
    require_admin(&state, &headers)?;
    accounts_view(&state, &headers, None, None)
}

/// A login: letters, digits, `.`, `-`, `_`, `@`; 1 to 64 characters.
fn valid_login(login: &str) -> bool {
    (1..=64).contains(&login.chars().count())
        && login
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'))
}

pub async fn create_account(State(state): State<Shared>, posted: Posted) -> Result<Response, WebError> {
    let admin = posted.admin(&state)?;
    let headers = &posted.headers;
    let login = posted.text("identifiant");
    let right = posted.form.get("administrateur").is_some_and(|v| v == "1");
    let refused = |message: String| -> Result<Response, WebError> {
        let mut resp = accounts_view(&state, headers, Some(message), None)?;
        *resp.status_mut() = axum::http::StatusCode::BAD_REQUEST;
        Ok(resp)
    };
    if !valid_login(&login) {
        return refused("Identifiant invalide : de 1 à 64 lettres, chiffres, points, tirets, « _ » ou « @ ».".into());
    }
    let id = match state.store.add_account(&login, right) {
        Ok(id) => id,
        Err(StoreError::Conflict(message)) => return refused(message),
        Err(e) => return Err(e.into()),
    };
    let token = auth::random_token()?;
    state.store.add_setup_link(&auth::digest(&token), id)?;
    posted.journal(
        &state,
        &admin.login,
        "compte créé",
        &format!("« {login} »{}", if right { ", administrateur" } else { "" }),
    )?;
    let base = state.config.public_url.clone().unwrap_or_default();
    let link = format!("{base}/initialisation/{token}");
    accounts_view(&state, headers, None, Some((login, link)))
}

pub async fn disable_account(
    State(state): State<Shared>,
    Path(id): Path<i64>,
    posted: Posted,
) -> Result<Response, WebError> {
    let admin = posted.admin(&state)?;
    let account = state.store.account(id)?.ok_or(WebError::NotFound)?;
    if account.id == admin.id {
        return Err(WebError::BadRequest(
            "Vous ne pouvez pas désactiver votre propre compte : demandez-le à un autre administrateur.".into(),
        ));
    }
    state.store.disable_account(id)?;
    posted.journal(
        &state,
        &admin.login,
        "compte désactivé",
        &format!("« {} » (sessions et clés d'API terminées)", account.login),
    )?;
    Ok(Redirect::to("/comptes").into_response())
}

fn keys_view(state: &Shared, headers: &HeaderMap, new_key: Option<(String, String)>) -> Result<Response, WebError> {
    let me = require(state, headers)?;
    let (nav, cookie) = nav(state, headers)?;
    let page = KeysPage {
        nav,
        keys: state.store.api_keys((!me.admin).then_some(me.id))?,
        new_key,
        all: me.admin,
    };
    Ok(with_cookie(render(&page), cookie))
}

pub async fn keys_page(State(state): State<Shared>, headers: HeaderMap) -> Result<Response, WebError> {
    keys_view(&state, &headers, None)
}

pub async fn new_api_key(State(state): State<Shared>, posted: Posted) -> Result<Response, WebError> {
    let me = posted.reviewer(&state)?;
    let name = posted.text("nom");
    let name: String = Some(name.as_str())
        .filter(|s| !s.is_empty())
        .unwrap_or("clé sans nom")
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect();
    let key = auth::random_token()?;
    let id = state.store.add_api_key(&auth::digest(&key), me.id, &name)?;
    posted.journal(&state, &me.login, "clé d'API créée", &format!("n° {id} « {name} »"))?;
    keys_view(&state, &posted.headers, Some((name, key)))
}

pub async fn revoke_key(
    State(state): State<Shared>,
    Path(id): Path<i64>,
    posted: Posted,
) -> Result<Response, WebError> {
    let me = posted.reviewer(&state)?;
    let name = state
        .store
        .revoke_api_key(id, (!me.admin).then_some(me.id))?
        .ok_or(WebError::NotFound)?;
    posted.journal(&state, &me.login, "clé d'API révoquée", &format!("n° {id} « {name} »"))?;
    Ok(Redirect::to("/cles-api").into_response())
}

pub async fn journal_page(State(state): State<Shared>, headers: HeaderMap) -> Result<Response, WebError> {
    require_admin(&state, &headers)?;
    let (nav, cookie) = nav(&state, &headers)?;
    let page = JournalPage {
        nav,
        entries: state.store.journal(JOURNAL_LINES)?,
    };
    Ok(with_cookie(render(&page), cookie))
}
