//! The ordered key-value transaction the store's domain is written against: named tables of byte
//! keys and values in byte order, read transactions (get, range scans in both directions, length)
//! and write transactions (put, delete, clear, id counters). Two backends implement it: LMDB
//! (`lmdb`, the server's) and an in-memory `BTreeMap` (`mem`, for tests and as the model the later
//! cluster backend follows). Nothing here knows which backend runs.
//!
//! Semantics every backend keeps: a read transaction sees one committed state; a write sees its own
//! changes; a write whose closure returns `Err` leaves nothing behind.

use std::ops::Bound;

use super::Result;

/// The named tables (LMDB: the named databases; see `schema` for what each holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Table {
    /// Schema version, id counters, secrets, byte totals.
    Meta,
    /// Message content by blob id.
    Blobs,
    Held,
    Incidents,
    /// (incident id, sequence) -> history entry; append-only.
    History,
    Queue,
    /// (next attempt, queue id) -> (): what is due when.
    Due,
    Approvals,
    /// Reconciliation key -> incident id.
    Recon,
    /// Search indexes over held messages and incidents (see `keys::index_key`).
    Index,
    Events,
    Stats,
    /// Administrators' accounts (`u:`), API tokens (`t:`) and the audit log (`a:`); see `users`
    /// and `audit`.
    Admin,
    /// Messages a gateway listener took custody of, until inspected (see `intake`).
    Intake,
}

impl Table {
    pub const ALL: [Table; 14] = [
        Table::Meta,
        Table::Blobs,
        Table::Held,
        Table::Incidents,
        Table::History,
        Table::Queue,
        Table::Due,
        Table::Approvals,
        Table::Recon,
        Table::Index,
        Table::Events,
        Table::Stats,
        Table::Admin,
        Table::Intake,
    ];

    /// The table's name (LMDB's database name; a backup names them so).
    pub fn name(self) -> &'static str {
        match self {
            Table::Meta => "meta",
            Table::Blobs => "blobs",
            Table::Held => "held",
            Table::Incidents => "incidents",
            Table::History => "history",
            Table::Queue => "queue",
            Table::Due => "due",
            Table::Approvals => "approvals",
            Table::Recon => "recon",
            Table::Index => "index",
            Table::Events => "events",
            Table::Stats => "stats",
            Table::Admin => "admin",
            Table::Intake => "intake",
        }
    }
}

/// Which way a scan walks the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Forward,
    Reverse,
}

/// A key range: lower and upper bound.
pub type Range<'k> = (Bound<&'k [u8]>, Bound<&'k [u8]>);

/// The entries of a scan, in the order asked for; borrowed from the transaction.
pub type Entries<'t> = Box<dyn Iterator<Item = Result<(&'t [u8], &'t [u8])>> + 't>;

/// A read transaction: one committed state of every table.
pub trait ReadTxn {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<&[u8]>>;

    /// The entries whose keys lie in `range`, in key order or reversed.
    fn range<'t>(&'t self, table: Table, range: Range<'_>, order: Order) -> Result<Entries<'t>>;

    /// How many entries the table has.
    fn len(&self, table: Table) -> Result<u64>;

    /// The entries whose keys start with `prefix`.
    fn prefix<'t>(&'t self, table: Table, prefix: &[u8], order: Order) -> Result<Entries<'t>> {
        let end = prefix_end(prefix);
        let upper = match &end {
            Some(e) => Bound::Excluded(e.as_slice()),
            None => Bound::Unbounded,
        };
        self.range(table, (Bound::Included(prefix), upper), order)
    }

    /// Every entry of the table, in key order or reversed.
    fn all<'t>(&'t self, table: Table, order: Order) -> Result<Entries<'t>> {
        self.range(table, (Bound::Unbounded, Bound::Unbounded), order)
    }
}

/// A write transaction: sees its own changes; committed whole or not at all.
pub trait WriteTxn: ReadTxn {
    fn put(&mut self, table: Table, key: &[u8], value: &[u8]) -> Result<()>;

    /// Removes a key; says whether it was there.
    fn delete(&mut self, table: Table, key: &[u8]) -> Result<bool>;

    /// Removes every entry of a table.
    fn clear(&mut self, table: Table) -> Result<()>;

    /// Called before id `id` of `counter` is handed out, so a backend can keep ids unique beyond
    /// its own file (LMDB: the high-water mark file, `marks::reserve`).
    fn reserve(&mut self, counter: &str, id: u64) -> Result<()>;
}

/// The smallest key greater than every key starting with `prefix` (`None`: no such key).
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_ends_at_its_successor() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
        assert_eq!(prefix_end(b""), None);
    }
}
