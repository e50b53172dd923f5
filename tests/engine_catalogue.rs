//! The severities the engine gives its own findings (BILAN-*) in Rust are the
//! ones `rules/engine.toml` documents (and `bilan rules` / `explain` show).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `(rule id, severity)` for every `Finding::new(ID, Severity::X, …)` (or a
/// helper taking `ID, Severity::X`) in the sources, ids given literally or as a
/// `const NAME: &str = "BILAN-…"`.
fn severities_in_rust() -> Vec<(String, String, String)> {
    let mut files = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("source");
        let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut consts = BTreeMap::new();
        for part in flat.split("const ").skip(1) {
            if let Some((name, rest)) = part.split_once(": &str = \"") {
                if let Some((value, _)) = rest.split_once('"') {
                    consts.insert(name.trim().to_string(), value.to_string());
                }
            }
        }
        let mut rest = flat.as_str();
        while let Some(i) = rest.find(", Severity::") {
            let before = &rest[..i];
            let token = before.rsplit(['(', ' ']).next().unwrap_or("");
            let after = &rest[i + ", Severity::".len()..];
            let severity: String = after.chars().take_while(|c| c.is_alphanumeric()).collect();
            let id = if token.starts_with("\"BILAN-") {
                Some(token.trim_matches('"').to_string())
            } else {
                consts.get(token).filter(|v| v.starts_with("BILAN-")).cloned()
            };
            if let Some(id) = id {
                out.push((id, severity.to_lowercase(), file.display().to_string()));
            }
            rest = after;
        }
    }
    out
}

#[test]
fn engine_severities_in_rust_match_engine_toml() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules").join("engine.toml");
    let catalogue: toml::Table = std::fs::read_to_string(&path)
        .expect("engine.toml")
        .parse()
        .expect("engine.toml is TOML");
    let documented: BTreeMap<String, String> = catalogue["rule"]
        .as_array()
        .expect("[[rule]]")
        .iter()
        .map(|r| {
            (
                r["id"].as_str().expect("id").to_string(),
                r["severity"].as_str().expect("severity").to_string(),
            )
        })
        .collect();
    let found = severities_in_rust();
    assert!(found.len() >= 8, "too few engine findings found in src/: {found:?}");
    let mut wrong = Vec::new();
    for (id, severity, file) in &found {
        match documented.get(id) {
            Some(s) if s == severity => {}
            Some(s) => wrong.push(format!("{file}: {id} is {severity} in Rust, {s} in engine.toml")),
            None => wrong.push(format!("{file}: {id} is not documented in rules/engine.toml")),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
