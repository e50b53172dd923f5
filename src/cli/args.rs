//! The command line's arguments (clap): every command and its options, with
//! their French help.

use bilan::finding::Severity;
use bilan::run;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "bilan",
    version,
    about = "Contrôle des retours Excel du SRDE (pôles, PLDE, FEDER, programmes)",
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
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
pub struct ServeArgs {
    /// Adresse d'écoute
    #[arg(long, value_name = "ADRESSE:PORT", default_value = "127.0.0.1:8080")]
    pub bind: std::net::SocketAddr,
    /// Dossier des données (base SQLite, fichiers reçus, classeurs annotés)
    #[arg(long, value_name = "DOSSIER", default_value = "bilan-data")]
    pub data: PathBuf,
    /// Fichier de campagne à créer au démarrage (s'il n'existe pas déjà)
    #[arg(long, value_name = "CAMPAGNE.toml")]
    pub campagne: Option<PathBuf>,
    /// Désactive la page d'autocontrôle ouverte à tous
    #[arg(long)]
    pub sans_autocontrole: bool,
    /// Taille maximale d'un fichier reçu (octets)
    #[arg(long, value_name = "OCTETS", default_value_t = 50_000_000)]
    pub max_file_size: u64,
    /// Fichiers contrôlés en même temps (un processus lecteur chacun ; défaut : nombre de cœurs)
    #[arg(long, value_name = "N")]
    pub lecteurs: Option<usize>,
    /// Fichiers en attente d'un lecteur avant la réponse « serveur occupé »
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub file_attente: usize,
    /// Adresse publique du guichet, pour les liens affichés (https://bilan.exemple.fr) ;
    /// `https://` : cookies `__Host-` et `Secure`
    #[arg(long, value_name = "URL")]
    pub adresse_publique: Option<String>,
    /// Adresse du mandataire inverse (reverse proxy) dont l'en-tête X-Forwarded-For
    /// donne l'adresse du client (journal, limites par adresse)
    #[arg(long, value_name = "IP")]
    pub proxy: Option<std::net::IpAddr>,
}

#[derive(Args, Debug)]
pub struct DiffArgs {
    /// La version précédente du retour
    #[arg(value_name = "ANCIEN")]
    pub old: PathBuf,
    /// La nouvelle version du même retour
    #[arg(value_name = "NOUVEAU")]
    pub new: PathBuf,
    /// Écrit la comparaison en JSON dans ce fichier (`-` : sortie standard) ; schéma : schemas/diff.schema.json
    #[arg(long, value_name = "SORTIE.json")]
    pub json: Option<PathBuf>,
    /// Écrit le classeur annoté de la nouvelle version, avec le suivi depuis la précédente
    #[arg(long, value_name = "SORTIE.xlsx")]
    pub report: Option<PathBuf>,
    /// Gravité à partir de laquelle le code de sortie vaut 1 (constats de la nouvelle version)
    #[arg(long, value_enum, value_name = "GRAVITÉ", default_value = "erreur")]
    pub fail_on: FailOn,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug)]
pub struct TemplateArgs {
    /// Identifiant du modèle (BILAN-POLE, BILAN-PLDE, TDB-FEDER-AXE1, BILAN-PROGRAMME, REPARTITION-POLES)
    #[arg(value_name = "ID", conflicts_with = "all")]
    pub id: Option<String>,
    /// Classeur à écrire (défaut : ID.xlsx dans le dossier courant)
    #[arg(short, long, value_name = "SORTIE.xlsx", conflicts_with = "all")]
    pub output: Option<PathBuf>,
    /// Écrit le modèle vierge de chaque modèle connu dans DOSSIER/<ID>.xlsx
    #[arg(long, value_name = "DOSSIER")]
    pub all: Option<PathBuf>,
    /// Remplace un classeur qui existe déjà
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub packs: Packs,
}

#[derive(Args, Debug)]
pub struct BatchArgs {
    /// Fichiers ou dossiers à contrôler (les dossiers sont parcourus avec leurs sous-dossiers)
    #[arg(required = true, value_name = "CHEMIN")]
    pub paths: Vec<PathBuf>,
    /// Dossier de sortie : synthese.xlsx, rapport.json, annotes/
    #[arg(long, value_name = "DOSSIER")]
    pub out: PathBuf,
    /// Ne garde, dans les dossiers, que les fichiers correspondant à ce motif (répétable, ex. '*.xlsx')
    #[arg(long, value_name = "MOTIF")]
    pub glob: Vec<String>,
    /// Nombre de fichiers contrôlés en parallèle (défaut : tous les cœurs)
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Liste CSV des retours attendus (modèle;organisation)
    #[arg(long, value_name = "LISTE.csv")]
    pub expected: Option<PathBuf>,
    /// N'écrit pas les rapports annotés (annotes/)
    #[arg(long)]
    pub no_annotated: bool,
    /// Gravité à partir de laquelle le code de sortie vaut 1
    #[arg(long, value_enum, value_name = "GRAVITÉ", default_value = "erreur")]
    pub fail_on: FailOn,
    /// Sans barre de progression ni détail
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub common: Common,
}

/// Rule packs and schemas: every command that loads them.
#[derive(Args, Debug, Clone)]
pub struct Packs {
    /// Dossier de règles à utiliser à la place des règles intégrées
    #[arg(long, value_name = "DOSSIER")]
    pub rules: Option<PathBuf>,
    /// Dossier de schémas à utiliser à la place des schémas intégrés
    #[arg(long, value_name = "DOSSIER")]
    pub schemas: Option<PathBuf>,
    /// Fichier de campagne : exercice, date d'arrêté, retours attendus, règles désactivées ou modifiées
    #[arg(long, value_name = "CAMPAGNE.toml")]
    pub campagne: Option<PathBuf>,
}

/// What the commands that read returns share: packs, template, reading limits.
#[derive(Args, Debug, Clone)]
pub struct Common {
    #[command(flatten)]
    pub packs: Packs,
    /// Impose ce modèle au lieu de le reconnaître
    #[arg(long, value_name = "ID")]
    pub template: Option<String>,
    /// Taille maximale d'un fichier, en octets (défaut : 50 Mo)
    #[arg(long, value_name = "OCTETS")]
    pub max_file_size: Option<u64>,
    /// Nombre maximal de cellules non vides par classeur (défaut : 5 millions)
    #[arg(long, value_name = "N")]
    pub max_cells: Option<usize>,
    /// Taille décompressée maximale d'une partie chargée d'un bloc (chaînes partagées, styles), en octets
    #[arg(long, value_name = "OCTETS")]
    pub max_part_size: Option<u64>,
    /// Lit les classeurs dans ce processus, sans processus lecteur isolé
    #[arg(long)]
    pub no_isolation: bool,
    /// Mémoire maximale d'un processus de contrôle isolé, en octets (défaut : 536 870 912, soit 512 Mo)
    #[arg(long, value_name = "OCTETS")]
    pub max_memory: Option<u64>,
    /// Mémoire maximale de tous les processus de contrôle ensemble, en octets (défaut : la moitié de la mémoire, 8 Go au plus)
    #[arg(long, value_name = "OCTETS")]
    pub max_total_memory: Option<u64>,
    /// Temps maximal du contrôle d'un fichier, en secondes (défaut : 60)
    #[arg(long, value_name = "SECONDES")]
    pub timeout: Option<u64>,
}

/// The French words are the names shown; the English ones stay accepted
/// (scripts written before).
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// lisible, avec un extrait de la feuille
    #[value(name = "humain", alias = "human")]
    Human,
    /// une ligne par constat
    #[value(name = "court", alias = "short")]
    Short,
    /// le rapport JSON
    Json,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// une erreur
    #[value(name = "erreur", alias = "error")]
    Error,
    /// un avertissement ou une erreur
    #[value(name = "avertissement", alias = "warning")]
    Warning,
    /// tout constat
    #[value(name = "information", alias = "info")]
    Info,
    /// jamais pour des constats
    #[value(name = "jamais", alias = "never")]
    Never,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Retours à contrôler (.xlsx, .xlsm, .xlsb, .xls, .ods) ; pour un dossier, utilisez bilan batch
    #[arg(required = true, value_name = "FICHIER")]
    pub files: Vec<PathBuf>,
    /// Format de sortie sur le terminal
    #[arg(long, value_enum, default_value = "humain")]
    pub format: Format,
    /// Gravité à partir de laquelle le code de sortie vaut 1
    #[arg(long, value_enum, value_name = "GRAVITÉ", default_value = "erreur")]
    pub fail_on: FailOn,
    /// Écrit le rapport JSON dans ce fichier (`-` : sortie standard)
    #[arg(long, value_name = "SORTIE.json")]
    pub json: Option<PathBuf>,
    /// Écrit le classeur annoté du retour contrôlé (un seul FICHIER)
    #[arg(long, value_name = "SORTIE.xlsx", conflicts_with = "report_dir")]
    pub report: Option<PathBuf>,
    /// Écrit un classeur annoté par retour dans ce dossier : DOSSIER/<nom>.controle.xlsx
    #[arg(long, value_name = "DOSSIER")]
    pub report_dir: Option<PathBuf>,
    /// N'affiche que les lignes de synthèse
    #[arg(long)]
    pub quiet: bool,
    /// Affiche aussi, pour chaque constat, la donnée en cause dans les données extraites (pointeur JSON)
    #[arg(short, long)]
    pub verbose: bool,
    /// Sans couleurs (aussi : variable NO_COLOR)
    #[arg(long)]
    pub no_color: bool,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug)]
pub struct ExtractArgs {
    /// Retour à lire
    #[arg(value_name = "FICHIER")]
    pub file: PathBuf,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug)]
pub struct RulesArgs {
    /// N'affiche que les règles qui s'appliquent à ce modèle
    #[arg(long, value_name = "ID")]
    pub template: Option<String>,
    /// Format de la liste
    #[arg(long, value_enum, default_value = "humain")]
    pub format: Format,
    /// Régénère la référence Markdown des règles et des modèles (défaut : docs/REGLES.md ; `-` : sortie standard)
    #[arg(long, value_name = "SORTIE.md", num_args = 0..=1, default_missing_value = bilan::docs::REFERENCE_PATH)]
    pub reference: Option<PathBuf>,
    #[command(flatten)]
    pub packs: Packs,
}

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// Identifiant d'une règle (POLE-FIN-001) ou d'un modèle (BILAN-POLE)
    pub id: String,
    #[command(flatten)]
    pub packs: Packs,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// Shell visé (exemple : bilan completions bash > /etc/bash_completion.d/bilan)
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: bilan::clap_fr::Shell,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// Page d'une commande (check, batch…) ; sans COMMANDE : la page de bilan
    #[arg(value_name = "COMMANDE")]
    pub command: Option<String>,
}

impl FailOn {
    pub fn level(self) -> Option<Severity> {
        match self {
            FailOn::Never => None,
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Info => Some(Severity::Info),
        }
    }
}

impl Packs {
    pub fn setup(&self) -> run::Setup {
        run::Setup {
            rules: self.rules.clone(),
            schemas: self.schemas.clone(),
            campagne: self.campagne.clone(),
            ..run::Setup::default()
        }
    }
}

impl Common {
    pub fn setup(&self) -> run::Setup {
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
            warm_worker: !self.no_isolation,
        }
    }
}
