//! Documentation derived from the rule files and schemas: `bilan rules`,
//! `bilan explain`, and the generated rule reference.

use serde::Serialize;

use crate::rules::RulePack;
use crate::template::{Block, Template, TemplateSet, ValueKind};

/// A line of `bilan rules`.
#[derive(Debug, Clone, Serialize)]
pub struct RuleRow {
    pub id: String,
    pub severity: String,
    pub template: String,
    pub title: String,
}

/// Every rule (engine's and scripts'), optionally only those of one template.
pub fn rule_rows(pack: &RulePack, template: Option<&str>) -> Vec<RuleRow> {
    let mut rows = Vec::new();
    for r in &pack.engine_rules {
        rows.push(RuleRow { id: r.id.clone(), severity: r.severity.to_string(), template: if r.scope.is_empty() { "*".into() } else { r.scope.clone() }, title: r.title.clone() });
    }
    for r in &pack.rules {
        let t = r.templates.as_ref().map(|ts| ts.join(",")).unwrap_or_else(|| "*".into());
        rows.push(RuleRow { id: r.meta.id.clone(), severity: r.meta.severity.to_string(), template: t, title: r.meta.title.clone() });
    }
    if let Some(t) = template {
        rows.retain(|r| r.template == "*" || r.template.split(',').any(|x| x.eq_ignore_ascii_case(t)));
    }
    rows
}

/// Renders rows as an aligned text table.
pub fn rules_table(rows: &[RuleRow]) -> String {
    let w_id = rows.iter().map(|r| r.id.len()).max().unwrap_or(2).max(2);
    let w_t = rows.iter().map(|r| r.template.chars().count()).max().unwrap_or(6).max(6);
    let mut out = format!("{:<w_id$}  {:<8}  {:<w_t$}  {}\n", "id", "gravité", "modèle", "titre");
    for r in rows {
        out.push_str(&format!("{:<w_id$}  {:<8}  {:<w_t$}  {}\n", r.id, r.severity, r.template, r.title));
    }
    out
}

/// `bilan explain RULE_ID` as Markdown-ish text. `None` for an unknown id.
pub fn explain_rule(pack: &RulePack, id: &str) -> Option<String> {
    if let Some(r) = pack.engine_rule(id) {
        let mut s = format!("# {} — {}\n\nGravité : {}\nPortée : moteur ({})\n\n## Ce qui est contrôlé\n{}\n", r.id, r.title, r.severity, if r.scope.is_empty() { "tous les modèles" } else { &r.scope }, r.checks);
        if !r.rationale.is_empty() {
            s.push_str(&format!("\n## Pourquoi\n{}\n", r.rationale));
        }
        if !r.example.is_empty() {
            s.push_str(&format!("\n## Exemple\n{}\n", r.example));
        }
        return Some(s);
    }
    let rule = pack.rule(id)?;
    let m = &rule.meta;
    let mut s = format!("# {} — {}\n\nGravité : {}\nModèle(s) : {}\nFichier : rules/{}\n\n## Ce qui est contrôlé\n{}\n", m.id, m.title, m.severity, rule.templates.as_ref().map(|t| t.join(", ")).unwrap_or_else(|| "tous".into()), rule.path.display(), m.checks);
    if !m.rationale.is_empty() {
        s.push_str(&format!("\n## Pourquoi\n{}\n", m.rationale));
    }
    if !m.references.is_empty() {
        s.push_str("\n## Références\n");
        for r in &m.references {
            s.push_str(&format!("- {r}\n"));
        }
    }
    if !m.parameters.is_empty() {
        s.push_str("\n## Paramètres\n");
        for (k, v) in &m.parameters {
            s.push_str(&format!("- {k} = {}\n", v.display()));
        }
    }
    if let Some(ex) = m.examples.iter().find(|e| e.expect == crate::rules::Expect::Fail) {
        s.push_str(&format!("\n## Exemple en échec : {}\n```json\n{}\n```\n", ex.name, ex.data.trim()));
        let messages = pack.example_messages(rule);
        if !messages.is_empty() {
            s.push_str("Message produit :\n");
            for (p, msg) in messages {
                s.push_str(&format!("- {p} : {msg}\n"));
            }
        }
    }
    Some(s)
}

fn kind_fr(k: &ValueKind) -> String {
    match k {
        ValueKind::Integer => "entier".into(),
        ValueKind::Number => "nombre".into(),
        ValueKind::Text => "texte".into(),
        ValueKind::Date => "date".into(),
        ValueKind::Boolean => "oui/non".into(),
        ValueKind::Enum(v) => format!("une valeur parmi : {}", v.join(" | ")),
    }
}

fn bounds(schema: &serde_json::Value) -> String {
    let mut b = Vec::new();
    if let Some(x) = schema.get("minimum") {
        b.push(format!("≥ {x}"));
    }
    if let Some(x) = schema.get("maximum") {
        b.push(format!("≤ {x}"));
    }
    if b.is_empty() {
        String::new()
    } else {
        format!(" ({})", b.join(", "))
    }
}

/// `bilan explain TEMPLATE_ID`: sheets, fields, types and allowed values.
pub fn explain_template(t: &Template) -> String {
    let mut s = format!("# {} — {}\n\nVersions : {}\n", t.id, t.title, t.versions.join(", "));
    for sheet in &t.sheets {
        s.push_str(&format!("\n## Feuille « {} »{}\n", sheet.name, if sheet.required { "" } else { " (facultative)" }));
        if let Some(d) = &sheet.description {
            s.push_str(&format!("{d}\n"));
        }
        for block in &sheet.blocks {
            match block {
                Block::Field(f) => s.push_str(&format!("- « {} » : {}{}{}\n", f.label, kind_fr(&f.kind), bounds(&f.schema), if f.required { ", obligatoire" } else { ", facultatif" })),
                Block::Title(f) => s.push_str(&format!("- titre (première cellule) : {}\n", f.description.clone().unwrap_or_else(|| f.label.clone()))),
                Block::Table(tb) => {
                    s.push_str(&format!("- tableau{} ; colonnes :\n", if tb.total.is_some() { " avec ligne TOTAL" } else { "" }));
                    for c in &tb.columns {
                        s.push_str(&format!("  - « {} » : {}{}{}\n", c.label, kind_fr(&c.kind), bounds(&c.schema), if c.required { "" } else { ", facultative" }));
                    }
                }
            }
        }
    }
    s
}

/// Finds a template by id in a set.
pub fn find_template<'a>(set: &'a TemplateSet, id: &str) -> Option<&'a Template> {
    set.get(id)
}
