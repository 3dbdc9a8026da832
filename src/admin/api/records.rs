//! The JSON twins of the incidents and quarantine pages under `/api/v1`: list (the pages'
//! filter fields as query parameters, `limit`, the `before` cursor; one bounded page, with `next`),
//! show, one action (`POST .../{id}/actions` with an `Op`: `{"op": "resolve"}`), bulk actions
//! (`POST .../actions` with `ids` or a `query`, at most `admin.max_bulk` items), and the raw held
//! message. The same service calls as the pages and the CLI, so the same refusals; errors are
//! `Response::api_error` with the status `response::status_of` gives.

use hyper::StatusCode;
use serde::Deserialize;

use super::super::call::Call;
use super::super::pages::filter::Filter;
use super::super::pages::quarantine::preview;
use super::super::response::{Response, status_of};
use super::super::router::{Access, Def};
use super::with;
use crate::remediate::Target;
use crate::service::{self, Actor, HeldId, IncidentId, Op, Permission, Query, Service};

pub(crate) fn routes() -> Vec<Def> {
    use super::super::router::Input::Json;
    let incidents = Access::Signed(Permission::ViewIncidents);
    let remediate = Access::Signed(Permission::Remediate);
    let held = Access::Signed(Permission::ViewQuarantine);
    let release = Access::Signed(Permission::ReleaseQuarantine);
    vec![
        Def::get("/api/v1/incidents", "api.incidents", incidents, |ui, c| {
            with(ui, c, |s, c| list(s, c, Target::Incident))
        }),
        Def::get(
            "/api/v1/incidents/{id}",
            "api.incident",
            incidents,
            |ui, c| with(ui, c, show_incident),
        ),
        Def::post(
            "/api/v1/incidents/{id}/actions",
            "api.incident.act",
            remediate,
            |ui, c| with(ui, c, |s, c| act(s, c, Target::Incident)),
        )
        .reading(Json),
        Def::post(
            "/api/v1/incidents/actions",
            "api.incidents.bulk",
            remediate,
            |ui, c| with(ui, c, |s, c| bulk(s, c, Target::Incident)),
        )
        .reading(Json),
        Def::get("/api/v1/quarantine", "api.quarantine", held, |ui, c| {
            with(ui, c, |s, c| list(s, c, Target::Held))
        }),
        Def::get("/api/v1/quarantine/{id}", "api.held", held, |ui, c| {
            with(ui, c, show_held)
        }),
        Def::post(
            "/api/v1/quarantine/{id}/actions",
            "api.held.act",
            release,
            |ui, c| with(ui, c, |s, c| act(s, c, Target::Held)),
        )
        .reading(Json),
        Def::post(
            "/api/v1/quarantine/actions",
            "api.quarantine.bulk",
            release,
            |ui, c| with(ui, c, |s, c| bulk(s, c, Target::Held)),
        )
        .reading(Json),
        Def::get(
            "/api/v1/quarantine/{id}/raw",
            "api.held.raw",
            Access::Signed(Permission::DownloadRaw),
            |ui, c| with(ui, c, raw),
        ),
    ]
}

fn error(e: &service::Error) -> Response {
    Response::api_error(status_of(e), e.message())
}

fn id_of(call: &Call) -> Result<u64, Response> {
    call.param("id")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| Response::api_error(StatusCode::NOT_FOUND, "no such id"))
}

/// `GET /api/v1/incidents` and `/api/v1/quarantine`: one page, `{"items", "next", "corrupt"}`.
fn list(s: &Service, call: &Call, target: Target) -> Response {
    let f = match Filter::parse(&call.query, target, call.now) {
        Ok(f) => f,
        Err(e) => return error(&service::Error::Invalid(e)),
    };
    let page = match target {
        Target::Incident => s
            .page_incidents(&f.query, f.before)
            .map(serde_json::to_value),
        Target::Held => s.page_held(&f.query, f.before).map(serde_json::to_value),
    };
    match page {
        Ok(Ok(v)) => Response::json(StatusCode::OK, &v),
        Ok(Err(e)) => Response::api_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        Err(e) => error(&e),
    }
}

/// `GET /api/v1/incidents/{id}`: the incident, its history and its held message.
fn show_incident(s: &Service, call: &Call) -> Response {
    let id = match id_of(call) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match s.show_incident(IncidentId(id)) {
        Ok(v) => Response::json(StatusCode::OK, &v),
        Err(e) => error(&e),
    }
}

/// `GET /api/v1/quarantine/{id}`: the held message, its incidents with their history, and the
/// safe preview while the content is stored (`preview`: null after).
fn show_held(s: &Service, call: &Call) -> Response {
    let id = match id_of(call) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let view = match s.show_held(HeldId(id), true) {
        Ok(v) => v,
        Err(e) => return error(&e),
    };
    let config = s.config();
    let safe = view.content.as_deref().map(|raw| {
        preview::json(&preview::of(
            raw,
            &config.decomposition,
            config.admin.preview_bytes,
        ))
    });
    let mut v = match serde_json::to_value(&view) {
        Ok(v) => v,
        Err(e) => return Response::api_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    if let Some(o) = v.as_object_mut() {
        o.insert("preview".into(), safe.unwrap_or(serde_json::Value::Null));
    }
    Response::json(StatusCode::OK, &v)
}

/// `POST .../{id}/actions` with an `Op`: `{"id", "outcome": "done", "detail"}`, or the refusal
/// as an error (409 refused, 404 not found, 422 invalid).
fn act(s: &Service, call: &Call, target: Target) -> Response {
    let id = match id_of(call) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let op: Op = match call.json() {
        Ok(op) => op,
        Err(r) => return r,
    };
    let actor = match Actor::new(call.actor()) {
        Ok(a) => a,
        Err(e) => return error(&e),
    };
    let name = crate::admin::pages::remedy::op_name(&op);
    let result = smol::block_on(s.act_one(target, id, op, &actor));
    let outcome = match &result {
        Ok(_) => "done".to_string(),
        Err(e) => format!("not done: {}", e.message()),
    };
    crate::admin::auth::remediated(s, call, target, name, &[id], &outcome);
    match result {
        Ok(detail) => Response::json(
            StatusCode::OK,
            &serde_json::json!({"id": id, "outcome": "done", "detail": detail}),
        ),
        Err(e) => error(&e),
    }
}

/// A bulk request: the `Op`'s fields and either `ids` or a `query`.
#[derive(Debug, Deserialize)]
struct BulkRequest {
    #[serde(default)]
    ids: Option<Vec<u64>>,
    #[serde(default)]
    query: Option<Query>,
    #[serde(flatten)]
    op: Op,
}

/// `POST .../actions`: every item's outcome and the totals; `more` when the query matched more
/// than `admin.max_bulk` (only the newest were acted on).
fn bulk(s: &Service, call: &Call, target: Target) -> Response {
    let req: BulkRequest = match call.json() {
        Ok(r) => r,
        Err(r) => return r,
    };
    let cap = s.config().admin.max_bulk;
    let invalid = |m: &str| error(&service::Error::Invalid(m.to_string()));
    let (ids, more) = match (req.ids, req.query) {
        (Some(_), Some(_)) => return invalid("give ids or a query, not both"),
        (None, None) => return invalid("give the ids to act on, or a query"),
        (Some(ids), None) if ids.is_empty() => return invalid("ids is empty"),
        (Some(ids), None) if ids.len() > cap => {
            return invalid(&format!("at most {cap} ids at once (admin.max_bulk)"));
        }
        (Some(ids), None) => (ids, false),
        (None, Some(mut q)) => {
            q.limit = Some(q.limit.unwrap_or(cap).min(cap).saturating_add(1));
            let want = q.limit.unwrap_or(cap) - 1;
            match s.matching(target, &q) {
                Ok(mut ids) => {
                    let more = ids.len() > want;
                    ids.truncate(want);
                    (ids, more)
                }
                Err(e) => return error(&e),
            }
        }
    };
    let actor = match Actor::new(call.actor()) {
        Ok(a) => a,
        Err(e) => return error(&e),
    };
    let name = crate::admin::pages::remedy::op_name(&req.op);
    let result = smol::block_on(s.act(target, &ids, req.op, &actor));
    if let Ok(b) = &result {
        let totals = crate::admin::pages::remedy::totals(b);
        crate::admin::auth::remediated(s, call, target, name, &ids, &totals);
    }
    match result {
        Ok(b) => Response::json(
            StatusCode::OK,
            &serde_json::json!({"items": b.items, "totals": b.totals, "more": more}),
        ),
        Err(e) => error(&e),
    }
}

/// `GET /api/v1/quarantine/{id}/raw`: the stored message (`message/rfc822`), audited.
fn raw(s: &Service, call: &Call) -> Response {
    let id = match id_of(call) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match preview::raw(s, call.actor(), call.peer, id) {
        Ok(bytes) => Response::download("message/rfc822", &preview::file_name(id), bytes),
        Err(e) => error(&e),
    }
}

#[cfg(test)]
mod tests {
    //! The API twins over a real in-memory store: pages with a cursor, views, one action and bulk
    //! actions in the `Op` shape, refusals as JSON errors, the raw message.
    use hyper::Method;
    use serde_json::{Value, json};

    use super::*;
    use crate::admin::pages::fixture::*;
    use crate::service::Role;

    fn get(
        s: &Service,
        path: &str,
        id: Option<u64>,
        f: fn(&Service, &Call) -> Response,
    ) -> (StatusCode, Value) {
        let mut c = call(Role::Remediator, Method::GET, path, "");
        if let Some(id) = id {
            c = with_id(c, id);
        }
        let r = f(s, &c);
        (
            r.status,
            serde_json::from_str(&text(&r)).unwrap_or(Value::Null),
        )
    }

    fn post(s: &Service, target: Target, id: Option<u64>, body: Value) -> (StatusCode, Value) {
        let mut c = call(Role::Remediator, Method::POST, "/", &body.to_string());
        let r = match id {
            Some(id) => {
                c = with_id(c, id);
                act(s, &c, target)
            }
            None => bulk(s, &c, target),
        };
        (r.status, serde_json::from_str(&text(&r)).unwrap())
    }

    #[test]
    fn listings_are_pages_with_a_cursor() {
        let (s, store) = service();
        for n in 0..3 {
            add(
                &store,
                Mail {
                    n,
                    subject: &format!("s{n}"),
                    ..Mail::default()
                },
            );
        }
        let (status, v) = get(&s, "/api/v1/incidents?limit=2", None, |s, c| {
            list(s, c, Target::Incident)
        });
        assert_eq!(status, StatusCode::OK);
        assert_eq!(v["items"].as_array().unwrap().len(), 2);
        assert_eq!(v["items"][0]["subject"], "s2");
        let next = v["next"].as_str().unwrap().to_string();
        let (_, v) = get(
            &s,
            &format!("/api/v1/incidents?limit=2&before={next}"),
            None,
            |s, c| list(s, c, Target::Incident),
        );
        assert_eq!(v["items"][0]["subject"], "s0");
        assert_eq!(v["next"], Value::Null);
        let (_, v) = get(&s, "/api/v1/quarantine?subject=S1", None, |s, c| {
            list(s, c, Target::Held)
        });
        assert_eq!(v["items"].as_array().unwrap().len(), 1);
        let (status, v) = get(&s, "/api/v1/quarantine?status=new", None, |s, c| {
            list(s, c, Target::Held)
        });
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("status \"new\"")
        );
    }

    #[test]
    fn views_carry_history_and_the_safe_preview() {
        let (s, store) = service();
        let (inc, held) = add(&store, Mail::default());
        let (status, v) = get(&s, "/", Some(inc), show_incident);
        assert_eq!(status, StatusCode::OK);
        assert_eq!(v["incident"]["id"], inc);
        assert_eq!(v["held"]["id"], held.unwrap());
        assert_eq!(v["history"].as_array().unwrap().len(), 1);
        let (_, v) = get(&s, "/", held, show_held);
        assert_eq!(v["content_held"], true);
        assert!(
            v["preview"]["text"]
                .as_str()
                .unwrap()
                .contains("Quarterly figures")
        );
        assert_eq!(v["preview"]["attachments"][0]["type"], "text");
        assert!(
            v["preview"]["headers"]
                .as_str()
                .unwrap()
                .starts_with("From: <alice@corp.example>")
        );
        let (status, v) = get(&s, "/", Some(999), show_incident);
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(v["error"]["message"], "incident 999 not found");
    }

    #[test]
    fn one_action_in_the_op_shape_and_its_refusal() {
        let (s, store) = service();
        let (inc, held) = add(&store, Mail::default());
        let (status, v) = post(
            &s,
            Target::Incident,
            Some(inc),
            json!({"op": "note", "text": "seen"}),
        );
        assert_eq!((status, &v["outcome"]), (StatusCode::OK, &json!("done")));
        let tag = json!({"op": "release", "tag": {"name": "X-CFilter", "value": "Encrypt"}});
        let (status, v) = post(&s, Target::Held, held, tag.clone());
        assert_eq!(status, StatusCode::OK, "{v}");
        assert!(
            v["detail"]
                .as_str()
                .unwrap()
                .starts_with("queued for delivery")
        );
        let (status, v) = post(&s, Target::Held, held, tag);
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(v["error"]["message"], "already released");
        let (status, _) = post(&s, Target::Incident, Some(inc), json!({"op": "explode"}));
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let h = s.show_incident(IncidentId(inc)).unwrap().history;
        assert!(h.iter().skip(1).all(|e| e.actor == "ann"), "{h:?}");
    }

    #[test]
    fn bulk_actions_over_ids_or_a_query() {
        let (s, store) = service();
        let (a, _) = add(
            &store,
            Mail {
                n: 1,
                ..Mail::default()
            },
        );
        let (b, _) = add(
            &store,
            Mail {
                n: 2,
                held: false,
                ..Mail::default()
            },
        );
        add(
            &store,
            Mail {
                n: 3,
                sender: "zed@corp.example",
                ..Mail::default()
            },
        );
        let (status, v) = post(
            &s,
            Target::Incident,
            None,
            json!({"ids": [a, b], "op": "release"}),
        );
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(v["totals"]["done"], 1);
        assert_eq!(v["totals"]["refused"], 1);
        assert_eq!(v["items"][1]["outcome"]["outcome"], "refused");
        let q = json!({"query": {"sender": "zed@corp.example"}, "op": "resolve"});
        let (_, v) = post(&s, Target::Incident, None, q);
        assert_eq!(
            (v["totals"]["done"].clone(), v["more"].clone()),
            (json!(1), json!(false))
        );
        let (status, _) = post(
            &s,
            Target::Incident,
            None,
            json!({"ids": [a], "query": {}, "op": "resolve"}),
        );
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let (status, _) = post(&s, Target::Held, None, json!({"op": "delete"}));
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        // Held messages by query: those still held (one left, zed's).
        let (_, v) = post(&s, Target::Held, None, json!({"query": {}, "op": "delete"}));
        assert_eq!(v["totals"]["done"], 1, "{v}");
    }

    #[test]
    fn the_raw_message_downloads_as_rfc822() {
        let (s, store) = service();
        let (_, held) = add(&store, Mail::default());
        let r = raw(
            &s,
            &with_id(
                call(Role::Administrator, Method::GET, "/", ""),
                held.unwrap(),
            ),
        );
        assert_eq!(r.status, StatusCode::OK);
        assert!(text(&r).starts_with("From: <alice@corp.example>"));
        let missing = raw(
            &s,
            &with_id(call(Role::Administrator, Method::GET, "/", ""), 999),
        );
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
    }
}
