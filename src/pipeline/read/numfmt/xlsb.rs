//! Number formats of an `.xlsb` workbook (BIFF12).
//!
//! Each part is a list of records: a type (1–2 bytes of 7 bits), a size (1–4
//! bytes of 7 bits), the data. `styles.bin` gives the format codes (`BrtFmt`
//! 0x2C: `u16 id`, `u32 length`, UTF-16LE code) and, between `BrtBeginCellXFs`
//! 0x269 and `BrtEndCellXFs` 0x26A, the cell formats (`BrtXF` 0x2F, numbered in
//! order: `u16 parent, u16 format id, …`). `workbook.bin` names the sheets
//! (`BrtBundleSh` 0x9C: `u32 state, u32 tab id`, relationship id, name), and its
//! relationships give each sheet's part. In a sheet, `BrtRowHdr` 0x00 starts a
//! row (`u32 row`) and the number cells (`BrtCellRk` 0x02, `BrtCellReal` 0x05,
//! `BrtFmlaNum` 0x09) start with `u32 column, u32 style` (24 bits).

use std::collections::HashMap;
use std::io::{BufReader, Cursor};

use quick_xml::events::Event;

use super::{in_grid, NumberFormat, Palette, WorkbookFormats};
use crate::base::model::{CellRange, CellRef};
use crate::pipeline::read::xml::{self, attr};
use crate::pipeline::read::Limits;

const ROW_HDR: u32 = 0x00;
const CELL_RK: u32 = 0x02;
const CELL_REAL: u32 = 0x05;
const FMLA_NUM: u32 = 0x09;
const BUNDLE_SH: u32 = 0x9C;
const FMT: u32 = 0x2C;
const XF: u32 = 0x2F;
const MERGE_CELL: u32 = 0xB0;
const BEGIN_CELL_XFS: u32 = 0x269;
const END_CELL_XFS: u32 = 0x26A;

const MAX_XF: usize = 65_536;

/// Iterates over BIFF12 records: `(type, data)`.
fn records(data: &[u8]) -> impl Iterator<Item = (u32, &[u8])> {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        let mut kind: u32 = 0;
        for i in 0..2 {
            let b = *data.get(at)?;
            at += 1;
            kind |= ((b & 0x7F) as u32) << (7 * i);
            if b & 0x80 == 0 {
                break;
            }
        }
        let mut size: usize = 0;
        for i in 0..4 {
            let b = *data.get(at)?;
            at += 1;
            size |= ((b & 0x7F) as usize) << (7 * i);
            if b & 0x80 == 0 {
                break;
            }
        }
        let body = data.get(at..at.checked_add(size)?)?;
        at += size;
        Some((kind, body))
    })
}

fn u16_at(d: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_le_bytes(d.get(i..i + 2)?.try_into().ok()?))
}

fn u32_at(d: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(i..i + 4)?.try_into().ok()?))
}

/// An `XLWideString` at `d[at]`: `u32` count of UTF-16 units, then the units.
/// Returns the string and the offset after it.
fn wide_string(d: &[u8], at: usize) -> Option<(String, usize)> {
    let cch = u32_at(d, at)? as usize;
    let start = at + 4;
    let end = start.checked_add(cch.checked_mul(2)?)?;
    let units: Vec<u16> = d
        .get(start..end)?
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    Some((String::from_utf16_lossy(&units), end))
}

/// What each cell style (XF index) shows, as an index into the palette.
fn styles(data: &[u8], palette: &mut Palette) -> Vec<Option<u32>> {
    let mut codes: HashMap<u16, String> = HashMap::new();
    let mut xfs: Vec<u16> = Vec::new();
    let mut in_cell_xfs = false;
    for (kind, d) in records(data) {
        match kind {
            FMT => {
                if let (Some(id), Some((code, _))) = (u16_at(d, 0), wide_string(d, 2)) {
                    codes.insert(id, code);
                }
            }
            BEGIN_CELL_XFS => in_cell_xfs = true,
            END_CELL_XFS => in_cell_xfs = false,
            XF if in_cell_xfs && xfs.len() < MAX_XF => xfs.push(u16_at(d, 2).unwrap_or(0)),
            _ => {}
        }
    }
    let mut by_id: HashMap<u16, Option<u32>> = HashMap::new();
    xfs.iter()
        .map(|id| {
            *by_id.entry(*id).or_insert_with(|| {
                let format = match codes.get(id) {
                    Some(code) => NumberFormat::from_code(code),
                    None => NumberFormat::from_builtin(*id as u32),
                };
                format.changes_value().then(|| palette.index(format))
            })
        })
        .collect()
}

/// Merged ranges recorded per sheet at most (a real return has a few dozen).
const MAX_MERGES: usize = 100_000;

/// The number cells of one sheet part with their format, and its merged
/// ranges (`BrtMergeCell` 0xB0: `u32 first row, u32 last row, u32 first
/// column, u32 last column`, after the cells).
fn sheet_cells(data: &[u8], xfs: &[Option<u32>], budget: &mut usize) -> (Vec<(CellRef, u32)>, Vec<CellRange>) {
    let mut out = Vec::new();
    let mut merges = Vec::new();
    let mut row: u32 = 0;
    for (kind, d) in records(data) {
        match kind {
            ROW_HDR => row = u32_at(d, 0).unwrap_or(row),
            CELL_RK | CELL_REAL | FMLA_NUM if *budget > 0 => {
                let (Some(col), Some(style)) = (u32_at(d, 0), u32_at(d, 4)) else {
                    continue;
                };
                let style = (style & 0x00FF_FFFF) as usize;
                if let (Some(Some(f)), Some(pos)) = (xfs.get(style), in_grid(row as u64, col as u64)) {
                    *budget -= 1;
                    out.push((pos, *f));
                }
            }
            MERGE_CELL if merges.len() < MAX_MERGES => {
                let (Some(r0), Some(r1), Some(c0), Some(c1)) =
                    (u32_at(d, 0), u32_at(d, 4), u32_at(d, 8), u32_at(d, 12))
                else {
                    continue;
                };
                if let (Some(start), Some(end)) = (in_grid(r0 as u64, c0 as u64), in_grid(r1 as u64, c1 as u64)) {
                    if start.row <= end.row && start.col <= end.col {
                        merges.push(CellRange::new(start, end));
                    }
                }
            }
            _ => {}
        }
    }
    (out, merges)
}

pub fn read(bytes: &[u8], limits: &Limits, mut budget: usize) -> Option<WorkbookFormats> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let mut parts = xml::Parts::new(&mut zip, limits.max_uncompressed);
    let mut part = |path: &str| parts.read(path);
    let mut palette = Palette::default();
    let xfs = styles(&part("xl/styles.bin")?, &mut palette);
    // Sheet name → relationship id, from workbook.bin.
    let workbook = part("xl/workbook.bin")?;
    let mut sheets: Vec<(String, String)> = Vec::new();
    for (kind, d) in records(&workbook) {
        if kind == BUNDLE_SH {
            if let Some((rel, next)) = wide_string(d, 8) {
                if let Some((name, _)) = wide_string(d, next) {
                    sheets.push((name, rel));
                }
            }
        }
    }
    let rels = part("xl/_rels/workbook.bin.rels")
        .map(|r| relationships(&r))
        .unwrap_or_default();
    let mut out = Vec::with_capacity(sheets.len());
    let mut merges = Vec::new();
    for (name, rel) in sheets {
        let Some(target) = rels.get(&rel) else { continue };
        let path = crate::pipeline::read::styles::resolve("xl", target);
        let Some(data) = part(&path) else { continue };
        let (cells, merged) = sheet_cells(&data, &xfs, &mut budget);
        if !merged.is_empty() {
            merges.push((name.clone(), merged));
        }
        out.push((name, cells));
    }
    Some(WorkbookFormats {
        palette: palette.into_vec(),
        sheets: out,
        merges,
    })
}

/// `Id` → `Target` of a relationships part.
fn relationships(part: &[u8]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut reader = xml::reader(BufReader::new(part));
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) if e.local_name().as_ref() == "Relationship" => {
                if let (Some(id), Some(target)) = (attr(&e, "Id"), attr(&e, "Target")) {
                    out.insert(id, target);
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: u32, body: &[u8]) -> Vec<u8> {
        let mut r = Vec::new();
        if kind < 0x80 {
            r.push(kind as u8);
        } else {
            r.push((kind & 0x7F) as u8 | 0x80);
            r.push((kind >> 7) as u8);
        }
        let mut size = body.len();
        loop {
            let b = (size & 0x7F) as u8;
            size >>= 7;
            if size == 0 {
                r.push(b);
                break;
            }
            r.push(b | 0x80);
        }
        r.extend(body);
        r
    }

    fn wide(s: &str) -> Vec<u8> {
        let units: Vec<u16> = s.encode_utf16().collect();
        let mut b = (units.len() as u32).to_le_bytes().to_vec();
        for u in units {
            b.extend(u.to_le_bytes());
        }
        b
    }

    fn styles_bin() -> Vec<u8> {
        let mut fmt = 164u16.to_le_bytes().to_vec();
        fmt.extend(wide("0.0%"));
        let mut s = record(FMT, &fmt);
        // An XF outside the cell XFs (a cell style XF) does not count.
        s.extend(record(XF, &[0, 0, 9, 0]));
        s.extend(record(BEGIN_CELL_XFS, &[1, 0, 0, 0]));
        for id in [0u16, 164, 9, 14, 3] {
            let mut x = vec![0, 0];
            x.extend(id.to_le_bytes());
            x.extend([0u8; 12]);
            s.extend(record(XF, &x));
        }
        s.extend(record(END_CELL_XFS, &[]));
        s
    }

    fn cell(kind: u32, col: u32, style: u32) -> Vec<u8> {
        let mut b = col.to_le_bytes().to_vec();
        b.extend((style | 0x0100_0000).to_le_bytes());
        b.extend([0u8; 8]);
        record(kind, &b)
    }

    #[test]
    fn formats_from_styles_and_cells() {
        let mut palette = Palette::default();
        let xfs = styles(&styles_bin(), &mut palette);
        let palette = palette.into_vec();
        assert_eq!(xfs.len(), 5);
        let mut sheet = record(ROW_HDR, &1u32.to_le_bytes());
        sheet.extend(cell(CELL_RK, 1, 1));
        sheet.extend(cell(CELL_REAL, 2, 2));
        sheet.extend(cell(FMLA_NUM, 3, 3));
        sheet.extend(cell(CELL_REAL, 4, 4));
        sheet.extend(cell(CELL_REAL, 5, 0));
        sheet.extend(cell(CELL_REAL, 6, 99));
        // Merged ranges come after the cells: A3:A5 (a family merged down), B1:D1.
        for (r0, r1, c0, c1) in [(2u32, 4u32, 0u32, 0u32), (0, 0, 1, 3), (5, 4, 0, 0)] {
            let body: Vec<u8> = [r0, r1, c0, c1].iter().flat_map(|v| v.to_le_bytes()).collect();
            sheet.extend(record(MERGE_CELL, &body));
        }
        let mut budget = 100;
        let (cells, merges) = sheet_cells(&sheet, &xfs, &mut budget);
        let merges: Vec<String> = merges.iter().map(|m| m.to_string()).collect();
        assert_eq!(merges, vec!["A3:A5".to_string(), "B1:D1".to_string()]);
        let cells: Vec<(String, NumberFormat)> = cells
            .iter()
            .map(|(p, i)| (p.to_string(), palette[*i as usize].clone()))
            .collect();
        use NumberFormat::*;
        assert_eq!(
            cells,
            vec![("B2".into(), Percent), ("C2".into(), Percent), ("D2".into(), Date),]
        );
        // `#,##0` (E2) does not change the value: not recorded.
        assert_eq!(budget, 97);
    }

    #[test]
    fn truncated_and_garbled_parts_do_not_panic() {
        let data = styles_bin();
        let mut seed: u32 = 99;
        for len in 0..data.len() {
            let mut palette = Palette::default();
            let _ = styles(&data[..len], &mut palette);
        }
        for _ in 0..2000 {
            let mut copy = data.clone();
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let i = (seed as usize >> 8) % copy.len();
            copy[i] = (seed >> 24) as u8;
            let mut palette = Palette::default();
            let xfs = styles(&copy, &mut palette);
            let mut budget = 3;
            assert!(sheet_cells(&copy, &xfs, &mut budget).0.len() <= 3);
        }
        assert!(read(b"PK\x03\x04 not a zip", &Limits::default(), 10).is_none());
    }
}
