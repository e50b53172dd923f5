//! What changed between two submissions of the same return (`bilan diff`, the
//! web desk's history; see `spec/campaign.md`).
//!
//! A finding is the same in both when its rule and its data pointer are equal
//! (so a table moved down by an inserted row keeps its findings); findings
//! without a pointer are matched on rule, sheet and message. Values are compared
//! pointer by pointer, each with its cell in both files.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::base::values::normalize_label;
use crate::finding::Finding;
use crate::pipeline::check::FileReport;

/// Why two files cannot be compared (exit 2 on the command line).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DiffError(pub String);

/// What became of a finding of the new submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Suivi {
    /// Not in the previous submission.
    Nouveau,
    /// Already there, not justified.
    ToujoursPresent,
    /// Justified by the submitter (new or not).
    Justifie,
}

impl Suivi {
    /// For reports: `nouveau`, `toujours présent`, `justifié`.
    pub fn label_fr(self) -> &'static str {
        match self {
            Suivi::Nouveau => "nouveau",
            Suivi::ToujoursPresent => "toujours présent",
            Suivi::Justifie => "justifié",
        }
    }

    /// For JSON: `nouveau`, `toujours_present`, `justifie`.
    pub fn as_str(self) -> &'static str {
        match self {
            Suivi::Nouveau => "nouveau",
            Suivi::ToujoursPresent => "toujours_present",
            Suivi::Justifie => "justifie",
        }
    }
}

/// Where a value sits: sheet and cell (`Financements!B4`), as reports write it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    pub sheet: String,
    pub cell: Option<crate::base::model::CellRef>,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.cell {
            Some(c) => write!(f, "{}!{c}", self.sheet),
            None => f.write_str(&self.sheet),
        }
    }
}

/// One value that differs between the two submissions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueChange {
    pub pointer: String,
    pub old_place: Option<Place>,
    /// `None`: the value is not in the old submission (a row added).
    pub old_value: Option<Value>,
    pub new_place: Option<Place>,
    /// `None`: the value is not in the new submission (a row removed).
    pub new_value: Option<Value>,
}

/// The comparison of two submissions.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Diff {
    /// In the old submission, not in the new one (justified or not).
    pub corriges: Vec<Finding>,
    /// In the new one only, not justified.
    pub nouveaux: Vec<Finding>,
    /// In both, not justified in the new one.
    pub toujours_presents: Vec<Finding>,
    /// Justified in the new one (whether or not they were in the old).
    pub justifies: Vec<Finding>,
    pub valeurs_modifiees: Vec<ValueChange>,
    /// What became of each finding of the new report, in its order.
    pub suivi: Vec<Suivi>,
}

impl Diff {
    /// `2 corrigés, 1 nouveau, 3 toujours présents, 0 justifié`.
    pub fn summary_fr(&self) -> String {
        let p = crate::base::messages::plural;
        format!(
            "{}, {}, {}, {}",
            p(self.corriges.len(), "corrigé", "corrigés"),
            p(self.nouveaux.len(), "nouveau", "nouveaux"),
            p(self.toujours_presents.len(), "toujours présent", "toujours présents"),
            p(self.justifies.len(), "justifié", "justifiés"),
        )
    }
}

/// The identity of a finding across submissions.
fn key(f: &Finding) -> (String, String) {
    match &f.pointer {
        Some(p) => (f.rule.as_str().to_string(), p.clone()),
        None => (
            f.rule.as_str().to_string(),
            format!("{}\u{1f}{}", f.sheet.as_deref().unwrap_or(""), f.message),
        ),
    }
}

/// Checks that two reports are two submissions of one return.
pub fn same_return(old: &FileReport, new: &FileReport) -> Result<(), DiffError> {
    let unreadable = |r: &FileReport, which: &str| {
        DiffError(format!(
            "{which} fichier {} n'a pas pu être contrôlé ({}) : rien à comparer",
            r.path,
            if r.findings.iter().any(|f| f.rule.as_str().starts_with("BILAN-IO")) {
                "fichier illisible"
            } else {
                "modèle non reconnu"
            }
        ))
    };
    let (Some(t_old), Some(t_new)) = (&old.template, &new.template) else {
        return Err(if old.template.is_none() {
            unreadable(old, "l'ancien")
        } else {
            unreadable(new, "le nouveau")
        });
    };
    if t_old != t_new {
        return Err(DiffError(format!(
            "ce ne sont pas deux versions du même retour : {} est un retour {t_old}, {} un retour {t_new}",
            old.path, new.path
        )));
    }
    if let (Some(o_old), Some(o_new)) = (&old.organisation, &new.organisation) {
        if normalize_label(o_old) != normalize_label(o_new) {
            return Err(DiffError(format!(
                "ce ne sont pas deux versions du même retour : {} est le retour de « {o_old} », {} celui de « {o_new} »",
                old.path, new.path
            )));
        }
    }
    Ok(())
}

/// Compares two submissions of the same return.
pub fn compare(old: &FileReport, new: &FileReport) -> Result<Diff, DiffError> {
    same_return(old, new)?;
    let mut remaining: HashMap<(String, String), usize> = HashMap::new();
    for f in &old.findings {
        *remaining.entry(key(f)).or_default() += 1;
    }
    let mut diff = Diff::default();
    for f in &new.findings {
        let k = key(f);
        let was_there = match remaining.get_mut(&k) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        };
        let suivi = if f.is_justified() {
            diff.justifies.push(f.clone());
            Suivi::Justifie
        } else if was_there {
            diff.toujours_presents.push(f.clone());
            Suivi::ToujoursPresent
        } else {
            diff.nouveaux.push(f.clone());
            Suivi::Nouveau
        };
        diff.suivi.push(suivi);
    }
    for f in &old.findings {
        if let Some(n) = remaining.get_mut(&key(f)).filter(|n| **n > 0) {
            *n -= 1;
            diff.corriges.push(f.clone());
        }
    }
    diff.valeurs_modifiees = value_changes(old, new);
    Ok(diff)
}

fn value_changes(old: &FileReport, new: &FileReport) -> Vec<ValueChange> {
    let (Some(a), Some(b)) = (&old.extraction, &new.extraction) else {
        return Vec::new();
    };
    let mut list_a = Vec::new();
    leaves("", &a.data, &mut list_a);
    let mut list_b = Vec::new();
    leaves("", &b.data, &mut list_b);
    let place = |ex: &crate::pipeline::extract::Extraction, p: &str| {
        ex.origins.get(p).map(|o| Place {
            sheet: o.sheet.clone(),
            cell: o.cell,
        })
    };
    // In the order of the new return's data (the template's order: sheets, then
    // rows), then what only the old one has.
    let mut seen = std::collections::HashSet::new();
    let pointers: Vec<&String> = list_b
        .iter()
        .chain(&list_a)
        .map(|(p, _)| p)
        .filter(|p| seen.insert(*p))
        .collect();
    let leaves_a: HashMap<&String, &Value> = list_a.iter().map(|(p, v)| (p, *v)).collect();
    let leaves_b: HashMap<&String, &Value> = list_b.iter().map(|(p, v)| (p, *v)).collect();
    let mut out = Vec::new();
    for p in pointers {
        let va = leaves_a.get(p).copied().filter(|v| !v.is_null());
        let vb = leaves_b.get(p).copied().filter(|v| !v.is_null());
        if same_value(va, vb) {
            continue;
        }
        out.push(ValueChange {
            pointer: p.clone(),
            old_place: place(a, p),
            old_value: va.cloned(),
            new_place: place(b, p),
            new_value: vb.cloned(),
        });
    }
    out
}

fn same_value(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(Value::Number(x)), Some(Value::Number(y))) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x == y || (x - y).abs() <= f64::EPSILON * x.abs().max(y.abs()),
            _ => x == y,
        },
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

fn leaves<'a>(prefix: &str, v: &'a Value, out: &mut Vec<(String, &'a Value)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let k = k.replace('~', "~0").replace('/', "~1");
                leaves(&format!("{prefix}/{k}"), x, out);
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                leaves(&format!("{prefix}/{i}"), x, out);
            }
        }
        leaf => out.push((prefix.to_string(), leaf)),
    }
}

/// The extracted data of a report as `bilan extract` prints it (`data`,
/// `cells`), back into an [`Extraction`](crate::pipeline::extract::Extraction): what a
/// report checked in a worker process brings back ([`crate::job::Job::extraction`]).
pub fn extraction_of_json(v: &Value) -> Option<crate::pipeline::extract::Extraction> {
    let data = v.get("data").filter(|d| !d.is_null())?.clone();
    let origins = v
        .get("cells")
        .and_then(|c| serde_json::from_value(c.clone()).ok())
        .unwrap_or_default();
    Some(crate::pipeline::extract::Extraction {
        data,
        origins,
        ..Default::default()
    })
}

/// The machine form of a comparison (`bilan diff --json`); its schema is
/// `schemas/diff.schema.json`. Findings are in the report format.
pub fn to_json(diff: &Diff, old: &FileReport, new: &FileReport) -> Value {
    let findings = |fs: &[Finding], file: &str| {
        fs.iter()
            .map(|f| crate::outcome::finding_json(f, file))
            .collect::<Vec<_>>()
    };
    let side = |r: &FileReport| {
        json!({
            "path": r.path,
            "sha256": r.sha256,
            "status": r.status(),
            "counts": r.counts(),
        })
    };
    let place = |p: &Option<Place>| p.as_ref().map(|p| p.to_string());
    json!({
        "tool": "bilan",
        "version": env!("CARGO_PKG_VERSION"),
        "template": new.template,
        "organisation": new.organisation.as_ref().or(old.organisation.as_ref()),
        "ancien": side(old),
        "nouveau": side(new),
        "resume": {
            "corriges": diff.corriges.len(),
            "nouveaux": diff.nouveaux.len(),
            "toujours_presents": diff.toujours_presents.len(),
            "justifies": diff.justifies.len(),
            "valeurs_modifiees": diff.valeurs_modifiees.len(),
        },
        "corriges": findings(&diff.corriges, &old.path),
        "nouveaux": findings(&diff.nouveaux, &new.path),
        "toujours_presents": findings(&diff.toujours_presents, &new.path),
        "justifies": findings(&diff.justifies, &new.path),
        "valeurs_modifiees": diff.valeurs_modifiees.iter().map(|c| json!({
            "pointer": c.pointer,
            "ancienne_cellule": place(&c.old_place),
            "ancienne_valeur": c.old_value,
            "nouvelle_cellule": place(&c.new_place),
            "nouvelle_valeur": c.new_value,
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Severity;

    fn report(org: &str, findings: Vec<Finding>, data: Value) -> FileReport {
        let mut r = FileReport::failed("x.xlsx", None, Finding::new("X", Severity::Info, ""));
        r.template = Some("BILAN-POLE".into());
        r.organisation = Some(org.into());
        r.findings = findings;
        r.extraction = Some(crate::pipeline::extract::Extraction {
            data,
            ..Default::default()
        });
        r
    }

    fn f(rule: &str, pointer: &str) -> Finding {
        Finding::new(rule, Severity::Error, "m").with_pointer(pointer)
    }

    #[test]
    fn findings_are_sorted_into_the_four_groups() {
        let old = report(
            "I-TRANS",
            vec![f("A", "/x/0"), f("A", "/x/1"), f("B", "/y")],
            json!({"x": [1, 2], "y": "a"}),
        );
        let mut justified = Finding::new("C", Severity::Warning, "m").with_pointer("/z");
        justified.justification = Some("parce que".into());
        let new = report(
            "i-trans",
            vec![f("A", "/x/1"), f("D", "/x/0"), justified],
            json!({"x": [1, 3], "y": "a", "z": 4}),
        );
        let d = compare(&old, &new).unwrap_or_default();
        let ids = |v: &[Finding]| {
            v.iter()
                .map(|f| f.pointer.clone().unwrap_or_default())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&d.corriges), ["/x/0", "/y"]);
        assert_eq!(ids(&d.nouveaux), ["/x/0"]);
        assert_eq!(ids(&d.toujours_presents), ["/x/1"]);
        assert_eq!(ids(&d.justifies), ["/z"]);
        assert_eq!(d.suivi, [Suivi::ToujoursPresent, Suivi::Nouveau, Suivi::Justifie]);
        let changed: Vec<&str> = d.valeurs_modifiees.iter().map(|c| c.pointer.as_str()).collect();
        assert_eq!(changed, ["/x/1", "/z"]);
        assert_eq!(d.valeurs_modifiees[1].old_value, None);
        assert_eq!(d.summary_fr(), "2 corrigés, 1 nouveau, 1 toujours présent, 1 justifié");
    }

    #[test]
    fn two_different_returns_are_refused() {
        let a = report("I-TRANS", vec![], json!({}));
        let b = report("MAUD", vec![], json!({}));
        let e = compare(&a, &b).err().map(|e| e.0).unwrap_or_default();
        assert!(e.contains("« I-TRANS »") && e.contains("« MAUD »"), "{e}");
        let mut c = report("I-TRANS", vec![], json!({}));
        c.template = Some("BILAN-PLDE".into());
        let e = compare(&a, &c).err().map(|e| e.0).unwrap_or_default();
        assert!(e.contains("BILAN-PLDE"), "{e}");
    }
}
