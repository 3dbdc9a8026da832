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
    let s = match service(ui) {
        Ok(s) => s,
        Err(r) => return r,
    };
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
