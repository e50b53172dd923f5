//! Workbooks are read in worker processes: a reader that aborts, exhausts its
//! memory or hangs costs that file a finding, never the run or the other files.
//! `BILAN_WORKER_FAULT` makes the worker misbehave on chosen paths (test hook).

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

fn run(fault: &str, extra: &[&str]) -> (Option<i32>, String) {
    let out = Command::cargo_bin("bilan")
        .expect("binary")
        .env("NO_COLOR", "1")
        .env("BILAN_WORKER_FAULT", fault)
        .arg("check")
        .arg(fixture("pole-maud-conforme.xlsx"))
        .arg(fixture("pole-itrans-cout-total-different-des-financeurs.xlsx"))
        .args(["--format", "short"])
        .args(extra)
        .output()
        .expect("runs");
    (out.status.code(), String::from_utf8_lossy(&out.stdout).to_string())
}

fn itrans_still_checked(text: &str) {
    assert_eq!(
        text.matches("POLE-FIN-001").count(),
        5,
        "the other file is fully checked:\n{text}"
    );
}

#[test]
fn an_aborting_reader_is_io_001_for_its_file_only() {
    let (code, text) = run("abort:maud", &[]);
    assert_eq!(code, Some(1));
    assert!(
        text.contains("pole-maud-conforme.xlsx : erreur BILAN-IO-001 :"),
        "{text}"
    );
    itrans_still_checked(&text);
}

#[test]
fn a_reader_out_of_memory_is_io_002_with_the_limit() {
    let (code, text) = run("alloc:maud", &["--max-memory", "400000000"]);
    assert_eq!(code, Some(1));
    assert!(
        text.contains("pole-maud-conforme.xlsx : erreur BILAN-IO-002 :"),
        "{text}"
    );
    assert!(text.contains("400 000 000 octets"), "{text}");
    itrans_still_checked(&text);
}

#[test]
fn a_hanging_reader_is_stopped_after_its_time_budget() {
    let (code, text) = run("hang:maud", &["--timeout", "1"]);
    assert_eq!(code, Some(1));
    assert!(
        text.contains("pole-maud-conforme.xlsx : erreur BILAN-IO-002 :"),
        "{text}"
    );
    assert!(text.contains("durée du contrôle : plus de 1 s"), "{text}");
    assert!(
        text.contains("lecture du classeur") && text.contains("--timeout"),
        "{text}"
    );
    itrans_still_checked(&text);
}

#[test]
fn without_isolation_the_same_files_give_the_same_findings() {
    let (_, isolated) = run("", &[]);
    let (_, inline) = run("", &["--no-isolation"]);
    assert_eq!(isolated, inline);
}
