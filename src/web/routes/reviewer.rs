//! The Region's side: login, campaigns, the dashboard, return pages,
//! decisions and exports. Every handler here starts with [`require`].

use std::collections::HashMap;
use std::io::Write;

use axum::extract::{ConnectInfo, Multipart, Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;

use super::{attachment, nav, with_cookie, XLSX};
use crate::outcome::Summary;
use crate::web::auth::{self, Csrf, Reviewer};
use crate::web::pages::{self, render, CrossFinding, DashRow, Dashboard, Filters, Login, Setup, Tally};
use crate::web::service::summary_of;
use crate::web::storage::{Campaign, Submission};
use crate::web::upload::{self, read_form};
use crate::web::{Shared, WebError};

/// The reviewer of this request, or a redirect to the login page.
pub fn require(state: &Shared, headers: &HeaderMap) -> Result<Reviewer, WebError> {
    auth::reviewer(&state.storage, headers, state.config.secure_cookies)?.ok_or(WebError::LoginRequired)
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
    state.storage.journal_add(who, &peer.ip().to_string(), action, detail)
}

pub const EXAMPLE_CAMPAIGN: &str = "nom = \"Bilan SRDE 2009\"\nexercice = 2009\ndate_arrete = 2010-03-31\n";

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
    let account = state.storage.account_by_login(&login)?.filter(|a| a.active);
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
        .storage
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
        state.storage.end_session(&auth::digest(&token))?;
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
        .storage
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
        .storage
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
        .storage
        .take_setup_link(&auth::digest(&token))?
        .ok_or_else(unknown_link)?;
    let hash = state.hashing.run(move || auth::hash_password(&pw)).await??;
    state.storage.set_password(id, &hash)?;
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
    pub overrides: Vec<(String, String, String)>,
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
    .map_err(|e| e.to_string())?;
    Ok(CampaignHead {
        nom: c.name.clone(),
        exercice: c.exercice,
        date_arrete: c.cut_off.as_ref().map(|d| d.display_fr()),
        overrides: c
            .overrides
            .iter()
            .map(|o| (o.rule.clone(), o.describe_fr(), o.reason.clone().unwrap_or_default()))
            .collect(),
    })
}

/// `modele;organisation` lines (a header line is skipped).
fn parse_expected(text: &str, state: &Shared) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let sep = if line.contains(';') { ';' } else { ',' };
        let mut parts = line.splitn(2, sep).map(str::trim);
        let (Some(t), Some(o)) = (parts.next(), parts.next()) else {
            return Err(format!(
                "retours attendus, ligne {} : il faut « modèle;organisation »",
                i + 1
            ));
        };
        if i == 0 && matches!(t.to_lowercase().as_str(), "modele" | "modèle" | "template") {
            continue;
        }
        let checker = state.engine.checker();
        let Some(template) = checker.templates.get(t) else {
            return Err(format!(
                "retours attendus, ligne {} : modèle « {t} » inconnu (modèles : {})",
                i + 1,
                checker.templates.ids().join(", ")
            ));
        };
        if o.is_empty() {
            return Err(format!("retours attendus, ligne {} : organisation manquante", i + 1));
        }
        out.push((template.id.clone(), o.to_string()));
    }
    Ok(out)
}

fn add_campaign(state: &Shared, text: &str, expected: &str, file: &str) -> Result<i64, String> {
    let head = parse_campaign(state, text, file)?;
    let expected = parse_expected(expected, state)?;
    let sha = crate::base::format::hex(&Sha256::digest(text.as_bytes()));
    let store = || -> Result<i64, WebError> {
        let id = state
            .storage
            .add_campaign(&head.nom, head.exercice, head.date_arrete.as_deref(), text, &sha)?;
        for (t, o) in &expected {
            state.storage.add_expected(id, t, o, &auth::random_token()?)?;
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
    if state.storage.campaigns()?.iter().any(|c| c.sha256 == sha) {
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
            crate::batch::read_expected(&list)
                .map_err(WebError::BadRequest)?
                .into_iter()
                .map(|e| format!("{};{}", e.template, e.organisation))
                .collect::<Vec<_>>()
                .join("\n")
        }
        None => String::new(),
    };
    add_campaign(state, &text, &expected, &path.display().to_string()).map_err(WebError::BadRequest)?;
    Ok(())
}

pub async fn campaigns(State(state): State<Shared>, headers: HeaderMap) -> Result<Response, WebError> {
    require(&state, &headers)?;
    campaigns_page(&state, &headers, None, None)
}

fn campaigns_page(
    state: &Shared,
    headers: &HeaderMap,
    message: Option<&str>,
    api_key: Option<String>,
) -> Result<Response, WebError> {
    let (nav, cookie) = nav(state, headers)?;
    let page = pages::Campaigns {
        nav,
        campaigns: state.storage.campaigns()?,
        message,
        api_key,
        example: EXAMPLE_CAMPAIGN,
    };
    Ok(with_cookie(render(&page), cookie))
}

pub async fn create_campaign(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, WebError> {
    let reviewer = require(&state, &headers)?;
    upload::check_length(&headers, 4_000_000)?;
    let form = read_form(
        multipart,
        &state.storage.data_dir().join("tmp"),
        upload::Limits {
            max_file: 1_000_000,
            // Reviewers only (the session is checked above): a campaign text may
            // be as long as a campaign file (1 MB).
            max_text: 1_000_000,
            max_files: 2,
            csrf: Some((headers.clone(), state.config.secure_cookies)),
        },
    )
    .await?;
    let text = form.field("campagne").unwrap_or_default().to_string();
    let expected = form.field("attendus").unwrap_or_default().to_string();
    match add_campaign(&state, &text, &expected, "campagne.toml") {
        Ok(id) => {
            let name = state.storage.campaign(id)?.map(|c| c.nom).unwrap_or_default();
            journal(
                &state,
                &reviewer.login,
                &peer,
                "campagne créée",
                &format!("n° {id} « {name} »"),
            )?;
            Ok(Redirect::to(&format!("/campagnes/{id}")).into_response())
        }
        Err(message) => {
            let mut resp = campaigns_page(&state, &headers, Some(&message), None)?;
            *resp.status_mut() = axum::http::StatusCode::BAD_REQUEST;
            Ok(resp)
        }
    }
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
    state.storage.campaign(id)?.ok_or(WebError::NotFound)?;
    let line = format!(
        "{};{}",
        form.get("modele").map(|s| s.trim()).unwrap_or_default(),
        form.get("organisation").map(|s| s.trim()).unwrap_or_default()
    );
    let parsed = parse_expected(&line, &state).map_err(WebError::BadRequest)?;
    for (t, o) in parsed {
        state.storage.add_expected(id, &t, &o, &auth::random_token()?)?;
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

/// The latest checked submission of every expected return, with the name of its
/// annotated workbook in the zip.
fn latest_summaries(state: &Shared, campaign: i64) -> Result<Vec<(Submission, String, Summary)>, WebError> {
    let rows = state.storage.dashboard(campaign)?;
    let subs: Vec<Submission> = rows
        .into_iter()
        .filter_map(|r| r.latest.filter(|s| s.etat == "controle"))
        .collect();
    let names = crate::output::report_names(
        &subs
            .iter()
            .map(|s| {
                std::path::PathBuf::from(
                    format!("{} - {}", s.organisation.as_deref().unwrap_or("retour"), s.nom_fichier)
                        .replace(['/', '\\'], "-"),
                )
            })
            .collect::<Vec<_>>(),
        &|_| false,
    );
    Ok(subs
        .into_iter()
        .zip(names)
        .filter_map(|(s, n)| {
            let summary = summary_of(&s, Some(format!("annotes/{n}")))?;
            Some((s, n, summary))
        })
        .collect())
}

fn cross_findings(state: &Shared, summaries: &[Summary]) -> Vec<crate::batch::BatchFinding> {
    crate::batch::cross_checks(&state.engine.checker().rules, summaries, None)
}

pub async fn dashboard(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    require(&state, &headers)?;
    let campaign: Campaign = state.storage.campaign(id)?.ok_or(WebError::NotFound)?;
    let overrides = parse_campaign(&state, &campaign.fichier, "campagne.toml")
        .map(|h| h.overrides)
        .unwrap_or_default();
    let filters = Filters {
        modele: q.get("modele").cloned().unwrap_or_default(),
        statut: q.get("statut").cloned().unwrap_or_default(),
        manquants: q.get("manquants").is_some_and(|v| v == "1"),
        a_decider: q.get("a_decider").is_some_and(|v| v == "1"),
    };
    let all = state.storage.dashboard(id)?;
    let mut tally = Tally {
        expected: all.len(),
        received: 0,
        conforme: 0,
        a_corriger: 0,
        missing: 0,
        waiting_decision: 0,
    };
    let mut rows = Vec::new();
    for r in all {
        let checked = r.latest.as_ref().filter(|s| s.etat == "controle");
        let status = checked.and_then(|s| s.statut.clone()).unwrap_or_default();
        let decided_latest = match (&r.decision, &r.latest) {
            (Some(d), Some(s)) => d.depot_id == Some(s.id),
            _ => false,
        };
        let to_correct = status == "non_conforme"
            || (decided_latest && r.decision.as_ref().is_some_and(|d| d.decision == "a_corriger"));
        if r.latest.is_some() {
            tally.received += 1;
            if !decided_latest {
                tally.waiting_decision += 1;
            }
            if to_correct {
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
        let status_label = match (&r.latest, status.as_str()) {
            (None, _) => "Manquant".to_string(),
            (Some(_), "conforme") => "Conforme".to_string(),
            (Some(_), "conforme_avec_reserves") => "Conforme avec réserves".to_string(),
            (Some(_), "non_conforme") => "Non conforme".to_string(),
            (Some(_), _) => "Contrôle en cours".to_string(),
        };
        let link = super::depot::deposit_link(&state, &r.expected.jeton);
        rows.push(DashRow {
            received: r.latest.as_ref().map(|s| s.recu_le.replace('T', " ").replace('Z', "")),
            file: r.latest.as_ref().map(|s| s.nom_fichier.clone()),
            state: r.latest.as_ref().map(|s| s.etat.clone()).unwrap_or_default(),
            errors: checked.and_then(|s| s.erreurs).unwrap_or(0),
            warnings: checked.and_then(|s| s.avertissements).unwrap_or(0),
            infos: checked.and_then(|s| s.informations).unwrap_or(0),
            justified: checked.and_then(|s| s.justifies).unwrap_or(0),
            status,
            status_label,
            versions: r.versions,
            decision: r.decision,
            link,
            expected: r.expected,
        });
    }
    let summaries: Vec<Summary> = latest_summaries(&state, id)?.into_iter().map(|(_, _, s)| s).collect();
    let cross = cross_findings(&state, &summaries)
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
    let campaign = state.storage.campaign(id)?.ok_or(WebError::NotFound)?;
    let summaries: Vec<Summary> = latest_summaries(state, id)?.into_iter().map(|(_, _, s)| s).collect();
    let cross = cross_findings(state, &summaries);
    let mut value = crate::batch::json_report(
        &summaries,
        &[],
        &cross,
        &state.engine.checker().rules.name,
        chrono::Utc::now(),
    );
    let checker = state.engine.for_campaign(campaign.id, &campaign.fichier)?;
    crate::report::json::add_campaign(&mut value, &checker.rules);
    Ok(value)
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
    let campaign = state.storage.campaign(id)?.ok_or(WebError::NotFound)?;
    let summaries: Vec<Summary> = latest_summaries(&state, id)?.into_iter().map(|(_, _, s)| s).collect();
    let cross = cross_findings(&state, &summaries);
    let checker = state.engine.for_campaign(campaign.id, &campaign.fichier)?;
    let bytes = tokio::task::spawn_blocking(move || {
        crate::report::synthese::write(
            &summaries,
            &[],
            &cross,
            &checker.templates,
            chrono::Utc::now(),
            &checker.rules.name,
            &crate::report::print::Names::default(),
            checker.rules.campaign.as_deref(),
        )
    })
    .await
    .map_err(|e| WebError::Internal(e.to_string()))?
    .map_err(|e| WebError::Internal(format!("synthèse impossible : {e}")))?;
    Ok(attachment(bytes, "synthese.xlsx", XLSX))
}

pub async fn annotated_zip(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    require(&state, &headers)?;
    state.storage.campaign(id)?.ok_or(WebError::NotFound)?;
    let latest = latest_summaries(&state, id)?;
    let state2 = std::sync::Arc::clone(&state);
    let bytes = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        for (sub, name, _) in &latest {
            let path = state2.storage.path_of(&super::depot::annotated_path(sub.id));
            let Ok(bytes) = std::fs::read(&path) else { continue };
            zip.start_file(name.as_str(), options).map_err(|e| e.to_string())?;
            zip.write_all(&bytes).map_err(|e| e.to_string())?;
        }
        zip.finish().map(|c| c.into_inner()).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| WebError::Internal(e.to_string()))?
    .map_err(|e| WebError::Internal(format!("archive impossible : {e}")))?;
    Ok(attachment(bytes, "annotes.zip", "application/zip"))
}

// ---- a return -------------------------------------------------------------

pub async fn return_page(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    require(&state, &headers)?;
    let expected = state.storage.expected(id)?.ok_or(WebError::NotFound)?;
    super::depot::return_page(&state, &headers, expected, true)
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
    let expected = state.storage.expected(id)?.ok_or(WebError::NotFound)?;
    let decision = match form.get("decision").map(String::as_str) {
        Some("acceptee") => "acceptee",
        Some("a_corriger") => "a_corriger",
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
    let latest = state.storage.submissions(expected.id)?.first().map(|s| s.id);
    state
        .storage
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
    let expected = state.storage.expected(id)?.ok_or(WebError::NotFound)?;
    super::depot::annotated_of(&state, &expected, envoi)
}
