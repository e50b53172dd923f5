//! The wire forms of a report: what `rapport.json` and `--format json` write,
//! what the desk stores, and what it reads back. One declaration per form,
//! serde both ways, so that the writer and the reader cannot drift apart.
//! Their schema is `schemas/report.schema.json`.
//!
//! Reading is lenient where the writer could have been older or the text
//! edited: a missing or unknown severity counts as an error (nothing is hidden
//! from the reviewer), a cell or range that does not read is dropped, a figure
//! that is not a number is absent.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::base::model::{CellRange, CellRef};
use crate::finding::{Counts, Figures, Finding, RuleId, Severity, Status};
use crate::pipeline::file_report::FileReport;

/// A finding on the wire: its rule, where it is (the file, the sheet, the cell),
/// its figures, and the text behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireFinding {
    pub rule: String,
    #[serde(default = "unknown_severity", deserialize_with = "lenient_severity")]
    pub severity: Severity,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub file: String,
    #[serde(default)]
    pub sheet: Option<String>,
    #[serde(default, deserialize_with = "lenient_cell")]
    pub cell: Option<CellRef>,
    #[serde(default, deserialize_with = "lenient_range")]
    pub range: Option<CellRange>,
    #[serde(default)]
    pub pointer: Option<String>,
    #[serde(default, with = "figure")]
    pub expected: Option<Decimal>,
    #[serde(default, with = "figure")]
    pub actual: Option<Decimal>,
    #[serde(default, with = "figure")]
    pub difference: Option<Decimal>,
    #[serde(default, with = "figure")]
    pub tolerance: Option<Decimal>,
    /// The technical text behind a French message (a library's own error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Written only when it counts (a justified warning or information).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
}

impl WireFinding {
    /// `f` as found in `file`.
    pub fn of(f: &Finding, file: &str) -> Self {
        Self {
            rule: f.rule.as_str().to_string(),
            severity: f.severity,
            message: f.message.clone(),
            file: file.to_string(),
            sheet: f.sheet.clone(),
            cell: f.cell,
            range: f.range,
            pointer: f.pointer.clone(),
            expected: f.figures.expected,
            actual: f.figures.actual,
            difference: f.figures.difference,
            tolerance: f.figures.tolerance,
            detail: f.detail.clone(),
            justification: f.justification.clone().filter(|_| f.is_justified()),
        }
    }

    /// The finding back (its file aside).
    pub fn into_finding(self) -> Finding {
        Finding {
            rule: RuleId::new(self.rule),
            severity: self.severity,
            message: self.message,
            sheet: self.sheet,
            cell: self.cell,
            range: self.range,
            pointer: self.pointer,
            figures: Figures {
                expected: self.expected,
                actual: self.actual,
                difference: self.difference,
                tolerance: self.tolerance,
            },
            detail: self.detail,
            justification: self.justification,
        }
    }
}

/// One file of a report: who sent what, its status and counts, its findings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireFile {
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub template: Option<String>,
    #[serde(default)]
    pub template_version: Option<String>,
    #[serde(default)]
    pub organisation: Option<String>,
    #[serde(default)]
    pub cut_off: Option<String>,
    #[serde(default)]
    pub exercice: Option<String>,
    /// Written for the reader; read back, the findings decide it again.
    #[serde(default, deserialize_with = "lenient_status")]
    pub status: Option<Status>,
    #[serde(default)]
    pub counts: Counts,
    #[serde(default)]
    pub findings: Vec<WireFinding>,
}

impl WireFile {
    pub fn of(r: &FileReport) -> Self {
        Self {
            path: r.path.clone(),
            sha256: r.sha256.clone(),
            template: r.template.clone(),
            template_version: r.template_version.clone(),
            organisation: r.organisation.clone(),
            cut_off: r.cut_off.clone(),
            exercice: r.exercice.clone(),
            status: Some(r.status()),
            counts: r.counts(),
            findings: r.findings.iter().map(|f| WireFinding::of(f, &r.path)).collect(),
        }
    }

    /// The report back, without what the wire does not carry (the workbook,
    /// the extraction).
    pub fn into_report(self) -> FileReport {
        FileReport {
            path: self.path,
            sha256: self.sha256,
            template: self.template,
            template_version: self.template_version,
            organisation: self.organisation,
            cut_off: self.cut_off,
            exercice: self.exercice,
            findings: self.findings.into_iter().map(WireFinding::into_finding).collect(),
            workbook: None,
            extraction: None,
        }
    }
}

/// The head of a whole report; `files` and `batch` follow it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireReport {
    pub tool: String,
    pub version: String,
    pub rule_pack: String,
    pub checked_at: String,
    pub files: Vec<WireFile>,
    /// Cross-file findings (empty for `check`).
    pub batch: Vec<Value>,
}

/// A value as JSON; the forms above hold only strings, finite numbers and
/// maps with string keys, which always convert.
pub fn to_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// The wire form of a finding as a JSON value (`rapport.json`, the diff).
pub fn finding_json(f: &Finding, file: &str) -> Value {
    to_json(&WireFinding::of(f, file))
}

/// A severity the reader does not know, or none: counted as an error, so that
/// nothing is hidden from the reviewer.
fn unknown_severity() -> Severity {
    Severity::Error
}

fn lenient_severity<'de, D: Deserializer<'de>>(d: D) -> Result<Severity, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.as_ref()
        .and_then(Value::as_str)
        .and_then(Severity::parse)
        .unwrap_or_else(unknown_severity))
}

fn lenient_status<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Status>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.and_then(|v| serde_json::from_value(v).ok()))
}

fn lenient_cell<'de, D: Deserializer<'de>>(d: D) -> Result<Option<CellRef>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.as_ref().and_then(Value::as_str).and_then(CellRef::parse))
}

fn lenient_range<'de, D: Deserializer<'de>>(d: D) -> Result<Option<CellRange>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.as_ref().and_then(Value::as_str).and_then(CellRange::parse))
}

/// A figure: written as a JSON number (an integer when it is whole), read
/// back exactly from the number's text.
mod figure {
    use super::*;

    pub fn serialize<S: Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        d.map(crate::pipeline::extract::json_number)
            .unwrap_or(Value::Null)
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        Ok(match Option::<Value>::deserialize(d)? {
            Some(Value::Number(n)) => {
                let text = n.to_string();
                Decimal::from_str(&text)
                    .or_else(|_| Decimal::from_scientific(&text))
                    .ok()
            }
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding() -> Finding {
        let mut f = Finding::new("POLE-FIN-001", Severity::Warning, "Total différent")
            .at("Financements", CellRef::parse("C12"))
            .with_range(CellRange::parse("C4:C11"))
            .with_pointer("/financements/total")
            .with_detail("zip: invalid header");
        f.figures = Figures {
            expected: Some(Decimal::new(120_000, 0)),
            actual: Some(Decimal::new(1_199_995, 1)),
            difference: Some(Decimal::new(5, 1)),
            tolerance: Some(Decimal::new(1, 2)),
        };
        f.justification = Some("Arrondi du financeur".into());
        f
    }

    #[test]
    fn a_finding_goes_there_and_back() {
        let f = finding();
        let text = serde_json::to_string(&WireFinding::of(&f, "pole.xlsx")).unwrap_or_default();
        assert!(text.contains("\"expected\":120000,"), "{text}");
        assert!(text.contains("\"actual\":119999.5,"), "{text}");
        let back: WireFinding = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(back.file, "pole.xlsx");
        assert_eq!(back.into_finding(), f);
    }

    #[test]
    fn the_keys_keep_the_report_order() {
        let v = finding_json(&finding(), "pole.xlsx");
        let keys: Vec<&str> = v
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(
            keys,
            [
                "rule",
                "severity",
                "message",
                "file",
                "sheet",
                "cell",
                "range",
                "pointer",
                "expected",
                "actual",
                "difference",
                "tolerance",
                "detail",
                "justification"
            ]
        );
        let mut plain = Finding::new("X-1", Severity::Error, "m");
        plain.justification = Some("erreur : ne compte pas".into());
        let v = finding_json(&plain, "f");
        assert!(v.get("detail").is_none() && v.get("justification").is_none(), "{v}");
        assert_eq!(v["cell"], Value::Null);
    }

    #[test]
    fn reading_back_is_lenient() {
        let text = r#"{"rule":"X-1","severity":"grave","message":"m","cell":"pas une cellule","expected":"12"}"#;
        let back: WireFinding = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.severity, Severity::Error);
        assert_eq!((back.cell, back.expected), (None, None));
        let text = r#"{"rule":"X-1","message":"m"}"#;
        let back: WireFinding = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.severity, Severity::Error);
    }

    #[test]
    fn a_file_goes_there_and_back() {
        let mut r = FileReport::failed("a.xlsx", Some("ab".into()), finding());
        r.template = Some("BILAN-POLE".into());
        let v = to_json(&WireFile::of(&r));
        assert_eq!(v["status"], "conforme");
        assert_eq!(v["counts"]["justified"], 1);
        let back: WireFile = serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"));
        let back = back.into_report();
        assert_eq!((back.template, back.findings), (r.template, r.findings));
    }
}
