//! Property tests of the value parsers (`bilan::base::values`): French numbers, dates as
//! intervals, label normalisation.

use bilan::base::values::{
    normalize_label, parse_french_date, parse_french_number, DateInterval, ParsedNumber, Precision, Unit,
};
use proptest::prelude::*;
use rust_decimal::Decimal;

/// Thousands separators a French number may use; `None` writes the digits unseparated.
const SEPARATORS: [Option<char>; 5] = [None, Some('.'), Some(' '), Some('\u{a0}'), Some('\u{202f}')];

/// Every spelling of a unit suffix the parser accepts, with the unit it means.
const UNIT_SPELLINGS: [(&str, Unit); 8] = [
    ("€", Unit::Euro),
    ("EUR", Unit::Euro),
    ("euros", Unit::Euro),
    ("k€", Unit::KiloEuro),
    ("K€", Unit::KiloEuro),
    ("M€", Unit::MegaEuro),
    ("Md€", Unit::BillionEuro),
    ("%", Unit::Percent),
];

/// Writes `integer` the French way: thousands grouped by 3 with `separator`.
fn french_digits(integer: u64, separator: Option<char>) -> String {
    let digits = integer.to_string();
    let first_group = match digits.len() % 3 {
        0 => 3,
        short => short,
    };
    let (first, rest) = digits.split_at(first_group);
    let mut out = first.to_string();
    for group in rest.as_bytes().chunks(3) {
        out.extend(separator);
        out.push_str(&String::from_utf8_lossy(group));
    }
    out
}

/// A number in French style with its expected value and unit.
fn french_number() -> impl Strategy<Value = (String, Decimal, Option<Unit>)> {
    (
        0u64..1_000_000_000_000,
        0u32..=2,
        0u64..100,
        any::<bool>(),
        proptest::sample::select(SEPARATORS.to_vec()),
        proptest::option::of(proptest::sample::select(UNIT_SPELLINGS.to_vec())),
        proptest::sample::select(vec!["", " ", "\u{a0}", "\u{202f}"]),
    )
        .prop_map(|(integer, scale, fraction, negative, separator, unit, space)| {
            let fraction = fraction % 10u64.pow(scale);
            let mut text = String::new();
            if negative {
                text.push('-');
            }
            text.push_str(&french_digits(integer, separator));
            if scale > 0 {
                text.push_str(&format!(",{fraction:0width$}", width = scale as usize));
            }
            if let Some((symbol, _)) = unit {
                text.push_str(space);
                text.push_str(symbol);
            }
            let mantissa = i128::from(integer) * 10i128.pow(scale) + i128::from(fraction);
            let mantissa = if negative { -mantissa } else { mantissa };
            let value = Decimal::from_i128_with_scale(mantissa, scale);
            (text, value, unit.map(|(_, unit)| unit))
        })
}

/// Any valid date interval of any precision, years 1000 to 9999.
fn interval() -> impl Strategy<Value = DateInterval> {
    let year = 1000i32..=9999;
    prop_oneof![
        (year.clone(), 1u32..=12, 1u32..=31).prop_filter_map("no such day", |(y, m, d)| DateInterval::day(y, m, d)),
        (year.clone(), 1u32..=12).prop_filter_map("month", |(y, m)| DateInterval::month(y, m)),
        (year.clone(), 1u32..=4).prop_filter_map("quarter", |(y, q)| DateInterval::quarter(y, q)),
        (year.clone(), 1u32..=2).prop_filter_map("semester", |(y, s)| DateInterval::semester(y, s)),
        year.clone().prop_filter_map("mid-year", DateInterval::mid_year),
        year.prop_filter_map("year", DateInterval::year),
    ]
}

/// Text made of the characters numbers, dates and labels are written with, to reach
/// the parsers' inner paths more often than arbitrary Unicode does.
const VALUE_LIKE: &str = "[0-9 .,/:+\\-\u{a0}\u{202f}\u{2212}–—’€%kKMdsEURTtSeèéêrmaijunovcfbpl()İﬁ\u{301}]{0,24}";

proptest! {
    #[test]
    fn french_numbers_parse_back((text, value, unit) in french_number()) {
        prop_assert_eq!(parse_french_number(&text), ParsedNumber::Number { value, unit }, "{:?}", text);
    }

    /// A readable number followed by a space and words is a number with a comment
    /// (spec 2: BILAN-SCH-001 "move the comment"), keeping the number's value.
    #[test]
    fn numbers_followed_by_words((text, value, _unit) in french_number(), word in "[b-df-hj-np-tv-z]{2,8}") {
        let with_words = format!("{text} {word}");
        let parsed = parse_french_number(&with_words);
        prop_assert!(
            matches!(&parsed, ParsedNumber::WithComment { value: v, .. } if *v == value),
            "{:?} → {:?}", with_words, parsed
        );
    }

    #[test]
    fn parse_french_number_never_panics(text in any::<String>()) {
        let _ = parse_french_number(&text);
    }

    #[test]
    fn parse_french_number_never_panics_on_number_like_text(text in VALUE_LIKE) {
        let _ = parse_french_number(&text);
    }

    #[test]
    fn parse_french_date_never_panics(text in any::<String>()) {
        let _ = parse_french_date(&text);
    }

    #[test]
    fn parse_french_date_never_panics_on_date_like_text(text in VALUE_LIKE) {
        let _ = parse_french_date(&text);
    }

    #[test]
    fn normalize_label_never_panics(text in any::<String>()) {
        let _ = normalize_label(&text);
    }

    /// Idempotent, except that only one trailing `:` is dropped per call (the contract):
    /// a label that still ends with `:` loses another one on the next call.
    #[test]
    fn normalize_label_is_idempotent(text in prop_oneof![any::<String>(), VALUE_LIKE]) {
        let once = normalize_label(&text);
        if !once.ends_with(':') {
            prop_assert_eq!(normalize_label(&once), once.clone(), "{:?}", text);
        }
    }

    #[test]
    fn canonical_round_trips(interval in interval()) {
        prop_assert_eq!(DateInterval::from_canonical(&interval.canonical()), Some(interval));
    }

    /// Both the canonical text and the French display read back as the same interval,
    /// except bare years outside 1900..=2100, which are not read as dates.
    #[test]
    fn canonical_and_display_parse_back(interval in interval()) {
        let readable = interval.precision != Precision::Year
            || (1900..=2100).contains(&interval.start.year);
        let expected = readable.then_some(interval);
        prop_assert_eq!(parse_french_date(&interval.canonical()), expected);
        prop_assert_eq!(parse_french_date(&interval.display_fr()), expected);
    }

    #[test]
    fn excel_serial_round_trips(y in 1900i32..=9999, m in 1u32..=12, d in 1u32..=31) {
        if let Some(day) = DateInterval::day(y, m, d) {
            prop_assert_eq!(DateInterval::from_excel_serial(day.to_excel_serial()), Some(day));
        }
    }

    #[test]
    fn every_excel_serial_but_60_is_a_day(serial in 1.0f64..2_958_466.0) {
        let day = DateInterval::from_excel_serial(serial);
        if serial.trunc() == 60.0 {
            prop_assert_eq!(day, None);
        } else {
            prop_assert_eq!(day.map(|d| d.to_excel_serial()), Some(serial.trunc()));
        }
    }

    #[test]
    fn is_before_is_a_strict_order(a in interval(), b in interval()) {
        prop_assert!(!a.is_before(&a));
        prop_assert!(!a.is_after(&a));
        if a.is_before(&b) {
            prop_assert!(!b.is_before(&a));
            prop_assert!(!a.is_after(&b));
        }
        prop_assert_eq!(a.is_before(&b), b.is_after(&a));
    }
}
