//! The retry schedule as pure functions of a queue entry and the time: when to try again, when to
//! give up, and when the one delay notice is due. No clock here: `now` comes in as Unix seconds.

use std::time::Duration;

use crate::store::records::{QueueKind, Queued};

/// The retry schedule, in whole seconds (from `[queue]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Waits after the 1st, 2nd, ... failed attempt; the last one repeats. Never empty.
    pub retry: Vec<u64>,
    /// Seconds from queueing after which pending recipients are bounced.
    pub give_up: u64,
    /// Seconds from queueing after which the delay notice is due (0: at the first failure).
    pub delay_notice: u64,
}

/// The wait used if a schedule somehow has no retry interval (config validation forbids it).
pub const FALLBACK_RETRY: u64 = 300;

impl Schedule {
    /// The schedule of a validated `[queue]` section.
    pub fn from_config(q: &crate::config::Queue) -> Schedule {
        let secs = |d: Duration| d.as_secs();
        Schedule {
            retry: q.retry.iter().copied().map(secs).collect(),
            give_up: secs(q.give_up),
            delay_notice: secs(q.delay_notice),
        }
    }

    /// The wait after the `failed`-th failed attempt (1 = the first); the last interval repeats.
    pub fn interval(&self, failed: u32) -> u64 {
        let i = (failed.max(1) - 1) as usize;
        self.retry
            .get(i)
            .or(self.retry.last())
            .copied()
            .unwrap_or(FALLBACK_RETRY)
    }

    /// When an entry whose `failed`-th attempt just failed at `now` is tried next: after the
    /// interval, but never past its give-up time (the last attempt is made then).
    pub fn next_attempt(&self, failed: u32, now: u64, give_up_at: u64) -> u64 {
        now.saturating_add(self.interval(failed))
            .min(give_up_at.max(now))
    }

    /// The entry's give-up time: its own, or (when the inserter left it 0) created + `give_up`.
    pub fn give_up_at(&self, entry: &Queued) -> u64 {
        if entry.give_up_at == 0 {
            entry.created.saturating_add(self.give_up)
        } else {
            entry.give_up_at
        }
    }

    /// Whether the pending recipients are to be bounced at `now`.
    pub fn gives_up(&self, entry: &Queued, now: u64) -> bool {
        now >= self.give_up_at(entry)
    }

    /// Whether the one delay notice is due at `now`, after a failed attempt: not sent yet, the
    /// entry still has pending recipients, and it has waited `delay_notice` since it was queued.
    pub fn delay_notice_due(&self, entry: &Queued, now: u64) -> bool {
        !entry.delay_notice_sent
            && entry.pending().next().is_some()
            && now >= entry.created.saturating_add(self.delay_notice)
    }
}

/// Whether a recipient's last reply text is an answer the next hop gave it (`451 4.2.0 ...`), as
/// opposed to a failure of our own (no connection, lost connection, timeout), whose texts never
/// start with a reply code (`attempt::reply_line` always does).
pub fn own_reply(last_reply: &str) -> bool {
    let b = last_reply.as_bytes();
    b.len() >= 3 && b[..3].iter().all(u8::is_ascii_digit) && matches!(b[0], b'4' | b'5')
}

/// Whether reordering may make `entry` due at `now`, when its next hop has just recovered: it was
/// tried before and waits out a retry interval, and no pending recipient waits out a back-off for a
/// 4xx it received itself (a next hop that accepts other mail says nothing about that recipient).
/// The caller moves an entry at most once per recovery (reordering runs on the down -> up change).
pub fn may_move_forward(entry: &Queued, now: u64) -> bool {
    entry.attempts > 0
        && entry.next_attempt > now
        && entry
            .pending()
            .all(|r| !r.last_reply.as_deref().is_some_and(own_reply))
}

/// Whether delivery reports (delay notices, bounces) may go to this entry's sender: never to the
/// null sender (no bounce loops); for Sluice's own notices only when `bounce_notices` is set.
pub fn reports_allowed(entry: &Queued, bounce_notices: bool) -> bool {
    if entry.sender.is_empty() {
        return false;
    }
    match entry.kind {
        QueueKind::Release { .. } | QueueKind::Gateway { .. } => true,
        QueueKind::Notice { .. } => bounce_notices,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::records::{QueuedRecipient, RcptState};

    fn schedule() -> Schedule {
        Schedule {
            retry: vec![60, 300, 900],
            give_up: 5 * 86_400,
            delay_notice: 4 * 3600,
        }
    }

    fn entry(created: u64) -> Queued {
        Queued {
            id: crate::store::records::QueueId(1),
            kind: QueueKind::Release {
                held: crate::store::records::HeldId(7),
            },
            created,
            sender: "a@example.com".into(),
            envid: None,
            ret_full: false,
            recipients: vec![QueuedRecipient {
                address: "b@example.org".into(),
                notify: Default::default(),
                orcpt: None,
                state: RcptState::Pending,
                last_reply: None,
            }],
            peer: String::new(),
            attempts: 0,
            next_attempt: created,
            give_up_at: 0,
            delay_notice_sent: false,
            held: false,
        }
    }

    #[test]
    fn intervals_follow_the_list_and_the_last_repeats() {
        let s = schedule();
        assert_eq!(s.interval(1), 60);
        assert_eq!(s.interval(2), 300);
        assert_eq!(s.interval(3), 900);
        assert_eq!(s.interval(4), 900);
        assert_eq!(s.interval(1000), 900);
        assert_eq!(s.interval(0), 60);
        assert_eq!(s.next_attempt(2, 1000, u64::MAX), 1300);
    }

    #[test]
    fn the_last_attempt_is_at_the_give_up_time() {
        let s = schedule();
        assert_eq!(s.next_attempt(3, 1000, 1500), 1500);
        assert_eq!(s.next_attempt(3, 2000, 1500), 2000);
    }

    #[test]
    fn gives_up_after_the_limit_from_creation() {
        let s = schedule();
        let mut e = entry(10_000);
        assert_eq!(s.give_up_at(&e), 10_000 + 5 * 86_400);
        assert!(!s.gives_up(&e, 10_000 + 5 * 86_400 - 1));
        assert!(s.gives_up(&e, 10_000 + 5 * 86_400));
        e.give_up_at = 20_000;
        assert!(s.gives_up(&e, 20_000));
        assert!(!s.gives_up(&e, 19_999));
    }

    #[test]
    fn delay_notice_is_due_once_after_the_wait() {
        let s = schedule();
        let mut e = entry(0);
        assert!(!s.delay_notice_due(&e, 4 * 3600 - 1));
        assert!(s.delay_notice_due(&e, 4 * 3600));
        e.delay_notice_sent = true;
        assert!(!s.delay_notice_due(&e, 5 * 3600));
        e.delay_notice_sent = false;
        e.recipients[0].state = RcptState::Failed {
            at: 1,
            reply: "550".into(),
        };
        assert!(!s.delay_notice_due(&e, 5 * 3600), "nothing pending");
        let first_failure = Schedule {
            delay_notice: 0,
            ..schedule()
        };
        assert!(first_failure.delay_notice_due(&entry(100), 100));
    }

    #[test]
    fn own_replies_are_told_from_our_own_failures() {
        assert!(own_reply("451 4.2.0 Mailbox busy"));
        assert!(own_reply("452 too many"));
        assert!(!own_reply("no connection: no next hop reachable"));
        assert!(!own_reply(
            "connection to the next hop failed: connection lost"
        ));
        assert!(!own_reply("delivery attempt timed out"));
        assert!(!own_reply("not attempted"));
        assert!(!own_reply("25"));
    }

    #[test]
    fn reordering_never_brings_a_recipient_past_its_own_back_off() {
        let mut e = entry(100);
        e.attempts = 1;
        e.next_attempt = 110;
        e.recipients[0].last_reply = Some("no connection: refused".into());
        assert!(may_move_forward(&e, 101), "the next hop was down: move it");
        assert!(!may_move_forward(&e, 110), "already due");
        e.recipients[0].last_reply = Some("451 4.2.0 Mailbox busy".into());
        assert!(
            !may_move_forward(&e, 101),
            "a 4xx of its own keeps its schedule"
        );
        e.recipients.push(e.recipients[0].clone());
        e.recipients[0].state = RcptState::Delivered {
            at: 100,
            reply: "250 ok".into(),
        };
        e.recipients[0].last_reply = None;
        assert!(!may_move_forward(&e, 101), "the pending one decides");
        let mut fresh = entry(100);
        fresh.next_attempt = 110;
        assert!(!may_move_forward(&fresh, 101), "never tried: not moved");
    }

    #[test]
    fn no_reports_to_the_null_sender() {
        let mut e = entry(0);
        assert!(reports_allowed(&e, false));
        e.sender.clear();
        assert!(!reports_allowed(&e, true));
        e.sender = "postmaster@gw.example".into();
        e.kind = QueueKind::Notice {
            what: "admin_violation".into(),
        };
        assert!(reports_allowed(&e, true));
        assert!(!reports_allowed(&e, false));
    }
}
