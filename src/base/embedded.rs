//! Rule packs and schemas: built into the binary, or read from a folder.

use std::path::{Path, PathBuf};

use include_dir::{include_dir, Dir};

static SCHEMAS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/schemas");

/// A text file of a rule pack or schema folder: its path relative to the folder
/// (for messages) and its contents.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    /// Borrowed from the binary for a built-in file (never copied), owned
    /// for a file read from disk.
    pub text: std::borrow::Cow<'static, str>,
}

/// What `build.rs` made of a built-in rule file: its header parsed (TOML
/// checked at build time, stored as JSON), its worked examples apart.
#[derive(Debug)]
pub struct Prebuilt {
    /// The file's text as built (compared with the text being loaded).
    pub text: &'static str,
    /// The header without its `[[examples]]` (a `.toml` file: all of it), as
    /// JSON; `None`: a `commun.rhai` without header.
    pub header: Option<&'static str>,
    /// `{"examples": [...]}`, as JSON, when the header has examples.
    pub examples: Option<&'static str>,
    /// The script with its header blanked out (`rules::header::split_header`),
    /// when the file has a header.
    pub script: Option<&'static str>,
}

include!(concat!(env!("OUT_DIR"), "/rules_prebuilt.rs"));

/// The build-time form of `file`, when it is a built-in rule file as built
/// (same path, same text): the engine then loads it without parsing TOML.
pub fn prebuilt(file: &SourceFile) -> Option<&'static Prebuilt> {
    let path = file.path.to_str()?.replace('\\', "/");
    let i = PREBUILT.binary_search_by(|(p, _)| (*p).cmp(path.as_str())).ok()?;
    let built = &PREBUILT[i].1;
    (std::ptr::eq(built.text, &*file.text) || built.text == file.text).then_some(built)
}

/// Files of the built-in rule pack (`rules/`: its `.rhai` and `.toml`
/// files, all the engine reads), sorted by path: the texts `build.rs` included
/// (UTF-8 checked when the binary was built), borrowed, never copied.
pub fn rules() -> Vec<SourceFile> {
    PREBUILT
        .iter()
        .map(|(path, b)| SourceFile {
            path: PathBuf::from(path),
            text: std::borrow::Cow::Borrowed(b.text),
        })
        .collect()
}

/// Files of the built-in schema folder, sorted by path.
pub fn schemas() -> Vec<SourceFile> {
    collect(&SCHEMAS)
}

/// Ids of the built-in templates (`BILAN-POLE`…), from their schema file
/// names, sorted: for help texts, without loading the schemas.
pub fn template_ids() -> Vec<String> {
    let mut ids: Vec<String> = SCHEMAS.files().filter_map(|f| template_id_of(f.path())).collect();
    ids.sort();
    ids
}

/// The template id a built-in schema file is named after (`BILAN-POLE` for
/// `BILAN-POLE.schema.json`); `None` for the other schemas (the report's).
pub fn template_id_of(path: &Path) -> Option<String> {
    let id = path.file_name()?.to_str()?.strip_suffix(".schema.json")?;
    id.chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
        .then(|| id.to_string())
}

fn collect(dir: &'static Dir<'static>) -> Vec<SourceFile> {
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn walk(dir: &'static Dir<'static>, out: &mut Vec<SourceFile>) {
    for file in dir.files() {
        if let Some(text) = file.contents_utf8() {
            out.push(SourceFile {
                path: file.path().to_path_buf(),
                text: std::borrow::Cow::Borrowed(text),
            });
        }
    }
    for sub in dir.dirs() {
        walk(sub, out);
    }
}

/// Files under `root` on disk (for `--rules DIR` / `--schemas DIR`), sorted by path.
pub fn from_dir(root: &Path) -> std::io::Result<Vec<SourceFile>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                stack.push(path);
            } else {
                let text = std::fs::read_to_string(&path)?.into();
                let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
                out.push(SourceFile { path: rel, text });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}
