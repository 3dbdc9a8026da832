//! End-to-end tests of a gateway listener's SMTP-time relay control (issue 14, seed 004 section 6):
//! anti-relay (a client not on `relay_clients` may send only to local domains), relay clients by
//! network and by forward-confirmed PTR name (through the test DNS server), blocked address
//! characters, and the per-client rate limits with their `smtp.rate_limited` event. Clients come
//! from distinct 127/8 addresses so each test's clients are told apart.

mod support;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::client::Client;
use support::dns::{Record, TestDns};
use support::gateway::gateway_config;
use support::sluice::{Sluice, closed_addr, hosts_relay, listeners_config};

const WAIT: Duration = Duration::from_secs(10);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A gateway listener with corp.example local (routed to a closed port: nothing here delivers),
/// these `[gateway]` keys, and `dns` as its name server when given.
fn start(gateway: &str, dns: Option<SocketAddr>) -> Sluice {
    let nowhere = closed_addr(ip("127.0.0.1"));
    let dns = dns.map_or(String::new(), |d| {
        format!("[dns]\nservers = [\"{d}\"]\ntimeout = \"2s\"\nattempts = 1\n")
    });
    Sluice::start(&gateway_config(nowhere, gateway, &dns))
}

/// MAIL then RCPT from a new session at `src`: the RCPT reply (or the MAIL reply if refused).
fn rcpt_from(sluice: &Sluice, src: &str, sender: &str, rcpt: &str) -> support::client::Reply {
    let mut c = Client::connect_from(ip(src), sluice.addr);
    assert!(c.greeting.starts_with("220"), "{}", c.greeting);
    c.ehlo();
    let m = c.cmd(&format!("MAIL FROM:<{sender}>"));
    if m.code != 250 {
        return m;
    }
    let r = c.cmd(&format!("RCPT TO:<{rcpt}>"));
    c.quit();
    r
}

#[test]
fn a_client_not_listed_may_send_only_to_local_domains() {
    let sluice = start("relay_clients = []", None);
    let r = rcpt_from(&sluice, "127.0.0.1", "a@partner.example", "b@gmail.example");
    assert_eq!(r.code, 550, "{r}");
    assert!(r.text.starts_with("5.7.1 Relaying denied"), "{r}");
    let r = rcpt_from(&sluice, "127.0.0.1", "a@partner.example", "b@corp.example");
    assert_eq!(r.code, 250, "{r}");
    assert!(sluice.wait_log("relay_denied", WAIT));
    // And the whole message for the local domain is taken into custody.
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let r = c.send(
        "a@partner.example",
        &["b@corp.example"],
        &support::client::message("hello", "nothing to see"),
    );
    assert_eq!(r.code, 250, "{r}");
    c.quit();
}

#[test]
fn relay_clients_by_network_may_relay_anywhere() {
    let sluice = start("relay_clients = [\"127.0.0.16/30\"]", None);
    let r = rcpt_from(&sluice, "127.0.0.17", "a@corp.example", "b@gmail.example");
    assert_eq!(r.code, 250, "{r}");
    let r = rcpt_from(&sluice, "127.0.0.20", "a@corp.example", "b@gmail.example");
    assert_eq!(r.code, 550, "{r}");
}

#[test]
fn relay_clients_by_forward_confirmed_ptr_name() {
    let dns = TestDns::start(vec![
        // 127.0.0.33: PTR mail.corp.example, whose A record is 127.0.0.33: confirmed.
        Record::Ptr {
            ip: ip("127.0.0.33"),
            name: "mail.corp.example".into(),
        },
        Record::A {
            name: "mail.corp.example".into(),
            ip: "127.0.0.33".parse().unwrap(),
        },
        // 127.0.0.34: claims mx.branch.example, whose A record is elsewhere: not confirmed.
        Record::Ptr {
            ip: ip("127.0.0.34"),
            name: "mx.branch.example".into(),
        },
        Record::A {
            name: "mx.branch.example".into(),
            ip: "192.0.2.1".parse().unwrap(),
        },
    ]);
    let sluice = start(
        "relay_clients = [\"mail.corp.example\", \".branch.example\"]",
        Some(dns.addr),
    );
    let r = rcpt_from(&sluice, "127.0.0.33", "a@corp.example", "b@gmail.example");
    assert_eq!(r.code, 250, "confirmed PTR name: {r}");
    let r = rcpt_from(&sluice, "127.0.0.34", "a@corp.example", "b@gmail.example");
    assert_eq!(r.code, 550, "unconfirmed PTR name: {r}");
    // No PTR at all (NXDOMAIN): not a relay client, and nothing breaks.
    let r = rcpt_from(&sluice, "127.0.0.35", "a@corp.example", "b@gmail.example");
    assert_eq!(r.code, 550, "no PTR: {r}");
    assert!(dns.query_counts().0 > 0);
}

#[test]
fn blocked_characters_are_refused_in_sender_and_recipients() {
    let sluice = start("relay_clients = [\"127.0.0.0/8\"]", None);
    let r = rcpt_from(
        &sluice,
        "127.0.0.1",
        "a!b@partner.example",
        "b@corp.example",
    );
    assert_eq!(r.code, 553, "{r}");
    assert!(r.text.starts_with("5.1.7 "), "{r}");
    let r = rcpt_from(
        &sluice,
        "127.0.0.1",
        "a@partner.example",
        "victim%gmail.example@corp.example",
    );
    assert_eq!(r.code, 553, "{r}");
    assert!(r.text.starts_with("5.1.3 "), "{r}");
    let r = rcpt_from(&sluice, "127.0.0.1", "a@partner.example", "ok@corp.example");
    assert_eq!(r.code, 250, "{r}");
}

fn events(sluice: &Sluice) -> Vec<Value> {
    let (code, out, err) = sluice.cli(&["events", "list", "--json", "--limit", "10000"]);
    assert_eq!(code, 0, "{err}");
    out.lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

fn rate_limited(sluice: &Sluice) -> Vec<Value> {
    let end = Instant::now() + WAIT;
    loop {
        let found: Vec<Value> = events(sluice)
            .into_iter()
            .filter(|e| e["kind"] == "smtp.rate_limited")
            .collect();
        if !found.is_empty() || Instant::now() > end {
            return found;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn too_many_connections_get_421_and_one_event() {
    let sluice = start(
        "max_connection_rate = 2\nrate_window = \"1h\"\nrelay_clients = [\"127.0.0.48\"]",
        None,
    );
    for _ in 0..2 {
        let c = Client::connect_from(ip("127.0.0.49"), sluice.addr);
        assert!(c.greeting.starts_with("220"), "{}", c.greeting);
        c.quit();
    }
    for _ in 0..3 {
        let c = Client::connect_from(ip("127.0.0.49"), sluice.addr);
        // With its enhanced code, as the listener's own 421s (4.3.2, 4.7.0) have.
        assert_eq!(
            c.greeting,
            "421 4.7.0 Error: too many connections from 127.0.0.49"
        );
    }
    // Relay clients are exempt.
    for _ in 0..4 {
        let c = Client::connect_from(ip("127.0.0.48"), sluice.addr);
        assert!(c.greeting.starts_with("220"), "{}", c.greeting);
        c.quit();
    }
    let found = rate_limited(&sluice);
    assert_eq!(found.len(), 1, "one event per client a minute: {found:?}");
    assert_eq!(found[0]["fields"]["source.ip"], "127.0.0.49");
}

#[test]
fn too_much_mail_gets_450_at_mail() {
    let sluice = start("max_message_rate = 2\nrate_window = \"1h\"", None);
    let mut c = Client::connect_from(ip("127.0.0.65"), sluice.addr);
    c.ehlo();
    for _ in 0..2 {
        let r = c.cmd("MAIL FROM:<a@partner.example>");
        assert_eq!(r.code, 250, "{r}");
        assert_eq!(c.cmd("RSET").code, 250);
    }
    let r = c.cmd("MAIL FROM:<a@partner.example>");
    assert_eq!(r.code, 450, "{r}");
    assert_eq!(r.text, "4.7.1 Error: too much mail from 127.0.0.65");
    c.quit();
    let found = rate_limited(&sluice);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["fields"]["event.reason"], "message_rate");
}

/// `sluice reload` through the control socket of `sluice`'s data dir.
fn reload(sluice: &Sluice) {
    let out = std::process::Command::new(support::sluice::binary())
        .args(["reload", "--data-dir"])
        .arg(sluice.dir.path().join("data"))
        .output()
        .expect("run sluice");
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn the_rate_limit_counts_a_client_across_gateway_listeners_and_an_unrelated_reload() {
    let nowhere = closed_addr(ip("127.0.0.1"));
    let gateway = "mode = \"gateway\"";
    let extra = format!(
        "[gateway]\nmax_connection_rate = 3\nrate_window = \"1h\"\n\n[[route]]\ndomain = \"corp.example\"\ndestination = \"{nowhere}\"\n"
    );
    let text = listeners_config(
        &[("front", gateway), ("back", gateway)],
        &hosts_relay(&[nowhere]),
        &extra,
    );
    let sluice = Sluice::start(&text);
    let (front, back) = (sluice.listener("front"), sluice.listener("back"));
    let greeting = |addr| Client::connect_from(ip("127.0.0.81"), addr).greeting;
    assert!(greeting(front).starts_with("220"));
    assert!(greeting(back).starts_with("220"));
    // A reload that changes nothing the gate depends on keeps the client's count.
    let changed = std::fs::read_to_string(&sluice.config_path)
        .unwrap()
        .replacen("data_timeout = \"30s\"", "data_timeout = \"31s\"", 1);
    std::fs::write(&sluice.config_path, changed).unwrap();
    reload(&sluice);
    assert!(greeting(front).starts_with("220"));
    assert_eq!(
        greeting(back),
        "421 4.7.0 Error: too many connections from 127.0.0.81"
    );
    // Another client is counted on its own.
    let other = Client::connect_from(ip("127.0.0.82"), back);
    assert!(other.greeting.starts_with("220"), "{}", other.greeting);
}
