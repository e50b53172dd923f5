//! The pipeline for one file: read → detect → extract → validate → rules →
//! campaign → justifications, in this process, nothing written.

use sha2::{Digest, Sha256};

use crate::finding::{sort_findings, EngineRule, Finding, Severity};
use crate::pipeline::extract::{extract, Extraction};
use crate::pipeline::read::{read_bytes, Limits, Workbook};
use crate::pipeline::rules::RulePack;
use crate::pipeline::template::{detect, Detection, Template, TemplateSet};
use crate::pipeline::validate::validate;

/// Everything the pipeline needs, built once (schemas compiled, rules
/// compiled). [`crate::job::Checker`] adds the worker processes.
#[derive(Debug)]
pub struct Pipeline {
    pub templates: TemplateSet,
    pub rules: RulePack,
    pub limits: Limits,
    /// `--template ID`: skip detection.
    pub forced_template: Option<String>,
}

pub use crate::pipeline::file_report::FileReport;

/// At most this many findings of one rule per file; the rest are counted in one
/// more finding ("… et N autres"), so that a large-but-legal file gets a report
/// of bounded size.
pub const MAX_FINDINGS_PER_RULE: usize = 500;

fn text_at(ex: &Extraction, pointer: Option<&String>) -> Option<String> {
    let v = ex.data.pointer(pointer?)?;
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

impl Pipeline {
    pub fn new(templates: TemplateSet, rules: RulePack) -> Self {
        Self {
            templates,
            rules,
            limits: Limits::default(),
            forced_template: None,
        }
    }

    /// Checks a workbook held in memory, in this process; `name` is how reports call it.
    pub fn check_bytes(&self, name: &str, bytes: &[u8]) -> FileReport {
        self.check_bytes_staged(name, bytes, &self.limits, &|_| {})
    }

    pub fn check_bytes_staged(&self, name: &str, bytes: &[u8], limits: &Limits, stage: &dyn Fn(Stage)) -> FileReport {
        let sha = crate::base::format::hex(&Sha256::digest(bytes));
        let workbook = match read_bytes(bytes, limits) {
            Ok(wb) => wb,
            Err(e) => return FileReport::failed(name, Some(sha), read_failure(&e)),
        };
        let mut report = self.check_workbook_staged(name, workbook, stage);
        report.sha256 = Some(sha);
        report
    }

    /// Checks a workbook already read.
    pub fn check_workbook(&self, name: &str, workbook: Workbook) -> FileReport {
        self.check_workbook_staged(name, workbook, &|_| {})
    }

    fn check_workbook_staged(&self, name: &str, workbook: Workbook, stage: &dyn Fn(Stage)) -> FileReport {
        stage(Stage::Extract);
        let wrong_extension = crate::pipeline::read::extension_mismatch(name, workbook.format);
        let template = match detect(&workbook, &self.templates, self.forced_template.as_deref()) {
            Detection::Template(t) => t,
            Detection::Unknown(finding) => {
                let mut report = FileReport::failed(name, None, *finding);
                report.findings.extend(wrong_extension);
                self.rules.apply_levels(&mut report.findings);
                report.workbook = Some(workbook);
                return report;
            }
        };
        // The first file of a template: its rules compile on a second thread
        // while the file is extracted and validated (which compiles the
        // template's schema); a single `check` waits for the longer of the two.
        let compiling = self.rules.needs_compiling(&template.id);
        let Validated {
            extraction: mut ex,
            version,
        } = std::thread::scope(|scope| {
            if compiling {
                scope.spawn(|| self.rules.compile_for(&template.id, false));
            }
            let validated = self.extract_and_validate(&workbook, template, stage);
            if compiling {
                // Then help, from the other end of the list.
                self.rules.compile_for(&template.id, true);
            }
            validated
        });
        stage(Stage::Rules);
        self.rules.run(&template.id, &mut ex);
        let mut findings = std::mem::take(&mut ex.findings);
        findings.extend(wrong_extension);
        if let Some(campaign) = &self.rules.campaign {
            findings.extend(campaign.return_findings(template, &ex));
        }
        self.rules.apply_levels(&mut findings);
        let mut justification_findings = crate::pipeline::justify::apply(&workbook, &mut findings);
        self.rules.apply_levels(&mut justification_findings);
        findings.extend(justification_findings);
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

/// A return extracted and validated, with the template version it states.
struct Validated {
    extraction: Extraction,
    version: Option<String>,
}

impl Pipeline {
    /// Extracts a workbook's data for `template` and validates it against the
    /// template's schema (an unknown template version is a finding, and the
    /// return is validated with the newest).
    fn extract_and_validate(&self, workbook: &Workbook, template: &Template, stage: &dyn Fn(Stage)) -> Validated {
        let mut ex = extract(workbook, template);
        let version = text_at(&ex, Some(&"/identification/version".to_string()));
        if let Some(v) = &version {
            if !template.versions.iter().any(|k| k == v) {
                let origin = ex.origin_of("/identification/version").cloned();
                let mut f = Finding::engine(EngineRule::Tpl002,
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
        stage(Stage::Validate);
        validate(template, &mut ex);
        Validated {
            extraction: ex,
            version,
        }
    }
}

/// The stages of a file's check, as a limit reached during one names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Stage {
    Read,
    Extract,
    Validate,
    Rules,
    Annotated,
}

impl Stage {
    /// French name of the stage, as IO-002 says it.
    pub fn label_fr(self) -> &'static str {
        match self {
            Stage::Read => "lecture du classeur",
            Stage::Extract => "extraction des données",
            Stage::Validate => "validation par le schéma",
            Stage::Rules => "application des règles",
            Stage::Annotated => "écriture du classeur annoté",
        }
    }
}

/// Caps a report's findings per rule (see [`cap_findings`]), keeping their order.
pub fn cap(report: &mut FileReport) {
    if report.findings.len() <= MAX_FINDINGS_PER_RULE {
        return;
    }
    cap_findings(&mut report.findings);
    let sheets: Vec<String> = report
        .workbook
        .as_ref()
        .map(|w| w.sheets.iter().map(|s| s.name.clone()).collect())
        .unwrap_or_default();
    sort_findings(&mut report.findings, &|s| sheets.iter().position(|w| w == s));
}

/// Keeps at most [`MAX_FINDINGS_PER_RULE`] findings of each rule (the first
/// ones, in report order) and says how many more there were.
pub fn cap_findings(findings: &mut Vec<Finding>) {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut dropped: std::collections::BTreeMap<String, (usize, Severity)> = std::collections::BTreeMap::new();
    findings.retain(|f| {
        let n = seen.entry(f.rule.as_str().to_string()).or_insert(0);
        *n += 1;
        if *n <= MAX_FINDINGS_PER_RULE {
            return true;
        }
        let e = dropped.entry(f.rule.as_str().to_string()).or_insert((0, f.severity));
        e.0 += 1;
        false
    });
    for (rule, (n, severity)) in dropped {
        findings.push(Finding::new(
            &rule,
            severity,
            format!(
                "… et {} autres constats de la règle {rule} dans ce fichier (seuls les {MAX_FINDINGS_PER_RULE} premiers sont détaillés).",
                crate::base::format::int_fr(n as i128)
            ),
        ));
    }
}

/// The finding of a file that could not be read. A limit names the option that raises it.
pub fn read_failure(e: &crate::pipeline::read::ReadError) -> Finding {
    use crate::pipeline::read::{LimitKind, ReadError};
    // French for the submitter; the reader's own (English) text goes to `detail`.
    let (mut message, detail) = crate::pipeline::read::error_fr::read_error(e);
    if let ReadError::Limit { kind, .. } = e {
        let option = match kind {
            LimitKind::FileSize => Some("--max-file-size"),
            LimitKind::Cells => Some("--max-cells"),
            LimitKind::Part(_) => Some("--max-part-size"),
            LimitKind::Memory => Some("--max-memory"),
            LimitKind::Time => Some("--timeout"),
            LimitKind::Uncompressed | LimitKind::Sheets => None,
        };
        let stage = Stage::Read.label_fr();
        message = match option {
            Some(o) => format!("{message} (étape : {stage} ; limite réglable par {o})."),
            None => format!("{message} (étape : {stage})."),
        };
    }
    let finding = Finding::engine(e.rule(), message);
    match detail {
        Some(d) => finding.with_detail(d),
        None => finding,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_are_capped_per_rule_and_the_rest_counted() {
        let mut findings: Vec<Finding> = (0..1_200)
            .map(|i| Finding::new("POLE-FIN-001", Severity::Error, format!("ligne {i}")))
            .chain((0..3).map(|i| Finding::new("POLE-FIN-002", Severity::Warning, format!("w{i}"))))
            .collect();
        cap_findings(&mut findings);
        let of = |rule: &str| findings.iter().filter(|f| f.rule.as_str() == rule).count();
        assert_eq!(of("POLE-FIN-001"), MAX_FINDINGS_PER_RULE + 1);
        assert_eq!(of("POLE-FIN-002"), 3);
        let more = findings.last().map(|f| f.message.clone()).unwrap_or_default();
        assert!(
            more.starts_with("… et 700 autres constats de la règle POLE-FIN-001"),
            "{more}"
        );
    }
}
