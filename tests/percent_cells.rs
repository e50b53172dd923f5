//! A number shown as a percentage (0.5 displayed `50 %`) means 50 in a (%)
//! field, and is a unit error in an amount field (the seed's `266,7 %` case when
//! typed as a real percentage).

mod common;

use common::checker;

use rust_xlsxwriter::{Format, Workbook};

fn repartition(part_format: &Format, total_format: &Format) -> Vec<u8> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let _ = ws.set_name("Identification");
    for (i, (label, value)) in [
        ("Modèle", "BILAN-XYZ"),
        ("Version", "2010.1"),
        ("Date d'arrêté", "31/03/2010"),
        ("Exercice", "2009"),
    ]
    .iter()
    .enumerate()
    {
        let _ = ws.write_string(i as u32, 0, *label);
        let _ = ws.write_string(i as u32, 1, *value);
    }
    let _ = ws.write_string(0, 1, "REPARTITION-POLES");
    let _ = ws.write_number(3, 1, 2009.0);
    let ws = wb.add_worksheet();
    let _ = ws.set_name("Répartition");
    for (c, h) in [
        "Pôle / filière",
        "Financement Région (€)",
        "Financement FEDER (€)",
        "Total (€)",
        "Part (%)",
    ]
    .iter()
    .enumerate()
    {
        let _ = ws.write_string(0, c as u16, *h);
    }
    for (r, (pole, region, feder)) in [("PC MAUD", 200_000.0, 114_000.0), ("PC I-TRANS", 314_000.0, 0.0)]
        .iter()
        .enumerate()
    {
        let row = r as u32 + 1;
        let _ = ws.write_string(row, 0, *pole);
        let _ = ws.write_number(row, 1, *region);
        let _ = ws.write_number(row, 2, *feder);
        let _ = ws.write_number_with_format(row, 3, region + feder, total_format);
        let _ = ws.write_number_with_format(row, 4, 0.5, part_format);
    }
    let _ = ws.write_string(3, 0, "TOTAL");
    let _ = ws.write_number(3, 1, 514_000.0);
    let _ = ws.write_number(3, 2, 114_000.0);
    let _ = ws.write_number(3, 3, 628_000.0);
    let _ = ws.write_number_with_format(3, 4, 1.0, part_format);
    wb.save_to_buffer().expect("writes")
}

#[test]
fn a_percentage_format_means_hundredths_in_a_percent_field() {
    let bytes = repartition(
        &Format::new().set_num_format("0.0%"),
        &Format::new().set_num_format("#,##0"),
    );
    let r = checker().check_bytes("repartition.xlsx", &bytes);
    let data = &r.extraction.as_ref().expect("extracted").data;
    assert_eq!(data.pointer("/repartition/0/part"), Some(&serde_json::json!(50)));
    assert_eq!(data.pointer("/repartition_total/part"), Some(&serde_json::json!(100)));
    assert!(
        !r.findings.iter().any(|f| f.rule.as_str() == "REP-004"),
        "{:#?}",
        r.findings
    );
}

#[test]
fn a_percentage_in_an_amount_column_is_a_unit_error() {
    let bytes = repartition(
        &Format::new().set_num_format("0.0%"),
        &Format::new().set_num_format("0%"),
    );
    let r = checker().check_bytes("repartition.xlsx", &bytes);
    let num: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.rule.as_str() == "BILAN-NUM-003")
        .collect();
    assert_eq!(num.len(), 2, "{:#?}", r.findings);
    assert_eq!(num[0].cell.map(|c| c.to_string()).as_deref(), Some("D2"));
    // The unusable totals do not also fail REP-001.
    assert!(
        !r.findings.iter().any(|f| f.rule.as_str() == "REP-001"),
        "{:#?}",
        r.findings
    );
}

/// The FEDER dashboard with `Part earmarkée` (unit `%`) typed as Excel
/// percentages: 0,66 and 0,72 shown `66 %` and `72 %`.
fn feder_with_percent_earmarking() -> bilan::pipeline::read::Workbook {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/feder-axe1-2009-conforme.xlsx");
    let mut wb =
        bilan::pipeline::read::read_path(&path, &bilan::pipeline::read::Limits::default()).expect("fixture reads");
    for sheet in wb.sheets.iter_mut().filter(|s| s.name == "Indicateurs") {
        let mut percent = Vec::new();
        let cells: Vec<bilan::pipeline::read::Cell> = sheet
            .cells()
            .iter()
            .map(|c| {
                let mut c = c.clone();
                // Row 5: Part earmarkée | % | 66 | 72.
                if c.pos.row == 4 && (c.pos.col == 2 || c.pos.col == 3) {
                    if let bilan::pipeline::read::CellValue::Number(n) = c.value {
                        c.value = bilan::pipeline::read::CellValue::Number(n / 100.0);
                        percent.push(c.pos);
                    }
                }
                c
            })
            .collect();
        let mut rebuilt = bilan::pipeline::read::Sheet::new(sheet.name.clone(), cells, sheet.merges.clone());
        rebuilt.set_number_formats(
            percent
                .iter()
                .map(|p| (*p, &bilan::pipeline::read::NumberFormat::Percent)),
        );
        *sheet = rebuilt;
    }
    wb
}

/// `templates.md`, "Percent formats": in a table row whose `Unité` is `%`, a
/// number shown as a percentage is read as displayed (72, not 0,72).
#[test]
fn a_percentage_format_in_a_row_whose_unit_is_percent() {
    let r = checker().check_workbook("feder.xlsx", feder_with_percent_earmarking());
    let data = &r.extraction.as_ref().expect("extracted").data;
    assert_eq!(
        data.pointer("/indicateurs/1/valeur_cible"),
        Some(&serde_json::json!(66))
    );
    assert_eq!(data.pointer("/indicateurs/1/realise"), Some(&serde_json::json!(72)));
    assert!(
        !r.findings
            .iter()
            .any(|f| f.severity >= bilan::finding::Severity::Warning),
        "{:#?}",
        r.findings
    );
    let ear = r
        .findings
        .iter()
        .find(|f| f.rule.as_str() == "FEDER-EAR-002")
        .expect("EAR-002 always reported");
    assert!(
        ear.message.contains("72 %") && !ear.message.contains("0,72"),
        "{}",
        ear.message
    );
}

/// A programme objective in `%` typed `50 %` (0,5 shown as a percentage).
#[test]
fn a_percentage_format_in_a_programme_objective() {
    let mut wb = Workbook::new();
    let pct = Format::new().set_num_format("0%");
    let ws = wb.add_worksheet();
    let _ = ws.set_name("Identification");
    for (i, (label, value)) in [
        ("Modèle", "BILAN-PROGRAMME"),
        ("Version", "2010.1"),
        ("Programme", "PRDA"),
    ]
    .iter()
    .enumerate()
    {
        let _ = ws.write_string(i as u32, 0, *label);
        let _ = ws.write_string(i as u32, 1, *value);
    }
    let _ = ws.write_string(3, 0, "Date d'arrêté");
    let _ = ws.write_string(3, 1, "31/03/2010");
    let _ = ws.write_string(4, 0, "Enjeu SRDE");
    let _ = ws.write_number(4, 1, 1.0);
    let _ = ws.write_string(5, 0, "Exercice");
    let _ = ws.write_number(5, 1, 2009.0);
    let ws = wb.add_worksheet();
    let _ = ws.set_name("Objectifs");
    for (c, h) in ["Axe", "Indicateur", "Unité", "Objectif", "Résultat"]
        .iter()
        .enumerate()
    {
        let _ = ws.write_string(0, c as u16, *h);
    }
    let _ = ws.write_string(1, 0, "1");
    let _ = ws.write_string(1, 1, "taux de pérennité à 3 ans");
    let _ = ws.write_string(1, 2, "%");
    let _ = ws.write_number_with_format(1, 3, 0.5, &pct);
    let _ = ws.write_number_with_format(1, 4, 0.73, &pct);
    let bytes = wb.save_to_buffer().expect("writes");
    let r = checker().check_bytes("programme.xlsx", &bytes);
    let data = &r.extraction.as_ref().expect("extracted").data;
    assert_eq!(data.pointer("/objectifs/0/objectif"), Some(&serde_json::json!(50)));
    assert_eq!(data.pointer("/objectifs/0/resultat"), Some(&serde_json::json!(73)));
    assert!(
        !r.findings
            .iter()
            .any(|f| f.severity >= bilan::finding::Severity::Warning),
        "{:#?}",
        r.findings
    );
}
