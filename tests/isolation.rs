//! Workbooks are read in worker processes: a reader that aborts, exhausts its
//! memory or hangs costs that file a finding, never the run or the other files.
//! `BILAN_WORKER_FAULT` makes the worker misbehave on chosen paths (test hook).

mod common;

use common::fixture;

use assert_cmd::Command;

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
    let (code, text) = run("hang:maud", &["--timeout", "5"]);
    assert_eq!(code, Some(1));
    assert!(
        text.contains("pole-maud-conforme.xlsx : erreur BILAN-IO-002 :"),
        "{text}"
    );
    assert!(text.contains("durée du contrôle : plus de 5 s"), "{text}");
    assert!(
        text.contains("lecture du classeur") && text.contains("--timeout"),
        "{text}"
    );
    itrans_still_checked(&text);
}

#[test]
fn without_isolation_the_same_files_give_the_same_findings() {
    let (isolated_code, isolated) = run("", &[]);
    let (inline_code, inline) = run("", &["--no-isolation"]);
    // ITRANS has errors: exit 1 both ways, and its five findings both ways.
    assert_eq!(isolated_code, Some(1), "{isolated}");
    assert_eq!(inline_code, Some(1), "{inline}");
    itrans_still_checked(&isolated);
    assert_eq!(isolated, inline);
}

#[test]
fn a_limit_reached_after_reading_names_its_stage_and_option() {
    let (code, text) = run("alloc@rules:maud", &[]);
    assert_eq!(code, Some(1));
    assert!(
        text.contains("pole-maud-conforme.xlsx : erreur BILAN-IO-002 :"),
        "{text}"
    );
    assert!(text.contains("« application des règles »"), "the stage: {text}");
    assert!(text.contains("--max-memory"), "the option: {text}");
    assert!(text.contains("536 870 912 octets"), "the default limit: {text}");
    itrans_still_checked(&text);
}

#[test]
fn a_worker_stopped_while_writing_the_annotated_report_is_said() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::cargo_bin("bilan")
        .expect("binary")
        .env("NO_COLOR", "1")
        .env("BILAN_WORKER_FAULT", "abort@annotated:maud")
        .arg("check")
        .arg(fixture("pole-maud-conforme.xlsx"))
        .arg("--report-dir")
        .arg(dir.path())
        .args(["--format", "short"])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("BILAN-IO-001"), "{text}");
    assert!(text.contains("écriture du classeur annoté"), "{text}");
    // Its report still exists, holding the finding.
    assert!(dir.path().join("pole-maud-conforme.controle.xlsx").is_file());
}

/// Processes whose environment holds `marker`.
#[cfg(target_os = "linux")]
fn processes_marked(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let env = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        if env.split(|b| *b == 0).any(|kv| kv == marker.as_bytes()) {
            found.push(pid);
        }
    }
    found
}

#[cfg(target_os = "linux")]
#[test]
fn sigterm_ends_the_run_and_its_workers() {
    let marker = format!("BILAN_TEST_MARK=sigterm-{}", std::process::id());
    let (key, value) = marker.split_once('=').expect("marker");
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("bilan"))
        .env("NO_COLOR", "1")
        .env(key, value)
        .env("BILAN_WORKER_FAULT", "hang:maud")
        .arg("check")
        .arg(fixture("pole-maud-conforme.xlsx"))
        .args(["--timeout", "600"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    // Wait until the worker is busy with the hanging file (a process other
    // than the parent carries the marker).
    let parent = child.id().to_string();
    let mut waited = 0;
    while !processes_marked(&marker).iter().any(|p| *p != parent) {
        std::thread::sleep(std::time::Duration::from_millis(50));
        waited += 1;
        assert!(waited < 2400, "no worker started");
    }
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let out = child.wait_with_output().expect("ends");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("interrompu"), "{err}");
    let mut left = processes_marked(&marker);
    let mut waited = 0;
    while !left.is_empty() && waited < 200 {
        std::thread::sleep(std::time::Duration::from_millis(50));
        left = processes_marked(&marker);
        waited += 1;
    }
    assert!(left.is_empty(), "no orphan worker: {left:?}");
}

/// A worker started ahead of need (`Isolation::warm_up`, what `check` does
/// while it loads its own rules) is the one that checks the first file, and
/// the next files too: one worker in all, and the same report as without it.
#[test]
fn the_warm_worker_checks_the_first_file_and_no_other_is_started() {
    use bilan::job::isolate::{Isolation, WorkerLimits};
    use bilan::job::{Input, Job};
    let exe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_bilan"));
    let warm = std::sync::Arc::new(Isolation::new(exe.clone(), WorkerLimits::default()));
    warm.warm_up();
    let cold = Isolation::new(exe, WorkerLimits::default());
    let file = Input::Path(fixture("pole-itrans-cout-total-different-des-financeurs.xlsx"));
    let ids = |i: &Isolation| -> Vec<String> {
        let checked = i.process(&file, &Job::default());
        checked
            .report
            .findings
            .iter()
            .map(|f| f.rule.as_str().to_string())
            .collect()
    };
    let from_warm = ids(&warm);
    assert!(
        from_warm.iter().filter(|r| *r == "POLE-FIN-001").count() == 5,
        "{from_warm:?}"
    );
    assert_eq!(from_warm, ids(&cold), "same findings with or without a warm worker");
    assert_eq!(ids(&warm), from_warm);
    assert_eq!(warm.workers_started(), 1, "the warm worker was used");
}
