//! The LMDB backend of the key-value transaction (`kv`): the environment, its named databases (one
//! per [`Table`]) and the read and write transactions that implement [`ReadTxn`] and [`WriteTxn`].
//! With `open`, `writer`, `schema::open`, `check` and `backup` this is where heed is used; nothing
//! outside `src/store` names a heed type.

use std::path::{Path, PathBuf};

use heed::types::Bytes;
use heed::{Database, Env, EnvOpenOptions, RoTxn, RwTxn, WithoutTls};

use super::kv::{Entries, Order, Range, ReadTxn, Table, WriteTxn};
use super::marks::{self, MarkFile};
use super::{Options, Result, StoreError, schema};

/// Named databases in one LMDB environment (the tables and room to grow).
pub const DATABASES: u32 = 16;

pub(crate) type Db = Database<Bytes, Bytes>;

/// The databases of the environment, one per table, and the store's id high-water mark file
/// (`marks`).
#[derive(Clone)]
pub(crate) struct Dbs {
    dbs: [Db; Table::ALL.len()],
    /// Outside LMDB: the marks every id counter stays below (`marks`).
    pub(crate) marks: MarkFile,
}

impl Dbs {
    /// Opens (creating) every table's database in `txn`.
    pub(super) fn create(
        env: &Env<WithoutTls>,
        txn: &mut RwTxn<'_>,
        marks: MarkFile,
    ) -> Result<Dbs> {
        let mut dbs = Vec::with_capacity(Table::ALL.len());
        for t in Table::ALL {
            dbs.push(env.create_database::<Bytes, Bytes>(txn, Some(t.name()))?);
        }
        let dbs = dbs
            .try_into()
            .map_err(|_| StoreError::Io("opening the tables".into()))?;
        Ok(Dbs { dbs, marks })
    }

    pub(crate) fn db(&self, table: Table) -> Db {
        self.dbs[table as usize]
    }
}

/// An open LMDB store: the environment, its databases and its directory.
pub(crate) struct Lmdb {
    pub(crate) env: Env<WithoutTls>,
    pub(crate) dbs: Dbs,
    pub(crate) path: PathBuf,
}

impl Lmdb {
    /// Opens the environment in `dir` (after `open::before`), checks it (`open::after`) and brings
    /// the schema and the id marks forward.
    pub(super) fn open(dir: &Path, options: &Options) -> Result<Lmdb> {
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
        super::open::after(&env, dir)?;
        let dbs = schema::open(&env, MarkFile::new(dir))?;
        Ok(Lmdb {
            env,
            dbs,
            path: dir.to_path_buf(),
        })
    }

    /// Runs `f` in a read transaction on this thread.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&dyn ReadTxn) -> Result<T>) -> Result<T> {
        let txn = self.env.read_txn()?;
        f(&Snapshot {
            txn,
            dbs: &self.dbs,
        })
    }
}

/// A read transaction.
pub(crate) struct Snapshot<'e> {
    pub(crate) txn: RoTxn<'e, WithoutTls>,
    pub(crate) dbs: &'e Dbs,
}

/// A write transaction (the writer's nested one, or a transaction of its own).
pub(crate) struct Write<'a, 'e> {
    pub(crate) txn: &'a mut RwTxn<'e>,
    pub(crate) dbs: &'a Dbs,
}

fn get<'t>(db: Db, txn: &'t RoTxn<'_>, key: &[u8]) -> Result<Option<&'t [u8]>> {
    Ok(db.get(txn, key)?)
}

fn range<'t>(db: Db, txn: &'t RoTxn<'_>, range: Range<'_>, order: Order) -> Result<Entries<'t>> {
    Ok(match order {
        Order::Forward => Box::new(db.range(txn, &range)?.map(|e| e.map_err(StoreError::from))),
        Order::Reverse => Box::new(
            db.rev_range(txn, &range)?
                .map(|e| e.map_err(StoreError::from)),
        ),
    })
}

impl ReadTxn for Snapshot<'_> {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<&[u8]>> {
        get(self.dbs.db(table), &self.txn, key)
    }

    fn range<'t>(&'t self, table: Table, r: Range<'_>, order: Order) -> Result<Entries<'t>> {
        range(self.dbs.db(table), &self.txn, r, order)
    }

    fn len(&self, table: Table) -> Result<u64> {
        Ok(self.dbs.db(table).len(&self.txn)?)
    }
}

impl ReadTxn for Write<'_, '_> {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<&[u8]>> {
        get(self.dbs.db(table), self.txn, key)
    }

    fn range<'t>(&'t self, table: Table, r: Range<'_>, order: Order) -> Result<Entries<'t>> {
        range(self.dbs.db(table), self.txn, r, order)
    }

    fn len(&self, table: Table) -> Result<u64> {
        Ok(self.dbs.db(table).len(self.txn)?)
    }
}

impl WriteTxn for Write<'_, '_> {
    fn put(&mut self, table: Table, key: &[u8], value: &[u8]) -> Result<()> {
        Ok(self.dbs.db(table).put(self.txn, key, value)?)
    }

    fn delete(&mut self, table: Table, key: &[u8]) -> Result<bool> {
        Ok(self.dbs.db(table).delete(self.txn, key)?)
    }

    fn clear(&mut self, table: Table) -> Result<()> {
        Ok(self.dbs.db(table).clear(self.txn)?)
    }

    fn reserve(&mut self, counter: &str, id: u64) -> Result<()> {
        let dbs = self.dbs;
        marks::reserve(self, &dbs.marks, counter, id)
    }
}
