//! Message tracking: one row per message's final disposition ([`TrackQuery`] checked into the
//! store's `TrackFilter`, newest first), and a message's whole trail by GUID: the outbox's events
//! about it in order, its held record and its incidents. Read-only.

use serde::{Deserialize, Serialize};

use crate::events::{Event, Field};
use crate::store::records::{Held, Incident};
use crate::store::search::{Filter, Found, MAX_PAGE, Page};
use crate::store::tracking::{self, TrackFilter};
use crate::store::{held, incidents};

use super::query::{Cursor, DIRECTIONS};
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
    /// At most this many rows (default [`super::DEFAULT_LIST`], at most the store's largest
    /// page, 1000).
    pub limit: Option<usize>,
    /// The page of rows older than this cursor (the `next` of the page before).
    #[serde(default)]
    pub before: Option<Cursor>,
    /// The page of rows newer than this cursor (the `previous` of the page after).
    #[serde(default)]
    pub after: Option<Cursor>,
}

/// One page of tracking rows, newest first, with the cursors of the pages around it. Pages are
/// cut by (time, seq) in the store's own index order, so a page reached by a cursor is the same
/// whatever arrived since, and no page costs more than one bounded index walk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackPage {
    pub items: Vec<TrackRow>,
    /// Older rows may match (then `next` is set).
    pub more: bool,
    /// Where the page of older rows starts (`before=`).
    pub next: Option<Cursor>,
    /// Where the page of newer rows starts (`after=`); none on the newest page.
    pub previous: Option<Cursor>,
    /// Records skipped because they do not decode.
    pub corrupt: usize,
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
    /// One page of messages matching `query`, newest first, one row each, at most its limit:
    /// the newest, or the one its `before` or `after` cursor names.
    pub fn track(&self, query: &TrackQuery) -> Result<TrackPage> {
        let filter = query.filter()?;
        let limit = query
            .limit
            .unwrap_or(super::DEFAULT_LIST)
            .clamp(1, MAX_PAGE);
        let at = |c: Cursor| (c.time, c.id);
        let cursor = |(time, id)| Cursor { time, id };
        let page = |before: Option<Cursor>| Page {
            limit,
            before: before.map(at),
        };
        match (query.before, query.after) {
            (Some(_), Some(_)) => Err(Error::Invalid(
                "before, after: give one page cursor, not both".into(),
            )),
            (before, None) => {
                let found = self
                    .store
                    .read(|txn| tracking::search(txn, &filter, page(before)))?;
                let mut out = rows(found);
                out.previous = before.and(out.items.first().map(|r| cursor((r.at, r.seq))));
                Ok(out)
            }
            (None, Some(after)) => {
                let found = self
                    .store
                    .read(|txn| tracking::search_after(txn, &filter, at(after), limit))?;
                if found.next.is_none() {
                    // Fewer newer rows than a page: the newest page is the one before.
                    let found = self
                        .store
                        .read(|txn| tracking::search(txn, &filter, page(None)))?;
                    return Ok(rows(found));
                }
                let newer = found.next.map(cursor);
                let mut out = rows(found);
                out.items.reverse();
                out.previous = newer;
                out.next = Some(out.items.last().map_or(after, |r| cursor((r.at, r.seq))));
                out.more = true;
                Ok(out)
            }
        }
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

/// A store page as rows: `next` continues it, `previous` is for the caller to set.
fn rows(found: Found<Event>) -> TrackPage {
    let next = found.next.map(|(time, id)| Cursor { time, id });
    TrackPage {
        items: found.items.iter().map(TrackRow::of).collect(),
        more: next.is_some(),
        next,
        previous: None,
        corrupt: found.corrupt.len(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::Clock;
    use crate::config::Config;
    use crate::events::{Fields, Kind};
    use crate::store::{Store, events};

    /// A service over a store holding `n` relayed messages `m0..`, three to a second (so pages
    /// cut inside one second too), and a blocked one from `x@other.example` between each.
    fn messages(n: u64) -> Service {
        let store = Store::memory().unwrap();
        for i in 0..n {
            add(
                &store,
                1_000 + i / 3,
                Kind::MessageRelayed,
                &format!("m{i}"),
            );
            add(
                &store,
                1_000 + i / 3,
                Kind::MessageBlocked,
                &format!("x{i}"),
            );
        }
        let config = Arc::new(Config::embedded().unwrap());
        Service::new(store, config, Clock::fixed(5_000))
    }

    fn add(store: &Store, at: u64, kind: Kind, guid: &str) {
        let f = Fields::new().with(Field::EmailLocalId, guid);
        store
            .write_blocking(move |txn| events::append(txn, at, kind, f))
            .unwrap();
    }

    fn guids(p: &TrackPage) -> Vec<String> {
        p.items.iter().map(|r| r.guid.clone()).collect()
    }

    fn relayed(before: Option<Cursor>, after: Option<Cursor>) -> TrackQuery {
        TrackQuery {
            outcome: Some("relayed".into()),
            limit: Some(100),
            before,
            after,
            ..TrackQuery::default()
        }
    }

    #[test]
    fn pages_by_cursor_are_disjoint_complete_and_in_order() {
        let s = messages(250);
        let one = s.track(&relayed(None, None)).unwrap();
        let two = s.track(&relayed(one.next, None)).unwrap();
        let three = s.track(&relayed(two.next, None)).unwrap();
        assert_eq!(
            (one.items.len(), two.items.len(), three.items.len()),
            (100, 100, 50)
        );
        assert_eq!(one.previous, None);
        assert!(two.previous.is_some() && three.previous.is_some());
        assert_eq!(three.next, None);
        assert!(!three.more);
        let all: Vec<String> = [&one, &two, &three].into_iter().flat_map(guids).collect();
        let expected: Vec<String> = (0..250).rev().map(|i| format!("m{i}")).collect();
        assert_eq!(all, expected, "every message once, newest first");
        // New arrivals do not move the pages already cut, either way.
        add(&s.store, 2_000, Kind::MessageRelayed, "new");
        assert_eq!(
            guids(&s.track(&relayed(one.next, None)).unwrap()),
            guids(&two)
        );
        let back = s.track(&relayed(None, three.previous)).unwrap();
        assert_eq!(guids(&back), guids(&two));
        assert_eq!(back.next, two.next);
        // Newer than page 2 is page 1 as it was, then the newest page.
        let first = s.track(&relayed(None, back.previous)).unwrap();
        assert_eq!(guids(&first), guids(&one));
        let newest = s.track(&relayed(None, first.previous)).unwrap();
        assert_eq!(newest.items[0].guid, "new");
        assert_eq!(newest.previous, None);
    }

    #[test]
    fn both_cursors_at_once_are_refused() {
        let s = messages(3);
        let c = Some(Cursor { time: 1_000, id: 1 });
        let e = s.track(&relayed(c, c)).unwrap_err();
        assert!(e.message().contains("not both"), "{}", e.message());
    }
}
