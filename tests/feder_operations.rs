//! FEDER-OPERATIONS: the list of operations behind the FEDER dashboard (issue 24).
//!
//! - the generated seed list gives exactly the seed's Axis 1 dashboard, and the
//!   pair reconciles with no finding at warning or above (`check` of both files
//!   and `batch`);
//! - one priority-2 operation with 10 000 € more FEDER: FEDER-REC-002 on the
//!   dashboard's `28,89` (stated to the hundredth), while its Axis total `89`
//!   still agrees; typed `89,00`, FEDER-REC-001 too — both figures in each
//!   message; the findings reach the terminal, `rapport.json` `batch`,
//!   `synthese.xlsx` and the dashboard's annotated workbook;
//! - each OPE rule fires on the fixture named after it, each period's clean list
//!   gives nothing at warning or above;
//! - a campaign's `debut_eligibilite`, `fin_eligibilite`, ceiling and
//!   `codes_earmarking` change the findings.

#[path = "../fixtures/feder_operations.rs"]
mod gen;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use bilan::finding::{Finding, Severity};
use bilan::pipeline::check::FileReport;
use bilan::run::{self, CheckOptions, CheckRun, Setup};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

const DASHBOARD: &str = "feder-axe1-2009-conforme.xlsx";
const LIST: &str = "feder-operations-2009-axe1-conforme.xlsx";

fn check_with(setup: &Setup, files: &[&str]) -> CheckRun {
    let checker = run::load(setup).unwrap_or_else(|e| panic!("{e:?}"));
    run::check(
        &checker,
        &CheckOptions {
            files: files.iter().map(|f| fixture(f)).collect(),
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e:?}"))
}

fn check(files: &[&str]) -> CheckRun {
    check_with(&Setup::default(), files)
}

fn serious(f: &Finding) -> bool {
    f.severity >= Severity::Warning
}

fn shown(findings: &[&Finding]) -> String {
    findings
        .iter()
        .map(|f| {
            format!(
                "{} {:?}!{:?} {}",
                f.rule,
                f.sheet,
                f.cell.map(|c| c.to_string()),
                f.message
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn rules_of(r: &FileReport) -> Vec<String> {
    r.findings.iter().map(|f| f.rule.as_str().to_string()).collect()
}

fn campaign(dir: &Path, text: &str) -> Setup {
    let path = dir.join("campagne.toml");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    Setup {
        campagne: Some(path),
        ..Setup::default()
    }
}

#[test]
fn the_generator_gives_exactly_the_seed_dashboard() {
    let ops = gen::operations(&gen::Plan::seed());
    assert_eq!(ops.len(), 440);
    for (prio, _, count, cents) in gen::SEED_PRIORITIES {
        let mine: Vec<_> = ops.iter().filter(|o| o.priorite == prio).collect();
        assert_eq!(mine.len(), count, "priorité {prio}");
        assert_eq!(mine.iter().map(|o| o.feder).sum::<i64>(), cents, "priorité {prio}");
    }
    assert_eq!(ops.iter().filter(|o| o.gestion == "Région").count(), 309);
    assert_eq!(ops.iter().map(|o| o.feder).sum::<i64>(), 8_900_000_000);
    assert_eq!(ops.iter().map(|o| o.dep_cert).sum::<i64>(), 7_750_000_000);
    assert_eq!(ops.iter().map(|o| o.feder_cert).sum::<i64>(), 1_860_000_000);
    let earmarked: i64 = ops.iter().filter(|o| o.earmarking).map(|o| o.feder).sum();
    assert!(
        (earmarked as f64 / 8_900_000_000.0 * 100.0 - 72.0).abs() < 0.5,
        "{earmarked}"
    );
    assert_eq!(ops.iter().filter(|o| o.environnement).count(), 260);
    assert!(ops.iter().all(|o| gen::siret_valid(&o.siret)), "SIRET");
    // The same list every time.
    assert_eq!(gen::operations(&gen::Plan::seed()), ops);
}

#[test]
fn the_seed_pair_reconciles_with_nothing_at_warning_or_above() {
    let done = check(&[LIST, DASHBOARD]);
    for r in &done.reports {
        let bad: Vec<&Finding> = r.findings.iter().filter(|f| serious(f)).collect();
        assert!(bad.is_empty(), "{} :\n{}", r.path, shown(&bad));
        assert!(r.template.is_some());
    }
    assert_eq!(done.reports[0].template.as_deref(), Some("FEDER-OPERATIONS"));
    let cross: Vec<&Finding> = done.cross.iter().map(|b| &b.finding).collect();
    assert!(cross.is_empty(), "{}", shown(&cross));
}

#[test]
fn ten_thousand_euros_more_on_priority_2_show_on_its_cell_but_not_on_89() {
    let done = check(&["feder-operations-2009-priorite-2-plus-10000-euros.xlsx", DASHBOARD]);
    let rec: Vec<&Finding> = done
        .cross
        .iter()
        .map(|b| &b.finding)
        .filter(|f| f.severity >= Severity::Warning)
        .collect();
    assert_eq!(rec.len(), 1, "{}", shown(&rec));
    let f = rec[0];
    assert_eq!(f.rule.as_str(), "FEDER-REC-002");
    assert_eq!(f.sheet.as_deref(), Some("Priorités"));
    assert_eq!(f.cell.map(|c| c.to_string()).as_deref(), Some("E5"));
    assert!(
        f.message.contains("28,89 M€ de FEDER programmé au tableau de bord"),
        "{}",
        f.message
    );
    assert!(f.message.contains("28,90 M€ d'après la liste"), "{}", f.message);
    assert!(
        f.message
            .contains("feder-operations-2009-priorite-2-plus-10000-euros.xlsx"),
        "{}",
        f.message
    );
    // The list gets the reference, as information.
    let refs: Vec<&bilan::batch::BatchFinding> = done
        .cross
        .iter()
        .filter(|b| b.finding.severity == Severity::Info)
        .collect();
    assert_eq!(refs.len(), 1);
    assert!(refs[0].file.as_deref().is_some_and(|f| f.contains("plus-10000")));

    // Typed 89,00 (to the hundredth), the Axis total disagrees too.
    let done = check(&[
        "feder-operations-2009-priorite-2-plus-10000-euros.xlsx",
        "feder-axe1-2009-axe-1-au-centime.xlsx",
    ]);
    let mut rules: Vec<&str> = done
        .cross
        .iter()
        .filter(|b| b.finding.severity >= Severity::Warning)
        .map(|b| b.finding.rule.as_str())
        .collect();
    rules.sort();
    assert_eq!(rules, ["FEDER-REC-001", "FEDER-REC-002"]);
    let rec1 = done
        .cross
        .iter()
        .find(|b| b.finding.rule.as_str() == "FEDER-REC-001" && b.finding.severity == Severity::Error)
        .map(|b| &b.finding);
    let rec1 = rec1.unwrap_or_else(|| panic!("FEDER-REC-001"));
    assert!(rec1.message.contains("89,00 M€ au tableau de bord"), "{}", rec1.message);
    assert!(rec1.message.contains("89,01 M€ d'après la liste"), "{}", rec1.message);
    assert_eq!(rec1.sheet.as_deref(), Some("Maquette"));
}

#[test]
fn the_cross_findings_reach_every_output_of_a_batch() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let input = dir.path().join("retours");
    std::fs::create_dir_all(&input).unwrap_or_else(|e| panic!("{e}"));
    for f in ["feder-operations-2009-priorite-2-plus-10000-euros.xlsx", DASHBOARD] {
        std::fs::copy(fixture(f), input.join(f)).unwrap_or_else(|e| panic!("{e}"));
    }
    let out = dir.path().join("sortie");
    let o = Command::cargo_bin("bilan")
        .unwrap_or_else(|e| panic!("{e}"))
        .env("NO_COLOR", "1")
        .args(["batch"])
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains("feder-axe1-2009-conforme.xlsx:Priorités!E5 : erreur FEDER-REC-002"),
        "{text}"
    );
    let json: Value = serde_json::from_slice(&std::fs::read(out.join("rapport.json")).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"));
    let batch = json["batch"].as_array().cloned().unwrap_or_default();
    let rec = batch
        .iter()
        .find(|b| b["rule"] == "FEDER-REC-002" && b["severity"] == "error");
    let rec = rec.unwrap_or_else(|| panic!("{batch:#?}"));
    assert_eq!(rec["cell"], "E5", "{rec:#?}");
    // The dashboard's annotated workbook lists it in its Constats.
    let annotated = std::fs::read_dir(out.join("annotes"))
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().contains("feder-axe1"))
        .unwrap_or_else(|| panic!("classeur annoté du tableau de bord"));
    let wb = bilan::pipeline::read::read_bytes(
        &std::fs::read(&annotated).unwrap_or_default(),
        &bilan::pipeline::read::Limits::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let constats = wb
        .sheets
        .iter()
        .find(|s| s.name == "Constats")
        .unwrap_or_else(|| panic!("Constats"));
    let texts: Vec<String> = constats.cells().iter().map(|c| c.value.display()).collect();
    assert!(texts.iter().any(|t| t == "FEDER-REC-002"), "{texts:?}");
    // And synthese.xlsx: the Contrôles croisés sheet and a FEDER-OPERATIONS sheet.
    let syn = bilan::pipeline::read::read_bytes(
        &std::fs::read(out.join("synthese.xlsx")).unwrap_or_default(),
        &bilan::pipeline::read::Limits::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let croises = syn
        .sheets
        .iter()
        .find(|s| s.name == "Contrôles croisés")
        .unwrap_or_else(|| panic!("Contrôles croisés"));
    let texts: Vec<String> = croises.cells().iter().map(|c| c.value.display()).collect();
    assert!(texts.iter().any(|t| t.contains("(Priorités!E5)")), "{texts:?}");
    let ope = syn
        .sheets
        .iter()
        .find(|s| s.name == "FEDER-OPERATIONS")
        .unwrap_or_else(|| panic!("feuille FEDER-OPERATIONS"));
    let texts: Vec<String> = ope.cells().iter().map(|c| c.value.display()).collect();
    assert!(texts.iter().any(|t| t == "440"), "{texts:?}");
}

#[test]
fn each_ope_rule_fires_on_its_fixture() {
    let cases: &[(&str, &str)] = &[
        ("feder-operations-ope-001-operation-en-double.xlsx", "OPE-001"),
        ("feder-operations-ope-002-fin-avant-le-debut.xlsx", "OPE-002"),
        ("feder-operations-ope-003-achevee-avant-l-eligibilite.xlsx", "OPE-003"),
        ("feder-operations-ope-004-fin-apres-2015.xlsx", "OPE-004"),
        ("feder-operations-ope-005-achevee-avant-le-depot.xlsx", "OPE-005"),
        (
            "feder-operations-ope-006-depense-publique-superieure-au-cout.xlsx",
            "OPE-006",
        ),
        (
            "feder-operations-ope-007-operation-aidee-a-55-pour-cent.xlsx",
            "OPE-007",
        ),
        ("feder-operations-ope-008-axe-au-dessus-du-taux-maximal.xlsx", "OPE-008"),
        ("feder-operations-ope-009-certifie-superieur-au-cout.xlsx", "OPE-009"),
        (
            "feder-operations-ope-010-feder-certifie-au-dela-du-taux.xlsx",
            "OPE-010",
        ),
        ("feder-operations-ope-011-recettes-nettes-non-dites.xlsx", "OPE-011"),
        ("feder-operations-ope-012-grand-projet.xlsx", "OPE-012"),
        ("feder-operations-ope-013-siret-mal-recopie.xlsx", "OPE-013"),
        ("feder-operations-ope-014-meme-operation-deux-fois.xlsx", "OPE-014"),
        ("feder-operations-ope-015-programmee-apres-l-arrete.xlsx", "OPE-015"),
        ("feder-operations-ope-016-total-faux.xlsx", "OPE-016"),
    ];
    for (file, rule) in cases {
        let done = check(&[file]);
        let r = &done.reports[0];
        let mine: Vec<&Finding> = r.findings.iter().filter(|f| f.rule.as_str() == *rule).collect();
        assert_eq!(mine.len(), 1, "{file}: {:?}", rules_of(r));
        // Nothing else at error level, except what the same mistake implies.
        let others: Vec<&Finding> = r
            .findings
            .iter()
            .filter(|f| f.rule.as_str() != *rule && f.severity == Severity::Error)
            .collect();
        assert!(others.is_empty(), "{file}: {}", shown(&others));
        assert!(mine[0].cell.is_some(), "{file}: no cell");
    }
}

#[test]
fn messages_cite_the_article_of_the_returns_period() {
    let done = check(&["feder-operations-ope-005-achevee-avant-le-depot.xlsx"]);
    let f = done.reports[0]
        .findings
        .iter()
        .find(|f| f.rule.as_str() == "OPE-005")
        .unwrap_or_else(|| panic!("OPE-005"));
    assert!(f.message.contains("1303/2013, art. 65(6)"), "{}", f.message);
    let done = check(&["feder-operations-ope-004-fin-apres-2015.xlsx"]);
    let f = done.reports[0]
        .findings
        .iter()
        .find(|f| f.rule.as_str() == "OPE-004")
        .unwrap_or_else(|| panic!("OPE-004"));
    assert!(f.message.contains("1083/2006, art. 56(1)"), "{}", f.message);
    assert!(f.message.contains("31/12/2015"), "{}", f.message);
}

#[test]
fn each_period_has_a_clean_list() {
    for file in [
        LIST,
        "feder-operations-2014-2020-transition-conforme.xlsx",
        "feder-operations-2021-2027-transition-conforme.xlsx",
    ] {
        let done = check(&[file]);
        let r = &done.reports[0];
        assert_eq!(r.template.as_deref(), Some("FEDER-OPERATIONS"), "{file}");
        let bad: Vec<&Finding> = r.findings.iter().filter(|f| serious(f)).collect();
        assert!(bad.is_empty(), "{file}:\n{}", shown(&bad));
    }
}

#[test]
fn a_campaign_sets_the_periods_figures() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let count = |done: &CheckRun, rule: &str| {
        done.reports[0]
            .findings
            .iter()
            .filter(|f| f.rule.as_str() == rule)
            .count()
    };
    // Eligibility moved: the seed's operations end after 31/12/2011 for some,
    // and none ended before 2007.
    let base = check(&[LIST]);
    assert_eq!(count(&base, "OPE-004"), 0);
    let setup = campaign(
        dir.path(),
        "nom = \"Clôture\"\n[regles.\"OPE-004\"]\nparametres = { fin_eligibilite = 2011-06-30 }\nmotif = \"essai\"\n[regles.\"OPE-003\"]\nparametres = { debut_eligibilite = 2009-01-01 }\nmotif = \"essai\"\n",
    );
    let done = check_with(&setup, &[LIST]);
    let ops = gen::operations(&gen::Plan::seed());
    let late = ops.iter().filter(|o| o.fin.as_str() > "2011-06-30").count();
    let early = ops.iter().filter(|o| o.fin.as_str() < "2009-01-01").count();
    assert!(late > 0 && early > 0);
    assert_eq!(count(&done, "OPE-004"), late);
    assert_eq!(count(&done, "OPE-003"), early);
    // A programme's own ceiling: 45 % in a Compétitivité region.
    let setup = campaign(
        dir.path(),
        "nom = \"Taux du PO\"\n[regles.\"OPE-007\"]\nparametres = { plafond_competitivite = 45 }\nmotif = \"taux adopté\"\n",
    );
    let done = check_with(&setup, &[LIST]);
    let above = ops.iter().filter(|o| o.feder * 10_000 > o.cout * 4_501).count();
    assert!(above > 0);
    assert_eq!(count(&done, "OPE-007"), above);
    // Earmarking codes: category 9 is not earmarked.
    let setup = campaign(
        dir.path(),
        "nom = \"Lisbonne\"\n[regles.\"OPE-017\"]\nparametres = { codes_earmarking = [1, 2, 3, 4, 5, 6, 7, 8] }\nmotif = \"annexe IV\"\n",
    );
    let clean = check_with(&setup, &["feder-operations-ope-016-total-faux.xlsx"]);
    assert_eq!(count(&clean, "OPE-017"), 0);
    let done = check_with(&setup, &["feder-operations-ope-017-earmarking-hors-des-codes.xlsx"]);
    assert_eq!(count(&done, "OPE-017"), 1);
    let base = check(&["feder-operations-ope-017-earmarking-hors-des-codes.xlsx"]);
    assert_eq!(count(&base, "OPE-017"), 0);
}
