//! Delivery of a gateway entry by route (shell): its pending recipients grouped by destination
//! (`route::groups`, the routing list as it is at this attempt), every group delivered at once
//! on its own connection, each under its destination's concurrency cap ([`Slots`]) and cut off
//! at the attempt's time limit on its own (so a destination that is down or slow never costs
//! another destination's recipients their delivery). One [`Leg`] per group comes back: its
//! results feed the entry's one outcome (`outcome::plan`), its key the reordering.
//!
//! Reports about a gateway entry (delay notice, bounce) go by route as well ([`carry`]).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use futures_lite::FutureExt;
use smol::lock::Semaphore;

use crate::config::gateway::Gateway;
use crate::policy::Direction;
use crate::relay::Relay;
use crate::store::records::{QueueKind, Queued};

use super::attempt;
use super::outcome::{Attempted, Hop, RcptResult};
use super::route::{self, Group};

/// Destinations whose semaphores are kept before unused ones are dropped.
const SLOTS_KEPT: usize = 1024;

/// Per-destination concurrency: a semaphore per destination key, sized by its cap.
#[derive(Default)]
pub struct Slots {
    map: Mutex<HashMap<String, (usize, Arc<Semaphore>)>>,
}

impl Slots {
    /// The semaphore of `key` with `cap` permits (a new one when the cap changed: deliveries
    /// holding the old one finish under it).
    fn get(&self, key: &str, cap: usize) -> Arc<Semaphore> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= SLOTS_KEPT {
            // Nobody holds or waits on a semaphore whose only reference is the map's.
            map.retain(|_, (_, s)| Arc::strong_count(s) > 1);
        }
        match map.get(key) {
            Some((c, s)) if *c == cap => s.clone(),
            _ => {
                let s = Arc::new(Semaphore::new(cap));
                map.insert(key.to_string(), (cap, s.clone()));
                s
            }
        }
    }
}

/// What one group's delivery did.
#[derive(Debug, Clone)]
pub struct Leg {
    /// The destination key (`Way::key`).
    pub key: String,
    pub attempted: Attempted,
}

/// Delivers `entry` by route: every group at once, each bounded by `limit`.
pub async fn deliver(
    relay: &Relay,
    gw: &Gateway,
    slots: &Slots,
    entry: &Queued,
    content: &[u8],
    limit: Duration,
) -> Vec<Leg> {
    let legs = route::groups(entry, gw)
        .into_iter()
        .map(|g| leg(relay, slots, g, entry, content, limit));
    join_all(legs.collect()).await
}

async fn leg(
    relay: &Relay,
    slots: &Slots,
    group: Group,
    entry: &Queued,
    content: &[u8],
    limit: Duration,
) -> Leg {
    let key = group.way.key();
    let recipients = group.recipients.clone();
    let attempted = async {
        let slot = slots.get(&key, group.concurrency);
        let _permit = slot.acquire_arc().await;
        let conn = relay.connect_way(&group.way).await;
        attempt::send(relay, conn, entry, content, &group.recipients).await
    }
    .or(async {
        smol::Timer::after(limit).await;
        let text = RcptResult::Deferred("delivery attempt timed out".into());
        Attempted {
            results: recipients.iter().map(|&i| (i, text.clone())).collect(),
            remote: None,
            tls: Default::default(),
            hops: Vec::new(),
        }
    })
    .await;
    tracing::info!(
        queue_id = entry.id.0,
        destination = %key,
        tls_policy = %group.way.tls.name(),
        next_hop = attempted.remote.as_deref().unwrap_or("-"),
        tls = %attempted.tls.name(),
        tls_version = %attempted.tls.version(),
        recipients = recipients.len(),
        delivered = count(&attempted, |r| matches!(r, RcptResult::Delivered(_))),
        failed = count(&attempted, |r| matches!(r, RcptResult::Failed(_))),
        deferred = count(&attempted, |r| matches!(r, RcptResult::Deferred(_))),
        "queue: destination attempted"
    );
    Leg { key, attempted }
}

fn count(a: &Attempted, f: impl Fn(&RcptResult) -> bool) -> usize {
    a.results.iter().filter(|(_, r)| f(r)).count()
}

/// The entry's one outcome from its legs: every result; as the remote and TLS of the whole
/// (reports' `Remote-MTA`, the attempt's log line) those of a leg with a failure, else the first
/// leg that reached a next hop.
pub fn merge(legs: &[Leg]) -> Attempted {
    let failed = |l: &&Leg| {
        l.attempted.remote.is_some()
            && count(&l.attempted, |r| matches!(r, RcptResult::Failed(_))) > 0
    };
    let shown = legs
        .iter()
        .find(failed)
        .or_else(|| legs.iter().find(|l| l.attempted.remote.is_some()));
    Attempted {
        results: legs
            .iter()
            .flat_map(|l| l.attempted.results.iter().cloned())
            .collect(),
        remote: shown.and_then(|l| l.attempted.remote.clone()),
        tls: shown.map(|l| l.attempted.tls.clone()).unwrap_or_default(),
        hops: legs
            .iter()
            .map(|l| Hop {
                recipients: l.attempted.results.iter().map(|(i, _)| *i).collect(),
                remote: l.attempted.remote.clone(),
                tls: l.attempted.tls.clone(),
            })
            .collect(),
    }
}

/// Makes the carrier of a report about gateway entry `original` a gateway entry of its own, so
/// it goes by route to the sender's domain (its recipient): GUID `id` (the report's own),
/// inbound when the sender's domain is local, else outbound, the original's listener.
pub fn carry(report: &mut Queued, original: &Queued, gw: &Gateway, id: &str) {
    let QueueKind::Gateway { listener, .. } = &original.kind else {
        return;
    };
    let domain = original.sender.rsplit_once('@').map_or("", |(_, d)| d);
    report.kind = QueueKind::Gateway {
        guid: id.to_string(),
        direction: match gw.routes.is_local(domain) {
            true => Direction::Inbound,
            false => Direction::Outbound,
        },
        listener: listener.clone(),
        received: None,
    };
}

/// Runs the futures together; their outputs in their order.
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (f, o) in futures.iter_mut().zip(out.iter_mut()) {
            if o.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *o = Some(v),
                    Poll::Pending => done = false,
                }
            }
        }
        if done { Poll::Ready(()) } else { Poll::Pending }
    })
    .await;
    out.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::Protection;

    fn leg(key: &str, remote: Option<&str>, results: Vec<(usize, RcptResult)>) -> Leg {
        Leg {
            key: key.into(),
            attempted: Attempted {
                results,
                remote: remote.map(str::to_string),
                tls: match remote {
                    Some(_) => Protection::Unverified {
                        version: "TLSv1.3".into(),
                    },
                    None => Protection::None,
                },
                hops: Vec::new(),
            },
        }
    }

    #[test]
    fn legs_merge_into_one_outcome_showing_the_leg_that_failed() {
        let ok = RcptResult::Delivered("250 ok".into());
        let no = RcptResult::Failed("550 5.1.1 no".into());
        let later = RcptResult::Deferred("no connection".into());
        let legs = [
            leg("mx:a.example", Some("10.0.0.1:25"), vec![(0, ok.clone())]),
            leg("mx:b.example", None, vec![(1, later.clone())]),
            leg(
                "10.0.0.3:25",
                Some("10.0.0.3:25"),
                vec![(2, no.clone()), (3, ok.clone())],
            ),
        ];
        let m = merge(&legs);
        assert_eq!(
            m.results,
            [(0, ok.clone()), (1, later), (2, no), (3, ok.clone())]
        );
        assert_eq!(m.remote.as_deref(), Some("10.0.0.3:25"));
        assert_eq!(m.tls.name(), "unverified");
        assert_eq!(
            m.hop_of(0).0,
            Some("10.0.0.1:25"),
            "each recipient keeps its own hop"
        );
        assert_eq!(m.hop_of(1).0, None);
        assert_eq!(m.hop_of(3).0, Some("10.0.0.3:25"));
        let m = merge(&legs[..2]);
        assert_eq!(
            m.remote.as_deref(),
            Some("10.0.0.1:25"),
            "no failure: the first reached"
        );
        assert_eq!(merge(&[]), Attempted::default());
    }

    #[test]
    fn a_destination_cap_is_one_semaphore_per_key_renewed_when_the_cap_changes() {
        let slots = Slots::default();
        let a = slots.get("mx:a.example", 2);
        let held = (a.try_acquire_arc().unwrap(), a.try_acquire_arc().unwrap());
        assert!(
            slots.get("mx:a.example", 2).try_acquire_arc().is_none(),
            "full"
        );
        assert!(
            slots.get("mx:b.example", 2).try_acquire_arc().is_some(),
            "others unaffected"
        );
        assert!(
            slots.get("mx:a.example", 3).try_acquire_arc().is_some(),
            "a reload's new cap"
        );
        drop(held);
    }

    #[test]
    fn join_all_keeps_the_order_of_the_futures() {
        let out = smol::block_on(join_all(vec![
            Box::pin(async {
                smol::Timer::after(Duration::from_millis(20)).await;
                1
            }) as Pin<Box<dyn Future<Output = i32>>>,
            Box::pin(async { 2 }),
        ]));
        assert_eq!(out, [1, 2]);
    }
}
