//! Typed rule parameters: the one place where a parameter is declared, checked
//! and resolved for a return.
//!
//! In a rule's header, `[parameters]` maps a name to either a plain value (the
//! old form: `seuil_pct = 50` is a number with no declared range) or a
//! declaration:
//!
//! ```toml
//! [parameters]
//! seuil_pct = { default = 50, min = 0, max = 100 }     # type taken from the default
//! codes_earmarking = { type = "integers", default = [], min = 1, max = 999 }
//!
//! [parameters.fin_eligibilite]                          # a default per value of a field
//! type = "date"
//! min = 2000-01-01
//! max = 2040-12-31
//! depends_on = "/identification/periode"
//! per_value = { "2007-2013" = 2015-12-31, "2014-2020" = 2023-12-31 }
//! ```
//!
//! Types: `number`, `integer`, `date` (a day, `2015-12-31`), `text`, and the
//! lists `numbers`, `integers`, `texts`. `min`/`max` bound numbers and dates (for
//! a list, each element). `depends_on` is a JSON pointer into the data the rule
//! runs on; `per_value` gives the default for each value found there (the
//! field's value as text); a value with no entry falls back on `default`, else
//! the parameter is `()` for that return. A campaign's value replaces the
//! default and every `per_value` entry ([`Param::set`]).
//!
//! Scripts see numbers as exact decimals, dates as their canonical text
//! (`"2015-12-31"`, as dates are in the data), lists as arrays.

use std::collections::BTreeMap;

use rhai::{Array, Dynamic, Map};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize, Serializer};

use crate::base::values::{DateInterval, Precision};

/// What a parameter holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamKind {
    Number,
    Integer,
    Date,
    Text,
    Numbers,
    Integers,
    Texts,
}

impl ParamKind {
    /// What a value of this kind is, in French (« un nombre », « une date »…).
    pub fn fr(self) -> &'static str {
        match self {
            ParamKind::Number => "un nombre",
            ParamKind::Integer => "un nombre entier",
            ParamKind::Date => "une date (AAAA-MM-JJ, par exemple 2015-12-31)",
            ParamKind::Text => "un texte entre guillemets",
            ParamKind::Numbers => "une liste de nombres ([1, 2, 3])",
            ParamKind::Integers => "une liste de nombres entiers ([1, 2, 3])",
            ParamKind::Texts => "une liste de textes ([\"a\", \"b\"])",
        }
    }

    /// The kind of a list's elements (`None`: not a list).
    pub fn element(self) -> Option<ParamKind> {
        match self {
            ParamKind::Numbers => Some(ParamKind::Number),
            ParamKind::Integers => Some(ParamKind::Integer),
            ParamKind::Texts => Some(ParamKind::Text),
            _ => None,
        }
    }

    fn ranged(self) -> bool {
        !matches!(self, ParamKind::Text | ParamKind::Texts)
    }
}

/// A parameter's value: a number (kept exact), a text, a day, or a list.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    Int(i64),
    Float(f64),
    Text(String),
    /// A day, canonical (`2015-12-31`).
    Date(String),
    List(Vec<ParamValue>),
}

impl Serialize for ParamValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl ParamValue {
    pub fn as_decimal(&self) -> Option<Decimal> {
        match self {
            ParamValue::Int(i) => Some(Decimal::from(*i)),
            ParamValue::Float(f) => crate::base::format::decimal_of_f64(*f),
            _ => None,
        }
    }

    /// The value for people: `50`, `0,005`, `31/12/2015`, `[1, 2, 3]`.
    pub fn display(&self) -> String {
        match self {
            ParamValue::Text(s) => s.clone(),
            ParamValue::Date(d) => DateInterval::from_canonical(d).map_or_else(|| d.clone(), |d| d.display_fr()),
            ParamValue::List(items) => format!(
                "[{}]",
                items.iter().map(ParamValue::display).collect::<Vec<_>>().join(" ; ")
            ),
            other => other
                .as_decimal()
                .map(crate::base::format::decimal_fr)
                .unwrap_or_default(),
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        match self {
            ParamValue::Int(i) => serde_json::json!(i),
            ParamValue::Float(f) => serde_json::json!(f),
            ParamValue::Text(s) | ParamValue::Date(s) => serde_json::json!(s),
            ParamValue::List(items) => serde_json::Value::Array(items.iter().map(ParamValue::to_json).collect()),
        }
    }

    /// The value as a script sees it.
    pub fn to_dynamic(&self) -> Dynamic {
        match self {
            ParamValue::Text(s) | ParamValue::Date(s) => Dynamic::from(s.clone()),
            ParamValue::List(items) => Dynamic::from_array(items.iter().map(ParamValue::to_dynamic).collect::<Array>()),
            other => other.as_decimal().map(Dynamic::from_decimal).unwrap_or(Dynamic::UNIT),
        }
    }

    /// The kind a plain header value declares (`seuil_pct = 50`: a number).
    fn inferred_kind(&self) -> ParamKind {
        match self {
            ParamValue::Int(_) | ParamValue::Float(_) => ParamKind::Number,
            ParamValue::Text(_) => ParamKind::Text,
            ParamValue::Date(_) => ParamKind::Date,
            ParamValue::List(items) => match items.first() {
                Some(ParamValue::Text(_)) => ParamKind::Texts,
                _ => ParamKind::Numbers,
            },
        }
    }

    /// Reads a TOML value as a value of `kind`; the reason in French when it is
    /// not one (the caller adds where and which parameter).
    pub fn from_toml(kind: ParamKind, v: &toml::Value) -> Result<Self, ValueError> {
        match (kind, v) {
            (ParamKind::Number, toml::Value::Integer(i)) | (ParamKind::Integer, toml::Value::Integer(i)) => {
                Ok(ParamValue::Int(*i))
            }
            (ParamKind::Number, toml::Value::Float(f)) => {
                if !f.is_finite() {
                    return Err(ValueError::Unusable(float_fr(*f)));
                }
                if crate::base::format::decimal_of_f64(*f).is_none() {
                    return Err(ValueError::TooBig(float_fr(*f)));
                }
                Ok(ParamValue::Float(*f))
            }
            (ParamKind::Integer, toml::Value::Float(f)) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 => {
                Ok(ParamValue::Int(*f as i64))
            }
            (ParamKind::Integer, toml::Value::Float(f)) => Err(ValueError::NotInteger(float_fr(*f))),
            (ParamKind::Text, toml::Value::String(s)) => Ok(ParamValue::Text(s.clone())),
            (ParamKind::Date, toml::Value::Datetime(dt)) => {
                let day = match (dt.date, dt.time, dt.offset) {
                    (Some(d), None, None) => DateInterval::day(i32::from(d.year), u32::from(d.month), u32::from(d.day)),
                    _ => None,
                };
                day.map(|d| ParamValue::Date(d.canonical()))
                    .ok_or(ValueError::TimeInDate)
            }
            (ParamKind::Date, toml::Value::String(s)) => crate::base::values::parse_french_date(s)
                .filter(|d| d.precision == Precision::Day)
                .map(|d| ParamValue::Date(d.canonical()))
                .ok_or_else(|| ValueError::NotADay(s.clone())),
            (list, toml::Value::Array(items)) if list.element().is_some() => {
                let element = list.element().unwrap_or(ParamKind::Text);
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        Self::from_toml(element, item).map_err(|e| ValueError::Item {
                            index: i + 1,
                            source: Box::new(e),
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(ParamValue::List)
            }
            _ => Err(ValueError::WrongKind {
                expected: kind.fr(),
                got: toml_kind_fr(v),
            }),
        }
    }

    /// A plain header value (`seuil_pct = 50`), its kind inferred.
    fn plain(v: &toml::Value) -> Result<Self, ValueError> {
        let kind = match v {
            toml::Value::Integer(_) | toml::Value::Float(_) => ParamKind::Number,
            toml::Value::String(_) => ParamKind::Text,
            toml::Value::Datetime(_) => ParamKind::Date,
            toml::Value::Array(items) => match items.first() {
                Some(toml::Value::String(_)) => ParamKind::Texts,
                _ => ParamKind::Numbers,
            },
            other => return Err(ValueError::Unexpected(toml_kind_fr(other))),
        };
        Self::from_toml(kind, v)
    }

    /// Orders two numbers or two days (`None`: not comparable).
    fn compare(&self, other: &ParamValue) -> Option<std::cmp::Ordering> {
        match (self, other) {
            (ParamValue::Date(a), ParamValue::Date(b)) => Some(a.cmp(b)),
            (a, b) => Some(a.as_decimal()?.cmp(&b.as_decimal()?)),
        }
    }
}

/// One declared parameter of a rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Param {
    #[serde(rename = "type")]
    pub kind: ParamKind,
    /// The value when no `per_value` entry applies (`None`: `()` then).
    pub default: Option<ParamValue>,
    pub min: Option<ParamValue>,
    pub max: Option<ParamValue>,
    /// A JSON pointer into the data: its value chooses the default.
    pub depends_on: Option<String>,
    /// Default per value of `depends_on`.
    pub per_value: BTreeMap<String, ParamValue>,
    /// What the parameter is, for people (`bilan explain`, docs).
    pub description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Declared {
    #[serde(rename = "type")]
    kind: Option<ParamKind>,
    default: Option<toml::Value>,
    min: Option<toml::Value>,
    max: Option<toml::Value>,
    depends_on: Option<String>,
    #[serde(default)]
    per_value: BTreeMap<String, toml::Value>,
    description: Option<String>,
}

impl<'de> Deserialize<'de> for Param {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = toml::Value::deserialize(d)?;
        Param::from_header(v).map_err(serde::de::Error::custom)
    }
}

impl Param {
    /// A number with no declared range (what `x = 50` declares).
    pub fn number(v: ParamValue) -> Self {
        Param {
            kind: v.inferred_kind(),
            default: Some(v),
            min: None,
            max: None,
            depends_on: None,
            per_value: BTreeMap::new(),
            description: None,
        }
    }

    fn from_header(v: toml::Value) -> Result<Self, String> {
        let toml::Value::Table(table) = v else {
            return ParamValue::plain(&v).map(Param::number).map_err(|e| e.to_string());
        };
        let d: Declared = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| crate::base::messages::toml_error(e.message()))?;
        let kind = match (d.kind, &d.default) {
            (Some(k), _) => k,
            (None, Some(v)) => ParamValue::plain(v).map_err(|e| e.to_string())?.inferred_kind(),
            (None, None) => {
                return Err("un paramètre sans « default » doit déclarer son « type » (number, integer, date, text, numbers, integers, texts)".into())
            }
        };
        let bound = |v: &Option<toml::Value>, which: &str| -> Result<Option<ParamValue>, String> {
            match v {
                None => Ok(None),
                Some(_) if !kind.ranged() => Err(format!("« {which} » n'a pas de sens pour un texte")),
                Some(v) => ParamValue::from_toml(kind.element().unwrap_or(kind), v)
                    .map(Some)
                    .map_err(|e| format!("« {which} » : {e}")),
            }
        };
        let mut p = Param {
            kind,
            default: None,
            min: bound(&d.min, "min")?,
            max: bound(&d.max, "max")?,
            depends_on: d.depends_on,
            per_value: BTreeMap::new(),
            description: d.description,
        };
        if let Some(v) = &d.default {
            p.default = Some(p.check_toml(v).map_err(|e| format!("« default » : {e}"))?);
        }
        if !d.per_value.is_empty() && p.depends_on.is_none() {
            return Err("« per_value » sans « depends_on » : dites de quel champ dépend la valeur".into());
        }
        if let Some(ptr) = &p.depends_on {
            if !ptr.starts_with('/') {
                return Err(format!(
                    "« depends_on » doit être un pointeur JSON (/identification/periode), pas « {ptr} »"
                ));
            }
        }
        for (key, v) in &d.per_value {
            let value = p.check_toml(v).map_err(|e| format!("« per_value.{key} » : {e}"))?;
            p.per_value.insert(key.clone(), value);
        }
        Ok(p)
    }

    /// Reads a TOML value as this parameter's type and range: the value, or
    /// why not, in French (« 1e300 est hors de la plage permise (de 0 à 100) »).
    pub fn check_toml(&self, v: &toml::Value) -> Result<ParamValue, ValueError> {
        let value = ParamValue::from_toml(self.kind, v)?;
        self.check_range(&value)?;
        Ok(value)
    }

    fn check_range(&self, value: &ParamValue) -> Result<(), ValueError> {
        if let ParamValue::List(items) = value {
            for (i, item) in items.iter().enumerate() {
                self.check_range(item).map_err(|e| ValueError::Item {
                    index: i + 1,
                    source: Box::new(e),
                })?;
            }
            return Ok(());
        }
        let below = self
            .min
            .as_ref()
            .is_some_and(|m| value.compare(m) == Some(std::cmp::Ordering::Less));
        let above = self
            .max
            .as_ref()
            .is_some_and(|m| value.compare(m) == Some(std::cmp::Ordering::Greater));
        if below || above {
            return Err(ValueError::OutOfRange {
                value: value.display(),
                range: self.range_fr(),
            });
        }
        Ok(())
    }

    /// The declared range in French: `de 0 à 100`, `au moins 0`, `jusqu'au 31/12/2040`.
    pub fn range_fr(&self) -> String {
        match (&self.min, &self.max) {
            (Some(a), Some(b)) => format!("de {} à {}", a.display(), b.display()),
            (Some(a), None) => format!("au moins {}", a.display()),
            (None, Some(b)) => format!("au plus {}", b.display()),
            (None, None) => "sans limite".into(),
        }
    }

    /// The value for data whose `depends_on` field reads `key` (`None`: the
    /// field is absent or not a text or a number).
    pub fn value_for(&self, key: Option<&str>) -> Option<&ParamValue> {
        key.and_then(|k| self.per_value.get(k)).or(self.default.as_ref())
    }

    /// The number a rule uses whatever the return (its default), when it is
    /// one: for places that have no return at hand (a blank template's live
    /// checks). `None` for a parameter chosen by a field of the return.
    pub fn as_decimal(&self) -> Option<Decimal> {
        self.default.as_ref().and_then(ParamValue::as_decimal)
    }

    /// What a campaign sets: one value for every return, whatever its field.
    pub fn set(&mut self, value: ParamValue) {
        self.default = Some(value);
        self.per_value.clear();
        self.depends_on = None;
    }

    /// The default in French, for reports and docs: `50`, or
    /// `selon /identification/periode : 2007-2013 → 31/12/2015 ; …`.
    pub fn display(&self) -> String {
        let plain = self.default.as_ref().map(ParamValue::display);
        match &self.depends_on {
            Some(ptr) if !self.per_value.is_empty() => {
                let mut parts: Vec<String> = self
                    .per_value
                    .iter()
                    .map(|(k, v)| format!("{k} → {}", v.display()))
                    .collect();
                if let Some(p) = plain {
                    parts.push(format!("sinon {p}"));
                }
                format!("selon {ptr} : {}", parts.join(" ; "))
            }
            _ => plain.unwrap_or_else(|| "(aucune valeur)".into()),
        }
    }
}

/// A rule's parameters as a script sees them, for data read through `field`
/// (a pointer's value as text, for `depends_on`).
pub fn script_params<'a>(params: &BTreeMap<String, Param>, field: impl Fn(&str) -> Option<String> + 'a) -> Map {
    let mut m = Map::new();
    for (name, p) in params {
        let key = p.depends_on.as_deref().and_then(&field);
        let value = p
            .value_for(key.as_deref())
            .map_or(Dynamic::UNIT, ParamValue::to_dynamic);
        m.insert(name.as_str().into(), value);
    }
    m
}

/// A JSON value as the key of `per_value`: a text as is, a number as written.
pub fn key_of_json(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A Rhai value at a JSON pointer, as the key of `per_value`.
pub fn key_of_dynamic(data: &Dynamic, pointer: &str) -> Option<String> {
    let mut cur = data.clone();
    for part in pointer.split('/').skip(1) {
        let part = part.replace("~1", "/").replace("~0", "~");
        cur = if cur.is_map() {
            cur.read_lock::<Map>()?.get(part.as_str())?.clone()
        } else if cur.is_array() {
            let i: usize = part.parse().ok()?;
            cur.read_lock::<Array>()?.get(i)?.clone()
        } else {
            return None;
        };
    }
    if cur.is_string() {
        cur.into_immutable_string().ok().map(|s| s.to_string())
    } else if cur.is_int() {
        cur.as_int().ok().map(|i| i.to_string())
    } else if cur.is_decimal() {
        cur.as_decimal().ok().map(|d| d.normalize().to_string())
    } else {
        None
    }
}

/// Why a value is not one of a parameter's type or range (its `Display` is
/// the French a campaign author reads; the caller adds where and which
/// parameter).
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum ValueError {
    #[error("{expected} est attendu, pas {got}")]
    WrongKind { expected: &'static str, got: &'static str },
    #[error("{0} n'est pas un nombre utilisable")]
    Unusable(String),
    #[error("{0} est un nombre trop grand pour une règle")]
    TooBig(String),
    #[error("un nombre entier est attendu, pas le nombre à virgule {0}")]
    NotInteger(String),
    #[error("une date sans heure est attendue (AAAA-MM-JJ, par exemple 2015-12-31)")]
    TimeInDate,
    #[error("« {0} » n'est pas un jour : écrivez la date AAAA-MM-JJ (par exemple 2015-12-31)")]
    NotADay(String),
    #[error("valeur de paramètre inattendue : {0}")]
    Unexpected(&'static str),
    #[error("élément n° {index} de la liste : {source}")]
    Item { index: usize, source: Box<ValueError> },
    #[error("{value} est hors de la plage permise ({range})")]
    OutOfRange { value: String, range: String },
}
/// A float as a French reader writes it: `2,5`, `1e300` for the very large or small.
fn float_fr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if f != 0.0 && (f.abs() >= 1e15 || f.abs() < 1e-6) {
        return format!("{f:e}").replace('.', ",");
    }
    format!("{f}").replace('.', ",")
}

/// What a TOML value is, in French.
pub fn toml_kind_fr(v: &toml::Value) -> &'static str {
    match v {
        toml::Value::String(_) => "un texte",
        toml::Value::Integer(_) => "un nombre entier",
        toml::Value::Float(_) => "un nombre à virgule",
        toml::Value::Boolean(_) => "un booléen (true/false)",
        toml::Value::Datetime(_) => "une date",
        toml::Value::Array(_) => "une liste",
        toml::Value::Table(_) => "une table",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(text: &str) -> Result<BTreeMap<String, Param>, String> {
        #[derive(Deserialize)]
        struct H {
            parameters: BTreeMap<String, Param>,
        }
        toml::from_str::<H>(text)
            .map(|h| h.parameters)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn plain_values_stay_valid() {
        let p = header("[parameters]\nseuil_pct = 50\ntolerance = 0.005\nmots = \"a b\"\n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p["seuil_pct"].kind, ParamKind::Number);
        assert_eq!(p["seuil_pct"].default, Some(ParamValue::Int(50)));
        assert_eq!(p["tolerance"].display(), "0,005");
        assert_eq!(p["mots"].kind, ParamKind::Text);
        assert!(p["seuil_pct"].min.is_none());
    }

    #[test]
    fn declared_ranges_are_enforced() {
        let p = header("[parameters]\nseuil_pct = { default = 50, min = 0, max = 100 }\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let s = &p["seuil_pct"];
        assert!(s.check_toml(&toml::Value::Integer(40)).is_ok());
        let e = s
            .check_toml(&toml::Value::Float(1e300))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("trop grand"), "{e}");
        let e = s
            .check_toml(&toml::Value::Integer(-5))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(e, "-5 est hors de la plage permise (de 0 à 100)");
        let e = s
            .check_toml(&toml::Value::String("40".into()))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(e, "un nombre est attendu, pas un texte");
        // A default out of its own range is a mistake in the rule.
        assert!(header("[parameters]\nx = { default = 500, min = 0, max = 100 }\n").is_err());
    }

    #[test]
    fn dates_lists_and_defaults_by_field() {
        let p = header(
            "[parameters.fin]\ntype = \"date\"\nmin = 2000-01-01\nmax = 2040-12-31\ndepends_on = \"/identification/periode\"\nper_value = { \"2007-2013\" = 2015-12-31, \"2014-2020\" = 2023-12-31 }\n[parameters.codes]\ntype = \"integers\"\ndefault = []\nmin = 1\nmax = 999\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let fin = &p["fin"];
        assert_eq!(
            fin.value_for(Some("2014-2020")),
            Some(&ParamValue::Date("2023-12-31".into()))
        );
        assert_eq!(fin.value_for(Some("2021-2027")), None);
        assert!(fin
            .check_toml(
                &"1999-12-31"
                    .parse::<toml::Value>()
                    .map_or(toml::Value::Integer(0), |v| v)
            )
            .is_err());
        let e = fin
            .check_toml(&toml::Value::Datetime(
                "1990-01-01".parse().unwrap_or_else(|e| panic!("{e}")),
            ))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(
            e,
            "01/01/1990 est hors de la plage permise (de 01/01/2000 à 31/12/2040)"
        );
        let codes = &p["codes"];
        let list = toml::Value::Array(vec![toml::Value::Integer(1), toml::Value::Integer(2)]);
        assert_eq!(
            codes.check_toml(&list),
            Ok(ParamValue::List(vec![ParamValue::Int(1), ParamValue::Int(2)]))
        );
        let bad = toml::Value::Array(vec![toml::Value::Integer(1), toml::Value::String("x".into())]);
        let e = codes.check_toml(&bad).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            e.starts_with("élément n° 2 de la liste : un nombre entier est attendu"),
            "{e}"
        );
        let mut fin = fin.clone();
        fin.set(ParamValue::Date("2016-06-30".into()));
        assert_eq!(
            fin.value_for(Some("2007-2013")),
            Some(&ParamValue::Date("2016-06-30".into()))
        );
    }

    #[test]
    fn script_params_follow_the_field() {
        let p = header(
            "[parameters.plafond]\ntype = \"number\"\nmin = 0\nmax = 100\ndepends_on = \"/identification/periode\"\nper_value = { \"2014-2020\" = 60, \"2021-2027\" = 60 }\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let data = serde_json::json!({"identification": {"periode": "2014-2020"}});
        let m = script_params(&p, |ptr| data.pointer(ptr).and_then(key_of_json));
        assert_eq!(m.get("plafond").map(|d| d.to_string()), Some("60".into()));
        let dynamic =
            crate::pipeline::rules::api::to_dynamic(&serde_json::json!({"identification": {"periode": "2007-2013"}}));
        assert_eq!(
            key_of_dynamic(&dynamic, "/identification/periode").as_deref(),
            Some("2007-2013")
        );
        let m = script_params(&p, |ptr| key_of_dynamic(&dynamic, ptr));
        assert!(m.get("plafond").is_some_and(Dynamic::is_unit));
    }
}
