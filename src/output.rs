//! Files that `bilan` writes: where they go, what they are called, and how they
//! are written. The one home for output naming and for the atomic writer; every
//! output (annotated workbooks, JSON, synthesis, Markdown, blank templates) goes
//! through [`save`].

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why an output could not be written.
#[derive(Debug, thiserror::Error)]
#[error("écriture de « {} » impossible : {}", .path.display(), io_fr(.source))]
pub struct OutputError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

impl OutputError {
    /// The reason alone, in French (`disque plein`).
    pub fn reason(&self) -> String {
        io_fr(&self.source)
    }
}

/// A system error in French words (`disque plein`, `permission refusée`), never
/// `os error 28`: one home, [`crate::base::messages::io_error`].
pub use crate::base::messages::io_error as io_fr;

/// A path as bytes (to cross a process boundary whatever its encoding).
pub fn path_to_bytes(p: &Path) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        p.as_os_str().as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        p.to_string_lossy().into_owned().into_bytes()
    }
}

/// The path of [`path_to_bytes`].
pub fn path_from_bytes(b: &[u8]) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        PathBuf::from(std::ffi::OsStr::from_bytes(b))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(String::from_utf8_lossy(b).into_owned())
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder,
/// flushed to disk, then renamed over `path`. An interrupted run leaves either
/// the previous file or the new one, never half of one.
pub fn save(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let io = |source| OutputError {
        path: path.to_path_buf(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "rapport".into());
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    Ok(())
}

/// The report's file name for a submitted file: `<name>.controle.xlsx`, with
/// characters that some systems refuse replaced by `_` and the length bounded.
pub fn report_file_name(input: &Path) -> String {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut name: String = stem
        .chars()
        .map(|c| {
            if "<>:\"/\\|?*".contains(c) || c.is_control() || unsafe_char(c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    name = name.trim().trim_end_matches('.').trim().to_string();
    if name.starts_with('.') {
        name.replace_range(..1, "_");
    }
    // Keep the name well under the 255-byte limit of most file systems.
    while name.len() > 150 {
        name.pop();
    }
    let reserved = ["CON", "PRN", "AUX", "NUL"];
    let upper = name.to_ascii_uppercase();
    let device = reserved.contains(&upper.as_str())
        || ((upper.starts_with("COM") || upper.starts_with("LPT"))
            && upper.len() == 4
            && upper.as_bytes()[3].is_ascii_digit());
    if name.is_empty() || device {
        name = format!("retour_{name}");
    }
    // A macro-enabled workbook is patched, macros kept: its report keeps `.xlsm`.
    let macro_enabled = input
        .extension()
        .is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case("xlsm"));
    format!("{name}.controle.{}", if macro_enabled { "xlsm" } else { "xlsx" })
}

/// Unique file names for the annotated reports of `files`, in order:
/// `<name>.controle.xlsx`, then `<name> (2).controle.xlsx`… (names compared
/// ignoring case). `refused(name)` rejects a name for another reason (it would
/// land on an input).
pub fn report_names(files: &[PathBuf], refused: &dyn Fn(&str) -> bool) -> Vec<String> {
    let mut taken = HashSet::new();
    // Same-named returns in several formats (`itrans.xlsx`, `itrans.ods`): the
    // ones not in .xlsx keep their format in the name (`itrans.ods.controle.xlsx`).
    let extension = |f: &PathBuf| {
        f.extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .unwrap_or_default()
    };
    let stem_of = |name: &str| {
        name.rsplit_once(".controle.")
            .map_or(name, |(stem, _)| stem)
            .to_lowercase()
    };
    let mut formats: std::collections::HashMap<String, HashSet<String>> = std::collections::HashMap::new();
    for f in files {
        formats
            .entry(stem_of(&report_file_name(f)))
            .or_default()
            .insert(extension(f));
    }
    files
        .iter()
        .map(|f| {
            let mut name = report_file_name(f);
            let ext = extension(f);
            if !matches!(ext.as_str(), "xlsx" | "xlsm" | "")
                && formats.get(&stem_of(&name)).is_some_and(|s| s.len() > 1)
            {
                name = format!("{}.{ext}.controle.xlsx", name.trim_end_matches(".controle.xlsx"));
            }
            let (stem, ext) = name.rsplit_once(".controle.").unwrap_or((name.as_str(), "xlsx"));
            let (stem, ext) = (stem.to_string(), ext.to_string());
            (1..)
                .map(|n| {
                    if n == 1 {
                        name.clone()
                    } else {
                        format!("{stem} ({n}).controle.{ext}")
                    }
                })
                .find(|candidate| !refused(candidate) && taken.insert(candidate.to_lowercase()))
                .unwrap_or(name)
        })
        .collect()
}

/// Whether `out` names the (canonical) file `input`, through links or `..`.
pub fn same_file(input: &Path, out: &Path) -> bool {
    #[cfg(unix)]
    {
        // A hard link is the same file under another name.
        use std::os::unix::fs::MetadataExt;
        if let (Ok(a), Ok(b)) = (std::fs::metadata(input), std::fs::metadata(out)) {
            return a.dev() == b.dev() && a.ino() == b.ino();
        }
    }
    let resolved = match out.canonicalize() {
        Ok(p) => p,
        Err(_) => {
            let parent = out
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            match (parent.canonicalize(), out.file_name()) {
                (Ok(dir), Some(name)) => dir.join(name),
                _ => return false,
            }
        }
    };
    resolved == input
}

/// Text from a submitted file made safe to show: control characters (ESC,
/// BEL…) become their visible symbol (`␛`), and bidirectional overrides and
/// isolates (which can make a name read backwards) become `�`. Line breaks and
/// tabs are kept.
pub fn neutralise(s: &str) -> std::borrow::Cow<'_, str> {
    let bad = unsafe_char;
    if !s.chars().any(bad) {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(
        s.chars()
            .map(|c| match c {
                '\u{0}'..='\u{1F}' if bad(c) => char::from_u32(0x2400 + c as u32).unwrap_or('\u{FFFD}'),
                '\u{7F}' => '\u{2421}',
                c if bad(c) => '\u{FFFD}',
                c => c,
            })
            .collect(),
    )
}

/// A file or sheet name for one line of output: [`neutralise`], and line
/// breaks and tabs shown as symbols too (`␊`, `␍`, `␉`; U+2028/2029/0085 as
/// `�`), so that a name can never forge a line of output.
pub fn neutralise_name(s: &str) -> std::borrow::Cow<'_, str> {
    let line_break = |c: char| matches!(c, '\n' | '\r' | '\t' | '\u{2028}' | '\u{2029}' | '\u{85}');
    if !s.chars().any(|c| unsafe_char(c) || line_break(c)) {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(
        neutralise(s)
            .chars()
            .map(|c| match c {
                '\n' | '\r' | '\t' => char::from_u32(0x2400 + c as u32).unwrap_or('\u{FFFD}'),
                '\u{2028}' | '\u{2029}' | '\u{85}' => '\u{FFFD}',
                c => c,
            })
            .collect(),
    )
}

/// A path as reports write it: UTF-8 as it is; on Unix, each byte of the name
/// that is not UTF-8 (a Latin-1 `é` is the byte E9) is written `\xHH` (two
/// uppercase hex digits), so that the original name can be recovered from
/// `rapport.json` instead of being lost to U+FFFD.
pub fn path_text(path: &Path) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let bytes = path.as_os_str().as_bytes();
        let mut out = String::with_capacity(bytes.len());
        for chunk in bytes.utf8_chunks() {
            out.push_str(chunk.valid());
            for b in chunk.invalid() {
                out.push_str(&format!("\\x{b:02X}"));
            }
        }
        out
    }
    #[cfg(not(unix))]
    {
        path.display().to_string()
    }
}

/// A character that must not reach a terminal or a file name raw: controls
/// (but line breaks and tabs) and bidirectional overrides, embeddings, isolates
/// and marks.
fn unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// A relative path as a URL path: every byte outside `A-Z a-z 0-9 - . _ ~ /`
/// percent-encoded (so `#`, `%20`, spaces and accents survive a link).
pub fn url_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ---------------------------------------------------------------------------
// A batch's output folder: one run at a time, outputs written aside then
// renamed together, leftovers of interrupted runs removed.

/// The lock file of an output folder.
pub const LOCK_FILE: &str = ".bilan.lock";
/// Prefix of a run's staging folder inside the output folder.
pub const STAGING_PREFIX: &str = ".bilan-en-cours-";

/// The exclusive lock of an output folder, held until dropped (or until the
/// process ends, however it ends: the system releases it).
#[derive(Debug)]
pub struct Lock {
    _file: std::fs::File,
}

/// Why an output folder could not be locked (its `Display` is the French a
/// user reads).
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// The lock file could not be created.
    #[error("verrou {} impossible à créer : {}", .path.display(), io_fr(.source))]
    Create { path: PathBuf, source: std::io::Error },
    /// Another run holds the lock.
    #[error("un autre contrôle écrit déjà dans {} (verrou {LOCK_FILE}) : attendez qu'il se termine, ou choisissez un autre dossier --out", .dir.display())]
    Busy { dir: PathBuf },
}

impl Lock {
    /// Takes the lock of `dir`, or says in French that another run holds it.
    pub fn acquire(dir: &Path) -> Result<Self, LockError> {
        let path = dir.join(LOCK_FILE);
        let file = match std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
        {
            Ok(file) => file,
            Err(source) => return Err(LockError::Create { path, source }),
        };
        #[cfg(unix)]
        {
            use std::os::unix::io::AsRawFd;
            // SAFETY: flock on a file descriptor we own.
            let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if r != 0 {
                return Err(LockError::Busy { dir: dir.to_path_buf() });
            }
        }
        Ok(Self { _file: file })
    }
}

/// Removes what interrupted runs left in `dir` (their staging folders and
/// temporary files). Call it with the lock held: nothing else is writing there.
pub fn remove_stale(dir: &Path) {
    for folder in [dir.to_path_buf(), dir.join("annotes")] {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if name.starts_with(STAGING_PREFIX) && path.is_dir() {
                let _ = std::fs::remove_dir_all(&path);
            } else if name.starts_with('.') && name.ends_with(".tmp") && path.is_file() {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

/// Outputs being written: a folder inside the output folder, renamed into
/// place by [`Staging::commit`]; removed with what it holds if the run stops.
#[derive(Debug)]
pub struct Staging {
    pub dir: PathBuf,
    out: PathBuf,
}

impl Staging {
    pub fn new(out: &Path) -> Result<Self, OutputError> {
        let dir = out.join(format!("{STAGING_PREFIX}{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).map_err(|source| OutputError {
            path: dir.clone(),
            source,
        })?;
        Ok(Self {
            dir,
            out: out.to_path_buf(),
        })
    }

    /// Moves `names` (files or folders of the staging folder) into the output
    /// folder, one rename each, one after the other: the previous run's
    /// outputs of the same names are replaced (an old `annotes/` is removed
    /// whole, so the set comes from one run).
    pub fn commit(&self, names: &[&str]) -> Result<(), OutputError> {
        let old = self.dir.join(".ancien");
        let _ = std::fs::create_dir(&old);
        for name in names {
            let from = self.dir.join(name);
            let to = self.out.join(name);
            if from.is_dir() && to.is_dir() {
                // A folder cannot be renamed over a non-empty one: move the old aside.
                std::fs::rename(&to, old.join(name)).map_err(|source| OutputError {
                    path: to.clone(),
                    source,
                })?;
            }
            std::fs::rename(&from, &to).map_err(|source| OutputError {
                path: to.clone(),
                source,
            })?;
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe() {
        assert_eq!(
            report_file_name(Path::new("retours/pole-itrans.xlsx")),
            "pole-itrans.controle.xlsx"
        );
        assert_eq!(report_file_name(Path::new("a|b?.xls")), "a_b_.controle.xlsx");
        assert_eq!(report_file_name(Path::new("macros.XLSM")), "macros.controle.xlsm");
        assert_eq!(report_file_name(Path::new("CON.xlsx")), "retour_CON.controle.xlsx");
        assert_eq!(report_file_name(Path::new(".xlsx")), "_xlsx.controle.xlsx");
        assert!(report_file_name(Path::new(&format!("{}.xlsx", "é".repeat(200)))).len() < 200);
    }

    #[test]
    fn names_lose_control_and_bidi_characters() {
        assert_eq!(
            report_file_name(Path::new("a\u{1b}[31mb\u{202E}xslx.xlsx")),
            "a_[31mb_xslx.controle.xlsx"
        );
        assert_eq!(neutralise("ok\u{7}\u{1b}\u{2067}"), "ok\u{2407}\u{241B}\u{FFFD}");
        assert_eq!(neutralise("ligne\nsuivante"), "ligne\nsuivante");
    }

    #[test]
    fn a_name_cannot_break_a_line() {
        assert_eq!(neutralise_name("a\n— Conforme\r\t.xlsx"), "a␊— Conforme␍␉.xlsx");
        assert_eq!(neutralise_name("b\u{2028}c\u{202E}"), "b\u{FFFD}c\u{FFFD}");
        assert_eq!(neutralise_name("normal.xlsx"), "normal.xlsx");
    }

    #[cfg(unix)]
    #[test]
    fn a_latin1_name_is_kept_recoverable() {
        use std::os::unix::ffi::OsStrExt;
        let p = std::path::Path::new(std::ffi::OsStr::from_bytes(b"dossier/caf\xe9 \xe9t\xe9.xlsx"));
        assert_eq!(path_text(p), "dossier/caf\\xE9 \\xE9t\\xE9.xlsx");
        assert_eq!(path_text(std::path::Path::new("déjà.xlsx")), "déjà.xlsx");
    }

    #[test]
    fn url_paths_are_percent_encoded() {
        assert_eq!(url_path("annotes/a#b%20c é.xlsx"), "annotes/a%23b%2520c%20%C3%A9.xlsx");
    }

    #[test]
    fn report_names_are_unique_ignoring_case() {
        let files = [
            PathBuf::from("a/x.xlsx"),
            PathBuf::from("b/X.xls"),
            PathBuf::from("c/x.ods"),
        ];
        // Same name, other formats: the format stays in the name (issue 22).
        assert_eq!(
            report_names(&files, &|_| false),
            ["x.controle.xlsx", "X.xls.controle.xlsx", "x.ods.controle.xlsx"]
        );
        let same = [
            PathBuf::from("a/x.xlsx"),
            PathBuf::from("b/X.xlsx"),
            PathBuf::from("c/x.ods"),
        ];
        assert_eq!(
            report_names(&same, &|_| false),
            ["x.controle.xlsx", "X (2).controle.xlsx", "x.ods.controle.xlsx"]
        );
        assert_eq!(
            report_names(&files[..1], &|n| n == "x.controle.xlsx"),
            ["x (2).controle.xlsx"]
        );
    }
}
