//! The `Constats` sheet of the annotated workbook: one row per finding, worst
//! first, each with a link to its cell.

use std::collections::HashMap;

use rust_xlsxwriter::{Format, FormatAlign, FormatUnderline, Worksheet};

use super::styles::mark_format;
use super::summary::text_height;
use super::{
    internal_link, rule_title, shorten, to_f64, Mark, ReportError, A4, MAX_LINKS_PER_SHEET, MAX_ROWS, MAX_TEXT,
};
use crate::finding::{Finding, Severity};
use crate::pipeline::rules::RulePack;

pub(super) fn write(
    ws: &mut Worksheet,
    rules: &RulePack,
    findings: &[&Finding],
    target: &dyn Fn(&Finding) -> Option<String>,
    suivi: Option<super::SuiviOf>,
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
    let figure_formats = crate::report::print::Typed::new(&text);
    let mut columns: Vec<(&str, f64)> = vec![
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
        ("Justification", 50.0),
    ];
    if suivi.is_some() {
        columns.push(("Suivi", 16.0));
    }
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
        ws.write_string_with_format(row, 0, f.severity.title_fr(), &severity_formats[&f.severity])?;
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
        let justification = f.justification.as_deref().filter(|_| f.is_justified());
        if let Some(j) = justification {
            ws.write_string_with_format(row, 10, shorten(j, MAX_TEXT), &wrap)?;
        }
        if let Some(s) = suivi.and_then(|s| s(f)) {
            ws.write_string_with_format(row, 11, s.label_fr(), &text)?;
        }
        let justification_height = text_height(justification.unwrap_or(""), 50.0);
        ws.set_row_height(
            row,
            text_height(&f.message, 70.0)
                .max(title_height)
                .max(justification_height),
        )?;
        let figures = [
            f.figures.expected,
            f.figures.actual,
            f.figures.difference,
            f.figures.tolerance,
        ];
        for (k, fig) in figures.into_iter().enumerate() {
            if let Some(x) = fig.and_then(to_f64) {
                ws.write_number_with_format(row, 6 + k as u16, x, figure_formats.figure(x))?;
            }
        }
        row += 1;
    }
    ws.autofilter(0, 0, row.saturating_sub(1), (columns.len() - 1) as u16)?;
    Ok(())
}
