//! One sheet of a blank or filled return: labels and input cells, tables with
//! their header and TOTAL row, drop-down lists and validations, notes.

use super::*;

impl SheetWriter<'_> {
    fn fits(&mut self, col: u16, chars: usize) {
        let w = self.widths.entry(col).or_insert(0);
        *w = (*w).max(chars);
    }

    pub(super) fn write(&mut self) -> Result<(), XlsxError> {
        let spec = self.spec;
        let mut row: u32 = 0;
        let title = spec
            .blocks
            .iter()
            .find_map(|b| if let Block::Title(f) = b { Some(f) } else { None });
        if let Some(f) = title {
            let text = match self.data {
                None => Some(title_prefill(f)),
                Some(d) => d.get(&f.key).map(display_json),
            };
            let fmt = input_format(f).set_bold().set_font_size(14);
            match text {
                Some(s) => self.ws.write_string_with_format(0, 0, s, &fmt)?,
                None => self.ws.write_blank(0, 0, &fmt)?,
            };
            self.ws.set_row_height(0, 22)?;
            let pointer = format!("{}/{}", spec.pointer(), f.key);
            self.validate(f, &pointer, CellRef::new(0, 0), 0, false)?;
            row = 1;
        }
        let instruction = self.instruction(row);
        self.ws.write_string_with_format(
            row,
            0,
            instruction,
            &Format::new().set_italic().set_font_color(Color::RGB(0x595959)),
        )?;
        row += 2;
        let mut wrote_fields = false;
        for block in &spec.blocks {
            if let Block::Field(f) = block {
                self.field(f, row)?;
                row += 1;
                wrote_fields = true;
            }
        }
        if wrote_fields {
            row += 1;
        }
        let tables: Vec<&TableSpec> = spec
            .blocks
            .iter()
            .filter_map(|b| if let Block::Table(tb) = b { Some(tb) } else { None })
            .collect();
        for tb in &tables {
            let header_row = row;
            row = self.table(tb, row)? + 2;
            if tables.len() == 1 && !wrote_fields {
                self.ws.set_freeze_panes(header_row + 1, 0)?;
            }
        }
        for (col, chars) in std::mem::take(&mut self.widths) {
            self.ws.set_column_width(col, (chars + 2).clamp(8, 60) as f64)?;
        }
        self.ws.set_landscape();
        self.ws.set_print_fit_to_pages(1, 0);
        self.ws.protect_with_options(&ProtectionOptions {
            insert_rows: true,
            format_columns: true,
            format_rows: true,
            ..ProtectionOptions::new()
        });
        Ok(())
    }

    /// The sheet's instruction line; `row` is where it goes (0-based).
    fn instruction(&self, row: u32) -> String {
        let spec = self.spec;
        let mut parts: Vec<String> = Vec::new();
        let table_description = spec.blocks.iter().find_map(|b| {
            if let Block::Table(tb) = b {
                tb.description.clone()
            } else {
                None
            }
        });
        if let Some(d) = spec.description.clone().or(table_description) {
            parts.push(d.trim().to_string());
        }
        if spec.blocks.iter().any(|b| matches!(b, Block::Title(_))) {
            parts.push("Complétez le titre en A1.".into());
        }
        let fields = spec.blocks.iter().filter(|b| matches!(b, Block::Field(_))).count() as u32;
        if fields > 0 {
            parts.push("Saisissez chaque valeur en colonne B, en face de son libellé (en gras : obligatoire).".into());
        }
        if let Some(tb) = spec
            .blocks
            .iter()
            .find_map(|b| if let Block::Table(tb) = b { Some(tb) } else { None })
        {
            let first = row + 2 + if fields > 0 { fields + 1 } else { 0 } + 2;
            let mut s = format!("Tableau : une ligne par enregistrement à partir de la ligne {first}, sans ligne vide");
            if tb.total.is_some() {
                s.push_str(" ; la ligne TOTAL se calcule seule");
            }
            s.push('.');
            parts.push(s);
        }
        parts.join(" ")
    }

    /// A label/value field on `row`: label in A, value in B.
    fn field(&mut self, f: &FieldSpec, row: u32) -> Result<(), XlsxError> {
        let pointer = format!("{}/{}", self.spec.pointer(), f.key);
        self.layout.cells.insert(
            pointer.clone(),
            Place {
                sheet: self.spec.name.clone(),
                at: CellRef::new(row, 1),
                empty_is_zero: f.empty_is_zero,
            },
        );
        self.ws
            .write_string_with_format(row, 0, &f.label, &label_format(f.required))?;
        self.fits(0, f.label.chars().count());
        let value = self.data.and_then(|d| d.get(&f.key));
        if let Some(fixed) = fixed_value(self.t, self.spec, f) {
            let text = match (self.data, value) {
                (None, _) => Some(fixed),
                (Some(_), v) => v.map(display_json),
            };
            match text {
                Some(s) => {
                    self.fits(1, s.chars().count());
                    self.ws.write_string_with_format(row, 1, s, &fixed_format())?
                }
                None => self.ws.write_blank(row, 1, &fixed_format())?,
            };
            return Ok(());
        }
        let fmt = input_format(f);
        match value {
            Some(v) => write_value(self.ws, row, 1, f, v, &fmt)?,
            None => {
                self.ws.write_blank(row, 1, &fmt)?;
            }
        }
        self.fits(1, value_width(f, false));
        self.validate(f, &pointer, CellRef::new(row, 1), 0, false)
    }

    /// A table whose header is on `row`; returns the last row it uses.
    fn table(&mut self, tb: &TableSpec, row: u32) -> Result<u32, XlsxError> {
        let header = header_format();
        let mut lines = 1;
        for (i, c) in tb.columns.iter().enumerate() {
            let col = i as u16;
            self.ws.write_string_with_format(row, col, &c.label, &header)?;
            let width = value_width(c, true).max(c.label.chars().count().min(24));
            self.fits(col, width);
            lines = lines.max(c.label.chars().count().div_ceil(width.max(1)));
        }
        self.ws.set_row_height(row, 15 * lines.min(4) as u32 + 3)?;
        let items: &[Value] = self
            .data
            .and_then(|d| d.get(&tb.key))
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let first = row + 1;
        let count = TABLE_ROWS.max(items.len() as u32);
        let last = first + count - 1;
        let table = format!("{}/{}", self.spec.pointer(), tb.key);
        self.layout.tables.insert(
            table.clone(),
            TableArea {
                sheet: self.spec.name.clone(),
                first_row: first,
                last_row: last,
                first_col: 0,
                last_col: tb.columns.len().saturating_sub(1) as u32,
            },
        );
        for (i, c) in tb.columns.iter().enumerate() {
            let col = i as u16;
            let fmt = input_format(c);
            for r in first..=last {
                let value = items.get((r - first) as usize).and_then(|item| item.get(&c.key));
                match value {
                    Some(v) => write_value(self.ws, r, col, c, v, &fmt)?,
                    None => {
                        self.ws.write_blank(r, col, &fmt)?;
                    }
                }
            }
            let pattern = format!("{table}/*/{}", c.key);
            self.layout.columns.insert(
                pattern.clone(),
                ColumnPlace {
                    table: table.clone(),
                    col: u32::from(col),
                    empty_is_zero: c.empty_is_zero,
                },
            );
            self.validate(c, &pattern, CellRef::new(first, u32::from(col)), last - first, true)?;
        }
        let Some(total) = &tb.total else { return Ok(last) };
        let total_row = last + 1;
        let document_total = self.data.map(|d| d.get(&total.key));
        if let Some(None) = document_total {
            // Filling a document without a TOTAL row: none is written.
            return Ok(last);
        }
        self.ws
            .write_string_with_format(total_row, 0, "TOTAL", &total_format(None))?;
        let parts = crate::pipeline::template::annotations::has_parts(
            &self.t.schema,
            &format!("{}/{}", self.spec.pointer(), tb.key),
        );
        for (i, c) in tb.columns.iter().enumerate().skip(1) {
            let col = i as u16;
            let fmt = total_format(Some(c));
            if !total.columns.contains(&c.key) {
                self.ws.write_blank(total_row, col, &fmt)?;
                continue;
            }
            let pointer = format!("{}/{}/{}", self.spec.pointer(), total.key, c.key);
            self.layout.cells.insert(
                pointer.clone(),
                Place {
                    sheet: self.spec.name.clone(),
                    at: CellRef::new(total_row, u32::from(col)),
                    empty_is_zero: c.empty_is_zero,
                },
            );
            if let Some(lines) = self.notes.get(&pointer) {
                let dv = DataValidation::new()
                    .allow_any_value()
                    .set_input_title(clip(&format!("TOTAL {}", c.label), 32))?
                    .set_input_message(clip(&lines.join("\n"), 255))?;
                self.ws.add_data_validation(total_row, col, total_row, col, &dv)?;
            }
            match document_total {
                Some(Some(values)) => match values.get(&c.key) {
                    Some(v) => write_value(self.ws, total_row, col, c, v, &fmt)?,
                    None => {
                        self.ws.write_blank(total_row, col, &fmt)?;
                    }
                },
                // Rows that are parts of another: the total is not their plain sum.
                _ if parts => {
                    self.ws.write_blank(total_row, col, &input_format(c))?;
                }
                _ => {
                    let letters = column_letters(u32::from(col));
                    let formula =
                        Formula::new(format!("SUM({letters}{}:{letters}{})", first + 1, last + 1)).set_result("0");
                    self.ws.write_formula_with_format(total_row, col, formula, &fmt)?;
                }
            }
        }
        Ok(total_row)
    }

    /// Adds the data validation of `f` to `rows + 1` cells from `at` down.
    fn validate(
        &mut self,
        f: &FieldSpec,
        pointer: &str,
        at: CellRef,
        rows: u32,
        in_table: bool,
    ) -> Result<(), XlsxError> {
        let lines = self.notes.get(pointer).map(Vec::as_slice).unwrap_or_default();
        let dv = self.validation(f, at, in_table, lines)?;
        self.ws
            .add_data_validation(at.row, at.col as u16, at.row + rows, at.col as u16, &dv)?;
        Ok(())
    }

    fn validation(
        &mut self,
        f: &FieldSpec,
        at: CellRef,
        in_table: bool,
        live_lines: &[String],
    ) -> Result<DataValidation, XlsxError> {
        let expected = expected_fr(f);
        let mut dv = DataValidation::new();
        let mut warn_only = false;
        let mut refuses_nothing = false;
        match &f.kind {
            ValueKind::Enum(values) => {
                let joined = values.join(",");
                dv = if joined.encode_utf16().count() <= 255
                    && !values.iter().any(|v| v.contains(',') || v.contains('"'))
                {
                    dv.allow_list_strings(values)?
                } else {
                    dv.allow_list_formula(Formula::new(self.lists.range_of(values)))
                };
            }
            ValueKind::Boolean => dv = dv.allow_list_strings(&["oui", "non"])?,
            ValueKind::Integer => {
                let b = bounds(&f.schema);
                let lo = b
                    .min
                    .map(|(v, excl)| to_i32(if excl { v.floor() + 1.0 } else { v.ceil() }));
                let hi = b
                    .max
                    .map(|(v, excl)| to_i32(if excl { v.ceil() - 1.0 } else { v.floor() }));
                dv = dv.allow_whole_number(match (lo, hi) {
                    (Some(lo), Some(hi)) => DataValidationRule::Between(lo, hi),
                    (Some(lo), None) => DataValidationRule::GreaterThanOrEqualTo(lo),
                    (None, Some(hi)) => DataValidationRule::LessThanOrEqualTo(hi),
                    (None, None) => DataValidationRule::Between(i32::MIN, i32::MAX),
                });
            }
            ValueKind::Number => {
                let b = bounds(&f.schema);
                dv = dv.allow_decimal_number(match (b.min, b.max) {
                    (Some((lo, _)), Some((hi, _))) => DataValidationRule::Between(lo, hi),
                    (Some((lo, true)), None) => DataValidationRule::GreaterThan(lo),
                    (Some((lo, false)), None) => DataValidationRule::GreaterThanOrEqualTo(lo),
                    (None, Some((hi, true))) => DataValidationRule::LessThan(hi),
                    (None, Some((hi, false))) => DataValidationRule::LessThanOrEqualTo(hi),
                    (None, None) => DataValidationRule::Between(-1e15, 1e15),
                });
            }
            ValueKind::Date => {
                dv = dv.allow_date(DataValidationRule::Between(xl_date(FIRST_DATE)?, xl_date(LAST_DATE)?));
                warn_only = in_table;
            }
            ValueKind::Text => {
                let cell = format!("{}{}", column_letters(at.col), at.row + 1);
                if f.schema.get("format").and_then(Value::as_str) == Some("email") {
                    dv = dv.allow_custom(Formula::new(format!(
                        "AND(ISERROR(FIND(\" \",{cell})),ISNUMBER(SEARCH(\"?*@?*.?*\",{cell})))"
                    )));
                } else if let Some(max) = f.schema.get("maxLength").and_then(Value::as_u64) {
                    dv = dv.allow_text_length(DataValidationRule::LessThanOrEqualTo(
                        u32::try_from(max).unwrap_or(u32::MAX),
                    ));
                } else {
                    // Free text: an input message, nothing to refuse.
                    dv = dv.allow_any_value();
                    refuses_nothing = true;
                }
            }
        }
        let mut input = String::new();
        if let Some(d) = &f.description {
            input.push_str(d.trim());
            input.push('\n');
        }
        let short = match &f.kind {
            ValueKind::Enum(_) | ValueKind::Boolean => "une valeur de la liste déroulante".to_string(),
            _ => expected.clone(),
        };
        input.push_str(&format!(
            "Attendu : {short}{}",
            if f.required {
                " (obligatoire)."
            } else {
                " (facultatif)."
            }
        ));
        let error = match (&f.kind, warn_only) {
            (ValueKind::Date, true) => format!(
                "« {} » : une date entre le {} et le {} est attendue (jj/mm/aaaa). Une date approximative (« juin 2010 », « 1er semestre 2009 ») est acceptée : cliquez sur Oui pour la garder.",
                f.label,
                fr_date(FIRST_DATE),
                fr_date(LAST_DATE)
            ),
            (ValueKind::Date, _) => format!("« {} » : saisissez une date entre le {} et le {} (jj/mm/aaaa).", f.label, fr_date(FIRST_DATE), fr_date(LAST_DATE)),
            _ => format!("« {} » : valeur refusée. Attendu : {expected}.", f.label),
        };
        // The live checks' lines come first: never cut off by a long description.
        let input = if live_lines.is_empty() {
            clip(&input, 255)
        } else {
            let checks = clip(&live_lines.join("\n"), 200);
            let room = 255 - checks.encode_utf16().count() - 1;
            format!("{checks}\n{}", clip(&input, room))
        };
        dv = dv.set_input_title(clip(&f.label, 32))?.set_input_message(input)?;
        if !refuses_nothing {
            dv = dv
                .set_error_title(if warn_only {
                    "Valeur inhabituelle"
                } else {
                    "Valeur refusée"
                })?
                .set_error_message(clip(&error, 255))?
                .set_error_style(if warn_only {
                    DataValidationErrorStyle::Warning
                } else {
                    DataValidationErrorStyle::Stop
                });
        }
        Ok(dv)
    }
}
