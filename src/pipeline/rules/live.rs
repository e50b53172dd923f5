//! A rule's live check: how a spreadsheet checks the rule by itself while the
//! return is filled (`[[live]]` tables of the rule's TOML header).
//!
//! A declaration names the cells it involves by the template's JSON pointers
//! (`*` for "each row of the table"), never by cell address; the blank-template
//! writer ([`crate::blank::live`]) turns it into conditional formats on the cells of
//! the blank return. Kinds:
//!
//! ```toml
//! [[live]]                       # a total against the sum of its parts
//! kind = "somme"
//! total = "/financements/#/cout_total"
//! parts = ["/financements/#/etat", "/financements/#/region"]
//! message = "coût total = somme des financeurs"
//!
//! [[live]]                       # one declaration per column: `{}` takes each value
//! kind = "somme"
//! each = ["etat", "region"]
//! total = "/financements_total/{}"
//! parts = ["/financements/#/{}"]   # a `#` part under a total without `#`: the whole column
//! message = "ligne TOTAL = somme des années"
//!
//! [[live]]                       # a part no larger than its whole
//! kind = "partie"
//! part = "/maquette/programme_axe1"
//! whole = "/maquette/prevu_axe1"
//! message = "programmé ≤ prévu"
//!
//! [[live]]                       # two dates of a row in order
//! kind = "ordre"
//! before = "/operations/#/date_debut"
//! after = "/operations/#/date_fin"
//! message = "date de début ≤ date de fin"
//!
//! [[live]]                       # a stated rate = part ÷ whole × 100
//! kind = "taux"
//! rate = "/maquette/taux_axe1"
//! part = "/maquette/programme_axe1"
//! whole = "/maquette/prevu_axe1"
//! message = "taux = programmé ÷ prévu × 100"
//! ```
//!
//! `#` in a pointer is "each row of the table" (written `*` in the template's
//! layout; a `*/` would end the rule header's comment). Common keys: `tolerance` (a number, or the name of one of the rule's
//! parameters; default: the rule's `tolerance` parameter, else 0), `on` (the
//! pointer of the cell that is coloured and carries the message; default: the
//! total, the part, the later date, the rate — the cell the rule reports on),
//! `except_rows_with` (for a column sum: rows whose cell of this column is
//! filled are not summed, e.g. the parts of another row).

use serde::{Deserialize, Serialize};

/// What a live check compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LiveKind {
    /// A total equals the sum of its parts, within the tolerance.
    #[serde(rename = "somme")]
    Sum,
    /// A part is not larger than its whole (beyond the tolerance).
    #[serde(rename = "partie")]
    Part,
    /// A date is not after another date of the same row.
    #[serde(rename = "ordre")]
    Order,
    /// A stated rate equals part ÷ whole × 100, within the tolerance.
    #[serde(rename = "taux")]
    Rate,
}

impl LiveKind {
    /// The kind as a French word (as the header writes it).
    pub fn as_str(self) -> &'static str {
        match self {
            LiveKind::Sum => "somme",
            LiveKind::Part => "partie",
            LiveKind::Order => "ordre",
            LiveKind::Rate => "taux",
        }
    }
}

/// A tolerance: a figure, or the name of one of the rule's parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LiveTolerance {
    Int(i64),
    Float(f64),
    Parameter(String),
}

/// One `[[live]]` table of a rule's header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveDecl {
    pub kind: LiveKind,
    /// Short French text shown in the cell's input message, after the rule id.
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whole: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<String>,
    /// The coloured cell; default: the one the rule reports on (see the module).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<String>,
    /// Values that replace `{}` in every pointer: one check per value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub each: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<LiveTolerance>,
    /// Column sums leave out the rows whose cell at this pointer is filled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub except_rows_with: Option<String>,
}

/// One live check of one rule, `{}` replaced: what the spreadsheet compares.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveShape {
    Sum { total: String, parts: Vec<String> },
    Part { part: String, whole: String },
    Order { before: String, after: String },
    Rate { rate: String, part: String, whole: String },
}

impl LiveShape {
    /// The pointer of the cell the rule reports on.
    pub fn reported(&self) -> &str {
        match self {
            LiveShape::Sum { total, .. } => total,
            LiveShape::Part { part, .. } => part,
            LiveShape::Order { after, .. } => after,
            LiveShape::Rate { rate, .. } => rate,
        }
    }
}

/// A declaration with `each` expanded, checked for its keys.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveItem {
    pub shape: LiveShape,
    pub on: String,
    pub message: String,
    pub tolerance: Option<LiveTolerance>,
    pub except_rows_with: Option<String>,
}

impl LiveDecl {
    /// The checks this declaration stands for (one per `each` value), or the
    /// French reason it is malformed.
    pub fn items(&self) -> Result<Vec<LiveItem>, String> {
        let values: Vec<Option<&str>> = if self.each.is_empty() {
            vec![None]
        } else {
            self.each.iter().map(|s| Some(s.as_str())).collect()
        };
        values.into_iter().map(|v| self.item(v)).collect()
    }

    fn item(&self, each: Option<&str>) -> Result<LiveItem, String> {
        // `#` stands for "each row" (a `*` would close the header's comment).
        let fill = |p: &str| {
            let p = match each {
                Some(v) => p.replace("{}", v),
                None => p.to_string(),
            };
            p.split('/')
                .map(|s| if s == "#" { "*" } else { s })
                .collect::<Vec<_>>()
                .join("/")
        };
        let need = |name: &str, v: &Option<String>| {
            v.as_deref().map(fill).ok_or_else(|| {
                format!(
                    "contrôle en direct « {} » : la clé « {name} » est obligatoire",
                    self.kind.as_str()
                )
            })
        };
        let shape = match self.kind {
            LiveKind::Sum => {
                if self.parts.is_empty() {
                    return Err("contrôle en direct « somme » : la clé « parts » est obligatoire".into());
                }
                LiveShape::Sum {
                    total: need("total", &self.total)?,
                    parts: self.parts.iter().map(|p| fill(p)).collect(),
                }
            }
            LiveKind::Part => LiveShape::Part {
                part: need("part", &self.part)?,
                whole: need("whole", &self.whole)?,
            },
            LiveKind::Order => LiveShape::Order {
                before: need("before", &self.before)?,
                after: need("after", &self.after)?,
            },
            LiveKind::Rate => LiveShape::Rate {
                rate: need("rate", &self.rate)?,
                part: need("part", &self.part)?,
                whole: need("whole", &self.whole)?,
            },
        };
        let on = self
            .on
            .as_deref()
            .map(fill)
            .unwrap_or_else(|| shape.reported().to_string());
        Ok(LiveItem {
            shape,
            on,
            message: self.message.trim().to_string(),
            tolerance: self.tolerance.clone(),
            except_rows_with: self.except_rows_with.as_deref().map(fill),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_expands_one_check_per_value() {
        let d: LiveDecl = toml::from_str(
            "kind = \"somme\"\neach = [\"etat\", \"region\"]\ntotal = \"/t/{}\"\nparts = [\"/r/#/{}\"]\nmessage = \"TOTAL\"\n",
        )
        .expect("parses");
        let items = d.items().expect("well formed");
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[1].shape,
            LiveShape::Sum {
                total: "/t/region".into(),
                parts: vec!["/r/*/region".into()]
            }
        );
        assert_eq!(items[1].on, "/t/region");
    }

    #[test]
    fn a_missing_key_is_a_french_error() {
        let d: LiveDecl = toml::from_str("kind = \"partie\"\npart = \"/a\"\nmessage = \"x\"\n").expect("parses");
        let e = d.items().expect_err("whole is missing");
        assert!(e.contains("« whole » est obligatoire"), "{e}");
    }

    #[test]
    fn an_unknown_kind_or_key_is_refused() {
        assert!(toml::from_str::<LiveDecl>("kind = \"moyenne\"\nmessage = \"x\"\n").is_err());
        assert!(toml::from_str::<LiveDecl>("kind = \"somme\"\nmessage = \"x\"\ncellule = \"B5\"\n").is_err());
    }
}
