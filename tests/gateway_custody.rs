//! A gateway listener takes custody: 250 only after the message is in the store (one synced
//! write), delivered from the queue (so a next hop that is down does not stop the 250, and a kill
//! -9 after the 250 loses nothing), while a policy's block is still a 550 at the end of DATA with
//! nothing kept and nothing delivered.

mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use support::client::{Client, message};
use support::gateway::gateway_config;
use support::sink::{Sink, SinkConfig};
use support::sluice::{Sluice, closed_addr};

const BLOCK: &str = r#"
[[policy]]
id = 7
name = "Confidential"
keywords = ["secret"]
action = "block"
reply = "Blocked: confidential content (policy 7)"
"#;

/// A gateway listener delivering to `hop`: through `[relay]` today and by the `[[route]]` of the
/// local domain once delivery routes (both point at the same place), retrying every second.
fn gateway(hop: SocketAddr, extra: &str) -> String {
    gateway_config(hop, "inline_verdict = \"5s\"", extra)
}

fn send(sluice: &Sluice, subject: &str, body: &str) -> support::client::Reply {
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let r = c.send(
        "a@example.net",
        &["b@corp.example"],
        &message(subject, body),
    );
    c.quit();
    r
}

fn sink_at(addr: SocketAddr) -> Sink {
    Sink::start(SinkConfig {
        bind: addr,
        ..SinkConfig::default()
    })
}

fn subjects(sink: &Sink) -> Vec<String> {
    sink.messages()
        .iter()
        .filter_map(|m| m.header("Subject"))
        .map(|s| s.trim().to_string())
        .collect()
}

#[test]
fn a_message_for_a_local_domain_is_taken_into_custody_and_delivered() {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&gateway(sink.addr, ""));
    let r = send(&sluice, "custody one", "hello");
    assert_eq!(r.code, 250, "{r}");
    assert!(r.text.contains("queued as"), "{r}");
    let got = sink.wait_for(1, Duration::from_secs(30));
    assert_eq!(got.len(), 1, "delivered from the queue");
    assert_eq!(got[0].rcpt_addrs(), vec!["b@corp.example".to_string()]);
    assert_eq!(got[0].mail_from_addr(), "a@example.net");
    // Sluice's trace field is on top of what was received.
    let received = got[0].headers("Received");
    assert!(
        received.first().is_some_and(|r| r.contains("client.test")),
        "{received:?}"
    );
    assert!(sluice.wait_log("message taken into custody", Duration::from_secs(5)));
}

#[test]
fn a_next_hop_that_is_down_does_not_stop_the_250_and_gets_the_message_when_back() {
    let hop = closed_addr(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 61)));
    let sluice = Sluice::start(&gateway(hop, ""));
    let r = send(&sluice, "custody two", "hello while down");
    assert_eq!(r.code, 250, "custody does not need the next hop: {r}");
    assert!(sluice.wait_log("queue: attempt recorded", Duration::from_secs(30)));
    let sink = sink_at(hop);
    let got = sink.wait_for(1, Duration::from_secs(60));
    assert_eq!(subjects(&sink), vec!["custody two".to_string()], "{got:?}");
}

#[test]
fn a_block_is_a_550_at_the_end_of_data_and_nothing_is_kept_or_delivered() {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&gateway(sink.addr, BLOCK));
    let r = send(&sluice, "blocked one", "the secret plan");
    assert_eq!(r.code, 550, "{r}");
    assert!(r.text.contains("policy 7"), "{r}");
    // A clean message after it arrives alone: the blocked one was never queued.
    let r = send(&sluice, "clean one", "nothing to see");
    assert_eq!(r.code, 250, "{r}");
    sink.wait_for(1, Duration::from_secs(30));
    assert!(sluice.wait_log(
        "message blocked; removed from custody",
        Duration::from_secs(5)
    ));
    drop(sluice);
    assert_eq!(subjects(&sink), vec!["clean one".to_string()]);
}

#[test]
fn a_message_acknowledged_just_before_kill_9_is_delivered_after_the_restart() {
    let hop = closed_addr(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 62)));
    let data = tempfile::tempdir().unwrap();
    let config = gateway(hop, "");
    let sluice = Sluice::start_with_data(&config, data.path());
    let r = send(&sluice, "survivor", "kept through a crash");
    assert_eq!(r.code, 250, "{r}");
    // SIGKILL at once: no shutdown, nothing flushed but what was committed before the 250.
    drop(sluice);
    let sink = sink_at(hop);
    let _sluice = Sluice::start_with_data(&config, data.path());
    sink.wait_for(1, Duration::from_secs(60));
    assert_eq!(subjects(&sink), vec!["survivor".to_string()]);
}

#[test]
fn with_no_inline_verdict_a_block_after_the_250_bounces_to_the_sender() {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&gateway_config(sink.addr, "inline_verdict = \"0s\"", BLOCK));
    let r = send(&sluice, "late block", "the secret plan");
    assert_eq!(r.code, 250, "custody first, the verdict later: {r}");
    let got = sink.wait_for(1, Duration::from_secs(30));
    assert_eq!(got.len(), 1);
    // An RFC 3464 failure report to the sender, with the null sender; the message itself never.
    assert_eq!(got[0].rcpt_addrs(), vec!["a@example.net".to_string()]);
    assert_eq!(got[0].mail_from_addr(), "");
    let ct = got[0].header("Content-Type").unwrap_or_default();
    assert!(ct.contains("multipart/report"), "{ct}");
    assert!(
        got[0].data_str().contains("policy 7"),
        "the policy's reply is the diagnostic"
    );
    assert!(sluice.wait_log(
        "custody: message inspected and moved on",
        Duration::from_secs(5)
    ));
}

#[test]
fn a_late_block_set_to_drop_is_dropped_without_a_word() {
    let sink = Sink::start_default();
    let keys = "inline_verdict = \"0s\"\nlate_block = \"drop\"";
    let sluice = Sluice::start(&gateway_config(sink.addr, keys, BLOCK));
    assert_eq!(send(&sluice, "dropped", "the secret plan").code, 250);
    // Inspected in order: the clean one after it arrives alone.
    assert_eq!(send(&sluice, "clean after", "nothing to see").code, 250);
    sink.wait_for(1, Duration::from_secs(30));
    assert!(sluice.wait_log(
        "custody: message inspected and moved on",
        Duration::from_secs(5)
    ));
    drop(sluice);
    assert_eq!(subjects(&sink), vec!["clean after".to_string()]);
}

#[test]
fn a_message_in_custody_not_yet_inspected_at_kill_9_is_inspected_and_delivered_after_the_restart() {
    let hop = closed_addr(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 63)));
    let data = tempfile::tempdir().unwrap();
    // No inline verdict: the 250 follows the custody write alone.
    let config = gateway_config(hop, "inline_verdict = \"0s\"", "");
    let sluice = Sluice::start_with_data(&config, data.path());
    let r = send(&sluice, "uninspected", "kept before any verdict");
    assert_eq!(r.code, 250, "{r}");
    drop(sluice);
    let sink = sink_at(hop);
    let sluice = Sluice::start_with_data(&config, data.path());
    sink.wait_for(1, Duration::from_secs(60));
    assert_eq!(subjects(&sink), vec!["uninspected".to_string()]);
    drop(sluice);
}

/// Blocks "secret" in inbound mail only; `internal_domains` would call the test's mail outbound
/// (its sender's domain is listed), so only the gateway's facts make it inbound.
const INBOUND_ONLY: &str = r#"
[inspection]
internal_domains = ["example.net"]

[[policy]]
id = 9
name = "Inbound secrets"
action = "block"
reply = "Blocked inbound (policy 9)"

[[policy.rule]]
conditions = [{ keywords = ["secret"] }, { direction = "inbound" }]
"#;

#[test]
fn policies_see_the_direction_the_gateway_knows_from_the_client_and_the_routes() {
    // Not a relay client: inbound, whatever the sender's domain says.
    let sink = Sink::start_default();
    let sluice = Sluice::start(&gateway(sink.addr, INBOUND_ONLY));
    let r = send(&sluice, "from outside", "the secret plan");
    assert_eq!(r.code, 550, "{r}");
    assert!(r.text.contains("policy 9"), "{r}");
    drop(sluice);
    // A relay client writing to a local domain: internal, so the inbound policy does not apply.
    let keys = "inline_verdict = \"5s\"\nrelay_clients = [\"127.0.0.1\"]";
    let sluice = Sluice::start(&gateway_config(sink.addr, keys, INBOUND_ONLY));
    let r = send(&sluice, "from inside", "the secret plan");
    assert_eq!(r.code, 250, "{r}");
    sink.wait_for(1, Duration::from_secs(30));
    assert_eq!(subjects(&sink), vec!["from inside".to_string()]);
}
