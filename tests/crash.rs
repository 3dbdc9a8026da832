//! Crash safety: Sluice is killed with SIGKILL again and again while clients send mail, half of it
//! quarantined. Afterwards every message that got a 250 is either at the next hop or held in the
//! store, none is there twice, and the store opened cleanly after every kill.

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sluice::store::search::{Filter, Page};
use sluice::store::{Store, held};
use support::raw_smtp::{crash_message, send};
use support::sink::Sink;
use support::sluice::{Sluice, forward_config};

/// Kill rounds (bounded), clients per round and how long each round runs before the kill.
const ROUNDS: usize = 6;
const CLIENTS: usize = 4;
const ROUND_TIME: Duration = Duration::from_millis(700);

const POLICY: &str = r#"
[[policy]]
id = 500
name = "Falcon"
action = "quarantine"
keywords = ["falcon"]
"#;

#[test]
fn every_acknowledged_message_survives_repeated_kill_9() {
    let sink = Sink::start_default();
    let data = tempfile::tempdir().unwrap();
    let config = forward_config(&[sink.addr], POLICY);
    // message id -> whether it was meant to be held; only messages that got 250.
    let acked: Arc<Mutex<HashMap<String, bool>>> = Arc::default();
    let mut opened = 0;
    for round in 0..ROUNDS {
        let sluice = Sluice::start_with_data(&config, data.path());
        assert!(
            !sluice.logs().iter().any(|l| l.contains("cannot be opened")),
            "round {round}: the store did not open cleanly: {:?}",
            sluice.logs()
        );
        opened += 1;
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
                            "a@corp.example",
                            "b@partner.example",
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
        // SIGKILL while the clients are mid-transaction.
        drop(sluice);
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            c.join().unwrap();
        }
    }
    // A last clean start: the store opens, then stop it and look inside.
    let sluice = Sluice::start_with_data(&config, data.path());
    assert!(!sluice.logs().iter().any(|l| l.contains("cannot be opened")));
    drop(sluice);
    assert_eq!(opened, ROUNDS);

    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.values().filter(|h| **h).count() > 10 && acked.values().filter(|h| !**h).count() > 10,
        "too little traffic to mean anything: {} acknowledged",
        acked.len()
    );
    eprintln!(
        "acknowledged {} messages over {ROUNDS} kills ({} to hold)",
        acked.len(),
        acked.values().filter(|h| **h).count()
    );
    let store = Store::open(
        &data.path().join("store"),
        &sluice::config::Config::embedded()
            .unwrap()
            .store
            .store_options(),
    )
    .unwrap();
    let mut held_ids: HashMap<String, usize> = HashMap::new();
    let mut page = Page {
        limit: 1000,
        before: None,
    };
    loop {
        let found = store
            .read(|txn| held::search(txn, &Filter::default(), page))
            .unwrap();
        assert!(
            found.corrupt.is_empty(),
            "corrupt records: {:?}",
            found.corrupt
        );
        for h in &found.items {
            let id = h.message_id.trim_matches(['<', '>']).to_string();
            *held_ids.entry(id).or_default() += 1;
            // Content is there for every held record.
            assert!(
                store
                    .read(|txn| held::content(txn, h.id))
                    .unwrap()
                    .is_some(),
                "held {} lost its content",
                h.id
            );
        }
        match found.next {
            Some(n) => page.before = Some(n),
            None => break,
        }
    }
    let delivered: Vec<String> = sink
        .messages()
        .iter()
        .filter_map(|m| m.header("Message-ID"))
        .map(|v| v.trim().trim_matches(['<', '>']).to_string())
        .collect();
    let mut seen = HashSet::new();
    for d in &delivered {
        assert!(seen.insert(d.clone()), "{d} was delivered twice");
    }
    for (id, count) in &held_ids {
        assert_eq!(*count, 1, "{id} is held {count} times");
    }
    for (id, should_hold) in &acked {
        if *should_hold {
            assert!(held_ids.contains_key(id), "{id} got 250 but is not held");
        } else {
            assert!(
                seen.contains(id),
                "{id} got 250 but never reached the next hop"
            );
        }
    }
}
