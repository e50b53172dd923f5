//! File names chosen by a submitter are shown neutralised everywhere, the
//! terminal included (`web.md`, "under attack and faults"): a line break in a
//! name cannot forge a line of `check`/`batch` output, and a name that is not
//! UTF-8 stays recoverable in `rapport.json` (its bytes written `\xHH`).

use std::path::{Path, PathBuf};

use assert_cmd::Command;

const ITRANS: &str = "pole-itrans-cout-total-different-des-financeurs.xlsx";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

fn bilan() -> Command {
    Command::cargo_bin("bilan").expect("the bilan binary")
}

/// No line of `out` starts with the forged text, and the name shows its line
/// break as a symbol.
fn assert_not_forged(out: &str) {
    for line in out.lines() {
        assert!(
            !line.trim_start().starts_with("— Conforme"),
            "a file name forged a line: {line:?}\n{out}"
        );
    }
    assert!(out.contains("x␊— Conforme.xlsx"), "the name is shown with ␊:\n{out}");
}

#[test]
fn a_newline_in_a_file_name_cannot_forge_a_line_of_check_or_batch_output() {
    let dir = tempfile::tempdir().expect("temp dir");
    let inputs = dir.path().join("retours");
    std::fs::create_dir(&inputs).expect("dir");
    let forged = inputs.join("x\n— Conforme.xlsx");
    std::fs::copy(fixture(ITRANS), &forged).expect("copy");

    let check = bilan().arg("check").arg(&forged).output().expect("bilan check runs");
    assert_eq!(check.status.code(), Some(1), "the return has errors");
    assert_not_forged(&String::from_utf8_lossy(&check.stdout));

    let batch = bilan()
        .arg("batch")
        .arg("--out")
        .arg(dir.path().join("sorties"))
        .arg(&inputs)
        .output()
        .expect("bilan batch runs");
    let out = String::from_utf8_lossy(&batch.stdout).into_owned() + &String::from_utf8_lossy(&batch.stderr);
    assert_not_forged(&out);
}

#[cfg(unix)]
#[test]
fn a_latin1_file_name_is_kept_recoverable_in_rapport_json() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let latin1 = dir.path().join(std::ffi::OsStr::from_bytes(b"caf\xe9 r\xe9gion.xlsx"));
    std::fs::copy(fixture(ITRANS), &latin1).expect("copy");
    let out = bilan()
        .arg("check")
        .arg("--json")
        .arg("-")
        .arg(&latin1)
        .output()
        .expect("bilan check runs");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("rapport.json on stdout");
    let path = report["files"][0]["path"].as_str().expect("a path");
    assert!(!path.contains('\u{FFFD}'), "{path}");
    assert!(path.ends_with("caf\\xE9 r\\xE9gion.xlsx"), "{path}");
    // Recovering the bytes gives the original name back.
    let mut bytes = Vec::new();
    let mut rest = path.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'\\' && tail.first() == Some(&b'x') && tail.len() >= 3 {
            let hex = std::str::from_utf8(&tail[1..3]).expect("hex");
            bytes.push(u8::from_str_radix(hex, 16).expect("hex digits"));
            rest = &tail[3..];
        } else {
            bytes.push(b);
            rest = tail;
        }
    }
    assert_eq!(Path::new(std::ffi::OsStr::from_bytes(&bytes)), latin1.as_path());
}
