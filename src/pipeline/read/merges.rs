//! Merged ranges of `.xlsx` sheets, without parsing each sheet a second time.
//!
//! calamine gives a sheet's merged ranges by parsing the whole sheet XML again
//! (`<mergeCells>` comes after `<sheetData>`), which doubled the cost of reading
//! a return. Here each sheet part is inflated once more but only *searched*
//! (memchr) for `mergeCells`; XML is parsed (quick-xml, streaming) only from
//! there, and only in the sheets that have merged ranges.

use std::collections::HashMap;
use std::io::{BufReader, Cursor, Read};

use quick_xml::events::Event;

use super::{xml, Limits};
use crate::base::model::{CellRange, CellRef};

/// The sheets' parts of an opened `.xlsx` package.
pub(super) struct SheetParts<'a> {
    zip: zip::ZipArchive<Cursor<&'a [u8]>>,
    parts: HashMap<String, String>,
    limit: u64,
}

impl<'a> SheetParts<'a> {
    /// `None` when the package's workbook or relationships cannot be read (the
    /// caller then asks calamine).
    pub(super) fn open(bytes: &'a [u8], limits: &Limits) -> Option<Self> {
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
        let parts = super::styles::sheet_parts(&mut zip, limits)?.into_iter().collect();
        Some(Self {
            zip,
            parts,
            limit: limits.max_uncompressed,
        })
    }

    /// The merged ranges of a sheet, inside Excel's grid; `None` when its part
    /// is not found or cannot be inflated.
    pub(super) fn merges(&mut self, sheet: &str) -> Option<Vec<CellRange>> {
        let part = self.parts.get(sheet)?;
        let file = self.zip.by_name(part).ok()?;
        Some(merges_in(file.take(self.limit)))
    }
}

const CHUNK: usize = 8 * 1024;
const NEEDLE: &[u8] = b"mergeCells";

/// Streams `input` until `mergeCells`, then reads the `mergeCell ref` of what
/// follows. A damaged part gives the ranges read so far.
fn merges_in(mut input: impl Read) -> Vec<CellRange> {
    let finder = memchr::memmem::Finder::new(NEEDLE);
    let mut buf = vec![0u8; CHUNK + NEEDLE.len()];
    // Bytes kept from the previous chunk, so that a needle across two chunks is found.
    let mut kept = 0usize;
    let found = loop {
        let n = match input.read(&mut buf[kept..]) {
            Ok(0) | Err(_) => return Vec::new(),
            Ok(n) => n,
        };
        let filled = kept + n;
        if let Some(i) = finder.find(&buf[..filled]) {
            // From the `<` of `<mergeCells` (or of a prefixed `<x:mergeCells`).
            let start = buf[..i].iter().rposition(|b| *b == b'<').unwrap_or(i);
            break buf[start..filled].to_vec();
        }
        kept = NEEDLE.len().min(filled);
        buf.copy_within(filled - kept..filled, 0);
    };
    let mut reader = xml::reader(BufReader::new(Cursor::new(found).chain(input)));
    let mut out = Vec::new();
    let mut event = Vec::with_capacity(256);
    loop {
        event.clear();
        match reader.read_event_into(&mut event) {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) if e.local_name().as_ref() == "mergeCell" => {
                if let Some(range) = xml::attr(&e, "ref").as_deref().and_then(grid_range) {
                    out.push(range);
                }
            }
            Ok(Event::End(e)) if e.local_name().as_ref() == "mergeCells" => break,
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    out
}

/// `A1:C3` inside Excel's grid (a corrupt range is dropped, as calamine's are).
fn grid_range(s: &str) -> Option<CellRange> {
    let r = CellRange::parse(s.trim())?;
    let inside = |c: CellRef| c.row <= 1_048_575 && c.col <= 16_383;
    (inside(r.start) && inside(r.end)).then_some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_after_the_cells_and_across_chunks() {
        let mut xml = String::from(r#"<worksheet><sheetData><row r="1"><c r="A1"><v>1</v></c></row>"#);
        // Push `mergeCells` across the first chunk boundary.
        xml.push_str(&" ".repeat(CHUNK - xml.len() - 5));
        xml.push_str(r#"</sheetData><mergeCells count="3"><mergeCell ref="A1:B1"/><mergeCell ref="C3:C9"/><mergeCell ref="XFE1:XFF2"/></mergeCells><mergeCell ref="D4:E4"/></worksheet>"#);
        let got = merges_in(xml.as_bytes());
        assert_eq!(
            got,
            vec![
                CellRange::parse("A1:B1").expect("range"),
                CellRange::parse("C3:C9").expect("range")
            ]
        );
        assert!(merges_in(&b"<worksheet><sheetData/></worksheet>"[..]).is_empty());
        let prefixed = br#"<x:worksheet><x:mergeCells><x:mergeCell ref="B2:C2"/></x:mergeCells></x:worksheet>"#;
        assert_eq!(merges_in(&prefixed[..]).len(), 1);
        for cut in 0..xml.len().min(300) {
            let _ = merges_in(&xml.as_bytes()[xml.len() - cut..]);
        }
    }
}
