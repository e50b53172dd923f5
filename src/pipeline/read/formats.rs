//! One reader per format, all producing a [`Workbook`] at absolute positions.

use std::io::Cursor;

use calamine::{Data, DataRef, Dimensions, Ods, Range, Reader, Xls, Xlsb, Xlsx};

use super::{Cell, CellValue, Format, LimitKind, Limits, NumberFormat, ReadError, Sheet, Workbook, WorkbookStyles};
use crate::base::model::{CellRange, CellRef};
use crate::base::values::DateInterval;

type Bytes<'a> = Cursor<&'a [u8]>;

pub(super) fn read(format: Format, bytes: &[u8], limits: &Limits) -> Result<Workbook, ReadError> {
    let (mut sheets, styles) = match format {
        Format::Xlsx | Format::Xlsm => read_xlsx(bytes, limits, format)?,
        Format::Xlsb => (read_xlsb(bytes, limits)?, None),
        Format::Xls => (read_xls(bytes, limits)?, None),
        Format::Ods => (read_ods(bytes, limits)?, None),
    };
    if !matches!(format, Format::Xlsx | Format::Xlsm) {
        let cells = sheets.iter().map(|s| s.cells().len()).sum();
        if let Some(formats) = super::numfmt::read(format, bytes, limits, cells) {
            formats.apply(&mut sheets);
        }
    }
    Ok(Workbook { format, sheets, styles })
}

/// Counts cells against the workbook-wide cap.
struct CellBudget {
    used: usize,
    max: usize,
}

impl CellBudget {
    fn new(limits: &Limits) -> Self {
        Self {
            used: 0,
            max: limits.max_cells,
        }
    }

    fn take(&mut self) -> Result<(), ReadError> {
        self.used += 1;
        if self.used > self.max {
            return Err(ReadError::Limit {
                kind: LimitKind::Cells,
                limit: self.max as u64,
                actual: self.used as u64,
            });
        }
        Ok(())
    }
}

fn check_sheet_count(n: usize, limits: &Limits) -> Result<(), ReadError> {
    if n > limits.max_sheets {
        return Err(ReadError::Limit {
            kind: LimitKind::Sheets,
            limit: limits.max_sheets as u64,
            actual: n as u64,
        });
    }
    Ok(())
}

fn corrupt(format: Format, e: impl std::fmt::Display) -> ReadError {
    let detail = e.to_string();
    if detail.to_ascii_lowercase().contains("password") {
        return ReadError::Encrypted;
    }
    ReadError::Corrupt {
        format: format.extension().to_string(),
        detail,
    }
}

/// Excel's grid: 1 048 576 rows × 16 384 columns (A1:XFD1048576).
const MAX_ROW: u32 = 1_048_575;
const MAX_COL: u32 = 16_383;

/// A cell position from the file, refused when it lies outside Excel's grid
/// (no real workbook has one: the file is corrupt).
fn in_grid(format: Format, row: u32, col: u32) -> Result<CellRef, ReadError> {
    if row > MAX_ROW || col > MAX_COL {
        return Err(corrupt(
            format,
            format!(
                "cellule hors de la grille Excel (ligne {}, colonne {})",
                row as u64 + 1,
                col as u64 + 1
            ),
        ));
    }
    Ok(CellRef::new(row, col))
}

/// A merged range, if it lies inside Excel's grid (a corrupt one is dropped:
/// merges only shape how a sheet looks).
fn to_range(d: &Dimensions) -> Option<CellRange> {
    let inside = |(r, c): (u32, u32)| r <= MAX_ROW && c <= MAX_COL;
    (inside(d.start) && inside(d.end))
        .then(|| CellRange::new(CellRef::new(d.start.0, d.start.1), CellRef::new(d.end.0, d.end.1)))
}

/// Converts one calamine value; `None` for an empty cell.
fn convert(value: DataRef<'_>) -> Option<CellValue> {
    Some(match value {
        DataRef::Empty => return None,
        DataRef::String(s) => CellValue::Text(s),
        DataRef::SharedString(s) => CellValue::Text(s.to_string()),
        DataRef::Int(i) => CellValue::Number(i as f64),
        DataRef::Float(f) => CellValue::Number(f),
        DataRef::Bool(b) => CellValue::Bool(b),
        DataRef::DateTime(dt) => {
            if dt.is_duration() {
                CellValue::Number(dt.as_f64())
            } else {
                let (y, m, d, ..) = dt.to_ymd_hms_milli();
                match DateInterval::day(y as i32, m as u32, d as u32) {
                    Some(day) => CellValue::Date(day),
                    None => CellValue::Number(dt.as_f64()),
                }
            }
        }
        DataRef::DateTimeIso(s) => match DateInterval::from_iso(&s) {
            Some(d) => CellValue::Date(d),
            None => CellValue::Text(s),
        },
        DataRef::DurationIso(s) => CellValue::Text(s),
        DataRef::Error(e) => CellValue::Error(e.to_string()),
    })
}

fn convert_owned(value: &Data) -> Option<CellValue> {
    let r: DataRef<'_> = match value {
        Data::Empty => DataRef::Empty,
        Data::String(s) => DataRef::String(s.clone()),
        Data::Int(i) => DataRef::Int(*i),
        Data::Float(f) => DataRef::Float(*f),
        Data::Bool(b) => DataRef::Bool(*b),
        Data::DateTime(d) => DataRef::DateTime(*d),
        Data::DateTimeIso(s) => DataRef::DateTimeIso(s.clone()),
        Data::DurationIso(s) => DataRef::DurationIso(s.clone()),
        Data::Error(e) => DataRef::Error(e.clone()),
    };
    convert(r)
}

/// The sheets with their number formats, and how they look (see [`super::styles`]).
///
/// One pass per sheet gives each cell its value and its style id; the style
/// palette (parsed by calamine when it opens the file) gives the number format
/// of each id. A formula saved without its value comes back empty from that
/// pass: only then is the sheet read again for its formulas.
fn read_xlsx(bytes: &[u8], limits: &Limits, format: Format) -> Result<(Vec<Sheet>, Option<WorkbookStyles>), ReadError> {
    let mut wb: Xlsx<Bytes<'_>> = Xlsx::new(Cursor::new(bytes)).map_err(|e| corrupt(format, e))?;
    let names = wb.sheet_names();
    check_sheet_count(names.len(), limits)?;
    let mut budget = CellBudget::new(limits);
    let mut sheets = Vec::with_capacity(names.len());
    // The number format of each style id, from calamine's palette (read once).
    let mut palette: Option<Vec<NumberFormat>> = None;
    let mut parts = super::merges::SheetParts::open(bytes, limits);
    for name in names {
        let mut cells = Vec::new();
        let mut styled: Vec<(CellRef, usize)> = Vec::new();
        let mut valueless: Vec<CellRef> = Vec::new();
        match wb.worksheet_cells_reader(&name) {
            Ok(mut reader) => {
                let formats = palette.get_or_insert_with(|| reader.styles().iter().map(style_format).collect());
                loop {
                    let next = reader
                        .next_cell_with_style_id()
                        .map_err(|e| corrupt(format, format!("feuille « {name} » : {e}")))?;
                    let Some((cell, style)) = next else { break };
                    let (row, col) = cell.get_position();
                    let pos = in_grid(format, row, col)?;
                    let Some(value) = convert(cell.get_value().clone()) else {
                        valueless.push(pos);
                        continue;
                    };
                    budget.take()?;
                    if matches!(value, CellValue::Number(_))
                        && formats.get(style).is_some_and(NumberFormat::changes_value)
                    {
                        styled.push((pos, style));
                    }
                    cells.push(Cell { pos, value });
                }
            }
            // A chart sheet or a dialog sheet holds no cells: keep it, empty.
            Err(calamine::XlsxError::NotAWorksheet(_)) => {}
            Err(e) => return Err(corrupt(format, format!("feuille « {name} » : {e}"))),
        }
        if !valueless.is_empty() {
            valueless.sort();
            formulas_without_value(&mut wb, &name, &valueless, &mut cells, &mut budget, format)?;
        }
        let merges = match parts.as_mut().and_then(|p| p.merges(&name)) {
            Some(merges) => merges,
            None => wb
                .merge_cells_by_sheet_name(&name)
                .map(|ms| ms.iter().filter_map(to_range).collect())
                .unwrap_or_default(),
        };
        let mut sheet = Sheet::new(name, cells, merges);
        if let Some(formats) = &palette {
            sheet.set_number_formats(
                styled
                    .iter()
                    .filter_map(|(pos, style)| formats.get(*style).map(|f| (*pos, f))),
            );
        }
        sheets.push(sheet);
    }
    let styles = if limits.read_styles {
        Some(super::styles::read_with(&mut wb, bytes, limits))
    } else {
        None
    };
    Ok((sheets, styles))
}

/// The number format of one entry of calamine's style palette.
fn style_format(style: &calamine::Style) -> NumberFormat {
    style.number_format.as_ref().map_or(NumberFormat::General, |n| {
        if n.format_code.is_empty() {
            NumberFormat::from_builtin(n.format_id.unwrap_or(0))
        } else {
            NumberFormat::from_code(&n.format_code)
        }
    })
}

/// Cells that came back without a value: formulas saved without their result
/// (BILAN-CELL-001), read in a second pass over the sheet.
fn formulas_without_value(
    wb: &mut Xlsx<Bytes<'_>>,
    name: &str,
    valueless: &[CellRef],
    cells: &mut Vec<Cell>,
    budget: &mut CellBudget,
    format: Format,
) -> Result<(), ReadError> {
    let mut reader = wb
        .worksheet_cells_reader(name)
        .map_err(|e| corrupt(format, format!("feuille « {name} » : {e}")))?;
    while let Some(cell) = reader
        .next_cell_with_formula()
        .map_err(|e| corrupt(format, format!("feuille « {name} » : {e}")))?
    {
        let (row, col) = cell.pos;
        let pos = in_grid(format, row, col)?;
        if valueless.binary_search(&pos).is_err() {
            continue;
        }
        if let Some(f) = cell.formula.filter(|f| !f.is_empty()) {
            budget.take()?;
            cells.push(Cell {
                pos,
                value: CellValue::FormulaWithoutValue(f),
            });
        }
    }
    Ok(())
}

fn read_xlsb(bytes: &[u8], limits: &Limits) -> Result<Vec<Sheet>, ReadError> {
    let format = Format::Xlsb;
    let mut wb: Xlsb<Bytes<'_>> = Xlsb::new(Cursor::new(bytes)).map_err(|e| corrupt(format, e))?;
    let names = wb.sheet_names();
    check_sheet_count(names.len(), limits)?;
    let mut budget = CellBudget::new(limits);
    let mut sheets = Vec::with_capacity(names.len());
    for name in names {
        let mut cells = Vec::new();
        let mut reader = wb
            .worksheet_cells_reader(&name)
            .map_err(|e| corrupt(format, format!("feuille « {name} » : {e}")))?;
        while let Some(cell) = reader
            .next_cell()
            .map_err(|e| corrupt(format, format!("feuille « {name} » : {e}")))?
        {
            let (row, col) = cell.get_position();
            if let Some(value) = convert(cell.get_value().clone()) {
                budget.take()?;
                cells.push(Cell {
                    pos: in_grid(format, row, col)?,
                    value,
                });
            }
        }
        sheets.push(Sheet::new(name, cells, Vec::new()));
    }
    Ok(sheets)
}

/// Cells of a calamine range at absolute positions (a `Range` starts at its
/// used area: `used_cells` positions are relative to `start()`).
fn range_cells(format: Format, range: &Range<Data>, budget: &mut CellBudget) -> Result<Vec<Cell>, ReadError> {
    let (r0, c0) = range.start().unwrap_or((0, 0));
    let mut cells = Vec::new();
    for (r, c, v) in range.used_cells() {
        if let Some(value) = convert_owned(v) {
            budget.take()?;
            let row = u32::try_from(r)
                .ok()
                .and_then(|r| r.checked_add(r0))
                .unwrap_or(u32::MAX);
            let col = u32::try_from(c)
                .ok()
                .and_then(|c| c.checked_add(c0))
                .unwrap_or(u32::MAX);
            cells.push(Cell {
                pos: in_grid(format, row, col)?,
                value,
            });
        }
    }
    Ok(cells)
}

/// Every sheet of a workbook calamine reads as ranges of values, in order:
/// the sheet count and the cell budget checked; `finish` completes a sheet's
/// cells and gives its merged ranges (what the format knows of them).
fn read_sheets<RS, R>(
    format: Format,
    wb: &mut R,
    limits: &Limits,
    mut finish: impl FnMut(&mut R, &str, &mut Vec<Cell>) -> Vec<CellRange>,
) -> Result<Vec<Sheet>, ReadError>
where
    RS: std::io::Read + std::io::Seek,
    R: Reader<RS>,
    R::Error: std::fmt::Display,
{
    let names = wb.sheet_names();
    check_sheet_count(names.len(), limits)?;
    let mut budget = CellBudget::new(limits);
    let mut sheets = Vec::with_capacity(names.len());
    for name in names {
        let range = wb
            .worksheet_range(&name)
            .map_err(|e| corrupt(format, format!("feuille « {name} » : {e}")))?;
        let mut cells = range_cells(format, &range, &mut budget)?;
        let merges = finish(wb, &name, &mut cells);
        sheets.push(Sheet::new(name, cells, merges));
    }
    Ok(sheets)
}

fn read_xls(bytes: &[u8], limits: &Limits) -> Result<Vec<Sheet>, ReadError> {
    let format = Format::Xls;
    let mut wb: Xls<Bytes<'_>> = Xls::new(Cursor::new(bytes)).map_err(|e| corrupt(format, e))?;
    read_sheets(format, &mut wb, limits, |wb, name, cells| {
        // A formula saved without its value reads as an empty string in .xls.
        if cells
            .iter()
            .any(|c| matches!(&c.value, CellValue::Text(s) if s.is_empty()))
        {
            if let Ok(formulas) = wb.worksheet_formula(name) {
                for cell in cells.iter_mut() {
                    if matches!(&cell.value, CellValue::Text(s) if s.is_empty()) {
                        if let Some(f) = formulas
                            .get_value((cell.pos.row, cell.pos.col))
                            .filter(|f| !f.is_empty())
                        {
                            cell.value = CellValue::FormulaWithoutValue(f.clone());
                        }
                    }
                }
            }
        }
        wb.merge_cells_by_sheet_name(name)
            .map(|ms| ms.iter().filter_map(to_range).collect())
            .unwrap_or_default()
    })
}

fn read_ods(bytes: &[u8], limits: &Limits) -> Result<Vec<Sheet>, ReadError> {
    let format = Format::Ods;
    let mut wb: Ods<Bytes<'_>> = Ods::new(Cursor::new(bytes)).map_err(|e| corrupt(format, e))?;
    // calamine gives no merged range for .ods: `numfmt::ods` reads them.
    read_sheets(format, &mut wb, limits, |_, _, _| Vec::new())
}
