//! The package: its parts by name, relationships, and the zip written back
//! with every unchanged part's compressed bytes copied as they are.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io::{Cursor, Read, Write};

use quick_xml::events::Event;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::xml::{attr, esc, reader};
use super::{refusal, Refusal, MAX_PART, XML_DECL};

pub(super) struct Package<'a> {
    zip: ZipArchive<Cursor<&'a [u8]>>,
    /// Lower-case part name → (name as spelled, index in the zip).
    names: HashMap<String, (String, usize)>,
}

impl<'a> Package<'a> {
    pub(super) fn open(bytes: &'a [u8]) -> Result<Self, Refusal> {
        let zip = ZipArchive::new(Cursor::new(bytes)).map_err(|_| refusal("archive zip"))?;
        let mut names = HashMap::new();
        for i in 0..zip.len() {
            let Some(Ok(name)) = zip.name_for_index(i) else {
                return Err(refusal("nom de partie"));
            };
            if names.insert(name.to_ascii_lowercase(), (name.to_string(), i)).is_some() {
                return Err(refusal("parties en double"));
            }
        }
        Ok(Self { zip, names })
    }

    /// The parts whose name ends with `ext` (lower case), as spelled.
    pub(super) fn parts_ending_with(&self, ext: &str) -> Vec<String> {
        self.names
            .iter()
            .filter(|(lower, _)| lower.ends_with(ext))
            .map(|(_, (name, _))| name.clone())
            .collect()
    }

    fn has(&self, part: &str) -> bool {
        self.names.contains_key(&part.to_ascii_lowercase())
    }

    pub(super) fn read_text(&mut self, part: &str) -> Result<Option<String>, Refusal> {
        let Some((_, i)) = self.names.get(&part.to_ascii_lowercase()) else {
            return Ok(None);
        };
        let file = self.zip.by_index(*i).map_err(|_| refusal(part))?;
        let mut out = Vec::new();
        file.take(MAX_PART + 1)
            .read_to_end(&mut out)
            .map_err(|_| refusal(part))?;
        if out.len() as u64 > MAX_PART {
            return Err(refusal(part));
        }
        // A part in UTF-16 is left to the re-creation.
        let text = String::from_utf8(out).map_err(|_| refusal(part))?;
        Ok(Some(text.trim_start_matches('\u{feff}').to_string()))
    }
}

/// A part's relationships part: `xl/worksheets/sheet1.xml` → `xl/worksheets/_rels/sheet1.xml.rels`.
pub(super) fn rels_of(part: &str) -> String {
    match part.rsplit_once('/') {
        Some((dir, file)) => format!("{dir}/_rels/{file}.rels"),
        None => format!("_rels/{part}.rels"),
    }
}

pub(super) fn dir_of(part: &str) -> &str {
    part.rsplit_once('/').map_or("", |(d, _)| d)
}

/// A relationship's target, as a part name (no leading `/`).
pub(super) fn resolve(base_dir: &str, target: &str) -> String {
    let target = target.split('#').next().unwrap_or("");
    let mut parts: Vec<&str> = if let Some(abs) = target.strip_prefix('/') {
        return normalise(abs.split('/').collect());
    } else {
        base_dir.split('/').filter(|s| !s.is_empty()).collect()
    };
    parts.extend(target.split('/'));
    normalise(parts)
}

fn normalise(parts: Vec<&str>) -> String {
    let mut out: Vec<&str> = Vec::new();
    for p in parts {
        match p {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            p => out.push(p),
        }
    }
    out.join("/")
}

pub(super) struct Rel {
    pub(super) id: String,
    pub(super) kind: String,
    pub(super) target: String,
    pub(super) external: bool,
}

pub(super) fn parse_rels(xml: &str) -> Result<Vec<Rel>, Refusal> {
    let mut r = reader(xml);
    let mut out = Vec::new();
    let mut root_seen = false;
    loop {
        match r.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                if !root_seen {
                    root_seen = true;
                    if e.name().as_ref() != "Relationships" {
                        return Err(refusal("relations"));
                    }
                    continue;
                }
                if e.local_name().as_ref() == "Relationship" {
                    out.push(Rel {
                        id: attr(&e, "Id").unwrap_or_default(),
                        kind: attr(&e, "Type").unwrap_or_default(),
                        target: attr(&e, "Target").unwrap_or_default(),
                        external: attr(&e, "TargetMode").is_some_and(|m| m == "External"),
                    });
                }
            }
            Ok(Event::Eof) => break,
            Err(_) => return Err(refusal("relations")),
            _ => {}
        }
    }
    Ok(out)
}

/// `rels` with `new` relationships added (a new relationships part when `rels` is `None`).
pub(super) fn add_rels(rels: Option<&str>, new: &[(String, &str, String)]) -> Result<String, Refusal> {
    let mut items = String::new();
    for (id, kind, target) in new {
        let _ = write!(
            items,
            r#"<Relationship Id="{}" Type="{kind}" Target="{}"/>"#,
            esc(id),
            esc(target)
        );
    }
    match rels {
        Some(xml) => insert_before_last(xml, "</Relationships>", &items).ok_or_else(|| refusal("relations")),
        None => Ok(format!(
            "{XML_DECL}<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">{items}</Relationships>"
        )),
    }
}

pub(super) fn insert_before_last(xml: &str, end_tag: &str, what: &str) -> Option<String> {
    let at = xml.rfind(end_tag)?;
    let mut out = String::with_capacity(xml.len() + what.len());
    out.push_str(&xml[..at]);
    out.push_str(what);
    out.push_str(&xml[at..]);
    Some(out)
}

/// A relationship id not in `taken`.
pub(super) fn fresh_id(taken: &mut HashSet<String>, stem: &str) -> String {
    let mut n = 1;
    loop {
        let id = format!("{stem}{n}");
        if taken.insert(id.clone()) {
            return id;
        }
        n += 1;
    }
}

/// A part name not in the package nor already chosen.
pub(super) fn fresh_part(pkg: &Package, chosen: &mut HashSet<String>, dir: &str, stem: &str, ext: &str) -> String {
    let mut n = 1;
    loop {
        let name = if dir.is_empty() {
            format!("{stem}{n}.{ext}")
        } else {
            format!("{dir}/{stem}{n}.{ext}")
        };
        if !pkg.has(&name) && chosen.insert(name.to_ascii_lowercase()) {
            return name;
        }
        n += 1;
    }
}

/// Writes the package: every part in its order, copied raw unless changed,
/// then the new parts.
pub(super) fn write_package(
    pkg: &mut Package,
    changed: &HashMap<String, Vec<u8>>,
    added: &[(String, Vec<u8>)],
) -> Result<Vec<u8>, Refusal> {
    let changed: HashMap<String, &Vec<u8>> = changed.iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
    let mut w = ZipWriter::new(Cursor::new(Vec::with_capacity(pkg.zip.len() * 2048)));
    for i in 0..pkg.zip.len() {
        let name = match pkg.zip.name_for_index(i) {
            Some(Ok(n)) => n.to_string(),
            _ => return Err(refusal("nom de partie")),
        };
        match changed.get(&name.to_ascii_lowercase()) {
            Some(bytes) => write_part(&mut w, name, bytes)?,
            None => {
                let file = pkg.zip.by_index_raw(i).map_err(|_| refusal("partie illisible"))?;
                w.raw_copy_file(file).map_err(|_| refusal("écriture de l'archive"))?;
            }
        }
    }
    for (name, bytes) in added {
        write_part(&mut w, name.clone(), bytes)?;
    }
    Ok(w.finish().map_err(|_| refusal("écriture de l'archive"))?.into_inner())
}

/// Parts smaller than this are stored, not deflated: setting up a deflate
/// stream (zeroing its tables) costs more than compressing a few kilobytes
/// saves. Relationships, content types, the workbook part, notes and most
/// sheets of a return are that small.
const STORED_BELOW: usize = 4096;

/// A changed or added part: deflated at the fastest level, or stored when small.
fn write_part(w: &mut ZipWriter<Cursor<Vec<u8>>>, name: String, bytes: &[u8]) -> Result<(), Refusal> {
    let options = if bytes.len() < STORED_BELOW {
        SimpleFileOptions::default().compression_method(CompressionMethod::Stored)
    } else {
        SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(1))
    };
    w.start_file(name, options)
        .map_err(|_| refusal("écriture de l'archive"))?;
    w.write_all(bytes).map_err(|_| refusal("écriture de l'archive"))
}

/// A package turned into a macro-enabled one (for an output named `.xlsm`,
/// which Excel opens only so): only the workbook's content type changes.
pub(in crate::report::xlsx) fn as_macro_enabled(package: Vec<u8>) -> Result<Vec<u8>, Refusal> {
    let mut pkg = Package::open(&package)?;
    let types = pkg
        .read_text("[Content_Types].xml")?
        .ok_or_else(|| refusal("types de contenu"))?;
    if types.contains("application/vnd.ms-excel.sheet.macroEnabled.main+xml") {
        drop(pkg);
        return Ok(package);
    }
    let t = types.replace(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    );
    let mut changed = HashMap::new();
    changed.insert("[Content_Types].xml".to_string(), t.into_bytes());
    write_package(&mut pkg, &changed, &[])
}
