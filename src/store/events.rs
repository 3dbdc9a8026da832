//! The event outbox: an ordered, bounded log of the catalogue's events (`crate::events`) for the SIEM
//! destinations to read from their cursors. Ids, addresses and outcomes, never content.

use super::kv::{Order, ReadTxn, Table, WriteTxn};

use super::keys;
use super::{Result, StoreError, put_json};
use crate::events::{Event, Field, Kind};

/// Events kept at most; the oldest are dropped past it (the exporter reads far more often).
pub const MAX_EVENTS: u64 = 1_000_000;

pub fn append(
    txn: &mut dyn WriteTxn,
    at: u64,
    kind: Kind,
    fields: impl Into<Vec<(Field, String)>>,
) -> Result<u64> {
    let seq = keys::next_id(txn, "event")?;
    let event = Event {
        seq,
        at,
        kind,
        fields: fields.into(),
    };
    put_json(txn, Table::Events, &keys::id_key(seq), &event)?;
    if seq > MAX_EVENTS {
        txn.delete(Table::Events, &keys::id_key(seq - MAX_EVENTS))?;
    }
    Ok(seq)
}

/// Events after `cursor`, oldest first, at most `max`.
pub fn since(txn: &dyn ReadTxn, cursor: u64, max: usize) -> Result<Vec<Event>> {
    let mut out = Vec::new();
    let from = keys::id_key(cursor.saturating_add(1));
    let range: (std::ops::Bound<&[u8]>, std::ops::Bound<&[u8]>) =
        (std::ops::Bound::Included(&from), std::ops::Bound::Unbounded);
    for e in txn.range(Table::Events, range, Order::Forward)? {
        let (k, v) = e?;
        out.push(serde_json::from_slice(v).map_err(|e| StoreError::Corrupt {
            what: format!("event {:?}", keys::id_of(k)),
            detail: e.to_string(),
        })?);
        if out.len() >= max {
            break;
        }
    }
    Ok(out)
}
