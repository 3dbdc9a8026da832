//! A SIEM outage with a real rsyslog: while rsyslog is stopped mail keeps flowing; once it is back
//! every event arrives, in order (by the sequence number the formats carry), none lost, a duplicate
//! only as an exact repeat of an earlier event (at least once). With a tiny outbox bound the
//! events that could not wait are dropped, counted, and reported by `system.events.dropped` once
//! the SIEM is back.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use support::client::Client;
use support::rsyslog::{Proto, Rsyslog};
use support::siem_events::{self, Received};
use support::sink::Sink;
use support::sluice::{Sluice, forward_config};

const WAIT: Duration = Duration::from_secs(40);

fn destination(name: &str, format: &str, transport: &str, rsyslog: &Rsyslog) -> String {
    let mut t = format!(
        "[[siem]]\nname = \"{name}\"\nformat = \"{format}\"\ntransport = \"{transport}\"\n\
         address = \"{}\"\nstart = \"oldest\"\npoll_interval = \"100ms\"\n\
         backoff_min = \"100ms\"\nbackoff_max = \"500ms\"\ntimeout = \"2s\"\n",
        rsyslog.addr(name)
    );
    if transport == "tls" {
        t.push_str(&format!("ca_file = \"{}\"\n", rsyslog.ca_file.display()));
    }
    t + "\n"
}

fn send(sluice: &Sluice, id: &str) {
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let msg = format!(
        "From: <a@corp.example>\r\nTo: <b@partner.example>\r\nMessage-ID: <{id}@corp.example>\r\nSubject: outage {id}\r\n\r\nhello\r\n"
    );
    let r = c.send("a@corp.example", &["b@partner.example"], &msg);
    assert_eq!(r.code, 250, "{id}: {r}");
    c.quit();
}

fn events(rsyslog: &Rsyslog, name: &str, format: &str) -> Vec<Received> {
    rsyslog
        .raw(name)
        .iter()
        .map(|l| siem_events::decode(format, l).unwrap_or_else(|e| panic!("{name}: {e}: {l:?}")))
        .collect()
}

/// Whether the message.relayed event of every one of these message ids has arrived.
fn relayed_all(events: &[Received], ids: &[String]) -> bool {
    ids.iter().all(|id| {
        let mid = format!("<{id}@corp.example>");
        events
            .iter()
            .any(|e| e.action == "message.relayed" && e.has_value(&mid))
    })
}

fn wait_relayed(rsyslog: &Rsyslog, name: &str, format: &str, ids: &[String]) -> Vec<Received> {
    rsyslog.wait_raw(name, WAIT, |lines| {
        let got: Vec<Received> = lines
            .iter()
            .filter_map(|l| siem_events::decode(format, l).ok())
            .collect();
        relayed_all(&got, ids)
    });
    events(rsyslog, name, format)
}

/// In order, a duplicate only as an exact repeat of an earlier event, and no gap: returns the
/// distinct sequence numbers in arrival order.
fn in_order_at_least_once(name: &str, events: &[Received]) -> Vec<u64> {
    let mut seen: HashMap<u64, &str> = HashMap::new();
    let mut order = Vec::new();
    for e in events {
        if let Some(first) = seen.get(&e.seq) {
            assert_eq!(
                *first, e.raw,
                "{name}: seq {} repeated with other content",
                e.seq
            );
            continue;
        }
        if let Some(last) = order.last() {
            assert!(e.seq > *last, "{name}: seq {} after {last}", e.seq);
        }
        seen.insert(e.seq, &e.raw);
        order.push(e.seq);
    }
    order
}

/// The sequence numbers missing between the first and the last received.
fn gaps(order: &[u64]) -> Vec<u64> {
    let (Some(first), Some(last)) = (order.first(), order.last()) else {
        return Vec::new();
    };
    (*first..=*last).filter(|s| !order.contains(s)).collect()
}

#[test]
fn every_event_arrives_in_order_after_rsyslog_comes_back() {
    let mut rsyslog = Rsyslog::start(&[("tcp", Proto::Tcp), ("tls", Proto::Tls)]);
    let sink = Sink::start_default();
    let tables = destination("tcp", "rfc5424", "tcp", &rsyslog)
        + &destination("tls", "json", "tls", &rsyslog);
    let sluice = Sluice::start(&forward_config(&[sink.addr], &tables));
    let dests = [("tcp", "rfc5424"), ("tls", "json")];

    let before: Vec<String> = (0..2).map(|i| format!("before-{i}")).collect();
    before.iter().for_each(|id| send(&sluice, id));
    for (name, format) in dests {
        let got = wait_relayed(&rsyslog, name, format, &before);
        assert!(
            relayed_all(&got, &before),
            "{name}: {}",
            rsyslog.diagnostics()
        );
    }

    // The outage: mail keeps flowing (every message relayed at once) while rsyslog is down.
    std::thread::sleep(Duration::from_millis(300));
    rsyslog.stop();
    let during: Vec<String> = (0..20).map(|i| format!("during-{i}")).collect();
    for id in &during {
        send(&sluice, id);
        std::thread::sleep(Duration::from_millis(150));
    }
    assert_eq!(sink.wait_for(22, WAIT).len(), 22);
    rsyslog.restart();
    let after: Vec<String> = (0..2).map(|i| format!("after-{i}")).collect();
    after.iter().for_each(|id| send(&sluice, id));

    let all: Vec<String> = before
        .iter()
        .chain(&during)
        .chain(&after)
        .cloned()
        .collect();
    for (name, format) in dests {
        let got = wait_relayed(&rsyslog, name, format, &all);
        assert!(
            relayed_all(&got, &all),
            "{name}: events lost: {:#?}\nsluice logs:\n{}",
            got.iter().map(|e| (e.seq, &e.action)).collect::<Vec<_>>(),
            sluice.logs().join("\n")
        );
        let order = in_order_at_least_once(name, &got);
        assert_eq!(
            gaps(&order),
            Vec::<u64>::new(),
            "{name}: sequence numbers lost"
        );
        // The relayed events arrived in the order the mail was sent.
        let relayed: Vec<String> = got
            .iter()
            .filter(|e| e.action == "message.relayed")
            .filter_map(|e| {
                all.iter()
                    .find(|id| e.has_value(&format!("<{id}@corp.example>")))
            })
            .cloned()
            .fold(Vec::new(), |mut v, id| {
                if !v.contains(&id) {
                    v.push(id);
                }
                v
            });
        assert_eq!(relayed, all, "{name}");
    }
}

fn dropped_total(sluice: &Sluice) -> u64 {
    let store = sluice::store::Store::open(
        &sluice.dir.path().join("data/store"),
        &sluice::config::Config::embedded()
            .unwrap()
            .store
            .store_options(),
    )
    .expect("open the store next to the running server");
    store
        .read(|txn| sluice::store::events::dropped(txn))
        .unwrap()
}

#[test]
fn a_tiny_outbox_drops_counts_and_reports_after_recovery() {
    let mut rsyslog = Rsyslog::start(&[("tcp", Proto::Tcp)]);
    let sink = Sink::start_default();
    let extra = format!(
        "[events]\nmax_events = 10\n\n{}",
        destination("tcp", "rfc5424", "tcp", &rsyslog)
    );
    let sluice = Sluice::start(&forward_config(&[sink.addr], &extra));
    let first = vec!["first".to_string()];
    send(&sluice, "first");
    let got = wait_relayed(&rsyslog, "tcp", "rfc5424", &first);
    assert!(relayed_all(&got, &first), "{}", rsyslog.diagnostics());
    assert_eq!(dropped_total(&sluice), 0);

    std::thread::sleep(Duration::from_millis(300));
    rsyslog.stop();
    // Mail until the outbox overflows (each message writes a few events; the bound is 10, its least).
    let end = Instant::now() + WAIT;
    let mut sent = 0;
    while dropped_total(&sluice) == 0 {
        assert!(
            Instant::now() < end,
            "nothing was dropped after {sent} messages"
        );
        send(&sluice, &format!("overflow-{sent}"));
        sent += 1;
    }
    assert!(sluice.wait_log("SIEM events dropped", WAIT));
    rsyslog.restart();

    rsyslog.wait_raw("tcp", WAIT, |lines| {
        lines.iter().any(|l| l.contains("system.events.dropped"))
    });
    let got = events(&rsyslog, "tcp", "rfc5424");
    let report = got
        .iter()
        .find(|e| e.action == "system.events.dropped")
        .unwrap_or_else(|| {
            panic!(
                "no system.events.dropped: {:#?}\n{}",
                got.iter().map(|e| &e.raw).collect::<Vec<_>>(),
                sluice.logs().join("\n")
            )
        });
    let count: u64 = report
        .get("sluice.count")
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no sluice.count: {}", report.raw));
    let total = dropped_total(&sluice);
    assert!(
        count > 0 && count <= total,
        "reported {count}, counted {total}"
    );
    // What was dropped is exactly what never arrived: no event lost beyond the count.
    let order = in_order_at_least_once("tcp", &got);
    assert_eq!(gaps(&order).len() as u64, total, "{:?}", order);
    // The newest events were kept and arrived.
    let last = format!("overflow-{}", sent - 1);
    let got = wait_relayed(&rsyslog, "tcp", "rfc5424", std::slice::from_ref(&last));
    assert!(relayed_all(&got, &[last]));
}
