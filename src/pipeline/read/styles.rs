//! How an `.xlsx` sheet looks: cell styles (number format, font, fill, borders,
//! alignment), column widths and row heights, so that a report can reproduce the
//! submitted sheet as its author saw it.
//!
//! Cell styles come from calamine (the workbook's style palette and each cell's
//! style id, read with the streaming cell reader); calamine does not expose
//! column widths or row heights, so they are read here from the sheet XML
//! (`<sheetFormatPr>`, `<col>`, `<row ht>`) with quick-xml, streaming.
//! Memory stays bounded: only cells present in the file are recorded, up to the
//! workbook's cell limit, and the palette is capped at Excel's own maximum.
//! These looks only serve the annotated report: whatever cannot be read is
//! simply left out. (Number formats that change a value — a percentage — are
//! not read here but with the cells: see [`super::numfmt`].)

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Cursor, Read};

use quick_xml::events::{BytesStart, Event};

use calamine::{Reader, Xlsx};
use serde::{Deserialize, Serialize};

use super::{sniff, xml, Format, Limits, ReadError};
use crate::base::model::CellRef;

/// An RGB colour, `0xRRGGBB`.
pub type Rgb = u32;

/// Excel keeps at most 64 000 cell formats; a file declaring more is not a real one.
const MAX_PALETTE: usize = 65_536;

/// The look of one cell, as the submitted file defines it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CellStyle {
    pub number_format: Option<NumberFormat>,
    pub font: Option<FontLook>,
    pub fill: Option<FillLook>,
    pub borders: Option<Borders>,
    pub alignment: Option<AlignmentLook>,
}

/// A number format: its code, and its built-in id when it is one of Excel's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumberFormat {
    pub code: String,
    pub id: Option<u32>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Underline {
    #[default]
    None,
    Single,
    Double,
    SingleAccounting,
    DoubleAccounting,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FontLook {
    pub name: Option<String>,
    pub size: Option<f64>,
    pub bold: bool,
    pub italic: bool,
    pub underline: Underline,
    pub strikethrough: bool,
    pub color: Option<Rgb>,
}

/// Fill patterns of OOXML (`patternType`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Pattern {
    #[default]
    None,
    Solid,
    DarkGray,
    MediumGray,
    LightGray,
    Gray125,
    Gray0625,
    DarkHorizontal,
    DarkVertical,
    DarkDown,
    DarkUp,
    DarkGrid,
    DarkTrellis,
    LightHorizontal,
    LightVertical,
    LightDown,
    LightUp,
    LightGrid,
    LightTrellis,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FillLook {
    pub pattern: Pattern,
    /// The pattern's colour (the whole cell for a solid fill).
    pub foreground: Option<Rgb>,
    pub background: Option<Rgb>,
}

/// Border line styles of OOXML.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Line {
    #[default]
    None,
    Thin,
    Medium,
    Thick,
    Double,
    Hair,
    Dashed,
    Dotted,
    MediumDashed,
    DashDot,
    MediumDashDot,
    DashDotDot,
    MediumDashDotDot,
    SlantDashDot,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BorderLine {
    pub line: Line,
    pub color: Option<Rgb>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Borders {
    pub left: BorderLine,
    pub right: BorderLine,
    pub top: BorderLine,
    pub bottom: BorderLine,
    pub diagonal_down: BorderLine,
    pub diagonal_up: BorderLine,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Horizontal {
    #[default]
    General,
    Left,
    Center,
    CenterContinuous,
    Right,
    Justify,
    Distributed,
    Fill,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Vertical {
    Top,
    Center,
    #[default]
    Bottom,
    Justify,
    Distributed,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlignmentLook {
    pub horizontal: Horizontal,
    pub vertical: Vertical,
    pub wrap: bool,
    pub shrink: bool,
    pub indent: u8,
    /// OOXML `textRotation`: 0–90 counter-clockwise, 91–180 clockwise (90 − n), 255 stacked.
    pub rotation: u16,
}

/// Width or visibility of a run of columns (`<col min max>`), zero-based.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ColumnLook {
    pub first: u32,
    pub last: u32,
    /// In the file's unit (characters of the default font, padding included).
    pub width: Option<f64>,
    pub hidden: bool,
}

/// Height or visibility of a row (`<row r ht>`), zero-based.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RowLook {
    pub row: u32,
    /// In points.
    pub height: Option<f64>,
    pub hidden: bool,
}

/// The look of one sheet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SheetStyles {
    pub name: String,
    /// Cells with a style of their own (a value or not), sorted by position:
    /// an index into [`WorkbookStyles::palette`].
    pub cells: Vec<(CellRef, u32)>,
    pub columns: Vec<ColumnLook>,
    pub rows: Vec<RowLook>,
    /// `<sheetFormatPr defaultRowHeight>`, in points.
    pub default_row_height: Option<f64>,
    /// `<sheetFormatPr defaultColWidth>`, in the file's unit.
    pub default_column_width: Option<f64>,
    /// Some styled cells were left out (cell limit reached).
    pub truncated: bool,
}

impl SheetStyles {
    /// The palette index of a cell's own style, if it has one.
    pub fn style_at(&self, pos: CellRef) -> Option<u32> {
        self.cells
            .binary_search_by_key(&pos, |(p, _)| *p)
            .ok()
            .map(|i| self.cells[i].1)
    }
}

/// The look of a whole workbook: its style palette and each sheet's layout.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkbookStyles {
    /// Indexed by the cells' style ids; entry 0 is the workbook's default look.
    pub palette: Vec<CellStyle>,
    pub sheets: Vec<SheetStyles>,
}

impl WorkbookStyles {
    pub fn sheet(&self, name: &str) -> Option<&SheetStyles> {
        self.sheets.iter().find(|s| s.name == name)
    }

    pub fn style(&self, id: u32) -> Option<&CellStyle> {
        self.palette.get(id as usize)
    }
}

/// Reads the look of an `.xlsx`/`.xlsm` workbook; `Ok(None)` for the formats
/// whose styles are not read (`.xls`, `.xlsb`, `.ods`). [`super::read_bytes`]
/// already does it for every `.xlsx` (see [`super::Workbook::styles`]).
pub fn read_styles(bytes: &[u8], limits: &Limits) -> Result<Option<WorkbookStyles>, ReadError> {
    let format = sniff(bytes, limits)?;
    if !matches!(format, Format::Xlsx | Format::Xlsm) {
        return Ok(None);
    }
    let mut wb: Xlsx<Cursor<&[u8]>> = Xlsx::new(Cursor::new(bytes)).map_err(|e| ReadError::Corrupt {
        format: format.extension().to_string(),
        detail: e.to_string(),
    })?;
    Ok(Some(read_with(&mut wb, bytes, limits)))
}

/// The look of an opened `.xlsx` whose bytes are `bytes`. Never fails: what
/// cannot be read is left out.
pub(super) fn read_with<RS: std::io::Read + std::io::Seek>(
    wb: &mut Xlsx<RS>,
    bytes: &[u8],
    limits: &Limits,
) -> WorkbookStyles {
    let layouts = read_layouts(bytes, limits).unwrap_or_default();
    let mut palette: Vec<CellStyle> = Vec::new();
    let mut budget = limits.max_cells;
    let mut sheets = Vec::new();
    for name in wb.sheet_names() {
        let mut sheet = layouts.get(&name).cloned().unwrap_or_default();
        sheet.name = name.clone();
        if let Ok(mut reader) = wb.worksheet_cells_reader(&name) {
            if palette.is_empty() {
                palette = reader.styles().iter().take(MAX_PALETTE).map(convert_style).collect();
            }
            loop {
                match reader.next_style_id() {
                    Ok(Some((row, col, id))) => {
                        if id >= palette.len() {
                            continue;
                        }
                        if budget == 0 {
                            sheet.truncated = true;
                            break;
                        }
                        budget -= 1;
                        // Outside Excel's grid: a corrupt position, no look to keep.
                        if row > 1_048_575 || col > 16_383 {
                            continue;
                        }
                        sheet.cells.push((CellRef::new(row, col), id as u32));
                    }
                    Ok(None) => break,
                    // A damaged sheet keeps the styles read so far.
                    Err(_) => {
                        sheet.truncated = true;
                        break;
                    }
                }
            }
        }
        sheet.cells.sort_by_key(|(p, _)| *p);
        sheet.cells.dedup_by_key(|(p, _)| *p);
        sheets.push(sheet);
    }
    WorkbookStyles { palette, sheets }
}

fn rgb(c: Option<calamine::Color>) -> Option<Rgb> {
    c.map(|c| c.to_argb() & 0x00FF_FFFF)
}

fn convert_style(s: &calamine::Style) -> CellStyle {
    CellStyle {
        number_format: s.number_format.as_ref().map(|n| NumberFormat {
            code: n.format_code.clone(),
            id: n.format_id,
        }),
        font: s.font.as_ref().map(convert_font),
        fill: s.fill.as_ref().map(convert_fill),
        borders: s.borders.as_ref().map(|b| Borders {
            left: convert_border(&b.left),
            right: convert_border(&b.right),
            top: convert_border(&b.top),
            bottom: convert_border(&b.bottom),
            diagonal_down: convert_border(&b.diagonal_down),
            diagonal_up: convert_border(&b.diagonal_up),
        }),
        alignment: s.alignment.as_ref().map(convert_alignment),
    }
}

fn convert_font(f: &calamine::Font) -> FontLook {
    use calamine::UnderlineStyle as U;
    FontLook {
        name: f.name.clone(),
        size: f.size.filter(|s| s.is_finite() && (1.0..=409.0).contains(s)),
        bold: f.is_bold(),
        italic: f.is_italic(),
        underline: match f.underline {
            U::Single => Underline::Single,
            U::Double => Underline::Double,
            U::SingleAccounting => Underline::SingleAccounting,
            U::DoubleAccounting => Underline::DoubleAccounting,
            _ => Underline::None,
        },
        strikethrough: f.strikethrough,
        color: rgb(f.color),
    }
}

fn convert_fill(f: &calamine::Fill) -> FillLook {
    use calamine::FillPattern as P;
    let pattern = match f.pattern {
        P::Solid => Pattern::Solid,
        P::DarkGray => Pattern::DarkGray,
        P::MediumGray => Pattern::MediumGray,
        P::LightGray => Pattern::LightGray,
        P::Gray125 => Pattern::Gray125,
        P::Gray0625 => Pattern::Gray0625,
        P::DarkHorizontal => Pattern::DarkHorizontal,
        P::DarkVertical => Pattern::DarkVertical,
        P::DarkDown => Pattern::DarkDown,
        P::DarkUp => Pattern::DarkUp,
        P::DarkGrid => Pattern::DarkGrid,
        P::DarkTrellis => Pattern::DarkTrellis,
        P::LightHorizontal => Pattern::LightHorizontal,
        P::LightVertical => Pattern::LightVertical,
        P::LightDown => Pattern::LightDown,
        P::LightUp => Pattern::LightUp,
        P::LightGrid => Pattern::LightGrid,
        P::LightTrellis => Pattern::LightTrellis,
        _ => Pattern::None,
    };
    FillLook {
        pattern,
        foreground: rgb(f.foreground_color),
        background: rgb(f.background_color),
    }
}

fn convert_border(b: &calamine::Border) -> BorderLine {
    use calamine::BorderStyle as B;
    let line = match b.style {
        B::Thin => Line::Thin,
        B::Medium => Line::Medium,
        B::Thick => Line::Thick,
        B::Double => Line::Double,
        B::Hair => Line::Hair,
        B::Dashed => Line::Dashed,
        B::Dotted => Line::Dotted,
        B::MediumDashed => Line::MediumDashed,
        B::DashDot => Line::DashDot,
        B::MediumDashDot => Line::MediumDashDot,
        B::DashDotDot => Line::DashDotDot,
        B::MediumDashDotDot => Line::MediumDashDotDot,
        B::SlantDashDot => Line::SlantDashDot,
        _ => Line::None,
    };
    BorderLine {
        line,
        color: rgb(b.color),
    }
}

fn convert_alignment(a: &calamine::Alignment) -> AlignmentLook {
    use calamine::{HorizontalAlignment as H, TextRotation as R, VerticalAlignment as V};
    AlignmentLook {
        horizontal: match a.horizontal {
            H::Left => Horizontal::Left,
            H::Center => Horizontal::Center,
            H::CenterContinuous => Horizontal::CenterContinuous,
            H::Right => Horizontal::Right,
            H::Justify => Horizontal::Justify,
            H::Distributed => Horizontal::Distributed,
            H::Fill => Horizontal::Fill,
            _ => Horizontal::General,
        },
        vertical: match a.vertical {
            V::Top => Vertical::Top,
            V::Center => Vertical::Center,
            V::Justify => Vertical::Justify,
            V::Distributed => Vertical::Distributed,
            _ => Vertical::Bottom,
        },
        wrap: a.wrap_text,
        shrink: a.shrink_to_fit,
        indent: a.indent.unwrap_or(0),
        rotation: match a.text_rotation {
            R::Degrees(d) if d <= 180 => d,
            R::Stacked => 255,
            _ => 0,
        },
    }
}

// ---------------------------------------------------------------------------
// Column widths and row heights, from the sheet XML (read with quick-xml).

/// Each sheet's layout (columns, rows, defaults), by sheet name.
fn read_layouts(bytes: &[u8], limits: &Limits) -> Option<HashMap<String, SheetStyles>> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let mut out = HashMap::new();
    for (name, part) in sheet_parts(&mut zip, limits)? {
        let Ok(file) = zip.by_name(&part) else { continue };
        out.insert(name, sheet_layout(file.take(limits.max_uncompressed)));
    }
    Some(out)
}

/// Each sheet of an `.xlsx` package and the name of its part in the zip, from
/// the package's relationships and `workbook.xml`.
pub(crate) fn sheet_parts<R: Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    limits: &Limits,
) -> Option<Vec<(String, String)>> {
    let mut parts = xml::Parts::new(zip, limits.max_uncompressed);
    let mut part = |path: &str| parts.read(path);
    let workbook_path = part("_rels/.rels")
        .and_then(|rels| {
            relationships(&rels)
                .into_iter()
                .find(|(_, ty, _)| ty.ends_with("/officeDocument"))
                .map(|(_, _, t)| t)
        })
        .map(|t| resolve("", &t))
        .unwrap_or_else(|| "xl/workbook.xml".to_string());
    let base = workbook_path.rsplit_once('/').map_or("", |(dir, _)| dir).to_string();
    let file_name = workbook_path
        .rsplit_once('/')
        .map_or(workbook_path.as_str(), |(_, f)| f);
    let rels = part(&format!("{base}/_rels/{file_name}.rels"))
        .map(|r| relationships(&r))
        .unwrap_or_default();
    let workbook = part(&workbook_path)?;
    let mut sheets = Vec::new();
    each_element(workbook.as_slice(), |name, e| {
        if name == "sheet" {
            if let (Some(name), Some(id)) = (xml::attr(e, "name"), xml::attr_local(e, "id")) {
                sheets.push((name, id));
            }
        }
        true
    });
    let mut out = Vec::new();
    for (name, id) in sheets {
        let Some((_, _, target)) = rels.iter().find(|(rid, _, _)| *rid == id) else {
            continue;
        };
        if let Some(real) = parts.real_name(&resolve(&base, target)) {
            out.push((name, real.to_string()));
        }
    }
    Some(out)
}

/// Calls `f(local name, element)` on each start or empty element of `input`
/// until `f` returns false, the input ends or the XML breaks; `"/sheetData"`
/// (a local name with a leading `/`) for that one end tag.
fn each_element(input: impl BufRead, mut f: impl FnMut(&str, &BytesStart<'_>) -> bool) {
    let mut reader = xml::reader(input);
    let mut buf = Vec::with_capacity(1024);
    loop {
        buf.clear();
        let go_on = match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => f(e.local_name().as_ref(), &e),
            Ok(Event::End(e)) if e.local_name().as_ref() == "sheetData" => {
                f("/sheetData", &BytesStart::new("sheetData"))
            }
            Ok(Event::Eof) | Err(_) => false,
            _ => true,
        };
        if !go_on {
            break;
        }
    }
}

/// `(Id, Type, Target)` of a relationships part.
fn relationships(part: &[u8]) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    each_element(part, |name, e| {
        if name == "Relationship" {
            let get = |k: &str| xml::attr(e, k).unwrap_or_default();
            out.push((get("Id"), get("Type"), get("Target")));
        }
        true
    });
    out
}

/// A relationship target relative to `base` (a folder), as a part name without leading `/`.
pub(crate) fn resolve(base: &str, target: &str) -> String {
    let joined = if let Some(abs) = target.strip_prefix('/') {
        abs.to_string()
    } else if base.is_empty() {
        target.to_string()
    } else {
        format!("{base}/{target}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for p in joined.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// Rows beyond this many are not given a height: a real sheet never has so many.
const MAX_ROW_LOOKS: usize = 1_048_576;

fn sheet_layout(part: impl Read) -> SheetStyles {
    let mut sheet = SheetStyles::default();
    let mut next_row: u32 = 0;
    each_element(BufReader::with_capacity(64 * 1024, part), |name, e| {
        let get = |k: &str| xml::attr(e, k);
        match name {
            "/sheetData" => return false,
            "sheetFormatPr" => {
                sheet.default_row_height = get("defaultRowHeight").as_deref().and_then(parse_f64);
                sheet.default_column_width = get("defaultColWidth").as_deref().and_then(parse_f64);
            }
            "col" => {
                let first = get("min").and_then(|v| v.parse::<u32>().ok());
                let last = get("max").and_then(|v| v.parse::<u32>().ok());
                let (Some(first), Some(last)) = (first, last) else {
                    return true;
                };
                if first == 0 || last < first || last > 16_384 {
                    return true;
                }
                let width = get("width")
                    .as_deref()
                    .and_then(parse_f64)
                    .filter(|w| (0.0..=255.0).contains(w));
                let hidden = get("hidden").is_some_and(|v| truthy(&v));
                if width.is_some() || hidden {
                    sheet.columns.push(ColumnLook {
                        first: first - 1,
                        last: last - 1,
                        width,
                        hidden,
                    });
                }
            }
            "row" => {
                let row = get("r")
                    .and_then(|v| v.parse::<u32>().ok())
                    .filter(|r| (1..=1_048_576).contains(r))
                    .map(|r| r - 1)
                    .unwrap_or(next_row);
                next_row = row.saturating_add(1);
                let height = get("ht")
                    .as_deref()
                    .and_then(parse_f64)
                    .filter(|h| (0.0..=409.5).contains(h));
                let hidden = get("hidden").is_some_and(|v| truthy(&v));
                if (height.is_some() || hidden) && sheet.rows.len() < MAX_ROW_LOOKS {
                    sheet.rows.push(RowLook { row, height, hidden });
                }
            }
            _ => {}
        }
        true
    });
    sheet.rows.sort_by_key(|r| r.row);
    sheet.rows.dedup_by_key(|r| r.row);
    sheet
}

fn parse_f64(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|f| f.is_finite())
}

fn truthy(s: &str) -> bool {
    matches!(s, "1" | "true")
}

#[cfg(test)]
#[path = "styles_tests.rs"]
mod tests;
