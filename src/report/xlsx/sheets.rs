//! The submitted sheets, reproduced in the annotated workbook with each
//! finding's cell marked and given a note.

use std::collections::{BTreeMap, HashMap};

use rust_xlsxwriter::Worksheet;
use unicode_width::UnicodeWidthStr;

use super::styles::{kind_of, looks_like_formula, Formats, Kind};
use super::{
    note_for, shorten, Mark, ReportError, Submitted, A4, MAX_COLS, MAX_MARKED_CELLS_PER_FINDING,
    MAX_MARKED_CELLS_PER_SHEET, MAX_MERGED_CELLS_PER_SHEET, MAX_MERGE_AREA, MAX_ROWS, MAX_TEXT,
};
use crate::base::format::int_fr;
use crate::base::model::{CellRange, CellRef};
use crate::finding::Finding;
use crate::pipeline::read::styles::{SheetStyles, WorkbookStyles};
use crate::pipeline::read::{CellValue, Sheet};
use crate::pipeline::rules::RulePack;

/// Cells marked on one sheet (the most visible mark each) and the findings of each note.
struct Marks<'f> {
    cells: BTreeMap<CellRef, Mark>,
    notes: BTreeMap<CellRef, Vec<&'f Finding>>,
}

fn marks<'f>(merges: &Merges, findings: &[&'f Finding]) -> Marks<'f> {
    let mut cells: BTreeMap<CellRef, Mark> = BTreeMap::new();
    let mut notes: BTreeMap<CellRef, Vec<&'f Finding>> = BTreeMap::new();
    let valid = |c: CellRef| c.row < MAX_ROWS && c.col < MAX_COLS;
    // A merged cell is marked whole.
    let mut mark = |pos: CellRef, m: Mark| {
        let span = merges.of(pos).unwrap_or(CellRange::single(pos));
        for r in span.start.row..=span.end.row {
            for c in span.start.col..=span.end.col {
                let c = CellRef::new(r, c);
                if valid(c) && (cells.len() < MAX_MARKED_CELLS_PER_SHEET || cells.contains_key(&c)) {
                    let e = cells.entry(c).or_insert(m);
                    *e = e.max(m);
                }
            }
        }
    };
    for f in findings {
        let Some(cell) = f.cell else { continue };
        if let Some(range) = f.range {
            let area = (range.end.row - range.start.row) as u64 + 1;
            if area * ((range.end.col - range.start.col) as u64 + 1) <= MAX_MARKED_CELLS_PER_FINDING {
                for r in range.start.row..=range.end.row {
                    for c in range.start.col..=range.end.col {
                        mark(
                            CellRef::new(r, c),
                            Mark {
                                severity: f.severity,
                                strong: false,
                            },
                        );
                    }
                }
            }
        }
        mark(
            cell,
            Mark {
                severity: f.severity,
                strong: true,
            },
        );
        // The note goes on the cell itself, or on the first cell of its merged range.
        let anchor = merges.of(cell).map_or(cell, |m| m.start);
        if valid(anchor) {
            notes.entry(anchor).or_default().push(f);
        }
    }
    Marks { cells, notes }
}

/// The merged ranges of a sheet that Excel can take (inside the sheet, more than
/// one cell, not overlapping an earlier one, of a reasonable size), and which
/// range covers each of their cells.
struct Merges {
    ranges: Vec<CellRange>,
    covered: HashMap<CellRef, usize>,
}

impl Merges {
    fn of(&self, pos: CellRef) -> Option<CellRange> {
        self.covered.get(&pos).map(|&i| self.ranges[i])
    }

    fn new(sheet: &Sheet) -> Self {
        let mut covered: HashMap<CellRef, usize> = HashMap::new();
        let mut ranges = Vec::new();
        for m in &sheet.merges {
            if m.is_single() || m.end.row >= MAX_ROWS || m.end.col >= MAX_COLS {
                continue;
            }
            let area = (m.end.row - m.start.row + 1) as u64 * (m.end.col - m.start.col + 1) as u64;
            if area > MAX_MERGE_AREA || covered.len() as u64 + area > MAX_MERGED_CELLS_PER_SHEET as u64 {
                continue;
            }
            let cells =
                || (m.start.row..=m.end.row).flat_map(|r| (m.start.col..=m.end.col).map(move |c| CellRef::new(r, c)));
            if cells().any(|c| covered.contains_key(&c)) {
                continue;
            }
            covered.extend(cells().map(|c| (c, ranges.len())));
            ranges.push(*m);
        }
        // In row order; `covered` holds indices, so it is rebuilt.
        ranges.sort_by_key(|m| m.start);
        let covered = ranges.iter().enumerate().flat_map(|(i, m)| {
            (m.start.row..=m.end.row).flat_map(move |r| (m.start.col..=m.end.col).map(move |c| (CellRef::new(r, c), i)))
        });
        Self {
            covered: covered.collect(),
            ranges,
        }
    }
}

/// The cells of a submitted sheet that its findings mark, and the text of the
/// note of each cell that gets one (for the patched workbook).
pub(super) fn marked_cells(
    sheet: &Sheet,
    findings: &[&Finding],
    rules: &RulePack,
) -> (BTreeMap<CellRef, Mark>, BTreeMap<CellRef, String>) {
    let merges = Merges::new(sheet);
    let Marks { cells, notes } = marks(&merges, findings);
    let notes = notes
        .into_iter()
        .map(|(pos, on_cell)| (pos, super::note_text(&on_cell, rules)))
        .collect();
    (cells, notes)
}

/// One position of the sheet with what is known about it.
struct Slot<'a> {
    pos: CellRef,
    value: Option<&'a CellValue>,
    style: Option<u32>,
    mark: Option<Mark>,
    /// The merged range that starts here.
    merge: Option<CellRange>,
}

/// Values, styles, marks and merged ranges in row order (each input is sorted),
/// so that a sheet is written row after row.
fn slots<'a>(
    sheet: &'a Sheet,
    styled: &'a [(CellRef, u32)],
    marked: &'a BTreeMap<CellRef, Mark>,
    merges: &'a [CellRange],
) -> impl Iterator<Item = Slot<'a>> + 'a {
    let mut values = sheet.cells().iter().peekable();
    let mut styles = styled.iter().peekable();
    let mut marks = marked.iter().peekable();
    let mut merges = merges.iter().peekable();
    std::iter::from_fn(move || {
        let next = [
            values.peek().map(|c| c.pos),
            styles.peek().map(|s| s.0),
            marks.peek().map(|m| *m.0),
            merges.peek().map(|m| m.start),
        ]
        .into_iter()
        .flatten()
        .min()?;
        Some(Slot {
            pos: next,
            value: values.next_if(|c| c.pos == next).map(|c| &c.value),
            style: styles.next_if(|s| s.0 == next).map(|s| s.1),
            mark: marks.next_if(|m| *m.0 == next).map(|m| *m.1),
            merge: merges.next_if(|m| m.start == next).copied(),
        })
    })
}

pub(super) fn write(
    ws: &mut Worksheet,
    sheet: &Sheet,
    look: Option<(&WorkbookStyles, &SheetStyles)>,
    findings: &[&Finding],
    rules: &RulePack,
    formulas: Option<&HashMap<CellRef, Submitted>>,
) -> Result<(), ReportError> {
    // Printed one page wide, so that a reviewer can print a marked sheet as is.
    ws.set_print_fit_to_pages(1, 0);
    ws.set_paper_size(A4);
    let merges = Merges::new(sheet);
    let Marks { cells: marked, notes } = marks(&merges, findings);
    let styled: &[(CellRef, u32)] = look.map_or(&[], |(_, s)| &s.cells);
    let mut formats = Formats {
        palette: look.map(|(w, _)| w.palette.as_slice()),
        cache: HashMap::new(),
    };

    // The last row worth a height: the sheet's content, not a hostile file's claims.
    let last_row = [
        sheet.cells().last().map(|c| c.pos.row),
        styled.last().map(|s| s.0.row),
        marked.keys().next_back().map(|c| c.row),
        merges.ranges.iter().map(|m| m.end.row).max(),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(0);
    match look {
        Some((_, s)) => apply_layout(ws, s, last_row)?,
        None => fit_columns(ws, sheet, &merges)?,
    }

    // Row after row (the order a constant-memory worksheet needs); a merged range
    // is written at its first cell (blanks over the range), then that cell's value.
    for slot in slots(sheet, styled, &marked, &merges.ranges) {
        let Slot {
            pos,
            value,
            style,
            mark,
            merge,
        } = slot;
        if pos.row >= MAX_ROWS || pos.col >= MAX_COLS {
            continue;
        }
        if let Some(m) = merge {
            let format = formats.get(style, kind_of(value), mark, false).clone();
            crate::report::print::merge_blank(ws, m, &format)?;
            if value.is_none() {
                continue;
            }
        }
        let (row, col) = (pos.row, pos.col as u16);
        let kind = match kind_of(value) {
            // Without the file's own look (.xls, .ods, .xlsb), a percentage is shown as one.
            Kind::Plain | Kind::Grouped | Kind::GroupedDecimal if look.is_none() && sheet.shows_percent(pos) => {
                match value {
                    Some(CellValue::Number(n)) if (n * 100.0).fract() == 0.0 => Kind::Percent,
                    _ => Kind::PercentDecimal,
                }
            }
            k => k,
        };
        // A submitted formula stays the same formula, with its cached value;
        // an array formula is written over its range (its other cells, written
        // after, keep their values), or not at all if that range is not whole.
        let submitted = formulas.and_then(|m| m.get(&pos)).filter(|f| {
            f.array_to.is_none_or(|last| {
                last.row >= pos.row && last.col >= pos.col && last.row < MAX_ROWS && last.col < MAX_COLS
            })
        });
        if let Some(f) = submitted {
            let format = formats.get(style, kind, mark, false);
            let cached = match value {
                Some(CellValue::Number(n)) if n.is_finite() => Some(n.to_string()),
                Some(CellValue::Date(d)) if d.to_excel_serial() >= 1.0 => Some(d.to_excel_serial().to_string()),
                Some(CellValue::Text(t)) => Some(shorten(t, MAX_TEXT)),
                Some(CellValue::Bool(b)) => Some(if *b { "TRUE" } else { "FALSE" }.to_string()),
                Some(CellValue::Error(e)) => Some(e.clone()),
                _ => None,
            };
            let formula = match cached {
                Some(c) => rust_xlsxwriter::Formula::new(&f.text).set_result(c),
                None => rust_xlsxwriter::Formula::new(&f.text),
            };
            match f.array_to {
                Some(last) => {
                    ws.write_array_formula_with_format(row, col, last.row, last.col as u16, formula, format)?;
                }
                None => {
                    ws.write_formula_with_format(row, col, formula, format)?;
                }
            }
            continue;
        }
        let format = formats.get(style, kind, mark, looks_like_formula(value));
        match value {
            None => {
                ws.write_blank(row, col, format)?;
            }
            Some(CellValue::Text(s)) => {
                ws.write_string_with_format(row, col, shorten(s, MAX_TEXT), format)?;
            }
            Some(CellValue::Number(n)) if n.is_finite() => {
                ws.write_number_with_format(row, col, *n, format)?;
            }
            Some(CellValue::Number(n)) => {
                ws.write_string_with_format(row, col, n.to_string(), format)?;
            }
            Some(CellValue::Bool(b)) => {
                ws.write_boolean_with_format(row, col, *b, format)?;
            }
            Some(CellValue::Date(d)) => {
                let serial = d.to_excel_serial();
                if serial >= 1.0 {
                    ws.write_number_with_format(row, col, serial, format)?;
                } else {
                    ws.write_string_with_format(row, col, d.display_fr(), format)?;
                }
            }
            Some(CellValue::Error(e)) => {
                ws.write_string_with_format(row, col, shorten(e, MAX_TEXT), format)?;
            }
            Some(CellValue::FormulaWithoutValue(f)) => {
                ws.write_string_with_format(row, col, shorten(&format!("={f}"), MAX_TEXT), format)?;
            }
        }
    }
    for (pos, on_cell) in &notes {
        ws.insert_note(pos.row, pos.col as u16, &note_for(on_cell, rules))?;
    }
    Ok(())
}

/// Column widths, hidden columns and row heights of the submitted `.xlsx`.
fn apply_layout(ws: &mut Worksheet, s: &SheetStyles, last_row: u32) -> Result<(), ReportError> {
    if let Some(h) = s.default_row_height.filter(|h| *h > 0.0 && (*h - 15.0).abs() > 0.01) {
        ws.set_default_row_height(h);
    }
    let default_width = s.default_column_width.filter(|w| *w > 0.0);
    if let Some(w) = default_width {
        ws.set_column_range_width_pixels(0, (MAX_COLS - 1) as u16, width_pixels(w))?;
    }
    for c in &s.columns {
        let (first, last) = (c.first.min(MAX_COLS - 1) as u16, c.last.min(MAX_COLS - 1) as u16);
        if let Some(w) = c.width.or(default_width) {
            ws.set_column_range_width_pixels(first, last, width_pixels(w))?;
        }
        if c.hidden {
            ws.set_column_range_hidden(first, last)?;
        }
    }
    for r in s.rows.iter().take_while(|r| r.row <= last_row.saturating_add(1)) {
        if let Some(h) = r.height {
            ws.set_row_height(r.row, h)?;
        }
        if r.hidden {
            ws.set_row_hidden(r.row)?;
        }
    }
    Ok(())
}

/// Pixels of a width in the file's unit (Calibri 11: 7 pixels per digit, 5 of padding).
fn width_pixels(width: f64) -> u32 {
    ((256.0 * width + (128.0 / 7.0_f64).trunc()) / 256.0 * 7.0)
        .trunc()
        .clamp(0.0, 1790.0) as u32
}

/// Widths that fit the values, for files that do not say (`.xls`, `.ods`, …).
fn fit_columns(ws: &mut Worksheet, sheet: &Sheet, merges: &Merges) -> Result<(), ReportError> {
    let mut widths: BTreeMap<u32, usize> = BTreeMap::new();
    let wide_merge = |p: CellRef| merges.of(p).is_some_and(|m| m.start.col != m.end.col);
    for cell in sheet.cells() {
        if cell.pos.col >= MAX_COLS || wide_merge(cell.pos) {
            continue;
        }
        let shown = match &cell.value {
            CellValue::Number(n) if n.is_finite() && n.abs() >= 10_000.0 => {
                if n.fract() == 0.0 {
                    int_fr(*n as i128)
                } else {
                    format!("{},00", int_fr(n.trunc() as i128))
                }
            }
            CellValue::Date(_) => "00/00/0000".to_string(),
            other => other.display(),
        };
        let w = shown.lines().map(|l| l.width()).max().unwrap_or(0);
        let e = widths.entry(cell.pos.col).or_insert(0);
        *e = (*e).max(w);
    }
    for (col, w) in widths {
        ws.set_column_width(col as u16, (w as f64 + 2.0).clamp(8.43, 60.0))?;
    }
    Ok(())
}

/// A formula of an `.ods` file (`of:=SUM([.C4:.G4])`) in Excel's syntax
/// (`SUM(C4:G4)`); `None` for what this conversion does not know.
pub(super) fn excel_formula(raw: &str, ods: bool) -> Option<String> {
    let f = if ods {
        raw.strip_prefix("of:=").or_else(|| raw.strip_prefix('='))?
    } else {
        raw.strip_prefix('=').unwrap_or(raw)
    };
    let mut out = String::with_capacity(f.len());
    let mut chars = f.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '[' if ods => {
                let mut inner = String::new();
                for d in chars.by_ref() {
                    if d == ']' {
                        break;
                    }
                    inner.push(d);
                }
                let parts: Vec<String> = inner.split(':').map(ods_reference).collect::<Option<_>>()?;
                out.push_str(&parts.join(":"));
            }
            ';' if ods => out.push(','),
            '[' | ']' | '{' | '}' | '\n' | '\r' => return None,
            c => out.push(c),
        }
    }
    if in_string || out.trim().is_empty() || out.contains("#") && !out.contains('"') {
        return None;
    }
    Some(out)
}

/// `.C4` → `C4`, `$Feuille1.C4` → `Feuille1!C4`, `'Une feuille'.C4` → `'Une feuille'!C4`.
fn ods_reference(r: &str) -> Option<String> {
    let r = r.trim();
    if let Some(cell) = r.strip_prefix('.') {
        return Some(cell.to_string());
    }
    let (sheet, cell) = r.rsplit_once('.')?;
    let sheet = sheet.strip_prefix('$').unwrap_or(sheet);
    if sheet.is_empty() || cell.is_empty() {
        return None;
    }
    let quoted = sheet.starts_with('\'') || sheet.chars().all(|c| c.is_alphanumeric() || c == '_');
    Some(if quoted {
        format!("{sheet}!{cell}")
    } else {
        format!("'{}'!{cell}", sheet.replace('\'', "''"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ods_formulas_read_as_excel_formulas() {
        assert_eq!(excel_formula("of:=SUM([.C4:.G4])", true).as_deref(), Some("SUM(C4:G4)"));
        assert_eq!(
            excel_formula("of:=IF([$Feuille1.A1]>0;[.B2];\"a;b\")", true).as_deref(),
            Some("IF(Feuille1!A1>0,B2,\"a;b\")")
        );
        assert_eq!(
            excel_formula("of:=['Une feuille'.A1]*2", true).as_deref(),
            Some("'Une feuille'!A1*2")
        );
        assert_eq!(excel_formula("SUM(C4:G4)", false).as_deref(), Some("SUM(C4:G4)"));
        assert_eq!(excel_formula("of:={1;2}", true), None);
        assert_eq!(excel_formula("", false), None);
    }

    #[test]
    fn widths_round_trip_excel_units() {
        assert_eq!(width_pixels(9.140625), 64);
        assert_eq!(width_pixels(30.7109375), 215);
    }
}
