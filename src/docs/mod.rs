//! Documentation derived from the rule files and schemas, never written twice:
//! `bilan rules` (the list), `bilan explain ID` (one rule or one template) and
//! the generated rule reference `docs/REGLES.md` (`bilan rules --reference`),
//! which is the same text as `explain`, one section per rule and per template.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::pipeline::rules::{EngineRule, Expect, Rule, RulePack, BATCH_SCOPE};
use crate::pipeline::template::{layout_map, Block, FieldSpec, SheetSpec, Template, TemplateSet, ValueKind};

mod rule;
mod template;
mod terminal;
use rule::*;
pub use template::bounds_fr;
pub use template::expected_fr;
pub use template::template_doc;
use template::*;
pub use terminal::for_terminal;
use terminal::*;

/// Where the rule reference lives in the repository.
pub const REFERENCE_PATH: &str = "docs/REGLES.md";

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
        rows.push(RuleRow {
            id: r.id.clone(),
            severity: r.severity.to_string(),
            template: if r.scope.is_empty() {
                "*".into()
            } else {
                r.scope.clone()
            },
            title: r.title.clone(),
        });
    }
    for r in &pack.rules {
        let t = r
            .templates
            .as_ref()
            .map(|ts| ts.join(","))
            .unwrap_or_else(|| "*".into());
        rows.push(RuleRow {
            id: r.meta.id.clone(),
            severity: r.meta.severity.to_string(),
            template: t,
            title: r.meta.title.clone(),
        });
    }
    if let Some(t) = template {
        rows.retain(|r| r.template == "*" || r.template.split(',').any(|x| x.eq_ignore_ascii_case(t)));
    }
    // Switched off by `pack.toml` or a campaign.
    for r in rows.iter_mut().filter(|r| pack.is_off(&r.id)) {
        r.severity = "off".into();
    }
    rows
}

/// Renders rows as an aligned text table.
pub fn rules_table(rows: &[RuleRow]) -> String {
    let w_id = rows.iter().map(|r| r.id.len()).max().unwrap_or(2).max(2);
    let w_t = rows
        .iter()
        .map(|r| r.template.chars().count())
        .max()
        .unwrap_or(6)
        .max(6);
    let mut out = format!("{:<w_id$}  {:<13}  {:<w_t$}  {}\n", "id", "gravité", "modèle", "titre");
    for r in rows {
        out.push_str(&format!(
            "{:<w_id$}  {:<13}  {:<w_t$}  {}\n",
            r.id,
            // The JSON keeps `error`/`warning`/`info`; people read French.
            crate::finding::Severity::parse(&r.severity).map_or(r.severity.clone(), |s| s.label_fr().to_string()),
            r.template,
            r.title
        ));
    }
    out
}

/// `bilan explain ID`: a rule's documentation, or a template's. `None` when
/// `id` is neither.
pub fn explain(pack: &RulePack, templates: &TemplateSet, id: &str) -> Option<String> {
    rule_doc(pack, Some(templates), id, 1).or_else(|| templates.get(id).map(|t| template_doc(t, 1)))
}

/// `bilan explain` on a terminal: the same documentation, its examples shown
/// as an excerpt of the sheets (labels, not JSON), without Markdown markup
/// (see [`for_terminal`]).
pub fn explain_terminal(pack: &RulePack, templates: &TemplateSet, id: &str) -> Option<String> {
    let md = match pack.engine_rule(id) {
        Some(r) => engine_rule_doc(r, 1),
        None => match pack.rule(id) {
            Some(r) => script_rule_doc_with(pack, Some(templates), r, 1, true),
            None => template_doc(templates.get(id)?, 1),
        },
    };
    Some(for_terminal(&md))
}

/// The rule reference (`docs/REGLES.md`): a summary, one section per engine
/// rule, per script rule (grouped by template) and per template.
pub fn reference(pack: &RulePack, templates: &TemplateSet) -> String {
    let mut s = String::from("# Référence des règles et des modèles\n\n");
    s.push_str("<!-- Fichier généré par `bilan rules --reference` à partir de rules/ et schemas/ : ne pas modifier à la main. Vérifié par tests/rule_reference.rs. -->\n\n");
    s.push_str(&format!(
        "Pack de règles `{}` : {} règles du moteur, {} règles écrites en Rhai, {} modèles. Le même texte s'affiche avec `bilan explain ID`.\n\n",
        pack.name,
        pack.engine_rules.len(),
        pack.rules.len(),
        templates.all().len()
    ));
    s.push_str("## Sommaire\n\n| id | gravité | modèle | titre |\n|---|---|---|---|\n");
    for r in rule_rows(pack, None) {
        s.push_str(&format!(
            "| [{}](#{}) | {} | {} | {} |\n",
            r.id,
            anchor(&r.id),
            r.severity,
            cell(&r.template),
            cell(&r.title)
        ));
    }
    s.push_str("\nModèles : ");
    s.push_str(
        &templates
            .all()
            .into_iter()
            .map(|t| format!("[{}](#{})", t.id, anchor(&t.id)))
            .collect::<Vec<_>>()
            .join(", "),
    );
    s.push_str("\n\n## Règles du moteur (tous les modèles)\n\n");
    for r in &pack.engine_rules {
        s.push_str(&format!("<a id=\"{}\"></a>\n\n", anchor(&r.id)));
        s.push_str(&engine_rule_doc(r, 3));
        s.push('\n');
    }
    // Script rules: common ones first, then by template (set order, then unknown ids).
    let mut groups: Vec<(String, Vec<&Rule>)> = vec![(
        "Règles communes (tous les modèles)".into(),
        pack.rules.iter().filter(|r| r.templates.is_none()).collect(),
    )];
    let mut ids: Vec<String> = templates.ids().iter().map(|s| s.to_string()).collect();
    for r in &pack.rules {
        for t in r.templates.iter().flatten() {
            if !ids.contains(t) {
                ids.push(t.clone());
            }
        }
    }
    for id in ids {
        let rules: Vec<&Rule> = pack
            .rules
            .iter()
            .filter(|r| r.templates.as_ref().and_then(|t| t.first()) == Some(&id))
            .collect();
        let title = if id == BATCH_SCOPE {
            "Contrôles croisés entre retours (`bilan batch`)".to_string()
        } else {
            format!("Règles du modèle {id}")
        };
        groups.push((title, rules));
    }
    for (title, rules) in groups {
        if rules.is_empty() {
            continue;
        }
        s.push_str(&format!("## {title}\n\n"));
        for r in rules {
            s.push_str(&format!("<a id=\"{}\"></a>\n\n", anchor(&r.meta.id)));
            s.push_str(&script_rule_doc(pack, Some(templates), r, 3));
            s.push('\n');
        }
    }
    s.push_str("## Modèles\n\n");
    for t in templates.all() {
        s.push_str(&format!("<a id=\"{}\"></a>\n\n", anchor(&t.id)));
        s.push_str(&template_doc(t, 3));
    }
    // One trailing newline, no trailing blank lines.
    let trimmed = s.trim_end().to_string();
    trimmed + "\n"
}

/// The HTML anchor of a rule or template id.
pub fn anchor(id: &str) -> String {
    id.to_ascii_lowercase()
}
