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
