//! The API of message tracking and the reports: the service's values as JSON, with the same query
//! fields as the pages (`/tracking`, `/reports`).

use hyper::StatusCode;

use super::super::call::Call;
use super::super::pages::{reports, tracking};
use super::super::response::{Response, status_of};
use super::super::router::{Access, Def};
use super::super::ui::Ui;
use crate::report::Which;
use crate::service::{Permission, Service};

pub(crate) fn routes() -> Vec<Def> {
    let track = Access::Signed(Permission::ViewTracking);
    let report = Access::Signed(Permission::ViewReports);
    vec![
        Def::get("/api/v1/tracking", "api.tracking", track, search),
        Def::get(
            "/api/v1/tracking/{guid}",
            "api.tracking.trail",
            track,
            trail,
        ),
        Def::get(
            "/api/v1/reports/summary",
            "api.reports.summary",
            report,
            summary,
        ),
        Def::get(
            "/api/v1/reports/detail",
            "api.reports.detail",
            report,
            detail,
        ),
    ]
}

fn service(ui: &Ui) -> Result<Service, Response> {
    ui.service().map_err(|_| {
        Response::api_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the store is not available",
        )
    })
}

fn answer<T: serde::Serialize>(r: crate::service::Result<T>) -> Response {
    match r {
        Ok(v) => Response::json(StatusCode::OK, &v),
        Err(e) => Response::api_error(status_of(&e), e.message()),
    }
}

fn search(ui: &Ui, call: &Call) -> Response {
    match service(ui) {
        Ok(s) => track(&s, call),
        Err(r) => r,
    }
}

/// One page of tracking rows; `before` / `after` take a page's `next` / `previous` cursor.
fn track(s: &Service, call: &Call) -> Response {
    match tracking::query(call) {
        Ok(mut q) => {
            q.limit = call.query("limit").and_then(|l| l.parse().ok()).or(q.limit);
            q.direction = call.query("direction").map(str::to_string);
            answer(s.track(&q))
        }
        Err(e) => Response::api_error(StatusCode::BAD_REQUEST, &e),
    }
}

fn trail(ui: &Ui, call: &Call) -> Response {
    match service(ui) {
        Ok(s) => answer(s.trail(call.param("guid").unwrap_or_default())),
        Err(r) => r,
    }
}

fn report(ui: &Ui, call: &Call, which: Which) -> Response {
    let s = match service(ui) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let a = match reports::ask(call) {
        Ok(Some(a)) => a,
        Ok(None) => return Response::api_error(StatusCode::BAD_REQUEST, "give from and to"),
        Err(e) => return Response::api_error(StatusCode::BAD_REQUEST, &e),
    };
    match which {
        Which::Summary => answer(s.summary_report(a.from, a.to)),
        Which::Detail => {
            let max = s.config().reports.detail_max_rows;
            let limit = call
                .query("limit")
                .and_then(|l| l.parse().ok())
                .unwrap_or(max);
            answer(s.detail_report(a.from, a.to, a.types, a.text, limit))
        }
    }
}

fn summary(ui: &Ui, call: &Call) -> Response {
    report(ui, call, Which::Summary)
}

fn detail(ui: &Ui, call: &Call) -> Response {
    report(ui, call, Which::Detail)
}

#[cfg(test)]
mod tests {
    use hyper::Method;
    use serde_json::Value;

    use super::*;
    use crate::admin::pages::fixture::{NOW, call, service, text};
    use crate::events::{Field, Fields, Kind};
    use crate::service::Role;

    #[test]
    fn tracking_pages_follow_the_cursor_and_refuse_a_bad_one() {
        let (s, store) = service();
        for i in 0..120u64 {
            let f = Fields::new().with(Field::EmailLocalId, format!("m{i}"));
            store
                .write_blocking(move |txn| {
                    crate::store::events::append(txn, NOW - 500 + i / 4, Kind::MessageRelayed, f)
                })
                .unwrap();
        }
        let get = |url: &str| {
            let r = track(&s, &call(Role::Auditor, Method::GET, url, ""));
            let v: Value = serde_json::from_str(&text(&r)).unwrap();
            (r.status, v)
        };
        let (status, one) = get("/api/v1/tracking?limit=50");
        assert_eq!(status, StatusCode::OK);
        let mut seen: Vec<Value> = one["items"].as_array().unwrap().clone();
        let (mut next, mut pages) = (one["next"].clone(), 1);
        while let Some(c) = next.as_str() {
            let (_, v) = get(&format!("/api/v1/tracking?limit=50&before={c}"));
            assert!(v["previous"].is_string());
            seen.extend(v["items"].as_array().unwrap().iter().cloned());
            next = v["next"].clone();
            pages += 1;
        }
        assert_eq!(pages, 3);
        let guids: Vec<&str> = seen.iter().map(|r| r["guid"].as_str().unwrap()).collect();
        let expected: Vec<String> = (0..120).rev().map(|i| format!("m{i}")).collect();
        assert_eq!(guids, expected);
        let (status, v) = get("/api/v1/tracking?before=tomorrow");
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("not a page cursor"),
            "{v}"
        );
    }
}
