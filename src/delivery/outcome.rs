//! What one delivery attempt means for a queue entry, as a pure function: the per-recipient results
//! in, a [`Plan`] out (the rewritten entry or its completion, which reports to queue, the history
//! lines, outbox events and counters), which `record` then writes in one store transaction.
//!
//! No I/O, no clock: `now` is a value. Texts here carry addresses and SMTP replies, never content.

use crate::events::{Field, Fields, Kind as EventKind};
use crate::store::records::{HeldId, QueueKind, Queued, RcptState};

use super::schedule::{Schedule, own_reply};

/// Longest reply text kept per recipient (a next hop's reply may be up to 128 lines).
pub const MAX_REPLY_TEXT: usize = 512;

/// What happened to one pending recipient in one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RcptResult {
    /// The next hop accepted the message for this recipient (2xx to DATA).
    Delivered(String),
    /// Refused permanently (5xx to MAIL, RCPT or DATA).
    Failed(String),
    /// Not delivered this time (4xx, no connection, lost connection, timeout): retried later.
    Deferred(String),
}

/// The outcome of one attempt: every pending recipient's result, by index into `recipients`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Attempted {
    pub results: Vec<(usize, RcptResult)>,
    /// The next hop that answered, for reports (`Remote-MTA`) and logs.
    pub remote: Option<String>,
    /// How the connection to it was protected (for logs).
    pub tls: crate::tls::Protection,
    /// For an attempt over several connections (a gateway entry's destinations): which
    /// recipients went over which. Empty: all over `remote` and `tls`.
    pub hops: Vec<Hop>,
}

/// The connection some recipients of an attempt went over.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hop {
    pub recipients: Vec<usize>,
    pub remote: Option<String>,
    pub tls: crate::tls::Protection,
}

/// What one attempt says about its next hop, for reordering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HopSign {
    /// It took the message for at least one recipient: it accepts mail.
    Accepted,
    /// It could not be reached or was lost before it answered every recipient: it is down.
    Unreachable,
    /// It answered, but took nothing (4xx/5xx replies of its own): says nothing about its state.
    Answered,
}

impl Attempted {
    /// Whether the next hop took the message for at least one recipient (the hop is accepting).
    pub fn delivered_any(&self) -> bool {
        self.results
            .iter()
            .any(|(_, r)| matches!(r, RcptResult::Delivered(_)))
    }

    /// The next hop recipient `i` went to and how the connection was protected.
    pub fn hop_of(&self, i: usize) -> (Option<&str>, &crate::tls::Protection) {
        match self.hops.iter().find(|h| h.recipients.contains(&i)) {
            Some(h) => (h.remote.as_deref(), &h.tls),
            None => (self.remote.as_deref(), &self.tls),
        }
    }

    /// What this attempt says about the next hop (a recipient's own 4xx is not the hop failing).
    pub fn hop_sign(&self) -> HopSign {
        let unreached = |r: &RcptResult| matches!(r, RcptResult::Deferred(t) if !own_reply(t));
        if self.delivered_any() {
            HopSign::Accepted
        } else if self.results.iter().any(|(_, r)| unreached(r)) {
            HopSign::Unreachable
        } else {
            HopSign::Answered
        }
    }
}

/// An outbox event: its kind and fields (ids, addresses, reply codes).
pub type Event = (EventKind, Fields);

/// Everything one attempt changes, written in one store transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The entry after the attempt (recipient states, attempts, next attempt, notice flag).
    pub entry: Queued,
    /// Every recipient is delivered or failed: remove the entry.
    pub done: bool,
    /// Queue one delay notice to the sender about the recipients still pending.
    pub delay_notice: bool,
    /// Recipients that failed in this attempt (refused, or given up on): the failure report's.
    pub bounced: Vec<usize>,
    /// Whether reports may go to the sender at all (never to the null sender).
    pub reports: bool,
    /// History lines (action, result) for the incidents of a released message.
    pub history: Vec<(&'static str, String)>,
    pub events: Vec<Event>,
    /// Counter increments: `delivered`, `deferred`, `bounced` (per recipient).
    pub stats: Vec<(&'static str, u64)>,
    /// For a gateway message: seconds from its 250 to each recipient delivered in this attempt
    /// (`sluice_time_to_delivery_seconds`).
    pub delivered_after: Vec<u64>,
}

/// One line of printable text of at most [`MAX_REPLY_TEXT`] characters.
pub fn clip(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_REPLY_TEXT)
        .collect()
}

/// Applies an attempt's results to `entry` at `now`. `reports`: whether delay notices and bounces
/// may go to the sender (see `schedule::reports_allowed`).
pub fn plan(mut entry: Queued, attempt: &Attempted, now: u64, s: &Schedule, reports: bool) -> Plan {
    entry.give_up_at = s.give_up_at(&entry);
    entry.attempts = entry.attempts.saturating_add(1);
    let id = entry.id.to_string();
    let mut out = Plan {
        entry: entry.clone(),
        done: false,
        delay_notice: false,
        bounced: Vec::new(),
        reports,
        history: Vec::new(),
        events: Vec::new(),
        stats: Vec::new(),
        delivered_after: Vec::new(),
    };
    let received = match entry.kind {
        QueueKind::Gateway { received, .. } => received,
        _ => None,
    };
    let e = &mut out.entry;
    let (mut delivered, mut deferred) = (0u64, Vec::new());
    for i in 0..e.recipients.len() {
        if e.recipients[i].state != RcptState::Pending {
            continue;
        }
        let result = attempt
            .results
            .iter()
            .find(|(j, _)| *j == i)
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| RcptResult::Deferred("not attempted".into()));
        let r = &mut e.recipients[i];
        let via = |f: Fields| with_hop(f, attempt.hop_of(i));
        match result {
            RcptResult::Delivered(reply) => {
                let reply = clip(&reply);
                out.history
                    .push(("delivered", format!("delivered to {}: {reply}", r.address)));
                out.events.push((
                    EventKind::QueueDelivered,
                    via(fields(&id, &r.address, &reply, e.attempts)),
                ));
                r.state = RcptState::Delivered { at: now, reply };
                delivered += 1;
                if let Some(at) = received {
                    out.delivered_after.push(now.saturating_sub(at));
                }
            }
            RcptResult::Failed(reply) => {
                let reply = clip(&reply);
                out.history
                    .push(("bounced", format!("bounced ({}): {reply}", r.address)));
                out.events.push((
                    EventKind::QueueBounced,
                    via(fields(&id, &r.address, &reply, e.attempts)),
                ));
                r.state = RcptState::Failed { at: now, reply };
                out.bounced.push(i);
            }
            RcptResult::Deferred(reply) => {
                r.last_reply = Some(clip(&reply));
                deferred.push(i);
            }
        }
    }
    if !deferred.is_empty() && s.gives_up(e, now) {
        for &i in &deferred {
            let r = &mut e.recipients[i];
            let last = r.last_reply.clone().unwrap_or_default();
            out.history.push((
                "bounced",
                format!(
                    "bounced ({}): gave up after {} attempts: {last}",
                    r.address, e.attempts
                ),
            ));
            out.events.push((
                EventKind::QueueBounced,
                fields(&id, &r.address, &format!("gave up: {last}"), e.attempts),
            ));
            r.state = RcptState::Failed {
                at: now,
                reply: last,
            };
            out.bounced.push(i);
        }
        deferred.clear();
    }
    if !deferred.is_empty() {
        e.next_attempt = s.next_attempt(e.attempts, now, e.give_up_at);
        for &i in &deferred {
            let r = &e.recipients[i];
            let last = r.last_reply.clone().unwrap_or_default();
            out.history.push((
                "deferred",
                format!("delivery failed, will retry ({}): {last}", r.address),
            ));
            let mut f = with_hop(
                fields(&id, &r.address, &last, e.attempts),
                attempt.hop_of(i),
            );
            f.push(Field::NextAttempt, e.next_attempt);
            out.events.push((EventKind::QueueDeferred, f));
        }
        if reports && s.delay_notice_due(e, now) {
            out.delay_notice = true;
            e.delay_notice_sent = true;
        }
    }
    out.done = e.pending().next().is_none();
    for (name, n) in [
        ("delivered", delivered),
        ("deferred", deferred.len() as u64),
        ("bounced", out.bounced.len() as u64),
    ] {
        if n > 0 {
            out.stats.push((name, n));
        }
    }
    out
}

/// The next hop that answered (its address) and how the connection to it was protected
/// (`sluice.tls`: none, unverified, verified; `tls.version`), when there was one.
fn with_hop(f: Fields, (remote, tls): (Option<&str>, &crate::tls::Protection)) -> Fields {
    let Some(remote) = remote else { return f };
    let f = f
        .with(Field::DestinationAddress, remote)
        .with(Field::TlsProtection, tls.name());
    match tls {
        crate::tls::Protection::None => f,
        _ => f.with(Field::TlsVersion, tls.version()),
    }
}

fn fields(id: &str, rcpt: &str, reply: &str, attempt: u32) -> Fields {
    Fields::new()
        .with(Field::QueueId, id)
        .with(Field::EmailToAddress, rcpt)
        .with(Field::Reply, reply)
        .with(Field::Attempt, attempt)
}

/// The held message whose incidents get the history lines, for a release.
pub fn held_of(entry: &Queued) -> Option<HeldId> {
    match entry.kind {
        QueueKind::Release { held } => Some(held),
        QueueKind::Notice { .. } | QueueKind::Gateway { .. } => None,
    }
}

#[cfg(test)]
mod tests;
