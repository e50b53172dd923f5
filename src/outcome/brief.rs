//! What the end of a batch needs of each return, without its findings: a
//! [`Brief`] is kept per file while the batch runs (identity, counts, first
//! finding, key figures, the cross-file view when its template has one), the
//! findings themselves going to a scratch file (see `batch::Spill`) from which
//! the synthesis's `Constats` sheet reads them back. [`Returned`] is what the
//! cross-file checks and the synthesis read, from a [`Brief`] or a whole
//! [`Summary`] (the desk's exports keep summaries).

use std::borrow::Cow;

use serde_json::Value;

use super::{Review, Summary};
use crate::finding::{Counts, EngineRule, Finding, Status};

/// A checked return as the end of a batch reads it.
pub trait Returned {
    fn path(&self) -> &str;
    fn template(&self) -> Option<&str>;
    fn organisation(&self) -> Option<&str>;
    fn exercice(&self) -> Option<&str>;
    fn cut_off(&self) -> Option<&str>;
    fn counts(&self) -> Counts;
    /// The first finding's rule and message (findings are sorted).
    fn first_finding(&self) -> Option<(&str, &str)>;
    /// Whether a finding says the file could not be read (`BILAN-IO-*`).
    fn unreadable(&self) -> bool;
    /// Key figures for the template's sheet of the synthesis.
    fn key_rows(&self) -> Cow<'_, [Vec<Value>]>;
    fn annotated(&self) -> Option<&str>;
    fn review(&self) -> Option<&Review>;
    /// What the cross-file rules read of the return (`None`: its template
    /// lists nothing, or it was not read).
    fn cross(&self) -> Option<Cow<'_, Value>>;

    fn status(&self) -> Status {
        Status::of(self.counts())
    }
}

/// Whether `f` is a finding of a `BILAN-IO-*` engine rule (the file could not
/// be read).
pub fn is_io_finding(f: &Finding) -> bool {
    EngineRule::of_id(f.rule.as_str()).is_some_and(|e| e.id().starts_with("BILAN-IO"))
}

impl Returned for Summary {
    fn path(&self) -> &str {
        &self.report.path
    }
    fn template(&self) -> Option<&str> {
        self.report.template.as_deref()
    }
    fn organisation(&self) -> Option<&str> {
        self.report.organisation.as_deref()
    }
    fn exercice(&self) -> Option<&str> {
        self.report.exercice.as_deref()
    }
    fn cut_off(&self) -> Option<&str> {
        self.report.cut_off.as_deref()
    }
    fn counts(&self) -> Counts {
        self.report.counts()
    }
    fn first_finding(&self) -> Option<(&str, &str)> {
        self.report
            .findings
            .first()
            .map(|f| (f.rule.as_str(), f.message.as_str()))
    }
    fn unreadable(&self) -> bool {
        self.report.findings.iter().any(is_io_finding)
    }
    fn key_rows(&self) -> Cow<'_, [Vec<Value>]> {
        Cow::Borrowed(&self.key_rows)
    }
    fn annotated(&self) -> Option<&str> {
        self.annotated.as_deref()
    }
    fn review(&self) -> Option<&Review> {
        self.review.as_ref()
    }
    fn cross(&self) -> Option<Cow<'_, Value>> {
        self.cross.as_ref().map(Cow::Borrowed)
    }
}

/// A return of a batch, kept until the end without its findings (a few
/// hundred bytes, plus its key figures and, for a template with cross-file
/// data, its cross-file view).
#[derive(Debug, Clone)]
pub struct Brief {
    pub path: String,
    pub template: Option<String>,
    pub organisation: Option<String>,
    pub exercice: Option<String>,
    pub cut_off: Option<String>,
    pub counts: Counts,
    /// The first finding's rule and message.
    pub first: Option<(String, String)>,
    pub unreadable: bool,
    /// The key figures, as compact JSON text: a `serde_json::Value` is
    /// several times the size of its text, and they are read once, at the end.
    pub key_rows: Box<str>,
    pub annotated: Option<String>,
    pub review: Option<Review>,
    /// The cross-file view, as compact JSON text (read once, by the
    /// cross-file checks).
    pub cross: Option<Box<str>>,
}

impl Brief {
    /// The brief of a summary, which gives up its key figures and cross-file
    /// view (its findings stay with it).
    pub fn take(s: &mut Summary) -> Self {
        let r = &s.report;
        Self {
            path: r.path.clone(),
            template: r.template.clone(),
            organisation: r.organisation.clone(),
            exercice: r.exercice.clone(),
            cut_off: r.cut_off.clone(),
            counts: r.counts(),
            first: r
                .findings
                .first()
                .map(|f| (f.rule.as_str().to_string(), f.message.clone())),
            unreadable: r.findings.iter().any(is_io_finding),
            key_rows: compact(&s.key_rows),
            annotated: s.annotated.take(),
            review: s.review.take(),
            cross: s.cross.as_ref().map(compact),
        }
    }
}

impl Returned for Brief {
    fn path(&self) -> &str {
        &self.path
    }
    fn template(&self) -> Option<&str> {
        self.template.as_deref()
    }
    fn organisation(&self) -> Option<&str> {
        self.organisation.as_deref()
    }
    fn exercice(&self) -> Option<&str> {
        self.exercice.as_deref()
    }
    fn cut_off(&self) -> Option<&str> {
        self.cut_off.as_deref()
    }
    fn counts(&self) -> Counts {
        self.counts
    }
    fn first_finding(&self) -> Option<(&str, &str)> {
        self.first.as_ref().map(|(r, m)| (r.as_str(), m.as_str()))
    }
    fn unreadable(&self) -> bool {
        self.unreadable
    }
    fn key_rows(&self) -> Cow<'_, [Vec<Value>]> {
        Cow::Owned(serde_json::from_str(&self.key_rows).unwrap_or_default())
    }
    fn annotated(&self) -> Option<&str> {
        self.annotated.as_deref()
    }
    fn review(&self) -> Option<&Review> {
        self.review.as_ref()
    }
    fn cross(&self) -> Option<Cow<'_, Value>> {
        let text = self.cross.as_deref()?;
        serde_json::from_str(text).ok().map(Cow::Owned)
    }
}

/// `value` as compact JSON text (it reads back as the same value: numbers
/// are written in their shortest exact form).
fn compact<T: serde::Serialize>(value: &T) -> Box<str> {
    serde_json::to_string(value).unwrap_or_default().into_boxed_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Finding, Severity};
    use crate::outcome::FileReport;
    use serde_json::json;

    #[test]
    fn a_brief_reads_back_the_key_figures_and_cross_view_it_was_given() {
        let key_rows = vec![
            vec![
                json!(0.1 + 0.2),
                json!(1e-7),
                json!(12345678901234567i64),
                json!("Région"),
                Value::Null,
            ],
            vec![json!(-0.0), json!(2009), json!(28.89), json!(true), json!("")],
        ];
        let cross = json!({
            "data": {"resume": {"operations": 440, "feder_programme": 1234567.89}},
            "cells": {"/maquette/x": {"sheet": "Maquette", "cell": "B4"}},
            "decimals": {"/maquette/x": 2},
            "view": true,
        });
        let mut report = FileReport::failed("a.xlsx", None, Finding::new("X-1", Severity::Warning, "premier"));
        report.findings.push(Finding::new("X-2", Severity::Error, "second"));
        report.template = Some("FEDER-OPERATIONS".into());
        let mut summary = Summary {
            report,
            key_rows: key_rows.clone(),
            annotated: Some("annotes/a.controle.xlsx".into()),
            review: None,
            cross: Some(cross.clone()),
        };
        let brief = Brief::take(&mut summary);
        assert_eq!(&*brief.key_rows(), &key_rows[..]);
        assert_eq!(brief.cross().as_deref(), Some(&cross));
        assert_eq!(brief.counts(), summary.counts());
        assert_eq!(brief.first_finding(), Some(("X-1", "premier")));
        assert_eq!(brief.annotated(), Some("annotes/a.controle.xlsx"));
        assert!(!brief.unreadable());
    }
}
