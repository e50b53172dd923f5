//! Reading workbooks: the only module that talks to calamine.
//!
//! # The reader's contract
//!
//! Every format (`.xlsx`, `.xlsm`, `.xlsb`, `.xls`, `.ods`) is turned into the same
//! [`Workbook`]: sheets of sparse cells at absolute, zero-based positions, with
//! merged ranges. Each cell is a [`CellValue`] (what the submitter typed or the
//! formula computed) and each number cell also has a [`NumberFormat`] (how the
//! submitter sees it: `General`, `Percent`, `Date` or another format code).
//! Number formats are **part of the value**, not cosmetic: `0,73` shown `73 %` is
//! read as 73 in a percent field (see `crate::pipeline::extract`). So every reader must
//! produce them, and the same workbook saved in two formats must give the same
//! cells and the same formats ([`numfmt`] reads them where calamine does not:
//! `.xls`, `.xlsb`, `.ods`).
//!
//! How a sheet *looks* beyond that (fonts, fills, borders, widths: see [`styles`])
//! only serves the annotated report; whatever of it cannot be read is left out,
//! and it is never a reason to fail.
//!
//! The file's format is recognised from its content, not its extension (a
//! mismatch is reported: [`extension_mismatch`]). Limits are checked before and
//! while reading, and xlsx/xlsb sheets are streamed cell by cell, so a hostile file
//! declaring a huge dimension does not make us allocate it.

pub mod error_fr;
mod formats;
mod merges;
pub mod numfmt;
mod sniff;
pub mod styles;
pub mod xls_formulas;
mod xml;

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::base::model::{CellRange, CellRef};
use crate::base::values::DateInterval;

pub use numfmt::NumberFormat;
pub use sniff::{extension_mismatch, sniff, Format};
pub use styles::{read_styles, CellStyle, SheetStyles, WorkbookStyles};

/// Limits on what one file may hold. Real returns are far below the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Size of the file on disk, in bytes.
    pub max_file_size: u64,
    /// Sum of the uncompressed sizes of a zip container's members, in bytes.
    pub max_uncompressed: u64,
    pub max_sheets: usize,
    /// Non-empty cells over the whole workbook.
    pub max_cells: usize,
    /// Uncompressed size, in bytes, of each part that calamine loads whole when
    /// it opens an `.xlsx`/`.xlsb`, before the first cell and so before the cell
    /// cap can stop it: the shared strings, the styles and the workbook part.
    #[serde(default = "default_max_loaded_part")]
    pub max_loaded_part: u64,
    /// Also read how an `.xlsx` looks (fonts, fills, borders, widths: see
    /// [`Workbook::styles`]), for the annotated report. Checking a return never
    /// needs it (number formats are always read); leaving it out spares a
    /// second pass over every sheet. On by default.
    #[serde(default = "default_read_styles")]
    pub read_styles: bool,
}

fn default_max_loaded_part() -> u64 {
    50 * 1_000_000
}

fn default_read_styles() -> bool {
    true
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_size: 50 * 1_000_000,
            max_uncompressed: 500 * 1_000_000,
            max_sheets: 200,
            max_cells: 5_000_000,
            max_loaded_part: default_max_loaded_part(),
            read_styles: default_read_styles(),
        }
    }
}

/// A cell's content, as the submitter left it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CellValue {
    Text(String),
    Number(f64),
    Bool(bool),
    /// A real date (Excel serial, or ODS ISO date).
    Date(DateInterval),
    /// An Excel error value such as `#REF!`.
    Error(String),
    /// A formula saved without its computed value.
    FormulaWithoutValue(String),
}

impl CellValue {
    /// The value as a reader sees it on screen, for excerpts and messages.
    pub fn display(&self) -> String {
        match self {
            CellValue::Text(s) => s.clone(),
            CellValue::Number(n) => crate::base::format::number_plain(*n),
            CellValue::Bool(b) => if *b { "VRAI" } else { "FAUX" }.to_string(),
            CellValue::Date(d) => d.display_fr(),
            CellValue::Error(e) => e.clone(),
            CellValue::FormulaWithoutValue(f) => format!("={f}"),
        }
    }

    /// Text content, if the cell holds text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            CellValue::Text(s) => Some(s),
            _ => None,
        }
    }

    /// True for text that is only white space: such a cell counts as empty.
    pub fn is_blank(&self) -> bool {
        matches!(self, CellValue::Text(s) if s.trim().is_empty())
    }
}

/// One non-empty cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    pub pos: CellRef,
    pub value: CellValue,
}

/// A worksheet: its cells sorted by row then column, and its merged ranges.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Sheet {
    pub name: String,
    cells: Vec<Cell>,
    pub merges: Vec<CellRange>,
    /// The distinct number formats of the sheet's number cells (never `General`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    formats: Vec<NumberFormat>,
    /// Number cells whose format is not `General`, sorted by position, with an
    /// index into `formats`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    cell_formats: Vec<(CellRef, u32)>,
    /// Each cell's text normalised for label matching, computed once on demand.
    #[serde(skip)]
    normalized: std::sync::OnceLock<Vec<Option<String>>>,
}

/// Equal when they hold the same cells, merges and formats (the cache of
/// normalised texts does not count).
impl PartialEq for Sheet {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.cells == other.cells
            && self.merges == other.merges
            && self.formats == other.formats
            && self.cell_formats == other.cell_formats
    }
}

impl Sheet {
    pub fn new(name: impl Into<String>, mut cells: Vec<Cell>, merges: Vec<CellRange>) -> Self {
        cells.sort_by_key(|c| c.pos);
        cells.dedup_by_key(|c| c.pos);
        Self {
            name: name.into(),
            cells,
            merges,
            formats: Vec::new(),
            cell_formats: Vec::new(),
            normalized: std::sync::OnceLock::new(),
        }
    }

    /// The non-empty cells of one row with their text normalised for label
    /// matching (`None` for non-text cells). Each text is normalised once per sheet.
    pub fn row_normalized(&self, row: u32) -> impl Iterator<Item = (&Cell, Option<&str>)> {
        let norm = self.normalized.get_or_init(|| {
            self.cells
                .iter()
                .map(|c| c.value.as_text().map(crate::base::values::normalize_label))
                .collect()
        });
        let start = self.cells.partition_point(|c| c.pos.row < row);
        let end = self.cells.partition_point(|c| c.pos.row <= row);
        self.cells[start..end]
            .iter()
            .zip(norm[start..end].iter().map(|n| n.as_deref()))
    }

    /// Records how the number cells are displayed. Only the formats that change
    /// how a value is read (`Percent`, `Date`) are kept: another format (`#,##0`)
    /// reads as `General`, which spares memory on large sheets and keeps formats
    /// that differ between file formats (codes, `.ods` style names) out of the
    /// contract. Positions that do not hold a number are dropped; the first
    /// format given for a position wins.
    pub fn set_number_formats<'a>(&mut self, formats: impl IntoIterator<Item = (CellRef, &'a NumberFormat)>) {
        let mut palette: Vec<NumberFormat> = Vec::new();
        let mut cells: Vec<(CellRef, u32)> = Vec::new();
        for (pos, format) in formats {
            if !format.changes_value() || !matches!(self.get(pos), Some(CellValue::Number(_))) {
                continue;
            }
            let index = match palette.iter().position(|f| f == format) {
                Some(i) => i,
                None => {
                    palette.push(format.clone());
                    palette.len() - 1
                }
            };
            cells.push((pos, index as u32));
        }
        cells.sort_by_key(|(p, _)| *p);
        cells.dedup_by_key(|(p, _)| *p);
        self.formats = palette;
        self.cell_formats = cells;
    }

    /// How the cell at `pos` displays its number (`General` for a cell that is
    /// not a number or has no format of its own).
    pub fn number_format(&self, pos: CellRef) -> &NumberFormat {
        static GENERAL: NumberFormat = NumberFormat::General;
        self.cell_formats
            .binary_search_by_key(&pos, |(p, _)| *p)
            .ok()
            .and_then(|i| self.formats.get(self.cell_formats[i].1 as usize))
            .unwrap_or(&GENERAL)
    }

    /// True when the number at `pos` is displayed as a percentage (`0.72` shown
    /// `72 %`): the value the submitter sees is the number × 100.
    pub fn shows_percent(&self, pos: CellRef) -> bool {
        *self.number_format(pos) == NumberFormat::Percent
    }

    pub fn cells(&self) -> &[Cell] {
        &self.cells
    }

    pub fn get(&self, pos: CellRef) -> Option<&CellValue> {
        self.cells
            .binary_search_by_key(&pos, |c| c.pos)
            .ok()
            .map(|i| &self.cells[i].value)
    }

    /// The non-empty cells of one row, left to right.
    pub fn row(&self, row: u32) -> &[Cell] {
        let start = self.cells.partition_point(|c| c.pos.row < row);
        let end = self.cells.partition_point(|c| c.pos.row <= row);
        &self.cells[start..end]
    }

    /// Rows that hold at least one cell, top to bottom.
    pub fn row_numbers(&self) -> Vec<u32> {
        let mut rows: Vec<u32> = self.cells.iter().map(|c| c.pos.row).collect();
        rows.dedup();
        rows
    }

    /// The merged range whose top-left cell is not `pos` but that covers it.
    pub fn merge_anchor(&self, pos: CellRef) -> Option<CellRef> {
        self.merges
            .iter()
            .find(|m| m.contains(pos) && m.start != pos)
            .map(|m| m.start)
    }

    /// The merged range that starts at `pos`, if any.
    pub fn merge_at(&self, pos: CellRef) -> Option<CellRange> {
        self.merges.iter().copied().find(|m| m.start == pos)
    }

    /// The used area, if the sheet has any cell.
    pub fn used_range(&self) -> Option<CellRange> {
        let first = self.cells.first()?;
        let mut r = CellRange::single(first.pos);
        for c in &self.cells {
            r = r.union(&CellRange::single(c.pos));
        }
        Some(r)
    }
}

/// A whole workbook, whatever its format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workbook {
    pub format: Format,
    pub sheets: Vec<Sheet>,
    /// How the sheets look (fonts, fills, borders, widths, heights): `.xlsx`/`.xlsm`
    /// only, for the annotated report, when [`Limits::read_styles`] asks for it. Never needed to check a return (the number
    /// formats that change values are on each [`Sheet`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub styles: Option<WorkbookStyles>,
}

impl Workbook {
    pub fn cell_count(&self) -> usize {
        self.sheets.iter().map(|s| s.cells.len()).sum()
    }
}

/// Which limit a file went over, and by how much.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LimitKind {
    FileSize,
    Uncompressed,
    Sheets,
    Cells,
    /// One part of the package that the reader loads whole (its name, e.g.
    /// `xl/sharedStrings.xml`): see [`Limits::max_loaded_part`].
    Part(String),
    /// Seconds spent reading one file.
    Time,
    /// Memory used to read one file, in bytes.
    Memory,
}

/// Why a file could not be read. Each maps to BILAN-IO-001 or BILAN-IO-002.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum ReadError {
    #[error("le fichier est introuvable ou illisible : {0}")]
    Io(String),
    #[error("« {0} » n'est pas un fichier ordinaire (dossier, tube ou périphérique)")]
    NotAFile(String),
    #[error("le fichier est vide (0 octet)")]
    Empty,
    #[error("le fichier n'est pas un classeur Excel ou OpenDocument : {0}")]
    NotAWorkbook(String),
    #[error(
        "le classeur est protégé par un mot de passe (chiffré) : enregistrez-le sans mot de passe puis renvoyez-le"
    )]
    Encrypted,
    #[error("le classeur est endommagé ({format}) : {detail}")]
    Corrupt { format: String, detail: String },
    #[error("le classeur ne contient aucune feuille")]
    NoSheets,
    #[error("la lecture du classeur s'est arrêtée brutalement ({0}) : le fichier est probablement endommagé")]
    Crashed(String),
    #[error("{}", limit_message(.kind, *.limit, *.actual))]
    Limit { kind: LimitKind, limit: u64, actual: u64 },
}

impl ReadError {
    /// The engine rule this error is reported as.
    pub fn rule(&self) -> crate::finding::EngineRule {
        match self {
            ReadError::Limit { .. } => crate::finding::EngineRule::Io002,
            _ => crate::finding::EngineRule::Io001,
        }
    }
}

fn limit_message(kind: &LimitKind, limit: u64, actual: u64) -> String {
    let (what, unit) = match kind {
        LimitKind::FileSize => ("taille du fichier", " octets"),
        LimitKind::Uncompressed => ("taille décompressée", " octets"),
        LimitKind::Sheets => ("nombre de feuilles", ""),
        LimitKind::Cells => ("nombre de cellules non vides", ""),
        LimitKind::Part(name) => {
            let what = sniff::describe_part(name);
            let actual = crate::base::format::int_fr(actual as i128);
            let limit = crate::base::format::int_fr(limit as i128);
            return format!("taille décompressée de {what} hors limite : {actual} octets (au moins) pour une limite de {limit} octets");
        }
        LimitKind::Time => ("durée de lecture", " s"),
        LimitKind::Memory => ("mémoire nécessaire à la lecture", " octets"),
    };
    let actual = crate::base::format::int_fr(actual as i128);
    let limit = crate::base::format::int_fr(limit as i128);
    format!("{what} hors limite : {actual}{unit} (au moins) pour une limite de {limit}{unit}")
}

impl fmt::Display for LimitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LimitKind::FileSize => "file-size",
            LimitKind::Uncompressed => "uncompressed-size",
            LimitKind::Sheets => "sheets",
            LimitKind::Cells => "cells",
            LimitKind::Part(_) => "loaded-part",
            LimitKind::Time => "time",
            LimitKind::Memory => "memory",
        })
    }
}

/// Reads a workbook from disk. Never opens the file for writing; refuses
/// directories and special files (a named pipe would block) before opening.
pub fn read_path(path: &Path, limits: &Limits) -> Result<Workbook, ReadError> {
    let bytes = read_file_bytes(path, limits)?;
    read_bytes(&bytes, limits)
}

/// Reads a file's bytes within the size limit.
pub fn read_file_bytes(path: &Path, limits: &Limits) -> Result<Vec<u8>, ReadError> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| ReadError::Io(io_message(&e)))?;
    if !meta.is_file() {
        return Err(ReadError::NotAFile(path.display().to_string()));
    }
    if meta.len() > limits.max_file_size {
        return Err(ReadError::Limit {
            kind: LimitKind::FileSize,
            limit: limits.max_file_size,
            actual: meta.len(),
        });
    }
    let file = std::fs::File::open(path).map_err(|e| ReadError::Io(io_message(&e)))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // Read one byte past the limit: a file that grew since `metadata` is caught too.
    file.take(limits.max_file_size + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ReadError::Io(io_message(&e)))?;
    if bytes.len() as u64 > limits.max_file_size {
        return Err(ReadError::Limit {
            kind: LimitKind::FileSize,
            limit: limits.max_file_size,
            actual: bytes.len() as u64,
        });
    }
    Ok(bytes)
}

fn io_message(e: &std::io::Error) -> String {
    crate::base::messages::file_io_error(e)
}

/// Reads a workbook from memory (an upload, a test). The format is sniffed.
pub fn read_bytes(bytes: &[u8], limits: &Limits) -> Result<Workbook, ReadError> {
    if bytes.is_empty() {
        return Err(ReadError::Empty);
    }
    if bytes.len() as u64 > limits.max_file_size {
        return Err(ReadError::Limit {
            kind: LimitKind::FileSize,
            limit: limits.max_file_size,
            actual: bytes.len() as u64,
        });
    }
    let format = sniff(bytes, limits)?;
    // calamine panics on some malformed files (found by fuzzing: a slice index
    // out of range in its compound-file reader); such a file is corrupt, not a
    // reason to stop. Aborts cannot be caught here: see `crate::job::isolate`.
    let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| formats::read(format, bytes, limits)));
    let workbook = read.unwrap_or_else(|_| {
        Err(ReadError::Corrupt {
            format: format.extension().to_string(),
            detail: "structure interne invalide (le lecteur de classeur a échoué)".to_string(),
        })
    })?;
    if workbook.sheets.is_empty() {
        return Err(ReadError::NoSheets);
    }
    Ok(workbook)
}
