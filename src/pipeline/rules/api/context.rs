//! The state of one rule's run that the API's functions read or fill: the
//! reports made, the running rule's tolerance, the return's origins (for
//! `row_of`), the wall-clock deadline.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::Instant;

use rhai::{Array, ImmutableString, Map, NativeCallContext, INT};
use rust_decimal::Decimal;

use crate::base::model::Origin;

use super::*;

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
pub(super) fn row_of(pointer: &str) -> INT {
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

pub(super) fn record(ctx: &NativeCallContext, pointer: &str, message: &str, extra: Option<&Map>) {
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

pub(super) fn tolerance() -> Decimal {
    TOLERANCE.with(|t| *t.borrow())
}

/// The wall-clock stop: called by Rhai's progress hook.
pub fn past_deadline() -> bool {
    DEADLINE.with(|d| d.borrow().is_some_and(|t| Instant::now() > t))
}
