//! The worker loop: wait for a free delivery slot and a due entry, lease it, deliver it on its own
//! task, record the outcome, reorder when a next hop accepts again; stop leasing on shutdown.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_lite::FutureExt;
use smol::lock::{Semaphore, SemaphoreGuardArc};

use crate::config::gateway::Gateway;
use crate::shutdown::Shutdown;
use crate::store::records::{QueueId, QueueKind, Queued, RcptState};
use crate::store::{StoreError, queue};

use super::outcome::{Attempted, HopSign, Plan, RcptResult, plan};
use super::report::{self, Facts, Kind};
use super::schedule::reports_allowed;
use super::{Delivery, MAX_SLEEP, attempt, gateway, lock, record};

impl Delivery {
    /// Runs the worker until shutdown: stops taking entries when draining, and returns when the
    /// deliveries in flight have finished (or at once when aborting; their leases cover them).
    pub async fn run(self, ex: Arc<smol::Executor<'static>>, shutdown: Arc<Shutdown>) {
        let slots = Arc::new(Semaphore::new(self.inner.settings.concurrency));
        tracing::info!(
            concurrency = self.inner.settings.concurrency,
            "queue: delivery worker started"
        );
        // Every path through the loop either leases entries or sleeps, and the sleep returns at
        // once when draining: the check here is what ends the loop (never a busy loop).
        while !shutdown.is_draining() {
            let first = async { Some(slots.acquire_arc().await) }
                .or(async {
                    shutdown.draining().await;
                    None
                })
                .await;
            let Some(first) = first else { break };
            // `sluice queue pause` (a switch in the store): lease nothing until it is off again.
            if crate::store::switches::read_paused(&self.inner.store) {
                drop(first);
                smol::Timer::after(crate::store::switches::REFRESH)
                    .or(async {
                        shutdown.draining().await;
                        std::time::Instant::now()
                    })
                    .await;
                continue;
            }
            let mut permits = vec![first];
            while let Some(p) = slots.try_acquire_arc() {
                permits.push(p);
            }
            match self.take_due(permits.len()).await {
                Ok(leased) if leased.is_empty() => {
                    drop(permits);
                    self.sleep(&shutdown).await;
                }
                Ok(leased) => {
                    for ((entry, content), permit) in leased.into_iter().zip(permits) {
                        let this = self.clone();
                        ex.spawn(async move { this.deliver(entry, content, permit).await })
                            .detach();
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "queue: cannot read the queue");
                    drop(permits);
                    self.sleep(&shutdown).await;
                }
            }
        }
        let busy = || !lock(&self.inner.in_flight).is_empty();
        while busy() && !shutdown.is_aborting() {
            smol::Timer::after(Duration::from_millis(20)).await;
        }
        tracing::info!("queue: delivery worker stopped");
    }

    /// Sleeps until the next entry is due, a wake-up, [`MAX_SLEEP`], or shutdown.
    async fn sleep(&self, shutdown: &Shutdown) {
        let listener = self.inner.wake.listen();
        if self.inner.woken.swap(false, Ordering::SeqCst) {
            return;
        }
        let now = self.inner.clock.now();
        let next = self.inner.store.read(queue::next_due).ok().flatten();
        let wait = match next {
            Some(at) if at > now => Duration::from_secs(at - now).min(MAX_SLEEP),
            _ => MAX_SLEEP,
        };
        async {
            listener.await;
        }
        .or(async {
            smol::Timer::after(wait).await;
        })
        .or(shutdown.draining())
        .await;
        self.inner.woken.store(false, Ordering::SeqCst);
    }

    /// Leases up to `max` due entries (one store write) and marks them in flight.
    async fn take_due(&self, max: usize) -> Result<Vec<(Queued, Vec<u8>)>, StoreError> {
        let now = self.inner.clock.now();
        let skip: Vec<QueueId> = {
            let mut s: Vec<QueueId> = lock(&self.inner.in_flight).iter().copied().collect();
            s.extend(lock(&self.inner.broken).iter().copied());
            s
        };
        let ids: Vec<QueueId> = self
            .inner
            .store
            .read(|txn| queue::due(txn, now, max + skip.len()))?
            .into_iter()
            .filter(|id| !skip.contains(id))
            .take(max)
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let until = now.saturating_add(self.inner.settings.lease);
        let (leased, broken) = self
            .inner
            .store
            .write(move |txn| {
                let (mut leased, mut broken) = (Vec::new(), Vec::new());
                for id in ids {
                    match queue::lease(txn, id, now, until) {
                        Ok(Some(x)) => leased.push(x),
                        Ok(None) => {}
                        Err(e @ StoreError::Corrupt { .. }) => broken.push((id, e)),
                        Err(e) => return Err(e),
                    }
                }
                Ok((leased, broken))
            })
            .await?;
        for (id, e) in broken {
            tracing::error!(queue_id = id.0, error = %e, "queue: entry cannot be delivered; skipped until restart");
            lock(&self.inner.broken).insert(id);
        }
        let mut in_flight = lock(&self.inner.in_flight);
        for (entry, _) in &leased {
            in_flight.insert(entry.id);
        }
        Ok(leased)
    }

    /// One entry: attempt (bounded by the lease), plan, reports, one store write, reordering.
    async fn deliver(self, entry: Queued, content: Vec<u8>, permit: SemaphoreGuardArc) {
        let s = &self.inner.settings;
        let id = entry.id;
        let limit = Duration::from_secs(s.lease);
        let relay = self.inner.relay.load_full();
        let gw = self.inner.gateway.load_full();
        // Each next hop this attempt tried, with what it says about it (for reordering).
        let (attempted, hops) = if matches!(entry.kind, QueueKind::Gateway { .. }) {
            let legs =
                gateway::deliver(&relay, &gw, &self.inner.slots, &entry, &content, limit).await;
            let hops: Vec<(String, Attempted)> = legs
                .iter()
                .map(|l| (l.key.clone(), l.attempted.clone()))
                .collect();
            (gateway::merge(&legs), hops)
        } else {
            let attempted = attempt::deliver(&relay, s.reflect, &entry, &content)
                .or(async {
                    smol::Timer::after(limit).await;
                    Attempted {
                        results: attempt::all_pending(
                            &entry,
                            RcptResult::Deferred("delivery attempt timed out".into()),
                        ),
                        remote: None,
                        tls: Default::default(),
                        hops: Vec::new(),
                    }
                })
                .await;
            let hop = attempt::hop_of(&entry, s.reflect);
            (attempted.clone(), vec![(hop, attempted)])
        };
        drop(permit);
        let now = self.inner.clock.now();
        let allowed = reports_allowed(&entry, s.bounce_notices);
        let original = entry.clone();
        let p = plan(entry, &attempted, now, &s.schedule, allowed);
        let reports = self.reports(&p, &original, &attempted, &content, now, &gw);
        let count = |name: &str| {
            p.stats
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(0, |(_, n)| *n)
        };
        tracing::info!(
            queue_id = id.0,
            attempt = p.entry.attempts,
            delivered = count("delivered"),
            deferred = count("deferred"),
            bounced = count("bounced"),
            done = p.done,
            next_attempt = (!p.done).then_some(p.entry.next_attempt),
            next_hop = attempted.remote.as_deref().unwrap_or("-"),
            tls = %attempted.tls.name(),
            tls_version = %attempted.tls.version(),
            "queue: attempt recorded"
        );
        let kinds: Vec<&'static str> = reports.iter().map(|(k, _)| k.name()).collect();
        let reports = reports.into_iter().map(|(_, r)| r).collect();
        let delivered_after = p.delivered_after.clone();
        match record::apply(&self.inner.store, p, reports, now).await {
            Ok(ids) => {
                for seconds in delivered_after {
                    crate::metrics::global().delivered_after(seconds);
                }
                for (rid, kind) in ids.iter().zip(kinds) {
                    tracing::info!(
                        queue_id = id.0,
                        report_id = rid.0,
                        kind,
                        "queue: report queued to the sender"
                    );
                }
            }
            Err(e) => {
                tracing::error!(queue_id = id.0, error = %e, "queue: cannot record the attempt; the entry is retried when its lease ends")
            }
        }
        lock(&self.inner.in_flight).remove(&id);
        // Reordering runs once per recovery (down -> up); a recipient's own 4xx is not the next
        // hop going down, so it neither ends a recovery nor is brought forward by one.
        for (hop, attempted) in hops {
            match attempted.hop_sign() {
                HopSign::Accepted => {
                    let newly = lock(&self.inner.accepting).insert(hop.clone());
                    if newly {
                        let remote = attempted.remote.clone().unwrap_or_else(|| hop.clone());
                        self.reorder(hop, &remote, now).await;
                    }
                }
                HopSign::Unreachable => {
                    lock(&self.inner.accepting).remove(&hop);
                }
                HopSign::Answered => {}
            }
        }
        self.wake();
    }

    /// The delay notice and failure report the plan calls for, each with its carrier entry; a
    /// gateway entry's reports go by route (`gateway::carry`).
    fn reports(
        &self,
        p: &Plan,
        original: &Queued,
        attempted: &Attempted,
        content: &[u8],
        now: u64,
        gw: &Gateway,
    ) -> Vec<(Kind, (Queued, Vec<u8>))> {
        let mut out = Vec::new();
        let mut add = |kind: Kind, about: &[usize]| {
            let id = uuid::Uuid::new_v4();
            let facts = Facts {
                id,
                hostname: &self.inner.settings.hostname,
                now,
                remote: attempted.remote.as_deref(),
                original: content,
            };
            if let Some((mut carrier, bytes)) = report::build(kind, &p.entry, about, &facts) {
                gateway::carry(&mut carrier, original, gw, &id.to_string());
                out.push((kind, (carrier, bytes)));
            }
        };
        if p.reports && p.delay_notice {
            let pending: Vec<usize> = (0..p.entry.recipients.len())
                .filter(|&i| p.entry.recipients[i].state == RcptState::Pending)
                .collect();
            add(Kind::Delay, &pending);
        }
        if p.reports && !p.bounced.is_empty() {
            add(Kind::Failure, &p.bounced);
        }
        out
    }

    /// Moves the waiting entries for `hop` to the front (logged as the seed's reordering events,
    /// with `remote`, the host:port that accepted mail).
    async fn reorder(&self, hop: String, remote: &str, now: u64) {
        let started = std::time::Instant::now();
        tracing::info!(next_hop = %remote, "queue: reordering started");
        let in_flight = lock(&self.inner.in_flight).clone();
        match record::reorder(
            &self.inner.store,
            hop.clone(),
            self.inner.settings.reflect,
            self.inner.gateway.load_full(),
            now,
            in_flight,
        )
        .await
        {
            Ok(moved) => tracing::info!(
                next_hop = %remote,
                moved,
                seconds = started.elapsed().as_secs_f64(),
                "queue: reordering stopped"
            ),
            Err(e) => tracing::warn!(next_hop = %remote, error = %e, "queue: reordering failed"),
        }
    }
}
