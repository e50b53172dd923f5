//! Markdown as a terminal shows it (`bilan explain`, `bilan rules`).

/// Markdown as a terminal shows it: headings underlined, `**` and backticks
/// gone, tables aligned on their columns (widths in characters), code blocks
/// indented.
pub fn for_terminal(md: &str) -> String {
    let lines: Vec<&str> = md.lines().collect();
    let mut out = String::new();
    let mut i = 0;
    let mut in_code = false;
    while i < lines.len() {
        let line = lines[i];
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            i += 1;
            continue;
        }
        if in_code {
            out.push_str(&format!("    {line}\n"));
            i += 1;
            continue;
        }
        if line.trim_start().starts_with('|') {
            let mut rows: Vec<Vec<String>> = Vec::new();
            while i < lines.len() && lines[i].trim_start().starts_with('|') {
                let cells: Vec<String> = lines[i]
                    .trim()
                    .trim_matches('|')
                    .split('|')
                    .map(|c| inline_plain(c.trim()))
                    .collect();
                let separator = cells
                    .iter()
                    .all(|c| !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':' | ' ')));
                if !separator {
                    rows.push(cells);
                }
                i += 1;
            }
            out.push_str(&aligned(&rows));
            continue;
        }
        let hashes = line.chars().take_while(|c| *c == '#').count();
        if hashes > 0 && line[hashes..].starts_with(' ') {
            let title = inline_plain(line[hashes..].trim());
            let rule = if hashes == 1 { '═' } else { '─' };
            out.push_str(&format!(
                "{title}\n{}\n",
                rule.to_string().repeat(title.chars().count())
            ));
        } else {
            out.push_str(&inline_plain(line));
            out.push('\n');
        }
        i += 1;
    }
    out
}

/// A line without inline Markdown: `**gras**`, `` `code` ``, `\|`.
pub(super) fn inline_plain(s: &str) -> String {
    s.replace("**", "").replace('`', "").replace("\\|", "|")
}

/// Rows aligned on their columns, the first one (the header) underlined.
pub(super) fn aligned(rows: &[Vec<String>]) -> String {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..n)
        .map(|c| {
            rows.iter()
                .map(|r| r.get(c).map_or(0, |x| x.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (k, row) in rows.iter().enumerate() {
        let cells: Vec<String> = (0..n)
            .map(|c| {
                let v = row.get(c).map(String::as_str).unwrap_or("");
                format!("{v}{}", " ".repeat(widths[c] - v.chars().count()))
            })
            .collect();
        out.push_str(&format!("  {}\n", cells.join("  ").trim_end()));
        if k == 0 && rows.len() > 1 {
            let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
            out.push_str(&format!("  {}\n", rule.join("  ")));
        }
    }
    out
}

/// A table of an example: its sheet, column labels and rows.
pub(super) type Excerpt = (String, Vec<String>, Vec<Vec<String>>);
