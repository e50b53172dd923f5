//! The machine report of `cli.md` (`--json`, `rapport.json`). Its schema is
//! `schemas/report.schema.json`.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

pub use crate::outcome::finding_json;
use crate::outcome::wire::{to_json, WireFile, WireReport};
use crate::pipeline::check::FileReport;

/// Adds the `campaign` object (name, SHA-256, overrides with their reasons) to a
/// machine report when the rules run under a campaign.
pub fn add_campaign(report: &mut Value, rules: &crate::pipeline::rules::RulePack) {
    if let (Some(c), Value::Object(m)) = (&rules.campaign, report) {
        m.insert("campaign".into(), c.to_json());
    }
}

/// One file's entry of the report ([`WireFile`]).
pub fn file_json(r: &FileReport) -> Value {
    to_json(&WireFile::of(r))
}

/// How reports write the time of a check: `2026-11-26T10:00:00Z`.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The whole report. `batch` holds cross-file findings (empty for `check`).
pub fn report(files: &[FileReport], rule_pack: &str, checked_at: DateTime<Utc>, batch: Vec<Value>) -> Value {
    to_json(&WireReport {
        tool: "bilan".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        rule_pack: rule_pack.into(),
        checked_at: timestamp(checked_at),
        files: files.iter().map(WireFile::of).collect(),
        batch,
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
