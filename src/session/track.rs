//! A message's final disposition, said once: the per-message log line, the metrics, and the
//! `message.*` event (see `pipeline::track` for the values and their formats).
//!
//! Where the event is written: a held message's in the hold's own commit (`hold::Keeper::hold`),
//! a message with incidents (blocked, or relayed with violations) in the incidents' write
//! (`Keeper::record`); any other (relayed, deferred, rejected) in a write of its own through the
//! store's group-commit writer, spawned in the app's task group so the client's reply never waits
//! for it. A crash can lose only those still in flight (written after the reply, not before it);
//! a deferral's event is best-effort (the store may be what failed).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::events::Fields;
use crate::hold::Facts;
use crate::pipeline::track::{self, Hop, Status, Track};
use crate::smtp::Reply;

use super::Shared;

/// What [`conclude`] is told about one message, besides how it ended.
pub(super) struct Ending<'a> {
    pub facts: &'a Facts,
    pub client: SocketAddr,
    /// When the client's MAIL was accepted.
    pub started: Instant,
    /// The next hop that took it.
    pub hop: Option<SocketAddr>,
    pub policies: Vec<String>,
    pub inspection: Duration,
    /// The size when the content was received (0 when it was not).
    pub size: u64,
}

/// Who writes the `message.*` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Write {
    /// A write of its own, spawned here.
    Own,
    /// Already in the write of the record it belongs with (a hold, the incidents).
    WithRecord,
}

impl<'a> Ending<'a> {
    /// The parts known before inspection.
    pub fn new(facts: &'a Facts, client: SocketAddr, started: Instant, size: u64) -> Ending<'a> {
        Ending {
            facts,
            client,
            started,
            hop: None,
            policies: Vec::new(),
            inspection: Duration::ZERO,
            size,
        }
    }

    /// The message's tracking: it ended with `status`, the client got `reply`.
    pub fn track(&self, status: Status, reply: &Reply) -> Track {
        let f = self.facts;
        Track {
            guid: f.guid.clone(),
            client: self.client,
            sender: f.sender.clone(),
            recipients: f.recipients.iter().map(|r| r.address.clone()).collect(),
            subject: f.subject.clone(),
            message_id: f.message_id.clone(),
            direction: Some(f.direction),
            size: self.size,
            delay: self.started.elapsed(),
            hop: self.hop.map(|addr| Hop {
                host: addr.ip().to_string(),
                addr,
            }),
            status,
            dsn: track::dsn(reply),
            policies: self.policies.clone(),
        }
    }
}

/// How a message that was not held or blocked ended, from the reply the client got.
pub(super) fn status_of(reply: &Reply, relayed: Status) -> Status {
    if reply.is_positive() {
        relayed
    } else if reply.is_permanent() {
        Status::Rejected
    } else {
        Status::Deferred
    }
}

/// Logs the message's line, counts it, and (for [`Write::Own`]) writes its event in the
/// background.
pub(super) fn conclude(shared: &Shared, track: &Track, inspection: Duration, write: Write) {
    tracing::info!(target: "sluice::message", "{}", track.log_line());
    let metrics = crate::metrics::global();
    let direction = track.direction.map_or("", |d| d.name());
    metrics.message(track.status.outcome(), direction, track.size, inspection);
    for p in &track.policies {
        metrics.policy_hit(p);
    }
    if write == Write::Own
        && let Some(work) = shared.keeper.event(track.status.kind(), track.fields())
    {
        shared.tasks.spawn(work);
    }
}

/// The event of `track`, for the write of its record.
pub(super) fn event(track: &Track) -> (crate::events::Kind, Fields) {
    (track.status.kind(), track.fields())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_map_to_statuses() {
        let ok = Reply::new(250, Some([2, 0, 0]), "ok");
        let temp = Reply::new(451, Some([4, 4, 1]), "later");
        let perm = Reply::new(554, Some([5, 6, 0]), "no");
        assert_eq!(status_of(&ok, Status::Modified), Status::Modified);
        assert_eq!(status_of(&temp, Status::Relayed), Status::Deferred);
        assert_eq!(status_of(&perm, Status::Relayed), Status::Rejected);
    }
}
