//! Numbers written as French text: `4.830.000 €`, `1 062 198 €`, `1,08`, `72 %`.
//!
//! See `spec/templates.md`, "Values": thousands are grouped by 3 and separated by
//! `.` or a space (ordinary, non-breaking or narrow non-breaking), the decimal
//! separator is the comma, and a unit may follow. Values are exact decimals built
//! from the digits written, never through a float.

use rust_decimal::Decimal;
use serde::Serialize;

/// A unit written after a number or declared by a label in parentheses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Unit {
    /// `€`
    Euro,
    /// `k€`, thousands of euros
    KiloEuro,
    /// `M€`, millions of euros
    MegaEuro,
    /// `Md€`, billions (milliards) of euros
    BillionEuro,
    /// `%`
    Percent,
}

impl Unit {
    /// The symbol as written in French: `€`, `k€`, `M€`, `Md€`, `%`.
    pub fn symbol(self) -> &'static str {
        match self {
            Unit::Euro => "€",
            Unit::KiloEuro => "k€",
            Unit::MegaEuro => "M€",
            Unit::BillionEuro => "Md€",
            Unit::Percent => "%",
        }
    }

    /// The unit a label declares in its trailing parentheses.
    ///
    /// `Coût total (€)` gives `Euro`, `FEDER prévu PO (M€)` gives `MegaEuro`,
    /// `Part (%)` gives `Percent`; `(k€)`, `(Md€)` and `(en M€)` are read too.
    /// A trailing `:` after the parentheses is ignored. Any other label gives `None`.
    pub fn from_label(label: &str) -> Option<Unit> {
        let label = label.trim_end();
        let label = label.strip_suffix(':').unwrap_or(label).trim_end();
        let inside = label.strip_suffix(')')?;
        let open = inside.rfind('(')?;
        let content = inside.get(open + 1..)?.trim();
        let content = content.strip_prefix("en ").unwrap_or(content).trim_start();
        unit_from_symbol(content)
    }
}

/// What a text cell holds once read as a French number.
#[derive(Debug, Clone, PartialEq)]
pub enum ParsedNumber {
    /// A readable number; `unit` is the suffix written in the text, if any.
    /// A percentage keeps the figure written: `72 %` is 72 with `Percent`.
    Number { value: Decimal, unit: Option<Unit> },
    /// Nothing there: empty, white space, or a placeholder dash (`-`, `–`, `—`),
    /// possibly followed by a unit (`- €`, the accounting display of nothing).
    Blank,
    /// Made only of digits, signs, separators and a unit, but not a well-formed
    /// number (`318.765.75 €`, `1.5`, `1 00 000`). `reason` explains it in French.
    Malformed { reason: String },
    /// A placeholder for a figure not given: `nc`, `n.c.`, `NS`, `n.s.`, `ND`,
    /// `n.d.` (not communicated, not significant, not available).
    NotGiven,
    /// A readable number followed by words: `21 (+2 et 1 sortie)`,
    /// `842 (1557 maintenus)`, `73,5 en travaux`. The comment belongs elsewhere.
    WithComment { value: Decimal, comment: String },
    /// Any other text (`En cours`, `abc`).
    NotNumeric,
}

impl ParsedNumber {
    /// For a malformed number, the plausible reading when there is one, in
    /// French: `318.765.75 €` → `318 765,75 €` (a last group of one or two
    /// digits after a point is read as the decimals).
    pub fn plausible_reading(text: &str) -> Option<String> {
        let text = text.trim();
        let (body, unit) = split_unit(text);
        let body = body.trim();
        if body.contains(',') || !body.contains('.') {
            return None;
        }
        let groups: Vec<&str> = body.split('.').collect();
        let (last, head) = groups.split_last()?;
        let first = head.first()?;
        let valid = (1..=2).contains(&last.len())
            && last.chars().all(|c| c.is_ascii_digit())
            && (1..=3).contains(&first.len())
            && head
                .iter()
                .all(|g| !g.is_empty() && g.chars().all(|c| c.is_ascii_digit()))
            && head.iter().skip(1).all(|g| g.len() == 3)
            && !(head.len() > 1 && first.starts_with('0'));
        if !valid {
            return None;
        }
        let integer = head.join(" ");
        let unit = unit.map(|u| format!(" {}", u.symbol())).unwrap_or_default();
        Some(format!("{integer},{last}{unit}"))
    }
}

/// Reads a number written with French conventions.
///
/// Thousands are separated by `.`, a space, a non-breaking space (U+00A0), a narrow
/// non-breaking space (U+202F) or a thin space (U+2009), in groups of exactly 3 digits
/// after a first group of 1 to 3 digits; the decimal separator is the comma; a leading
/// `-`, `−` or `+` is allowed; a unit (`€`, `k€`, `M€`, `Md€`, `%`, `EUR`, `euros`) may
/// follow, with or without a space.
///
/// `4.830.000 €` is 4830000 €, `365.740,50€` is 365740.50 €, `0,005 M€` is 0.005 M€;
/// `318.765.75 €` and `1.5` are malformed; `En cours` is not numeric.
pub fn parse_french_number(s: &str) -> ParsedNumber {
    parse_number(s, true)
}

/// [`parse_french_number`]; `with_comment`: also try "a number followed by words"
/// (off when reading such a number's head, so that the search stays linear).
fn parse_number(s: &str, with_comment: bool) -> ParsedNumber {
    let text = s.trim();
    if is_placeholder(text) {
        return ParsedNumber::Blank;
    }
    if is_not_given(text) {
        return ParsedNumber::NotGiven;
    }
    let (before_unit, unit) = split_unit(text);
    let before_unit = before_unit.trim_end();
    if unit.is_some() && is_placeholder(before_unit) && !before_unit.is_empty() {
        return ParsedNumber::Blank;
    }
    let (negative, body) = split_sign(before_unit);
    let body = body.trim_start();
    if !looks_like_number(body) {
        return if is_made_of_number_characters(text) {
            ParsedNumber::Malformed {
                reason: "signe ou unité mal placé".to_string(),
            }
        } else {
            with_comment
                .then(|| number_with_comment(text))
                .flatten()
                .unwrap_or(ParsedNumber::NotNumeric)
        };
    }
    match parse_unsigned(body) {
        Ok(value) => ParsedNumber::Number {
            value: if negative { -value } else { value },
            unit,
        },
        Err(reason) => ParsedNumber::Malformed {
            reason: reason.to_string(),
        },
    }
}

/// `nc`, `n.c.`, `NS`, `n.s.`, `ND`, `n.d.` (any case, dots and spaces ignored),
/// and the words they stand for.
fn is_not_given(text: &str) -> bool {
    if text.len() > 24 {
        return false;
    }
    let squeezed: String = text
        .chars()
        .filter(|c| !matches!(c, '.' | ' ' | '\u{a0}' | '\u{202f}'))
        .flat_map(char::to_lowercase)
        .collect();
    matches!(
        squeezed.as_str(),
        "nc" | "ns" | "nd" | "noncommuniqué" | "noncommunique" | "nonsignificatif" | "nondisponible"
    )
}

/// `21 (+2 et 1 sortie)`, `73,5 en travaux`: a readable number (with or without
/// unit), then white space and words (a letter or a parenthesis).
fn number_with_comment(text: &str) -> Option<ParsedNumber> {
    // The longest head that reads as a number, cut before a space or a `(`.
    // A number is at most 28 digits with their separators and a unit: only the
    // first 64 bytes are tried, so a long text costs no more than a short one.
    let cuts = text
        .char_indices()
        .take_while(|(i, _)| *i <= 64)
        .filter(|(_, c)| c.is_whitespace() || *c == '(')
        .map(|(i, _)| i);
    let cuts: Vec<usize> = cuts.collect();
    for &i in cuts.iter().rev() {
        let (head, comment) = text.split_at(i);
        let comment = comment.trim();
        if head.trim().is_empty() || !comment.chars().any(|c| c.is_alphabetic() || c == '(') {
            continue;
        }
        if let ParsedNumber::Number { value, .. } = parse_number(head, false) {
            return Some(ParsedNumber::WithComment {
                value,
                comment: comment.to_string(),
            });
        }
    }
    None
}

/// Empty text or a dash standing for "nothing".
fn is_placeholder(text: &str) -> bool {
    matches!(text, "" | "-" | "–" | "—")
}

/// The unit written as a symbol or word, exactly as it appears.
fn unit_from_symbol(symbol: &str) -> Option<Unit> {
    match symbol {
        "€" => Some(Unit::Euro),
        "k€" | "K€" => Some(Unit::KiloEuro),
        "M€" => Some(Unit::MegaEuro),
        "Md€" | "Mds€" => Some(Unit::BillionEuro),
        "%" => Some(Unit::Percent),
        word if ["eur", "euro", "euros"].iter().any(|w| word.eq_ignore_ascii_case(w)) => Some(Unit::Euro),
        _ => None,
    }
}

/// Splits a trailing unit off the text: `"12 k€"` gives `("12 ", Some(KiloEuro))`.
fn split_unit(text: &str) -> (&str, Option<Unit>) {
    // Candidate suffixes, each before the shorter ones it ends with ("Md€" before "€").
    // `unit_from_symbol` decides whether the tail of that length is a unit.
    const SUFFIXES: [&str; 10] = ["Mds€", "Md€", "M€", "k€", "K€", "€", "%", "euros", "euro", "eur"];
    for suffix in SUFFIXES {
        let Some(start) = text.len().checked_sub(suffix.len()) else {
            continue;
        };
        if let (Some(head), Some(tail)) = (text.get(..start), text.get(start..)) {
            if let Some(unit) = unit_from_symbol(tail) {
                return (head, Some(unit));
            }
        }
    }
    (text, None)
}

/// Splits a leading sign off: `"-3,5"` gives `(true, "3,5")`.
fn split_sign(text: &str) -> (bool, &str) {
    if let Some(rest) = text.strip_prefix('-').or_else(|| text.strip_prefix('\u{2212}')) {
        (true, rest)
    } else if let Some(rest) = text.strip_prefix('+') {
        (false, rest)
    } else {
        (false, text)
    }
}

/// A thousands separator: a point or one of the spaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Separator {
    Point,
    Space,
}

impl Separator {
    fn of(c: char) -> Option<Separator> {
        match c {
            '.' => Some(Separator::Point),
            ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}' => Some(Separator::Space),
            _ => None,
        }
    }

    /// "après un point" / "après une espace", for messages.
    fn after(self) -> &'static str {
        match self {
            Separator::Point => "après un point",
            Separator::Space => "après une espace",
        }
    }
}

/// Only digits, thousands separators and commas, with at least one digit.
fn looks_like_number(body: &str) -> bool {
    body.chars().any(|c| c.is_ascii_digit())
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || c == ',' || Separator::of(c).is_some())
}

/// Only digits, separators, signs and unit symbols, with at least one digit:
/// text that was meant as a number even if it cannot be read as one.
fn is_made_of_number_characters(text: &str) -> bool {
    text.chars().any(|c| c.is_ascii_digit())
        && text.chars().all(|c| {
            c.is_ascii_digit() || c.is_whitespace() || matches!(c, '.' | ',' | '+' | '-' | '\u{2212}' | '€' | '%')
        })
}

/// Why text made of digits and separators is not a number (the text of
/// BILAN-NUM-002, after « nombre mal formé : »).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum Malformed {
    #[error("plusieurs virgules : une seule virgule sépare les décimales")]
    SeveralCommas,
    #[error("virgule sans chiffres après")]
    CommaWithoutDigits,
    #[error("séparateur dans la partie décimale « {0} » : les décimales s'écrivent sans séparateur")]
    SeparatorInFraction(String),
    #[error("séparateurs de milliers mélangés : point et espace")]
    MixedSeparators,
    #[error("séparateur de milliers en tête de nombre")]
    LeadingSeparator,
    #[error("séparateur de milliers en fin de partie entière")]
    TrailingSeparator,
    #[error("deux séparateurs de milliers qui se suivent")]
    DoubleSeparator,
    #[error("premier groupe de chiffres « {0} » trop long : les milliers se séparent par groupes de 3")]
    FirstGroupTooLong(String),
    #[error("premier groupe de chiffres « {0} » : un nombre à séparateurs de milliers ne commence pas par 0")]
    FirstGroupLeadingZero(String),
    #[error("groupe de chiffres « {group} » {} : les milliers se séparent par groupes de 3", .after.after())]
    GroupNotOfThree { group: String, after: Separator },
    #[error("nombre trop long : au plus {MAX_DIGITS} chiffres significatifs")]
    TooLong,
}

/// The most significant digits a number may have (what `Decimal` holds).
const MAX_DIGITS: usize = 28;

/// Reads digits, separators and at most one decimal comma as an exact decimal.
fn parse_unsigned(body: &str) -> Result<Decimal, Malformed> {
    let (integer, fraction) = match body.split_once(',') {
        Some((integer, fraction)) => (integer, check_fraction(fraction)?),
        None => (body, ""),
    };
    exact_decimal(&integer_digits(integer)?, fraction)
}

/// The digits after the decimal comma: at least one, nothing else.
fn check_fraction(fraction: &str) -> Result<&str, Malformed> {
    if fraction.contains(',') {
        Err(Malformed::SeveralCommas)
    } else if fraction.is_empty() {
        Err(Malformed::CommaWithoutDigits)
    } else if !fraction.chars().all(|c| c.is_ascii_digit()) {
        Err(Malformed::SeparatorInFraction(fraction.to_string()))
    } else {
        Ok(fraction)
    }
}

/// The digits of the integer part, checking how thousands are grouped.
fn integer_digits(integer: &str) -> Result<String, Malformed> {
    let mut groups: Vec<(Option<Separator>, String)> = vec![(None, String::new())];
    for c in integer.chars() {
        if let Some(separator) = Separator::of(c) {
            groups.push((Some(separator), String::new()));
        } else if let Some((_, group)) = groups.last_mut() {
            group.push(c);
        }
    }
    if groups.len() == 1 {
        return Ok(integer.to_string());
    }
    let mut kinds = groups.iter().filter_map(|(separator, _)| *separator);
    let first_kind = kinds.next();
    if kinds.any(|kind| Some(kind) != first_kind) {
        return Err(Malformed::MixedSeparators);
    }
    for (index, (separator, group)) in groups.iter().enumerate() {
        let is_first = index == 0;
        let is_last = index + 1 == groups.len();
        if group.is_empty() {
            return Err(if is_first {
                Malformed::LeadingSeparator
            } else if is_last {
                Malformed::TrailingSeparator
            } else {
                Malformed::DoubleSeparator
            });
        }
        match separator {
            None if group.len() > 3 => return Err(Malformed::FirstGroupTooLong(group.clone())),
            None if group.starts_with('0') => return Err(Malformed::FirstGroupLeadingZero(group.clone())),
            Some(separator) if group.len() != 3 => {
                return Err(Malformed::GroupNotOfThree {
                    group: group.clone(),
                    after: *separator,
                })
            }
            _ => {}
        }
    }
    Ok(groups.into_iter().map(|(_, group)| group).collect())
}

/// Builds the decimal `integer,fraction` from its digit strings, exactly.
fn exact_decimal(integer: &str, fraction: &str) -> Result<Decimal, Malformed> {
    let too_long = || Malformed::TooLong;
    let digits = format!("{integer}{fraction}");
    let significant = digits.trim_start_matches('0');
    if significant.len() > MAX_DIGITS || fraction.len() > MAX_DIGITS {
        return Err(too_long());
    }
    let mantissa: i128 = if significant.is_empty() {
        0
    } else {
        significant.parse().map_err(|_| too_long())?
    };
    let scale = u32::try_from(fraction.len()).map_err(|_| too_long())?;
    Decimal::try_from_i128_with_scale(mantissa, scale).map_err(|_| too_long())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn number(text: &str, unit: Option<Unit>) -> ParsedNumber {
        match Decimal::from_str(text) {
            Ok(value) => ParsedNumber::Number { value, unit },
            Err(_) => ParsedNumber::NotNumeric,
        }
    }

    fn is_malformed(parsed: &ParsedNumber) -> bool {
        matches!(parsed, ParsedNumber::Malformed { .. })
    }

    fn reason(text: &str) -> String {
        match parse_french_number(text) {
            ParsedNumber::Malformed { reason } => reason,
            other => format!("not malformed: {other:?}"),
        }
    }

    #[test]
    fn valid_examples_from_the_spec() {
        let cases = [
            ("4.830.000 €", "4830000", Some(Unit::Euro)),
            ("1 062 198 €", "1062198", Some(Unit::Euro)),
            ("1,08", "1.08", None),
            ("72 %", "72", Some(Unit::Percent)),
            ("266,7 %", "266.7", Some(Unit::Percent)),
            ("43 900 €", "43900", Some(Unit::Euro)),
            ("365.740,50€", "365740.50", Some(Unit::Euro)),
            ("12", "12", None),
            ("-3,5", "-3.5", None),
            ("0,005 M€", "0.005", Some(Unit::MegaEuro)),
        ];
        for (text, value, unit) in cases {
            assert_eq!(parse_french_number(text), number(value, unit), "{text}");
        }
    }

    #[test]
    fn every_separator_and_unit() {
        let cases = [
            ("1\u{a0}062\u{a0}198\u{a0}€", "1062198", Some(Unit::Euro)),
            ("1\u{202f}062\u{202f}198 €", "1062198", Some(Unit::Euro)),
            ("1\u{2009}062", "1062", None),
            ("12 k€", "12", Some(Unit::KiloEuro)),
            ("12K€", "12", Some(Unit::KiloEuro)),
            ("117,7M€", "117.7", Some(Unit::MegaEuro)),
            ("1,5 Md€", "1.5", Some(Unit::BillionEuro)),
            ("10%", "10", Some(Unit::Percent)),
            ("12 EUR", "12", Some(Unit::Euro)),
            ("12 euros", "12", Some(Unit::Euro)),
            ("1 Euro", "1", Some(Unit::Euro)),
            ("+7", "7", None),
            ("\u{2212}7", "-7", None),
            ("- 7", "-7", None),
            ("  4.830.000  ", "4830000", None),
            (",5", "0.5", None),
            ("0,150 M€", "0.150", Some(Unit::MegaEuro)),
            ("007", "7", None),
            ("1.500", "1500", None),
        ];
        for (text, value, unit) in cases {
            assert_eq!(parse_french_number(text), number(value, unit), "{text}");
        }
    }

    #[test]
    fn values_are_exact() {
        let parsed = parse_french_number("0,1");
        assert_eq!(parsed, number("0.1", None));
        let big = parse_french_number("9.999.999.999.999,99 €");
        assert_eq!(big, number("9999999999999.99", Some(Unit::Euro)));
    }

    #[test]
    fn blanks() {
        for text in ["", "   ", "\u{a0}", "-", "–", "—", " - ", "- €", "–  €"] {
            assert_eq!(parse_french_number(text), ParsedNumber::Blank, "{text:?}");
        }
    }

    #[test]
    fn malformed_examples_from_the_spec() {
        for text in [
            "318.765.75 €",
            "10.214.00 €",
            "365.740.50€",
            "1.5",
            "1..000",
            "1 00 000",
            "12.34.567",
        ] {
            assert!(is_malformed(&parse_french_number(text)), "{text}");
        }
    }

    #[test]
    fn other_malformed_numbers() {
        for text in [
            "108.78 M€",
            "1.000 000",
            "1,234,567",
            "1,234.56",
            "12,",
            ".5",
            "1.000.",
            "1234.567",
            "0.500",
            "--3",
            "2009-2010",
            "€ 12",
            "12 €%",
            "99999999999999999999999999999",
            "0,00000000000000000000000000001",
        ] {
            assert!(is_malformed(&parse_french_number(text)), "{text}");
        }
    }

    #[test]
    fn malformed_reasons_are_in_french() {
        assert_eq!(
            reason("318.765.75 €"),
            "groupe de chiffres « 75 » après un point : les milliers se séparent par groupes de 3"
        );
        assert_eq!(
            reason("1 00 000"),
            "groupe de chiffres « 00 » après une espace : les milliers se séparent par groupes de 3"
        );
        assert_eq!(reason("1..000"), "deux séparateurs de milliers qui se suivent");
        assert_eq!(
            reason("1234.567"),
            "premier groupe de chiffres « 1234 » trop long : les milliers se séparent par groupes de 3"
        );
    }

    #[test]
    fn placeholders_and_comments() {
        for text in ["nc", "NC", "n.c.", "N.C.", "NS", "n.s.", "ND", "n.d.", " nd "] {
            assert_eq!(parse_french_number(text), ParsedNumber::NotGiven, "{text}");
        }
        for (text, value, comment) in [
            ("21 (+2 et 1 sortie)", "21", "(+2 et 1 sortie)"),
            ("842 (1557 maintenus)", "842", "(1557 maintenus)"),
            ("73,5 en travaux", "73.5", "en travaux"),
            ("1 540 + 2 827 maintenus", "1540", "+ 2 827 maintenus"),
            ("12 ans", "12", "ans"),
            ("21(+2)", "21", "(+2)"),
        ] {
            match parse_french_number(text) {
                ParsedNumber::WithComment { value: v, comment: c } => {
                    assert_eq!(v.to_string(), value, "{text}");
                    assert_eq!(c, comment, "{text}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn plausible_readings() {
        assert_eq!(
            ParsedNumber::plausible_reading("318.765.75 €").as_deref(),
            Some("318 765,75 €")
        );
        assert_eq!(
            ParsedNumber::plausible_reading("10.214.00 €").as_deref(),
            Some("10 214,00 €")
        );
        assert_eq!(
            ParsedNumber::plausible_reading("365.740.50€").as_deref(),
            Some("365 740,50 €")
        );
        assert_eq!(ParsedNumber::plausible_reading("1.5").as_deref(), Some("1,5"));
        assert_eq!(ParsedNumber::plausible_reading("1 00 000"), None);
        assert_eq!(ParsedNumber::plausible_reading("1..000"), None);
        assert_eq!(ParsedNumber::plausible_reading("1,234.56"), None);
        assert_eq!(ParsedNumber::plausible_reading("12.34.567"), None);
    }

    #[test]
    fn not_numeric() {
        for text in ["En cours", "abc", "€", "%", "n/a", "1e5", "(12)", "M 12"] {
            assert_eq!(parse_french_number(text), ParsedNumber::NotNumeric, "{text}");
        }
    }

    #[test]
    fn unit_symbols() {
        assert_eq!(Unit::Euro.symbol(), "€");
        assert_eq!(Unit::KiloEuro.symbol(), "k€");
        assert_eq!(Unit::MegaEuro.symbol(), "M€");
        assert_eq!(Unit::BillionEuro.symbol(), "Md€");
        assert_eq!(Unit::Percent.symbol(), "%");
    }

    #[test]
    fn unit_from_label() {
        assert_eq!(Unit::from_label("Coût total (€)"), Some(Unit::Euro));
        assert_eq!(Unit::from_label("FEDER prévu PO (M€)"), Some(Unit::MegaEuro));
        assert_eq!(Unit::from_label("Part (%)"), Some(Unit::Percent));
        assert_eq!(Unit::from_label("Budget (k€)"), Some(Unit::KiloEuro));
        assert_eq!(Unit::from_label("Budget (Md€)"), Some(Unit::BillionEuro));
        assert_eq!(Unit::from_label("Budget (en M€) :"), Some(Unit::MegaEuro));
        assert_eq!(Unit::from_label("Budget ( € ) "), Some(Unit::Euro));
        assert_eq!(Unit::from_label("Projets R&D labellisés (cumul)"), None);
        assert_eq!(Unit::from_label("Nombre de dossiers"), None);
        assert_eq!(Unit::from_label("(€) Coût"), None);
        assert_eq!(Unit::from_label(")"), None);
    }
}
