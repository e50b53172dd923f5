//! The reporting cycle on the command line: `--campagne` on `check`, `batch`,
//! `explain`; a malformed campaign file; `bilan diff` with its three outputs.
//! Every report must say which rules the campaign switched off or changed, and why.

mod common;

use common::{campaign_fixture as fixture, root};

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use bilan::pipeline::read::{read_bytes, Limits, Sheet, Workbook};
use serde_json::Value;

fn campaign_file() -> PathBuf {
    root().join("fixtures/campagne/campagne.toml")
}

fn bilan(args: &[&std::ffi::OsStr]) -> Output {
    Command::cargo_bin("bilan")
        .unwrap_or_else(|e| panic!("{e}"))
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn os<S: AsRef<std::ffi::OsStr> + ?Sized>(s: &S) -> &std::ffi::OsStr {
    s.as_ref()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn workbook(path: &Path) -> Workbook {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    read_bytes(&bytes, &Limits::default()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn sheet<'a>(wb: &'a Workbook, name: &str) -> &'a Sheet {
    wb.sheets
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no sheet {name}"))
}

/// Every text of a sheet, one line per row (cells joined by ` | `).
fn sheet_text(s: &Sheet) -> String {
    s.row_numbers()
        .into_iter()
        .map(|r| {
            s.row(r)
                .iter()
                .map(|c| c.value.display())
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The overrides of the example campaign, as every report must show them.
const OVERRIDES: [&str; 3] = [
    "PLDE-DAT-004 désactivée — Les conventions 2010 peuvent durer 4 ans (délibération du 12/01/2010)",
    "PROG-OBJ-001 : seuil_pct 50 → 40 — Année de crise : seuil abaissé",
    "POLE-FIN-005 : avertissement → erreur — Les années hors période faussent la synthèse du comité",
];

fn validate(schema: &str, value: &Value) {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schemas").join(schema)).unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let validator = jsonschema::draft202012::new(&schema).unwrap_or_else(|e| panic!("{e}"));
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn a_batch_under_a_campaign_says_what_it_changed_everywhere() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let inbox = dir.path().join("retours");
    std::fs::create_dir_all(&inbox).unwrap_or_else(|e| panic!("{e}"));
    for name in [
        "plde-calaisis-convention-sur-4-ans.xlsx",
        "programme-international-2009-emplois-et-pme-sous-la-moitie.xlsx",
        "programme-sri-2009-fonds-innovation-sous-la-moitie.xlsx",
        "programme-prdess-2009-dla-justifie.xlsx",
        "pole-itrans-cout-total-different-des-financeurs.xlsx",
    ] {
        std::fs::copy(fixture(name), inbox.join(name)).unwrap_or_else(|e| panic!("{e}"));
    }
    let out = dir.path().join("sortie");
    let o = bilan(&[
        os("batch"),
        inbox.as_os_str(),
        os("--out"),
        out.as_os_str(),
        os("--campagne"),
        campaign_file().as_os_str(),
        os("--jobs"),
        os("1"),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));

    // Terminal summary.
    let text = stdout(&o);
    assert!(
        text.contains("Campagne : Bilan SRDE 2009 — Conférence permanente du 2 juin 2010"),
        "{text}"
    );
    for line in OVERRIDES {
        assert!(text.contains(line), "terminal lacks {line:?}:\n{text}");
    }

    // rapport.json: the campaign object, no PLDE-DAT-004, the lowered threshold, no BATCH-003.
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("rapport.json")).unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"));
    validate("report.schema.json", &report);
    let campaign = &report["campaign"];
    assert_eq!(
        campaign["name"],
        "Bilan SRDE 2009 — Conférence permanente du 2 juin 2010"
    );
    assert_eq!(campaign["sha256"].as_str().map(str::len), Some(64));
    assert_eq!(campaign["overrides"][0]["rule"], "PLDE-DAT-004");
    assert_eq!(campaign["overrides"][0]["severity"], "off");
    assert_eq!(
        campaign["overrides"][0]["reason"],
        "Les conventions 2010 peuvent durer 4 ans (délibération du 12/01/2010)"
    );
    assert_eq!(campaign["overrides"][1]["parameters"]["seuil_pct"], 40);
    let all: Vec<&Value> = report["files"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|f| f["findings"].as_array().into_iter().flatten())
        .collect();
    assert!(!all.iter().any(|f| f["rule"] == "PLDE-DAT-004"));
    let prog: Vec<&str> = all
        .iter()
        .filter(|f| f["rule"] == "PROG-OBJ-001")
        .filter_map(|f| f["cell"].as_str())
        .collect();
    // International E4 (33,8 %) and PRDESS E10 (34,6 %, justified) stay; E5 (45 %) and SRI (44 %) go.
    assert_eq!(prog, ["E4", "E10"]);
    let batch = report["batch"].as_array().cloned().unwrap_or_default();
    assert!(!batch.iter().any(|b| b["rule"] == "BATCH-003"), "{batch:#?}");
    // `attendus` of the campaign: MAUD, TIC are expected and missing.
    let missing: Vec<&str> = batch
        .iter()
        .filter(|b| b["rule"] == "BATCH-002")
        .filter_map(|b| b["message"].as_str())
        .collect();
    assert!(missing.iter().any(|m| m.contains("MAUD")), "{missing:#?}");
    assert!(missing.iter().any(|m| m.contains("TIC")), "{missing:#?}");
    let prdess = report["files"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["organisation"] == "PRDESS")
        .cloned()
        .unwrap_or_default();
    assert_eq!(prdess["status"], "conforme");
    assert_eq!(prdess["counts"]["justified"], 1);

    // synthese.xlsx: its Synthèse sheet names the campaign and lists the overrides.
    let synthese = workbook(&out.join("synthese.xlsx"));
    let text = sheet_text(sheet(&synthese, "Synthèse"));
    assert!(text.contains("Campagne « Bilan SRDE 2009"), "{text}");
    for line in OVERRIDES {
        assert!(text.contains(line), "synthese.xlsx lacks {line:?}:\n{text}");
    }
    let constats = sheet_text(sheet(&synthese, "Constats"));
    assert!(constats.contains("Justification"));
    assert!(constats.contains("Les DLA ont suivi moins de structures"), "{constats}");

    // Each annotated workbook: Synthèse lists the overrides, Constats has the justification.
    let annotated = out.join("annotes/programme-prdess-2009-dla-justifie.controle.xlsx");
    let wb = workbook(&annotated);
    let summary = sheet_text(sheet(&wb, "Synthèse"));
    for line in OVERRIDES {
        let (rule, rest) = line.split_once(' ').unwrap_or_default();
        assert!(
            summary.contains(rule) && summary.contains(rest),
            "annotated Synthèse lacks {line:?}:\n{summary}"
        );
    }
    assert!(summary.contains("Justifier un constat"), "{summary}");
    assert!(summary.contains("dont justifiés"), "{summary}");
    let constats = sheet(&wb, "Constats");
    let header: Vec<String> = constats.row(0).iter().map(|c| c.value.display()).collect();
    let col = header
        .iter()
        .position(|h| h == "Justification")
        .unwrap_or_else(|| panic!("{header:?}"));
    let row1: Vec<String> = constats.row(1).iter().map(|c| c.value.display()).collect();
    assert!(row1.iter().any(|v| v.starts_with("Les DLA ont suivi")), "{row1:?}");
    assert!(col >= 10);
}

#[test]
fn a_malformed_campaign_stops_the_run_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("campagne.toml");
    std::fs::write(
        &file,
        "nom = \"Bilan 2009\"\nexercice = 2009\n\n[regles.\"PLDE-DAT-004\"]\ngravite = \"desactivee\"\nmotiv = \"faute de frappe\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for command in ["check", "batch", "explain"] {
        let mut args: Vec<&std::ffi::OsStr> = vec![os(command)];
        let out = dir.path().join("sortie");
        let maud = fixture("pole-maud-conforme.xlsx");
        match command {
            "check" => args.push(maud.as_os_str()),
            "batch" => args.extend([maud.as_os_str(), os("--out"), out.as_os_str()]),
            _ => args.push(os("PLDE-DAT-004")),
        }
        args.extend([os("--campagne"), file.as_os_str()]);
        let o = bilan(&args);
        assert_eq!(o.status.code(), Some(2), "{command}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains(&format!("{}:6:1: erreur : clé « motiv » inconnue", file.display())),
            "{command}: {err}"
        );
        assert!(stdout(&o).is_empty(), "{command}: nothing is checked");
        assert!(!out.join("rapport.json").exists());
    }
    // A rule that does not exist, with the nearest one proposed.
    std::fs::write(&file, "nom = \"x\"\n[regles.\"PLDE-DAT-044\"]\ngravite = \"off\"\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let o = bilan(&[
        os("check"),
        fixture("pole-maud-conforme.xlsx").as_os_str(),
        os("--campagne"),
        file.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(":2:9: erreur : règle « PLDE-DAT-044 » inconnue : vouliez-vous dire « PLDE-DAT-004 » ?"),
        "{}",
        stderr(&o)
    );
    // A campaign file that is not there.
    let o = bilan(&[
        os("check"),
        fixture("pole-maud-conforme.xlsx").as_os_str(),
        os("--campagne"),
        dir.path().join("absente.toml").as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("fichier introuvable"), "{}", stderr(&o));
}

/// Issue 21 and spec 3: a parameter out of the rule's declared range (`1e300`,
/// a negative rate) or of the wrong type stops the run like a syntax error,
/// in French, with the file, line and column and the line shown; so does a
/// campaign file over 1 MB.
#[test]
fn a_parameter_out_of_range_or_of_the_wrong_type_stops_the_run() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("campagne.toml");
    let cases: &[(&str, &str)] = &[
        (
            "nom = \"x\"\n[regles.\"PROG-OBJ-001\"]\nparametres = { seuil_pct = 1e300 }\n",
            ":3:28: erreur : paramètre « seuil_pct » de PROG-OBJ-001 : 1e300 est un nombre trop grand pour une règle",
        ),
        (
            "nom = \"x\"\n[regles.\"PROG-OBJ-001\"]\nparametres = { seuil_pct = -5 }\n",
            ":3:28: erreur : paramètre « seuil_pct » de PROG-OBJ-001 : -5 est hors de la plage permise (de 0 à 100)",
        ),
        (
            "nom = \"x\"\n[regles.\"POLE-FIN-005\"]\nparametres = { premiere_annee = \"2005\" }\n",
            ":3:33: erreur : paramètre « premiere_annee » de POLE-FIN-005 : un nombre entier est attendu, pas un texte",
        ),
        (
            "nom = \"x\"\nexercice = 99999999999999999999\n",
            ":2:12: erreur : nombre entier trop grand",
        ),
    ];
    for (text, needle) in cases {
        std::fs::write(&file, text).unwrap_or_else(|e| panic!("{e}"));
        let o = bilan(&[
            os("check"),
            fixture("pole-maud-conforme.xlsx").as_os_str(),
            os("--campagne"),
            file.as_os_str(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{text}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(&format!("{}{needle}", file.display())), "{text}: {err}");
        // The line is shown under the message.
        let line = text.lines().find(|l| {
            needle.contains(":3:") && l.starts_with("parametres") || needle.contains(":2:") && l.starts_with("exercice")
        });
        assert!(line.is_some_and(|l| err.contains(l)), "{text}: {err}");
        assert!(stdout(&o).is_empty());
    }
    // Over 1 MB: refused before it is parsed.
    let big = format!("nom = \"{}\"\n", "a".repeat(1_000_001));
    std::fs::write(&file, big).unwrap_or_else(|e| panic!("{e}"));
    let o = bilan(&[
        os("check"),
        fixture("pole-maud-conforme.xlsx").as_os_str(),
        os("--campagne"),
        file.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("fichier de campagne trop volumineux"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn explain_shows_the_rule_as_the_campaign_applies_it() {
    let o = bilan(&[
        os("explain"),
        os("PROG-OBJ-001"),
        os("--campagne"),
        campaign_file().as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("seuil_pct 50 → 40 — Année de crise : seuil abaissé"),
        "{text}"
    );
    let o = bilan(&[os("explain"), os("PROG-OBJ-001")]);
    assert!(!stdout(&o).contains("Année de crise"));
}

#[test]
fn check_json_carries_the_justification_and_the_campaign() {
    let o = bilan(&[
        os("check"),
        fixture("programme-prdess-2009-dla-justifie.xlsx").as_os_str(),
        fixture("pole-itrans-justifications.xlsx").as_os_str(),
        os("--campagne"),
        campaign_file().as_os_str(),
        os("--json"),
        os("-"),
    ]);
    assert_eq!(o.status.code(), Some(1), "I-TRANS has errors");
    let report: Value = serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}"));
    validate("report.schema.json", &report);
    assert_eq!(report["campaign"]["overrides"].as_array().map(Vec::len), Some(3));
    let prdess = &report["files"][0];
    assert_eq!(prdess["status"], "conforme");
    assert_eq!(
        prdess["findings"][0]["justification"],
        "Les DLA ont suivi moins de structures mais plus longtemps : 4 708 emplois concernés"
    );
    let itrans = &report["files"][1];
    assert_eq!(itrans["status"], "non_conforme");
    let rules: Vec<&str> = itrans["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert!(
        rules.contains(&"BILAN-JUS-002") && rules.contains(&"BILAN-JUS-001"),
        "{rules:?}"
    );
}

#[test]
fn diff_of_a_resubmission() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let json = dir.path().join("suivi.json");
    let xlsx = dir.path().join("suivi.controle.xlsx");
    let old = fixture("pole-itrans-cout-total-different-des-financeurs.xlsx");
    let new = fixture("pole-itrans-renvoi-deux-annees-corrigees.xlsx");
    let o = bilan(&[
        os("diff"),
        old.as_os_str(),
        new.as_os_str(),
        os("--json"),
        json.as_os_str(),
        os("--report"),
        xlsx.as_os_str(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "the new version still has errors: {}",
        stderr(&o)
    );
    let text = stdout(&o);
    assert!(
        text.contains("Corrigés (2)") && text.contains("Nouveaux (1)") && text.contains("Toujours présents (4)"),
        "{text}"
    );
    assert!(
        text.contains("Financements!B4, Coût total (€), 2005 : 17 081 618 → 16 033 022 (désormais en Financements!B5)"),
        "{text}"
    );
    assert!(
        text.contains("Suivi : 2 corrigés, 1 nouveau, 4 toujours présents"),
        "{text}"
    );

    let value: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_else(|e| panic!("{e}"));
    validate("diff.schema.json", &value);
    assert_eq!(value["resume"]["corriges"], 2);
    assert_eq!(value["resume"]["nouveaux"], 1);
    assert_eq!(value["resume"]["toujours_presents"], 4);
    assert_eq!(value["nouveaux"][0]["rule"], "POLE-IND-001");

    let wb = workbook(&xlsx);
    let summary = sheet_text(sheet(&wb, "Synthèse"));
    assert!(summary.contains("Suivi depuis la version précédente"), "{summary}");
    assert!(
        summary.contains("Corrigés | 2")
            && summary.contains("Nouveaux | 1")
            && summary.contains("Toujours présents | 4"),
        "{summary}"
    );
    let constats = sheet(&wb, "Constats");
    let header: Vec<String> = constats.row(0).iter().map(|c| c.value.display()).collect();
    let col = header
        .iter()
        .position(|h| h == "Suivi")
        .unwrap_or_else(|| panic!("{header:?}"));
    let suivi: Vec<String> = constats
        .row_numbers()
        .into_iter()
        .skip(1)
        .filter_map(|r| {
            constats
                .get(bilan::base::model::CellRef::new(r, col as u32))
                .map(|v| v.display())
        })
        .collect();
    assert_eq!(suivi.iter().filter(|s| *s == "nouveau").count(), 1, "{suivi:?}");
    assert_eq!(
        suivi.iter().filter(|s| *s == "toujours présent").count(),
        4,
        "{suivi:?}"
    );

    // JSON on stdout.
    let o = bilan(&[os("diff"), old.as_os_str(), new.as_os_str(), os("--json"), os("-")]);
    let value: Value = serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(value["resume"]["valeurs_modifiees"], 3);
}

#[test]
fn diff_refuses_two_different_returns() {
    let o = bilan(&[
        os("diff"),
        fixture("pole-itrans-cout-total-different-des-financeurs.xlsx").as_os_str(),
        fixture("pole-maud-conforme.xlsx").as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("ce ne sont pas deux versions du même retour") && err.contains("« MAUD »"),
        "{err}"
    );
    let o = bilan(&[
        os("diff"),
        fixture("pole-itrans-cout-total-different-des-financeurs.xlsx").as_os_str(),
        fixture("plde-calaisis-conforme.xlsx").as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("BILAN-PLDE"), "{}", stderr(&o));
}

#[test]
fn the_campaign_s_expected_returns_replace_expected() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let list = dir.path().join("liste.csv");
    std::fs::write(&list, "BILAN-POLE;MAUD\n").unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("sortie");
    let o = bilan(&[
        os("batch"),
        fixture("pole-maud-conforme.xlsx").as_os_str(),
        os("--out"),
        out.as_os_str(),
        os("--campagne"),
        campaign_file().as_os_str(),
        os("--expected"),
        list.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("la campagne fixe déjà les retours attendus"),
        "{}",
        stderr(&o)
    );
    assert!(!out.join("rapport.json").exists());
}
