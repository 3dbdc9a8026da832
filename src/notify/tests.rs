//! Notice tests: default templates, golden renderings of every tag, escaping, and built
//! messages parsed back with mail-parser.

use super::*;
use crate::policy::Severity;
use mail_parser::{MessageParser, MimeHeaders};

const HOST: &str = "gw.example.com";
/// 2023-11-14 22:13:20 UTC.
const T0: u64 = 1_700_000_000;

fn id(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(n)
}

fn facts() -> Facts {
    Facts {
        guid: "3984736A-2964-437D-A0EC-67E62D4C187F".into(),
        sender: "alice@corp.example".into(),
        recipients: vec!["bob@partner.example".into(), "carol@partner.example".into()],
        subject: "Q3 numbers".into(),
        date: Some(T0),
        message_id: "abc.123@corp.example".into(),
        size: Some(2560),
        policies: vec![
            PolicyFact {
                id: 23,
                name: "Card numbers".into(),
                severity: Severity::High,
            },
            PolicyFact {
                id: 7,
                name: "Confidential".into(),
                severity: Severity::Low,
            },
        ],
        content: vec![
            Content::Rule {
                policy: "Card numbers".into(),
                rule: "three or more".into(),
                detail: "credit card x3 in body (4111 **** **** 1111)".into(),
            },
            Content::Subject {
                specified: "*numbers*".into(),
                matched: "Q3 numbers".into(),
            },
            Content::FileName {
                names: vec!["payroll.xlsx".into(), "pay.zip".into()],
                specified: "*pay*".into(),
            },
            Content::LimitExceeded { limit: "".into() },
        ],
        viruses: vec!["EICAR-Test-File (signature 1)".into()],
        encrypted: true,
        disposition: Some(Disposition::Quarantined),
        quarantine_id: "Q-42".into(),
        incident_ids: vec!["I-1".into(), "I-2".into()],
        approve_url: "https://gw.example.com:8443/a?t=x&y=1".into(),
        reject_url: "https://gw.example.com:8443/r?t=x".into(),
        expires: Some(T0 + 2 * 86_400),
        reason: "as requested".into(),
        approver_comment: "looks fine".into(),
    }
}

/// A template using every tag, one per line.
fn every_tag() -> String {
    Tag::ALL
        .iter()
        .map(|t| format!("{}={t}", t.name()))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_default_template_parses_and_uses_only_allowed_tags() {
    for kind in Kind::ALL {
        let (subject, text, html) = defaults::raw(kind);
        for t in [Some(subject), Some(text), html].into_iter().flatten() {
            let parsed = Template::parse(t).unwrap_or_else(|e| panic!("{kind}: {e}"));
            for (tag, _) in parsed.tags() {
                assert!(kind.allows(tag).is_ok(), "{kind} uses {tag}");
            }
        }
        assert_eq!(Kind::parse(kind.name()), Some(kind));
    }
    // The seed's metatags are all in the administrator's default, disposition included.
    let admin: Vec<Tag> = Templates::defaults()
        .get(Kind::AdminViolation)
        .text
        .tags()
        .map(|(t, _)| t)
        .collect();
    for t in [
        Tag::MsgInfo,
        Tag::VirusInfo,
        Tag::ContentInfo,
        Tag::EncryptInfo,
        Tag::Disposition,
    ] {
        assert!(admin.contains(&t), "{t}");
    }
}

#[test]
fn every_tag_renders_its_fact() {
    // No kind allows every tag (see the next tests), so render the parsed template directly.
    let f = facts();
    let text = Template::parse(&every_tag())
        .unwrap()
        .render(Place::Text, |t| facts::value(t, &f, HOST));
    let expected = "\
MSGINFO=From: alice@corp.example
To: bob@partner.example, carol@partner.example
CONTENTINFO=Policy \"Card numbers\", rule \"three or more\": credit card x3 in body (4111 **** **** 1111)
Subject: *numbers*
Matching Subject: Q3 numbers
File: payroll.xlsx, pay.zip
Matching file name: *pay*
The extracted attachment depth exceeded set limits.
DISPOSITION=The message was quarantined.
VIRUSINFO=Virus scan results follow
EICAR-Test-File (signature 1)
ENCRYPTINFO=Message contained an encrypted container
SENDER=alice@corp.example
RECIPIENTS=bob@partner.example
carol@partner.example
SUBJECT=Q3 numbers
DATE=Tue, 14 Nov 2023 22:13:20 +0000
MESSAGE_ID=abc.123@corp.example
SIZE=2.5 KB
POLICY=Card numbers, Confidential
SEVERITY=high
QUARANTINE_ID=Q-42
INCIDENT_ID=I-1, I-2
APPROVE_URL=https://gw.example.com:8443/a?t=x&y=1
REJECT_URL=https://gw.example.com:8443/r?t=x
EXPIRES=Thu, 16 Nov 2023 22:13:20 +0000
REASON=as requested
HOSTNAME=gw.example.com
APPROVER_COMMENT=looks fine";
    assert_eq!(text, expected);
    let mut admin = Templates::defaults();
    admin
        .set(Kind::AdminViolation, Section::Subject, "${DISPOSITION}")
        .unwrap();
    assert_eq!(
        admin.render(Kind::AdminViolation, &facts(), HOST).subject,
        "The message was quarantined."
    );
}

#[test]
fn tags_that_do_not_apply_are_empty_and_render_their_fallback() {
    let f = Facts::default();
    let text = Template::parse(&every_tag())
        .unwrap()
        .render(Place::Text, |t| facts::value(t, &f, ""));
    let expected: Vec<String> = Tag::ALL.iter().map(|t| format!("{}=", t.name())).collect();
    assert_eq!(text, expected.join("\n"));
    // Through a kind: the approval request with no facts keeps its wording, and a tag without
    // its fact shows its documented fallback.
    let r = Templates::defaults().render(Kind::ApprovalRequest, &f, "");
    assert_eq!(r.subject, "Approval needed: (no subject)");
    assert!(!r.text.contains("${"));
    assert!(r.text.contains("open:\n\nTo reject"), "{}", r.text);
}

#[test]
fn the_seed_sender_notice_renders_without_gaps() {
    let mut f = facts();
    f.viruses.clear();
    f.encrypted = false;
    f.content.truncate(1);
    let r = Templates::defaults().render(Kind::SenderViolation, &f, HOST);
    assert_eq!(r.subject, "Sluice Policy Violation");
    assert_eq!(
        r.text,
        "\
The following message sent by this account has violated system policy:
From: alice@corp.example
To: bob@partner.example, carol@partner.example
Subject: Q3 numbers
Date: Tue, 14 Nov 2023 22:13:20 +0000

The following violations were detected:
Policy \"Card numbers\", rule \"three or more\": credit card x3 in body (4111 **** **** 1111)
"
    );
    assert!(r.html.is_none());
}

#[test]
fn approval_outcomes_carry_the_seed_texts() {
    let t = Templates::defaults();
    let f = facts();
    assert!(t.render(Kind::Rejected, &f, HOST).text.starts_with(
        "Your message was rejected by a moderator for these recipients:\n\
             bob@partner.example\ncarol@partner.example\n"
    ));
    assert!(
        t.render(Kind::Expired, &f, HOST).text.starts_with(
            "The message has been returned to the sender because no decision was made."
        )
    );
    assert!(
        t.render(Kind::Approved, &f, HOST)
            .text
            .contains("responded Approve")
    );
    let req = t.render(Kind::ApprovalRequest, &f, HOST);
    assert_eq!(req.subject, "Approval needed: Q3 numbers");
    assert!(req.text.contains("https://gw.example.com:8443/a?t=x&y=1"));
    assert!(req.text.contains("Thu, 16 Nov 2023 22:13:20 +0000"));
    let html = req.html.unwrap();
    assert!(html.contains("<a href=\"https://gw.example.com:8443/a?t=x&amp;y=1\">"));
}

#[test]
fn capability_and_admin_only_tags_are_refused_where_they_would_leak() {
    let mut t = Templates::defaults();
    let e = t
        .set(
            Kind::SenderViolation,
            Section::Html,
            "<a href=\"${APPROVE_URL}\">x</a>",
        )
        .unwrap_err();
    assert_eq!(e.offset(), 9);
    assert_eq!(
        e.to_string(),
        "${APPROVE_URL} is not allowed in sender_violation notices: the approve and reject \
         links are single-use capabilities for approvers only"
    );
    let e = t
        .set(Kind::RecipientViolation, Section::Text, "${DISPOSITION}")
        .unwrap_err();
    assert!(e.to_string().contains("administrators only"), "{e}");
    let e = t
        .set(Kind::Released, Section::Subject, "${NOPE}")
        .unwrap_err();
    assert!(e.to_string().starts_with("unknown tag ${NOPE}"), "{e}");
    // A refused text leaves the template as it was.
    assert_eq!(t, Templates::defaults());
}

#[test]
fn an_empty_html_override_removes_the_html_part() {
    let mut t = Templates::defaults();
    assert!(t.get(Kind::ApprovalRequest).html.is_some());
    t.set(Kind::ApprovalRequest, Section::Html, "").unwrap();
    assert!(t.get(Kind::ApprovalRequest).html.is_none());
}

#[test]
fn facts_debug_shows_no_content() {
    let s = format!("{:?}", facts());
    assert!(!s.contains("Q3 numbers"), "{s}");
    assert!(!s.contains("4111"), "{s}");
    assert!(!s.contains("payroll"), "{s}");
    assert!(s.contains("3984736A"), "{s}");
}

const ORIGINAL: &[u8] = b"From: Alice <alice@corp.example>\r\n\
To: bob@partner.example\r\n\
Subject: Q3 numbers\r\n\
Message-ID: <abc.123@corp.example>\r\n\
\r\n\
Card 4111 1111 1111 1111 attached.\r\n";

fn settings() -> Settings {
    Settings::defaults(HOST)
}

fn check_lines(bytes: &[u8]) {
    let s = std::str::from_utf8(bytes).unwrap();
    for line in s.split("\r\n") {
        assert!(!line.contains(['\r', '\n']), "bare CR or LF in {line:?}");
        assert!(
            line.len() <= build::MAX_LINE_OCTETS,
            "long line {}",
            line.len()
        );
    }
    assert!(s.ends_with("\r\n"));
}

#[test]
fn an_approval_request_is_text_and_html_alternatives_with_the_headers() {
    let to = vec!["boss@corp.example".to_string()];
    let bytes = settings().notice(
        Kind::ApprovalRequest,
        &facts(),
        &to,
        id(1),
        T0 + 60,
        Some(ORIGINAL),
    );
    check_lines(&bytes);
    let m = MessageParser::default().parse(&bytes).unwrap();
    assert_eq!(
        m.from().unwrap().first().unwrap().address(),
        Some("postmaster@gw.example.com")
    );
    assert_eq!(m.from().unwrap().first().unwrap().name(), Some("Sluice"));
    assert_eq!(
        m.to().unwrap().first().unwrap().address(),
        Some("boss@corp.example")
    );
    assert_eq!(m.subject(), Some("Approval needed: Q3 numbers"));
    assert_eq!(m.date().unwrap().to_timestamp(), (T0 + 60) as i64);
    assert_eq!(
        m.message_id(),
        Some("00000000-0000-0000-0000-000000000001@gw.example.com")
    );
    assert_eq!(
        m.header_raw("Auto-Submitted").map(str::trim),
        Some("auto-generated")
    );
    assert_eq!(
        m.header_raw("X-Sluice-Notice").map(str::trim),
        Some("approval_request")
    );
    assert_eq!(m.header_raw("MIME-Version").map(str::trim), Some("1.0"));
    let root = m.root_part().content_type().unwrap();
    assert_eq!((root.ctype(), root.subtype()), ("multipart", Some("mixed")));
    assert!(m.body_text(0).unwrap().contains("To approve the message"));
    let html = m.body_html(0).unwrap();
    assert!(html.contains("<a href=\"https://gw.example.com:8443/a?t=x&amp;y=1\">"));
    // The original's headers are attached by default, not its body.
    assert_eq!(m.attachment_count(), 1);
    let att = m.attachment(0).unwrap();
    let ct = att.content_type().unwrap();
    assert_eq!((ct.ctype(), ct.subtype()), ("text", Some("rfc822-headers")));
    let text = att.text_contents().unwrap();
    assert!(text.contains("Subject: Q3 numbers"));
    assert!(!text.contains("4111"));
    // Same input, same bytes (boundaries come from the id).
    assert_eq!(
        bytes,
        settings().notice(
            Kind::ApprovalRequest,
            &facts(),
            &to,
            id(1),
            T0 + 60,
            Some(ORIGINAL)
        )
    );
}

#[test]
fn attach_original_full_and_none() {
    let mut s = settings();
    s.attach_original = Attach::Full;
    let to = vec!["secops@corp.example".to_string()];
    let bytes = s.notice(
        Kind::AdminViolation,
        &facts(),
        &to,
        id(2),
        T0,
        Some(ORIGINAL),
    );
    check_lines(&bytes);
    let m = MessageParser::default().parse(&bytes).unwrap();
    let att = m.attachment(0).unwrap();
    let inner = att.message().expect("message/rfc822");
    assert_eq!(inner.subject(), Some("Q3 numbers"));
    assert!(inner.body_text(0).unwrap().contains("attached."));
    assert_eq!(m.text_body_count(), 1);
    assert_eq!(
        m.html_body_count(),
        1,
        "mail-parser offers the text as HTML too"
    );
    assert!(m.html_part(0).unwrap().content_type().unwrap().subtype() == Some("plain"));

    s.attach_original = Attach::None;
    let bytes = s.notice(
        Kind::AdminViolation,
        &facts(),
        &to,
        id(2),
        T0,
        Some(ORIGINAL),
    );
    let m = MessageParser::default().parse(&bytes).unwrap();
    assert_eq!(m.attachment_count(), 0);
    let root = m.root_part().content_type().unwrap();
    assert_eq!((root.ctype(), root.subtype()), ("text", Some("plain")));
    let body = m.body_text(0).unwrap();
    assert!(body.contains("The message was quarantined."), "{body}");
    assert!(body.contains("Severity: high"), "{body}");
}

#[test]
fn an_expired_notice_returns_the_whole_message_unless_it_cannot_be_carried() {
    let to = vec!["alice@corp.example".to_string()];
    let bytes = settings().notice(Kind::Expired, &facts(), &to, id(3), T0, Some(ORIGINAL));
    let m = MessageParser::default().parse(&bytes).unwrap();
    assert!(m.attachment(0).unwrap().message().is_some());
    // A line over 998 octets cannot go in an unencoded message/rfc822: headers only.
    let mut long = ORIGINAL.to_vec();
    long.extend(vec![b'x'; 1200]);
    long.extend(b"\r\n");
    let bytes = settings().notice(Kind::Expired, &facts(), &to, id(3), T0, Some(&long));
    check_lines(&bytes);
    let m = MessageParser::default().parse(&bytes).unwrap();
    let ct = m.attachment(0).unwrap().content_type().unwrap();
    assert_eq!(ct.subtype(), Some("rfc822-headers"));
}

#[test]
fn a_subject_cannot_inject_headers_and_non_ascii_is_encoded() {
    let mut f = facts();
    f.subject = "Grüße\r\nBcc: victim@evil.example\r\n\r\n<b>body</b>".into();
    let to = vec!["boss@corp.example".to_string()];
    let bytes = settings().notice(Kind::ApprovalRequest, &f, &to, id(4), T0, None);
    check_lines(&bytes);
    let raw = String::from_utf8(bytes.clone()).unwrap();
    let head = &raw[..raw.find("\r\n\r\n").unwrap()];
    assert!(!head.contains("\r\nBcc:"), "{head}");
    assert!(head.contains("Subject: =?utf-8?"), "{head}");
    assert!(head.is_ascii());
    let m = MessageParser::default().parse(&bytes).unwrap();
    assert!(m.bcc().is_none());
    assert_eq!(
        m.subject(),
        Some("Approval needed: Grüße Bcc: victim@evil.example <b>body</b>")
    );
    // In HTML the same value is text, not markup.
    let html = m.body_html(0).unwrap();
    assert!(html.contains("&lt;b&gt;body&lt;/b&gt;"), "{html}");
    assert!(!html.contains("<b>body"), "{html}");
}

#[test]
fn who_gets_a_notice() {
    let mut s = settings();
    let mut f = facts();
    assert!(
        !s.wanted(Kind::SenderViolation, &f),
        "off by default: backscatter"
    );
    s.sender_notices = true;
    assert!(s.wanted(Kind::SenderViolation, &f));
    assert!(
        !s.wanted(Kind::AdminViolation, &f),
        "no administrators configured"
    );
    s.admin = vec!["secops@corp.example".into()];
    assert!(s.wanted(Kind::AdminViolation, &f));
    assert!(s.wanted(Kind::Rejected, &f));
    f.sender.clear();
    for k in [
        Kind::SenderViolation,
        Kind::Approved,
        Kind::Rejected,
        Kind::Expired,
    ] {
        assert!(!s.wanted(k, &f), "never to the null sender: {k}");
    }
}

#[test]
fn a_notice_without_header_recipients_has_no_empty_to_field() {
    let bytes = settings().notice(Kind::Released, &facts(), &[], id(6), T0, None);
    check_lines(&bytes);
    let raw = String::from_utf8(bytes.clone()).unwrap();
    let head = &raw[..raw.find("\r\n\r\n").unwrap()];
    assert!(!head.contains("\r\nTo:"), "{head}");
    let m = MessageParser::default().parse(&bytes).unwrap();
    assert_eq!(m.subject(), Some("Released from quarantine: Q3 numbers"));
    assert!(m.body_text(0).unwrap().contains("Quarantine ID: Q-42"));
}
