//! The JSON API under `/api/v1`: everything the pages do, for scripts, with bearer tokens (the
//! gate in `ui` authenticates and checks the role; errors are `Response::api_error`). The
//! OpenAPI 3.1 document (`assets/admin/openapi.json`) is served at `/api/v1/openapi.json`; a test
//! checks that it and the route table list the same routes.

use hyper::StatusCode;

use super::call::Call;
use super::response::Response;
use super::router::{Access, Def};
use super::ui::Ui;
use crate::service::Permission;

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
