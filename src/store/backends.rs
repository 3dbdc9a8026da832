//! The two backends agree: random sequences of key-value operations and of domain operations
//! (hold, release, delete, incident, note, queue, search) applied to an LMDB store and to the
//! in-memory store give the same answer to every operation and leave the same tables.

use proptest::prelude::*;

use super::kv::{Order, Table};
use super::records::{HeldStatus, HistoryEntry};
use super::search::{Filter, Page};
use super::{Store, StoreError, held, incidents, queue, tests};

/// Every table's entries, in key order; without LMDB's own bookkeeping (the `mark:` keys of the
/// id high-water mark file, which the memory store has no need of).
fn dump(store: &Store) -> Vec<(Table, Vec<u8>, Vec<u8>)> {
    store
        .read(|txn| {
            let mut out = Vec::new();
            for t in Table::ALL {
                for e in txn.all(t, Order::Forward)? {
                    let (k, v) = e?;
                    if t == Table::Meta && k.starts_with(b"mark:") {
                        continue;
                    }
                    out.push((t, k.to_vec(), v.to_vec()));
                }
            }
            Ok(out)
        })
        .unwrap()
}

#[derive(Debug, Clone)]
enum Kv {
    Put(usize, Vec<u8>, Vec<u8>),
    Delete(usize, Vec<u8>),
    Get(usize, Vec<u8>),
    Range(usize, Vec<u8>, Vec<u8>, bool),
    Prefix(usize, Vec<u8>, bool),
    NextId(u8),
    /// A write that changes things and then fails: nothing of it may stay.
    Failing(usize, Vec<u8>),
    Len(usize),
}

/// Tables the raw operations use (not `meta`: LMDB keeps its id reservations there, `mark:`).
const TABLES: [Table; 4] = [Table::Blobs, Table::Stats, Table::Recon, Table::Due];

fn key() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![Just(0u8), Just(1), Just(b'n'), Just(0xff)],
        1..4,
    )
}

fn kv_op() -> impl Strategy<Value = Kv> {
    let t = 0..TABLES.len();
    prop_oneof![
        4 => (t.clone(), key(), key()).prop_map(|(t, k, v)| Kv::Put(t, k, v)),
        2 => (t.clone(), key()).prop_map(|(t, k)| Kv::Delete(t, k)),
        2 => (t.clone(), key()).prop_map(|(t, k)| Kv::Get(t, k)),
        2 => (t.clone(), key(), key(), any::<bool>()).prop_map(|(t, a, b, r)| Kv::Range(t, a, b, r)),
        2 => (t.clone(), key(), any::<bool>()).prop_map(|(t, p, r)| Kv::Prefix(t, p, r)),
        1 => (0u8..3).prop_map(Kv::NextId),
        1 => (t.clone(), key()).prop_map(|(t, k)| Kv::Failing(t, k)),
        1 => t.prop_map(Kv::Len),
    ]
}

fn order(reverse: bool) -> Order {
    if reverse {
        Order::Reverse
    } else {
        Order::Forward
    }
}

/// Applies one operation; the answer, as text, is what both backends must agree on.
fn apply_kv(store: &Store, op: &Kv) -> String {
    let op = op.clone();
    let answer = match op {
        Kv::Put(t, k, v) => store
            .write_blocking(move |txn| txn.put(TABLES[t], &k, &v))
            .map(|()| String::new()),
        Kv::Delete(t, k) => store
            .write_blocking(move |txn| txn.delete(TABLES[t], &k))
            .map(|b| b.to_string()),
        Kv::Failing(t, k) => store
            .write_blocking(move |txn| -> super::Result<()> {
                txn.put(TABLES[t], &k, b"failed")?;
                super::keys::next_id(txn, "c0")?;
                Err(StoreError::Refused("on purpose".into()))
            })
            .map(|()| String::new()),
        Kv::NextId(c) => store
            .write_blocking(move |txn| super::keys::next_id(txn, &format!("c{c}")))
            .map(|id| id.to_string()),
        Kv::Get(t, k) => store.read(|txn| Ok(format!("{:?}", txn.get(TABLES[t], &k)?))),
        Kv::Len(t) => store.read(|txn| Ok(txn.len(TABLES[t])?.to_string())),
        Kv::Range(t, a, b, r) => store.read(|txn| {
            let range = (
                std::ops::Bound::Included(a.as_slice()),
                std::ops::Bound::Excluded(b.as_slice()),
            );
            let mut out = Vec::new();
            for e in txn.range(TABLES[t], range, order(r))? {
                let (k, v) = e?;
                out.push((k.to_vec(), v.to_vec()));
            }
            Ok(format!("{out:?}"))
        }),
        Kv::Prefix(t, p, r) => store.read(|txn| {
            let mut out = Vec::new();
            for e in txn.prefix(TABLES[t], &p, order(r))? {
                out.push(e?.0.to_vec());
            }
            Ok(format!("{out:?}"))
        }),
    };
    format!("{answer:?}")
}

#[derive(Debug, Clone)]
enum Domain {
    Hold {
        sender: u8,
        rcpts: u8,
        at: u64,
    },
    Release(u64),
    Delete(u64),
    Incident {
        policy: u64,
        at: u64,
        recon: bool,
    },
    Note(u64),
    Queue(u64),
    Lease(u64, u64),
    Complete(u64),
    Search {
        status: Option<u8>,
        sender: Option<u8>,
    },
    Expired(u64),
}

fn domain_op() -> impl Strategy<Value = Domain> {
    prop_oneof![
        4 => (0u8..3, 1u8..8, 0u64..50).prop_map(|(sender, rcpts, at)| Domain::Hold { sender, rcpts, at }),
        2 => (1u64..10).prop_map(Domain::Release),
        2 => (1u64..10).prop_map(Domain::Delete),
        3 => (0u64..3, 0u64..50, any::<bool>()).prop_map(|(policy, at, recon)| Domain::Incident { policy, at, recon }),
        2 => (1u64..8).prop_map(Domain::Note),
        1 => (0u64..50).prop_map(Domain::Queue),
        1 => (1u64..5, 0u64..60).prop_map(|(id, now)| Domain::Lease(id, now)),
        1 => (1u64..5).prop_map(Domain::Complete),
        2 => (prop::option::of(0u8..3), prop::option::of(0u8..3)).prop_map(|(status, sender)| Domain::Search { status, sender }),
        1 => (0u64..300).prop_map(Domain::Expired),
    ]
}

const SENDERS: [&str; 3] = ["a@one.example", "b@one.example", "c@two.example"];
const RCPTS: [&str; 3] = ["x@dest.example", "y@dest.example", "z@else.example"];
const STATUSES: [HeldStatus; 3] = [HeldStatus::Held, HeldStatus::Released, HeldStatus::Deleted];

/// Ends a held message's life with `to` (what remediation does to the record), refusing when it
/// is no longer open.
fn close(store: &Store, id: u64, to: HeldStatus) -> super::Result<()> {
    store.write_blocking(move |txn| {
        let old = held::must_get(txn, crate::store::records::HeldId(id))?;
        if !old.status.is_open() {
            return Err(StoreError::Refused(format!(
                "already {}",
                old.status.name()
            )));
        }
        let mut new = old.clone();
        new.status = to;
        held::update(txn, &old, &new)?;
        held::drop_content(txn, &new)
    })
}

fn apply_domain(store: &Store, op: &Domain) -> String {
    let caps = held::Caps {
        max_bytes: 1000,
        max_messages: 6,
    };
    let answer = match op.clone() {
        Domain::Hold { sender, rcpts, at } => {
            let to: Vec<&str> = (0..3)
                .filter(|i| rcpts & (1 << i) != 0)
                .map(|i| RCPTS[i])
                .collect();
            let h = tests::held(SENDERS[sender as usize], &to, at);
            let body = vec![b'm'; 100 + at as usize];
            store
                .write_blocking(move |txn| held::insert(txn, h, &body, caps))
                .map(|r| format!("{r:?}"))
        }
        Domain::Release(id) => close(store, id, HeldStatus::Released).map(|()| String::new()),
        Domain::Delete(id) => close(store, id, HeldStatus::Deleted).map(|()| String::new()),
        Domain::Incident { policy, at, recon } => {
            let key = recon.then(|| incidents::reconcile_key("<m@x>", "a@one.example", policy));
            let i = tests::incident(policy, &["x@dest.example"], at);
            store
                .write_blocking(move |txn| incidents::record(txn, i, key.flatten(), 20))
                .map(|r| format!("{r:?}"))
        }
        Domain::Note(id) => store
            .write_blocking(move |txn| {
                let e = HistoryEntry {
                    at: 1,
                    actor: "admin".into(),
                    action: "note".into(),
                    result: format!("note on {id}"),
                };
                incidents::set_status(txn, crate::store::records::IncidentId(id), None, &e)?;
                incidents::history(txn, crate::store::records::IncidentId(id))
            })
            .map(|h| format!("{h:?}")),
        Domain::Queue(at) => store
            .write_blocking(move |txn| queue::insert(txn, tests::queued(at), b"q"))
            .map(|id| id.to_string()),
        Domain::Lease(id, now) => store
            .write_blocking(move |txn| {
                queue::lease(txn, crate::store::records::QueueId(id), now, now + 30)
            })
            .map(|r| format!("{r:?}")),
        Domain::Complete(id) => store
            .write_blocking(move |txn| queue::complete(txn, crate::store::records::QueueId(id)))
            .map(|()| String::new()),
        Domain::Search { status, sender } => {
            let f = Filter {
                status: status.map(|s| STATUSES[s as usize].name().to_string()),
                sender: sender.map(|s| SENDERS[s as usize].to_string()),
                ..Filter::default()
            };
            store.read(|txn| {
                let page = Page {
                    limit: 3,
                    before: None,
                };
                let h = held::search(txn, &f, page)?;
                let i = incidents::search(txn, &f, page)?;
                Ok(format!("{h:?} {i:?} {:?}", held::totals(txn)?))
            })
        }
        Domain::Expired(now) => store.read(|txn| {
            Ok(format!(
                "{:?} {:?} {:?}",
                held::expired(txn, now, 5)?,
                queue::due(txn, now, 5)?,
                queue::next_due(txn)?
            ))
        }),
    };
    format!("{answer:?}")
}

/// Runs `ops` on a fresh store of each backend, comparing every answer and the tables at the end.
fn agree<Op: std::fmt::Debug>(ops: &[Op], apply: impl Fn(&Store, &Op) -> String) {
    let dir = tempfile::tempdir().unwrap();
    let lmdb = Store::open(dir.path(), &crate::testing::options()).unwrap();
    let memory = Store::memory().unwrap();
    for (n, op) in ops.iter().enumerate() {
        let (a, b) = (apply(&lmdb, op), apply(&memory, op));
        assert_eq!(a, b, "operation {n} {op:?}: LMDB and memory disagree");
    }
    let (a, b) = (dump(&lmdb), dump(&memory));
    let first = a.iter().zip(&b).position(|(x, y)| x != y);
    assert!(
        a == b,
        "the tables differ at the end ({} and {} entries; first difference at {first:?}: {:?} / {:?})",
        a.len(),
        b.len(),
        first.map(|i| &a[i]),
        first.map(|i| &b[i]),
    );
    lmdb.close();
}

proptest! {
    // Each LMDB write is a synced commit: few cases, many operations each.
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn key_value_operations_agree(ops in prop::collection::vec(kv_op(), 1..60)) {
        agree(&ops, apply_kv);
    }

    #[test]
    fn domain_operations_agree(ops in prop::collection::vec(domain_op(), 1..40)) {
        agree(&ops, apply_domain);
    }
}
