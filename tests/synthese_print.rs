//! `synthese.xlsx` is printed for the programming committee: LibreOffice renders
//! the fixtures batch's synthesis to PDF, and every page is landscape, one
//! sheet is one page wide (each page starts with the header row, which holds
//! the `Fichier` column), and the whole synthesis fits in a few pages.

use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use bilan::pipeline::read::CellValue;

mod common;

/// The LibreOffice command, if installed.
fn soffice() -> Option<&'static str> {
    ["soffice", "libreoffice"].into_iter().find(|cmd| {
        Command::new(cmd)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

fn tool(name: &str) -> bool {
    Command::new(name).arg("-v").output().is_ok()
}

/// The top-level fixture workbooks, copied under `retours/` (the batch root).
fn campaign(dir: &Path) -> std::path::PathBuf {
    let root = dir.join("retours");
    std::fs::create_dir_all(&root).expect("mkdir");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    for entry in std::fs::read_dir(&fixtures).expect("fixtures").flatten() {
        let path = entry.path();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if path.is_file() && ["xlsx", "xls", "ods", "xlsm", "xlsb"].contains(&ext) {
            std::fs::copy(&path, root.join(entry.file_name())).expect("copy");
        }
    }
    root
}

#[test]
fn the_synthesis_prints_landscape_one_page_wide_with_headers_repeated() {
    let Some(soffice) = soffice() else {
        return common::skip("synthese_print", "LibreOffice (soffice) is not installed");
    };
    if !tool("pdfinfo") || !tool("pdftotext") {
        return common::skip("synthese_print", "pdfinfo/pdftotext (poppler-utils) are not installed");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let root = campaign(dir.path());
    let out = dir.path().join("controle");
    let status = Command::cargo_bin("bilan")
        .expect("binary")
        .args(["batch", "--quiet", "--no-annotated"])
        .arg(&root)
        .arg("--out")
        .arg(&out)
        .status()
        .expect("bilan runs");
    assert!(matches!(status.code(), Some(0 | 1)), "batch failed: {status}");
    let synthese = out.join("synthese.xlsx");
    assert!(synthese.is_file());

    let profile = format!("-env:UserInstallation=file://{}", dir.path().join("profil").display());
    let pdf_dir = dir.path().join("pdf");
    let conv = Command::new(soffice)
        .args([
            profile.as_str(),
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
        ])
        .arg(&pdf_dir)
        .arg(&synthese)
        .output()
        .expect("LibreOffice runs");
    assert!(conv.status.success(), "{}", String::from_utf8_lossy(&conv.stderr));
    let pdf = pdf_dir.join("synthese.pdf");
    assert!(pdf.is_file(), "no PDF: {}", String::from_utf8_lossy(&conv.stdout));

    let info = Command::new("pdfinfo").arg(&pdf).output().expect("pdfinfo");
    let info = String::from_utf8_lossy(&info.stdout);
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("page count");
    assert!((4..=40).contains(&pages), "{pages} pages:\n{info}");

    // Every page's size: landscape (wider than tall).
    let sizes = Command::new("pdfinfo")
        .args(["-f", "1", "-l"])
        .arg(pages.to_string())
        .arg(&pdf)
        .output()
        .expect("pdfinfo");
    let sizes = String::from_utf8_lossy(&sizes.stdout);
    let mut seen = 0;
    for line in sizes.lines().filter(|l| l.starts_with("Page") && l.contains("size:")) {
        let dims: Vec<f64> = line
            .split_once("size:")
            .map(|(_, r)| r)
            .unwrap_or("")
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        assert!(dims.len() >= 2 && dims[0] > dims[1], "portrait page: {line}");
        seen += 1;
    }
    assert_eq!(seen, pages, "{sizes}");

    // Every page starts with a header row: the first column's `Fichier` (or the
    // cross checks' `Règle`) is on each page, so no page holds only the
    // right-hand columns of a sheet, and headers are repeated.
    for page in 1..=pages {
        let text = Command::new("pdftotext")
            .args(["-layout", "-f", &page.to_string(), "-l", &page.to_string()])
            .arg(&pdf)
            .arg("-")
            .output()
            .expect("pdftotext");
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(
            text.contains("Fichier") && text.contains("Gravité") || text.contains("Fichier") && text.contains("Statut"),
            "page {page} has no header row:\n{text}"
        );
        assert!(!text.contains(&*root.to_string_lossy()), "absolute path on page {page}");
    }
}

/// What the committee reads in the synthesis: names relative to the batch root,
/// years and dates typed, an organisation for every template, and the same
/// totals as the terminal (cross-file findings included).
#[test]
fn the_synthesis_says_what_the_terminal_says() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = campaign(dir.path());
    let out = dir.path().join("controle");
    let run = Command::cargo_bin("bilan")
        .expect("binary")
        .env("NO_COLOR", "1")
        .args(["batch", "--no-annotated"])
        .arg(&root)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("bilan runs");
    let terminal = String::from_utf8_lossy(&run.stdout);
    let total = terminal
        .lines()
        .find(|l| l.starts_with("Total : "))
        .expect("total line")
        .to_string();
    assert!(total.contains("entre fichiers"), "cross-file findings counted: {total}");
    for english in ["error[", "warning[", "error:", "(s)"] {
        assert!(!terminal.contains(english), "{english} in\n{terminal}");
    }

    let bytes = std::fs::read(out.join("synthese.xlsx")).expect("synthese.xlsx");
    let wb = bilan::pipeline::read::read_bytes(&bytes, &bilan::pipeline::read::Limits::default()).expect("readable");
    let sheet = &wb.sheets[0];
    assert_eq!(sheet.name, "Synthèse");
    let cell = |row: u32, col: u32| sheet.get(bilan::base::model::CellRef::new(row, col));
    // Row 6 (index 5) onward: one return per row, file names relative to retours/.
    let mut rows = 0;
    let mut repartition = false;
    for row in 5..200 {
        let Some(CellValue::Text(file)) = cell(row, 0) else {
            break;
        };
        if file.starts_with("Contrôles croisés") || file.as_str() == "TOTAL" {
            break;
        }
        rows += 1;
        assert!(
            !file.contains('/') && file.ends_with(".xlsx") || file.ends_with(".ods") || file.ends_with(".xls"),
            "{file}"
        );
        if let Some(template) = cell(row, 1) {
            if template.display() == "REPARTITION-POLES" {
                repartition = true;
                assert_eq!(
                    cell(row, 2).map(|v| v.display()).as_deref(),
                    Some("—"),
                    "organisation of {file}"
                );
            }
        }
        if let Some(exercice) = cell(row, 3) {
            assert!(
                matches!(exercice, CellValue::Number(_)),
                "exercice of {file}: {exercice:?}"
            );
        }
        if let Some(cut_off) = cell(row, 4) {
            assert!(
                matches!(cut_off, CellValue::Date(_) | CellValue::Number(_)),
                "cut-off of {file}: {cut_off:?}"
            );
        }
    }
    assert!(repartition && rows > 40, "{rows} rows");
    assert!(
        terminal.contains(&format!("Total : {rows} fichiers")),
        "same number of files: {rows} in the synthesis\n{total}"
    );
    let texts: Vec<String> = sheet.cells().iter().map(|c| c.value.display()).collect();
    assert!(
        texts.contains(&total),
        "the terminal's total line is in the synthesis: {total}"
    );
    assert!(
        !texts.iter().any(|t| t.contains(&*root.to_string_lossy())),
        "no absolute path"
    );
}
