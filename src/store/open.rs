//! Opening a store, the one path the server and every CLI command share: the store's marker (a
//! store that existed is never silently re-created empty), the structural check of the data file
//! (`check`) before LMDB touches any page but the meta pages, then LMDB itself.
//!
//! The marker, `<store>/store.marker`, is written the first time a store is opened (and beside any
//! existing store that lacks one). When it is there but `data.mdb` is missing or empty, the store
//! was lost (deleted, truncated to nothing, a failed disk swap): opening it would start an empty
//! store and hand out ids and links again from 1. That is refused until the administrator restores
//! a backup (`sluice restore`, which may re-create it) or removes the marker deliberately.

use std::io::Write;
use std::path::Path;

use heed::{Env, WithoutTls};

use super::check::{self, Damage};
use super::{Result, StoreError};

/// The marker file beside `data.mdb`.
pub const MARKER: &str = "store.marker";

/// The LMDB data file in a store directory.
pub const DATA_FILE: &str = "data.mdb";

/// Who opens the store, which decides what may happen to a missing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The server: creates a new store, but never re-creates one the marker says existed.
    Serve,
    /// A CLI command: the store must exist.
    Existing,
    /// `sluice restore`: may (re-)create the store it is about to fill.
    Restore,
}

/// Checks what is in `dir` before LMDB opens it: the marker against the data file, and the data
/// file's meta pages (read, not mapped). Returns whether a data file with content is there.
pub(super) fn before(dir: &Path, mode: Mode) -> Result<bool> {
    let data = dir.join(DATA_FILE);
    let len = match std::fs::metadata(&data) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(StoreError::Io(format!("{}: {e}", data.display()))),
    };
    if len > 0 {
        let file = std::fs::File::open(&data)
            .map_err(|e| StoreError::Io(format!("{}: {e}", data.display())))?;
        check::check_metas(&file).map_err(|d| corrupt(&data, d))?;
        return Ok(true);
    }
    let marker = dir.join(MARKER);
    match mode {
        Mode::Serve | Mode::Existing if marker.exists() => Err(StoreError::Lost(format!(
            "{} is {}, but {} says a store was created here: its held messages, incidents and \
             queue are gone. Restore the latest backup with `sluice restore FILE`, or, to start \
             an empty store on purpose, remove {}",
            data.display(),
            if data.exists() { "empty" } else { "missing" },
            marker.display(),
            marker.display()
        ))),
        Mode::Existing => Err(StoreError::NotFound(format!("store at {}", dir.display()))),
        Mode::Serve | Mode::Restore => Ok(false),
    }
}

/// After LMDB opened the file: checks every page of the snapshot a read transaction pins (so a
/// writer in another process cannot reuse its pages meanwhile), then makes sure of the marker.
pub(super) fn after(env: &Env<WithoutTls>, dir: &Path) -> Result<()> {
    let data = dir.join(DATA_FILE);
    {
        let _pin = env.read_txn()?;
        let file = std::fs::File::open(&data)
            .map_err(|e| StoreError::Io(format!("{}: {e}", data.display())))?;
        let mut attempts = 0;
        loop {
            let before = check::check_metas(&file).map_err(|d| corrupt(&data, d))?;
            match check::check(&file) {
                Ok(_) => break,
                // Another process committed while the file was read (a meta page changed under
                // the walk): the pinned snapshot is still sound; look again.
                Err(_) if attempts < 3 && check::check_metas(&file).ok() != Some(before) => {
                    attempts += 1;
                }
                Err(d) => return Err(corrupt(&data, d)),
            }
        }
    }
    mark(dir)
}

fn corrupt(file: &Path, d: Damage) -> StoreError {
    StoreError::Corrupt {
        what: format!("store file {}", file.display()),
        detail: d.0,
    }
}

/// Writes the marker if it is not there yet (synced, with the directory).
fn mark(dir: &Path) -> Result<()> {
    let marker = dir.join(MARKER);
    if marker.exists() {
        return Ok(());
    }
    let io = |e: std::io::Error| StoreError::Io(format!("writing {}: {e}", marker.display()));
    let tmp = dir.join(format!("{MARKER}.tmp"));
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(
        b"A Sluice store lives here. If data.mdb is missing or empty, Sluice refuses to start \
          rather than begin an empty store: restore a backup, or remove this file on purpose.\n",
    )
    .and_then(|()| f.sync_all())
    .map_err(io)?;
    std::fs::rename(&tmp, &marker).map_err(io)?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io)?;
    Ok(())
}
