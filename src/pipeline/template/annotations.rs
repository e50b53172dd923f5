//! The contract of the `x-` annotations, checked when schemas load.
//!
//! `schemas/annotations.meta.json` is a JSON Schema of what a template schema
//! may carry: each known `x-` keyword with its form, `x-template` (and its
//! `synthese`) only at the root, no other `x-` keyword anywhere. Every template
//! schema (built-in or `--schemas DIR`) is validated against it, then the
//! pointers the annotations hold are resolved in the schema itself: the
//! `x-template` pointers and the `synthese` columns must name values of the
//! template, `x-total-of` a neighbouring table. A misspelt keyword or pointer
//! stops the run with a French error naming the file and the JSON pointer, instead
//! of an empty column in a synthesis or an annotation silently ignored.
//!
//! The meta-schema also holds what the engine reads at fixed places: a sheet
//! `Identification` (property `identification`) with the labels `Modèle`
//! (`modele`, template detection) and `Version` (`version`, BILAN-TPL-002); the
//! `Modèle` constant, when given, is the template's id.

use std::path::Path;
use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

use super::SchemaError;

/// The meta-schema, built into the binary: the annotations are the engine's
/// contract, whatever schema folder a run uses.
pub const META_SCHEMA: &str = include_str!("../../../schemas/annotations.meta.json");

/// At most this many problems are listed in one error.
const MAX_LISTED: usize = 10;

/// The built-in meta-schema cannot be used (a broken build: tested).
#[derive(Debug, Clone, thiserror::Error)]
enum MetaError {
    #[error("méta-schéma des annotations illisible : {0}")]
    Unreadable(String),
    #[error("méta-schéma des annotations invalide : {0}")]
    Invalid(String),
}

fn meta() -> Result<&'static jsonschema::Validator, &'static MetaError> {
    static META: OnceLock<Result<jsonschema::Validator, MetaError>> = OnceLock::new();
    META.get_or_init(|| {
        let schema: Value = serde_json::from_str(META_SCHEMA).map_err(|e| MetaError::Unreadable(e.to_string()))?;
        jsonschema::draft202012::new(&schema).map_err(|e| MetaError::Invalid(e.to_string()))
    })
    .as_ref()
}

/// True when `schema` is meant as a template: it has `x-template`, or an `x-`
/// keyword at its root (a misspelt `x-template` must not make it silently skipped).
pub fn is_template(schema: &Value) -> bool {
    schema
        .as_object()
        .is_some_and(|o| o.keys().any(|k| k.starts_with("x-")))
}

/// Checks the annotations of a template schema; `Ok` for a schema that is not a
/// template (no `x-` keyword at its root, such as the report's schema).
pub fn check(path: &Path, schema: &Value) -> Result<(), SchemaError> {
    if !is_template(schema) {
        return Ok(());
    }
    let validator = meta().map_err(|e| SchemaError {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut problems: Vec<(String, String)> = validator
        .iter_errors(schema)
        .map(|e| describe(e.instance_path().as_str(), e.instance(), e.kind()))
        .collect();
    if problems.is_empty() {
        problems = pointers(schema);
    }
    if problems.is_empty() {
        return Ok(());
    }
    problems.sort();
    problems.dedup();
    let n = problems.len();
    let mut lines: Vec<String> = problems
        .into_iter()
        .take(MAX_LISTED)
        .map(|(pointer, message)| format!("annotation invalide en {} : {message}", shown_pointer(&pointer)))
        .collect();
    if n > MAX_LISTED {
        lines.push(format!("… et {} autre(s)", n - MAX_LISTED));
    }
    Err(SchemaError {
        path: path.to_path_buf(),
        message: lines.join(" ; "),
    })
}

fn shown_pointer(p: &str) -> String {
    if p.is_empty() {
        "« / » (racine)".to_string()
    } else {
        format!("« {p} »")
    }
}

fn known() -> String {
    serde_json::from_str::<Value>(META_SCHEMA)
        .ok()
        .and_then(|m| {
            m.pointer("/$defs/node/propertyNames/then/enum")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
        })
        .unwrap_or_default()
}

fn json_text(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

fn type_fr(t: &str) -> &'static str {
    match t {
        "string" => "un texte",
        "object" => "un objet",
        "array" => "une liste",
        "boolean" => "un booléen (true ou false)",
        "number" | "integer" => "un nombre",
        _ => "du type attendu",
    }
}

/// `(JSON pointer, French message)` of one meta-schema violation.
fn describe(path: &str, instance: &Value, kind: &ValidationErrorKind) -> (String, String) {
    use ValidationErrorKind as K;
    let key = path.rsplit('/').next().unwrap_or_default().to_string();
    match kind {
        K::PropertyNames { error } => {
            let name = error.instance().as_str().unwrap_or_default().to_string();
            (
                format!("{path}/{name}"),
                format!("mot-clé « {name} » inconnu (annotations connues : {})", known()),
            )
        }
        K::FalseSchema if key == "x-template" => (
            path.to_string(),
            "x-template n'a sa place qu'à la racine du schéma".to_string(),
        ),
        K::FalseSchema => (path.to_string(), format!("« {key} » n'est pas permis ici")),
        K::AdditionalProperties { unexpected } => (
            format!("{path}/{}", unexpected.first().cloned().unwrap_or_default()),
            format!(
                "clé(s) inconnue(s) {} (voir schemas/annotations.meta.json pour les clés permises)",
                unexpected
                    .iter()
                    .map(|u| format!("« {u} »"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        K::Required { property } => (
            path.to_string(),
            format!("« {} » est obligatoire", property.as_str().unwrap_or_default()),
        ),
        K::Type { kind } => {
            let wanted = match kind {
                TypeKind::Single(t) => type_fr(&t.to_string()),
                TypeKind::Multiple(_) => "d'un autre type",
            };
            (path.to_string(), format!("{} n'est pas {wanted}", json_text(instance)))
        }
        K::Enum { options } => (
            path.to_string(),
            format!(
                "{} n'est pas une valeur permise ({})",
                json_text(instance),
                json_text(options)
            ),
        ),
        K::Constant { expected_value } => (
            path.to_string(),
            format!(
                "{} : seule la valeur {} est permise",
                json_text(instance),
                json_text(expected_value)
            ),
        ),
        K::Pattern { .. } if key == "id" => (
            path.to_string(),
            format!(
                "{} : identifiant en capitales, chiffres et tirets (BILAN-POLE)",
                json_text(instance)
            ),
        ),
        K::Pattern { .. } => (
            path.to_string(),
            format!(
                "{} n'est pas un pointeur JSON absolu (/feuille/valeur)",
                json_text(instance)
            ),
        ),
        K::MinLength { .. } => (path.to_string(), "texte vide".to_string()),
        K::MinItems { .. } => (path.to_string(), "liste vide".to_string()),
        other => (
            path.to_string(),
            format!("non conforme au méta-schéma des annotations ({other:?})"),
        ),
    }
}

/// The `x-parts` of a table's schema: `(of, name)`, the keys of the column that
/// names a row's parent and of the column that holds the names.
pub fn parts_of(table: &Value) -> Option<(&str, &str)> {
    let parts = table.get("x-parts")?;
    Some((parts.get("of")?.as_str()?, parts.get("name")?.as_str()?))
}

/// Whether the table at `pointer` (in the data: `/outils`) has `x-parts`: its
/// TOTAL is not the plain sum of its rows, so a blank return leaves it to type.
pub fn has_parts(schema: &Value, pointer: &str) -> bool {
    resolve(schema, pointer).and_then(parts_of).is_some()
}

/// Which key figures of a return count in the TOTAL line of the batch synthesis,
/// row by row and column by column (`rows` as `batch::key_rows` gives them).
///
/// When the `rows` table has `"x-parts": {"of": P, "name": N}` (both columns of
/// the synthesis), a row whose `P` is filled is a part of the row whose `N` it
/// names (compared like labels): it counts only where that row, itself not a
/// part, gives no figure (a row left empty is the sum of its parts); a part that
/// names no row does not count. Otherwise every figure counts.
pub fn counted_in_total(
    schema: &Value,
    spec: &crate::pipeline::template::synthese::Synthese,
    rows: &[Vec<Value>],
) -> Vec<Vec<bool>> {
    let all = || rows.iter().map(|r| vec![true; r.len()]).collect();
    let table = spec.rows.as_deref().and_then(|p| resolve(schema, p));
    let Some((of_key, name_key)) = table.and_then(parts_of) else {
        return all();
    };
    let index_of = |wanted: &str| spec.columns.iter().position(|c| c.pointer == wanted);
    let (Some(of), Some(name)) = (index_of(of_key), index_of(name_key)) else {
        return all();
    };
    let text = |row: &Vec<Value>, i: usize| {
        row.get(i)
            .and_then(Value::as_str)
            .map(crate::base::values::normalize_label)
            .filter(|t| !t.is_empty())
    };
    // Name → its first two rows (a row may not be its own parent): linear time.
    let mut named: std::collections::HashMap<String, Vec<usize>> = std::collections::HashMap::new();
    for (o, row) in rows.iter().enumerate() {
        if let Some(n) = text(row, name) {
            let at = named.entry(n).or_default();
            if at.len() < 2 {
                at.push(o);
            }
        }
    }
    // None: not a part; Some(None): a part of no row; Some(Some(o)): a part of o.
    let owners: Vec<Option<Option<usize>>> = (0..rows.len())
        .map(|r| {
            let wanted = text(&rows[r], of)?;
            Some(named.get(&wanted).and_then(|at| at.iter().copied().find(|&o| o != r)))
        })
        .collect();
    owners
        .iter()
        .enumerate()
        .map(|(r, owner)| {
            (0..rows[r].len())
                .map(|i| match owner {
                    None => true,
                    Some(None) => false,
                    Some(Some(o)) => owners[*o].is_none() && rows[*o].get(i).is_none_or(|v| v.is_null()),
                })
                .collect()
        })
        .collect()
}

/// The schema that a pointer into the data designates (`/identification/exercice`
/// → `properties.identification.properties.exercice`), through objects and
/// tables (`/outils/0/outil` or `/outils/*/outil`).
fn resolve<'s>(schema: &'s Value, pointer: &str) -> Option<&'s Value> {
    let mut node = schema;
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        node = match node.get("properties").and_then(|p| p.get(&seg)) {
            Some(next) => next,
            None if seg == "*" || seg.parse::<usize>().is_ok() => node.get("items")?,
            None => return None,
        };
    }
    Some(node)
}

fn is_table(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("array") && v.get("items").is_some()
}

/// Pointers held by annotations that name nothing in the schema.
fn pointers(schema: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let meta = &schema["x-template"];
    let modele = "/properties/identification/properties/modele";
    if let Some(id) = meta.get("id") {
        if let Some(m) = schema.pointer(&format!("{modele}/const")).filter(|m| *m != id) {
            out.push((
                format!("{modele}/const"),
                format!(
                    "le Modèle {} n'est pas l'identifiant du modèle {}",
                    json_text(m),
                    json_text(id)
                ),
            ));
        }
        if let Some(e) = schema
            .pointer(&format!("{modele}/enum"))
            .filter(|e| !e.as_array().is_some_and(|a| a.contains(id)))
        {
            out.push((
                format!("{modele}/enum"),
                format!(
                    "les valeurs {} du Modèle ne contiennent pas l'identifiant du modèle {}",
                    json_text(e),
                    json_text(id)
                ),
            ));
        }
    }
    for (i, p) in meta
        .get("cross_file")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(p) = p.as_str().filter(|p| resolve(schema, p).is_none()) {
            out.push((
                format!("/x-template/cross_file/{i}"),
                format!("le pointeur « {p} » ne désigne aucune valeur du modèle"),
            ));
        }
    }
    for key in ["organisation", "exercice", "cut_off"] {
        if let Some(p) = meta.get(key).and_then(Value::as_str) {
            if resolve(schema, p).is_none() {
                out.push((
                    format!("/x-template/{key}"),
                    format!("le pointeur « {p} » ne désigne aucune valeur du modèle"),
                ));
            }
        }
    }
    if let Some(syn) = meta.get("synthese") {
        let rows = syn.get("rows").and_then(Value::as_str);
        let table = rows.and_then(|r| resolve(schema, r));
        if let Some(r) = rows {
            if !table.is_some_and(is_table) {
                out.push((
                    "/x-template/synthese/rows".to_string(),
                    format!("« {r} » ne désigne aucun tableau du modèle"),
                ));
            }
        }
        let columns = syn
            .get("columns")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (i, c) in columns.iter().enumerate() {
            let Some(p) = c.get("pointer").and_then(Value::as_str) else {
                continue;
            };
            let at = format!("/x-template/synthese/columns/{i}/pointer");
            if c.get("aggregate").is_some() {
                // An aggregate is computed on a table: its pointer names the
                // table, `field` and `over` its columns.
                match resolve(schema, p).filter(|t| is_table(t)) {
                    None => out.push((at, format!("« {p} » ne désigne aucun tableau du modèle (aggregate)"))),
                    Some(t) => {
                        for key in ["field", "over"] {
                            if let Some(col) = c.get(key).and_then(Value::as_str) {
                                if t.pointer(&format!("/items/properties/{col}")).is_none() {
                                    out.push((
                                        format!("/x-template/synthese/columns/{i}/{key}"),
                                        format!("« {col} » n'est pas une colonne du tableau « {p} »"),
                                    ));
                                }
                            }
                        }
                    }
                }
                continue;
            }
            if p.starts_with('/') {
                if resolve(schema, p).is_none() {
                    out.push((at, format!("le pointeur « {p} » ne désigne aucune valeur du modèle")));
                }
            } else {
                match (rows, table.filter(|t| is_table(t))) {
                    (None, _) => out.push((
                        at,
                        format!("« {p} » est une colonne de tableau, mais synthese n'a pas de rows : écrivez un pointeur absolu ou ajoutez rows"),
                    )),
                    (Some(r), Some(t)) if t.pointer(&format!("/items/properties/{p}")).is_none() => out.push((
                        at,
                        format!("« {p} » n'est pas une colonne du tableau « {r} »"),
                    )),
                    _ => {}
                }
            }
        }
    }
    // The synthesis can only keep parts out of its TOTAL if it lists both columns.
    if let Some((Some(rows), Some(table))) = meta.get("synthese").map(|syn| {
        let rows = syn.get("rows").and_then(Value::as_str);
        (rows, rows.and_then(|r| resolve(schema, r)))
    }) {
        if let Some((of, name)) = parts_of(table) {
            let columns = meta
                .pointer("/synthese/columns")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for key in [of, name] {
                if !columns
                    .iter()
                    .any(|c| c.get("pointer").and_then(Value::as_str) == Some(key))
                {
                    out.push((
                        "/x-template/synthese/columns".to_string(),
                        format!("le tableau « {rows} » a des parties (x-parts) : ajoutez la colonne « {key} » à la synthèse, sans quoi son TOTAL compterait les parties deux fois"),
                    ));
                }
            }
        }
    }
    totals(schema, "", &mut out);
    out
}

/// `x-total-of` names a table beside it (a property of the same object).
fn totals(node: &Value, at: &str, out: &mut Vec<(String, String)>) {
    let Some(props) = node.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (key, prop) in props {
        let here = format!("{at}/properties/{}", key.replace('~', "~0").replace('/', "~1"));
        if let Some(parts) = prop.get("x-parts") {
            for which in ["of", "name"] {
                let Some(col) = parts.get(which).and_then(Value::as_str) else {
                    continue;
                };
                if prop.pointer(&format!("/items/properties/{col}")).is_none() {
                    out.push((
                        format!("{here}/x-parts/{which}"),
                        format!("« {col} » n'est pas une colonne du tableau « {key} »"),
                    ));
                }
            }
        }
        if let Some(of) = prop.get("x-total-of").and_then(Value::as_str) {
            if !props.get(of).is_some_and(is_table) {
                out.push((
                    format!("{here}/x-total-of"),
                    format!("« {of} » n'est pas un tableau voisin de « {key} »"),
                ));
            }
        }
        totals(prop, &here, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn minimal() -> Value {
        json!({
            "x-template": {"id": "T", "versions": ["1"], "exercice": "/identification/exercice",
                "synthese": {"rows": "/lignes", "columns": [
                    {"label": "Exercice", "pointer": "/identification/exercice"},
                    {"label": "Montant", "pointer": "montant", "total": true}]}},
            "type": "object",
            "properties": {
                "identification": {"x-sheet": "Identification", "type": "object", "properties": {
                    "modele": {"x-label": "Modèle", "type": "string", "const": "T"},
                    "version": {"x-label": "Version", "type": "string"},
                    "exercice": {"x-label": "Exercice", "type": "integer"}}},
                "lignes": {"x-sheet": "Lignes", "type": "array", "x-parts": {"of": "montant", "name": "montant"}, "items": {"type": "object",
                    "required": ["montant"],
                    "properties": {"montant": {"x-header": "Montant (€)", "x-empty": "zero", "type": "number"}}}},
                "lignes_total": {"x-total-of": "lignes", "type": "object"}
            }
        })
    }

    fn error_of(v: &Value) -> String {
        match check(Path::new("schemas/T.schema.json"), v) {
            Ok(()) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_meta_schema_compiles_and_accepts_a_good_schema() {
        assert!(meta().is_ok(), "{:?}", meta().err());
        assert_eq!(error_of(&minimal()), "");
    }

    #[test]
    fn the_built_in_schemas_pass_every_check_of_a_load() {
        // `TemplateSet::builtin()` trusts them and does not check them at each
        // start: a broken built-in schema fails here.
        let set = crate::pipeline::template::TemplateSet::load(&crate::base::embedded::schemas());
        assert!(set.is_ok(), "{:?}", set.err());
        let checked: Vec<String> = set
            .map(|s| s.all().iter().map(|t| t.id.clone()).collect())
            .unwrap_or_default();
        // `builtin()` names each template after its file and parses it when
        // first asked for: the same templates, each parsing to the same id.
        let lazy = crate::pipeline::template::TemplateSet::builtin();
        assert_eq!(lazy.ids(), checked.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(checked.len() >= 7, "{checked:?}");
        for id in &checked {
            assert_eq!(lazy.get(id).map(|t| t.id.as_str()), Some(id.as_str()), "{id}");
        }
    }

    #[test]
    fn a_schema_without_annotations_is_not_a_template() {
        assert_eq!(
            error_of(&json!({"type": "object", "properties": {"a": {"type": "string"}}})),
            ""
        );
    }

    #[test]
    fn misplaced_or_malformed_annotations_are_named_with_their_pointer() {
        let cases: Vec<(&str, Value, &str)> = vec![
            (
                "/properties/lignes/items/properties/montant/x-headr",
                json!("Montant (€)"),
                "mot-clé « x-headr » inconnu",
            ),
            (
                "/properties/lignes/items/properties/montant/x-empty",
                json!("0"),
                "n'est pas une valeur permise",
            ),
            (
                "/properties/identification/x-template",
                json!({"id": "T", "versions": ["1"]}),
                "qu'à la racine",
            ),
            ("/x-template/synthese/columns/1/totla", json!(true), "« totla »"),
            (
                "/x-template/synthese/columns/1/pointer",
                json!("montnat"),
                "« montnat » n'est pas une colonne du tableau « /lignes »",
            ),
            (
                "/x-template/synthese/columns/0/pointer",
                json!("/identification/exrcice"),
                "ne désigne aucune valeur",
            ),
            (
                "/x-template/exercice",
                json!("/identification/annee"),
                "ne désigne aucune valeur",
            ),
            (
                "/properties/lignes_total/x-total-of",
                json!("ligne"),
                "« ligne » n'est pas un tableau voisin",
            ),
            ("/x-template/versions", json!([]), "liste vide"),
            (
                "/properties/identification/properties/version/x-label",
                json!("Révision"),
                "seule la valeur \"Version\" est permise",
            ),
            (
                "/properties/identification/properties/modele/const",
                json!("U"),
                "n'est pas l'identifiant du modèle \"T\"",
            ),
            (
                "/properties/lignes/x-parts/of",
                json!("partie"),
                "« partie » n'est pas une colonne du tableau « lignes »",
            ),
            ("/properties/lignes/x-parts/sens", json!(1), "« sens »"),
            (
                "/properties/identification/properties/modele/enum",
                json!(["U"]),
                "ne contiennent pas l'identifiant du modèle \"T\"",
            ),
        ];
        for (pointer, value, expected) in cases {
            let mut v = minimal();
            let (parent, last) = pointer.rsplit_once('/').unwrap_or_default();
            if let Some(obj) = v.pointer_mut(parent).and_then(Value::as_object_mut) {
                obj.insert(last.to_string(), value);
            }
            let e = error_of(&v);
            assert!(e.starts_with("schemas/T.schema.json: "), "{pointer}: {e}");
            assert!(e.contains(&format!("« {pointer} »")), "{pointer}: {e}");
            assert!(e.contains(expected), "{pointer}: {e}");
        }
    }

    #[test]
    fn parts_count_in_the_total_only_where_their_row_gives_no_figure() {
        let schema = json!({"properties": {"lignes": {"type": "array", "x-parts": {"of": "part", "name": "outil"},
            "items": {"properties": {"outil": {}, "part": {}, "m": {}}}}}});
        let spec = json!({"rows": "/lignes", "columns": [
            {"label": "Outil", "pointer": "outil"},
            {"label": "Dont part de", "pointer": "part"},
            {"label": "Montant", "pointer": "m", "total": true}]});
        let spec: crate::pipeline::template::Synthese =
            serde_json::from_value(spec).unwrap_or_else(|e| panic!("spec: {e}"));
        let rows = vec![
            vec![json!("FINORPA"), Value::Null, Value::Null],
            vec![json!("SCR"), json!("Finorpa"), json!(4.065)],
            vec![json!("FSI (total)"), Value::Null, json!(8.41)],
            vec![json!("F.S.I. FEDER"), json!("FSI (total)"), json!(4.92)],
            vec![json!("Autre"), json!("Inconnu"), json!(1)],
        ];
        let counted: Vec<bool> = counted_in_total(&schema, &spec, &rows).iter().map(|r| r[2]).collect();
        assert_eq!(counted, [true, true, true, false, false]);
        let without = json!({"properties": {"lignes": {"type": "array", "items": {}}}});
        assert!(counted_in_total(&without, &spec, &rows)
            .iter()
            .all(|r| r.iter().all(|c| *c)));
    }

    #[test]
    fn a_misspelt_x_template_is_not_silently_skipped() {
        let mut v = minimal();
        if let Some(o) = v.as_object_mut() {
            let meta = o.remove("x-template").unwrap_or_default();
            o.insert("x-templat".into(), meta);
        }
        let e = error_of(&v);
        assert!(e.contains("mot-clé « x-templat » inconnu"), "{e}");
        assert!(e.contains("« x-template » est obligatoire"), "{e}");
    }
}
