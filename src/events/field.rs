//! The closed list of values an event can carry, each with its ECS name (or a `sluice.*` name
//! where ECS has none), its type and a description, in one table.

/// How a field's value is written where formats care (JSON numbers, CEF/LEEF address keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// A string compared as a whole (ids, addresses, names).
    Keyword,
    /// Free text (subjects, reasons, replies).
    Text,
    /// An IPv4 or IPv6 address.
    Ip,
    /// A non-negative integer.
    Long,
}

macro_rules! fields {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, $ty:ident, $desc:literal
        $(, alias $alias:literal)* ; )*) => {
        /// One typed value of an event, stored and exported by its [`Field::name`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Field {
            $( $(#[$doc])* $variant, )*
        }

        impl Field {
            pub const ALL: &'static [Field] = &[ $( Field::$variant, )* ];

            /// The ECS name (`email.from.address`), or `sluice.*` where ECS has none.
            pub fn name(self) -> &'static str {
                match self { $( Field::$variant => $name, )* }
            }

            pub fn ty(self) -> FieldType {
                match self { $( Field::$variant => FieldType::$ty, )* }
            }

            /// What the value is (the reference).
            pub fn description(self) -> &'static str {
                match self { $( Field::$variant => $desc, )* }
            }

            /// The field stored under `name`, including the names earlier releases used.
            pub fn from_name(name: &str) -> Option<Field> {
                match name {
                    $( $name $(| $alias)* => Some(Field::$variant), )*
                    _ => None,
                }
            }
        }
    };
}

fields! {
    // ECS event.* and error.*
    EventOutcome = "event.outcome", Keyword, "success, failure or unknown";
    EventReason = "event.reason", Text, "why it happened (reply text, cause); never content",
        alias "reason";
    ErrorMessage = "error.message", Text, "the error of a failed operation";
    // ECS source.* (the SMTP client) and destination.* (the next hop)
    SourceIp = "source.ip", Ip, "the SMTP client's address";
    SourcePort = "source.port", Long, "the SMTP client's port";
    DestinationAddress = "destination.address", Keyword, "the next hop's host name or address";
    DestinationIp = "destination.ip", Ip, "the next hop's address";
    DestinationPort = "destination.port", Long, "the next hop's port";
    // ECS email.*
    EmailFromAddress = "email.from.address", Keyword, "the envelope sender (MAIL FROM)";
    EmailToAddress = "email.to.address", Keyword,
        "an envelope recipient (RCPT TO); repeated per recipient", alias "recipient";
    EmailSubject = "email.subject", Text,
        "the Subject header (masked or hashed per destination if configured)";
    EmailMessageId = "email.message_id", Keyword, "the Message-ID header";
    EmailLocalId = "email.local_id", Keyword,
        "Sluice's id of the message on this hop (its GUID, in X-Sluice headers and logs)",
        alias "guid";
    EmailDirection = "email.direction", Keyword, "inbound, outbound or internal";
    // ECS rule.*
    RuleName = "rule.name", Keyword, "the policy's name";
    RuleId = "rule.id", Keyword, "the policy's id";
    // ECS user.*, tls.*, server.*
    UserName = "user.name", Keyword, "who acted: an administrator, an approver or `sluice`",
        alias "actor";
    TlsVersion = "tls.version", Keyword, "the TLS version of the session";
    // Sluice's own (ECS has no names for these)
    HeldId = "sluice.held.id", Long, "the quarantine id of a held message", alias "held";
    IncidentId = "sluice.incident.id", Keyword, "the incident id (several comma-separated)",
        alias "incident", alias "incidents";
    QueueId = "sluice.queue.id", Long, "the delivery queue entry", alias "queue", alias "queue_id";
    ApprovalId = "sluice.approval.id", Long, "the approval request", alias "approval";
    ConnectionId = "sluice.connection.id", Keyword, "the SMTP connection, shared by its messages";
    Size = "sluice.message.size", Long, "the message size in bytes";
    Recipients = "sluice.recipients", Long, "how many recipients", alias "recipients";
    PolicyAction = "sluice.policy.action", Keyword,
        "the response a policy chose (block, quarantine, redirect, modify, monitor)";
    Remediation = "sluice.remediation.action", Keyword,
        "the remediation asked for (release, forward, delete)", alias "action";
    PolicySeverity = "sluice.policy.severity", Keyword, "the policy's severity (high, medium, low, info)";
    Violations = "sluice.violations", Long, "how many policies matched", alias "violated";
    Dsn = "sluice.dsn", Keyword, "the enhanced status code of the reply given (5.7.1)";
    Reply = "sluice.reply", Text, "the next hop's reply", alias "reply";
    Attempt = "sluice.attempt", Long, "the delivery attempt", alias "attempt";
    NextAttempt = "sluice.next_attempt", Long, "when the next attempt is due (Unix seconds)",
        alias "next_attempt";
    Delay = "sluice.delay", Long, "milliseconds from the client's MAIL FROM to the final reply";
    Cap = "sluice.cap", Keyword, "which quarantine cap evicted the message";
    Setting = "sluice.setting", Keyword, "the configuration key or object concerned";
    Destination = "sluice.siem.destination", Keyword, "a SIEM destination's name";
    Count = "sluice.count", Long, "how many (events dropped, messages queued)";
    Threshold = "sluice.threshold", Keyword, "the threshold that was passed";
    NotAfter = "sluice.certificate.not_after", Long, "a certificate's expiry (Unix seconds)";
    DefinitionsVersion = "sluice.definitions.version", Keyword, "a definitions package's version";
    // Administrators' actions (the audit log)
    AdminAction = "sluice.admin.action", Keyword,
        "what an administrator did (user.add, policy.update, settings.update, logon)";
    AdminObject = "sluice.admin.object", Keyword,
        "what an administrator's action was on (an account, a policy, a setting, a token id)";
    // Delivery (issue 14)
    TlsProtection = "sluice.tls", Keyword,
        "how a delivery's connection was protected: none, unverified (may, encrypt) or verified";
    QueueStage = "sluice.queue.stage", Keyword,
        "a stage of the queues: inspect, deliver, deferred or hold";
}

impl serde::Serialize for Field {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Field {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Field, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Field::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown event field {name:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_lowercase_and_round_trip() {
        let mut names = HashSet::new();
        for &f in Field::ALL {
            assert!(names.insert(f.name()), "{f:?}");
            assert!(
                f.name()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_'),
                "{f:?}"
            );
            assert_eq!(Field::from_name(f.name()), Some(f));
        }
        assert_eq!(Field::from_name("held"), Some(Field::HeldId));
        assert_eq!(Field::from_name("nope"), None);
    }
}
