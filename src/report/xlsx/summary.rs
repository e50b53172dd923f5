//! The `Synthèse` sheet of the annotated workbook: who sent what, the verdict,
//! counts, why nothing is shown, findings without a cell, the legend, links.

use chrono::{DateTime, Utc};
use unicode_width::UnicodeWidthStr;

use super::look::{Align, Line, Link, Look, Sink, Valign};
use super::{checked_at_fr, shorten, Mark, ReportError, FINDINGS, MAX_LINKS_PER_SHEET, MAX_SUMMARY_LIST, MAX_TEXT};
use crate::base::values::{DateInterval, Precision};
use crate::finding::{Finding, Severity, Status};
use crate::pipeline::check::FileReport;
use crate::pipeline::read::Sheet;
use crate::pipeline::rules::RulePack;
use crate::report::palette::status_colors;

#[allow(clippy::too_many_arguments)]
pub(super) fn write(
    ws: &mut dyn Sink,
    report: &FileReport,
    rules: &RulePack,
    checked_at: DateTime<Utc>,
    findings: &[&Finding],
    sheets: &[Sheet],
    names: &[String],
    follow_up: Option<&super::FollowUp>,
    origin: Option<&str>,
) -> Result<(), ReportError> {
    let file_name = super::file_name(&report.path);
    let title = Look::new().bold().size(16).color(0x1F3864);
    let subtitle = Look::new().italic().color(0x595959).wrap().valign(Valign::Top);
    let heading = Look::new().bold().size(12).color(0x1F3864).underlined_by(Line::Thin);
    let label = Look::new().bold().valign(Valign::Top);
    let value = Look::new().wrap().align(Align::Left).valign(Valign::Top);
    let date = value.num("dd/mm/yyyy");
    let link = Look::new().color(0x0563C1).underline().valign(Valign::Top);
    let centered = Look::new().bold().align(Align::Center);

    // Labels in A, short values in B, long texts across B:C.
    ws.width(0, 24.0)?;
    ws.width(1, 16.0)?;
    ws.width(2, 62.0)?;
    ws.print_setup(false);
    ws.height(0, 24.0)?;
    ws.text(
        0,
        0,
        &shorten(&format!("Rapport de contrôle — {file_name}"), MAX_TEXT),
        &title,
    )?;
    ws.height(1, 30.0)?;
    ws.merged(
        1,
        0,
        2,
        "Le retour a été contrôlé par bilan. Chaque constat est listé dans la feuille « Constats » et marqué sur sa \
         cellule dans les feuilles du retour, à la suite : survolez une cellule marquée pour lire sa note.",
        &subtitle,
    )?;

    // A label and a text across B:C.
    let wide = |ws: &mut dyn Sink, row: u32, text: &str, look: &Look| -> Result<(), ReportError> {
        ws.merged(row, 1, 2, &shorten(text, MAX_TEXT), look)
    };
    let mut row: u32 = 3;
    let line = |ws: &mut dyn Sink, row: &mut u32, name: &str, text: &str| -> Result<(), ReportError> {
        ws.text(*row, 0, name, &label)?;
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
    ws.text(row, 0, "Date d'arrêté", &label)?;
    match report.cut_off.as_deref().map(|c| (c, DateInterval::from_canonical(c))) {
        Some((_, Some(d))) if d.precision == Precision::Day && d.to_excel_serial() >= 1.0 => {
            ws.number(row, 1, d.to_excel_serial(), &date)?;
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
    if let Some(origin) = origin {
        ws.height(row, 45.0)?;
        line(ws, &mut row, "Classeur annoté", origin)?;
    }

    // The verdict, then the counts.
    row += 1;
    let status = report.status();
    let (bg, fg) = status_colors(status);
    let status_look = Look::new()
        .bold()
        .size(14)
        .fill(bg)
        .color(fg)
        .frame(Line::Medium, Some(fg))
        .align(Align::Center)
        .valign(Valign::Center);
    ws.text(row, 0, "Statut", &label.size(14).valign(Valign::Center))?;
    ws.merged(row, 1, 2, status.label_fr(), &status_look)?;
    ws.height(row, 26.0)?;
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
        let look = if n > 0 {
            centered.marked(Mark { severity, strong: true })
        } else {
            centered
        };
        count_line(ws, row, name, n, (n > 0).then_some(hint), [&label, &look, &value])?;
        row += 1;
    }
    if counts.justified > 0 {
        count_line(
            ws,
            row,
            "dont justifiés",
            counts.justified,
            Some(
                "avertissements et informations expliqués dans la feuille « Justifications » du retour : ils ne comptent pas pour le statut",
            ),
            [&label, &centered, &value],
        )?;
        ws.height(row, 30.0)?;
        row += 1;
    }

    // What changed since the previous submission (`bilan diff --report`).
    if let Some(fu) = follow_up {
        row += 1;
        section(ws, row, "Suivi depuis la version précédente", &heading)?;
        row += 1;
        line(ws, &mut row, "Version précédente", fu.previous)?;
        let d = fu.diff;
        let counts = [
            d.corriges.len(),
            d.nouveaux.len(),
            d.toujours_presents.len(),
            d.justifies.len(),
            d.valeurs_modifiees.len(),
        ];
        for (&(name, hint), n) in FOLLOW_UP_LINES.iter().zip(counts) {
            count_line(ws, row, name, n, Some(hint), [&label, &centered, &value])?;
            row += 1;
        }
        for c in d.valeurs_modifiees.iter().take(MAX_SUMMARY_LIST) {
            let cell = |p: &Option<crate::diff::Place>| p.as_ref().map_or_else(|| "—".to_string(), ToString::to_string);
            let val = crate::report::diff::value_fr;
            ws.text(row, 0, &shorten(&cell(&c.new_place), MAX_TEXT), &value)?;
            let text = format!(
                "{} → {} (avant : {} {})",
                val(&c.old_value),
                val(&c.new_value),
                cell(&c.old_place),
                c.pointer
            );
            wide(ws, row, &text, &value)?;
            row += 1;
        }
    }

    // The campaign the rules ran under: which rules it switched off or changed, and why.
    if let Some(c) = &rules.campaign {
        row += 1;
        section(ws, row, "Campagne", &heading)?;
        row += 1;
        line(ws, &mut row, "Campagne", &c.name)?;
        if let Some(e) = c.exercice {
            line(ws, &mut row, "Exercice attendu", &e.to_string())?;
        }
        if let Some(d) = c.cut_off {
            line(ws, &mut row, "Date d'arrêté attendue", &d.display_fr())?;
        }
        line(ws, &mut row, "Fichier de campagne", &format!("SHA-256 {}", c.sha256))?;
        if c.overrides.is_empty() {
            line(ws, &mut row, "Règles modifiées", "aucune")?;
        }
        for o in &c.overrides {
            let text = o.describe_fr();
            ws.text(row, 0, &o.rule, &label)?;
            wide(ws, row, &text, &value)?;
            ws.height(row, text_height(&text, 78.0))?;
            row += 1;
        }
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
        let warn = value.bold().fill(bg).color(fg);
        ws.text(row, 0, "Motif", &label)?;
        wide(ws, row, &why, &warn)?;
        ws.height(row, text_height(&why, 78.0))?;
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
            let sample = label.marked(Mark {
                severity: f.severity,
                strong: true,
            });
            ws.text(row, 0, &format!("{} {}", f.severity.title_fr(), f.rule), &sample)?;
            let place = f
                .sheet
                .as_ref()
                .map(|s| format!(" (feuille « {s} »)"))
                .unwrap_or_default();
            let text = format!("{}{place}", f.message);
            wide(ws, row, &text, &value)?;
            ws.height(row, text_height(&text, 78.0))?;
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
        let center = Look::new().align(Align::Center);
        let strong = center.marked(Mark { severity, strong: true });
        let weak = center.marked(Mark {
            severity,
            strong: false,
        });
        ws.text(row, 0, severity.title_fr(), &strong)?;
        ws.text(row, 1, "même ligne", &weak)?;
        ws.text(row, 2, &format!("Cellule en cause : {what}."), &value)?;
        row += 1;
    }
    row = paragraphs(
        ws,
        row,
        &[
        "Fond soutenu et cadre épais : la cellule en cause. Fond clair et cadre fin : le reste de la ligne ou de la \
         plage sur laquelle porte le constat.",
        "La cellule en cause porte une note (triangle rouge dans son coin) : règle, message, valeurs attendue et \
         constatée. Un fond coloré sans cadre vient du fichier d'origine : ce n'est pas un constat.",
    ],
        &value,
    )?;

    // Comply or explain.
    row += 1;
    section(ws, row, "Justifier un constat", &heading)?;
    row += 1;
    row = paragraphs(
        ws,
        row,
        &[
        "Un avertissement ou une information exacts (un résultat loin de son objectif une année de crise, par \
         exemple) peuvent être justifiés au lieu d'être corrigés : ne modifiez pas un chiffre juste.",
        "Dans la feuille « Justifications » de votre retour (la dernière du modèle vierge ; ajoutez-la sinon, avec \
         les en-têtes Règle | Cellule | Justification), recopiez pour chaque constat la règle et la cellule données \
         par la feuille « Constats » (par exemple PROG-OBJ-001 et Objectifs!E7), écrivez votre explication, puis \
         renvoyez le retour.",
        "Le constat reste affiché, marqué « justifié » avec votre texte, et ne compte plus pour le statut. Les \
         erreurs ne se justifient pas : elles se corrigent.",
    ],
        &value,
    )?;

    // Where to go next.
    row += 1;
    section(ws, row, "Feuilles", &heading)?;
    row += 1;
    ws.link(
        row,
        0,
        &Link {
            sheet: FINDINGS,
            cell: "A1",
            text: FINDINGS,
            tip: None,
        },
        &link,
    )?;
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
        ws.link(
            row,
            0,
            &Link {
                sheet: name,
                cell: "A1",
                text: name,
                tip: None,
            },
            &link,
        )?;
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

/// The lines of the follow-up block: what is counted, and what it means.
const FOLLOW_UP_LINES: [(&str, &str); 5] = [
    ("Corrigés", "constats de la version précédente qui ont disparu"),
    (
        "Nouveaux",
        "constats apparus dans cette version (colonne « Suivi » de « Constats »)",
    ),
    ("Toujours présents", "constats déjà signalés dans la version précédente"),
    ("Justifiés", "constats expliqués dans la feuille « Justifications »"),
    ("Valeurs modifiées", "valeurs différentes de la version précédente"),
];

/// Paragraphs across A:C, one a row, from `row`; returns the row after them.
fn paragraphs(ws: &mut dyn Sink, mut row: u32, texts: &[&str], look: &Look) -> Result<u32, ReportError> {
    for text in texts {
        ws.merged(row, 0, 2, text, look)?;
        ws.height(row, text_height(text, 102.0))?;
        row += 1;
    }
    Ok(row)
}

/// A section title across A:C.
fn section(ws: &mut dyn Sink, row: u32, text: &str, look: &Look) -> Result<(), ReportError> {
    ws.text(row, 0, text, look)?;
    ws.blank(row, 1, look)?;
    ws.blank(row, 2, look)
}

/// A label, a count and what it means (`looks`: of the three cells).
fn count_line(
    ws: &mut dyn Sink,
    row: u32,
    name: &str,
    n: usize,
    hint: Option<&str>,
    looks: [&Look; 3],
) -> Result<(), ReportError> {
    ws.text(row, 0, name, looks[0])?;
    ws.number(row, 1, n as f64, looks[1])?;
    match hint {
        Some(h) => ws.text(row, 2, h, looks[2]),
        None => Ok(()),
    }
}

/// The height (points) of a row whose wrapped text is `text` in a column `width`
/// characters wide: neither Excel nor LibreOffice grow rows of a new file.
pub(super) fn text_height(text: &str, width: f64) -> f64 {
    let per_line = (width * 1.1).max(1.0);
    let lines: f64 = text
        .lines()
        .map(|l| (l.width() as f64 / per_line).ceil().max(1.0))
        .sum();
    (lines.clamp(1.0, 27.0) * 15.0).max(15.0)
}
