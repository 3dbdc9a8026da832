//! The admin HTTPS server: the only module that knows HTTP and HTML. Today it serves `/healthz`,
//! `/readyz`, `/metrics` (for the clients `admin.metrics_allow` and `admin.metrics_token` admit:
//! `metrics`) and the approve / reject pages behind the signed links in approval notices; later
//! issues grow it into the admin UI on the same base.
//!
//! Layout: `route` turns a method and path into a closed [`route::Route`]; `approval` answers the
//! approval routes through the [`ApprovalDesk`] (pure apart from the desk: time comes in as a value);
//! `page` renders HTML with maud; `response` is the response value with the security headers every
//! response carries; `form` parses form bodies; `server` is the shell (TCP, TLS, hyper, limits).
//!
//! Security: everything from the network is untrusted. Every connection is bounded (count, count
//! per client, a deadline for handshake + head and one for the whole request, head and body
//! sizes). A GET never changes anything (mail scanners and previews fetch links); only a POST
//! whose form repeats the token's decision acts.
//! Malformed and forged links get the same page (no oracle). Logs carry the approval id, never the
//! token or the path that holds it, and never message content.

mod approval;
pub mod auth;
mod form;
mod metrics;
mod page;
mod response;
mod route;
mod server;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use crate::approval::ApprovalDesk;
use crate::link::token::Key;

pub use server::Server;

/// Bytes of request line plus headers accepted (hyper's minimum buffer); more gets 431.
pub const MAX_HEAD_BYTES: usize = 8192;
/// Header fields accepted in one request; more gets 431.
pub const MAX_HEADERS: usize = 48;
/// After the request deadline, how long a response being written may still take before the
/// connection is dropped (a client that does not read cannot hold a slot for ever).
pub const RESPONSE_WRITE_TIME: std::time::Duration = std::time::Duration::from_secs(10);

pub(crate) use crate::link::APPROVAL_PREFIX;

/// What the request handlers need: the desk and the key that signs approval links, who may read
/// `/metrics`, and the monitor's health (`None`: none wired; `/readyz` then says ready).
pub(crate) struct Handlers {
    pub desk: Arc<dyn ApprovalDesk>,
    pub key: Key,
    pub metrics_access: metrics::Access,
    pub health: Option<Arc<crate::monitor::Health>>,
}

impl Handlers {
    /// Where a request from `peer` with this `Authorization` header value goes: `/metrics` from a
    /// client [`metrics::Access`] does not admit becomes [`route::Route::Forbidden`].
    pub(crate) fn admit(
        &self,
        route: route::Route,
        peer: std::net::IpAddr,
        authorization: Option<&[u8]>,
    ) -> route::Route {
        match route {
            route::Route::Metrics if !self.metrics_access.allows(peer, authorization) => {
                route::Route::Forbidden
            }
            other => other,
        }
    }

    /// The answer to one routed request; `body` is the (bounded) request body, `now` Unix seconds.
    pub(crate) fn respond(
        &self,
        route: &route::Route,
        body: &[u8],
        now: u64,
    ) -> response::Response {
        use hyper::StatusCode;
        use response::Response;
        use route::Route;
        match route {
            Route::Health => Response::text(StatusCode::OK, "ok"),
            Route::Ready => metrics::ready(self.health.as_deref()),
            Route::Metrics => metrics::metrics(self.health.as_deref()),
            Route::Forbidden => metrics::forbidden(),
            Route::ApprovalShow(token) => approval::show(self, token, now),
            Route::ApprovalAct(token) => approval::act(self, token, body, now),
            Route::NotFound => not_found(),
            Route::MethodNotAllowed(allow) => response::Response {
                allow: Some(allow),
                ..Response::html(
                    StatusCode::METHOD_NOT_ALLOWED,
                    page::error(
                        "Method not allowed",
                        "This address does not take that kind of request.",
                    ),
                )
            },
        }
    }
}

fn not_found() -> response::Response {
    response::Response::html(
        hyper::StatusCode::NOT_FOUND,
        page::error("Not found", "There is no page at this address."),
    )
}

/// 413: the body is larger than `admin.max_body`.
fn too_large() -> response::Response {
    response::Response::html(
        hyper::StatusCode::PAYLOAD_TOO_LARGE,
        page::error(
            "Request too large",
            "The request body is larger than allowed.",
        ),
    )
}

/// 408: the request head did not arrive within `admin.header_timeout`, or the request within
/// `admin.request_timeout`.
fn timed_out() -> response::Response {
    response::Response::html(
        hyper::StatusCode::REQUEST_TIMEOUT,
        page::error(
            "Request timed out",
            "The request did not arrive in time. Please try again.",
        ),
    )
}
