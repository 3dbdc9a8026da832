//! Gateway delivery by route with the real binary (issue 14, seed 004 section 4): gateway queue
//! entries (put into the store as the custody path queues them) go, recipient by recipient, to
//! their domain's route: a local domain's fixed destination, a local subdomain's MX (looked up in
//! the loopback test DNS server), the smart host for other domains; MX hosts by preference, the
//! next one when the first is down, the domain's A record when it has no MX, a null MX bounced.

mod support;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use support::dns::{Record, TestDns};
use support::gateway_queue::{CONTENT, Instance, common_port, config, enqueue, entry, queue_len};
use support::sink::{Sink, SinkConfig};

fn sink_at(ip: Ipv4Addr, port: u16) -> Sink {
    Sink::start(SinkConfig {
        bind: SocketAddr::from((ip, port)),
        ..SinkConfig::default()
    })
}

fn mx(name: &str, preference: u16, exchange: &str) -> Record {
    Record::Mx {
        name: name.into(),
        preference,
        exchange: exchange.into(),
    }
}

fn a(name: &str, ip: Ipv4Addr) -> Record {
    Record::A {
        name: name.into(),
        ip,
    }
}

#[test]
fn local_domains_go_to_their_destination_or_mx_and_other_domains_to_the_smart_host() {
    let dir = tempfile::tempdir().unwrap();
    let mx_ip = Ipv4Addr::new(127, 0, 45, 2);
    let port = common_port(&[mx_ip]);
    let corp = Sink::start_default();
    let sales_mx = sink_at(mx_ip, port);
    let smart = Sink::start_default();
    let dns = TestDns::start(vec![
        mx("sales.corp.example", 10, "mx.sales.corp.example"),
        a("mx.sales.corp.example", mx_ip),
    ]);
    enqueue(
        dir.path(),
        vec![entry(
            "alice@partner.example",
            &[
                "bob@corp.example",
                "carol@sales.corp.example",
                "dave@gmail.example",
                "erin@CORP.example",
            ],
        )],
    );
    let routes = format!(
        "[gateway]\nsmart_host = \"{}\"\nmx_port = {port}\ntls = \"none\"\n\n[[route]]\ndomain = \"corp.example\"\ndestination = \"{}\"\n\n[[route]]\ndomain = \".corp.example\"\n",
        smart.addr, corp.addr
    );
    let sluice = Instance::start(dir.path(), &config(Some(dns.addr), "", &routes));
    let wait = Duration::from_secs(15);
    let at_corp = corp.wait_for(1, wait);
    let at_sales = sales_mx.wait_for(1, wait);
    let at_smart = smart.wait_for(1, wait);
    assert!(
        sluice.wait_log("queue: attempt recorded&delivered=4&done=true", 1, wait),
        "{}",
        sluice.logs().join("\n")
    );
    // One transaction per destination, with only that destination's recipients.
    assert_eq!(
        at_corp[0].rcpt_addrs(),
        ["bob@corp.example", "erin@CORP.example"]
    );
    assert_eq!(at_sales[0].rcpt_addrs(), ["carol@sales.corp.example"]);
    assert_eq!(at_smart[0].rcpt_addrs(), ["dave@gmail.example"]);
    for m in [&at_corp[0], &at_sales[0], &at_smart[0]] {
        assert_eq!(m.data, CONTENT);
        assert_eq!(m.mail_from_addr(), "alice@partner.example");
    }
    assert_eq!(
        corp.messages().len() + sales_mx.messages().len() + smart.messages().len(),
        3
    );
    for dest in [
        format!("destination={}", corp.addr),
        "destination=mx:sales.corp.example".to_string(),
        format!("destination={}", smart.addr),
    ] {
        assert_eq!(
            sluice.count(&format!("queue: destination attempted&{dest}&tls=none")),
            1,
            "{dest}: {}",
            sluice.logs().join("\n")
        );
    }
    drop(sluice);
    assert_eq!(queue_len(dir.path()), 0);
}

#[test]
fn mx_hosts_are_tried_by_preference_then_the_a_record_and_a_null_mx_bounces() {
    let dir = tempfile::tempdir().unwrap();
    let ip = |n| Ipv4Addr::new(127, 0, 46, n);
    let port = common_port(&[ip(1), ip(2), ip(3), ip(4)]);
    // mx1 (preference 10) is down; mx2 (20) takes the mail; mx3 (30) must never be used.
    let mx2 = sink_at(ip(2), port);
    let mx3 = sink_at(ip(3), port);
    // No MX at all: the domain's own address (RFC 5321 5.1).
    let bare = sink_at(ip(4), port);
    let senders = Sink::start_default();
    let dns = TestDns::start(vec![
        mx("pref.example", 20, "mx2.pref.example"),
        mx("pref.example", 10, "mx1.pref.example"),
        mx("pref.example", 30, "mx3.pref.example"),
        a("mx1.pref.example", ip(1)),
        a("mx2.pref.example", ip(2)),
        a("mx3.pref.example", ip(3)),
        a("nomx.example", ip(4)),
        mx("nullmx.example", 0, "."),
    ]);
    enqueue(
        dir.path(),
        vec![entry(
            "alice@senders.example",
            &["a@pref.example", "b@nomx.example", "c@nullmx.example"],
        )],
    );
    // The sender's domain is local with a destination: the bounce goes there, by route.
    let routes = format!(
        "[gateway]\nmx_port = {port}\ntls = \"may\"\n\n[[route]]\ndomain = \"senders.example\"\ndestination = \"{}\"\n",
        senders.addr
    );
    let sluice = Instance::start(dir.path(), &config(Some(dns.addr), "", &routes));
    let wait = Duration::from_secs(15);
    assert_eq!(mx2.wait_for(1, wait)[0].rcpt_addrs(), ["a@pref.example"]);
    assert_eq!(bare.wait_for(1, wait)[0].rcpt_addrs(), ["b@nomx.example"]);
    let bounce = senders.wait_for(1, wait);
    assert!(
        sluice.wait_log(
            "queue: attempt recorded&delivered=2&bounced=1&done=true",
            1,
            wait
        ),
        "{}",
        sluice.logs().join("\n")
    );
    assert!(
        mx3.messages().is_empty(),
        "a higher preference only when the lower ones failed"
    );
    assert_eq!(
        bounce[0].mail_from_addr(),
        "",
        "reports go with the null sender"
    );
    assert_eq!(bounce[0].rcpt_addrs(), ["alice@senders.example"]);
    let text = bounce[0].data_str();
    assert!(
        text.contains("Final-Recipient: rfc822; c@nullmx.example"),
        "{text}"
    );
    assert!(text.contains("Status: 5.1.10"), "{text}");
    assert!(text.contains("null MX"), "{text}");
    assert!(
        !text.contains("a@pref.example"),
        "only the failed recipient"
    );
    assert!(sluice.count(&format!("next hop failed next_hop={}:{port}", ip(1))) >= 1);
    assert!(sluice.wait_log("queue: report queued to the sender&dsn.failure", 1, wait));
}
