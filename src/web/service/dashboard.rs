//! The campaign dashboard's rows and counts: every expected return with its
//! latest submission, its verdict (« à vérifier » when the file is another
//! return), its decision, and whether it passes the filters.

use super::returns::{dated, deposit_link, mismatch_of, stamp_fr};
use crate::web::pages::{DashRow, Filters, Tally};
use crate::web::store::kinds::Word;
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
        let status = match mismatch {
            Some(_) => "a_verifier".to_string(),
            None => checked
                .and_then(|s| s.statut)
                .map(|s| s.word().to_string())
                .unwrap_or_default(),
        };
        let decided_latest = match (&r.decision, &r.latest) {
            (Some(d), Some(s)) => d.depot_id == Some(s.id),
            _ => false,
        };
        let to_correct = status == "non_conforme"
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
        let status_label = match (&r.latest, mismatch, status.as_str()) {
            (None, _, _) => "Manquant".to_string(),
            (Some(_), Some(m), _) => m.label().to_string(),
            (Some(_), None, "conforme") => "Conforme".to_string(),
            (Some(_), None, "conforme_avec_reserves") => "Conforme avec réserves".to_string(),
            (Some(_), None, "non_conforme") => "Non conforme".to_string(),
            (Some(_), None, _) => "Contrôle en cours".to_string(),
        };
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
