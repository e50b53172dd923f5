//! The command line in French: clap's help and usage errors, shell completions
//! and the man page.
//!
//! clap writes some English on its own (`Usage:`, `Print help`, `error:`,
//! `tip:`, `[default: …]`, `[possible values: …]`). [`franciser`] rebuilds
//! every command with French help templates, headings and help/version flags,
//! and folds defaults and possible values into each option's help; the
//! [`Fr`] error formatter words every usage error in French. [`parse`] is the
//! front door the binary calls. See `../shared/notes/crates-turn2.md` §4.

use std::fmt::Write as _;
use std::io::Write;

use clap::builder::StyledStr;
use clap::error::{ContextKind, ContextValue, ErrorFormatter, ErrorKind};
use clap::{Arg, ArgAction, Command, CommandFactory, FromArgMatches};

/// The help of a command with French headings (`Commandes :`, `Arguments :`,
/// `Options :`): clap's `{all-args}` would write `Options:`, so each section
/// is laid out here, only when the command has one.
fn help_template(cmd: &Command) -> String {
    let mut t = String::from("{before-help}{about-with-newline}\nUtilisation : {usage}\n");
    if cmd.has_subcommands() {
        t.push_str("\nCommandes :\n{subcommands}\n");
    }
    if cmd.get_positionals().any(|a| !a.is_hide_set()) {
        t.push_str("\nArguments :\n{positionals}\n");
    }
    t.push_str("\nOptions :\n{options}\n{after-help}");
    t
}

/// What the exit status means, per command (shown at the end of its help).
pub fn exit_codes(command: &str) -> &'static str {
    match command {
        "check" => {
            "Code de sortie :\n  \
             0  aucun constat au niveau de --fail-on ou au-dessus (défaut : erreur)\n  \
             1  au moins un constat à ce niveau (un fichier illisible ou d'un modèle non reconnu en est un)\n  \
             2  le contrôle n'a pas pu se faire : argument invalide, FICHIER introuvable ou dossier\n     \
             (pour un dossier : bilan batch), règles, schémas ou campagne invalides,\n     \
             rapport impossible à écrire"
        }
        "batch" => {
            "Code de sortie :\n  \
             0  aucun constat au niveau de --fail-on ou au-dessus, contrôles croisés compris\n  \
             1  au moins un constat à ce niveau\n  \
             2  le contrôle n'a pas pu se faire : argument invalide, règles, schémas, campagne ou\n     \
             liste des attendus invalides, dossier de sortie déjà utilisé ou impossible à écrire"
        }
        "extract" => {
            "Code de sortie :\n  \
             0  données lues\n  \
             1  le fichier n'a pas pu être lu ou son modèle n'est pas reconnu (voir « findings »)\n  \
             2  argument invalide, fichier introuvable, règles ou schémas invalides"
        }
        "diff" => {
            "Code de sortie :\n  \
             0  aucun constat ouvert au niveau de --fail-on ou au-dessus\n  \
             1  au moins un constat encore ouvert ou nouveau à ce niveau\n  \
             2  argument invalide, fichier introuvable, règles, schémas ou campagne invalides"
        }
        _ => {
            "Code de sortie :\n  \
             0  fait\n  \
             2  argument invalide, identifiant inconnu, règles ou schémas invalides, fichier\n     \
             impossible à écrire"
        }
    }
}

/// Rebuilds a command (and its sub-commands) with French help: templates,
/// headings, `-h/--help` and `-V/--version` in French, defaults and possible
/// values folded into each option's help, and the exit codes after the help.
pub fn franciser(cmd: Command) -> Command {
    let cmd = cmd.bin_name("bilan").disable_version_flag(true).arg(
        Arg::new("version")
            .short('V')
            .long("version")
            .action(ArgAction::Version)
            .help("Afficher la version"),
    );
    let root_after = "Chaque commande a son aide : bilan COMMANDE --help.\n\
                      Code de sortie : 0 conforme, 1 constats au niveau de --fail-on, 2 contrôle impossible.";
    franciser_rec(cmd, true).after_help(root_after)
}

fn franciser_rec(mut cmd: Command, root: bool) -> Command {
    let name = cmd.get_name().to_string();
    cmd = cmd
        .subcommand_help_heading("Commandes")
        .subcommand_value_name("COMMANDE")
        .disable_help_subcommand(true)
        .disable_help_flag(true)
        .arg(
            Arg::new("aide")
                .short('h')
                .long("help")
                .action(ArgAction::Help)
                .help("Afficher l'aide"),
        )
        .mut_args(french_arg);
    if !root && cmd.get_after_help().is_none() {
        cmd = cmd.after_help(exit_codes(&name));
    }
    if name == "template" {
        // Every built-in template, whatever was added since the help was written.
        let ids = crate::base::embedded::template_ids().join(", ");
        cmd = cmd.mut_arg("id", |a| {
            a.help(format!(
                "Identifiant du modèle : {ids} ; sans ID (ni --all), la liste des modèles"
            ))
        });
    }
    let template = help_template(&cmd);
    cmd = cmd.help_template(template);
    let subs: Vec<String> = cmd.get_subcommands().map(|s| s.get_name().to_string()).collect();
    for sub in subs {
        cmd = cmd.mut_subcommand(sub, |s| franciser_rec(s, false));
    }
    cmd
}

fn french_arg(arg: Arg) -> Arg {
    if arg.is_hide_set() || arg.get_id() == "aide" || arg.get_id() == "version" {
        return arg;
    }
    let mut help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
    let takes_value = arg.get_action().takes_values();
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    if takes_value && !defaults.is_empty() && !arg.is_hide_default_value_set() {
        let _ = write!(help, " [défaut : {}]", defaults.join(", "));
    }
    let values = arg.get_possible_values();
    if takes_value && !values.is_empty() && !arg.is_hide_possible_values_set() {
        let shown: Vec<String> = values
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| match v.get_help() {
                Some(h) => format!("{} ({h})", v.get_name()),
                None => v.get_name().to_string(),
            })
            .collect();
        let _ = write!(help, " [valeurs possibles : {}]", shown.join(", "));
    }
    if !takes_value {
        return arg.help(help);
    }
    arg.hide_default_value(true).hide_possible_values(true).help(help)
}

/// The French command of a derived parser: what the binary, the completions and
/// the man page use.
pub fn command<C: CommandFactory>() -> Command {
    franciser(C::command())
}

/// Parses the process arguments with French help and errors; on an error or
/// `--help`/`--version`, prints and exits (2 for a usage error, 0 otherwise).
pub fn parse<C: CommandFactory + FromArgMatches>() -> C {
    parse_from(std::env::args_os())
}

/// [`parse`] over given arguments.
pub fn parse_from<C, I, T>(args: I) -> C
where
    C: CommandFactory + FromArgMatches,
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    match try_parse_from::<C, I, T>(args) {
        Ok(c) => c,
        Err(e) => e.exit(),
    }
}

/// [`parse_from`] without exiting: the error is already in French.
pub fn try_parse_from<C, I, T>(args: I) -> Result<C, clap::error::Error<Fr>>
where
    C: CommandFactory + FromArgMatches,
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let mut cmd = command::<C>();
    let matches = cmd.try_get_matches_from_mut(args).map_err(|e| e.apply::<Fr>())?;
    C::from_arg_matches(&matches).map_err(|e| e.with_cmd(&cmd).apply::<Fr>())
}

/// clap's usage errors in French.
#[derive(Debug)]
pub struct Fr;

fn ctx_string(err: &clap::error::Error<Fr>, kind: ContextKind) -> Option<String> {
    match err.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::Strings(v) => Some(v.join(", ")),
        ContextValue::StyledStr(s) => Some(s.to_string()),
        ContextValue::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn ctx_strings(err: &clap::error::Error<Fr>, kind: ContextKind) -> Vec<String> {
    match err.get(kind) {
        Some(ContextValue::String(s)) => vec![s.clone()],
        Some(ContextValue::Strings(v)) => v.clone(),
        Some(ContextValue::StyledStr(s)) => vec![s.to_string()],
        _ => Vec::new(),
    }
}

fn quoted(s: &str) -> String {
    format!("« {s} »")
}

fn quoted_list(values: &[String]) -> String {
    values.iter().map(|v| quoted(v)).collect::<Vec<_>>().join(", ")
}

/// The reason a value parser gave, in French (std's parse errors are English).
fn validation_reason(err: &clap::error::Error<Fr>) -> Option<String> {
    let source = std::error::Error::source(err)?;
    if source.downcast_ref::<std::num::ParseIntError>().is_some() {
        return Some("ce n'est pas un nombre entier positif".into());
    }
    if source.downcast_ref::<std::num::ParseFloatError>().is_some() {
        return Some("ce n'est pas un nombre".into());
    }
    let text = source.to_string();
    if crate::base::messages::looks_technical(&text) {
        return None;
    }
    Some(text)
}

impl ErrorFormatter for Fr {
    fn format_error(err: &clap::error::Error<Self>) -> StyledStr {
        let mut out = String::from("erreur : ");
        let arg = ctx_string(err, ContextKind::InvalidArg).unwrap_or_default();
        let value = ctx_string(err, ContextKind::InvalidValue).unwrap_or_default();
        match err.kind() {
            ErrorKind::UnknownArgument => {
                if arg.starts_with('-') {
                    let _ = write!(out, "option inconnue {}", quoted(&arg));
                } else {
                    let _ = write!(out, "argument inattendu {}", quoted(&arg));
                }
            }
            ErrorKind::InvalidSubcommand => {
                let sub = ctx_string(err, ContextKind::InvalidSubcommand).unwrap_or_default();
                let _ = write!(out, "sous-commande inconnue {}", quoted(&sub));
            }
            ErrorKind::InvalidValue if value.is_empty() => {
                let _ = write!(out, "une valeur est requise pour {}", quoted(&arg));
            }
            ErrorKind::InvalidValue => {
                let _ = write!(out, "valeur {} invalide pour {}", quoted(&value), quoted(&arg));
                let valid = ctx_strings(err, ContextKind::ValidValue);
                if !valid.is_empty() {
                    let _ = write!(out, " (valeurs possibles : {})", valid.join(", "));
                }
            }
            ErrorKind::ValueValidation => {
                let _ = write!(out, "valeur {} invalide pour {}", quoted(&value), quoted(&arg));
                if let Some(reason) = validation_reason(err) {
                    let _ = write!(out, " : {reason}");
                }
            }
            ErrorKind::MissingRequiredArgument => {
                let missing = ctx_strings(err, ContextKind::InvalidArg);
                if missing.len() == 1 {
                    let _ = write!(out, "argument obligatoire absent : {}", missing[0]);
                } else {
                    let _ = write!(out, "arguments obligatoires absents : {}", missing.join(", "));
                }
            }
            ErrorKind::MissingSubcommand => {
                out.push_str("indiquez une commande");
                let valid = ctx_strings(err, ContextKind::ValidSubcommand);
                if !valid.is_empty() {
                    let _ = write!(out, " (commandes : {})", valid.join(", "));
                }
            }
            ErrorKind::ArgumentConflict => {
                let prior = ctx_strings(err, ContextKind::PriorArg);
                if prior.len() == 1 && prior[0] == arg {
                    let _ = write!(out, "{} ne peut être donné qu'une fois", quoted(&arg));
                } else if prior.is_empty() {
                    let _ = write!(
                        out,
                        "{} ne peut pas être utilisé avec les autres options données",
                        quoted(&arg)
                    );
                } else {
                    let _ = write!(
                        out,
                        "{} ne peut pas être utilisé avec {}",
                        quoted(&arg),
                        quoted_list(&prior)
                    );
                }
            }
            ErrorKind::NoEquals => {
                let _ = write!(out, "écrivez la valeur de {} après un signe « = »", quoted(&arg));
            }
            ErrorKind::TooManyValues => {
                let _ = write!(out, "valeur en trop {} pour {}", quoted(&value), quoted(&arg));
            }
            ErrorKind::TooFewValues | ErrorKind::WrongNumberOfValues => {
                let want = ctx_string(err, ContextKind::MinValues)
                    .or_else(|| ctx_string(err, ContextKind::ExpectedNumValues))
                    .unwrap_or_default();
                let got = ctx_string(err, ContextKind::ActualNumValues).unwrap_or_default();
                let _ = write!(out, "{} demande {want} valeur(s), {got} donnée(s)", quoted(&arg));
            }
            ErrorKind::InvalidUtf8 => out.push_str("un argument contient des caractères invalides (pas de l'UTF-8)"),
            ErrorKind::Io | ErrorKind::Format => out.push_str("écriture de l'aide impossible"),
            _ => out.push_str("arguments invalides"),
        }

        // Suggestions: « vouliez-vous dire … ? ».
        let suggested_arg = ctx_strings(err, ContextKind::SuggestedArg);
        let suggested_sub = ctx_strings(err, ContextKind::SuggestedSubcommand);
        let suggested_value = ctx_strings(err, ContextKind::SuggestedValue);
        let suggestion = [suggested_sub, suggested_arg, suggested_value]
            .into_iter()
            .find(|s| !s.is_empty());
        if let Some(s) = suggestion {
            let _ = write!(out, " : vouliez-vous dire {} ?", quoted_list(&s));
        }
        // clap's own tips are English; the one that matters is said again here.
        if err.kind() == ErrorKind::UnknownArgument && arg.starts_with('-') {
            let tips = ctx_strings(err, ContextKind::Suggested);
            let suggested = err.get(ContextKind::SuggestedArg).is_some();
            if !suggested || tips.iter().any(|t| t.contains("-- ")) {
                let _ = write!(
                    out,
                    "\n  astuce : pour passer {} comme valeur, écrivez « -- {arg} »",
                    quoted(&arg)
                );
            }
        }

        if let Some(usage) = ctx_string(err, ContextKind::Usage) {
            let usage = usage.trim();
            let usage = usage.strip_prefix("Usage:").unwrap_or(usage).trim();
            let _ = write!(out, "\n\nUtilisation : {usage}");
        }
        out.push_str("\n\nPour en savoir plus, essayez « --help ».\n");
        StyledStr::from(out)
    }
}

/// Shells `bilan completions` writes a script for.
pub use clap_complete::Shell;

/// Writes the completion script of `cmd` for `shell`.
pub fn completions(cmd: &mut Command, shell: Shell, out: &mut dyn Write) {
    clap_complete::generate(shell, cmd, "bilan", out);
}

/// Writes the man page (roff) of `cmd` with French section titles.
pub fn man(cmd: Command, out: &mut dyn Write) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let title = cmd.get_display_name().unwrap_or(cmd.get_name()).to_uppercase();
    clap_mangen::Man::new(cmd)
        .title(title)
        .section("1")
        .manual("Manuel de bilan")
        .render(&mut buf)?;
    let text = String::from_utf8_lossy(&buf);
    let mut page = String::with_capacity(text.len());
    for line in text.lines() {
        let line = match line {
            ".SH NAME" => ".SH NOM",
            ".SH SUBCOMMANDS" => ".SH COMMANDES",
            ".SH EXTRA" => ".SH CODE DE SORTIE",
            ".SH AUTHORS" => ".SH AUTEURS",
            other => other,
        };
        page.push_str(line);
        page.push('\n');
    }
    out.write_all(page.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Parser, Subcommand, ValueEnum};

    #[derive(Parser, Debug)]
    #[command(name = "bilan", version, about = "Essai")]
    struct Cli {
        #[command(subcommand)]
        command: Cmd,
    }

    #[derive(Subcommand, Debug)]
    enum Cmd {
        /// Contrôle
        Check {
            #[arg(required = true, value_name = "FICHIER")]
            files: Vec<String>,
            /// Classeur annoté
            #[arg(long, value_name = "SORTIE.xlsx")]
            report: Option<String>,
            /// Format
            #[arg(long, value_enum, default_value = "human")]
            format: Format,
            /// Parallélisme
            #[arg(long, value_name = "N")]
            jobs: Option<usize>,
            /// Silencieux
            #[arg(long)]
            quiet: bool,
        },
    }

    #[derive(Copy, Clone, Debug, ValueEnum)]
    enum Format {
        /// lisible
        Human,
        Json,
    }

    fn error_text(args: &[&str]) -> String {
        match try_parse_from::<Cli, _, _>(args.iter().copied()) {
            Ok(c) => format!("analysé : {c:?}"),
            Err(e) => e.render().to_string(),
        }
    }

    const ENGLISH: [&str; 8] = [
        "error:",
        "Usage",
        "Print help",
        "os error",
        "found",
        "expected one of",
        "help:",
        "tip:",
    ];

    fn assert_french(text: &str) {
        for w in ENGLISH {
            assert!(!text.contains(w), "« {w} » dans :\n{text}");
        }
    }

    #[test]
    fn usage_errors_are_french() {
        let t = error_text(&["bilan", "check", "--repport", "x", "a.xlsx"]);
        assert!(
            t.starts_with("erreur : option inconnue « --repport » : vouliez-vous dire « --report » ?"),
            "{t}"
        );
        assert!(t.contains("Utilisation : bilan check"), "{t}");
        assert_french(&t);
        let t = error_text(&["bilan", "chek"]);
        assert!(
            t.contains("sous-commande inconnue « chek » : vouliez-vous dire « check » ?"),
            "{t}"
        );
        let t = error_text(&["bilan", "check", "a.xlsx", "--jobs", "abc"]);
        assert!(t.contains("ce n'est pas un nombre entier positif"), "{t}");
        assert_french(&t);
        let t = error_text(&["bilan", "check", "a.xlsx", "--format", "xml"]);
        assert!(t.contains("valeur « xml » invalide pour « --format <FORMAT> »"), "{t}");
        assert_french(&t);
        let t = error_text(&["bilan", "check"]);
        assert!(t.contains("argument obligatoire absent : <FICHIER>..."), "{t}");
        assert_french(&t);
        let t = error_text(&["bilan", "check", "a.xlsx", "--foo"]);
        assert!(t.contains("astuce : pour passer « --foo » comme valeur"), "{t}");
        assert_french(&t);
    }

    #[test]
    fn help_is_french() {
        let t = error_text(&["bilan", "check", "--help"]);
        assert!(t.contains("Utilisation : bilan check"), "{t}");
        assert!(t.contains("Afficher l'aide"), "{t}");
        assert!(
            t.contains("[défaut : human] [valeurs possibles : human (lisible), json]"),
            "{t}"
        );
        assert!(t.contains("Code de sortie :"), "{t}");
        assert_french(&t);
        let t = error_text(&["bilan", "--help"]);
        assert!(t.contains("Commandes :\n"), "{t}");
        assert!(t.contains("Options :\n"), "{t}");
        assert!(!t.contains("Options:") && !t.contains("Commands"), "{t}");
        assert!(t.contains("Afficher la version"), "{t}");
        assert_french(&t);
    }

    #[test]
    fn man_page_and_completions() {
        let mut page = Vec::new();
        assert!(man(command::<Cli>(), &mut page).is_ok());
        let page = String::from_utf8_lossy(&page);
        assert!(page.contains(".SH NOM"), "{page}");
        let mut script = Vec::new();
        completions(&mut command::<Cli>(), Shell::Bash, &mut script);
        assert!(String::from_utf8_lossy(&script).contains("--report"));
    }
}
