//! The French of a [`ReadError`] (moved from `base::messages`, which sits below `read`).

use crate::base::messages::{cap, damaged, looks_technical};
use crate::pipeline::read::ReadError;

/// The French message of a file that could not be read, and the technical text
/// behind it (for the JSON `detail` field) when there is one: a library's
/// English never reaches the submitter.
pub fn read_error(e: &ReadError) -> (String, Option<String>) {
    match e {
        ReadError::Corrupt { format, detail } => {
            let technical = looks_technical(detail).then(|| detail.clone());
            let explained = if technical.is_some() {
                damaged(detail)
            } else {
                detail.clone()
            };
            (
                cap(&format!("le classeur est endommagé ({format}) : {explained}")),
                technical,
            )
        }
        ReadError::Crashed(how) => {
            let technical = looks_technical(how).then(|| how.clone());
            let shown = if technical.is_some() {
                "le lecteur de classeur s'est arrêté".to_string()
            } else {
                how.clone()
            };
            (cap(&ReadError::Crashed(shown).to_string()), technical)
        }
        ReadError::Io(text) if looks_technical(text) => (
            cap("le fichier est introuvable ou illisible : erreur d'entrée-sortie"),
            Some(text.clone()),
        ),
        other => (cap(&other.to_string()), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damaged_files_explained_in_french() {
        let (message, detail) = read_error(&ReadError::Corrupt {
            format: "xlsx".into(),
            detail: "feuille « A » : Unexpected end of xml".into(),
        });
        assert!(
            message.starts_with("Le classeur est endommagé (xlsx) : feuille « A » : le contenu"),
            "{message}"
        );
        assert_eq!(detail.as_deref(), Some("feuille « A » : Unexpected end of xml"));
    }
}
