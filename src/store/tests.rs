//! Store tests: the domain tests run on both backends (`on_both_backends!`: an LMDB file in a
//! temporary directory and the in-memory store); what only a file can show (reopening, schema
//! refusal, a full map, truncation, backup) runs on LMDB.

use super::records::*;
use super::search::{Filter, Page};
use super::*;
use crate::events::{Field, Kind as EventKind};
use crate::store::kv::Table;

fn open(dir: &Path) -> Store {
    Store::open(dir, &crate::testing::options()).expect("open store")
}

use crate::testing::on_both_backends;

on_both_backends!(
    held_messages_are_stored_found_and_paged,
    status_changes_move_the_index_entries,
    the_count_cap_evicts_the_oldest_and_keeps_the_new,
    the_retention_scan_finds_only_expired_open_messages,
    copies_of_one_message_reconcile_into_one_incident,
    incident_history_is_appended_in_order,
    an_approval_is_decided_once,
    a_corrupt_record_is_reported_and_the_rest_still_served,
    concurrent_writes_all_commit_with_distinct_ids,
    a_failing_write_is_rolled_back_alone,
    events_and_stats,
);

pub(crate) fn held(sender: &str, rcpts: &[&str], at: u64) -> Held {
    Held {
        id: HeldId(0),
        guid: format!("GUID-{at}"),
        received: at,
        direction: crate::policy::Direction::Outbound,
        peer: "127.0.0.1".into(),
        sender: sender.into(),
        envid: None,
        ret_full: false,
        recipients: rcpts
            .iter()
            .map(|r| HeldRecipient {
                address: r.to_string(),
                notify: Default::default(),
                orcpt: None,
                status: HeldStatus::Held,
            })
            .collect(),
        subject: format!("report {at}"),
        message_id: format!("<m{at}@x>"),
        size: 0,
        policies: vec![PolicyRef {
            id: 100,
            name: "PCI".into(),
            severity: crate::policy::Severity::High,
            monitor: false,
        }],
        severity: crate::policy::Severity::High,
        status: HeldStatus::Held,
        hold: Hold::Quarantine,
        findings: vec!["CREDIT_CARD x2 in body: 4111 **** **** 1111".into()],
        incidents: vec![],
        expires: at + 7 * 86_400,
    }
}

pub(crate) fn incident(policy: u64, rcpts: &[&str], at: u64) -> Incident {
    Incident {
        id: IncidentId(0),
        guid: "G1".into(),
        created: at,
        policy: PolicyRef {
            id: policy,
            name: format!("P{policy}"),
            severity: crate::policy::Severity::Medium,
            monitor: false,
        },
        status: IncidentStatus::New,
        direction: crate::policy::Direction::Outbound,
        peer: "127.0.0.1".into(),
        sender: "alice@corp.example".into(),
        recipients: rcpts.iter().map(|r| r.to_string()).collect(),
        subject: "Q3".into(),
        message_id: "<m1@x>".into(),
        size: 10,
        findings: vec![],
        action: "quarantined".into(),
        held: None,
        copies: 1,
    }
}

#[test]
fn a_new_store_is_stamped_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let v = store.read(schema::version).unwrap();
    assert_eq!(v, Some(schema::CURRENT));
    store.close();
    let store = open(dir.path());
    assert_eq!(store.read(schema::version).unwrap(), Some(schema::CURRENT));
}

#[test]
fn a_store_from_a_newer_schema_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store
        .write_blocking(|txn| schema::stamp(txn, schema::CURRENT + 1))
        .unwrap();
    store.close();
    match Store::open(dir.path(), &crate::testing::options()) {
        Err(StoreError::NewerSchema { found, supported }) => {
            assert_eq!((found, supported), (schema::CURRENT + 1, schema::CURRENT));
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a newer store was opened"),
    }
}

#[test]
fn migrations_run_in_order_and_bump_the_version() {
    fn add_marker(txn: &mut dyn WriteTxn) -> Result<()> {
        txn.put(Table::Meta, b"migrated", b"yes")?;
        Ok(())
    }
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let steps = [schema::Migration {
        from: schema::CURRENT,
        describe: "test step",
        run: add_marker,
    }];
    store
        .write_blocking(move |txn| schema::migrate(txn, schema::CURRENT + 1, &steps))
        .unwrap();
    let (v, marker) = store
        .read(|txn| {
            Ok((
                schema::version(txn)?,
                txn.get(Table::Meta, b"migrated")?.map(<[u8]>::to_vec),
            ))
        })
        .unwrap();
    assert_eq!(v, Some(schema::CURRENT + 1));
    assert_eq!(marker.as_deref(), Some(&b"yes"[..]));
    // No step from the new version: going further is an error, not a silent stamp.
    let err = store
        .write_blocking(|txn| schema::migrate(txn, schema::CURRENT + 2, &[]))
        .unwrap_err();
    assert!(err.to_string().contains("no migration"), "{err}");
}

fn held_messages_are_stored_found_and_paged(store: Store) {
    for i in 0..30u64 {
        let sender = if i % 3 == 0 {
            "bob@other.example"
        } else {
            "alice@corp.example"
        };
        let h = held(sender, &["x@dest.example", "y@dest.example"], 1000 + i);
        let content = format!("Subject: m{i}\r\n\r\nbody {i}\r\n").into_bytes();
        store
            .write_blocking(move |txn| held::insert(txn, h, &content, crate::testing::caps()))
            .unwrap();
    }
    let got = store.read(|txn| held::must_get(txn, HeldId(4))).unwrap();
    assert_eq!(got.received, 1003);
    let content = store
        .read(|txn| held::content(txn, HeldId(4)))
        .unwrap()
        .unwrap();
    assert_eq!(content, b"Subject: m3\r\n\r\nbody 3\r\n");

    let by_sender = Filter {
        sender: Some("BOB@other.example".into()),
        ..Filter::default()
    };
    let page = store
        .read(|txn| {
            held::search(
                txn,
                &by_sender,
                Page {
                    limit: 4,
                    before: None,
                },
            )
        })
        .unwrap();
    let times: Vec<u64> = page.items.iter().map(|h| h.received).collect();
    assert_eq!(times, vec![1027, 1024, 1021, 1018], "newest first");
    let next = store
        .read(|txn| {
            held::search(
                txn,
                &by_sender,
                Page {
                    limit: 4,
                    before: page.next,
                },
            )
        })
        .unwrap();
    let times: Vec<u64> = next.items.iter().map(|h| h.received).collect();
    assert_eq!(times, vec![1015, 1012, 1009, 1006]);

    let by_domain_and_time = Filter {
        recipient: Some("@dest.example".into()),
        sender: Some("@corp.example".into()),
        since: Some(1010),
        until: Some(1014),
        ..Filter::default()
    };
    let page = store
        .read(|txn| held::search(txn, &by_domain_and_time, Page::default()))
        .unwrap();
    let times: Vec<u64> = page.items.iter().map(|h| h.received).collect();
    assert_eq!(times, vec![1014, 1013, 1011, 1010]);
    assert_eq!(page.next, None);

    let none = Filter {
        recipient: Some("@dest.example.evil".into()),
        ..Filter::default()
    };
    assert!(
        store
            .read(|txn| held::search(txn, &none, Page::default()))
            .unwrap()
            .items
            .is_empty()
    );
}

fn status_changes_move_the_index_entries(store: Store) {
    let h = held("a@b.example", &["c@d.example"], 50);
    let (id, _) = store
        .write_blocking(move |txn| held::insert(txn, h, b"x", crate::testing::caps()))
        .unwrap();
    store
        .write_blocking(move |txn| {
            let old = held::must_get(txn, id)?;
            let mut new = old.clone();
            new.status = HeldStatus::Released;
            held::update(txn, &old, &new)?;
            held::drop_content(txn, &new)
        })
        .unwrap();
    let status = |s: &str| Filter {
        status: Some(s.into()),
        ..Filter::default()
    };
    let held_now = store
        .read(|txn| held::search(txn, &status("held"), Page::default()))
        .unwrap();
    assert!(held_now.items.is_empty());
    let released = store
        .read(|txn| held::search(txn, &status("released"), Page::default()))
        .unwrap();
    assert_eq!(released.items.len(), 1);
    assert_eq!(store.read(|txn| held::content(txn, id)).unwrap(), None);
    assert_eq!(store.read(held::totals).unwrap(), (0, 0));
}

fn the_count_cap_evicts_the_oldest_and_keeps_the_new(store: Store) {
    let caps = held::Caps {
        max_bytes: u64::MAX,
        max_messages: 3,
    };
    let mut evicted_all = Vec::new();
    for i in 0..5u64 {
        let h = held("a@b.example", &["c@d.example"], 100 + i);
        let (_, evicted) = store
            .write_blocking(move |txn| held::insert(txn, h, b"0123456789", caps))
            .unwrap();
        evicted_all.extend(evicted.ids);
    }
    assert_eq!(evicted_all, vec![HeldId(1), HeldId(2)]);
    assert_eq!(store.read(held::totals).unwrap(), (30, 3));
    let first = store.read(|txn| held::must_get(txn, HeldId(1))).unwrap();
    assert_eq!(first.status, HeldStatus::Deleted);
    assert_eq!(
        store.read(|txn| held::content(txn, HeldId(1))).unwrap(),
        None
    );
    assert!(
        store
            .read(|txn| held::content(txn, HeldId(5)))
            .unwrap()
            .is_some()
    );
}

fn the_retention_scan_finds_only_expired_open_messages(store: Store) {
    for i in 0..4u64 {
        let mut h = held("a@b.example", &["c@d.example"], 100 + i);
        h.expires = 200 + i;
        store
            .write_blocking(move |txn| held::insert(txn, h, b"x", crate::testing::caps()))
            .unwrap();
    }
    let due = store.read(|txn| held::expired(txn, 201, 100)).unwrap();
    assert_eq!(due, vec![HeldId(1), HeldId(2)]);
    let capped = store.read(|txn| held::expired(txn, 999, 3)).unwrap();
    assert_eq!(capped, vec![HeldId(1), HeldId(2), HeldId(3)]);
}

fn copies_of_one_message_reconcile_into_one_incident(store: Store) {
    let key = incidents::reconcile_key("<m1@x>", "alice@corp.example", 7);
    let (k1, k2, k3) = (key.clone(), key.clone(), key.clone());
    let first = store
        .write_blocking(move |txn| {
            incidents::record(txn, incident(7, &["to@x.example"], 1000), k1, 3600)
        })
        .unwrap();
    let second = store
        .write_blocking(move |txn| {
            incidents::record(
                txn,
                incident(7, &["cc@x.example", "to@x.example"], 1500),
                k2,
                3600,
            )
        })
        .unwrap();
    assert_eq!(first, incidents::Recorded::Created(IncidentId(1)));
    assert_eq!(second, incidents::Recorded::Reconciled(IncidentId(1)));
    let i = store
        .read(|txn| incidents::must_get(txn, IncidentId(1)))
        .unwrap();
    assert_eq!(i.recipients, vec!["to@x.example", "cc@x.example"]);
    assert_eq!(i.copies, 2);
    let h = store
        .read(|txn| incidents::history(txn, IncidentId(1)))
        .unwrap();
    let actions: Vec<&str> = h.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, vec!["created", "reconciled"]);
    // Another policy on the same message is its own incident; so is a copy outside the window.
    let other = incidents::reconcile_key("<m1@x>", "alice@corp.example", 8);
    let third = store
        .write_blocking(move |txn| {
            incidents::record(txn, incident(8, &["to@x.example"], 1600), other, 3600)
        })
        .unwrap();
    assert_eq!(third, incidents::Recorded::Created(IncidentId(2)));
    let late = store
        .write_blocking(move |txn| {
            incidents::record(txn, incident(7, &["to@x.example"], 1000 + 7200), k3, 3600)
        })
        .unwrap();
    assert_eq!(late, incidents::Recorded::Created(IncidentId(3)));
    // Search by policy and status.
    let f = Filter {
        policy: Some(7),
        status: Some("new".into()),
        ..Filter::default()
    };
    let found = store
        .read(|txn| incidents::search(txn, &f, Page::default()))
        .unwrap();
    let ids: Vec<u64> = found.items.iter().map(|i| i.id.0).collect();
    assert_eq!(ids, vec![3, 1]);
}

fn incident_history_is_appended_in_order(store: Store) {
    store
        .write_blocking(|txn| incidents::record(txn, incident(1, &["a@b"], 5), None, 60))
        .unwrap();
    for (i, action) in ["release", "release"].iter().enumerate() {
        let entry = HistoryEntry {
            at: 10 + i as u64,
            actor: "admin".into(),
            action: action.to_string(),
            result: if i == 0 {
                "released".into()
            } else {
                "refused: already released".into()
            },
        };
        let status = (i == 0).then_some(IncidentStatus::Released);
        store
            .write_blocking(move |txn| incidents::set_status(txn, IncidentId(1), status, &entry))
            .unwrap();
    }
    let h = store
        .read(|txn| incidents::history(txn, IncidentId(1)))
        .unwrap();
    let results: Vec<&str> = h.iter().map(|e| e.result.as_str()).collect();
    assert_eq!(results[1..], ["released", "refused: already released"]);
    let i = store
        .read(|txn| incidents::must_get(txn, IncidentId(1)))
        .unwrap();
    assert_eq!(i.status, IncidentStatus::Released);
    let missing = store
        .write_blocking(|txn| {
            incidents::set_status(
                txn,
                IncidentId(99),
                None,
                &HistoryEntry {
                    at: 1,
                    actor: "a".into(),
                    action: "x".into(),
                    result: "y".into(),
                },
            )
        })
        .unwrap_err();
    assert_eq!(missing, StoreError::NotFound("incident 99".into()));
}

pub(crate) fn queued(at: u64) -> Queued {
    Queued {
        id: QueueId(0),
        kind: QueueKind::Release { held: HeldId(1) },
        created: at,
        sender: "a@b.example".into(),
        envid: None,
        ret_full: false,
        recipients: vec![QueuedRecipient {
            address: "c@d.example".into(),
            notify: Default::default(),
            orcpt: None,
            state: RcptState::Pending,
            last_reply: None,
        }],
        peer: String::new(),
        attempts: 0,
        next_attempt: at,
        give_up_at: at + 5 * 86_400,
        delay_notice_sent: false,
        held: false,
    }
}

fn an_approval_is_decided_once(store: Store) {
    let make = |expires| Approval {
        id: ApprovalId(0),
        held: HeldId(1),
        approvers: vec!["boss@corp.example".into()],
        created: 0,
        expires,
        state: ApprovalState::Pending,
    };
    let (a, b) = (make(100), make(50));
    let id = store
        .write_blocking(move |txn| approvals::insert(txn, a))
        .unwrap();
    let other = store
        .write_blocking(move |txn| approvals::insert(txn, b))
        .unwrap();
    assert_eq!(
        store.read(|txn| approvals::expired(txn, 60, 10)).unwrap(),
        vec![other]
    );
    let approved = ApprovalState::Approved {
        by: "boss@corp.example".into(),
        at: 10,
    };
    let again = approved.clone();
    store
        .write_blocking(move |txn| approvals::decide(txn, id, approved))
        .unwrap();
    let err = store
        .write_blocking(move |txn| approvals::decide(txn, id, again))
        .unwrap_err();
    assert!(matches!(err, StoreError::Refused(_)), "{err}");
    // A decided request is no longer pending, so it never expires.
    assert_eq!(
        store.read(|txn| approvals::expired(txn, 1000, 10)).unwrap(),
        vec![other]
    );
}

#[test]
fn a_full_store_refuses_the_write_and_keeps_what_it_had() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &Options { max_size: 1 << 20 }).unwrap();
    let h = held("a@b.example", &["c@d.example"], 1);
    store
        .write_blocking(move |txn| held::insert(txn, h, b"small", crate::testing::caps()))
        .unwrap();
    let big = vec![b'x'; 2 << 20];
    let h = held("a@b.example", &["c@d.example"], 2);
    let err = store
        .write_blocking(move |txn| held::insert(txn, h, &big, crate::testing::caps()))
        .unwrap_err();
    assert!(matches!(err, StoreError::Full(_)), "{err}");
    assert!(err.is_temporary());
    // The earlier message is intact and the store still takes small writes.
    assert_eq!(
        store
            .read(|txn| held::content(txn, HeldId(1)))
            .unwrap()
            .unwrap(),
        b"small"
    );
    let h = held("a@b.example", &["c@d.example"], 3);
    store
        .write_blocking(move |txn| held::insert(txn, h, b"again", crate::testing::caps()))
        .unwrap();
}

fn a_corrupt_record_is_reported_and_the_rest_still_served(store: Store) {
    for at in [1u64, 2] {
        let h = held("a@b.example", &["c@d.example"], at);
        store
            .write_blocking(move |txn| held::insert(txn, h, b"x", crate::testing::caps()))
            .unwrap();
    }
    store
        .write_blocking(|txn| {
            txn.put(Table::Held, &keys::id_key(1), b"{\"id\":1,\"trunc")?;
            Ok(())
        })
        .unwrap();
    let err = store.read(|txn| held::get(txn, HeldId(1))).unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt { what, .. } if what == "held message 1"),
        "{err}"
    );
    let page = store
        .read(|txn| held::search(txn, &Filter::default(), Page::default()))
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.corrupt, vec![1]);
}

fn concurrent_writes_all_commit_with_distinct_ids(store: Store) {
    let tasks: Vec<_> = (0..200u64)
        .map(|i| {
            let store = store.clone();
            std::thread::spawn(move || {
                let h = held("a@b.example", &["c@d.example"], i);
                store
                    .write_blocking(move |txn| held::insert(txn, h, b"x", crate::testing::caps()))
                    .unwrap()
                    .0
            })
        })
        .collect();
    let mut ids: Vec<HeldId> = tasks.into_iter().map(|t| t.join().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 200);
    assert_eq!(store.read(held::totals).unwrap(), (200, 200));
}

fn a_failing_write_is_rolled_back_alone(store: Store) {
    let err = store
        .write_blocking(|txn| -> Result<()> {
            txn.put(Table::Meta, b"half", b"done")?;
            Err(StoreError::Refused("no".into()))
        })
        .unwrap_err();
    assert_eq!(err, StoreError::Refused("no".into()));
    let half = store
        .read(|txn| Ok(txn.get(Table::Meta, b"half")?.is_some()))
        .unwrap();
    assert!(!half, "a failed write left a partial change");
}

#[test]
fn backup_and_restore_round_trip_while_open() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("store"));
    let h = held("a@b.example", &["c@d.example"], 1);
    store
        .write_blocking(move |txn| held::insert(txn, h, b"kept", crate::testing::caps()))
        .unwrap();
    // Every meta key the event outbox writes (bounds, a cursor, a drop report's time) restores.
    store
        .write_blocking(|txn| {
            let b = events::Bounds {
                max_events: 1,
                ..events::Bounds::default()
            };
            events::set_bounds(txn, &b)?;
            events::set_cursor(txn, "siem", 0)?;
            for _ in 0..2 {
                events::append(txn, 5, EventKind::QueueDelivered, Vec::new())?;
            }
            Ok(())
        })
        .unwrap();
    let file = dir.path().join("backup.mdb");
    let size = backup(&store, &file).unwrap();
    assert!(size > 0);
    // Changes after the backup are undone by the restore.
    let h = held("a@b.example", &["c@d.example"], 2);
    store
        .write_blocking(move |txn| held::insert(txn, h, b"later", crate::testing::caps()))
        .unwrap();
    let restored = restore(&store, &file).unwrap();
    assert_eq!(restored.schema, schema::CURRENT);
    assert_eq!(
        store.read(|txn| events::cursor(txn, "siem")).unwrap(),
        Some(0)
    );
    assert_eq!(store.read(events::dropped).unwrap(), 1);
    assert_eq!(
        store
            .read(|txn| held::content(txn, HeldId(1)))
            .unwrap()
            .unwrap(),
        b"kept"
    );
    assert_eq!(store.read(|txn| held::get(txn, HeldId(2))).unwrap(), None);
    // Ids never go back: held id 2 was handed out after the backup, so the next one is 3.
    let h = held("a@b.example", &["c@d.example"], 3);
    let (id, _) = store
        .write_blocking(move |txn| held::insert(txn, h, b"new", crate::testing::caps()))
        .unwrap();
    assert_eq!(id, HeldId(3));
    // Garbage is refused with a clear error and changes nothing.
    let junk = dir.path().join("junk.mdb");
    std::fs::write(&junk, b"not a database at all").unwrap();
    let err = restore(&store, &junk).unwrap_err();
    assert!(err.to_string().contains("not a Sluice backup"), "{err}");
    assert_eq!(
        store
            .read(|txn| held::content(txn, HeldId(3)))
            .unwrap()
            .unwrap(),
        b"new"
    );
}

fn events_and_stats(store: Store) {
    for i in 0..5u64 {
        store
            .write_blocking(move |txn| {
                events::append(
                    txn,
                    i,
                    EventKind::PolicyViolation,
                    vec![(Field::IncidentId, i.to_string())],
                )?;
                stats::bump(txn, 86_400 * (i % 2), "quarantined", 1)
            })
            .unwrap();
    }
    let after2 = store.read(|txn| events::since(txn, 2, 10)).unwrap();
    let seqs: Vec<u64> = after2.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![3, 4, 5]);
    assert_eq!(
        store
            .read(|txn| stats::sum(txn, "quarantined", 0, 86_400))
            .unwrap(),
        5
    );
    assert_eq!(
        store
            .read(|txn| stats::sum(txn, "quarantined", 0, 100))
            .unwrap(),
        3
    );
}

#[test]
fn a_truncated_store_file_is_refused_not_mapped() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for at in 0..50u64 {
        let h = held("a@b.example", &["c@d.example"], at);
        let body = vec![b'x'; 20_000];
        store
            .write_blocking(move |txn| held::insert(txn, h, &body, crate::testing::caps()))
            .unwrap();
    }
    store.close();
    let file = dir.path().join("data.mdb");
    let len = std::fs::metadata(&file).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
    f.set_len(len / 2).unwrap();
    drop(f);
    match Store::open(dir.path(), &crate::testing::options()) {
        Err(StoreError::Corrupt { detail, .. }) => {
            assert!(detail.contains("truncated"), "{detail}")
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a truncated store was opened"),
    }
}
