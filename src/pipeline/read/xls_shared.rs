//! Shared formulas of an `.xls` workbook (BIFF8), which calamine skips.
//!
//! When several neighbouring cells hold the same formula shifted (`=A2+B2`,
//! `=A3+B3`… down a column, `=SUM(B2:B5)`, `=SUM(C2:C5)`… across a row), Excel
//! and LibreOffice write it once: each cell's `FORMULA` record (0x0006: `u16
//! row, u16 column, u16 xf, 8 bytes value, u16 flags, u32`, then `u16 cce` and
//! `cce` bytes of tokens) holds only a `PtgExp` (0x01, `u16 row, u16 column`
//! of the group's first cell), and a `SHRFMLA` record (0x04BC: `u16 first row,
//! u16 last row, u8 first column, u8 last column, u8 reserved, u8 cUse`, then
//! `u16 cce` and the tokens) after the first cell's `FORMULA` carries the
//! group's tokens. Their references are relative to the cell that uses them
//! (`PtgRefN`, `PtgAreaN`): each cell's text is rendered with its own position.
//!
//! `ARRAY` (0x0221) and `TABLE` (0x0236) records use the same `PtgExp`: their
//! cells are recognised and left without a formula (an array formula written
//! into each cell as an ordinary one would compute something else).
//!
//! The text is in Excel's syntax without the leading `=` (`A2+B2`,
//! `SUM(C4:G4)`), as calamine gives ordinary formulas. A token this reader does
//! not know (3D references, names, array constants, add-in functions, a
//! function not in [`FUNCTIONS`]…) gives no formula for that cell — the cell
//! keeps its value — never a guessed one. Every length and offset is checked: a
//! hostile file gives fewer formulas, never a panic. Work is bounded by
//! [`Limits`]: the stream's size, the number of sheets and of cells.

use std::collections::HashMap;

use super::numfmt::xls::{bound_sheets, sheet_records, u16_at, workbook_stream};
use super::Limits;
use crate::base::model::{column_letters, CellRef};

const FORMULA: u16 = 0x0006;
const SHRFMLA: u16 = 0x04BC;
const ARRAY: u16 = 0x0221;
const TABLE: u16 = 0x0236;

/// Excel's own limit on a formula's text.
const MAX_TEXT: usize = 8_192;

/// The rows and columns of a BIFF8 sheet.
const ROWS: i32 = 65_536;
const COLUMNS: i32 = 256;

/// The formulas of the cells that use a shared formula, by sheet name and cell
/// (Excel's syntax, no leading `=`). Empty for what is not an `.xls`.
pub fn shared_formulas(bytes: &[u8], limits: &Limits) -> HashMap<String, HashMap<CellRef, String>> {
    let Some(data) = workbook_stream(bytes, limits) else {
        return HashMap::new();
    };
    read_stream(&data, limits)
}

fn read_stream(data: &[u8], limits: &Limits) -> HashMap<String, HashMap<CellRef, String>> {
    let mut out = HashMap::new();
    let mut budget = limits.max_cells;
    for (name, offset) in bound_sheets(data).into_iter().take(limits.max_sheets) {
        if budget == 0 {
            break;
        }
        let cells = sheet_formulas(data, offset as usize, &mut budget);
        if !cells.is_empty() {
            out.insert(name, cells);
        }
    }
    out
}

/// What a `PtgExp` can point at.
enum Anchor<'a> {
    /// A `SHRFMLA` group: its range and its tokens.
    Shared {
        rows: (u16, u16),
        cols: (u16, u16),
        rgce: &'a [u8],
    },
    /// An array formula, a data table, or two records claiming one anchor.
    Other,
}

fn sheet_formulas(data: &[u8], offset: usize, budget: &mut usize) -> HashMap<CellRef, String> {
    // Cells whose formula is a `PtgExp`: (row, column, anchor row, anchor column).
    let mut pointers: Vec<(u16, u16, u16, u16)> = Vec::new();
    let mut anchors: HashMap<(u16, u16), Anchor> = HashMap::new();
    for (kind, d) in sheet_records(data, offset) {
        match kind {
            FORMULA => {
                if *budget == 0 {
                    break;
                }
                if let Some(p) = pointer(d) {
                    *budget -= 1;
                    pointers.push(p);
                }
            }
            SHRFMLA => {
                if let Some((at, anchor)) = shared_group(d) {
                    add_anchor(&mut anchors, at, anchor);
                }
            }
            ARRAY | TABLE => {
                if let (Some(row), Some(col)) = (u16_at(d, 0), d.get(4)) {
                    add_anchor(&mut anchors, (row, *col as u16), Anchor::Other);
                }
            }
            _ => {}
        }
    }
    let mut out = HashMap::new();
    for (row, col, ar, ac) in pointers {
        let Some(Anchor::Shared { rows, cols, rgce }) = anchors.get(&(ar, ac)) else {
            continue;
        };
        // A cell outside the group's range: the file is not what it says.
        if !(rows.0..=rows.1).contains(&row) || !(cols.0..=cols.1).contains(&col) {
            continue;
        }
        if let Some(text) = render(rgce, row, col) {
            out.insert(CellRef::new(row as u32, col as u32), text);
        }
    }
    out
}

/// Two records claiming the same first cell: neither is trusted.
fn add_anchor<'a>(anchors: &mut HashMap<(u16, u16), Anchor<'a>>, at: (u16, u16), anchor: Anchor<'a>) {
    anchors.entry(at).and_modify(|a| *a = Anchor::Other).or_insert(anchor);
}

/// A `FORMULA` record whose tokens are one `PtgExp`: `(row, column, anchor
/// row, anchor column)`.
fn pointer(d: &[u8]) -> Option<(u16, u16, u16, u16)> {
    let (row, col, cce) = (u16_at(d, 0)?, u16_at(d, 2)?, u16_at(d, 20)?);
    let rgce = d.get(22..22 + cce as usize)?;
    match rgce {
        [0x01, r0, r1, c0, c1] => Some((row, col, u16::from_le_bytes([*r0, *r1]), u16::from_le_bytes([*c0, *c1]))),
        _ => None,
    }
}

/// A `SHRFMLA` record: its first cell and the group.
fn shared_group(d: &[u8]) -> Option<((u16, u16), Anchor<'_>)> {
    let (first_row, last_row) = (u16_at(d, 0)?, u16_at(d, 2)?);
    let (first_col, last_col) = (*d.get(4)? as u16, *d.get(5)? as u16);
    let cce = u16_at(d, 8)? as usize;
    let at = (first_row, first_col);
    let Some(rgce) = d.get(10..10 + cce) else {
        return Some((at, Anchor::Other));
    };
    if first_row > last_row || first_col > last_col {
        return Some((at, Anchor::Other));
    }
    Some((
        at,
        Anchor::Shared {
            rows: (first_row, last_row),
            cols: (first_col, last_col),
            rgce,
        },
    ))
}

/// The built-in functions this reader renders: `(index in BIFF8's function
/// table, name, least arguments, most arguments)`. A function of fixed arity
/// (`PtgFunc`) has both equal. Indices and arities are those of [MS-XLS]
/// 2.5.198.17 (`Ftab`).
pub const FUNCTIONS: &[(u16, &str, u8, u8)] = &[
    (0, "COUNT", 0, 30),
    (1, "IF", 2, 3),
    (2, "ISNA", 1, 1),
    (3, "ISERROR", 1, 1),
    (4, "SUM", 0, 30),
    (5, "AVERAGE", 1, 30),
    (6, "MIN", 1, 30),
    (7, "MAX", 1, 30),
    (8, "ROW", 0, 1),
    (9, "COLUMN", 0, 1),
    (10, "NA", 0, 0),
    (12, "STDEV", 1, 30),
    (19, "PI", 0, 0),
    (20, "SQRT", 1, 1),
    (21, "EXP", 1, 1),
    (22, "LN", 1, 1),
    (23, "LOG10", 1, 1),
    (24, "ABS", 1, 1),
    (25, "INT", 1, 1),
    (26, "SIGN", 1, 1),
    (27, "ROUND", 2, 2),
    (28, "LOOKUP", 2, 3),
    (29, "INDEX", 2, 4),
    (30, "REPT", 2, 2),
    (31, "MID", 3, 3),
    (32, "LEN", 1, 1),
    (33, "VALUE", 1, 1),
    (34, "TRUE", 0, 0),
    (35, "FALSE", 0, 0),
    (36, "AND", 1, 30),
    (37, "OR", 1, 30),
    (38, "NOT", 1, 1),
    (39, "MOD", 2, 2),
    (46, "VAR", 1, 30),
    (48, "TEXT", 2, 2),
    (64, "MATCH", 2, 3),
    (65, "DATE", 3, 3),
    (66, "TIME", 3, 3),
    (67, "DAY", 1, 1),
    (68, "MONTH", 1, 1),
    (69, "YEAR", 1, 1),
    (70, "WEEKDAY", 1, 2),
    (71, "HOUR", 1, 1),
    (72, "MINUTE", 1, 1),
    (73, "SECOND", 1, 1),
    (74, "NOW", 0, 0),
    (76, "ROWS", 1, 1),
    (77, "COLUMNS", 1, 1),
    (82, "SEARCH", 2, 3),
    (100, "CHOOSE", 2, 30),
    (101, "HLOOKUP", 3, 4),
    (102, "VLOOKUP", 3, 4),
    (109, "LOG", 1, 2),
    (111, "CHAR", 1, 1),
    (112, "LOWER", 1, 1),
    (113, "UPPER", 1, 1),
    (114, "PROPER", 1, 1),
    (115, "LEFT", 1, 2),
    (116, "RIGHT", 1, 2),
    (117, "EXACT", 2, 2),
    (118, "TRIM", 1, 1),
    (119, "REPLACE", 4, 4),
    (120, "SUBSTITUTE", 3, 4),
    (124, "FIND", 2, 3),
    (126, "ISERR", 1, 1),
    (127, "ISTEXT", 1, 1),
    (128, "ISNUMBER", 1, 1),
    (129, "ISBLANK", 1, 1),
    (130, "T", 1, 1),
    (131, "N", 1, 1),
    (140, "DATEVALUE", 1, 1),
    (169, "COUNTA", 0, 30),
    (183, "PRODUCT", 0, 30),
    (190, "ISNONTEXT", 1, 1),
    (197, "TRUNC", 1, 2),
    (198, "ISLOGICAL", 1, 1),
    (212, "ROUNDUP", 2, 2),
    (213, "ROUNDDOWN", 2, 2),
    (216, "RANK", 2, 3),
    (220, "DAYS360", 2, 3),
    (221, "TODAY", 0, 0),
    (227, "MEDIAN", 1, 30),
    (228, "SUMPRODUCT", 1, 30),
    (285, "FLOOR", 2, 2),
    (288, "CEILING", 2, 2),
    (321, "SUMSQ", 0, 30),
    (325, "LARGE", 2, 2),
    (326, "SMALL", 2, 2),
    (336, "CONCATENATE", 0, 30),
    (337, "POWER", 2, 2),
    (344, "SUBTOTAL", 2, 30),
    (345, "SUMIF", 2, 3),
    (346, "COUNTIF", 2, 2),
    (347, "COUNTBLANK", 1, 1),
];

fn function(index: u16) -> Option<(&'static str, u8, u8)> {
    FUNCTIONS
        .binary_search_by_key(&index, |f| f.0)
        .ok()
        .map(|i| (FUNCTIONS[i].1, FUNCTIONS[i].2, FUNCTIONS[i].3))
}

/// Reads a token stream front to back; every read is checked.
struct Tokens<'a> {
    d: &'a [u8],
    at: usize,
}

impl<'a> Tokens<'a> {
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let b = self.d.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(b)
    }
    fn u8(&mut self) -> Option<u8> {
        self.bytes(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.bytes(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }
}

/// The text of a shared formula's tokens (`rgce`) for the cell at `row`,
/// `col` (zero-based): `None` for any token not rendered here, a stack that
/// does not come out as one expression, or a text longer than Excel allows.
pub fn render(rgce: &[u8], row: u16, col: u16) -> Option<String> {
    let base = (row as i32, col as i32);
    let mut t = Tokens { d: rgce, at: 0 };
    let mut stack: Vec<String> = Vec::new();
    while let Some(ptg) = t.u8() {
        let pushed = match ptg {
            0x03..=0x0E | 0x11 => {
                let b = stack.pop()?;
                let a = stack.pop()?;
                let op = match ptg {
                    0x03 => "+",
                    0x04 => "-",
                    0x05 => "*",
                    0x06 => "/",
                    0x07 => "^",
                    0x08 => "&",
                    0x09 => "<",
                    0x0A => "<=",
                    0x0B => "=",
                    0x0C => ">=",
                    0x0D => ">",
                    0x0E => "<>",
                    _ => ":",
                };
                format!("{a}{op}{b}")
            }
            0x12 => format!("+{}", stack.pop()?),
            0x13 => format!("-{}", stack.pop()?),
            0x14 => format!("{}%", stack.pop()?),
            0x15 => format!("({})", stack.pop()?),
            0x16 => String::new(),
            0x17 => {
                let cch = t.u8()? as usize;
                let text = match t.u8()? {
                    0 => t.bytes(cch)?.iter().map(|&b| b as char).collect::<String>(),
                    1 => {
                        let units: Vec<u16> = t
                            .bytes(cch * 2)?
                            .chunks_exact(2)
                            .map(|c| u16::from_le_bytes([c[0], c[1]]))
                            .collect();
                        String::from_utf16(&units).ok()?
                    }
                    _ => return None,
                };
                format!("\"{}\"", text.replace('"', "\"\""))
            }
            0x19 => {
                let kind = t.u8()?;
                let data = t.u16()?;
                match kind {
                    // Volatile, IF and GOTO jumps, spaces: nothing to render.
                    0x01 | 0x02 | 0x08 | 0x40 | 0x41 => continue,
                    // CHOOSE's jump table: `data + 1` offsets.
                    0x04 => {
                        t.bytes((data as usize + 1) * 2)?;
                        continue;
                    }
                    // SUM of one argument (the Σ button).
                    0x10 => format!("SUM({})", stack.pop()?),
                    _ => return None,
                }
            }
            0x1C => match t.u8()? {
                0x00 => "#NULL!",
                0x07 => "#DIV/0!",
                0x0F => "#VALUE!",
                0x17 => "#REF!",
                0x1D => "#NAME?",
                0x24 => "#NUM!",
                0x2A => "#N/A",
                _ => return None,
            }
            .to_string(),
            0x1D => if t.u8()? == 0 { "FALSE" } else { "TRUE" }.to_string(),
            0x1E => t.u16()?.to_string(),
            0x1F => {
                let b: [u8; 8] = t.bytes(8)?.try_into().ok()?;
                let n = f64::from_le_bytes(b);
                if !n.is_finite() {
                    return None;
                }
                n.to_string()
            }
            0x21 | 0x41 | 0x61 => {
                let (name, least, most) = function(t.u16()?)?;
                if least != most {
                    return None;
                }
                call(&mut stack, name, least as usize)?
            }
            0x22 | 0x42 | 0x62 => {
                let argc = t.u8()? & 0x7F;
                let index = t.u16()?;
                // 0x8000: a command-equivalent function, not a worksheet one.
                if index & 0x8000 != 0 {
                    return None;
                }
                let (name, least, most) = function(index)?;
                if !(least..=most).contains(&argc) {
                    return None;
                }
                call(&mut stack, name, argc as usize)?
            }
            // A reference or an area in absolute coordinates: in a shared
            // formula only a wholly absolute one is unambiguous.
            0x24 | 0x44 | 0x64 => {
                let (rw, cw) = (t.u16()?, t.u16()?);
                if cw & 0xC000 != 0 {
                    return None;
                }
                cell(locate(rw, cw, None)?)
            }
            0x25 | 0x45 | 0x65 => {
                let (r1, r2, c1, c2) = (t.u16()?, t.u16()?, t.u16()?, t.u16()?);
                if (c1 | c2) & 0xC000 != 0 {
                    return None;
                }
                area(locate(r1, c1, None)?, locate(r2, c2, None)?)?
            }
            0x2A | 0x4A | 0x6A => {
                t.bytes(4)?;
                "#REF!".to_string()
            }
            0x2B | 0x4B | 0x6B => {
                t.bytes(8)?;
                "#REF!".to_string()
            }
            // Relative to the cell: `PtgRefN`, `PtgAreaN`.
            0x2C | 0x4C | 0x6C => {
                let (rw, cw) = (t.u16()?, t.u16()?);
                cell(locate(rw, cw, Some(base))?)
            }
            0x2D | 0x4D | 0x6D => {
                let (r1, r2, c1, c2) = (t.u16()?, t.u16()?, t.u16()?, t.u16()?);
                area(locate(r1, c1, Some(base))?, locate(r2, c2, Some(base))?)?
            }
            _ => return None,
        };
        if pushed.len() > MAX_TEXT {
            return None;
        }
        stack.push(pushed);
    }
    match <[String; 1]>::try_from(stack) {
        Ok([text]) if !text.is_empty() => Some(text),
        _ => None,
    }
}

/// `NAME(a,b)` from the last `argc` operands.
fn call(stack: &mut Vec<String>, name: &str, argc: usize) -> Option<String> {
    let args = stack.split_off(stack.len().checked_sub(argc)?);
    Some(format!("{name}({})", args.join(",")))
}

/// A position of a reference: zero-based row and column, and whether each is
/// relative (written without `$`).
#[derive(Clone, Copy)]
struct Loc {
    row: i32,
    col: i32,
    row_rel: bool,
    col_rel: bool,
}

/// A BIFF8 row word and column word (14 bits of column, bit 14 = column
/// relative, bit 15 = row relative). With a `base` cell (`PtgRefN`), a relative
/// row is a signed offset from it, a relative column a signed 8-bit one;
/// without, the coordinates are the cell's own. Off the sheet: `None`.
fn locate(rw: u16, cw: u16, base: Option<(i32, i32)>) -> Option<Loc> {
    let row_rel = cw & 0x8000 != 0;
    let col_rel = cw & 0x4000 != 0;
    let (row, col) = match base {
        Some((r, c)) => (
            if row_rel { r + rw as i16 as i32 } else { rw as i32 },
            if col_rel {
                c + (cw & 0xFF) as u8 as i8 as i32
            } else {
                (cw & 0x3FFF) as i32
            },
        ),
        None => (rw as i32, (cw & 0x3FFF) as i32),
    };
    ((0..ROWS).contains(&row) && (0..COLUMNS).contains(&col)).then_some(Loc {
        row,
        col,
        row_rel,
        col_rel,
    })
}

fn column(col: i32, rel: bool, out: &mut String) {
    if !rel {
        out.push('$');
    }
    out.push_str(&column_letters(col as u32));
}

fn row_text(row: i32, rel: bool, out: &mut String) {
    if !rel {
        out.push('$');
    }
    out.push_str(&(row + 1).to_string());
}

fn cell(l: Loc) -> String {
    let mut s = String::new();
    column(l.col, l.col_rel, &mut s);
    row_text(l.row, l.row_rel, &mut s);
    s
}

/// `A1:B2`; every row of BIFF8 (`A1:A65536`) is the whole column (`A:A`) and
/// every column the whole row (`1:1`), as Excel converts them. A reversed area
/// is not rendered.
fn area(a: Loc, b: Loc) -> Option<String> {
    if a.row > b.row || a.col > b.col {
        return None;
    }
    let mut s = String::new();
    if a.row == 0 && b.row == ROWS - 1 {
        column(a.col, a.col_rel, &mut s);
        s.push(':');
        column(b.col, b.col_rel, &mut s);
    } else if a.col == 0 && b.col == COLUMNS - 1 {
        row_text(a.row, a.row_rel, &mut s);
        s.push(':');
        row_text(b.row, b.row_rel, &mut s);
    } else {
        s.push_str(&cell(a));
        s.push(':');
        s.push_str(&cell(b));
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Tokens, hand-built.
    const ADD: u8 = 0x03;

    /// `PtgRefN`: a row and a column offset (both relative).
    fn ref_n(dr: i16, dc: i8) -> Vec<u8> {
        let mut v = vec![0x4C];
        v.extend((dr as u16).to_le_bytes());
        v.extend((0xC000 | (dc as u8 as u16)).to_le_bytes());
        v
    }

    /// `PtgAreaN`, relative rows `r1..r2` and columns `c1..c2`.
    fn area_n(r1: i16, r2: i16, c1: i8, c2: i8) -> Vec<u8> {
        let mut v = vec![0x2D];
        v.extend((r1 as u16).to_le_bytes());
        v.extend((r2 as u16).to_le_bytes());
        v.extend((0xC000 | (c1 as u8 as u16)).to_le_bytes());
        v.extend((0xC000 | (c2 as u8 as u16)).to_le_bytes());
        v
    }

    /// A reference's row and column words with explicit flags.
    fn ref_raw(ptg: u8, rw: u16, cw: u16) -> Vec<u8> {
        let mut v = vec![ptg];
        v.extend(rw.to_le_bytes());
        v.extend(cw.to_le_bytes());
        v
    }

    fn func_var(argc: u8, index: u16) -> Vec<u8> {
        let mut v = vec![0x42, argc];
        v.extend(index.to_le_bytes());
        v
    }

    fn func(index: u16) -> Vec<u8> {
        let mut v = vec![0x41];
        v.extend(index.to_le_bytes());
        v
    }

    fn int(n: u16) -> Vec<u8> {
        let mut v = vec![0x1E];
        v.extend(n.to_le_bytes());
        v
    }

    fn attr(kind: u8, data: u16) -> Vec<u8> {
        let mut v = vec![0x19, kind];
        v.extend(data.to_le_bytes());
        v
    }

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    /// `=A2+B2` filled down from C2: offsets (0, -2) and (0, -1).
    fn a_plus_b() -> Vec<u8> {
        cat(&[&ref_n(0, -2), &ref_n(0, -1), &[ADD]])
    }

    #[test]
    fn relative_references_are_resolved_per_cell() {
        let f = a_plus_b();
        assert_eq!(render(&f, 1, 2).as_deref(), Some("A2+B2"));
        assert_eq!(render(&f, 4, 2).as_deref(), Some("A5+B5"));
        // Filled right along row 6: SUM of the four rows above, column by column.
        let sum = cat(&[&area_n(-4, -1, 0, 0), &func_var(1, 4)]);
        assert_eq!(render(&sum, 5, 1).as_deref(), Some("SUM(B2:B5)"));
        assert_eq!(render(&sum, 5, 3).as_deref(), Some("SUM(D2:D5)"));
        // The Σ button: tAttrSum over a row.
        let sigma = cat(&[&area_n(0, 0, -4, -1), &attr(0x10, 0)]);
        assert_eq!(render(&sigma, 3, 5).as_deref(), Some("SUM(B4:E4)"));
    }

    #[test]
    fn absolute_and_mixed_references() {
        // $B$7*F2: the absolute part of a PtgRefN is the position itself.
        let f = cat(&[&ref_raw(0x2C, 6, 1), &ref_n(0, -1), &[0x05]]);
        assert_eq!(render(&f, 1, 6).as_deref(), Some("$B$7*F2"));
        assert_eq!(render(&f, 4, 6).as_deref(), Some("$B$7*F5"));
        // $A2 (column absolute, row relative) and B$1 (row absolute).
        let mixed = cat(&[&ref_raw(0x2C, 0, 0x8000), &ref_raw(0x2C, 0, 0x4000 | 0xFF), &[0x05]]);
        assert_eq!(render(&mixed, 1, 2).as_deref(), Some("$A2*B$1"));
        // A wholly absolute PtgRef / PtgArea is accepted, a relative one is not
        // (its base would be ambiguous in a shared formula).
        assert_eq!(render(&ref_raw(0x24, 2, 2), 0, 0).as_deref(), Some("$C$3"));
        assert_eq!(render(&ref_raw(0x24, 2, 0xC002), 0, 0), None);
        let mut whole = vec![0x25];
        for w in [0u16, 0xFFFF, 1, 1] {
            whole.extend(w.to_le_bytes());
        }
        assert_eq!(
            render(&cat(&[&whole, &func_var(1, 4)]), 0, 0).as_deref(),
            Some("SUM($B:$B)")
        );
    }

    #[test]
    fn operators_constants_and_functions() {
        // ROUND(-F2/3,2)+MAX(B2,C2)%
        let f = cat(&[
            &ref_n(0, -4),
            &[0x13],
            &int(3),
            &[0x06],
            &int(2),
            &func(27),
            &ref_n(0, -8),
            &ref_n(0, -7),
            &func_var(2, 7),
            &[0x14, 0x03],
        ]);
        assert_eq!(render(&f, 1, 9).as_deref(), Some("ROUND(-F2/3,2)+MAX(B2,C2)%"));
        // IF(F2>=5000,"a""b",(1.5<>TRUE)) with its jumps and a space.
        let mut num = vec![0x1F];
        num.extend(1.5f64.to_le_bytes());
        let with_text = |cch: u8| {
            let mut s = vec![0x17, cch, 0];
            s.extend(b"a\"b");
            cat(&[
                &ref_n(0, -1),
                &int(5000),
                &[0x0C],
                &attr(0x02, 7),
                &s,
                &attr(0x08, 3),
                &attr(0x40, 0x0100),
                &num,
                &[0x1D, 1, 0x0E, 0x15],
                &attr(0x08, 3),
                &func_var(3, 1),
            ])
        };
        assert_eq!(
            render(&with_text(3), 1, 6).as_deref(),
            Some("IF(F2>=5000,\"a\"\"b\",(1.5<>TRUE))")
        );
        assert_eq!(
            render(&with_text(4), 1, 6),
            None,
            "a string running into the next token"
        );
        assert_eq!(render(&with_text(200), 1, 6), None, "a string running past the end");
        // UTF-16 text, an error constant, a missing argument, no-argument calls.
        let mut u = vec![0x17, 2, 1];
        for c in "é€".encode_utf16() {
            u.extend(c.to_le_bytes());
        }
        let f = cat(&[&u, &[0x16], &[0x1C, 0x07], &func_var(3, 1), &func(221), &[0x08]]);
        assert_eq!(render(&f, 0, 0).as_deref(), Some("IF(\"é€\",,#DIV/0!)&TODAY()"));
        // CHOOSE's jump table is skipped.
        let f = cat(&[
            &int(2),
            &attr(0x04, 1),
            &[0, 0, 0, 0],
            &int(7),
            &int(8),
            &func_var(3, 100),
        ]);
        assert_eq!(render(&f, 0, 0).as_deref(), Some("CHOOSE(2,7,8)"));
    }

    #[test]
    fn what_is_not_known_gives_no_formula() {
        // A function outside the table (STDEVP), a fixed call of a variable one,
        // an argument count outside its arity, a command-equivalent function.
        assert_eq!(render(&cat(&[&ref_n(0, -1), &func_var(1, 193)]), 1, 1), None);
        assert_eq!(render(&cat(&[&ref_n(0, -1), &func(4)]), 1, 1), None);
        assert_eq!(render(&cat(&[&ref_n(0, -1), &func_var(4, 1)]), 1, 1), None);
        assert_eq!(render(&cat(&[&ref_n(0, -1), &func_var(1, 0x8004)]), 1, 1), None);
        // Names, 3D references, array constants, intersections, unions.
        for ptg in [0x23u8, 0x3A, 0x3B, 0x20, 0x39, 0x01, 0x02] {
            let f = cat(&[&[ptg], &[0u8; 12]]);
            assert_eq!(render(&f, 1, 1), None, "ptg {ptg:#x}");
        }
        assert_eq!(render(&cat(&[&a_plus_b()[..5], &a_plus_b()[..5], &[0x0F]]), 1, 2), None);
        // A stack that is not one expression; nothing at all.
        assert_eq!(render(&[ADD], 0, 0), None);
        assert_eq!(render(&cat(&[&int(1), &int(2)]), 0, 0), None);
        assert_eq!(render(&[], 0, 0), None);
        // A reference off the sheet (above row 1, left of A) is not wrapped.
        assert_eq!(render(&ref_n(-1, 0), 0, 0), None);
        assert_eq!(render(&ref_n(0, -3), 0, 2), None);
        assert_eq!(render(&ref_n(1, 0), 65_535, 0), None);
        // A non-finite number, an unknown error code, an unknown attribute.
        let mut nan = vec![0x1F];
        nan.extend(f64::NAN.to_le_bytes());
        assert_eq!(render(&nan, 0, 0), None);
        assert_eq!(render(&[0x1C, 0x99], 0, 0), None);
        assert_eq!(render(&cat(&[&int(1), &attr(0x80, 0)]), 0, 0), None);
    }

    #[test]
    fn every_truncation_gives_none_or_a_prefix_formula_without_panic() {
        let f = cat(&[
            &ref_n(0, -4),
            &int(3),
            &[0x06],
            &int(2),
            &func(27),
            &area_n(0, 0, -3, -1),
            &attr(0x10, 0),
            &[0x03],
        ]);
        assert_eq!(render(&f, 1, 5).as_deref(), Some("ROUND(B2/3,2)+SUM(C2:E2)"));
        for len in 0..f.len() {
            let _ = render(&f[..len], 1, 5);
        }
    }

    proptest! {
        #[test]
        fn random_tokens_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200), row: u16, col: u8) {
            if let Some(text) = render(&bytes, row, col as u16) {
                prop_assert!(!text.is_empty() && text.len() <= MAX_TEXT);
            }
        }

        #[test]
        fn random_streams_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = read_stream(&bytes, &Limits::default());
        }
    }

    // Records, hand-built: a workbook stream with one sheet.

    const BOF: u16 = 0x0809;
    const EOF: u16 = 0x000A;
    const BOUNDSHEET: u16 = 0x0085;

    fn record(kind: u16, body: &[u8]) -> Vec<u8> {
        let mut r = kind.to_le_bytes().to_vec();
        r.extend((body.len() as u16).to_le_bytes());
        r.extend(body);
        r
    }

    /// A `FORMULA` record of `(row, col)` with these tokens.
    fn formula(row: u16, col: u16, rgce: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        for v in [row, col, 0] {
            b.extend(v.to_le_bytes());
        }
        b.extend([0u8; 8]);
        b.extend([0x08, 0]);
        b.extend([0u8; 4]);
        b.extend((rgce.len() as u16).to_le_bytes());
        b.extend(rgce);
        record(FORMULA, &b)
    }

    fn exp(row: u16, col: u16) -> Vec<u8> {
        let mut v = vec![0x01];
        v.extend(row.to_le_bytes());
        v.extend(col.to_le_bytes());
        v
    }

    /// A `SHRFMLA` over rows `r1..=r2`, columns `c1..=c2`.
    fn shrfmla(r1: u16, r2: u16, c1: u8, c2: u8, rgce: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(r1.to_le_bytes());
        b.extend(r2.to_le_bytes());
        b.extend([c1, c2, 0, 4]);
        b.extend((rgce.len() as u16).to_le_bytes());
        b.extend(rgce);
        record(SHRFMLA, &b)
    }

    fn stream(sheet: &[Vec<u8>]) -> Vec<u8> {
        let mut g = record(BOF, &[0; 16]);
        let at = g.len() + 4;
        let mut b = vec![0u8; 4];
        b.extend([0, 0, 6, 0]);
        b.extend(b"Feuil1");
        g.extend(record(BOUNDSHEET, &b));
        g.extend(record(EOF, &[]));
        let offset = g.len() as u32;
        g[at..at + 4].copy_from_slice(&offset.to_le_bytes());
        g.extend(record(BOF, &[0; 16]));
        for r in sheet {
            g.extend(r);
        }
        g.extend(record(EOF, &[]));
        g
    }

    /// C2:C5 `=An+Bn` (down), B6:D6 `=SUM(B2:B5)`… (across), an array formula
    /// on E2:E3, a cell pointing nowhere, one outside its group's range.
    fn sheet() -> Vec<Vec<u8>> {
        let mut s = vec![formula(1, 2, &exp(1, 2)), shrfmla(1, 4, 2, 2, &a_plus_b())];
        for r in 2..=4 {
            s.push(formula(r, 2, &exp(1, 2)));
        }
        s.push(formula(5, 1, &exp(5, 1)));
        s.push(shrfmla(5, 5, 1, 3, &cat(&[&area_n(-4, -1, 0, 0), &func_var(1, 4)])));
        s.push(formula(5, 2, &exp(5, 1)));
        s.push(formula(5, 3, &exp(5, 1)));
        s.push(formula(1, 4, &exp(1, 4)));
        let mut array = vec![1, 0, 2, 0, 4, 4, 0, 0, 0, 0, 0, 0];
        let rgce = cat(&[&ref_raw(0x25, 1, 0xC000), &[0x15]]);
        array.extend((rgce.len() as u16).to_le_bytes());
        array.extend(&rgce);
        s.push(record(ARRAY, &array));
        s.push(formula(2, 4, &exp(1, 4)));
        s.push(formula(7, 7, &exp(30, 30)));
        s.push(formula(9, 2, &exp(1, 2)));
        s
    }

    fn found(data: &[u8], limits: &Limits) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = read_stream(data, limits)
            .remove("Feuil1")
            .unwrap_or_default()
            .into_iter()
            .map(|(c, f)| (c.to_string(), f))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn groups_down_and_across_arrays_and_stray_pointers() {
        let got = found(&stream(&sheet()), &Limits::default());
        let want: Vec<(String, String)> = [
            ("B6", "SUM(B2:B5)"),
            ("C2", "A2+B2"),
            ("C3", "A3+B3"),
            ("C4", "A4+B4"),
            ("C5", "A5+B5"),
            ("C6", "SUM(C2:C5)"),
            ("D6", "SUM(D2:D5)"),
        ]
        .iter()
        .map(|(c, f)| (c.to_string(), f.to_string()))
        .collect();
        assert_eq!(got, want, "no formula for the array, the stray and the outsider");
    }

    #[test]
    fn lying_records_and_limits() {
        // Two SHRFMLA records claim C2: neither is trusted.
        let mut s = sheet();
        s.insert(2, shrfmla(1, 4, 2, 2, &cat(&[&ref_n(0, -1)])));
        assert!(!found(&stream(&s), &Limits::default())
            .iter()
            .any(|(c, _)| c.starts_with('C') && c != "C6"));
        // A SHRFMLA whose tokens run past its record, or whose range is reversed.
        let mut s = sheet();
        let mut bad = shrfmla(1, 4, 2, 2, &a_plus_b());
        let n = bad.len();
        bad[12..14].copy_from_slice(&200u16.to_le_bytes());
        bad.truncate(n);
        s[1] = bad;
        assert!(!found(&stream(&s), &Limits::default()).iter().any(|(c, _)| c == "C2"));
        let mut s = sheet();
        s[1] = shrfmla(4, 1, 2, 2, &a_plus_b());
        assert!(!found(&stream(&s), &Limits::default()).iter().any(|(c, _)| c == "C2"));
        // The cell budget is the read limit's.
        let limits = Limits {
            max_cells: 2,
            ..Limits::default()
        };
        assert_eq!(found(&stream(&sheet()), &limits).len(), 2);
        let limits = Limits {
            max_sheets: 0,
            ..Limits::default()
        };
        assert!(found(&stream(&sheet()), &limits).is_empty());
        // Not a compound file.
        assert!(shared_formulas(b"not a workbook", &Limits::default()).is_empty());
    }

    #[test]
    fn truncated_and_garbled_streams_do_not_panic() {
        let data = stream(&sheet());
        for len in 0..data.len() {
            let _ = read_stream(&data[..len], &Limits::default());
        }
        let mut seed: u32 = 2026;
        for _ in 0..3000 {
            let mut copy = data.clone();
            for _ in 0..3 {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                let i = (seed as usize >> 8) % copy.len();
                copy[i] = (seed >> 24) as u8;
            }
            let _ = read_stream(&copy, &Limits::default());
        }
    }

    #[test]
    fn the_function_table_is_sorted_and_coherent() {
        assert!(FUNCTIONS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(FUNCTIONS.iter().all(|f| f.2 <= f.3 && f.3 <= 30));
    }
}
