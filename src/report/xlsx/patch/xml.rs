//! XML helpers: parts are spliced, never re-serialised, so that what bilan
//! does not change keeps its bytes.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::ops::Range;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::{refusal, Refusal, NS_MAIN, NS_REL};

/// An event as the patching loops see it: an opening tag (with whether it
/// is empty and its local name), a closing tag (its local name), or other.
pub(super) enum Tag<'e> {
    Open(&'e BytesStart<'e>, bool, &'e str),
    Close(&'e str),
    Other,
}

impl<'e> Tag<'e> {
    pub(super) fn of(ev: &'e Event<'_>) -> Tag<'e> {
        match ev {
            Event::Start(e) => Tag::Open(e, false, local_name(e.name().into_inner())),
            Event::Empty(e) => Tag::Open(e, true, local_name(e.name().into_inner())),
            Event::End(e) => Tag::Close(local_name(e.name().into_inner())),
            _ => Tag::Other,
        }
    }
}

/// A qualified name without its prefix.
fn local_name(name: &str) -> &str {
    name.split_once(':').map_or(name, |(_, local)| local)
}

/// The events of a part with the byte range of each: what the patching loops
/// walk, so that they can copy the bytes they do not change.
pub(super) struct Spans<'a> {
    reader: Reader<&'a [u8]>,
    /// What the part is, for the refusal when it is not XML.
    what: &'static str,
}

impl<'a> Spans<'a> {
    pub(super) fn new(xml: &'a str, what: &'static str) -> Self {
        Self {
            reader: reader(xml),
            what,
        }
    }

    /// The next event and where it starts and ends; `None` at the end.
    pub(super) fn next(&mut self) -> Result<Option<(usize, Event<'a>, usize)>, Refusal> {
        let before = self.reader.buffer_position() as usize;
        let ev = self.reader.read_event().map_err(|_| refusal(self.what))?;
        let after = self.reader.buffer_position() as usize;
        Ok(match ev {
            Event::Eof => None,
            ev => Some((before, ev, after)),
        })
    }
}

pub(super) fn reader(xml: &str) -> Reader<&[u8]> {
    let mut r = Reader::from_str(xml);
    r.config_mut().check_end_names = false;
    r
}

pub(super) fn attr(e: &BytesStart<'_>, key: &str) -> Option<String> {
    let a = e.try_get_attribute(key).ok()??;
    a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
        .ok()
        .map(|v| v.into_owned())
}

pub(super) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A start tag rebuilt with some attributes set (raw, already escaped values)
/// and others removed; the other attributes keep their raw values.
pub(super) fn retag(e: &BytesStart<'_>, set: &[(&str, &str)], remove: &[&str], empty: bool) -> String {
    let mut out = String::with_capacity(64);
    out.push('<');
    out.push_str(e.name().as_ref());
    let mut done = vec![false; set.len()];
    for a in e.attributes().with_checks(false).filter_map(Result::ok) {
        let key = a.key.as_ref();
        if remove.contains(&key) {
            continue;
        }
        let value = match set.iter().position(|(k, _)| *k == key) {
            Some(i) => {
                done[i] = true;
                std::borrow::Cow::Borrowed(set[i].1)
            }
            None => a.value,
        };
        let _ = write!(out, " {key}=\"{}\"", value.replace('"', "&quot;"));
    }
    for (i, (k, v)) in set.iter().enumerate() {
        if !done[i] {
            let _ = write!(out, " {k}=\"{v}\"");
        }
    }
    out.push_str(if empty { "/>" } else { ">" });
    out
}

/// The root element's qualified name and its namespace declarations.
pub(super) fn root(xml: &str) -> Result<(String, HashMap<String, String>), Refusal> {
    let mut r = reader(xml);
    loop {
        match r.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                let mut ns = HashMap::new();
                for a in e.attributes().with_checks(false).filter_map(Result::ok) {
                    let k = a.key.as_ref();
                    if k == "xmlns" {
                        ns.insert(String::new(), a.value.into_owned());
                    } else if let Some(p) = k.strip_prefix("xmlns:") {
                        ns.insert(p.to_string(), a.value.into_owned());
                    }
                }
                return Ok((e.name().as_ref().to_string(), ns));
            }
            Ok(Event::Eof) | Err(_) => return Err(refusal("racine XML")),
            _ => {}
        }
    }
}

/// A SpreadsheetML part whose root is `name`, unprefixed, in the transitional
/// namespace; returns the prefix bound to the relationships namespace.
pub(super) fn check_root(xml: &str, name: &str) -> Result<Option<String>, Refusal> {
    let (root_name, ns) = root(xml)?;
    if root_name != name || ns.get("").map(String::as_str) != Some(NS_MAIN) {
        return Err(refusal(name));
    }
    Ok(ns
        .iter()
        .find(|(p, v)| !p.is_empty() && v.as_str() == NS_REL)
        .map(|(p, _)| p.clone()))
}

/// The byte ranges of the children of the first element `parent` (at any depth).
pub(super) fn children(xml: &str, parent: &str) -> Result<Vec<Range<usize>>, Refusal> {
    let mut r = reader(xml);
    let mut inside = false;
    let mut depth = 0usize;
    let mut start = 0usize;
    let mut out = Vec::new();
    loop {
        let before = r.buffer_position() as usize;
        match r.read_event() {
            Ok(Event::Start(e)) => {
                if inside {
                    if depth == 0 {
                        start = before;
                    }
                    depth += 1;
                } else if e.local_name().as_ref() == parent {
                    inside = true;
                }
            }
            Ok(Event::Empty(e)) => {
                if inside && depth == 0 {
                    out.push(before..r.buffer_position() as usize);
                } else if !inside && e.local_name().as_ref() == parent {
                    return Ok(out);
                }
            }
            Ok(Event::End(_)) if inside => {
                if depth == 0 {
                    return Ok(out);
                }
                depth -= 1;
                if depth == 0 {
                    out.push(start..r.buffer_position() as usize);
                }
            }
            Ok(Event::Eof) => return Ok(out),
            Err(_) => return Err(refusal(parent)),
            _ => {}
        }
    }
}

pub(super) fn num_attr(item: &str, key: &str) -> Option<u32> {
    let e = start_of(item).ok()?;
    attr(&e, key)?.trim().parse().ok()
}

/// The start tag of an element given as text.
pub(super) fn start_of(item: &str) -> Result<BytesStart<'_>, Refusal> {
    let mut r = reader(item);
    loop {
        match r.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => return Ok(e),
            Ok(Event::Eof) | Err(_) => return Err(refusal("styles")),
            _ => {}
        }
    }
}

/// An element given as text with attributes of its start tag set; the rest kept.
pub(super) fn tag_with(item: &str, e: &BytesStart<'_>, set: &[(&str, &str)]) -> String {
    let empty = item.trim_end().ends_with("/>") && !item.contains("</");
    let tag_end = item.find('>').map_or(item.len(), |i| i + 1);
    let mut out = retag(e, set, &[], empty);
    if !empty {
        out.push_str(&item[tag_end..]);
    }
    out
}

/// `xml` with the byte ranges of `edits` replaced (ranges in order, not overlapping).
pub(super) fn splice(xml: &str, mut edits: Vec<(Range<usize>, String)>) -> String {
    edits.sort_by_key(|(r, _)| (r.start, r.end));
    let mut out = String::with_capacity(xml.len() + edits.iter().map(|(_, s)| s.len()).sum::<usize>());
    let mut at = 0;
    for (r, s) in edits {
        if r.start < at {
            continue;
        }
        out.push_str(&xml[at..r.start]);
        out.push_str(&s);
        at = r.end;
    }
    out.push_str(&xml[at..]);
    out
}
