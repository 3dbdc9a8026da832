//! End-to-end tests of the in-line proxy: the real binary between a test client and a real sink MTA.

mod support;

use std::time::Duration;

use support::client::{Client, message};
use support::sink::{Sink, SinkConfig};
use support::sluice::{Sluice, forward_config};

#[test]
fn relays_a_clean_message_with_the_pass_header_and_answers_after_the_next_hop() {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&forward_config(&[sink.addr], ""));
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let r = c.send("a@corp.example", &["b@partner.example"], &message("Hello", "nothing to see"));
    assert_eq!(r.code, 250, "{r}");
    let got = sink.wait_for(1, Duration::from_secs(5));
    assert_eq!(got[0].header("X-CFilter-Loop").as_deref(), Some("Reflected"));
    assert_eq!(got[0].rcpt_addrs(), vec!["b@partner.example".to_string()]);
    assert!(got[0].data_str().ends_with("\r\n\r\nnothing to see\r\n"));
    c.quit();
}

#[test]
fn next_hop_data_refusal_is_relayed_verbatim() {
    let sink = Sink::start(SinkConfig { data_reply: Some("554 5.7.0 Content refused downstream".into()), ..SinkConfig::default() });
    let sluice = Sluice::start(&forward_config(&[sink.addr], ""));
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let r = c.send("a@corp.example", &["b@partner.example"], &message("Hello", "x"));
    assert_eq!(r.code, 554);
    assert!(r.text.contains("5.7.0 Content refused downstream"), "{r}");
}
