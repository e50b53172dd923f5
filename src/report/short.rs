//! One line per finding: `file:Sheet!C7: error[POLE-FIN-001] message`.

use crate::check::FileReport;

pub fn render(r: &FileReport) -> String {
    let mut out = String::new();
    for f in &r.findings {
        let place = match (&f.sheet, f.cell) {
            (Some(s), Some(c)) => format!("{}:{s}!{c}", r.path),
            (Some(s), None) => format!("{}:{s}", r.path),
            _ => r.path.clone(),
        };
        let justified = match f.justification.as_ref().filter(|_| f.is_justified()) {
            Some(j) => format!(" [justifié : {j}]"),
            None => String::new(),
        };
        out.push_str(&format!(
            "{place}: {}[{}] {}{justified}\n",
            f.severity, f.rule, f.message
        ));
    }
    out
}
