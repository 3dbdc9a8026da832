//! Transcript tests for the state machine: client bytes in (in any chunking), reply codes out.

use super::*;
use crate::smtp::transcript::run;

fn settings() -> Settings {
    Settings {
        hostname: crate::smtp::HostName::new("mx.test").unwrap(),
        limits: Limits {
            max_recipients: 3,
            max_errors: 5,
            max_message_size: 1000,
            ..Limits::default()
        },
        extensions: Extensions::all(),
        bare_line_endings: BareLineEndings::Normalize,
        tls_available: true,
        starttls: Starttls::Offer,
    }
}

fn check(input: &str, expected: &[u16]) {
    let (codes, _, _) = run(settings(), input.as_bytes(), &[]);
    assert_eq!(codes, expected, "transcript:\n{input}");
}

#[test]
fn a_whole_transaction() {
    let t = "EHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\nSubject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n";
    check(t, &[250, 250, 250, 354, 250, 221]);
    let (_, msgs, closed) = run(settings(), t.as_bytes(), &[]);
    assert!(closed);
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].0.sender, "a@x.test");
    assert_eq!(msgs[0].1, b"Subject: hi\r\n\r\nbody\r\n");
}

#[test]
fn order_rules() {
    check("MAIL FROM:<a@x>\r\n", &[503]);
    check("HELO c\r\nRCPT TO:<b@y>\r\n", &[250, 503]);
    check("HELO c\r\nDATA\r\n", &[250, 503]);
    check("HELO c\r\nMAIL FROM:<a@x>\r\nDATA\r\n", &[250, 250, 554]);
    check(
        "HELO c\r\nMAIL FROM:<a@x>\r\nMAIL FROM:<a@x>\r\n",
        &[250, 250, 503],
    );
    check(
        "HELO c\r\nMAIL FROM:<a@x>\r\nRSET\r\nRCPT TO:<b@y>\r\n",
        &[250, 250, 250, 503],
    );
}

#[test]
fn extensions_and_parameters() {
    // HELO sessions get no extensions: SIZE and DSN parameters are refused... only if not offered.
    check("EHLO c\r\nMAIL FROM:<a@x> SIZE=5000\r\n", &[250, 552]);
    check(
        "EHLO c\r\nMAIL FROM:<a@x> SIZE=99999999999999999999\r\nMAIL FROM:<a@x> SIZE=999999999999999999999\r\nMAIL FROM:<a@x> ENVID=+ZZ\r\n",
        &[250, 552, 501, 501],
    );
    check(
        "EHLO c\r\nMAIL FROM:<a@x> SIZE=500 BODY=8BITMIME RET=HDRS\r\nRCPT TO:<b@y> NOTIFY=NEVER\r\n",
        &[250, 250, 250],
    );
    let mut s = settings();
    s.limits.max_errors = 20;
    s.extensions = Extensions::empty().with(Extensions::SIZE);
    let (codes, _, _) = run(s, b"EHLO c\r\nMAIL FROM:<a@x> RET=HDRS\r\nMAIL FROM:<a@x> BODY=8BITMIME\r\nMAIL FROM:<a@x> SMTPUTF8\r\nVRFY x\r\nHELP\r\nSTARTTLS\r\n", &[]);
    assert_eq!(codes, [250, 555, 555, 555, 502, 502, 454]);
}

#[test]
fn ehlo_lists_configured_extensions_and_hides_starttls_after_tls() {
    let mut p = Protocol::new(settings(), "192.0.2.1".into());
    let Step::Reply(r) = p.on_line(Line::Text(b"EHLO c".to_vec())) else {
        panic!()
    };
    assert!(r.lines.contains(&"STARTTLS".to_string()));
    assert!(r.lines.contains(&"SIZE 1000".to_string()));
    assert_eq!(p.on_line(Line::Text(b"STARTTLS".to_vec())), Step::StartTls);
    p.tls_started();
    assert!(
        matches!(
            p.on_line(Line::Text(b"MAIL FROM:<a@x>".to_vec())),
            Step::Reply(Reply { code: 503, .. })
        ),
        "HELO is needed again after TLS"
    );
    let Step::Reply(r) = p.on_line(Line::Text(b"EHLO c".to_vec())) else {
        panic!()
    };
    assert!(!r.lines.contains(&"STARTTLS".to_string()));
    assert!(matches!(
        p.on_line(Line::Text(b"STARTTLS".to_vec())),
        Step::Reply(Reply { code: 503, .. })
    ));
}

#[test]
fn recipient_limit_and_error_budget() {
    check(
        "HELO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<1@y>\r\nRCPT TO:<2@y>\r\nRCPT TO:<3@y>\r\nRCPT TO:<4@y>\r\n",
        &[250, 250, 250, 250, 250, 452],
    );
    let (codes, _, closed) = run(
        settings(),
        b"BAD\r\nBAD\r\nBAD\r\nBAD\r\nBAD\r\nNOOP\r\n",
        &[],
    );
    assert_eq!(codes, [500, 500, 500, 500, 421]);
    assert!(closed);
}

#[test]
fn non_ascii_addresses_need_smtputf8() {
    check(
        "EHLO c\r\nMAIL FROM:<jörg@x.test>\r\nMAIL FROM:<jörg@x.test> SMTPUTF8\r\nRCPT TO:<zoë@y.test>\r\n",
        &[250, 553, 250, 250],
    );
}

#[test]
fn misc_commands() {
    check(
        "NOOP\r\nVRFY someone\r\nHELP\r\nAUTH PLAIN x\r\nEXPN list\r\nQUIT\r\n",
        &[250, 252, 214, 502, 502, 221],
    );
}

#[test]
fn pipelined_commands_after_data_are_kept() {
    let t = b"EHLO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\nx\r\n.\r\nMAIL FROM:<c@x>\r\nRCPT TO:<d@y>\r\nDATA\r\ny\r\n.\r\nQUIT\r\n";
    let (codes, msgs, _) = run(settings(), t, &[]);
    assert_eq!(codes, [250, 250, 250, 354, 250, 250, 250, 354, 250, 221]);
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[1].0.sender, "c@x");
    assert_eq!(msgs[1].1, b"y\r\n");
}

proptest::proptest! {
    /// Any chunking of a session's bytes gives the same replies and the same messages.
    #[test]
    fn chunking_does_not_change_the_conversation(cuts in proptest::collection::vec(0usize..400, 0..12)) {
        let t = b"EHLO c\r\nMAIL FROM:<a@x> BODY=8BITMIME\r\nRCPT TO:<b@y>\r\nRCPT TO:<c@y>\r\nDATA\r\nSubject: t\r\n\r\n..dot\r\nbare\nlf\r\n.\r\nRSET\r\nMAIL FROM:<>\r\nRCPT TO:<d@y>\r\nDATA\r\n.\r\nQUIT\r\n";
        let whole = run(settings(), t, &[]);
        let split = run(settings(), t, &cuts);
        proptest::prop_assert_eq!(whole, split);
    }

    /// Arbitrary bytes never panic the parser or the state machine.
    #[test]
    fn arbitrary_input_never_panics(input in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
        let _ = run(settings(), &input, &[7, 50, 300]);
    }
}

#[test]
fn junk_commands_past_the_limit_count_as_errors_until_a_message_resets_them() {
    let mut s = settings();
    s.limits.max_junk_commands = 3;
    // Three free, then each junk command is an error: the fifth error closes the session.
    let noops = "NOOP\r\n".repeat(9);
    let (codes, _, closed) = run(s.clone(), format!("EHLO c\r\n{noops}").as_bytes(), &[]);
    assert_eq!(codes, [250, 250, 250, 250, 250, 250, 250, 250, 421]);
    assert!(closed);
    // RSET, VRFY and HELP count too; a message starts the count again.
    let t = "EHLO c\r\nRSET\r\nVRFY x\r\nHELP\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\nbody\r\n.\r\nNOOP\r\nNOOP\r\nNOOP\r\nQUIT\r\n";
    let (codes, msgs, _) = run(s, t.as_bytes(), &[]);
    assert_eq!(msgs.len(), 1);
    assert_eq!(
        codes,
        [250, 250, 252, 214, 250, 250, 354, 250, 250, 250, 250, 221]
    );
}

#[test]
fn starttls_required_refuses_mail_before_tls_and_takes_it_after() {
    let s = Settings {
        starttls: Starttls::Require,
        ..settings()
    };
    let mut p = Protocol::new(s, "192.0.2.1".into());
    let Step::Reply(r) = p.on_line(Line::Text(b"EHLO c".to_vec())) else {
        panic!()
    };
    assert!(r.lines.contains(&"STARTTLS".to_string()));
    let Step::Reply(r) = p.on_line(Line::Text(b"MAIL FROM:<a@x>".to_vec())) else {
        panic!()
    };
    assert_eq!((r.code, r.enhanced), (530, Some([5, 7, 0])));
    assert!(r.lines[0].contains("Must issue a STARTTLS command first"));
    assert_eq!(p.on_line(Line::Text(b"STARTTLS".to_vec())), Step::StartTls);
    p.tls_started();
    p.on_line(Line::Text(b"EHLO c".to_vec()));
    assert!(matches!(
        p.on_line(Line::Text(b"MAIL FROM:<a@x>".to_vec())),
        Step::Mail { .. }
    ));
}

#[test]
fn starttls_off_is_not_advertised_nor_accepted() {
    let s = Settings {
        starttls: Starttls::Off,
        ..settings()
    };
    let mut p = Protocol::new(s, "192.0.2.1".into());
    let Step::Reply(r) = p.on_line(Line::Text(b"EHLO c".to_vec())) else {
        panic!()
    };
    assert!(!r.lines.contains(&"STARTTLS".to_string()));
    assert!(matches!(
        p.on_line(Line::Text(b"STARTTLS".to_vec())),
        Step::Reply(Reply { code: 454, .. })
    ));
    assert!(matches!(
        p.on_line(Line::Text(b"MAIL FROM:<a@x>".to_vec())),
        Step::Mail { .. }
    ));
}
