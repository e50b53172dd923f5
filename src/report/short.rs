//! One line per finding: `file › Sheet!C7 : erreur POLE-FIN-001 : message`.

use crate::pipeline::check::FileReport;

pub fn render(r: &FileReport) -> String {
    let mut out = String::new();
    for f in &r.findings {
        let place = match (&f.sheet, f.cell) {
            (Some(s), Some(c)) => format!("{} › {s}!{c}", r.path),
            (Some(s), None) => format!("{} › {s}", r.path),
            _ => r.path.clone(),
        };
        let justified = match f.justification.as_ref().filter(|_| f.is_justified()) {
            Some(j) => format!(" [justifié : {j}]"),
            None => String::new(),
        };
        out.push_str(&format!(
            "{place} : {} {} : {}{justified}\n",
            f.severity.label_fr(),
            f.rule,
            f.message.replace(['\n', '\r'], " ")
        ));
    }
    out
}

/// A cross-file finding of a batch: `[file : ]avertissement BATCH-003 : message`.
pub fn cross_line(b: &crate::outcome::BatchFinding) -> String {
    let cell = match (&b.finding.sheet, b.finding.cell) {
        (Some(sheet), Some(cell)) => format!("{sheet}!{cell}"),
        (Some(sheet), None) => sheet.clone(),
        _ => String::new(),
    };
    let place = match (b.file.as_deref(), cell.is_empty()) {
        (Some(f), true) => format!("{} : ", crate::output::neutralise_name(f)),
        (Some(f), false) => format!(
            "{}:{} : ",
            crate::output::neutralise_name(f),
            crate::output::neutralise_name(&cell)
        ),
        (None, _) => String::new(),
    };
    format!(
        "{place}{} {} : {}\n",
        b.finding.severity.label_fr(),
        b.finding.rule,
        crate::output::neutralise(&b.finding.message).replace(['\n', '\r'], " ")
    )
}
