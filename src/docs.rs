//! Documentation derived from the rule files and schemas, never written twice:
//! `bilan rules` (the list), `bilan explain ID` (one rule or one template) and
//! the generated rule reference `docs/REGLES.md` (`bilan rules --reference`),
//! which is the same text as `explain`, one section per rule and per template.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::pipeline::rules::{EngineRule, Expect, Rule, RulePack, BATCH_SCOPE};
use crate::pipeline::template::{layout_map, Block, FieldSpec, SheetSpec, Template, TemplateSet, ValueKind};

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

fn heading(level: usize, text: &str) -> String {
    format!("{} {text}\n", "#".repeat(level.clamp(1, 6)))
}

fn severity_fr(s: crate::finding::Severity) -> String {
    format!("{} (`{}`)", s.label_fr(), s.as_str())
}

/// One rule's documentation, its title at heading `level`.
fn rule_doc(pack: &RulePack, templates: Option<&TemplateSet>, id: &str, level: usize) -> Option<String> {
    if let Some(r) = pack.engine_rule(id) {
        return Some(engine_rule_doc(r, level));
    }
    pack.rule(id).map(|r| script_rule_doc(pack, templates, r, level))
}

fn engine_rule_doc(r: &EngineRule, level: usize) -> String {
    let mut s = heading(level, &format!("{} — {}", r.id, r.title));
    s.push_str(&format!("\n- Gravité : {}\n", severity_fr(r.severity)));
    s.push_str(&format!(
        "- Portée : contrôle du moteur, {}\n",
        if r.scope.is_empty() {
            "tous les modèles".to_string()
        } else {
            format!("modèle {}", r.scope)
        }
    ));
    s.push_str("- Défini dans : `rules/engine.toml` (mis en œuvre en Rust)\n");
    s.push('\n');
    s.push_str(&heading(level + 1, "Ce qui est contrôlé"));
    s.push_str(&format!("{}\n\n", r.checks.trim()));
    s.push_str(&heading(level + 1, "Pourquoi"));
    s.push_str(&format!("{}\n\n", or_dash(&r.rationale)));
    s.push_str(&heading(level + 1, "Paramètres et tolérance"));
    s.push_str("Aucun paramètre de règle : contrôle fait par le moteur, sans tolérance.\n\n");
    s.push_str(&heading(level + 1, "Références"));
    s.push_str("Contrat des modèles de retour (règles communes à tous les modèles) ; contrôle de forme, sans référence réglementaire.\n\n");
    s.push_str(&heading(level + 1, "Exemple en échec et message"));
    s.push_str(&format!("{}\n", or_dash(&r.example)));
    s
}

fn or_dash(s: &str) -> &str {
    if s.trim().is_empty() {
        "—"
    } else {
        s.trim()
    }
}

/// `pointer` with its row indexes replaced by `*`, as in [`layout_map`].
fn pattern_of(pointer: &str) -> String {
    pointer
        .split('/')
        .map(|p| {
            if !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) {
                "*"
            } else {
                p
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn sheets_of_needs(t: &Template, needs: &[String]) -> Vec<String> {
    let mut names = Vec::new();
    for n in needs {
        let first = n.split('/').find(|p| !p.is_empty()).unwrap_or_default();
        for sheet in &t.sheets {
            let hit = sheet.key == first || sheet.blocks.iter().any(|b| matches!(b, Block::Table(tb) if sheet.key.is_empty() && (tb.key == first || tb.total.as_ref().is_some_and(|x| x.key == first))));
            if hit && !names.contains(&sheet.name) {
                names.push(sheet.name.clone());
            }
        }
    }
    names
}

fn script_rule_doc(pack: &RulePack, templates: Option<&TemplateSet>, rule: &Rule, level: usize) -> String {
    let m = &rule.meta;
    let mut s = heading(level, &format!("{} — {}", m.id, m.title));
    s.push_str(&format!("\n- Gravité : {}\n", severity_fr(m.severity)));
    match rule.templates.as_deref() {
        Some([only]) if only == BATCH_SCOPE => {
            s.push_str("- Portée : contrôle croisé entre les retours d'un lot (`bilan batch`)\n")
        }
        Some(ids) => s.push_str(&format!("- Modèle(s) : {}\n", ids.join(", "))),
        None => s.push_str("- Modèle(s) : tous les modèles\n"),
    }
    s.push_str(&format!(
        "- Fichier : `rules/{}`\n",
        rule.path.display().to_string().replace('\\', "/")
    ));
    let rule_templates: Vec<&Template> = match (templates, &rule.templates) {
        (Some(set), Some(ids)) => ids.iter().filter_map(|id| set.get(id)).collect(),
        _ => Vec::new(),
    };
    if !m.needs.is_empty() {
        let mut read: Vec<String> = Vec::new();
        for t in &rule_templates {
            for name in sheets_of_needs(t, &m.needs) {
                read.push(format!("« {name} »"));
            }
        }
        read.dedup();
        if read.is_empty() {
            s.push_str(&format!(
                "- Données lues : {} (la règle ne s'applique pas quand elles manquent)\n",
                m.needs.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
            ));
        } else {
            s.push_str(&format!(
                "- Feuille(s) lue(s) : {} (la règle ne s'applique pas quand elles manquent)\n",
                read.join(", ")
            ));
        }
    }
    s.push('\n');
    s.push_str(&heading(level + 1, "Ce qui est contrôlé"));
    s.push_str(&format!("{}\n\n", m.checks.trim()));
    s.push_str(&heading(level + 1, "Pourquoi"));
    s.push_str(&format!("{}\n\n", or_dash(&m.rationale)));
    s.push_str(&heading(level + 1, "Paramètres et tolérance"));
    if m.parameters.is_empty() {
        s.push_str("Aucun paramètre : la comparaison est exacte.\n");
    } else {
        for (k, v) in &m.parameters {
            let note = if k == "tolerance" {
                " — écart toléré entre les valeurs comparées, dans leur unité"
            } else {
                ""
            };
            let range = if v.min.is_some() || v.max.is_some() {
                format!(" (plage permise : {})", v.range_fr())
            } else {
                String::new()
            };
            let what = v.description.as_deref().map(|d| format!(" — {d}")).unwrap_or_default();
            s.push_str(&format!("- {k} = {}{range}{what}{note}\n", v.display()));
        }
        if !m.parameters.contains_key("tolerance") {
            s.push_str("- pas de tolérance : la comparaison est exacte\n");
        }
    }
    s.push('\n');
    s.push_str(&heading(level + 1, "Contrôle en direct dans le modèle vierge"));
    s.push_str(&live_doc(rule, &rule_templates));
    s.push('\n');
    s.push_str(&heading(level + 1, "Références"));
    if m.references.is_empty() {
        let mut derived = Vec::new();
        for t in &rule_templates {
            let sheets = sheets_of_needs(t, &m.needs);
            let on = if sheets.is_empty() {
                String::new()
            } else {
                format!(
                    ", feuille(s) {}",
                    sheets.iter().map(|n| format!("« {n} »")).collect::<Vec<_>>().join(", ")
                )
            };
            derived.push(format!("- Modèle {} {}{on}", t.id, t.newest_version()));
        }
        if derived.is_empty() {
            s.push_str("Règles communes des modèles de retour.\n");
        } else {
            s.push_str(&(derived.join("\n") + "\n"));
        }
    } else {
        for r in &m.references {
            s.push_str(&format!("- {r}\n"));
        }
    }
    let layouts: Vec<BTreeMap<String, (String, String)>> = rule_templates.iter().map(|t| layout_map(t)).collect();
    let place = |pointer: &str| -> String {
        let p = pattern_of(pointer);
        layouts
            .iter()
            .find_map(|l| l.get(&p))
            .map(|(sheet, label)| format!(" (feuille « {sheet} », « {label} »)"))
            .unwrap_or_default()
    };
    if let Some(ex) = m.examples.iter().find(|e| e.expect == Expect::Fail) {
        s.push('\n');
        s.push_str(&heading(level + 1, &format!("Exemple en échec : {}", ex.name)));
        s.push_str(&format!(
            "Données du retour (JSON, comme `bilan extract`) :\n\n```json\n{}\n```\n\n",
            pretty(&ex.data)
        ));
        let messages = pack.example_messages(rule);
        if messages.is_empty() {
            s.push_str("(la règle ne produit pas de message sur cet exemple)\n");
        } else {
            s.push_str("Message produit :\n\n");
            for (p, msg) in messages
                .iter()
                .filter(|(p, _)| ex.findings.is_empty() || ex.findings.contains(p))
            {
                s.push_str(&format!("- `{p}`{} : {msg}\n", place(p)));
            }
        }
    }
    if let Some(ex) = m.examples.iter().find(|e| e.expect == Expect::Pass) {
        s.push('\n');
        s.push_str(&heading(level + 1, &format!("Exemple conforme : {}", ex.name)));
        s.push_str(&format!("```json\n{}\n```\n", pretty(&ex.data)));
    }
    s
}

/// An example's data, indented (left as written when it is not valid JSON).
fn pretty(data: &str) -> String {
    serde_json::from_str::<Value>(data)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| data.trim().to_string())
}

fn num(v: &Value) -> String {
    v.as_f64()
        .map(crate::base::format::number_plain)
        .unwrap_or_else(|| v.to_string())
}

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

fn kind_fr(f: &FieldSpec) -> String {
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
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Allowed values, bounds and other constraints of a field, for the docs.
fn constraints(f: &FieldSpec) -> String {
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

fn field_table(fields: &[&FieldSpec], prefix: &str, header: &str, required_word: (&str, &str)) -> String {
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

fn sheet_doc(sheet: &SheetSpec, level: usize) -> String {
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
        templates.templates.len()
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
            .templates
            .iter()
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
    for t in &templates.templates {
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

/// Whether and how the blank return checks `rule` while it is filled (its
/// `[[live]]` declarations), for `bilan explain` and `docs/REGLES.md`.
fn live_doc(rule: &Rule, templates: &[&Template]) -> String {
    let items: Vec<crate::pipeline::rules::live::LiveItem> =
        rule.meta.live.iter().filter_map(|d| d.items().ok()).flatten().collect();
    if items.is_empty() {
        return "Aucun : cette règle n'est vérifiée que par bilan, pas par le tableur pendant la saisie.\n".into();
    }
    let mut s = String::from(
        "Oui : le modèle vierge (`bilan template`) colore la cellule en rouge dès que les chiffres saisis la contredisent, et son message de saisie cite la règle. Le contrôle en direct ne porte que sur des nombres saisis comme nombres ; bilan reste la référence.\n",
    );
    let place = |pointer: &str| -> String {
        for t in templates {
            if let Some((sheet, label)) = crate::pipeline::template::layout_map(t).get(pointer) {
                return format!("« {sheet} › {label} »");
            }
            for sheet in &t.sheets {
                for block in &sheet.blocks {
                    let Block::Table(tb) = block else { continue };
                    let Some(total) = &tb.total else { continue };
                    for c in &tb.columns {
                        if pointer == format!("{}/{}/{}", sheet.pointer(), total.key, c.key) {
                            return format!("« {} › ligne TOTAL, {} »", sheet.name, c.label);
                        }
                    }
                }
            }
        }
        format!("`{pointer}`")
    };
    for item in &items {
        let kind = match item.shape {
            crate::pipeline::rules::live::LiveShape::Sum { .. } => "somme",
            crate::pipeline::rules::live::LiveShape::Part { .. } => "partie ≤ tout",
            crate::pipeline::rules::live::LiveShape::Order { .. } => "ordre des dates",
            crate::pipeline::rules::live::LiveShape::Rate { .. } => "taux",
        };
        s.push_str(&format!("- {kind}, sur {} : {}\n", place(&item.on), item.message));
    }
    s
}
