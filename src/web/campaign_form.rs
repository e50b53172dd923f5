//! A campaign made with a form instead of typing TOML: the reviewer fills in a
//! name, an exercice, a cut-off date (`jj/mm/aaaa`), the expected returns and
//! the rule decisions; this module writes the `campagne.toml` the command line
//! would read (the same bytes, so the same SHA-256) and says every problem in
//! French, field by field, without a parser's words.

use std::collections::HashMap;

use crate::batch::Expected;
use crate::pipeline::rules::RulePack;

/// What the reviewer typed, kept as typed (shown again after an error).
#[derive(Debug, Clone, Default)]
pub struct CampaignForm {
    pub nom: String,
    pub exercice: String,
    pub date_arrete: String,
    /// The expected returns, one per line: `modèle;organisation`.
    pub attendus: String,
    /// Decisions already added, one per line (see [`Decision::line`]).
    pub decisions: String,
    /// The decision being typed.
    pub regle: String,
    pub gravite: String,
    pub parametres: String,
    pub motif: String,
}

/// One decision about one rule.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decision {
    pub rule: String,
    /// `erreur`, `avertissement`, `information`, `desactivee`, or empty (unchanged).
    pub gravite: String,
    /// `seuil_pct = 40; autre = 2`.
    pub parametres: String,
    pub motif: String,
}

impl Decision {
    /// How a decision travels in the form's hidden field: tab-separated.
    pub fn line(&self) -> String {
        [&self.rule, &self.gravite, &self.parametres, &self.motif]
            .iter()
            .map(|s| s.replace(['\t', '\n', '\r'], " "))
            .collect::<Vec<_>>()
            .join("\t")
    }

    fn of_line(line: &str) -> Option<Self> {
        let mut parts = line.split('\t').map(str::trim);
        let rule = parts.next().filter(|r| !r.is_empty())?.to_string();
        Some(Self {
            rule,
            gravite: parts.next().unwrap_or_default().to_string(),
            parametres: parts.next().unwrap_or_default().to_string(),
            motif: parts.next().unwrap_or_default().to_string(),
        })
    }

    /// `PROG-OBJ-001 : seuil_pct = 40 — Année de crise`, for the list on the form.
    pub fn describe(&self) -> String {
        let mut what = Vec::new();
        if !self.gravite.is_empty() {
            what.push(format!("gravité {}", severity_word(&self.gravite)));
        }
        if !self.parametres.is_empty() {
            what.push(self.parametres.clone());
        }
        let mut out = format!("{} : {}", self.rule, what.join(", "));
        if !self.motif.is_empty() {
            out.push_str(&format!(" — {}", self.motif));
        }
        out
    }
}

fn severity_word(g: &str) -> &str {
    match g {
        "desactivee" => "désactivée",
        "information" => "information",
        other => other,
    }
}

/// A problem with one field of the form, in French.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// The `id` of the field to go to.
    pub field: &'static str,
    pub message: String,
}

fn problem(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}

impl CampaignForm {
    pub fn from_fields(f: &HashMap<String, String>) -> Self {
        let get = |k: &str| f.get(k).map(|v| v.replace("\r\n", "\n")).unwrap_or_default();
        Self {
            nom: get("nom"),
            exercice: get("exercice"),
            date_arrete: get("date_arrete"),
            attendus: get("attendus"),
            decisions: get("decisions"),
            regle: get("regle"),
            gravite: get("gravite"),
            parametres: get("parametres"),
            motif: get("motif"),
        }
    }

    /// The decisions added so far.
    pub fn decision_list(&self) -> Vec<Decision> {
        self.decisions.lines().filter_map(Decision::of_line).collect()
    }

    /// The decision being typed, if a rule is chosen.
    fn typed_decision(&self) -> Option<Decision> {
        let rule = self.regle.trim();
        (!rule.is_empty()).then(|| Decision {
            rule: rule.to_string(),
            gravite: self.gravite.trim().to_string(),
            parametres: self.parametres.trim().to_string(),
            motif: self.motif.trim().to_string(),
        })
    }

    /// « Ajouter cette décision »: the typed decision joins the list (checked
    /// first), and its fields are emptied for the next one.
    pub fn add_typed_decision(&mut self, rules: &RulePack) -> Vec<FieldError> {
        let Some(d) = self.typed_decision() else {
            return vec![problem(
                "regle",
                "Choisissez la règle dont la campagne change la gravité ou les paramètres.",
            )];
        };
        let errors = check_decision(&d, rules);
        if errors.is_empty() {
            let mut list = self.decision_list();
            list.retain(|x| x.rule != d.rule);
            list.push(d);
            self.decisions = list.iter().map(Decision::line).collect::<Vec<_>>().join("\n");
            self.regle.clear();
            self.gravite.clear();
            self.parametres.clear();
            self.motif.clear();
        }
        errors
    }

    /// Removes the decision about `rule`.
    pub fn remove_decision(&mut self, rule: &str) {
        let list: Vec<Decision> = self.decision_list().into_iter().filter(|d| d.rule != rule).collect();
        self.decisions = list.iter().map(Decision::line).collect::<Vec<_>>().join("\n");
    }

    /// The campaign file and its expected returns, or every problem found.
    /// The text is then read by the library exactly as `--campagne` reads it.
    pub fn build(&self, rules: &RulePack, templates: &[&str]) -> Result<(String, Vec<Expected>), Vec<FieldError>> {
        let mut errors = Vec::new();
        let nom = self.nom.trim();
        if nom.is_empty() {
            errors.push(problem(
                "nom",
                "Donnez un nom à la campagne (par exemple « Bilan SRDE 2009 »).",
            ));
        }
        let exercice = self.exercice.trim();
        let exercice = if exercice.is_empty() {
            None
        } else {
            match exercice.parse::<i64>() {
                Ok(y) if (1900..=2100).contains(&y) => Some(y),
                _ => {
                    errors.push(problem(
                        "exercice",
                        format!("Exercice « {exercice} » : écrivez une année sur quatre chiffres, par exemple 2009."),
                    ));
                    None
                }
            }
        };
        let date = self.date_arrete.trim();
        let date = if date.is_empty() {
            None
        } else {
            match day_fr(date) {
                Some(d) => Some(d),
                None => {
                    errors.push(problem(
                        "date_arrete",
                        format!("Date d'arrêté « {date} » : écrivez-la jj/mm/aaaa, par exemple 31/03/2010."),
                    ));
                    None
                }
            }
        };
        let expected = match crate::batch::parse_expected(&self.attendus) {
            Ok(list) => {
                for e in &list {
                    if !templates.contains(&e.template.as_str()) {
                        errors.push(problem(
                            "attendus",
                            format!(
                                "Retours attendus : modèle « {} » inconnu ; les modèles sont {}.",
                                e.template,
                                templates.join(", ")
                            ),
                        ));
                    }
                }
                list
            }
            Err(e) => {
                errors.push(problem("attendus", format!("Retours attendus, {e}.")));
                Vec::new()
            }
        };
        let mut decisions = self.decision_list();
        if let Some(d) = self.typed_decision() {
            decisions.retain(|x| x.rule != d.rule);
            decisions.push(d);
        }
        for d in &decisions {
            errors.extend(check_decision(d, rules));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut text = format!("nom = {}\n", quoted(nom));
        if let Some(y) = exercice {
            text.push_str(&format!("exercice = {y}\n"));
        }
        if let Some(d) = date {
            text.push_str(&format!("date_arrete = {}\n", d.format("%Y-%m-%d")));
        }
        if !expected.is_empty() {
            text.push_str("attendus = \"attendus.csv\"\n");
        }
        for d in &decisions {
            text.push_str(&decision_toml(d));
        }
        // The library reads it as the command line will: one more check.
        if let Err(e) =
            crate::pipeline::campaign::Campaign::parse(&text, std::path::Path::new("campagne.toml"), None, rules)
        {
            return Err(vec![problem("regle", plain(&e.message))]);
        }
        Ok((text, expected))
    }
}

/// A decision's problems, before any TOML is written.
fn check_decision(d: &Decision, rules: &RulePack) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if !matches!(
        d.gravite.as_str(),
        "" | "erreur" | "avertissement" | "information" | "desactivee"
    ) {
        errors.push(problem(
            "gravite",
            format!("{} : gravité « {} » inconnue.", d.rule, d.gravite),
        ));
    }
    let params = match parameters(&d.parametres) {
        Ok(p) => p,
        Err(e) => {
            errors.push(problem("parametres", format!("{} : {e}", d.rule)));
            Vec::new()
        }
    };
    if d.gravite.is_empty() && params.is_empty() {
        errors.push(problem(
            "gravite",
            format!(
                "{} : choisissez une gravité (ou « désactivée ») ou donnez un paramètre, sinon la règle ne change pas.",
                d.rule
            ),
        ));
    }
    if d.motif.trim().is_empty() {
        errors.push(problem(
            "motif",
            format!(
                "{} : donnez le motif de la décision ; il est écrit dans chaque rapport.",
                d.rule
            ),
        ));
    }
    if errors.is_empty() {
        let text = format!("nom = \"x\"\n{}", decision_toml(d));
        if let Err(e) =
            crate::pipeline::campaign::Campaign::parse(&text, std::path::Path::new("campagne.toml"), None, rules)
        {
            let field = if e.message.contains("paramètre") {
                "parametres"
            } else {
                "regle"
            };
            errors.push(problem(field, format!("{} : {}", d.rule, plain(&e.message))));
        }
    }
    errors
}

/// A campaign error without its technical tail, as a sentence.
fn plain(message: &str) -> String {
    let m = message.split(" (détail technique").next().unwrap_or(message).trim();
    let mut out = crate::base::format::capitalise(m);
    if !out.ends_with('.') && !out.ends_with('?') {
        out.push('.');
    }
    out
}

fn decision_toml(d: &Decision) -> String {
    let mut out = format!("\n[regles.{}]\n", quoted(&d.rule));
    if !d.gravite.is_empty() {
        out.push_str(&format!("gravite = {}\n", quoted(&d.gravite)));
    }
    if let Ok(params) = parameters(&d.parametres) {
        if !params.is_empty() {
            let inner: Vec<String> = params.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            out.push_str(&format!("parametres = {{ {} }}\n", inner.join(", ")));
        }
    }
    if !d.motif.trim().is_empty() {
        out.push_str(&format!("motif = {}\n", quoted(d.motif.trim())));
    }
    out
}

/// `seuil_pct = 40; debut = 31/12/2015; codes = 1, 2` → TOML values: numbers
/// (a decimal comma is read), dates `jj/mm/aaaa`, lists of numbers or texts
/// (`[1, 2]` or `1, 2`), texts otherwise.
fn parameters(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((name, value)) = part.split_once('=').or_else(|| part.split_once(':')) else {
            return Err(format!(
                "paramètre « {part} » : écrivez nom = valeur, par exemple seuil_pct = 40."
            ));
        };
        let name = name.trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "paramètre « {name} » : un nom de paramètre s'écrit en lettres sans accent, chiffres et _ (voir `bilan explain`)."
            ));
        }
        let value = value.trim();
        if value.is_empty() {
            return Err(format!("paramètre {name} : donnez sa valeur."));
        }
        out.push((name.to_string(), toml_value(value)));
    }
    Ok(out)
}

fn toml_value(v: &str) -> String {
    let inner = v.strip_prefix('[').and_then(|x| x.strip_suffix(']'));
    if inner.is_some() || (v.contains(',') && number(v).is_none()) {
        let items: Vec<String> = inner
            .unwrap_or(v)
            .split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(scalar)
            .collect();
        return format!("[{}]", items.join(", "));
    }
    scalar(v)
}

fn scalar(v: &str) -> String {
    if let Some(n) = number(v) {
        return n;
    }
    if let Some(d) = day_fr(v) {
        return d.format("%Y-%m-%d").to_string();
    }
    quoted(v.trim_matches('"'))
}

/// `40`, `12,5`, `1 000` → TOML numbers.
fn number(v: &str) -> Option<String> {
    let t: String = v
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}' && *c != '\u{202f}')
        .collect();
    let t = t.replace(',', ".");
    if t.parse::<i64>().is_ok() {
        return Some(t);
    }
    let f = t.parse::<f64>().ok().filter(|f| f.is_finite())?;
    t.chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+'))
        .then(|| if t.contains('.') { t.clone() } else { format!("{f}") })
}

/// `31/03/2010` (also `31-03-2010`, `31.03.2010`) → the day.
fn day_fr(v: &str) -> Option<chrono::NaiveDate> {
    let v = v.trim().replace(['-', '.'], "/");
    chrono::NaiveDate::parse_from_str(&v, "%d/%m/%Y")
        .ok()
        .filter(|_| v.len() == 10)
}

/// A TOML basic string.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// `attendus.csv` of a list: `modèle;organisation`, quoted where needed, the
/// same list [`crate::batch::parse_expected`] reads back.
pub fn expected_csv(list: &[Expected]) -> String {
    let field = |s: &str| {
        if s.contains([';', '"', '\n', ',']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut out = String::from("modèle;organisation\n");
    for e in list {
        out.push_str(&format!("{};{}\n", field(&e.template), field(&e.organisation)));
    }
    out
}

/// An uploaded `campagne.toml` as stored and fingerprinted: UTF-8 without a
/// byte-order mark, line endings `\n` — the file the command line reads has
/// the same SHA-256 once saved the same way.
pub fn normalise(text: &str) -> String {
    text.strip_prefix('\u{feff}')
        .unwrap_or(text)
        .replace("\r\n", "\n")
        .replace('\r', "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> RulePack {
        RulePack::builtin().unwrap_or_else(|e| panic!("{e}"))
    }

    fn form() -> CampaignForm {
        CampaignForm {
            nom: "Bilan SRDE 2009".into(),
            exercice: "2009".into(),
            date_arrete: "31/03/2010".into(),
            attendus: "BILAN-POLE;I-TRANS\nBILAN-PLDE;\"Artois; Comm.\"".into(),
            regle: "PROG-OBJ-001".into(),
            parametres: "seuil_pct = 40".into(),
            motif: "Année de crise".into(),
            ..CampaignForm::default()
        }
    }

    const TEMPLATES: &[&str] = &["BILAN-POLE", "BILAN-PLDE", "BILAN-PROGRAMME"];

    #[test]
    fn a_filled_form_writes_the_campaign_file_the_command_line_reads() {
        let rules = rules();
        let (text, expected) = form().build(&rules, TEMPLATES).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            text,
            "nom = \"Bilan SRDE 2009\"\nexercice = 2009\ndate_arrete = 2010-03-31\nattendus = \"attendus.csv\"\n\n[regles.\"PROG-OBJ-001\"]\nparametres = { seuil_pct = 40 }\nmotif = \"Année de crise\"\n"
        );
        assert_eq!(expected.len(), 2);
        assert_eq!(expected[1].organisation, "Artois; Comm.");
        let c = crate::pipeline::campaign::Campaign::parse(&text, std::path::Path::new("c.toml"), None, &rules)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.exercice, Some(2009));
        assert_eq!(c.overrides.len(), 1);
        // The list written back reads the same.
        assert_eq!(crate::batch::parse_expected(&expected_csv(&expected)), Ok(expected));
    }

    #[test]
    fn every_problem_is_said_in_french_by_field() {
        let rules = rules();
        let mut f = form();
        f.date_arrete = "2010-31-03".into();
        f.exercice = "deux mille neuf".into();
        f.attendus = "BILAN-INCONNU;X".into();
        f.parametres = "seuil_inconnu = 40".into();
        let errors = f.build(&rules, TEMPLATES).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            ["exercice", "date_arrete", "attendus", "parametres"],
            "{errors:?}"
        );
        for e in &errors {
            assert!(
                !e.message.contains("TOML") && !e.message.contains("détail technique"),
                "{e:?}"
            );
            assert!(
                !e.message.contains("expected") && !e.message.contains("invalid"),
                "{e:?}"
            );
        }
        assert!(errors[1].message.contains("jj/mm/aaaa"), "{:?}", errors[1]);
    }

    #[test]
    fn decisions_are_added_one_by_one_and_kept() {
        let rules = rules();
        let mut f = form();
        assert_eq!(f.add_typed_decision(&rules), Vec::new());
        f.regle = "PLDE-DAT-004".into();
        f.gravite = "desactivee".into();
        f.motif = "Conventions de 4 ans".into();
        assert_eq!(f.add_typed_decision(&rules), Vec::new());
        assert_eq!(f.decision_list().len(), 2);
        assert!(f.regle.is_empty());
        f.regle = "POLE-FIN-005".into();
        let errors = f.add_typed_decision(&rules);
        assert!(errors.iter().any(|e| e.field == "motif"), "{errors:?}");
        assert_eq!(f.regle, "POLE-FIN-005", "what was typed stays");
        f.remove_decision("PROG-OBJ-001");
        assert_eq!(f.decision_list().len(), 1);
    }

    #[test]
    fn uploaded_line_endings_are_normalised() {
        assert_eq!(
            normalise("\u{feff}nom = \"x\"\r\nexercice = 2009\r\n"),
            "nom = \"x\"\nexercice = 2009\n"
        );
    }
}
