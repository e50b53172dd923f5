//! `bilan diff` on the terminal: one line per finding, grouped (corrigés,
//! nouveaux, toujours présents, justifiés), then the values that changed with
//! their cell in each version, then the summary.

use serde_json::Value;

use crate::base::format::decimal_fr;
use crate::diff::{Diff, Place, ValueChange};
use crate::finding::Finding;
use crate::pipeline::check::FileReport;

fn place(file: &str, f: &Finding) -> String {
    match (&f.sheet, f.cell) {
        (Some(s), Some(c)) => format!("{file}:{s}!{c}"),
        (Some(s), None) => format!("{file}:{s}"),
        _ => file.to_string(),
    }
}

/// A value of the extracted data as reports show it: `17 081 618`, `« texte »`,
/// `(absente)`.
pub fn value_fr(v: &Option<Value>) -> String {
    match v {
        None => "(absente)".into(),
        Some(Value::String(s)) => format!("« {s} »"),
        Some(Value::Number(n)) => n
            .to_string()
            .parse::<rust_decimal::Decimal>()
            .map(decimal_fr)
            .unwrap_or_else(|_| n.to_string()),
        Some(other) => other.to_string(),
    }
}

fn cell_fr(p: &Option<Place>) -> String {
    p.as_ref().map_or_else(|| "—".into(), ToString::to_string)
}

/// A value that changed, as every report says it (terminal, web desk):
/// `/financeurs/0/montant : Financements!C5 1 000 → Financements!C6 2 000`.
pub fn value_change_fr(c: &ValueChange) -> String {
    format!(
        "{} : {} {} → {} {}",
        c.pointer,
        cell_fr(&c.old_place),
        value_fr(&c.old_value),
        cell_fr(&c.new_place),
        value_fr(&c.new_value)
    )
}

/// The whole comparison, for a terminal.
pub fn render(diff: &Diff, old: &FileReport, new: &FileReport) -> String {
    let mut out = String::new();
    let what = match (&new.template, &new.organisation) {
        (Some(t), Some(o)) => format!("{t}, {o}"),
        (Some(t), None) => t.clone(),
        _ => String::new(),
    };
    out.push_str(&format!("Comparaison de deux versions du retour {what}\n"));
    out.push_str(&format!(
        "  ancienne : {} — {} ({})\n",
        old.path,
        old.status().label_fr(),
        super::counts_fr(old.counts())
    ));
    out.push_str(&format!(
        "  nouvelle : {} — {} ({})\n",
        new.path,
        new.status().label_fr(),
        super::counts_fr(new.counts())
    ));
    let groups: [(&str, &[Finding], &str); 4] = [
        ("Corrigés", &diff.corriges, &old.path),
        ("Nouveaux", &diff.nouveaux, &new.path),
        ("Toujours présents", &diff.toujours_presents, &new.path),
        ("Justifiés", &diff.justifies, &new.path),
    ];
    for (title, findings, file) in groups {
        out.push_str(&format!("\n{title} ({})\n", findings.len()));
        for f in findings {
            out.push_str(&format!(
                "  {} : {} {} : {}\n",
                place(file, f),
                f.severity.label_fr(),
                f.rule,
                f.message
            ));
            if let Some(j) = f.justification.as_ref().filter(|_| f.is_justified()) {
                out.push_str(&format!("      justification : « {j} »\n"));
            }
        }
    }
    out.push_str(&format!("\nValeurs modifiées ({})\n", diff.valeurs_modifiees.len()));
    for c in &diff.valeurs_modifiees {
        out.push_str(&format!("  {}\n", value_change_fr(c)));
    }
    out.push_str(&format!(
        "\nSuivi : {} ; {}\n",
        diff.summary_fr(),
        super::plural(diff.valeurs_modifiees.len(), "valeur modifiée", "valeurs modifiées")
    ));
    out
}
