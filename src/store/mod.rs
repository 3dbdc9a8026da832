//! The LMDB store: the only module that touches LMDB (heed). It keeps held messages and their content,
//! incidents with history, the durable delivery queue, approvals, the event outbox and statistics.
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
mod marks;
mod open;
mod writer;

pub mod approvals;
pub mod events;
pub mod held;
pub mod incidents;
pub mod queue;
pub mod records;
pub mod schema;
pub mod search;
pub mod stats;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use heed::types::Bytes;
use heed::{Database, Env, EnvOpenOptions, RoTxn, RwTxn, WithoutTls};

pub use backup::{Restored, backup, restore};
pub use error::StoreError;
pub(crate) use error::classify;
pub use open::{DATA_FILE, MARKER, Mode};
pub use writer::Writer;

/// Named databases in one LMDB environment (see `schema` for what each holds).
pub const DATABASES: u32 = 16;

pub type Result<T> = std::result::Result<T, StoreError>;

/// How to open the store.
#[derive(Debug, Clone)]
pub struct Options {
    /// Cap on the store's size (`store.max_size`): the LMDB map. The file is sparse, so the cap
    /// costs nothing until used; past it every write fails with [`StoreError::Full`] (452 to SMTP).
    pub max_size: u64,
}

type Db = Database<Bytes, Bytes>;

/// The databases of the environment, all with byte keys and values (encoding in `keys` and `records`),
/// and the store's id high-water mark file (`marks`).
#[derive(Clone)]
pub struct Dbs {
    /// Schema version, id counters, secrets, byte totals.
    pub(crate) meta: Db,
    /// Message content by blob id.
    pub(crate) blobs: Db,
    pub(crate) held: Db,
    pub(crate) incidents: Db,
    /// (incident id, sequence) -> history entry; append-only.
    pub(crate) history: Db,
    pub(crate) queue: Db,
    /// (next attempt, queue id) -> (): what is due when.
    pub(crate) due: Db,
    pub(crate) approvals: Db,
    /// Reconciliation key -> incident id.
    pub(crate) recon: Db,
    /// Search indexes over held messages and incidents (see `keys::index_key`).
    pub(crate) index: Db,
    pub(crate) events: Db,
    pub(crate) stats: Db,
    /// Outside LMDB: the marks every id counter stays below (`marks`).
    pub(crate) marks: marks::MarkFile,
}

struct Inner {
    env: Env<WithoutTls>,
    dbs: Dbs,
    path: PathBuf,
}

/// A handle on the open store; cheap to clone. Dropping the last handle stops the writer.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
    writer: Writer,
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
        let map_size = usize::try_from(options.max_size)
            .map_err(|_| StoreError::Io("store.max_size too large".into()))?;
        let mut opts = EnvOpenOptions::new().read_txn_without_tls();
        opts.map_size(map_size).max_dbs(DATABASES).max_readers(256);
        // SAFETY: heed's requirement is that the same path is not opened twice in one process with
        // different options; `Store::open_as` is the only opener and the app opens the store once.
        // Durability: no NO_SYNC / NO_META_SYNC / MAP_ASYNC flags; every commit is synced.
        let env = unsafe { opts.open(dir) }.map_err(|e| match StoreError::from(e) {
            StoreError::Io(s) => StoreError::Io(format!("opening {}: {s}", dir.display())),
            other => other,
        })?;
        open::after(&env, dir)?;
        let dbs = schema::open(&env, marks::MarkFile::new(dir))?;
        let inner = Arc::new(Inner {
            env: env.clone(),
            dbs: dbs.clone(),
            path: dir.to_path_buf(),
        });
        let writer = Writer::start(env, dbs)?;
        Ok(Store { inner, writer })
    }

    /// Closes the store: stops the writer (after the writes already queued) and waits until the
    /// environment is closed, so the same directory can be opened again in this process. Other
    /// clones of this handle keep it open until they are dropped.
    pub fn close(self) {
        let Store { inner, writer } = self;
        drop(writer);
        if let Ok(inner) = Arc::try_unwrap(inner) {
            inner.env.prepare_for_closing().wait();
        }
    }

    /// The directory holding the store.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` in a read transaction on this thread.
    pub fn read<T>(&self, f: impl FnOnce(&Dbs, &RoTxn<'_>) -> Result<T>) -> Result<T> {
        let txn = self.inner.env.read_txn()?;
        f(&self.inner.dbs, &txn)
    }

    /// Runs `f` on the writer thread, batched with other writes; resolves after the commit.
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Dbs, &mut RwTxn<'_>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.writer.submit(f).await
    }

    /// [`Store::write`] for threads that are not async (CLI commands, the inspection pool).
    pub fn write_blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Dbs, &mut RwTxn<'_>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        smol::block_on(self.writer.submit(f))
    }

    /// Bytes the store file uses on disk.
    pub fn disk_size(&self) -> u64 {
        self.inner.env.real_disk_size().unwrap_or(0)
    }

    pub(crate) fn env(&self) -> &Env<WithoutTls> {
        &self.inner.env
    }
}

/// Reads and decodes one JSON record.
pub(crate) fn get_json<T: serde::de::DeserializeOwned>(
    db: Db,
    txn: &RoTxn<'_>,
    key: &[u8],
    what: impl FnOnce() -> String,
) -> Result<Option<T>> {
    match db.get(txn, key)? {
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
    db: Db,
    txn: &mut RwTxn<'_>,
    key: &[u8],
    value: &T,
) -> Result<()> {
    let bytes = serde_json::to_vec(value).map_err(|e| StoreError::Io(format!("encoding: {e}")))?;
    db.put(txn, key, &bytes)?;
    Ok(())
}
