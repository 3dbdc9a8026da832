//! The durable delivery queue's worker (shell: owns its next-hop sockets and reads the clock).
//!
//! Entries live in the store (`store::queue`): released messages, Sluice's notices, delay notices and
//! bounces, and the messages gateway listeners accepted. The worker sleeps until the next entry is
//! due (or [`Delivery::wake`]), leases due entries (a crash makes them due again when the lease
//! ends: at-least-once delivery), delivers each with bounded concurrency (`queue.concurrency`
//! entries at once) through the configured `[relay]` next hop (`attempt`), or, for a gateway entry,
//! by route (`route` groups its recipients by destination, `gateway` delivers every group at once
//! under its destination's cap, `gateway.destination_concurrency`), turns the replies into a plan
//! (`outcome`, pure, with the retry `schedule`), and records it in one store write (`record`):
//! per-recipient states, the next attempt, one delay notice and the failure report (`report`,
//! RFC 3464, never for the null sender), incident history for releases, outbox events and counters.
//!
//! Reordering (the seed's slow queue): when a next hop accepts mail after being unreachable (or for
//! the first time since start), the entries for it that wait out a retry interval because it was
//! down are made due at once: once per recovery, and never a recipient that waits out a back-off
//! for a 4xx it received itself (`schedule::may_move_forward`).
//!
//! Privacy: logs carry queue ids, addresses, counts and reply codes; never message content.

mod attempt;
mod gateway;
mod outcome;
mod record;
mod report;
mod route;
mod schedule;
mod worker;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::Clock;
use crate::config::gateway::Gateway;
use crate::config::{Config, Route};
use crate::relay::Relay;
use crate::store::records::{QueueId, Queued};
use crate::store::{self, Store, queue};

pub use outcome::{Attempted, RcptResult};
pub use schedule::Schedule;

/// Longest the worker sleeps before looking at the queue again, even with nothing due: it notices
/// entries queued by another process (the CLI) and a shifted test clock within this time.
pub const MAX_SLEEP: Duration = Duration::from_secs(1);

/// How the worker runs (from `[queue]`, `relay.mode` and `server.hostname`).
#[derive(Debug, Clone)]
pub struct Settings {
    pub schedule: Schedule,
    /// Seconds an entry taken for delivery stays taken; also the bound of one attempt.
    pub lease: u64,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// Whether Sluice's own notices get delay notices and bounces too.
    pub bounce_notices: bool,
    /// `relay.mode = "reflect"`: each entry goes back to its `peer`.
    pub reflect: bool,
    /// Reporting-MTA of the delivery reports.
    pub hostname: String,
    /// The routes and delivery settings of gateway entries at start ([`Delivery::set_gateway`]
    /// replaces them on a reload).
    pub gateway: Gateway,
}

impl Settings {
    pub fn from_config(c: &Config) -> Settings {
        Settings {
            schedule: Schedule::from_config(&c.queue),
            lease: c.queue.lease.as_secs().max(1),
            concurrency: c.queue.concurrency.max(1),
            bounce_notices: c.queue.bounce_sender_notices,
            reflect: c.relay.route == Route::Reflect,
            hostname: c.server.hostname.to_string(),
            gateway: c.gateway.clone(),
        }
    }
}

struct Inner {
    store: Store,
    /// Replaced by a reload ([`Delivery::set_relay`]); an attempt keeps the one it started with.
    relay: arc_swap::ArcSwap<Relay>,
    /// Gateway entries' routes, replaced by a reload ([`Delivery::set_gateway`]); each attempt
    /// reads them once.
    gateway: arc_swap::ArcSwap<Gateway>,
    /// Deliveries in flight per gateway destination.
    slots: gateway::Slots,
    clock: Arc<Clock>,
    settings: Settings,
    /// Set by [`Delivery::wake`] so a wake-up between a check and the sleep is not lost.
    woken: AtomicBool,
    wake: event_listener::Event,
    /// Entries being delivered by this process (never leased twice, never reordered).
    in_flight: Mutex<HashSet<QueueId>>,
    /// Next hops that accepted mail since they last failed (reordering happens on the way in).
    accepting: Mutex<HashSet<String>>,
    /// Entries that could not be read or leased (corrupt); skipped until restart, logged once.
    broken: Mutex<HashSet<QueueId>>,
}

/// A handle on the delivery queue; cheap to clone. [`Delivery::run`] is the worker.
#[derive(Clone)]
pub struct Delivery {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Delivery {
    /// A queue over `store`, delivering through `relay` (its own connection pool).
    pub fn new(store: Store, relay: Relay, clock: Arc<Clock>, settings: Settings) -> Delivery {
        Delivery {
            inner: Arc::new(Inner {
                store,
                relay: arc_swap::ArcSwap::from_pointee(relay),
                gateway: arc_swap::ArcSwap::from_pointee(settings.gateway.clone()),
                slots: gateway::Slots::default(),
                clock,
                settings,
                woken: AtomicBool::new(false),
                wake: event_listener::Event::new(),
                in_flight: Mutex::new(HashSet::new()),
                accepting: Mutex::new(HashSet::new()),
                broken: Mutex::new(HashSet::new()),
            }),
        }
    }

    /// Next hops from a reloaded configuration: later attempts go through `relay`.
    pub fn set_relay(&self, relay: Relay) {
        self.inner.relay.store(Arc::new(relay));
    }

    /// Routes from a reloaded configuration: later attempts of gateway entries follow them.
    pub fn set_gateway(&self, gateway: Gateway) {
        self.inner.gateway.store(Arc::new(gateway));
    }

    /// Tells the worker to look at the queue now (after a caller inserted entries itself).
    pub fn wake(&self) {
        self.inner.woken.store(true, Ordering::SeqCst);
        self.inner.wake.notify(usize::MAX);
    }

    /// Queues a message and wakes the worker; returns the queue id after the commit. Zero times
    /// are filled in: `created` and `next_attempt` now, `give_up_at` created + `queue.give_up`.
    pub async fn enqueue(&self, entry: Queued, content: Vec<u8>) -> store::Result<QueueId> {
        let entry = self.prepare(entry);
        let id = self
            .inner
            .store
            .write(move |txn| queue::insert(txn, entry, &content))
            .await?;
        self.wake();
        Ok(id)
    }

    /// `entry` with its zero times filled in from the clock and the schedule.
    pub fn prepare(&self, mut entry: Queued) -> Queued {
        let now = self.inner.clock.now();
        if entry.created == 0 {
            entry.created = now;
        }
        if entry.next_attempt == 0 {
            entry.next_attempt = now;
        }
        entry.give_up_at = self.inner.settings.schedule.give_up_at(&entry);
        entry
    }
}
