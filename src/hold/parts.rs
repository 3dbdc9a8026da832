//! The parts of holding and recording: the approval requests of a held message, the incidents of
//! a verdict, eviction at the quarantine caps, and small helpers.

use super::*;

/// One approval request per approver, each with its own approve and reject links.
pub(super) fn approval_requests(
    settings: &notify::Settings,
    links: &Links,
    held: &Held,
    approval: &Approval,
    original: &[u8],
    now: u64,
) -> Vec<Notice> {
    let mut out = Vec::new();
    for (i, approver) in approval.approvers.iter().enumerate() {
        let i = u32::try_from(i).unwrap_or(u32::MAX);
        let link = (approval.id.0, held.guid.as_str());
        let f = notices::request_facts(
            held,
            approval,
            links.url(link, i, token::Decision::Approve, approval.expires),
            links.url(link, i, token::Decision::Reject, approval.expires),
        );
        let to = vec![approver.clone()];
        let bytes = settings.notice(
            Kind::ApprovalRequest,
            &f,
            &to,
            uuid::Uuid::new_v4(),
            now,
            Some(original),
        );
        out.push(Notice {
            kind: Kind::ApprovalRequest,
            to,
            bytes,
        });
    }
    out
}

/// One incident per violated policy (monitor-only policies included), each with the action its
/// policy chose (for its `policy.violation` event).
pub(super) fn incidents_of(
    facts: &Facts,
    verdict: &Verdict,
    now: u64,
    action: &str,
) -> Vec<(Incident, &'static str)> {
    verdict
        .hits
        .iter()
        .map(|hit| {
            let prefix = format!("policy {} ", hit.id);
            let incident = Incident {
                id: IncidentId(0),
                guid: facts.guid.clone(),
                created: now,
                policy: PolicyRef {
                    id: hit.id,
                    name: hit.name.clone(),
                    severity: hit.severity,
                    monitor: hit.monitor,
                },
                status: IncidentStatus::New,
                direction: facts.direction,
                peer: facts.peer.clone(),
                sender: facts.sender.clone(),
                recipients: facts.recipients.iter().map(|r| r.address.clone()).collect(),
                subject: facts.subject.clone(),
                message_id: facts.message_id.clone(),
                size: facts.size,
                findings: verdict
                    .evidence
                    .iter()
                    .filter(|l| l.starts_with(&prefix))
                    .cloned()
                    .collect(),
                action: if hit.monitor {
                    format!("{action} (policy in monitor mode)")
                } else {
                    action.to_string()
                },
                held: None,
                copies: 1,
            };
            (incident, hit.action)
        })
        .collect()
}

/// The one log line of an eviction at a quarantine cap: the quarantine id and the cap, never content.
pub(super) fn log_eviction(id: HeldId, reason: &str) {
    tracing::warn!(
        quarantine_id = id.0,
        reason,
        "quarantine cap reached; oldest held message evicted (content removed)"
    );
}

pub(super) fn evicted_history(
    txn: &mut dyn WriteTxn,
    victim: HeldId,
    reason: &str,
    now: u64,
) -> Result<(), StoreError> {
    let Some(h) = held::get(txn, victim)? else {
        return Ok(());
    };
    for &inc in &h.incidents {
        incidents::set_status(
            txn,
            inc,
            Some(IncidentStatus::Deleted),
            &HistoryEntry {
                at: now,
                actor: "sluice".into(),
                action: "evict".into(),
                result: format!("quarantine cap reached ({reason}); held message {victim} evicted"),
            },
        )?;
    }
    let event = fields::held(&h)
        .with(Field::UserName, "sluice")
        .with(Field::Cap, reason)
        .with(Field::EventReason, reason);
    events::append(txn, now, EventKind::QuarantineEvicted, event)?;
    Ok(())
}

pub(super) fn highest(policies: &[PolicyRef]) -> Severity {
    policies
        .iter()
        .map(|p| p.severity)
        .max()
        .unwrap_or(Severity::Info)
}

pub(super) fn join_ids(ids: &[IncidentId]) -> String {
    ids.iter()
        .map(IncidentId::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_highest_severity_wins() {
        let p = |severity| PolicyRef {
            id: 1,
            name: "p".into(),
            severity,
            monitor: false,
        };
        let all = [p(Severity::Low), p(Severity::Critical), p(Severity::Medium)];
        assert_eq!(highest(&all), Severity::Critical);
        assert_eq!(highest(&[]), Severity::Info);
    }
}
