//! Formulas of an `.xls` workbook (BIFF8), read from its records: the text of
//! every formula cell, shared formulas included (calamine skips those).
//!
//! A cell's `FORMULA` record (0x0006: `u16 row, u16 column, u16 xf, 8 bytes
//! value, u16 flags, u32`, then `u16 cce` and `cce` bytes of tokens, `rgce`)
//! holds its formula as tokens in reverse Polish order; [`render`] turns them
//! into Excel's syntax.
//!
//! When several neighbouring cells hold the same formula shifted (`=A2+B2`,
//! `=A3+B3`… down a column), Excel and LibreOffice write it once: each cell's
//! tokens are only a `PtgExp` (0x01, `u16 row, u16 column` of the group's first
//! cell), and a `SHRFMLA` record (0x04BC: `u16 first row, u16 last row, u8
//! first column, u8 last column, u8 reserved, u8 cUse`, then `u16 cce` and the
//! tokens) after the first cell's `FORMULA` carries the group's tokens. Their
//! references are relative to the cell that uses them (`PtgRefN`, `PtgAreaN`):
//! each cell's text is rendered with its own position.
//!
//! `ARRAY` (0x0221: the range, `u16 flags, u32`, then `u16 cce` and the tokens)
//! uses the same `PtgExp` for each cell of an array formula: it is returned
//! once, at its first cell, with its range ([`SheetFormulas::arrays`]) — never
//! as an ordinary formula in each cell, which would compute something else.
//! `TABLE` (0x0236, data tables) cells get no formula.
//!
//! References to other sheets (`PtgRef3d`, `PtgArea3d`) go through the
//! globals' `EXTERNSHEET` (0x0017: `u16 count`, then `u16 supbook, u16 first
//! sheet, u16 last sheet` each) to the workbook's own `SUPBOOK` (0x01AE, the
//! one marked `0x0401`): only a reference to one sheet of this workbook is
//! rendered (`'Feuille 2'!A1`).
//!
//! Functions newer than the BIFF8 table are stored as names (`NAME`, or an
//! add-in's `EXTERNNAME`) called through `PtgFuncVar` 255: those of
//! [`NAMED_FUNCTIONS`] (`IFERROR`, `SUMIFS`…) are rendered.
//!
//! The text is in Excel's syntax without the leading `=` (`A2+B2`,
//! `SUM(C4:G4)`), as calamine gives formulas. A token this reader does not know
//! (defined names used as references, array constants, other workbooks, other
//! add-in functions…) gives no formula for that cell — the cell keeps its
//! value — never a guessed one.
//! Every length and offset is checked: a hostile file gives fewer formulas,
//! never a panic. Work is bounded by [`Limits`]: the stream's size, the number
//! of sheets and of formula cells.

use std::collections::HashMap;

use super::numfmt::xls::{bound_sheets, records, sheet_records, string_at, u16_at, workbook_stream};
use super::Limits;
use crate::base::model::{column_letters, CellRef};

const BOF: u16 = 0x0809;
const EOF: u16 = 0x000A;
const FORMULA: u16 = 0x0006;
const SHRFMLA: u16 = 0x04BC;
const ARRAY: u16 = 0x0221;
const TABLE: u16 = 0x0236;
const EXTERNSHEET: u16 = 0x0017;
const SUPBOOK: u16 = 0x01AE;
const NAME: u16 = 0x0018;
const EXTERNNAME: u16 = 0x0023;

/// Functions newer than BIFF8's table, which an `.xls` stores as a name
/// (`NAME` or `EXTERNNAME`, Excel 2007's prefixed `_xlfn.`, the Analysis
/// ToolPak's not) called through `PtgFuncVar` 255, and which an `.xlsx`
/// writes without a prefix.
const NAMED_FUNCTIONS: &[&str] = &[
    "IFERROR",
    "SUMIFS",
    "COUNTIFS",
    "AVERAGEIF",
    "AVERAGEIFS",
    "EDATE",
    "EOMONTH",
    "NETWORKDAYS",
    "WORKDAY",
    "YEARFRAC",
    "WEEKNUM",
    "MROUND",
    "QUOTIENT",
    "ISEVEN",
    "ISODD",
];

/// Marks a function's name on the stack: no other operand starts with it.
const CALLED: char = '\0';

/// The BOF version of BIFF8 (Excel 97–2003).
const BIFF8: u16 = 0x0600;

/// Excel's own limit on a formula's text.
const MAX_TEXT: usize = 8_192;

/// The rows and columns of a BIFF8 sheet.
const ROWS: i32 = 65_536;
const COLUMNS: i32 = 256;

/// The formulas of one sheet (Excel's syntax, no leading `=`).
#[derive(Debug, Default, PartialEq)]
pub struct SheetFormulas {
    /// Each cell's own or shared formula.
    pub cells: HashMap<CellRef, String>,
    /// Array formulas (`{=…}`), by the first cell of their range: the last
    /// cell and the text.
    pub arrays: HashMap<CellRef, (CellRef, String)>,
}

/// Formulas by sheet name.
pub type Formulas = HashMap<String, SheetFormulas>;

/// The formulas of an `.xls` workbook's cells, by sheet name and cell. `None`
/// when it is not a BIFF8 workbook (older `.xls` are left to calamine).
pub fn formulas(bytes: &[u8], limits: &Limits) -> Option<Formulas> {
    read_stream(&workbook_stream(bytes, limits)?, limits)
}

/// What the globals tell formulas: for each `EXTERNSHEET` entry, the sheet of
/// this workbook it names (if one) and its `SUPBOOK`; each `SUPBOOK`'s
/// `EXTERNNAME`s; the `NAME`s, in order.
#[derive(Default)]
struct Globals {
    externs: Vec<(Option<String>, usize)>,
    extern_names: Vec<Vec<String>>,
    names: Vec<String>,
}

impl Globals {
    /// The function a `PtgName` (1-based `NAME`) calls, if it is one of
    /// [`NAMED_FUNCTIONS`].
    fn named_function(&self, index: u16) -> Option<&'static str> {
        function_named(self.names.get((index as usize).checked_sub(1)?)?)
    }

    /// The same for a `PtgNameX`: an `EXTERNSHEET` entry's `SUPBOOK`, then
    /// its 1-based `EXTERNNAME`.
    fn extern_function(&self, ixti: u16, index: u16) -> Option<&'static str> {
        let book = self.externs.get(ixti as usize)?.1;
        function_named(self.extern_names.get(book)?.get((index as usize).checked_sub(1)?)?)
    }
}

fn function_named(name: &str) -> Option<&'static str> {
    let bare = name.strip_prefix("_xlfn.").unwrap_or(name);
    NAMED_FUNCTIONS.iter().copied().find(|f| f.eq_ignore_ascii_case(bare))
}

fn globals(data: &[u8], sheets: &[(String, u32)]) -> Globals {
    let mut g = Globals::default();
    let mut own_books: Vec<bool> = Vec::new();
    let mut read_externs = false;
    for (kind, d) in records(data, 0) {
        match kind {
            // The workbook's own SUPBOOK: `u16 sheets, 0x01 0x04`.
            SUPBOOK => {
                own_books.push(d.len() == 4 && u16_at(d, 2) == Some(0x0401));
                g.extern_names.push(Vec::new());
            }
            // `u16 options`, 4 bytes, then a short string (`u8 cch`, flags, characters).
            EXTERNNAME => {
                if let Some(names) = g.extern_names.last_mut() {
                    let name = d.get(6).and_then(|&cch| string_at(d, 7, cch as usize));
                    names.push(name.unwrap_or_default());
                }
            }
            EXTERNSHEET if !read_externs => {
                read_externs = true;
                let count = u16_at(d, 0).unwrap_or(0) as usize;
                for i in 0..count {
                    let at = 2 + 6 * i;
                    let (Some(book), Some(first), Some(last)) = (u16_at(d, at), u16_at(d, at + 2), u16_at(d, at + 4))
                    else {
                        break;
                    };
                    let own = own_books.get(book as usize).copied().unwrap_or(false);
                    let sheet = (own && first == last)
                        .then(|| sheets.get(first as usize).map(|s| s.0.clone()))
                        .flatten();
                    g.externs.push((sheet, book as usize));
                }
            }
            // `u16 options, u8 key, u8 cch, u16 cce, u16, u16 itab, 4 bytes`,
            // then the name (flags, characters); a built-in name is one byte.
            NAME => {
                let builtin = u16_at(d, 0).is_none_or(|o| o & 0x0020 != 0);
                let name = d.get(3).and_then(|&cch| string_at(d, 14, cch as usize));
                g.names.push(if builtin {
                    String::new()
                } else {
                    name.unwrap_or_default()
                });
            }
            EOF => break,
            _ => {}
        }
    }
    g
}

fn read_stream(data: &[u8], limits: &Limits) -> Option<Formulas> {
    let version = records(data, 0)
        .next()
        .and_then(|(kind, d)| (kind == BOF).then(|| u16_at(d, 0)).flatten())?;
    if version != BIFF8 {
        return None;
    }
    let sheets = bound_sheets(data);
    let globals = globals(data, &sheets);
    let mut out = HashMap::new();
    let mut budget = limits.max_cells;
    for (name, offset) in sheets.into_iter().take(limits.max_sheets) {
        if budget == 0 {
            break;
        }
        let cells = sheet_formulas(data, offset as usize, &globals, &mut budget);
        if !cells.cells.is_empty() || !cells.arrays.is_empty() {
            out.insert(name, cells);
        }
    }
    Some(out)
}

/// What a `PtgExp` can point at.
enum Anchor<'a> {
    /// A `SHRFMLA` group (`array` false) or an `ARRAY` formula: its range and
    /// its tokens.
    Group {
        array: bool,
        rows: (u16, u16),
        cols: (u16, u16),
        rgce: &'a [u8],
    },
    /// A data table, a record whose tokens run past it or whose range is
    /// reversed, or two records claiming one anchor.
    Other,
}

fn sheet_formulas(data: &[u8], offset: usize, globals: &Globals, budget: &mut usize) -> SheetFormulas {
    let mut out = SheetFormulas::default();
    // Cells whose formula is a `PtgExp`: (row, column, anchor row, anchor column).
    let mut pointers: Vec<(u16, u16, u16, u16)> = Vec::new();
    let mut anchors: HashMap<(u16, u16), Anchor> = HashMap::new();
    for (kind, d) in sheet_records(data, offset) {
        match kind {
            FORMULA => {
                if *budget == 0 {
                    break;
                }
                *budget -= 1;
                let (Some(row), Some(col), Some(rgce)) = (u16_at(d, 0), u16_at(d, 2), cell_tokens(d)) else {
                    continue;
                };
                if let [0x01, r0, r1, c0, c1] = rgce {
                    pointers.push((row, col, u16::from_le_bytes([*r0, *r1]), u16::from_le_bytes([*c0, *c1])));
                } else if let Some(text) = render(rgce, Origin::Cell, globals) {
                    out.cells.insert(CellRef::new(row as u32, col as u32), text);
                }
            }
            // `RefU`, then `u8 reserved, u8 cUse` (SHRFMLA) or `u16 flags, u32`
            // (ARRAY), then `u16 cce` and the tokens.
            SHRFMLA => {
                if let Some((at, anchor)) = group(d, false) {
                    add_anchor(&mut anchors, at, anchor);
                }
            }
            ARRAY => {
                if let Some((at, anchor)) = group(d, true) {
                    add_anchor(&mut anchors, at, anchor);
                }
            }
            TABLE => {
                if let (Some(row), Some(col)) = (u16_at(d, 0), d.get(4)) {
                    add_anchor(&mut anchors, (row, *col as u16), Anchor::Other);
                }
            }
            _ => {}
        }
    }
    for (row, col, ar, ac) in pointers {
        let Some(Anchor::Group {
            array,
            rows,
            cols,
            rgce,
        }) = anchors.get(&(ar, ac))
        else {
            continue;
        };
        // A cell outside the group's range: the file is not what it says.
        if !(rows.0..=rows.1).contains(&row) || !(cols.0..=cols.1).contains(&col) {
            continue;
        }
        let pos = CellRef::new(row as u32, col as u32);
        if !array {
            if let Some(text) = render(rgce, Origin::Shared { row, col }, globals) {
                out.cells.insert(pos, text);
            }
        } else if (row, col) == (ar, ac) {
            // An array formula is written once, at its first cell, over its range.
            if let Some(text) = render(rgce, Origin::Cell, globals) {
                let last = CellRef::new(rows.1 as u32, cols.1 as u32);
                out.arrays.insert(pos, (last, text));
            }
        }
    }
    out
}

/// Two records claiming the same first cell: neither is trusted.
fn add_anchor<'a>(anchors: &mut HashMap<(u16, u16), Anchor<'a>>, at: (u16, u16), anchor: Anchor<'a>) {
    anchors.entry(at).and_modify(|a| *a = Anchor::Other).or_insert(anchor);
}

/// The tokens of a `FORMULA` record.
fn cell_tokens(d: &[u8]) -> Option<&[u8]> {
    let cce = u16_at(d, 20)? as usize;
    d.get(22..22 + cce)
}

/// A `SHRFMLA` (`array` false) or `ARRAY` record: its first cell and the group.
fn group(d: &[u8], array: bool) -> Option<((u16, u16), Anchor<'_>)> {
    let (first_row, last_row) = (u16_at(d, 0)?, u16_at(d, 2)?);
    let (first_col, last_col) = (*d.get(4)? as u16, *d.get(5)? as u16);
    let at = (first_row, first_col);
    let tokens = if array { 12 } else { 8 };
    let rgce = u16_at(d, tokens).and_then(|cce| d.get(tokens + 2..tokens + 2 + cce as usize));
    match rgce {
        Some(rgce) if first_row <= last_row && first_col <= last_col => Some((
            at,
            Anchor::Group {
                array,
                rows: (first_row, last_row),
                cols: (first_col, last_col),
                rgce,
            },
        )),
        _ => Some((at, Anchor::Other)),
    }
}

/// The built-in functions of BIFF8: `(index in its function table, name,
/// least arguments, most arguments)`, sorted by index. A function of fixed
/// arity (`PtgFunc`) has both equal. From [MS-XLS] 2.5.198.17 (`Ftab`).
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
    (11, "NPV", 2, 30),
    (12, "STDEV", 1, 30),
    (13, "DOLLAR", 1, 2),
    (14, "FIXED", 2, 3),
    (15, "SIN", 1, 1),
    (16, "COS", 1, 1),
    (17, "TAN", 1, 1),
    (18, "ATAN", 1, 1),
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
    (40, "DCOUNT", 3, 3),
    (41, "DSUM", 3, 3),
    (42, "DAVERAGE", 3, 3),
    (43, "DMIN", 3, 3),
    (44, "DMAX", 3, 3),
    (45, "DSTDEV", 3, 3),
    (46, "VAR", 1, 30),
    (47, "DVAR", 3, 3),
    (48, "TEXT", 2, 2),
    (49, "LINEST", 1, 4),
    (50, "TREND", 1, 4),
    (51, "LOGEST", 1, 4),
    (52, "GROWTH", 1, 4),
    (56, "PV", 3, 5),
    (57, "FV", 3, 5),
    (58, "NPER", 3, 5),
    (59, "PMT", 3, 5),
    (60, "RATE", 3, 6),
    (61, "MIRR", 3, 3),
    (62, "IRR", 1, 2),
    (63, "RAND", 0, 0),
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
    (75, "AREAS", 1, 1),
    (76, "ROWS", 1, 1),
    (77, "COLUMNS", 1, 1),
    (78, "OFFSET", 3, 5),
    (82, "SEARCH", 2, 3),
    (83, "TRANSPOSE", 1, 1),
    (86, "TYPE", 1, 1),
    (92, "SERIESSUM", 4, 4),
    (97, "ATAN2", 2, 2),
    (98, "ASIN", 1, 1),
    (99, "ACOS", 1, 1),
    (100, "CHOOSE", 2, 30),
    (101, "HLOOKUP", 3, 4),
    (102, "VLOOKUP", 3, 4),
    (105, "ISREF", 1, 1),
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
    (121, "CODE", 1, 1),
    (124, "FIND", 2, 3),
    (125, "CELL", 1, 2),
    (126, "ISERR", 1, 1),
    (127, "ISTEXT", 1, 1),
    (128, "ISNUMBER", 1, 1),
    (129, "ISBLANK", 1, 1),
    (130, "T", 1, 1),
    (131, "N", 1, 1),
    (140, "DATEVALUE", 1, 1),
    (141, "TIMEVALUE", 1, 1),
    (142, "SLN", 3, 3),
    (143, "SYD", 4, 4),
    (144, "DDB", 4, 5),
    (148, "INDIRECT", 1, 2),
    (162, "CLEAN", 1, 1),
    (163, "MDETERM", 1, 1),
    (164, "MINVERSE", 1, 1),
    (165, "MMULT", 2, 2),
    (167, "IPMT", 4, 6),
    (168, "PPMT", 4, 6),
    (169, "COUNTA", 0, 30),
    (183, "PRODUCT", 0, 30),
    (184, "FACT", 1, 1),
    (189, "DPRODUCT", 3, 3),
    (190, "ISNONTEXT", 1, 1),
    (193, "STDEVP", 1, 30),
    (194, "VARP", 1, 30),
    (195, "DSTDEVP", 3, 3),
    (196, "DVARP", 3, 3),
    (197, "TRUNC", 1, 2),
    (198, "ISLOGICAL", 1, 1),
    (199, "DCOUNTA", 3, 3),
    (204, "USDOLLAR", 1, 2),
    (205, "FINDB", 2, 3),
    (206, "SEARCHB", 2, 3),
    (207, "REPLACEB", 4, 4),
    (208, "LEFTB", 1, 2),
    (209, "RIGHTB", 1, 2),
    (210, "MIDB", 3, 3),
    (211, "LENB", 1, 1),
    (212, "ROUNDUP", 2, 2),
    (213, "ROUNDDOWN", 2, 2),
    (214, "ASC", 1, 1),
    (215, "DBCS", 1, 1),
    (216, "RANK", 2, 3),
    (219, "ADDRESS", 2, 5),
    (220, "DAYS360", 2, 3),
    (221, "TODAY", 0, 0),
    (222, "VDB", 5, 7),
    (227, "MEDIAN", 1, 30),
    (228, "SUMPRODUCT", 1, 30),
    (229, "SINH", 1, 1),
    (230, "COSH", 1, 1),
    (231, "TANH", 1, 1),
    (232, "ASINH", 1, 1),
    (233, "ACOSH", 1, 1),
    (234, "ATANH", 1, 1),
    (235, "DGET", 3, 3),
    (244, "INFO", 1, 1),
    (247, "DB", 4, 5),
    (252, "FREQUENCY", 2, 2),
    (261, "ERROR.TYPE", 1, 1),
    (269, "AVEDEV", 1, 30),
    (270, "BETADIST", 3, 5),
    (271, "GAMMALN", 1, 1),
    (272, "BETAINV", 3, 5),
    (273, "BINOMDIST", 4, 4),
    (274, "CHIDIST", 2, 2),
    (275, "CHIINV", 2, 2),
    (276, "COMBIN", 2, 2),
    (277, "CONFIDENCE", 3, 3),
    (278, "CRITBINOM", 3, 3),
    (279, "EVEN", 1, 1),
    (280, "EXPONDIST", 3, 3),
    (281, "FDIST", 3, 3),
    (282, "FINV", 3, 3),
    (283, "FISHER", 1, 1),
    (284, "FISHERINV", 1, 1),
    (285, "FLOOR", 2, 2),
    (286, "GAMMADIST", 4, 4),
    (287, "GAMMAINV", 3, 3),
    (288, "CEILING", 2, 2),
    (289, "HYPGEOMDIST", 4, 4),
    (290, "LOGNORMDIST", 3, 3),
    (291, "LOGINV", 3, 3),
    (292, "NEGBINOMDIST", 3, 3),
    (293, "NORMDIST", 4, 4),
    (294, "NORMSDIST", 1, 1),
    (295, "NORMINV", 3, 3),
    (296, "NORMSINV", 1, 1),
    (297, "STANDARDIZE", 3, 3),
    (298, "ODD", 1, 1),
    (299, "PERMUT", 2, 2),
    (300, "POISSON", 3, 3),
    (301, "TDIST", 3, 3),
    (302, "WEIBULL", 4, 4),
    (303, "SUMXMY2", 2, 2),
    (304, "SUMX2MY2", 2, 2),
    (305, "SUMX2PY2", 2, 2),
    (306, "CHITEST", 2, 2),
    (307, "CORREL", 2, 2),
    (308, "COVAR", 2, 2),
    (309, "FORECAST", 3, 3),
    (310, "FTEST", 2, 2),
    (311, "INTERCEPT", 2, 2),
    (312, "PEARSON", 2, 2),
    (313, "RSQ", 2, 2),
    (314, "STEYX", 2, 2),
    (315, "SLOPE", 2, 2),
    (316, "TTEST", 4, 4),
    (317, "PROB", 3, 4),
    (318, "DEVSQ", 1, 30),
    (319, "GEOMEAN", 1, 30),
    (320, "HARMEAN", 1, 30),
    (321, "SUMSQ", 0, 30),
    (322, "KURT", 1, 30),
    (323, "SKEW", 1, 30),
    (324, "ZTEST", 2, 3),
    (325, "LARGE", 2, 2),
    (326, "SMALL", 2, 2),
    (327, "QUARTILE", 2, 2),
    (328, "PERCENTILE", 2, 2),
    (329, "PERCENTRANK", 2, 3),
    (330, "MODE", 1, 30),
    (331, "TRIMMEAN", 2, 2),
    (332, "TINV", 2, 2),
    (336, "CONCATENATE", 0, 30),
    (337, "POWER", 2, 2),
    (342, "RADIANS", 1, 1),
    (343, "DEGREES", 1, 1),
    (344, "SUBTOTAL", 2, 30),
    (345, "SUMIF", 2, 3),
    (346, "COUNTIF", 2, 2),
    (347, "COUNTBLANK", 1, 1),
    (350, "ISPMT", 4, 4),
    (351, "DATEDIF", 3, 3),
    (352, "DATESTRING", 1, 1),
    (353, "NUMBERSTRING", 2, 2),
    (354, "ROMAN", 1, 2),
    (358, "GETPIVOTDATA", 2, 2),
    (359, "HYPERLINK", 1, 2),
    (360, "PHONETIC", 1, 1),
    (361, "AVERAGEA", 1, 30),
    (362, "MAXA", 1, 30),
    (363, "MINA", 1, 30),
    (364, "STDEVPA", 1, 30),
    (365, "VARPA", 1, 30),
    (366, "STDEVA", 1, 30),
    (367, "VARA", 1, 30),
    (368, "BAHTTEXT", 1, 1),
    (369, "THAIDAYOFWEEK", 1, 1),
    (370, "THAIDIGIT", 1, 1),
    (371, "THAIMONTHOFYEAR", 1, 1),
    (372, "THAINUMSOUND", 1, 1),
    (373, "THAINUMSTRING", 1, 1),
    (374, "THAISTRINGLENGTH", 1, 1),
    (375, "ISTHAIDIGIT", 1, 1),
    (376, "ROUNDBAHTDOWN", 1, 1),
    (377, "ROUNDBAHTUP", 1, 1),
    (378, "THAIYEAR", 1, 1),
    (379, "RTD", 2, 5),
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

/// Whose tokens are rendered.
#[derive(Clone, Copy)]
enum Origin {
    /// A cell's own formula: references are positions (`PtgRef`, `PtgArea`,
    /// 3D ones).
    Cell,
    /// A shared formula, for the cell at `row`, `col` (zero-based): references
    /// relative to it (`PtgRefN`, `PtgAreaN`); a `PtgRef` is only trusted
    /// wholly absolute, and other sheets are not expected.
    Shared { row: u16, col: u16 },
}

/// How tightly an operand binds, for parentheses: Excel's precedence, a
/// value, a call or a parenthesised expression binding most.
const ATOM: u8 = 10;
const RANGE: u8 = 9;
const NEGATION: u8 = 8;
const PERCENT: u8 = 7;

/// A binary operator's text and precedence (all are left-associative).
fn binary(ptg: u8) -> Option<(&'static str, u8)> {
    Some(match ptg {
        0x03 => ("+", 4),
        0x04 => ("-", 4),
        0x05 => ("*", 5),
        0x06 => ("/", 5),
        0x07 => ("^", 6),
        0x08 => ("&", 3),
        0x09 => ("<", 2),
        0x0A => ("<=", 2),
        0x0B => ("=", 2),
        0x0C => (">=", 2),
        0x0D => (">", 2),
        0x0E => ("<>", 2),
        0x11 => (":", RANGE),
        _ => return None,
    })
}

/// `text` as an operand of an operator binding `at`: in parentheses if it
/// binds less (Excel writes `PtgParen` for the submitter's own parentheses; a
/// writer that does not still gets the formula its tokens compute).
fn operand((text, prec): (String, u8), at: u8) -> String {
    if prec < at {
        format!("({text})")
    } else {
        text
    }
}

/// The text of formula tokens (`rgce`): `None` for any token not rendered
/// here, a stack that does not come out as one expression, or a text longer
/// than Excel allows.
fn render(rgce: &[u8], origin: Origin, globals: &Globals) -> Option<String> {
    let base = match origin {
        Origin::Shared { row, col } => Some((row as i32, col as i32)),
        Origin::Cell => None,
    };
    let mut t = Tokens { d: rgce, at: 0 };
    // Each operand's text and how tightly it binds.
    let mut stack: Vec<(String, u8)> = Vec::new();
    while let Some(ptg) = t.u8() {
        let pushed: (String, u8) = match ptg {
            0x03..=0x0E | 0x11 => {
                let (op, prec) = binary(ptg)?;
                let b = stack.pop()?;
                let a = stack.pop()?;
                // Left-associative: a right operand of the same precedence
                // was grouped first.
                let right = operand(b, prec + 1);
                (format!("{}{op}{right}", operand(a, prec)), prec)
            }
            0x12 => (format!("+{}", operand(stack.pop()?, NEGATION)), NEGATION),
            0x13 => (format!("-{}", operand(stack.pop()?, NEGATION)), NEGATION),
            0x14 => (format!("{}%", operand(stack.pop()?, PERCENT)), PERCENT),
            0x15 => (format!("({})", stack.pop()?.0), ATOM),
            0x16 => (String::new(), ATOM),
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
                (format!("\"{}\"", text.replace('"', "\"\"")), ATOM)
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
                    0x10 => (format!("SUM({})", stack.pop()?.0), ATOM),
                    _ => return None,
                }
            }
            0x1C => {
                let error = match t.u8()? {
                    0x00 => "#NULL!",
                    0x07 => "#DIV/0!",
                    0x0F => "#VALUE!",
                    0x17 => "#REF!",
                    0x1D => "#NAME?",
                    0x24 => "#NUM!",
                    0x2A => "#N/A",
                    _ => return None,
                };
                (error.to_string(), ATOM)
            }
            0x1D => (if t.u8()? == 0 { "FALSE" } else { "TRUE" }.to_string(), ATOM),
            0x1E => (t.u16()?.to_string(), ATOM),
            0x1F => {
                let b: [u8; 8] = t.bytes(8)?.try_into().ok()?;
                let n = f64::from_le_bytes(b);
                if !n.is_finite() {
                    return None;
                }
                // A negative constant reads like a negation.
                (n.to_string(), if n < 0.0 { NEGATION } else { ATOM })
            }
            0x21 | 0x41 | 0x61 => {
                let (name, least, most) = function(t.u16()?)?;
                if least != most {
                    return None;
                }
                (call(&mut stack, name, least as usize)?, ATOM)
            }
            0x22 | 0x42 | 0x62 => {
                let argc = t.u8()? & 0x7F;
                let index = t.u16()?;
                // A function called by name: the first operand is its name.
                if index == 0x00FF {
                    let mut args = stack.split_off(stack.len().checked_sub(argc as usize)?).into_iter();
                    let (first, _) = args.next()?;
                    let name = first.strip_prefix(CALLED).filter(|n| NAMED_FUNCTIONS.contains(n))?;
                    let args: Vec<String> = args.map(|a| a.0).collect();
                    if args.iter().any(|a| a.contains(CALLED)) {
                        return None;
                    }
                    (format!("{name}({})", args.join(",")), ATOM)
                } else {
                    // 0x8000: a command-equivalent function, not a worksheet one.
                    if index & 0x8000 != 0 {
                        return None;
                    }
                    let (name, least, most) = function(index)?;
                    // 30 is BIFF8's most for a variable count; Excel 2007 writes up to 255.
                    if argc < least || (argc > most && most < 30) {
                        return None;
                    }
                    (call(&mut stack, name, argc as usize)?, ATOM)
                }
            }
            // A name: only a function's (see NAMED_FUNCTIONS), to be called.
            0x23 | 0x43 | 0x63 => {
                let index = t.u16()?;
                t.bytes(2)?;
                (format!("{CALLED}{}", globals.named_function(index)?), ATOM)
            }
            0x39 | 0x59 | 0x79 => {
                let (ixti, index) = (t.u16()?, t.u16()?);
                t.bytes(2)?;
                (format!("{CALLED}{}", globals.extern_function(ixti, index)?), ATOM)
            }
            // A reference or an area by its position: in a shared formula
            // only a wholly absolute one is unambiguous.
            0x24 | 0x44 | 0x64 => {
                let (rw, cw) = (t.u16()?, t.u16()?);
                if base.is_some() && cw & 0xC000 != 0 {
                    return None;
                }
                (cell(locate(rw, cw, None)?), ATOM)
            }
            0x25 | 0x45 | 0x65 => {
                let (r1, r2, c1, c2) = (t.u16()?, t.u16()?, t.u16()?, t.u16()?);
                if base.is_some() && (c1 | c2) & 0xC000 != 0 {
                    return None;
                }
                (area(locate(r1, c1, None)?, locate(r2, c2, None)?)?, ATOM)
            }
            // Another sheet of this workbook, in a cell's own formula.
            0x3A | 0x5A | 0x7A => {
                let (ixti, rw, cw) = (t.u16()?, t.u16()?, t.u16()?);
                let sheet = other_sheet(globals, ixti, base)?;
                (format!("{sheet}{}", cell(locate(rw, cw, None)?)), ATOM)
            }
            0x3B | 0x5B | 0x7B => {
                let ixti = t.u16()?;
                let (r1, r2, c1, c2) = (t.u16()?, t.u16()?, t.u16()?, t.u16()?);
                let sheet = other_sheet(globals, ixti, base)?;
                let range = area(locate(r1, c1, None)?, locate(r2, c2, None)?)?;
                (format!("{sheet}{range}"), ATOM)
            }
            0x3C | 0x5C | 0x7C => {
                t.bytes(6)?;
                ("#REF!".to_string(), ATOM)
            }
            0x3D | 0x5D | 0x7D => {
                t.bytes(10)?;
                ("#REF!".to_string(), ATOM)
            }
            // The references they wrap follow as tokens: nothing to render.
            0x26 | 0x46 | 0x66 | 0x27 | 0x47 | 0x67 | 0x28 | 0x48 | 0x68 => {
                t.bytes(6)?;
                continue;
            }
            0x29 | 0x49 | 0x69 => {
                t.bytes(2)?;
                continue;
            }
            0x2A | 0x4A | 0x6A => {
                t.bytes(4)?;
                ("#REF!".to_string(), ATOM)
            }
            0x2B | 0x4B | 0x6B => {
                t.bytes(8)?;
                ("#REF!".to_string(), ATOM)
            }
            // Relative to the cell: `PtgRefN`, `PtgAreaN`.
            0x2C | 0x4C | 0x6C => {
                let (rw, cw) = (t.u16()?, t.u16()?);
                (cell(locate(rw, cw, Some(base?))?), ATOM)
            }
            0x2D | 0x4D | 0x6D => {
                let (r1, r2, c1, c2) = (t.u16()?, t.u16()?, t.u16()?, t.u16()?);
                (area(locate(r1, c1, Some(base?))?, locate(r2, c2, Some(base?))?)?, ATOM)
            }
            _ => return None,
        };
        if pushed.0.len() > MAX_TEXT {
            return None;
        }
        stack.push(pushed);
    }
    match <[(String, u8); 1]>::try_from(stack) {
        Ok([(text, _)]) if !text.is_empty() && !text.contains(CALLED) => Some(text),
        _ => None,
    }
}

/// `'Feuille 2'!` for an `EXTERNSHEET` entry naming one sheet of this
/// workbook, in a cell's own formula; quoted unless the name is plain letters.
fn other_sheet(globals: &Globals, ixti: u16, base: Option<(i32, i32)>) -> Option<String> {
    if base.is_some() {
        return None;
    }
    let name = globals.externs.get(ixti as usize)?.0.as_deref()?;
    // Not a sheet name Excel allows (`[` would read as another workbook).
    if name.chars().any(|c| c.is_control() || c == '[' || c == ']') {
        return None;
    }
    let plain = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphabetic() || c == '_');
    Some(if plain {
        format!("{name}!")
    } else {
        format!("'{}'!", name.replace('\'', "''"))
    })
}

/// `NAME(a,b)` from the last `argc` operands.
fn call(stack: &mut Vec<(String, u8)>, name: &str, argc: usize) -> Option<String> {
    let args = stack.split_off(stack.len().checked_sub(argc)?);
    let args: Vec<String> = args.into_iter().map(|a| a.0).collect();
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

    /// A shared formula's text for the cell at `row`, `col`.
    fn at(rgce: &[u8], row: u16, col: u16) -> Option<String> {
        render(rgce, Origin::Shared { row, col }, &Globals::default())
    }

    /// A cell's own formula, with `Feuil1` and `Feuille 2` as the workbook's
    /// sheets (EXTERNSHEET entries 0 and 1) and an other workbook's (2).
    fn own(rgce: &[u8]) -> Option<String> {
        let globals = Globals {
            externs: vec![(Some("Feuil1".into()), 0), (Some("Feuille d'été".into()), 0), (None, 1)],
            extern_names: vec![Vec::new(), vec!["EOMONTH".into(), "_xlfn.IFS".into()]],
            names: vec!["Taux".into(), "_xlfn.IFERROR".into(), "_xlfn.STDEV.P".into()],
        };
        render(rgce, Origin::Cell, &globals)
    }

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
        assert_eq!(at(&f, 1, 2).as_deref(), Some("A2+B2"));
        assert_eq!(at(&f, 4, 2).as_deref(), Some("A5+B5"));
        // Filled right along row 6: SUM of the four rows above, column by column.
        let sum = cat(&[&area_n(-4, -1, 0, 0), &func_var(1, 4)]);
        assert_eq!(at(&sum, 5, 1).as_deref(), Some("SUM(B2:B5)"));
        assert_eq!(at(&sum, 5, 3).as_deref(), Some("SUM(D2:D5)"));
        // The Σ button: tAttrSum over a row.
        let sigma = cat(&[&area_n(0, 0, -4, -1), &attr(0x10, 0)]);
        assert_eq!(at(&sigma, 3, 5).as_deref(), Some("SUM(B4:E4)"));
    }

    #[test]
    fn absolute_and_mixed_references() {
        // $B$7*F2: the absolute part of a PtgRefN is the position itself.
        let f = cat(&[&ref_raw(0x2C, 6, 1), &ref_n(0, -1), &[0x05]]);
        assert_eq!(at(&f, 1, 6).as_deref(), Some("$B$7*F2"));
        assert_eq!(at(&f, 4, 6).as_deref(), Some("$B$7*F5"));
        // $A2 (column absolute, row relative) and B$1 (row absolute).
        let mixed = cat(&[&ref_raw(0x2C, 0, 0x8000), &ref_raw(0x2C, 0, 0x4000 | 0xFF), &[0x05]]);
        assert_eq!(at(&mixed, 1, 2).as_deref(), Some("$A2*B$1"));
        // A wholly absolute PtgRef / PtgArea is accepted, a relative one is not
        // (its base would be ambiguous in a shared formula).
        assert_eq!(at(&ref_raw(0x24, 2, 2), 0, 0).as_deref(), Some("$C$3"));
        assert_eq!(at(&ref_raw(0x24, 2, 0xC002), 0, 0), None);
        let mut whole = vec![0x25];
        for w in [0u16, 0xFFFF, 1, 1] {
            whole.extend(w.to_le_bytes());
        }
        assert_eq!(
            at(&cat(&[&whole, &func_var(1, 4)]), 0, 0).as_deref(),
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
        assert_eq!(at(&f, 1, 9).as_deref(), Some("ROUND(-F2/3,2)+MAX(B2,C2)%"));
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
            at(&with_text(3), 1, 6).as_deref(),
            Some("IF(F2>=5000,\"a\"\"b\",(1.5<>TRUE))")
        );
        assert_eq!(at(&with_text(4), 1, 6), None, "a string running into the next token");
        assert_eq!(at(&with_text(200), 1, 6), None, "a string running past the end");
        // UTF-16 text, an error constant, a missing argument, no-argument calls.
        let mut u = vec![0x17, 2, 1];
        for c in "é€".encode_utf16() {
            u.extend(c.to_le_bytes());
        }
        let f = cat(&[&u, &[0x16], &[0x1C, 0x07], &func_var(3, 1), &func(221), &[0x08]]);
        assert_eq!(at(&f, 0, 0).as_deref(), Some("IF(\"é€\",,#DIV/0!)&TODAY()"));
        // CHOOSE's jump table is skipped.
        let f = cat(&[
            &int(2),
            &attr(0x04, 1),
            &[0, 0, 0, 0],
            &int(7),
            &int(8),
            &func_var(3, 100),
        ]);
        assert_eq!(at(&f, 0, 0).as_deref(), Some("CHOOSE(2,7,8)"));
    }

    #[test]
    fn parentheses_follow_the_tokens_even_without_ptgparen() {
        let (a, b, c) = (ref_n(0, -3), ref_n(0, -2), ref_n(0, -1));
        // (A2+B2)*2, A2-(B2-C2), -(A2+B2), (A2&B2)=C2: the order of the tokens.
        assert_eq!(
            at(&cat(&[&a, &b, &[0x03], &int(2), &[0x05]]), 1, 3).as_deref(),
            Some("(A2+B2)*2")
        );
        assert_eq!(
            at(&cat(&[&a, &b, &c, &[0x04, 0x04]]), 1, 3).as_deref(),
            Some("A2-(B2-C2)")
        );
        assert_eq!(
            at(&cat(&[&a, &b, &c, &[0x04], &[0x04]]), 1, 3).as_deref(),
            Some("A2-(B2-C2)")
        );
        assert_eq!(
            at(&cat(&[&a, &b, &[0x04], &c, &[0x04]]), 1, 3).as_deref(),
            Some("A2-B2-C2")
        );
        assert_eq!(at(&cat(&[&a, &b, &[0x03, 0x13]]), 1, 3).as_deref(), Some("-(A2+B2)"));
        assert_eq!(
            at(&cat(&[&a, &[0x13], &int(2), &[0x07]]), 1, 3).as_deref(),
            Some("-A2^2")
        );
        assert_eq!(
            at(&cat(&[&a, &int(2), &[0x07, 0x13]]), 1, 3).as_deref(),
            Some("-(A2^2)")
        );
        assert_eq!(
            at(&cat(&[&a, &b, &[0x08], &c, &[0x0B]]), 1, 3).as_deref(),
            Some("A2&B2=C2")
        );
        assert_eq!(
            at(&cat(&[&a, &b, &c, &[0x0B, 0x08]]), 1, 3).as_deref(),
            Some("A2&(B2=C2)")
        );
        // With Excel's own PtgParen, nothing is added.
        assert_eq!(
            at(&cat(&[&a, &b, &[0x03, 0x15], &int(2), &[0x05]]), 1, 3).as_deref(),
            Some("(A2+B2)*2")
        );
    }

    #[test]
    fn what_is_not_known_gives_no_formula() {
        // A function outside the table (an add-in's, 255; a macro command, 54), a fixed call of a variable one,
        // an argument count outside its arity, a command-equivalent function.
        assert_eq!(at(&cat(&[&ref_n(0, -1), &func_var(1, 255)]), 1, 1), None);
        assert_eq!(at(&cat(&[&ref_n(0, -1), &func_var(1, 54)]), 1, 1), None);
        assert_eq!(at(&cat(&[&ref_n(0, -1), &func(4)]), 1, 1), None);
        assert_eq!(at(&cat(&[&ref_n(0, -1), &func_var(4, 1)]), 1, 1), None);
        assert_eq!(at(&cat(&[&ref_n(0, -1), &func_var(1, 0x8004)]), 1, 1), None);
        // Names, 3D references, array constants, intersections, unions.
        for ptg in [0x23u8, 0x3A, 0x3B, 0x20, 0x39, 0x01, 0x02] {
            let f = cat(&[&[ptg], &[0u8; 12]]);
            assert_eq!(at(&f, 1, 1), None, "ptg {ptg:#x}");
        }
        assert_eq!(at(&cat(&[&a_plus_b()[..5], &a_plus_b()[..5], &[0x0F]]), 1, 2), None);
        // A stack that is not one expression; nothing at all.
        assert_eq!(at(&[ADD], 0, 0), None);
        assert_eq!(at(&cat(&[&int(1), &int(2)]), 0, 0), None);
        assert_eq!(at(&[], 0, 0), None);
        // A reference off the sheet (above row 1, left of A) is not wrapped.
        assert_eq!(at(&ref_n(-1, 0), 0, 0), None);
        assert_eq!(at(&ref_n(0, -3), 0, 2), None);
        assert_eq!(at(&ref_n(1, 0), 65_535, 0), None);
        // A non-finite number, an unknown error code, an unknown attribute.
        let mut nan = vec![0x1F];
        nan.extend(f64::NAN.to_le_bytes());
        assert_eq!(at(&nan, 0, 0), None);
        assert_eq!(at(&[0x1C, 0x99], 0, 0), None);
        assert_eq!(at(&cat(&[&int(1), &attr(0x80, 0)]), 0, 0), None);
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
        assert_eq!(at(&f, 1, 5).as_deref(), Some("ROUND(B2/3,2)+SUM(C2:E2)"));
        for len in 0..f.len() {
            let _ = at(&f[..len], 1, 5);
        }
    }

    proptest! {
        #[test]
        fn random_tokens_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200), row: u16, col: u8) {
            if let Some(text) = at(&bytes, row, col as u16) {
                prop_assert!(!text.is_empty() && text.len() <= MAX_TEXT);
            }
            // A cell's own formula, with sheets and names to point at.
            if let Some(text) = own(&bytes) {
                prop_assert!(!text.is_empty() && text.len() <= MAX_TEXT && !text.contains(CALLED));
            }
        }

        /// Valid tokens in random order: whatever comes out is one expression.
        #[test]
        fn shuffled_tokens_never_panic(picks in proptest::collection::vec(0usize..12, 0..40)) {
            let tokens: [Vec<u8>; 12] = [
                ref_n(0, -1),
                area_n(-2, -1, 0, 1),
                int(7),
                vec![0x03],
                vec![0x13],
                vec![0x15],
                func_var(2, 4),
                func(27),
                attr(0x10, 0),
                vec![0x23, 2, 0, 0, 0],
                func_var(2, 255),
                vec![0x3A, 1, 0, 0, 0, 0, 0xC0],
            ];
            let f: Vec<u8> = picks.iter().flat_map(|&i| tokens[i].clone()).collect();
            for text in [at(&f, 5, 5), own(&f)].into_iter().flatten() {
                prop_assert!(!text.is_empty() && !text.contains(CALLED));
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

    fn biff8() -> Vec<u8> {
        let mut b = BIFF8.to_le_bytes().to_vec();
        b.extend([0; 14]);
        b
    }

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
        let mut g = record(BOF, &biff8());
        let at = g.len() + 4;
        let mut b = vec![0u8; 4];
        b.extend([0, 0, 6, 0]);
        b.extend(b"Feuil1");
        g.extend(record(BOUNDSHEET, &b));
        g.extend(record(EOF, &[]));
        let offset = g.len() as u32;
        g[at..at + 4].copy_from_slice(&offset.to_le_bytes());
        g.extend(record(BOF, &biff8()));
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
        let mut rgce = vec![0x25];
        for w in [1u16, 2, 0xC000, 0xC001] {
            rgce.extend(w.to_le_bytes());
        }
        let rgce = cat(&[&rgce, &[0x15]]);
        array.extend((rgce.len() as u16).to_le_bytes());
        array.extend(&rgce);
        s.push(record(ARRAY, &array));
        s.push(formula(2, 4, &exp(1, 4)));
        s.push(formula(7, 7, &exp(30, 30)));
        s.push(formula(9, 2, &exp(1, 2)));
        s
    }

    /// `(cell, formula)` of `Feuil1`, an array formula as `{=…} to LAST`.
    fn found(data: &[u8], limits: &Limits) -> Vec<(String, String)> {
        let found = read_stream(data, limits)
            .and_then(|mut m| m.remove("Feuil1"))
            .unwrap_or_default();
        let mut v: Vec<(String, String)> = found.cells.into_iter().map(|(c, f)| (c.to_string(), f)).collect();
        for (first, (last, f)) in found.arrays {
            v.push((first.to_string(), format!("{{={f}}} to {last}")));
        }
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
            ("E2", "{=(A2:B3)} to E3"),
        ]
        .iter()
        .map(|(c, f)| (c.to_string(), f.to_string()))
        .collect();
        assert_eq!(
            got, want,
            "the array once, at its first cell; nothing for the stray and the outsider"
        );
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
        assert!(formulas(b"not a workbook", &Limits::default()).is_none());
        // An older BIFF (here BIFF5) is left to calamine.
        let mut old = stream(&sheet());
        old[4..6].copy_from_slice(&0x0500u16.to_le_bytes());
        assert!(read_stream(&old, &Limits::default()).is_none());
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
    fn a_cells_own_formula_with_mixed_references_and_other_sheets() {
        // $A1*B$1 >= C1: the flags say where `$` goes, the position is the cell's.
        let f = cat(&[
            &ref_raw(0x24, 0, 0x8000),
            &ref_raw(0x44, 0, 0x4001),
            &[0x05],
            &ref_raw(0x24, 0, 0xC002),
            &[0x0C],
        ]);
        assert_eq!(own(&f).as_deref(), Some("$A1*B$1>=C1"));
        // SUM('Feuille d''été'!A1:A2)+Feuil1!$B$3, a PtgMemFunc around the area.
        let mut area3d = vec![0x3B];
        for w in [1u16, 0, 1, 0xC000, 0xC000] {
            area3d.extend(w.to_le_bytes());
        }
        let mut ref3d = vec![0x5A];
        for w in [0u16, 2, 1] {
            ref3d.extend(w.to_le_bytes());
        }
        let f = cat(&[&[0x29, 11, 0], &area3d, &func_var(1, 4), &ref3d, &[0x03]]);
        assert_eq!(own(&f).as_deref(), Some("SUM('Feuille d''été'!A1:A2)+'Feuil1'!$B$3"));
        // Another workbook, an entry that is not there, a 3D reference in a
        // shared formula, a relative token in a cell's own formula.
        let other = |ixti: u16| {
            let mut v = vec![0x3A];
            for w in [ixti, 0, 0] {
                v.extend(w.to_le_bytes());
            }
            v
        };
        assert_eq!(own(&other(2)), None);
        assert_eq!(own(&other(9)), None);
        assert_eq!(at(&other(0), 1, 1), None);
        assert_eq!(own(&ref_n(0, -1)), None);
    }

    #[test]
    fn functions_called_by_name() {
        let name = |index: u16| {
            let mut v = vec![0x23];
            v.extend(index.to_le_bytes());
            v.extend([0, 0]);
            v
        };
        let name_x = |ixti: u16, index: u16| {
            let mut v = vec![0x39];
            v.extend(ixti.to_le_bytes());
            v.extend(index.to_le_bytes());
            v.extend([0, 0]);
            v
        };
        // IFERROR(A1/B1,0) as LibreOffice writes it (a NAME `_xlfn.IFERROR`),
        // EOMONTH(A1,1) as Excel does (an add-in's EXTERNNAME).
        let quotient = cat(&[&ref_raw(0x24, 0, 0xC000), &ref_raw(0x24, 0, 0xC001), &[0x06]]);
        let f = cat(&[&name(2), &quotient, &int(0), &func_var(3, 255)]);
        assert_eq!(own(&f).as_deref(), Some("IFERROR(A1/B1,0)"));
        let f = cat(&[&name_x(2, 1), &ref_raw(0x24, 0, 0xC000), &int(1), &func_var(3, 255)]);
        assert_eq!(own(&f).as_deref(), Some("EOMONTH(A1,1)"));
        // Not one of NAMED_FUNCTIONS (IFS, STDEV.P), a defined name (Taux), a
        // name out of range, a name that is not called, a call of something
        // that is not a name.
        assert_eq!(own(&cat(&[&name_x(2, 2), &int(1), &func_var(2, 255)])), None);
        assert_eq!(own(&cat(&[&name(3), &int(1), &func_var(2, 255)])), None);
        assert_eq!(own(&cat(&[&ref_raw(0x24, 0, 0xC000), &name(1), &[0x05]])), None);
        assert_eq!(own(&cat(&[&name(0), &int(1), &func_var(2, 255)])), None);
        assert_eq!(own(&cat(&[&name(9), &int(1), &func_var(2, 255)])), None);
        assert_eq!(own(&name(2)), None);
        assert_eq!(
            own(&cat(&[&name(2), &int(1), &[0x03], &int(1), &func_var(2, 255)])),
            None
        );
        assert_eq!(own(&cat(&[&int(1), &int(1), &func_var(2, 255)])), None);
        assert_eq!(own(&cat(&[&name(2), &name(2), &int(1), &func_var(3, 255)])), None);
    }

    #[test]
    fn own_formulas_and_other_sheets_from_the_records() {
        // Globals with the workbook's own SUPBOOK and one EXTERNSHEET entry
        // naming its second sheet, then C1 = 'Deux feuilles'!B2*2.
        let mut g = record(BOF, &biff8());
        let mut at = Vec::new();
        for name in ["Feuil1", "Deux feuilles"] {
            at.push(g.len() + 4);
            let mut b = vec![0u8; 4];
            b.extend([0, 0, name.len() as u8, 0]);
            b.extend(name.as_bytes());
            g.extend(record(BOUNDSHEET, &b));
        }
        g.extend(record(SUPBOOK, &[2, 0, 1, 4]));
        g.extend(record(EXTERNSHEET, &[1, 0, 0, 0, 1, 0, 1, 0]));
        g.extend(record(EOF, &[]));
        for a in at {
            let offset = g.len() as u32;
            g[a..a + 4].copy_from_slice(&offset.to_le_bytes());
            g.extend(record(BOF, &biff8()));
            let mut r3 = vec![0x3A];
            for w in [0u16, 1, 0xC001] {
                r3.extend(w.to_le_bytes());
            }
            g.extend(formula(0, 2, &cat(&[&r3, &int(2), &[0x05]])));
            g.extend(record(EOF, &[]));
        }
        let got = read_stream(&g, &Limits::default()).unwrap_or_default();
        for sheet in ["Feuil1", "Deux feuilles"] {
            assert_eq!(
                got.get(sheet)
                    .and_then(|m| m.cells.get(&CellRef::new(0, 2)))
                    .map(String::as_str),
                Some("'Deux feuilles'!B2*2"),
                "{sheet}"
            );
        }
    }

    #[test]
    fn the_function_table_is_sorted_and_coherent() {
        assert!(FUNCTIONS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(FUNCTIONS.iter().all(|f| f.2 <= f.3 && f.3 <= 30));
    }
}
