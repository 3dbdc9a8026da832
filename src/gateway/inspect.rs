//! The inspection worker of the gateway's custody: messages not settled at the end of DATA (no
//! inline verdict in time, `gateway.inline_verdict = "0s"`, a restart, a failed attempt) are
//! leased from the store (the attempt counted in the lease's write, so an attempt that kills the
//! process still counts), inspected with the current configuration's policies and settled
//! (`settle`: delivery queue, hold, or a late block: bounce or drop). A failed attempt (a panic,
//! the time budget) is retried after `gateway.inspect_retry`; after `gateway.inspect_attempts`
//! the message is held as suspect: a `queue.held` event, a "suspect message" alert to the
//! administrators, and no further inspection until an administrator acts.

use std::sync::Arc;
use std::time::Duration;

use futures_lite::FutureExt;

use crate::events::{Field, Fields, Kind as EventKind};
use crate::pipeline::track::{Status, Track};
use crate::pipeline::{Failure, Inspection};
use crate::session::Shared;
use crate::shutdown::Shutdown;
use crate::store::StoreError;
use crate::store::events;
use crate::store::intake::{self, Custody, Leased, Stage};

use super::intake::Settings;
use super::settle::{self, Parts};

/// An inspection attempt of `c` failed with `error`: due again after `gateway.inspect_retry`, or
/// held as suspect when its attempts are used up. A store failure is only logged (the lease runs
/// out and the worker takes the message again).
pub async fn failed(shared: &Shared, settings: &Settings, c: &Custody, error: &str) {
    let Ok(store) = shared.keeper.store() else {
        return;
    };
    let now = shared.clock.now();
    let at = now.saturating_add(settings.custody.inspect_retry.as_secs());
    let max = settings.custody.inspect_attempts;
    let (id, error) = (c.id, error.to_string());
    match store
        .write(move |txn| intake::failed(txn, id, at, &error, max))
        .await
    {
        Ok(after) if after.stage == Stage::Suspect => suspended(shared, &after).await,
        Ok(_) => {}
        Err(e) => {
            tracing::error!(custody = %id, error = %e, "a failed inspection could not be recorded")
        }
    }
}

/// A message went to the suspect hold: its event and the administrators' alert.
pub async fn suspended(shared: &Shared, c: &Custody) {
    tracing::error!(custody = %c.id, guid = %c.guid, attempts = c.attempts, "inspection failed too often; message held as suspect");
    let fields = Fields::new()
        .with(Field::EmailLocalId, &c.guid)
        .with(Field::EmailFromAddress, &c.sender)
        .with_each(
            Field::EmailToAddress,
            c.recipients.iter().map(|r| r.address.clone()),
        )
        .with(Field::EmailDirection, c.direction.name())
        .with(Field::SourceIp, super::intake::origin(c).peer.ip())
        .with(Field::Attempt, c.attempts)
        .with(
            Field::EventReason,
            c.last_error.as_deref().unwrap_or("inspection failed"),
        );
    if let Ok(store) = shared.keeper.store() {
        let now = shared.clock.now();
        let written = store
            .write(move |txn| events::append(txn, now, EventKind::QueueHeld, fields).map(drop))
            .await;
        if let Err(e) = written {
            tracing::warn!(error = %e, "queue.held event not written");
        }
    }
    if let Some(alerts) = shared.keeper.alerts() {
        let text = format!(
            "A message in the gateway's custody could not be inspected after {} attempts and is \
             held as suspect (custody id {}, message {}).\n\nIts content may crash or stall \
             inspection: it is not inspected again, and a copy sent again is not inspected \
             inline. Examine it, then reprocess, release or delete it.\n",
            c.attempts, c.id, c.guid
        );
        alerts.raise(
            "suspect-message",
            "Sluice: suspect message held",
            &text,
            shared.clock.now(),
            super::intake::origin(c).peer,
        );
    }
}

/// At start, before any listener accepts: messages in custody whose inspection a process that is
/// gone had begun (inline after its 250, or leased by its worker) are due at once instead of after
/// `gateway.inspect_retry` (`intake::recover`; their attempts stay counted).
pub fn recover(keeper: &crate::hold::Keeper) {
    let Ok(store) = keeper.store() else {
        return;
    };
    let now = keeper.clock().now();
    match store.write_blocking(move |txn| intake::recover(txn, now)) {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            messages = n,
            "custody: inspections interrupted by the restart are due again"
        ),
        Err(e) => tracing::warn!(
            error = %e,
            "custody: interrupted inspections not made due; the worker takes them after gateway.inspect_retry"
        ),
    }
}

/// The inspection worker: one per process, over the current configuration set.
pub struct Worker {
    swap: Arc<crate::runtime::Swap>,
    shutdown: Arc<Shutdown>,
}

/// Wakes the worker when a message is taken into custody without an inline attempt (one worker
/// per process, so one wake-up for it).
static WAKE: event_listener::Event = event_listener::Event::new();

/// A message is due for the worker now.
pub fn wake() {
    WAKE.notify(usize::MAX);
}

/// The longest sleep between looks at the store (an entry made due by another process, or by a
/// shifted test clock, is seen within it).
const MAX_SLEEP: Duration = Duration::from_secs(1);

impl Worker {
    pub fn new(swap: Arc<crate::runtime::Swap>, shutdown: Arc<Shutdown>) -> Worker {
        Worker { swap, shutdown }
    }

    /// Runs until draining begins: leases what is due, one message at a time (inspection itself
    /// runs on the inspection pool), and sleeps when nothing is.
    pub async fn run(self) {
        while !self.shutdown.is_draining() {
            // Listening before looking: a wake-up while looking is not lost.
            let woken = WAKE.listen();
            let worked = self.once().await;
            if !worked {
                async {
                    woken.await;
                }
                .or(async {
                    smol::Timer::after(MAX_SLEEP).await;
                })
                .or(self.shutdown.draining())
                .await;
            }
        }
    }

    /// Takes and inspects the next due message; false when there was none (or no store).
    async fn once(&self) -> bool {
        // Any gateway listener's set: not necessarily the first listener's (an in-line one).
        let Some(shared) = self.swap.current().gateway() else {
            // No gateway listener in this configuration: custody waits for one.
            return false;
        };
        let Some(context) = shared.gateway.clone() else {
            return false;
        };
        let Ok(store) = shared.keeper.store().cloned() else {
            return false;
        };
        let settings = &context.custody;
        let now = shared.clock.now();
        let ids = match store.read(|txn| intake::due(txn, now, 1)) {
            Ok(ids) => ids,
            Err(e) => {
                tracing::error!(error = %e, "custody: cannot read the inspection queue");
                return false;
            }
        };
        let Some(&id) = ids.first() else {
            return false;
        };
        let until = now.saturating_add(settings.custody.inspect_retry.as_secs());
        let max = settings.custody.inspect_attempts;
        let leased = store
            .write(move |txn| intake::lease(txn, id, now, until, max))
            .await;
        match leased {
            Ok(Some(Leased::Inspect(c, content))) => {
                tracing::info!(custody = %c.id, guid = %c.guid, attempt = c.attempts, "custody: inspecting");
                let content = Arc::new(content);
                let envelope = super::intake::envelope(&c);
                let result = shared
                    .inspector
                    .inspect_custody(&envelope, &content, c.direction)
                    .await;
                conclude(&shared, settings, &c, &content, result).await;
            }
            Ok(Some(Leased::Suspended(c))) => suspended(&shared, &c).await,
            Ok(None) => {}
            Err(e) => tracing::error!(custody = %id, error = %e, "custody: lease failed"),
        }
        true
    }
}

/// Carries out the result of an inspection of `c` that was not settled inline (the worker's, or
/// an inline one that ran past `gateway.inline_verdict`): a failure is recorded (retry, or the
/// suspect hold); a verdict is settled as coming after the 250 (a block bounces or drops).
pub async fn conclude(
    shared: &Shared,
    settings: &Settings,
    c: &Custody,
    content: &[u8],
    result: Result<Inspection, Failure>,
) {
    let inspection = match result {
        Ok(i) => i,
        Err(f) => {
            tracing::warn!(custody = %c.id, guid = %c.guid, attempt = c.attempts, error = %f, "custody: inspection failed");
            failed(shared, settings, c, &f.to_string()).await;
            return;
        }
    };
    let parts = Parts {
        keeper: &shared.keeper,
        inspector: &shared.inspector,
        settings,
        hostname: shared.settings.hostname.as_str(),
    };
    let facts = settle::facts(c, content);
    let policies: Vec<String> = match &inspection {
        Inspection::Done(v) if v.violated() => v.hits.iter().map(|h| h.name.clone()).collect(),
        _ => Vec::new(),
    };
    let track = |status: Status| Track {
        guid: c.guid.clone(),
        client: super::intake::origin(c).peer,
        sender: facts.sender.clone(),
        recipients: facts.recipients.iter().map(|r| r.address.clone()).collect(),
        subject: facts.subject.clone(),
        message_id: facts.message_id.clone(),
        direction: Some(c.direction),
        size: c.size,
        delay: Duration::from_secs(shared.clock.now().saturating_sub(c.received)),
        hop: None,
        status,
        dsn: None,
        policies: policies.clone(),
    };
    let held_event = track(Status::Held).fields();
    match settle::settle(&parts, c, content, &inspection, true, held_event).await {
        Ok(s) => {
            tracing::info!(custody = %c.id, guid = %c.guid, outcome = ?s, "custody: message inspected and moved on");
            settle::record(&parts, &shared.tasks, c, content, &inspection, &s, None);
        }
        Err(StoreError::NotFound(_)) => {
            tracing::debug!(custody = %c.id, "custody: already moved on by another attempt");
        }
        Err(e) => {
            tracing::warn!(custody = %c.id, error = %e, "custody: the verdict could not be carried out; tried again later");
        }
    }
}
