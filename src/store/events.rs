//! The event outbox: an ordered, bounded log of what happened (incidents, remediation, queue outcomes,
//! store alerts) for the SIEM exporter to read from a cursor. Ids and outcomes only, never content.

use super::kv::{Order, ReadTxn, Table, WriteTxn};

use super::keys;
use super::records::Event;
use super::{Result, StoreError, put_json};

/// What happened: the outbox's closed catalogue of event kinds, each stored (and exported) by its
/// stable dotted name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum EventKind {
    /// A violation of a held message recorded as a new incident.
    #[serde(rename = "incident.created")]
    IncidentCreated,
    /// Incidents of relayed or blocked mail recorded.
    #[serde(rename = "incident.recorded")]
    IncidentRecorded,
    #[serde(rename = "incident.resolved")]
    IncidentResolved,
    #[serde(rename = "incident.noted")]
    IncidentNoted,
    #[serde(rename = "quarantine.held")]
    QuarantineHeld,
    #[serde(rename = "quarantine.released")]
    QuarantineReleased,
    #[serde(rename = "quarantine.forwarded")]
    QuarantineForwarded,
    #[serde(rename = "quarantine.deleted")]
    QuarantineDeleted,
    #[serde(rename = "quarantine.expired")]
    QuarantineExpired,
    /// Messages whose content was removed to stay under the quarantine caps.
    #[serde(rename = "quarantine.evicted")]
    QuarantineEvicted,
    #[serde(rename = "quarantine.rescanned")]
    QuarantineRescanned,
    /// A release, forward or delete refused (the message was no longer held).
    #[serde(rename = "remediation.refused")]
    RemediationRefused,
    #[serde(rename = "approval.approved")]
    ApprovalApproved,
    #[serde(rename = "approval.rejected")]
    ApprovalRejected,
    #[serde(rename = "approval.expired")]
    ApprovalExpired,
    #[serde(rename = "queue.delivered")]
    QueueDelivered,
    #[serde(rename = "queue.deferred")]
    QueueDeferred,
    #[serde(rename = "queue.bounced")]
    QueueBounced,
}

impl EventKind {
    pub const ALL: [EventKind; 18] = [
        EventKind::IncidentCreated,
        EventKind::IncidentRecorded,
        EventKind::IncidentResolved,
        EventKind::IncidentNoted,
        EventKind::QuarantineHeld,
        EventKind::QuarantineReleased,
        EventKind::QuarantineForwarded,
        EventKind::QuarantineDeleted,
        EventKind::QuarantineExpired,
        EventKind::QuarantineEvicted,
        EventKind::QuarantineRescanned,
        EventKind::RemediationRefused,
        EventKind::ApprovalApproved,
        EventKind::ApprovalRejected,
        EventKind::ApprovalExpired,
        EventKind::QueueDelivered,
        EventKind::QueueDeferred,
        EventKind::QueueBounced,
    ];

    /// The stable dotted name (`quarantine.released`), as stored and exported.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::IncidentCreated => "incident.created",
            EventKind::IncidentRecorded => "incident.recorded",
            EventKind::IncidentResolved => "incident.resolved",
            EventKind::IncidentNoted => "incident.noted",
            EventKind::QuarantineHeld => "quarantine.held",
            EventKind::QuarantineReleased => "quarantine.released",
            EventKind::QuarantineForwarded => "quarantine.forwarded",
            EventKind::QuarantineDeleted => "quarantine.deleted",
            EventKind::QuarantineExpired => "quarantine.expired",
            EventKind::QuarantineEvicted => "quarantine.evicted",
            EventKind::QuarantineRescanned => "quarantine.rescanned",
            EventKind::RemediationRefused => "remediation.refused",
            EventKind::ApprovalApproved => "approval.approved",
            EventKind::ApprovalRejected => "approval.rejected",
            EventKind::ApprovalExpired => "approval.expired",
            EventKind::QueueDelivered => "queue.delivered",
            EventKind::QueueDeferred => "queue.deferred",
            EventKind::QueueBounced => "queue.bounced",
        }
    }
}

/// Events kept at most; the oldest are dropped past it (the exporter reads far more often).
pub const MAX_EVENTS: u64 = 1_000_000;

pub fn append(
    txn: &mut dyn WriteTxn,
    at: u64,
    kind: EventKind,
    fields: Vec<(String, String)>,
) -> Result<u64> {
    let seq = keys::next_id(txn, "event")?;
    let event = Event {
        seq,
        at,
        kind,
        fields,
    };
    put_json(txn, Table::Events, &keys::id_key(seq), &event)?;
    if seq > MAX_EVENTS {
        txn.delete(Table::Events, &keys::id_key(seq - MAX_EVENTS))?;
    }
    Ok(seq)
}

/// Events after `cursor`, oldest first, at most `max`.
pub fn since(txn: &dyn ReadTxn, cursor: u64, max: usize) -> Result<Vec<Event>> {
    let mut out = Vec::new();
    let from = keys::id_key(cursor.saturating_add(1));
    let range: (std::ops::Bound<&[u8]>, std::ops::Bound<&[u8]>) =
        (std::ops::Bound::Included(&from), std::ops::Bound::Unbounded);
    for e in txn.range(Table::Events, range, Order::Forward)? {
        let (k, v) = e?;
        out.push(serde_json::from_slice(v).map_err(|e| StoreError::Corrupt {
            what: format!("event {:?}", keys::id_of(k)),
            detail: e.to_string(),
        })?);
        if out.len() >= max {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_stored_by_its_dotted_name() {
        for k in EventKind::ALL {
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.name()));
            assert_eq!(serde_json::from_str::<EventKind>(&json).unwrap(), k);
        }
        // An event as the previous release wrote it reads unchanged.
        let old = r#"{"seq":3,"at":9,"kind":"quarantine.released","fields":[["held","1"]]}"#;
        let e: Event = serde_json::from_str(old).unwrap();
        assert_eq!(e.kind, EventKind::QuarantineReleased);
        assert_eq!(serde_json::to_string(&e).unwrap(), old);
    }
}
