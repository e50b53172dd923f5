//! `Synthèse` and `Constats` written straight as SpreadsheetML for the patched
//! package: a [`Sink`] that keeps the cells, then writes the sheet part once
//! the styles part has given each [`Look`] its cell format. Text is always an
//! inline string (`t="inlineStr"`), never a formula: nothing the submitted file
//! says can become one.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use super::xml::esc;
use super::{NS_MAIN, NS_REL, XML_DECL};
use crate::base::model::{column_letters, CellRef};
use crate::report::xlsx::look::{Link, Look, Sink};
use crate::report::xlsx::{quote_sheet, ReportError, MAX_COLS, MAX_ROWS};

/// Excel's widths: a digit is 7 pixels wide, a cell has 5 pixels of padding.
const DIGIT_PX: f64 = 7.0;
const PADDING_PX: u32 = 5;
/// Points.
const DEFAULT_HEIGHT: f64 = 15.0;

enum Value {
    Text(String),
    Number(f64),
    Blank,
}

struct HyperLink {
    row: u32,
    col: u16,
    location: String,
    display: String,
    tip: Option<String>,
}

/// One of the two front sheets, kept until it is written.
#[derive(Default)]
pub(in crate::report::xlsx) struct SheetXml {
    cells: BTreeMap<(u32, u16), (Value, usize)>,
    /// The looks used, in order of first use; a cell holds an index.
    looks: Vec<Look>,
    look_ids: HashMap<Look, usize>,
    widths: BTreeMap<u16, f64>,
    heights: BTreeMap<u32, f64>,
    merges: Vec<(u32, u16, u16)>,
    links: Vec<HyperLink>,
    print: Option<bool>,
    header_row: bool,
    autofilter: Option<(u32, u16)>,
}

impl SheetXml {
    pub(in crate::report::xlsx) fn new() -> Self {
        Self::default()
    }

    /// The looks of the sheet's cells: [`SheetXml::part`] wants their cell
    /// formats in this order.
    pub(super) fn looks(&self) -> &[Look] {
        &self.looks
    }

    fn look(&mut self, look: &Look) -> usize {
        if let Some(&i) = self.look_ids.get(look) {
            return i;
        }
        self.looks.push(*look);
        self.look_ids.insert(*look, self.looks.len() - 1);
        self.looks.len() - 1
    }

    fn put(&mut self, row: u32, col: u16, value: Value, look: &Look) -> Result<(), ReportError> {
        if row >= MAX_ROWS || u32::from(col) >= MAX_COLS {
            return Err(ReportError::Patch(format!(
                "cellule hors des limites d'Excel (ligne {}, colonne {})",
                row as u64 + 1,
                col as u32 + 1
            )));
        }
        let look = self.look(look);
        self.cells.insert((row, col), (value, look));
        Ok(())
    }

    /// The defined names the sheet needs (filter range, printed titles), for
    /// the sheet at position `position` named `name`.
    pub(super) fn defined_names(&self, position: usize, name: &str) -> Vec<String> {
        let mut out = Vec::new();
        let sheet = esc(&quote_if_needed(name));
        if let Some((row, col)) = self.autofilter {
            out.push(format!(
                r#"<definedName name="_xlnm._FilterDatabase" localSheetId="{position}" hidden="1">{sheet}!$A$1:${}${}</definedName>"#,
                column_letters(u32::from(col)),
                row as u64 + 1
            ));
        }
        if self.header_row {
            out.push(format!(
                r#"<definedName name="_xlnm.Print_Titles" localSheetId="{position}">{sheet}!$1:$1</definedName>"#
            ));
        }
        out
    }

    /// The sheet part, each look written with its cell format `xfs[i]`.
    pub(super) fn part(&self, xfs: &[u32]) -> String {
        let mut out = String::with_capacity(256 + self.cells.len() * 96);
        out.push_str(XML_DECL);
        let _ = write!(out, r#"<worksheet xmlns="{NS_MAIN}" xmlns:r="{NS_REL}">"#);
        if self.print.is_some() {
            out.push_str(r#"<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>"#);
        }
        if let (Some(((r0, _), _)), Some(((r1, _), _))) = (self.cells.first_key_value(), self.cells.last_key_value()) {
            let c0 = self.cells.keys().map(|k| k.1).min().unwrap_or(0);
            let c1 = self.cells.keys().map(|k| k.1).max().unwrap_or(0);
            let _ = write!(
                out,
                r#"<dimension ref="{}:{}"/>"#,
                CellRef::new(*r0, u32::from(c0)),
                CellRef::new(*r1, u32::from(c1))
            );
        }
        out.push_str(r#"<sheetViews><sheetView workbookViewId="0">"#);
        if self.header_row {
            out.push_str(
                r#"<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="A2" sqref="A2"/>"#,
            );
        }
        out.push_str(r#"</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>"#);
        if !self.widths.is_empty() {
            out.push_str("<cols>");
            // Neighbours of the same width share one `col`, as Excel writes them.
            let mut widths = self.widths.iter().map(|(c, w)| (*c, stored_width(*w))).peekable();
            while let Some((first, width)) = widths.next() {
                let mut last = first;
                while let Some(&(next, w)) = widths.peek() {
                    if next != last + 1 || w != width {
                        break;
                    }
                    last = next;
                    widths.next();
                }
                let _ = write!(
                    out,
                    r#"<col min="{}" max="{}" width="{width}" customWidth="1"/>"#,
                    first + 1,
                    last + 1
                );
            }
            out.push_str("</cols>");
        }
        self.sheet_data(&mut out, xfs);
        if let Some((row, col)) = self.autofilter {
            let _ = write!(out, r#"<autoFilter ref="A1:{}"/>"#, CellRef::new(row, u32::from(col)));
        }
        if !self.merges.is_empty() {
            let _ = write!(out, r#"<mergeCells count="{}">"#, self.merges.len());
            for (row, first, last) in &self.merges {
                let _ = write!(
                    out,
                    r#"<mergeCell ref="{}:{}"/>"#,
                    CellRef::new(*row, u32::from(*first)),
                    CellRef::new(*row, u32::from(*last))
                );
            }
            out.push_str("</mergeCells>");
        }
        if !self.links.is_empty() {
            out.push_str("<hyperlinks>");
            for l in &self.links {
                let _ = write!(
                    out,
                    r#"<hyperlink ref="{}" location="{}" display="{}""#,
                    CellRef::new(l.row, u32::from(l.col)),
                    esc(&l.location),
                    esc(&l.display)
                );
                if let Some(tip) = &l.tip {
                    let _ = write!(out, r#" tooltip="{}""#, esc(tip));
                }
                out.push_str("/>");
            }
            out.push_str("</hyperlinks>");
        }
        out.push_str(r#"<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>"#);
        match self.print {
            Some(true) => out.push_str(r#"<pageSetup paperSize="9" orientation="landscape" fitToHeight="0"/>"#),
            Some(false) => out.push_str(r#"<pageSetup paperSize="9" fitToHeight="0"/>"#),
            None => {}
        }
        out.push_str("</worksheet>");
        out
    }

    fn sheet_data(&self, out: &mut String, xfs: &[u32]) {
        out.push_str("<sheetData>");
        let mut rows: Vec<u32> = self.cells.keys().map(|k| k.0).collect();
        rows.extend(self.heights.keys());
        rows.sort_unstable();
        rows.dedup();
        for row in rows {
            let _ = write!(out, r#"<row r="{}""#, row as u64 + 1);
            if let Some(h) = self.heights.get(&row) {
                let _ = write!(out, r#" ht="{h}" customHeight="1""#);
            }
            out.push('>');
            for ((_, col), (value, look)) in self.cells.range((row, 0)..=(row, u16::MAX)) {
                let at = CellRef::new(row, u32::from(*col));
                let s = xfs.get(*look).copied().unwrap_or(0);
                match value {
                    Value::Text(t) => {
                        let _ = write!(
                            out,
                            r#"<c r="{at}" s="{s}" t="inlineStr"><is><t xml:space="preserve">{}</t></is></c>"#,
                            cell_text(t)
                        );
                    }
                    Value::Number(x) => {
                        let _ = write!(out, r#"<c r="{at}" s="{s}"><v>{x}</v></c>"#);
                    }
                    Value::Blank => {
                        let _ = write!(out, r#"<c r="{at}" s="{s}"/>"#);
                    }
                }
            }
            out.push_str("</row>");
        }
        out.push_str("</sheetData>");
    }
}

impl Sink for SheetXml {
    fn text(&mut self, row: u32, col: u16, text: &str, look: &Look) -> Result<(), ReportError> {
        // An empty text is a blank cell, as rust_xlsxwriter writes it.
        let value = if text.is_empty() {
            Value::Blank
        } else {
            Value::Text(text.to_string())
        };
        self.put(row, col, value, look)
    }
    fn number(&mut self, row: u32, col: u16, x: f64, look: &Look) -> Result<(), ReportError> {
        let value = if x.is_finite() { Value::Number(x) } else { Value::Blank };
        self.put(row, col, value, look)
    }
    fn blank(&mut self, row: u32, col: u16, look: &Look) -> Result<(), ReportError> {
        self.put(row, col, Value::Blank, look)
    }
    fn merged(&mut self, row: u32, first: u16, last: u16, text: &str, look: &Look) -> Result<(), ReportError> {
        self.text(row, first, text, look)?;
        for col in first + 1..=last {
            self.blank(row, col, look)?;
        }
        self.merges.push((row, first, last));
        Ok(())
    }
    fn link(&mut self, row: u32, col: u16, link: &Link, look: &Look) -> Result<(), ReportError> {
        self.text(row, col, link.text, look)?;
        self.links.push(HyperLink {
            row,
            col,
            location: link.location(),
            display: link.text.to_string(),
            tip: link.tip.map(str::to_string),
        });
        Ok(())
    }
    fn width(&mut self, col: u16, width: f64) -> Result<(), ReportError> {
        self.widths.insert(col, width);
        Ok(())
    }
    fn height(&mut self, row: u32, height: f64) -> Result<(), ReportError> {
        // Excel's heights are whole pixels (¾ point); the default one is not written.
        let height = (height * 4.0 / 3.0).round() * 0.75;
        if height == DEFAULT_HEIGHT {
            self.heights.remove(&row);
        } else {
            self.heights.insert(row, height);
        }
        Ok(())
    }
    fn print_setup(&mut self, landscape: bool) {
        self.print = Some(landscape);
    }
    fn header_row(&mut self) -> Result<(), ReportError> {
        self.header_row = true;
        Ok(())
    }
    fn autofilter(&mut self, last_row: u32, last_col: u16) -> Result<(), ReportError> {
        self.autofilter = Some((last_row, last_col));
        Ok(())
    }
}

/// A sheet name as a formula writes it: quoted unless it is a plain word.
fn quote_if_needed(name: &str) -> String {
    if name.chars().all(|c| c.is_alphanumeric() || c == '_') && !name.starts_with(|c: char| c.is_ascii_digit()) {
        name.to_string()
    } else {
        quote_sheet(name)
    }
}

/// The width stored in the part for a width in characters, as Excel does:
/// whole pixels, padding included.
fn stored_width(width: f64) -> f64 {
    let px = if width < 1.0 {
        (width * (DIGIT_PX + PADDING_PX as f64)).round() as u32
    } else {
        (width * DIGIT_PX).round() as u32 + PADDING_PX
    };
    f64::from(px * 256 / DIGIT_PX as u32) / 256.0
}

/// A cell's text for the part: XML-escaped, the characters XML cannot hold
/// written `_xHHHH_` (and a literal `_xHHHH_` protected), as Excel does.
fn cell_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '_' && is_escape_like(rest) {
            out.push_str("_x005F_");
        } else if c.is_control() && !matches!(c, '\t' | '\n' | '\r') && (c as u32) < 0x20 {
            let _ = write!(out, "_x{:04X}_", c as u32);
        } else {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '\u{FFFE}' | '\u{FFFF}' => {}
                c => out.push(c),
            }
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// `_xHHHH_` at the start of `s`.
fn is_escape_like(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 7 && b[1] == b'x' && b[2..6].iter().all(u8::is_ascii_hexdigit) && b[6] == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_are_stored_as_excel_does() {
        // rust_xlsxwriter (and Excel) store 24 characters as 24.7109375.
        assert_eq!(stored_width(24.0), 24.7109375);
        assert_eq!(stored_width(10.0), 10.7109375);
    }

    #[test]
    fn text_is_escaped_never_a_formula() {
        assert_eq!(cell_text("=1+1 & <b>"), "=1+1 &amp; &lt;b&gt;");
        assert_eq!(cell_text("a\u{1}b"), "a_x0001_b");
        assert_eq!(cell_text("_x0041_"), "_x005F_x0041_");
        let mut s = SheetXml::new();
        s.text(0, 0, "=SUM(A1:A9)", &Look::new()).expect("cell");
        let part = s.part(&[7]);
        assert!(part.contains(r#"<c r="A1" s="7" t="inlineStr"><is><t xml:space="preserve">=SUM(A1:A9)</t></is></c>"#));
        assert!(!part.contains("<f>"));
    }
}
