//! The store's layout and its version: the named databases, the schema number kept in `meta`, and the
//! migrations that bring an older file forward (each in the same transaction as the version bump, so a
//! crash mid-migration leaves the old version intact).

use heed::types::Bytes;
use heed::{Env, RwTxn, WithoutTls};

use super::marks::MarkFile;
use super::{Dbs, Result, StoreError};

/// The schema this Sluice writes.
pub const CURRENT: u32 = 1;

const VERSION_KEY: &[u8] = b"schema";

/// One migration: from `from` to `from + 1`.
pub struct Migration {
    pub from: u32,
    pub describe: &'static str,
    pub run: fn(&Dbs, &mut RwTxn<'_>) -> Result<()>,
}

/// Every migration, in order. Schema 1 is the first; later schemas add theirs here.
pub const MIGRATIONS: &[Migration] = &[];

/// Opens (creating) every database, brings the schema to [`CURRENT`] and the id counters to their
/// high-water marks (`marks::settle`).
pub(super) fn open(env: &Env<WithoutTls>, marks: MarkFile) -> Result<Dbs> {
    let mut txn = env.write_txn()?;
    let mut create = |name: &str| env.create_database::<Bytes, Bytes>(&mut txn, Some(name));
    let dbs = Dbs {
        meta: create("meta")?,
        blobs: create("blobs")?,
        held: create("held")?,
        incidents: create("incidents")?,
        history: create("history")?,
        queue: create("queue")?,
        due: create("due")?,
        approvals: create("approvals")?,
        recon: create("recon")?,
        index: create("index")?,
        events: create("events")?,
        stats: create("stats")?,
        marks,
    };
    migrate(&dbs, &mut txn, CURRENT, MIGRATIONS)?;
    super::marks::settle(&dbs, &mut txn)?;
    txn.commit()?;
    Ok(dbs)
}

/// The version recorded in the file (`None` for a new, empty store).
pub fn version(dbs: &Dbs, txn: &heed::RoTxn<'_>) -> Result<Option<u32>> {
    match dbs.meta.get(txn, VERSION_KEY)? {
        None => Ok(None),
        Some(b) => b
            .try_into()
            .map(|a: [u8; 4]| Some(u32::from_be_bytes(a)))
            .map_err(|_| StoreError::Corrupt {
                what: "schema version".into(),
                detail: format!("{} bytes", b.len()),
            }),
    }
}

/// Brings the file to `target` with `steps`; a new store is stamped `target` directly.
pub(super) fn migrate(
    dbs: &Dbs,
    txn: &mut RwTxn<'_>,
    target: u32,
    steps: &[Migration],
) -> Result<()> {
    let Some(mut found) = version(dbs, txn)? else {
        dbs.meta.put(txn, VERSION_KEY, &target.to_be_bytes())?;
        return Ok(());
    };
    if found > target {
        return Err(StoreError::NewerSchema {
            found,
            supported: target,
        });
    }
    while found < target {
        let step = steps
            .iter()
            .find(|m| m.from == found)
            .ok_or_else(|| StoreError::Io(format!("no migration from schema {found}")))?;
        tracing::info!(
            from = found,
            to = found + 1,
            what = step.describe,
            "migrating the store"
        );
        (step.run)(dbs, txn)?;
        found += 1;
        dbs.meta.put(txn, VERSION_KEY, &found.to_be_bytes())?;
    }
    Ok(())
}

/// Sets the recorded version (`restore`, and tests that need a store from another schema).
pub fn stamp(dbs: &Dbs, txn: &mut RwTxn<'_>, version: u32) -> Result<()> {
    dbs.meta.put(txn, VERSION_KEY, &version.to_be_bytes())?;
    Ok(())
}

/// A secret the store generates once and keeps (approval-link and release-mark keys).
pub fn secret(dbs: &Dbs, txn: &mut RwTxn<'_>, name: &str) -> Result<[u8; 32]> {
    let key = format!("secret:{name}");
    if let Some(b) = dbs.meta.get(txn, key.as_bytes())?
        && let Ok(a) = <[u8; 32]>::try_from(b)
    {
        return Ok(a);
    }
    let mut fresh = [0u8; 32];
    getrandom::fill(&mut fresh).map_err(|e| StoreError::Io(format!("random: {e}")))?;
    dbs.meta.put(txn, key.as_bytes(), &fresh)?;
    Ok(fresh)
}
