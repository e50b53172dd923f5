//! Everything a user reads is French (`cli.md`, "Everything in French"): every
//! command run with bad input answers in French, with no English from clap,
//! the system or a library, and with the exit status the spec gives.

mod common;

use common::{bilan, fixture};

const RETURN: &str = "pole-itrans-cout-total-different-des-financeurs.xlsx";

/// English that must never reach a user.
const ENGLISH: [&str; 12] = [
    "error:",
    "Usage",
    "Print help",
    "os error",
    "found",
    "expected one of",
    "help:",
    "warning[",
    "error[",
    "tip:",
    "No such file",
    "Permission denied",
];

/// Runs `bilan ARGS` and returns its exit status and stdout + stderr.
fn run<I, S>(args: I) -> (Option<i32>, String)
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = bilan().args(args).output().expect("runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

fn assert_french(what: &str, text: &str) {
    for word in ENGLISH {
        assert!(!text.contains(word), "{what}: « {word} » in\n{text}");
    }
}

/// Runs a case that must fail with exit status 2 and a French message
/// containing `expect`.
fn fails(what: &str, args: &[&std::ffi::OsStr], expect: &str) {
    let (code, text) = run(args);
    assert_french(what, &text);
    assert_eq!(code, Some(2), "{what}: exit status\n{text}");
    assert!(text.contains(expect), "{what}: « {expect} » missing in\n{text}");
}

fn os(s: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(s)
}

#[test]
fn bad_input_to_every_command_is_answered_in_french_with_exit_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let ret = fixture(RETURN);
    let ret = ret.as_os_str();
    let a_file = d.join("un-fichier.txt");
    std::fs::write(&a_file, "x").expect("write");
    // An output under a regular file cannot be created, even as root.
    let unwritable = a_file.join("sortie.xlsx");
    let missing = d.join("absent.xlsx");
    let report = d.join("rapport.controle.xlsx");
    let bad_rules = d.join("regles");
    std::fs::create_dir_all(&bad_rules).expect("mkdir");
    std::fs::write(
        bad_rules.join("pack.toml"),
        "name = \"essai\"\n[severity]\n\"POLE-FIN-005\" = \"parfois\"\n",
    )
    .expect("write");

    // Typos in commands, options and values.
    fails("unknown command", &[os("chek")], "vouliez-vous dire « check »");
    fails(
        "typo'd flag",
        &[os("check"), os("--repport"), os("x.xlsx"), ret],
        "vouliez-vous dire « --report »",
    );
    fails(
        "bad value",
        &[os("check"), ret, os("--fail-on"), os("parfois")],
        "valeurs possibles",
    );
    fails(
        "bad number",
        &[os("batch"), ret, os("--out"), d.as_os_str(), os("--jobs"), os("abc")],
        "entier",
    );
    fails("missing argument", &[os("check")], "obligatoire");
    fails("bad shell", &[os("completions"), os("cmd")], "invalide");
    for sub in [
        "check",
        "batch",
        "template",
        "rules",
        "explain",
        "extract",
        "completions",
        "man",
    ] {
        fails(
            sub,
            &[os(sub), os("--nimporte-quoi")],
            "option inconnue « --nimporte-quoi »",
        );
    }

    // check: a path that is not there, a folder, outputs that cannot be written.
    fails(
        "missing path",
        &[os("check"), missing.as_os_str(), os("--report"), report.as_os_str()],
        "introuvable",
    );
    assert!(!report.exists(), "no report for a path that is not there");
    fails("folder to check", &[os("check"), d.as_os_str()], "bilan batch");
    fails(
        "--report not .xlsx",
        &[os("check"), ret, os("--report"), d.join("rapport.pdf").as_os_str()],
        ".xlsx",
    );
    fails(
        "unwritable --report",
        &[os("check"), ret, os("--report"), unwritable.as_os_str()],
        "un élément du chemin n'est pas un dossier",
    );
    fails(
        "unwritable --json",
        &[os("check"), ret, os("--json"), a_file.join("r.json").as_os_str()],
        "n'est pas un dossier",
    );
    fails(
        "unwritable --report-dir",
        &[
            os("check"),
            ret,
            os("--report-dir"),
            a_file.join("rapports").as_os_str(),
        ],
        "n'est pas un dossier",
    );

    // batch
    fails(
        "unwritable --out",
        &[os("batch"), ret, os("--out"), a_file.join("controle").as_os_str()],
        "n'est pas un dossier",
    );
    fails(
        "batch over a missing path",
        &[os("batch"), missing.as_os_str(), os("--out"), d.join("c1").as_os_str()],
        "introuvable",
    );
    fails(
        "missing --expected",
        &[
            os("batch"),
            ret,
            os("--out"),
            d.join("c2").as_os_str(),
            os("--expected"),
            d.join("attendus.csv").as_os_str(),
        ],
        "introuvable",
    );

    // template
    fails(
        "bad template id",
        &[
            os("template"),
            os("BILAN-NIMPORTE"),
            os("-o"),
            d.join("m.xlsx").as_os_str(),
        ],
        "modèle « BILAN-NIMPORTE » inconnu",
    );
    fails(
        "unwritable template",
        &[os("template"), os("BILAN-POLE"), os("-o"), unwritable.as_os_str()],
        "n'est pas un dossier",
    );
    fails(
        "template over an existing file",
        &[os("template"), os("BILAN-POLE"), os("-o"), a_file.as_os_str()],
        "--force",
    );
    assert_eq!(
        std::fs::read_to_string(&a_file).ok().as_deref(),
        Some("x"),
        "not overwritten"
    );

    // explain, rules, extract
    fails(
        "unknown rule",
        &[os("explain"), os("POLE-XXX-999")],
        "ni une règle ni un modèle",
    );
    fails(
        "unknown template",
        &[os("rules"), os("--template"), os("NOPE")],
        "modèle « NOPE » inconnu",
    );
    fails(
        "extract a missing path",
        &[os("extract"), missing.as_os_str()],
        "introuvable",
    );

    // A pack.toml that does not load: every command that loads rules says where, in French.
    for args in [
        vec![os("check"), ret],
        vec![os("batch"), ret, os("--out"), d.join("c3").as_os_str()],
        vec![os("rules")],
        vec![os("explain"), os("POLE-FIN-001")],
        vec![os("extract"), ret],
    ] {
        let mut all = args.clone();
        all.push(os("--rules"));
        all.push(bad_rules.as_os_str());
        fails("bad pack.toml", &all, "parfois");
    }
}

#[test]
fn help_of_every_command_is_french_and_lists_only_its_options() {
    let (code, text) = run(["--help"]);
    assert_eq!(code, Some(0));
    assert_french("bilan --help", &text);
    assert!(text.contains("Utilisation : bilan"), "{text}");
    for sub in [
        "check",
        "batch",
        "template",
        "rules",
        "explain",
        "extract",
        "completions",
        "man",
        "diff",
        "serve",
    ] {
        let (code, text) = run([sub, "--help"]);
        assert_eq!(code, Some(0), "{sub}");
        assert_french(sub, &text);
        assert!(text.contains(&format!("Utilisation : bilan {sub}")), "{sub}:\n{text}");
        assert!(text.contains("Code de sortie"), "{sub}:\n{text}");
    }
    let (_, text) = run(["template", "--help"]);
    for option in ["--timeout", "--template ", "--max-cells", "--no-isolation"] {
        assert!(!text.contains(option), "template --help offers {option}:\n{text}");
    }
    let (_, text) = run(["check", "--help"]);
    assert!(text.contains("<FICHIER>"), "{text}");
    let (code, text) = run(["--version"]);
    assert_eq!(code, Some(0));
    assert!(text.starts_with("bilan "), "{text}");
}

#[test]
fn findings_are_worded_in_french_in_every_terminal_format() {
    for format in ["human", "short"] {
        let (code, text) = run([os("check"), fixture(RETURN).as_os_str(), os("--format"), os(format)]);
        assert_eq!(code, Some(1), "{format}");
        assert_french(format, &text);
        assert!(text.contains("erreur"), "{format}:\n{text}");
        assert!(
            text.contains("5 erreurs, 1 avertissement, 0 information"),
            "{format}:\n{text}"
        );
        assert!(!text.contains("projet(s)"), "{format}:\n{text}");
    }
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let (code, text) = run(["completions", shell]);
        assert_eq!(code, Some(0), "{shell}");
        assert!(text.contains("report"), "{shell}");
    }
    let (code, text) = run(["man"]);
    assert_eq!(code, Some(0));
    assert!(text.contains(".TH"), "{text}");
    assert!(text.contains(".SH NOM"), "{text}");
    let (code, text) = run(["man", "check"]);
    assert_eq!(code, Some(0));
    assert!(text.contains("bilan\\-check") || text.contains("bilan-check"), "{text}");
}

/// Help words clap would write in English, and English value names.
const ENGLISH_HELP: [&str; 10] = [
    "Options:",
    "Arguments:",
    "Commands",
    "Commandes:",
    "[default",
    "possible values",
    "<DIR>",
    "<FILE",
    "human (",
    "never (",
];

/// Issue 22: headings « Commandes : », « Arguments : », « Options : »; value
/// names and values in French in every command's help.
#[test]
fn help_headings_value_names_and_values_are_french() {
    let (_, text) = run(["--help"]);
    assert!(text.contains("Commandes :\n"), "{text}");
    assert!(text.contains("Options :\n"), "{text}");
    for sub in [
        "check",
        "batch",
        "template",
        "rules",
        "explain",
        "extract",
        "completions",
        "man",
        "diff",
        "serve",
    ] {
        let (_, text) = run([sub, "--help"]);
        for word in ENGLISH_HELP {
            assert!(!text.contains(word), "{sub} --help: « {word} » in\n{text}");
        }
        assert!(text.contains("Options :\n"), "{sub}:\n{text}");
    }
    let (_, text) = run(["check", "--help"]);
    assert!(text.contains("Arguments :\n  <FICHIER>..."), "{text}");
    assert!(
        text.contains("[défaut : erreur] [valeurs possibles : erreur (une erreur), avertissement"),
        "{text}"
    );
    let (_, text) = run(["serve", "--help"]);
    assert!(text.contains("--data <DOSSIER>"), "{text}");
    // template: every model in its help.
    let (_, text) = run(["template", "--help"]);
    for id in [
        "BILAN-POLE",
        "BILAN-PLDE",
        "BILAN-PROGRAMME",
        "BILAN-OUTILS-FINANCIERS",
        "REPARTITION-POLES",
        "TDB-FEDER-AXE1",
    ] {
        assert!(text.contains(id), "{id} missing from template --help:\n{text}");
    }
}

/// Issue 22: `--fail-on` and `--format` take the French words; the English
/// ones stay accepted (scripts).
#[test]
fn french_values_of_fail_on_and_format_are_accepted_and_english_kept() {
    let ret = fixture(RETURN);
    for (value, expect) in [
        ("erreur", 1),
        ("error", 1),
        ("avertissement", 1),
        ("warning", 1),
        ("information", 1),
        ("info", 1),
        ("jamais", 0),
        ("never", 0),
    ] {
        let (code, text) = run([os("check"), ret.as_os_str(), os("--fail-on"), os(value), os("--quiet")]);
        assert_eq!(code, Some(expect), "--fail-on {value}:\n{text}");
    }
    let maud = fixture("pole-maud-conforme.xlsx");
    let (code, _) = run([os("check"), maud.as_os_str(), os("--fail-on"), os("information")]);
    assert_eq!(code, Some(0), "a clean return");
    for (value, marker) in [
        ("humain", "  × "),
        ("human", "  × "),
        ("court", "POLE-FIN-001"),
        ("short", "POLE-FIN-001"),
        ("json", "\"findings\""),
    ] {
        let (code, text) = run([os("check"), ret.as_os_str(), os("--format"), os(value)]);
        assert_eq!(code, Some(1), "--format {value}:\n{text}");
        assert!(text.contains(marker), "--format {value}:\n{text}");
    }
    let (code, text) = run(["rules", "--format", "court"]);
    assert_eq!(code, Some(0), "{text}");
}

/// Issue 22: `bilan explain` reads well on a terminal: no Markdown markup, the
/// examples as an excerpt of the sheets, a suggestion for a near miss, and
/// with `--campagne` the campaign's values in the text.
#[test]
fn explain_is_rendered_for_a_terminal() {
    let (code, text) = run(["explain", "POLE-FIN-001"]);
    assert_eq!(code, Some(0), "{text}");
    for markup in ["**", "```", "`", "\n# ", "\n## ", "|---"] {
        assert!(!text.contains(markup), "« {markup} » in\n{text}");
    }
    assert!(text.starts_with("POLE-FIN-001 — "), "{text}");
    assert!(text.contains("Feuille « Financements » :"), "a sheet excerpt:\n{text}");
    assert!(text.contains("Coût total (€)"), "column labels, not JSON keys:\n{text}");
    assert!(!text.contains("\"cout_total\""), "no JSON:\n{text}");
    // The table is aligned: every line of the excerpt's header rule has the header's width.
    let header = text
        .lines()
        .position(|l| l.contains("Coût total (€)") && l.starts_with("  "))
        .expect("the excerpt's header");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[header + 1].trim_start().starts_with('─'), "{text}");
    assert_eq!(
        lines[header].trim_end().chars().count(),
        lines[header + 1].trim_end().chars().count(),
        "{text}"
    );

    let (code, text) = run(["explain", "POLE-FIN-01"]);
    assert_eq!(code, Some(2));
    assert!(text.contains("vouliez-vous dire « POLE-FIN-001 »"), "{text}");

    let campaign = fixture("campagne/campagne.toml");
    let (code, text) = run([
        os("explain"),
        os("PROG-OBJ-001"),
        os("--campagne"),
        campaign.as_os_str(),
    ]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("40 % de l'objectif"), "{text}");
    assert!(!text.contains("50 % de l'objectif"), "{text}");
    let (_, text) = run(["explain", "PROG-OBJ-001"]);
    assert!(text.contains("50 % de l'objectif"), "{text}");
}

/// Issue 22: `template` without an id lists the models.
#[test]
fn template_without_an_id_lists_the_models() {
    let (code, text) = run(["template"]);
    assert_eq!(code, Some(0), "{text}");
    for id in [
        "BILAN-POLE",
        "BILAN-PLDE",
        "BILAN-PROGRAMME",
        "BILAN-OUTILS-FINANCIERS",
        "REPARTITION-POLES",
        "TDB-FEDER-AXE1",
    ] {
        assert!(text.contains(id), "{id}:\n{text}");
    }
    assert!(text.contains("bilan template ID -o SORTIE.xlsx"), "{text}");
}

/// Issue 22: `diff` names a changed value by sheet, cell and label.
#[test]
fn diff_names_changed_values_by_sheet_cell_and_label() {
    let old = fixture(RETURN);
    let new = fixture("campagne/pole-itrans-renvoi-deux-annees-corrigees.xlsx");
    let (code, text) = run([os("diff"), old.as_os_str(), new.as_os_str()]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("Financements!B4, Coût total (€), 2005 : 17 081 618 → 16 033 022"),
        "{text}"
    );
    assert!(!text.contains("/financements/0/cout_total"), "no JSON pointer:\n{text}");
}

/// Issue 22: same-named returns in two formats keep their format in the name
/// of their annotated workbook.
#[test]
fn same_named_returns_of_two_formats_keep_their_format() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("retours");
    std::fs::create_dir_all(&input).expect("mkdir");
    for ext in ["xlsx", "ods"] {
        std::fs::copy(
            fixture(&format!("pole-itrans-cout-total-different-des-financeurs.{ext}")),
            input.join(format!("itrans.{ext}")),
        )
        .expect("copied");
    }
    let out = dir.path().join("sortie");
    let (code, text) = run([
        os("batch"),
        input.as_os_str(),
        os("--out"),
        out.as_os_str(),
        os("--quiet"),
    ]);
    assert_eq!(code, Some(1), "{text}");
    assert!(out.join("annotes/itrans.controle.xlsx").is_file(), "{text}");
    assert!(out.join("annotes/itrans.ods.controle.xlsx").is_file(), "{text}");
}

/// Issue 22: an output in a folder that does not exist stops the run (exit 2,
/// « dossier introuvable ») before the return is checked: the typo never
/// makes a clean return « Non conforme ».
#[test]
fn an_output_in_a_missing_folder_is_exit_2_and_never_a_verdict() {
    let dir = tempfile::tempdir().expect("temp dir");
    let maud = fixture("pole-maud-conforme.xlsx");
    for option in ["--report", "--json"] {
        let out = dir.path().join("sous-dossier-absent").join("rapport.xlsx");
        let (code, text) = run([os("check"), maud.as_os_str(), os(option), out.as_os_str()]);
        assert_eq!(code, Some(2), "{option}:\n{text}");
        assert!(text.contains("dossier introuvable"), "{option}:\n{text}");
        assert!(
            !text.contains("Non conforme") && !text.contains("BILAN-OUT-001"),
            "{option}:\n{text}"
        );
        assert_french(option, &text);
    }
    let out = dir.path().join("absent").join("modele.xlsx");
    let (code, text) = run([os("template"), os("BILAN-POLE"), os("-o"), out.as_os_str()]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("dossier introuvable"), "{text}");
}
