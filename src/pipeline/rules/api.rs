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
    /// `#{reference: true}`: this report only points a file at a finding made
    /// on another file (a cross-file rule: the list of operations is told
    /// where its dashboard disagrees); the engine gives it the severity info.
    pub reference: bool,
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
        r.reference = extra.get("reference").and_then(|d| d.as_bool().ok()).unwrap_or(false);
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

/// One function of the rule API, as the reference lists it (README, « Writing a
/// rule »): written next to its registration, so the reference is generated
/// from the code.
#[derive(Debug, Clone, Copy)]
pub struct ApiDoc {
    /// How a script calls it (every form, `|`-separated).
    pub signature: &'static str,
    pub text: &'static str,
}

/// The engine being filled and the reference being written, side by side.
struct Api<'e> {
    engine: &'e mut Engine,
    docs: Vec<ApiDoc>,
}

impl Api<'_> {
    /// Documents the function(s) registered next, and gives the engine to register them.
    fn doc(&mut self, signature: &'static str, text: &'static str) -> &mut Engine {
        self.docs.push(ApiDoc { signature, text });
        self.engine
    }
}

/// Registers a function whose result depends on more than its arguments
/// (the running rule's tolerance, the return's origins, the reports made):
/// the optimiser must never call it ahead of time with constant arguments.
macro_rules! volatile {
    ($engine:expr, $name:expr, $f:expr $(,)?) => {
        rhai::FuncRegistration::new($name)
            .with_volatility(true)
            .register_into_engine($engine, $f)
    };
}

/// A key part of a row for [`duplicates_of`]: `None` when the row has no usable
/// value there (not a number nor a text) and the part is required.
fn key_part(row: &Map, key: &str, normalized: bool, optional: bool) -> Option<String> {
    let v = row.get(key).cloned().unwrap_or(Dynamic::UNIT);
    if let Some(s) = v.read_lock::<ImmutableString>() {
        return Some(if normalized { normalize_label(&s) } else { s.to_string() });
    }
    if is_num(&v) && !normalized {
        return Some(v.to_string());
    }
    if optional {
        // Compared as written, an optional part keeps whatever it holds;
        // compared as a label, only a text counts.
        return Some(if normalized || v.is_unit() {
            String::new()
        } else {
            v.to_string()
        });
    }
    None
}

/// The rows whose key (the values of `keys`, joined) repeats an earlier row's,
/// as `#{row, first}` (indices) in row order. `options.norm`: keys compared as
/// `norm` writes them (texts only); `options.optional`: keys that may be empty
/// (an empty value is a key part of its own). A row lacking a required key
/// part is skipped.
fn duplicates_of(rows: &Array, keys: &Array, options: Option<&Map>) -> Array {
    let names = |what: &str| -> Vec<String> {
        options
            .and_then(|o| o.get(what))
            .and_then(|v| {
                v.read_lock::<Array>()
                    .map(|a| a.iter().map(|x| x.to_string()).collect())
            })
            .unwrap_or_default()
    };
    let (normalized, optional) = (names("norm"), names("optional"));
    let keys: Vec<(String, bool, bool)> = keys
        .iter()
        .map(|k| {
            let k = k.to_string();
            let n = normalized.contains(&k);
            let o = optional.contains(&k);
            (k, n, o)
        })
        .collect();
    let mut seen: std::collections::HashMap<String, INT> = std::collections::HashMap::new();
    let mut out = Array::new();
    for (i, row) in rows.iter().enumerate() {
        let Some(row) = row.read_lock::<Map>() else { continue };
        let parts: Option<Vec<String>> = keys.iter().map(|(k, n, o)| key_part(&row, k, *n, *o)).collect();
        let Some(parts) = parts else { continue };
        let i = i as INT;
        match seen.entry(parts.join("|")) {
            std::collections::hash_map::Entry::Occupied(first) => {
                let mut m = Map::new();
                m.insert("row".into(), Dynamic::from_int(i));
                m.insert("first".into(), Dynamic::from_int(*first.get()));
                out.push(Dynamic::from_map(m));
            }
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(i);
            }
        }
    }
    out
}

/// `fixed(28.9, 2)` = « 28,90 »: exactly `dp` decimals, as a figure stated to
/// the hundredth is shown.
fn fixed_fr(d: Decimal, dp: INT) -> String {
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

/// A day plus `n` calendar months (the day clamped to the month's last day),
/// canonical; `None` unless `date` is a day.
fn add_months(date: &str, n: INT) -> Option<String> {
    let d = interval(date).filter(|d| d.precision == crate::base::values::Precision::Day)?;
    let months = i64::from(d.start.year) * 12 + i64::from(d.start.month) - 1 + n;
    let year = i32::try_from(months.div_euclid(12)).ok()?;
    let month = u32::try_from(months.rem_euclid(12)).ok()? + 1;
    let day = (1..=d.start.day)
        .rev()
        .find_map(|day| DateInterval::day(year, month, day))?;
    Some(day.canonical())
}

/// Whether the TOTAL row's `column` differs from the sum of the column over
/// `rows` by more than `tolerance`; `false` when either cannot be judged.
fn column_total_differs(rows: &Array, total: &Map, column: &str, tolerance: Decimal) -> bool {
    let stated = total.get(column).cloned().unwrap_or(Dynamic::UNIT);
    match (as_decimal(&stated), as_decimal(&sum_of_column(rows, column))) {
        (Some(a), Some(b)) => (a - b).abs() > tolerance,
        _ => false,
    }
}

/// The sum of the numbers of column `key` over `rows`, other values counted
/// as 0 (a TOTAL row that sums what is there); `()` past the decimal range.
fn column_sum(rows: &Array, key: &str) -> Dynamic {
    let mut sum = Decimal::ZERO;
    for row in rows {
        let v = row.read_lock::<Map>().and_then(|m| m.get(key).and_then(as_decimal));
        if let Some(v) = v {
            match sum.checked_add(v) {
                Some(s) => sum = s,
                None => return Dynamic::UNIT,
            }
        }
    }
    Dynamic::from_decimal(sum)
}

/// The digits (0–9) of a text, in order.
fn digits_of(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// Why a SIRET as written is not one, in French; empty when it is one, or
/// when the text holds neither a digit nor anything but spaces. 14 digits
/// (spaces allowed), with a valid key: Luhn, or for La Poste's establishments
/// (`356000000…`) a digit sum that is a multiple of 5.
fn siret_problem(text: &str) -> String {
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

fn tolerance() -> Decimal {
    TOLERANCE.with(|t| *t.borrow())
}

/// Registers the functions rule scripts may call; returns their reference.
pub fn register(engine: &mut Engine) -> Vec<ApiDoc> {
    let mut api = Api {
        engine,
        docs: Vec::new(),
    };
    api.doc(
        "report(pointer, message) | report(pointer, message, #{expected, actual, difference, tolerance, range})",
        "Reports a finding at `pointer` (a JSON pointer into `data`). The engine adds the rule id, severity, sheet, cell and range (`range`: a pointer or a list of pointers); `difference` defaults to `actual − expected`, `tolerance` to `params.tolerance`; `reference: true` (cross-file rules) marks a pointer to a finding made on another file: severity info.",
    );
    volatile!(
        api.engine,
        "report",
        |ctx: NativeCallContext, pointer: ImmutableString, message: ImmutableString| {
            record(&ctx, &pointer, &message, None)
        },
    );
    volatile!(api.engine, "report", |ctx: NativeCallContext,
                                     pointer: ImmutableString,
                                     message: ImmutableString,
                                     extra: Map| {
        record(&ctx, &pointer, &message, Some(&extra))
    },);
    api.doc(
        "is_num(x)",
        "True when `x` is a number (a missing or unusable value is `()`, not a number).",
    )
    .register_fn("is_num", |d: Dynamic| is_num(&d));
    api.doc("is_text(x)", "True when `x` is a text.")
        .register_fn("is_text", |d: Dynamic| d.is_string());
    api.doc(
        "dec(n)",
        "The integer `n` as an exact decimal (for arithmetic mixing integers and amounts).",
    )
    .register_fn("dec", |d: INT| Decimal::from(d));
    api.doc(
        "eur(x)",
        "An amount in euros, French style: `1 234,50 €` (an integer: `1 234 €`).",
    )
    .register_fn("eur", |d: Decimal| {
        format!("{} €", crate::base::format::amount_fr(d, 2))
    });
    api.engine.register_fn("eur", |d: INT| {
        format!("{} €", crate::base::format::amount_fr(Decimal::from(d), 0))
    });
    api.doc("meur(x)", "An amount in millions of euros, three decimals: `1,250 M€`.")
        .register_fn("meur", |d: Decimal| {
            format!("{} M€", crate::base::format::amount_fr(d, 3))
        });
    api.doc(
        "plural(n, one, many)",
        "`n` and the word that agrees with it, French rule (below 2 is singular): « 1 projet », « 0 projet », « 3 projets ».",
    )
    .register_fn("plural", |n: Decimal, one: &str, many: &str| {
        let word = if n.abs() < Decimal::TWO { one } else { many };
        format!("{} {word}", decimal_fr_dp(n, 2))
    });
    api.engine.register_fn("plural", |n: INT, one: &str, many: &str| {
        let word = if n.abs() < 2 { one } else { many };
        format!("{} {word}", decimal_fr(Decimal::from(n)))
    });
    api.doc("pct(x)", "A percentage, French style, at most two decimals: `12,5 %`.")
        .register_fn("pct", |d: Decimal| format!("{} %", decimal_fr_dp(d, 2)));
    api.engine
        .register_fn("pct", |d: INT| format!("{} %", decimal_fr(Decimal::from(d))));
    // At most three decimals: what a French reader expects in a message.
    api.doc(
        "fr(x) | fr(x, n)",
        "A number, French style, at most three decimals (`fr(x, n)`: at most `n`).",
    )
    .register_fn("fr", |d: Decimal| decimal_fr_dp(d, 3));
    api.engine.register_fn("fr", |d: INT| decimal_fr(Decimal::from(d)));
    api.engine
        .register_fn("fr", |d: Decimal, dp: INT| decimal_fr_dp(d, dp.clamp(0, 10) as u32));
    api.engine.register_fn("fr", |d: INT, dp: INT| {
        decimal_fr_dp(Decimal::from(d), dp.clamp(0, 10) as u32)
    });
    api.doc(
        "fixed(x, n)",
        "A number, French style, with exactly `n` decimals: `fixed(28.9, 2)` is `28,90` (a figure shown at the precision it was stated with).",
    )
    .register_fn("fixed", |d: Decimal, dp: INT| fixed_fr(d, dp));
    api.engine
        .register_fn("fixed", |d: INT, dp: INT| fixed_fr(Decimal::from(d), dp));
    api.doc(
        "norm(text)",
        "A label as compared: lower case, no accents, spaces collapsed.",
    )
    .register_fn("norm", |s: ImmutableString| normalize_label(&s));
    api.doc("words(text)", "The words of a label (letters only, normalised).")
        .register_fn("words", |s: ImmutableString| -> Array {
            normalize_label(&s)
                .split(|c: char| !c.is_alphabetic())
                .filter(|w| !w.is_empty())
                .map(|w| Dynamic::from(w.to_string()))
                .collect()
        });
    api.doc(
        "tokens(text)",
        "The words and numbers of a label, normalised: `zone 1` and `zone 2` differ.",
    )
    .register_fn("tokens", |s: ImmutableString| -> Array {
        normalize_label(&s)
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| Dynamic::from(w.to_string()))
            .collect()
    });
    api.doc(
        "roman(text)",
        "The number of an ordinal written `I`, `IV`, `3`, `2.`…; −1 when it is not one.",
    )
    .register_fn("roman", |s: ImmutableString| -> INT {
        parse_ordinal(&s).map(|n| n as INT).unwrap_or(-1)
    });
    api.doc(
        "row_of(pointer)",
        "The sheet row of a value (as Excel shows it), for messages that name another row; without a workbook (worked examples), its position in its table.",
    );
    volatile!(api.engine, "row_of", |p: ImmutableString| row_of(&p));
    api.doc(
        "sum_of(row, [\"a\", \"b\"]) | sum_of(rows, \"a\")",
        "The sum of those fields of a row, or of a column over rows: `()` when a part is not a usable number (or there is no row), so the rule does not judge a sum it cannot make.",
    )
    .register_fn("sum_of", |row: Map, keys: Array| sum_of_keys(&row, &keys));
    api.engine
        .register_fn("sum_of", |rows: Array, key: ImmutableString| sum_of_column(&rows, &key));
    api.doc(
        "differs(a, b) | differs(a, b, tolerance)",
        "True when both are numbers and differ by more than the rule's `tolerance` parameter (or the tolerance given). Never compare amounts with `==`.",
    );
    volatile!(api.engine, "differs", |a: Dynamic, b: Dynamic| differs(&a, &b));
    api.engine
        .register_fn("differs", |a: Dynamic, b: Dynamic, tolerance: Dynamic| {
            match (as_decimal(&a), as_decimal(&b), as_decimal(&tolerance)) {
                (Some(a), Some(b), Some(t)) => (a - b).abs() > t,
                _ => false,
            }
        });
    api.doc(
        "exceeds(a, b)",
        "True when both are numbers and `a` is over `b` by more than the rule's tolerance.",
    );
    volatile!(
        api.engine,
        "exceeds",
        |a: Dynamic, b: Dynamic| match (as_decimal(&a), as_decimal(&b)) {
            (Some(a), Some(b)) => a - b > tolerance(),
            _ => false,
        }
    );
    api.doc(
        "column_total_differs(rows, total, column) | column_total_differs(rows, total, column, tolerance)",
        "True when the TOTAL row's `total[column]` and the sum of `column` over `rows` are both numbers and differ by more than the rule's tolerance (or the tolerance given). Computed in Rust.",
    );
    volatile!(
        api.engine,
        "column_total_differs",
        |rows: Array, total: Map, column: ImmutableString| column_total_differs(&rows, &total, &column, tolerance()),
    );
    api.engine.register_fn(
        "column_total_differs",
        |rows: Array, total: Map, column: ImmutableString, t: Dynamic| {
            as_decimal(&t).is_some_and(|t| column_total_differs(&rows, &total, &column, t))
        },
    );
    api.doc(
        "duplicates_of(rows, keys) | duplicates_of(rows, keys, #{norm: [...], optional: [...]})",
        "The rows whose key (the values of the fields `keys`) repeats an earlier row's, as `#{row, first}` (indices), in row order. A key value is a number or a text, compared as written; those listed in `norm` are texts compared as `norm` writes them; those listed in `optional` may be empty (empty is a value of its own). A row lacking a required key value is skipped. Computed in Rust.",
    )
    .register_fn("duplicates_of", |rows: Array, keys: Array| duplicates_of(&rows, &keys, None));
    api.engine
        .register_fn("duplicates_of", |rows: Array, keys: Array, options: Map| {
            duplicates_of(&rows, &keys, Some(&options))
        });
    api.doc(
        "column_sum(rows, column)",
        "The sum of the numbers of `column` over `rows`, any other value counted as 0 (what a TOTAL row's formula adds up); `sum_of(rows, column)` instead gives `()` when a value is not a number. Computed in Rust.",
    )
    .register_fn("column_sum", |rows: Array, key: ImmutableString| column_sum(&rows, &key));
    api.doc(
        "digits_of(text)",
        "The digits (0–9) of a text, in order: `digits_of(\"362 521 879\")` is `\"362521879\"`.",
    )
    .register_fn("digits_of", |s: ImmutableString| digits_of(&s));
    api.doc(
        "siret_problem(text)",
        "Why a SIRET as written is not one, in French (`il faut 14 chiffres, il y en a 13`, a wrong Luhn key, a wrong key for La Poste's `356000000…`); `\"\"` when it is one, or when the text holds no digit and nothing but spaces.",
    )
    .register_fn("siret_problem", |s: ImmutableString| siret_problem(&s));
    api.doc(
        "elapsed_share(date_arrete, exercice)",
        "The share of the exercice elapsed at the cut-off, in days (31/03/2010 in 2010: 90/365); 1 outside it (pro rata temporis).",
    )
    .register_fn("elapsed_share", |cut_off: Dynamic, exercice: Dynamic| {
        elapsed_share(&cut_off, &exercice)
    });
    api.doc(
        "is_date(x)",
        "True when `x` is a date (or a period: a month, a year) as extraction writes it.",
    )
    .register_fn("is_date", |a: Dynamic| {
        a.clone()
            .try_cast::<ImmutableString>()
            .is_some_and(|s| interval(&s).is_some())
    });
    api.doc(
        "date_before(a, b) | date_after(a, b)",
        "`a` ends before `b` starts (starts after `b` ends); false when either is not a date.",
    )
    .register_fn("date_before", |a: ImmutableString, b: ImmutableString| -> bool {
        matches!((interval(&a), interval(&b)), (Some(x), Some(y)) if x.is_before(&y))
    });
    api.engine
        .register_fn("date_after", |a: ImmutableString, b: ImmutableString| -> bool {
            matches!((interval(&a), interval(&b)), (Some(x), Some(y)) if x.is_after(&y))
        });
    api.doc(
        "date_starts_before(a, b)",
        "`a` starts strictly before `b` starts (life-cycle order).",
    )
    .register_fn("date_starts_before", |a: ImmutableString, b: ImmutableString| -> bool {
        matches!((interval(&a), interval(&b)), (Some(x), Some(y)) if x.start < y.start)
    });
    api.doc(
        "date_fr(a)",
        "A date as a French reader writes it (`31/03/2010`, `mars 2010`).",
    )
    .register_fn("date_fr", |a: ImmutableString| {
        interval(&a).map(|d| d.display_fr()).unwrap_or_else(|| a.to_string())
    });
    api.doc(
        "add_months(day, n)",
        "A day plus `n` calendar months, the day clamped to the end of a shorter month (`add_months(\"2009-08-31\", 6)` is `\"2010-02-28\"`); `()` unless `day` is a day.",
    )
    .register_fn("add_months", |a: ImmutableString, n: INT| -> Dynamic {
        add_months(&a, n).map_or(Dynamic::UNIT, Dynamic::from)
    });
    api.doc(
        "is_day(x)",
        "Whether `x` is a date to the day (not a month, a quarter…).",
    )
    .register_fn("is_day", |a: Dynamic| {
        a.clone()
            .try_cast::<ImmutableString>()
            .and_then(|s| interval(&s))
            .is_some_and(|d| d.precision == crate::base::values::Precision::Day)
    });
    api.doc(
        "date_start_year(a) | date_end_year(a)",
        "The year a date (or period) starts (ends) in; `()` when it is not a date.",
    )
    .register_fn("date_start_year", |a: ImmutableString| -> Dynamic {
        interval(&a)
            .map(|d| Dynamic::from_decimal(Decimal::from(d.start.year)))
            .unwrap_or(Dynamic::UNIT)
    });
    api.engine
        .register_fn("date_end_year", |a: ImmutableString| -> Dynamic {
            interval(&a)
                .map(|d| Dynamic::from_decimal(Decimal::from(d.end.year)))
                .unwrap_or(Dynamic::UNIT)
        });
    api.docs
}

/// The rule API's reference, as a Markdown list (README, « Writing a rule »).
pub fn reference_markdown() -> String {
    let mut engine = Engine::new_raw();
    let mut s = String::new();
    for d in register(&mut engine) {
        let forms: Vec<String> = d.signature.split(" | ").map(|f| format!("`{f}`")).collect();
        s.push_str(&format!("- {}: {}\n", forms.join(", "), d.text));
    }
    s
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
    fn fixed_keeps_the_stated_decimals() {
        assert_eq!(fixed_fr(Decimal::new(289, 1), 2), "28,90");
        assert_eq!(fixed_fr(Decimal::from(89), 2), "89,00");
        assert_eq!(fixed_fr(Decimal::new(8900444, 5), 0), "89");
    }

    #[test]
    fn add_months_clamps_to_the_month_end() {
        assert_eq!(add_months("2009-08-31", 6).as_deref(), Some("2010-02-28"));
        assert_eq!(add_months("2011-08-31", 6).as_deref(), Some("2012-02-29"));
        assert_eq!(add_months("2009-01-15", 6).as_deref(), Some("2009-07-15"));
        assert_eq!(add_months("2009-T1", 6), None);
    }

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

    #[test]
    fn a_column_sum_counts_what_is_not_a_number_as_zero() {
        let row = |v: Dynamic| {
            let mut m = Map::new();
            m.insert("a".into(), v);
            Dynamic::from_map(m)
        };
        let rows: Array = vec![
            row(Dynamic::from_decimal(Decimal::new(150, 2))),
            row(Dynamic::from_int(2)),
            row(Dynamic::from("x".to_string())),
            row(Dynamic::UNIT),
        ];
        assert_eq!(as_decimal(&column_sum(&rows, "a")), Some(Decimal::new(350, 2)));
        assert!(sum_of_column(&rows, "a").is_unit());
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
