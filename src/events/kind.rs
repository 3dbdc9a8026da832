//! The closed list of event kinds: id, dotted name, category, severity and a one-line description
//! each, in one table (the generated reference `EVENTS.md` is written from it).

/// What an event is about; decides which ECS `event.category` it maps to and lets a destination
/// take only some.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// SMTP connections: refused, protocol violations.
    Smtp,
    /// A message's final disposition at the SMTP edge.
    Message,
    /// Policy violations and the incidents that record them.
    Policy,
    /// Held messages: released, forwarded, deleted, expired, evicted, rescanned.
    Quarantine,
    /// Approval decisions.
    Approval,
    /// The delivery queue's outcomes.
    Queue,
    /// Administrators: logons, changes, denied access.
    Admin,
    /// Configuration reloads.
    Config,
    /// System alerts and service life cycle.
    System,
    /// Definition updates.
    Update,
}

impl Category {
    pub const ALL: [Category; 10] = [
        Category::Smtp,
        Category::Message,
        Category::Policy,
        Category::Quarantine,
        Category::Approval,
        Category::Queue,
        Category::Admin,
        Category::Config,
        Category::System,
        Category::Update,
    ];

    /// The name used in configuration (`categories = ["message", "policy"]`) and in every format.
    pub fn name(self) -> &'static str {
        match self {
            Category::Smtp => "smtp",
            Category::Message => "message",
            Category::Policy => "policy",
            Category::Quarantine => "quarantine",
            Category::Approval => "approval",
            Category::Queue => "queue",
            Category::Admin => "admin",
            Category::Config => "config",
            Category::System => "system",
            Category::Update => "update",
        }
    }

    pub fn from_name(name: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.name() == name)
    }
}

macro_rules! kinds {
    ($( $(#[$doc:meta])* $variant:ident = $id:literal, $name:literal, $cat:ident, $sev:literal,
        $summary:literal $(, alias $alias:literal)* ; )*) => {
        /// What happened. Stored and exported by its dotted [`Kind::name`]; its [`Kind::id`] is the
        /// CEF event class id, the LEEF event id and the RFC 5424 MSGID.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Kind {
            $( $(#[$doc])* $variant, )*
        }

        impl Kind {
            /// Every kind, in id order.
            pub const ALL: &'static [Kind] = &[ $( Kind::$variant, )* ];

            /// The stable numeric id.
            pub fn id(self) -> u16 {
                match self { $( Kind::$variant => $id, )* }
            }

            /// The stable dotted name (`quarantine.released`).
            pub fn name(self) -> &'static str {
                match self { $( Kind::$variant => $name, )* }
            }

            pub fn category(self) -> Category {
                match self { $( Kind::$variant => Category::$cat, )* }
            }

            /// 0 (routine) to 10 (urgent), as CEF and LEEF carry it.
            pub fn severity(self) -> u8 {
                match self { $( Kind::$variant => $sev, )* }
            }

            /// One line saying what the event means (the reference and the CEF/LEEF name).
            pub fn summary(self) -> &'static str {
                match self { $( Kind::$variant => $summary, )* }
            }

            /// The kind stored under `name`, including the names earlier releases used.
            pub fn from_name(name: &str) -> Option<Kind> {
                match name {
                    $( $name $(| $alias)* => Some(Kind::$variant), )*
                    _ => None,
                }
            }
        }
    };
}

kinds! {
    // SMTP connections (100-199).
    /// A connection refused before the greeting (connection limits, the listener draining).
    SmtpConnectionRefused = 100, "smtp.connection.refused", Smtp, 3,
        "SMTP connection refused";
    /// A client broke the protocol badly enough to be disconnected (line too long, too many errors,
    /// pipelining before the greeting).
    SmtpProtocolViolation = 101, "smtp.protocol_violation", Smtp, 4, "SMTP protocol violation";
    /// A TLS handshake with a client failed.
    SmtpTlsFailed = 102, "smtp.tls.failed", Smtp, 3, "SMTP TLS handshake failed";
    /// A client over a gateway listener's rate limit (`gateway.max_connection_rate`,
    /// `gateway.max_message_rate`): refused with a 4xx; at most one per client a minute.
    SmtpRateLimited = 103, "smtp.rate_limited", Smtp, 4, "SMTP client rate limited";

    // A message's final disposition at the SMTP edge (200-299): exactly one per message.
    /// Accepted into the gateway's queue (store-and-forward mode).
    MessageAccepted = 200, "message.accepted", Message, 1, "Message accepted";
    /// Passed to the next hop unchanged, which accepted it.
    MessageRelayed = 201, "message.relayed", Message, 1, "Message relayed";
    /// Refused with a permanent reply by a policy.
    MessageBlocked = 202, "message.blocked", Message, 6, "Message blocked";
    /// Sent to other recipients than addressed (a redirect action).
    MessageRedirected = 203, "message.redirected", Message, 5, "Message redirected";
    /// Relayed with changes (headers added, subject tagged, attachments removed).
    MessageModified = 204, "message.modified", Message, 4, "Message modified and relayed";
    /// Held in the quarantine (or for an approver); the client got a success reply.
    MessageQuarantined = 205, "message.quarantined", Message, 5, "Message quarantined",
        alias "quarantine.held";
    /// The client got a temporary failure (next hop down or deferring, store full); it will retry.
    MessageDeferred = 206, "message.deferred", Message, 4, "Message deferred";
    /// Refused before DATA completed, without a policy (relay denied, size, recipients).
    MessageRejected = 207, "message.rejected", Message, 3, "Message rejected";

    // Policy violations and incidents (300-399).
    /// A policy matched a message: one event per policy and message, with its incident.
    PolicyViolation = 300, "policy.violation", Policy, 6, "Policy violation",
        alias "incident.created", alias "incident.recorded";
    IncidentResolved = 301, "incident.resolved", Policy, 2, "Incident resolved";
    IncidentNoted = 302, "incident.noted", Policy, 1, "Note added to incident";

    // The quarantine (400-499).
    QuarantineReleased = 400, "quarantine.released", Quarantine, 4, "Held message released";
    QuarantineForwarded = 401, "quarantine.forwarded", Quarantine, 4, "Held message forwarded";
    QuarantineDeleted = 402, "quarantine.deleted", Quarantine, 3, "Held message deleted";
    QuarantineExpired = 403, "quarantine.expired", Quarantine, 2, "Held message expired";
    /// Content removed to stay under the quarantine caps.
    QuarantineEvicted = 404, "quarantine.evicted", Quarantine, 5, "Held message evicted";
    QuarantineRescanned = 405, "quarantine.rescanned", Quarantine, 2, "Held message rescanned";
    /// A release, forward or delete refused (the message was no longer held).
    RemediationRefused = 406, "remediation.refused", Quarantine, 3, "Remediation refused";

    // Approvals (500-599).
    ApprovalApproved = 500, "approval.approved", Approval, 3, "Message approved";
    ApprovalRejected = 501, "approval.rejected", Approval, 4, "Message rejected by approver";
    ApprovalExpired = 502, "approval.expired", Approval, 4, "Approval request expired";

    // The delivery queue (600-699), one event per recipient.
    QueueDelivered = 600, "queue.delivered", Queue, 1, "Delivered";
    QueueDeferred = 601, "queue.deferred", Queue, 3, "Delivery deferred";
    QueueBounced = 602, "queue.bounced", Queue, 5, "Delivery failed, bounced";
    /// A message in the gateway's custody whose inspection failed `gateway.inspect_attempts`
    /// times, held as suspect until an administrator acts.
    QueueHeld = 603, "queue.held", Queue, 7, "Suspect message held";
    /// An administrator's word on the queue (`sluice queue`, the admin UI), one event per message
    /// with the operator as `user.name`: released from hold (back to inspection, or uninspected).
    QueueReleased = 604, "queue.released", Queue, 4, "Queued message released";
    /// Removed from the queue: never delivered, no bounce.
    QueueDeleted = 605, "queue.deleted", Queue, 4, "Queued message deleted";
    /// An uninspected copy sent to one address; the message stays where it was.
    QueueForwarded = 606, "queue.forwarded", Queue, 4, "Queued message forwarded";
    /// Made due now, without waiting for its schedule.
    QueueRetried = 607, "queue.retried", Queue, 2, "Queued message retried";
    /// Put on hold: neither inspected nor delivered until released.
    QueueOnHold = 608, "queue.on_hold", Queue, 4, "Queued message put on hold";

    // Administrators (700-799).
    AdminLogonSucceeded = 700, "admin.logon.succeeded", Admin, 2, "Administrator logon";
    AdminLogonFailed = 701, "admin.logon.failed", Admin, 5, "Administrator logon failed";
    /// Logons from a client refused for a while after repeated failures.
    AdminLogonThrottled = 702, "admin.logon.throttled", Admin, 7, "Administrator logon throttled";
    AdminLogoff = 703, "admin.logoff", Admin, 1, "Administrator logoff";
    /// A setting, policy, account or list changed through the UI or API.
    AdminChange = 704, "admin.change", Admin, 4, "Configuration object modified";
    /// A page or action outside the account's role was asked for.
    AdminAccessDenied = 705, "admin.access_denied", Admin, 6, "Unauthorized access attempt";

    // Configuration (800-899).
    ConfigReloaded = 800, "config.reloaded", Config, 3, "Configuration reloaded";
    /// A reload refused (invalid file, or a change that needs a restart): the old one stays.
    ConfigReloadRefused = 801, "config.reload_refused", Config, 6, "Configuration reload refused";

    // System (900-999).
    SystemStarted = 900, "system.started", System, 2, "Service started";
    SystemStopped = 901, "system.stopped", System, 3, "Service stopped";
    /// A store write failed for lack of space (its map or the disk).
    SystemStoreFull = 902, "system.store_full", System, 9, "Store full";
    /// Free disk space under the alert threshold.
    SystemDiskLow = 903, "system.disk_low", System, 8, "Low disk space";
    /// The next hop did not answer or refused connections.
    SystemNextHopDown = 904, "system.next_hop.down", System, 8, "Next hop unreachable";
    SystemNextHopUp = 905, "system.next_hop.up", System, 3, "Next hop reachable again";
    /// A configured certificate expires within the warning period.
    SystemCertificateExpiring = 906, "system.certificate.expiring", System, 6,
        "Certificate near expiry";
    /// A stage of the queues (inspect, deliver, deferred) passed its size or age threshold.
    SystemQueueGrowing = 907, "system.queue.growing", System, 7, "Queue growing";
    /// Detection or antivirus definitions older than the threshold.
    SystemDefinitionsStale = 908, "system.definitions.stale", System, 6, "Definitions out of date";
    /// Events removed from the outbox before every destination read them (its bounds).
    SystemEventsDropped = 909, "system.events.dropped", System, 8, "SIEM events dropped";
    /// A SIEM destination has not accepted events for a while.
    SystemSiemDown = 910, "system.siem.down", System, 6, "SIEM destination unreachable";
    /// A message could not be decomposed or scanned.
    SystemScanError = 911, "system.scan_error", System, 5, "Scan error";
    /// Sent by `sluice siem test`.
    SystemSiemTest = 912, "system.siem.test", System, 1, "SIEM test event";
    /// Messages wait on hold for an administrator (suspect, or held by one).
    SystemQueueHold = 913, "system.queue.hold", System, 6, "Messages waiting on hold";

    // Definition updates (1000-1099).
    DefinitionsUpdated = 1000, "definitions.updated", Update, 2, "Definitions updated";
    DefinitionsUpdateFailed = 1001, "definitions.update_failed", Update, 6,
        "Definitions update failed";
}

impl Kind {
    /// The syslog severity (RFC 5424 §6.2.1) for this kind's 0-10 severity: 0-1 informational,
    /// 2-3 notice, 4-5 warning, 6-7 error, 8 critical, 9-10 alert.
    pub fn syslog_severity(self) -> u8 {
        match self.severity() {
            0..=1 => 6,
            2..=3 => 5,
            4..=5 => 4,
            6..=7 => 3,
            8 => 2,
            _ => 1,
        }
    }
}

impl serde::Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Kind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Kind, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Kind::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown event kind {name:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_and_names_are_unique_and_ids_sit_in_their_category_range() {
        let mut ids = HashSet::new();
        let mut names = HashSet::new();
        for &k in Kind::ALL {
            assert!(ids.insert(k.id()), "{k:?} id repeated");
            assert!(names.insert(k.name()), "{k:?} name repeated");
            assert!(k.severity() <= 10);
            assert!(k.name().starts_with(k.category().name()) || k.name().contains('.'));
            let range = match k.category() {
                Category::Smtp => 100..200,
                Category::Message => 200..300,
                Category::Policy => 300..400,
                Category::Quarantine => 400..500,
                Category::Approval => 500..600,
                Category::Queue => 600..700,
                Category::Admin => 700..800,
                Category::Config => 800..900,
                Category::System => 900..1000,
                Category::Update => 1000..1100,
            };
            assert!(range.contains(&k.id()), "{k:?}");
            assert_eq!(Kind::from_name(k.name()), Some(k));
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(serde_json::from_str::<Kind>(&json).unwrap(), k);
        }
        assert!(serde_json::from_str::<Kind>("\"no.such\"").is_err());
    }

    #[test]
    fn earlier_names_read_as_their_kinds() {
        assert_eq!(
            Kind::from_name("quarantine.held"),
            Some(Kind::MessageQuarantined)
        );
        assert_eq!(
            Kind::from_name("incident.recorded"),
            Some(Kind::PolicyViolation)
        );
        assert_eq!(
            Kind::from_name("incident.created"),
            Some(Kind::PolicyViolation)
        );
    }

    #[test]
    fn syslog_severity_follows_the_0_to_10_scale() {
        assert_eq!(Kind::QueueDelivered.syslog_severity(), 6);
        assert_eq!(Kind::PolicyViolation.syslog_severity(), 3);
        assert_eq!(Kind::SystemStoreFull.syslog_severity(), 1);
        assert_eq!(Kind::SystemNextHopDown.syslog_severity(), 2);
        for c in Category::ALL {
            assert_eq!(Category::from_name(c.name()), Some(c));
        }
    }
}
