//! Blank returns: the workbook a territory, a cluster or a programme team fills
//! in, generated from the template's schema alone (there is no layout code per
//! template, so a new schema gets its blank return for free).
//!
//! Layout of every sheet, in the schema's order:
//! - the `x-title` cell in `A1` when the sheet has one, prefilled from the
//!   schema (`default`, else `examples[0]`, else the first « quoted » text of its
//!   description followed by ` …`, e.g. `Axes stratégiques du PLDE de …`);
//! - a one-line instruction (from the sheet's description), then a blank row;
//! - label/value fields: the label in column A (bold when the value is
//!   required), the value in column B, one field per row;
//! - tables, from column A: the header row, [`TABLE_ROWS`] empty rows, and a
//!   `TOTAL` row whose cells sum the columns when the schema has `x-total-of`.
//!
//! `Identification` › `Modèle` and `Version` are filled (template id, newest
//! version) and locked. Every value cell is unlocked and carries an Excel data
//! validation derived from its schema: a drop-down list for an enumeration, a
//! whole number for an integer, a decimal for a number, with the schema's bounds
//! (`minimum`, `maximum`, exclusive ones); a date between [`FIRST_DATE`] and
//! [`LAST_DATE`] shown `dd/mm/yyyy` for `x-type: "date"` (a stop in a
//! label/value field; a warning in a table, where `juin 2010` or `1er semestre
//! 2009` may be confirmed, as the templates allow); an e-mail check for
//! `format: "email"`. Each value cell shows an input message (the field's
//! description and what is expected) and a French error message when Excel
//! refuses an entry. Labels, headers, the instruction and the TOTAL row are
//! locked; every sheet is protected without a password (inserting rows and
//! resizing columns stay allowed).
//!
//! [`fill`] writes a JSON document (the `data` of `bilan extract`) into the same
//! layout: what the document holds goes into the value cells, what it lacks stays
//! empty, and a TOTAL row is written only when the document has one. It is how
//! the round-trip tests fill a blank return, and how benchmarks make returns of
//! any size.

use std::collections::BTreeMap;

use rust_xlsxwriter::{
    Color, DataValidation, DataValidationErrorStyle, DataValidationRule, DocProperties, ExcelDateTime, Format,
    FormatAlign, FormatBorder, FormatPattern, Formula, ProtectionOptions, Workbook, Worksheet, XlsxError,
};
use serde_json::Value;

use crate::base::model::{column_letters, CellRef};
use crate::base::values::{normalize_label, DateInterval, Precision, Unit};
use crate::docs::expected_fr;
use crate::pipeline::template::{Block, FieldSpec, SheetSpec, TableSpec, Template, ValueKind};

pub mod live;
use live::{ColumnPlace, Layout, Place, Probes, TableArea};

mod format;
mod sheet;
pub use format::title_prefill;
use format::*;

/// Empty rows offered under each table header.
pub const TABLE_ROWS: u32 = 50;
/// Earliest date a date cell accepts (`(year, month, day)`).
pub const FIRST_DATE: (u16, u8, u8) = (2000, 1, 1);
/// Latest date a date cell accepts.
pub const LAST_DATE: (u16, u8, u8) = (2030, 12, 31);
/// Name of the very hidden sheet holding drop-down lists longer than Excel's
/// 255 characters (none of today's templates needs it).
pub const LISTS_SHEET: &str = "Listes";

/// A blank return that cannot be written (a schema Excel cannot represent:
/// a sheet name over 31 characters, …).
#[derive(Debug, thiserror::Error)]
#[error("modèle {template} : {message}")]
pub struct BlankError {
    pub template: String,
    pub message: String,
}

/// The blank return of `t`, as `.xlsx` bytes (without live checks).
pub fn blank(t: &Template) -> Result<Vec<u8>, BlankError> {
    build(t, None, &[], Probes::Off)
}

/// The return of `t` holding `data` (a document shaped like `bilan extract`'s
/// `data`), as `.xlsx` bytes (without live checks).
pub fn fill(t: &Template, data: &Value) -> Result<Vec<u8>, BlankError> {
    build(t, Some(data), &[], Probes::Off)
}

/// The blank return of `t` with the live checks of the rules of `pack` that
/// apply to it (`bilan template`, the web desk).
pub fn blank_checked(t: &Template, pack: &crate::pipeline::rules::RulePack) -> Result<Vec<u8>, BlankError> {
    let checks = live::checks(t, pack).map_err(|e| BlankError {
        template: t.id.clone(),
        message: e.to_string(),
    })?;
    build(t, None, &checks, Probes::Off)
}

/// [`fill`] with live checks (`checks` from [`live::checks`]) and, with
/// [`Probes::On`], the hidden probe sheet the tests read after recalculation.
pub fn fill_checked(t: &Template, data: &Value, checks: &[live::Check], probes: Probes) -> Result<Vec<u8>, BlankError> {
    build(t, Some(data), checks, probes)
}

fn build(t: &Template, data: Option<&Value>, checks: &[live::Check], probes: Probes) -> Result<Vec<u8>, BlankError> {
    let fail = |message: String| BlankError {
        template: t.id.clone(),
        message,
    };
    let notes = live::notes(checks);
    let mut layout = Layout::default();
    let mut wb = Workbook::new();
    // A fixed date: the same schema always gives the same file.
    let created = ExcelDateTime::from_ymd(2010, 1, 1).map_err(|e| fail(e.to_string()))?;
    wb.set_properties(
        &DocProperties::new()
            .set_title(format!("{} — {}", t.id, t.title))
            .set_subject(format!("Retour {} à compléter (version {})", t.id, t.newest_version()))
            .set_company("Région")
            .set_comment("Généré par bilan template à partir du schéma du modèle.")
            .set_creation_datetime(&created),
    );
    let mut lists = Lists::default();
    for spec in &t.sheets {
        let ws = wb.add_worksheet();
        ws.set_name(&spec.name)
            .map_err(|e| fail(format!("feuille « {} » : {e}", spec.name)))?;
        let container = data.map(|d| {
            if spec.key.is_empty() {
                d
            } else {
                d.get(&spec.key).unwrap_or(&Value::Null)
            }
        });
        let mut writer = SheetWriter {
            t,
            spec,
            data: container,
            ws,
            widths: BTreeMap::new(),
            lists: &mut lists,
            notes: &notes,
            layout: &mut layout,
        };
        writer
            .write()
            .map_err(|e| fail(format!("feuille « {} » : {e}", spec.name)))?;
    }
    live::write(&mut wb, &layout, checks, probes, data.is_none()).map_err(|e| fail(e.to_string()))?;
    if !lists.columns.is_empty() {
        let ws = wb.add_worksheet();
        ws.set_name(LISTS_SHEET).map_err(|e| fail(e.to_string()))?;
        for (col, values) in lists.columns.iter().enumerate() {
            for (row, v) in values.iter().enumerate() {
                ws.write_string(row as u32, col as u16, v)
                    .map_err(|e| fail(e.to_string()))?;
            }
        }
        ws.protect();
        ws.set_very_hidden(true);
    }
    if t.sheet(crate::pipeline::justify::SHEET).is_none() {
        justifications_sheet(wb.add_worksheet()).map_err(|e| fail(format!("feuille « Justifications » : {e}")))?;
    }
    wb.save_to_buffer()
        .map_err(|e| fail(format!("écriture du classeur : {e}")))
}

/// The optional `Justifications` sheet (comply or explain, `spec/campaign.md`):
/// last, empty, unprotected, with its header row `Règle | Cellule | Justification`.
fn justifications_sheet(ws: &mut Worksheet) -> Result<(), XlsxError> {
    ws.set_name(crate::pipeline::justify::SHEET)?;
    ws.write_string_with_format(
        0,
        0,
        "Facultatif : pour un avertissement ou une information exacts, expliquez-les ici plutôt que de modifier un chiffre juste.",
        &Format::new().set_bold(),
    )?;
    ws.write_string(
        1,
        0,
        "Recopiez la règle et la cellule depuis la feuille « Constats » du rapport de contrôle (par exemple PROG-OBJ-001 et Objectifs!E7). Les erreurs ne se justifient pas : elles se corrigent.",
    )?;
    for (col, header) in crate::pipeline::justify::HEADERS.iter().enumerate() {
        ws.write_string_with_format(3, col as u16, *header, &header_format())?;
    }
    ws.set_column_width(0, 16)?;
    ws.set_column_width(1, 18)?;
    ws.set_column_width(2, 90)?;
    ws.set_freeze_panes(4, 0)?;
    Ok(())
}

/// Enumerations too long for an in-cell list, written on [`LISTS_SHEET`].
#[derive(Default)]
struct Lists {
    columns: Vec<Vec<String>>,
}

impl Lists {
    /// The range holding `values` (added on first use).
    fn range_of(&mut self, values: &[String]) -> String {
        let col = match self.columns.iter().position(|c| c == values) {
            Some(i) => i,
            None => {
                self.columns.push(values.to_vec());
                self.columns.len() - 1
            }
        };
        let letters = column_letters(col as u32);
        format!("={LISTS_SHEET}!${letters}$1:${letters}${}", values.len().max(1))
    }
}

struct SheetWriter<'a> {
    t: &'a Template,
    spec: &'a SheetSpec,
    /// Fill mode: the document's object for this sheet (the root for a sheet
    /// that is one top-level table). `None`: a blank return.
    data: Option<&'a Value>,
    ws: &'a mut Worksheet,
    /// Column → widest content, in characters.
    widths: BTreeMap<u16, usize>,
    lists: &'a mut Lists,
    /// Live-check lines of the input message, by pointer pattern.
    notes: &'a BTreeMap<String, Vec<String>>,
    /// Where each value goes, for the live checks.
    layout: &'a mut Layout,
}
