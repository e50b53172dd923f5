//! Blank returns (`bilan template`) for every built-in template:
//! - read back by the pipeline, a blank return is recognised and, empty, reports
//!   only its missing required values;
//! - filled with the values of a fixture, it reports exactly what the fixture
//!   reports (same rules, pointers, severities and messages) and extracts the
//!   same data;
//! - its package holds the data validations (list sources, numeric bounds, date
//!   range, input and error messages) and the protection the schema implies:
//!   labels, headers and TOTAL rows locked, value cells unlocked;
//! - LibreOffice opens it headless (PDF export, and a re-saved copy still reads
//!   the same).

mod common;

use common::{bilan, checker};

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use bilan::base::model::{column_letters, CellRef};
use bilan::base::values::normalize_label;
use bilan::blank::{blank, fill, title_prefill, TABLE_ROWS};
use bilan::finding::Severity;
use bilan::job::Checker;
use bilan::pipeline::check::FileReport;
use bilan::pipeline::read::{read_bytes, CellValue, Limits, Sheet};
use bilan::pipeline::rules::RulePack;
use bilan::pipeline::template::{Block, FieldSpec, SheetSpec, TemplateSet, ValueKind};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// `Modèle` and `Version` of `Identification`: filled in and locked.
fn is_fixed(sheet: &SheetSpec, f: &FieldSpec) -> bool {
    normalize_label(&sheet.name) == "identification"
        && ["modele", "version"].contains(&normalize_label(&f.label).as_str())
}

/// (rule, severity, pointer, message) of every finding, sorted.
fn findings_of(r: &FileReport) -> Vec<(String, Severity, String, String)> {
    let mut out: Vec<_> = r
        .findings
        .iter()
        .map(|f| {
            (
                f.rule.as_str().to_string(),
                f.severity,
                f.pointer.clone().unwrap_or_default(),
                f.message.clone(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn an_empty_blank_return_is_recognised_and_reports_only_missing_required_values() {
    let checker = checker();
    let mut failures = Vec::new();
    for t in checker.templates.all() {
        let bytes = blank(t).unwrap_or_else(|e| panic!("{}: {e}", t.id));
        let r = checker.check_bytes(&format!("{}.xlsx", t.id), &bytes);
        if r.template.as_deref() != Some(t.id.as_str()) {
            failures.push(format!("{}: recognised as {:?}", t.id, r.template));
            continue;
        }
        let mut expected: Vec<String> = Vec::new();
        for sheet in &t.sheets {
            for block in &sheet.blocks {
                if let Block::Field(f) = block {
                    if f.required && !is_fixed(sheet, f) {
                        expected.push(format!("{}/{}", sheet.pointer(), f.key));
                    }
                }
            }
        }
        expected.sort();
        let mut reported: Vec<String> = Vec::new();
        for f in r.findings.iter().filter(|f| f.severity >= Severity::Warning) {
            if f.rule.as_str() == "BILAN-SCH-001" && f.message.contains("obligatoire") {
                reported.push(f.pointer.clone().unwrap_or_default());
            } else if f.rule.as_str() == "BILAN-TPL-004" && f.message.contains("vide : aucune ligne") {
                // Spec 3: a required table with no data row says it was not read.
            } else {
                failures.push(format!(
                    "{}: unexpected {} {} at {:?}: {}",
                    t.id,
                    f.severity,
                    f.rule.as_str(),
                    f.pointer,
                    f.message
                ));
            }
        }
        reported.sort();
        if reported != expected {
            failures.push(format!(
                "{}: missing required values reported {reported:?}, expected {expected:?}",
                t.id
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Findings that come from the form of a workbook (how a value was typed, a
/// missing sheet, an unreadable cell), not from its values: a fixture that has
/// one cannot be reproduced by writing its values into a blank return.
/// `BILAN-TPL-005` (something outside the template was ignored: an extra
/// column, sheet or label) is not one of them: it is left out of the comparison,
/// since the blank return has nothing extra.
fn is_about_the_form(rule: &str) -> bool {
    rule.starts_with("BILAN-") && rule != "BILAN-SCH-001" && rule != IGNORED
}

const IGNORED: &str = "BILAN-TPL-005";

#[test]
fn a_blank_return_filled_with_a_fixture_reports_what_the_fixture_reports() {
    let checker = checker();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .expect("fixtures/ is listed")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "xlsx"))
        .collect();
    paths.sort();
    let mut covered: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut failures = Vec::new();
    for path in &paths {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let original = checker.check_path(path);
        let (Some(id), Some(ex)) = (original.template.clone(), original.extraction.as_ref()) else {
            continue;
        };
        if original.findings.iter().any(|f| is_about_the_form(f.rule.as_str())) {
            continue;
        }
        let t = checker.templates.get(&id).expect("detected template exists");
        let bytes = match fill(t, &ex.data) {
            Ok(b) => b,
            Err(e) => {
                failures.push(format!("{name}: fill failed: {e}"));
                continue;
            }
        };
        let filled = checker.check_bytes(&format!("{id}-rempli.xlsx"), &bytes);
        if filled.template.as_deref() != Some(id.as_str()) {
            failures.push(format!(
                "{name}: the filled blank return is recognised as {:?}",
                filled.template
            ));
            continue;
        }
        let mut want = findings_of(&original);
        want.retain(|f| f.0 != IGNORED);
        let got = findings_of(&filled);
        if want != got {
            let missing: Vec<_> = want.iter().filter(|f| !got.contains(f)).collect();
            let extra: Vec<_> = got.iter().filter(|f| !want.contains(f)).collect();
            failures.push(format!("{name}: the filled blank return does not report what the fixture reports\n  missing: {missing:#?}\n  extra: {extra:#?}"));
            continue;
        }
        let data = filled.extraction.as_ref().map(|e| e.data.clone()).unwrap_or_default();
        if data != ex.data {
            failures.push(format!(
                "{name}: extracted data differs\n  fixture: {}\n  filled:  {}",
                ex.data, data
            ));
            continue;
        }
        covered.entry(id).or_default().push(name);
    }
    for t in checker.templates.all() {
        if !covered.contains_key(&t.id) {
            failures.push(format!(
                "{}: no fixture of this template could be round-tripped (add fixtures/<name>.xlsx of {} whose findings are about values, not about the form of the workbook)",
                t.id, t.id
            ));
        }
    }
    eprintln!("round-tripped: {covered:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A value that the schema of `f` accepts.
fn sample(f: &FieldSpec) -> serde_json::Value {
    use serde_json::json;
    let min = f.schema.get("minimum").and_then(|v| v.as_f64()).unwrap_or(1.0).max(1.0);
    match &f.kind {
        ValueKind::Integer => json!(min as i64),
        ValueKind::Number => json!(min),
        ValueKind::Date => json!("2010-03-31"),
        ValueKind::Enum(values) => json!(values[0]),
        ValueKind::Boolean => json!(true),
        ValueKind::Text => json!("Exemple"),
    }
}

/// A partly filled blank return: one table row, the unused rows left empty
/// above the TOTAL row, as a submitter leaves them. The TOTAL row is still read
/// (it ends the table) and nothing is reported about the layout.
#[test]
fn unused_rows_above_the_total_row_are_not_a_problem() {
    let checker = checker();
    let mut tried = 0;
    for t in checker.templates.all() {
        for sheet in &t.sheets {
            for block in &sheet.blocks {
                let Block::Table(tb) = block else { continue };
                let Some(total) = &tb.total else { continue };
                let row: serde_json::Map<String, serde_json::Value> =
                    tb.columns.iter().map(|c| (c.key.clone(), sample(c))).collect();
                let sums: serde_json::Map<String, serde_json::Value> = tb
                    .columns
                    .iter()
                    .filter(|c| total.columns.contains(&c.key))
                    .map(|c| (c.key.clone(), sample(c)))
                    .collect();
                let mut container = serde_json::Map::new();
                container.insert(
                    tb.key.clone(),
                    serde_json::Value::Array(vec![serde_json::Value::Object(row)]),
                );
                container.insert(total.key.clone(), serde_json::Value::Object(sums));
                let mut data = if sheet.key.is_empty() {
                    serde_json::Value::Object(container)
                } else {
                    serde_json::json!({ sheet.key.clone(): container })
                };
                data["identification"] = serde_json::json!({ "modele": t.id, "version": t.newest_version() });
                let r = checker.check_bytes("partiel.xlsx", &fill(t, &data).expect("fill"));
                let ex = r.extraction.as_ref().expect("extracted");
                let pointer = format!("{}/{}", sheet.pointer(), total.key);
                assert!(
                    ex.data
                        .pointer(&pointer)
                        .is_some_and(|v| v.as_object().is_some_and(|o| !o.is_empty())),
                    "{}: TOTAL row {pointer} not read",
                    t.id
                );
                let layout: Vec<_> = r
                    .findings
                    .iter()
                    .filter(|f| f.rule.as_str().starts_with("BILAN-TPL"))
                    // Other tables of this partial return are empty on purpose.
                    .filter(|f| !f.message.contains("vide : aucune ligne"))
                    .map(|f| &f.message)
                    .collect();
                assert!(layout.is_empty(), "{}: {layout:?}", t.id);
                tried += 1;
            }
        }
    }
    assert!(tried > 0, "no template has a TOTAL row");
}

// ---------------------------------------------------------------------------
// The package: data validations and protection, read from the XML.

struct Package {
    /// Sheet name → its XML.
    sheets: BTreeMap<String, String>,
    /// Whether each cell format (`s` index) is locked.
    locked: Vec<bool>,
    /// Number format code of each cell format.
    num_formats: Vec<String>,
}

fn unzip(bytes: &[u8]) -> BTreeMap<String, String> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    let mut out = BTreeMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).expect("entry");
        let mut s = String::new();
        if f.read_to_string(&mut s).is_ok() {
            out.insert(f.name().map(|n| n.to_string()).unwrap_or_default(), s);
        }
    }
    out
}

fn attr(element: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let start = element.find(&key)? + key.len();
    let end = element[start..].find('"')? + start;
    Some(unescape(&element[start..end]))
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#xA;", "\n")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The elements `<tag …>` (with their content up to `</tag>` when not
/// self-closing) of an XML text.
fn elements<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag} ");
    let open_bare = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    loop {
        let at = match (rest.find(&open), rest.find(&open_bare)) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => break,
        };
        let from = &rest[at..];
        let head_end = from.find('>').map(|i| i + 1).unwrap_or(from.len());
        let len = if from[..head_end].ends_with("/>") {
            head_end
        } else {
            from.find(&close).map(|i| i + close.len()).unwrap_or(head_end)
        };
        out.push(&from[..len]);
        rest = &from[len..];
    }
    out
}

/// The content of the first `<tag>` or `<tag attr="…">` element.
fn inner<'a>(element: &'a str, tag: &str) -> Option<&'a str> {
    let (bare, with_attrs) = (format!("<{tag}>"), format!("<{tag} "));
    let at = match (element.find(&bare), element.find(&with_attrs)) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => return None,
    };
    let start = at + element[at..].find('>')? + 1;
    let end = element[start..].find(&format!("</{tag}>"))? + start;
    Some(&element[start..end])
}

fn package(bytes: &[u8]) -> Package {
    let files = unzip(bytes);
    let workbook = &files["xl/workbook.xml"];
    let mut sheets = BTreeMap::new();
    for (i, s) in elements(workbook, "sheet").iter().enumerate() {
        let name = attr(s, "name").expect("sheet name");
        let xml = files
            .get(&format!("xl/worksheets/sheet{}.xml", i + 1))
            .cloned()
            .expect("sheet xml");
        sheets.insert(name, xml);
    }
    let styles = &files["xl/styles.xml"];
    let mut codes: BTreeMap<String, String> = BTreeMap::from([
        ("0".into(), "General".into()),
        ("1".into(), "0".into()),
        ("49".into(), "@".into()),
    ]);
    for nf in elements(styles, "numFmt") {
        codes.insert(
            attr(nf, "numFmtId").unwrap_or_default(),
            attr(nf, "formatCode").unwrap_or_default(),
        );
    }
    let cell_xfs = inner(styles, "cellXfs").expect("cellXfs");
    let xfs = elements(cell_xfs, "xf");
    Package {
        sheets,
        locked: xfs.iter().map(|x| !x.contains("locked=\"0\"")).collect(),
        num_formats: xfs
            .iter()
            .map(|x| {
                codes
                    .get(&attr(x, "numFmtId").unwrap_or_default())
                    .cloned()
                    .unwrap_or_default()
            })
            .collect(),
    }
}

/// A cell's format index in a sheet's XML (0 when the cell is absent).
fn style_of(xml: &str, cell: CellRef) -> Option<usize> {
    let key = format!("<c r=\"{cell}\"");
    let at = xml.find(&key)?;
    let element = &xml[at..at + xml[at..].find('>')?];
    Some(attr(element, "s").and_then(|s| s.parse().ok()).unwrap_or(0))
}

fn formula_of(xml: &str, cell: CellRef) -> Option<String> {
    let key = format!("<c r=\"{cell}\"");
    let at = xml.find(&key)?;
    let end = xml[at..].find("</c>").map(|i| at + i)?;
    let next = xml[at + 1..].find("<c ").map(|i| at + 1 + i).unwrap_or(usize::MAX);
    if next < end {
        return None;
    }
    inner(&xml[at..end + 4], "f").map(str::to_string)
}

struct Validation {
    kind: String,
    operator: String,
    sqref: String,
    prompt: Option<String>,
    error: Option<String>,
    error_style: String,
    formula1: Option<String>,
    formula2: Option<String>,
}

fn validations(xml: &str) -> Vec<Validation> {
    elements(xml, "dataValidation")
        .into_iter()
        .map(|d| {
            let head = &d[..d.find('>').unwrap_or(d.len())];
            Validation {
                kind: attr(head, "type").unwrap_or_else(|| "none".into()),
                operator: attr(head, "operator").unwrap_or_else(|| "between".into()),
                sqref: attr(head, "sqref").unwrap_or_default(),
                prompt: attr(head, "prompt"),
                error: attr(head, "error"),
                error_style: attr(head, "errorStyle").unwrap_or_else(|| "stop".into()),
                formula1: inner(d, "formula1").map(unescape),
                formula2: inner(d, "formula2").map(unescape),
            }
        })
        .collect()
}

fn covers(sqref: &str, cell: CellRef) -> bool {
    sqref.split(' ').any(|r| match r.split_once(':') {
        Some((a, b)) => match (CellRef::parse(a), CellRef::parse(b)) {
            (Some(a), Some(b)) => (a.row..=b.row).contains(&cell.row) && (a.col..=b.col).contains(&cell.col),
            _ => false,
        },
        None => CellRef::parse(r) == Some(cell),
    })
}

fn number(v: &serde_json::Value) -> String {
    let f = v.as_f64().expect("a number");
    format!("{f}")
}

/// What the validation of a value cell of `f` must say, checked against `v`.
fn check_validation(f: &FieldSpec, v: &Validation, at: &str, problems: &mut Vec<String>) {
    let mut problem = |m: String| problems.push(format!("{at} « {} »: {m}", f.label));
    if v.prompt.as_deref().is_none_or(|p| p.trim().is_empty()) {
        problem("no input message".into());
    }
    if let Some(d) = &f.description {
        let start: String = d.chars().take(20).collect();
        if !v.prompt.as_deref().unwrap_or_default().contains(&start) {
            problem(format!(
                "the input message does not quote the description ({:?})",
                v.prompt
            ));
        }
    }
    let schema = &f.schema;
    let (min, max) = (schema.get("minimum"), schema.get("maximum"));
    let expect_bounds = |kind: &str, problem: &mut dyn FnMut(String)| match (min, max) {
        (Some(lo), Some(hi)) => {
            if v.operator != "between"
                || v.formula1.as_deref() != Some(number(lo).as_str())
                || v.formula2.as_deref() != Some(number(hi).as_str())
            {
                problem(format!(
                    "{kind} between {lo} and {hi} expected, got {} {:?} {:?}",
                    v.operator, v.formula1, v.formula2
                ));
            }
        }
        (Some(lo), None) => {
            if v.operator != "greaterThanOrEqual" || v.formula1.as_deref() != Some(number(lo).as_str()) {
                problem(format!("{kind} ≥ {lo} expected, got {} {:?}", v.operator, v.formula1));
            }
        }
        (None, Some(hi)) => {
            if v.operator != "lessThanOrEqual" || v.formula1.as_deref() != Some(number(hi).as_str()) {
                problem(format!("{kind} ≤ {hi} expected, got {} {:?}", v.operator, v.formula1));
            }
        }
        (None, None) => {}
    };
    match &f.kind {
        ValueKind::Enum(values) => {
            let want = format!("\"{}\"", values.join(","));
            if v.kind != "list" || v.formula1.as_deref() != Some(want.as_str()) {
                problem(format!(
                    "drop-down list {want} expected, got {} {:?}",
                    v.kind, v.formula1
                ));
            }
        }
        ValueKind::Integer => {
            if v.kind != "whole" {
                problem(format!("whole number expected, got {}", v.kind));
            }
            expect_bounds("whole number", &mut problem);
        }
        ValueKind::Number => {
            if v.kind != "decimal" {
                problem(format!("decimal expected, got {}", v.kind));
            }
            expect_bounds("decimal", &mut problem);
        }
        ValueKind::Date => {
            // 2000-01-01 and 2030-12-31 as Excel serials.
            if v.kind != "date" || v.formula1.as_deref() != Some("36526") || v.formula2.as_deref() != Some("47848") {
                problem(format!(
                    "date from 01/01/2000 to 31/12/2030 expected, got {} {:?} {:?}",
                    v.kind, v.formula1, v.formula2
                ));
            }
        }
        ValueKind::Text if schema.get("format").and_then(|x| x.as_str()) == Some("email") => {
            if v.kind != "custom" || !v.formula1.as_deref().unwrap_or_default().contains('@') {
                problem(format!("an e-mail check expected, got {} {:?}", v.kind, v.formula1));
            }
        }
        ValueKind::Text | ValueKind::Boolean => {}
    }
    let refuses =
        !matches!(f.kind, ValueKind::Text) || schema.get("format").is_some() || schema.get("maxLength").is_some();
    if refuses && v.error.as_deref().is_none_or(|e| !e.contains(&f.label)) {
        problem(format!("no French error message naming the field ({:?})", v.error));
    }
}

fn find_text(sheet: &Sheet, text: &str) -> Option<CellRef> {
    sheet
        .cells()
        .iter()
        .find(|c| matches!(&c.value, CellValue::Text(t) if t == text))
        .map(|c| c.pos)
}

#[test]
fn the_package_holds_the_data_validations_and_the_protection() {
    let checker = checker();
    let mut problems = Vec::new();
    for t in checker.templates.all() {
        let bytes = blank(t).expect("blank");
        let pkg = package(&bytes);
        let wb = read_bytes(&bytes, &Limits::default()).expect("readable");
        for spec in &t.sheets {
            let at = |c: CellRef| format!("{}!{}!{c}", t.id, spec.name);
            let Some(xml) = pkg.sheets.get(&spec.name) else {
                problems.push(format!("{}: no sheet « {} » in the package", t.id, spec.name));
                continue;
            };
            let sheet = wb.sheets.iter().find(|s| s.name == spec.name).expect("sheet read");
            match elements(xml, "sheetProtection").first() {
                Some(p) if attr(p, "sheet").as_deref() == Some("1") => {}
                _ => problems.push(format!("{}!{}: the sheet is not protected", t.id, spec.name)),
            }
            let dvs = validations(xml);
            let locked = |c: CellRef| style_of(xml, c).map(|s| pkg.locked[s]);
            let validation_of = |c: CellRef| dvs.iter().find(|v| covers(&v.sqref, c));
            // The instruction line: locked text at the top.
            let first_row = if spec.blocks.iter().any(|b| matches!(b, Block::Title(_))) {
                1
            } else {
                0
            };
            let instruction = CellRef::new(first_row, 0);
            if !matches!(sheet.get(instruction), Some(CellValue::Text(s)) if s.len() > 20)
                || locked(instruction) != Some(true)
            {
                problems.push(format!("{}: no locked instruction line", at(instruction)));
            }
            for block in &spec.blocks {
                match block {
                    Block::Title(f) => {
                        let a1 = CellRef::new(0, 0);
                        if !matches!(sheet.get(a1), Some(CellValue::Text(s)) if *s == title_prefill(f)) {
                            problems.push(format!("{}: title cell does not hold {:?}", at(a1), title_prefill(f)));
                        }
                        if locked(a1) != Some(false) {
                            problems.push(format!("{}: the title cell should be unlocked", at(a1)));
                        }
                    }
                    Block::Field(f) => {
                        let Some(label) = find_text(sheet, &f.label) else {
                            problems.push(format!("{}!{}: label « {} » not found", t.id, spec.name, f.label));
                            continue;
                        };
                        let value = CellRef::new(label.row, label.col + 1);
                        if locked(label) != Some(true) {
                            problems.push(format!("{}: label « {} » is not locked", at(label), f.label));
                        }
                        if is_fixed(spec, f) {
                            let want = if normalize_label(&f.label) == "modele" {
                                t.id.clone()
                            } else {
                                t.newest_version().to_string()
                            };
                            if !matches!(sheet.get(value), Some(CellValue::Text(s)) if *s == want)
                                || locked(value) != Some(true)
                            {
                                problems.push(format!("{}: « {} » should hold {want}, locked", at(value), f.label));
                            }
                            continue;
                        }
                        if locked(value) != Some(false) {
                            problems.push(format!("{}: value of « {} » is not unlocked", at(value), f.label));
                        }
                        match validation_of(value) {
                            Some(v) => check_validation(f, v, &at(value), &mut problems),
                            None => problems.push(format!("{}: no data validation for « {} »", at(value), f.label)),
                        }
                        if f.kind == ValueKind::Date
                            && style_of(xml, value).map(|s| pkg.num_formats[s].as_str()) != Some("dd/mm/yyyy")
                        {
                            problems.push(format!("{}: date cell without the dd/mm/yyyy format", at(value)));
                        }
                    }
                    Block::Table(tb) => {
                        let Some(header_row) = sheet.row_numbers().into_iter().find(|&r| {
                            tb.columns
                                .iter()
                                .all(|c| sheet.row(r).iter().any(|x| x.value == CellValue::Text(c.label.clone())))
                        }) else {
                            problems.push(format!(
                                "{}!{}: no header row with every column of « {} »",
                                t.id, spec.name, tb.key
                            ));
                            continue;
                        };
                        for c in &tb.columns {
                            let head = sheet
                                .row(header_row)
                                .iter()
                                .find(|x| x.value == CellValue::Text(c.label.clone()))
                                .map(|x| x.pos)
                                .expect("found above");
                            if locked(head) != Some(true) {
                                problems.push(format!("{}: header « {} » is not locked", at(head), c.label));
                            }
                            let first = CellRef::new(header_row + 1, head.col);
                            let last = CellRef::new(header_row + TABLE_ROWS, head.col);
                            for r in first.row..=last.row {
                                if locked(CellRef::new(r, head.col)) != Some(false) {
                                    problems
                                        .push(format!("{}: table cell is not unlocked", at(CellRef::new(r, head.col))));
                                    break;
                                }
                            }
                            match dvs.iter().find(|v| v.sqref == format!("{first}:{last}")) {
                                Some(v) => {
                                    check_validation(c, v, &at(first), &mut problems);
                                    if c.kind == ValueKind::Date && v.error_style != "warning" {
                                        problems.push(format!(
                                            "{}: a table date accepts approximate dates (warning), got {}",
                                            at(first),
                                            v.error_style
                                        ));
                                    }
                                }
                                None => problems.push(format!(
                                    "{}: no data validation over {first}:{last} for « {} »",
                                    at(first),
                                    c.label
                                )),
                            }
                        }
                        if let Some(total) = &tb.total {
                            let row = header_row + TABLE_ROWS + 1;
                            let label = CellRef::new(row, 0);
                            if !matches!(sheet.get(label), Some(CellValue::Text(s)) if s == "TOTAL")
                                || locked(label) != Some(true)
                            {
                                problems.push(format!("{}: locked « TOTAL » expected", at(label)));
                            }
                            for (i, c) in tb
                                .columns
                                .iter()
                                .enumerate()
                                .filter(|(_, c)| total.columns.contains(&c.key))
                            {
                                let cell = CellRef::new(row, i as u32);
                                let letters = column_letters(i as u32);
                                if bilan::pipeline::template::annotations::has_parts(
                                    &t.schema,
                                    &format!("{}/{}", spec.pointer(), tb.key),
                                ) {
                                    // Rows that are parts of another (`x-parts`): the
                                    // total is typed, not a plain sum.
                                    if formula_of(xml, cell).is_some() || locked(cell) != Some(false) {
                                        problems.push(format!(
                                            "{}: TOTAL of « {} » should be an unlocked cell to type",
                                            at(cell),
                                            c.label
                                        ));
                                    }
                                    continue;
                                }
                                let want = format!(
                                    "SUM({letters}{}:{letters}{})",
                                    header_row + 2,
                                    header_row + 1 + TABLE_ROWS
                                );
                                if formula_of(xml, cell).as_deref() != Some(want.as_str()) || locked(cell) != Some(true)
                                {
                                    problems.push(format!(
                                        "{}: TOTAL of « {} » should be the locked formula {want}, got {:?}",
                                        at(cell),
                                        c.label,
                                        formula_of(xml, cell)
                                    ));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The first sheet's column widths fit the labels: column A is at least as wide
/// as the longest label of the Identification sheet.
#[test]
fn columns_fit_their_labels() {
    let checker = checker();
    for t in checker.templates.all() {
        let pkg = package(&blank(t).expect("blank"));
        let xml = &pkg.sheets["Identification"];
        let cols = elements(xml, "col");
        let width_a: f64 = cols
            .iter()
            .find(|c| attr(c, "min").as_deref() == Some("1"))
            .and_then(|c| attr(c, "width"))
            .and_then(|w| w.parse().ok())
            .unwrap_or(0.0);
        let longest = t.sheets[0]
            .blocks
            .iter()
            .filter_map(|b| {
                if let Block::Field(f) = b {
                    Some(f.label.chars().count())
                } else {
                    None
                }
            })
            .max()
            .unwrap_or(0);
        assert!(
            width_a >= longest as f64,
            "{}: column A is {width_a} wide for a {longest}-character label",
            t.id
        );
    }
}

// ---------------------------------------------------------------------------
// LibreOffice

fn soffice() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| [d.join("soffice"), d.join("libreoffice")])
        .find(|p| p.is_file())
}

#[test]
fn libreoffice_opens_every_blank_return() {
    let Some(soffice) = soffice() else {
        return common::skip(
            "libreoffice_opens_every_blank_return",
            "soffice (LibreOffice) is not installed",
        );
    };
    let checker = checker();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut inputs = Vec::new();
    for t in checker.templates.all() {
        let path = dir.path().join(format!("{}.xlsx", t.id));
        std::fs::write(&path, blank(t).expect("blank")).expect("write");
        inputs.push(path);
    }
    let profile = dir.path().join("profil");
    for (target, out) in [("pdf", "pdf"), ("xlsx:Calc MS Excel 2007 XML", "xlsx")] {
        let outdir = dir.path().join(out);
        let paths: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
        let output = common::soffice_convert(&soffice, &profile, target, &outdir, &paths, 120);
        for t in checker.templates.all() {
            let converted = outdir.join(format!("{}.{out}", t.id));
            let bytes = std::fs::read(&converted).unwrap_or_else(|e| {
                panic!(
                    "{}: LibreOffice wrote no {out} ({e}): {}",
                    t.id,
                    String::from_utf8_lossy(&output.stderr)
                )
            });
            if out == "pdf" {
                assert!(bytes.starts_with(b"%PDF") && bytes.len() > 1000, "{}: not a PDF", t.id);
            } else {
                // Saved again by LibreOffice: still the same blank return.
                let original = checker.check_bytes("original.xlsx", &blank(t).expect("blank"));
                let resaved = checker.check_bytes("resaved.xlsx", &bytes);
                assert_eq!(
                    resaved.template.as_deref(),
                    Some(t.id.as_str()),
                    "{}: LibreOffice's copy is not recognised",
                    t.id
                );
                assert_eq!(
                    findings_of(&resaved),
                    findings_of(&original),
                    "{}: LibreOffice's copy does not read the same",
                    t.id
                );
            }
        }
    }
}

/// Clean data for every template: its clean fixture's values, or (for the
/// templates whose seed figures all have findings) figures that add up.
fn clean_data(checker: &Checker, id: &str) -> serde_json::Value {
    let fixture = match id {
        "BILAN-POLE" => Some("pole-maud-conforme.xlsx"),
        "BILAN-PLDE" => Some("plde-boulonnais-conforme.xlsx"),
        "TDB-FEDER-AXE1" => Some("feder-axe1-2009-conforme.xlsx"),
        "BILAN-OUTILS-FINANCIERS" => Some("outils-financiers-2009-conforme.xlsx"),
        "FEDER-OPERATIONS" => Some("feder-operations-2021-2027-transition-conforme.xlsx"),
        _ => None,
    };
    if let Some(name) = fixture {
        let r = checker.check_path(&fixtures_dir().join(name));
        return r.extraction.map(|e| e.data).unwrap_or_default();
    }
    match id {
        "BILAN-PROGRAMME" => serde_json::json!({
            "identification": {"modele": "BILAN-PROGRAMME", "version": "2010.1", "date_arrete": "2010-03-31",
                "programme": "PRDA", "enjeu": 1, "exercice": 2009},
            "objectifs": [
                {"axe": "2 – Favoriser la transmission", "indicateur": "entreprises transmises", "unite": "entreprises", "objectif": 656, "resultat": 589},
                {"axe": "3 – Pérenniser", "indicateur": "taux de pérennité à 3 ans", "unite": "%", "objectif": 70, "resultat": 73.5, "commentaire": "Enquête 2009"}
            ]
        }),
        "REPARTITION-POLES" => serde_json::json!({
            "identification": {"modele": "REPARTITION-POLES", "version": "2010.1", "date_arrete": "2010-03-31", "exercice": 2009},
            "repartition": [
                {"pole": "PC MAUD", "region": 400000, "feder": 100000, "total": 500000, "part": 62.5},
                {"pole": "PC I-TRANS", "region": 300000, "feder": 0, "total": 300000, "part": 37.5}
            ],
            "repartition_total": {"region": 700000, "feder": 100000, "total": 800000, "part": 100}
        }),
        _ => serde_json::Value::Null,
    }
}

/// Every blank return filled with clean data and saved again by LibreOffice
/// (as `.xlsx` and as `.ods`) has no finding at warning or above: no false
/// alarm from the form itself (its spare rows, its TOTAL formulas, its formats).
#[test]
fn blank_returns_filled_with_clean_data_and_saved_by_libreoffice_are_clean() {
    let Some(soffice) = soffice() else {
        return common::skip(
            "blank_returns_filled_with_clean_data_and_saved_by_libreoffice_are_clean",
            "soffice (LibreOffice) is not installed",
        );
    };
    let checker = checker();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut inputs = Vec::new();
    let mut problems = Vec::new();
    for t in checker.templates.all() {
        let data = clean_data(&checker, &t.id);
        if data.is_null() {
            problems.push(format!("{}: no clean data for this template in the test", t.id));
            continue;
        }
        let bytes = fill(t, &data).expect("fill");
        let direct = checker.check_bytes("rempli.xlsx", &bytes);
        let bad: Vec<_> = direct
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Warning)
            .collect();
        if !bad.is_empty() {
            problems.push(format!("{}: filled blank return: {bad:#?}", t.id));
        }
        let path = dir.path().join(format!("{}.xlsx", t.id));
        std::fs::write(&path, bytes).expect("write");
        inputs.push((t.id.clone(), path));
    }
    let profile = dir.path().join("profil");
    for (target, ext) in [("xlsx:Calc MS Excel 2007 XML", "xlsx"), ("ods", "ods")] {
        let outdir = dir.path().join(format!("lo-{ext}"));
        let paths: Vec<&Path> = inputs.iter().map(|(_, p)| p.as_path()).collect();
        common::soffice_convert(&soffice, &profile, target, &outdir, &paths, 120);
        for (id, _) in &inputs {
            let saved = outdir.join(format!("{id}.{ext}"));
            let Ok(bytes) = std::fs::read(&saved) else {
                problems.push(format!("{id}: LibreOffice wrote no .{ext}"));
                continue;
            };
            let r = checker.check_bytes(&format!("{id}.{ext}"), &bytes);
            if r.template.as_deref() != Some(id.as_str()) {
                problems.push(format!("{id}.{ext}: not recognised"));
            }
            let bad: Vec<String> = r
                .findings
                .iter()
                .filter(|f| f.severity >= Severity::Warning)
                .map(|f| {
                    format!(
                        "{} {:?}!{:?} {}",
                        f.rule.as_str(),
                        f.sheet,
                        f.cell.map(|c| c.to_string()),
                        f.message
                    )
                })
                .collect();
            if !bad.is_empty() {
                problems.push(format!("{id}.{ext} saved by LibreOffice: {bad:#?}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------
// The command line

#[test]
fn bilan_template_writes_one_blank_return_or_all_of_them() {
    let checker = checker();
    let dir = tempfile::tempdir().expect("temp dir");
    let one = dir.path().join("vierge.xlsx");
    bilan()
        .args(["template", "BILAN-PLDE", "-o"])
        .arg(&one)
        .assert()
        .code(0);
    let r = checker.check_path(&one);
    assert_eq!(r.template.as_deref(), Some("BILAN-PLDE"));
    let all = dir.path().join("modeles");
    bilan().args(["template", "--all"]).arg(&all).assert().code(0);
    for t in checker.templates.all() {
        let path = all.join(format!("{}.xlsx", t.id));
        assert_eq!(
            checker.check_path(&path).template.as_deref(),
            Some(t.id.as_str()),
            "{}",
            path.display()
        );
    }
    // No temporary file left behind by the atomic write.
    let leftovers: Vec<_> = std::fs::read_dir(&all)
        .expect("list")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // An unknown template, or no template at all, is a failure of the run.
    bilan()
        .args(["template", "BILAN-INCONNU", "-o"])
        .arg(dir.path().join("x.xlsx"))
        .assert()
        .code(2);
    // With no id, `template` lists the models (and writes nothing).
    let listed = bilan().args(["template"]).assert().success();
    let out = String::from_utf8_lossy(&listed.get_output().stdout).into_owned();
    assert!(out.contains("BILAN-POLE"), "{out}");
}

// ---------------------------------------------------------------------------
// A new template gets its blank return for free: a schema written here, with
// what today's templates do not use (a sheet mixing a title, fields and a
// table, an enumeration too long for an in-cell list, exclusive bounds, a
// yes/no field), round-trips too.

const SYNTHETIC: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "x-template": { "id": "ESSAI-MIXTE", "title": "Essai", "versions": ["2010.1"], "cut_off": "/identification/date_arrete" },
  "type": "object",
  "required": ["identification", "mixte"],
  "properties": {
    "identification": {
      "x-sheet": "Identification",
      "type": "object",
      "required": ["modele", "version", "date_arrete"],
      "properties": {
        "modele": { "x-label": "Modèle", "type": "string", "const": "ESSAI-MIXTE" },
        "version": { "x-label": "Version", "type": "string", "enum": ["2010.1"] },
        "date_arrete": { "x-label": "Date d'arrêté", "x-type": "date", "type": "string", "description": "Date d'arrêté." }
      }
    },
    "mixte": {
      "x-sheet": "Mixte",
      "description": "Une feuille qui mêle tout.",
      "type": "object",
      "required": ["titre", "taux", "lignes"],
      "properties": {
        "titre": { "x-title": true, "title": "Titre", "type": "string", "default": "Bilan mixte de …" },
        "taux": { "x-label": "Taux (%)", "type": "number", "exclusiveMinimum": 0, "maximum": 100, "description": "Un taux strictement positif." },
        "actif": { "x-label": "Actif", "type": "boolean", "description": "Oui ou non." },
        "lignes": {
          "type": "array",
          "items": {
            "type": "object",
            "required": ["secteur", "montant"],
            "properties": {
              "secteur": { "x-header": "Secteur", "enum": [
                "Agriculture, sylviculture et pêche (secteur primaire au sens large)",
                "Industries extractives et manufacturières de toutes tailles",
                "Production et distribution d'électricité, de gaz et de vapeur",
                "Construction et travaux publics, y compris le génie civil",
                "Commerce, réparation d'automobiles et de motocycles"] },
              "montant": { "x-header": "Montant (€)", "type": "number", "minimum": 0 }
            }
          }
        },
        "lignes_total": { "x-total-of": "lignes", "type": "object", "properties": { "montant": { "type": "number" } } }
      }
    }
  }
}"#;

#[test]
fn a_new_schema_gets_a_working_blank_return() {
    let files = vec![bilan::base::embedded::SourceFile {
        path: "ESSAI-MIXTE.schema.json".into(),
        text: SYNTHETIC.to_string().into(),
    }];
    let templates = TemplateSet::load(&files).expect("the synthetic schema loads");
    let checker = Checker::new(templates, RulePack::builtin().expect("rules"));
    let t = checker.templates.get("ESSAI-MIXTE").expect("template");

    let bytes = blank(t).expect("blank");
    let r = checker.check_bytes("essai.xlsx", &bytes);
    assert_eq!(r.template.as_deref(), Some("ESSAI-MIXTE"));
    let serious: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Warning)
        .map(|f| (f.rule.as_str(), f.pointer.clone()))
        .collect();
    assert_eq!(
        serious,
        vec![
            ("BILAN-SCH-001", Some("/identification/date_arrete".to_string())),
            ("BILAN-SCH-001", Some("/mixte/taux".to_string())),
            // Spec 3: its one table has no data row, so it says it was not read.
            ("BILAN-TPL-004", Some("/mixte/lignes".to_string()))
        ],
        "{:#?}",
        r.findings
    );
    let pkg = package(&bytes);
    assert!(
        pkg.sheets.contains_key(bilan::blank::LISTS_SHEET),
        "the long list lives on a hidden sheet"
    );
    let dvs = validations(&pkg.sheets["Mixte"]);
    assert!(
        dvs.iter()
            .any(|v| v.kind == "list" && v.formula1.as_deref() == Some("Listes!$A$1:$A$5")),
        "list from the hidden sheet"
    );
    assert!(dvs.iter().any(|v| v.kind == "decimal"
        && v.operator == "between"
        && v.formula1.as_deref() == Some("0")
        && v.formula2.as_deref() == Some("100")));
    assert!(dvs
        .iter()
        .any(|v| v.kind == "list" && v.formula1.as_deref() == Some("\"oui,non\"")));

    let data = serde_json::json!({
        "identification": { "modele": "ESSAI-MIXTE", "version": "2010.1", "date_arrete": "2010-03-31" },
        "mixte": {
            "titre": "Bilan mixte de Lille",
            "taux": 12.5,
            "actif": true,
            "lignes": [
                { "secteur": "Construction et travaux publics, y compris le génie civil", "montant": 1000 },
                { "secteur": "Commerce, réparation d'automobiles et de motocycles", "montant": 250.75 }
            ],
            "lignes_total": { "montant": 1250.75 }
        }
    });
    let r = checker.check_bytes("essai-rempli.xlsx", &fill(t, &data).expect("fill"));
    let ex = r.extraction.as_ref().expect("extracted");
    assert_eq!(ex.data, data, "{:#?}", r.findings);
}
