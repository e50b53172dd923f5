//! What a page shows of a checked return: the verdict, the counts, and each
//! finding with the sheet around its cell (the terminal's excerpt, as data for an
//! HTML table). Built once when the file is checked and kept with the submission,
//! so a page never needs the workbook again.

use serde::{Deserialize, Serialize};

use crate::base::format::decimal_fr;
use crate::base::model::{column_letters, CellRange, CellRef};
use crate::finding::Finding;
use crate::pipeline::check::FileReport;
use crate::pipeline::read::Sheet;
use crate::report::human::excerpt_window;

/// Longest text shown in one excerpt cell (characters).
const MAX_CELL_CHARS: usize = 40;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileView {
    pub name: String,
    pub template: Option<String>,
    pub organisation: Option<String>,
    pub status: String,
    pub status_label: String,
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
    pub justified: usize,
    pub groups: Vec<SheetGroup>,
    /// Key figures for the synthesis workbook (`batch::key_rows`).
    #[serde(default)]
    pub key_rows: Vec<Vec<serde_json::Value>>,
}

/// The findings of one sheet (or of the whole workbook, `sheet` empty).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SheetGroup {
    pub sheet: String,
    pub findings: Vec<FindingView>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FindingView {
    pub rule: String,
    /// `error`, `warning`, `info` (CSS class).
    pub severity: String,
    /// `Erreur`, `Avertissement`, `Information`: the verdict in words.
    pub severity_label: String,
    pub message: String,
    pub place: String,
    pub pointer: Option<String>,
    pub figures: Vec<(String, String)>,
    pub justification: Option<String>,
    pub excerpt: Option<Excerpt>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Excerpt {
    pub columns: Vec<String>,
    pub rows: Vec<ExcerptRow>,
    /// `B4`, to say in words which cell is marked.
    pub cell: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExcerptRow {
    pub number: u32,
    pub cells: Vec<ExcerptCell>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExcerptCell {
    pub text: String,
    /// 2: the finding's cell; 1: in its range; 0: around.
    pub mark: u8,
}

fn clip(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string();
    if s.chars().count() <= MAX_CELL_CHARS {
        return s;
    }
    let mut out: String = s.chars().take(MAX_CELL_CHARS - 1).collect();
    out.push('…');
    out
}

fn excerpt(sheet: &Sheet, cell: CellRef, range: Option<CellRange>) -> Excerpt {
    let (rows, cols) = excerpt_window(sheet, cell, range);
    let range = range.unwrap_or(CellRange::single(cell));
    Excerpt {
        columns: cols.iter().map(|&c| column_letters(c)).collect(),
        rows: rows
            .iter()
            .map(|&r| ExcerptRow {
                number: r + 1,
                cells: cols
                    .iter()
                    .map(|&c| {
                        let at = CellRef::new(r, c);
                        ExcerptCell {
                            text: sheet.get(at).map(|v| clip(&v.display())).unwrap_or_default(),
                            mark: if at == cell {
                                2
                            } else if range.contains(at) {
                                1
                            } else {
                                0
                            },
                        }
                    })
                    .collect(),
            })
            .collect(),
        cell: cell.to_string(),
    }
}

fn finding_view(f: &Finding, report: &FileReport, justification: Option<String>) -> FindingView {
    let sheet = f
        .sheet
        .as_ref()
        .and_then(|name| report.workbook.as_ref()?.sheets.iter().find(|s| &s.name == name));
    let excerpt = match (sheet, f.cell) {
        (Some(s), Some(c)) => Some(excerpt(s, c, f.range)),
        _ => None,
    };
    let mut place = String::new();
    if let Some(s) = &f.sheet {
        place.push_str(s);
        if let Some(c) = f.cell {
            place.push_str(&format!("!{c}"));
        }
        if let Some(r) = f.range.filter(|r| !r.is_single()) {
            place.push_str(&format!(" (plage {r})"));
        }
    }
    let mut figures = Vec::new();
    for (label, v) in [
        ("Attendu", f.figures.expected),
        ("Trouvé", f.figures.actual),
        ("Écart", f.figures.difference),
        ("Tolérance", f.figures.tolerance),
    ] {
        if let Some(v) = v {
            figures.push((label.to_string(), decimal_fr(v)));
        }
    }
    FindingView {
        rule: f.rule.as_str().to_string(),
        severity: f.severity.as_str().to_string(),
        severity_label: f.severity.title_fr().to_string(),
        message: f.message.clone(),
        place,
        pointer: f.pointer.clone(),
        figures,
        justification,
        excerpt,
    }
}

/// The page's view of a checked file.
pub fn file_view(report: &FileReport) -> FileView {
    let counts = report.counts();
    let status = report.status();
    let mut groups: Vec<SheetGroup> = Vec::new();
    let mut justified = 0;
    for f in &report.findings {
        if f.is_justified() {
            justified += 1;
        }
        let view = finding_view(f, report, f.justification.clone());
        let sheet = f.sheet.clone().unwrap_or_default();
        match groups.iter_mut().find(|g| g.sheet == sheet) {
            Some(g) => g.findings.push(view),
            None => groups.push(SheetGroup {
                sheet,
                findings: vec![view],
            }),
        }
    }
    // The workbook-wide findings first, then the sheets in the workbook's order.
    let order = |name: &str| -> usize {
        if name.is_empty() {
            return 0;
        }
        report
            .workbook
            .as_ref()
            .and_then(|wb| wb.sheets.iter().position(|s| s.name == name))
            .map_or(usize::MAX, |i| i + 1)
    };
    // Sheets with errors first (like every report: worst first), then in the workbook's order.
    let worst = |g: &SheetGroup| match g.findings.iter().map(|f| f.severity.as_str()).min_by_key(|s| match *s {
        "error" => 0,
        "warning" => 1,
        _ => 2,
    }) {
        Some("error") => 0,
        Some("warning") => 1,
        _ => 2,
    };
    groups.sort_by_key(|g| (worst(g), order(&g.sheet)));
    FileView {
        name: report.path.clone(),
        template: report.template.clone(),
        organisation: report.organisation.clone(),
        status: serde_json::to_value(status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        status_label: status.label_fr().to_string(),
        errors: counts.error,
        warnings: counts.warning,
        infos: counts.info,
        justified,
        groups,
        key_rows: Vec::new(),
    }
}
