//! Receiving files: the multipart body is streamed to a temporary file in the
//! data folder, counted and hashed on the way, and refused as soon as it passes
//! the size limit (never read whole into memory). Then a file is either stored
//! under its SHA-256 (`fichiers/ab/abcd….xlsx`) or removed.
//!
//! No path is built from what the client sends: the temporary name is random,
//! the stored name is the hash, and the extension is one of a fixed list.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use axum::extract::Multipart;
use axum::http::HeaderMap;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::auth::{random_token, Csrf};
use super::error::WebError;

/// Longest text field accepted in a form anyone may send (spec: 64 KB).
pub const MAX_TEXT_FIELD: usize = 64 * 1024;
/// Text fields accepted in one form besides its files (spec: 10).
pub const MAX_TEXT_FIELDS: usize = 10;
/// Extensions a stored file may keep (anything else is stored without one).
const EXTENSIONS: &[&str] = &["xlsx", "xlsm", "xlsb", "xls", "ods"];

/// A file received, in the temporary folder until stored; removed if dropped.
pub struct Received {
    /// The name the user gave, cleaned (for display and download names only).
    pub name: String,
    pub sha256: String,
    pub size: u64,
    pub extension: &'static str,
    temp: PathBuf,
}

impl Received {
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Stores the file under its hash; returns the path relative to `data`,
    /// and whether this call put it there (false: the same content was
    /// already stored, checked whole by its hash).
    pub fn store(self, data: &Path) -> Result<(String, bool), WebError> {
        let dir = format!("fichiers/{}", &self.sha256[..2]);
        let relative = if self.extension.is_empty() {
            format!("{dir}/{}", self.sha256)
        } else {
            format!("{dir}/{}.{}", self.sha256, self.extension)
        };
        std::fs::create_dir_all(data.join(&dir)).map_err(|e| WebError::storage("dossier des fichiers", &e))?;
        let target = data.join(&relative);
        if file_digest(&target).is_ok_and(|(sha, size)| sha == self.sha256 && size == self.size) {
            // Same content already stored, whole: nothing to write.
            return Ok((relative, false));
        }
        std::fs::rename(&self.temp, &target).map_err(|e| WebError::storage("rangement du fichier", &e))?;
        // The rename itself reaches the disk before the row does.
        if let Ok(d) = std::fs::File::open(data.join(&dir)) {
            d.sync_all()
                .map_err(|e| WebError::storage("rangement du fichier", &e))?;
        }
        Ok((relative, true))
    }
}

impl Drop for Received {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.temp);
    }
}

/// SHA-256 and size of a file, read back from the disk.
pub fn file_digest(path: &Path) -> std::io::Result<(String, u64)> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((crate::base::format::hex(&hasher.finalize()), size))
}

/// A form as received: its text fields and its files.
pub struct Form {
    pub fields: HashMap<String, String>,
    pub files: Vec<Received>,
}

impl Form {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

/// The name a user gave a file, without any folder, control character or
/// excessive length.
pub fn clean_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let cleaned: String = base
        .chars()
        .filter(|c| {
            !c.is_control()
                && !matches!(
                    c,
                    '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{2028}' | '\u{2029}'
                )
        })
        .take(200)
        .collect();
    let cleaned = cleaned.trim().to_string();
    if cleaned.is_empty() {
        "fichier".to_string()
    } else {
        cleaned
    }
}

fn extension_of(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    EXTENSIONS.iter().find(|e| **e == ext).copied().unwrap_or("")
}

/// Options of [`read_form`].
pub struct Limits {
    pub max_file: u64,
    /// Longest text field ([`MAX_TEXT_FIELD`] for forms anyone may send).
    pub max_text: usize,
    pub max_files: usize,
    /// Form posted by a page (its headers, and whether served over HTTPS): the
    /// `csrf` field must come first and be this session's token.
    pub csrf: Option<(HeaderMap, bool)>,
}

fn multipart_err(e: axum::extract::multipart::MultipartError) -> WebError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        return WebError::TooLarge(0);
    }
    WebError::BadRequest("Envoi interrompu ou mal formé : rien n'a été enregistré. Réessayez.".to_string())
}

/// Reads a multipart form, streaming each file to `tmp`.
pub async fn read_form(mut mp: Multipart, tmp: &Path, limits: Limits) -> Result<Form, WebError> {
    let mut form = Form {
        fields: HashMap::new(),
        files: Vec::new(),
    };
    let mut csrf_ok = limits.csrf.is_none();
    let mut texts = 0usize;
    while let Some(mut field) = mp.next_field().await.map_err(multipart_err)? {
        let name = field.name().unwrap_or_default().to_string();
        if let Some(file_name) = field.file_name().map(str::to_string) {
            if !csrf_ok {
                return Err(WebError::Csrf);
            }
            if file_name.is_empty() {
                // An empty file input: the browser sends a part without a name.
                while field.chunk().await.map_err(multipart_err)?.is_some() {}
                continue;
            }
            if form.files.len() >= limits.max_files {
                return Err(WebError::BadRequest(format!(
                    "Trop de fichiers en un envoi : {} au plus.",
                    limits.max_files
                )));
            }
            let clean = clean_name(&file_name);
            let temp = tmp.join(format!("envoi-{}", random_token()?));
            let mut received = Received {
                extension: extension_of(&clean),
                name: clean,
                sha256: String::new(),
                size: 0,
                temp: temp.clone(),
            };
            let mut out = tokio::fs::File::create(&temp)
                .await
                .map_err(|e| WebError::storage("fichier temporaire", &e))?;
            let mut hasher = Sha256::new();
            while let Some(chunk) = field.chunk().await.map_err(multipart_err)? {
                received.size += chunk.len() as u64;
                if received.size > limits.max_file {
                    // `received` is dropped: the partial file is removed.
                    return Err(WebError::TooLarge(limits.max_file));
                }
                hasher.update(&chunk);
                out.write_all(&chunk)
                    .await
                    .map_err(|e| WebError::storage("écriture du fichier reçu", &e))?;
            }
            // tokio writes in the background: `flush` reports the last write's
            // error (`sync_all` alone would drop it), then the data reaches the disk.
            out.flush()
                .await
                .map_err(|e| WebError::storage("écriture du fichier reçu", &e))?;
            out.sync_all()
                .await
                .map_err(|e| WebError::storage("écriture du fichier reçu", &e))?;
            drop(out);
            received.sha256 = crate::base::format::hex(&hasher.finalize());
            // Read back: what is on the disk is what was sent, whole.
            let (path, want, size) = (temp.clone(), received.sha256.clone(), received.size);
            let back = tokio::task::spawn_blocking(move || file_digest(&path))
                .await
                .map_err(|e| WebError::Internal(format!("relecture interrompue : {e}")))?
                .map_err(|e| WebError::storage("relecture du fichier reçu", &e))?;
            if back != (want, size) {
                return Err(WebError::Storage(
                    std::io::ErrorKind::Other,
                    format!(
                        "le fichier relu ne correspond pas à l'envoi ({} octets relus sur {})",
                        back.1, size
                    ),
                ));
            }
            form.files.push(received);
        } else {
            texts += 1;
            if texts > MAX_TEXT_FIELDS {
                return Err(WebError::FormTooLarge(MAX_TEXT_FIELDS, MAX_TEXT_FIELD));
            }
            let mut text = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(multipart_err)? {
                if text.len() + chunk.len() > limits.max_text {
                    return Err(WebError::FormTooLarge(MAX_TEXT_FIELDS, limits.max_text));
                }
                text.extend_from_slice(&chunk);
            }
            let text = String::from_utf8_lossy(&text).into_owned();
            if name == "csrf" {
                if let Some((headers, secure)) = &limits.csrf {
                    Csrf::verify(headers, *secure, Some(&text))?;
                    csrf_ok = true;
                }
            }
            form.fields.insert(name, text);
        }
    }
    if !csrf_ok {
        return Err(WebError::Csrf);
    }
    Ok(form)
}

/// Refuses at once a request that announces more than it may send.
pub fn check_length(headers: &HeaderMap, max_total: u64) -> Result<(), WebError> {
    let announced = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match announced {
        Some(n) if n > max_total => Err(WebError::TooLarge(max_total)),
        _ => Ok(()),
    }
}
