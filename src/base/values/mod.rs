//! Reading cell values the way French submitters write them.
//!
//! Three small parsers, all total (they never panic, whatever the input):
//! - [`label`]: normalising labels so that `Coût total :` matches `coût  total`;
//! - [`number`]: numbers written as French text (`4.830.000 €`, `1,08`, `72 %`);
//! - [`date`]: dates as intervals (`31/03/2010`, `Juin 2010`, `1er semestre 2009`).
//!
//! The rules these follow are in `spec/templates.md` ("Label matching" and "Values").

pub mod date;
pub mod label;
pub mod number;

pub use date::{parse_french_date, DateInterval, Precision, Ymd};
pub use label::{labels_match, normalize_label};
pub use number::{parse_french_number, ParsedNumber, Unit};
