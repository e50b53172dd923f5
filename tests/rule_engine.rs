//! The rule engine's sandbox: a rule that loops, grows without bound or
//! recurses too deep is stopped and reported as BILAN-RULE-001 for that rule;
//! the other rules still run.

use std::path::PathBuf;
use std::time::Duration;

use bilan::base::embedded::SourceFile;
use bilan::pipeline::extract::Extraction;
use bilan::pipeline::rules::{RulePack, Sandbox};

fn rule(id: &str, body: &str) -> SourceFile {
    SourceFile {
        path: PathBuf::from(format!("BILAN-POLE/{id}-essai.rhai")),
        text: format!("/*\nid = \"{id}\"\ntitle = \"essai\"\nseverity = \"error\"\nchecks = \"essai\"\n*/\n{body}\n")
            .into(),
    }
}

fn run(files: &[SourceFile]) -> Vec<(String, String)> {
    let sandbox = Sandbox {
        time_budget: Duration::from_millis(500),
        ..Sandbox::default()
    };
    let pack = RulePack::load(files, sandbox).expect("compiles");
    let mut ex = Extraction {
        data: serde_json::json!({"indicateurs": {"dont_pme": 3}}),
        ..Default::default()
    };
    pack.run("BILAN-POLE", &mut ex);
    ex.findings
        .iter()
        .map(|f| (f.rule.to_string(), f.message.clone()))
        .collect()
}

#[test]
fn runaway_rules_are_stopped_and_the_others_still_run() {
    let findings = run(&[
        rule("T-LOOP-001", "loop { }"),
        rule("T-STR-001", "let s = \"x\"; loop { s += s; }"),
        rule("T-ARR-001", "let a = [1]; loop { a += a; }"),
        rule("T-REC-001", "fn f(n) { f(n + 1) } f(0);"),
        rule("T-ERR-001", "let x = data.indicateurs.dont_pme + \"texte\" * 2;"),
        rule("T-OK-001", "report(\"/indicateurs/dont_pme\", \"vu\");"),
    ]);
    let failed: Vec<&str> = findings
        .iter()
        .filter(|(r, _)| r == "BILAN-RULE-001")
        .map(|(_, m)| m.as_str())
        .collect();
    assert_eq!(failed.len(), 5, "{findings:#?}");
    for id in ["T-LOOP-001", "T-STR-001", "T-ARR-001", "T-REC-001", "T-ERR-001"] {
        assert!(failed.iter().any(|m| m.contains(id)), "{id} not reported: {failed:#?}");
    }
    assert!(
        findings.iter().any(|(r, m)| r == "T-OK-001" && m == "vu"),
        "{findings:#?}"
    );
}

#[test]
fn eval_is_not_available_to_rules() {
    let sandbox = Sandbox::default();
    let err = RulePack::load(&[rule("T-EVAL-001", "eval(\"1\");")], sandbox).expect_err("eval is disabled");
    assert!(err.path.ends_with("T-EVAL-001-essai.rhai"));
    assert_eq!(err.line, 7);
}

#[test]
fn a_typo_in_a_variable_name_fails_at_load_time() {
    let err = RulePack::load(&[rule("T-TYPO-001", "let x = dta.indicateurs;")], Sandbox::default())
        .expect_err("strict variables");
    assert_eq!(err.line, 7, "{err}");
}

/// The rules of a file share one scope (`data` converted once): a rule's
/// writes into `data`, its variables, its `params` and a `data` it shadows
/// are never seen by the rules after it, and a rule that writes into its data
/// still works (over its own copy), as when each rule had a fresh copy.
#[test]
fn each_rule_sees_the_return_as_submitted_whatever_the_others_did() {
    let files = [
        // Rules run in id order: A and B write, C and D look.
        rule(
            "T-A-001",
            "data.indicateurs.dont_pme = 99; data.nouveau = 1; data.liste.push(4); \
             params.ajout = 1; let trace = 7; \
             report(\"/indicateurs/dont_pme\", `A ${data.indicateurs.dont_pme} ${data.liste.len()}`);",
        ),
        rule(
            "T-B-001",
            "let data = #{indicateurs: #{dont_pme: -1}}; let autre = 2; \
             report(\"/indicateurs/dont_pme\", `B ${data.indicateurs.dont_pme}`);",
        ),
        rule(
            "T-C-001",
            "report(\"/indicateurs/dont_pme\", `C ${data.indicateurs.dont_pme} ${\"nouveau\" in data} \
             ${data.liste.len()} ${\"ajout\" in params} ${is_def_var(\"trace\")} ${is_def_var(\"autre\")}`);",
        ),
        rule(
            "T-D-001",
            "let x = data; x.indicateurs.dont_pme = 5; \
             report(\"/indicateurs/dont_pme\", `D ${x.indicateurs.dont_pme} ${data.indicateurs.dont_pme}`);",
        ),
        rule(
            "T-E-001",
            "report(\"/indicateurs/dont_pme\", `E ${data.indicateurs.dont_pme}`);",
        ),
    ];
    let pack = RulePack::load(&files, Sandbox::default()).expect("compiles");
    let mut ex = Extraction {
        data: serde_json::json!({"indicateurs": {"dont_pme": 3}, "liste": [1, 2, 3]}),
        ..Default::default()
    };
    pack.run("BILAN-POLE", &mut ex);
    let messages: Vec<&str> = ex.findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(
        messages,
        ["A 99 4", "B -1", "C 3 false 3 false false false", "D 5 3", "E 3"],
        "{:#?}",
        ex.findings
    );
}

fn run_on(files: &[SourceFile], data: serde_json::Value) -> Vec<(String, String)> {
    let pack = RulePack::load(files, Sandbox::default()).expect("compiles");
    let mut ex = Extraction {
        data,
        ..Default::default()
    };
    pack.run("BILAN-POLE", &mut ex);
    ex.findings
        .iter()
        .map(|f| (f.rule.to_string(), f.message.clone()))
        .collect()
}

#[test]
fn duplicates_of_finds_repeated_keys_as_the_rules_wrote_them() {
    let body = r#"for d in duplicates_of(data.t, ["a", "b"], #{ norm: ["b"], optional: ["a"] }) { report(`/t/${d.row}`, `${d.row}<${d.first}`); }
for d in duplicates_of(data.t, ["b"]) { report(`/t/${d.row}`, `exact ${d.row}<${d.first}`); }"#;
    let data = serde_json::json!({"t": [
        {"a": 1, "b": "Zone 1"},
        {"a": 1, "b": "zone  1"},
        {"a": 2, "b": "Zone 1"},
        {"b": "ZONE 1"},
        {"b": "Zone 1"},
        {"a": 1, "b": null},
        {"a": 1},
    ]});
    let got: Vec<String> = run_on(&[rule("T-DUP-001", body)], data)
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    // Normalised: rows 1 (like 0) and 4 (like 3, `a` empty); row 5 and 6 lack `b`.
    // Exact: rows 2 and 4 repeat row 0's text as written.
    assert_eq!(got, vec!["1<0", "4<3", "exact 2<0", "exact 4<0"]);
}

/// The list helpers read a list in place when called as methods on `data`
/// (a constant: they must be pure), and give the same as called as
/// functions, on `data`, on a local copy and on a temporary.
#[test]
fn list_helpers_called_as_methods_give_what_the_functions_give() {
    let body = r#"let t = data.t;
report("/a", `${column_sum(data.t, "x")}|${data.t.column_sum("x")}|${t.column_sum("x")}|${column_sum([#{x: 1}, #{x: 2}], "x")}`);
report("/b", `${sum_of(data.t, "x")}|${data.t.sum_of("x")}|${data.t.sum_of("y")}`);
let f = duplicates_of(data.t, ["x"]);
let m = data.t.duplicates_of(["x"]);
let o = data.t.duplicates_of(["y"], #{ optional: ["y"] });
report("/c", `${f.len()}|${m.len()}|${m[0].row}<${m[0].first}|${o.len()}`);
report("/d", `${data.t.len()}`);"#;
    let data = serde_json::json!({"t": [{"x": 1, "y": 1}, {"x": 2.5}, {"x": 1, "y": "a"}]});
    let got: Vec<String> = run_on(&[rule("T-MET-001", body)], data)
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    assert_eq!(got, vec!["4.5|4.5|4.5|3", "4.5|4.5|", "1|1|2<0|0", "3"]);
}

#[test]
fn column_total_differs_compares_to_the_tolerance_and_skips_what_it_cannot_sum() {
    let file = SourceFile {
        path: PathBuf::from("BILAN-POLE/T-TOT-001-essai.rhai"),
        text: "/*\nid = \"T-TOT-001\"\ntitle = \"essai\"\nseverity = \"error\"\nchecks = \"essai\"\n[parameters]\ntolerance = 1\n*/\nfor c in [\"x\", \"y\", \"z\", \"w\"] { if column_total_differs(data.rows, data.total, c) { report(`/total/${c}`, c); } }\nif column_total_differs(data.rows, data.total, \"x\", 0) { report(\"/total/x\", \"x exact\"); }\n".into(),
    };
    let data = serde_json::json!({
        "rows": [{"x": 1, "y": 2, "z": 1, "w": 1}, {"x": 2, "y": 2, "z": null, "w": 1}],
        "total": {"x": 4, "y": 6, "z": 9, "w": 2},
    });
    let got: Vec<String> = run_on(&[file], data).into_iter().map(|(_, m)| m).collect();
    // x: 4 vs 3, within 1; y: 6 vs 4, over; z: a part unusable; w: equal.
    assert_eq!(got, vec!["y", "x exact"]);
}

#[test]
fn a_shared_parameter_set_on_one_rule_is_set_on_every_rule_using_it() {
    let mut pack = RulePack::builtin().expect("built-in rules load");
    let words = |pack: &RulePack, id: &str| {
        pack.rule(id)
            .and_then(|r| r.meta.parameters.get("mots_installation"))
            .and_then(|p| p.default.clone())
    };
    assert!(words(&pack, "PLDE-DAT-003").is_some());
    assert_eq!(words(&pack, "PLDE-DAT-003"), words(&pack, "PLDE-DAT-005"));
    // A rule of the template that does not use it does not get it.
    assert_eq!(words(&pack, "PLDE-DAT-001"), None);
    use bilan::pipeline::rules::ParamValue;
    assert_eq!(
        words(&pack, "PLDE-DAT-003"),
        Some(ParamValue::List(vec![
            ParamValue::Text("install".into()),
            ParamValue::Text("mise en place".into())
        ]))
    );
    let value = ParamValue::List(vec![
        ParamValue::Text("installation".into()),
        ParamValue::Text("création".into()),
    ]);
    pack.set_parameter("PLDE-DAT-005", "mots_installation", value.clone());
    assert_eq!(words(&pack, "PLDE-DAT-003"), Some(value.clone()));
    assert_eq!(words(&pack, "PLDE-DAT-005"), Some(value));
}

#[test]
fn a_shared_file_gives_its_constants_and_functions_to_the_rules_of_its_folder() {
    let shared = SourceFile {
        path: PathBuf::from("BILAN-POLE/commun.rhai"),
        text: "/*\n[parameters]\nseuil = 2\n*/\nconst NOMS = [\"a\", \"b\"];\nfn double(x) { x * 2 }\n".into(),
    };
    let body = "for n in NOMS { if double(data.v) > params.seuil { report(`/v`, n); } }";
    let got: Vec<String> = run_on(&[shared.clone(), rule("T-SH-001", body)], serde_json::json!({"v": 3}))
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    assert_eq!(got, vec!["a", "b"]);
    // A shared file that runs something other than constants is refused.
    let bad = SourceFile {
        path: PathBuf::from("BILAN-POLE/commun.rhai"),
        text: "let x = 1;\n".into(),
    };
    let err = RulePack::load(&[bad, rule("T-SH-001", body)], Sandbox::default())
        .map(|_| ())
        .unwrap_err();
    assert!(err.message.contains("constantes"), "{}", err.message);
}

#[test]
fn rules_loaded_lazily_read_the_same_headers_and_examples() {
    let files = bilan::base::embedded::rules();
    let eager = RulePack::load(&files, Sandbox::default()).expect("built-in rules load");
    let lazy = RulePack::load_lazy(&files, Sandbox::default()).expect("built-in rules load");
    assert_eq!(eager.rules.len(), lazy.rules.len());
    for (a, b) in eager.rules.iter().zip(&lazy.rules) {
        assert_eq!(a.meta.id, b.meta.id);
        assert_eq!(a.meta.parameters, b.meta.parameters, "{}", a.meta.id);
        assert_eq!(a.meta.needs, b.meta.needs, "{}", a.meta.id);
        let names = |r: &bilan::pipeline::rules::Rule| {
            r.examples()
                .iter()
                .map(|e| (e.name.clone(), e.data.clone()))
                .collect::<Vec<_>>()
        };
        assert!(!names(a).is_empty(), "{}", a.meta.id);
        assert_eq!(names(a), names(b), "{}", a.meta.id);
    }
}
