//! Texts and figures for messages, ordinals, identifiers (SIRET).

use rhai::{Array, Dynamic, INT};
use rust_decimal::Decimal;

use crate::base::values::normalize_label;

/// `fixed(28.9, 2)` = « 28,90 »: exactly `dp` decimals, as a figure stated to
/// the hundredth is shown.
pub(super) fn fixed_fr(d: Decimal, dp: INT) -> String {
    use rust_decimal::prelude::ToPrimitive;
    let dp = dp.clamp(0, 10) as usize;
    let d = d.round_dp(dp as u32);
    let int = d.trunc();
    let mut out = int
        .to_i128()
        .map_or_else(|| int.to_string(), crate::base::format::int_fr);
    if d.is_sign_negative() && int.is_zero() && !d.is_zero() {
        out.insert(0, '-');
    }
    if dp > 0 {
        let frac = format!("{:.*}", dp, (d - int).abs());
        out.push(',');
        out.push_str(frac.get(2..).unwrap_or(""));
    }
    out
}

/// The runs of characters of a normalised label that `keep` accepts: its
/// words (`words`), or its words and numbers (`tokens`).
pub(super) fn label_parts(label: &str, keep: fn(char) -> bool) -> Array {
    normalize_label(label)
        .split(|c: char| !keep(c))
        .filter(|w| !w.is_empty())
        .map(|w| Dynamic::from(w.to_string()))
        .collect()
}

/// The digits (0–9) of a text, in order.
pub(super) fn digits_of(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// Why a SIRET as written is not one, in French; empty when it is one, or
/// when the text holds neither a digit nor anything but spaces. 14 digits
/// (spaces allowed), with a valid key: Luhn, or for La Poste's establishments
/// (`356000000…`) a digit sum that is a multiple of 5.
pub(super) fn siret_problem(text: &str) -> String {
    let digits = digits_of(text);
    let only_digits = text
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '\u{a0}' | '\u{202f}'));
    if digits.is_empty() && only_digits {
        return String::new();
    }
    if !only_digits || digits.len() != 14 {
        return format!("il faut 14 chiffres, il y en a {}", digits.len());
    }
    let values = digits.bytes().map(|b| u32::from(b - b'0'));
    if digits.starts_with("356000000") {
        if !values.sum::<u32>().is_multiple_of(5) {
            return "la clé de contrôle des établissements de La Poste est fausse".into();
        }
    } else {
        // Luhn from the right: in 14 digits, the even positions from the left doubled.
        let sum: u32 = values
            .enumerate()
            .map(|(n, d)| {
                if n % 2 == 0 {
                    if d * 2 > 9 {
                        d * 2 - 9
                    } else {
                        d * 2
                    }
                } else {
                    d
                }
            })
            .sum();
        if !sum.is_multiple_of(10) {
            return "la clé de contrôle (Luhn) est fausse : un chiffre est mal recopié".into();
        }
    }
    String::new()
}

/// `I`, `II`, `IV`… or `1`, `2`… (with an optional trailing `.`, `-` or `)`).
pub fn parse_ordinal(s: &str) -> Option<u32> {
    let t = s.trim().trim_end_matches(['.', '-', ')', ' ']).trim();
    if t.is_empty() {
        return None;
    }
    if let Ok(n) = t.parse::<u32>() {
        return Some(n);
    }
    let value = |c: char| match c.to_ascii_uppercase() {
        'I' => Some(1),
        'V' => Some(5),
        'X' => Some(10),
        'L' => Some(50),
        'C' => Some(100),
        _ => None,
    };
    let digits: Option<Vec<u32>> = t.chars().map(value).collect();
    let digits = digits?;
    let mut total = 0;
    for (i, d) in digits.iter().enumerate() {
        if digits.get(i + 1).is_some_and(|next| next > d) {
            total -= *d as i64;
        } else {
            total += *d as i64;
        }
    }
    u32::try_from(total).ok().filter(|n| *n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_keeps_the_stated_decimals() {
        assert_eq!(fixed_fr(Decimal::new(289, 1), 2), "28,90");
        assert_eq!(fixed_fr(Decimal::from(89), 2), "89,00");
        assert_eq!(fixed_fr(Decimal::new(8900444, 5), 0), "89");
    }

    #[test]
    fn siret_keys_are_checked_like_the_sirene_register() {
        // 732 829 320 00074: a valid Luhn key; one digit changed breaks it.
        assert_eq!(siret_problem("732 829 320 00074"), "");
        assert!(
            siret_problem("732 829 320 00075").contains("Luhn"),
            "{}",
            siret_problem("732 829 320 00075")
        );
        assert_eq!(siret_problem("7328293200007"), "il faut 14 chiffres, il y en a 13");
        assert_eq!(siret_problem("73282932O00074"), "il faut 14 chiffres, il y en a 13");
        assert_eq!(siret_problem("   "), "");
        // La Poste: digit sum a multiple of 5 (35600000000048: 3+5+6+4+8 = 26).
        assert!(siret_problem("35600000000048").contains("La Poste"));
        assert_eq!(siret_problem("35600000000001"), "");
    }
}
