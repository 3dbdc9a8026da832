//! The `[monitor]` section: how often the periodic checks run and when they alert (defaults in
//! `assets/sluice.toml`; the checks are `crate::monitor`'s).

use std::time::Duration;

use super::raw;
use super::value::{Ctx, Error};

/// `[monitor]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Monitor {
    /// How often the checks run (store probe, next-hop probe, disk, store, queue, certificates).
    pub interval: Duration,
    /// Whether the next hop is probed (TCP connect and SMTP greeting).
    pub probe_next_hop: bool,
    /// A certificate expiring within this is reported.
    pub certificate_warning: Duration,
    /// The delivery queue is growing past this many entries...
    pub queue_max_messages: u64,
    /// ...or when its oldest entry is older than this.
    pub queue_max_age: Duration,
    /// The data dir's file system is low below this free percentage.
    pub disk_min_free_percent: u64,
    /// The store is (nearly) full at this percentage of `store.max_size` in use.
    pub store_max_used_percent: u64,
    /// An alert of one kind is raised again at most this often.
    pub alert_repeat: Duration,
    /// A certificate near expiry is reported again at most this often.
    pub certificate_repeat: Duration,
}

pub(super) fn build(cx: &Ctx<'_>, u: raw::Monitor, d: raw::Monitor) -> Result<Monitor, Error> {
    let interval = cx.pick(u.interval, d.interval, "monitor.interval")?;
    let short = interval.error("monitor.interval must be at least 1s");
    let interval = interval.duration()?;
    if interval < Duration::from_secs(1) {
        return Err(short);
    }
    Ok(Monitor {
        interval,
        probe_next_hop: cx
            .pick(u.probe_next_hop, d.probe_next_hop, "monitor.probe_next_hop")?
            .take(),
        certificate_warning: cx
            .pick(
                u.certificate_warning,
                d.certificate_warning,
                "monitor.certificate_warning",
            )?
            .duration()?,
        queue_max_messages: cx
            .pick(
                u.queue_max_messages,
                d.queue_max_messages,
                "monitor.queue_max_messages",
            )?
            .range(1, u64::MAX)?,
        queue_max_age: cx
            .pick(u.queue_max_age, d.queue_max_age, "monitor.queue_max_age")?
            .duration()?,
        disk_min_free_percent: cx
            .pick(
                u.disk_min_free_percent,
                d.disk_min_free_percent,
                "monitor.disk_min_free_percent",
            )?
            .range(0, 99)?,
        store_max_used_percent: cx
            .pick(
                u.store_max_used_percent,
                d.store_max_used_percent,
                "monitor.store_max_used_percent",
            )?
            .range(1, 100)?,
        alert_repeat: cx
            .pick(u.alert_repeat, d.alert_repeat, "monitor.alert_repeat")?
            .duration()?,
        certificate_repeat: cx
            .pick(
                u.certificate_repeat,
                d.certificate_repeat,
                "monitor.certificate_repeat",
            )?
            .duration()?,
    })
}
