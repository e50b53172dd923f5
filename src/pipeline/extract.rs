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
    let mut found_any = false;
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
                                EngineRule::Tpl004,
                                format!("Libellé obligatoire « {} » introuvable dans la feuille « {} » : ajoutez une ligne avec ce libellé et sa valeur à droite.", f.label, sheet.name),
                                &sheet.name,
                                None,
                                Some(&pointer),
                            );
                        }
                    }
                    Some((label_cell, value_cell)) => {
                        found_any = true;
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
    report_unread_labels(ex, sheet, spec, found_any);
    report_unknown_labels(ex, sheet, spec, &used_rows);
}

/// A label/value sheet none of whose labels was found was not read. When a
/// required label is missing, BILAN-TPL-004 already says so for each; a sheet
/// whose labels are all optional says it here (BILAN-TPL-004), so that the
/// return is never « Conforme » with the sheet unread.
fn report_unread_labels(ex: &mut Extraction, sheet: &Sheet, spec: &SheetSpec, found_any: bool) {
    let fields: Vec<&FieldSpec> = spec
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Field(f) => Some(f),
            _ => None,
        })
        .collect();
    if found_any || fields.is_empty() || fields.iter().any(|f| f.required) {
        return;
    }
    let wanted = fields
        .iter()
        .map(|f| format!("« {} »", f.label))
        .collect::<Vec<_>>()
        .join(", ");
    ex.finding(
        EngineRule::Tpl004,
        format!(
            "Feuille « {} » non lue : aucun de ses libellés n'a été trouvé ({wanted}). Écrivez chaque libellé dans une cellule et sa valeur à sa droite.",
            sheet.name
        ),
        &sheet.name,
        None,
        Some(&spec.pointer()),
    );
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
                EngineRule::Tpl005,
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

/// A located header: a band of one to three rows, and which column holds which field.
struct Header {
    /// The band's first row, merges included.
    top: u32,
    /// The first row below the band, merges included: data start there.
    data_start: u32,
    columns: Vec<(usize, u32)>, // (index in spec.columns, sheet column)
    /// The cell holding each found column label (the merged range's first cell).
    label_cells: Vec<CellRef>,
    first_col: u32,
    last_col: u32,
}

/// Rows a header band spans at most (`templates.md`, "Tables").
const MAX_BAND_ROWS: u32 = 3;

/// Merged ranges taller than one row (header cells merged down), at most 20 rows tall.
fn tall_merges(sheet: &Sheet) -> Vec<CellRange> {
    sheet
        .merges
        .iter()
        .copied()
        .filter(|m| m.end.row > m.start.row && m.end.row - m.start.row <= 20)
        .collect()
}

/// A header band being gathered: the column labels found so far.
struct Band<'a> {
    sheet: &'a Sheet,
    tb: &'a TableSpec,
    tall: &'a [CellRange],
    columns: Vec<(usize, u32)>,
    label_cells: Vec<CellRef>,
    top: u32,
    bottom: u32,
}

impl Band<'_> {
    /// The column a label cell names, if it names one not found yet.
    fn new_column(&self, normalized: &str) -> Option<usize> {
        self.tb
            .columns
            .iter()
            .position(|col| col.matches_normalized(normalized))
            .filter(|i| !self.columns.iter().any(|(j, _)| j == i))
    }

    /// Whether `row` holds (or is covered by a merge holding) a label of a
    /// column not found yet.
    fn row_adds_a_column(&self, row: u32) -> bool {
        self.sheet
            .row_normalized(row)
            .any(|(_, n)| n.is_some_and(|n| self.new_column(n).is_some()))
            || self.covering(row).any(|(_, n)| self.new_column(&n).is_some())
    }

    /// Label cells merged down from a row above `row` and covering it.
    fn covering(&self, row: u32) -> impl Iterator<Item = (CellRange, String)> + '_ {
        self.tall
            .iter()
            .filter(move |m| m.start.row < row && m.end.row >= row)
            .filter_map(|m| match self.sheet.get(m.start) {
                Some(CellValue::Text(t)) => Some((*m, normalize_label(t))),
                _ => None,
            })
    }

    /// Takes the column labels of `row` into the band (a label merged down
    /// from above counts for each row it covers); the band grows to the
    /// bottom of their merges.
    fn take_row(&mut self, row: u32) {
        for (c, norm) in self.sheet.row_normalized(row) {
            let Some(i) = norm.and_then(|n| self.new_column(n)) else {
                continue;
            };
            self.columns.push((i, c.pos.col));
            self.label_cells.push(c.pos);
            self.top = self.top.min(row);
            self.bottom = self.bottom.max(merged_end(self.sheet, c.pos).row);
        }
        let covering: Vec<(CellRange, String)> = self.covering(row).collect();
        for (m, n) in covering {
            if let Some(i) = self.new_column(&n) {
                self.columns.push((i, m.start.col));
                self.label_cells.push(m.start);
                self.top = self.top.min(m.start.row);
                self.bottom = self.bottom.max(m.end.row);
            }
        }
    }
}

/// Finds a table's header: the first band of one to three rows that holds
/// every required column label (`templates.md`, "Tables"). A band starts at a
/// row holding a column label; the rows its labels' vertical merges cover
/// belong to it, and so does a row directly below that holds another column
/// label of the table. Every column label is looked for in the whole band.
fn find_header(sheet: &Sheet, tb: &TableSpec, skip_rows: &BTreeSet<u32>) -> Option<Header> {
    let tall = tall_merges(sheet);
    for row in sheet.row_numbers() {
        if skip_rows.contains(&row) {
            continue;
        }
        let mut band = Band {
            sheet,
            tb,
            tall: &tall,
            columns: Vec::new(),
            label_cells: Vec::new(),
            top: row,
            bottom: row,
        };
        band.take_row(row);
        if band.columns.is_empty() {
            continue;
        }
        let mut next = row + 1;
        loop {
            let in_merges = next <= band.bottom;
            let below = next < band.top + MAX_BAND_ROWS && !skip_rows.contains(&next) && band.row_adds_a_column(next);
            if !in_merges && !below {
                break;
            }
            band.take_row(next);
            band.bottom = band.bottom.max(next);
            next += 1;
        }
        let all_required = tb
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.required)
            .all(|(i, _)| band.columns.iter().any(|(j, _)| *j == i));
        if all_required {
            // Left to right, as the reader sees the columns.
            band.columns.sort_by_key(|(_, c)| *c);
            let first_col = band.columns.iter().map(|(_, c)| *c).min().unwrap_or(0);
            let last_col = band.columns.iter().map(|(_, c)| *c).max().unwrap_or(0);
            return Some(Header {
                top: band.top,
                data_start: band.bottom.saturating_add(1),
                columns: band.columns,
                label_cells: band.label_cells,
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

/// Value of a cell as the table reads it (`templates.md`, "Tables"): a value
/// merged **down** rows covers every row of its range in its own column (a
/// `Famille` merged down its instruments); a value merged **across** columns
/// counts once, in the range's first column (a group heading merged across the
/// table stays a group heading).
fn table_cell(sheet: &Sheet, pos: CellRef) -> Option<(CellRef, &CellValue)> {
    if let Some(v) = sheet.get(pos) {
        if !v.is_blank() {
            return Some((pos, v));
        }
        return None;
    }
    let anchor = sheet.merge_anchor(pos).filter(|a| a.col == pos.col)?;
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
                EngineRule::Tpl004,
                format!("En-tête du tableau introuvable dans la feuille « {} » : aucune ligne ne contient toutes les colonnes {}.", sheet.name, wanted.iter().map(|w| format!("« {w} »")).collect::<Vec<_>>().join(", ")),
                &sheet.name,
                None,
                Some(&pointer),
            );
        }
        return None;
    };
    report_extra_columns(ex, sheet, &header);
    report_unread_figures(ex, sheet, tb, &header, &pointer);
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
    if rows.is_empty() && tb.required {
        // A required table with its header and not one row: nothing was read.
        ex.finding(
            EngineRule::Tpl004,
            format!(
                "Tableau de la feuille « {} » vide : aucune ligne de données n'a été lue sous son en-tête ({}). Saisissez une ligne par {} sous l'en-tête.",
                sheet.name,
                band_rows_fr(&header),
                row_noun(tb)
            ),
            &sheet.name,
            Some(CellRef::new(header.data_start, header.first_col)),
            Some(&pointer),
        );
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
                        EngineRule::Tpl004,
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

/// Cells of the header band that are no column of the table: reported as
/// ignored columns (BILAN-TPL-005), except a group label (a cell with a column
/// label below it, in the columns it spans: `Financeurs` over `Etat (€)` …
/// `Privé (€)`), which is no column, and cells left of the table.
fn report_extra_columns(ex: &mut Extraction, sheet: &Sheet, header: &Header) {
    for row in header.top..header.data_start {
        for c in sheet.row(row) {
            if c.value.is_blank() || header.label_cells.contains(&c.pos) || c.pos.col <= header.first_col {
                continue;
            }
            let span = merged_end(sheet, c.pos);
            let over_a_label = header
                .label_cells
                .iter()
                .any(|l| l.row > row && l.col >= c.pos.col && l.col <= span.col);
            if over_a_label {
                continue;
            }
            ex.finding(
                EngineRule::Tpl005,
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
}

/// What one row of a table stands for, for messages: its first required column
/// (`ligne par « Année »`).
fn row_noun(tb: &TableSpec) -> String {
    tb.columns
        .iter()
        .find(|c| c.required)
        .map(|c| format!("« {} »", c.label))
        .unwrap_or_else(|| "élément".to_string())
}

/// The rows of a header band, as a reader names them (`ligne 3`, `lignes 3 à 4`).
fn band_rows_fr(header: &Header) -> String {
    let (first, last) = (header.top + 1, header.data_start.max(header.top + 1));
    if first == last {
        format!("ligne {first}")
    } else {
        format!("lignes {first} à {last}")
    }
}

/// `templates.md`, "Tables": a table whose header is found but none of whose
/// figure columns (numbers, counts, rates, dates) is found was not read:
/// BILAN-TPL-004, never « Conforme ».
fn report_unread_figures(ex: &mut Extraction, sheet: &Sheet, tb: &TableSpec, header: &Header, pointer: &str) {
    let figures: Vec<(usize, &FieldSpec)> = tb
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| matches!(c.kind, ValueKind::Integer | ValueKind::Number | ValueKind::Date))
        .collect();
    if figures.is_empty() || figures.iter().any(|(i, _)| header.columns.iter().any(|(j, _)| j == i)) {
        return;
    }
    let wanted = figures
        .iter()
        .map(|(_, c)| format!("« {} »", c.label))
        .collect::<Vec<_>>()
        .join(", ");
    ex.finding(
        EngineRule::Tpl004,
        format!(
            "Tableau de la feuille « {} » non lu : son en-tête ({}) ne contient aucune de ses colonnes de chiffres ({wanted}). Écrivez ces intitulés de colonne dans l'en-tête (sur une ligne, ou sur deux ou trois lignes sous des intitulés de groupe), au-dessus de leurs chiffres.",
            sheet.name,
            band_rows_fr(header)
        ),
        &sheet.name,
        Some(CellRef::new(header.top, header.first_col)),
        Some(pointer),
    );
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
/// `unit_column`: the table's `Unité` column; the row's unit is the unit of its
/// figures (a row whose unit is `%` reads a cell shown `73 %` as 73; `2 500 000 €`
/// in a `€` row is a number stored as text, in a `nombre` row a wrong unit).
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
            CellValue::Text(t) => row_unit_of(t),
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

/// The unit a table row's `Unité` cell gives its figures (`templates.md`,
/// "Row units"): `€`, `k€`, `M€`, `Md€`, `%` (and `euros`); a unit that is a
/// count (`nombre`, `heures`, `emplois`…) gives none.
fn row_unit_of(text: &str) -> Option<Unit> {
    match normalize_label(text).as_str() {
        "%" => Some(Unit::Percent),
        "€" | "eur" | "euro" | "euros" => Some(Unit::Euro),
        "k€" => Some(Unit::KiloEuro),
        "m€" => Some(Unit::MegaEuro),
        "md€" | "mds€" => Some(Unit::BillionEuro),
        _ => None,
    }
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
                EngineRule::Cell001,
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
                EngineRule::Cell001,
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
                let shown = decimal_of_f64(*n).map(|d| (d * rust_decimal::Decimal::ONE_HUNDRED).normalize());
                match (unit, shown) {
                    (Some(Unit::Percent), Some(d)) => Some(ex.exact_number(pointer, d)),
                    (Some(other), Some(d)) => {
                        ex.finding(
                            EngineRule::Num003,
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
                                    EngineRule::Num003,
                                    format!("« {} » : « {} » est exprimé en {} alors que la valeur attendue est {expected}. Saisissez le montant dans l'unité de la colonne.", f.label, text.trim(), u.symbol()),
                                    name,
                                    Some(cell.pos),
                                    Some(pointer),
                                );
                                return unusable(ex);
                            }
                        }
                        ex.finding(
                            EngineRule::Num001,
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
                            EngineRule::Num002,
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
                            EngineRule::Num004,
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
                            EngineRule::Sch001,
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
                        EngineRule::Date001,
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
