//! One line per finding: `file › Sheet!C7 : erreur POLE-FIN-001 : message`.

use crate::check::FileReport;

pub fn render(r: &FileReport) -> String {
    let mut out = String::new();
    for f in &r.findings {
        let place = match (&f.sheet, f.cell) {
            (Some(s), Some(c)) => format!("{} › {s}!{c}", r.path),
            (Some(s), None) => format!("{} › {s}", r.path),
            _ => r.path.clone(),
        };
        out.push_str(&format!(
            "{place} : {} {} : {}\n",
            crate::messages::severity(f.severity),
            f.rule,
            f.message.replace(['\n', '\r'], " ")
        ));
    }
    out
}
