//! Backup and restore while Sluice serves: a backup is LMDB's consistent, compacted copy of one read
//! snapshot (readers never block the writer); a restore replaces every database's contents with the
//! backup's in ONE write transaction, so the serving process sees either the old store or the restored
//! one, never a mix, and a failed restore changes nothing.

use std::path::Path;

use heed::types::Bytes;
use heed::{CompactionOption, EnvFlags, EnvOpenOptions};

use super::{DATABASES, Dbs, Result, Store, StoreError, schema};

/// Writes a compacted copy of the store to `to` (a single file), atomically (temp file + rename).
pub fn backup(store: &Store, to: &Path) -> Result<u64> {
    let tmp = to.with_extension("partial");
    let _ = std::fs::remove_file(&tmp);
    let file = store
        .env()
        .copy_to_path(&tmp, CompactionOption::Enabled)
        .map_err(|e| StoreError::Io(format!("writing {}: {e}", tmp.display())))?;
    file.sync_all()
        .map_err(|e| StoreError::Io(format!("syncing {}: {e}", tmp.display())))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    drop(file);
    std::fs::rename(&tmp, to)
        .map_err(|e| StoreError::Io(format!("renaming to {}: {e}", to.display())))?;
    Ok(size)
}

/// What a restore brought back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    pub schema: u32,
    pub records: u64,
}

/// Replaces the store's contents with the backup at `from` in one transaction.
pub fn restore(store: &Store, from: &Path) -> Result<Restored> {
    if !from.is_file() {
        return Err(StoreError::NotFound(format!("backup {}", from.display())));
    }
    let mut opts = EnvOpenOptions::new().read_txn_without_tls();
    opts.max_dbs(DATABASES);
    // SAFETY: a backup file is opened read-only, once, without a lock file; nothing else in this
    // process opens it.
    let backup = unsafe {
        opts.flags(EnvFlags::NO_SUB_DIR | EnvFlags::READ_ONLY | EnvFlags::NO_LOCK)
            .open(from)
    }
    .map_err(|e| StoreError::Io(format!("{} is not a Sluice backup: {e}", from.display())))?;
    let found = {
        let rtxn = backup.read_txn()?;
        let meta = backup
            .open_database::<Bytes, Bytes>(&rtxn, Some("meta"))?
            .ok_or_else(|| StoreError::Io(format!("{} is not a Sluice backup", from.display())))?;
        match meta.get(&rtxn, b"schema")? {
            Some(b) => <[u8; 4]>::try_from(b)
                .map(u32::from_be_bytes)
                .map_err(|_| StoreError::Corrupt {
                    what: "backup schema version".into(),
                    detail: format!("{} bytes", b.len()),
                })?,
            None => {
                return Err(StoreError::Io(format!(
                    "{} has no schema version",
                    from.display()
                )));
            }
        }
    };
    if found > schema::CURRENT {
        return Err(StoreError::NewerSchema {
            found,
            supported: schema::CURRENT,
        });
    }
    store.write_blocking(move |dbs: &Dbs, txn| {
        let rtxn = backup.read_txn()?;
        let mut records = 0u64;
        for (name, db) in dbs.named() {
            db.clear(txn)?;
            let Some(src) = backup.open_database::<Bytes, Bytes>(&rtxn, Some(name))? else {
                continue;
            };
            for e in src.iter(&rtxn)? {
                let (k, v) = e?;
                db.put(txn, k, v)?;
                records += 1;
            }
        }
        schema::stamp(dbs, txn, found)?;
        schema::migrate(dbs, txn, schema::CURRENT, schema::MIGRATIONS)?;
        Ok(Restored {
            schema: found,
            records,
        })
    })
}

impl Dbs {
    /// Every database with its name.
    pub(crate) fn named(&self) -> [(&'static str, super::Db); 12] {
        [
            ("meta", self.meta),
            ("blobs", self.blobs),
            ("held", self.held),
            ("incidents", self.incidents),
            ("history", self.history),
            ("queue", self.queue),
            ("due", self.due),
            ("approvals", self.approvals),
            ("recon", self.recon),
            ("index", self.index),
            ("events", self.events),
            ("stats", self.stats),
        ]
    }
}
