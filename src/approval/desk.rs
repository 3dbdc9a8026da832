//! The approval desk over the store: what an approver sees, and the one write that records a
//! decision with all it entails (approve: release to the original recipients and tell the sender;
//! reject: delete and tell the sender; both: incident status and history). Also the expiry sweep:
//! no decision within `approval.expiry` returns the message to its sender with the reason.

use std::sync::Arc;
use std::time::Duration;

use super::token;
use super::{
    ApprovalDesk, ApprovalState, ApprovalSummary, Decided, Decision, DeskError, MessageTag,
};
use crate::events::{Field, Kind as EventKind};
use crate::hold::Keeper;
use crate::hold::notices::{self, Notice};
use crate::notify::{Disposition, Kind};
use crate::remediate::{self, Release, Step};
use crate::store::records::{
    self, Approval, ApprovalId, Held, HeldStatus, HistoryEntry, IncidentStatus,
};
use crate::store::{
    ReadTxn, Store, StoreError, WriteTxn, approvals, events, held, incidents, lifecycle, stats,
};

/// Lapsed approvals handled per sweep.
pub const SWEEP_BATCH: usize = 1000;

/// The desk the admin server uses, over the keeper's store.
pub struct StoreDesk {
    keeper: Arc<Keeper>,
    /// `queue.give_up` for released messages (seconds).
    give_up: u64,
}

impl StoreDesk {
    pub fn new(keeper: Arc<Keeper>, give_up: u64) -> StoreDesk {
        StoreDesk { keeper, give_up }
    }

    fn store(&self) -> Result<&Store, DeskError> {
        self.keeper
            .store()
            .map_err(|e| DeskError::Unavailable(e.to_string()))
    }

    /// One expiry sweep: every approval past its time is returned to its sender. Returns how many.
    pub fn sweep(&self) -> Result<usize, StoreError> {
        let store = self.keeper.store()?.clone();
        let now = self.keeper.clock().now();
        let due = store.read(|txn| approvals::expired(txn, now, SWEEP_BATCH))?;
        let mut done = 0;
        for id in due {
            let settings = self.keeper.notify_settings().clone();
            let result = store.write_blocking(move |txn| expire_txn(txn, id, now, &settings));
            match result {
                Ok(()) => done += 1,
                Err(StoreError::Refused(_)) => {}
                Err(e) => tracing::warn!(approval = id.0, error = %e, "approval expiry failed"),
            }
        }
        Ok(done)
    }

    /// Runs the sweep every `approval.sweep_interval` (on the blocking pool) until the process ends.
    pub async fn sweep_forever(self: Arc<Self>) {
        if self.keeper.store().is_err() {
            return;
        }
        loop {
            let desk = self.clone();
            match smol::unblock(move || desk.sweep()).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(
                        returned = n,
                        "approvals lapsed; messages returned to their senders"
                    );
                    self.keeper.wake_delivery();
                }
                Err(e) => tracing::warn!(error = %e, "approval expiry sweep failed"),
            }
            smol::Timer::after(
                self.keeper
                    .keep()
                    .approval_sweep
                    .max(Duration::from_millis(100)),
            )
            .await;
        }
    }
}

fn state_of(s: &records::ApprovalState) -> ApprovalState {
    match s {
        records::ApprovalState::Pending => ApprovalState::Pending,
        records::ApprovalState::Approved { by, at } => ApprovalState::Approved {
            by: by.clone(),
            at: *at,
        },
        records::ApprovalState::Rejected { by, at } => ApprovalState::Rejected {
            by: by.clone(),
            at: *at,
        },
        records::ApprovalState::Expired { at } => ApprovalState::Expired { at: *at },
    }
}

fn unavailable(e: StoreError) -> DeskError {
    match e {
        StoreError::NotFound(_) => DeskError::NotFound,
        other => DeskError::Unavailable(other.to_string()),
    }
}

impl ApprovalDesk for StoreDesk {
    fn summary(&self, approval: u64, message: &MessageTag) -> Result<ApprovalSummary, DeskError> {
        let keep = self.keeper.keep();
        let (a, h, content) = self
            .store()?
            .read(|txn| {
                let (a, h) = bound(txn, ApprovalId(approval), message)?;
                let content = if keep.approval_preview && h.status.is_open() {
                    held::content(txn, h.id)?
                } else {
                    None
                };
                Ok((a, h, content))
            })
            .map_err(unavailable)?;
        let preview = content
            .map(|c| super::preview::of(&c, self.keeper.limits(), keep.approval_preview_bytes));
        Ok(ApprovalSummary {
            sender: h.sender,
            recipients: h.recipients.into_iter().map(|r| r.address).collect(),
            subject: h.subject,
            size: h.size,
            received: h.received,
            policies: h.policies.into_iter().map(|p| p.name).collect(),
            findings: h.findings,
            expires: a.expires,
            state: state_of(&a.state),
            preview,
        })
    }

    fn decide(
        &self,
        approval: u64,
        message: &MessageTag,
        approver: u32,
        decision: Decision,
        comment: &str,
        now: u64,
    ) -> Result<Decided, DeskError> {
        let store = self.store()?.clone();
        let settings = self.keeper.notify_settings().clone();
        let give_up = self.give_up;
        let message = *message;
        let comment = super::clean_comment(comment);
        let outcome = store
            .write_blocking(move |txn| {
                bound(txn, ApprovalId(approval), &message)?;
                let asked = Asked {
                    approver,
                    decision,
                    comment: &comment,
                };
                decide_txn(txn, ApprovalId(approval), asked, now, give_up, &settings)
            })
            .map_err(unavailable)?;
        if matches!(outcome, Decided::Done(_)) {
            self.keeper.wake_delivery();
            tracing::info!(approval, ?decision, "approval decided");
        }
        Ok(outcome)
    }
}

/// The approval and its held message, when the link's message tag is that message's: a link made
/// for another message (an approval number handed out again) finds nothing.
fn bound(
    txn: &dyn ReadTxn,
    approval: ApprovalId,
    message: &MessageTag,
) -> Result<(records::Approval, records::Held), StoreError> {
    let missing = || StoreError::NotFound(format!("approval {approval}"));
    let a = approvals::get(txn, approval)?.ok_or_else(missing)?;
    let h = held::get(txn, a.held)?.ok_or_else(missing)?;
    if token::message_tag(&h.guid) != *message {
        tracing::warn!(
            approval = approval.0,
            held = h.id.0,
            "an approval link made for another message was refused"
        );
        return Err(missing());
    }
    Ok((a, h))
}

/// What an approver asked for: who (their number in the approval), which decision, and their
/// comment (cleaned; may be empty).
struct Asked<'a> {
    approver: u32,
    decision: Decision,
    comment: &'a str,
}

/// The whole decision in one write.
fn decide_txn(
    txn: &mut dyn WriteTxn,
    id: ApprovalId,
    asked: Asked<'_>,
    now: u64,
    give_up: u64,
    settings: &crate::notify::Settings,
) -> Result<Decided, StoreError> {
    let Asked {
        approver,
        decision,
        comment,
    } = asked;
    let a =
        approvals::get(txn, id)?.ok_or_else(|| StoreError::NotFound(format!("approval {id}")))?;
    if a.state != records::ApprovalState::Pending {
        return Ok(Decided::AlreadyDecided(state_of(&a.state)));
    }
    if now >= a.expires {
        return Ok(Decided::Expired);
    }
    let by = a
        .approvers
        .get(approver as usize)
        .cloned()
        .unwrap_or_else(|| format!("approver {approver}"));
    let h = held::must_get(txn, a.held)?;
    if !h.status.is_open() {
        // An administrator released or deleted the message from the quarantine meanwhile: that was
        // the decision; record it so every link of this approval says so.
        let by = "an administrator".to_string();
        let state = if h.status == HeldStatus::Released {
            records::ApprovalState::Approved { by, at: now }
        } else {
            records::ApprovalState::Rejected { by, at: now }
        };
        approvals::decide(txn, id, state.clone())?;
        return Ok(Decided::AlreadyDecided(state_of(&state)));
    }
    let original = held::content(txn, h.id)?;
    let (state, kind, disposition, name) = match decision {
        Decision::Approve => {
            let state = records::ApprovalState::Approved {
                by: by.clone(),
                at: now,
            };
            approvals::decide(txn, id, state.clone())?;
            let options = Release { tag: None, give_up };
            if let Step::Stop(e) = remediate::release_txn(txn, h.id, None, &by, now, &options)? {
                return Err(e);
            }
            (state, Kind::Approved, Disposition::Approved, "approved")
        }
        Decision::Reject => {
            let state = records::ApprovalState::Rejected {
                by: by.clone(),
                at: now,
            };
            approvals::decide(txn, id, state.clone())?;
            let result = format!("rejected by {by}; message deleted");
            close(
                txn,
                &h,
                HeldStatus::Rejected,
                IncidentStatus::Rejected,
                &by,
                "reject",
                result,
                now,
            )?;
            (state, Kind::Rejected, Disposition::Rejected, "rejected")
        }
    };
    if !comment.is_empty() {
        let entry = HistoryEntry {
            at: now,
            actor: by.clone(),
            action: "comment".into(),
            result: format!("approver's comment: {comment}"),
        };
        for &inc in &h.incidents {
            if incidents::get(txn, inc)?.is_some() {
                incidents::append_history(txn, inc, &entry)?;
            }
        }
    }
    let told = Told {
        kind,
        disposition,
        comment,
    };
    tell_sender(txn, settings, (&h, &a), told, original.as_deref(), now)?;
    let fields = crate::hold::fields::held(&h)
        .with(Field::ApprovalId, id)
        .with(Field::UserName, &by);
    let event = match name {
        "approved" => EventKind::ApprovalApproved,
        _ => EventKind::ApprovalRejected,
    };
    events::append(txn, now, event, fields)?;
    stats::bump(txn, now, name, 1)?;
    Ok(Decided::Done(state_of(&state)))
}

/// A lapsed approval: the message goes back to its sender with the reason, and is removed.
fn expire_txn(
    txn: &mut dyn WriteTxn,
    id: ApprovalId,
    now: u64,
    settings: &crate::notify::Settings,
) -> Result<(), StoreError> {
    let a: Approval = approvals::decide(txn, id, records::ApprovalState::Expired { at: now })?;
    let h = held::must_get(txn, a.held)?;
    if !h.status.is_open() {
        return Ok(());
    }
    let original = held::content(txn, h.id)?;
    close(
        txn,
        &h,
        HeldStatus::Expired,
        IncidentStatus::Expired,
        "sluice",
        "expire",
        "no decision was made in time; returned to the sender".into(),
        now,
    )?;
    let told = Told {
        kind: Kind::Expired,
        disposition: Disposition::Expired,
        comment: "",
    };
    tell_sender(txn, settings, (&h, &a), told, original.as_deref(), now)?;
    events::append(
        txn,
        now,
        EventKind::ApprovalExpired,
        crate::hold::fields::held(&h)
            .with(Field::ApprovalId, id)
            .with(Field::UserName, "sluice"),
    )?;
    stats::bump(txn, now, "approval_expired", 1)
}

/// Ends a held message without delivering it (`remediate::close_txn`, the write a delete makes):
/// status, content dropped, incidents and history.
#[allow(clippy::too_many_arguments)]
fn close(
    txn: &mut dyn WriteTxn,
    h: &Held,
    status: HeldStatus,
    incident: IncidentStatus,
    actor: &str,
    action: &str,
    result: String,
    now: u64,
) -> Result<(), StoreError> {
    let entry = HistoryEntry {
        at: now,
        actor: actor.to_string(),
        action: action.to_string(),
        result,
    };
    let closing = remediate::Closing {
        status,
        incident,
        entry: &entry,
    };
    // The callers checked that the message is open; a refusal undoes the decision with the rest
    // of this write.
    match remediate::close_txn(txn, h, &h.incidents, closing)? {
        lifecycle::Changed::Refused(e) => Err(e),
        lifecycle::Changed::Done(_) => Ok(()),
    }
}

/// What the sender is told: the notice kind, what happened, the approver's comment.
struct Told<'a> {
    kind: Kind,
    disposition: Disposition,
    comment: &'a str,
}

/// Queues the sender's notice about the decision (never to the null sender).
fn tell_sender(
    txn: &mut dyn WriteTxn,
    settings: &crate::notify::Settings,
    (h, a): (&Held, &Approval),
    told: Told<'_>,
    original: Option<&[u8]>,
    now: u64,
) -> Result<(), StoreError> {
    let kind = told.kind;
    let facts = notices::decision_facts(h, a, kind, told.disposition, told.comment);
    if h.sender.is_empty() || !settings.wanted(kind, &facts) {
        return Ok(());
    }
    let to = vec![h.sender.clone()];
    let bytes = settings.notice(kind, &facts, &to, uuid::Uuid::new_v4(), now, original);
    notices::enqueue(txn, &Notice { kind, to, bytes }, &h.peer, now)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::config::Config;
    use crate::hold::{Facts, Links};
    use crate::link::token::Key;
    use crate::policy::{Decision as PolicyDecision, Hit, Severity, Verdict};
    use crate::store::{queue, records::QueueKind};

    fn keeper(dir: &std::path::Path) -> Arc<Keeper> {
        let config = Config::embedded().unwrap();
        let store = Store::open(dir, &crate::testing::options()).unwrap();
        Arc::new(
            Keeper::with_store(store, &config, Arc::new(Clock::real())).with_links(Links {
                key: Key::from_bytes([7; 32]),
                public_url: "https://gw.example:8443".into(),
            }),
        )
    }

    /// [`hold_one`] and its approval's id.
    fn held_for_approval(k: &Keeper) -> (Held, u64) {
        let held = hold_one(k);
        let crate::store::records::Hold::Approval { approval } = held.hold else {
            panic!("not held for approval");
        };
        (held, approval.0)
    }

    fn hold_one(k: &Keeper) -> Held {
        let facts = Facts {
            guid: "G-1".into(),
            peer: "127.0.0.1".into(),
            sender: "alice@corp.example".into(),
            envid: None,
            ret_full: false,
            recipients: vec![crate::message::Recipient::plain("bob@partner.example")],
            subject: "Q3".into(),
            message_id: "<q3@corp.example>".into(),
            identity: "<q3@corp.example>".into(),
            direction: crate::policy::Direction::Outbound,
            size: 40,
        };
        let verdict = Verdict {
            hits: vec![Hit {
                id: 7,
                name: "Needs approval".into(),
                action: "approval",
                monitor: false,
                severity: Severity::High,
                matched: vec![],
                notify: vec![],
            }],
            decision: PolicyDecision::Hold {
                approvers: vec!["boss@corp.example".into()],
            },
            deciding_policy: Some(7),
            detail: vec![],
            evidence: vec![],
        };
        smol::block_on(k.hold(
            facts,
            &verdict,
            b"Subject: Q3\r\n\r\nbody\r\n".to_vec(),
            &["boss@corp.example".to_string()],
            crate::events::Fields::new(),
        ))
        .unwrap()
    }

    /// The message tag of [`hold_one`]'s message.
    fn tag() -> MessageTag {
        token::message_tag("G-1")
    }

    fn queued_kinds(k: &Keeper) -> Vec<QueueKind> {
        k.store()
            .unwrap()
            .read(|txn| queue::list(txn, 100))
            .unwrap()
            .into_iter()
            .map(|q| q.kind)
            .collect()
    }

    #[test]
    fn approving_releases_and_tells_the_sender_once() {
        let dir = tempfile::tempdir().unwrap();
        let k = keeper(dir.path());
        let (held, approval) = held_for_approval(&k);
        // The approval request is queued with the hold.
        assert_eq!(
            queued_kinds(&k),
            vec![QueueKind::Notice {
                what: "approval_request".into()
            }]
        );
        let desk = StoreDesk::new(k.clone(), 3600);
        let summary = desk.summary(approval, &tag()).unwrap();
        assert_eq!(summary.state, ApprovalState::Pending);
        assert_eq!(summary.recipients, vec!["bob@partner.example"]);
        let now = k.clock().now();
        let done = desk
            .decide(approval, &tag(), 0, Decision::Approve, "", now)
            .unwrap();
        assert!(
            matches!(&done, Decided::Done(ApprovalState::Approved { by, .. }) if by == "boss@corp.example"),
            "{done:?}"
        );
        let kinds = queued_kinds(&k);
        assert!(
            kinds.contains(&QueueKind::Release { held: held.id }),
            "{kinds:?}"
        );
        assert!(
            kinds.contains(&QueueKind::Notice {
                what: "approved".into()
            }),
            "{kinds:?}"
        );
        let again = desk
            .decide(approval, &tag(), 0, Decision::Reject, "", now)
            .unwrap();
        assert!(matches!(
            again,
            Decided::AlreadyDecided(ApprovalState::Approved { .. })
        ));
    }

    #[test]
    fn a_message_an_administrator_released_is_decided_already() {
        let dir = tempfile::tempdir().unwrap();
        let k = keeper(dir.path());
        let (held, approval) = held_for_approval(&k);
        let store = k.store().unwrap().clone();
        let now = k.clock().now();
        smol::block_on(remediate::release(
            &store,
            held.id,
            "admin",
            now,
            crate::testing::release(),
        ))
        .unwrap();
        let desk = StoreDesk::new(k.clone(), 3600);
        let r = desk
            .decide(approval, &tag(), 0, Decision::Approve, "", now)
            .unwrap();
        assert!(
            matches!(&r, Decided::AlreadyDecided(ApprovalState::Approved { by, .. }) if by == "an administrator"),
            "{r:?}"
        );
        // Nothing is released twice.
        let releases = queued_kinds(&k)
            .into_iter()
            .filter(|q| matches!(q, QueueKind::Release { .. }))
            .count();
        assert_eq!(releases, 1);
    }

    #[test]
    fn a_lapsed_approval_is_returned_by_the_sweep() {
        let dir = tempfile::tempdir().unwrap();
        let k = keeper(dir.path());
        let (held, approval) = held_for_approval(&k);
        let desk = StoreDesk::new(k.clone(), 3600);
        let now = k.clock().now();
        // Deciding after the expiry is refused even before the sweep ran.
        let late = now + 3 * 86_400;
        assert_eq!(
            desk.decide(approval, &tag(), 0, Decision::Approve, "", late)
                .unwrap(),
            Decided::Expired
        );
        // The sweep reads the real clock: nothing is due yet.
        assert_eq!(desk.sweep().unwrap(), 0);
        let store = k.store().unwrap().clone();
        store
            .write_blocking(move |txn| {
                expire_txn(
                    txn,
                    crate::store::records::ApprovalId(approval),
                    late,
                    &crate::notify::Settings::defaults("gw"),
                )
            })
            .unwrap();
        let h = store.read(|txn| held::must_get(txn, held.id)).unwrap();
        assert_eq!(h.status, HeldStatus::Expired);
        assert!(queued_kinds(&k).contains(&QueueKind::Notice {
            what: "expired".into()
        }));
    }

    #[test]
    fn a_link_made_for_another_message_finds_nothing_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let k = keeper(dir.path());
        let (held, approval) = held_for_approval(&k);
        let desk = StoreDesk::new(k.clone(), 3600);
        let other = token::message_tag("G-2");
        assert_eq!(desk.summary(approval, &other), Err(DeskError::NotFound));
        let now = k.clock().now();
        assert_eq!(
            desk.decide(approval, &other, 0, Decision::Approve, "", now),
            Err(DeskError::NotFound)
        );
        assert_eq!(
            desk.summary(approval, &tag()).unwrap().state,
            ApprovalState::Pending
        );
        let status = k
            .store()
            .unwrap()
            .read(|txn| held::must_get(txn, held.id))
            .unwrap()
            .status;
        assert_eq!(status, HeldStatus::AwaitingApproval);
    }

    #[test]
    fn the_comment_is_cleaned_and_written_to_every_incidents_history() {
        let dir = tempfile::tempdir().unwrap();
        let k = keeper(dir.path());
        let (held, approval) = held_for_approval(&k);
        let desk = StoreDesk::new(k.clone(), 3600);
        let now = k.clock().now();
        desk.decide(
            approval,
            &tag(),
            0,
            Decision::Reject,
            "not\r\nto partners\u{7}",
            now,
        )
        .unwrap();
        let store = k.store().unwrap();
        let h = store.read(|txn| held::must_get(txn, held.id)).unwrap();
        for inc in h.incidents {
            let history = store.read(|txn| incidents::history(txn, inc)).unwrap();
            let comment = history.iter().find(|e| e.action == "comment").unwrap();
            assert_eq!(comment.result, "approver's comment: not  to partners");
            assert_eq!(comment.actor, "boss@corp.example");
        }
    }

    #[test]
    fn the_summary_carries_a_preview_unless_it_is_turned_off() {
        let dir = tempfile::tempdir().unwrap();
        let k = keeper(dir.path());
        let (_, approval) = held_for_approval(&k);
        let desk = StoreDesk::new(k.clone(), 3600);
        let preview = desk.summary(approval, &tag()).unwrap().preview.unwrap();
        assert_eq!(preview.text, "body");
        let store = k.store().unwrap().clone();
        drop(desk);
        drop(k);
        let mut config = Config::embedded().unwrap();
        config.store.approval_preview = false;
        let off = Arc::new(Keeper::with_store(store, &config, Arc::new(Clock::real())));
        let desk = StoreDesk::new(off, 3600);
        assert_eq!(desk.summary(approval, &tag()).unwrap().preview, None);
    }
}
