//! Extraction: from a workbook's cells to the structured JSON of a return,
//! driven by the template's schema. Every value keeps its cell of origin.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Map, Number, Value};

use crate::base::format::{decimal_fr, decimal_of_f64};
use crate::base::model::{CellRange, CellRef, Origin};
use crate::base::values::label::normalize_choice;
use crate::base::values::{normalize_label, parse_french_date, parse_french_number, DateInterval, ParsedNumber, Unit};
use crate::finding::{Finding, Severity};
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
        rule: &str,
        severity: Severity,
        message: String,
        sheet: &str,
        cell: Option<CellRef>,
        pointer: Option<&str>,
    ) {
        let mut f = Finding::new(rule, severity, message).at(sheet, cell);
        if let Some(p) = pointer {
            f = f.with_pointer(p);
        }
        self.findings.push(f);
    }
}

pub use crate::pipeline::template::find_label_value;

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
                "BILAN-TPL-005",
                Severity::Info,
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
        let f = Finding::new(
            "BILAN-TPL-003",
            Severity::Error,
            format!(
                "Feuille obligatoire « {} » introuvable : ajoutez-la (avec ce nom) en reprenant le modèle.",
                spec.name
            ),
        )
        .with_pointer(pointers.first().cloned().unwrap_or_default());
        ex.findings.push(f);
    }
}

fn extract_sheet(ex: &mut Extraction, sheet: &Sheet, spec: &SheetSpec, obj: &mut Map<String, Value>) {
    let prefix = spec.pointer();
    // Tables first: their rows are not label/value pairs.
    let mut table_rows: BTreeSet<u32> = BTreeSet::new();
    let mut first_table_row = u32::MAX;
    let stops = stop_rows(sheet, spec);
    for block in &spec.blocks {
        if let Block::Table(tb) = block {
            if let Some(rows) = extract_table(ex, sheet, tb, &prefix, obj, &table_rows, &stops) {
                first_table_row = first_table_row.min(*rows.start());
                table_rows.extend(rows);
            }
        }
    }
    let mut used_rows = table_rows.clone();
    for block in &spec.blocks {
        match block {
            Block::Title(f) => {
                let pointer = format!("{prefix}/{}", f.key);
                let title = sheet.cells().iter().find(|c| {
                    c.pos.row < first_table_row && matches!(&c.value, CellValue::Text(t) if !t.trim().is_empty())
                });
                match title {
                    Some(c) => {
                        used_rows.insert(c.pos.row);
                        ex.origins.insert(pointer.clone(), Origin::cell(&sheet.name, c.pos));
                        obj.insert(f.key.clone(), Value::String(c.value.display().trim().to_string()));
                    }
                    None => {
                        ex.origins
                            .insert(pointer.clone(), Origin::cell(&sheet.name, CellRef::new(0, 0)));
                    }
                }
            }
            Block::Field(f) => {
                let pointer = format!("{prefix}/{}", f.key);
                let found = find_label_outside(sheet, f, &table_rows);
                match found {
                    None => {
                        ex.missing.insert(pointer.clone());
                        if f.required {
                            ex.finding(
                                "BILAN-TPL-004",
                                Severity::Error,
                                format!("Libellé obligatoire « {} » introuvable dans la feuille « {} » : ajoutez une ligne avec ce libellé et sa valeur à droite.", f.label, sheet.name),
                                &sheet.name,
                                None,
                                Some(&pointer),
                            );
                        }
                    }
                    Some((label_cell, value_cell)) => {
                        used_rows.insert(label_cell.row);
                        match value_cell {
                            Some(cell) => {
                                if let Some(v) = convert(ex, sheet, cell, f, f.unit, &pointer) {
                                    obj.insert(f.key.clone(), v);
                                }
                            }
                            None => {
                                // Empty: the schema's `required` says whether it matters.
                                let right = merged_end(sheet, label_cell);
                                ex.origins.insert(
                                    pointer.clone(),
                                    Origin::cell(&sheet.name, CellRef::new(label_cell.row, right.col + 1)),
                                );
                            }
                        }
                    }
                }
            }
            Block::Table(_) => {}
        }
    }
    report_unknown_labels(ex, sheet, spec, &used_rows);
}

/// The bottom-right cell of the merge starting at `cell`, or `cell`.
fn merged_end(sheet: &Sheet, cell: CellRef) -> CellRef {
    sheet.merge_at(cell).map(|m| m.end).unwrap_or(cell)
}

fn find_label_outside<'s>(
    sheet: &'s Sheet,
    f: &FieldSpec,
    skip_rows: &BTreeSet<u32>,
) -> Option<(CellRef, Option<&'s Cell>)> {
    for row in sheet.row_numbers() {
        if skip_rows.contains(&row) {
            continue;
        }
        let cells = sheet.row(row);
        for (i, (c, norm)) in sheet.row_normalized(row).enumerate() {
            if norm.is_some_and(|n| f.matches_normalized(n)) {
                return Some((c.pos, cells[i + 1..].iter().find(|v| !v.value.is_blank())));
            }
        }
    }
    None
}

fn report_unknown_labels(ex: &mut Extraction, sheet: &Sheet, spec: &SheetSpec, used_rows: &BTreeSet<u32>) {
    let has_fields = spec.blocks.iter().any(|b| matches!(b, Block::Field(_)));
    if !has_fields {
        return;
    }
    for row in sheet.row_numbers() {
        if used_rows.contains(&row) {
            continue;
        }
        let cells = sheet.row(row);
        let Some((i, label)) = cells
            .iter()
            .enumerate()
            .find(|(_, c)| matches!(&c.value, CellValue::Text(t) if !t.trim().is_empty()))
        else {
            continue;
        };
        if cells[i + 1..].iter().any(|c| !c.value.is_blank()) {
            ex.finding(
                "BILAN-TPL-005",
                Severity::Info,
                format!(
                    "Libellé « {} » ignoré : il ne fait pas partie du modèle (feuille « {} »).",
                    label.value.display().trim(),
                    sheet.name
                ),
                &sheet.name,
                Some(label.pos),
                None,
            );
        }
    }
}

/// A located header row: which column holds which field.
struct Header {
    /// The row where every required column label is found (a label merged down
    /// from a row above counts for this row).
    row: u32,
    /// The header's first row, merges included.
    top: u32,
    /// The first row below the header, merges included: data start there.
    data_start: u32,
    columns: Vec<(usize, u32)>, // (index in spec.columns, sheet column)
    first_col: u32,
    last_col: u32,
}

/// Merged ranges taller than one row (header cells merged down), at most 20 rows tall.
fn tall_merges(sheet: &Sheet) -> Vec<CellRange> {
    sheet
        .merges
        .iter()
        .copied()
        .filter(|m| m.end.row > m.start.row && m.end.row - m.start.row <= 20)
        .collect()
}

fn find_header(sheet: &Sheet, tb: &TableSpec, skip_rows: &BTreeSet<u32>) -> Option<Header> {
    let tall = tall_merges(sheet);
    for row in sheet.row_numbers() {
        if skip_rows.contains(&row) {
            continue;
        }
        let mut columns: Vec<(usize, u32)> = Vec::new();
        let mut top = row;
        let mut bottom = row;
        for (c, norm) in sheet.row_normalized(row) {
            let Some(n) = norm else { continue };
            if let Some(i) = tb.columns.iter().position(|col| col.matches_normalized(n)) {
                if !columns.iter().any(|(j, _)| *j == i) {
                    columns.push((i, c.pos.col));
                    bottom = bottom.max(merged_end(sheet, c.pos).row);
                }
            }
        }
        // Header cells merged down from a row above (`Année` over two rows
        // beside a `Financeurs` group label) count for this row too.
        for m in tall.iter().filter(|m| m.start.row < row && m.end.row >= row) {
            let Some(CellValue::Text(t)) = sheet.get(m.start) else {
                continue;
            };
            let n = normalize_label(t);
            if let Some(i) = tb.columns.iter().position(|col| col.matches_normalized(&n)) {
                if !columns.iter().any(|(j, _)| *j == i) {
                    columns.push((i, m.start.col));
                    top = top.min(m.start.row);
                    bottom = bottom.max(m.end.row);
                }
            }
        }
        let all_required = tb
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.required)
            .all(|(i, _)| columns.iter().any(|(j, _)| *j == i));
        if all_required && !columns.is_empty() {
            let first_col = columns.iter().map(|(_, c)| *c).min().unwrap_or(0);
            let last_col = columns.iter().map(|(_, c)| *c).max().unwrap_or(0);
            return Some(Header {
                row,
                top,
                data_start: bottom.saturating_add(1),
                columns,
                first_col,
                last_col,
            });
        }
    }
    None
}

/// `TOTAL`, `Total général`, `Totaux`, `Total :`: a table's total row.
pub fn is_total_label(text: &str) -> bool {
    let n = normalize_label(text);
    n == "total" || n.starts_with("total ") || n.starts_with("totaux") || n.starts_with("total:")
}

/// Rows of a sheet that hold a label of the template or a table's header: a
/// table without a TOTAL row ends before the next of them.
fn stop_rows(sheet: &Sheet, spec: &SheetSpec) -> BTreeSet<u32> {
    let fields: Vec<&FieldSpec> = spec
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Field(f) => Some(f),
            _ => None,
        })
        .collect();
    let tables: Vec<&TableSpec> = spec
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Table(t) => Some(t),
            _ => None,
        })
        .collect();
    let mut rows = BTreeSet::new();
    for row in sheet.row_numbers() {
        let norms: Vec<&str> = sheet.row_normalized(row).filter_map(|(_, n)| n).collect();
        let is_label = norms.iter().any(|n| fields.iter().any(|f| f.matches_normalized(n)));
        let is_header = tables.iter().any(|t| {
            t.columns
                .iter()
                .filter(|c| c.required)
                .all(|c| norms.iter().any(|n| c.matches_normalized(n)))
        });
        if is_label || is_header {
            rows.insert(row);
        }
    }
    rows
}

/// Value of a cell as the table reads it: a merged range's anchor for covered cells.
fn table_cell(sheet: &Sheet, pos: CellRef) -> Option<(CellRef, &CellValue)> {
    if let Some(v) = sheet.get(pos) {
        if !v.is_blank() {
            return Some((pos, v));
        }
        return None;
    }
    let anchor = sheet.merge_anchor(pos)?;
    sheet.get(anchor).filter(|v| !v.is_blank()).map(|v| (anchor, v))
}

/// Text that is neither a number nor a date: what a group heading holds.
fn is_heading_text(v: &CellValue) -> bool {
    match v {
        CellValue::Text(t) => {
            matches!(
                parse_french_number(t),
                ParsedNumber::NotNumeric | ParsedNumber::WithComment { .. }
            ) && parse_french_date(t).is_none()
        }
        _ => false,
    }
}

/// Extracts one table into `obj[tb.key]` (and its total row). Returns the rows
/// the table occupies, header and total included.
///
/// `templates.md`, "Tables": blank rows inside the table are skipped; the table
/// ends at its TOTAL row, else before the next label or header of the template
/// on the sheet (`stops`), else at the end of the used area. A row with only
/// text in the table's first column is a group heading, skipped.
fn extract_table(
    ex: &mut Extraction,
    sheet: &Sheet,
    tb: &TableSpec,
    prefix: &str,
    obj: &mut Map<String, Value>,
    skip_rows: &BTreeSet<u32>,
    stops: &BTreeSet<u32>,
) -> Option<std::ops::RangeInclusive<u32>> {
    let pointer = format!("{prefix}/{}", tb.key);
    let Some(header) = find_header(sheet, tb, skip_rows) else {
        ex.missing.insert(pointer.clone());
        if let Some(total) = &tb.total {
            ex.missing.insert(format!("{prefix}/{}", total.key));
        }
        if tb.required {
            let wanted: Vec<&str> = tb
                .columns
                .iter()
                .filter(|c| c.required)
                .map(|c| c.label.as_str())
                .collect();
            ex.finding(
                "BILAN-TPL-004",
                Severity::Error,
                format!("En-tête du tableau introuvable dans la feuille « {} » : aucune ligne ne contient toutes les colonnes {}.", sheet.name, wanted.iter().map(|w| format!("« {w} »")).collect::<Vec<_>>().join(", ")),
                &sheet.name,
                None,
                Some(&pointer),
            );
        }
        return None;
    };
    // Extra columns in the header row.
    for c in sheet.row(header.row) {
        if header.columns.iter().any(|(_, col)| *col == c.pos.col) || c.value.is_blank() {
            continue;
        }
        if c.pos.col > header.first_col && c.pos.col < header.last_col || c.pos.col > header.last_col {
            ex.finding(
                "BILAN-TPL-005",
                Severity::Info,
                format!(
                    "Colonne « {} » ignorée : elle ne fait pas partie du tableau du modèle.",
                    c.value.display().trim()
                ),
                &sheet.name,
                Some(c.pos),
                None,
            );
        }
    }
    for (i, col) in tb.columns.iter().enumerate() {
        if !col.required && !header.columns.iter().any(|(j, _)| *j == i) {
            ex.missing.insert(format!("{pointer}/*/{}", col.key));
        }
    }
    let row_is_empty =
        |row: u32| (header.first_col..=header.last_col).all(|c| table_cell(sheet, CellRef::new(row, c)).is_none());
    let first_text = |row: u32| {
        (header.first_col..=header.last_col)
            .find_map(|c| table_cell(sheet, CellRef::new(row, c)))
            .map(|(_, v)| v.display())
    };
    let is_group_heading = |row: u32| {
        // The cheap test first: every other column of the header is empty.
        header
            .columns
            .iter()
            .filter(|(_, col)| *col != header.first_col)
            .all(|(_, col)| table_cell(sheet, CellRef::new(row, *col)).is_none())
            && table_cell(sheet, CellRef::new(row, header.first_col)).is_some_and(|(_, v)| is_heading_text(v))
    };
    // Only rows that hold something in the table's columns are visited: a
    // hostile sheet with one cell at row 1 048 576 costs nothing.
    let candidates = candidate_rows(sheet, &header);
    let mut rows = Vec::new();
    let mut total_row = None;
    for &r in &candidates {
        if row_is_empty(r) {
            continue; // blank rows inside a table are skipped, not an end
        }
        if first_text(r).map(|t| is_total_label(&t)).unwrap_or(false) {
            total_row = Some(r);
            break;
        }
        if stops.contains(&r) {
            break;
        }
        if is_group_heading(r) {
            continue;
        }
        rows.push(r);
    }
    let header_range = CellRange::new(
        CellRef::new(header.top, header.first_col),
        CellRef::new(header.data_start.saturating_sub(1), header.last_col),
    );
    let unit_column = tb.columns.iter().position(|c| normalize_label(&c.label) == "unite");
    let mut items = Vec::with_capacity(rows.len());
    for (n, &row) in rows.iter().enumerate() {
        let item = extract_row(
            ex,
            sheet,
            tb,
            &header,
            row,
            &format!("{pointer}/{n}"),
            None,
            unit_column,
        );
        items.push(Value::Object(item));
    }
    let end_row = total_row
        .or(rows.last().copied())
        .unwrap_or(header.data_start.saturating_sub(1));
    ex.origins.insert(
        pointer.clone(),
        Origin::range(
            &sheet.name,
            header_range.union(&CellRange::single(CellRef::new(end_row, header.last_col))),
        ),
    );
    obj.insert(tb.key.clone(), Value::Array(items));
    if let Some(total) = &tb.total {
        let total_pointer = format!("{prefix}/{}", total.key);
        match total_row {
            Some(row) => {
                let item = extract_row(ex, sheet, tb, &header, row, &total_pointer, Some(&total.columns), None);
                obj.insert(total.key.clone(), Value::Object(item));
            }
            None => {
                ex.missing.insert(total_pointer.clone());
                if total.required {
                    let below = CellRef::new(end_row + 1, header.first_col);
                    ex.finding(
                        "BILAN-TPL-004",
                        Severity::Error,
                        format!("Ligne TOTAL introuvable sous le tableau de la feuille « {} » : ajoutez une ligne « TOTAL » après la dernière ligne.", sheet.name),
                        &sheet.name,
                        Some(below),
                        Some(&total_pointer),
                    );
                }
            }
        }
    }
    Some(header.top..=end_row)
}

/// Rows below the header with a cell in the header's columns, or covered there
/// by a merged range (merges taller than 10 000 rows are not expanded), sorted.
fn candidate_rows(sheet: &Sheet, header: &Header) -> Vec<u32> {
    let cols = header.first_col..=header.last_col;
    let mut rows: BTreeSet<u32> = sheet
        .cells()
        .iter()
        .filter(|c| c.pos.row >= header.data_start && cols.contains(&c.pos.col))
        .map(|c| c.pos.row)
        .collect();
    for m in &sheet.merges {
        let overlaps = m.start.col <= header.last_col && m.end.col >= header.first_col;
        if overlaps && m.end.row >= header.data_start && m.end.row - m.start.row <= 10_000 {
            rows.extend(m.start.row.max(header.data_start)..=m.end.row);
        }
    }
    rows.into_iter().collect()
}

/// Reads one table row (a data row, or the TOTAL row restricted to `only`
/// columns) into an object, recording the row's range and each cell's origin.
/// `unit_column`: the table's `Unité` column; a row whose unit is `%` reads its
/// figures as percentages (a cell shown `73 %` is 73).
#[allow(clippy::too_many_arguments)]
fn extract_row(
    ex: &mut Extraction,
    sheet: &Sheet,
    tb: &TableSpec,
    header: &Header,
    row: u32,
    row_pointer: &str,
    only: Option<&[String]>,
    unit_column: Option<usize>,
) -> Map<String, Value> {
    let range = CellRange::new(CellRef::new(row, header.first_col), CellRef::new(row, header.last_col));
    ex.origins
        .insert(row_pointer.to_string(), Origin::range(&sheet.name, range));
    let row_unit = unit_column
        .and_then(|i| header.columns.iter().find(|(j, _)| *j == i))
        .and_then(|(_, col)| table_cell(sheet, CellRef::new(row, *col)))
        .and_then(|(_, v)| match v {
            CellValue::Text(t) if normalize_label(t) == "%" => Some(Unit::Percent),
            _ => None,
        });
    let mut item = Map::new();
    for (i, col) in &header.columns {
        let spec = &tb.columns[*i];
        if only.is_some_and(|keys| !keys.contains(&spec.key)) {
            continue;
        }
        let cell_pointer = format!("{row_pointer}/{}", spec.key);
        let pos = CellRef::new(row, *col);
        match table_cell(sheet, pos) {
            Some((_, value)) => {
                let cell = Cell {
                    pos,
                    value: value.clone(),
                };
                let unit = spec.unit.or(match spec.kind {
                    ValueKind::Integer | ValueKind::Number => row_unit,
                    _ => None,
                });
                if let Some(v) = convert(ex, sheet, &cell, spec, unit, &cell_pointer) {
                    item.insert(spec.key.clone(), v);
                }
            }
            None => {
                ex.origins.insert(cell_pointer, Origin::cell(&sheet.name, pos));
                if spec.empty_is_zero {
                    item.insert(spec.key.clone(), Value::Number(Number::from(0)));
                }
            }
        }
    }
    item
}

/// JSON number of an exact decimal: an integer when it has no fraction.
pub fn json_number(d: rust_decimal::Decimal) -> Value {
    let d = d.normalize();
    if d.scale() == 0 {
        if let Ok(i) = i64::try_from(d.mantissa()) {
            return Value::Number(Number::from(i));
        }
    }
    d.to_string()
        .parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// Converts one cell to the field's JSON value, recording its origin and any
/// finding. `None` leaves the property absent (an empty value).
/// `unit` is the field's unit, or the row's (`Unité` = `%`).
fn convert(
    ex: &mut Extraction,
    sheet: &Sheet,
    cell: &Cell,
    f: &FieldSpec,
    unit: Option<Unit>,
    pointer: &str,
) -> Option<Value> {
    let mut origin = Origin::cell(&sheet.name, cell.pos);
    let value = convert_value(ex, sheet, cell, f, unit, pointer, &mut origin);
    ex.origins.insert(pointer.to_string(), origin);
    value
}

/// The forms of dates BILAN-DATE-001 lists (`templates.md`, "Dates").
pub const DATE_FORMS_FR: &str = "un jour (31/03/2010, 31/03/10, 2 juin 2010, 1er juin 2010), un mois (juin 2010, juin-10, 06/2010), un trimestre (T1 2010, 1er trimestre 2010), un semestre (S2 2008, 2ème semestre 2008), une année (2009, courant 2010), ou début 2010, mi-2010, fin 2009";

fn convert_value(
    ex: &mut Extraction,
    sheet: &Sheet,
    cell: &Cell,
    f: &FieldSpec,
    unit: Option<Unit>,
    pointer: &str,
    origin: &mut Origin,
) -> Option<Value> {
    let name = &sheet.name;
    let unusable = |ex: &mut Extraction| {
        ex.unusable.insert(pointer.to_string());
        Some(Value::Null)
    };
    match &cell.value {
        CellValue::Error(e) => {
            ex.finding(
                "BILAN-CELL-001",
                Severity::Error,
                format!(
                    "« {} » contient l'erreur Excel {e} : corrigez la formule ou saisissez la valeur.",
                    f.label
                ),
                name,
                Some(cell.pos),
                Some(pointer),
            );
            origin.raw = Some(e.clone());
            return unusable(ex);
        }
        CellValue::FormulaWithoutValue(formula) => {
            ex.finding(
                "BILAN-CELL-001",
                Severity::Error,
                format!("« {} » contient une formule sans valeur calculée (={formula}) : ouvrez le fichier dans Excel, laissez-le recalculer, puis enregistrez-le.", f.label),
                name,
                Some(cell.pos),
                Some(pointer),
            );
            origin.raw = Some(format!("={formula}"));
            return unusable(ex);
        }
        _ => {}
    }
    if let (true, CellValue::Number(n)) = (f.key == "version", &cell.value) {
        // `Version` typed as a number (2010.1 shown `2010,1`) is that version.
        origin.raw = Some(cell.value.display());
        return decimal_of_f64(*n).map(|d| Value::String(d.normalize().to_string()));
    }
    match &f.kind {
        ValueKind::Integer | ValueKind::Number => match &cell.value {
            CellValue::Number(n) if sheet.shows_percent(cell.pos) => {
                // Shown as `72 %`, stored as 0.72: the submitter means 72 in a (%) field.
                let shown = decimal_of_f64(*n).map(|d| d * rust_decimal::Decimal::ONE_HUNDRED);
                match (unit, shown) {
                    (Some(Unit::Percent), Some(d)) => Some(ex.exact_number(pointer, d)),
                    (Some(other), Some(d)) => {
                        ex.finding(
                            "BILAN-NUM-003",
                            Severity::Error,
                            format!(
                                "« {} » : la cellule affiche un pourcentage ({} %) alors que la valeur attendue est en {}. Saisissez le montant dans l'unité de la colonne.",
                                f.label,
                                decimal_fr(d),
                                other.symbol()
                            ),
                            name,
                            Some(cell.pos),
                            Some(pointer),
                        );
                        unusable(ex)
                    }
                    _ => Some(
                        decimal_of_f64(*n)
                            .map(|d| ex.exact_number(pointer, d))
                            .unwrap_or(Value::Null),
                    ),
                }
            }
            CellValue::Number(n) => Some(
                decimal_of_f64(*n)
                    .map(|d| ex.exact_number(pointer, d))
                    .unwrap_or(Value::Null),
            ),
            CellValue::Text(text) => {
                origin.raw = Some(text.clone());
                match parse_french_number(text) {
                    ParsedNumber::Blank => {
                        if f.empty_is_zero {
                            Some(Value::Number(Number::from(0)))
                        } else {
                            None
                        }
                    }
                    ParsedNumber::Number { value, unit: written } => {
                        if let Some(u) = written {
                            if Some(u) != unit {
                                let expected = unit
                                    .map(|e| format!("en {}", e.symbol()))
                                    .unwrap_or_else(|| "sans unité".to_string());
                                ex.finding(
                                    "BILAN-NUM-003",
                                    Severity::Error,
                                    format!("« {} » : « {} » est exprimé en {} alors que la valeur attendue est {expected}. Saisissez le montant dans l'unité de la colonne.", f.label, text.trim(), u.symbol()),
                                    name,
                                    Some(cell.pos),
                                    Some(pointer),
                                );
                                return unusable(ex);
                            }
                        }
                        ex.finding(
                            "BILAN-NUM-001",
                            Severity::Warning,
                            format!("« {} » : nombre saisi comme texte (« {} »), lu comme {}. Saisissez-le comme un nombre.", f.label, text.trim(), decimal_fr(value)),
                            name,
                            Some(cell.pos),
                            Some(pointer),
                        );
                        Some(ex.exact_number(pointer, value))
                    }
                    ParsedNumber::Malformed { reason } => {
                        let proposal = ParsedNumber::plausible_reading(text)
                            .map(|p| format!(" Vouliez-vous écrire « {p} » ?"))
                            .unwrap_or_default();
                        ex.finding(
                            "BILAN-NUM-002",
                            Severity::Error,
                            format!(
                                "« {} » : nombre mal formé « {} » ({reason}).{proposal}",
                                f.label,
                                text.trim()
                            ),
                            name,
                            Some(cell.pos),
                            Some(pointer),
                        );
                        unusable(ex)
                    }
                    ParsedNumber::NotGiven => {
                        ex.finding(
                            "BILAN-NUM-004",
                            Severity::Info,
                            format!("« {} » : « {} » (non communiqué ou non significatif) : la valeur est traitée comme absente.", f.label, text.trim()),
                            name,
                            Some(cell.pos),
                            Some(pointer),
                        );
                        ex.not_given.insert(pointer.to_string());
                        None
                    }
                    ParsedNumber::WithComment { value, comment } => {
                        ex.finding(
                            "BILAN-SCH-001",
                            Severity::Error,
                            format!("« {} » : « {} » mêle un nombre ({}) et un commentaire (« {comment} ») : saisissez le nombre seul dans la cellule et déplacez le commentaire dans une colonne Commentaire ou dans une note de cellule.", f.label, text.trim(), decimal_fr(value)),
                            name,
                            Some(cell.pos),
                            Some(pointer),
                        );
                        unusable(ex)
                    }
                    // Left as text: the schema reports the wrong type.
                    ParsedNumber::NotNumeric => Some(Value::String(text.trim().to_string())),
                }
            }
            CellValue::Date(d) => Some(Value::String(d.display_fr())),
            CellValue::Bool(b) => Some(Value::Bool(*b)),
            CellValue::Error(_) | CellValue::FormulaWithoutValue(_) => None,
        },
        ValueKind::Date => {
            let parsed: Option<DateInterval> = match &cell.value {
                CellValue::Date(d) => Some(*d),
                CellValue::Text(t) => {
                    origin.raw = Some(t.clone());
                    parse_french_date(t)
                }
                CellValue::Number(n) if n.fract() == 0.0 && (1900.0..=2100.0).contains(n) => {
                    DateInterval::year(*n as i32)
                }
                other => {
                    origin.raw = Some(other.display());
                    None
                }
            };
            match parsed {
                Some(d) => Some(Value::String(d.canonical())),
                None => {
                    ex.finding(
                        "BILAN-DATE-001",
                        Severity::Error,
                        format!(
                            "« {} » : date illisible « {} ». Formes acceptées : {DATE_FORMS_FR}.",
                            f.label,
                            cell.value.display().trim()
                        ),
                        name,
                        Some(cell.pos),
                        Some(pointer),
                    );
                    unusable(ex)
                }
            }
        }
        ValueKind::Enum(options) => {
            // Choices compare like labels, hyphens and dashes counting as spaces
            // (`Hainaut Cambrésis` is `Hainaut – Cambrésis`).
            let text = cell.value.display();
            let n = normalize_choice(&text);
            match options.iter().find(|o| normalize_choice(o) == n) {
                Some(canonical) => {
                    if canonical.as_str() != text.trim() {
                        origin.raw = Some(text.clone());
                    }
                    Some(Value::String(canonical.clone()))
                }
                None => Some(Value::String(text.trim().to_string())),
            }
        }
        ValueKind::Text => Some(Value::String(cell.value.display().trim().to_string())),
        ValueKind::Boolean => match &cell.value {
            CellValue::Bool(b) => Some(Value::Bool(*b)),
            other => {
                let n = normalize_label(&other.display());
                match n.as_str() {
                    "oui" | "vrai" | "true" | "x" => Some(Value::Bool(true)),
                    "non" | "faux" | "false" => Some(Value::Bool(false)),
                    _ => Some(Value::String(other.display())),
                }
            }
        },
    }
}
