//! The response as a value (status, body, `Allow`), the security headers every response carries,
//! and the two ways out: into hyper, or as raw HTTP/1.1 bytes when hyper no longer owns the stream.

use hyper::StatusCode;
use hyper::body::Bytes;
use hyper::header::{ALLOW, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue};

/// Headers on every response. Tokens are in URLs, so no referrer and no caching; no framing; the
/// pages need no script, only inline styles, and forms post only back to us.
pub const SECURITY_HEADERS: [(&str, &str); 6] = [
    (
        "content-security-policy",
        "default-src 'none'; style-src 'self' 'unsafe-inline'; form-action 'self'",
    ),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
    ("strict-transport-security", "max-age=31536000"),
    ("x-content-type-options", "nosniff"),
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
}

/// What a handler answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    pub status: StatusCode,
    pub body: Body,
    /// The `Allow` header of a 405.
    pub allow: Option<&'static str>,
}

impl Response {
    pub(crate) fn html(status: StatusCode, page: String) -> Response {
        Response {
            status,
            body: Body::Html(page),
            allow: None,
        }
    }

    pub(crate) fn text(status: StatusCode, text: &'static str) -> Response {
        Response {
            status,
            body: Body::Text(text),
            allow: None,
        }
    }

    fn content_type(&self) -> &'static str {
        match self.body {
            Body::Html(_) => "text/html; charset=utf-8",
            Body::Text(_) => "text/plain; charset=utf-8",
            Body::Metrics(_) => crate::metrics::CONTENT_TYPE,
        }
    }

    fn bytes(&self) -> Bytes {
        match &self.body {
            Body::Html(s) => Bytes::from(s.clone().into_bytes()),
            Body::Text(s) => Bytes::from_static(s.as_bytes()),
            Body::Metrics(s) => Bytes::from(s.clone().into_bytes()),
        }
    }

    /// The hyper response, with the security headers.
    pub(crate) fn into_hyper(self) -> hyper::Response<http_body_util::Full<Bytes>> {
        let content_type = self.content_type();
        let allow = self.allow;
        let mut r = hyper::Response::new(http_body_util::Full::new(self.bytes()));
        *r.status_mut() = self.status;
        let h = r.headers_mut();
        h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        for (name, value) in SECURITY_HEADERS {
            h.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        if let Some(allow) = allow {
            h.insert(ALLOW, HeaderValue::from_static(allow));
        }
        r
    }

    /// The whole response as HTTP/1.1 bytes that close the connection (used for 408, when the
    /// request head never completed and hyper gave the stream back).
    pub(crate) fn to_http1_bytes(&self) -> Vec<u8> {
        let body = self.bytes();
        let reason = self.status.canonical_reason().unwrap_or("");
        let mut out = format!("HTTP/1.1 {} {reason}\r\n", self.status.as_u16());
        out.push_str(&format!("{CONTENT_TYPE}: {}\r\n", self.content_type()));
        out.push_str(&format!("{CONTENT_LENGTH}: {}\r\n", body.len()));
        out.push_str(&format!("{CONNECTION}: close\r\n"));
        for (name, value) in SECURITY_HEADERS {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Some(allow) = self.allow {
            out.push_str(&format!("{ALLOW}: {allow}\r\n"));
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&body);
        bytes
    }
}
