//! Routing: a method and a path in, one closed [`Route`] out. No I/O, no state.

use hyper::Method;

use super::APPROVAL_PREFIX;

/// Every place a request can go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// `GET /healthz`: liveness for load balancers and monitors.
    Health,
    /// `GET /approval/{token}`: show the held message and the form; never acts.
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
        if path == "/healthz" {
            return if method == Method::GET {
                Route::Health
            } else {
                Route::MethodNotAllowed("GET")
            };
        }
        if let Some(token) = path.strip_prefix(APPROVAL_PREFIX)
            && !token.is_empty()
            && !token.contains('/')
        {
            let token = token.to_string();
            return match *method {
                Method::GET => Route::ApprovalShow(token),
                Method::POST => Route::ApprovalAct(token),
                _ => Route::MethodNotAllowed("GET, POST"),
            };
        }
        Route::NotFound
    }

    /// Whether the handler reads the request body.
    pub(crate) fn wants_body(&self) -> bool {
        matches!(self, Route::ApprovalAct(_))
    }

    /// Whether the handler may block (desk calls): run it off the async threads.
    pub(crate) fn blocks(&self) -> bool {
        matches!(self, Route::ApprovalShow(_) | Route::ApprovalAct(_))
    }

    /// A name for logs: never the path, which may hold a token.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Route::Health => "healthz",
            Route::ApprovalShow(_) => "approval.show",
            Route::ApprovalAct(_) => "approval.act",
            Route::NotFound => "not_found",
            Route::MethodNotAllowed(_) => "method_not_allowed",
        }
    }
}
