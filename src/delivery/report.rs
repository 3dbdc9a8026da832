//! Delivery reports for the queue: builds the RFC 3464 delay notice or failure report (with
//! `notify::dsn`) about some recipients of an entry, as a new queue entry addressed to the sender
//! and sent with the null sender. Pure: time and the report id come in as values.

use crate::message::{Envelope, MailParams, Recipient, Ret};
use crate::notify::dsn;
use crate::store::records::{QueueKind, Queued, QueuedRecipient, RcptState};

/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Still pending; retried until the give-up time.
    Delay,
    /// Failed (refused, or given up on).
    Failure,
}

impl Kind {
    /// The `QueueKind::Notice` name of the report's queue entry.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Delay => "dsn.delay",
            Kind::Failure => "dsn.failure",
        }
    }
}

/// The facts a report is built from besides the entry.
pub struct Facts<'a> {
    pub id: uuid::Uuid,
    pub hostname: &'a str,
    pub now: u64,
    /// The next hop that gave the last reply, if one answered.
    pub remote: Option<&'a str>,
    /// The original message (its headers, or all of it for RET=FULL failures, are returned).
    pub original: &'a [u8],
}

/// The last SMTP reply recorded for a recipient, when it is one (not our own words such as
/// "no connection: ..."), for `Status` and `Diagnostic-Code`.
fn smtp_reply(r: &QueuedRecipient) -> Option<String> {
    let text = match &r.state {
        RcptState::Failed { reply, .. } => Some(reply.as_str()),
        _ => r.last_reply.as_deref(),
    }?;
    let b = text.as_bytes();
    (b.len() >= 3 && b[..3].iter().all(u8::is_ascii_digit)).then(|| text.to_string())
}

/// The report about recipients `about` of `entry`, and the queue entry that carries it to the
/// sender; `None` for the null sender (never a report about a report) or when no recipient is left.
pub fn build(
    kind: Kind,
    entry: &Queued,
    about: &[usize],
    f: &Facts<'_>,
) -> Option<(Queued, Vec<u8>)> {
    if entry.sender.is_empty() {
        return None;
    }
    let attempts: Vec<dsn::Attempt> = about
        .iter()
        .filter_map(|&i| entry.recipients.get(i))
        .map(|r| {
            let reply = smtp_reply(r);
            dsn::Attempt {
                recipient: Recipient {
                    address: r.address.clone(),
                    notify: r.notify,
                    orcpt: r.orcpt.clone(),
                },
                remote_mta: f.remote.filter(|_| reply.is_some()).map(str::to_string),
                reply,
                last_attempt: Some(f.now),
            }
        })
        .collect();
    if attempts.is_empty() {
        return None;
    }
    let envelope = Envelope {
        sender: entry.sender.clone(),
        params: MailParams {
            ret: entry.ret_full.then_some(Ret::Full),
            envid: entry.envid.clone(),
            ..MailParams::default()
        },
        recipients: Vec::new(),
    };
    let report = dsn::Report {
        id: f.id,
        hostname: f.hostname,
        now: f.now,
        envelope: &envelope,
        arrival: entry.created,
        attempts: &attempts,
        original: f.original,
    };
    let bytes = match kind {
        Kind::Delay => dsn::delay(&report, entry.give_up_at),
        Kind::Failure => dsn::failure(&report),
    }?;
    let carrier = Queued {
        id: crate::store::records::QueueId(0),
        kind: QueueKind::Notice {
            what: kind.name().to_string(),
        },
        created: f.now,
        sender: String::new(),
        envid: None,
        ret_full: false,
        recipients: vec![QueuedRecipient {
            address: entry.sender.clone(),
            notify: Default::default(),
            orcpt: None,
            state: RcptState::Pending,
            last_reply: None,
        }],
        peer: entry.peer.clone(),
        attempts: 0,
        next_attempt: f.now,
        give_up_at: 0,
        delay_notice_sent: false,
        held: false,
    };
    Some((carrier, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Queued {
        Queued {
            id: crate::store::records::QueueId(9),
            kind: QueueKind::Release {
                held: crate::store::records::HeldId(1),
            },
            created: 1_700_000_000,
            sender: "alice@corp.example".into(),
            envid: Some("env+2B1".into()),
            ret_full: false,
            recipients: vec![
                QueuedRecipient {
                    address: "bob@x.org".into(),
                    notify: Default::default(),
                    orcpt: Some("rfc822;bob@x.org".into()),
                    state: RcptState::Failed {
                        at: 1_700_000_100,
                        reply: "550 5.1.1 No such user".into(),
                    },
                    last_reply: None,
                },
                QueuedRecipient {
                    address: "carol@x.org".into(),
                    notify: Default::default(),
                    orcpt: None,
                    state: RcptState::Pending,
                    last_reply: Some("no connection: refused".into()),
                },
            ],
            peer: "10.1.2.3".into(),
            attempts: 1,
            next_attempt: 0,
            give_up_at: 1_700_432_000,
            delay_notice_sent: false,
            held: false,
        }
    }

    fn facts(original: &[u8]) -> Facts<'_> {
        Facts {
            id: uuid::Uuid::nil(),
            hostname: "gw.example",
            now: 1_700_000_100,
            remote: Some("127.0.0.1:25"),
            original,
        }
    }

    #[test]
    fn failure_report_goes_to_the_sender_with_the_null_sender() {
        let original = b"Subject: hi\r\nFrom: alice@corp.example\r\n\r\nsecret body\r\n";
        let (q, bytes) = build(Kind::Failure, &entry(), &[0], &facts(original)).unwrap();
        assert_eq!(q.sender, "");
        assert_eq!(q.recipients[0].address, "alice@corp.example");
        assert_eq!(q.peer, "10.1.2.3");
        assert_eq!(
            q.kind,
            QueueKind::Notice {
                what: "dsn.failure".into()
            }
        );
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("multipart/report"), "{text}");
        assert!(text.contains("message/delivery-status"));
        assert!(text.contains("Final-Recipient: rfc822; bob@x.org"));
        assert!(text.contains("Original-Recipient: rfc822; bob@x.org"));
        assert!(text.contains("Action: failed"));
        assert!(text.contains("Status: 5.1.1"));
        assert!(text.contains("Diagnostic-Code: smtp; 550 5.1.1 No such user"));
        assert!(text.contains("Original-Envelope-Id: env+1"));
        assert!(!text.contains("secret body"), "RET=HDRS: headers only");
        assert!(!text.contains("carol@x.org"));
    }

    #[test]
    fn delay_report_about_a_connection_failure_has_no_diagnostic_code() {
        let (_, bytes) = build(
            Kind::Delay,
            &entry(),
            &[1],
            &facts(b"Subject: x\r\n\r\nb\r\n"),
        )
        .unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("Action: delayed"));
        assert!(text.contains("Status: 4.4.1"));
        assert!(text.contains("Will-Retry-Until:"));
        assert!(!text.contains("Diagnostic-Code"));
        assert!(!text.contains("Remote-MTA"));
    }

    #[test]
    fn never_a_report_for_the_null_sender() {
        let mut e = entry();
        e.sender.clear();
        assert!(build(Kind::Failure, &e, &[0], &facts(b"x")).is_none());
        assert!(build(Kind::Failure, &entry(), &[], &facts(b"x")).is_none());
    }

    #[test]
    fn the_recipients_notify_decides_whether_a_report_goes_out() {
        use crate::message::Notify;
        let original = b"Subject: hi\r\n\r\nbody\r\n";
        let mut never = entry();
        never.recipients[0].notify = Notify {
            never: true,
            ..Notify::default()
        };
        assert!(build(Kind::Failure, &never, &[0], &facts(original)).is_none());
        // NOTIFY=FAILURE: a bounce, but no delay notice.
        let mut failure_only = entry();
        failure_only.recipients[1].notify = Notify {
            failure: true,
            ..Notify::default()
        };
        assert!(build(Kind::Delay, &failure_only, &[1], &facts(original)).is_none());
        assert!(build(Kind::Failure, &failure_only, &[1], &facts(original)).is_some());
    }
}
