//! Sign-in, sign-out and set-up through their handlers, over the in-memory store.

use std::net::IpAddr;
use std::sync::Arc;

use hyper::Method;

use super::*;
use crate::admin::auth::{Setup, setup};
use crate::admin::call::{Principal, Via};
use crate::admin::response::Body;
use crate::events::Kind;

const NOW: u64 = 1_700_000_000;
const PW: &str = "correct horse battery";

fn service() -> Service {
    let config = crate::config::Config::embedded().unwrap();
    Service::new(
        crate::store::Store::memory().unwrap(),
        Arc::new(config),
        crate::clock::Clock::fixed(NOW),
    )
}

fn auth(setup: Setup) -> Auth {
    Auth::new(
        &crate::config::Config::embedded().unwrap().admin.auth,
        setup,
    )
}

fn post(path: &str, body: &str, now: u64) -> Call {
    let peer: IpAddr = "192.0.2.8".parse().unwrap();
    let mut c = Call::new(Method::POST, path, peer, now);
    c.body = body.as_bytes().to_vec();
    c
}

fn html(r: &Response) -> &str {
    match &r.body {
        Body::Html(s) => s,
        _ => "",
    }
}

fn header<'a>(r: &'a Response, name: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .find(|(n, _)| n.as_str() == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn signing_in_gives_a_session_cookie_and_wrong_passwords_are_locked_out() {
    let s = service();
    s.add_user("alice", Role::Auditor, PW, &Caller::cli("root"))
        .unwrap();
    let a = auth(Setup::none());
    let ok = sign_in(
        &s,
        &a,
        &post(
            "/login",
            &format!("user=alice&password={}&next=%2Faudit", PW.replace(' ', "+")),
            NOW,
        ),
    );
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(header(&ok, "location"), Some("/audit"));
    let cookie = header(&ok, "set-cookie").unwrap();
    assert!(cookie.starts_with("__Host-sluice="), "{cookie}");
    assert!(cookie.ends_with("; Secure; HttpOnly; SameSite=Strict; Path=/"));
    let id = session::from_cookie_header(cookie.split(';').next().unwrap()).unwrap();
    assert_eq!(a.sessions.get(id, NOW + 1).unwrap().user, "alice");
    // Another site's address is not followed after sign-in.
    let elsewhere = sign_in(
        &s,
        &a,
        &post(
            "/login",
            "user=alice&password=correct+horse+battery&next=%2F%2Fevil.example",
            NOW,
        ),
    );
    assert_eq!(header(&elsewhere, "location"), Some("/"));
    for i in 0..4 {
        let r = sign_in(
            &s,
            &a,
            &post("/login", "user=alice&password=nope+nope+nope", NOW + i),
        );
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(html(&r).contains("Wrong user name or password."));
        assert!(!html(&r).contains("nope"), "the password is not echoed");
    }
    let locked = sign_in(
        &s,
        &a,
        &post("/login", "user=alice&password=nope+nope+nope", NOW + 5),
    );
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&locked, "retry-after"), Some("900"));
    let still = sign_in(
        &s,
        &a,
        &post(
            "/login",
            "user=alice&password=correct+horse+battery",
            NOW + 6,
        ),
    );
    assert_eq!(still.status, StatusCode::TOO_MANY_REQUESTS);
    let kinds: Vec<Kind> = s.events(0, 100).unwrap().iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == Kind::AdminLogonFailed)
            .count(),
        5
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == Kind::AdminLogonThrottled)
            .count(),
        3
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == Kind::AdminLogonSucceeded)
            .count(),
        2
    );
}

#[test]
fn signing_out_ends_the_session() {
    let s = service();
    let a = auth(Setup::none());
    let (id, csrf) = a.sessions.create("alice", Role::Auditor, "", NOW).unwrap();
    let mut c = post("/logout", "", NOW);
    c.principal = Some(Principal {
        user: "alice".into(),
        role: Role::Auditor,
        via: Via::Session {
            id: id.clone(),
            csrf,
        },
    });
    let r = sign_out(&s, &a, &c);
    assert_eq!(header(&r, "location"), Some("/login"));
    assert!(header(&r, "set-cookie").unwrap().contains("Max-Age=0"));
    assert!(a.sessions.get(&id, NOW).is_none());
    assert_eq!(s.events(0, 10).unwrap()[0].kind, Kind::AdminLogoff);
}

#[test]
fn the_set_up_link_works_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = service();
    let a = auth(Setup::start(dir.path(), false, "https://gw.example:8443").unwrap());
    let link = std::fs::read_to_string(dir.path().join(setup::FILE)).unwrap();
    let path = link
        .trim()
        .strip_prefix("https://gw.example:8443")
        .unwrap()
        .to_string();
    let call = |body: &str| {
        let mut c = post(&path, body, NOW);
        c.params = vec![("token".into(), path["/setup/".len()..].to_string())];
        c
    };
    let mut get = call("");
    get.method = Method::GET;
    assert_eq!(show_setup(&s, &a, &get).status, StatusCode::OK);
    // Bad input does not use the link up.
    let applied = std::cell::RefCell::new(Vec::new());
    let settings = |user: &str, check: bool| {
        applied.borrow_mut().push((user.to_string(), check));
        Ok(())
    };
    let differ = set_up(
        &s,
        &a,
        &call("user=root&password=a+long+password&again=another+one"),
        settings,
    );
    assert_eq!(differ.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&differ).contains("The two passwords differ."));
    let short = set_up(
        &s,
        &a,
        &call("user=root&password=short&again=short"),
        settings,
    );
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    let refused = set_up(
        &s,
        &a,
        &call("user=root&password=a+long+password&again=a+long+password"),
        |_, _| Err("relay.hosts: no next hop".into()),
    );
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&refused).contains("relay.hosts: no next hop"));
    assert!(a.setup.pending());
    assert!(applied.borrow().is_empty());
    let done = set_up(
        &s,
        &a,
        &call("user=root&password=a+long+password&again=a+long+password&mode=forwarding"),
        settings,
    );
    // Checked before the link was used, applied after the account was made.
    assert_eq!(
        *applied.borrow(),
        [("root".to_string(), true), ("root".to_string(), false)]
    );
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(header(&done, "location"), Some("/"));
    assert!(header(&done, "set-cookie").is_some());
    assert_eq!(
        s.authenticate("root", "a long password", NOW),
        Ok(Role::Administrator)
    );
    assert!(!dir.path().join(setup::FILE).exists());
    // Used up: the page and the form are gone.
    assert_eq!(show_setup(&s, &a, &get).status, StatusCode::NOT_FOUND);
    let again = set_up(
        &s,
        &a,
        &call("user=evil&password=a+long+password&again=a+long+password"),
        settings,
    );
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(s.list_users().unwrap().len(), 1);
}

#[test]
fn the_set_up_form_becomes_configuration_keys() {
    let c = post(
        "/setup/x",
        "user=root&hostname=gw.example&mode=forwarding&next_hops=mx1.example%0D%0Amx2.example%3A25&resubmit_port=10026&clients=10.0.0.0%2F8",
        NOW,
    );
    assert_eq!(
        settings_of(&c),
        [
            ("relay.mode", "forward".to_string()),
            ("server.hostname", "gw.example".to_string()),
            ("relay.hosts", "mx1.example\r\nmx2.example:25".to_string()),
            ("listener.allowed_clients", "10.0.0.0/8".to_string()),
        ]
    );
    let reflect = post(
        "/setup/x",
        "mode=reflecting&resubmit_port=10030&next_hops=x",
        NOW,
    );
    assert_eq!(
        settings_of(&reflect),
        [
            ("relay.mode", "reflect".to_string()),
            ("relay.port", "10030".to_string())
        ]
    );
    let values: Vec<_> = settings_of(&c)
        .into_iter()
        .map(|(k, v)| {
            crate::config::edit::value_from_input(k, &v)
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(values[2].trim(), r#"["mx1.example", "mx2.example:25"]"#);
}

#[test]
fn the_set_up_link_is_refused_once_an_account_exists() {
    let dir = tempfile::tempdir().unwrap();
    let s = service();
    let a = auth(Setup::start(dir.path(), false, "https://gw.example").unwrap());
    let link = std::fs::read_to_string(dir.path().join(setup::FILE)).unwrap();
    let token = link.trim().rsplit('/').next().unwrap().to_string();
    s.add_user("cli-admin", Role::Administrator, PW, &Caller::cli("root"))
        .unwrap();
    let mut c = post(
        "/setup/x",
        "user=root&password=a+long+password&again=a+long+password",
        NOW,
    );
    c.params = vec![("token".into(), token)];
    assert_eq!(
        set_up(&s, &a, &c, |_, _| Ok(())).status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(s.list_users().unwrap().len(), 1);
}
