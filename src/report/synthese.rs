//! The synthesis workbook of a batch (`synthese.xlsx`): one row per file, all
//! findings, the cross-file checks, and one sheet per template with the key
//! figures of every return side by side, with totals.

use rust_xlsxwriter::{Color, Format, FormatAlign, FormatBorder, Url, Workbook, Worksheet, XlsxError};
use serde_json::Value;

use crate::finding::{Counts, Finding};
use crate::outcome::{BatchFinding, Returned, Skipped, Summary};
use crate::pipeline::template::TemplateSet;
use crate::report::palette;
use crate::report::print::{as_year, iso_date, page_setup, row_height, write_value, Names, Typed};

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
    wrap: Format,
    link: Format,
    plain: Format,
    bold: Format,
    typed: Typed,
    total: Typed,
}

impl Formats {
    fn new() -> Self {
        let plain = Format::new().set_align(FormatAlign::Top);
        let total_base = Format::new().set_bold().set_border_top(FormatBorder::Thin);
        Self {
            title: Format::new().set_bold().set_font_size(14),
            header: Format::new()
                .set_bold()
                .set_background_color(Color::RGB(0xD9E1F2))
                .set_border_bottom(FormatBorder::Thin)
                .set_text_wrap()
                .set_align(FormatAlign::Top),
            wrap: Format::new().set_text_wrap().set_align(FormatAlign::Top),
            link: Format::new()
                .set_align(FormatAlign::Top)
                .set_font_color(Color::RGB(0x0563C1))
                .set_underline(rust_xlsxwriter::FormatUnderline::Single),
            typed: Typed::new(&plain),
            bold: total_base.clone(),
            total: Typed::new(&total_base),
            plain,
        }
    }
}

fn headers(ws: &mut Worksheet, row: u32, names: &[&str], f: &Formats) -> Result<(), XlsxError> {
    for (c, h) in names.iter().enumerate() {
        ws.write_string_with_format(row, c as u16, *h, &f.header)?;
    }
    ws.set_row_height(row, 30)?;
    Ok(())
}

fn set_widths(ws: &mut Worksheet, widths: &[f64]) -> Result<(), XlsxError> {
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as u16, *w)?;
    }
    Ok(())
}

fn write_figures(ws: &mut Worksheet, row: u32, col: u16, f: &Finding, fm: &Formats) -> Result<(), XlsxError> {
    for (i, d) in crate::report::figures(f) {
        // A year (ID-002's exercice) reads 2009, not 2 009.
        ws.write_number_with_format(row, col + i as u16, d, fm.typed.figure(d))?;
    }
    Ok(())
}

/// At most `max` characters, with `…` when cut.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    s.chars().take(max - 1).collect::<String>() + "…"
}

/// The organisation shown for a return: none for a template whose
/// « organisation » is its exercice (REPARTITION-POLES: one table per year
/// for every cluster), which the `Exercice` column already gives.
fn organisation<'a>(templates: &TemplateSet, r: &'a impl Returned) -> &'a str {
    let template = r.template().and_then(|t| templates.get(t));
    match template {
        Some(t) if t.organisation.is_some() && t.organisation == t.exercice => "—",
        _ => r.organisation().unwrap_or(""),
    }
}

/// Builds `synthese.xlsx` in memory. File names are shown relative to `root`
/// (the batch's folder, see [`Names`]); every sheet
/// prints landscape, one page wide, with its header row repeated.
#[allow(clippy::too_many_arguments)]
pub fn write(
    summaries: &[Summary],
    skipped: &[Skipped],
    batch: &[BatchFinding],
    templates: &TemplateSet,
    checked_at: chrono::DateTime<chrono::Utc>,
    rule_pack: &str,
    names: &Names,
    campaign: Option<&crate::pipeline::campaign::Campaign>,
) -> Result<Vec<u8>, XlsxError> {
    write_with(
        summaries,
        &mut |i| {
            Ok(std::borrow::Cow::Borrowed(
                summaries.get(i).map_or(&[][..], |s| &s.report.findings),
            ))
        },
        skipped,
        batch,
        templates,
        checked_at,
        rule_pack,
        names,
        campaign,
    )
}

/// [`write`] from what a batch keeps of its returns ([`Returned`]: summaries,
/// or the briefs of a batch), `findings(i)` giving the i-th return's findings.
#[allow(clippy::too_many_arguments)]
pub fn write_with<'f, R: Returned>(
    summaries: &[R],
    findings: &mut dyn FnMut(usize) -> std::io::Result<std::borrow::Cow<'f, [Finding]>>,
    skipped: &[Skipped],
    batch: &[BatchFinding],
    templates: &TemplateSet,
    checked_at: chrono::DateTime<chrono::Utc>,
    rule_pack: &str,
    names: &Names,
    campaign: Option<&crate::pipeline::campaign::Campaign>,
) -> Result<Vec<u8>, XlsxError> {
    let reviewed = summaries.iter().any(|s| s.review().is_some());
    let mut w = Writer::start(
        summaries.len(),
        reviewed,
        skipped,
        templates,
        checked_at,
        rule_pack,
        names,
        campaign,
    )?;
    for (i, s) in summaries.iter().enumerate() {
        let file_findings = findings(i).map_err(XlsxError::IoError)?;
        w.file(s, &file_findings)?;
    }
    w.finish(summaries, batch)
}

const WIDTHS: [f64; 13] = [
    30.0, 17.0, 18.0, 9.0, 11.0, 21.0, 8.0, 14.0, 12.0, 8.0, 40.0, 10.0, 30.0,
];
const FINDING_WIDTHS: [f64; 11] = [28.0, 13.0, 15.0, 14.0, 8.0, 55.0, 12.0, 12.0, 12.0, 10.0, 30.0];

/// `synthese.xlsx` written as a batch goes: [`Writer::start`] writes what is
/// known before any file is checked, [`Writer::file`] each return's row of
/// `Synthèse` and its findings in `Constats` (in input order; the sheets are
/// kept on disk by rust_xlsxwriter's constant-memory mode, so no finding
/// stays in memory), [`Writer::finish`] the totals, the cross-file checks and
/// the key figures. The workbook is the one [`write`] makes, cell for cell.
pub struct Writer<'a> {
    wb: Workbook,
    f: Formats,
    skipped: &'a [Skipped],
    templates: &'a TemplateSet,
    names: &'a Names,
    campaign: Option<&'a crate::pipeline::campaign::Campaign>,
    date: String,
    columns: usize,
    /// Next row of `Synthèse` and of `Constats`.
    row: u32,
    finding_row: u32,
}

impl<'a> Writer<'a> {
    /// The workbook's three first sheets and their heads, for `files` returns
    /// (`reviewed`: with the column of the reviewers' decisions).
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        files: usize,
        reviewed: bool,
        skipped: &'a [Skipped],
        templates: &'a TemplateSet,
        checked_at: chrono::DateTime<chrono::Utc>,
        rule_pack: &str,
        names: &'a Names,
        campaign: Option<&'a crate::pipeline::campaign::Campaign>,
    ) -> Result<Self, XlsxError> {
        use crate::base::messages::{self, column};
        let f = Formats::new();
        let mut wb = Workbook::new();
        // Written after the last file, while nothing else runs: deflate level 1
        // (as the annotated workbooks) rather than 6, a slightly larger file
        // for a fraction of the time.
        wb.set_zip_compression_level(1);

        // Synthèse: one row per input, then the totals the terminal prints.
        let ws = wb.add_worksheet_with_constant_memory()?;
        ws.set_name("Synthèse")?;
        let date = format!("Contrôle du {}", messages::checked_at(checked_at));
        page_setup(ws, 4, "Synthèse du contrôle des retours", &date)?;
        ws.write_string_with_format(0, 0, "Synthèse du contrôle des retours", &f.title)?;
        ws.write_string(
            1,
            0,
            format!(
                "Contrôle du {} — bilan {} — règles {rule_pack}",
                messages::checked_at(checked_at),
                env!("CARGO_PKG_VERSION"),
            ),
        )?;
        let skipped_note = if skipped.is_empty() {
            String::new()
        } else {
            format!(
                " ; {} ignoré{} (pas un classeur, fichier temporaire ou caché), en fin de liste",
                messages::files(skipped.len()),
                if skipped.len() > 1 { "s" } else { "" }
            )
        };
        ws.write_string(
            2,
            0,
            format!(
                "{} contrôlé{}{skipped_note}",
                messages::files(files),
                if files > 1 { "s" } else { "" }
            ),
        )?;
        if let Some(c) = campaign {
            ws.write_string_with_format(
                3,
                0,
                text(&format!(
                    "Campagne « {} » (fichier de campagne SHA-256 {}) — {} : voir sous le tableau",
                    c.name,
                    c.sha256,
                    crate::report::plural(c.overrides.len(), "règle modifiée", "règles modifiées")
                )),
                &Format::new().set_bold(),
            )?;
        }
        let cols = [
            column::FILE,
            column::TEMPLATE,
            column::ORGANISATION,
            "Exercice",
            "Date d'arrêté",
            column::STATUS,
            column::ERRORS,
            column::WARNINGS,
            column::INFOS,
            "Rapport annoté",
            "Premier constat",
            "Justifiés",
            column::DECISION,
        ];
        // The reviewers' decisions, when the desk exports them.
        let cols = if reviewed { &cols[..] } else { &cols[..cols.len() - 1] };
        headers(ws, 4, cols, &f)?;
        let columns = cols.len();

        // Constats: every finding of every file, worded as in the annotated report.
        let ws = wb.add_worksheet_with_constant_memory()?;
        ws.set_name("Constats")?;
        page_setup(ws, 0, "Constats de tous les retours", &date)?;
        let cols = [
            column::FILE,
            column::SEVERITY,
            column::RULE,
            column::SHEET,
            column::CELL,
            column::MESSAGE,
            column::EXPECTED,
            column::ACTUAL,
            column::DIFFERENCE,
            column::TOLERANCE,
            column::JUSTIFICATION,
        ];
        headers(ws, 0, &cols, &f)?;

        // Contrôles croisés: written at the end, once known.
        let ws = wb.add_worksheet_with_constant_memory()?;
        ws.set_name("Contrôles croisés")?;
        Ok(Self {
            wb,
            f,
            skipped,
            templates,
            names,
            campaign,
            date,
            columns,
            row: 5,
            finding_row: 1,
        })
    }

    fn name(&self, path: &str) -> String {
        text(&self.names.file(path))
    }

    /// The next return's row of `Synthèse` and its findings in `Constats`.
    pub fn file(&mut self, r: &impl Returned, findings: &[Finding]) -> Result<(), XlsxError> {
        let (f, names, templates) = (&self.f, self.names, self.templates);
        let name = self.name(r.path());
        let row = self.row;
        let ws = self.wb.worksheet_from_index(0)?;
        let first = r
            .first_finding()
            .map(|(rule, message)| shorten(&format!("{rule} : {}", names.text(message)), 110));
        ws.set_row_height(
            row,
            row_height(&[
                (&name, WIDTHS[0]),
                (organisation(templates, r), WIDTHS[2]),
                (first.as_deref().unwrap_or(""), WIDTHS[10]),
            ]),
        )?;
        ws.write_string_with_format(row, 0, name.clone(), &f.wrap)?;
        ws.write_string_with_format(row, 1, r.template().unwrap_or_default(), &f.plain)?;
        ws.write_string_with_format(row, 2, text(organisation(templates, r)), &f.wrap)?;
        if let Some(e) = r.exercice() {
            match as_year(&Value::String(e.to_string())) {
                Some(y) => ws.write_number_with_format(row, 3, y, &f.typed.year)?,
                None => ws.write_string_with_format(row, 3, text(e), &f.plain)?,
            };
        }
        if let Some(d) = r.cut_off() {
            match iso_date(d) {
                Some(date) => ws.write_datetime_with_format(row, 4, &date, &f.typed.date)?,
                None => ws.write_string_with_format(row, 4, text(d), &f.plain)?,
            };
        }
        let status = r.status();
        ws.write_string_with_format(
            row,
            5,
            status.label_fr(),
            &Format::new()
                .set_align(FormatAlign::Top)
                .set_background_color(Color::RGB(palette::status_colors(status).0))
                .set_bold(),
        )?;
        let c = r.counts();
        ws.write_number_with_format(row, 6, c.error as f64, &f.typed.integer)?;
        ws.write_number_with_format(row, 7, c.warning as f64, &f.typed.integer)?;
        ws.write_number_with_format(row, 8, c.info as f64, &f.typed.integer)?;
        if let Some(a) = r.annotated() {
            ws.write_url_with_format(
                row,
                9,
                Url::new(format!("file:///{}", crate::output::url_path(a))).set_text("ouvrir"),
                &f.link,
            )?;
        }
        if let Some(first) = &first {
            ws.write_string_with_format(row, 10, text(first), &f.wrap)?;
        }
        ws.write_number_with_format(row, 11, c.justified as f64, &f.typed.integer)?;
        if let Some(review) = r.review() {
            ws.write_string_with_format(row, 12, text(&review.describe_fr()), &f.wrap)?;
        }
        self.row += 1;

        let ws = self.wb.worksheet_from_index(1)?;
        let mut row = self.finding_row;
        for fd in findings {
            ws.set_row_height(
                row,
                row_height(&[
                    (&name, FINDING_WIDTHS[0]),
                    (&fd.message, FINDING_WIDTHS[5]),
                    (fd.justification.as_deref().unwrap_or(""), FINDING_WIDTHS[10]),
                ]),
            )?;
            ws.write_string_with_format(row, 0, name.clone(), &f.wrap)?;
            ws.write_string_with_format(row, 1, fd.severity.title_fr(), &f.plain)?;
            ws.write_string_with_format(row, 2, fd.rule.as_str(), &f.plain)?;
            ws.write_string_with_format(row, 3, text(&fd.sheet.clone().unwrap_or_default()), &f.plain)?;
            ws.write_string_with_format(row, 4, fd.cell.map(|c| c.to_string()).unwrap_or_default(), &f.plain)?;
            ws.write_string_with_format(row, 5, text(&names.text(&fd.message)), &f.wrap)?;
            write_figures(ws, row, 6, fd, f)?;
            if let Some(j) = fd.justification.as_ref().filter(|_| fd.is_justified()) {
                ws.write_string_with_format(row, 10, text(j), &f.wrap)?;
            }
            row += 1;
        }
        self.finding_row = row;
        Ok(())
    }

    /// The rest, once every return is written: `summaries` are the same
    /// returns (for the totals and the key figures), `batch` the cross-file
    /// findings. The workbook's bytes.
    pub fn finish<R: Returned>(mut self, summaries: &[R], batch: &[BatchFinding]) -> Result<Vec<u8>, XlsxError> {
        use crate::base::messages::column;
        let f = &self.f;
        let templates = self.templates;
        let names = self.names;
        let name = |path: &str| text(&names.file(path));
        let date = self.date.as_str();
        let cross_counts = Counts::of(&batch.iter().map(|b| b.finding.clone()).collect::<Vec<_>>());
        let columns = self.columns;
        let mut row = self.row;
        let ws = self.wb.worksheet_from_index(0)?;
        let last_file_row = row.saturating_sub(1).max(4);
        // Cross-file findings belong to no file: a row of their own, so that the
        // total below is the terminal's.
        if !batch.is_empty() {
            ws.write_string_with_format(row, 0, "Contrôles croisés (entre fichiers)", &f.plain)?;
            ws.write_number_with_format(row, 6, cross_counts.error as f64, &f.typed.integer)?;
            ws.write_number_with_format(row, 7, cross_counts.warning as f64, &f.typed.integer)?;
            ws.write_number_with_format(row, 8, cross_counts.info as f64, &f.typed.integer)?;
            ws.write_string_with_format(row, 10, "voir la feuille Contrôles croisés", &f.plain)?;
            row += 1;
        }
        let mut total = cross_counts;
        for r in summaries {
            total.add(r.counts());
        }
        ws.write_string_with_format(row, 0, "TOTAL", &f.bold)?;
        for c in 1..columns as u16 {
            ws.write_blank(row, c, &f.bold)?;
        }
        ws.write_number_with_format(row, 6, total.error as f64, &f.total.integer)?;
        ws.write_number_with_format(row, 7, total.warning as f64, &f.total.integer)?;
        ws.write_number_with_format(row, 8, total.info as f64, &f.total.integer)?;
        row += 1;
        ws.write_string(
            row,
            0,
            text(&crate::report::total_line_of(
                summaries.iter().map(Returned::counts),
                cross_counts,
            )),
        )?;
        row += 2;
        for s in self.skipped {
            ws.set_row_height(
                row,
                row_height(&[
                    (&name(&s.path.display().to_string()), WIDTHS[0]),
                    (&s.reason, WIDTHS[10]),
                ]),
            )?;
            ws.write_string_with_format(row, 0, name(&s.path.display().to_string()), &f.wrap)?;
            ws.write_string_with_format(
                row,
                5,
                "Ignoré",
                &Format::new()
                    .set_align(FormatAlign::Top)
                    .set_background_color(Color::RGB(palette::SKIPPED)),
            )?;
            ws.write_string_with_format(row, 10, text(&s.reason), &f.wrap)?;
            row += 1;
        }
        ws.autofilter(4, 0, last_file_row, (columns - 1) as u16)?;
        if let Some(c) = self.campaign {
            // Below the table (rows are written in order): the campaign's decisions.
            row += 1;
            ws.write_string_with_format(row, 0, "Campagne", &f.title)?;
            row += 1;
            for line in c.lines_fr() {
                ws.write_string(row, 0, text(line.trim_start()))?;
                row += 1;
            }
        }
        ws.set_freeze_panes(5, 1)?;
        set_widths(ws, &WIDTHS[..columns])?;

        let ws = self.wb.worksheet_from_index(1)?;
        ws.autofilter(
            0,
            0,
            self.finding_row.saturating_sub(1),
            (FINDING_WIDTHS.len() - 1) as u16,
        )?;
        ws.set_freeze_panes(1, 0)?;
        set_widths(ws, &FINDING_WIDTHS)?;

        // Contrôles croisés.
        let ws = self.wb.worksheet_from_index(2)?;
        page_setup(ws, 0, "Contrôles croisés entre les retours", date)?;
        let cols = [column::RULE, column::SEVERITY, column::FILE, column::MESSAGE];
        headers(ws, 0, &cols, f)?;
        for (i, b) in batch.iter().enumerate() {
            let row = i as u32 + 1;
            ws.set_row_height(
                row,
                row_height(&[
                    (&b.file.as_deref().map(&name).unwrap_or_default(), 34.0),
                    (&b.finding.message, 100.0),
                ]),
            )?;
            ws.write_string_with_format(row, 0, b.finding.rule.as_str(), &f.plain)?;
            ws.write_string_with_format(row, 1, b.finding.severity.title_fr(), &f.plain)?;
            if let Some(file) = &b.file {
                // The cell the finding is about, when a cross-file rule placed it.
                let place = match (&b.finding.sheet, b.finding.cell) {
                    (Some(sheet), Some(cell)) => format!("{} ({sheet}!{cell})", name(file)),
                    _ => name(file),
                };
                ws.write_string_with_format(row, 2, place, &f.wrap)?;
            }
            ws.write_string_with_format(row, 3, text(&names.text(&b.finding.message)), &f.wrap)?;
        }
        if batch.is_empty() {
            ws.write_string(1, 3, "Aucun constat entre fichiers.")?;
        }
        ws.autofilter(0, 0, batch.len().max(1) as u32, 3)?;
        ws.set_freeze_panes(1, 0)?;
        set_widths(ws, &[12.0, 13.0, 34.0, 100.0])?;

        // One sheet per template: key figures side by side, with totals.
        for t in templates.all() {
            let mine: Vec<&R> = summaries
                .iter()
                .filter(|s| s.template() == Some(t.id.as_str()))
                .collect();
            if mine.is_empty() {
                continue;
            }
            let Some(spec) = &t.synthese else {
                continue;
            };
            let labels: Vec<String> = spec.columns.iter().map(|c| c.label.clone()).collect();
            let summed: Vec<bool> = spec.columns.iter().map(|c| c.total).collect();
            let ws = self.wb.add_worksheet_with_constant_memory()?;
            ws.set_name(sheet_name(&t.id))?;
            let title = format!("{} — chiffres clés des retours", t.title);
            page_setup(ws, 3, &title, date)?;
            ws.write_string_with_format(0, 0, text(&title), &f.title)?;
            ws.write_string(
                1,
                0,
                "Les retours non conformes sont inclus ; leur statut est rappelé en dernière colonne.",
            )?;
            let mut head: Vec<&str> = vec![column::FILE];
            head.extend(labels.iter().map(String::as_str));
            head.push(column::STATUS);
            headers(ws, 3, &head, f)?;
            let mut totals = vec![0f64; labels.len()];
            let mut row = 4u32;
            for s in &mine {
                let key_rows = s.key_rows();
                let counted = crate::pipeline::template::annotations::counted_in_total(&t.schema, spec, &key_rows);
                for (values, counted) in key_rows.iter().zip(&counted) {
                    ws.set_row_height(row, row_height(&[(&name(s.path()), 30.0)]))?;
                    ws.write_string_with_format(row, 0, name(s.path()), &f.wrap)?;
                    for (i, v) in values.iter().enumerate() {
                        let is_summed = summed.get(i).copied().unwrap_or(false);
                        write_value(ws, row, i as u16 + 1, v, is_summed, &f.typed, text)?;
                        if is_summed && counted.get(i).copied().unwrap_or(true) {
                            totals[i] += v.as_f64().unwrap_or(0.0);
                        }
                    }
                    ws.write_string_with_format(row, labels.len() as u16 + 1, s.status().label_fr(), &f.plain)?;
                    row += 1;
                }
            }
            let last = row.saturating_sub(1).max(3);
            ws.write_string_with_format(row, 0, "TOTAL", &f.bold)?;
            for (i, total) in totals.iter().enumerate() {
                if summed[i] {
                    ws.write_number_with_format(row, i as u16 + 1, *total, f.total.number(*total))?;
                } else {
                    ws.write_blank(row, i as u16 + 1, &f.bold)?;
                }
            }
            ws.write_blank(row, labels.len() as u16 + 1, &f.bold)?;
            ws.autofilter(3, 0, last, labels.len() as u16 + 1)?;
            ws.set_freeze_panes(4, 1)?;
            ws.set_column_width(0, 30.0)?;
            for (i, label) in labels.iter().enumerate() {
                ws.set_column_width(i as u16 + 1, (label.chars().count() as f64 + 2.0).clamp(10.0, 24.0))?;
            }
            ws.set_column_width(labels.len() as u16 + 1, 14.0)?;
        }
        self.wb.save_to_buffer()
    }
}
