//! What a check produces, below every stage that makes or prints it: the report
//! of one file ([`FileReport`]), and what a batch keeps of each file
//! ([`Summary`]), finds across files ([`BatchFinding`]) or leaves out
//! ([`Skipped`]). Orchestration (`check`, `batch`) fills these; reporters
//! (`report::*`) only read them.

use std::path::PathBuf;

use serde_json::{json, Map, Value};

use crate::finding::Finding;
use crate::pipeline::extract::json_number;
pub use crate::pipeline::file_report::FileReport;
use crate::pipeline::template::TemplateSet;

/// A return once checked in a batch: everything the batch outputs need, without
/// its cells.
#[derive(Debug)]
pub struct Summary {
    pub report: FileReport,
    /// Key figures for the template's sheet of the synthesis (rows of values).
    pub key_rows: Vec<Vec<Value>>,
    /// The annotated report, relative to the output folder.
    pub annotated: Option<String>,
}

/// A cross-file finding, with the file it is about (if any).
#[derive(Debug, Clone)]
pub struct BatchFinding {
    pub finding: Finding,
    pub file: Option<String>,
}

/// A file found under the inputs but not checked, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: String,
}

/// The wire form of a finding in `rapport.json` (moved from `report::json`).
pub fn finding_json(f: &Finding, file: &str) -> Value {
    let mut m = Map::new();
    m.insert("rule".into(), json!(f.rule.as_str()));
    m.insert("severity".into(), json!(f.severity.as_str()));
    m.insert("message".into(), json!(f.message));
    m.insert("file".into(), json!(file));
    let opt = |v: Option<String>| v.map(Value::String).unwrap_or(Value::Null);
    m.insert("sheet".into(), opt(f.sheet.clone()));
    m.insert("cell".into(), opt(f.cell.map(|c| c.to_string())));
    m.insert("range".into(), opt(f.range.map(|r| r.to_string())));
    m.insert("pointer".into(), opt(f.pointer.clone()));
    let num = |d: Option<rust_decimal::Decimal>| d.map(json_number).unwrap_or(Value::Null);
    m.insert("expected".into(), num(f.figures.expected));
    m.insert("actual".into(), num(f.figures.actual));
    m.insert("difference".into(), num(f.figures.difference));
    m.insert("tolerance".into(), num(f.figures.tolerance));
    if let Some(d) = &f.detail {
        // The technical text behind a French message (a library's own error).
        m.insert("detail".into(), json!(d));
    }
    if let Some(text) = f.justification.as_ref().filter(|_| f.is_justified()) {
        m.insert("justification".into(), json!(text));
    }
    Value::Object(m)
}

/// Key figures of a return, as the template's `x-template.synthese` says:
/// `{"rows": "/table" (optional), "columns": [{"label", "pointer", "total"}]}`.
/// Pointers starting with `/` are read in the return, others in the row.
pub fn key_rows(templates: &TemplateSet, report: &FileReport) -> Vec<Vec<Value>> {
    let (Some(t), Some(ex)) = (
        report.template.as_deref().and_then(|id| templates.get(id)),
        report.extraction.as_ref(),
    ) else {
        return Vec::new();
    };
    let Some(spec) = &t.synthese else {
        return Vec::new();
    };
    let read = |row: Option<&Value>, p: &str| -> Value {
        let v = if p.starts_with('/') {
            ex.data.pointer(p)
        } else {
            row.and_then(|r| r.get(p))
        };
        let absolute = if p.starts_with('/') {
            p.to_string()
        } else {
            String::new()
        };
        match v {
            Some(v) if absolute.is_empty() || !ex.is_unusable(&absolute) => v.clone(),
            _ => Value::Null,
        }
    };
    let pointers: Vec<&str> = spec.columns.iter().map(|c| c.pointer.as_str()).collect();
    match spec.rows.as_deref() {
        Some(rows) => ex
            .data
            .pointer(rows)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .map(|item| pointers.iter().map(|p| read(Some(item), p)).collect())
                    .collect()
            })
            .unwrap_or_default(),
        None => vec![pointers.iter().map(|p| read(None, p)).collect()],
    }
}
