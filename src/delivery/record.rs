//! Writes an attempt's [`Plan`] to the store in one transaction (entry rewritten or completed, the
//! reports queued, incident history, outbox events, counters), and the reordering that moves entries
//! for a next hop that accepts mail again to the front.

use std::collections::HashSet;
use std::sync::Arc;

use crate::config::gateway::Gateway;

use crate::events::{Field, Fields};
use crate::store::records::{Held, HeldStatus, HistoryEntry, QueueId, Queued, RcptState};
use crate::store::{self, Store, events, held, incidents, lifecycle, queue, stats};

use super::attempt::hops_of;
use super::outcome::{Plan, held_of};
use super::schedule::may_move_forward;

/// Queue entries looked at when reordering (the scan runs once per next hop that comes back).
pub const REORDER_SCAN: usize = 10_000;

/// The actor of every history entry the queue writes.
pub const ACTOR: &str = "sluice";

/// Applies `plan` at `now` and queues `reports` (delay notices, bounces) in the same transaction;
/// returns the ids of the queued reports. The operator's word given while the attempt ran wins:
/// an entry deleted meanwhile (`sluice queue delete`) is not written back and gets no report; one
/// put on hold stays held (out of the due index). What the attempt did is recorded either way.
pub async fn apply(
    store: &Store,
    mut plan: Plan,
    reports: Vec<(Queued, Vec<u8>)>,
    now: u64,
) -> store::Result<Vec<QueueId>> {
    store
        .write(move |txn| {
            let id = plan.entry.id;
            let current = queue::get(txn, id)?;
            let mut ids = Vec::new();
            if let Some(current) = current {
                plan.entry.held = current.held;
                if plan.done {
                    queue::complete(txn, id)?;
                } else {
                    queue::update(txn, &plan.entry)?;
                }
                for (entry, content) in &reports {
                    ids.push(queue::insert(txn, entry.clone(), content)?);
                }
            }
            let released = match held_of(&plan.entry) {
                Some(h) => held::get(txn, h)?,
                None => None,
            };
            let about = message_fields(&plan.entry, released.as_ref());
            if let Some(h) = released {
                for &incident in &h.incidents {
                    for (action, result) in &plan.history {
                        let entry = HistoryEntry {
                            at: now,
                            actor: ACTOR.to_string(),
                            action: (*action).to_string(),
                            result: result.clone(),
                        };
                        incidents::append_history(txn, incident, &entry)?;
                    }
                }
                let after = follow_delivery(&h, &plan.entry);
                if after != h {
                    held::update(txn, &h, &after)?;
                }
            }
            for (kind, fields) in &plan.events {
                let mut fields = fields.clone();
                fields.0.extend(about.0.iter().cloned());
                events::append(txn, now, *kind, fields)?;
            }
            for (name, n) in &plan.stats {
                stats::bump(txn, now, name, *n)?;
            }
            Ok(ids)
        })
        .await
}

/// What a queue event says of the message besides its recipient: the envelope sender, and for a
/// released message its held record's GUID, subject, Message-ID, direction and client.
fn message_fields(entry: &Queued, released: Option<&Held>) -> Fields {
    let mut f = Fields::new().with(Field::EmailFromAddress, &entry.sender);
    if let Some(h) = released {
        f = f
            .with(Field::HeldId, h.id)
            .with(Field::EmailLocalId, &h.guid)
            .with(Field::EmailSubject, &h.subject)
            .with(Field::EmailMessageId, &h.message_id)
            .with(Field::EmailDirection, h.direction.name())
            .with(Field::SourceIp, &h.peer);
    }
    f
}

/// The held message with each released recipient's status following its delivery in `entry`
/// (the release's queue entry): delivered, bounced (refused or given up on), or deferred (still
/// pending after an attempt). Recipients matched by address; others are left as they are. Pure.
pub fn follow_delivery(h: &Held, entry: &Queued) -> Held {
    let mut after = h.clone();
    for r in after
        .recipients
        .iter_mut()
        .filter(|r| r.status.is_released())
    {
        let Some(q) = entry
            .recipients
            .iter()
            .find(|q| q.address.eq_ignore_ascii_case(&r.address))
        else {
            continue;
        };
        let to = match q.state {
            RcptState::Delivered { .. } => HeldStatus::Delivered,
            RcptState::Failed { .. } => HeldStatus::Bounced,
            RcptState::Pending if entry.attempts > 0 => HeldStatus::Deferred,
            RcptState::Pending => r.status,
        };
        if lifecycle::follows(r.status, to) {
            r.status = to;
        }
    }
    after
}

/// Entries for `hop` that reordering may move (`schedule::may_move_forward`: waiting out a retry
/// interval because the next hop was down, never a recipient's own 4xx back-off), not on hold and
/// not being delivered: the ones to move to the front once `hop` accepts mail again. Pure.
pub fn to_front(
    entries: &[Queued],
    hop: &str,
    reflect: bool,
    gw: &Gateway,
    now: u64,
    in_flight: &HashSet<QueueId>,
) -> Vec<QueueId> {
    entries
        .iter()
        .filter(|e| {
            !e.held
                && may_move_forward(e, now)
                && !in_flight.contains(&e.id)
                && hops_of(e, reflect, gw).iter().any(|h| h == hop)
        })
        .map(|e| e.id)
        .collect()
}

/// Makes the entries [`to_front`] picks due at `now`; returns how many moved.
pub async fn reorder(
    store: &Store,
    hop: String,
    reflect: bool,
    gw: Arc<Gateway>,
    now: u64,
    in_flight: HashSet<QueueId>,
) -> store::Result<usize> {
    store
        .write(move |txn| {
            let entries = queue::list(txn, REORDER_SCAN)?;
            let ids = to_front(&entries, &hop, reflect, &gw, now, &in_flight);
            for e in entries.into_iter().filter(|e| ids.contains(&e.id)) {
                let mut moved = e;
                moved.next_attempt = now;
                queue::update(txn, &moved)?;
            }
            Ok(ids.len())
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::records::{IncidentId, QueueKind, QueuedRecipient, RcptState};

    fn entry(id: u64, peer: &str, attempts: u32, next: u64) -> Queued {
        Queued {
            id: crate::store::records::QueueId(id),
            kind: QueueKind::Release {
                held: crate::store::records::HeldId(1),
            },
            created: 0,
            sender: "a@x.org".into(),
            envid: None,
            ret_full: false,
            recipients: vec![QueuedRecipient {
                address: "b@y.org".into(),
                notify: Default::default(),
                orcpt: None,
                state: RcptState::Pending,
                last_reply: None,
            }],
            peer: peer.into(),
            attempts,
            next_attempt: next,
            give_up_at: 0,
            delay_notice_sent: false,
            held: false,
        }
    }

    fn held_with_incidents(incidents: Vec<u64>) -> crate::store::records::Held {
        use crate::store::records::{Held, HeldStatus, Hold};
        Held {
            id: crate::store::records::HeldId(0),
            guid: "G".into(),
            received: 1,
            direction: crate::policy::Direction::Outbound,
            peer: String::new(),
            sender: "a@x.org".into(),
            envid: None,
            ret_full: false,
            recipients: vec![],
            subject: "s".into(),
            message_id: "<m@x>".into(),
            size: 0,
            policies: vec![],
            severity: crate::policy::Severity::High,
            status: HeldStatus::Released,
            hold: Hold::Quarantine,
            findings: vec![],
            incidents: incidents.into_iter().map(IncidentId).collect(),
            expires: 10,
        }
    }

    #[test]
    fn one_write_records_states_history_events_counters_and_reports() {
        use super::super::outcome::{Attempted, RcptResult, plan};
        use super::super::schedule::Schedule;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &crate::testing::options()).unwrap();
        let (held_id, queued) = store
            .write_blocking(|txn| {
                let (h, _) = held::insert(
                    txn,
                    held_with_incidents(vec![7, 8]),
                    b"x",
                    crate::testing::caps(),
                )?;
                let mut e = entry(0, "", 0, 100);
                e.kind = crate::store::records::QueueKind::Release { held: h };
                e.recipients.push(e.recipients[0].clone());
                e.recipients[1].address = "c@y.org".into();
                let id = queue::insert(txn, e, b"content")?;
                Ok((h, queue::get(txn, id)?.unwrap()))
            })
            .unwrap();
        assert_eq!(held_id, crate::store::records::HeldId(1));
        let s = Schedule {
            retry: vec![60],
            give_up: 1_000,
            delay_notice: 0,
        };
        let attempt = Attempted {
            results: vec![
                (0, RcptResult::Delivered("250 ok".into())),
                (1, RcptResult::Deferred("451 later".into())),
            ],
            remote: None,
            tls: Default::default(),
            hops: Vec::new(),
        };
        let p = plan(queued.clone(), &attempt, 200, &s, true);
        let mut report = entry(0, "", 0, 200);
        report.sender.clear();
        let ids = smol::block_on(apply(&store, p, vec![(report, b"dsn".to_vec())], 200)).unwrap();
        assert_eq!(ids.len(), 1);
        store
            .read(|txn| {
                let e = queue::get(txn, queued.id)?.unwrap();
                assert_eq!(e.next_attempt, 260);
                assert_eq!(e.attempts, 1);
                assert_eq!(e.recipients[1].last_reply.as_deref(), Some("451 later"));
                assert_eq!(queue::content(txn, ids[0])?.unwrap(), b"dsn");
                for incident in [7, 8] {
                    let h = incidents::history(txn, crate::store::records::IncidentId(incident))?;
                    let lines: Vec<&str> = h.iter().map(|x| x.result.as_str()).collect();
                    assert_eq!(
                        lines,
                        [
                            "delivered to b@y.org: 250 ok",
                            "delivery failed, will retry (c@y.org): 451 later"
                        ]
                    );
                    assert!(h.iter().all(|x| x.actor == ACTOR && x.at == 200));
                }
                let kinds: Vec<&str> = events::since(txn, 0, 10)?
                    .into_iter()
                    .map(|e| e.kind.name())
                    .collect();
                assert_eq!(kinds, ["queue.delivered", "queue.deferred"]);
                assert_eq!(stats::sum(txn, "delivered", 0, 200)?, 1);
                assert_eq!(stats::sum(txn, "deferred", 0, 200)?, 1);
                Ok(())
            })
            .unwrap();
        // A finished entry is removed with its content.
        let done = Attempted {
            results: vec![(1, RcptResult::Failed("550 no".into()))],
            remote: None,
            tls: Default::default(),
            hops: Vec::new(),
        };
        let e = store
            .read(|txn| queue::get(txn, queued.id))
            .unwrap()
            .unwrap();
        let p = plan(e, &done, 300, &s, true);
        assert!(p.done);
        smol::block_on(apply(&store, p, vec![], 300)).unwrap();
        store
            .read(|txn| {
                assert!(queue::get(txn, queued.id)?.is_none());
                assert!(queue::content(txn, queued.id)?.is_none());
                assert_eq!(stats::sum(txn, "bounced", 0, 300)?, 1);
                Ok(())
            })
            .unwrap();
        store.close();
    }

    #[test]
    fn the_operators_word_during_an_attempt_wins() {
        use super::super::outcome::{Attempted, RcptResult, plan};
        use super::super::schedule::Schedule;
        let store = Store::memory().unwrap();
        let s = Schedule {
            retry: vec![60],
            give_up: 1_000,
            delay_notice: 0,
        };
        let attempt = |r: RcptResult| Attempted {
            results: vec![(0, r)],
            remote: None,
            tls: Default::default(),
            hops: Vec::new(),
        };
        let (a, b) = store
            .write_blocking(|txn| {
                let a = queue::insert(txn, entry(0, "", 0, 100), b"a")?;
                Ok((a, queue::insert(txn, entry(0, "", 0, 100), b"b")?))
            })
            .unwrap();
        let lease = |id| {
            store
                .write_blocking(move |t| queue::lease(t, id, 100, 400))
                .unwrap()
                .unwrap()
                .0
        };
        // Held while its attempt ran: the deferral is recorded, the entry stays held, not due.
        let leased = lease(a);
        store.write_blocking(move |t| queue::hold(t, a)).unwrap();
        let deferred = attempt(RcptResult::Deferred("451 later".into()));
        let p = plan(leased, &deferred, 200, &s, true);
        smol::block_on(apply(&store, p, vec![], 200)).unwrap();
        let after = store.read(|t| queue::get(t, a)).unwrap().unwrap();
        assert!(after.held);
        assert_eq!(after.attempts, 1);
        assert_eq!(store.read(|t| queue::due(t, u64::MAX, 10)).unwrap(), [b]);
        assert!(
            to_front(
                &[after],
                "next-hop",
                false,
                &Gateway::default(),
                900,
                &HashSet::new()
            )
            .is_empty(),
            "reordering leaves a held entry alone"
        );
        // Deleted while its attempt ran: not written back, and no bounce for it.
        let leased = lease(b);
        store.write_blocking(move |t| queue::remove(t, b)).unwrap();
        let failed = attempt(RcptResult::Failed("550 no".into()));
        let p = plan(leased, &failed, 200, &s, true);
        let mut report = entry(0, "", 0, 200);
        report.sender.clear();
        let ids = smol::block_on(apply(&store, p, vec![(report, b"dsn".to_vec())], 200)).unwrap();
        assert!(ids.is_empty());
        assert!(store.read(|t| queue::get(t, b)).unwrap().is_none());
        assert_eq!(store.read(queue::len).unwrap(), 1);
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
        let q = |ids: &[u64]| ids.iter().copied().map(QueueId).collect::<Vec<_>>();
        let busy: HashSet<QueueId> = [QueueId(5)].into();
        let gw = Gateway::default();
        assert_eq!(
            to_front(&entries, "10.0.0.1", true, &gw, 100, &busy),
            q(&[1])
        );
        assert_eq!(
            to_front(&entries, "next-hop", false, &gw, 100, &HashSet::new()),
            q(&[1, 2, 5])
        );
        let mut own = entries;
        own[0].recipients[0].last_reply = Some("451 4.2.0 Mailbox busy".into());
        assert_eq!(
            to_front(&own, "next-hop", false, &gw, 100, &HashSet::new()),
            q(&[2, 5]),
            "a recipient's own 4xx keeps its back-off"
        );
    }

    #[test]
    fn a_gateway_entry_moves_with_any_destination_of_its_pending_recipients() {
        let gw = crate::config::Config::parse(
            "[[route]]\ndomain = \"corp.example\"\ndestination = \"10.0.0.5\"\n",
            "sluice.toml",
        )
        .unwrap()
        .gateway;
        let mut e = entry(7, "", 2, 500);
        e.kind = QueueKind::Gateway {
            guid: "g".into(),
            direction: crate::policy::Direction::Inbound,
            listener: "inbound".into(),
            received: None,
        };
        e.recipients[0].address = "a@corp.example".into();
        let mut other = e.recipients[0].clone();
        other.address = "b@y.example".into();
        e.recipients.push(other);
        let none = HashSet::new();
        let entries = vec![e.clone(), entry(8, "", 2, 500)];
        assert_eq!(
            to_front(&entries, "10.0.0.5:25", false, &gw, 100, &none),
            [QueueId(7)]
        );
        assert_eq!(
            to_front(&entries, "mx:y.example", false, &gw, 100, &none),
            [QueueId(7)]
        );
        assert_eq!(
            to_front(&entries, "next-hop", false, &gw, 100, &none),
            [QueueId(8)]
        );
        e.recipients[0].state = RcptState::Delivered {
            at: 1,
            reply: "250 ok".into(),
        };
        assert!(
            to_front(&[e], "10.0.0.5:25", false, &gw, 100, &none).is_empty(),
            "only pending recipients count"
        );
    }
}
