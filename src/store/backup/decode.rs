//! Every record of a restored store decoded into its type before the restore commits: a backup that
//! passed its checksum may still hold a record this Sluice cannot read (damaged before it was backed
//! up, or edited), and a restore must not leave held messages that cannot be shown or released.

use serde::de::DeserializeOwned;

use crate::store::keys::id_of;
use crate::store::kv::{Order, ReadTxn, Table};
use crate::store::records::{Approval, Event, Held, HistoryEntry, Incident, Queued};
use crate::store::{Result, StoreError};

/// Decodes every record of every database; returns how many there are.
pub(super) fn all(txn: &dyn ReadTxn) -> Result<u64> {
    let mut n = 0;
    n += each(txn, Table::Meta, meta)?;
    n += each(txn, Table::Blobs, |k, _| tagged(k, b"hq").map(|_| ()))?;
    n += each(txn, Table::Held, |k, v| json::<Held>(v, |r| r.id.0, k))?;
    n += each(txn, Table::Incidents, |k, v| {
        json::<Incident>(v, |r| r.id.0, k)
    })?;
    n += each(txn, Table::History, |k, v| {
        fixed(k, 16)?;
        serde_json::from_slice::<HistoryEntry>(v)
            .map(|_| ())
            .map_err(|e| e.to_string())
    })?;
    n += each(txn, Table::Queue, |k, v| json::<Queued>(v, |r| r.id.0, k))?;
    n += each(txn, Table::Due, |k, _| fixed(k, 16))?;
    n += each(txn, Table::Approvals, |k, v| match k.first() {
        // The pending-by-expiry index: 'p', expiry, id.
        Some(b'p') => fixed(k, 17),
        _ => {
            let id = tagged(k, b"a")?;
            let a: Approval = serde_json::from_slice(v).map_err(|e| e.to_string())?;
            same(a.id.0, id)
        }
    })?;
    n += each(txn, Table::Recon, |_, v| fixed(v, 8))?;
    n += each(txn, Table::Index, |_, _| Ok(()))?;
    n += each(txn, Table::Events, |k, v| json::<Event>(v, |r| r.seq, k))?;
    n += each(txn, Table::Stats, |_, v| fixed(v, 8))?;
    n += each(txn, Table::Admin, |k, v| {
        crate::store::users::decode(k, v)
            .or_else(|| crate::store::audit::decode(k, v))
            .unwrap_or_else(|| Err("an unknown key".into()))
    })?;
    n += each(txn, Table::Intake, crate::store::intake::decode)?;
    Ok(n)
}

fn each(
    txn: &dyn ReadTxn,
    table: Table,
    check: impl Fn(&[u8], &[u8]) -> std::result::Result<(), String>,
) -> Result<u64> {
    let mut n = 0;
    for e in txn.all(table, Order::Forward)? {
        let (k, v) = e?;
        check(k, v).map_err(|detail| StoreError::Corrupt {
            what: format!("{} record {}", table.name(), show(k)),
            detail,
        })?;
        n += 1;
    }
    Ok(n)
}

/// A key for messages: an id when it is one, else escaped bytes (at most 40).
fn show(k: &[u8]) -> String {
    match (k.len(), id_of(k)) {
        (8, Some(id)) => id.to_string(),
        _ => k
            .iter()
            .take(40)
            .flat_map(|b| std::ascii::escape_default(*b))
            .map(char::from)
            .collect(),
    }
}

fn json<T: DeserializeOwned>(
    v: &[u8],
    id: impl Fn(&T) -> u64,
    k: &[u8],
) -> std::result::Result<(), String> {
    fixed(k, 8)?;
    let r: T = serde_json::from_slice(v).map_err(|e| e.to_string())?;
    same(id(&r), id_of(k).unwrap_or(0))
}

fn same(record: u64, key: u64) -> std::result::Result<(), String> {
    if record == key {
        Ok(())
    } else {
        Err(format!("the record says id {record}"))
    }
}

fn fixed(b: &[u8], len: usize) -> std::result::Result<(), String> {
    if b.len() == len {
        Ok(())
    } else {
        Err(format!("{} bytes where {len} belong", b.len()))
    }
}

/// A one-letter tag from `tags` and a big-endian id.
fn tagged(k: &[u8], tags: &[u8]) -> std::result::Result<u64, String> {
    fixed(k, 9)?;
    if !tags.contains(&k[0]) {
        return Err("an unknown key".into());
    }
    Ok(id_of(&k[1..]).unwrap_or(0))
}

/// The meta keys a store of this schema has, each with its size.
fn meta(k: &[u8], v: &[u8]) -> std::result::Result<(), String> {
    let len = match k {
        b"schema" => 4,
        b"events:bounds" => {
            return serde_json::from_slice::<crate::store::events::Bounds>(v)
                .map(drop)
                .map_err(|e| format!("outbox bounds: {e}"));
        }
        b"events:dropped_reported_at" => 8,
        _ if k.starts_with(b"events:cursor:") => 8,
        _ if k.starts_with(b"next:") || k.starts_with(b"mark:") || k.starts_with(b"total:") => 8,
        _ if k.starts_with(b"secret:") => 32,
        _ => return Err("an unknown meta key".into()),
    };
    fixed(v, len)
}
