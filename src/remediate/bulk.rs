//! Bulk remediation over a filtered list: every matching held message or incident (all pages of the
//! search), one write each, so one item's failure never stops or undoes the others. Per-item outcomes,
//! totals, and a progress callback for the caller's progress bar.

use std::collections::{BTreeMap, HashMap};

use crate::store::records::{HeldId, IncidentId};
use crate::store::search::{Filter, MAX_PAGE, Page};
use crate::store::{Result, Store, StoreError, held, incidents};

use super::Action;

/// What a bulk action walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Held,
    Incident,
}

/// How one item went.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", content = "detail", rename_all = "snake_case")]
pub enum Outcome {
    /// Done; what was done.
    Done(String),
    /// The request conflicts with the item's state (e.g. already released); why.
    Refused(String),
    /// The item (or its message) does not exist.
    NotFound(String),
    /// A store error; the item is unchanged.
    Failed(String),
}

impl From<Result<String>> for Outcome {
    fn from(r: Result<String>) -> Outcome {
        match r {
            Ok(s) => Outcome::Done(s),
            Err(StoreError::Refused(s)) => Outcome::Refused(s),
            Err(e @ StoreError::NotFound(_)) => Outcome::NotFound(e.to_string()),
            Err(e) => Outcome::Failed(e.to_string()),
        }
    }
}

/// One item's outcome.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Item {
    pub id: u64,
    pub outcome: Outcome,
}

/// Counts over a bulk run, with the refusal reasons.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    pub done: u64,
    pub refused: u64,
    pub not_found: u64,
    pub failed: u64,
    /// Refusal reason -> count.
    pub reasons: BTreeMap<String, u64>,
}

impl Totals {
    pub fn add(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Done(_) => self.done += 1,
            Outcome::Refused(why) => {
                self.refused += 1;
                *self.reasons.entry(why.clone()).or_default() += 1;
            }
            Outcome::NotFound(_) => self.not_found += 1,
            Outcome::Failed(_) => self.failed += 1,
        }
    }

    /// `released 12, refused 1 (already released), not found 0, failed 0`.
    pub fn summary(&self, verb: &str) -> String {
        let reasons = if self.reasons.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = self
                .reasons
                .iter()
                .map(|(why, n)| {
                    if self.reasons.len() == 1 {
                        why.clone()
                    } else {
                        format!("{n} {why}")
                    }
                })
                .collect();
            format!(" ({})", list.join("; "))
        };
        format!(
            "{verb} {}, refused {}{reasons}, not found {}, failed {}",
            self.done, self.refused, self.not_found, self.failed
        )
    }
}

/// Everything a bulk run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Bulk {
    pub items: Vec<Item>,
    pub totals: Totals,
}

/// Progress of a bulk run, after each item.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    pub done: usize,
    pub total: usize,
    pub item: &'a Item,
}

/// Ids of every held message or incident matching `filter`, newest first, at most `max`: walks all
/// pages of the search (a page cut short by the scan bound continues from its cursor).
pub fn matching(
    store: &Store,
    target: Target,
    filter: &Filter,
    max: Option<usize>,
) -> Result<Vec<u64>> {
    let mut ids = Vec::new();
    let mut before = None;
    loop {
        let want = max.map_or(MAX_PAGE, |m| m.saturating_sub(ids.len()).min(MAX_PAGE));
        if want == 0 {
            break;
        }
        let page = Page {
            limit: want,
            before,
        };
        let next = store.read(|txn| match target {
            Target::Held => {
                let found = held::search(txn, filter, page)?;
                ids.extend(found.items.iter().map(|h| h.id.0));
                Ok(found.next)
            }
            Target::Incident => {
                let found = incidents::search(txn, filter, page)?;
                ids.extend(found.items.iter().map(|i| i.id.0));
                Ok(found.next)
            }
        })?;
        match next {
            Some(cursor) => before = Some(cursor),
            None => break,
        }
    }
    Ok(ids)
}

/// Applies `action` to each id in turn (one write each), reporting progress after every item.
/// Through incidents, a message shared by several of them is acted on once; the others report
/// "same message as incident N".
pub async fn apply(
    store: &Store,
    target: Target,
    ids: &[u64],
    action: &Action<'_>,
    actor: &str,
    now: u64,
    mut progress: impl FnMut(Progress<'_>),
) -> Bulk {
    let mut bulk = Bulk::default();
    let mut seen: HashMap<u64, u64> = HashMap::new();
    for (n, &id) in ids.iter().enumerate() {
        let outcome = match target {
            Target::Held => super::held_action(store, HeldId(id), action, actor, now)
                .await
                .into(),
            Target::Incident => match shared_message(store, id, action, &mut seen) {
                Some(first) => Outcome::Done(format!("same message as incident {first}")),
                None => super::incident_action(store, IncidentId(id), action, actor, now)
                    .await
                    .into(),
            },
        };
        bulk.totals.add(&outcome);
        bulk.items.push(Item { id, outcome });
        if let Some(item) = bulk.items.last() {
            progress(Progress {
                done: n + 1,
                total: ids.len(),
                item,
            });
        }
    }
    bulk
}

/// For message actions through incidents: the earlier incident of this run with the same held
/// message, if any (remembering this one otherwise).
fn shared_message(
    store: &Store,
    incident: u64,
    action: &Action<'_>,
    seen: &mut HashMap<u64, u64>,
) -> Option<u64> {
    if !action.needs_message() {
        return None;
    }
    let held = store
        .read(
            |txn| Ok(incidents::get(txn, IncidentId(incident))?.and_then(|i| i.held.map(|h| h.0))),
        )
        .ok()
        .flatten()?;
    match seen.get(&held) {
        Some(&first) => Some(first),
        None => {
            seen.insert(held, incident);
            None
        }
    }
}

/// [`matching`] then [`apply`]: every item matching `filter` (at most `max`).
#[allow(clippy::too_many_arguments)]
pub async fn bulk(
    store: &Store,
    target: Target,
    filter: &Filter,
    max: Option<usize>,
    action: &Action<'_>,
    actor: &str,
    now: u64,
    progress: impl FnMut(Progress<'_>),
) -> Result<Bulk> {
    let ids = matching(store, target, filter, max)?;
    Ok(apply(store, target, &ids, action, actor, now, progress).await)
}
