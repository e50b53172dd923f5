//! The campaign dashboard's rows and counts: every expected return with its
//! latest submission, its verdict (« à vérifier » when the file is another
//! return), its decision, and whether it passes the filters.

use super::returns::{dated, deposit_link, mismatch_of, stamp_fr};
use crate::web::pages::{DashRow, Filters, Tally};
use crate::web::store::kinds::{Status, Word};
use crate::web::store::DecisionKind;
use crate::web::{Shared, WebError};

/// The rows that pass `filters`, and the counts of all rows.
pub fn rows(state: &Shared, id: i64, filters: &Filters) -> Result<(Vec<DashRow>, Tally), WebError> {
    let all = state.store.dashboard(id)?;
    let mut tally = Tally {
        expected: all.len(),
        received: 0,
        conforme: 0,
        a_corriger: 0,
        a_verifier: 0,
        missing: 0,
        waiting_decision: 0,
    };
    let mut rows = Vec::new();
    for r in all {
        let checked = r.latest.as_ref().filter(|s| s.is_checked());
        let mismatch = checked.and_then(|s| mismatch_of(&r.expected, s));
        // Another organisation's or another template's file never counts as
        // this return: its status is « à vérifier », counted apart.
        let verdict = match mismatch {
            Some(_) => None,
            None => checked.and_then(|s| s.statut),
        };
        // The filter's word: the stored verdict, or `a_verifier`.
        let status = match (mismatch, verdict) {
            (Some(_), _) => "a_verifier".to_string(),
            (None, Some(v)) => v.word().to_string(),
            (None, None) => String::new(),
        };
        let decided_latest = match (&r.decision, &r.latest) {
            (Some(d), Some(s)) => d.depot_id == Some(s.id),
            _ => false,
        };
        let to_correct = verdict == Some(Status::NonConforme)
            || (decided_latest
                && r.decision
                    .as_ref()
                    .is_some_and(|d| d.decision == DecisionKind::ToCorrect));
        if r.latest.is_some() {
            tally.received += 1;
            if !decided_latest {
                tally.waiting_decision += 1;
            }
            if mismatch.is_some() {
                tally.a_verifier += 1;
            } else if to_correct {
                tally.a_corriger += 1;
            } else if checked.is_some() {
                tally.conforme += 1;
            }
        } else {
            tally.missing += 1;
        }
        let keep = (filters.modele.is_empty() || r.expected.modele == filters.modele)
            && (filters.statut.is_empty() || status == filters.statut)
            && (!filters.manquants || r.latest.is_none())
            && (!filters.a_decider || (r.latest.is_some() && !decided_latest));
        if !keep {
            continue;
        }
        let status_label = match (&r.latest, mismatch, verdict) {
            (None, _, _) => "Manquant",
            (Some(_), Some(m), _) => m.label(),
            (Some(_), None, Some(v)) => v.label_fr(),
            (Some(_), None, None) => "Contrôle en cours",
        }
        .to_string();
        let link = deposit_link(state, &r.expected.jeton);
        rows.push(DashRow {
            received: r.latest.as_ref().map(|s| stamp_fr(&s.recu_le)),
            file: r.latest.as_ref().map(|s| s.nom_fichier.clone()),
            state: r.latest.as_ref().map(|s| s.etat.to_string()).unwrap_or_default(),
            counts: checked.map(|s| {
                [
                    s.erreurs.unwrap_or(0),
                    s.avertissements.unwrap_or(0),
                    s.informations.unwrap_or(0),
                    s.justifies.unwrap_or(0),
                ]
            }),
            status,
            status_label,
            versions: r.versions,
            decision: r.decision.map(dated),
            link,
            expected: r.expected,
        });
    }
    Ok((rows, tally))
}
