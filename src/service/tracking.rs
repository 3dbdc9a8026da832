//! Message tracking: one row per message's final disposition ([`TrackQuery`] checked into the
//! store's `TrackFilter`, newest first), and a message's whole trail by GUID: the outbox's events
//! about it in order, its held record and its incidents. Read-only.

use serde::{Deserialize, Serialize};

use crate::events::{Event, Field};
use crate::store::records::{Held, Incident};
use crate::store::search::{Filter, Page};
use crate::store::tracking::{self, TrackFilter};
use crate::store::{held, incidents};

use super::query::{DIRECTIONS, Listing, collect};
use super::{Error, Result, Service};

/// Events a trail holds at most (a message released and delivered to many recipients has one
/// event per recipient and attempt).
pub const MAX_TRAIL: usize = 1000;

/// Which messages: every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackQuery {
    /// Envelope sender: an address, or `@domain`.
    pub sender: Option<String>,
    /// A recipient: an address, or `@domain`.
    pub recipient: Option<String>,
    /// The subject contains this text (case-insensitive).
    pub subject: Option<String>,
    /// The Message-ID header (with or without `<>`).
    pub message_id: Option<String>,
    /// The SMTP client's address.
    pub client_ip: Option<String>,
    /// Sluice's GUID of the message.
    pub guid: Option<String>,
    /// The outcome: relayed, modified, redirected, quarantined, blocked, deferred, rejected,
    /// accepted.
    pub outcome: Option<String>,
    /// One of inbound, outbound, internal.
    pub direction: Option<String>,
    /// From this time on (Unix seconds).
    pub since: Option<u64>,
    /// Up to this time (Unix seconds).
    pub until: Option<u64>,
    /// At most this many rows (default [`super::DEFAULT_LIST`]).
    pub limit: Option<usize>,
}

/// One message as the tracking list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackRow {
    /// The event's place in the outbox.
    pub seq: u64,
    /// When it ended (Unix seconds).
    pub at: u64,
    pub guid: String,
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub message_id: String,
    pub client_ip: String,
    pub direction: String,
    /// The disposition: relayed, quarantined, blocked, ...
    pub outcome: String,
    pub size: Option<u64>,
    /// The policies that matched.
    pub policies: Vec<String>,
    /// Where it was relayed to.
    pub next_hop: String,
    /// The enhanced status code of the reply given.
    pub dsn: String,
}

impl TrackRow {
    pub fn of(e: &Event) -> TrackRow {
        let get = |f| e.get(f).unwrap_or_default().to_string();
        TrackRow {
            seq: e.seq,
            at: e.at,
            guid: get(Field::EmailLocalId),
            from: get(Field::EmailFromAddress),
            to: e.all(Field::EmailToAddress).map(str::to_string).collect(),
            subject: get(Field::EmailSubject),
            message_id: get(Field::EmailMessageId),
            client_ip: get(Field::SourceIp),
            direction: get(Field::EmailDirection),
            outcome: tracking::outcome(e.kind).to_string(),
            size: e.get(Field::Size).and_then(|s| s.parse().ok()),
            policies: e.all(Field::RuleName).map(str::to_string).collect(),
            next_hop: e
                .get(Field::DestinationAddress)
                .or(e.get(Field::DestinationIp))
                .unwrap_or_default()
                .to_string(),
            dsn: get(Field::Dsn),
        }
    }
}

/// A message's whole life: every event the outbox holds about it, oldest first, and what the
/// store keeps of it (its held record, its incidents).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageTrail {
    pub guid: String,
    pub events: Vec<Event>,
    /// The trail was cut at [`MAX_TRAIL`] events.
    pub cut: bool,
    pub held: Option<Held>,
    pub incidents: Vec<Incident>,
}

impl TrackQuery {
    /// The store's filter, every value checked (an error names the field).
    pub fn filter(&self) -> Result<TrackFilter> {
        let outcomes = tracking::outcomes();
        let text = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let outcome = text(&self.outcome);
        if let Some(o) = &outcome
            && !outcomes.contains(&o.as_str())
        {
            return Err(Error::Invalid(format!(
                "outcome {o:?}: use one of {}",
                outcomes.join(", ")
            )));
        }
        let direction = text(&self.direction);
        if let Some(d) = &direction
            && !DIRECTIONS.contains(&d.as_str())
        {
            return Err(Error::Invalid(format!(
                "direction {d:?}: use one of {}",
                DIRECTIONS.join(", ")
            )));
        }
        Ok(TrackFilter {
            sender: text(&self.sender),
            recipient: text(&self.recipient),
            subject: text(&self.subject),
            message_id: text(&self.message_id),
            client_ip: text(&self.client_ip),
            guid: text(&self.guid),
            status: outcome,
            direction,
            since: self.since,
            until: self.until,
        })
    }
}

impl Service {
    /// Messages matching `query`, newest first, one row each, at most its limit.
    pub fn track(&self, query: &TrackQuery) -> Result<Listing<TrackRow>> {
        let filter = query.filter()?;
        let limit = query.limit.unwrap_or(super::DEFAULT_LIST);
        let found = collect(&self.store, &filter, limit, |s, f, p: Page| {
            s.read(|txn| tracking::search(txn, f, p))
        })?;
        Ok(Listing {
            items: found.items.iter().map(TrackRow::of).collect(),
            more: found.more,
            corrupt: found.corrupt,
        })
    }

    /// The trail of the message with this GUID: its events, held record and incidents. A GUID
    /// the store knows nothing of (or no longer) is [`Error::NotFound`].
    pub fn trail(&self, guid: &str) -> Result<MessageTrail> {
        let guid = guid.trim();
        if guid.is_empty() || guid.len() > 200 {
            return Err(Error::Invalid("guid: give a message GUID".into()));
        }
        let filter = Filter {
            guid: Some(guid.to_string()),
            ..Filter::default()
        };
        let page = Page {
            limit: crate::store::search::MAX_PAGE,
            before: None,
        };
        let (mut events, held, incidents) = self.store.read(|txn| {
            let events = tracking::trail(txn, guid, MAX_TRAIL + 1)?;
            let held = held::search(txn, &filter, page)?.items.into_iter().next();
            let mut incidents = incidents::search(txn, &filter, page)?.items;
            incidents.reverse();
            Ok((events, held, incidents))
        })?;
        if events.is_empty() && held.is_none() && incidents.is_empty() {
            return Err(Error::NotFound(format!("no message {guid}")));
        }
        let cut = events.len() > MAX_TRAIL;
        events.truncate(MAX_TRAIL);
        Ok(MessageTrail {
            guid: guid.to_string(),
            events,
            cut,
            held,
            incidents,
        })
    }
}
