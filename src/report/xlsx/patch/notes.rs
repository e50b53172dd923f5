//! Notes: a comments part and a VML drawing per sheet; a submitter's note on
//! a flagged cell is kept and bilan's text appended to it.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::ops::Range;

use quick_xml::events::Event;

use super::package::{add_rels, fresh_id, fresh_part, insert_before_last, resolve, Package, Rel};
use super::xml::{attr, check_root, esc, reader, splice};
use super::{refusal, Edits, Refusal, NS_MAIN, XML_DECL};
use crate::base::model::CellRef;

const REL_COMMENTS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/comments";
const REL_VML: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/vmlDrawing";
const CT_COMMENTS: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml";
const CT_VML: &str = "application/vnd.openxmlformats-officedocument.vmlDrawing";

/// A sheet getting notes: where it is and its relationships.
pub(super) struct SheetRels {
    pub(super) dir: String,
    pub(super) rels_part: String,
    pub(super) rels_xml: Option<String>,
    pub(super) rels: Vec<Rel>,
    /// Relationship ids taken.
    pub(super) ids: HashSet<String>,
    /// The id of a new VML drawing (the sheet's `legacyDrawing` names it).
    pub(super) vml_id: String,
    /// The `r:id` of the sheet's own `legacyDrawing`, if it had one.
    pub(super) legacy: Option<String>,
}

/// The VML drawings of the package: shape ids and id blocks must stay unique.
pub(super) struct Drawings {
    /// Read from every drawing at the first note.
    ids: Option<(u64, u64)>,
    vml_default: bool,
}

impl Drawings {
    pub(super) fn new(types: &str) -> Self {
        Self {
            ids: None,
            vml_default: types.to_ascii_lowercase().contains("extension=\"vml\""),
        }
    }

    /// The largest shape id and id block of every VML drawing.
    fn ids(&mut self, pkg: &mut Package) -> Result<(u64, u64), Refusal> {
        if let Some(ids) = self.ids {
            return Ok(ids);
        }
        let (mut max_shape, mut max_block) = (0, 0);
        for v in pkg.parts_ending_with(".vml") {
            if let Some(text) = pkg.read_text(&v)? {
                let (s, b) = vml_ids(&text);
                max_shape = max_shape.max(s);
                max_block = max_block.max(b);
            }
        }
        self.ids = Some((max_shape, max_block));
        Ok((max_shape, max_block))
    }

    /// bilan's notes on one sheet: in the submitter's comments part or a new
    /// one, with a shape each in the sheet's VML drawing or a new one.
    pub(super) fn add_notes(
        &mut self,
        pkg: &mut Package,
        edits: &mut Edits,
        mut sheet: SheetRels,
        notes: &BTreeMap<CellRef, String>,
    ) -> Result<(), Refusal> {
        let (mut max_shape, mut max_block) = self.ids(pkg)?;
        let mut new_rels: Vec<(String, &str, String)> = Vec::new();
        let existing = sheet
            .rels
            .iter()
            .find(|r| r.kind == REL_COMMENTS && !r.external)
            .map(|r| resolve(&sheet.dir, &r.target));
        let fresh_cells: Vec<CellRef> = match existing {
            Some(part) => {
                let xml = pkg.read_text(&part)?.ok_or_else(|| refusal("notes"))?;
                let (merged, fresh) = merge_comments(&xml, notes)?;
                edits.changed.insert(part, merged.into_bytes());
                fresh
            }
            None => {
                let part = fresh_part(pkg, &mut edits.chosen, &sheet.dir, "bilanNotes", "xml");
                let target = part.rsplit('/').next().unwrap_or(&part).to_string();
                new_rels.push((fresh_id(&mut sheet.ids, "rIdBilanNotes"), REL_COMMENTS, target));
                edits.add(part, CT_COMMENTS, new_comments(notes).into_bytes());
                notes.keys().copied().collect()
            }
        };
        // The VML drawing: the sheet's own (shapes appended) or a new one.
        match &sheet.legacy {
            Some(rid) => {
                let part = sheet
                    .rels
                    .iter()
                    .find(|r| &r.id == rid && !r.external)
                    .map(|r| resolve(&sheet.dir, &r.target))
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
                    edits.changed.insert(part, patched.into_bytes());
                }
            }
            None => {
                max_block += 1;
                let first = (max_block * 1024 + 1).max(max_shape + 1);
                max_shape = first + fresh_cells.len() as u64;
                let part = fresh_part(pkg, &mut edits.chosen, &sheet.dir, "bilanNotes", "vml");
                let target = part.rsplit('/').next().unwrap_or(&part).to_string();
                new_rels.push((sheet.vml_id.clone(), REL_VML, target));
                edits
                    .added
                    .push((part, new_vml(max_block, &fresh_cells, first).into_bytes()));
                if !self.vml_default {
                    self.vml_default = true;
                    let _ = write!(edits.new_types, r#"<Default Extension="vml" ContentType="{CT_VML}"/>"#);
                }
            }
        }
        self.ids = Some((max_shape, max_block));
        if !new_rels.is_empty() {
            let xml = add_rels(sheet.rels_xml.as_deref(), &new_rels)?;
            if sheet.rels_xml.is_some() {
                edits.changed.insert(sheet.rels_part, xml.into_bytes());
            } else {
                edits.added.push((sheet.rels_part, xml.into_bytes()));
            }
        }
        Ok(())
    }
}

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
