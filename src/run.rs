//! The commands as library calls: build a [`Checker`] from options, check files
//! and write their outputs, run a batch. The binary (`main.rs`) parses the
//! command line, calls these, prints what they return and maps the exit code;
//! any other front end (the web desk) can call them the same way.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::batch;
use crate::check::{Checker, FileReport};
use crate::finding::Severity;
use crate::outcome::{BatchFinding, Skipped, Summary};
use crate::output;
use crate::read::Limits;
use crate::report;
use crate::rules::{RuleError, RulePack, Sandbox};
use crate::template::TemplateSet;

/// A failure of the run itself (exit 2), as opposed to findings in a file.
#[derive(Debug)]
pub enum RunError {
    /// A rule does not compile: shown with its source.
    Rule(RuleError),
    /// Anything else, in French, ready to print.
    Message(String),
}

impl From<RuleError> for RunError {
    fn from(e: RuleError) -> Self {
        RunError::Rule(e)
    }
}

impl From<output::OutputError> for RunError {
    fn from(e: output::OutputError) -> Self {
        RunError::Message(e.to_string())
    }
}

fn message(m: impl Into<String>) -> RunError {
    RunError::Message(m.into())
}

/// The options every command shares.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// Rules to use instead of the built-in ones.
    pub rules: Option<PathBuf>,
    /// Schemas to use instead of the built-in ones.
    pub schemas: Option<PathBuf>,
    /// `--template ID`: skip detection.
    pub template: Option<String>,
    pub max_file_size: Option<u64>,
    pub max_cells: Option<usize>,
    pub max_part_size: Option<u64>,
    /// Read in worker processes (`exe __worker`); `None`: in this process.
    pub isolation: Option<PathBuf>,
    pub max_memory: Option<u64>,
    /// Seconds.
    pub timeout: Option<u64>,
}

/// Builds the checker: schemas and rules compiled, limits set.
pub fn load(setup: &Setup) -> Result<Checker, RunError> {
    let read_dir = |dir: &Path| {
        crate::embedded::from_dir(dir).map_err(|e| message(crate::messages::io_failure("lecture du dossier", dir, &e)))
    };
    let schema_files = match &setup.schemas {
        Some(dir) => read_dir(dir)?,
        None => crate::embedded::schemas(),
    };
    let templates = TemplateSet::load(&schema_files).map_err(|e| message(e.to_string()))?;
    let rule_files = match &setup.rules {
        Some(dir) => read_dir(dir)?,
        None => crate::embedded::rules(),
    };
    let rules = RulePack::load(&rule_files, Sandbox::default())?;
    let mut checker = Checker::new(templates, rules);
    let mut limits = Limits::default();
    if let Some(n) = setup.max_file_size {
        limits.max_file_size = n;
    }
    if let Some(n) = setup.max_cells {
        limits.max_cells = n;
    }
    if let Some(n) = setup.max_part_size {
        limits.max_loaded_part = n;
    }
    checker.limits = limits;
    if let Some(exe) = &setup.isolation {
        let mut worker = crate::isolate::WorkerLimits::default();
        if let Some(m) = setup.max_memory {
            worker.memory = m;
        }
        if let Some(t) = setup.timeout {
            worker.timeout = std::time::Duration::from_secs(t.max(1));
        }
        checker.isolation = Some(std::sync::Arc::new(crate::isolate::Isolation::new(exe.clone(), worker)));
    }
    if let Some(t) = &setup.template {
        if checker.templates.get(t).is_none() {
            return Err(message(format!(
                "modèle « {t} » inconnu (modèles : {})",
                checker.templates.ids().join(", ")
            )));
        }
        checker.forced_template = Some(t.clone());
    }
    Ok(checker)
}

/// The exit code of a run: 1 when a finding (of a file or across files) is at
/// or above `fail_on` (`None`: never), else 0.
pub fn exit_code(reports: &[FileReport], cross: &[BatchFinding], fail_on: Option<Severity>) -> u8 {
    let Some(level) = fail_on else { return 0 };
    let files = reports.iter().any(|r| r.counts().at_or_above(level) > 0);
    let batch = cross.iter().any(|b| b.finding.severity >= level);
    u8::from(files || batch)
}

fn create_dir(dir: &Path) -> Result<(), RunError> {
    std::fs::create_dir_all(dir).map_err(|e| message(crate::messages::io_failure("création du dossier", dir, &e)))
}

/// A path given to `check` that is not a file to check stops the run (exit 2)
/// before anything is written: a typo is not a non-conforming return, and a
/// folder is `bilan batch`'s job.
pub fn check_input(path: &Path) -> Result<(), RunError> {
    use std::io::ErrorKind;
    match std::fs::metadata(path) {
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => Err(message(format!(
            "« {} » : fichier introuvable (vérifiez le chemin)",
            path.display()
        ))),
        Ok(m) if m.is_dir() => Err(message(format!(
            "« {0} » est un dossier : pour contrôler tous les retours d'un dossier, utilisez « bilan batch {0} --out DOSSIER »",
            path.display()
        ))),
        // Anything else (no permission, a pipe) is the file's finding.
        _ => Ok(()),
    }
}

/// A path given to `batch` must exist (a typo would silently check nothing).
fn batch_input(path: &Path) -> Result<(), RunError> {
    match std::fs::symlink_metadata(path) {
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            Err(message(format!(
                "« {} » : fichier ou dossier introuvable (vérifiez le chemin)",
                path.display()
            )))
        }
        _ => Ok(()),
    }
}

/// Whether a path names an `.xlsx` workbook (the only format reports are written in).
fn is_xlsx(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case("xlsx"))
}

// ---------------------------------------------------------------------------
// check

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
    pub checked_at: DateTime<Utc>,
}

/// Checks the files and writes the annotated workbooks and the JSON report asked for.
pub fn check(checker: &Checker, opts: &CheckOptions) -> Result<CheckRun, RunError> {
    for f in &opts.files {
        check_input(f)?;
    }
    let workbooks_out = annotated_paths(opts)?;
    let reports: Vec<FileReport> = opts.files.iter().map(|f| checker.check_path(f)).collect();
    let checked_at = Utc::now();
    for (r, out) in reports.iter().zip(&workbooks_out) {
        let bytes = report::xlsx::write_report(r, &checker.rules, checked_at).map_err(|e| message(e.to_string()))?;
        output::save(out, &bytes)?;
    }
    if let Some(path) = &opts.json {
        let text = json_text(&report::json::report(
            &reports,
            &checker.rules.name,
            Utc::now(),
            Vec::new(),
        ));
        output::save(path, text.as_bytes())?;
    }
    Ok(CheckRun {
        reports,
        annotated: workbooks_out,
        checked_at,
    })
}

/// A JSON value as the reports print it (pretty, one final newline).
pub fn json_text(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}

/// Where `--report` / `--report-dir` write each file's annotated workbook (one
/// path per FILE, or none). Refuses an output that is one of the inputs: a
/// submitted file is never overwritten.
fn annotated_paths(opts: &CheckOptions) -> Result<Vec<PathBuf>, RunError> {
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
    for (out, input) in outputs.iter().zip(&opts.files) {
        if input.canonicalize().is_ok_and(|i| output::same_file(&i, out)) {
            return Err(message(format!(
                "le classeur annoté {} remplacerait le fichier contrôlé : choisissez un autre nom",
                out.display()
            )));
        }
    }
    Ok(outputs)
}

// ---------------------------------------------------------------------------
// batch

/// `bilan batch`: inputs and outputs.
#[derive(Debug, Clone, Default)]
pub struct BatchOptions {
    pub paths: Vec<PathBuf>,
    /// `synthese.xlsx`, `rapport.json`, `annotes/`.
    pub out: PathBuf,
    pub glob: Vec<String>,
    /// Files checked at once (default: every core).
    pub jobs: Option<usize>,
    /// `--expected LIST.csv`.
    pub expected: Option<PathBuf>,
    /// Write `annotes/<name>.controle.xlsx`.
    pub annotated: bool,
}

/// Told how a batch goes (a progress bar, a web page).
pub trait Progress: Sync {
    /// The number of files to check, once known.
    fn start(&self, _total: usize) {}
    /// One more file checked.
    fn tick(&self) {}
}

/// No progress shown.
impl Progress for () {}

/// What `batch` did.
#[derive(Debug)]
pub struct BatchRun {
    pub summaries: Vec<Summary>,
    pub skipped: Vec<Skipped>,
    pub cross: Vec<BatchFinding>,
    pub checked_at: DateTime<Utc>,
}

/// Checks every return found under `opts.paths` and writes the batch outputs.
pub fn batch(checker: &Checker, opts: &BatchOptions, progress: &dyn Progress) -> Result<BatchRun, RunError> {
    for p in &opts.paths {
        batch_input(p)?;
    }
    let glob = if opts.glob.is_empty() {
        None
    } else {
        let mut builder = globset::GlobSetBuilder::new();
        for g in &opts.glob {
            builder.add(globset::Glob::new(g).map_err(|_| {
                message(format!(
                    "motif --glob « {g} » invalide (crochet ou accolade non refermé ? exemple : '*.xlsx')"
                ))
            })?);
        }
        Some(
            builder
                .build()
                .map_err(|_| message("motifs --glob invalides (exemple : '*.xlsx')"))?,
        )
    };
    let expected = match &opts.expected {
        Some(p) => Some(batch::read_expected(p).map_err(RunError::Message)?),
        None => None,
    };
    let annotes = opts.out.join("annotes");
    create_dir(&opts.out)?;
    if opts.annotated {
        create_dir(&annotes)?;
    }
    let inputs = batch::collect_inputs(&opts.paths, glob.as_ref());
    let names = output::report_names(&inputs.files, &|_| false);
    let checked_at = Utc::now();
    progress.start(inputs.files.len());
    let jobs = opts
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let write_annotated = |i: usize, report: &FileReport| -> Option<String> {
        if !opts.annotated {
            return None;
        }
        let name = names.get(i)?;
        let bytes = report::xlsx::write_report(report, &checker.rules, checked_at).ok()?;
        output::save(&annotes.join(name), &bytes).ok()?;
        Some(format!("annotes/{name}"))
    };
    let summaries = batch::check_all(checker, &inputs.files, jobs, write_annotated, &|| progress.tick());
    let cross = batch::cross_checks(&checker.rules, &summaries, expected.as_deref());
    let json = batch::json_report(&summaries, &inputs.skipped, &cross, &checker.rules.name, checked_at);
    output::save(&opts.out.join("rapport.json"), json_text(&json).as_bytes())?;
    let synthese = report::synthese::write(
        &summaries,
        &inputs.skipped,
        &cross,
        &checker.templates,
        checked_at,
        &checker.rules.name,
        &report::print::Names::new(&opts.paths),
    )
    .map_err(|e| message(format!("synthese.xlsx : {}", crate::messages::xlsx_error(&e))))?;
    output::save(&opts.out.join("synthese.xlsx"), &synthese)?;
    Ok(BatchRun {
        summaries,
        skipped: inputs.skipped,
        cross,
        checked_at,
    })
}

// ---------------------------------------------------------------------------
// Other outputs.

/// `bilan rules --reference OUT.md`: the Markdown reference of rules and templates.
pub fn write_reference(checker: &Checker, path: &Path) -> Result<(), RunError> {
    let text = crate::docs::reference(&checker.rules, &checker.templates);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_dir(dir)?;
    }
    output::save(path, text.as_bytes())?;
    Ok(())
}

/// `bilan template ID -o OUT` / `--all DIR`: writes blank returns, and says
/// which (template id, path).
pub fn write_blanks(
    templates: &TemplateSet,
    id: Option<&str>,
    output_path: Option<&Path>,
    all: Option<&Path>,
    force: bool,
) -> Result<Vec<(String, PathBuf)>, RunError> {
    let jobs: Vec<(&crate::template::Template, PathBuf)> = match (all, id) {
        (Some(dir), _) => {
            create_dir(dir)?;
            templates
                .templates
                .iter()
                .map(|t| (t, dir.join(format!("{}.xlsx", t.id))))
                .collect()
        }
        (None, Some(id)) => {
            let t = templates.get(id).ok_or_else(|| {
                message(format!(
                    "modèle « {id} » inconnu (modèles : {})",
                    templates.ids().join(", ")
                ))
            })?;
            let path = output_path.map_or_else(|| PathBuf::from(format!("{}.xlsx", t.id)), Path::to_path_buf);
            vec![(t, path)]
        }
        (None, None) => {
            return Err(message(
                "indiquez un modèle (bilan template ID -o SORTIE.xlsx) ou --all DOSSIER",
            ))
        }
    };
    if !force {
        if let Some((_, path)) = jobs.iter().find(|(_, p)| p.exists()) {
            return Err(message(format!(
                "« {} » existe déjà : ajoutez --force pour le remplacer",
                path.display()
            )));
        }
    }
    if let Some((_, path)) = jobs.iter().find(|(_, p)| !is_xlsx(p)) {
        return Err(message(format!(
            "un modèle vierge est un classeur Excel : donnez-lui un nom en .xlsx (et non « {} »)",
            path.display()
        )));
    }
    let mut done = Vec::new();
    for (t, path) in jobs {
        let bytes = crate::blank::blank(t).map_err(|e| message(e.to_string()))?;
        output::save(&path, &bytes)?;
        done.push((t.id.clone(), path));
    }
    Ok(done)
}
