//! The annotated workbook (`<name>.controle.xlsx`) that reviewers send back to
//! whoever submitted a return.
//!
//! Three parts, in this order:
//! - `Synthèse`: who sent what, the verdict, counts, versions, the legend of the
//!   marks, findings that have no cell, and links to every sheet;
//! - `Constats`: one row per finding, worst first, each with a link to its cell;
//! - every submitted sheet, in its original order, reproduced as the submitter saw
//!   it (values with their types, merged cells, and for `.xlsx` the original
//!   formats, column widths and row heights), with each cell that carries a
//!   finding filled by its worst severity, framed with a thick border in the same
//!   hue (so an original fill is never mistaken for a finding), and given a note.
//!
//! Text from the submitted file is always written as text (never as a formula),
//! every string is cut to Excel's limits, and sheet names are made valid and
//! unique: a hostile or odd file still gets a report.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use rust_xlsxwriter::{
    Color, DocProperties, Format, FormatAlign, FormatBorder, FormatDiagonalBorder, FormatPattern, FormatUnderline,
    Note, Url, Workbook, Worksheet,
};
use unicode_width::UnicodeWidthStr;

use crate::check::FileReport;
use crate::finding::{Finding, Severity, Status};
use crate::format::{decimal_fr, int_fr};
use crate::model::{CellRange, CellRef};
use crate::read::styles::{self, CellStyle, Line, SheetStyles, WorkbookStyles};
use crate::read::{CellValue, Sheet};
use crate::rules::RulePack;
use crate::values::{DateInterval, Precision};

/// Why a report could not be produced or saved.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("écriture du classeur annoté : {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("écriture de {} impossible : {source}", .path.display())]
    Io { path: PathBuf, source: std::io::Error },
}

const SUMMARY: &str = "Synthèse";
const FINDINGS: &str = "Constats";

/// Excel's limits.
const MAX_TEXT: usize = 32_767;
const MAX_ROWS: u32 = 1_048_576;
const MAX_COLS: u32 = 16_384;
const MAX_LINKS_PER_SHEET: usize = 65_000;
/// Our own bounds, far above real returns.
const MAX_NOTE: usize = 4_000;
const MAX_FINDINGS_PER_NOTE: usize = 20;
const MAX_MARKED_CELLS_PER_FINDING: u64 = 10_000;
const MAX_MARKED_CELLS_PER_SHEET: usize = 200_000;
const MAX_MERGE_AREA: u64 = 100_000;
const MAX_MERGED_CELLS_PER_SHEET: usize = 1_000_000;
/// Paper size 9 of Excel: A4, as printed in France.
const A4: u8 = 9;
/// Rows of a summary list (findings without a cell) before "… and N more".
const MAX_SUMMARY_LIST: usize = 200;

/// How a finding marks a cell: `strong` on the cell in question, light on the
/// rest of the row or range it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Mark {
    severity: Severity,
    strong: bool,
}

impl Mark {
    /// The mark a cell keeps when several findings cover it: the worst of the
    /// findings *on* that cell first, then the worst of the ranges around it.
    fn max(self, other: Mark) -> Mark {
        if (other.strong, other.severity) > (self.strong, self.severity) {
            other
        } else {
            self
        }
    }

    fn fill(self) -> u32 {
        match (self.severity, self.strong) {
            (Severity::Error, true) => 0xFF7C80,
            (Severity::Error, false) => 0xFFE1E1,
            (Severity::Warning, true) => 0xFFC04D,
            (Severity::Warning, false) => 0xFFF0D0,
            (Severity::Info, true) => 0x9DC3E6,
            (Severity::Info, false) => 0xE2EEF9,
        }
    }

    fn frame(self) -> u32 {
        match self.severity {
            Severity::Error => 0xC00000,
            Severity::Warning => 0xC55A11,
            Severity::Info => 0x1F4E79,
        }
    }

    /// Medium, not thin, on the cell in question: an original table border is thin.
    fn line(self) -> FormatBorder {
        if self.strong {
            FormatBorder::Medium
        } else {
            FormatBorder::Thin
        }
    }
}

const fn status_colors(s: Status) -> (u32, u32) {
    match s {
        Status::Conforme => (0xC6EFCE, 0x006100),
        Status::ConformeAvecReserves => (0xFFEB9C, 0x9C5700),
        Status::NonConforme => (0xFFC7CE, 0x9C0006),
    }
}

fn severity_title(s: Severity) -> &'static str {
    match s {
        Severity::Error => "Erreur",
        Severity::Warning => "Avertissement",
        Severity::Info => "Information",
    }
}

/// Builds the annotated workbook of one checked file.
///
/// `checked_at` is the time of the check (`2026-11-26T10:00:00Z`). The sheets of
/// an `.xlsx` keep their look ([`crate::read::Workbook::styles`]); other formats
/// get sensible defaults (thousands separators, dd/mm/yyyy, widths that fit).
pub fn write_report(report: &FileReport, rules: &RulePack, checked_at: &str) -> Result<Vec<u8>, ReportError> {
    let mut findings: Vec<&Finding> = report.findings.iter().collect();
    sort(&mut findings, report);
    let sheets: &[Sheet] = report.workbook.as_ref().map_or(&[], |w| &w.sheets);
    let names = report_sheet_names(sheets.iter().map(|s| s.name.as_str()));
    let target = |f: &Finding| -> Option<String> {
        let i = sheets.iter().position(|s| Some(&s.name) == f.sheet.as_ref())?;
        Some(names[i].clone())
    };

    let mut wb = Workbook::new();
    let file_name = Path::new(&report.path)
        .file_name()
        .map_or(report.path.as_str(), |n| n.to_str().unwrap_or(""));
    wb.set_properties(
        &DocProperties::new()
            .set_title(shorten(&format!("Rapport de contrôle — {file_name}"), 255))
            .set_author("bilan")
            .set_comment(shorten(
                &format!("Contrôlé le {}, règles {}", checked_at_fr(checked_at), rules.name),
                255,
            )),
    );
    let summary = wb.add_worksheet();
    summary.set_name(SUMMARY)?;
    write_summary(summary, report, rules, checked_at, &findings, sheets, &names)?;

    let list = wb.add_worksheet();
    list.set_name(FINDINGS)?;
    write_findings(list, rules, &findings, &target)?;

    let styles = report.workbook.as_ref().and_then(|w| w.styles.as_ref());
    for (sheet, name) in sheets.iter().zip(&names) {
        // Rows are written in order: constant-memory mode keeps a 5-million-cell
        // return from needing a gigabyte.
        let ws = wb.add_worksheet_with_constant_memory()?;
        ws.set_name(name)?;
        let on_sheet: Vec<&Finding> = findings
            .iter()
            .copied()
            .filter(|f| f.sheet.as_ref() == Some(&sheet.name))
            .collect();
        // The tab of a sheet with findings takes the colour of the worst.
        if let Some(worst) = on_sheet.iter().map(|f| f.severity).max() {
            ws.set_tab_color(
                Mark {
                    severity: worst,
                    strong: true,
                }
                .frame(),
            );
        }
        let look = styles.and_then(|st| st.sheet(&sheet.name).map(|s| (st, s)));
        write_sheet(ws, sheet, look, &on_sheet, rules)?;
    }
    wb.worksheet_from_index(0)?.set_active(true);
    Ok(wb.save_to_buffer()?)
}

/// Worst first, then in workbook order (sheet, row, column): the checker's order.
fn sort(findings: &mut [&Finding], report: &FileReport) {
    let sheet_index = |f: &Finding| {
        let sheets = report.workbook.as_ref().map_or(&[][..], |w| &w.sheets[..]);
        f.sheet
            .as_ref()
            .and_then(|s| sheets.iter().position(|w| &w.name == s))
            .map_or(0, |i| i + 1)
    };
    findings.sort_by_cached_key(|f| {
        let (row, col) = f.cell.map(|c| (c.row, c.col)).unwrap_or((0, 0));
        (std::cmp::Reverse(f.severity), sheet_index(f), row, col)
    });
}

// ---------------------------------------------------------------------------
// Names: sheets of the report and files on disk.

/// Names for the submitted sheets that Excel accepts: at most 31 characters,
/// none of `[]:*?/\`, no leading or trailing apostrophe, unique (ignoring case)
/// and distinct from `Synthèse` and `Constats`.
pub fn report_sheet_names<'a>(originals: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut taken: HashSet<String> = [SUMMARY, FINDINGS, "history"]
        .iter()
        .map(|s| s.to_lowercase())
        .collect();
    let mut out = Vec::new();
    for original in originals {
        let mut base: String = original
            .chars()
            .map(|c| {
                if "[]:*?/\\".contains(c) || c.is_control() {
                    '_'
                } else {
                    c
                }
            })
            .collect();
        base = base.trim().to_string();
        if base.starts_with('\'') {
            base.replace_range(..1, "_");
        }
        if base.ends_with('\'') {
            base.pop();
            base.push('_');
        }
        if base.is_empty() {
            base = "Feuille".to_string();
        }
        let mut candidate = cut_utf16(&base, 31);
        let mut n = 2;
        while taken.contains(&candidate.to_lowercase()) {
            let suffix = format!(" ({n})");
            candidate = format!("{}{suffix}", cut_utf16(&base, 31 - suffix.len()).trim_end());
            n += 1;
        }
        taken.insert(candidate.to_lowercase());
        out.push(candidate);
    }
    out
}

/// The report's file name for a submitted file: `<name>.controle.xlsx`, with
/// characters that some systems refuse replaced by `_` and the length bounded.
pub fn report_file_name(input: &Path) -> String {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut name: String = stem
        .chars()
        .map(|c| {
            if "<>:\"/\\|?*".contains(c) || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    name = name.trim().trim_end_matches('.').trim().to_string();
    if name.starts_with('.') {
        name.replace_range(..1, "_");
    }
    // Keep the name well under the 255-byte limit of most file systems.
    while name.len() > 150 {
        name.pop();
    }
    let reserved = ["CON", "PRN", "AUX", "NUL"];
    let upper = name.to_ascii_uppercase();
    let device = reserved.contains(&upper.as_str())
        || ((upper.starts_with("COM") || upper.starts_with("LPT"))
            && upper.len() == 4
            && upper.as_bytes()[3].is_ascii_digit());
    if name.is_empty() || device {
        name = format!("retour_{name}");
    }
    format!("{name}.controle.xlsx")
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder,
/// flushed to disk, then renamed over `path`. An interrupted run leaves either
/// the previous file or the new one, never half of one.
pub fn save(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let io = |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "rapport".into());
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    Ok(())
}

/// At most `max` UTF-16 code units (Excel's unit), never splitting a character.
fn cut_utf16(s: &str, max: usize) -> String {
    let mut n = 0;
    let mut out = String::new();
    for c in s.chars() {
        n += c.len_utf16();
        if n > max {
            break;
        }
        out.push(c);
    }
    out
}

/// A text cut to `max` UTF-16 units, ending with `…` when it was cut.
fn shorten(s: &str, max: usize) -> String {
    if s.encode_utf16().count() <= max {
        return s.to_string();
    }
    let mut out = cut_utf16(s, max.saturating_sub(1));
    out.push('…');
    out
}

fn quote_sheet(name: &str) -> String {
    format!("'{}'", name.replace('\'', "''"))
}

fn internal_link(sheet: &str, target: &str) -> Url {
    Url::new(format!("internal:{}!{target}", quote_sheet(sheet)))
}

// ---------------------------------------------------------------------------
// Texts shared by the summary, the list and the notes.

fn rule_title<'a>(rules: &'a RulePack, id: &str) -> Option<&'a str> {
    rules
        .rule(id)
        .map(|r| r.meta.title.as_str())
        .or_else(|| rules.engine_rule(id).map(|r| r.title.as_str()))
}

fn figures_line(f: &Finding) -> Option<String> {
    let fig = &f.figures;
    let mut parts = Vec::new();
    if let Some(x) = fig.expected {
        parts.push(format!("attendu {}", decimal_fr(x)));
    }
    if let Some(x) = fig.actual {
        parts.push(format!("constaté {}", decimal_fr(x)));
    }
    if let Some(x) = fig.difference {
        parts.push(format!("écart {}", decimal_fr(x)));
    }
    if let Some(x) = fig.tolerance {
        parts.push(format!("tolérance {}", decimal_fr(x)));
    }
    (!parts.is_empty()).then(|| capitalise(&parts.join(" · ")))
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

fn note_text(findings: &[&Finding], rules: &RulePack) -> String {
    let mut blocks = Vec::new();
    for f in findings.iter().take(MAX_FINDINGS_PER_NOTE) {
        let mut b = format!("{} {}", severity_title(f.severity).to_uppercase(), f.rule);
        if let Some(t) = rule_title(rules, f.rule.as_str()) {
            b.push_str(&format!(" — {t}"));
        }
        b.push('\n');
        b.push_str(&f.message);
        if let Some(fig) = figures_line(f) {
            b.push('\n');
            b.push_str(&fig);
        }
        blocks.push(b);
    }
    let mut text = blocks.join("\n\n");
    if findings.len() > MAX_FINDINGS_PER_NOTE {
        text.push_str(&format!(
            "\n\n… et {} autres constats : voir la feuille {FINDINGS}.",
            findings.len() - MAX_FINDINGS_PER_NOTE
        ));
    }
    shorten(&text, MAX_NOTE)
}

fn note_for(findings: &[&Finding], rules: &RulePack) -> Note {
    let text = note_text(findings, rules);
    // About 55 characters per line at 360 pixels.
    let lines: usize = text.lines().map(|l| l.chars().count() / 55 + 1).sum();
    let height = (lines as u32 * 15 + 12).clamp(60, 600);
    Note::new(text)
        .set_author("bilan")
        .add_author_prefix(false)
        .set_width(360)
        .set_height(height)
}

fn checked_at_fr(checked_at: &str) -> String {
    match chrono::NaiveDateTime::parse_from_str(checked_at, "%Y-%m-%dT%H:%M:%SZ") {
        Ok(t) => t.format("%d/%m/%Y à %H:%M (UTC)").to_string(),
        Err(_) => checked_at.to_string(),
    }
}

fn to_f64(d: Decimal) -> Option<f64> {
    d.to_f64().filter(|x| x.is_finite())
}

// ---------------------------------------------------------------------------
// Synthèse.

fn write_summary(
    ws: &mut Worksheet,
    report: &FileReport,
    rules: &RulePack,
    checked_at: &str,
    findings: &[&Finding],
    sheets: &[Sheet],
    names: &[String],
) -> Result<(), ReportError> {
    let file_name = Path::new(&report.path)
        .file_name()
        .map_or_else(|| report.path.clone(), |n| n.to_string_lossy().into_owned());
    let title = Format::new().set_bold().set_font_size(16).set_font_color(0x1F3864);
    let subtitle = Format::new()
        .set_italic()
        .set_font_color(0x595959)
        .set_text_wrap()
        .set_align(FormatAlign::Top);
    let heading = Format::new()
        .set_bold()
        .set_font_size(12)
        .set_font_color(0x1F3864)
        .set_border_bottom(FormatBorder::Thin);
    let label = Format::new().set_bold().set_align(FormatAlign::Top);
    let value = Format::new()
        .set_text_wrap()
        .set_align(FormatAlign::Left)
        .set_align(FormatAlign::Top);
    let date = value.clone().set_num_format("dd/mm/yyyy");
    let link = Format::new()
        .set_font_color(0x0563C1)
        .set_underline(FormatUnderline::Single)
        .set_align(FormatAlign::Top);

    // Labels in A, short values in B, long texts across B:C.
    ws.set_column_width(0, 24)?;
    ws.set_column_width(1, 16)?;
    ws.set_column_width(2, 62)?;
    ws.set_print_fit_to_pages(1, 0);
    ws.set_paper_size(A4);
    ws.set_row_height(0, 24)?;
    ws.write_string_with_format(
        0,
        0,
        shorten(&format!("Rapport de contrôle — {file_name}"), MAX_TEXT),
        &title,
    )?;
    ws.set_row_height(1, 30)?;
    ws.merge_range(
        1,
        0,
        1,
        2,
        "Le retour a été contrôlé par bilan. Chaque constat est listé dans la feuille « Constats » et marqué sur sa \
         cellule dans les feuilles du retour, reproduites à la suite : survolez une cellule marquée pour lire sa note.",
        &subtitle,
    )?;

    // A label and a text across B:C.
    let wide = |ws: &mut Worksheet, row: u32, text: &str, format: &Format| -> Result<(), ReportError> {
        ws.merge_range(row, 1, row, 2, &shorten(text, MAX_TEXT), format)?;
        Ok(())
    };
    let mut row: u32 = 3;
    let line = |ws: &mut Worksheet, row: &mut u32, name: &str, text: &str| -> Result<(), ReportError> {
        ws.write_string_with_format(*row, 0, name, &label)?;
        wide(ws, *row, text, &value)?;
        *row += 1;
        Ok(())
    };
    line(ws, &mut row, "Fichier", &file_name)?;
    line(
        ws,
        &mut row,
        "Empreinte SHA-256",
        report.sha256.as_deref().unwrap_or("—"),
    )?;
    let template = match (&report.template, &report.template_version) {
        (Some(t), Some(v)) => format!("{t}, version {v}"),
        (Some(t), None) => format!("{t} (version non indiquée)"),
        (None, _) => "non reconnu".to_string(),
    };
    line(ws, &mut row, "Modèle", &template)?;
    line(
        ws,
        &mut row,
        "Organisation",
        report.organisation.as_deref().unwrap_or("—"),
    )?;
    if let Some(ex) = &report.exercice {
        line(ws, &mut row, "Exercice", ex)?;
    }
    // The cut-off date: a real date when it is one day.
    ws.write_string_with_format(row, 0, "Date d'arrêté", &label)?;
    match report.cut_off.as_deref().map(|c| (c, DateInterval::from_canonical(c))) {
        Some((_, Some(d))) if d.precision == Precision::Day && d.to_excel_serial() >= 1.0 => {
            ws.write_number_with_format(row, 1, d.to_excel_serial(), &date)?;
        }
        Some((_, Some(d))) => wide(ws, row, &d.display_fr(), &value)?,
        Some((raw, None)) => wide(ws, row, raw, &value)?,
        None => wide(ws, row, "—", &value)?,
    }
    row += 1;
    line(ws, &mut row, "Date du contrôle", &checked_at_fr(checked_at))?;
    line(
        ws,
        &mut row,
        "Version du programme",
        &format!("bilan {}", env!("CARGO_PKG_VERSION")),
    )?;
    line(ws, &mut row, "Jeu de règles", &rules.name)?;

    // The verdict, then the counts.
    row += 1;
    let status = report.status();
    let (bg, fg) = status_colors(status);
    let status_format = Format::new()
        .set_bold()
        .set_font_size(14)
        .set_background_color(bg)
        .set_font_color(fg)
        .set_border(FormatBorder::Medium)
        .set_border_color(fg)
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter);
    ws.write_string_with_format(
        row,
        0,
        "Statut",
        &label.clone().set_font_size(14).set_align(FormatAlign::VerticalCenter),
    )?;
    ws.merge_range(row, 1, row, 2, status.label_fr(), &status_format)?;
    ws.set_row_height(row, 26)?;
    row += 1;
    let counts = report.counts();
    for (severity, n, name, hint) in [
        (
            Severity::Error,
            counts.error,
            "Erreurs",
            "à corriger avant de renvoyer le retour",
        ),
        (Severity::Warning, counts.warning, "Avertissements", "à vérifier"),
        (Severity::Info, counts.info, "Informations", "pour information"),
    ] {
        ws.write_string_with_format(row, 0, name, &label)?;
        let mut f = Format::new().set_bold().set_align(FormatAlign::Center);
        if n > 0 {
            f = mark_format(f, Mark { severity, strong: true });
        }
        ws.write_number_with_format(row, 1, n as f64, &f)?;
        if n > 0 {
            ws.write_string_with_format(row, 2, hint, &value)?;
        }
        row += 1;
    }

    // Why there is nothing to look at, when that is the case.
    let why = match (&report.workbook, &report.template) {
        (None, _) => Some(format!(
            "Le fichier n'a pas pu être lu : aucune de ses feuilles n'est reproduite. {}",
            findings.first().map(|f| f.message.as_str()).unwrap_or("")
        )),
        (Some(_), None) => Some(
            "Le modèle du retour n'a pas été reconnu : ses feuilles sont reproduites telles quelles, sans contrôle \
             de leur contenu. Vérifiez la feuille « Identification » (Modèle, Version) ou repartez du modèle à jour."
                .to_string(),
        ),
        _ => None,
    };
    if let Some(why) = why {
        row += 1;
        let (bg, fg) = status_colors(Status::NonConforme);
        let warn = value.clone().set_bold().set_background_color(bg).set_font_color(fg);
        ws.write_string_with_format(row, 0, "Motif", &label)?;
        wide(ws, row, &why, &warn)?;
        ws.set_row_height(row, text_height(&why, 78.0))?;
        row += 1;
    }

    // Findings that no cell can carry.
    let loose: Vec<&&Finding> = findings
        .iter()
        .filter(|f| f.cell.is_none() || f.sheet.as_ref().is_none_or(|s| !sheets.iter().any(|w| &w.name == s)))
        .collect();
    if !loose.is_empty() {
        row += 1;
        section(ws, row, "Constats sans cellule", &heading)?;
        row += 1;
        for f in loose.iter().take(MAX_SUMMARY_LIST) {
            let sample = mark_format(
                label.clone(),
                Mark {
                    severity: f.severity,
                    strong: true,
                },
            );
            ws.write_string_with_format(row, 0, format!("{} {}", severity_title(f.severity), f.rule), &sample)?;
            let place = f
                .sheet
                .as_ref()
                .map(|s| format!(" (feuille « {s} »)"))
                .unwrap_or_default();
            let text = format!("{}{place}", f.message);
            wide(ws, row, &text, &value)?;
            ws.set_row_height(row, text_height(&text, 78.0))?;
            row += 1;
        }
        if loose.len() > MAX_SUMMARY_LIST {
            let more = format!(
                "… et {} autres : voir la feuille « {FINDINGS} ».",
                loose.len() - MAX_SUMMARY_LIST
            );
            wide(ws, row, &more, &value)?;
            row += 1;
        }
    }

    // The legend: what a mark looks like.
    row += 1;
    section(ws, row, "Légende des marques", &heading)?;
    row += 1;
    for severity in [Severity::Error, Severity::Warning, Severity::Info] {
        let what = match severity {
            Severity::Error => "au moins une erreur : à corriger",
            Severity::Warning => "au moins un avertissement (aucune erreur) : à vérifier",
            Severity::Info => "des informations seulement : rien à corriger",
        };
        let strong = mark_format(
            Format::new().set_align(FormatAlign::Center),
            Mark { severity, strong: true },
        );
        let weak = mark_format(
            Format::new().set_align(FormatAlign::Center),
            Mark {
                severity,
                strong: false,
            },
        );
        ws.write_string_with_format(row, 0, severity_title(severity), &strong)?;
        ws.write_string_with_format(row, 1, "même ligne", &weak)?;
        ws.write_string_with_format(row, 2, format!("Cellule en cause : {what}."), &value)?;
        row += 1;
    }
    for text in [
        "Fond soutenu et cadre épais : la cellule en cause. Fond clair et cadre fin : le reste de la ligne ou de la \
         plage sur laquelle porte le constat.",
        "La cellule en cause porte une note (triangle rouge dans son coin) : règle, message, valeurs attendue et \
         constatée. Un fond coloré sans cadre vient du fichier d'origine : ce n'est pas un constat.",
    ] {
        ws.merge_range(row, 0, row, 2, text, &value)?;
        ws.set_row_height(row, text_height(text, 102.0))?;
        row += 1;
    }

    // Where to go next.
    row += 1;
    section(ws, row, "Feuilles", &heading)?;
    row += 1;
    ws.write_url_with_format(row, 0, internal_link(FINDINGS, "A1").set_text(FINDINGS), &link)?;
    wide(
        ws,
        row,
        &format!("la liste des constats ({})", crate::report::counts_fr(counts)),
        &value,
    )?;
    row += 1;
    for (sheet, name) in sheets.iter().zip(names).take(MAX_LINKS_PER_SHEET) {
        let mut on_sheet = crate::finding::Counts::default();
        for f in findings.iter().filter(|f| f.sheet.as_ref() == Some(&sheet.name)) {
            match f.severity {
                Severity::Error => on_sheet.error += 1,
                Severity::Warning => on_sheet.warning += 1,
                Severity::Info => on_sheet.info += 1,
            }
        }
        ws.write_url_with_format(row, 0, internal_link(name, "A1").set_text(name.as_str()), &link)?;
        let mut what = if on_sheet.at_or_above(Severity::Info) == 0 {
            "aucun constat".to_string()
        } else {
            crate::report::counts_fr(on_sheet)
        };
        if name != &sheet.name {
            what.push_str(&format!(
                " — feuille « {} » du retour, renommée pour Excel",
                shorten(&sheet.name, 200)
            ));
        }
        wide(ws, row, &what, &value)?;
        row += 1;
    }
    Ok(())
}

/// A section title across A:C.
fn section(ws: &mut Worksheet, row: u32, text: &str, format: &Format) -> Result<(), ReportError> {
    ws.write_string_with_format(row, 0, text, format)?;
    ws.write_blank(row, 1, format)?;
    ws.write_blank(row, 2, format)?;
    Ok(())
}

/// The height (points) of a row whose wrapped text is `text` in a column `width`
/// characters wide: neither Excel nor LibreOffice grow rows of a new file.
fn text_height(text: &str, width: f64) -> f64 {
    let per_line = (width * 1.1).max(1.0);
    let lines: f64 = text
        .lines()
        .map(|l| (l.width() as f64 / per_line).ceil().max(1.0))
        .sum();
    (lines.clamp(1.0, 27.0) * 15.0).max(15.0)
}

// ---------------------------------------------------------------------------
// Constats.

fn write_findings(
    ws: &mut Worksheet,
    rules: &RulePack,
    findings: &[&Finding],
    target: &dyn Fn(&Finding) -> Option<String>,
) -> Result<(), ReportError> {
    let header = Format::new()
        .set_bold()
        .set_font_color(0xFFFFFF)
        .set_background_color(0x1F3864)
        .set_text_wrap()
        .set_align(FormatAlign::VerticalCenter);
    let text = Format::new().set_align(FormatAlign::Top);
    let wrap = text.clone().set_text_wrap();
    let link = text
        .clone()
        .set_font_color(0x0563C1)
        .set_underline(FormatUnderline::Single);
    let integer = text.clone().set_num_format("#,##0");
    let decimal = text.clone().set_num_format("#,##0.00");
    let columns: [(&str, f64); 10] = [
        ("Gravité", 14.0),
        ("Règle", 15.0),
        ("Titre de la règle", 36.0),
        ("Feuille", 16.0),
        ("Cellule", 10.0),
        ("Message", 70.0),
        ("Attendu", 14.0),
        ("Constaté", 14.0),
        ("Écart", 14.0),
        ("Tolérance", 11.0),
    ];
    for (i, (name, width)) in columns.iter().enumerate() {
        ws.write_string_with_format(0, i as u16, *name, &header)?;
        ws.set_column_width(i as u16, *width)?;
    }
    ws.set_row_height(0, 20)?;
    ws.set_freeze_panes(1, 0)?;
    ws.set_landscape();
    ws.set_print_fit_to_pages(1, 0);
    ws.set_paper_size(A4);
    ws.set_repeat_rows(0, 0)?;

    let severity_formats: HashMap<Severity, Format> = [Severity::Error, Severity::Warning, Severity::Info]
        .into_iter()
        .map(|s| {
            (
                s,
                mark_format(
                    text.clone().set_bold(),
                    Mark {
                        severity: s,
                        strong: true,
                    },
                ),
            )
        })
        .collect();
    let max_rows = (MAX_ROWS - 2) as usize;
    let mut row: u32 = 1;
    for (i, f) in findings.iter().enumerate() {
        if i >= max_rows {
            ws.write_string(
                row,
                5,
                format!(
                    "… et {} autres constats non listés (limite d'Excel).",
                    findings.len() - i
                ),
            )?;
            break;
        }
        ws.write_string_with_format(row, 0, severity_title(f.severity), &severity_formats[&f.severity])?;
        ws.write_string_with_format(row, 1, shorten(f.rule.as_str(), MAX_TEXT), &text)?;
        ws.write_string_with_format(
            row,
            2,
            shorten(rule_title(rules, f.rule.as_str()).unwrap_or(""), MAX_TEXT),
            &wrap,
        )?;
        ws.write_string_with_format(row, 3, shorten(f.sheet.as_deref().unwrap_or(""), MAX_TEXT), &text)?;
        // The cell in question, as a link that jumps to it; the range it belongs to as a tip.
        if let Some(cell) = f.cell {
            let place = cell.to_string();
            match target(f).filter(|_| i < MAX_LINKS_PER_SHEET) {
                Some(sheet) => {
                    let tip = match f.range {
                        Some(r) => format!("Aller à la cellule (constat sur la plage {r})"),
                        None => "Aller à la cellule".to_string(),
                    };
                    let url = internal_link(&sheet, &place).set_text(place.as_str()).set_tip(tip);
                    ws.write_url_with_format(row, 4, url, &link)?;
                }
                None => {
                    ws.write_string_with_format(row, 4, place, &text)?;
                }
            }
        }
        ws.write_string_with_format(row, 5, shorten(&f.message, MAX_TEXT), &wrap)?;
        let title_height = text_height(rule_title(rules, f.rule.as_str()).unwrap_or(""), 36.0);
        ws.set_row_height(row, text_height(&f.message, 70.0).max(title_height))?;
        let figures = [
            f.figures.expected,
            f.figures.actual,
            f.figures.difference,
            f.figures.tolerance,
        ];
        for (k, fig) in figures.into_iter().enumerate() {
            if let Some((d, x)) = fig.and_then(|d| to_f64(d).map(|x| (d, x))) {
                let fmt = if d.fract().is_zero() { &integer } else { &decimal };
                ws.write_number_with_format(row, 6 + k as u16, x, fmt)?;
            }
        }
        row += 1;
    }
    ws.autofilter(0, 0, row.saturating_sub(1), (columns.len() - 1) as u16)?;
    Ok(())
}

// ---------------------------------------------------------------------------
// The submitted sheets.

/// How a value is shown when the submitted file gives no format of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Text,
    /// A number shown as is (small numbers, years).
    Plain,
    /// Thousands separated: amounts.
    Grouped,
    GroupedDecimal,
    Date,
    Other,
}

fn kind_of(v: Option<&CellValue>) -> Kind {
    match v {
        Some(CellValue::Text(_)) | Some(CellValue::Error(_)) | Some(CellValue::FormulaWithoutValue(_)) => Kind::Text,
        Some(CellValue::Number(n)) => {
            if n.abs() < 10_000.0 || !n.is_finite() {
                Kind::Plain
            } else if n.fract() == 0.0 {
                Kind::Grouped
            } else {
                Kind::GroupedDecimal
            }
        }
        Some(CellValue::Date(_)) => Kind::Date,
        Some(CellValue::Bool(_)) | None => Kind::Other,
    }
}

/// Text that Excel would take for a formula if someone edited the cell.
fn looks_like_formula(v: Option<&CellValue>) -> bool {
    match v {
        Some(CellValue::Text(s)) => s.starts_with(['=', '+', '-', '@']),
        Some(CellValue::FormulaWithoutValue(_)) => true,
        _ => false,
    }
}

/// The cell formats of one sheet, built once per distinct look.
struct Formats<'a> {
    palette: Option<&'a [CellStyle]>,
    cache: HashMap<(Option<u32>, Kind, Option<Mark>, bool), Format>,
}

impl<'a> Formats<'a> {
    fn get(&mut self, style: Option<u32>, kind: Kind, mark: Option<Mark>, quote: bool) -> &Format {
        let palette = self.palette;
        self.cache.entry((style, kind, mark, quote)).or_insert_with(|| {
            let mut f = match palette {
                // An .xlsx: the cell's own style, or the workbook's default one.
                Some(p) => {
                    let s = style.and_then(|i| p.get(i as usize)).or_else(|| p.first());
                    let mut f = s.map(format_of).unwrap_or_default();
                    let has_format = s
                        .and_then(|s| s.number_format.as_ref())
                        .is_some_and(|n| n.code != "General");
                    if kind == Kind::Date && !has_format {
                        f = f.set_num_format("dd/mm/yyyy");
                    }
                    f
                }
                None => match kind {
                    Kind::Grouped => Format::new().set_num_format("#,##0"),
                    Kind::GroupedDecimal => Format::new().set_num_format("#,##0.00"),
                    Kind::Date => Format::new().set_num_format("dd/mm/yyyy"),
                    Kind::Text | Kind::Plain | Kind::Other => Format::new(),
                },
            };
            if quote {
                f = f.set_quote_prefix();
            }
            match mark {
                Some(m) => mark_format(f, m),
                None => f,
            }
        })
    }
}

/// A finding's mark over any look: fill by severity and a frame in the same hue.
fn mark_format(f: Format, m: Mark) -> Format {
    f.set_pattern(FormatPattern::Solid)
        .set_foreground_color(m.fill())
        .set_background_color(m.fill())
        .set_border(m.line())
        .set_border_color(m.frame())
}

/// An `.xlsx` cell style as a rust_xlsxwriter format.
fn format_of(s: &CellStyle) -> Format {
    let mut f = Format::new();
    if let Some(n) = &s.number_format {
        match n.id {
            Some(0) => {}
            // Built-in formats by index, so that Excel shows them in the reader's locale.
            Some(id) if id < 50 => f = f.set_num_format_index(id as u8),
            _ if n.code != "General" && !n.code.is_empty() => f = f.set_num_format(shorten(&n.code, 255)),
            _ => {}
        }
    }
    if let Some(font) = &s.font {
        if let Some(name) = font.name.as_ref().filter(|n| !n.is_empty()) {
            f = f.set_font_name(shorten(name, 31));
        }
        if let Some(size) = font.size {
            f = f.set_font_size(size);
        }
        if font.bold {
            f = f.set_bold();
        }
        if font.italic {
            f = f.set_italic();
        }
        if font.strikethrough {
            f = f.set_font_strikethrough();
        }
        f = match font.underline {
            styles::Underline::None => f,
            styles::Underline::Single => f.set_underline(FormatUnderline::Single),
            styles::Underline::Double => f.set_underline(FormatUnderline::Double),
            styles::Underline::SingleAccounting => f.set_underline(FormatUnderline::SingleAccounting),
            styles::Underline::DoubleAccounting => f.set_underline(FormatUnderline::DoubleAccounting),
        };
        if let Some(c) = font.color {
            f = f.set_font_color(Color::RGB(c));
        }
    }
    if let Some(fill) = &s.fill {
        use styles::Pattern as P;
        let pattern = match fill.pattern {
            P::None => None,
            P::Solid => Some(FormatPattern::Solid),
            P::DarkGray => Some(FormatPattern::DarkGray),
            P::MediumGray => Some(FormatPattern::MediumGray),
            P::LightGray => Some(FormatPattern::LightGray),
            P::Gray125 => Some(FormatPattern::Gray125),
            P::Gray0625 => Some(FormatPattern::Gray0625),
            P::DarkHorizontal => Some(FormatPattern::DarkHorizontal),
            P::DarkVertical => Some(FormatPattern::DarkVertical),
            P::DarkDown => Some(FormatPattern::DarkDown),
            P::DarkUp => Some(FormatPattern::DarkUp),
            P::DarkGrid => Some(FormatPattern::DarkGrid),
            P::DarkTrellis => Some(FormatPattern::DarkTrellis),
            P::LightHorizontal => Some(FormatPattern::LightHorizontal),
            P::LightVertical => Some(FormatPattern::LightVertical),
            P::LightDown => Some(FormatPattern::LightDown),
            P::LightUp => Some(FormatPattern::LightUp),
            P::LightGrid => Some(FormatPattern::LightGrid),
            P::LightTrellis => Some(FormatPattern::LightTrellis),
        };
        match pattern {
            None => {}
            Some(FormatPattern::Solid) => {
                if let Some(c) = fill.foreground.or(fill.background) {
                    f = f.set_pattern(FormatPattern::Solid).set_background_color(Color::RGB(c));
                }
            }
            Some(p) => {
                f = f.set_pattern(p);
                if let Some(c) = fill.foreground {
                    f = f.set_foreground_color(Color::RGB(c));
                }
                if let Some(c) = fill.background {
                    f = f.set_background_color(Color::RGB(c));
                }
            }
        }
    }
    if let Some(b) = &s.borders {
        let line = |l: Line| match l {
            Line::None => FormatBorder::None,
            Line::Thin => FormatBorder::Thin,
            Line::Medium => FormatBorder::Medium,
            Line::Thick => FormatBorder::Thick,
            Line::Double => FormatBorder::Double,
            Line::Hair => FormatBorder::Hair,
            Line::Dashed => FormatBorder::Dashed,
            Line::Dotted => FormatBorder::Dotted,
            Line::MediumDashed => FormatBorder::MediumDashed,
            Line::DashDot => FormatBorder::DashDot,
            Line::MediumDashDot => FormatBorder::MediumDashDot,
            Line::DashDotDot => FormatBorder::DashDotDot,
            Line::MediumDashDotDot => FormatBorder::MediumDashDotDot,
            Line::SlantDashDot => FormatBorder::SlantDashDot,
        };
        if b.left.line != Line::None {
            f = f.set_border_left(line(b.left.line));
            if let Some(c) = b.left.color {
                f = f.set_border_left_color(Color::RGB(c));
            }
        }
        if b.right.line != Line::None {
            f = f.set_border_right(line(b.right.line));
            if let Some(c) = b.right.color {
                f = f.set_border_right_color(Color::RGB(c));
            }
        }
        if b.top.line != Line::None {
            f = f.set_border_top(line(b.top.line));
            if let Some(c) = b.top.color {
                f = f.set_border_top_color(Color::RGB(c));
            }
        }
        if b.bottom.line != Line::None {
            f = f.set_border_bottom(line(b.bottom.line));
            if let Some(c) = b.bottom.color {
                f = f.set_border_bottom_color(Color::RGB(c));
            }
        }
        let (down, up) = (b.diagonal_down.line != Line::None, b.diagonal_up.line != Line::None);
        if down || up {
            let d = if down { b.diagonal_down } else { b.diagonal_up };
            f = f
                .set_border_diagonal(line(d.line))
                .set_border_diagonal_type(match (down, up) {
                    (true, true) => FormatDiagonalBorder::BorderUpDown,
                    (true, false) => FormatDiagonalBorder::BorderDown,
                    _ => FormatDiagonalBorder::BorderUp,
                });
            if let Some(c) = d.color {
                f = f.set_border_diagonal_color(Color::RGB(c));
            }
        }
    }
    if let Some(a) = &s.alignment {
        use styles::{Horizontal as H, Vertical as V};
        f = match a.horizontal {
            H::General => f,
            H::Left => f.set_align(FormatAlign::Left),
            H::Center => f.set_align(FormatAlign::Center),
            H::CenterContinuous => f.set_align(FormatAlign::CenterAcross),
            H::Right => f.set_align(FormatAlign::Right),
            H::Justify => f.set_align(FormatAlign::Justify),
            H::Distributed => f.set_align(FormatAlign::Distributed),
            H::Fill => f.set_align(FormatAlign::Fill),
        };
        f = match a.vertical {
            V::Bottom => f,
            V::Top => f.set_align(FormatAlign::Top),
            V::Center => f.set_align(FormatAlign::VerticalCenter),
            V::Justify => f.set_align(FormatAlign::VerticalJustify),
            V::Distributed => f.set_align(FormatAlign::VerticalDistributed),
        };
        if a.wrap {
            f = f.set_text_wrap();
        }
        if a.shrink {
            f = f.set_shrink();
        }
        if a.indent > 0 {
            f = f.set_indent(a.indent.min(15));
        }
        f = match a.rotation {
            0 => f,
            r @ 1..=90 => f.set_rotation(r as i16),
            r @ 91..=180 => f.set_rotation(-((r - 90) as i16)),
            255 => f.set_rotation(270),
            _ => f,
        };
    }
    f
}

/// Cells marked on one sheet (the most visible mark each) and the findings of each note.
struct Marks<'f> {
    cells: BTreeMap<CellRef, Mark>,
    notes: BTreeMap<CellRef, Vec<&'f Finding>>,
}

fn marks<'f>(merges: &Merges, findings: &[&'f Finding]) -> Marks<'f> {
    let mut cells: BTreeMap<CellRef, Mark> = BTreeMap::new();
    let mut notes: BTreeMap<CellRef, Vec<&'f Finding>> = BTreeMap::new();
    let valid = |c: CellRef| c.row < MAX_ROWS && c.col < MAX_COLS;
    // A merged cell is marked whole.
    let mut mark = |pos: CellRef, m: Mark| {
        let span = merges.of(pos).unwrap_or(CellRange::single(pos));
        for r in span.start.row..=span.end.row {
            for c in span.start.col..=span.end.col {
                let c = CellRef::new(r, c);
                if valid(c) && (cells.len() < MAX_MARKED_CELLS_PER_SHEET || cells.contains_key(&c)) {
                    let e = cells.entry(c).or_insert(m);
                    *e = e.max(m);
                }
            }
        }
    };
    for f in findings {
        let Some(cell) = f.cell else { continue };
        if let Some(range) = f.range {
            let area = (range.end.row - range.start.row) as u64 + 1;
            if area * ((range.end.col - range.start.col) as u64 + 1) <= MAX_MARKED_CELLS_PER_FINDING {
                for r in range.start.row..=range.end.row {
                    for c in range.start.col..=range.end.col {
                        mark(
                            CellRef::new(r, c),
                            Mark {
                                severity: f.severity,
                                strong: false,
                            },
                        );
                    }
                }
            }
        }
        mark(
            cell,
            Mark {
                severity: f.severity,
                strong: true,
            },
        );
        // The note goes on the cell itself, or on the first cell of its merged range.
        let anchor = merges.of(cell).map_or(cell, |m| m.start);
        if valid(anchor) {
            notes.entry(anchor).or_default().push(f);
        }
    }
    Marks { cells, notes }
}

/// The merged ranges of a sheet that Excel can take (inside the sheet, more than
/// one cell, not overlapping an earlier one, of a reasonable size), and which
/// range covers each of their cells.
struct Merges {
    ranges: Vec<CellRange>,
    covered: HashMap<CellRef, usize>,
}

impl Merges {
    fn of(&self, pos: CellRef) -> Option<CellRange> {
        self.covered.get(&pos).map(|&i| self.ranges[i])
    }

    fn new(sheet: &Sheet) -> Self {
        let mut covered: HashMap<CellRef, usize> = HashMap::new();
        let mut ranges = Vec::new();
        for m in &sheet.merges {
            if m.is_single() || m.end.row >= MAX_ROWS || m.end.col >= MAX_COLS {
                continue;
            }
            let area = (m.end.row - m.start.row + 1) as u64 * (m.end.col - m.start.col + 1) as u64;
            if area > MAX_MERGE_AREA || covered.len() as u64 + area > MAX_MERGED_CELLS_PER_SHEET as u64 {
                continue;
            }
            let cells =
                || (m.start.row..=m.end.row).flat_map(|r| (m.start.col..=m.end.col).map(move |c| CellRef::new(r, c)));
            if cells().any(|c| covered.contains_key(&c)) {
                continue;
            }
            covered.extend(cells().map(|c| (c, ranges.len())));
            ranges.push(*m);
        }
        // In row order; `covered` holds indices, so it is rebuilt.
        ranges.sort_by_key(|m| m.start);
        let covered = ranges.iter().enumerate().flat_map(|(i, m)| {
            (m.start.row..=m.end.row).flat_map(move |r| (m.start.col..=m.end.col).map(move |c| (CellRef::new(r, c), i)))
        });
        Self {
            covered: covered.collect(),
            ranges,
        }
    }
}

/// One position of the sheet with what is known about it.
struct Slot<'a> {
    pos: CellRef,
    value: Option<&'a CellValue>,
    style: Option<u32>,
    mark: Option<Mark>,
    /// The merged range that starts here.
    merge: Option<CellRange>,
}

/// Values, styles, marks and merged ranges in row order (each input is sorted),
/// so that a sheet is written row after row.
fn slots<'a>(
    sheet: &'a Sheet,
    styled: &'a [(CellRef, u32)],
    marked: &'a BTreeMap<CellRef, Mark>,
    merges: &'a [CellRange],
) -> impl Iterator<Item = Slot<'a>> + 'a {
    let mut values = sheet.cells().iter().peekable();
    let mut styles = styled.iter().peekable();
    let mut marks = marked.iter().peekable();
    let mut merges = merges.iter().peekable();
    std::iter::from_fn(move || {
        let next = [
            values.peek().map(|c| c.pos),
            styles.peek().map(|s| s.0),
            marks.peek().map(|m| *m.0),
            merges.peek().map(|m| m.start),
        ]
        .into_iter()
        .flatten()
        .min()?;
        Some(Slot {
            pos: next,
            value: values.next_if(|c| c.pos == next).map(|c| &c.value),
            style: styles.next_if(|s| s.0 == next).map(|s| s.1),
            mark: marks.next_if(|m| *m.0 == next).map(|m| *m.1),
            merge: merges.next_if(|m| m.start == next).copied(),
        })
    })
}

fn write_sheet(
    ws: &mut Worksheet,
    sheet: &Sheet,
    look: Option<(&WorkbookStyles, &SheetStyles)>,
    findings: &[&Finding],
    rules: &RulePack,
) -> Result<(), ReportError> {
    // Printed one page wide, so that a reviewer can print a marked sheet as is.
    ws.set_print_fit_to_pages(1, 0);
    ws.set_paper_size(A4);
    let merges = Merges::new(sheet);
    let Marks { cells: marked, notes } = marks(&merges, findings);
    let styled: &[(CellRef, u32)] = look.map_or(&[], |(_, s)| &s.cells);
    let mut formats = Formats {
        palette: look.map(|(w, _)| w.palette.as_slice()),
        cache: HashMap::new(),
    };

    // The last row worth a height: the sheet's content, not a hostile file's claims.
    let last_row = [
        sheet.cells().last().map(|c| c.pos.row),
        styled.last().map(|s| s.0.row),
        marked.keys().next_back().map(|c| c.row),
        merges.ranges.iter().map(|m| m.end.row).max(),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(0);
    match look {
        Some((_, s)) => apply_layout(ws, s, last_row)?,
        None => fit_columns(ws, sheet, &merges)?,
    }

    // Row after row (the order a constant-memory worksheet needs); a merged range
    // is written at its first cell (blanks over the range), then that cell's value.
    for slot in slots(sheet, styled, &marked, &merges.ranges) {
        let Slot {
            pos,
            value,
            style,
            mark,
            merge,
        } = slot;
        if pos.row >= MAX_ROWS || pos.col >= MAX_COLS {
            continue;
        }
        if let Some(m) = merge {
            let format = formats.get(style, kind_of(value), mark, false).clone();
            ws.merge_range(
                m.start.row,
                m.start.col as u16,
                m.end.row,
                m.end.col as u16,
                "",
                &format,
            )?;
            if value.is_none() {
                continue;
            }
        }
        let (row, col) = (pos.row, pos.col as u16);
        let format = formats.get(style, kind_of(value), mark, looks_like_formula(value));
        match value {
            None => {
                ws.write_blank(row, col, format)?;
            }
            Some(CellValue::Text(s)) => {
                ws.write_string_with_format(row, col, shorten(s, MAX_TEXT), format)?;
            }
            Some(CellValue::Number(n)) if n.is_finite() => {
                ws.write_number_with_format(row, col, *n, format)?;
            }
            Some(CellValue::Number(n)) => {
                ws.write_string_with_format(row, col, n.to_string(), format)?;
            }
            Some(CellValue::Bool(b)) => {
                ws.write_boolean_with_format(row, col, *b, format)?;
            }
            Some(CellValue::Date(d)) => {
                let serial = d.to_excel_serial();
                if serial >= 1.0 {
                    ws.write_number_with_format(row, col, serial, format)?;
                } else {
                    ws.write_string_with_format(row, col, d.display_fr(), format)?;
                }
            }
            Some(CellValue::Error(e)) => {
                ws.write_string_with_format(row, col, shorten(e, MAX_TEXT), format)?;
            }
            Some(CellValue::FormulaWithoutValue(f)) => {
                ws.write_string_with_format(row, col, shorten(&format!("={f}"), MAX_TEXT), format)?;
            }
        }
    }
    for (pos, on_cell) in &notes {
        ws.insert_note(pos.row, pos.col as u16, &note_for(on_cell, rules))?;
    }
    Ok(())
}

/// Column widths, hidden columns and row heights of the submitted `.xlsx`.
fn apply_layout(ws: &mut Worksheet, s: &SheetStyles, last_row: u32) -> Result<(), ReportError> {
    if let Some(h) = s.default_row_height.filter(|h| *h > 0.0 && (*h - 15.0).abs() > 0.01) {
        ws.set_default_row_height(h);
    }
    let default_width = s.default_column_width.filter(|w| *w > 0.0);
    if let Some(w) = default_width {
        ws.set_column_range_width_pixels(0, (MAX_COLS - 1) as u16, width_pixels(w))?;
    }
    for c in &s.columns {
        let (first, last) = (c.first.min(MAX_COLS - 1) as u16, c.last.min(MAX_COLS - 1) as u16);
        if let Some(w) = c.width.or(default_width) {
            ws.set_column_range_width_pixels(first, last, width_pixels(w))?;
        }
        if c.hidden {
            ws.set_column_range_hidden(first, last)?;
        }
    }
    for r in s.rows.iter().take_while(|r| r.row <= last_row.saturating_add(1)) {
        if let Some(h) = r.height {
            ws.set_row_height(r.row, h)?;
        }
        if r.hidden {
            ws.set_row_hidden(r.row)?;
        }
    }
    Ok(())
}

/// Pixels of a width in the file's unit (Calibri 11: 7 pixels per digit, 5 of padding).
fn width_pixels(width: f64) -> u32 {
    ((256.0 * width + (128.0 / 7.0_f64).trunc()) / 256.0 * 7.0)
        .trunc()
        .clamp(0.0, 1790.0) as u32
}

/// Widths that fit the values, for files that do not say (`.xls`, `.ods`, …).
fn fit_columns(ws: &mut Worksheet, sheet: &Sheet, merges: &Merges) -> Result<(), ReportError> {
    let mut widths: BTreeMap<u32, usize> = BTreeMap::new();
    let wide_merge = |p: CellRef| merges.of(p).is_some_and(|m| m.start.col != m.end.col);
    for cell in sheet.cells() {
        if cell.pos.col >= MAX_COLS || wide_merge(cell.pos) {
            continue;
        }
        let shown = match &cell.value {
            CellValue::Number(n) if n.is_finite() && n.abs() >= 10_000.0 => {
                if n.fract() == 0.0 {
                    int_fr(*n as i128)
                } else {
                    format!("{},00", int_fr(n.trunc() as i128))
                }
            }
            CellValue::Date(_) => "00/00/0000".to_string(),
            other => other.display(),
        };
        let w = shown.lines().map(|l| l.width()).max().unwrap_or(0);
        let e = widths.entry(cell.pos.col).or_insert(0);
        *e = (*e).max(w);
    }
    for (col, w) in widths {
        ws.set_column_width(col as u16, (w as f64 + 2.0).clamp(8.43, 60.0))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_names_are_valid_and_unique() {
        let long = "Un nom de feuille beaucoup trop long pour Excel";
        let names = report_sheet_names([
            "Synthèse",
            "constats",
            "a/b:c",
            long,
            long,
            "'x'",
            "",
            "History",
            "A",
            "a",
        ]);
        assert_eq!(names[0], "Synthèse (2)");
        assert_eq!(names[1], "constats (2)");
        assert_eq!(names[2], "a_b_c");
        assert_eq!(names[3].encode_utf16().count(), 31);
        assert_ne!(names[3].to_lowercase(), names[4].to_lowercase());
        assert!(names[4].encode_utf16().count() <= 31 && names[4].ends_with("(2)"));
        assert_eq!(names[5], "_x_");
        assert_eq!(names[6], "Feuille");
        assert_eq!(names[7], "History (2)");
        assert_eq!(names[8], "A");
        assert_eq!(names[9], "a (2)");
    }

    #[test]
    fn file_names_are_safe() {
        assert_eq!(
            report_file_name(Path::new("retours/pole-itrans.xlsx")),
            "pole-itrans.controle.xlsx"
        );
        assert_eq!(report_file_name(Path::new("a|b?.xls")), "a_b_.controle.xlsx");
        assert_eq!(report_file_name(Path::new("CON.xlsx")), "retour_CON.controle.xlsx");
        assert_eq!(report_file_name(Path::new(".xlsx")), "_xlsx.controle.xlsx");
        assert!(report_file_name(Path::new(&format!("{}.xlsx", "é".repeat(200)))).len() < 200);
    }

    #[test]
    fn texts_are_cut_to_excel_limits() {
        let s = "😀".repeat(20_000);
        let cut = shorten(&s, MAX_TEXT);
        assert!(cut.encode_utf16().count() <= MAX_TEXT);
        assert!(cut.ends_with('…'));
        assert_eq!(shorten("court", 10), "court");
    }

    #[test]
    fn widths_round_trip_excel_units() {
        assert_eq!(width_pixels(9.140625), 64);
        assert_eq!(width_pixels(30.7109375), 215);
    }
}
