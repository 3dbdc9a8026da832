//! The gateway queue over the admin API and UI with the real binary: a message whose inspection
//! panics (the test hook `SLUICE_TEST_INSPECT_FAULT`) lands in the hold queue; over the API it
//! is listed and shown (headers, never the body), forwarded unscanned with a subject to one
//! address (the copy arrives, the original stays), reprocessed (back to inspection, where it
//! crashes again and is held again, as the UI warns) and deleted; auditors and policy authors
//! may look but get 403 on every action; both switches flip over the API and, while rejecting,
//! the gateway listener answers 421 at connect; the page's forms need the session's CSRF token
//! and render the hostile subject inert.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::admin::{add_user, csrf_of, form, get, log_in, post};
use support::client::Client;
use support::https::request;
use support::sink::Sink;
use support::sluice::{Sluice, config};

const MARK: &str = "CRASH-ME-q8d2";
const SUBJECT: &str = "<script>alert(1)</script> numbers";
const WAIT: Duration = Duration::from_secs(60);

fn gateway(hop: SocketAddr) -> String {
    config(
        "mode = \"gateway\"",
        &format!("mode = \"forward\"\nhosts = [\"{hop}\"]\ndead_host_retry = \"1s\""),
        &format!(
            "[queue]\nretry = [\"1s\"]\nlease = \"5s\"\n\n[notifications]\nadmin = [\"secops@corp.example\"]\n\n[gateway]\ninline_verdict = \"5s\"\ninspect_retry = \"1s\"\ninspect_attempts = 3\n\n[[route]]\ndomain = \"corp.example\"\ndestination = \"{hop}\"\n\n[admin]\naddress = \"127.0.0.1:0\"\npublic_url = \"https://localhost\"\n"
        ),
    )
}

struct Api<'a> {
    s: &'a Sluice,
    auth: String,
}

impl Api<'_> {
    fn send(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let body = body.map(Value::to_string).unwrap_or_default();
        let head = match body.is_empty() {
            true => String::new(),
            false => format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ),
        };
        let r = request(
            self.s,
            &format!(
                "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{}{head}\r\n{body}",
                self.auth
            ),
        );
        let v = serde_json::from_str(&r.body)
            .unwrap_or_else(|e| panic!("{method} {path}: {} {e}: {:?}", r.status, r.body));
        (r.status, v)
    }

    fn get(&self, path: &str) -> (u16, Value) {
        self.send("GET", path, None)
    }

    fn act(&self, body: Value) -> (u16, Value) {
        self.send("POST", "/api/v1/queue/actions", Some(&body))
    }
}

fn api<'a>(s: &'a Sluice, user: &str) -> Api<'a> {
    let (code, out, err) = s.cli(&["token", "create", "--user", user]);
    assert_eq!(code, 0, "{err}");
    Api {
        s,
        auth: format!("Authorization: Bearer {}\r\n", out.trim()),
    }
}

/// The crashing message; the 250 comes after custody, whatever inspection does.
fn send_crasher(addr: SocketAddr) {
    let mut c = Client::connect(addr);
    assert!(c.greeting.starts_with("220"), "{}", c.greeting);
    c.ehlo();
    let message = format!(
        "From: <a@example.net>\r\nTo: <b@corp.example>\r\nSubject: {SUBJECT}\r\nMessage-ID: <q@test>\r\n\r\nthe body x {MARK} y\r\n"
    );
    let r = c.send("a@example.net", &["b@corp.example"], &message);
    assert_eq!(r.code, 250, "{r}");
}

/// The ids in the hold stage.
fn held(api: &Api) -> Vec<String> {
    let (code, v) = api.get("/api/v1/queue?stage=hold");
    assert_eq!(code, 200, "{v}");
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// Polls until `f` holds (or panics after [`WAIT`]).
fn until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !f() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn greeting(addr: SocketAddr) -> String {
    Client::connect(addr).greeting
}

#[test]
fn the_hold_queue_and_the_switches_over_the_api_and_the_ui() {
    let sink = Sink::start_default();
    let fault = format!("panic:{MARK}");
    let s = Sluice::start_full(
        &gateway(sink.addr),
        &[("SLUICE_TEST_INSPECT_FAULT", &fault)],
        None,
    );
    assert!(s.wait_log("admin UI serving", Duration::from_secs(10)));
    for (user, role) in [
        ("root", "administrator"),
        ("rita", "remediator"),
        ("audrey", "auditor"),
        ("paul", "policy-author"),
    ] {
        add_user(&s, user, role, &format!("{user}'s long password"));
    }
    let (rita, audrey, paul) = (api(&s, "rita"), api(&s, "audrey"), api(&s, "paul"));

    // Into the hold queue after three crashed inspections.
    send_crasher(s.addr);
    assert!(
        s.wait_log("message held as suspect", WAIT),
        "{:#?}",
        s.logs()
    );
    let ids = held(&audrey);
    assert_eq!(ids.len(), 1, "{ids:?}");
    let id = ids[0].clone();
    assert!(id.starts_with('i'), "{id}");
    let (code, entry) = audrey.get(&format!("/api/v1/queue/{id}"));
    assert_eq!(code, 200, "{entry}");
    let shown = entry.to_string();
    assert!(
        shown.contains("b@corp.example") && shown.contains("alert(1)"),
        "{shown}"
    );
    assert!(!shown.contains(MARK), "the body leaked: {shown}");

    // Read-only roles may look, never act.
    for who in [&audrey, &paul] {
        assert_eq!(who.get("/api/v1/queue/switches").0, 200);
        let (code, v) = who.act(json!({"action": "delete", "ids": [id]}));
        assert_eq!(code, 403, "{v}");
        let (code, _) = who.send(
            "PUT",
            "/api/v1/queue/switches",
            Some(&json!({"rejecting": true})),
        );
        assert_eq!(code, 403);
    }
    assert_eq!(held(&audrey), vec![id.clone()]);
    // A bad body is a 400 that says why.
    let (code, v) = rita.act(json!({"action": "forward", "ids": [id]}));
    assert_eq!(code, 400, "{v}");

    // Forward an unscanned copy with a subject to one address; the original stays held.
    let before = sink.messages().len();
    let (code, v) = rita.act(json!({"action": "forward", "ids": [id],
        "to": "review@corp.example", "subject": "Suspect message copy"}));
    assert_eq!((code, v["done"].clone()), (200, json!(1)), "{v}");
    let got = sink.wait_for(before + 1, WAIT);
    let copy = got
        .iter()
        .find(|m| m.rcpt_addrs() == ["review@corp.example".to_string()])
        .unwrap_or_else(|| panic!("no forwarded copy: {got:?}"));
    assert_eq!(
        copy.header("Subject").unwrap().trim(),
        "Suspect message copy"
    );
    assert!(
        copy.body_str().contains(MARK),
        "the copy is the message, unscanned"
    );
    assert_eq!(held(&audrey), vec![id.clone()]);

    // Reprocess: back to inspection, where it crashes again and is held again.
    let (code, v) = rita.act(json!({"action": "release", "filter": {"stage": "hold"}}));
    assert_eq!((code, v["done"].clone()), (200, json!(1)), "{v}");
    assert!(
        s.wait_log_count("message held as suspect", 2, WAIT),
        "{:#?}",
        s.logs()
    );
    until("held again", || held(&audrey).len() == 1);

    // The page: the hostile subject is text, the forms need the session's CSRF token.
    let root = log_in(&s, "root", "root's long password");
    let page = get(&s, &format!("/queue/{id}"), &root);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains("<script>alert"), "{}", page.body);
    assert!(
        page.body
            .contains("&lt;script&gt;alert(1)&lt;/script&gt; numbers")
    );
    assert!(!page.body.contains(MARK), "the body leaked");
    let csrf = csrf_of(&page.body);
    let forged = post(&s, "/queue/switches", "switch=paused&on=yes", &root);
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert!(
        !rita.get("/api/v1/queue/switches").1["paused"]
            .as_bool()
            .unwrap()
    );
    let audrey_web = log_in(&s, "audrey", "audrey's long password");
    let a_csrf = csrf_of(&get(&s, "/queue", &audrey_web).body);
    let body = form(&[
        ("csrf", &a_csrf),
        ("op", "delete"),
        ("scope", "selected"),
        ("id", &id),
    ]);
    assert_eq!(post(&s, "/queue/bulk", &body, &audrey_web).status, 403);
    let body = form(&[("csrf", &csrf), ("switch", "paused"), ("on", "yes")]);
    let r = post(&s, "/queue/switches", &body, &root);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(rita.get("/api/v1/queue/switches").1["paused"], json!(true));

    // Delete (drop) over the page's bulk form: never delivered, gone from the queue.
    let body = form(&[
        ("csrf", &csrf),
        ("op", "delete"),
        ("scope", "selected"),
        ("id", &id),
    ]);
    let r = post(&s, "/queue/bulk", &body, &root);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("1 done, 0 skipped"), "{}", r.body);
    assert!(held(&audrey).is_empty());

    // The switches over the API: rejecting makes the gateway listener answer 421 at connect.
    let (code, v) = rita.send(
        "PUT",
        "/api/v1/queue/switches",
        Some(&json!({"paused": false, "rejecting": true})),
    );
    assert_eq!(
        (code, v),
        (200, json!({"paused": false, "rejecting": true}))
    );
    until("421 at connect", || greeting(s.addr).starts_with("421"));
    let (code, v) = rita.send(
        "PUT",
        "/api/v1/queue/switches",
        Some(&json!({"rejecting": false})),
    );
    assert_eq!(
        (code, v),
        (200, json!({"paused": false, "rejecting": false}))
    );
    until("220 again", || greeting(s.addr).starts_with("220"));
    // Every change is audited under its user.
    let (_, audit) = api(&s, "root").get("/api/v1/audit?limit=100");
    let text = audit.to_string();
    for action in [
        "queue.forward",
        "queue.release",
        "queue.delete",
        "queue.reject",
        "queue.accept",
        "queue.pause",
    ] {
        assert!(text.contains(action), "{action} not audited: {text}");
    }
}
