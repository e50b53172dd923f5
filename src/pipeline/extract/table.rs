//! Tables: the rows under a header, down to the TOTAL row or the next block;
//! merged cells, extra columns, a row's unit, tables left unread (BILAN-TPL-004).

use super::*;

/// `TOTAL`, `Total général`, `Totaux`, `Total :`: a table's total row.
pub fn is_total_label(text: &str) -> bool {
    let n = normalize_label(text);
    n == "total" || n.starts_with("total ") || n.starts_with("totaux") || n.starts_with("total:")
}

/// Rows of a sheet that hold a label of the template or a table's header: a
/// table without a TOTAL row ends before the next of them.
pub(super) fn stop_rows(sheet: &Sheet, spec: &SheetSpec) -> BTreeSet<u32> {
    let fields: Vec<&FieldSpec> = spec.fields().collect();
    let tables: Vec<&TableSpec> = spec.tables().collect();
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
pub(super) fn table_cell(sheet: &Sheet, pos: CellRef) -> Option<(CellRef, &CellValue)> {
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
pub(super) fn is_heading_text(v: &CellValue) -> bool {
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
pub(super) fn extract_table(
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
pub(super) fn report_extra_columns(ex: &mut Extraction, sheet: &Sheet, header: &Header) {
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
pub(super) fn row_noun(tb: &TableSpec) -> String {
    tb.columns
        .iter()
        .find(|c| c.required)
        .map(|c| format!("« {} »", c.label))
        .unwrap_or_else(|| "élément".to_string())
}

/// The rows of a header band, as a reader names them (`ligne 3`, `lignes 3 à 4`).
pub(super) fn band_rows_fr(header: &Header) -> String {
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
pub(super) fn report_unread_figures(
    ex: &mut Extraction,
    sheet: &Sheet,
    tb: &TableSpec,
    header: &Header,
    pointer: &str,
) {
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
pub(super) fn candidate_rows(sheet: &Sheet, header: &Header) -> Vec<u32> {
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
pub(super) fn extract_row(
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
pub(super) fn row_unit_of(text: &str) -> Option<Unit> {
    match normalize_label(text).as_str() {
        "%" => Some(Unit::Percent),
        "€" | "eur" | "euro" | "euros" => Some(Unit::Euro),
        "k€" => Some(Unit::KiloEuro),
        "m€" => Some(Unit::MegaEuro),
        "md€" | "mds€" => Some(Unit::BillionEuro),
        _ => None,
    }
}
