//! The in-memory backend of the key-value transaction (`kv`): one `BTreeMap` per table, with the
//! same transaction semantics as LMDB. A read sees the committed state it started from (an `Arc`
//! of it, so writes never wait for readers); writes run one at a time on a private copy that
//! replaces the committed state only when the closure returns `Ok`, so a failed write leaves
//! nothing behind. Each write copies the tables: this backend is for tests and small stores (and
//! the model the cluster backend follows), not for the server's quarantine.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

use super::kv::{Entries, Order, Range, ReadTxn, Table, WriteTxn};
use super::{Result, StoreError};

type Map = BTreeMap<Vec<u8>, Vec<u8>>;

/// Every table's entries.
#[derive(Clone, Default)]
pub(crate) struct Tables([Map; Table::ALL.len()]);

impl Tables {
    fn table(&self, t: Table) -> &Map {
        &self.0[t as usize]
    }

    fn table_mut(&mut self, t: Table) -> &mut Map {
        &mut self.0[t as usize]
    }
}

/// An in-memory store.
#[derive(Default)]
pub(crate) struct Memory {
    committed: RwLock<Arc<Tables>>,
    /// Held while a write runs: writes are serial, as LMDB's.
    writing: Mutex<()>,
}

fn poisoned() -> StoreError {
    StoreError::Unavailable("the memory store's lock is poisoned".into())
}

impl Memory {
    pub(crate) fn read<T>(&self, f: impl FnOnce(&dyn ReadTxn) -> Result<T>) -> Result<T> {
        let snapshot = self.committed.read().map_err(|_| poisoned())?.clone();
        f(&*snapshot)
    }

    pub(crate) fn write<T>(&self, f: impl FnOnce(&mut dyn WriteTxn) -> Result<T>) -> Result<T> {
        let _serial = self.writing.lock().map_err(|_| poisoned())?;
        let base = self.committed.read().map_err(|_| poisoned())?.clone();
        // A write works on a copy of the committed tables; it replaces them only when `f` succeeds.
        let mut txn: Tables = (*base).clone();
        let value = f(&mut txn)?;
        *self.committed.write().map_err(|_| poisoned())? = Arc::new(txn);
        Ok(value)
    }
}

fn range<'t>(map: &'t Map, r: Range<'_>, order: Order) -> Result<Entries<'t>> {
    // BTreeMap panics on a range whose start is past its end; such a range is empty.
    let empty = match (r.0, r.1) {
        (
            std::ops::Bound::Included(a) | std::ops::Bound::Excluded(a),
            std::ops::Bound::Included(b) | std::ops::Bound::Excluded(b),
        ) => {
            a > b
                || (a == b
                    && !matches!(
                        r,
                        (std::ops::Bound::Included(_), std::ops::Bound::Included(_))
                    ))
        }
        _ => false,
    };
    if empty {
        return Ok(Box::new(std::iter::empty()));
    }
    let it = map
        .range::<[u8], _>(r)
        .map(|(k, v)| Ok((k.as_slice(), v.as_slice())));
    Ok(match order {
        Order::Forward => Box::new(it),
        Order::Reverse => Box::new(it.rev()),
    })
}

impl ReadTxn for Tables {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<&[u8]>> {
        Ok(self.table(table).get(key).map(Vec::as_slice))
    }

    fn range<'t>(&'t self, table: Table, r: Range<'_>, order: Order) -> Result<Entries<'t>> {
        range(self.table(table), r, order)
    }

    fn len(&self, table: Table) -> Result<u64> {
        Ok(self.table(table).len() as u64)
    }
}

/// A write: a copy of the tables as committed plus this write's changes.
impl WriteTxn for Tables {
    fn put(&mut self, table: Table, key: &[u8], value: &[u8]) -> Result<()> {
        self.table_mut(table).insert(key.to_vec(), value.to_vec());
        Ok(())
    }

    fn delete(&mut self, table: Table, key: &[u8]) -> Result<bool> {
        Ok(self.table_mut(table).remove(key).is_some())
    }

    fn clear(&mut self, table: Table) -> Result<()> {
        self.table_mut(table).clear();
        Ok(())
    }

    fn reserve(&mut self, _counter: &str, _id: u64) -> Result<()> {
        // Nothing outlives the process: the counter in `meta` is the whole truth.
        Ok(())
    }
}
