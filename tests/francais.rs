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
        &[os("check"), ret, os("--fail-on"), os("erreur")],
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
