//! What one monitor round decides (pure: the observations and the time come in as values): which
//! `system.*` events to write and which alerts to mail, with the next-hop transitions and the
//! rate limits kept in [`State`].
//!
//! Rules: a condition that holds is reported when it starts and again at most once per
//! `monitor.alert_repeat` while it lasts (certificates: `monitor.certificate_repeat`). A next-hop
//! address going down is reported under the same limit, per address; its coming back up is
//! reported only when its going down was, so the SIEM always sees pairs.
//!
//! The queues are judged per stage (`store::backlog`): `inspect`, `deliver` and `deferred` each
//! against `monitor.queue_max_messages` and `monitor.queue_max_age` (`system.queue.growing`, with
//! the stage, rate limited per stage); `hold` is not held to them: any message there waits for an
//! administrator, so a non-empty hold is `system.queue.hold` with a mail, at most once per
//! `alert_repeat` while it lasts.

use std::collections::HashMap;

use crate::config::monitor::Monitor;
use crate::events::{Field, Fields, Kind};
use crate::store::backlog::{Backlog, Stage};

/// What one round saw. `None`: not known this round (no store, the probe not run).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observation {
    /// Bytes of store pages in use and the cap.
    pub store: Option<(u64, u64)>,
    /// Free and total bytes of the data dir's file system.
    pub disk: Option<(u64, u64)>,
    /// The queues by stage.
    pub queue: Option<Backlog>,
    /// Certificates by name with their notAfter (Unix seconds).
    pub certificates: Vec<(String, u64)>,
    /// Each probed next-hop address: reachable, or why not.
    pub hops: Option<Vec<(String, Result<(), String>)>>,
}

/// One thing to report: an event for the outbox and, for the serious ones, a mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub kind: Kind,
    pub fields: Fields,
    /// Subject and text of the mail to `notifications.admin`, if one goes.
    pub mail: Option<(String, String)>,
}

/// What the monitor remembers between rounds.
#[derive(Debug, Default)]
pub struct State {
    /// When each alert key was last reported (Unix seconds).
    last: HashMap<String, u64>,
    /// Next-hop addresses reported down (and not yet reported up again).
    down: HashMap<String, bool>,
}

impl State {
    /// Whether `key` may be reported at `now` (and, if so, records that it was).
    pub fn allow(&mut self, key: &str, now: u64, every: u64) -> bool {
        match self.last.get(key) {
            Some(&t) if now.saturating_sub(t) < every => false,
            _ => {
                self.last.insert(key.to_string(), now);
                true
            }
        }
    }
}

/// True when less than `min_percent` of the file system is free.
pub fn disk_low(free: u64, size: u64, min_percent: u64) -> bool {
    size > 0 && u128::from(free) * 100 < u128::from(size) * u128::from(min_percent)
}

/// True when at least `percent` of the store's cap is in use.
pub fn store_full(used: u64, max: u64, percent: u64) -> bool {
    max > 0 && u128::from(used) * 100 >= u128::from(max) * u128::from(percent)
}

/// The threshold the queue passed, if any.
pub fn queue_growing(entries: u64, oldest_age: u64, cfg: &Monitor) -> Option<String> {
    if entries > cfg.queue_max_messages {
        return Some(format!("queue_max_messages={}", cfg.queue_max_messages));
    }
    if entries > 0 && oldest_age > cfg.queue_max_age.as_secs() {
        return Some(format!(
            "queue_max_age={}",
            crate::units::duration::format(cfg.queue_max_age)
        ));
    }
    None
}

/// True when a certificate expires within `warning` seconds of `now` (or has expired).
pub fn expiring(not_after: u64, now: u64, warning: u64) -> bool {
    not_after <= now.saturating_add(warning)
}

/// The reports of one round at `now`.
pub fn assess(obs: &Observation, cfg: &Monitor, state: &mut State, now: u64) -> Vec<Report> {
    let every = cfg.alert_repeat.as_secs();
    let mut out = Vec::new();
    if let Some((used, max)) = obs.store
        && store_full(used, max, cfg.store_max_used_percent)
        && state.allow("store_full", now, every)
    {
        let pct = used.saturating_mul(100) / max.max(1);
        out.push(Report {
            kind: Kind::SystemStoreFull,
            fields: Fields::new().with(Field::Setting, "store.max_size").with(
                Field::Threshold,
                format!("store_max_used_percent={}", cfg.store_max_used_percent),
            ),
            mail: Some((
                "Sluice store nearly full".into(),
                format!(
                    "The store uses {pct}% of store.max_size ({used} of {max} bytes). When it is \
                     full, messages a policy holds get a temporary error and stay with the sending \
                     server. Raise store.max_size, or release and delete held messages.\n"
                ),
            )),
        });
    }
    if let Some((free, size)) = obs.disk
        && disk_low(free, size, cfg.disk_min_free_percent)
        && state.allow("disk_low", now, every)
    {
        let pct = free.saturating_mul(100) / size.max(1);
        out.push(Report {
            kind: Kind::SystemDiskLow,
            fields: Fields::new().with(Field::Setting, "server.data_dir").with(
                Field::Threshold,
                format!("disk_min_free_percent={}", cfg.disk_min_free_percent),
            ),
            mail: Some((
                "Sluice disk space low".into(),
                format!(
                    "The file system of the data dir has {pct}% free ({free} of {size} bytes), \
                     below monitor.disk_min_free_percent ({}%). Free space before the store \
                     cannot grow.\n",
                    cfg.disk_min_free_percent
                ),
            )),
        });
    }
    if let Some(backlog) = &obs.queue {
        queue_reports(backlog, cfg, state, now, &mut out);
    }
    let cert_every = cfg.certificate_repeat.as_secs();
    for (name, not_after) in &obs.certificates {
        if expiring(*not_after, now, cfg.certificate_warning.as_secs())
            && state.allow(&format!("certificate:{name}"), now, cert_every)
        {
            let when = crate::units::time::format(*not_after);
            out.push(Report {
                kind: Kind::SystemCertificateExpiring,
                fields: Fields::new()
                    .with(Field::Setting, format!("{name}.cert_file"))
                    .with(Field::NotAfter, not_after),
                mail: Some((
                    "Sluice certificate near expiry".into(),
                    format!(
                        "The [{name}] certificate expires at {when}. Renew it and reload \
                         (sluice reload).\n"
                    ),
                )),
            });
        }
    }
    if let Some(hops) = &obs.hops {
        hop_reports(hops, state, now, every, &mut out);
    }
    out
}

/// A stage past its thresholds (`hold` excepted) and a hold that is not empty.
fn queue_reports(b: &Backlog, cfg: &Monitor, state: &mut State, now: u64, out: &mut Vec<Report>) {
    let every = cfg.alert_repeat.as_secs();
    for (stage, load) in b.stages() {
        if stage == Stage::Hold {
            continue;
        }
        if let Some(threshold) = queue_growing(load.messages, load.oldest_age(now), cfg)
            && state.allow(&format!("queue_growing:{}", stage.name()), now, every)
        {
            out.push(Report {
                kind: Kind::SystemQueueGrowing,
                fields: Fields::new()
                    .with(Field::QueueStage, stage.name())
                    .with(Field::Count, load.messages)
                    .with(Field::Threshold, threshold),
                mail: None,
            });
        }
    }
    let hold = b.get(Stage::Hold);
    if hold.messages > 0 && state.allow("queue_hold", now, every) {
        let age =
            crate::units::duration::format(std::time::Duration::from_secs(hold.oldest_age(now)));
        let n = hold.messages;
        out.push(Report {
            kind: Kind::SystemQueueHold,
            fields: Fields::new()
                .with(Field::QueueStage, Stage::Hold.name())
                .with(Field::Count, n),
            mail: Some((
                "Sluice messages on hold".into(),
                format!(
                    "{n} message(s) wait on hold for an administrator, the oldest for {age}: \
                     messages whose inspection failed repeatedly (suspect) or that an \
                     administrator held. They are not delivered until someone releases, \
                     reprocesses or deletes them: see the queue page (/queue?stage=hold) or \
                     `sluice queue list --stage hold`.\n"
                ),
            )),
        });
    }
}

fn hop_reports(
    hops: &[(String, Result<(), String>)],
    state: &mut State,
    now: u64,
    every: u64,
    out: &mut Vec<Report>,
) {
    for (address, result) in hops {
        let reported_down = state.down.get(address).copied().unwrap_or(false);
        match result {
            Ok(()) if reported_down => {
                state.down.insert(address.clone(), false);
                out.push(Report {
                    kind: Kind::SystemNextHopUp,
                    fields: Fields::new().with(Field::DestinationAddress, address),
                    mail: None,
                });
            }
            Ok(()) => {}
            Err(_) if reported_down => {}
            Err(e) => {
                if state.allow(&format!("next_hop:{address}"), now, every) {
                    state.down.insert(address.clone(), true);
                    out.push(Report {
                        kind: Kind::SystemNextHopDown,
                        fields: Fields::new()
                            .with(Field::DestinationAddress, address)
                            .with(Field::ErrorMessage, e),
                        mail: Some((
                            "Sluice next hop unreachable".into(),
                            format!(
                                "The next hop {address} did not answer the monitor's probe: {e}.\n\n\
                                 Mail is refused with a temporary error while no next hop answers.\n"
                            ),
                        )),
                    });
                }
            }
        }
    }
}
