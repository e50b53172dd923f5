//! What a rule script can call, and the conversion of data into Rhai values.
//!
//! Numbers reach scripts as exact decimals (`rhai` is built with `decimal` and
//! `no_float`), so money never suffers float noise. The functions live by what
//! they work on (`context`: the run's state and `report`; `convert`; `tables`;
//! `text`; `dates`); this module registers them, each next to its reference
//! entry.

mod context;
mod convert;
mod dates;
mod tables;
mod text;

pub use context::{collect, lend_origins, past_deadline, set_tolerance, take_origins, Reported};
pub use convert::{as_decimal, to_dynamic, to_dynamic_exact};
pub use text::parse_ordinal;

use rhai::{Array, Dynamic, Engine, ImmutableString, Map, NativeCallContext, INT};
use rust_decimal::Decimal;

use crate::base::format::{decimal_fr, decimal_fr_dp};
use crate::base::values::normalize_label;

use context::*;
use convert::*;
use dates::*;
use tables::*;
use text::*;

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

/// Registers a function of a list that only reads it (`&mut` first
/// parameter, marked pure): called as a method, `data.operations.column_sum(k)`,
/// it reads the list in place, where `column_sum(data.operations, k)` first
/// copies every row (Rhai copies an argument that is a property).
macro_rules! reads_list {
    ($engine:expr, $name:expr, $f:expr $(,)?) => {
        rhai::FuncRegistration::new($name)
            .with_purity(true)
            .register_into_engine($engine, $f)
    };
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
        .register_fn("words", |s: ImmutableString| label_parts(&s, char::is_alphabetic));
    api.doc(
        "tokens(text)",
        "The words and numbers of a label, normalised: `zone 1` and `zone 2` differ.",
    )
    .register_fn("tokens", |s: ImmutableString| label_parts(&s, char::is_alphanumeric));
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
    reads_list!(api.engine, "sum_of", |rows: &mut Array, key: ImmutableString| {
        sum_of_column(rows, &key)
    });
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
        "duplicates_of(rows, keys) | duplicates_of(rows, keys, #{norm: [...], optional: [...]}) | rows.duplicates_of(keys…)",
        "The rows whose key (the values of the fields `keys`) repeats an earlier row's, as `#{row, first}` (indices), in row order. A key value is a number or a text, compared as written; those listed in `norm` are texts compared as `norm` writes them; those listed in `optional` may be empty (empty is a value of its own). A row lacking a required key value is skipped. Computed in Rust; as a method it reads the list in place.",
    );
    reads_list!(api.engine, "duplicates_of", |rows: &mut Array, keys: Array| {
        duplicates_of(rows, &keys, None)
    });
    reads_list!(
        api.engine,
        "duplicates_of",
        |rows: &mut Array, keys: Array, options: Map| { duplicates_of(rows, &keys, Some(&options)) }
    );
    api.doc(
        "column_sum(rows, column) | rows.column_sum(column)",
        "The sum of the numbers of `column` over `rows`, any other value counted as 0 (what a TOTAL row's formula adds up); `sum_of(rows, column)` instead gives `()` when a value is not a number. Computed in Rust; as a method (`data.operations.column_sum(\"feder_programme\")`) it reads the list in place instead of copying it first.",
    );
    reads_list!(api.engine, "column_sum", |rows: &mut Array, key: ImmutableString| {
        column_sum(rows, &key)
    });
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
