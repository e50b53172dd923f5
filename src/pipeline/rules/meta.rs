//! A rule's metadata: the TOML header at the top of its `.rhai` file.
//!
//! ```text
//! /*
//! id = "POLE-FIN-001"
//! title = "Coût total différent de la somme des financeurs"
//! severity = "error"
//! checks = "Pour chaque année, …"
//! rationale = "…"
//! references = ["…"]
//! needs = ["/financements"]
//! [parameters]
//! tolerance = 1
//! [[examples]]
//! name = "…"
//! expect = "fail"
//! findings = ["/financements/0/cout_total"]
//! data = '''{ … }'''
//! [[live]]
//! kind = "somme"
//! total = "/financements/#/cout_total"
//! parts = ["/financements/#/etat", "…"]
//! message = "coût total = somme des financeurs"
//! */
//! ```

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::finding::Severity;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleMeta {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    /// Template ids the rule applies to; empty: the folder's template (`common`: all).
    #[serde(default)]
    pub templates: Vec<String>,
    /// What the rule checks, for people.
    pub checks: String,
    /// Why it matters.
    #[serde(default)]
    pub rationale: String,
    /// Regulatory or contractual references.
    #[serde(default)]
    pub references: Vec<String>,
    /// Pointers the rule needs: it does not run when one is missing (sheet or table absent).
    #[serde(default)]
    pub needs: Vec<String>,
    /// Tunable values (tolerances, thresholds), exact decimals.
    #[serde(default)]
    pub parameters: BTreeMap<String, ParamValue>,
    #[serde(default)]
    pub examples: Vec<Example>,
    /// How a spreadsheet checks the rule while the return is filled (`[[live]]`,
    /// see [`crate::pipeline::rules::live`]): written into the blank returns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub live: Vec<super::live::LiveDecl>,
}

/// A parameter: a number (kept exact) or a text.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum ParamValue {
    Int(i64),
    Float(f64),
    Text(String),
}

impl ParamValue {
    pub fn as_decimal(&self) -> Option<Decimal> {
        match self {
            ParamValue::Int(i) => Some(Decimal::from(*i)),
            ParamValue::Float(f) => crate::base::format::decimal_of_f64(*f),
            ParamValue::Text(_) => None,
        }
    }

    pub fn display(&self) -> String {
        match self {
            ParamValue::Text(s) => s.clone(),
            other => other
                .as_decimal()
                .map(crate::base::format::decimal_fr)
                .unwrap_or_default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    Pass,
    Fail,
}

/// A worked example: data (as `bilan extract` prints it) and what the rule says.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    pub name: String,
    pub expect: Expect,
    /// The pointers the rule must report, in order (fail examples).
    #[serde(default)]
    pub findings: Vec<String>,
    /// The return's data, as JSON.
    pub data: String,
}

/// Splits a rule file into its TOML header and the script. The header is the
/// first block comment `/* … */`; the script keeps its line numbers (the header
/// is blanked out, not removed).
pub fn split_header(text: &str) -> Option<(&str, String)> {
    let trimmed = text.trim_start();
    let offset = text.len() - trimmed.len();
    let rest = trimmed.strip_prefix("/*")?;
    let end = rest.find("*/")?;
    let header = &rest[..end];
    let header_len = offset + 2 + end + 2;
    let blank: String = text[..header_len]
        .chars()
        .map(|c| if c == '\n' { '\n' } else { ' ' })
        .collect();
    Some((header, format!("{blank}{}", &text[header_len..])))
}
