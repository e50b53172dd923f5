//! What the annotated workbook's sheets say that is not a cell: the names of
//! its sheets, texts cut to Excel's limits, links, notes and figures.

use std::collections::HashSet;
use std::path::Path;

use chrono::{DateTime, Utc};
use rust_xlsxwriter::Note;

use super::{ReportError, FINDINGS, MAX_FINDINGS_PER_NOTE, MAX_NOTE, SUMMARY};
use crate::base::format::{capitalise, decimal_fr};
use crate::finding::Finding;
use crate::pipeline::rules::RulePack;

// ---------------------------------------------------------------------------
// Names of the report's sheets.

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

/// Writes `bytes` to `path` atomically (see [`crate::output::save`]).
pub fn save(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    Ok(crate::output::save(path, bytes)?)
}

/// At most `max` UTF-16 code units (Excel's unit), never splitting a character.
pub(in crate::report::xlsx) fn cut_utf16(s: &str, max: usize) -> String {
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
pub(in crate::report::xlsx) fn shorten(s: &str, max: usize) -> String {
    if s.encode_utf16().count() <= max {
        return s.to_string();
    }
    let mut out = cut_utf16(s, max.saturating_sub(1));
    out.push('…');
    out
}

pub(in crate::report::xlsx) fn quote_sheet(name: &str) -> String {
    format!("'{}'", name.replace('\'', "''"))
}

// ---------------------------------------------------------------------------
// Texts shared by the summary, the list and the notes.

pub(in crate::report::xlsx) fn rule_title<'a>(rules: &'a RulePack, id: &str) -> Option<&'a str> {
    rules
        .rule(id)
        .map(|r| r.meta.title.as_str())
        .or_else(|| rules.engine_rule(id).map(|r| r.title.as_str()))
}

pub(in crate::report::xlsx) fn figures_line(f: &Finding) -> Option<String> {
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

pub(in crate::report::xlsx) fn note_text(findings: &[&Finding], rules: &RulePack) -> String {
    let mut blocks = Vec::new();
    for f in findings.iter().take(MAX_FINDINGS_PER_NOTE) {
        let mut b = format!("{} {}", f.severity.title_fr().to_uppercase(), f.rule);
        if let Some(t) = rule_title(rules, f.rule.as_str()) {
            b.push_str(&format!(" — {t}"));
        }
        b.push('\n');
        b.push_str(&f.message);
        if let Some(fig) = figures_line(f) {
            b.push('\n');
            b.push_str(&fig);
        }
        if let Some(j) = f.justification.as_ref().filter(|_| f.is_justified()) {
            b.push_str(&format!("\nJustifié par le déclarant : {j}"));
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

pub(in crate::report::xlsx) fn note_for(findings: &[&Finding], rules: &RulePack) -> Note {
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

pub(in crate::report::xlsx) fn checked_at_fr(checked_at: DateTime<Utc>) -> String {
    crate::base::messages::checked_at(checked_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::xlsx::MAX_TEXT;

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
    fn texts_are_cut_to_excel_limits() {
        let s = "😀".repeat(20_000);
        let cut = shorten(&s, MAX_TEXT);
        assert!(cut.encode_utf16().count() <= MAX_TEXT);
        assert!(cut.ends_with('…'));
        assert_eq!(shorten("court", 10), "court");
    }
}
