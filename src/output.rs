//! Files that `bilan` writes: where they go, what they are called, and how they
//! are written. The one home for output naming and for the atomic writer; every
//! output (annotated workbooks, JSON, synthesis, Markdown, blank templates) goes
//! through [`save`].

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why an output could not be written.
#[derive(Debug, thiserror::Error)]
#[error("écriture de « {} » impossible : {}", .path.display(), crate::messages::io_error(.source))]
pub struct OutputError {
    pub path: PathBuf,
    pub source: std::io::Error,
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
            if "<>:\"/\\|?*".contains(c) || c.is_control() {
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
    format!("{name}.controle.xlsx")
}

/// Unique file names for the annotated reports of `files`, in order:
/// `<name>.controle.xlsx`, then `<name> (2).controle.xlsx`… (names compared
/// ignoring case). `refused(name)` rejects a name for another reason (it would
/// land on an input).
pub fn report_names(files: &[PathBuf], refused: &dyn Fn(&str) -> bool) -> Vec<String> {
    let mut taken = HashSet::new();
    files
        .iter()
        .map(|f| {
            let name = report_file_name(f);
            let stem = name.trim_end_matches(".controle.xlsx").to_string();
            (1..)
                .map(|n| {
                    if n == 1 {
                        name.clone()
                    } else {
                        format!("{stem} ({n}).controle.xlsx")
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
        assert_eq!(report_file_name(Path::new("CON.xlsx")), "retour_CON.controle.xlsx");
        assert_eq!(report_file_name(Path::new(".xlsx")), "_xlsx.controle.xlsx");
        assert!(report_file_name(Path::new(&format!("{}.xlsx", "é".repeat(200)))).len() < 200);
    }

    #[test]
    fn report_names_are_unique_ignoring_case() {
        let files = [
            PathBuf::from("a/x.xlsx"),
            PathBuf::from("b/X.xls"),
            PathBuf::from("c/x.ods"),
        ];
        assert_eq!(
            report_names(&files, &|_| false),
            ["x.controle.xlsx", "X (2).controle.xlsx", "x (3).controle.xlsx"]
        );
        assert_eq!(
            report_names(&files[..1], &|n| n == "x.controle.xlsx"),
            ["x (2).controle.xlsx"]
        );
    }
}
