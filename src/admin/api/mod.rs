//! The JSON API under `/api/v1`: everything the pages do, for scripts, with bearer tokens (the
//! gate in `ui` authenticates and checks the role; errors are `Response::api_error`). The
//! OpenAPI 3.1 document (`assets/admin/openapi.json`) is served at `/api/v1/openapi.json`; a test
//! checks that it and the route table list the same routes.

pub(crate) mod records;

mod account;
mod policies;
mod queue;
mod settings;
mod status;

use hyper::StatusCode;

use super::call::Call;
use super::pages::config as cfg;
use super::response::{Response, status_of};
use super::router::{Access, Def};
use super::ui::Ui;
use crate::config::edit::{self, EditError};
use crate::service::Permission;

mod data;
mod notices;

/// The OpenAPI document.
pub(crate) const OPENAPI: &str = include_str!("../../../assets/admin/openapi.json");

pub(crate) fn routes() -> Vec<Def> {
    vec![
        Def::get(
            "/api/v1/openapi.json",
            "api.openapi",
            Access::Anonymous,
            openapi,
        ),
        Def::get(
            "/api/v1/whoami",
            "api.whoami",
            Access::Signed(Permission::ViewStatus),
            whoami,
        ),
    ]
    .into_iter()
    .chain(data::routes())
    .chain(notices::routes())
    .chain(policies::routes())
    .chain(settings::routes())
    .chain(account::routes())
    .chain(status::routes())
    .chain(queue::routes())
    .collect()
}

/// The 503 of a server without its store.
pub(crate) fn no_store() -> Response {
    Response::api_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "this server runs without its store",
    )
}

/// Runs `f` over the service (503 as JSON without a store).
pub(crate) fn with(
    ui: &Ui,
    call: &Call,
    f: impl FnOnce(&crate::service::Service, &Call) -> Response,
) -> Response {
    match ui.service() {
        Ok(s) => f(&s, call),
        Err(_) => no_store(),
    }
}

/// A service error as the API's error.
pub(crate) fn service_error(e: &crate::service::Error) -> Response {
    Response::api_error(status_of(e), e.message())
}

/// The configuration file as it is now.
pub(crate) fn current(ui: &Ui) -> Result<edit::Snapshot, Response> {
    let app = ui.app().map_err(|_| no_store())?;
    edit::read(&app.reloader.edit_target()).map_err(|e| edit_error(&e))
}

/// The digest a change must match: the one the client gives (`digest` in the body or the query,
/// or `If-Match`), else the file's as it is now (the change then applies to whatever is there).
pub(crate) fn digest_of(ui: &Ui, call: &Call, given: Option<&str>) -> String {
    let header = call.header("if-match").map(|v| v.trim().trim_matches('"'));
    match given.or(header) {
        Some(d) => d.to_string(),
        None => current(ui).map(|s| s.digest).unwrap_or_default(),
    }
}

/// A refused edit: the API's error with, for an invalid configuration or policy, where
/// (`place`: `policy` = the line counts in the policy's text; `file`: in the whole file).
pub(crate) fn edit_error(e: &EditError) -> Response {
    let status = cfg::status(e);
    let mut error = serde_json::json!({"status": status.as_u16(), "message": e.to_string()});
    if let EditError::Invalid {
        place, line, col, ..
    } = e
        && let Some(o) = error.as_object_mut()
    {
        o.insert("place".into(), serde_json::json!(place));
        o.insert("line".into(), (*line).into());
        o.insert("column".into(), (*col).into());
    }
    Response::json(status, &serde_json::json!({ "error": error }))
}

/// An applied change: `{"version", "changes", "restart_needed", "digest"}` (`version` null: the
/// change changed nothing).
pub(crate) fn applied(status: StatusCode, a: &edit::Applied) -> Response {
    Response::json(
        status,
        &serde_json::json!({
            "version": a.version, "changes": a.changes,
            "restart_needed": a.restart_needed, "digest": a.digest,
        }),
    )
}

fn openapi(_: &Ui, _: &Call) -> Response {
    Response::bytes(
        StatusCode::OK,
        "application/json",
        OPENAPI.as_bytes().to_vec(),
    )
}

fn whoami(_: &Ui, call: &Call) -> Response {
    match &call.principal {
        Some(p) => Response::json(
            StatusCode::OK,
            &serde_json::json!({"user": p.user, "role": p.role.name()}),
        ),
        None => Response::api_error(StatusCode::UNAUTHORIZED, "sign in with a bearer token"),
    }
}

#[cfg(test)]
mod tests {
    //! The document and the route table agree, route for route and method for method.
    use std::collections::BTreeSet;

    #[test]
    fn every_api_route_is_documented_and_every_documented_route_exists() {
        let doc: serde_json::Value = serde_json::from_str(super::OPENAPI).expect("valid JSON");
        assert_eq!(doc["openapi"], "3.1.0");
        let mut documented = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("path item").keys() {
                documented.insert((method.to_uppercase(), format!("/api/v1{path}")));
            }
        }
        let routed: BTreeSet<(String, String)> = super::super::routes::all()
            .iter()
            .filter(|d| d.is_api())
            .map(|d| (d.method.to_string(), d.path.to_string()))
            .collect();
        let missing: Vec<_> = routed.difference(&documented).collect();
        let phantom: Vec<_> = documented.difference(&routed).collect();
        assert!(
            missing.is_empty(),
            "routes missing from openapi.json: {missing:?}"
        );
        assert!(
            phantom.is_empty(),
            "documented routes that do not exist: {phantom:?}"
        );
    }
}
