//! A campaign's `[regles."ID"]` table read against the rule pack, and the
//! French of a mistake in the file (line and column, the nearest rule id, the
//! TOML error reworded).

use super::*;

pub(super) fn read_override(
    rules: &RulePack,
    id: &Spanned<String>,
    body: &Spanned<RawOverride>,
    err: &dyn Fn(Option<Range<usize>>, String) -> CampaignError,
) -> Result<Override, CampaignError> {
    let written = id.get_ref().trim();
    let script = rules.rules.iter().find(|r| r.meta.id == written);
    let engine = rules.engine_rules.iter().find(|r| r.id == written);
    let previous_severity = script.map(|r| r.meta.severity).or(engine.map(|r| r.severity));
    let Some(previous_severity) = previous_severity else {
        let hint = suggest(rules, written)
            .map(|s| format!(" : vouliez-vous dire « {s} » ?"))
            .unwrap_or_else(|| " (voir `bilan rules`)".into());
        return Err(err(Some(id.span()), format!("règle « {written} » inconnue{hint}")));
    };
    if EngineRule::of_id(written).is_some_and(EngineRule::protected) {
        return Err(err(
            Some(id.span()),
            format!("la règle {written} ne peut pas être modifiée par une campagne : sans elle, un fichier illisible ou un échec du contrôle passerait inaperçu"),
        ));
    }
    let raw = body.get_ref();
    let level = match &raw.gravite {
        None => None,
        Some(g) => Some(Level::parse(g.get_ref()).ok_or_else(|| {
            err(
                Some(g.span()),
                format!("gravité « {} » inconnue : {}", g.get_ref(), Level::ACCEPTED),
            )
        })?),
    };
    let mut parameters = BTreeMap::new();
    for (name, value) in &raw.parametres {
        let declared = script.map(|r| &r.meta.parameters);
        let Some(current) = declared.and_then(|d| d.get(name.get_ref())) else {
            let known: Vec<&str> = declared
                .map(|d| d.keys().map(String::as_str).collect())
                .unwrap_or_default();
            let message = if known.is_empty() {
                format!(
                    "la règle {written} n'a pas de paramètre : « {} » ne peut pas être réglé",
                    name.get_ref()
                )
            } else {
                format!(
                    "la règle {written} n'a pas de paramètre « {} » (paramètres : {})",
                    name.get_ref(),
                    known.join(", ")
                )
            };
            return Err(err(Some(name.span()), message));
        };
        let new = current.check_toml(value.get_ref()).map_err(|why| {
            err(
                Some(value.span()),
                format!("paramètre « {} » de {written} : {why}", name.get_ref()),
            )
        })?;
        parameters.insert(
            name.get_ref().clone(),
            (new, current.default.clone().filter(|_| current.per_value.is_empty())),
        );
    }
    if level.is_none() && parameters.is_empty() {
        return Err(err(
            Some(body.span()),
            format!("[regles.\"{written}\"] ne change rien : indiquez « gravite » ou « parametres »"),
        ));
    }
    let reason = raw
        .motif
        .as_ref()
        .map(|m| m.get_ref().trim().to_string())
        .filter(|m| !m.is_empty());
    Ok(Override {
        rule: written.to_string(),
        level,
        previous_severity: Some(previous_severity),
        parameters,
        reason,
    })
}

/// A close rule id, for « vouliez-vous dire » (case, one or two typos).
/// The rule id closest to what was written (two edits at most): `POLE-FIN-01`
/// → `POLE-FIN-001`. Used by campaign files and `bilan explain`.
pub fn suggest(rules: &RulePack, written: &str) -> Option<String> {
    let upper = written.to_uppercase();
    let ids = rules
        .rules
        .iter()
        .map(|r| r.meta.id.as_str())
        .chain(rules.engine_rules.iter().map(|r| r.id.as_str()));
    ids.map(|id| (edit_distance(&upper, id), id))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, id)| id.to_string())
}

pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// A day from a TOML date (`2010-03-31`) or a text (`"31/03/2010"`).
pub(super) fn read_day(v: &toml::Value) -> Option<DateInterval> {
    let d = match v {
        toml::Value::Datetime(dt) if dt.time.is_none() && dt.offset.is_none() => {
            let date = dt.date?;
            DateInterval::day(i32::from(date.year), u32::from(date.month), u32::from(date.day))
        }
        toml::Value::String(s) => parse_french_date(s),
        _ => None,
    }?;
    (d.precision == Precision::Day).then_some(d)
}

/// toml's messages in French, for the cases a person writing a campaign meets.
pub(super) fn toml_message_fr(m: &str, written: &str) -> String {
    let m = m.trim();
    if let Some(rest) = m.strip_prefix("unknown field ") {
        let (field, expected) = rest.split_once(", expected").unwrap_or((rest, ""));
        let expected = expected
            .trim_start_matches(" one of ")
            .trim_start_matches(" ")
            .replace('`', "« ")
            .replace("« ,", " »,")
            .trim()
            .to_string();
        let field = field.trim().trim_matches('`');
        return if expected.is_empty() {
            format!("clé « {field} » inconnue")
        } else {
            format!(
                "clé « {field} » inconnue (clés possibles : {})",
                tidy_expected(&expected)
            )
        };
    }
    if let Some(rest) = m.strip_prefix("missing field ") {
        return format!("clé « {} » obligatoire absente", rest.trim().trim_matches('`'));
    }
    if let Some(rest) = m.strip_prefix("invalid type: ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        let (want, got) = (type_fr(expected), type_fr(found));
        let written = written.trim();
        // toml says « integer » both for what it read and for what fits an i64:
        // the same words on both sides mean a number too large, not a wrong type.
        if want == got && got == "un nombre entier" {
            return format!("nombre entier trop grand : {written} ne tient pas dans une valeur de campagne (une année s'écrit 2009)");
        }
        // A TOML date is read as a table by serde: say « une date ».
        let got = if looks_like_date(written) {
            "une date".to_string()
        } else {
            got
        };
        if want == got {
            return format!("valeur invalide : {written} ne convient pas ici ({want} attendu)");
        }
        return format!("valeur invalide : il faut {want} ici, pas {got}");
    }
    if m.starts_with("duplicate key") {
        return "clé définie deux fois".into();
    }
    if m.starts_with("invalid date") || m.starts_with("invalid time") {
        return "date impossible : écrivez-la AAAA-MM-JJ (par exemple 2010-03-31) avec un jour qui existe".into();
    }
    if m.contains("gravité") {
        return m.to_string();
    }
    format!("syntaxe TOML invalide à cet endroit (détail technique : {m})")
}

/// `2009-01-01`, `2009-01-01T10:00:00`: what TOML reads as a date.
pub(super) fn looks_like_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[7] == b'-'
}

pub(super) fn tidy_expected(s: &str) -> String {
    s.split(',')
        .map(|p| {
            format!(
                "« {} »",
                p.trim().trim_matches(|c| c == '«' || c == '»' || c == ' ' || c == '`')
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn type_fr(s: &str) -> String {
    let s = s.trim();
    let s = s
        .strip_prefix("a ")
        .or_else(|| s.strip_prefix("an "))
        .unwrap_or(s)
        .trim();
    let word = s.split_whitespace().next().unwrap_or(s);
    match word {
        "struct" => "une table".into(),
        "string" => "un texte".into(),
        "integer" | "i64" | "u64" | "i32" => "un nombre entier".into(),
        "float" | "f64" => "un nombre".into(),
        "floating" => "un nombre décimal".into(),
        "boolean" | "bool" => "un booléen".into(),
        "sequence" | "array" => "une liste".into(),
        "map" | "table" => "une table".into(),
        "datetime" | "date" => "une date".into(),
        _ => s.to_string(),
    }
}

pub(super) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(1, |l| l.chars().count() + 1);
    (line, column)
}
