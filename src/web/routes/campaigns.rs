//! The campaigns page: the list, a campaign created from its file (and its
//! `attendus.csv`) or from the form, and an expected return added. What
//! makes a campaign is `service::campaigns`; here, the requests and pages.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Multipart, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};

use super::session::{journal, require, Posted};
use super::{nav, with_cookie};
use crate::web::auth::{self, Reviewer};
use crate::web::campaign_form::{self, CampaignForm, FieldError};
use crate::web::pages::{self, render};
use crate::web::service::campaigns::{add_campaign, known_templates, parse_expected, Refused};
use crate::web::service::returns::stamp_fr;
use crate::web::upload::{self, read_form};
use crate::web::{Shared, WebError};

pub async fn campaigns(State(state): State<Shared>, headers: HeaderMap) -> Result<Response, WebError> {
    require(&state, &headers)?;
    campaigns_page(&state, &headers, Page::default())
}

/// What the campaigns page shows besides the list.
#[derive(Default)]
struct Page {
    /// A problem with the uploaded campaign file.
    message: Option<String>,
    api_key: Option<String>,
    form: CampaignForm,
    errors: Vec<FieldError>,
}

fn campaigns_page(state: &Shared, headers: &HeaderMap, p: Page) -> Result<Response, WebError> {
    let (nav, cookie) = nav(state, headers)?;
    let checker = state.engine.checker();
    let mut rules: Vec<(String, String)> = checker
        .rules
        .rules
        .iter()
        .map(|r| (r.meta.id.clone(), r.meta.title.clone()))
        .chain(
            checker
                .rules
                .engine_rules
                .iter()
                .map(|r| (r.id.clone(), r.title.clone())),
        )
        .collect();
    rules.sort();
    rules.dedup_by(|a, b| a.0 == b.0);
    let status = if p.message.is_some() || !p.errors.is_empty() {
        axum::http::StatusCode::BAD_REQUEST
    } else {
        axum::http::StatusCode::OK
    };
    let page = pages::Campaigns {
        nav,
        campaigns: state
            .store
            .campaigns()?
            .into_iter()
            .map(|mut c| {
                c.creee_le = stamp_fr(&c.creee_le);
                c
            })
            .collect(),
        message: p.message.as_deref(),
        api_key: p.api_key,
        decisions: p.form.decision_list(),
        form: p.form,
        errors: p.errors,
        rules,
        templates: checker.templates.ids().into_iter().map(str::to_string).collect(),
    };
    let mut resp = with_cookie(render(&page), cookie);
    *resp.status_mut() = status;
    Ok(resp)
}

async fn campaign_upload(state: &Shared, headers: &HeaderMap, multipart: Multipart) -> Result<upload::Form, WebError> {
    upload::check_length(headers, 4_000_000)?;
    read_form(
        multipart,
        &state.store.data_dir().join("tmp"),
        upload::Limits {
            max_file: 1_000_000,
            // Reviewers only (the session is checked above): a campaign text may
            // be as long as a campaign file (1 MB).
            max_text: 1_000_000,
            max_files: 2,
            csrf: Some((headers.clone(), state.config.secure_cookies)),
        },
    )
    .await
}

/// Who creates a campaign, from where.
struct Creator<'a> {
    reviewer: &'a Reviewer,
    peer: &'a SocketAddr,
    headers: &'a HeaderMap,
}

/// A campaign stored (journaled, then its dashboard) or refused (the
/// campaigns page again, saying why, with what was typed).
fn created(
    state: &Shared,
    by: &Creator<'_>,
    result: Result<i64, Refused>,
    form: CampaignForm,
) -> Result<Response, WebError> {
    let id = match result {
        Ok(id) => id,
        Err(Refused(message)) => {
            return campaigns_page(
                state,
                by.headers,
                Page {
                    message: Some(message),
                    form,
                    ..Page::default()
                },
            )
        }
    };
    let (reviewer, peer) = (by.reviewer, by.peer);
    let name = state.store.campaign(id)?.map(|c| c.nom).unwrap_or_default();
    journal(
        state,
        &reviewer.login,
        peer,
        "campagne créée",
        &format!("n° {id} « {name} »"),
    )?;
    Ok(Redirect::to(&format!("/campagnes/{id}")).into_response())
}

/// An uploaded text file (`campagne.toml`, `attendus.csv`), or a French reason.
fn text_of(file: &upload::Received) -> Result<String, Refused> {
    let bytes = std::fs::read(file.temp_path())
        .map_err(|_| Refused(format!("{} : lecture impossible, envoyez-le de nouveau.", file.name)))?;
    String::from_utf8(bytes).map_err(|_| {
        Refused(format!(
            "{} n'est pas un texte UTF-8 : enregistrez-le en « CSV UTF-8 » (ou « Texte UTF-8 ») et envoyez-le de nouveau.",
            file.name
        ))
    })
}

/// Creation from an existing `campagne.toml` (and, optionally, its `attendus.csv`).
pub async fn create_campaign(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, WebError> {
    let reviewer = require(&state, &headers)?;
    let form = campaign_upload(&state, &headers, multipart).await?;
    let file = |field: &str| form.files.iter().find(|f| f.field == field);
    let result = (|| -> Result<i64, Refused> {
        // A file, or its text pasted (scripts and older pages send text fields).
        let (text, name) = match (
            file("campagne"),
            form.field("campagne").filter(|t| !t.trim().is_empty()),
        ) {
            (Some(f), _) => (text_of(f)?, f.name.clone()),
            (None, Some(t)) => (t.to_string(), "campagne.toml".to_string()),
            (None, None) => return Err(Refused("Choisissez le fichier campagne.toml à envoyer.".into())),
        };
        let text = campaign_form::normalise(&text);
        let expected = match (file("attendus"), form.field("attendus")) {
            (Some(f), _) => parse_expected(&text_of(f)?, &state)?,
            (None, Some(t)) => parse_expected(t, &state)?,
            (None, None) => Vec::new(),
        };
        add_campaign(&state, &text, &expected, &name)
    })();
    let by = Creator {
        reviewer: &reviewer,
        peer: &peer,
        headers: &headers,
    };
    created(&state, &by, result, CampaignForm::default())
}

/// The campaign form: « Créer la campagne », « Ajouter cette décision »
/// (`?ajouter=1`) or « Retirer » a decision (`?retirer=RULE`). Whatever the
/// button, what was typed comes back on the page until the campaign is made.
pub async fn campaign_form(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    multipart: Multipart,
) -> Result<Response, WebError> {
    let reviewer = require(&state, &headers)?;
    let upload = campaign_upload(&state, &headers, multipart).await?;
    let mut form = CampaignForm::from_fields(&upload.fields);
    let mut errors = Vec::new();
    // An uploaded list joins the table (and stays in it if something else is wrong).
    if let Some(f) = upload.files.iter().find(|f| f.field == "fichier_attendus") {
        match text_of(f) {
            Ok(text) => match crate::batch::parse_expected(&text) {
                Ok(list) => {
                    let mut lines: Vec<String> = form
                        .attendus
                        .lines()
                        .filter(|l| !l.trim().is_empty())
                        .map(str::to_string)
                        .collect();
                    lines.extend(
                        crate::web::campaign_form::expected_csv(&list)
                            .lines()
                            .skip(1)
                            .map(str::to_string),
                    );
                    form.attendus = lines.join("\n");
                }
                Err(e) => errors.push(FieldError {
                    field: "fichier_attendus",
                    message: format!("{} : {e}.", f.name),
                }),
            },
            Err(Refused(message)) => errors.push(FieldError {
                field: "fichier_attendus",
                message,
            }),
        }
    }
    let checker = std::sync::Arc::clone(state.engine.checker());
    if let Some(rule) = q.get("retirer") {
        form.remove_decision(rule);
    } else if q.get("ajouter").is_some_and(|v| v == "1") {
        errors.extend(form.add_typed_decision(&checker.rules));
    } else if errors.is_empty() {
        let templates = checker.templates.ids();
        match form.build(&checker.rules, &templates) {
            Ok((text, expected)) => {
                let expected = known_templates(&state, expected)?;
                let by = Creator {
                    reviewer: &reviewer,
                    peer: &peer,
                    headers: &headers,
                };
                return created(
                    &state,
                    &by,
                    add_campaign(&state, &text, &expected, "campagne.toml"),
                    form,
                );
            }
            Err(e) => errors.extend(e),
        }
    }
    campaigns_page(
        &state,
        &headers,
        Page {
            form,
            errors,
            ..Page::default()
        },
    )
}

pub async fn add_expected(
    State(state): State<Shared>,
    Path(id): Path<i64>,
    posted: Posted,
) -> Result<Response, WebError> {
    let reviewer = posted.reviewer(&state)?;
    state.store.campaign(id)?.ok_or(WebError::NotFound)?;
    let one = crate::batch::Expected {
        template: posted.text("modele"),
        organisation: posted.text("organisation"),
    };
    if one.organisation.is_empty() {
        return Err(WebError::BadRequest(
            "Indiquez l'organisation du retour attendu.".into(),
        ));
    }
    let parsed = known_templates(&state, vec![one])?;
    for (t, o) in parsed {
        state.store.add_expected(id, &t, &o, &auth::random_token()?)?;
        posted.journal(
            &state,
            &reviewer.login,
            "retour attendu ajouté",
            &format!("campagne n° {id} : {t} de « {o} »"),
        )?;
    }
    Ok(Redirect::to(&format!("/campagnes/{id}")).into_response())
}
