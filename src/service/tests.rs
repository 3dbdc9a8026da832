//! The service over a real store in a temporary directory: queries checked, listings paged, views,
//! changes under an actor's name, errors by kind.

use std::sync::Arc;

use super::*;
use crate::store::records::*;
use crate::store::{held, incidents};

const NOW: u64 = 1_700_000_000;
const MESSAGE: &[u8] = b"From: <alice@corp.example>\r\nSubject: Q3 numbers\r\n\r\nfigures\r\n";

fn service(dir: &Path) -> Service {
    let mut config = Config::embedded().expect("embedded defaults");
    config.server.data_dir = dir.to_path_buf();
    Service::open(Arc::new(config), Mode::Restore, Clock::fixed(NOW)).expect("open")
}

/// Held message `n` (the store tests' record, with its own subject), from alice to bob.
fn held_record(n: u64) -> Held {
    let mut h = crate::store::tests::held(
        "alice@corp.example",
        &["bob@partner.example"],
        NOW - 100 + n,
    );
    h.subject = format!("Q3 numbers {n}");
    h
}

/// The incident of held message `held` (the store tests' record, linked to it).
fn incident_record(held: HeldId) -> Incident {
    let mut i = crate::store::tests::incident(100, &["bob@partner.example"], NOW - 100);
    i.held = Some(held);
    i
}

/// A held message with one incident; returns (held id, incident id).
fn hold(s: &Service, n: u64) -> (HeldId, IncidentId) {
    let record = held_record(n);
    s.store
        .write_blocking(move |txn| {
            let (id, _) = held::insert(txn, record, MESSAGE, crate::testing::caps())?;
            let inc = incidents::record(txn, incident_record(id), None, 0)?.id();
            let old = held::must_get(txn, id)?;
            let mut new = old.clone();
            new.incidents = vec![inc];
            held::update(txn, &old, &new)?;
            Ok((id, inc))
        })
        .expect("hold")
}

#[test]
fn query_values_are_checked_and_converted() {
    let q = Query {
        status: Some("held".into()),
        recipient: Some(" @partner.example ".into()),
        severity: Some(" high".into()),
        since: Some(5),
        ..Query::default()
    };
    let f = q.filter(Target::Held).unwrap();
    assert_eq!(f.status.as_deref(), Some("held"));
    assert_eq!(f.recipient.as_deref(), Some("@partner.example"));
    assert_eq!(f.severity.as_deref(), Some("high"));
    assert_eq!(f.since, Some(5));
    // `held` is a message status, not an incident status; the error names the field first.
    let e = q.filter(Target::Incident).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid);
    assert!(
        e.message().starts_with("status \"held\": use one of new,"),
        "{e}"
    );
    let bad = Query {
        direction: Some("sideways".into()),
        ..Query::default()
    };
    assert!(
        bad.filter(Target::Held)
            .unwrap_err()
            .message()
            .starts_with("direction ")
    );
}

#[test]
fn actors_and_tags_are_checked() {
    assert_eq!(Actor::new(" alice ").unwrap().as_str(), "alice");
    assert!(Actor::new("").is_err());
    assert!(Actor::new("a\x1bb").is_err());
    assert!(Actor::new(&"x".repeat(MAX_ACTOR + 1)).is_err());
    assert_eq!(
        Tag::new(" X-CFilter ", " Encrypt").unwrap(),
        Tag {
            name: "X-CFilter".into(),
            value: "Encrypt".into()
        }
    );
    let e = Tag::new("X-CFilter", "a\r\nBcc: b").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid);
    assert!(Tag::new("X-Sluice-Release", "x").is_err());
}

#[test]
fn store_errors_keep_their_wording_and_get_a_kind() {
    let cases = [
        (
            StoreError::NotFound("held message 7".into()),
            ErrorKind::NotFound,
        ),
        (
            StoreError::Refused("already released".into()),
            ErrorKind::Conflict,
        ),
        (StoreError::Full("disk full".into()), ErrorKind::Unavailable),
        (StoreError::Backup("bad".into()), ErrorKind::Invalid),
    ];
    for (store, kind) in cases {
        let text = store.to_string();
        let e = Error::from(store);
        assert_eq!((e.kind(), e.to_string()), (kind, text));
    }
    let json = serde_json::to_value(Error::Conflict("already released".into())).unwrap();
    assert_eq!(
        json,
        serde_json::json!({ "kind": "conflict", "message": "already released" })
    );
}

#[test]
fn a_missing_store_is_not_found_and_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::embedded().unwrap();
    config.server.data_dir = dir.path().join("nowhere");
    let e = Service::open(Arc::new(config), Mode::Existing, Clock::fixed(NOW))
        .err()
        .expect("no store");
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.message().starts_with("no store at "), "{e}");
    assert!(!dir.path().join("nowhere").join(STORE_DIR).exists());
}

#[test]
fn listings_page_up_to_the_limit_and_say_when_more_may_match() {
    let dir = tempfile::tempdir().unwrap();
    let s = service(dir.path());
    for n in 0..3 {
        hold(&s, n);
    }
    let all = s.list_held(&Query::default()).unwrap();
    assert_eq!((all.items.len(), all.more, all.corrupt), (3, false, 0));
    // Newest first.
    assert_eq!(all.items[0].subject, "Q3 numbers 2");
    let two = s
        .list_held(&Query {
            limit: Some(2),
            ..Query::default()
        })
        .unwrap();
    assert_eq!((two.items.len(), two.more), (2, true));
    assert_eq!(s.list_incidents(&Query::default()).unwrap().items.len(), 3);
    s.close();
}

#[test]
fn changes_are_recorded_under_the_actor_and_refusals_are_conflicts() {
    let dir = tempfile::tempdir().unwrap();
    let s = service(dir.path());
    let (a, inc) = hold(&s, 0);
    let (b, _) = hold(&s, 1);
    let alice = Actor::new("alice").unwrap();
    let op = Op::Release {
        tag: Some(Tag::new("X-CFilter", "Encrypt").unwrap()),
    };
    let done = smol::block_on(s.act_one(Target::Held, a.0, op.clone(), &alice)).unwrap();
    assert!(
        done.starts_with("queued for delivery to 1 recipient(s)"),
        "{done}"
    );
    let again = smol::block_on(s.act_one(Target::Held, a.0, op, &alice)).unwrap_err();
    assert_eq!(again, Error::Conflict("already released".into()));
    let view = s.show_held(a, true).unwrap();
    assert_eq!(view.held.status, HeldStatus::Released);
    assert!(!view.content_held && view.content.is_none());
    // After the entry the hold wrote: the release and the refusal, both under alice's name.
    let history = &view.incidents[0].history[1..];
    assert_eq!(history.len(), 2, "{history:?}");
    assert!(history.iter().all(|h| h.actor == "alice"), "{history:?}");
    assert!(history[0].result.contains("with X-CFilter: Encrypt"));
    assert_eq!(history[1].result, "refused: already released");
    assert_eq!(s.show_incident(inc).unwrap().held.map(|h| h.id), Some(a));
    // A bulk selection of held messages without a status takes those still held.
    assert_eq!(
        s.matching(Target::Held, &Query::default()).unwrap(),
        vec![b.0]
    );
    let shown = s.show_held(b, true).unwrap();
    assert_eq!(shown.content.as_deref(), Some(MESSAGE));
    let missing = s.show_held(HeldId(999), false).unwrap_err();
    assert_eq!(
        missing,
        Error::NotFound("held message 999 not found".into())
    );
    let stats = s.stats().unwrap();
    assert_eq!(stats.held_messages, 1);
    let released = stats.counters.iter().find(|c| c.name == "released");
    assert_eq!(released.map(|c| c.total), Some(1));
    let summary = s.summary(Target::Held, b.0).unwrap().unwrap();
    assert_eq!(summary.subject, "Q3 numbers 1");
    assert_eq!(s.summary(Target::Incident, 999).unwrap(), None);
    s.close();
}

#[test]
fn bad_forward_addresses_are_invalid_before_anything_changes() {
    let dir = tempfile::tempdir().unwrap();
    let s = service(dir.path());
    let (a, _) = hold(&s, 0);
    let alice = Actor::new("alice").unwrap();
    let op = Op::Forward {
        to: vec!["not an address".into()],
    };
    let e = smol::block_on(s.act(Target::Held, &[a.0], op, &alice)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid);
    // Only the hold's own entry: nothing was tried.
    let history = &s.show_held(a, false).unwrap().incidents[0].history;
    assert_eq!(history.len(), 1, "{history:?}");
    s.close();
}

#[test]
fn pages_walk_by_cursor_one_bounded_search_each() {
    let dir = tempfile::tempdir().unwrap();
    let s = service(dir.path());
    for n in 0..5 {
        hold(&s, n);
    }
    let two = Query {
        limit: Some(2),
        ..Query::default()
    };
    let first = s.page_held(&two, None).unwrap();
    let subjects = |p: &Paged<Held>| {
        p.items
            .iter()
            .map(|h| h.subject.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(subjects(&first), ["Q3 numbers 4", "Q3 numbers 3"]);
    let next = first.next.expect("more");
    // The cursor reads back from its text, as links and the API carry it.
    assert_eq!(Cursor::parse(&next.to_string()), Some(next));
    assert_eq!(serde_json::to_value(next).unwrap(), next.to_string());
    assert_eq!(Cursor::parse("12"), None);
    let second = s.page_held(&two, Some(next)).unwrap();
    assert_eq!(subjects(&second), ["Q3 numbers 2", "Q3 numbers 1"]);
    let last = s.page_held(&two, second.next).unwrap();
    assert_eq!(
        (subjects(&last), last.next),
        (vec!["Q3 numbers 0".to_string()], None)
    );
    let incidents = s.page_incidents(&Query::default(), None).unwrap();
    assert_eq!((incidents.items.len(), incidents.next), (5, None));
    s.close();
}
