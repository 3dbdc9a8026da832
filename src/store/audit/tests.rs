//! The audit log on both backends: appends with their events, pages newest first with filters,
//! the age prune.

use super::*;
use crate::store::Store;

fn open(dir: &std::path::Path) -> Store {
    Store::open(dir, &crate::testing::options()).expect("open store")
}

crate::testing::on_both_backends!(
    an_entry_writes_its_event_without_the_values,
    pages_are_newest_first_filtered_and_continue,
    the_prune_removes_only_old_entries,
);

fn entry(at: u64, actor: &str, action: &str, outcome: &str) -> AuditEntry {
    AuditEntry {
        seq: 0,
        at,
        actor: actor.into(),
        source: "192.0.2.7".into(),
        action: action.into(),
        object: "pci".into(),
        before: Some("secret-before".into()),
        after: Some("secret-after".into()),
        outcome: outcome.into(),
    }
}

fn add(store: &Store, e: AuditEntry) -> u64 {
    store.write_blocking(move |txn| append(txn, &e)).unwrap()
}

fn an_entry_writes_its_event_without_the_values(store: Store) {
    assert_eq!(add(&store, entry(10, "alice", "policy.update", OK)), 1);
    assert_eq!(add(&store, entry(11, "bob", "settings.update", DENIED)), 2);
    add(&store, entry(12, "bob", LOGON, "failed: wrong password"));
    add(&store, entry(13, "bob", LOGON, OK));
    let mut cli = entry(14, "root", LOGOFF, OK);
    cli.source = "cli".into();
    add(&store, cli);
    let evs = store.read(|txn| events::since(txn, 0, 10)).unwrap();
    let kinds: Vec<_> = evs.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            Kind::AdminChange,
            Kind::AdminAccessDenied,
            Kind::AdminLogonFailed,
            Kind::AdminLogonSucceeded,
            Kind::AdminLogoff
        ]
    );
    let e = &evs[0];
    assert_eq!(e.get(Field::UserName), Some("alice"));
    assert_eq!(e.get(Field::SourceIp), Some("192.0.2.7"));
    assert_eq!(e.get(Field::AdminAction), Some("policy.update"));
    assert_eq!(e.get(Field::AdminObject), Some("pci"));
    assert_eq!(e.get(Field::EventOutcome), Some("success"));
    assert_eq!(evs[2].get(Field::EventReason), Some("wrong password"));
    assert_eq!(evs[4].get(Field::SourceIp), None);
    let json = serde_json::to_string(&evs).unwrap();
    assert!(!json.contains("secret-"), "{json}");
    // The entry itself keeps them.
    let (newest, _) = store
        .read(|txn| page(txn, &Filter::default(), None, 1))
        .unwrap();
    assert_eq!(newest[0].seq, 5);
    let (first, _) = store
        .read(|txn| page(txn, &Filter::default(), Some(2), 5))
        .unwrap();
    assert_eq!(first[0].before.as_deref(), Some("secret-before"));
}

fn pages_are_newest_first_filtered_and_continue(store: Store) {
    for i in 0..10u64 {
        let actor = if i % 2 == 0 { "alice" } else { "bob" };
        let action = if i < 5 { "user.add" } else { "policy.update" };
        add(&store, entry(100 + i, actor, action, OK));
    }
    let seqs = |f: &Filter, before, limit| {
        let (es, next) = store.read(|txn| page(txn, f, before, limit)).unwrap();
        (es.iter().map(|e| e.seq).collect::<Vec<_>>(), next)
    };
    let all = Filter::default();
    assert_eq!(seqs(&all, None, 4), (vec![10, 9, 8, 7], Some(7)));
    assert_eq!(seqs(&all, Some(7), 4), (vec![6, 5, 4, 3], Some(3)));
    assert_eq!(seqs(&all, Some(3), 4), (vec![2, 1], None));
    // Exactly a page's worth left: no next page.
    assert_eq!(seqs(&all, Some(5), 4), (vec![4, 3, 2, 1], None));
    let alice = Filter {
        actor: Some("ALICE".into()),
        ..Filter::default()
    };
    assert_eq!(seqs(&alice, None, 10), (vec![9, 7, 5, 3, 1], None));
    let users = Filter {
        action: Some("user.".into()),
        ..Filter::default()
    };
    assert_eq!(seqs(&users, None, 10).0, vec![5, 4, 3, 2, 1]);
    let window = Filter {
        since: Some(103),
        until: Some(105),
        ..Filter::default()
    };
    assert_eq!(seqs(&window, None, 10), (vec![6, 5, 4], None));
}

fn the_prune_removes_only_old_entries(store: Store) {
    for at in [100, 200, 300] {
        add(&store, entry(at, "alice", "user.add", OK));
    }
    // Entries older than 150 s before 350 go: the one at 100.
    let n = store.write_blocking(|txn| prune(txn, 350, 150)).unwrap();
    assert_eq!(n, 1);
    let (left, _) = store
        .read(|txn| page(txn, &Filter::default(), None, 10))
        .unwrap();
    assert_eq!(left.iter().map(|e| e.at).collect::<Vec<_>>(), [300, 200]);
    // Sequence numbers go on after a prune.
    assert_eq!(add(&store, entry(400, "alice", "user.add", OK)), 4);
}
