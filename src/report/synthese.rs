//! The synthesis workbook of a batch (`synthese.xlsx`): one row per file, all
//! findings, the cross-file checks, and one sheet per template with the key
//! figures of every return side by side, with totals.

use rust_xlsxwriter::{Color, Format, FormatAlign, FormatBorder, Url, Workbook, Worksheet, XlsxError};
use serde_json::Value;

use crate::finding::Finding;
use crate::outcome::{BatchFinding, Skipped, Summary};
use crate::report::palette;
use crate::template::TemplateSet;

/// Excel's limit on a cell's text.
const MAX_TEXT: usize = 32_767;

fn text(s: &str) -> String {
    if s.chars().count() <= MAX_TEXT {
        return s.to_string();
    }
    s.chars().take(MAX_TEXT - 1).collect::<String>() + "…"
}

/// A sheet name Excel accepts: at most 31 characters, none of `[]:*?/\`.
pub fn sheet_name(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .collect();
    let trimmed = cleaned.trim_matches('\'').to_string();
    let out: String = trimmed.chars().take(31).collect();
    if out.is_empty() {
        "Feuille".into()
    } else {
        out
    }
}

struct Formats {
    title: Format,
    header: Format,
    amount: Format,
    wrap: Format,
    link: Format,
}

impl Formats {
    fn new() -> Self {
        Self {
            title: Format::new().set_bold().set_font_size(14),
            header: Format::new()
                .set_bold()
                .set_background_color(Color::RGB(0xD9E1F2))
                .set_border_bottom(FormatBorder::Thin)
                .set_text_wrap()
                .set_align(FormatAlign::Top),
            amount: Format::new().set_num_format("# ##0.##"),
            wrap: Format::new().set_text_wrap().set_align(FormatAlign::Top),
            link: Format::new()
                .set_font_color(Color::RGB(0x0563C1))
                .set_underline(rust_xlsxwriter::FormatUnderline::Single),
        }
    }
}

fn headers(ws: &mut Worksheet, row: u32, names: &[&str], f: &Formats) -> Result<(), XlsxError> {
    for (c, h) in names.iter().enumerate() {
        ws.write_string_with_format(row, c as u16, *h, &f.header)?;
    }
    Ok(())
}

fn write_value(ws: &mut Worksheet, row: u32, col: u16, v: &Value, f: &Formats) -> Result<(), XlsxError> {
    match v {
        Value::Null => Ok(()),
        Value::Number(n) => match n.as_f64() {
            Some(x) => ws.write_number_with_format(row, col, x, &f.amount).map(|_| ()),
            None => Ok(()),
        },
        Value::Bool(b) => ws.write_boolean(row, col, *b).map(|_| ()),
        Value::String(s) => ws.write_string(row, col, text(s)).map(|_| ()),
        other => ws.write_string(row, col, text(&other.to_string())).map(|_| ()),
    }
}

fn write_figures(ws: &mut Worksheet, row: u32, col: u16, f: &Finding, fm: &Formats) -> Result<(), XlsxError> {
    let nums = [
        f.figures.expected,
        f.figures.actual,
        f.figures.difference,
        f.figures.tolerance,
    ];
    for (i, n) in nums.iter().enumerate() {
        if let Some(d) = n.and_then(|d| d.to_string().parse::<f64>().ok()) {
            ws.write_number_with_format(row, col + i as u16, d, &fm.amount)?;
        }
    }
    Ok(())
}

/// Builds `synthese.xlsx` in memory.
pub fn write(
    summaries: &[Summary],
    skipped: &[Skipped],
    batch: &[BatchFinding],
    templates: &TemplateSet,
    checked_at: chrono::DateTime<chrono::Utc>,
    rule_pack: &str,
) -> Result<Vec<u8>, XlsxError> {
    let f = Formats::new();
    let mut wb = Workbook::new();

    // Synthèse: one row per input.
    let ws = wb.add_worksheet_with_constant_memory()?;
    ws.set_name("Synthèse")?;
    ws.write_string_with_format(0, 0, "Synthèse du contrôle des retours", &f.title)?;
    ws.write_string(
        1,
        0,
        format!(
            "Contrôle du {} — bilan {} — règles {rule_pack} — {} fichier(s)",
            crate::report::json::timestamp(checked_at),
            env!("CARGO_PKG_VERSION"),
            summaries.len() + skipped.len()
        ),
    )?;
    let cols = [
        "Fichier",
        "Modèle",
        "Organisation",
        "Exercice",
        "Date d'arrêté",
        "Statut",
        "Erreurs",
        "Avertissements",
        "Informations",
        "Rapport annoté",
        "Premier constat",
    ];
    headers(ws, 3, &cols, &f)?;
    let mut row = 4u32;
    for s in summaries {
        let r = &s.report;
        ws.write_string(row, 0, text(&r.path))?;
        ws.write_string(row, 1, r.template.clone().unwrap_or_default())?;
        ws.write_string(row, 2, text(&r.organisation.clone().unwrap_or_default()))?;
        ws.write_string(row, 3, r.exercice.clone().unwrap_or_default())?;
        ws.write_string(row, 4, r.cut_off.clone().unwrap_or_default())?;
        let status = r.status();
        ws.write_string_with_format(
            row,
            5,
            status.label_fr(),
            &Format::new()
                .set_background_color(Color::RGB(palette::status_colors(status).0))
                .set_bold(),
        )?;
        let c = r.counts();
        ws.write_number(row, 6, c.error as f64)?;
        ws.write_number(row, 7, c.warning as f64)?;
        ws.write_number(row, 8, c.info as f64)?;
        if let Some(a) = &s.annotated {
            ws.write_url_with_format(row, 9, Url::new(format!("file:///{a}")).set_text("ouvrir"), &f.link)?;
        }
        if let Some(first) = r.findings.first() {
            ws.write_string(row, 10, text(&format!("{} : {}", first.rule, first.message)))?;
        }
        row += 1;
    }
    for s in skipped {
        ws.write_string(row, 0, text(&s.path.display().to_string()))?;
        ws.write_string_with_format(
            row,
            5,
            "Ignoré",
            &Format::new().set_background_color(Color::RGB(palette::SKIPPED)),
        )?;
        ws.write_string(row, 10, text(&s.reason))?;
        row += 1;
    }
    ws.autofilter(3, 0, row.saturating_sub(1).max(3), (cols.len() - 1) as u16)?;
    ws.set_freeze_panes(4, 0)?;
    for (c, w) in [45.0, 18.0, 24.0, 9.0, 12.0, 22.0, 8.0, 14.0, 12.0, 14.0, 80.0]
        .iter()
        .enumerate()
    {
        ws.set_column_width(c as u16, *w)?;
    }

    // Constats: every finding of every file.
    let ws = wb.add_worksheet_with_constant_memory()?;
    ws.set_name("Constats")?;
    let cols = [
        "Fichier",
        "Gravité",
        "Règle",
        "Feuille",
        "Cellule",
        "Message",
        "Attendu",
        "Trouvé",
        "Écart",
        "Tolérance",
    ];
    headers(ws, 0, &cols, &f)?;
    let mut row = 1u32;
    for s in summaries {
        for fd in &s.report.findings {
            ws.write_string(row, 0, text(&s.report.path))?;
            ws.write_string(row, 1, fd.severity.label_fr())?;
            ws.write_string(row, 2, fd.rule.as_str())?;
            ws.write_string(row, 3, text(&fd.sheet.clone().unwrap_or_default()))?;
            ws.write_string(row, 4, fd.cell.map(|c| c.to_string()).unwrap_or_default())?;
            ws.write_string_with_format(row, 5, text(&fd.message), &f.wrap)?;
            write_figures(ws, row, 6, fd, &f)?;
            row += 1;
        }
    }
    ws.autofilter(0, 0, row.saturating_sub(1), (cols.len() - 1) as u16)?;
    ws.set_freeze_panes(1, 0)?;
    for (c, w) in [40.0, 13.0, 15.0, 16.0, 8.0, 90.0, 14.0, 14.0, 14.0, 10.0]
        .iter()
        .enumerate()
    {
        ws.set_column_width(c as u16, *w)?;
    }

    // Contrôles croisés.
    let ws = wb.add_worksheet_with_constant_memory()?;
    ws.set_name("Contrôles croisés")?;
    let cols = ["Règle", "Gravité", "Fichier", "Message"];
    headers(ws, 0, &cols, &f)?;
    for (i, b) in batch.iter().enumerate() {
        let row = i as u32 + 1;
        ws.write_string(row, 0, b.finding.rule.as_str())?;
        ws.write_string(row, 1, b.finding.severity.label_fr())?;
        ws.write_string(row, 2, text(&b.file.clone().unwrap_or_default()))?;
        ws.write_string_with_format(row, 3, text(&b.finding.message), &f.wrap)?;
    }
    if batch.is_empty() {
        ws.write_string(1, 3, "Aucun constat entre fichiers.")?;
    }
    ws.autofilter(0, 0, batch.len().max(1) as u32, 3)?;
    ws.set_freeze_panes(1, 0)?;
    for (c, w) in [12.0, 13.0, 45.0, 100.0].iter().enumerate() {
        ws.set_column_width(c as u16, *w)?;
    }

    // One sheet per template: key figures side by side, with totals.
    for t in &templates.templates {
        let mine: Vec<&Summary> = summaries
            .iter()
            .filter(|s| s.report.template.as_deref() == Some(t.id.as_str()))
            .collect();
        if mine.is_empty() {
            continue;
        }
        let Some(spec) = t.schema.pointer("/x-template/synthese") else {
            continue;
        };
        let columns = spec
            .get("columns")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let labels: Vec<String> = columns
            .iter()
            .map(|c| c.get("label").and_then(Value::as_str).unwrap_or_default().to_string())
            .collect();
        let summed: Vec<bool> = columns
            .iter()
            .map(|c| c.get("total").and_then(Value::as_bool).unwrap_or(false))
            .collect();
        let ws = wb.add_worksheet_with_constant_memory()?;
        ws.set_name(sheet_name(&t.id))?;
        ws.write_string_with_format(
            0,
            0,
            text(&format!("{} — chiffres clés des retours", t.title)),
            &f.title,
        )?;
        ws.write_string(
            1,
            0,
            "Les retours non conformes sont inclus ; leur statut est rappelé en dernière colonne.",
        )?;
        let mut head: Vec<&str> = vec!["Fichier"];
        head.extend(labels.iter().map(String::as_str));
        head.push("Statut");
        headers(ws, 3, &head, &f)?;
        let mut totals = vec![0f64; labels.len()];
        let mut row = 4u32;
        for s in &mine {
            for values in &s.key_rows {
                ws.write_string(row, 0, text(&s.report.path))?;
                for (i, v) in values.iter().enumerate() {
                    write_value(ws, row, i as u16 + 1, v, &f)?;
                    if summed.get(i).copied().unwrap_or(false) {
                        totals[i] += v.as_f64().unwrap_or(0.0);
                    }
                }
                ws.write_string(row, labels.len() as u16 + 1, s.report.status().label_fr())?;
                row += 1;
            }
        }
        let bold = Format::new().set_bold().set_border_top(FormatBorder::Thin);
        let bold_amount = Format::new()
            .set_bold()
            .set_border_top(FormatBorder::Thin)
            .set_num_format("# ##0.##");
        ws.write_string_with_format(row, 0, "TOTAL", &bold)?;
        for (i, total) in totals.iter().enumerate() {
            if summed[i] {
                ws.write_number_with_format(row, i as u16 + 1, *total, &bold_amount)?;
            }
        }
        ws.autofilter(3, 0, row.saturating_sub(1).max(3), labels.len() as u16 + 1)?;
        ws.set_freeze_panes(4, 1)?;
        ws.set_column_width(0, 40.0)?;
        for (i, label) in labels.iter().enumerate() {
            ws.set_column_width(i as u16 + 1, (label.chars().count() as f64 + 2.0).clamp(10.0, 28.0))?;
        }
    }
    wb.save_to_buffer()
}
