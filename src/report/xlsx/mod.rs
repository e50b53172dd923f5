//! The annotated workbook (`<name>.controle.xlsx`) that reviewers send back to
//! whoever submitted a return.
//!
//! Three parts, in this order:
//! - `Synthèse`: who sent what, the verdict, counts, versions, the legend of the
//!   marks, findings that have no cell, and links to every sheet;
//! - `Constats`: one row per finding, worst first, each with a link to its cell;
//! - every submitted sheet, in its original order, reproduced as the submitter saw
//!   it (values with their types, merged cells, and for `.xlsx` the original
//!   formats, column widths and row heights), with each cell that carries a
//!   finding filled by its worst severity, framed with a thick border in the same
//!   hue (so an original fill is never mistaken for a finding), and given a note.
//!
//! Text from the submitted file is always written as text (never as a formula),
//! every string is cut to Excel's limits, and sheet names are made valid and
//! unique: a hostile or odd file still gets a report.

mod findings;
mod look;
mod patch;
mod sheets;
mod styles;
mod summary;
mod texts;

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use rust_xlsxwriter::{DocProperties, FormatBorder, Workbook};

use crate::base::model::CellRef;
use crate::finding::{sort_findings, Finding, Severity};
use crate::pipeline::check::FileReport;
use crate::pipeline::read::{Format, Sheet};
use crate::pipeline::rules::RulePack;

pub use crate::output::report_file_name;
use texts::{checked_at_fr, note_for, note_text, quote_sheet, rule_title, shorten};
pub use texts::{report_sheet_names, save};

/// Why a report could not be produced or saved.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("écriture du classeur annoté : {}", crate::base::messages::xlsx_error(.0))]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error(transparent)]
    Io(#[from] crate::output::OutputError),
    #[error("écriture du classeur annoté : {0}")]
    Patch(String),
}

pub(super) const SUMMARY: &str = "Synthèse";
pub(super) const FINDINGS: &str = "Constats";

/// Excel's limits.
pub(super) const MAX_TEXT: usize = 32_767;
pub(super) const MAX_ROWS: u32 = 1_048_576;
pub(super) const MAX_COLS: u32 = 16_384;
pub(super) const MAX_LINKS_PER_SHEET: usize = 65_000;
/// Our own bounds, far above real returns.
pub(super) const MAX_NOTE: usize = 4_000;
pub(super) const MAX_FINDINGS_PER_NOTE: usize = 20;
pub(super) const MAX_MARKED_CELLS_PER_FINDING: u64 = 10_000;
pub(super) const MAX_MARKED_CELLS_PER_SHEET: usize = 200_000;
pub(super) const MAX_MERGE_AREA: u64 = 100_000;
pub(super) const MAX_MERGED_CELLS_PER_SHEET: usize = 1_000_000;
/// Cells (values and styled positions) of a submitted sheet above which it is
/// reproduced in constant-memory mode.
pub(super) const CONSTANT_MEMORY_CELLS: usize = 20_000;
/// Paper size 9 of Excel: A4, as printed in France.
pub(super) const A4: u8 = 9;
/// Rows of a summary list (findings without a cell) before "… and N more".
pub(super) const MAX_SUMMARY_LIST: usize = 200;

/// How a finding marks a cell: `strong` on the cell in question, light on the
/// rest of the row or range it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct Mark {
    pub(super) severity: Severity,
    pub(super) strong: bool,
}

impl Mark {
    /// The mark a cell keeps when several findings cover it: the worst of the
    /// findings *on* that cell first, then the worst of the ranges around it.
    pub(super) fn max(self, other: Mark) -> Mark {
        if (other.strong, other.severity) > (self.strong, self.severity) {
            other
        } else {
            self
        }
    }

    pub(super) fn fill(self) -> u32 {
        match (self.severity, self.strong) {
            (Severity::Error, true) => 0xFF7C80,
            (Severity::Error, false) => 0xFFE1E1,
            (Severity::Warning, true) => 0xFFC04D,
            (Severity::Warning, false) => 0xFFF0D0,
            (Severity::Info, true) => 0x9DC3E6,
            (Severity::Info, false) => 0xE2EEF9,
        }
    }

    pub(super) fn frame(self) -> u32 {
        match self.severity {
            Severity::Error => 0xC00000,
            Severity::Warning => 0xC55A11,
            Severity::Info => 0x1F4E79,
        }
    }

    /// Medium, not thin, on the cell in question: an original table border is thin.
    pub(super) fn line(self) -> FormatBorder {
        if self.strong {
            FormatBorder::Medium
        } else {
            FormatBorder::Thin
        }
    }
}

/// The follow-up of a finding (`Suivi` column), when the report has one.
pub(super) type SuiviOf<'a> = &'a dyn Fn(&Finding) -> Option<crate::diff::Suivi>;

/// What `bilan diff --report` adds to the new submission's annotated workbook:
/// the "Suivi depuis la version précédente" block and the `Suivi` column.
#[derive(Debug, Clone, Copy)]
pub struct FollowUp<'a> {
    pub diff: &'a crate::diff::Diff,
    /// How the previous submission is named (its path).
    pub previous: &'a str,
}

/// Builds the annotated workbook of one checked file, re-created (see
/// [`write_annotated`] for the submitter's own package, patched).
///
/// `checked_at` is the time of the check. The sheets of
/// an `.xlsx` keep their look ([`crate::pipeline::read::Workbook::styles`]); other formats
/// get sensible defaults (thousands separators, dd/mm/yyyy, widths that fit).
pub fn write_report(report: &FileReport, rules: &RulePack, checked_at: DateTime<Utc>) -> Result<Vec<u8>, ReportError> {
    write_report_with(report, rules, checked_at, None)
}

/// [`write_report`], with what changed since the previous submission.
pub fn write_report_with(
    report: &FileReport,
    rules: &RulePack,
    checked_at: DateTime<Utc>,
    follow_up: Option<FollowUp>,
) -> Result<Vec<u8>, ReportError> {
    Ok(write_annotated(report, rules, checked_at, follow_up, None)?.bytes)
}

/// An annotated workbook and how it was made.
#[derive(Debug)]
pub struct Annotated {
    pub bytes: Vec<u8>,
    /// The submitter's own package, patched (else re-created).
    pub patched: bool,
    /// Why an `.xlsx`/`.xlsm` could not be patched.
    pub refusal: Option<String>,
}

/// The annotated workbook of one checked file. With the submitted file's bytes
/// (`original`), an `.xlsx`/`.xlsm` is **the submitter's own package, patched**
/// (see `patch`): every part bilan does not change keeps its bytes. Other
/// formats, and a package that cannot be patched, are re-created; `Synthèse`
/// says which.
pub fn write_annotated(
    report: &FileReport,
    rules: &RulePack,
    checked_at: DateTime<Utc>,
    follow_up: Option<FollowUp>,
    original: Option<&[u8]>,
) -> Result<Annotated, ReportError> {
    let format = report.workbook.as_ref().map(|w| w.format);
    let mut refusal = None;
    if let (Some(bytes), Some(Format::Xlsx | Format::Xlsm), Some(wb)) = (original, format, report.workbook.as_ref()) {
        let names: Vec<String> = wb.sheets.iter().map(|s| s.name.clone()).collect();
        let origin = "Votre propre classeur, annoté : ses feuilles, formules, formats, validations, \
                      graphiques, notes et macros sont conservés tels quels ; bilan n'a ajouté que ces deux \
                      feuilles, le fond des cellules concernées et une note sur chacune.";
        match patched(report, rules, checked_at, follow_up, bytes, names, origin) {
            Ok(bytes) => {
                return Ok(Annotated {
                    bytes: name_and_content_agree(report, bytes)?,
                    patched: true,
                    refusal: None,
                })
            }
            Err(PatchError::Refused(r)) => refusal = Some(r),
            Err(PatchError::Report(e)) => return Err(e),
        }
    }
    let origin = match (&refusal, format) {
        (Some(r), _) => Some(format!(
            "Recréé : votre classeur n'a pas pu être annoté tel quel ({r}). Ses valeurs, formules, formats et \
             fusions sont reproduits, mais pas ses validations, graphiques, images ni macros : corrigez votre \
             fichier d'origine."
        )),
        (None, Some(f @ (Format::Xls | Format::Xlsb | Format::Ods))) => Some(format!(
            "Converti depuis le format .{} en .xlsx : valeurs, formules, dates, formats de nombre, fusions et \
             largeurs reproduits.",
            f.extension()
        )),
        _ => None,
    };
    // A re-created `.xlsx` (or `.xlsm` without its look read) takes the look from the file.
    let mut owned = None;
    if let (Some(bytes), Some(Format::Xlsx | Format::Xlsm), Some(wb)) = (original, format, report.workbook.as_ref()) {
        if wb.styles.is_none() {
            if let Ok(Some(st)) = crate::pipeline::read::read_styles(bytes, &crate::pipeline::read::Limits::default()) {
                owned = Some(st);
            }
        }
    }
    let formulas = original
        .zip(format)
        .zip(report.workbook.as_ref())
        .map(|((bytes, format), wb)| submitted_formulas(bytes, format, &wb.sheets))
        .unwrap_or_default();
    let bytes = recreate(
        report,
        rules,
        checked_at,
        follow_up,
        origin.as_deref(),
        owned.as_ref(),
        &formulas,
    )?;
    Ok(Annotated {
        bytes: name_and_content_agree(report, bytes)?,
        patched: false,
        refusal,
    })
}

enum PatchError {
    Refused(String),
    Report(ReportError),
}

impl From<ReportError> for PatchError {
    fn from(e: ReportError) -> Self {
        PatchError::Report(e)
    }
}

impl From<rust_xlsxwriter::XlsxError> for PatchError {
    fn from(e: rust_xlsxwriter::XlsxError) -> Self {
        PatchError::Report(e.into())
    }
}

/// What `Synthèse` and `Constats` show: the checked file and its findings,
/// worst first.
struct Front<'a> {
    report: &'a FileReport,
    rules: &'a RulePack,
    checked_at: DateTime<Utc>,
    findings: Vec<&'a Finding>,
    sheets: &'a [Sheet],
    /// The names of the submitted sheets in the annotated workbook.
    names: Vec<String>,
    follow_up: Option<FollowUp<'a>>,
    origin: Option<&'a str>,
}

impl<'a> Front<'a> {
    fn new(
        report: &'a FileReport,
        rules: &'a RulePack,
        checked_at: DateTime<Utc>,
        follow_up: Option<FollowUp<'a>>,
        origin: Option<&'a str>,
        names: Vec<String>,
    ) -> Self {
        let sheets: &[Sheet] = report.workbook.as_ref().map_or(&[], |w| &w.sheets);
        let mut findings: Vec<&Finding> = report.findings.iter().collect();
        sort_findings(&mut findings, &|s| sheets.iter().position(|w| w.name == s));
        Self {
            report,
            rules,
            checked_at,
            findings,
            sheets,
            names,
            follow_up,
            origin,
        }
    }

    /// The findings on one submitted sheet.
    fn on_sheet(&self, sheet: &Sheet) -> Vec<&'a Finding> {
        self.findings
            .iter()
            .copied()
            .filter(|f| f.sheet.as_ref() == Some(&sheet.name))
            .collect()
    }

    /// Writes `Synthèse` into `summary` and `Constats` into `list`.
    fn write(&self, summary: &mut dyn look::Sink, list: &mut dyn look::Sink) -> Result<(), ReportError> {
        summary::write(
            summary,
            self.report,
            self.rules,
            self.checked_at,
            &self.findings,
            self.sheets,
            &self.names,
            self.follow_up.as_ref(),
            self.origin,
        )?;
        let target = |f: &Finding| -> Option<String> {
            let i = self.sheets.iter().position(|s| Some(&s.name) == f.sheet.as_ref())?;
            Some(self.names[i].clone())
        };
        // The follow-up of each finding: `diff.suivi` is in the report's own order.
        let by_address: HashMap<*const Finding, crate::diff::Suivi> = match &self.follow_up {
            Some(fu) => self
                .report
                .findings
                .iter()
                .zip(&fu.diff.suivi)
                .map(|(f, s)| (f as *const Finding, *s))
                .collect(),
            None => HashMap::new(),
        };
        let suivi_of = |f: &Finding| by_address.get(&(f as *const Finding)).copied();
        let suivi: Option<SuiviOf> = self.follow_up.map(|_| &suivi_of as _);
        findings::write(list, self.rules, &self.findings, &target, suivi)
    }
}

/// The submitter's package, patched: `Synthèse` and `Constats` written as
/// SpreadsheetML, the flagged cells filled and noted.
fn patched(
    report: &FileReport,
    rules: &RulePack,
    checked_at: DateTime<Utc>,
    follow_up: Option<FollowUp>,
    original: &[u8],
    names: Vec<String>,
    origin: &str,
) -> Result<Vec<u8>, PatchError> {
    let front = Front::new(report, rules, checked_at, follow_up, Some(origin), names);
    let (mut summary, mut list) = (patch::SheetXml::new(), patch::SheetXml::new());
    front.write(&mut summary, &mut list)?;
    let marks: Vec<patch::SheetMarks> = front
        .sheets
        .iter()
        .map(|sheet| {
            let (cells, notes) = sheets::marked_cells(sheet, &front.on_sheet(sheet), rules);
            patch::SheetMarks {
                name: sheet.name.clone(),
                cells,
                notes,
            }
        })
        .collect();
    patch::patch(original, [&summary, &list], &marks).map_err(PatchError::Refused)
}

/// The re-created workbook: `Synthèse`, `Constats`, then every submitted sheet
/// reproduced (values, formulas, formats, merges, widths).
fn recreate(
    report: &FileReport,
    rules: &RulePack,
    checked_at: DateTime<Utc>,
    follow_up: Option<FollowUp>,
    origin: Option<&str>,
    styles_read: Option<&crate::pipeline::read::WorkbookStyles>,
    formulas: &HashMap<String, HashMap<CellRef, Submitted>>,
) -> Result<Vec<u8>, ReportError> {
    let sheets: &[Sheet] = report.workbook.as_ref().map_or(&[], |w| &w.sheets);
    let names = report_sheet_names(sheets.iter().map(|s| s.name.as_str()));
    let front = Front::new(report, rules, checked_at, follow_up, origin, names);

    let mut wb = Workbook::new();
    // Level 1: a report of a small return is written about 30 % faster than at
    // the default level 6, for a file about 20 % larger.
    wb.set_zip_compression_level(1);
    let file_name = file_name(&report.path);
    wb.set_properties(
        &DocProperties::new()
            .set_title(shorten(&format!("Rapport de contrôle — {file_name}"), 255))
            .set_author("bilan")
            .set_comment(shorten(
                &format!("Contrôlé le {}, règles {}", checked_at_fr(checked_at), rules.name),
                255,
            )),
    );
    let mut summary = rust_xlsxwriter::Worksheet::new();
    summary.set_name(SUMMARY)?;
    let mut list = rust_xlsxwriter::Worksheet::new();
    list.set_name(FINDINGS)?;
    front.write(&mut look::Xlsx::new(&mut summary), &mut look::Xlsx::new(&mut list))?;
    wb.push_worksheet(summary);
    wb.push_worksheet(list);

    let styles = styles_read.or_else(|| report.workbook.as_ref().and_then(|w| w.styles.as_ref()));
    for (sheet, name) in sheets.iter().zip(&front.names) {
        // Rows are written in order: constant-memory mode keeps a 5-million-cell
        // return from needing a gigabyte. It goes through a temporary file, so a
        // small sheet (every real return) is kept in memory.
        let look_cells = styles.and_then(|st| st.sheet(&sheet.name)).map_or(0, |s| s.cells.len());
        let ws = if sheet.cells().len() + look_cells > CONSTANT_MEMORY_CELLS {
            wb.add_worksheet_with_constant_memory()?
        } else {
            wb.add_worksheet()
        };
        ws.set_name(name)?;
        let on_sheet = front.on_sheet(sheet);
        // The tab of a sheet with findings takes the colour of the worst.
        if let Some(worst) = on_sheet.iter().map(|f| f.severity).max() {
            ws.set_tab_color(
                Mark {
                    severity: worst,
                    strong: true,
                }
                .frame(),
            );
        }
        let look = styles.and_then(|st| st.sheet(&sheet.name).map(|s| (st, s)));
        sheets::write(ws, sheet, look, &on_sheet, rules, formulas.get(&sheet.name))?;
    }
    wb.worksheet_from_index(0)?.set_active(true);
    Ok(wb.save_to_buffer()?)
}

/// The file name of a report's path (the path itself when it has none).
pub(super) fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}

/// The report of a file named `.xlsm` is named `.controle.xlsm`
/// ([`report_file_name`]): its content type must then be macro-enabled, even
/// re-created (without macros) or when the file only had the name.
fn name_and_content_agree(report: &FileReport, bytes: Vec<u8>) -> Result<Vec<u8>, ReportError> {
    let named_xlsm = Path::new(&report.path)
        .extension()
        .is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case("xlsm"));
    if named_xlsm {
        return patch::as_macro_enabled(bytes).map_err(ReportError::Patch);
    }
    Ok(bytes)
}

/// Cells of a sheet above which its formulas are not read again (calamine
/// builds a dense grid of them).
const MAX_FORMULA_GRID: u64 = 5_000_000;

/// A formula of the submitted file, as the re-created workbook writes it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Submitted {
    /// Its text, in Excel's syntax, without `=`.
    pub text: String,
    /// An array formula's last cell: written once over its range (from the
    /// cell it is found at).
    pub array_to: Option<CellRef>,
}

impl Submitted {
    fn cell(text: String) -> Self {
        Submitted { text, array_to: None }
    }
}

/// The formulas of the submitted file, by sheet and cell, for the re-created
/// workbook. What cannot be read is left out: the cell then keeps its value. An
/// `.xls` (BIFF8) is read by `pipeline::read::xls_formulas`, which also gives
/// its shared and array formulas and renders what calamine 0.38 gets wrong
/// (mixed references, `>` and `>=`, other sheets, quotes in texts); calamine
/// reads the other formats.
fn submitted_formulas(
    original: &[u8],
    format: Format,
    sheets: &[Sheet],
) -> HashMap<String, HashMap<CellRef, Submitted>> {
    use calamine::Reader;
    if format == Format::Xls {
        let limits = crate::pipeline::read::Limits::default();
        if let Some(mut all) = crate::pipeline::read::xls_formulas::formulas(original, &limits) {
            return sheets
                .iter()
                .filter_map(|sheet| {
                    let found = all.remove(&sheet.name)?;
                    let mut cells: HashMap<CellRef, Submitted> = found
                        .cells
                        .into_iter()
                        .filter_map(|(pos, f)| Some((pos, Submitted::cell(sheets::excel_formula(&f, false)?))))
                        .collect();
                    for (first, (last, f)) in found.arrays {
                        if let Some(text) = sheets::excel_formula(&f, false) {
                            cells.insert(
                                first,
                                Submitted {
                                    text,
                                    array_to: Some(last),
                                },
                            );
                        }
                    }
                    (!cells.is_empty()).then(|| (sheet.name.clone(), cells))
                })
                .collect();
        }
    }
    let mut out = HashMap::new();
    let Ok(mut wb) = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(original)) else {
        return out;
    };
    for sheet in sheets {
        let Some(used) = sheet.used_range() else { continue };
        let area = (used.end.row - used.start.row + 1) as u64 * (used.end.col - used.start.col + 1) as u64;
        if area > MAX_FORMULA_GRID {
            continue;
        }
        let Ok(range) = wb.worksheet_formula(&sheet.name) else {
            continue;
        };
        let Some((r0, c0)) = range.start() else { continue };
        let mut cells = HashMap::new();
        for (r, c, f) in range.used_cells() {
            if f.is_empty() {
                continue;
            }
            if let Some(f) = sheets::excel_formula(f, format == Format::Ods) {
                cells.insert(CellRef::new(r0 + r as u32, c0 + c as u32), Submitted::cell(f));
            }
        }
        if !cells.is_empty() {
            out.insert(sheet.name.clone(), cells);
        }
    }
    out
}
