//! Changing one's own password through the handler: the current password required and throttled
//! like a sign-in, the new one twice and held to the CLI's rules, the change audited without a
//! secret, the account's other sessions ended and the caller's renewed.

use std::sync::Arc;

use hyper::Method;

use super::*;
use crate::admin::auth::Setup;
use crate::admin::call::{Principal, Via};
use crate::admin::pages::fixture::{header, text as html};
use crate::events::Kind;
use crate::service::{AuditFilter, Role};

const NOW: u64 = 1_700_000_000;
const PW: &str = "alice's long password";
const NEW: &str = "a brand new passphrase";

fn fixture() -> (Service, Auth) {
    let config = crate::config::Config::embedded().unwrap();
    let s = Service::new(
        crate::store::Store::memory().unwrap(),
        Arc::new(config.clone()),
        crate::clock::Clock::fixed(NOW),
    );
    s.add_user("alice", Role::Auditor, PW, &Caller::cli("root"))
        .unwrap();
    (s, Auth::new(&config.admin.auth, Setup::none()))
}

fn post(current: &str, new: &str, again: &str, at: u64) -> Call {
    let mut c = Call::new(
        Method::POST,
        "/account/password",
        "192.0.2.9".parse().unwrap(),
        at,
    );
    let enc = crate::admin::form::encode;
    c.body = format!(
        "current={}&password={}&again={}",
        enc(current),
        enc(new),
        enc(again)
    )
    .into_bytes();
    c.principal = Some(Principal {
        user: "alice".into(),
        role: Role::Auditor,
        via: Via::Session {
            id: "sid".into(),
            csrf: "tok".into(),
        },
    });
    c
}

/// The password `alice` signs in with: `PW`, `NEW` or neither.
fn works(s: &Service, pw: &str) -> bool {
    s.authenticate("alice", pw, NOW).is_ok()
}

/// Every audit entry's text, with its fields.
fn audit_text(s: &Service) -> String {
    let (entries, _) = s.audit_page(&AuditFilter::default(), None, 100).unwrap();
    format!("{entries:?}")
}

#[test]
fn the_new_password_must_be_typed_twice_and_follow_the_rules() {
    let (s, auth) = fixture();
    let differ = change(&s, &auth, &post(PW, NEW, "a brand new passphrasE", NOW));
    assert_eq!(differ.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&differ).contains("The two new passwords differ."));
    let short = change(&s, &auth, &post(PW, "short", "short", NOW));
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&short).contains("a password has 12 to 128 characters"));
    let long = "x".repeat(129);
    let long = change(&s, &auth, &post(PW, &long, &long, NOW));
    assert_eq!(long.status, StatusCode::UNPROCESSABLE_ENTITY);
    let name = change(&s, &auth, &post(PW, "ALICE", "ALICE", NOW));
    assert_eq!(name.status, StatusCode::UNPROCESSABLE_ENTITY);
    for r in [&differ, &short, &name] {
        assert!(!html(r).contains(PW) && !html(r).contains("passphrase"));
    }
    assert!(works(&s, PW), "nothing changed");
}

#[test]
fn a_wrong_current_password_is_refused_counted_and_locks_out_like_a_sign_in() {
    let (s, auth) = fixture();
    for i in 0..4 {
        let r = change(&s, &auth, &post("not my password", NEW, NEW, NOW + i));
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(html(&r).contains("The current password is wrong."));
    }
    let locked = change(&s, &auth, &post("not my password", NEW, NEW, NOW + 5));
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&locked, "retry-after"), Some("900"));
    // Locked out: even the right password is not checked now, nor is a sign-in.
    let right = change(&s, &auth, &post(PW, NEW, NEW, NOW + 6));
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        auth.throttle
            .locked("alice", "192.0.2.9".parse().unwrap(), NOW + 7)
            .is_some()
    );
    assert!(works(&s, PW) && !works(&s, NEW));
    let kinds: Vec<Kind> = s.events(0, 100).unwrap().iter().map(|e| e.kind).collect();
    let count = |k| kinds.iter().filter(|x| **x == k).count();
    assert_eq!(count(Kind::AdminLogonFailed), 5);
    assert!(count(Kind::AdminLogonThrottled) >= 1);
    let audit = audit_text(&s);
    assert!(audit.contains("wrong current password"), "{audit}");
    assert!(!audit.contains("not my password") && !audit.contains(NEW));
}

#[test]
fn a_change_is_audited_ends_the_other_sessions_and_renews_this_one() {
    let (s, auth) = fixture();
    let stamp = super::super::login::stamp(&s, "alice");
    let (other, _) = auth
        .sessions
        .create("alice", Role::Auditor, &stamp, NOW)
        .unwrap();
    let (this, _) = auth
        .sessions
        .create("alice", Role::Auditor, &stamp, NOW)
        .unwrap();
    let r = change(&s, &auth, &post(PW, NEW, NEW, NOW + 1));
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    assert_eq!(header(&r, "location"), Some("/account/password?ok=changed"));
    assert!(auth.sessions.get(&other, NOW + 2).is_none());
    assert!(auth.sessions.get(&this, NOW + 2).is_none());
    let cookie = header(&r, "set-cookie").unwrap();
    let id = session::from_cookie_header(cookie.split(';').next().unwrap()).unwrap();
    let renewed = auth.sessions.get(id, NOW + 2).expect("a new session");
    assert_eq!(renewed.user, "alice");
    assert_eq!(renewed.stamp, super::super::login::stamp(&s, "alice"));
    assert_ne!(renewed.stamp, stamp);
    assert!(works(&s, NEW) && !works(&s, PW));
    let (entries, _) = s.audit_page(&AuditFilter::default(), None, 10).unwrap();
    let e = entries
        .iter()
        .find(|e| e.action == "user.password")
        .expect("an audit entry");
    assert_eq!((e.actor.as_str(), e.object.as_str()), ("alice", "alice"));
    assert_eq!(e.source, "192.0.2.9");
    let audit = audit_text(&s);
    assert!(!audit.contains(PW) && !audit.contains(NEW), "{audit}");
    // The form page says so, and has its CSRF field.
    let mut get = Call::new(
        Method::GET,
        "/account/password?ok=changed",
        "192.0.2.9".parse().unwrap(),
        NOW,
    );
    get.principal = post(PW, NEW, NEW, NOW).principal;
    let page = form_page(&get, None);
    assert!(html(&page).contains("Your password was changed"));
    assert!(html(&page).contains(r#"name="csrf" value="tok""#));
}
