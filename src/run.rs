//! The commands as library calls: build a [`Checker`] from options, check files
//! and write their outputs, run a batch. The binary (`main.rs`) parses the
//! command line, calls these, prints what they return and maps the exit code;
//! any other front end (the web desk) can call them the same way.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::batch;
use crate::finding::Severity;
use crate::job::{Checker, Input, Job};
use crate::outcome::{BatchFinding, Skipped, Summary};
use crate::output;
use crate::pipeline::check::FileReport;
use crate::pipeline::read::Limits;
use crate::pipeline::rules::{RuleError, RulePack, Sandbox};
use crate::pipeline::template::TemplateSet;
use crate::report;

/// A failure of the run itself (exit 2), as opposed to findings in a file.
#[derive(Debug)]
pub enum RunError {
    /// A rule does not compile: shown with its source.
    Rule(RuleError),
    /// The campaign file does not load: shown with its source.
    Campaign(crate::pipeline::campaign::CampaignError),
    /// Anything else, in French, ready to print.
    Message(String),
    /// SIGINT or SIGTERM: the run stopped, its temporary files removed.
    Interrupted,
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
    /// Check in worker processes (`exe __worker`); `None`: in this process.
    pub isolation: Option<PathBuf>,
    /// Address space of one worker (bytes).
    pub max_memory: Option<u64>,
    /// Memory of all workers together (bytes).
    pub max_total_memory: Option<u64>,
    /// Seconds per file.
    pub timeout: Option<u64>,
    /// Files checked at once (`batch`).
    pub jobs: Option<usize>,
    /// `--campagne campagne.toml`: applied to the rules (see [`crate::pipeline::campaign`]).
    pub campagne: Option<PathBuf>,
    /// A campaign given as text (an uploaded or stored file: how messages name
    /// it, its text), applied like `campagne`; `attendus` is not read.
    pub campagne_texte: Option<(PathBuf, String)>,
}

/// Upper bound of `--jobs`.
pub const MAX_JOBS: usize = 256;

fn in_range(option: &str, value: u64, (low, high): (u64, u64), unit: &str) -> Result<(), RunError> {
    if (low..=high).contains(&value) {
        return Ok(());
    }
    let fr = |n: u64| crate::base::format::int_fr(n as i128);
    Err(message(format!(
        "{option} {} hors limites : choisissez entre {} et {}{unit}",
        fr(value),
        fr(low),
        fr(high)
    )))
}

/// Refuses option values out of sane ranges (exit 2, the range in the message).
pub fn validate_options(setup: &Setup) -> Result<(), RunError> {
    use crate::job::isolate::{MEMORY_RANGE, TIMEOUT_RANGE};
    if let Some(m) = setup.max_memory {
        in_range("--max-memory", m, MEMORY_RANGE, " octets")?;
    }
    if let Some(m) = setup.max_total_memory {
        in_range("--max-total-memory", m, MEMORY_RANGE, " octets")?;
        let per = setup.max_memory.unwrap_or(crate::job::isolate::DEFAULT_MEMORY);
        if m < per {
            return Err(message(format!(
                "--max-total-memory {} est inférieur à la mémoire d'un processus de contrôle ({} octets, --max-memory)",
                crate::base::format::int_fr(m as i128),
                crate::base::format::int_fr(per as i128)
            )));
        }
    }
    if let Some(t) = setup.timeout {
        in_range("--timeout", t, TIMEOUT_RANGE, " secondes")?;
    }
    if let Some(j) = setup.jobs {
        in_range("--jobs", j as u64, (1, MAX_JOBS as u64), "")?;
    }
    Ok(())
}

/// What a worker process needs to build the same checker.
fn worker_config(setup: &Setup, limits: Limits) -> crate::job::isolate::WorkerConfig {
    crate::job::isolate::WorkerConfig {
        rules: setup.rules.as_deref().map(output::path_to_bytes),
        schemas: setup.schemas.as_deref().map(output::path_to_bytes),
        template: setup.template.clone(),
        limits,
        campaign: None,
    }
}

/// The `bilan __worker` process (see [`crate::job::isolate`]).
pub fn worker_main() -> i32 {
    crate::job::isolate::worker::serve(&|config| {
        let setup = Setup {
            rules: config.rules.as_deref().map(output::path_from_bytes),
            schemas: config.schemas.as_deref().map(output::path_from_bytes),
            template: config.template.clone(),
            ..Setup::default()
        };
        // The parent has loaded the same rules: each compiles on first use.
        let mut checker = load_with(&setup, true).map_err(|e| match e {
            RunError::Rule(r) => r.message,
            RunError::Campaign(c) => c.to_string(),
            RunError::Message(m) => m,
            RunError::Interrupted => "interrompu".into(),
        })?;
        // The parent's campaign, as it read it (same text, same fingerprint).
        if let Some((path, text)) = &config.campaign {
            let campaign =
                crate::pipeline::campaign::Campaign::parse(text, &output::path_from_bytes(path), None, &checker.rules)
                    .map_err(|e| e.to_string())?;
            campaign.apply(&mut checker.rules);
        }
        checker.limits = config.limits;
        Ok(checker)
    })
}

/// Builds the checker: schemas and rules compiled, limits set. The built-in
/// rules (tested) compile when first needed; a `--rules` folder is compiled
/// whole, so that a mistake stops the run before any file is read.
pub fn load(setup: &Setup) -> Result<Checker, RunError> {
    load_with(setup, setup.rules.is_none())
}

fn load_with(setup: &Setup, lazy_rules: bool) -> Result<Checker, RunError> {
    validate_options(setup)?;
    let read_dir = |dir: &Path| {
        crate::base::embedded::from_dir(dir)
            .map_err(|e| message(crate::base::messages::io_failure("lecture du dossier", dir, &e)))
    };
    // The built-in schemas are tested: read without checking them again.
    let templates = match &setup.schemas {
        Some(dir) => TemplateSet::load(&read_dir(dir)?),
        None => TemplateSet::builtin(),
    }
    .map_err(|e| message(e.to_string()))?;
    let rule_files = match &setup.rules {
        Some(dir) => read_dir(dir)?,
        None => crate::base::embedded::rules(),
    };
    let mut rules = if lazy_rules {
        RulePack::load_lazy(&rule_files, Sandbox::default())?
    } else {
        RulePack::load(&rule_files, Sandbox::default())?
    };
    if let Some(path) = &setup.campagne {
        crate::pipeline::campaign::Campaign::load(path, &rules)
            .map_err(RunError::Campaign)?
            .apply(&mut rules);
    } else if let Some((name, text)) = &setup.campagne_texte {
        crate::pipeline::campaign::Campaign::parse(text, name, None, &rules)
            .map_err(RunError::Campaign)?
            .apply(&mut rules);
    }
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
        let mut worker = crate::job::isolate::WorkerLimits::default();
        if let Some(m) = setup.max_memory {
            worker.memory = m;
        }
        if let Some(m) = setup.max_total_memory {
            worker.total_memory = m;
        }
        worker.total_memory = worker.total_memory.max(worker.memory);
        if let Some(t) = setup.timeout {
            worker.timeout = std::time::Duration::from_secs(t.max(1));
        }
        let mut config = worker_config(setup, limits);
        config.campaign = checker
            .rules
            .campaign
            .as_ref()
            .map(|c| (output::path_to_bytes(&c.path), c.source.clone()));
        checker.isolation = Some(std::sync::Arc::new(crate::job::isolate::Isolation::with_config(
            exe.clone(),
            worker,
            config,
        )));
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
    std::fs::create_dir_all(dir).map_err(|e| message(crate::base::messages::io_failure("création du dossier", dir, &e)))
}

/// An output file whose folder does not exist stops the run (exit 2) before
/// anything is checked: a typo in an output path is not a finding, and never
/// changes the verdict printed for a return. (`-`: standard output.)
pub fn output_folder(out: &Path, option: &str) -> Result<(), RunError> {
    if out.as_os_str() == "-" {
        return Ok(());
    }
    let folder = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => return Ok(()),
    };
    if folder.is_dir() {
        return Ok(());
    }
    let what = if folder.exists() {
        "un élément du chemin n'est pas un dossier"
    } else {
        "dossier introuvable"
    };
    Err(message(format!(
        "{option} {} : {what} ({}) ; créez le dossier ou corrigez le chemin (rien n'a été contrôlé)",
        out.display(),
        folder.display()
    )))
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
fn findings_about(cross: &[BatchFinding], i: usize) -> Vec<crate::finding::Finding> {
    cross
        .iter()
        .filter(|b| b.return_index() == Some(i) && b.finding.sheet.is_some())
        .map(|b| b.finding.clone())
        .collect()
}

/// Refuses an output path that is one of the inputs (exit 2).
fn refuse_input(out: &Path, inputs: &[PathBuf], what: &str) -> Result<(), RunError> {
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
    for out in &outputs {
        refuse_input(out, &opts.files, "le classeur annoté")?;
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
    /// Symbolic links to folders that were followed: (link, target).
    pub links: Vec<(PathBuf, PathBuf)>,
    /// Outputs that could not be written, in French (the run's exit status is 2).
    pub failures: Vec<String>,
}

/// Checks every return found under `opts.paths` and writes the batch outputs:
/// one run at a time per output folder (a lock), never into or over an input,
/// every output written aside and renamed into place together at the end.
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
    let campaign = checker.rules.campaign.as_deref();
    let expected = match (&opts.expected, campaign.and_then(|c| c.expected.clone())) {
        (Some(_), Some(_)) => {
            return Err(message(format!(
                "la campagne fixe déjà les retours attendus (attendus = « {} ») : retirez --expected, ou la clé attendus du fichier de campagne",
                campaign.and_then(|c| c.expected_file.as_deref()).unwrap_or("")
            )))
        }
        (Some(p), None) => Some(batch::read_expected(p).map_err(RunError::Message)?),
        (None, from_campaign) => from_campaign,
    };
    if let Some(n) = opts.jobs {
        in_range("--jobs", n as u64, (1, MAX_JOBS as u64), "")?;
    }
    create_dir(&opts.out)?;
    let out = opts.out.canonicalize().map_err(|e| {
        message(format!(
            "dossier de sortie {} inaccessible : {}",
            opts.out.display(),
            output::io_fr(&e)
        ))
    })?;
    for p in &opts.paths {
        if p.canonicalize().is_ok_and(|c| c == out) {
            return Err(message(format!(
                "le dossier de sortie {} est aussi un dossier à contrôler : ses rapports remplaceraient des retours. Choisissez un dossier --out à part (il peut être à l'intérieur : il ne sera pas parcouru)",
                opts.out.display()
            )));
        }
    }
    let _lock = output::Lock::acquire(&opts.out).map_err(RunError::Message)?;
    output::remove_stale(&opts.out);
    let inputs = batch::collect_inputs(&opts.paths, glob.as_ref(), Some(&out));
    // An input named explicitly may be one of the outputs.
    for f in &inputs.files {
        let Ok(c) = f.canonicalize() else { continue };
        if c.starts_with(out.join("annotes")) || c == out.join("rapport.json") || c == out.join("synthese.xlsx") {
            return Err(message(format!(
                "{} est une sortie de bilan dans le dossier --out {} : il serait remplacé. Choisissez un autre dossier --out",
                f.display(),
                opts.out.display()
            )));
        }
    }
    let staging = output::Staging::new(&opts.out)?;
    let annotes = staging.dir.join("annotes");
    if opts.annotated {
        create_dir(&annotes)?;
    }
    let names = output::report_names(&inputs.files, &|_| false);
    let checked_at = Utc::now();
    progress.start(inputs.files.len());
    let jobs = opts
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let job = |i: usize| -> (Job, Option<String>) {
        let name = names.get(i).filter(|_| opts.annotated);
        (
            Job {
                annotated: name.map(|n| output::path_to_bytes(&annotes.join(n))),
                checked_at: checked_at.timestamp(),
                key_rows: true,
                cross: true,
                ..Job::default()
            },
            name.map(|n| format!("annotes/{n}")),
        )
    };
    let mut summaries = batch::check_all(checker, &inputs.files, jobs, &job, &|| progress.tick());
    if crate::job::isolate::interrupted() {
        return Err(RunError::Interrupted);
    }
    let mut failures: Vec<String> = summaries
        .iter()
        .flat_map(|s| {
            s.report
                .findings
                .iter()
                .filter(|f| crate::finding::EngineRule::Out001.is(&f.rule))
                .map(|f| format!("{} : {}", output::neutralise_name(&s.report.path), f.message))
        })
        .collect();
    for (dir, why) in &inputs.unreadable {
        summaries.push(Summary {
            report: FileReport::failed(
                &dir.display().to_string(),
                None,
                crate::finding::Finding::engine(
                    crate::finding::EngineRule::Io001,
                    format!("Dossier illisible ({why}) : les retours qu'il contient n'ont pas été contrôlés."),
                ),
            ),
            key_rows: Vec::new(),
            annotated: None,
            review: None,
            cross: None,
        });
    }
    let cross = batch::cross_checks(&checker.rules, &summaries, expected.as_deref());
    for s in summaries.iter_mut() {
        s.cross = None;
    }
    // The annotated workbook of a return the cross-file rules speak about (the
    // dashboard a list of operations contradicts) shows those findings too.
    if opts.annotated {
        for (i, file) in inputs.files.iter().enumerate() {
            let extra = findings_about(&cross, i);
            let Some(name) = names.get(i).filter(|_| !extra.is_empty()) else {
                continue;
            };
            let job = Job {
                annotated: Some(output::path_to_bytes(&annotes.join(name))),
                checked_at: checked_at.timestamp(),
                extra_findings: extra,
                ..Job::default()
            };
            if let Some(Err(reason)) = checker.process(&Input::Path(file.clone()), &job).annotated {
                failures.push(format!("annotes/{name} : {reason}"));
            }
        }
    }
    let mut json = batch::json_report(&summaries, &inputs.skipped, &cross, &checker.rules.name, checked_at);
    report::json::add_campaign(&mut json, &checker.rules);
    let written_json = output::save(&staging.dir.join("rapport.json"), json_text(&json).as_bytes());
    drop(json);
    let synthese = report::synthese::write(
        &summaries,
        &inputs.skipped,
        &cross,
        &checker.templates,
        checked_at,
        &checker.rules.name,
        &report::print::Names::new(&opts.paths),
        campaign,
    )
    .map_err(|e| format!("synthese.xlsx : {}", crate::base::messages::xlsx_error(&e)))
    .and_then(|bytes| output::save(&staging.dir.join("synthese.xlsx"), &bytes).map_err(|e| e.to_string()));
    match (written_json, synthese) {
        (Ok(()), Ok(())) => {
            let mut set = vec!["rapport.json", "synthese.xlsx"];
            if opts.annotated {
                set.insert(0, "annotes");
            }
            if let Err(e) = staging.commit(&set) {
                failures.push(format!(
                    "{e} : les sorties de ce contrôle sont incomplètes dans {}",
                    opts.out.display()
                ));
            }
        }
        (json, synthese) => {
            failures.extend(json.err().map(|e| e.to_string()));
            failures.extend(synthese.err());
            failures.push(format!(
                "aucune sortie n'a été remplacée dans {} : les sorties du contrôle précédent restent en place",
                opts.out.display()
            ));
        }
    }
    Ok(BatchRun {
        summaries,
        skipped: inputs.skipped,
        cross,
        checked_at,
        links: inputs.links,
        failures,
    })
}

// ---------------------------------------------------------------------------
// diff

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
    rules: &crate::pipeline::rules::RulePack,
    id: Option<&str>,
    output_path: Option<&Path>,
    all: Option<&Path>,
    force: bool,
) -> Result<Vec<(String, PathBuf)>, RunError> {
    let jobs: Vec<(&crate::pipeline::template::Template, PathBuf)> = match (all, id) {
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
            output_folder(&path, "-o")?;
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
        let bytes = crate::blank::blank_checked(t, rules).map_err(|e| message(e.to_string()))?;
        output::save(&path, &bytes)?;
        done.push((t.id.clone(), path));
    }
    Ok(done)
}
