//! The rule engine: Rhai scripts under `rules/<template>/`, one rule per file.
//!
//! A script sees `data` (the extracted return) and `params` (its parameters) and
//! calls `report(pointer, message[, #{expected, actual, tolerance, range}])`.
//! The engine stamps the id, severity and cell, and turns a script that fails
//! or runs past the sandbox limits into BILAN-RULE-001 for that return.

pub mod api;
pub mod campaign;
pub mod header;
pub mod live;
pub mod meta;
pub mod params;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rhai::{Dynamic, Engine, Map, Scope, AST};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

use crate::base::embedded::SourceFile;
use crate::base::model::CellRange;
use crate::finding::{Figures, Finding, Level, Severity};
use crate::pipeline::extract::Extraction;
pub use meta::{Example, Expect, Param, ParamKind, ParamValue, RuleMeta};

/// A rule file that cannot be used: the run stops (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}:{column}: {message}")]
pub struct RuleError {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// The file's text, for a diagnostic that shows the line.
    pub source_text: String,
}

/// The folder (and template scope) of cross-file rules.
pub const BATCH_SCOPE: &str = "batch";

/// Sandbox limits for one rule on one return.
#[derive(Debug, Clone, Copy)]
pub struct Sandbox {
    pub max_operations: u64,
    pub max_string: usize,
    pub max_array: usize,
    pub max_map: usize,
    pub max_call_levels: usize,
    pub max_expr_depth: usize,
    pub time_budget: Duration,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self {
            max_operations: 5_000_000,
            max_string: 100_000,
            max_array: 200_000,
            max_map: 10_000,
            max_call_levels: 48,
            max_expr_depth: 96,
            time_budget: Duration::from_secs(2),
        }
    }
}

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
    script: String,
    ast: std::sync::OnceLock<Result<AST, String>>,
    /// What the rules of its template share (`commun.rhai`), if anything.
    shared: Option<Arc<Shared>>,
    /// The shared parameters its script uses (`params.<name>`), in
    /// [`RuleMeta::parameters`] like its own.
    pub shared_params: Vec<String>,
    /// Loaded lazily (built-in rules): the `[[examples]]` part of its header,
    /// read only when asked for ([`Rule::examples`]): a check never needs it.
    examples_text: Option<ExamplesText>,
    examples: std::sync::OnceLock<Vec<Example>>,
}

/// The `[[examples]]` of a header kept apart, read when first asked for.
#[derive(Debug)]
enum ExamplesText {
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
    fn params(&self, data: &Dynamic) -> Map {
        params::script_params(&self.meta.parameters, |ptr| params::key_of_dynamic(data, ptr))
    }

    /// Parameters resolved for a return's JSON data.
    fn params_json(&self, data: &Value) -> Map {
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

/// An engine rule (`BILAN-*`): documented in `rules/engine.toml`, implemented in Rust.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineRule {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub checks: String,
    #[serde(default)]
    pub rationale: String,
    #[serde(default)]
    pub example: String,
    #[serde(default)]
    pub scope: String,
}

#[derive(Debug, Deserialize)]
struct EngineCatalog {
    rule: Vec<EngineRule>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PackFile {
    name: String,
    /// Rule id → `error` | `warning` | `info` | `off` (French words too).
    #[serde(default)]
    severity: BTreeMap<String, Level>,
}

/// Every rule of a run: compiled scripts and the engine's catalogue.
pub struct RulePack {
    pub name: String,
    pub rules: Vec<Rule>,
    pub engine_rules: Vec<EngineRule>,
    engine: Engine,
    pub sandbox: Sandbox,
    /// Severities set by `pack.toml` or a campaign, by rule id (engine rules
    /// included); [`Level::Off`]: the rule does not run and its findings are dropped.
    pub levels: BTreeMap<String, Level>,
    /// The campaign applied to this pack (see [`crate::pipeline::campaign::Campaign::apply`]).
    pub campaign: Option<std::sync::Arc<campaign::Campaign>>,
    /// Time spent in each rule, when measured ([`Self::enable_profile`]).
    profile: Option<std::sync::Mutex<BTreeMap<String, RuleCost>>>,
}

/// What one rule cost over the returns it ran on ([`RulePack::profile`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct RuleCost {
    /// Returns it ran on.
    pub runs: u64,
    /// Wall-clock time inside the interpreter, its own scope's set-up included.
    pub time: Duration,
}

impl std::fmt::Debug for RulePack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RulePack")
            .field("name", &self.name)
            .field("rules", &self.rules.len())
            .finish()
    }
}

fn new_engine(sandbox: &Sandbox) -> Engine {
    let mut engine = Engine::new();
    engine
        .set_max_operations(sandbox.max_operations)
        .set_max_string_size(sandbox.max_string)
        .set_max_array_size(sandbox.max_array)
        .set_max_map_size(sandbox.max_map)
        .set_max_call_levels(sandbox.max_call_levels)
        .set_max_expr_depths(sandbox.max_expr_depth, sandbox.max_expr_depth)
        .set_strict_variables(true);
    engine.disable_symbol("eval");
    engine.on_print(|_| {});
    engine.on_debug(|_, _, _| {});
    // No wall-clock stop here: a rule's limits are operations, sizes and depth,
    // so a return gets the same findings on a busy machine as on an idle one;
    // the time of a whole file is bounded by its worker process (`isolate`).
    api::register(&mut engine);
    engine
}

fn base_scope() -> Scope<'static> {
    let mut scope = Scope::new();
    scope.push("data", Map::new());
    scope.push("params", Map::new());
    scope
}

impl RulePack {
    pub fn builtin() -> Result<Self, RuleError> {
        Self::load(&crate::base::embedded::rules(), Sandbox::default())
    }

    /// Compiles every `*.rhai` file (folder = template id, `common` = all
    /// templates), reads `pack.toml` and `engine.toml`.
    pub fn load(files: &[SourceFile], sandbox: Sandbox) -> Result<Self, RuleError> {
        Self::load_with(files, sandbox, true)
    }

    /// Like [`RulePack::load`], but each script is compiled when a file first
    /// needs it: a process that checks returns of one template compiles only
    /// that template's rules. Only for rules already known to compile (the
    /// built-in ones, tested; or a folder the parent process has loaded).
    pub fn load_lazy(files: &[SourceFile], sandbox: Sandbox) -> Result<Self, RuleError> {
        Self::load_with(files, sandbox, false)
    }

    fn load_with(files: &[SourceFile], sandbox: Sandbox, eager: bool) -> Result<Self, RuleError> {
        let engine = new_engine(&sandbox);
        let mut pack = PackFile {
            name: "local".into(),
            ..Default::default()
        };
        let mut engine_rules = Vec::new();
        let mut rules: Vec<Rule> = Vec::new();
        let mut shared: BTreeMap<String, Arc<Shared>> = BTreeMap::new();
        for file in files
            .iter()
            .filter(|f| f.path.file_name().is_some_and(|n| n == SHARED_FILE))
        {
            shared.insert(folder_of(&file.path), Arc::new(load_shared(&engine, file, eager)?));
        }
        for file in files {
            let name = file.path.to_string_lossy().replace('\\', "/");
            let toml_error = |e: toml::de::Error| {
                let (line, column) = e.span().map(|s| line_col(&file.text, s.start)).unwrap_or((1, 1));
                RuleError {
                    path: file.path.clone(),
                    line,
                    column,
                    message: crate::base::messages::toml_error(e.message()),
                    source_text: file.text.clone(),
                }
            };
            let built = crate::base::embedded::prebuilt(file).and_then(|b| b.header);
            if name == "pack.toml" {
                pack = match built {
                    Some(json) => serde_json::from_str(json).map_err(|e| json_error(file, &e))?,
                    None => toml::from_str(&file.text).map_err(toml_error)?,
                };
            } else if name == "engine.toml" {
                let cat: EngineCatalog = match built {
                    Some(json) => serde_json::from_str(json).map_err(|e| json_error(file, &e))?,
                    None => toml::from_str(&file.text).map_err(toml_error)?,
                };
                engine_rules = cat.rule;
            } else if name.ends_with(".rhai") && !name.ends_with(SHARED_FILE) {
                let shared = shared.get(&folder_of(&file.path)).cloned();
                rules.push(compile_rule(&engine, file, eager, shared)?);
            }
        }
        rules.sort_by(|a, b| a.meta.id.cmp(&b.meta.id));
        for pair in rules.windows(2) {
            if pair[0].meta.id == pair[1].meta.id {
                return Err(RuleError {
                    path: pair[1].path.clone(),
                    line: 1,
                    column: 1,
                    message: format!(
                        "identifiant {} déjà utilisé par {}",
                        pair[1].meta.id,
                        pair[0].path.display()
                    ),
                    source_text: pair[1].source_text.clone(),
                });
            }
        }
        let mut out = Self {
            name: pack.name,
            rules,
            engine_rules,
            engine,
            sandbox,
            levels: BTreeMap::new(),
            campaign: None,
            profile: None,
        };
        for (id, level) in pack.severity {
            out.set_level(&id, level);
        }
        Ok(out)
    }

    /// Sets a rule's severity, or switches it off, for every later run.
    pub fn set_level(&mut self, id: &str, level: Level) {
        if let Level::On(sev) = level {
            if let Some(r) = self.rules.iter_mut().find(|r| r.meta.id == id) {
                r.meta.severity = sev;
            }
            if let Some(r) = self.engine_rules.iter_mut().find(|r| r.id == id) {
                r.severity = sev;
            }
        }
        self.levels.insert(id.to_string(), level);
    }

    /// Sets a rule's parameter (a campaign's). A parameter of the template's
    /// `commun.rhai` is set for every rule of the template that uses it.
    pub fn set_parameter(&mut self, id: &str, name: &str, value: ParamValue) {
        let Some(rule) = self.rules.iter().find(|r| r.meta.id == id) else {
            return;
        };
        let shared = rule
            .shared_params
            .iter()
            .any(|p| p == name)
            .then(|| rule.shared.clone())
            .flatten();
        for r in self.rules.iter_mut() {
            let concerned = match &shared {
                Some(sh) => {
                    r.shared.as_ref().is_some_and(|x| Arc::ptr_eq(x, sh)) && r.shared_params.iter().any(|p| p == name)
                }
                None => r.meta.id == id,
            };
            if concerned {
                if let Some(p) = r.meta.parameters.get_mut(name) {
                    p.set(value.clone());
                }
            }
        }
    }

    /// Starts measuring the time spent in each rule (the benchmark's rule
    /// profile); read it with [`Self::profile`].
    pub fn enable_profile(&mut self) {
        self.profile = Some(std::sync::Mutex::new(BTreeMap::new()));
    }

    /// Each rule's cost so far, costliest first (empty when not measured).
    pub fn profile(&self) -> Vec<(String, RuleCost)> {
        let mut out: Vec<(String, RuleCost)> = self
            .profile
            .as_ref()
            .and_then(|p| p.lock().ok().map(|m| m.iter().map(|(k, v)| (k.clone(), *v)).collect()))
            .unwrap_or_default();
        out.sort_by_key(|x| std::cmp::Reverse(x.1.time));
        out
    }

    /// Whether a rule is switched off (by `pack.toml` or a campaign).
    pub fn is_off(&self, id: &str) -> bool {
        self.levels.get(id) == Some(&Level::Off)
    }

    /// Applies the severities of [`Self::levels`] to findings: drops those of a
    /// rule switched off, re-grades the others. Every finding passes here, so
    /// engine rules obey the pack and the campaign as scripts do.
    pub fn apply_levels(&self, findings: &mut Vec<Finding>) {
        if self.levels.is_empty() {
            return;
        }
        findings.retain(|f| !self.is_off(f.rule.as_str()));
        for f in findings.iter_mut() {
            if let Some(Level::On(sev)) = self.levels.get(f.rule.as_str()) {
                f.severity = *sev;
            }
        }
    }

    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.meta.id.eq_ignore_ascii_case(id))
    }

    pub fn engine_rule(&self, id: &str) -> Option<&EngineRule> {
        self.engine_rules.iter().find(|r| r.id.eq_ignore_ascii_case(id))
    }

    /// Runs every rule of `template` over an extraction; adds the findings to it.
    pub fn run(&self, template: &str, ex: &mut Extraction) {
        // Unusable values are hidden from scripts: they see `()`.
        let mut data = ex.data.clone();
        for p in ex.unusable.iter() {
            if let Some(v) = data.pointer_mut(p) {
                *v = Value::Null;
            }
        }
        // A value found unusable (even after extraction, by the schema) stays `()`.
        let data = api::to_dynamic_exact(&data, ex.exact.iter().filter(|(p, _)| !ex.is_unusable(p)));
        let mut outcomes = Vec::new();
        for rule in self
            .rules
            .iter()
            .filter(|r| r.applies_to(template) && !self.is_off(&r.meta.id))
        {
            if rule
                .meta
                .needs
                .iter()
                .any(|p| ex.missing.contains(p) || ex.data.pointer(p).is_none())
            {
                continue;
            }
            outcomes.push(rule);
        }
        // The origins are lent to `row_of` while the scripts run, then taken back
        // to place the findings.
        api::lend_origins(std::mem::take(&mut ex.origins));
        // One scope for every rule of the file: `data` is converted once and
        // pushed as a constant (a rule cannot change what the next one sees);
        // each rule's `params` and own variables are dropped after it runs.
        let mut scope = Scope::new();
        scope.push_constant_dynamic("data", data);
        // The template's shared constants, once (the rules of a file are the
        // template's and the common ones: one `commun.rhai` at most).
        if let Some(shared) = outcomes.iter().find_map(|r| r.shared.as_ref()) {
            push_constants(&mut scope, shared, &self.engine);
        }
        let base = scope.len();
        let results: Vec<_> = outcomes
            .into_iter()
            .map(|rule| {
                let start = self.profile.is_some().then(Instant::now);
                let result = self.run_in(rule, rule.params_json(&ex.data), &mut scope, base);
                if let (Some(start), Some(Ok(mut profile))) = (start, self.profile.as_ref().map(|p| p.lock())) {
                    let cost = profile.entry(rule.meta.id.clone()).or_default();
                    cost.runs += 1;
                    cost.time += start.elapsed();
                }
                (rule, result)
            })
            .collect();
        ex.origins = api::take_origins();
        for (rule, result) in results {
            let findings = match result {
                Ok(reports) => reports.into_iter().filter_map(|r| to_finding(rule, r, ex)).collect(),
                Err(message) => vec![rule_failure(rule, &message)],
            };
            ex.findings.extend(findings);
        }
    }

    /// Runs the cross-file rules (folder `rules/batch/`) over a batch's data.
    pub fn run_batch(&self, data: &Value) -> Vec<(&Rule, Result<Vec<api::Reported>, String>)> {
        let data = api::to_dynamic(data);
        self.rules
            .iter()
            .filter(|r| r.templates.as_ref().is_some_and(|t| t.iter().any(|x| x == BATCH_SCOPE)))
            .filter(|r| !self.is_off(&r.meta.id))
            .map(|r| (r, self.run_one(r, data.clone())))
            .collect()
    }

    /// Runs one rule in the file's shared scope (`data` a constant below
    /// `base`), then rewinds the scope to `base`. A rule that writes into
    /// `data` (which it may: it always had its own copy) is run again over a
    /// private copy, so it behaves exactly as before and the others never see
    /// its writes.
    fn run_in(&self, rule: &Rule, params: Map, scope: &mut Scope, base: usize) -> Result<Vec<api::Reported>, String> {
        scope.push("params", params);
        let result = self.eval(rule, scope);
        scope.rewind(base);
        match result {
            Err(e) if writes_constant(&e) => {
                let data = scope.get_value::<Dynamic>("data").unwrap_or(Dynamic::UNIT);
                self.run_one(rule, data)
            }
            other => self.outcome(rule, other),
        }
    }

    /// Runs one rule over data, in a scope of its own; the reports it made, or
    /// why it failed.
    pub fn run_one(&self, rule: &Rule, data: Dynamic) -> Result<Vec<api::Reported>, String> {
        self.run_one_with(rule, data, &BTreeMap::new())
    }

    /// [`Self::run_one`] with some parameters set (an example's `parameters`).
    pub fn run_one_with(
        &self,
        rule: &Rule,
        data: Dynamic,
        set: &BTreeMap<String, ParamValue>,
    ) -> Result<Vec<api::Reported>, String> {
        let mut scope = Scope::new();
        let mut params = rule.params(&data);
        for (k, v) in set {
            params.insert(k.as_str().into(), v.to_dynamic());
        }
        scope.push("data", data);
        if let Some(shared) = &rule.shared {
            push_constants(&mut scope, shared, &self.engine);
        }
        scope.push("params", params);
        let result = self.eval(rule, &mut scope);
        self.outcome(rule, result)
    }

    fn eval(&self, rule: &Rule, scope: &mut Scope) -> Result<Vec<api::Reported>, Box<rhai::EvalAltResult>> {
        let ast = rule
            .ast
            .get_or_init(|| compile_script(&self.engine, &rule.script, rule.shared.as_deref()).map_err(|(_, _, m)| m));
        let ast = match ast {
            Ok(ast) => ast,
            Err(m) => return Err(Box::new(rhai::EvalAltResult::ErrorSystem(m.clone(), m.clone().into()))),
        };
        api::set_tolerance(rule.tolerance().unwrap_or(Decimal::ZERO));
        let deadline = Instant::now() + self.sandbox.time_budget;
        let (result, reports) = api::collect(deadline, || self.engine.run_ast_with_scope(scope, ast));
        result.map(|()| reports)
    }

    fn outcome(
        &self,
        rule: &Rule,
        result: Result<Vec<api::Reported>, Box<rhai::EvalAltResult>>,
    ) -> Result<Vec<api::Reported>, String> {
        match result {
            Ok(reports) => Ok(reports),
            Err(e) => {
                let pos = e.position();
                let at = pos
                    .line()
                    .map(|l| format!(" ({}, ligne {l})", rule.path.display()))
                    .unwrap_or_default();
                let what = match *e {
                    rhai::EvalAltResult::ErrorTooManyOperations(_) => {
                        "limite d'opérations atteinte (boucle sans fin ?)".to_string()
                    }
                    rhai::EvalAltResult::ErrorTerminated(..) => {
                        format!("arrêtée après {} s", self.sandbox.time_budget.as_secs_f32())
                    }
                    rhai::EvalAltResult::ErrorDataTooLarge(ref what, _) => {
                        format!("données trop volumineuses ({what})")
                    }
                    rhai::EvalAltResult::ErrorStackOverflow(_) => "récursion trop profonde".to_string(),
                    ref other => other.to_string(),
                };
                Err(format!("{what}{at}"))
            }
        }
    }

    /// Runs a rule's worked examples; returns one line per example that does not
    /// behave as documented.
    pub fn check_examples(&self, rule: &Rule) -> Vec<String> {
        let mut problems = Vec::new();
        if !rule.examples().iter().any(|e| e.expect == Expect::Fail)
            || !rule.examples().iter().any(|e| e.expect == Expect::Pass)
        {
            problems.push(format!(
                "{}: il faut au moins un exemple « pass » et un exemple « fail »",
                rule.meta.id
            ));
        }
        for ex in rule.examples() {
            let data: Value = match serde_json::from_str(&ex.data) {
                Ok(v) => v,
                Err(e) => {
                    problems.push(format!("{} « {} » : JSON invalide : {e}", rule.meta.id, ex.name));
                    continue;
                }
            };
            let set = match example_params(rule, ex) {
                Ok(set) => set,
                Err(e) => {
                    problems.push(format!("{} « {} » : {e}", rule.meta.id, ex.name));
                    continue;
                }
            };
            match self.run_one_with(rule, api::to_dynamic(&data), &set) {
                Err(e) => problems.push(format!("{} « {} » : la règle échoue : {e}", rule.meta.id, ex.name)),
                Ok(reports) => {
                    let got: Vec<&str> = reports.iter().map(|r| r.pointer.as_str()).collect();
                    let ok = match ex.expect {
                        Expect::Pass => got.is_empty(),
                        Expect::Fail => {
                            !got.is_empty()
                                && (ex.findings.is_empty()
                                    || got == ex.findings.iter().map(String::as_str).collect::<Vec<_>>())
                        }
                    };
                    if !ok {
                        problems.push(format!(
                            "{} « {} » : attendu {:?} {:?}, obtenu {:?}",
                            rule.meta.id, ex.name, ex.expect, ex.findings, got
                        ));
                    }
                }
            }
        }
        problems
    }

    /// The message a failing example produces (for `explain`).
    pub fn example_messages(&self, rule: &Rule) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for ex in rule.examples().iter().filter(|e| e.expect == Expect::Fail) {
            if let (Ok(data), Ok(set)) = (serde_json::from_str::<Value>(&ex.data), example_params(rule, ex)) {
                if let Ok(reports) = self.run_one_with(rule, api::to_dynamic(&data), &set) {
                    for r in reports {
                        out.push((r.pointer, r.message));
                    }
                }
            }
        }
        out
    }
}

/// An example's `parameters`, checked like a campaign's values.
fn example_params(rule: &Rule, ex: &Example) -> Result<BTreeMap<String, ParamValue>, String> {
    let mut out = BTreeMap::new();
    for (name, value) in &ex.parameters {
        let declared = rule
            .meta
            .parameters
            .get(name)
            .ok_or_else(|| format!("paramètre « {name} » non déclaré par la règle"))?;
        let v = declared
            .check_toml(value)
            .map_err(|e| format!("paramètre « {name} » : {e}"))?;
        out.insert(name.clone(), v);
    }
    Ok(out)
}

/// A built-in file whose build-time form does not fit the engine's model
/// (`build.rs` checks the TOML, the engine the fields): the tests load every
/// built-in rule, so this is a developer's error.
fn json_error(file: &SourceFile, e: &serde_json::Error) -> RuleError {
    RuleError {
        path: file.path.clone(),
        line: 1,
        column: 1,
        message: format!("métadonnées invalides : {e}"),
        source_text: file.text.clone(),
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map(|l| l.chars().count() + 1).unwrap_or(1);
    (line, column)
}

/// Compiles a rule's script (without its header), with what its template
/// shares: the AST, or (line, column, message).
fn compile_script(engine: &Engine, script: &str, shared: Option<&Shared>) -> Result<AST, (usize, usize, String)> {
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
fn push_constants(scope: &mut Scope, shared: &Shared, engine: &Engine) {
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

/// The folder a rule file is in (its template id, `common` or `batch`).
fn folder_of(path: &std::path::Path) -> String {
    path.parent()
        .and_then(|p| p.file_name())
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default()
}

/// Reads a template's `commun.rhai`: its optional header (parameters), then
/// runs its script once for its constants and keeps its functions.
fn load_shared(engine: &Engine, file: &SourceFile, eager: bool) -> Result<Shared, RuleError> {
    let err = |line: usize, column: usize, message: String| RuleError {
        path: file.path.clone(),
        line,
        column,
        message,
        source_text: file.text.clone(),
    };
    let built = crate::base::embedded::prebuilt(file);
    let (meta, script) = match meta::split_header(&file.text) {
        Some((_, script)) if built.is_some() => {
            let meta = match built.and_then(|b| b.header) {
                Some(json) => serde_json::from_str(json).map_err(|e| json_error(file, &e))?,
                None => SharedMeta::default(),
            };
            (meta, script)
        }
        Some((header, script)) => {
            let header_offset = file.text.find("/*").map(|i| i + 2).unwrap_or(0);
            let meta: SharedMeta = toml::from_str(header).map_err(|e| {
                let (line, column) = e
                    .span()
                    .map(|s| line_col(&file.text, header_offset + s.start))
                    .unwrap_or((1, 1));
                err(
                    line,
                    column,
                    format!("en-tête invalide : {}", crate::base::messages::toml_error(e.message())),
                )
            })?;
            (meta, script)
        }
        None => (SharedMeta::default(), file.text.clone()),
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

fn compile_rule(
    engine: &Engine,
    file: &SourceFile,
    eager: bool,
    shared: Option<Arc<Shared>>,
) -> Result<Rule, RuleError> {
    let err = |line: usize, column: usize, message: String| RuleError {
        path: file.path.clone(),
        line,
        column,
        message,
        source_text: file.text.clone(),
    };
    let (header, script) = meta::split_header(&file.text).ok_or_else(|| err(1, 1, "en-tête manquant : le fichier doit commencer par un commentaire /* … */ contenant les métadonnées TOML (id, title, severity, checks…)".into()))?;
    let (meta, examples_text) = match crate::base::embedded::prebuilt(file) {
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
    let err = |line: usize, column: usize, message: String| RuleError {
        path: file.path.clone(),
        line,
        column,
        message,
        source_text: file.text.clone(),
    };
    let header_offset = file.text.find("/*").map(|i| i + 2).unwrap_or(0);
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
    let meta: RuleMeta = toml::from_str(header).map_err(|e| {
        let (line, column) = e
            .span()
            .map(|s| line_col(&file.text, header_offset + s.start))
            .unwrap_or((1, 1));
        err(
            line,
            column,
            format!(
                "métadonnées invalides : {}",
                crate::base::messages::toml_error(e.message())
            ),
        )
    })?;
    Ok((meta, examples_text))
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
    let err = |line: usize, column: usize, message: String| RuleError {
        path: file.path.clone(),
        line,
        column,
        message,
        source_text: file.text.clone(),
    };
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
        source_text: file.text.clone(),
        script,
        ast,
        shared,
        shared_params,
        examples_text,
        examples: std::sync::OnceLock::new(),
    })
}

/// A write into a constant: with `data` shared as a constant, the rule wrote
/// into its data (`data.x = …`, `data.rows.push(…)`).
fn writes_constant(e: &rhai::EvalAltResult) -> bool {
    use rhai::EvalAltResult as E;
    match e {
        E::ErrorAssignmentToConstant(..) | E::ErrorNonPureMethodCallOnConstant(..) => true,
        E::ErrorInFunctionCall(.., inner, _) | E::ErrorInModule(_, inner, _) => writes_constant(inner),
        _ => false,
    }
}

fn rule_failure(rule: &Rule, message: &str) -> Finding {
    Finding::engine(crate::finding::EngineRule::Rule001,
        format!("La règle {} n'a pas pu être appliquée à ce retour : {message}. Les autres règles ont été appliquées ; signalez ce problème à l'équipe bilan.", rule.meta.id),
    )
}

fn to_finding(rule: &Rule, r: api::Reported, ex: &Extraction) -> Option<Finding> {
    if ex.is_unusable(&r.pointer) {
        return None;
    }
    let figures = figures(rule, &r);
    let mut f = Finding::new(&rule.meta.id, rule.meta.severity, r.message).with_pointer(r.pointer.clone());
    if let Some(o) = ex.origin_of(&r.pointer) {
        f = f.at(&o.sheet, o.cell.or(o.range.map(|x| x.start)));
        let mut range: Option<CellRange> = None;
        for p in &r.range {
            if let Some(span) = ex
                .origin_of(p)
                .filter(|po| po.sheet == o.sheet)
                .and_then(|po| po.span())
            {
                range = Some(range.map_or(span, |x| x.union(&span)));
            }
        }
        if let (Some(rg), Some(cell)) = (range, f.cell) {
            range = Some(rg.union(&CellRange::single(cell)));
        }
        f = f.with_range(range);
    }
    f.figures = figures;
    Some(f)
}

/// The figures of a reported finding (per file or across files): the
/// difference is `actual − expected` unless the rule gave it, the tolerance the
/// rule's parameter unless the report gave one.
pub fn figures(rule: &Rule, r: &api::Reported) -> Figures {
    let difference = r.difference.or(match (r.actual, r.expected) {
        (Some(a), Some(e)) => Some(a - e),
        _ => None,
    });
    Figures {
        expected: r.expected,
        actual: r.actual,
        difference,
        tolerance: r
            .tolerance
            .or_else(|| if r.expected.is_some() { rule.tolerance() } else { None }),
    }
}
