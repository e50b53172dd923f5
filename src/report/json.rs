//! The machine report of `cli.md` (`--json`, `rapport.json`). Its schema is
//! `schemas/report.schema.json`.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// Moved to `outcome` (the wire form of a finding); kept here for old paths.
pub use crate::outcome::finding_json;
use crate::pipeline::check::FileReport;

/// Adds the `campaign` object (name, SHA-256, overrides with their reasons) to a
/// machine report when the rules run under a campaign.
pub fn add_campaign(report: &mut Value, rules: &crate::pipeline::rules::RulePack) {
    if let (Some(c), Value::Object(m)) = (&rules.campaign, report) {
        m.insert("campaign".into(), c.to_json());
    }
}

pub fn file_json(r: &FileReport) -> Value {
    json!({
        "path": r.path,
        "sha256": r.sha256,
        "template": r.template,
        "template_version": r.template_version,
        "organisation": r.organisation,
        "cut_off": r.cut_off,
        "exercice": r.exercice,
        "status": r.status(),
        "counts": r.counts(),
        "findings": r.findings.iter().map(|f| finding_json(f, &r.path)).collect::<Vec<_>>(),
    })
}

/// How reports write the time of a check: `2026-11-26T10:00:00Z`.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The whole report. `batch` holds cross-file findings (empty for `check`).
pub fn report(files: &[FileReport], rule_pack: &str, checked_at: DateTime<Utc>, batch: Vec<Value>) -> Value {
    json!({
        "tool": "bilan",
        "version": env!("CARGO_PKG_VERSION"),
        "rule_pack": rule_pack,
        "checked_at": timestamp(checked_at),
        "files": files.iter().map(file_json).collect::<Vec<_>>(),
        "batch": batch,
    })
}

/// What `bilan extract` prints: the data read, each value's cell, and the findings.
pub fn extraction(r: &FileReport) -> Value {
    json!({
        "path": r.path,
        "template": r.template,
        "data": r.extraction.as_ref().map(|e| e.data.clone()),
        "cells": r.extraction.as_ref().map(|e| serde_json::to_value(&e.origins).unwrap_or_default()),
        "findings": r.findings.iter().map(|f| finding_json(f, &r.path)).collect::<Vec<_>>(),
    })
}
