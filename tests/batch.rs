//! `bilan batch` on a campaign folder: every input in both outputs, the
//! cross-file findings, the exit code, and reproducible JSON whatever --jobs.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// A campaign: every fixture, a corrupt file, a duplicate, a temporary file.
fn campaign() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let inbox = dir.path().join("retours");
    std::fs::create_dir_all(inbox.join("sous-dossier")).expect("mkdir");
    for entry in std::fs::read_dir(fixtures()).expect("fixtures").flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if [".xlsx", ".xls", ".ods"].iter().any(|e| name.ends_with(e)) {
            std::fs::copy(entry.path(), inbox.join(&name)).expect("copy");
        }
    }
    std::fs::copy(
        fixtures().join("pole-maud-conforme.xlsx"),
        inbox.join("sous-dossier").join("maud-renvoye.xlsx"),
    )
    .expect("copy");
    std::fs::write(inbox.join("corrompu.xlsx"), b"PK\x03\x04 tronque").expect("write");
    std::fs::write(inbox.join("~$pole-maud-conforme.xlsx"), b"verrou").expect("write");
    std::fs::write(
        dir.path().join("attendus.csv"),
        "modele;organisation\nBILAN-POLE;MAUD\nBILAN-POLE;I-TRANS\nBILAN-POLE;AQUIMER\n",
    )
    .expect("write");
    dir
}

fn run(dir: &Path, out: &str, jobs: &str) -> (Option<i32>, Value) {
    let out_dir = dir.join(out);
    let status = Command::cargo_bin("bilan")
        .expect("binary")
        .env("NO_COLOR", "1")
        .arg("batch")
        .arg(dir.join("retours"))
        .arg("--out")
        .arg(&out_dir)
        .args(["--jobs", jobs, "--expected"])
        .arg(dir.join("attendus.csv"))
        .output()
        .expect("runs")
        .status;
    let text = std::fs::read_to_string(out_dir.join("rapport.json")).expect("rapport.json written");
    (status.code(), serde_json::from_str(&text).expect("json"))
}

#[test]
fn a_campaign_is_checked_whole() {
    let dir = campaign();
    let (code, report) = run(dir.path(), "sortie", "2");
    assert_eq!(code, Some(1), "errors in the campaign");

    // Every input is in rapport.json: checked files and skipped ones.
    let files = report["files"].as_array().expect("files");
    let paths: Vec<&str> = files.iter().filter_map(|f| f["path"].as_str()).collect();
    let inbox = dir.path().join("retours");
    let mut expected: Vec<String> = std::fs::read_dir(&inbox)
        .expect("inbox")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| !n.starts_with("~$") && n != "sous-dossier")
        .collect();
    expected.push("sous-dossier/maud-renvoye.xlsx".into());
    for name in &expected {
        assert!(
            paths.iter().any(|p| p.ends_with(name.as_str())),
            "{name} missing from rapport.json: {paths:#?}"
        );
    }
    assert_eq!(paths.len(), expected.len());
    let skipped: Vec<&str> = report["skipped"]
        .as_array()
        .expect("skipped")
        .iter()
        .filter_map(|s| s["path"].as_str())
        .collect();
    assert!(
        skipped.iter().any(|p| p.ends_with("~$pole-maud-conforme.xlsx")),
        "{skipped:?}"
    );

    // The corrupt file has its finding.
    let corrupt = files
        .iter()
        .find(|f| f["path"].as_str().is_some_and(|p| p.ends_with("corrompu.xlsx")))
        .expect("corrupt file");
    assert_eq!(corrupt["findings"][0]["rule"], "BILAN-IO-001");

    // Cross-file findings: the duplicate MAUD, the missing AQUIMER.
    let batch = report["batch"].as_array().expect("batch");
    assert!(
        batch
            .iter()
            .any(|b| b["rule"] == "BATCH-001" && b["file"].as_str().is_some_and(|f| f.ends_with("maud-renvoye.xlsx"))),
        "{batch:#?}"
    );
    assert!(
        batch
            .iter()
            .any(|b| b["rule"] == "BATCH-002" && b["message"].as_str().is_some_and(|m| m.contains("AQUIMER"))),
        "{batch:#?}"
    );
    assert!(
        !batch
            .iter()
            .any(|b| b["rule"] == "BATCH-002" && b["message"].as_str().is_some_and(|m| m.contains("I-TRANS"))),
        "{batch:#?}"
    );

    // The report validates against its schema.
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/report.schema.json"))
            .expect("schema"),
    )
    .expect("json");
    let validator = jsonschema::draft202012::new(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");

    // Every file has its annotated report, linked from rapport.json.
    for f in files {
        let rel = f["annotated_report"].as_str().expect("annotated report");
        assert!(rel.starts_with("annotes/") && rel.ends_with(".controle.xlsx"), "{rel}");
        assert!(dir.path().join("sortie").join(rel).is_file(), "{rel} written");
    }

    // The synthesis workbook lists every input, skipped ones included.
    let synthese = dir.path().join("sortie").join("synthese.xlsx");
    let bytes = std::fs::read(&synthese).expect("synthese.xlsx");
    let wb = bilan::pipeline::read::read_bytes(&bytes, &bilan::pipeline::read::Limits::default()).expect("readable");
    let names: Vec<&str> = wb.sheets.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(&names[..3], ["Synthèse", "Constats", "Contrôles croisés"]);
    assert!(names.contains(&"BILAN-POLE"), "{names:?}");
    let first = &wb.sheets[0];
    let listed: Vec<String> = first
        .cells()
        .iter()
        .filter(|c| c.pos.col == 0)
        .map(|c| c.value.display())
        .collect();
    for name in expected
        .iter()
        .chain(std::iter::once(&"~$pole-maud-conforme.xlsx".to_string()))
    {
        assert!(
            listed.iter().any(|l| l.ends_with(name.as_str())),
            "{name} missing from Synthèse"
        );
    }
}

#[test]
fn the_json_is_the_same_whatever_the_number_of_jobs() {
    let dir = campaign();
    let (_, one) = run(dir.path(), "j1", "1");
    let (_, two) = run(dir.path(), "j2", "2");
    let strip = |mut v: Value| {
        v["checked_at"] = Value::Null;
        for f in v["files"].as_array_mut().into_iter().flatten() {
            f["annotated_report"] = Value::Null;
        }
        serde_json::to_string_pretty(&v).expect("json")
    };
    assert_eq!(strip(one), strip(two));
}
