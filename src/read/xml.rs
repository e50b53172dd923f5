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
