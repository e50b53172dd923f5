//! Zip containers written by hand (so that their declared sizes can lie),
//! minimal `.xlsx` packages, re-packing an existing workbook with edits, and a
//! minimal OLE compound file (an encrypted Office document's container).

use std::io::{Cursor, Read, Write};

use super::deflate::{crc32, Fixed};

/// One member of a hand-written zip.
pub struct Member {
    pub name: String,
    /// 0 stored, 8 deflated.
    pub method: u16,
    /// As stored in the archive (compressed for method 8).
    pub data: Vec<u8>,
    pub crc: u32,
    /// The uncompressed size the archive declares (true or not).
    pub declared: u64,
}

impl Member {
    pub fn stored(name: &str, data: impl Into<Vec<u8>>) -> Self {
        let data = data.into();
        Self {
            name: name.into(),
            method: 0,
            crc: crc32(&data),
            declared: data.len() as u64,
            data,
        }
    }

    /// A member whose content is given by a hand-made DEFLATE stream.
    pub fn deflated(name: &str, stream: Vec<u8>, crc: u32, len: u64) -> Self {
        Self {
            name: name.into(),
            method: 8,
            data: stream,
            crc,
            declared: len,
        }
    }

    /// A regular part, deflated with [`Fixed`] (literals only).
    pub fn xml(name: &str, text: impl AsRef<[u8]>) -> Self {
        let mut f = Fixed::new();
        f.literals(text.as_ref());
        let (stream, crc, len) = f.finish();
        Self::deflated(name, stream, crc, len)
    }
}

/// A zip archive (no zip64: every size below 4 GiB).
pub fn zip(members: &[Member]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    let u16le = |v: &mut Vec<u8>, x: u16| v.extend_from_slice(&x.to_le_bytes());
    let u32le = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&x.to_le_bytes());
    for m in members {
        let offset = out.len() as u32;
        let declared = u32::try_from(m.declared).expect("declared size below 4 GiB");
        let packed = u32::try_from(m.data.len()).expect("member below 4 GiB");
        // Local header.
        u32le(&mut out, 0x0403_4b50);
        u16le(&mut out, 20);
        u16le(&mut out, 0x0800); // UTF-8 names
        u16le(&mut out, m.method);
        u16le(&mut out, 0); // 00:00
        u16le(&mut out, 0x21); // 1980-01-01
        u32le(&mut out, m.crc);
        u32le(&mut out, packed);
        u32le(&mut out, declared);
        u16le(&mut out, m.name.len() as u16);
        u16le(&mut out, 0);
        out.extend_from_slice(m.name.as_bytes());
        out.extend_from_slice(&m.data);
        // Central directory entry.
        u32le(&mut central, 0x0201_4b50);
        u16le(&mut central, 20);
        u16le(&mut central, 20);
        u16le(&mut central, 0x0800);
        u16le(&mut central, m.method);
        u16le(&mut central, 0);
        u16le(&mut central, 0x21);
        u32le(&mut central, m.crc);
        u32le(&mut central, packed);
        u32le(&mut central, declared);
        u16le(&mut central, m.name.len() as u16);
        u16le(&mut central, 0);
        u16le(&mut central, 0);
        u16le(&mut central, 0);
        u16le(&mut central, 0);
        u32le(&mut central, 0);
        u32le(&mut central, offset);
        central.extend_from_slice(m.name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    let cd_size = central.len() as u32;
    out.extend_from_slice(&central);
    u32le(&mut out, 0x0605_4b50);
    u16le(&mut out, 0);
    u16le(&mut out, 0);
    u16le(&mut out, members.len() as u16);
    u16le(&mut out, members.len() as u16);
    u32le(&mut out, cd_size);
    u32le(&mut out, cd_offset);
    u16le(&mut out, 0);
    out
}

pub const MAIN_NS: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const REL_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const REL_TYPE: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

/// The parts around the sheets of a minimal `.xlsx`: content types, package
/// and workbook relationships, the workbook. Sheet `i` is `xl/worksheets/sheet{i+1}.xml`.
pub fn skeleton(sheet_names: &[&str], shared_strings: bool) -> Vec<Member> {
    let mut types = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>"#,
    );
    let mut rels = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#
        .to_string();
    let mut sheets = String::new();
    for (i, name) in sheet_names.iter().enumerate() {
        let n = i + 1;
        types.push_str(&format!(
            r#"<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#
        ));
        rels.push_str(&format!(
            r#"<Relationship Id="rId{n}" Type="{REL_TYPE}/worksheet" Target="worksheets/sheet{n}.xml"/>"#
        ));
        sheets.push_str(&format!(r#"<sheet name="{name}" sheetId="{n}" r:id="rId{n}"/>"#));
    }
    if shared_strings {
        types.push_str(r#"<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>"#);
        rels.push_str(&format!(
            r#"<Relationship Id="rIdS" Type="{REL_TYPE}/sharedStrings" Target="sharedStrings.xml"/>"#
        ));
    }
    types.push_str("</Types>");
    rels.push_str("</Relationships>");
    let workbook = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><sheets>{sheets}</sheets></workbook>"#
    );
    let root_rels = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{REL_TYPE}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
    );
    vec![
        Member::xml("[Content_Types].xml", &types),
        Member::xml("_rels/.rels", &root_rels),
        Member::xml("xl/workbook.xml", &workbook),
        Member::xml("xl/_rels/workbook.xml.rels", &rels),
    ]
}

/// Start of a worksheet part, up to and including `<sheetData>`.
pub fn sheet_head(dimension: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><dimension ref="{dimension}"/><sheetData>"#
    )
}

pub const SHEET_TAIL: &str = "</sheetData></worksheet>";

/// The members of a zip, in order.
pub fn unpack(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip");
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).expect("member");
            let mut data = Vec::new();
            f.read_to_end(&mut data).expect("inflates");
            (f.name().expect("a name").to_string(), data)
        })
        .collect()
}

/// A zip of `members` written by the zip crate (deflate, fixed dates).
pub fn repack(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    for (name, data) in members {
        w.start_file(name.as_str(), options).expect("member");
        w.write_all(data).expect("written");
    }
    w.finish().expect("zip").into_inner()
}

/// Replaces the first `from` by `to` in the text of member `name`.
pub fn edit(members: &mut [(String, Vec<u8>)], name: &str, from: &str, to: &str) {
    let m = members
        .iter_mut()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no member {name}"));
    let text = String::from_utf8(m.1.clone()).expect("UTF-8 part");
    assert!(text.contains(from), "{name} does not contain {from:?}");
    m.1 = text.replacen(from, to, 1).into_bytes();
}

/// A minimal OLE compound file (version 3, 512-byte sectors) holding the two
/// streams of an encrypted OOXML document: `EncryptionInfo` (small, in the mini
/// stream) and `EncryptedPackage` (in regular sectors).
pub fn compound_file(info: &[u8], package: &[u8]) -> Vec<u8> {
    const FREE: u32 = 0xFFFF_FFFF;
    const END: u32 = 0xFFFF_FFFE;
    const FATSECT: u32 = 0xFFFF_FFFD;
    assert!(info.len() < 4096 && package.len() >= 4096);
    let mini_sectors = info.len().div_ceil(64);
    let mini_stream_len = mini_sectors * 64;
    let mini_stream_sectors = mini_stream_len.div_ceil(512);
    let package_sectors = package.len().div_ceil(512);
    // Sector 0: FAT; 1: directory; 2: mini FAT; then the mini stream, then the package.
    let first_mini_stream = 3u32;
    let first_package = first_mini_stream + mini_stream_sectors as u32;
    let total = first_package as usize + package_sectors;
    assert!(total <= 128, "one FAT sector");
    let mut fat = vec![FREE; 128];
    fat[0] = FATSECT;
    fat[1] = END;
    fat[2] = END;
    let mut chain = |first: u32, n: usize| {
        for i in 0..n {
            let s = first as usize + i;
            fat[s] = if i + 1 == n { END } else { s as u32 + 1 };
        }
    };
    chain(first_mini_stream, mini_stream_sectors);
    chain(first_package, package_sectors);
    let mut minifat = vec![FREE; 128];
    for (i, next) in minifat.iter_mut().enumerate().take(mini_sectors) {
        *next = if i + 1 == mini_sectors { END } else { i as u32 + 1 };
    }
    let mut header = Vec::with_capacity(512);
    header.extend_from_slice(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]);
    header.extend_from_slice(&[0; 16]); // CLSID
    header.extend_from_slice(&0x003Eu16.to_le_bytes()); // minor version
    header.extend_from_slice(&3u16.to_le_bytes()); // major version
    header.extend_from_slice(&0xFFFEu16.to_le_bytes()); // little-endian
    header.extend_from_slice(&9u16.to_le_bytes()); // 512-byte sectors
    header.extend_from_slice(&6u16.to_le_bytes()); // 64-byte mini sectors
    header.extend_from_slice(&[0; 6]);
    header.extend_from_slice(&0u32.to_le_bytes()); // directory sectors (0 in v3)
    header.extend_from_slice(&1u32.to_le_bytes()); // FAT sectors
    header.extend_from_slice(&1u32.to_le_bytes()); // first directory sector
    header.extend_from_slice(&0u32.to_le_bytes()); // transaction signature
    header.extend_from_slice(&4096u32.to_le_bytes()); // mini stream cutoff
    header.extend_from_slice(&2u32.to_le_bytes()); // first mini FAT sector
    header.extend_from_slice(&1u32.to_le_bytes()); // mini FAT sectors
    header.extend_from_slice(&END.to_le_bytes()); // first DIFAT sector
    header.extend_from_slice(&0u32.to_le_bytes()); // DIFAT sectors
    header.extend_from_slice(&0u32.to_le_bytes()); // DIFAT[0]: the FAT is sector 0
    for _ in 1..109 {
        header.extend_from_slice(&FREE.to_le_bytes());
    }
    assert_eq!(header.len(), 512);
    let entry = |name: &str, kind: u8, left: u32, right: u32, child: u32, start: u32, size: u64| {
        let mut e = vec![0u8; 128];
        let utf16: Vec<u8> = name.encode_utf16().chain([0]).flat_map(|u| u.to_le_bytes()).collect();
        e[..utf16.len()].copy_from_slice(&utf16);
        e[64..66].copy_from_slice(&(utf16.len() as u16).to_le_bytes());
        e[66] = kind;
        e[67] = 1; // black
        e[68..72].copy_from_slice(&left.to_le_bytes());
        e[72..76].copy_from_slice(&right.to_le_bytes());
        e[76..80].copy_from_slice(&child.to_le_bytes());
        e[116..120].copy_from_slice(&start.to_le_bytes());
        e[120..128].copy_from_slice(&size.to_le_bytes());
        e
    };
    let mut dir = Vec::with_capacity(512);
    // Siblings are ordered by name length first: EncryptionInfo < EncryptedPackage.
    dir.extend(entry(
        "Root Entry",
        5,
        FREE,
        FREE,
        2,
        first_mini_stream,
        mini_stream_len as u64,
    ));
    dir.extend(entry("EncryptionInfo", 2, FREE, FREE, FREE, 0, info.len() as u64));
    dir.extend(entry(
        "EncryptedPackage",
        2,
        1,
        FREE,
        FREE,
        first_package,
        package.len() as u64,
    ));
    let mut unused = entry("", 0, FREE, FREE, FREE, 0, 0);
    unused[64..66].copy_from_slice(&0u16.to_le_bytes());
    dir.extend(unused);
    let words = |v: &[u32]| v.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<u8>>();
    let pad = |mut v: Vec<u8>, to: usize| {
        v.resize(v.len().div_ceil(to) * to, 0);
        v
    };
    let mut out = header;
    out.extend(words(&fat));
    out.extend(dir);
    out.extend(words(&minifat));
    out.extend(pad(info.to_vec(), 512));
    out.extend(pad(package.to_vec(), 512));
    out
}
