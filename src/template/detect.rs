//! Which template a workbook follows: `Identification` › `Modèle`.

use super::{Template, TemplateSet};
use crate::finding::{Finding, Severity};
use crate::model::CellRef;
use crate::read::{CellValue, Sheet, Workbook};
use crate::values::normalize_label;

/// The template found (if any) and the findings about it.
#[derive(Debug)]
pub struct Detection<'a> {
    pub template: Option<&'a Template>,
    pub findings: Vec<Finding>,
}

const TPL_001: &str = "BILAN-TPL-001";

/// Detects the template from the `Modèle` value of the `Identification` sheet,
/// or uses `forced` (`--template`). An unknown forced id is the caller's error.
pub fn detect<'a>(wb: &Workbook, set: &'a TemplateSet, forced: Option<&str>) -> Detection<'a> {
    if let Some(id) = forced {
        return Detection {
            template: set.get(id),
            findings: Vec::new(),
        };
    }
    let known = set.ids().join(", ");
    let Some(sheet) = wb.sheets.iter().find(|s| normalize_label(&s.name) == "identification") else {
        let f = Finding::new(
            TPL_001,
            Severity::Error,
            format!("Modèle non reconnu : la feuille « Identification » est introuvable (feuilles présentes : {}). Utilisez le classeur modèle fourni par la Région, dont la feuille Identification indique le modèle ({known}).",
                wb.sheets.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")),
        );
        return Detection {
            template: None,
            findings: vec![f],
        };
    };
    let Some((label_cell, value)) = find_label_value(sheet, &|t| normalize_label(t) == "modele") else {
        let f = Finding::new(TPL_001, Severity::Error, format!("Modèle non reconnu : le libellé « Modèle » est absent de la feuille Identification. Indiquez-le avec l'identifiant du modèle ({known})."))
            .at(&sheet.name, None);
        return Detection {
            template: None,
            findings: vec![f],
        };
    };
    let Some((value_cell, text)) = value else {
        let f = Finding::new(TPL_001, Severity::Error, format!("Modèle non reconnu : la cellule à droite de « Modèle » est vide. Indiquez l'identifiant du modèle ({known})."))
            .at(&sheet.name, Some(label_cell));
        return Detection {
            template: None,
            findings: vec![f],
        };
    };
    match set.get(&text) {
        Some(t) => Detection {
            template: Some(t),
            findings: Vec::new(),
        },
        None => {
            let f = Finding::new(
                TPL_001,
                Severity::Error,
                format!("Modèle « {text} » inconnu : les modèles reconnus sont {known}."),
            )
            .at(&sheet.name, Some(value_cell))
            .with_pointer("/identification/modele");
            Detection {
                template: None,
                findings: vec![f],
            }
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
