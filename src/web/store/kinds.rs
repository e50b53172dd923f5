//! The words the store keeps in a column, as types: a submission's state, its
//! verdict, a reviewer's decision. Each is written and read through
//! `ToSql`/`FromSql`, so no SQL call site spells them; the schema's `CHECK`
//! constraints (migration 4) list the same words, and a word the desk does not
//! know, read back from the database, is an [`UnknownValue`] error.

use std::fmt;
use std::str::FromStr;

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::Serialize;

pub use crate::finding::Status;

/// A word found in a column that the desk does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("base de données : valeur inconnue « {value} » dans la colonne « {column} »")]
pub struct UnknownValue {
    pub column: &'static str,
    pub value: String,
}

/// A type whose values are stored as a fixed list of words.
pub trait Word: Sized + Copy + 'static {
    /// Every value, in the order of the schema's `CHECK` list.
    const ALL: &'static [Self];
    /// The column (for the error message).
    const COLUMN: &'static str;
    /// The stored word.
    fn word(self) -> &'static str;

    /// The value of a stored word.
    fn from_word(s: &str) -> Result<Self, UnknownValue> {
        Self::ALL
            .iter()
            .copied()
            .find(|v| v.word() == s)
            .ok_or_else(|| UnknownValue {
                column: Self::COLUMN,
                value: s.to_string(),
            })
    }
}

fn to_sql<T: Word>(v: T) -> ToSqlOutput<'static> {
    ToSqlOutput::from(v.word())
}

fn from_sql<T: Word>(value: ValueRef<'_>) -> FromSqlResult<T> {
    T::from_word(value.as_str()?).map_err(|e| FromSqlError::Other(Box::new(e)))
}

/// `FromStr`, `Display`, `ToSql` and `FromSql` of a [`Word`] type.
macro_rules! stored_word {
    ($t:ty) => {
        impl ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(to_sql(*self))
            }
        }
        impl FromSql for $t {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                from_sql(value)
            }
        }
    };
    ($t:ty, display) => {
        stored_word!($t);
        impl FromStr for $t {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, UnknownValue> {
                Self::from_word(s)
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl $t {
            pub fn as_str(self) -> &'static str {
                self.word()
            }
        }
    };
}

/// Where a submission is: stored and waiting for its check, or checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SubmissionState {
    #[serde(rename = "en_attente")]
    Pending,
    #[serde(rename = "controle")]
    Checked,
}

impl Word for SubmissionState {
    const ALL: &'static [Self] = &[SubmissionState::Pending, SubmissionState::Checked];
    const COLUMN: &'static str = "depots.etat";
    fn word(self) -> &'static str {
        match self {
            SubmissionState::Pending => "en_attente",
            SubmissionState::Checked => "controle",
        }
    }
}
stored_word!(SubmissionState, display);

/// A reviewer's decision on a return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DecisionKind {
    #[serde(rename = "acceptee")]
    Accepted,
    #[serde(rename = "a_corriger")]
    ToCorrect,
}

impl Word for DecisionKind {
    const ALL: &'static [Self] = &[DecisionKind::Accepted, DecisionKind::ToCorrect];
    const COLUMN: &'static str = "decisions.decision";
    fn word(self) -> &'static str {
        match self {
            DecisionKind::Accepted => "acceptee",
            DecisionKind::ToCorrect => "a_corriger",
        }
    }
}
stored_word!(DecisionKind, display);

impl DecisionKind {
    /// `Acceptée`, `À corriger`.
    pub fn label_fr(self) -> &'static str {
        match self {
            DecisionKind::Accepted => "Acceptée",
            DecisionKind::ToCorrect => "À corriger",
        }
    }
}

/// The verdict of a checked submission: the engine's [`Status`], stored by
/// its JSON word (`conforme`, `conforme_avec_reserves`, `non_conforme`).
impl Word for Status {
    const ALL: &'static [Self] = &[Status::Conforme, Status::ConformeAvecReserves, Status::NonConforme];
    const COLUMN: &'static str = "depots.statut";
    fn word(self) -> &'static str {
        match self {
            Status::Conforme => "conforme",
            Status::ConformeAvecReserves => "conforme_avec_reserves",
            Status::NonConforme => "non_conforme",
        }
    }
}
stored_word!(Status);

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Word + PartialEq + fmt::Debug + Serialize>() {
        for v in T::ALL {
            assert_eq!(T::from_word(v.word()), Ok(*v));
            // The stored word is the one the JSON answers and reports use.
            assert_eq!(serde_json::to_value(v).ok(), Some(serde_json::Value::from(v.word())));
        }
        let e = T::from_word("inconnu").err();
        assert_eq!(e.map(|e| e.column), Some(T::COLUMN));
    }

    #[test]
    fn every_word_reads_back_and_matches_its_json_form() {
        round_trip::<SubmissionState>();
        round_trip::<DecisionKind>();
        round_trip::<Status>();
        assert_eq!("a_corriger".parse::<DecisionKind>(), Ok(DecisionKind::ToCorrect));
        assert!("refusee".parse::<DecisionKind>().is_err());
    }
}
