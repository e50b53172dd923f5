//! The annotated workbook of an `.xlsx`/`.xlsm` is the submitter's own package,
//! patched (spec 3): checked part by part against the submitted file.
//!
//! The corpus is made here: the I-Trans cluster return (whose 2005 total differs
//! from its funders) written with rust_xlsxwriter with formulas (totals
//! `=SUM(C5:G5)`), an array formula, a data validation, a conditional format,
//! defined names, a picture, a chart, a hidden sheet, frozen panes, a
//! submitter's note on the flagged cell, and an `.xlsm` with a VBA project
//! (`tests/data/vbaProject.bin`, from rust_xlsxwriter's examples); the same
//! return saved again by LibreOffice (shared formulas, its own styles and notes).

mod common;

use std::collections::{BTreeMap, HashMap};
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use bilan::job::Checker;
use bilan::pipeline::rules::RulePack;
use bilan::pipeline::template::TemplateSet;
use bilan::report::xlsx::write_annotated;
use calamine::{open_workbook_auto_from_rs, Data, Reader};
use rust_xlsxwriter::{
    Chart, ChartType, ConditionalFormatCell, ConditionalFormatCellRule, DataValidation, DataValidationRule, Format,
    Formula, Image, Note, Workbook,
};

fn checker() -> Checker {
    Checker::new(TemplateSet::builtin(), RulePack::builtin().expect("rules"))
}

fn checked_at() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
        .expect("date")
        .with_timezone(&chrono::Utc)
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

const AMOUNT: &str = "#,##0\\ \"€\"";

/// The I-Trans return, its totals as formulas except the 2005 one (flagged).
fn submitted(macros: bool) -> Vec<u8> {
    let mut wb = Workbook::new();
    let date = Format::new().set_num_format("dd/mm/yyyy");
    let bold = Format::new().set_bold();
    let amount = Format::new().set_num_format(AMOUNT).set_font_color(0x1F3864);

    let id = wb.add_worksheet();
    id.set_name("Identification").expect("name");
    id.write_string_with_format(
        0,
        0,
        "Bilan annuel d'un pôle de compétitivité ou d'excellence : identification",
        &bold,
    )
    .expect("write");
    let rows: [(&str, Option<&str>); 8] = [
        ("Modèle", Some("BILAN-POLE")),
        ("Version", Some("2010.1")),
        ("Date d'arrêté", None),
        ("Date de transmission", None),
        ("Pôle", Some("I-TRANS")),
        ("Type de pôle", Some("compétitivité")),
        ("Structure porteuse", Some("Association du pôle I-Trans")),
        ("Exercice", None),
    ];
    for (i, (label, value)) in rows.iter().enumerate() {
        let r = 2 + i as u32;
        id.write_string(r, 0, *label).expect("write");
        match (label, value) {
            (_, Some(v)) => {
                id.write_string(r, 1, *v).expect("write");
            }
            (&"Exercice", None) => {
                id.write_number(r, 1, 2009).expect("write");
            }
            (&"Date d'arrêté", None) => {
                id.write_number_with_format(r, 1, 40268.0, &date).expect("write");
            }
            _ => {
                id.write_number_with_format(r, 1, 40283.0, &date).expect("write");
            }
        }
    }
    id.set_column_width(0, 26).expect("width");
    id.set_column_width(1, 30).expect("width");
    id.insert_image(1, 3, &Image::new(data("rust_logo.png")).expect("png"))
        .expect("image");

    let ind = wb.add_worksheet();
    ind.set_name("Indicateurs").expect("name");
    ind.write_string(
        0,
        0,
        "Indicateurs d'activité du pôle (cumul depuis sa création sauf mention contraire)",
    )
    .expect("write");
    let indicators: [(&str, f64); 8] = [
        ("Projets R&D labellisés (cumul)", 82.0),
        ("dont labellisés dans l'exercice", 27.0),
        ("Projets R&D financés (cumul)", 54.0),
        ("Budget des projets financés (€)", 117_700_000.0),
        ("Entreprises régionales impliquées", 63.0),
        ("dont PME", 33.0),
        ("Emplois créés", 89.0),
        ("Emplois maintenus", 268.0),
    ];
    for (i, (label, v)) in indicators.iter().enumerate() {
        ind.write_string(2 + i as u32, 0, *label).expect("write");
        ind.write_number(2 + i as u32, 1, *v).expect("write");
    }

    let proj = wb.add_worksheet();
    proj.set_name("Projets").expect("name");
    proj.write_string(0, 0, "Projets financés par année et par dispositif")
        .expect("write");
    for (c, h) in ["Année", "Dispositif", "Nombre de projets", "Nombre entreprises"]
        .iter()
        .enumerate()
    {
        proj.write_string(2, c as u16, *h).expect("write");
    }
    let mut r = 3;
    for year in 2005..=2009 {
        for (k, d) in ["ANR", "FUI", "Oséo", "Autres"].iter().enumerate() {
            proj.write_number(r, 0, year as f64).expect("write");
            proj.write_string(r, 1, *d).expect("write");
            proj.write_number(r, 2, (k + 1) as f64).expect("write");
            proj.write_number(r, 3, (2 * k + 1) as f64).expect("write");
            r += 1;
        }
    }

    let fin = wb.add_worksheet();
    fin.set_name("Financements").expect("name");
    fin.write_string(0, 0, "Coût total des projets et financeurs, par année (en euros)")
        .expect("write");
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
        fin.write_string_with_format(2, c as u16, *h, &bold).expect("write");
    }
    let funders: [(u32, [Option<f64>; 5]); 5] = [
        (
            2005,
            [Some(3787672.0), Some(1152599.0), Some(1241166.0), None, Some(9851585.0)],
        ),
        (
            2006,
            [Some(5966782.0), Some(340150.0), Some(43900.0), None, Some(10526233.0)],
        ),
        (2007, [Some(5236834.0), Some(619101.0), None, None, Some(8202057.0)]),
        (
            2008,
            [Some(3888100.0), Some(638650.0), None, Some(29847.0), Some(8298408.0)],
        ),
        (
            2009,
            [Some(4412311.0), Some(868939.0), None, Some(4496599.0), Some(10516310.0)],
        ),
    ];
    for (i, (year, amounts)) in funders.iter().enumerate() {
        let r = 3 + i as u32;
        fin.write_number(r, 0, *year as f64).expect("write");
        for (k, a) in amounts.iter().enumerate() {
            match a {
                Some(v) => fin
                    .write_number_with_format(r, 2 + k as u16, *v, &amount)
                    .expect("write"),
                None => fin.write_string(r, 2 + k as u16, "-").expect("write"),
            };
        }
        let sum: f64 = amounts.iter().flatten().sum();
        if i == 0 {
            // The 2005 total is typed, and wrong (the finding's cell).
            fin.write_number_with_format(r, 1, 17_081_618.0, &amount)
                .expect("write");
        } else {
            // Each total of its own shape, so that no writer shares them (calamine
            // does not read the shared formulas of an .xls).
            let f = Formula::new(total_formula(r + 1)).set_result(sum.to_string());
            fin.write_formula_with_format(r, 1, f, &amount).expect("write");
        }
    }
    // An array formula, outside the table.
    let total: f64 = funders.iter().flat_map(|(_, a)| a.iter().flatten()).sum();
    fin.write_array_formula(
        3,
        9,
        3,
        9,
        Formula::new("{=SUM(C4:G8*1)}").set_result(total.to_string()),
    )
    .expect("array formula");
    fin.set_column_width(1, 15).expect("width");
    fin.set_freeze_panes(3, 1).expect("panes");
    fin.add_data_validation(
        3,
        2,
        7,
        6,
        &DataValidation::new().allow_decimal_number(DataValidationRule::GreaterThanOrEqualTo(0.0)),
    )
    .expect("validation");
    fin.add_conditional_format(
        3,
        2,
        7,
        6,
        &ConditionalFormatCell::new()
            .set_rule(ConditionalFormatCellRule::GreaterThan(10_000_000))
            .set_format(Format::new().set_font_color(0x9C0006)),
    )
    .expect("conditional format");
    fin.insert_note(
        3,
        1,
        &Note::new("Montant à vérifier avec le trésorier").set_author("Déclarant"),
    )
    .expect("note");
    let mut chart = Chart::new(ChartType::Column);
    chart.add_series().set_values("Financements!$B$4:$B$8");
    fin.insert_chart(10, 8, &chart).expect("chart");

    let hidden = wb.add_worksheet();
    hidden.set_name("Notes internes").expect("name");
    hidden.write_string(0, 0, "Brouillon").expect("write");
    hidden.set_hidden(true);

    wb.define_name("Couts", "=Financements!$B$4:$B$8").expect("name");
    wb.define_name("Financements!Annees", "=Financements!$A$4:$A$8")
        .expect("name");
    if macros {
        wb.add_vba_project(data("vbaProject.bin")).expect("vba");
    }
    wb.save_to_buffer().expect("saved")
}

/// The formula of the total of sheet row `row` (1-based, 5 to 8).
fn total_formula(row: u32) -> String {
    match row {
        5 => format!("=SUM(C{row}:G{row})"),
        6 => format!("=SUM(C{row}:D{row})+SUM(E{row}:G{row})"),
        7 => format!("=SUM(C{row},D{row},E{row},F{row},G{row})"),
        _ => format!("=SUM(C{row}:G{row})+0"),
    }
}

/// Decompressed parts, by name.
fn parts(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip");
    let mut out = BTreeMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).expect("entry");
        let mut v = Vec::new();
        f.read_to_end(&mut v).expect("read");
        out.insert(f.name().map(|n| n.to_string()).unwrap_or_default(), v);
    }
    out
}

/// Compressed bytes and CRC of each part, as stored.
fn raw_parts(bytes: &[u8]) -> BTreeMap<String, (u32, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip");
    let mut out = BTreeMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index_raw(i).expect("entry");
        let mut v = Vec::new();
        f.read_to_end(&mut v).expect("read");
        out.insert(f.name().map(|n| n.to_string()).unwrap_or_default(), (f.crc32(), v));
    }
    out
}

/// `(cell, formula, cached value)` of every formula cell of a sheet part.
fn formulas(xml: &str) -> Vec<(String, String, String)> {
    let mut r = quick_xml::Reader::from_str(xml);
    let mut out = Vec::new();
    let mut cell = String::new();
    let mut f = None::<String>;
    let mut v = None::<String>;
    let mut inside: Option<&'static str> = None;
    loop {
        match r.read_event().expect("xml") {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)
                if e.local_name().as_ref() == "c" =>
            {
                if let Some(fx) = f.take() {
                    out.push((cell.clone(), fx, v.take().unwrap_or_default()));
                }
                v = None;
                cell = e
                    .try_get_attribute("r")
                    .ok()
                    .flatten()
                    .map(|a| a.value.into_owned())
                    .unwrap_or_default();
            }
            quick_xml::events::Event::Start(e) if e.local_name().as_ref() == "f" => {
                inside = Some("f");
                // A shared formula's later cells hold only `si`: keep its attributes.
                f = Some(e.attributes_raw().to_string());
            }
            quick_xml::events::Event::Empty(e) if e.local_name().as_ref() == "f" => {
                f = Some(e.attributes_raw().to_string());
            }
            quick_xml::events::Event::Start(e) if e.local_name().as_ref() == "v" => inside = Some("v"),
            quick_xml::events::Event::Text(t) => match inside {
                Some("f") => {
                    if let Some(fx) = f.as_mut() {
                        fx.push_str(&t.into_inner());
                    }
                }
                Some("v") => v = Some(t.into_inner().into_owned()),
                _ => {}
            },
            quick_xml::events::Event::End(_) => inside = None,
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    if let Some(fx) = f.take() {
        out.push((cell, fx, v.unwrap_or_default()));
    }
    out
}

/// The part of each sheet, by name, from the workbook part and its relationships.
fn sheet_parts(p: &BTreeMap<String, Vec<u8>>) -> Vec<(String, String)> {
    let wb = String::from_utf8_lossy(&p["xl/workbook.xml"]).into_owned();
    let rels = String::from_utf8_lossy(&p["xl/_rels/workbook.xml.rels"]).into_owned();
    let attr = |tag: &str, key: &str| -> Option<String> {
        let k = format!(" {key}=\"");
        let s = tag.find(&k)? + k.len();
        Some(tag[s..].split('"').next()?.to_string())
    };
    let targets: HashMap<String, String> = rels
        .split("<Relationship ")
        .skip(1)
        .filter_map(|t| Some((attr(&format!(" {t}"), "Id")?, attr(&format!(" {t}"), "Target")?)))
        .collect();
    wb.split("<sheet ")
        .skip(1)
        .filter_map(|t| {
            let t = format!(" {t}");
            let name = attr(&t, "name")?;
            let target = targets.get(&attr(&t, "r:id")?)?;
            Some((name, format!("xl/{}", target.trim_start_matches("/xl/"))))
        })
        .collect()
}

/// Every cell value of every sheet, read by calamine.
fn values(bytes: &[u8]) -> BTreeMap<String, Vec<(u32, u32, String)>> {
    let mut wb = open_workbook_auto_from_rs(Cursor::new(bytes.to_vec())).expect("calamine opens it");
    let mut out = BTreeMap::new();
    for name in wb.sheet_names() {
        let range = wb.worksheet_range(&name).expect("sheet");
        let cells = range
            .used_cells()
            .filter(|(_, _, d)| !matches!(d, Data::Empty))
            .map(|(r, c, d)| {
                let shown = match d {
                    Data::Float(f) => format!("{f}"),
                    Data::Int(i) => format!("{i}"),
                    Data::DateTime(dt) => format!("{}", dt.as_f64()),
                    other => other.to_string(),
                };
                (
                    r as u32 + range.start().map_or(0, |s| s.0),
                    c as u32 + range.start().map_or(0, |s| s.1),
                    shown,
                )
            })
            .collect();
        out.insert(name, cells);
    }
    out
}

struct Outcome {
    input: Vec<u8>,
    output: Vec<u8>,
}

fn annotate(name: &str, input: Vec<u8>) -> Outcome {
    let c = checker();
    let report = c.check_bytes(name, &input);
    assert!(
        report.findings.iter().any(|f| f.rule.as_str() == "POLE-FIN-001"),
        "{name}: the wrong 2005 total is found: {:?}",
        report.findings.iter().map(|f| f.rule.as_str()).collect::<Vec<_>>()
    );
    let a = write_annotated(&report, &c.rules, checked_at(), None, Some(&input)).expect("written");
    assert!(a.patched, "{name}: not patched: {:?}", a.refusal);
    Outcome { input, output: a.bytes }
}

/// The parts bilan may change; every other part keeps its stored bytes.
fn check_package(name: &str, o: &Outcome) {
    let before = parts(&o.input);
    let after = parts(&o.output);
    let raw_before = raw_parts(&o.input);
    let raw_after = raw_parts(&o.output);
    let sheets = sheet_parts(&before);
    let fin = sheets
        .iter()
        .find(|(n, _)| n == "Financements")
        .map(|(_, p)| p.clone())
        .expect("Financements part");
    let fin_rels = match fin.rsplit_once('/') {
        Some((d, f)) => format!("{d}/_rels/{f}.rels"),
        None => unreachable!(),
    };
    let may_change = |part: &str| {
        [
            "[Content_Types].xml",
            "xl/workbook.xml",
            "xl/_rels/workbook.xml.rels",
            "xl/styles.xml",
            fin.as_str(),
            fin_rels.as_str(),
        ]
        .contains(&part)
            || part.ends_with(".vml")
            || part.contains("comments")
    };
    for (part, (crc, raw)) in &raw_before {
        let Some((crc2, raw2)) = raw_after.get(part) else {
            panic!("{name}: part {part} is missing from the annotated workbook");
        };
        if !may_change(part) {
            assert_eq!((crc, raw), (crc2, raw2), "{name}: {part} is not byte-identical");
        }
    }
    // Every formula of every submitted sheet, with its cached value.
    let out_sheets = sheet_parts(&after);
    assert_eq!(
        out_sheets.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>()[..2],
        ["Synthèse", "Constats"],
        "{name}: the two sheets come first"
    );
    let mut count = 0;
    for (sheet, part) in &sheets {
        let out_part = &out_sheets.iter().find(|(n, _)| n == sheet).expect("sheet kept").1;
        let f_in = formulas(&String::from_utf8_lossy(&before[part]));
        let f_out = formulas(&String::from_utf8_lossy(&after[out_part]));
        assert_eq!(f_in, f_out, "{name}: formulas of {sheet}");
        count += f_in.len();
    }
    assert!(count >= 5, "{name}: the corpus has its formulas ({count})");
    // calamine reads the same values in every submitted sheet.
    let v_in = values(&o.input);
    let v_out = values(&o.output);
    for (sheet, cells) in &v_in {
        assert_eq!(Some(cells), v_out.get(sheet), "{name}: values of {sheet}");
    }
}

/// The flagged cell keeps its number format and font, and gains the fill;
/// the submitter's note on it is kept, bilan's appended.
fn check_flagged_cell(name: &str, o: &Outcome, note_in_input: bool) {
    let style_at = |bytes: &[u8]| {
        let mut wb: calamine::Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes.to_vec())).expect("opens");
        let styles = wb.worksheet_style("Financements").expect("styles");
        styles
            .get((3, 1))
            .cloned()
            .unwrap_or_else(|| panic!("{name}: B4 has a style"))
    };
    let before = style_at(&o.input);
    let after = style_at(&o.output);
    assert_eq!(
        before.number_format.as_ref().map(|n| n.format_code.clone()),
        after.number_format.as_ref().map(|n| n.format_code.clone()),
        "{name}: B4 keeps its number format"
    );
    assert_eq!(
        before
            .font
            .as_ref()
            .and_then(|f| f.color)
            .map(|c| c.to_argb() & 0xFFFFFF),
        after
            .font
            .as_ref()
            .and_then(|f| f.color)
            .map(|c| c.to_argb() & 0xFFFFFF),
        "{name}: B4 keeps its font colour"
    );
    let fill = after
        .fill
        .as_ref()
        .and_then(|f| f.foreground_color)
        .map(|c| c.to_argb() & 0xFFFFFF);
    assert_eq!(fill, Some(0xFF7C80), "{name}: B4 gains the error fill");
    let after_parts = parts(&o.output);
    let comments: String = after_parts
        .iter()
        .filter(|(n, _)| n.contains("comments") || n.contains("bilanNotes") && n.ends_with(".xml"))
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        .collect();
    if note_in_input {
        let kept = comments.find("Montant à vérifier avec le trésorier");
        let added = comments.find("POLE-FIN-001");
        assert!(
            matches!((kept, added), (Some(k), Some(a)) if k < a),
            "{name}: the submitter's note is kept and bilan's text follows it"
        );
        assert_eq!(
            comments.matches("<comment ref=\"B4\"").count(),
            1,
            "{name}: one note on B4"
        );
    } else {
        assert!(comments.contains("POLE-FIN-001"), "{name}: bilan's note on B4");
    }
}

#[test]
fn an_xlsx_return_is_patched_not_recreated() {
    let o = annotate("itrans.xlsx", submitted(false));
    check_package("itrans.xlsx", &o);
    check_flagged_cell("itrans.xlsx", &o, true);
    // The hidden sheet stays hidden, the picture and the chart are there.
    let p = parts(&o.output);
    let wb = String::from_utf8_lossy(&p["xl/workbook.xml"]);
    assert!(wb.contains("name=\"Notes internes\"") && wb.contains("state=\"hidden\""));
    assert!(p.keys().any(|k| k.starts_with("xl/media/")), "the picture is kept");
    assert!(p.keys().any(|k| k.starts_with("xl/charts/chart")), "the chart is kept");
    // Defined names follow their sheet: `Annees` was local to sheet 3, now 5.
    assert!(wb.contains("localSheetId=\"5\""), "local names shifted: {wb}");
}

#[test]
fn an_xlsm_return_keeps_its_macros() {
    let o = annotate("itrans.xlsm", submitted(true));
    check_package("itrans.xlsm", &o);
    let p = parts(&o.output);
    let types = String::from_utf8_lossy(&p["[Content_Types].xml"]);
    assert!(types.contains("application/vnd.ms-excel.sheet.macroEnabled.main+xml"));
    assert!(p.contains_key("xl/vbaProject.bin"), "the VBA project is kept");
    assert_eq!(
        bilan::output::report_file_name(Path::new("retours/itrans.xlsm")),
        "itrans.controle.xlsm"
    );
    // A workbook without macros named `.xlsm`: its `.controle.xlsm` opens as one.
    let o = annotate("sans-macros.xlsm", submitted(false));
    let types = String::from_utf8_lossy(&parts(&o.output)["[Content_Types].xml"]).into_owned();
    assert!(types.contains("application/vnd.ms-excel.sheet.macroEnabled.main+xml"));
}

#[test]
fn totals_as_formulas_stay_formulas() {
    // The hand-made cluster return: four of its five totals are formulas.
    let o = annotate("itrans.xlsx", submitted(false));
    let before = parts(&o.input);
    let after = parts(&o.output);
    let count = |p: &BTreeMap<String, Vec<u8>>| -> usize {
        sheet_parts(p)
            .iter()
            .filter(|(n, _)| n != "Synthèse" && n != "Constats")
            .map(|(_, part)| formulas(&String::from_utf8_lossy(&p[part])).len())
            .sum()
    };
    assert_eq!(count(&before), 5);
    assert_eq!(count(&after), count(&before));
    let f = formulas(&String::from_utf8_lossy(
        &after[&sheet_parts(&after)
            .into_iter()
            .find(|(n, _)| n == "Financements")
            .expect("sheet")
            .1],
    ));
    assert!(
        f.iter()
            .any(|(c, fx, v)| c == "B5" && fx.ends_with("SUM(C5:G5)") && v == "16877065"),
        "{f:?}"
    );
}

#[test]
fn a_sheet_named_like_ours_falls_back_to_recreation() {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Synthèse").expect("name");
    ws.write_string(0, 0, "x").expect("write");
    let bytes = wb.save_to_buffer().expect("saved");
    let c = checker();
    let report = c.check_bytes("synthese.xlsx", &bytes);
    let a = write_annotated(&report, &c.rules, checked_at(), None, Some(&bytes)).expect("written");
    assert!(!a.patched);
    assert!(a.refusal.as_deref().is_some_and(|r| r.contains("Synthèse")));
    let v = values(&a.bytes);
    let summary = v["Synthèse"]
        .iter()
        .map(|(_, _, s)| s.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(summary.contains("n'a pas pu être annoté tel quel"), "{summary}");
}

// ---------------------------------------------------------------------------
// LibreOffice: it saves the corpus again (shared formulas, its own styles and
// notes), opens the annotated workbook and recalculates it.

fn soffice() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| [d.join("soffice"), d.join("libreoffice")])
        .find(|p| p.is_file())
}

/// Converts `input` with soffice (a private profile that recalculates on load).
fn convert(soffice: &Path, dir: &Path, input: &Path, to: &str) -> Vec<u8> {
    let profile = dir.join("profil");
    let user = profile.join("user");
    std::fs::create_dir_all(&user).expect("profile");
    // Always recalculate formulas of OOXML and ODF files on load.
    std::fs::write(
        user.join("registrymodifications.xcu"),
        r#"<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"#,
    )
    .expect("profile settings");
    let out = dir.join(to);
    common::soffice_convert(soffice, &profile, to, &out, &[input], 180);
    let stem = input.file_stem().expect("stem").to_string_lossy().into_owned();
    let ext = to.split(':').next().unwrap_or(to);
    std::fs::read(out.join(format!("{stem}.{ext}")))
        .unwrap_or_else(|e| panic!("LibreOffice wrote no {ext} for {}: {e}", input.display()))
}

#[test]
fn libreoffice_recalculates_the_annotated_workbook_to_the_same_values() {
    let Some(soffice) = soffice() else {
        return common::skip(
            "libreoffice_recalculates_the_annotated_workbook_to_the_same_values",
            "soffice (LibreOffice) is not installed",
        );
    };
    let dir = tempfile::tempdir().expect("temp dir");
    // A LibreOffice-made submitter workbook: the corpus saved again by LibreOffice.
    let made = dir.path().join("itrans-rxw.xlsx");
    std::fs::write(&made, submitted(false)).expect("write");
    let lo = convert(&soffice, dir.path(), &made, "xlsx");
    let corpus = [("itrans-rxw.xlsx", submitted(false)), ("itrans-lo.xlsx", lo)];
    for (name, input) in corpus {
        let o = annotate(name, input);
        if name == "itrans-lo.xlsx" {
            check_package(name, &o);
            check_flagged_cell(name, &o, true);
        }
        // Both opened and recalculated by LibreOffice, then compared cell by cell.
        let sub = dir.path().join(format!("in-{name}"));
        let ann = dir.path().join(format!("out-{name}"));
        std::fs::write(&sub, &o.input).expect("write");
        std::fs::write(&ann, &o.output).expect("write");
        let a = values(&convert(&soffice, dir.path(), &sub, "ods"));
        let b = values(&convert(&soffice, dir.path(), &ann, "ods"));
        assert!(
            b.contains_key("Synthèse") && b.contains_key("Constats"),
            "{name}: LibreOffice reads our sheets"
        );
        for (sheet, cells) in &a {
            assert_eq!(Some(cells), b.get(sheet), "{name}: recalculated values of {sheet}");
        }
    }
}

// ---------------------------------------------------------------------------
// `.xls` and `.ods`: re-created, with their formulas.

/// `(sheet, cell, formula)` of every formula of a re-created workbook, read back.
fn formulas_read(bytes: &[u8]) -> Vec<(String, u32, u32, String)> {
    let mut wb = open_workbook_auto_from_rs(Cursor::new(bytes.to_vec())).expect("calamine opens it");
    let mut out = Vec::new();
    for name in wb.sheet_names() {
        let range = wb.worksheet_formula(&name).expect("formulas");
        let (r0, c0) = range.start().unwrap_or((0, 0));
        for (r, c, f) in range.used_cells() {
            if !f.is_empty() {
                out.push((name.clone(), r0 + r as u32, c0 + c as u32, f.clone()));
            }
        }
    }
    out
}

#[test]
fn xls_and_ods_returns_are_recreated_with_their_formulas() {
    for name in ["pole-itrans-formules.ods", "pole-itrans-formules.xls"] {
        let input = std::fs::read(data(name)).expect("fixture");
        let c = checker();
        let report = c.check_bytes(name, &input);
        assert!(
            report.findings.iter().any(|f| f.rule.as_str() == "POLE-FIN-001"),
            "{name}"
        );
        let a = write_annotated(&report, &c.rules, checked_at(), None, Some(&input)).expect("written");
        assert!(!a.patched, "{name}: re-created");
        let got = formulas_read(&a.bytes);
        let fin: Vec<_> = got.iter().filter(|(s, ..)| s == "Financements").collect();
        for row in 5..=8 {
            assert!(
                fin.iter().any(|(_, r, c, f)| *r == row - 1
                    && *c == 1
                    && format!("={}", f.replace(' ', "")) == total_formula(row)),
                "{name}: the total of row {row} is still a formula: {fin:?}"
            );
        }
        // Each with its cached value: the values read are the submitted ones.
        let v_in = values(&input);
        let v_out = values(&a.bytes);
        let totals = |v: &BTreeMap<String, Vec<(u32, u32, String)>>| -> Vec<String> {
            v["Financements"]
                .iter()
                .filter(|(r, c, _)| *c == 1 && (4..=7).contains(r))
                .map(|(_, _, s)| s.clone())
                .collect()
        };
        assert_eq!(totals(&v_in), totals(&v_out), "{name}: cached values");
        assert_eq!(totals(&v_out).len(), 4);
        // The summary says where it comes from.
        let summary = v_out["Synthèse"]
            .iter()
            .map(|(_, _, s)| s.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let ext = name.rsplit('.').next().unwrap_or("");
        assert!(
            summary.contains(&format!("Converti depuis le format .{ext}")),
            "{summary}"
        );
    }
}

/// An `.xls` of `tests/data` and its annotated workbook (re-created as `.xlsx`).
fn annotate_xls(name: &str) -> (Vec<u8>, Vec<u8>) {
    let input = std::fs::read(data(name)).expect("fixture");
    let c = checker();
    let report = c.check_bytes(name, &input);
    let a = write_annotated(&report, &c.rules, checked_at(), None, Some(&input)).expect("written");
    assert!(!a.patched, "{name}: an .xls is re-created");
    (input, a.bytes)
}

/// `(sheet, A1 cell, formula)` of the sheets `of`, sorted.
fn formulas_of(bytes: &[u8], of: &[&str]) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = formulas_read(bytes)
        .into_iter()
        .filter(|(s, ..)| of.contains(&s.as_str()))
        .map(|(s, r, c, f)| (s, format!("{}", bilan::base::model::CellRef::new(r, c)), f))
        .collect();
    out.sort();
    out
}

/// Formulas that LibreOffice (like Excel) saved in an `.xls` as *shared*
/// formulas (BIFF `SHRFMLA`, each cell a `PtgExp` pointing at it — here
/// `=A2+B2` … `=A5+B5`, one shape down a column) are skipped by calamine;
/// `pipeline::read::xls_formulas` reads them, so the re-created workbook has
/// their text and their cached values.
#[test]
fn xls_shared_formulas_come_back_with_their_text_and_values() {
    let (input, output) = annotate_xls("formules-partagees-libreoffice.xls");
    assert!(
        !formulas_read(&input).iter().any(|(_, _, c, _)| *c == 2),
        "calamine alone reads none of them"
    );
    let got = formulas_of(&output, &["shared"]);
    let want: Vec<_> = (2..=5)
        .map(|r| ("shared".to_string(), format!("C{r}"), format!("A{r}+B{r}")))
        .collect();
    assert_eq!(got, want);
    let column_c = |v: &BTreeMap<String, Vec<(u32, u32, String)>>| -> Vec<String> {
        v["shared"]
            .iter()
            .filter(|(r, c, _)| *c == 2 && *r >= 1)
            .map(|(_, _, s)| s.clone())
            .collect()
    };
    assert_eq!(column_c(&values(&input)), ["3", "7", "11", "15"]);
    assert_eq!(
        column_c(&values(&output)),
        ["3", "7", "11", "15"],
        "the cached values are kept"
    );
}

/// A LibreOffice `.xls` (from `tests/data/formules-partagees-fonctions.fods`)
/// whose shared formulas are totals of a row (`SUM(B2:E2)`), an absolute
/// reference (`$B$7*F2`), nested `IF` with texts, `ROUND`/`MAX` with a unary
/// minus, mixed references (`$A1`, `B$1`, `$A$1:B$1`) and comparisons; whose
/// single formulas are those calamine 0.38 renders wrongly (`$A1+B$2` read
/// `A$1+$B2`, `>` read `>=`, references to another sheet, a quote in a text);
/// a shared `IFERROR` (an Excel 2007 function, saved as a name); two array
/// formulas (`ARRAY`: `{=SUM(A1:B1*A2:B2)}` on H1, `{=A1:B1*10}` over I1:J1),
/// written as array formulas over their range; plus what keeps its value only:
/// a shared `IFS` (Excel 2019) and a formula using a defined name (`F2*Taux`).
#[test]
fn xls_formulas_shared_and_single_come_back_right() {
    let (input, output) = annotate_xls("formules-partagees-fonctions.xls");
    let sheets = ["Totaux", "Références mixtes"];
    let mut want = Vec::new();
    for r in 2..=5 {
        for (col, f) in [
            ("F", format!("SUM(B{r}:E{r})")),
            ("G", format!("$B$7*F{r}")),
            ("H", format!("IFERROR(F{r}/D{r},0)")),
            (
                "I",
                format!("IF(F{r}>=5000,\"élevé\",IF(D{r}=0,\"incomplet\",\"bas\"))"),
            ),
            ("J", format!("ROUND(-F{r}/3,2)+MAX(B{r},C{r})")),
        ] {
            want.push(("Totaux".to_string(), format!("{col}{r}"), f));
        }
    }
    // The totals across row 6 are single formulas, not shared.
    for col in ["B", "C", "D", "E", "F"] {
        want.push(("Totaux".to_string(), format!("{col}6"), format!("SUM({col}2:{col}5)")));
    }
    for r in 1..=2 {
        for (col, f) in [
            ("C", format!("$A{r}*10")),
            ("D", "B$1*100".to_string()),
            ("E", "SUM($A$1:B$1)".to_string()),
            ("F", format!("A{r}>B{r}")),
            ("G", format!("A{r}>=B{r}")),
        ] {
            want.push(("Références mixtes".to_string(), format!("{col}{r}"), f));
        }
    }
    for (col, f) in [
        ("C", "$A1+B$2"),
        ("D", "A1>B1"),
        ("E", "Totaux!F2*2"),
        ("F", "\"a\"\"b\"&B1"),
        ("G", "SUM(Totaux!B2:E2)"),
    ] {
        want.push(("Références mixtes".to_string(), format!("{col}4"), f.to_string()));
    }
    for (cell, f) in [("H1", "SUM(A1:B1*A2:B2)"), ("I1", "A1:B1*10")] {
        want.push(("Références mixtes".to_string(), cell.to_string(), f.to_string()));
    }
    want.sort();
    assert_eq!(formulas_of(&output, &sheets), want);
    // The array formulas are array formulas, over their range.
    let p = parts(&output);
    let path = sheet_parts(&p)
        .into_iter()
        .find(|(name, _)| name == "Références mixtes")
        .map(|(_, path)| path)
        .expect("the sheet");
    let sheet = String::from_utf8(p[&path].clone()).expect("UTF-8");
    for (cell, range) in [("H1", "H1"), ("I1", "I1:J1")] {
        let at = sheet.find(&format!("<c r=\"{cell}\"")).expect("cell written");
        let f = &sheet[at..sheet[at..].find("</c>").map_or(sheet.len(), |e| at + e)];
        assert!(f.contains(&format!("t=\"array\" ref=\"{range}\"")), "{cell}: {f}");
    }
    // Every submitted value is there, those without a formula (K2:L5, J1)
    // included.
    let (v_in, v_out) = (values(&input), values(&output));
    for sheet in sheets {
        let numbers = |v: &BTreeMap<String, Vec<(u32, u32, String)>>| -> Vec<(u32, u32, String)> {
            v[sheet]
                .iter()
                .filter(|(_, _, s)| s.parse::<f64>().is_ok())
                .cloned()
                .collect()
        };
        assert_eq!(numbers(&v_in), numbers(&v_out), "{sheet}: cached values");
    }
    for col in [10, 11] {
        assert!(v_out["Totaux"]
            .iter()
            .any(|(r, c, s)| (*r, *c) == (1, col) && s.parse::<f64>().is_ok()));
    }
    assert!(v_out["Références mixtes"]
        .iter()
        .any(|(r, c, s)| (*r, *c) == (0, 7) && s == "23"));
}

/// LibreOffice recalculates the shared formulas of the re-created workbooks to
/// the values of the submitted `.xls`, cell by cell.
#[test]
fn libreoffice_recalculates_xls_shared_formulas_to_the_same_values() {
    let Some(soffice) = soffice() else {
        return common::skip(
            "libreoffice_recalculates_xls_shared_formulas_to_the_same_values",
            "soffice (LibreOffice) is not installed",
        );
    };
    let dir = tempfile::tempdir().expect("temp dir");
    for name in ["formules-partagees-libreoffice.xls", "formules-partagees-fonctions.xls"] {
        let (input, output) = annotate_xls(name);
        let sub = dir.path().join(format!("in-{name}"));
        let ann = dir.path().join(format!("out-{name}.xlsx"));
        std::fs::write(&sub, &input).expect("write");
        std::fs::write(&ann, &output).expect("write");
        // LibreOffice keeps an `.xls`'s cached booleans as the numbers 0 and 1.
        let numeric = |v: BTreeMap<String, Vec<(u32, u32, String)>>| -> BTreeMap<String, Vec<(u32, u32, String)>> {
            v.into_iter()
                .map(|(sheet, cells)| {
                    let cells = cells
                        .into_iter()
                        .map(|(r, c, s)| match s.as_str() {
                            "false" => (r, c, "0".to_string()),
                            "true" => (r, c, "1".to_string()),
                            _ => (r, c, s),
                        })
                        .collect();
                    (sheet, cells)
                })
                .collect()
        };
        let a = numeric(values(&convert(&soffice, dir.path(), &sub, "ods")));
        let recalculated = convert(&soffice, dir.path(), &ann, "ods");
        let b = numeric(values(&recalculated));
        // LibreOffice read every formula of the submitted sheets as a formula.
        let sheets: Vec<&str> = a.keys().map(String::as_str).collect();
        assert_eq!(
            formulas_of(&recalculated, &sheets).len(),
            formulas_of(&output, &sheets).len(),
            "{name}: formulas kept by LibreOffice"
        );
        for (sheet, cells) in &a {
            assert_eq!(Some(cells), b.get(sheet), "{name}: recalculated values of {sheet}");
        }
    }
}
