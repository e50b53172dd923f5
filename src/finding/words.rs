//! The French words of findings: severities, statuses, counts (moved from
//! `base::messages`, which sits below `finding`).

use crate::base::messages::plural;
use crate::finding::{Counts, Severity, Status};

/// A severity inside a sentence or on a terminal line: `erreur`.
pub fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "erreur",
        Severity::Warning => "avertissement",
        Severity::Info => "information",
    }
}

/// A severity as a cell value or a heading: `Erreur`.
pub fn severity_title(s: Severity) -> &'static str {
    match s {
        Severity::Error => "Erreur",
        Severity::Warning => "Avertissement",
        Severity::Info => "Information",
    }
}

/// The verdict on a return: `Conforme`, `Conforme avec réserves`, `Non conforme`.
pub fn status(s: Status) -> &'static str {
    match s {
        Status::Conforme => "Conforme",
        Status::ConformeAvecReserves => "Conforme avec réserves",
        Status::NonConforme => "Non conforme",
    }
}

/// `5 erreurs, 1 avertissement, 0 information`.
pub fn counts(c: Counts) -> String {
    format!(
        "{}, {}, {}",
        plural(c.error, "erreur", "erreurs"),
        plural(c.warning, "avertissement", "avertissements"),
        plural(c.info, "information", "informations")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_french_rules() {
        assert_eq!(
            counts(Counts {
                error: 0,
                warning: 1,
                info: 2,
                ..Counts::default()
            }),
            "0 erreur, 1 avertissement, 2 informations"
        );
    }
}
