//! The pipeline for one file: read → detect → extract → validate → rules.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::extract::{extract, Extraction};
use crate::finding::{sort_findings, Finding, Severity};
use crate::read::{read_bytes, read_file_bytes, Limits, Workbook};
use crate::rules::RulePack;
use crate::template::{detect, Detection, TemplateSet};
use crate::validate::validate;

/// Everything a run needs, built once (schemas compiled, rules compiled).
#[derive(Debug)]
pub struct Checker {
    pub templates: TemplateSet,
    pub rules: RulePack,
    pub limits: Limits,
    /// `--template ID`: skip detection.
    pub forced_template: Option<String>,
    /// Read workbooks in worker processes (the CLI's default; see [`crate::isolate`]).
    pub isolation: Option<std::sync::Arc<crate::isolate::Isolation>>,
}

pub use crate::outcome::FileReport;

fn text_at(ex: &Extraction, pointer: Option<&String>) -> Option<String> {
    let v = ex.data.pointer(pointer?)?;
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

impl Checker {
    pub fn new(templates: TemplateSet, rules: RulePack) -> Self {
        Self {
            templates,
            rules,
            limits: Limits::default(),
            forced_template: None,
            isolation: None,
        }
    }

    /// Checks a file on disk. Never fails: an unreadable file is a finding.
    pub fn check_path(&self, path: &Path) -> FileReport {
        let shown = path.display().to_string();
        let bytes = match read_file_bytes(path, &self.limits) {
            Ok(bytes) => bytes,
            Err(e) => return FileReport::failed(&shown, None, read_failure(&e)),
        };
        let Some(isolation) = &self.isolation else {
            return self.check_bytes(&shown, &bytes);
        };
        let sha = hex(&Sha256::digest(&bytes));
        // Sniffing is ours and safe; only calamine's parsing runs in the worker.
        let read = crate::read::sniff(&bytes, &self.limits).and_then(|_| isolation.read(path, &self.limits));
        drop(bytes);
        let mut report = match read {
            Ok(wb) if wb.sheets.is_empty() => {
                FileReport::failed(&shown, None, read_failure(&crate::read::ReadError::NoSheets))
            }
            Ok(wb) => self.check_workbook(&shown, wb),
            Err(e) => FileReport::failed(&shown, None, read_failure(&e)),
        };
        report.sha256 = Some(sha);
        report
    }

    /// Checks a workbook held in memory; `name` is how reports call it.
    pub fn check_bytes(&self, name: &str, bytes: &[u8]) -> FileReport {
        let sha = hex(&Sha256::digest(bytes));
        let workbook = match read_bytes(bytes, &self.limits) {
            Ok(wb) => wb,
            Err(e) => return FileReport::failed(name, Some(sha), read_failure(&e)),
        };
        let mut report = self.check_workbook(name, workbook);
        report.sha256 = Some(sha);
        report
    }

    /// Checks a workbook already read.
    pub fn check_workbook(&self, name: &str, workbook: Workbook) -> FileReport {
        let template = match detect(&workbook, &self.templates, self.forced_template.as_deref()) {
            Detection::Template(t) => t,
            Detection::Unknown(finding) => {
                let mut report = FileReport::failed(name, None, *finding);
                report.workbook = Some(workbook);
                return report;
            }
        };
        let mut ex = extract(&workbook, template);
        let version = text_at(&ex, Some(&"/identification/version".to_string()));
        if let Some(v) = &version {
            if !template.versions.iter().any(|k| k == v) {
                let origin = ex.origin_of("/identification/version").cloned();
                let mut f = Finding::new(
                    "BILAN-TPL-002",
                    Severity::Warning,
                    format!("Version « {v} » du modèle {} inconnue : le retour est contrôlé avec la version {}, la plus récente. Utilisez le modèle à jour.", template.id, template.newest_version()),
                )
                .with_pointer("/identification/version");
                if let Some(o) = origin {
                    f = f.at(&o.sheet, o.cell);
                }
                ex.findings.push(f);
                // Validated with the newest version: the value itself is not a schema error.
                ex.unusable.insert("/identification/version".into());
            }
        }
        validate(template, &mut ex);
        self.rules.run(&template.id, &mut ex);
        let mut findings = std::mem::take(&mut ex.findings);
        sort_findings(&mut findings, &|s| workbook.sheets.iter().position(|w| w.name == s));
        FileReport {
            path: name.to_string(),
            sha256: None,
            template: Some(template.id.clone()),
            template_version: version,
            organisation: text_at(&ex, template.organisation.as_ref()),
            cut_off: text_at(&ex, template.cut_off.as_ref()),
            exercice: text_at(&ex, template.exercice.as_ref()),
            findings,
            workbook: Some(workbook),
            extraction: Some(ex),
        }
    }
}

/// An unreadable file's finding: French for the submitter, the reader's own
/// (English) text kept in `detail`.
fn read_failure(e: &crate::read::ReadError) -> Finding {
    let (message, detail) = crate::messages::read_error(e);
    let finding = Finding::new(e.rule(), Severity::Error, message);
    match detail {
        Some(d) => finding.with_detail(d),
        None => finding,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Status;

    #[test]
    fn an_unknown_forced_template_is_never_conforme() {
        let mut checker = Checker::new(
            TemplateSet::builtin().unwrap_or_else(|e| panic!("schemas: {e}")),
            RulePack::builtin().unwrap_or_else(|e| panic!("rules: {e:?}")),
        );
        checker.forced_template = Some("BILAN-INCONNU".into());
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pole-maud-conforme.xlsx");
        let r = checker.check_path(&path);
        assert_eq!(r.status(), Status::NonConforme);
        assert_eq!(r.findings.len(), 1);
        assert_eq!(r.findings[0].rule.as_str(), "BILAN-TPL-001");
        assert!(
            r.findings[0].message.contains("BILAN-INCONNU"),
            "{}",
            r.findings[0].message
        );
    }
}
