//! A number shown as a percentage (0.5 displayed `50 %`) means 50 in a (%)
//! field, and is a unit error in an amount field (the seed's `266,7 %` case when
//! typed as a real percentage).

use bilan::check::Checker;
use bilan::rules::RulePack;
use bilan::template::TemplateSet;
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

fn checker() -> Checker {
    Checker::new(
        TemplateSet::builtin().expect("schemas"),
        RulePack::builtin().expect("rules"),
    )
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
