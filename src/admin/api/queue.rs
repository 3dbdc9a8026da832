//! The JSON twins of the queue page under `/api/v1/queue`: the listing (`stage`, `sender`,
//! `recipient`, `listener`, `direction`, `older_than`, `limit`), one entry, actions over `ids` or a `filter`
//! with every id's outcome, and the two switches (`GET` and `PUT` `{"paused", "rejecting"}`).
//! The same service calls as the page and `sluice queue ...`, audited under the token's user. A
//! request that is not well formed (bad JSON, an unknown field, a bad id, stage or age, an
//! action without what it needs) is a 400 that says why, and nothing is done.

use hyper::{Method, StatusCode};
use serde::Deserialize;

use super::super::call::Call;
use super::super::pages::queue::filter::{self as pick, Picked};
use super::super::response::Response;
use super::super::router::{Access, Def, Input};
use super::{service_error, with};
use crate::service::{Caller, Permission, QueueFilter, QueueRef, Service};
use crate::store::switches::Switch;

/// Most rows one listing gives.
const MAX_LIMIT: usize = 1000;

pub(crate) fn routes() -> Vec<Def> {
    let view = Access::Signed(Permission::ViewQueue);
    let manage = Access::Signed(Permission::ManageQueue);
    vec![
        Def::get("/api/v1/queue", "api.queue", view, |ui, c| {
            with(ui, c, list)
        }),
        Def::get(
            "/api/v1/queue/switches",
            "api.queue.switches",
            view,
            |ui, c| with(ui, c, switches),
        ),
        Def::post(
            "/api/v1/queue/switches",
            "api.queue.switches.put",
            manage,
            |ui, c| with(ui, c, set_switches),
        )
        .reading(Input::Json)
        .answering(Method::PUT),
        Def::post("/api/v1/queue/actions", "api.queue.act", manage, |ui, c| {
            with(ui, c, act)
        })
        .reading(Input::Json),
        Def::get("/api/v1/queue/{id}", "api.queue.entry", view, |ui, c| {
            with(ui, c, show)
        }),
    ]
}

fn bad(message: &str) -> Response {
    Response::api_error(StatusCode::BAD_REQUEST, message)
}

/// `GET /api/v1/queue`: `{"rows": [...], "more": bool}`.
fn list(s: &Service, call: &Call) -> Response {
    let picked = match Picked::parse(&call.query) {
        Ok(p) => p,
        Err(e) => return bad(&e),
    };
    let mut f = picked.filter;
    if let Some(l) = call.query("limit") {
        match l.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => f.limit = n,
            _ => return bad(&format!("limit {l:?}: a number from 1 to {MAX_LIMIT}")),
        }
    }
    match s.queue_list(&f) {
        Ok(l) => Response::json(StatusCode::OK, &l),
        Err(e) => service_error(&e),
    }
}

/// `GET /api/v1/queue/{id}`: the entry (envelope, recipients, header section).
fn show(s: &Service, call: &Call) -> Response {
    let Some(id) = call.param("id").and_then(|v| v.parse::<QueueRef>().ok()) else {
        return Response::api_error(
            StatusCode::NOT_FOUND,
            "no such queue entry (ids look like i42 or q17)",
        );
    };
    match s.queue_show(id) {
        Ok(v) => Response::json(StatusCode::OK, &v),
        Err(e) => service_error(&e),
    }
}

/// The filter of an action request: the listing's fields (`older_than` a duration like `2h`, or
/// seconds).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilterBody {
    stage: Option<String>,
    sender: Option<String>,
    recipient: Option<String>,
    listener: Option<String>,
    direction: Option<String>,
    older_than: Option<Age>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Age {
    Seconds(u64),
    Text(String),
}

/// `POST /api/v1/queue/actions`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActRequest {
    action: String,
    ids: Option<Vec<String>>,
    filter: Option<FilterBody>,
    to: Option<String>,
    subject: Option<String>,
}

impl FilterBody {
    fn filter(self) -> Result<QueueFilter, String> {
        let mut pairs = Vec::new();
        for (k, v) in [
            ("stage", self.stage),
            ("sender", self.sender),
            ("recipient", self.recipient),
            ("listener", self.listener),
            ("direction", self.direction),
        ] {
            if let Some(v) = v {
                pairs.push((k.to_string(), v));
            }
        }
        match self.older_than {
            Some(Age::Seconds(n)) => pairs.push(("older_than".into(), n.to_string())),
            Some(Age::Text(t)) => pairs.push(("older_than".into(), t)),
            None => {}
        }
        Picked::parse(&pairs).map(|p| p.filter)
    }
}

/// `POST /api/v1/queue/actions`: `{"outcomes": [{"id", "done", "detail"}], "done", "skipped",
/// "more"}` (`more`: the filter matched more than `admin.max_bulk`; only the first were acted on).
fn act(s: &Service, call: &Call) -> Response {
    let req: ActRequest = match call.json() {
        Ok(r) => r,
        Err(r) => return r,
    };
    let action = match pick::action(&req.action, req.to.as_deref(), req.subject.as_deref()) {
        Ok(a) => a,
        Err(e) => return bad(&e),
    };
    if let Err(e) = action.check() {
        return bad(e.message());
    }
    if !matches!(action, crate::service::QueueAction::Forward { .. })
        && (req.to.is_some() || req.subject.is_some())
    {
        return bad("to and subject go with the forward action only");
    }
    let cap = s.config().admin.max_bulk;
    let (ids, more) = match (req.ids, req.filter) {
        (Some(_), Some(_)) => return bad("give ids or a filter, not both"),
        (None, None) => return bad("give the ids to act on, or a filter"),
        (Some(ids), None) if ids.is_empty() => return bad("ids is empty"),
        (Some(ids), None) if ids.len() > cap => {
            return bad(&format!("at most {cap} ids at once (admin.max_bulk)"));
        }
        (Some(ids), None) => match pick::ids(ids.iter().map(String::as_str)) {
            Ok(ids) => (ids, false),
            Err(e) => return bad(&e),
        },
        (None, Some(f)) => {
            let mut f = match f.filter() {
                Ok(f) => f,
                Err(e) => return bad(&e),
            };
            f.limit = cap.saturating_add(1);
            match s.queue_select(&f) {
                Ok(mut ids) => {
                    let more = ids.len() > cap;
                    ids.truncate(cap);
                    (ids, more)
                }
                Err(e) => return service_error(&e),
            }
        }
    };
    match s.queue_act(&action, &ids, &Caller::web(call.actor(), call.peer)) {
        Ok(outcomes) => {
            let done = outcomes.iter().filter(|o| o.done).count();
            Response::json(
                StatusCode::OK,
                &serde_json::json!({
                    "action": pick::name(&action),
                    "outcomes": outcomes,
                    "done": done,
                    "skipped": outcomes.len() - done,
                    "more": more,
                }),
            )
        }
        Err(e) => service_error(&e),
    }
}

/// `GET /api/v1/queue/switches`.
fn switches(s: &Service, _: &Call) -> Response {
    match s.switches() {
        Ok(sw) => Response::json(StatusCode::OK, &sw),
        Err(e) => service_error(&e),
    }
}

/// `PUT /api/v1/queue/switches`: either switch or both; answers both as they are after.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SwitchBody {
    paused: Option<bool>,
    rejecting: Option<bool>,
}

fn set_switches(s: &Service, call: &Call) -> Response {
    let body: SwitchBody = match call.json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    if body.paused.is_none() && body.rejecting.is_none() {
        return bad("give paused, rejecting or both (true or false)");
    }
    let caller = Caller::web(call.actor(), call.peer);
    for (switch, on) in [
        (Switch::Paused, body.paused),
        (Switch::Rejecting, body.rejecting),
    ] {
        if let Some(on) = on
            && let Err(e) = s.set_switch(switch, on, &caller)
        {
            return service_error(&e);
        }
    }
    switches(s, call)
}

#[cfg(test)]
#[path = "queue_tests.rs"]
mod tests;
