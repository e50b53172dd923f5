//! The README shows what the program prints (issue 22). Every text block the
//! README marks with `<!-- exemple -->` starts with the command (`$ bilan …`,
//! continued by a trailing `\`) and goes on with its output; the command is run
//! and its output (standard output, then standard error) compared with the
//! block, dates and times aside. A line `[…]` (or `[… text …]`) in the block
//! stands for any number of lines.
//!
//! The commands run in a folder laid out as the README tells the story:
//! `fixtures/` (the repository's), `retours/` (the five returns of the
//! campaign), `campagne.toml` and `attendus.csv` (from `fixtures/campagne/`),
//! and `v2/` (the returns sent again).

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The folder the README's commands run in.
fn stage() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let fixtures = root().join("fixtures");
    let copy = |from: &str, to: &str| {
        let to = d.join(to);
        std::fs::create_dir_all(to.parent().expect("a folder")).expect("mkdir");
        std::fs::copy(fixtures.join(from), &to).unwrap_or_else(|e| panic!("{from}: {e}"));
    };
    copy_dir(&fixtures, &d.join("fixtures"));
    for f in [
        "pole-itrans-cout-total-different-des-financeurs.xlsx",
        "pole-maud-conforme.xlsx",
        "programme-prdess-2009-dla-sous-la-moitie.xlsx",
        "programme-sri-2009-fonds-innovation-sous-la-moitie.xlsx",
    ] {
        copy(f, &format!("retours/{f}"));
    }
    copy(
        "campagne/plde-calaisis-convention-sur-4-ans.xlsx",
        "retours/plde-calaisis-convention-sur-4-ans.xlsx",
    );
    copy("campagne/campagne.toml", "campagne.toml");
    copy("campagne/attendus.csv", "attendus.csv");
    copy(
        "campagne/pole-itrans-renvoi-deux-annees-corrigees.xlsx",
        "v2/pole-itrans-2009.xlsx",
    );
    copy(
        "campagne/programme-prdess-2009-dla-justifie.xlsx",
        "v2/programme-prdess-2009.xlsx",
    );
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("fixtures").flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).expect("copied");
        }
    }
}

/// One marked example: its command's words and the output shown.
struct Example {
    line: usize,
    args: Vec<String>,
    shown: Vec<String>,
}

fn examples(readme: &str) -> Vec<Example> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() != "<!-- exemple -->" {
            i += 1;
            continue;
        }
        let start = i + 1;
        assert!(
            lines.get(start).is_some_and(|l| l.starts_with("```")),
            "README.md:{}: a marked example is a ``` block",
            start + 1
        );
        let mut j = start + 1;
        let mut command = String::new();
        while let Some(l) = lines.get(j) {
            let l = l.strip_prefix("$ ").unwrap_or(l);
            if command.is_empty() && !lines[j].starts_with("$ ") {
                panic!("README.md:{}: the block starts with « $ bilan … »", j + 1);
            }
            j += 1;
            match l.strip_suffix('\\') {
                Some(rest) => command.push_str(rest),
                None => {
                    command.push_str(l);
                    break;
                }
            }
        }
        let mut shown = Vec::new();
        while let Some(l) = lines.get(j) {
            if l.starts_with("```") {
                break;
            }
            shown.push(l.to_string());
            j += 1;
        }
        let args: Vec<String> = command.split_whitespace().map(str::to_string).collect();
        assert_eq!(
            args.first().map(String::as_str),
            Some("bilan"),
            "README.md:{}",
            start + 1
        );
        out.push(Example {
            line: start + 1,
            args: args[1..].to_vec(),
            shown,
        });
        i = j;
    }
    out
}

/// Dates and times aside: `07/12/2026 à 16:28` and `2026-12-07T16:28:03Z` read `<date>`.
fn undated(line: &str) -> String {
    let b = line.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    let shape = |at: usize, s: &str| {
        line.get(at..at + s.len()).is_some_and(|t| {
            t.bytes()
                .zip(s.bytes())
                .all(|(c, w)| if w == b'9' { c.is_ascii_digit() } else { c == w })
        })
    };
    while i < b.len() {
        if shape(i, "99/99/9999 à 99:99") {
            out.push_str("<date>");
            i += "99/99/9999 à 99:99".len();
        } else if shape(i, "9999-99-99T99:99:99Z") {
            out.push_str("<date>");
            i += "9999-99-99T99:99:99Z".len();
        } else {
            let c = line[i..].chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out.trim_end().to_string()
}

/// Whether `actual` is `shown`, `[…]` lines standing for any lines.
fn matches(shown: &[String], actual: &[String]) -> bool {
    match shown.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first.trim_start().starts_with("[…") => {
            (0..=actual.len()).any(|skip| matches(rest, &actual[skip..]))
        }
        Some((first, rest)) => actual
            .split_first()
            .is_some_and(|(a, more)| undated(a) == undated(first) && matches(rest, more)),
    }
}

#[test]
fn the_readme_examples_are_what_bilan_prints() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let examples = examples(&readme);
    assert!(examples.len() >= 4, "marked examples: {}", examples.len());
    let dir = stage();
    let mut wrong = Vec::new();
    for ex in &examples {
        let out = Command::new(env!("CARGO_BIN_EXE_bilan"))
            .args(&ex.args)
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .env("COLUMNS", "110")
            .output()
            .expect("bilan runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let actual: Vec<String> = text.lines().map(str::to_string).collect();
        if !matches(&ex.shown, &actual) {
            wrong.push(format!(
                "README.md:{} « bilan {} » prints:\n{}\n",
                ex.line,
                ex.args.join(" "),
                text
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn elisions_and_dates_are_the_only_freedom() {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert!(matches(&s(&["a", "[…]", "d"]), &s(&["a", "b", "c", "d"])));
    assert!(matches(&s(&["a", "[… le reste …]"]), &s(&["a", "b"])));
    assert!(!matches(&s(&["a", "d"]), &s(&["a", "b", "d"])));
    assert!(matches(
        &s(&["Contrôle du 01/01/2020 à 10:00"]),
        &s(&["Contrôle du 07/12/2026 à 16:28"])
    ));
    assert!(!matches(&s(&["5 erreurs"]), &s(&["4 erreurs"])));
}
