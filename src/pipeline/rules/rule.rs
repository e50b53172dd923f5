//! One rule file loaded: its header (built at build time for a built-in rule,
//! parsed here for a rule folder), its script compiled when first needed, and
//! what the rules of its template share (`commun.rhai`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use rhai::{Dynamic, Engine, Map, Scope, AST};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

use super::{
    base_scope, file_error, json_error, line_col, meta, params, Example, Param, ParamValue, RuleError, RuleMeta,
};
use crate::base::embedded::SourceFile;

/// One compiled rule.
#[derive(Debug)]
pub struct Rule {
    pub meta: RuleMeta,
    /// Template ids it applies to; `None`: every template.
    pub templates: Option<Vec<String>>,
    pub path: PathBuf,
    pub source_text: String,
    /// The script without its header, compiled at load time or on first use
    /// (see [`RulePack::load_lazy`]).
    pub(super) script: String,
    pub(super) ast: std::sync::OnceLock<Result<AST, String>>,
    /// What the rules of its template share (`commun.rhai`), if anything.
    pub(super) shared: Option<Arc<Shared>>,
    /// The shared parameters its script uses (`params.<name>`), in
    /// [`RuleMeta::parameters`] like its own.
    pub shared_params: Vec<String>,
    /// Loaded lazily (built-in rules): the `[[examples]]` part of its header,
    /// read only when asked for ([`Rule::examples`]): a check never needs it.
    pub(super) examples_text: Option<ExamplesText>,
    pub(super) examples: std::sync::OnceLock<Vec<Example>>,
}

/// The `[[examples]]` of a header kept apart, read when first asked for.
#[derive(Debug)]
pub(super) enum ExamplesText {
    /// The TOML of a header's last tables (a rule loaded lazily from a folder).
    Toml(String),
    /// Parsed by `build.rs`, as JSON (a built-in rule).
    Json(&'static str),
}

/// The worked examples of a header, read apart from the rest.
#[derive(Debug, Default, Deserialize)]
struct ExamplesPart {
    #[serde(default)]
    examples: Vec<Example>,
}

/// The file of a template folder that its rules share: `rules/<TEMPLATE>/commun.rhai`.
pub const SHARED_FILE: &str = "commun.rhai";

/// What the rules of one template share (`rules/<TEMPLATE>/commun.rhai`):
/// constants and functions that every rule of the folder sees, and parameters
/// (each a parameter of every rule whose script uses it, `params.<name>`; a
/// campaign that sets it on one sets it on all of them).
#[derive(Debug)]
pub struct Shared {
    pub path: PathBuf,
    pub parameters: BTreeMap<String, Param>,
    /// Its script (the header blanked out).
    script: String,
    /// Compiled and run at load, or (built-in rules) when a rule of the
    /// template is first compiled.
    code: std::sync::OnceLock<Result<SharedCode, String>>,
}

#[derive(Debug)]
struct SharedCode {
    /// Its constants, evaluated once: (name, value).
    constants: Vec<(String, Dynamic)>,
    /// Its functions, merged into each rule's compiled script.
    functions: AST,
}

impl Shared {
    fn code(&self, engine: &Engine) -> Result<&SharedCode, &str> {
        self.code
            .get_or_init(|| compile_shared(engine, &self.script).map_err(|(_, _, m)| m))
            .as_ref()
            .map_err(String::as_str)
    }
}

/// The header of `commun.rhai`: only parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SharedMeta {
    #[serde(default)]
    parameters: BTreeMap<String, Param>,
}

impl Rule {
    /// Its worked examples (read from its header when first asked for, for a
    /// rule loaded lazily; the built-in ones are tested).
    pub fn examples(&self) -> &[Example] {
        match &self.examples_text {
            None => &self.meta.examples,
            Some(text) => self.examples.get_or_init(|| {
                match text {
                    ExamplesText::Toml(text) => toml::from_str::<ExamplesPart>(text).map(|p| p.examples).ok(),
                    ExamplesText::Json(json) => serde_json::from_str::<ExamplesPart>(json).map(|p| p.examples).ok(),
                }
                .unwrap_or_default()
            }),
        }
    }

    pub fn applies_to(&self, template: &str) -> bool {
        self.templates
            .as_ref()
            .is_none_or(|ts| ts.iter().any(|t| t == template))
    }

    /// Parameters as Rhai values (exact decimals, days as text, arrays), each
    /// resolved for this data when its default depends on a field.
    pub(super) fn params(&self, data: &Dynamic) -> Map {
        params::script_params(&self.meta.parameters, |ptr| params::key_of_dynamic(data, ptr))
    }

    /// Parameters resolved for a return's JSON data.
    pub(super) fn params_json(&self, data: &Value) -> Map {
        params::script_params(&self.meta.parameters, |ptr| {
            data.pointer(ptr).and_then(params::key_of_json)
        })
    }

    pub fn tolerance(&self) -> Option<Decimal> {
        self.meta
            .parameters
            .get("tolerance")
            .and_then(|p| p.default.as_ref())
            .and_then(ParamValue::as_decimal)
    }
}

/// Compiles a rule's script (without its header), with what its template
/// shares: the AST, or (line, column, message).
pub(super) fn compile_script(
    engine: &Engine,
    script: &str,
    shared: Option<&Shared>,
) -> Result<AST, (usize, usize, String)> {
    let mut scope = base_scope();
    let shared = match shared {
        Some(shared) => Some(
            shared
                .code(engine)
                .map_err(|m| (1, 1, format!("{} : {m}", shared.path.display())))?,
        ),
        None => None,
    };
    if let Some(code) = shared {
        push_code_constants(&mut scope, code);
    }
    let ast = engine.compile_with_scope(&scope, script).map_err(|e| {
        let pos = e.position();
        (
            pos.line().unwrap_or(1),
            pos.position().unwrap_or(1),
            crate::base::messages::rhai_parse_error(&e.0),
        )
    })?;
    Ok(match shared {
        Some(shared) => shared.functions.merge(&ast),
        None => ast,
    })
}

/// Pushes a template's shared constants (none when its file does not run:
/// its rules then fail to compile, and say why).
pub(super) fn push_constants(scope: &mut Scope, shared: &Shared, engine: &Engine) {
    if let Ok(code) = shared.code(engine) {
        push_code_constants(scope, code);
    }
}

fn push_code_constants(scope: &mut Scope, code: &SharedCode) {
    for (name, value) in &code.constants {
        scope.push_constant_dynamic(name.clone(), value.clone());
    }
}

/// Compiles a `commun.rhai` script and runs it once for its constants.
fn compile_shared(engine: &Engine, script: &str) -> Result<SharedCode, (usize, usize, String)> {
    let ast = engine.compile(script).map_err(|e| {
        let pos = e.position();
        (
            pos.line().unwrap_or(1),
            pos.position().unwrap_or(1),
            crate::base::messages::rhai_parse_error(&e.0),
        )
    })?;
    let mut scope = Scope::new();
    engine.run_ast_with_scope(&mut scope, &ast).map_err(|e| {
        let pos = e.position();
        (pos.line().unwrap_or(1), pos.position().unwrap_or(1), e.to_string())
    })?;
    let mut constants = Vec::new();
    for (name, constant, value) in scope.iter_raw() {
        if !constant {
            return Err((
                1,
                1,
                format!("« {name} » : {SHARED_FILE} ne déclare que des constantes (const) et des fonctions (fn)"),
            ));
        }
        constants.push((name.to_string(), value.clone()));
    }
    Ok(SharedCode {
        constants,
        functions: ast.clone_functions_only(),
    })
}

/// Compiles a script with no header (`inter-fichiers.rhai`).
pub(super) fn engine_compile(engine: &Engine, file: &SourceFile) -> Result<AST, RuleError> {
    engine.compile_with_scope(&base_scope(), &file.text).map_err(|e| {
        let pos = e.position();
        file_error(
            file,
            pos.line().unwrap_or(1),
            pos.position().unwrap_or(1),
            crate::base::messages::rhai_parse_error(&e.0),
        )
    })
}

/// The folder a rule file is in (its template id, `common` or `batch`).
pub(super) fn folder_of(path: &std::path::Path) -> String {
    path.parent()
        .and_then(|p| p.file_name())
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default()
}

/// Reads a template's `commun.rhai`: its optional header (parameters), then
/// runs its script once for its constants and keeps its functions.
pub(super) fn load_shared(engine: &Engine, file: &SourceFile, eager: bool) -> Result<Shared, RuleError> {
    let err = |line: usize, column: usize, message: String| file_error(file, line, column, message);
    let built = crate::base::embedded::prebuilt(file);
    let split = match built.and_then(|b| b.script) {
        Some(script) => Some(("", script.to_string())),
        None => meta::split_header(&file.text),
    };
    let (meta, script) = match split {
        Some((_, script)) if built.is_some() => {
            let meta = match built.and_then(|b| b.header) {
                Some(json) => serde_json::from_str(json).map_err(|e| json_error(file, &e))?,
                None => SharedMeta::default(),
            };
            (meta, script)
        }
        Some((header, script)) => {
            let meta: SharedMeta = parse_header(file, header, "en-tête invalide")?;
            (meta, script)
        }
        None => (SharedMeta::default(), file.text.to_string()),
    };
    let shared = Shared {
        path: file.path.clone(),
        parameters: meta.parameters,
        script,
        code: std::sync::OnceLock::new(),
    };
    if eager {
        let code =
            compile_shared(engine, &shared.script).map_err(|(line, column, message)| err(line, column, message))?;
        let _ = shared.code.set(Ok(code));
    }
    Ok(shared)
}

pub(super) fn compile_rule(
    engine: &Engine,
    file: &SourceFile,
    eager: bool,
    shared: Option<Arc<Shared>>,
) -> Result<Rule, RuleError> {
    let err = |line: usize, column: usize, message: String| file_error(file, line, column, message);
    let built = crate::base::embedded::prebuilt(file);
    // A built-in rule comes with its script already split from its header.
    let (header, script) = match built.and_then(|b| b.script) {
        Some(script) => ("", script.to_string()),
        None => meta::split_header(&file.text).ok_or_else(|| err(1, 1, "en-tête manquant : le fichier doit commencer par un commentaire /* … */ contenant les métadonnées TOML (id, title, severity, checks…)".into()))?,
    };
    let (meta, examples_text) = match built {
        Some(built) => {
            let json = built.header.unwrap_or("{}");
            let meta: RuleMeta = serde_json::from_str(json).map_err(|e| json_error(file, &e))?;
            (meta, built.examples.map(ExamplesText::Json))
        }
        None => parse_rule_header(file, header, eager)?,
    };
    finish_rule(engine, file, script, meta, examples_text, eager, shared)
}

/// A rule's header parsed from its text (a rule that is not built in): its
/// metadata, and its examples set apart when loaded lazily.
fn parse_rule_header(
    file: &SourceFile,
    header: &str,
    eager: bool,
) -> Result<(RuleMeta, Option<ExamplesText>), RuleError> {
    // Loaded lazily, the worked examples (most of a header) are set apart and
    // read when asked for, when they are the header's last tables.
    let (header, examples_text) = match header.find("\n[[examples]]") {
        Some(i)
            if !eager
                && header[i..]
                    .lines()
                    .filter(|l| l.trim_start().starts_with('['))
                    .all(|l| l.trim() == "[[examples]]") =>
        {
            (&header[..i], Some(ExamplesText::Toml(header[i..].to_string())))
        }
        _ => (header, None),
    };
    let meta: RuleMeta = parse_header(file, header, "métadonnées invalides")?;
    Ok((meta, examples_text))
}

/// A header's TOML (the start of the file's first comment, `header`) read
/// as `T`; an error names the line and column in the file, after `what`.
fn parse_header<T: serde::de::DeserializeOwned>(file: &SourceFile, header: &str, what: &str) -> Result<T, RuleError> {
    let offset = file.text.find("/*").map(|i| i + 2).unwrap_or(0);
    toml::from_str(header).map_err(|e| {
        let (line, column) = e
            .span()
            .map(|s| line_col(&file.text, offset + s.start))
            .unwrap_or((1, 1));
        file_error(
            file,
            line,
            column,
            format!("{what} : {}", crate::base::messages::toml_error(e.message())),
        )
    })
}

/// The rest of a rule's loading, whatever its header's form: live checks
/// checked, shared parameters taken, script compiled when eager.
fn finish_rule(
    engine: &Engine,
    file: &SourceFile,
    script: String,
    mut meta: RuleMeta,
    examples_text: Option<ExamplesText>,
    eager: bool,
    shared: Option<Arc<Shared>>,
) -> Result<Rule, RuleError> {
    let err = |line: usize, column: usize, message: String| file_error(file, line, column, message);
    for decl in &meta.live {
        decl.items()
            .map_err(|m| err(1, 1, format!("métadonnées invalides : {m}")))?;
    }
    // The shared parameters its script uses become its own.
    let mut shared_params = Vec::new();
    for (name, value) in shared.iter().flat_map(|s| &s.parameters) {
        if !script.contains(&format!("params.{name}")) {
            continue;
        }
        if meta.parameters.contains_key(name) {
            return Err(err(
                1,
                1,
                format!(
                    "le paramètre « {name} » est déjà déclaré dans {SHARED_FILE} : retirez-le de l'en-tête de la règle"
                ),
            ));
        }
        meta.parameters.insert(name.clone(), value.clone());
        shared_params.push(name.clone());
    }
    let ast = std::sync::OnceLock::new();
    if eager {
        let compiled = compile_script(engine, &script, shared.as_deref())
            .map_err(|(line, column, message)| err(line, column, message))?;
        let _ = ast.set(Ok(compiled));
    }
    let folder = folder_of(&file.path);
    let templates = if !meta.templates.is_empty() {
        Some(meta.templates.clone())
    } else if folder.is_empty() || folder == "common" {
        None
    } else {
        Some(vec![folder])
    };
    let stem = file
        .path
        .file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    if !stem.starts_with(&meta.id) {
        return Err(err(
            1,
            1,
            format!(
                "le nom du fichier doit commencer par l'identifiant de la règle ({})",
                meta.id
            ),
        ));
    }
    Ok(Rule {
        meta,
        templates,
        path: file.path.clone(),
        source_text: file.text.to_string(),
        script,
        ast,
        shared,
        shared_params,
        examples_text,
        examples: std::sync::OnceLock::new(),
    })
}
