//! The styles part: one cell format per (format of a flagged cell, mark)
//! pair, the cell's own with only the fill changed, and the formats of
//! `Synthèse` and `Constats` ([`Look`]), each added once.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::ops::Range;

use quick_xml::events::Event;

use super::xml::{check_root, num_attr, reader, retag, splice, start_of, tag_with};
use super::{refusal, Refusal};
use crate::report::xlsx::look::{Align, Line, Look, Valign};
use crate::report::xlsx::Mark;

/// A collection of the styles part (`fonts`, `cellXfs`…): where it is and what it holds.
#[derive(Default, Clone)]
pub(super) struct Collection {
    /// The start tag (or the whole element when it is empty).
    tag: Range<usize>,
    empty: bool,
    /// Where the end tag starts.
    end: usize,
    items: Vec<Range<usize>>,
}

pub(super) fn collections(xml: &str, wanted: &[&str]) -> Result<HashMap<String, Collection>, Refusal> {
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
pub(super) struct Styles {
    xml: String,
    colls: HashMap<String, Collection>,
    /// Counts before anything is added.
    fonts: usize,
    fills: usize,
    borders: usize,
    xfs: usize,
    max_numfmt: u32,
    /// What bilan adds (items of each collection).
    add: HashMap<&'static str, Vec<String>>,
    /// The formats of the front sheets' looks, and their parts, each added once.
    looks: HashMap<Look, u32>,
    fonts_added: HashMap<String, usize>,
    borders_added: HashMap<String, usize>,
    numfmts_added: HashMap<&'static str, u32>,
    /// (base format, mark) → new format index.
    marked: HashMap<(u32, Mark), u32>,
    /// Fill colour → new fill index.
    mark_fills: HashMap<u32, usize>,
}

impl Styles {
    pub(super) fn new(xml: String) -> Result<Self, Refusal> {
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
            looks: HashMap::new(),
            fonts_added: HashMap::new(),
            borders_added: HashMap::new(),
            numfmts_added: HashMap::new(),
            marked: HashMap::new(),
            mark_fills: HashMap::new(),
        })
    }

    /// The cell format of a [`Look`] of `Synthèse` or `Constats`, added once.
    pub(super) fn look(&mut self, look: &Look) -> u32 {
        if let Some(&i) = self.looks.get(look) {
            return i;
        }
        let font = self.font(look);
        let fill = look.fill.map_or(0, |c| self.solid_fill(c));
        let border = self.border(look);
        let numfmt = look.num.map_or(0, |code| self.numfmt(code));
        let mut xf = format!(
            r#"<xf numFmtId="{numfmt}" fontId="{font}" fillId="{fill}" borderId="{border}" xfId="0" applyNumberFormat="1" applyFont="1" applyFill="1" applyBorder="1" applyAlignment="1""#
        );
        let mut alignment = String::new();
        match look.align {
            Some(Align::Left) => alignment.push_str(r#" horizontal="left""#),
            Some(Align::Center) => alignment.push_str(r#" horizontal="center""#),
            None => {}
        }
        match look.valign {
            Some(Valign::Top) => alignment.push_str(r#" vertical="top""#),
            Some(Valign::Center) => alignment.push_str(r#" vertical="center""#),
            None => {}
        }
        if look.wrap {
            alignment.push_str(r#" wrapText="1""#);
        }
        if alignment.is_empty() {
            xf.push_str("/>");
        } else {
            let _ = write!(xf, "><alignment{alignment}/></xf>");
        }
        let i = self.push("cellXfs", xf) as u32;
        self.looks.insert(*look, i);
        i
    }

    /// Adds an item to a collection; returns its index.
    fn push(&mut self, collection: &'static str, item: String) -> usize {
        let count = match collection {
            "fonts" => &mut self.fonts,
            "fills" => &mut self.fills,
            "borders" => &mut self.borders,
            _ => &mut self.xfs,
        };
        let i = *count;
        *count += 1;
        self.add.entry(collection).or_default().push(item);
        i
    }

    fn font(&mut self, look: &Look) -> usize {
        let mut font = String::from("<font>");
        if look.bold {
            font.push_str("<b/>");
        }
        if look.italic {
            font.push_str("<i/>");
        }
        if look.underline {
            font.push_str("<u/>");
        }
        let _ = write!(font, r#"<sz val="{}"/>"#, look.size.unwrap_or(11));
        if let Some(c) = look.color {
            let _ = write!(font, r#"<color rgb="FF{c:06X}"/>"#);
        }
        font.push_str(r#"<name val="Calibri"/><family val="2"/></font>"#);
        match self.fonts_added.get(&font) {
            Some(&i) => i,
            None => {
                let i = self.push("fonts", font.clone());
                self.fonts_added.insert(font, i);
                i
            }
        }
    }

    fn solid_fill(&mut self, color: u32) -> usize {
        if let Some(&f) = self.mark_fills.get(&color) {
            return f;
        }
        let f = self.push(
            "fills",
            format!(
                r#"<fill><patternFill patternType="solid"><fgColor rgb="FF{color:06X}"/><bgColor indexed="64"/></patternFill></fill>"#
            ),
        );
        self.mark_fills.insert(color, f);
        f
    }

    fn border(&mut self, look: &Look) -> usize {
        let Some(frame) = look.frame else {
            return self.plain_border();
        };
        let style = match frame.line {
            Line::Thin => "thin",
            Line::Medium => "medium",
        };
        let color = frame.color.map(|c| format!(r#"<color rgb="FF{c:06X}"/>"#));
        let side = |name: &str, on: bool| match (on, &color) {
            (false, _) => format!("<{name}/>"),
            (true, Some(c)) => format!(r#"<{name} style="{style}">{c}</{name}>"#),
            (true, None) => format!(r#"<{name} style="{style}"/>"#),
        };
        let all = !frame.bottom_only;
        let border = format!(
            "<border>{}{}{}{}<diagonal/></border>",
            side("left", all),
            side("right", all),
            side("top", all),
            side("bottom", true)
        );
        match self.borders_added.get(&border) {
            Some(&i) => i,
            None => {
                let i = self.push("borders", border.clone());
                self.borders_added.insert(border, i);
                i
            }
        }
    }

    /// A border without lines, added once (the package's first one may have some).
    fn plain_border(&mut self) -> usize {
        let border = "<border><left/><right/><top/><bottom/><diagonal/></border>".to_string();
        match self.borders_added.get(&border) {
            Some(&i) => i,
            None => {
                let i = self.push("borders", border.clone());
                self.borders_added.insert(border, i);
                i
            }
        }
    }

    /// The id of a number format: Excel's own for the built-in codes, else added.
    fn numfmt(&mut self, code: &'static str) -> u32 {
        match code {
            "0" => return 1,
            "#,##0" => return 3,
            "#,##0.00" => return 4,
            _ => {}
        }
        if let Some(&id) = self.numfmts_added.get(code) {
            return id;
        }
        self.max_numfmt = self.max_numfmt.max(163) + 1;
        let id = self.max_numfmt;
        self.add.entry("numFmts").or_default().push(format!(
            r#"<numFmt numFmtId="{id}" formatCode="{}"/>"#,
            super::xml::esc(code)
        ));
        self.numfmts_added.insert(code, id);
        id
    }

    /// The cell format of a cell whose format was `base`, marked `mark`: the
    /// same format with the mark's fill.
    pub(super) fn marked(&mut self, base: u32, mark: Mark) -> Result<u32, Refusal> {
        if let Some(&i) = self.marked.get(&(base, mark)) {
            return Ok(i);
        }
        let fill = self.solid_fill(mark.fill());
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
        let i = self.push("cellXfs", xf) as u32;
        self.marked.insert((base, mark), i);
        Ok(i)
    }

    pub(super) fn finish(self) -> String {
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
