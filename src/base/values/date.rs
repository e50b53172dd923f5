//! Dates as intervals: `31/03/2010` is one day, `Juin 2010` a month,
//! `1er semestre 2009` six months, `2009` a year.
//!
//! See `spec/templates.md`, "Values": A is strictly before B when A ends before B
//! starts; overlapping intervals (`29 juin 2009` and `1er semestre 2009`) are in order
//! either way.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use super::label::normalize_label;

/// A calendar day (proleptic Gregorian calendar). Ordered chronologically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ymd {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Ymd {
    /// A real calendar day of a year from 1000 to 9999, or `None`.
    pub fn new(year: i32, month: u32, day: u32) -> Option<Ymd> {
        let valid = (1000..=9999).contains(&year) && NaiveDate::from_ymd_opt(year, month, day).is_some();
        valid.then_some(Ymd { year, month, day })
    }

    /// The same day as a `chrono` date (always valid by construction).
    pub fn to_naive(self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.year, self.month, self.day)
    }

    fn from_naive(d: NaiveDate) -> Option<Ymd> {
        Ymd::new(d.year(), d.month(), d.day())
    }

    /// The day of the year, 1 for 1 January.
    pub fn ordinal(self) -> u32 {
        self.to_naive().map_or(0, |d| d.ordinal())
    }
}

/// How much of the calendar a date covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Precision {
    Day,
    Month,
    Quarter,
    Semester,
    /// `mi-2010`: June and July.
    MidYear,
    Year,
}

/// A date as the interval of days it covers, from `start` to `end` inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateInterval {
    pub start: Ymd,
    pub end: Ymd,
    pub precision: Precision,
}

/// French month names, January first.
const MONTHS_FR: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// Excel 1900 date system: serial 0 is 1899-12-30 for every date from 1900-03-01 on.
const EXCEL_EPOCH: (i32, u32, u32) = (1899, 12, 30);

fn excel_epoch() -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(EXCEL_EPOCH.0, EXCEL_EPOCH.1, EXCEL_EPOCH.2)
}

impl DateInterval {
    /// One day; `None` if it does not exist (`31/02/2010`) or the year is outside 1000..=9999.
    pub fn day(year: i32, month: u32, day: u32) -> Option<Self> {
        let ymd = Ymd::new(year, month, day)?;
        Some(DateInterval {
            start: ymd,
            end: ymd,
            precision: Precision::Day,
        })
    }

    /// A month (1 to 12).
    pub fn month(year: i32, month: u32) -> Option<Self> {
        Self::months(year, month, month, Precision::Month)
    }

    /// A quarter (1 to 4): `quarter(2010, 1)` is January to March 2010.
    pub fn quarter(year: i32, quarter: u32) -> Option<Self> {
        if !(1..=4).contains(&quarter) {
            return None;
        }
        Self::months(year, 3 * quarter - 2, 3 * quarter, Precision::Quarter)
    }

    /// A semester (1 or 2): `semester(2009, 1)` is January to June 2009.
    pub fn semester(year: i32, semester: u32) -> Option<Self> {
        if !(1..=2).contains(&semester) {
            return None;
        }
        Self::months(year, 6 * semester - 5, 6 * semester, Precision::Semester)
    }

    /// A whole year.
    pub fn year(year: i32) -> Option<Self> {
        Self::months(year, 1, 12, Precision::Year)
    }

    /// `mi-2010`: June and July of the year.
    pub fn mid_year(year: i32) -> Option<Self> {
        Self::months(year, 6, 7, Precision::MidYear)
    }

    /// From the first day of `first` to the last day of `last`, in `year`.
    fn months(year: i32, first: u32, last: u32, precision: Precision) -> Option<Self> {
        Some(DateInterval {
            start: Ymd::new(year, first, 1)?,
            end: Ymd::new(year, last, days_in_month(year, last))?,
            precision,
        })
    }

    /// Canonical text: `2010-03-31` (day), `2010-06` (month), `2010-T1` (quarter),
    /// `2009-S1` (semester), `2010-MI` (mid-year: June and July), `2009` (year).
    pub fn canonical(&self) -> String {
        let Ymd { year, month, day } = self.start;
        match self.precision {
            Precision::Day => format!("{year:04}-{month:02}-{day:02}"),
            Precision::Month => format!("{year:04}-{month:02}"),
            Precision::Quarter => format!("{year:04}-T{}", quarter_of(month)),
            Precision::Semester => format!("{year:04}-S{}", semester_of(month)),
            Precision::MidYear => format!("{year:04}-MI"),
            Precision::Year => format!("{year:04}"),
        }
    }

    /// Reads the canonical text written by [`DateInterval::canonical`], strictly.
    pub fn from_canonical(s: &str) -> Option<Self> {
        let parts: Vec<&str> = s.split('-').collect();
        match parts.as_slice() {
            [year] => Self::year(digits(year, 4)?),
            [year, period] => {
                let year = digits(year, 4)?;
                if *period == "MI" {
                    Self::mid_year(year)
                } else if let Some(quarter) = period.strip_prefix('T') {
                    Self::quarter(year, digits(quarter, 1)?)
                } else if let Some(semester) = period.strip_prefix('S') {
                    Self::semester(year, digits(semester, 1)?)
                } else {
                    Self::month(year, digits(period, 2)?)
                }
            }
            [year, month, day] => Self::day(digits(year, 4)?, digits(month, 2)?, digits(day, 2)?),
            _ => None,
        }
    }

    /// Strictly before: this interval ends before `other` starts. Overlapping
    /// intervals (`29 juin 2009`, `1er semestre 2009`) are neither before nor after
    /// each other, so they are in order either way.
    pub fn is_before(&self, other: &Self) -> bool {
        self.end < other.start
    }

    /// Strictly after: this interval starts after `other` ends.
    pub fn is_after(&self, other: &Self) -> bool {
        self.start > other.end
    }

    /// French display: `31/03/2010`, `juin 2010`, `1er trimestre 2010`,
    /// `1er semestre 2009`, `2e semestre 2008`, `2009`.
    pub fn display_fr(&self) -> String {
        let Ymd { year, month, day } = self.start;
        match self.precision {
            Precision::Day => format!("{day:02}/{month:02}/{year:04}"),
            Precision::Month => format!("{} {year}", month_name(month)),
            Precision::Quarter => format!("{} trimestre {year}", ordinal_fr(quarter_of(month))),
            Precision::Semester => format!("{} semestre {year}", ordinal_fr(semester_of(month))),
            Precision::MidYear => format!("mi-{year}"),
            Precision::Year => format!("{year}"),
        }
    }

    /// The day of an Excel serial number (1900 date system).
    ///
    /// Excel counts 1900 as a leap year: serial 60 is 29/02/1900, which does not exist
    /// (`None`), and serials from 61 on are one more than the day count from
    /// 1899-12-31. The fractional part (time of day) is ignored. `None` for serials
    /// below 1, not finite, or after 9999-12-31.
    pub fn from_excel_serial(serial: f64) -> Option<Self> {
        if !serial.is_finite() || !(1.0..3_000_000.0).contains(&serial) {
            return None;
        }
        let serial = serial.trunc() as i64;
        let days = match serial {
            60 => return None,
            s if s < 60 => s + 1,
            s => s,
        };
        let date = excel_epoch()?.checked_add_days(chrono::Days::new(u64::try_from(days).ok()?))?;
        let ymd = Ymd::from_naive(date)?;
        Self::day(ymd.year, ymd.month, ymd.day)
    }

    /// The Excel serial number (1900 date system) of the interval's first day.
    ///
    /// Days before 1900-01-01 have no serial: the result is then 0 or negative.
    pub fn to_excel_serial(&self) -> f64 {
        let (Some(epoch), Some(start)) = (excel_epoch(), self.start.to_naive()) else {
            return 0.0;
        };
        let days = (start - epoch).num_days();
        // Before the phantom 29/02/1900, Excel counts one day less.
        let serial = if (self.start.year, self.start.month) < (1900, 3) {
            days - 1
        } else {
            days
        };
        serial as f64
    }

    /// An ISO day, `2024-03-31`, possibly followed by a time (`2024-03-31T00:00:00`,
    /// what calamine gives for ODS dates); the time is ignored.
    pub fn from_iso(s: &str) -> Option<Self> {
        let s = s.trim();
        let (date, time) = match s.split_once(['T', 't', ' ']) {
            Some((date, time)) => (date, Some(time)),
            None => (s, None),
        };
        let time_ok = time
            .is_none_or(|time| !time.is_empty() && time.chars().all(|c| c.is_ascii_digit() || c == ':' || c == '.'));
        if !time_ok {
            return None;
        }
        match date.split('-').collect::<Vec<_>>().as_slice() {
            [year, month, day] => Self::day(digits(year, 4)?, digits(month, 2)?, digits(day, 2)?),
            _ => None,
        }
    }
}

/// Reads a date written in French, as an interval; `None` when unreadable.
///
/// Case, accents and spacing do not matter. Read forms:
/// - days: `31/03/2010`, `31/3/2010`, `31-03-2010`, `31.03.2010`, `2010-03-31`,
///   `2 juin 2010`, `1er juin 2010`, `mardi 2 juin 2010`, `2010-03-31T00:00:00`;
/// - months: `Juin 2010`, `janv. 2010`, `06/2010`, `2010-06`;
/// - quarters: `1er trimestre 2010`, `premier trimestre 2010`, `4ème trimestre 2009`,
///   `T1 2010`, `2010-T1`;
/// - semesters: `1er semestre 2009`, `2ème semestre 2008`, `second semestre 2008`,
///   `S1 2009`, `2009-S1`;
/// - years: `2009`, from 1900 to 2100 only, `courant 2010`;
/// - parts of a year: `début 2010` (first quarter), `mi-2010` (June and July),
///   `fin 2009` (fourth quarter).
///
/// Month names may be full or abbreviated (`févr.`, `sept.`), with or without
/// accents. Two-digit years are 2000–2099 in days (`31/03/10`) and months written
/// with a name (`juin-10`); `06/10` stays unreadable (day and month or month and
/// year?). Impossible days (`31/02/2010`) give `None`.
pub fn parse_french_date(s: &str) -> Option<DateInterval> {
    let text = normalize_label(s);
    parse_numeric(&text)
        .or_else(|| DateInterval::from_iso(&text))
        .or_else(|| parse_words(&words(&text)))
}

/// Dates written with digits only: `31/03/2010`, `06/2010`, `2010-03-31`, `2009`.
fn parse_numeric(text: &str) -> Option<DateInterval> {
    let is_separator = |c: char| matches!(c, '/' | '.' | '-');
    if !text.chars().all(|c| c.is_ascii_digit() || c == ' ' || is_separator(c)) {
        return None;
    }
    let mut separators = text.chars().filter(|c| is_separator(*c));
    if let Some(first) = separators.next() {
        if separators.any(|c| c != first) {
            return None;
        }
    }
    let parts: Vec<&str> = text.split(is_separator).map(str::trim).collect();
    let short = |part: &str| (1..=2).contains(&part.len());
    match parts.as_slice() {
        [year] => {
            let year = digits(year, 4)?;
            (1900..=2100)
                .contains(&year)
                .then(|| DateInterval::year(year))
                .flatten()
        }
        [month, year] if short(month) => DateInterval::month(digits(year, 4)?, digits_upto2(month)?),
        [year, month] if short(month) => DateInterval::month(digits(year, 4)?, digits_upto2(month)?),
        [day, month, year] if short(day) && short(month) => {
            DateInterval::day(year_of(year)?, digits_upto2(month)?, digits_upto2(day)?)
        }
        [year, month, day] if short(day) && short(month) => {
            DateInterval::day(digits(year, 4)?, digits_upto2(month)?, digits_upto2(day)?)
        }
        _ => None,
    }
}

/// Dates with words: `1er juin 2010`, `Juin 2010`, `2e semestre 2008`, `T1 2010`.
fn parse_words(words: &[&str]) -> Option<DateInterval> {
    let words = match words.split_first() {
        Some((first, rest)) if is_weekday(first) => rest,
        _ => words,
    };
    match words {
        [day, "er", month, year] if *day == "1" && month_number(month).is_some() => {
            DateInterval::day(year_of(year)?, month_number(month)?, 1)
        }
        [day, month, year] if month_number(month).is_some() => {
            DateInterval::day(year_of(year)?, month_number(month)?, digits_upto2(day)?)
        }
        [month, year] if month_number(month).is_some() => DateInterval::month(year_of(year)?, month_number(month)?),
        ["debut", "de" | "d", year] | ["debut", year] => DateInterval::quarter(digits(year, 4)?, 1),
        ["fin", "de" | "d", year] | ["fin", year] => DateInterval::quarter(digits(year, 4)?, 4),
        ["mi", year] | [year, "mi"] => DateInterval::mid_year(digits(year, 4)?),
        ["courant", "de" | "d", year] | ["courant", year] | ["dans", "le", "courant", "de" | "d", year] => {
            DateInterval::year(digits(year, 4)?)
        }
        ["s", n, year] | [year, "s", n] => DateInterval::semester(digits(year, 4)?, digits(n, 1)?),
        ["t", n, year] | [year, "t", n] => DateInterval::quarter(digits(year, 4)?, digits(n, 1)?),
        [ordinal @ .., period, year] => {
            let year = digits(year, 4)?;
            let n = ordinal_number(ordinal)?;
            match *period {
                "semestre" | "sem" => DateInterval::semester(year, n),
                "trimestre" | "trim" => DateInterval::quarter(year, n),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Splits normalised text into runs of digits and runs of letters; anything else
/// (spaces, punctuation) only separates them. `1er juin.2010` gives `1`, `er`, `juin`, `2010`.
fn words(text: &str) -> Vec<&str> {
    #[derive(PartialEq, Clone, Copy)]
    enum Kind {
        Digit,
        Letter,
        Other,
    }
    let kind = |c: char| {
        if c.is_ascii_digit() {
            Kind::Digit
        } else if c.is_alphabetic() {
            Kind::Letter
        } else {
            Kind::Other
        }
    };
    let mut words = Vec::new();
    let mut current: Option<(usize, Kind)> = None;
    for (index, c) in text.char_indices() {
        let k = kind(c);
        match current {
            Some((_, current_kind)) if current_kind == k => {}
            _ => {
                if let Some((start, current_kind)) = current {
                    if current_kind != Kind::Other {
                        words.extend(text.get(start..index));
                    }
                }
                current = Some((index, k));
            }
        }
    }
    if let Some((start, current_kind)) = current {
        if current_kind != Kind::Other {
            words.extend(text.get(start..));
        }
    }
    words
}

/// `1`, `1 er`, `2 eme`, `2 e`, `2 nd`, `premier`, `second`, `deuxieme`, … as a number.
fn ordinal_number(words: &[&str]) -> Option<u32> {
    match words {
        [n] if n.chars().all(|c| c.is_ascii_digit()) => digits(n, 1),
        [n, "er" | "ere" | "re" | "e" | "eme" | "nd" | "nde"] => digits(n, 1),
        ["premier" | "premiere"] => Some(1),
        ["second" | "seconde" | "deuxieme"] => Some(2),
        ["troisieme"] => Some(3),
        ["quatrieme"] => Some(4),
        _ => None,
    }
}

/// The month (1 to 12) of a normalised French month name or abbreviation.
fn month_number(word: &str) -> Option<u32> {
    let month = match word {
        "janvier" | "janv" | "jan" => 1,
        "fevrier" | "fevr" | "fev" => 2,
        "mars" | "mar" => 3,
        "avril" | "avr" => 4,
        "mai" => 5,
        "juin" => 6,
        "juillet" | "juil" => 7,
        "aout" => 8,
        "septembre" | "sept" | "sep" => 9,
        "octobre" | "oct" => 10,
        "novembre" | "nov" => 11,
        "decembre" | "dec" => 12,
        _ => return None,
    };
    Some(month)
}

fn is_weekday(word: &str) -> bool {
    matches!(
        word,
        "lundi" | "mardi" | "mercredi" | "jeudi" | "vendredi" | "samedi" | "dimanche"
    )
}

/// A number written with exactly `len` ASCII digits.
fn digits<T: std::str::FromStr>(s: &str, len: usize) -> Option<T> {
    (s.len() == len && s.chars().all(|c| c.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// A year of four digits, or of two digits meaning 2000–2099 (`10` is 2010).
fn year_of(s: &str) -> Option<i32> {
    digits(s, 4).or_else(|| digits::<i32>(s, 2).map(|y| 2000 + y))
}

/// A number written with one or two ASCII digits.
fn digits_upto2(s: &str) -> Option<u32> {
    digits(s, 1).or_else(|| digits(s, 2))
}

/// `1er`, `2e`, `3e`, `4e`.
fn ordinal_fr(n: u32) -> String {
    if n == 1 {
        "1er".to_string()
    } else {
        format!("{n}e")
    }
}

fn quarter_of(month: u32) -> u32 {
    month.div_ceil(3)
}

fn semester_of(month: u32) -> u32 {
    month.div_ceil(6)
}

/// The French name of a month from 1 to 12.
fn month_name(month: u32) -> &'static str {
    usize::try_from(month)
        .ok()
        .and_then(|month| month.checked_sub(1))
        .and_then(|index| MONTHS_FR.get(index))
        .map_or("?", |name| *name)
}

/// Number of days in a month (0 for a month outside 1..=12 or a year chrono cannot hold).
fn days_in_month(year: i32, month: u32) -> u32 {
    let first = NaiveDate::from_ymd_opt(year, month, 1);
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    match (first, next) {
        (Some(a), Some(b)) => u32::try_from((b - a).num_days()).unwrap_or(0),
        _ => 0,
    }
}

/// Number of days in a year: 365 or 366.
pub fn days_in_year(year: i32) -> u32 {
    (1..=12).map(|m| days_in_month(year, m)).sum()
}

impl serde::Serialize for DateInterval {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.canonical())
    }
}

impl<'de> serde::Deserialize<'de> for DateInterval {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DateInterval::from_canonical(&s).ok_or_else(|| serde::de::Error::custom(format!("date invalide : {s}")))
    }
}

#[cfg(test)]
#[path = "date_tests.rs"]
mod tests;
