//! The corpus of bad inputs (`fixtures/corpus/`): how each file is made, and
//! the finding it must produce. Small files are committed (regenerate them with
//! `BILAN_REGEN_CORPUS=1 cargo test --test corpus`); large ones are generated
//! into a temporary folder by the test, never committed.

#![allow(dead_code)]

pub mod deflate;
pub mod package;

use std::path::{Path, PathBuf};

use bilan::sheetgen::{write_xlsx, WorkbookSpec};
use serde_json::{json, Value};

use deflate::{crc32_zeros, Fixed};
use package::{compound_file, edit, repack, sheet_head, skeleton, unpack, zip, Member, SHEET_TAIL};

/// How a corpus file comes to exist.
pub enum Source {
    /// Committed under `fixtures/corpus/`; the function gives its bytes.
    Committed(fn() -> Vec<u8>),
    /// Written by the test into a temporary folder (too large to commit).
    Generated(fn() -> Vec<u8>),
    /// A directory passed as FILE.
    Directory,
    /// A named pipe (FIFO) passed as FILE.
    Fifo,
}

/// One corpus file and what `bilan check` must say about it.
pub struct Case {
    pub file: &'static str,
    pub source: Source,
    /// The rule of the finding it must produce.
    pub rule: &'static str,
    /// Words a finding of that rule must contain (each: in one of them).
    pub gist: &'static [&'static str],
    /// Time for `bilan check` on this file, seconds: its `--timeout` in the
    /// test (at least 30), printed against the time it took, not asserted.
    pub budget: u64,
    /// How it was made (for `fixtures/corpus/README.md`).
    pub made: &'static str,
    /// A known problem that keeps this file out of the tests for now (run it
    /// with `BILAN_CORPUS_KNOWN=1`).
    pub known_issue: Option<&'static str>,
}

pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join("corpus")
}

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const ITRANS: &str = "pole-itrans-cout-total-different-des-financeurs";
/// The `Financements` sheet of the I-TRANS return.
const FIN: &str = "xl/worksheets/sheet4.xml";

/// The members of the I-TRANS return (a valid BILAN-POLE return whose costs do
/// not add up: five POLE-FIN-001).
fn itrans() -> Vec<(String, Vec<u8>)> {
    unpack(&fixture(&format!("{ITRANS}.xlsx")))
}

/// The I-TRANS description (`fixtures/src/…json`), to be edited.
fn itrans_spec() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/src")
        .join(format!("{ITRANS}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("description")).expect("JSON")
}

fn write_spec(spec: Value) -> Vec<u8> {
    let spec: WorkbookSpec = serde_json::from_value(spec).expect("a WorkbookSpec");
    write_xlsx(&spec).expect("writes")
}

/// The rows of the block at `at` in sheet `sheet`.
fn rows<'a>(spec: &'a mut Value, sheet: &str, at: &str) -> &'a mut Vec<Value> {
    let sheet = spec["sheets"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|s| s["name"] == sheet)
        .expect("sheet");
    let block = sheet["blocks"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|b| b["at"] == at)
        .expect("block");
    block["rows"].as_array_mut().unwrap()
}

// ---------------------------------------------------------------------------
// Committed files.

fn empty() -> Vec<u8> {
    Vec::new()
}

fn empty_sheet() -> Vec<u8> {
    let mut m = itrans();
    m.iter_mut().find(|(n, _)| n == FIN).unwrap().1.clear();
    repack(&m)
}

fn truncated_zip() -> Vec<u8> {
    let bytes = fixture(&format!("{ITRANS}.xlsx"));
    bytes[..bytes.len() * 6 / 10].to_vec()
}

fn huge_dimension() -> Vec<u8> {
    let mut m = itrans();
    edit(
        &mut m,
        FIN,
        r#"<dimension ref="A1:G8"/>"#,
        r#"<dimension ref="A1:XFD1048576"/>"#,
    );
    edit(
        &mut m,
        FIN,
        "</sheetData>",
        r#"<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>fin</t></is></c></row></sheetData>"#,
    );
    repack(&m)
}

fn deep_xml() -> Vec<u8> {
    let members = itrans();
    let mut out = Vec::new();
    for (name, data) in &members {
        if name != FIN {
            out.push(Member::xml(name, data));
            continue;
        }
        // After the table: elements nested a million deep, inside <sheetData>.
        let text = std::str::from_utf8(data).expect("UTF-8");
        let (before, after) = text.split_once("</sheetData>").expect("sheetData");
        let mut sheet = Fixed::new();
        sheet.literals(before.as_bytes());
        sheet.repeat(b"<x>", 1_000_000);
        sheet.repeat(b"</x>", 1_000_000);
        sheet.literals(b"</sheetData>");
        sheet.literals(after.as_bytes());
        let (stream, crc, len) = sheet.finish();
        out.push(Member::deflated(name, stream, crc, len));
    }
    zip(&out)
}

fn merges_and_far_cell() -> Vec<u8> {
    let mut m = itrans();
    let merges: String = (100..2100)
        .map(|r| format!(r#"<mergeCell ref="H{r}:I{r}"/>"#))
        .collect();
    edit(
        &mut m,
        FIN,
        r#"<dimension ref="A1:G8"/>"#,
        r#"<dimension ref="A1:I1048576"/>"#,
    );
    edit(
        &mut m,
        FIN,
        "</sheetData>",
        &format!(
            r#"<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>fin</t></is></c></row></sheetData><mergeCells count="2000">{merges}</mergeCells>"#
        ),
    );
    repack(&m)
}

fn malformed_xml() -> Vec<u8> {
    let mut m = itrans();
    // An attribute value that never ends.
    edit(
        &mut m,
        FIN,
        r#"<c r="B5"><v>17281007</v></c>"#,
        r#"<c r="B5><v>17281007</v></c>"#,
    );
    repack(&m)
}

fn invalid_utf8() -> Vec<u8> {
    let mut m = itrans();
    let strings = m.iter_mut().find(|(n, _)| n == "xl/sharedStrings.xml").unwrap();
    let at = strings
        .1
        .windows(7)
        .position(|w| w == b"I-TRANS")
        .expect("the pole's name");
    // "I-TR\xFF\xFEANS": two bytes that are never valid in UTF-8.
    strings.1.splice(at + 4..at + 4, [0xFF, 0xFE]);
    repack(&m)
}

fn encrypted() -> Vec<u8> {
    // EncryptionInfo of the "agile" kind (version 4.4) with its XML descriptor;
    // the key material is made up: no password opens this file.
    let mut info = vec![4, 0, 4, 0, 0x40, 0, 0, 0];
    info.extend_from_slice(
        br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<encryption xmlns="http://schemas.microsoft.com/office/2006/encryption" xmlns:p="http://schemas.microsoft.com/office/2006/keyEncryptor/password"><keyData saltSize="16" blockSize="16" keyBits="256" hashSize="64" cipherAlgorithm="AES" cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512" saltValue="AAECAwQFBgcICQoLDA0ODw=="/><keyEncryptors><keyEncryptor uri="http://schemas.microsoft.com/office/2006/keyEncryptor/password"><p:encryptedKey spinCount="100000" saltSize="16" blockSize="16" keyBits="256" hashSize="64" cipherAlgorithm="AES" cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512" saltValue="EBESExQVFhcYGRobHB0eHw==" encryptedVerifierHashInput="ICEiIyQlJicoKSorLC0uLw==" encryptedVerifierHashValue="MDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5f" encryptedKeyValue="YGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn8="/></keyEncryptor></keyEncryptors></encryption>"#,
    );
    // EncryptedPackage: the plain package's size, then "ciphertext".
    let mut package = 8_647u64.to_le_bytes().to_vec();
    let mut x: u32 = 0x2545_F491;
    while package.len() < 8 + 8_656 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        package.push(x as u8);
    }
    compound_file(&info, &package)
}

fn xls_renamed() -> Vec<u8> {
    fixture(&format!("{ITRANS}.xls"))
}

fn csv_renamed() -> Vec<u8> {
    "Année;Coût total (€);Etat (€);Région (€);EPCI (€);Europe (€);Privé (€)\r\n\
     2005;17081618;3787672;1152599;1241166;-;9851585\r\n\
     2006;17281007;5966782;340150;43900;-;10526233\r\n"
        .as_bytes()
        .to_vec()
}

fn external_links() -> Vec<u8> {
    let mut m = itrans();
    edit(
        &mut m,
        "[Content_Types].xml",
        "</Types>",
        r#"<Override PartName="/xl/externalLinks/externalLink1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml"/></Types>"#,
    );
    edit(
        &mut m,
        "xl/_rels/workbook.xml.rels",
        "</Relationships>",
        r#"<Relationship Id="rId8" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/externalLink" Target="externalLinks/externalLink1.xml"/></Relationships>"#,
    );
    edit(
        &mut m,
        "xl/workbook.xml",
        "</sheets>",
        r#"</sheets><externalReferences><externalReference r:id="rId8"/></externalReferences>"#,
    );
    // Two financers come from another workbook (with their cached values).
    edit(
        &mut m,
        FIN,
        r#"<c r="C4"><v>3787672</v></c>"#,
        r#"<c r="C4"><f>[1]Financements!C4</f><v>3787672</v></c>"#,
    );
    edit(
        &mut m,
        FIN,
        r#"<c r="D4"><v>1152599</v></c>"#,
        r#"<c r="D4"><f>[1]Financements!D4</f><v>1152599</v></c>"#,
    );
    m.push((
        "xl/externalLinks/externalLink1.xml".into(),
        br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><externalBook r:id="rId1"><sheetNames><sheetName val="Financements"/></sheetNames><sheetDataSet><sheetData sheetId="0"><row r="4"><cell r="C4"><v>3787672</v></cell><cell r="D4"><v>1152599</v></cell></row></sheetData></sheetDataSet></externalBook></externalLink>"#
            .to_vec(),
    ));
    m.push((
        "xl/externalLinks/_rels/externalLink1.xml.rels".into(),
        br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/externalLinkPath" Target="file:///C:/Users/pole/Documents/budget-2009.xlsx" TargetMode="External"/></Relationships>"#
            .to_vec(),
    ));
    repack(&m)
}

fn macros() -> Vec<u8> {
    let mut m = itrans();
    edit(
        &mut m,
        "[Content_Types].xml",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    );
    edit(
        &mut m,
        "[Content_Types].xml",
        "</Types>",
        r#"<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>"#,
    );
    edit(
        &mut m,
        "xl/_rels/workbook.xml.rels",
        "</Relationships>",
        r#"<Relationship Id="rId8" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="vbaProject.bin"/></Relationships>"#,
    );
    // Any bytes: a compound-file signature, then a macro's source.
    let mut vba = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    vba.extend_from_slice(
        b"Attribute VB_Name = \"Module1\"\r\nSub Auto_Open()\r\n    Shell \"calc.exe\"\r\nEnd Sub\r\n",
    );
    m.push(("xl/vbaProject.bin".into(), vba));
    repack(&m)
}

fn formulas_without_values() -> Vec<u8> {
    let mut spec = itrans_spec();
    for (i, row) in rows(&mut spec, "Financements", "A3").iter_mut().enumerate().skip(1) {
        let r = i + 3;
        row[1] = json!({"formula": format!("=SUM(C{r}:G{r})")});
    }
    rows(&mut spec, "Indicateurs", "A3")[0][1] = json!({"formula": "=B4+B5"});
    write_spec(spec)
}

fn ref_everywhere() -> Vec<u8> {
    let mut spec = itrans_spec();
    let mut n = 0;
    for sheet in spec["sheets"].as_array_mut().unwrap() {
        for block in sheet["blocks"].as_array_mut().unwrap() {
            for row in block["rows"].as_array_mut().unwrap() {
                for cell in row.as_array_mut().unwrap() {
                    if cell.is_number() {
                        // Alternately an error value and a formula whose result is #REF!.
                        *cell = if n % 2 == 0 {
                            json!({"error": "#REF!"})
                        } else {
                            json!({"formula": "=#REF!+1", "value": "#REF!"})
                        };
                        n += 1;
                    }
                }
            }
        }
    }
    write_spec(spec)
}

fn sheet_names() -> Vec<u8> {
    let mut spec = itrans_spec();
    let sheets = spec["sheets"].as_array_mut().unwrap();
    for (name, text) in [
        ("L'année « 2009 »", "Notes de l'année"),
        ("数据", "数据表"),
        ("Финансы", "Финансирование"),
    ] {
        sheets.push(json!({"name": name, "blocks": [{"at": "A1", "rows": [[text, 1]]}]}));
    }
    write_spec(spec)
}

// ---------------------------------------------------------------------------
// Generated files.

/// 2 064 000 001 zeros in one sheet, in about 2 MB.
const BOMB_RUNS: u64 = 8_000_000;

fn bomb(declared: Option<u64>) -> Vec<u8> {
    let (stream, len) = deflate::zeros(BOMB_RUNS);
    let mut members = skeleton(&["Feuil1"], false);
    let mut sheet = Member::deflated("xl/worksheets/sheet1.xml", stream, crc32_zeros(len), len);
    if let Some(d) = declared {
        sheet.declared = d;
    }
    members.push(sheet);
    zip(&members)
}

fn bomb_honest() -> Vec<u8> {
    bomb(None)
}

fn bomb_lying() -> Vec<u8> {
    bomb(Some(2_000))
}

/// Every row of a sheet (1 048 576) with 5 numbers: 5 242 880 cells, above
/// the default cap of 5 000 000. The cells have no `r` attribute (some writers
/// omit it), so consecutive rows differ only by their number.
fn million_rows() -> Vec<u8> {
    let mut sheet = Fixed::new();
    sheet.literals(sheet_head("A1:E1048576").as_bytes());
    let mut prev: Option<Vec<u8>> = None;
    for r in 1..=1_048_576u32 {
        let row = format!(
            r#"<row r="{r}"><c><v>1</v></c><c><v>2</v></c><c><v>3</v></c><c><v>4</v></c><c><v>5</v></c></row>"#
        );
        sheet.like(prev.as_deref(), row.as_bytes());
        prev = Some(row.into_bytes());
    }
    sheet.literals(SHEET_TAIL.as_bytes());
    let (stream, crc, len) = sheet.finish();
    let mut members = skeleton(&["Feuil1"], false);
    members.push(Member::deflated("xl/worksheets/sheet1.xml", stream, crc, len));
    zip(&members)
}

/// The I-TRANS return whose `Financements` sheet (`FIN`) holds `extra` more
/// rows after its own, from row `first` on, each made by `row(r)`; the sheet is
/// compressed by hand (each row a copy of the previous with its differences),
/// the other parts kept as they are.
fn itrans_with_rows(first: u32, extra: u32, row: &dyn Fn(u32) -> String) -> Vec<u8> {
    let members = itrans();
    let sheet = members
        .iter()
        .find(|(n, _)| n == FIN)
        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
        .expect("Financements");
    let (head, tail) = sheet.split_at(sheet.find("</sheetData>").expect("sheetData"));
    let last = first + extra - 1;
    let head = head.replace(
        r#"<dimension ref="A1:G8"/>"#,
        &format!(r#"<dimension ref="A1:G{last}"/>"#),
    );
    let mut fixed = Fixed::new();
    fixed.literals(head.as_bytes());
    let mut prev: Option<Vec<u8>> = None;
    for r in first..=last {
        let text = row(r);
        fixed.like(prev.as_deref(), text.as_bytes());
        prev = Some(text.into_bytes());
    }
    fixed.literals(tail.as_bytes());
    let (stream, crc, len) = fixed.finish();
    let mut out: Vec<Member> = members
        .iter()
        .filter(|(n, _)| n != FIN)
        .map(|(n, b)| Member::stored(n, b.clone()))
        .collect();
    out.push(Member::deflated(FIN, stream, crc, len));
    zip(&out)
}

/// The generated files too large for the default memory limit of a check, and
/// the finding each gets when the limit is raised.
pub fn large_legal() -> Vec<(fn() -> Vec<u8>, &'static str, &'static str, &'static str)> {
    vec![(
        hundred_thousand_rows,
        "cent-mille-lignes-de-financement.xlsx",
        "BILAN-RULE-001",
        "limite d'opérations atteinte",
    )]
}

/// 4 000 000 cells inside every limit: the I-TRANS return with 800 000 rows of
/// five distinct numbers below its financing table, after a blank row (so the
/// table itself stays as submitted).
fn four_million_cells() -> Vec<u8> {
    itrans_with_rows(10, 800_000, &|r| {
        format!(
            r#"<row r="{r}"><c r="A{r}"><v>{r}</v></c><c r="B{r}"><v>{}</v></c><c r="C{r}"><v>{}</v></c><c r="D{r}"><v>{}</v></c><c r="E{r}"><v>{}</v></c></row>"#,
            r * 3,
            r % 977,
            r / 7,
            r + 12_345
        )
    })
}

/// A financing table of 100 000 rows: the I-TRANS table's 2005 row repeated,
/// each row's cost different from the sum of its financers.
fn hundred_thousand_rows() -> Vec<u8> {
    itrans_with_rows(9, 100_000, &|r| {
        format!(
            r#"<row r="{r}"><c r="A{r}"><v>2005</v></c><c r="B{r}"><v>17081618</v></c><c r="C{r}"><v>3787672</v></c><c r="D{r}"><v>1152599</v></c><c r="E{r}"><v>1241166</v></c><c r="F{r}"><v>0</v></c><c r="G{r}"><v>9851585</v></c></row>"#
        )
    })
}

/// 100 MB of shared strings: one million entries of 100 bytes.
fn shared_strings_100mb() -> Vec<u8> {
    let mut unit = "<si><t>Libellé répété pour grossir la table des chaînes partagées".to_string();
    while unit.len() < 100 - "</t></si>".len() {
        unit.push('.');
    }
    unit.push_str("</t></si>");
    assert_eq!(unit.len(), 100);
    let mut sst = Fixed::new();
    sst.literals(
        format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="{}" count="1000000" uniqueCount="1000000">"#,
            package::MAIN_NS
        )
        .as_bytes(),
    );
    sst.repeat(unit.as_bytes(), 1_000_000);
    sst.literals(b"</sst>");
    let (stream, crc, len) = sst.finish();
    let mut members = skeleton(&["Feuil1"], true);
    members.push(Member::xml(
        "xl/worksheets/sheet1.xml",
        format!(
            r#"{}<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>999999</v></c></row>{SHEET_TAIL}"#,
            sheet_head("A1:B1")
        ),
    ));
    members.push(Member::deflated("xl/sharedStrings.xml", stream, crc, len));
    zip(&members)
}

/// Every corpus file, in the order of the README.
pub fn cases() -> Vec<Case> {
    use Source::*;
    vec![
        Case {
            file: "vide.xlsx",
            source: Committed(empty),
            rule: "BILAN-IO-001",
            gist: &["vide (0 octet)"],
            budget: 10,
            known_issue: None,
            made: "a file of 0 bytes",
        },
        Case {
            file: "feuille-vide.xlsx",
            source: Committed(empty_sheet),
            rule: "BILAN-IO-001",
            gist: &["Financements"],
            budget: 10,
            known_issue: None,
            made: "the I-TRANS return with its `Financements` sheet part (`xl/worksheets/sheet4.xml`) emptied to 0 bytes",
        },
        Case {
            file: "zip-tronque.xlsx",
            source: Committed(truncated_zip),
            rule: "BILAN-IO-001",
            gist: &["tronquée"],
            budget: 10,
            known_issue: None,
            made: "the first 60 % of the I-TRANS return's bytes (no central directory)",
        },
        Case {
            file: "dimension-a1-xfd1048576.xlsx",
            source: Committed(huge_dimension),
            rule: "POLE-FIN-001",
            gist: &["Coût total"],
            budget: 10,
            known_issue: None,
            made: "the I-TRANS return whose `Financements` sheet declares `<dimension ref=\"A1:XFD1048576\"/>` and holds a cell at XFD1048576 (calamine's `worksheet_range` would ask for 512 GB)",
        },
        Case {
            file: "xml-profond.xlsx",
            source: Committed(deep_xml),
            rule: "POLE-FIN-001",
            gist: &["Coût total"],
            budget: 30,
            known_issue: None,
            made: "the I-TRANS return whose `Financements` sheet holds, after its rows, elements nested a million deep (7 MB of XML, hand-made DEFLATE): ignored, the table is read",
        },
        Case {
            file: "xml-mal-forme.xlsx",
            source: Committed(malformed_xml),
            rule: "BILAN-IO-001",
            gist: &["Financements"],
            budget: 10,
            known_issue: None,
            made: "the I-TRANS return with an unterminated attribute value in `Financements` (`<c r=\"B5><v>…`)",
        },
        Case {
            file: "utf8-invalide.xlsx",
            source: Committed(invalid_utf8),
            rule: "BILAN-IO-001",
            gist: &["UTF-8"],
            budget: 10,
            known_issue: None,
            made: "the I-TRANS return with bytes FF FE inserted in the shared string `I-TRANS`",
        },
        Case {
            file: "chiffre.xlsx",
            source: Committed(encrypted),
            rule: "BILAN-IO-001",
            gist: &["mot de passe"],
            budget: 10,
            known_issue: None,
            made: "a hand-made OLE compound file with the `EncryptionInfo` (agile, 4.4) and `EncryptedPackage` streams of a password-protected workbook",
        },
        Case {
            file: "xls-renomme.xlsx",
            source: Committed(xls_renamed),
            rule: "POLE-FIN-001",
            gist: &["Coût total"],
            budget: 10,
            known_issue: None,
            made: "a copy of `fixtures/pole-itrans-cout-total-different-des-financeurs.xls` (Excel 97-2003) named `.xlsx`: read as `.xls` from its content",
        },
        Case {
            file: "csv-renomme.xlsx",
            source: Committed(csv_renamed),
            rule: "BILAN-IO-001",
            gist: &["CSV"],
            budget: 10,
            known_issue: None,
            made: "a few lines of `;`-separated text named `.xlsx`",
        },
        Case {
            file: "liens-externes.xlsx",
            source: Committed(external_links),
            rule: "POLE-FIN-001",
            gist: &["Coût total"],
            budget: 10,
            known_issue: None,
            made: "the I-TRANS return with `xl/externalLinks/externalLink1.xml` (to `file:///C:/Users/pole/Documents/budget-2009.xlsx`) and two financers given by `[1]Financements!C4` formulas with cached values",
        },
        Case {
            file: "macros.xlsm",
            source: Committed(macros),
            rule: "POLE-FIN-001",
            gist: &["Coût total"],
            budget: 10,
            known_issue: None,
            made: "the I-TRANS return made macro-enabled: `xl/vbaProject.bin` (a few bytes), its relationship and content type",
        },
        Case {
            file: "formules-sans-valeur.xlsx",
            source: Committed(formulas_without_values),
            rule: "BILAN-CELL-001",
            gist: &["formule sans valeur"],
            budget: 10,
            known_issue: None,
            made: "the I-TRANS description with each year's `Coût total` as `=SUM(Cn:Gn)` saved without a cached value (sheetgen)",
        },
        Case {
            file: "ref-partout.xlsx",
            source: Committed(ref_everywhere),
            rule: "BILAN-CELL-001",
            gist: &["#REF!"],
            budget: 10,
            known_issue: None,
            made: "the I-TRANS description with every number replaced by `#REF!` (half error values, half `=#REF!+1` formulas whose result is `#REF!`)",
        },
        Case {
            file: "noms-de-feuilles.xlsx",
            source: Committed(sheet_names),
            rule: "BILAN-TPL-005",
            gist: &["L'année « 2009 »", "数据", "Финансы"],
            budget: 10,
            known_issue: None,
            made: "the I-TRANS description plus three sheets named `L'année « 2009 »`, `数据` and `Финансы`",
        },
        Case {
            file: "bombe-zip-tailles-honnetes.xlsx",
            source: Generated(bomb_honest),
            rule: "BILAN-IO-002",
            gist: &["taille décompressée"],
            budget: 10,
            known_issue: None,
            made: "generated: a sheet of 2 064 000 001 zero bytes in about 2 MB (one hand-made DEFLATE block, 2 bits per 258 zeros); the zip declares the true sizes and CRC",
        },
        Case {
            file: "bombe-zip-tailles-mensongeres.xlsx",
            source: Generated(bomb_lying),
            rule: "BILAN-IO-001",
            gist: &["endommagé", "declared"],
            budget: 10,
            known_issue: None,
            made: "generated: the same 2 GB sheet, but the zip declares 2 000 bytes uncompressed",
        },
        Case {
            file: "un-million-de-lignes.xlsx",
            source: Generated(million_rows),
            rule: "BILAN-IO-002",
            gist: &["hors limite"],
            budget: 35,
            known_issue: None,
            made: "generated: all 1 048 576 rows of a sheet, 5 numbers each (cells without `r`, as some writers do): 5 242 880 cells, over the 5 000 000 cap",
        },
        Case {
            file: "quatre-millions-de-cellules.xlsx",
            source: Generated(four_million_cells),
            rule: "BILAN-IO-002",
            gist: &["--max-memory"],
            budget: 60,
            known_issue: None,
            made: "generated: the I-TRANS return with 800 000 rows of five numbers below its financing table (4 000 000 cells, inside every reading limit): stopped by the default memory limit of its check (512 MB); with --max-memory raised it gets its findings (see `large_legal_files_get_their_findings_with_more_memory`)",
        },
        Case {
            file: "cent-mille-lignes-de-financement.xlsx",
            source: Generated(hundred_thousand_rows),
            rule: "BILAN-IO-002",
            gist: &["--max-memory"],
            budget: 60,
            known_issue: None,
            made: "generated: the I-TRANS financing table with 100 000 rows, each with a cost different from the sum of its financers: stopped by the default memory limit (512 MB) at the rules; with --max-memory raised, the table rules reach their operations limit (BILAN-RULE-001, the same on every machine)",
        },
        Case {
            file: "chaines-partagees-100-mo.xlsx",
            source: Generated(shared_strings_100mb),
            rule: "BILAN-IO-002",
            gist: &["chaînes partagées"],
            budget: 10,
            known_issue: None,
            made: "generated: `xl/sharedStrings.xml` of 100 000 171 bytes (a million 100-byte entries) in about 0.9 MB, true sizes declared",
        },
        Case {
            file: "dossier.xlsx",
            source: Directory,
            rule: "BILAN-IO-001",
            gist: &["pas un fichier ordinaire"],
            budget: 10,
            known_issue: None,
            made: "created by the test: a directory",
        },
        Case {
            file: "tube.xlsx",
            source: Fifo,
            rule: "BILAN-IO-001",
            gist: &["pas un fichier ordinaire"],
            budget: 10,
            known_issue: None,
            made: "created by the test: a named pipe (`mkfifo`), with nobody writing to it",
        },
        Case {
            file: "fusions-et-cellule-lointaine.xlsx",
            source: Committed(merges_and_far_cell),
            rule: "POLE-FIN-001",
            gist: &["Coût total"],
            budget: 10,
            made: "the I-TRANS return with 2 000 merged ranges (H100:I100 … H2099:I2099) and a cell at A1048576 in `Financements`",
            known_issue: None,
        },
    ]
}

/// Writes the generated files, the directory and the pipe into `dir` and
/// returns every case with the path to pass to `bilan`.
pub fn materialise(dir: &Path) -> Vec<(Case, PathBuf)> {
    std::fs::create_dir_all(dir).expect("dir");
    cases()
        .into_iter()
        .map(|case| {
            let path = match &case.source {
                Source::Committed(_) => corpus_dir().join(case.file),
                Source::Generated(make) => {
                    let p = dir.join(case.file);
                    std::fs::write(&p, make()).expect("written");
                    p
                }
                Source::Directory => {
                    let p = dir.join(case.file);
                    std::fs::create_dir_all(&p).expect("dir");
                    p
                }
                Source::Fifo => {
                    let p = dir.join(case.file);
                    let c = std::ffi::CString::new(p.to_str().expect("UTF-8 path")).unwrap();
                    let _ = std::fs::remove_file(&p);
                    // SAFETY: a valid, NUL-terminated path.
                    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
                    assert_eq!(rc, 0, "mkfifo {}", p.display());
                    p
                }
            };
            (case, path)
        })
        .collect()
}
