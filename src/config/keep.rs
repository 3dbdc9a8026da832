//! The `[store]`, `[quarantine]`, `[incidents]`, `[approval]` and `[events]` sections: what Sluice keeps, for how
//! long, and how much of it (defaults in `assets/sluice.toml`).

use std::path::PathBuf;
use std::time::Duration;

use super::raw;
use super::value::{Ctx, Error};

/// Validated settings of the store and the workflows kept in it.
#[derive(Debug, Clone)]
pub struct Keep {
    /// LMDB map size cap in bytes (`store.max_size`).
    pub max_size: u64,
    /// How long quarantined content is kept.
    pub retention: Duration,
    pub max_bytes: u64,
    pub max_messages: u64,
    pub purge_interval: Duration,
    pub purge_batch: usize,
    /// Copies of one message within this window become one incident per policy.
    pub reconcile_window: Duration,
    /// How long approvers have to decide.
    pub approval_expiry: Duration,
    /// How often lapsed approvals are looked for.
    pub approval_sweep: Duration,
    /// CSV of `sender,manager` lines (empty: none).
    pub managers_file: Option<PathBuf>,
    /// The approval page shows a text preview of the body and the attachment list.
    pub approval_preview: bool,
    /// Longest body preview on the approval page, in bytes of text.
    pub approval_preview_bytes: usize,
    /// `[events]`: the event outbox's bounds.
    pub event_bounds: crate::store::events::Bounds,
}

impl Keep {
    /// How to open the store (`store.max_size`).
    pub fn store_options(&self) -> crate::store::Options {
        crate::store::Options {
            max_size: self.max_size,
        }
    }

    /// The quarantine's size caps (`quarantine.max_bytes`, `quarantine.max_messages`).
    pub fn caps(&self) -> crate::store::held::Caps {
        crate::store::held::Caps {
            max_bytes: self.max_bytes,
            max_messages: self.max_messages,
        }
    }
}

type Pair<T> = (Option<T>, Option<T>);

/// Builds the settings from the user's and the embedded sections (user first).
pub(super) fn build(
    cx: &Ctx<'_>,
    store: Pair<raw::Store>,
    quarantine: Pair<raw::Quarantine>,
    incidents: Pair<raw::Incidents>,
    approval: Pair<raw::Approval>,
    events: Pair<raw::Events>,
) -> Result<Keep, Error> {
    let (ue, de) = (events.0.unwrap_or_default(), events.1.unwrap_or_default());
    let (us, ds) = (store.0.unwrap_or_default(), store.1.unwrap_or_default());
    let (uq, dq) = (
        quarantine.0.unwrap_or_default(),
        quarantine.1.unwrap_or_default(),
    );
    let (ui, di) = (
        incidents.0.unwrap_or_default(),
        incidents.1.unwrap_or_default(),
    );
    let (ua, da) = (
        approval.0.unwrap_or_default(),
        approval.1.unwrap_or_default(),
    );
    let managers = cx
        .pick(ua.managers_file, da.managers_file, "approval.managers_file")?
        .take();
    Ok(Keep {
        max_size: cx
            .pick(us.max_size, ds.max_size, "store.max_size")?
            .range(1 << 20, 1 << 44)?,
        retention: cx
            .pick(uq.retention, dq.retention, "quarantine.retention")?
            .duration()?,
        max_bytes: cx
            .pick(uq.max_bytes, dq.max_bytes, "quarantine.max_bytes")?
            .range(1 << 20, 1 << 44)?,
        max_messages: cx
            .pick(uq.max_messages, dq.max_messages, "quarantine.max_messages")?
            .range(1, 1 << 40)?,
        purge_interval: cx
            .pick(
                uq.purge_interval,
                dq.purge_interval,
                "quarantine.purge_interval",
            )?
            .duration()?,
        purge_batch: cx
            .pick(uq.purge_batch, dq.purge_batch, "quarantine.purge_batch")?
            .range(1, 1_000_000)? as usize,
        reconcile_window: cx
            .pick(
                ui.reconcile_window,
                di.reconcile_window,
                "incidents.reconcile_window",
            )?
            .duration()?,
        approval_expiry: cx
            .pick(ua.expiry, da.expiry, "approval.expiry")?
            .duration()?,
        approval_sweep: cx
            .pick(
                ua.sweep_interval,
                da.sweep_interval,
                "approval.sweep_interval",
            )?
            .duration()?,
        managers_file: (!managers.is_empty()).then(|| PathBuf::from(managers)),
        approval_preview: cx.pick(ua.preview, da.preview, "approval.preview")?.take(),
        approval_preview_bytes: cx
            .pick(ua.preview_bytes, da.preview_bytes, "approval.preview_bytes")?
            .range(0, 1 << 20)? as usize,
        event_bounds: crate::store::events::Bounds {
            max_events: cx
                .pick(ue.max_events, de.max_events, "events.max_events")?
                .range(10, 1 << 40)?,
            max_bytes: cx
                .pick(ue.max_bytes, de.max_bytes, "events.max_bytes")?
                .range(1 << 16, 1 << 44)?,
            max_age: cx
                .pick(ue.max_age, de.max_age, "events.max_age")?
                .duration()?
                .as_secs()
                .max(60),
        },
    })
}
