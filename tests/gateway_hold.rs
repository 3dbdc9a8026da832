//! A message whose inspection crashes is tried `gateway.inspect_attempts` times (each attempt
//! counted when it starts, so one that kills the process counts too) and then held as suspect: a
//! `queue.held` event, a "suspect message" alert to the administrators, never delivered, never
//! inspected again. The faults come from the test hook `SLUICE_TEST_INSPECT_FAULT`.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use sluice::events::Kind;
use sluice::store::intake::{self, Stage};
use sluice::store::{Store, events};
use support::raw_smtp;
use support::sink::Sink;
use support::sluice::{Sluice, config};

const MARK: &str = "CRASH-ME-7f3a";

fn gateway(hop: SocketAddr, inline: &str) -> String {
    config(
        "mode = \"gateway\"",
        &format!("mode = \"forward\"\nhosts = [\"{hop}\"]\ndead_host_retry = \"1s\""),
        &format!(
            "[queue]\nretry = [\"1s\"]\nlease = \"5s\"\n\n[notifications]\nadmin = [\"secops@corp.example\"]\n\n[gateway]\ninline_verdict = \"{inline}\"\ninspect_retry = \"1s\"\ninspect_attempts = 3\n\n[[route]]\ndomain = \"corp.example\"\ndestination = \"{hop}\"\n"
        ),
    )
}

/// One message to b@corp.example; the final reply's code, or `None` when the server went away first.
fn send(addr: SocketAddr, subject: &str, body: &str) -> Option<u16> {
    let msg = format!("Subject: {subject}\r\nMessage-ID: <{subject}@test>\r\n\r\n{body}\r\n");
    raw_smtp::send(addr, "a@example.net", "b@corp.example", &msg)
}

fn store(data: &Path) -> Store {
    let options = sluice::config::Config::embedded()
        .unwrap()
        .store
        .store_options();
    Store::open(&data.join("store"), &options).unwrap()
}

/// The suspect messages in the store and the `queue.held` events, read after the server stopped.
fn suspects_and_events(data: &Path) -> (Vec<intake::Custody>, usize) {
    let store = store(data);
    let (held, _) = store
        .read(|t| intake::list(t, Some(Stage::Suspect), None, 100))
        .unwrap();
    let events = store.read(|t| events::since(t, 0, 100_000)).unwrap();
    let n = events.iter().filter(|e| e.kind == Kind::QueueHeld).count();
    (held, n)
}

fn subjects(sink: &Sink) -> Vec<String> {
    sink.messages()
        .iter()
        .filter_map(|m| m.header("Subject"))
        .map(|s| s.trim().to_string())
        .collect()
}

#[test]
fn a_panicking_inspection_is_tried_three_times_then_held_as_suspect_with_an_alert() {
    let sink = Sink::start_default();
    let data = tempfile::tempdir().unwrap();
    let fault = format!("panic:{MARK}");
    let sluice = Sluice::start_full(
        &gateway(sink.addr, "5s"),
        &[("SLUICE_TEST_INSPECT_FAULT", &fault)],
        Some(data.path().to_path_buf()),
    );
    // Custody first: the client has its 250 even though inspection fails.
    assert_eq!(
        send(sluice.addr, "crashing", &format!("x {MARK} y")),
        Some(250)
    );
    assert!(
        sluice.wait_log("message held as suspect", Duration::from_secs(60)),
        "{:#?}",
        sluice.logs()
    );
    assert_eq!(sluice.count_logs("custody: inspection failed"), 2);
    // The administrators' alert arrives; the message itself never does.
    let got = sink.wait_for(1, Duration::from_secs(30));
    assert_eq!(
        subjects(&sink),
        vec!["Sluice: suspect message held".to_string()],
        "{got:?}"
    );
    assert_eq!(got[0].rcpt_addrs(), vec!["secops@corp.example".to_string()]);
    // The same content sent again is not inspected inline (it waits for the worker).
    assert_eq!(
        send(sluice.addr, "crashing", &format!("x {MARK} y")),
        Some(250)
    );
    assert!(sluice.wait_log("inline=false", Duration::from_secs(10)));
    drop(sluice);
    let (held, events) = suspects_and_events(data.path());
    assert!(!held.is_empty());
    assert_eq!(held[0].attempts, 3, "{:?}", held[0]);
    assert!(events >= 1);
}

#[test]
fn an_inspection_that_aborts_the_process_still_counts_its_attempts_across_restarts() {
    let sink = Sink::start_default();
    let data = tempfile::tempdir().unwrap();
    let fault = format!("abort:{MARK}");
    let config = gateway(sink.addr, "5s");
    let env = [("SLUICE_TEST_INSPECT_FAULT", fault.as_str())];
    let mut sluice = Sluice::start_full(&config, &env, Some(data.path().to_path_buf()));
    // The inline attempt aborts the process before the client hears anything; the message is
    // already in custody.
    assert_eq!(send(sluice.addr, "aborting", &format!("x {MARK} y")), None);
    assert!(sluice.wait_exit(Duration::from_secs(10)).is_some());
    let mut starts = 1;
    'restarts: loop {
        assert!(starts <= 5, "never held as suspect after {starts} starts");
        sluice = Sluice::start_full(&config, &env, Some(data.path().to_path_buf()));
        starts += 1;
        for _ in 0..300 {
            if sluice.wait_exit(Duration::from_millis(100)).is_some() {
                continue 'restarts;
            }
            if sluice.count_logs("message held as suspect") > 0 {
                break 'restarts;
            }
        }
        panic!("neither an abort nor a hold: {:#?}", sluice.logs());
    }
    // Attempt 1 inline, 2 and 3 by the worker after restarts, then the hold at the next lease.
    assert_eq!(starts, 4);
    let got = sink.wait_for(1, Duration::from_secs(30));
    assert_eq!(
        subjects(&sink),
        vec!["Sluice: suspect message held".to_string()],
        "{got:?}"
    );
    drop(sluice);
    let (held, events) = suspects_and_events(data.path());
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].attempts, 3);
    assert_eq!(events, 1);
}
