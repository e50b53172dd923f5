//! Dates as extraction writes them (canonical intervals): shares of a year, months added.

use rhai::{Dynamic, ImmutableString, INT};
use rust_decimal::Decimal;

use crate::base::values::DateInterval;

use super::*;

/// The share of `exercice` elapsed at the end of the cut-off date, in days
/// (31/03/2010 in 2010: 90/365), when the cut-off falls inside the exercice;
/// 1 otherwise (or when either is unreadable).
pub(super) fn elapsed_share(cut_off: &Dynamic, exercice: &Dynamic) -> Decimal {
    let date = cut_off
        .clone()
        .try_cast::<ImmutableString>()
        .and_then(|s| DateInterval::from_canonical(&s));
    let year = as_decimal(exercice)
        .filter(|d| d.fract().is_zero())
        .and_then(|d| rust_decimal::prelude::ToPrimitive::to_i32(&d));
    match (date, year) {
        (Some(d), Some(y)) if d.end.year == y => {
            let days = crate::base::values::date::days_in_year(y);
            if days == 0 {
                return Decimal::ONE;
            }
            Decimal::from(d.end.ordinal()) / Decimal::from(days)
        }
        _ => Decimal::ONE,
    }
}

pub(super) fn interval(s: &str) -> Option<DateInterval> {
    DateInterval::from_canonical(s)
}

/// A day plus `n` calendar months (the day clamped to the month's last day),
/// canonical; `None` unless `date` is a day.
pub(super) fn add_months(date: &str, n: INT) -> Option<String> {
    let d = interval(date).filter(|d| d.precision == crate::base::values::Precision::Day)?;
    let months = i64::from(d.start.year) * 12 + i64::from(d.start.month) - 1 + n;
    let year = i32::try_from(months.div_euclid(12)).ok()?;
    let month = u32::try_from(months.rem_euclid(12)).ok()? + 1;
    let day = (1..=d.start.day)
        .rev()
        .find_map(|day| DateInterval::day(year, month, day))?;
    Some(day.canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_months_clamps_to_the_month_end() {
        assert_eq!(add_months("2009-08-31", 6).as_deref(), Some("2010-02-28"));
        assert_eq!(add_months("2011-08-31", 6).as_deref(), Some("2012-02-29"));
        assert_eq!(add_months("2009-01-15", 6).as_deref(), Some("2009-07-15"));
        assert_eq!(add_months("2009-T1", 6), None);
    }

    #[test]
    fn elapsed_share_in_days() {
        let share = elapsed_share(
            &Dynamic::from("2010-03-31".to_string()),
            &Dynamic::from_decimal(Decimal::from(2010)),
        );
        assert_eq!(share, Decimal::from(90) / Decimal::from(365));
        let outside = elapsed_share(
            &Dynamic::from("2010-03-31".to_string()),
            &Dynamic::from_decimal(Decimal::from(2009)),
        );
        assert_eq!(outside, Decimal::ONE);
    }
}
