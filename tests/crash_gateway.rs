//! Crash safety of the gateway's custody (the `tests/crash.rs` loop on a gateway listener): Sluice
//! is killed with SIGKILL again and again while clients send mail, half of it quarantined, with the
//! next hop up. Afterwards every message that got a 250 is at the next hop or held, none is lost,
//! copies are bounded (delivery is at least once: a kill between the next hop's 250 and the
//! queue's record sends it again), and nothing is stuck in custody.

mod support;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sluice::store::search::{Filter, Page};
use sluice::store::{Store, held, intake};
use support::raw_smtp::{crash_message, send};
use support::sink::Sink;
use support::sluice::{Sluice, config};

const ROUNDS: usize = 5;
const CLIENTS: usize = 4;
const ROUND_TIME: Duration = Duration::from_millis(700);

fn gateway(hop: SocketAddr) -> String {
    config(
        "mode = \"gateway\"",
        &format!("mode = \"forward\"\nhosts = [\"{hop}\"]\ndead_host_retry = \"1s\""),
        &format!(
            "[queue]\nretry = [\"1s\"]\nlease = \"5s\"\n\n[gateway]\ninspect_retry = \"1s\"\n\n[[route]]\ndomain = \"corp.example\"\ndestination = \"{hop}\"\n\n[[policy]]\nid = 500\nname = \"Falcon\"\naction = \"quarantine\"\nkeywords = [\"falcon\"]\n"
        ),
    )
}

fn delivered(sink: &Sink) -> Vec<String> {
    sink.messages()
        .iter()
        .filter_map(|m| m.header("Message-ID"))
        .map(|v| v.trim().trim_matches(['<', '>']).to_string())
        .collect()
}

#[test]
fn every_message_a_gateway_acknowledged_survives_repeated_kill_9() {
    let sink = Sink::start_default();
    let data = tempfile::tempdir().unwrap();
    let config = gateway(sink.addr);
    let acked: Arc<Mutex<HashMap<String, bool>>> = Arc::default();
    for round in 0..ROUNDS {
        let sluice = Sluice::start_with_data(&config, data.path());
        assert!(
            !sluice.logs().iter().any(|l| l.contains("cannot be opened")),
            "round {round}: the store did not open cleanly"
        );
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let (stop, acked, addr) = (stop.clone(), acked.clone(), sluice.addr);
                std::thread::spawn(move || {
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let id = format!("r{round}-c{c}-{n}@crash");
                        let held = n % 2 == 0;
                        if send(
                            addr,
                            "a@example.net",
                            "b@corp.example",
                            &crash_message(&id, held),
                        ) == Some(250)
                        {
                            acked.lock().unwrap().insert(id, held);
                        }
                        n += 1;
                    }
                })
            })
            .collect();
        std::thread::sleep(ROUND_TIME);
        drop(sluice); // SIGKILL mid-transaction
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            c.join().unwrap();
        }
    }
    let acked = acked.lock().unwrap().clone();
    let to_deliver: HashSet<String> = acked
        .iter()
        .filter(|(_, h)| !**h)
        .map(|(id, _)| id.clone())
        .collect();
    assert!(
        to_deliver.len() > 10 && acked.len() - to_deliver.len() > 10,
        "too little traffic to mean anything: {} acknowledged",
        acked.len()
    );
    // A last clean run until everything acknowledged for delivery arrived (leases of 5s run out).
    let sluice = Sluice::start_with_data(&config, data.path());
    let end = Instant::now() + Duration::from_secs(120);
    while Instant::now() < end {
        let got: HashSet<String> = delivered(&sink).into_iter().collect();
        if to_deliver.is_subset(&got) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(sluice);
    eprintln!(
        "acknowledged {} messages over {ROUNDS} kills ({} to deliver)",
        acked.len(),
        to_deliver.len()
    );
    let mut copies: HashMap<String, usize> = HashMap::new();
    for d in delivered(&sink) {
        *copies.entry(d).or_default() += 1;
    }
    let options = sluice::config::Config::embedded()
        .unwrap()
        .store
        .store_options();
    let store = Store::open(&data.path().join("store"), &options).unwrap();
    let mut held_ids: HashMap<String, usize> = HashMap::new();
    let mut page = Page {
        limit: 1000,
        before: None,
    };
    loop {
        let found = store
            .read(|txn| held::search(txn, &Filter::default(), page))
            .unwrap();
        assert!(found.corrupt.is_empty(), "corrupt: {:?}", found.corrupt);
        for h in &found.items {
            let id = h.message_id.trim_matches(['<', '>']).to_string();
            *held_ids.entry(id).or_default() += 1;
        }
        match found.next {
            Some(n) => page.before = Some(n),
            None => break,
        }
    }
    for (id, should_hold) in &acked {
        if *should_hold {
            assert!(held_ids.contains_key(id), "{id} got 250 but is not held");
        } else {
            assert!(
                copies.contains_key(id),
                "{id} got 250 but was never delivered"
            );
        }
    }
    // Copies: a held message at most twice (the client never saw a reply for the first), a
    // delivered one at most twice (a kill between the next hop's 250 and the record).
    for (id, n) in held_ids.iter().chain(copies.iter()) {
        assert!(*n <= 2, "{id}: {n} copies");
    }
    // Nothing is stuck in custody: whatever is left there (mail whose client never saw a reply,
    // still being inspected at the last stop) is at most the last run's few.
    let left = store.read(intake::len).unwrap();
    assert!(left <= CLIENTS as u64, "{left} messages left in custody");
}
