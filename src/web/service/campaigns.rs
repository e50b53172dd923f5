//! Campaigns on the desk: a `campagne.toml` read strictly by the library,
//! its expected returns (each template checked), stored with a token per
//! return; the same whether it comes from the campaigns page, its form, or
//! `bilan serve --campagne` at start.

use sha2::{Digest, Sha256};

use crate::web::auth;
use crate::web::error::io_fr;
use crate::web::{Shared, WebError};

/// Why a campaign was refused, in French (shown next to the form, 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

impl From<Refused> for WebError {
    fn from(r: Refused) -> Self {
        WebError::BadRequest(r.0)
    }
}

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
pub fn parse_campaign(state: &Shared, text: &str, file: &str) -> Result<CampaignHead, Refused> {
    let c = crate::pipeline::campaign::Campaign::parse(
        text,
        std::path::Path::new(file),
        None,
        &state.engine.checker().rules,
    )
    .map_err(|e| {
        let message = e.message.split(" (détail technique").next().unwrap_or(&e.message);
        Refused(format!("{file}, ligne {}, colonne {} : {message}", e.line, e.column))
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
pub fn parse_expected(text: &str, state: &Shared) -> Result<Vec<(String, String)>, Refused> {
    let list = crate::batch::parse_expected(text).map_err(|e| Refused(format!("retours attendus, {e}")))?;
    known_templates(state, list)
}

pub fn known_templates(state: &Shared, list: Vec<crate::batch::Expected>) -> Result<Vec<(String, String)>, Refused> {
    let checker = state.engine.checker();
    list.into_iter()
        .map(|e| match checker.templates.get(&e.template) {
            Some(t) => Ok((t.id.clone(), e.organisation)),
            None => Err(Refused(format!(
                "retours attendus : modèle « {} » inconnu (modèles : {})",
                e.template,
                checker.templates.ids().join(", ")
            ))),
        })
        .collect()
}

pub fn add_campaign(state: &Shared, text: &str, expected: &[(String, String)], file: &str) -> Result<i64, Refused> {
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
    store().map_err(|e| Refused(e.message()))
}

/// `bilan serve --campagne FILE`: creates the campaign at start unless one with
/// the same file content exists. Its `attendus` list (relative to the file) is read too.
pub fn create_campaign_from_file(state: &Shared, path: &std::path::Path) -> Result<(), WebError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| WebError::BadRequest(format!("{} : lecture impossible ({})", path.display(), io_fr(&e))))?;
    let sha = crate::base::format::hex(&Sha256::digest(text.as_bytes()));
    if state.store.campaigns()?.iter().any(|c| c.sha256 == sha) {
        return Ok(());
    }
    parse_campaign(state, &text, &path.display().to_string())?;
    let attendus = toml::from_str::<toml::Table>(&text)
        .ok()
        .and_then(|t| t.get("attendus").and_then(|v| v.as_str()).map(str::to_string));
    let expected = match attendus {
        Some(rel) => {
            let list = path.parent().unwrap_or(std::path::Path::new(".")).join(rel);
            known_templates(state, crate::batch::read_expected(&list).map_err(WebError::BadRequest)?)?
        }
        None => Vec::new(),
    };
    let id = add_campaign(state, &text, &expected, &path.display().to_string())?;
    state.store.journal_add(
        "bilan serve",
        "local",
        "campagne créée",
        &format!("n° {id} depuis {} (--campagne)", crate::output::path_text(path)),
    )?;
    Ok(())
}

/// `rapport.json` of the latest submissions of a campaign.
pub fn campaign_report(state: &Shared, id: i64) -> Result<serde_json::Value, WebError> {
    Ok(crate::web::export::gather(state, id)?.json())
}
