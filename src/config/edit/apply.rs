//! The shell of an edit: reading the file with its digest, and [`apply`], the one way a change
//! reaches the disk: the file must still be what the editor read (BLAKE3 of its bytes), the edit is
//! validated whole, written atomically (a temporary file in the same directory, fsync, rename,
//! fsync of the directory; the file's mode kept), reloaded, put back when the reload refuses, and
//! recorded as a version in the history.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::history::History;
use super::{Document, EditError};
use crate::config::DEFAULT_TOML;
use crate::runtime::Report;
use crate::service::Actor;

/// Which file the admin UI edits and where its versions are kept.
#[derive(Debug, Clone)]
pub struct Target {
    /// `serve --config FILE`'s file, else `<data_dir>/sluice.toml` (see [`crate::config::located`]).
    pub path: PathBuf,
    /// The history is `<data_dir>/config-history/`.
    pub data_dir: PathBuf,
    /// Versions kept (`admin.config_history`).
    pub keep: usize,
}

/// The file as an editor reads it: its text and the digest a save must present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The file's text; the embedded defaults' text when it does not exist yet (what it would
    /// be written from).
    pub text: String,
    /// BLAKE3 (hex) of `text`'s bytes.
    pub digest: String,
    /// Whether the file exists (else the first save creates it).
    pub exists: bool,
}

/// What an applied change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The version recorded (`None`: the edit changed nothing, so nothing was written).
    pub version: Option<u64>,
    /// Changed keys that take effect only at the next restart (wholly or in part).
    pub restart_needed: Vec<String>,
    /// What was done, one line per operation.
    pub changes: Vec<String>,
    /// The digest of the file now (for the next save).
    pub digest: String,
}

/// One change at a time in this process (the file, its history and the reload).
static ONE: Mutex<()> = Mutex::new(());

fn digest(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

fn io(path: &Path, e: impl std::fmt::Display) -> EditError {
    EditError::Io(format!("{}: {e}", path.display()))
}

/// Reads the file being edited.
pub fn read(target: &Target) -> Result<Snapshot, EditError> {
    let (bytes, exists) = match crate::file::read(&target.path, crate::file::MAX_CONFIG) {
        Ok(b) => (b, true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            (DEFAULT_TOML.as_bytes().to_vec(), false)
        }
        Err(e) => return Err(io(&target.path, e)),
    };
    let digest = digest(&bytes);
    let text = String::from_utf8(bytes).map_err(|_| io(&target.path, "not UTF-8"))?;
    Ok(Snapshot {
        text,
        digest,
        exists,
    })
}

/// Applies `edit` to the file: refused with [`EditError::Conflict`] when the file's digest is
/// no longer `expected`; the result validated whole, written atomically, then `reload`ed (the
/// server's `Reloader::reload`); a refused reload puts the previous file back and returns the
/// refusal. The change is recorded as a version by `by` at `at` (Unix seconds).
pub fn apply<F>(
    target: &Target,
    expected: &str,
    edit: F,
    by: &Actor,
    at: u64,
    reload: impl FnOnce() -> Result<Report, String>,
) -> Result<Applied, EditError>
where
    F: FnOnce(&mut Document) -> Result<(), EditError>,
{
    let _one = ONE.lock().unwrap_or_else(|e| e.into_inner());
    let before = read(target)?;
    if before.digest != expected {
        return Err(EditError::Conflict);
    }
    let mut doc = Document::new(before.text.clone());
    edit(&mut doc)?;
    if doc.text() == before.text && before.exists {
        return Ok(Applied {
            version: None,
            restart_needed: Vec::new(),
            changes: Vec::new(),
            digest: before.digest,
        });
    }
    super::validate(doc.text(), None)?;
    let mode = std::fs::metadata(&target.path)
        .ok()
        .map(|m| m.permissions().mode());
    write(&target.path, doc.text().as_bytes(), mode)?;
    let report = match reload() {
        Ok(r) => r,
        Err(refusal) => {
            let back = match before.exists {
                true => write(&target.path, before.text.as_bytes(), mode),
                false => std::fs::remove_file(&target.path).map_err(|e| io(&target.path, e)),
            };
            if let Err(e) = back {
                tracing::error!(error = %e, "the previous configuration file could not be put back");
                return Err(EditError::ReloadRefused(format!(
                    "{refusal}; and putting the previous file back failed: {e}"
                )));
            }
            return Err(EditError::ReloadRefused(refusal));
        }
    };
    let mut changes = doc.changes().to_vec();
    if changes.is_empty() {
        changes.push("wrote the file".into());
    }
    let history = History::at(&target.data_dir);
    let version = history.record(
        &before.text,
        doc.text(),
        &super::history::Meta {
            by: by.as_str().to_string(),
            at,
            what: changes.clone(),
            file: target.path.clone(),
        },
        target.keep,
    );
    let version = match version {
        Ok(v) => Some(v),
        Err(e) => {
            // The change is in force; only its record is missing. Said once, here.
            tracing::error!(error = %e, "the configuration change was applied but its version could not be recorded");
            None
        }
    };
    Ok(Applied {
        version,
        restart_needed: report
            .changes
            .restart
            .iter()
            .map(|(k, _)| k.clone())
            .collect(),
        changes,
        digest: digest(doc.text().as_bytes()),
    })
}

/// Applies version `n`'s text (through the same checks, write and reload as any change; the
/// rollback is itself a new version).
pub fn rollback(
    target: &Target,
    expected: &str,
    n: u64,
    by: &Actor,
    at: u64,
    reload: impl FnOnce() -> Result<Report, String>,
) -> Result<Applied, EditError> {
    let text = History::at(&target.data_dir).text(n)?;
    apply(
        target,
        expected,
        |doc| doc.replace_text(&text, &format!("rolled back to version {n}")),
        by,
        at,
        reload,
    )
}

/// Replaces `path` with `bytes` atomically (`file::write_atomic`), creating its directory, with
/// mode `mode` (else 0600).
pub(super) fn write(path: &Path, bytes: &[u8], mode: Option<u32>) -> Result<(), EditError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    }
    crate::file::write_atomic(path, bytes, mode.unwrap_or(0o600)).map_err(|e| io(path, e))
}
