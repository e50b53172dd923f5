//! Live checks in a blank return: the rules' `[[live]]` declarations
//! ([`crate::pipeline::rules::live`]) turned into spreadsheet formulas on the cells of the
//! blank template, so that Excel and LibreOffice colour a wrong total, a part
//! larger than its whole, dates in the wrong order or a wrong rate while the
//! return is typed.
//!
//! The engine stays the reference: a live check may miss what the engine finds
//! (an amount typed as text, a date written `juin 2010`, a check that needs
//! another sheet) but must never colour a cell the engine finds correct. Every
//! formula therefore fires only on real numbers (or on empty cells of a column
//! where empty means 0), beyond the rule's own tolerance plus a margin for the
//! spreadsheet's binary rounding, and never on rows the engine would not read
//! (after a `TOTAL` typed inside the table).
//!
//! References follow the sheet when rows are inserted or sorted: a row check
//! uses relative rows (`$C5`), a column sum the table's full range
//! (`$C$5:$C$54`), which grows when a row is inserted inside it.

use std::collections::BTreeMap;

use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{Color, ConditionalFormatFormula, Format, FormatPattern, Formula, Workbook, XlsxError};

use crate::base::model::{column_letters, CellRef};
use crate::pipeline::rules::live::{LiveItem, LiveShape, LiveTolerance};
use crate::pipeline::rules::RulePack;
use crate::pipeline::template::Template;

/// The very hidden sheet of [`Probes::On`]: one formula per check and row that
/// shows the rule id when the check fires (the tests read it after LibreOffice
/// recalculates).
pub const PROBES_SHEET: &str = "Contrôles";

/// Fill of a cell whose live check fires (Excel's "bad" style).
const ALERT_FILL: u32 = 0xFFC7CE;
const ALERT_FONT: u32 = 0x9C0006;

/// Whether a blank return also carries the probe sheet (tests only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Probes {
    #[default]
    Off,
    On,
}

/// One live check of one rule, ready to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub rule: String,
    pub item: LiveItem,
    /// The tolerance, resolved from the rule's parameters.
    pub tolerance: f64,
}

impl Check {
    /// The line of the input message of the coloured cell.
    pub fn note(&self) -> String {
        let tol = if self.tolerance > 0.0 {
            crate::base::format::decimal_of_f64(self.tolerance)
                .map(|d| format!(" (écart toléré : {})", crate::base::format::decimal_fr(d)))
                .unwrap_or_default()
        } else {
            String::new()
        };
        format!("Contrôle en direct {} : {}{tol}.", self.rule, self.item.message)
    }
}

/// The live checks of the rules that apply to `t` (rules switched off by the
/// pack are left out), or the French reason a declaration cannot be used.
pub fn checks(t: &Template, pack: &RulePack) -> Result<Vec<Check>, LiveError> {
    let mut out = Vec::new();
    for rule in &pack.rules {
        if rule.meta.live.is_empty() || !rule.applies_to(&t.id) {
            continue;
        }
        if matches!(pack.levels.get(&rule.meta.id), Some(crate::finding::Level::Off)) {
            continue;
        }
        for decl in &rule.meta.live {
            let items = decl.items().map_err(|reason| LiveError::Unplaced {
                rule: rule.meta.id.clone(),
                reason,
            })?;
            for item in items {
                let tolerance = match &item.tolerance {
                    Some(LiveTolerance::Int(i)) => *i as f64,
                    Some(LiveTolerance::Float(f)) => *f,
                    Some(LiveTolerance::Parameter(name)) => param(rule, name).ok_or_else(|| LiveError::Tolerance {
                        rule: rule.meta.id.clone(),
                        name: name.clone(),
                    })?,
                    None => param(rule, "tolerance").unwrap_or(0.0),
                };
                out.push(Check {
                    rule: rule.meta.id.clone(),
                    item,
                    tolerance,
                });
            }
        }
    }
    Ok(out)
}

fn param(rule: &crate::pipeline::rules::Rule, name: &str) -> Option<f64> {
    rule.meta
        .parameters
        .get(name)
        .and_then(|p| p.as_decimal())
        .and_then(|d| d.to_f64())
}

/// Input-message lines by the pointer (pattern) of the coloured cell.
pub fn notes(checks: &[Check]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in checks {
        let lines = out.entry(c.item.on.clone()).or_default();
        let note = c.note();
        if !lines.contains(&note) {
            lines.push(note);
        }
    }
    out
}

/// Where the blank-template writer put each value: filled in as it writes.
#[derive(Debug, Default, Clone)]
pub struct Layout {
    /// A label/value field or a TOTAL-row cell, by pointer (`/maquette/taux_axe1`,
    /// `/financements_total/etat`).
    pub cells: BTreeMap<String, Place>,
    /// A table column by pattern (`/financements/*/etat`).
    pub columns: BTreeMap<String, ColumnPlace>,
    /// A table's data rows by pointer (`/financements`).
    pub tables: BTreeMap<String, TableArea>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub sheet: String,
    pub at: CellRef,
    pub empty_is_zero: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnPlace {
    /// Pointer of its table (key of [`Layout::tables`]).
    pub table: String,
    pub col: u32,
    pub empty_is_zero: bool,
}

/// The data rows of a table (0-based, inclusive) and its columns.
#[derive(Debug, Clone, PartialEq)]
pub struct TableArea {
    pub sheet: String,
    pub first_row: u32,
    pub last_row: u32,
    pub first_col: u32,
    pub last_col: u32,
}

/// A pointer of a declaration, placed.
#[derive(Debug, Clone)]
enum Operand<'a> {
    /// A fixed cell.
    Cell(&'a Place),
    /// The cell of a column in the row being checked.
    Row(&'a ColumnPlace, &'a TableArea),
    /// A whole column of a table (a `*` pointer under a fixed `on` cell).
    Column(&'a ColumnPlace, &'a TableArea),
}

/// A check placed on the sheet: the cells it colours and how to test one.
#[derive(Debug)]
struct Plan<'a> {
    check: &'a Check,
    sheet: String,
    /// The coloured cells: rows `first..=last` of column `col`.
    col: u32,
    first: u32,
    last: u32,
    /// The table whose rows are checked one by one (row checks), if any.
    rows_of: Option<&'a TableArea>,
    shape: Shape<'a>,
    except: Option<(&'a ColumnPlace, &'a TableArea)>,
}

#[derive(Debug)]
enum Shape<'a> {
    Sum(Operand<'a>, Vec<Operand<'a>>),
    Part(Operand<'a>, Operand<'a>),
    Order(Operand<'a>, Operand<'a>),
    Rate(Operand<'a>, Operand<'a>, Operand<'a>),
}

impl Layout {
    fn operand<'a>(&'a self, pointer: &str, row_wise: Option<&str>) -> Result<Operand<'a>, String> {
        if let Some(place) = self.cells.get(pointer) {
            return Ok(Operand::Cell(place));
        }
        let column = self
            .columns
            .get(pointer)
            .ok_or_else(|| format!("le pointeur « {pointer} » ne désigne aucune cellule du modèle vierge"))?;
        let area = self
            .tables
            .get(&column.table)
            .ok_or_else(|| format!("le tableau de « {pointer} » est introuvable"))?;
        match row_wise {
            Some(table) if table == column.table => Ok(Operand::Row(column, area)),
            Some(_) => Err(format!(
                "« {pointer} » est dans un autre tableau que la cellule contrôlée : une ligne ne peut pas en contrôler une autre"
            )),
            None => Ok(Operand::Column(column, area)),
        }
    }

    fn plan<'a>(&'a self, check: &'a Check) -> Result<Plan<'a>, String> {
        let on = &check.item.on;
        let (sheet, col, first, last, rows_of, table) = if let Some(p) = self.cells.get(on) {
            (p.sheet.clone(), p.at.col, p.at.row, p.at.row, None, None)
        } else if let Some(c) = self.columns.get(on) {
            let area = self
                .tables
                .get(&c.table)
                .ok_or_else(|| format!("le tableau de « {on} » est introuvable"))?;
            (
                area.sheet.clone(),
                c.col,
                area.first_row,
                area.last_row,
                Some(area),
                Some(c.table.as_str()),
            )
        } else {
            return Err(format!("la cellule contrôlée « {on} » n'est pas dans le modèle vierge"));
        };
        let op = |p: &str| self.operand(p, table);
        let shape = match &check.item.shape {
            LiveShape::Sum { total, parts } => {
                Shape::Sum(op(total)?, parts.iter().map(|p| op(p)).collect::<Result<_, _>>()?)
            }
            LiveShape::Part { part, whole } => Shape::Part(op(part)?, op(whole)?),
            LiveShape::Order { before, after } => Shape::Order(op(before)?, op(after)?),
            LiveShape::Rate { rate, part, whole } => Shape::Rate(op(rate)?, op(part)?, op(whole)?),
        };
        let operands: Vec<&Operand> = match &shape {
            Shape::Sum(t, ps) => std::iter::once(t).chain(ps.iter()).collect(),
            Shape::Part(a, b) | Shape::Order(a, b) => vec![a, b],
            Shape::Rate(a, b, c) => vec![a, b, c],
        };
        for o in &operands {
            let s = match o {
                Operand::Cell(p) => &p.sheet,
                Operand::Row(_, a) | Operand::Column(_, a) => &a.sheet,
            };
            if *s != sheet {
                return Err(format!(
                    "la règle {} compare des cellules de deux feuilles : pas de contrôle en direct possible",
                    check.rule
                ));
            }
            if !matches!(shape, Shape::Sum(..)) && matches!(o, Operand::Column(..)) {
                return Err(format!(
                    "règle {} : seul un contrôle « somme » peut porter sur une colonne entière",
                    check.rule
                ));
            }
        }
        let except = match &check.item.except_rows_with {
            None => None,
            Some(p) => match self.operand(p, None)? {
                Operand::Column(c, a) => Some((c, a)),
                _ => return Err(format!("except_rows_with « {p} » doit désigner une colonne de tableau")),
            },
        };
        Ok(Plan {
            check,
            sheet,
            col,
            first,
            last,
            rows_of,
            shape,
            except,
        })
    }
}

/// How references are written: on the checked sheet itself (conditional
/// formats), or from the probe sheet (`'Financements'!$C$5`).
#[derive(Clone, Copy)]
struct Refs<'a> {
    sheet: Option<&'a str>,
    /// Row references are relative (`$C5`) in a conditional format, so that the
    /// one formula serves every row and follows inserted rows.
    relative: bool,
}

impl Refs<'_> {
    fn prefix(&self) -> String {
        match self.sheet {
            Some(s) => format!("'{}'!", s.replace('\'', "''")),
            None => String::new(),
        }
    }

    fn cell(&self, at: CellRef) -> String {
        format!("{}${}${}", self.prefix(), column_letters(at.col), at.row + 1)
    }

    fn row_cell(&self, col: u32, row: u32) -> String {
        let dollar = if self.relative { "" } else { "$" };
        format!("{}${}{dollar}{}", self.prefix(), column_letters(col), row + 1)
    }

    fn range(&self, col: u32, first: u32, last: u32) -> String {
        let l = column_letters(col);
        format!("{}${l}${}:${l}${}", self.prefix(), first + 1, last + 1)
    }

    fn block(&self, a: &TableArea, last_row: u32, relative_end: bool) -> String {
        let end = if relative_end && self.relative { "" } else { "$" };
        format!(
            "{p}${}${}:${}{end}{}",
            column_letters(a.first_col),
            a.first_row + 1,
            column_letters(a.last_col),
            last_row + 1,
            p = self.prefix()
        )
    }
}

/// Figures for Excel formulas (`0.005`, `1E-9`), never in French.
fn num(v: f64) -> String {
    let s = format!("{v}");
    if s.contains('e') {
        format!("{v:E}")
    } else {
        s
    }
}

impl Plan<'_> {
    /// The condition (an Excel formula without `=`) that is TRUE when the check
    /// fires on sheet row `row`.
    fn condition(&self, row: u32, refs: Refs) -> String {
        let value = |o: &Operand| -> String {
            match o {
                Operand::Cell(p) => refs.cell(p.at),
                Operand::Row(c, _) => refs.row_cell(c.col, row),
                Operand::Column(c, a) => refs.range(c.col, a.first_row, a.last_row),
            }
        };
        let zero = |o: &Operand| match o {
            Operand::Cell(p) => p.empty_is_zero,
            Operand::Row(c, _) | Operand::Column(c, _) => c.empty_is_zero,
        };
        let mut guards: Vec<String> = Vec::new();
        // Rows after a TOTAL typed inside the table are not read by the engine.
        if let Some(area) = self.rows_of {
            guards.push(format!(
                "COUNTIF({b},\"total*\")+COUNTIF({b},\"totaux*\")=0",
                b = refs.block(area, row, true)
            ));
        }
        let margin = |of: &str| format!("{}+1E-9*MAX(1,ABS({of}))", num(self.check.tolerance));
        let test = match &self.shape {
            Shape::Sum(total, parts) => {
                let t = value(total);
                guards.push(format!("ISNUMBER({t})"));
                let mut terms = Vec::new();
                for p in parts {
                    let v = value(p);
                    match p {
                        Operand::Column(c, a) => {
                            let (sum, more) = self.column_sum(c, a, refs);
                            terms.push(sum);
                            guards.extend(more);
                        }
                        _ if zero(p) => {
                            guards.push(format!("OR(ISNUMBER({v}),ISBLANK({v}))"));
                            terms.push(format!("N({v})"));
                        }
                        _ => {
                            guards.push(format!("ISNUMBER({v})"));
                            terms.push(v);
                        }
                    }
                }
                format!("ABS({t}-({}))>{}", terms.join("+"), margin(&t))
            }
            Shape::Part(part, whole) => {
                let (p, w) = (value(part), value(whole));
                guards.push(format!("ISNUMBER({p})"));
                guards.push(format!("ISNUMBER({w})"));
                format!("{p}-{w}>{}", margin(&w))
            }
            Shape::Order(before, after) => {
                // Real dates only (a year typed as 2010 is not a date here).
                let (b, a) = (value(before), value(after));
                guards.push(format!("ISNUMBER({b})"));
                guards.push(format!("ISNUMBER({a})"));
                guards.push(format!("{b}>36525"));
                guards.push(format!("{a}>36525"));
                format!("INT({b})>INT({a})")
            }
            Shape::Rate(rate, part, whole) => {
                let (r, p, w) = (value(rate), value(part), value(whole));
                guards.push(format!("ISNUMBER({r})"));
                guards.push(format!("ISNUMBER({p})"));
                guards.push(format!("ISNUMBER({w})"));
                guards.push(format!("{w}>0"));
                // A rate typed with a percent format (0.735 for 73.5 %) is read
                // as displayed by the engine: neither reading may match.
                let computed = format!("ROUND({p}*100/{w},4)");
                let m = format!("1E-4+{}", margin(&r));
                format!("AND(ABS({r}-{computed})>{m},ABS({r}*100-{computed})>{m})")
            }
        };
        // IF evaluates its test only when every guard holds: no #VALUE! on text.
        format!("IF(AND({}),{test},FALSE)", guards.join(","))
    }

    /// The sum of a whole column (without the rows `except_rows_with` names),
    /// and the guards under which it is the engine's sum: no text in it, every
    /// row the engine reads (a non-empty one) has a number, at least one row.
    fn column_sum(&self, c: &ColumnPlace, a: &TableArea, refs: Refs) -> (String, Vec<String>) {
        let r = refs.range(c.col, a.first_row, a.last_row);
        let filled = (a.first_col..=a.last_col)
            .map(|col| refs.range(col, a.first_row, a.last_row))
            .collect::<Vec<_>>()
            .join("&");
        let keep = match self.except {
            Some((e, ea)) => format!("({}=\"\")*", refs.range(e.col, ea.first_row, ea.last_row)),
            None => String::new(),
        };
        let rows = format!("SUMPRODUCT({keep}(LEN({filled})>0))");
        let mut guards = vec![
            format!("{rows}>0"),
            format!(
                "COUNTIF({b},\"total*\")+COUNTIF({b},\"totaux*\")=0",
                b = refs.block(a, a.last_row, false)
            ),
        ];
        if c.empty_is_zero {
            guards.push(format!("SUMPRODUCT({keep}ISTEXT({r}))=0"));
        } else {
            guards.push(format!("{rows}=SUMPRODUCT({keep}ISNUMBER({r}))"));
        }
        let sum = if keep.is_empty() {
            format!("SUM({r})")
        } else {
            format!("SUMPRODUCT({keep}ISNUMBER({r}),{r})")
        };
        (sum, guards)
    }
}

/// Why the live checks could not be written in a return.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// A declaration that cannot be used, or does not fit the blank return
    /// (the French reason).
    #[error("règle {rule} : {reason}")]
    Unplaced { rule: String, reason: String },
    #[error("règle {rule} : contrôle en direct, paramètre de tolérance « {name} » inconnu ou non numérique")]
    Tolerance { rule: String, name: String },
    #[error("feuille « {sheet} » : {source}")]
    Sheet { sheet: String, source: XlsxError },
    #[error("règle {rule} : {source}")]
    Format { rule: String, source: XlsxError },
    #[error("{0}")]
    Column(#[from] std::num::TryFromIntError),
}

/// Writes the conditional formats of `checks` on the sheets of `wb` (and, with
/// [`Probes::On`], the probe sheet). In a blank return (`blank`), a declaration
/// that does not fit the template is an error: a rule's live check is never
/// silently dropped. In a filled one, a check on a cell the document leaves out
/// (a TOTAL row it does not have) is left out too.
pub fn write(
    wb: &mut Workbook,
    layout: &Layout,
    checks: &[Check],
    probes: Probes,
    blank: bool,
) -> Result<(), LiveError> {
    let mut plans = Vec::with_capacity(checks.len());
    for c in checks {
        match layout.plan(c) {
            Ok(plan) => plans.push(plan),
            Err(reason) if blank => {
                return Err(LiveError::Unplaced {
                    rule: c.rule.clone(),
                    reason,
                })
            }
            Err(_) => {}
        }
    }
    let alert = Format::new()
        .set_background_color(Color::RGB(ALERT_FILL))
        .set_pattern(FormatPattern::Solid)
        .set_font_color(Color::RGB(ALERT_FONT))
        .set_bold();
    for plan in &plans {
        let ws = wb.worksheet_from_name(&plan.sheet).map_err(|source| LiveError::Sheet {
            sheet: plan.sheet.clone(),
            source,
        })?;
        let refs = Refs {
            sheet: None,
            relative: true,
        };
        let cf = ConditionalFormatFormula::new()
            .set_rule(format!("={}", plan.condition(plan.first, refs)).as_str())
            .set_format(&alert);
        let col = u16::try_from(plan.col)?;
        ws.add_conditional_format(plan.first, col, plan.last, col, &cf)
            .map_err(|source| LiveError::Format {
                rule: plan.check.rule.clone(),
                source,
            })?;
    }
    if probes == Probes::On {
        // Always written (with its header only when no check applies), so that
        // a reader tells "nothing fired" from "no probes".
        write_probes(wb, &plans).map_err(|source| LiveError::Sheet {
            sheet: PROBES_SHEET.to_string(),
            source,
        })?;
    }
    Ok(())
}

fn write_probes(wb: &mut Workbook, plans: &[Plan]) -> Result<(), XlsxError> {
    let ws = wb.add_worksheet();
    ws.set_name(PROBES_SHEET)?;
    ws.write_string(0, 0, "Règle si le contrôle se déclenche")?;
    ws.write_string(0, 1, "Feuille")?;
    ws.write_string(0, 2, "Cellule")?;
    let mut out = 1;
    for plan in plans {
        let refs = Refs {
            sheet: Some(&plan.sheet),
            relative: false,
        };
        for row in plan.first..=plan.last {
            let formula = Formula::new(format!(
                "IF({},\"{}\",\"\")",
                plan.condition(row, refs),
                plan.check.rule
            ))
            .set_result("");
            ws.write_formula(out, 0, formula)?;
            ws.write_string(out, 1, &plan.sheet)?;
            ws.write_string(out, 2, CellRef::new(row, plan.col).to_string())?;
            out += 1;
        }
    }
    ws.set_very_hidden(true);
    Ok(())
}
