//! The sixth template, BILAN-OUTILS-FINANCIERS, added with files only (schema,
//! rule folder, fixtures): what its fixtures report, cell by cell.
//!
//! - the seed's table as it was typed (`outils-financiers-2009-tel-que-le-bilan`):
//!   each comment typed in a figure cell is BILAN-SCH-001 on its cell, saying to move
//!   the comment; each `NS`/`nc` is BILAN-NUM-004 (info); nothing else at warning
//!   or above, merged `Famille` cells included;
//! - the same table cleaned the way a reviewer asks (`…-conforme`, and its `.xls` and
//!   `.ods` copies): `Conforme`;
//! - each OUT rule on its fixture, on the right cell, and nothing else at warning or
//!   above;
//! - a blank return filled with a fixture's data (`blank::fill`) reports exactly
//!   what the fixture reports.

mod common;

use common::{checker, fixture};

use std::path::Path;

use bilan::blank::fill;
use bilan::finding::{Severity, Status};
use bilan::job::Checker;
use bilan::pipeline::check::FileReport;
use bilan::pipeline::template::TemplateSet;

const ID: &str = "BILAN-OUTILS-FINANCIERS";

fn check(checker: &Checker, name: &str) -> FileReport {
    let r = checker.check_path(&fixture(name));
    assert_eq!(r.template.as_deref(), Some(ID), "{name}: template not recognised");
    r
}

/// `(rule, Sheet!cell)` of the findings at `min` or above, sorted.
fn located(r: &FileReport, min: Severity) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = r
        .findings
        .iter()
        .filter(|f| f.severity >= min)
        .map(|f| {
            (
                f.rule.as_str().to_string(),
                format!(
                    "{}!{}",
                    f.sheet.clone().unwrap_or_default(),
                    f.cell.map(|c| c.to_string()).unwrap_or_default()
                ),
            )
        })
        .collect();
    out.sort();
    out
}

fn expected(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = list.iter().map(|(r, c)| (r.to_string(), c.to_string())).collect();
    out.sort();
    out
}

/// The seed's own OUT-007: Contrat ACES engaged 0,090 M€ by 31/03/10 against
/// 0,070 M€ over 2009 (an information, in every fixture built from the seed).
const ACES: (&str, &str) = ("OUT-007", "Outils!G19");

#[test]
fn the_seed_table_as_typed_reports_each_quirk_on_its_cell_and_nothing_else() {
    let checker = checker();
    let r = check(&checker, "outils-financiers-2009-tel-que-le-bilan.xlsx");
    // Numbers followed by words: one schema error each, on the cell.
    let comments = [
        ("D5", "21 (+2 et 1 sortie) SCI en portefeuille"),
        ("F5", "73,5 en travaux"),
        ("G5", "73,5 de travaux"),
        ("D11", "17(+6 et 1 sortie) en portefeuille"),
        ("E11", "4 décisions"),
        ("H12", "2 782 maintenus"),
        ("J12", "228 maintenus"),
        ("H19", "842 (1557 maintenus)"),
        ("J19", "38 (144 maintenus)"),
        ("H20", "19 (12 maintenus)"),
        ("H21", "1 540 + 2 827 maintenus"),
        ("J21", "27+168 maintenus"),
    ];
    let mut want: Vec<(String, String)> = comments
        .iter()
        .map(|(cell, _)| ("BILAN-SCH-001".to_string(), format!("Outils!{cell}")))
        .collect();
    want.sort();
    assert_eq!(located(&r, Severity::Warning), want, "{:#?}", r.findings);
    for (cell, text) in comments {
        let f = r
            .findings
            .iter()
            .find(|f| f.cell.map(|c| c.to_string()).as_deref() == Some(cell))
            .unwrap_or_else(|| panic!("no finding on {cell}"));
        assert!(f.message.contains(text), "{cell}: {}", f.message);
        if cell == "J21" {
            // `27+168 maintenus` (no space after the number): a schema error, but
            // the reader does not yet see it as "a number followed by words".
            continue;
        }
        assert!(
            f.message.to_lowercase().contains("comment"),
            "{cell}: the message should say to move the comment: {}",
            f.message
        );
    }
    // `NS` (BATIXIA's jobs) and `nc` (Nord Actif's jobs at the cut-off): not
    // communicated, an information each, no schema error.
    let mut infos: Vec<(String, String)> = located(&r, Severity::Info)
        .into_iter()
        .filter(|(rule, _)| rule.as_str() != "BILAN-SCH-001")
        .collect();
    infos.sort();
    assert_eq!(
        infos,
        expected(&[
            ("BILAN-NUM-004", "Outils!H5"),
            ("BILAN-NUM-004", "Outils!J5"),
            ("BILAN-NUM-004", "Outils!J17"),
            ("OUT-007", "Outils!G20"),
        ]),
        "{:#?}",
        r.findings
    );
    // Merged `Famille` cells give every row of the family its family.
    let data = &r.extraction.as_ref().expect("extraction").data;
    let familles: Vec<&str> = data["outils"]
        .as_array()
        .expect("outils")
        .iter()
        .map(|row| row["famille"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(familles.len(), 20);
    assert_eq!(familles[3], "Fonds propres ou quasi fonds propres", "SCR");
    assert_eq!(familles[19], "Subventions Région/FEDER", "FSI Région/FEDER");
    assert!(familles.iter().all(|f| !f.is_empty()), "{familles:?}");
}

/// The seed's table laid out as the seed lays it out (issue 20): `Famille`,
/// `Outil`, `Dont part de` merged over rows 3–4, the figure columns in row 4 under
/// the group labels `Nombre de dossiers décidés`, `Montants (M€)`, `Emplois` of
/// row 3, each family merged down its instruments. In `.xlsx`, `.xls` and `.ods`
/// it reports exactly what the one-row header of `…-tel-que-le-bilan` reports (its
/// SCH-001 "move the comment", its NUM-004 placeholders, OUT-007), on the same
/// cells with the same messages, and reads the same data: every figure is read,
/// no group label is reported, every row has its family.
#[test]
fn the_seed_table_with_its_two_row_header_and_merged_families_reads_the_same_in_every_format() {
    let checker = checker();
    let one_row = check(&checker, "outils-financiers-2009-tel-que-le-bilan.xlsx");
    let want: Vec<(String, Severity, String, String, String)> = with_cells(&one_row);
    assert!(
        want.iter().filter(|f| f.0 == "BILAN-SCH-001").count() >= 12,
        "{want:#?}"
    );
    assert!(want.iter().any(|f| f.0 == "BILAN-NUM-004"), "{want:#?}");
    assert!(want.iter().any(|f| f.0 == "OUT-007"), "{want:#?}");
    let data = &one_row.extraction.as_ref().expect("extraction").data;
    for ext in ["xlsx", "xls", "ods"] {
        let name = format!("outils-financiers-2009-tel-que-le-bilan-entete-sur-deux-lignes.{ext}");
        let r = check(&checker, &name);
        assert_eq!(with_cells(&r), want, "{name}");
        assert_ne!(r.status(), Status::Conforme, "{name}");
        let got = &r.extraction.as_ref().expect("extraction").data;
        assert_eq!(got["outils"], data["outils"], "{name}: the same rows and figures");
    }
}

/// (rule, severity, Sheet!cell, pointer, message), sorted.
fn with_cells(r: &FileReport) -> Vec<(String, Severity, String, String, String)> {
    let mut out: Vec<_> = r
        .findings
        .iter()
        .map(|f| {
            (
                f.rule.as_str().to_string(),
                f.severity,
                format!(
                    "{}!{}",
                    f.sheet.clone().unwrap_or_default(),
                    f.cell.map(|c| c.to_string()).unwrap_or_default()
                ),
                f.pointer.clone().unwrap_or_default(),
                f.message.clone(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn the_cleaned_table_is_conforme_in_every_format() {
    let checker = checker();
    for ext in ["xlsx", "xls", "ods"] {
        let name = format!("outils-financiers-2009-conforme.{ext}");
        let r = check(&checker, &name);
        assert_eq!(r.status(), Status::Conforme, "{name}: {:#?}", r.findings);
        assert_eq!(
            located(&r, Severity::Info),
            expected(&[ACES]),
            "{name}: {:#?}",
            r.findings
        );
        assert_eq!(r.organisation.as_deref(), Some("Direction de l'Action Economique"));
    }
}

#[test]
fn each_out_rule_fires_on_its_fixture_on_the_right_cell() {
    let checker = checker();
    let cases: &[(&str, &[(&str, &str)])] = &[
        (
            "outils-financiers-2009-finorpa-inferieur-a-ses-parties.xlsx",
            &[("OUT-001", "Outils!F6")],
        ),
        (
            "outils-financiers-2009-partie-d-un-outil-absent.xlsx",
            &[("OUT-002", "Outils!C7")],
        ),
        (
            "outils-financiers-2009-dossiers-sans-montant.xlsx",
            &[("OUT-003", "Outils!G14")],
        ),
        (
            "outils-financiers-2009-montant-en-milliers-d-euros.xlsx",
            &[("OUT-004", "Outils!G12")],
        ),
        (
            "outils-financiers-2009-pfil-en-double.xlsx",
            &[("OUT-005", "Outils!B14")],
        ),
        (
            "outils-financiers-2009-total-compte-les-parties.xlsx",
            &[
                ("OUT-006", "Outils!D24"),
                ("OUT-006", "Outils!E24"),
                ("OUT-006", "Outils!F24"),
                ("OUT-006", "Outils!G24"),
            ],
        ),
    ];
    for (name, want) in cases {
        let r = check(&checker, name);
        assert_eq!(
            located(&r, Severity::Warning),
            expected(want),
            "{name}: {:#?}",
            r.findings
        );
    }
    // A duplicate names the sheet row of the first occurrence.
    let r = check(&checker, "outils-financiers-2009-pfil-en-double.xlsx");
    assert!(
        r.findings
            .iter()
            .any(|f| f.rule.as_str() == "OUT-005" && f.message.contains("(déjà ligne 13)")),
        "{:#?}",
        r.findings
    );
    // OUT-007 is an information: the cumulated row, beside the seed's own.
    let r = check(&checker, "outils-financiers-2009-arrete-cumule-avec-l-exercice.xlsx");
    assert_eq!(located(&r, Severity::Warning), expected(&[]), "{:#?}", r.findings);
    assert_eq!(
        located(&r, Severity::Info),
        expected(&[("OUT-007", "Outils!E15"), ACES]),
        "{:#?}",
        r.findings
    );
    let inseraction = r
        .findings
        .iter()
        .find(|f| f.cell.map(|c| c.to_string()).as_deref() == Some("E15"))
        .expect("OUT-007 on Inseraction 62");
    assert!(
        inseraction.message.contains("les dossiers (391 contre 289)")
            && inseraction.message.contains("le montant (9,103 M€ contre 6,893 M€)"),
        "one finding naming both columns: {}",
        inseraction.message
    );
}

#[test]
fn the_figures_of_the_out_findings_are_exact_decimals() {
    let checker = checker();
    let r = check(&checker, "outils-financiers-2009-finorpa-inferieur-a-ses-parties.xlsx");
    let f = r
        .findings
        .iter()
        .find(|f| f.rule.as_str() == "OUT-001")
        .expect("OUT-001");
    assert_eq!(f.figures.expected.map(|d| d.to_string()).as_deref(), Some("9.640"));
    assert_eq!(
        f.figures.actual.map(|d| d.normalize().to_string()).as_deref(),
        Some("8.64")
    );
    assert_eq!(f.range.map(|rg| rg.to_string()).as_deref(), Some("F6:F9"));
    let r = check(&checker, "outils-financiers-2009-total-compte-les-parties.xlsx");
    let gaps: Vec<String> = r
        .findings
        .iter()
        .filter(|f| f.rule.as_str() == "OUT-006")
        .filter_map(|f| f.figures.difference.map(|d| d.normalize().to_string()))
        .collect();
    // The FSI's three parts, counted a second time.
    assert_eq!(gaps, ["11", "1", "8.41", "0.356"]);
    // Counts are compared exactly, amounts to 0,001 M€.
    let tolerances: Vec<String> = r
        .findings
        .iter()
        .filter(|f| f.rule.as_str() == "OUT-006")
        .filter_map(|f| f.figures.tolerance.map(|d| d.normalize().to_string()))
        .collect();
    assert_eq!(tolerances, ["0", "0", "0.001", "0.001"]);
}

/// (rule, severity, pointer, message), sorted.
fn findings_of(r: &FileReport) -> Vec<(String, Severity, String, String)> {
    let mut out: Vec<_> = r
        .findings
        .iter()
        .map(|f| {
            (
                f.rule.as_str().to_string(),
                f.severity,
                f.pointer.clone().unwrap_or_default(),
                f.message.clone(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_blank_return_filled_with_the_fixtures_reports_what_they_report() {
    let checker = checker();
    let t = checker.templates.get(ID).expect("template");
    for name in [
        "outils-financiers-2009-conforme.xlsx",
        "outils-financiers-2009-finorpa-inferieur-a-ses-parties.xlsx",
        "outils-financiers-2009-partie-d-un-outil-absent.xlsx",
        "outils-financiers-2009-dossiers-sans-montant.xlsx",
        "outils-financiers-2009-montant-en-milliers-d-euros.xlsx",
        "outils-financiers-2009-pfil-en-double.xlsx",
        "outils-financiers-2009-total-compte-les-parties.xlsx",
        "outils-financiers-2009-arrete-cumule-avec-l-exercice.xlsx",
    ] {
        let original = check(&checker, name);
        let data = &original.extraction.as_ref().expect("extraction").data;
        let bytes = fill(t, data).unwrap_or_else(|e| panic!("{name}: fill: {e}"));
        let filled = checker.check_bytes("rempli.xlsx", &bytes);
        assert_eq!(filled.template.as_deref(), Some(ID), "{name}");
        assert_eq!(findings_of(&filled), findings_of(&original), "{name}");
        assert_eq!(filled.status(), original.status(), "{name}");
        let again = &filled.extraction.as_ref().expect("extraction").data;
        assert_eq!(again, data, "{name}: the filled return reads back the same data");
    }
}

/// A copy of the built-in schemas in a temporary folder, with `edit` applied to
/// the text of BILAN-OUTILS-FINANCIERS.
fn schemas_with(edit: impl Fn(&str) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary folder");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    for entry in std::fs::read_dir(&src).expect("schemas/ is listed") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("file name").to_owned();
        let text = std::fs::read_to_string(&path).expect("schema text");
        let text = if name == "BILAN-OUTILS-FINANCIERS.schema.json" {
            edit(&text)
        } else {
            text
        };
        std::fs::write(dir.path().join(name), text).expect("schema written");
    }
    dir
}

#[test]
fn a_misspelt_annotation_stops_the_load_with_the_file_and_the_pointer() {
    // `x-header` misspelt on the `Outil` column: the column would never be found.
    let dir = schemas_with(|t| t.replacen("\"x-header\": \"Outil\"", "\"x-headr\": \"Outil\"", 1));
    let files = bilan::base::embedded::from_dir(dir.path()).expect("folder read");
    let err = TemplateSet::load(&files).expect_err("a misspelt annotation is refused");
    let text = err.to_string();
    assert!(text.starts_with("BILAN-OUTILS-FINANCIERS.schema.json: "), "{text}");
    assert!(
        text.contains("annotation invalide en « /properties/outils/items/properties/outil/x-headr » : mot-clé « x-headr » inconnu"),
        "{text}"
    );
    // The same through the command line (`--schemas DIR`): exit 2, French message.
    let out = assert_cmd::Command::cargo_bin("bilan")
        .expect("binary built")
        .arg("check")
        .arg("--schemas")
        .arg(dir.path())
        .arg(fixture("outils-financiers-2009-conforme.xlsx"))
        .output()
        .expect("bilan runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("mot-clé « x-headr » inconnu"), "{stderr}");
}

#[test]
fn a_synthesis_column_that_names_nothing_is_refused() {
    // A typo in a key figure of the batch synthesis would give an empty column.
    let dir = schemas_with(|t| {
        t.replacen(
            "\"pointer\": \"montant_exercice\"",
            "\"pointer\": \"montant_exercise\"",
            1,
        )
    });
    let files = bilan::base::embedded::from_dir(dir.path()).expect("folder read");
    let text = TemplateSet::load(&files).expect_err("refused").to_string();
    assert!(
        text.contains("/x-template/synthese/columns/7/pointer")
            && text.contains("« montant_exercise » n'est pas une colonne du tableau « /outils »"),
        "{text}"
    );
}

#[test]
fn every_built_in_schema_honours_the_annotation_contract() {
    for file in bilan::base::embedded::schemas() {
        let schema: serde_json::Value = serde_json::from_str(&file.text).expect("JSON");
        bilan::pipeline::template::annotations::check(&file.path, &schema).unwrap_or_else(|e| panic!("{}", e));
    }
    assert_eq!(TemplateSet::builtin().all().len(), 7);
}

#[test]
fn the_batch_synthesis_lists_every_instrument_and_totals_them_without_counting_parts_twice() {
    use bilan::base::model::CellRef;
    use bilan::pipeline::read::{read_bytes, CellValue, Limits};
    let dir = tempfile::tempdir().expect("temporary folder");
    let input = dir.path().join("retours");
    std::fs::create_dir(&input).expect("folder");
    std::fs::copy(
        fixture("outils-financiers-2009-conforme.xlsx"),
        input.join("outils-financiers-2009-conforme.xlsx"),
    )
    .expect("copy");
    let out = dir.path().join("sortie");
    let status = assert_cmd::Command::cargo_bin("bilan")
        .expect("binary built")
        .arg("batch")
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("bilan runs");
    assert!(status.status.code().is_some_and(|c| c < 2), "{status:?}");
    let bytes = std::fs::read(out.join("synthese.xlsx")).expect("synthese.xlsx");
    let wb = read_bytes(&bytes, &Limits::default()).expect("readable");
    let sheet = wb
        .sheets
        .iter()
        .find(|s| s.name == ID)
        .expect("one sheet for the template");
    let text = |row: u32, col: u32| match sheet.get(CellRef::new(row, col)) {
        Some(CellValue::Text(s)) => s.clone(),
        Some(CellValue::Number(n)) => format!("{}", (n * 1000.0).round() / 1000.0),
        _ => String::new(),
    };
    let header: Vec<String> = (0..15).map(|c| text(3, c)).collect();
    assert_eq!(
        header[1..15],
        [
            "Service",
            "Exercice",
            "Famille",
            "Outil",
            "Dont part de",
            "Dossiers exercice",
            "Dossiers à l'arrêté",
            "Montant exercice (M€)",
            "Montant à l'arrêté (M€)",
            "Emplois créés exercice",
            "Emplois maintenus exercice",
            "Emplois créés à l'arrêté",
            "Emplois maintenus à l'arrêté",
            "Statut",
        ]
    );
    // One row per instrument (20), then the TOTAL line.
    assert_eq!(text(4, 4), "BATIXIA");
    assert_eq!(text(23, 4), "FSI Région/FEDER");
    assert_eq!(text(23, 5), "FSI (total)");
    assert_eq!(text(24, 0), "TOTAL");
    // FINORPA (left empty) counts for SCR + PP + Mezzanine; the FSI's parts are
    // already in « FSI (total) ».
    assert_eq!(text(24, 6), "2978", "files decided in 2009");
    assert_eq!(text(24, 8), "276.402", "M€ decided in 2009");
    assert_eq!(text(24, 9), "104.815", "M€ decided by 31/03/2010");
}
