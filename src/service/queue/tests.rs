//! The queue service over an in-memory store: ids, stages and filters of the listing, the entry
//! view (headers only), and each action on both tables with its audit entry and event.

use std::sync::Arc;

use super::*;
use crate::service::Caller;
use crate::store::Store;
use crate::store::intake::Params;
use crate::store::records::QueuedRecipient;

const NOW: u64 = 10_000;

fn service() -> Service {
    let store = Store::memory().unwrap();
    let config = Arc::new(crate::config::Config::embedded().unwrap());
    Service::new(store, config, crate::clock::Clock::fixed(NOW))
}

fn custody(at: u64, sender: &str) -> Custody {
    let mut c = crate::store::intake::tests::custody(at, sender.as_bytes());
    c.tls = true;
    c.sender = sender.into();
    c.params = Params::default();
    c.recipients[0].orcpt = None;
    c.size = 40;
    c
}

const BODY: &[u8] = b"Subject: hello\r\nFrom: a@example.net\r\n\r\nsecret body";

fn take(s: &Service, c: Custody) -> IntakeId {
    smol::block_on(intake::take(
        &s.store,
        c,
        Arc::new(BODY.to_vec()),
        false,
        60,
    ))
    .unwrap()
    .id()
}

fn entry(at: u64, attempts: u32) -> Queued {
    let mut r = QueuedRecipient::new("c@corp.example");
    r.last_reply = (attempts > 0).then(|| "451 try later".to_string());
    Queued {
        id: QueueId(0),
        kind: QueueKind::Gateway {
            guid: format!("Q-{at}"),
            direction: Direction::Outbound,
            listener: "submission".into(),
            received: Some(at),
        },
        created: at,
        sender: "x@corp.example".into(),
        envid: None,
        ret_full: false,
        recipients: vec![r],
        peer: String::new(),
        attempts,
        next_attempt: NOW + 600,
        give_up_at: at + 86_400,
        delay_notice_sent: false,
        held: false,
    }
}

fn insert(s: &Service, e: Queued) -> QueueId {
    s.store
        .write_blocking(move |t| queue::insert(t, e, BODY))
        .unwrap()
}

fn ids(s: &Service, f: &QueueFilter) -> Vec<String> {
    let l = s.queue_list(f).unwrap();
    l.rows.iter().map(|r| r.id.to_string()).collect()
}

fn stage(st: QueueStage) -> QueueFilter {
    QueueFilter {
        stage: Some(st),
        ..QueueFilter::default()
    }
}

#[test]
fn ids_read_and_print_as_i_and_q() {
    assert_eq!(
        "i42".parse::<QueueRef>().unwrap(),
        QueueRef::Custody(IntakeId(42))
    );
    assert_eq!(
        "Q17".parse::<QueueRef>().unwrap(),
        QueueRef::Delivery(QueueId(17))
    );
    assert_eq!(QueueRef::Delivery(QueueId(17)).to_string(), "q17");
    for bad in [
        "",
        "42",
        "x1",
        "i",
        "q-1",
        "q1a",
        "i 4",
        "q99999999999999999999",
    ] {
        let e = bad.parse::<QueueRef>().unwrap_err();
        assert!(
            matches!(&e, Error::Invalid(m) if m.contains("i<n>")),
            "{bad}: {e}"
        );
    }
    let json = serde_json::to_string(&QueueRef::Custody(IntakeId(3))).unwrap();
    assert_eq!(json, "\"i3\"");
    assert_eq!(
        serde_json::from_str::<QueueRef>(&json).unwrap(),
        QueueRef::Custody(IntakeId(3))
    );
    assert_eq!("Hold".parse::<QueueStage>().unwrap(), QueueStage::Hold);
    let e = "active".parse::<QueueStage>().unwrap_err();
    assert_eq!(
        e.to_string(),
        "stage \"active\": use one of inspect, deliver, deferred, hold"
    );
    let a: QueueAction = serde_json::from_str(r#"{"action":"release","unscanned":true}"#).unwrap();
    assert_eq!(a, QueueAction::Release { unscanned: true });
}

#[test]
fn the_listing_covers_both_tables_by_stage_and_filter() {
    let s = service();
    let waiting = take(&s, custody(100, "a@example.net"));
    let suspect = take(&s, custody(200, "b@other.example"));
    s.store
        .write_blocking(move |t| intake::hold(t, suspect, "x").map(drop))
        .unwrap();
    let fresh = insert(&s, entry(150, 0));
    let deferred = insert(&s, entry(250, 2));
    let held = insert(&s, entry(300, 1));
    s.store
        .write_blocking(move |t| queue::hold(t, held).map(drop))
        .unwrap();
    let all = ids(&s, &QueueFilter::default());
    assert_eq!(all, ["i1", "q1", "i2", "q2", "q3"]);
    assert_eq!(
        ids(&s, &stage(QueueStage::Inspect)),
        [format!("i{waiting}")]
    );
    assert_eq!(ids(&s, &stage(QueueStage::Deliver)), [format!("q{fresh}")]);
    assert_eq!(
        ids(&s, &stage(QueueStage::Deferred)),
        [format!("q{deferred}")]
    );
    assert_eq!(ids(&s, &stage(QueueStage::Hold)), ["i2", "q3"]);
    let f = |f: QueueFilter| ids(&s, &f);
    assert_eq!(
        f(QueueFilter {
            sender: Some("@OTHER.example".into()),
            ..Default::default()
        }),
        ["i2"]
    );
    assert_eq!(
        f(QueueFilter {
            recipient: Some("c@corp.example".into()),
            ..Default::default()
        }),
        ["q1", "q2", "q3"]
    );
    assert_eq!(
        f(QueueFilter {
            listener: Some("mx".into()),
            direction: Some(Direction::Inbound),
            ..Default::default()
        }),
        ["i1", "i2"]
    );
    assert_eq!(
        f(QueueFilter {
            older_than: Some(NOW - 150),
            ..Default::default()
        }),
        ["i1", "q1"]
    );
    let page = s
        .queue_list(&QueueFilter {
            limit: 2,
            ..Default::default()
        })
        .unwrap();
    assert!(page.more);
    assert_eq!(page.rows.len(), 2);
    let row = &s.queue_list(&stage(QueueStage::Deferred)).unwrap().rows[0];
    assert_eq!(row.last_error.as_deref(), Some("451 try later"));
    assert_eq!(row.size, BODY.len() as u64);
    assert_eq!(row.kind, "gateway");
    assert_eq!(
        s.queue_select(&stage(QueueStage::Hold)).unwrap(),
        [QueueRef::Custody(suspect), QueueRef::Delivery(held)]
    );
}

#[test]
fn show_gives_the_envelope_and_the_header_section_only() {
    let s = service();
    let i = take(&s, custody(100, "a@example.net"));
    let v = s.queue_show(QueueRef::Custody(i)).unwrap();
    assert_eq!(v.row.stage, QueueStage::Inspect);
    assert_eq!(
        (v.helo.as_deref(), v.tls),
        (Some("client.example"), Some(true))
    );
    assert_eq!(
        v.headers,
        [
            ("Subject".to_string(), "hello".to_string()),
            ("From".to_string(), "a@example.net".to_string())
        ]
    );
    let json = serde_json::to_string(&v).unwrap();
    assert!(!json.contains("secret body"));
    let q = insert(&s, entry(100, 1));
    let v = s.queue_show(QueueRef::Delivery(q)).unwrap();
    assert_eq!(v.recipients[0].state, "pending");
    assert_eq!(v.recipients[0].reply.as_deref(), Some("451 try later"));
    assert_eq!(v.headers.len(), 2);
    let e = s.queue_show(QueueRef::Delivery(QueueId(99))).unwrap_err();
    assert_eq!(e.to_string(), "queue entry q99 not found");
}

fn act(s: &Service, a: QueueAction, id: QueueRef) -> QueueOutcome {
    let c = Caller::cli("ops");
    s.queue_act(&a, &[id], &c).unwrap().remove(0)
}

fn stage_of(s: &Service, id: QueueRef) -> Option<QueueStage> {
    s.queue_show(id).ok().map(|v| v.row.stage)
}

#[test]
fn actions_on_custody_move_it_between_inspection_hold_and_delivery() {
    let s = service();
    let i = QueueRef::Custody(take(&s, custody(100, "a@example.net")));
    let out = act(&s, QueueAction::Release { unscanned: false }, i);
    assert_eq!((out.done, out.detail.as_str()), (false, "not on hold"));
    assert!(act(&s, QueueAction::Hold, i).done);
    assert_eq!(stage_of(&s, i), Some(QueueStage::Hold));
    assert!(!act(&s, QueueAction::Retry, i).done);
    assert!(act(&s, QueueAction::Release { unscanned: false }, i).done);
    assert_eq!(stage_of(&s, i), Some(QueueStage::Inspect));
    assert!(act(&s, QueueAction::Retry, i).done);
    act(&s, QueueAction::Hold, i);
    let out = act(&s, QueueAction::Release { unscanned: true }, i);
    assert!(
        out.done && out.detail.starts_with("deliver as q1"),
        "{out:?}"
    );
    assert_eq!(stage_of(&s, i), None);
    let q = QueueRef::Delivery(QueueId(1));
    assert_eq!(stage_of(&s, q), Some(QueueStage::Deliver));
    let sent = s
        .store
        .read(|t| queue::content(t, QueueId(1)))
        .unwrap()
        .unwrap();
    assert!(sent.starts_with(b"Received: from client.example by sluice\r\nSubject: hello"));
    let gone = act(&s, QueueAction::Delete, i);
    assert_eq!((gone.done, gone.detail.as_str()), (false, "not found"));
    // Audited, refusals too; one event per action done, with the operator.
    let page = s
        .audit_page(&crate::store::audit::Filter::default(), None, 20)
        .unwrap();
    let actions: Vec<(&str, &str)> = page
        .0
        .iter()
        .map(|e| (e.action.as_str(), e.outcome.as_str()))
        .collect();
    assert_eq!(actions[0], ("queue.delete", "failed: not found"));
    assert_eq!(
        actions.last(),
        Some(&("queue.release", "failed: not on hold"))
    );
    let events = s
        .store
        .read(|t| crate::store::events::since(t, 0, 20))
        .unwrap();
    // (The audit entries write their own `admin.change` events.)
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e.kind.name())
        .filter(|k| k.starts_with("queue."))
        .collect();
    assert_eq!(
        kinds,
        [
            "queue.on_hold",
            "queue.released",
            "queue.retried",
            "queue.on_hold",
            "queue.released"
        ]
    );
    let text = serde_json::to_string(&events).unwrap();
    assert!(text.contains("\"ops\"") && !text.contains("secret body"));
}

#[test]
fn actions_on_delivery_entries_hold_release_retry_delete_and_forward() {
    let s = service();
    let q = insert(&s, entry(100, 2));
    let id = QueueRef::Delivery(q);
    let due = |s: &Service| s.store.read(|t| queue::due(t, NOW, 10)).unwrap();
    assert!(due(&s).is_empty());
    assert!(act(&s, QueueAction::Retry, id).done);
    assert_eq!(due(&s), [q]);
    assert!(act(&s, QueueAction::Hold, id).done);
    assert!(due(&s).is_empty());
    assert_eq!(
        act(&s, QueueAction::Retry, id).detail,
        "on hold: release it instead"
    );
    let out = act(&s, QueueAction::Release { unscanned: false }, id);
    assert_eq!(out.detail, "deferred, due now");
    assert_eq!(due(&s), [q]);
    let fwd = QueueAction::Forward {
        to: "review@corp.example".into(),
        subject: Some("Look at this".into()),
    };
    let out = act(&s, fwd, id);
    assert!(out.done, "{out:?}");
    assert_eq!(
        stage_of(&s, id),
        Some(QueueStage::Deferred),
        "the original stays"
    );
    let copy = s
        .store
        .read(|t| queue::get(t, QueueId(2)))
        .unwrap()
        .unwrap();
    assert_eq!(copy.sender, "");
    assert_eq!(copy.recipients[0].address, "review@corp.example");
    assert!(
        matches!(copy.kind, QueueKind::Gateway { ref listener, .. } if listener == "submission")
    );
    let body = s
        .store
        .read(|t| queue::content(t, QueueId(2)))
        .unwrap()
        .unwrap();
    assert!(body.starts_with(b"Subject: Look at this\r\n"));
    assert!(act(&s, QueueAction::Delete, id).done);
    assert_eq!(stage_of(&s, id), None);
    assert_eq!(due(&s), [QueueId(2)]);
    let bad = QueueAction::Forward {
        to: "not an address".into(),
        subject: None,
    };
    let e = s.queue_act(&bad, &[id], &Caller::cli("ops")).unwrap_err();
    assert!(matches!(e, Error::Invalid(_)));
}
