//! How a cell of a blank return looks (fills, borders, number formats, widths)
//! and what a prefilled one holds.

use super::*;

pub(super) const INPUT_FILL: u32 = 0xFFF8DC;
pub(super) const LOCKED_FILL: u32 = 0xE7E6E6;
pub(super) const HEADER_FILL: u32 = 0xD9E1F2;
pub(super) const BORDER: u32 = 0xA6A6A6;

pub(super) fn label_format(required: bool) -> Format {
    let f = Format::new().set_align(FormatAlign::VerticalCenter);
    if required {
        f.set_bold()
    } else {
        f
    }
}

pub(super) fn header_format() -> Format {
    Format::new()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter)
        .set_background_color(Color::RGB(HEADER_FILL))
        .set_pattern(FormatPattern::Solid)
        .set_border(FormatBorder::Thin)
        .set_border_color(Color::RGB(BORDER))
}

pub(super) fn fixed_format() -> Format {
    Format::new()
        .set_bold()
        .set_background_color(Color::RGB(LOCKED_FILL))
        .set_pattern(FormatPattern::Solid)
        .set_border(FormatBorder::Thin)
        .set_border_color(Color::RGB(BORDER))
}

/// The number format a field's cells display with.
pub(super) fn num_format(f: &FieldSpec) -> Option<&'static str> {
    match &f.kind {
        ValueKind::Integer => Some("0"),
        ValueKind::Number => match f.unit {
            Some(Unit::Euro) | Some(Unit::KiloEuro) => Some("#,##0.00"),
            Some(Unit::MegaEuro) | Some(Unit::BillionEuro) => Some("#,##0.000"),
            Some(Unit::Percent) => Some("0.00"),
            None => None,
        },
        ValueKind::Date => Some("dd/mm/yyyy"),
        ValueKind::Text | ValueKind::Enum(_) => Some("@"),
        ValueKind::Boolean => None,
    }
}

/// An unlocked input cell of field `f`.
pub(super) fn input_format(f: &FieldSpec) -> Format {
    let base = Format::new()
        .set_unlocked()
        .set_background_color(Color::RGB(INPUT_FILL))
        .set_pattern(FormatPattern::Solid)
        .set_border(FormatBorder::Thin)
        .set_border_color(Color::RGB(BORDER));
    match num_format(f) {
        Some(n) => base.set_num_format(n),
        None => base,
    }
}

pub(super) fn total_format(f: Option<&FieldSpec>) -> Format {
    let base = fixed_format();
    match f.and_then(num_format).filter(|n| *n != "@") {
        Some(n) => base.set_num_format(n),
        None => base,
    }
}

/// A field whose value the blank return fills in and locks: `Modèle` and
/// `Version` of the `Identification` sheet (common to every template).
pub(super) fn fixed_value(t: &Template, spec: &SheetSpec, f: &FieldSpec) -> Option<String> {
    if normalize_label(&spec.name) != "identification" {
        return None;
    }
    match normalize_label(&f.label).as_str() {
        "modele" => Some(
            f.schema
                .get("const")
                .and_then(Value::as_str)
                .unwrap_or(&t.id)
                .to_string(),
        ),
        "version" => Some(t.newest_version().to_string()),
        _ => None,
    }
}

/// The text a blank title cell starts with.
pub fn title_prefill(f: &FieldSpec) -> String {
    if let Some(s) = f.schema.get("default").and_then(Value::as_str) {
        return s.to_string();
    }
    if let Some(s) = f
        .schema
        .get("examples")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_str)
    {
        return s.to_string();
    }
    if let Some(d) = &f.description {
        if let (Some(open), Some(close)) = (d.find('«'), d.find('»')) {
            let quoted = d.get(open + '«'.len_utf8()..close).map(str::trim).unwrap_or_default();
            if !quoted.is_empty() {
                return format!("{quoted} …");
            }
        }
    }
    f.label.clone()
}

/// Excel counts message lengths in UTF-16 units.
pub(crate) fn clip(text: &str, max: usize) -> String {
    if text.encode_utf16().count() <= max {
        return text.to_string();
    }
    let mut out = String::new();
    for c in text.chars() {
        if out.encode_utf16().count() + c.len_utf16() + 1 > max {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

/// Bounds of a numeric schema: `(value, exclusive)`.
pub(super) struct Bounds {
    pub(super) min: Option<(f64, bool)>,
    pub(super) max: Option<(f64, bool)>,
}

pub(super) fn bounds(schema: &Value) -> Bounds {
    let get = |k: &str| schema.get(k).and_then(Value::as_f64);
    Bounds {
        min: get("minimum")
            .map(|v| (v, false))
            .or_else(|| get("exclusiveMinimum").map(|v| (v, true))),
        max: get("maximum")
            .map(|v| (v, false))
            .or_else(|| get("exclusiveMaximum").map(|v| (v, true))),
    }
}

pub(super) fn to_i32(v: f64) -> i32 {
    v.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32
}

pub(super) fn xl_date((y, m, d): (u16, u8, u8)) -> Result<ExcelDateTime, XlsxError> {
    ExcelDateTime::from_ymd(y, m, d)
}

pub(super) fn fr_date((y, m, d): (u16, u8, u8)) -> String {
    format!("{d:02}/{m:02}/{y:04}")
}

/// Width (characters) a value column needs.
pub(super) fn value_width(f: &FieldSpec, in_table: bool) -> usize {
    match &f.kind {
        ValueKind::Integer => 10,
        ValueKind::Number => 16,
        ValueKind::Date => 12,
        ValueKind::Boolean => 8,
        ValueKind::Enum(values) => values.iter().map(|v| v.chars().count()).max().unwrap_or(8) + 3,
        ValueKind::Text => {
            if in_table {
                30
            } else {
                40
            }
        }
    }
}

/// A JSON scalar as the text a cell shows.
pub(super) fn display_json(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Writes a document value into a cell of field `f`: numbers as numbers, a day
/// as a real date, a coarser date (`2010-06`, `2009-S1`) as its French text, the
/// rest as text (never as a formula).
pub(super) fn write_value(
    ws: &mut Worksheet,
    row: u32,
    col: u16,
    f: &FieldSpec,
    v: &Value,
    fmt: &Format,
) -> Result<(), XlsxError> {
    match v {
        Value::Null => {
            ws.write_blank(row, col, fmt)?;
        }
        Value::Bool(b) => {
            ws.write_boolean_with_format(row, col, *b, fmt)?;
        }
        Value::Number(n) => {
            ws.write_number_with_format(row, col, n.as_f64().unwrap_or_default(), fmt)?;
        }
        Value::String(s) if f.kind == ValueKind::Date => match DateInterval::from_canonical(s) {
            Some(d) if d.precision == Precision::Day => {
                let day = ExcelDateTime::from_ymd(
                    u16::try_from(d.start.year).unwrap_or(1900),
                    d.start.month as u8,
                    d.start.day as u8,
                )?;
                ws.write_datetime_with_format(row, col, &day, fmt)?;
            }
            Some(d) => {
                ws.write_string_with_format(row, col, d.display_fr(), fmt)?;
            }
            None => {
                ws.write_string_with_format(row, col, s, fmt)?;
            }
        },
        Value::String(s) => {
            ws.write_string_with_format(row, col, s, fmt)?;
        }
        other => {
            ws.write_string_with_format(row, col, other.to_string(), fmt)?;
        }
    }
    Ok(())
}
