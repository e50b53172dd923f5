//! Data into Rhai values: numbers as exact decimals, `null` as `()`.

use rhai::{Array, Dynamic, Map};
use rust_decimal::Decimal;
use serde_json::Value;

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
pub(super) fn set_at(d: &mut Dynamic, pointer: &str, value: Dynamic) {
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

pub(super) fn is_num(d: &Dynamic) -> bool {
    d.is::<Decimal>() || d.is_int()
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
}
