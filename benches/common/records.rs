//! Records the store and admin benchmarks fill a store with: held messages, incidents spread over
//! 30 days, message bodies.
#![allow(dead_code)]

use sluice::store::records::*;

pub const DOMAINS: [&str; 8] = [
    "partner.example",
    "gmail.example",
    "corp.example",
    "vendor.example",
    "bank.example",
    "law.example",
    "press.example",
    "home.example",
];
pub const SEVERITIES: [Severity; 4] = [
    Severity::Low,
    Severity::Medium,
    Severity::High,
    Severity::Critical,
];

pub fn held_record(i: u64, now: u64) -> Held {
    Held {
        id: HeldId(0),
        guid: format!("GUID-{i:08}"),
        received: now,
        direction: sluice::policy::Direction::Outbound,
        peer: "10.0.0.5".into(),
        sender: format!("user{}@corp.example", i % 500),
        envid: None,
        ret_full: false,
        recipients: vec![HeldRecipient {
            address: format!("r{}@{}", i % 97, DOMAINS[(i % 8) as usize]),
            notify: Default::default(),
            orcpt: None,
            status: HeldStatus::Held,
        }],
        subject: format!("Quarterly numbers {i}"),
        message_id: format!("<{i}@corp.example>"),
        size: 0,
        policies: vec![PolicyRef {
            id: 100,
            name: "PCI".into(),
            severity: sluice::policy::Severity::High,
            monitor: false,
        }],
        severity: sluice::policy::Severity::High,
        status: HeldStatus::Held,
        hold: Hold::Quarantine,
        findings: vec![
            "policy 100 rule \"cards\": CREDIT_CARD x3 in body (4111 **** **** 1111)".into(),
        ],
        incidents: vec![],
        expires: now + 7 * 86_400,
    }
}

pub fn incident(i: u64, n: u64, now: u64) -> Incident {
    Incident {
        id: IncidentId(0),
        guid: format!("GUID-{i:08}"),
        // Spread evenly over the last 30 days.
        created: now - 30 * 86_400 + i * (30 * 86_400) / n,
        policy: PolicyRef {
            id: 100 + (i % 10) * 10,
            name: format!("Policy {}", i % 10),
            severity: SEVERITIES[(i % 4) as usize],
            monitor: i.is_multiple_of(7),
        },
        status: if i.is_multiple_of(5) {
            IncidentStatus::Resolved
        } else {
            IncidentStatus::New
        },
        direction: sluice::policy::Direction::Outbound,
        peer: "10.0.0.5".into(),
        sender: format!("user{}@corp.example", i % 500),
        recipients: vec![format!("r{}@{}", i % 97, DOMAINS[(i % 8) as usize])],
        subject: format!("Quarterly numbers {i}"),
        message_id: format!("<{i}@corp.example>"),
        size: 51_200,
        findings: vec![
            "policy 100 rule \"cards\": CREDIT_CARD x3 in body (4111 **** **** 1111)".into(),
        ],
        action: "relayed".into(),
        held: None,
        copies: 1,
    }
}

pub fn message(i: usize) -> Vec<u8> {
    let mut m = format!(
        "From: <user@corp.example>\r\nTo: <r@partner.example>\r\nSubject: held {i}\r\nMessage-ID: <{i}@bench>\r\n\r\n"
    )
    .into_bytes();
    let line = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tem\r\n";
    while m.len() < 51_200 {
        m.extend_from_slice(line);
    }
    m
}

/// The `i`-th of `n` messages' final disposition, spread evenly over the last 30 days: its time,
/// `message.*` kind and fields (as the proxy writes them). Message `i` has GUID `GUID-{i:08}`.
pub fn message_event(
    i: u64,
    n: u64,
    now: u64,
) -> (
    u64,
    sluice::events::Kind,
    Vec<(sluice::events::Field, String)>,
) {
    use sluice::events::{Field, Fields, Kind};
    const KINDS: [Kind; 10] = [
        Kind::MessageRelayed,
        Kind::MessageRelayed,
        Kind::MessageRelayed,
        Kind::MessageRelayed,
        Kind::MessageRelayed,
        Kind::MessageModified,
        Kind::MessageQuarantined,
        Kind::MessageBlocked,
        Kind::MessageRedirected,
        Kind::MessageRejected,
    ];
    let at = now - 30 * 86_400 + i * (30 * 86_400) / n;
    let fields = Fields::new()
        .with(Field::EmailLocalId, format!("GUID-{i:08}"))
        .with(
            Field::EmailFromAddress,
            format!("user{}@corp.example", i % 500),
        )
        .with(
            Field::EmailToAddress,
            format!("r{}@{}", i % 97, DOMAINS[(i % 8) as usize]),
        )
        .with(Field::EmailSubject, format!("Quarterly numbers {i}"))
        .with(Field::EmailMessageId, format!("<{i}@corp.example>"))
        .with(Field::EmailDirection, "outbound")
        .with(Field::SourceIp, format!("10.0.{}.{}", i % 7, i % 251))
        .with(Field::Size, 10_240 + i % 4096)
        .with(Field::Recipients, 1)
        .with(Field::Delay, 35)
        .into_vec();
    (at, KINDS[(i % 10) as usize], fields)
}
