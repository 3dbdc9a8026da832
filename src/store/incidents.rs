//! Incidents: one per violated policy per message, reconciled across copies of the same message, with
//! an append-only history (who, when, action, result) and the same search as held messages.

use super::kv::{Order, ReadTxn, Table, WriteTxn};

use super::keys::{self, Indexed};
use super::records::{HistoryEntry, Incident, IncidentId, IncidentStatus};
use super::search::{self, Filter, Found, Page, Record, View};
use super::{Result, StoreError, get_json, put_json};

impl Record for Incident {
    fn view(&self) -> View<'_> {
        View {
            id: self.id.0,
            time: self.created,
            status: self.status.name(),
            sender: &self.sender,
            recipients: self.recipients.iter().map(String::as_str).collect(),
            policies: vec![self.policy.id],
            severity: self.policy.severity.name(),
            direction: self.direction.name(),
            guid: &self.guid,
            subject: &self.subject,
        }
    }
}

fn index_keys(i: &Incident) -> Vec<Vec<u8>> {
    i.view().index_keys(Indexed::Incident)
}

/// The reconciliation key of a message copy for one policy: the message's identity (the
/// `X-dlp-uniquemsgid` it carried, else its Message-ID), its sender, and the policy.
pub fn reconcile_key(identity: &str, sender: &str, policy: u64) -> Option<Vec<u8>> {
    let identity = identity.trim();
    if identity.is_empty() {
        return None;
    }
    let mut h = blake3::Hasher::new();
    h.update(identity.to_ascii_lowercase().as_bytes());
    h.update(&[0]);
    h.update(sender.to_ascii_lowercase().as_bytes());
    h.update(&[0]);
    h.update(&policy.to_be_bytes());
    Some(h.finalize().as_bytes().to_vec())
}

/// What [`record`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Created(IncidentId),
    /// Merged into an incident for an earlier copy of the same message.
    Reconciled(IncidentId),
}

impl Recorded {
    pub fn id(self) -> IncidentId {
        match self {
            Recorded::Created(id) | Recorded::Reconciled(id) => id,
        }
    }
}

/// Records an incident, or merges it into the one an earlier copy of the message made within `window`.
/// A new incident is counted for the reports (`stats::incident`) in the same write.
pub fn record(
    txn: &mut dyn WriteTxn,
    mut incident: Incident,
    recon: Option<Vec<u8>>,
    window: u64,
) -> Result<Recorded> {
    let now = incident.created;
    if let Some(key) = &recon
        && let Some(v) = txn.get(Table::Recon, key)?
        && let Some(id) = keys::id_of(v).map(IncidentId)
        && let Some(existing) = get(txn, id)?
        && existing.created.saturating_add(window) >= now
    {
        let mut merged = existing.clone();
        let mut added = Vec::new();
        for r in &incident.recipients {
            if !merged.recipients.iter().any(|x| x.eq_ignore_ascii_case(r)) {
                merged.recipients.push(r.clone());
                added.push(r.clone());
            }
        }
        merged.copies = merged.copies.saturating_add(1);
        update(txn, &existing, &merged)?;
        append_history(
            txn,
            id,
            &HistoryEntry {
                at: now,
                actor: "sluice".into(),
                action: "reconciled".into(),
                result: format!(
                    "copy {} of the message ({} new recipient(s))",
                    merged.copies,
                    added.len()
                ),
            },
        )?;
        return Ok(Recorded::Reconciled(id));
    }
    incident.id = IncidentId(keys::next_id(txn, "incident")?);
    put_json(
        txn,
        Table::Incidents,
        &keys::id_key(incident.id.0),
        &incident,
    )?;
    keys::put_index(txn, &index_keys(&incident))?;
    super::stats::incident(txn, &incident)?;
    if let Some(key) = &recon {
        txn.put(Table::Recon, key, &keys::id_key(incident.id.0))?;
    }
    append_history(
        txn,
        incident.id,
        &HistoryEntry {
            at: now,
            actor: "sluice".into(),
            action: "created".into(),
            result: format!(
                "policy {} matched; message {}",
                incident.policy.id, incident.action
            ),
        },
    )?;
    Ok(Recorded::Created(incident.id))
}

pub fn get(txn: &dyn ReadTxn, id: IncidentId) -> Result<Option<Incident>> {
    get_json(txn, Table::Incidents, &keys::id_key(id.0), || {
        format!("incident {id}")
    })
}

pub fn must_get(txn: &dyn ReadTxn, id: IncidentId) -> Result<Incident> {
    get(txn, id)?.ok_or_else(|| StoreError::NotFound(format!("incident {id}")))
}

pub fn update(txn: &mut dyn WriteTxn, old: &Incident, new: &Incident) -> Result<()> {
    let (before, after) = (index_keys(old), index_keys(new));
    if before != after {
        keys::delete_index(txn, &before)?;
        keys::put_index(txn, &after)?;
    }
    put_json(txn, Table::Incidents, &keys::id_key(new.id.0), new)
}

/// Sets an incident's status and appends the history entry that explains it.
pub fn set_status(
    txn: &mut dyn WriteTxn,
    id: IncidentId,
    status: Option<IncidentStatus>,
    entry: &HistoryEntry,
) -> Result<()> {
    let old = must_get(txn, id)?;
    if let Some(status) = status
        && status != old.status
    {
        let mut new = old.clone();
        new.status = status;
        update(txn, &old, &new)?;
    }
    append_history(txn, id, entry)
}

/// Appends to the history; entries are never changed or removed.
pub fn append_history(txn: &mut dyn WriteTxn, id: IncidentId, entry: &HistoryEntry) -> Result<()> {
    let prefix = keys::id_key(id.0);
    let seq = match txn.prefix(Table::History, &prefix, Order::Reverse)?.next() {
        Some(e) => {
            let (k, _) = e?;
            k.get(8..16).and_then(keys::id_of).map_or(0, |s| s + 1)
        }
        None => 0,
    };
    let mut key = prefix.to_vec();
    key.extend_from_slice(&seq.to_be_bytes());
    put_json(txn, Table::History, &key, entry)
}

pub fn history(txn: &dyn ReadTxn, id: IncidentId) -> Result<Vec<HistoryEntry>> {
    let mut out = Vec::new();
    for e in txn.prefix(Table::History, &keys::id_key(id.0), Order::Forward)? {
        let (k, v) = e?;
        out.push(serde_json::from_slice(v).map_err(|e| StoreError::Corrupt {
            what: format!(
                "history of incident {id} entry {:?}",
                k.get(8..16).and_then(keys::id_of)
            ),
            detail: e.to_string(),
        })?);
    }
    Ok(out)
}

pub fn search(txn: &dyn ReadTxn, filter: &Filter, page: Page) -> Result<Found<Incident>> {
    search::run(txn, Indexed::Incident, filter, page, |id| {
        get(txn, IncidentId(id))
    })
}
