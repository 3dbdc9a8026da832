//! The route table: every address the admin port serves, as [`Def`]s (method, path pattern, who
//! may call it, what body it reads, the handler), looked up with matchit. Pure: no I/O, no state.
//!
//! `HEAD` goes wherever `GET` goes (RFC 9110 9.3.2: the same answer without the body; hyper leaves
//! the body out and keeps its `Content-Length`), so load balancers that probe with HEAD get 200.
//! A path served with other methods only is 405 with `Allow`; any other path is 404.

use hyper::Method;

use super::call::Call;
use super::response::Response;
use super::ui::Ui;
use crate::service::Permission;

/// A handler: the request in, the response out. Runs on the blocking pool (it may read the store).
pub(crate) type Handler = fn(&Ui, &Call) -> Response;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Anyone, from anywhere: `/healthz`, `/readyz`, the approval links (approvers are not admin
    /// users and need not be inside `admin.allowed_clients`), `/metrics` (its own allow list).
    Open,
    /// No sign-in, but only from `admin.allowed_clients`: log-in, set-up, static assets.
    Anonymous,
    /// A signed-in user (session cookie, or a bearer token under `/api/v1/`) whose role has the
    /// permission, from `admin.allowed_clients`.
    Signed(Permission),
}

/// What a handler reads of the request body (nothing is read for the others).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Input {
    None,
    /// `application/x-www-form-urlencoded`, at most `admin.max_body`; a form of a signed-in
    /// browser session must carry the session's CSRF token (field `csrf`).
    Form,
    /// A JSON body (the API), at most `admin.max_body`.
    Json,
    /// `multipart/form-data` (a certificate, an .eml to test a policy against), at most
    /// `admin.max_upload`; carries the CSRF token like a form.
    Upload,
}

/// One route.
#[derive(Clone)]
pub(crate) struct Def {
    pub method: Method,
    /// A matchit pattern: `/incidents/{id}`, `/assets/{name}`.
    pub path: &'static str,
    /// A stable name for logs and audit entries (never the path, which may hold a token).
    pub name: &'static str,
    pub access: Access,
    pub input: Input,
    pub handler: Handler,
}

impl Def {
    /// A route answering GET (and HEAD).
    pub(crate) const fn get(
        path: &'static str,
        name: &'static str,
        access: Access,
        handler: Handler,
    ) -> Def {
        Def {
            method: Method::GET,
            path,
            name,
            access,
            input: Input::None,
            handler,
        }
    }

    /// A route answering POST with a form.
    pub(crate) const fn post(
        path: &'static str,
        name: &'static str,
        access: Access,
        handler: Handler,
    ) -> Def {
        Def {
            method: Method::POST,
            path,
            name,
            access,
            input: Input::Form,
            handler,
        }
    }

    /// The same route reading another kind of body.
    pub(crate) fn reading(self, input: Input) -> Def {
        Def { input, ..self }
    }

    /// The same route answering another method (the API's PUT, PATCH and DELETE).
    pub(crate) fn answering(self, method: Method) -> Def {
        Def { method, ..self }
    }

    /// Whether this is a JSON API route (`/api/v1/...`): bearer tokens, JSON errors, no CSRF.
    pub(crate) fn is_api(&self) -> bool {
        self.path.starts_with(super::API_PREFIX)
    }
}

/// Where a request goes.
pub(crate) enum Lookup<'a> {
    Route(&'a Def, Vec<(String, String)>),
    NotFound,
    /// The path is served, not with this method; the value is the `Allow` header.
    MethodNotAllowed(String),
}

/// The table.
pub(crate) struct Router {
    paths: matchit::Router<Vec<usize>>,
    defs: Vec<Def>,
}

impl Router {
    /// The table over `defs`. Two defs with the same method and path, or a pattern matchit
    /// refuses, is a programming error caught by the tests (every table is built in one).
    pub(crate) fn new(defs: Vec<Def>) -> Result<Router, String> {
        let mut by_path: Vec<(&'static str, Vec<usize>)> = Vec::new();
        for (i, d) in defs.iter().enumerate() {
            match by_path.iter_mut().find(|(p, _)| *p == d.path) {
                Some((_, v)) => {
                    if v.iter().any(|&j| defs[j].method == d.method) {
                        return Err(format!("{} {} is defined twice", d.method, d.path));
                    }
                    v.push(i);
                }
                None => by_path.push((d.path, vec![i])),
            }
        }
        let mut paths = matchit::Router::new();
        for (p, v) in by_path {
            paths.insert(p, v).map_err(|e| format!("{p}: {e}"))?;
        }
        Ok(Router { paths, defs })
    }

    /// Where `method path` goes (the path without its query string).
    pub(crate) fn find(&self, method: &Method, path: &str) -> Lookup<'_> {
        let Ok(m) = self.paths.at(path) else {
            return Lookup::NotFound;
        };
        let method = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        let params = || {
            m.params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        match m
            .value
            .iter()
            .map(|&i| &self.defs[i])
            .find(|d| d.method == method)
        {
            Some(d) => Lookup::Route(d, params()),
            None => {
                let mut allow: Vec<&str> = m
                    .value
                    .iter()
                    .map(|&i| self.defs[i].method.as_str())
                    .collect();
                if allow.contains(&"GET") {
                    allow.push("HEAD");
                }
                Lookup::MethodNotAllowed(allow.join(", "))
            }
        }
    }
}

/// A handler for tests of the table.
#[cfg(test)]
pub(crate) fn nothing(_: &Ui, _: &Call) -> Response {
    Response::text(hyper::StatusCode::NO_CONTENT, "")
}

#[cfg(test)]
mod tests {
    //! Lookup, HEAD, 404 and 405 with Allow, duplicate definitions refused.
    use super::*;

    fn table() -> Router {
        Router::new(vec![
            Def::get(
                "/incidents",
                "incidents",
                Access::Signed(Permission::ViewIncidents),
                nothing,
            ),
            Def::get(
                "/incidents/{id}",
                "incident",
                Access::Signed(Permission::ViewIncidents),
                nothing,
            ),
            Def::post(
                "/incidents/{id}",
                "incident.act",
                Access::Signed(Permission::Remediate),
                nothing,
            ),
        ])
        .unwrap()
    }

    #[test]
    fn finds_routes_and_their_params() {
        let t = table();
        match t.find(&Method::GET, "/incidents/42") {
            Lookup::Route(d, p) => {
                assert_eq!(d.name, "incident");
                assert_eq!(p, vec![("id".to_string(), "42".to_string())]);
            }
            _ => panic!("not found"),
        }
        assert!(
            matches!(t.find(&Method::HEAD, "/incidents"), Lookup::Route(d, _) if d.name == "incidents")
        );
        assert!(
            matches!(t.find(&Method::POST, "/incidents/1"), Lookup::Route(d, _) if d.name == "incident.act")
        );
        assert!(matches!(
            t.find(&Method::GET, "/incidents/1/x"),
            Lookup::NotFound
        ));
        assert!(matches!(t.find(&Method::GET, "/nope"), Lookup::NotFound));
        match t.find(&Method::DELETE, "/incidents/1") {
            Lookup::MethodNotAllowed(allow) => assert_eq!(allow, "GET, POST, HEAD"),
            _ => panic!("not 405"),
        }
    }

    #[test]
    fn a_route_defined_twice_is_refused() {
        let twice = Router::new(vec![
            Def::get("/a", "a", Access::Open, nothing),
            Def::get("/a", "b", Access::Open, nothing),
        ]);
        assert!(twice.is_err());
    }
}
