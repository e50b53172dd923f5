//! Which template a workbook follows: `Identification` › `Modèle`.

use super::{Template, TemplateSet};
use crate::base::model::CellRef;
use crate::base::values::normalize_label;
use crate::finding::{EngineRule, Finding};
use crate::pipeline::read::{CellValue, Sheet, Workbook};

/// The template found, or the BILAN-TPL-001 finding that says why there is
/// none: a workbook without a template always carries its finding.
#[derive(Debug)]
pub enum Detection<'a> {
    Template(&'a Template),
    Unknown(Box<Finding>),
}

/// Detects the template from the `Modèle` value of the `Identification` sheet,
/// or uses `forced` (`--template`; an unknown forced id gets its finding too).
pub fn detect<'a>(wb: &Workbook, set: &'a TemplateSet, forced: Option<&str>) -> Detection<'a> {
    let known = set.ids().join(", ");
    if let Some(id) = forced {
        return match set.get(id) {
            Some(t) => Detection::Template(t),
            None => Detection::Unknown(Box::new(Finding::engine(
                EngineRule::Tpl001,
                format!("Modèle « {id} » (--template) inconnu : les modèles reconnus sont {known}."),
            ))),
        };
    }
    let Some(sheet) = wb.sheets.iter().find(|s| normalize_label(&s.name) == "identification") else {
        let f = Finding::engine(EngineRule::Tpl001,
            format!("Modèle non reconnu : la feuille « Identification » est introuvable (feuilles présentes : {}). Utilisez le classeur modèle fourni par la Région, dont la feuille Identification indique le modèle ({known}).",
                wb.sheets.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")),
        );
        return Detection::Unknown(Box::new(f));
    };
    let Some((label_cell, value)) = find_label_value(sheet, &|t| normalize_label(t) == "modele") else {
        let f = Finding::engine(EngineRule::Tpl001, format!("Modèle non reconnu : le libellé « Modèle » est absent de la feuille Identification. Indiquez-le avec l'identifiant du modèle ({known})."))
            .at(&sheet.name, None);
        return Detection::Unknown(Box::new(f));
    };
    let Some((value_cell, text)) = value else {
        let f = Finding::engine(EngineRule::Tpl001, format!("Modèle non reconnu : la cellule à droite de « Modèle » est vide. Indiquez l'identifiant du modèle ({known})."))
            .at(&sheet.name, Some(label_cell));
        return Detection::Unknown(Box::new(f));
    };
    match set.get(&text) {
        Some(t) => Detection::Template(t),
        None => {
            let f = Finding::engine(
                EngineRule::Tpl001,
                format!("Modèle « {text} » inconnu : les modèles reconnus sont {known}."),
            )
            .at(&sheet.name, Some(value_cell))
            .with_pointer("/identification/modele");
            Detection::Unknown(Box::new(f))
        }
    }
}

/// Finds a label on a sheet: the first row (top to bottom) with a text cell that
/// `is_label` accepts. Returns the label's cell and the first non-empty cell to
/// its right (cell, text as displayed). Used by detection (`Modèle`) and by
/// extraction: it lives here, below both, so that neither imports the other.
pub fn find_label_value(
    sheet: &Sheet,
    is_label: &dyn Fn(&str) -> bool,
) -> Option<(CellRef, Option<(CellRef, String)>)> {
    for row in sheet.row_numbers() {
        let cells = sheet.row(row);
        for (i, c) in cells.iter().enumerate() {
            if let CellValue::Text(t) = &c.value {
                if is_label(t) {
                    let value = cells[i + 1..]
                        .iter()
                        .find(|v| !v.value.is_blank())
                        .map(|v| (v.pos, v.value.display()));
                    return Some((c.pos, value));
                }
            }
        }
    }
    None
}
