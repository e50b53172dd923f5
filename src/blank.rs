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
    let checks = live::checks(t, pack).map_err(|message| BlankError {
        template: t.id.clone(),
        message,
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

const INPUT_FILL: u32 = 0xFFF8DC;
const LOCKED_FILL: u32 = 0xE7E6E6;
const HEADER_FILL: u32 = 0xD9E1F2;
const BORDER: u32 = 0xA6A6A6;

fn label_format(required: bool) -> Format {
    let f = Format::new().set_align(FormatAlign::VerticalCenter);
    if required {
        f.set_bold()
    } else {
        f
    }
}

fn header_format() -> Format {
    Format::new()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter)
        .set_background_color(Color::RGB(HEADER_FILL))
        .set_pattern(FormatPattern::Solid)
        .set_border(FormatBorder::Thin)
        .set_border_color(Color::RGB(BORDER))
}

fn fixed_format() -> Format {
    Format::new()
        .set_bold()
        .set_background_color(Color::RGB(LOCKED_FILL))
        .set_pattern(FormatPattern::Solid)
        .set_border(FormatBorder::Thin)
        .set_border_color(Color::RGB(BORDER))
}

/// The number format a field's cells display with.
fn num_format(f: &FieldSpec) -> Option<&'static str> {
    match &f.kind {
        ValueKind::Integer => Some("0"),
        ValueKind::Number => match f.unit {
            Some(Unit::Euro) | Some(Unit::KiloEuro) => Some("#,##0.00"),
            Some(Unit::MegaEuro) | Some(Unit::BillionEuro) => Some("#,##0.000"),
            Some(Unit::Percent) => Some("0.00"),
            None => None,
        },
        ValueKind::Date => Some("dd/mm/yyyy"),
        ValueKind::Text | ValueKind::Enum(_) => Some("@"),
        ValueKind::Boolean => None,
    }
}

/// An unlocked input cell of field `f`.
fn input_format(f: &FieldSpec) -> Format {
    let base = Format::new()
        .set_unlocked()
        .set_background_color(Color::RGB(INPUT_FILL))
        .set_pattern(FormatPattern::Solid)
        .set_border(FormatBorder::Thin)
        .set_border_color(Color::RGB(BORDER));
    match num_format(f) {
        Some(n) => base.set_num_format(n),
        None => base,
    }
}

fn total_format(f: Option<&FieldSpec>) -> Format {
    let base = fixed_format();
    match f.and_then(num_format).filter(|n| *n != "@") {
        Some(n) => base.set_num_format(n),
        None => base,
    }
}

/// A field whose value the blank return fills in and locks: `Modèle` and
/// `Version` of the `Identification` sheet (common to every template).
fn fixed_value(t: &Template, spec: &SheetSpec, f: &FieldSpec) -> Option<String> {
    if normalize_label(&spec.name) != "identification" {
        return None;
    }
    match normalize_label(&f.label).as_str() {
        "modele" => Some(
            f.schema
                .get("const")
                .and_then(Value::as_str)
                .unwrap_or(&t.id)
                .to_string(),
        ),
        "version" => Some(t.newest_version().to_string()),
        _ => None,
    }
}

/// The text a blank title cell starts with.
pub fn title_prefill(f: &FieldSpec) -> String {
    if let Some(s) = f.schema.get("default").and_then(Value::as_str) {
        return s.to_string();
    }
    if let Some(s) = f
        .schema
        .get("examples")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_str)
    {
        return s.to_string();
    }
    if let Some(d) = &f.description {
        if let (Some(open), Some(close)) = (d.find('«'), d.find('»')) {
            let quoted = d.get(open + '«'.len_utf8()..close).map(str::trim).unwrap_or_default();
            if !quoted.is_empty() {
                return format!("{quoted} …");
            }
        }
    }
    f.label.clone()
}

/// Excel counts message lengths in UTF-16 units.
pub(crate) fn clip(text: &str, max: usize) -> String {
    if text.encode_utf16().count() <= max {
        return text.to_string();
    }
    let mut out = String::new();
    for c in text.chars() {
        if out.encode_utf16().count() + c.len_utf16() + 1 > max {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

/// Bounds of a numeric schema: `(value, exclusive)`.
struct Bounds {
    min: Option<(f64, bool)>,
    max: Option<(f64, bool)>,
}

fn bounds(schema: &Value) -> Bounds {
    let get = |k: &str| schema.get(k).and_then(Value::as_f64);
    Bounds {
        min: get("minimum")
            .map(|v| (v, false))
            .or_else(|| get("exclusiveMinimum").map(|v| (v, true))),
        max: get("maximum")
            .map(|v| (v, false))
            .or_else(|| get("exclusiveMaximum").map(|v| (v, true))),
    }
}

fn to_i32(v: f64) -> i32 {
    v.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32
}

fn xl_date((y, m, d): (u16, u8, u8)) -> Result<ExcelDateTime, XlsxError> {
    ExcelDateTime::from_ymd(y, m, d)
}

impl SheetWriter<'_> {
    fn fits(&mut self, col: u16, chars: usize) {
        let w = self.widths.entry(col).or_insert(0);
        *w = (*w).max(chars);
    }

    fn write(&mut self) -> Result<(), XlsxError> {
        let spec = self.spec;
        let mut row: u32 = 0;
        let title = spec
            .blocks
            .iter()
            .find_map(|b| if let Block::Title(f) = b { Some(f) } else { None });
        if let Some(f) = title {
            let text = match self.data {
                None => Some(title_prefill(f)),
                Some(d) => d.get(&f.key).map(display_json),
            };
            let fmt = input_format(f).set_bold().set_font_size(14);
            match text {
                Some(s) => self.ws.write_string_with_format(0, 0, s, &fmt)?,
                None => self.ws.write_blank(0, 0, &fmt)?,
            };
            self.ws.set_row_height(0, 22)?;
            let pointer = format!("{}/{}", spec.pointer(), f.key);
            self.validate(f, &pointer, CellRef::new(0, 0), 0, false)?;
            row = 1;
        }
        let instruction = self.instruction(row);
        self.ws.write_string_with_format(
            row,
            0,
            instruction,
            &Format::new().set_italic().set_font_color(Color::RGB(0x595959)),
        )?;
        row += 2;
        let mut wrote_fields = false;
        for block in &spec.blocks {
            if let Block::Field(f) = block {
                self.field(f, row)?;
                row += 1;
                wrote_fields = true;
            }
        }
        if wrote_fields {
            row += 1;
        }
        let tables: Vec<&TableSpec> = spec
            .blocks
            .iter()
            .filter_map(|b| if let Block::Table(tb) = b { Some(tb) } else { None })
            .collect();
        for tb in &tables {
            let header_row = row;
            row = self.table(tb, row)? + 2;
            if tables.len() == 1 && !wrote_fields {
                self.ws.set_freeze_panes(header_row + 1, 0)?;
            }
        }
        for (col, chars) in std::mem::take(&mut self.widths) {
            self.ws.set_column_width(col, (chars + 2).clamp(8, 60) as f64)?;
        }
        self.ws.set_landscape();
        self.ws.set_print_fit_to_pages(1, 0);
        self.ws.protect_with_options(&ProtectionOptions {
            insert_rows: true,
            format_columns: true,
            format_rows: true,
            ..ProtectionOptions::new()
        });
        Ok(())
    }

    /// The sheet's instruction line; `row` is where it goes (0-based).
    fn instruction(&self, row: u32) -> String {
        let spec = self.spec;
        let mut parts: Vec<String> = Vec::new();
        let table_description = spec.blocks.iter().find_map(|b| {
            if let Block::Table(tb) = b {
                tb.description.clone()
            } else {
                None
            }
        });
        if let Some(d) = spec.description.clone().or(table_description) {
            parts.push(d.trim().to_string());
        }
        if spec.blocks.iter().any(|b| matches!(b, Block::Title(_))) {
            parts.push("Complétez le titre en A1.".into());
        }
        let fields = spec.blocks.iter().filter(|b| matches!(b, Block::Field(_))).count() as u32;
        if fields > 0 {
            parts.push("Saisissez chaque valeur en colonne B, en face de son libellé (en gras : obligatoire).".into());
        }
        if let Some(tb) = spec
            .blocks
            .iter()
            .find_map(|b| if let Block::Table(tb) = b { Some(tb) } else { None })
        {
            let first = row + 2 + if fields > 0 { fields + 1 } else { 0 } + 2;
            let mut s = format!("Tableau : une ligne par enregistrement à partir de la ligne {first}, sans ligne vide");
            if tb.total.is_some() {
                s.push_str(" ; la ligne TOTAL se calcule seule");
            }
            s.push('.');
            parts.push(s);
        }
        parts.join(" ")
    }

    /// A label/value field on `row`: label in A, value in B.
    fn field(&mut self, f: &FieldSpec, row: u32) -> Result<(), XlsxError> {
        let pointer = format!("{}/{}", self.spec.pointer(), f.key);
        self.layout.cells.insert(
            pointer.clone(),
            Place {
                sheet: self.spec.name.clone(),
                at: CellRef::new(row, 1),
                empty_is_zero: f.empty_is_zero,
            },
        );
        self.ws
            .write_string_with_format(row, 0, &f.label, &label_format(f.required))?;
        self.fits(0, f.label.chars().count());
        let value = self.data.and_then(|d| d.get(&f.key));
        if let Some(fixed) = fixed_value(self.t, self.spec, f) {
            let text = match (self.data, value) {
                (None, _) => Some(fixed),
                (Some(_), v) => v.map(display_json),
            };
            match text {
                Some(s) => {
                    self.fits(1, s.chars().count());
                    self.ws.write_string_with_format(row, 1, s, &fixed_format())?
                }
                None => self.ws.write_blank(row, 1, &fixed_format())?,
            };
            return Ok(());
        }
        let fmt = input_format(f);
        match value {
            Some(v) => write_value(self.ws, row, 1, f, v, &fmt)?,
            None => {
                self.ws.write_blank(row, 1, &fmt)?;
            }
        }
        self.fits(1, value_width(f, false));
        self.validate(f, &pointer, CellRef::new(row, 1), 0, false)
    }

    /// A table whose header is on `row`; returns the last row it uses.
    fn table(&mut self, tb: &TableSpec, row: u32) -> Result<u32, XlsxError> {
        let header = header_format();
        let mut lines = 1;
        for (i, c) in tb.columns.iter().enumerate() {
            let col = i as u16;
            self.ws.write_string_with_format(row, col, &c.label, &header)?;
            let width = value_width(c, true).max(c.label.chars().count().min(24));
            self.fits(col, width);
            lines = lines.max(c.label.chars().count().div_ceil(width.max(1)));
        }
        self.ws.set_row_height(row, 15 * lines.min(4) as u32 + 3)?;
        let items: &[Value] = self
            .data
            .and_then(|d| d.get(&tb.key))
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let first = row + 1;
        let count = TABLE_ROWS.max(items.len() as u32);
        let last = first + count - 1;
        let table = format!("{}/{}", self.spec.pointer(), tb.key);
        self.layout.tables.insert(
            table.clone(),
            TableArea {
                sheet: self.spec.name.clone(),
                first_row: first,
                last_row: last,
                first_col: 0,
                last_col: tb.columns.len().saturating_sub(1) as u32,
            },
        );
        for (i, c) in tb.columns.iter().enumerate() {
            let col = i as u16;
            let fmt = input_format(c);
            for r in first..=last {
                let value = items.get((r - first) as usize).and_then(|item| item.get(&c.key));
                match value {
                    Some(v) => write_value(self.ws, r, col, c, v, &fmt)?,
                    None => {
                        self.ws.write_blank(r, col, &fmt)?;
                    }
                }
            }
            let pattern = format!("{table}/*/{}", c.key);
            self.layout.columns.insert(
                pattern.clone(),
                ColumnPlace {
                    table: table.clone(),
                    col: u32::from(col),
                    empty_is_zero: c.empty_is_zero,
                },
            );
            self.validate(c, &pattern, CellRef::new(first, u32::from(col)), last - first, true)?;
        }
        let Some(total) = &tb.total else { return Ok(last) };
        let total_row = last + 1;
        let document_total = self.data.map(|d| d.get(&total.key));
        if let Some(None) = document_total {
            // Filling a document without a TOTAL row: none is written.
            return Ok(last);
        }
        self.ws
            .write_string_with_format(total_row, 0, "TOTAL", &total_format(None))?;
        let parts = crate::pipeline::template::annotations::has_parts(
            &self.t.schema,
            &format!("{}/{}", self.spec.pointer(), tb.key),
        );
        for (i, c) in tb.columns.iter().enumerate().skip(1) {
            let col = i as u16;
            let fmt = total_format(Some(c));
            if !total.columns.contains(&c.key) {
                self.ws.write_blank(total_row, col, &fmt)?;
                continue;
            }
            let pointer = format!("{}/{}/{}", self.spec.pointer(), total.key, c.key);
            self.layout.cells.insert(
                pointer.clone(),
                Place {
                    sheet: self.spec.name.clone(),
                    at: CellRef::new(total_row, u32::from(col)),
                    empty_is_zero: c.empty_is_zero,
                },
            );
            if let Some(lines) = self.notes.get(&pointer) {
                let dv = DataValidation::new()
                    .allow_any_value()
                    .set_input_title(clip(&format!("TOTAL {}", c.label), 32))?
                    .set_input_message(clip(&lines.join("\n"), 255))?;
                self.ws.add_data_validation(total_row, col, total_row, col, &dv)?;
            }
            match document_total {
                Some(Some(values)) => match values.get(&c.key) {
                    Some(v) => write_value(self.ws, total_row, col, c, v, &fmt)?,
                    None => {
                        self.ws.write_blank(total_row, col, &fmt)?;
                    }
                },
                // Rows that are parts of another: the total is not their plain sum.
                _ if parts => {
                    self.ws.write_blank(total_row, col, &input_format(c))?;
                }
                _ => {
                    let letters = column_letters(u32::from(col));
                    let formula =
                        Formula::new(format!("SUM({letters}{}:{letters}{})", first + 1, last + 1)).set_result("0");
                    self.ws.write_formula_with_format(total_row, col, formula, &fmt)?;
                }
            }
        }
        Ok(total_row)
    }

    /// Adds the data validation of `f` to `rows + 1` cells from `at` down.
    fn validate(
        &mut self,
        f: &FieldSpec,
        pointer: &str,
        at: CellRef,
        rows: u32,
        in_table: bool,
    ) -> Result<(), XlsxError> {
        let lines = self.notes.get(pointer).map(Vec::as_slice).unwrap_or_default();
        let dv = self.validation(f, at, in_table, lines)?;
        self.ws
            .add_data_validation(at.row, at.col as u16, at.row + rows, at.col as u16, &dv)?;
        Ok(())
    }

    fn validation(
        &mut self,
        f: &FieldSpec,
        at: CellRef,
        in_table: bool,
        live_lines: &[String],
    ) -> Result<DataValidation, XlsxError> {
        let expected = expected_fr(f);
        let mut dv = DataValidation::new();
        let mut warn_only = false;
        let mut refuses_nothing = false;
        match &f.kind {
            ValueKind::Enum(values) => {
                let joined = values.join(",");
                dv = if joined.encode_utf16().count() <= 255
                    && !values.iter().any(|v| v.contains(',') || v.contains('"'))
                {
                    dv.allow_list_strings(values)?
                } else {
                    dv.allow_list_formula(Formula::new(self.lists.range_of(values)))
                };
            }
            ValueKind::Boolean => dv = dv.allow_list_strings(&["oui", "non"])?,
            ValueKind::Integer => {
                let b = bounds(&f.schema);
                let lo = b
                    .min
                    .map(|(v, excl)| to_i32(if excl { v.floor() + 1.0 } else { v.ceil() }));
                let hi = b
                    .max
                    .map(|(v, excl)| to_i32(if excl { v.ceil() - 1.0 } else { v.floor() }));
                dv = dv.allow_whole_number(match (lo, hi) {
                    (Some(lo), Some(hi)) => DataValidationRule::Between(lo, hi),
                    (Some(lo), None) => DataValidationRule::GreaterThanOrEqualTo(lo),
                    (None, Some(hi)) => DataValidationRule::LessThanOrEqualTo(hi),
                    (None, None) => DataValidationRule::Between(i32::MIN, i32::MAX),
                });
            }
            ValueKind::Number => {
                let b = bounds(&f.schema);
                dv = dv.allow_decimal_number(match (b.min, b.max) {
                    (Some((lo, _)), Some((hi, _))) => DataValidationRule::Between(lo, hi),
                    (Some((lo, true)), None) => DataValidationRule::GreaterThan(lo),
                    (Some((lo, false)), None) => DataValidationRule::GreaterThanOrEqualTo(lo),
                    (None, Some((hi, true))) => DataValidationRule::LessThan(hi),
                    (None, Some((hi, false))) => DataValidationRule::LessThanOrEqualTo(hi),
                    (None, None) => DataValidationRule::Between(-1e15, 1e15),
                });
            }
            ValueKind::Date => {
                dv = dv.allow_date(DataValidationRule::Between(xl_date(FIRST_DATE)?, xl_date(LAST_DATE)?));
                warn_only = in_table;
            }
            ValueKind::Text => {
                let cell = format!("{}{}", column_letters(at.col), at.row + 1);
                if f.schema.get("format").and_then(Value::as_str) == Some("email") {
                    dv = dv.allow_custom(Formula::new(format!(
                        "AND(ISERROR(FIND(\" \",{cell})),ISNUMBER(SEARCH(\"?*@?*.?*\",{cell})))"
                    )));
                } else if let Some(max) = f.schema.get("maxLength").and_then(Value::as_u64) {
                    dv = dv.allow_text_length(DataValidationRule::LessThanOrEqualTo(
                        u32::try_from(max).unwrap_or(u32::MAX),
                    ));
                } else {
                    // Free text: an input message, nothing to refuse.
                    dv = dv.allow_any_value();
                    refuses_nothing = true;
                }
            }
        }
        let mut input = String::new();
        if let Some(d) = &f.description {
            input.push_str(d.trim());
            input.push('\n');
        }
        let short = match &f.kind {
            ValueKind::Enum(_) | ValueKind::Boolean => "une valeur de la liste déroulante".to_string(),
            _ => expected.clone(),
        };
        input.push_str(&format!(
            "Attendu : {short}{}",
            if f.required {
                " (obligatoire)."
            } else {
                " (facultatif)."
            }
        ));
        let error = match (&f.kind, warn_only) {
            (ValueKind::Date, true) => format!(
                "« {} » : une date entre le {} et le {} est attendue (jj/mm/aaaa). Une date approximative (« juin 2010 », « 1er semestre 2009 ») est acceptée : cliquez sur Oui pour la garder.",
                f.label,
                fr_date(FIRST_DATE),
                fr_date(LAST_DATE)
            ),
            (ValueKind::Date, _) => format!("« {} » : saisissez une date entre le {} et le {} (jj/mm/aaaa).", f.label, fr_date(FIRST_DATE), fr_date(LAST_DATE)),
            _ => format!("« {} » : valeur refusée. Attendu : {expected}.", f.label),
        };
        // The live checks' lines come first: never cut off by a long description.
        let input = if live_lines.is_empty() {
            clip(&input, 255)
        } else {
            let checks = clip(&live_lines.join("\n"), 200);
            let room = 255 - checks.encode_utf16().count() - 1;
            format!("{checks}\n{}", clip(&input, room))
        };
        dv = dv.set_input_title(clip(&f.label, 32))?.set_input_message(input)?;
        if !refuses_nothing {
            dv = dv
                .set_error_title(if warn_only {
                    "Valeur inhabituelle"
                } else {
                    "Valeur refusée"
                })?
                .set_error_message(clip(&error, 255))?
                .set_error_style(if warn_only {
                    DataValidationErrorStyle::Warning
                } else {
                    DataValidationErrorStyle::Stop
                });
        }
        Ok(dv)
    }
}

fn fr_date((y, m, d): (u16, u8, u8)) -> String {
    format!("{d:02}/{m:02}/{y:04}")
}

/// Width (characters) a value column needs.
fn value_width(f: &FieldSpec, in_table: bool) -> usize {
    match &f.kind {
        ValueKind::Integer => 10,
        ValueKind::Number => 16,
        ValueKind::Date => 12,
        ValueKind::Boolean => 8,
        ValueKind::Enum(values) => values.iter().map(|v| v.chars().count()).max().unwrap_or(8) + 3,
        ValueKind::Text => {
            if in_table {
                30
            } else {
                40
            }
        }
    }
}

/// A JSON scalar as the text a cell shows.
fn display_json(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Writes a document value into a cell of field `f`: numbers as numbers, a day
/// as a real date, a coarser date (`2010-06`, `2009-S1`) as its French text, the
/// rest as text (never as a formula).
fn write_value(
    ws: &mut Worksheet,
    row: u32,
    col: u16,
    f: &FieldSpec,
    v: &Value,
    fmt: &Format,
) -> Result<(), XlsxError> {
    match v {
        Value::Null => {
            ws.write_blank(row, col, fmt)?;
        }
        Value::Bool(b) => {
            ws.write_boolean_with_format(row, col, *b, fmt)?;
        }
        Value::Number(n) => {
            ws.write_number_with_format(row, col, n.as_f64().unwrap_or_default(), fmt)?;
        }
        Value::String(s) if f.kind == ValueKind::Date => match DateInterval::from_canonical(s) {
            Some(d) if d.precision == Precision::Day => {
                let day = ExcelDateTime::from_ymd(
                    u16::try_from(d.start.year).unwrap_or(1900),
                    d.start.month as u8,
                    d.start.day as u8,
                )?;
                ws.write_datetime_with_format(row, col, &day, fmt)?;
            }
            Some(d) => {
                ws.write_string_with_format(row, col, d.display_fr(), fmt)?;
            }
            None => {
                ws.write_string_with_format(row, col, s, fmt)?;
            }
        },
        Value::String(s) => {
            ws.write_string_with_format(row, col, s, fmt)?;
        }
        other => {
            ws.write_string_with_format(row, col, other.to_string(), fmt)?;
        }
    }
    Ok(())
}
