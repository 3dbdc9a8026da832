//! The operator's actions on queued messages ([`QueueAction`]): one store write per message that
//! does the change (`store::intake` / `store::queue`), appends the audit entry (`queue.hold`,
//! `queue.release`, ...; a refusal is audited as `failed: <why>`) and, when done, the event
//! (`queue.on_hold`, `queue.released`, `queue.deleted`, `queue.retried`, `queue.forwarded`, with
//! the operator as `user.name`; never content).
//!
//! An action that does not apply to a message's stage (releasing one not on hold) is a skipped
//! [`QueueOutcome`], not an error. A forward queues an uninspected copy for one address (the null
//! sender, so a failure never reaches the original sender; an optional new Subject); the
//! original stays where it is. A copy of a gateway message goes by route like the original.

use serde::{Deserialize, Serialize};

use crate::events::{Field, Fields, Kind as EventKind};
use crate::store::intake::{self, IntakeId, Stage};
use crate::store::kv::WriteTxn;
use crate::store::records::{Direction, QueueId, QueueKind, Queued};
use crate::store::{self, audit, events, queue};

use super::super::{Caller, Error, Result, Service};
use super::{QueueRef, QueueRow, custody_row, entry_row};

/// Longest subject a forward may set (characters).
pub const MAX_SUBJECT: usize = 900;

/// What an operator does to queued messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum QueueAction {
    /// Inspect -> hold (not inspected again until released); deliver/deferred -> hold (not
    /// delivered until released).
    Hold,
    /// From hold. A suspect message in custody goes back to inspection, or with `unscanned` is
    /// delivered uninspected; a held delivery entry is due now again.
    Release {
        #[serde(default)]
        unscanned: bool,
    },
    /// Gone: never delivered, no bounce.
    Delete,
    /// Due now: a delivery entry (deliver, deferred) or a message waiting for inspection.
    Retry,
    /// An uninspected copy to one address, optionally with a new Subject; the original stays.
    Forward {
        to: String,
        #[serde(default)]
        subject: Option<String>,
    },
}

impl QueueAction {
    /// The command word (`release`); the audit action is `queue.` and this.
    pub fn name(&self) -> &'static str {
        match self {
            QueueAction::Hold => "hold",
            QueueAction::Release { .. } => "release",
            QueueAction::Delete => "delete",
            QueueAction::Retry => "retry",
            QueueAction::Forward { .. } => "forward",
        }
    }

    /// The past tense for summaries (`released`).
    pub fn verb(&self) -> &'static str {
        match self {
            QueueAction::Hold => "put on hold",
            QueueAction::Release { .. } => "released",
            QueueAction::Delete => "deleted",
            QueueAction::Retry => "retried",
            QueueAction::Forward { .. } => "forwarded",
        }
    }

    fn event(&self) -> EventKind {
        match self {
            QueueAction::Hold => EventKind::QueueOnHold,
            QueueAction::Release { .. } => EventKind::QueueReleased,
            QueueAction::Delete => EventKind::QueueDeleted,
            QueueAction::Retry => EventKind::QueueRetried,
            QueueAction::Forward { .. } => EventKind::QueueForwarded,
        }
    }

    /// Checks a forward's address and subject ([`Error::Invalid`]).
    pub fn check(&self) -> Result<()> {
        if let QueueAction::Forward { to, subject } = self {
            crate::remediate::check_addresses(std::slice::from_ref(to))
                .map_err(|_| Error::Invalid(format!("to {to:?}: not an email address")))?;
            if let Some(s) = subject {
                let n = s.chars().count();
                if n == 0 || n > MAX_SUBJECT || s.chars().any(char::is_control) {
                    return Err(Error::Invalid(format!(
                        "subject: 1 to {MAX_SUBJECT} characters on one line"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueOutcome {
    pub id: QueueRef,
    /// The action was carried out (else skipped, or the message is gone).
    pub done: bool,
    /// The new stage (`hold`, `inspect`, `deliver as q12`, `deleted`, ...) or why it was skipped.
    pub detail: String,
}

/// The result of an action in its write: done or not, what to say, the message as it was.
struct Step {
    done: bool,
    detail: String,
    row: Option<QueueRow>,
    /// The copy a forward queued.
    copy: Option<QueueId>,
}

impl Step {
    fn skip(row: QueueRow, why: &str) -> Step {
        Step {
            done: false,
            detail: why.to_string(),
            row: Some(row),
            copy: None,
        }
    }

    fn done(row: QueueRow, detail: String) -> Step {
        Step {
            done: true,
            detail,
            row: Some(row),
            copy: None,
        }
    }
}

/// What a forward needs besides the message (taken from the configuration before the write).
#[derive(Clone)]
struct Forward {
    to: String,
    subject: Option<String>,
    /// The recipient's domain is one of the gateway's own.
    local: bool,
    give_up: u64,
}

/// Everything an action's write needs.
struct Ctx {
    action: QueueAction,
    actor: String,
    now: u64,
    give_up: u64,
    forward: Option<Forward>,
}

impl Service {
    /// Carries out `action` on each id in turn, one audited write each; an action that does not
    /// apply to an id's stage (or an id that is gone) is an outcome with `done: false`. Fails
    /// only when the action itself is invalid or the store fails.
    pub fn queue_act(
        &self,
        action: &QueueAction,
        ids: &[QueueRef],
        caller: &Caller,
    ) -> Result<Vec<QueueOutcome>> {
        action.check()?;
        let give_up = self.config.queue.give_up.as_secs();
        let forward = match action {
            QueueAction::Forward { to, subject } => Some(Forward {
                to: to.trim().to_string(),
                subject: subject.clone(),
                local: self
                    .config
                    .gateway
                    .routes
                    .is_local(to.rsplit_once('@').map_or("", |(_, d)| d)),
                give_up,
            }),
            _ => None,
        };
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            let ctx = Ctx {
                action: action.clone(),
                actor: caller.actor.clone(),
                now: self.now(),
                give_up,
                forward: forward.clone(),
            };
            let caller = caller.clone();
            out.push(
                self.store
                    .write_blocking(move |txn| act_one(txn, &ctx, id, &caller))?,
            );
        }
        Ok(out)
    }
}

/// One message: the action, its audit entry and (done) its event, in the caller's write.
fn act_one(
    txn: &mut dyn WriteTxn,
    ctx: &Ctx,
    id: QueueRef,
    caller: &Caller,
) -> store::Result<QueueOutcome> {
    let step = match id {
        QueueRef::Custody(i) => on_custody(txn, ctx, i)?,
        QueueRef::Delivery(q) => on_entry(txn, ctx, q)?,
    };
    let mut entry = caller.entry(
        ctx.now,
        &format!("queue.{}", ctx.action.name()),
        &id.to_string(),
    );
    entry.before = step.row.as_ref().map(|r| r.stage.name().to_string());
    if step.done {
        entry.after = Some(step.detail.clone());
    } else {
        entry.outcome = format!("failed: {}", step.detail);
    }
    audit::append(txn, &entry)?;
    if let (true, Some(row)) = (step.done, &step.row) {
        let mut fields = Fields::new()
            .with(Field::UserName, &ctx.actor)
            .with(Field::Remediation, ctx.action.name())
            .with(Field::EmailFromAddress, &row.sender)
            .with_each(Field::EmailToAddress, row.recipients.iter().cloned())
            .with(Field::EventReason, format!("{id}: {}", step.detail));
        if let Some(g) = &row.guid {
            fields = fields.with(Field::EmailLocalId, g);
        }
        if let Some(d) = &row.direction {
            fields = fields.with(Field::EmailDirection, d);
        }
        if let Some(q) = step.copy.or(match id {
            QueueRef::Delivery(q) => Some(q),
            QueueRef::Custody(_) => None,
        }) {
            fields = fields.with(Field::QueueId, q);
        }
        events::append(txn, ctx.now, ctx.action.event(), fields)?;
    }
    Ok(QueueOutcome {
        id,
        done: step.done,
        detail: step.detail,
    })
}

fn gone() -> Step {
    Step {
        done: false,
        detail: "not found".into(),
        row: None,
        copy: None,
    }
}

/// An action on a message in custody.
fn on_custody(txn: &mut dyn WriteTxn, ctx: &Ctx, id: IntakeId) -> store::Result<Step> {
    let Some(c) = intake::get(txn, id)? else {
        return Ok(gone());
    };
    let row = custody_row(&c);
    let held = c.stage == Stage::Suspect;
    Ok(match &ctx.action {
        QueueAction::Hold if held => Step::skip(row, "already on hold"),
        QueueAction::Hold => {
            intake::hold(txn, id, &format!("held by {}", ctx.actor))?;
            Step::done(row, "hold".into())
        }
        QueueAction::Release { .. } if !held => Step::skip(row, "not on hold"),
        QueueAction::Release { unscanned: false } => {
            intake::reprocess(txn, id, ctx.now)?;
            Step::done(row, "inspect (back to inspection)".into())
        }
        QueueAction::Release { unscanned: true } => {
            let q = intake::release(txn, id, ctx.now, ctx.give_up)?;
            Step::done(row, format!("deliver as q{q}, uninspected"))
        }
        QueueAction::Delete => {
            intake::remove(txn, id)?;
            Step::done(row, "deleted".into())
        }
        QueueAction::Retry if held => Step::skip(row, "on hold: release it instead"),
        QueueAction::Retry => {
            intake::retry(txn, id, ctx.now)?;
            Step::done(row, "inspect, due now".into())
        }
        QueueAction::Forward { .. } => {
            let content = intake::message(txn, id)?.unwrap_or_default();
            let peer = c.peer.rsplit_once(':').map_or(c.peer.clone(), |(ip, _)| {
                ip.trim_matches(['[', ']']).to_string()
            });
            forward(txn, ctx, row, content, Some(&c.listener), &peer)?
        }
    })
}

/// An action on a delivery queue entry.
fn on_entry(txn: &mut dyn WriteTxn, ctx: &Ctx, id: QueueId) -> store::Result<Step> {
    let Some(e) = queue::get(txn, id)? else {
        return Ok(gone());
    };
    let row = entry_row(&e, queue::size(txn, id)?.unwrap_or(0));
    Ok(match &ctx.action {
        QueueAction::Hold if e.held => Step::skip(row, "already on hold"),
        QueueAction::Hold => {
            queue::hold(txn, id)?;
            Step::done(row, "hold".into())
        }
        QueueAction::Release { .. } if !e.held => Step::skip(row, "not on hold"),
        QueueAction::Release { .. } => {
            let after = queue::unhold(txn, id, ctx.now)?;
            let stage = after
                .as_ref()
                .map_or("deliver", |e| crate::store::backlog::stage_of(e).name());
            Step::done(row, format!("{stage}, due now"))
        }
        QueueAction::Delete => {
            queue::remove(txn, id)?;
            Step::done(row, "deleted, never delivered".into())
        }
        QueueAction::Retry if e.held => Step::skip(row, "on hold: release it instead"),
        QueueAction::Retry => {
            queue::retry(txn, id, ctx.now)?;
            let stage = row.stage.name();
            Step::done(row, format!("{stage}, due now"))
        }
        QueueAction::Forward { .. } => {
            let content = queue::content(txn, id)?.unwrap_or_default();
            let listener = match &e.kind {
                QueueKind::Gateway { listener, .. } => Some(listener.as_str()),
                _ => None,
            };
            forward(txn, ctx, row, content, listener, &e.peer)?
        }
    })
}

/// Queues the forward's copy of `content` (a gateway message's by route, from `listener`).
fn forward(
    txn: &mut dyn WriteTxn,
    ctx: &Ctx,
    row: QueueRow,
    content: Vec<u8>,
    listener: Option<&str>,
    peer: &str,
) -> store::Result<Step> {
    let Some(f) = &ctx.forward else {
        return Ok(Step::skip(row, "no address to forward to"));
    };
    let content = match &f.subject {
        Some(s) => crate::message::header::set_subject(content, s),
        None => content,
    };
    let kind = match listener {
        Some(l) => QueueKind::Gateway {
            guid: uuid::Uuid::new_v4().to_string(),
            direction: if f.local {
                Direction::Inbound
            } else {
                Direction::Outbound
            },
            listener: l.to_string(),
            // A copy an operator sent: no custody's 250 to time its delivery from.
            received: None,
        },
        None => QueueKind::Notice {
            what: "forward".into(),
        },
    };
    let copy = Queued::own(kind, std::slice::from_ref(&f.to), peer, ctx.now, f.give_up);
    let q = queue::insert(txn, copy, &content)?;
    let stays = row.stage.name();
    let mut step = Step::done(row, format!("copy to {} as q{q}; stays in {stays}", f.to));
    step.copy = Some(q);
    Ok(step)
}
