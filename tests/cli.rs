//! The command line: exit codes, formats, and failures of the run itself.

mod common;

use common::{bilan, fixture};

#[test]
fn a_csv_renamed_xlsx_is_a_finding_not_a_crash() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("retour.xlsx");
    std::fs::write(&path, "Année;Coût total\n2005;12\n").expect("write");
    let out = bilan()
        .arg("check")
        .arg(&path)
        .arg("--format")
        .arg("short")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("BILAN-IO-001"), "{text}");
    assert!(text.contains("CSV"), "{text}");
}

/// `cli.md`: a FILE that does not exist or is a folder stops the run (exit 2),
/// with a French message (a folder: use `bilan batch`), and no report is
/// written (issue 15: a typo used to give "Non conforme" and a report).
#[test]
fn a_directory_or_a_missing_file_stops_the_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let report = dir.path().join("r.controle.xlsx");
    let out = bilan()
        .arg("check")
        .arg(dir.path().join("absent.xlsx"))
        .arg("--report")
        .arg(&report)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("fichier introuvable"), "{text}");
    assert!(!report.exists());
    let out = bilan().arg("check").arg(dir.path()).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("est un dossier") && text.contains("bilan batch"),
        "{text}"
    );
}

#[test]
fn fail_on_never_exits_zero_even_with_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("vide.xlsx");
    std::fs::write(&path, b"").expect("write");
    bilan()
        .arg("check")
        .arg(&path)
        .arg("--fail-on")
        .arg("never")
        .assert()
        .code(0);
}

#[test]
fn an_unknown_forced_template_stops_the_run() {
    let out = bilan()
        .args(["check", "x.xlsx", "--template", "BILAN-INCONNU"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("BILAN-INCONNU"));
}

#[test]
fn bad_arguments_exit_two() {
    bilan().args(["check"]).assert().code(2);
    bilan()
        .args(["check", "x.xlsx", "--fail-on", "sometimes"])
        .assert()
        .code(2);
}

/// A rule pack with a syntax error: exit 2, and the diagnostic names the file,
/// line and column.
#[test]
fn a_rule_that_does_not_compile_stops_the_run_with_its_position() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(rules.join("BILAN-POLE")).expect("mkdir");
    std::fs::write(rules.join("pack.toml"), "name = \"essai\"\n").expect("write");
    std::fs::write(
        rules.join("BILAN-POLE").join("POLE-X-001-casse.rhai"),
        "/*\nid = \"POLE-X-001\"\ntitle = \"t\"\nseverity = \"error\"\nchecks = \"c\"\n*/\nlet x = ;\n",
    )
    .expect("write");
    let out = bilan()
        .args(["check", "x.xlsx", "--rules"])
        .arg(&rules)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("POLE-X-001-casse.rhai:7:"), "{err}");
}

#[test]
fn rules_lists_every_rule_and_explain_documents_one() {
    let out = bilan().args(["rules", "--format", "json"]).output().expect("runs");
    assert!(out.status.success());
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let ids: Vec<&str> = rows
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    for id in [
        "BILAN-IO-001",
        "BILAN-RULE-001",
        "ID-001",
        "ID-002",
        "POLE-FIN-001",
        "POLE-IND-003",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    let out = bilan().args(["explain", "POLE-FIN-001"]).output().expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Coût total 17 081 618 €"),
        "the failing example's message is shown:\n{text}"
    );
    assert!(text.contains("tolerance = 1"), "{text}");
    bilan().args(["explain", "NOPE-001"]).assert().code(2);
    let out = bilan().args(["explain", "BILAN-POLE"]).output().expect("runs");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Financements"));
}

#[test]
fn fixtures_dir_exists() {
    assert!(fixture("").is_dir());
}

#[test]
fn options_out_of_range_are_usage_errors_with_the_range() {
    let maud = fixture("pole-maud-conforme.xlsx");
    for (args, option) in [
        (vec!["check", "--max-memory", "1000"], "--max-memory"),
        (vec!["check", "--timeout", "0"], "--timeout"),
        (vec!["check", "--timeout", "100000"], "--timeout"),
        (vec!["check", "--max-total-memory", "1000"], "--max-total-memory"),
        (
            vec!["batch", "--jobs", "100000", "--out", "/nonexistent/sortie"],
            "--jobs",
        ),
        (vec!["batch", "--jobs", "0", "--out", "/nonexistent/sortie"], "--jobs"),
    ] {
        let out = bilan().args(&args).arg(&maud).output().expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(option) && err.contains("hors limites : choisissez entre"),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?}: nothing checked");
    }
}
