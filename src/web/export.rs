//! A campaign's exports: what `bilan batch --campagne` gives on the latest
//! submission of every expected return, plus the reviewers' decisions.
//!
//! Nothing here re-implements the batch: the cross-file findings come from the
//! library's [`crate::batch::cross_checks`] with the campaign's rules and its
//! expected returns (missing returns, duplicates and every other rule of
//! `rules/batch/`), `rapport.json` from [`crate::batch::json_report`] and
//! `synthese.xlsx` from [`crate::report::synthese::write`], as on the command line.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::store::{Campaign, Submission};
use super::{Shared, WebError};
use crate::batch::{BatchFinding, Expected};
use crate::job::Checker;
use crate::outcome::{Review, Summary};

/// Everything the exports of one campaign are made of.
pub struct Export {
    pub campaign: Campaign,
    pub checker: Arc<Checker>,
    pub summaries: Vec<Summary>,
    pub cross: Vec<BatchFinding>,
    /// `annotes/<name>` in the zip, and the stored workbook.
    pub annotated: Vec<(String, PathBuf)>,
    pub checked_at: DateTime<Utc>,
}

/// The latest checked submission of every expected return, as the batch would
/// have it, with the reviewers' decision on it.
pub fn gather(state: &Shared, campaign_id: i64) -> Result<Export, WebError> {
    let campaign = state.store.campaign(campaign_id)?.ok_or(WebError::NotFound)?;
    let checker = state.engine.for_campaign(campaign.id, &campaign.fichier)?;
    let rows = state.store.dashboard(campaign_id)?;
    let expected: Vec<Expected> = rows
        .iter()
        .map(|r| Expected {
            template: r.expected.modele.clone(),
            organisation: r.expected.organisation.clone(),
        })
        .collect();
    let mut latest: Vec<(Submission, Option<Review>)> = Vec::new();
    for r in rows {
        let Some(sub) = r.latest.filter(|s| s.is_checked()) else {
            continue;
        };
        // A decision counts for the submission it was taken on; a newer
        // submission waits for its own.
        let review = match r.decision.filter(|d| d.depot_id == Some(sub.id)) {
            Some(d) => Review {
                decision: Some(d.decision.to_string()),
                comment: d.commentaire,
                reviewer: d.relecteur,
                decided_at: Some(d.decide_le),
            },
            None => Review {
                decision: None,
                comment: String::new(),
                reviewer: String::new(),
                decided_at: None,
            },
        };
        latest.push((sub, Some(review)));
    }
    // In the order `bilan batch` takes files (by name), so that order-bound
    // findings (the second of two duplicates) fall on the same return.
    latest.sort_by(|(a, _), (b, _)| (&a.nom_fichier, a.id).cmp(&(&b.nom_fichier, b.id)));
    let names = crate::output::report_names(
        &latest
            .iter()
            .map(|(s, _)| PathBuf::from(zip_stem(s)))
            .collect::<Vec<_>>(),
        &|_| false,
    );
    let mut summaries = Vec::new();
    let mut annotated = Vec::new();
    for ((sub, review), name) in latest.into_iter().zip(names) {
        let stored = state
            .store
            .path_of(&super::service::submissions::annotated_path(sub.id));
        let link = stored.is_file().then(|| format!("annotes/{name}"));
        let Some(mut summary) = super::service::summary_of(&sub, link.clone()) else {
            continue;
        };
        summary.review = review;
        // What the cross-file rules read (FEDER reconciliation…), kept at check time.
        summary.cross = sub
            .donnees
            .as_deref()
            .and_then(|d| serde_json::from_str::<Value>(d).ok())
            .and_then(|mut d| d.get_mut("cross").map(Value::take));
        if let Some(link) = link {
            annotated.push((link, stored));
        }
        summaries.push(summary);
    }
    let cross = crate::batch::cross_checks(&checker.rules, &summaries, Some(&expected));
    Ok(Export {
        campaign,
        checker,
        summaries,
        cross,
        annotated,
        checked_at: Utc::now(),
    })
}

/// The name a submission's annotated workbook gets in the zip: the
/// organisation then the file's own name (two organisations may send files
/// of the same name).
fn zip_stem(s: &Submission) -> String {
    format!("{} - {}", s.organisation.as_deref().unwrap_or("retour"), s.nom_fichier).replace(['/', '\\'], "-")
}

impl Export {
    /// `rapport.json`, with the campaign object and each file's `review`.
    pub fn json(&self) -> Value {
        let mut value = crate::batch::json_report(
            &self.summaries,
            &[],
            &self.cross,
            &self.checker.rules.name,
            self.checked_at,
        );
        crate::report::json::add_campaign(&mut value, &self.checker.rules);
        value
    }

    /// `synthese.xlsx`, with the column of decisions.
    pub fn synthese(&self) -> Result<Vec<u8>, WebError> {
        crate::report::synthese::write(
            &self.summaries,
            &[],
            &self.cross,
            &self.checker.templates,
            self.checked_at,
            &self.checker.rules.name,
            &crate::report::print::Names::default(),
            self.checker.rules.campaign.as_deref(),
        )
        .map_err(|e| {
            WebError::Internal(format!(
                "synthèse impossible : {}",
                crate::base::messages::xlsx_error(&e)
            ))
        })
    }

    /// One zip: `synthese.xlsx`, `rapport.json` and `annotes/` (where the
    /// synthesis' « ouvrir » links point), as `bilan batch --out` lays them out.
    pub fn zip(&self) -> Result<Vec<u8>, WebError> {
        let fail = |e: zip::result::ZipError| WebError::Internal(format!("archive impossible : {e}"));
        let synthese = self.synthese()?;
        let json = serde_json::to_string_pretty(&self.json()).unwrap_or_default() + "\n";
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        zip.start_file("synthese.xlsx", stored).map_err(fail)?;
        zip.write_all(&synthese).map_err(|e| fail(e.into()))?;
        zip.start_file("rapport.json", options).map_err(fail)?;
        zip.write_all(json.as_bytes()).map_err(|e| fail(e.into()))?;
        zip.add_directory("annotes/", options).map_err(fail)?;
        for (name, path) in &self.annotated {
            let Ok(bytes) = std::fs::read(path) else { continue };
            zip.start_file(name.as_str(), stored).map_err(fail)?;
            zip.write_all(&bytes).map_err(|e| fail(e.into()))?;
        }
        zip.finish().map(|c| c.into_inner()).map_err(fail)
    }
}
