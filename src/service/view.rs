//! What the service shows: one held message with its incidents and their history, one incident
//! with its history and message, the quarantine's totals and counters, and the short summary of an
//! item a bulk action lists before it acts. Typed, serde-serialisable values; reads only.

use serde::Serialize;

use crate::remediate::Target;
use crate::store::records::{Held, HeldId, HistoryEntry, Incident, IncidentId};
use crate::store::{held, incidents, stats};

use super::{Error, Result, Service};

/// One incident and its history, oldest entry first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentEntry {
    pub incident: Incident,
    pub history: Vec<HistoryEntry>,
}

/// A held message as `show` presents it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldView {
    pub held: Held,
    /// The content is still stored (not released, deleted or expired).
    pub content_held: bool,
    /// The stored message itself (.eml), when it was asked for and is still held. Never part of
    /// the serialised view.
    #[serde(skip)]
    pub content: Option<Vec<u8>>,
    pub incidents: Vec<IncidentEntry>,
}

/// An incident as `show` presents it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentView {
    pub incident: Incident,
    pub history: Vec<HistoryEntry>,
    /// Its held message, when the message was held and the record is still there.
    pub held: Option<Held>,
}

/// One counter of the quarantine over all days kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Counter {
    pub name: &'static str,
    pub total: u64,
}

/// What the quarantine holds now and its counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub held_messages: u64,
    pub held_bytes: u64,
    /// In [`COUNTERS`] order.
    pub counters: Vec<Counter>,
}

/// The counters [`Stats`] carries, by their `stats` names.
pub const COUNTERS: [&str; 5] = [
    "quarantined",
    held::EVICTED_STAT,
    "released",
    "deleted",
    "expired",
];

/// An item as a bulk action lists it before acting: when, from whom, about what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub id: u64,
    /// Received (held messages) or created (incidents), Unix seconds.
    pub at: u64,
    pub sender: String,
    pub subject: String,
}

impl Service {
    /// Held message `id` with its incidents and their history, and its content when `content`.
    pub fn show_held(&self, id: HeldId, content: bool) -> Result<HeldView> {
        let found = self.store.read(|txn| {
            let Some(h) = held::get(txn, id)? else {
                return Ok(None);
            };
            let stored = held::content(txn, id)?;
            let present = stored.is_some();
            let mut list = Vec::new();
            for &i in &h.incidents {
                if let Some(inc) = incidents::get(txn, i)? {
                    list.push(IncidentEntry {
                        incident: inc,
                        history: incidents::history(txn, i)?,
                    });
                }
            }
            Ok(Some(HeldView {
                held: h,
                content_held: present,
                content: stored.filter(|_| content),
                incidents: list,
            }))
        })?;
        found.ok_or_else(|| Error::NotFound(format!("held message {id} not found")))
    }

    /// Incident `id` with its history and its held message (if any).
    pub fn show_incident(&self, id: IncidentId) -> Result<IncidentView> {
        let found = self.store.read(|txn| {
            let Some(i) = incidents::get(txn, id)? else {
                return Ok(None);
            };
            let history = incidents::history(txn, id)?;
            let h = match i.held {
                Some(id) => held::get(txn, id)?,
                None => None,
            };
            Ok(Some(IncidentView {
                incident: i,
                history,
                held: h,
            }))
        })?;
        found.ok_or_else(|| Error::NotFound(format!("incident {id} not found")))
    }

    /// What the quarantine holds now (messages, bytes) and its [`COUNTERS`].
    pub fn stats(&self) -> Result<Stats> {
        let (bytes, count, counters) = self.store.read(|txn| {
            let (bytes, count) = held::totals(txn)?;
            let mut counters = Vec::new();
            for name in COUNTERS {
                counters.push((name, stats::total(txn, name)?));
            }
            Ok((bytes, count, counters))
        })?;
        Ok(Stats {
            held_messages: count,
            held_bytes: bytes,
            counters: counters
                .into_iter()
                .map(|(name, total)| Counter { name, total })
                .collect(),
        })
    }

    /// The summary of held message or incident `id`, `None` when there is none.
    pub fn summary(&self, target: Target, id: u64) -> Result<Option<Summary>> {
        let row = self.store.read(|txn| {
            Ok(match target {
                Target::Held => held::get(txn, HeldId(id))?
                    .map(|h| (h.received, h.sender.clone(), h.subject.clone())),
                Target::Incident => incidents::get(txn, IncidentId(id))?
                    .map(|i| (i.created, i.sender.clone(), i.subject.clone())),
            })
        })?;
        Ok(row.map(|(at, sender, subject)| Summary {
            id,
            at,
            sender,
            subject,
        }))
    }
}
