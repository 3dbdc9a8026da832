//! End-to-end tests of a gateway listener's recipient verification for local domains (issue 14):
//! a static list (`verify = "list"`: `recipients` and `recipients_file`) and callouts to the
//! route's destination (`verify = "callout"`): unknown users get 550 5.1.1 at RCPT, a second ask
//! is answered from the cache (the destination sees no new connection), and a destination that
//! tempfails or does not answer gets the client a 450 4.1.1, so nothing is accepted that would
//! bounce later.

mod support;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use support::client::Client;
use support::gateway::gateway_listener;
use support::sink::{Sink, SinkConfig};
use support::sluice::{Sluice, closed_addr};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A gateway listener with these `[[route]]` tables (and `[gateway]` keys).
fn start(gateway: &str, routes: &str) -> Sluice {
    let nowhere = closed_addr(ip("127.0.0.1"));
    Sluice::start(&gateway_listener(
        nowhere,
        &format!("callout_timeout = \"5s\"\n{gateway}"),
        routes,
    ))
}

/// One session: MAIL, then each RCPT; their replies.
fn rcpts(sluice: &Sluice, to: &[&str]) -> Vec<support::client::Reply> {
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let m = c.cmd("MAIL FROM:<someone@partner.example>");
    assert_eq!(m.code, 250, "{m}");
    let out = to
        .iter()
        .map(|t| c.cmd(&format!("RCPT TO:<{t}>")))
        .collect();
    c.quit();
    out
}

#[test]
fn a_static_list_refuses_unknown_users_at_rcpt() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("recipients.txt");
    std::fs::write(&file, "# staff\nbob@corp.example\n@sales.corp.example\n").unwrap();
    let sluice = start(
        "",
        &format!(
            "[[route]]\ndomain = \"corp.example\"\nverify = \"list\"\nrecipients = [\"alice@corp.example\"]\nrecipients_file = \"{}\"\n\n[[route]]\ndomain = \".corp.example\"\nverify = \"list\"\nrecipients_file = \"{}\"\n",
            file.display(),
            file.display()
        ),
    );
    let r = rcpts(
        &sluice,
        &[
            "alice@corp.example",
            "Bob@Corp.Example",
            "eve@corp.example",
            "anyone@sales.corp.example",
            "eve@it.corp.example",
        ],
    );
    let codes: Vec<u16> = r.iter().map(|r| r.code).collect();
    assert_eq!(codes, [250, 250, 550, 250, 550], "{r:?}");
    assert_eq!(
        r[2].text,
        "5.1.1 <eve@corp.example>: Recipient address rejected: User unknown"
    );
}

fn callout_route(dest: SocketAddr) -> String {
    format!(
        "[[route]]\ndomain = \"corp.example\"\ndestination = \"{dest}\"\nverify = \"callout\"\n"
    )
}

#[test]
fn a_callout_refuses_unknown_users_and_the_cache_answers_the_second_time() {
    let sink = Sink::start(
        SinkConfig::default().reject_rcpts(&["nobody@corp.example"], "550 5.1.1 No such user"),
    );
    let sluice = start(
        "callout_sender = \"verify@gateway.example\"",
        &callout_route(sink.addr),
    );
    let r = rcpts(&sluice, &["nobody@corp.example"]);
    assert_eq!(r[0].code, 550, "{r:?}");
    assert!(
        r[0].text.starts_with("5.1.1 <nobody@corp.example>"),
        "{r:?}"
    );
    assert_eq!(sink.connections(), 1);
    let r = rcpts(&sluice, &["nobody@corp.example", "alice@corp.example"]);
    assert_eq!((r[0].code, r[1].code), (550, 250), "{r:?}");
    // The unknown user came from the cache; only alice needed a probe.
    assert_eq!(sink.connections(), 2);
    let r = rcpts(&sluice, &["Alice@corp.example"]);
    assert_eq!(r[0].code, 250, "{r:?}");
    assert_eq!(sink.connections(), 2);
    // The probes never got as far as a message.
    assert!(sink.messages().is_empty());
}

#[test]
fn a_destination_that_tempfails_or_is_down_gets_450() {
    let sink = Sink::start(SinkConfig {
        rcpt_reply: Arc::new(|_| Some("451 4.3.0 Try again later".to_string())),
        ..SinkConfig::default()
    });
    let sluice = start("", &callout_route(sink.addr));
    let r = rcpts(&sluice, &["bob@corp.example"]);
    assert_eq!(r[0].code, 450, "{r:?}");
    assert!(r[0].text.starts_with("4.1.1 <bob@corp.example>"), "{r:?}");
    // A temporary answer is not kept: the next RCPT asks again.
    rcpts(&sluice, &["bob@corp.example"]);
    assert_eq!(sink.connections(), 2);

    let down = closed_addr(ip("127.0.0.81"));
    let sluice = start("", &callout_route(down));
    let r = rcpts(&sluice, &["bob@corp.example"]);
    assert_eq!(r[0].code, 450, "{r:?}");
}

#[test]
fn a_callout_follows_the_routes_tls_policy() {
    // A destination that takes MAIL only over TLS.
    let sink = Sink::start(SinkConfig {
        starttls: true,
        require_tls: true,
        ..SinkConfig::default().reject_rcpts(&["nobody@corp.example"], "550 5.1.1 No such user")
    });
    let route = |tls: &str| format!("{}tls = \"{tls}\"\n", callout_route(sink.addr));
    let sluice = start("", &route("encrypt"));
    let r = rcpts(&sluice, &["nobody@corp.example", "alice@corp.example"]);
    assert_eq!((r[0].code, r[1].code), (550, 250), "{r:?}");
    // tls = "none" never says STARTTLS: this destination cannot answer the probe.
    let sluice = start("", &route("none"));
    let r = rcpts(&sluice, &["carol@corp.example"]);
    assert_eq!(r[0].code, 450, "{r:?}");
}
