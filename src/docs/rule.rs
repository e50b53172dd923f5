//! One rule's documentation: an engine rule from its catalogue entry, a script
//! rule from its header and its examples (shown as the sheets show them), and
//! its live check in the blank return.

use super::*;

/// An example's data as the sheets show it: each table of the return as a
/// table with its column labels, each single field as « label : value »,
/// under its sheet's name. Values the layout does not place stay by pointer.
pub(super) fn sheet_excerpt(data: &Value, layouts: &[BTreeMap<String, (String, String)>]) -> String {
    let find = |pattern: &str| layouts.iter().find_map(|l| l.get(pattern)).cloned();
    let show = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Number(_) => num(v),
        other => other.to_string(),
    };
    let mut fields: Vec<(String, String, String)> = Vec::new();
    let mut tables: Vec<Excerpt> = Vec::new();
    fn walk(
        v: &Value,
        pointer: &str,
        fields: &mut Vec<(String, String, String)>,
        tables: &mut Vec<Excerpt>,
        find: &dyn Fn(&str) -> Option<(String, String)>,
        show: &dyn Fn(&Value) -> String,
    ) {
        match v {
            Value::Object(map) => {
                for (k, x) in map {
                    walk(x, &format!("{pointer}/{k}"), fields, tables, find, show);
                }
            }
            Value::Array(items) if items.iter().all(Value::is_object) && !items.is_empty() => {
                let mut keys: Vec<String> = Vec::new();
                for item in items {
                    if let Value::Object(m) = item {
                        for k in m.keys() {
                            if !keys.contains(k) {
                                keys.push(k.clone());
                            }
                        }
                    }
                }
                let mut sheet = String::new();
                let headers: Vec<String> = keys
                    .iter()
                    .map(|k| match find(&format!("{pointer}/*/{k}")) {
                        Some((s, label)) => {
                            sheet = s;
                            label
                        }
                        None => k.clone(),
                    })
                    .collect();
                let rows = items
                    .iter()
                    .map(|item| keys.iter().map(|k| item.get(k).map(show).unwrap_or_default()).collect())
                    .collect();
                tables.push((sheet, headers, rows));
            }
            other => {
                let (sheet, label) = find(pointer).unwrap_or_else(|| (String::new(), pointer.to_string()));
                fields.push((sheet, label, show(other)));
            }
        }
    }
    walk(data, "", &mut fields, &mut tables, &find, &show);
    let mut s = String::new();
    for (sheet, label, value) in &fields {
        let on = if sheet.is_empty() {
            String::new()
        } else {
            format!("{sheet} — ")
        };
        s.push_str(&format!("- {on}{label} : {value}\n"));
    }
    for (sheet, headers, rows) in tables {
        if !sheet.is_empty() {
            s.push_str(&format!("\nFeuille « {sheet} » :\n\n"));
        }
        s.push_str(&format!("| {} |\n", headers.join(" | ")));
        s.push_str(&format!("|{}\n", "---|".repeat(headers.len())));
        for r in rows {
            s.push_str(&format!("| {} |\n", r.join(" | ")));
        }
    }
    s
}

pub(super) fn heading(level: usize, text: &str) -> String {
    format!("{} {text}\n", "#".repeat(level.clamp(1, 6)))
}

pub(super) fn severity_fr(s: crate::finding::Severity) -> String {
    format!("{} (`{}`)", s.label_fr(), s.as_str())
}

/// One rule's documentation, its title at heading `level`.
pub(super) fn rule_doc(pack: &RulePack, templates: Option<&TemplateSet>, id: &str, level: usize) -> Option<String> {
    if let Some(r) = pack.engine_rule(id) {
        return Some(engine_rule_doc(r, level));
    }
    pack.rule(id).map(|r| script_rule_doc(pack, templates, r, level))
}

pub(super) fn engine_rule_doc(r: &EngineRule, level: usize) -> String {
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

pub(super) fn or_dash(s: &str) -> &str {
    if s.trim().is_empty() {
        "—"
    } else {
        s.trim()
    }
}

/// `pointer` with its row indexes replaced by `*`, as in [`layout_map`].
pub(super) fn pattern_of(pointer: &str) -> String {
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

pub(super) fn sheets_of_needs(t: &Template, needs: &[String]) -> Vec<String> {
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

pub(super) fn script_rule_doc(pack: &RulePack, templates: Option<&TemplateSet>, rule: &Rule, level: usize) -> String {
    script_rule_doc_with(pack, templates, rule, level, false)
}

/// `excerpt`: examples shown as sheets (terminal) rather than as JSON (reference).
pub(super) fn script_rule_doc_with(
    pack: &RulePack,
    templates: Option<&TemplateSet>,
    rule: &Rule,
    level: usize,
    excerpt: bool,
) -> String {
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
    // A campaign that changes a parameter: the text states its value (« 40 % »).
    let (checks, rationale) = match pack.campaign.as_ref().and_then(|c| Some((c, c.override_of(&m.id)?))) {
        Some((c, o)) if !o.parameters.is_empty() => {
            let mut checks = m.checks.trim().to_string();
            let mut rationale = m.rationale.trim().to_string();
            for (value, previous) in o.parameters.values() {
                if let Some(previous) = previous {
                    checks = replace_figure(&checks, &previous.display(), &value.display());
                    rationale = replace_figure(&rationale, &previous.display(), &value.display());
                }
            }
            checks.push_str(&format!(" (valeurs de la campagne « {} »)", c.name));
            (checks, rationale)
        }
        _ => (m.checks.trim().to_string(), m.rationale.trim().to_string()),
    };
    s.push_str(&heading(level + 1, "Ce qui est contrôlé"));
    s.push_str(&format!("{checks}\n\n"));
    s.push_str(&heading(level + 1, "Pourquoi"));
    s.push_str(&format!("{}\n\n", or_dash(&rationale)));
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
    if let Some(ex) = rule.examples().iter().find(|e| e.expect == Expect::Fail) {
        s.push('\n');
        s.push_str(&heading(level + 1, &format!("Exemple en échec : {}", ex.name)));
        match serde_json::from_str::<Value>(&ex.data) {
            Ok(data) if excerpt => {
                s.push_str("Données du retour :\n\n");
                s.push_str(&sheet_excerpt(&data, &layouts));
                s.push('\n');
            }
            _ => s.push_str(&format!(
                "Données du retour (JSON, comme `bilan extract`) :\n\n```json\n{}\n```\n\n",
                pretty(&ex.data)
            )),
        }
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
    if let Some(ex) = rule.examples().iter().find(|e| e.expect == Expect::Pass) {
        s.push('\n');
        s.push_str(&heading(level + 1, &format!("Exemple conforme : {}", ex.name)));
        match serde_json::from_str::<Value>(&ex.data) {
            Ok(data) if excerpt => s.push_str(&sheet_excerpt(&data, &layouts)),
            _ => s.push_str(&format!("```json\n{}\n```\n", pretty(&ex.data))),
        }
    }
    s
}

/// `text` with the figure `old` (a whole number or decimal, not part of a
/// longer one) replaced by `new`: « 50 % de l'objectif » → « 40 % de l'objectif ».
pub(super) fn replace_figure(text: &str, old: &str, new: &str) -> String {
    if old.is_empty() || old == new {
        return text.to_string();
    }
    let digit_like = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit() || c == ',' || c == '.');
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(old) {
        let before = rest[..i].chars().next_back();
        let after_str = &rest[i + old.len()..];
        let mut after = after_str.chars();
        let next = after.next();
        let decimal_part =
            next.is_some_and(|c| c == ',' || c == '.') && after.next().is_some_and(|c| c.is_ascii_digit());
        let longer = digit_like(before) || next.is_some_and(|c| c.is_ascii_digit()) || decimal_part;
        let bounded = !longer;
        out.push_str(&rest[..i]);
        out.push_str(if bounded { new } else { old });
        rest = after_str;
    }
    out.push_str(rest);
    out
}

/// An example's data, indented (left as written when it is not valid JSON).
pub(super) fn pretty(data: &str) -> String {
    serde_json::from_str::<Value>(data)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| data.trim().to_string())
}

pub(super) fn num(v: &Value) -> String {
    v.as_f64()
        .map(crate::base::format::number_plain)
        .unwrap_or_else(|| v.to_string())
}

/// Whether and how the blank return checks `rule` while it is filled (its
/// `[[live]]` declarations), for `bilan explain` and `docs/REGLES.md`.
pub(super) fn live_doc(rule: &Rule, templates: &[&Template]) -> String {
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
