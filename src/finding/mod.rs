//! Findings: what is wrong in a return, where, and by how much.
//!
//! Findings are data until a reporter renders them: rules say *what* and *where*
//! (a JSON pointer), the engine stamps the id, severity, cell and tolerance.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize, Serializer};

use crate::base::model::{CellRange, CellRef};

mod engine;
pub use engine::EngineRule;

/// How serious a finding is. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    /// French label for reports, in lower case (`erreur`): the one home of the
    /// severity's French words.
    pub fn label_fr(self) -> &'static str {
        match self {
            Severity::Info => "information",
            Severity::Warning => "avertissement",
            Severity::Error => "erreur",
        }
    }

    /// The French label as a title (`Erreur`).
    pub fn title_fr(self) -> &'static str {
        match self {
            Severity::Info => "Information",
            Severity::Warning => "Avertissement",
            Severity::Error => "Erreur",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

/// A severity as a rule pack or a campaign sets it: one of the three, or the rule
/// switched off. Parsed from French (`erreur`, `avertissement`, `information`,
/// `desactivee`) or English (`error`, `warning`, `info`, `off`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    On(Severity),
    Off,
}

impl Level {
    /// The words accepted, for error messages.
    pub const ACCEPTED: &'static str =
        "« erreur », « avertissement », « information » ou « desactivee » (ou error, warning, info, off)";

    pub fn parse(s: &str) -> Option<Self> {
        let folded = crate::base::values::normalize_label(s);
        match folded.as_str() {
            "erreur" | "error" => Some(Level::On(Severity::Error)),
            "avertissement" | "warning" => Some(Level::On(Severity::Warning)),
            "information" | "info" => Some(Level::On(Severity::Info)),
            "desactivee" | "desactive" | "off" => Some(Level::Off),
            _ => None,
        }
    }

    /// `error`, `warning`, `info` or `off` (the JSON report's words).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::On(s) => s.as_str(),
            Level::Off => "off",
        }
    }

    /// French, for reports: `erreur`, …, `désactivée`.
    pub fn label_fr(self) -> &'static str {
        match self {
            Level::On(s) => s.label_fr(),
            Level::Off => "désactivée",
        }
    }
}

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Level::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("gravité « {s} » inconnue : {}", Level::ACCEPTED)))
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stable rule identifier such as `POLE-FIN-001` or `BILAN-IO-001`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(transparent)]
pub struct RuleId(String);

impl RuleId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for RuleId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// The numbers behind an arithmetic finding.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub expected: Option<Decimal>,
    pub actual: Option<Decimal>,
    pub difference: Option<Decimal>,
    pub tolerance: Option<Decimal>,
}

/// One problem found in one return.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: RuleId,
    pub severity: Severity,
    pub message: String,
    pub sheet: Option<String>,
    pub cell: Option<CellRef>,
    pub range: Option<CellRange>,
    /// JSON pointer of the judged value in the extracted data.
    pub pointer: Option<String>,
    pub figures: Figures,
    /// Technical text behind a French message (a library's own error, in
    /// English): kept for the JSON `detail` field, never shown to submitters.
    pub detail: Option<String>,
    /// The submitter's explanation, from the return's `Justifications` sheet
    /// (warnings and infos only; see [`crate::pipeline::justify`]).
    pub justification: Option<String>,
}

impl Finding {
    /// A finding of an engine rule, with the severity its declaration gives
    /// ([`EngineRule`]).
    pub fn engine(rule: EngineRule, message: impl Into<String>) -> Self {
        Self::new(rule.id(), rule.severity(), message)
    }

    /// A finding of a rule of the pack (a script, or a cross-file rule), with
    /// the severity its header gives. Engine rules use [`Finding::engine`].
    pub fn new(rule: &str, severity: Severity, message: impl Into<String>) -> Self {
        Self {
            rule: RuleId::new(rule),
            severity,
            message: message.into(),
            sheet: None,
            cell: None,
            range: None,
            pointer: None,
            figures: Figures::default(),
            detail: None,
            justification: None,
        }
    }

    pub fn at(mut self, sheet: &str, cell: Option<CellRef>) -> Self {
        self.sheet = Some(sheet.to_string());
        self.cell = cell;
        self
    }

    pub fn with_range(mut self, range: Option<CellRange>) -> Self {
        self.range = range.filter(|r| !r.is_single());
        self
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_pointer(mut self, pointer: impl Into<String>) -> Self {
        self.pointer = Some(pointer.into());
        self
    }

    /// A warning or an information the submitter explained: it stays in every
    /// report but does not count towards the status.
    pub fn is_justified(&self) -> bool {
        self.justification.is_some() && self.severity != Severity::Error
    }
}

/// Sorts findings in the order every report uses: worst first, then by sheet
/// (in the workbook's order, given by `sheet_index`; findings without a sheet
/// first), row, column, rule and pointer. The one home of the findings' order.
pub fn sort_findings<F: std::borrow::Borrow<Finding>>(findings: &mut [F], sheet_index: &dyn Fn(&str) -> Option<usize>) {
    findings.sort_by_cached_key(|f| {
        let f = f.borrow();
        let sheet = f.sheet.as_deref().and_then(sheet_index).map_or(0, |i| i + 1);
        let (row, col) = f.cell.map(|c| (c.row, c.col)).unwrap_or((0, 0));
        (
            std::cmp::Reverse(f.severity),
            sheet,
            row,
            col,
            f.rule.clone(),
            f.pointer.clone(),
        )
    });
}

/// How many findings of each severity. Justified warnings and infos are counted
/// under their severity *and* under `justified`; they do not count towards the
/// status nor the exit code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub error: usize,
    pub warning: usize,
    pub info: usize,
    /// Warnings and infos justified by the submitter.
    pub justified: usize,
    #[serde(skip)]
    pub justified_warnings: usize,
}

impl Counts {
    /// `5 erreurs, 1 avertissement, 0 information`.
    pub fn label_fr(self) -> String {
        use crate::base::messages::plural;
        format!(
            "{}, {}, {}",
            plural(self.error, "erreur", "erreurs"),
            plural(self.warning, "avertissement", "avertissements"),
            plural(self.info, "information", "informations")
        )
    }

    pub fn of(findings: &[Finding]) -> Self {
        let mut c = Counts::default();
        for f in findings {
            match f.severity {
                Severity::Error => c.error += 1,
                Severity::Warning => c.warning += 1,
                Severity::Info => c.info += 1,
            }
            if f.is_justified() {
                c.justified += 1;
                if f.severity == Severity::Warning {
                    c.justified_warnings += 1;
                }
            }
        }
        c
    }

    pub fn add(&mut self, other: Counts) {
        self.error += other.error;
        self.warning += other.warning;
        self.info += other.info;
        self.justified += other.justified;
        self.justified_warnings += other.justified_warnings;
    }

    /// Findings at or above `level` that are not justified.
    pub fn at_or_above(&self, level: Severity) -> usize {
        match level {
            Severity::Error => self.error,
            Severity::Warning => (self.error + self.warning).saturating_sub(self.justified_warnings),
            Severity::Info => (self.error + self.warning + self.info).saturating_sub(self.justified),
        }
    }
}

/// Verdict on a return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Conforme,
    ConformeAvecReserves,
    NonConforme,
}

impl Status {
    pub fn of(counts: Counts) -> Self {
        if counts.error > 0 {
            Status::NonConforme
        } else if counts.warning > counts.justified_warnings {
            Status::ConformeAvecReserves
        } else {
            Status::Conforme
        }
    }

    pub fn label_fr(self) -> &'static str {
        match self {
            Status::Conforme => "Conforme",
            Status::ConformeAvecReserves => "Conforme avec réserves",
            Status::NonConforme => "Non conforme",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_french_rules() {
        let c = Counts {
            error: 0,
            warning: 1,
            info: 2,
            ..Counts::default()
        };
        assert_eq!(c.label_fr(), "0 erreur, 1 avertissement, 2 informations");
    }
}
