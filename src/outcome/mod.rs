//! What a check produces, below every stage that makes or prints it: the report
//! of one file ([`FileReport`]), and what a batch keeps of each file
//! ([`Summary`]), finds across files ([`BatchFinding`]) or leaves out
//! ([`Skipped`]). Orchestration (`check`, `batch`) fills these; reporters
//! (`report::*`) only read them.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub mod wire;
pub use wire::finding_json;

use crate::finding::Finding;
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
    /// The reviewers' decision on this return (web desk exports; `None` on the
    /// command line, where nobody reviews).
    pub review: Option<Review>,
    /// What the cross-file rules read of the return (see [`cross_view`]).
    pub cross: Option<Value>,
}

/// Where the Region's review of a return stands, as the desk records it (and
/// its wire form, the `review` object of a file in `rapport.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// `acceptee` or `a_corriger`; `None` while waiting for a decision.
    pub decision: Option<String>,
    pub comment: String,
    pub reviewer: String,
    /// When it was decided (RFC 3339, UTC).
    pub decided_at: Option<String>,
}

impl Review {
    /// `Acceptée`, `À corriger`, `En attente de décision`.
    pub fn label_fr(&self) -> &'static str {
        match self.decision.as_deref() {
            Some("acceptee") => "Acceptée",
            Some("a_corriger") => "À corriger",
            Some(_) => "Décision inconnue",
            None => "En attente de décision",
        }
    }

    /// `À corriger — « Ligne 7 à revoir » (marie, 07/12/2026 à 16:28)`.
    pub fn describe_fr(&self) -> String {
        let mut out = self.label_fr().to_string();
        if !self.comment.is_empty() {
            out.push_str(&format!(" — « {} »", self.comment));
        }
        let when = self
            .decided_at
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| crate::base::messages::checked_at(t.with_timezone(&chrono::Utc)));
        match (self.reviewer.is_empty(), when) {
            (false, Some(w)) => out.push_str(&format!(" ({}, {w})", self.reviewer)),
            (false, None) => out.push_str(&format!(" ({})", self.reviewer)),
            (true, Some(w)) => out.push_str(&format!(" ({w})")),
            (true, None) => {}
        }
        out
    }

    /// The `review` object of a file in `rapport.json`.
    pub fn to_json(&self) -> Value {
        wire::to_json(self)
    }
}

/// A cross-file finding, with the file it is about (if any).
#[derive(Debug, Clone)]
pub struct BatchFinding {
    pub finding: Finding,
    pub file: Option<String>,
}

impl BatchFinding {
    /// The index of the return the finding is about, when its pointer is
    /// `/returns/<i>/…`.
    pub fn return_index(&self) -> Option<usize> {
        self.finding
            .pointer
            .as_deref()?
            .strip_prefix("/returns/")?
            .split('/')
            .next()?
            .parse()
            .ok()
    }
}

/// A file found under the inputs but not checked, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: String,
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
    // A column with `aggregate` is computed on the table its pointer names:
    // `count` its rows, `sum` a column, `rate` Σ field ÷ Σ over × 100.
    let aggregate = |c: &crate::pipeline::template::synthese::SyntheseColumn| -> Option<Value> {
        let how = c.aggregate.as_deref()?;
        let p = c.pointer.as_str();
        let rows = ex.data.pointer(p).and_then(Value::as_array);
        let sum = |field: Option<&str>| -> Option<rust_decimal::Decimal> {
            let field = field?;
            let mut total = rust_decimal::Decimal::ZERO;
            for (i, row) in rows?.iter().enumerate() {
                let at = format!("{p}/{i}/{field}");
                let v = ex.exact.get(&at).copied().or_else(|| {
                    row.get(field)
                        .and_then(Value::as_f64)
                        .and_then(crate::base::format::decimal_of_f64)
                });
                total += v.unwrap_or_default();
            }
            Some(total)
        };
        let number = |d: rust_decimal::Decimal| {
            use rust_decimal::prelude::ToPrimitive;
            d.to_f64().map_or(Value::Null, |f| json!(f))
        };
        Some(match how {
            "count" => json!(rows.map_or(0, Vec::len)),
            "sum" => sum(c.field.as_deref()).map_or(Value::Null, number),
            "rate" => {
                let num = sum(c.field.as_deref());
                let den = sum(c.over.as_deref());
                match (num, den) {
                    (Some(n), Some(d)) if !d.is_zero() => {
                        number((n * rust_decimal::Decimal::ONE_HUNDRED / d).round_dp(2))
                    }
                    _ => Value::Null,
                }
            }
            _ => Value::Null,
        })
    };
    let aggregates: Vec<Option<Value>> = spec.columns.iter().map(aggregate).collect();
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
        None => vec![pointers
            .iter()
            .zip(&aggregates)
            .map(|(p, agg)| agg.clone().unwrap_or_else(|| read(None, p)))
            .collect()],
    }
}

/// Tables longer than this keep no cell per value in [`cross_view`] (only the
/// table's own place and its TOTAL row): a list of 5 000 operations would
/// otherwise carry 100 000 cells that no cross-file finding points at.
const CROSS_CELLS_MAX_ROWS: usize = 500;

/// The template's `x-template.cross_file` pointers and the values found there
/// (unusable ones as `null`, as the return's own rules see them).
fn cross_values<'t>(
    templates: &'t TemplateSet,
    report: &FileReport,
) -> Option<(Vec<&'t str>, serde_json::Map<String, Value>)> {
    let t = report.template.as_deref().and_then(|id| templates.get(id))?;
    let ex = report.extraction.as_ref()?;
    let wanted: Vec<&str> = t
        .schema
        .pointer("/x-template/cross_file")
        .and_then(Value::as_array)?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if wanted.is_empty() {
        return None;
    }
    let mut data = serde_json::Map::new();
    for p in &wanted {
        let Some(v) = ex.data.pointer(p) else { continue };
        // Unusable values are hidden, as from the return's own rules.
        let mut v = v.clone();
        for u in ex.unusable.iter().filter(|u| u.starts_with(p)) {
            if let Some(slot) = v.pointer_mut(&u[p.len()..]) {
                *slot = Value::Null;
            }
        }
        insert_at(&mut data, p, v);
    }
    Some((wanted, data))
}

/// `cells` (pointer → `{sheet, cell, range}` of each value, for placing a
/// finding on the cell it is about) and `decimals` (pointer → the decimals the
/// number is stated with: the digits it was typed with, e.g. `28,89` → 2; a
/// whole number is absent, i.e. 0) of the values under `wanted` that `keep`
/// accepts (a cross-file view keeps only its own figures' cells:
/// asking first spares serialising thousands of cells it would drop).
fn cells_and_decimals(
    ex: &crate::pipeline::extract::Extraction,
    wanted: &[&str],
    keep: &dyn Fn(&str) -> bool,
) -> (serde_json::Map<String, Value>, serde_json::Map<String, Value>) {
    let inside_long_table = |pointer: &str| -> bool {
        // `/operations/12/cout_total`: the table is `/operations`.
        let mut prefix = String::new();
        for seg in pointer.split('/').skip(1) {
            if seg.parse::<usize>().is_ok() {
                if let Some(a) = ex.data.pointer(&prefix).and_then(Value::as_array) {
                    if a.len() > CROSS_CELLS_MAX_ROWS {
                        return true;
                    }
                }
            }
            prefix.push('/');
            prefix.push_str(seg);
        }
        false
    };
    let under = |pointer: &str| {
        wanted.iter().any(|w| {
            pointer
                .strip_prefix(w)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    };
    let wanted_here = |pointer: &str| keep(pointer) && under(pointer) && !inside_long_table(pointer);
    let mut cells = serde_json::Map::new();
    for (pointer, origin) in &ex.origins {
        if wanted_here(pointer) {
            cells.insert(pointer.clone(), serde_json::to_value(origin).unwrap_or(Value::Null));
        }
    }
    let mut decimals = serde_json::Map::new();
    for (pointer, d) in &ex.exact {
        if d.scale() > 0 && wanted_here(pointer) {
            decimals.insert(pointer.clone(), json!(d.scale()));
        }
    }
    // A figure typed as text (`89,00`) states the digits it was typed with.
    for (pointer, origin) in &ex.origins {
        let Some(raw) = origin.raw.as_deref() else { continue };
        if !wanted_here(pointer) || !ex.data.pointer(pointer).is_some_and(Value::is_number) {
            continue;
        }
        if let Some(n) = typed_decimals(raw) {
            decimals.insert(pointer.clone(), json!(n));
        }
    }
    (cells, decimals)
}

/// What the cross-file rules see of a return: its cross-file values, their
/// cells and decimals, its `data`
/// replaced by the template's cross-file view when it has one
/// (`rules/<TEMPLATE>/inter-fichiers.rhai`: the counts and sums of a long
/// list rather than its rows). Only the cells and decimals of what the view
/// keeps, or of a value the template lists (a table's own place, where a
/// finding about the whole list points), remain. `Err`: the view failed.
pub fn cross_view(
    templates: &TemplateSet,
    rules: &crate::pipeline::rules::RulePack,
    report: &FileReport,
) -> Option<Result<Value, crate::pipeline::rules::cross_view::CrossViewError>> {
    let (wanted, data) = cross_values(templates, report)?;
    let ex = report.extraction.as_ref()?;
    let template = report.template.as_deref()?;
    let data = Value::Object(data);
    let view = match rules.cross_view(template, &data) {
        None => {
            let (cells, decimals) = cells_and_decimals(ex, &wanted, &|_| true);
            return Some(Ok(json!({"data": data, "cells": cells, "decimals": decimals})));
        }
        Some(Ok(view)) => view,
        Some(Err(e)) => return Some(Err(e)),
    };
    let kept = |p: &str| wanted.contains(&p) || view.pointer(p).is_some();
    let (cells, decimals) = cells_and_decimals(ex, &wanted, &kept);
    Some(Ok(
        json!({"data": view, "cells": cells, "decimals": decimals, "view": true}),
    ))
}

/// The decimals of a number as typed (`89,00` → 2, `1 234,5 M€` → 1, `89` → 0).
fn typed_decimals(raw: &str) -> Option<u32> {
    let s = raw.trim();
    let digits_end = s.rfind(|c: char| c.is_ascii_digit())?;
    let number = &s[..=digits_end];
    match number.rfind([',', '.']) {
        // `1.234.567` or `1,234,567` group thousands: no decimals.
        Some(i) if number[..i].contains(number.as_bytes()[i] as char) => Some(0),
        Some(i) => {
            let tail = &number[i + 1..];
            (tail.len() <= 6 && tail.chars().all(|c| c.is_ascii_digit())).then_some(tail.len() as u32)
        }
        None => Some(0),
    }
}

fn insert_at(root: &mut serde_json::Map<String, Value>, pointer: &str, value: Value) {
    let segs: Vec<&str> = pointer.split('/').skip(1).collect();
    let Some((last, parents)) = segs.split_last() else {
        return;
    };
    let mut cur = root;
    for seg in parents {
        let entry = cur.entry(seg.to_string()).or_insert_with(|| json!({}));
        if !entry.is_object() {
            *entry = json!({});
        }
        let Some(next) = entry.as_object_mut() else { return };
        cur = next;
    }
    cur.insert(last.to_string(), value);
}

/// A report with cross-file findings added (for its annotated workbook).
pub fn with_extra_findings(report: &FileReport, extra: &[Finding]) -> FileReport {
    let mut out = FileReport {
        path: report.path.clone(),
        sha256: report.sha256.clone(),
        template: report.template.clone(),
        template_version: report.template_version.clone(),
        organisation: report.organisation.clone(),
        cut_off: report.cut_off.clone(),
        exercice: report.exercice.clone(),
        findings: report.findings.clone(),
        workbook: report.workbook.clone(),
        extraction: None,
    };
    out.findings.extend(extra.iter().cloned());
    out
}
