//! What a verdict does to a message in the gateway's custody, in one store write each: a pass,
//! modify or redirect moves it to the delivery queue (as `QueueKind::Gateway`, with the policies'
//! edits and the `Received:` field on top); a quarantine or approval moves it to the held messages
//! (`hold::Keeper::hold_from`); a block removes it, and when the block comes after the client's
//! 250 (`late`) queues an RFC 3464 failure report to the sender (`gateway.late_block = "bounce"`,
//! never to the null sender) in the same write. Every move checks that the message is still in
//! custody, so two attempts never both move it.

use crate::config::gateway::LateBlock;
use crate::events::{Fields, Kind as EventKind};
use crate::hold::{Facts, Keeper};
use crate::message::MessageId;
use crate::message::header::{self, Field};
use crate::notify::{Disposition, dsn};
use crate::pipeline::track::Status;
use crate::pipeline::{Inspection, Inspector, Outcome};
use crate::policy::{Decision, Verdict};
use crate::smtp::Reply;
use crate::store::intake::{self, Custody};
use crate::store::records::{HeldId, QueueId, QueueKind, Queued};
use crate::store::{StoreError, queue};

use super::intake::Settings;

/// What became of the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// Queued for delivery; `status` says how (accepted as it came, modified, or redirected).
    Queued { queue: QueueId, status: Status },
    /// In the quarantine, or awaiting approval.
    Held { held: HeldId, approval: bool },
    /// Blocked by a policy and removed; `reply` is the policy's (the client's, inline), and
    /// `bounce` the failure report queued to the sender (late blocks only).
    Blocked {
        reply: Reply,
        bounce: Option<QueueId>,
    },
}

/// The parts of a configuration set a settlement uses.
pub struct Parts<'a> {
    pub keeper: &'a Keeper,
    pub inspector: &'a Inspector,
    pub settings: &'a Settings,
    /// `server.hostname`, for the failure report's Reporting-MTA.
    pub hostname: &'a str,
}

/// The facts recorded with the message's incidents and events (the direction as the gateway
/// found it).
pub fn facts(c: &Custody, content: &[u8]) -> Facts {
    let envelope = super::intake::envelope(c);
    let origin = super::intake::origin(c);
    let id = message_id(c);
    let mut f = Facts::of(id, &origin, &envelope, content, &[]);
    f.direction = c.direction;
    f
}

/// The message as a delivering verdict sends it: with the policies' body edits (not in trial
/// mode) and the `[[disclaimer]]` rules' (`rewrite::plan`); `None` when unchanged, and for mail
/// a verdict blocks or holds. An edit a policy asks for that cannot be made is an error (the
/// message is not delivered without it).
fn rewritten(
    parts: &Parts<'_>,
    c: &Custody,
    content: &[u8],
    inspection: &Inspection,
) -> Result<Option<crate::rewrite::Rewritten>, StoreError> {
    let policy: &[crate::rewrite::Edit] = match inspection {
        Inspection::Done(v) if v.violated() && !parts.inspector.trial_mode() => match &v.decision {
            Decision::Relay { body, .. } => body,
            Decision::Pass => &[],
            Decision::Block { .. } | Decision::Hold { .. } => return Ok(None),
        },
        _ => &[],
    };
    let sender = super::intake::envelope(c).sender;
    let edits = crate::rewrite::plan(&parts.settings.disclaimers, c.direction, &sender, policy);
    let done =
        crate::rewrite::apply(content, &edits).map_err(|e| StoreError::Refused(e.to_string()))?;
    if let Some(r) = &done {
        tracing::info!(id = %message_id(c), done = %r.describe(), size = r.message.len(), "message rewritten");
    }
    Ok(done)
}

pub fn message_id(c: &Custody) -> MessageId {
    MessageId(uuid::Uuid::parse_str(&c.guid).unwrap_or_else(|_| uuid::Uuid::nil()))
}

/// What a verdict will do, decided (pure, no write yet): [`carry`] makes it so.
pub enum Plan {
    /// Remove the message; `bounce` is the failure report to queue in the same write.
    Refuse {
        reply: Reply,
        bounce: Option<Box<(Queued, Vec<u8>)>>,
    },
    /// Move it to the delivery queue as `out` (edited, with the `Received:` field on top).
    Relay {
        out: Vec<u8>,
        redirect_to: Option<Vec<String>>,
        status: Status,
    },
    /// Move it to the held messages as `message`.
    Hold {
        message: Vec<u8>,
        approvers: Vec<String>,
    },
}

impl Plan {
    /// The message goes on to delivery: its client's reply is the custody's 250 whatever the
    /// move's write does (custody is durable: a move that fails or never commits leaves the
    /// message where the inspection worker takes it again).
    pub fn delivers(&self) -> bool {
        matches!(self, Plan::Relay { .. })
    }
}

/// Carries out `inspection` on the message `c` (content as the client sent it). `held_event`
/// is the `message.quarantined` event's fields, written in the hold's commit. `late`: the verdict
/// comes after the client's 250.
pub async fn settle(
    parts: &Parts<'_>,
    c: &Custody,
    content: &[u8],
    inspection: &Inspection,
    late: bool,
    held_event: Fields,
) -> Result<Settled, StoreError> {
    let plan = plan(parts, c, content, inspection, late)?;
    carry(parts, c, content, inspection, plan, held_event).await
}

/// Decides what `inspection` does to the message `c` (content as the client sent it): the
/// policies' and disclaimers' edits made, the reply or the failure report built; nothing written.
pub fn plan(
    parts: &Parts<'_>,
    c: &Custody,
    content: &[u8],
    inspection: &Inspection,
    late: bool,
) -> Result<Plan, StoreError> {
    let now = parts.keeper.clock().now();
    let trace =
        Field::folded("Received", c.trace.clone()).unwrap_or_else(|_| Field::received_by_sluice());
    let rewritten = rewritten(parts, c, content, inspection)?;
    let content: &[u8] = rewritten.as_ref().map_or(content, |r| &r.message);
    let (head, body) = content.split_at(header::header_end(content));
    Ok(
        match parts
            .inspector
            .decide(message_id(c), head.to_vec(), inspection, Some(trace))
        {
            Outcome::Refuse { reply, .. } => {
                let bounce = match (late, parts.settings.custody.late_block) {
                    (true, LateBlock::Bounce) => {
                        bounce(parts, c, &reply, content, now).map(Box::new)
                    }
                    _ => None,
                };
                Plan::Refuse { reply, bounce }
            }
            Outcome::Relay {
                message,
                redirect_to,
            } => {
                let status = match (&redirect_to, inspection) {
                    (Some(_), _) => Status::Redirected,
                    (None, Inspection::Done(v))
                        if v.violated()
                            && !parts.inspector.trial_mode()
                            && matches!(v.decision, Decision::Relay { .. }) =>
                    {
                        Status::Modified
                    }
                    _ => Status::Accepted,
                };
                let mut out = message;
                out.extend_from_slice(body);
                Plan::Relay {
                    out,
                    redirect_to,
                    status,
                }
            }
            Outcome::Hold { message, approvers } => {
                let mut message = message;
                message.extend_from_slice(body);
                Plan::Hold { message, approvers }
            }
        },
    )
}

/// Makes `plan` so, in one store write (the hold's through the keeper). `content` is the message
/// as the client sent it (the hold's facts are taken from it).
pub async fn carry(
    parts: &Parts<'_>,
    c: &Custody,
    content: &[u8],
    inspection: &Inspection,
    plan: Plan,
    held_event: Fields,
) -> Result<Settled, StoreError> {
    let store = parts.keeper.store()?.clone();
    let now = parts.keeper.clock().now();
    let give_up = parts.settings.give_up.as_secs();
    let id = c.id;
    match plan {
        Plan::Refuse { reply, bounce } => {
            let queued = store
                .write(move |txn| {
                    intake::remove(txn, id)?
                        .ok_or_else(|| StoreError::NotFound(format!("message in custody {id}")))?;
                    bounce.map(|b| queue::insert(txn, b.0, &b.1)).transpose()
                })
                .await?;
            if queued.is_some() {
                parts.keeper.wake_delivery();
            }
            Ok(Settled::Blocked {
                reply,
                bounce: queued,
            })
        }
        Plan::Relay {
            out,
            redirect_to,
            status,
        } => {
            let queue = store
                .write(move |txn| {
                    intake::deliver(txn, id, redirect_to.as_deref(), &out, now, give_up)
                })
                .await?;
            parts.keeper.wake_delivery();
            Ok(Settled::Queued { queue, status })
        }
        Plan::Hold { message, approvers } => {
            let Inspection::Done(verdict) = inspection else {
                return Err(StoreError::Refused("a hold without a verdict".into()));
            };
            let facts = facts(c, content);
            let held = parts
                .keeper
                .hold_from(facts, verdict, message, &approvers, held_event, Some(id))
                .await?;
            let approval = matches!(held.hold, crate::store::records::Hold::Approval { .. });
            Ok(Settled::Held {
                held: held.id,
                approval,
            })
        }
    }
}

/// The failure report (RFC 3464, `notify::dsn`) to the sender of a message blocked after its 250
/// (none for the null sender), and the queue entry that carries it (with the null sender).
fn bounce(
    parts: &Parts<'_>,
    c: &Custody,
    reply: &Reply,
    content: &[u8],
    now: u64,
) -> Option<(Queued, Vec<u8>)> {
    if c.sender.is_empty() {
        return None;
    }
    let text = format!(
        "{} {}",
        reply.code,
        reply.lines.first().map(String::as_str).unwrap_or_default()
    );
    let envelope = super::intake::envelope(c);
    let attempts: Vec<dsn::Attempt> = envelope
        .recipients
        .iter()
        .map(|r| dsn::Attempt {
            recipient: r.clone(),
            remote_mta: None,
            reply: Some(text.clone()),
            last_attempt: Some(now),
        })
        .collect();
    let report = dsn::Report {
        id: uuid::Uuid::new_v4(),
        hostname: parts.hostname,
        now,
        envelope: &envelope,
        arrival: c.received,
        attempts: &attempts,
        original: content,
    };
    let bytes = dsn::failure(&report)?;
    let carrier = Queued::own(
        QueueKind::Notice {
            what: "dsn.failure".into(),
        },
        std::slice::from_ref(&c.sender),
        &super::intake::origin(c).peer.ip().to_string(),
        now,
        parts.settings.give_up.as_secs(),
    );
    Some((carrier, bytes))
}

/// What a violation notice says happened, for an outcome that stands (as the in-line proxy's).
pub fn disposition(verdict: &Verdict, settled: &Settled, trial: bool) -> Option<Disposition> {
    if trial {
        return Some(Disposition::Monitored);
    }
    match (&verdict.decision, settled) {
        (Decision::Block { .. }, Settled::Blocked { .. }) => Some(Disposition::Blocked),
        (Decision::Pass, Settled::Queued { .. }) => Some(Disposition::Monitored),
        (Decision::Relay { redirect_to, .. }, Settled::Queued { .. })
            if !redirect_to.is_empty() =>
        {
            Some(Disposition::Redirected)
        }
        (Decision::Relay { .. }, Settled::Queued { .. }) => Some(Disposition::DeliveredModified),
        _ => None,
    }
}

/// Records the incidents of a message that was queued or blocked (held messages' incidents are
/// in the hold's commit), with `event` (the message's `message.*` event) in the same write, in
/// the background (`tasks`). False when there was nothing to record (the event is the caller's).
pub fn record(
    parts: &Parts<'_>,
    tasks: &crate::task::Group,
    c: &Custody,
    content: &[u8],
    inspection: &Inspection,
    settled: &Settled,
    event: Option<(EventKind, Fields)>,
) -> bool {
    let Inspection::Done(verdict) = inspection else {
        return false;
    };
    if !verdict.violated() || matches!(settled, Settled::Held { .. }) {
        return false;
    }
    let action = match settled {
        Settled::Blocked {
            bounce: Some(_), ..
        } => "blocked after acceptance (bounced)".into(),
        Settled::Blocked { reply, .. } => format!("blocked ({})", reply.code),
        Settled::Queued { status, .. } => format!("queued ({})", status.name()),
        Settled::Held { .. } => return false,
    };
    let trial = parts.inspector.trial_mode();
    let notify = disposition(verdict, settled, trial).map(|d| (d, content));
    match parts
        .keeper
        .record(facts(c, content), verdict, action, notify, event)
    {
        Some(work) => {
            tasks.spawn(work);
            true
        }
        None => false,
    }
}
