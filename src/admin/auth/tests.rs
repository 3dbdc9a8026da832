//! Sign-in through the service on the in-memory store: failures counted and recorded, the alert
//! from the third, the lock-out, success, sign-out and refusals.

use std::sync::Arc;

use super::*;
use crate::clock::Clock;
use crate::config::Config;
use crate::events::{Field, Kind};
use crate::store::Store;

const NOW: u64 = 1_700_000_000;
const PW: &str = "correct horse battery";

fn setup() -> (Service, Auth) {
    let config = Config::embedded().expect("embedded defaults");
    let auth = Auth::new(&config.admin.auth, Setup::none());
    let s = Service::new(
        Store::memory().unwrap(),
        Arc::new(config),
        Clock::fixed(NOW),
    );
    s.add_user("Alice", Role::PolicyAuthor, PW, &Caller::cli("root"))
        .unwrap();
    (s, auth)
}

fn events(s: &Service) -> Vec<crate::events::Event> {
    s.events(0, 1000)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind != Kind::AdminChange)
        .collect()
}

#[test]
fn wrong_passwords_are_throttled_with_an_alert_from_the_third() {
    let (s, auth) = setup();
    let ip: IpAddr = "192.0.2.4".parse().unwrap();
    for i in 0..4 {
        let r = sign_in(&s, &auth.throttle, "alice", "wrong password!", ip, NOW + i);
        assert_eq!(r, Err(Refusal::Wrong), "{i}");
    }
    let kinds: Vec<Kind> = events(&s).iter().map(|e| e.kind).collect();
    use Kind::{AdminLogonFailed as F, AdminLogonThrottled as T};
    assert_eq!(kinds, [F, F, F, T, F, T]);
    let alert = &events(&s)[3];
    assert_eq!(alert.get(Field::Count), Some("3"));
    assert_eq!(alert.get(Field::UserName), Some("Alice"));
    assert_eq!(alert.get(Field::SourceIp), Some("192.0.2.4"));
    // The fifth locks the account out (default logon_max_failures = 5, logon_lockout = 15m).
    let fifth = sign_in(&s, &auth.throttle, "alice", "wrong password!", ip, NOW + 4);
    assert_eq!(
        fifth,
        Err(Refusal::Locked {
            until: NOW + 4 + 900
        })
    );
    // While locked, even the right password from another client is refused, unchecked, unrecorded.
    let before = events(&s).len();
    let other: IpAddr = "198.51.100.1".parse().unwrap();
    let locked = sign_in(&s, &auth.throttle, "ALICE", PW, other, NOW + 10);
    assert_eq!(locked, Err(Refusal::Locked { until: NOW + 904 }));
    assert_eq!(events(&s).len(), before);
    // After it, the right password works and is recorded under the account's own name.
    let ok = sign_in(&s, &auth.throttle, "ALICE", PW, other, NOW + 904);
    assert_eq!(ok, Ok(("Alice".to_string(), Role::PolicyAuthor)));
    let last = events(&s).pop().unwrap();
    assert_eq!(last.kind, Kind::AdminLogonSucceeded);
    assert_eq!(last.get(Field::UserName), Some("Alice"));
    let everything = serde_json::to_string(&s.events(0, 1000).unwrap()).unwrap();
    assert!(!everything.contains("wrong password!") && !everything.contains(PW));
}

#[test]
fn an_unknown_name_is_not_recorded_as_typed() {
    let (s, auth) = setup();
    let ip: IpAddr = "192.0.2.4".parse().unwrap();
    let typed = "correct-horse-battery-staple";
    let r = sign_in(&s, &auth.throttle, typed, "whatever12345", ip, NOW);
    assert_eq!(r, Err(Refusal::Wrong));
    let e = events(&s).pop().unwrap();
    assert_eq!(e.kind, Kind::AdminLogonFailed);
    assert_eq!(e.get(Field::UserName), Some(UNKNOWN_USER));
    let (log, _) = s.audit_page(&Default::default(), None, 10).unwrap();
    assert!(!serde_json::to_string(&log).unwrap().contains(typed));
}

#[test]
fn sign_out_and_refusals_are_recorded() {
    let (s, _) = setup();
    let ip: IpAddr = "2001:db8::7".parse().unwrap();
    logged_off(&s, "Alice", ip, NOW);
    denied(&s, "Alice", ip, "POST /settings", NOW);
    let evs = events(&s);
    assert_eq!(evs[0].kind, Kind::AdminLogoff);
    assert_eq!(evs[1].kind, Kind::AdminAccessDenied);
    assert_eq!(evs[1].get(Field::AdminObject), Some("POST /settings"));
    assert_eq!(evs[1].get(Field::SourceIp), Some("2001:db8::7"));
    let (log, _) = s.audit_page(&Default::default(), None, 10).unwrap();
    assert_eq!(log[0].outcome, "denied");
}
