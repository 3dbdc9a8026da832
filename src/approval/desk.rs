//! The approval desk over the store: what an approver sees, and the one write that records a
//! decision with all it entails (approve: release to the original recipients and tell the sender;
//! reject: delete and tell the sender; both: incident status and history). Also the expiry sweep:
//! no decision within `approval.expiry` returns the message to its sender with the reason.

use std::sync::Arc;
use std::time::Duration;

use heed::RwTxn;

use super::{ApprovalDesk, ApprovalState, ApprovalSummary, Decided, Decision, DeskError};
use crate::hold::Keeper;
use crate::hold::notices::{self, Notice};
use crate::notify::{Disposition, Kind};
use crate::remediate::{self, Release, Step};
use crate::store::records::{self, Approval, Held, HeldStatus, HistoryEntry, IncidentStatus};
use crate::store::{Dbs, Store, StoreError, approvals, events, held, incidents, stats};

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
        let due = store.read(|dbs, txn| approvals::expired(dbs, txn, now, SWEEP_BATCH))?;
        let mut done = 0;
        for id in due {
            let settings = self.keeper.notify_settings().clone();
            let result =
                store.write_blocking(move |dbs, txn| expire_txn(dbs, txn, id, now, &settings));
            match result {
                Ok(()) => done += 1,
                Err(StoreError::Refused(_)) => {}
                Err(e) => tracing::warn!(approval = id, error = %e, "approval expiry failed"),
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
    fn summary(&self, approval: u64) -> Result<ApprovalSummary, DeskError> {
        let (a, h) = self
            .store()?
            .read(|dbs, txn| {
                let a = approvals::get(dbs, txn, approval)?
                    .ok_or_else(|| StoreError::NotFound(format!("approval {approval}")))?;
                let h = held::must_get(dbs, txn, a.held)?;
                Ok((a, h))
            })
            .map_err(unavailable)?;
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
        })
    }

    fn decide(
        &self,
        approval: u64,
        approver: u32,
        decision: Decision,
        now: u64,
    ) -> Result<Decided, DeskError> {
        let store = self.store()?.clone();
        let settings = self.keeper.notify_settings().clone();
        let give_up = self.give_up;
        let outcome = store
            .write_blocking(move |dbs, txn| {
                decide_txn(
                    dbs, txn, approval, approver, decision, now, give_up, &settings,
                )
            })
            .map_err(unavailable)?;
        if matches!(outcome, Decided::Done(_)) {
            self.keeper.wake_delivery();
            tracing::info!(approval, ?decision, "approval decided");
        }
        Ok(outcome)
    }
}

/// The whole decision in one write.
#[allow(clippy::too_many_arguments)]
fn decide_txn(
    dbs: &Dbs,
    txn: &mut RwTxn<'_>,
    id: u64,
    approver: u32,
    decision: Decision,
    now: u64,
    give_up: u64,
    settings: &crate::notify::Settings,
) -> Result<Decided, StoreError> {
    let a = approvals::get(dbs, txn, id)?
        .ok_or_else(|| StoreError::NotFound(format!("approval {id}")))?;
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
    let h = held::must_get(dbs, txn, a.held)?;
    let original = held::content(dbs, txn, h.id)?;
    match decision {
        Decision::Approve => {
            let state = records::ApprovalState::Approved {
                by: by.clone(),
                at: now,
            };
            approvals::decide(dbs, txn, id, state.clone())?;
            let options = Release { tag: None, give_up };
            match remediate::release_txn(dbs, txn, h.id, None, &by, now, &options)? {
                Step::Done(_) => {}
                Step::Stop(e) => return Err(e),
            }
            tell_sender(
                dbs,
                txn,
                settings,
                &h,
                Kind::Approved,
                Disposition::Approved,
                original.as_deref(),
                now,
            )?;
            events::append(
                dbs,
                txn,
                now,
                "approval.approved",
                vec![
                    ("approval".into(), id.to_string()),
                    ("held".into(), h.id.to_string()),
                ],
            )?;
            stats::bump(dbs, txn, now, "approved", 1)?;
            Ok(Decided::Done(state_of(&state)))
        }
        Decision::Reject => {
            let state = records::ApprovalState::Rejected {
                by: by.clone(),
                at: now,
            };
            approvals::decide(dbs, txn, id, state.clone())?;
            close(
                dbs,
                txn,
                &h,
                HeldStatus::Rejected,
                IncidentStatus::Rejected,
                &by,
                "reject",
                format!("rejected by {by}; message deleted"),
                now,
            )?;
            tell_sender(
                dbs,
                txn,
                settings,
                &h,
                Kind::Rejected,
                Disposition::Rejected,
                original.as_deref(),
                now,
            )?;
            events::append(
                dbs,
                txn,
                now,
                "approval.rejected",
                vec![
                    ("approval".into(), id.to_string()),
                    ("held".into(), h.id.to_string()),
                ],
            )?;
            stats::bump(dbs, txn, now, "rejected", 1)?;
            Ok(Decided::Done(state_of(&state)))
        }
    }
}

/// A lapsed approval: the message goes back to its sender with the reason, and is removed.
fn expire_txn(
    dbs: &Dbs,
    txn: &mut RwTxn<'_>,
    id: u64,
    now: u64,
    settings: &crate::notify::Settings,
) -> Result<(), StoreError> {
    let a: Approval = approvals::decide(dbs, txn, id, records::ApprovalState::Expired { at: now })?;
    let h = held::must_get(dbs, txn, a.held)?;
    if !h.status.is_open() {
        return Ok(());
    }
    let original = held::content(dbs, txn, h.id)?;
    close(
        dbs,
        txn,
        &h,
        HeldStatus::Expired,
        IncidentStatus::Expired,
        "sluice",
        "expire",
        "no decision was made in time; returned to the sender".into(),
        now,
    )?;
    tell_sender(
        dbs,
        txn,
        settings,
        &h,
        Kind::Expired,
        Disposition::Expired,
        original.as_deref(),
        now,
    )?;
    events::append(
        dbs,
        txn,
        now,
        "approval.expired",
        vec![
            ("approval".into(), id.to_string()),
            ("held".into(), h.id.to_string()),
        ],
    )?;
    stats::bump(dbs, txn, now, "approval_expired", 1)
}

/// Ends a held message without delivering it: status, content dropped, incidents and history.
#[allow(clippy::too_many_arguments)]
fn close(
    dbs: &Dbs,
    txn: &mut RwTxn<'_>,
    h: &Held,
    status: HeldStatus,
    incident: IncidentStatus,
    actor: &str,
    action: &str,
    result: String,
    now: u64,
) -> Result<(), StoreError> {
    let mut new = h.clone();
    new.status = status;
    for r in &mut new.recipients {
        if r.status.is_open() {
            r.status = status;
        }
    }
    held::update(dbs, txn, h, &new)?;
    held::drop_content(dbs, txn, &new)?;
    let entry = HistoryEntry {
        at: now,
        actor: actor.to_string(),
        action: action.to_string(),
        result,
    };
    for &inc in &h.incidents {
        if incidents::get(dbs, txn, inc)?.is_some() {
            incidents::set_status(dbs, txn, inc, Some(incident), &entry)?;
        }
    }
    Ok(())
}

/// Queues the sender's notice about the decision (never to the null sender).
#[allow(clippy::too_many_arguments)]
fn tell_sender(
    dbs: &Dbs,
    txn: &mut RwTxn<'_>,
    settings: &crate::notify::Settings,
    h: &Held,
    kind: Kind,
    disposition: Disposition,
    original: Option<&[u8]>,
    now: u64,
) -> Result<(), StoreError> {
    let mut facts = notices::facts_of_held(h, Some(disposition));
    if kind == Kind::Expired {
        facts.reason =
            "The message has been returned to the sender because no decision was made".into();
    }
    if h.sender.is_empty() || !settings.wanted(kind, &facts) {
        return Ok(());
    }
    let to = vec![h.sender.clone()];
    let bytes = settings.notice(kind, &facts, &to, uuid::Uuid::new_v4(), now, original);
    notices::enqueue(dbs, txn, &Notice { kind, to, bytes }, &h.peer, now)?;
    Ok(())
}
