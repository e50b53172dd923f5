//! Layer 2, `pipeline`: one file's bytes → its [`check::FileReport`], pure (no
//! file written, no process started). One module per stage: [`read`] →
//! [`template`] (detection) → [`extract`] → [`validate`] → [`rules`] (with the
//! campaign's data in `rules::campaign`) → [`campaign`] (loading a campaign,
//! CAMP-001/002) → [`justify`]; [`check`] chains them.
//!
//! Imports only `base` and `finding`.

pub mod campaign;
pub mod check;
pub mod extract;
pub mod file_report;
pub mod justify;
pub mod read;
pub mod rules;
pub mod template;
pub mod validate;
