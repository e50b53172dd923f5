//! What the desk does, below its routes: the HTML pages and the API call
//! the same services and only render differently. [`submissions`]: a return
//! received, stored, checked and recorded, and the background checker;
//! [`campaigns`]: a campaign created; [`dashboard`]: its rows and counts; [`returns`]: what a return shows;
//! [`intake`]: reading an upload. Here: a stored submission read back as the
//! batch reporters want it.

pub mod campaigns;
pub mod dashboard;
pub mod intake;
pub mod returns;
pub mod submissions;

use crate::outcome::wire::WireFile;
use crate::outcome::{FileReport, Summary};
use crate::web::store::Submission;

/// A stored submission as the batch reporters want it.
pub fn summary_of(sub: &Submission, annotated: Option<String>) -> Option<Summary> {
    let wire: WireFile = serde_json::from_str(sub.rapport.as_deref()?).ok()?;
    let view: Option<crate::web::view::FileView> = sub.vue.as_deref().and_then(|x| serde_json::from_str(x).ok());
    let report = FileReport {
        path: sub.nom_fichier.clone(),
        ..wire.into_report()
    };
    Some(Summary {
        report,
        key_rows: view.map(|v| v.key_rows).unwrap_or_default(),
        annotated,
        review: None,
        cross: None,
    })
}
