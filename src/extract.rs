//! Extraction: from a workbook's cells to the structured JSON of a return,
//! driven by the template's schema. Every value keeps its cell of origin.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Map, Number, Value};

use crate::finding::{Finding, Severity};
use crate::format::{decimal_fr, decimal_of_f64};
use crate::model::{CellRange, CellRef, Origin};
use crate::read::{Cell, CellValue, Sheet, Workbook};
use crate::template::{Block, FieldSpec, SheetSpec, TableSpec, Template, ValueKind};
use crate::values::label::normalize_choice;
use crate::values::{normalize_label, parse_french_date, parse_french_number, DateInterval, ParsedNumber, Unit};

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

/// Finds a label on a sheet: the first row (top to bottom) with a text cell that
/// `is_label` accepts. Returns the label's cell and the first non-empty cell to
/// its right (cell, text as displayed).
pub fn find_label_value(
    sheet: &Sheet,
    is_label: &dyn Fn(&str) -> bool,
) -> Option<(CellRef, Option<(CellRef, String)>)> {
    for row in sheet.row_numbers() {
        let cells = sheet.row(row);
        for (i, c) in cells.iter().enumerate() {
            if let CellValue::Text(t) = &c.value {
                if is_label(t) {
                    let value = cells[i + 1..]
                        .iter()
                        .find(|v| !v.value.is_blank())
                        .map(|v| (v.pos, v.value.display()));
                    return Some((c.pos, value));
                }
            }
        }
    }
    None
}

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
            for block in &spec.blocks {
                if let Block::Table(tb) = block {
                    extract_table(&mut ex, sheet, tb, "", &mut root, &BTreeSet::new());
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
    for block in &spec.blocks {
        if let Block::Table(tb) = block {
            if let Some(rows) = extract_table(ex, sheet, tb, &prefix, obj, &table_rows) {
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
                                if let Some(v) = convert(ex, sheet, cell, f, &pointer) {
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
    row: u32,
    columns: Vec<(usize, u32)>, // (index in spec.columns, sheet column)
    first_col: u32,
    last_col: u32,
}

fn find_header(sheet: &Sheet, tb: &TableSpec, skip_rows: &BTreeSet<u32>) -> Option<Header> {
    for row in sheet.row_numbers() {
        if skip_rows.contains(&row) {
            continue;
        }
        let mut columns: Vec<(usize, u32)> = Vec::new();
        for (c, norm) in sheet.row_normalized(row) {
            let Some(n) = norm else { continue };
            if let Some(i) = tb.columns.iter().position(|col| col.matches_normalized(n)) {
                if !columns.iter().any(|(j, _)| *j == i) {
                    columns.push((i, c.pos.col));
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
                columns,
                first_col,
                last_col,
            });
        }
    }
    None
}

fn is_total_label(text: &str) -> bool {
    let n = normalize_label(text);
    n == "total" || n.starts_with("total ") || n == "totaux" || n.starts_with("total:")
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

/// Extracts one table into `obj[tb.key]` (and its total row). Returns the rows
/// the table occupies, header and total included.
fn extract_table(
    ex: &mut Extraction,
    sheet: &Sheet,
    tb: &TableSpec,
    prefix: &str,
    obj: &mut Map<String, Value>,
    skip_rows: &BTreeSet<u32>,
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
    // Only rows that hold something in the table's columns are visited: a
    // hostile sheet with one cell at row 1 048 576 costs nothing.
    let candidates = candidate_rows(sheet, &header);
    let mut rows = Vec::new();
    let mut total_row = None;
    let mut seen_data = false;
    let mut ended_on_blank = None;
    let mut expected = header.row + 1;
    for &r in &candidates {
        let gap = r > expected;
        if (gap || row_is_empty(r)) && seen_data {
            ended_on_blank = Some(if gap { expected } else { r });
            break;
        }
        expected = r + 1;
        if row_is_empty(r) {
            continue;
        }
        if first_text(r).map(|t| is_total_label(&t)).unwrap_or(false) {
            total_row = Some(r);
            break;
        }
        rows.push(r);
        seen_data = true;
    }
    // Data below a blank row is not read: say so rather than lose it silently.
    if let Some(blank) = ended_on_blank {
        if let Some(next) = candidates
            .iter()
            .copied()
            .filter(|&rr| rr > blank)
            .find(|&rr| !row_is_empty(rr))
        {
            let text = first_text(next).unwrap_or_default();
            // Empty rows between the last data row and the TOTAL row are the
            // unused rows of a blank return (`bilan template`): the TOTAL row
            // still ends the table.
            if !is_total_label(&text) {
                ex.finding(
                    "BILAN-TPL-005",
                    Severity::Info,
                    format!("Le tableau de la feuille « {} » s'arrête à la ligne vide {} : la ligne {} et les suivantes ne sont pas lues. Supprimez la ligne vide si elles font partie du tableau.", sheet.name, blank + 1, next + 1),
                    &sheet.name,
                    Some(CellRef::new(next, header.first_col)),
                    None,
                );
            } else {
                total_row = Some(next);
            }
        }
    }
    let header_range = CellRange::new(
        CellRef::new(header.row, header.first_col),
        CellRef::new(header.row, header.last_col),
    );
    let mut items = Vec::with_capacity(rows.len());
    for (n, &row) in rows.iter().enumerate() {
        let item = extract_row(ex, sheet, tb, &header, row, &format!("{pointer}/{n}"), None);
        items.push(Value::Object(item));
    }
    let end_row = total_row.or(rows.last().copied()).unwrap_or(header.row);
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
                let item = extract_row(ex, sheet, tb, &header, row, &total_pointer, Some(&total.columns));
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
    Some(header.row..=end_row)
}

/// Rows below the header with a cell in the header's columns, or covered there
/// by a merged range (merges taller than 10 000 rows are not expanded), sorted.
fn candidate_rows(sheet: &Sheet, header: &Header) -> Vec<u32> {
    let cols = header.first_col..=header.last_col;
    let mut rows: BTreeSet<u32> = sheet
        .cells()
        .iter()
        .filter(|c| c.pos.row > header.row && cols.contains(&c.pos.col))
        .map(|c| c.pos.row)
        .collect();
    for m in &sheet.merges {
        let overlaps = m.start.col <= header.last_col && m.end.col >= header.first_col;
        if overlaps && m.end.row > header.row && m.end.row - m.start.row <= 10_000 {
            rows.extend(m.start.row.max(header.row + 1)..=m.end.row);
        }
    }
    rows.into_iter().collect()
}

/// Reads one table row (a data row, or the TOTAL row restricted to `only`
/// columns) into an object, recording the row's range and each cell's origin.
fn extract_row(
    ex: &mut Extraction,
    sheet: &Sheet,
    tb: &TableSpec,
    header: &Header,
    row: u32,
    row_pointer: &str,
    only: Option<&[String]>,
) -> Map<String, Value> {
    let range = CellRange::new(CellRef::new(row, header.first_col), CellRef::new(row, header.last_col));
    ex.origins
        .insert(row_pointer.to_string(), Origin::range(&sheet.name, range));
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
                if let Some(v) = convert(ex, sheet, &cell, spec, &cell_pointer) {
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
fn convert(ex: &mut Extraction, sheet: &Sheet, cell: &Cell, f: &FieldSpec, pointer: &str) -> Option<Value> {
    let mut origin = Origin::cell(&sheet.name, cell.pos);
    let value = convert_value(ex, sheet, cell, f, pointer, &mut origin);
    ex.origins.insert(pointer.to_string(), origin);
    value
}

fn convert_value(
    ex: &mut Extraction,
    sheet: &Sheet,
    cell: &Cell,
    f: &FieldSpec,
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
    match &f.kind {
        ValueKind::Integer | ValueKind::Number => match &cell.value {
            CellValue::Number(n) if sheet.shows_percent(cell.pos) => {
                // Shown as `72 %`, stored as 0.72: the submitter means 72 in a (%) field.
                let shown = decimal_of_f64(*n).map(|d| d * rust_decimal::Decimal::ONE_HUNDRED);
                match (f.unit, shown) {
                    (Some(Unit::Percent), Some(d)) => Some(json_number(d)),
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
                    _ => Some(decimal_of_f64(*n).map(json_number).unwrap_or(Value::Null)),
                }
            }
            CellValue::Number(n) => Some(decimal_of_f64(*n).map(json_number).unwrap_or(Value::Null)),
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
                    ParsedNumber::Number { value, unit } => {
                        if let Some(u) = unit {
                            if Some(u) != f.unit {
                                let expected = f
                                    .unit
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
                        Some(json_number(value))
                    }
                    ParsedNumber::Malformed { reason } => {
                        ex.finding(
                            "BILAN-NUM-002",
                            Severity::Error,
                            format!("« {} » : nombre mal formé « {} » ({reason}).", f.label, text.trim()),
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
                        format!("« {} » : date illisible « {} ». Écrivez-la comme 31/03/2010, « juin 2010 », « 1er semestre 2009 » ou « 2009 ».", f.label, cell.value.display().trim()),
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
