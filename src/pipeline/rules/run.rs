//! Running the rules: over a return (one shared scope), over a batch, over a
//! rule's worked examples; a script's reports turned into findings.

use std::collections::BTreeMap;
use std::time::Instant;

use rhai::{Dynamic, Map, Scope};
use rust_decimal::Decimal;
use serde_json::Value;

use super::rule::{compile_script, push_constants};
use super::{api, Example, Expect, ParamValue, Rule, RulePack, BATCH_SCOPE};
use crate::base::model::CellRange;
use crate::finding::{Figures, Finding};
use crate::pipeline::extract::Extraction;

impl RulePack {
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
        self.run_batch_on(api::to_dynamic(data))
    }

    /// [`Self::run_batch`] over data already made Rhai values (a batch builds
    /// them one return at a time, without a JSON of the whole batch): each
    /// rule gets its own copy, the last one the data itself.
    pub fn run_batch_on(&self, data: Dynamic) -> Vec<(&Rule, Result<Vec<api::Reported>, String>)> {
        let chosen: Vec<&Rule> = self
            .rules
            .iter()
            .filter(|r| r.templates.as_ref().is_some_and(|t| t.iter().any(|x| x == BATCH_SCOPE)))
            .filter(|r| !self.is_off(&r.meta.id))
            .collect();
        let last = chosen.len().saturating_sub(1);
        let mut data = Some(data);
        chosen
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                let copy = if i == last { data.take() } else { data.clone() };
                (r, self.run_one(r, copy.unwrap_or(Dynamic::UNIT)))
            })
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

    /// Whether some rule of `template` is not compiled yet (rules loaded
    /// lazily compile on first use).
    pub fn needs_compiling(&self, template: &str) -> bool {
        self.rules
            .iter()
            .any(|r| r.applies_to(template) && !self.is_off(&r.meta.id) && r.ast.get().is_none())
    }

    /// Compiles the rules of `template` not compiled yet (a worker does it
    /// on a second thread while the first file of a template is extracted and
    /// validated); a rule that does not compile fails when it runs, as before.
    /// `backwards`: from the last rule to the first (two threads compiling
    /// the same template's rules meet in the middle).
    pub fn compile_for(&self, template: &str, backwards: bool) {
        let wanted = |r: &&Rule| r.applies_to(template) && !self.is_off(&r.meta.id) && r.ast.get().is_none();
        if backwards {
            self.rules.iter().rev().filter(wanted).for_each(|r| {
                self.ast_of(r);
            });
        } else {
            self.rules.iter().filter(wanted).for_each(|r| {
                self.ast_of(r);
            });
        }
    }

    fn ast_of<'r>(&self, rule: &'r Rule) -> &'r Result<rhai::AST, String> {
        rule.ast
            .get_or_init(|| compile_script(&self.engine, &rule.script, rule.shared.as_deref()).map_err(|(_, _, m)| m))
    }

    fn eval(&self, rule: &Rule, scope: &mut Scope) -> Result<Vec<api::Reported>, Box<rhai::EvalAltResult>> {
        let ast = self.ast_of(rule);
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
            let data: Value = match serde_json::from_str(&ex.data)
                .map_err(|e| e.to_string())
                .and_then(|d| self.example_view(rule, d))
            {
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

    /// A worked example's data as the rule sees it: a cross-file rule's
    /// returns through their templates' cross-file views, as in a batch.
    fn example_view(&self, rule: &Rule, data: Value) -> Result<Value, String> {
        if rule
            .templates
            .as_ref()
            .is_some_and(|t| t.iter().any(|x| x == BATCH_SCOPE))
        {
            self.batch_view(data).map_err(|e| e.to_string())
        } else {
            Ok(data)
        }
    }

    /// The message a failing example produces (for `explain`).
    pub fn example_messages(&self, rule: &Rule) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for ex in rule.examples().iter().filter(|e| e.expect == Expect::Fail) {
            let data = serde_json::from_str::<Value>(&ex.data)
                .map_err(|e| e.to_string())
                .and_then(|d| self.example_view(rule, d));
            if let (Ok(data), Ok(set)) = (data, example_params(rule, ex)) {
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
