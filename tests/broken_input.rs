//! No input, however broken, makes `bilan` panic: truncated and corrupted
//! copies of a real return, and bytes that are not a workbook at all.

use bilan::check::Checker;
use bilan::rules::RulePack;
use bilan::template::TemplateSet;
use rust_xlsxwriter::Workbook;

fn checker() -> Checker {
    Checker::new(
        TemplateSet::builtin().expect("schemas"),
        RulePack::builtin().expect("rules"),
    )
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
        let r = checker.check_bytes("tronque.xlsx", &bytes[..len]);
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
        let _ = checker.check_bytes("abime.xlsx", &copy);
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
        let r = checker.check_bytes(name, &bytes);
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
