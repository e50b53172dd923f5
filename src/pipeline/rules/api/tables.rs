//! Sums, totals and duplicate keys over a table's rows, computed in Rust.

use rhai::{Array, Dynamic, ImmutableString, Map, INT};
use rust_decimal::Decimal;

use crate::base::values::normalize_label;

use super::*;

/// Sum of `keys` of a map, or `()` when one of them is not a number.
pub(super) fn sum_of_keys(row: &Map, keys: &Array) -> Dynamic {
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
pub(super) fn sum_of_column(rows: &Array, key: &str) -> Dynamic {
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
pub(super) fn differs(a: &Dynamic, b: &Dynamic) -> bool {
    match (as_decimal(a), as_decimal(b)) {
        (Some(a), Some(b)) => (a - b).abs() > tolerance(),
        _ => false,
    }
}

/// A key part of a row for [`duplicates_of`]: `None` when the row has no usable
/// value there (not a number nor a text) and the part is required.
pub(super) fn key_part(row: &Map, key: &str, normalized: bool, optional: bool) -> Option<String> {
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
pub(super) fn duplicates_of(rows: &Array, keys: &Array, options: Option<&Map>) -> Array {
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

/// Whether the TOTAL row's `column` differs from the sum of the column over
/// `rows` by more than `tolerance`; `false` when either cannot be judged.
pub(super) fn column_total_differs(rows: &Array, total: &Map, column: &str, tolerance: Decimal) -> bool {
    let stated = total.get(column).cloned().unwrap_or(Dynamic::UNIT);
    match (as_decimal(&stated), as_decimal(&sum_of_column(rows, column))) {
        (Some(a), Some(b)) => (a - b).abs() > tolerance,
        _ => false,
    }
}

/// The sum of the numbers of column `key` over `rows`, other values counted
/// as 0 (a TOTAL row that sums what is there); `()` past the decimal range.
pub(super) fn column_sum(rows: &Array, key: &str) -> Dynamic {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
