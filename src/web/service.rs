//! What the desk does, below its routes: the HTML pages and the API call
//! the same services and only render differently. [`submissions`]: a return
//! received, stored, checked and recorded, and the background checker;
//! [`campaigns`]: a campaign created; [`dashboard`]: its rows and counts; [`returns`]: what a return shows;
//! [`intake`]: reading an upload. Here: a stored submission read back as the
//! batch reporters want it.

pub mod campaigns;
pub mod dashboard;
pub mod intake;
pub mod returns;
pub mod submissions;

use std::str::FromStr;

use serde_json::Value;

use crate::base::model::{CellRange, CellRef};
use crate::finding::{Finding, Severity};
use crate::outcome::{FileReport, Summary};
use crate::web::store::Submission;

fn decimal(v: &Value) -> Option<rust_decimal::Decimal> {
    match v {
        Value::Number(n) => rust_decimal::Decimal::from_str(&n.to_string())
            .or_else(|_| rust_decimal::Decimal::from_scientific(&n.to_string()))
            .ok(),
        _ => None,
    }
}

/// A finding read back from a stored report.
fn finding_of(v: &Value) -> Finding {
    let s = |k: &str| v[k].as_str().map(str::to_string);
    let severity = s("severity")
        .and_then(|x| Severity::parse(&x))
        .unwrap_or(Severity::Error);
    let mut f = Finding::new(
        &s("rule").unwrap_or_default(),
        severity,
        s("message").unwrap_or_default(),
    );
    f.sheet = s("sheet");
    f.cell = s("cell").and_then(|c| CellRef::parse(&c));
    f.range = s("range").and_then(|r| CellRange::parse(&r));
    f.pointer = s("pointer");
    f.justification = s("justification");
    f.figures.expected = decimal(&v["expected"]);
    f.figures.actual = decimal(&v["actual"]);
    f.figures.difference = decimal(&v["difference"]);
    f.figures.tolerance = decimal(&v["tolerance"]);
    f
}

/// A stored submission as the batch reporters want it.
pub fn summary_of(sub: &Submission, annotated: Option<String>) -> Option<Summary> {
    let v: Value = serde_json::from_str(sub.rapport.as_deref()?).ok()?;
    let s = |k: &str| v[k].as_str().map(str::to_string);
    let view: Option<crate::web::view::FileView> = sub.vue.as_deref().and_then(|x| serde_json::from_str(x).ok());
    let report = FileReport {
        path: sub.nom_fichier.clone(),
        sha256: s("sha256"),
        template: s("template"),
        template_version: s("template_version"),
        organisation: s("organisation"),
        cut_off: s("cut_off"),
        exercice: s("exercice"),
        findings: v["findings"]
            .as_array()
            .map(|a| a.iter().map(finding_of).collect())
            .unwrap_or_default(),
        workbook: None,
        extraction: None,
    };
    Some(Summary {
        report,
        key_rows: view.map(|v| v.key_rows).unwrap_or_default(),
        annotated,
        review: None,
        cross: None,
    })
}
