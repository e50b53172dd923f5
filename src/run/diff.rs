//! `bilan diff OLD NEW`: what changed between two versions of a return.

use super::*;

/// `bilan diff OLD NEW`: what to write besides the terminal output.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    pub old: PathBuf,
    pub new: PathBuf,
    /// `--json OUT.json` (a file; `-` is the caller's to print).
    pub json: Option<PathBuf>,
    /// `--report OUT.xlsx`: the new submission's annotated workbook with its follow-up.
    pub report: Option<PathBuf>,
}

/// What `diff` did.
#[derive(Debug)]
pub struct DiffRun {
    pub old: FileReport,
    pub new: FileReport,
    pub diff: crate::diff::Diff,
}

/// Checks two submissions of one return and compares them. Two different
/// returns (template, organisation) or an unreadable one: an error (exit 2).
pub fn diff(checker: &Checker, opts: &DiffOptions) -> Result<DiffRun, RunError> {
    for p in [&opts.old, &opts.new] {
        if !p.exists() {
            return Err(message(format!("{} : fichier introuvable", p.display())));
        }
        if p.is_dir() {
            return Err(message(format!(
                "{} est un dossier : bilan diff compare deux fichiers",
                p.display()
            )));
        }
    }
    if let Some(report) = &opts.report {
        output_folder(report, "--report")?;
    }
    if let Some(json) = &opts.json {
        output_folder(json, "--json")?;
    }
    for out in opts.report.iter().chain(opts.json.iter()) {
        for input in [&opts.old, &opts.new] {
            if input.canonicalize().is_ok_and(|i| output::same_file(&i, out)) {
                return Err(message(format!(
                    "{} remplacerait le fichier comparé {} : choisissez un autre nom",
                    out.display(),
                    input.display()
                )));
            }
        }
    }
    // Checked like any return (in a worker process by default), with the
    // extracted data the values are compared on.
    let job = crate::job::Job {
        excerpts: true,
        extraction: true,
        ..Default::default()
    };
    let check = |p: &Path| {
        let checked = checker.process(&crate::job::Input::Path(p.to_path_buf()), &job);
        let mut report = checked.report;
        report.extraction = checked.extraction.as_ref().and_then(crate::diff::extraction_of_json);
        report
    };
    let old = check(&opts.old);
    let new = check(&opts.new);
    let diff = crate::diff::compare(&old, &new).map_err(|e| message(e.to_string()))?;
    if let Some(path) = &opts.json {
        if path != Path::new("-") {
            output::save(path, json_text(&crate::diff::to_json(&diff, &old, &new)).as_bytes())?;
        }
    }
    if let Some(path) = &opts.report {
        // The new return's annotated workbook is made where it is checked, with its follow-up.
        let job = crate::job::Job {
            annotated: Some(output::path_to_bytes(path)),
            checked_at: Utc::now().timestamp(),
            follow_up: Some((diff.clone(), old.path.clone())),
            ..Default::default()
        };
        let checked = checker.process(&crate::job::Input::Path(opts.new.clone()), &job);
        if let Some(Err(why)) = checked.annotated {
            return Err(message(format!(
                "BILAN-OUT-001 : le classeur annoté {} n'a pas pu être écrit : {why}",
                path.display()
            )));
        }
    }
    Ok(DiffRun { old, new, diff })
}
