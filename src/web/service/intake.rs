//! How the desk reads an upload, for every door that takes files: the
//! announced length refused at once when too large, then the multipart body
//! streamed to temporary files under the size limit ([`crate::web::upload`]).

use axum::extract::Multipart;
use axum::http::HeaderMap;

use crate::web::upload::{self, read_form, Form};
use crate::web::{Shared, WebError};

/// Which door a request came through: a page's form (with its CSRF field,
/// bound to the browser's session) or the API (no cookie: nothing to forge).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    Page,
    Api,
}

impl Door {
    /// What a send without its file is told.
    pub fn no_file_to_send(self) -> &'static str {
        match self {
            Door::Page => "Choisissez le fichier à envoyer.",
            Door::Api => NO_FILE_FIELD,
        }
    }

    /// What a self-check without a file is told.
    pub fn no_file_to_check(self) -> &'static str {
        match self {
            Door::Page => "Choisissez au moins un fichier à contrôler.",
            Door::Api => NO_FILE_FIELD,
        }
    }
}

/// Files in one self-check (page or API).
pub const SELF_CHECK_FILES: usize = 20;

const NO_FILE_FIELD: &str = "Aucun fichier : envoyez le champ « fichier ».";

/// Reads an upload of at most `max_files` files of the desk's size limit and
/// a few short text fields.
pub async fn read_upload(
    state: &Shared,
    headers: &HeaderMap,
    multipart: Multipart,
    door: Door,
    max_files: usize,
) -> Result<Form, WebError> {
    upload::check_length(headers, state.config.max_file_size * max_files as u64 + 1_000_000)?;
    read_form(
        multipart,
        &state.store.data_dir().join("tmp"),
        upload::Limits {
            max_file: state.config.max_file_size,
            max_text: upload::MAX_TEXT_FIELD,
            max_files,
            csrf: (door == Door::Page).then(|| (headers.clone(), state.config.secure_cookies)),
        },
    )
    .await
}
