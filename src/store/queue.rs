//! The durable delivery queue: entries with their content, a due index by next attempt, leases so that
//! an entry being delivered is not taken twice (and is taken again after a crash), and completion;
//! and the operator's word on an entry (`sluice queue`): hold (out of the due index), release and
//! retry (due now), remove, each one write.

use super::kv::{Order, ReadTxn, Table, WriteTxn};

use super::keys;
use super::records::{QueueId, Queued};
use super::{Result, StoreError, get_json, put_json};

fn blob_key(id: QueueId) -> [u8; 9] {
    let mut k = [b'q'; 9];
    k[1..].copy_from_slice(&id.0.to_be_bytes());
    k
}

fn due_key(at: u64, id: QueueId) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&at.to_be_bytes());
    k[8..].copy_from_slice(&id.0.to_be_bytes());
    k
}

/// Queues a message for delivery; returns its id.
pub fn insert(txn: &mut dyn WriteTxn, mut entry: Queued, content: &[u8]) -> Result<QueueId> {
    entry.id = QueueId(keys::next_id(txn, "queue")?);
    txn.put(Table::Blobs, &blob_key(entry.id), content)?;
    put_json(txn, Table::Queue, &keys::id_key(entry.id.0), &entry)?;
    if !entry.held {
        txn.put(Table::Due, &due_key(entry.next_attempt, entry.id), &[])?;
    }
    Ok(entry.id)
}

pub fn get(txn: &dyn ReadTxn, id: QueueId) -> Result<Option<Queued>> {
    get_json(txn, Table::Queue, &keys::id_key(id.0), || {
        format!("queue entry {id}")
    })
}

pub fn content(txn: &dyn ReadTxn, id: QueueId) -> Result<Option<Vec<u8>>> {
    Ok(txn.get(Table::Blobs, &blob_key(id))?.map(<[u8]>::to_vec))
}

/// The size of an entry's content in bytes (0 when missing), without copying it.
pub fn content_len(txn: &dyn ReadTxn, id: QueueId) -> Result<u64> {
    Ok(txn
        .get(Table::Blobs, &blob_key(id))?
        .map_or(0, |c| c.len() as u64))
}

/// Ids of entries due at `now`, soonest first, at most `max`.
pub fn due(txn: &dyn ReadTxn, now: u64, max: usize) -> Result<Vec<QueueId>> {
    let mut out = Vec::new();
    for e in txn.all(Table::Due, Order::Forward)? {
        let (k, _) = e?;
        let (Some(at), Some(id)) = (keys::id_of(k), k.get(8..).and_then(keys::id_of)) else {
            continue;
        };
        if at > now || out.len() >= max {
            break;
        }
        out.push(QueueId(id));
    }
    Ok(out)
}

/// When the next entry is due (for the worker's sleep).
pub fn next_due(txn: &dyn ReadTxn) -> Result<Option<u64>> {
    match txn.all(Table::Due, Order::Forward)?.next() {
        Some(e) => Ok(keys::id_of(e?.0)),
        None => Ok(None),
    }
}

/// Rewrites an entry (state, attempts, next attempt), moving it in the due index (a `held` entry
/// has no due key).
pub fn update(txn: &mut dyn WriteTxn, entry: &Queued) -> Result<()> {
    let old = get(txn, entry.id)?
        .ok_or_else(|| StoreError::NotFound(format!("queue entry {}", entry.id)))?;
    txn.delete(Table::Due, &due_key(old.next_attempt, old.id))?;
    if !entry.held {
        txn.put(Table::Due, &due_key(entry.next_attempt, entry.id), &[])?;
    }
    put_json(txn, Table::Queue, &keys::id_key(entry.id.0), entry)
}

/// Takes a due entry for delivery until `until`: a crash before [`complete`] or [`update`] makes it
/// due again then (at-least-once delivery). Returns the entry and its content, or `None` when another
/// worker took it or it is not due.
pub fn lease(
    txn: &mut dyn WriteTxn,
    id: QueueId,
    now: u64,
    until: u64,
) -> Result<Option<(Queued, Vec<u8>)>> {
    let Some(mut entry) = get(txn, id)? else {
        return Ok(None);
    };
    if entry.held || entry.next_attempt > now {
        return Ok(None);
    }
    let Some(content) = content(txn, id)? else {
        return Err(StoreError::Corrupt {
            what: format!("queue entry {id}"),
            detail: "content missing".into(),
        });
    };
    entry.next_attempt = until;
    update(txn, &entry)?;
    Ok(Some((entry, content)))
}

/// Removes a finished entry (every recipient delivered or failed) and its content.
pub fn complete(txn: &mut dyn WriteTxn, id: QueueId) -> Result<()> {
    if let Some(old) = get(txn, id)? {
        txn.delete(Table::Due, &due_key(old.next_attempt, id))?;
    }
    txn.delete(Table::Queue, &keys::id_key(id.0))?;
    txn.delete(Table::Blobs, &blob_key(id))?;
    Ok(())
}

/// Puts an entry on hold (out of the due index: never leased until [`unhold`]); `None` when it
/// is gone. An entry being delivered finishes its attempt, and stays held after it
/// (`delivery::record::apply` keeps the flag).
pub fn hold(txn: &mut dyn WriteTxn, id: QueueId) -> Result<Option<Queued>> {
    let Some(mut entry) = get(txn, id)? else {
        return Ok(None);
    };
    entry.held = true;
    update(txn, &entry)?;
    Ok(Some(entry))
}

/// Takes an entry off hold, due at `now`; `None` when it is gone.
pub fn unhold(txn: &mut dyn WriteTxn, id: QueueId, now: u64) -> Result<Option<Queued>> {
    let Some(mut entry) = get(txn, id)? else {
        return Ok(None);
    };
    entry.held = false;
    entry.next_attempt = now;
    update(txn, &entry)?;
    Ok(Some(entry))
}

/// Makes an entry that is not held due at `now` (its schedule is not waited out); `None` when
/// it is gone. A held entry is returned unchanged.
pub fn retry(txn: &mut dyn WriteTxn, id: QueueId, now: u64) -> Result<Option<Queued>> {
    let Some(mut entry) = get(txn, id)? else {
        return Ok(None);
    };
    if !entry.held && entry.next_attempt != now {
        entry.next_attempt = now;
        update(txn, &entry)?;
    }
    Ok(Some(entry))
}

/// Removes an entry and its content at an administrator's word (never delivered after, no
/// report); returns it, `None` when it was gone already.
pub fn remove(txn: &mut dyn WriteTxn, id: QueueId) -> Result<Option<Queued>> {
    let old = get(txn, id)?;
    if old.is_some() {
        complete(txn, id)?;
    }
    Ok(old)
}

/// The size of an entry's content (its length; nothing copied). `None` when it is gone.
pub fn size(txn: &dyn ReadTxn, id: QueueId) -> Result<Option<u64>> {
    Ok(txn
        .get(Table::Blobs, &blob_key(id))?
        .map(|c| c.len() as u64))
}

/// The header section of an entry's content (up to its blank line), at most `max` bytes: read
/// from the stored blob without copying the body. `None` when the entry is gone.
pub fn head(txn: &dyn ReadTxn, id: QueueId, max: usize) -> Result<Option<Vec<u8>>> {
    Ok(txn.get(Table::Blobs, &blob_key(id))?.map(|c| {
        let end = crate::message::header::header_end(c).min(max);
        c[..end].to_vec()
    }))
}

/// One page of entries, oldest first, after the id `after` (the previous page's last), at most
/// `budget` records read; the next page's cursor when more may follow. Reads the records only,
/// never the content.
pub fn scan(
    txn: &dyn ReadTxn,
    after: Option<QueueId>,
    budget: usize,
) -> Result<(Vec<Queued>, Option<QueueId>)> {
    let start = keys::id_key(after.map_or(0, |a| a.0.saturating_add(1)));
    let range = (
        std::ops::Bound::Included(&start[..]),
        std::ops::Bound::Unbounded,
    );
    let mut out: Vec<Queued> = Vec::new();
    for e in txn.range(Table::Queue, range, Order::Forward)? {
        let (k, v) = e?;
        if out.len() >= budget.max(1) {
            let last = out.last().map(|e| e.id);
            return Ok((out, last));
        }
        let id = keys::id_of(k).unwrap_or(0);
        out.push(serde_json::from_slice(v).map_err(|e| StoreError::Corrupt {
            what: format!("queue entry {id}"),
            detail: e.to_string(),
        })?);
    }
    Ok((out, None))
}

/// Every queued entry, oldest first (for `sluice queue` listings and the status page).
pub fn list(txn: &dyn ReadTxn, max: usize) -> Result<Vec<Queued>> {
    let mut out = Vec::new();
    for e in txn.all(Table::Queue, Order::Forward)? {
        let (k, v) = e?;
        let id = keys::id_of(k).unwrap_or(0);
        out.push(serde_json::from_slice(v).map_err(|e| StoreError::Corrupt {
            what: format!("queue entry {id}"),
            detail: e.to_string(),
        })?);
        if out.len() >= max {
            break;
        }
    }
    Ok(out)
}

pub fn len(txn: &dyn ReadTxn) -> Result<u64> {
    txn.len(Table::Queue)
}
