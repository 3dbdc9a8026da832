//! Writes an attempt's [`Plan`] to the store in one transaction (entry rewritten or completed, the
//! reports queued, incident history, outbox events, counters), and the reordering that moves entries
//! for a next hop that accepts mail again to the front.

use std::collections::HashSet;

use crate::store::records::{HistoryEntry, Queued};
use crate::store::{self, Store, events, held, incidents, queue, stats};

use super::attempt::hop_of;
use super::outcome::{Plan, held_of};

/// Queue entries looked at when reordering (the scan runs once per next hop that comes back).
pub const REORDER_SCAN: usize = 10_000;

/// The actor of every history entry the queue writes.
pub const ACTOR: &str = "sluice";

/// Applies `plan` at `now` and queues `reports` (delay notices, bounces) in the same transaction;
/// returns the ids of the queued reports.
pub async fn apply(
    store: &Store,
    plan: Plan,
    reports: Vec<(Queued, Vec<u8>)>,
    now: u64,
) -> store::Result<Vec<u64>> {
    store
        .write(move |dbs, txn| {
            let id = plan.entry.id;
            if plan.done {
                queue::complete(dbs, txn, id)?;
            } else {
                queue::update(dbs, txn, &plan.entry)?;
            }
            let mut ids = Vec::new();
            for (entry, content) in &reports {
                ids.push(queue::insert(dbs, txn, entry.clone(), content)?);
            }
            if let Some(h) = held_of(&plan.entry)
                && let Some(h) = held::get(dbs, txn, h)?
            {
                for &incident in &h.incidents {
                    for (action, result) in &plan.history {
                        let entry = HistoryEntry {
                            at: now,
                            actor: ACTOR.to_string(),
                            action: (*action).to_string(),
                            result: result.clone(),
                        };
                        incidents::append_history(dbs, txn, incident, &entry)?;
                    }
                }
            }
            for (kind, fields) in &plan.events {
                events::append(dbs, txn, now, kind, fields.clone())?;
            }
            for (name, n) in &plan.stats {
                stats::bump(dbs, txn, now, name, *n)?;
            }
            Ok(ids)
        })
        .await
}

/// Entries for `hop` waiting out a retry interval (tried before, not due yet, not being delivered):
/// the ones to move to the front once `hop` accepts mail again. Pure.
pub fn to_front(
    entries: &[Queued],
    hop: &str,
    reflect: bool,
    now: u64,
    in_flight: &HashSet<u64>,
) -> Vec<u64> {
    entries
        .iter()
        .filter(|e| {
            e.attempts > 0
                && e.next_attempt > now
                && !in_flight.contains(&e.id)
                && hop_of(e, reflect) == hop
        })
        .map(|e| e.id)
        .collect()
}

/// Makes the entries [`to_front`] picks due at `now`; returns how many moved.
pub async fn reorder(
    store: &Store,
    hop: String,
    reflect: bool,
    now: u64,
    in_flight: HashSet<u64>,
) -> store::Result<usize> {
    store
        .write(move |dbs, txn| {
            let entries = queue::list(dbs, txn, REORDER_SCAN)?;
            let ids = to_front(&entries, &hop, reflect, now, &in_flight);
            for e in entries.into_iter().filter(|e| ids.contains(&e.id)) {
                let mut moved = e;
                moved.next_attempt = now;
                queue::update(dbs, txn, &moved)?;
            }
            Ok(ids.len())
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::records::{QueueKind, QueuedRecipient, RcptState};

    fn entry(id: u64, peer: &str, attempts: u32, next: u64) -> Queued {
        Queued {
            id,
            kind: QueueKind::Release { held: 1 },
            created: 0,
            sender: "a@x.org".into(),
            envid: None,
            ret_full: false,
            recipients: vec![QueuedRecipient {
                address: "b@y.org".into(),
                orcpt: None,
                state: RcptState::Pending,
                last_reply: None,
            }],
            peer: peer.into(),
            attempts,
            next_attempt: next,
            give_up_at: 0,
            delay_notice_sent: false,
        }
    }

    #[test]
    fn only_waiting_entries_of_the_same_hop_move_to_the_front() {
        let entries = vec![
            entry(1, "10.0.0.1", 2, 500),
            entry(2, "10.0.0.2", 2, 500),
            entry(3, "10.0.0.1", 0, 500),
            entry(4, "10.0.0.1", 1, 50),
            entry(5, "10.0.0.1", 1, 900),
        ];
        let busy: HashSet<u64> = [5].into();
        assert_eq!(to_front(&entries, "10.0.0.1", true, 100, &busy), vec![1]);
        assert_eq!(
            to_front(&entries, "next-hop", false, 100, &HashSet::new()),
            vec![1, 2, 5]
        );
    }
}
