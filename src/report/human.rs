//! Compiler-style diagnostics with miette: each finding shows the sheet around
//! its cell, with the real Excel row numbers in the gutter, the column letters
//! as a ruler, and the cell marked.

use std::fmt;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteSpanContents, SourceCode, SourceSpan,
    SpanContents,
};
use unicode_width::UnicodeWidthStr;

use crate::base::model::{column_letters, CellRange, CellRef};
use crate::finding::{Finding, Severity};
use crate::pipeline::check::FileReport;
use crate::pipeline::read::{CellValue, Sheet, Workbook};

/// Rendering options.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    /// Width of the terminal, in columns (the message wraps at it; sheet
    /// excerpts use it to show labels whole).
    pub width: usize,
    /// Also show each finding's JSON pointer in the extracted data (`--verbose`).
    pub verbose: bool,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            color: false,
            width: 100,
            verbose: false,
        }
    }
}

/// A column of an excerpt is never cut below this width.
const MIN_COL_WIDTH: usize = 14;
/// The gutter (row numbers and frame) left of an excerpt.
const GUTTER: usize = 8;
const ROWS_AROUND: u32 = 2;
const MAX_COLS: u32 = 8;

/// The cells the excerpts of `findings` show, and nothing else: what a worker
/// process sends back with a report, so that the terminal can show each
/// finding's neighbourhood without the whole workbook. Each sheet keeps its
/// extreme cells, so its used range (which bounds an excerpt) is unchanged.
pub fn excerpt_cells(wb: &Workbook, findings: &[Finding]) -> Workbook {
    let mut sheets = Vec::new();
    for sheet in &wb.sheets {
        let mut rows: Vec<(u32, u32)> = findings
            .iter()
            .filter(|f| f.sheet.as_deref() == Some(sheet.name.as_str()))
            .filter_map(|f| {
                let cell = f.cell?;
                let span = f
                    .range
                    .unwrap_or(CellRange::single(cell))
                    .union(&CellRange::single(cell));
                let (a, b) = if span.end.row - span.start.row > 8 {
                    (cell.row, cell.row)
                } else {
                    (span.start.row, span.end.row)
                };
                Some((a.saturating_sub(ROWS_AROUND), b.saturating_add(ROWS_AROUND)))
            })
            .collect();
        if rows.is_empty() {
            continue;
        }
        rows.sort_unstable();
        let all = sheet.cells();
        let mut keep: Vec<crate::pipeline::read::Cell> = Vec::new();
        for (a, b) in rows {
            let start = all.partition_point(|c| c.pos.row < a);
            let end = all.partition_point(|c| c.pos.row <= b);
            keep.extend_from_slice(&all[start..end]);
        }
        if let Some(u) = sheet.used_range() {
            // One cell at each edge of the used range.
            keep.extend(all.iter().find(|c| c.pos.col == u.start.col).cloned());
            keep.extend(all.iter().find(|c| c.pos.col == u.end.col).cloned());
            keep.extend(all.first().cloned());
            keep.extend(all.last().cloned());
        }
        // Text from the file never reaches a terminal raw.
        for c in &mut keep {
            if let CellValue::Text(t) | CellValue::Error(t) | CellValue::FormulaWithoutValue(t) = &mut c.value {
                if let std::borrow::Cow::Owned(safe) = crate::output::neutralise(t) {
                    *t = safe;
                }
            }
        }
        sheets.push(Sheet::new(sheet.name.clone(), keep, Vec::new()));
    }
    Workbook {
        format: wb.format,
        sheets,
        styles: None,
    }
}

/// A few rows and columns of a sheet, laid out as text.
#[derive(Debug)]
struct Excerpt {
    text: String,
    ruler: String,
    first_row: u32,
    lines: usize,
    /// Byte span of the marked cell in `text`.
    mark: (usize, usize),
}

fn truncate(s: &str, width: usize) -> String {
    let s = s.replace(['\n', '\r', '\t'], " ");
    if s.width() <= width {
        return s;
    }
    let mut out = String::new();
    for ch in s.chars() {
        if out.width() + unicode_width::UnicodeWidthChar::width(ch).unwrap_or(0) + 1 > width {
            break;
        }
        out.push(ch);
    }
    out.push('…');
    out
}

fn pad(s: &str, width: usize) -> String {
    let w = s.width();
    format!("{s}{}", " ".repeat(width.saturating_sub(w)))
}

/// The rows and columns shown around a finding's cell: a few rows above and
/// below, the columns of its range (at most [`MAX_COLS`]). The terminal and the
/// web desk show the same window.
pub fn excerpt_window(sheet: &Sheet, cell: CellRef, range: Option<CellRange>) -> (Vec<u32>, Vec<u32>) {
    let mut span = range.unwrap_or(CellRange::single(cell)).union(&CellRange::single(cell));
    // A tall range (a column of parts): show the rows around the marked cell.
    if span.end.row - span.start.row > 8 {
        span = CellRange::new(
            CellRef::new(cell.row, span.start.col),
            CellRef::new(cell.row, span.end.col),
        );
    }
    let row0 = span.start.row.saturating_sub(ROWS_AROUND);
    let used_end = sheet.used_range().map_or(cell.row, |u| u.end.row).max(cell.row);
    let row1 = span.end.row.saturating_add(ROWS_AROUND).min(used_end);
    let used = sheet.used_range().unwrap_or(CellRange::single(cell));
    let mut col0 = span.start.col.saturating_sub(1).max(used.start.col.min(cell.col));
    let mut col1 = span.end.col.saturating_add(1).min(used.end.col.max(cell.col));
    if col1.saturating_sub(col0) + 1 > MAX_COLS {
        col0 = cell.col.saturating_sub(MAX_COLS / 2).max(col0);
        col1 = (col0 + MAX_COLS - 1).max(cell.col);
    }
    let rows: Vec<u32> = (row0..=row1.max(row0)).collect();
    let cols: Vec<u32> = (col0..=col1.max(col0)).collect();
    (rows, cols)
}

/// The widest a column may be so that `natural` widths fit in `budget`
/// columns of terminal (separators included): no cut at all when they fit.
fn column_cap(natural: &[usize], budget: usize) -> usize {
    let seps = 3 * natural.len().saturating_sub(1);
    let fits = |cap: usize| natural.iter().map(|w| (*w).min(cap)).sum::<usize>() + seps <= budget;
    let widest = natural.iter().copied().max().unwrap_or(0);
    if fits(widest) {
        return widest.max(1);
    }
    let mut cap = widest;
    while cap > MIN_COL_WIDTH && !fits(cap) {
        cap -= 1;
    }
    cap.max(MIN_COL_WIDTH)
}

impl Excerpt {
    fn new(sheet: &Sheet, cell: CellRef, range: Option<CellRange>, width: usize) -> Self {
        let (rows, cols) = excerpt_window(sheet, cell, range);
        let row0 = rows.first().copied().unwrap_or(cell.row);
        let whole = |r: u32, c: u32| {
            sheet
                .get(CellRef::new(r, c))
                .map(|v| v.display().trim().replace(['\n', '\r', '\t'], " "))
                .unwrap_or_default()
        };
        let natural: Vec<usize> = cols
            .iter()
            .map(|&c| {
                rows.iter()
                    .map(|&r| whole(r, c).width())
                    .max()
                    .unwrap_or(0)
                    .max(column_letters(c).len())
                    .max(1)
            })
            .collect();
        let cap = column_cap(&natural, width.saturating_sub(GUTTER));
        let shown = |r: u32, c: u32| truncate(&whole(r, c), cap);
        let widths: Vec<usize> = natural.iter().map(|w| (*w).min(cap)).collect();
        let mut text = String::new();
        let mut mark = (0, 0);
        for (li, &r) in rows.iter().enumerate() {
            if li > 0 {
                text.push('\n');
            }
            text.push(' ');
            for (i, &c) in cols.iter().enumerate() {
                if i > 0 {
                    text.push_str(" | ");
                }
                let value = shown(r, c);
                if r == cell.row && c == cell.col {
                    let len = value.len().max(1);
                    mark = (text.len(), len);
                    if value.is_empty() {
                        text.push(' ');
                        text.push_str(&" ".repeat(widths[i].saturating_sub(1)));
                        continue;
                    }
                }
                text.push_str(&pad(&value, widths[i]));
            }
            // No trailing spaces: snapshots and terminals stay clean.
            let trimmed = text.trim_end_matches(' ').len().max(mark.0 + mark.1);
            text.truncate(trimmed.min(text.len()));
        }
        // The ruler sits in miette's header `╭─[…]`, two columns right of the
        // text start: one space of `text` padding plus this leading space align it.
        let mut ruler = String::new();
        for (i, &c) in cols.iter().enumerate() {
            if i > 0 {
                ruler.push_str(" | ");
            }
            ruler.push_str(&pad(&column_letters(c), widths[i]));
        }
        Excerpt {
            text,
            ruler: ruler.trim_end().to_string(),
            first_row: row0,
            lines: rows.len(),
            mark,
        }
    }
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        _before: usize,
        _after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, miette::MietteError> {
        let _ = span;
        Ok(Box::new(MietteSpanContents::new_named(
            self.ruler.clone(),
            self.text.as_bytes(),
            SourceSpan::from((0, self.text.len())),
            self.first_row as usize,
            0,
            self.lines,
        )))
    }
}

/// One finding as a miette diagnostic.
struct FindingDiagnostic<'a> {
    finding: &'a Finding,
    excerpt: Option<Excerpt>,
}

impl fmt::Debug for FindingDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FindingDiagnostic")
            .field("rule", &self.finding.rule)
            .finish()
    }
}

impl fmt::Display for FindingDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&keep_numbers_whole(&self.finding.message))
    }
}

/// Joins digit groups with no-break spaces so that wrapping never splits a
/// figure (`1 048 596` stays on one line).
fn keep_numbers_whole(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        let between_digits = c == ' '
            && i > 0
            && chars[i - 1].is_ascii_digit()
            && chars
                .get(i + 1)
                .is_some_and(|n| n.is_ascii_digit() || *n == '€' || *n == '%');
        out.push(if between_digits { '\u{a0}' } else { c });
    }
    out
}

impl std::error::Error for FindingDiagnostic<'_> {}

impl Diagnostic for FindingDiagnostic<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(format!(
            "{} {}",
            self.finding.severity.label_fr(),
            self.finding.rule
        )))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.finding.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        })
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.excerpt.as_ref().map(|e| e as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let e = self.excerpt.as_ref()?;
        let cell = self.finding.cell?;
        let text = match self.finding.range {
            Some(r) => format!("{cell} (plage {r})"),
            None => cell.to_string(),
        };
        Some(Box::new(std::iter::once(LabeledSpan::new_primary_with_span(
            Some(text),
            SourceSpan::from(e.mark),
        ))))
    }
}

/// Where the finding is and its figures, under the diagnostic. Written by us,
/// not by miette: the location is never wrapped (a file name and a cell
/// reference stay on one line whatever the width), and miette's `help:` is
/// English.
fn footer(f: &Finding, file: &str, verbose: bool) -> String {
    use crate::base::messages::figure;
    let mut place = file.to_string();
    if let Some(s) = &f.sheet {
        place.push_str(&format!(" › {s}"));
        if let Some(c) = f.cell {
            place.push_str(&format!("!{c}"));
        }
    }
    let mut out = format!("  → {place}\n");
    let fig = &f.figures;
    let nums: Vec<String> = [
        (figure::EXPECTED, fig.expected),
        (figure::ACTUAL, fig.actual),
        (figure::DIFFERENCE, fig.difference),
        (figure::TOLERANCE, fig.tolerance),
    ]
    .into_iter()
    .filter_map(|(label, x)| x.map(|x| format!("{label} {}", crate::base::messages::figure_value(x))))
    .collect();
    if !nums.is_empty() {
        out.push_str(&format!("    {}\n", nums.join(", ")));
    }
    if let Some(j) = f.justification.as_ref().filter(|_| f.is_justified()) {
        out.push_str(&format!(
            "    justifié par le déclarant : « {j} » (ne compte pas pour le statut)\n"
        ));
    }
    if verbose {
        if let Some(p) = &f.pointer {
            out.push_str(&format!("    donnée {p}\n"));
        }
    }
    out
}

/// Renders every finding of a file, then its summary line.
pub fn render(r: &FileReport, style: Style) -> String {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_links(false)
        .with_context_lines(0)
        .without_primary_span_start()
        .with_break_words(false);
    let mut out = String::new();
    for finding in &r.findings {
        let excerpt = match (&finding.sheet, finding.cell, &r.workbook) {
            (Some(name), Some(cell), Some(wb)) => wb
                .sheets
                .iter()
                .find(|s| &s.name == name)
                .map(|s| Excerpt::new(s, cell, finding.range, style.width)),
            _ => None,
        };
        let diag = FindingDiagnostic { finding, excerpt };
        let mut s = String::new();
        if handler.render_report(&mut s, &diag).is_err() {
            s = format!(
                "{} {} : {}\n",
                finding.severity.label_fr(),
                finding.rule,
                finding.message
            );
        }
        out.push_str(s.trim_end_matches('\n'));
        out.push('\n');
        out.push_str(&footer(finding, &r.path, style.verbose));
        out.push('\n');
    }
    out.push_str(&super::summary_line(r));
    out.push('\n');
    out
}
