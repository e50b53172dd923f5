//! A reporting campaign (`campagne.toml`, see `spec/campaign.md`): one exercice,
//! one cut-off date, the returns expected, and this year's decisions on the rules
//! (a rule switched off, re-graded or given other parameters, each with its reason).
//!
//! ```text
//! let mut rules = RulePack::builtin()?;
//! let campaign = Campaign::load(Path::new("campagne.toml"), &rules)?;   // strict
//! campaign.apply(&mut rules);           // the pack now runs as the campaign says
//! let checker = Checker::new(templates, rules);   // CAMP-001/002 on every return
//! ```
//!
//! Loading is strict: an unknown key, an unknown rule, a parameter the rule does
//! not declare, a value of the wrong type stop the run with the file, line and
//! column ([`CampaignError`]). A campaign is never half-applied.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::finding::{EngineRule, Finding, Level};
use crate::pipeline::extract::Extraction;
use crate::pipeline::rules::RulePack;
// The campaign's data lives with the rule pack that keeps it; its loading is here.
use crate::base::values::{parse_french_date, DateInterval, Precision};
pub use crate::pipeline::rules::campaign::{read_expected, Campaign, Expected, Override};
use crate::pipeline::template::Template;

mod overrides;
pub use overrides::suggest;
use overrides::*;

/// The rule that checks a return's `Exercice` against the campaign's.
pub const EXERCICE_RULE: EngineRule = EngineRule::Camp001;
/// The rule that checks a return's `Date d'arrêté` against the campaign's.
pub const CUT_OFF_RULE: EngineRule = EngineRule::Camp002;
/// The batch rule that guesses the cut-off from the majority of returns: not run
/// when the campaign states the cut-off.
pub const MAJORITY_CUT_OFF_RULE: &str = "BATCH-003";

/// The largest campaign file read (`campaign.md`: 1 MB): a person writes it.
pub const MAX_CAMPAIGN_BYTES: u64 = 1_000_000;

fn too_large(len: u64) -> String {
    format!(
        "fichier de campagne trop volumineux : {} octets pour 1 Mo au plus (1 000 000 octets) : un fichier de campagne s'écrit à la main, vérifiez que c'est le bon fichier",
        crate::base::format::decimal_fr(rust_decimal::Decimal::from(len))
    )
}

/// A campaign file that cannot be used: the run stops (exit 2).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}:{line}:{column}: {message}", path.display())]
pub struct CampaignError {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// The file's text, for a diagnostic that shows the line (empty when the
    /// file could not be read).
    pub source_text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCampaign {
    nom: Spanned<String>,
    #[serde(default)]
    exercice: Option<Spanned<i64>>,
    #[serde(default)]
    date_arrete: Option<Spanned<toml::Value>>,
    #[serde(default)]
    attendus: Option<Spanned<String>>,
    #[serde(default)]
    regles: BTreeMap<Spanned<String>, Spanned<RawOverride>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOverride {
    #[serde(default)]
    gravite: Option<Spanned<String>>,
    #[serde(default)]
    parametres: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
    #[serde(default)]
    motif: Option<Spanned<String>>,
}

impl Campaign {
    /// Reads and checks a campaign file against the rules it will be applied to.
    /// `attendus` is read relative to the file's folder.
    pub fn load(path: &Path, rules: &RulePack) -> Result<Self, CampaignError> {
        let fail = |message: String| CampaignError {
            path: path.to_path_buf(),
            line: 1,
            column: 1,
            message,
            source_text: String::new(),
        };
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.is_file() && meta.len() > MAX_CAMPAIGN_BYTES {
                return Err(fail(too_large(meta.len())));
            }
        }
        let bytes = std::fs::read(path).map_err(|e| {
            fail(format!(
                "lecture impossible : {}",
                crate::base::messages::file_io_error(&e)
            ))
        })?;
        if bytes.len() as u64 > MAX_CAMPAIGN_BYTES {
            return Err(fail(too_large(bytes.len() as u64)));
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| fail("le fichier n'est pas du texte UTF-8 : enregistrez-le en UTF-8".into()))?;
        let base = path
            .parent()
            .map(|p| if p.as_os_str().is_empty() { Path::new(".") } else { p });
        Self::parse(&text, path, base, rules)
    }

    /// Checks a campaign given as text. `name` is how messages call the file;
    /// `base`: the folder `attendus` is relative to (`None`: `attendus` is kept
    /// as written but not read, e.g. for an uploaded file).
    pub fn parse(text: &str, name: &Path, base: Option<&Path>, rules: &RulePack) -> Result<Self, CampaignError> {
        if text.len() as u64 > MAX_CAMPAIGN_BYTES {
            return Err(CampaignError {
                path: name.to_path_buf(),
                line: 1,
                column: 1,
                message: too_large(text.len() as u64),
                source_text: String::new(),
            });
        }
        let err = |span: Option<Range<usize>>, message: String| {
            let (line, column) = span.map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            CampaignError {
                path: name.to_path_buf(),
                line,
                column,
                message,
                source_text: text.to_string(),
            }
        };
        let raw: RawCampaign = toml::from_str(text).map_err(|e| {
            let written = e.span().and_then(|s| text.get(s)).unwrap_or("");
            err(e.span(), toml_message_fr(e.message(), written))
        })?;
        let campaign_name = raw.nom.get_ref().trim().to_string();
        if campaign_name.is_empty() {
            return Err(err(
                Some(raw.nom.span()),
                "« nom » est vide : donnez un nom à la campagne".into(),
            ));
        }
        if let Some(ex) = &raw.exercice {
            if !(1900..=2100).contains(ex.get_ref()) {
                return Err(err(
                    Some(ex.span()),
                    format!("exercice {} invalide : une année entre 1900 et 2100", ex.get_ref()),
                ));
            }
        }
        let cut_off = match &raw.date_arrete {
            None => None,
            Some(v) => Some(read_day(v.get_ref()).ok_or_else(|| {
                err(
                    Some(v.span()),
                    "« date_arrete » doit être une date : 2010-03-31 (ou \"31/03/2010\")".into(),
                )
            })?),
        };
        let expected = match (&raw.attendus, base) {
            (Some(a), Some(dir)) => {
                let file = dir.join(a.get_ref());
                Some(read_expected(&file).map_err(|e| err(Some(a.span()), format!("attendus : {e}")))?)
            }
            _ => None,
        };
        let mut overrides = Vec::new();
        let mut sections: Vec<_> = raw.regles.iter().collect();
        sections.sort_by_key(|(id, _)| id.span().start);
        for (id, body) in sections {
            overrides.push(read_override(rules, id, body, &err)?);
        }
        Ok(Campaign {
            name: campaign_name,
            exercice: raw.exercice.map(Spanned::into_inner),
            cut_off,
            expected_file: raw.attendus.map(Spanned::into_inner),
            expected,
            overrides,
            sha256: crate::base::format::hex(&Sha256::digest(text.as_bytes())),
            path: name.to_path_buf(),
            source: text.to_string(),
        })
    }

    /// Applies the campaign to a rule pack: severities, rules switched off,
    /// parameters; BATCH-003 stops when the campaign gives the cut-off. The pack
    /// keeps the campaign ([`RulePack::campaign`]) so that every report states it.
    pub fn apply(self, rules: &mut RulePack) {
        for o in &self.overrides {
            if let Some(level) = o.level {
                rules.set_level(&o.rule, level);
            }
            for (k, (v, _)) in &o.parameters {
                rules.set_parameter(&o.rule, k, v.clone());
            }
        }
        if self.cut_off.is_some() && rules.rule(MAJORITY_CUT_OFF_RULE).is_some() {
            rules.set_level(MAJORITY_CUT_OFF_RULE, Level::Off);
        }
        rules.campaign = Some(Arc::new(self));
    }

    /// CAMP-001 and CAMP-002 on one return: its `Exercice` and `Date d'arrêté`
    /// against the campaign's. Severities are the engine table's (the pack's levels
    /// apply afterwards, like for every finding).
    pub fn return_findings(&self, template: &Template, ex: &Extraction) -> Vec<Finding> {
        let mut out = Vec::new();
        let located = |f: Finding, pointer: &str| {
            let f = f.with_pointer(pointer);
            match ex.origin_of(pointer) {
                Some(o) => f.at(&o.sheet, o.cell),
                None => f,
            }
        };
        if let (Some(want), Some(pointer)) = (self.exercice, template.exercice.as_deref()) {
            let got = ex.data.pointer(pointer).and_then(|v| {
                v.as_i64()
                    .or_else(|| v.as_f64().filter(|x| x.fract() == 0.0).map(|x| x as i64))
            });
            if let Some(got) = got.filter(|g| *g != want && !ex.is_unusable(pointer)) {
                out.push(located(
                    Finding::engine(
                        EXERCICE_RULE,
                        format!(
                            "Exercice {got} alors que la campagne « {} » porte sur l'exercice {want} : corrigez « Exercice », ou vérifiez que vous avez envoyé le bilan de {want}.",
                            self.name
                        ),
                    ),
                    pointer,
                ));
            }
        }
        if let (Some(want), Some(pointer)) = (self.cut_off, template.cut_off.as_deref()) {
            let got = ex
                .data
                .pointer(pointer)
                .and_then(Value::as_str)
                .and_then(DateInterval::from_canonical);
            if let Some(got) = got.filter(|g| *g != want && !ex.is_unusable(pointer)) {
                out.push(located(
                    Finding::engine(
                        CUT_OFF_RULE,
                        format!(
                            "Date d'arrêté {} alors que la campagne « {} » arrête les chiffres au {} : les chiffres ne sont pas comparables aux autres retours ; arrêtez-les au {} et corrigez « Date d'arrêté ».",
                            got.display_fr(),
                            self.name,
                            want.display_fr(),
                            want.display_fr()
                        ),
                    ),
                    pointer,
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Severity;
    use crate::pipeline::rules::ParamValue;

    const EXAMPLE: &str = r#"nom = "Bilan SRDE 2009 — Conférence permanente du 2 juin 2010"
exercice = 2009
date_arrete = 2010-03-31

[regles."PLDE-DAT-004"]
gravite = "desactivee"
motif = "Les conventions 2010 peuvent durer 4 ans (délibération du 12/01/2010)"

[regles."PROG-OBJ-001"]
parametres = { seuil_pct = 40 }
motif = "Année de crise : seuil abaissé"

[regles."POLE-FIN-005"]
gravite = "erreur"
"#;

    fn rules() -> RulePack {
        match RulePack::builtin() {
            Ok(r) => r,
            Err(e) => panic!("règles intégrées : {e}"),
        }
    }

    fn parse(text: &str) -> Result<Campaign, CampaignError> {
        Campaign::parse(text, Path::new("campagne.toml"), None, &rules())
    }

    fn error(text: &str) -> CampaignError {
        match parse(text) {
            Ok(c) => panic!("campagne acceptée à tort : {c:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn the_example_loads_and_applies() {
        let c = match parse(EXAMPLE) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(c.exercice, Some(2009));
        assert_eq!(c.cut_off.map(|d| d.canonical()).as_deref(), Some("2010-03-31"));
        assert_eq!(c.overrides.len(), 3);
        let lines = c.lines_fr().join("\n");
        assert!(
            lines.contains("PLDE-DAT-004 désactivée — Les conventions 2010"),
            "{lines}"
        );
        assert!(
            lines.contains("PROG-OBJ-001 : seuil_pct 50 → 40 — Année de crise"),
            "{lines}"
        );
        assert!(
            lines.contains("POLE-FIN-005 : avertissement → erreur (motif non indiqué)"),
            "{lines}"
        );
        let json = c.to_json();
        assert_eq!(json["overrides"][0]["rule"], "PLDE-DAT-004");
        assert_eq!(json["overrides"][0]["severity"], "off");
        assert_eq!(json["overrides"][1]["parameters"]["seuil_pct"], 40);
        assert_eq!(json["overrides"][1]["severity"], Value::Null);
        let mut pack = rules();
        c.apply(&mut pack);
        assert!(pack.is_off("PLDE-DAT-004"));
        assert!(pack.is_off(MAJORITY_CUT_OFF_RULE));
        assert_eq!(
            pack.rule("POLE-FIN-005").map(|r| r.meta.severity),
            Some(Severity::Error)
        );
        assert_eq!(
            pack.rule("PROG-OBJ-001")
                .and_then(|r| r.meta.parameters.get("seuil_pct").and_then(|p| p.default.clone())),
            Some(ParamValue::Int(40))
        );
        assert!(pack.campaign.is_some());
    }

    #[test]
    fn english_words_and_engine_rules() {
        let c = parse(
            "nom = \"x\"\n[regles.\"BILAN-TPL-005\"]\ngravite = \"off\"\n[regles.\"CAMP-001\"]\ngravite = \"error\"\n",
        );
        let c = c.unwrap_or_else(|e| panic!("{e}"));
        let mut pack = rules();
        c.apply(&mut pack);
        let mut findings = vec![
            Finding::engine(EngineRule::Tpl005, "x"),
            Finding::engine(EngineRule::Camp001, "y"),
        ];
        pack.apply_levels(&mut findings);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].severity, Severity::Error);
        // No cut-off: the batch still guesses it.
        assert!(!pack.is_off(MAJORITY_CUT_OFF_RULE));
    }

    #[test]
    fn mistakes_stop_with_line_and_column() {
        let cases: &[(&str, (usize, usize), &str)] = &[
            ("nom = \"x\"\nexercise = 2009\n", (2, 1), "clé « exercise » inconnue"),
            (
                "nom = \"x\"\n[regles.\"PLDE-DAT-044\"]\ngravite = \"off\"\n",
                (2, 9),
                "vouliez-vous dire « PLDE-DAT-004 »",
            ),
            (
                "nom = \"x\"\n[regles.\"PLDE-DAT-004\"]\ngravite = \"douce\"\n",
                (3, 11),
                "gravité « douce » inconnue",
            ),
            (
                "nom = \"x\"\n[regles.\"PROG-OBJ-001\"]\nparametres = { seuil = 40 }\n",
                (3, 16),
                "pas de paramètre « seuil » (paramètres : seuil_pct)",
            ),
            (
                "nom = \"x\"\n[regles.\"PROG-OBJ-001\"]\nparametres = { seuil_pct = \"40\" }\n",
                (3, 28),
                "un nombre est attendu, pas un texte",
            ),
            (
                "nom = \"x\"\nexercice = \"2009\"\n",
                (2, 12),
                "il faut un nombre entier ici, pas un texte",
            ),
            ("nom = \"x\"\ndate_arrete = \"fin mars\"\n", (2, 15), "date_arrete"),
            (
                "nom = \"x\"\n[regles.\"PLDE-DAT-004\"]\nmotif = \"rien\"\n",
                (2, 1),
                "ne change rien",
            ),
            (
                "nom = \"x\"\n[regles.\"BILAN-IO-001\"]\ngravite = \"off\"\n",
                (2, 9),
                "ne peut pas être modifiée",
            ),
            (
                "nom = \"x\"\n[regles.\"PLDE-DAT-004\"]\ngravite = \"off\"\nmotiv = \"a\"\n",
                (4, 1),
                "clé « motiv » inconnue",
            ),
            ("exercice = 2009\n", (1, 1), "clé « nom » obligatoire absente"),
            ("nom = \"x\"\nexercice = = 2009\n", (2, 12), "syntaxe TOML invalide"),
            // Issue 21: never « il faut un nombre entier ici, pas un nombre entier ».
            (
                "nom = \"x\"\nexercice = 99999999999999999999\n",
                (2, 12),
                "nombre entier trop grand : 99999999999999999999",
            ),
            (
                "nom = \"x\"\nexercice = 2009-01-01\n",
                (2, 12),
                "il faut un nombre entier ici, pas une date",
            ),
            (
                "nom = \"x\"\n[regles.\"PROG-OBJ-001\"]\nparametres = { seuil_pct = 1e300 }\n",
                (3, 28),
                "1e300 est un nombre trop grand pour une règle",
            ),
            (
                "nom = \"x\"\n[regles.\"PROG-OBJ-001\"]\nparametres = { seuil_pct = -5 }\n",
                (3, 28),
                "-5 est hors de la plage permise (de 0 à 100)",
            ),
            (
                "nom = \"x\"\n[regles.\"PLDE-DAT-004\"]\nparametres = { annees = 2.5 }\n",
                (3, 25),
                "un nombre entier est attendu, pas le nombre à virgule 2,5",
            ),
        ];
        for (text, (line, column), needle) in cases {
            let e = error(text);
            assert!(e.message.contains(needle), "{text:?} → {}", e.message);
            assert_eq!((e.line, e.column), (*line, *column), "{text:?} → {e}");
            assert!(
                e.to_string().starts_with(&format!("campagne.toml:{line}:{column}: ")),
                "{e}"
            );
        }
    }

    #[test]
    fn a_campaign_over_one_megabyte_is_refused() {
        let text = format!("nom = \"{}\"\n", "a".repeat(1_000_000));
        let e = error(&text);
        assert!(
            e.message.starts_with("fichier de campagne trop volumineux"),
            "{}",
            e.message
        );
    }

    #[test]
    fn attendus_is_read_next_to_the_file() {
        let dir = std::env::temp_dir().join(format!("bilan-campagne-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let write = |name: &str, text: &str| {
            if let Err(e) = std::fs::write(dir.join(name), text) {
                panic!("{e}");
            }
        };
        write(
            "attendus.csv",
            "modele;organisation\nBILAN-POLE;I-TRANS\nBILAN-POLE;MAUD\n",
        );
        write("campagne.toml", "nom = \"x\"\nattendus = \"attendus.csv\"\n");
        let c = Campaign::load(&dir.join("campagne.toml"), &rules()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.expected.as_ref().map(Vec::len), Some(2));
        write("campagne.toml", "nom = \"x\"\nattendus = \"absent.csv\"\n");
        let e = Campaign::load(&dir.join("campagne.toml"), &rules()).err();
        assert_eq!(e.map(|e| (e.line, e.column)), Some((2, 12)));
        let e = Campaign::load(&dir.join("nulle-part.toml"), &rules()).err();
        assert!(e.is_some_and(|e| e.message.contains("fichier introuvable")));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
