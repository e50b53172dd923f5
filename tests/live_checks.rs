//! Live checks of the blank returns (spec `cli.md`, "Live checks in a blank
//! return"): the conditional formats the rules declare (`[[live]]`) fire in
//! LibreOffice on what the engine finds, and never on what it finds correct.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use bilan::blank::live::{self, Probes, PROBES_SHEET};
use bilan::blank::{blank_checked, fill_checked};
use bilan::job::Checker;
use bilan::pipeline::check::FileReport;
use bilan::pipeline::read::{read_bytes, CellValue, Limits};

use common::checker;

fn fixtures_dir() -> PathBuf {
    common::root().join("fixtures")
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
    let text = |row: u32, col: u32| match sheet.get(bilan::base::model::CellRef::new(row, col)) {
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
        match sheet.get(bilan::base::model::CellRef::new(c.pos.row, 0)) {
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
    let inputs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    common::soffice_convert(soffice, profile, target, outdir, &inputs, 300);
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
    for t in checker.templates.all() {
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
    for t in checker.templates.all() {
        let has_checks = !live::checks(t, &checker.rules).unwrap_or_default().is_empty();
        if has_checks && !per_template.contains_key(&t.id) {
            failures.push(format!("{}: no fixture compared", t.id));
        }
    }
    assert!(matched > 0, "no engine finding had a live counterpart");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The fixture's data as the engine extracts it.
fn fixture_data(checker: &Checker, name: &str) -> serde_json::Value {
    let report = checker.check_path(&common::fixture(name));
    report
        .extraction
        .as_ref()
        .map(|e| e.data.clone())
        .unwrap_or_else(|| panic!("{name} is not extracted"))
}

/// Pages of a PDF rendered by pdftoppm (`-r 40`), as (width, height, RGB bytes).
fn render(pdf: &Path, prefix: &Path) -> Vec<(usize, usize, Vec<u8>)> {
    let status = std::process::Command::new("pdftoppm")
        .args(["-r", "40"])
        .arg(pdf)
        .arg(prefix)
        .status()
        .expect("pdftoppm runs");
    assert!(status.success(), "pdftoppm failed on {}", pdf.display());
    let dir = prefix.parent().expect("prefix has a folder");
    let stem = prefix.file_name().and_then(|n| n.to_str()).expect("prefix name");
    let mut pages: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("render folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(stem) && n.ends_with(".ppm"))
        })
        .collect();
    pages.sort();
    pages
        .iter()
        .map(|p| {
            let bytes = std::fs::read(p).expect("page");
            // P6 header: "P6\n<w> <h>\n255\n".
            let mut fields = Vec::new();
            let mut at = 0;
            while fields.len() < 4 {
                while bytes[at].is_ascii_whitespace() {
                    at += 1;
                }
                let start = at;
                while !bytes[at].is_ascii_whitespace() {
                    at += 1;
                }
                fields.push(String::from_utf8_lossy(&bytes[start..at]).to_string());
            }
            let w: usize = fields[1].parse().expect("width");
            let h: usize = fields[2].parse().expect("height");
            (w, h, bytes[at + 1..].to_vec())
        })
        .collect()
}

/// Pixels of the live checks' alert fill (`#FFC7CE`) on a page.
fn alert_pixels(rgb: &[u8]) -> usize {
    rgb.chunks_exact(3)
        .filter(|p| p[0] >= 250 && (194..=204).contains(&p[1]) && (201..=211).contains(&p[2]))
        .count()
}

/// The issue's "done when": the blank BILAN-POLE filled with I-TRANS's figures
/// (2005: 17 081 618 € of cost for 16 033 022 € of funders) shows its cost cells
/// coloured once LibreOffice recalculates and prints it, with POLE-FIN-001 in
/// their input message; filled with MAUD's (which add up), nothing is coloured.
/// With `BILAN_REGEN_DOCS=1`, the I-TRANS page is saved as
/// `docs/controle-en-direct.png` for the README.
#[test]
fn itrans_cost_cells_are_coloured_by_libreoffice_and_maud_is_not() {
    let Some(soffice) = soffice() else {
        return common::skip(
            "itrans_cost_cells_are_coloured_by_libreoffice_and_maud_is_not",
            "soffice (LibreOffice) is not installed",
        );
    };
    let checker = checker();
    let t = checker.templates.get("BILAN-POLE").expect("BILAN-POLE");
    let checks = live::checks(t, &checker.rules).expect("declarations resolve");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut inputs = Vec::new();
    for (name, fixture) in [
        ("itrans", "pole-itrans-cout-total-different-des-financeurs.xlsx"),
        ("maud", "pole-maud-conforme.xlsx"),
    ] {
        let bytes = fill_checked(t, &fixture_data(&checker, fixture), &checks, Probes::Off).expect("fill");
        let at = dir.path().join(format!("{name}.xlsx"));
        std::fs::write(&at, &bytes).expect("write");
        inputs.push(at);
    }
    // The input message of the cost cells names the rule.
    let sheet = std::fs::read(&inputs[0]).expect("read back");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(sheet)).expect("xlsx is a zip");
    let mut prompts = String::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).expect("zip entry");
        if f.name().is_ok_and(|n| n.starts_with("xl/worksheets/")) {
            std::io::Read::read_to_string(&mut f, &mut prompts).expect("sheet xml");
        }
    }
    assert!(
        prompts.contains("promptTitle=\"Coût total (€)\" prompt=\"Contrôle en direct POLE-FIN-001 : "),
        "the cost cells' input message does not name POLE-FIN-001"
    );
    let profile = recalculating_profile(dir.path());
    let outdir = dir.path().join("pdf");
    convert(&soffice, &profile, "pdf", &outdir, &inputs);
    let itrans = render(&outdir.join("itrans.pdf"), &dir.path().join("itrans"));
    let maud = render(&outdir.join("maud.pdf"), &dir.path().join("maud"));
    let coloured: Vec<usize> = itrans.iter().map(|(_, _, rgb)| alert_pixels(rgb)).collect();
    assert!(
        coloured.iter().any(|n| *n > 50),
        "no cell coloured on the I-TRANS pages: {coloured:?}"
    );
    let clean: usize = maud.iter().map(|(_, _, rgb)| alert_pixels(rgb)).sum();
    assert_eq!(clean, 0, "MAUD's figures add up but a cell is coloured");
    if std::env::var("BILAN_REGEN_DOCS").is_ok() {
        let page = coloured
            .iter()
            .enumerate()
            .max_by_key(|(_, n)| **n)
            .map(|(i, _)| i + 1)
            .unwrap_or(1);
        let target = common::root().join("docs/controle-en-direct");
        let status = std::process::Command::new("pdftoppm")
            .args([
                "-png",
                "-r",
                "110",
                "-singlefile",
                "-x",
                "60",
                "-y",
                "70",
                "-W",
                "1050",
                "-H",
                "210",
            ])
            .args(["-f", &page.to_string(), "-l", &page.to_string()])
            .arg(outdir.join("itrans.pdf"))
            .arg(&target)
            .status()
            .expect("pdftoppm runs");
        assert!(status.success(), "pdftoppm -png failed");
    }
}

/// The live checks after a save by LibreOffice: the I-TRANS return saved as
/// `.xlsx`, `.ods` and `.xls`, each printed again (recalculated) by LibreOffice.
/// All three copies keep the conditional formats and colour the cost cells
/// (LibreOffice 7.4 writes them as `.xls` CF records and `.ods` conditional styles).
#[test]
fn live_checks_survive_a_libreoffice_save() {
    let Some(soffice) = soffice() else {
        return common::skip(
            "live_checks_survive_a_libreoffice_save",
            "soffice (LibreOffice) is not installed",
        );
    };
    let checker = checker();
    let t = checker.templates.get("BILAN-POLE").expect("BILAN-POLE");
    let checks = live::checks(t, &checker.rules).expect("declarations resolve");
    let dir = tempfile::tempdir().expect("temp dir");
    let data = fixture_data(&checker, "pole-itrans-cout-total-different-des-financeurs.xlsx");
    let original = dir.path().join("itrans.xlsx");
    std::fs::write(&original, fill_checked(t, &data, &checks, Probes::Off).expect("fill")).expect("write");
    let profile = recalculating_profile(dir.path());
    let mut coloured = BTreeMap::new();
    for (target, ext) in [
        ("xlsx:Calc MS Excel 2007 XML", "xlsx"),
        ("ods", "ods"),
        ("xls:MS Excel 97", "xls"),
    ] {
        let saved_dir = dir.path().join(format!("saved-{ext}"));
        convert(&soffice, &profile, target, &saved_dir, std::slice::from_ref(&original));
        let saved = saved_dir.join(format!("itrans.{ext}"));
        let pdf_dir = dir.path().join(format!("pdf-{ext}"));
        convert(&soffice, &profile, "pdf", &pdf_dir, &[saved]);
        let pages = render(&pdf_dir.join("itrans.pdf"), &dir.path().join(format!("page-{ext}")));
        let pixels: usize = pages.iter().map(|(_, _, rgb)| alert_pixels(rgb)).sum();
        coloured.insert(ext, pixels);
    }
    eprintln!("alert pixels after a LibreOffice save, by format: {coloured:?}");
    assert!(
        coloured["xlsx"] > 50,
        "the .xlsx copy lost its live checks: {coloured:?}"
    );
    assert!(coloured["ods"] > 50, "the .ods copy lost its live checks: {coloured:?}");
    assert!(coloured["xls"] > 50, "the .xls copy lost its live checks: {coloured:?}");
}

/// `data` with the figure at `pointer` replaced.
fn with(mut data: serde_json::Value, pointer: &str, value: serde_json::Value) -> serde_json::Value {
    *data
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer} is in the data")) = value;
    data
}

fn figure(data: &serde_json::Value, pointer: &str) -> f64 {
    data.pointer(pointer)
        .and_then(serde_json::Value::as_f64)
        .unwrap_or_else(|| panic!("{pointer} is a number"))
}

/// Figures at the edge of each tolerance, cents that binary floats cannot
/// hold, an amount typed as text, a rate typed as a fraction: no live check
/// colours what the engine accepts, and the ones just past the tolerance fire.
#[test]
fn live_checks_hold_at_the_edge_of_the_tolerance() {
    let Some(soffice) = soffice() else {
        return common::skip(
            "live_checks_hold_at_the_edge_of_the_tolerance",
            "soffice (LibreOffice) is not installed",
        );
    };
    let checker = checker();
    let maud = fixture_data(&checker, "pole-maud-conforme.xlsx");
    let feder = fixture_data(&checker, "feder-axe1-2009-conforme.xlsx");
    let row = "/financements/1";
    let funders = ["etat", "region", "epci", "europe", "prive"];
    let sum: f64 = funders.iter().map(|f| figure(&maud, &format!("{row}/{f}"))).sum();
    let cost = |v: f64| with(maud.clone(), &format!("{row}/cout_total"), v.into());
    let cents = {
        let d = with(
            maud.clone(),
            &format!("{row}/etat"),
            (figure(&maud, &format!("{row}/etat")) + 0.1).into(),
        );
        let d = with(
            d,
            &format!("{row}/region"),
            (figure(&maud, &format!("{row}/region")) + 0.2).into(),
        );
        with(d, &format!("{row}/cout_total"), (sum + 1.3).into())
    };
    let etat = figure(&maud, &format!("{row}/etat"));
    let text = with(
        maud.clone(),
        &format!("{row}/etat"),
        format!("{} €", etat as i64).into(),
    );
    let equal = with(
        maud.clone(),
        &format!("{row}/prive"),
        figure(&maud, &format!("{row}/cout_total")).into(),
    );
    let prevu = figure(&feder, "/maquette/prevu_axe1");
    let computed = (figure(&feder, "/maquette/programme_axe1") * 100.0 / prevu * 10_000.0).round() / 10_000.0;
    let rate = |v: f64| with(feder.clone(), "/maquette/taux_axe1", v.into());
    let over = with(feder.clone(), "/maquette/programme_axe1", (prevu + 0.005).into());
    let priorites: f64 = feder
        .pointer("/priorites")
        .and_then(serde_json::Value::as_array)
        .map(|rows| {
            rows.iter()
                .filter_map(|r| r.get("feder").and_then(serde_json::Value::as_f64))
                .sum()
        })
        .unwrap_or_default();
    let total = with(feder.clone(), "/priorites_total/feder", (priorites + 0.005).into());
    // (name, template, data, must fire: (rule, pointer of the coloured cell's value))
    let cases: Vec<(&str, &str, serde_json::Value, Option<&str>)> = vec![
        ("cout-a-1-euro", "BILAN-POLE", cost(sum + 1.0), None),
        ("cout-a-1-euro-01", "BILAN-POLE", cost(sum + 1.01), Some("POLE-FIN-001")),
        ("cout-moins-1-euro", "BILAN-POLE", cost(sum - 1.0), None),
        ("centimes", "BILAN-POLE", cents, None),
        ("montant-en-texte", "BILAN-POLE", text, None),
        ("financeur-egal-au-cout", "BILAN-POLE", equal, None),
        ("taux-a-0-05", "TDB-FEDER-AXE1", rate(computed + 0.05), None),
        (
            "taux-a-0-06",
            "TDB-FEDER-AXE1",
            rate(computed + 0.06),
            Some("FEDER-MAQ-004"),
        ),
        ("taux-en-fraction", "TDB-FEDER-AXE1", rate(computed / 100.0), None),
        ("programme-a-0-005", "TDB-FEDER-AXE1", over, None),
        ("total-priorites-a-0-005", "TDB-FEDER-AXE1", total, None),
    ];
    let dir = tempfile::tempdir().expect("temp dir");
    let mut inputs = Vec::new();
    for (name, id, data, _) in &cases {
        let t = checker.templates.get(id).expect("template");
        let checks = live::checks(t, &checker.rules).expect("declarations resolve");
        let at = dir.path().join(format!("{name}.xlsx"));
        std::fs::write(&at, fill_checked(t, data, &checks, Probes::On).expect("fill")).expect("write");
        inputs.push(at);
    }
    let outdir = dir.path().join("recalcule");
    convert(
        &soffice,
        &recalculating_profile(dir.path()),
        "xlsx:Calc MS Excel 2007 XML",
        &outdir,
        &inputs,
    );
    let mut failures = Vec::new();
    for (name, _, _, must) in &cases {
        let bytes = std::fs::read(outdir.join(format!("{name}.xlsx"))).expect("recalculated");
        let engine = engine_spots(&checker.check_bytes(&format!("{name}.xlsx"), &bytes));
        let (live, _) = fired(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        for spot in live.iter().filter(|s| !engine.contains(*s)) {
            failures.push(format!(
                "{name}: {} coloured {}!{}, the engine finds it correct",
                spot.0, spot.1, spot.2
            ));
        }
        if let Some(rule) = must {
            if !live.iter().any(|s| s.0 == *rule) {
                failures.push(format!("{name}: {rule} does not fire (engine: {engine:?})"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A Basic macro for LibreOffice: opens `src`, inserts a row inside the
/// `Financements` table (before sheet row 6) with a year, a cost and two
/// funders, saves the result as `.xlsx` at `dst`. Figures come as text: a
/// `Double` parameter from the command line hangs LibreOffice 7.4.
const INSERT_ROW_MACRO: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE script:module PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "module.dtd">
<script:module xmlns:script="http://openoffice.org/2000/script" script:name="Module1" script:language="StarBasic">
Sub InsertRow(src As String, dst As String, cost As String, etat As String, region As String)
  Dim args(0) As New com.sun.star.beans.PropertyValue
  args(0).Name = &quot;Hidden&quot;
  args(0).Value = True
  doc = StarDesktop.loadComponentFromURL(ConvertToURL(src), &quot;_blank&quot;, 0, args())
  sheet = doc.Sheets.getByName(&quot;Financements&quot;)
  sheet.unprotect(&quot;&quot;)
  sheet.Rows.insertByIndex(5, 1)
  sheet.getCellByPosition(0, 5).setValue(2010)
  sheet.getCellByPosition(1, 5).setValue(Val(cost))
  sheet.getCellByPosition(2, 5).setValue(Val(etat))
  sheet.getCellByPosition(3, 5).setValue(Val(region))
  doc.calculateAll()
  Dim out(0) As New com.sun.star.beans.PropertyValue
  out(0).Name = &quot;FilterName&quot;
  out(0).Value = &quot;Calc MS Excel 2007 XML&quot;
  doc.storeToURL(ConvertToURL(dst), out())
  doc.close(True)
End Sub
</script:module>
"#;

/// A row inserted by LibreOffice inside a table of the blank return is checked
/// like the others: the conditional formats and the TOTAL's ranges grow over
/// it, a wrong row is coloured, a right one is not.
#[test]
fn a_row_inserted_in_libreoffice_is_checked_too() {
    let Some(soffice) = soffice() else {
        return common::skip(
            "a_row_inserted_in_libreoffice_is_checked_too",
            "soffice (LibreOffice) is not installed",
        );
    };
    let checker = checker();
    let t = checker.templates.get("BILAN-POLE").expect("BILAN-POLE");
    let dir = tempfile::tempdir().expect("temp dir");
    let blank = dir.path().join("vierge.xlsx");
    std::fs::write(&blank, blank_checked(t, &checker.rules).expect("blank")).expect("write");
    let profile = recalculating_profile(dir.path());
    // A first start sets the profile up (and its Basic library) …
    convert(
        &soffice,
        &profile,
        "pdf",
        &dir.path().join("init"),
        std::slice::from_ref(&blank),
    );
    // … then the macro goes into its Standard library.
    std::fs::write(profile.join("user/basic/Standard/Module1.xba"), INSERT_ROW_MACRO).expect("macro written");
    let mut pixels = BTreeMap::new();
    for (name, cost, etat, region) in [("faux", 1000, 400, 0), ("juste", 1000, 400, 600)] {
        let inserted = dir.path().join(format!("{name}.xlsx"));
        let mut child = std::process::Command::new(&soffice)
            .arg(format!("-env:UserInstallation=file://{}", profile.display()))
            .args(["--headless", "--norestore"])
            .arg(format!(
                "macro:///Standard.Module1.InsertRow(\"{}\",\"{}\",\"{cost}\",\"{etat}\",\"{region}\")",
                blank.display(),
                inserted.display()
            ))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("soffice runs the macro");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while child.try_wait().expect("wait").is_none() {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("the macro did not finish within 120 s");
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert!(inserted.exists(), "the macro wrote no {name}.xlsx");
        let report = checker.check_path(&inserted);
        let engine = engine_spots(&report);
        let wrong = ("POLE-FIN-001".to_string(), "Financements".to_string(), "B6".to_string());
        assert_eq!(
            engine.contains(&wrong),
            name == "faux",
            "{name}: engine findings {engine:?}"
        );
        let pdf = dir.path().join(format!("pdf-{name}"));
        convert(&soffice, &profile, "pdf", &pdf, std::slice::from_ref(&inserted));
        let pages = render(
            &pdf.join(format!("{name}.pdf")),
            &dir.path().join(format!("page-{name}")),
        );
        pixels.insert(name, pages.iter().map(|(_, _, rgb)| alert_pixels(rgb)).sum::<usize>());
    }
    assert!(
        pixels["faux"] > 50,
        "the inserted wrong row is not coloured: {pixels:?}"
    );
    assert_eq!(pixels["juste"], 0, "a right inserted row is coloured: {pixels:?}");
}
