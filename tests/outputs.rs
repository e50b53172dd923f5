//! Outputs are safe and whole (`cli.md`): never onto an input, never inside
//! the walk, one run per `--out`, the set renamed together, leftovers removed,
//! a report that cannot be written said (BILAN-OUT-001, exit 2); names that
//! are not UTF-8 or hold control characters; links that survive odd names;
//! symbolic links and unreadable folders.

mod common;

use common::{bilan, fixture};

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A folder `retours/` holding two returns.
fn inbox(dir: &Path) -> PathBuf {
    let inbox = dir.join("retours");
    std::fs::create_dir_all(&inbox).expect("mkdir");
    std::fs::copy(fixture("pole-maud-conforme.xlsx"), inbox.join("maud.xlsx")).expect("copy");
    std::fs::copy(
        fixture("pole-itrans-cout-total-different-des-financeurs.xlsx"),
        inbox.join("itrans.xlsx"),
    )
    .expect("copy");
    inbox
}

fn batch(inputs: &[&Path], out: &Path) -> Output {
    let mut cmd = bilan();
    cmd.arg("batch");
    for i in inputs {
        cmd.arg(i);
    }
    cmd.arg("--out").arg(out).arg("--quiet").output().expect("runs")
}

fn rapport(out: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("rapport.json")).expect("rapport.json")).expect("JSON")
}

fn files_of(report: &Value) -> Vec<String> {
    report["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["path"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Every file under `dir`, relative.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(dir).into_iter().flatten() {
        if e.file_type().is_file() {
            out.push(e.path().strip_prefix(dir).unwrap_or(e.path()).display().to_string());
        }
    }
    out.sort();
    out
}

#[test]
fn check_never_writes_its_json_onto_an_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.xlsx");
    std::fs::copy(fixture("pole-maud-conforme.xlsx"), &input).expect("copy");
    let before = std::fs::read(&input).expect("read");
    let out = bilan()
        .arg("check")
        .arg(&input)
        .arg("--json")
        .arg(dir.path().join(".").join("in.xlsx"))
        .output()
        .expect("runs");
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("remplacerait le fichier contrôlé"), "{err}");
    assert_eq!(std::fs::read(&input).expect("read"), before, "the input is untouched");
}

#[test]
fn batch_refuses_an_out_that_is_an_input_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inbox = inbox(dir.path());
    // A submitter sent a file named like an output.
    std::fs::copy(fixture("pole-maud-conforme.xlsx"), inbox.join("synthese.xlsx")).expect("copy");
    let before = tree(&inbox);
    let out = batch(&[&inbox], &inbox);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("aussi un dossier à contrôler"), "{err}");
    assert_eq!(tree(&inbox), before, "nothing written among the returns");
}

#[test]
fn batch_refuses_an_input_that_is_one_of_its_outputs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inbox = inbox(dir.path());
    let sortie = dir.path().join("sortie");
    assert_eq!(batch(&[&inbox], &sortie).status.code(), Some(1));
    let annotated = sortie.join("annotes").join("maud.controle.xlsx");
    let before = std::fs::read(&annotated).expect("annotated report");
    let out = batch(&[&annotated], &sortie);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("serait remplacé"), "{err}");
    assert_eq!(std::fs::read(&annotated).expect("read"), before);
}

#[test]
fn batch_never_walks_into_its_out_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inbox = inbox(dir.path());
    let sortie = inbox.join("rapports");
    for run in 0..2 {
        let out = batch(&[&inbox], &sortie);
        assert_eq!(out.status.code(), Some(1), "run {run}: {:?}", text(&out));
        let report = rapport(&sortie);
        let files = files_of(&report);
        assert_eq!(files.len(), 2, "run {run}: only the two returns: {files:?}");
        assert!(
            report["skipped"].as_array().is_some_and(|s| s.is_empty()),
            "run {run}: {}",
            report["skipped"]
        );
    }
}

#[test]
fn one_batch_at_a_time_per_out_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inbox = inbox(dir.path());
    let sortie = dir.path().join("sortie");
    std::fs::create_dir_all(&sortie).expect("mkdir");
    let held = bilan::output::Lock::acquire(&sortie).expect("the test holds the lock");
    let out = batch(&[&inbox], &sortie);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("un autre contrôle écrit déjà"), "{err}");
    assert!(!sortie.join("rapport.json").exists());
    drop(held);
    assert_eq!(batch(&[&inbox], &sortie).status.code(), Some(1), "free again");
}

#[test]
fn the_output_set_comes_from_one_run_and_leftovers_are_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inbox = inbox(dir.path());
    let sortie = dir.path().join("sortie");
    assert_eq!(batch(&[&inbox], &sortie).status.code(), Some(1));
    // Leftovers of an interrupted run.
    std::fs::create_dir_all(sortie.join(".bilan-en-cours-999999/annotes")).expect("mkdir");
    std::fs::write(sortie.join(".bilan-en-cours-999999/rapport.json"), "{").expect("write");
    std::fs::write(sortie.join(".rapport.json.999999.0.tmp"), "{").expect("write");
    std::fs::write(sortie.join("annotes/.maud.controle.xlsx.999999.1.tmp"), "PK").expect("write");
    // A second run with one return fewer.
    std::fs::remove_file(inbox.join("itrans.xlsx")).expect("rm");
    assert_eq!(batch(&[&inbox], &sortie).status.code(), Some(0));
    let files = tree(&sortie);
    assert_eq!(
        files,
        [
            ".bilan.lock",
            "annotes/maud.controle.xlsx",
            "rapport.json",
            "synthese.xlsx"
        ],
        "one run's outputs, nothing else"
    );
    let report = rapport(&sortie);
    for f in report["files"].as_array().expect("files") {
        let a = f["annotated_report"].as_str().expect("annotated_report");
        assert!(sortie.join(a).is_file(), "{a}");
    }
}

#[cfg(unix)]
#[test]
fn a_report_that_cannot_be_written_is_out_001_and_exit_2() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let inbox = inbox(dir.path());
    let sortie = dir.path().join("sortie");
    // `ulimit -f 11`: files of at most 11 KB. The annotated reports are larger;
    // without care the process would be killed by SIGXFSZ.
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("bilan"));
    cmd.env("NO_COLOR", "1")
        .arg("batch")
        .arg(&inbox)
        .arg("--out")
        .arg(&sortie)
        .arg("--quiet");
    // SAFETY: setrlimit is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 11 * 1024,
                rlim_max: 11 * 1024,
            };
            libc::setrlimit(libc::RLIMIT_FSIZE, &lim);
            Ok(())
        });
    }
    let out = cmd.output().expect("runs");
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2), "exits 2, not killed by a signal: {err}");
    assert!(err.contains("BILAN-OUT-001"), "{err}");
    assert!(err.contains("ulimit -f"), "the reason in French: {err}");
    assert!(!err.contains("os error"), "{err}");
    let leftovers: Vec<String> = tree(&sortie)
        .into_iter()
        .filter(|f| f.ends_with(".tmp") || f.contains(".bilan-en-cours-"))
        .collect();
    assert!(leftovers.is_empty(), "no half-written file: {leftovers:?}");
    if sortie.join("rapport.json").exists() {
        let report = rapport(&sortie);
        let lost = report["files"]
            .as_array()
            .expect("files")
            .iter()
            .flat_map(|f| f["findings"].as_array().cloned().unwrap_or_default())
            .filter(|f| f["rule"] == "BILAN-OUT-001")
            .count();
        assert!(lost >= 1, "the lost reports are findings of their files");
    }
}

#[cfg(unix)]
#[test]
fn a_name_that_is_not_utf8_is_checked() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let name = std::ffi::OsStr::from_bytes(b"retour-\xff\xfe.xlsx");
    let input = dir.path().join(name);
    std::fs::copy(fixture("pole-maud-conforme.xlsx"), &input).expect("copy");
    let out = bilan()
        .arg("check")
        .arg(&input)
        .args(["--format", "short"])
        .output()
        .expect("runs");
    let (stdout, err) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{err}");
    assert!(stdout.contains("Conforme"), "{stdout}");
    let sortie = dir.path().join("sortie");
    let out = batch(&[dir.path()], &sortie);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_eq!(tree(&sortie.join("annotes")).len(), 1);
}

#[test]
fn control_and_bidi_characters_never_reach_the_terminal_or_a_file_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = dir.path().join("retours");
    std::fs::create_dir_all(&folder).expect("mkdir");
    let hostile = "maud\u{1b}[31m\u{7}\u{202e}xslx.xlsx";
    std::fs::copy(
        fixture("pole-itrans-cout-total-different-des-financeurs.xlsx"),
        folder.join(hostile),
    )
    .expect("copy");
    for format in ["human", "short"] {
        let out = bilan()
            .arg("check")
            .arg(folder.join(hostile))
            .args(["--format", format])
            .output()
            .expect("runs");
        let (stdout, _) = text(&out);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            !stdout.contains('\u{1b}') && !stdout.contains('\u{7}'),
            "{format}: {stdout:?}"
        );
        assert!(!stdout.contains('\u{202e}'), "{format}: {stdout:?}");
        assert!(
            stdout.contains("maud\u{241b}[31m\u{2407}\u{fffd}xslx.xlsx"),
            "{format}: {stdout}"
        );
    }
    let sortie = dir.path().join("sortie");
    let out = batch(&[&folder], &sortie);
    let (stdout, _) = text(&out);
    assert!(!stdout.contains('\u{1b}'), "{stdout:?}");
    assert_eq!(tree(&sortie.join("annotes")), ["maud_[31m__xslx.controle.xlsx"]);
}

#[test]
fn synthesis_links_survive_hash_and_percent_in_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = dir.path().join("retours");
    std::fs::create_dir_all(&folder).expect("mkdir");
    std::fs::copy(fixture("pole-maud-conforme.xlsx"), folder.join("maud #2 100%20.xlsx")).expect("copy");
    let sortie = dir.path().join("sortie");
    assert_eq!(batch(&[&folder], &sortie).status.code(), Some(0));
    assert!(sortie.join("annotes/maud #2 100%20.controle.xlsx").is_file());
    let file = std::fs::File::open(sortie.join("synthese.xlsx")).expect("synthese.xlsx");
    let mut zip = zip::ZipArchive::new(file).expect("zip");
    let mut rels = String::new();
    std::io::Read::read_to_string(
        &mut zip
            .by_name("xl/worksheets/_rels/sheet1.xml.rels")
            .expect("links of Synthèse"),
        &mut rels,
    )
    .expect("read");
    assert!(
        rels.contains("annotes/maud%20%232%20100%2520.controle.xlsx"),
        "the link names the file exactly: {rels}"
    );
}

#[cfg(unix)]
#[test]
fn a_symlinked_folder_is_followed_once_and_said() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("retours");
    let real = root.join("pole");
    std::fs::create_dir_all(&real).expect("mkdir");
    std::fs::copy(fixture("pole-maud-conforme.xlsx"), real.join("maud.xlsx")).expect("copy");
    let elsewhere = dir.path().join("ailleurs");
    std::fs::create_dir_all(&elsewhere).expect("mkdir");
    std::fs::copy(
        fixture("pole-itrans-cout-total-different-des-financeurs.xlsx"),
        elsewhere.join("itrans.xlsx"),
    )
    .expect("copy");
    std::os::unix::fs::symlink(&elsewhere, root.join("lien")).expect("symlink");
    std::os::unix::fs::symlink(&real, root.join("double")).expect("symlink");
    std::os::unix::fs::symlink(&root, real.join("boucle")).expect("symlink");
    let sortie = dir.path().join("sortie");
    let out = bilan()
        .arg("batch")
        .arg(&root)
        .arg("--out")
        .arg(&sortie)
        .output()
        .expect("runs");
    let (stdout, err) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{err}");
    let files = files_of(&rapport(&sortie));
    assert_eq!(files.len(), 2, "maud once, itrans through the link: {files:?}");
    assert!(files.iter().any(|f| f.ends_with("lien/itrans.xlsx")), "{files:?}");
    assert!(stdout.contains("lien symbolique suivi"), "{stdout}");
    assert!(
        stdout.contains("déjà parcouru"),
        "the loop and the double are said: {stdout}"
    );
}

/// Runs `cmd` as user `nobody` when this test runs as root (root reads every
/// folder whatever its permissions).
#[cfg(unix)]
fn as_unprivileged(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: getuid is async-signal-safe.
    if unsafe { libc::getuid() } == 0 {
        cmd.uid(65534).gid(65534);
    }
}

#[cfg(unix)]
#[test]
fn a_folder_that_cannot_be_read_is_a_finding() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let inbox = inbox(dir.path());
    std::fs::set_permissions(&inbox, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let locked = inbox.join("ferme");
    std::fs::create_dir_all(&locked).expect("mkdir");
    std::fs::copy(fixture("pole-maud-conforme.xlsx"), locked.join("cache.xlsx")).expect("copy");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    let sortie = dir.path().join("sortie");
    let bin = assert_cmd::cargo::cargo_bin("bilan");
    let mut cmd = std::process::Command::new(&bin);
    cmd.env("NO_COLOR", "1")
        .arg("batch")
        .arg(&inbox)
        .arg("--out")
        .arg(&sortie)
        .arg("--no-annotated");
    as_unprivileged(&mut cmd);
    let out = cmd.output().expect("runs");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).expect("chmod back");
    let (stdout, err) = text(&out);
    if out.status.code() == Some(126) || err.contains("Permission denied") && !sortie.exists() {
        return common::skip(
            "a_folder_that_cannot_be_read_is_a_finding",
            &format!("the binary cannot run as an unprivileged user: {err}"),
        );
    }
    assert_eq!(out.status.code(), Some(1), "{stdout}{err}");
    let report = rapport(&sortie);
    let folder = report["files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|f| f["path"].as_str().is_some_and(|p| p.ends_with("ferme")))
        .unwrap_or_else(|| panic!("the folder is in the report: {report}"));
    let message = folder["findings"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("Dossier illisible (permission refusée)"), "{message}");
    assert_eq!(folder["status"], "non_conforme");
}
