//! Reporters: one output model ([`crate::pipeline::check::FileReport`]), several printers.

pub mod diff;
pub mod human;
pub mod json;
pub mod palette;
pub mod print;
pub mod short;
pub mod synthese;
pub mod xlsx;

use crate::finding::{Counts, Finding};
use crate::pipeline::check::FileReport;

/// Neutralises the text of a report that came from the submitted file (its
/// name, sheet names, values quoted in messages) before it is shown on a
/// terminal: no raw ESC, BEL or bidirectional override.
pub fn terminal_safe(r: &mut FileReport) {
    let fix = |s: &mut String| {
        if let std::borrow::Cow::Owned(safe) = crate::output::neutralise(s) {
            *s = safe;
        }
    };
    // A name cannot break a line: « a\n— Conforme.xlsx » stays on one line.
    let fix_name = |s: &mut String| {
        if let std::borrow::Cow::Owned(safe) = crate::output::neutralise_name(s) {
            *s = safe;
        }
    };
    fix_name(&mut r.path);
    for s in [
        &mut r.template,
        &mut r.organisation,
        &mut r.exercice,
        &mut r.cut_off,
        &mut r.template_version,
    ]
    .into_iter()
    .flatten()
    {
        fix(s);
    }
    for f in &mut r.findings {
        fix(&mut f.message);
        if let Some(s) = &mut f.sheet {
            fix_name(s);
        }
        if let Some(j) = &mut f.justification {
            fix(j);
        }
    }
    if let Some(wb) = &mut r.workbook {
        let sheets = std::mem::take(&mut wb.sheets);
        wb.sheets = sheets
            .into_iter()
            .map(|s| {
                let name = crate::output::neutralise_name(&s.name).into_owned();
                if name == s.name {
                    s
                } else {
                    crate::pipeline::read::Sheet::new(name, s.cells().to_vec(), s.merges.clone())
                }
            })
            .collect();
    }
}

/// French plural helper: `0 erreur`, `1 erreur`, `2 erreurs` (see [`crate::base::messages`]).
/// A finding's figures (expected, actual, difference, tolerance) that are
/// numbers, with their position in that order: what every workbook writes.
pub fn figures(f: &Finding) -> impl Iterator<Item = (usize, f64)> {
    [
        f.figures.expected,
        f.figures.actual,
        f.figures.difference,
        f.figures.tolerance,
    ]
    .into_iter()
    .enumerate()
    .filter_map(|(i, d)| Some((i, d?.to_string().parse::<f64>().ok().filter(|x| x.is_finite())?)))
}

pub fn plural(n: usize, one: &str, many: &str) -> String {
    crate::base::messages::plural(n, one, many)
}

/// `5 erreurs, 1 avertissement, 0 information` (`, dont 1 justifié` when the
/// submitter justified some).
pub fn counts_fr(c: Counts) -> String {
    let justified = if c.justified > 0 {
        format!(", dont {}", plural(c.justified, "justifié", "justifiés"))
    } else {
        String::new()
    };
    format!("{}{justified}", c.label_fr())
}

/// The campaign a run applies, for the terminal: its name, fingerprint, and the
/// rules it switched off or changed with their reasons (`None` without one).
pub fn campaign_block(rules: &crate::pipeline::rules::RulePack) -> Option<String> {
    let c = rules.campaign.as_ref()?;
    let mut out = c.lines_fr().join("\n");
    out.push('\n');
    Some(out)
}

/// The one-line summary of a file.
pub fn summary_line(r: &FileReport) -> String {
    line_of(
        &r.path,
        r.template.as_deref(),
        r.organisation.as_deref(),
        || r.findings.iter().any(crate::outcome::brief::is_io_finding),
        r.counts(),
    )
}

/// [`summary_line`] of what a batch keeps of a return.
pub fn summary_line_of(r: &impl crate::outcome::Returned) -> String {
    line_of(r.path(), r.template(), r.organisation(), || r.unreadable(), r.counts())
}

/// [`summary_line_of`] for the terminal, its text from the file neutralised
/// as [`terminal_safe`] does.
pub fn terminal_line_of(r: &impl crate::outcome::Returned) -> String {
    let path = crate::output::neutralise_name(r.path());
    let template = r.template().map(crate::output::neutralise);
    let organisation = r.organisation().map(crate::output::neutralise);
    line_of(
        &path,
        template.as_deref(),
        organisation.as_deref(),
        || r.unreadable(),
        r.counts(),
    )
}

fn line_of(
    path: &str,
    template: Option<&str>,
    organisation: Option<&str>,
    unreadable: impl FnOnce() -> bool,
    counts: Counts,
) -> String {
    let what = match (template, organisation) {
        (Some(t), Some(o)) => format!("{t}, {o}"),
        (Some(t), None) => t.to_string(),
        _ if unreadable() => "fichier illisible".to_string(),
        _ => "modèle non reconnu".to_string(),
    };
    format!(
        "{path} : {what} — {} ({})",
        crate::finding::Status::of(counts).label_fr(),
        counts_fr(counts)
    )
}

/// The final line over all files.
pub fn total_line(reports: &[FileReport]) -> String {
    total_line_with(reports, Counts::default())
}

/// The final line over all files, with the findings that belong to no file
/// (a batch's cross-file checks) counted in the total.
pub fn total_line_with<R: std::borrow::Borrow<FileReport>>(reports: &[R], cross_file: Counts) -> String {
    total_line_of(reports.iter().map(|r| r.borrow().counts()), cross_file)
}

/// [`total_line_with`] from each file's counts.
pub fn total_line_of(counts: impl Iterator<Item = Counts>, cross_file: Counts) -> String {
    let mut total = cross_file;
    let mut by_status = [0usize; 3];
    let mut files = 0;
    for c in counts {
        files += 1;
        total.add(c);
        by_status[match crate::finding::Status::of(c) {
            crate::finding::Status::Conforme => 0,
            crate::finding::Status::ConformeAvecReserves => 1,
            crate::finding::Status::NonConforme => 2,
        }] += 1;
    }
    let cross = cross_file.error + cross_file.warning + cross_file.info;
    let cross = if cross > 0 {
        format!(" (dont {} entre fichiers)", plural(cross, "constat", "constats"))
    } else {
        String::new()
    };
    format!(
        "Total : {} — {} — {}{cross}",
        crate::base::messages::files(files),
        crate::base::messages::statuses(by_status[0], by_status[1], by_status[2]),
        counts_fr(total)
    )
}
