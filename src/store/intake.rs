//! Custody of the messages a gateway listener accepted (issue 14): each message (its content, the
//! `Received:` field Sluice put on top, the envelope with its DSN parameters, the client) is kept in
//! the `intake` table from the one synced write that lets the client have its 250 ([`take`], whose
//! [`Receipt`] is the only thing the 250 is built from) until inspection moves it on (to the
//! delivery queue, the quarantine, or out: blocked), or, after `gateway.inspect_attempts` failed
//! inspections, to the suspect hold, where it stays until an administrator acts on it.
//!
//! Keys of the `intake` table: `r` + id -> the JSON [`Custody`] record; `c` + id -> the content;
//! `d` + due time + id -> () for messages waiting for inspection; `f` + BLAKE3 -> id for the
//! fingerprints of messages whose inspection failed or that were held as suspect (a client sending
//! them again is not inspected inline).
//!
//! An inspection attempt is counted in the write that takes the message for it (the custody write
//! for the inline attempt, [`lease`] for the worker's), so an attempt that kills the process still
//! counts after the restart.

use serde::{Deserialize, Serialize};

use super::kv::{Order, ReadTxn, Table, WriteTxn};
use super::records::{Direction, QueueKind, Queued, QueuedRecipient, RcptState};
use super::{Result, Store, StoreError, get_json, keys, put_json, queue};

/// A message in custody (the counter `intake`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IntakeId(pub u64);

impl std::fmt::Display for IntakeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a message in custody stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Waiting for inspection (inline at the end of DATA, or by the inspection worker).
    Inspect,
    /// Held as suspect: inspection failed `gateway.inspect_attempts` times. Never inspected again
    /// until an administrator reprocesses, releases or deletes it.
    Suspect,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Inspect => "inspect",
            Stage::Suspect => "suspect",
        }
    }
}

/// One envelope recipient with its DSN parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rcpt {
    pub address: String,
    #[serde(default)]
    pub notify: crate::message::Notify,
    #[serde(default)]
    pub orcpt: Option<String>,
}

/// The MAIL FROM parameters kept with the message (relayed on delivery, honoured in DSNs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Params {
    #[serde(default)]
    pub size: Option<usize>,
    /// `7bit`, `8bitmime` or empty.
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub smtputf8: bool,
    /// `full`, `hdrs` or none.
    #[serde(default)]
    pub ret: Option<String>,
    #[serde(default)]
    pub envid: Option<String>,
}

/// A message in custody: everything needed to inspect and deliver it after a restart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Custody {
    pub id: IntakeId,
    /// Sluice's message GUID.
    pub guid: String,
    /// When the 250 was given (Unix seconds).
    pub received: u64,
    /// The listener that accepted it.
    pub listener: String,
    pub direction: Direction,
    /// The client's address and port.
    pub peer: String,
    pub helo: String,
    #[serde(default)]
    pub tls: bool,
    /// The client is a relay client (`gateway.relay_clients`).
    #[serde(default)]
    pub local: bool,
    pub sender: String,
    #[serde(default)]
    pub params: Params,
    pub recipients: Vec<Rcpt>,
    /// The value of the `Received:` field Sluice puts on top (folded).
    pub trace: String,
    /// BLAKE3 of the content as received, hex.
    pub fingerprint: String,
    pub size: u64,
    pub stage: Stage,
    /// Inspection attempts begun (each counted when the message was taken for it).
    pub attempts: u32,
    /// When it is due for (another) inspection attempt.
    pub next_attempt: u64,
    /// Why the last attempt failed, or why it was held.
    #[serde(default)]
    pub last_error: Option<String>,
}

/// Proof that a message is in custody: only [`take`] makes one, after its write committed (on
/// LMDB, with a full sync). The gateway's 250 is built from it (`smtp::Reply::accepted`), so no
/// code path can acknowledge a message that is not durably kept.
#[derive(Debug)]
pub struct Receipt {
    id: IntakeId,
    guid: String,
    inline: bool,
}

impl Receipt {
    pub fn id(&self) -> IntakeId {
        self.id
    }

    pub fn guid(&self) -> &str {
        &self.guid
    }

    /// Whether the message is to be inspected now, inline (the custody write counted the attempt).
    pub fn inline(&self) -> bool {
        self.inline
    }
}

fn key(tag: u8, id: IntakeId) -> [u8; 9] {
    let mut k = [tag; 9];
    k[1..].copy_from_slice(&id.0.to_be_bytes());
    k
}

fn due_key(at: u64, id: IntakeId) -> [u8; 17] {
    let mut k = [b'd'; 17];
    k[1..9].copy_from_slice(&at.to_be_bytes());
    k[9..].copy_from_slice(&id.0.to_be_bytes());
    k
}

fn print_key(fingerprint: &str) -> Vec<u8> {
    let mut k = vec![b'f'];
    k.extend_from_slice(fingerprint.as_bytes());
    k
}

/// The content's fingerprint (BLAKE3, hex).
pub fn fingerprint(content: &[u8]) -> String {
    blake3::hash(content).to_hex().to_string()
}

/// Takes custody: one write of the record and the content, through the group-commit writer; the
/// [`Receipt`] comes back only after it committed. With `inline` (and a fingerprint not known as
/// suspect) the write counts the inline inspection attempt and makes the message due again only
/// after `retry` seconds (the worker takes it then if the inline attempt never finished); without,
/// it is due at once for the worker.
pub async fn take<C: AsRef<[u8]> + Send + Sync + 'static>(
    store: &Store,
    mut custody: Custody,
    content: std::sync::Arc<C>,
    inline: bool,
    retry: u64,
) -> Result<Receipt> {
    let guid = custody.guid.clone();
    let (id, inline) = store
        .write(move |txn| {
            custody.id = IntakeId(keys::next_id(txn, "intake")?);
            let inline = inline && !is_suspect(txn, &custody.fingerprint)?;
            custody.stage = Stage::Inspect;
            if inline {
                custody.attempts = 1;
                custody.next_attempt = custody.received.saturating_add(retry);
            } else {
                custody.attempts = 0;
                custody.next_attempt = custody.received;
            }
            txn.put(Table::Intake, &key(b'c', custody.id), (*content).as_ref())?;
            put(txn, &custody)?;
            txn.put(
                Table::Intake,
                &due_key(custody.next_attempt, custody.id),
                &[],
            )?;
            Ok((custody.id, inline))
        })
        .await?;
    Ok(Receipt { id, guid, inline })
}

fn put(txn: &mut dyn WriteTxn, c: &Custody) -> Result<()> {
    put_json(txn, Table::Intake, &key(b'r', c.id), c)
}

pub fn get(txn: &dyn ReadTxn, id: IntakeId) -> Result<Option<Custody>> {
    get_json(txn, Table::Intake, &key(b'r', id), || {
        format!("message in custody {id}")
    })
}

fn must_get(txn: &dyn ReadTxn, id: IntakeId) -> Result<Custody> {
    get(txn, id)?.ok_or_else(|| StoreError::NotFound(format!("message in custody {id}")))
}

pub fn content(txn: &dyn ReadTxn, id: IntakeId) -> Result<Option<Vec<u8>>> {
    Ok(txn.get(Table::Intake, &key(b'c', id))?.map(<[u8]>::to_vec))
}

/// Whether content with this fingerprint failed inspection or was held as suspect before.
pub fn is_suspect(txn: &dyn ReadTxn, fingerprint: &str) -> Result<bool> {
    Ok(txn.get(Table::Intake, &print_key(fingerprint))?.is_some())
}

fn mark_suspect(txn: &mut dyn WriteTxn, c: &Custody) -> Result<()> {
    txn.put(
        Table::Intake,
        &print_key(&c.fingerprint),
        &c.id.0.to_be_bytes(),
    )
}

/// Rewrites a record, moving it in the due index (only messages at [`Stage::Inspect`] are there).
fn update(txn: &mut dyn WriteTxn, old: &Custody, new: &Custody) -> Result<()> {
    txn.delete(Table::Intake, &due_key(old.next_attempt, old.id))?;
    if new.stage == Stage::Inspect {
        txn.put(Table::Intake, &due_key(new.next_attempt, new.id), &[])?;
    }
    put(txn, new)
}

/// At start, before any listener accepts: messages waiting for inspection that are due later than
/// `now` had an inline attempt or a worker's lease in a process that is gone, which nothing will
/// finish; they are due at `now` (their attempts stay counted). Returns how many.
pub fn recover(txn: &mut dyn WriteTxn, now: u64) -> Result<usize> {
    let start = due_key(now.saturating_add(1), IntakeId(0));
    let end = [b'e'];
    let range = (
        std::ops::Bound::Included(&start[..]),
        std::ops::Bound::Excluded(&end[..]),
    );
    let mut ids = Vec::new();
    for e in txn.range(Table::Intake, range, Order::Forward)? {
        let (k, _) = e?;
        if let Some(id) = k.get(9..).and_then(keys::id_of) {
            ids.push(IntakeId(id));
        }
    }
    let mut n = 0;
    for id in ids {
        let Some(old) = get(txn, id)? else { continue };
        if old.stage == Stage::Inspect && old.next_attempt > now {
            let mut new = old.clone();
            new.next_attempt = now;
            update(txn, &old, &new)?;
            n += 1;
        }
    }
    Ok(n)
}

/// Ids of messages due for inspection at `now`, soonest first, at most `max`.
pub fn due(txn: &dyn ReadTxn, now: u64, max: usize) -> Result<Vec<IntakeId>> {
    let mut out = Vec::new();
    for e in txn.prefix(Table::Intake, b"d", Order::Forward)? {
        let (k, _) = e?;
        let (Some(at), Some(id)) = (
            k.get(1..9).and_then(keys::id_of),
            k.get(9..).and_then(keys::id_of),
        ) else {
            continue;
        };
        if at > now || out.len() >= max {
            break;
        }
        out.push(IntakeId(id));
    }
    Ok(out)
}

/// When the next message is due for inspection.
pub fn next_due(txn: &dyn ReadTxn) -> Result<Option<u64>> {
    match txn.prefix(Table::Intake, b"d", Order::Forward)?.next() {
        Some(e) => Ok(e?.0.get(1..9).and_then(keys::id_of)),
        None => Ok(None),
    }
}

/// What [`lease`] hands the inspection worker.
#[derive(Debug)]
pub enum Leased {
    /// Inspect it (this attempt is counted; due again at the lease's end).
    Inspect(Custody, Vec<u8>),
    /// Its attempts are used up: it was moved to the suspect hold in this write.
    Suspended(Custody),
}

/// Takes a due message for an inspection attempt until `until`, counting the attempt. A message
/// whose earlier attempt never ended (the process died in it) gets its fingerprint marked; one
/// whose `max_attempts` are used up is moved to the suspect hold instead. `None`: not due (taken
/// meanwhile, or no longer waiting).
pub fn lease(
    txn: &mut dyn WriteTxn,
    id: IntakeId,
    now: u64,
    until: u64,
    max_attempts: u32,
) -> Result<Option<Leased>> {
    let Some(old) = get(txn, id)? else {
        return Ok(None);
    };
    if old.stage != Stage::Inspect || old.next_attempt > now {
        return Ok(None);
    }
    let mut new = old.clone();
    if old.attempts > 0 {
        mark_suspect(txn, &old)?;
        if new.last_error.is_none() {
            new.last_error = Some("an inspection attempt did not finish".into());
        }
    }
    if old.attempts >= max_attempts {
        new.stage = Stage::Suspect;
        update(txn, &old, &new)?;
        return Ok(Some(Leased::Suspended(new)));
    }
    let Some(content) = content(txn, id)? else {
        return Err(StoreError::Corrupt {
            what: format!("message in custody {id}"),
            detail: "content missing".into(),
        });
    };
    new.attempts += 1;
    new.next_attempt = until;
    update(txn, &old, &new)?;
    Ok(Some(Leased::Inspect(new, content)))
}

/// An inspection attempt failed (panic, time): marks the fingerprint and makes the message due
/// again at `at`, or, when `max_attempts` are used up, moves it to the suspect hold (returned).
pub fn failed(
    txn: &mut dyn WriteTxn,
    id: IntakeId,
    at: u64,
    error: &str,
    max_attempts: u32,
) -> Result<Custody> {
    let old = must_get(txn, id)?;
    let mut new = old.clone();
    mark_suspect(txn, &old)?;
    new.last_error = Some(error.to_string());
    new.next_attempt = at;
    if old.attempts >= max_attempts {
        new.stage = Stage::Suspect;
    }
    update(txn, &old, &new)?;
    Ok(new)
}

/// Removes a message from custody (inspected and moved on, or deleted); returns its record.
pub fn remove(txn: &mut dyn WriteTxn, id: IntakeId) -> Result<Option<Custody>> {
    let Some(old) = get(txn, id)? else {
        return Ok(None);
    };
    txn.delete(Table::Intake, &due_key(old.next_attempt, id))?;
    txn.delete(Table::Intake, &key(b'r', id))?;
    txn.delete(Table::Intake, &key(b'c', id))?;
    Ok(Some(old))
}

/// Moves a message on to the delivery queue in the caller's write: removed from custody, queued
/// as `QueueKind::Gateway` with `content` (the message as it goes out) to `to` (its recipients, or
/// a policy's review addresses). Fails with `NotFound` when it is no longer in custody (another
/// attempt moved it on first, or an administrator deleted it), so a message is never queued
/// twice, and with `Refused` when it is no longer waiting for inspection (an administrator put
/// it on hold while it was being inspected): the operator's word wins over the verdict.
pub fn deliver(
    txn: &mut dyn WriteTxn,
    id: IntakeId,
    to: Option<&[String]>,
    content: &[u8],
    now: u64,
    give_up: u64,
) -> Result<super::records::QueueId> {
    if must_get(txn, id)?.stage != Stage::Inspect {
        return Err(StoreError::Refused(format!(
            "message in custody {id} was put on hold during its inspection"
        )));
    }
    enqueue(txn, id, to, content, now, give_up)
}

/// Removes a message from custody and queues it (see [`deliver`]), whatever its stage.
fn enqueue(
    txn: &mut dyn WriteTxn,
    id: IntakeId,
    to: Option<&[String]>,
    content: &[u8],
    now: u64,
    give_up: u64,
) -> Result<super::records::QueueId> {
    let c =
        remove(txn, id)?.ok_or_else(|| StoreError::NotFound(format!("message in custody {id}")))?;
    let recipients = match to {
        Some(list) => list.iter().map(QueuedRecipient::new).collect(),
        None => c
            .recipients
            .iter()
            .map(|r| QueuedRecipient {
                address: r.address.clone(),
                notify: r.notify,
                orcpt: r.orcpt.clone(),
                state: RcptState::Pending,
                last_reply: None,
            })
            .collect(),
    };
    let entry = Queued {
        id: super::records::QueueId(0),
        kind: QueueKind::Gateway {
            guid: c.guid.clone(),
            direction: c.direction,
            listener: c.listener.clone(),
            received: Some(c.received),
        },
        created: now,
        sender: c.sender.clone(),
        envid: c.params.envid.clone(),
        ret_full: c.params.ret.as_deref() == Some("full"),
        recipients,
        peer: c.peer.rsplit_once(':').map_or(c.peer.clone(), |(ip, _)| {
            ip.trim_matches(['[', ']']).to_string()
        }),
        attempts: 0,
        next_attempt: now,
        give_up_at: now.saturating_add(give_up),
        delay_notice_sent: false,
        held: false,
    };
    queue::insert(txn, entry, content)
}

/// One page of messages in custody at `stage`, oldest first, after the id `after` (the previous
/// page's last), at most `limit`; the next page's cursor when more may follow. Reads at most
/// `10 * limit + 100` records per page (a page cut short carries its cursor).
pub fn list(
    txn: &dyn ReadTxn,
    stage: Option<Stage>,
    after: Option<IntakeId>,
    limit: usize,
) -> Result<(Vec<Custody>, Option<IntakeId>)> {
    let start = key(b'r', IntakeId(after.map_or(0, |a| a.0.saturating_add(1))));
    let end = [b's'];
    let range = (
        std::ops::Bound::Included(&start[..]),
        std::ops::Bound::Excluded(&end[..]),
    );
    let budget = limit.saturating_mul(10).saturating_add(100);
    let (mut out, mut read, mut last) = (Vec::new(), 0, None);
    for e in txn.range(Table::Intake, range, Order::Forward)? {
        let (k, v) = e?;
        let id = IntakeId(k.get(1..).and_then(keys::id_of).unwrap_or(0));
        if out.len() >= limit || read >= budget {
            return Ok((out, last));
        }
        read += 1;
        last = Some(id);
        let c: Custody = serde_json::from_slice(v).map_err(|e| StoreError::Corrupt {
            what: format!("message in custody {id}"),
            detail: e.to_string(),
        })?;
        if stage.is_none_or(|s| s == c.stage) {
            out.push(c);
        }
    }
    Ok((out, None))
}

/// How many messages are in custody (every stage).
pub fn len(txn: &dyn ReadTxn) -> Result<u64> {
    let mut n = 0;
    for e in txn.prefix(Table::Intake, b"r", Order::Forward)? {
        e?;
        n += 1;
    }
    Ok(n)
}

/// Moves a message to the suspect hold at an administrator's word (it is not inspected again).
pub fn hold(txn: &mut dyn WriteTxn, id: IntakeId, why: &str) -> Result<Custody> {
    let old = must_get(txn, id)?;
    let mut new = old.clone();
    new.stage = Stage::Suspect;
    new.last_error = Some(why.to_string());
    mark_suspect(txn, &old)?;
    update(txn, &old, &new)?;
    Ok(new)
}

/// Sends a message back to inspection (an administrator reprocesses a suspect message): its
/// attempts start again and it is due at `now`.
pub fn reprocess(txn: &mut dyn WriteTxn, id: IntakeId, now: u64) -> Result<Custody> {
    let old = must_get(txn, id)?;
    let mut new = old.clone();
    new.stage = Stage::Inspect;
    new.attempts = 0;
    new.next_attempt = now;
    update(txn, &old, &new)?;
    Ok(new)
}

/// Releases a message from custody uninspected (an administrator's word on a suspect message):
/// queued for delivery to its recipients as it came, with Sluice's `Received:` field on top.
pub fn release(
    txn: &mut dyn WriteTxn,
    id: IntakeId,
    now: u64,
    give_up: u64,
) -> Result<super::records::QueueId> {
    let message = message(txn, id)?
        .ok_or_else(|| StoreError::NotFound(format!("message in custody {id}")))?;
    enqueue(txn, id, None, &message, now, give_up)
}

/// The message as it goes out uninspected: Sluice's `Received:` field on top of the content as
/// received. `None` when it is no longer in custody.
pub fn message(txn: &dyn ReadTxn, id: IntakeId) -> Result<Option<Vec<u8>>> {
    let Some(c) = get(txn, id)? else {
        return Ok(None);
    };
    let body = content(txn, id)?.ok_or_else(|| StoreError::Corrupt {
        what: format!("message in custody {id}"),
        detail: "content missing".into(),
    })?;
    let mut message = format!("Received: {}\r\n", c.trace).into_bytes();
    message.extend_from_slice(&body);
    Ok(Some(message))
}

/// The header section of a message's content as received (up to its blank line), at most `max`
/// bytes, without copying the body. `None` when it is no longer in custody.
pub fn head(txn: &dyn ReadTxn, id: IntakeId, max: usize) -> Result<Option<Vec<u8>>> {
    Ok(txn.get(Table::Intake, &key(b'c', id))?.map(|c| {
        let end = crate::message::header::header_end(c).min(max);
        c[..end].to_vec()
    }))
}

/// Makes a message waiting for inspection due at `now` (an administrator's retry; its attempts
/// are kept). A message on hold is returned unchanged; `None` when it is no longer in custody.
pub fn retry(txn: &mut dyn WriteTxn, id: IntakeId, now: u64) -> Result<Option<Custody>> {
    let Some(old) = get(txn, id)? else {
        return Ok(None);
    };
    if old.stage != Stage::Inspect || old.next_attempt == now {
        return Ok(Some(old));
    }
    let mut new = old.clone();
    new.next_attempt = now;
    update(txn, &old, &new)?;
    Ok(Some(new))
}

/// Decodes one record of the table for a restore's check (`backup::decode`).
pub(crate) fn decode(k: &[u8], v: &[u8]) -> std::result::Result<(), String> {
    match k.first() {
        Some(b'r') if k.len() == 9 => serde_json::from_slice::<Custody>(v)
            .map(drop)
            .map_err(|e| e.to_string()),
        Some(b'c') if k.len() == 9 => Ok(()),
        Some(b'd') if k.len() == 17 => Ok(()),
        Some(b'f') if v.len() == 8 => Ok(()),
        _ => Err("an unknown key".into()),
    }
}

#[cfg(test)]
pub(crate) mod tests;
