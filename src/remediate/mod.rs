//! Remediation of held messages and incidents: release (optionally with a tag header), forward a copy,
//! delete, rescan, and the status changes of incidents (resolve, dismiss, note). Logic over the store;
//! no sockets, no clock (`now` comes in), no logging of content.
//!
//! Every action is ONE store write: it checks the message's state and changes the held record, its
//! incidents, their history, the delivery queue, the event outbox and the statistics together, so a
//! crash leaves either all of it or none. A request that cannot be honoured still leaves its trace: the
//! write that finds the message already released (or deleted, expired, rejected) appends "refused:
//! already released" to the history of its incidents and commits that, then the caller gets
//! [`StoreError::Refused`]; an incident whose message is gone gets "message cannot be found" and the
//! caller [`StoreError::NotFound`]; a store failure is answered with the error and, best effort, a
//! second write recording "could not be remediated".
//!
//! What this module does not do: deliver (the `delivery` queue worker sends what a release enqueued),
//! render notices, or decide which policies apply (rescan asks `scan::Scanner`).

mod bulk;
pub mod mark;
mod rescan;

#[cfg(test)]
mod tests;

use crate::message::header::Field;

use crate::events::{Field as EventField, Fields, Kind as EventKind};
use crate::hold::fields::held as held_fields;
use crate::scan::Scanner;
use crate::store::records::{
    Held, HeldId, HeldStatus, HistoryEntry, IncidentId, IncidentStatus, QueueId, QueueKind, Queued,
    QueuedRecipient, RcptState,
};
use crate::store::{
    Result, Store, StoreError, WriteTxn, events, held, incidents, lifecycle, queue, schema, stats,
};

pub use bulk::{Bulk, Item, Outcome, Progress, Target, Totals, apply, bulk, matching};
pub use rescan::{Rescanned, rescan};

/// Longest note an administrator can add to an incident's history (characters).
pub const MAX_NOTE: usize = 4096;

/// Most addresses one forward sends a copy to.
pub const MAX_FORWARD: usize = 100;

/// Longest tag header (name and value together, bytes); a header line must stay under 998.
pub const MAX_TAG: usize = 900;

/// The store secret that keys release marks ([`mark`]).
pub const MARK_SECRET: &str = "release";

/// The release-mark key of this store (generated on first use), for the pipeline to
/// [`mark::verify`] a released message coming back. Read it once at start-up: it never changes.
pub async fn mark_key(store: &Store) -> Result<[u8; 32]> {
    store.write(|txn| schema::secret(txn, MARK_SECRET)).await
}

/// For `pipeline::Inspector::with_released`: true when a message carries a release mark that is
/// valid for this store (any `X-Sluice-Release` field; a forged or foreign one is ignored). Reads the
/// held record the mark names; a store error counts as "not released" (the message is inspected).
pub fn recogniser(store: Store, key: [u8; 32]) -> impl Fn(&[u8]) -> bool + Send + Sync + 'static {
    move |message: &[u8]| {
        crate::message::header::fields(message)
            .filter(|(name, _)| name.eq_ignore_ascii_case(mark::HEADER.as_bytes()))
            .any(|(_, value)| {
                let value = crate::message::header::unfold(value);
                mark::verify(&key, &value, |id| {
                    store
                        .read(|txn| held::get(txn, HeldId(id)))
                        .ok()
                        .flatten()
                        .map(|h| h.guid)
                })
                .is_some()
            })
    }
}

/// Options of a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// A header to prepend, e.g. `("X-CFilter", "Encrypt")` for encrypt-and-deliver.
    pub tag: Option<(String, String)>,
    /// Seconds the queue keeps trying before it bounces (`give_up_at = now + give_up`).
    pub give_up: u64,
}

/// What a release did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Released {
    /// The delivery-queue entry holding the message now.
    pub queue: QueueId,
    /// Recipients it goes to.
    pub recipients: usize,
}

/// One remediation request, for a held message or an incident.
#[derive(Debug, Clone)]
pub enum Action<'a> {
    /// Deliver to the recipients still held, through the delivery queue.
    Release(Release),
    /// Drop the content; the record stays for the audit trail.
    Delete,
    /// Send a copy to these addresses; the message stays held. `give_up` is `queue.give_up` in
    /// seconds, as for a release.
    Forward { to: Vec<String>, give_up: u64 },
    /// Inspect the stored content again with the current policies; changes nothing but history.
    Rescan(&'a Scanner),
    /// Close an incident (status Resolved).
    Resolve,
    /// Close an incident as a false positive (status Resolved, history says dismissed).
    Dismiss,
    /// Add a note to an incident's history.
    Note(String),
}

impl Action<'_> {
    /// The past-tense verb for summaries (`released 12, refused 1 ...`).
    pub fn verb(&self) -> &'static str {
        match self {
            Action::Release(_) => "released",
            Action::Delete => "deleted",
            Action::Forward { .. } => "forwarded",
            Action::Rescan(_) => "rescanned",
            Action::Resolve => "resolved",
            Action::Dismiss => "dismissed",
            Action::Note(_) => "noted",
        }
    }

    /// The history `action` field, also the command word (`delete`).
    pub fn name(&self) -> &'static str {
        match self {
            Action::Release(_) => "release",
            Action::Delete => "delete",
            Action::Forward { .. } => "forward",
            Action::Rescan(_) => "rescan",
            Action::Resolve => "resolve",
            Action::Dismiss => "dismiss",
            Action::Note(_) => "note",
        }
    }

    /// True for actions on the held message itself (an incident needs one for them).
    fn needs_message(&self) -> bool {
        matches!(
            self,
            Action::Release(_) | Action::Delete | Action::Forward { .. } | Action::Rescan(_)
        )
    }
}

/// What a write decided: done, or stopped with the refusal already written to history (the write
/// commits either way; the caller gets the error).
pub(crate) enum Step<T> {
    Done(T),
    Stop(StoreError),
}

/// Runs one remediation write and turns a stop into the caller's error.
async fn run<T: Send + 'static>(
    store: &Store,
    f: impl FnOnce(&mut dyn WriteTxn) -> Result<Step<T>> + Send + 'static,
) -> Result<T> {
    match store.write(f).await? {
        Step::Done(v) => Ok(v),
        Step::Stop(e) => Err(e),
    }
}

fn entry(now: u64, actor: &str, action: &str, result: String) -> HistoryEntry {
    HistoryEntry {
        at: now,
        actor: actor.to_string(),
        action: action.to_string(),
        result,
    }
}

/// The incidents to write to for a held message: its own, plus the one the request came through.
fn incident_ids(held: &Held, via: Option<IncidentId>) -> Vec<IncidentId> {
    let mut ids = held.incidents.clone();
    if let Some(v) = via
        && !ids.contains(&v)
    {
        ids.push(v);
    }
    ids
}

/// Sets the status (if any) and appends `entry` on each incident that exists.
fn write_incidents(
    txn: &mut dyn WriteTxn,
    ids: &[IncidentId],
    status: Option<IncidentStatus>,
    entry: &HistoryEntry,
) -> Result<()> {
    for &id in ids {
        if incidents::get(txn, id)?.is_some() {
            incidents::set_status(txn, id, status, entry)?;
        }
    }
    Ok(())
}

/// Loads held message `id` for `action`, stopping (with history) when it is missing or no longer
/// open; `via` is the incident the request came through, if any.
fn open_held(
    txn: &mut dyn WriteTxn,
    id: HeldId,
    via: Option<IncidentId>,
    actor: &str,
    now: u64,
    action: &str,
) -> Result<std::result::Result<(Held, Vec<u8>), StoreError>> {
    let Some(h) = held::get(txn, id)? else {
        if let Some(inc) = via {
            let e = entry(now, actor, action, "message cannot be found".into());
            write_incidents(txn, &[inc], None, &e)?;
        }
        return Ok(Err(StoreError::NotFound(format!("held message {id}"))));
    };
    let ids = incident_ids(&h, via);
    if !h.status.is_open() {
        let reason = format!("already {}", h.status.name());
        let e = entry(now, actor, action, format!("refused: {reason}"));
        write_incidents(txn, &ids, None, &e)?;
        events::append(
            txn,
            now,
            EventKind::RemediationRefused,
            held_fields(&h)
                .with(EventField::Remediation, action)
                .with(EventField::UserName, actor)
                .with(EventField::EventReason, &reason),
        )?;
        return Ok(Err(StoreError::Refused(reason)));
    }
    let Some(content) = held::content(txn, id)? else {
        let e = entry(
            now,
            actor,
            action,
            "could not be remediated: the stored content is missing".into(),
        );
        write_incidents(txn, &ids, Some(IncidentStatus::RemediationAttempted), &e)?;
        return Ok(Err(StoreError::Corrupt {
            what: format!("held message {id}"),
            detail: "content missing".into(),
        }));
    };
    Ok(Ok((h, content)))
}

/// Validates a tag header: a field name of printable ASCII without `:`, a one-line value.
pub fn check_tag(name: &str, value: &str) -> Result<()> {
    let bad = |why: &str| Err(StoreError::Refused(format!("invalid tag header: {why}")));
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
        return bad("the field name must be printable ASCII without ':' or spaces");
    }
    if name.eq_ignore_ascii_case(mark::HEADER) {
        return bad("that field is Sluice's own release mark");
    }
    if Field::new(name, value).is_err() {
        return bad("the value must be one line without control characters");
    }
    if name.len() + value.len() > MAX_TAG {
        return bad("too long");
    }
    Ok(())
}

/// Validates forward addresses (`local@domain`, no spaces, angle brackets or line breaks).
pub fn check_addresses(to: &[String]) -> Result<()> {
    if to.is_empty() {
        return Err(StoreError::Refused("no address to forward to".into()));
    }
    if to.len() > MAX_FORWARD {
        return Err(StoreError::Refused(format!(
            "at most {MAX_FORWARD} forward addresses"
        )));
    }
    for a in to {
        let ok = a.len() <= 254
            && a.bytes()
                .all(|b| b.is_ascii_graphic() && !matches!(b, b'<' | b'>' | b',' | b';'))
            && a.rsplit_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty());
        if !ok {
            return Err(StoreError::Refused(format!("invalid address {a:?}")));
        }
    }
    Ok(())
}

/// The content that goes to the queue: the held message with any earlier release mark removed and,
/// prepended, the tag header and a fresh release mark.
fn marked(content: Vec<u8>, key: &[u8; 32], h: &Held, tag: Option<&(String, String)>) -> Vec<u8> {
    let content = crate::message::header::remove(content, &[mark::HEADER]);
    let mut fields = Vec::new();
    // The tag passed `check_tag` (which asks `Field` itself); the mark is base64url.
    if let Some((n, v)) = tag {
        fields.extend(Field::new(n.as_str(), v.as_str()).ok());
    }
    fields.extend(Field::new(mark::HEADER, mark::sign(key, h.id.0, &h.guid)).ok());
    crate::message::header::prepend(content, &fields)
}

/// Releases held message `id`: queues it for its recipients still held and closes it.
pub async fn release(
    store: &Store,
    id: HeldId,
    actor: &str,
    now: u64,
    options: Release,
) -> Result<Released> {
    release_via(store, id, None, actor, now, options).await
}

async fn release_via(
    store: &Store,
    id: HeldId,
    via: Option<IncidentId>,
    actor: &str,
    now: u64,
    options: Release,
) -> Result<Released> {
    if let Some((n, v)) = &options.tag {
        check_tag(n, v)?;
    }
    let actor = actor.to_string();
    let out = run(store, move |txn| {
        release_txn(txn, id, via, &actor, now, &options)
    })
    .await;
    failed(store, out, id, via, "release", now).await
}

pub(crate) fn release_txn(
    txn: &mut dyn WriteTxn,
    id: HeldId,
    via: Option<IncidentId>,
    actor: &str,
    now: u64,
    options: &Release,
) -> Result<Step<Released>> {
    let (h, content) = match open_held(txn, id, via, actor, now, "release")? {
        Ok(x) => x,
        Err(stop) => return Ok(Step::Stop(stop)),
    };
    let recipients: Vec<QueuedRecipient> = h
        .recipients
        .iter()
        .filter(|r| r.status.is_open())
        .map(|r| QueuedRecipient {
            address: r.address.clone(),
            notify: r.notify,
            orcpt: r.orcpt.clone(),
            state: RcptState::Pending,
            last_reply: None,
        })
        .collect();
    let ids = incident_ids(&h, via);
    if recipients.is_empty() {
        let e = entry(
            now,
            actor,
            "release",
            "refused: no recipient is still held".into(),
        );
        write_incidents(txn, &ids, None, &e)?;
        return Ok(Step::Stop(StoreError::Refused(
            "no recipient is still held".into(),
        )));
    }
    let asked = lifecycle::Asked {
        at: now,
        actor,
        action: "release",
    };
    if let lifecycle::Changed::Refused(e) = lifecycle::change(txn, &h, HeldStatus::Released, asked)?
    {
        return Ok(Step::Stop(e));
    }
    let key = schema::secret(txn, MARK_SECRET)?;
    let content = marked(content, &key, &h, options.tag.as_ref());
    let count = recipients.len();
    let queued = Queued {
        id: QueueId(0),
        kind: QueueKind::Release { held: id },
        created: now,
        sender: h.sender.clone(),
        envid: h.envid.clone(),
        ret_full: h.ret_full,
        recipients,
        peer: h.peer.clone(),
        attempts: 0,
        next_attempt: now,
        give_up_at: now.saturating_add(options.give_up),
        delay_notice_sent: false,
        held: false,
    };
    let qid = queue::insert(txn, queued, &content)?;
    let tagged = match &options.tag {
        Some((n, v)) => format!(" with {n}: {v}"),
        None => String::new(),
    };
    let e = entry(
        now,
        actor,
        "release",
        format!("released by {actor}{tagged}: queued for delivery (queue {qid})"),
    );
    write_incidents(txn, &ids, Some(IncidentStatus::Released), &e)?;
    events::append(
        txn,
        now,
        EventKind::QuarantineReleased,
        held_fields(&h)
            .with(EventField::QueueId, qid)
            .with(EventField::UserName, actor)
            .with(EventField::Recipients, count),
    )?;
    stats::bump(txn, now, "released", 1)?;
    Ok(Step::Done(Released {
        queue: qid,
        recipients: count,
    }))
}

/// Queues a copy of held message `id` for `to` (null sender, so a failure never reaches the original
/// sender); the message stays held. Returns the queue id.
pub async fn forward(
    store: &Store,
    id: HeldId,
    to: Vec<String>,
    actor: &str,
    now: u64,
    give_up: u64,
) -> Result<QueueId> {
    forward_via(store, id, None, to, actor, now, give_up).await
}

async fn forward_via(
    store: &Store,
    id: HeldId,
    via: Option<IncidentId>,
    to: Vec<String>,
    actor: &str,
    now: u64,
    give_up: u64,
) -> Result<QueueId> {
    check_addresses(&to)?;
    let actor = actor.to_string();
    let out = run(store, move |txn| {
        let (h, content) = match open_held(txn, id, via, &actor, now, "forward")? {
            Ok(x) => x,
            Err(stop) => return Ok(Step::Stop(stop)),
        };
        let key = schema::secret(txn, MARK_SECRET)?;
        let content = marked(content, &key, &h, None);
        let queued = Queued::own(QueueKind::Release { held: id }, &to, &h.peer, now, give_up);
        let qid = queue::insert(txn, queued, &content)?;
        let e = entry(
            now,
            &actor,
            "forward",
            format!(
                "forwarded by {actor} to {}: queued for delivery (queue {qid}); message still held",
                to.join(", ")
            ),
        );
        write_incidents(txn, &incident_ids(&h, via), None, &e)?;
        events::append(
            txn,
            now,
            EventKind::QuarantineForwarded,
            held_fields(&h)
                .with(EventField::QueueId, qid)
                .with(EventField::UserName, &actor)
                .with(EventField::Recipients, to.len()),
        )?;
        stats::bump(txn, now, "forwarded", 1)?;
        Ok(Step::Done(qid))
    })
    .await;
    failed(store, out, id, via, "forward", now).await
}

/// Deletes held message `id`: drops its content, marks it (and its open recipients) deleted.
pub async fn delete(store: &Store, id: HeldId, actor: &str, now: u64) -> Result<()> {
    delete_via(store, id, None, actor, now).await
}

async fn delete_via(
    store: &Store,
    id: HeldId,
    via: Option<IncidentId>,
    actor: &str,
    now: u64,
) -> Result<()> {
    let actor = actor.to_string();
    let out = run(store, move |txn| {
        let (h, _) = match open_held(txn, id, via, &actor, now, "delete")? {
            Ok(x) => x,
            Err(stop) => return Ok(Step::Stop(stop)),
        };
        let e = entry(now, &actor, "delete", format!("deleted by {actor}"));
        let closing = Closing {
            status: HeldStatus::Deleted,
            incident: IncidentStatus::Deleted,
            entry: &e,
        };
        if let lifecycle::Changed::Refused(e) = close_txn(txn, &h, &incident_ids(&h, via), closing)?
        {
            return Ok(Step::Stop(e));
        }
        events::append(
            txn,
            now,
            EventKind::QuarantineDeleted,
            held_fields(&h).with(EventField::UserName, &actor),
        )?;
        stats::bump(txn, now, "deleted", 1)?;
        Ok(Step::Done(()))
    })
    .await;
    failed(store, out, id, via, "delete", now).await
}

/// How a held message ends without delivery: its status (and its open recipients'), its incidents'
/// status, and the history entry they get.
pub(crate) struct Closing<'a> {
    pub status: HeldStatus,
    pub incident: IncidentStatus,
    pub entry: &'a HistoryEntry,
}

/// Ends held message `h` without delivering it, in the caller's write, through the lifecycle's
/// table (`store::lifecycle`: status, open recipients, content dropped); when the change is allowed,
/// each incident of `incidents` that exists gets the incident status and the entry. A delete and the
/// approval desk's reject and expiry go through it. A refused change is recorded in the history by
/// the lifecycle and handed back; nothing else is written.
pub(crate) fn close_txn(
    txn: &mut dyn WriteTxn,
    h: &Held,
    incidents: &[IncidentId],
    closing: Closing<'_>,
) -> Result<lifecycle::Changed> {
    let asked = lifecycle::Asked {
        at: closing.entry.at,
        actor: &closing.entry.actor,
        action: &closing.entry.action,
    };
    let changed = lifecycle::change(txn, h, closing.status, asked)?;
    if let lifecycle::Changed::Done(_) = changed {
        write_incidents(txn, incidents, Some(closing.incident), closing.entry)?;
    }
    Ok(changed)
}

/// After a write that failed as a whole (store error), records "could not be remediated" on the
/// message's incidents in a second write, best effort, and hands the original result back.
async fn failed<T>(
    store: &Store,
    out: Result<T>,
    id: HeldId,
    via: Option<IncidentId>,
    action: &'static str,
    now: u64,
) -> Result<T> {
    let err = match out {
        // Refusals and missing records are recorded by the write itself, and so is content found
        // missing (`open_held`); a record that does not decode would not decode here either.
        Err(e) if e.is_temporary() && !matches!(e, StoreError::Corrupt { .. }) => e,
        other => return other,
    };
    let why = err.to_string();
    let _ = store
        .write(move |txn| {
            let mut ids = held::get(txn, id)?.map(|h| h.incidents).unwrap_or_default();
            if let Some(v) = via
                && !ids.contains(&v)
            {
                ids.push(v);
            }
            let e = entry(
                now,
                "sluice",
                action,
                format!("could not be remediated: {why}"),
            );
            write_incidents(txn, &ids, Some(IncidentStatus::RemediationAttempted), &e)
        })
        .await;
    Err(err)
}

/// Applies `action` to held message `id`; returns a one-line account of what was done. Incident-only
/// actions (resolve, dismiss, note) apply to every incident of the message.
pub async fn held_action(
    store: &Store,
    id: HeldId,
    action: &Action<'_>,
    actor: &str,
    now: u64,
) -> Result<String> {
    act(store, id, None, action, actor, now).await
}

async fn act(
    store: &Store,
    id: HeldId,
    via: Option<IncidentId>,
    action: &Action<'_>,
    actor: &str,
    now: u64,
) -> Result<String> {
    match action {
        Action::Release(options) => {
            let r = release_via(store, id, via, actor, now, options.clone()).await?;
            Ok(format!(
                "queued for delivery to {} recipient(s) (queue {})",
                r.recipients, r.queue
            ))
        }
        Action::Delete => {
            delete_via(store, id, via, actor, now).await?;
            Ok("content deleted".into())
        }
        Action::Forward { to, give_up } => {
            let q = forward_via(store, id, via, to.clone(), actor, now, *give_up).await?;
            Ok(format!("copy queued for {} (queue {q})", to.join(", ")))
        }
        Action::Rescan(scanner) => {
            let r = rescan::rescan_via(store, id, via, scanner, actor, now).await?;
            Ok(r.summary)
        }
        Action::Resolve | Action::Dismiss | Action::Note(_) => {
            let h = store.read(|txn| held::must_get(txn, id))?;
            let ids = incident_ids(&h, via);
            if ids.is_empty() {
                return Err(StoreError::Refused("the message has no incident".into()));
            }
            for i in &ids {
                incident_status(store, *i, action, actor, now).await?;
            }
            Ok(format!("{} incident(s) {}", ids.len(), action.verb()))
        }
    }
}

/// Applies `action` to incident `id`: message actions go to its held message (an incident without
/// one, for relayed or blocked mail, is refused with a history entry); resolve, dismiss and note
/// change the incident itself.
pub async fn incident_action(
    store: &Store,
    id: IncidentId,
    action: &Action<'_>,
    actor: &str,
    now: u64,
) -> Result<String> {
    let inc = store.read(|txn| incidents::must_get(txn, id))?;
    if !action.needs_message() {
        incident_status(store, id, action, actor, now).await?;
        return Ok(format!("incident {}", action.verb()));
    }
    match inc.held {
        Some(h) => act(store, h, Some(id), action, actor, now).await,
        None => {
            let why = format!("no held message (the message was {})", inc.action);
            let (actor, name, text) = (actor.to_string(), action.name(), why.clone());
            store
                .write(move |txn| {
                    let e = entry(now, &actor, name, format!("refused: {text}"));
                    incidents::append_history(txn, id, &e)
                })
                .await?;
            Err(StoreError::Refused(why))
        }
    }
}

/// Resolve, dismiss or note on one incident.
async fn incident_status(
    store: &Store,
    id: IncidentId,
    action: &Action<'_>,
    actor: &str,
    now: u64,
) -> Result<()> {
    let (status, result, kind) = match action {
        Action::Resolve => (
            Some(IncidentStatus::Resolved),
            format!("resolved by {actor}"),
            EventKind::IncidentResolved,
        ),
        Action::Dismiss => (
            Some(IncidentStatus::Resolved),
            format!("dismissed by {actor} (no violation)"),
            EventKind::IncidentResolved,
        ),
        Action::Note(text) => {
            let text = text.trim();
            if text.is_empty() || text.chars().count() > MAX_NOTE {
                return Err(StoreError::Refused(format!(
                    "a note has 1 to {MAX_NOTE} characters"
                )));
            }
            (None, text.to_string(), EventKind::IncidentNoted)
        }
        _ => return Err(StoreError::Refused("not an incident status change".into())),
    };
    let (actor, name) = (actor.to_string(), action.name());
    store
        .write(move |txn| {
            let e = entry(now, &actor, name, result);
            incidents::set_status(txn, id, status, &e)?;
            let about = match incidents::get(txn, id)? {
                Some(inc) => crate::hold::fields::incident(&inc),
                None => Fields::new().with(EventField::IncidentId, id),
            };
            events::append(txn, now, kind, about.with(EventField::UserName, &actor))?;
            Ok(())
        })
        .await
}
