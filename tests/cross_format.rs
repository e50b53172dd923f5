//! The same workbook saved as `.xlsx`, `.xls`, `.ods` and `.xlsb` gives the same cells,
//! the same number formats and the same findings (templates.md, "Percent
//! formats": a number shown as a percentage is read as displayed in every file
//! format that stores number formats).
//!
//! The fixtures are under `fixtures/formats/`: each `src/<name>.json` is a
//! `bilan::sheetgen::WorkbookSpec` (or `"base"`: the name of one under
//! `fixtures/src/`) plus `"percent"`: cells written as numbers with a percent
//! format (`{"cell": "Répartition!E4", "value": 0.1529, "format": "0%"}`). The
//! `.xlsx` is written by this test (`BILAN_REGEN_FIXTURES=1 cargo test --test
//! cross_format`), the `.xls` and `.ods` copies by LibreOffice:
//!
//! ```sh
//! cd fixtures/formats && for f in *.xlsx; do
//!   soffice --headless --convert-to xls "$f"; soffice --headless --convert-to ods "$f"; done
//! ```
//!
//! LibreOffice cannot write `.xlsb`: the `.xlsb` copies are written by SheetJS
//! (npm `xlsx` 0.18.5, `src/toxlsb.js`) with one line of its `write_CELLTABLE`
//! changed so that every cell is a full record (SheetJS writes the "short" cell
//! records `BrtShortReal`… that Excel does not write and calamine does not read):
//!
//! ```sh
//! npm install xlsx@0.18.5
//! sed -i 's/last_seen = write_ws_bin_cell(ba, cell, R, C, opts, ws, last_seen);/write_ws_bin_cell(ba, cell, R, C, opts, ws, false);/' node_modules/xlsx/xlsx.js
//! node fixtures/formats/src/toxlsb.js fixtures/formats/NAME.xlsx fixtures/formats/NAME.xlsb
//! ```

mod common;

use common::checker;

use std::path::{Path, PathBuf};

use bilan::base::model::CellRef;
use bilan::pipeline::check::FileReport;
use bilan::pipeline::read::{read_bytes, CellValue, Limits, NumberFormat, Workbook};
use bilan::sheetgen::{CellSpec, FormulaValue, WorkbookSpec};
use rust_xlsxwriter::{ExcelDateTime, Format, Formula};

const NAMES: [&str; 2] = [
    "repartition-poles-2009-parts-en-pourcentage",
    "feder-axe1-2009-earmarking-en-pourcentage",
];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join("formats")
}

struct Percent {
    sheet: String,
    cell: CellRef,
    value: f64,
    format: String,
}

/// The description of a fixture: its sheets and its percent cells.
fn description(name: &str) -> (WorkbookSpec, Vec<Percent>) {
    let path = dir().join("src").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let percent = json
        .as_object_mut()
        .and_then(|o| o.remove("percent"))
        .and_then(|p| p.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|p| {
            let (sheet, cell) = p["cell"]
                .as_str()
                .and_then(|c| c.split_once('!'))
                .unwrap_or_else(|| panic!("{name}: bad percent cell {p}"));
            Percent {
                sheet: sheet.to_string(),
                cell: CellRef::parse(cell).unwrap_or_else(|| panic!("{name}: bad cell {cell}")),
                value: p["value"].as_f64().unwrap_or_else(|| panic!("{name}: no value in {p}")),
                format: p["format"].as_str().unwrap_or("0%").to_string(),
            }
        })
        .collect();
    let spec_json = match json.get("base").and_then(|b| b.as_str()) {
        Some(base) => {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/src")
                .join(format!("{base}.json"));
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{base}: {e}"))
        }
        None => json,
    };
    let spec: WorkbookSpec = serde_json::from_value(spec_json).unwrap_or_else(|e| panic!("{name}: {e}"));
    (spec, percent)
}

/// Writes the `.xlsx` of a description (numbers, text, dates, formulas with their
/// value; percent cells with their format).
fn write(spec: &WorkbookSpec, percent: &[Percent]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let created = ExcelDateTime::from_ymd(2010, 4, 15).expect("date");
    wb.set_properties(&rust_xlsxwriter::DocProperties::new().set_creation_datetime(&created));
    let date = Format::new().set_num_format("dd/mm/yyyy");
    for sheet in &spec.sheets {
        let ws = wb.add_worksheet();
        ws.set_name(&sheet.name).expect("sheet name");
        for (col, width) in &sheet.widths {
            let c = CellRef::parse(&format!("{col}1")).expect("column").col;
            ws.set_column_width(c as u16, *width).expect("width");
        }
        for block in &sheet.blocks {
            let at = CellRef::parse(&block.at).expect("block start");
            for (i, row) in block.rows.iter().enumerate() {
                for (j, cell) in row.iter().enumerate() {
                    let (r, c) = (at.row + i as u32, (at.col + j as u32) as u16);
                    let written = match cell {
                        CellSpec::Empty(()) => Ok(&mut *ws),
                        CellSpec::Bool(b) => ws.write_boolean(r, c, *b),
                        CellSpec::Number(n) => ws.write_number(r, c, *n),
                        CellSpec::Text(t) => ws.write_string(r, c, t),
                        CellSpec::Typed(t) => {
                            if let Some(d) = &t.date {
                                let d = ExcelDateTime::parse_from_str(d).expect("date");
                                ws.write_datetime_with_format(r, c, &d, &date)
                            } else if let Some(f) = &t.formula {
                                let result = match &t.value {
                                    Some(FormulaValue::Number(n)) => n.to_string(),
                                    Some(FormulaValue::Text(s)) => s.clone(),
                                    Some(FormulaValue::Bool(b)) => b.to_string().to_uppercase(),
                                    None => String::new(),
                                };
                                ws.write_formula(r, c, Formula::new(f).set_result(result))
                            } else if let Some(s) = &t.text {
                                ws.write_string(r, c, s)
                            } else {
                                panic!("unsupported cell {t:?}")
                            }
                        }
                    };
                    written.expect("cell written");
                }
            }
        }
        for p in percent.iter().filter(|p| p.sheet == sheet.name) {
            let f = Format::new().set_num_format(&p.format);
            ws.write_number_with_format(p.cell.row, p.cell.col as u16, p.value, &f)
                .expect("percent cell");
        }
    }
    wb.save_to_buffer().expect("workbook written")
}

fn read(path: &Path) -> Workbook {
    let bytes = std::fs::read(path).unwrap_or_else(|e| {
        panic!(
            "{} is missing ({e}): convert the .xlsx with LibreOffice (see this file's header)",
            path.display()
        )
    });
    read_bytes(&bytes, &Limits::default()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Each sheet's cells with their number format, in order.
fn cells(wb: &Workbook) -> Vec<(String, String, CellValue, NumberFormat)> {
    let mut out = Vec::new();
    for s in &wb.sheets {
        for c in s.cells() {
            out.push((
                s.name.clone(),
                c.pos.to_string(),
                c.value.clone(),
                s.number_format(c.pos).clone(),
            ));
        }
    }
    out
}

/// What a reviewer sees of a report: rule, severity, place, message.
fn findings(r: &FileReport) -> Vec<String> {
    r.findings
        .iter()
        .map(|f| {
            format!(
                "{} {:?} {}!{} {}",
                f.rule.as_str(),
                f.severity,
                f.sheet.as_deref().unwrap_or(""),
                f.cell.map(|c| c.to_string()).unwrap_or_default(),
                f.message
            )
        })
        .collect()
}

#[test]
fn the_xlsx_fixtures_are_what_their_descriptions_give() {
    for name in NAMES {
        let (spec, percent) = description(name);
        let bytes = write(&spec, &percent);
        let path = dir().join(format!("{name}.xlsx"));
        if std::env::var_os("BILAN_REGEN_FIXTURES").is_some() {
            std::fs::write(&path, &bytes).expect("fixture written");
        }
        let expected = read_bytes(&bytes, &Limits::default()).expect("generated workbook reads");
        let committed = read(&path);
        assert_eq!(
            cells(&expected),
            cells(&committed),
            "{name}.xlsx differs from its description: BILAN_REGEN_FIXTURES=1 cargo test --test cross_format"
        );
        for p in &percent {
            let sheet = committed.sheets.iter().find(|s| s.name == p.sheet).expect("sheet");
            assert!(
                sheet.shows_percent(p.cell),
                "{name}: {}!{} shows a percentage",
                p.sheet,
                p.cell
            );
        }
    }
}

#[test]
fn xlsx_xls_ods_and_xlsb_give_the_same_cells_formats_and_findings() {
    let checker = checker();
    for name in NAMES {
        let xlsx_path = dir().join(format!("{name}.xlsx"));
        let xlsx = read(&xlsx_path);
        let expected_findings = findings(&checker.check_path(&xlsx_path));
        for ext in ["xls", "ods", "xlsb"] {
            let path = dir().join(format!("{name}.{ext}"));
            let other = read(&path);
            assert_eq!(other.format.extension(), ext);
            assert_eq!(
                cells(&xlsx),
                cells(&other),
                "{name}.{ext}: cells or formats differ from the .xlsx"
            );
            assert_eq!(
                expected_findings,
                findings(&checker.check_path(&path)),
                "{name}.{ext}: findings differ from the .xlsx"
            );
        }
    }
}

#[test]
fn parts_formatted_as_percentages_are_read_as_displayed() {
    let checker = checker();
    for ext in ["xlsx", "xls", "ods", "xlsb"] {
        let path = dir().join(format!("repartition-poles-2009-parts-en-pourcentage.{ext}"));
        let r = checker.check_path(&path);
        let data = &r.extraction.as_ref().expect("extracted").data;
        let parts: Vec<_> = (0..4)
            .map(|i| data.pointer(&format!("/repartition/{i}/part")).cloned())
            .collect();
        assert_eq!(
            parts,
            [15.29, 13.06, 26.15, 45.5].map(|p| Some(serde_json::json!(p))).to_vec(),
            "{ext}"
        );
        assert_eq!(
            data.pointer("/repartition_total/part"),
            Some(&serde_json::json!(100)),
            "{ext}"
        );
        let serious: Vec<_> = r
            .findings
            .iter()
            .filter(|f| f.severity >= bilan::finding::Severity::Warning)
            .collect();
        assert!(serious.is_empty(), "{ext}: {serious:#?}");
    }
}

#[test]
fn the_earmarking_typed_as_a_percentage_shows_one_in_every_format() {
    for ext in ["xlsx", "xls", "ods", "xlsb"] {
        let wb = read(&dir().join(format!("feder-axe1-2009-earmarking-en-pourcentage.{ext}")));
        let sheet = wb.sheets.iter().find(|s| s.name == "Indicateurs").expect("Indicateurs");
        let d5 = CellRef::parse("D5").expect("D5");
        assert_eq!(sheet.get(d5), Some(&CellValue::Number(0.73)), "{ext}");
        assert_eq!(sheet.number_format(d5), &NumberFormat::Percent, "{ext}");
        // A plain number of the same sheet keeps no format.
        assert_eq!(
            sheet.number_format(CellRef::parse("D4").expect("D4")),
            &NumberFormat::General
        );
    }
}

#[test]
fn a_workbook_with_the_wrong_extension_is_read_for_what_it_is_with_io_003() {
    let checker = checker();
    let name = "repartition-poles-2009-parts-en-pourcentage";
    let xls = std::fs::read(dir().join(format!("{name}.xls"))).expect("xls fixture");
    let right = checker.check_bytes(&format!("{name}.xls"), &xls);
    let wrong = checker.check_bytes(&format!("{name}.xlsx"), &xls);
    let io003: Vec<_> = wrong
        .findings
        .iter()
        .filter(|f| f.rule.as_str() == "BILAN-IO-003")
        .collect();
    assert_eq!(io003.len(), 1, "{:#?}", wrong.findings);
    assert_eq!(io003[0].severity, bilan::finding::Severity::Warning);
    assert!(io003[0].message.contains(".xlsx") && io003[0].message.contains("(.xls)"));
    assert_ne!(wrong.status(), right.status(), "no longer silently « Conforme »");
    // Everything else is what the rightly named file gives.
    let others: Vec<String> = findings(&wrong)
        .into_iter()
        .filter(|f| !f.starts_with("BILAN-IO-003"))
        .collect();
    assert_eq!(others, findings(&right));
    let ods = std::fs::read(dir().join(format!("{name}.ods"))).expect("ods fixture");
    let r = checker.check_bytes("retour.xls", &ods);
    assert!(
        r.findings.iter().any(|f| f.rule.as_str() == "BILAN-IO-003"),
        "{:#?}",
        r.findings
    );
}

/// The merged ranges of every `.xlsx` fixture (corpus included) are the ones
/// calamine gives (`read` finds them without parsing each sheet twice).
#[test]
fn merged_ranges_are_the_ones_calamine_gives() {
    use calamine::Reader;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut checked = 0;
    let mut with_merges = 0;
    for dir in [root.clone(), root.join("corpus"), root.join("formats")] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("fixtures")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "xlsx"))
            .collect();
        files.sort();
        for path in files {
            let bytes = std::fs::read(&path).expect("fixture");
            let Ok(ours) = read_bytes(&bytes, &Limits::default()) else {
                continue;
            };
            if !matches!(ours.format, bilan::pipeline::read::Format::Xlsx) {
                continue;
            }
            let mut wb: calamine::Xlsx<_> = calamine::Xlsx::new(std::io::Cursor::new(&bytes)).expect("calamine");
            for sheet in &ours.sheets {
                let mut theirs: Vec<String> = wb
                    .merge_cells_by_sheet_name(&sheet.name)
                    .unwrap_or_default()
                    .iter()
                    .filter(|d| d.end.0 <= 1_048_575 && d.end.1 <= 16_383)
                    .map(|d| {
                        bilan::base::model::CellRange::new(
                            CellRef::new(d.start.0, d.start.1),
                            CellRef::new(d.end.0, d.end.1),
                        )
                        .to_string()
                    })
                    .collect();
                let mut mine: Vec<String> = sheet.merges.iter().map(|m| m.to_string()).collect();
                theirs.sort();
                mine.sort();
                assert_eq!(mine, theirs, "{}!{}", path.display(), sheet.name);
                with_merges += usize::from(!mine.is_empty());
            }
            checked += 1;
        }
    }
    assert!(
        checked > 40 && with_merges >= 2,
        "{checked} files, {with_merges} sheets with merges"
    );
}
