//! Extraction: from a workbook's cells to the structured JSON of a return,
//! driven by the template's schema. Every value keeps its cell of origin.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Map, Number, Value};

use crate::base::format::{decimal_fr, decimal_of_f64};
use crate::base::model::{CellRange, CellRef, Origin};
use crate::base::values::label::normalize_choice;
use crate::base::values::{normalize_label, parse_french_date, parse_french_number, DateInterval, ParsedNumber, Unit};
use crate::finding::{EngineRule, Finding};
use crate::pipeline::read::{Cell, CellValue, Sheet, Workbook};
use crate::pipeline::template::{Block, FieldSpec, SheetSpec, TableSpec, Template, ValueKind};

/// The structured data of one return, with where each value came from.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Extraction {
    pub data: Value,
    /// JSON pointer → cell (or range) of origin.
    pub origins: BTreeMap<String, Origin>,
    /// Pointers whose value could not be used (malformed, error, wrong unit, …):
    /// rules skip them without a finding of their own.
    #[serde(skip)]
    pub unusable: BTreeSet<String>,
    /// Pointers whose label, header or sheet is missing (already reported).
    #[serde(skip)]
    pub missing: BTreeSet<String>,
    /// Pointers whose cell says the figure is not given (`nc`, `NS`, `ND`…):
    /// absent from the data (rules see a missing value), reported once as
    /// BILAN-NUM-004, never "required value missing".
    #[serde(skip)]
    pub not_given: BTreeSet<String>,
    /// The exact decimal of every number read with a fraction (pointer → value):
    /// `data` holds JSON numbers (f64 for fractions), rules get these, so money
    /// never goes through a float after the cell's one conversion.
    #[serde(skip)]
    pub exact: BTreeMap<String, rust_decimal::Decimal>,
    #[serde(skip)]
    pub findings: Vec<Finding>,
}

impl Extraction {
    /// The origin of `pointer`, or of its nearest ancestor that has one.
    pub fn origin_of(&self, pointer: &str) -> Option<&Origin> {
        let mut p = pointer;
        loop {
            if let Some(o) = self.origins.get(p) {
                return Some(o);
            }
            match p.rfind('/') {
                Some(0) | None => return None,
                Some(i) => p = &p[..i],
            }
        }
    }

    /// True when `pointer` or one of its ancestors is unusable or missing.
    pub fn is_unusable(&self, pointer: &str) -> bool {
        let mut p = pointer;
        loop {
            if self.unusable.contains(p) || self.missing.contains(p) {
                return true;
            }
            match p.rfind('/') {
                Some(0) | None => return false,
                Some(i) => p = &p[..i],
            }
        }
    }

    /// Records the exact value of the number at `pointer`; its JSON form.
    fn exact_number(&mut self, pointer: &str, d: rust_decimal::Decimal) -> Value {
        // Integers are exact in JSON already: only fractions are kept aside.
        if !d.fract().is_zero() {
            self.exact.insert(pointer.to_string(), d);
        }
        json_number(d)
    }

    fn finding(
        &mut self,
        rule: EngineRule,
        message: String,
        sheet: &str,
        cell: Option<CellRef>,
        pointer: Option<&str>,
    ) {
        let mut f = Finding::engine(rule, message).at(sheet, cell);
        if let Some(p) = pointer {
            f = f.with_pointer(p);
        }
        self.findings.push(f);
    }
}

pub use crate::pipeline::template::find_label_value;

mod convert;
mod header;
mod labels;
mod table;
pub use convert::json_number;
pub use convert::DATE_FORMS_FR;
use convert::*;
use header::*;
use labels::*;
pub use table::is_total_label;
use table::*;

/// Extracts a return of template `t` from `wb`.
pub fn extract(wb: &Workbook, t: &Template) -> Extraction {
    let mut ex = Extraction {
        data: Value::Object(Map::new()),
        ..Default::default()
    };
    let mut root = Map::new();
    for spec in &t.sheets {
        let Some(sheet) = wb
            .sheets
            .iter()
            .find(|s| normalize_label(&s.name) == normalize_label(&spec.name))
        else {
            mark_sheet_missing(&mut ex, spec);
            continue;
        };
        if spec.key.is_empty() {
            // The sheet is one top-level table.
            let stops = stop_rows(sheet, spec);
            for block in &spec.blocks {
                if let Block::Table(tb) = block {
                    extract_table(&mut ex, sheet, tb, "", &mut root, &BTreeSet::new(), &stops);
                }
            }
        } else {
            let mut obj = Map::new();
            ex.origins.insert(spec.pointer(), Origin::sheet(&sheet.name));
            extract_sheet(&mut ex, sheet, spec, &mut obj);
            root.insert(spec.key.clone(), Value::Object(obj));
        }
    }
    // Extra sheets: reported, never read.
    for sheet in &wb.sheets {
        if t.sheet(&sheet.name).is_none() && !sheet.cells().is_empty() {
            ex.finding(
                EngineRule::Tpl005,
                format!(
                    "Feuille « {} » ignorée : elle ne fait pas partie du modèle {}.",
                    sheet.name, t.id
                ),
                &sheet.name,
                None,
                None,
            );
        }
    }
    ex.data = Value::Object(root);
    ex
}

fn mark_sheet_missing(ex: &mut Extraction, spec: &SheetSpec) {
    let pointers: Vec<String> = if spec.key.is_empty() {
        spec.blocks
            .iter()
            .filter_map(|b| match b {
                Block::Table(tb) => Some(
                    std::iter::once(format!("/{}", tb.key))
                        .chain(tb.total.as_ref().map(|t| format!("/{}", t.key)))
                        .collect::<Vec<_>>(),
                ),
                _ => None,
            })
            .flatten()
            .collect()
    } else {
        vec![spec.pointer()]
    };
    ex.missing.extend(pointers.iter().cloned());
    if spec.required {
        let f = Finding::engine(
            EngineRule::Tpl003,
            format!(
                "Feuille obligatoire « {} » introuvable : ajoutez-la (avec ce nom) en reprenant le modèle.",
                spec.name
            ),
        )
        .with_pointer(pointers.first().cloned().unwrap_or_default());
        ex.findings.push(f);
    }
}
