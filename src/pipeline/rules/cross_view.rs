//! What the cross-file rules (`rules/batch/`) see of one return: its
//! template's `x-template.cross_file` values, or what its template's
//! `rules/<TEMPLATE>/inter-fichiers.rhai` makes of them.
//!
//! A template whose cross-file values are long tables (a list of operations)
//! declares in `inter-fichiers.rhai` the counts and sums the cross-file rules
//! read: the script runs where the return is checked (the worker process) and
//! only its small result travels to the batch and stays there until the
//! cross-file rules run, instead of every row with its cells.

use rhai::{Dynamic, Scope, AST};
use rust_decimal::prelude::ToPrimitive;
use serde_json::Value;

use super::api;
use super::RulePack;

/// The file of a template folder that makes its cross-file view:
/// `rules/<TEMPLATE>/inter-fichiers.rhai`. Its script sees `data` (the
/// template's `x-template.cross_file` values) and ends with the map the
/// cross-file rules see as `returns[i].data`.
pub const CROSS_VIEW_FILE: &str = "inter-fichiers.rhai";

/// The `inter-fichiers.rhai` of each template, by template id: compiled at
/// load (a pack from a folder, so that a mistake stops the load) or on first
/// use (the built-in pack, checked by the tests).
#[derive(Debug, Default)]
pub struct CrossViews {
    pub(super) scripts: std::collections::BTreeMap<String, CrossScript>,
}

/// One template's `inter-fichiers.rhai`.
#[derive(Debug)]
pub(super) struct CrossScript {
    pub(super) file: crate::base::embedded::SourceFile,
    pub(super) ast: std::sync::OnceLock<Result<AST, String>>,
}

/// Why a template's cross-file view could not be computed (its `Display` is
/// the French of the finding that says so).
#[derive(Debug, thiserror::Error)]
pub enum CrossViewError {
    /// The script did not end with a map.
    #[error("rules/{template}/{CROSS_VIEW_FILE} ne se termine pas par une table (#{{…}})")]
    NotATable { template: String },
    /// The script failed (error, budget exceeded…).
    #[error("rules/{template}/{CROSS_VIEW_FILE} : {message}")]
    Failed { template: String, message: String },
}

impl RulePack {
    /// Whether `template` has an `inter-fichiers.rhai`.
    pub fn has_cross_view(&self, template: &str) -> bool {
        self.cross_views.scripts.contains_key(template)
    }

    /// The cross-file view of a return of `template` whose cross-file values
    /// are `data`: `None` when the template has no `inter-fichiers.rhai` (the
    /// rules see `data` as it is), else the script's result or why it failed.
    pub fn cross_view(&self, template: &str, data: &Value) -> Option<Result<Value, CrossViewError>> {
        let script = self.cross_views.scripts.get(template)?;
        let ast = match script.ast.get_or_init(|| {
            super::rule::engine_compile(&self.engine, &script.file)
                .map_err(|e| format!("ligne {}, colonne {} : {}", e.line, e.column, e.message))
        }) {
            Ok(ast) => ast,
            Err(message) => {
                return Some(Err(CrossViewError::Failed {
                    template: template.to_string(),
                    message: message.clone(),
                }))
            }
        };
        let mut scope = Scope::new();
        scope.push_constant_dynamic("data", api::to_dynamic(data));
        let deadline = std::time::Instant::now() + self.sandbox.time_budget;
        let (result, _) = api::collect(deadline, || self.engine.eval_ast_with_scope::<Dynamic>(&mut scope, ast));
        Some(match result {
            Ok(d) if d.is_map() => Ok(to_json(&d)),
            Ok(_) => Err(CrossViewError::NotATable {
                template: template.to_string(),
            }),
            Err(e) => Err(CrossViewError::Failed {
                template: template.to_string(),
                message: e.to_string(),
            }),
        })
    }

    /// A batch's data (`{"returns": [{"template", "data", …}]}`, as a worked
    /// example of a cross-file rule states it) with each return's `data`
    /// replaced by its template's cross-file view, as a batch gives it.
    pub fn batch_view(&self, mut batch: Value) -> Result<Value, CrossViewError> {
        if let Some(returns) = batch.get_mut("returns").and_then(Value::as_array_mut) {
            for r in returns {
                let Some(template) = r.get("template").and_then(Value::as_str).map(str::to_string) else {
                    continue;
                };
                let Some(data) = r.get("data") else { continue };
                if let Some(view) = self.cross_view(&template, data) {
                    r["data"] = view?;
                }
            }
        }
        Ok(batch)
    }
}

/// Rhai → JSON: decimals and integers become numbers, `()` null.
pub fn to_json(d: &Dynamic) -> Value {
    if d.is_unit() {
        return Value::Null;
    }
    if let Ok(b) = d.as_bool() {
        return Value::Bool(b);
    }
    if let Ok(i) = d.as_int() {
        return Value::from(i);
    }
    if let Some(x) = d.clone().try_cast::<rust_decimal::Decimal>() {
        // A whole number stays an integer (read back with no decimals);
        // otherwise the shortest float that reads back as the same digits.
        if x.scale() == 0 {
            if let Some(i) = x.to_i64() {
                return Value::from(i);
            }
        }
        return x
            .to_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number);
    }
    if let Some(s) = d.clone().try_cast::<rhai::ImmutableString>() {
        return Value::String(s.to_string());
    }
    if let Some(a) = d.clone().try_cast::<rhai::Array>() {
        return Value::Array(a.iter().map(to_json).collect());
    }
    if let Some(m) = d.clone().try_cast::<rhai::Map>() {
        return Value::Object(m.iter().map(|(k, v)| (k.to_string(), to_json(v))).collect());
    }
    Value::String(d.to_string())
}
