//! Pipeline tests: what `decide` does to a message for each verdict, and the failure -> reply table.

use super::*;
use crate::config::Config;
use crate::message::{Envelope, Recipient, header};

const POLICIES: &str = r#"
[[policy]]
id = 1
keywords = ["blockme"]
action = "block"
reply = "Blocked by DLP: contact security@corp.example"

[[policy]]
id = 2
keywords = ["review"]
action = "redirect"
redirect_to = "review@corp.example"

[[policy]]
id = 3
keywords = ["tag"]
action = "modify"
subject = { mode = "prepend", text = "[DLP] " }
headers = ["X-CFilter: Encrypt", "X-Two: 2"]

[[policy]]
id = 4
keywords = ["watch"]
mode = "monitor"
action = "block"
"#;

fn inspector(extra: &str) -> Inspector {
    Inspector::new(
        &Config::parse(&format!("{extra}\n{POLICIES}"), "t").unwrap(),
        std::sync::Arc::new(crate::decompose::NoPdf),
        &crate::detect::Library::embedded().unwrap(),
    )
    .unwrap()
}

fn env() -> Envelope {
    Envelope {
        sender: "a@corp.example".into(),
        params: Default::default(),
        recipients: vec![Recipient::plain("b@partner.example")],
    }
}

fn msg(subject: &str, body: &str) -> Vec<u8> {
    format!("Subject: {subject}\r\nTo: b@partner.example\r\n\r\n{body}\r\n").into_bytes()
}

fn outcome(i: &Inspector, m: Vec<u8>) -> Outcome {
    let arc = Arc::new(m.clone());
    let inspection = smol::block_on(i.inspect(&env(), &arc)).unwrap();
    i.decide(MessageId::random(), m, &inspection, None)
}

fn relayed(o: Outcome) -> (Vec<u8>, Option<Vec<String>>) {
    match o {
        Outcome::Relay {
            message,
            redirect_to,
        } => (message, redirect_to),
        other => panic!("expected relay, got {other:?}"),
    }
}

#[test]
fn clean_mail_gets_only_the_pass_header() {
    let (m, to) = relayed(outcome(&inspector(""), msg("Hi", "hello")));
    assert_eq!(to, None);
    assert_eq!(
        m,
        [
            b"X-CFilter-Loop: Reflected\r\n".as_slice(),
            &msg("Hi", "hello")
        ]
        .concat()
    );
}

#[test]
fn block_uses_the_configured_text() {
    match outcome(&inspector(""), msg("Hi", "please blockme now")) {
        Outcome::Refuse { reply, reason } => {
            assert_eq!(reason, "policy");
            assert_eq!(
                reply.to_bytes(true),
                b"550 5.7.1 Blocked by DLP: contact security@corp.example\r\n"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn redirect_and_modify_combine_and_tag() {
    let (m, to) = relayed(outcome(&inspector(""), msg("Plans", "review this tag")));
    assert_eq!(to, Some(vec!["review@corp.example".to_string()]));
    assert_eq!(header::first(&m, "subject").as_deref(), Some("[DLP] Plans"));
    assert_eq!(header::count(&m, "X-CFilter"), 1);
    assert_eq!(header::first(&m, "X-Two").as_deref(), Some("2"));
    assert_eq!(header::first(&m, "X-dlp-policyid").as_deref(), Some("2"));
    let guid = header::first(&m, "X-dlp-uniquemsgid").unwrap();
    assert_eq!(guid.len(), 36);
    assert!(
        guid.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase() || c == '-')
    );
}

#[test]
fn trial_mode_and_monitor_change_nothing() {
    let (m, to) = relayed(outcome(
        &inspector("[server]\ntrial_mode = true"),
        msg("Hi", "blockme tag"),
    ));
    assert_eq!(to, None);
    assert_eq!(header::first(&m, "subject").as_deref(), Some("Hi"));
    assert_eq!(header::count(&m, "X-dlp-uniquemsgid"), 0);
    let (m, _) = relayed(outcome(&inspector(""), msg("Hi", "watch this")));
    assert_eq!(header::count(&m, "X-dlp-uniquemsgid"), 0);
    assert_eq!(header::count(&m, "X-CFilter-Loop"), 1);
}

#[test]
fn inbound_copies_of_our_headers_are_replaced_not_trusted() {
    let mut m =
        b"X-CFilter-Loop: Reflected\r\nX-dlp-policyid: 99\r\nX-Sluice-Inspection: failed\r\n"
            .to_vec();
    m.extend(msg("Hi", "tag"));
    let (out, _) = relayed(outcome(&inspector(""), m));
    assert_eq!(header::count(&out, "X-CFilter-Loop"), 1);
    assert_eq!(header::count(&out, "X-Sluice-Inspection"), 0);
    assert_eq!(header::first(&out, "X-dlp-policyid").as_deref(), Some("3"));
    assert_eq!(header::count(&out, "X-dlp-policyid"), 1);
}

#[test]
fn pass_header_can_be_renamed_or_disabled() {
    let (m, _) = relayed(outcome(
        &inspector("[relay.pass_header]\nname = \"X-Filter-Loop\"\nvalue = \"Done\""),
        msg("Hi", "x"),
    ));
    assert_eq!(header::first(&m, "X-Filter-Loop").as_deref(), Some("Done"));
    let (m, _) = relayed(outcome(
        &inspector("[relay.pass_header]\nenabled = false"),
        msg("Hi", "x"),
    ));
    assert_eq!(m, msg("Hi", "x"));
}

#[test]
fn too_many_received_headers_is_a_loop() {
    let i = inspector("[relay]\nmax_received_headers = 3");
    let mut m = b"Received: a\r\nReceived: b\r\nReceived: c\r\n".to_vec();
    m.extend(msg("Hi", "x"));
    assert!(matches!(outcome(&i, m.clone()), Outcome::Relay { .. }));
    let mut more = b"Received: d\r\n".to_vec();
    more.extend(m);
    match outcome(&i, more) {
        Outcome::Refuse { reply, .. } => {
            assert_eq!((reply.code, reply.enhanced), (554, Some([5, 4, 6])))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn failed_open_inspection_passes_tagged() {
    let i = inspector("[inspection]\non_failure = \"pass\"");
    let (m, _) = relayed(i.decide(
        MessageId::random(),
        msg("Hi", "blockme"),
        &Inspection::FailedOpen("boom".into()),
        None,
    ));
    assert_eq!(
        header::first(&m, "X-Sluice-Inspection").as_deref(),
        Some("failed")
    );
}

#[test]
fn only_policy_decisions_are_permanent() {
    use crate::relay::client::Error as C;
    let failures = [
        Failure::NoNextHop(crate::relay::Error::Unreachable {
            attempts: 2,
            last: "x".into(),
        }),
        Failure::NoNextHop(crate::relay::Error::Tls("x".into())),
        Failure::NoNextHop(crate::relay::Error::Dns("x".into())),
        Failure::NextHop(C::Timeout("DATA")),
        Failure::NextHop(C::Closed),
        Failure::NextHop(C::Protocol("x".into())),
        Failure::NextHop(C::TlsUnavailable),
        Failure::Inspection("x".into()),
        Failure::InspectionTimeout,
    ];
    for f in failures {
        assert!(f.reply().is_transient(), "{f} -> {}", f.reply());
    }
    assert_eq!(
        Failure::NoNextHop(crate::relay::Error::Unreachable {
            attempts: 1,
            last: String::new()
        })
        .reply()
        .enhanced,
        Some([4, 4, 1])
    );
    assert_eq!(
        Failure::Inspection(String::new()).reply().enhanced,
        Some([4, 3, 0])
    );
}

/// Whether a failure may be answered with a 5xx: only what the client's own message breaks (the
/// DATA input rules: size, line length, line endings, NUL). No wildcard: a new variant does not
/// compile until it is classified here (and sampled in the test below).
fn may_be_permanent(f: &Failure) -> bool {
    match f {
        Failure::Data(DataError::TooBig)
        | Failure::Data(DataError::LineTooLong)
        | Failure::Data(DataError::BareLineEnding)
        | Failure::Data(DataError::Nul) => true,
        Failure::Data(DataError::OverBudget)
        | Failure::Data(DataError::SpoolFailed)
        | Failure::NoNextHop(_)
        | Failure::NextHop(_)
        | Failure::Inspection(_)
        | Failure::InspectionTimeout
        | Failure::Store(_)
        | Failure::NextHopGone
        | Failure::RefusedOnReplay(_)
        | Failure::Unholdable(_)
        | Failure::Internal(_) => false,
    }
}

#[test]
fn every_internal_next_hop_and_store_failure_is_temporary() {
    use crate::relay::Error as R;
    use crate::relay::client::Error as C;
    use crate::store::StoreError as S;
    let io = || std::io::Error::other("x");
    let refusal = |code| Reply::new(code, None, "no");
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 25));
    let mut failures: Vec<Failure> = [
        DataError::TooBig,
        DataError::LineTooLong,
        DataError::BareLineEnding,
        DataError::Nul,
        DataError::OverBudget,
        DataError::SpoolFailed,
    ]
    .into_iter()
    .map(Failure::Data)
    .collect();
    failures.extend(
        [
            R::Unreachable {
                attempts: 1,
                last: "x".into(),
            },
            R::Tls("x".into()),
            R::Dns("x".into()),
            R::Refused(refusal(554)),
        ]
        .map(Failure::NoNextHop),
    );
    failures.extend(
        [
            C::Connect(addr, io()),
            C::Timeout("DATA"),
            C::Lost(io()),
            C::Closed,
            C::Protocol("x".into()),
            C::Refused(refusal(550)),
            C::TlsUnavailable,
            C::TlsRefused(refusal(554)),
            C::TlsHandshake("x".into()),
            C::Unwritable("MAIL"),
        ]
        .map(Failure::NextHop),
    );
    failures.extend(
        [
            S::Full("x".into()),
            S::NewerSchema {
                found: 9,
                supported: 1,
            },
            S::Corrupt {
                what: "x".into(),
                detail: "y".into(),
            },
            S::Lost("x".into()),
            S::Backup("x".into()),
            S::NotFound("x".into()),
            S::Refused("x".into()),
            S::Io("x".into()),
            S::Unavailable("x".into()),
        ]
        .map(Failure::Store),
    );
    failures.extend([
        Failure::Inspection("x".into()),
        Failure::InspectionTimeout,
        Failure::NextHopGone,
        Failure::RefusedOnReplay(refusal(550)),
        Failure::RefusedOnReplay(refusal(452)),
        Failure::Unholdable("x"),
        Failure::Internal("x"),
    ]);
    for f in &failures {
        let reply = f.reply();
        if may_be_permanent(f) {
            assert!(reply.is_permanent(), "{f} -> {reply}");
        } else {
            assert!(reply.is_transient(), "{f} -> {reply}");
        }
    }
    // A temporary refusal on a second attempt is the next hop's own reply, as it was sent.
    assert_eq!(Failure::RefusedOnReplay(refusal(452)).reply(), refusal(452));
}
