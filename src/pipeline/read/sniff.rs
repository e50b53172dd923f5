//! Recognising a workbook's format from its bytes, whatever its extension.

use std::io::Cursor;

use serde::{Deserialize, Serialize};

use super::{LimitKind, Limits, ReadError};

/// The container formats `bilan` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Xlsx,
    Xlsm,
    Xlsb,
    Xls,
    Ods,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Xlsx => "xlsx",
            Format::Xlsm => "xlsm",
            Format::Xlsb => "xlsb",
            Format::Xls => "xls",
            Format::Ods => "ods",
        }
    }
}

impl Format {
    /// How a finding names the format.
    pub fn describe(self) -> &'static str {
        match self {
            Format::Xlsx => "un classeur Excel (.xlsx)",
            Format::Xlsm => "un classeur Excel avec macros (.xlsm)",
            Format::Xlsb => "un classeur Excel binaire (.xlsb)",
            Format::Xls => "un classeur Excel 97-2003 (.xls)",
            Format::Ods => "un classeur OpenDocument (.ods)",
        }
    }

    /// The file extensions under which this content is expected (models included).
    fn accepted_extensions(self) -> &'static [&'static str] {
        match self {
            // An .xlsx without macros may be named .xlsm; the reverse is refused by Excel.
            Format::Xlsx => &["xlsx", "xlsm", "xltx", "xltm"],
            Format::Xlsm => &["xlsm", "xltm"],
            Format::Xlsb => &["xlsb"],
            Format::Xls => &["xls", "xlt"],
            Format::Ods => &["ods", "ots"],
        }
    }
}

/// BILAN-IO-003 when the extension of `name` (a path or a file name) does not
/// match `format`, the format found in its bytes: the workbook was read for
/// what it is. A name without an extension gets no finding.
pub fn extension_mismatch(name: &str, format: Format) -> Option<crate::finding::Finding> {
    let file = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let (stem, ext) = file.rsplit_once('.')?;
    if stem.is_empty() || ext.is_empty() {
        return None;
    }
    let lower = ext.to_lowercase();
    if format.accepted_extensions().contains(&lower.as_str()) {
        return None;
    }
    Some(crate::finding::Finding::engine(
        crate::finding::EngineRule::Io003,
        format!(
            "Le fichier porte l'extension .{ext} mais son contenu est {} : il a été lu comme tel. Renommez-le en .{} (ou enregistrez-le au format attendu) pour que chacun puisse l'ouvrir.",
            format.describe(),
            format.extension()
        ),
    ))
}

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const ZIP_EMPTY: &[u8] = b"PK\x05\x06";
const CFB_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Tells which format `bytes` hold, checking a zip container's declared
/// uncompressed size against the limit before anything is inflated.
pub fn sniff(bytes: &[u8], limits: &Limits) -> Result<Format, ReadError> {
    if bytes.is_empty() {
        return Err(ReadError::Empty);
    }
    if bytes.starts_with(ZIP_MAGIC) || bytes.starts_with(ZIP_EMPTY) {
        return sniff_zip(bytes, limits);
    }
    if bytes.starts_with(CFB_MAGIC) {
        // An encrypted xlsx is a compound file holding an `EncryptedPackage` stream.
        if contains_utf16(bytes, "EncryptedPackage") || contains_utf16(bytes, "EncryptionInfo") {
            return Err(ReadError::Encrypted);
        }
        return Ok(Format::Xls);
    }
    Err(ReadError::NotAWorkbook(describe_other(bytes)))
}

fn sniff_zip(bytes: &[u8], limits: &Limits) -> Result<Format, ReadError> {
    let archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| ReadError::Corrupt {
        format: "zip".into(),
        detail: format!("archive zip illisible ou tronquée ({e})"),
    })?;
    let mut total: u64 = 0;
    let mut names = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        if let Some(Ok(name)) = archive.name_for_index(i) {
            names.push(name.to_string());
        }
    }
    // The largest of the parts calamine loads whole before the first cell.
    let mut largest_loaded: Option<(String, u64)> = None;
    let mut archive = archive;
    for i in 0..archive.len() {
        // Declared sizes: the zip crate refuses to inflate a member past its
        // declared size, so they bound what calamine can be made to read.
        if let Ok(f) = archive.by_index_raw(i) {
            total = total.saturating_add(f.size());
            if let Ok(name) = f.name() {
                if loaded_whole(&name) && largest_loaded.as_ref().is_none_or(|(_, s)| f.size() > *s) {
                    largest_loaded = Some((name.to_string(), f.size()));
                }
            }
        }
    }
    if total > limits.max_uncompressed {
        return Err(ReadError::Limit {
            kind: LimitKind::Uncompressed,
            limit: limits.max_uncompressed,
            actual: total,
        });
    }
    let has = |n: &str| names.iter().any(|m| m.eq_ignore_ascii_case(n));
    let spreadsheet = has("xl/workbook.xml") || has("xl/workbook.bin");
    if let Some((name, size)) = largest_loaded.filter(|(_, s)| spreadsheet && *s > limits.max_loaded_part) {
        return Err(ReadError::Limit {
            kind: LimitKind::Part(name),
            limit: limits.max_loaded_part,
            actual: size,
        });
    }
    if has("xl/workbook.xml") {
        let macros = has("xl/vbaProject.bin");
        return Ok(if macros { Format::Xlsm } else { Format::Xlsx });
    }
    if has("xl/workbook.bin") {
        return Ok(Format::Xlsb);
    }
    if has("content.xml") && (has("mimetype") || has("META-INF/manifest.xml")) {
        return Ok(Format::Ods);
    }
    let what = if has("word/document.xml") {
        "document Word (.docx)".to_string()
    } else if has("ppt/presentation.xml") {
        "présentation PowerPoint (.pptx)".to_string()
    } else if names.is_empty() {
        "archive zip vide".to_string()
    } else {
        "archive zip sans classeur (ni xl/workbook.xml ni content.xml)".to_string()
    };
    Err(ReadError::NotAWorkbook(what))
}

/// The parts calamine reads whole when it opens an `.xlsx`/`.xlsb` (wherever
/// the package puts them): the shared strings, the styles, the workbook.
const LOADED_WHOLE: [&str; 6] = [
    "sharedStrings.xml",
    "sharedStrings.bin",
    "styles.xml",
    "styles.bin",
    "workbook.xml",
    "workbook.bin",
];

fn loaded_whole(name: &str) -> bool {
    let file = name.rsplit('/').next().unwrap_or(name);
    LOADED_WHOLE.iter().any(|w| w.eq_ignore_ascii_case(file))
}

/// How a finding names a part of the package.
pub(super) fn describe_part(name: &str) -> String {
    let file = name.rsplit('/').next().unwrap_or(name).to_ascii_lowercase();
    let what = if file.starts_with("sharedstrings") {
        "la table des chaînes partagées"
    } else if file.starts_with("styles") {
        "la table des styles"
    } else {
        "la partie"
    };
    format!("{what} ({name})")
}

fn contains_utf16(haystack: &[u8], needle: &str) -> bool {
    let pattern: Vec<u8> = needle.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    haystack.windows(pattern.len()).any(|w| w == pattern.as_slice())
}

fn describe_other(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(4096)];
    if head.starts_with(b"%PDF") {
        return "document PDF".into();
    }
    if head.starts_with(b"<?xml") || head.starts_with(b"<html") || head.starts_with(b"<!DOCTYPE") {
        return "fichier XML/HTML (peut-être un export « Excel 2003 XML » ou une page web)".into();
    }
    match std::str::from_utf8(head) {
        Ok(text) if text.contains(';') || text.contains(',') || text.contains('\t') => {
            "fichier texte de type CSV : ouvrez-le dans Excel et enregistrez-le au format .xlsx".into()
        }
        Ok(_) => "fichier texte".into(),
        Err(_) => "format inconnu".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_not_a_workbook() {
        let err = sniff(b"Annee;Cout\n2005;12\n", &Limits::default()).unwrap_err();
        assert!(
            matches!(err, ReadError::NotAWorkbook(ref m) if m.contains("CSV")),
            "{err:?}"
        );
    }

    #[test]
    fn truncated_zip_is_corrupt() {
        let err = sniff(b"PK\x03\x04\x14\x00\x00\x00", &Limits::default()).unwrap_err();
        assert!(matches!(err, ReadError::Corrupt { .. }), "{err:?}");
    }

    #[test]
    fn extension_against_content() {
        let rule = |name: &str, f: Format| extension_mismatch(name, f).map(|f| f.rule.as_str().to_string());
        assert_eq!(rule("retours/pole.xlsx", Format::Xlsx), None);
        assert_eq!(rule("POLE.XLSX", Format::Xlsx), None);
        assert_eq!(rule("pole.xlsm", Format::Xlsx), None);
        assert_eq!(rule("pole.ods", Format::Ods), None);
        assert_eq!(rule("pole.xls", Format::Xls), None);
        assert_eq!(rule("pole", Format::Xls), None);
        assert_eq!(rule(".xlsx", Format::Xls), None);
        assert_eq!(rule("pole.xlsx", Format::Xls).as_deref(), Some("BILAN-IO-003"));
        assert_eq!(rule("pole.xlsx", Format::Xlsm).as_deref(), Some("BILAN-IO-003"));
        assert_eq!(
            rule("C:\\retours\\pole.xls", Format::Ods).as_deref(),
            Some("BILAN-IO-003")
        );
        let f = extension_mismatch("dossier.v2/pole.xlsx", Format::Xls).expect("mismatch");
        assert_eq!(f.severity, crate::finding::Severity::Warning);
        assert!(
            f.message.contains(".xlsx") && f.message.contains("Excel 97-2003 (.xls)"),
            "{}",
            f.message
        );
    }

    #[test]
    fn an_empty_file_is_empty() {
        assert_eq!(sniff(b"", &Limits::default()), Err(ReadError::Empty));
    }

    fn package(parts: &[(&str, usize)]) -> Vec<u8> {
        use std::io::Write;
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        let written: zip::result::ZipResult<()> = parts.iter().try_for_each(|(name, size)| {
            w.start_file(*name, options)?;
            Ok(w.write_all(&vec![b' '; *size])?)
        });
        assert!(written.is_ok(), "{written:?}");
        w.finish().map(Cursor::into_inner).unwrap_or_default()
    }

    #[test]
    fn a_part_loaded_whole_has_its_own_cap() {
        let limits = Limits {
            max_loaded_part: 1_000,
            ..Limits::default()
        };
        let bytes = package(&[
            ("xl/workbook.xml", 10),
            ("xl/sharedStrings.xml", 1_001),
            ("xl/worksheets/sheet1.xml", 5_000),
        ]);
        let err = sniff(&bytes, &limits).unwrap_err();
        assert_eq!(
            err,
            ReadError::Limit {
                kind: LimitKind::Part("xl/sharedStrings.xml".into()),
                limit: 1_000,
                actual: 1_001
            }
        );
        assert!(err.to_string().contains("chaînes partagées"), "{err}");
        // Sheets are streamed: only the whole package's size applies to them.
        let bytes = package(&[
            ("xl/workbook.xml", 10),
            ("xl/sharedStrings.xml", 1_000),
            ("xl/worksheets/sheet1.xml", 5_000),
        ]);
        assert_eq!(sniff(&bytes, &limits), Ok(Format::Xlsx));
    }
}
