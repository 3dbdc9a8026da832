//! One request as the handlers see it: method, path and its parameters, query, the (bounded) body,
//! the client, the time, and who is signed in. A plain value: handlers are tested by building one.

use std::net::IpAddr;

use hyper::{HeaderMap, Method};
use serde::de::DeserializeOwned;

use super::form::{self, Form};
use super::response::Response;
use crate::service::{Permission, Role};

/// Who is signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Principal {
    pub user: String,
    pub role: Role,
    pub via: Via,
}

/// How the principal proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Via {
    /// A browser session: its id (the cookie's value) and its CSRF token.
    Session { id: String, csrf: String },
    /// An API token (its public id).
    Token { id: String },
}

impl Principal {
    /// Whether the role has `p`.
    pub(crate) fn can(&self, p: Permission) -> bool {
        self.role.allows(p)
    }

    /// The session's CSRF token, for forms (`None` for API tokens).
    pub(crate) fn csrf(&self) -> Option<&str> {
        match &self.via {
            Via::Session { csrf, .. } => Some(csrf),
            Via::Token { .. } => None,
        }
    }
}

/// One request.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub method: Method,
    /// The path, without the query string.
    pub path: String,
    /// The route's path parameters (`{id}`), decoded by matchit.
    pub params: Vec<(String, String)>,
    /// The query string's fields, decoded.
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    /// The body when the route reads one (bounded by `admin.max_body` / `max_upload`).
    pub body: Vec<u8>,
    pub peer: IpAddr,
    /// Unix seconds.
    pub now: u64,
    pub principal: Option<Principal>,
}

impl Call {
    /// A GET of `path_and_query` by nobody, at `now` (tests and internal redirects).
    pub(crate) fn new(method: Method, path_and_query: &str, peer: IpAddr, now: u64) -> Call {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        Call {
            method,
            path: path.to_string(),
            params: Vec::new(),
            query: form::pairs(query.as_bytes()),
            headers: HeaderMap::new(),
            body: Vec::new(),
            peer,
            now,
            principal: None,
        }
    }

    /// A path parameter.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        lookup(&self.params, name)
    }

    /// A query field (the first of that name), `None` when absent or empty.
    pub(crate) fn query(&self, name: &str) -> Option<&str> {
        lookup(&self.query, name).filter(|v| !v.trim().is_empty())
    }

    /// The body as a form.
    pub(crate) fn form(&self) -> Form {
        Form::parse(&self.body)
    }

    /// The body as JSON of type `T`, or the 400 that says why not.
    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T, Response> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Response::api_error(
                hyper::StatusCode::BAD_REQUEST,
                &format!("invalid JSON body: {e}"),
            )
        })
    }

    /// A request header as text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The signed-in user's name (for audit entries and histories), or `"anonymous"`.
    pub(crate) fn actor(&self) -> &str {
        self.principal
            .as_ref()
            .map_or("anonymous", |p| p.user.as_str())
    }

    /// The path with its query string, for `next=` after log-in (only our own paths).
    pub(crate) fn here(&self) -> String {
        if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, form::encode_pairs(&self.query))
        }
    }
}

fn lookup<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}
