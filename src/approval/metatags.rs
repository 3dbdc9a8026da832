//! Every metatag of every notice kind, rendered through the real notice paths (the keeper's hold,
//! the desk's decisions and expiry sweep, the facts in `hold::notices`): a tag renders its fact
//! where the notice has it, and its documented fallback (`Tag::fallback`) where it does not.

use std::sync::Arc;
use std::time::Duration;

use mail_parser::MessageParser;

use super::desk::StoreDesk;
use super::{ApprovalDesk, Decision, token};
use crate::clock::Clock;
use crate::config::Config;
use crate::hold::notices::{self, Recorded, Violation};
use crate::hold::{Facts, Keeper, Links};
use crate::link::token::Key;
use crate::notify::{Disposition, Kind, Section, Tag};
use crate::policy::{Audience, Decision as PolicyDecision, Hit, Matched, Severity, Verdict};
use crate::store::records::{Held, Hold, QueueKind};
use crate::store::{Store, queue};

/// `F`: the notice has the fact: the tag renders a non-empty value that is not its fallback.
/// `-`: it does not: the tag renders exactly `Tag::fallback()`. `x`: the kind refuses the tag.
/// Columns in `Kind::ALL` order.
#[rustfmt::skip]
const TABLE: [(Tag, &str); 21] = [
    //                         snd adm rcp req apr rej exp rel
    (Tag::MsgInfo,          "F   F   F   F   F   F   F   F"),
    (Tag::ContentInfo,      "F   F   F   F   F   F   F   F"),
    (Tag::Disposition,      "x   F   x   x   x   x   x   x"),
    (Tag::VirusInfo,        "-   -   -   -   -   -   -   -"),
    (Tag::EncryptInfo,      "-   -   -   -   -   -   -   -"),
    (Tag::Sender,           "F   F   F   F   F   F   F   F"),
    (Tag::Recipients,       "F   F   F   F   F   F   F   F"),
    (Tag::Subject,          "F   F   F   F   F   F   F   F"),
    (Tag::Date,             "F   F   F   F   F   F   F   F"),
    (Tag::MessageId,        "F   F   F   F   F   F   F   F"),
    (Tag::Size,             "F   F   F   F   F   F   F   F"),
    (Tag::Policy,           "F   F   F   F   F   F   F   F"),
    (Tag::Severity,         "F   F   F   F   F   F   F   F"),
    (Tag::QuarantineId,     "F   F   F   F   F   F   F   F"),
    (Tag::IncidentId,       "F   F   F   F   F   F   F   F"),
    (Tag::ApproveUrl,       "x   x   x   F   x   x   x   x"),
    (Tag::RejectUrl,        "x   x   x   F   x   x   x   x"),
    (Tag::Expires,          "F   F   F   F   F   F   F   -"),
    (Tag::Reason,           "-   -   -   -   F   F   F   -"),
    (Tag::Hostname,         "F   F   F   F   F   F   F   F"),
    (Tag::ApproverComment,  "-   -   -   -   F   F   -   -"),
];

const APPROVER: &str = "boss@corp.example";

/// A template line per allowed tag: `<<NAME:value:NAME>>`.
fn probe(kind: Kind) -> String {
    Tag::ALL
        .into_iter()
        .filter(|t| kind.allows(*t).is_ok())
        .map(|t| format!("<<{0}:${{{0}}}:{0}>>\n", t.name()))
        .collect()
}

fn keeper(dir: &std::path::Path, expiry: Duration) -> Arc<Keeper> {
    let mut config = Config::embedded().unwrap();
    config.store.approval_expiry = expiry;
    let n = &mut config.notifications;
    n.admin = vec!["secops@corp.example".into()];
    n.sender_notices = true;
    for kind in Kind::ALL {
        n.templates.set(kind, Section::Text, &probe(kind)).unwrap();
    }
    let store = Store::open(dir, &crate::testing::options()).unwrap();
    Arc::new(
        Keeper::with_store(store, &config, Arc::new(Clock::real())).with_links(Links {
            key: Key::from_bytes([7; 32]),
            public_url: "https://gw.example:8443".into(),
        }),
    )
}

fn facts(guid: &str) -> Facts {
    Facts {
        guid: guid.into(),
        peer: "127.0.0.1".into(),
        sender: "alice@corp.example".into(),
        envid: None,
        ret_full: false,
        recipients: vec![crate::message::Recipient::plain("bob@partner.example")],
        subject: "Q3 numbers".into(),
        message_id: "<q3@corp.example>".into(),
        identity: format!("<{guid}@corp.example>"),
        direction: crate::policy::Direction::Outbound,
        size: 60,
    }
}

/// Two policies: one without a name (its name is "policy 3", its keyword rule has no name: "1"),
/// one named with a named rule; both ask for every audience's notice.
fn verdict() -> Verdict {
    let hit = |id: u64, name: &str, rule: &str| Hit {
        id,
        name: name.into(),
        action: "approval",
        monitor: false,
        severity: Severity::High,
        matched: vec![Matched {
            rule: rule.into(),
            evidence: vec![],
        }],
        notify: vec![Audience::Admin, Audience::Sender, Audience::Recipients],
    };
    Verdict {
        hits: vec![hit(3, "policy 3", "1"), hit(7, "Cards", "cards")],
        decision: PolicyDecision::Hold {
            approvers: vec![APPROVER.into()],
        },
        deciding_policy: Some(3),
        detail: vec![
            "policy 3 rule \"1\": keywords x1 in body".into(),
            "policy 7 rule \"cards\": CREDIT_CARD x1 in body".into(),
        ],
        evidence: vec![
            "policy 3 rule \"1\": keywords x1 in body".into(),
            "policy 7 rule \"cards\": CREDIT_CARD x1 in body (4111 **** **** 1111)".into(),
        ],
    }
}

fn hold(k: &Keeper, guid: &str) -> (Held, u64) {
    let message =
        format!("Subject: Q3 numbers\r\nMessage-ID: <q3@corp.example>\r\n\r\nbody of {guid}\r\n");
    let held = smol::block_on(k.hold(
        facts(guid),
        &verdict(),
        message.into_bytes(),
        &[APPROVER.to_string()],
        crate::events::Fields::new(),
    ))
    .unwrap();
    let Hold::Approval { approval } = held.hold else {
        panic!("not held for approval: {held:?}");
    };
    (held, approval.0)
}

/// The text of every queued notice of `kind`.
fn queued(k: &Keeper, kind: Kind) -> Vec<String> {
    let store = k.store().unwrap();
    let list = store.read(|txn| queue::list(txn, 100)).unwrap();
    list.into_iter()
        .filter(|q| {
            q.kind
                == QueueKind::Notice {
                    what: kind.name().into(),
                }
        })
        .map(|q| {
            let bytes = store
                .read(|txn| queue::content(txn, q.id))
                .unwrap()
                .unwrap();
            let m = MessageParser::default().parse(&bytes).unwrap();
            m.body_text(0).unwrap().into_owned()
        })
        .collect()
}

/// The value rendered for `tag` in a probe notice.
fn value(text: &str, tag: Tag) -> &str {
    let open = format!("<<{}:", tag.name());
    let close = format!(":{}>>", tag.name());
    let start = text
        .find(&open)
        .unwrap_or_else(|| panic!("{open} in {text}"))
        + open.len();
    let end = text[start..].find(&close).unwrap() + start;
    &text[start..end]
}

/// One rendered notice of every kind, each through the path that sends it.
fn notices() -> Vec<(Kind, String)> {
    let dir = tempfile::tempdir().unwrap();
    let k = keeper(dir.path(), Duration::from_secs(86_400));
    let desk = StoreDesk::new(k.clone(), 3600);
    let now = k.clock().now();
    let (approved, a1) = hold(&k, "G-1");
    desk.decide(
        a1,
        &token::message_tag("G-1"),
        0,
        Decision::Approve,
        "Fine, send it",
        now,
    )
    .unwrap();
    let (_, a2) = hold(&k, "G-2");
    desk.decide(
        a2,
        &token::message_tag("G-2"),
        0,
        Decision::Reject,
        "Not to partners",
        now,
    )
    .unwrap();
    let mut out = Vec::new();
    for kind in [
        Kind::SenderViolation,
        Kind::AdminViolation,
        Kind::RecipientViolation,
        Kind::ApprovalRequest,
        Kind::Approved,
        Kind::Rejected,
    ] {
        let texts = queued(&k, kind);
        assert!(!texts.is_empty(), "no {kind} notice was queued");
        out.push((kind, texts[0].clone()));
    }
    // Expiry: a keeper whose approvals lapse at once, and its sweep.
    let dir2 = tempfile::tempdir().unwrap();
    let k2 = keeper(dir2.path(), Duration::ZERO);
    hold(&k2, "G-3");
    assert_eq!(StoreDesk::new(k2.clone(), 3600).sweep().unwrap(), 1);
    out.push((Kind::Expired, queued(&k2, Kind::Expired)[0].clone()));
    // Released notices are not sent yet; their facts are those of the held message.
    let released = notices::facts_of_held(&approved, None, Some(Disposition::Released));
    let settings = k.notify_settings();
    let text = settings
        .templates
        .render(Kind::Released, &released, &settings.hostname)
        .text;
    out.push((Kind::Released, text));
    out
}

#[test]
fn every_metatag_of_every_notice_kind_renders_its_fact_or_its_documented_fallback() {
    assert_eq!(TABLE.len(), Tag::ALL.len());
    let rendered = notices();
    let mut wrong = Vec::new();
    for (row, (tag, cells)) in TABLE.iter().enumerate() {
        assert_eq!(*tag, Tag::ALL[row], "the table follows Tag::ALL");
        let cells: Vec<&str> = cells.split_whitespace().collect();
        assert_eq!(cells.len(), Kind::ALL.len(), "{tag}");
        for (col, kind) in Kind::ALL.into_iter().enumerate() {
            let want = cells[col];
            assert_eq!(
                want == "x",
                kind.allows(*tag).is_err(),
                "{tag} in {kind}: the table and Kind::allows disagree"
            );
            if want == "x" {
                continue;
            }
            let text = &rendered.iter().find(|(k, _)| *k == kind).unwrap().1;
            let got = value(text, *tag);
            let ok = match want {
                "F" => !got.trim().is_empty() && got != tag.fallback(),
                _ => got == tag.fallback(),
            };
            if !ok {
                wrong.push(format!("{kind} {tag} ({want}): {got:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The violation notices of a message that was relayed (or blocked), not held: no quarantine id
/// and no approval. Columns: sender, admin, recipient violation.
const RELAYED: [(Tag, &str); 21] = [
    (Tag::MsgInfo, "F F F"),
    (Tag::ContentInfo, "F F F"),
    (Tag::Disposition, "x F x"),
    (Tag::VirusInfo, "- - -"),
    (Tag::EncryptInfo, "- - -"),
    (Tag::Sender, "F F F"),
    (Tag::Recipients, "F F F"),
    (Tag::Subject, "F F F"),
    (Tag::Date, "F F F"),
    (Tag::MessageId, "F F F"),
    (Tag::Size, "F F F"),
    (Tag::Policy, "F F F"),
    (Tag::Severity, "F F F"),
    (Tag::QuarantineId, "- - -"),
    (Tag::IncidentId, "F F F"),
    (Tag::ApproveUrl, "x x x"),
    (Tag::RejectUrl, "x x x"),
    (Tag::Expires, "- - -"),
    (Tag::Reason, "- - -"),
    (Tag::Hostname, "F F F"),
    (Tag::ApproverComment, "- - -"),
];

#[test]
fn a_relayed_messages_violation_notices_render_every_tag_or_its_fallback() {
    // `Keeper::record` renders these in its write with the incident ids and no held message.
    let dir = tempfile::tempdir().unwrap();
    let k = keeper(dir.path(), Duration::from_secs(60));
    let settings = k.notify_settings();
    let v = Violation::new(
        settings,
        &facts("G-8"),
        &verdict(),
        Disposition::Delivered,
        1,
    );
    let recorded = Recorded {
        held: None,
        incidents: &[
            crate::store::records::IncidentId(11),
            crate::store::records::IncidentId(12),
        ],
        expires: None,
    };
    let mut wrong = Vec::new();
    let all = v.notices(settings, recorded, 1, b"Subject: s\r\n\r\nx\r\n");
    assert_eq!(all.len(), 3, "one notice per audience");
    for notice in all {
        let col = [
            Kind::SenderViolation,
            Kind::AdminViolation,
            Kind::RecipientViolation,
        ]
        .iter()
        .position(|k| *k == notice.kind)
        .unwrap();
        let m = MessageParser::default().parse(&notice.bytes).unwrap();
        let text = m.body_text(0).unwrap().into_owned();
        for (row, (tag, cells)) in RELAYED.iter().enumerate() {
            assert_eq!(*tag, Tag::ALL[row], "the table follows Tag::ALL");
            let want = cells.split_whitespace().nth(col).unwrap();
            assert_eq!(want == "x", notice.kind.allows(*tag).is_err(), "{tag}");
            if want == "x" {
                continue;
            }
            let got = value(&text, *tag);
            let ok = match want {
                "F" => !got.trim().is_empty() && got != tag.fallback(),
                _ => got == tag.fallback(),
            };
            if !ok {
                wrong.push(format!("{} {tag} ({want}): {got:?}", notice.kind));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn policies_and_rules_are_named_once_in_contentinfo() {
    for (kind, text) in notices() {
        let content = value(&text, Tag::ContentInfo);
        assert!(
            content.contains("Policy \"policy 3\", rule 1: keywords x1 in body"),
            "{kind}: {content}"
        );
        assert!(
            content.contains("Policy \"Cards\", rule \"cards\": CREDIT_CARD x1 in body"),
            "{kind}: {content}"
        );
        assert!(
            !content.contains("rule \"conditions\""),
            "{kind}: {content}"
        );
    }
}

#[test]
fn the_approvers_comment_reaches_the_senders_notice() {
    let rendered = notices();
    let approved = &rendered
        .iter()
        .find(|(k, _)| *k == Kind::Approved)
        .unwrap()
        .1;
    assert_eq!(value(approved, Tag::ApproverComment), "Fine, send it");
    assert_eq!(
        value(approved, Tag::Reason),
        "Comment from the approver: Fine, send it"
    );
    let rejected = &rendered
        .iter()
        .find(|(k, _)| *k == Kind::Rejected)
        .unwrap()
        .1;
    assert_eq!(value(rejected, Tag::ApproverComment), "Not to partners");
}

#[test]
fn a_relayed_violation_has_no_quarantine_id_and_says_so() {
    let settings = crate::notify::Settings {
        admin: vec!["secops@corp.example".into()],
        ..crate::notify::Settings::defaults("gw")
    };
    let v = Violation::new(
        &settings,
        &facts("G-9"),
        &verdict(),
        Disposition::Delivered,
        1,
    );
    let f = v.facts(Recorded {
        held: None,
        incidents: &[
            crate::store::records::IncidentId(11),
            crate::store::records::IncidentId(12),
        ],
        expires: None,
    });
    let text = settings
        .templates
        .render(Kind::AdminViolation, &f, "gw")
        .text;
    assert!(text.contains("Incident: 11, 12"), "{text}");
    assert!(
        text.contains(&format!("Quarantine ID: {}", Tag::QuarantineId.fallback())),
        "{text}"
    );
}

#[test]
fn an_approver_comment_with_markup_is_escaped_in_an_html_notice() {
    let mut settings = crate::notify::Settings::defaults("gw");
    settings
        .templates
        .set(Kind::Approved, Section::Html, "<p>${APPROVER_COMMENT}</p>")
        .unwrap();
    let f = crate::notify::Facts {
        approver_comment: super::clean_comment("<script>alert(1)</script>\r\nok"),
        ..crate::notify::Facts::default()
    };
    let html = settings
        .templates
        .render(Kind::Approved, &f, "gw")
        .html
        .unwrap();
    assert_eq!(html, "<p>&lt;script&gt;alert(1)&lt;/script&gt;  ok</p>");
}

#[test]
fn a_relayed_messages_notices_keep_only_what_they_attach() {
    let message = b"Subject: s\r\nFrom: a@b\r\n\r\nbody that stays out\r\n";
    let mut settings = crate::notify::Settings::defaults("gw");
    let kept = Violation::kept_original(&settings, message);
    assert_eq!(kept, b"Subject: s\r\nFrom: a@b\r\n");
    settings.attach_original = crate::notify::Attach::None;
    assert!(Violation::kept_original(&settings, message).is_empty());
    settings.attach_original = crate::notify::Attach::Full;
    assert_eq!(Violation::kept_original(&settings, message), message);
}
