//! The gateway between two real Postfix MTAs (issue 14): Postfix A is the organisation's internal
//! server, sending its outbound mail through Sluice (`relayhost = [127.0.0.1]:<gateway>`,
//! `smtp_tls_security_level = encrypt`); Sluice delivers it to the recipient domain's MX (the
//! loopback test DNS server), Postfix B standing in for the Internet, over STARTTLS verified against
//! B's generated certificate (`tls = "verify"`). Inbound mail for the organisation's domain is
//! routed by Sluice to Postfix A, verified the same way. Both Postfix maillogs and the `Received:`
//! fields show TLS on both sides of the gateway.
//!
//! Needs root and the Debian package `postfix` (see `support::postfix`).

mod support;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use support::client::Client;
use support::dns::{Record, TestDns};
use support::postfix::free_port;
use support::postfix_mta::{Mta, MtaConfig};
use support::sink::{Received, Sink, SinkConfig};
use support::sluice::{Sluice, closed_addr};

const WAIT: Duration = Duration::from_secs(30);

struct Rig {
    /// The internal server, and the sink holding its users' mailboxes.
    a: Mta,
    corp_mailboxes: Sink,
    /// The Internet's MX of partner.example, and the sink holding its mailboxes.
    b: Mta,
    partner_mailboxes: Sink,
    sluice: Sluice,
    _dns: TestDns,
    _anchors: tempfile::TempDir,
}

fn rig() -> Rig {
    // Postfix A's client level "encrypt" holds for its own mailboxes' server too.
    let corp_mailboxes = Sink::start(SinkConfig {
        starttls: true,
        ..SinkConfig::default()
    });
    let partner_mailboxes = Sink::start_default();
    let gateway_port = free_port();
    let a = Mta::start(&MtaConfig {
        hostname: "mail.corp.example".into(),
        relayhost: SocketAddr::from(([127, 0, 0, 1], gateway_port)),
        client_tls: "encrypt".into(),
        transports: vec![("corp.example".into(), corp_mailboxes.addr)],
    });
    let b = Mta::start(&MtaConfig {
        hostname: "mx.partner.example".into(),
        relayhost: partner_mailboxes.addr,
        client_tls: "none".into(),
        transports: Vec::new(),
    });
    let dns = TestDns::start(vec![
        Record::Mx {
            name: "partner.example".into(),
            preference: 10,
            exchange: "mx.partner.example".into(),
        },
        Record::A {
            name: "mx.partner.example".into(),
            ip: Ipv4Addr::LOCALHOST,
        },
    ]);
    let anchors = tempfile::tempdir().unwrap();
    let (a_pem, b_pem) = (anchors.path().join("a.pem"), anchors.path().join("b.pem"));
    std::fs::write(&a_pem, &a.cert_pem).unwrap();
    std::fs::write(&b_pem, &b.cert_pem).unwrap();
    let relay = closed_addr(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST));
    let config = format!(
        "[server]\nhostname = \"gw.corp.example\"\n\n[listener]\naddress = \"127.0.0.1:{gateway_port}\"\nmode = \"gateway\"\ncommand_timeout = \"30s\"\ndata_timeout = \"30s\"\nshutdown_grace = \"2s\"\n\n[relay]\nmode = \"forward\"\nhosts = [\"{relay}\"]\nconnect_timeout = \"2s\"\n\n[dns]\nservers = [\"{dns}\"]\n\n[queue]\nretry = [\"1s\"]\nlease = \"10s\"\n\n[gateway]\nrelay_clients = [\"127.0.0.1\"]\ntls = \"verify\"\ntrust_anchors = [\"{b_pem}\"]\nmx_port = {b_port}\n\n[[route]]\ndomain = \"corp.example\"\ndestination = \"{a_smtp}\"\ntls = \"verify\"\ntrust_anchors = [\"{a_pem}\"]\n",
        dns = dns.addr,
        b_pem = b_pem.display(),
        b_port = b.smtp().port(),
        a_smtp = a.smtp(),
        a_pem = a_pem.display(),
    );
    let sluice = Sluice::start(&config);
    Rig {
        a,
        corp_mailboxes,
        b,
        partner_mailboxes,
        sluice,
        _dns: dns,
        _anchors: anchors,
    }
}

fn message(from: &str, to: &str, id: &str) -> String {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: through the gateway\r\nMessage-ID: <{id}@postfix-gateway.test>\r\n\r\nOver TLS on both sides.\r\n"
    )
}

fn send(to: SocketAddr, from: &str, rcpt: &str, id: &str) {
    let mut c = Client::connect(to);
    c.ehlo();
    let r = c.send(from, &[rcpt], &message(from, rcpt, id));
    assert_eq!(r.code, 250, "{r}");
    c.quit();
}

fn received(m: &Received) -> Vec<String> {
    m.headers("Received")
}

#[test]
fn outbound_mail_goes_from_the_internal_server_through_the_gateway_to_the_mx_over_tls() {
    let rig = rig();
    send(
        rig.a.smtp(),
        "alice@corp.example",
        "bob@partner.example",
        "out1",
    );
    let got = rig.partner_mailboxes.wait_for(1, WAIT);
    let m = &got[0];
    assert_eq!(m.rcpt_addrs(), ["bob@partner.example"]);
    assert!(m.data_str().contains("<out1@postfix-gateway.test>"));
    // Postfix A -> Sluice: encrypted (A's level "encrypt"), as A's maillog says.
    let gw = rig.sluice.addr;
    assert!(
        rig.a.postfix.wait_log(
            &format!(
                "TLS connection established to 127.0.0.1[127.0.0.1]:{}",
                gw.port()
            ),
            WAIT
        ),
        "{}",
        rig.a.postfix.log()
    );
    // Sluice -> Postfix B: the MX of partner.example, verified against B's certificate.
    assert!(
        rig.b
            .postfix
            .wait_log("TLS connection established from", WAIT),
        "{}",
        rig.b.postfix.log()
    );
    assert!(
        rig.sluice
            .wait_log("destination=mx:partner.example tls_policy=verify", WAIT),
        "{}",
        rig.sluice.logs().join("\n")
    );
    let line = rig
        .sluice
        .log_line("destination=mx:partner.example tls_policy=verify")
        .unwrap();
    assert!(
        line.contains("tls=verified tls_version=TLSv1.3") && line.contains("delivered=1"),
        "{line}"
    );
    // B's Received field (the newest) records the TLS session from the gateway, Sluice's the one
    // from Postfix A.
    let r = received(m);
    let from_gateway = r
        .iter()
        .find(|l| l.contains("by mx.partner.example"))
        .unwrap();
    assert!(
        from_gateway.contains("using TLS") && from_gateway.contains("ESMTPS"),
        "{r:?}"
    );
    let into_gateway = r.iter().find(|l| l.contains("(Sluice)")).unwrap();
    assert!(
        into_gateway.contains("using TLS") && into_gateway.contains("ESMTPS"),
        "{r:?}"
    );
    assert!(rig.corp_mailboxes.messages().is_empty());
}

#[test]
fn inbound_mail_is_routed_to_the_internal_server_over_verified_tls() {
    let rig = rig();
    send(
        rig.sluice.addr,
        "carol@partner.example",
        "dave@corp.example",
        "in1",
    );
    let got = rig.corp_mailboxes.wait_for(1, WAIT);
    let m = &got[0];
    assert_eq!(m.rcpt_addrs(), ["dave@corp.example"]);
    assert!(m.data_str().contains("<in1@postfix-gateway.test>"));
    assert!(
        rig.a
            .postfix
            .wait_log("TLS connection established from", WAIT),
        "{}",
        rig.a.postfix.log()
    );
    let line = rig
        .sluice
        .log_line(&format!("destination={} tls_policy=verify", rig.a.smtp()))
        .unwrap_or_else(|| rig.sluice.logs().join("\n"));
    assert!(
        line.contains("tls_policy=verify")
            && line.contains("tls=verified")
            && line.contains("delivered=1"),
        "{line}"
    );
    let r = received(m);
    let from_gateway = r
        .iter()
        .find(|l| l.contains("by mail.corp.example"))
        .unwrap();
    assert!(
        from_gateway.contains("from gw.corp.example") && from_gateway.contains("using TLS"),
        "{r:?}"
    );
    assert!(rig.partner_mailboxes.messages().is_empty());
}
