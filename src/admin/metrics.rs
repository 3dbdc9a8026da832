//! `/metrics`, `/healthz` and `/readyz`: who may read the metrics, and the answers.
//!
//! The rule for `/metrics` (`admin.metrics_allow`, `admin.metrics_token`): a client whose address
//! is in the allow list is let in; any other client is let in only when a token is configured and
//! the request carries `Authorization: Bearer <token>`; everyone else gets 403, the same page
//! whether a token is configured, missing or wrong (no oracle). Tokens are compared as BLAKE3
//! digests in constant time, so neither the length nor a prefix of the configured token leaks.
//! IPv4 clients of a dual-stack listener (`::ffff:a.b.c.d`) are matched as IPv4.

use std::net::IpAddr;

use hyper::StatusCode;
use ipnet::IpNet;

use super::response::Response;

/// Who may read `/metrics`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Access {
    allow: Vec<IpNet>,
    /// BLAKE3 of the configured token.
    token: Option<[u8; 32]>,
}

impl Access {
    pub(crate) fn new(allow: Vec<IpNet>, token: Option<&str>) -> Access {
        Access {
            allow,
            token: token.map(|t| *blake3::hash(t.as_bytes()).as_bytes()),
        }
    }

    /// Whether a request from `peer` with this `Authorization` header value may read `/metrics`.
    pub(crate) fn allows(&self, peer: IpAddr, authorization: Option<&[u8]>) -> bool {
        let peer = peer.to_canonical();
        if self.allow.iter().any(|net| net.contains(&peer)) {
            return true;
        }
        let (Some(want), Some(header)) = (&self.token, authorization) else {
            return false;
        };
        let Some(given) = bearer(header) else {
            return false;
        };
        let given = blake3::hash(given);
        aws_lc_rs::constant_time::verify_slices_are_equal(want, given.as_bytes()).is_ok()
    }
}

/// The credentials of `Bearer <token>` (the scheme is case-insensitive, RFC 9110 11.1).
fn bearer(header: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = header.split_at_checked(7)?;
    if !scheme.eq_ignore_ascii_case(b"bearer ") {
        return None;
    }
    let token = rest.trim_ascii();
    (!token.is_empty()).then_some(token)
}

/// 403 for a refused `/metrics` request (one text for every reason).
pub(crate) fn forbidden() -> Response {
    Response::text(StatusCode::FORBIDDEN, "forbidden")
}

/// `/readyz`: 200 `ready`, or 503 with the reason.
pub(crate) fn ready(health: Option<&crate::monitor::Health>) -> Response {
    match health.map_or(Ok(()), |h| h.readiness()) {
        Ok(()) => Response::text(StatusCode::OK, "ready"),
        Err(reason) => Response::text(StatusCode::SERVICE_UNAVAILABLE, reason),
    }
}

/// `/metrics`: the text exposition (without a monitor, what the process counted).
pub(crate) fn metrics(health: Option<&crate::monitor::Health>) -> Response {
    let text = match health {
        Some(h) => h.metrics(),
        None => crate::metrics::global().render(&crate::metrics::Snapshot::default()),
    };
    Response::metrics(text)
}
