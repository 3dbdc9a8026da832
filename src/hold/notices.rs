//! Notices about held and violating messages: the facts a notice template sees (built from what the
//! store keeps), and queuing a built notice for delivery in the same transaction as the change it
//! reports, so a notice is sent if and only if that change committed.

use heed::RwTxn;

use crate::notify::{self, Content, Disposition, Kind, PolicyFact};
use crate::policy::{Audience, Severity, Verdict};
use crate::store::records::{Held, QueueKind, Queued, QueuedRecipient, RcptState};
use crate::store::{Dbs, StoreError, queue};

use super::Facts;

/// How long a notice is retried before it is given up (no bounce: notices go out with the null
/// sender). The delivery queue's own `give_up` applies to released messages.
pub const NOTICE_GIVE_UP: u64 = 2 * 86_400;

/// A notice ready to queue.
#[derive(Debug, Clone)]
pub struct Notice {
    pub kind: Kind,
    pub to: Vec<String>,
    pub bytes: Vec<u8>,
}

/// Template facts for a message that violated policies.
pub fn facts_of(
    facts: &Facts,
    verdict: &Verdict,
    now: u64,
    disposition: Disposition,
) -> notify::Facts {
    let mut content = Vec::new();
    for hit in &verdict.hits {
        for m in &hit.matched {
            let prefix = format!("policy {} rule {:?}: ", hit.id, m.rule);
            let detail = verdict
                .detail
                .iter()
                .find_map(|l| l.strip_prefix(&prefix))
                .unwrap_or("conditions held")
                .to_string();
            content.push(Content::Rule {
                policy: hit.name.clone(),
                rule: m.rule.clone(),
                detail,
            });
        }
    }
    notify::Facts {
        guid: facts.guid.clone(),
        sender: facts.sender.clone(),
        recipients: facts.recipients.iter().map(|r| r.address.clone()).collect(),
        subject: facts.subject.clone(),
        date: Some(now),
        message_id: facts.message_id.clone(),
        size: Some(facts.size),
        policies: verdict
            .hits
            .iter()
            .map(|h| PolicyFact {
                id: h.id,
                name: h.name.clone(),
                severity: h.severity,
            })
            .collect(),
        content,
        disposition: Some(disposition),
        ..notify::Facts::default()
    }
}

/// Template facts for a held message (approval requests and outcomes, releases).
pub fn facts_of_held(held: &Held, disposition: Option<Disposition>) -> notify::Facts {
    notify::Facts {
        guid: held.guid.clone(),
        sender: held.sender.clone(),
        recipients: held.recipients.iter().map(|r| r.address.clone()).collect(),
        subject: held.subject.clone(),
        date: Some(held.received),
        message_id: held.message_id.clone(),
        size: Some(held.size),
        policies: held
            .policies
            .iter()
            .map(|p| PolicyFact {
                id: p.id,
                name: p.name.clone(),
                severity: Severity::parse(&p.severity).unwrap_or(Severity::Medium),
            })
            .collect(),
        content: held
            .findings
            .iter()
            .map(|line| {
                let (head, detail) = line.split_once(": ").unwrap_or(("", line));
                Content::Rule {
                    policy: head.to_string(),
                    rule: String::new(),
                    detail: detail.to_string(),
                }
            })
            .collect(),
        disposition,
        quarantine_id: held.id.to_string(),
        incident_ids: held.incidents.iter().map(u64::to_string).collect(),
        ..notify::Facts::default()
    }
}

/// The violation notices the matching policies ask for: one per audience, naming every policy that
/// asked for it. Sender and recipient notices come only from enforcing policies.
pub fn violation_notices(
    settings: &notify::Settings,
    facts: &Facts,
    verdict: &Verdict,
    disposition: Disposition,
    now: u64,
    original: &[u8],
) -> Vec<Notice> {
    let wants = |who: Audience, enforcing_only: bool| {
        verdict
            .hits
            .iter()
            .any(|h| h.notify.contains(&who) && (!enforcing_only || !h.monitor))
    };
    let f = facts_of(facts, verdict, now, disposition);
    let mut out = Vec::new();
    let mut add = |kind: Kind, to: Vec<String>| {
        if to.is_empty() || !settings.wanted(kind, &f) {
            return;
        }
        let bytes = settings.notice(kind, &f, &to, uuid::Uuid::new_v4(), now, Some(original));
        out.push(Notice { kind, to, bytes });
    };
    if wants(Audience::Admin, false) {
        add(Kind::AdminViolation, settings.admin.clone());
    }
    if wants(Audience::Sender, true) && !facts.sender.is_empty() {
        add(Kind::SenderViolation, vec![facts.sender.clone()]);
    }
    if wants(Audience::Recipients, true) {
        add(
            Kind::RecipientViolation,
            facts.recipients.iter().map(|r| r.address.clone()).collect(),
        );
    }
    out
}

/// Queues a notice (null sender, so it can never bounce back) in the caller's transaction.
/// `peer` is where to deliver in reflecting mode (the MTA the original came from).
pub fn enqueue(
    dbs: &Dbs,
    txn: &mut RwTxn<'_>,
    notice: &Notice,
    peer: &str,
    now: u64,
) -> Result<u64, StoreError> {
    queue::insert(
        dbs,
        txn,
        Queued {
            id: 0,
            kind: QueueKind::Notice {
                what: notice.kind.name().to_string(),
            },
            created: now,
            sender: String::new(),
            envid: None,
            ret_full: false,
            recipients: notice
                .to
                .iter()
                .map(|a| QueuedRecipient {
                    address: a.clone(),
                    notify: Default::default(),
                    orcpt: None,
                    state: RcptState::Pending,
                    last_reply: None,
                })
                .collect(),
            peer: peer.to_string(),
            attempts: 0,
            next_attempt: now,
            give_up_at: now.saturating_add(NOTICE_GIVE_UP),
            delay_notice_sent: true,
        },
        &notice.bytes,
    )
}
