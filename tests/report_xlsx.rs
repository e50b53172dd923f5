//! The annotated workbook (`.controle.xlsx`), read back two ways: its values with
//! calamine, and its package (notes, fills, hyperlinks, formulas) as XML.

mod common;

use common::{checker, fixture};

use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use assert_cmd::cargo::CommandCargoExt;
use bilan::base::model::{CellRange, CellRef};
use bilan::finding::{Finding, Severity};
use bilan::job::Checker;
use bilan::pipeline::check::FileReport;
use bilan::pipeline::read::{read_bytes, Cell, CellValue, Format as InputFormat, Limits, Sheet, Workbook};
use bilan::report::xlsx::write_report;
use calamine::{Data, Reader, Xlsx};

fn checked_at() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-11-26T10:00:00Z")
        .expect("date")
        .with_timezone(&chrono::Utc)
}

/// Every fixture workbook (`.xlsx`, `.xls`, `.ods`).
fn fixtures() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures"))
        .expect("fixtures folder")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".xlsx") || n.ends_with(".xls") || n.ends_with(".ods"))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no fixtures");
    names
}

fn check(c: &Checker, name: &str) -> FileReport {
    let mut r = c.check_path(&fixture(name));
    r.path = name.to_string();
    r
}

fn report_bytes(c: &Checker, r: &FileReport) -> Vec<u8> {
    write_report(r, &c.rules, checked_at()).expect("report written")
}

/// The package's parts, by name.
fn parts(bytes: &[u8]) -> HashMap<String, String> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip");
    let mut out = HashMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).expect("entry");
        let mut s = String::new();
        if f.read_to_string(&mut s).is_ok() {
            out.insert(f.name().map(|n| n.to_string()).unwrap_or_default(), s);
        }
    }
    out
}

/// Values of `attr` in every `<tag …>` of `xml`, in order, with the tag's text.
fn tags<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        if !after.starts_with([' ', '>', '/']) {
            rest = after;
            continue;
        }
        let end = after.find('>').map_or(after.len(), |e| e + 1);
        out.push(&rest[i..i + open.len() + end]);
        rest = &after[end..];
    }
    out
}

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let i = tag.find(&key)? + key.len();
    let end = tag[i..].find('"')?;
    Some(&tag[i..i + end])
}

/// What the package says about one reproduced sheet.
struct SheetXml {
    xml: String,
    /// Cell address → text of its note.
    notes: HashMap<String, String>,
}

/// The XML of the report's sheet named `name`, and its notes.
fn sheet_xml(p: &HashMap<String, String>, name: &str) -> SheetXml {
    let workbook = &p["xl/workbook.xml"];
    let rels = &p["xl/_rels/workbook.xml.rels"];
    let escaped = name
        .replace('&', "&amp;")
        .replace('\'', "&apos;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let sheet = tags(workbook, "sheet")
        .into_iter()
        .find(|t| attr(t, "name") == Some(&escaped) || attr(t, "name") == Some(name))
        .unwrap_or_else(|| panic!("sheet {name} in the report"));
    let id = attr(sheet, "r:id").expect("r:id");
    let target = tags(rels, "Relationship")
        .into_iter()
        .find(|t| attr(t, "Id") == Some(id))
        .and_then(|t| attr(t, "Target"))
        .expect("target");
    let path = format!("xl/{}", target.trim_start_matches("/xl/"));
    let xml = p[&path].clone();
    let file = path.rsplit('/').next().unwrap();
    let mut notes = HashMap::new();
    if let Some(sheet_rels) = p.get(&format!("xl/worksheets/_rels/{file}.rels")) {
        for t in tags(sheet_rels, "Relationship") {
            if attr(t, "Type").is_some_and(|ty| ty.ends_with("/comments")) {
                let c = attr(t, "Target").unwrap();
                let comments = &p[&format!("xl/{}", c.trim_start_matches("../").trim_start_matches("/xl/"))];
                for block in comments.split("<comment ").skip(1) {
                    let r = attr(&format!(" {block}"), "ref").unwrap().to_string();
                    let text: String = block
                        .split("<t")
                        .skip(1)
                        .filter(|t| t.starts_with(['>', ' ']))
                        .filter_map(|t| t.split_once('>').map(|(_, v)| v.split("</t>").next().unwrap_or("")))
                        .collect();
                    notes.insert(r, text);
                }
            }
        }
    }
    SheetXml { xml, notes }
}

/// The style index (`s`) of a cell in a sheet's XML.
fn style_index(sheet: &str, cell: &str) -> Option<usize> {
    let needle = format!("<c r=\"{cell}\"");
    let i = sheet.find(&needle)?;
    let tag = &sheet[i..i + sheet[i..].find('>')?];
    attr(tag, "s").and_then(|s| s.parse().ok()).or(Some(0))
}

/// The solid fill colour (`FFRRGGBB`) and left border style of a style index.
fn fill_and_border(styles: &str, index: usize) -> (Option<String>, Option<String>) {
    let xfs_section = styles
        .split("<cellXfs")
        .nth(1)
        .unwrap()
        .split("</cellXfs>")
        .next()
        .unwrap();
    let xf = tags(xfs_section, "xf")[index];
    let fill_id: usize = attr(xf, "fillId").unwrap().parse().unwrap();
    let border_id: usize = attr(xf, "borderId").unwrap().parse().unwrap();
    let fills = styles.split("<fills").nth(1).unwrap().split("</fills>").next().unwrap();
    let fill = fills.split("<fill>").nth(fill_id + 1).unwrap_or("");
    let color = tags(fill, "fgColor")
        .first()
        .and_then(|t| attr(t, "rgb"))
        .map(str::to_string);
    let borders = styles
        .split("<borders")
        .nth(1)
        .unwrap()
        .split("</borders>")
        .next()
        .unwrap();
    let borders = borders.split_once('>').map_or("", |(_, b)| b);
    let border = borders
        .split("<border")
        .filter(|b| b.starts_with('>') || b.starts_with(' '))
        .nth(border_id)
        .unwrap_or("");
    let left = tags(border, "left")
        .first()
        .and_then(|t| attr(t, "style"))
        .map(str::to_string);
    (color, left)
}

fn expected_value(v: &CellValue) -> CellValue {
    match v {
        CellValue::FormulaWithoutValue(f) => CellValue::Text(format!("={f}")),
        CellValue::Error(e) => CellValue::Text(e.clone()),
        other => other.clone(),
    }
}

#[test]
fn every_submitted_value_is_reproduced_at_its_address() {
    let c = checker();
    for name in fixtures() {
        let r = check(&c, &name);
        let bytes = report_bytes(&c, &r);
        let back = read_bytes(&bytes, &Limits::default()).unwrap_or_else(|e| panic!("{name}: report unreadable: {e}"));
        let Some(wb) = &r.workbook else {
            assert_eq!(back.sheets.len(), 2, "{name}");
            continue;
        };
        let names: Vec<&str> = back.sheets.iter().map(|s| s.name.as_str()).collect();
        let mut expected = vec!["Synthèse", "Constats"];
        expected.extend(wb.sheets.iter().map(|s| s.name.as_str()));
        assert_eq!(names, expected, "{name}: sheets and their order");
        for (original, copy) in wb.sheets.iter().zip(&back.sheets[2..]) {
            for cell in original.cells() {
                assert_eq!(
                    copy.get(cell.pos).cloned(),
                    Some(expected_value(&cell.value)),
                    "{name} › {}!{}",
                    original.name,
                    cell.pos
                );
            }
            // Nothing added but blanks.
            for cell in copy.cells() {
                if original.get(cell.pos).is_none() {
                    assert!(
                        cell.value.is_blank(),
                        "{name} › {}!{}: {:?} added",
                        original.name,
                        cell.pos,
                        cell.value
                    );
                }
            }
            assert_eq!(
                copy.merges.len(),
                original.merges.len(),
                "{name} › {}: merged ranges",
                original.name
            );
        }
    }
}

#[test]
fn values_keep_their_types() {
    let c = checker();
    for name in [
        "pole-itrans-cout-total-different-des-financeurs.xlsx",
        "pole-itrans-cout-total-different-des-financeurs.xls",
        "pole-itrans-cout-total-different-des-financeurs.ods",
    ] {
        let r = check(&c, name);
        let bytes = report_bytes(&c, &r);
        let mut xlsx: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).expect("report opens");
        let id = xlsx.worksheet_range("Identification").expect("Identification");
        let cut_off = id.get_value((4, 1)).expect("B5");
        assert!(
            matches!(cut_off, Data::DateTime(d) if d.to_ymd_hms_milli().0 == 2010 && d.to_ymd_hms_milli().1 == 3 && d.to_ymd_hms_milli().2 == 31),
            "{name}: {cut_off:?}"
        );
        assert_eq!(id.get_value((6, 1)), Some(&Data::String("I-TRANS".into())), "{name}");
        let fin = xlsx.worksheet_range("Financements").expect("Financements");
        assert!(
            matches!(fin.get_value((3, 1)), Some(Data::Float(x)) if *x == 17_081_618.0),
            "{name}: {:?}",
            fin.get_value((3, 1))
        );
        let cons = xlsx.worksheet_range("Constats").expect("Constats");
        assert!(
            matches!(cons.get_value((1, 6)), Some(Data::Float(x)) if *x == 16_033_022.0),
            "{name}: expected figure is a number"
        );
    }
}

#[test]
fn every_finding_with_a_cell_has_a_note_and_a_fill_on_that_cell() {
    let c = checker();
    let mut checked = 0;
    for name in fixtures() {
        let r = check(&c, &name);
        let Some(wb) = &r.workbook else { continue };
        let bytes = report_bytes(&c, &r);
        let p = parts(&bytes);
        let styles = &p["xl/styles.xml"];
        for sheet in &wb.sheets {
            let on_sheet: Vec<&Finding> = r
                .findings
                .iter()
                .filter(|f| f.sheet.as_ref() == Some(&sheet.name) && f.cell.is_some())
                .collect();
            if on_sheet.is_empty() {
                continue;
            }
            let x = sheet_xml(&p, &sheet.name);
            for f in &on_sheet {
                let cell = f.cell.unwrap().to_string();
                let note = x
                    .notes
                    .get(&cell)
                    .unwrap_or_else(|| panic!("{name} › {}!{cell}: no note ({f:?})", sheet.name));
                assert!(
                    note.contains(f.rule.as_str()),
                    "{name} › {cell}: note without {}: {note}",
                    f.rule
                );
                let index = style_index(&x.xml, &cell).unwrap_or_else(|| panic!("{name} › {cell}: cell not written"));
                let worst = on_sheet
                    .iter()
                    .filter(|g| g.cell == f.cell)
                    .map(|g| g.severity)
                    .max()
                    .unwrap();
                let (fill, border) = fill_and_border(styles, index);
                let want = match worst {
                    Severity::Error => "FFFF7C80",
                    Severity::Warning => "FFFFC04D",
                    Severity::Info => "FF9DC3E6",
                };
                assert_eq!(
                    fill.as_deref(),
                    Some(want),
                    "{name} › {cell}: fill of a {worst} finding"
                );
                assert_eq!(border.as_deref(), Some("medium"), "{name} › {cell}: frame");
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "only {checked} findings with a cell in the fixtures");
}

#[test]
fn a_finding_on_a_row_marks_the_whole_row_lightly() {
    let c = checker();
    let r = check(&c, "pole-itrans-cout-total-different-des-financeurs.xlsx");
    let p = parts(&report_bytes(&c, &r));
    let x = sheet_xml(&p, "Financements");
    // B4 is the cell in question, A4:G4 the row of 2005.
    for cell in ["A4", "C4", "G4"] {
        let (fill, border) = fill_and_border(&p["xl/styles.xml"], style_index(&x.xml, cell).expect(cell));
        assert_eq!(fill.as_deref(), Some("FFFFE1E1"), "{cell}");
        assert_eq!(border.as_deref(), Some("thin"), "{cell}");
    }
    assert!(!x.notes.contains_key("C4"));
    assert!(x.notes["B4"].contains("Attendu 16 033 022"), "{}", x.notes["B4"]);
}

#[test]
fn constats_has_one_row_per_finding_with_a_link_to_its_cell() {
    let c = checker();
    for name in fixtures() {
        let r = check(&c, &name);
        let bytes = report_bytes(&c, &r);
        let mut xlsx: Xlsx<_> = Xlsx::new(Cursor::new(bytes.clone())).expect("report opens");
        let list = xlsx.worksheet_range("Constats").expect("Constats");
        let rows: Vec<_> = list
            .rows()
            .skip(1)
            .filter(|row| row.iter().any(|d| *d != Data::Empty))
            .collect();
        assert_eq!(rows.len(), r.findings.len(), "{name}");
        // Worst first.
        let severities: Vec<String> = rows.iter().map(|row| row[0].to_string()).collect();
        let rank = |s: &str| {
            ["Erreur", "Avertissement", "Information"]
                .iter()
                .position(|x| *x == s)
                .expect("a severity")
        };
        assert!(
            severities.windows(2).all(|w| rank(&w[0]) <= rank(&w[1])),
            "{name}: {severities:?}"
        );
        let mut by_rule: Vec<String> = rows.iter().map(|row| row[1].to_string()).collect();
        let mut rules: Vec<String> = r.findings.iter().map(|f| f.rule.to_string()).collect();
        by_rule.sort();
        rules.sort();
        assert_eq!(by_rule, rules, "{name}");

        let p = parts(&bytes);
        let links: Vec<String> = tags(&sheet_xml(&p, "Constats").xml, "hyperlink")
            .iter()
            .filter_map(|t| attr(t, "location").map(str::to_string))
            .collect();
        let sheets = r
            .workbook
            .as_ref()
            .map_or(vec![], |w| w.sheets.iter().map(|s| s.name.clone()).collect());
        for f in r
            .findings
            .iter()
            .filter(|f| f.cell.is_some() && f.sheet.as_ref().is_some_and(|s| sheets.contains(s)))
        {
            let want = format!(
                "'{}'!{}",
                f.sheet.as_ref().unwrap().replace('\'', "''"),
                f.cell.unwrap()
            );
            let want = want.replace('&', "&amp;").replace('\'', "&apos;");
            assert!(
                links
                    .iter()
                    .any(|l| *l == want || l.replace("&apos;", "'") == want.replace("&apos;", "'")),
                "{name}: no link to {want} in {links:?}"
            );
        }
    }
}

#[test]
fn text_that_looks_like_a_formula_stays_text() {
    let c = checker();
    let r = check(&c, "pole-texte-formule.xlsx");
    let bytes = report_bytes(&c, &r);
    let mut xlsx: Xlsx<_> = Xlsx::new(Cursor::new(bytes.clone())).expect("report opens");
    let id = xlsx.worksheet_range("Identification").expect("Identification");
    assert_eq!(
        id.get_value((8, 1)),
        Some(&Data::String("=HYPERLINK(\"http://x\",\"y\")".into()))
    );
    let formulas = xlsx.worksheet_formula("Identification").expect("formulas");
    assert!(
        formulas.used_cells().all(|(_, _, f)| f.is_empty()),
        "a formula was written"
    );
    // No formula anywhere in the package, and no external link.
    for (name, xml) in parts(&bytes) {
        assert!(!xml.contains("<f>") && !xml.contains("<f "), "{name} holds a formula");
        // The text itself is in the strings (inline in constant-memory sheets),
        // never in a hyperlink or a relationship.
        let text_part =
            name == "xl/sharedStrings.xml" || (name.starts_with("xl/worksheets/sheet") && !xml.contains("<hyperlink"));
        assert!(!xml.contains("http://x") || text_part, "{name} links outside");
    }
    // Saved without a value, a formula of the submitted file is shown as its text.
    let r = check(&c, "pole-erreurs-excel.xlsx");
    let mut xlsx: Xlsx<_> = Xlsx::new(Cursor::new(report_bytes(&c, &r))).expect("report opens");
    let fin = xlsx.worksheet_range("Financements").expect("Financements");
    assert_eq!(fin.get_value((7, 1)), Some(&Data::String("=SUM(C8:G8)".into())));
}

#[test]
fn unreadable_and_unrecognised_files_get_a_report_saying_why() {
    let c = checker();
    let r = c.check_bytes("pas-un-classeur.xlsx", b"ceci n'est pas un classeur");
    assert!(r.workbook.is_none());
    let bytes = report_bytes(&c, &r);
    let mut xlsx: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).expect("report opens");
    assert_eq!(xlsx.sheet_names(), ["Synthèse", "Constats"]);
    let summary = xlsx.worksheet_range("Synthèse").expect("Synthèse");
    let text: Vec<String> = summary.used_cells().map(|(_, _, d)| d.to_string()).collect();
    assert!(text.iter().any(|t| t == "Non conforme"), "{text:?}");
    assert!(
        text.iter().any(|t| t.starts_with("Le fichier n'a pas pu être lu")),
        "{text:?}"
    );
    assert!(
        text.iter().any(|t| t.contains("BILAN-IO-001")),
        "the finding without a cell is listed: {text:?}"
    );

    let r = check(&c, "pole-modele-inconnu.xlsx");
    let mut xlsx: Xlsx<_> = Xlsx::new(Cursor::new(report_bytes(&c, &r))).expect("report opens");
    assert!(xlsx.sheet_names().len() > 2, "the sheets are reproduced");
    let summary = xlsx.worksheet_range("Synthèse").expect("Synthèse");
    assert!(summary
        .used_cells()
        .any(|(_, _, d)| d.to_string().starts_with("Le modèle du retour n'a pas été reconnu")));

    // A missing sheet: a finding without a cell, in Synthèse and in Constats.
    let r = check(&c, "pole-feuille-financements-manquante.xlsx");
    let loose: Vec<&Finding> = r.findings.iter().filter(|f| f.cell.is_none()).collect();
    assert!(!loose.is_empty());
    let mut xlsx: Xlsx<_> = Xlsx::new(Cursor::new(report_bytes(&c, &r))).expect("report opens");
    let summary = xlsx.worksheet_range("Synthèse").expect("Synthèse");
    for f in loose {
        assert!(
            summary
                .used_cells()
                .any(|(_, _, d)| d.to_string().starts_with(&f.message)),
            "{} not in Synthèse",
            f.rule
        );
    }
}

/// A small `.xlsx` with a look of its own, written here.
fn styled_input() -> Vec<u8> {
    use rust_xlsxwriter::{ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Données").unwrap();
    let title = Format::new()
        .set_bold()
        .set_font_size(14)
        .set_font_color(0x1F4E79)
        .set_align(FormatAlign::Center);
    let header = Format::new()
        .set_bold()
        .set_background_color(0xFFFF00)
        .set_border(FormatBorder::Thin);
    let money = Format::new()
        .set_num_format("#,##0.00 \"€\"")
        .set_border(FormatBorder::Thin)
        .set_italic();
    let date = Format::new().set_num_format("dd/mm/yyyy");
    ws.merge_range(0, 0, 0, 2, "Titre fusionné", &title).unwrap();
    ws.write_with_format(2, 0, "Montant", &header).unwrap();
    ws.write_with_format(3, 0, 1234.5, &money).unwrap();
    ws.write_blank(4, 0, &money).unwrap();
    ws.write_datetime_with_format(5, 0, ExcelDateTime::from_ymd(2010, 3, 31).unwrap(), &date)
        .unwrap();
    ws.write(6, 0, true).unwrap();
    ws.set_column_width(0, 30).unwrap();
    ws.set_column_width(3, 5).unwrap();
    ws.set_column_hidden(4).unwrap();
    ws.set_row_height(2, 40).unwrap();
    wb.save_to_buffer().unwrap()
}

#[test]
fn an_xlsx_keeps_its_look() {
    let c = checker();
    let r = c.check_bytes("style.xlsx", &styled_input());
    let wb = r.workbook.as_ref().expect("read");
    assert!(wb.styles.is_some(), "the look of an .xlsx is read");
    let bytes = report_bytes(&c, &r);
    let mut xlsx: Xlsx<_> = Xlsx::new(Cursor::new(bytes.clone())).expect("report opens");
    let st = xlsx.worksheet_style("Données").expect("styles");
    let title = st.get((0, 0)).expect("A1 styled");
    let font = title.font.as_ref().expect("font");
    assert!(font.is_bold());
    assert_eq!(font.size, Some(14.0));
    assert_eq!(font.color.map(|c| c.to_string()).as_deref(), Some("#1F4E79"));
    let header = st.get((2, 0)).expect("A3 styled");
    assert_eq!(
        header
            .fill
            .as_ref()
            .and_then(|f| f.get_color())
            .map(|c| c.to_string())
            .as_deref(),
        Some("#FFFF00")
    );
    assert!(header.borders.as_ref().is_some_and(|b| b.has_visible_borders()));
    let money = st.get((3, 0)).expect("A4 styled");
    assert_eq!(
        money.number_format.as_ref().map(|n| n.format_code.as_str()),
        Some("#,##0.00 \"€\"")
    );
    assert!(money.font.as_ref().is_some_and(|f| f.is_italic()));
    // An empty cell with borders keeps them.
    assert!(st
        .get((4, 0))
        .and_then(|s| s.borders.as_ref())
        .is_some_and(|b| b.has_visible_borders()));
    let p = parts(&bytes);
    let x = sheet_xml(&p, "Données");
    assert!(x.xml.contains("<mergeCell ref=\"A1:C1\"/>"), "merged range");
    let cols = tags(&x.xml, "col");
    assert!(
        cols.iter()
            .any(|t| attr(t, "min") == Some("1") && attr(t, "width") == Some("30.7109375")),
        "{cols:?}"
    );
    assert!(
        cols.iter()
            .any(|t| attr(t, "min") == Some("4") && attr(t, "width") == Some("5.7109375")),
        "{cols:?}"
    );
    assert!(
        cols.iter()
            .any(|t| attr(t, "min") == Some("5") && attr(t, "hidden") == Some("1")),
        "{cols:?}"
    );
    // The height of row 3, as the input has it (40 points, stored as 39.75).
    let input = parts(&styled_input())["xl/worksheets/sheet1.xml"].clone();
    let height = |xml: &str| {
        tags(xml, "row")
            .iter()
            .find(|t| attr(t, "r") == Some("3"))
            .and_then(|t| attr(t, "ht"))
            .map(str::to_string)
    };
    assert!(height(&input).is_some());
    assert_eq!(height(&x.xml), height(&input));
    let range = xlsx.worksheet_range("Données").unwrap();
    assert!(matches!(range.get_value((5, 0)), Some(Data::DateTime(_))));
    assert_eq!(range.get_value((6, 0)), Some(&Data::Bool(true)));
}

#[test]
fn formats_without_styles_get_readable_defaults() {
    let c = checker();
    for name in [
        "pole-itrans-cout-total-different-des-financeurs.xls",
        "pole-itrans-cout-total-different-des-financeurs.ods",
    ] {
        let r = check(&c, name);
        assert!(r.workbook.as_ref().unwrap().styles.is_none());
        let bytes = report_bytes(&c, &r);
        let mut xlsx: Xlsx<_> = Xlsx::new(Cursor::new(bytes.clone())).expect("report opens");
        let st = xlsx.worksheet_style("Financements").expect("styles");
        // Amounts: thousands separated; years: as they are.
        assert_eq!(
            st.get((4, 2))
                .and_then(|s| s.number_format.as_ref())
                .map(|n| n.format_code.as_str()),
            Some("#,##0"),
            "{name}"
        );
        assert_ne!(
            st.get((4, 0))
                .and_then(|s| s.number_format.as_ref())
                .map(|n| n.format_code.as_str()),
            Some("#,##0"),
            "{name}"
        );
        let st = xlsx.worksheet_style("Identification").expect("styles");
        assert_eq!(
            st.get((4, 1))
                .and_then(|s| s.number_format.as_ref())
                .map(|n| n.format_code.as_str()),
            Some("dd/mm/yyyy"),
            "{name}"
        );
        // Widths that fit: the labels of column A are wider than the default.
        let x = sheet_xml(&parts(&bytes), "Identification");
        let a = tags(&x.xml, "col")
            .into_iter()
            .find(|t| attr(t, "min") == Some("1"))
            .and_then(|t| attr(t, "width"))
            .and_then(|w| w.parse::<f64>().ok());
        assert!(a.is_some_and(|w| w > 15.0), "{name}: {a:?}");
    }
}

fn sheet(name: &str, cells: Vec<(u32, u32, CellValue)>, merges: Vec<CellRange>) -> Sheet {
    Sheet::new(
        name,
        cells
            .into_iter()
            .map(|(r, c, value)| Cell {
                pos: CellRef::new(r, c),
                value,
            })
            .collect(),
        merges,
    )
}

fn finding(rule: &str, severity: Severity, message: &str, sheet: &str, cell: &str) -> Finding {
    Finding::new(rule, severity, message).at(sheet, CellRef::parse(cell))
}

fn file_report(name: &str, workbook: Workbook, findings: Vec<Finding>) -> FileReport {
    FileReport {
        path: name.to_string(),
        sha256: None,
        template: None,
        template_version: None,
        organisation: None,
        cut_off: None,
        exercice: None,
        findings,
        workbook: Some(workbook),
        extraction: None,
    }
}

#[test]
fn odd_names_and_long_texts_do_not_stop_a_report() {
    let c = checker();
    let long_name = "Une feuille au nom bien trop long pour Excel (ODS l'accepte)";
    let huge = "x".repeat(40_000);
    let wb = Workbook {
        format: InputFormat::Ods,
        sheets: vec![
            sheet(
                "Synthèse",
                vec![(0, 0, CellValue::Text("une feuille du retour".into()))],
                vec![],
            ),
            sheet(long_name, vec![(0, 0, CellValue::Text(huge.clone()))], vec![]),
            sheet(
                &format!("{long_name} bis"),
                vec![(1, 1, CellValue::Number(1.0))],
                vec![],
            ),
            sheet(
                "a/b:c*",
                vec![
                    (0, 0, CellValue::Text("+33 1 23".into())),
                    (0, 1, CellValue::Text("@SUM(A1)".into())),
                ],
                vec![],
            ),
            sheet(
                "'quoted'",
                vec![(2, 2, CellValue::Text("-1+1".into()))],
                vec![CellRange::parse("A1:B2").unwrap(), CellRange::parse("B2:C3").unwrap()],
            ),
        ],
        styles: None,
    };
    let mut findings = vec![
        finding("TEST-001", Severity::Error, &"m".repeat(50_000), long_name, "A1"),
        finding(
            "TEST-002",
            Severity::Warning,
            "sur la feuille renommée",
            "Synthèse",
            "A1",
        ),
        finding("TEST-003", Severity::Info, "hors feuille", "Inexistante", "Z99"),
    ];
    for i in 0..300 {
        findings.push(finding(
            "TEST-004",
            Severity::Warning,
            &format!("constat {i}"),
            "'quoted'",
            "C3",
        ));
    }
    let r = file_report("bizarre.ods", wb, findings);
    let bytes = write_report(&r, &c.rules, checked_at()).expect("a report despite everything");
    let mut xlsx: Xlsx<_> = Xlsx::new(Cursor::new(bytes.clone())).expect("report opens");
    let names = xlsx.sheet_names();
    assert_eq!(names.len(), 7);
    assert!(
        names
            .iter()
            .all(|n| n.encode_utf16().count() <= 31 && !n.contains(['/', ':', '*', '[', ']', '?', '\\'])),
        "{names:?}"
    );
    let lower: std::collections::HashSet<String> = names.iter().map(|n| n.to_lowercase()).collect();
    assert_eq!(lower.len(), names.len(), "unique names: {names:?}");
    assert_eq!(names[2], "Synthèse (2)");
    let text = xlsx.worksheet_range(&names[3]).unwrap().get_value((0, 0)).cloned();
    assert!(matches!(&text, Some(Data::String(s)) if s.encode_utf16().count() <= 32_767 && s.ends_with('…')));
    let odd = xlsx.worksheet_range(&names[5]).unwrap();
    assert_eq!(odd.get_value((0, 0)), Some(&Data::String("+33 1 23".into())));
    assert_eq!(odd.get_value((0, 1)), Some(&Data::String("@SUM(A1)".into())));
    // The second merged range overlaps the first one: left out, not fatal.
    let p = parts(&bytes);
    let x = sheet_xml(&p, &names[6]);
    assert_eq!(tags(&x.xml, "mergeCell").len(), 1);
    let note = &x.notes["C3"];
    assert!(note.contains("autres constats"), "a note is bounded: {}", note.len());
    assert!(note.encode_utf16().count() <= 4_000);
    let list = xlsx.worksheet_range("Constats").unwrap();
    assert_eq!(list.rows().count(), 1 + r.findings.len());
}

/// Peak resident memory of this process, in MB (Linux).
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

#[test]
fn a_large_workbook_is_reported_quickly() {
    let c = checker();
    // 100 000 cells: 5 000 rows × 20 columns of amounts, text and dates; 500 findings.
    let mut cells = Vec::with_capacity(100_000);
    for r in 0..5_000u32 {
        for col in 0..20u32 {
            let value = match col % 4 {
                0 => CellValue::Text(format!("ligne {r}")),
                1 => CellValue::Number(f64::from(r) * 1_000.5),
                2 => CellValue::Date(bilan::base::values::DateInterval::day(2010, 1 + r % 12, 1 + r % 28).unwrap()),
                _ => CellValue::Number(f64::from(col)),
            };
            cells.push((r, col, value));
        }
    }
    let wb = Workbook {
        format: InputFormat::Ods,
        sheets: vec![sheet("Grand", cells, vec![])],
        styles: None,
    };
    let findings: Vec<Finding> = (0..500u32)
        .map(|i| {
            finding(
                "TEST-005",
                [Severity::Error, Severity::Warning, Severity::Info][i as usize % 3],
                &format!("constat {i}"),
                "Grand",
                &format!("B{}", i * 10 + 1),
            )
            .with_range(CellRange::parse(&format!("A{0}:T{0}", i * 10 + 1)))
        })
        .collect();
    let r = file_report("grand.ods", wb, findings);
    let before = peak_rss_mb();
    let start = Instant::now();
    let bytes = write_report(&r, &c.rules, checked_at()).expect("report");
    let elapsed = start.elapsed();
    println!(
        "100 000 cells, 500 findings: {:.2} s, report {} KB, peak RSS {:?} MB → {:?} MB",
        elapsed.as_secs_f64(),
        bytes.len() / 1024,
        before,
        peak_rss_mb()
    );
    assert!(elapsed.as_secs() < 30, "{elapsed:?}");
    let back = read_bytes(&bytes, &Limits::default()).expect("readable");
    assert_eq!(back.sheets[2].cells().len(), 100_000);
}

fn bilan() -> Command {
    Command::cargo_bin("bilan").expect("binary")
}

fn sha(path: &Path) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(std::fs::read(path).expect("read")).to_vec()
}

#[test]
fn cli_writes_the_report_atomically_and_never_touches_the_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("itrans.xlsx");
    std::fs::copy(fixture("pole-itrans-cout-total-different-des-financeurs.xlsx"), &input).unwrap();
    let before = sha(&input);
    let out = dir.path().join("rapport.xlsx");
    let status = bilan()
        .args(["check", "--quiet", "--report"])
        .arg(&out)
        .arg(&input)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1), "findings → 1");
    assert!(Xlsx::new(Cursor::new(std::fs::read(&out).unwrap()))
        .map(|x: Xlsx<_>| x.sheet_names())
        .is_ok());
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        left.iter().all(|n| !n.ends_with(".tmp")),
        "temporary file left: {left:?}"
    );
    assert_eq!(sha(&input), before);

    // The report may not replace the submitted file.
    let status = bilan()
        .args(["check", "--quiet", "--report"])
        .arg(&input)
        .arg(&input)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
    assert_eq!(sha(&input), before);
    // One file only for --report.
    let status = bilan()
        .args(["check", "--quiet", "--report"])
        .arg(&out)
        .arg(&input)
        .arg(&input)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
}

#[test]
fn cli_report_dir_names_each_report_after_its_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    std::fs::copy(fixture("pole-maud-conforme.xlsx"), a.join("pôle.xlsx")).unwrap();
    std::fs::copy(fixture("pole-maud-conforme.ods"), b.join("pôle.ods")).unwrap();
    std::fs::write(a.join("vide.xlsx"), b"").unwrap();
    let out = dir.path().join("rapports");
    let status = bilan()
        .args(["check", "--quiet", "--report-dir"])
        .arg(&out)
        .arg(a.join("pôle.xlsx"))
        .arg(b.join("pôle.ods"))
        .arg(a.join("vide.xlsx"))
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1), "the empty file is an error");
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        // Same-named returns of different formats keep their format (issue 22).
        ["pôle.controle.xlsx", "pôle.ods.controle.xlsx", "vide.controle.xlsx"]
    );
}

/// The LibreOffice command, if installed.
fn soffice() -> Option<&'static str> {
    ["soffice", "libreoffice"].into_iter().find(|cmd| {
        Command::new(cmd)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

#[test]
fn libreoffice_opens_the_itrans_report() {
    let Some(cmd) = soffice() else {
        return common::skip(
            "libreoffice_opens_the_itrans_report",
            "LibreOffice (soffice/libreoffice) is not installed; the report was not opened in it",
        );
    };
    let c = checker();
    let r = check(&c, "pole-itrans-cout-total-different-des-financeurs.xlsx");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("itrans.controle.xlsx");
    std::fs::write(&file, report_bytes(&c, &r)).unwrap();
    // A profile of its own, so that a LibreOffice already running does not interfere.
    let profile = format!("-env:UserInstallation=file://{}", dir.path().join("profil").display());
    let out = Command::new(cmd)
        .args([
            profile.as_str(),
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
        ])
        .arg(dir.path())
        .arg(&file)
        .output()
        .expect("LibreOffice runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let pdf = dir.path().join("itrans.controle.pdf");
    let size = std::fs::metadata(&pdf).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 10_000,
        "no PDF produced: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}
