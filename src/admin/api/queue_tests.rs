//! The queue API through its handlers over a store with one message per stage: list with
//! filters, one entry (headers, never the body), actions by ids and by filter with per-id
//! outcomes, the switches; and every malformed request is a 400 that says why and does nothing.

use hyper::{Method, StatusCode};
use serde_json::{Value, json};

use super::*;
use crate::admin::pages::queue::fixture::{BODY, fill, service};
use crate::service::Role;

fn call(method: Method, path: &str, body: &str) -> Call {
    crate::admin::pages::fixture::call(Role::Remediator, method, path, body)
}

fn answer(r: Response) -> (StatusCode, Value) {
    let text = crate::admin::pages::fixture::text(&r);
    let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (r.status, v)
}

fn ids(v: &Value) -> Vec<String> {
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_listing_filters_and_one_entry_shows_headers_only() {
    let (s, store) = service();
    let f = fill(&store);
    let (code, v) = answer(list(&s, &call(Method::GET, "/api/v1/queue", "")));
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(ids(&v).len(), 4);
    let (_, v) = answer(list(&s, &call(Method::GET, "/api/v1/queue?stage=hold", "")));
    assert_eq!(ids(&v), [format!("i{}", f.hold.0)]);
    assert_eq!(v["rows"][0]["stage"], "hold");
    let (_, v) = answer(list(&s, &call(Method::GET, "/api/v1/queue?limit=1", "")));
    assert_eq!((ids(&v).len(), v["more"].clone()), (1, json!(true)));
    for bad in ["stage=active", "older_than=soon", "limit=0", "limit=x"] {
        let path = format!("/api/v1/queue?{bad}");
        let (code, v) = answer(list(&s, &call(Method::GET, &path, "")));
        assert_eq!(code, StatusCode::BAD_REQUEST, "{bad}: {v}");
        assert!(v["error"]["message"].as_str().is_some(), "{v}");
    }
    let mut c = call(Method::GET, "/", "");
    c.params = vec![("id".into(), format!("q{}", f.deferred.0))];
    let r = show(&s, &c);
    let text = crate::admin::pages::fixture::text(&r);
    assert!(!text.contains(BODY), "the body leaked: {text}");
    let (code, v) = answer(r);
    assert_eq!(code, StatusCode::OK, "{v}");
    assert!(v.to_string().contains("Subject"), "{v}");
    for missing in ["q999", "nope"] {
        c.params = vec![("id".into(), missing.into())];
        assert_eq!(show(&s, &c).status, StatusCode::NOT_FOUND, "{missing}");
    }
}

#[test]
fn actions_by_ids_and_by_filter_give_every_outcome() {
    let (s, store) = service();
    let f = fill(&store);
    let post = |body: Value| answer(act(&s, &call(Method::POST, "/", &body.to_string())));
    let (code, v) = post(
        json!({"action": "forward", "ids": [format!("i{}", f.hold.0)],
        "to": "sec@corp.example", "subject": "suspect"}),
    );
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(v["done"], 1, "{v}");
    assert_eq!(v["outcomes"][0]["id"], format!("i{}", f.hold.0));
    // Reprocess the hold by filter: the message goes back to inspection.
    let (code, v) = post(json!({"action": "release", "filter": {"stage": "hold"}}));
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(
        (v["done"].clone(), v["more"].clone()),
        (json!(1), json!(false)),
        "{v}"
    );
    let (_, l) = answer(list(&s, &call(Method::GET, "/api/v1/queue?stage=hold", "")));
    assert!(ids(&l).is_empty(), "{l}");
    // Delete drops it (the forwarded copy waits for delivery).
    let gone = format!("q{}", f.deliver.0);
    let (_, v) = post(json!({"action": "delete", "ids": [gone]}));
    assert_eq!(v["done"], 1, "{v}");
    let path = "/api/v1/queue?stage=deliver";
    let (_, l) = answer(list(&s, &call(Method::GET, path, "")));
    assert!(!ids(&l).contains(&gone), "{l}");
    assert_eq!(
        l["rows"][0]["recipients"],
        json!(["sec@corp.example"]),
        "{l}"
    );
}

#[test]
fn bad_bodies_are_400_with_the_reason_and_change_nothing() {
    let (s, store) = service();
    let f = fill(&store);
    let id = format!("i{}", f.hold.0);
    for (body, says) in [
        ("not json".to_string(), "invalid JSON"),
        (json!({"ids": [id]}).to_string(), "action"),
        (
            json!({"action": "explode", "ids": [id]}).to_string(),
            "one of",
        ),
        (json!({"action": "delete"}).to_string(), "ids"),
        (json!({"action": "delete", "ids": []}).to_string(), "empty"),
        (json!({"action": "delete", "ids": ["42"]}).to_string(), "42"),
        (
            json!({"action": "delete", "ids": [id], "filter": {}}).to_string(),
            "not both",
        ),
        (
            json!({"action": "delete", "filter": {"stage": "active"}}).to_string(),
            "stage",
        ),
        (
            json!({"action": "delete", "filter": {"older": "1h"}}).to_string(),
            "unknown field",
        ),
        (
            json!({"action": "delete", "ids": [id], "colour": 1}).to_string(),
            "unknown field",
        ),
        (json!({"action": "forward", "ids": [id]}).to_string(), "to"),
        (
            json!({"action": "forward", "ids": [id], "to": "a@x, b@y"}).to_string(),
            "one email address",
        ),
        (
            json!({"action": "delete", "ids": [id], "to": "a@x"}).to_string(),
            "forward",
        ),
    ] {
        let (code, v) = answer(act(&s, &call(Method::POST, "/", &body)));
        assert_eq!(code, StatusCode::BAD_REQUEST, "{body}: {v}");
        let message = v["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{body}: {message}");
    }
    let (_, l) = answer(list(&s, &call(Method::GET, "/api/v1/queue", "")));
    assert_eq!(ids(&l).len(), 4, "nothing changed: {l}");
    for body in [
        "{}",
        "{\"paused\": \"yes\"}",
        "{\"paused\": true, \"x\": 1}",
    ] {
        let (code, v) = answer(set_switches(&s, &call(Method::PUT, "/", body)));
        assert_eq!(code, StatusCode::BAD_REQUEST, "{body}: {v}");
    }
    assert_eq!(s.switches().unwrap(), Default::default());
}

#[test]
fn the_switches_read_and_set() {
    let (s, _) = service();
    let (code, v) = answer(switches(&s, &call(Method::GET, "/", "")));
    assert_eq!(
        (code, v),
        (StatusCode::OK, json!({"paused": false, "rejecting": false}))
    );
    let put = |body: Value| answer(set_switches(&s, &call(Method::PUT, "/", &body.to_string())));
    let (code, v) = put(json!({"rejecting": true}));
    assert_eq!(
        (code, v),
        (StatusCode::OK, json!({"paused": false, "rejecting": true}))
    );
    let (_, v) = put(json!({"paused": true, "rejecting": false}));
    assert_eq!(v, json!({"paused": true, "rejecting": false}));
}
