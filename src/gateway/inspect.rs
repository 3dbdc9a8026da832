//! The inspection worker of the gateway's custody: messages not settled at the end of DATA (no
//! inline verdict in time, `gateway.inline_verdict = "0s"`, a restart, a failed attempt) are
//! leased from the store (the attempt counted in the lease's write, so an attempt that kills the
//! process still counts), inspected with the current configuration's policies and settled
//! (`settle`: delivery queue, hold, or a late block: bounce or drop). A failed attempt (a panic,
//! the time budget) is retried after `gateway.inspect_retry`; after `gateway.inspect_attempts`
//! the message is held as suspect: a `queue.held` event, a "suspect message" alert to the
//! administrators, and no further inspection until an administrator acts.

use crate::events::{Field, Fields, Kind as EventKind};
use crate::session::Shared;
use crate::store::events;
use crate::store::intake::{self, Custody, Stage};

use super::intake::Settings;

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
