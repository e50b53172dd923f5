//! Live checks of the blank returns (spec `cli.md`, "Live checks in a blank
//! return"): the conditional formats the rules declare (`[[live]]`) fire in
//! LibreOffice on what the engine finds, and never on what it finds correct.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use bilan::blank::live::{self, Probes, PROBES_SHEET};
use bilan::blank::{blank_checked, fill_checked};
use bilan::check::{Checker, FileReport};
use bilan::read::{read_bytes, CellValue, Limits};
use bilan::rules::RulePack;
use bilan::template::TemplateSet;

fn checker() -> Checker {
    Checker::new(
        TemplateSet::builtin().expect("built-in schemas load"),
        RulePack::builtin().expect("built-in rules load"),
    )
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// (rule, sheet, cell) of a finding or of a fired live check.
type Spot = (String, String, String);

fn engine_spots(r: &FileReport) -> BTreeSet<Spot> {
    r.findings
        .iter()
        .filter_map(|f| {
            Some((
                f.rule.as_str().to_string(),
                f.sheet.clone()?,
                f.cell.map(|c| c.to_string())?,
            ))
        })
        .collect()
}

/// The live checks that fired: the probe sheet after LibreOffice recalculated
/// it (column A shows the rule id when its check fires).
fn fired(bytes: &[u8]) -> Result<(BTreeSet<Spot>, usize), String> {
    let wb = read_bytes(bytes, &Limits::default()).map_err(|e| format!("{e:?}"))?;
    let sheet = wb
        .sheets
        .iter()
        .find(|s| s.name == PROBES_SHEET)
        .ok_or("no probe sheet")?;
    let text = |row: u32, col: u32| match sheet.get(bilan::model::CellRef::new(row, col)) {
        Some(CellValue::Text(s)) => s.trim().to_string(),
        _ => String::new(),
    };
    let mut out = BTreeSet::new();
    let mut rows = 0usize;
    for c in sheet.cells() {
        if c.pos.col != 1 || c.pos.row == 0 {
            continue;
        }
        rows += 1;
        match sheet.get(bilan::model::CellRef::new(c.pos.row, 0)) {
            None => {}
            Some(CellValue::Text(s)) if s.trim().is_empty() => {}
            Some(CellValue::Text(s)) => {
                out.insert((s.trim().to_string(), text(c.pos.row, 1), text(c.pos.row, 2)));
            }
            Some(other) => return Err(format!("probe A{} is {other:?}", c.pos.row + 1)),
        }
    }
    Ok((out, rows))
}

fn soffice() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| [d.join("soffice"), d.join("libreoffice")])
        .find(|p| p.is_file())
}

/// A private LibreOffice profile that recalculates every formula on load
/// (the default keeps the cached results of an `.xlsx`).
fn recalculating_profile(dir: &Path) -> PathBuf {
    let profile = dir.join("profil");
    std::fs::create_dir_all(profile.join("user")).expect("profile folder");
    std::fs::write(
        profile.join("user/registrymodifications.xcu"),
        r#"<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"#,
    )
    .expect("profile written");
    profile
}

/// `soffice --convert-to <target>` of `inputs` into `outdir`; fails after
/// five minutes.
fn convert(soffice: &Path, profile: &Path, target: &str, outdir: &Path, inputs: &[PathBuf]) {
    let mut child = std::process::Command::new(soffice)
        .arg(format!("-env:UserInstallation=file://{}", profile.display()))
        .args(["--headless", "--norestore", "--convert-to", target, "--outdir"])
        .arg(outdir)
        .args(inputs)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("soffice starts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while child.try_wait().expect("wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("soffice did not finish within 300 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let out = child.wait_with_output().expect("soffice output");
    assert!(
        out.status.success(),
        "soffice --convert-to {target} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every fixture (`.xlsx`) of a template, written into the blank return with
/// its live checks and probes: `(fixture name, template id, path)`.
fn filled_fixtures(checker: &Checker, dir: &Path) -> Vec<(String, String, PathBuf)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .expect("fixtures/ is listed")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "xlsx"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let name = path
            .file_stem()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let original = checker.check_path(&path);
        let (Some(id), Some(ex)) = (original.template.clone(), original.extraction.as_ref()) else {
            continue;
        };
        let t = checker.templates.get(&id).expect("detected template exists");
        let checks = live::checks(t, &checker.rules).expect("declarations resolve");
        let bytes = fill_checked(t, &ex.data, &checks, Probes::On).expect("fill");
        let at = dir.join(format!("{name}.xlsx"));
        std::fs::write(&at, bytes).expect("write");
        out.push((name, id, at));
    }
    out
}

/// Every declaration of every built-in rule fits its template's blank return.
#[test]
fn every_declared_live_check_fits_its_template() {
    let checker = checker();
    let mut total = 0;
    for t in &checker.templates.templates {
        let checks = live::checks(t, &checker.rules).expect("declarations resolve");
        total += checks.len();
        blank_checked(t, &checker.rules).unwrap_or_else(|e| panic!("{}: {e}", t.id));
    }
    assert!(total >= 20, "only {total} live checks declared");
}

/// The comparison of the issue: each template filled with each of its fixtures
/// (clean and with mistakes), recalculated by LibreOffice; every live check that
/// fires is an engine finding on the same workbook, and the I-TRANS total fires.
#[test]
fn live_checks_fire_only_on_engine_findings() {
    let Some(soffice) = soffice() else {
        return common::skip(
            "live_checks_fire_only_on_engine_findings",
            "soffice (LibreOffice) is not installed",
        );
    };
    let checker = checker();
    let dir = tempfile::tempdir().expect("temp dir");
    let filled = filled_fixtures(&checker, dir.path());
    let outdir = dir.path().join("recalcule");
    let profile = recalculating_profile(dir.path());
    let inputs: Vec<PathBuf> = filled.iter().map(|(_, _, p)| p.clone()).collect();
    convert(&soffice, &profile, "xlsx:Calc MS Excel 2007 XML", &outdir, &inputs);
    let live_rules: BTreeSet<String> = checker
        .rules
        .rules
        .iter()
        .filter(|r| !r.meta.live.is_empty())
        .map(|r| r.meta.id.clone())
        .collect();
    let mut failures = Vec::new();
    let mut matched = 0;
    let mut fired_total = 0;
    let mut without: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut per_template: BTreeMap<String, usize> = BTreeMap::new();
    let mut without_checks = Vec::new();
    for (name, id, _) in &filled {
        let bytes = std::fs::read(outdir.join(format!("{name}.xlsx"))).expect("LibreOffice wrote the file");
        let report = checker.check_bytes(&format!("{name}.xlsx"), &bytes);
        let engine = engine_spots(&report);
        let live = match fired(&bytes) {
            Ok((_, 0)) => {
                without_checks.push(name.clone());
                continue;
            }
            Ok((l, _)) => l,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        *per_template.entry(id.clone()).or_default() += 1;
        fired_total += live.len();
        for spot in &live {
            if !engine.contains(spot) {
                failures.push(format!(
                    "{name}: live check {} coloured {}!{} but the engine finds it correct",
                    spot.0, spot.1, spot.2
                ));
            }
        }
        for spot in engine.iter().filter(|s| live_rules.contains(&s.0)) {
            if live.contains(spot) {
                matched += 1;
            } else {
                without
                    .entry(name.clone())
                    .or_default()
                    .push(format!("{} {}!{}", spot.0, spot.1, spot.2));
            }
        }
    }
    let engine_total = matched + without.values().map(Vec::len).sum::<usize>();
    eprintln!(
        "live checks: {} returns ({per_template:?}), {fired_total} cells coloured, {matched} of {engine_total} engine findings of rules with a live check had a live counterpart",
        filled.len()
    );
    eprintln!("  returns with no live check to run (no TOTAL row, or no rule with one): {without_checks:?}");
    for (name, spots) in &without {
        eprintln!("  without live counterpart in {name}: {}", spots.join(", "));
    }
    let itrans = filled
        .iter()
        .find(|(n, _, _)| n == "pole-itrans-cout-total-different-des-financeurs")
        .expect("the I-TRANS fixture is there");
    let bytes = std::fs::read(outdir.join(format!("{}.xlsx", itrans.0))).expect("I-TRANS recalculated");
    let live = fired(&bytes).map(|(l, _)| l).unwrap_or_default();
    assert!(
        live.iter()
            .any(|(rule, sheet, _)| rule == "POLE-FIN-001" && sheet == "Financements"),
        "the I-TRANS cost cells are not coloured: {live:?}"
    );
    for t in &checker.templates.templates {
        let has_checks = !live::checks(t, &checker.rules).unwrap_or_default().is_empty();
        if has_checks && !per_template.contains_key(&t.id) {
            failures.push(format!("{}: no fixture compared", t.id));
        }
    }
    assert!(matched > 0, "no engine finding had a live counterpart");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
