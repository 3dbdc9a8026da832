//! End-to-end tests of the next-hop reply limits (`relay.max_reply_line`, `relay.max_reply_lines`):
//! a reply within them is relayed to the upstream client; a reply past either fails the next-hop
//! connection, which the upstream sees as a temporary (4xx) refusal, never as the oversized reply.

mod support;

use support::client::{Client, Reply};
use support::sink::{Sink, SinkConfig};
use support::sluice::{Sluice, forward_config};

/// A sink that refuses `nobody@partner.example` with `reply`, and a Sluice forwarding to it with
/// these extra `[relay]` keys.
fn start(reply: &str, relay_keys: &str) -> (Sink, Sluice) {
    let sink = Sink::start(SinkConfig::default().reject_rcpts(&["nobody@partner.example"], reply));
    let sluice = Sluice::start(&forward_config(&[sink.addr], relay_keys));
    (sink, sluice)
}

fn rcpt_reply(sluice: &Sluice) -> Reply {
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    assert_eq!(c.cmd("MAIL FROM:<a@corp.example>").code, 250);
    c.cmd("RCPT TO:<nobody@partner.example>")
}

/// A 550 refusal of `lines` lines.
fn refusal(lines: usize, filler: usize) -> String {
    let pad = "x".repeat(filler);
    let mut out: Vec<String> = (1..lines)
        .map(|i| format!("550-5.1.1 line {i} {pad}"))
        .collect();
    out.push("550 5.1.1 No such user".into());
    out.join("\r\n")
}

#[test]
fn a_thirty_line_reply_is_relayed_by_default_and_refused_past_max_reply_lines() {
    let (_sink, sluice) = start(&refusal(30, 0), "");
    let r = rcpt_reply(&sluice);
    assert_eq!(r.code, 550, "the default limit (128 lines) relays it: {r}");

    let (_sink, sluice) = start(&refusal(30, 0), "max_reply_lines = 20");
    let r = rcpt_reply(&sluice);
    assert!(
        (400..500).contains(&r.code),
        "thirty lines past max_reply_lines = 20 must fail the next hop (4xx): {r}"
    );
    assert!(!r.text.contains("No such user"), "{r}");
}

#[test]
fn a_long_reply_line_is_relayed_by_default_and_refused_past_max_reply_line() {
    let (_sink, sluice) = start(&refusal(2, 1500), "");
    let r = rcpt_reply(&sluice);
    assert_eq!(
        r.code, 550,
        "the default line limit relays a 1.5 KB line: {r}"
    );

    let (_sink, sluice) = start(&refusal(2, 1500), "max_reply_line = 1000");
    let r = rcpt_reply(&sluice);
    assert!(
        (400..500).contains(&r.code),
        "a 1.5 KB line past max_reply_line = 1000 must fail the next hop (4xx): {r}"
    );
}
