//! The event outbox: an ordered, bounded log of the catalogue's events (`crate::events`) for the SIEM
//! destinations to read from their cursors. Ids, addresses and outcomes, never content.

use super::kv::{Order, ReadTxn, Table, WriteTxn};

use super::keys;
use super::{Result, StoreError, put_json};
use crate::events::{Event, Field, Kind};

/// The outbox's bounds ([events] in the configuration): past any of them the oldest events are
/// removed. An event removed before every SIEM destination's cursor passed it is *dropped*: counted
/// ([`dropped`]) and reported by a `system.events.dropped` event at most once a minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Bounds {
    pub max_events: u64,
    pub max_bytes: u64,
    /// Seconds.
    pub max_age: u64,
}

impl Default for Bounds {
    /// The defaults of `assets/sluice.toml` (2,000,000 events, 1 GiB, 30 days).
    fn default() -> Bounds {
        Bounds {
            max_events: 2_000_000,
            max_bytes: 1 << 30,
            max_age: 30 * 86_400,
        }
    }
}

/// Removals per append at most: a bound lowered by a reload is reached over the following writes
/// (and [`prune`]), not in one huge transaction.
const MAX_REMOVALS: usize = 64;
/// `system.events.dropped` is written at most this often (seconds), with the count since the last.
pub const DROP_REPORT_INTERVAL: u64 = 60;

const BOUNDS_KEY: &[u8] = b"events:bounds";
const CURSOR_PREFIX: &str = "events:cursor:";
const LAST_REPORT_KEY: &[u8] = b"events:dropped_reported_at";
/// `keys::total` names.
pub(crate) const BYTES_TOTAL: &str = "events.bytes";
const DROPPED_TOTAL: &str = "events.dropped";
const UNREPORTED_TOTAL: &str = "events.dropped_unreported";

/// Appends an event in the caller's transaction (so it exists exactly when the change it describes
/// committed), with its tracking index entries (`tracking`) and, for a `message.*` event, its
/// counters (`stats::message`); then keeps the outbox within its [`Bounds`].
pub fn append(
    txn: &mut dyn WriteTxn,
    at: u64,
    kind: Kind,
    fields: impl Into<Vec<(Field, String)>>,
) -> Result<u64> {
    let seq = put(txn, at, kind, fields.into())?;
    let b = bounds(txn)?;
    let removed = enforce(txn, at, &b, MAX_REMOVALS)?;
    report_drops(txn, at, removed.dropped)?;
    Ok(seq)
}

fn put(txn: &mut dyn WriteTxn, at: u64, kind: Kind, fields: Vec<(Field, String)>) -> Result<u64> {
    let seq = keys::next_id(txn, "event")?;
    let event = Event {
        seq,
        at,
        kind,
        fields,
    };
    let bytes = serde_json::to_vec(&event).map_err(|e| StoreError::Io(e.to_string()))?;
    txn.put(Table::Events, &keys::id_key(seq), &bytes)?;
    keys::add_total(txn, BYTES_TOTAL, bytes.len() as i64)?;
    super::tracking::index(txn, &event)?;
    super::stats::message(txn, &event)?;
    Ok(seq)
}

/// What one pass of the bounds removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Removed {
    pub removed: u64,
    /// Of those, how many some destination had not read yet.
    pub dropped: u64,
}

/// Removes the oldest events while the outbox is past a bound (at most `max` of them). A drop
/// report that is itself dropped carries its count forward into the next one.
fn enforce(txn: &mut dyn WriteTxn, now: u64, b: &Bounds, max: usize) -> Result<Removed> {
    let mut out = Removed::default();
    let mut carried = 0u64;
    let mut min_cursor = None;
    for _ in 0..max {
        let Some((len, e)) = oldest(&*txn)? else {
            break;
        };
        let count = txn.len(Table::Events)?;
        let bytes = keys::total(txn, BYTES_TOTAL)?;
        if count <= b.max_events && bytes <= b.max_bytes && e.at.saturating_add(b.max_age) > now {
            break;
        }
        txn.delete(Table::Events, &keys::id_key(e.seq))?;
        super::tracking::unindex(txn, &e)?;
        keys::add_total(txn, BYTES_TOTAL, -(len as i64))?;
        out.removed += 1;
        let min = match min_cursor {
            Some(m) => m,
            None => *min_cursor.insert(cursors(txn)?.iter().map(|(_, c)| *c).min()),
        };
        if min.is_some_and(|c| c < e.seq) {
            out.dropped += 1;
            if e.kind == Kind::SystemEventsDropped {
                carried += e
                    .get(Field::Count)
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(0);
            }
        }
    }
    if out.dropped > 0 {
        keys::add_total(txn, DROPPED_TOTAL, out.dropped as i64)?;
        keys::add_total(txn, UNREPORTED_TOTAL, (out.dropped + carried) as i64)?;
    }
    Ok(out)
}

/// Writes `system.events.dropped` with the drops not yet reported, at most once a
/// [`DROP_REPORT_INTERVAL`] (the event itself is not subject to the bounds pass: it is the newest).
fn report_drops(txn: &mut dyn WriteTxn, now: u64, just_dropped: u64) -> Result<()> {
    let unreported = keys::total(txn, UNREPORTED_TOTAL)?;
    if unreported == 0 {
        return Ok(());
    }
    let last = txn.get(Table::Meta, LAST_REPORT_KEY)?.and_then(keys::id_of);
    if last.is_some_and(|l| now < l.saturating_add(DROP_REPORT_INTERVAL)) {
        return Ok(());
    }
    if just_dropped > 0 {
        tracing::warn!(
            dropped = unreported,
            "SIEM events dropped: the event outbox passed its bounds before every destination read them"
        );
    }
    let fields = crate::events::Fields::new()
        .with(Field::Count, unreported)
        .with(Field::EventReason, "the event outbox passed its bounds");
    put(txn, now, Kind::SystemEventsDropped, fields.into_vec())?;
    txn.put(Table::Meta, LAST_REPORT_KEY, &now.to_be_bytes())?;
    keys::add_total(txn, UNREPORTED_TOTAL, -(unreported as i64))?;
    Ok(())
}

/// Applies the age bound (and the others) without an append: run now and then, so that old events
/// go even when nothing happens. Returns what it removed.
pub fn prune(txn: &mut dyn WriteTxn, now: u64) -> Result<Removed> {
    let b = bounds(txn)?;
    let removed = enforce(txn, now, &b, 10_000)?;
    report_drops(txn, now, removed.dropped)?;
    Ok(removed)
}

/// The bounds in force (the defaults until [`set_bounds`] recorded the configuration's).
pub fn bounds(txn: &dyn ReadTxn) -> Result<Bounds> {
    match txn.get(Table::Meta, BOUNDS_KEY)? {
        None => Ok(Bounds::default()),
        Some(b) => serde_json::from_slice(b).map_err(|e| StoreError::Corrupt {
            what: "event outbox bounds".into(),
            detail: e.to_string(),
        }),
    }
}

/// Records the configuration's bounds (at start and on reload).
pub fn set_bounds(txn: &mut dyn WriteTxn, b: &Bounds) -> Result<()> {
    put_json(txn, Table::Meta, BOUNDS_KEY, b)
}

/// The oldest event and its stored size.
fn oldest(txn: &dyn ReadTxn) -> Result<Option<(usize, Event)>> {
    let mut it = txn.range(
        Table::Events,
        (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded),
        Order::Forward,
    )?;
    let Some(e) = it.next() else {
        return Ok(None);
    };
    let (k, v) = e?;
    let event = serde_json::from_slice(v).map_err(|e| corrupt(k, &e.to_string()))?;
    Ok(Some((v.len(), event)))
}

fn corrupt(k: &[u8], detail: &str) -> StoreError {
    StoreError::Corrupt {
        what: format!("event {:?}", keys::id_of(k)),
        detail: detail.to_string(),
    }
}

/// The newest event's seq (0 when none was ever written): a destination at `head` is up to date.
pub fn head(txn: &dyn ReadTxn) -> Result<u64> {
    Ok(txn
        .get(Table::Meta, b"next:event")?
        .and_then(keys::id_of)
        .map_or(0, |next| next.saturating_sub(1)))
}

/// How many events the outbox holds, and their stored bytes.
pub fn size(txn: &dyn ReadTxn) -> Result<(u64, u64)> {
    Ok((txn.len(Table::Events)?, keys::total(txn, BYTES_TOTAL)?))
}

/// Events removed by the bounds before every destination read them, since the store was made.
pub fn dropped(txn: &dyn ReadTxn) -> Result<u64> {
    keys::total(txn, DROPPED_TOTAL)
}

fn cursor_key(destination: &str) -> Vec<u8> {
    format!("{CURSOR_PREFIX}{destination}").into_bytes()
}

/// The last seq `destination` has written (`None`: a destination never seen).
pub fn cursor(txn: &dyn ReadTxn, destination: &str) -> Result<Option<u64>> {
    Ok(txn
        .get(Table::Meta, &cursor_key(destination))?
        .and_then(keys::id_of))
}

pub fn set_cursor(txn: &mut dyn WriteTxn, destination: &str, seq: u64) -> Result<()> {
    txn.put(Table::Meta, &cursor_key(destination), &seq.to_be_bytes())?;
    Ok(())
}

/// Forgets a destination that was removed from the configuration (its cursor no longer holds
/// events back from counting as read).
pub fn forget_cursor(txn: &mut dyn WriteTxn, destination: &str) -> Result<()> {
    txn.delete(Table::Meta, &cursor_key(destination))?;
    Ok(())
}

/// Every destination's cursor, by name.
pub fn cursors(txn: &dyn ReadTxn) -> Result<Vec<(String, u64)>> {
    let mut out = Vec::new();
    for e in txn.prefix(Table::Meta, CURSOR_PREFIX.as_bytes(), Order::Forward)? {
        let (k, v) = e?;
        let name = String::from_utf8_lossy(&k[CURSOR_PREFIX.len()..]).into_owned();
        if let Some(seq) = keys::id_of(v) {
            out.push((name, seq));
        }
    }
    Ok(out)
}

/// Schema 1 → 2: counts the bytes the outbox already holds (the byte bound needs the total).
pub(crate) fn count_bytes(txn: &mut dyn WriteTxn) -> Result<()> {
    let mut total = 0u64;
    for e in txn.range(
        Table::Events,
        (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded),
        Order::Forward,
    )? {
        total += e?.1.len() as u64;
    }
    let now = keys::total(txn, BYTES_TOTAL)?;
    keys::add_total(txn, BYTES_TOTAL, total as i64 - now as i64)?;
    Ok(())
}

/// The event with this seq, if the outbox still holds it.
pub fn get(txn: &dyn ReadTxn, seq: u64) -> Result<Option<Event>> {
    match txn.get(Table::Events, &keys::id_key(seq))? {
        None => Ok(None),
        Some(v) => serde_json::from_slice(v)
            .map(Some)
            .map_err(|e| corrupt(&keys::id_key(seq), &e.to_string())),
    }
}

/// Events examined by one [`between`] at most.
pub const MAX_SCAN: usize = 1_000_000;

/// The events from time `from` to `to` (inclusive) that `keep` accepts, oldest first, at most
/// `limit`; and whether more may match (the limit, or [`MAX_SCAN`] events examined). The outbox is
/// in commit order and times follow it, so the first event at or after `from` is found by
/// bisection over the seqs and the walk stops at the first event after `to`.
pub fn between(
    txn: &dyn ReadTxn,
    from: u64,
    to: u64,
    limit: usize,
    mut keep: impl FnMut(&Event) -> bool,
) -> Result<(Vec<Event>, bool)> {
    let first_at = |seq: u64| -> Result<Option<Event>> {
        let key = keys::id_key(seq);
        let range: (std::ops::Bound<&[u8]>, std::ops::Bound<&[u8]>) =
            (std::ops::Bound::Included(&key), std::ops::Bound::Unbounded);
        match txn.range(Table::Events, range, Order::Forward)?.next() {
            None => Ok(None),
            Some(e) => {
                let (k, v) = e?;
                Ok(Some(
                    serde_json::from_slice(v).map_err(|e| corrupt(k, &e.to_string()))?,
                ))
            }
        }
    };
    let (mut lo, mut hi) = (0u64, head(txn)?.saturating_add(1));
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match first_at(mid)? {
            Some(e) if e.at < from => lo = e.seq + 1,
            _ => hi = mid,
        }
    }
    let mut out = Vec::new();
    let start = keys::id_key(lo);
    let range: (std::ops::Bound<&[u8]>, std::ops::Bound<&[u8]>) = (
        std::ops::Bound::Included(&start),
        std::ops::Bound::Unbounded,
    );
    for (scanned, entry) in txn.range(Table::Events, range, Order::Forward)?.enumerate() {
        if scanned >= MAX_SCAN {
            return Ok((out, true));
        }
        let (k, v) = entry?;
        let e: Event = serde_json::from_slice(v).map_err(|e| corrupt(k, &e.to_string()))?;
        if e.at > to {
            break;
        }
        if e.at >= from && keep(&e) {
            if out.len() >= limit {
                return Ok((out, true));
            }
            out.push(e);
        }
    }
    Ok((out, false))
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
#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;
