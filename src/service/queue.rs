//! The gateway's queue for operators (`sluice queue`, later the admin UI and API): one listing over
//! the two durable tables — messages in custody (`store::intake`) and delivery entries
//! (`store::queue`) — by the four stages an operator sees ([`QueueStage`]: inspect, deliver,
//! deferred, hold), with ids that say which table (`i<n>`, `q<n>`: [`QueueRef`]); one entry shown
//! with its header section (never the body); and the operator's actions ([`QueueAction`]: hold,
//! release, delete, retry, forward), each one audited store write per message (`act`).
//!
//! Listings are bounded: each table is read in pages of records (never the content), at most
//! [`SCAN`] records each, oldest first.

mod act;
#[cfg(test)]
mod tests;

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::store::intake::{self, Custody, IntakeId, Stage};
use crate::store::kv::ReadTxn;
use crate::store::records::{Direction, QueueId, QueueKind, Queued, RcptState};
use crate::store::search::address_matches;
use crate::store::{self, queue};

use super::{DEFAULT_LIST, Error, Result, Service};

pub use act::{QueueAction, QueueOutcome};

/// Records read from each table for one listing or selection, at most (a listing that stops
/// there says `more`).
pub const SCAN: usize = 100_000;

/// Records read per page while scanning.
const PAGE: usize = 500;

/// Bytes of a message's header section [`Service::queue_show`] reads, at most.
pub const MAX_HEAD: usize = 64 * 1024;

/// Header fields [`Service::queue_show`] shows, at most.
pub const MAX_FIELDS: usize = 200;

/// Where a queued message stands (`store::backlog`'s stages, which `/metrics`, the dashboard and
/// the monitor count).
pub use crate::store::backlog::Stage as QueueStage;

impl FromStr for QueueStage {
    type Err = Error;

    /// A stage name; an [`Error::Invalid`] naming the field first (`stage "x": use one of ...`).
    fn from_str(s: &str) -> Result<QueueStage> {
        QueueStage::parse(s).ok_or_else(|| {
            let names: Vec<&str> = QueueStage::ALL.iter().map(|s| s.name()).collect();
            Error::Invalid(format!("stage {s:?}: use one of {}", names.join(", ")))
        })
    }
}

impl std::fmt::Display for QueueStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A queued message: `i<n>` in custody (the `intake` table), `q<n>` a delivery entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QueueRef {
    Custody(IntakeId),
    Delivery(QueueId),
}

impl std::fmt::Display for QueueRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QueueRef::Custody(id) => write!(f, "i{}", id.0),
            QueueRef::Delivery(id) => write!(f, "q{}", id.0),
        }
    }
}

impl FromStr for QueueRef {
    type Err = Error;

    /// `i42` or `q17`, any case; anything else is an [`Error::Invalid`] saying what an id is.
    fn from_str(s: &str) -> Result<QueueRef> {
        let t = s.trim();
        let number = |rest: &str| {
            (!rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
                .then(|| rest.parse::<u64>().ok())
                .flatten()
        };
        let parsed = match t.get(..1).map(str::to_ascii_lowercase).as_deref() {
            Some("i") => number(&t[1..]).map(|n| QueueRef::Custody(IntakeId(n))),
            Some("q") => number(&t[1..]).map(|n| QueueRef::Delivery(QueueId(n))),
            _ => None,
        };
        parsed.ok_or_else(|| {
            Error::Invalid(format!(
                "{s:?} is not a queue id: use i<n> for a message in custody (inspect, hold) or \
                 q<n> for a delivery queue entry (deliver, deferred, hold), as `sluice queue list` \
                 shows them"
            ))
        })
    }
}

impl Serialize for QueueRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for QueueRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<QueueRef, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Which queued messages: every condition given must hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueFilter {
    pub stage: Option<QueueStage>,
    /// Envelope sender: an address, or `@domain`.
    pub sender: Option<String>,
    /// A recipient: an address, or `@domain`.
    pub recipient: Option<String>,
    /// The gateway listener that accepted it.
    pub listener: Option<String>,
    pub direction: Option<Direction>,
    /// Queued at least this many seconds ago.
    pub older_than: Option<u64>,
    /// At most this many rows ([`DEFAULT_LIST`] by default).
    pub limit: usize,
}

impl Default for QueueFilter {
    fn default() -> QueueFilter {
        QueueFilter {
            stage: None,
            sender: None,
            recipient: None,
            listener: None,
            direction: None,
            older_than: None,
            limit: DEFAULT_LIST,
        }
    }
}

/// One queued message in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueRow {
    pub id: QueueRef,
    pub stage: QueueStage,
    /// `gateway` (accepted by a gateway listener), `release` (from the quarantine) or `notice`
    /// (built by Sluice: notifications, reports, forwarded copies).
    pub kind: &'static str,
    /// Sluice's message GUID.
    pub guid: Option<String>,
    pub listener: Option<String>,
    pub direction: Option<String>,
    /// When it was queued (custody: received), Unix seconds.
    pub queued: u64,
    /// Envelope sender, empty for the null sender.
    pub sender: String,
    /// The recipients still to deliver to.
    pub recipients: Vec<String>,
    pub size: u64,
    /// Inspection attempts (custody) or delivery attempts.
    pub attempts: u32,
    /// When it is due next (none when held).
    pub next_attempt: Option<u64>,
    /// Why the last inspection or delivery attempt failed.
    pub last_error: Option<String>,
}

/// A listing: rows oldest first, and whether more may match than the limit (or the scan) let
/// through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueListing {
    pub rows: Vec<QueueRow>,
    pub more: bool,
}

/// One recipient of a queued message with its delivery state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecipientState {
    pub address: String,
    /// `pending`, `delivered` or `failed`.
    pub state: &'static str,
    /// When it was delivered or failed.
    pub at: Option<u64>,
    /// The final reply, or the last temporary one.
    pub reply: Option<String>,
}

/// One queued message in full: its row, the client (custody), each recipient's state, and the
/// header section (never the body; at most [`MAX_FIELDS`] fields of [`MAX_HEAD`] bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueEntryView {
    pub row: QueueRow,
    /// The client's address (custody), or where a reflecting delivery goes.
    pub peer: String,
    pub helo: Option<String>,
    pub tls: Option<bool>,
    pub recipients: Vec<RecipientState>,
    pub headers: Vec<(String, String)>,
}

fn custody_row(c: &Custody) -> QueueRow {
    QueueRow {
        id: QueueRef::Custody(c.id),
        stage: crate::store::backlog::custody_stage(c.stage),
        kind: "gateway",
        guid: Some(c.guid.clone()),
        listener: Some(c.listener.clone()),
        direction: Some(c.direction.name().to_string()),
        queued: c.received,
        sender: c.sender.clone(),
        recipients: c.recipients.iter().map(|r| r.address.clone()).collect(),
        size: c.size,
        attempts: c.attempts,
        next_attempt: (c.stage == Stage::Inspect).then_some(c.next_attempt),
        last_error: c.last_error.clone(),
    }
}

fn entry_row(e: &Queued, size: u64) -> QueueRow {
    let (kind, guid, listener, direction) = match &e.kind {
        QueueKind::Gateway {
            guid,
            direction,
            listener,
            ..
        } => (
            "gateway",
            Some(guid.clone()),
            Some(listener.clone()),
            Some(direction.name().to_string()),
        ),
        QueueKind::Release { .. } => ("release", None, None, None),
        QueueKind::Notice { .. } => ("notice", None, None, None),
    };
    QueueRow {
        id: QueueRef::Delivery(e.id),
        stage: crate::store::backlog::stage_of(e),
        kind,
        guid,
        listener,
        direction,
        queued: e.created,
        sender: e.sender.clone(),
        recipients: e.pending().map(|r| r.address.clone()).collect(),
        size,
        attempts: e.attempts,
        next_attempt: (!e.held).then_some(e.next_attempt),
        last_error: e.pending().find_map(|r| r.last_reply.clone()),
    }
}

/// The size of a delivery entry's content (its length, not read).
fn entry_size(txn: &dyn ReadTxn, id: QueueId) -> store::Result<u64> {
    Ok(queue::size(txn, id)?.unwrap_or(0))
}

impl QueueFilter {
    /// Whether `row` matches (at `now`).
    pub fn matches(&self, row: &QueueRow, now: u64) -> bool {
        self.stage.is_none_or(|s| s == row.stage)
            && self
                .sender
                .as_deref()
                .is_none_or(|w| address_matches(&row.sender, w.trim()))
            && self
                .recipient
                .as_deref()
                .is_none_or(|w| row.recipients.iter().any(|r| address_matches(r, w.trim())))
            && self
                .listener
                .as_deref()
                .is_none_or(|w| row.listener.as_deref() == Some(w.trim()))
            && self
                .direction
                .is_none_or(|d| row.direction.as_deref() == Some(d.name()))
            && self
                .older_than
                .is_none_or(|s| row.queued.saturating_add(s) <= now)
    }

    fn wants_custody(&self) -> bool {
        matches!(
            self.stage,
            None | Some(QueueStage::Inspect) | Some(QueueStage::Hold)
        )
    }

    fn wants_entries(&self) -> bool {
        self.stage != Some(QueueStage::Inspect)
    }
}

/// Up to `want` rows of custody matching `f`, oldest first; whether more may match.
fn custody_rows(
    txn: &dyn ReadTxn,
    f: &QueueFilter,
    want: usize,
    now: u64,
) -> store::Result<(Vec<QueueRow>, bool)> {
    if !f.wants_custody() {
        return Ok((Vec::new(), false));
    }
    matching(
        f,
        want,
        now,
        |after| intake::list(txn, None, after, PAGE),
        |c| Ok(custody_row(c)),
    )
}

/// Up to `want` rows of delivery entries matching `f`, oldest first; whether more may match.
fn entry_rows(
    txn: &dyn ReadTxn,
    f: &QueueFilter,
    want: usize,
    now: u64,
) -> store::Result<(Vec<QueueRow>, bool)> {
    if !f.wants_entries() {
        return Ok((Vec::new(), false));
    }
    matching(
        f,
        want,
        now,
        |after| queue::scan(txn, after, PAGE),
        |e| Ok(entry_row(e, entry_size(txn, e.id)?)),
    )
}

/// Walks the pages `page` gives (oldest first, each with the next page's cursor), at most
/// [`SCAN`] records, keeping up to `want` rows that match `f`; whether more may match.
fn matching<T, C: Copy>(
    f: &QueueFilter,
    want: usize,
    now: u64,
    mut page: impl FnMut(Option<C>) -> store::Result<(Vec<T>, Option<C>)>,
    row_of: impl Fn(&T) -> store::Result<QueueRow>,
) -> store::Result<(Vec<QueueRow>, bool)> {
    let (mut rows, mut after, mut read) = (Vec::new(), None, 0);
    loop {
        let (items, next) = page(after)?;
        read += items.len();
        for item in &items {
            let row = row_of(item)?;
            if f.matches(&row, now) {
                if rows.len() >= want {
                    return Ok((rows, true));
                }
                rows.push(row);
            }
        }
        match next {
            Some(n) if read < SCAN => after = Some(n),
            Some(_) => return Ok((rows, true)),
            None => return Ok((rows, false)),
        }
    }
}

fn recipient_state(r: &crate::store::records::QueuedRecipient) -> RecipientState {
    let (state, at, reply) = match &r.state {
        RcptState::Pending => ("pending", None, r.last_reply.clone()),
        RcptState::Delivered { at, reply } => ("delivered", Some(*at), Some(reply.clone())),
        RcptState::Failed { at, reply } => ("failed", Some(*at), Some(reply.clone())),
    };
    RecipientState {
        address: r.address.clone(),
        state,
        at,
        reply,
    }
}

/// The header section as (name, unfolded value) pairs, at most [`MAX_FIELDS`].
fn header_fields(head: &[u8]) -> Vec<(String, String)> {
    crate::message::header::fields(head)
        .take(MAX_FIELDS)
        .map(|(n, v)| {
            (
                String::from_utf8_lossy(n).into_owned(),
                crate::message::header::unfold(v),
            )
        })
        .collect()
}

impl Service {
    /// Queued messages matching `f`, oldest first, at most its limit.
    pub fn queue_list(&self, f: &QueueFilter) -> Result<QueueListing> {
        let now = self.now();
        let limit = if f.limit == 0 { DEFAULT_LIST } else { f.limit };
        let (mut rows, more) = self.store.read(|txn| {
            let (mut a, more_a) = custody_rows(txn, f, limit, now)?;
            let (b, more_b) = entry_rows(txn, f, limit, now)?;
            a.extend(b);
            Ok((a, more_a || more_b))
        })?;
        rows.sort_by_key(|r| (r.queued, r.id));
        let more = more || rows.len() > limit;
        rows.truncate(limit);
        Ok(QueueListing { rows, more })
    }

    /// The ids of every queued message `f` matches (its limit applies), for bulk actions.
    pub fn queue_select(&self, f: &QueueFilter) -> Result<Vec<QueueRef>> {
        Ok(self.queue_list(f)?.rows.into_iter().map(|r| r.id).collect())
    }

    /// One queued message in full; [`Error::NotFound`] when it is gone.
    pub fn queue_show(&self, id: QueueRef) -> Result<QueueEntryView> {
        let view = self.store.read(|txn| match id {
            QueueRef::Custody(i) => {
                let Some(c) = intake::get(txn, i)? else {
                    return Ok(None);
                };
                let head = intake::head(txn, i, MAX_HEAD)?.unwrap_or_default();
                Ok(Some(QueueEntryView {
                    row: custody_row(&c),
                    peer: c.peer.clone(),
                    helo: Some(c.helo.clone()),
                    tls: Some(c.tls),
                    recipients: c
                        .recipients
                        .iter()
                        .map(|r| RecipientState {
                            address: r.address.clone(),
                            state: "pending",
                            at: None,
                            reply: None,
                        })
                        .collect(),
                    headers: header_fields(&head),
                }))
            }
            QueueRef::Delivery(q) => {
                let Some(e) = queue::get(txn, q)? else {
                    return Ok(None);
                };
                let head = queue::head(txn, q, MAX_HEAD)?.unwrap_or_default();
                Ok(Some(QueueEntryView {
                    row: entry_row(&e, entry_size(txn, q)?),
                    peer: e.peer.clone(),
                    helo: None,
                    tls: None,
                    recipients: e.recipients.iter().map(recipient_state).collect(),
                    headers: header_fields(&head),
                }))
            }
        })?;
        view.ok_or_else(|| not_found(id))
    }
}

/// `queue entry q17 not found` / `message i42 is no longer in custody`.
pub(crate) fn not_found(id: QueueRef) -> Error {
    Error::NotFound(match id {
        QueueRef::Custody(_) => format!("message {id} is not in custody (any more)"),
        QueueRef::Delivery(_) => format!("queue entry {id} not found"),
    })
}
