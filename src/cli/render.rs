//! How the binary shows what stops a run: a rule or a campaign file in error,
//! with its line marked (miette); the terminal's width and colours.

use bilan::pipeline::campaign::CampaignError;
use bilan::pipeline::rules::RuleError;
use std::io::IsTerminal;
use std::path::Path;

pub fn render_rule_error(e: &RuleError) -> String {
    render_source_error(
        &e.path,
        e.line,
        e.column,
        &e.message,
        &e.source_text,
        "règle invalide",
        "bilan::rule-compile",
    )
}

pub fn render_campaign_error(e: &CampaignError) -> String {
    render_source_error(
        &e.path,
        e.line,
        e.column,
        &e.message,
        &e.source_text,
        "fichier de campagne invalide",
        "bilan::campagne",
    )
}

/// `file:line:column: erreur : message`, then the line with the place marked.
pub fn render_source_error(
    path: &Path,
    line: usize,
    column: usize,
    message: &str,
    source_text: &str,
    what: &str,
    code: &str,
) -> String {
    use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource};
    let mut out = format!("{}:{line}:{column}: erreur : {message}\n", path.display());
    if source_text.is_empty() {
        return out;
    }
    let offset = line_col_offset(source_text, line, column);
    let diag = MietteDiagnostic::new(format!("{what} : {message}"))
        .with_code(code.to_string())
        .with_label(LabeledSpan::at(offset..offset + 1, "ici"));
    let report = miette::Report::new(diag)
        .with_source_code(NamedSource::new(path.display().to_string(), source_text.to_string()));
    let theme = if color_enabled(false) {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let _ = GraphicalReportHandler::new_themed(theme)
        .with_links(false)
        .render_report(&mut out, report.as_ref());
    out
}

pub fn line_col_offset(text: &str, line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            let col = l
                .char_indices()
                .nth(column.saturating_sub(1))
                .map(|(b, _)| b)
                .unwrap_or(0);
            return (offset + col).min(text.len().saturating_sub(1));
        }
        offset += l.len();
    }
    0
}

/// The terminal's width in columns (`COLUMNS`, else 100 when not on a terminal).
pub fn terminal_width() -> usize {
    if let Some((terminal_size::Width(w), _)) = terminal_size::terminal_size() {
        return usize::from(w).max(60);
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
        .filter(|w| *w >= 40)
        .unwrap_or(100)
}

pub fn color_enabled(no_color: bool) -> bool {
    !no_color && std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
}
