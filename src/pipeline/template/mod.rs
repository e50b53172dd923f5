//! Templates: the JSON Schema of each return, annotated with where its values sit.
//!
//! One schema file per template is the single source of truth: the `x-` keywords
//! say which sheet, label or column header holds each value; the standard keywords
//! say what the value must be. Extraction, validation, blank templates and
//! documentation are all derived from it. See the README ("Adding a template").
//!
//! Annotations:
//! - root `x-template`: `{ "id", "title", "versions": [...], "organisation": ptr,
//!   "exercice": ptr, "cut_off": ptr }`;
//! - a top-level property with `x-sheet`: an object of fields (`x-label`), tables
//!   and titles held on that sheet, or directly one table (`"type": "array"`);
//! - a table: `"type": "array"`, `items.properties.*` carry `x-header`;
//!   `items.required` are the columns that locate the header row;
//! - a property with `x-total-of: "<sibling table>"`: that table's TOTAL row;
//! - `x-title: true`: the first text cell of the sheet, above any table;
//! - `x-type: "date"` on a string: a date (stored as its canonical interval text);
//! - `x-empty: "zero"` on an amount column: an empty cell means 0;
//! - `x-aliases: [...]`: other accepted spellings of a label or header;
//! - `x-unit`: the unit of an amount, else read from the label's parentheses.

pub mod annotations;
mod detect;
pub mod synthese;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

use crate::base::embedded::SourceFile;
use crate::base::values::{normalize_label, Unit};
pub use synthese::{Synthese, SyntheseColumn};

pub use detect::{detect, find_label_value, Detection};

/// What kind of value a field holds.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueKind {
    Integer,
    Number,
    Text,
    Date,
    Enum(Vec<String>),
    Boolean,
}

/// One value: a label/value field, or a table column.
#[derive(Debug, Clone)]
pub struct FieldSpec {
    /// Property name in the extracted JSON.
    pub key: String,
    /// The label (or column header) as the template prints it.
    pub label: String,
    /// Normalised label and aliases, for matching.
    pub matches: Vec<String>,
    pub kind: ValueKind,
    pub unit: Option<Unit>,
    pub required: bool,
    pub empty_is_zero: bool,
    pub description: Option<String>,
    /// The field's own schema (bounds, enumeration, format), for blank templates and docs.
    pub schema: Value,
}

impl FieldSpec {
    pub fn matches_text(&self, text: &str) -> bool {
        self.matches_normalized(&normalize_label(text))
    }

    /// Like [`Self::matches_text`], for a text already normalised.
    pub fn matches_normalized(&self, normalized: &str) -> bool {
        self.matches.iter().any(|m| m == normalized)
    }
}

/// A table: located by its header row.
#[derive(Debug, Clone)]
pub struct TableSpec {
    pub key: String,
    pub columns: Vec<FieldSpec>,
    pub required: bool,
    /// The property that receives the TOTAL row, if the table has one.
    pub total: Option<TotalSpec>,
    pub description: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TotalSpec {
    pub key: String,
    pub required: bool,
    /// Table columns the total row carries (keys of the table's columns).
    pub columns: Vec<String>,
}

/// What a sheet holds, in the order the schema lists it.
#[derive(Debug, Clone)]
pub enum Block {
    Field(FieldSpec),
    Table(TableSpec),
    Title(FieldSpec),
}

/// One sheet of a template.
#[derive(Debug, Clone)]
pub struct SheetSpec {
    /// Property name of the sheet in the extracted JSON; empty when the sheet is
    /// a single top-level table (its table key is then the property).
    pub key: String,
    pub name: String,
    pub required: bool,
    pub blocks: Vec<Block>,
    pub description: Option<String>,
}

impl SheetSpec {
    /// The sheet's single fields (label and value), in order.
    pub fn fields(&self) -> impl Iterator<Item = &FieldSpec> {
        self.blocks.iter().filter_map(|b| match b {
            Block::Field(f) => Some(f),
            _ => None,
        })
    }

    /// The sheet's tables, in order.
    pub fn tables(&self) -> impl Iterator<Item = &TableSpec> {
        self.blocks.iter().filter_map(|b| match b {
            Block::Table(t) => Some(t),
            _ => None,
        })
    }

    /// JSON pointer prefix of the sheet's values.
    pub fn pointer(&self) -> String {
        if self.key.is_empty() {
            String::new()
        } else {
            format!("/{}", self.key)
        }
    }
}

/// A template: its identity, layout and compiled schema.
pub struct Template {
    pub id: String,
    pub title: String,
    pub versions: Vec<String>,
    pub organisation: Option<String>,
    pub exercice: Option<String>,
    pub cut_off: Option<String>,
    pub sheets: Vec<SheetSpec>,
    /// `x-template.synthese`.
    pub synthese: Option<Synthese>,
    pub schema: Value,
    /// The compiled schema: built when first needed (a process that checks a
    /// return of one template compiles only that one), or at load for a
    /// schema that is not built in (so that a mistake stops the run at once).
    validator: std::sync::OnceLock<Result<jsonschema::Validator, InvalidSchema>>,
    pub source: PathBuf,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Template")
            .field("id", &self.id)
            .field("source", &self.source)
            .finish()
    }
}

impl Template {
    /// The newest version this template knows (versions are listed oldest first).
    pub fn newest_version(&self) -> &str {
        self.versions.last().map(String::as_str).unwrap_or("")
    }

    /// The compiled schema, or why it does not compile (only a schema that is
    /// not built in can fail, and it fails at load: see [`TemplateSet::load`]).
    pub fn validator(&self) -> Result<&jsonschema::Validator, &InvalidSchema> {
        self.validator.get_or_init(|| compile_validator(&self.schema)).as_ref()
    }

    pub fn sheet(&self, name: &str) -> Option<&SheetSpec> {
        let n = normalize_label(name);
        self.sheets.iter().find(|s| normalize_label(&s.name) == n)
    }
}

/// A schema file that cannot be used: the run stops (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct SchemaError {
    pub path: PathBuf,
    pub message: String,
}

/// Every template known to this run.
///
/// The built-in schemas are parsed one by one when first asked for: a
/// return names its template (`Modèle`), so the `check` of one return reads
/// one schema, not seven. Schemas from a folder are all parsed and checked at
/// load, so that a mistake stops the run at once.
#[derive(Debug, Default)]
pub struct TemplateSet {
    /// Each template's id and schema file, by id.
    entries: Vec<Entry>,
}

#[derive(Debug)]
struct Entry {
    id: String,
    file: SourceFile,
    template: std::sync::OnceLock<Option<Template>>,
}

impl Entry {
    /// The template, parsed on first use (`None`: the schema does not parse,
    /// which the tests rule out for the built-in ones).
    fn template(&self) -> Option<&Template> {
        self.template
            .get_or_init(|| parse_schema_file(&self.file, false).ok().flatten())
            .as_ref()
    }
}

impl TemplateSet {
    /// Loads every `*.schema.json` that has an `x-template` (other schemas, such
    /// as the report's, are skipped): annotations checked against the
    /// meta-schema and each schema compiled, so that a mistake stops the run.
    pub fn load(files: &[SourceFile]) -> Result<Self, SchemaError> {
        let mut entries = Vec::new();
        for file in files {
            if let Some(template) = parse_schema_file(file, true)? {
                entries.push(Entry {
                    id: template.id.clone(),
                    file: file.clone(),
                    template: std::sync::OnceLock::from(Some(template)),
                });
            }
        }
        entries.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(Self { entries })
    }

    /// The built-in schemas, tested (`cargo test`: their annotations against the
    /// meta-schema, each compiled, each file named after its template's id):
    /// each read and compiled when first needed.
    pub fn builtin() -> Self {
        let mut entries: Vec<Entry> = crate::base::embedded::schemas()
            .into_iter()
            .filter_map(|file| {
                let id = crate::base::embedded::template_id_of(&file.path)?;
                Some(Entry {
                    id,
                    file,
                    template: std::sync::OnceLock::new(),
                })
            })
            .collect();
        entries.sort_by(|a, b| a.id.cmp(&b.id));
        Self { entries }
    }

    pub fn get(&self, id: &str) -> Option<&Template> {
        let n = normalize_label(id);
        self.entries
            .iter()
            .find(|e| normalize_label(&e.id) == n)
            .and_then(Entry::template)
    }

    /// Every template, by id (the built-in ones all parsed).
    pub fn all(&self) -> Vec<&Template> {
        self.entries.iter().filter_map(Entry::template).collect()
    }

    pub fn ids(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.id.as_str()).collect()
    }
}

/// A schema file read as a template: `None` for a schema without
/// `x-template` (the report's); `check`: its annotations checked against the
/// meta-schema and the schema compiled.
fn parse_schema_file(file: &SourceFile, check: bool) -> Result<Option<Template>, SchemaError> {
    let name = file.path.to_string_lossy();
    if !name.ends_with(".schema.json") {
        return Ok(None);
    }
    let schema: Value = serde_json::from_str(&file.text).map_err(|e| SchemaError {
        path: file.path.clone(),
        message: format!(
            "JSON invalide, ligne {} colonne {} : {}",
            e.line(),
            e.column(),
            crate::base::messages::json_error(&e)
        ),
    })?;
    if check {
        annotations::check(&file.path, &schema)?;
    }
    if schema.get("x-template").is_none() {
        return Ok(None);
    }
    let template = parse_template(&file.path, schema)?;
    if check {
        template.validator().map_err(|e| err(&file.path, e.to_string()))?;
    }
    Ok(Some(template))
}

/// A JSON Schema that does not compile, with the library's reason.
#[derive(Debug, Clone, thiserror::Error)]
#[error("schéma JSON invalide : {0}")]
pub struct InvalidSchema(String);

/// Builds, once per process, what compiling any schema needs first: the
/// library checks each schema against the draft 2020-12 meta-schema, whose own
/// validator it builds on first use (about as long as compiling a template's
/// schema). A worker does it on a spare thread while it loads, so that its
/// first file does not wait for it.
pub fn warm_up_compiler() {
    let _ = compile_validator(&serde_json::json!({}));
}

fn compile_validator(schema: &Value) -> Result<jsonschema::Validator, InvalidSchema> {
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(schema)
        .map_err(|e| InvalidSchema(e.to_string()))
}

fn err(path: &std::path::Path, message: impl Into<String>) -> SchemaError {
    SchemaError {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn str_of(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn required_set(v: &Value) -> Vec<String> {
    v.get("required")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

fn properties(v: &Value) -> Vec<(&String, &Value)> {
    v.get("properties")
        .and_then(Value::as_object)
        .map(|m| m.iter().collect())
        .unwrap_or_default()
}

fn parse_template(path: &std::path::Path, schema: Value) -> Result<Template, SchemaError> {
    let meta = schema.get("x-template").cloned().unwrap_or(Value::Null);
    let id = str_of(&meta, "id").ok_or_else(|| err(path, "x-template.id manquant"))?;
    let versions: Vec<String> = meta
        .get("versions")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    if versions.is_empty() {
        return Err(err(path, "x-template.versions doit lister au moins une version"));
    }
    let required = required_set(&schema);
    let mut sheets = Vec::new();
    let props = properties(&schema);
    for (key, prop) in &props {
        let Some(sheet_name) = str_of(prop, "x-sheet") else {
            continue;
        };
        let is_required = required.contains(key);
        let description = str_of(prop, "description");
        if prop.get("type").and_then(Value::as_str) == Some("array") {
            let table = parse_table(path, key, prop, is_required, &schema)?;
            sheets.push(SheetSpec {
                key: String::new(),
                name: sheet_name,
                required: is_required,
                blocks: vec![Block::Table(table)],
                description,
            });
        } else {
            let blocks = parse_blocks(path, prop)?;
            sheets.push(SheetSpec {
                key: key.to_string(),
                name: sheet_name,
                required: is_required,
                blocks,
                description,
            });
        }
    }
    if sheets.is_empty() {
        return Err(err(
            path,
            "aucune propriété x-sheet : le modèle ne décrit aucune feuille",
        ));
    }
    Ok(Template {
        id,
        title: str_of(&meta, "title")
            .or_else(|| str_of(&schema, "title"))
            .unwrap_or_default(),
        versions,
        organisation: str_of(&meta, "organisation"),
        exercice: str_of(&meta, "exercice"),
        cut_off: str_of(&meta, "cut_off"),
        sheets,
        synthese: Synthese::of_schema(&schema),
        schema,
        validator: std::sync::OnceLock::new(),
        source: path.to_path_buf(),
    })
}

fn parse_blocks(path: &std::path::Path, sheet: &Value) -> Result<Vec<Block>, SchemaError> {
    let required = required_set(sheet);
    let mut blocks = Vec::new();
    for (key, prop) in properties(sheet) {
        let is_required = required.contains(key);
        if prop.get("x-total-of").is_some() {
            continue; // attached to its table below
        }
        if prop.get("type").and_then(Value::as_str) == Some("array") {
            blocks.push(Block::Table(parse_table(path, key, prop, is_required, sheet)?));
        } else if prop.get("x-title").and_then(Value::as_bool) == Some(true) {
            let label = str_of(prop, "title").unwrap_or_else(|| key.clone());
            blocks.push(Block::Title(parse_field(path, key, &label, prop, is_required)?));
        } else if let Some(label) = str_of(prop, "x-label") {
            blocks.push(Block::Field(parse_field(path, key, &label, prop, is_required)?));
        } else {
            return Err(err(
                path,
                format!("la propriété « {key} » n'a ni x-label, ni x-title, ni tableau"),
            ));
        }
    }
    Ok(blocks)
}

fn parse_table(
    path: &std::path::Path,
    key: &str,
    prop: &Value,
    required: bool,
    parent: &Value,
) -> Result<TableSpec, SchemaError> {
    let items = prop
        .get("items")
        .ok_or_else(|| err(path, format!("tableau « {key} » sans items")))?;
    let item_required = required_set(items);
    let mut columns = Vec::new();
    for (col, cprop) in properties(items) {
        let header =
            str_of(cprop, "x-header").ok_or_else(|| err(path, format!("colonne « {key}.{col} » sans x-header")))?;
        columns.push(parse_field(path, col, &header, cprop, item_required.contains(col))?);
    }
    if !columns.iter().any(|c| c.required) {
        return Err(err(
            path,
            format!(
                "tableau « {key} » : au moins une colonne doit être requise (items.required) pour trouver l'en-tête"
            ),
        ));
    }
    let parent_required = required_set(parent);
    let total = properties(parent)
        .into_iter()
        .find(|(_, p)| p.get("x-total-of").and_then(Value::as_str) == Some(key))
        .map(|(tkey, tprop)| TotalSpec {
            key: tkey.clone(),
            required: parent_required.contains(tkey),
            columns: properties(tprop).into_iter().map(|(k, _)| k.clone()).collect(),
        });
    Ok(TableSpec {
        key: key.to_string(),
        columns,
        required,
        total,
        description: str_of(prop, "description"),
    })
}

fn parse_field(
    path: &std::path::Path,
    key: &str,
    label: &str,
    prop: &Value,
    required: bool,
) -> Result<FieldSpec, SchemaError> {
    let ty = prop.get("type").and_then(Value::as_str);
    let kind = if let Some(values) = prop.get("enum").and_then(Value::as_array) {
        ValueKind::Enum(values.iter().filter_map(Value::as_str).map(str::to_string).collect())
    } else if str_of(prop, "x-type").as_deref() == Some("date") {
        ValueKind::Date
    } else {
        match ty {
            Some("integer") => ValueKind::Integer,
            Some("number") => ValueKind::Number,
            Some("string") | None => ValueKind::Text,
            Some("boolean") => ValueKind::Boolean,
            Some(other) => {
                return Err(err(
                    path,
                    format!("« {key} » : type « {other} » non pris en charge pour une cellule"),
                ))
            }
        }
    };
    let mut matches = vec![normalize_label(label)];
    if let Some(aliases) = prop.get("x-aliases").and_then(Value::as_array) {
        matches.extend(aliases.iter().filter_map(Value::as_str).map(normalize_label));
    }
    let unit = match str_of(prop, "x-unit") {
        Some(u) => Some(
            Unit::from_label(&format!("({u})"))
                .ok_or_else(|| err(path, format!("« {key} » : unité x-unit « {u} » inconnue")))?,
        ),
        None => Unit::from_label(label),
    };
    Ok(FieldSpec {
        key: key.to_string(),
        label: label.to_string(),
        matches,
        kind,
        unit,
        required,
        empty_is_zero: str_of(prop, "x-empty").as_deref() == Some("zero"),
        description: str_of(prop, "description"),
        schema: prop.clone(),
    })
}

/// Pointers of a template's layout, for documentation: `pointer → (sheet, label)`.
pub fn layout_map(t: &Template) -> BTreeMap<String, (String, String)> {
    let mut out = BTreeMap::new();
    for sheet in &t.sheets {
        for block in &sheet.blocks {
            match block {
                Block::Field(f) | Block::Title(f) => {
                    out.insert(
                        format!("{}/{}", sheet.pointer(), f.key),
                        (sheet.name.clone(), f.label.clone()),
                    );
                }
                Block::Table(tb) => {
                    for c in &tb.columns {
                        out.insert(
                            format!("{}/{}/*/{}", sheet.pointer(), tb.key, c.key),
                            (sheet.name.clone(), c.label.clone()),
                        );
                    }
                }
            }
        }
    }
    out
}
