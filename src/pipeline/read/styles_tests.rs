//! Tests of `styles` (kept apart: the module is long enough without them).

use super::*;

#[test]
fn layout_from_sheet_xml() {
    let xml = br#"<?xml version="1.0"?><worksheet xmlns="x"><!-- a > comment --><sheetFormatPr defaultRowHeight="15"/>
<cols><col min="1" max="1" width="30.7109375" customWidth="1"/><col min="3" max="5" hidden="1" width="0"/></cols>
<sheetData><row r="2" ht="33.75" customHeight="1"><c r="A2" s="1"><v>1</v></c></row><row hidden="1"/><row r="9"><c r="B9"/></row></sheetData>
<mergeCells><row r="40" ht="5"/></mergeCells></worksheet>"#;
    let s = sheet_layout(&xml[..]);
    assert_eq!(s.default_row_height, Some(15.0));
    assert_eq!(
        s.columns,
        vec![
            ColumnLook {
                first: 0,
                last: 0,
                width: Some(30.7109375),
                hidden: false
            },
            ColumnLook {
                first: 2,
                last: 4,
                width: Some(0.0),
                hidden: true
            },
        ]
    );
    assert_eq!(
        s.rows,
        vec![
            RowLook {
                row: 1,
                height: Some(33.75),
                hidden: false
            },
            RowLook {
                row: 2,
                height: None,
                hidden: true
            },
        ]
    );
}

#[test]
fn entities_prefixes_and_paths() {
    let workbook = br#"<workbook xmlns:r="rel"><sheets><sheet name="R&amp;D &#233;t&#xE9;" sheetId="1" r:id="rId1"/><sheet name="A" r:id="rId2"/></sheets></workbook>"#;
    let mut sheets = Vec::new();
    each_element(&workbook[..], |name, e| {
        if name == "sheet" {
            sheets.push((xml::attr(e, "name"), xml::attr_local(e, "id")));
        }
        true
    });
    assert_eq!(
        sheets,
        vec![
            (Some("R&D été".to_string()), Some("rId1".to_string())),
            (Some("A".to_string()), Some("rId2".to_string()))
        ]
    );
    let rels = br#"<Relationships><Relationship Id="rId1" Type="t/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#;
    assert_eq!(
        relationships(rels),
        vec![("rId1".into(), "t/worksheet".into(), "worksheets/sheet1.xml".into())]
    );
    assert_eq!(resolve("xl", "worksheets/sheet1.xml"), "xl/worksheets/sheet1.xml");
    assert_eq!(
        resolve("xl", "/xl/worksheets/../worksheets/sheet2.xml"),
        "xl/worksheets/sheet2.xml"
    );
}

#[test]
fn broken_xml_keeps_what_was_read() {
    let xml = br#"<worksheet><cols><col min="2" max="2" width="12"/></cols><sheetData><row r="3" ht="20"/><row r="4" ht="30"></x></y><<<&bogus;"#;
    let s = sheet_layout(&xml[..]);
    assert_eq!(s.columns.len(), 1);
    assert_eq!(s.rows.first().map(|r| r.row), Some(2));
    for cut in 0..xml.len() {
        let _ = sheet_layout(&xml[..cut]);
    }
    let _ = sheet_layout(&b"\xff\xfe<\x00r\x00"[..]);
}
