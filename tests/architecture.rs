//! The house's layers, kept so: builds the module graph of `src/` from its
//! `crate::`, `super::` and `self::` paths (like `import-circles.py`) and fails
//! on a circle between files, and on an import that goes up the layer table.
//!
//! The table, bottom to top (a module may import its own layer and the ones
//! below, never one above; `ARCHITECTURE.md` says the same):
//!
//! | Layer | Top-level modules |
//! |---|---|
//! | 0 base | `base` (model, values, format, messages, embedded) |
//! | 1 finding | `finding` |
//! | 2 pipeline | `pipeline` (read, template, extract, validate, rules, campaign, justify, check) |
//! | 3 outcome | `outcome` |
//! | 4 cycle | `diff` |
//! | 5 output | `output` |
//! | 6 report | `report`, `docs`, `blank` |
//! | 7 job | `job` (with `job::isolate`) |
//! | 8 batch | `batch` |
//! | 9 run | `run`, `clap_fr`, `sheetgen` |
//! | 10 web | `web` |
//! | 11 binary | `cli` (the binary's own modules, under `main.rs`) |
//!
//! `lib.rs` (the root, with the transition aliases) and `main.rs` (the binary,
//! a crate of its own) are outside the table. A path through a transition
//! alias (`crate::read::…`) is followed to the module it names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const LAYERS: &[(&str, &[&str])] = &[
    ("base", &["base"]),
    ("finding", &["finding"]),
    ("pipeline", &["pipeline"]),
    ("outcome", &["outcome"]),
    ("cycle", &["diff"]),
    ("output", &["output"]),
    ("report", &["report", "docs", "blank"]),
    ("job", &["job"]),
    ("batch", &["batch"]),
    ("run", &["run", "clap_fr", "sheetgen"]),
    ("web", &["web"]),
    ("binary", &["cli"]),
];

/// Files by their path relative to `src/`, with `/` separators.
type Graph = BTreeMap<String, BTreeSet<String>>;

fn layer_of(file: &str) -> Option<usize> {
    let top = file.split('/').next()?.trim_end_matches(".rs");
    LAYERS.iter().position(|(_, modules)| modules.contains(&top))
}

/// The text of a file as the graph reads it: comments removed, and nothing
/// after `#[cfg(test)]` (test modules may import anything).
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every path that starts with `prefix` (`crate::`, `super::`, `self::`) at a
/// word boundary: its segments after the prefix, with `{a, b::c}` groups
/// expanded (one segment list per member).
fn paths_after(code: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut from = 0;
    while let Some(i) = code[from..].find(prefix).map(|i| i + from) {
        from = i + prefix.len();
        if i > 0 && (is_ident(bytes[i - 1] as char) || bytes[i - 1] == b':') {
            continue;
        }
        out.extend(expand(&code[from..]));
    }
    out
}

/// Segments of the path at the start of `rest`, groups expanded.
fn expand(rest: &str) -> Vec<Vec<String>> {
    let mut segments = Vec::new();
    let mut s = rest.trim_start();
    if s.starts_with('{') {
        // `crate::{a::b, c}`: a group right after the prefix.
        return group(&rest.trim_start()[1..], &segments).unwrap_or_default();
    }
    loop {
        let end = s.find(|c: char| !is_ident(c)).unwrap_or(s.len());
        if end == 0 {
            break;
        }
        segments.push(s[..end].to_string());
        s = &s[end..];
        if let Some(after) = s.strip_prefix("::") {
            s = after.trim_start();
            if let Some(inner) = s.strip_prefix('{') {
                match group(inner, &segments) {
                    Some(out) => return out,
                    None => break,
                }
            }
        } else {
            break;
        }
    }
    if segments.is_empty() {
        Vec::new()
    } else {
        vec![segments]
    }
}

/// The members of a `{…}` group (its text after `{`), each after `segments`.
fn group(inner: &str, segments: &[String]) -> Option<Vec<Vec<String>>> {
    let close = matching_brace(inner)?;
    let mut out = Vec::new();
    for member in split_top_level(&inner[..close]) {
        let member = member.trim();
        if member.is_empty() || member == "self" || member == "*" {
            continue;
        }
        for tail in expand(member) {
            out.push(segments.iter().cloned().chain(tail).collect());
        }
    }
    if out.is_empty() && !segments.is_empty() {
        out.push(segments.to_vec());
    }
    Some(out)
}

fn matching_brace(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

fn split_top_level(s: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0usize, 0);
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// The module path of a file: `pipeline/read/mod.rs` → `[pipeline, read]`.
fn module_of(file: &str) -> Vec<String> {
    let mut parts: Vec<String> = file.trim_end_matches(".rs").split('/').map(str::to_string).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    parts
}

/// The longest existing file a module path names (`a/b/c.rs`, `a/b/c/mod.rs`,
/// `a/b.rs`, …), like `import-circles.py`.
fn resolve(files: &BTreeSet<String>, parts: &[String]) -> Option<String> {
    (1..=parts.len()).rev().find_map(|n| {
        let base = parts[..n].join("/");
        [format!("{base}.rs"), format!("{base}/mod.rs")]
            .into_iter()
            .find(|f| files.contains(f))
    })
}

/// The transition aliases of `lib.rs`: an old top-level name → the module
/// paths it stands for (`read` → `pipeline::read`; `check` → `job` and
/// `pipeline::check`).
fn aliases(lib: &str) -> BTreeMap<String, Vec<Vec<String>>> {
    let mut out: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    let Some(block) = lib.split("Transition aliases").nth(1) else {
        return out;
    };
    let block = block.split("End of the transition aliases").next().unwrap_or_default();
    let code = code_of(block);
    let mut rest = code.as_str();
    while let Some(i) = rest.find("pub ") {
        rest = &rest[i + 4..];
        if let Some(after) = rest.strip_prefix("use ") {
            // `pub use base::{embedded, format};`: each name aliases base::name.
            let end = after.find(';').unwrap_or(after.len());
            for path in expand(after[..end].trim()) {
                if let Some(last) = path.last() {
                    out.entry(last.clone()).or_default().push(path.clone());
                }
            }
        } else if let Some(after) = rest.strip_prefix("mod ") {
            // `pub mod check { pub use crate::job::…; pub use crate::pipeline::check::*; }`
            let name: String = after.chars().take_while(|c| is_ident(*c)).collect();
            let body_start = after.find('{').unwrap_or(0) + 1;
            let body_end = matching_brace(&after[body_start..]).map_or(after.len(), |e| body_start + e);
            let body = &after[body_start..body_end];
            for path in paths_after(body, "crate::") {
                out.entry(name.clone()).or_default().push(path);
            }
            rest = &after[body_end..];
        }
    }
    out
}

/// The graph of `src/`: each file → the files its paths name.
fn graph(src: &Path) -> Graph {
    let mut texts = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path
                    .strip_prefix(src)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .replace('\\', "/");
                let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                texts.insert(rel, text);
            }
        }
    }
    let alias = aliases(texts.get("lib.rs").map(String::as_str).unwrap_or_default());
    let files: BTreeSet<String> = texts.keys().cloned().collect();
    let mut g = Graph::new();
    for (file, text) in &texts {
        if file == "lib.rs" || file == "main.rs" {
            continue;
        }
        let code = code_of(text);
        let module = module_of(file);
        let mut targets: Vec<Vec<String>> = Vec::new();
        for path in paths_after(&code, "crate::") {
            match path.first().and_then(|first| alias.get(first)) {
                Some(real) => {
                    for r in real {
                        targets.push(r.iter().cloned().chain(path.iter().skip(1).cloned()).collect());
                    }
                }
                None => targets.push(path),
            }
        }
        for path in paths_after(&code, "self::") {
            targets.push(module.iter().cloned().chain(path).collect());
        }
        // `super::super::x`: each `super` climbs one module.
        for path in paths_after(&code, "super::") {
            let ups = 1 + path.iter().take_while(|s| *s == "super").count();
            let base = &module[..module.len().saturating_sub(ups)];
            let tail = path.into_iter().skip_while(|s| s == "super");
            targets.push(base.iter().cloned().chain(tail).collect());
        }
        let edges = g.entry(file.clone()).or_default();
        for t in targets {
            if let Some(to) = resolve(&files, &t) {
                if &to != file && to != "lib.rs" {
                    edges.insert(to);
                }
            }
        }
    }
    g
}

/// Strongly connected components of more than one file (Tarjan).
fn circles(g: &Graph) -> Vec<Vec<String>> {
    struct State<'a> {
        g: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on.insert(v);
        for w in s.g.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(lw));
            } else if s.on.contains(w) {
                let iw = s.index[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(iw));
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.out.push(comp);
            }
        }
    }
    let mut s = State {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in g.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

/// Imports that go up the layer table: `(from, to)`.
fn upward(g: &Graph) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (from, tos) in g {
        for to in tos {
            if let (Some(a), Some(b)) = (layer_of(from), layer_of(to)) {
                if b > a {
                    out.push((from.clone(), to.clone()));
                }
            }
        }
    }
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn every_file_of_src_has_a_layer() {
    let g = graph(&src());
    let loose: Vec<&String> = g.keys().filter(|f| layer_of(f).is_none()).collect();
    assert!(
        loose.is_empty(),
        "files outside the layer table of tests/architecture.rs: {loose:?}"
    );
}

#[test]
fn no_import_circle_in_src() {
    let g = graph(&src());
    assert!(g.len() > 50, "the graph misses files: {}", g.len());
    assert!(
        g.values().map(BTreeSet::len).sum::<usize>() > 100,
        "the graph misses imports"
    );
    let found = circles(&g);
    let shown: Vec<String> = found
        .iter()
        .map(|c| {
            let inner: Vec<String> = c
                .iter()
                .map(|a| {
                    let to: Vec<&String> = g[a].iter().filter(|b| c.contains(b)).collect();
                    format!("  {a} -> {to:?}")
                })
                .collect();
            format!("circle of {} files:\n{}", c.len(), inner.join("\n"))
        })
        .collect();
    assert!(found.is_empty(), "{}", shown.join("\n"));
}

#[test]
fn no_import_goes_up_the_layers() {
    let g = graph(&src());
    let up = upward(&g);
    let shown: Vec<String> = up
        .iter()
        .map(|(a, b)| {
            let name = |f: &str| layer_of(f).map_or("?", |i| LAYERS[i].0);
            format!("  {a} ({}) -> {b} ({})", name(a), name(b))
        })
        .collect();
    assert!(up.is_empty(), "imports up the layer table:\n{}", shown.join("\n"));
}

#[test]
fn the_graph_code_finds_a_circle_and_an_upward_import() {
    // A synthetic crate: finding/mod.rs → pipeline/check.rs → outcome.rs →
    // finding/mod.rs is a circle, and two of its imports go up.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let src = dir.path();
    let write = |rel: &str, text: &str| {
        let path = src.join(rel);
        std::fs::create_dir_all(path.parent().unwrap_or(src)).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
    };
    write(
        "lib.rs",
        "pub mod finding;\n// Transition aliases\npub use pipeline::check;\n// End of the transition aliases\n",
    );
    write("finding/mod.rs", "use crate::check::{Checker, Stage};\n");
    write("pipeline/mod.rs", "pub mod check;\n");
    write(
        "pipeline/check.rs",
        "use crate::{base::model::CellRef, outcome::Summary};\n// use crate::web;\n",
    );
    write("outcome.rs", "pub fn f() -> crate::finding::Finding { todo!() }\n");
    write("base/model.rs", "use super::super::finding::Finding;\n");
    write("web/mod.rs", "#[cfg(test)]\nuse crate::base::model;\n");
    let g = graph(src);
    assert_eq!(
        g["finding/mod.rs"],
        BTreeSet::from(["pipeline/check.rs".to_string()]),
        "an alias is followed"
    );
    assert_eq!(
        g["pipeline/check.rs"],
        BTreeSet::from(["base/model.rs".to_string(), "outcome.rs".to_string()]),
        "groups expanded, comments ignored"
    );
    assert_eq!(g["base/model.rs"], BTreeSet::from(["finding/mod.rs".to_string()]));
    assert!(g["web/mod.rs"].is_empty(), "test code is not read");
    let found = circles(&g);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0],
        vec!["base/model.rs", "finding/mod.rs", "outcome.rs", "pipeline/check.rs"]
    );
    let up = upward(&g);
    assert_eq!(
        up,
        vec![
            ("base/model.rs".to_string(), "finding/mod.rs".to_string()),
            ("finding/mod.rs".to_string(), "pipeline/check.rs".to_string()),
            ("pipeline/check.rs".to_string(), "outcome.rs".to_string()),
        ]
    );
}
