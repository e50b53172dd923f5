//! The rule engine: Rhai scripts under `rules/<template>/`, one rule per file.
//!
//! A script sees `data` (the extracted return) and `params` (its parameters) and
//! calls `report(pointer, message[, #{expected, actual, tolerance, range}])`.
//! The engine stamps the id, severity and cell, and turns a script that fails
//! or runs past the sandbox limits into BILAN-RULE-001 for that return.

pub mod api;
pub mod campaign;
pub mod cross_view;
pub mod header;
pub mod live;
pub mod meta;
pub mod params;
mod rule;
mod run;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rhai::{Engine, Map, Scope};
use serde::Deserialize;

use crate::base::embedded::SourceFile;
use crate::finding::{Finding, Level, Severity};
pub use meta::{Example, Expect, Param, ParamKind, ParamValue, RuleMeta};
use rule::{compile_rule, folder_of, load_shared};
pub use rule::{Rule, Shared, SHARED_FILE};
pub use run::figures;

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
    /// What the cross-file rules see of a return, by template
    /// (`rules/<TEMPLATE>/inter-fichiers.rhai`, see [`cross_view`]).
    cross_views: cross_view::CrossViews,
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
    // Full: pure functions with constant arguments (a template's shared
    // constants, literals) are evaluated once at compile time. The API's
    // functions that read the run's state are registered volatile
    // (`api::register`), so the optimiser never calls them ahead of time.
    engine.set_optimization_level(rhai::OptimizationLevel::Full);
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
        let mut cross_views = cross_view::CrossViews::default();
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
                file_error(file, line, column, crate::base::messages::toml_error(e.message()))
            };
            let built = || crate::base::embedded::prebuilt(file).and_then(|b| b.header);
            if name == "pack.toml" {
                pack = match built() {
                    Some(json) => serde_json::from_str(json).map_err(|e| json_error(file, &e))?,
                    None => toml::from_str(&file.text).map_err(toml_error)?,
                };
            } else if name == "engine.toml" {
                let cat: EngineCatalog = match built() {
                    Some(json) => serde_json::from_str(json).map_err(|e| json_error(file, &e))?,
                    None => toml::from_str(&file.text).map_err(toml_error)?,
                };
                engine_rules = cat.rule;
            } else if name.ends_with(cross_view::CROSS_VIEW_FILE) {
                let ast = std::sync::OnceLock::new();
                if eager {
                    let _ = ast.set(Ok(rule::engine_compile(&engine, file)?));
                }
                let script = cross_view::CrossScript {
                    file: file.clone(),
                    ast,
                };
                cross_views.scripts.insert(folder_of(&file.path), script);
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
            cross_views,
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
}

/// A built-in file whose build-time form does not fit the engine's model
/// (`build.rs` checks the TOML, the engine the fields): the tests load every
/// built-in rule, so this is a developer's error.
fn json_error(file: &SourceFile, e: &serde_json::Error) -> RuleError {
    file_error(file, 1, 1, format!("métadonnées invalides : {e}"))
}

/// A rule file that cannot be used, at a line and column of its text.
fn file_error(file: &SourceFile, line: usize, column: usize, message: String) -> RuleError {
    RuleError {
        path: file.path.clone(),
        line,
        column,
        message,
        source_text: file.text.to_string(),
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map(|l| l.chars().count() + 1).unwrap_or(1);
    (line, column)
}
