//! Number formats of an `.ods` workbook.
//!
//! LibreOffice writes the type on the cell itself and the format in its style:
//! `<table:table-cell table:style-name="ce1" office:value-type="percentage"
//! office:value="0.73">`, where `ce1` (a `style:style` of the automatic styles
//! of `content.xml`, or a common style of `styles.xml`) names its data style in
//! `style:data-style-name="N10"`, and `N10` is a `<number:percentage-style>`.
//! A cell without a style of its own takes its row's, then its column's
//! `table:default-cell-style-name`. Rows and cells may be repeated
//! (`table:number-rows-repeated`, `table:number-columns-repeated`); covered
//! cells (under a merge) take their place in the row like any other.
//!
//! The same pass gives the merged ranges, which calamine does not read for
//! `.ods`: a `table:table-cell` with `table:number-columns-spanned` and/or
//! `table:number-rows-spanned` starts a range (the cells it covers follow as
//! `table:covered-table-cell`).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Cursor, Read};

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::{in_grid, NumberFormat, Palette, WorkbookFormats};
use crate::base::model::{CellRange, CellRef};
use crate::pipeline::read::xml::{self, attr};
use crate::pipeline::read::Limits;

/// A style's parents followed at most this far (a loop in a hostile file ends here).
const MAX_PARENTS: usize = 16;

/// Cell styles and data styles, by name.
#[derive(Debug, Default)]
struct Styles {
    /// `number:*-style` name → what it shows.
    data: HashMap<String, NumberFormat>,
    /// `style:style` (cell family) name → (data style, parent style).
    cells: HashMap<String, (Option<String>, Option<String>)>,
    /// `style:default-style` of the cell family: its data style.
    default_data: Option<String>,
}

impl Styles {
    /// The number format a cell style gives, following its parents.
    fn format_of(&self, style: &str) -> NumberFormat {
        let mut name = style;
        for _ in 0..MAX_PARENTS {
            let Some((data, parent)) = self.cells.get(name) else {
                break;
            };
            if let Some(d) = data {
                return self.data.get(d).cloned().unwrap_or_default();
            }
            match parent {
                Some(p) => name = p,
                None => break,
            }
        }
        self.default_data
            .as_ref()
            .and_then(|d| self.data.get(d).cloned())
            .unwrap_or_default()
    }

    /// Reads the styles of `styles.xml` or of `content.xml`'s automatic styles,
    /// stopping at the body (`office:body`).
    fn read<R: BufRead>(&mut self, xml: &mut Reader<R>, buf: &mut Vec<u8>) {
        loop {
            buf.clear();
            let e = match xml.read_event_into(buf) {
                Ok(Event::Start(e)) | Ok(Event::Empty(e)) => e,
                Ok(Event::Eof) | Err(_) => return,
                _ => continue,
            };
            match e.name().as_ref() {
                "office:body" => return,
                "number:percentage-style" => self.data_style(&e, NumberFormat::Percent),
                "number:date-style" | "number:time-style" => self.data_style(&e, NumberFormat::Date),
                "number:number-style" | "number:currency-style" | "number:boolean-style" => {
                    if let Some(name) = attr(&e, "style:name") {
                        self.data.insert(name.clone(), NumberFormat::Other(name));
                    }
                }
                "style:style" if attr(&e, "style:family").as_deref() == Some("table-cell") => {
                    if let Some(name) = attr(&e, "style:name") {
                        let data = attr(&e, "style:data-style-name");
                        let parent = attr(&e, "style:parent-style-name");
                        self.cells.insert(name, (data, parent));
                    }
                }
                "style:default-style" if attr(&e, "style:family").as_deref() == Some("table-cell") => {
                    self.default_data = attr(&e, "style:data-style-name");
                }
                _ => {}
            }
        }
    }

    fn data_style(&mut self, e: &BytesStart<'_>, format: NumberFormat) {
        if let Some(name) = attr(e, "style:name") {
            self.data.insert(name, format);
        }
    }
}

/// A repetition count: at least 1, at most what fits in Excel's grid.
fn repeated(e: &BytesStart<'_>, key: &str) -> u64 {
    attr(e, key)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(1)
        .clamp(1, 1 << 20)
}

pub fn read(bytes: &[u8], limits: &Limits, budget: usize) -> Option<WorkbookFormats> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let mut styles = Styles::default();
    let mut buf = Vec::with_capacity(1024);
    if let Ok(part) = zip.by_name("styles.xml") {
        let mut xml = xml::reader(BufReader::new(part.take(limits.max_uncompressed)));
        styles.read(&mut xml, &mut buf);
    }
    let part = zip.by_name("content.xml").ok()?;
    let mut xml = xml::reader(BufReader::new(part.take(limits.max_uncompressed)));
    Some(read_content(&mut xml, &mut styles, budget))
}

/// The row being read: its repeat count, its default cell style, and its
/// formatted cells as `(column, count, format)`.
type Row = (u64, Option<String>, Vec<(u64, u64, u32)>);

/// Reads `content.xml`: its automatic styles, then its tables.
fn read_content<R: BufRead>(xml: &mut Reader<R>, styles: &mut Styles, mut budget: usize) -> WorkbookFormats {
    let mut buf = Vec::with_capacity(1024);
    styles.read(xml, &mut buf);
    let mut palette = Palette::default();
    // The format index of each style name, resolved once.
    let mut resolved: HashMap<String, Option<u32>> = HashMap::new();
    let mut resolve = |style: &str, palette: &mut Palette| -> Option<u32> {
        if let Some(i) = resolved.get(style) {
            return *i;
        }
        let f = styles.format_of(style);
        let i = f.changes_value().then(|| palette.index(f));
        resolved.insert(style.to_string(), i);
        i
    };
    let mut sheets: Vec<(String, Vec<(CellRef, u32)>)> = Vec::new();
    let mut table: Option<(String, Vec<(CellRef, u32)>)> = None;
    let mut merges: Vec<(String, Vec<CellRange>)> = Vec::new();
    let mut merged = 0usize;
    // Column default styles of the current table: (first column, last column, style).
    let mut columns: Vec<(u64, u64, String)> = Vec::new();
    let mut next_column: u64 = 0;
    let mut row: u64 = 0;
    let mut current: Option<Row> = None;
    let mut col: u64 = 0;
    let percent = palette.index(NumberFormat::Percent);
    loop {
        buf.clear();
        let (e, empty) = match xml.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => (e, false),
            Ok(Event::Empty(e)) => (e, true),
            Ok(Event::End(e)) => {
                match e.name().as_ref() {
                    "table:table-row" => {
                        if let (Some((repeat, _, cells)), Some((_, out))) = (current.take(), table.as_mut()) {
                            emit(out, row, repeat, &cells, &mut budget);
                            row = row.saturating_add(repeat);
                        }
                    }
                    "table:table" => {
                        if let Some(t) = table.take() {
                            sheets.push(t);
                        }
                    }
                    _ => {}
                }
                continue;
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => continue,
        };
        match e.name().as_ref() {
            "table:table" if !empty && table.is_none() => {
                table = Some((attr(&e, "table:name").unwrap_or_default(), Vec::new()));
                merges.push((attr(&e, "table:name").unwrap_or_default(), Vec::new()));
                columns.clear();
                next_column = 0;
                row = 0;
            }
            "table:table-column" if table.is_some() => {
                let n = repeated(&e, "table:number-columns-repeated");
                if let Some(style) = attr(&e, "table:default-cell-style-name") {
                    columns.push((next_column, next_column.saturating_add(n - 1), style));
                }
                next_column = next_column.saturating_add(n);
            }
            "table:table-row" if table.is_some() => {
                let repeat = repeated(&e, "table:number-rows-repeated");
                if empty {
                    row = row.saturating_add(repeat);
                } else {
                    current = Some((repeat, attr(&e, "table:default-cell-style-name"), Vec::new()));
                    col = 0;
                }
            }
            "table:table-cell" | "table:covered-table-cell" if current.is_some() => {
                let n = repeated(&e, "table:number-columns-repeated");
                let value_type = attr(&e, "office:value-type");
                let format = match value_type.as_deref() {
                    Some("percentage") => Some(percent),
                    Some("float") | Some("currency") => {
                        let own = attr(&e, "table:style-name");
                        let style = own
                            .or_else(|| current.as_ref().and_then(|(_, d, _)| d.clone()))
                            .or_else(|| {
                                columns
                                    .iter()
                                    .find(|(first, last, _)| (*first..=*last).contains(&col))
                                    .map(|(_, _, s)| s.clone())
                            });
                        style.and_then(|s| resolve(&s, &mut palette))
                    }
                    _ => None,
                };
                if let (Some(f), Some((_, _, cells))) = (format, current.as_mut()) {
                    cells.push((col, n, f));
                }
                // A merged range: the cell that spans (its covered cells follow
                // as `table:covered-table-cell`, in this row and the rows below).
                if e.name().as_ref() == "table:table-cell" && merged < MAX_MERGES {
                    let across = spanned(&e, "table:number-columns-spanned");
                    let down = spanned(&e, "table:number-rows-spanned");
                    if across > 1 || down > 1 {
                        let end = (row.saturating_add(down - 1), col.saturating_add(across - 1));
                        if let (Some(start), Some(end), Some((_, out))) =
                            (in_grid(row, col), in_grid(end.0, end.1), merges.last_mut())
                        {
                            out.push(CellRange::new(start, end));
                            merged += 1;
                        }
                    }
                }
                col = col.saturating_add(n);
                if !empty {
                    // Skip the cell's content (paragraphs, annotations, sub-tables).
                    let mut inner = Vec::new();
                    if xml.read_to_end_into(e.name(), &mut inner).is_err() {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(t) = table.take() {
        sheets.push(t);
    }
    merges.retain(|(_, m)| !m.is_empty());
    WorkbookFormats {
        palette: palette.into_vec(),
        sheets,
        merges,
    }
}

/// Merged ranges recorded per workbook at most (a real return has a few dozen).
const MAX_MERGES: usize = 100_000;

/// A span (`table:number-columns-spanned`, `table:number-rows-spanned`): at
/// least 1, at most Excel's grid.
fn spanned(e: &BytesStart<'_>, key: &str) -> u64 {
    attr(e, key)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(1)
        .clamp(1, 1 << 20)
}

/// Records a row's formatted cells, repeated `repeat` times, within the budget
/// and Excel's grid.
fn emit(out: &mut Vec<(CellRef, u32)>, row: u64, repeat: u64, cells: &[(u64, u64, u32)], budget: &mut usize) {
    if cells.is_empty() {
        return;
    }
    for r in row..row.saturating_add(repeat) {
        for &(col, n, f) in cells {
            for c in col..col.saturating_add(n) {
                if *budget == 0 {
                    return;
                }
                let Some(pos) = in_grid(r, c) else { return };
                *budget -= 1;
                out.push((pos, f));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn formats(styles_xml: &str, content: &str) -> WorkbookFormats {
        let mut styles = Styles::default();
        let mut buf = Vec::new();
        styles.read(&mut Reader::from_reader(styles_xml.as_bytes()), &mut buf);
        read_content(&mut Reader::from_reader(content.as_bytes()), &mut styles, 1000)
    }

    fn cells(wf: &WorkbookFormats, sheet: usize) -> Vec<(String, NumberFormat)> {
        wf.sheets[sheet]
            .1
            .iter()
            .map(|(p, i)| (p.to_string(), wf.palette[*i as usize].clone()))
            .collect()
    }

    const CONTENT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="o" xmlns:style="s" xmlns:table="t" xmlns:number="n" xmlns:text="x">
<office:automatic-styles>
  <number:percentage-style style:name="N10"><number:number number:decimal-places="0"/><number:text>%</number:text></number:percentage-style>
  <number:number-style style:name="N3"><number:number number:grouping="true"/></number:number-style>
  <style:style style:name="ce1" style:family="table-cell" style:parent-style-name="Default" style:data-style-name="N10"/>
  <style:style style:name="ce2" style:family="table-cell" style:parent-style-name="Pct"/>
  <style:style style:name="ce3" style:family="table-cell" style:data-style-name="N3"/>
  <style:style style:name="co1" style:family="table-column"/>
</office:automatic-styles>
<office:body><office:spreadsheet>
<table:table table:name="S">
  <table:table-column table:number-columns-repeated="2" table:default-cell-style-name="Default"/>
  <table:table-column table:default-cell-style-name="ce1"/>
  <table:table-row><table:table-cell office:value-type="string"><text:p>Part</text:p></table:table-cell></table:table-row>
  <table:table-row table:number-rows-repeated="2">
    <table:table-cell table:style-name="ce1" office:value-type="float" office:value="0.73"><text:p>73 %</text:p></table:table-cell>
    <table:table-cell table:number-columns-repeated="2" table:style-name="ce3" office:value-type="float" office:value="1000"/>
  </table:table-row>
  <table:table-row/>
  <table:table-row>
    <table:table-cell table:number-columns-repeated="2"/>
    <table:table-cell office:value-type="float" office:value="0.5"/>
    <table:covered-table-cell table:style-name="ce2" office:value-type="float" office:value="0.1"/>
    <table:table-cell office:value-type="percentage" office:value="0.2"/>
  </table:table-row>
</table:table>
<table:table table:name="Vide"><table:table-row table:number-rows-repeated="1048576"><table:table-cell table:number-columns-repeated="1024"/></table:table-row></table:table>
</office:spreadsheet></office:body></office:document-content>"#;

    const STYLES: &str = r#"<office:document-styles xmlns:office="o" xmlns:style="s" xmlns:number="n"><office:styles>
<number:percentage-style style:name="N11"><number:number/></number:percentage-style>
<style:style style:name="Default" style:family="table-cell"/>
<style:style style:name="Pct" style:family="table-cell" style:data-style-name="N11"/>
</office:styles></office:document-styles>"#;

    #[test]
    fn styles_repeats_and_column_defaults() {
        let wf = formats(STYLES, CONTENT);
        assert_eq!(wf.sheets.len(), 2);
        assert_eq!(wf.sheets[0].0, "S");
        // B2:C3 (`N3`, a number style) do not change the value: not recorded.
        assert_eq!(
            cells(&wf, 0),
            vec![
                ("A2".into(), NumberFormat::Percent),
                ("A3".into(), NumberFormat::Percent),
                // C5: no style of its own, the column's default `ce1` (percent).
                ("C5".into(), NumberFormat::Percent),
                // D5: covered cell, style inherited from the common style `Pct`.
                ("D5".into(), NumberFormat::Percent),
                // E5: typed as a percentage.
                ("E5".into(), NumberFormat::Percent),
            ]
        );
        assert!(wf.sheets[1].1.is_empty());
    }

    #[test]
    fn merged_ranges_are_read_from_the_spans() {
        let content = r#"<o xmlns:table="t" xmlns:office="o" xmlns:text="x"><office:body>
<table:table table:name="Outils">
  <table:table-row>
    <table:table-cell table:number-rows-spanned="2" office:value-type="string"><text:p>Famille</text:p></table:table-cell>
    <table:table-cell table:number-columns-spanned="2" table:number-rows-spanned="1"><text:p>Montants</text:p></table:table-cell>
    <table:covered-table-cell/>
  </table:table-row>
  <table:table-row table:number-rows-repeated="2">
    <table:covered-table-cell/>
    <table:table-cell table:number-columns-repeated="2"/>
  </table:table-row>
  <table:table-row>
    <table:table-cell table:number-columns-repeated="3"/>
    <table:table-cell table:number-columns-spanned="3" table:number-rows-spanned="4"/>
  </table:table-row>
</table:table>
<table:table table:name="Vide"><table:table-row><table:table-cell/></table:table-row></table:table>
</office:body></o>"#;
        let wf = formats("", content);
        let merges: Vec<(String, Vec<String>)> = wf
            .merges
            .iter()
            .map(|(n, m)| (n.clone(), m.iter().map(|r| r.to_string()).collect()))
            .collect();
        assert_eq!(
            merges,
            vec![(
                "Outils".to_string(),
                vec!["A1:A2".to_string(), "B1:C1".to_string(), "D4:F7".to_string()]
            )]
        );
    }

    #[test]
    fn broken_xml_and_loops_end_quietly() {
        let looped = r#"<r xmlns:style="s"><style:style style:name="a" style:family="table-cell" style:parent-style-name="b"/><style:style style:name="b" style:family="table-cell" style:parent-style-name="a"/></r>"#;
        let wf = formats(
            looped,
            r#"<o xmlns:table="t" xmlns:office="o"><office:body><table:table table:name="S"><table:table-row><table:table-cell table:style-name="a" office:value-type="float"/><table:table-cell office:value-type="percentage" table:number-columns-repeated="99999999999"/></table:table-row></table:table></office:body></o>"#,
        );
        // The loop gives no format; the huge repeat stops at the budget.
        assert_eq!(wf.sheets[0].1.len(), 1000);
        for cut in [10, 200, 700, 1500] {
            let _ = formats(STYLES, &CONTENT[..cut.min(CONTENT.len())]);
        }
        let _ = formats("<<<&&&", "<table:table><table:table-row><table:table-cell></x>");
    }
}
