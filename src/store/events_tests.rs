//! The outbox's bounds, cursors and drop accounting, on both backends.

use std::path::Path;

use super::*;
use crate::events::{Field, Fields, Kind};
use crate::store::Store;
use crate::testing::on_both_backends;

fn open(dir: &Path) -> Store {
    Store::open(dir, &crate::testing::options()).unwrap()
}

on_both_backends!(
    cursors_are_kept_per_destination_and_forgotten,
    the_count_bound_removes_the_oldest_and_counts_only_unread_ones_as_dropped,
    the_age_bound_applies_on_prune,
    the_byte_bound_follows_the_stored_sizes,
    drops_are_reported_at_most_once_a_minute,
);

fn add(store: &Store, at: u64, n: u64) {
    store
        .write_blocking(move |txn| {
            for i in 0..n {
                append(
                    txn,
                    at,
                    Kind::QueueDelivered,
                    Fields::new().with(Field::QueueId, i),
                )?;
            }
            Ok(())
        })
        .unwrap();
}

fn seqs(store: &Store) -> Vec<(u64, Kind)> {
    store
        .read(|txn| since(txn, 0, 1000))
        .unwrap()
        .into_iter()
        .map(|e| (e.seq, e.kind))
        .collect()
}

fn set(store: &Store, b: Bounds) {
    store
        .write_blocking(move |txn| set_bounds(txn, &b))
        .unwrap();
}

fn cursors_are_kept_per_destination_and_forgotten(store: Store) {
    add(&store, 10, 3);
    store
        .write_blocking(|txn| {
            assert_eq!(cursor(txn, "a")?, None);
            set_cursor(txn, "a", 2)?;
            set_cursor(txn, "b", 3)?;
            Ok(())
        })
        .unwrap();
    let (h, all) = store.read(|txn| Ok((head(txn)?, cursors(txn)?))).unwrap();
    assert_eq!(h, 3);
    assert_eq!(all, vec![("a".to_string(), 2), ("b".to_string(), 3)]);
    store.write_blocking(|txn| forget_cursor(txn, "a")).unwrap();
    let all = store.read(cursors).unwrap();
    assert_eq!(all, vec![("b".to_string(), 3)]);
}

fn the_count_bound_removes_the_oldest_and_counts_only_unread_ones_as_dropped(store: Store) {
    set(
        &store,
        Bounds {
            max_events: 5,
            ..Bounds::default()
        },
    );
    add(&store, 10, 5);
    // No destination: removing is not dropping.
    add(&store, 10, 2);
    let kept: Vec<u64> = seqs(&store).iter().map(|s| s.0).collect();
    assert_eq!(kept, vec![3, 4, 5, 6, 7]);
    assert_eq!(store.read(dropped).unwrap(), 0);
    // A destination that read up to 4: removing 3 and 4 is fine, 5 and 6 are drops.
    store
        .write_blocking(|txn| set_cursor(txn, "siem", 4))
        .unwrap();
    add(&store, 10, 2);
    add(&store, 10, 2);
    // 8 and 9 removed 3 and 4 (read); 10 removed 5 (a drop), whose report took seq 11; 12 removed
    // 6 and 7 (drops).
    assert_eq!(store.read(dropped).unwrap(), 3);
    let got = seqs(&store);
    assert_eq!(
        got.iter().map(|s| s.0).collect::<Vec<_>>(),
        vec![8, 9, 10, 11, 12]
    );
    assert_eq!(got[3].1, Kind::SystemEventsDropped);
}

fn the_age_bound_applies_on_prune(store: Store) {
    set(
        &store,
        Bounds {
            max_age: 100,
            ..Bounds::default()
        },
    );
    add(&store, 1000, 2);
    add(&store, 1050, 1);
    let r = store.write_blocking(|txn| prune(txn, 1099)).unwrap();
    assert_eq!(r.removed, 0);
    let r = store.write_blocking(|txn| prune(txn, 1100)).unwrap();
    assert_eq!(r.removed, 2);
    assert_eq!(seqs(&store), vec![(3, Kind::QueueDelivered)]);
}

fn the_byte_bound_follows_the_stored_sizes(store: Store) {
    add(&store, 10, 4);
    let (n, bytes) = store.read(size).unwrap();
    assert_eq!(n, 4);
    let one = bytes / 4;
    assert!(one > 40, "{bytes}");
    set(
        &store,
        Bounds {
            max_bytes: one * 2 + one / 2,
            ..Bounds::default()
        },
    );
    add(&store, 10, 1);
    let (n, after) = store.read(size).unwrap();
    assert_eq!(n, 2);
    assert!(after <= one * 2 + one / 2, "{after}");
    // The migration's count agrees with the running total.
    let counted = store
        .write_blocking(|txn| {
            count_bytes(txn)?;
            keys::total(txn, BYTES_TOTAL)
        })
        .unwrap();
    assert_eq!(counted, after);
}

fn drops_are_reported_at_most_once_a_minute(store: Store) {
    set(
        &store,
        Bounds {
            max_events: 3,
            ..Bounds::default()
        },
    );
    // A destination that never read anything: every removal is a drop.
    store
        .write_blocking(|txn| set_cursor(txn, "siem", 0))
        .unwrap();
    let reports = |store: &Store| {
        store
            .read(|txn| since(txn, 0, 100))
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == Kind::SystemEventsDropped)
            .map(|e| (e.seq, e.at, e.get(Field::Count).unwrap_or("").to_string()))
            .collect::<Vec<_>>()
    };
    // 1..4; the 4th removes 1 and reports it at once (seq 5).
    add(&store, 100, 4);
    assert_eq!(reports(&store), vec![(5, 100, "1".to_string())]);
    // 6 removes 2 and 3: within the minute, not reported yet.
    add(&store, 110, 1);
    assert_eq!(reports(&store), vec![(5, 100, "1".to_string())]);
    assert_eq!(store.read(dropped).unwrap(), 3);
    // A minute after the report: 7 removes 4, and the report says 3.
    add(&store, 100 + DROP_REPORT_INTERVAL, 1);
    assert_eq!(
        reports(&store),
        vec![(5, 100, "1".to_string()), (8, 160, "3".to_string())]
    );
    // 9 removes 5 (the first report, unread: its 1 and itself carry forward) and 6.
    add(&store, 300, 1);
    assert_eq!(
        reports(&store),
        vec![(8, 160, "3".to_string()), (10, 300, "3".to_string())]
    );
    assert_eq!(store.read(dropped).unwrap(), 6);
}
