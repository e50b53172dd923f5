//! What `Synthèse` and `Constats` are written with: a [`Look`] (the cell
//! formats they use, as plain data) and a [`Sink`] (the few worksheet
//! operations they need). The re-created workbook writes them with
//! rust_xlsxwriter ([`Worksheet`]); the patched package writes them straight
//! as SpreadsheetML (`patch::front`). Both show the same cells, texts,
//! widths, links and number formats, because both run the same code.

use std::collections::HashMap;

use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, FormatUnderline, Url, Worksheet};

use super::{quote_sheet, Mark, ReportError, A4};

/// A border line of the two front sheets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Line {
    Thin,
    Medium,
}

/// A border: every side, or the bottom only (a section title).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct Frame {
    pub(super) line: Line,
    pub(super) color: Option<u32>,
    pub(super) bottom_only: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Align {
    Left,
    Center,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Valign {
    Top,
    Center,
}

/// A cell format of `Synthèse` or `Constats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(super) struct Look {
    pub(super) bold: bool,
    pub(super) italic: bool,
    pub(super) underline: bool,
    /// Font size in points (11 when `None`).
    pub(super) size: Option<u8>,
    pub(super) color: Option<u32>,
    /// A solid fill.
    pub(super) fill: Option<u32>,
    pub(super) frame: Option<Frame>,
    pub(super) align: Option<Align>,
    pub(super) valign: Option<Valign>,
    pub(super) wrap: bool,
    /// A number format code.
    pub(super) num: Option<&'static str>,
}

impl Look {
    pub(super) fn new() -> Self {
        Self::default()
    }
    pub(super) fn bold(self) -> Self {
        Self { bold: true, ..self }
    }
    pub(super) fn italic(self) -> Self {
        Self { italic: true, ..self }
    }
    pub(super) fn underline(self) -> Self {
        Self {
            underline: true,
            ..self
        }
    }
    pub(super) fn size(self, size: u8) -> Self {
        Self {
            size: Some(size),
            ..self
        }
    }
    pub(super) fn color(self, color: u32) -> Self {
        Self {
            color: Some(color),
            ..self
        }
    }
    pub(super) fn fill(self, color: u32) -> Self {
        Self {
            fill: Some(color),
            ..self
        }
    }
    pub(super) fn frame(self, line: Line, color: Option<u32>) -> Self {
        Self {
            frame: Some(Frame {
                line,
                color,
                bottom_only: false,
            }),
            ..self
        }
    }
    pub(super) fn underlined_by(self, line: Line) -> Self {
        Self {
            frame: Some(Frame {
                line,
                color: None,
                bottom_only: true,
            }),
            ..self
        }
    }
    pub(super) fn align(self, a: Align) -> Self {
        Self { align: Some(a), ..self }
    }
    pub(super) fn valign(self, v: Valign) -> Self {
        Self {
            valign: Some(v),
            ..self
        }
    }
    pub(super) fn wrap(self) -> Self {
        Self { wrap: true, ..self }
    }
    pub(super) fn num(self, code: &'static str) -> Self {
        Self {
            num: Some(code),
            ..self
        }
    }
    /// A finding's mark: fill by severity, a frame in the same hue.
    pub(super) fn marked(self, m: Mark) -> Self {
        let line = if m.strong { Line::Medium } else { Line::Thin };
        self.fill(m.fill()).frame(line, Some(m.frame()))
    }

    /// The same look as a rust_xlsxwriter format.
    pub(super) fn format(&self) -> Format {
        let mut f = Format::new();
        if self.bold {
            f = f.set_bold();
        }
        if self.italic {
            f = f.set_italic();
        }
        if self.underline {
            f = f.set_underline(FormatUnderline::Single);
        }
        if let Some(s) = self.size {
            f = f.set_font_size(s);
        }
        if let Some(c) = self.color {
            f = f.set_font_color(c);
        }
        if let Some(c) = self.fill {
            f = f
                .set_pattern(rust_xlsxwriter::FormatPattern::Solid)
                .set_foreground_color(c)
                .set_background_color(c);
        }
        if let Some(fr) = self.frame {
            let line = match fr.line {
                Line::Thin => FormatBorder::Thin,
                Line::Medium => FormatBorder::Medium,
            };
            if fr.bottom_only {
                f = f.set_border_bottom(line);
                if let Some(c) = fr.color {
                    f = f.set_border_bottom_color(c);
                }
            } else {
                f = f.set_border(line);
                if let Some(c) = fr.color {
                    f = f.set_border_color(c);
                }
            }
        }
        match self.align {
            Some(Align::Left) => f = f.set_align(FormatAlign::Left),
            Some(Align::Center) => f = f.set_align(FormatAlign::Center),
            None => {}
        }
        match self.valign {
            Some(Valign::Top) => f = f.set_align(FormatAlign::Top),
            Some(Valign::Center) => f = f.set_align(FormatAlign::VerticalCenter),
            None => {}
        }
        if self.wrap {
            f = f.set_text_wrap();
        }
        if let Some(code) = self.num {
            f = f.set_num_format(code);
        }
        f
    }
}

/// An internal link: where it goes and what it shows.
pub(super) struct Link<'a> {
    pub(super) sheet: &'a str,
    pub(super) cell: &'a str,
    pub(super) text: &'a str,
    pub(super) tip: Option<&'a str>,
}

impl Link<'_> {
    /// The target as Excel writes it: `'Sheet'!B12`.
    pub(super) fn location(&self) -> String {
        format!("{}!{}", quote_sheet(self.sheet), self.cell)
    }
}

/// What `Synthèse` and `Constats` are written through.
pub(super) trait Sink {
    fn text(&mut self, row: u32, col: u16, text: &str, look: &Look) -> Result<(), ReportError>;
    fn number(&mut self, row: u32, col: u16, x: f64, look: &Look) -> Result<(), ReportError>;
    fn blank(&mut self, row: u32, col: u16, look: &Look) -> Result<(), ReportError>;
    /// `text` in the first cell of `row`, merged from column `first` to `last`.
    fn merged(&mut self, row: u32, first: u16, last: u16, text: &str, look: &Look) -> Result<(), ReportError>;
    fn link(&mut self, row: u32, col: u16, link: &Link, look: &Look) -> Result<(), ReportError>;
    /// Width in characters, as Excel's dialog shows it.
    fn width(&mut self, col: u16, width: f64) -> Result<(), ReportError>;
    fn height(&mut self, row: u32, height: f64) -> Result<(), ReportError>;
    /// A4, one page wide.
    fn print_setup(&mut self, landscape: bool);
    /// The first row frozen and repeated on every printed page.
    fn header_row(&mut self) -> Result<(), ReportError>;
    fn autofilter(&mut self, last_row: u32, last_col: u16) -> Result<(), ReportError>;
}

/// A rust_xlsxwriter worksheet, with each look's format built once.
pub(super) struct Xlsx<'w> {
    ws: &'w mut Worksheet,
    formats: HashMap<Look, Format>,
}

impl<'w> Xlsx<'w> {
    pub(super) fn new(ws: &'w mut Worksheet) -> Self {
        Self {
            ws,
            formats: HashMap::new(),
        }
    }

    fn format(&mut self, look: &Look) -> &Format {
        self.formats.entry(*look).or_insert_with(|| look.format())
    }
}

impl Sink for Xlsx<'_> {
    fn text(&mut self, row: u32, col: u16, text: &str, look: &Look) -> Result<(), ReportError> {
        let f = self.format(look).clone();
        self.ws.write_string_with_format(row, col, text, &f)?;
        Ok(())
    }
    fn number(&mut self, row: u32, col: u16, x: f64, look: &Look) -> Result<(), ReportError> {
        let f = self.format(look).clone();
        self.ws.write_number_with_format(row, col, x, &f)?;
        Ok(())
    }
    fn blank(&mut self, row: u32, col: u16, look: &Look) -> Result<(), ReportError> {
        let f = self.format(look).clone();
        self.ws.write_blank(row, col, &f)?;
        Ok(())
    }
    fn merged(&mut self, row: u32, first: u16, last: u16, text: &str, look: &Look) -> Result<(), ReportError> {
        let f = self.format(look).clone();
        self.ws.merge_range(row, first, row, last, text, &f)?;
        Ok(())
    }
    fn link(&mut self, row: u32, col: u16, link: &Link, look: &Look) -> Result<(), ReportError> {
        let f = self.format(look).clone();
        let mut url = Url::new(format!("internal:{}", link.location())).set_text(link.text);
        if let Some(tip) = link.tip {
            url = url.set_tip(tip);
        }
        self.ws.write_url_with_format(row, col, url, &f)?;
        Ok(())
    }
    fn width(&mut self, col: u16, width: f64) -> Result<(), ReportError> {
        self.ws.set_column_width(col, width)?;
        Ok(())
    }
    fn height(&mut self, row: u32, height: f64) -> Result<(), ReportError> {
        self.ws.set_row_height(row, height)?;
        Ok(())
    }
    fn print_setup(&mut self, landscape: bool) {
        if landscape {
            self.ws.set_landscape();
        }
        self.ws.set_print_fit_to_pages(1, 0);
        self.ws.set_paper_size(A4);
    }
    fn header_row(&mut self) -> Result<(), ReportError> {
        self.ws.set_freeze_panes(1, 0)?;
        self.ws.set_repeat_rows(0, 0)?;
        Ok(())
    }
    fn autofilter(&mut self, last_row: u32, last_col: u16) -> Result<(), ReportError> {
        self.ws.autofilter(0, 0, last_row, last_col)?;
        Ok(())
    }
}
