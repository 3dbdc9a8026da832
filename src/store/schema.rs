//! The store's layout and its version: the named databases, the schema number kept in `meta`, and the
//! migrations that bring an older file forward (each in the same transaction as the version bump, so a
//! crash mid-migration leaves the old version intact).

use heed::{Env, WithoutTls};

use super::kv::{ReadTxn, Table, WriteTxn};
use super::lmdb::{Dbs, Write};
use super::marks::MarkFile;
use super::{Result, StoreError};

/// The schema this Sluice writes.
pub const CURRENT: u32 = 5;

const VERSION_KEY: &[u8] = b"schema";

/// One migration: from `from` to `from + 1`.
pub struct Migration {
    pub from: u32,
    pub describe: &'static str,
    pub run: fn(&mut dyn WriteTxn) -> Result<()>,
}

/// Every migration, in order. Schema 1 is the first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        from: 1,
        describe: "count the bytes of the event outbox (its byte bound)",
        run: super::events::count_bytes,
    },
    Migration {
        from: 2,
        describe: "add the admin table (accounts, API tokens, audit log); it is created empty when \
                   the store opens, so there is nothing to convert",
        run: |_| Ok(()),
    },
    Migration {
        from: 3,
        describe: "index the outbox's events for message tracking and count them for the reports",
        run: super::tracking::migrate,
    },
    Migration {
        from: 4,
        describe: "add the intake table (gateway custody: messages accepted and not yet inspected); \
                   it is created empty when the store opens, so there is nothing to convert",
        run: |_| Ok(()),
    },
];

/// Opens (creating) every database, brings the schema to [`CURRENT`] and the id counters to their
/// high-water marks (`marks::settle`).
pub(super) fn open(env: &Env<WithoutTls>, marks: MarkFile) -> Result<Dbs> {
    let mut txn = env.write_txn()?;
    let dbs = Dbs::create(env, &mut txn, marks)?;
    let mut w = Write {
        txn: &mut txn,
        dbs: &dbs,
    };
    migrate(&mut w, CURRENT, MIGRATIONS)?;
    super::marks::settle(&mut w, &dbs.marks)?;
    txn.commit()?;
    Ok(dbs)
}

/// The version recorded in the file (`None` for a new, empty store).
pub fn version(txn: &dyn ReadTxn) -> Result<Option<u32>> {
    match txn.get(Table::Meta, VERSION_KEY)? {
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
pub(super) fn migrate(txn: &mut dyn WriteTxn, target: u32, steps: &[Migration]) -> Result<()> {
    let Some(mut found) = version(txn)? else {
        txn.put(Table::Meta, VERSION_KEY, &target.to_be_bytes())?;
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
        (step.run)(txn)?;
        found += 1;
        txn.put(Table::Meta, VERSION_KEY, &found.to_be_bytes())?;
    }
    Ok(())
}

/// Sets the recorded version (`restore`, and tests that need a store from another schema).
pub fn stamp(txn: &mut dyn WriteTxn, version: u32) -> Result<()> {
    txn.put(Table::Meta, VERSION_KEY, &version.to_be_bytes())?;
    Ok(())
}

/// A secret the store generates once and keeps (approval-link and release-mark keys).
pub fn secret(txn: &mut dyn WriteTxn, name: &str) -> Result<[u8; 32]> {
    let key = format!("secret:{name}");
    if let Some(b) = txn.get(Table::Meta, key.as_bytes())?
        && let Ok(a) = <[u8; 32]>::try_from(b)
    {
        return Ok(a);
    }
    let mut fresh = [0u8; 32];
    getrandom::fill(&mut fresh).map_err(|e| StoreError::Io(format!("random: {e}")))?;
    txn.put(Table::Meta, key.as_bytes(), &fresh)?;
    Ok(fresh)
}
