//! Comply or explain: the optional `Justifications` sheet of a return
//! (`Règle` | `Cellule` | `Justification`, see `spec/campaign.md`).
//!
//! A row justifies the findings of its rule on its cell (`Objectifs!E7`; the
//! sheet may be left out when the rule's findings at that cell are on one sheet
//! only). A justified warning or information stays in every report, with the
//! text, but no longer counts towards the status. Errors cannot be justified
//! (BILAN-JUS-002); a row that matches nothing is BILAN-JUS-001.

use crate::base::model::CellRef;
use crate::base::values::normalize_label;
use crate::finding::{EngineRule, Finding, Severity};
use crate::pipeline::read::{CellValue, Sheet, Workbook};

/// The sheet's name, as the blank templates spell it.
pub const SHEET: &str = "Justifications";
/// The headers of its table, in order.
pub const HEADERS: [&str; 3] = ["Règle", "Cellule", "Justification"];
/// A row that matches no finding.
pub const UNMATCHED_RULE: EngineRule = EngineRule::Jus001;
/// A row that names an error.
pub const ERROR_RULE: EngineRule = EngineRule::Jus002;

/// One row of the `Justifications` sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Justification {
    /// The rule id as written (trimmed).
    pub rule: String,
    /// The cell as written (`Objectifs!E7`, `E7`), trimmed.
    pub cell_text: String,
    /// The sheet named in `Cellule`, if any.
    pub target_sheet: Option<String>,
    /// The cell named in `Cellule`, if it reads as one.
    pub target_cell: Option<CellRef>,
    pub text: String,
    /// Where the row's `Règle` sits, in the `Justifications` sheet.
    pub at: CellRef,
}

/// Whether a sheet is the `Justifications` sheet (case, accents, spaces ignored).
pub fn is_justifications_sheet(name: &str) -> bool {
    normalize_label(name) == normalize_label(SHEET)
}

/// The `Justifications` sheet of a workbook, if it has one.
pub fn sheet_of(wb: &Workbook) -> Option<&Sheet> {
    wb.sheets.iter().find(|s| is_justifications_sheet(&s.name))
}

/// The rows of the `Justifications` sheet: below the header row (`Règle`,
/// `Cellule`, `Justification`, in any columns), every row with a rule or a text.
/// `None` when the sheet has cells but no header row.
pub fn read(sheet: &Sheet) -> Option<Vec<Justification>> {
    let want: Vec<String> = HEADERS.iter().map(|h| normalize_label(h)).collect();
    let mut header: Option<(u32, [u32; 3])> = None;
    for row in sheet.row_numbers() {
        let mut cols = [None; 3];
        for c in sheet.row(row) {
            if let CellValue::Text(t) = &c.value {
                let n = normalize_label(t);
                if let Some(i) = want.iter().position(|w| *w == n) {
                    cols[i].get_or_insert(c.pos.col);
                }
            }
        }
        if let [Some(a), Some(b), Some(c)] = cols {
            header = Some((row, [a, b, c]));
            break;
        }
    }
    let (header_row, [rule_col, cell_col, text_col]) = header?;
    let text_at = |row: u32, col: u32| {
        sheet
            .get(CellRef::new(row, col))
            .map(|v| v.display().trim().to_string())
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for row in sheet.row_numbers().into_iter().filter(|r| *r > header_row) {
        let rule = text_at(row, rule_col);
        let cell_text = text_at(row, cell_col);
        let text = text_at(row, text_col);
        if rule.is_empty() && cell_text.is_empty() && text.is_empty() {
            continue;
        }
        let (target_sheet, target_cell) = parse_target(&cell_text);
        out.push(Justification {
            rule,
            cell_text,
            target_sheet,
            target_cell,
            text,
            at: CellRef::new(row, rule_col),
        });
    }
    Some(out)
}

/// `Objectifs!E7`, `'Mes données'!$E$7`, `E7` → (sheet, cell).
fn parse_target(s: &str) -> (Option<String>, Option<CellRef>) {
    let s = s.trim();
    let (sheet, cell) = match s.rsplit_once('!') {
        Some((sheet, cell)) => {
            let sheet = sheet.trim();
            let sheet = sheet
                .strip_prefix('\'')
                .and_then(|x| x.strip_suffix('\''))
                .map(|x| x.replace("''", "'"))
                .unwrap_or_else(|| sheet.to_string());
            (Some(sheet).filter(|x| !x.is_empty()), cell)
        }
        None => (None, s),
    };
    let cell: String = cell.chars().filter(|c| *c != '$' && !c.is_whitespace()).collect();
    (sheet, CellRef::parse(&cell.to_ascii_uppercase()))
}

/// Matches the workbook's justifications with its findings: marks each matched
/// warning or information with its text, and returns the BILAN-JUS-001/002
/// findings the rows give. Also drops the "extra sheet" notice (BILAN-TPL-005)
/// for the `Justifications` sheet, which belongs to every template.
pub fn apply(wb: &Workbook, findings: &mut Vec<Finding>) -> Vec<Finding> {
    let Some(sheet) = sheet_of(wb) else {
        return Vec::new();
    };
    let Some(rows) = read(sheet) else {
        // Cells but no header row: the sheet stays "ignored" (BILAN-TPL-005), with why.
        for f in findings.iter_mut() {
            if EngineRule::Tpl005.is(&f.rule) && f.sheet.as_deref() == Some(sheet.name.as_str()) && f.cell.is_none() {
                f.message = format!(
                    "Feuille « {} » ignorée : la ligne d'en-têtes « Règle | Cellule | Justification » est introuvable ; recopiez-la depuis le modèle vierge pour que vos justifications soient lues.",
                    sheet.name
                );
            }
        }
        return Vec::new();
    };
    findings.retain(|f| !(EngineRule::Tpl005.is(&f.rule) && f.sheet.as_deref() == Some(sheet.name.as_str())));
    // Findings by rule and cell: a long sheet against many findings stays linear.
    type Place = (String, Option<CellRef>);
    let mut by_place: std::collections::HashMap<Place, Vec<usize>> = std::collections::HashMap::new();
    for (i, f) in findings.iter().enumerate() {
        by_place
            .entry((f.rule.as_str().to_ascii_uppercase(), f.cell))
            .or_default()
            .push(i);
    }
    let mut out = Vec::new();
    for j in &rows {
        let at = |rule: EngineRule, message: String| Finding::engine(rule, message).at(&sheet.name, Some(j.at));
        let row_no = j.at.row.saturating_add(1);
        if j.rule.is_empty() {
            out.push(at(
                UNMATCHED_RULE,
                format!("Justification ligne {row_no} sans règle : indiquez la règle (par exemple PROG-OBJ-001) et la cellule du constat, copiées depuis la feuille « Constats » du rapport."),
            ));
            continue;
        }
        if j.text.is_empty() {
            out.push(at(
                UNMATCHED_RULE,
                format!("Justification de {} ligne {row_no} sans texte : elle n'est pas prise en compte ; expliquez l'écart dans la colonne « Justification ».", j.rule),
            ));
            continue;
        }
        let key = (
            j.rule.to_ascii_uppercase(),
            if j.cell_text.is_empty() { None } else { j.target_cell },
        );
        let unreadable_cell = !j.cell_text.is_empty() && j.target_cell.is_none();
        let candidates: Vec<usize> = by_place
            .get(&key)
            .filter(|_| !unreadable_cell)
            .into_iter()
            .flatten()
            .copied()
            .filter(|i| cell_matches(j, &findings[*i]))
            .collect();
        let sheets: std::collections::BTreeSet<String> = candidates
            .iter()
            .filter_map(|i| findings[*i].sheet.as_deref().map(normalize_label))
            .collect();
        if j.target_sheet.is_none() && sheets.len() > 1 {
            out.push(at(
                UNMATCHED_RULE,
                format!(
                    "Justification de {} en {} : cette cellule a un constat {} sur plusieurs feuilles ; précisez la feuille (par exemple « Objectifs!{} »).",
                    j.rule, j.cell_text, j.rule, j.cell_text
                ),
            ));
            continue;
        }
        if candidates.is_empty() {
            let where_ = if j.cell_text.is_empty() {
                String::new()
            } else {
                format!(" en {}", j.cell_text)
            };
            let bad_cell = !j.cell_text.is_empty() && j.target_cell.is_none();
            let message = if bad_cell {
                format!("Justification de {} : « {} » n'est pas une cellule ; écrivez-la comme dans la feuille « Constats » du rapport (par exemple Objectifs!E7).", j.rule, j.cell_text)
            } else {
                format!("Justification de {}{where_} : aucun constat de cette règle à cette cellule (déjà corrigé, ou règle ou cellule mal recopiée) ; supprimez cette ligne ou corrigez-la.", j.rule)
            };
            out.push(at(UNMATCHED_RULE, message));
            continue;
        }
        let mut errors = 0;
        for i in candidates {
            let f = &mut findings[i];
            if f.severity == Severity::Error {
                errors += 1;
            } else {
                f.justification = Some(j.text.clone());
            }
        }
        if errors > 0 {
            out.push(at(
                ERROR_RULE,
                format!("Justification de {} en {} : c'est une erreur, elle ne peut pas être justifiée, seulement corrigée ; corrigez la valeur puis supprimez cette ligne.", j.rule, j.cell_text),
            ));
        }
    }
    out
}

fn cell_matches(j: &Justification, f: &Finding) -> bool {
    if j.cell_text.is_empty() {
        // A row without a cell justifies the rule's findings that have none.
        return f.cell.is_none();
    }
    let Some(cell) = j.target_cell else {
        return false;
    };
    if f.cell != Some(cell) {
        return false;
    }
    match (&j.target_sheet, &f.sheet) {
        (Some(want), Some(got)) => normalize_label(want) == normalize_label(got),
        (Some(_), None) => false,
        (None, _) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::read::{Cell, Format};

    fn text(r: u32, c: u32, s: &str) -> Cell {
        Cell {
            pos: CellRef::new(r, c),
            value: CellValue::Text(s.into()),
        }
    }

    fn workbook(rows: &[[&str; 3]]) -> Workbook {
        let mut cells = vec![text(0, 0, "Règle"), text(0, 1, "Cellule"), text(0, 2, "Justification")];
        for (i, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                if !v.is_empty() {
                    cells.push(text(i as u32 + 1, c as u32, v));
                }
            }
        }
        Workbook {
            format: Format::Xlsx,
            sheets: vec![Sheet::new("Justifications", cells, vec![])],
            styles: None,
        }
    }

    fn finding(rule: &str, severity: Severity, sheet: &str, cell: &str) -> Finding {
        Finding::new(rule, severity, "x").at(sheet, CellRef::parse(cell))
    }

    #[test]
    fn targets_read_with_or_without_sheet() {
        assert_eq!(
            parse_target("Objectifs!E7"),
            (Some("Objectifs".into()), CellRef::parse("E7"))
        );
        assert_eq!(
            parse_target("'Mes données'!$e$7"),
            (Some("Mes données".into()), CellRef::parse("E7"))
        );
        assert_eq!(parse_target(" E7 "), (None, CellRef::parse("E7")));
        assert_eq!(parse_target("ligne 7"), (None, None));
    }

    #[test]
    fn a_warning_is_justified_an_error_is_not() {
        let wb = workbook(&[
            ["PROG-OBJ-001", "Objectifs!E7", "Crise : 40 % des dossiers reportés"],
            ["POLE-FIN-001", "C4", "Le privé finance le reste"],
            ["PROG-OBJ-002", "E9", "Rien"],
        ]);
        let mut findings = vec![
            finding("PROG-OBJ-001", Severity::Warning, "Objectifs", "E7"),
            finding("POLE-FIN-001", Severity::Error, "Financements", "C4"),
            finding("PROG-OBJ-001", Severity::Warning, "Objectifs", "E8"),
        ];
        let extra = apply(&wb, &mut findings);
        assert_eq!(
            findings[0].justification.as_deref(),
            Some("Crise : 40 % des dossiers reportés")
        );
        assert!(findings[1].justification.is_none());
        assert!(findings[2].justification.is_none());
        let ids: Vec<&str> = extra.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(ids, [ERROR_RULE.id(), UNMATCHED_RULE.id()]);
        assert_eq!(extra[0].cell, CellRef::parse("A3"));
        assert_eq!(extra[0].severity, Severity::Info);
        assert_eq!(extra[1].cell, CellRef::parse("A4"));
    }

    #[test]
    fn ambiguous_cell_without_sheet_matches_nothing() {
        let wb = workbook(&[["BILAN-NUM-001", "B4", "Saisi en texte par l'outil comptable"]]);
        let mut findings = vec![
            finding("BILAN-NUM-001", Severity::Warning, "Indicateurs", "B4"),
            finding("BILAN-NUM-001", Severity::Warning, "Financements", "B4"),
        ];
        let extra = apply(&wb, &mut findings);
        assert!(findings.iter().all(|f| f.justification.is_none()));
        assert_eq!(extra.len(), 1);
        assert!(extra[0].message.contains("précisez la feuille"), "{}", extra[0].message);
    }

    #[test]
    fn empty_text_and_bad_cell_are_reported() {
        let wb = workbook(&[["PROG-OBJ-001", "Objectifs!E7", ""], ["PROG-OBJ-001", "septième", "x"]]);
        let mut findings = vec![finding("PROG-OBJ-001", Severity::Warning, "Objectifs", "E7")];
        let extra = apply(&wb, &mut findings);
        assert!(findings[0].justification.is_none());
        assert_eq!(extra.len(), 2);
        assert!(extra[0].message.contains("sans texte"));
        assert!(extra[1].message.contains("n'est pas une cellule"));
    }

    #[test]
    fn the_sheet_is_not_an_extra_sheet() {
        let wb = workbook(&[]);
        let mut findings = vec![Finding::engine(EngineRule::Tpl005, "Feuille ignorée").at("Justifications", None)];
        let extra = apply(&wb, &mut findings);
        assert!(findings.is_empty());
        assert!(extra.is_empty());
    }
}
