//! French number formatting for messages and reports.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

/// Groups the digits of an integer by three with spaces: `17081618` → `17 081 618`.
/// Four-digit numbers stay whole (`2005`, `9999`), as French usage allows, so
/// years read as years.
pub fn int_fr(n: i128) -> String {
    let digits = n.unsigned_abs().to_string();
    if digits.len() <= 4 {
        return n.to_string();
    }
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(ch);
    }
    out
}

/// A decimal in French: thousands grouped, decimal comma, trailing zeros dropped.
pub fn decimal_fr(d: Decimal) -> String {
    let d = d.normalize();
    let int = d.trunc();
    let frac = (d - int).abs();
    let mut out = match int.to_i128() {
        Some(i) => int_fr(i),
        None => int.to_string(),
    };
    if d.is_sign_negative() && int.is_zero() && !frac.is_zero() {
        out.insert(0, '-');
    }
    if !frac.is_zero() {
        let s = frac.to_string();
        if let Some(digits) = s.strip_prefix("0.") {
            out.push(',');
            out.push_str(digits);
        }
    }
    out
}

/// A decimal rounded to `dp` places, in French.
pub fn decimal_fr_dp(d: Decimal, dp: u32) -> String {
    decimal_fr(d.round_dp(dp))
}

/// An amount in French, rounded to `dp` places, its digits always grouped by
/// three (`-9 000`, `1 048 596,5`): unlike [`decimal_fr`], a four-digit amount
/// is grouped too, since an amount is never read as a year.
pub fn amount_fr(d: Decimal, dp: u32) -> String {
    group_four_digits(&decimal_fr_dp(d, dp))
}

/// Groups a four-digit integer part that French formatting kept whole
/// (`-9000` → `-9 000`, `1048,5` → `1 048,5`); other texts are unchanged.
pub fn group_four_digits(text: &str) -> String {
    let (sign, rest) = match text.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", text),
    };
    let (int, frac) = match rest.split_once(',') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    let int = if int.len() == 4 && int.bytes().all(|b| b.is_ascii_digit()) {
        format!("{} {}", &int[..1], &int[1..])
    } else {
        int.to_string()
    };
    match frac {
        Some(f) => format!("{sign}{int},{f}"),
        None => format!("{sign}{int}"),
    }
}

/// A float as shown in a sheet excerpt: French grouping, up to 6 decimals.
pub fn number_plain(n: f64) -> String {
    if !n.is_finite() {
        return n.to_string();
    }
    match Decimal::from_f64_retain(n).or_else(|| n.to_string().parse().ok()) {
        Some(d) => decimal_fr(d.round_dp(6)),
        None => n.to_string(),
    }
}

/// Exact decimal of a cell's float: through its shortest text form, so that a
/// cell showing 318765.75 becomes exactly 318765.75 (not 318765.7499999…).
pub fn decimal_of_f64(n: f64) -> Option<Decimal> {
    if !n.is_finite() {
        return None;
    }
    let s = n.to_string();
    s.parse::<Decimal>()
        .ok()
        .or_else(|| Decimal::from_scientific(&format!("{n:e}")).ok())
}

/// The text with its first letter in capitals: `fichier illisible` → `Fichier illisible`.
/// Whether a figure reads as a year (a whole number from 1900 to 2100): shown
/// `2009`, never `2 009`, on a terminal and in every workbook.
pub fn reads_as_year(n: f64) -> bool {
    n.fract() == 0.0 && (1900.0..=2100.0).contains(&n)
}

/// Bytes in lower-case hexadecimal (a SHA-256 fingerprint, a token).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_grouping() {
        assert_eq!(int_fr(17_081_618), "17 081 618");
        assert_eq!(int_fr(-10_000), "-10 000");
        assert_eq!(int_fr(2005), "2005");
        assert_eq!(int_fr(999), "999");
        assert_eq!(decimal_fr(Decimal::new(26670, 2)), "266,7");
        assert_eq!(decimal_fr(Decimal::new(-5, 1)), "-0,5");
        assert_eq!(decimal_fr(Decimal::from(1_048_596)), "1 048 596");
        assert_eq!(decimal_of_f64(318765.75), Some(Decimal::new(31_876_575, 2)));
        assert_eq!(
            decimal_of_f64(0.1 + 0.2).map(|d| d.to_string()),
            Some("0.30000000000000004".into())
        );
    }
}
