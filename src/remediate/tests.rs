//! Remediation on both store backends (an LMDB file in a temporary directory, and in memory): every action's effect on the held record, its
//! incidents and their history, the queue, events and statistics, and every refusal.

use std::path::Path;

use super::*;
use crate::store::records::*;
use crate::store::search::Filter;
use crate::store::stats as st;

const NOW: u64 = 1_700_000_000;
const MESSAGE: &[u8] = b"From: <alice@corp.example>\r\nSubject: Q3 numbers\r\nMessage-ID: <m1@x>\r\n\r\nproject falcon figures\r\n";

fn open(dir: &Path) -> Store {
    Store::open(dir, &crate::testing::options()).expect("open store")
}

use crate::testing::on_both_backends;

on_both_backends!(
    release_queues_tagged_marked_content_and_closes_message_and_incidents,
    a_second_release_is_refused_and_recorded,
    delete_drops_content_and_a_later_release_is_refused,
    a_missing_message_is_not_found_and_its_incident_says_so,
    forward_queues_a_marked_copy_and_the_message_stays_held,
    a_tag_that_would_inject_headers_is_refused,
    an_earlier_release_mark_in_the_content_is_replaced,
    rescan_records_the_current_verdict_and_changes_nothing,
    bulk_release_reports_mixed_outcomes_and_goes_on_after_failures,
    matching_walks_every_page,
    incidents_without_a_message_only_change_status,
    incident_bulk_acts_once_per_message,
    missing_content_is_recorded_as_could_not_be_remediated,
    the_recogniser_accepts_a_released_copy_and_nothing_else,
    release_carries_each_recipients_notify_to_the_queue,
    a_forward_from_the_cli_gives_up_after_the_configured_time,
);

fn held_record(rcpts: &[(&str, HeldStatus)]) -> Held {
    Held {
        id: HeldId(0),
        guid: "3984736A-2964-437D-A0EC-67E62D4C187F".into(),
        received: NOW - 100,
        direction: crate::policy::Direction::Outbound,
        peer: "192.0.2.7".into(),
        sender: "alice@corp.example".into(),
        envid: Some("ENV1".into()),
        ret_full: true,
        recipients: rcpts
            .iter()
            .map(|(a, s)| HeldRecipient {
                address: a.to_string(),
                notify: Default::default(),
                orcpt: Some(format!("rfc822;{a}")),
                status: *s,
            })
            .collect(),
        subject: "Q3 numbers".into(),
        message_id: "<m1@x>".into(),
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
        findings: vec!["policy 100 rule \"cards\": CREDIT_CARD x1 in body".into()],
        incidents: vec![],
        expires: NOW + 7 * 86_400,
    }
}

fn incident_record(policy: u64, held: Option<HeldId>, action: &str) -> Incident {
    Incident {
        id: IncidentId(0),
        guid: "3984736A-2964-437D-A0EC-67E62D4C187F".into(),
        created: NOW - 100,
        policy: PolicyRef {
            id: policy,
            name: format!("P{policy}"),
            severity: crate::policy::Severity::High,
            monitor: false,
        },
        status: IncidentStatus::New,
        direction: crate::policy::Direction::Outbound,
        peer: "192.0.2.7".into(),
        sender: "alice@corp.example".into(),
        recipients: vec!["bob@partner.example".into()],
        subject: "Q3 numbers".into(),
        message_id: "<m1@x>".into(),
        size: 10,
        findings: vec![],
        action: action.into(),
        held,
        copies: 1,
    }
}

/// A held message with `n` incidents (policies 100, 101, ...); returns (held id, incident ids).
fn hold(store: &Store, rcpts: &[(&str, HeldStatus)], n: u64) -> (HeldId, Vec<IncidentId>) {
    let record = held_record(rcpts);
    store
        .write_blocking(move |txn| {
            let (id, _) = held::insert(txn, record, MESSAGE, crate::testing::caps())?;
            let mut ids = Vec::new();
            for p in 0..n {
                let inc = incident_record(100 + p, Some(id), "quarantined");
                ids.push(incidents::record(txn, inc, None, 0)?.id());
            }
            let old = held::must_get(txn, id)?;
            let mut new = old.clone();
            new.incidents = ids.clone();
            held::update(txn, &old, &new)?;
            Ok((id, ids))
        })
        .expect("hold")
}

fn one(store: &Store, rcpt: &str) -> (HeldId, Vec<IncidentId>) {
    hold(store, &[(rcpt, HeldStatus::Held)], 1)
}

fn get_held(store: &Store, id: HeldId) -> Held {
    store.read(|t| held::must_get(t, id)).unwrap()
}

fn history(store: &Store, id: IncidentId) -> Vec<HistoryEntry> {
    store.read(|t| incidents::history(t, id)).unwrap()
}

fn last_result(store: &Store, incident: IncidentId) -> String {
    history(store, incident).last().unwrap().result.clone()
}

fn status(store: &Store, incident: IncidentId) -> IncidentStatus {
    store
        .read(|t| incidents::must_get(t, incident))
        .unwrap()
        .status
}

fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    smol::block_on(f)
}

fn release_queues_tagged_marked_content_and_closes_message_and_incidents(store: Store) {
    let (id, incs) = hold(
        &store,
        &[
            ("bob@partner.example", HeldStatus::Held),
            ("carol@partner.example", HeldStatus::Deleted),
            ("dave@partner.example", HeldStatus::Held),
        ],
        2,
    );
    let options = Release {
        tag: Some(("X-CFilter".into(), "Encrypt".into())),
        give_up: 3600,
    };
    let r = block(release(&store, id, "admin1", NOW, options)).expect("released");
    assert_eq!(r.recipients, 2);

    let (q, content, key) = store
        .write_blocking(move |t| {
            Ok((
                queue::get(t, r.queue)?.unwrap(),
                queue::content(t, r.queue)?.unwrap(),
                schema::secret(t, MARK_SECRET)?,
            ))
        })
        .unwrap();
    assert_eq!(q.kind, QueueKind::Release { held: id });
    assert_eq!(q.sender, "alice@corp.example");
    assert_eq!((q.envid.as_deref(), q.ret_full), (Some("ENV1"), true));
    assert_eq!(q.peer, "192.0.2.7");
    assert_eq!((q.next_attempt, q.give_up_at), (NOW, NOW + 3600));
    let rcpts: Vec<(&str, Option<&str>)> = q
        .recipients
        .iter()
        .map(|r| (r.address.as_str(), r.orcpt.as_deref()))
        .collect();
    assert_eq!(
        rcpts,
        [
            ("bob@partner.example", Some("rfc822;bob@partner.example")),
            ("dave@partner.example", Some("rfc822;dave@partner.example"))
        ]
    );
    assert!(q.recipients.iter().all(|r| r.state == RcptState::Pending));

    let text = String::from_utf8(content.clone()).unwrap();
    assert!(
        text.starts_with("X-CFilter: Encrypt\r\nX-Sluice-Release: "),
        "{text}"
    );
    assert!(text.ends_with(std::str::from_utf8(MESSAGE).unwrap()));
    let value = crate::message::header::first(&content, mark::HEADER).unwrap();
    let guid = get_held(&store, id).guid;
    assert_eq!(
        mark::verify(&key, &value, |_| Some(guid.clone())),
        Some(id.0)
    );
    assert_eq!(block(mark_key(&store)).unwrap(), key, "the key is kept");

    let h = get_held(&store, id);
    assert_eq!(h.status, HeldStatus::Released);
    let per: Vec<HeldStatus> = h.recipients.iter().map(|r| r.status).collect();
    assert_eq!(
        per,
        [
            HeldStatus::Released,
            HeldStatus::Deleted,
            HeldStatus::Released
        ]
    );
    assert_eq!(store.read(|t| held::content(t, id)).unwrap(), None);
    assert_eq!(store.read(held::totals).unwrap(), (0, 0));
    for i in incs {
        assert_eq!(status(&store, i), IncidentStatus::Released);
        assert_eq!(
            last_result(&store, i),
            format!(
                "released by admin1 with X-CFilter: Encrypt: queued for delivery (queue {})",
                r.queue
            )
        );
    }
    let events = store.read(|t| events::since(t, 0, 100)).unwrap();
    let released = events
        .iter()
        .find(|e| e.kind.name() == "quarantine.released")
        .expect("a quarantine.released event");
    // The held message's own facts and the operator, besides the ids.
    use crate::events::Field as F;
    assert_eq!(released.get(F::UserName), Some("admin1"));
    assert_eq!(released.get(F::HeldId), Some(id.to_string().as_str()));
    assert_eq!(released.get(F::EmailFromAddress), Some(h.sender.as_str()));
    assert_eq!(released.get(F::EmailLocalId), Some(h.guid.as_str()));
    assert_eq!(released.get(F::EmailSubject), Some(h.subject.as_str()));
    assert_eq!(
        released.all(F::EmailToAddress).collect::<Vec<_>>(),
        h.recipients
            .iter()
            .map(|r| r.address.as_str())
            .collect::<Vec<_>>()
    );
    assert_eq!(store.read(|t| st::sum(t, "released", NOW, NOW)).unwrap(), 1);
}

fn a_second_release_is_refused_and_recorded(store: Store) {
    let (id, incs) = one(&store, "bob@partner.example");
    block(release(
        &store,
        id,
        "admin1",
        NOW,
        crate::testing::release(),
    ))
    .unwrap();
    let err = block(release(
        &store,
        id,
        "admin2",
        NOW + 5,
        crate::testing::release(),
    ))
    .unwrap_err();
    assert_eq!(err, StoreError::Refused("already released".into()));
    let last = history(&store, incs[0]).pop().unwrap();
    assert_eq!(
        (
            last.actor.as_str(),
            last.action.as_str(),
            last.result.as_str()
        ),
        ("admin2", "release", "refused: already released")
    );
    // Still released, and only one queue entry.
    assert_eq!(status(&store, incs[0]), IncidentStatus::Released);
    assert_eq!(store.read(queue::len).unwrap(), 1);
}

fn delete_drops_content_and_a_later_release_is_refused(store: Store) {
    let (id, incs) = one(&store, "bob@partner.example");
    block(delete(&store, id, "admin1", NOW)).unwrap();
    let h = get_held(&store, id);
    assert_eq!(h.status, HeldStatus::Deleted);
    assert_eq!(h.recipients[0].status, HeldStatus::Deleted);
    assert_eq!(store.read(|t| held::content(t, id)).unwrap(), None);
    assert_eq!(status(&store, incs[0]), IncidentStatus::Deleted);
    assert_eq!(last_result(&store, incs[0]), "deleted by admin1");

    let err = block(release(
        &store,
        id,
        "admin1",
        NOW,
        crate::testing::release(),
    ))
    .unwrap_err();
    assert_eq!(err, StoreError::Refused("already deleted".into()));
    assert_eq!(last_result(&store, incs[0]), "refused: already deleted");
    assert_eq!(status(&store, incs[0]), IncidentStatus::Deleted);
    let err = block(delete(&store, id, "admin1", NOW)).unwrap_err();
    assert_eq!(err, StoreError::Refused("already deleted".into()));
    assert_eq!(store.read(queue::len).unwrap(), 0);
}

fn a_missing_message_is_not_found_and_its_incident_says_so(store: Store) {
    let err = block(release(
        &store,
        HeldId(99),
        "admin1",
        NOW,
        crate::testing::release(),
    ))
    .unwrap_err();
    assert_eq!(err, StoreError::NotFound("held message 99".into()));
    // An incident pointing at a message the store no longer has.
    let inc = store
        .write_blocking(|t| {
            incidents::record(
                t,
                incident_record(100, Some(HeldId(42)), "quarantined"),
                None,
                0,
            )
        })
        .unwrap()
        .id();
    let err = block(incident_action(&store, inc, &Action::Delete, "admin1", NOW)).unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");
    assert_eq!(last_result(&store, inc), "message cannot be found");
    let err = block(incident_action(
        &store,
        IncidentId(77),
        &Action::Resolve,
        "a",
        NOW,
    ))
    .unwrap_err();
    assert_eq!(err, StoreError::NotFound("incident 77".into()));
}

fn forward_queues_a_marked_copy_and_the_message_stays_held(store: Store) {
    let (id, incs) = one(&store, "bob@partner.example");
    let to = vec!["review@corp.example".to_string()];
    let qid = block(forward(&store, id, to, "admin1", NOW, 600)).unwrap();
    let (q, content) = store
        .read(|t| Ok((queue::get(t, qid)?.unwrap(), queue::content(t, qid)?)))
        .unwrap();
    assert_eq!(
        q.sender, "",
        "null sender: no bounce reaches the original sender"
    );
    assert_eq!(q.recipients.len(), 1);
    assert_eq!(q.recipients[0].address, "review@corp.example");
    assert!(content.unwrap().starts_with(b"X-Sluice-Release: "));
    let h = get_held(&store, id);
    assert_eq!(h.status, HeldStatus::Held);
    assert!(store.read(|t| held::content(t, id)).unwrap().is_some());
    assert_eq!(status(&store, incs[0]), IncidentStatus::New);
    assert!(
        last_result(&store, incs[0]).starts_with("forwarded by admin1 to review@corp.example"),
        "{}",
        last_result(&store, incs[0])
    );
    // Bad addresses are refused before anything is written.
    for bad in [
        vec![],
        vec!["no-at-sign".to_string()],
        vec!["a@b>\r\nX".into()],
    ] {
        let err = block(forward(&store, id, bad, "admin1", NOW, 600)).unwrap_err();
        assert!(matches!(err, StoreError::Refused(_)), "{err}");
    }
    assert_eq!(store.read(queue::len).unwrap(), 1);
}

fn a_tag_that_would_inject_headers_is_refused(store: Store) {
    let (id, _) = one(&store, "bob@partner.example");
    for (n, v) in [
        ("X-CFilter", "Encrypt\r\nBcc: evil@x"),
        ("X CFilter", "Encrypt"),
        ("X-CFilter:", "Encrypt"),
        ("", "Encrypt"),
        ("x-sluice-release", "1; 00"),
    ] {
        let options = Release {
            tag: Some((n.into(), v.into())),
            give_up: 60,
        };
        let err = block(release(&store, id, "a", NOW, options)).unwrap_err();
        assert!(matches!(err, StoreError::Refused(_)), "{n:?}: {err}");
    }
    assert_eq!(get_held(&store, id).status, HeldStatus::Held);
}

fn an_earlier_release_mark_in_the_content_is_replaced(store: Store) {
    let record = held_record(&[("bob@partner.example", HeldStatus::Held)]);
    let id = store
        .write_blocking(move |t| {
            let content = b"X-Sluice-Release: 1; forged\r\nSubject: s\r\n\r\nbody\r\n";
            Ok(held::insert(t, record, content, crate::testing::caps())?.0)
        })
        .unwrap();
    let r = block(release(&store, id, "a", NOW, crate::testing::release())).unwrap();
    let content = store.read(|t| queue::content(t, r.queue)).unwrap().unwrap();
    assert_eq!(crate::message::header::count(&content, mark::HEADER), 1);
    assert!(!String::from_utf8_lossy(&content).contains("forged"));
}

const POLICIES: &str = r#"
[[policy]]
id = 7
name = "Falcon"
action = "log"
[[policy.rule]]
conditions = [{ keywords = ["project falcon"] }]
"#;

fn rescan_records_the_current_verdict_and_changes_nothing(store: Store) {
    let (id, incs) = one(&store, "bob@partner.example");
    let config = crate::config::Config::parse(POLICIES, "t.toml").unwrap();
    let scanner = Scanner::new(&config).unwrap();
    let before = get_held(&store, id);
    let r = block(rescan(&store, id, &scanner, "admin1", NOW)).unwrap();
    assert_eq!(r.violated, vec![(7, "Falcon".to_string())]);
    assert_eq!(last_result(&store, incs[0]), "still violates 7 (Falcon)");
    assert_eq!(get_held(&store, id), before);
    assert_eq!(status(&store, incs[0]), IncidentStatus::New);

    let clean =
        crate::config::Config::parse(&POLICIES.replace("falcon", "osprey"), "t.toml").unwrap();
    let scanner = Scanner::new(&clean).unwrap();
    let r = block(rescan(&store, id, &scanner, "admin1", NOW)).unwrap();
    assert!(r.violated.is_empty());
    assert_eq!(last_result(&store, incs[0]), "no policy violated now");

    block(delete(&store, id, "admin1", NOW)).unwrap();
    let err = block(rescan(&store, id, &scanner, "admin1", NOW)).unwrap_err();
    assert_eq!(err, StoreError::Refused("already deleted".into()));
    assert_eq!(last_result(&store, incs[0]), "refused: already deleted");
}

#[test]
fn rescan_wording_lists_every_policy() {
    assert_eq!(
        rescan::summary(&[(100, "PCI".into()), (120, String::new())]),
        "still violates 100 (PCI), 120"
    );
}

fn bulk_release_reports_mixed_outcomes_and_goes_on_after_failures(store: Store) {
    let (a, _) = one(&store, "bob@partner.example");
    let (b, _) = one(&store, "bob@partner.example");
    let (c, _) = one(&store, "carol@partner.example");
    block(release(&store, b, "a", NOW, crate::testing::release())).unwrap();
    let mut seen = Vec::new();
    let action = Action::Release(crate::testing::release());
    let out = block(apply(
        &store,
        Target::Held,
        &[a.0, b.0, 999, c.0],
        &action,
        "admin1",
        NOW,
        |p| seen.push((p.done, p.total, p.item.id)),
    ));
    assert_eq!(
        seen,
        vec![(1, 4, a.0), (2, 4, b.0), (3, 4, 999), (4, 4, c.0)]
    );
    assert_eq!(
        out.totals.summary("released"),
        "released 2, refused 1 (already released), not found 1, failed 0"
    );
    assert!(matches!(out.items[1].outcome, Outcome::Refused(_)));
    assert!(matches!(out.items[2].outcome, Outcome::NotFound(_)));
    assert_eq!(get_held(&store, c).status, HeldStatus::Released);

    // By filter: every page is walked (more matches than one page would hold is covered by the
    // store's paging; here the filter selects by recipient and status).
    let (d, _) = one(&store, "bob@partner.example");
    let filter = Filter {
        recipient: Some("bob@partner.example".into()),
        ..Filter::default()
    };
    assert_eq!(
        matching(&store, Target::Held, &filter, None).unwrap(),
        vec![d.0, b.0, a.0]
    );
    assert_eq!(
        matching(&store, Target::Held, &filter, Some(2)).unwrap(),
        vec![d.0, b.0]
    );
    let filter = Filter {
        status: Some("held".into()),
        ..filter
    };
    let out = block(bulk(
        &store,
        Target::Held,
        &filter,
        None,
        &Action::Delete,
        "admin1",
        NOW,
        |_| {},
    ))
    .unwrap();
    assert_eq!(out.items.len(), 1);
    assert_eq!(
        out.totals.summary("deleted"),
        "deleted 1, refused 0, not found 0, failed 0"
    );
    assert_eq!(get_held(&store, d).status, HeldStatus::Deleted);
}

fn matching_walks_every_page(store: Store) {
    let n = crate::store::search::MAX_PAGE + 5;
    store
        .write_blocking(move |t| {
            for _ in 0..n {
                let r = held_record(&[("x@y.example", HeldStatus::Held)]);
                held::insert(t, r, b"s", crate::testing::caps())?;
            }
            Ok(())
        })
        .unwrap();
    let ids = matching(&store, Target::Held, &Filter::default(), None).unwrap();
    assert_eq!(ids.len(), n);
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), n);
}

fn incidents_without_a_message_only_change_status(store: Store) {
    let inc = store
        .write_blocking(|t| incidents::record(t, incident_record(5, None, "relayed"), None, 0))
        .unwrap()
        .id();
    let err = block(incident_action(
        &store,
        inc,
        &Action::Release(crate::testing::release()),
        "admin1",
        NOW,
    ))
    .unwrap_err();
    assert!(matches!(err, StoreError::Refused(_)), "{err}");
    assert_eq!(
        last_result(&store, inc),
        "refused: no held message (the message was relayed)"
    );
    let note = Action::Note("checked with the sender".into());
    block(incident_action(&store, inc, &note, "admin1", NOW)).unwrap();
    assert_eq!(last_result(&store, inc), "checked with the sender");
    assert_eq!(status(&store, inc), IncidentStatus::New);
    block(incident_action(
        &store,
        inc,
        &Action::Dismiss,
        "admin1",
        NOW,
    ))
    .unwrap();
    assert_eq!(status(&store, inc), IncidentStatus::Resolved);
    assert_eq!(
        last_result(&store, inc),
        "dismissed by admin1 (no violation)"
    );
    let empty = Action::Note("  ".into());
    assert!(block(incident_action(&store, inc, &empty, "admin1", NOW)).is_err());
}

fn incident_bulk_acts_once_per_message(store: Store) {
    let (id, incs) = hold(&store, &[("bob@partner.example", HeldStatus::Held)], 2);
    let action = Action::Release(crate::testing::release());
    let out = block(apply(
        &store,
        Target::Incident,
        &incs.iter().map(|i| i.0).collect::<Vec<u64>>(),
        &action,
        "a",
        NOW,
        |_| {},
    ));
    assert_eq!(out.totals.done, 2, "{:?}", out.items);
    assert_eq!(out.totals.refused, 0);
    assert!(matches!(&out.items[1].outcome, Outcome::Done(s) if s.contains("same message")));
    assert_eq!(store.read(queue::len).unwrap(), 1);
    assert_eq!(get_held(&store, id).status, HeldStatus::Released);
    // Each incident's history names the release once.
    for i in incs {
        let released = history(&store, i)
            .iter()
            .filter(|e| e.result.starts_with("released by"))
            .count();
        assert_eq!(released, 1);
    }
}

fn missing_content_is_recorded_as_could_not_be_remediated(store: Store) {
    let (id, incs) = one(&store, "bob@partner.example");
    // The content gone while the record still says held (a damaged store).
    store
        .write_blocking(move |t| {
            let h = held::must_get(t, id)?;
            held::drop_content(t, &h)
        })
        .unwrap();
    let err = block(release(
        &store,
        id,
        "admin1",
        NOW,
        crate::testing::release(),
    ))
    .unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    let results: Vec<String> = history(&store, incs[0])
        .into_iter()
        .map(|e| e.result)
        .collect();
    assert_eq!(
        results.last().map(String::as_str),
        Some("could not be remediated: the stored content is missing")
    );
    assert_eq!(
        results
            .iter()
            .filter(|r| r.starts_with("could not"))
            .count(),
        1
    );
    assert_eq!(
        status(&store, incs[0]),
        IncidentStatus::RemediationAttempted
    );
    assert_eq!(get_held(&store, id).status, HeldStatus::Held);
    assert_eq!(store.read(queue::len).unwrap(), 0);
    let out = block(apply(
        &store,
        Target::Held,
        &[id.0],
        &Action::Delete,
        "a",
        NOW,
        |_| {},
    ));
    assert_eq!(out.totals.failed, 1);
}

fn the_recogniser_accepts_a_released_copy_and_nothing_else(store: Store) {
    let (id, _) = one(&store, "bob@partner.example");
    let r = block(release(&store, id, "a", NOW, crate::testing::release())).unwrap();
    let released = store.read(|t| queue::content(t, r.queue)).unwrap().unwrap();
    let key = block(mark_key(&store)).unwrap();
    let recognise = recogniser(store.clone(), key);
    assert!(recognise(&released));
    assert!(!recognise(MESSAGE));
    let forged = [
        b"X-Sluice-Release: 1; ".as_slice(),
        &[b'0'; 64],
        b"\r\n",
        MESSAGE,
    ]
    .concat();
    assert!(!recognise(&forged));
    // A valid mark under another store's key is foreign.
    let other = recogniser(store.clone(), [9; 32]);
    assert!(!other(&released));
}

fn release_carries_each_recipients_notify_to_the_queue(store: Store) {
    let (id, _) = one(&store, "bob@partner.example");
    let never = crate::message::Notify {
        never: true,
        ..crate::message::Notify::default()
    };
    store
        .write_blocking(move |txn| {
            let old = held::must_get(txn, id)?;
            let mut new = old.clone();
            new.recipients[0].notify = never;
            held::update(txn, &old, &new)
        })
        .unwrap();
    let r = block(release(&store, id, "admin", NOW, crate::testing::release())).expect("released");
    let q = store.read(|t| queue::get(t, r.queue)).unwrap().unwrap();
    assert_eq!(q.recipients[0].notify, never);
}

fn a_forward_from_the_cli_gives_up_after_the_configured_time(store: Store) {
    let (id, _) = one(&store, "bob@partner.example");
    let action = Action::Forward {
        to: vec!["review@corp.example".to_string()],
        give_up: 7200,
    };
    let said = block(held_action(&store, id, &action, "admin1", NOW)).unwrap();
    let qid: u64 = said
        .rsplit_once("(queue ")
        .and_then(|(_, q)| q.strip_suffix(')'))
        .and_then(|q| q.parse().ok())
        .unwrap_or_else(|| panic!("{said}"));
    let q = store
        .read(|t| queue::get(t, QueueId(qid)))
        .unwrap()
        .unwrap();
    assert_eq!(q.give_up_at, NOW + 7200);
}
