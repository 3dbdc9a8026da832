//! The admin HTTPS server: the only module that knows HTTP and HTML. It serves the admin UI
//! (server-rendered pages for administrators, policy authors, remediators and auditors), its JSON
//! API under `/api/v1`, the approve / reject pages behind the signed links in approval notices,
//! `/healthz`, `/readyz` and `/metrics`.
//!
//! Layout: `router` is the route table ([`router::Def`]: method, path pattern, who may call it,
//! what body it reads, the handler; matchit finds them) and `routes` gathers every module's
//! routes; `call` is the request as a value and `ui` the handlers' context and the gate every
//! request passes (client allow list, sign-in, role, CSRF); `pages` renders the UI with maud,
//! `api` answers JSON, `approval` and `page` the approval links, `metrics` the monitoring
//! endpoints; `response` is the response value with the security headers every response carries;
//! `form` parses form bodies and query strings; `server` is the shell (TCP, TLS, hyper, limits)
//! and `stamp` puts the security headers on the responses hyper writes itself.
//!
//! Security: everything from the network is untrusted. Every connection is bounded (count, count
//! per client, a deadline for handshake + head and one for the whole request, head and body
//! sizes). A GET never changes anything (mail scanners and previews fetch links). Every form of a
//! signed-in page carries the session's CSRF token; cross-site POSTs are refused. Values from mail
//! (subjects, names, addresses) are text in maud templates, never markup. Malformed and forged
//! approval links get the same page (no oracle). Logs carry route names, never the path (which
//! may hold a token) and never message content.

mod api;
mod approval;
pub mod auth;
mod call;
mod form;
mod metrics;
mod page;
mod pages;
mod response;
mod router;
mod routes;
mod server;
mod stamp;
mod ui;

#[cfg(test)]
mod role_matrix;
#[cfg(test)]
mod tests;

use hyper::StatusCode;

use call::Call;
use response::Response;
use router::{Access, Def};

pub use server::Server;
pub use ui::App;

/// Bytes of request line plus headers accepted (hyper's minimum buffer); more gets 431.
pub const MAX_HEAD_BYTES: usize = 8192;
/// Header fields accepted in one request; more gets 431.
pub const MAX_HEADERS: usize = 48;
/// After the request deadline, how long a response being written may still take before the
/// connection is dropped (a client that does not read cannot hold a slot for ever).
pub const RESPONSE_WRITE_TIME: std::time::Duration = std::time::Duration::from_secs(10);

pub(crate) use crate::link::APPROVAL_PREFIX;

/// The JSON API's routes start with this.
pub(crate) const API_PREFIX: &str = "/api/v1/";

/// The routes that are not pages: monitoring and the approval links.
fn base_routes() -> Vec<Def> {
    vec![
        Def::get("/healthz", "healthz", Access::Open, |_, _| {
            Response::text(StatusCode::OK, "ok")
        }),
        Def::get("/readyz", "readyz", Access::Open, |ui, _| {
            metrics::ready(ui.health.as_deref())
        }),
        Def::get("/metrics", "metrics", Access::Open, metrics_route),
        Def::get(
            "/approval/{token}",
            "approval.show",
            Access::Open,
            |ui, call| approval::show(ui, call.param("token").unwrap_or_default(), call.now),
        ),
        Def::post(
            "/approval/{token}",
            "approval.act",
            Access::Open,
            |ui, call| {
                approval::act(
                    ui,
                    call.param("token").unwrap_or_default(),
                    &call.body,
                    call.now,
                )
            },
        ),
    ]
}

/// `/metrics` for the clients `admin.metrics_allow` and `admin.metrics_token` admit; 403 else.
fn metrics_route(ui: &ui::Ui, call: &Call) -> Response {
    let authorization = call
        .headers
        .get(hyper::header::AUTHORIZATION)
        .map(|v| v.as_bytes());
    if ui.metrics_access().allows(call.peer, authorization) {
        metrics::metrics(ui.health.as_deref())
    } else {
        metrics::forbidden()
    }
}

fn not_found() -> Response {
    pages::failure(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no page at this address.",
    )
}

fn method_not_allowed(allow: String) -> Response {
    pages::failure(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method not allowed",
        "This address does not take that kind of request.",
    )
    .header(hyper::header::ALLOW, allow)
}

/// 413: the body is larger than `admin.max_body` (or `admin.max_upload`).
fn too_large() -> Response {
    pages::failure(
        StatusCode::PAYLOAD_TOO_LARGE,
        "Request too large",
        "The request body is larger than allowed.",
    )
}

/// 408: the request head did not arrive within `admin.header_timeout`, or the request within
/// `admin.request_timeout`.
fn timed_out() -> Response {
    pages::failure(
        StatusCode::REQUEST_TIMEOUT,
        "Request timed out",
        "The request did not arrive in time. Please try again.",
    )
}
