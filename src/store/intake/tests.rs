//! Custody on both backends: the receipt after the write, leases that count attempts, the suspect
//! hold after the last attempt, the move to the delivery queue in one write, paged listings.

use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::store::records::QueueKind;
use crate::testing::on_both_backends;

fn open(dir: &Path) -> Store {
    Store::open(dir, &crate::testing::options()).expect("open store")
}

on_both_backends!(
    custody_is_written_before_the_receipt_and_inline_counts_an_attempt,
    an_attempt_that_never_ended_counts_and_the_last_one_suspends,
    a_failed_attempt_retries_then_suspends_and_marks_the_fingerprint,
    delivery_moves_the_message_to_the_queue_once,
    listings_are_paged_by_stage,
    a_hold_during_inspection_wins_over_the_verdict,
    a_restart_makes_interrupted_inspections_due_at_once,
);

pub(crate) fn custody(at: u64, body: &[u8]) -> Custody {
    Custody {
        id: IntakeId(0),
        guid: format!("GUID-{at}"),
        received: at,
        listener: "mx".into(),
        direction: Direction::Inbound,
        peer: "192.0.2.7:40000".into(),
        helo: "client.example".into(),
        tls: false,
        local: false,
        sender: "a@example.net".into(),
        params: Params {
            envid: Some("E1".into()),
            ret: Some("full".into()),
            ..Params::default()
        },
        recipients: vec![Rcpt {
            address: "b@corp.example".into(),
            notify: Default::default(),
            orcpt: Some("rfc822;b@corp.example".into()),
        }],
        trace: "from client.example by sluice".into(),
        fingerprint: fingerprint(body),
        size: body.len() as u64,
        stage: Stage::Inspect,
        attempts: 0,
        next_attempt: 0,
        last_error: None,
    }
}

fn take_blocking(store: &Store, c: Custody, body: &[u8], inline: bool) -> Receipt {
    smol::block_on(take(store, c, Arc::new(body.to_vec()), inline, 60)).unwrap()
}

fn custody_is_written_before_the_receipt_and_inline_counts_an_attempt(store: Store) {
    let r = take_blocking(&store, custody(100, b"hello"), b"hello", true);
    assert!(r.inline());
    let c = store.read(|t| get(t, r.id())).unwrap().unwrap();
    assert_eq!((c.attempts, c.next_attempt), (1, 160));
    assert_eq!(
        store.read(|t| content(t, r.id())).unwrap().unwrap(),
        b"hello"
    );
    assert!(store.read(|t| due(t, 159, 10)).unwrap().is_empty());
    assert_eq!(store.read(|t| due(t, 160, 10)).unwrap(), vec![r.id()]);
    // Not inline: due at once, no attempt counted.
    let r2 = take_blocking(&store, custody(100, b"other"), b"other", false);
    assert!(!r2.inline());
    assert_eq!(store.read(|t| due(t, 100, 10)).unwrap(), vec![r2.id()]);
    assert_eq!(store.read(len).unwrap(), 2);
}

fn an_attempt_that_never_ended_counts_and_the_last_one_suspends(store: Store) {
    let r = take_blocking(&store, custody(100, b"boom"), b"boom", true);
    let id = r.id();
    // The inline attempt died with the process: the worker's lease is attempt 2 and marks it.
    let got = store
        .write_blocking(move |t| lease(t, id, 160, 220, 3))
        .unwrap();
    assert!(matches!(got, Some(Leased::Inspect(ref c, _)) if c.attempts == 2));
    let print = fingerprint(b"boom");
    assert!(store.read(|t| is_suspect(t, &print)).unwrap());
    // Not due again before the lease ends.
    assert!(
        store
            .write_blocking(move |t| lease(t, id, 200, 260, 3))
            .unwrap()
            .is_none()
    );
    let got = store
        .write_blocking(move |t| lease(t, id, 220, 280, 3))
        .unwrap();
    assert!(matches!(got, Some(Leased::Inspect(ref c, _)) if c.attempts == 3));
    // The third never ended either: suspended, out of the due index.
    let got = store
        .write_blocking(move |t| lease(t, id, 280, 340, 3))
        .unwrap();
    assert!(matches!(got, Some(Leased::Suspended(ref c)) if c.stage == Stage::Suspect));
    assert!(store.read(|t| due(t, u64::MAX, 10)).unwrap().is_empty());
    // A resend of the same content is not inspected inline.
    let again = take_blocking(&store, custody(300, b"boom"), b"boom", true);
    assert!(!again.inline());
    // Reprocessed by an administrator: due again, attempts from zero.
    let c = store
        .write_blocking(move |t| reprocess(t, id, 400))
        .unwrap();
    assert_eq!((c.stage, c.attempts), (Stage::Inspect, 0));
    assert!(store.read(|t| due(t, 400, 10)).unwrap().contains(&id));
}

fn a_failed_attempt_retries_then_suspends_and_marks_the_fingerprint(store: Store) {
    let r = take_blocking(&store, custody(100, b"x"), b"x", true);
    let id = r.id();
    let c = store
        .write_blocking(move |t| failed(t, id, 130, "inspection panicked", 2))
        .unwrap();
    assert_eq!((c.stage, c.next_attempt), (Stage::Inspect, 130));
    assert_eq!(store.read(|t| due(t, 130, 10)).unwrap(), vec![id]);
    let got = store
        .write_blocking(move |t| lease(t, id, 130, 190, 2))
        .unwrap();
    assert!(matches!(got, Some(Leased::Inspect(ref c, _)) if c.attempts == 2));
    let c = store
        .write_blocking(move |t| failed(t, id, 250, "inspection panicked", 2))
        .unwrap();
    assert_eq!(c.stage, Stage::Suspect);
    assert_eq!(c.last_error.as_deref(), Some("inspection panicked"));
    assert!(store.read(|t| due(t, u64::MAX, 10)).unwrap().is_empty());
}

fn delivery_moves_the_message_to_the_queue_once(store: Store) {
    let r = take_blocking(&store, custody(100, b"body"), b"body", true);
    let id = r.id();
    let q = store
        .write_blocking(move |t| deliver(t, id, None, b"Received: x\r\n\r\nbody", 110, 3600))
        .unwrap();
    let entry = store.read(|t| queue::get(t, q)).unwrap().unwrap();
    assert!(matches!(entry.kind, QueueKind::Gateway { ref guid, .. } if guid == "GUID-100"));
    assert_eq!(entry.sender, "a@example.net");
    assert_eq!(entry.envid.as_deref(), Some("E1"));
    assert!(entry.ret_full);
    assert_eq!(entry.peer, "192.0.2.7");
    assert_eq!(entry.give_up_at, 3710);
    assert_eq!(
        entry.recipients[0].orcpt.as_deref(),
        Some("rfc822;b@corp.example")
    );
    assert_eq!(store.read(len).unwrap(), 0);
    assert!(store.read(|t| due(t, u64::MAX, 10)).unwrap().is_empty());
    // A second attempt to move it finds nothing and changes nothing.
    let again = store.write_blocking(move |t| deliver(t, id, None, b"x", 120, 3600));
    assert!(matches!(again, Err(StoreError::NotFound(_))));
    assert_eq!(store.read(queue::len).unwrap(), 1);
}

fn listings_are_paged_by_stage(store: Store) {
    let mut ids = Vec::new();
    for i in 0..5u64 {
        let body = format!("m{i}");
        ids.push(
            take_blocking(
                &store,
                custody(100 + i, body.as_bytes()),
                body.as_bytes(),
                false,
            )
            .id(),
        );
    }
    let (a, b) = (ids[1], ids[3]);
    store.write_blocking(move |t| hold(t, a, "admin")).unwrap();
    store.write_blocking(move |t| hold(t, b, "admin")).unwrap();
    let (page, next) = store.read(|t| list(t, None, None, 2)).unwrap();
    assert_eq!(page.iter().map(|c| c.id).collect::<Vec<_>>(), &ids[..2]);
    let (page, next) = store.read(|t| list(t, None, next, 2)).unwrap();
    assert_eq!(page.iter().map(|c| c.id).collect::<Vec<_>>(), &ids[2..4]);
    let (page, next) = store.read(|t| list(t, None, next, 2)).unwrap();
    assert_eq!(page.iter().map(|c| c.id).collect::<Vec<_>>(), &ids[4..]);
    assert_eq!(next, None);
    let (suspects, _) = store
        .read(|t| list(t, Some(Stage::Suspect), None, 10))
        .unwrap();
    assert_eq!(
        suspects.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![a, b]
    );
    let gone = store.write_blocking(move |t| remove(t, a)).unwrap();
    assert!(gone.is_some());
    assert_eq!(store.read(len).unwrap(), 4);
    // Released uninspected: queued as it came, with the trace field on top.
    let q = store
        .write_blocking(move |t| release(t, b, 500, 60))
        .unwrap();
    let sent = store.read(|t| queue::content(t, q)).unwrap().unwrap();
    assert_eq!(sent, b"Received: from client.example by sluice\r\nm3");
    assert_eq!(store.read(len).unwrap(), 3);
}

fn a_hold_during_inspection_wins_over_the_verdict(store: Store) {
    let body = b"Subject: s\r\n\r\nbody";
    let id = take_blocking(&store, custody(100, body), body, false).id();
    let leased = store
        .write_blocking(move |t| lease(t, id, 100, 400, 3))
        .unwrap();
    assert!(matches!(leased, Some(Leased::Inspect(..))));
    // An administrator's retry makes it due now; the header section reads without the body.
    let c = store.write_blocking(move |t| retry(t, id, 150)).unwrap();
    assert_eq!(c.map(|c| c.next_attempt), Some(150));
    assert_eq!(
        store.read(|t| head(t, id, 100)).unwrap().unwrap(),
        b"Subject: s\r\n"
    );
    store.write_blocking(move |t| hold(t, id, "ops")).unwrap();
    // The inspection's verdict comes after the hold: it does not deliver the message.
    let late = store.write_blocking(move |t| deliver(t, id, None, b"x", 200, 60));
    assert!(matches!(late, Err(StoreError::Refused(_))), "{late:?}");
    assert_eq!(store.read(queue::len).unwrap(), 0);
    let c = store.read(|t| get(t, id)).unwrap().unwrap();
    assert_eq!(c.stage, Stage::Suspect);
    // A retry leaves a held message alone; the operator's release delivers it.
    let c = store.write_blocking(move |t| retry(t, id, 300)).unwrap();
    assert_eq!(c.map(|c| c.stage), Some(Stage::Suspect));
    store
        .write_blocking(move |t| release(t, id, 300, 60))
        .unwrap();
    assert_eq!(store.read(queue::len).unwrap(), 1);
}

fn a_restart_makes_interrupted_inspections_due_at_once(store: Store) {
    // An inline attempt (due again at 160) and a suspect message, from the process that is gone.
    let inline = take_blocking(&store, custody(100, b"inline"), b"inline", true).id();
    let held = take_blocking(&store, custody(100, b"held"), b"held", false).id();
    store
        .write_blocking(move |t| hold(t, held, "x").map(drop))
        .unwrap();
    assert!(store.read(|t| due(t, 120, 10)).unwrap().is_empty());
    assert_eq!(store.write_blocking(|t| recover(t, 120)).unwrap(), 1);
    assert_eq!(store.read(|t| due(t, 120, 10)).unwrap(), vec![inline]);
    let c = store.read(move |t| get(t, inline)).unwrap().unwrap();
    assert_eq!(
        (c.attempts, c.next_attempt),
        (1, 120),
        "the attempt stays counted"
    );
    assert_eq!(
        store.read(move |t| get(t, held)).unwrap().unwrap().stage,
        Stage::Suspect
    );
    assert_eq!(store.write_blocking(|t| recover(t, 120)).unwrap(), 0);
}
