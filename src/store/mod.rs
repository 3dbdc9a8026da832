//! The store: the only module that touches LMDB (heed). It keeps held messages and their content,
//! incidents with history, the durable delivery queue, approvals, the event outbox, statistics,
//! and the administrators' accounts, API tokens and audit log.
//!
//! The domain (`held`, `incidents`, `queue`, `approvals`, `events`, `stats`, `search`, `users`,
//! `audit`) is written once against an ordered key-value transaction (`kv`: [`ReadTxn`],
//! [`WriteTxn`]) that two backends implement: LMDB (`lmdb`, the server's) and `BTreeMap`s in memory (`mem`,
//! [`Store::memory`]). Callers get the transaction traits, never a backend's types.
//!
//! One writer thread applies every write, many at a time in one transaction (group commit), and
//! answers each caller only after that transaction committed with a full sync: a caller that was told
//! "stored" can rely on it after a crash or power loss. Reads run on the caller's thread in their own
//! read transaction. The file is versioned (`schema`) and migrated forward on open; a store written by
//! a newer Sluice is refused with a clear error, never written to.

pub mod backup;
pub mod check;
mod error;
mod keys;
pub mod kv;
mod lmdb;
mod marks;
mod mem;
mod open;
mod writer;

pub mod approvals;
pub mod audit;
pub mod backlog;
pub mod events;
pub mod held;
pub mod incidents;
pub mod intake;
pub mod lifecycle;
pub mod queue;
pub mod records;
pub mod schema;
pub mod search;
pub mod stats;
pub mod switches;
pub mod tracking;
pub mod users;

#[cfg(test)]
mod backends;
#[cfg(test)]
mod queue_tests;
#[cfg(test)]
pub(crate) mod tests;

use std::path::Path;
use std::sync::Arc;

pub use backup::{Restored, backup, restore};
pub use error::StoreError;
pub(crate) use error::classify;
pub use kv::{ReadTxn, Table, WriteTxn};
pub use lmdb::DATABASES;
pub use open::{DATA_FILE, MARKER, Mode};
pub use writer::Writer;

pub type Result<T> = std::result::Result<T, StoreError>;

/// How to open the store.
#[derive(Debug, Clone)]
pub struct Options {
    /// Cap on the store's size (`store.max_size`): the LMDB map. The file is sparse, so the cap
    /// costs nothing until used; past it every write fails with [`StoreError::Full`] (452 to SMTP).
    pub max_size: u64,
}

/// A handle on the open store; cheap to clone. Dropping the last handle stops the writer.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
}

/// Where the store keeps its tables.
#[derive(Clone)]
enum Backend {
    /// The server's: an LMDB file, every write through the group-commit writer thread.
    Lmdb {
        inner: Arc<lmdb::Lmdb>,
        writer: Writer,
    },
    /// Tests' (and the model of later backends): `BTreeMap`s in memory.
    Memory(Arc<mem::Memory>),
}

impl Store {
    /// Opens (creating if needed) the store in `dir` for the server and migrates it to the current
    /// schema. See [`Store::open_as`].
    pub fn open(dir: &Path, options: &Options) -> Result<Store> {
        Store::open_as(dir, options, Mode::Serve)
    }

    /// Opens the store in `dir`: the one path every opener takes (server, CLI, tests). A lost store
    /// (`open::MARKER`), a damaged data file (`check`: before LMDB maps anything but the meta
    /// pages) and a newer schema are refused with an error; `mode` says whether a missing store
    /// may be created.
    pub fn open_as(dir: &Path, options: &Options, mode: Mode) -> Result<Store> {
        Store::open_checked(dir, options, mode).map_err(|e| match (e, mode) {
            // A restore cannot write into a damaged file; without the file it starts afresh.
            (StoreError::Corrupt { what, detail }, Mode::Restore)
                if !what.starts_with(marks::DAMAGED) =>
            {
                StoreError::Corrupt {
                    what,
                    detail: format!(
                        "{detail}; to restore over it, move data.mdb aside (keep it for analysis) \
                     and run sluice restore again"
                    ),
                }
            }
            (e, _) => e,
        })
    }

    fn open_checked(dir: &Path, options: &Options, mode: Mode) -> Result<Store> {
        // Checked first: a CLI command on a missing store creates nothing.
        open::before(dir, mode)?;
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Io(format!("creating {}: {e}", dir.display())))?;
        let inner = lmdb::Lmdb::open(dir, options)?;
        let writer = Writer::start(inner.env.clone(), inner.dbs.clone())?;
        Ok(Store {
            backend: Backend::Lmdb {
                inner: Arc::new(inner),
                writer,
            },
        })
    }

    /// A new, empty store in memory (stamped with the current schema): the same domain, the same
    /// transaction semantics, nothing on disk. Backup and restore are not available on it.
    pub fn memory() -> Result<Store> {
        let memory = mem::Memory::default();
        memory.write(|txn| schema::migrate(txn, schema::CURRENT, schema::MIGRATIONS))?;
        Ok(Store {
            backend: Backend::Memory(Arc::new(memory)),
        })
    }

    /// Closes the store: stops the writer (after the writes already queued) and waits until the
    /// environment is closed, so the same directory can be opened again in this process. Other
    /// clones of this handle keep it open until they are dropped.
    pub fn close(self) {
        if let Backend::Lmdb { inner, writer } = self.backend {
            drop(writer);
            if let Ok(inner) = Arc::try_unwrap(inner) {
                inner.env.prepare_for_closing().wait();
            }
        }
    }

    /// Runs `f` in a read transaction on this thread.
    pub fn read<T>(&self, f: impl FnOnce(&dyn ReadTxn) -> Result<T>) -> Result<T> {
        match &self.backend {
            Backend::Lmdb { inner, .. } => inner.read(f),
            Backend::Memory(m) => m.read(f),
        }
    }

    /// Runs `f` on the writer thread, batched with other writes; resolves after the commit. When
    /// `f` returns an error, nothing it wrote is kept.
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn WriteTxn) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        match &self.backend {
            Backend::Lmdb { writer, .. } => writer.submit(f).await,
            Backend::Memory(m) => m.write(f),
        }
    }

    /// [`Store::write`] for threads that are not async (CLI commands, the inspection pool).
    pub fn write_blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn WriteTxn) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        smol::block_on(self.write(f))
    }

    /// Bytes the store file uses on disk (0 in memory).
    pub fn disk_size(&self) -> u64 {
        match &self.backend {
            Backend::Lmdb { inner, .. } => inner.env.real_disk_size().unwrap_or(0),
            Backend::Memory(_) => 0,
        }
    }

    /// Bytes of the pages in use and the size cap (`store.max_size`), for the monitor and
    /// `/metrics` (`None` in memory, or when LMDB cannot say).
    pub fn usage(&self) -> Option<(u64, u64)> {
        match &self.backend {
            Backend::Lmdb { inner, .. } => {
                let used = inner.env.non_free_pages_size().ok()?;
                Some((used, inner.env.info().map_size as u64))
            }
            Backend::Memory(_) => None,
        }
    }

    /// The LMDB store underneath, for what only a file can do (backup, restore).
    fn lmdb(&self) -> Result<&lmdb::Lmdb> {
        match &self.backend {
            Backend::Lmdb { inner, .. } => Ok(inner),
            Backend::Memory(_) => Err(StoreError::Unavailable(
                "a store in memory has no file to back up or restore".into(),
            )),
        }
    }

    /// The directory holding the store (`None` in memory).
    pub fn path(&self) -> Option<&Path> {
        self.lmdb().ok().map(|l| l.path.as_path())
    }
}

/// Reads and decodes one JSON record.
pub(crate) fn get_json<T: serde::de::DeserializeOwned>(
    txn: &dyn ReadTxn,
    table: Table,
    key: &[u8],
    what: impl FnOnce() -> String,
) -> Result<Option<T>> {
    match txn.get(table, key)? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(bytes)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                what: what(),
                detail: e.to_string(),
            }),
    }
}

pub(crate) fn put_json<T: serde::Serialize>(
    txn: &mut dyn WriteTxn,
    table: Table,
    key: &[u8],
    value: &T,
) -> Result<()> {
    let bytes = serde_json::to_vec(value).map_err(|e| StoreError::Io(format!("encoding: {e}")))?;
    txn.put(table, key, &bytes)?;
    Ok(())
}
