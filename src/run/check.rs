//! `bilan check`: one or more returns, their annotated workbooks and JSON.

use super::*;

/// `bilan check`: what to write besides the terminal output.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    pub files: Vec<PathBuf>,
    /// `--report OUT.xlsx` (one file only).
    pub report: Option<PathBuf>,
    /// `--report-dir DIR`.
    pub report_dir: Option<PathBuf>,
    /// `--json OUT.json` (a file; `-` is the caller's to print).
    pub json: Option<PathBuf>,
}

/// What `check` did.
#[derive(Debug)]
pub struct CheckRun {
    pub reports: Vec<FileReport>,
    /// The annotated workbooks written.
    pub annotated: Vec<PathBuf>,
    /// Findings of the cross-file rules when several files were checked
    /// together (a dashboard with its list of operations).
    pub cross: Vec<BatchFinding>,
    pub checked_at: DateTime<Utc>,
    /// Outputs that could not be written, in French (the run's exit status is 2).
    pub failures: Vec<String>,
}

/// Checks the files and writes the annotated workbooks and the JSON report
/// asked for. No output may land on an input (exit 2 before anything is read);
/// an output that cannot be written is a failure of the run (and BILAN-OUT-001
/// for its file), the other outputs are still written.
pub fn check(checker: &Checker, opts: &CheckOptions) -> Result<CheckRun, RunError> {
    for f in &opts.files {
        check_input(f)?;
    }
    if let Some(json) = &opts.json {
        refuse_input(json, &opts.files, "le rapport JSON")?;
        output_folder(json, "--json")?;
    }
    if let Some(report) = &opts.report {
        output_folder(report, "--report")?;
    }
    let workbooks_out = annotated_paths(opts)?;
    let checked_at = Utc::now();
    let mut reports = Vec::new();
    let mut annotated = Vec::new();
    let mut failures = Vec::new();
    let mut crosses = Vec::new();
    // Several files checked together are reconciled by the cross-file rules,
    // as in a batch.
    let together = opts.files.len() > 1;
    for (i, file) in opts.files.iter().enumerate() {
        if crate::job::isolate::interrupted() {
            return Err(RunError::Interrupted);
        }
        let out = workbooks_out.get(i);
        let job = Job {
            annotated: out.map(|p| output::path_to_bytes(p)),
            checked_at: checked_at.timestamp(),
            excerpts: true,
            cross: together,
            ..Job::default()
        };
        let checked = checker.process(&Input::Path(file.clone()), &job);
        crosses.push(checked.cross);
        let mut report = checked.report;
        match (checked.annotated, out) {
            (Some(Ok(())), Some(out)) => annotated.push(out.clone()),
            (Some(Err(reason)), Some(out)) => {
                let shown = output::neutralise_name(&output::path_text(out)).into_owned();
                report.findings.push(batch::out_failure(&shown, &reason));
                failures.push(format!("classeur annoté {shown} non écrit : {reason}"));
            }
            _ => {}
        }
        reports.push(report);
    }
    if crate::job::isolate::interrupted() {
        return Err(RunError::Interrupted);
    }
    let mut cross = Vec::new();
    if together {
        let summaries: Vec<Summary> = reports
            .drain(..)
            .zip(crosses)
            .map(|(report, cross)| Summary {
                report,
                key_rows: Vec::new(),
                annotated: None,
                review: None,
                cross,
            })
            .collect();
        cross = batch::cross_checks(&checker.rules, &summaries, None)
            .into_iter()
            .filter(|b| !checker.rules.is_off(b.finding.rule.as_str()))
            .collect();
        reports = summaries.into_iter().map(|s| s.report).collect();
        // The annotated workbook of a file the cross-file rules speak about
        // shows those findings too: written again with them.
        for (i, file) in opts.files.iter().enumerate() {
            let extra = findings_about(&cross, i);
            let Some(out) = workbooks_out.get(i).filter(|_| !extra.is_empty()) else {
                continue;
            };
            let job = Job {
                annotated: Some(output::path_to_bytes(out)),
                checked_at: checked_at.timestamp(),
                extra_findings: extra,
                ..Job::default()
            };
            if let Some(Err(reason)) = checker.process(&Input::Path(file.clone()), &job).annotated {
                failures.push(format!("classeur annoté {} non écrit : {reason}", out.display()));
            }
        }
    }
    if let Some(path) = &opts.json {
        let text = json_text(&json_report_with(checker, &reports, &cross));
        if let Err(e) = output::save(path, text.as_bytes()) {
            failures.push(e.to_string());
        }
    }
    Ok(CheckRun {
        reports,
        annotated,
        cross,
        checked_at,
        failures,
    })
}

/// The machine report of `check` (`--json`), with the campaign when there is one.
pub fn json_report(checker: &Checker, reports: &[FileReport]) -> serde_json::Value {
    json_report_with(checker, reports, &[])
}

/// [`json_report`] with the cross-file findings of a check of several files
/// (top-level `batch`, as in a batch's `rapport.json`).
pub fn json_report_with(checker: &Checker, reports: &[FileReport], cross: &[BatchFinding]) -> serde_json::Value {
    let mut value = report::json::report(reports, &checker.rules.name, Utc::now(), Vec::new());
    if !cross.is_empty() {
        value["batch"] = serde_json::Value::Array(
            cross
                .iter()
                .map(|b| report::json::finding_json(&b.finding, b.file.as_deref().unwrap_or("")))
                .collect(),
        );
    }
    report::json::add_campaign(&mut value, &checker.rules);
    value
}

/// The cross-file findings placed on the i-th file, for its annotated workbook.
pub(super) fn findings_about(cross: &[BatchFinding], i: usize) -> Vec<crate::finding::Finding> {
    cross
        .iter()
        .filter(|b| b.return_index() == Some(i) && b.finding.sheet.is_some())
        .map(|b| b.finding.clone())
        .collect()
}

/// Refuses an output path that is one of the inputs (exit 2).
pub(super) fn refuse_input(out: &Path, inputs: &[PathBuf], what: &str) -> Result<(), RunError> {
    for input in inputs {
        if input.canonicalize().is_ok_and(|i| output::same_file(&i, out)) {
            return Err(message(format!(
                "{what} {} remplacerait le fichier contrôlé {} : choisissez un autre nom",
                out.display(),
                input.display()
            )));
        }
    }
    Ok(())
}

/// A JSON value as the reports print it (pretty, one final newline).
pub fn json_text(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}

/// Where `--report` / `--report-dir` write each file's annotated workbook (one
/// path per FILE, or none). Refuses an output that is one of the inputs: a
/// submitted file is never overwritten.
pub(super) fn annotated_paths(opts: &CheckOptions) -> Result<Vec<PathBuf>, RunError> {
    let outputs = match (&opts.report, &opts.report_dir) {
        (Some(out), _) => {
            if opts.files.len() != 1 {
                return Err(message(
                    "--report écrit le classeur annoté d'un seul fichier ; pour plusieurs, utilisez --report-dir DOSSIER",
                ));
            }
            if !is_xlsx(out) {
                return Err(message(format!(
                    "--report écrit un classeur Excel : donnez-lui un nom en .xlsx (et non « {} »)",
                    out.display()
                )));
            }
            vec![out.clone()]
        }
        (None, Some(dir)) => {
            create_dir(dir)?;
            let inputs: Vec<PathBuf> = opts.files.iter().filter_map(|f| f.canonicalize().ok()).collect();
            let on_input = |name: &str| inputs.iter().any(|i| output::same_file(i, &dir.join(name)));
            output::report_names(&opts.files, &on_input)
                .into_iter()
                .map(|n| dir.join(n))
                .collect()
        }
        (None, None) => return Ok(Vec::new()),
    };
    for out in &outputs {
        refuse_input(out, &opts.files, "le classeur annoté")?;
    }
    Ok(outputs)
}
