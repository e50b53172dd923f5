//! JSON Schema validation of the extracted data: every violation becomes
//! BILAN-SCH-001 on the cell that holds the value, in French.

use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

use crate::finding::{EngineRule, Finding};
use crate::pipeline::extract::Extraction;
use crate::pipeline::template::{Block, Template};

/// Validates `ex.data` against the template's compiled schema. Values already
/// reported as unusable or missing are not reported again. The pointers of the
/// values found invalid are added to `ex.unusable`.
pub fn validate(t: &Template, ex: &mut Extraction) {
    let mut found: Vec<(String, String)> = Vec::new();
    // A built-in schema compiles (tested); another one was compiled at load.
    let validator = match t.validator() {
        Ok(v) => v,
        Err(e) => {
            let message = format!("Le schéma du modèle {} ne peut pas être utilisé : {e}", t.id);
            ex.findings.push(Finding::engine(EngineRule::Sch001, message));
            return;
        }
    };
    for error in validator.iter_errors(&ex.data) {
        let base = error.instance_path().as_str().to_string();
        let (pointer, message) = match error.kind() {
            ValidationErrorKind::Required { property } => {
                let prop = property.as_str().unwrap_or_default();
                let pointer = format!("{base}/{prop}");
                let label = label_of(t, &pointer);
                (
                    pointer,
                    format!("« {label} » est obligatoire mais la cellule est vide : saisissez une valeur."),
                )
            }
            kind => {
                let label = label_of(t, &base);
                let shown = shown(error.instance());
                (base.clone(), format!("« {label} » : {}", describe(kind, &shown)))
            }
        };
        if ex.is_unusable(&pointer) || ex.not_given.contains(&pointer) {
            continue;
        }
        found.push((pointer, message));
    }
    found.sort();
    found.dedup_by(|a, b| a.0 == b.0);
    for (pointer, message) in found {
        let origin = ex.origin_of(&pointer).cloned();
        let mut f = Finding::engine(EngineRule::Sch001, message).with_pointer(pointer.clone());
        if let Some(o) = origin {
            f = f.at(&o.sheet, o.cell);
        }
        ex.findings.push(f);
        ex.unusable.insert(pointer);
    }
}

fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => format!("« {s} »"),
        Value::Null => "une valeur vide".to_string(),
        other => {
            let s = other.to_string();
            if s.chars().count() > 60 {
                format!("{}…", s.chars().take(60).collect::<String>())
            } else {
                s
            }
        }
    }
}

fn num(v: &Value) -> String {
    match v.as_f64() {
        Some(n) => crate::base::format::number_plain(n),
        None => v.to_string(),
    }
}

fn describe(kind: &ValidationErrorKind, shown: &str) -> String {
    use ValidationErrorKind as K;
    match kind {
        K::Type { kind } => {
            let wanted = match kind {
                TypeKind::Single(t) => type_fr(&t.to_string()),
                TypeKind::Multiple(_) => "d'un autre type".to_string(),
            };
            format!("{shown} n'est pas {wanted}.")
        }
        K::Enum { options } => {
            let list: Vec<String> = options
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|o| o.as_str().map(|s| format!("« {s} »")).unwrap_or_else(|| o.to_string()))
                        .collect()
                })
                .unwrap_or_default();
            format!(
                "{shown} n'est pas une valeur autorisée ; valeurs possibles : {}.",
                list.join(", ")
            )
        }
        K::Minimum { limit } => format!("{shown} est inférieur au minimum autorisé ({}).", num(limit)),
        K::Maximum { limit } => format!("{shown} est supérieur au maximum autorisé ({}).", num(limit)),
        K::ExclusiveMinimum { limit } => format!("{shown} doit être strictement supérieur à {}.", num(limit)),
        K::ExclusiveMaximum { limit } => format!("{shown} doit être strictement inférieur à {}.", num(limit)),
        K::Format { format } => match format.as_str() {
            "email" => format!("{shown} n'est pas une adresse électronique valide."),
            "date" => format!("{shown} n'est pas une date valide."),
            other => format!("{shown} ne respecte pas le format {other}."),
        },
        K::Pattern { .. } => format!("{shown} n'a pas la forme attendue."),
        K::MinLength { limit } => format!("{shown} est trop court (au moins {limit} caractère(s))."),
        K::MaxLength { limit } => format!("{shown} est trop long (au plus {limit} caractères)."),
        K::MinItems { limit } => format!("le tableau doit compter au moins {limit} ligne(s)."),
        K::MaxItems { limit } => format!("le tableau compte plus de {limit} lignes."),
        K::MultipleOf { .. } => format!("{shown} n'a pas la précision attendue."),
        K::Constant { expected_value } => format!("{shown} devrait valoir {}.", expected_value),
        K::UniqueItems => "des lignes sont en double.".to_string(),
        _ => format!("{shown} ne respecte pas le modèle."),
    }
}

fn type_fr(t: &str) -> String {
    match t {
        "integer" => "un nombre entier".into(),
        "number" => "un nombre".into(),
        "string" => "un texte".into(),
        "boolean" => "une valeur oui/non".into(),
        "object" | "array" => "un bloc de données attendu".into(),
        "null" => "vide".into(),
        other => format!("du type {other}"),
    }
}

/// The label a submitter sees for a pointer: the field's label or column header.
pub fn label_of(t: &Template, pointer: &str) -> String {
    let parts: Vec<&str> = pointer.split('/').filter(|p| !p.is_empty()).collect();
    let last = parts.last().copied().unwrap_or_default();
    for sheet in &t.sheets {
        let sheet_key = sheet.key.as_str();
        for block in &sheet.blocks {
            match block {
                crate::pipeline::template::Block::Field(f) | Block::Title(f) => {
                    if parts == [sheet_key, f.key.as_str()] {
                        return f.label.clone();
                    }
                }
                Block::Table(tb) => {
                    let table_at = if sheet_key.is_empty() { 0 } else { 1 };
                    let in_table = parts
                        .get(table_at)
                        .map(|p| *p == tb.key || tb.total.as_ref().is_some_and(|tt| tt.key == *p))
                        .unwrap_or(false)
                        && (sheet_key.is_empty() || parts.first() == Some(&sheet_key));
                    if in_table {
                        if let Some(c) = tb.columns.iter().find(|c| c.key == last) {
                            return c.label.clone();
                        }
                        return format!("tableau de la feuille {}", sheet.name);
                    }
                }
            }
        }
        if !sheet_key.is_empty() && parts == [sheet_key] {
            return format!("feuille {}", sheet.name);
        }
    }
    last.to_string()
}
