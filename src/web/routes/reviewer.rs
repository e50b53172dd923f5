//! The Region's side: login, campaigns, the dashboard, return pages,
//! decisions and exports. Every handler here starts with [`require`].

use std::collections::HashMap;

use axum::extract::{ConnectInfo, Multipart, Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;

use super::{attachment, nav, with_cookie, XLSX};
use crate::web::auth::{self, Csrf, Reviewer};
use crate::web::campaign_form::{self, CampaignForm, FieldError};
use crate::web::pages::{self, render, CrossFinding, DashRow, Dashboard, Filters, Login, Setup, Tally};
use crate::web::store::{Campaign, DecisionKind};
use crate::web::upload::{self, read_form};
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

/// Checks a form's CSRF field against this browser's session.
pub fn verify_csrf(state: &Shared, headers: &HeaderMap, form: &HashMap<String, String>) -> Result<(), WebError> {
    Csrf::verify(
        headers,
        state.config.secure_cookies,
        form.get("csrf").map(String::as_str),
    )
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

pub async fn login(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, WebError> {
    verify_csrf(&state, &headers, &form)?;
    let login: String = form
        .get("identifiant")
        .map(|s| s.trim().chars().take(100).collect())
        .unwrap_or_default();
    let password = form.get("mot_de_passe").cloned().unwrap_or_default();
    let keys = [format!("compte:{login}"), format!("adresse:{}", peer.ip())];
    if let Some(wait) = state.throttle.wait(&keys) {
        journal(
            &state,
            &login,
            &peer,
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
        journal(
            &state,
            &login,
            &peer,
            "connexion échouée",
            "identifiant ou mot de passe incorrect",
        )?;
        let (nav, cookie) = nav(&state, &headers)?;
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
    journal(&state, &account.login, &peer, "connexion", "")?;
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

pub async fn logout(
    State(state): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, WebError> {
    verify_csrf(&state, &headers, &form)?;
    let secure = state.config.secure_cookies;
    if let Some(token) = auth::cookie(&headers, auth::session_cookie(secure)) {
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

fn well_formed(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

pub async fn setup_page(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    if !well_formed(&token) {
        return Err(unknown_link());
    }
    let (_, login) = state
        .store
        .setup_link(&auth::digest(&token))?
        .ok_or_else(unknown_link)?;
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
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, WebError> {
    verify_csrf(&state, &headers, &form)?;
    if !well_formed(&token) {
        return Err(unknown_link());
    }
    let (_, login) = state
        .store
        .setup_link(&auth::digest(&token))?
        .ok_or_else(unknown_link)?;
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
        let (nav, cookie) = nav(&state, &headers)?;
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
    journal(
        &state,
        &login,
        &peer,
        "mot de passe choisi",
        "par un lien à usage unique",
    )?;
    Ok(Redirect::to("/connexion").into_response())
}

// ---- campaigns ------------------------------------------------------------

/// What the desk needs from a campaign file: name, exercice, cut-off.
pub struct CampaignHead {
    pub nom: String,
    pub exercice: Option<i64>,
    pub date_arrete: Option<String>,
    /// One French line per rule the campaign changes (rule, change, reason once).
    pub overrides: Vec<String>,
}

/// Reads a `campagne.toml` text strictly (the library's [`crate::pipeline::campaign::Campaign`]:
/// unknown keys, unknown rules, bad types refused with line and column).
pub fn parse_campaign(state: &Shared, text: &str, file: &str) -> Result<CampaignHead, String> {
    let c = crate::pipeline::campaign::Campaign::parse(
        text,
        std::path::Path::new(file),
        None,
        &state.engine.checker().rules,
    )
    .map_err(|e| {
        let message = e.message.split(" (détail technique").next().unwrap_or(&e.message);
        format!("{file}, ligne {}, colonne {} : {message}", e.line, e.column)
    })?;
    Ok(CampaignHead {
        nom: c.name.clone(),
        exercice: c.exercice,
        date_arrete: c.cut_off.as_ref().map(|d| d.display_fr()),
        overrides: c.overrides.iter().map(|o| o.describe_fr()).collect(),
    })
}

/// The expected returns of a list (an upload, the form's table, a campaign's
/// `attendus`), read by the library's one reader ([`crate::batch::parse_expected`],
/// the same as `bilan batch --expected`), each template checked.
fn parse_expected(text: &str, state: &Shared) -> Result<Vec<(String, String)>, String> {
    let list = crate::batch::parse_expected(text).map_err(|e| format!("retours attendus, {e}"))?;
    known_templates(state, list)
}

fn known_templates(state: &Shared, list: Vec<crate::batch::Expected>) -> Result<Vec<(String, String)>, String> {
    let checker = state.engine.checker();
    list.into_iter()
        .map(|e| match checker.templates.get(&e.template) {
            Some(t) => Ok((t.id.clone(), e.organisation)),
            None => Err(format!(
                "retours attendus : modèle « {} » inconnu (modèles : {})",
                e.template,
                checker.templates.ids().join(", ")
            )),
        })
        .collect()
}

fn add_campaign(state: &Shared, text: &str, expected: &[(String, String)], file: &str) -> Result<i64, String> {
    let head = parse_campaign(state, text, file)?;
    let sha = crate::base::format::hex(&Sha256::digest(text.as_bytes()));
    let store = || -> Result<i64, WebError> {
        let id = state
            .store
            .add_campaign(&head.nom, head.exercice, head.date_arrete.as_deref(), text, &sha)?;
        for (t, o) in expected {
            state.store.add_expected(id, t, o, &auth::random_token()?)?;
        }
        Ok(id)
    };
    store().map_err(|e| e.message())
}

/// `bilan serve --campagne FILE`: creates the campaign at start unless one with
/// the same file content exists. Its `attendus` list (relative to the file) is read too.
pub fn create_campaign_from_file(state: &Shared, path: &std::path::Path) -> Result<(), WebError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        WebError::BadRequest(format!(
            "{} : lecture impossible ({})",
            path.display(),
            crate::web::error::io_fr(&e)
        ))
    })?;
    let sha = crate::base::format::hex(&Sha256::digest(text.as_bytes()));
    if state.store.campaigns()?.iter().any(|c| c.sha256 == sha) {
        return Ok(());
    }
    let head = parse_campaign(state, &text, &path.display().to_string()).map_err(WebError::BadRequest)?;
    let _ = head;
    let attendus = toml::from_str::<toml::Table>(&text)
        .ok()
        .and_then(|t| t.get("attendus").and_then(|v| v.as_str()).map(str::to_string));
    let expected = match attendus {
        Some(rel) => {
            let list = path.parent().unwrap_or(std::path::Path::new(".")).join(rel);
            known_templates(state, crate::batch::read_expected(&list).map_err(WebError::BadRequest)?)
                .map_err(WebError::BadRequest)?
        }
        None => Vec::new(),
    };
    let id = add_campaign(state, &text, &expected, &path.display().to_string()).map_err(WebError::BadRequest)?;
    state.store.journal_add(
        "bilan serve",
        "local",
        "campagne créée",
        &format!("n° {id} depuis {} (--campagne)", crate::output::path_text(path)),
    )?;
    Ok(())
}

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
                c.creee_le = super::depot::stamp_fr(&c.creee_le);
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

/// A campaign just stored: journaled, then its dashboard.
fn created(state: &Shared, reviewer: &Reviewer, peer: &SocketAddr, id: i64) -> Result<Response, WebError> {
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
fn text_of(file: &upload::Received) -> Result<String, String> {
    let bytes = std::fs::read(file.temp_path())
        .map_err(|_| format!("{} : lecture impossible, envoyez-le de nouveau.", file.name))?;
    String::from_utf8(bytes).map_err(|_| {
        format!(
            "{} n'est pas un texte UTF-8 : enregistrez-le en « CSV UTF-8 » (ou « Texte UTF-8 ») et envoyez-le de nouveau.",
            file.name
        )
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
    let result = (|| -> Result<i64, String> {
        // A file, or its text pasted (scripts and older pages send text fields).
        let (text, name) = match (
            file("campagne"),
            form.field("campagne").filter(|t| !t.trim().is_empty()),
        ) {
            (Some(f), _) => (text_of(f)?, f.name.clone()),
            (None, Some(t)) => (t.to_string(), "campagne.toml".to_string()),
            (None, None) => return Err("Choisissez le fichier campagne.toml à envoyer.".into()),
        };
        let text = campaign_form::normalise(&text);
        let expected = match (file("attendus"), form.field("attendus")) {
            (Some(f), _) => parse_expected(&text_of(f)?, &state)?,
            (None, Some(t)) => parse_expected(t, &state)?,
            (None, None) => Vec::new(),
        };
        add_campaign(&state, &text, &expected, &name)
    })();
    match result {
        Ok(id) => created(&state, &reviewer, &peer, id),
        Err(message) => campaigns_page(
            &state,
            &headers,
            Page {
                message: Some(message),
                ..Page::default()
            },
        ),
    }
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
            Err(message) => errors.push(FieldError {
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
                let expected = known_templates(&state, expected).map_err(WebError::BadRequest)?;
                return match add_campaign(&state, &text, &expected, "campagne.toml") {
                    Ok(id) => created(&state, &reviewer, &peer, id),
                    Err(message) => campaigns_page(
                        &state,
                        &headers,
                        Page {
                            message: Some(message),
                            form,
                            ..Page::default()
                        },
                    ),
                };
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
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let reviewer = require(&state, &headers)?;
    verify_csrf(&state, &headers, &form)?;
    state.store.campaign(id)?.ok_or(WebError::NotFound)?;
    let one = crate::batch::Expected {
        template: form.get("modele").map(|s| s.trim()).unwrap_or_default().to_string(),
        organisation: form
            .get("organisation")
            .map(|s| s.trim())
            .unwrap_or_default()
            .to_string(),
    };
    if one.organisation.is_empty() {
        return Err(WebError::BadRequest(
            "Indiquez l'organisation du retour attendu.".into(),
        ));
    }
    let parsed = known_templates(&state, vec![one]).map_err(WebError::BadRequest)?;
    for (t, o) in parsed {
        state.store.add_expected(id, &t, &o, &auth::random_token()?)?;
        journal(
            &state,
            &reviewer.login,
            &peer,
            "retour attendu ajouté",
            &format!("campagne n° {id} : {t} de « {o} »"),
        )?;
    }
    Ok(Redirect::to(&format!("/campagnes/{id}")).into_response())
}

// ---- dashboard --------------------------------------------------------------

pub async fn dashboard(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    require(&state, &headers)?;
    let campaign: Campaign = state.store.campaign(id)?.ok_or(WebError::NotFound)?;
    let overrides = parse_campaign(&state, &campaign.fichier, "campagne.toml")
        .map(|h| h.overrides)
        .unwrap_or_default();
    let filters = Filters {
        modele: q.get("modele").cloned().unwrap_or_default(),
        statut: q.get("statut").cloned().unwrap_or_default(),
        manquants: q.get("manquants").is_some_and(|v| v == "1"),
        a_decider: q.get("a_decider").is_some_and(|v| v == "1"),
    };
    let all = state.store.dashboard(id)?;
    let mut tally = Tally {
        expected: all.len(),
        received: 0,
        conforme: 0,
        a_corriger: 0,
        a_verifier: 0,
        missing: 0,
        waiting_decision: 0,
    };
    let mut rows = Vec::new();
    for r in all {
        let checked = r.latest.as_ref().filter(|s| s.is_checked());
        let mismatch = checked.and_then(|s| super::depot::mismatch_of(&r.expected, s));
        // Another organisation's or another template's file never counts as
        // this return: its status is « à vérifier », counted apart.
        let status = match mismatch {
            Some(_) => "a_verifier".to_string(),
            None => checked
                .and_then(|s| s.statut)
                .map(|s| crate::web::store::kinds::Word::word(s).to_string())
                .unwrap_or_default(),
        };
        let decided_latest = match (&r.decision, &r.latest) {
            (Some(d), Some(s)) => d.depot_id == Some(s.id),
            _ => false,
        };
        let to_correct = status == "non_conforme"
            || (decided_latest
                && r.decision
                    .as_ref()
                    .is_some_and(|d| d.decision == DecisionKind::ToCorrect));
        if r.latest.is_some() {
            tally.received += 1;
            if !decided_latest {
                tally.waiting_decision += 1;
            }
            if mismatch.is_some() {
                tally.a_verifier += 1;
            } else if to_correct {
                tally.a_corriger += 1;
            } else if checked.is_some() {
                tally.conforme += 1;
            }
        } else {
            tally.missing += 1;
        }
        let keep = (filters.modele.is_empty() || r.expected.modele == filters.modele)
            && (filters.statut.is_empty() || status == filters.statut)
            && (!filters.manquants || r.latest.is_none())
            && (!filters.a_decider || (r.latest.is_some() && !decided_latest));
        if !keep {
            continue;
        }
        let status_label = match (&r.latest, mismatch, status.as_str()) {
            (None, _, _) => "Manquant".to_string(),
            (Some(_), Some(m), _) => m.label().to_string(),
            (Some(_), None, "conforme") => "Conforme".to_string(),
            (Some(_), None, "conforme_avec_reserves") => "Conforme avec réserves".to_string(),
            (Some(_), None, "non_conforme") => "Non conforme".to_string(),
            (Some(_), None, _) => "Contrôle en cours".to_string(),
        };
        let link = super::depot::deposit_link(&state, &r.expected.jeton);
        rows.push(DashRow {
            received: r.latest.as_ref().map(|s| super::depot::stamp_fr(&s.recu_le)),
            file: r.latest.as_ref().map(|s| s.nom_fichier.clone()),
            state: r.latest.as_ref().map(|s| s.etat.to_string()).unwrap_or_default(),
            counts: checked.map(|s| {
                [
                    s.erreurs.unwrap_or(0),
                    s.avertissements.unwrap_or(0),
                    s.informations.unwrap_or(0),
                    s.justifies.unwrap_or(0),
                ]
            }),
            status,
            status_label,
            versions: r.versions,
            decision: r.decision.map(|mut d| {
                d.decide_le = super::depot::stamp_fr(&d.decide_le);
                d
            }),
            link,
            expected: r.expected,
        });
    }
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

/// `rapport.json` of the latest submissions of a campaign.
pub fn campaign_report(state: &Shared, id: i64) -> Result<Value, WebError> {
    Ok(crate::web::export::gather(state, id)?.json())
}

pub async fn report_json(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    require(&state, &headers)?;
    let value = campaign_report(&state, id)?;
    let text = serde_json::to_string_pretty(&value).unwrap_or_default() + "\n";
    Ok(attachment(text.into_bytes(), "rapport.json", "application/json"))
}

pub async fn synthesis(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    require(&state, &headers)?;
    let export = crate::web::export::gather(&state, id)?;
    let bytes = tokio::task::spawn_blocking(move || export.synthese())
        .await
        .map_err(|e| WebError::Internal(e.to_string()))??;
    Ok(attachment(bytes, "synthese.xlsx", XLSX))
}

/// The campaign file as stored: the bytes its SHA-256 is of, so that
/// `bilan batch --campagne` on it states the same fingerprint.
pub async fn campaign_file(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    require(&state, &headers)?;
    let campaign = state.store.campaign(id)?.ok_or(WebError::NotFound)?;
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
    require(&state, &headers)?;
    state.store.campaign(id)?.ok_or(WebError::NotFound)?;
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

/// One zip with `synthese.xlsx`, `rapport.json` and `annotes/`, laid out as
/// `bilan batch --out` lays them out (the synthesis' links work once unzipped).
pub async fn export_zip(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    require(&state, &headers)?;
    let export = crate::web::export::gather(&state, id)?;
    let name = format!("campagne-{id}.zip");
    let bytes = tokio::task::spawn_blocking(move || export.zip())
        .await
        .map_err(|e| WebError::Internal(e.to_string()))??;
    Ok(attachment(bytes, &name, "application/zip"))
}

// ---- a return -------------------------------------------------------------

pub async fn return_page(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    require(&state, &headers)?;
    let expected = state.store.expected(id)?.ok_or(WebError::NotFound)?;
    super::depot::return_page(&state, &headers, expected, true, None)
}

pub async fn decide(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let reviewer = require(&state, &headers)?;
    verify_csrf(&state, &headers, &form)?;
    let expected = state.store.expected(id)?.ok_or(WebError::NotFound)?;
    let decision = match form.get("decision").map(|d| d.parse::<DecisionKind>()) {
        Some(Ok(d)) => d,
        _ => {
            return Err(WebError::BadRequest(
                "Choisissez « Acceptée » ou « À corriger ».".into(),
            ))
        }
    };
    let comment: String = form
        .get("commentaire")
        .map(|c| c.trim().chars().take(5000).collect())
        .unwrap_or_default();
    let latest = state.store.submissions(expected.id)?.first().map(|s| s.id);
    state
        .store
        .add_decision(expected.id, latest, decision, &comment, &reviewer.login)?;
    journal(
        &state,
        &reviewer.login,
        &peer,
        "décision",
        &format!(
            "{} de « {} » (envoi n° {}) : {decision}",
            expected.modele,
            expected.organisation,
            latest.map(|l| l.to_string()).unwrap_or_else(|| "aucun".into())
        ),
    )?;
    Ok(Redirect::to(&format!("/retours/{id}")).into_response())
}

pub async fn annotated(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path((id, envoi)): Path<(i64, i64)>,
) -> Result<Response, WebError> {
    require(&state, &headers)?;
    let expected = state.store.expected(id)?.ok_or(WebError::NotFound)?;
    super::depot::annotated_of(&state, &expected, envoi)
}
