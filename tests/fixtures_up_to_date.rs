//! The committed workbooks under `fixtures/` are what their descriptions in
//! `fixtures/src/*.json` produce: same sheets, same cells, same merged ranges.
//!
//! After editing a description, regenerate the workbooks with
//!
//! ```text
//! BILAN_REGEN_FIXTURES=1 cargo test --test fixtures_up_to_date
//! ```
//!
//! The `.xls` and `.ods` copies are made by LibreOffice (see `fixtures/README.md`);
//! they are checked against the same descriptions, values only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bilan::base::model::CellRef;
use bilan::pipeline::read::{read_bytes, CellValue, Limits, Sheet, Workbook};
use bilan::sheetgen::{write_xlsx, WorkbookSpec};

const REGEN: &str = "BILAN_REGEN_FIXTURES=1 cargo test --test fixtures_up_to_date";

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The folders of fixtures made from descriptions: `fixtures/` (the seed's
/// returns) and `fixtures/campagne/` (resubmissions and justifications, kept
/// apart so that the per-fixture expectations of the other tests stay the seed's).
fn fixture_dirs() -> Vec<PathBuf> {
    vec![fixtures_dir(), fixtures_dir().join("campagne")]
}

/// Every `<dir>/src/<name>.json` of [`fixture_dirs`], sorted by name.
fn descriptions() -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = Vec::new();
    for dir in fixture_dirs().iter().map(|d| d.join("src")) {
        let mut here: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .filter_map(|p| Some((p.file_stem()?.to_str()?.to_string(), p)))
            .collect();
        assert!(!here.is_empty(), "no description in {}", dir.display());
        out.append(&mut here);
    }
    out.sort();
    out
}

/// The workbook a description makes: `<dir>/<name>.xlsx` next to `<dir>/src/`.
fn workbook_of(description: &Path) -> PathBuf {
    let dir = description.parent().and_then(Path::parent).unwrap_or(Path::new("."));
    let name = description.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    dir.join(format!("{name}.xlsx"))
}

/// The `.xlsx` bytes a description produces.
fn generate(name: &str, path: &Path) -> Result<Vec<u8>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: cannot read {}: {e}", path.display()))?;
    let spec: WorkbookSpec = serde_json::from_str(&text)
        .map_err(|e| format!("{name}: {} is not a valid description: {e}", path.display()))?;
    write_xlsx(&spec).map_err(|e| format!("{name}: cannot generate the workbook: {e}"))
}

fn read(name: &str, what: &str, bytes: &[u8]) -> Result<Workbook, String> {
    read_bytes(bytes, &Limits::default()).map_err(|e| format!("{name}: cannot read {what}: {e}"))
}

fn cells(sheet: &Sheet) -> BTreeMap<CellRef, &CellValue> {
    sheet.cells().iter().map(|c| (c.pos, &c.value)).collect()
}

/// What differs between the workbook the description gives and the one on disk
/// (at most a few lines per sheet). `with_merges`: compare merged ranges too.
fn differences(expected: &Workbook, actual: &Workbook, with_merges: bool) -> Vec<String> {
    let names = |wb: &Workbook| wb.sheets.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
    if names(expected) != names(actual) {
        return vec![format!(
            "sheets {:?} expected, {:?} found",
            names(expected),
            names(actual)
        )];
    }
    let mut out = Vec::new();
    for (e, a) in expected.sheets.iter().zip(&actual.sheets) {
        let (ec, ac) = (cells(e), cells(a));
        let mut here = Vec::new();
        for (pos, ev) in &ec {
            match ac.get(pos) {
                None => here.push(format!("{}!{pos}: {ev:?} expected, empty found", e.name)),
                Some(av) if av != ev => here.push(format!("{}!{pos}: {ev:?} expected, {av:?} found", e.name)),
                Some(_) => {}
            }
        }
        for (pos, av) in &ac {
            if !ec.contains_key(pos) {
                here.push(format!("{}!{pos}: empty expected, {av:?} found", e.name));
            }
        }
        if with_merges {
            let mut em: Vec<String> = e.merges.iter().map(|m| m.to_string()).collect();
            let mut am: Vec<String> = a.merges.iter().map(|m| m.to_string()).collect();
            em.sort();
            am.sort();
            if em != am {
                here.push(format!("{}: merged ranges {em:?} expected, {am:?} found", e.name));
            }
        }
        let n = here.len();
        out.extend(here.into_iter().take(5));
        if n > 5 {
            out.push(format!("{}: … and {} more differences", e.name, n - 5));
        }
    }
    out
}

#[test]
fn committed_xlsx_fixtures_match_their_descriptions() {
    let regen = std::env::var("BILAN_REGEN_FIXTURES").is_ok_and(|v| v == "1");
    let mut failures = Vec::new();
    for (name, path) in descriptions() {
        let file = workbook_of(&path);
        let outcome = (|| -> Result<(), String> {
            let bytes = generate(&name, &path)?;
            if regen {
                return std::fs::write(&file, &bytes)
                    .map_err(|e| format!("{name}: cannot write {}: {e}", file.display()));
            }
            let committed = std::fs::read(&file)
                .map_err(|e| format!("{name}: {} is missing ({e}); run `{REGEN}`", file.display()))?;
            let diff = differences(
                &read(&name, "the generated workbook", &bytes)?,
                &read(&name, &file.display().to_string(), &committed)?,
                true,
            );
            if diff.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "{name}: {} is not what {} describes:\n    {}",
                    file.display(),
                    path.display(),
                    diff.join("\n    ")
                ))
            }
        })();
        if let Err(e) = outcome {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n\nIf the descriptions are right, regenerate with `{REGEN}`.",
        failures.join("\n")
    );
}

#[test]
fn every_xlsx_fixture_has_a_description() {
    let described: Vec<PathBuf> = descriptions().iter().map(|(_, p)| workbook_of(p)).collect();
    let mut orphans: Vec<String> = fixture_dirs()
        .iter()
        .flat_map(|dir| {
            std::fs::read_dir(dir)
                .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
                .filter_map(|entry| entry.ok().map(|e| e.path()))
        })
        .filter(|p| p.extension().is_some_and(|x| x == "xlsx"))
        .filter(|p| !described.contains(p))
        .map(|p| p.display().to_string())
        .collect();
    orphans.sort();
    assert!(
        orphans.is_empty(),
        "fixtures without a description in src/ next to them: {orphans:?} (delete them or add <dir>/src/<name>.json)"
    );
}

/// `fixtures/<name>.xls` and `.ods` (LibreOffice copies) hold the same values as
/// the description: text, numbers, dates and merged ranges.
#[test]
fn xls_and_ods_copies_hold_the_same_values() {
    let dir = fixtures_dir();
    let mut copies: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "xls" || x == "ods"))
        .collect();
    copies.sort();
    let mut failures = Vec::new();
    for copy in &copies {
        let file = copy
            .file_name()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        let name = copy
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        let outcome = (|| -> Result<(), String> {
            let source = dir.join("src").join(format!("{name}.json"));
            if !source.exists() {
                return Err(format!("{file}: no description fixtures/src/{name}.json"));
            }
            let expected = read(&file, "the generated workbook", &generate(&name, &source)?)?;
            let bytes = std::fs::read(copy).map_err(|e| format!("{file}: {e}"))?;
            let diff = differences(&expected, &read(&file, &file, &bytes)?, true);
            if diff.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "{file} differs from fixtures/src/{name}.json (convert it again, see fixtures/README.md):\n    {}",
                    diff.join("\n    ")
                ))
            }
        })();
        if let Err(e) = outcome {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
