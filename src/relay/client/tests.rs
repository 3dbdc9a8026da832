//! The SMTP client's unit tests: reply parsing, command lines, STARTTLS errors.

use super::*;

#[test]
fn starttls_failures_say_what_to_do_and_count_as_tls() {
    let missing = Error::TlsUnavailable;
    let refused = Error::TlsRefused(Reply::new(454, Some([4, 7, 0]), "TLS not available"));
    for e in [&missing, &refused] {
        assert!(e.is_tls());
        assert!(e.to_string().contains("relay.starttls"), "{e}");
    }
    assert!(refused.to_string().contains("454"), "{refused}");
}

#[test]
fn parses_reply_lines_and_enhanced_codes() {
    assert_eq!(
        parse_reply_line(b"250-mx Hello"),
        Some((250, false, "mx Hello".into()))
    );
    assert_eq!(
        parse_reply_line(b"550 5.1.1 No such user"),
        Some((550, true, "5.1.1 No such user".into()))
    );
    assert_eq!(parse_reply_line(b"250"), Some((250, true, String::new())));
    assert_eq!(parse_reply_line(b"25x ok"), None);
    assert_eq!(parse_reply_line(b"999 ok"), None);
    assert_eq!(
        split_enhanced("5.1.1 No such user", 550),
        Some(([5, 1, 1], "No such user".into()))
    );
    assert_eq!(split_enhanced("4.1.1 mismatch", 550), None);
    assert_eq!(split_enhanced("Hello", 250), None);
    // Controls in the next hop's text are not relayed upstream as they are.
    assert_eq!(
        parse_reply_line(b"250 ok\rRSET\0x"),
        Some((250, true, "ok RSET x".into()))
    );
}

#[test]
fn only_whole_crlf_lines_are_command_lines() {
    assert!(are_command_lines(b"MAIL FROM:<a@b.example>\r\n"));
    assert!(are_command_lines(
        b"RSET\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"
    ));
    for bad in [
        &b""[..],
        b"\r\n",
        b"EHLO gw\r\nRSET",
        b"EHLO gw\r\n\r\n",
        b"EHLO g\nw\r\n",
        b"EHLO g\rw\r\n",
        b"EHLO g\0w\r\n",
    ] {
        assert!(!are_command_lines(bad), "{bad:?}");
    }
}

/// A peer that greets, answers one EHLO, then records everything else it receives.
async fn recording_peer(server: smol::net::TcpListener) -> (Vec<u8>, Vec<u8>) {
    let (mut s, _) = server.accept().await.unwrap();
    s.write_all(b"220 peer.test ESMTP\r\n").await.unwrap();
    let mut ehlo = Vec::new();
    let mut byte = [0u8; 1];
    while !ehlo.ends_with(b"\r\n") && s.read(&mut byte).await.unwrap() == 1 {
        ehlo.push(byte[0]);
    }
    s.write_all(b"250-peer.test\r\n250-PIPELINING\r\n250 DSN\r\n")
        .await
        .unwrap();
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest).await;
    (ehlo, rest)
}

#[test]
fn a_line_break_in_a_command_never_reaches_the_next_hop() {
    smol::block_on(async {
        let server = smol::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let peer = smol::spawn(recording_peer(server));
        let opts = Options {
            helo_name: HostName::new("gw.test").unwrap(),
            source: None,
            connect_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(5),
            data_timeout: Duration::from_secs(5),
            tls: crate::tls::client_config(&[]).unwrap(),
            max_reply_line: crate::config::Config::embedded()
                .unwrap()
                .relay
                .max_reply_line,
            max_reply_lines: crate::config::Config::embedded()
                .unwrap()
                .relay
                .max_reply_lines,
        };
        let name = ServerName::try_from("peer.test").unwrap();
        let mut conn = Connection::open(addr, name, &opts, false).await.unwrap();
        let smuggle = "a@b.example>\r\nRCPT TO:<victim@c.example";
        let params = MailParams::default();
        let e = conn.mail(smuggle, &params, None).await.unwrap_err();
        assert!(matches!(e, Error::Unwritable("MAIL")), "{e}");
        let rcpt = Recipient::plain("x@c.example>\r\nDATA");
        let e = conn
            .open_transaction(true, "a@b.example", &params, &rcpt)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Unwritable("RCPT")), "{e}");
        let mut orcpt = Recipient::plain("x@c.example");
        orcpt.orcpt = Some("rfc822;x@c.example\0".into());
        let e = conn.rcpt(&orcpt).await.unwrap_err();
        assert!(matches!(e, Error::Unwritable("RCPT")), "{e}");
        drop(conn);
        let (ehlo, rest) = peer.await;
        assert_eq!(ehlo, b"EHLO gw.test\r\n");
        assert_eq!(
            String::from_utf8_lossy(&rest),
            "",
            "nothing else was written"
        );
    });
}
