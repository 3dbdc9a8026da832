//! Outbound settings and the failure mode, end to end: HELO name and source address toward the next
//! hop, and what happens when inspection runs past its time budget (tempfail vs pass tagged).

mod support;

use std::time::Duration;

use support::client::{Client, message};
use support::sink::Sink;
use support::sluice::{Sluice, config, hosts_relay};

#[test]
fn outbound_helo_name_and_source_address_are_used() {
    let sink = Sink::start_default();
    let relay = format!(
        "{}\nhelo_name = \"dlp-out.corp.example\"\nsource_address = \"127.0.0.5\"",
        hosts_relay(&[sink.addr])
    );
    let sluice = Sluice::start(&config("", &relay, ""));
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let r = c.send(
        "a@corp.example",
        &["b@partner.example"],
        &message("Hello", "x"),
    );
    assert_eq!(r.code, 250, "{r}");
    let got = sink.wait_for(1, Duration::from_secs(5));
    assert_eq!(got[0].helo, "dlp-out.corp.example");
    assert_eq!(got[0].peer.ip().to_string(), "127.0.0.5");
}

/// A message large enough to be inspected off the session thread, with the keyword only at its end.
fn big_message() -> String {
    let line = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor\n";
    let mut body = line.repeat(60_000);
    body.push_str("the secret is here\n");
    message("Large", &body)
}

const SLOW: &str = "[inspection]\ntime_budget = \"1ms\"\n{}\n[[policy]]\nid = 5\nkeywords = [\"secret\"]\nregexes = ['(?i)\\b(?:[a-z]+\\s+){3}secret']\naction = \"block\"\n";

#[test]
fn inspection_past_its_budget_is_a_temporary_failure_by_default() {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&config(
        "",
        &hosts_relay(&[sink.addr]),
        &SLOW.replace("{}", ""),
    ));
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let r = c.send("a@corp.example", &["b@partner.example"], &big_message());
    assert_eq!(r.code, 451, "{r}");
    assert!(r.text.starts_with("4.3.0"), "{r}");
    // The session goes on, and nothing reached the next hop.
    let r = c.send(
        "a@corp.example",
        &["b@partner.example"],
        &message("Small", "fine"),
    );
    assert_eq!(r.code, 250, "{r}");
    let got = sink.wait_for(1, Duration::from_secs(5));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].header("Subject").as_deref(), Some("Small"));
    assert!(sluice.wait_log(
        "inspection failed; message deferred",
        Duration::from_secs(2)
    ));
}

#[test]
fn inspection_past_its_budget_passes_tagged_when_configured() {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&config(
        "",
        &hosts_relay(&[sink.addr]),
        &SLOW.replace("{}", "on_failure = \"pass\""),
    ));
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let r = c.send("a@corp.example", &["b@partner.example"], &big_message());
    assert_eq!(r.code, 250, "{r}");
    let got = sink.wait_for(1, Duration::from_secs(5));
    assert_eq!(
        got[0].header("X-Sluice-Inspection").as_deref(),
        Some("failed")
    );
    assert_eq!(
        got[0].header("X-CFilter-Loop").as_deref(),
        Some("Reflected")
    );
    assert_eq!(
        got[0].header("X-dlp-policyid"),
        None,
        "not inspected, so not tagged as violating"
    );
}
