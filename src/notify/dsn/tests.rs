//! DSN tests: RFC 3464 fields, ENVID and ORCPT round trips, RET=HDRS vs RET=FULL, NOTIFY, and
//! the reports parsed back with mail-parser.

use super::*;
use crate::message::{MailParams, Notify};
use mail_parser::{MessageParser, MimeHeaders};

const HOST: &str = "gw.example.com";
const T0: u64 = 1_700_000_000;

const ORIGINAL: &[u8] = b"From: alice@corp.example\r\n\
To: bob@partner.example\r\n\
Subject: Q3 numbers\r\n\
\r\n\
The body text.\r\n";

fn envelope(ret: Option<Ret>, envid: Option<&str>) -> Envelope {
    Envelope {
        sender: "alice@corp.example".into(),
        params: MailParams {
            ret,
            envid: envid.map(str::to_string),
            ..MailParams::default()
        },
        recipients: Vec::new(),
    }
}

fn bounced() -> Attempt {
    Attempt {
        recipient: Recipient {
            address: "bob@partner.example".into(),
            notify: Notify {
                failure: true,
                ..Notify::default()
            },
            orcpt: Some("rfc822;Bob+2BTag@partner.example".into()),
        },
        remote_mta: Some("mx.partner.example".into()),
        reply: Some("550 5.1.1 <bob@partner.example>: Recipient address rejected".into()),
        last_attempt: Some(T0 + 3600),
    }
}

fn unreachable() -> Attempt {
    Attempt {
        recipient: Recipient::plain("carol@far.example"),
        remote_mta: None,
        reply: None,
        last_attempt: Some(T0 + 1800),
    }
}

fn report<'a>(env: &'a Envelope, attempts: &'a [Attempt]) -> Report<'a> {
    Report {
        id: uuid::Uuid::from_u128(9),
        hostname: HOST,
        now: T0 + 7200,
        envelope: env,
        arrival: T0,
        attempts,
        original: ORIGINAL,
    }
}

/// The delivery-status part's text, with the report parsed back.
fn parts(bytes: &[u8]) -> (String, String, String, Option<String>) {
    let s = std::str::from_utf8(bytes).unwrap();
    for line in s.split("\r\n") {
        assert!(line.len() <= 998 && !line.contains(['\r', '\n']));
    }
    let m = MessageParser::default().parse(bytes).unwrap();
    let root = m.root_part().content_type().unwrap();
    assert_eq!(
        (root.ctype(), root.subtype()),
        ("multipart", Some("report"))
    );
    assert_eq!(root.attribute("report-type"), Some("delivery-status"));
    assert_eq!(
        m.from().unwrap().first().unwrap().address(),
        Some("MAILER-DAEMON@gw.example.com")
    );
    assert_eq!(
        m.to().unwrap().first().unwrap().address(),
        Some("alice@corp.example")
    );
    assert_eq!(
        m.header_raw("Auto-Submitted").map(str::trim),
        Some("auto-replied")
    );
    let human = m.body_text(0).unwrap().replace("\r\n", "\n");
    // Part 2 is message/delivery-status, sent 7bit and so readable as is.
    let start = s.find("Content-Type: message/delivery-status").unwrap();
    let body_start = start + s[start..].find("\r\n\r\n").unwrap() + 4;
    let body_end = body_start + s[body_start..].find("\r\n--sluice-").unwrap();
    let status = s[body_start..body_end].to_string();
    let returned = m
        .part(3)
        .map(|p| {
            let ct = p.content_type().unwrap();
            format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or(""))
        })
        .unwrap_or_default();
    let inner = m
        .part(3)
        .and_then(|p| p.message())
        .and_then(|inner| inner.body_text(0).map(|t| t.into_owned()));
    (human, status, returned, inner)
}

#[test]
fn a_failure_report_has_every_rfc_3464_field() {
    let env = envelope(None, Some("QQ314159+2Bx"));
    let attempts = [bounced(), unreachable()];
    let bytes = failure(&report(&env, &attempts)).unwrap();
    let (human, status, returned, inner) = parts(&bytes);
    assert_eq!(
        status,
        "Original-Envelope-Id: QQ314159+x\r\n\
         Reporting-MTA: dns; gw.example.com\r\n\
         Arrival-Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n\
         \r\n\
         Original-Recipient: rfc822; Bob+Tag@partner.example\r\n\
         Final-Recipient: rfc822; bob@partner.example\r\n\
         Action: failed\r\n\
         Status: 5.1.1\r\n\
         Remote-MTA: dns; mx.partner.example\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 <bob@partner.example>: Recipient address rejected\r\n\
         Last-Attempt-Date: Tue, 14 Nov 2023 23:13:20 +0000\r\n\
         \r\n\
         Final-Recipient: rfc822; carol@far.example\r\n\
         Action: failed\r\n\
         Status: 4.4.7\r\n\
         Last-Attempt-Date: Tue, 14 Nov 2023 22:43:20 +0000\r\n"
    );
    assert!(
        human.contains("no further\nattempts will be made"),
        "{human}"
    );
    assert!(human.contains("<bob@partner.example>: mx.partner.example said: 550 5.1.1"));
    assert!(human.contains("<carol@far.example>: no server could be reached"));
    assert!(human.contains("The headers of your message are attached."));
    // RET absent means headers only.
    assert_eq!(returned, "text/rfc822-headers");
    assert_eq!(inner, None);
    assert!(!String::from_utf8_lossy(&bytes).contains("The body text."));
}

#[test]
fn ret_full_returns_the_whole_message_and_ret_hdrs_only_its_headers() {
    let attempts = [bounced()];
    let env = envelope(Some(Ret::Full), None);
    let (human, status, returned, inner) = parts(&failure(&report(&env, &attempts)).unwrap());
    assert_eq!(returned, "message/rfc822");
    assert_eq!(inner.as_deref(), Some("The body text.\r\n"));
    assert!(human.contains("Your message is attached."));
    assert!(!status.contains("Original-Envelope-Id"), "no ENVID given");

    let env = envelope(Some(Ret::Headers), None);
    let bytes = failure(&report(&env, &attempts)).unwrap();
    let (_, _, returned, _) = parts(&bytes);
    assert_eq!(returned, "text/rfc822-headers");
    assert!(String::from_utf8_lossy(&bytes).contains("Subject: Q3 numbers"));
    assert!(!String::from_utf8_lossy(&bytes).contains("The body text."));
}

#[test]
fn a_delay_notice_says_until_when_and_returns_headers_even_with_ret_full() {
    let env = envelope(Some(Ret::Full), None);
    let mut a = unreachable();
    a.remote_mta = Some("mx.far.example".into());
    a.reply = Some("451 4.3.0 try again later".into());
    let attempts = [a, unreachable()];
    let bytes = delay(&report(&env, &attempts), T0 + 5 * 86_400).unwrap();
    let (human, status, returned, _) = parts(&bytes);
    assert!(status.contains(
        "Final-Recipient: rfc822; carol@far.example\r\n\
         Action: delayed\r\n\
         Status: 4.3.0\r\n\
         Remote-MTA: dns; mx.far.example\r\n\
         Diagnostic-Code: smtp; 451 4.3.0 try again later\r\n\
         Last-Attempt-Date: Tue, 14 Nov 2023 22:43:20 +0000\r\n\
         Will-Retry-Until: Sun, 19 Nov 2023 22:13:20 +0000"
    ));
    assert!(
        status.contains("Status: 4.4.1"),
        "no reply at all: {status}"
    );
    assert!(
        human.contains("until Sun, 19 Nov 2023 22:13:20 +0000"),
        "{human}"
    );
    assert_eq!(returned, "text/rfc822-headers");
    let m = MessageParser::default().parse(&bytes).unwrap();
    assert_eq!(m.subject(), Some("Delivery Status Notification (Delay)"));
}

#[test]
fn no_report_to_the_null_sender_or_against_notify() {
    let attempts = [bounced()];
    let mut env = envelope(None, None);
    env.sender.clear();
    assert!(failure(&report(&env, &attempts)).is_none());

    let env = envelope(None, None);
    // bounced() asked for NOTIFY=FAILURE only: no delay notice.
    assert!(delay(&report(&env, &attempts), T0).is_none());
    let mut never = bounced();
    never.recipient.notify = Notify {
        never: true,
        ..Notify::default()
    };
    assert!(failure(&report(&env, &[never.clone()])).is_none());
    // Only the recipients that asked are reported.
    let bytes = failure(&report(&env, &[never, unreachable()])).unwrap();
    let (_, status, _, _) = parts(&bytes);
    assert!(!status.contains("bob@"), "{status}");
    assert!(status.contains("carol@far.example"));
}

#[test]
fn status_comes_from_the_last_reply() {
    assert_eq!(
        status(Some("550 5.1.1 no such user"), Action::Failed),
        "5.1.1"
    );
    assert_eq!(status(Some("550-5.7.1 policy"), Action::Failed), "5.7.1");
    assert_eq!(
        status(Some("452 4.2.2 mailbox full"), Action::Delayed),
        "4.2.2"
    );
    assert_eq!(status(Some("550 no such user"), Action::Failed), "5.0.0");
    assert_eq!(status(Some("421 closing"), Action::Delayed), "4.0.0");
    // An enhanced code of the wrong class is not believed.
    assert_eq!(status(Some("550 4.1.1 odd"), Action::Failed), "5.0.0");
    assert_eq!(status(Some("garbage"), Action::Failed), "4.0.0");
    assert_eq!(status(None, Action::Delayed), "4.4.1");
    assert_eq!(status(None, Action::Failed), "4.4.7");
}

#[test]
fn xtext_round_trips_and_bad_xtext_is_kept_raw() {
    assert_eq!(xtext_decode("a+2Bb+3Dc").as_deref(), Some("a+b=c"));
    assert_eq!(
        xtext_decode("plain@example.com").as_deref(),
        Some("plain@example.com")
    );
    assert_eq!(xtext_decode("bad+2g"), None);
    assert_eq!(xtext_decode("trunc+2"), None);
    assert_eq!(xtext_decode("a=b"), None);
    assert_eq!(
        original_recipient("rfc822;x+2By@e.example"),
        "rfc822; x+y@e.example"
    );
    assert_eq!(original_recipient("x400;c+3Dus+3Ba+3Dx"), "x400; c=us;a=x");
    // '=' is not xtext: kept as given.
    assert_eq!(original_recipient("x400;c=us"), "x400; c=us");
    assert_eq!(original_recipient("rfc822;bad+zz"), "rfc822; bad+zz");
}

#[test]
fn fields_stay_single_line_ascii() {
    assert_eq!(
        address_field("jos\u{e9}@example.com"),
        "utf-8; jos\\x{E9}@example.com"
    );
    let env = envelope(None, Some("id\r\nX-Evil: 1"));
    let mut a = bounced();
    a.reply = Some(format!(
        "550 5.1.1 caf\u{e9}\r\nInjected: yes {}",
        "x".repeat(2000)
    ));
    let bytes = failure(&report(&env, &[a])).unwrap();
    let (_, status, _, _) = parts(&bytes);
    assert!(status.is_ascii());
    assert!(!status.contains("\r\nInjected"), "{status}");
    assert!(!status.contains("\r\nX-Evil"), "{status}");
    assert!(status.contains("Diagnostic-Code: smtp; 550 5.1.1 caf? Injected: yes xxx"));
    for line in status.split("\r\n") {
        assert!(line.len() <= "Diagnostic-Code: ".len() + MAX_FIELD_CHARS);
    }
}
