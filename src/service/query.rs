//! Search: a typed [`Query`] checked into the store's [`Filter`], and listings that walk the
//! store's pages up to the query's limit ([`Listing`]: the items, whether more may match, how many
//! corrupt records were skipped), and single pages walked by a [`Cursor`] ([`Paged`]: the admin UI
//! and API, which never read more than one page per request). Bulk actions select their items here
//! too ([`Service::matching`]).

use serde::{Deserialize, Serialize};

use crate::remediate::{self, Target};
use crate::store::records::{Held, HeldStatus, Incident, IncidentStatus};
use crate::store::search::{Filter, Found, MAX_PAGE, Page};
use crate::store::{self, Store, held, incidents};

use super::{Error, Result, Service};

/// Items a listing holds when the query gives no limit.
pub const DEFAULT_LIST: usize = 50;

/// Severities and directions a query accepts (as the policies and the store record them).
pub const SEVERITIES: [&str; 5] = ["info", "low", "medium", "high", "critical"];
pub const DIRECTIONS: [&str; 3] = ["inbound", "outbound", "internal"];

/// Which held messages or incidents: every condition given must hold. Text values are checked
/// against their sets by [`Query::filter`] (an [`Error::Invalid`] names the field first, e.g.
/// `severity "severe": use one of ...`, so a caller can say which flag or parameter it was).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Query {
    /// A held message's status (`held`, `released`, ...) or an incident's (`new`, `resolved`, ...).
    pub status: Option<String>,
    /// Envelope sender: an address, or `@domain`.
    pub sender: Option<String>,
    /// A recipient: an address, or `@domain`.
    pub recipient: Option<String>,
    /// A policy id.
    pub policy: Option<u64>,
    /// One of [`SEVERITIES`].
    pub severity: Option<String>,
    /// One of [`DIRECTIONS`].
    pub direction: Option<String>,
    /// From this time on (Unix seconds).
    pub since: Option<u64>,
    /// Up to this time (Unix seconds).
    pub until: Option<u64>,
    /// The subject contains this text (case-insensitive).
    pub subject: Option<String>,
    /// At most this many items (listings: [`DEFAULT_LIST`] when absent; bulk selections: all).
    pub limit: Option<usize>,
}

impl Query {
    /// The store filter for `target`, every value checked (statuses are the target's own).
    pub fn filter(&self, target: Target) -> Result<Filter> {
        let statuses: Vec<&str> = match target {
            Target::Held => HeldStatus::ALL.iter().map(|s| s.name()).collect(),
            Target::Incident => IncidentStatus::ALL.iter().map(|s| s.name()).collect(),
        };
        let address = |v: &Option<String>| v.as_deref().map(|s| s.trim().to_string());
        Ok(Filter {
            status: one_of("status", &self.status, &statuses)?,
            sender: address(&self.sender),
            recipient: address(&self.recipient),
            policy: self.policy,
            severity: one_of("severity", &self.severity, &SEVERITIES)?,
            direction: one_of("direction", &self.direction, &DIRECTIONS)?,
            guid: None,
            since: self.since,
            until: self.until,
            subject: self.subject.clone(),
        })
    }
}

/// `v` trimmed when it is one of `allowed`, else an error naming `what`.
fn one_of(what: &str, v: &Option<String>, allowed: &[&str]) -> Result<Option<String>> {
    match v.as_deref().map(str::trim) {
        None => Ok(None),
        Some(s) if allowed.contains(&s) => Ok(Some(s.to_string())),
        Some(s) => Err(Error::Invalid(format!(
            "{what} {s:?}: use one of {}",
            allowed.join(", ")
        ))),
    }
}

/// A page of search results, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listing<T> {
    pub items: Vec<T>,
    /// More records may match than the limit let through.
    pub more: bool,
    /// Records skipped because they do not decode.
    pub corrupt: usize,
}

impl Service {
    /// Held messages matching `query`, newest first, at most its limit ([`DEFAULT_LIST`]).
    pub fn list_held(&self, query: &Query) -> Result<Listing<Held>> {
        let filter = query.filter(Target::Held)?;
        collect(&self.store, &filter, limit(query), |s, f, p| {
            s.read(|txn| held::search(txn, f, p))
        })
    }

    /// Incidents matching `query`, newest first, at most its limit ([`DEFAULT_LIST`]).
    pub fn list_incidents(&self, query: &Query) -> Result<Listing<Incident>> {
        let filter = query.filter(Target::Incident)?;
        collect(&self.store, &filter, limit(query), |s, f, p| {
            s.read(|txn| incidents::search(txn, f, p))
        })
    }

    /// Ids of every item a bulk action over `query` acts on, newest first, at most its limit (all
    /// when it gives none). For held messages a query without a status means those still held.
    pub fn matching(&self, target: Target, query: &Query) -> Result<Vec<u64>> {
        let mut query = query.clone();
        if target == Target::Held && query.status.is_none() {
            query.status = Some(HeldStatus::Held.name().into());
        }
        let filter = query.filter(target)?;
        Ok(remediate::matching(
            &self.store,
            target,
            &filter,
            query.limit,
        )?)
    }
}

/// Where a page starts: the receipt (or creation) time and id of the last item of the page before,
/// written `TIME-ID` in links and the API (`1700000000-42`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub time: u64,
    pub id: u64,
}

impl Cursor {
    /// `TIME-ID`, or `None` when it is not one.
    pub fn parse(s: &str) -> Option<Cursor> {
        let (t, id) = s.trim().split_once('-')?;
        Some(Cursor {
            time: t.parse().ok()?,
            id: id.parse().ok()?,
        })
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.time, self.id)
    }
}

impl Serialize for Cursor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cursor {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Cursor, D::Error> {
        let s = String::deserialize(d)?;
        Cursor::parse(&s).ok_or_else(|| serde::de::Error::custom("not a page cursor (TIME-ID)"))
    }
}

/// One page of a listing, newest first: one bounded search of the store (at most the query's
/// limit, [`DEFAULT_LIST`] when it gives none, never more than the store's largest page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Paged<T> {
    pub items: Vec<T>,
    /// Where the next page starts, when more may match (a search cut short by its scan bound
    /// also says so, with fewer items).
    pub next: Option<Cursor>,
    /// Records skipped because they do not decode.
    pub corrupt: usize,
}

impl Service {
    /// One page of held messages matching `query`, older than `before`.
    pub fn page_held(&self, query: &Query, before: Option<Cursor>) -> Result<Paged<Held>> {
        let filter = query.filter(Target::Held)?;
        let page = page_of(query, before);
        let found = self.store.read(|txn| held::search(txn, &filter, page))?;
        Ok(paged(found))
    }

    /// One page of incidents matching `query`, older than `before`.
    pub fn page_incidents(&self, query: &Query, before: Option<Cursor>) -> Result<Paged<Incident>> {
        let filter = query.filter(Target::Incident)?;
        let page = page_of(query, before);
        let found = self
            .store
            .read(|txn| incidents::search(txn, &filter, page))?;
        Ok(paged(found))
    }
}

fn page_of(query: &Query, before: Option<Cursor>) -> Page {
    Page {
        limit: limit(query).clamp(1, MAX_PAGE),
        before: before.map(|c| (c.time, c.id)),
    }
}

fn paged<T>(found: Found<T>) -> Paged<T> {
    Paged {
        items: found.items,
        next: found.next.map(|(time, id)| Cursor { time, id }),
        corrupt: found.corrupt.len(),
    }
}

fn limit(query: &Query) -> usize {
    query.limit.unwrap_or(DEFAULT_LIST)
}

/// Up to `limit` records matching `filter`, newest first, walking pages; also whether more may
/// match and how many records were skipped as corrupt.
pub(super) fn collect<F, T>(
    store: &Store,
    filter: &F,
    limit: usize,
    search: impl Fn(&Store, &F, Page) -> store::Result<Found<T>>,
) -> Result<Listing<T>> {
    let (mut items, mut corrupt) = (Vec::new(), 0);
    let mut before = None;
    loop {
        let want = limit.saturating_sub(items.len()).min(MAX_PAGE);
        if want == 0 {
            let more = before.is_some();
            return Ok(Listing {
                items,
                more,
                corrupt,
            });
        }
        let found = search(
            store,
            filter,
            Page {
                limit: want,
                before,
            },
        )?;
        corrupt += found.corrupt.len();
        items.extend(found.items);
        match found.next {
            Some(cursor) => before = Some(cursor),
            None => {
                return Ok(Listing {
                    items,
                    more: false,
                    corrupt,
                });
            }
        }
    }
}
