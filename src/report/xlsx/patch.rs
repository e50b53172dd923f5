//! The submitter's own `.xlsx`/`.xlsm`, patched (spec 3): every part of the
//! package that bilan does not need to change is copied as it is (its
//! compressed bytes, never decompressed); only these parts change:
//! - the workbook part: `Synthèse` and `Constats` added first, the defined
//!   names' `localSheetId` and the active tab shifted by two;
//! - the styles part: the fonts, fills, borders, number formats and cell
//!   formats of `Synthèse`/`Constats`, and one cell format per (format of a
//!   flagged cell, mark) pair, the cell's own with only the fill changed;
//! - the sheets that have flagged cells: the `s` attribute of those cells
//!   (a flagged cell absent from the XML is inserted in order), and a
//!   `legacyDrawing` when the sheet gets its first notes;
//! - notes: a comments part and a VML drawing per sheet (a submitter's note on
//!   a flagged cell is kept and bilan's text appended to it);
//! - the content types and the relationships of the changed parts.
//!
//! `Synthèse` and `Constats` are written by rust_xlsxwriter into a scratch
//! package (the same code as the re-created workbook) whose two sheets, styles
//! and defined names are merged in. Anything unexpected in a part that must
//! change (a prefixed root element, a strict-OOXML namespace, a missing styles
//! part, a sheet already named `Synthèse`…) is a [`Refusal`]: the caller then
//! re-creates the workbook and says why in `Synthèse`, never a broken file.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::io::{Cursor, Read, Write};
use std::ops::Range;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::Mark;
use crate::base::model::{column_letters, CellRef};

/// Why a package could not be patched, in French, for `Synthèse`.
pub(super) type Refusal = String;

const NS_MAIN: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const NS_REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const REL_OFFICE_DOCUMENT: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument";
const REL_STYLES: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles";
const REL_WORKSHEET: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet";
const REL_COMMENTS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/comments";
const REL_VML: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/vmlDrawing";
const CT_WORKSHEET: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml";
const CT_COMMENTS: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml";
const CT_VML: &str = "application/vnd.openxmlformats-officedocument.vmlDrawing";
const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n";

/// Largest part read whole (a sheet, the styles), uncompressed.
const MAX_PART: u64 = 200_000_000;

/// What is marked on one submitted sheet.
pub(super) struct SheetMarks {
    /// The sheet's name, as in the workbook part.
    pub(super) name: String,
    pub(super) cells: BTreeMap<CellRef, Mark>,
    /// The text of the note of each cell that gets one.
    pub(super) notes: BTreeMap<CellRef, String>,
}

/// The two sheets written by rust_xlsxwriter, to be merged in.
pub(super) struct Scratch {
    sheets: [String; 2],
    styles: String,
    strings: Vec<String>,
    defined_names: Vec<String>,
}

impl Scratch {
    /// Reads the scratch package (its first two sheets are `Synthèse` and `Constats`).
    pub(super) fn from_package(bytes: &[u8]) -> Result<Scratch, Refusal> {
        let mut pkg = Package::open(bytes)?;
        let sheet = |pkg: &mut Package, p: &str| pkg.read_text(p)?.ok_or_else(|| refusal("feuille de synthèse"));
        let sheets = [
            sheet(&mut pkg, "xl/worksheets/sheet1.xml")?,
            sheet(&mut pkg, "xl/worksheets/sheet2.xml")?,
        ];
        let styles = pkg.read_text("xl/styles.xml")?.unwrap_or_default();
        let strings = match pkg.read_text("xl/sharedStrings.xml")? {
            Some(s) => shared_strings(&s)?,
            None => Vec::new(),
        };
        let workbook = pkg.read_text("xl/workbook.xml")?.unwrap_or_default();
        let defined_names = children(&workbook, "definedNames")?
            .into_iter()
            .map(|r| workbook[r].to_string())
            .collect();
        Ok(Scratch {
            sheets,
            styles,
            strings,
            defined_names,
        })
    }
}

fn refusal(what: &str) -> Refusal {
    format!("partie du classeur non reconnue ({what})")
}

// ---------------------------------------------------------------------------
// The package.

struct Package<'a> {
    zip: ZipArchive<Cursor<&'a [u8]>>,
    /// Lower-case part name → (name as spelled, index in the zip).
    names: HashMap<String, (String, usize)>,
}

impl<'a> Package<'a> {
    fn open(bytes: &'a [u8]) -> Result<Self, Refusal> {
        let zip = ZipArchive::new(Cursor::new(bytes)).map_err(|_| refusal("archive zip"))?;
        let mut names = HashMap::new();
        for i in 0..zip.len() {
            let Some(Ok(name)) = zip.name_for_index(i) else {
                return Err(refusal("nom de partie"));
            };
            if names.insert(name.to_ascii_lowercase(), (name.to_string(), i)).is_some() {
                return Err(refusal("parties en double"));
            }
        }
        Ok(Self { zip, names })
    }

    fn has(&self, part: &str) -> bool {
        self.names.contains_key(&part.to_ascii_lowercase())
    }

    fn read_text(&mut self, part: &str) -> Result<Option<String>, Refusal> {
        let Some((_, i)) = self.names.get(&part.to_ascii_lowercase()) else {
            return Ok(None);
        };
        let file = self.zip.by_index(*i).map_err(|_| refusal(part))?;
        let mut out = Vec::new();
        file.take(MAX_PART + 1)
            .read_to_end(&mut out)
            .map_err(|_| refusal(part))?;
        if out.len() as u64 > MAX_PART {
            return Err(refusal(part));
        }
        // A part in UTF-16 is left to the re-creation.
        let text = String::from_utf8(out).map_err(|_| refusal(part))?;
        Ok(Some(text.trim_start_matches('\u{feff}').to_string()))
    }
}

/// A part's relationships part: `xl/worksheets/sheet1.xml` → `xl/worksheets/_rels/sheet1.xml.rels`.
fn rels_of(part: &str) -> String {
    match part.rsplit_once('/') {
        Some((dir, file)) => format!("{dir}/_rels/{file}.rels"),
        None => format!("_rels/{part}.rels"),
    }
}

fn dir_of(part: &str) -> &str {
    part.rsplit_once('/').map_or("", |(d, _)| d)
}

/// A relationship's target, as a part name (no leading `/`).
fn resolve(base_dir: &str, target: &str) -> String {
    let target = target.split('#').next().unwrap_or("");
    let mut parts: Vec<&str> = if let Some(abs) = target.strip_prefix('/') {
        return normalise(abs.split('/').collect());
    } else {
        base_dir.split('/').filter(|s| !s.is_empty()).collect()
    };
    parts.extend(target.split('/'));
    normalise(parts)
}

fn normalise(parts: Vec<&str>) -> String {
    let mut out: Vec<&str> = Vec::new();
    for p in parts {
        match p {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            p => out.push(p),
        }
    }
    out.join("/")
}

struct Rel {
    id: String,
    kind: String,
    target: String,
    external: bool,
}

fn parse_rels(xml: &str) -> Result<Vec<Rel>, Refusal> {
    let mut r = reader(xml);
    let mut out = Vec::new();
    let mut root_seen = false;
    loop {
        match r.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                if !root_seen {
                    root_seen = true;
                    if e.name().as_ref() != "Relationships" {
                        return Err(refusal("relations"));
                    }
                    continue;
                }
                if e.local_name().as_ref() == "Relationship" {
                    out.push(Rel {
                        id: attr(&e, "Id").unwrap_or_default(),
                        kind: attr(&e, "Type").unwrap_or_default(),
                        target: attr(&e, "Target").unwrap_or_default(),
                        external: attr(&e, "TargetMode").is_some_and(|m| m == "External"),
                    });
                }
            }
            Ok(Event::Eof) => break,
            Err(_) => return Err(refusal("relations")),
            _ => {}
        }
    }
    Ok(out)
}

/// `rels` with `new` relationships added (a new relationships part when `rels` is `None`).
fn add_rels(rels: Option<&str>, new: &[(String, &str, String)]) -> Result<String, Refusal> {
    let mut items = String::new();
    for (id, kind, target) in new {
        let _ = write!(
            items,
            r#"<Relationship Id="{}" Type="{kind}" Target="{}"/>"#,
            esc(id),
            esc(target)
        );
    }
    match rels {
        Some(xml) => insert_before_last(xml, "</Relationships>", &items).ok_or_else(|| refusal("relations")),
        None => Ok(format!(
            "{XML_DECL}<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">{items}</Relationships>"
        )),
    }
}

fn insert_before_last(xml: &str, end_tag: &str, what: &str) -> Option<String> {
    let at = xml.rfind(end_tag)?;
    let mut out = String::with_capacity(xml.len() + what.len());
    out.push_str(&xml[..at]);
    out.push_str(what);
    out.push_str(&xml[at..]);
    Some(out)
}

/// A relationship id not in `taken`.
fn fresh_id(taken: &mut HashSet<String>, stem: &str) -> String {
    let mut n = 1;
    loop {
        let id = format!("{stem}{n}");
        if taken.insert(id.clone()) {
            return id;
        }
        n += 1;
    }
}

/// A part name not in the package nor already chosen.
fn fresh_part(pkg: &Package, chosen: &mut HashSet<String>, dir: &str, stem: &str, ext: &str) -> String {
    let mut n = 1;
    loop {
        let name = if dir.is_empty() {
            format!("{stem}{n}.{ext}")
        } else {
            format!("{dir}/{stem}{n}.{ext}")
        };
        if !pkg.has(&name) && chosen.insert(name.to_ascii_lowercase()) {
            return name;
        }
        n += 1;
    }
}

// ---------------------------------------------------------------------------
// XML helpers: parts are spliced, never re-serialised, so that what bilan
// does not change keeps its bytes.

fn reader(xml: &str) -> Reader<&[u8]> {
    let mut r = Reader::from_str(xml);
    r.config_mut().check_end_names = false;
    r
}

fn attr(e: &BytesStart<'_>, key: &str) -> Option<String> {
    let a = e.try_get_attribute(key).ok()??;
    a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
        .ok()
        .map(|v| v.into_owned())
}

/// The raw (escaped) value of an attribute.
fn raw_attr<'e>(e: &'e BytesStart<'_>, key: &str) -> Option<std::borrow::Cow<'e, str>> {
    e.attributes()
        .with_checks(false)
        .filter_map(Result::ok)
        .find(|a| a.key.as_ref() == key)
        .map(|a| a.value)
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A start tag rebuilt with some attributes set (raw, already escaped values)
/// and others removed; the other attributes keep their raw values.
fn retag(e: &BytesStart<'_>, set: &[(&str, &str)], remove: &[&str], empty: bool) -> String {
    let mut out = String::with_capacity(64);
    out.push('<');
    out.push_str(e.name().as_ref());
    let mut done = vec![false; set.len()];
    for a in e.attributes().with_checks(false).filter_map(Result::ok) {
        let key = a.key.as_ref();
        if remove.contains(&key) {
            continue;
        }
        let value = match set.iter().position(|(k, _)| *k == key) {
            Some(i) => {
                done[i] = true;
                std::borrow::Cow::Borrowed(set[i].1)
            }
            None => a.value,
        };
        let _ = write!(out, " {key}=\"{}\"", value.replace('"', "&quot;"));
    }
    for (i, (k, v)) in set.iter().enumerate() {
        if !done[i] {
            let _ = write!(out, " {k}=\"{v}\"");
        }
    }
    out.push_str(if empty { "/>" } else { ">" });
    out
}

/// The root element's qualified name and its namespace declarations.
fn root(xml: &str) -> Result<(String, HashMap<String, String>), Refusal> {
    let mut r = reader(xml);
    loop {
        match r.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                let mut ns = HashMap::new();
                for a in e.attributes().with_checks(false).filter_map(Result::ok) {
                    let k = a.key.as_ref();
                    if k == "xmlns" {
                        ns.insert(String::new(), a.value.into_owned());
                    } else if let Some(p) = k.strip_prefix("xmlns:") {
                        ns.insert(p.to_string(), a.value.into_owned());
                    }
                }
                return Ok((e.name().as_ref().to_string(), ns));
            }
            Ok(Event::Eof) | Err(_) => return Err(refusal("racine XML")),
            _ => {}
        }
    }
}

/// A SpreadsheetML part whose root is `name`, unprefixed, in the transitional
/// namespace; returns the prefix bound to the relationships namespace.
fn check_root(xml: &str, name: &str) -> Result<Option<String>, Refusal> {
    let (root_name, ns) = root(xml)?;
    if root_name != name || ns.get("").map(String::as_str) != Some(NS_MAIN) {
        return Err(refusal(name));
    }
    Ok(ns
        .iter()
        .find(|(p, v)| !p.is_empty() && v.as_str() == NS_REL)
        .map(|(p, _)| p.clone()))
}

/// The byte ranges of the children of the first element `parent` (at any depth).
fn children(xml: &str, parent: &str) -> Result<Vec<Range<usize>>, Refusal> {
    let mut r = reader(xml);
    let mut inside = false;
    let mut depth = 0usize;
    let mut start = 0usize;
    let mut out = Vec::new();
    loop {
        let before = r.buffer_position() as usize;
        match r.read_event() {
            Ok(Event::Start(e)) => {
                if inside {
                    if depth == 0 {
                        start = before;
                    }
                    depth += 1;
                } else if e.local_name().as_ref() == parent {
                    inside = true;
                }
            }
            Ok(Event::Empty(e)) => {
                if inside && depth == 0 {
                    out.push(before..r.buffer_position() as usize);
                } else if !inside && e.local_name().as_ref() == parent {
                    return Ok(out);
                }
            }
            Ok(Event::End(_)) if inside => {
                if depth == 0 {
                    return Ok(out);
                }
                depth -= 1;
                if depth == 0 {
                    out.push(start..r.buffer_position() as usize);
                }
            }
            Ok(Event::Eof) => return Ok(out),
            Err(_) => return Err(refusal(parent)),
            _ => {}
        }
    }
}

/// The raw inner XML of each `<si>` of a shared-strings part.
fn shared_strings(xml: &str) -> Result<Vec<String>, Refusal> {
    let items = children(xml, "sst")?;
    Ok(items
        .into_iter()
        .map(|r| {
            let s = &xml[r];
            match (s.find('>'), s.rfind("</")) {
                (Some(a), Some(b)) if a < b && !s[..a].ends_with('/') => s[a + 1..b].to_string(),
                _ => String::new(),
            }
        })
        .collect())
}

// ---------------------------------------------------------------------------
// The styles part.

/// A collection of the styles part (`fonts`, `cellXfs`…): where it is and what it holds.
#[derive(Default, Clone)]
struct Collection {
    /// The start tag (or the whole element when it is empty).
    tag: Range<usize>,
    empty: bool,
    /// Where the end tag starts.
    end: usize,
    items: Vec<Range<usize>>,
}

fn collections(xml: &str, wanted: &[&str]) -> Result<HashMap<String, Collection>, Refusal> {
    let mut r = reader(xml);
    let mut depth = 0usize;
    let mut out: HashMap<String, Collection> = HashMap::new();
    let mut current: Option<(String, Collection)> = None;
    let mut item_start = 0usize;
    loop {
        let before = r.buffer_position() as usize;
        match r.read_event() {
            Ok(Event::Start(e)) => {
                depth += 1;
                let name = e.local_name().as_ref().to_string();
                if depth == 2 && wanted.contains(&name.as_str()) {
                    let c = Collection {
                        tag: before..r.buffer_position() as usize,
                        ..Collection::default()
                    };
                    current = Some((name, c));
                } else if depth == 3 {
                    item_start = before;
                }
            }
            Ok(Event::Empty(e)) => {
                let local = e.local_name();
                let name = local.as_ref();
                if depth == 1 && wanted.contains(&name) {
                    let end = r.buffer_position() as usize;
                    out.entry(name.to_string()).or_insert(Collection {
                        tag: before..end,
                        empty: true,
                        end,
                        items: Vec::new(),
                    });
                } else if depth == 2 {
                    if let Some((_, c)) = current.as_mut() {
                        c.items.push(before..r.buffer_position() as usize);
                    }
                }
            }
            Ok(Event::End(_)) => {
                if depth == 3 {
                    if let Some((_, c)) = current.as_mut() {
                        c.items.push(item_start..r.buffer_position() as usize);
                    }
                } else if depth == 2 {
                    if let Some((name, mut c)) = current.take() {
                        c.end = before;
                        out.entry(name).or_insert(c);
                    }
                }
                depth = depth.saturating_sub(1);
            }
            Ok(Event::Eof) => return Ok(out),
            Err(_) => return Err(refusal("styles")),
            _ => {}
        }
    }
}

/// The styles part being extended.
struct Styles {
    xml: String,
    colls: HashMap<String, Collection>,
    /// Counts before anything is added.
    fonts: usize,
    fills: usize,
    borders: usize,
    xfs: usize,
    max_numfmt: u32,
    /// What the scratch package brings (items of each collection).
    add: HashMap<&'static str, Vec<String>>,
    /// (base format, mark) → new format index.
    marked: HashMap<(u32, Mark), u32>,
    /// Fill colour → new fill index.
    mark_fills: HashMap<u32, usize>,
}

impl Styles {
    fn new(xml: String) -> Result<Self, Refusal> {
        check_root(&xml, "styleSheet")?;
        let colls = collections(&xml, &["numFmts", "fonts", "fills", "borders", "cellXfs"])?;
        for needed in ["fonts", "fills", "borders", "cellXfs"] {
            if !colls.contains_key(needed) {
                return Err(refusal("styles"));
            }
        }
        let count = |n: &str| colls.get(n).map_or(0, |c| c.items.len());
        let max_numfmt = colls
            .get("numFmts")
            .map(|c| {
                c.items
                    .iter()
                    .filter_map(|r| num_attr(&xml[r.clone()], "numFmtId"))
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        Ok(Self {
            fonts: count("fonts"),
            fills: count("fills"),
            borders: count("borders"),
            xfs: count("cellXfs"),
            max_numfmt,
            xml,
            colls,
            add: HashMap::new(),
            marked: HashMap::new(),
            mark_fills: HashMap::new(),
        })
    }

    /// Brings in the scratch package's formats; returns the offset of its cell formats.
    fn merge_scratch(&mut self, scratch: &str) -> Result<u32, Refusal> {
        if scratch.is_empty() {
            return Ok(self.xfs as u32);
        }
        let sc = collections(scratch, &["numFmts", "fonts", "fills", "borders", "cellXfs"])?;
        let items = |n: &str| -> Vec<&str> {
            sc.get(n)
                .map(|c| c.items.iter().map(|r| &scratch[r.clone()]).collect())
                .unwrap_or_default()
        };
        let mut numfmt_map: HashMap<u32, u32> = HashMap::new();
        let mut next = self.max_numfmt.max(163) + 1;
        let mut numfmts = Vec::new();
        for item in items("numFmts") {
            let Some(id) = num_attr(item, "numFmtId") else { continue };
            let e = start_of(item)?;
            numfmts.push(tag_with(item, &e, &[("numFmtId", &next.to_string())]));
            numfmt_map.insert(id, next);
            next += 1;
        }
        self.max_numfmt = next - 1;
        let xf_offset = self.xfs as u32;
        let mut xfs = Vec::new();
        for item in items("cellXfs") {
            let e = start_of(item)?;
            let shift =
                |key: &str, base: usize| -> String { (num_attr(item, key).unwrap_or(0) as usize + base).to_string() };
            let numfmt = num_attr(item, "numFmtId").unwrap_or(0);
            let numfmt = numfmt_map.get(&numfmt).copied().unwrap_or(numfmt).to_string();
            let font = shift("fontId", self.fonts);
            let fill = shift("fillId", self.fills);
            let border = shift("borderId", self.borders);
            xfs.push(tag_with(
                item,
                &e,
                &[
                    ("numFmtId", &numfmt),
                    ("fontId", &font),
                    ("fillId", &fill),
                    ("borderId", &border),
                    ("xfId", "0"),
                ],
            ));
        }
        let fonts: Vec<String> = items("fonts").into_iter().map(str::to_string).collect();
        let fills: Vec<String> = items("fills").into_iter().map(str::to_string).collect();
        let borders: Vec<String> = items("borders").into_iter().map(str::to_string).collect();
        self.fonts += fonts.len();
        self.fills += fills.len();
        self.borders += borders.len();
        self.xfs += xfs.len();
        self.add.entry("numFmts").or_default().extend(numfmts);
        self.add.entry("fonts").or_default().extend(fonts);
        self.add.entry("fills").or_default().extend(fills);
        self.add.entry("borders").or_default().extend(borders);
        self.add.entry("cellXfs").or_default().extend(xfs);
        Ok(xf_offset)
    }

    /// The cell format of a cell whose format was `base`, marked `mark`: the
    /// same format with the mark's fill.
    fn marked(&mut self, base: u32, mark: Mark) -> Result<u32, Refusal> {
        if let Some(&i) = self.marked.get(&(base, mark)) {
            return Ok(i);
        }
        let color = mark.fill();
        let fill = match self.mark_fills.get(&color) {
            Some(&f) => f,
            None => {
                let f = self.fills;
                self.fills += 1;
                self.add.entry("fills").or_default().push(format!(
                    r#"<fill><patternFill patternType="solid"><fgColor rgb="FF{color:06X}"/><bgColor indexed="64"/></patternFill></fill>"#
                ));
                self.mark_fills.insert(color, f);
                f
            }
        };
        let items = &self.colls["cellXfs"].items;
        let source = items
            .get(base as usize)
            .or_else(|| items.first())
            .map(|r| self.xml[r.clone()].to_string());
        let xf = match source {
            Some(item) => {
                let e = start_of(&item)?;
                tag_with(&item, &e, &[("fillId", &fill.to_string()), ("applyFill", "1")])
            }
            None => format!(r#"<xf numFmtId="0" fontId="0" fillId="{fill}" borderId="0" xfId="0" applyFill="1"/>"#),
        };
        let i = self.xfs as u32;
        self.xfs += 1;
        self.add.entry("cellXfs").or_default().push(xf);
        self.marked.insert((base, mark), i);
        Ok(i)
    }

    fn finish(self) -> String {
        let mut edits: Vec<(Range<usize>, String)> = Vec::new();
        for name in ["numFmts", "fonts", "fills", "borders", "cellXfs"] {
            let Some(add) = self.add.get(name).filter(|a| !a.is_empty()) else {
                continue;
            };
            let joined = add.concat();
            match self.colls.get(name) {
                Some(c) => {
                    let total = c.items.len() + add.len();
                    let start = &self.xml[c.tag.clone()];
                    let tag = match start_of(start) {
                        Ok(e) => retag(&e, &[("count", &total.to_string())], &[], false),
                        Err(_) => format!("<{name} count=\"{total}\">"),
                    };
                    if c.empty {
                        edits.push((c.tag.clone(), format!("{tag}{joined}</{name}>")));
                    } else {
                        edits.push((c.tag.clone(), tag));
                        edits.push((c.end..c.end, joined));
                    }
                }
                None => {
                    // Only numFmts may be missing: it comes first in the style sheet.
                    let at = self
                        .xml
                        .find("<styleSheet")
                        .and_then(|s| self.xml[s..].find('>').map(|e| s + e + 1))
                        .unwrap_or(0);
                    edits.push((at..at, format!("<numFmts count=\"{}\">{joined}</numFmts>", add.len())));
                }
            }
        }
        splice(&self.xml, edits)
    }
}

fn num_attr(item: &str, key: &str) -> Option<u32> {
    let e = start_of(item).ok()?;
    attr(&e, key)?.trim().parse().ok()
}

/// The start tag of an element given as text.
fn start_of(item: &str) -> Result<BytesStart<'_>, Refusal> {
    let mut r = reader(item);
    loop {
        match r.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => return Ok(e),
            Ok(Event::Eof) | Err(_) => return Err(refusal("styles")),
            _ => {}
        }
    }
}

/// An element given as text with attributes of its start tag set; the rest kept.
fn tag_with(item: &str, e: &BytesStart<'_>, set: &[(&str, &str)]) -> String {
    let empty = item.trim_end().ends_with("/>") && !item.contains("</");
    let tag_end = item.find('>').map_or(item.len(), |i| i + 1);
    let mut out = retag(e, set, &[], empty);
    if !empty {
        out.push_str(&item[tag_end..]);
    }
    out
}

/// `xml` with the byte ranges of `edits` replaced (ranges in order, not overlapping).
fn splice(xml: &str, mut edits: Vec<(Range<usize>, String)>) -> String {
    edits.sort_by_key(|(r, _)| (r.start, r.end));
    let mut out = String::with_capacity(xml.len() + edits.iter().map(|(_, s)| s.len()).sum::<usize>());
    let mut at = 0;
    for (r, s) in edits {
        if r.start < at {
            continue;
        }
        out.push_str(&xml[at..r.start]);
        out.push_str(&s);
        at = r.end;
    }
    out.push_str(&xml[at..]);
    out
}

// ---------------------------------------------------------------------------
// A submitted sheet: the `s` of its flagged cells.

/// A cell reference `B12` → (row, col), zero-based, without allocating.
fn parse_ref(r: &str) -> Option<(u32, u32)> {
    let b = r.as_bytes();
    let split = b.iter().position(|c| c.is_ascii_digit())?;
    if split == 0 || split > 3 {
        return None;
    }
    let mut col: u32 = 0;
    for c in &b[..split] {
        if !c.is_ascii_alphabetic() {
            return None;
        }
        col = col * 26 + (c.to_ascii_uppercase() - b'A') as u32 + 1;
    }
    let row: u32 = r[split..].parse().ok()?;
    (row >= 1 && col >= 1).then(|| (row - 1, col - 1))
}

/// Children of `worksheet` that come after `legacyDrawing`, in the schema's order.
const AFTER_LEGACY_DRAWING: &[&str] = &[
    "legacyDrawingHF",
    "drawingHF",
    "picture",
    "oleObjects",
    "controls",
    "webPublishItems",
    "tableParts",
    "extLst",
];

struct SheetOut {
    xml: String,
    /// The `r:id` of the sheet's existing `legacyDrawing`, if any.
    legacy: Option<String>,
}

/// Patches one sheet. `legacy`: the `legacyDrawing` element to add when the
/// sheet has none.
fn patch_sheet(
    xml: &str,
    marks: &BTreeMap<CellRef, Mark>,
    styles: &mut Styles,
    legacy: Option<&str>,
) -> Result<SheetOut, Refusal> {
    let rel_prefix = check_root(xml, "worksheet")?;
    let marks: Vec<(u32, u32, Mark)> = marks.iter().map(|(c, m)| (c.row, c.col, *m)).collect();
    let mut next = 0usize;
    let mut r = reader(xml);
    let mut out = String::with_capacity(xml.len() + marks.len() * 24);
    let mut copied = 0usize;
    let mut depth = 0usize;
    let mut col_styles: Vec<(u32, u32, u32)> = Vec::new();
    let mut in_data = false;
    let mut data_seen = false;
    let mut row: Option<(u32, Option<u32>)> = None; // (row, row style)
    let mut last_row: Option<u32> = None;
    let mut last_col: Option<u32> = None;
    let mut existing_legacy: Option<String> = None;
    let mut legacy_done = legacy.is_none();

    loop {
        let before = r.buffer_position() as usize;
        let ev = r.read_event().map_err(|_| refusal("feuille"))?;
        let after = r.buffer_position() as usize;
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(ev, Event::Empty(_));
                let name = e.local_name();
                let name = name.as_ref();
                if depth == 1 && !legacy_done && AFTER_LEGACY_DRAWING.contains(&name) {
                    out.push_str(&xml[copied..before]);
                    copied = before;
                    out.push_str(legacy.unwrap_or(""));
                    legacy_done = true;
                }
                match name {
                    "col" if depth == 2 => {
                        if let (Some(a), Some(b), Some(s)) = (
                            attr(e, "min").and_then(|v| v.parse::<u32>().ok()),
                            attr(e, "max").and_then(|v| v.parse::<u32>().ok()),
                            attr(e, "style").and_then(|v| v.parse::<u32>().ok()),
                        ) {
                            col_styles.push((a.saturating_sub(1), b.saturating_sub(1), s));
                        }
                    }
                    "sheetData" if depth == 1 => {
                        data_seen = true;
                        if empty {
                            out.push_str(&xml[copied..before]);
                            out.push_str("<sheetData>");
                            new_rows(&mut out, &marks, &mut next, u32::MAX, styles, &col_styles)?;
                            out.push_str("</sheetData>");
                            copied = after;
                        } else {
                            in_data = true;
                        }
                    }
                    "legacyDrawing" if depth == 1 => {
                        legacy_done = true;
                        existing_legacy = e
                            .attributes()
                            .with_checks(false)
                            .filter_map(Result::ok)
                            .find(|a| a.key.local_name().as_ref() == "id")
                            .map(|a| a.value.into_owned());
                    }
                    "row" if in_data && depth == 2 => {
                        let n = attr(e, "r")
                            .and_then(|v| v.trim().parse::<u32>().ok())
                            .map(|n| n.saturating_sub(1))
                            .unwrap_or_else(|| last_row.map_or(0, |l| l + 1));
                        last_row = Some(n);
                        last_col = None;
                        // Marked rows that are missing, before this one.
                        if next < marks.len() && marks[next].0 < n {
                            out.push_str(&xml[copied..before]);
                            copied = before;
                            new_rows(&mut out, &marks, &mut next, n, styles, &col_styles)?;
                        }
                        let custom = attr(e, "customFormat").is_some_and(|v| v == "1" || v == "true");
                        let row_style = custom
                            .then(|| attr(e, "s").and_then(|v| v.parse::<u32>().ok()))
                            .flatten();
                        let has_marks = next < marks.len() && marks[next].0 == n;
                        if empty && has_marks {
                            out.push_str(&xml[copied..before]);
                            let tag = row_tag(e, &marks, next, n);
                            out.push_str(&tag);
                            while next < marks.len() && marks[next].0 == n {
                                let (_, c, m) = marks[next];
                                let base = row_style.unwrap_or_else(|| col_style(&col_styles, c));
                                push_cell(&mut out, n, c, styles.marked(base, m)?);
                                next += 1;
                            }
                            out.push_str("</row>");
                            copied = after;
                        } else if !empty {
                            if has_marks {
                                // Widen `spans` to the cells that may be added.
                                out.push_str(&xml[copied..before]);
                                out.push_str(&row_tag(e, &marks, next, n));
                                copied = after;
                            }
                            row = Some((n, row_style));
                        }
                    }
                    "c" if depth == 3 => {
                        if let Some((n, row_style)) = row {
                            let c = attr(e, "r")
                                .and_then(|v| parse_ref(&v).map(|(_, c)| c))
                                .unwrap_or_else(|| last_col.map_or(0, |l| l + 1));
                            last_col = Some(c);
                            if next < marks.len() && marks[next].0 == n && marks[next].1 < c {
                                out.push_str(&xml[copied..before]);
                                copied = before;
                                while next < marks.len() && marks[next].0 == n && marks[next].1 < c {
                                    let (_, mc, m) = marks[next];
                                    let base = row_style.unwrap_or_else(|| col_style(&col_styles, mc));
                                    push_cell(&mut out, n, mc, styles.marked(base, m)?);
                                    next += 1;
                                }
                            }
                            if next < marks.len() && marks[next].0 == n && marks[next].1 == c {
                                let base = attr(e, "s").and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
                                let s = styles.marked(base, marks[next].2)?;
                                out.push_str(&xml[copied..before]);
                                out.push_str(&retag(e, &[("s", &s.to_string())], &[], empty));
                                copied = after;
                                next += 1;
                            }
                        }
                    }
                    _ => {}
                }
                if !empty {
                    depth += 1;
                }
            }
            Event::End(ref e) => {
                depth = depth.saturating_sub(1);
                let name = e.local_name();
                match name.as_ref() {
                    "row" if in_data && depth == 2 => {
                        if let Some((n, row_style)) = row.take() {
                            if next < marks.len() && marks[next].0 == n {
                                out.push_str(&xml[copied..before]);
                                copied = before;
                                while next < marks.len() && marks[next].0 == n {
                                    let (_, c, m) = marks[next];
                                    let base = row_style.unwrap_or_else(|| col_style(&col_styles, c));
                                    push_cell(&mut out, n, c, styles.marked(base, m)?);
                                    next += 1;
                                }
                            }
                        }
                    }
                    "sheetData" if depth == 1 => {
                        in_data = false;
                        if next < marks.len() {
                            out.push_str(&xml[copied..before]);
                            copied = before;
                            new_rows(&mut out, &marks, &mut next, u32::MAX, styles, &col_styles)?;
                        }
                    }
                    _ => {}
                }
                if depth == 0 && !legacy_done {
                    out.push_str(&xml[copied..before]);
                    copied = before;
                    out.push_str(legacy.unwrap_or(""));
                    legacy_done = true;
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !data_seen || next < marks.len() {
        return Err(refusal("données de la feuille"));
    }
    out.push_str(&xml[copied..]);
    // The new `legacyDrawing` needs the relationships prefix declared on the root.
    if legacy.is_some() && existing_legacy.is_none() && rel_prefix.as_deref() != Some("r") {
        return Err(refusal("espace de noms des relations"));
    }
    Ok(SheetOut {
        xml: out,
        legacy: existing_legacy,
    })
}

/// A row's start tag with `spans` widened to the marked cells of row `n`.
fn row_tag(e: &BytesStart<'_>, marks: &[(u32, u32, Mark)], next: usize, n: u32) -> String {
    let Some(spans) = attr(e, "spans") else {
        return retag(e, &[], &[], false);
    };
    let (mut lo, mut hi) = spans
        .split_once(':')
        .and_then(|(a, b)| Some((a.trim().parse::<u32>().ok()?, b.trim().parse::<u32>().ok()?)))
        .unwrap_or((u32::MAX, 0));
    for &(_, c, _) in marks[next..].iter().take_while(|(r, _, _)| *r == n) {
        lo = lo.min(c + 1);
        hi = hi.max(c + 1);
    }
    retag(e, &[("spans", &format!("{lo}:{hi}"))], &[], false)
}

fn push_cell(out: &mut String, row: u32, col: u32, s: u32) {
    let _ = write!(out, "<c r=\"{}{}\" s=\"{s}\"/>", column_letters(col), row as u64 + 1);
}

/// The style of column `c` (`<col style>`), else the default one.
fn col_style(cols: &[(u32, u32, u32)], c: u32) -> u32 {
    cols.iter()
        .find(|(a, b, _)| (*a..=*b).contains(&c))
        .map_or(0, |(_, _, s)| *s)
}

/// New rows for the marked cells before row `until`.
fn new_rows(
    out: &mut String,
    marks: &[(u32, u32, Mark)],
    next: &mut usize,
    until: u32,
    styles: &mut Styles,
    cols: &[(u32, u32, u32)],
) -> Result<(), Refusal> {
    while *next < marks.len() && marks[*next].0 < until {
        let n = marks[*next].0;
        let _ = write!(out, "<row r=\"{}\">", n as u64 + 1);
        while *next < marks.len() && marks[*next].0 == n {
            let (_, c, m) = marks[*next];
            push_cell(out, n, c, styles.marked(col_style(cols, c), m)?);
            *next += 1;
        }
        out.push_str("</row>");
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Notes.

fn note_run(text: &str) -> String {
    format!(
        r#"<r><rPr><sz val="9"/><color indexed="81"/><rFont val="Tahoma"/><family val="2"/></rPr><t xml:space="preserve">{}</t></r>"#,
        esc(text)
    )
}

/// A new comments part.
fn new_comments(notes: &BTreeMap<CellRef, String>) -> String {
    let mut out =
        format!("{XML_DECL}<comments xmlns=\"{NS_MAIN}\"><authors><author>bilan</author></authors><commentList>");
    for (cell, text) in notes {
        let _ = write!(
            out,
            r#"<comment ref="{cell}" authorId="0"><text>{}</text></comment>"#,
            note_run(text)
        );
    }
    out.push_str("</commentList></comments>");
    out
}

/// The submitter's comments part with bilan's notes: appended to a note already
/// on the cell, new comments for the others. Returns the part and the cells
/// that got a new comment (they need a shape in the VML drawing).
fn merge_comments(xml: &str, notes: &BTreeMap<CellRef, String>) -> Result<(String, Vec<CellRef>), Refusal> {
    check_root(xml, "comments")?;
    let mut r = reader(xml);
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    let mut authors = 0usize;
    let mut current: Option<CellRef> = None;
    let mut seen: HashSet<CellRef> = HashSet::new();
    let mut author_id = None;
    let mut list_end = None;
    let mut list_empty: Option<Range<usize>> = None;
    loop {
        let before = r.buffer_position() as usize;
        match r.read_event() {
            Ok(Event::Start(e)) => match e.local_name().as_ref() {
                "comment" => current = attr(&e, "ref").and_then(|v| crate::base::model::CellRef::parse(&v)),
                "author" => authors += 1,
                _ => {}
            },
            Ok(Event::Empty(e)) => match e.local_name().as_ref() {
                "author" => authors += 1,
                "authors" => {
                    author_id = Some(0);
                    edits.push((
                        before..r.buffer_position() as usize,
                        "<authors><author>bilan</author></authors>".into(),
                    ));
                }
                "commentList" => list_empty = Some(before..r.buffer_position() as usize),
                _ => {}
            },
            Ok(Event::End(e)) => match e.local_name().as_ref() {
                "authors" => {
                    author_id = Some(authors);
                    edits.push((before..before, "<author>bilan</author>".into()));
                }
                "text" => {
                    if let Some(c) = current {
                        if let Some(text) = notes.get(&c) {
                            seen.insert(c);
                            edits.push((before..before, note_run(&format!("\n\n{text}"))));
                        }
                    }
                }
                "comment" => current = None,
                "commentList" => list_end = Some(before),
                _ => {}
            },
            Ok(Event::Eof) => break,
            Err(_) => return Err(refusal("notes")),
            _ => {}
        }
    }
    let author_id = author_id.ok_or_else(|| refusal("auteurs des notes"))?;
    let mut fresh = Vec::new();
    let mut added = String::new();
    for (cell, text) in notes.iter().filter(|(c, _)| !seen.contains(c)) {
        let _ = write!(
            added,
            r#"<comment ref="{cell}" authorId="{author_id}"><text>{}</text></comment>"#,
            note_run(text)
        );
        fresh.push(*cell);
    }
    match (list_end, list_empty) {
        (Some(at), _) => edits.push((at..at, added)),
        (None, Some(range)) => edits.push((range, format!("<commentList>{added}</commentList>"))),
        (None, None) => return Err(refusal("liste des notes")),
    }
    Ok((splice(xml, edits), fresh))
}

const VML_SHAPETYPE: &str = r#"<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" path="m,l,21600r21600,l21600,xe"><v:stroke joinstyle="miter"/><v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>"#;

fn vml_shape(id: u64, cell: CellRef, z: usize) -> String {
    let (r, c) = (cell.row, cell.col);
    let anchor = format!(
        "{}, 15, {}, 10, {}, 15, {}, 4",
        (c + 1).min(16_383),
        r.saturating_sub(1),
        (c + 5).min(16_383),
        (r + 8).min(1_048_575)
    );
    format!(
        r##"<v:shape id="_x0000_s{id}" type="#_x0000_t202" style="position:absolute;margin-left:0;margin-top:0;width:270pt;height:120pt;z-index:{z};visibility:hidden" fillcolor="#ffffe1" o:insetmode="auto"><v:fill color2="#ffffe1"/><v:shadow on="t" color="black" obscured="t"/><v:path o:connecttype="none"/><v:textbox style="mso-direction-alt:auto"><div style="text-align:left"></div></v:textbox><x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/><x:Anchor>{anchor}</x:Anchor><x:AutoFill>False</x:AutoFill><x:Row>{r}</x:Row><x:Column>{c}</x:Column></x:ClientData></v:shape>"##
    )
}

fn new_vml(block: u64, cells: &[CellRef], first_id: u64) -> String {
    let mut out = format!(
        r#"<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:x="urn:schemas-microsoft-com:office:excel"><o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="{block}"/></o:shapelayout>{VML_SHAPETYPE}"#
    );
    for (i, c) in cells.iter().enumerate() {
        out.push_str(&vml_shape(first_id + i as u64, *c, i + 1));
    }
    out.push_str("</xml>");
    out
}

/// The numbers in a VML drawing's shape ids (`_x0000_s1025`) and id map blocks.
fn vml_ids(vml: &str) -> (u64, u64) {
    let mut max_shape = 0;
    for (i, _) in vml.match_indices("_x0000_s") {
        let digits: String = vml[i + 8..].chars().take_while(char::is_ascii_digit).collect();
        max_shape = max_shape.max(digits.parse().unwrap_or(0));
    }
    let mut max_block = 0;
    for (i, _) in vml.match_indices("data=\"") {
        let list: String = vml[i + 6..].chars().take_while(|c| *c != '"').collect();
        for n in list.split(',') {
            max_block = max_block.max(n.trim().parse().unwrap_or(0));
        }
    }
    (max_shape, max_block)
}

// ---------------------------------------------------------------------------
// The whole package.

struct SheetEntry {
    name: String,
    part: String,
}

/// Patches `original`: see the module's documentation.
pub(super) fn patch(original: &[u8], scratch: &Scratch, marks: &[SheetMarks]) -> Result<Vec<u8>, Refusal> {
    let mut pkg = Package::open(original)?;
    let mut changed: HashMap<String, Vec<u8>> = HashMap::new();
    let mut added: Vec<(String, Vec<u8>)> = Vec::new();
    let mut chosen: HashSet<String> = HashSet::new();

    let types = pkg
        .read_text("[Content_Types].xml")?
        .ok_or_else(|| refusal("types de contenu"))?;
    let root_rels = pkg.read_text("_rels/.rels")?.ok_or_else(|| refusal("relations"))?;
    let wb_part = parse_rels(&root_rels)?
        .into_iter()
        .find(|r| r.kind == REL_OFFICE_DOCUMENT)
        .map(|r| resolve("", &r.target))
        .ok_or_else(|| refusal("classeur"))?;
    let wb_dir = dir_of(&wb_part).to_string();
    let wb_xml = pkg.read_text(&wb_part)?.ok_or_else(|| refusal("classeur"))?;
    let rel_prefix = check_root(&wb_xml, "workbook")?.ok_or_else(|| refusal("espace de noms des relations"))?;
    let wb_rels_part = rels_of(&wb_part);
    let wb_rels_xml = pkg
        .read_text(&wb_rels_part)?
        .ok_or_else(|| refusal("relations du classeur"))?;
    let wb_rels = parse_rels(&wb_rels_xml)?;

    // The sheets, in order.
    let mut sheets: Vec<SheetEntry> = Vec::new();
    for range in children(&wb_xml, "sheets")? {
        let e = start_of(&wb_xml[range])?;
        let name = attr(&e, "name").unwrap_or_default();
        let rid = e
            .attributes()
            .with_checks(false)
            .filter_map(Result::ok)
            .find(|a| a.key.as_ref() == format!("{rel_prefix}:id"))
            .map(|a| a.value.into_owned())
            .unwrap_or_default();
        let part = wb_rels
            .iter()
            .find(|r| r.id == rid && !r.external)
            .map(|r| resolve(&wb_dir, &r.target))
            .unwrap_or_default();
        sheets.push(SheetEntry { name, part });
    }
    for s in &sheets {
        let lower = s.name.to_lowercase();
        if lower == super::SUMMARY.to_lowercase() || lower == super::FINDINGS.to_lowercase() {
            return Err(format!("le classeur a déjà une feuille « {} »", s.name));
        }
    }

    // Styles: the scratch package's formats, then the marks.
    let styles_part = wb_rels
        .iter()
        .find(|r| r.kind == REL_STYLES && !r.external)
        .map(|r| resolve(&wb_dir, &r.target))
        .ok_or_else(|| refusal("styles"))?;
    let mut styles = Styles::new(pkg.read_text(&styles_part)?.ok_or_else(|| refusal("styles"))?)?;
    let xf_offset = styles.merge_scratch(&scratch.styles)?;

    let mut new_types = String::new();
    let mut vml_default = types.to_ascii_lowercase().contains("extension=\"vml\"");
    // Every VML drawing's shape ids and id blocks, so that new shapes are unique.
    let mut max_shape = 0u64;
    let mut max_block = 0u64;
    let vml_parts: Vec<String> = pkg
        .names
        .values()
        .filter(|(n, _)| n.to_ascii_lowercase().ends_with(".vml"))
        .map(|(n, _)| n.clone())
        .collect();
    for v in &vml_parts {
        if let Some(text) = pkg.read_text(v)? {
            let (s, b) = vml_ids(&text);
            max_shape = max_shape.max(s);
            max_block = max_block.max(b);
        }
    }

    for m in marks.iter().filter(|m| !m.cells.is_empty() || !m.notes.is_empty()) {
        let Some(entry) = sheets.iter().find(|s| s.name == m.name) else {
            continue;
        };
        if entry.part.is_empty() {
            return Err(refusal("feuille"));
        }
        let sheet_xml = pkg.read_text(&entry.part)?.ok_or_else(|| refusal("feuille"))?;
        let sheet_dir = dir_of(&entry.part).to_string();
        let rels_part = rels_of(&entry.part);
        let rels_xml = pkg.read_text(&rels_part)?;
        let rels = match &rels_xml {
            Some(x) => parse_rels(x)?,
            None => Vec::new(),
        };
        let mut ids: HashSet<String> = rels.iter().map(|r| r.id.clone()).collect();
        let vml_id = fresh_id(&mut ids, "rIdBilanVml");
        let legacy = (!m.notes.is_empty()).then(|| format!("<legacyDrawing r:id=\"{vml_id}\"/>"));
        let out = patch_sheet(&sheet_xml, &m.cells, &mut styles, legacy.as_deref())?;
        changed.insert(entry.part.clone(), out.xml.into_bytes());
        if m.notes.is_empty() {
            continue;
        }
        let mut new_rels: Vec<(String, &str, String)> = Vec::new();
        // Comments: the submitter's part, or a new one.
        let existing = rels
            .iter()
            .find(|r| r.kind == REL_COMMENTS && !r.external)
            .map(|r| resolve(&sheet_dir, &r.target));
        let fresh_cells: Vec<CellRef> = match existing {
            Some(part) => {
                let xml = pkg.read_text(&part)?.ok_or_else(|| refusal("notes"))?;
                let (merged, fresh) = merge_comments(&xml, &m.notes)?;
                changed.insert(part, merged.into_bytes());
                fresh
            }
            None => {
                let part = fresh_part(&pkg, &mut chosen, &sheet_dir, "bilanNotes", "xml");
                let target = part.rsplit('/').next().unwrap_or(&part).to_string();
                new_rels.push((fresh_id(&mut ids, "rIdBilanNotes"), REL_COMMENTS, target));
                let _ = write!(
                    new_types,
                    r#"<Override PartName="/{}" ContentType="{CT_COMMENTS}"/>"#,
                    esc(&part)
                );
                added.push((part, new_comments(&m.notes).into_bytes()));
                m.notes.keys().copied().collect()
            }
        };
        // The VML drawing: the sheet's own (shapes appended) or a new one.
        match &out.legacy {
            Some(rid) => {
                let part = rels
                    .iter()
                    .find(|r| &r.id == rid && !r.external)
                    .map(|r| resolve(&sheet_dir, &r.target))
                    .ok_or_else(|| refusal("dessin des notes"))?;
                if !fresh_cells.is_empty() {
                    let vml = pkg.read_text(&part)?.ok_or_else(|| refusal("dessin des notes"))?;
                    if !(vml.contains("urn:schemas-microsoft-com:vml")
                        && vml.contains("urn:schemas-microsoft-com:office:excel")
                        && vml.contains("urn:schemas-microsoft-com:office:office"))
                    {
                        return Err(refusal("dessin des notes"));
                    }
                    let mut shapes = String::new();
                    if !vml.contains("\"_x0000_t202\"") {
                        shapes.push_str(VML_SHAPETYPE);
                    }
                    for (i, c) in fresh_cells.iter().enumerate() {
                        max_shape += 1;
                        shapes.push_str(&vml_shape(max_shape, *c, 1000 + i));
                    }
                    let patched =
                        insert_before_last(&vml, "</xml>", &shapes).ok_or_else(|| refusal("dessin des notes"))?;
                    changed.insert(part, patched.into_bytes());
                }
            }
            None => {
                max_block += 1;
                let first = (max_block * 1024 + 1).max(max_shape + 1);
                max_shape = first + fresh_cells.len() as u64;
                let part = fresh_part(&pkg, &mut chosen, &sheet_dir, "bilanNotes", "vml");
                let target = part.rsplit('/').next().unwrap_or(&part).to_string();
                new_rels.push((vml_id.clone(), REL_VML, target));
                added.push((part, new_vml(max_block, &fresh_cells, first).into_bytes()));
                if !vml_default {
                    vml_default = true;
                    let _ = write!(new_types, r#"<Default Extension="vml" ContentType="{CT_VML}"/>"#);
                }
            }
        }
        if !new_rels.is_empty() {
            let xml = add_rels(rels_xml.as_deref(), &new_rels)?;
            if rels_xml.is_some() {
                changed.insert(rels_part, xml.into_bytes());
            } else {
                added.push((rels_part, xml.into_bytes()));
            }
        }
    }

    // The two new sheets.
    let mut wb_ids: HashSet<String> = wb_rels.iter().map(|r| r.id.clone()).collect();
    let mut new_wb_rels = Vec::new();
    let mut new_sheet_tags = String::new();
    let mut sheet_ids: Vec<u32> = children(&wb_xml, "sheets")?
        .into_iter()
        .filter_map(|r| num_attr(&wb_xml[r], "sheetId"))
        .collect();
    let sheets_dir = if wb_dir.is_empty() {
        "worksheets".to_string()
    } else {
        format!("{wb_dir}/worksheets")
    };
    for (i, (name, stem)) in [(super::SUMMARY, "bilanSynthese"), (super::FINDINGS, "bilanConstats")]
        .into_iter()
        .enumerate()
    {
        let part = fresh_part(&pkg, &mut chosen, &sheets_dir, stem, "xml");
        let target = part.strip_prefix(&format!("{wb_dir}/")).unwrap_or(&part).to_string();
        let id = fresh_id(&mut wb_ids, "rIdBilanSheet");
        let sheet_id = sheet_ids.iter().max().copied().unwrap_or(0) + 1;
        sheet_ids.push(sheet_id);
        let _ = write!(
            new_sheet_tags,
            r#"<sheet name="{name}" sheetId="{sheet_id}" {rel_prefix}:id="{id}"/>"#
        );
        new_wb_rels.push((id, REL_WORKSHEET, target));
        let _ = write!(
            new_types,
            r#"<Override PartName="/{}" ContentType="{CT_WORKSHEET}"/>"#,
            esc(&part)
        );
        let xml = scratch_sheet(&scratch.sheets[i], &scratch.strings, xf_offset)?;
        added.push((part, xml.into_bytes()));
    }
    changed.insert(
        wb_part.clone(),
        patch_workbook(&wb_xml, &new_sheet_tags, &scratch.defined_names)?.into_bytes(),
    );
    changed.insert(wb_rels_part, add_rels(Some(&wb_rels_xml), &new_wb_rels)?.into_bytes());
    changed.insert(styles_part, styles.finish().into_bytes());
    if !new_types.is_empty() {
        let t = insert_before_last(&types, "</Types>", &new_types).ok_or_else(|| refusal("types de contenu"))?;
        changed.insert("[Content_Types].xml".into(), t.into_bytes());
    }
    write_package(&mut pkg, &changed, &added)
}

/// Writes the package: every part in its order, copied raw unless changed,
/// then the new parts.
fn write_package(
    pkg: &mut Package,
    changed: &HashMap<String, Vec<u8>>,
    added: &[(String, Vec<u8>)],
) -> Result<Vec<u8>, Refusal> {
    let changed: HashMap<String, &Vec<u8>> = changed.iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(1));
    let mut w = ZipWriter::new(Cursor::new(Vec::with_capacity(pkg.zip.len() * 2048)));
    let fail = |_| refusal("écriture de l'archive");
    for i in 0..pkg.zip.len() {
        let name = match pkg.zip.name_for_index(i) {
            Some(Ok(n)) => n.to_string(),
            _ => return Err(refusal("nom de partie")),
        };
        match changed.get(&name.to_ascii_lowercase()) {
            Some(bytes) => {
                w.start_file(name, options).map_err(fail)?;
                w.write_all(bytes).map_err(|_| refusal("écriture de l'archive"))?;
            }
            None => {
                let file = pkg.zip.by_index_raw(i).map_err(|_| refusal("partie illisible"))?;
                w.raw_copy_file(file).map_err(fail)?;
            }
        }
    }
    for (name, bytes) in added {
        w.start_file(name.as_str(), options).map_err(fail)?;
        w.write_all(bytes).map_err(|_| refusal("écriture de l'archive"))?;
    }
    Ok(w.finish().map_err(fail)?.into_inner())
}

/// The workbook part: the new sheets first, the defined names' and the book
/// views' sheet positions shifted by two, the scratch's defined names added.
fn patch_workbook(xml: &str, new_sheets: &str, scratch_names: &[String]) -> Result<String, Refusal> {
    let mut r = reader(xml);
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    let mut names_end = None;
    let mut sheets_start = None;
    let mut depth = 0usize;
    let mut insert_names_at = None;
    const AFTER_NAMES: &[&str] = &[
        "calcPr",
        "oleSize",
        "customWorkbookViews",
        "pivotCaches",
        "smartTagPr",
        "smartTagTypes",
        "webPublishing",
        "fileRecoveryPr",
        "webPublishObjects",
        "extLst",
    ];
    loop {
        let before = r.buffer_position() as usize;
        let ev = r.read_event().map_err(|_| refusal("classeur"))?;
        let after = r.buffer_position() as usize;
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(ev, Event::Empty(_));
                let name = e.local_name();
                let name = name.as_ref();
                if depth == 1 && insert_names_at.is_none() && AFTER_NAMES.contains(&name) {
                    insert_names_at = Some(before);
                }
                match name {
                    "sheets" if depth == 1 => {
                        if empty {
                            return Err(refusal("feuilles du classeur"));
                        }
                        sheets_start = Some(after);
                    }
                    "definedName" => {
                        if let Some(n) = attr(e, "localSheetId").and_then(|v| v.parse::<u32>().ok()) {
                            edits.push((
                                before..after,
                                retag(e, &[("localSheetId", &(n + 2).to_string())], &[], empty),
                            ));
                        }
                    }
                    "definedNames" if depth == 1 && empty => {
                        edits.push((
                            before..after,
                            format!("<definedNames>{}</definedNames>", scratch_names.concat()),
                        ));
                        names_end = Some(after);
                    }
                    "workbookView" => {
                        let mut set: Vec<(&str, String)> = Vec::new();
                        if let Some(n) = attr(e, "activeTab").and_then(|v| v.parse::<u32>().ok()) {
                            set.push(("activeTab", (n + 2).to_string()));
                        } else {
                            set.push(("activeTab", "2".to_string()));
                        }
                        if attr(e, "firstSheet").is_some() {
                            set.push(("firstSheet", "0".to_string()));
                        }
                        let set: Vec<(&str, &str)> = set.iter().map(|(k, v)| (*k, v.as_str())).collect();
                        edits.push((before..after, retag(e, &set, &[], empty)));
                    }
                    _ => {}
                }
                if !empty {
                    depth += 1;
                }
            }
            Event::End(ref e) => {
                depth = depth.saturating_sub(1);
                if depth == 1 && e.local_name().as_ref() == "definedNames" {
                    edits.push((before..before, scratch_names.concat()));
                    names_end = Some(after);
                }
                if depth == 0 && insert_names_at.is_none() {
                    insert_names_at = Some(before);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let at = sheets_start.ok_or_else(|| refusal("feuilles du classeur"))?;
    edits.push((at..at, new_sheets.to_string()));
    if names_end.is_none() && !scratch_names.is_empty() {
        let at = insert_names_at.ok_or_else(|| refusal("classeur"))?;
        edits.push((
            at..at,
            format!("<definedNames>{}</definedNames>", scratch_names.concat()),
        ));
    }
    Ok(splice(xml, edits))
}

/// A scratch sheet made ready for the patched package: its cell formats
/// shifted past the package's own, its shared strings written inline, not the
/// selected tab.
fn scratch_sheet(xml: &str, strings: &[String], xf_offset: u32) -> Result<String, Refusal> {
    let mut r = reader(xml);
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    let mut shared_cell = false;
    let mut v_start = None;
    loop {
        let before = r.buffer_position() as usize;
        let ev = r.read_event().map_err(|_| refusal("feuille de synthèse"))?;
        let after = r.buffer_position() as usize;
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(ev, Event::Empty(_));
                let name = e.local_name();
                let key = match name.as_ref() {
                    "c" | "row" => "s",
                    "col" => "style",
                    "sheetView" => {
                        edits.push((before..after, retag(e, &[], &["tabSelected"], empty)));
                        continue;
                    }
                    "v" if shared_cell => {
                        v_start = Some(before);
                        continue;
                    }
                    _ => continue,
                };
                let s = raw_attr(e, key).and_then(|v| v.parse::<u32>().ok());
                let shared = name.as_ref() == "c" && raw_attr(e, "t").is_some_and(|t| t == "s");
                let mut set: Vec<(&str, String)> = Vec::new();
                if let Some(s) = s.filter(|s| *s > 0) {
                    set.push((key, (s + xf_offset).to_string()));
                }
                if shared {
                    set.push(("t", "inlineStr".to_string()));
                    shared_cell = !empty;
                }
                if !set.is_empty() {
                    let set: Vec<(&str, &str)> = set.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    edits.push((before..after, retag(e, &set, &[], empty)));
                }
            }
            Event::End(ref e) => match e.local_name().as_ref() {
                "v" if shared_cell => {
                    if let Some(start) = v_start.take() {
                        let index: usize = xml[start..before]
                            .split_once('>')
                            .and_then(|(_, v)| v.trim().parse().ok())
                            .unwrap_or(usize::MAX);
                        let text = strings.get(index).map_or("<t></t>", String::as_str);
                        edits.push((start..after, format!("<is>{text}</is>")));
                    }
                }
                "c" => shared_cell = false,
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(splice(xml, edits))
}

/// A package turned into a macro-enabled one (for an output named `.xlsm`,
/// which Excel opens only so): only the workbook's content type changes.
pub(super) fn as_macro_enabled(package: Vec<u8>) -> Result<Vec<u8>, Refusal> {
    let mut pkg = Package::open(&package)?;
    let types = pkg
        .read_text("[Content_Types].xml")?
        .ok_or_else(|| refusal("types de contenu"))?;
    if types.contains("application/vnd.ms-excel.sheet.macroEnabled.main+xml") {
        drop(pkg);
        return Ok(package);
    }
    let t = types.replace(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    );
    let mut changed = HashMap::new();
    changed.insert("[Content_Types].xml".to_string(), t.into_bytes());
    write_package(&mut pkg, &changed, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_resolve_against_their_source() {
        assert_eq!(resolve("xl", "worksheets/sheet1.xml"), "xl/worksheets/sheet1.xml");
        assert_eq!(resolve("xl/worksheets", "../comments1.xml"), "xl/comments1.xml");
        assert_eq!(resolve("xl", "/xl/styles.xml"), "xl/styles.xml");
        assert_eq!(rels_of("xl/workbook.xml"), "xl/_rels/workbook.xml.rels");
    }

    #[test]
    fn references_parse_without_allocating() {
        assert_eq!(parse_ref("A1"), Some((0, 0)));
        assert_eq!(parse_ref("AB12"), Some((11, 27)));
        assert_eq!(parse_ref("12"), None);
    }
}
