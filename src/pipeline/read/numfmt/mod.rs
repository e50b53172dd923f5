//! Number formats: the part of a cell's look that changes its value.
//!
//! A number shown as a percentage (`0,73` displayed `73 %`) is read as 73 in a
//! percent field, so every format's reader must say how its number cells are
//! displayed. calamine gives number formats for `.xlsx`/`.xlsm` only (read in
//! `super::formats` from its style palette); this module reads them from the
//! file itself for the other formats, in one pass over the parts that hold them:
//!
//! - `.xls` ([`xls`]): BIFF8 `FORMAT` and `XF` records of the workbook globals,
//!   then each sheet's cell records (`NUMBER`, `RK`, `MULRK`, `FORMULA`);
//! - `.xlsb` ([`xlsb`]): BIFF12 `BrtFmt`/`BrtXF` of `styles.bin`, then each
//!   sheet's number cell records;
//! - `.ods` ([`ods`]): the cells' `office:value-type` and their style's
//!   `style:data-style-name` (`number:percentage-style`, `number:date-style`…).
//!
//! These readers see untrusted bytes: they never panic, never allocate from a
//! declared size, and record at most one format per cell the workbook holds.
//! A part they cannot read leaves the formats out (the cells stay as calamine
//! read them).

pub mod ods;
pub mod xls;
pub mod xlsb;

use serde::{Deserialize, Serialize};

use super::{Format, Limits, Sheet};
use crate::base::model::{CellRange, CellRef};

/// How a number cell is displayed, as far as its value is concerned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NumberFormat {
    /// No format of its own (`General`, `Standard`): the number as stored.
    #[default]
    General,
    /// Shown as a percentage: `0.73` is seen as `73 %`.
    Percent,
    /// Shown as a date or a time.
    Date,
    /// Any other format: its code (`#,##0.00 "€"`), or for `.ods` the name of
    /// its data style.
    Other(String),
}

impl NumberFormat {
    /// Whether the format changes how the cell's value is read (a percentage,
    /// a date): the formats a [`crate::pipeline::read::Sheet`] records.
    pub fn changes_value(&self) -> bool {
        matches!(self, NumberFormat::Percent | NumberFormat::Date)
    }

    /// Classifies an Excel number format code.
    pub fn from_code(code: &str) -> Self {
        let trimmed = code.trim();
        if trimmed.is_empty() || trimmed.eq_ignore_ascii_case("general") || trimmed.eq_ignore_ascii_case("standard") {
            return NumberFormat::General;
        }
        let mut date = false;
        let mut chars = trimmed.chars();
        let mut quoted = false;
        while let Some(c) = chars.next() {
            match c {
                '"' => quoted = !quoted,
                _ if quoted => {}
                // An escaped character, a space the width of a character, a fill character.
                '\\' | '_' | '*' => {
                    chars.next();
                }
                // `[h]:mm` (elapsed time) is a time; `[Red]`, `[$€-40C]`, `[>=100]` are not.
                '[' => {
                    let inside: String = chars.by_ref().take_while(|c| *c != ']').collect();
                    if !inside.is_empty() && inside.chars().all(|c| matches!(c, 'h' | 'H' | 'm' | 'M' | 's' | 'S')) {
                        date = true;
                    }
                }
                '%' => return NumberFormat::Percent,
                'd' | 'D' | 'm' | 'M' | 'y' | 'Y' | 'h' | 'H' | 's' | 'S' => date = true,
                _ => {}
            }
        }
        if date {
            NumberFormat::Date
        } else {
            NumberFormat::Other(trimmed.to_string())
        }
    }

    /// The format of an Excel format id, when its code is not given in the file
    /// (the built-in formats of `.xls`, `.xlsb` and `.xlsx`).
    pub fn from_builtin(id: u32) -> Self {
        match builtin_code(id) {
            Some(code) => Self::from_code(code),
            // Ids 23–36 and 50–81 are locale-dependent built-ins (dates and
            // times in the Asian locales); above 163, custom formats.
            None if (23..=36).contains(&id) || (50..=81).contains(&id) => NumberFormat::Date,
            None => NumberFormat::General,
        }
    }
}

/// The codes of Excel's built-in number formats (ECMA-376 §18.8.30).
pub fn builtin_code(id: u32) -> Option<&'static str> {
    Some(match id {
        0 => "General",
        1 => "0",
        2 => "0.00",
        3 => "#,##0",
        4 => "#,##0.00",
        5 => "\"$\"#,##0_);(\"$\"#,##0)",
        6 => "\"$\"#,##0_);[Red](\"$\"#,##0)",
        7 => "\"$\"#,##0.00_);(\"$\"#,##0.00)",
        8 => "\"$\"#,##0.00_);[Red](\"$\"#,##0.00)",
        9 => "0%",
        10 => "0.00%",
        11 => "0.00E+00",
        12 => "# ?/?",
        13 => "# ??/??",
        14 => "mm-dd-yy",
        15 => "d-mmm-yy",
        16 => "d-mmm",
        17 => "mmm-yy",
        18 => "h:mm AM/PM",
        19 => "h:mm:ss AM/PM",
        20 => "h:mm",
        21 => "h:mm:ss",
        22 => "m/d/yy h:mm",
        37 => "#,##0 ;(#,##0)",
        38 => "#,##0 ;[Red](#,##0)",
        39 => "#,##0.00;(#,##0.00)",
        40 => "#,##0.00;[Red](#,##0.00)",
        41 => "_(* #,##0_);_(* (#,##0);_(* \"-\"_);_(@_)",
        42 => "_(\"$\"* #,##0_);_(\"$\"* (#,##0);_(\"$\"* \"-\"_);_(@_)",
        43 => "_(* #,##0.00_);_(* (#,##0.00);_(* \"-\"??_);_(@_)",
        44 => "_(\"$\"* #,##0.00_);_(\"$\"* (#,##0.00);_(\"$\"* \"-\"??_);_(@_)",
        45 => "mm:ss",
        46 => "[h]:mm:ss",
        47 => "mmss.0",
        48 => "##0.0E+0",
        49 => "@",
        _ => return None,
    })
}

/// The number formats of a workbook's cells, as one format reader found them,
/// and the merged ranges of the formats calamine gives none for (`.ods`, `.xlsb`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkbookFormats {
    /// Distinct formats, indexed by the sheets' cells.
    pub palette: Vec<NumberFormat>,
    /// By sheet name: cells (a number or not) with an index into `palette`.
    pub sheets: Vec<(String, Vec<(CellRef, u32)>)>,
    /// By sheet name: merged ranges read from the file (`.ods`: cells with
    /// `table:number-columns-spanned`/`number-rows-spanned`; `.xlsb`:
    /// `BrtMergeCell`). Empty for the formats whose merges calamine reads.
    pub merges: Vec<(String, Vec<CellRange>)>,
}

impl WorkbookFormats {
    /// Gives each sheet of `sheets` its number formats (matched by name), and
    /// its merged ranges when the cell reader found none.
    pub fn apply(&self, sheets: &mut [Sheet]) {
        for sheet in sheets.iter_mut() {
            if sheet.merges.is_empty() {
                if let Some((_, merges)) = self.merges.iter().find(|(n, _)| *n == sheet.name) {
                    sheet.merges = merges.clone();
                }
            }
            let Some((_, cells)) = self.sheets.iter().find(|(n, _)| *n == sheet.name) else {
                continue;
            };
            let palette = &self.palette;
            sheet.set_number_formats(
                cells
                    .iter()
                    .filter_map(|(pos, i)| palette.get(*i as usize).map(|f| (*pos, f))),
            );
        }
    }
}

/// Reads the number formats of a workbook that calamine reads without them.
/// `cells` is the number of cells calamine found: no more formats than that are
/// recorded. `None` for `.xlsx`/`.xlsm` (calamine gives them) and when the
/// parts that hold them cannot be read.
pub(super) fn read(format: Format, bytes: &[u8], limits: &Limits, cells: usize) -> Option<WorkbookFormats> {
    let budget = cells.min(limits.max_cells);
    match format {
        Format::Xlsx | Format::Xlsm => None,
        Format::Xls => xls::read(bytes, limits, budget),
        Format::Xlsb => xlsb::read(bytes, limits, budget),
        Format::Ods => ods::read(bytes, limits, budget),
    }
}

/// A palette being built: each distinct format once.
#[derive(Debug, Default)]
pub(crate) struct Palette {
    formats: Vec<NumberFormat>,
}

impl Palette {
    pub(crate) fn index(&mut self, format: NumberFormat) -> u32 {
        match self.formats.iter().position(|f| *f == format) {
            Some(i) => i as u32,
            None => {
                self.formats.push(format);
                (self.formats.len() - 1) as u32
            }
        }
    }

    pub(crate) fn into_vec(self) -> Vec<NumberFormat> {
        self.formats
    }
}

/// Excel's grid: a position outside it is not recorded.
pub(crate) fn in_grid(row: u64, col: u64) -> Option<CellRef> {
    (row <= 1_048_575 && col <= 16_383).then(|| CellRef::new(row as u32, col as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_classified() {
        use NumberFormat::*;
        assert_eq!(NumberFormat::from_code("0%"), Percent);
        assert_eq!(NumberFormat::from_code("0.00%"), Percent);
        assert_eq!(NumberFormat::from_code("[Red]0.0%;-0.0%"), Percent);
        assert_eq!(NumberFormat::from_code("0\" %\""), Other("0\" %\"".into()));
        assert_eq!(NumberFormat::from_code("0\\%"), Other("0\\%".into()));
        assert_eq!(NumberFormat::from_code("General"), General);
        assert_eq!(NumberFormat::from_code("GENERAL"), General);
        assert_eq!(NumberFormat::from_code("Standard"), General);
        assert_eq!(NumberFormat::from_code("dd/mm/yyyy"), Date);
        assert_eq!(NumberFormat::from_code("[h]:mm:ss"), Date);
        assert_eq!(NumberFormat::from_code("yyyy\\-mm\\-dd"), Date);
        assert_eq!(
            NumberFormat::from_code("#,##0\\ [$€-40C];[Red]\\-#,##0\\ [$€-40C]"),
            Other("#,##0\\ [$€-40C];[Red]\\-#,##0\\ [$€-40C]".into())
        );
        assert_eq!(
            NumberFormat::from_code("_-* #,##0.00\\ \"€\"_-"),
            Other("_-* #,##0.00\\ \"€\"_-".into())
        );
        assert_eq!(NumberFormat::from_code("0.00E+00"), Other("0.00E+00".into()));
        assert_eq!(
            NumberFormat::from_code("[$USD-409] #,##0.00"),
            Other("[$USD-409] #,##0.00".into())
        );
    }

    #[test]
    fn builtin_ids() {
        assert_eq!(NumberFormat::from_builtin(9), NumberFormat::Percent);
        assert_eq!(NumberFormat::from_builtin(10), NumberFormat::Percent);
        assert_eq!(NumberFormat::from_builtin(14), NumberFormat::Date);
        assert_eq!(NumberFormat::from_builtin(0), NumberFormat::General);
        assert_eq!(NumberFormat::from_builtin(3), NumberFormat::Other("#,##0".into()));
        assert_eq!(NumberFormat::from_builtin(30), NumberFormat::Date);
        assert_eq!(NumberFormat::from_builtin(500), NumberFormat::General);
    }
}
