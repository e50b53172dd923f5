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
//! tolerance = { default = 1, min = 0, max = 1000 }   # typed: see rules::params
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

use serde::{Deserialize, Serialize};

pub use super::params::{Param, ParamKind, ParamValue};
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
    /// Tunable values (tolerances, thresholds, dates, lists), typed and
    /// ranged: see [`super::params`].
    #[serde(default)]
    pub parameters: BTreeMap<String, Param>,
    #[serde(default)]
    pub examples: Vec<Example>,
    /// How a spreadsheet checks the rule while the return is filled (`[[live]]`,
    /// see [`crate::pipeline::rules::live`]): written into the blank returns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub live: Vec<super::live::LiveDecl>,
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
    /// Parameters set for this example, as a campaign would (checked against
    /// their declared type and range): `parameters = { codes_earmarking = [1, 2] }`.
    #[serde(default)]
    pub parameters: BTreeMap<String, toml::Value>,
    /// The return's data, as JSON.
    pub data: String,
}

pub use super::header::{blank_out, split_header};
