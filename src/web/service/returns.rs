//! What a return shows, to its submitter, its reviewers and the API alike:
//! the numbers of its submissions, their dates, the receipt said after a
//! send, and whether a file is another return than the one expected.

use crate::web::store::{Decision, Expected, Submission, SubmissionState};
use crate::web::Shared;

/// The submissions of one return numbered 1, 2, 3… in the order they came
/// (`submissions` is newest first): the number the page, the dashboard and the
/// API show.
pub fn numbers(submissions: &[Submission]) -> std::collections::HashMap<i64, i64> {
    let n = submissions.len() as i64;
    submissions
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id, n - i as i64))
        .collect()
}

/// A stored time (`2026-12-07T16:28:03Z`) as people read it, in local time:
/// `07/12/2026 à 17:28` (the same form as every report's date of check).
pub fn stamp_fr(stored: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(stored)
        .map(|t| crate::base::messages::checked_at(t.with_timezone(&chrono::Utc)))
        .unwrap_or_else(|_| stored.to_string())
}

/// A decision with its date as people read it.
pub fn dated(mut d: Decision) -> Decision {
    d.decide_le = stamp_fr(&d.decide_le);
    d
}

/// What the submitter reads after « Envoyer à la Région ».
pub fn receipt(expected: &Expected, s: &Submission, number: i64) -> String {
    let head = format!(
        "Votre fichier « {} » a bien été reçu par la Région le {} (envoi n° {number}) et enregistré.",
        s.nom_fichier,
        stamp_fr(&s.recu_le)
    );
    match (s.etat, mismatch_of(expected, s)) {
        (_, Some(_)) => format!("{head} Attention : ce n'est pas le retour attendu par ce lien (voir ci-dessous)."),
        (SubmissionState::Checked, None) => format!("{head} Son contrôle est ci-dessous."),
        _ => format!("{head} Son contrôle est en cours : rechargez la page dans un instant."),
    }
}

/// How a checked file differs from the return its link expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mismatch {
    /// Another template than the expected one (or none recognised).
    Template,
    /// The expected template, another organisation.
    Organisation,
}

impl Mismatch {
    /// The dashboard's words: « À vérifier : autre modèle ».
    pub fn label(self) -> &'static str {
        match self {
            Mismatch::Template => "À vérifier : autre modèle",
            Mismatch::Organisation => "À vérifier : autre organisation",
        }
    }

    /// The value in JSON answers and the dashboard's filter.
    pub fn code(self) -> &'static str {
        match self {
            Mismatch::Template => "autre_modele",
            Mismatch::Organisation => "autre_organisation",
        }
    }
}

/// Whether a checked submission is another return than the one expected: such
/// a file is kept (nothing is lost) but never counts as the expected return.
/// An organisation is compared as labels are (case, accents and spaces aside).
pub fn mismatch_of(expected: &Expected, s: &Submission) -> Option<Mismatch> {
    if !s.is_checked() {
        return None;
    }
    // A file whose template or organisation could not be read is not another
    // return: it is « Non conforme », and its findings say why.
    if s.modele.as_deref().is_some_and(|m| m != expected.modele) {
        return Some(Mismatch::Template);
    }
    let norm = crate::base::values::normalize_label;
    match s.organisation.as_deref() {
        Some(o) if norm(o) != norm(&expected.organisation) => Some(Mismatch::Organisation),
        _ => None,
    }
}

/// The same, said to the submitter in words.
pub fn mismatch(expected: &Expected, s: &Submission) -> Option<String> {
    let kind = mismatch_of(expected, s)?;
    let what = match kind {
        Mismatch::Template => "Il ne compte pas comme le retour attendu",
        Mismatch::Organisation => "Il ne compte pas comme le retour de votre organisation",
    };
    Some(format!(
        "Ce fichier est un retour {} de « {} », alors que ce lien attend le retour {} de « {} ». {what} : il est conservé, mais la Région le vérifiera avant tout. Si vous vous êtes trompé de classeur, envoyez le bon.",
        s.modele.as_deref().unwrap_or_default(),
        s.organisation.as_deref().unwrap_or_default(),
        expected.modele,
        expected.organisation
    ))
}

/// The full address of a submitter's link.
pub fn deposit_link(state: &Shared, jeton: &str) -> String {
    let base = state
        .config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", state.config.bind));
    format!("{base}/depot/{jeton}")
}
