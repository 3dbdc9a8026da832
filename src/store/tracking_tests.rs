//! Tracking and report counters on both backends: every search field finds its message, a trail
//! comes back in order, the outbox's prune takes the index entries with the events, the migration
//! indexes an older outbox, and the counters (hourly series, top-N with its cap) add up.

use super::*;
use crate::events::Fields;
use crate::store::search::Page;
use crate::store::{Store, incidents, schema, stats};
use crate::testing::on_both_backends;
use std::path::Path;

fn open(dir: &Path) -> Store {
    Store::open(dir, &crate::testing::options()).expect("open store")
}

on_both_backends!(
    every_search_field_finds_its_message,
    a_trail_lists_a_messages_events_in_order,
    pruned_events_take_their_index_entries,
    the_migration_indexes_and_counts_an_older_outbox,
    counters_give_series_and_top_lists,
    a_days_top_list_is_capped_with_the_rest_as_other,
    a_search_cut_short_by_its_budget_continues_from_its_cursor,
);

fn message(guid: &str, from: &str, to: &[&str], subject: &str, ip: &str) -> Fields {
    Fields::new()
        .with(Field::EmailLocalId, guid)
        .with(Field::EmailFromAddress, from)
        .with_each(Field::EmailToAddress, to.iter())
        .with(Field::EmailSubject, subject)
        .with(Field::EmailMessageId, format!("<{guid}@corp.example>"))
        .with(Field::EmailDirection, "outbound")
        .with(Field::SourceIp, ip)
        .with(Field::Size, 1000)
}

fn append(store: &Store, at: u64, kind: Kind, f: Fields) -> u64 {
    store
        .write_blocking(move |txn| events::append(txn, at, kind, f))
        .unwrap()
}

fn find(store: &Store, f: TrackFilter) -> Vec<String> {
    store
        .read(|txn| search(txn, &f, Page::default()))
        .unwrap()
        .items
        .iter()
        .map(|e| e.get(Field::EmailLocalId).unwrap_or("").to_string())
        .collect()
}

fn two_messages(store: &Store) {
    let a = message(
        "G-A",
        "alice@corp.example",
        &["bob@ext.example"],
        "Quarterly plan",
        "192.0.2.7",
    );
    append(store, 1_000, Kind::MessageRelayed, a);
    let b = message(
        "G-B",
        "carol@corp.example",
        &["dave@other.example", "erin@ext.example"],
        "Payroll",
        "192.0.2.8",
    );
    append(store, 2_000, Kind::MessageQuarantined, b);
    // Not a message disposition: found by no search, but on its message's trail.
    let v = Fields::new()
        .with(Field::EmailLocalId, "G-B")
        .with(Field::EmailFromAddress, "carol@corp.example");
    append(store, 2_000, Kind::PolicyViolation, v);
}

fn every_search_field_finds_its_message(store: Store) {
    two_messages(&store);
    let all = find(&store, TrackFilter::default());
    assert_eq!(all, ["G-B", "G-A"], "newest first, message events only");
    let by = |f: TrackFilter| find(&store, f);
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        by(TrackFilter {
            sender: s("ALICE@corp.example"),
            ..Default::default()
        }),
        ["G-A"]
    );
    assert_eq!(
        by(TrackFilter {
            sender: s("@corp.example"),
            ..Default::default()
        }),
        ["G-B", "G-A"]
    );
    assert_eq!(
        by(TrackFilter {
            recipient: s("erin@ext.example"),
            ..Default::default()
        }),
        ["G-B"]
    );
    assert_eq!(
        by(TrackFilter {
            recipient: s("@ext.example"),
            ..Default::default()
        }),
        ["G-B", "G-A"]
    );
    assert_eq!(
        by(TrackFilter {
            subject: s("quarterly"),
            ..Default::default()
        }),
        ["G-A"]
    );
    assert_eq!(
        by(TrackFilter {
            message_id: s("G-B@corp.example"),
            ..Default::default()
        }),
        ["G-B"]
    );
    assert_eq!(
        by(TrackFilter {
            message_id: s("<g-a@corp.example>"),
            ..Default::default()
        }),
        ["G-A"]
    );
    assert_eq!(
        by(TrackFilter {
            client_ip: s("192.0.2.8"),
            ..Default::default()
        }),
        ["G-B"]
    );
    assert_eq!(
        by(TrackFilter {
            guid: s("g-a"),
            ..Default::default()
        }),
        ["G-A"]
    );
    assert_eq!(
        by(TrackFilter {
            status: s("quarantined"),
            ..Default::default()
        }),
        ["G-B"]
    );
    assert_eq!(
        by(TrackFilter {
            direction: s("outbound"),
            ..Default::default()
        }),
        ["G-B", "G-A"]
    );
    assert_eq!(
        by(TrackFilter {
            since: Some(1_500),
            ..Default::default()
        }),
        ["G-B"]
    );
    assert_eq!(
        by(TrackFilter {
            until: Some(1_500),
            ..Default::default()
        }),
        ["G-A"]
    );
    // Conditions combine.
    assert!(
        by(TrackFilter {
            sender: s("alice@corp.example"),
            status: s("quarantined"),
            ..Default::default()
        })
        .is_empty()
    );
    assert!(
        by(TrackFilter {
            subject: s("payroll"),
            client_ip: s("192.0.2.7"),
            ..Default::default()
        })
        .is_empty()
    );
    // Paging: one at a time, with the cursor.
    let first = store
        .read(|txn| {
            search(
                txn,
                &TrackFilter::default(),
                Page {
                    limit: 1,
                    before: None,
                },
            )
        })
        .unwrap();
    let second = store
        .read(|txn| {
            search(
                txn,
                &TrackFilter::default(),
                Page {
                    limit: 1,
                    before: first.next,
                },
            )
        })
        .unwrap();
    assert_eq!(second.items[0].get(Field::EmailLocalId), Some("G-A"));
}

fn a_trail_lists_a_messages_events_in_order(store: Store) {
    two_messages(&store);
    let held = Fields::new()
        .with(Field::EmailLocalId, "G-B")
        .with(Field::HeldId, 1);
    append(&store, 3_000, Kind::QuarantineReleased, held.clone());
    append(&store, 3_100, Kind::QueueDelivered, held);
    let kinds: Vec<Kind> = store
        .read(|txn| trail(txn, "G-B", 100))
        .unwrap()
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            Kind::MessageQuarantined,
            Kind::PolicyViolation,
            Kind::QuarantineReleased,
            Kind::QueueDelivered
        ]
    );
    assert_eq!(store.read(|txn| trail(txn, "G-B", 2)).unwrap().len(), 2);
    assert!(store.read(|txn| trail(txn, "G-C", 10)).unwrap().is_empty());
}

fn index_entries(store: &Store, table: Indexed) -> usize {
    store
        .read(|txn| {
            let mut n = 0;
            for e in txn.prefix(Table::Index, &[table as u8], Order::Forward)? {
                e?;
                n += 1;
            }
            Ok(n)
        })
        .unwrap()
}

fn pruned_events_take_their_index_entries(store: Store) {
    two_messages(&store);
    assert!(index_entries(&store, Indexed::Message) > 0);
    assert_eq!(index_entries(&store, Indexed::Trail), 3);
    let bounds = events::Bounds {
        max_age: 10,
        ..events::Bounds::default()
    };
    store
        .write_blocking(move |txn| events::set_bounds(txn, &bounds))
        .unwrap();
    // G-A (at 1,000) is past the age bound at 2,005; G-B's events (at 2,000) are not.
    let removed = store
        .write_blocking(|txn| events::prune(txn, 2_005))
        .unwrap();
    assert_eq!(removed.removed, 1);
    assert_eq!(find(&store, TrackFilter::default()), ["G-B"]);
    assert_eq!(index_entries(&store, Indexed::Trail), 2);
    store
        .write_blocking(|txn| events::prune(txn, 10_000))
        .unwrap();
    assert_eq!(index_entries(&store, Indexed::Message), 0);
    assert_eq!(index_entries(&store, Indexed::Trail), 0);
}

fn the_migration_indexes_and_counts_an_older_outbox(store: Store) {
    two_messages(&store);
    store
        .write_blocking(|txn| {
            incidents::record(
                txn,
                crate::store::tests::incident(7, &["x@y"], 2_000),
                None,
                0,
            )
        })
        .unwrap();
    // What a schema-3 store holds: the events and incidents, no index, no counters.
    store
        .write_blocking(|txn| {
            let doomed: Vec<Vec<u8>> = txn
                .all(Table::Index, Order::Forward)?
                .map(|e| e.map(|(k, _)| k.to_vec()))
                .collect::<crate::store::Result<_>>()?;
            for k in doomed {
                if k[0] == Indexed::Message as u8 || k[0] == Indexed::Trail as u8 {
                    txn.delete(Table::Index, &k)?;
                }
            }
            txn.clear(Table::Stats)?;
            schema::stamp(txn, 3)
        })
        .unwrap();
    assert!(find(&store, TrackFilter::default()).is_empty());
    store
        .write_blocking(|txn| schema::migrate(txn, schema::CURRENT, schema::MIGRATIONS))
        .unwrap();
    assert_eq!(find(&store, TrackFilter::default()), ["G-B", "G-A"]);
    assert_eq!(store.read(|txn| trail(txn, "G-B", 10)).unwrap().len(), 2);
    assert_eq!(
        store
            .read(|txn| stats::total(txn, stats::name::MESSAGES))
            .unwrap(),
        2
    );
    let policies = store
        .read(|txn| stats::top(txn, stats::name::POLICY, 0, 2_000, 5))
        .unwrap();
    assert_eq!(policies, [("7 P7".to_string(), 1)]);
}

fn counters_give_series_and_top_lists(store: Store) {
    two_messages(&store);
    // Another message an hour later.
    let c = message(
        "G-C",
        "Alice@corp.example",
        &["bob@ext.example"],
        "x",
        "192.0.2.7",
    );
    append(&store, 1_000 + 3_600, Kind::MessageRelayed, c);
    let series = store
        .read(|txn| stats::series(txn, stats::name::MESSAGES, 0, 7_199, 3_600))
        .unwrap();
    assert_eq!(series, [(0, 2), (3_600, 1)]);
    let relayed = store
        .read(|txn| stats::series(txn, &stats::name::outcome("relayed"), 0, 86_399, 86_400))
        .unwrap();
    assert_eq!(relayed, [(0, 2)]);
    let top = |family: &str| {
        store
            .read(|txn| stats::top(txn, family, 0, 86_399, 10))
            .unwrap()
    };
    let t = |v: &[(&str, u64)]| {
        v.iter()
            .map(|(k, n)| (k.to_string(), *n))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        top(stats::name::SENDER),
        t(&[("alice@corp.example", 2), ("carol@corp.example", 1)])
    );
    assert_eq!(
        top(stats::name::RECIPIENT)[0],
        ("bob@ext.example".to_string(), 2)
    );
    assert_eq!(
        top(stats::name::MESSAGE),
        t(&[("relayed outbound", 2), ("quarantined outbound", 1)])
    );
    assert_eq!(
        store
            .read(|txn| stats::sum(txn, stats::name::MESSAGE_BYTES, 0, 0))
            .unwrap(),
        3_000
    );
    // Incidents: by policy, severity and detector; a reconciled copy counts nothing more.
    let mut i = crate::store::tests::incident(120, &["bob@ext.example"], 500);
    i.findings =
        vec!["policy 120 rule \"cards\": Credit card number x2 in body (4111 **** 1111)".into()];
    let key = incidents::reconcile_key("G-A", &i.sender, 120);
    for _ in 0..2 {
        let (i, key) = (i.clone(), key.clone());
        store
            .write_blocking(move |txn| incidents::record(txn, i, key, 3_600))
            .unwrap();
    }
    assert_eq!(top(stats::name::POLICY), t(&[("120 P120", 1)]));
    assert_eq!(top(stats::name::SEVERITY), t(&[("medium", 1)]));
    assert_eq!(top(stats::name::DETECTOR), t(&[("Credit card number", 1)]));
    assert_eq!(
        store
            .read(|txn| stats::total(txn, &stats::name::severity("medium")))
            .unwrap(),
        1
    );
    // Pruning past keep_days removes the hourly and top-N entries, not the day counters.
    let removed = store
        .write_blocking(|txn| stats::prune(txn, 500 * 86_400, 400, 100_000))
        .unwrap();
    assert!(removed > 0);
    assert!(top(stats::name::SENDER).is_empty());
    assert_eq!(
        store
            .read(|txn| stats::total(txn, stats::name::MESSAGES))
            .unwrap(),
        3
    );
    let series = store
        .read(|txn| stats::series(txn, stats::name::MESSAGES, 0, 3_599, 3_600))
        .unwrap();
    assert_eq!(series, [(0, 0)]);
}

fn a_days_top_list_is_capped_with_the_rest_as_other(store: Store) {
    store
        .write_blocking(|txn| {
            for i in 0..stats::MAX_KEYS + 5 {
                stats::bump_top(txn, 10, "t", &format!("k{i}"), 1)?;
            }
            stats::bump_top(txn, 10, "t", "k0", 1)?;
            Ok(())
        })
        .unwrap();
    let top = store.read(|txn| stats::top(txn, "t", 0, 0, 2)).unwrap();
    assert_eq!(top, [(stats::OTHER.to_string(), 5), ("k0".to_string(), 2)]);
    let all = store
        .read(|txn| stats::top(txn, "t", 0, 0, usize::MAX))
        .unwrap();
    assert_eq!(all.len() as u64, stats::MAX_KEYS + 1);
}

fn a_search_cut_short_by_its_budget_continues_from_its_cursor(store: Store) {
    // Ten messages; only the oldest has the subject looked for (no index answers a subject).
    for i in 0..10u64 {
        let subject = if i == 0 { "Payroll" } else { "Lunch" };
        let ip = format!("192.0.2.{i}");
        let f = message(
            &format!("G-{i}"),
            "a@corp.example",
            &["b@x.example"],
            subject,
            &ip,
        );
        append(&store, 1_000 + i, Kind::MessageRelayed, f);
    }
    let filter = TrackFilter {
        subject: Some("payroll".into()),
        ..Default::default()
    };
    let walk = |budget, before| {
        let walk = Walk {
            table: keys::Indexed::Message,
            conditions: filter.indexed(),
            since: None,
            until: None,
            budget,
        };
        let page = Page { limit: 5, before };
        store
            .read(|txn| {
                walk.run(
                    txn,
                    page,
                    |seq| events::get(txn, seq),
                    |e| filter.matches(e),
                )
            })
            .unwrap()
    };
    // Four records decoded per page: three pages cut short, each continuing where the last stopped.
    let budget = Budget {
        scan: 1_000,
        load: 4,
    };
    let mut before = None;
    for _ in 0..2 {
        let page = walk(budget, before);
        assert!(page.items.is_empty() && page.truncated, "{page:?}");
        assert!(page.next < before.or(Some((u64::MAX, u64::MAX))));
        before = page.next;
    }
    let last = walk(budget, before);
    assert_eq!(last.items.len(), 1, "{last:?}");
    assert_eq!(last.items[0].get(Field::EmailSubject), Some("Payroll"));
    // The index budget cuts a page short the same way.
    let scan = walk(Budget { scan: 3, load: 100 }, None);
    assert!(scan.truncated && scan.items.is_empty());
    // Within budget, one page finds it.
    assert_eq!(walk(Budget::DEFAULT, None).items.len(), 1);
}
