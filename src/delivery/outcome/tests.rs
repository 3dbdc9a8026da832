//! Tests of attempt planning: per-recipient outcomes, retry, give-up, the one delay notice.

use super::*;
use crate::store::records::QueuedRecipient;

fn schedule() -> Schedule {
    Schedule {
        retry: vec![60, 300],
        give_up: 10_000,
        delay_notice: 0,
    }
}

fn entry(rcpts: &[&str]) -> Queued {
    Queued {
        id: crate::store::records::QueueId(42),
        kind: QueueKind::Release {
            held: crate::store::records::HeldId(3),
        },
        created: 1_000,
        sender: "alice@corp.example".into(),
        envid: None,
        ret_full: false,
        recipients: rcpts
            .iter()
            .map(|a| QueuedRecipient {
                address: a.to_string(),
                notify: Default::default(),
                orcpt: None,
                state: RcptState::Pending,
                last_reply: None,
            })
            .collect(),
        peer: String::new(),
        attempts: 0,
        next_attempt: 1_000,
        give_up_at: 0,
        delay_notice_sent: false,
        held: false,
    }
}

fn attempted(results: Vec<(usize, RcptResult)>) -> Attempted {
    Attempted {
        results,
        remote: Some("127.0.0.1:25".into()),
        tls: Default::default(),
        hops: Vec::new(),
    }
}

#[test]
fn delivered_and_refused_recipients_finish_the_entry() {
    let a = attempted(vec![
        (0, RcptResult::Delivered("250 2.0.0 Ok: queued as 1".into())),
        (1, RcptResult::Failed("550 5.1.1 No such user".into())),
    ]);
    let p = plan(entry(&["b@x.org", "c@x.org"]), &a, 1_100, &schedule(), true);
    assert!(p.done);
    assert_eq!(p.bounced, vec![1]);
    assert!(!p.delay_notice);
    assert_eq!(p.entry.attempts, 1);
    assert_eq!(
        p.entry.recipients[0].state,
        RcptState::Delivered {
            at: 1_100,
            reply: "250 2.0.0 Ok: queued as 1".into()
        }
    );
    assert_eq!(
        p.history,
        vec![
            (
                "delivered",
                "delivered to b@x.org: 250 2.0.0 Ok: queued as 1".to_string()
            ),
            (
                "bounced",
                "bounced (c@x.org): 550 5.1.1 No such user".to_string()
            ),
        ]
    );
    let kinds: Vec<&str> = p.events.iter().map(|e| e.0.name()).collect();
    assert_eq!(kinds, ["queue.delivered", "queue.bounced"]);
    assert_eq!(p.stats, vec![("delivered", 1), ("bounced", 1)]);
}

#[test]
fn a_temporary_failure_schedules_a_retry_and_one_delay_notice() {
    let a = attempted(vec![(
        0,
        RcptResult::Deferred("451 4.3.0 Try later".into()),
    )]);
    let p = plan(entry(&["b@x.org"]), &a, 1_100, &schedule(), true);
    assert!(!p.done);
    assert!(p.delay_notice, "delay_notice = 0s: at the first failure");
    assert!(p.entry.delay_notice_sent);
    assert_eq!(p.entry.next_attempt, 1_160);
    assert_eq!(p.entry.give_up_at, 11_000);
    assert_eq!(
        p.entry.recipients[0].last_reply.as_deref(),
        Some("451 4.3.0 Try later")
    );
    assert_eq!(
        p.history,
        vec![(
            "deferred",
            "delivery failed, will retry (b@x.org): 451 4.3.0 Try later".to_string()
        )]
    );
    assert_eq!(p.stats, vec![("deferred", 1)]);
    // The second failure: the next interval, and no second notice.
    let p2 = plan(p.entry, &a, 1_200, &schedule(), true);
    assert!(!p2.delay_notice);
    assert_eq!(p2.entry.next_attempt, 1_500);
    let p3 = plan(p2.entry, &a, 1_600, &schedule(), true);
    assert_eq!(p3.entry.next_attempt, 1_900, "the last interval repeats");
}

#[test]
fn no_delay_notice_when_reports_are_not_allowed() {
    let a = attempted(vec![(0, RcptResult::Deferred("421 busy".into()))]);
    let mut e = entry(&["b@x.org"]);
    e.sender.clear();
    let p = plan(e, &a, 1_100, &schedule(), false);
    assert!(!p.delay_notice);
    assert!(!p.entry.delay_notice_sent);
    assert!(!p.reports);
}

#[test]
fn gives_up_at_the_limit_and_bounces_pending_recipients_with_their_last_reply() {
    let a = attempted(vec![
        (0, RcptResult::Deferred("451 4.4.1 no answer".into())),
        (1, RcptResult::Delivered("250 ok".into())),
    ]);
    let mut e = entry(&["b@x.org", "c@x.org"]);
    e.attempts = 6;
    let p = plan(e, &a, 11_000, &schedule(), true);
    assert!(p.done);
    assert_eq!(p.bounced, vec![0]);
    assert_eq!(
        p.entry.recipients[0].state,
        RcptState::Failed {
            at: 11_000,
            reply: "451 4.4.1 no answer".into()
        }
    );
    assert!(p.history.iter().any(|(a, r)| *a == "bounced"
        && r == "bounced (b@x.org): gave up after 7 attempts: 451 4.4.1 no answer"));
    assert_eq!(p.stats, vec![("delivered", 1), ("bounced", 1)]);
}

#[test]
fn the_retry_before_the_limit_is_at_the_limit() {
    let a = attempted(vec![(0, RcptResult::Deferred("451 later".into()))]);
    let mut e = entry(&["b@x.org"]);
    e.give_up_at = 1_130;
    let p = plan(e, &a, 1_100, &schedule(), true);
    assert_eq!(p.entry.next_attempt, 1_130);
}

#[test]
fn recipients_already_finished_are_left_alone_and_missing_results_defer() {
    let mut e = entry(&["b@x.org", "c@x.org"]);
    e.recipients[0].state = RcptState::Delivered {
        at: 5,
        reply: "250 ok".into(),
    };
    let p = plan(
        e,
        &attempted(vec![(0, RcptResult::Failed("550 no".into()))]),
        1_100,
        &schedule(),
        true,
    );
    assert!(matches!(
        p.entry.recipients[0].state,
        RcptState::Delivered { at: 5, .. }
    ));
    assert_eq!(p.entry.recipients[1].state, RcptState::Pending);
    assert_eq!(
        p.entry.recipients[1].last_reply.as_deref(),
        Some("not attempted")
    );
    assert!(p.bounced.is_empty());
}

#[test]
fn reply_texts_are_one_bounded_line() {
    let long = format!("451 {}\r\nX-Injected: yes", "a".repeat(2000));
    let c = clip(&long);
    assert!(!c.contains('\n') && !c.contains('\r'));
    assert_eq!(c.chars().count(), MAX_REPLY_TEXT);
}

#[test]
fn a_recipients_own_4xx_says_nothing_about_the_next_hop() {
    let sign = |results: Vec<(usize, RcptResult)>| attempted(results).hop_sign();
    assert_eq!(
        sign(vec![
            (0, RcptResult::Delivered("250 ok".into())),
            (1, RcptResult::Deferred("451 4.2.0 busy".into())),
        ]),
        HopSign::Accepted
    );
    assert_eq!(
        sign(vec![(0, RcptResult::Deferred("451 4.2.0 busy".into()))]),
        HopSign::Answered
    );
    assert_eq!(
        sign(vec![(0, RcptResult::Failed("550 5.1.1 no".into()))]),
        HopSign::Answered
    );
    assert_eq!(
        sign(vec![(
            0,
            RcptResult::Deferred("no connection: refused".into())
        )]),
        HopSign::Unreachable
    );
    assert_eq!(
        sign(vec![
            (0, RcptResult::Failed("550 5.1.1 no".into())),
            (
                1,
                RcptResult::Deferred("connection to the next hop failed: lost".into())
            ),
        ]),
        HopSign::Unreachable
    );
}

#[test]
fn each_recipients_event_names_its_own_next_hop_and_how_it_was_protected() {
    let mut a = attempted(vec![
        (0, RcptResult::Delivered("250 ok".into())),
        (1, RcptResult::Deferred("451 4.3.0 later".into())),
        (2, RcptResult::Deferred("no connection: refused".into())),
    ]);
    a.hops = vec![
        Hop {
            recipients: vec![0],
            remote: Some("10.0.0.5:25".into()),
            tls: crate::tls::Protection::Verified {
                version: "TLSv1.3".into(),
            },
        },
        Hop {
            recipients: vec![1],
            remote: Some("10.0.0.6:25".into()),
            tls: crate::tls::Protection::Unverified {
                version: "TLSv1.2".into(),
            },
        },
        Hop {
            recipients: vec![2],
            remote: None,
            tls: crate::tls::Protection::None,
        },
    ];
    let p = plan(
        entry(&["b@x.org", "c@y.org", "d@z.org"]),
        &a,
        1_100,
        &schedule(),
        true,
    );
    let events: Vec<Vec<(Field, String)>> =
        p.events.iter().map(|(_, f)| f.clone().into_vec()).collect();
    let get =
        |f: &[(Field, String)], k: Field| f.iter().find(|(x, _)| *x == k).map(|(_, v)| v.clone());
    let of = |rcpt: &str| {
        let f = events
            .iter()
            .find(|f| get(f, Field::EmailToAddress).as_deref() == Some(rcpt))
            .unwrap();
        [
            Field::DestinationAddress,
            Field::TlsProtection,
            Field::TlsVersion,
        ]
        .map(|k| get(f, k))
    };
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        of("b@x.org"),
        [s("10.0.0.5:25"), s("verified"), s("TLSv1.3")]
    );
    assert_eq!(
        of("c@y.org"),
        [s("10.0.0.6:25"), s("unverified"), s("TLSv1.2")]
    );
    assert_eq!(of("d@z.org"), [None, None, None], "no connection, no hop");
}

#[test]
fn a_gateway_recipient_delivered_is_timed_from_the_250() {
    let mut e = entry(&["a@x.example", "b@y.example", "c@z.example"]);
    e.kind = QueueKind::Gateway {
        guid: "g".into(),
        direction: crate::policy::Direction::Inbound,
        listener: "mx".into(),
        received: Some(900),
    };
    let a = attempted(vec![
        (0, RcptResult::Delivered("250 ok".into())),
        (1, RcptResult::Deferred("451 later".into())),
        (2, RcptResult::Delivered("250 ok".into())),
    ]);
    let p = plan(e.clone(), &a, 1_030, &schedule(), true);
    assert_eq!(p.delivered_after, vec![130, 130]);
    // Not known (a report Sluice built, an entry queued before the time was kept): not timed.
    e.kind = QueueKind::Gateway {
        guid: "g".into(),
        direction: crate::policy::Direction::Inbound,
        listener: "mx".into(),
        received: None,
    };
    assert!(
        plan(e, &a, 1_030, &schedule(), true)
            .delivered_after
            .is_empty()
    );
    // A released message is not a gateway message.
    let p = plan(entry(&["a@x.example"]), &a, 1_030, &schedule(), true);
    assert!(p.delivered_after.is_empty());
}
