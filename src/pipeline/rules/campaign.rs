//! A campaign's data as the rule pack keeps it ([`RulePack::campaign`](crate::pipeline::rules::RulePack)):
//! what it decided about the rules and the returns it expects, and how reports
//! word it. Loading and applying a campaign, and CAMP-001/002, are in
//! [`crate::pipeline::campaign`], above the rule pack.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::base::format::capitalise;
use crate::base::values::DateInterval;
use crate::finding::{Level, Severity};
use crate::pipeline::rules::meta::ParamValue;

/// One decision of the campaign about one rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    pub rule: String,
    /// The severity the campaign gives, or [`Level::Off`].
    pub level: Option<Level>,
    /// The rule's severity before the campaign (its default, or the pack's).
    pub previous_severity: Option<Severity>,
    /// Parameters the campaign sets, with their value before it.
    pub parameters: BTreeMap<String, (ParamValue, Option<ParamValue>)>,
    /// `motif`: why, shown in every report.
    pub reason: Option<String>,
}

impl Override {
    /// One French line for reports: `PLDE-DAT-004 désactivée — <motif>`,
    /// `PROG-OBJ-001 : seuil_pct 50 → 40 — <motif>`,
    /// `POLE-FIN-005 : avertissement → erreur`.
    pub fn describe_fr(&self) -> String {
        let mut changes = Vec::new();
        match self.level {
            Some(Level::Off) => {}
            Some(Level::On(sev)) => changes.push(match self.previous_severity {
                Some(prev) if prev != sev => format!("{} → {}", prev.label_fr(), sev.label_fr()),
                _ => format!("gravité {}", sev.label_fr()),
            }),
            None => {}
        }
        for (name, (value, previous)) in &self.parameters {
            changes.push(match previous {
                Some(p) => format!("{name} {} → {}", p.display(), value.display()),
                None => format!("{name} = {}", value.display()),
            });
        }
        let head = if self.level == Some(Level::Off) {
            format!("{} désactivée", self.rule)
        } else {
            format!("{} : {}", self.rule, changes.join(", "))
        };
        match &self.reason {
            Some(r) => format!("{head} — {r}"),
            None => format!("{head} (motif non indiqué)"),
        }
    }

    fn to_json(&self) -> Value {
        let parameters = if self.parameters.is_empty() {
            Value::Null
        } else {
            Value::Object(
                self.parameters
                    .iter()
                    .map(|(k, (v, _))| (k.clone(), param_json(v)))
                    .collect(),
            )
        };
        json!({
            "rule": self.rule,
            "severity": self.level.map(Level::as_str),
            "parameters": parameters,
            "reason": self.reason,
        })
    }
}

fn param_json(v: &ParamValue) -> Value {
    v.to_json()
}

/// A loaded campaign.
#[derive(Debug, Clone)]
pub struct Campaign {
    /// `nom`.
    pub name: String,
    pub exercice: Option<i64>,
    /// `date_arrete`, a day.
    pub cut_off: Option<DateInterval>,
    /// `attendus` as written in the file (relative to it).
    pub expected_file: Option<String>,
    /// The returns `attendus` lists (read when the campaign was loaded from a
    /// folder; `None` without `attendus`).
    pub expected: Option<Vec<Expected>>,
    pub overrides: Vec<Override>,
    /// SHA-256 of the campaign file's bytes, printed in every report.
    pub sha256: String,
    /// How messages name the file.
    pub path: PathBuf,
    /// The file's text (what the fingerprint is of).
    pub source: String,
}

impl Campaign {
    /// The campaign in French, one line each, for reports: name, fingerprint,
    /// exercice and cut-off, then every override with its reason.
    pub fn lines_fr(&self) -> Vec<String> {
        let mut out = vec![format!("Campagne : {}", self.name)];
        let mut facts = Vec::new();
        if let Some(e) = self.exercice {
            facts.push(format!("exercice {e}"));
        }
        if let Some(d) = self.cut_off {
            facts.push(format!("date d'arrêté {}", d.display_fr()));
        }
        if !facts.is_empty() {
            out.push(capitalise(&facts.join(", ")));
        }
        out.push(format!("Fichier de campagne : SHA-256 {}", self.sha256));
        if self.overrides.is_empty() {
            out.push("Aucune règle modifiée par la campagne.".into());
        } else {
            out.push("Règles modifiées par la campagne :".into());
            out.extend(self.overrides.iter().map(|o| format!("  {}", o.describe_fr())));
        }
        out
    }

    /// The `campaign` object of `rapport.json`.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "sha256": self.sha256,
            "file": self.path.display().to_string(),
            "exercice": self.exercice,
            "cut_off": self.cut_off.map(|d| d.canonical()),
            "overrides": self.overrides.iter().map(Override::to_json).collect::<Vec<_>>(),
        })
    }

    /// What `bilan explain RULE --campagne F` adds: how the campaign applies the rule.
    pub fn explain_note(&self, rule: &str) -> Option<String> {
        let o = self.overrides.iter().find(|o| o.rule.eq_ignore_ascii_case(rule))?;
        Some(format!("\nDans la campagne « {} » : {}\n", self.name, o.describe_fr()))
    }

    /// The override of a rule, if the campaign has one.
    pub fn override_of(&self, rule: &str) -> Option<&Override> {
        self.overrides.iter().find(|o| o.rule == rule)
    }
}

/// One expected return of `--expected LIST.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub template: String,
    pub organisation: String,
}

/// Reads `--expected`: a CSV (`,` or `;`) with columns `modele`/`template` and
/// `organisation` (a header row is recognised and skipped).
pub fn read_expected(path: &Path) -> Result<Vec<Expected>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| crate::base::messages::io_failure("lecture", path, &e))?;
    let delimiter = if text.lines().next().is_some_and(|l| l.contains(';')) {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|_| format!("{} : ligne {} illisible (CSV mal formé)", path.display(), i + 1))?;
        let cells: Vec<&str> = record.iter().map(str::trim).collect();
        if cells.iter().all(|c| c.is_empty()) {
            continue;
        }
        if i == 0
            && cells.first().is_some_and(|c| {
                matches!(
                    crate::base::values::normalize_label(c).as_str(),
                    "modele" | "template" | "gabarit"
                )
            })
        {
            continue;
        }
        match cells.as_slice() {
            [template, organisation, ..] if !template.is_empty() && !organisation.is_empty() => out.push(Expected {
                template: template.to_string(),
                organisation: organisation.to_string(),
            }),
            _ => {
                return Err(format!(
                    "{} : ligne {} : il faut deux colonnes, modèle et organisation",
                    path.display(),
                    i + 1
                ))
            }
        }
    }
    Ok(out)
}
