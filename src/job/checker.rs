//! The [`Checker`]: the pure [`Pipeline`] plus the worker processes it may
//! run in, and the job around a file's check (the annotated workbook, the key
//! figures, the excerpts' cells). Moved from `check`, so that the pipeline
//! imports nothing above it.

use std::path::Path;

use crate::job::isolate::Isolation;
use crate::job::spec::{Checked, Input, Job};
use crate::pipeline::check::{cap, read_failure, FileReport, Pipeline, Stage};
use crate::pipeline::read::{read_file_bytes, Limits};
use crate::pipeline::rules::RulePack;
use crate::pipeline::template::TemplateSet;

/// Everything a run needs, built once: the [`Pipeline`] (reached through
/// `Deref`: `checker.rules`, `checker.check_bytes(…)`), and the worker
/// processes to run it in.
#[derive(Debug)]
pub struct Checker {
    pub pipeline: Pipeline,
    /// Read workbooks in worker processes (the CLI's default; see [`crate::job::isolate`]).
    pub isolation: Option<std::sync::Arc<Isolation>>,
}

impl std::ops::Deref for Checker {
    type Target = Pipeline;

    fn deref(&self) -> &Pipeline {
        &self.pipeline
    }
}

impl std::ops::DerefMut for Checker {
    fn deref_mut(&mut self) -> &mut Pipeline {
        &mut self.pipeline
    }
}

impl Checker {
    pub fn new(templates: TemplateSet, rules: RulePack) -> Self {
        Self {
            pipeline: Pipeline::new(templates, rules),
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
            checked.annotated = Some(self.write_annotated(&checked.report, job, out, None));
        }
        checked
    }

    /// Writes the annotated workbook of `report` to `out` (the bytes of a
    /// path), as `job` asks (time of the check, follow-up); `Err` holds the
    /// French reason for BILAN-OUT-001.
    /// With the submitted bytes (`original`), an `.xlsx`/`.xlsm` is patched.
    fn write_annotated(
        &self,
        report: &FileReport,
        job: &Job,
        out: &[u8],
        original: Option<&[u8]>,
    ) -> Result<(), String> {
        let at = chrono::DateTime::from_timestamp(job.checked_at, 0).unwrap_or_default();
        let out = crate::output::path_from_bytes(out);
        // Cross-file findings about this file (a second pass) are shown too.
        let extended;
        let report = if job.extra_findings.is_empty() {
            report
        } else {
            extended = crate::outcome::with_extra_findings(report, &job.extra_findings);
            &extended
        };
        crate::report::xlsx::write_annotated(report, &self.rules, at, job.follow_up(), original)
            .map_err(|e| e.to_string())
            .and_then(|a| crate::output::save(&out, &a.bytes).map_err(|e| e.reason()))
    }

    /// [`Checker::process`] in this process; `stage` is told each stage as it starts.
    pub fn process_here(&self, input: &Input, job: &Job, stage: &dyn Fn(Stage)) -> Checked {
        stage(Stage::Read);
        // The submitted bytes are kept for the annotated workbook: an `.xlsx` is
        // patched, not re-created, so the looks of its sheets (a second pass over
        // each) are not read; a re-creation reads them then.
        let limits = Limits {
            read_styles: false,
            ..self.limits
        };
        let read = match input {
            Input::Path(path) => Some(read_file_bytes(path, &self.limits)),
            Input::Bytes { .. } => None,
        };
        let original: Option<&[u8]> = match (input, &read) {
            (Input::Bytes { bytes, .. }, _) => Some(bytes),
            (_, Some(Ok(bytes))) => Some(bytes),
            _ => None,
        };
        let mut report = match (original, &read) {
            (Some(bytes), _) => self.check_bytes_staged(&input.shown(), bytes, &limits, stage),
            (None, Some(Err(e))) => FileReport::failed(&input.shown(), None, read_failure(e)),
            (None, _) => FileReport::failed(
                &input.shown(),
                None,
                read_failure(&crate::pipeline::read::ReadError::Empty),
            ),
        };
        cap(&mut report);
        let extraction = job.extraction.then(|| crate::report::json::extraction(&report));
        let key_rows = if job.key_rows {
            crate::outcome::key_rows(&self.templates, &report)
        } else {
            Vec::new()
        };
        let cross = match job
            .cross
            .then(|| crate::outcome::cross_view(&self.templates, &self.rules, &report))
        {
            Some(Some(Ok(cross))) => Some(cross),
            Some(Some(Err(why))) => {
                report.findings.push(crate::finding::Finding::engine(
                    crate::finding::EngineRule::Rule001,
                    format!("Les chiffres de ce retour pour les contrôles entre fichiers n'ont pas pu être calculés ({why}) : il n'est pas rapproché des autres retours du lot."),
                ));
                None
            }
            _ => None,
        };
        let annotated = job.annotated.as_ref().map(|out| {
            stage(Stage::Annotated);
            self.write_annotated(&report, job, out, original)
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
            cross,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Status;

    #[test]
    fn an_unknown_forced_template_is_never_conforme() {
        let mut checker = Checker::new(
            TemplateSet::builtin(),
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
