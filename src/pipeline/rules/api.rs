//! What a rule script can call, and the conversion of data into Rhai values.
//!
//! Numbers reach scripts as exact decimals (`rhai` is built with `decimal` and
//! `no_float`), so money never suffers float noise.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::Instant;

use rhai::{Array, Dynamic, Engine, ImmutableString, Map, NativeCallContext, INT};
use rust_decimal::Decimal;
use serde_json::Value;

use crate::base::format::{decimal_fr, decimal_fr_dp};
use crate::base::model::Origin;
use crate::base::values::{normalize_label, DateInterval};

/// What a script said with `report(...)`.
#[derive(Debug, Clone, Default)]
pub struct Reported {
    pub pointer: String,
    pub message: String,
    pub expected: Option<Decimal>,
    pub actual: Option<Decimal>,
    pub difference: Option<Decimal>,
    pub tolerance: Option<Decimal>,
    /// Pointers whose cells the finding covers (a row, several cells).
    pub range: Vec<String>,
    /// Line of the `report` call in the rule file.
    pub line: Option<usize>,
}

thread_local! {
    static REPORTS: RefCell<Vec<Reported>> = const { RefCell::new(Vec::new()) };
    static DEADLINE: RefCell<Option<Instant>> = const { RefCell::new(None) };
    /// The running rule's tolerance, for `differs`.
    static TOLERANCE: RefCell<Decimal> = const { RefCell::new(Decimal::ZERO) };
    /// The origins of the return being checked (moved in for the rules' run,
    /// not copied), for `row_of`.
    static ORIGINS: RefCell<BTreeMap<String, Origin>> = const { RefCell::new(BTreeMap::new()) };
}

/// Lends the return's origins to `row_of` while its rules run; give them back
/// with [`take_origins`]. Empty: worked examples.
pub fn lend_origins(origins: BTreeMap<String, Origin>) {
    ORIGINS.with(|o| *o.borrow_mut() = origins);
}

/// Takes back the origins lent with [`lend_origins`].
pub fn take_origins() -> BTreeMap<String, Origin> {
    ORIGINS.with(|o| std::mem::take(&mut *o.borrow_mut()))
}

/// Sets the tolerance `differs` uses (the running rule's `tolerance` parameter).
pub fn set_tolerance(tolerance: Decimal) {
    TOLERANCE.with(|t| *t.borrow_mut() = tolerance);
}

/// Runs `f` collecting the reports made on this thread, with a wall-clock deadline.
pub fn collect<T>(deadline: Instant, f: impl FnOnce() -> T) -> (T, Vec<Reported>) {
    REPORTS.with(|r| r.borrow_mut().clear());
    DEADLINE.with(|d| *d.borrow_mut() = Some(deadline));
    let out = f();
    DEADLINE.with(|d| *d.borrow_mut() = None);
    let reports = REPORTS.with(|r| std::mem::take(&mut *r.borrow_mut()));
    (out, reports)
}

/// The sheet row of a pointer's cell (1-based, as Excel shows it); without a
/// workbook (worked examples), the row's position in its table.
fn row_of(pointer: &str) -> INT {
    let mut p = pointer;
    loop {
        if let Some(row) = ORIGINS.with(|o| o.borrow().get(p).and_then(|o| o.cell).map(|c| c.row + 1)) {
            return INT::from(row);
        }
        match p.rfind('/') {
            Some(0) | None => break,
            Some(i) => p = &p[..i],
        }
    }
    pointer
        .split('/')
        .filter_map(|s| s.parse::<INT>().ok())
        .next_back()
        .map_or(0, |i| i + 1)
}

/// Sum of `keys` of a map, or `()` when one of them is not a number.
fn sum_of_keys(row: &Map, keys: &Array) -> Dynamic {
    let mut sum = Decimal::ZERO;
    for k in keys {
        let Some(k) = k.clone().try_cast::<ImmutableString>() else {
            return Dynamic::UNIT;
        };
        match row.get(k.as_str()).and_then(as_decimal) {
            Some(v) => sum += v,
            None => return Dynamic::UNIT,
        }
    }
    Dynamic::from_decimal(sum)
}

/// Sum of column `key` over table rows, or `()` when one is not a number (or
/// there is no row).
fn sum_of_column(rows: &Array, key: &str) -> Dynamic {
    if rows.is_empty() {
        return Dynamic::UNIT;
    }
    let mut sum = Decimal::ZERO;
    for row in rows {
        let v = row.read_lock::<Map>().and_then(|m| m.get(key).and_then(as_decimal));
        match v {
            Some(v) => sum += v,
            None => return Dynamic::UNIT,
        }
    }
    Dynamic::from_decimal(sum)
}

/// Whether two figures differ by more than the rule's tolerance; `false` when
/// either is not a number.
fn differs(a: &Dynamic, b: &Dynamic) -> bool {
    match (as_decimal(a), as_decimal(b)) {
        (Some(a), Some(b)) => (a - b).abs() > TOLERANCE.with(|t| *t.borrow()),
        _ => false,
    }
}

/// The share of `exercice` elapsed at the end of the cut-off date, in days
/// (31/03/2010 in 2010: 90/365), when the cut-off falls inside the exercice;
/// 1 otherwise (or when either is unreadable).
fn elapsed_share(cut_off: &Dynamic, exercice: &Dynamic) -> Decimal {
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

/// JSON → Rhai like [`to_dynamic`], each number with a fraction then replaced
/// by its exact decimal from `exact` (pointer → the decimal read from its cell):
/// the float of the JSON document never reaches a rule.
pub fn to_dynamic_exact<'a>(v: &Value, exact: impl IntoIterator<Item = (&'a String, &'a Decimal)>) -> Dynamic {
    let mut d = to_dynamic(v);
    for (pointer, value) in exact {
        set_at(&mut d, pointer, Dynamic::from_decimal(*value));
    }
    d
}

/// Replaces the value at a JSON pointer (`/a/0/b`) of a Rhai value, if it exists.
fn set_at(d: &mut Dynamic, pointer: &str, value: Dynamic) {
    let Some(rest) = pointer.strip_prefix('/') else { return };
    let (head, tail) = match rest.split_once('/') {
        Some((h, t)) => (h, Some(t)),
        None => (rest, None),
    };
    if let Some(mut map) = d.write_lock::<Map>() {
        if let Some(child) = map.get_mut(head) {
            match tail {
                Some(t) => set_at(child, &format!("/{t}"), value),
                None => *child = value,
            }
        }
        return;
    }
    if let Some(mut array) = d.write_lock::<Array>() {
        if let Some(child) = head.parse::<usize>().ok().and_then(|i| array.get_mut(i)) {
            match tail {
                Some(t) => set_at(child, &format!("/{t}"), value),
                None => *child = value,
            }
        }
    }
}

/// JSON → Rhai: numbers become exact decimals, null becomes `()`.
pub fn to_dynamic(v: &Value) -> Dynamic {
    match v {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(*b),
        Value::Number(n) => n
            .to_string()
            .parse::<Decimal>()
            .ok()
            .or_else(|| Decimal::from_scientific(&n.to_string()).ok())
            .map(Dynamic::from_decimal)
            .unwrap_or(Dynamic::UNIT),
        Value::String(s) => Dynamic::from(s.clone()),
        Value::Array(a) => Dynamic::from_array(a.iter().map(to_dynamic).collect()),
        Value::Object(o) => {
            let mut m = Map::new();
            for (k, v) in o {
                m.insert(k.as_str().into(), to_dynamic(v));
            }
            Dynamic::from_map(m)
        }
    }
}

/// A number from a script value: a decimal or an integer.
pub fn as_decimal(d: &Dynamic) -> Option<Decimal> {
    if let Some(x) = d.clone().try_cast::<Decimal>() {
        return Some(x);
    }
    d.as_int().ok().map(Decimal::from)
}

fn record(ctx: &NativeCallContext, pointer: &str, message: &str, extra: Option<&Map>) {
    let mut r = Reported {
        pointer: pointer.to_string(),
        message: message.to_string(),
        line: ctx.call_position().line(),
        ..Default::default()
    };
    if let Some(extra) = extra {
        let num = |k: &str| extra.get(k).and_then(as_decimal);
        r.expected = num("expected");
        r.actual = num("actual");
        r.difference = num("difference");
        r.tolerance = num("tolerance");
        if let Some(range) = extra.get("range") {
            if let Some(s) = range.clone().try_cast::<ImmutableString>() {
                r.range.push(s.to_string());
            } else if let Some(a) = range.clone().try_cast::<Array>() {
                r.range.extend(
                    a.iter()
                        .filter_map(|x| x.clone().try_cast::<ImmutableString>())
                        .map(|s| s.to_string()),
                );
            }
        }
    }
    REPORTS.with(|reports| reports.borrow_mut().push(r));
}

fn is_num(d: &Dynamic) -> bool {
    d.is::<Decimal>() || d.is_int()
}

fn interval(s: &str) -> Option<DateInterval> {
    DateInterval::from_canonical(s)
}

/// Registers the functions rule scripts may call.
pub fn register(engine: &mut Engine) {
    engine.register_fn(
        "report",
        |ctx: NativeCallContext, pointer: ImmutableString, message: ImmutableString| {
            record(&ctx, &pointer, &message, None)
        },
    );
    engine.register_fn(
        "report",
        |ctx: NativeCallContext, pointer: ImmutableString, message: ImmutableString, extra: Map| {
            record(&ctx, &pointer, &message, Some(&extra))
        },
    );
    engine.register_fn("is_num", |d: Dynamic| is_num(&d));
    engine.register_fn("num", |d: Dynamic| -> Dynamic {
        // An absent value in a table of amounts counts as 0 where the rule says so.
        as_decimal(&d)
            .map(Dynamic::from_decimal)
            .unwrap_or(Dynamic::from_decimal(Decimal::ZERO))
    });
    engine.register_fn("eur", |d: Decimal| {
        format!("{} €", crate::base::format::amount_fr(d, 2))
    });
    engine.register_fn("eur", |d: INT| {
        format!("{} €", crate::base::format::amount_fr(Decimal::from(d), 0))
    });
    engine.register_fn("meur", |d: Decimal| {
        format!("{} M€", crate::base::format::amount_fr(d, 3))
    });
    // `plural(n, "projet", "projets")`: « 1 projet », « 0 projet », « 3 projets » (French: below 2 is singular).
    engine.register_fn("plural", |n: Decimal, one: &str, many: &str| {
        let word = if n.abs() < Decimal::TWO { one } else { many };
        format!("{} {word}", decimal_fr_dp(n, 2))
    });
    engine.register_fn("plural", |n: INT, one: &str, many: &str| {
        let word = if n.abs() < 2 { one } else { many };
        format!("{} {word}", decimal_fr(Decimal::from(n)))
    });
    engine.register_fn("pct", |d: Decimal| format!("{} %", decimal_fr_dp(d, 2)));
    engine.register_fn("pct", |d: INT| format!("{} %", decimal_fr(Decimal::from(d))));
    // At most three decimals: what a French reader expects in a message.
    engine.register_fn("fr", |d: Decimal| decimal_fr_dp(d, 3));
    engine.register_fn("fr", |d: INT| decimal_fr(Decimal::from(d)));
    engine.register_fn("fr", |d: Decimal, dp: INT| decimal_fr_dp(d, dp.clamp(0, 10) as u32));
    engine.register_fn("dec", |d: INT| Decimal::from(d));
    engine.register_fn("norm", |s: ImmutableString| normalize_label(&s));
    engine.register_fn("tokens", |s: ImmutableString| -> Array {
        // Words and numbers: `zone 1` and `zone 2` differ.
        normalize_label(&s)
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| Dynamic::from(w.to_string()))
            .collect()
    });
    engine.register_fn("row_of", |p: ImmutableString| row_of(&p));
    engine.register_fn("sum_of", |row: Map, keys: Array| sum_of_keys(&row, &keys));
    engine.register_fn("sum_of", |rows: Array, key: ImmutableString| sum_of_column(&rows, &key));
    engine.register_fn("differs", |a: Dynamic, b: Dynamic| differs(&a, &b));
    engine.register_fn("differs", |a: Dynamic, b: Dynamic, tolerance: Dynamic| {
        match (as_decimal(&a), as_decimal(&b), as_decimal(&tolerance)) {
            (Some(a), Some(b), Some(t)) => (a - b).abs() > t,
            _ => false,
        }
    });
    engine.register_fn("exceeds", |a: Dynamic, b: Dynamic| {
        // `a` is over `b` by more than the rule's tolerance.
        match (as_decimal(&a), as_decimal(&b)) {
            (Some(a), Some(b)) => a - b > TOLERANCE.with(|t| *t.borrow()),
            _ => false,
        }
    });
    engine.register_fn("elapsed_share", |cut_off: Dynamic, exercice: Dynamic| {
        elapsed_share(&cut_off, &exercice)
    });
    engine.register_fn("words", |s: ImmutableString| -> Array {
        normalize_label(&s)
            .split(|c: char| !c.is_alphabetic())
            .filter(|w| !w.is_empty())
            .map(|w| Dynamic::from(w.to_string()))
            .collect()
    });
    engine.register_fn("roman", |s: ImmutableString| -> INT {
        parse_ordinal(&s).map(|n| n as INT).unwrap_or(-1)
    });
    engine.register_fn("date_before", |a: ImmutableString, b: ImmutableString| -> bool {
        matches!((interval(&a), interval(&b)), (Some(x), Some(y)) if x.is_before(&y))
    });
    engine.register_fn("date_after", |a: ImmutableString, b: ImmutableString| -> bool {
        matches!((interval(&a), interval(&b)), (Some(x), Some(y)) if x.is_after(&y))
    });
    engine.register_fn("date_starts_before", |a: ImmutableString, b: ImmutableString| -> bool {
        // A starts strictly before B starts (life-cycle order, PLDE-DAT-005).
        matches!((interval(&a), interval(&b)), (Some(x), Some(y)) if x.start < y.start)
    });
    engine.register_fn("is_date", |a: Dynamic| {
        a.clone()
            .try_cast::<ImmutableString>()
            .is_some_and(|s| interval(&s).is_some())
    });
    engine.register_fn("date_fr", |a: ImmutableString| {
        interval(&a).map(|d| d.display_fr()).unwrap_or_else(|| a.to_string())
    });
    engine.register_fn("date_start_year", |a: ImmutableString| -> Dynamic {
        interval(&a)
            .map(|d| Dynamic::from_decimal(Decimal::from(d.start.year)))
            .unwrap_or(Dynamic::UNIT)
    });
    engine.register_fn("date_end_year", |a: ImmutableString| -> Dynamic {
        interval(&a)
            .map(|d| Dynamic::from_decimal(Decimal::from(d.end.year)))
            .unwrap_or(Dynamic::UNIT)
    });
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

/// The wall-clock stop: called by Rhai's progress hook.
pub fn past_deadline() -> bool {
    DEADLINE.with(|d| d.borrow().is_some_and(|t| Instant::now() > t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn rules_get_the_exact_decimal_not_the_float() {
        // 18 significant digits: the f64 of the JSON document cannot hold them.
        let exact = Decimal::from_str("1234567890123456.78").unwrap_or_default();
        let float: f64 = "1234567890123456.78".parse().unwrap_or_default();
        let data = serde_json::json!({"moyens": {"total": float}});
        let mut table = std::collections::BTreeMap::new();
        table.insert("/moyens/total".to_string(), exact);
        let d = to_dynamic_exact(&data, &table);
        let total = d.read_lock::<Map>().and_then(|m| {
            m.get("moyens")
                .and_then(|x| x.read_lock::<Map>().and_then(|y| y.get("total").and_then(as_decimal)))
        });
        assert_eq!(total, Some(exact));
        // Without the table, the float's shortest text.
        let plain = to_dynamic(&data);
        let total = plain.read_lock::<Map>().and_then(|m| {
            m.get("moyens")
                .and_then(|x| x.read_lock::<Map>().and_then(|y| y.get("total").and_then(as_decimal)))
        });
        assert_ne!(total, Some(exact));
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
