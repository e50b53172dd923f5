//! `bilan`: the command line. Parses arguments, calls the library, prints, and
//! maps the outcome to an exit status (0 clean, 1 findings, 2 the run failed).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use bilan::check::{Checker, FileReport};
use bilan::finding::Severity;
use bilan::read::Limits;
use bilan::report;
use bilan::rules::{RuleError, RulePack, Sandbox};
use bilan::template::TemplateSet;

#[derive(Parser, Debug)]
#[command(
    name = "bilan",
    version,
    about = "Contrôle des retours Excel du SRDE (pôles, PLDE, FEDER, programmes)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Contrôle un ou plusieurs retours et affiche les constats
    Check(CheckArgs),
    /// Affiche les données lues dans un retour (JSON), chaque valeur avec sa cellule
    Extract(ExtractArgs),
    /// Liste les règles : identifiant, gravité, modèle, titre
    Rules(RulesArgs),
    /// Documente une règle (ou un modèle)
    Explain(ExplainArgs),
    /// Contrôle tous les retours d'une campagne : synthèse, rapports annotés, contrôles croisés
    Batch(BatchArgs),
    /// Écrit le modèle vierge d'un retour (listes déroulantes, contrôles de saisie, feuilles protégées)
    Template(TemplateArgs),
}

#[derive(Args, Debug)]
struct TemplateArgs {
    /// Identifiant du modèle (BILAN-POLE, BILAN-PLDE, …)
    #[arg(value_name = "ID", required_unless_present = "all", conflicts_with = "all")]
    id: Option<String>,
    /// Fichier à écrire (défaut : ID.xlsx)
    #[arg(short, long, value_name = "OUT.xlsx", conflicts_with = "all")]
    output: Option<PathBuf>,
    /// Écrit le modèle vierge de chaque modèle connu dans DIR/<ID>.xlsx
    #[arg(long, value_name = "DIR")]
    all: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args, Debug)]
struct BatchArgs {
    /// Fichiers ou dossiers (parcourus récursivement)
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Dossier de sortie : synthese.xlsx, rapport.json, annotes/
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Ne garde, dans les dossiers, que les fichiers correspondant à ce motif (répétable)
    #[arg(long, value_name = "MOTIF")]
    glob: Vec<String>,
    /// Nombre de fichiers contrôlés en parallèle (défaut : tous les cœurs)
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// Liste CSV des retours attendus (modèle ; organisation)
    #[arg(long, value_name = "LISTE.csv")]
    expected: Option<PathBuf>,
    /// N'écrit pas les rapports annotés (annotes/)
    #[arg(long)]
    no_annotated: bool,
    /// Gravité à partir de laquelle le code de sortie vaut 1
    #[arg(long, value_enum, default_value = "error")]
    fail_on: FailOn,
    /// Sans barre de progression ni détail
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    common: Common,
}

#[derive(Args, Debug, Clone)]
struct Common {
    /// Règles à utiliser à la place des règles intégrées
    #[arg(long, value_name = "DIR", global = true)]
    rules: Option<PathBuf>,
    /// Schémas à utiliser à la place des schémas intégrés
    #[arg(long, value_name = "DIR", global = true)]
    schemas: Option<PathBuf>,
    /// Force le modèle au lieu de le détecter
    #[arg(long, value_name = "ID", global = true)]
    template: Option<String>,
    /// Taille maximale d'un fichier (octets)
    #[arg(long, value_name = "OCTETS", global = true)]
    max_file_size: Option<u64>,
    /// Nombre maximal de cellules non vides par classeur
    #[arg(long, value_name = "N", global = true)]
    max_cells: Option<usize>,
    /// Taille décompressée maximale d'une partie chargée d'un bloc (chaînes partagées, styles), en octets
    #[arg(long, value_name = "OCTETS", global = true)]
    max_part_size: Option<u64>,
    /// Lit les classeurs dans ce processus, sans processus lecteur isolé
    #[arg(long, global = true)]
    no_isolation: bool,
    /// Mémoire maximale d'un processus lecteur (octets)
    #[arg(long, value_name = "OCTETS", global = true)]
    max_memory: Option<u64>,
    /// Temps maximal de lecture d'un fichier (secondes)
    #[arg(long, value_name = "SECONDES", global = true)]
    timeout: Option<u64>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Short,
    Json,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum FailOn {
    Error,
    Warning,
    Info,
    Never,
}

#[derive(Args, Debug)]
struct CheckArgs {
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    common: Common,
    /// Format de sortie sur le terminal
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Gravité à partir de laquelle le code de sortie vaut 1
    #[arg(long, value_enum, default_value = "error")]
    fail_on: FailOn,
    /// Écrit le rapport JSON dans ce fichier (`-` : sortie standard)
    #[arg(long, value_name = "OUT.json")]
    json: Option<PathBuf>,
    /// Écrit le classeur annoté du fichier contrôlé (un seul FILE)
    #[arg(long, value_name = "OUT.xlsx", conflicts_with = "report_dir")]
    report: Option<PathBuf>,
    /// Écrit un classeur annoté par fichier dans ce dossier : DIR/<nom>.controle.xlsx
    #[arg(long, value_name = "DIR")]
    report_dir: Option<PathBuf>,
    /// N'affiche que les lignes de synthèse
    #[arg(long)]
    quiet: bool,
    /// Sans couleurs (aussi : variable NO_COLOR)
    #[arg(long)]
    no_color: bool,
}

#[derive(Args, Debug)]
struct ExtractArgs {
    #[arg(value_name = "FILE")]
    file: PathBuf,
    #[command(flatten)]
    common: Common,
}

#[derive(Args, Debug)]
struct RulesArgs {
    #[command(flatten)]
    common: Common,
    /// Format de la liste
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Régénère la référence Markdown des règles et des modèles (défaut : docs/REGLES.md ; `-` : sortie standard)
    #[arg(long, value_name = "OUT.md", num_args = 0..=1, default_missing_value = bilan::docs::REFERENCE_PATH)]
    reference: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct ExplainArgs {
    /// Identifiant d'une règle (POLE-FIN-001) ou d'un modèle (BILAN-POLE)
    id: String,
    #[command(flatten)]
    common: Common,
}

/// A failure of the run itself (exit 2).
enum Fatal {
    Rule(RuleError),
    Message(String),
}

impl From<RuleError> for Fatal {
    fn from(e: RuleError) -> Self {
        Fatal::Rule(e)
    }
}

fn main() -> ExitCode {
    // A worker process that reads untrusted workbooks for its parent (see bilan::isolate).
    if std::env::args_os().nth(1).is_some_and(|a| a == "__worker") {
        return ExitCode::from(bilan::isolate::worker_main() as u8);
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(Fatal::Message(m)) => {
            eprintln!("bilan : {m}");
            ExitCode::from(2)
        }
        Err(Fatal::Rule(e)) => {
            eprintln!("{}", render_rule_error(&e));
            ExitCode::from(2)
        }
    }
}

fn render_rule_error(e: &RuleError) -> String {
    use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource};
    let offset = line_col_offset(&e.source_text, e.line, e.column);
    let diag = MietteDiagnostic::new(format!("règle invalide : {}", e.message))
        .with_code("bilan::rule-compile")
        .with_label(LabeledSpan::at(offset..offset + 1, "ici"));
    let report = miette::Report::new(diag)
        .with_source_code(NamedSource::new(e.path.display().to_string(), e.source_text.clone()));
    let mut out = format!("{}:{}:{}: erreur : {}\n", e.path.display(), e.line, e.column, e.message);
    let theme = if color_enabled(false) {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let _ = GraphicalReportHandler::new_themed(theme)
        .with_links(false)
        .render_report(&mut out, report.as_ref());
    out
}

fn line_col_offset(text: &str, line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            let col = l
                .char_indices()
                .nth(column.saturating_sub(1))
                .map(|(b, _)| b)
                .unwrap_or(0);
            return (offset + col).min(text.len().saturating_sub(1));
        }
        offset += l.len();
    }
    0
}

fn color_enabled(no_color: bool) -> bool {
    !no_color && std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
}

fn load(common: &Common) -> Result<Checker, Fatal> {
    let schema_files = match &common.schemas {
        Some(dir) => bilan::embedded::from_dir(dir)
            .map_err(|e| Fatal::Message(format!("lecture de {} impossible : {e}", dir.display())))?,
        None => bilan::embedded::schemas(),
    };
    let templates = TemplateSet::load(&schema_files).map_err(|e| Fatal::Message(e.to_string()))?;
    let rule_files = match &common.rules {
        Some(dir) => bilan::embedded::from_dir(dir)
            .map_err(|e| Fatal::Message(format!("lecture de {} impossible : {e}", dir.display())))?,
        None => bilan::embedded::rules(),
    };
    let rules = RulePack::load(&rule_files, Sandbox::default())?;
    let mut checker = Checker::new(templates, rules);
    let mut limits = Limits::default();
    if let Some(n) = common.max_file_size {
        limits.max_file_size = n;
    }
    if let Some(n) = common.max_cells {
        limits.max_cells = n;
    }
    if let Some(n) = common.max_part_size {
        limits.max_loaded_part = n;
    }
    checker.limits = limits;
    if !common.no_isolation {
        if let Ok(exe) = std::env::current_exe() {
            let mut worker = bilan::isolate::WorkerLimits::default();
            if let Some(m) = common.max_memory {
                worker.memory = m;
            }
            if let Some(t) = common.timeout {
                worker.timeout = std::time::Duration::from_secs(t.max(1));
            }
            checker.isolation = Some(std::sync::Arc::new(bilan::isolate::Isolation::new(exe, worker)));
        }
    }
    if let Some(t) = &common.template {
        if checker.templates.get(t).is_none() {
            return Err(Fatal::Message(format!(
                "modèle « {t} » inconnu (modèles : {})",
                checker.templates.ids().join(", ")
            )));
        }
        checker.forced_template = Some(t.clone());
    }
    Ok(checker)
}

fn run(cli: Cli) -> Result<u8, Fatal> {
    match cli.command {
        Command::Check(args) => check(args),
        Command::Extract(args) => extract(args),
        Command::Rules(args) => {
            let checker = load(&args.common)?;
            if let Some(path) = &args.reference {
                let text = bilan::docs::reference(&checker.rules, &checker.templates);
                if path == Path::new("-") {
                    print_out(&text)?;
                } else {
                    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                        std::fs::create_dir_all(dir)
                            .map_err(|e| Fatal::Message(format!("création de {} impossible : {e}", dir.display())))?;
                    }
                    write_atomic(path, text.as_bytes())?;
                    eprintln!("{} écrit", path.display());
                }
                return Ok(0);
            }
            let rows = bilan::docs::rule_rows(&checker.rules, args.common.template.as_deref());
            let out = match args.format {
                Format::Json => serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n",
                _ => bilan::docs::rules_table(&rows),
            };
            print_out(&out)?;
            Ok(0)
        }
        Command::Batch(args) => batch(args),
        Command::Template(args) => template(args),
        Command::Explain(args) => {
            let checker = load(&Common {
                template: None,
                ..args.common.clone()
            })?;
            if let Some(text) = bilan::docs::explain(&checker.rules, &checker.templates, &args.id) {
                print_out(&text)?;
                return Ok(0);
            }
            Err(Fatal::Message(format!(
                "« {} » n'est ni une règle ni un modèle connu (voir `bilan rules`)",
                args.id
            )))
        }
    }
}

fn print_out(s: &str) -> Result<(), Fatal> {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        // A closed pipe (`| head`) is not a failure of the run.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Fatal::Message(format!("écriture impossible : {e}"))),
    }
}

fn now_utc() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Writes `contents` to `path` atomically (temporary file, then rename).
fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), Fatal> {
    report::xlsx::save(path, contents).map_err(|e| Fatal::Message(e.to_string()))
}

fn check(args: CheckArgs) -> Result<u8, Fatal> {
    let checker = load(&args.common)?;
    let workbooks_out = annotated_paths(&args)?;
    let reports: Vec<FileReport> = args.files.iter().map(|f| checker.check_path(f)).collect();
    let checked_at = now_utc();
    for (r, out) in reports.iter().zip(&workbooks_out) {
        let bytes =
            report::xlsx::write_report(r, &checker.rules, &checked_at).map_err(|e| Fatal::Message(e.to_string()))?;
        report::xlsx::save(out, &bytes).map_err(|e| Fatal::Message(e.to_string()))?;
        if !args.quiet {
            eprintln!("Classeur annoté : {}", out.display());
        }
    }
    let json_to_stdout = args.json.as_deref() == Some(Path::new("-"));
    if let Some(path) = &args.json {
        let value = report::json::report(&reports, &checker.rules.name, &now_utc(), Vec::new());
        let text = serde_json::to_string_pretty(&value).unwrap_or_default() + "\n";
        if json_to_stdout {
            print_out(&text)?;
        } else {
            write_atomic(path, text.as_bytes())?;
        }
    }
    if !json_to_stdout {
        let style = report::human::Style {
            color: color_enabled(args.no_color),
            width: 100,
            verbose: false,
        };
        let mut out = String::new();
        match args.format {
            Format::Json => {
                let value = report::json::report(&reports, &checker.rules.name, &now_utc(), Vec::new());
                out = serde_json::to_string_pretty(&value).unwrap_or_default() + "\n";
            }
            Format::Short => {
                for r in &reports {
                    if !args.quiet {
                        out.push_str(&report::short::render(r));
                    }
                    out.push_str(&report::summary_line(r));
                    out.push('\n');
                }
            }
            Format::Human => {
                for r in &reports {
                    if args.quiet {
                        out.push_str(&report::summary_line(r));
                        out.push('\n');
                    } else {
                        out.push_str(&report::human::render(r, style));
                    }
                }
                if reports.len() > 1 {
                    out.push_str(&report::total_line(&reports));
                    out.push('\n');
                }
            }
        }
        print_out(&out)?;
    }
    Ok(exit_code(&reports, args.fail_on))
}

/// Where `--report` / `--report-dir` write each file's annotated workbook (one
/// path per FILE, or none). Refuses an output that is one of the inputs: a
/// submitted file is never overwritten.
fn annotated_paths(args: &CheckArgs) -> Result<Vec<PathBuf>, Fatal> {
    let outputs = match (&args.report, &args.report_dir) {
        (Some(out), _) => {
            if args.files.len() != 1 {
                return Err(Fatal::Message(
                    "--report écrit le classeur annoté d'un seul fichier ; pour plusieurs, utilisez --report-dir DIR"
                        .into(),
                ));
            }
            vec![out.clone()]
        }
        (None, Some(dir)) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| Fatal::Message(format!("création du dossier {} impossible : {e}", dir.display())))?;
            let mut taken = std::collections::HashSet::new();
            let inputs: Vec<Option<PathBuf>> = args.files.iter().map(|f| f.canonicalize().ok()).collect();
            args.files
                .iter()
                .map(|f| {
                    let name = report::xlsx::report_file_name(f);
                    let stem = name.trim_end_matches(".controle.xlsx").to_string();
                    let mut n = 1;
                    loop {
                        let candidate = if n == 1 {
                            name.clone()
                        } else {
                            format!("{stem} ({n}).controle.xlsx")
                        };
                        let path = dir.join(&candidate);
                        if !inputs.iter().flatten().any(|i| same_file(i, &path))
                            && taken.insert(candidate.to_lowercase())
                        {
                            break path;
                        }
                        n += 1;
                    }
                })
                .collect()
        }
        (None, None) => return Ok(Vec::new()),
    };
    for (out, input) in outputs.iter().zip(&args.files) {
        if input.canonicalize().is_ok_and(|i| same_file(&i, out)) {
            return Err(Fatal::Message(format!(
                "le classeur annoté {} remplacerait le fichier contrôlé : choisissez un autre nom",
                out.display()
            )));
        }
    }
    Ok(outputs)
}

/// Whether `out` names the (canonical) file `input`, through links or `..`.
fn same_file(input: &Path, out: &Path) -> bool {
    #[cfg(unix)]
    {
        // A hard link is the same file under another name.
        use std::os::unix::fs::MetadataExt;
        if let (Ok(a), Ok(b)) = (std::fs::metadata(input), std::fs::metadata(out)) {
            return a.dev() == b.dev() && a.ino() == b.ino();
        }
    }
    let resolved = match out.canonicalize() {
        Ok(p) => p,
        Err(_) => {
            let parent = out
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            match (parent.canonicalize(), out.file_name()) {
                (Ok(dir), Some(name)) => dir.join(name),
                _ => return false,
            }
        }
    };
    resolved == input
}

fn exit_code(reports: &[FileReport], fail_on: FailOn) -> u8 {
    let level = match fail_on {
        FailOn::Never => return 0,
        FailOn::Error => Severity::Error,
        FailOn::Warning => Severity::Warning,
        FailOn::Info => Severity::Info,
    };
    u8::from(reports.iter().any(|r| r.counts().at_or_above(level) > 0))
}

fn extract(args: ExtractArgs) -> Result<u8, Fatal> {
    let checker = load(&args.common)?;
    let r = checker.check_path(&args.file);
    let value = serde_json::json!({
        "path": r.path,
        "template": r.template,
        "data": r.extraction.as_ref().map(|e| e.data.clone()),
        "cells": r.extraction.as_ref().map(|e| serde_json::to_value(&e.origins).unwrap_or_default()),
        "findings": r.findings.iter().map(|f| report::json::finding_json(f, &r.path)).collect::<Vec<_>>(),
    });
    print_out(&(serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"))?;
    Ok(u8::from(r.extraction.is_none()))
}

fn batch(args: BatchArgs) -> Result<u8, Fatal> {
    use bilan::batch;
    let checker = load(&args.common)?;
    let glob = if args.glob.is_empty() {
        None
    } else {
        let mut builder = globset::GlobSetBuilder::new();
        for g in &args.glob {
            builder.add(
                globset::Glob::new(g).map_err(|e| Fatal::Message(format!("motif --glob « {g} » invalide : {e}")))?,
            );
        }
        Some(
            builder
                .build()
                .map_err(|e| Fatal::Message(format!("motifs --glob invalides : {e}")))?,
        )
    };
    let expected = match &args.expected {
        Some(p) => Some(batch::read_expected(p).map_err(Fatal::Message)?),
        None => None,
    };
    let annotes = args.out.join("annotes");
    let mkdir = |d: &Path| {
        std::fs::create_dir_all(d).map_err(|e| Fatal::Message(format!("création de {} impossible : {e}", d.display())))
    };
    mkdir(&args.out)?;
    if !args.no_annotated {
        mkdir(&annotes)?;
    }
    let inputs = batch::collect_inputs(&args.paths, glob.as_ref());
    let names = batch::report_names(&inputs.files);
    let checked_at = now_utc();
    let bar = if !args.quiet && std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(inputs.files.len() as u64);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{spinner} {pos}/{len} retours [{bar:30}] {per_sec} · reste {eta}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        Some(bar)
    } else {
        None
    };
    let tick = || {
        if let Some(b) = &bar {
            b.inc(1);
        }
    };
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let write_annotated = |i: usize, report: &FileReport| -> Option<String> {
        if args.no_annotated {
            return None;
        }
        let name = names.get(i)?;
        let bytes = annotated_report(&checker, report, &checked_at)?;
        write_atomic(&annotes.join(name), &bytes).ok()?;
        Some(format!("annotes/{name}"))
    };
    let summaries = batch::check_all(&checker, &inputs.files, jobs, write_annotated, &tick);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let cross = batch::cross_checks(&checker.rules, &summaries, expected.as_deref());
    let report = batch::json_report(&summaries, &inputs.skipped, &cross, &checker.rules.name, &checked_at);
    let json_text = serde_json::to_string_pretty(&report).unwrap_or_default() + "\n";
    write_atomic(&args.out.join("rapport.json"), json_text.as_bytes())?;
    let synthese = bilan::report::synthese::write(
        &summaries,
        &inputs.skipped,
        &cross,
        &checker.templates,
        &checked_at,
        &checker.rules.name,
    )
    .map_err(|e| Fatal::Message(format!("synthese.xlsx : {e}")))?;
    write_atomic(&args.out.join("synthese.xlsx"), &synthese)?;
    let reports: Vec<FileReport> = summaries.into_iter().map(|s| s.report).collect();
    if !args.quiet {
        let mut out = String::new();
        for r in &reports {
            out.push_str(&report::summary_line(r));
            out.push('\n');
        }
        for s in &inputs.skipped {
            out.push_str(&format!("{} : ignoré — {}\n", s.path.display(), s.reason));
        }
        for b in &cross {
            let place = b.file.as_deref().map(|f| format!("{f} : ")).unwrap_or_default();
            out.push_str(&format!(
                "{place}{}[{}] {}\n",
                b.finding.severity, b.finding.rule, b.finding.message
            ));
        }
        out.push_str(&report::total_line(&reports));
        out.push_str(&format!("\nSorties : {}\n", args.out.display()));
        print_out(&out)?;
    }
    let batch_fails = match args.fail_on {
        FailOn::Never => false,
        FailOn::Error => cross.iter().any(|b| b.finding.severity >= Severity::Error),
        FailOn::Warning => cross.iter().any(|b| b.finding.severity >= Severity::Warning),
        FailOn::Info => !cross.is_empty(),
    };
    Ok(exit_code(&reports, args.fail_on).max(u8::from(batch_fails)))
}

/// The annotated workbook of one return (issue 3's report), if it can be built.
fn annotated_report(checker: &Checker, report: &FileReport, checked_at: &str) -> Option<Vec<u8>> {
    report::xlsx::write_report(report, &checker.rules, checked_at).ok()
}

/// `bilan template ID -o OUT.xlsx` / `bilan template --all DIR`: blank returns
/// generated from the schemas (see `bilan::blank`).
fn template(args: TemplateArgs) -> Result<u8, Fatal> {
    let checker = load(&Common {
        template: None,
        ..args.common.clone()
    })?;
    let set = &checker.templates;
    let jobs: Vec<(&bilan::template::Template, PathBuf)> = match (&args.all, &args.id) {
        (Some(dir), _) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| Fatal::Message(format!("création de {} impossible : {e}", dir.display())))?;
            set.templates
                .iter()
                .map(|t| (t, dir.join(format!("{}.xlsx", t.id))))
                .collect()
        }
        (None, Some(id)) => {
            let t = set.get(id).ok_or_else(|| {
                Fatal::Message(format!("modèle « {id} » inconnu (modèles : {})", set.ids().join(", ")))
            })?;
            vec![(
                t,
                args.output
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(format!("{}.xlsx", t.id))),
            )]
        }
        (None, None) => {
            return Err(Fatal::Message(
                "indiquez un modèle (bilan template ID -o OUT.xlsx) ou --all DIR".into(),
            ))
        }
    };
    for (t, path) in jobs {
        let bytes = bilan::blank::blank(t).map_err(|e| Fatal::Message(e.to_string()))?;
        write_atomic(&path, &bytes)?;
        eprintln!("{} : {}", t.id, path.display());
    }
    Ok(0)
}
