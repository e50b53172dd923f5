//! A submitted sheet with flagged cells: only the `s` attribute of those
//! cells changes (a flagged cell absent from the XML is inserted in order),
//! and a `legacyDrawing` is added when the sheet gets its first notes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use quick_xml::events::BytesStart;

use super::styles::Styles;
use super::xml::{attr, check_root, retag, Spans, Tag};
use super::{refusal, Refusal};
use crate::base::model::{column_letters, CellRef};
use crate::report::xlsx::Mark;

/// A cell reference `B12` → (row, col), zero-based, without allocating.
pub(super) fn parse_ref(r: &str) -> Option<(u32, u32)> {
    let b = r.as_bytes();
    let split = b.iter().position(|c| c.is_ascii_digit())?;
    if split == 0 || split > 3 {
        return None;
    }
    let mut col: u32 = 0;
    for c in &b[..split] {
        if !c.is_ascii_alphabetic() {
            return None;
        }
        col = col * 26 + (c.to_ascii_uppercase() - b'A') as u32 + 1;
    }
    let row: u32 = r[split..].parse().ok()?;
    (row >= 1 && col >= 1).then(|| (row - 1, col - 1))
}

/// Children of `worksheet` that come after `legacyDrawing`, in the schema's order.
pub(super) const AFTER_LEGACY_DRAWING: &[&str] = &[
    "legacyDrawingHF",
    "drawingHF",
    "picture",
    "oleObjects",
    "controls",
    "webPublishItems",
    "tableParts",
    "extLst",
];

pub(super) struct SheetOut {
    pub(super) xml: String,
    /// The `r:id` of the sheet's existing `legacyDrawing`, if any.
    pub(super) legacy: Option<String>,
}

/// Patches one sheet. `legacy`: the `legacyDrawing` element to add when the
/// sheet has none.
pub(super) fn patch_sheet(
    xml: &str,
    marks: &BTreeMap<CellRef, Mark>,
    styles: &mut Styles,
    legacy: Option<&str>,
) -> Result<SheetOut, Refusal> {
    let rel_prefix = check_root(xml, "worksheet")?;
    let marks: Vec<(u32, u32, Mark)> = marks.iter().map(|(c, m)| (c.row, c.col, *m)).collect();
    let mut next = 0usize;
    let mut spans = Spans::new(xml, "feuille");
    let mut out = String::with_capacity(xml.len() + marks.len() * 24);
    let mut copied = 0usize;
    let mut depth = 0usize;
    let mut col_styles: Vec<(u32, u32, u32)> = Vec::new();
    let mut in_data = false;
    let mut data_seen = false;
    let mut row: Option<(u32, Option<u32>)> = None; // (row, row style)
    let mut last_row: Option<u32> = None;
    let mut last_col: Option<u32> = None;
    let mut existing_legacy: Option<String> = None;
    let mut legacy_done = legacy.is_none();

    while let Some((before, ev, after)) = spans.next()? {
        match Tag::of(&ev) {
            Tag::Open(e, empty, name) => {
                if depth == 1 && !legacy_done && AFTER_LEGACY_DRAWING.contains(&name) {
                    out.push_str(&xml[copied..before]);
                    copied = before;
                    out.push_str(legacy.unwrap_or(""));
                    legacy_done = true;
                }
                match name {
                    "col" if depth == 2 => {
                        if let (Some(a), Some(b), Some(s)) = (
                            attr(e, "min").and_then(|v| v.parse::<u32>().ok()),
                            attr(e, "max").and_then(|v| v.parse::<u32>().ok()),
                            attr(e, "style").and_then(|v| v.parse::<u32>().ok()),
                        ) {
                            col_styles.push((a.saturating_sub(1), b.saturating_sub(1), s));
                        }
                    }
                    "sheetData" if depth == 1 => {
                        data_seen = true;
                        if empty {
                            out.push_str(&xml[copied..before]);
                            out.push_str("<sheetData>");
                            new_rows(&mut out, &marks, &mut next, u32::MAX, styles, &col_styles)?;
                            out.push_str("</sheetData>");
                            copied = after;
                        } else {
                            in_data = true;
                        }
                    }
                    "legacyDrawing" if depth == 1 => {
                        legacy_done = true;
                        existing_legacy = e
                            .attributes()
                            .with_checks(false)
                            .filter_map(Result::ok)
                            .find(|a| a.key.local_name().as_ref() == "id")
                            .map(|a| a.value.into_owned());
                    }
                    "row" if in_data && depth == 2 => {
                        let n = attr(e, "r")
                            .and_then(|v| v.trim().parse::<u32>().ok())
                            .map(|n| n.saturating_sub(1))
                            .unwrap_or_else(|| last_row.map_or(0, |l| l + 1));
                        last_row = Some(n);
                        last_col = None;
                        // Marked rows that are missing, before this one.
                        if next < marks.len() && marks[next].0 < n {
                            out.push_str(&xml[copied..before]);
                            copied = before;
                            new_rows(&mut out, &marks, &mut next, n, styles, &col_styles)?;
                        }
                        let custom = attr(e, "customFormat").is_some_and(|v| v == "1" || v == "true");
                        let row_style = custom
                            .then(|| attr(e, "s").and_then(|v| v.parse::<u32>().ok()))
                            .flatten();
                        let has_marks = next < marks.len() && marks[next].0 == n;
                        if empty && has_marks {
                            out.push_str(&xml[copied..before]);
                            let tag = row_tag(e, &marks, next, n);
                            out.push_str(&tag);
                            while next < marks.len() && marks[next].0 == n {
                                let (_, c, m) = marks[next];
                                let base = row_style.unwrap_or_else(|| col_style(&col_styles, c));
                                push_cell(&mut out, n, c, styles.marked(base, m)?);
                                next += 1;
                            }
                            out.push_str("</row>");
                            copied = after;
                        } else if !empty {
                            if has_marks {
                                // Widen `spans` to the cells that may be added.
                                out.push_str(&xml[copied..before]);
                                out.push_str(&row_tag(e, &marks, next, n));
                                copied = after;
                            }
                            row = Some((n, row_style));
                        }
                    }
                    "c" if depth == 3 => {
                        if let Some((n, row_style)) = row {
                            let c = attr(e, "r")
                                .and_then(|v| parse_ref(&v).map(|(_, c)| c))
                                .unwrap_or_else(|| last_col.map_or(0, |l| l + 1));
                            last_col = Some(c);
                            if next < marks.len() && marks[next].0 == n && marks[next].1 < c {
                                out.push_str(&xml[copied..before]);
                                copied = before;
                                while next < marks.len() && marks[next].0 == n && marks[next].1 < c {
                                    let (_, mc, m) = marks[next];
                                    let base = row_style.unwrap_or_else(|| col_style(&col_styles, mc));
                                    push_cell(&mut out, n, mc, styles.marked(base, m)?);
                                    next += 1;
                                }
                            }
                            if next < marks.len() && marks[next].0 == n && marks[next].1 == c {
                                let base = attr(e, "s").and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
                                let s = styles.marked(base, marks[next].2)?;
                                out.push_str(&xml[copied..before]);
                                out.push_str(&retag(e, &[("s", &s.to_string())], &[], empty));
                                copied = after;
                                next += 1;
                            }
                        }
                    }
                    _ => {}
                }
                if !empty {
                    depth += 1;
                }
            }
            Tag::Close(name) => {
                depth = depth.saturating_sub(1);
                match name {
                    "row" if in_data && depth == 2 => {
                        if let Some((n, row_style)) = row.take() {
                            if next < marks.len() && marks[next].0 == n {
                                out.push_str(&xml[copied..before]);
                                copied = before;
                                while next < marks.len() && marks[next].0 == n {
                                    let (_, c, m) = marks[next];
                                    let base = row_style.unwrap_or_else(|| col_style(&col_styles, c));
                                    push_cell(&mut out, n, c, styles.marked(base, m)?);
                                    next += 1;
                                }
                            }
                        }
                    }
                    "sheetData" if depth == 1 => {
                        in_data = false;
                        if next < marks.len() {
                            out.push_str(&xml[copied..before]);
                            copied = before;
                            new_rows(&mut out, &marks, &mut next, u32::MAX, styles, &col_styles)?;
                        }
                    }
                    _ => {}
                }
                if depth == 0 && !legacy_done {
                    out.push_str(&xml[copied..before]);
                    copied = before;
                    out.push_str(legacy.unwrap_or(""));
                    legacy_done = true;
                }
            }
            Tag::Other => {}
        }
    }
    if !data_seen || next < marks.len() {
        return Err(refusal("données de la feuille"));
    }
    out.push_str(&xml[copied..]);
    // The new `legacyDrawing` needs the relationships prefix declared on the root.
    if legacy.is_some() && existing_legacy.is_none() && rel_prefix.as_deref() != Some("r") {
        return Err(refusal("espace de noms des relations"));
    }
    Ok(SheetOut {
        xml: out,
        legacy: existing_legacy,
    })
}

/// A row's start tag with `spans` widened to the marked cells of row `n`.
pub(super) fn row_tag(e: &BytesStart<'_>, marks: &[(u32, u32, Mark)], next: usize, n: u32) -> String {
    let Some(spans) = attr(e, "spans") else {
        return retag(e, &[], &[], false);
    };
    let (mut lo, mut hi) = spans
        .split_once(':')
        .and_then(|(a, b)| Some((a.trim().parse::<u32>().ok()?, b.trim().parse::<u32>().ok()?)))
        .unwrap_or((u32::MAX, 0));
    for &(_, c, _) in marks[next..].iter().take_while(|(r, _, _)| *r == n) {
        lo = lo.min(c + 1);
        hi = hi.max(c + 1);
    }
    retag(e, &[("spans", &format!("{lo}:{hi}"))], &[], false)
}

pub(super) fn push_cell(out: &mut String, row: u32, col: u32, s: u32) {
    let _ = write!(out, "<c r=\"{}{}\" s=\"{s}\"/>", column_letters(col), row as u64 + 1);
}

/// The style of column `c` (`<col style>`), else the default one.
pub(super) fn col_style(cols: &[(u32, u32, u32)], c: u32) -> u32 {
    cols.iter()
        .find(|(a, b, _)| (*a..=*b).contains(&c))
        .map_or(0, |(_, _, s)| *s)
}

/// New rows for the marked cells before row `until`.
pub(super) fn new_rows(
    out: &mut String,
    marks: &[(u32, u32, Mark)],
    next: &mut usize,
    until: u32,
    styles: &mut Styles,
    cols: &[(u32, u32, u32)],
) -> Result<(), Refusal> {
    while *next < marks.len() && marks[*next].0 < until {
        let n = marks[*next].0;
        let _ = write!(out, "<row r=\"{}\">", n as u64 + 1);
        while *next < marks.len() && marks[*next].0 == n {
            let (_, c, m) = marks[*next];
            push_cell(out, n, c, styles.marked(col_style(cols, c), m)?);
            *next += 1;
        }
        out.push_str("</row>");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_without_allocating() {
        assert_eq!(parse_ref("A1"), Some((0, 0)));
        assert_eq!(parse_ref("AB12"), Some((11, 27)));
        assert_eq!(parse_ref("12"), None);
    }
}
