//! Message tracking over the event outbox: every message's final disposition is one `message.*`
//! event, indexed (`keys::Indexed::Message`, keyed to the event's seq) by time, sender, recipient
//! (address and `@domain`), outcome, direction, GUID, client IP and Message-ID; and every event
//! that carries a message's GUID (`email.local_id`: received, violations, held, released,
//! approved, delivery attempts, ...) is indexed by it (`Indexed::Trail`) so a message's whole life
//! comes back in order ([`trail`]). The entries are written by `events::append` in the event's own
//! transaction and removed with the event when the outbox's bounds prune it, so the index never
//! points past the outbox. [`search`] is `search`'s walk (most selective index first, bounded,
//! newest first, with a cursor) over these entries.

use super::Result;
use super::events;
use super::keys::{self, Field as Key, Indexed};
use super::kv::{Order, ReadTxn, Table, WriteTxn};
use super::search::{Budget, Found, Page, Walk, address_matches, subject_matches};
use crate::events::{Category, Event, Field, Kind};

/// What to look for in the messages' final dispositions; every set field must match. Addresses
/// match whole (`a@b.org`) or by domain (`@b.org`), case-insensitively; the subject by
/// case-insensitive substring; the Message-ID with or without its angle brackets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrackFilter {
    pub sender: Option<String>,
    pub recipient: Option<String>,
    pub subject: Option<String>,
    pub message_id: Option<String>,
    pub client_ip: Option<String>,
    pub guid: Option<String>,
    /// The outcome: the `message.*` kind's last part (`relayed`, `quarantined`, `blocked`, ...).
    pub status: Option<String>,
    pub direction: Option<String>,
    /// Unix seconds, inclusive.
    pub since: Option<u64>,
    /// Unix seconds, inclusive.
    pub until: Option<u64>,
}

/// The outcome a `message.*` kind names: its last part (`message.quarantined` -> `quarantined`).
pub fn outcome(kind: Kind) -> &'static str {
    let name = kind.name();
    name.rsplit('.').next().unwrap_or(name)
}

/// Every message outcome ([`outcome`] of each `message.*` kind).
pub fn outcomes() -> Vec<&'static str> {
    Kind::ALL
        .iter()
        .filter(|k| k.category() == Category::Message)
        .map(|&k| outcome(k))
        .collect()
}

/// A Message-ID as indexed and compared: without surrounding space and angle brackets.
fn bare_id(id: &str) -> &str {
    id.trim().trim_start_matches('<').trim_end_matches('>')
}

/// The index entries of one event: its message entries when it is a `message.*` event, and its
/// trail entry when it carries a GUID (sorted, without duplicates).
fn index_keys(e: &Event) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if let Some(guid) = e.get(Field::EmailLocalId) {
        out.push(keys::index_key(Indexed::Trail, Key::Guid, guid, 0, e.seq));
    }
    if e.kind.category() != Category::Message {
        return out;
    }
    let key = |field, value: &str| keys::index_key(Indexed::Message, field, value, e.at, e.seq);
    out.push(key(Key::Time, ""));
    out.push(key(Key::Status, outcome(e.kind)));
    for (field, key_field) in [
        (Field::EmailDirection, Key::Direction),
        (Field::EmailLocalId, Key::Guid),
        (Field::SourceIp, Key::ClientIp),
    ] {
        if let Some(v) = e.get(field) {
            out.push(key(key_field, v));
        }
    }
    if let Some(id) = e.get(Field::EmailMessageId) {
        out.push(key(Key::MessageId, bare_id(id)));
    }
    if let Some(s) = e.get(Field::EmailFromAddress) {
        for v in keys::address_values(s) {
            out.push(key(Key::Sender, &v));
        }
    }
    for r in e.all(Field::EmailToAddress) {
        for v in keys::address_values(r) {
            out.push(key(Key::Recipient, &v));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Indexes an event just appended (in its transaction).
pub(crate) fn index(txn: &mut dyn WriteTxn, e: &Event) -> Result<()> {
    keys::put_index(txn, &index_keys(e))
}

/// Removes an event's index entries (the outbox's bounds removed the event).
pub(crate) fn unindex(txn: &mut dyn WriteTxn, e: &Event) -> Result<()> {
    keys::delete_index(txn, &index_keys(e))
}

impl TrackFilter {
    /// Whether a decoded event passes every condition.
    fn matches(&self, e: &Event) -> bool {
        let has = |field, want: &Option<String>, eq: &dyn Fn(&str, &str) -> bool| {
            want.as_deref()
                .is_none_or(|w| e.all(field).any(|v| eq(v, w.trim())))
        };
        let ci = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        e.kind.category() == Category::Message
            && self.status.as_deref().is_none_or(|s| outcome(e.kind) == s)
            && self.since.is_none_or(|t| e.at >= t)
            && self.until.is_none_or(|t| e.at <= t)
            && has(Field::EmailFromAddress, &self.sender, &address_matches)
            && has(Field::EmailToAddress, &self.recipient, &address_matches)
            && has(Field::EmailSubject, &self.subject, &subject_matches)
            && has(Field::EmailMessageId, &self.message_id, &|a, b| {
                bare_id(a).eq_ignore_ascii_case(bare_id(b))
            })
            && has(Field::SourceIp, &self.client_ip, &ci)
            && has(Field::EmailLocalId, &self.guid, &ci)
            && has(Field::EmailDirection, &self.direction, &ci)
    }

    /// The search over the message index this filter drives.
    fn walk(&self) -> Walk {
        Walk {
            table: Indexed::Message,
            conditions: self.indexed(),
            since: self.since,
            until: self.until,
            budget: Budget::DEFAULT,
        }
    }

    /// The indexed conditions, most selective first.
    fn indexed(&self) -> Vec<(Key, String)> {
        let trimmed = |v: &Option<String>| v.as_deref().map(|s| s.trim().to_string());
        [
            (Key::Guid, trimmed(&self.guid)),
            (
                Key::MessageId,
                self.message_id.as_deref().map(|m| bare_id(m).to_string()),
            ),
            (Key::Recipient, trimmed(&self.recipient)),
            (Key::Sender, trimmed(&self.sender)),
            (Key::ClientIp, trimmed(&self.client_ip)),
            (Key::Status, trimmed(&self.status)),
            (Key::Direction, trimmed(&self.direction)),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
    }
}

/// The `message.*` events matching `filter`, newest first: one page (see `search::Page`).
pub fn search(txn: &dyn ReadTxn, filter: &TrackFilter, page: Page) -> Result<Found<Event>> {
    filter.walk().run(
        txn,
        page,
        |seq| events::get(txn, seq),
        |e| filter.matches(e),
    )
}

/// The (at most `limit`) `message.*` events matching `filter` just newer than the cursor `after`
/// (time, seq), oldest first: the page before one whose newest row is `after`.
pub fn search_after(
    txn: &dyn ReadTxn,
    filter: &TrackFilter,
    after: (u64, u64),
    limit: usize,
) -> Result<Found<Event>> {
    filter.walk().run_after(
        txn,
        after,
        limit,
        |seq| events::get(txn, seq),
        |e| filter.matches(e),
    )
}

/// Every event the outbox still holds about the message with this GUID, oldest first, at most
/// `max`.
pub fn trail(txn: &dyn ReadTxn, guid: &str, max: usize) -> Result<Vec<Event>> {
    let guid = guid.trim();
    let prefix = keys::index_prefix(Indexed::Trail, Key::Guid, guid);
    let mut out = Vec::new();
    for entry in txn.prefix(Table::Index, &prefix, Order::Forward)? {
        if out.len() >= max {
            break;
        }
        let (k, _) = entry?;
        let Some(seq) = keys::index_id(k) else {
            continue;
        };
        if let Some(e) = events::get(txn, seq)?
            && e.get(Field::EmailLocalId)
                .is_some_and(|g| g.eq_ignore_ascii_case(guid))
        {
            out.push(e);
        }
    }
    Ok(out)
}

/// Schema 3 → 4: indexes the events the outbox already holds and counts their messages and the
/// incidents kept (`stats::message`, `stats::incident`), so tracking and the reports cover what
/// happened before the upgrade.
pub(crate) fn migrate(txn: &mut dyn WriteTxn) -> Result<()> {
    let mut seqs = Vec::new();
    for entry in txn.all(Table::Events, Order::Forward)? {
        if let Some(seq) = keys::id_of(entry?.0) {
            seqs.push(seq);
        }
    }
    for seq in seqs {
        if let Some(e) = events::get(txn, seq)? {
            index(txn, &e)?;
            super::stats::message(txn, &e)?;
        }
    }
    let mut ids = Vec::new();
    for entry in txn.all(Table::Incidents, Order::Forward)? {
        if let Some(id) = keys::id_of(entry?.0) {
            ids.push(super::records::IncidentId(id));
        }
    }
    for id in ids {
        if let Some(i) = super::incidents::get(txn, id)? {
            super::stats::incident(txn, &i)?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "tracking_tests.rs"]
mod tests;
