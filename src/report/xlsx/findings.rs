//! The `Constats` sheet of the annotated workbook: one row per finding, worst
//! first, each with a link to its cell.

use super::look::{Link, Look, Sink, Valign};
use super::summary::text_height;
use super::{rule_title, shorten, Mark, ReportError, MAX_LINKS_PER_SHEET, MAX_ROWS, MAX_TEXT};
use crate::finding::Finding;
use crate::pipeline::rules::RulePack;

pub(super) fn write(
    ws: &mut dyn Sink,
    rules: &RulePack,
    findings: &[&Finding],
    target: &dyn Fn(&Finding) -> Option<String>,
    suivi: Option<super::SuiviOf>,
) -> Result<(), ReportError> {
    let header = Look::new()
        .bold()
        .color(0xFFFFFF)
        .fill(0x1F3864)
        .wrap()
        .valign(Valign::Center);
    let text = Look::new().valign(Valign::Top);
    let wrap = text.wrap();
    let link = text.color(0x0563C1).underline();
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
        ws.text(0, i as u16, name, &header)?;
        ws.width(i as u16, *width)?;
    }
    ws.height(0, 20.0)?;
    ws.header_row()?;
    ws.print_setup(true);
    let max_rows = (MAX_ROWS - 2) as usize;
    let mut row: u32 = 1;
    for (i, f) in findings.iter().enumerate() {
        if i >= max_rows {
            ws.text(
                row,
                5,
                &format!(
                    "… et {} autres constats non listés (limite d'Excel).",
                    findings.len() - i
                ),
                &Look::new(),
            )?;
            break;
        }
        let severity = text.bold().marked(Mark {
            severity: f.severity,
            strong: true,
        });
        ws.text(row, 0, f.severity.title_fr(), &severity)?;
        ws.text(row, 1, &shorten(f.rule.as_str(), MAX_TEXT), &text)?;
        ws.text(
            row,
            2,
            &shorten(rule_title(rules, f.rule.as_str()).unwrap_or(""), MAX_TEXT),
            &wrap,
        )?;
        ws.text(row, 3, &shorten(f.sheet.as_deref().unwrap_or(""), MAX_TEXT), &text)?;
        // The cell in question, as a link that jumps to it; the range it belongs to as a tip.
        if let Some(cell) = f.cell {
            let place = cell.to_string();
            match target(f).filter(|_| i < MAX_LINKS_PER_SHEET) {
                Some(sheet) => {
                    let tip = match f.range {
                        Some(r) => format!("Aller à la cellule (constat sur la plage {r})"),
                        None => "Aller à la cellule".to_string(),
                    };
                    let to = Link {
                        sheet: &sheet,
                        cell: &place,
                        text: &place,
                        tip: Some(&tip),
                    };
                    ws.link(row, 4, &to, &link)?;
                }
                None => ws.text(row, 4, &place, &text)?,
            }
        }
        ws.text(row, 5, &shorten(&f.message, MAX_TEXT), &wrap)?;
        let title_height = text_height(rule_title(rules, f.rule.as_str()).unwrap_or(""), 36.0);
        let justification = f.justification.as_deref().filter(|_| f.is_justified());
        if let Some(j) = justification {
            ws.text(row, 10, &shorten(j, MAX_TEXT), &wrap)?;
        }
        if let Some(s) = suivi.and_then(|s| s(f)) {
            ws.text(row, 11, s.label_fr(), &text)?;
        }
        let justification_height = text_height(justification.unwrap_or(""), 50.0);
        ws.height(
            row,
            text_height(&f.message, 70.0)
                .max(title_height)
                .max(justification_height),
        )?;
        for (k, x) in crate::report::figures(f) {
            ws.number(row, 6 + k as u16, x, &text.num(crate::report::print::figure_format(x)))?;
        }
        row += 1;
    }
    ws.autofilter(row.saturating_sub(1), (columns.len() - 1) as u16)
}
