//! The submitter's own `.xlsx`/`.xlsm`, patched (spec 3): every part of the
//! package that bilan does not need to change is copied as it is (its
//! compressed bytes, never decompressed); only these parts change, each in
//! the module that owns it:
//! - the workbook part (`workbook`): `Synthèse` and `Constats` added first, the
//!   defined names' `localSheetId` and the active tab shifted by two;
//! - the styles part (`styles`): the formats of `Synthèse`/`Constats`, and one
//!   cell format per (format of a flagged cell, mark) pair, the cell's own
//!   with only the fill changed;
//! - the sheets that have flagged cells (`sheet`): the `s` attribute of those
//!   cells, and a `legacyDrawing` when the sheet gets its first notes;
//! - notes (`notes`): a comments part and a VML drawing per sheet (a
//!   submitter's note on a flagged cell is kept and bilan's text appended);
//! - the content types and the relationships of the changed parts (`package`,
//!   which also writes the zip back).
//!
//! `Synthèse` and `Constats` are written straight as SpreadsheetML (`front`)
//! by the same code as the re-created workbook's. Anything unexpected in a
//! part that must change (a prefixed root element, a strict-OOXML namespace,
//! a missing styles part, a sheet already named `Synthèse`…) is a
//! [`Refusal`]: the caller then re-creates the workbook and says why in
//! `Synthèse`, never a broken file.

mod front;
mod notes;
mod package;
mod sheet;
mod styles;
mod workbook;
mod xml;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

pub(super) use front::SheetXml;
pub(super) use package::as_macro_enabled;

use super::Mark;
use crate::base::model::CellRef;
use package::{add_rels, dir_of, fresh_id, fresh_part, insert_before_last, parse_rels, rels_of, resolve, Package};
use styles::Styles;
use xml::esc;

/// Why a package could not be patched, in French, for `Synthèse`.
pub(super) type Refusal = String;

const NS_MAIN: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const NS_REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const REL_OFFICE_DOCUMENT: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument";
const REL_STYLES: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles";
const REL_WORKSHEET: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet";
const CT_WORKSHEET: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml";
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

fn refusal(what: &str) -> Refusal {
    format!("partie du classeur non reconnue ({what})")
}

/// What the patch changes and adds, part by part.
#[derive(Default)]
struct Edits {
    changed: HashMap<String, Vec<u8>>,
    added: Vec<(String, Vec<u8>)>,
    /// Names of the added parts (lower case).
    chosen: HashSet<String>,
    /// `Default`/`Override` elements for `[Content_Types].xml`.
    new_types: String,
}

impl Edits {
    /// A new part, with its content type.
    fn add(&mut self, part: String, content_type: &str, bytes: Vec<u8>) {
        let _ = write!(
            self.new_types,
            r#"<Override PartName="/{}" ContentType="{content_type}"/>"#,
            esc(&part)
        );
        self.added.push((part, bytes));
    }
}

/// Patches `original`: see the module's documentation. `front`: `Synthèse`
/// and `Constats`, written by [`SheetXml`].
pub(super) fn patch(original: &[u8], front: [&SheetXml; 2], marks: &[SheetMarks]) -> Result<Vec<u8>, Refusal> {
    let mut pkg = Package::open(original)?;
    let mut edits = Edits::default();

    let types = pkg
        .read_text("[Content_Types].xml")?
        .ok_or_else(|| refusal("types de contenu"))?;
    let root_rels = pkg.read_text("_rels/.rels")?.ok_or_else(|| refusal("relations"))?;
    let wb_part = parse_rels(&root_rels)?
        .into_iter()
        .find(|r| r.kind == REL_OFFICE_DOCUMENT)
        .map(|r| resolve("", &r.target))
        .ok_or_else(|| refusal("classeur"))?;
    let wb = workbook::Workbook::read(&mut pkg, &wb_part)?;
    for s in &wb.sheets {
        let lower = s.name.to_lowercase();
        if lower == super::SUMMARY.to_lowercase() || lower == super::FINDINGS.to_lowercase() {
            return Err(format!("le classeur a déjà une feuille « {} »", s.name));
        }
    }
    let styles_part = wb
        .rels
        .iter()
        .find(|r| r.kind == REL_STYLES && !r.external)
        .map(|r| resolve(&wb.dir, &r.target))
        .ok_or_else(|| refusal("styles"))?;
    let mut styles = Styles::new(pkg.read_text(&styles_part)?.ok_or_else(|| refusal("styles"))?)?;

    // The flagged cells of each sheet, and their notes.
    let mut drawings = notes::Drawings::new(&types);
    for m in marks.iter().filter(|m| !m.cells.is_empty() || !m.notes.is_empty()) {
        let Some(entry) = wb.sheets.iter().find(|s| s.name == m.name) else {
            continue;
        };
        if entry.part.is_empty() {
            return Err(refusal("feuille"));
        }
        let sheet_xml = pkg.read_text(&entry.part)?.ok_or_else(|| refusal("feuille"))?;
        let rels_part = rels_of(&entry.part);
        let rels_xml = pkg.read_text(&rels_part)?;
        let rels = match &rels_xml {
            Some(x) => parse_rels(x)?,
            None => Vec::new(),
        };
        let mut ids: HashSet<String> = rels.iter().map(|r| r.id.clone()).collect();
        let vml_id = fresh_id(&mut ids, "rIdBilanVml");
        let legacy = (!m.notes.is_empty()).then(|| format!("<legacyDrawing r:id=\"{vml_id}\"/>"));
        let out = sheet::patch_sheet(&sheet_xml, &m.cells, &mut styles, legacy.as_deref())?;
        edits.changed.insert(entry.part.clone(), out.xml.into_bytes());
        if m.notes.is_empty() {
            continue;
        }
        let sheet = notes::SheetRels {
            dir: dir_of(&entry.part).to_string(),
            rels_part,
            rels_xml,
            rels,
            ids,
            vml_id,
            legacy: out.legacy,
        };
        drawings.add_notes(&mut pkg, &mut edits, sheet, &m.notes)?;
    }

    // The two new sheets, first.
    let mut wb_ids: HashSet<String> = wb.rels.iter().map(|r| r.id.clone()).collect();
    let mut new_wb_rels = Vec::new();
    let mut new_sheet_tags = String::new();
    let mut names = Vec::new();
    let mut next_sheet_id = wb.max_sheet_id;
    let sheets_dir = if wb.dir.is_empty() {
        "worksheets".to_string()
    } else {
        format!("{}/worksheets", wb.dir)
    };
    for (i, (name, stem)) in [(super::SUMMARY, "bilanSynthese"), (super::FINDINGS, "bilanConstats")]
        .into_iter()
        .enumerate()
    {
        let part = fresh_part(&pkg, &mut edits.chosen, &sheets_dir, stem, "xml");
        let target = part.strip_prefix(&format!("{}/", wb.dir)).unwrap_or(&part).to_string();
        let id = fresh_id(&mut wb_ids, "rIdBilanSheet");
        next_sheet_id += 1;
        let _ = write!(
            new_sheet_tags,
            r#"<sheet name="{name}" sheetId="{next_sheet_id}" {}:id="{id}"/>"#,
            wb.rel_prefix
        );
        new_wb_rels.push((id, REL_WORKSHEET, target));
        let xfs: Vec<u32> = front[i].looks().iter().map(|l| styles.look(l)).collect();
        edits.add(part, CT_WORKSHEET, front[i].part(&xfs).into_bytes());
        names.extend(front[i].defined_names(i, name));
    }
    edits.changed.insert(
        wb_part,
        workbook::patch_workbook(&wb.xml, &new_sheet_tags, &names)?.into_bytes(),
    );
    edits
        .changed
        .insert(wb.rels_part, add_rels(Some(&wb.rels_xml), &new_wb_rels)?.into_bytes());
    edits.changed.insert(styles_part, styles.finish().into_bytes());
    if !edits.new_types.is_empty() {
        let t = insert_before_last(&types, "</Types>", &edits.new_types).ok_or_else(|| refusal("types de contenu"))?;
        edits.changed.insert("[Content_Types].xml".into(), t.into_bytes());
    }
    package::write_package(&mut pkg, &edits.changed, &edits.added)
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
}
