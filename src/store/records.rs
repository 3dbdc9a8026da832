//! The records the store keeps, as plain serde data: held (quarantined) messages, incidents and their
//! history, delivery-queue entries, approvals and outbox events.
//!
//! Records are stored as JSON so that a newer field can be added with `#[serde(default)]` without a
//! migration; a record that does not decode is reported as corrupt by id, never silently skipped.
//! Evidence in these records is always redacted (the policy engine never hands out matched values).

use serde::{Deserialize, Serialize};

pub use crate::policy::{Direction, Severity};

/// Declares an id newtype: a counter value of one kind of record, stored (and shown) as the bare
/// number, so records keep their JSON.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A held (quarantined or awaiting approval) message.
    HeldId
);
id_type!(
    /// An incident.
    IncidentId
);
id_type!(
    /// A delivery-queue entry.
    QueueId
);
id_type!(
    /// An approval request.
    ApprovalId
);

/// A policy as recorded with a message or an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRef {
    pub id: u64,
    pub name: String,
    pub severity: Severity,
    #[serde(default)]
    pub monitor: bool,
}

/// Why a message is held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Hold {
    /// A Quarantine response rule: held for review by an administrator.
    Quarantine,
    /// Held until an approver decides (approval id in the `approvals` table).
    Approval { approval: ApprovalId },
}

/// Where a held message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum HeldStatus {
    Held,
    AwaitingApproval,
    Released,
    Deleted,
    Expired,
    Rejected,
    /// Per recipient, after a release: the next hop accepted the message.
    Delivered,
    /// Per recipient, after a release: the next hop refused it, or the queue gave up (bounced).
    Bounced,
    /// Per recipient, after a release: not delivered yet; the queue retries.
    Deferred,
}

impl HeldStatus {
    pub const ALL: [HeldStatus; 9] = [
        HeldStatus::Held,
        HeldStatus::AwaitingApproval,
        HeldStatus::Released,
        HeldStatus::Deleted,
        HeldStatus::Expired,
        HeldStatus::Rejected,
        HeldStatus::Delivered,
        HeldStatus::Bounced,
        HeldStatus::Deferred,
    ];

    pub fn name(self) -> &'static str {
        match self {
            HeldStatus::Held => "held",
            HeldStatus::AwaitingApproval => "awaiting_approval",
            HeldStatus::Released => "released",
            HeldStatus::Deleted => "deleted",
            HeldStatus::Expired => "expired",
            HeldStatus::Rejected => "rejected",
            HeldStatus::Delivered => "delivered",
            HeldStatus::Bounced => "bounced",
            HeldStatus::Deferred => "deferred",
        }
    }

    pub fn parse(s: &str) -> Option<HeldStatus> {
        HeldStatus::ALL.into_iter().find(|v| v.name() == s)
    }

    /// The message content is still in the store and can be released.
    pub fn is_open(self) -> bool {
        matches!(self, HeldStatus::Held | HeldStatus::AwaitingApproval)
    }

    /// A recipient released to the delivery queue, whose status follows the delivery outcome.
    pub fn is_released(self) -> bool {
        matches!(
            self,
            HeldStatus::Released
                | HeldStatus::Delivered
                | HeldStatus::Bounced
                | HeldStatus::Deferred
        )
    }
}

/// One envelope recipient of a held message, with its own status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldRecipient {
    pub address: String,
    /// The DSN NOTIFY the upstream gave (RFC 3461), carried to release and its reports.
    #[serde(default)]
    pub notify: crate::message::Notify,
    /// The raw ORCPT parameter, kept for release and DSNs.
    #[serde(default)]
    pub orcpt: Option<String>,
    pub status: HeldStatus,
}

/// A message the store holds (quarantine or approval), without its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    pub id: HeldId,
    /// Sluice's message GUID (`X-dlp-uniquemsgid`).
    pub guid: String,
    /// Unix seconds when it was received.
    pub received: u64,
    pub direction: Direction,
    /// The upstream client's IP (the release target in reflecting mode).
    pub peer: String,
    pub sender: String,
    /// The raw ENVID and RET of the original transaction.
    #[serde(default)]
    pub envid: Option<String>,
    #[serde(default)]
    pub ret_full: bool,
    pub recipients: Vec<HeldRecipient>,
    pub subject: String,
    /// The Message-ID header field.
    pub message_id: String,
    pub size: u64,
    pub policies: Vec<PolicyRef>,
    /// The highest severity among the policies.
    pub severity: Severity,
    pub status: HeldStatus,
    pub hold: Hold,
    /// Redacted findings, one line per matched rule.
    pub findings: Vec<String>,
    pub incidents: Vec<IncidentId>,
    /// Unix seconds after which the retention purge removes the content.
    pub expires: u64,
}

/// Incident status (the seed's list, plus the approval outcomes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    New,
    RemediationAttempted,
    Released,
    Deleted,
    Expired,
    Rejected,
    Resolved,
}

impl IncidentStatus {
    pub const ALL: [IncidentStatus; 7] = [
        IncidentStatus::New,
        IncidentStatus::RemediationAttempted,
        IncidentStatus::Released,
        IncidentStatus::Deleted,
        IncidentStatus::Expired,
        IncidentStatus::Rejected,
        IncidentStatus::Resolved,
    ];

    pub fn name(self) -> &'static str {
        match self {
            IncidentStatus::New => "new",
            IncidentStatus::RemediationAttempted => "remediation_attempted",
            IncidentStatus::Released => "released",
            IncidentStatus::Deleted => "deleted",
            IncidentStatus::Expired => "expired",
            IncidentStatus::Rejected => "rejected",
            IncidentStatus::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<IncidentStatus> {
        IncidentStatus::ALL.into_iter().find(|v| v.name() == s)
    }
}

/// One incident: one violated policy on one message (copies of the message reconciled into it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub id: IncidentId,
    pub guid: String,
    pub created: u64,
    pub policy: PolicyRef,
    pub status: IncidentStatus,
    pub direction: Direction,
    pub peer: String,
    pub sender: String,
    pub recipients: Vec<String>,
    pub subject: String,
    pub message_id: String,
    pub size: u64,
    /// Redacted findings of this policy's matched rules.
    pub findings: Vec<String>,
    /// What Sluice did with the message: `blocked`, `relayed`, `redirected`, `quarantined`, ...
    pub action: String,
    /// The held message, when the message was quarantined.
    #[serde(default)]
    pub held: Option<HeldId>,
    /// How many copies of the message were reconciled into this incident (1 = none).
    #[serde(default = "one")]
    pub copies: u32,
}

fn one() -> u32 {
    1
}

/// One entry of an incident's append-only history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: u64,
    /// Who acted: an admin user, an approver address, or `sluice` for the system.
    pub actor: String,
    pub action: String,
    pub result: String,
}

/// What a queue entry carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum QueueKind {
    /// A held message released (or forwarded) from quarantine.
    Release { held: HeldId },
    /// A notice built by Sluice (notification, approval request, delay notice, bounce).
    Notice { what: String },
    /// A message a gateway listener accepted (custody taken), inspected and now delivered by the
    /// routing list: each pending recipient to its domain's route.
    Gateway {
        /// Sluice's message GUID.
        guid: String,
        direction: Direction,
        /// The listener that accepted it.
        listener: String,
        /// When its 250 was given (Unix seconds; `sluice_time_to_delivery_seconds`); none for a
        /// report Sluice built about one, and for entries queued before this was kept.
        #[serde(default)]
        received: Option<u64>,
    },
}

/// A recipient's delivery state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum RcptState {
    Pending,
    Delivered {
        at: u64,
        reply: String,
    },
    /// Refused permanently, or given up on; `reply` says why.
    Failed {
        at: u64,
        reply: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedRecipient {
    pub address: String,
    /// The DSN NOTIFY to relay and to honour in delay notices and bounces.
    #[serde(default)]
    pub notify: crate::message::Notify,
    #[serde(default)]
    pub orcpt: Option<String>,
    pub state: RcptState,
    /// The last temporary reply, for delay notices and bounces.
    #[serde(default)]
    pub last_reply: Option<String>,
}

/// A message waiting for delivery by the store-and-forward queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queued {
    pub id: QueueId,
    pub kind: QueueKind,
    pub created: u64,
    /// Envelope sender; empty for the null sender (bounces and delay notices).
    pub sender: String,
    #[serde(default)]
    pub envid: Option<String>,
    #[serde(default)]
    pub ret_full: bool,
    pub recipients: Vec<QueuedRecipient>,
    /// Where to deliver in reflecting mode (the original upstream); empty otherwise.
    #[serde(default)]
    pub peer: String,
    pub attempts: u32,
    pub next_attempt: u64,
    pub give_up_at: u64,
    #[serde(default)]
    pub delay_notice_sent: bool,
    /// On hold at an administrator's word (`sluice queue hold`): not in the due index, so the
    /// worker never leases it, until released (due at once then).
    #[serde(default)]
    pub held: bool,
}

impl QueuedRecipient {
    /// A recipient not tried yet, with no DSN request of its own.
    pub fn new(address: impl Into<String>) -> QueuedRecipient {
        QueuedRecipient {
            address: address.into(),
            notify: Default::default(),
            orcpt: None,
            state: RcptState::Pending,
            last_reply: None,
        }
    }
}

impl Queued {
    /// Mail Sluice itself sends (a notice, a report, a forwarded copy): the null sender, so it
    /// never bounces back and no delay notice is due; first attempt at `now`, given up after
    /// `give_up` seconds; `peer` is where to deliver in reflecting mode.
    pub fn own(kind: QueueKind, to: &[String], peer: &str, now: u64, give_up: u64) -> Queued {
        Queued {
            id: QueueId(0),
            kind,
            created: now,
            sender: String::new(),
            envid: None,
            ret_full: false,
            recipients: to.iter().map(QueuedRecipient::new).collect(),
            peer: peer.to_string(),
            attempts: 0,
            next_attempt: now,
            give_up_at: now.saturating_add(give_up),
            delay_notice_sent: true,
            held: false,
        }
    }

    pub fn pending(&self) -> impl Iterator<Item = &QueuedRecipient> {
        self.recipients
            .iter()
            .filter(|r| r.state == RcptState::Pending)
    }
}

/// Approval state of a held message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum ApprovalState {
    Pending,
    Approved { by: String, at: u64 },
    Rejected { by: String, at: u64 },
    Expired { at: u64 },
}

/// A request for approval of one held message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub id: ApprovalId,
    pub held: HeldId,
    pub approvers: Vec<String>,
    pub created: u64,
    pub expires: u64,
    pub state: ApprovalState,
}

/// An event for the SIEM outbox: the catalogue's record, kept as it is.
pub use crate::events::Event;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_values_keep_the_json_earlier_stores_hold() {
        for (s, name) in [
            (Severity::Info, "info"),
            (Severity::Low, "low"),
            (Severity::Medium, "medium"),
            (Severity::High, "high"),
            (Severity::Critical, "critical"),
        ] {
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{name}\""));
            assert_eq!(s.name(), name);
        }
        for d in Direction::ALL {
            assert_eq!(
                serde_json::to_string(&d).unwrap(),
                format!("\"{}\"", d.name())
            );
            assert_eq!(Direction::parse(d.name()), Some(d));
        }
        // A policy reference and an incident as the previous release wrote them read unchanged.
        let old = r#"{"id":7,"name":"PCI","severity":"critical","monitor":false}"#;
        let p: PolicyRef = serde_json::from_str(old).unwrap();
        assert_eq!(p.severity, Severity::Critical);
        assert_eq!(serde_json::to_string(&p).unwrap(), old);
        let incident = r#"{"id":1,"guid":"G","created":5,"policy":{"id":7,"name":"PCI","severity":"high","monitor":false},"status":"new","direction":"inbound","peer":"192.0.2.1","sender":"a@b","recipients":["c@d"],"subject":"s","message_id":"<m@x>","size":3,"findings":[],"action":"quarantined","held":null,"copies":1}"#;
        let i: Incident = serde_json::from_str(incident).unwrap();
        assert_eq!(i.direction, Direction::Inbound);
        assert_eq!(i.id, IncidentId(1));
        // Ids are stored as bare numbers.
        assert_eq!(serde_json::to_string(&HeldId(7)).unwrap(), "7");
        let q: QueueKind = serde_json::from_str(r#"{"kind":"release","held":3}"#).unwrap();
        assert_eq!(q, QueueKind::Release { held: HeldId(3) });
        assert_eq!(serde_json::to_string(&i).unwrap(), incident);
    }
}
