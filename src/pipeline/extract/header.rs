//! Where a table's header is: a band of one to three rows (merges included)
//! holding the table's column labels.

use super::*;

/// A located header: a band of one to three rows, and which column holds which field.
pub(super) struct Header {
    /// The band's first row, merges included.
    pub(super) top: u32,
    /// The first row below the band, merges included: data start there.
    pub(super) data_start: u32,
    pub(super) columns: Vec<(usize, u32)>, // (index in spec.columns, sheet column)
    /// The cell holding each found column label (the merged range's first cell).
    pub(super) label_cells: Vec<CellRef>,
    pub(super) first_col: u32,
    pub(super) last_col: u32,
}

/// Rows a header band spans at most (`templates.md`, "Tables").
pub(super) const MAX_BAND_ROWS: u32 = 3;

/// Merged ranges taller than one row (header cells merged down), at most 20 rows tall.
pub(super) fn tall_merges(sheet: &Sheet) -> Vec<CellRange> {
    sheet
        .merges
        .iter()
        .copied()
        .filter(|m| m.end.row > m.start.row && m.end.row - m.start.row <= 20)
        .collect()
}

/// A header band being gathered: the column labels found so far.
pub(super) struct Band<'a> {
    pub(super) sheet: &'a Sheet,
    pub(super) tb: &'a TableSpec,
    pub(super) tall: &'a [CellRange],
    pub(super) columns: Vec<(usize, u32)>,
    pub(super) label_cells: Vec<CellRef>,
    pub(super) top: u32,
    pub(super) bottom: u32,
}

impl Band<'_> {
    /// The column a label cell names, if it names one not found yet.
    fn new_column(&self, normalized: &str) -> Option<usize> {
        self.tb
            .columns
            .iter()
            .position(|col| col.matches_normalized(normalized))
            .filter(|i| !self.columns.iter().any(|(j, _)| j == i))
    }

    /// Whether `row` holds (or is covered by a merge holding) a label of a
    /// column not found yet.
    fn row_adds_a_column(&self, row: u32) -> bool {
        self.sheet
            .row_normalized(row)
            .any(|(_, n)| n.is_some_and(|n| self.new_column(n).is_some()))
            || self.covering(row).any(|(_, n)| self.new_column(&n).is_some())
    }

    /// Label cells merged down from a row above `row` and covering it.
    fn covering(&self, row: u32) -> impl Iterator<Item = (CellRange, String)> + '_ {
        self.tall
            .iter()
            .filter(move |m| m.start.row < row && m.end.row >= row)
            .filter_map(|m| match self.sheet.get(m.start) {
                Some(CellValue::Text(t)) => Some((*m, normalize_label(t))),
                _ => None,
            })
    }

    /// Takes the column labels of `row` into the band (a label merged down
    /// from above counts for each row it covers); the band grows to the
    /// bottom of their merges.
    fn take_row(&mut self, row: u32) {
        for (c, norm) in self.sheet.row_normalized(row) {
            let Some(i) = norm.and_then(|n| self.new_column(n)) else {
                continue;
            };
            self.columns.push((i, c.pos.col));
            self.label_cells.push(c.pos);
            self.top = self.top.min(row);
            self.bottom = self.bottom.max(merged_end(self.sheet, c.pos).row);
        }
        let covering: Vec<(CellRange, String)> = self.covering(row).collect();
        for (m, n) in covering {
            if let Some(i) = self.new_column(&n) {
                self.columns.push((i, m.start.col));
                self.label_cells.push(m.start);
                self.top = self.top.min(m.start.row);
                self.bottom = self.bottom.max(m.end.row);
            }
        }
    }
}

/// Finds a table's header: the first band of one to three rows that holds
/// every required column label (`templates.md`, "Tables"). A band starts at a
/// row holding a column label; the rows its labels' vertical merges cover
/// belong to it, and so does a row directly below that holds another column
/// label of the table. Every column label is looked for in the whole band.
pub(super) fn find_header(sheet: &Sheet, tb: &TableSpec, skip_rows: &BTreeSet<u32>) -> Option<Header> {
    let tall = tall_merges(sheet);
    for row in sheet.row_numbers() {
        if skip_rows.contains(&row) {
            continue;
        }
        let mut band = Band {
            sheet,
            tb,
            tall: &tall,
            columns: Vec::new(),
            label_cells: Vec::new(),
            top: row,
            bottom: row,
        };
        band.take_row(row);
        if band.columns.is_empty() {
            continue;
        }
        let mut next = row + 1;
        loop {
            let in_merges = next <= band.bottom;
            let below = next < band.top + MAX_BAND_ROWS && !skip_rows.contains(&next) && band.row_adds_a_column(next);
            if !in_merges && !below {
                break;
            }
            band.take_row(next);
            band.bottom = band.bottom.max(next);
            next += 1;
        }
        let all_required = tb
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.required)
            .all(|(i, _)| band.columns.iter().any(|(j, _)| *j == i));
        if all_required {
            // Left to right, as the reader sees the columns.
            band.columns.sort_by_key(|(_, c)| *c);
            let first_col = band.columns.iter().map(|(_, c)| *c).min().unwrap_or(0);
            let last_col = band.columns.iter().map(|(_, c)| *c).max().unwrap_or(0);
            return Some(Header {
                top: band.top,
                data_start: band.bottom.saturating_add(1),
                columns: band.columns,
                label_cells: band.label_cells,
                first_col,
                last_col,
            });
        }
    }
    None
}
