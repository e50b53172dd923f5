//! The rule reference `docs/REGLES.md` is generated from the rule files and the
//! schemas, committed, and kept up to date:
//! - it is exactly what `bilan rules --reference` writes;
//! - it documents every rule id of the catalogue `tests/data/catalogue-regles.md`
//!   (a copy of the contract's `spec/rules.md`, so that no test reads outside
//!   the repository: copy it again when the contract changes)
//!   (each with its own section), and every rule and template the program knows.
//!
//! After changing a rule or a schema, regenerate it with
//!
//! ```text
//! BILAN_REGEN_DOCS=1 cargo test --test rule_reference
//! ```
//!
//! or `cargo run -- rules --reference` (from the crate's folder).

mod common;

use common::bilan;

use std::path::PathBuf;

use bilan::docs::{anchor, reference, rule_rows, REFERENCE_PATH};
use bilan::pipeline::rules::RulePack;
use bilan::pipeline::template::TemplateSet;

const REGEN: &str = "BILAN_REGEN_DOCS=1 cargo test --test rule_reference";

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn generated() -> String {
    let pack = RulePack::builtin().expect("built-in rules load");
    let templates = TemplateSet::builtin();
    reference(&pack, &templates)
}

/// The committed reference, or (with `BILAN_REGEN_DOCS=1`) the freshly written one.
fn committed() -> String {
    let path = crate_dir().join(REFERENCE_PATH);
    if std::env::var("BILAN_REGEN_DOCS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().expect("docs/")).expect("create docs/");
        std::fs::write(&path, generated()).expect("write docs/REGLES.md");
    }
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{} is missing ({e}): run `{REGEN}`", path.display()))
}

#[test]
fn the_committed_reference_is_up_to_date() {
    let want = generated();
    let have = committed();
    if have != want {
        let line = have
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| have.lines().count().min(want.lines().count()));
        panic!(
            "{REFERENCE_PATH} is out of date (first difference at line {}):\n  committed: {:?}\n  generated: {:?}\nRegenerate it with `{REGEN}` (or `cargo run -- rules --reference`) and commit it.",
            line + 1,
            have.lines().nth(line).unwrap_or("<end of file>"),
            want.lines().nth(line).unwrap_or("<end of file>"),
        );
    }
}

/// Rule ids of the catalogue: the first cell of every table row `| ID | … |`
/// whose content looks like an id (capitals, digits and dashes, with a digit).
fn catalogue_ids(text: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.trim().strip_prefix('|') else {
            continue;
        };
        let Some(first) = rest.split('|').next().map(str::trim) else {
            continue;
        };
        let looks_like_id = first.contains('-')
            && first.chars().any(|c| c.is_ascii_digit())
            && first
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
        if looks_like_id && !ids.iter().any(|i| i == first) {
            ids.push(first.to_string());
        }
    }
    ids
}

#[test]
fn the_reference_documents_every_rule_of_the_catalogue() {
    let spec = crate_dir().join("tests/data/catalogue-regles.md");
    let text = std::fs::read_to_string(&spec).unwrap_or_else(|e| panic!("{}: {e}", spec.display()));
    let ids = catalogue_ids(&text);
    assert!(
        ids.len() > 20,
        "only {} ids parsed from {}: {ids:?}",
        ids.len(),
        spec.display()
    );
    let doc = committed();
    let missing: Vec<&String> = ids
        .iter()
        .filter(|id| !doc.contains(&format!("<a id=\"{}\"></a>", anchor(id))))
        .collect();
    assert!(
        missing.is_empty(),
        "{REFERENCE_PATH} has no section for {} rule(s) of {}: {missing:?}\n(write the rule in rules/ — or document an engine rule in rules/engine.toml — then run `{REGEN}`)",
        missing.len(),
        spec.display()
    );
}

#[test]
fn the_reference_documents_every_known_rule_and_template() {
    let pack = RulePack::builtin().expect("built-in rules load");
    let templates = TemplateSet::builtin();
    let doc = generated();
    for row in rule_rows(&pack, None) {
        assert!(
            doc.contains(&format!("<a id=\"{}\"></a>", anchor(&row.id))),
            "no section for rule {}",
            row.id
        );
        assert!(
            doc.contains(&format!("[{}](#{})", row.id, anchor(&row.id))),
            "rule {} missing from the summary",
            row.id
        );
    }
    for t in templates.all() {
        assert!(
            doc.contains(&format!("<a id=\"{}\"></a>", anchor(&t.id))),
            "no section for template {}",
            t.id
        );
        for sheet in &t.sheets {
            assert!(
                doc.contains(&format!("Feuille « {} »", sheet.name)),
                "{}: sheet {} not documented",
                t.id,
                sheet.name
            );
        }
    }
    // Every script rule's section shows a failing example and the message it gives.
    for r in &pack.rules {
        let start = doc
            .find(&format!("<a id=\"{}\"></a>", anchor(&r.meta.id)))
            .expect("section");
        let section = &doc[start..];
        let end = section[1..].find("<a id=").map(|i| i + 1).unwrap_or(section.len());
        let section = &section[..end];
        for heading in [
            "Ce qui est contrôlé",
            "Pourquoi",
            "Paramètres et tolérance",
            "Références",
            "Exemple en échec",
            "Message produit",
        ] {
            assert!(
                section.contains(heading),
                "{}: no « {heading} » in its section",
                r.meta.id
            );
        }
    }
}

#[test]
fn bilan_rules_reference_writes_the_same_text() {
    let out = bilan().args(["rules", "--reference", "-"]).output().expect("runs");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), generated());
    let dir = tempfile::tempdir().expect("temp dir");
    bilan()
        .current_dir(dir.path())
        .args(["rules", "--reference"])
        .assert()
        .code(0);
    let written =
        std::fs::read_to_string(dir.path().join(REFERENCE_PATH)).expect("docs/REGLES.md written in the current folder");
    assert_eq!(written, generated());
}

#[test]
fn bilan_explain_documents_a_rule_and_a_template() {
    let out = bilan().args(["explain", "PLDE-FIN-001"]).output().expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for part in [
        "PLDE-FIN-001",
        "Ce qui est contrôlé",
        "Pourquoi",
        "Paramètres et tolérance",
        "tolerance = 1",
        "Références",
        "Exemple en échec",
        "Message produit",
        "feuille « Moyens financiers »",
    ] {
        assert!(text.contains(part), "« {part} » missing from:\n{text}");
    }
    let out = bilan().args(["explain", "BILAN-PLDE"]).output().expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for part in [
        "Feuille « Identification »",
        "Feuille « Dates clés »",
        "Feuille « Axes »",
        "Feuille « Moyens financiers »",
        "Engagement collectif total (€)",
        "entre 2000 et 2030",
        "« Littoral », « Flandres – Métropole », « Artois », « Hainaut – Cambrésis »",
        "facultatif",
        "Titre",
    ] {
        assert!(text.contains(part), "« {part} » missing from:\n{text}");
    }
    // The fields' table is aligned for a terminal: the total's row gives its
    // type, unit, range and requirement in that order.
    let row = text
        .lines()
        .find(|l| l.contains("/moyens/total"))
        .unwrap_or_else(|| panic!("no row for /moyens/total in:\n{text}"));
    let words: Vec<&str> = row.split_whitespace().collect();
    let at = |w: &str| {
        words
            .iter()
            .position(|x| *x == w)
            .unwrap_or_else(|| panic!("« {w} » missing from {row}"))
    };
    assert!(
        at("nombre") < at("€") && at("€") < at("≥") && at("≥") < at("obligatoire"),
        "{row}"
    );
}

/// The rule API's reference in the README, between its markers: exactly what
/// `bilan::pipeline::rules::api::reference_markdown()` generates from the registrations.
/// `BILAN_REGEN_DOCS=1` rewrites it.
#[test]
fn the_readme_lists_the_rule_api_as_registered() {
    const START: &str = "<!-- api-regles:debut -->\n";
    const END: &str = "<!-- api-regles:fin -->";
    let path = crate_dir().join("README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let (Some(a), Some(b)) = (readme.find(START), readme.find(END)) else {
        panic!("README.md lacks the markers {START:?} … {END:?}");
    };
    let want = bilan::pipeline::rules::api::reference_markdown();
    if std::env::var("BILAN_REGEN_DOCS").is_ok_and(|v| v == "1") {
        let updated = format!("{}{want}{}", &readme[..a + START.len()], &readme[b..]);
        std::fs::write(&path, updated).expect("write README.md");
        return;
    }
    assert_eq!(
        &readme[a + START.len()..b],
        want,
        "the README's rule API is out of date: run `{REGEN}`"
    );
    // Every function a rule may call is listed, `plural` and `dec` included.
    for f in [
        "plural(",
        "dec(",
        "duplicates_of(",
        "column_total_differs(",
        "is_text(",
        "report(",
    ] {
        assert!(want.contains(&format!("`{f}")), "{f} missing from the reference");
    }
    assert!(!want.contains("`num("), "`num` was removed from the API");
}
