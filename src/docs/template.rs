//! One template's documentation: its sheets, fields and tables, with what
//! each value must be (type, bounds, list) in French.

use super::*;

/// The bounds of a numeric schema in French: `entre 2000 et 2030`, `≥ 0`.
pub fn bounds_fr(schema: &Value) -> Option<String> {
    let lo = schema
        .get("minimum")
        .map(|v| ("≥", v))
        .or_else(|| schema.get("exclusiveMinimum").map(|v| (">", v)));
    let hi = schema
        .get("maximum")
        .map(|v| ("≤", v))
        .or_else(|| schema.get("exclusiveMaximum").map(|v| ("<", v)));
    match (lo, hi) {
        (Some(("≥", a)), Some(("≤", b))) => Some(format!("entre {} et {}", num(a), num(b))),
        (Some((op, a)), Some((op2, b))) => Some(format!("{op} {} et {op2} {}", num(a), num(b))),
        (Some((op, a)), None) | (None, Some((op, a))) => Some(format!("{op} {}", num(a))),
        (None, None) => None,
    }
}

/// What a cell of field `f` must hold, in French, for input messages and docs:
/// `nombre entier entre 2000 et 2030`, `nombre ≥ 0, en €`, `une valeur de la liste : …`.
pub fn expected_fr(f: &FieldSpec) -> String {
    let unit = f.unit.map(|u| format!(", en {}", u.symbol())).unwrap_or_default();
    let bounds = bounds_fr(&f.schema).map(|b| format!(" {b}")).unwrap_or_default();
    match &f.kind {
        ValueKind::Integer => format!("nombre entier{bounds}{unit}"),
        ValueKind::Number => format!("nombre{bounds}{unit}"),
        ValueKind::Date => "date (jj/mm/aaaa)".to_string(),
        ValueKind::Boolean => "oui ou non".to_string(),
        ValueKind::Enum(values) => format!("une valeur de la liste : {}", values.join(" ; ")),
        ValueKind::Text => match f.schema.get("format").and_then(Value::as_str) {
            Some("email") => "adresse électronique (nom@domaine.fr)".to_string(),
            _ => {
                let mut s = "texte".to_string();
                if let Some(n) = f.schema.get("maxLength") {
                    s.push_str(&format!(" de {} caractères au plus", num(n)));
                }
                s
            }
        },
    }
}

pub(super) fn kind_fr(f: &FieldSpec) -> String {
    match &f.kind {
        ValueKind::Integer => "entier".into(),
        ValueKind::Number => "nombre".into(),
        ValueKind::Text => match f.schema.get("format").and_then(Value::as_str) {
            Some("email") => "adresse électronique".into(),
            _ => "texte".into(),
        },
        ValueKind::Date => "date".into(),
        ValueKind::Boolean => "oui/non".into(),
        ValueKind::Enum(_) => "liste".into(),
    }
}

/// Markdown table cell: no pipes, no line breaks.
pub(super) fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Allowed values, bounds and other constraints of a field, for the docs.
pub(super) fn constraints(f: &FieldSpec) -> String {
    let mut parts = Vec::new();
    if let ValueKind::Enum(values) = &f.kind {
        parts.push(values.iter().map(|v| format!("« {v} »")).collect::<Vec<_>>().join(", "));
    }
    if let Some(c) = f.schema.get("const").and_then(Value::as_str) {
        parts.push(format!("= « {c} »"));
    }
    if let Some(b) = bounds_fr(&f.schema) {
        parts.push(b);
    }
    if f.kind == ValueKind::Date {
        parts.push("jour (31/03/2010) ou période (« juin 2010 », « 1er semestre 2009 », « 2009 »)".into());
    }
    if let Some(n) = f.schema.get("minLength").and_then(Value::as_u64).filter(|n| *n > 0) {
        parts.push(if n == 1 {
            "non vide".into()
        } else {
            format!("au moins {n} caractères")
        });
    }
    if let Some(n) = f.schema.get("maxLength") {
        parts.push(format!("au plus {} caractères", num(n)));
    }
    if f.empty_is_zero {
        parts.push("vide = 0".into());
    }
    if f.matches.len() > 1 {
        if let Some(aliases) = f.schema.get("x-aliases").and_then(Value::as_array) {
            let a: Vec<String> = aliases
                .iter()
                .filter_map(Value::as_str)
                .map(|s| format!("« {s} »"))
                .collect();
            if !a.is_empty() {
                parts.push(format!("libellé aussi accepté : {}", a.join(", ")));
            }
        }
    }
    if parts.is_empty() {
        "—".into()
    } else {
        parts.join(" ; ")
    }
}

pub(super) fn field_table(fields: &[&FieldSpec], prefix: &str, header: &str, required_word: (&str, &str)) -> String {
    let mut s = format!(
        "| {header} | pointeur | type | unité | valeurs admises | {} | description |\n|---|---|---|---|---|---|---|\n",
        required_word.0
    );
    for f in fields {
        s.push_str(&format!(
            "| {} | `{prefix}/{}` | {} | {} | {} | {} | {} |\n",
            cell(&f.label),
            f.key,
            kind_fr(f),
            f.unit.map(|u| u.symbol()).unwrap_or("—"),
            cell(&constraints(f)),
            if f.required { required_word.0 } else { required_word.1 },
            cell(f.description.as_deref().unwrap_or("—")),
        ));
    }
    s
}

pub(super) fn sheet_doc(sheet: &SheetSpec, level: usize) -> String {
    let mut s = heading(
        level,
        &format!(
            "Feuille « {} »{}",
            sheet.name,
            if sheet.required { "" } else { " (facultative)" }
        ),
    );
    s.push('\n');
    if let Some(d) = &sheet.description {
        s.push_str(&format!("{}\n\n", d.trim()));
    }
    let prefix = sheet.pointer();
    for block in &sheet.blocks {
        if let Block::Title(f) = block {
            s.push_str(&format!(
                "Titre : première cellule de texte de la feuille (A1), au-dessus des tableaux, pointeur `{prefix}/{}`, {}. {}\n\n",
                f.key,
                if f.required { "obligatoire" } else { "facultatif" },
                f.description.as_deref().unwrap_or_default()
            ));
        }
    }
    let fields: Vec<&FieldSpec> = sheet
        .blocks
        .iter()
        .filter_map(|b| if let Block::Field(f) = b { Some(f) } else { None })
        .collect();
    if !fields.is_empty() {
        s.push_str("Libellé dans une cellule, valeur dans la première cellule non vide à sa droite :\n\n");
        s.push_str(&field_table(&fields, &prefix, "libellé", ("obligatoire", "facultatif")));
        s.push('\n');
    }
    for block in &sheet.blocks {
        if let Block::Table(tb) = block {
            s.push_str(&format!("Tableau `{prefix}/{}`{}, repéré par sa ligne d'en-tête (colonnes dans n'importe quel ordre) ; une ligne par enregistrement", tb.key, if tb.required { "" } else { " (facultatif)" }));
            if let Some(total) = &tb.total {
                let sums: Vec<String> = total
                    .columns
                    .iter()
                    .filter_map(|k| tb.columns.iter().find(|c| &c.key == k))
                    .map(|c| format!("« {} »", c.label))
                    .collect();
                s.push_str(&format!(
                    ", suivie d'une ligne TOTAL {} (`{prefix}/{}` : {})",
                    if total.required { "obligatoire" } else { "facultative" },
                    total.key,
                    sums.join(", ")
                ));
            }
            s.push_str(".\n");
            if let Some(d) = &tb.description {
                if sheet.description.as_deref() != Some(d.as_str()) {
                    s.push_str(&format!("{}\n", d.trim()));
                }
            }
            s.push('\n');
            let columns: Vec<&FieldSpec> = tb.columns.iter().collect();
            s.push_str(&field_table(
                &columns,
                &format!("{prefix}/{}/*", tb.key),
                "en-tête",
                ("obligatoire", "facultative"),
            ));
            s.push('\n');
        }
    }
    s
}

/// A template's documentation, its title at heading `level`.
pub fn template_doc(t: &Template, level: usize) -> String {
    let mut s = heading(level, &format!("{} — {}", t.id, t.title));
    s.push('\n');
    if let Some(title) = t.schema.get("title").and_then(Value::as_str) {
        if title != t.title {
            s.push_str(&format!("{title}.\n\n"));
        }
    }
    s.push_str(&format!("- Versions : {}\n", t.versions.join(", ")));
    s.push_str(&format!(
        "- Schéma : `schemas/{}`\n",
        t.source.display().to_string().replace('\\', "/")
    ));
    s.push_str(&format!(
        "- Reconnu par : feuille « Identification », libellé « Modèle » = `{}`\n",
        t.id
    ));
    s.push_str(&format!(
        "- Modèle vierge : `bilan template {} -o {}.xlsx`\n",
        t.id, t.id
    ));
    s.push_str(&format!(
        "- Feuilles : {}\n",
        t.sheets
            .iter()
            .map(|sh| format!("« {} »", sh.name))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    s.push_str("\nLes libellés et en-têtes se comparent sans tenir compte de la casse, des accents, des espaces ni d'un « : » final ; le texte entre parenthèses (l'unité) compte. Les nombres peuvent être saisis à la française (1 062 198 €, 1,08).\n\n");
    for sheet in &t.sheets {
        s.push_str(&sheet_doc(sheet, level + 1));
    }
    s
}
