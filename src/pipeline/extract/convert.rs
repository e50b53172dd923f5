//! One cell to its JSON value: numbers, dates, choices and texts read the
//! French way, with the findings they give (BILAN-NUM-*, BILAN-DATE-001,
//! BILAN-CELL-001, BILAN-SCH-001).

use super::*;

/// JSON number of an exact decimal: an integer when it has no fraction.
pub fn json_number(d: rust_decimal::Decimal) -> Value {
    let d = d.normalize();
    if d.scale() == 0 {
        if let Ok(i) = i64::try_from(d.mantissa()) {
            return Value::Number(Number::from(i));
        }
    }
    d.to_string()
        .parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// Converts one cell to the field's JSON value, recording its origin and any
/// finding. `None` leaves the property absent (an empty value).
/// `unit` is the field's unit, or the row's (`Unité` = `%`).
pub(super) fn convert(
    ex: &mut Extraction,
    sheet: &Sheet,
    cell: &Cell,
    f: &FieldSpec,
    unit: Option<Unit>,
    pointer: &str,
) -> Option<Value> {
    let mut origin = Origin::cell(&sheet.name, cell.pos);
    let value = convert_value(ex, sheet, cell, f, unit, pointer, &mut origin);
    ex.origins.insert(pointer.to_string(), origin);
    value
}

/// The forms of dates BILAN-DATE-001 lists (`templates.md`, "Dates").
pub const DATE_FORMS_FR: &str = "un jour (31/03/2010, 31/03/10, 2 juin 2010, 1er juin 2010), un mois (juin 2010, juin-10, 06/2010), un trimestre (T1 2010, 1er trimestre 2010), un semestre (S2 2008, 2ème semestre 2008), une année (2009, courant 2010), ou début 2010, mi-2010, fin 2009";

pub(super) fn convert_value(
    ex: &mut Extraction,
    sheet: &Sheet,
    cell: &Cell,
    f: &FieldSpec,
    unit: Option<Unit>,
    pointer: &str,
    origin: &mut Origin,
) -> Option<Value> {
    let name = &sheet.name;
    let unusable = |ex: &mut Extraction| {
        ex.unusable.insert(pointer.to_string());
        Some(Value::Null)
    };
    match &cell.value {
        CellValue::Error(e) => {
            ex.finding(
                EngineRule::Cell001,
                format!(
                    "« {} » contient l'erreur Excel {e} : corrigez la formule ou saisissez la valeur.",
                    f.label
                ),
                name,
                Some(cell.pos),
                Some(pointer),
            );
            origin.raw = Some(e.clone());
            return unusable(ex);
        }
        CellValue::FormulaWithoutValue(formula) => {
            ex.finding(
                EngineRule::Cell001,
                format!("« {} » contient une formule sans valeur calculée (={formula}) : ouvrez le fichier dans Excel, laissez-le recalculer, puis enregistrez-le.", f.label),
                name,
                Some(cell.pos),
                Some(pointer),
            );
            origin.raw = Some(format!("={formula}"));
            return unusable(ex);
        }
        _ => {}
    }
    if let (true, CellValue::Number(n)) = (f.key == "version", &cell.value) {
        // `Version` typed as a number (2010.1 shown `2010,1`) is that version.
        origin.raw = Some(cell.value.display());
        return decimal_of_f64(*n).map(|d| Value::String(d.normalize().to_string()));
    }
    match &f.kind {
        ValueKind::Integer | ValueKind::Number => match &cell.value {
            CellValue::Number(n) if sheet.shows_percent(cell.pos) => {
                // Shown as `72 %`, stored as 0.72: the submitter means 72 in a (%) field.
                let shown = decimal_of_f64(*n).map(|d| (d * rust_decimal::Decimal::ONE_HUNDRED).normalize());
                match (unit, shown) {
                    (Some(Unit::Percent), Some(d)) => Some(ex.exact_number(pointer, d)),
                    (Some(other), Some(d)) => {
                        ex.finding(
                            EngineRule::Num003,
                            format!(
                                "« {} » : la cellule affiche un pourcentage ({} %) alors que la valeur attendue est en {}. Saisissez le montant dans l'unité de la colonne.",
                                f.label,
                                decimal_fr(d),
                                other.symbol()
                            ),
                            name,
                            Some(cell.pos),
                            Some(pointer),
                        );
                        unusable(ex)
                    }
                    _ => Some(
                        decimal_of_f64(*n)
                            .map(|d| ex.exact_number(pointer, d))
                            .unwrap_or(Value::Null),
                    ),
                }
            }
            CellValue::Number(n) => Some(
                decimal_of_f64(*n)
                    .map(|d| ex.exact_number(pointer, d))
                    .unwrap_or(Value::Null),
            ),
            CellValue::Text(text) => {
                origin.raw = Some(text.clone());
                match parse_french_number(text) {
                    ParsedNumber::Blank => {
                        if f.empty_is_zero {
                            Some(Value::Number(Number::from(0)))
                        } else {
                            None
                        }
                    }
                    ParsedNumber::Number { value, unit: written } => {
                        if let Some(u) = written {
                            if Some(u) != unit {
                                let expected = unit
                                    .map(|e| format!("en {}", e.symbol()))
                                    .unwrap_or_else(|| "sans unité".to_string());
                                ex.finding(
                                    EngineRule::Num003,
                                    format!("« {} » : « {} » est exprimé en {} alors que la valeur attendue est {expected}. Saisissez le montant dans l'unité de la colonne.", f.label, text.trim(), u.symbol()),
                                    name,
                                    Some(cell.pos),
                                    Some(pointer),
                                );
                                return unusable(ex);
                            }
                        }
                        ex.finding(
                            EngineRule::Num001,
                            format!("« {} » : nombre saisi comme texte (« {} »), lu comme {}. Saisissez-le comme un nombre.", f.label, text.trim(), decimal_fr(value)),
                            name,
                            Some(cell.pos),
                            Some(pointer),
                        );
                        Some(ex.exact_number(pointer, value))
                    }
                    ParsedNumber::Malformed { reason } => {
                        let proposal = ParsedNumber::plausible_reading(text)
                            .map(|p| format!(" Vouliez-vous écrire « {p} » ?"))
                            .unwrap_or_default();
                        ex.finding(
                            EngineRule::Num002,
                            format!(
                                "« {} » : nombre mal formé « {} » ({reason}).{proposal}",
                                f.label,
                                text.trim()
                            ),
                            name,
                            Some(cell.pos),
                            Some(pointer),
                        );
                        unusable(ex)
                    }
                    ParsedNumber::NotGiven => {
                        ex.finding(
                            EngineRule::Num004,
                            format!("« {} » : « {} » (non communiqué ou non significatif) : la valeur est traitée comme absente.", f.label, text.trim()),
                            name,
                            Some(cell.pos),
                            Some(pointer),
                        );
                        ex.not_given.insert(pointer.to_string());
                        None
                    }
                    ParsedNumber::WithComment { value, comment } => {
                        ex.finding(
                            EngineRule::Sch001,
                            format!("« {} » : « {} » mêle un nombre ({}) et un commentaire (« {comment} ») : saisissez le nombre seul dans la cellule et déplacez le commentaire dans une colonne Commentaire ou dans une note de cellule.", f.label, text.trim(), decimal_fr(value)),
                            name,
                            Some(cell.pos),
                            Some(pointer),
                        );
                        unusable(ex)
                    }
                    // Left as text: the schema reports the wrong type.
                    ParsedNumber::NotNumeric => Some(Value::String(text.trim().to_string())),
                }
            }
            CellValue::Date(d) => Some(Value::String(d.display_fr())),
            CellValue::Bool(b) => Some(Value::Bool(*b)),
            CellValue::Error(_) | CellValue::FormulaWithoutValue(_) => None,
        },
        ValueKind::Date => {
            let parsed: Option<DateInterval> = match &cell.value {
                CellValue::Date(d) => Some(*d),
                CellValue::Text(t) => {
                    origin.raw = Some(t.clone());
                    parse_french_date(t)
                }
                CellValue::Number(n) if n.fract() == 0.0 && (1900.0..=2100.0).contains(n) => {
                    DateInterval::year(*n as i32)
                }
                other => {
                    origin.raw = Some(other.display());
                    None
                }
            };
            match parsed {
                Some(d) => Some(Value::String(d.canonical())),
                None => {
                    ex.finding(
                        EngineRule::Date001,
                        format!(
                            "« {} » : date illisible « {} ». Formes acceptées : {DATE_FORMS_FR}.",
                            f.label,
                            cell.value.display().trim()
                        ),
                        name,
                        Some(cell.pos),
                        Some(pointer),
                    );
                    unusable(ex)
                }
            }
        }
        ValueKind::Enum(options) => {
            // Choices compare like labels, hyphens and dashes counting as spaces
            // (`Hainaut Cambrésis` is `Hainaut – Cambrésis`).
            let text = cell.value.display();
            let n = normalize_choice(&text);
            match options.iter().find(|o| normalize_choice(o) == n) {
                Some(canonical) => {
                    if canonical.as_str() != text.trim() {
                        origin.raw = Some(text.clone());
                    }
                    Some(Value::String(canonical.clone()))
                }
                None => Some(Value::String(text.trim().to_string())),
            }
        }
        ValueKind::Text => Some(Value::String(cell.value.display().trim().to_string())),
        ValueKind::Boolean => match &cell.value {
            CellValue::Bool(b) => Some(Value::Bool(*b)),
            other => {
                let n = normalize_label(&other.display());
                match n.as_str() {
                    "oui" | "vrai" | "true" | "x" => Some(Value::Bool(true)),
                    "non" | "faux" | "false" => Some(Value::Bool(false)),
                    _ => Some(Value::String(other.display())),
                }
            }
        },
    }
}
