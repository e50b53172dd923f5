//! Number formats of an `.xls` workbook (BIFF8).
//!
//! The `Workbook` stream of the compound file is a list of records
//! (`u16 type, u16 length, data`). Its globals give the format codes (`FORMAT`
//! 0x041E: `u16 id`, then a Unicode string), the cell formats (`XF` 0x00E0,
//! numbered in order: `u16 font, u16 format id, …`) and where each sheet starts
//! (`BoundSheet8` 0x0085: `u32 offset`, `u8 state`, `u8 type`, then its name).
//! Each sheet's cells name their XF: `NUMBER` 0x0203, `RK` 0x027E, `FORMULA`
//! 0x0006 (`u16 row, u16 column, u16 xf, …`) and `MULRK` 0x00BD (`u16 row,
//! u16 first column`, then `u16 xf, u32 value` per cell). Format ids without a
//! `FORMAT` record are Excel's built-ins (9 = `0%`, 10 = `0.00%`); LibreOffice
//! writes its percent formats as custom ids (165 = `0%`).

use std::collections::HashMap;
use std::io::{Cursor, Read};

use super::{in_grid, NumberFormat, Palette, WorkbookFormats};
use crate::base::model::CellRef;
use crate::pipeline::read::Limits;

const BOF: u16 = 0x0809;
const EOF: u16 = 0x000A;
const FORMAT: u16 = 0x041E;
const XF: u16 = 0x00E0;
const BOUNDSHEET: u16 = 0x0085;
const NUMBER: u16 = 0x0203;
const RK: u16 = 0x027E;
const MULRK: u16 = 0x00BD;
const FORMULA: u16 = 0x0006;

/// Excel 97–2003 allows 4 000 cell formats; more is not a real workbook.
const MAX_XF: usize = 65_536;

pub fn read(bytes: &[u8], limits: &Limits, budget: usize) -> Option<WorkbookFormats> {
    Some(read_stream(&workbook_stream(bytes, limits)?, budget))
}

/// The `Workbook` stream of an `.xls` compound file, at most
/// `limits.max_uncompressed` bytes of it; `None` if there is none.
pub(in crate::pipeline::read) fn workbook_stream(bytes: &[u8], limits: &Limits) -> Option<Vec<u8>> {
    let mut cfb = cfb::CompoundFile::open(Cursor::new(bytes)).ok()?;
    let stream = ["/Workbook", "/WORKBOOK", "/workbook"]
        .into_iter()
        .find(|p| cfb.is_stream(p))?;
    let mut data = Vec::new();
    cfb.open_stream(stream)
        .ok()?
        .take(limits.max_uncompressed)
        .read_to_end(&mut data)
        .ok()?;
    Some(data)
}

/// Iterates over the records from `offset`: `(type, data)`.
pub(in crate::pipeline::read) fn records(data: &[u8], offset: usize) -> impl Iterator<Item = (u16, &[u8])> {
    let mut at = offset;
    std::iter::from_fn(move || {
        let head = data.get(at..at.checked_add(4)?)?;
        let kind = u16::from_le_bytes([head[0], head[1]]);
        let len = u16::from_le_bytes([head[2], head[3]]) as usize;
        let body = data.get(at + 4..at + 4 + len)?;
        at += 4 + len;
        Some((kind, body))
    })
}

pub(in crate::pipeline::read) fn u16_at(d: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_le_bytes(d.get(i..i.checked_add(2)?)?.try_into().ok()?))
}

pub(in crate::pipeline::read) fn u32_at(d: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(i..i.checked_add(4)?)?.try_into().ok()?))
}

/// A BIFF8 string of `cch` characters at `d[at]`: a flags byte (bit 0 set =
/// UTF-16LE, else one byte per character, Latin-1), then the characters.
/// Rich-text and phonetic extensions are not read (not in format codes).
pub(in crate::pipeline::read) fn string_at(d: &[u8], at: usize, cch: usize) -> Option<String> {
    let flags = *d.get(at)?;
    let chars = d.get(at.checked_add(1)?..)?;
    if flags & 0x01 != 0 {
        let units: Vec<u16> = chars
            .chunks_exact(2)
            .take(cch)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        Some(String::from_utf16_lossy(&units))
    } else {
        Some(chars.iter().take(cch).map(|&b| b as char).collect())
    }
}

/// The records of the sheet substream at `offset` (a `BoundSheet8`'s), from its
/// `BOF` to its `EOF`; nothing if no `BOF` is there (a bad offset).
pub(in crate::pipeline::read) fn sheet_records(data: &[u8], offset: usize) -> impl Iterator<Item = (u16, &[u8])> {
    let mut first = true;
    records(data, offset)
        .take_while(move |(kind, _)| {
            let keep = !(first && *kind != BOF) && *kind != EOF;
            first = false;
            keep
        })
        .skip(1)
}

/// The sheets of the globals: `(name, offset of its substream)`, in order.
pub(in crate::pipeline::read) fn bound_sheets(data: &[u8]) -> Vec<(String, u32)> {
    let mut sheets = Vec::new();
    for (kind, d) in records(data, 0) {
        match kind {
            BOUNDSHEET => sheets.extend(bound_sheet(d)),
            EOF => break,
            _ => {}
        }
    }
    sheets
}

/// A BOUNDSHEET record: the sheet's name and the offset of its substream.
fn bound_sheet(d: &[u8]) -> Option<(String, u32)> {
    let (offset, cch) = (u32_at(d, 0)?, d.get(6)?);
    Some((string_at(d, 7, *cch as usize)?, offset))
}

fn read_stream(data: &[u8], mut budget: usize) -> WorkbookFormats {
    let mut codes: HashMap<u16, String> = HashMap::new();
    let mut xfs: Vec<u16> = Vec::new();
    let mut sheets: Vec<(String, u32)> = Vec::new();
    for (kind, d) in records(data, 0) {
        match kind {
            FORMAT => {
                if let (Some(id), Some(cch)) = (u16_at(d, 0), u16_at(d, 2)) {
                    if let Some(code) = string_at(d, 4, cch as usize) {
                        codes.insert(id, code);
                    }
                }
            }
            XF if xfs.len() < MAX_XF => xfs.push(u16_at(d, 2).unwrap_or(0)),
            BOUNDSHEET => sheets.extend(bound_sheet(d)),
            EOF => break,
            _ => {}
        }
    }
    // What each XF shows, as an index into the palette (None: General).
    let mut palette = Palette::default();
    let mut by_id: HashMap<u16, Option<u32>> = HashMap::new();
    let xf_formats: Vec<Option<u32>> = xfs
        .iter()
        .map(|id| {
            *by_id.entry(*id).or_insert_with(|| {
                let format = match codes.get(id) {
                    Some(code) => NumberFormat::from_code(code),
                    None => NumberFormat::from_builtin(*id as u32),
                };
                format.changes_value().then(|| palette.index(format))
            })
        })
        .collect();
    let mut out = Vec::with_capacity(sheets.len());
    for (name, offset) in sheets {
        let mut cells: Vec<(CellRef, u32)> = Vec::new();
        let mut push = |row: u16, col: u16, xf: u16, budget: &mut usize| {
            if *budget == 0 {
                return;
            }
            if let (Some(Some(f)), Some(pos)) = (xf_formats.get(xf as usize), in_grid(row as u64, col as u64)) {
                *budget -= 1;
                cells.push((pos, *f));
            }
        };
        let mut first = true;
        for (kind, d) in records(data, offset as usize) {
            // A sheet substream starts with its own BOF; anything else is a bad offset.
            if first && kind != BOF {
                break;
            }
            first = false;
            match kind {
                NUMBER | RK | FORMULA => {
                    if let (Some(row), Some(col), Some(xf)) = (u16_at(d, 0), u16_at(d, 2), u16_at(d, 4)) {
                        push(row, col, xf, &mut budget);
                    }
                }
                MULRK => {
                    if let (Some(row), Some(first_col)) = (u16_at(d, 0), u16_at(d, 2)) {
                        // (xf, value) pairs of 6 bytes, then the last column (u16).
                        let pairs = d.get(4..d.len().saturating_sub(2)).unwrap_or(&[]);
                        for (i, pair) in pairs.chunks_exact(6).enumerate() {
                            let xf = u16::from_le_bytes([pair[0], pair[1]]);
                            let col = (first_col as usize).saturating_add(i);
                            if let Ok(col) = u16::try_from(col) {
                                push(row, col, xf, &mut budget);
                            }
                        }
                    }
                }
                EOF => break,
                _ => {}
            }
        }
        out.push((name, cells));
    }
    WorkbookFormats {
        merges: Vec::new(),
        palette: palette.into_vec(),
        sheets: out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: u16, body: &[u8]) -> Vec<u8> {
        let mut r = kind.to_le_bytes().to_vec();
        r.extend((body.len() as u16).to_le_bytes());
        r.extend(body);
        r
    }

    fn cell(kind: u16, row: u16, col: u16, xf: u16) -> Vec<u8> {
        let mut b = Vec::new();
        for v in [row, col, xf] {
            b.extend(v.to_le_bytes());
        }
        b.extend([0u8; 8]);
        record(kind, &b)
    }

    /// Globals: FORMAT 165 = "0%" (compressed), 166 = "0.00%" (UTF-16); XF 0
    /// General, XF 1 → 165, XF 2 → 166, XF 3 → built-in 9, XF 4 → built-in 14;
    /// one sheet `S`.
    fn workbook() -> Vec<u8> {
        let mut g = record(BOF, &[0; 16]);
        let mut f = vec![165, 0, 2, 0, 0];
        f.extend(b"0%");
        g.extend(record(FORMAT, &f));
        let mut f = vec![166, 0, 5, 0, 1];
        for u in "0.00%".encode_utf16() {
            f.extend(u.to_le_bytes());
        }
        g.extend(record(FORMAT, &f));
        for id in [0u16, 165, 166, 9, 14] {
            let mut x = vec![0, 0];
            x.extend(id.to_le_bytes());
            x.extend([0u8; 16]);
            g.extend(record(XF, &x));
        }
        let sheet_at_placeholder = g.len() + 4;
        let mut b = vec![0u8; 4];
        b.extend([0, 0, 1]);
        b.extend([0]);
        b.extend(b"S");
        g.extend(record(BOUNDSHEET, &b));
        g.extend(record(EOF, &[]));
        let offset = g.len() as u32;
        g[sheet_at_placeholder..sheet_at_placeholder + 4].copy_from_slice(&offset.to_le_bytes());
        g.extend(record(BOF, &[0; 16]));
        g.extend(cell(RK, 1, 1, 1));
        g.extend(cell(NUMBER, 2, 1, 2));
        g.extend(cell(FORMULA, 3, 1, 3));
        g.extend(cell(NUMBER, 4, 1, 4));
        g.extend(cell(NUMBER, 5, 1, 0));
        let mut m = vec![6, 0, 1, 0];
        for xf in [1u16, 0, 2] {
            m.extend(xf.to_le_bytes());
            m.extend([0u8; 4]);
        }
        m.extend(3u16.to_le_bytes());
        g.extend(record(MULRK, &m));
        g.extend(record(EOF, &[]));
        g
    }

    #[test]
    fn formats_from_format_and_xf_records() {
        let wf = read_stream(&workbook(), 100);
        let cells: Vec<(String, NumberFormat)> = wf.sheets[0]
            .1
            .iter()
            .map(|(p, i)| (p.to_string(), wf.palette[*i as usize].clone()))
            .collect();
        assert_eq!(wf.sheets[0].0, "S");
        use NumberFormat::*;
        assert_eq!(
            cells,
            vec![
                ("B2".into(), Percent),
                ("B3".into(), Percent),
                ("B4".into(), Percent),
                ("B5".into(), Date),
                ("B7".into(), Percent),
                ("D7".into(), Percent),
            ]
        );
    }

    #[test]
    fn truncated_and_garbled_streams_do_not_panic() {
        let data = workbook();
        for len in 0..data.len() {
            let _ = read_stream(&data[..len], 100);
        }
        let mut seed: u32 = 12345;
        for _ in 0..2000 {
            let mut copy = data.clone();
            for _ in 0..3 {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                let i = (seed as usize >> 8) % copy.len();
                copy[i] = (seed >> 24) as u8;
            }
            let wf = read_stream(&copy, 100);
            assert!(wf.sheets.iter().map(|s| s.1.len()).sum::<usize>() <= 100);
        }
        assert!(read(b"not a compound file", &Limits::default(), 10).is_none());
    }
}
