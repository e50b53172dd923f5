//! Tests of `date` (kept apart: the module is long enough without them).

use super::*;

fn day(y: i32, m: u32, d: u32) -> Option<DateInterval> {
    DateInterval::day(y, m, d)
}

fn parsed_canonical(text: &str) -> Option<String> {
    parse_french_date(text).map(|d| d.canonical())
}

#[test]
fn days() {
    for text in [
        "31/03/2010",
        "31/3/2010",
        "31-03-2010",
        "31.03.2010",
        "2010-03-31",
        "31 / 03 / 2010",
        "31 mars 2010",
        "mercredi 31 mars 2010",
        "2010-03-31T00:00:00",
        " 31/03/2010 ",
    ] {
        assert_eq!(parse_french_date(text), day(2010, 3, 31), "{text}");
    }
    assert_eq!(parse_french_date("2 juin 2010"), day(2010, 6, 2));
    assert_eq!(parse_french_date("1er juin 2010"), day(2010, 6, 1));
    assert_eq!(parse_french_date("1ᵉʳ juin 2010"), day(2010, 6, 1));
    assert_eq!(parse_french_date("29 juin 2009"), day(2009, 6, 29));
    assert_eq!(parse_french_date("18 Juin 2009"), day(2009, 6, 18));
    assert_eq!(parse_french_date("13 août 2004"), day(2004, 8, 13));
    assert_eq!(parse_french_date("13 aout 2004"), day(2004, 8, 13));
    assert_eq!(parse_french_date("17 DÉCEMBRE 2008"), day(2008, 12, 17));
    assert_eq!(parse_french_date("29/02/2008"), day(2008, 2, 29));
}

#[test]
fn months() {
    let cases = [
        ("Juin 2010", "2010-06"),
        ("juin 2010", "2010-06"),
        ("Mars 2009", "2009-03"),
        ("06/2010", "2010-06"),
        ("6/2010", "2010-06"),
        ("2010-06", "2010-06"),
        ("février 2010", "2010-02"),
        ("fevrier 2010", "2010-02"),
        ("févr. 2010", "2010-02"),
        ("janv. 2010", "2010-01"),
        ("sept. 2009", "2009-09"),
        ("Août 2009", "2009-08"),
        ("décembre 2009", "2009-12"),
    ];
    for (text, canonical) in cases {
        assert_eq!(parsed_canonical(text).as_deref(), Some(canonical), "{text}");
    }
}

#[test]
fn spec_2_forms() {
    let cases = [
        ("15/03/10", "2010-03-15"),
        ("31/03/10", "2010-03-31"),
        ("juin-10", "2010-06"),
        ("juin 10", "2010-06"),
        ("Juin-2010", "2010-06"),
        ("06/2010", "2010-06"),
        ("T1 2010", "2010-T1"),
        ("1er trimestre 2010", "2010-T1"),
        ("premier trimestre 2010", "2010-T1"),
        ("4ème trimestre 2009", "2009-T4"),
        ("S2 2008", "2008-S2"),
        ("courant 2010", "2010"),
        ("Courant 2010", "2010"),
        ("début 2010", "2010-T1"),
        ("Début 2010", "2010-T1"),
        ("mi-2010", "2010-MI"),
        ("mi 2010", "2010-MI"),
        ("fin 2009", "2009-T4"),
        ("Fin 2009", "2009-T4"),
    ];
    for (text, canonical) in cases {
        assert_eq!(parsed_canonical(text).as_deref(), Some(canonical), "{text}");
    }
    let mid = DateInterval::mid_year(2010);
    assert_eq!(
        mid.map(|d| (d.start, d.end)),
        Some((
            Ymd {
                year: 2010,
                month: 6,
                day: 1
            },
            Ymd {
                year: 2010,
                month: 7,
                day: 31
            }
        ))
    );
    assert_eq!(mid.map(|d| d.display_fr()).as_deref(), Some("mi-2010"));
    assert_eq!(DateInterval::from_canonical("2010-MI"), mid);
}

#[test]
fn quarters_semesters_years() {
    let cases = [
        ("1er semestre 2009", "2009-S1"),
        ("2ème semestre 2008", "2008-S2"),
        ("2e semestre 2008", "2008-S2"),
        ("second semestre 2008", "2008-S2"),
        ("Premier semestre 2009", "2009-S1"),
        ("S1 2009", "2009-S1"),
        ("s2 2009", "2009-S2"),
        ("2009-S1", "2009-S1"),
        ("1er trimestre 2010", "2010-T1"),
        ("1ER TRIMESTRE 2010", "2010-T1"),
        ("3ème trimestre 2009", "2009-T3"),
        ("T1 2010", "2010-T1"),
        ("2010-T4", "2010-T4"),
        ("2009", "2009"),
        ("1900", "1900"),
        ("2100", "2100"),
    ];
    for (text, canonical) in cases {
        assert_eq!(parsed_canonical(text).as_deref(), Some(canonical), "{text}");
    }
}

#[test]
fn unreadable() {
    for text in [
        "",
        "   ",
        "31/02/2010",
        "29/02/2009",
        "32/01/2010",
        "13/2010",
        "06/10",
        "1899",
        "2101",
        "40268",
        "3e semestre 2009",
        "5e trimestre 2009",
        "S3 2009",
        "2e juin 2010",
        "en cours",
        "31/03-2010",
        "-2009",
        "20 09",
        "2010-03-31Tabc",
    ] {
        assert_eq!(parse_french_date(text), None, "{text:?}");
    }
}

#[test]
fn constructors_validate() {
    assert!(DateInterval::day(2008, 2, 29).is_some());
    assert!(DateInterval::day(1900, 2, 29).is_none());
    assert!(DateInterval::day(2000, 2, 29).is_some());
    assert!(DateInterval::day(2010, 4, 31).is_none());
    assert!(DateInterval::day(999, 1, 1).is_none());
    assert!(DateInterval::day(10000, 1, 1).is_none());
    assert!(DateInterval::month(2010, 13).is_none());
    assert!(DateInterval::month(2010, 0).is_none());
    assert!(DateInterval::quarter(2010, 0).is_none());
    assert!(DateInterval::quarter(2010, 5).is_none());
    assert!(DateInterval::semester(2010, 3).is_none());
    assert!(DateInterval::year(1000).is_some());
    assert!(DateInterval::year(9999).is_some());
    assert!(DateInterval::year(999).is_none());
}

#[test]
fn interval_bounds() {
    let february = DateInterval::month(2008, 2);
    assert_eq!(february.map(|d| d.end), Ymd::new(2008, 2, 29));
    let semester = DateInterval::semester(2009, 2);
    assert_eq!(
        semester.map(|d| (d.start, d.end)),
        Some((
            Ymd {
                year: 2009,
                month: 7,
                day: 1
            },
            Ymd {
                year: 2009,
                month: 12,
                day: 31
            },
        ))
    );
    let quarter = DateInterval::quarter(2010, 1);
    assert_eq!(quarter.map(|d| d.end), Ymd::new(2010, 3, 31));
}

#[test]
fn canonical_and_display() {
    let cases = [
        (day(2010, 3, 31), "2010-03-31", "31/03/2010"),
        (DateInterval::month(2010, 6), "2010-06", "juin 2010"),
        (DateInterval::quarter(2010, 1), "2010-T1", "1er trimestre 2010"),
        (DateInterval::quarter(2009, 3), "2009-T3", "3e trimestre 2009"),
        (DateInterval::semester(2009, 1), "2009-S1", "1er semestre 2009"),
        (DateInterval::semester(2008, 2), "2008-S2", "2e semestre 2008"),
        (DateInterval::year(2009), "2009", "2009"),
    ];
    for (interval, canonical, display) in cases {
        assert_eq!(interval.map(|d| d.canonical()).as_deref(), Some(canonical));
        assert_eq!(interval.map(|d| d.display_fr()).as_deref(), Some(display));
        assert_eq!(DateInterval::from_canonical(canonical), interval);
    }
    assert_eq!(
        DateInterval::month(2009, 8).map(|d| d.display_fr()).as_deref(),
        Some("août 2009")
    );
}

#[test]
fn from_canonical_is_strict() {
    for text in [
        "2010-3",
        "2010-3-31",
        "2010-T5",
        "2010-S0",
        "2010-t1",
        "10",
        "2010-",
        "2010-03-31-1",
        " 2010",
        "2010-13",
    ] {
        assert_eq!(DateInterval::from_canonical(text), None, "{text}");
    }
}

/// Whether `a` is before `b`, both read as French dates.
fn before(a: &str, b: &str) -> Option<bool> {
    Some(parse_french_date(a)?.is_before(&parse_french_date(b)?))
}

/// Whether `a` is after `b`, both read as French dates.
fn after(a: &str, b: &str) -> Option<bool> {
    Some(parse_french_date(a)?.is_after(&parse_french_date(b)?))
}

#[test]
fn overlapping_intervals_are_in_order_either_way() {
    for (a, b) in [
        ("29 juin 2009", "1er semestre 2009"),
        ("1er semestre 2009", "29 juin 2009"),
        ("30/06/2009", "1er semestre 2009"),
        ("01/01/2009", "2009"),
        ("juin 2009", "2e trimestre 2009"),
        ("31/03/2010", "31/03/2010"),
    ] {
        assert_eq!(before(a, b), Some(false), "{a} before {b}");
        assert_eq!(after(a, b), Some(false), "{a} after {b}");
    }
}

#[test]
fn strictly_before_and_after() {
    for (earlier, later) in [
        ("31/03/2010", "2 juin 2010"),
        ("1er semestre 2009", "2e semestre 2009"),
        ("30/06/2009", "2e semestre 2009"),
        ("2008", "1er trimestre 2009"),
        ("mars 2010", "01/04/2010"),
    ] {
        assert_eq!(before(earlier, later), Some(true), "{earlier} before {later}");
        assert_eq!(after(later, earlier), Some(true), "{later} after {earlier}");
        assert_eq!(before(later, earlier), Some(false), "{later} before {earlier}");
        assert_eq!(after(earlier, later), Some(false), "{earlier} after {later}");
    }
}

#[test]
fn excel_serials() {
    assert_eq!(DateInterval::from_excel_serial(40268.0), day(2010, 3, 31));
    assert_eq!(DateInterval::from_excel_serial(40268.75), day(2010, 3, 31));
    assert_eq!(DateInterval::from_excel_serial(1.0), day(1900, 1, 1));
    assert_eq!(DateInterval::from_excel_serial(59.0), day(1900, 2, 28));
    assert_eq!(DateInterval::from_excel_serial(60.0), None);
    assert_eq!(DateInterval::from_excel_serial(61.0), day(1900, 3, 1));
    assert_eq!(DateInterval::from_excel_serial(2_958_465.0), day(9999, 12, 31));
    assert_eq!(DateInterval::from_excel_serial(2_958_466.0), None);
    assert_eq!(DateInterval::from_excel_serial(0.0), None);
    assert_eq!(DateInterval::from_excel_serial(0.5), None);
    assert_eq!(DateInterval::from_excel_serial(-1.0), None);
    assert_eq!(DateInterval::from_excel_serial(f64::NAN), None);
    assert_eq!(DateInterval::from_excel_serial(f64::INFINITY), None);
    assert_eq!(DateInterval::from_excel_serial(1e300), None);

    assert_eq!(day(2010, 3, 31).map(|d| d.to_excel_serial()), Some(40268.0));
    assert_eq!(day(1900, 1, 1).map(|d| d.to_excel_serial()), Some(1.0));
    assert_eq!(day(1900, 2, 28).map(|d| d.to_excel_serial()), Some(59.0));
    assert_eq!(day(1900, 3, 1).map(|d| d.to_excel_serial()), Some(61.0));
    assert_eq!(DateInterval::month(2010, 3).map(|d| d.to_excel_serial()), Some(40238.0));
}

#[test]
fn iso() {
    assert_eq!(DateInterval::from_iso("2024-03-31"), day(2024, 3, 31));
    assert_eq!(DateInterval::from_iso("2024-03-31T00:00:00"), day(2024, 3, 31));
    assert_eq!(DateInterval::from_iso("2024-03-31T12:30:00.000"), day(2024, 3, 31));
    assert_eq!(DateInterval::from_iso("2024-02-30"), None);
    assert_eq!(DateInterval::from_iso("2024-3-31"), None);
    assert_eq!(DateInterval::from_iso("2024-03-31T"), None);
    assert_eq!(DateInterval::from_iso("31/03/2024"), None);
}

#[test]
fn day_counts() {
    assert_eq!(days_in_month(2008, 2), 29);
    assert_eq!(days_in_month(1900, 2), 28);
    assert_eq!(days_in_month(2010, 13), 0);
    assert_eq!(days_in_year(2010), 365);
    assert_eq!(days_in_year(2008), 366);
    assert_eq!(Ymd::new(2010, 3, 31).map(Ymd::ordinal), Some(90));
}
