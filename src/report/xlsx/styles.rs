//! Cell formats of the annotated workbook: the marks of findings, and the
//! submitted `.xlsx` styles turned into rust_xlsxwriter formats.

use std::collections::HashMap;

use rust_xlsxwriter::{Color, Format, FormatAlign, FormatBorder, FormatDiagonalBorder, FormatPattern, FormatUnderline};

use super::{shorten, Mark};
use crate::pipeline::read::styles::{self, CellStyle, Line};
use crate::pipeline::read::CellValue;

/// How a value is shown when the submitted file gives no format of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Kind {
    Text,
    /// A number shown as is (small numbers, years).
    Plain,
    /// Thousands separated: amounts.
    Grouped,
    GroupedDecimal,
    Date,
    /// A percentage of a file without its look (`.xls`, `.ods`).
    Percent,
    PercentDecimal,
    Other,
}

pub(super) fn kind_of(v: Option<&CellValue>) -> Kind {
    match v {
        Some(CellValue::Text(_)) | Some(CellValue::Error(_)) | Some(CellValue::FormulaWithoutValue(_)) => Kind::Text,
        Some(CellValue::Number(n)) => {
            if n.abs() < 10_000.0 || !n.is_finite() {
                Kind::Plain
            } else if n.fract() == 0.0 {
                Kind::Grouped
            } else {
                Kind::GroupedDecimal
            }
        }
        Some(CellValue::Date(_)) => Kind::Date,
        Some(CellValue::Bool(_)) | None => Kind::Other,
    }
}

/// Text that Excel would take for a formula if someone edited the cell.
pub(super) fn looks_like_formula(v: Option<&CellValue>) -> bool {
    match v {
        Some(CellValue::Text(s)) => s.starts_with(['=', '+', '-', '@']),
        Some(CellValue::FormulaWithoutValue(_)) => true,
        _ => false,
    }
}

/// The cell formats of one sheet, built once per distinct look.
pub(super) struct Formats<'a> {
    pub(super) palette: Option<&'a [CellStyle]>,
    pub(super) cache: HashMap<(Option<u32>, Kind, Option<Mark>, bool), Format>,
}

impl<'a> Formats<'a> {
    pub(super) fn get(&mut self, style: Option<u32>, kind: Kind, mark: Option<Mark>, quote: bool) -> &Format {
        let palette = self.palette;
        self.cache.entry((style, kind, mark, quote)).or_insert_with(|| {
            let mut f = match palette {
                // An .xlsx: the cell's own style, or the workbook's default one.
                Some(p) => {
                    let s = style.and_then(|i| p.get(i as usize)).or_else(|| p.first());
                    let mut f = s.map(format_of).unwrap_or_default();
                    let has_format = s
                        .and_then(|s| s.number_format.as_ref())
                        .is_some_and(|n| n.code != "General");
                    if kind == Kind::Date && !has_format {
                        f = f.set_num_format("dd/mm/yyyy");
                    }
                    f
                }
                None => match kind {
                    Kind::Grouped => Format::new().set_num_format("#,##0"),
                    Kind::GroupedDecimal => Format::new().set_num_format("#,##0.00"),
                    Kind::Date => Format::new().set_num_format("dd/mm/yyyy"),
                    Kind::Percent => Format::new().set_num_format("0%"),
                    Kind::PercentDecimal => Format::new().set_num_format("0.00%"),
                    Kind::Text | Kind::Plain | Kind::Other => Format::new(),
                },
            };
            if quote {
                f = f.set_quote_prefix();
            }
            match mark {
                Some(m) => mark_format(f, m),
                None => f,
            }
        })
    }
}

/// A finding's mark over any look: fill by severity and a frame in the same hue.
pub(super) fn mark_format(f: Format, m: Mark) -> Format {
    f.set_pattern(FormatPattern::Solid)
        .set_foreground_color(m.fill())
        .set_background_color(m.fill())
        .set_border(m.line())
        .set_border_color(m.frame())
}

/// An `.xlsx` cell style as a rust_xlsxwriter format.
fn format_of(s: &CellStyle) -> Format {
    let mut f = Format::new();
    if let Some(n) = &s.number_format {
        match n.id {
            Some(0) => {}
            // Built-in formats by index, so that Excel shows them in the reader's locale.
            Some(id) if id < 50 => f = f.set_num_format_index(id as u8),
            _ if n.code != "General" && !n.code.is_empty() => f = f.set_num_format(shorten(&n.code, 255)),
            _ => {}
        }
    }
    if let Some(font) = &s.font {
        if let Some(name) = font.name.as_ref().filter(|n| !n.is_empty()) {
            f = f.set_font_name(shorten(name, 31));
        }
        if let Some(size) = font.size {
            f = f.set_font_size(size);
        }
        if font.bold {
            f = f.set_bold();
        }
        if font.italic {
            f = f.set_italic();
        }
        if font.strikethrough {
            f = f.set_font_strikethrough();
        }
        f = match font.underline {
            styles::Underline::None => f,
            styles::Underline::Single => f.set_underline(FormatUnderline::Single),
            styles::Underline::Double => f.set_underline(FormatUnderline::Double),
            styles::Underline::SingleAccounting => f.set_underline(FormatUnderline::SingleAccounting),
            styles::Underline::DoubleAccounting => f.set_underline(FormatUnderline::DoubleAccounting),
        };
        if let Some(c) = font.color {
            f = f.set_font_color(Color::RGB(c));
        }
    }
    if let Some(fill) = &s.fill {
        use styles::Pattern as P;
        let pattern = match fill.pattern {
            P::None => None,
            P::Solid => Some(FormatPattern::Solid),
            P::DarkGray => Some(FormatPattern::DarkGray),
            P::MediumGray => Some(FormatPattern::MediumGray),
            P::LightGray => Some(FormatPattern::LightGray),
            P::Gray125 => Some(FormatPattern::Gray125),
            P::Gray0625 => Some(FormatPattern::Gray0625),
            P::DarkHorizontal => Some(FormatPattern::DarkHorizontal),
            P::DarkVertical => Some(FormatPattern::DarkVertical),
            P::DarkDown => Some(FormatPattern::DarkDown),
            P::DarkUp => Some(FormatPattern::DarkUp),
            P::DarkGrid => Some(FormatPattern::DarkGrid),
            P::DarkTrellis => Some(FormatPattern::DarkTrellis),
            P::LightHorizontal => Some(FormatPattern::LightHorizontal),
            P::LightVertical => Some(FormatPattern::LightVertical),
            P::LightDown => Some(FormatPattern::LightDown),
            P::LightUp => Some(FormatPattern::LightUp),
            P::LightGrid => Some(FormatPattern::LightGrid),
            P::LightTrellis => Some(FormatPattern::LightTrellis),
        };
        match pattern {
            None => {}
            Some(FormatPattern::Solid) => {
                if let Some(c) = fill.foreground.or(fill.background) {
                    f = f.set_pattern(FormatPattern::Solid).set_background_color(Color::RGB(c));
                }
            }
            Some(p) => {
                f = f.set_pattern(p);
                if let Some(c) = fill.foreground {
                    f = f.set_foreground_color(Color::RGB(c));
                }
                if let Some(c) = fill.background {
                    f = f.set_background_color(Color::RGB(c));
                }
            }
        }
    }
    if let Some(b) = &s.borders {
        let line = |l: Line| match l {
            Line::None => FormatBorder::None,
            Line::Thin => FormatBorder::Thin,
            Line::Medium => FormatBorder::Medium,
            Line::Thick => FormatBorder::Thick,
            Line::Double => FormatBorder::Double,
            Line::Hair => FormatBorder::Hair,
            Line::Dashed => FormatBorder::Dashed,
            Line::Dotted => FormatBorder::Dotted,
            Line::MediumDashed => FormatBorder::MediumDashed,
            Line::DashDot => FormatBorder::DashDot,
            Line::MediumDashDot => FormatBorder::MediumDashDot,
            Line::DashDotDot => FormatBorder::DashDotDot,
            Line::MediumDashDotDot => FormatBorder::MediumDashDotDot,
            Line::SlantDashDot => FormatBorder::SlantDashDot,
        };
        if b.left.line != Line::None {
            f = f.set_border_left(line(b.left.line));
            if let Some(c) = b.left.color {
                f = f.set_border_left_color(Color::RGB(c));
            }
        }
        if b.right.line != Line::None {
            f = f.set_border_right(line(b.right.line));
            if let Some(c) = b.right.color {
                f = f.set_border_right_color(Color::RGB(c));
            }
        }
        if b.top.line != Line::None {
            f = f.set_border_top(line(b.top.line));
            if let Some(c) = b.top.color {
                f = f.set_border_top_color(Color::RGB(c));
            }
        }
        if b.bottom.line != Line::None {
            f = f.set_border_bottom(line(b.bottom.line));
            if let Some(c) = b.bottom.color {
                f = f.set_border_bottom_color(Color::RGB(c));
            }
        }
        let (down, up) = (b.diagonal_down.line != Line::None, b.diagonal_up.line != Line::None);
        if down || up {
            let d = if down { b.diagonal_down } else { b.diagonal_up };
            f = f
                .set_border_diagonal(line(d.line))
                .set_border_diagonal_type(match (down, up) {
                    (true, true) => FormatDiagonalBorder::BorderUpDown,
                    (true, false) => FormatDiagonalBorder::BorderDown,
                    _ => FormatDiagonalBorder::BorderUp,
                });
            if let Some(c) = d.color {
                f = f.set_border_diagonal_color(Color::RGB(c));
            }
        }
    }
    if let Some(a) = &s.alignment {
        use styles::{Horizontal as H, Vertical as V};
        f = match a.horizontal {
            H::General => f,
            H::Left => f.set_align(FormatAlign::Left),
            H::Center => f.set_align(FormatAlign::Center),
            H::CenterContinuous => f.set_align(FormatAlign::CenterAcross),
            H::Right => f.set_align(FormatAlign::Right),
            H::Justify => f.set_align(FormatAlign::Justify),
            H::Distributed => f.set_align(FormatAlign::Distributed),
            H::Fill => f.set_align(FormatAlign::Fill),
        };
        f = match a.vertical {
            V::Bottom => f,
            V::Top => f.set_align(FormatAlign::Top),
            V::Center => f.set_align(FormatAlign::VerticalCenter),
            V::Justify => f.set_align(FormatAlign::VerticalJustify),
            V::Distributed => f.set_align(FormatAlign::VerticalDistributed),
        };
        if a.wrap {
            f = f.set_text_wrap();
        }
        if a.shrink {
            f = f.set_shrink();
        }
        if a.indent > 0 {
            f = f.set_indent(a.indent.min(15));
        }
        f = match a.rotation {
            0 => f,
            r @ 1..=90 => f.set_rotation(r as i16),
            r @ 91..=180 => f.set_rotation(-((r - 90) as i16)),
            255 => f.set_rotation(270),
            _ => f,
        };
    }
    f
}
