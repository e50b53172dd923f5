//! A reporting cycle through the library (the API the web desk uses): a campaign
//! file applied to the rules, justifications read from the return, and the
//! comparison of two submissions. Fixtures: `fixtures/campagne/` (made from
//! `fixtures/campagne/src/*.json`, see `tests/fixtures_up_to_date.rs`).

mod common;

use common::{campaign_fixture as fixture, root};

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use bilan::diff::{compare, Suivi};
use bilan::finding::{Severity, Status};
use bilan::job::Checker;
use bilan::pipeline::campaign::Campaign;
use bilan::pipeline::check::FileReport;
use bilan::pipeline::rules::RulePack;
use bilan::pipeline::template::TemplateSet;

fn rules() -> RulePack {
    RulePack::builtin().unwrap_or_else(|e| panic!("built-in rules: {e}"))
}

fn checker(rules: RulePack) -> Checker {
    Checker::new(TemplateSet::builtin(), rules)
}

fn with_campaign(path: &Path) -> Checker {
    let mut pack = rules();
    let campaign = Campaign::load(path, &pack).unwrap_or_else(|e| panic!("{e}"));
    campaign.apply(&mut pack);
    checker(pack)
}

/// `file rule sheet!cell severity` of every finding.
fn located(r: &FileReport) -> BTreeSet<String> {
    r.findings
        .iter()
        .map(|f| {
            format!(
                "{} {} {}!{} {}",
                Path::new(&r.path)
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default(),
                f.rule,
                f.sheet.as_deref().unwrap_or("-"),
                f.cell.map(|c| c.to_string()).unwrap_or_default(),
                f.severity
            )
        })
        .collect()
}

const CAMPAIGN_FILES: &[&str] = &[
    "plde-calaisis-convention-sur-4-ans.xlsx",
    "programme-international-2009-emplois-et-pme-sous-la-moitie.xlsx",
    "programme-sri-2009-fonds-innovation-sous-la-moitie.xlsx",
    "programme-tic-2009-cybers-sous-la-moitie.xlsx",
    "pole-itrans-cout-total-different-des-financeurs.xlsx",
    "pole-maud-conforme.xlsx",
];

#[test]
fn the_example_campaign_changes_exactly_the_findings_it_names() {
    let plain = checker(rules());
    let campaign = with_campaign(&root().join("fixtures/campagne/campagne.toml"));
    let mut before = BTreeSet::new();
    let mut after = BTreeSet::new();
    for name in CAMPAIGN_FILES {
        before.extend(located(&plain.check_path(&fixture(name))));
        let r = campaign.check_path(&fixture(name));
        after.extend(located(&r));
        for f in r.findings.iter().filter(|f| f.rule.as_str() == "PROG-OBJ-001") {
            assert!(f.message.contains("seuil d'alerte 40 %"), "{}", f.message);
        }
    }
    let gone: Vec<&String> = before.difference(&after).collect();
    let new: Vec<&String> = after.difference(&before).collect();
    assert_eq!(
        gone,
        [
            "plde-calaisis-convention-sur-4-ans.xlsx PLDE-DAT-004 Identification!B10 warning",
            "programme-international-2009-emplois-et-pme-sous-la-moitie.xlsx PROG-OBJ-001 Objectifs!E5 warning",
            "programme-sri-2009-fonds-innovation-sous-la-moitie.xlsx PROG-OBJ-001 Objectifs!E6 warning",
        ]
    );
    assert!(new.is_empty(), "{new:#?}");
    // Below 40 % still warns.
    assert!(after.contains("programme-tic-2009-cybers-sous-la-moitie.xlsx PROG-OBJ-001 Objectifs!E6 warning"));
}

#[test]
fn the_campaign_checks_exercice_and_cut_off() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("campagne.toml");
    std::fs::write(
        &file,
        "nom = \"Bilan 2010\"\nexercice = 2010\ndate_arrete = 2011-03-31\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let r = with_campaign(&file).check_path(&fixture("pole-maud-conforme.xlsx"));
    let got = located(&r);
    assert_eq!(
        got.into_iter().collect::<Vec<_>>(),
        [
            "pole-maud-conforme.xlsx CAMP-001 Identification!B10 warning",
            "pole-maud-conforme.xlsx CAMP-002 Identification!B5 warning",
        ]
    );
    assert!(r
        .findings
        .iter()
        .any(|f| f.message.contains("arrête les chiffres au 31/03/2011")));
}

#[test]
fn a_return_whose_only_warning_is_justified_is_conforme() {
    let r = checker(rules()).check_path(&fixture("programme-prdess-2009-dla-justifie.xlsx"));
    assert_eq!(r.status(), Status::Conforme);
    let counts = r.counts();
    assert_eq!(
        (counts.error, counts.warning, counts.info, counts.justified),
        (0, 1, 0, 1)
    );
    assert_eq!(r.findings.len(), 1);
    let f = &r.findings[0];
    assert_eq!(f.rule.as_str(), "PROG-OBJ-001");
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(
        f.justification.as_deref(),
        Some("Les DLA ont suivi moins de structures mais plus longtemps : 4 708 emplois concernés")
    );
    let json = bilan::report::json::file_json(&r);
    assert_eq!(json["status"], "conforme");
    assert_eq!(json["counts"]["justified"], 1);
    assert_eq!(
        json["findings"][0]["justification"],
        f.justification.clone().unwrap_or_default()
    );
    // Without the justification, the same return has reservations.
    let plain = checker(rules()).check_path(&fixture("programme-prdess-2009-dla-sous-la-moitie.xlsx"));
    assert_eq!(plain.status(), Status::ConformeAvecReserves);
}

#[test]
fn an_error_cannot_be_justified() {
    let r = checker(rules()).check_path(&fixture("pole-itrans-justifications.xlsx"));
    assert_eq!(r.status(), Status::NonConforme);
    let got: Vec<String> = located(&r).into_iter().filter(|l| l.contains("JUS")).collect();
    assert_eq!(
        got,
        [
            "pole-itrans-justifications.xlsx BILAN-JUS-001 Justifications!A7 info",
            "pole-itrans-justifications.xlsx BILAN-JUS-002 Justifications!A5 info",
        ]
    );
    let fin: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.rule.as_str() == "POLE-FIN-001")
        .collect();
    assert_eq!(fin.len(), 5);
    assert!(fin
        .iter()
        .all(|f| f.justification.is_none() && f.severity == Severity::Error));
    // The warning is justified with its sheet left out (its cell is on one sheet only).
    let prj = r.findings.iter().find(|f| f.rule.as_str() == "POLE-PRJ-002");
    assert!(prj.is_some_and(|f| f.is_justified()), "{prj:?}");
    assert_eq!(r.counts().justified, 1);
}

#[test]
fn a_resubmission_is_compared_with_the_previous_one() {
    let c = checker(rules());
    let old = c.check_path(&fixture("pole-itrans-cout-total-different-des-financeurs.xlsx"));
    let new = c.check_path(&fixture("pole-itrans-renvoi-deux-annees-corrigees.xlsx"));
    let d = compare(&old, &new).unwrap_or_else(|e| panic!("{e}"));
    let ids = |fs: &[bilan::finding::Finding]| {
        fs.iter()
            .map(|f| format!("{} {}", f.rule, f.pointer.as_deref().unwrap_or("-")))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(&d.corriges),
        [
            "POLE-FIN-001 /financements/0/cout_total",
            "POLE-FIN-001 /financements/1/cout_total"
        ]
    );
    assert_eq!(ids(&d.nouveaux), ["POLE-IND-001 /indicateurs/dont_pme"]);
    assert_eq!(
        ids(&d.toujours_presents),
        [
            "POLE-FIN-001 /financements/2/cout_total",
            "POLE-FIN-001 /financements/3/cout_total",
            "POLE-FIN-001 /financements/4/cout_total",
            "POLE-PRJ-002 /projets/18/nombre_entreprises",
        ]
    );
    assert!(d.justifies.is_empty());
    // Still present although the table moved down a row: B6 then, B7 now.
    let moved = d.toujours_presents.first().and_then(|f| f.cell).map(|c| c.to_string());
    assert_eq!(moved.as_deref(), Some("B7"));
    let changes: Vec<String> = d
        .valeurs_modifiees
        .iter()
        .map(|c| {
            format!(
                "{} {} {} → {} {}",
                c.pointer,
                c.old_place.as_ref().map(|p| p.to_string()).unwrap_or_default(),
                c.old_value.as_ref().map(|v| v.to_string()).unwrap_or_default(),
                c.new_place.as_ref().map(|p| p.to_string()).unwrap_or_default(),
                c.new_value.as_ref().map(|v| v.to_string()).unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            "/indicateurs/dont_pme Indicateurs!B8 33 → Indicateurs!B8 70",
            "/financements/0/cout_total Financements!B4 17081618 → Financements!B5 16033022",
            "/financements/1/cout_total Financements!B5 17281007 → Financements!B6 16877065",
        ]
    );
    assert_eq!(
        d.suivi.iter().filter(|s| **s == Suivi::Nouveau).count(),
        1,
        "{:?}",
        d.suivi
    );
    let json = bilan::diff::to_json(&d, &old, &new);
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schemas/diff.schema.json")).unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let validator = jsonschema::draft202012::new(&schema).unwrap_or_else(|e| panic!("{e}"));
    let errors: Vec<String> = validator.iter_errors(&json).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(json["valeurs_modifiees"][1]["ancienne_cellule"], "Financements!B4");
    assert_eq!(json["valeurs_modifiees"][1]["nouvelle_valeur"], 16033022);
}

#[test]
fn two_different_returns_are_not_compared() {
    let c = checker(rules());
    let itrans = c.check_path(&fixture("pole-itrans-cout-total-different-des-financeurs.xlsx"));
    let maud = c.check_path(&fixture("pole-maud-conforme.xlsx"));
    let plde = c.check_path(&fixture("plde-calaisis-conforme.xlsx"));
    let e = compare(&itrans, &maud).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e.contains("« I-TRANS »") && e.contains("« MAUD »"), "{e}");
    let e = compare(&itrans, &plde).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e.contains("BILAN-POLE") && e.contains("BILAN-PLDE"), "{e}");
}

#[test]
fn blank_returns_end_with_an_empty_unlocked_justifications_sheet() {
    let templates = TemplateSet::builtin();
    for t in templates.all() {
        let bytes = bilan::blank::blank(t).unwrap_or_else(|e| panic!("{e}"));
        let wb = bilan::pipeline::read::read_bytes(&bytes, &bilan::pipeline::read::Limits::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let last = wb.sheets.last().map(|s| s.name.as_str());
        assert_eq!(last, Some("Justifications"), "{}", t.id);
        let sheet = bilan::pipeline::justify::sheet_of(&wb).unwrap_or_else(|| panic!("{}", t.id));
        assert_eq!(bilan::pipeline::justify::read(sheet), Some(Vec::new()), "{}", t.id);
        // Unprotected: the last worksheet part has no <sheetProtection>.
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).unwrap_or_else(|e| panic!("{e}"));
        let n = wb.sheets.len();
        let mut xml = String::new();
        std::io::Read::read_to_string(
            &mut zip
                .by_name(&format!("xl/worksheets/sheet{n}.xml"))
                .unwrap_or_else(|e| panic!("{e}")),
            &mut xml,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !xml.contains("<sheetProtection"),
            "{}: Justifications is protected",
            t.id
        );
    }
}

#[test]
fn the_diff_schema_uses_the_report_s_findings() {
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_str(
            &std::fs::read_to_string(root().join("schemas").join(name)).unwrap_or_else(|e| panic!("{e}")),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let (report, diff) = (read("report.schema.json"), read("diff.schema.json"));
    for def in ["severity", "number_or_null", "string_or_null", "counts", "finding"] {
        assert_eq!(
            report["$defs"][def], diff["$defs"][def],
            "schemas/diff.schema.json $defs/{def} differs from report.schema.json's: copy it again"
        );
    }
}

#[test]
fn pack_toml_can_switch_a_rule_off() {
    let mut files = bilan::base::embedded::rules();
    let pack = files
        .iter_mut()
        .find(|f| f.path == Path::new("pack.toml"))
        .unwrap_or_else(|| panic!("pack.toml"));
    pack.text
        .to_mut()
        .push_str("\n[severity]\n\"POLE-PRJ-002\" = \"off\"\n\"POLE-FIN-001\" = \"avertissement\"\n");
    let rules = RulePack::load(&files, bilan::pipeline::rules::Sandbox::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(rules.is_off("POLE-PRJ-002"));
    let r = checker(rules).check_path(&fixture("pole-itrans-cout-total-different-des-financeurs.xlsx"));
    assert!(!r.findings.iter().any(|f| f.rule.as_str() == "POLE-PRJ-002"));
    assert_eq!(r.counts().warning, 5);
    assert_eq!(r.status(), Status::ConformeAvecReserves);
    // A word that is not a severity stops the load, with its place.
    let mut files = bilan::base::embedded::rules();
    if let Some(pack) = files.iter_mut().find(|f| f.path == Path::new("pack.toml")) {
        pack.text
            .to_mut()
            .push_str("\n[severity]\n\"POLE-PRJ-002\" = \"douce\"\n");
    }
    let e = RulePack::load(&files, bilan::pipeline::rules::Sandbox::default()).err();
    assert!(e.is_some(), "an unknown severity word must stop the load");
}

/// The web desk's way: a campaign stored as text, returns checked in worker
/// processes (which must apply the same campaign).
#[test]
fn a_campaign_given_as_text_reaches_the_worker_processes() {
    let text =
        std::fs::read_to_string(root().join("fixtures/campagne/campagne.toml")).unwrap_or_else(|e| panic!("{e}"));
    let setup = bilan::run::Setup {
        isolation: Some(PathBuf::from(env!("CARGO_BIN_EXE_bilan"))),
        campagne_texte: Some((PathBuf::from("campagne 2009 (déposée)"), text)),
        ..Default::default()
    };
    let checker = bilan::run::load(&setup).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(checker.isolation.is_some());
    let c = checker
        .rules
        .campaign
        .as_ref()
        .unwrap_or_else(|| panic!("campaign applied"));
    assert!(c.expected.is_none(), "attendus is not read from a text");
    assert_eq!(c.expected_file.as_deref(), Some("attendus.csv"));
    let r = checker.check_path(&fixture("plde-calaisis-convention-sur-4-ans.xlsx"));
    assert_eq!(r.template.as_deref(), Some("BILAN-PLDE"));
    assert!(r.findings.is_empty(), "{:?}", r.findings);
    let r = checker.check_path(&fixture("programme-sri-2009-fonds-innovation-sous-la-moitie.xlsx"));
    assert!(r.findings.is_empty(), "{:?}", r.findings);
}

/// What a reviewer reads on the terminal after `bilan diff` (a reviewed snapshot).
#[test]
fn diff_on_the_terminal() {
    let c = checker(rules());
    let mut old = c.check_path(&fixture("pole-itrans-cout-total-different-des-financeurs.xlsx"));
    let mut new = c.check_path(&fixture("pole-itrans-renvoi-deux-annees-corrigees.xlsx"));
    old.path = "retours/pole-itrans-2009.xlsx".into();
    new.path = "retours/pole-itrans-2009-v2.xlsx".into();
    let d = compare(&old, &new).unwrap_or_else(|e| panic!("{e}"));
    insta::assert_snapshot!(bilan::report::diff::render(&d, &old, &new, &c.templates));
}
