//! One template per page (`src/web/templates/`, askama: every value is
//! HTML-escaped unless a template says otherwise, and none does).

use askama::Template;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::store::{Campaign, Decision, Expected};
use super::view::FileView;
use crate::web::error::WebError;

/// What the layout needs on every page.
#[derive(Debug, Clone, Default)]
pub struct Nav {
    pub reviewer: bool,
    pub admin: bool,
    pub csrf: String,
    pub version: &'static str,
}

impl Nav {
    pub fn new(reviewer: bool, csrf: &str) -> Self {
        Self {
            reviewer,
            admin: false,
            csrf: csrf.to_string(),
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// Renders a page; a template error is a 500 with a French message.
pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("Erreur interne du serveur : page impossible à afficher ({e})."),
        ),
    }
}

#[derive(Template)]
#[template(path = "erreur.html")]
pub struct ErrorPage<'a> {
    pub nav: Nav,
    pub title: &'a str,
    pub message: &'a str,
}

pub fn error_page(status: StatusCode, message: &str) -> Response {
    let title = match status {
        StatusCode::FORBIDDEN => "Accès refusé",
        StatusCode::NOT_FOUND => "Page introuvable",
        StatusCode::PAYLOAD_TOO_LARGE => "Envoi trop volumineux",
        StatusCode::INSUFFICIENT_STORAGE => "Espace disque épuisé",
        StatusCode::TOO_MANY_REQUESTS => "Trop d'essais",
        StatusCode::UNAUTHORIZED => "Connexion requise",
        StatusCode::SERVICE_UNAVAILABLE => "Serveur occupé",
        StatusCode::BAD_REQUEST => "Demande incorrecte",
        _ => "Erreur",
    };
    let page = ErrorPage {
        nav: Nav::new(false, ""),
        title,
        message,
    };
    let html = page
        .render()
        .unwrap_or_else(|_| format!("<!DOCTYPE html><html lang=\"fr\"><title>{title}</title><p>{title}</p></html>"));
    (status, Html(html)).into_response()
}

#[derive(Template)]
#[template(path = "accueil.html")]
pub struct Home {
    pub nav: Nav,
    pub enabled: bool,
    pub max_size: String,
}

/// One file of a self-check: its view and the key of its annotated workbook.
pub struct SelfCheckItem {
    pub view: FileView,
    pub annotated: Option<String>,
}

#[derive(Template)]
#[template(path = "resultats.html")]
pub struct SelfCheckResults {
    pub nav: Nav,
    pub files: Vec<SelfCheckItem>,
}

#[derive(Template)]
#[template(path = "connexion.html")]
pub struct Login<'a> {
    pub nav: Nav,
    pub message: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "initialisation.html")]
pub struct Setup<'a> {
    pub nav: Nav,
    pub token: &'a str,
    pub login: &'a str,
    pub message: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "campagnes.html")]
pub struct Campaigns<'a> {
    pub nav: Nav,
    pub campaigns: Vec<Campaign>,
    /// A problem with an uploaded campaign file.
    pub message: Option<&'a str>,
    pub api_key: Option<String>,
    /// The campaign form as typed, its problems, and its choices.
    pub form: super::campaign_form::CampaignForm,
    pub decisions: Vec<super::campaign_form::Decision>,
    pub errors: Vec<super::campaign_form::FieldError>,
    /// (id, title) of every rule a campaign may change.
    pub rules: Vec<(String, String)>,
    pub templates: Vec<String>,
}

impl Campaigns<'_> {
    /// The problem with a field, if any (shown next to it).
    pub fn error_of(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

/// A row of the dashboard, ready to show.
pub struct DashRow {
    pub expected: Expected,
    pub received: Option<String>,
    pub file: Option<String>,
    pub state: String,
    pub status: String,
    pub status_label: String,
    /// Errors, warnings, infos, justified: `None` before a check (or when missing).
    pub counts: Option<[i64; 4]>,
    /// Submissions of this return: the latest is « envoi n° versions ».
    pub versions: i64,
    pub decision: Option<Decision>,
    pub link: String,
}

pub struct Filters {
    pub modele: String,
    pub statut: String,
    pub manquants: bool,
    pub a_decider: bool,
}

pub struct Tally {
    pub expected: usize,
    pub received: usize,
    pub conforme: usize,
    pub a_corriger: usize,
    /// Another organisation's or template's file: never counted as the return.
    pub a_verifier: usize,
    pub missing: usize,
    pub waiting_decision: usize,
}

/// A cross-file finding on the dashboard.
pub struct CrossFinding {
    pub rule: String,
    pub severity: String,
    pub severity_label: String,
    pub message: String,
    pub file: String,
}

#[derive(Template)]
#[template(path = "tableau.html")]
pub struct Dashboard {
    pub nav: Nav,
    pub campaign: Campaign,
    pub overrides: Vec<String>,
    pub rows: Vec<DashRow>,
    pub templates: Vec<String>,
    pub filters: Filters,
    pub tally: Tally,
    pub cross: Vec<CrossFinding>,
    pub base_url: String,
}

/// One submission on a return page.
pub struct SubmissionItem {
    pub id: i64,
    /// 1, 2, 3… for this return.
    pub number: i64,
    pub received: String,
    pub name: String,
    pub sha256: String,
    pub checked: bool,
    pub view: Option<FileView>,
    pub annotated: String,
    pub follow_up: Option<FollowUp>,
    pub decisions: Vec<Decision>,
    /// The file is another return than the one this link expects.
    pub mismatch: Option<String>,
}

/// The comparison with the previous version.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct FollowUp {
    pub previous: i64,
    pub corrected: Vec<String>,
    pub new: Vec<String>,
    pub still: Vec<String>,
    pub justified: Vec<String>,
    pub values: Vec<String>,
}

#[derive(Template)]
#[template(path = "retour.html")]
pub struct ReturnPage<'a> {
    pub nav: Nav,
    pub reviewer: bool,
    pub campaign: Campaign,
    pub expected: Expected,
    pub submissions: Vec<SubmissionItem>,
    pub decisions: Vec<Decision>,
    pub send_action: String,
    pub max_size: String,
    pub message: Option<&'a str>,
    pub link: String,
}

pub struct TemplateItem {
    pub id: String,
    pub title: String,
}

pub struct RuleItem {
    pub id: String,
    pub severity_label: String,
    pub template: String,
    pub title: String,
}

#[derive(Template)]
#[template(path = "modeles.html")]
pub struct TemplatesPage {
    pub nav: Nav,
    pub templates: Vec<TemplateItem>,
    pub rules: Vec<RuleItem>,
}

#[derive(Template)]
#[template(path = "regle.html")]
pub struct RulePage {
    pub nav: Nav,
    pub id: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "comptes.html")]
pub struct AccountsPage {
    pub nav: Nav,
    pub accounts: Vec<super::store::Account>,
    pub message: Option<String>,
    /// The one-time link of an account just created (shown once).
    pub new_link: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "cles.html")]
pub struct KeysPage {
    pub nav: Nav,
    pub keys: Vec<super::store::ApiKey>,
    /// A key just created: its name and secret (shown once).
    pub new_key: Option<(String, String)>,
    pub all: bool,
}

#[derive(Template)]
#[template(path = "journal.html")]
pub struct JournalPage {
    pub nav: Nav,
    pub entries: Vec<super::store::JournalEntry>,
}

#[derive(Template)]
#[template(path = "accessibilite.html")]
pub struct AccessibilityPage {
    pub nav: Nav,
}

/// How a [`WebError`] answers an HTML request: its page (moved from `error`,
/// which sits below the pages).
impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if matches!(self, WebError::LoginRequired) {
            return Redirect::to("/connexion").into_response();
        }
        self.log();
        let status = self.status();
        let body = error_page(status, &self.message());
        let mut resp = (status, body).into_response();
        if let Some(secs) = self.retry_after() {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        }
        resp
    }
}
