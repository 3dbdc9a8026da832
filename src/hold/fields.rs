//! The event fields a store record gives (pure): what every event about a held message carries
//! (its envelope, subject, Message-ID, GUID, direction and client) and what a `policy.violation`
//! carries (the policy, its action and severity, the incident, the message's `email.*`). Used by
//! the holds here, and by `remediate`, the approval desk and the delivery queue for the events they
//! append in their own transactions. Ids, addresses and the subject; never a body or a finding.

use crate::events::{Field, Fields};
use crate::store::records::{Held, Incident, IncidentId};

/// What an event about held message `h` says of it.
pub fn held(h: &Held) -> Fields {
    Fields::new()
        .with(Field::HeldId, h.id)
        .with(Field::EmailLocalId, &h.guid)
        .with(Field::EmailFromAddress, &h.sender)
        .with_each(
            Field::EmailToAddress,
            h.recipients.iter().map(|r| &r.address),
        )
        .with(Field::EmailSubject, &h.subject)
        .with(Field::EmailMessageId, &h.message_id)
        .with(Field::EmailDirection, h.direction.name())
        .with(Field::SourceIp, &h.peer)
}

/// What an event about incident `inc` says of it (a resolution, a note): its policy and message.
pub fn incident(inc: &Incident) -> Fields {
    let f = Fields::new()
        .with(Field::IncidentId, inc.id)
        .with(Field::RuleName, &inc.policy.name)
        .with(Field::RuleId, inc.policy.id);
    message_of(inc, f)
}

/// The message an incident is about: its GUID, envelope, subject, Message-ID, direction, client.
fn message_of(inc: &Incident, f: Fields) -> Fields {
    f.with(Field::EmailLocalId, &inc.guid)
        .with(Field::EmailFromAddress, &inc.sender)
        .with_each(Field::EmailToAddress, &inc.recipients)
        .with(Field::EmailSubject, &inc.subject)
        .with(Field::EmailMessageId, &inc.message_id)
        .with(Field::EmailDirection, inc.direction.name())
        .with(Field::SourceIp, &inc.peer)
}

/// A `policy.violation` for incident `id` (recorded from `inc`): the policy with the action it
/// chose (`monitor` for a policy in monitor mode), and the message's `email.*` and client.
pub fn violation(inc: &Incident, id: IncidentId, action: &str) -> Fields {
    let action = if inc.policy.monitor {
        "monitor"
    } else {
        action
    };
    let f = Fields::new()
        .with(Field::RuleName, &inc.policy.name)
        .with(Field::RuleId, inc.policy.id)
        .with(Field::PolicyAction, action)
        .with(Field::PolicySeverity, inc.policy.severity.name())
        .with(Field::IncidentId, id);
    message_of(inc, f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Direction, Severity};
    use crate::store::records::{IncidentStatus, PolicyRef};

    fn incident(monitor: bool) -> Incident {
        Incident {
            id: IncidentId(0),
            guid: "g-1".into(),
            created: 5,
            policy: PolicyRef {
                id: 120,
                name: "Card numbers".into(),
                severity: Severity::High,
                monitor,
            },
            status: IncidentStatus::New,
            direction: Direction::Outbound,
            peer: "192.0.2.9".into(),
            sender: "a@corp.example".into(),
            recipients: vec!["b@x.example".into(), "c@x.example".into()],
            subject: "plan".into(),
            message_id: "<m@corp.example>".into(),
            size: 10,
            findings: vec!["policy 120 rule 1: 4111 **** **** 1111".into()],
            action: "blocked (550)".into(),
            held: None,
            copies: 1,
        }
    }

    #[test]
    fn a_violation_names_the_policy_and_the_message_but_no_finding() {
        let f = violation(&incident(false), IncidentId(42), "block").into_vec();
        let has = |field, v: &str| f.iter().any(|(k, x)| *k == field && x == v);
        assert!(has(Field::RuleName, "Card numbers"));
        assert!(has(Field::RuleId, "120"));
        assert!(has(Field::PolicyAction, "block"));
        assert!(has(Field::PolicySeverity, "high"));
        assert!(has(Field::IncidentId, "42"));
        assert!(has(Field::EmailToAddress, "c@x.example"));
        assert!(has(Field::SourceIp, "192.0.2.9"));
        assert!(has(Field::EmailDirection, "outbound"));
        assert!(!f.iter().any(|(_, v)| v.contains("4111")));
        let f = violation(&incident(true), IncidentId(42), "block").into_vec();
        assert!(f.contains(&(Field::PolicyAction, "monitor".into())));
    }
}
