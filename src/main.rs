//! `bilan`: the command line. Parses arguments, calls the library, prints, and
//! maps the outcome to an exit status (0 clean, 1 findings, 2 the run failed).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use bilan::clap_fr;

use bilan::finding::Severity;
use bilan::report;
use bilan::rules::RuleError;
use bilan::run::{self, RunError};

#[derive(Parser, Debug)]
#[command(
    name = "bilan",
    version,
    about = "Contrôle des retours Excel du SRDE (pôles, PLDE, FEDER, programmes)",
    arg_required_else_help = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Contrôle un ou plusieurs retours et affiche les constats
    Check(CheckArgs),
    /// Contrôle tous les retours d'une campagne : synthèse, rapports annotés, contrôles croisés
    Batch(BatchArgs),
    /// Écrit le modèle vierge d'un retour (listes déroulantes, contrôles de saisie, feuilles protégées)
    Template(TemplateArgs),
    /// Liste les règles : identifiant, gravité, modèle, titre
    Rules(RulesArgs),
    /// Documente une règle (ou un modèle)
    Explain(ExplainArgs),
    /// Affiche les données lues dans un retour (JSON), chaque valeur avec sa cellule
    Extract(ExtractArgs),
    /// Écrit le script de complétion de bilan pour un shell
    Completions(CompletionsArgs),
    /// Écrit la page de manuel de bilan (format man)
    Man(ManArgs),
    /// Compare deux versions d'un même retour : constats corrigés, nouveaux, toujours présents, justifiés ; valeurs modifiées
    Diff(DiffArgs),
    /// Ouvre le guichet de campagne dans le navigateur (autocontrôle, dépôts, tableau de bord)
    Serve(ServeArgs),
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// Adresse d'écoute
    #[arg(long, value_name = "ADRESSE:PORT", default_value = "127.0.0.1:8080")]
    bind: std::net::SocketAddr,
    /// Dossier des données (base SQLite, fichiers reçus, classeurs annotés)
    #[arg(long, value_name = "DIR", default_value = "bilan-data")]
    data: PathBuf,
    /// Fichier de campagne à créer au démarrage (s'il n'existe pas déjà)
    #[arg(long, value_name = "campagne.toml")]
    campagne: Option<PathBuf>,
    /// Désactive la page d'autocontrôle ouverte à tous
    #[arg(long)]
    sans_autocontrole: bool,
    /// Taille maximale d'un fichier reçu (octets)
    #[arg(long, value_name = "OCTETS", default_value_t = 50_000_000)]
    max_file_size: u64,
    /// Fichiers contrôlés en même temps (un processus lecteur chacun ; défaut : nombre de cœurs)
    #[arg(long, value_name = "N")]
    lecteurs: Option<usize>,
    /// Fichiers en attente d'un lecteur avant la réponse « serveur occupé »
    #[arg(long, value_name = "N", default_value_t = 32)]
    file_attente: usize,
    /// Adresse publique du guichet, pour les liens affichés (https://bilan.exemple.fr) ;
    /// `https://` : cookies `__Host-` et `Secure`
    #[arg(long, value_name = "URL")]
    adresse_publique: Option<String>,
    /// Adresse du mandataire inverse (reverse proxy) dont l'en-tête X-Forwarded-For
    /// donne l'adresse du client (journal, limites par adresse)
    #[arg(long, value_name = "IP")]
    proxy: Option<std::net::IpAddr>,
}

#[derive(Args, Debug)]
struct DiffArgs {
    /// La version précédente du retour
    #[arg(value_name = "ANCIEN")]
    old: PathBuf,
    /// La nouvelle version du même retour
    #[arg(value_name = "NOUVEAU")]
    new: PathBuf,
    /// Écrit la comparaison en JSON dans ce fichier (`-` : sortie standard) ; schéma : schemas/diff.schema.json
    #[arg(long, value_name = "SORTIE.json")]
    json: Option<PathBuf>,
    /// Écrit le classeur annoté de la nouvelle version, avec le suivi depuis la précédente
    #[arg(long, value_name = "SORTIE.xlsx")]
    report: Option<PathBuf>,
    /// Gravité à partir de laquelle le code de sortie vaut 1 (constats de la nouvelle version)
    #[arg(long, value_enum, value_name = "GRAVITÉ", default_value = "error")]
    fail_on: FailOn,
    #[command(flatten)]
    common: Common,
}

#[derive(Args, Debug)]
struct TemplateArgs {
    /// Identifiant du modèle (BILAN-POLE, BILAN-PLDE, TDB-FEDER-AXE1, BILAN-PROGRAMME, REPARTITION-POLES)
    #[arg(value_name = "ID", required_unless_present = "all", conflicts_with = "all")]
    id: Option<String>,
    /// Classeur à écrire (défaut : ID.xlsx dans le dossier courant)
    #[arg(short, long, value_name = "SORTIE.xlsx", conflicts_with = "all")]
    output: Option<PathBuf>,
    /// Écrit le modèle vierge de chaque modèle connu dans DOSSIER/<ID>.xlsx
    #[arg(long, value_name = "DOSSIER")]
    all: Option<PathBuf>,
    /// Remplace un classeur qui existe déjà
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    packs: Packs,
}

#[derive(Args, Debug)]
struct BatchArgs {
    /// Fichiers ou dossiers à contrôler (les dossiers sont parcourus avec leurs sous-dossiers)
    #[arg(required = true, value_name = "CHEMIN")]
    paths: Vec<PathBuf>,
    /// Dossier de sortie : synthese.xlsx, rapport.json, annotes/
    #[arg(long, value_name = "DOSSIER")]
    out: PathBuf,
    /// Ne garde, dans les dossiers, que les fichiers correspondant à ce motif (répétable, ex. '*.xlsx')
    #[arg(long, value_name = "MOTIF")]
    glob: Vec<String>,
    /// Nombre de fichiers contrôlés en parallèle (défaut : tous les cœurs)
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// Liste CSV des retours attendus (modèle;organisation)
    #[arg(long, value_name = "LISTE.csv")]
    expected: Option<PathBuf>,
    /// N'écrit pas les rapports annotés (annotes/)
    #[arg(long)]
    no_annotated: bool,
    /// Gravité à partir de laquelle le code de sortie vaut 1
    #[arg(long, value_enum, value_name = "GRAVITÉ", default_value = "error")]
    fail_on: FailOn,
    /// Sans barre de progression ni détail
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    common: Common,
}

/// Rule packs and schemas: every command that loads them.
#[derive(Args, Debug, Clone)]
struct Packs {
    /// Dossier de règles à utiliser à la place des règles intégrées
    #[arg(long, value_name = "DOSSIER")]
    rules: Option<PathBuf>,
    /// Dossier de schémas à utiliser à la place des schémas intégrés
    #[arg(long, value_name = "DOSSIER")]
    schemas: Option<PathBuf>,
    /// Fichier de campagne : exercice, date d'arrêté, retours attendus, règles désactivées ou modifiées
    #[arg(long, value_name = "CAMPAGNE.toml")]
    campagne: Option<PathBuf>,
}

/// What the commands that read returns share: packs, template, reading limits.
#[derive(Args, Debug, Clone)]
struct Common {
    #[command(flatten)]
    packs: Packs,
    /// Impose ce modèle au lieu de le reconnaître
    #[arg(long, value_name = "ID")]
    template: Option<String>,
    /// Taille maximale d'un fichier, en octets (défaut : 50 Mo)
    #[arg(long, value_name = "OCTETS")]
    max_file_size: Option<u64>,
    /// Nombre maximal de cellules non vides par classeur (défaut : 5 millions)
    #[arg(long, value_name = "N")]
    max_cells: Option<usize>,
    /// Taille décompressée maximale d'une partie chargée d'un bloc (chaînes partagées, styles), en octets
    #[arg(long, value_name = "OCTETS")]
    max_part_size: Option<u64>,
    /// Lit les classeurs dans ce processus, sans processus lecteur isolé
    #[arg(long)]
    no_isolation: bool,
    /// Mémoire maximale d'un processus de contrôle isolé, en octets (défaut : 536 870 912, soit 512 Mo)
    #[arg(long, value_name = "OCTETS")]
    max_memory: Option<u64>,
    /// Mémoire maximale de tous les processus de contrôle ensemble, en octets (défaut : la moitié de la mémoire, 8 Go au plus)
    #[arg(long, value_name = "OCTETS")]
    max_total_memory: Option<u64>,
    /// Temps maximal du contrôle d'un fichier, en secondes (défaut : 60)
    #[arg(long, value_name = "SECONDES")]
    timeout: Option<u64>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// lisible, avec un extrait de la feuille
    Human,
    /// une ligne par constat
    Short,
    /// le rapport JSON
    Json,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum FailOn {
    /// erreur
    Error,
    /// avertissement ou erreur
    Warning,
    /// tout constat
    Info,
    /// jamais
    Never,
}

#[derive(Args, Debug)]
struct CheckArgs {
    /// Retours à contrôler (.xlsx, .xlsm, .xlsb, .xls, .ods) ; pour un dossier, utilisez bilan batch
    #[arg(required = true, value_name = "FICHIER")]
    files: Vec<PathBuf>,
    /// Format de sortie sur le terminal
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Gravité à partir de laquelle le code de sortie vaut 1
    #[arg(long, value_enum, value_name = "GRAVITÉ", default_value = "error")]
    fail_on: FailOn,
    /// Écrit le rapport JSON dans ce fichier (`-` : sortie standard)
    #[arg(long, value_name = "SORTIE.json")]
    json: Option<PathBuf>,
    /// Écrit le classeur annoté du retour contrôlé (un seul FICHIER)
    #[arg(long, value_name = "SORTIE.xlsx", conflicts_with = "report_dir")]
    report: Option<PathBuf>,
    /// Écrit un classeur annoté par retour dans ce dossier : DOSSIER/<nom>.controle.xlsx
    #[arg(long, value_name = "DOSSIER")]
    report_dir: Option<PathBuf>,
    /// N'affiche que les lignes de synthèse
    #[arg(long)]
    quiet: bool,
    /// Affiche aussi, pour chaque constat, la donnée en cause dans les données extraites (pointeur JSON)
    #[arg(short, long)]
    verbose: bool,
    /// Sans couleurs (aussi : variable NO_COLOR)
    #[arg(long)]
    no_color: bool,
    #[command(flatten)]
    common: Common,
}

#[derive(Args, Debug)]
struct ExtractArgs {
    /// Retour à lire
    #[arg(value_name = "FICHIER")]
    file: PathBuf,
    #[command(flatten)]
    common: Common,
}

#[derive(Args, Debug)]
struct RulesArgs {
    /// N'affiche que les règles qui s'appliquent à ce modèle
    #[arg(long, value_name = "ID")]
    template: Option<String>,
    /// Format de la liste
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Régénère la référence Markdown des règles et des modèles (défaut : docs/REGLES.md ; `-` : sortie standard)
    #[arg(long, value_name = "SORTIE.md", num_args = 0..=1, default_missing_value = bilan::docs::REFERENCE_PATH)]
    reference: Option<PathBuf>,
    #[command(flatten)]
    packs: Packs,
}

#[derive(Args, Debug)]
struct ExplainArgs {
    /// Identifiant d'une règle (POLE-FIN-001) ou d'un modèle (BILAN-POLE)
    id: String,
    #[command(flatten)]
    packs: Packs,
}

#[derive(Args, Debug)]
struct CompletionsArgs {
    /// Shell visé (exemple : bilan completions bash > /etc/bash_completion.d/bilan)
    #[arg(value_enum, value_name = "SHELL")]
    shell: bilan::clap_fr::Shell,
}

#[derive(Args, Debug)]
struct ManArgs {
    /// Page d'une commande (check, batch…) ; sans COMMANDE : la page de bilan
    #[arg(value_name = "COMMANDE")]
    command: Option<String>,
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

impl Packs {
    fn setup(&self) -> run::Setup {
        run::Setup {
            rules: self.rules.clone(),
            schemas: self.schemas.clone(),
            campagne: self.campagne.clone(),
            ..run::Setup::default()
        }
    }
}

impl Common {
    fn setup(&self) -> run::Setup {
        run::Setup {
            rules: self.packs.rules.clone(),
            schemas: self.packs.schemas.clone(),
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
            max_total_memory: self.max_total_memory,
            timeout: self.timeout,
            jobs: None,
            campagne: self.packs.campagne.clone(),
            campagne_texte: None,
        }
    }
}

fn main() -> ExitCode {
    // A worker process that checks untrusted workbooks for its parent (see bilan::isolate).
    if std::env::args_os().nth(1).is_some_and(|a| a == "__worker") {
        return ExitCode::from(run::worker_main() as u8);
    }
    bilan::isolate::install_signal_handlers();
    let cli: Cli = clap_fr::parse();
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
        Err(RunError::Campaign(e)) => {
            eprintln!(
                "{}",
                render_source_error(
                    &e.path,
                    e.line,
                    e.column,
                    &e.message,
                    &e.source_text,
                    "fichier de campagne invalide",
                    "bilan::campagne"
                )
            );
            ExitCode::from(2)
        }
        Err(RunError::Interrupted) => {
            eprintln!("bilan : contrôle interrompu ; aucune sortie n'a été remplacée");
            ExitCode::from(130)
        }
    }
}

/// Says what could not be written (exit 2), after the findings.
fn failed_outputs(failures: &[String]) -> Option<u8> {
    for f in failures {
        eprintln!("bilan : BILAN-OUT-001 : {f}");
    }
    (!failures.is_empty()).then_some(2)
}

fn render_rule_error(e: &RuleError) -> String {
    render_source_error(
        &e.path,
        e.line,
        e.column,
        &e.message,
        &e.source_text,
        "règle invalide",
        "bilan::rule-compile",
    )
}

/// `file:line:column: erreur : message`, then the line with the place marked.
fn render_source_error(
    path: &Path,
    line: usize,
    column: usize,
    message: &str,
    source_text: &str,
    what: &str,
    code: &str,
) -> String {
    use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource};
    let mut out = format!("{}:{line}:{column}: erreur : {message}\n", path.display());
    if source_text.is_empty() {
        return out;
    }
    let offset = line_col_offset(source_text, line, column);
    let diag = MietteDiagnostic::new(format!("{what} : {message}"))
        .with_code(code.to_string())
        .with_label(LabeledSpan::at(offset..offset + 1, "ici"));
    let report = miette::Report::new(diag)
        .with_source_code(NamedSource::new(path.display().to_string(), source_text.to_string()));
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

/// The terminal's width in columns (`COLUMNS`, else 100 when not on a terminal).
fn terminal_width() -> usize {
    if let Some((terminal_size::Width(w), _)) = terminal_size::terminal_size() {
        return usize::from(w).max(60);
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
        .filter(|w| *w >= 40)
        .unwrap_or(100)
}

fn color_enabled(no_color: bool) -> bool {
    !no_color && std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
}

fn dispatch(cli: Cli) -> Result<u8, RunError> {
    match cli.command {
        Command::Check(args) => check(args),
        Command::Completions(args) => {
            let mut out = Vec::new();
            clap_fr::completions(&mut clap_fr::command::<Cli>(), args.shell, &mut out);
            print_out(&String::from_utf8_lossy(&out))?;
            Ok(0)
        }
        Command::Man(args) => {
            let mut cmd = clap_fr::command::<Cli>();
            cmd.build();
            let page = match &args.command {
                None => cmd,
                Some(name) => cmd.find_subcommand(name).cloned().ok_or_else(|| {
                    RunError::Message(format!(
                        "commande « {name} » inconnue (commandes : check, batch, template, rules, explain, extract, completions, man)"
                    ))
                })?,
            };
            let mut out = Vec::new();
            clap_fr::man(page, &mut out)
                .map_err(|e| RunError::Message(format!("page de manuel : {}", bilan::messages::io_error(&e))))?;
            print_out(&String::from_utf8_lossy(&out))?;
            Ok(0)
        }
        Command::Extract(args) => {
            bilan::run::check_input(&args.file)?;
            let checker = run::load(&args.common.setup())?;
            let job = bilan::check::Job {
                extraction: true,
                ..Default::default()
            };
            let checked = checker.process(&bilan::check::Input::Path(args.file.clone()), &job);
            let value = checked.extraction.unwrap_or_default();
            print_out(&run::json_text(&value))?;
            Ok(u8::from(value.get("data").is_none_or(|d| d.is_null())))
        }
        Command::Rules(args) => {
            let checker = run::load(&args.packs.setup())?;
            if let Some(t) = &args.template {
                if checker.templates.get(t).is_none() {
                    return Err(RunError::Message(format!(
                        "modèle « {t} » inconnu (modèles : {})",
                        checker.templates.ids().join(", ")
                    )));
                }
            }
            if let Some(path) = &args.reference {
                if path == Path::new("-") {
                    print_out(&bilan::docs::reference(&checker.rules, &checker.templates))?;
                } else {
                    run::write_reference(&checker, path)?;
                    eprintln!("{} écrit", path.display());
                }
                return Ok(0);
            }
            let rows = bilan::docs::rule_rows(&checker.rules, args.template.as_deref());
            let out = match args.format {
                Format::Json => serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n",
                _ => bilan::docs::rules_table(&rows),
            };
            print_out(&out)?;
            Ok(0)
        }
        Command::Batch(args) => batch(args),
        Command::Serve(args) => serve(args),
        Command::Diff(args) => diff(args),
        Command::Template(args) => {
            let checker = run::load(&args.packs.setup())?;
            let written = run::write_blanks(
                &checker.templates,
                &checker.rules,
                args.id.as_deref(),
                args.output.as_deref(),
                args.all.as_deref(),
                args.force,
            )?;
            for (id, path) in written {
                eprintln!("{id} : {}", path.display());
            }
            Ok(0)
        }
        Command::Explain(args) => {
            let checker = run::load(&args.packs.setup())?;
            if let Some(mut text) = bilan::docs::explain(&checker.rules, &checker.templates, &args.id) {
                if let Some(note) = checker.rules.campaign.as_ref().and_then(|c| c.explain_note(&args.id)) {
                    text.push_str(&note);
                }
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

fn serve(args: ServeArgs) -> Result<u8, RunError> {
    let mut config = bilan::web::Config::new(args.bind, args.data);
    config.self_check = !args.sans_autocontrole;
    config.max_file_size = args.max_file_size;
    if let Some(n) = args.lecteurs {
        config.workers = n.max(1);
    }
    config.queue = args.file_attente;
    config.campaign_file = args.campagne;
    config.secure_cookies = args
        .adresse_publique
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"));
    config.public_url = args.adresse_publique.map(|u| u.trim_end_matches('/').to_string());
    config.admin_password = std::env::var("BILAN_ADMIN_PASSWORD").ok();
    config.trusted_proxy = args.proxy;
    bilan::web::run(config).map_err(|e| RunError::Message(e.message()))?;
    Ok(0)
}

fn print_out(s: &str) -> Result<(), RunError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        // A closed pipe (`| head`) is not a failure of the run.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(RunError::Message(format!(
            "écriture sur la sortie standard impossible : {}",
            bilan::messages::io_error(&e)
        ))),
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
    let mut reports = done.reports;
    reports.iter_mut().for_each(report::terminal_safe);
    let reports = &reports;
    if !args.quiet {
        for out in &done.annotated {
            eprintln!("Classeur annoté : {}", out.display());
        }
    }
    let json = || run::json_text(&run::json_report_with(&checker, reports, &done.cross));
    if json_to_stdout {
        print_out(&json())?;
    } else {
        let style = report::human::Style {
            color: color_enabled(args.no_color),
            width: terminal_width(),
            verbose: args.verbose,
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
                for b in &done.cross {
                    out.push_str(&report::short::cross_line(b));
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
                if !done.cross.is_empty() {
                    out.push_str("Contrôles croisés entre les fichiers :\n");
                    for b in &done.cross {
                        out.push_str(&report::short::cross_line(b));
                    }
                }
                if reports.len() > 1 {
                    let cross: Vec<bilan::finding::Finding> = done.cross.iter().map(|b| b.finding.clone()).collect();
                    out.push_str(&report::total_line_with(reports, bilan::finding::Counts::of(&cross)));
                    out.push('\n');
                }
            }
        }
        if args.format != Format::Json {
            if let Some(block) = report::campaign_block(&checker.rules) {
                out.push('\n');
                out.push_str(&block);
            }
        }
        print_out(&out)?;
    }
    if let Some(code) = failed_outputs(&done.failures) {
        return Ok(code);
    }
    Ok(run::exit_code(reports, &done.cross, args.fail_on.level()))
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
    let checker = run::load(&run::Setup {
        jobs: args.jobs,
        ..args.common.setup()
    })?;
    let bar = (!args.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{spinner} {pos}/{len} retours [{bar:30}] {rate} · reste {eta}")
        {
            // indicatif's {per_sec} shows « 1,669.1241/s »: a whole French rate instead.
            let style = style.with_key(
                "rate",
                |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = w.write_fmt(format_args!(
                        "{} retours/s",
                        bilan::format::int_fr(state.per_sec().round() as i128)
                    ));
                },
            );
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
    let mut reports: Vec<bilan::check::FileReport> = done.summaries.into_iter().map(|s| s.report).collect();
    reports.iter_mut().for_each(report::terminal_safe);
    let safe = |p: &Path| bilan::output::neutralise_name(&bilan::output::path_text(p)).into_owned();
    if !args.quiet {
        let mut out = String::new();
        for r in &reports {
            out.push_str(&report::summary_line(r));
            out.push('\n');
        }
        for s in &done.skipped {
            out.push_str(&format!("{} : ignoré — {}\n", safe(&s.path), s.reason));
        }
        for (link, target) in &done.links {
            out.push_str(&format!(
                "{} : lien symbolique suivi vers {}\n",
                safe(link),
                safe(target)
            ));
        }
        for b in &done.cross {
            out.push_str(&report::short::cross_line(b));
        }
        let cross: Vec<bilan::finding::Finding> = done.cross.iter().map(|b| b.finding.clone()).collect();
        out.push_str(&report::total_line_with(&reports, bilan::finding::Counts::of(&cross)));
        out.push('\n');
        if !done.skipped.is_empty() {
            out.push_str(&format!(
                "{} ignoré{} (pas un classeur, fichier temporaire ou caché) : voir la feuille Synthèse\n",
                bilan::messages::files(done.skipped.len()),
                if done.skipped.len() > 1 { "s" } else { "" }
            ));
        }
        if let Some(block) = report::campaign_block(&checker.rules) {
            out.push_str(&block);
        }
        out.push_str(&format!("Sorties : {}\n", safe(&args.out)));
        print_out(&out)?;
    }
    if let Some(code) = failed_outputs(&done.failures) {
        return Ok(code);
    }
    Ok(run::exit_code(&reports, &done.cross, args.fail_on.level()))
}

fn diff(args: DiffArgs) -> Result<u8, RunError> {
    let checker = run::load(&args.common.setup())?;
    let json_to_stdout = args.json.as_deref() == Some(Path::new("-"));
    let done = run::diff(
        &checker,
        &run::DiffOptions {
            old: args.old.clone(),
            new: args.new.clone(),
            json: args.json.clone(),
            report: args.report.clone(),
        },
    )?;
    if json_to_stdout {
        print_out(&run::json_text(&bilan::diff::to_json(&done.diff, &done.old, &done.new)))?;
    } else {
        // Text from the submitted files (names, values, justifications), shown safely.
        let mut out: String = report::diff::render(&done.diff, &done.old, &done.new)
            .lines()
            .map(|l| bilan::output::neutralise(l).into_owned() + "\n")
            .collect();
        if let Some(block) = report::campaign_block(&checker.rules) {
            out.push('\n');
            out.push_str(&block);
        }
        print_out(&out)?;
        if let Some(path) = &args.report {
            eprintln!("Classeur annoté avec le suivi : {}", path.display());
        }
    }
    Ok(run::exit_code(
        std::slice::from_ref(&done.new),
        &[],
        args.fail_on.level(),
    ))
}
