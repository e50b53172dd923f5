//! `bilan diff` on the terminal: one line per finding, grouped (corrigés,
//! nouveaux, toujours présents, justifiés), then the values that changed with
//! their cell in each version, then the summary.

use serde_json::Value;

use crate::base::format::decimal_fr;
use crate::diff::{Diff, ValueChange};
use crate::finding::Finding;
use crate::pipeline::check::FileReport;
use crate::pipeline::template::{Block, Template, TemplateSet};

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

/// Where a value sits, as a person reads the sheet: its column's (or field's)
/// label, and for a table row the row's first column (`Coût total (€), 2005`).
/// `None` when the template does not place the pointer.
fn label_of(t: &Template, data: Option<&Value>, pointer: &str) -> Option<String> {
    let pattern: String = pointer
        .split('/')
        .map(|p| {
            if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) {
                "*"
            } else {
                p
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    for sheet in &t.sheets {
        for block in &sheet.blocks {
            match block {
                Block::Field(f) | Block::Title(f) if format!("{}/{}", sheet.pointer(), f.key) == pattern => {
                    return Some(f.label.clone())
                }
                Block::Table(tb) => {
                    let Some(c) = tb
                        .columns
                        .iter()
                        .find(|c| format!("{}/{}/*/{}", sheet.pointer(), tb.key, c.key) == pattern)
                    else {
                        continue;
                    };
                    let row = pointer.rsplit_once('/').map(|(r, _)| r);
                    let row_label = tb
                        .columns
                        .first()
                        .filter(|first| first.key != c.key)
                        .and_then(|first| data?.pointer(row?)?.get(&first.key))
                        .filter(|v| !v.is_null())
                        .map(|v| match v {
                            Value::String(s) => s.clone(),
                            other => value_fr(&Some(other.clone())).replace('\u{202f}', ""),
                        });
                    return Some(match row_label {
                        Some(r) => format!("{}, {r}", c.label),
                        None => c.label.clone(),
                    });
                }
                _ => {}
            }
        }
    }
    None
}

/// A value that changed, as every report says it (terminal, web desk), by
/// sheet, cell and label: `Financements!B4, Coût total (€), 2005 : 17 081 618 →
/// 16 033 022`, the new cell said when the row moved; the data pointer only
/// when the template (`t`, the return's) does not place the value. `old` and
/// `new`: the extracted data of each version (for a row's label).
pub fn value_change_fr(c: &ValueChange, t: Option<&Template>, old: Option<&Value>, new: Option<&Value>) -> String {
    let label = t.and_then(|t| {
        label_of(t, new, &c.pointer)
            .filter(|_| c.new_value.is_some())
            .or_else(|| label_of(t, old, &c.pointer))
    });
    let first = c.old_place.as_ref().or(c.new_place.as_ref());
    let head = match (first, &label) {
        (Some(p), Some(l)) => format!("{p}, {l}"),
        (None, Some(l)) => l.clone(),
        (Some(p), None) => format!("{p} ({})", c.pointer),
        (None, None) => c.pointer.clone(),
    };
    let moved = match (&c.old_place, &c.new_place) {
        (Some(a), Some(b)) if a != b => format!(" (désormais en {b})"),
        _ => String::new(),
    };
    format!(
        "{head} : {} → {}{moved}",
        value_fr(&c.old_value),
        value_fr(&c.new_value)
    )
}

fn data(r: &FileReport) -> Option<&Value> {
    r.extraction.as_ref().map(|e| &e.data)
}

/// The whole comparison, for a terminal. `templates`: to name each changed
/// value by its sheet, cell and label.
pub fn render(diff: &Diff, old: &FileReport, new: &FileReport, templates: &TemplateSet) -> String {
    let template = new.template.as_deref().and_then(|id| templates.get(id));
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
        out.push_str(&format!("  {}\n", value_change_fr(c, template, data(old), data(new))));
    }
    out.push_str(&format!(
        "\nSuivi : {} ; {}\n",
        diff.summary_fr(),
        super::plural(diff.valeurs_modifiees.len(), "valeur modifiée", "valeurs modifiées")
    ));
    out
}
