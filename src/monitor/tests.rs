//! The monitor's decisions with the time passed in (transitions, thresholds, rate limits) and the
//! health `/readyz` reads.

use std::sync::Arc;
use std::time::Duration;

use super::assess::{self, Observation, Report, State};
use super::*;
use crate::events::{Field, Kind};
use crate::store::backlog::{Backlog, Load, Stage};

const T0: u64 = 1_700_000_000;
const HOUR: u64 = 3600;

fn settings() -> crate::config::monitor::Monitor {
    crate::config::Config::embedded().unwrap().monitor
}

fn kinds(r: &[Report]) -> Vec<Kind> {
    r.iter().map(|r| r.kind).collect()
}

fn hops(list: &[(&str, bool)]) -> Option<Vec<(String, Result<(), String>)>> {
    Some(
        list.iter()
            .map(|(a, up)| {
                let r = if *up {
                    Ok(())
                } else {
                    Err("connect: refused".to_string())
                };
                (a.to_string(), r)
            })
            .collect(),
    )
}

#[test]
fn the_embedded_defaults_are_the_documented_ones() {
    let m = settings();
    assert_eq!(m.interval, Duration::from_secs(30));
    assert_eq!(m.certificate_warning, Duration::from_secs(14 * 86_400));
    assert_eq!(m.alert_repeat, Duration::from_secs(HOUR));
    assert_eq!(m.certificate_repeat, Duration::from_secs(86_400));
    assert_eq!(m.disk_min_free_percent, 10);
}

#[test]
fn a_next_hop_going_down_and_up_is_reported_once_each_way() {
    let cfg = settings();
    let mut st = State::default();
    let a = "192.0.2.1:25";
    // Up from the start: nothing to say.
    assert!(assess::assess(&obs_hops(&[(a, true)]), &cfg, &mut st, T0).is_empty());
    let r = assess::assess(&obs_hops(&[(a, false)]), &cfg, &mut st, T0 + 30);
    assert_eq!(kinds(&r), vec![Kind::SystemNextHopDown]);
    assert_eq!(r[0].fields.0[0], (Field::DestinationAddress, a.to_string()));
    assert!(r[0].mail.is_some(), "the administrators are mailed");
    // Still down: not again, however long it lasts.
    for i in 2..200 {
        let r = assess::assess(&obs_hops(&[(a, false)]), &cfg, &mut st, T0 + 30 * i);
        assert!(r.is_empty(), "round {i}: {r:?}");
    }
    let r = assess::assess(&obs_hops(&[(a, true)]), &cfg, &mut st, T0 + 7000);
    assert_eq!(kinds(&r), vec![Kind::SystemNextHopUp]);
    assert!(r[0].mail.is_none());
    assert!(assess::assess(&obs_hops(&[(a, true)]), &cfg, &mut st, T0 + 7030).is_empty());
}

fn obs_hops(list: &[(&str, bool)]) -> Observation {
    Observation {
        hops: hops(list),
        ..Observation::default()
    }
}

#[test]
fn a_flapping_next_hop_is_reported_down_at_most_once_per_alert_repeat() {
    let cfg = settings();
    let mut st = State::default();
    let a = "192.0.2.1:25";
    let mut downs = 0;
    let mut ups = 0;
    // Down and up every 30 s for two hours and a bit.
    for i in 0..260u64 {
        let r = assess::assess(&obs_hops(&[(a, i % 2 == 1)]), &cfg, &mut st, T0 + 30 * i);
        downs += r
            .iter()
            .filter(|r| r.kind == Kind::SystemNextHopDown)
            .count();
        ups += r.iter().filter(|r| r.kind == Kind::SystemNextHopUp).count();
    }
    assert_eq!(downs, 3, "at T0, T0+1h, T0+2h");
    assert_eq!(ups, 3, "each reported down is reported up, nothing else");
    // Another address has its own limit.
    let r = assess::assess(
        &obs_hops(&[("192.0.2.2:25", false)]),
        &cfg,
        &mut st,
        T0 + 7800,
    );
    assert_eq!(kinds(&r), vec![Kind::SystemNextHopDown]);
}

#[test]
fn thresholds_raise_their_events_rate_limited_per_kind() {
    let cfg = settings();
    let mut st = State::default();
    let bad = Observation {
        store: Some((95, 100)),
        disk: Some((5, 100)),
        queue: Some(backlog(Stage::Deferred, 1001, 10, T0)),
        certificates: vec![("tls".into(), T0 + 86_400)],
        hops: None,
    };
    let r = assess::assess(&bad, &cfg, &mut st, T0);
    assert_eq!(
        kinds(&r),
        vec![
            Kind::SystemStoreFull,
            Kind::SystemDiskLow,
            Kind::SystemQueueGrowing,
            Kind::SystemCertificateExpiring
        ]
    );
    assert!(r[2].mail.is_none(), "a growing queue is an event only");
    // Within the hour: nothing; after it, the three hourly ones again; the certificate daily.
    assert!(assess::assess(&bad, &cfg, &mut st, T0 + HOUR - 1).is_empty());
    let r = assess::assess(&bad, &cfg, &mut st, T0 + HOUR);
    assert_eq!(
        kinds(&r),
        vec![
            Kind::SystemStoreFull,
            Kind::SystemDiskLow,
            Kind::SystemQueueGrowing
        ]
    );
    let r = assess::assess(&bad, &cfg, &mut st, T0 + 86_400);
    assert!(kinds(&r).contains(&Kind::SystemCertificateExpiring));
    // Healthy values raise nothing.
    let good = Observation {
        store: Some((50, 100)),
        disk: Some((50, 100)),
        queue: Some(backlog(Stage::Deliver, 3, 60, T0)),
        certificates: vec![("tls".into(), T0 + 400 * 86_400)],
        hops: None,
    };
    assert!(assess::assess(&good, &cfg, &mut State::default(), T0).is_empty());
}

/// A backlog with `n` messages at `stage`, the oldest `age` seconds old at `now`.
fn backlog(stage: Stage, n: u64, age: u64, now: u64) -> Backlog {
    let mut b = Backlog::default();
    b.set(
        stage,
        Load {
            messages: n,
            bytes: n * 1000,
            oldest: Some(now - age),
        },
    );
    b
}

#[test]
fn queue_thresholds_apply_per_stage_and_each_stage_has_its_own_limit() {
    let cfg = settings();
    let mut st = State::default();
    // 600 + 600 waiting in two stages: each under queue_max_messages (1000), so nothing.
    let mut b = backlog(Stage::Deliver, 600, 10, T0);
    b.set(
        Stage::Deferred,
        *backlog(Stage::Deferred, 600, 10, T0).get(Stage::Deferred),
    );
    let obs = Observation {
        queue: Some(b),
        ..Observation::default()
    };
    assert!(assess::assess(&obs, &cfg, &mut st, T0).is_empty());
    // Inspection stuck for over an hour: inspect grows; then deferred too, in the same hour.
    let obs = Observation {
        queue: Some(backlog(Stage::Inspect, 2, 3601, T0 + 30)),
        ..Observation::default()
    };
    let r = assess::assess(&obs, &cfg, &mut st, T0 + 30);
    assert_eq!(kinds(&r), vec![Kind::SystemQueueGrowing]);
    assert_eq!(r[0].fields.0[0], (Field::QueueStage, "inspect".to_string()));
    assert!(r[0].fields.0.contains(&(Field::Count, "2".to_string())));
    assert!(r[0].mail.is_none(), "a growing queue is an event only");
    let obs = Observation {
        queue: Some(backlog(Stage::Deferred, 1001, 10, T0 + 60)),
        ..Observation::default()
    };
    let r = assess::assess(&obs, &cfg, &mut st, T0 + 60);
    assert_eq!(kinds(&r), vec![Kind::SystemQueueGrowing]);
    assert_eq!(
        r[0].fields.0[0],
        (Field::QueueStage, "deferred".to_string())
    );
    // An old message on hold is not "growing": it waits for an administrator (its own alert).
    let obs = Observation {
        queue: Some(backlog(Stage::Hold, 5000, 10 * HOUR, T0 + 90)),
        ..Observation::default()
    };
    let r = assess::assess(&obs, &cfg, &mut st, T0 + 90);
    assert_eq!(kinds(&r), vec![Kind::SystemQueueHold]);
}

#[test]
fn messages_on_hold_raise_an_event_and_a_mail_once_per_alert_repeat() {
    let cfg = settings();
    let mut st = State::default();
    let empty = Observation {
        queue: Some(Backlog::default()),
        ..Observation::default()
    };
    assert!(assess::assess(&empty, &cfg, &mut st, T0).is_empty());
    let mut holds = 0;
    // One suspect message waiting for two hours and a bit, a round every 30 s.
    for i in 0..250u64 {
        let now = T0 + 30 * i;
        let obs = Observation {
            queue: Some(backlog(Stage::Hold, 1, 30 * i, now)),
            ..Observation::default()
        };
        for r in assess::assess(&obs, &cfg, &mut st, now) {
            assert_eq!(r.kind, Kind::SystemQueueHold);
            assert_eq!(
                r.fields.0,
                vec![
                    (Field::QueueStage, "hold".to_string()),
                    (Field::Count, "1".to_string())
                ]
            );
            let (subject, text) = r.mail.expect("the administrators are mailed");
            assert_eq!(subject, "Sluice messages on hold");
            assert!(text.contains("/queue?stage=hold"), "{text}");
            holds += 1;
        }
    }
    assert_eq!(holds, 3, "at T0, T0+1h, T0+2h");
    // Released: nothing more.
    assert!(assess::assess(&empty, &cfg, &mut st, T0 + 3 * HOUR).is_empty());
}

#[test]
fn threshold_edges() {
    let cfg = settings();
    assert!(assess::disk_low(9, 100, 10));
    assert!(!assess::disk_low(10, 100, 10));
    assert!(!assess::disk_low(0, 0, 10), "unknown size is not low");
    assert!(assess::store_full(90, 100, 90));
    assert!(!assess::store_full(89, 100, 90));
    assert!(!assess::store_full(1, 0, 90));
    assert_eq!(assess::queue_growing(1000, 3600, &cfg), None);
    assert_eq!(
        assess::queue_growing(1001, 0, &cfg).as_deref(),
        Some("queue_max_messages=1000")
    );
    assert_eq!(
        assess::queue_growing(1, 3601, &cfg).as_deref(),
        Some("queue_max_age=1h")
    );
    assert!(assess::expiring(T0 + 14 * 86_400, T0, 14 * 86_400));
    assert!(!assess::expiring(T0 + 14 * 86_400 + 1, T0, 14 * 86_400));
}

fn health(store: Option<Store>) -> (Arc<Shutdown>, Health) {
    let shutdown = Arc::new(Shutdown::new());
    let h = Health::new(
        shutdown.clone(),
        store,
        std::env::temp_dir(),
        Arc::new(Clock::fixed(T0)),
    );
    (shutdown, h)
}

#[test]
fn readiness_names_what_is_wrong() {
    let (_, h) = health(None);
    assert_eq!(h.readiness(), Err("store unavailable"));
    let (shutdown, h) = health(Some(Store::memory().unwrap()));
    assert_eq!(h.readiness(), Ok(()), "no probe yet: ready");
    h.seen().hops = vec![
        Hop {
            address: "a".into(),
            up: false,
            probed_at: T0,
        },
        Hop {
            address: "b".into(),
            up: true,
            probed_at: T0,
        },
    ];
    assert_eq!(h.readiness(), Ok(()), "one address answers");
    h.seen().hops[1].up = false;
    assert_eq!(h.readiness(), Err("next hop unreachable"));
    h.seen().hops.clear();
    h.seen().store_write = Some(Err("full".into()));
    assert_eq!(h.readiness(), Err("store not writable"));
    h.seen().store_write = Some(Ok(()));
    assert_eq!(h.readiness(), Ok(()));
    shutdown.drain();
    assert_eq!(h.readiness(), Err("draining"));
}

#[test]
fn metrics_read_the_queue_held_messages_and_outbox_lag_from_the_store() {
    use crate::store::events;
    let store = Store::memory().unwrap();
    store
        .write_blocking(|txn| {
            for _ in 0..5 {
                events::append(txn, T0, Kind::SystemStarted, Vec::new())?;
            }
            events::set_cursor(txn, "splunk", 2)?;
            Ok(())
        })
        .unwrap();
    let (_, h) = health(Some(store));
    let s = h.snapshot();
    assert_eq!(s.outbox_lag, vec![("splunk".to_string(), 3)]);
    assert_eq!(s.outbox_events, 5);
    assert_eq!((s.queue_messages(), s.held_messages), (0, 0));
    let stages: Vec<_> = s.queues.iter().map(|q| q.stage).collect();
    assert_eq!(stages, ["inspect", "deliver", "deferred", "hold"]);
    assert!(s.ready);
    assert!(s.disk_size > 0, "statvfs of the temp dir");
    let text = h.metrics();
    assert!(
        text.contains("sluice_outbox_lag_events{destination=\"splunk\"} 3\n"),
        "{text}"
    );
}
