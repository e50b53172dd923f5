//! Sheets of labels and values: each label found (anywhere on its sheet), its
//! value on its right; labels missing, unread or unknown reported (BILAN-TPL-004,
//! BILAN-TPL-005).

use super::*;

pub(super) fn extract_sheet(ex: &mut Extraction, sheet: &Sheet, spec: &SheetSpec, obj: &mut Map<String, Value>) {
    let prefix = spec.pointer();
    // Tables first: their rows are not label/value pairs.
    let mut table_rows: BTreeSet<u32> = BTreeSet::new();
    let mut first_table_row = u32::MAX;
    let stops = stop_rows(sheet, spec);
    for block in &spec.blocks {
        if let Block::Table(tb) = block {
            if let Some(rows) = extract_table(ex, sheet, tb, &prefix, obj, &table_rows, &stops) {
                first_table_row = first_table_row.min(*rows.start());
                table_rows.extend(rows);
            }
        }
    }
    let mut used_rows = table_rows.clone();
    let mut found_any = false;
    for block in &spec.blocks {
        match block {
            Block::Title(f) => {
                let pointer = format!("{prefix}/{}", f.key);
                let title = sheet.cells().iter().find(|c| {
                    c.pos.row < first_table_row && matches!(&c.value, CellValue::Text(t) if !t.trim().is_empty())
                });
                match title {
                    Some(c) => {
                        used_rows.insert(c.pos.row);
                        ex.origins.insert(pointer.clone(), Origin::cell(&sheet.name, c.pos));
                        obj.insert(f.key.clone(), Value::String(c.value.display().trim().to_string()));
                    }
                    None => {
                        ex.origins
                            .insert(pointer.clone(), Origin::cell(&sheet.name, CellRef::new(0, 0)));
                    }
                }
            }
            Block::Field(f) => {
                let pointer = format!("{prefix}/{}", f.key);
                let found = find_label_outside(sheet, f, &table_rows);
                match found {
                    None => {
                        ex.missing.insert(pointer.clone());
                        if f.required {
                            ex.finding(
                                EngineRule::Tpl004,
                                format!("Libellé obligatoire « {} » introuvable dans la feuille « {} » : ajoutez une ligne avec ce libellé et sa valeur à droite.", f.label, sheet.name),
                                &sheet.name,
                                None,
                                Some(&pointer),
                            );
                        }
                    }
                    Some((label_cell, value_cell)) => {
                        found_any = true;
                        used_rows.insert(label_cell.row);
                        match value_cell {
                            Some(cell) => {
                                if let Some(v) = convert(ex, sheet, cell, f, f.unit, &pointer) {
                                    obj.insert(f.key.clone(), v);
                                }
                            }
                            None => {
                                // Empty: the schema's `required` says whether it matters.
                                let right = merged_end(sheet, label_cell);
                                ex.origins.insert(
                                    pointer.clone(),
                                    Origin::cell(&sheet.name, CellRef::new(label_cell.row, right.col + 1)),
                                );
                            }
                        }
                    }
                }
            }
            Block::Table(_) => {}
        }
    }
    report_unread_labels(ex, sheet, spec, found_any);
    report_unknown_labels(ex, sheet, spec, &used_rows);
}

/// A label/value sheet none of whose labels was found was not read. When a
/// required label is missing, BILAN-TPL-004 already says so for each; a sheet
/// whose labels are all optional says it here (BILAN-TPL-004), so that the
/// return is never « Conforme » with the sheet unread.
pub(super) fn report_unread_labels(ex: &mut Extraction, sheet: &Sheet, spec: &SheetSpec, found_any: bool) {
    let fields: Vec<&FieldSpec> = spec.fields().collect();
    if found_any || fields.is_empty() || fields.iter().any(|f| f.required) {
        return;
    }
    let wanted = fields
        .iter()
        .map(|f| format!("« {} »", f.label))
        .collect::<Vec<_>>()
        .join(", ");
    ex.finding(
        EngineRule::Tpl004,
        format!(
            "Feuille « {} » non lue : aucun de ses libellés n'a été trouvé ({wanted}). Écrivez chaque libellé dans une cellule et sa valeur à sa droite.",
            sheet.name
        ),
        &sheet.name,
        None,
        Some(&spec.pointer()),
    );
}

/// The bottom-right cell of the merge starting at `cell`, or `cell`.
pub(super) fn merged_end(sheet: &Sheet, cell: CellRef) -> CellRef {
    sheet.merge_at(cell).map(|m| m.end).unwrap_or(cell)
}

pub(super) fn find_label_outside<'s>(
    sheet: &'s Sheet,
    f: &FieldSpec,
    skip_rows: &BTreeSet<u32>,
) -> Option<(CellRef, Option<&'s Cell>)> {
    for row in sheet.row_numbers() {
        if skip_rows.contains(&row) {
            continue;
        }
        let cells = sheet.row(row);
        for (i, (c, norm)) in sheet.row_normalized(row).enumerate() {
            if norm.is_some_and(|n| f.matches_normalized(n)) {
                return Some((c.pos, cells[i + 1..].iter().find(|v| !v.value.is_blank())));
            }
        }
    }
    None
}

pub(super) fn report_unknown_labels(ex: &mut Extraction, sheet: &Sheet, spec: &SheetSpec, used_rows: &BTreeSet<u32>) {
    let has_fields = spec.blocks.iter().any(|b| matches!(b, Block::Field(_)));
    if !has_fields {
        return;
    }
    for row in sheet.row_numbers() {
        if used_rows.contains(&row) {
            continue;
        }
        let cells = sheet.row(row);
        let Some((i, label)) = cells
            .iter()
            .enumerate()
            .find(|(_, c)| matches!(&c.value, CellValue::Text(t) if !t.trim().is_empty()))
        else {
            continue;
        };
        if cells[i + 1..].iter().any(|c| !c.value.is_blank()) {
            ex.finding(
                EngineRule::Tpl005,
                format!(
                    "Libellé « {} » ignoré : il ne fait pas partie du modèle (feuille « {} »).",
                    label.value.display().trim(),
                    sheet.name
                ),
                &sheet.name,
                Some(label.pos),
                None,
            );
        }
    }
}
