//! `bilan`: the command line. Parses arguments, calls the library, prints, and
//! maps the outcome to an exit status (0 clean, 1 findings, 2 the run failed).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use bilan::finding::Severity;
use bilan::report;
use bilan::rules::RuleError;
use bilan::run::{self, RunError};

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

impl FailOn {
    fn level(self) -> Option<Severity> {
        match self {
            FailOn::Never => None,
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Info => Some(Severity::Info),
        }
    }
}

impl Common {
    fn setup(&self) -> run::Setup {
        run::Setup {
            rules: self.rules.clone(),
            schemas: self.schemas.clone(),
            template: self.template.clone(),
            max_file_size: self.max_file_size,
            max_cells: self.max_cells,
            max_part_size: self.max_part_size,
            isolation: if self.no_isolation {
                None
            } else {
                std::env::current_exe().ok()
            },
            max_memory: self.max_memory,
            timeout: self.timeout,
        }
    }
}

fn main() -> ExitCode {
    // A worker process that reads untrusted workbooks for its parent (see bilan::isolate).
    if std::env::args_os().nth(1).is_some_and(|a| a == "__worker") {
        return ExitCode::from(bilan::isolate::worker_main() as u8);
    }
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(RunError::Message(m)) => {
            eprintln!("bilan : {m}");
            ExitCode::from(2)
        }
        Err(RunError::Rule(e)) => {
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

fn dispatch(cli: Cli) -> Result<u8, RunError> {
    match cli.command {
        Command::Check(args) => check(args),
        Command::Extract(args) => {
            let checker = run::load(&args.common.setup())?;
            let r = checker.check_path(&args.file);
            print_out(&run::json_text(&report::json::extraction(&r)))?;
            Ok(u8::from(r.extraction.is_none()))
        }
        Command::Rules(args) => {
            let checker = run::load(&args.common.setup())?;
            if let Some(path) = &args.reference {
                if path == Path::new("-") {
                    print_out(&bilan::docs::reference(&checker.rules, &checker.templates))?;
                } else {
                    run::write_reference(&checker, path)?;
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
        Command::Template(args) => {
            let checker = run::load(&run::Setup {
                template: None,
                ..args.common.setup()
            })?;
            let written = run::write_blanks(
                &checker.templates,
                args.id.as_deref(),
                args.output.as_deref(),
                args.all.as_deref(),
            )?;
            for (id, path) in written {
                eprintln!("{id} : {}", path.display());
            }
            Ok(0)
        }
        Command::Explain(args) => {
            let checker = run::load(&run::Setup {
                template: None,
                ..args.common.setup()
            })?;
            if let Some(text) = bilan::docs::explain(&checker.rules, &checker.templates, &args.id) {
                print_out(&text)?;
                return Ok(0);
            }
            Err(RunError::Message(format!(
                "« {} » n'est ni une règle ni un modèle connu (voir `bilan rules`)",
                args.id
            )))
        }
    }
}

fn print_out(s: &str) -> Result<(), RunError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        // A closed pipe (`| head`) is not a failure of the run.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(RunError::Message(format!("écriture impossible : {e}"))),
    }
}

fn check(args: CheckArgs) -> Result<u8, RunError> {
    let checker = run::load(&args.common.setup())?;
    let json_to_stdout = args.json.as_deref() == Some(Path::new("-"));
    let done = run::check(
        &checker,
        &run::CheckOptions {
            files: args.files.clone(),
            report: args.report.clone(),
            report_dir: args.report_dir.clone(),
            json: args.json.clone().filter(|_| !json_to_stdout),
        },
    )?;
    let reports = &done.reports;
    if !args.quiet {
        for out in &done.annotated {
            eprintln!("Classeur annoté : {}", out.display());
        }
    }
    let json = || {
        run::json_text(&report::json::report(
            reports,
            &checker.rules.name,
            chrono::Utc::now(),
            Vec::new(),
        ))
    };
    if json_to_stdout {
        print_out(&json())?;
    } else {
        let style = report::human::Style {
            color: color_enabled(args.no_color),
            width: 100,
            verbose: false,
        };
        let mut out = String::new();
        match args.format {
            Format::Json => out = json(),
            Format::Short => {
                for r in reports {
                    if !args.quiet {
                        out.push_str(&report::short::render(r));
                    }
                    out.push_str(&report::summary_line(r));
                    out.push('\n');
                }
            }
            Format::Human => {
                for r in reports {
                    if args.quiet {
                        out.push_str(&report::summary_line(r));
                        out.push('\n');
                    } else {
                        out.push_str(&report::human::render(r, style));
                    }
                }
                if reports.len() > 1 {
                    out.push_str(&report::total_line(reports));
                    out.push('\n');
                }
            }
        }
        print_out(&out)?;
    }
    Ok(run::exit_code(reports, &[], args.fail_on.level()))
}

/// A progress bar on the terminal.
struct Bar(indicatif::ProgressBar);

impl run::Progress for Bar {
    fn start(&self, total: usize) {
        self.0.set_length(total as u64);
    }
    fn tick(&self) {
        self.0.inc(1);
    }
}

fn batch(args: BatchArgs) -> Result<u8, RunError> {
    let checker = run::load(&args.common.setup())?;
    let bar = (!args.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{spinner} {pos}/{len} retours [{bar:30}] {per_sec} · reste {eta}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        Bar(bar)
    });
    let opts = run::BatchOptions {
        paths: args.paths.clone(),
        out: args.out.clone(),
        glob: args.glob.clone(),
        jobs: args.jobs,
        expected: args.expected.clone(),
        annotated: !args.no_annotated,
    };
    let done = match &bar {
        Some(b) => run::batch(&checker, &opts, b),
        None => run::batch(&checker, &opts, &()),
    };
    if let Some(b) = &bar {
        b.0.finish_and_clear();
    }
    let done = done?;
    let reports: Vec<bilan::check::FileReport> = done.summaries.into_iter().map(|s| s.report).collect();
    if !args.quiet {
        let mut out = String::new();
        for r in &reports {
            out.push_str(&report::summary_line(r));
            out.push('\n');
        }
        for s in &done.skipped {
            out.push_str(&format!("{} : ignoré — {}\n", s.path.display(), s.reason));
        }
        for b in &done.cross {
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
    Ok(run::exit_code(&reports, &done.cross, args.fail_on.level()))
}
