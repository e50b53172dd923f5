//! What makes a workbook printable and readable by a committee: page setup
//! (landscape A4, one page wide, header row repeated on every page, page
//! numbers), file names relative to the batch root, and typed cells (dates as
//! dates, years as plain numbers, amounts grouped) with their formats.

use std::path::{Component, Path, PathBuf};

use rust_xlsxwriter::{ExcelDateTime, Format, Worksheet, XlsxError};
use serde_json::Value;

/// A4, in rust_xlsxwriter's (Excel's) paper numbering.
const A4: u8 = 9;

/// Landscape A4, fitted to one page wide (as many pages tall as needed), the
/// header row repeated at the top of every page, `title` and `date` in the
/// page header and « Page n sur N » with the sheet name in the footer.
pub fn page_setup(ws: &mut Worksheet, header_row: u32, title: &str, date: &str) -> Result<(), XlsxError> {
    ws.set_landscape();
    ws.set_paper_size(A4);
    ws.set_print_fit_to_pages(1, 0);
    ws.set_repeat_rows(header_row, header_row)?;
    ws.set_margins(0.4, 0.4, 0.6, 0.6, 0.3, 0.3);
    ws.set_print_center_horizontally(true);
    // `&` starts a field code in Excel headers: double it in the title.
    ws.set_header(format!("&L{}&R{}", title.replace('&', "&&"), date.replace('&', "&&")));
    ws.set_footer("&LPage &P sur &N&R&A");
    Ok(())
}

/// Merges `range`, empty, with `format` (its first cell is written next).
pub fn merge_blank(ws: &mut Worksheet, range: crate::base::model::CellRange, format: &Format) -> Result<(), XlsxError> {
    let (first, last) = (range.start, range.end);
    ws.merge_range(first.row, first.col as u16, last.row, last.col as u16, "", format)?;
    Ok(())
}

/// The height (points) a row needs for its wrapped cells, each given with its
/// column width (Excel characters): neither Excel nor LibreOffice grows a row
/// written in constant-memory mode, so wrapped text would overlap.
pub fn row_height(cells: &[(&str, f64)]) -> f64 {
    let lines = cells
        .iter()
        .map(|(text, width)| {
            let per_line = (width * 1.2).max(1.0);
            text.split('\n')
                .map(|l| (l.chars().count() as f64 / per_line).ceil().max(1.0))
                .sum::<f64>()
        })
        .fold(1.0, f64::max);
    15.0 * lines.min(12.0)
}

/// The folder the names of a batch's files are shown relative to: the common
/// ancestor of its PATH arguments (a file argument counts as its folder).
pub fn batch_root(paths: &[PathBuf]) -> Option<PathBuf> {
    let mut root: Option<PathBuf> = None;
    for p in paths {
        let dir = if p.is_dir() {
            p.clone()
        } else {
            p.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        let dir = dir.canonicalize().unwrap_or(dir);
        root = Some(match root {
            None => dir,
            Some(r) => common_ancestor(&r, &dir),
        });
    }
    root
}

fn common_ancestor(a: &Path, b: &Path) -> PathBuf {
    a.components()
        .zip(b.components())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x)
        .collect()
}

/// How a batch's files are named for the committee: relative to the batch
/// root, in the file columns and inside messages (a cross-file finding names
/// the other file with the path it was given).
#[derive(Debug, Clone, Default)]
pub struct Names {
    root: Option<PathBuf>,
    /// Prefixes removed from messages: each folder argument as given, and the
    /// root itself, with a trailing `/`.
    prefixes: Vec<String>,
}

impl Names {
    pub fn new(paths: &[PathBuf]) -> Self {
        let root = batch_root(paths);
        let mut prefixes: Vec<String> = paths
            .iter()
            .filter(|p| p.is_dir())
            .map(|p| format!("{}/", p.display().to_string().trim_end_matches('/')))
            .collect();
        if let Some(r) = &root {
            prefixes.push(format!("{}/", r.display().to_string().trim_end_matches('/')));
        }
        // Longest first, so that `a/b/` is removed before `a/`.
        prefixes.sort_by_key(|p| std::cmp::Reverse(p.len()));
        prefixes.retain(|p| p != "/" && p != "./" && !p.is_empty());
        Names { root, prefixes }
    }

    /// A file's name relative to the batch root.
    pub fn file(&self, path: &str) -> String {
        display_name(path, self.root.as_deref())
    }

    /// A message with the batch's folders removed from the paths it quotes.
    pub fn text(&self, message: &str) -> String {
        let mut out = message.to_string();
        for p in &self.prefixes {
            out = out.replace(p.as_str(), "");
        }
        out
    }
}

/// A file's name as the committee reads it: relative to the batch root
/// (`pôles/i-trans.xlsx`), never an absolute path. Falls back to the path as
/// given when it is not under the root, and to the file name when that is
/// absolute.
pub fn display_name(path: &str, root: Option<&Path>) -> String {
    let p = Path::new(path);
    if let Some(root) = root {
        let full = p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        if let Ok(rel) = full.strip_prefix(root) {
            if !rel.as_os_str().is_empty() {
                return slash(rel);
            }
        }
    }
    if p.is_absolute() {
        return p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.to_string());
    }
    let clean: PathBuf = p.components().filter(|c| !matches!(c, Component::CurDir)).collect();
    slash(&clean)
}

fn slash(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// An ISO date (`2010-03-31`) as an Excel date.
pub fn iso_date(s: &str) -> Option<ExcelDateTime> {
    let mut parts = s.trim().splitn(3, '-');
    let y: u16 = parts.next()?.parse().ok()?;
    let m: u8 = parts.next()?.parse().ok()?;
    let d: u8 = parts.next()?.get(..2)?.parse().ok()?;
    if !(1900..=9999).contains(&y) {
        return None;
    }
    ExcelDateTime::from_ymd(y, m, d).ok()
}

/// A whole number that reads as a year.
pub fn as_year(v: &Value) -> Option<f64> {
    let n = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    crate::base::format::reads_as_year(n).then_some(n)
}

/// The cell formats the synthesis uses for typed values.
pub struct Typed {
    pub date: Format,
    pub datetime: Format,
    pub year: Format,
    pub integer: Format,
    pub decimal: Format,
}

impl Typed {
    pub fn new(base: &Format) -> Self {
        Typed {
            date: base.clone().set_num_format("dd/mm/yyyy"),
            datetime: base.clone().set_num_format("dd/mm/yyyy hh:mm"),
            year: base.clone().set_num_format("0"),
            integer: base.clone().set_num_format("#,##0"),
            decimal: base.clone().set_num_format("#,##0.00"),
        }
    }

    /// The format of a number: grouped, with decimals only when it has some.
    pub fn number(&self, n: f64) -> &Format {
        if n.fract() == 0.0 {
            &self.integer
        } else {
            &self.decimal
        }
    }

    /// The format of a finding's figure (expected, actual, difference,
    /// tolerance) in every workbook: a year stays `2009`, other numbers as
    /// [`Typed::number`].
    pub fn figure(&self, n: f64) -> &Format {
        match figure_format(n) {
            YEAR => &self.year,
            _ => self.number(n),
        }
    }
}

const YEAR: &str = "0";

/// The number format of a finding's figure in every workbook: a year stays
/// `2009` (`0`), other numbers grouped, with decimals only when they have some.
pub fn figure_format(n: f64) -> &'static str {
    if crate::base::format::reads_as_year(n) {
        YEAR
    } else if n.fract() == 0.0 {
        "#,##0"
    } else {
        "#,##0.00"
    }
}

/// Writes a JSON value with its type: an ISO date as a date, a year (in a
/// column that is not summed) as a plain number, other numbers grouped, text
/// as text (never a formula).
pub fn write_value(
    ws: &mut Worksheet,
    row: u32,
    col: u16,
    v: &Value,
    summed: bool,
    typed: &Typed,
    text: impl Fn(&str) -> String,
) -> Result<(), XlsxError> {
    match v {
        Value::Null => Ok(()),
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(0.0);
            if !summed && as_year(v).is_some() {
                ws.write_number_with_format(row, col, x, &typed.year)?;
            } else {
                ws.write_number_with_format(row, col, x, typed.number(x))?;
            }
            Ok(())
        }
        Value::String(s) => {
            if let Some(d) = iso_date(s) {
                ws.write_datetime_with_format(row, col, &d, &typed.date)?;
            } else {
                ws.write_string(row, col, text(s))?;
            }
            Ok(())
        }
        Value::Bool(b) => ws.write_string(row, col, if *b { "oui" } else { "non" }).map(|_| ()),
        other => ws.write_string(row, col, text(&other.to_string())).map(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_relative_to_the_batch_root() {
        let dir = std::env::temp_dir().join(format!("bilan-print-{}", std::process::id()));
        let sub = dir.join("poles");
        std::fs::create_dir_all(&sub).ok();
        let file = sub.join("i-trans.xlsx");
        std::fs::write(&file, b"x").ok();
        let root = batch_root(std::slice::from_ref(&dir));
        assert_eq!(
            display_name(&file.display().to_string(), root.as_deref()),
            "poles/i-trans.xlsx"
        );
        let root = batch_root(std::slice::from_ref(&file));
        assert_eq!(
            display_name(&file.display().to_string(), root.as_deref()),
            "i-trans.xlsx"
        );
        assert_eq!(display_name("/ailleurs/x.xlsx", root.as_deref()), "x.xlsx");
        assert_eq!(display_name("./retours/x.xlsx", None), "retours/x.xlsx");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn dates_and_years() {
        assert!(iso_date("2010-03-31").is_some());
        assert!(iso_date("31/03/2010").is_none());
        assert_eq!(as_year(&serde_json::json!(2009)), Some(2009.0));
        assert_eq!(as_year(&serde_json::json!(17081618)), None);
    }
}
