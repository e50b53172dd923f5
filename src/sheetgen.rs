//! Writing an `.xlsx` from a declarative description (a [`WorkbookSpec`], usually
//! JSON): how the test fixtures under `fixtures/` are made.
//!
//! A sheet is a list of blocks; each block writes a rectangle of rows from its
//! top-left cell. A cell is JSON `null` (nothing), a boolean, a number, a string
//! (always written as text, even when it starts with `=`), or an object:
//!
//! | JSON | cell |
//! |---|---|
//! | `{"date": "2010-03-31"}` | a real Excel date, shown `dd/mm/yyyy` |
//! | `{"formula": "=B2+B3", "value": 12}` | a formula with its cached value (number, text, boolean or error such as `"#REF!"`) |
//! | `{"formula": "=B2+B3"}` | a formula saved **without** a cached value |
//! | `{"error": "#REF!"}` | an Excel error value, without formula |
//! | `{"text": "=HYPERLINK(\"http://x\",\"y\")"}` | text, spelled out |
//! | `{"number": 0.73, "format": "0%"}` | a number with a number format (shown `73 %`) |
//!
//! rust_xlsxwriter always stores a result next to a formula and writes error
//! values only as formula results, so two kinds of cells are fixed up in the
//! saved zip afterwards (see [`patch_cells`]): a formula without value loses its
//! `<v>`, an error value loses its `<f>`.

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Formula, Workbook, Worksheet, XlsxError};
use serde::{Deserialize, Serialize};

use crate::base::model::{CellRange, CellRef};

/// A whole workbook: its sheets, in order.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WorkbookSpec {
    pub sheets: Vec<SheetSpec>,
}

/// One worksheet.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SheetSpec {
    pub name: String,
    /// Each block writes a rectangle of rows starting at its `at` cell.
    #[serde(default)]
    pub blocks: Vec<BlockSpec>,
    /// Merged ranges such as `"A1:C1"`; the value stays in the first cell (write
    /// it with a block).
    #[serde(default)]
    pub merges: Vec<String>,
    /// Column letter → width (in Excel character units).
    #[serde(default)]
    pub widths: BTreeMap<String, f64>,
}

/// Rows of cells written from `at` (e.g. `"A3"`) rightwards and downwards.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BlockSpec {
    pub at: String,
    pub rows: Vec<Vec<CellSpec>>,
}

/// One cell. JSON `null` writes nothing.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum CellSpec {
    Empty(()),
    Bool(bool),
    Number(f64),
    Text(String),
    Typed(TypedCell),
}

/// A cell given as an object: exactly one of `date`, `formula`, `error`, `text`,
/// `number` (and `value` only with `formula`, `format` only with `number`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TypedCell {
    /// `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// With or without the leading `=`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formula: Option<String>,
    /// The formula's cached value; absent: saved without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<FormulaValue>,
    /// `#REF!`, `#DIV/0!`, `#N/A`, `#NAME?`, `#NULL!`, `#NUM!` or `#VALUE!`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// A number written with the number format `format` (`0%`, `0.00%`, `#,##0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

/// The cached value of a formula. A text that is an error name (`"#REF!"`) is
/// stored as an error result.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum FormulaValue {
    Bool(bool),
    Number(f64),
    Text(String),
}

const ERROR_VALUES: [&str; 7] = ["#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!"];

/// A cell whose XML must be rewritten once the workbook is saved.
#[derive(Debug, Clone, PartialEq)]
enum Patch {
    /// Keep `<f>`, drop the cached value.
    DropValue,
    /// Keep the error value, drop the placeholder `<f>`.
    DropFormula,
}

/// Why a described workbook could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SheetgenError {
    #[error("le classeur décrit n'a aucune feuille")]
    NoSheet,
    #[error("feuille « {sheet} » : nom refusé : {source}")]
    SheetName { sheet: String, source: XlsxError },
    /// A cell, a merge or a width the sheet's description gets wrong.
    #[error("feuille « {sheet} » : {reason}")]
    Sheet { sheet: String, reason: String },
    #[error("écriture du classeur : {0}")]
    Save(XlsxError),
    #[error("{0}")]
    Date(XlsxError),
    /// The saved package could not be rewritten (formulas without value).
    #[error("{0}")]
    Patch(String),
}

/// Writes the workbook described by `spec` and returns the `.xlsx` bytes.
pub fn write_xlsx(spec: &WorkbookSpec) -> Result<Vec<u8>, SheetgenError> {
    if spec.sheets.is_empty() {
        return Err(SheetgenError::NoSheet);
    }
    let mut workbook = Workbook::new();
    // A fixed creation date: the same description always gives the same file.
    let created = ExcelDateTime::from_ymd(2010, 4, 15).map_err(SheetgenError::Date)?;
    workbook.set_properties(&DocProperties::new().set_creation_datetime(&created));
    let date_format = Format::new().set_num_format("dd/mm/yyyy");
    // (sheet index, cell "B7") → patch.
    let mut patches: Vec<(usize, String, Patch)> = Vec::new();
    for (index, sheet) in spec.sheets.iter().enumerate() {
        let ws = workbook.add_worksheet();
        ws.set_name(&sheet.name).map_err(|source| SheetgenError::SheetName {
            sheet: sheet.name.clone(),
            source,
        })?;
        write_sheet(ws, sheet, &date_format, &mut |cell, patch| {
            patches.push((index, cell, patch))
        })
        .map_err(|reason| SheetgenError::Sheet {
            sheet: sheet.name.clone(),
            reason,
        })?;
    }
    let bytes = workbook.save_to_buffer().map_err(SheetgenError::Save)?;
    if patches.is_empty() {
        return Ok(bytes);
    }
    patch_cells(&bytes, &patches).map_err(SheetgenError::Patch)
}

fn write_sheet(
    ws: &mut Worksheet,
    sheet: &SheetSpec,
    date_format: &Format,
    patch: &mut dyn FnMut(String, Patch),
) -> Result<(), String> {
    for (letters, width) in &sheet.widths {
        let col = CellRef::parse(&format!("{letters}1"))
            .ok_or_else(|| format!("colonne « {letters} » invalide (largeur)"))?;
        ws.set_column_width(col.col as u16, *width)
            .map_err(|e| format!("largeur de la colonne {letters} : {e}"))?;
    }
    // Merges first: merge_range writes its own (empty) first cell, which the
    // blocks then overwrite with the real value.
    for m in &sheet.merges {
        let r = CellRange::parse(m)
            .filter(|r| !r.is_single())
            .ok_or_else(|| format!("plage fusionnée « {m} » invalide (attendu A1:C1)"))?;
        ws.merge_range(
            r.start.row,
            r.start.col as u16,
            r.end.row,
            r.end.col as u16,
            "",
            &Format::new(),
        )
        .map_err(|e| format!("fusion {m} : {e}"))?;
    }
    for block in &sheet.blocks {
        let at = CellRef::parse(&block.at).ok_or_else(|| format!("cellule de départ « {} » invalide", block.at))?;
        for (dr, row) in block.rows.iter().enumerate() {
            for (dc, cell) in row.iter().enumerate() {
                let pos = u32::try_from(dr)
                    .ok()
                    .and_then(|dr| at.row.checked_add(dr))
                    .zip(u32::try_from(dc).ok().and_then(|dc| at.col.checked_add(dc)))
                    .map(|(row, col)| CellRef::new(row, col))
                    .filter(|p| p.row < 1_048_576 && p.col < 16_384)
                    .ok_or_else(|| {
                        format!(
                            "bloc en {} : la ligne {} colonne {} sort de la feuille",
                            block.at,
                            dr + 1,
                            dc + 1
                        )
                    })?;
                write_cell(ws, pos, cell, date_format, patch).map_err(|e| format!("{pos} : {e}"))?;
            }
        }
    }
    Ok(())
}

fn write_cell(
    ws: &mut Worksheet,
    pos: CellRef,
    cell: &CellSpec,
    date_format: &Format,
    patch: &mut dyn FnMut(String, Patch),
) -> Result<(), String> {
    let (row, col) = (pos.row, pos.col as u16);
    let written = match cell {
        CellSpec::Empty(()) => return Ok(()),
        CellSpec::Bool(b) => ws.write_boolean(row, col, *b),
        CellSpec::Number(n) => ws.write_number(row, col, *n),
        CellSpec::Text(s) => ws.write_string(row, col, s),
        CellSpec::Typed(t) => match typed_kind(t)? {
            Kind::Text(s) => ws.write_string(row, col, s),
            Kind::Number(n, format) => ws.write_number_with_format(row, col, n, &Format::new().set_num_format(format)),
            Kind::Date(d) => {
                let date = parse_date(d)?;
                ws.write_datetime_with_format(row, col, &date, date_format)
            }
            Kind::Formula(f, value) => {
                let f = f.strip_prefix('=').unwrap_or(f);
                if f.trim().is_empty() {
                    return Err("formule vide".to_string());
                }
                let result = match value {
                    Some(FormulaValue::Number(n)) => n.to_string(),
                    Some(FormulaValue::Bool(b)) => if *b { "TRUE" } else { "FALSE" }.to_string(),
                    Some(FormulaValue::Text(s)) => s.clone(),
                    None => {
                        patch(pos.to_string(), Patch::DropValue);
                        String::new()
                    }
                };
                ws.write_formula(row, col, Formula::new(f).set_result(result))
            }
            Kind::Error(e) => {
                if !ERROR_VALUES.contains(&e) {
                    return Err(format!(
                        "valeur d'erreur « {e} » inconnue (attendu l'une de {})",
                        ERROR_VALUES.join(" ")
                    ));
                }
                // Written as a formula whose result is the error, then the
                // formula is removed from the saved file.
                patch(pos.to_string(), Patch::DropFormula);
                ws.write_formula(row, col, Formula::new(e).set_result(e))
            }
        },
    };
    written.map(|_| ()).map_err(|e| e.to_string())
}

enum Kind<'a> {
    Text(&'a str),
    Number(f64, &'a str),
    Date(&'a str),
    Formula(&'a str, Option<&'a FormulaValue>),
    Error(&'a str),
}

fn typed_kind(t: &TypedCell) -> Result<Kind<'_>, String> {
    let given = [
        t.date.is_some(),
        t.formula.is_some(),
        t.error.is_some(),
        t.text.is_some(),
        t.number.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if given != 1 {
        return Err("une cellule objet prend exactement une clé parmi date, formula, error, text, number".to_string());
    }
    if t.value.is_some() && t.formula.is_none() {
        return Err("« value » ne s'emploie qu'avec « formula »".to_string());
    }
    if t.format.is_some() && t.number.is_none() {
        return Err("« format » ne s'emploie qu'avec « number »".to_string());
    }
    if let Some(n) = t.number {
        return Ok(Kind::Number(n, t.format.as_deref().unwrap_or("General")));
    }
    Ok(match (&t.date, &t.formula, &t.error, &t.text) {
        (Some(d), ..) => Kind::Date(d),
        (_, Some(f), ..) => Kind::Formula(f, t.value.as_ref()),
        (_, _, Some(e), _) => Kind::Error(e),
        (.., Some(s)) => Kind::Text(s),
        _ => return Err("cellule objet vide".to_string()),
    })
}

/// `YYYY-MM-DD`, checked (rust_xlsxwriter's own parser reads junk as 0).
fn parse_date(s: &str) -> Result<ExcelDateTime, String> {
    let bad = || format!("date « {s} » invalide (attendu AAAA-MM-JJ)");
    let parts: Vec<&str> = s.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(bad());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let y: u16 = y.parse().map_err(|_| bad())?;
    let m: u8 = m.parse().map_err(|_| bad())?;
    let d: u8 = d.parse().map_err(|_| bad())?;
    ExcelDateTime::from_ymd(y, m, d).map_err(|e| format!("{}: {e}", bad()))
}

/// Rewrites the XML of the listed cells in the saved zip. rust_xlsxwriter
/// stores sheet `i` (0-based, in the order added) as `xl/worksheets/sheet{i+1}.xml`
/// and every formula cell as `<c r=".." [s=".."] [t=".."]><f>..</f><v>..</v></c>`.
fn patch_cells(xlsx: &[u8], patches: &[(usize, String, Patch)]) -> Result<Vec<u8>, String> {
    let zip_err = |e: zip::result::ZipError| format!("réécriture du zip : {e}");
    let mut archive = zip::ZipArchive::new(Cursor::new(xlsx)).map_err(zip_err)?;
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(zip_err)?;
        let name = entry.name().map_err(zip_err)?.to_string();
        let mut data = Vec::new();
        entry
            .read_to_end(&mut data)
            .map_err(|e| format!("réécriture du zip ({name}) : {e}"))?;
        let mine: Vec<&(usize, String, Patch)> = patches
            .iter()
            .filter(|(sheet, ..)| name == format!("xl/worksheets/sheet{}.xml", sheet + 1))
            .collect();
        if !mine.is_empty() {
            let mut xml = String::from_utf8(data).map_err(|e| format!("{name} n'est pas de l'UTF-8 : {e}"))?;
            for (_, cell, patch) in mine {
                xml = patch_cell(&xml, cell, patch)
                    .ok_or_else(|| format!("{name} : cellule {cell} introuvable ou inattendue"))?;
            }
            data = xml.into_bytes();
        }
        out.start_file(name.as_str(), options).map_err(zip_err)?;
        out.write_all(&data)
            .map_err(|e| format!("réécriture du zip ({name}) : {e}"))?;
    }
    Ok(out.finish().map_err(zip_err)?.into_inner())
}

/// The sheet XML with cell `cell` rewritten; `None` if the cell is not a formula cell.
fn patch_cell(xml: &str, cell: &str, patch: &Patch) -> Option<String> {
    let start = xml.find(&format!("<c r=\"{cell}\""))?;
    let len = xml[start..].find("</c>")? + "</c>".len();
    let element = &xml[start..start + len];
    if !element.contains("<f>") {
        return None;
    }
    let open = &element[..element.find('>')?];
    // ` s="3"`, kept so the cell keeps its format.
    let style = open
        .find(" s=\"")
        .and_then(|i| Some(&open[i..i + 5 + open[i + 4..].find('"')?]))
        .unwrap_or("");
    let inner = |tag: &str| -> Option<&str> {
        let from = element.find(&format!("<{tag}>"))? + tag.len() + 2;
        let to = element[from..].find(&format!("</{tag}>"))? + from;
        Some(&element[from..to])
    };
    let new = match patch {
        Patch::DropValue => format!("<c r=\"{cell}\"{style}><f>{}</f></c>", inner("f")?),
        Patch::DropFormula => format!("<c r=\"{cell}\"{style} t=\"e\"><v>{}</v></c>", inner("v")?),
    };
    Some(format!("{}{new}{}", &xml[..start], &xml[start + len..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Data, Reader, Xlsx};

    fn spec(json: &str) -> Result<WorkbookSpec, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    fn open(bytes: Vec<u8>) -> Result<Xlsx<Cursor<Vec<u8>>>, String> {
        Xlsx::new(Cursor::new(bytes)).map_err(|e| e.to_string())
    }

    type ValueAndFormula = (Data, Option<String>);

    /// Every cell of a sheet with its value and formula, as the streaming reader sees it.
    fn cells(bytes: Vec<u8>, sheet: &str) -> Result<BTreeMap<(u32, u32), ValueAndFormula>, String> {
        let mut wb = open(bytes)?;
        let mut reader = wb.worksheet_cells_reader(sheet).map_err(|e| e.to_string())?;
        let mut out = BTreeMap::new();
        while let Some(c) = reader.next_cell_with_formula().map_err(|e| e.to_string())? {
            let value: Data = c.value.into();
            out.insert(c.pos, (value, c.formula.filter(|f| !f.is_empty())));
        }
        Ok(out)
    }

    const ALL_KINDS: &str = r##"{"sheets": [{"name": "Feuille", "blocks": [{"at": "B2", "rows": [
        ["texte", 12.5, true, null, {"date": "2010-03-31"}],
        ["=B2+C2", {"text": "=HYPERLINK(\"http://x\",\"y\")"}, {"formula": "=C2*2", "value": 25}, {"formula": "=C2+B9"}, {"error": "#REF!"}],
        [{"formula": "=1/0", "value": "#DIV/0!"}, {"number": 0.73, "format": "0%"}]
    ]}], "merges": ["B5:C5"], "widths": {"B": 30, "AA": 5}}]}"##;

    #[test]
    fn every_kind_of_cell_reads_back() -> Result<(), String> {
        let bytes = write_xlsx(&spec(ALL_KINDS)?).map_err(|e| e.to_string())?;
        let got = cells(bytes.clone(), "Feuille")?;
        let at = |a1: &str| {
            CellRef::parse(a1)
                .map(|c| (c.row, c.col))
                .ok_or(format!("bad ref {a1}"))
        };
        let get =
            |a1: &str| -> Result<&(Data, Option<String>), String> { got.get(&at(a1)?).ok_or(format!("{a1} missing")) };
        assert_eq!(get("B2")?, &(Data::String("texte".into()), None));
        assert_eq!(get("C2")?.0, Data::Float(12.5));
        assert_eq!(get("D2")?.0, Data::Bool(true));
        assert!(
            got.get(&at("E2")?)
                .is_none_or(|(v, f)| *v == Data::Empty && f.is_none()),
            "null writes nothing"
        );
        match &get("F2")?.0 {
            Data::DateTime(d) => {
                assert!(!d.is_duration());
                let (y, m, day, ..) = d.to_ymd_hms_milli();
                assert_eq!((y, m, day), (2010, 3, 31));
            }
            other => return Err(format!("F2 should be a date, got {other:?}")),
        }
        // Text is text, never a formula.
        assert_eq!(get("B3")?, &(Data::String("=B2+C2".into()), None));
        assert_eq!(
            get("C3")?,
            &(Data::String("=HYPERLINK(\"http://x\",\"y\")".into()), None)
        );
        assert_eq!(get("D3")?, &(Data::Float(25.0), Some("C2*2".into())));
        assert_eq!(
            get("E3")?,
            &(Data::Empty, Some("C2+B9".into())),
            "formula without a cached value"
        );
        assert_eq!(
            get("F3")?,
            &(Data::Error(calamine::CellErrorType::Ref), None),
            "error value without formula"
        );
        assert_eq!(
            get("B4")?,
            &(Data::Error(calamine::CellErrorType::Div0), Some("1/0".into()))
        );
        let mut wb = open(bytes)?;
        let merges = wb.merge_cells_by_sheet_name("Feuille").map_err(|e| e.to_string())?;
        assert_eq!(merges.len(), 1);
        assert_eq!((merges[0].start, merges[0].end), ((4, 1), (4, 2)));
        Ok(())
    }

    #[test]
    fn the_crate_reader_sees_errors_and_missing_values() -> Result<(), String> {
        use crate::pipeline::read::{read_bytes, CellValue, Limits};
        let bytes = write_xlsx(&spec(ALL_KINDS)?).map_err(|e| e.to_string())?;
        let wb = read_bytes(&bytes, &Limits::default()).map_err(|e| e.to_string())?;
        let sheet = wb.sheets.first().ok_or("no sheet")?;
        let get = |a1: &str| CellRef::parse(a1).and_then(|c| sheet.get(c)).cloned();
        assert_eq!(get("E3"), Some(CellValue::FormulaWithoutValue("C2+B9".into())));
        assert_eq!(get("F3"), Some(CellValue::Error("#REF!".into())));
        assert!(matches!(get("F2"), Some(CellValue::Date(_))));
        assert_eq!(get("C4"), Some(CellValue::Number(0.73)));
        assert!(
            CellRef::parse("C4").is_some_and(|c| sheet.shows_percent(c)),
            "0,73 shown 73 %"
        );
        Ok(())
    }

    #[test]
    fn same_description_same_bytes() -> Result<(), String> {
        let s = spec(ALL_KINDS)?;
        assert_eq!(
            write_xlsx(&s).map_err(|e| e.to_string())?,
            write_xlsx(&s).map_err(|e| e.to_string())?
        );
        Ok(())
    }

    #[test]
    fn bad_descriptions_are_errors_not_panics() -> Result<(), String> {
        let cases = [
            (r#"{"sheets": []}"#, "aucune feuille"),
            (
                r#"{"sheets": [{"name": "A", "blocks": [{"at": "1A", "rows": [[1]]}]}]}"#,
                "cellule de départ",
            ),
            (
                r#"{"sheets": [{"name": "A", "blocks": [{"at": "XFD1", "rows": [[1, 2]]}]}]}"#,
                "sort de la feuille",
            ),
            (
                r#"{"sheets": [{"name": "A", "blocks": [{"at": "A1", "rows": [[{"date": "31/03/2010"}]]}]}]}"#,
                "date",
            ),
            (
                r#"{"sheets": [{"name": "A", "blocks": [{"at": "A1", "rows": [[{"date": "2010-02-30"}]]}]}]}"#,
                "date",
            ),
            (
                r##"{"sheets": [{"name": "A", "blocks": [{"at": "A1", "rows": [[{"error": "#OOPS"}]]}]}]}"##,
                "erreur",
            ),
            (
                r#"{"sheets": [{"name": "A", "blocks": [{"at": "A1", "rows": [[{"formula": "="}]]}]}]}"#,
                "formule vide",
            ),
            (
                r##"{"sheets": [{"name": "A", "blocks": [{"at": "A1", "rows": [[{"text": "x", "error": "#REF!"}]]}]}]}"##,
                "exactement une",
            ),
            (
                r#"{"sheets": [{"name": "A", "blocks": [{"at": "A1", "rows": [[{"text": "x", "value": 1}]]}]}]}"#,
                "value",
            ),
            (
                r#"{"sheets": [{"name": "A", "blocks": [{"at": "A1", "rows": [[{"text": "x", "format": "0%"}]]}]}]}"#,
                "format",
            ),
            (r#"{"sheets": [{"name": "A", "merges": ["A1"]}]}"#, "fusionnée"),
            (r#"{"sheets": [{"name": "A", "merges": ["A1:B1", "B1:C1"]}]}"#, "fusion"),
            (r#"{"sheets": [{"name": "A", "widths": {"1": 3}}]}"#, "colonne"),
            (r#"{"sheets": [{"name": "A/B"}]}"#, "nom refusé"),
            (r#"{"sheets": [{"name": "A"}, {"name": "a"}]}"#, ""),
        ];
        for (json, wanted) in cases {
            match write_xlsx(&spec(json)?) {
                Ok(_) => return Err(format!("{json} should fail")),
                Err(e) => assert!(e.to_string().contains(wanted), "{json}: {e}"),
            }
        }
        // Not even a description: serde says so.
        assert!(
            spec(r#"{"sheets": [{"name": "A", "blocks": [{"at": "A1", "rows": [[{"dat": "2010-01-01"}]]}]}]}"#)
                .is_err()
        );
        Ok(())
    }

    #[test]
    fn patching_finds_the_exact_cell() {
        let xml =
            r#"<row><c r="B10" t="e"><f>#REF!</f><v>#REF!</v></c><c r="B1" s="3" t="str"><f>A1</f><v></v></c></row>"#;
        assert_eq!(
            patch_cell(xml, "B1", &Patch::DropValue).as_deref(),
            Some(r#"<row><c r="B10" t="e"><f>#REF!</f><v>#REF!</v></c><c r="B1" s="3"><f>A1</f></c></row>"#)
        );
        assert_eq!(
            patch_cell(xml, "B10", &Patch::DropFormula).as_deref(),
            Some(r#"<row><c r="B10" t="e"><v>#REF!</v></c><c r="B1" s="3" t="str"><f>A1</f><v></v></c></row>"#)
        );
        assert_eq!(patch_cell(xml, "C1", &Patch::DropValue), None);
    }
}
