//! The response as a value (status, body, extra headers), the security headers every response
//! carries, the one mapping of service errors to HTTP statuses, and the two ways out: into hyper,
//! or as raw HTTP/1.1 bytes when hyper no longer owns the stream.

use hyper::StatusCode;
use hyper::body::Bytes;
use hyper::header::{
    CONNECTION, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue,
    LOCATION, SET_COOKIE,
};
use serde::Serialize;

/// The Content-Security-Policy of every response: scripts and styles only from our own embedded
/// assets (no inline script or style, no `eval`), images from us or `data:` (inline SVG charts are
/// markup, not images), forms post only to us, no framing, no `<base>`.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Headers on every response, hyper's own error responses included. Tokens are in URLs, so no
/// referrer and no caching; no framing; no sniffing.
pub const SECURITY_HEADERS: [(&str, &str); 7] = [
    ("content-security-policy", CSP),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
    ("strict-transport-security", "max-age=31536000"),
    ("x-content-type-options", "nosniff"),
    ("cross-origin-opener-policy", "same-origin"),
];

/// A response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Body {
    /// A rendered page (`text/html; charset=utf-8`).
    Html(String),
    /// Plain text (`text/plain; charset=utf-8`).
    Text(&'static str),
    /// The metrics' text exposition ([`crate::metrics::CONTENT_TYPE`]).
    Metrics(String),
    /// `application/json`.
    Json(String),
    /// Any other content (a stylesheet, a CSV file, a raw message) with its type.
    Bytes {
        content_type: &'static str,
        bytes: Bytes,
    },
    /// Nothing (redirects, 204).
    Empty,
}

/// What a handler answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    pub status: StatusCode,
    pub body: Body,
    /// More headers: `Location`, `Set-Cookie`, `Content-Disposition`, `WWW-Authenticate`.
    pub headers: Vec<(HeaderName, String)>,
}

impl Response {
    fn with_body(status: StatusCode, body: Body) -> Response {
        Response {
            status,
            body,
            headers: Vec::new(),
        }
    }

    pub(crate) fn html(status: StatusCode, page: String) -> Response {
        Response::with_body(status, Body::Html(page))
    }

    pub(crate) fn text(status: StatusCode, text: &'static str) -> Response {
        Response::with_body(status, Body::Text(text))
    }

    pub(crate) fn metrics(text: String) -> Response {
        Response::with_body(StatusCode::OK, Body::Metrics(text))
    }

    /// `value` as JSON (an unserialisable value is a 500, which does not happen for our types).
    pub(crate) fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response {
        match serde_json::to_string(value) {
            Ok(s) => Response::with_body(status, Body::Json(s)),
            Err(e) => Response::api_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        }
    }

    /// The API's error shape: `{"error": {"status": 404, "message": "..."}}`.
    pub(crate) fn api_error(status: StatusCode, message: &str) -> Response {
        let v = serde_json::json!({"error": {"status": status.as_u16(), "message": message}});
        Response::with_body(status, Body::Json(v.to_string()))
    }

    /// Bytes of a fixed type.
    pub(crate) fn bytes(
        status: StatusCode,
        content_type: &'static str,
        bytes: Vec<u8>,
    ) -> Response {
        Response::with_body(
            status,
            Body::Bytes {
                content_type,
                bytes: Bytes::from(bytes),
            },
        )
    }

    /// A file download named `filename` (ASCII letters, digits, `.-_` only: ours, never the
    /// user's; anything else is replaced by `_`).
    pub(crate) fn download(content_type: &'static str, filename: &str, bytes: Vec<u8>) -> Response {
        let safe: String = filename
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        Response::bytes(StatusCode::OK, content_type, bytes).header(
            CONTENT_DISPOSITION,
            format!("attachment; filename=\"{safe}\""),
        )
    }

    /// 303 See Other to `location` (after a POST, or to the log-in page). Only local paths.
    pub(crate) fn redirect(location: &str) -> Response {
        let local =
            location.starts_with('/') && !location.starts_with("//") && !location.contains('\\');
        let location = if local { location } else { "/" };
        Response::with_body(StatusCode::SEE_OTHER, Body::Empty)
            .header(LOCATION, location.to_string())
    }

    /// An extra header (values with CR, LF or NUL are dropped: they never come from here).
    pub(crate) fn header(mut self, name: HeaderName, value: String) -> Response {
        if !value.contains(['\r', '\n', '\0']) {
            self.headers.push((name, value));
        }
        self
    }

    /// A `Set-Cookie` header.
    pub(crate) fn cookie(self, value: String) -> Response {
        self.header(SET_COOKIE, value)
    }

    fn content_type(&self) -> Option<&'static str> {
        match self.body {
            Body::Html(_) => Some("text/html; charset=utf-8"),
            Body::Text(_) => Some("text/plain; charset=utf-8"),
            Body::Metrics(_) => Some(crate::metrics::CONTENT_TYPE),
            Body::Json(_) => Some("application/json"),
            Body::Bytes { content_type, .. } => Some(content_type),
            Body::Empty => None,
        }
    }

    fn bytes_of(&self) -> Bytes {
        match &self.body {
            Body::Html(s) | Body::Metrics(s) | Body::Json(s) => Bytes::from(s.clone().into_bytes()),
            Body::Text(s) => Bytes::from_static(s.as_bytes()),
            Body::Bytes { bytes, .. } => bytes.clone(),
            Body::Empty => Bytes::new(),
        }
    }

    /// The hyper response, with the security headers.
    pub(crate) fn into_hyper(self) -> hyper::Response<http_body_util::Full<Bytes>> {
        let mut r = hyper::Response::new(http_body_util::Full::new(self.bytes_of()));
        *r.status_mut() = self.status;
        let h = r.headers_mut();
        if let Some(t) = self.content_type() {
            h.insert(CONTENT_TYPE, HeaderValue::from_static(t));
        }
        for (name, value) in SECURITY_HEADERS {
            h.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                h.append(name, v);
            }
        }
        r
    }

    /// The whole response as HTTP/1.1 bytes that close the connection (used for 408, when the
    /// request head never completed and hyper gave the stream back).
    pub(crate) fn to_http1_bytes(&self) -> Vec<u8> {
        let body = self.bytes_of();
        let reason = self.status.canonical_reason().unwrap_or("");
        let mut out = format!("HTTP/1.1 {} {reason}\r\n", self.status.as_u16());
        if let Some(t) = self.content_type() {
            out.push_str(&format!("{CONTENT_TYPE}: {t}\r\n"));
        }
        out.push_str(&format!("{CONTENT_LENGTH}: {}\r\n", body.len()));
        out.push_str(&format!("{CONNECTION}: close\r\n"));
        for (name, value) in SECURITY_HEADERS {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        for (name, value) in &self.headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&body);
        bytes
    }
}

/// The HTTP status of a service error: the one mapping, for pages and the API alike.
pub(crate) fn status_of(e: &crate::service::Error) -> StatusCode {
    use crate::service::ErrorKind;
    match e.kind() {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}
