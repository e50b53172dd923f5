//! The pipeline end to end on the cluster fixtures: what is read (value + cell),
//! what is reported, on which cell, in every output.

mod common;

use common::{checker, fixture};

use std::path::Path;

use bilan::finding::Severity;
use bilan::pipeline::check::FileReport;
use bilan::pipeline::rules::RulePack;

fn check(name: &str) -> FileReport {
    let mut r = checker().check_path(&fixture(name));
    r.path = name.to_string();
    r
}

/// `(rule, sheet!cell)` of every finding, in report order.
fn located(r: &FileReport) -> Vec<(String, String)> {
    r.findings
        .iter()
        .map(|f| {
            (
                f.rule.to_string(),
                format!(
                    "{}!{}",
                    f.sheet.clone().unwrap_or_default(),
                    f.cell.map(|c| c.to_string()).unwrap_or_default()
                ),
            )
        })
        .collect()
}

#[test]
fn itrans_reports_pole_fin_001_on_each_of_the_five_years() {
    let r = check("pole-itrans-cout-total-different-des-financeurs.xlsx");
    let fin: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.rule.as_str() == "POLE-FIN-001")
        .collect();
    assert_eq!(fin.len(), 5, "{:#?}", located(&r));
    let first = fin[0];
    assert_eq!(first.sheet.as_deref(), Some("Financements"));
    assert_eq!(first.cell.map(|c| c.to_string()).as_deref(), Some("B4"));
    assert_eq!(first.range.map(|c| c.to_string()).as_deref(), Some("A4:G4"));
    assert_eq!(first.pointer.as_deref(), Some("/financements/0/cout_total"));
    assert_eq!(first.figures.expected, Some(16_033_022.into()));
    assert_eq!(first.figures.actual, Some(17_081_618.into()));
    assert_eq!(first.figures.difference, Some(1_048_596.into()));
    assert_eq!(first.figures.tolerance, Some(1.into()));
    let cells: Vec<String> = fin.iter().filter_map(|f| f.cell.map(|c| c.to_string())).collect();
    assert_eq!(cells, ["B4", "B5", "B6", "B7", "B8"]);
    assert_eq!(r.organisation.as_deref(), Some("I-TRANS"));
}

#[test]
fn maud_is_clean() {
    for name in [
        "pole-maud-conforme.xlsx",
        "pole-maud-tableaux-deplaces.xlsx",
        "pole-maud-libelles-modifies.xlsx",
        "pole-maud-feuilles-en-plus.xlsx",
    ] {
        let r = check(name);
        assert_eq!(
            r.counts().at_or_above(Severity::Warning),
            0,
            "{name}: {:#?}",
            located(&r)
        );
        assert_eq!(r.template.as_deref(), Some("BILAN-POLE"), "{name}");
    }
}

#[test]
fn xls_and_ods_copies_report_exactly_what_the_xlsx_reports() {
    for stem in ["pole-itrans-cout-total-different-des-financeurs", "pole-maud-conforme"] {
        let xlsx = check(&format!("{stem}.xlsx"));
        for ext in ["xls", "ods"] {
            let name = format!("{stem}.{ext}");
            if !fixture(&name).exists() {
                common::skip(
                    "xls_and_ods_copies_report_exactly_what_the_xlsx_reports",
                    &format!("{name} is missing from fixtures/"),
                );
                continue;
            }
            let other = check(&name);
            assert_eq!(located(&other), located(&xlsx), "{name}");
            let messages = |r: &FileReport| r.findings.iter().map(|f| f.message.clone()).collect::<Vec<_>>();
            assert_eq!(messages(&other), messages(&xlsx), "{name}");
            assert_eq!(
                other.extraction.as_ref().map(|e| &e.data),
                xlsx.extraction.as_ref().map(|e| &e.data),
                "{name}: same data"
            );
        }
    }
}

#[test]
fn picom_malformed_amounts_are_reported_once_and_not_summed() {
    let r = check("pole-picom-montants-mal-formes.xlsx");
    let num: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.rule.as_str() == "BILAN-NUM-002")
        .collect();
    assert_eq!(num.len(), 3, "{:#?}", located(&r));
    // 2008 holds the malformed amounts: POLE-FIN-001 does not also fire on it.
    let data = &r.extraction.as_ref().expect("extracted").data;
    let rows = data["financements"].as_array().expect("rows");
    let i = rows.iter().position(|row| row["annee"] == 2008).expect("a 2008 row");
    let prefix = format!("/financements/{i}/");
    let rows_2008: Vec<_> = r
        .findings
        .iter()
        .filter(|f| {
            f.rule.as_str().starts_with("POLE-FIN") && f.pointer.as_deref().is_some_and(|p| p.starts_with(&prefix))
        })
        .collect();
    assert!(rows_2008.is_empty(), "{rows_2008:#?}");
    // The 500 € gap of 2009 is caught.
    assert!(
        r.findings
            .iter()
            .any(|f| f.rule.as_str() == "POLE-FIN-001" && f.figures.difference == Some((-500).into())),
        "{:#?}",
        located(&r)
    );
}

#[test]
fn engine_findings_land_on_their_cells() {
    let cases: &[(&str, &str, &str)] = &[
        ("pole-sans-identification.xlsx", "BILAN-TPL-001", "!"),
        ("pole-modele-inconnu.xlsx", "BILAN-TPL-001", "Identification!B3"),
        ("pole-version-inconnue.xlsx", "BILAN-TPL-002", "Identification!B4"),
        ("pole-feuille-financements-manquante.xlsx", "BILAN-TPL-003", "!"),
        ("pole-entete-introuvable.xlsx", "BILAN-TPL-004", "Projets!"),
        ("pole-erreurs-excel.xlsx", "BILAN-CELL-001", "Financements!D7"),
        ("pole-erreurs-excel.xlsx", "BILAN-CELL-001", "Financements!B8"),
        ("pole-dates-incoherentes.xlsx", "ID-001", "Identification!B6"),
        ("pole-dates-incoherentes.xlsx", "ID-002", "Identification!B5"),
        ("pole-maud-nombres-en-texte.xlsx", "BILAN-NUM-001", "Financements!B7"),
        ("pole-maud-feuilles-en-plus.xlsx", "BILAN-TPL-005", "Notes!"),
        ("pole-maud-feuilles-en-plus.xlsx", "BILAN-TPL-005", "Financements!H3"),
    ];
    for (name, rule, at) in cases {
        let r = check(name);
        let found = located(&r);
        assert!(
            found.iter().any(|(fr, fa)| fr == rule && fa == at),
            "{name}: expected {rule} at {at}, got {found:#?}"
        );
    }
}

#[test]
fn schema_errors_are_mapped_to_their_cells_in_french() {
    // PICOM's report gives no « dont labellisés dans l'exercice »: required, empty.
    let r = check("pole-picom-montants-mal-formes.xlsx");
    let sch = r
        .findings
        .iter()
        .find(|f| f.rule.as_str() == "BILAN-SCH-001")
        .expect("a schema finding");
    assert_eq!(sch.pointer.as_deref(), Some("/indicateurs/labellises_exercice"));
    assert_eq!(sch.sheet.as_deref(), Some("Indicateurs"));
    assert!(sch.cell.is_some());
    assert!(sch.message.contains("obligatoire"), "{}", sch.message);
}

#[test]
fn text_that_looks_like_a_formula_stays_text() {
    let r = check("pole-texte-formule.xlsx");
    let data = &r.extraction.as_ref().expect("extracted").data;
    let value = data
        .pointer("/identification/structure_porteuse")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    assert!(value.starts_with("=HYPERLINK("), "{value}");
}

/// Extraction snapshots: every value of every fixture (all templates) with its cell.
#[test]
fn extraction_snapshots() {
    let mut names: Vec<String> = std::fs::read_dir(fixture(""))
        .expect("fixtures")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".xlsx"))
        .collect();
    names.sort();
    assert!(names.len() >= 40, "{names:?}");
    for name in names {
        let r = check(&name);
        let snapshot = serde_json::json!({
            "template": r.template,
            "data": r.extraction.as_ref().map(|e| &e.data),
            "cells": r.extraction.as_ref().map(|e| &e.origins),
        });
        insta::with_settings!({ snapshot_suffix => name.trim_end_matches(".xlsx").to_string(), prepend_module_to_snapshot => false }, {
            insta::assert_json_snapshot!("extraction", snapshot);
        });
    }
}

/// Terminal output, without colour: a change of wording is a reviewed diff.
#[test]
fn terminal_output_snapshots() {
    for name in [
        "pole-itrans-cout-total-different-des-financeurs.xlsx",
        "pole-picom-montants-mal-formes.xlsx",
        "pole-maud-conforme.xlsx",
        "pole-erreurs-excel.xlsx",
    ] {
        let r = check(name);
        let text = bilan::report::human::render(
            &r,
            bilan::report::human::Style {
                color: false,
                width: 100,
                verbose: false,
            },
        );
        assert!(!text.contains('\u{1b}'), "no escape codes");
        insta::with_settings!({ snapshot_suffix => name.trim_end_matches(".xlsx").to_string(), prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!("human", text);
        });
    }
}

#[test]
fn the_json_report_validates_against_its_schema() {
    let schema_text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/report.schema.json"))
        .expect("schema");
    let schema: serde_json::Value = serde_json::from_str(&schema_text).expect("json");
    let validator = jsonschema::draft202012::new(&schema).expect("compiles");
    let reports: Vec<FileReport> = [
        "pole-itrans-cout-total-different-des-financeurs.xlsx",
        "pole-sans-identification.xlsx",
        "pole-maud-conforme.xlsx",
        "pole-picom-montants-mal-formes.xlsx",
    ]
    .iter()
    .map(|n| check(n))
    .collect();
    let mut with_io = reports;
    with_io.push(checker().check_bytes("pas-un-classeur.xlsx", b"texte"));
    let value = bilan::report::json::report(
        &with_io,
        "srde-2010.1",
        chrono::DateTime::parse_from_rfc3339("2026-11-26T10:00:00Z")
            .expect("date")
            .with_timezone(&chrono::Utc),
        Vec::new(),
    );
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let f = &value["files"][0]["findings"][0];
    assert_eq!(f["rule"], "POLE-FIN-001");
    assert_eq!(f["cell"], "B4");
    assert_eq!(f["range"], "A4:G4");
    assert_eq!(f["expected"], 16033022);
    assert_eq!(f["actual"], 17081618);
    assert_eq!(f["difference"], 1048596);
    assert_eq!(f["tolerance"], 1);
    assert_eq!(value["files"][0]["status"], "non_conforme");
}

/// Data of a fixture's extraction.
fn data_of(name: &str) -> serde_json::Value {
    check(name).extraction.map(|e| e.data).unwrap_or_default()
}

/// `templates.md`, "Tables": blank rows inside a table are skipped, a group
/// heading row is skipped, and `Total général` under blank rows is the TOTAL row.
#[test]
fn blank_rows_group_headings_and_total_general() {
    let r = check("pole-maud-lignes-vides-et-total-general-conforme.xlsx");
    assert_eq!(r.counts().at_or_above(Severity::Info), 0, "{:#?}", located(&r));
    let data = data_of("pole-maud-lignes-vides-et-total-general-conforme.xlsx");
    let clean = data_of("pole-maud-conforme.xlsx");
    assert_eq!(data["financements"], clean["financements"]);
    assert_eq!(data["financements_total"], clean["financements_total"]);
    assert_eq!(data["projets"], clean["projets"]);
    let cells = r.extraction.as_ref().map(|e| e.origins.clone()).unwrap_or_default();
    assert_eq!(
        cells["/financements/2"].cell.map(|c| c.to_string()).as_deref(),
        Some("A7")
    );
    assert_eq!(
        cells["/financements_total"].cell.map(|c| c.to_string()).as_deref(),
        Some("A12")
    );
}

/// A key date below blank rows is read (it used to be dropped: a false "Conforme").
#[test]
fn a_key_date_below_blank_rows_is_read() {
    let r = check("plde-boulonnais-date-apres-l-arrete-sous-des-lignes-vides.xlsx");
    assert_eq!(
        located(&r),
        [("PLDE-DAT-002".to_string(), "Dates clés!A20".to_string())]
    );
}

/// Headers over two rows: `Année` and `Coût total (€)` merged down beside a
/// `Financeurs` group label over the funders.
#[test]
fn a_header_over_two_rows_with_merges_and_a_group_label() {
    let r = check("pole-maud-entete-sur-deux-lignes-conforme.xlsx");
    assert_eq!(r.counts().at_or_above(Severity::Info), 0, "{:#?}", located(&r));
    let data = data_of("pole-maud-entete-sur-deux-lignes-conforme.xlsx");
    let clean = data_of("pole-maud-conforme.xlsx");
    assert_eq!(data["financements"], clean["financements"]);
    assert_eq!(data["financements_total"], clean["financements_total"]);
    let cells = r.extraction.as_ref().map(|e| e.origins.clone()).unwrap_or_default();
    assert_eq!(
        cells["/financements/0/cout_total"]
            .cell
            .map(|c| c.to_string())
            .as_deref(),
        Some("B5")
    );
}

/// Empty amounts of a financing table are 0, the cost included: never "required".
#[test]
fn empty_amounts_are_zero_and_the_sums_say_what_is_wrong() {
    let r = check("pole-maud-montants-vides-conforme.xlsx");
    assert_eq!(r.counts().at_or_above(Severity::Info), 0, "{:#?}", located(&r));
    let data = data_of("pole-maud-montants-vides-conforme.xlsx");
    assert_eq!(
        data["financements"][0],
        serde_json::json!({"annee": 2005, "cout_total": 0, "etat": 0, "region": 0, "epci": 0, "europe": 0, "prive": 0})
    );
    let r = check("pole-maud-cout-total-vide.xlsx");
    assert!(
        !r.findings.iter().any(|f| f.rule.as_str() == "BILAN-SCH-001"),
        "{:#?}",
        located(&r)
    );
    let fin: Vec<_> = located(&r)
        .into_iter()
        .filter(|(rule, _)| rule == "POLE-FIN-001")
        .collect();
    assert_eq!(fin, [("POLE-FIN-001".to_string(), "Financements!B6".to_string())]);
}

/// `Version` typed as a number (2010.1, shown `2010,1`) is version 2010.1.
#[test]
fn a_version_typed_as_a_number() {
    let r = check("pole-maud-version-en-nombre-conforme.xlsx");
    assert_eq!(r.counts().at_or_above(Severity::Info), 0, "{:#?}", located(&r));
    assert_eq!(r.template_version.as_deref(), Some("2010.1"));
}

/// Spec 2 date forms, read as intervals and in order.
#[test]
fn spec_2_date_forms() {
    let r = check("plde-boulonnais-formes-de-dates-conforme.xlsx");
    assert_eq!(r.counts().at_or_above(Severity::Info), 0, "{:#?}", located(&r));
    let data = data_of("plde-boulonnais-formes-de-dates-conforme.xlsx");
    let dates: Vec<&str> = data["dates"]
        .as_array()
        .map(|a| a.iter().filter_map(|d| d["date"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        dates,
        [
            "2008",
            "2009-T1",
            "2009-04-02",
            "2009-06",
            "2009-06-19",
            "2009-06-29",
            "2009-MI",
            "2009-S2",
            "2009-T3",
            "2009-T4",
            "2009-12",
            "2010-T1",
            "2010-T1",
            "2010-T1"
        ]
    );
}

/// Placeholders are missing values (NUM-004, info; PROG-OBJ-003 applies), a
/// number followed by words is SCH-001 saying where the comment goes.
#[test]
fn placeholders_and_numbers_with_comments() {
    let r = check("programme-prdecs-2009-resultat-nd-et-nombre-avec-commentaire.xlsx");
    let found = located(&r);
    for expected in [
        ("BILAN-NUM-004", "Objectifs!E5"),
        ("PROG-OBJ-003", "Objectifs!E5"),
        ("BILAN-SCH-001", "Objectifs!E6"),
    ] {
        assert!(
            found.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} in {found:#?}"
        );
    }
    assert_eq!(found.len(), 3, "{found:#?}");
    let sch = r.findings.iter().find(|f| f.rule.as_str() == "BILAN-SCH-001");
    assert!(
        sch.is_some_and(|f| f.message.contains("colonne Commentaire")),
        "{sch:?}"
    );
    // The group heading row (`Axes du programme 2009-2013`) is not data.
    let data = data_of("programme-prdecs-2009-resultat-nd-et-nombre-avec-commentaire.xlsx");
    assert_eq!(data["objectifs"].as_array().map(Vec::len), Some(3));
}

/// Positions in messages are sheet rows, never rows counted inside a table.
#[test]
fn duplicate_messages_name_the_sheet_row() {
    let pack = RulePack::builtin().expect("rules");
    let rule = pack.rule("POLE-PRJ-001").expect("rule");
    let reports = pack
        .run_one(
            rule,
            bilan::pipeline::rules::api::to_dynamic(&serde_json::json!({"projets": [
                {"annee": 2008, "dispositif": "FUI"}, {"annee": 2008, "dispositif": "FUI"}
            ]})),
        )
        .expect("runs");
    assert!(reports[0].message.contains("déjà ligne 1)"), "{}", reports[0].message);
}
