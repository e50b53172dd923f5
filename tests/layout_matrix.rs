//! The layout matrix (issue 20, `templates.md` "Tables" and "Tolerated drift"):
//! every template's clean fixture and one fixture with mistakes per template,
//! re-laid out in the combinations the spec tolerates, must read exactly as the
//! original does.
//!
//! A variant is built from the fixture's description (`fixtures/src/*.json`, a
//! `bilan::sheetgen::WorkbookSpec`) by moving cells, never by asking the engine
//! where the table is: the header row is the row of the description that holds
//! the template's column labels. Its features, each drawn deterministically:
//!
//! - `bande` — the header on 1 row, on 2 rows with the identifying columns merged
//!   down and group labels merged across the figure columns, on 2 rows with the
//!   identifying columns unmerged in the top row, or on 3 rows (two levels of group
//!   labels);
//! - `déplacé` — the table moved down and right, with a title row above and a note
//!   below;
//! - `ordre` — template columns reversed or rotated;
//! - `colonne en plus` — an `Observations` column inside the table;
//! - `lignes vides` — blank rows inside the table;
//! - `fusions` — text columns merged down over runs of equal values (`Famille`,
//!   `Axe`, `Gestion`…);
//! - `libellés` — labels and headers in capitals with a trailing colon, with a
//!   line break and non-breaking spaces, or without accents in lower case; the
//!   TOTAL row spelled `Total :` or `Total général`;
//! - `nombres` — figures typed as French text (thousands separated by NBSP or
//!   narrow NBSP, decimal comma, the column's or the row's unit);
//! - `pourcentages` — figures in percent written `0,73` with a percent format;
//! - `format` — saved as `.xlsx`, or converted to `.ods` / `.xls` by LibreOffice
//!   (one `soffice --convert-to` call per format for the whole matrix).
//!
//! Each variant must give exactly the findings of the original (same rules,
//! severities, messages and figures, on the cell the layout moved it to) and the
//! same data, plus what the layout adds by design: BILAN-NUM-001 on each figure
//! typed as text, BILAN-TPL-005 on the `Observations` column. The combinations are
//! sampled ([`VARIANTS_PER_FIXTURE`] per fixture, from a fixed seed); the test
//! prints how many variants it checked and how often each feature value came up.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use bilan::base::model::{CellRange, CellRef};
use bilan::base::values::normalize_label;
use bilan::finding::{Finding, Severity};
use bilan::job::Checker;
use bilan::pipeline::check::FileReport;
use bilan::pipeline::rules::RulePack;
use bilan::pipeline::template::{Block, FieldSpec, TableSpec, Template, TemplateSet, ValueKind};
use bilan::sheetgen::{write_xlsx, BlockSpec, CellSpec, SheetSpec, TypedCell, WorkbookSpec};

/// Figures typed as text per table at most: each is a BILAN-NUM-001, and a
/// check keeps at most `MAX_FINDINGS_PER_RULE` findings of one rule (a list of
/// 440 operations has thousands of figures).
const MAX_TYPED_AS_TEXT: usize = 200;

/// Variants checked per fixture.
const VARIANTS_PER_FIXTURE: u64 = 12;

/// `(description, template)`: a clean fixture and one with mistakes per template.
/// A built-in template missing here (a new one) gets the first `*-conforme`
/// description of `fixtures/src/` and its first other description ([`discovered`]).
const FIXTURES: [(&str, &str); 12] = [
    ("pole-maud-conforme", "BILAN-POLE"),
    ("pole-itrans-cout-total-different-des-financeurs", "BILAN-POLE"),
    ("plde-boulonnais-conforme", "BILAN-PLDE"),
    ("plde-douaisis-conseil-installe-deux-fois", "BILAN-PLDE"),
    ("feder-axe1-2009-conforme", "TDB-FEDER-AXE1"),
    ("feder-axe1-2009-prevu-axe1-en-pourcentage", "TDB-FEDER-AXE1"),
    ("programme-tic-2009-cybers-sous-la-moitie", "BILAN-PROGRAMME"),
    (
        "programme-prdecs-2009-resultat-nd-et-nombre-avec-commentaire",
        "BILAN-PROGRAMME",
    ),
    (
        "formats/repartition-poles-2009-parts-en-pourcentage",
        "REPARTITION-POLES",
    ),
    (
        "repartition-poles-2009-lignes-et-totaux-incoherents",
        "REPARTITION-POLES",
    ),
    ("outils-financiers-2009-conforme", "BILAN-OUTILS-FINANCIERS"),
    (
        "outils-financiers-2009-dossiers-sans-montant",
        "BILAN-OUTILS-FINANCIERS",
    ),
];

// ---------------------------------------------------------------------------
// Features

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Band {
    One,
    TwoMerged,
    TwoTop,
    Three,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Order {
    Same,
    Reversed,
    Rotated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Labels {
    Plain,
    CapitalsColon,
    BreakNbsp,
    LowerNoAccents,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum FileFormat {
    Xlsx,
    Ods,
    Xls,
}

impl FileFormat {
    fn ext(self) -> &'static str {
        match self {
            FileFormat::Xlsx => "xlsx",
            FileFormat::Ods => "ods",
            FileFormat::Xls => "xls",
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Layout {
    band: Band,
    moved: bool,
    order: Order,
    extra_column: bool,
    blank_rows: bool,
    merge_groups: bool,
    labels: Labels,
    numbers_as_text: bool,
    percent_format: bool,
    format: FileFormat,
}

impl Layout {
    /// The layout number `index` of the full product of the features.
    fn decode(mut index: u64) -> Self {
        let mut next = |n: u64| {
            let v = index % n;
            index /= n;
            v
        };
        Layout {
            band: [Band::One, Band::TwoMerged, Band::TwoTop, Band::Three][next(4) as usize],
            moved: next(2) == 1,
            order: [Order::Same, Order::Reversed, Order::Rotated][next(3) as usize],
            extra_column: next(2) == 1,
            blank_rows: next(2) == 1,
            merge_groups: next(2) == 1,
            labels: [
                Labels::Plain,
                Labels::CapitalsColon,
                Labels::BreakNbsp,
                Labels::LowerNoAccents,
            ][next(4) as usize],
            numbers_as_text: next(2) == 1,
            percent_format: next(2) == 1,
            format: [FileFormat::Xlsx, FileFormat::Ods, FileFormat::Xls][next(3) as usize],
        }
    }

    const PRODUCT: u64 = 4 * 2 * 3 * 2 * 2 * 2 * 4 * 2 * 2 * 3;

    fn describe(&self) -> String {
        let mut out = vec![format!("bande {:?}", self.band)];
        if self.moved {
            out.push("déplacé (titre au-dessus, note dessous)".into());
        }
        if self.order != Order::Same {
            out.push(format!("ordre {:?}", self.order));
        }
        if self.extra_column {
            out.push("colonne en plus".into());
        }
        if self.blank_rows {
            out.push("lignes vides".into());
        }
        if self.merge_groups {
            out.push("fusions vers le bas".into());
        }
        if self.labels != Labels::Plain {
            out.push(format!("libellés {:?}", self.labels));
        }
        if self.numbers_as_text {
            out.push("nombres en texte".into());
        }
        if self.percent_format {
            out.push("format pourcentage".into());
        }
        out.push(format!(".{}", self.format.ext()));
        out.join(", ")
    }

    fn features(&self) -> Vec<String> {
        let mut out = vec![
            format!("bande={:?}", self.band),
            format!("déplacé={}", self.moved),
            format!("ordre={:?}", self.order),
            format!("colonne_en_plus={}", self.extra_column),
            format!("lignes_vides={}", self.blank_rows),
            format!("fusions={}", self.merge_groups),
            format!("libellés={:?}", self.labels),
            format!("nombres_texte={}", self.numbers_as_text),
            format!("pourcentages={}", self.percent_format),
        ];
        out.push(format!("format={}", self.format.ext()));
        out
    }
}

/// splitmix64: a fixed, portable sequence.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn seed_of(name: &str) -> u64 {
    name.bytes().fold(0xCBF2_9CE4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01B3)
    })
}

/// The sampled layouts of one fixture: the first ones cycle through the band
/// forms and the file formats so that each fixture gets every one of them.
fn layouts_of(name: &str) -> Vec<Layout> {
    let seed = seed_of(name);
    (0..VARIANTS_PER_FIXTURE)
        .map(|k| {
            let mut l = Layout::decode(mix(seed ^ k) % Layout::PRODUCT);
            l.band = [Band::One, Band::TwoMerged, Band::TwoTop, Band::Three][(k % 4) as usize];
            l.format = [FileFormat::Xlsx, FileFormat::Ods, FileFormat::Xls][((k / 4 + k) % 3) as usize];
            l
        })
        .collect()
}

// ---------------------------------------------------------------------------
// A sheet as a grid

type Pos = (u32, u32);

#[derive(Debug, Clone, Default)]
struct Grid {
    cells: BTreeMap<Pos, CellSpec>,
    merges: Vec<(Pos, Pos)>,
}

impl Grid {
    fn of(sheet: &SheetSpec) -> Self {
        let mut cells = BTreeMap::new();
        for block in &sheet.blocks {
            let at = CellRef::parse(&block.at).expect("block start");
            for (i, row) in block.rows.iter().enumerate() {
                for (j, cell) in row.iter().enumerate() {
                    if !matches!(cell, CellSpec::Empty(())) {
                        cells.insert((at.row + i as u32, at.col + j as u32), cell.clone());
                    }
                }
            }
        }
        let merges = sheet
            .merges
            .iter()
            .map(|m| {
                let r = CellRange::parse(m).expect("merge");
                ((r.start.row, r.start.col), (r.end.row, r.end.col))
            })
            .collect();
        Grid { cells, merges }
    }

    fn to_sheet(&self, name: &str, widths: &BTreeMap<String, f64>) -> SheetSpec {
        let blocks = self
            .cells
            .iter()
            .map(|(&(r, c), cell)| BlockSpec {
                at: CellRef::new(r, c).to_string(),
                rows: vec![vec![cell.clone()]],
            })
            .collect();
        let merges = self
            .merges
            .iter()
            .map(|(a, b)| CellRange::new(CellRef::new(a.0, a.1), CellRef::new(b.0, b.1)).to_string())
            .collect();
        SheetSpec {
            name: name.to_string(),
            blocks,
            merges,
            widths: widths.clone(),
        }
    }

    fn text(&self, pos: Pos) -> Option<&str> {
        match self.cells.get(&pos) {
            Some(CellSpec::Text(t)) => Some(t),
            Some(CellSpec::Typed(TypedCell { text: Some(t), .. })) => Some(t),
            _ => None,
        }
    }
}

fn text_cell(s: impl Into<String>) -> CellSpec {
    CellSpec::Text(s.into())
}

// ---------------------------------------------------------------------------
// Label spellings

fn strip_accents(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'à' | 'â' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' => 'i',
            'ô' | 'ö' => 'o',
            'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'É' | 'È' | 'Ê' => 'E',
            'À' | 'Â' => 'A',
            'Ô' => 'O',
            'Î' => 'I',
            'Ç' => 'C',
            other => other,
        })
        .collect()
}

fn respell(label: &str, how: Labels) -> String {
    match how {
        Labels::Plain => label.to_string(),
        Labels::CapitalsColon => format!("{} :", label.to_uppercase()),
        Labels::BreakNbsp => {
            // A line break where the last space was, non-breaking spaces elsewhere.
            match label.rfind(' ') {
                Some(i) => format!("{}\n{}", label[..i].replace(' ', "\u{a0}"), &label[i + 1..]),
                None => format!("\u{a0}{label}\u{a0}"),
            }
        }
        Labels::LowerNoAccents => strip_accents(label).to_lowercase(),
    }
}

fn total_spelling(how: Labels) -> &'static str {
    match how {
        Labels::Plain => "TOTAL",
        Labels::CapitalsColon => "Total :",
        Labels::BreakNbsp => "Total général",
        Labels::LowerNoAccents => "totaux",
    }
}

// ---------------------------------------------------------------------------
// Numbers

/// A number as a French submitter types it: thousands grouped by `sep`,
/// decimal comma, then ` unit` when given.
fn french(n: f64, sep: char, unit: Option<&str>) -> Option<String> {
    if n < 0.0 || !n.is_finite() {
        return None;
    }
    let plain = format!("{n}");
    let (int, frac) = match plain.split_once('.') {
        Some((i, f)) => (i.to_string(), Some(f.to_string())),
        None => (plain.clone(), None),
    };
    if int.contains('e') {
        return None;
    }
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(sep);
        }
        grouped.push(ch);
    }
    if let Some(f) = frac {
        grouped.push(',');
        grouped.push_str(&f);
    }
    if let Some(u) = unit {
        grouped.push(' ');
        grouped.push_str(u);
    }
    Some(grouped)
}

/// `v / 100` written as a percentage reads back as exactly `v`.
fn as_fraction(v: f64) -> Option<f64> {
    let f = v / 100.0;
    let back = bilan::base::format::decimal_of_f64(f)? * rust_decimal::Decimal::ONE_HUNDRED;
    (back.normalize() == bilan::base::format::decimal_of_f64(v)?.normalize()).then_some(f)
}

fn unit_text(label: &str) -> Option<&'static str> {
    let l = label.trim_end();
    if l.ends_with("(€)") {
        Some("€")
    } else if l.ends_with("(M€)") {
        Some("M€")
    } else if l.ends_with("(%)") {
        Some("%")
    } else {
        None
    }
}

fn row_unit_text(unit: &str) -> Option<&'static str> {
    match normalize_label(unit).as_str() {
        "€" => Some("€"),
        "m€" => Some("M€"),
        "%" => Some("%"),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// The table of a sheet, as the description lays it out

#[derive(Debug, Clone, Copy, PartialEq)]
enum RowKind {
    Data,
    Blank,
    Heading,
    Total,
}

struct Table<'t> {
    spec: &'t TableSpec,
    header: u32,
    /// Columns of the header row, left to right: the template column each holds.
    slots: Vec<(u32, Option<usize>)>,
    rows: Vec<(u32, RowKind)>,
}

fn is_figure(f: &FieldSpec) -> bool {
    matches!(f.kind, ValueKind::Integer | ValueKind::Number)
}

fn find_table<'t>(grid: &Grid, spec: &'t TableSpec) -> Option<Table<'t>> {
    let rows: BTreeSet<u32> = grid.cells.keys().map(|p| p.0).collect();
    let header = rows.iter().copied().find(|&r| {
        spec.columns.iter().filter(|c| c.required).all(|c| {
            grid.cells
                .keys()
                .filter(|p| p.0 == r)
                .any(|&p| grid.text(p).is_some_and(|t| c.matches_text(t)))
        })
    })?;
    let slots: Vec<(u32, Option<usize>)> = grid
        .cells
        .keys()
        .filter(|p| p.0 == header)
        .map(|&p| {
            let i = grid
                .text(p)
                .and_then(|t| spec.columns.iter().position(|c| c.matches_text(t)));
            (p.1, i)
        })
        .collect();
    let (c0, c1) = (slots.first()?.0, slots.last()?.0);
    let last = rows.iter().copied().filter(|&r| r > header).max().unwrap_or(header);
    let mut out = Vec::new();
    for r in header + 1..=last {
        let in_table: Vec<Pos> = grid
            .cells
            .keys()
            .filter(|p| p.0 == r && p.1 >= c0 && p.1 <= c1)
            .copied()
            .collect();
        let kind = if in_table.is_empty() {
            RowKind::Blank
        } else if grid
            .text(in_table[0])
            .is_some_and(bilan::pipeline::extract::is_total_label)
        {
            RowKind::Total
        } else if in_table.len() == 1 && in_table[0].1 == c0 && grid.text(in_table[0]).is_some() {
            RowKind::Heading
        } else {
            RowKind::Data
        };
        out.push((r, kind));
        if kind == RowKind::Total {
            break;
        }
    }
    while out.last().is_some_and(|(_, k)| *k == RowKind::Blank) {
        out.pop();
    }
    Some(Table {
        spec,
        header,
        slots,
        rows: out,
    })
}

// ---------------------------------------------------------------------------
// A variant: the new workbook and where each old position went

/// Where the cells of one sheet went.
#[derive(Default)]
struct Moves {
    /// Table rows (header included): old row → new row.
    rows: BTreeMap<u32, u32>,
    /// Rows below the table move by this much.
    below: i64,
    /// Table columns: old column → new column.
    cols: BTreeMap<u32, u32>,
    /// The table's first and last old columns, last row.
    span: Option<(u32, u32, u32)>,
    /// Old header row → the band's top row.
    header: Option<(u32, u32)>,
    /// The new first column of the table's template columns.
    first_template_col: Option<(u32, u32)>,
    cols_after: i64,
}

impl Moves {
    fn map(&self, pos: CellRef) -> CellRef {
        let Some((c0, c1, last)) = self.span else { return pos };
        let (h, _) = self.header.unwrap_or((0, 0));
        if pos.row < h {
            return pos;
        }
        let row = match self.rows.get(&pos.row) {
            Some(r) => *r,
            None if pos.row > last => (pos.row as i64 + self.below) as u32,
            None => pos.row,
        };
        let col = if pos.col < c0 {
            pos.col
        } else if pos.col > c1 {
            (pos.col as i64 + self.cols_after) as u32
        } else {
            self.cols.get(&pos.col).copied().unwrap_or(pos.col)
        };
        CellRef::new(row, col)
    }
}

struct Variant {
    name: String,
    fixture: &'static str,
    layout: Layout,
    xlsx: Vec<u8>,
    moves: BTreeMap<String, Moves>,
    /// Findings the layout adds by design: (rule, sheet, cell).
    added: Vec<(String, String, CellRef)>,
}

fn build(fixture: &'static str, template: &Template, spec: &WorkbookSpec, layout: Layout, index: usize) -> Variant {
    let mut sheets = Vec::new();
    let mut moves = BTreeMap::new();
    let mut added = Vec::new();
    for sheet in &spec.sheets {
        let grid = Grid::of(sheet);
        let sheet_spec = template.sheet(&sheet.name);
        let tables: Vec<&TableSpec> = sheet_spec
            .map(|s| {
                s.blocks
                    .iter()
                    .filter_map(|b| match b {
                        Block::Table(t) => Some(t),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let fields: Vec<&FieldSpec> = sheet_spec
            .map(|s| {
                s.blocks
                    .iter()
                    .filter_map(|b| match b {
                        Block::Field(f) => Some(f),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut grid = relabel(&grid, &fields, layout.labels);
        let mut m = Moves::default();
        if let [table] = tables.as_slice() {
            if let Some(t) = find_table(&grid, table) {
                let (g, mv, add) = relayout(&grid, &t, layout, &sheet.name);
                grid = g;
                m = mv;
                added.extend(add);
            }
        }
        moves.insert(sheet.name.clone(), m);
        sheets.push(grid.to_sheet(&sheet.name, &sheet.widths));
    }
    let xlsx = write_xlsx(&WorkbookSpec { sheets }).unwrap_or_else(|e| panic!("{fixture}: {e}"));
    Variant {
        name: format!("v{index:03}-{}", fixture.rsplit('/').next().unwrap_or(fixture)),
        fixture,
        layout,
        xlsx,
        moves,
        added,
    }
}

/// Label/value labels respelled.
fn relabel(grid: &Grid, fields: &[&FieldSpec], how: Labels) -> Grid {
    let mut out = grid.clone();
    for (pos, cell) in out.cells.iter_mut() {
        let Some(t) = grid.text(*pos) else { continue };
        if fields.iter().any(|f| f.matches_text(t)) {
            *cell = text_cell(respell(t.trim(), how));
        }
    }
    out
}

fn relayout(grid: &Grid, t: &Table<'_>, layout: Layout, sheet: &str) -> (Grid, Moves, Vec<(String, String, CellRef)>) {
    let mut added = Vec::new();
    let c0 = t.slots.first().map(|s| s.0).unwrap_or(0);
    let c1 = t.slots.last().map(|s| s.0).unwrap_or(0);
    let last = t.rows.last().map(|r| r.0).unwrap_or(t.header);
    let (dr, dc) = if layout.moved { (2u32, 1u32) } else { (0, 0) };
    let band_rows = match layout.band {
        Band::One => 1,
        Band::TwoMerged | Band::TwoTop => 2,
        Band::Three => 3,
    };
    // Column order: template columns permuted among their slots; the first one
    // stays first (it carries group headings and the TOTAL label, which must be
    // the row's first cell).
    let template_slots: Vec<usize> = (0..t.slots.len()).filter(|&i| t.slots[i].1.is_some()).skip(1).collect();
    let mut permuted = template_slots.clone();
    match layout.order {
        Order::Same => {}
        Order::Reversed => permuted.reverse(),
        Order::Rotated => permuted.rotate_left(1),
    }
    let mut order: Vec<Option<usize>> = (0..t.slots.len()).map(Some).collect();
    for (k, &slot) in template_slots.iter().enumerate() {
        order[slot] = Some(permuted[k]);
    }
    if layout.extra_column {
        order.insert(2.min(order.len()), None);
    }
    let top = t.header + dr;
    let new_col = |k: usize| c0 + dc + k as u32;
    let mut moves = Moves {
        span: Some((c0, c1, last)),
        header: Some((t.header, top)),
        cols_after: dc as i64 + layout.extra_column as i64,
        ..Default::default()
    };
    for (k, o) in order.iter().enumerate() {
        if let Some(slot) = o {
            moves.cols.insert(t.slots[*slot].0, new_col(k));
        }
    }
    moves.first_template_col = t.slots.iter().find(|s| s.1.is_some()).map(|s| {
        (
            s.0,
            order
                .iter()
                .enumerate()
                .filter_map(|(k, o)| o.and_then(|s| t.slots[s].1.map(|_| new_col(k))))
                .min()
                .unwrap_or(0),
        )
    });
    // Rows: header band, then data rows with blank rows inserted.
    let data_rows: Vec<u32> = t.rows.iter().filter(|r| r.1 == RowKind::Data).map(|r| r.0).collect();
    let mut blank_before: BTreeSet<u32> = BTreeSet::new();
    if layout.blank_rows && data_rows.len() >= 2 {
        blank_before.insert(data_rows[1]);
        blank_before.insert(*data_rows.last().unwrap_or(&data_rows[1]));
    }
    moves.rows.insert(t.header, top);
    let mut next = top + band_rows;
    for &(r, _) in &t.rows {
        if blank_before.contains(&r) {
            next += 1;
        }
        moves.rows.insert(r, next);
        next += 1;
    }
    moves.below = next as i64 - (last as i64 + 1);

    let mut out = Grid::default();
    // Cells outside the table's rectangle.
    for (&(r, c), cell) in &grid.cells {
        let inside = r >= t.header && r <= last && c >= c0 && c <= c1;
        if !inside {
            let p = moves.map(CellRef::new(r, c));
            out.cells.insert((p.row, p.col), cell.clone());
        }
    }
    for &(a, b) in &grid.merges {
        let (pa, pb) = (moves.map(CellRef::new(a.0, a.1)), moves.map(CellRef::new(b.0, b.1)));
        out.merges.push(((pa.row, pa.col), (pb.row, pb.col)));
    }
    if layout.moved {
        out.cells.insert(
            (t.header, c0 + dc),
            text_cell("Tableau saisi par le service (version de travail)"),
        );
        let below = out.cells.keys().map(|p| p.0).max().unwrap_or(0) + 2;
        out.cells.insert(
            (below, c0 + dc),
            text_cell("Source : services de la Région, chiffres provisoires."),
        );
    }
    // The header band.
    let spec = t.spec;
    let is_key = |i: usize| i == 0 || !is_figure(&spec.columns[i]);
    let label_of = |slot: usize| -> String {
        let text = grid.text((t.header, t.slots[slot].0)).unwrap_or("");
        match t.slots[slot].1 {
            Some(_) => respell(text.trim(), layout.labels),
            None => text.to_string(),
        }
    };
    let bottom = top + band_rows - 1;
    let mut k = 0;
    while k < order.len() {
        let col = new_col(k);
        let figure = order[k].and_then(|s| t.slots[s].1).is_some_and(|i| !is_key(i));
        if !figure || band_rows == 1 {
            let label = match order[k] {
                Some(slot) => label_of(slot),
                None => "Observations".to_string(),
            };
            if label.is_empty() {
                k += 1;
                continue;
            }
            out.cells.insert((top, col), text_cell(label));
            if order[k].is_none() {
                added.push(("BILAN-TPL-005".to_string(), sheet.to_string(), CellRef::new(top, col)));
            }
            if band_rows > 1 && layout.band != Band::TwoTop {
                out.merges.push(((top, col), (bottom, col)));
            }
            k += 1;
            continue;
        }
        // A run of figure columns under group labels.
        let mut end = k;
        while end + 1 < order.len() && order[end + 1].and_then(|s| t.slots[s].1).is_some_and(|i| !is_key(i)) {
            end += 1;
        }
        let group_rows: Vec<u32> = (top..bottom).collect();
        for (level, &gr) in group_rows.iter().enumerate() {
            let name = if level == 0 {
                "Chiffres de l'exercice"
            } else {
                "Valeurs déclarées"
            };
            out.cells.insert((gr, col), text_cell(name));
            if end > k {
                out.merges.push(((gr, col), (gr, new_col(end))));
            }
        }
        for (kk, o) in order.iter().enumerate().take(end + 1).skip(k) {
            if let Some(slot) = o {
                out.cells.insert((bottom, new_col(kk)), text_cell(label_of(*slot)));
            }
        }
        k = end + 1;
    }
    // Data, heading and total rows.
    let unit_slot = t
        .slots
        .iter()
        .position(|s| s.1.is_some_and(|i| normalize_label(&spec.columns[i].label) == "unite"));
    let mut sep_toggle = false;
    let mut typed_as_text = 0usize;
    for &(r, kind) in &t.rows {
        let nr = moves.rows[&r];
        let row_unit = unit_slot
            .and_then(|s| grid.text((r, t.slots[s].0)))
            .and_then(row_unit_text);
        for (k, o) in order.iter().enumerate() {
            let col = new_col(k);
            let Some(slot) = *o else {
                if kind == RowKind::Data {
                    out.cells.insert((nr, col), text_cell("vu"));
                }
                continue;
            };
            let Some(cell) = grid.cells.get(&(r, t.slots[slot].0)) else {
                continue;
            };
            // Formulas become their values: their references do not follow the move.
            let mut cell = match cell {
                CellSpec::Typed(TypedCell {
                    formula: Some(_),
                    value: Some(v),
                    ..
                }) => match v {
                    bilan::sheetgen::FormulaValue::Number(n) => CellSpec::Number(*n),
                    bilan::sheetgen::FormulaValue::Text(t) => text_cell(t.clone()),
                    bilan::sheetgen::FormulaValue::Bool(b) => CellSpec::Bool(*b),
                },
                other => other.clone(),
            };
            if kind == RowKind::Total
                && grid
                    .text((r, t.slots[slot].0))
                    .is_some_and(bilan::pipeline::extract::is_total_label)
            {
                cell = text_cell(total_spelling(layout.labels));
            }
            if kind == RowKind::Data {
                if let (Some(i), CellSpec::Number(n)) = (t.slots[slot].1, &cell) {
                    let column = &spec.columns[i];
                    let unit = unit_text(&column.label).or(row_unit);
                    let n = *n;
                    if is_figure(column) && layout.percent_format && unit == Some("%") {
                        if let Some(f) = as_fraction(n) {
                            cell = CellSpec::Typed(TypedCell {
                                number: Some(f),
                                format: Some("0.00%".to_string()),
                                ..Default::default()
                            });
                        }
                    } else if is_figure(column) && layout.numbers_as_text && typed_as_text < MAX_TYPED_AS_TEXT {
                        sep_toggle = !sep_toggle;
                        let sep = if sep_toggle { '\u{a0}' } else { '\u{202f}' };
                        let with_unit = if sep_toggle { unit } else { None };
                        if let Some(s) = french(n, sep, with_unit) {
                            typed_as_text += 1;
                            cell = text_cell(s);
                            added.push(("BILAN-NUM-001".to_string(), sheet.to_string(), CellRef::new(nr, col)));
                        }
                    }
                }
            }
            out.cells.insert((nr, col), cell);
        }
    }
    // Text columns merged down over runs of equal values in consecutive data rows.
    if layout.merge_groups {
        for (k, o) in order.iter().enumerate() {
            let Some(slot) = *o else { continue };
            let Some(i) = t.slots[slot].1 else { continue };
            if !matches!(spec.columns[i].kind, ValueKind::Text | ValueKind::Enum(_)) {
                continue;
            }
            let col = new_col(k);
            let mut run: Vec<u32> = Vec::new();
            let flush = |run: &mut Vec<u32>, out: &mut Grid| {
                if run.len() >= 2 {
                    let (first, last) = (run[0], run[run.len() - 1]);
                    for r in &run[1..] {
                        out.cells.remove(&(*r, col));
                    }
                    out.merges.push(((first, col), (last, col)));
                }
                run.clear();
            };
            let mut previous: Option<(u32, String)> = None;
            for &(r, kind) in &t.rows {
                let nr = moves.rows[&r];
                let value = grid.text((r, t.slots[slot].0)).map(str::to_string);
                let continues = kind == RowKind::Data
                    && value.is_some()
                    && previous
                        .as_ref()
                        .is_some_and(|(pr, pv)| *pr + 1 == nr && Some(pv) == value.as_ref());
                if !continues {
                    flush(&mut run, &mut out);
                }
                if kind == RowKind::Data && value.is_some() {
                    run.push(nr);
                    previous = value.map(|v| (nr, v));
                } else {
                    previous = None;
                }
            }
            flush(&mut run, &mut out);
        }
    }
    (out, moves, added)
}

// ---------------------------------------------------------------------------
// Comparing findings

fn checker() -> Checker {
    Checker::new(TemplateSet::builtin(), RulePack::builtin().expect("rules"))
}

fn description(name: &str) -> WorkbookSpec {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let path = match name.split_once('/') {
        Some((dir, n)) => root.join(dir).join("src").join(format!("{n}.json")),
        None => root.join("src").join(format!("{name}.json")),
    };
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    // `formats/` descriptions: percent cells written with their format.
    let percent = json.as_object_mut().and_then(|o| o.remove("percent"));
    let mut spec: WorkbookSpec = serde_json::from_value(json).unwrap_or_else(|e| panic!("{name}: {e}"));
    for p in percent.and_then(|p| p.as_array().cloned()).unwrap_or_default() {
        let (sheet, cell) = p["cell"]
            .as_str()
            .and_then(|c| c.split_once('!'))
            .expect("percent cell");
        let value = p["value"].as_f64().expect("percent value");
        let format = p["format"].as_str().unwrap_or("0%").to_string();
        let s = spec.sheets.iter_mut().find(|s| s.name == sheet).expect("percent sheet");
        s.blocks.push(BlockSpec {
            at: cell.to_string(),
            rows: vec![vec![CellSpec::Typed(TypedCell {
                number: Some(value),
                format: Some(format),
                ..Default::default()
            })]],
        });
    }
    spec
}

/// A finding as the matrix compares it: rule, severity, sheet, cell, pointer
/// shape, figures, message with its row numbers masked.
type Key = (String, Severity, String, String, String, String);

fn mask_rows(message: &str) -> String {
    let mut out = String::new();
    let mut rest = message;
    while let Some(i) = rest.find("ligne") {
        let (head, tail) = rest.split_at(i);
        out.push_str(head);
        let word_end = tail.find(' ').unwrap_or(tail.len());
        out.push_str(&tail[..word_end]);
        let after = &tail[word_end..];
        let digits = after.trim_start_matches(' ');
        let n = digits.chars().take_while(|c| c.is_ascii_digit()).count();
        if n > 0 {
            out.push_str(" #");
            rest = &digits[n..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn key(f: &Finding, cell: Option<CellRef>) -> Key {
    (
        f.rule.as_str().to_string(),
        f.severity,
        f.sheet.clone().unwrap_or_default(),
        cell.map(|c| c.to_string()).unwrap_or_default(),
        f.pointer.clone().unwrap_or_default(),
        format!("{:?} {}", f.figures, mask_rows(&f.message)),
    )
}

/// The original's findings, moved as the variant laid them out.
fn expected(original: &FileReport, v: &Variant) -> Vec<Key> {
    let mut out: Vec<Key> = original
        .findings
        .iter()
        .map(|f| {
            let moves = f.sheet.as_ref().and_then(|s| v.moves.get(s));
            let cell = f.cell.map(|c| match moves {
                Some(m) => {
                    let row_level = f
                        .pointer
                        .as_deref()
                        .and_then(|p| p.rsplit('/').next())
                        .is_some_and(|last| last.chars().all(|c| c.is_ascii_digit()));
                    let moved = m.map(c);
                    match m.first_template_col {
                        Some((old, new)) if row_level && c.col == old => CellRef::new(moved.row, new),
                        _ => moved,
                    }
                }
                None => c,
            });
            key(f, cell)
        })
        .collect();
    out.sort();
    out
}

/// The variant's findings, without the ones its layout adds by design (which
/// must all be there).
fn actual(report: &FileReport, v: &Variant) -> Result<Vec<Key>, String> {
    let mut added = v.added.clone();
    let mut out = Vec::new();
    for f in &report.findings {
        let here = (
            f.rule.as_str().to_string(),
            f.sheet.clone().unwrap_or_default(),
            f.cell.unwrap_or(CellRef::new(u32::MAX, u32::MAX)),
        );
        if let Some(i) = added.iter().position(|a| *a == here) {
            added.remove(i);
            continue;
        }
        out.push(key(f, f.cell));
    }
    if let Some((rule, sheet, cell)) = added.first() {
        return Err(format!(
            "{} attendu en {sheet}!{cell} (ajouté par la mise en page) et absent ({} de même nature manquent)",
            rule,
            added.len()
        ));
    }
    out.sort();
    Ok(out)
}

fn first_difference(want: &[Key], got: &[Key]) -> String {
    let missing = want.iter().find(|w| !got.contains(w));
    let extra = got.iter().find(|g| !want.contains(g));
    match (missing, extra) {
        (Some(w), Some(g)) => return format!("constat attendu absent : {w:?} ; constat en trop : {g:?}"),
        (Some(w), None) => return format!("constat attendu absent : {w:?}"),
        (None, Some(g)) => return format!("constat en trop : {g:?}"),
        (None, None) => {}
    }
    format!(
        "mêmes constats en nombre différent : {} attendus, {} trouvés",
        want.len(),
        got.len()
    )
}

// ---------------------------------------------------------------------------
// LibreOffice

fn soffice() -> Option<PathBuf> {
    ["soffice", "libreoffice"].iter().find_map(|name| {
        let out = Command::new("which").arg(name).output().ok()?;
        out.status
            .success()
            .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().to_string()))
    })
}

/// Converts every file of `inputs` to `ext` in one LibreOffice call.
fn convert(soffice: &Path, inputs: &[PathBuf], ext: &str, out: &Path, profile: &Path) -> Result<(), String> {
    if inputs.is_empty() {
        return Ok(());
    }
    let status = Command::new(soffice)
        .arg(format!("-env:UserInstallation=file://{}", profile.display()))
        .args(["--headless", "--norestore", "--convert-to", ext, "--outdir"])
        .arg(out)
        .args(inputs)
        .output()
        .map_err(|e| format!("soffice : {e}"))?;
    if !status.status.success() {
        return Err(format!(
            "soffice --convert-to {ext} : {}",
            String::from_utf8_lossy(&status.stderr)
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------

#[test]
fn every_tolerated_layout_reads_as_the_original_in_every_template() {
    let checker = checker();
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut variants = Vec::new();
    let mut originals: BTreeMap<&str, FileReport> = BTreeMap::new();
    let mut templates_seen = BTreeSet::new();
    // `LAYOUT_MATRIX_FIXTURE=<name>`: only that fixture (to investigate a failure).
    let only = std::env::var("LAYOUT_MATRIX_FIXTURE").ok();
    let listed: BTreeSet<&str> = FIXTURES.iter().map(|(_, id)| *id).collect();
    let mut fixtures: Vec<(&'static str, &'static str)> = FIXTURES.to_vec();
    for t in checker.templates.all() {
        if !listed.contains(t.id.as_str()) {
            let id: &'static str = Box::leak(t.id.clone().into_boxed_str());
            fixtures.extend(discovered(id).into_iter().map(|f| (f, id)));
        }
    }
    for (fixture, id) in fixtures.iter().copied() {
        if only.as_deref().is_some_and(|o| !fixture.contains(o)) {
            continue;
        }
        let template = checker.templates.get(id).unwrap_or_else(|| panic!("{id}"));
        let spec = description(fixture);
        let bytes = write_xlsx(&spec).unwrap_or_else(|e| panic!("{fixture}: {e}"));
        let original = checker.check_bytes("original.xlsx", &bytes);
        assert_eq!(original.template.as_deref(), Some(id), "{fixture}");
        originals.insert(fixture, original);
        templates_seen.insert(id);
        for layout in layouts_of(fixture) {
            let index = variants.len();
            variants.push(build(fixture, template, &spec, layout, index));
        }
    }
    // Every built-in template is in the matrix.
    for t in checker.templates.all().into_iter().filter(|_| only.is_none()) {
        assert!(
            templates_seen.contains(t.id.as_str()),
            "le modèle {} n'est pas dans la matrice des mises en page : ajoutez ses fixtures à FIXTURES",
            t.id
        );
    }
    let xlsx_dir = dir.path().join("xlsx");
    std::fs::create_dir_all(&xlsx_dir).expect("folder");
    for v in &variants {
        std::fs::write(xlsx_dir.join(format!("{}.xlsx", v.name)), &v.xlsx).expect("write");
    }
    let converted = match soffice() {
        Some(soffice) => {
            let profile = dir.path().join("profil-libreoffice");
            for format in [FileFormat::Ods, FileFormat::Xls] {
                let inputs: Vec<PathBuf> = variants
                    .iter()
                    .filter(|v| v.layout.format == format)
                    .map(|v| xlsx_dir.join(format!("{}.xlsx", v.name)))
                    .collect();
                let out = dir.path().join(format.ext());
                std::fs::create_dir_all(&out).expect("folder");
                convert(&soffice, &inputs, format.ext(), &out, &profile).unwrap_or_else(|e| panic!("{e}"));
            }
            true
        }
        None => {
            common::skip(
                "layout_matrix (.ods, .xls)",
                "LibreOffice (soffice) est introuvable : seules les variantes .xlsx sont vérifiées",
            );
            false
        }
    };
    let mut checked = 0usize;
    let mut coverage: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for v in &variants {
        let path = match v.layout.format {
            FileFormat::Xlsx => xlsx_dir.join(format!("{}.xlsx", v.name)),
            _ if !converted => continue,
            f => dir.path().join(f.ext()).join(format!("{}.{}", v.name, f.ext())),
        };
        let report = checker.check_path(&path);
        let original = &originals[v.fixture];
        checked += 1;
        for f in v.layout.features() {
            *coverage.entry(f).or_default() += 1;
        }
        let want = expected(original, v);
        let outcome = actual(&report, v).and_then(|got| {
            let data = |r: &FileReport| r.extraction.as_ref().map(|e| e.data.clone());
            if got != want {
                let mut e = first_difference(&want, &got);
                if data(&report) != data(original) {
                    e.push_str(&format!(
                        " ; données lues différentes : {}",
                        first_data_difference(&data(original), &data(&report))
                    ));
                }
                return Err(e);
            }
            if data(&report) != data(original) {
                return Err(format!(
                    "données lues différentes : {}",
                    first_data_difference(&data(original), &data(&report))
                ));
            }
            Ok(())
        });
        if let Err(e) = outcome {
            failures.push(format!("{} ({}) [{}] : {e}", v.fixture, v.name, v.layout.describe()));
        }
    }
    println!(
        "matrice des mises en page : {checked} variantes vérifiées ({} modèles, {} fixtures)",
        templates_seen.len(),
        fixtures.len()
    );
    for (feature, n) in &coverage {
        println!("  {feature} : {n}");
    }
    assert!(
        failures.is_empty(),
        "{} variantes sur {checked} ne lisent pas comme l'original :\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The template id a description declares (the value right of `Modèle` in
/// `Identification`).
fn declared_template(spec: &WorkbookSpec) -> Option<String> {
    let sheet = spec
        .sheets
        .iter()
        .find(|s| normalize_label(&s.name) == "identification")?;
    let grid = Grid::of(sheet);
    let (&(r, c), _) = grid
        .cells
        .iter()
        .find(|(p, _)| grid.text(**p).is_some_and(|t| normalize_label(t) == "modele"))?;
    grid.cells
        .range((r, c + 1)..(r, u32::MAX))
        .find_map(|(p, _)| grid.text(*p))
        .map(|t| t.trim().to_string())
}

/// A template's clean description and one with mistakes, found in `fixtures/src/`.
fn discovered(id: &str) -> Vec<&'static str> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join("src");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_suffix(".json"))
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let of_template: Vec<String> = names
        .into_iter()
        .filter(|n| {
            let text = std::fs::read_to_string(dir.join(format!("{n}.json"))).unwrap_or_default();
            serde_json::from_str::<WorkbookSpec>(&text)
                .ok()
                .and_then(|s| declared_template(&s))
                .is_some_and(|t| t == id)
        })
        .collect();
    let clean = of_template.iter().find(|n| n.ends_with("-conforme"));
    let mistaken = of_template.iter().find(|n| !n.ends_with("-conforme"));
    clean
        .into_iter()
        .chain(mistaken)
        .map(|n| &*Box::leak(n.clone().into_boxed_str()))
        .collect()
}

fn first_data_difference(a: &Option<serde_json::Value>, b: &Option<serde_json::Value>) -> String {
    fn walk(a: &serde_json::Value, b: &serde_json::Value, at: String) -> Option<String> {
        use serde_json::Value::*;
        match (a, b) {
            (Object(x), Object(y)) => {
                for k in x.keys().chain(y.keys()) {
                    let (va, vb) = (x.get(k).unwrap_or(&Null), y.get(k).unwrap_or(&Null));
                    if let Some(d) = walk(va, vb, format!("{at}/{k}")) {
                        return Some(d);
                    }
                }
                None
            }
            (Array(x), Array(y)) if x.len() == y.len() => x
                .iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (va, vb))| walk(va, vb, format!("{at}/{i}"))),
            _ if a == b => None,
            _ => Some(format!("{at} : {} attendu, {} lu", short(a), short(b))),
        }
    }
    fn short(v: &serde_json::Value) -> String {
        let s = v.to_string();
        if s.len() > 120 {
            format!(
                "{}…",
                &s[..s.char_indices().nth(120).map(|(i, _)| i).unwrap_or(s.len())]
            )
        } else {
            s
        }
    }
    match (a, b) {
        (Some(a), Some(b)) => walk(a, b, String::new()).unwrap_or_default(),
        _ => "extraction absente".to_string(),
    }
}

/// A template that `FIXTURES` does not list is still in the matrix: its fixtures
/// are found by the `Modèle` their description declares.
#[test]
fn a_template_missing_from_the_list_gets_its_fixtures_from_their_descriptions() {
    let found = discovered("BILAN-POLE");
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].ends_with("-conforme") && found[0].starts_with("pole-"),
        "{found:?}"
    );
    assert!(
        !found[1].ends_with("-conforme") && found[1].starts_with("pole-"),
        "{found:?}"
    );
    assert!(discovered("BILAN-INCONNU").is_empty());
}
