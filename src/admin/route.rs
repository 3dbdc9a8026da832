//! Routing: a method and a path in, one closed [`Route`] out. No I/O, no state.
//!
//! `HEAD` goes wherever `GET` goes (RFC 9110 9.3.2: the same answer without the body; hyper leaves
//! the body out and keeps its `Content-Length`), so load balancers that probe with HEAD get 200.

use hyper::Method;

use super::APPROVAL_PREFIX;

/// Every place a request can go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// `GET` (or `HEAD`) `/healthz`: liveness for load balancers and monitors.
    Health,
    /// `GET` (or `HEAD`) `/readyz`: readiness (not draining, store writable, next hop reachable).
    Ready,
    /// `GET` (or `HEAD`) `/metrics`: Prometheus text format, for allowed clients.
    Metrics,
    /// `/metrics` from a client the allow list and the token do not admit.
    Forbidden,
    /// `GET` (or `HEAD`) `/approval/{token}`: show the held message and the form; never acts.
    ApprovalShow(String),
    /// `POST /approval/{token}`: carry out the decision the token grants.
    ApprovalAct(String),
    /// A path we do not serve.
    NotFound,
    /// A path we serve, with a method it does not take; the value is the `Allow` header.
    MethodNotAllowed(&'static str),
}

impl Route {
    /// Where `method path` goes. The query string is not part of `path`.
    pub(crate) fn parse(method: &Method, path: &str) -> Route {
        let get = method == Method::GET || method == Method::HEAD;
        let fixed = match path {
            "/healthz" => Some(Route::Health),
            "/readyz" => Some(Route::Ready),
            "/metrics" => Some(Route::Metrics),
            _ => None,
        };
        if let Some(route) = fixed {
            return if get {
                route
            } else {
                Route::MethodNotAllowed("GET, HEAD")
            };
        }
        if let Some(token) = path.strip_prefix(APPROVAL_PREFIX)
            && !token.is_empty()
            && !token.contains('/')
        {
            let token = token.to_string();
            return match *method {
                _ if get => Route::ApprovalShow(token),
                Method::POST => Route::ApprovalAct(token),
                _ => Route::MethodNotAllowed("GET, HEAD, POST"),
            };
        }
        Route::NotFound
    }

    /// Whether the handler reads the request body.
    pub(crate) fn wants_body(&self) -> bool {
        matches!(self, Route::ApprovalAct(_))
    }

    /// Whether the handler may block (desk calls, store reads): run it off the async threads.
    pub(crate) fn blocks(&self) -> bool {
        matches!(
            self,
            Route::ApprovalShow(_) | Route::ApprovalAct(_) | Route::Metrics
        )
    }

    /// A name for logs: never the path, which may hold a token.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Route::Health => "healthz",
            Route::Ready => "readyz",
            Route::Metrics => "metrics",
            Route::Forbidden => "forbidden",
            Route::ApprovalShow(_) => "approval.show",
            Route::ApprovalAct(_) => "approval.act",
            Route::NotFound => "not_found",
            Route::MethodNotAllowed(_) => "method_not_allowed",
        }
    }
}
