//! Helpers shared by the integration tests (`mod common;`).

#![allow(dead_code)]

pub mod web;

/// Whether the tests run in CI (`CI=true`): there, nothing may be skipped.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// A test that cannot run here (a missing tool or file): skipped with a message
/// locally, a failure under `CI=true`, so that no test passes by skipping in CI.
///
/// Use as `let Some(x) = x else { return common::skip("test", "why") };`.
pub fn skip(test: &str, why: &str) {
    if in_ci() {
        panic!("{test} cannot run under CI=true: {why}");
    }
    eprintln!("SKIPPED {test}: {why}");
}

/// The repository's root (where `Cargo.toml` is).
pub fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file of `fixtures/`.
pub fn fixture(name: &str) -> std::path::PathBuf {
    root().join("fixtures").join(name)
}

/// A file of `fixtures/campagne/` if it is there, else of `fixtures/`.
pub fn campaign_fixture(name: &str) -> std::path::PathBuf {
    let campagne = root().join("fixtures/campagne").join(name);
    if campagne.exists() {
        campagne
    } else {
        fixture(name)
    }
}

/// The built-in templates and rules, checking in this process.
pub fn checker() -> bilan::job::Checker {
    bilan::job::Checker::new(
        bilan::pipeline::template::TemplateSet::builtin(),
        bilan::pipeline::rules::RulePack::builtin().unwrap_or_else(|e| panic!("built-in rules: {e:?}")),
    )
}

/// The `bilan` binary, without colours.
pub fn bilan() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("bilan").unwrap_or_else(|e| panic!("binary built: {e}"));
    cmd.env("NO_COLOR", "1");
    cmd
}

/// Runs LibreOffice headless (`soffice`) with the private profile `profile`
/// and `args`; fails the test when it has not finished within `seconds`.
pub fn run_soffice(
    soffice: &std::path::Path,
    profile: &std::path::Path,
    args: &[&std::ffi::OsStr],
    seconds: u64,
) -> std::process::Output {
    let mut child = std::process::Command::new(soffice)
        .arg(format!("-env:UserInstallation=file://{}", profile.display()))
        .args(["--headless", "--norestore"])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("soffice starts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while child.try_wait().expect("wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("soffice did not finish within {seconds} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    child.wait_with_output().expect("soffice output")
}

/// `soffice --convert-to target --outdir outdir inputs…` with
/// [`run_soffice`]; fails the test when LibreOffice fails or takes longer
/// than `seconds`. Its output, for a message about a missing file.
pub fn soffice_convert(
    soffice: &std::path::Path,
    profile: &std::path::Path,
    target: &str,
    outdir: &std::path::Path,
    inputs: &[&std::path::Path],
    seconds: u64,
) -> std::process::Output {
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "--convert-to".as_ref(),
        target.as_ref(),
        "--outdir".as_ref(),
        outdir.as_os_str(),
    ];
    args.extend(inputs.iter().map(|p| p.as_os_str()));
    let out = run_soffice(soffice, profile, &args, seconds);
    assert!(
        out.status.success(),
        "soffice --convert-to {target} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
