//! Positions in a workbook: cells, ranges and where an extracted value came from.
//!
//! Coordinates are absolute and zero-based (`row 0, col 0` is `A1`) everywhere in
//! the crate; the reading module converts calamine's relative offsets once.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One cell of a sheet, zero-based and absolute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CellRef {
    pub row: u32,
    pub col: u32,
}

impl CellRef {
    pub const fn new(row: u32, col: u32) -> Self {
        Self { row, col }
    }

    /// Parses `B12` (case-insensitive, `$` allowed). `None` when it is not a cell address.
    pub fn parse(a1: &str) -> Option<Self> {
        let s = a1.trim().replace('$', "");
        let split = s.find(|c: char| c.is_ascii_digit())?;
        let (letters, digits) = s.split_at(split);
        if letters.is_empty() || letters.len() > 3 || !letters.chars().all(|c| c.is_ascii_alphabetic()) {
            return None;
        }
        let mut col: u32 = 0;
        for c in letters.chars() {
            col = col * 26 + (c.to_ascii_uppercase() as u32 - 'A' as u32 + 1);
        }
        let row: u32 = digits.parse().ok()?;
        if row == 0 || col == 0 || row > 1_048_576 || col > 16_384 {
            return None;
        }
        Some(Self::new(row - 1, col - 1))
    }
}

/// Excel column letters of a zero-based column index: 0 → `A`, 27 → `AB`.
pub fn column_letters(col: u32) -> String {
    let mut n = col as u64 + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = ((n - 1) % 26) as u8;
        out.push(b'A' + rem);
        n = (n - 1) / 26;
    }
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
}

impl fmt::Display for CellRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", column_letters(self.col), self.row as u64 + 1)
    }
}

impl Serialize for CellRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CellRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        CellRef::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("adresse de cellule invalide : {s}")))
    }
}

/// A rectangle of cells, both corners included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CellRange {
    pub start: CellRef,
    pub end: CellRef,
}

impl CellRange {
    pub fn new(a: CellRef, b: CellRef) -> Self {
        Self {
            start: CellRef::new(a.row.min(b.row), a.col.min(b.col)),
            end: CellRef::new(a.row.max(b.row), a.col.max(b.col)),
        }
    }

    pub fn single(c: CellRef) -> Self {
        Self { start: c, end: c }
    }

    pub fn contains(&self, c: CellRef) -> bool {
        (self.start.row..=self.end.row).contains(&c.row) && (self.start.col..=self.end.col).contains(&c.col)
    }

    pub fn is_single(&self) -> bool {
        self.start == self.end
    }

    /// The smallest range that holds both.
    pub fn union(&self, other: &CellRange) -> CellRange {
        CellRange {
            start: CellRef::new(self.start.row.min(other.start.row), self.start.col.min(other.start.col)),
            end: CellRef::new(self.end.row.max(other.end.row), self.end.col.max(other.end.col)),
        }
    }

    /// Parses `C7:H7` or a single `C7`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.split_once(':') {
            Some((a, b)) => Some(Self::new(CellRef::parse(a)?, CellRef::parse(b)?)),
            None => CellRef::parse(s).map(Self::single),
        }
    }
}

impl fmt::Display for CellRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_single() {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}:{}", self.start, self.end)
        }
    }
}

impl Serialize for CellRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CellRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        CellRange::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("plage invalide : {s}")))
    }
}

/// Where a value of the extracted data sits in the workbook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub sheet: String,
    /// The cell that holds the value; `None` for a whole sheet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell: Option<CellRef>,
    /// The cells a compound value (a table row, a table) spans.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<CellRange>,
    /// The text as typed in the cell, when it was not used as is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
}

impl Origin {
    pub fn sheet(sheet: &str) -> Self {
        Self {
            sheet: sheet.to_string(),
            cell: None,
            range: None,
            raw: None,
        }
    }

    pub fn cell(sheet: &str, cell: CellRef) -> Self {
        Self {
            sheet: sheet.to_string(),
            cell: Some(cell),
            range: None,
            raw: None,
        }
    }

    pub fn range(sheet: &str, range: CellRange) -> Self {
        Self {
            sheet: sheet.to_string(),
            cell: Some(range.start),
            range: Some(range),
            raw: None,
        }
    }

    /// The cells this origin covers: its range, else its cell.
    pub fn span(&self) -> Option<CellRange> {
        self.range.or(self.cell.map(CellRange::single))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a1_round_trip() {
        for (s, r, c) in [
            ("A1", 0, 0),
            ("Z10", 9, 25),
            ("AA1", 0, 26),
            ("XFD1048576", 1_048_575, 16_383),
        ] {
            assert_eq!(CellRef::parse(s), Some(CellRef::new(r, c)), "{s}");
            assert_eq!(CellRef::new(r, c).to_string(), s);
        }
        assert_eq!(CellRef::parse("$b$3"), Some(CellRef::new(2, 1)));
        for bad in ["", "A", "1", "A0", "XFE1", "A1048577", "ABCD1", "é1"] {
            assert_eq!(CellRef::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn ranges() {
        let r = CellRange::new(CellRef::new(6, 7), CellRef::new(6, 2));
        assert_eq!(CellRange::parse("H7:C7"), Some(r));
        assert_eq!(r.to_string(), "C7:H7");
        assert!(r.contains(CellRef::new(6, 4)));
        assert!(!r.contains(CellRef::new(7, 4)));
        assert_eq!(CellRange::parse("B2").map(|r| r.to_string()), Some("B2".into()));
    }
}
