//! Small helpers over quick-xml for the parts read here (styles, layouts,
//! number formats): untrusted XML, read leniently, entities decoded.

use std::io::BufRead;

use quick_xml::events::BytesStart;
use quick_xml::Reader;

/// A reader that tolerates mismatched end tags (a damaged part keeps what it
/// could give) and keeps no stack of open elements (deeply nested XML costs nothing).
pub(crate) fn reader<R: BufRead>(input: R) -> Reader<R> {
    let mut r = Reader::from_reader(input);
    r.config_mut().check_end_names = false;
    r
}

/// An attribute's value by its qualified name (`style:name`), entities decoded.
pub(crate) fn attr(e: &BytesStart<'_>, key: &str) -> Option<String> {
    let a = e.try_get_attribute(key).ok()??;
    decode(&a)
}

/// An attribute's value by its local name (`id` for `r:id`), entities decoded.
pub(crate) fn attr_local(e: &BytesStart<'_>, local: &str) -> Option<String> {
    e.attributes()
        .with_checks(false)
        .filter_map(Result::ok)
        .find(|a| a.key.local_name().as_ref() == local)
        .and_then(|a| decode(&a))
}

fn decode(a: &quick_xml::events::attributes::Attribute<'_>) -> Option<String> {
    a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
        .ok()
        .map(|v| v.into_owned())
}

/// The parts of an OPC package (`.xlsx`, `.xlsb`), found by name without regard
/// to case (part names are case-insensitive in OPC), each read whole up to `limit`
/// bytes. A part that is missing or cannot be read is `None`.
pub(crate) struct Parts<'z, R: std::io::Read + std::io::Seek> {
    zip: &'z mut zip::ZipArchive<R>,
    names: std::collections::HashMap<String, String>,
    limit: u64,
}

impl<'z, R: std::io::Read + std::io::Seek> Parts<'z, R> {
    pub(crate) fn new(zip: &'z mut zip::ZipArchive<R>, limit: u64) -> Self {
        let names = zip
            .file_names()
            .filter_map(|n| n.ok())
            .map(|n| (n.to_ascii_lowercase(), n.to_string()))
            .collect();
        Self { zip, names, limit }
    }

    /// The part's name as the package spells it.
    pub(crate) fn real_name(&self, path: &str) -> Option<&str> {
        self.names
            .get(&path.trim_start_matches('/').to_ascii_lowercase())
            .map(String::as_str)
    }

    pub(crate) fn read(&mut self, path: &str) -> Option<Vec<u8>> {
        use std::io::Read;
        let real = self.names.get(&path.trim_start_matches('/').to_ascii_lowercase())?;
        let file = self.zip.by_name(real).ok()?;
        let mut out = Vec::new();
        file.take(self.limit).read_to_end(&mut out).ok()?;
        Some(out)
    }
}
