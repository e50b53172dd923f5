//! Label matching: two labels match when their normalised forms are equal.
//!
//! The same normalisation is used for sheet names and enumeration values
//! (`spec/templates.md`, "Label matching").

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Normalises a label for comparison.
///
/// Steps: Unicode NFKD and removal of accents (combining marks), lower-casing,
/// the ligatures `œ` and `æ` spelled out (`oe`, `ae`: NFKD leaves them whole, and
/// `Cœur` and `Coeur` are the same word), typographic apostrophes (`’`, `‘`, `ʼ`)
/// turned into `'`, dashes (en dash, em dash, Unicode hyphens and minus sign) into
/// `-`, any run of white space (including non-breaking and narrow non-breaking
/// spaces, tabs and line breaks) into one space,
/// trimming, dropping **one** trailing `:`, and trimming again.
/// Text in parentheses is kept: `Coût total (€)` and `Coût total (M€)` differ.
///
/// Because only one trailing `:` is dropped, the function is idempotent except on
/// labels that still end with `:` after normalisation (`"Total ::"` gives `"total :"`).
pub fn normalize_label(s: &str) -> String {
    // Marks are removed before lower-casing: `İ` decomposes to `I` + U+0307, whereas
    // lower-casing it first would give `i` + U+0307.
    let folded = fold(s);
    let collapsed = folded.split_whitespace().collect::<Vec<_>>().join(" ");
    match collapsed.strip_suffix(':') {
        Some(rest) => rest.trim_end().to_string(),
        None => collapsed,
    }
}

/// Whether two labels are the same once normalised with [`normalize_label`].
pub fn labels_match(a: &str, b: &str) -> bool {
    normalize_label(a) == normalize_label(b)
}

/// Normalises an enumeration value for comparison: [`normalize_label`], then
/// hyphens count as spaces, so `Hainaut Cambrésis`, `Hainaut-Cambrésis` and
/// `Hainaut – Cambrésis` are the same choice. Labels keep their dashes.
pub fn normalize_choice(s: &str) -> String {
    normalize_label(s)
        .replace('-', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// NFKD, accent removal, lower-casing, ligatures spelled out and unified
/// punctuation (no spacing changes).
///
/// ASCII characters are lower-cased as they are: NFKD leaves them alone and,
/// being starters, nothing is ever reordered across them, so only the runs of
/// other characters go through the decomposition (same result as the whole
/// text at once, several times faster on the mostly-ASCII labels of a
/// workbook).
fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while !rest.is_empty() {
        let ascii = rest.bytes().take_while(u8::is_ascii).count();
        out.extend(
            rest.as_bytes()[..ascii]
                .iter()
                .map(|b| char::from(b.to_ascii_lowercase())),
        );
        rest = &rest[ascii..];
        let other = rest.find(|c: char| c.is_ascii()).unwrap_or(rest.len());
        fold_unicode(&rest[..other], &mut out);
        rest = &rest[other..];
    }
    out
}

/// [`fold`] of a run of non-ASCII characters, appended to `out`.
fn fold_unicode(s: &str, out: &mut String) {
    for c in s.nfkd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase) {
        match c {
            'œ' => out.push_str("oe"),
            'æ' => out.push_str("ae"),
            other => out.push(unify_punctuation(other)),
        }
    }
}

/// Maps typographic apostrophes to `'` and dashes to `-`; other characters unchanged.
fn unify_punctuation(c: char) -> char {
    match c {
        '\u{2019}' | '\u{2018}' | '\u{02BC}' => '\'',
        '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fold of the whole text at once, as it was before the ASCII fast path.
    fn fold_whole(s: &str) -> String {
        let mut out = String::new();
        fold_unicode(s, &mut out);
        out
    }

    proptest::proptest! {
        #[test]
        fn ascii_fast_path_folds_as_the_whole_text(s in "(?s)[ -~\\u{80}-\\u{2FF}\\u{300}-\\u{36F}\\u{2010}-\\u{2019}œæÆŒİﬁ①Ⅻ\\t\\n]{0,24}") {
            proptest::prop_assert_eq!(fold(&s), fold_whole(&s));
        }
    }

    #[test]
    fn accents_case_and_spaces() {
        assert_eq!(normalize_label("  Coût   TOTAL  "), "cout total");
        assert_eq!(normalize_label("Étape"), "etape");
        assert_eq!(normalize_label("Pôle"), "pole");
        assert_eq!(normalize_label("Compétitivité"), "competitivite");
    }

    #[test]
    fn non_breaking_spaces_tabs_and_line_breaks_collapse() {
        assert_eq!(normalize_label("Date\u{a0}d'arrêté"), "date d'arrete");
        assert_eq!(normalize_label("Date\u{202f}\u{a0} d'arrêté"), "date d'arrete");
        assert_eq!(normalize_label("Nombre de\n\tdossiers"), "nombre de dossiers");
    }

    #[test]
    fn apostrophes_and_dashes() {
        assert_eq!(normalize_label("Date d’arrêté"), "date d'arrete");
        assert_eq!(normalize_label("Flandres – Métropole"), "flandres - metropole");
        assert_eq!(normalize_label("Hainaut — Cambrésis"), "hainaut - cambresis");
    }

    #[test]
    fn one_trailing_colon_is_dropped() {
        assert_eq!(normalize_label("Contact :"), "contact");
        assert_eq!(normalize_label("Contact:"), "contact");
        assert_eq!(normalize_label("Contact : "), "contact");
        assert_eq!(normalize_label("Contact ::"), "contact :");
        assert_eq!(normalize_label(":"), "");
        assert_eq!(normalize_label(""), "");
    }

    #[test]
    fn parentheses_are_kept() {
        assert_eq!(normalize_label("Coût total (€)"), "cout total (€)");
        assert!(!labels_match("Coût total (€)", "Coût total (M€)"));
        assert!(labels_match("Coût total (€)", "cout  total (€) :"));
    }

    #[test]
    fn compatibility_forms_are_folded() {
        assert_eq!(normalize_label("1ᵉʳ semestre"), "1er semestre");
        assert_eq!(normalize_label("ﬁnancements"), "financements");
        assert_eq!(normalize_label("İstanbul"), "istanbul");
    }

    #[test]
    fn ligatures_are_spelled_out() {
        assert_eq!(normalize_label("Cœur d'Ostrevent"), "coeur d'ostrevent");
        assert_eq!(normalize_label("CŒUR DE FLANDRE"), "coeur de flandre");
        assert!(labels_match("Pays du Cœur de Flandre", "Pays du Coeur de Flandre"));
        assert_eq!(normalize_label("Lætitia"), "laetitia");
    }

    #[test]
    fn choices_ignore_dashes() {
        assert_eq!(normalize_choice("Hainaut – Cambrésis"), "hainaut cambresis");
        assert_eq!(
            normalize_choice("Hainaut Cambrésis"),
            normalize_choice("Hainaut – Cambrésis")
        );
        assert_eq!(
            normalize_choice("Flandres-Métropole"),
            normalize_choice("Flandres – Métropole")
        );
        assert_eq!(normalize_choice("Compétitivité :"), "competitivite");
        // Labels keep their dashes.
        assert!(!labels_match("Hainaut Cambrésis", "Hainaut – Cambrésis"));
    }

    #[test]
    fn labels_match_examples() {
        assert!(labels_match("Type de pôle", "type de pole :"));
        assert!(labels_match("Date d'arrêté", "DATE D’ARRÊTÉ"));
        assert!(!labels_match("Emplois créés", "Emplois maintenus"));
    }
}
