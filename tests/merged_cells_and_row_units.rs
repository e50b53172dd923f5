//! Spec 3 (`templates.md`, "Tables" and "Row units"), beyond the layout matrix:
//! a group heading merged across a whole table stays a group heading in every
//! file format, and a figure typed with its row's `Unité` is a number stored as
//! text, another unit an error.

mod common;

use std::path::Path;
use std::process::Command;

use bilan::finding::Severity;
use bilan::job::Checker;
use bilan::pipeline::check::FileReport;
use bilan::pipeline::rules::RulePack;
use bilan::pipeline::template::TemplateSet;
use bilan::sheetgen::{write_xlsx, WorkbookSpec};
use serde_json::{json, Value};

fn checker() -> Checker {
    Checker::new(TemplateSet::builtin(), RulePack::builtin().expect("rules"))
}

fn description(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/src")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn write(spec: &Value) -> Vec<u8> {
    let spec: WorkbookSpec = serde_json::from_value(spec.clone()).expect("description");
    write_xlsx(&spec).expect("xlsx")
}

/// The block of `sheet` that starts at `at`.
fn block<'a>(spec: &'a mut Value, sheet: &str, at: &str) -> &'a mut Value {
    spec["sheets"]
        .as_array_mut()
        .and_then(|s| s.iter_mut().find(|s| s["name"] == sheet))
        .and_then(|s| s["blocks"].as_array_mut())
        .and_then(|b| b.iter_mut().find(|b| b["at"] == at))
        .unwrap_or_else(|| panic!("no block {sheet}!{at}"))
}

fn at_warning_or_above(r: &FileReport) -> Vec<String> {
    r.findings
        .iter()
        .filter(|f| f.severity >= Severity::Warning)
        .map(|f| format!("{} {:?} {}", f.rule, f.cell.map(|c| c.to_string()), f.message))
        .collect()
}

#[test]
fn a_group_heading_merged_across_the_table_stays_a_heading_in_every_format() {
    let checker = checker();
    let original = checker.check_bytes("maud.xlsx", &write(&description("pole-maud-conforme")));
    assert!(at_warning_or_above(&original).is_empty());
    // `Pôle de compétitivité MAUD` merged over A4:G4, between the header and 2005.
    let mut spec = description("pole-maud-conforme");
    let rows = block(&mut spec, "Financements", "A3")["rows"]
        .as_array_mut()
        .expect("rows");
    rows.insert(
        1,
        json!(["Pôle de compétitivité MAUD", null, null, null, null, null, null]),
    );
    let sheet = spec["sheets"]
        .as_array_mut()
        .and_then(|s| s.iter_mut().find(|s| s["name"] == "Financements"))
        .expect("sheet");
    sheet["merges"] = json!(["A4:G4"]);
    let bytes = write(&spec);
    let dir = tempfile::tempdir().expect("temporary folder");
    let xlsx = dir.path().join("maud-intertitre.xlsx");
    std::fs::write(&xlsx, &bytes).expect("write");
    let mut files = vec![xlsx.clone()];
    match Command::new("soffice").arg("--version").output() {
        Ok(o) if o.status.success() => {
            let profile = dir.path().join("profil");
            for ext in ["ods", "xls"] {
                let out = Command::new("soffice")
                    .arg(format!("-env:UserInstallation=file://{}", profile.display()))
                    .args(["--headless", "--norestore", "--convert-to", ext, "--outdir"])
                    .arg(dir.path())
                    .arg(&xlsx)
                    .output()
                    .expect("soffice");
                assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                files.push(dir.path().join(format!("maud-intertitre.{ext}")));
            }
        }
        _ => common::skip(
            "a_group_heading_merged_across_the_table_stays_a_heading_in_every_format (.ods, .xls)",
            "LibreOffice (soffice) est introuvable",
        ),
    }
    let data = |r: &FileReport| r.extraction.as_ref().map(|e| e.data["financements"].clone());
    for file in files {
        let r = checker.check_path(&file);
        assert_eq!(at_warning_or_above(&r), Vec::<String>::new(), "{}", file.display());
        assert_eq!(data(&r), data(&original), "{}: the heading is no row", file.display());
    }
}

#[test]
fn a_figure_typed_with_its_rows_unit_is_a_number_stored_as_text() {
    let checker = checker();
    let name = "programme-sri-2009-fonds-innovation-sous-la-moitie";
    let original = checker.check_bytes("sri.xlsx", &write(&description(name)));
    let mut spec = description(name);
    let rows = block(&mut spec, "Objectifs", "A3")["rows"]
        .as_array_mut()
        .expect("rows");
    let m_euros = rows.iter().position(|r| r[2] == "M€").expect("a row in M€");
    // Objectif typed `4,5 M€` (its row's unit): NUM-001, the same reading.
    rows[m_euros][3] = json!("4,5 M€");
    // A row in € typed `2 500 000 €` (NBSP): NUM-001; `2 600 000 €` in a `nombre` row: NUM-003.
    rows.push(json!([
        "Axe ajouté",
        "montant des avances",
        "€",
        "2\u{a0}500\u{a0}000 €",
        2_600_000,
        null
    ]));
    rows.push(json!([
        "Axe ajouté",
        "entreprises aidées",
        "nombre",
        "2 600 000 €",
        12,
        null
    ]));
    // Block row i is sheet row 3 + i (the header is row 3); data item i - 1.
    let last = rows.len() - 1;
    let r = checker.check_bytes("sri.xlsx", &write(&spec));
    let cell = |i: usize| format!("D{}", 3 + i);
    let on = |rule: &str, at: &str| {
        r.findings
            .iter()
            .any(|f| f.rule.as_str() == rule && f.cell.map(|c| c.to_string()).as_deref() == Some(at))
    };
    assert!(on("BILAN-NUM-001", &cell(m_euros)), "{:#?}", r.findings);
    assert!(!on("BILAN-NUM-003", &cell(m_euros)), "{:#?}", r.findings);
    assert!(
        on("BILAN-NUM-001", &cell(last - 1)),
        "2 500 000 € in a € row: {:#?}",
        r.findings
    );
    assert!(!on("BILAN-NUM-003", &cell(last - 1)), "{:#?}", r.findings);
    assert!(on("BILAN-NUM-003", &cell(last)), "€ in a nombre row: {:#?}", r.findings);
    let objectif = |r: &FileReport, i: usize| {
        r.extraction
            .as_ref()
            .map(|e| e.data["objectifs"][i]["objectif"].clone())
    };
    assert_eq!(objectif(&r, m_euros - 1), objectif(&original, m_euros - 1));
    assert_eq!(objectif(&r, last - 2), Some(json!(2_500_000)));
}

/// `templates.md`, "Tables": a table whose header is found but none of whose
/// figure columns is found was not read: BILAN-TPL-004 naming the columns looked
/// for and the header's rows, never « Conforme ».
#[test]
fn a_table_read_without_any_figure_column_is_never_conforme() {
    let checker = checker();
    let mut spec = description("outils-financiers-2009-conforme");
    let header = &mut block(&mut spec, "Outils", "A3")["rows"][0];
    // The figure columns' labels as a submitter might abbreviate them.
    for (i, cell) in header
        .as_array_mut()
        .expect("header")
        .iter_mut()
        .enumerate()
        .skip(3)
        .take(8)
    {
        *cell = json!(format!("Chiffre {i}"));
    }
    let r = checker.check_bytes("outils.xlsx", &write(&spec));
    let unread: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.rule.as_str() == "BILAN-TPL-004")
        .collect();
    assert_eq!(unread.len(), 1, "{:#?}", r.findings);
    let f = unread[0];
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.cell.map(|c| c.to_string()).as_deref(), Some("A3"));
    for wanted in [
        "« Dossiers exercice »",
        "« Emplois maintenus à l'arrêté »",
        "ligne 3",
        "Outils",
    ] {
        assert!(f.message.contains(wanted), "{wanted}: {}", f.message);
    }
    assert_ne!(r.status(), bilan::finding::Status::Conforme);
}

/// A required table whose header is there but not one data row: BILAN-TPL-004
/// (« tableau vide ») on the row under the header, never « Conforme ».
#[test]
fn a_required_table_with_no_row_is_never_conforme() {
    let checker = checker();
    let mut spec = description("pole-maud-conforme");
    let rows = block(&mut spec, "Financements", "A3")["rows"]
        .as_array_mut()
        .expect("rows");
    rows.truncate(1);
    let r = checker.check_bytes("maud.xlsx", &write(&spec));
    let empty: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.rule.as_str() == "BILAN-TPL-004")
        .collect();
    assert_eq!(empty.len(), 1, "{:#?}", r.findings);
    assert_eq!(empty[0].sheet.as_deref(), Some("Financements"));
    assert_eq!(empty[0].cell.map(|c| c.to_string()).as_deref(), Some("A4"));
    assert!(empty[0].message.contains("vide"), "{}", empty[0].message);
    assert_ne!(r.status(), bilan::finding::Status::Conforme);
}
