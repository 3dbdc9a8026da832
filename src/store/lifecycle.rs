//! The held message's lifecycle, in one place: the table of status transitions ([`allowed`] for the
//! message, [`follows`] for a released recipient following its delivery) and [`change`], the one
//! function through which a held message's status changes (release, delete, expiry, approval
//! rejection and expiry, eviction at the caps). An invalid transition changes nothing but the
//! history: each of the message's incidents gets a "refused: ..." entry, and the caller gets the
//! refusal ([`StoreError::Refused`]) to hand on.
//!
//! ```text
//! held ──────────────┬─► released ─► (recipients) deferred ─► delivered | bounced
//! awaiting_approval ─┼─► deleted
//!                    ├─► expired
//!                    └─► rejected (awaiting_approval only)
//! ```

use super::kv::WriteTxn;
use super::records::{Held, HeldStatus, HistoryEntry};
use super::{Result, StoreError, held, incidents};

/// Whether a held message may go from `from` to `to`. Only an open message (held, or awaiting
/// approval) moves, and only to a closed status; rejection is an approver's, so only from
/// awaiting approval.
pub fn allowed(from: HeldStatus, to: HeldStatus) -> bool {
    use HeldStatus::*;
    matches!(
        (from, to),
        (Held | AwaitingApproval, Released | Deleted | Expired) | (AwaitingApproval, Rejected)
    )
}

/// Whether a recipient in status `from` may take status `to`: an open recipient closes with its
/// message (as [`allowed`]), and a released one follows its delivery (deferred, then delivered or
/// bounced; those two are final). Staying put is always allowed.
pub fn follows(from: HeldStatus, to: HeldStatus) -> bool {
    use HeldStatus::*;
    from == to
        || allowed(from, to)
        || matches!(
            (from, to),
            (Released | Deferred, Delivered | Bounced | Deferred)
        )
}

/// Why going from `from` to `to` is refused (the text the history and the caller get).
pub fn refusal(from: HeldStatus, to: HeldStatus) -> String {
    if from.is_open() {
        format!("a message {} cannot become {}", from.name(), to.name())
    } else {
        format!("already {}", from.name())
    }
}

/// Who asks for a change, and when (for the history entry of a refusal).
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    pub at: u64,
    pub actor: &'a str,
    /// What was asked: `release`, `delete`, `expire`, `reject`, ...
    pub action: &'a str,
}

/// What [`change`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    /// The record as it is now (content dropped when it closed).
    Done(Box<Held>),
    /// Nothing changed; the refusal is in the incidents' history. The write may commit.
    Refused(StoreError),
}

/// Moves held message `h` (and its open recipients) to `to`, dropping the content when it closes;
/// refuses an invalid transition (see the module documentation).
pub fn change(
    txn: &mut dyn WriteTxn,
    h: &Held,
    to: HeldStatus,
    asked: Asked<'_>,
) -> Result<Changed> {
    if !allowed(h.status, to) {
        let reason = refusal(h.status, to);
        let entry = HistoryEntry {
            at: asked.at,
            actor: asked.actor.to_string(),
            action: asked.action.to_string(),
            result: format!("refused: {reason}"),
        };
        for &inc in &h.incidents {
            if incidents::get(txn, inc)?.is_some() {
                incidents::append_history(txn, inc, &entry)?;
            }
        }
        return Ok(Changed::Refused(StoreError::Refused(reason)));
    }
    let mut new = h.clone();
    new.status = to;
    for r in &mut new.recipients {
        if r.status.is_open() && follows(r.status, to) {
            r.status = to;
        }
    }
    held::update(txn, h, &new)?;
    if !to.is_open() {
        held::drop_content(txn, &new)?;
    }
    Ok(Changed::Done(Box::new(new)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use crate::store::records::IncidentStatus;
    use HeldStatus::*;

    #[test]
    fn the_table() {
        let open = [Held, AwaitingApproval];
        for from in HeldStatus::ALL {
            for to in HeldStatus::ALL {
                let want = [
                    (Held, Released),
                    (Held, Deleted),
                    (Held, Expired),
                    (AwaitingApproval, Released),
                    (AwaitingApproval, Deleted),
                    (AwaitingApproval, Expired),
                    (AwaitingApproval, Rejected),
                ]
                .contains(&(from, to));
                assert_eq!(allowed(from, to), want, "{from:?} -> {to:?}");
            }
        }
        // Nothing closed ever opens again or changes its ending.
        for from in HeldStatus::ALL.into_iter().filter(|s| !open.contains(s)) {
            assert!(HeldStatus::ALL.into_iter().all(|to| !allowed(from, to)));
        }
        // Recipients follow the delivery; delivered and bounced are final.
        assert!(follows(Released, Deferred) && follows(Deferred, Delivered));
        assert!(follows(Deferred, Bounced) && follows(Delivered, Delivered));
        assert!(!follows(Delivered, Bounced) && !follows(Bounced, Deferred));
        assert!(!follows(Deleted, Delivered) && !follows(Held, Delivered));
        assert_eq!(refusal(Released, Deleted), "already released");
        assert_eq!(
            refusal(Held, Rejected),
            "a message held cannot become rejected"
        );
    }

    #[test]
    fn a_refused_change_is_recorded_and_changes_nothing() {
        let store = Store::memory().unwrap();
        let h = crate::store::tests::held("a@b.example", &["c@d.example"], 10);
        let (id, before) = store
            .write_blocking(move |txn| {
                let (id, _) = held::insert(txn, h, b"body", crate::testing::caps())?;
                let i = crate::store::tests::incident(7, &["c@d.example"], 10);
                let inc = incidents::record(txn, i, None, 0)?.id();
                let old = held::must_get(txn, id)?;
                let mut new = old.clone();
                new.incidents = vec![inc];
                held::update(txn, &old, &new)?;
                Ok((id, new))
            })
            .unwrap();
        let asked = Asked {
            at: 20,
            actor: "admin",
            action: "reject",
        };
        // A held message (not awaiting approval) cannot be rejected.
        let out = store
            .write_blocking(move |txn| change(txn, &before, Rejected, asked))
            .unwrap();
        assert_eq!(
            out,
            Changed::Refused(StoreError::Refused(
                "a message held cannot become rejected".into()
            ))
        );
        let (now, content, history, inc) = store
            .read(|txn| {
                let h = held::must_get(txn, id)?;
                let inc = incidents::must_get(txn, h.incidents[0])?;
                Ok((
                    h.clone(),
                    held::content(txn, id)?,
                    incidents::history(txn, h.incidents[0])?,
                    inc,
                ))
            })
            .unwrap();
        assert_eq!(now.status, Held);
        assert_eq!(content.as_deref(), Some(&b"body"[..]));
        assert_eq!(inc.status, IncidentStatus::New);
        let last = history.last().unwrap();
        assert_eq!(
            (
                last.actor.as_str(),
                last.action.as_str(),
                last.result.as_str()
            ),
            (
                "admin",
                "reject",
                "refused: a message held cannot become rejected"
            )
        );
        // A valid change closes the message and its recipients and drops the content; a second
        // one is refused as "already deleted".
        let asked = Asked {
            at: 30,
            actor: "admin",
            action: "delete",
        };
        let done = store
            .write_blocking(move |txn| change(txn, &now, Deleted, asked))
            .unwrap();
        let Changed::Done(deleted) = done else {
            panic!("{done:?}")
        };
        assert_eq!(deleted.status, Deleted);
        assert_eq!(deleted.recipients[0].status, Deleted);
        assert_eq!(store.read(|txn| held::content(txn, id)).unwrap(), None);
        let again = store
            .write_blocking(move |txn| change(txn, &deleted, Released, asked))
            .unwrap();
        assert_eq!(
            again,
            Changed::Refused(StoreError::Refused("already deleted".into()))
        );
    }
}
