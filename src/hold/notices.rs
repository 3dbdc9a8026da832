//! Notices about held and violating messages: the facts a notice template sees (built from what the
//! store keeps), and queuing a built notice for delivery in the same transaction as the change it
//! reports, so a notice is sent if and only if that change committed.

use crate::notify::{self, Content, Disposition, Kind, PolicyFact};
use crate::policy::{Audience, Verdict};
use crate::store::records::{Approval, Held, HeldId, IncidentId, QueueId, QueueKind, Queued};
use crate::store::{StoreError, WriteTxn, queue};

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

/// Template facts for a held message (approval requests and outcomes, releases). `approval` is
/// its approval, when it waits for (or waited for) one: `${EXPIRES}` is that approval's expiry.
pub fn facts_of_held(
    held: &Held,
    approval: Option<&Approval>,
    disposition: Option<Disposition>,
) -> notify::Facts {
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
                severity: p.severity,
            })
            .collect(),
        content: held
            .findings
            .iter()
            .map(|line| finding(held, line))
            .collect(),
        disposition,
        quarantine_id: held.id.to_string(),
        incident_ids: held.incidents.iter().map(IncidentId::to_string).collect(),
        expires: approval.map(|a| a.expires),
        ..notify::Facts::default()
    }
}

/// One recorded finding line (`policy 3 rule "cards": CREDIT_CARD x2 in body`, as
/// `scan::describe` writes it) as a `${CONTENTINFO}` entry: the policy by its recorded name, the
/// rule by its name, once each. A line of another shape is shown whole.
fn finding(held: &Held, line: &str) -> Content {
    let parsed = line.strip_prefix("policy ").and_then(|rest| {
        let (id, rest) = rest.split_once(" rule ")?;
        let id: u64 = id.parse().ok()?;
        let (rule, detail) = quoted(rest)?;
        let detail = detail.strip_prefix(": ")?;
        let policy = held
            .policies
            .iter()
            .find(|p| p.id == id)
            .map_or_else(|| format!("policy {id}"), |p| p.name.clone());
        Some(Content::Rule {
            policy,
            rule,
            detail: detail.to_string(),
        })
    });
    parsed.unwrap_or_else(|| Content::Rule {
        policy: String::new(),
        rule: String::new(),
        detail: line.to_string(),
    })
}

/// A leading Rust-debug-quoted string (`"a \"b\""`), unescaped, and the rest after it.
fn quoted(s: &str) -> Option<(String, &str)> {
    let body = s.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &body[i + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

/// Template facts of an approval request to one approver: the held message, the signed links and
/// the approval's expiry.
pub fn request_facts(
    held: &Held,
    approval: &Approval,
    approve_url: String,
    reject_url: String,
) -> notify::Facts {
    notify::Facts {
        approve_url,
        reject_url,
        ..facts_of_held(held, Some(approval), Some(Disposition::HeldForApproval))
    }
}

/// Template facts of a decision told to the sender (approved, rejected, expired): `comment` is the
/// approver's comment (already cleaned), also given as `${REASON}` with a label.
pub fn decision_facts(
    held: &Held,
    approval: &Approval,
    kind: Kind,
    disposition: Disposition,
    comment: &str,
) -> notify::Facts {
    let mut facts = facts_of_held(held, Some(approval), Some(disposition));
    if kind == Kind::Expired {
        facts.reason =
            "The message has been returned to the sender because no decision was made".into();
    } else if !comment.is_empty() {
        facts.reason = format!("Comment from the approver: {comment}");
        facts.approver_comment = comment.to_string();
    }
    facts
}

/// The violation notices the matching policies ask for, prepared before the store write: the
/// facts of the message and who gets which kind. [`Violation::notices`] renders them inside the
/// write, once the quarantine id, incident ids and approval are known.
#[derive(Debug, Clone)]
pub struct Violation {
    facts: notify::Facts,
    wanted: Vec<(Kind, Vec<String>)>,
}

/// What is known about a violation only inside the store write.
#[derive(Debug, Clone, Copy, Default)]
pub struct Recorded<'a> {
    /// The held message's id, when it was held.
    pub held: Option<HeldId>,
    pub incidents: &'a [IncidentId],
    /// The approval's expiry, when it waits for one.
    pub expires: Option<u64>,
}

impl Violation {
    /// One notice per audience the matching policies ask for, naming every policy that asked for
    /// it. Sender and recipient notices come only from enforcing policies.
    pub fn new(
        settings: &notify::Settings,
        facts: &Facts,
        verdict: &Verdict,
        disposition: Disposition,
        now: u64,
    ) -> Violation {
        let wants = |who: Audience, enforcing_only: bool| {
            verdict
                .hits
                .iter()
                .any(|h| h.notify.contains(&who) && (!enforcing_only || !h.monitor))
        };
        let f = facts_of(facts, verdict, now, disposition);
        let mut wanted = Vec::new();
        let mut add = |kind: Kind, to: Vec<String>| {
            if !to.is_empty() && settings.wanted(kind, &f) {
                wanted.push((kind, to));
            }
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
        Violation { facts: f, wanted }
    }

    /// Whether no notice is due.
    pub fn is_empty(&self) -> bool {
        self.wanted.is_empty()
    }

    /// The template facts with what the store write knows.
    pub fn facts(&self, recorded: Recorded<'_>) -> notify::Facts {
        notify::Facts {
            quarantine_id: recorded.held.map(|id| id.to_string()).unwrap_or_default(),
            incident_ids: recorded
                .incidents
                .iter()
                .map(IncidentId::to_string)
                .collect(),
            expires: recorded.expires,
            ..self.facts.clone()
        }
    }

    /// What of `original` the notices can carry (`notifications.attach_original`), for a caller
    /// that must keep it until the write: the header block alone unless whole messages are
    /// attached, so a large relayed message is not copied for its notices.
    pub fn kept_original(settings: &notify::Settings, original: &[u8]) -> Vec<u8> {
        match settings.attach_original {
            notify::Attach::Full => original.to_vec(),
            notify::Attach::Headers => {
                original[..crate::message::header::header_end(original)].to_vec()
            }
            notify::Attach::None => Vec::new(),
        }
    }

    /// The notices, rendered.
    pub fn notices(
        &self,
        settings: &notify::Settings,
        recorded: Recorded<'_>,
        now: u64,
        original: &[u8],
    ) -> Vec<Notice> {
        let f = self.facts(recorded);
        self.wanted
            .iter()
            .map(|(kind, to)| Notice {
                kind: *kind,
                to: to.clone(),
                bytes: settings.notice(*kind, &f, to, uuid::Uuid::new_v4(), now, Some(original)),
            })
            .collect()
    }
}

/// Queues a notice (null sender, so it can never bounce back) in the caller's transaction.
/// `peer` is where to deliver in reflecting mode (the MTA the original came from).
pub fn enqueue(
    txn: &mut dyn WriteTxn,
    notice: &Notice,
    peer: &str,
    now: u64,
) -> Result<QueueId, StoreError> {
    queue::insert(
        txn,
        Queued::own(
            QueueKind::Notice {
                what: notice.kind.name().to_string(),
            },
            &notice.to,
            peer,
            now,
            NOTICE_GIVE_UP,
        ),
        &notice.bytes,
    )
}
