//! Every word a user reads that is not a rule's own message: severities,
//! statuses, plurals, column labels, system errors, damaged-file explanations.
//!
//! One home for wording, so that the terminal, the short format, the batch
//! output, the annotated workbook and the synthesis say the same thing the same
//! way (`erreur` on a terminal line, `Erreur` as a cell value, `Constaté` in
//! every column header). Library and system errors in English never reach a
//! user: [`io_error`] and [`damaged`] translate them, and the technical text is
//! kept apart (the JSON `detail` field) for whoever needs it.

use std::io;

use crate::base::format::int_fr;

/// A count and its noun, French rules: 0 and 1 take the singular
/// (`0 erreur`, `1 avertissement`, `2 informations`); the count is grouped by
/// three (`12 345 fichiers`).
pub fn plural(n: usize, one: &str, many: &str) -> String {
    let word = if n <= 1 { one } else { many };
    format!("{} {word}", int_fr(n as i128))
}

/// `3 fichiers`, `1 fichier`.
pub fn files(n: usize) -> String {
    plural(n, "fichier", "fichiers")
}

/// `2 conformes, 1 conforme avec réserves, 0 non conforme` (adjectives agree
/// with « retour » in number).
pub fn statuses(conforme: usize, reserves: usize, non_conforme: usize) -> String {
    format!(
        "{}, {}, {}",
        plural(conforme, "conforme", "conformes"),
        plural(reserves, "conforme avec réserves", "conformes avec réserves"),
        plural(non_conforme, "non conforme", "non conformes"),
    )
}

/// A figure shown to a reader (the terminal's « attendu …, écart … » line):
/// digits grouped by three whatever the length (`-9 000`, `1 048 596`,
/// `12,5`), except a whole number that reads as a year (1900 to 2100), which
/// stays `2009`.
pub fn figure_value(d: rust_decimal::Decimal) -> String {
    use rust_decimal::prelude::ToPrimitive;
    let d = d.normalize();
    if crate::base::format::reads_as_year(d.to_f64().unwrap_or(0.5)) {
        return d.to_string();
    }
    // decimal_fr keeps four-digit integer parts whole: group them too.
    crate::base::format::group_four_digits(&crate::base::format::decimal_fr(d))
}

/// The date and time of a check as people read it, in local time:
/// `28/11/2026 à 07:05`.
pub fn checked_at(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&chrono::Local).format("%d/%m/%Y à %H:%M").to_string()
}

/// Column headers shared by every table of findings (annotated report's
/// `Constats`, synthesis' `Constats` and `Contrôles croisés`).
pub mod column {
    pub const FILE: &str = "Fichier";
    pub const SEVERITY: &str = "Gravité";
    pub const RULE: &str = "Règle";
    pub const RULE_TITLE: &str = "Titre de la règle";
    pub const SHEET: &str = "Feuille";
    pub const CELL: &str = "Cellule";
    pub const MESSAGE: &str = "Message";
    pub const EXPECTED: &str = "Attendu";
    pub const ACTUAL: &str = "Constaté";
    pub const DIFFERENCE: &str = "Écart";
    pub const TOLERANCE: &str = "Tolérance";
    pub const JUSTIFICATION: &str = "Justification";
    pub const TEMPLATE: &str = "Modèle";
    pub const ORGANISATION: &str = "Organisation";
    pub const STATUS: &str = "Statut";
    pub const ERRORS: &str = "Erreurs";
    pub const WARNINGS: &str = "Avertissements";
    pub const INFOS: &str = "Informations";
}

/// The same words in a sentence (terminal help line): `attendu`, `constaté`…
pub mod figure {
    pub const EXPECTED: &str = "attendu";
    pub const ACTUAL: &str = "constaté";
    pub const DIFFERENCE: &str = "écart";
    pub const TOLERANCE: &str = "tolérance";
}

/// What went wrong with a file or folder, in French, from a system error.
/// Never `os error N`: an unknown code is `erreur système n° N`.
pub fn io_error(e: &io::Error) -> String {
    use io::ErrorKind as K;
    if let Some(code) = e.raw_os_error() {
        if let Some(text) = errno_fr(code) {
            return text.to_string();
        }
    }
    let text = match e.kind() {
        K::NotFound => "fichier ou dossier introuvable",
        K::PermissionDenied => "permission refusée",
        K::AlreadyExists => "fichier existant",
        K::StorageFull => "disque plein",
        K::ReadOnlyFilesystem => "système de fichiers en lecture seule",
        K::NotADirectory => "un élément du chemin n'est pas un dossier",
        K::IsADirectory => "c'est un dossier, pas un fichier",
        K::DirectoryNotEmpty => "dossier non vide",
        K::InvalidFilename => "nom de fichier invalide ou trop long",
        K::BrokenPipe => "la sortie a été fermée",
        K::Interrupted => "opération interrompue",
        K::TimedOut => "délai dépassé",
        K::UnexpectedEof => "fin de fichier inattendue (fichier tronqué)",
        K::InvalidData => "données invalides",
        K::WriteZero | K::QuotaExceeded => "quota disque dépassé",
        K::FileTooLarge => "fichier trop volumineux",
        K::ResourceBusy => "fichier ou périphérique occupé",
        K::CrossesDevices => "déplacement impossible d'un disque à un autre",
        K::OutOfMemory => "mémoire insuffisante",
        K::Unsupported => "opération non prise en charge",
        K::AddrInUse => "adresse déjà utilisée par un autre programme",
        K::AddrNotAvailable => "adresse indisponible sur cette machine",
        _ => "",
    };
    if !text.is_empty() {
        return text.to_string();
    }
    match e.raw_os_error() {
        Some(code) => format!("erreur système n° {code}"),
        None => "erreur d'entrée-sortie".to_string(),
    }
}

/// A file the program tried to read: `fichier introuvable`, `accès refusé (…)`,
/// else [`io_error`].
pub fn file_io_error(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "fichier introuvable".to_string(),
        io::ErrorKind::PermissionDenied => "accès refusé (fichier verrouillé ou droits insuffisants)".to_string(),
        _ => io_error(e),
    }
}

/// The common POSIX error numbers (Linux and macOS agree on these).
fn errno_fr(code: i32) -> Option<&'static str> {
    Some(match code {
        1 => "opération non permise",
        2 => "fichier ou dossier introuvable",
        5 => "erreur d'entrée-sortie du disque",
        13 => "permission refusée",
        16 => "fichier ou périphérique occupé",
        17 => "fichier existant",
        18 => "déplacement impossible d'un disque à un autre",
        20 => "un élément du chemin n'est pas un dossier",
        21 => "c'est un dossier, pas un fichier",
        24 => "trop de fichiers ouverts",
        27 => "taille de fichier maximale dépassée (limite du système, ulimit -f)",
        28 => "disque plein",
        30 => "système de fichiers en lecture seule",
        36 | 63 => "nom de fichier trop long",
        39 | 66 => "dossier non vide",
        122 | 69 => "quota disque dépassé",
        _ => return None,
    })
}

/// A workbook that could not be built (rust_xlsxwriter's errors are English):
/// a system error in French, anything else an internal error.
pub fn xlsx_error(e: &rust_xlsxwriter::XlsxError) -> String {
    match e {
        rust_xlsxwriter::XlsxError::IoError(io) => io_error(io),
        _ => "erreur interne à la construction du classeur (signalez-la avec le fichier en cause)".to_string(),
    }
}

/// `écriture de « out.xlsx » impossible : permission refusée`.
pub fn io_failure(action: &str, path: &std::path::Path, e: &io::Error) -> String {
    format!("{action} de « {} » impossible : {}", path.display(), io_error(e))
}

/// A damaged workbook explained in French from the reader's technical text
/// (calamine, zip, XML parsers: English). Returns the explanation; keep
/// `technical` for the JSON `detail` field.
///
/// A leading `feuille « X » : ` (added by the reader) is kept in front of the
/// explanation.
pub fn damaged(technical: &str) -> String {
    let (sheet, rest) = match technical.strip_prefix("feuille « ") {
        Some(after) => match after.split_once(" » : ") {
            Some((name, rest)) => (Some(name), rest),
            None => (None, technical),
        },
        None => (None, technical),
    };
    // The reader's own French, with the library's English in parentheses:
    // keep the French (`archive zip illisible ou tronquée (invalid Zip…)`).
    let explanation = match rest.split_once(" (") {
        Some((french, english))
            if !french.trim().is_empty() && !looks_technical(french) && looks_technical(english) =>
        {
            format!("{} : renvoyez le fichier d'origine, ou ouvrez-le dans Excel ou LibreOffice et enregistrez-le à nouveau", french.trim())
        }
        _ => explain(rest).to_string(),
    };
    match sheet {
        Some(name) => format!("feuille « {name} » : {explanation}"),
        None => explanation,
    }
}

fn explain(technical: &str) -> &'static str {
    let t = technical.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
    if has(&[
        "eocd",
        "end of central directory",
        "invalid zip",
        "zip archive",
        "archive zip",
        "zip",
    ]) {
        if has(&["tronqu", "eocd", "end of central", "unexpected eof", "eof"]) {
            return "le fichier est tronqué ou n'est pas une archive complète (copie ou téléchargement interrompu ?) : renvoyez le fichier d'origine";
        }
        return "l'archive qui contient le classeur est endommagée : renvoyez le fichier d'origine";
    }
    if has(&["password", "encrypt", "chiffr"]) {
        return "le classeur est protégé par un mot de passe : enregistrez-le sans mot de passe";
    }
    if has(&["utf", "encoding", "decode"]) {
        return "le classeur contient du texte dont l'encodage est invalide (ce n'est pas de l'UTF-8) : ouvrez-le dans Excel ou LibreOffice, enregistrez-le à nouveau et renvoyez-le";
    }
    if has(&[
        "xml",
        "unexpected end",
        "unclosed",
        "mismatch",
        "syntax",
        "attribute",
        "escape",
    ]) {
        return "le contenu d'une partie du classeur est incomplet ou mal formé (fichier tronqué ou produit par un logiciel défectueux) : ouvrez-le dans Excel ou LibreOffice, enregistrez-le à nouveau et renvoyez-le";
    }
    if has(&["cfb", "compound", "sector", "fat", "biff", "xls"]) {
        return "la structure interne du classeur .xls est endommagée : ouvrez-le dans Excel ou LibreOffice, enregistrez-le au format .xlsx et renvoyez-le";
    }
    if has(&["not found", "missing", "introuvable", "manqu"]) {
        return "une partie indispensable du classeur manque : enregistrez-le à nouveau et renvoyez-le";
    }
    if has(&["parse", "invalid", "unexpected", "expected"]) {
        return "une valeur interne du classeur est invalide : ouvrez-le dans Excel ou LibreOffice, enregistrez-le à nouveau et renvoyez-le";
    }
    "la structure interne du classeur est invalide : ouvrez-le dans Excel ou LibreOffice, enregistrez-le à nouveau et renvoyez-le"
}

/// Whether a text reads as English library output rather than French (used to
/// decide whether a message needs [`damaged`]). Conservative: only marks the
/// wording that calamine, zip and quick-xml actually use.
pub fn looks_technical(text: &str) -> bool {
    const WORDS: [&str; 12] = [
        "error",
        "invalid",
        "unexpected",
        "could",
        "cannot",
        "found",
        "expected",
        "missing",
        "eocd",
        "failed",
        "unsupported",
        "the",
    ];
    text.split(|c: char| !c.is_ascii_alphabetic())
        .any(|w| WORDS.contains(&w.to_ascii_lowercase().as_str()))
}

/// The text with its first letter in capitals.
pub fn cap(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// A JSON syntax or data error (a schema, a campaign's JSON) in French; the
/// line and column are given separately by the caller.
pub fn json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let text = e.to_string();
    // serde_json appends « at line L column C »: the caller gives them.
    let text = text.split(" at line ").next().unwrap_or(&text);
    match e.classify() {
        Category::Eof => "le texte s'arrête avant la fin (accolade ou crochet non refermé ?)".into(),
        Category::Syntax => {
            if text.contains("trailing comma") {
                "virgule en trop avant une accolade ou un crochet fermant".into()
            } else if text.contains("key must be a string") {
                "une clé doit être écrite entre guillemets".into()
            } else if text.contains("control character") || text.contains("escape") {
                "texte mal écrit (caractère de contrôle ou échappement invalide)".into()
            } else {
                "syntaxe JSON invalide (virgule, deux-points, guillemet ou accolade manquant ?)".into()
            }
        }
        Category::Data => toml_error(text),
        Category::Io => "lecture impossible".into(),
    }
}

/// A rule script that does not compile, in French (Rhai's messages are
/// English); the line and column are given separately.
pub fn rhai_parse_error(e: &rhai::ParseErrorType) -> String {
    use rhai::{LexError, ParseErrorType as P};
    match e {
        P::BadInput(LexError::UnexpectedInput(s)) => format!("caractère inattendu « {s} »"),
        P::BadInput(LexError::UnterminatedString) => "texte non refermé (guillemet ou accent grave manquant)".into(),
        P::BadInput(LexError::MalformedNumber(s)) => format!("nombre mal écrit « {s} »"),
        P::BadInput(LexError::MalformedEscapeSequence(s)) => format!("séquence d'échappement invalide « {s} »"),
        P::BadInput(_) => "caractère ou texte invalide".into(),
        P::UnexpectedEOF => "le script s'arrête avant la fin (accolade ou parenthèse non refermée ?)".into(),
        P::UnknownOperator(s) => format!("opérateur inconnu « {s} »"),
        P::MissingToken(token, _) => format!("« {token} » attendu ici"),
        P::MissingSymbol(s) if !s.is_empty() => format!("symbole attendu : {s}"),
        P::VariableUndefined(s) => format!(
            "variable « {s} » inconnue (faute de frappe ? les données s'appellent data.…, les paramètres params.…)"
        ),
        P::VariableExists(s) | P::DuplicatedVariable(s) => format!("variable « {s} » déjà définie"),
        P::ModuleUndefined(s) => format!("module « {s} » inconnu"),
        P::ExprExpected(s) => format!("expression attendue ({s})"),
        P::MismatchedType(want, got) => format!("type inattendu : {got} au lieu de {want}"),
        P::FnMissingParams(s) => format!("paramètres attendus pour la fonction {s}"),
        P::FnDuplicatedParam(f, p) => format!("paramètre {p} répété dans la fonction {f}"),
        P::DuplicatedProperty(s) => format!("propriété « {s} » répétée"),
        P::Reserved(s) => format!("« {s} » est un mot réservé"),
        P::ForbiddenVariable(s) => format!("nom de variable interdit : {s}"),
        P::PropertyExpected => "nom de propriété attendu".into(),
        P::VariableExpected => "nom de variable attendu".into(),
        P::FnMissingName => "nom de fonction attendu".into(),
        P::WrongFnDefinition => "une fonction se définit au premier niveau du script, pas dans un bloc".into(),
        P::LoopBreak => "« break » hors d'une boucle".into(),
        P::ExprTooDeep => "expression trop complexe".into(),
        P::AssignmentToConstant(_) => "affectation à une constante".into(),
        P::AssignmentToInvalidLHS(_) => "cette expression ne peut pas recevoir de valeur".into(),
        _ => "erreur de syntaxe dans le script".into(),
    }
}

/// The items quoted with backquotes in a serde/toml message: `` `off` `` → `off`.
fn backquoted(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

fn french_type(t: &str) -> &'static str {
    let t = t.trim();
    let t = t.strip_prefix("an ").or_else(|| t.strip_prefix("a ")).unwrap_or(t);
    match t.split_whitespace().next().unwrap_or(t) {
        "string" | "str" | "char" => "un texte",
        "integer" | "i64" | "u64" | "i32" | "u32" | "usize" | "u8" => "un nombre entier",
        "float" | "f64" | "f32" => "un nombre",
        "boolean" | "bool" => "un booléen (true ou false)",
        "map" | "table" | "struct" => "une table",
        "sequence" | "array" | "seq" => "une liste",
        "datetime" | "date" => "une date",
        _ => "une autre valeur",
    }
}

/// A TOML or serde error about a configuration file (`pack.toml`,
/// `engine.toml`, a rule's header) in French. The line and column are given
/// separately by the caller.
pub fn toml_error(message: &str) -> String {
    let m = message.trim();
    let q = backquoted(m);
    let list = |items: &[&str]| items.iter().map(|i| format!("« {i} »")).collect::<Vec<_>>().join(", ");
    if m.starts_with("unknown variant") {
        if let Some((bad, rest)) = q.split_first() {
            return format!("valeur « {bad} » inconnue (valeurs possibles : {})", list(rest));
        }
    }
    if m.starts_with("unknown field") {
        if let Some((bad, rest)) = q.split_first() {
            if rest.is_empty() {
                return format!("clé « {bad} » inconnue");
            }
            return format!("clé « {bad} » inconnue (clés possibles : {})", list(rest));
        }
    }
    if m.starts_with("missing field") {
        if let Some(field) = q.first() {
            return format!("clé « {field} » manquante");
        }
    }
    if m.starts_with("duplicate key") || m.starts_with("duplicate field") {
        if let Some(field) = q.first() {
            return format!("clé « {field} » donnée deux fois");
        }
        return "clé donnée deux fois".into();
    }
    if let Some(rest) = m.strip_prefix("invalid type: ") {
        if let Some((found, expected)) = rest.split_once(", expected ") {
            return format!(
                "type invalide : {} là où il faut {}",
                french_type(found),
                french_type(expected)
            );
        }
    }
    if m.starts_with("invalid value") {
        return "valeur invalide".into();
    }
    if m.contains("expected newline") || m.contains("expected `.`, `=`") || m.contains("expected `=`") {
        return "syntaxe TOML invalide : une ligne doit être de la forme clé = valeur".into();
    }
    if m.contains("unclosed") || m.contains("unterminated") {
        return "syntaxe TOML invalide : guillemet, crochet ou accolade non refermé".into();
    }
    if m.contains("invalid key") {
        return "syntaxe TOML invalide : nom de clé invalide (mettez-le entre guillemets)".into();
    }
    if m.contains("invalid string") || m.contains("invalid escape") {
        return "syntaxe TOML invalide : texte mal écrit (guillemets ou caractère d'échappement)".into();
    }
    if looks_technical(m) || m.is_empty() {
        return "syntaxe TOML invalide".into();
    }
    m.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals_follow_french_rules() {
        assert_eq!(plural(0, "erreur", "erreurs"), "0 erreur");
        assert_eq!(plural(1, "projet", "projets"), "1 projet");
        assert_eq!(plural(2, "information", "informations"), "2 informations");
        assert_eq!(plural(12_345, "fichier", "fichiers"), "12 345 fichiers");
        assert_eq!(
            statuses(0, 2, 1),
            "0 conforme, 2 conformes avec réserves, 1 non conforme"
        );
    }

    #[test]
    fn system_errors_in_french() {
        let cases = [
            (2, "fichier ou dossier introuvable"),
            (13, "permission refusée"),
            (17, "fichier existant"),
            (28, "disque plein"),
            (30, "système de fichiers en lecture seule"),
        ];
        for (code, text) in cases {
            assert_eq!(io_error(&io::Error::from_raw_os_error(code)), text);
        }
        let unknown = io_error(&io::Error::from_raw_os_error(4242));
        assert!(!unknown.contains("os error"), "{unknown}");
        assert_eq!(
            io_error(&io::Error::from(io::ErrorKind::AlreadyExists)),
            "fichier existant"
        );
        assert_eq!(
            io_failure(
                "écriture",
                std::path::Path::new("x.xlsx"),
                &io::Error::from_raw_os_error(13)
            ),
            "écriture de « x.xlsx » impossible : permission refusée"
        );
    }

    #[test]
    fn damaged_files_explained_in_french() {
        let zip = damaged("archive zip illisible ou tronquée (invalid Zip archive: Could not find EOCD)");
        assert!(zip.starts_with("archive zip illisible ou tronquée : renvoyez"), "{zip}");
        let eocd = damaged("invalid Zip archive: Could not find EOCD");
        assert!(eocd.starts_with("le fichier est tronqué"), "{eocd}");
        let utf = damaged("Xml error: cannot decode input using UTF-8: invalid utf-8 sequence");
        assert!(utf.contains("UTF-8"), "{utf}");
        let xml = damaged("feuille « Financements » : Xml error: Unexpected end of xml");
        assert!(xml.starts_with("feuille « Financements » : le contenu"), "{xml}");
        for text in [zip, eocd, utf, xml, damaged("something odd")] {
            assert!(!looks_technical(&text), "{text}");
        }
    }

    #[test]
    fn figures_are_grouped_but_years_stay_whole() {
        use rust_decimal::Decimal;
        assert_eq!(figure_value(Decimal::from(-9000)), "-9 000");
        assert_eq!(figure_value(Decimal::from(1_048_596)), "1 048 596");
        assert_eq!(figure_value(Decimal::from(2009)), "2009");
        assert_eq!(figure_value(Decimal::new(12345, 1)), "1 234,5");
        assert_eq!(figure_value(Decimal::from(1)), "1");
    }

    #[test]
    fn configuration_errors_in_french() {
        assert_eq!(
            toml_error("unknown variant `off`, expected one of `info`, `warning`, `error`"),
            "valeur « off » inconnue (valeurs possibles : « info », « warning », « error »)"
        );
        assert_eq!(toml_error("missing field `id`"), "clé « id » manquante");
        assert_eq!(
            toml_error("invalid type: string \"x\", expected a boolean"),
            "type invalide : un texte là où il faut un booléen (true ou false)"
        );
        assert_eq!(
            toml_error("invalid table header\nexpected `.`, `]`"),
            "syntaxe TOML invalide"
        );
    }
}
