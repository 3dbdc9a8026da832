//! Delivery queue tests on both backends: leases taken once, and the operators' hold, release,
//! retry and removal of entries (`sluice queue`).

use super::records::*;
use super::tests::queued;
use super::*;
use crate::testing::on_both_backends;

fn open(dir: &std::path::Path) -> Store {
    Store::open(dir, &crate::testing::options()).expect("open store")
}

on_both_backends!(
    the_queue_leases_due_entries_once,
    an_operator_holds_releases_retries_and_removes_queue_entries,
);

fn the_queue_leases_due_entries_once(store: Store) {
    let id = store
        .write_blocking(|txn| queue::insert(txn, queued(100), b"message"))
        .unwrap();
    assert_eq!(
        store.read(|txn| queue::due(txn, 99, 10)).unwrap(),
        Vec::<QueueId>::new()
    );
    assert_eq!(
        store.read(|txn| queue::due(txn, 100, 10)).unwrap(),
        vec![id]
    );
    let (entry, content) = store
        .write_blocking(move |txn| queue::lease(txn, id, 100, 400))
        .unwrap()
        .unwrap();
    assert_eq!(content, b"message");
    assert_eq!(entry.next_attempt, 400);
    // Leased: not due, and a second lease gets nothing.
    assert!(
        store
            .read(|txn| queue::due(txn, 300, 10))
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .write_blocking(move |txn| queue::lease(txn, id, 300, 600))
            .unwrap()
            .is_none()
    );
    // After the lease ran out (a crash), it is due again.
    assert_eq!(
        store.read(|txn| queue::due(txn, 400, 10)).unwrap(),
        vec![id]
    );
    assert_eq!(store.read(queue::next_due).unwrap(), Some(400));
    store
        .write_blocking(move |txn| queue::complete(txn, id))
        .unwrap();
    assert_eq!(store.read(queue::len).unwrap(), 0);
    assert_eq!(store.read(queue::next_due).unwrap(), None);
}

fn an_operator_holds_releases_retries_and_removes_queue_entries(store: Store) {
    let (a, b) = store
        .write_blocking(|txn| {
            let a = queue::insert(txn, queued(100), b"Subject: s\r\nX: y\r\n\r\nbody")?;
            Ok((a, queue::insert(txn, queued(900), b"no body")?))
        })
        .unwrap();
    // Held: out of the due index, never leased, the flag kept by later rewrites.
    let held = store.write_blocking(move |t| queue::hold(t, a)).unwrap();
    assert!(held.unwrap().held);
    assert_eq!(store.read(|t| queue::due(t, u64::MAX, 10)).unwrap(), [b]);
    assert!(
        store
            .write_blocking(move |t| queue::lease(t, a, 1_000, 2_000))
            .unwrap()
            .is_none()
    );
    let mut e = store.read(|t| queue::get(t, a)).unwrap().unwrap();
    e.attempts = 3;
    store.write_blocking(move |t| queue::update(t, &e)).unwrap();
    assert_eq!(store.read(|t| queue::due(t, u64::MAX, 10)).unwrap(), [b]);
    // A retry leaves a held entry alone; a release makes it due now.
    store
        .write_blocking(move |t| queue::retry(t, a, 50))
        .unwrap();
    assert_eq!(store.read(|t| queue::due(t, 500, 10)).unwrap(), []);
    let e = store
        .write_blocking(move |t| queue::unhold(t, a, 50))
        .unwrap();
    assert_eq!(e.map(|e| (e.held, e.next_attempt)), Some((false, 50)));
    assert_eq!(store.read(|t| queue::due(t, 50, 10)).unwrap(), [a]);
    // A retry brings an entry forward, without waiting for its schedule.
    store
        .write_blocking(move |t| queue::retry(t, b, 60))
        .unwrap();
    assert_eq!(store.read(|t| queue::due(t, 60, 10)).unwrap(), [a, b]);
    // The header section only, capped.
    let head = store.read(|t| queue::head(t, a, 1_000)).unwrap().unwrap();
    assert_eq!(head, b"Subject: s\r\nX: y\r\n");
    assert_eq!(
        store.read(|t| queue::head(t, a, 4)).unwrap().unwrap(),
        b"Subj"
    );
    // Paged scans, oldest first.
    let (page, next) = store.read(|t| queue::scan(t, None, 1)).unwrap();
    assert_eq!((page.len(), next), (1, Some(a)));
    let (page, next) = store.read(|t| queue::scan(t, next, 1)).unwrap();
    assert_eq!((page[0].id, next), (b, None));
    // Removed: gone with its content and its due key; a second removal finds nothing.
    assert!(
        store
            .write_blocking(move |t| queue::remove(t, a))
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .write_blocking(move |t| queue::remove(t, a))
            .unwrap()
            .is_none()
    );
    assert!(store.read(|t| queue::content(t, a)).unwrap().is_none());
    assert_eq!(store.read(|t| queue::due(t, u64::MAX, 10)).unwrap(), [b]);
    assert!(
        store
            .write_blocking(move |t| queue::hold(t, a))
            .unwrap()
            .is_none()
    );
}
