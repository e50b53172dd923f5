//! No input, however broken, makes `bilan` panic: truncated and corrupted
//! copies of a real return, and bytes that are not a workbook at all.

mod common;

use common::checker;

use bilan::job::Checker;
use bilan::pipeline::check::FileReport;
use rust_xlsxwriter::Workbook;

/// What the reader says when calamine panicked and the panic was caught
/// (`read::read_bytes`): a finding, but one that hides a crash.
const CAUGHT_PANIC: &str = "le lecteur de classeur a échoué";

/// Checks `bytes` and asserts an answer of the pipeline: a template found or
/// at least one finding, and no reader panic turned into a finding.
fn checked(checker: &Checker, name: &str, bytes: &[u8]) -> FileReport {
    let r = checker.check_bytes(name, bytes);
    assert!(
        r.template.is_some() || !r.findings.is_empty(),
        "{name}: neither a template nor a finding"
    );
    assert!(
        !r.findings.iter().any(|f| f.message.contains(CAUGHT_PANIC)),
        "{name}: the reader panicked: {:?}",
        r.findings
    );
    r
}

fn small_return() -> Vec<u8> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let _ = ws.set_name("Identification");
    for (i, (label, value)) in [("Modèle", "BILAN-POLE"), ("Version", "2010.1"), ("Pôle", "MAUD")]
        .iter()
        .enumerate()
    {
        let _ = ws.write_string(i as u32, 0, *label);
        let _ = ws.write_string(i as u32, 1, *value);
    }
    let ws = wb.add_worksheet();
    let _ = ws.set_name("Financements");
    for (c, h) in [
        "Année",
        "Coût total (€)",
        "Etat (€)",
        "Région (€)",
        "EPCI (€)",
        "Europe (€)",
        "Privé (€)",
    ]
    .iter()
    .enumerate()
    {
        let _ = ws.write_string(0, c as u16, *h);
    }
    for c in 0..7u16 {
        let _ = ws.write_number(1, c, if c == 0 { 2006.0 } else { 1000.0 * c as f64 });
    }
    wb.save_to_buffer().expect("writes")
}

#[test]
fn truncated_copies_give_findings() {
    let checker = checker();
    let bytes = small_return();
    let whole = checker.check_bytes("entier.xlsx", &bytes);
    assert_eq!(whole.template.as_deref(), Some("BILAN-POLE"));
    for len in (0..bytes.len()).step_by(97) {
        let r = checked(&checker, "tronque.xlsx", &bytes[..len]);
        assert!(
            !r.findings.is_empty(),
            "a file cut at {len} bytes gives at least one finding"
        );
    }
}

#[test]
fn corrupted_copies_do_not_panic() {
    let checker = checker();
    let bytes = small_return();
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..300 {
        let mut copy = bytes.clone();
        for _ in 0..4 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let i = (seed as usize) % copy.len();
            copy[i] = (seed >> 32) as u8;
        }
        checked(&checker, "abime.xlsx", &copy);
    }
}

#[test]
fn things_that_are_not_workbooks() {
    let checker = checker();
    for (name, bytes) in [
        ("vide.xlsx", Vec::new()),
        ("texte.xlsx", b"bonjour".to_vec()),
        ("pdf.xlsx", b"%PDF-1.4 ...".to_vec()),
        (
            "zip-vide.xlsx",
            b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0".to_vec(),
        ),
        (
            "cfb.xls",
            [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0, 0].to_vec(),
        ),
    ] {
        let r = checked(&checker, name, &bytes);
        assert!(
            r.findings.iter().any(|f| f.rule.as_str() == "BILAN-IO-001"),
            "{name}: {:?}",
            r.findings
        );
    }
}

/// Inputs the fuzzer found crashing (`fixtures/fuzz/`): each is a finding for
/// its file, through the CLI and its isolated reader. In-process, a calamine
/// panic is caught (debug builds overflow-check, release builds may instead
/// request an impossible allocation, which only the reader process survives).
#[test]
fn fuzzer_regressions_are_findings() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/fuzz");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures/fuzz")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e != "md"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    let out = assert_cmd::Command::cargo_bin("bilan")
        .expect("binary")
        .env("NO_COLOR", "1")
        .arg("check")
        .args(&files)
        .args(["--format", "short", "--max-memory", "1000000000"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    for f in &files {
        let name = f.display().to_string();
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{name} : erreur BILAN-IO-00")))
            .unwrap_or_default();
        assert!(!line.is_empty(), "{name} has no IO finding:\n{text}");
    }
}

/// A xorshift generator: the same "random" damage on every run.
fn damage(bytes: &[u8], seed: &mut u64, changes: usize) -> Vec<u8> {
    let mut copy = bytes.to_vec();
    for _ in 0..changes {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        let i = (*seed as usize) % copy.len();
        copy[i] = (*seed >> 32) as u8;
    }
    copy
}

fn formats_fixture(ext: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/formats")
        .join(format!("repartition-poles-2009-parts-en-pourcentage.{ext}"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The number-format readers of `.xls` (compound file + BIFF8 records) and
/// `.ods` (zip + XML) on damaged copies of a real file: no panic, never more
/// formats than the budget, and the whole check gives findings.
#[test]
fn number_format_readers_survive_damaged_files() {
    use bilan::pipeline::read::numfmt;
    let limits = bilan::pipeline::read::Limits::default();
    let checker = checker();
    let xls = formats_fixture("xls");
    let good = numfmt::xls::read(&xls, &limits, 1000).expect("the .xls fixture has formats");
    assert!(!good.sheets.is_empty());
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    for round in 0..400 {
        let copy = damage(&xls, &mut seed, 1 + round % 8);
        if let Some(wf) = numfmt::xls::read(&copy, &limits, 50) {
            assert!(wf.sheets.iter().map(|s| s.1.len()).sum::<usize>() <= 50);
        }
        if round % 20 == 0 {
            checked(&checker, "abime.xls", &copy);
        }
    }
    for len in (0..xls.len()).step_by(61) {
        let _ = numfmt::xls::read(&xls[..len], &limits, 50);
    }

    // .ods: damage the XML itself (a damaged deflate stream stops at the zip).
    let ods = formats_fixture("ods");
    let parts = unzip(&ods);
    let repack = |content: &[u8]| rezip(&parts, "content.xml", content);
    let content = member(&parts, "content.xml");
    let good = numfmt::ods::read(&repack(&content), &limits, 1000).expect("formats");
    assert_eq!(good.sheets.len(), 2);
    for round in 0..300 {
        let copy = repack(&damage(&content, &mut seed, 1 + round % 6));
        if let Some(wf) = numfmt::ods::read(&copy, &limits, 50) {
            assert!(wf.sheets.iter().map(|s| s.1.len()).sum::<usize>() <= 50);
        }
        if round % 20 == 0 {
            checked(&checker, "abime.ods", &copy);
        }
    }
    for len in (0..content.len()).step_by(173) {
        let _ = numfmt::ods::read(&repack(&content[..len]), &limits, 50);
    }
}

fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("zip");
    let mut parts = Vec::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).expect("member");
        let mut data = Vec::new();
        f.read_to_end(&mut data).expect("inflates");
        parts.push((f.name().expect("name").to_string(), data));
    }
    parts
}

fn member(parts: &[(String, Vec<u8>)], name: &str) -> Vec<u8> {
    parts
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, d)| d.clone())
        .unwrap_or_else(|| panic!("no {name}"))
}

/// The package again (members stored), with `name` replaced by `data`.
fn rezip(parts: &[(String, Vec<u8>)], name: &str, data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (n, d) in parts {
        w.start_file(n.as_str(), stored).expect("member");
        w.write_all(if n == name { data } else { d }).expect("written");
    }
    w.finish().expect("zip").into_inner()
}

/// The `.xlsb` number-format reader (BIFF12 records of `styles.bin`,
/// `workbook.bin` and the sheets) on damaged parts of a real file.
#[test]
fn the_xlsb_number_format_reader_survives_damaged_parts() {
    use bilan::pipeline::read::numfmt;
    let limits = bilan::pipeline::read::Limits::default();
    let checker = checker();
    let parts = unzip(&formats_fixture("xlsb"));
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    for name in ["xl/styles.bin", "xl/workbook.bin", "xl/worksheets/sheet2.bin"] {
        let part = member(&parts, name);
        for round in 0..200 {
            let copy = rezip(&parts, name, &damage(&part, &mut seed, 1 + round % 6));
            if let Some(wf) = numfmt::xlsb::read(&copy, &limits, 50) {
                assert!(wf.sheets.iter().map(|s| s.1.len()).sum::<usize>() <= 50);
            }
            if round % 25 == 0 {
                checked(&checker, "abime.xlsb", &copy);
            }
        }
        for len in (0..part.len()).step_by(37) {
            let _ = numfmt::xlsb::read(&rezip(&parts, name, &part[..len]), &limits, 50);
        }
    }
}
