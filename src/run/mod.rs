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

mod batch_run;
mod check;
mod diff;
mod outputs;

pub use self::batch_run::*;
pub use self::check::*;
pub use self::diff::*;
pub use self::outputs::*;

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
    /// Start a worker process before loading the rules here, so that both
    /// load at once (commands that check files in workers).
    pub warm_worker: bool,
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

/// The reading limits the options set.
fn reading_limits(setup: &Setup) -> Limits {
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
    limits
}

/// The limits of each worker process the options set.
fn worker_limits(setup: &Setup) -> crate::job::isolate::WorkerLimits {
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
    worker
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
    let limits = reading_limits(setup);
    // A worker started now loads the schemas and rules while this process
    // loads its own (see `Isolation::warm_up`).
    let warm = setup
        .isolation
        .as_ref()
        .filter(|_| setup.warm_worker && setup.campagne_texte.is_none())
        .and_then(|exe| {
            let mut config = worker_config(setup, limits);
            config.campaign = match &setup.campagne {
                Some(path) => Some((output::path_to_bytes(path), std::fs::read_to_string(path).ok()?)),
                None => None,
            };
            let isolation = std::sync::Arc::new(crate::job::isolate::Isolation::with_config(
                exe.clone(),
                worker_limits(setup),
                config,
            ));
            isolation.warm_up();
            Some(isolation)
        });
    let read_dir = |dir: &Path| {
        crate::base::embedded::from_dir(dir)
            .map_err(|e| message(crate::base::messages::io_failure("lecture du dossier", dir, &e)))
    };
    // The built-in schemas are tested: read without checking them again.
    let templates = match &setup.schemas {
        Some(dir) => TemplateSet::load(&read_dir(dir)?).map_err(|e| message(e.to_string()))?,
        None => TemplateSet::builtin(),
    };
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
    checker.limits = limits;
    if let Some(exe) = &setup.isolation {
        let mut config = worker_config(setup, limits);
        config.campaign = checker
            .rules
            .campaign
            .as_ref()
            .map(|c| (output::path_to_bytes(&c.path), c.source.clone()));
        // The warm worker is kept when it was given the campaign as loaded here
        // (the file did not change in between).
        checker.isolation = Some(match warm {
            Some(w) if w.config().campaign == config.campaign => w,
            _ => std::sync::Arc::new(crate::job::isolate::Isolation::with_config(
                exe.clone(),
                worker_limits(setup),
                config,
            )),
        });
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
    exit_code_of(reports.iter().map(FileReport::counts), cross, fail_on)
}

/// [`exit_code`] from each file's counts (what a batch keeps).
pub fn exit_code_of(
    counts: impl IntoIterator<Item = crate::finding::Counts>,
    cross: &[BatchFinding],
    fail_on: Option<Severity>,
) -> u8 {
    let Some(level) = fail_on else { return 0 };
    let files = counts.into_iter().any(|c| c.at_or_above(level) > 0);
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
