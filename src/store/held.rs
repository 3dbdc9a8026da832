//! Held messages (quarantine and approval): the record, its content, its search-index entries, the
//! byte and count totals behind the size caps, eviction of the oldest, and the retention scan.

use super::kv::{Order, ReadTxn, Table, WriteTxn};

use super::keys::{self, Field, Indexed};
use super::lifecycle;
use super::records::{Held, HeldId, HeldStatus};
use super::search::{self, Filter, Found, Page, Record, View};
use super::{Result, StoreError, get_json, put_json};

/// Messages evicted at once when the byte cap is passed (the seed evicts the 10 oldest).
pub const EVICT_BATCH: usize = 10;

/// Size caps on what the quarantine holds (open messages only): `quarantine.max_bytes` and
/// `quarantine.max_messages`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    pub max_bytes: u64,
    pub max_messages: u64,
}

const BYTES: &str = "held_bytes";
const COUNT: &str = "held_count";

fn blob_key(id: HeldId) -> [u8; 9] {
    let mut k = [b'h'; 9];
    k[1..].copy_from_slice(&id.0.to_be_bytes());
    k
}

impl Record for Held {
    fn view(&self) -> View<'_> {
        View {
            id: self.id.0,
            time: self.received,
            status: self.status.name(),
            sender: &self.sender,
            recipients: self.recipients.iter().map(|r| r.address.as_str()).collect(),
            policies: self.policies.iter().map(|p| p.id).collect(),
            severity: self.severity.name(),
            direction: self.direction.name(),
            guid: &self.guid,
            subject: &self.subject,
        }
    }
}

fn index_keys(h: &Held) -> Vec<Vec<u8>> {
    h.view().index_keys(Indexed::Held)
}

/// Messages evicted to stay under a cap, and which cap it was.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evicted {
    /// The held messages whose content was removed (oldest first).
    pub ids: Vec<HeldId>,
    /// The cap that was passed, as its configuration key (`quarantine.max_bytes` or
    /// `quarantine.max_messages`); empty when nothing was evicted.
    pub reason: &'static str,
}

/// The counter (`stats`) of messages evicted at the quarantine caps.
pub const EVICTED_STAT: &str = "evicted";

/// Stores a new held message and its content; returns its id and what was evicted to stay under
/// the caps.
pub fn insert(
    txn: &mut dyn WriteTxn,
    mut held: Held,
    content: &[u8],
    caps: Caps,
) -> Result<(HeldId, Evicted)> {
    held.id = HeldId(keys::next_id(txn, "held")?);
    held.size = content.len() as u64;
    txn.put(Table::Blobs, &blob_key(held.id), content)?;
    put_json(txn, Table::Held, &keys::id_key(held.id.0), &held)?;
    keys::put_index(txn, &index_keys(&held))?;
    let bytes = keys::add_total(txn, BYTES, content.len() as i64)?;
    let count = keys::add_total(txn, COUNT, 1)?;
    let mut evicted = Evicted::default();
    if bytes > caps.max_bytes || count > caps.max_messages {
        let (batch, reason) = if bytes > caps.max_bytes {
            (EVICT_BATCH, "quarantine.max_bytes")
        } else {
            (1, "quarantine.max_messages")
        };
        evicted = Evicted {
            ids: evict_oldest(txn, held.id, held.received, batch)?,
            reason,
        };
    }
    Ok((held.id, evicted))
}

/// Removes the content of the `n` oldest open messages (never `keep`), marking them deleted
/// (`lifecycle::change`).
fn evict_oldest(txn: &mut dyn WriteTxn, keep: HeldId, now: u64, n: usize) -> Result<Vec<HeldId>> {
    let prefix = keys::index_prefix(Indexed::Held, Field::Status, HeldStatus::Held.name());
    let mut victims = Vec::new();
    for entry in txn.prefix(Table::Index, &prefix, Order::Forward)? {
        let (key, _) = entry?;
        if let Some(id) = keys::index_id(key).map(HeldId)
            && id != keep
        {
            victims.push(id);
            if victims.len() >= n {
                break;
            }
        }
    }
    let mut evicted = Vec::with_capacity(victims.len());
    for id in victims {
        if let Some(old) = get(txn, id)? {
            let asked = lifecycle::Asked {
                at: now,
                actor: "sluice",
                action: "evict",
            };
            if let lifecycle::Changed::Done(_) =
                lifecycle::change(txn, &old, HeldStatus::Deleted, asked)?
            {
                evicted.push(id);
            }
        }
    }
    Ok(evicted)
}

pub fn get(txn: &dyn ReadTxn, id: HeldId) -> Result<Option<Held>> {
    get_json(txn, Table::Held, &keys::id_key(id.0), || {
        format!("held message {id}")
    })
}

/// The held message or `NotFound`.
pub fn must_get(txn: &dyn ReadTxn, id: HeldId) -> Result<Held> {
    get(txn, id)?.ok_or_else(|| StoreError::NotFound(format!("held message {id}")))
}

/// The stored message bytes, while the message is still held.
pub fn content(txn: &dyn ReadTxn, id: HeldId) -> Result<Option<Vec<u8>>> {
    Ok(txn.get(Table::Blobs, &blob_key(id))?.map(<[u8]>::to_vec))
}

/// Rewrites a record whose status or recipients changed, keeping the index in step.
pub fn update(txn: &mut dyn WriteTxn, old: &Held, new: &Held) -> Result<()> {
    let (before, after) = (index_keys(old), index_keys(new));
    if before != after {
        keys::delete_index(txn, &before)?;
        keys::put_index(txn, &after)?;
    }
    put_json(txn, Table::Held, &keys::id_key(new.id.0), new)
}

/// Deletes the content (after release, delete, rejection or expiry); the record stays for the audit trail.
pub fn drop_content(txn: &mut dyn WriteTxn, held: &Held) -> Result<()> {
    if txn.delete(Table::Blobs, &blob_key(held.id))? {
        keys::add_total(txn, BYTES, -(held.size as i64))?;
        keys::add_total(txn, COUNT, -1)?;
    }
    Ok(())
}

pub fn search(txn: &dyn ReadTxn, filter: &Filter, page: Page) -> Result<Found<Held>> {
    search::run(txn, Indexed::Held, filter, page, |id| get(txn, HeldId(id)))
}

/// Open messages whose retention ended at `now`, oldest first, at most `max` (of each open status).
pub fn expired(txn: &dyn ReadTxn, now: u64, max: usize) -> Result<Vec<HeldId>> {
    let mut out = Vec::new();
    for status in [HeldStatus::Held, HeldStatus::AwaitingApproval] {
        let prefix = keys::index_prefix(Indexed::Held, Field::Status, status.name());
        for entry in txn.prefix(Table::Index, &prefix, Order::Forward)? {
            let (key, _) = entry?;
            let Some(id) = keys::index_id(key).map(HeldId) else {
                continue;
            };
            match get(txn, id) {
                Ok(Some(h)) if h.expires <= now => out.push(id),
                // Entries are in id (= receipt) order and the retention applies from receipt, so the
                // first message still within its retention ends the scan.
                Ok(Some(_)) => break,
                _ => {}
            }
            if out.len() >= max {
                return Ok(out);
            }
        }
    }
    Ok(out)
}

/// Bytes and messages currently held.
pub fn totals(txn: &dyn ReadTxn) -> Result<(u64, u64)> {
    Ok((keys::total(txn, BYTES)?, keys::total(txn, COUNT)?))
}
