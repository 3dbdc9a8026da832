//! Session-level behaviour against a real next hop: transactions reset and reused connections.

mod support;

use std::time::Duration;

use support::client::{Client, message};
use support::sink::Sink;
use support::sluice::{Sluice, forward_config};

#[test]
fn rset_and_a_new_transaction_in_one_session_reach_the_next_hop_cleanly() {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&forward_config(&[sink.addr], ""));
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    assert_eq!(c.cmd("MAIL FROM:<a@corp.example>").code, 250);
    assert_eq!(c.cmd("RCPT TO:<dropped@partner.example>").code, 250);
    assert_eq!(c.cmd("RSET").code, 250);
    let r = c.send(
        "a@corp.example",
        &["kept@partner.example"],
        &message("Second", "x"),
    );
    assert_eq!(r.code, 250, "{r}");
    // A second message on the same session and next-hop connection.
    let r = c.send(
        "b@corp.example",
        &["kept2@partner.example"],
        &message("Third", "y"),
    );
    assert_eq!(r.code, 250, "{r}");
    let got = sink.wait_for(2, Duration::from_secs(5));
    assert_eq!(
        got[0].rcpt_addrs(),
        vec!["kept@partner.example".to_string()]
    );
    assert_eq!(
        got[1].rcpt_addrs(),
        vec!["kept2@partner.example".to_string()]
    );
    assert_eq!(
        sink.connections(),
        1,
        "one next-hop connection serves the whole session"
    );
}

fn one_message(sluice: &Sluice, subject: &str) {
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let r = c.send(
        "a@corp.example",
        &["b@partner.example"],
        &message(subject, "x"),
    );
    assert_eq!(r.code, 250, "{r}");
    c.quit();
}

#[test]
fn sessions_one_after_another_reuse_an_idle_next_hop_connection() {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&forward_config(&[sink.addr], ""));
    for i in 0..4 {
        one_message(&sluice, &format!("m{i}"));
    }
    let got = sink.wait_for(4, Duration::from_secs(5));
    assert_eq!(got.len(), 4);
    assert_eq!(
        sink.connections(),
        1,
        "later sessions take the pooled connection"
    );
}

#[test]
fn a_pooled_connection_the_next_hop_closed_is_not_used() {
    let first = Sink::start_default();
    let second = Sink::start_default();
    let sluice = Sluice::start(&forward_config(&[first.addr, second.addr], ""));
    one_message(&sluice, "to first");
    first.wait_for(1, Duration::from_secs(5));
    // The first hop goes away, closing the pooled connection; the next message must fail over.
    drop(first);
    one_message(&sluice, "to second");
    let got = second.wait_for(1, Duration::from_secs(5));
    assert_eq!(got[0].header("Subject").as_deref(), Some("to second"));
}
