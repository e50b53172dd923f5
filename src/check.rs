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

/// At most this many findings of one rule per file; the rest are counted in one
/// more finding ("… et N autres"), so that a large-but-legal file gets a report
/// of bounded size.
pub const MAX_FINDINGS_PER_RULE: usize = 500;

/// A file to check: on disk (its path's bytes go to the worker as they are, so
/// names that are not UTF-8 work), or in memory (an upload).
#[derive(Debug, Clone)]
pub enum Input {
    Path(std::path::PathBuf),
    Bytes { name: String, bytes: Vec<u8> },
}

impl Input {
    /// How reports call the file.
    pub fn shown(&self) -> String {
        match self {
            Input::Path(p) => crate::output::path_text(p),
            Input::Bytes { name, .. } => name.clone(),
        }
    }
}

/// What to produce for a file besides its findings; all of it is made where
/// the file is checked (in the worker process when isolated).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Job {
    /// Write the annotated workbook here (as the bytes of a path).
    pub annotated: Option<Vec<u8>>,
    /// The time of the check, for the annotated workbook (seconds since 1970).
    pub checked_at: i64,
    /// Keep the cells that terminal excerpts show (`FileReport::workbook`,
    /// pruned to the rows around each finding).
    pub excerpts: bool,
    /// Compute the key figures of the synthesis.
    pub key_rows: bool,
    /// Keep what `bilan extract` prints.
    pub extraction: bool,
    /// `bilan diff --report`: the comparison with the previous submission (and
    /// how it is named), for the annotated workbook's follow-up.
    #[serde(default)]
    pub follow_up: Option<(crate::diff::Diff, String)>,
}

impl Job {
    fn follow_up(&self) -> Option<crate::report::xlsx::FollowUp<'_>> {
        self.follow_up
            .as_ref()
            .map(|(diff, previous)| crate::report::xlsx::FollowUp { diff, previous })
    }
}

/// A checked file: its report and what the [`Job`] asked for.
#[derive(Debug)]
pub struct Checked {
    pub report: FileReport,
    pub key_rows: Vec<Vec<serde_json::Value>>,
    /// `None`: not asked; `Some(Err(message))`: the annotated workbook could
    /// not be written (BILAN-OUT-001 for the caller to report).
    pub annotated: Option<Result<(), String>>,
    /// `bilan extract`'s JSON.
    pub extraction: Option<serde_json::Value>,
}

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
    /// In this process the report keeps the workbook and the extracted data;
    /// isolated, only the cells of its terminal excerpts come back.
    pub fn check_path(&self, path: &Path) -> FileReport {
        if self.isolation.is_some() {
            let job = Job {
                excerpts: true,
                ..Job::default()
            };
            return self.process(&Input::Path(path.to_path_buf()), &job).report;
        }
        let mut report = match read_file_bytes(path, &self.limits) {
            Ok(bytes) => self.check_bytes(&crate::output::path_text(path), &bytes),
            Err(e) => FileReport::failed(&crate::output::path_text(path), None, read_failure(&e)),
        };
        cap(&mut report);
        report
    }

    /// Checks a file and makes what `job` asks for: in a worker process when
    /// isolated (the whole pipeline runs there, under its memory and time
    /// limits; only the report comes back), else in this process.
    pub fn process(&self, input: &Input, job: &Job) -> Checked {
        let Some(isolation) = &self.isolation else {
            return self.process_here(input, job, &|_| {});
        };
        let mut checked = isolation.process(input, job);
        if let (Some(out), None) = (&job.annotated, &checked.annotated) {
            // The worker stopped before writing it: the file's report holds its
            // finding only (no cells), safe to write here.
            let at = chrono::DateTime::from_timestamp(job.checked_at, 0).unwrap_or_default();
            let out = crate::output::path_from_bytes(out);
            checked.annotated = Some(
                crate::report::xlsx::write_report_with(&checked.report, &self.rules, at, job.follow_up())
                    .map_err(|e| e.to_string())
                    .and_then(|bytes| crate::output::save(&out, &bytes).map_err(|e| e.reason())),
            );
        }
        checked
    }

    /// [`Checker::process`] in this process; `stage` is told each stage as it starts.
    pub fn process_here(&self, input: &Input, job: &Job, stage: &dyn Fn(Stage)) -> Checked {
        stage(Stage::Read);
        // The looks of the sheets (a second pass over each) only serve the annotated workbook.
        let limits = Limits {
            read_styles: job.annotated.is_some(),
            ..self.limits
        };
        let mut report = match input {
            Input::Path(path) => match read_file_bytes(path, &self.limits) {
                Ok(bytes) => self.check_bytes_staged(&input.shown(), &bytes, &limits, stage),
                Err(e) => FileReport::failed(&input.shown(), None, read_failure(&e)),
            },
            Input::Bytes { name, bytes } => self.check_bytes_staged(name, bytes, &limits, stage),
        };
        cap(&mut report);
        let extraction = job.extraction.then(|| crate::report::json::extraction(&report));
        let key_rows = if job.key_rows {
            crate::batch::key_rows(&self.templates, &report)
        } else {
            Vec::new()
        };
        let annotated = job.annotated.as_ref().map(|out| {
            stage(Stage::Annotated);
            let at = chrono::DateTime::from_timestamp(job.checked_at, 0).unwrap_or_default();
            let out = crate::output::path_from_bytes(out);
            crate::report::xlsx::write_report_with(&report, &self.rules, at, job.follow_up())
                .map_err(|e| e.to_string())
                .and_then(|bytes| crate::output::save(&out, &bytes).map_err(|e| e.reason()))
        });
        report.extraction = None;
        report.workbook = match (job.excerpts, report.workbook.take()) {
            (true, Some(wb)) => Some(crate::report::human::excerpt_cells(&wb, &report.findings)),
            _ => None,
        };
        Checked {
            report,
            key_rows,
            annotated,
            extraction,
        }
    }

    /// Checks a workbook held in memory, in this process; `name` is how reports call it.
    pub fn check_bytes(&self, name: &str, bytes: &[u8]) -> FileReport {
        self.check_bytes_staged(name, bytes, &self.limits, &|_| {})
    }

    fn check_bytes_staged(&self, name: &str, bytes: &[u8], limits: &Limits, stage: &dyn Fn(Stage)) -> FileReport {
        let sha = hex(&Sha256::digest(bytes));
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
        let wrong_extension = crate::read::extension_mismatch(name, workbook.format);
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
        stage(Stage::Validate);
        validate(template, &mut ex);
        stage(Stage::Rules);
        self.rules.run(&template.id, &mut ex);
        let mut findings = std::mem::take(&mut ex.findings);
        findings.extend(wrong_extension);
        if let Some(campaign) = &self.rules.campaign {
            findings.extend(campaign.return_findings(&self.rules, template, &ex));
        }
        self.rules.apply_levels(&mut findings);
        let mut justification_findings = crate::justify::apply(&self.rules, &workbook, &mut findings);
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
fn cap(report: &mut FileReport) {
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
                crate::format::int_fr(n as i128)
            ),
        ));
    }
}

/// The finding of a file that could not be read. A limit names the option that raises it.
fn read_failure(e: &crate::read::ReadError) -> Finding {
    use crate::read::{LimitKind, ReadError};
    // French for the submitter; the reader's own (English) text goes to `detail`.
    let (mut message, detail) = crate::messages::read_error(e);
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
