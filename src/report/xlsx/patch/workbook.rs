//! The workbook part: the two new sheets placed first, the sheet positions
//! of defined names and book views shifted by two.

use std::ops::Range;

use super::package::{dir_of, parse_rels, rels_of, resolve, Package, Rel};
use super::xml::{attr, check_root, children, num_attr, retag, splice, start_of, Spans, Tag};
use super::{refusal, Refusal};

/// A submitted sheet: its name and its part.
pub(super) struct SheetEntry {
    pub(super) name: String,
    pub(super) part: String,
}

/// The workbook part and what it points to.
pub(super) struct Workbook {
    pub(super) xml: String,
    pub(super) dir: String,
    /// The prefix bound to the relationships namespace (`r`).
    pub(super) rel_prefix: String,
    pub(super) rels_part: String,
    pub(super) rels_xml: String,
    pub(super) rels: Vec<Rel>,
    /// The sheets, in order.
    pub(super) sheets: Vec<SheetEntry>,
    pub(super) max_sheet_id: u32,
}

impl Workbook {
    pub(super) fn read(pkg: &mut Package, part: &str) -> Result<Self, Refusal> {
        let dir = dir_of(part).to_string();
        let xml = pkg.read_text(part)?.ok_or_else(|| refusal("classeur"))?;
        let rel_prefix = check_root(&xml, "workbook")?.ok_or_else(|| refusal("espace de noms des relations"))?;
        let rels_part = rels_of(part);
        let rels_xml = pkg
            .read_text(&rels_part)?
            .ok_or_else(|| refusal("relations du classeur"))?;
        let rels = parse_rels(&rels_xml)?;
        let mut sheets = Vec::new();
        let mut max_sheet_id = 0;
        let id_key = format!("{rel_prefix}:id");
        for range in children(&xml, "sheets")? {
            let item = &xml[range];
            max_sheet_id = max_sheet_id.max(num_attr(item, "sheetId").unwrap_or(0));
            let e = start_of(item)?;
            let name = attr(&e, "name").unwrap_or_default();
            let rid = e
                .attributes()
                .with_checks(false)
                .filter_map(Result::ok)
                .find(|a| a.key.as_ref() == id_key.as_str())
                .map(|a| a.value.into_owned())
                .unwrap_or_default();
            let part = rels
                .iter()
                .find(|r| r.id == rid && !r.external)
                .map(|r| resolve(&dir, &r.target))
                .unwrap_or_default();
            sheets.push(SheetEntry { name, part });
        }
        Ok(Self {
            xml,
            dir,
            rel_prefix,
            rels_part,
            rels_xml,
            rels,
            sheets,
            max_sheet_id,
        })
    }
}

/// The workbook part: the new sheets first, the defined names' and the book
/// views' sheet positions shifted by two, bilan's defined names added.
pub(super) fn patch_workbook(xml: &str, new_sheets: &str, bilan_names: &[String]) -> Result<String, Refusal> {
    let mut spans = Spans::new(xml, "classeur");
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
    while let Some((before, ev, after)) = spans.next()? {
        match Tag::of(&ev) {
            Tag::Open(e, empty, name) => {
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
                            format!("<definedNames>{}</definedNames>", bilan_names.concat()),
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
            Tag::Close(name) => {
                depth = depth.saturating_sub(1);
                if depth == 1 && name == "definedNames" {
                    edits.push((before..before, bilan_names.concat()));
                    names_end = Some(after);
                }
                if depth == 0 && insert_names_at.is_none() {
                    insert_names_at = Some(before);
                }
            }
            Tag::Other => {}
        }
    }
    let at = sheets_start.ok_or_else(|| refusal("feuilles du classeur"))?;
    edits.push((at..at, new_sheets.to_string()));
    if names_end.is_none() && !bilan_names.is_empty() {
        let at = insert_names_at.ok_or_else(|| refusal("classeur"))?;
        edits.push((at..at, format!("<definedNames>{}</definedNames>", bilan_names.concat())));
    }
    Ok(splice(xml, edits))
}
