//! The `[admin]` and `[queue]` sections: the admin HTTPS listener and the delivery queue's retry
//! schedule (defaults in `assets/sluice.toml`).

use std::net::SocketAddr;
use std::time::Duration;

use super::MAX_QUEUE_RETRY_STEPS;
use super::raw;
use super::value::{self, Ctx, Error};

/// The admin HTTPS server: approval links today, the admin UI later.
#[derive(Debug, Clone)]
pub struct Admin {
    /// Whether the server runs at all.
    pub enabled: bool,
    pub address: SocketAddr,
    /// The base of links in notices (`https://host:port`, no trailing slash).
    pub public_url: String,
    /// Whether `public_url` was configured (else it is derived from the host name and port, and
    /// `serve` warns at start: approvers may not reach that address).
    pub public_url_set: bool,
    /// Concurrent connections; more are closed at once.
    pub max_connections: usize,
    /// Concurrent connections from one client address (IPv6: one /64); more are closed at once.
    pub max_connections_per_client: usize,
    /// The TLS handshake and the request head must arrive within this (else 408 and close); at
    /// most `request_timeout`.
    pub header_timeout: Duration,
    /// The whole request, body included, must arrive within this (else 408 and close).
    pub request_timeout: Duration,
    /// Largest request body, in bytes (else 413).
    pub max_body: usize,
    /// Clients that may read `/metrics` without a token (default: loopback only).
    pub metrics_allow: Vec<ipnet::IpNet>,
    /// When set, `Authorization: Bearer <token>` lets any other client read `/metrics`.
    pub metrics_token: Option<String>,
    /// Versions of the configuration file kept in `<data_dir>/config-history/` (admin UI edits).
    pub config_history: usize,
    /// Clients that may use the admin UI and API (log-in, pages, `/api/v1`); the approval links,
    /// `/healthz`, `/readyz` and `/metrics` (its own list) are outside it.
    pub allowed_clients: Vec<ipnet::IpNet>,
    /// Largest upload (a certificate, an .eml to test a policy against), in bytes.
    pub max_upload: usize,
    /// The administrators' sign-in: session timeouts, throttling, the audit log's age.
    pub auth: Auth,
}

/// `[admin]`'s sign-in keys (see `admin::auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Auth {
    /// A session unused this long ends (`session_idle`).
    pub session_idle: Duration,
    /// A session ends this long after sign-in, used or not (`session_max`).
    pub session_max: Duration,
    /// Sessions kept at once; past it the least recently used ends (`session_limit`).
    pub session_limit: usize,
    /// Failed sign-ins of one account or one client before it is locked out (`logon_max_failures`).
    pub logon_max_failures: u32,
    /// The first lock-out; each further one doubles it, up to a day (`logon_lockout`).
    pub logon_lockout: Duration,
    /// Audit log entries older than this are removed (`audit_max_age`).
    pub audit_max_age: Duration,
}

/// `[queue]`: how the durable delivery queue retries, notifies and gives up (see `delivery`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    /// Waits after the 1st, 2nd, ... failed attempt; the last one repeats. Whole seconds.
    pub retry: Vec<Duration>,
    /// Time from queueing after which the remaining recipients are bounced.
    pub give_up: Duration,
    /// Time from queueing after which one delay notice goes to the sender; zero: at the first failure.
    pub delay_notice: Duration,
    /// How long an entry taken for delivery stays taken (a crash makes it due again after this).
    pub lease: Duration,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// Whether Sluice's own notices (non-null sender) get delay notices and bounces too.
    pub bounce_sender_notices: bool,
}

/// A queue time: whole seconds, at least one (`zero_ok`: "0s" allowed too).
fn queue_secs(v: value::Loc<'_, String>, zero_ok: bool) -> Result<Duration, Error> {
    v.parse_with(|s| {
        let t = s.trim();
        if zero_ok && t.trim_end_matches('s') == "0" {
            return Ok(Duration::ZERO);
        }
        let d = value::parse_duration(t)?;
        if d.subsec_nanos() != 0 {
            return Err(format!("{s:?}: queue times are whole seconds"));
        }
        Ok(d)
    })
}

pub(super) fn build_queue(cx: &Ctx<'_>, uq: raw::Queue, dq: raw::Queue) -> Result<Queue, Error> {
    let retry_list = cx.pick(uq.retry, dq.retry, "queue.retry")?;
    let empty = retry_list.error("queue.retry needs at least one interval, e.g. [\"1m\", \"5m\"]");
    let too_many = retry_list.error(&format!(
        "queue.retry has more than {MAX_QUEUE_RETRY_STEPS} intervals (the last one repeats)"
    ));
    let mut retry = Vec::new();
    for item in retry_list.items() {
        retry.push(queue_secs(item, false)?);
    }
    if retry.is_empty() {
        return Err(empty);
    }
    if retry.len() > MAX_QUEUE_RETRY_STEPS {
        return Err(too_many);
    }
    let give_up = cx.pick(uq.give_up, dq.give_up, "queue.give_up")?;
    let give_up = queue_secs(give_up, false)?;
    let delay_notice = cx.pick(uq.delay_notice, dq.delay_notice, "queue.delay_notice")?;
    let late = delay_notice.error("queue.delay_notice must be shorter than queue.give_up");
    let delay_notice = queue_secs(delay_notice, true)?;
    if delay_notice >= give_up {
        return Err(late);
    }
    let lease = cx.pick(uq.lease, dq.lease, "queue.lease")?;
    let short =
        lease.error("queue.lease must be at least 5s (a delivery attempt is bounded by it)");
    let lease = queue_secs(lease, false)?;
    if lease < Duration::from_secs(5) {
        return Err(short);
    }
    Ok(Queue {
        retry,
        give_up,
        delay_notice,
        lease,
        concurrency: cx
            .pick(uq.concurrency, dq.concurrency, "queue.concurrency")?
            .range(1, 1000)? as usize,
        bounce_sender_notices: cx
            .pick(
                uq.bounce_sender_notices,
                dq.bounce_sender_notices,
                "queue.bounce_sender_notices",
            )?
            .take(),
    })
}

pub(super) fn build_admin(
    cx: &Ctx<'_>,
    ua: raw::Admin,
    da: raw::Admin,
    hostname: &str,
) -> Result<Admin, Error> {
    let address = cx
        .pick(ua.address, da.address, "admin.address")?
        .parse_with(|s| {
            s.parse::<SocketAddr>().map_err(|_| {
                "expected an address like \"0.0.0.0:8443\" or \"[::]:8443\"".to_string()
            })
        })?;
    let public_url = cx
        .pick(ua.public_url, da.public_url, "admin.public_url")?
        .parse_with(|s| parse_public_url(s))?;
    let public_url_set = !public_url.is_empty();
    let public_url = if !public_url_set {
        format!("https://{hostname}:{}", address.port())
    } else {
        public_url
    };
    let request_timeout = cx
        .pick(
            ua.request_timeout,
            da.request_timeout,
            "admin.request_timeout",
        )?
        .duration()?;
    // The head is part of the request: a shorter request_timeout bounds it too.
    let header_timeout = cx
        .pick(ua.header_timeout, da.header_timeout, "admin.header_timeout")?
        .duration()?
        .min(request_timeout);
    Ok(Admin {
        enabled: cx.pick(ua.enabled, da.enabled, "admin.enabled")?.take(),
        address,
        public_url,
        public_url_set,
        max_connections: cx
            .pick(
                ua.max_connections,
                da.max_connections,
                "admin.max_connections",
            )?
            .range(1, 100_000)? as usize,
        max_connections_per_client: cx
            .pick(
                ua.max_connections_per_client,
                da.max_connections_per_client,
                "admin.max_connections_per_client",
            )?
            .range(1, 100_000)? as usize,
        header_timeout,
        request_timeout,
        max_body: cx
            .pick(ua.max_body, da.max_body, "admin.max_body")?
            .range(1024, 1 << 24)? as usize,
        metrics_allow: cidrs(cx.pick(
            ua.metrics_allow,
            da.metrics_allow,
            "admin.metrics_allow",
        )?)?,
        allowed_clients: cidrs(cx.pick(
            ua.allowed_clients,
            da.allowed_clients,
            "admin.allowed_clients",
        )?)?,
        max_upload: cx
            .pick(ua.max_upload, da.max_upload, "admin.max_upload")?
            .range(1 << 16, 1 << 30)? as usize,
        metrics_token: cx
            .pick(ua.metrics_token, da.metrics_token, "admin.metrics_token")?
            .parse_with(|s| parse_token(s))?,
        config_history: cx
            .pick(ua.config_history, da.config_history, "admin.config_history")?
            .range(1, 100_000)? as usize,
        auth: Auth {
            session_idle: cx
                .pick(ua.session_idle, da.session_idle, "admin.session_idle")?
                .duration()?,
            session_max: cx
                .pick(ua.session_max, da.session_max, "admin.session_max")?
                .duration()?,
            session_limit: cx
                .pick(ua.session_limit, da.session_limit, "admin.session_limit")?
                .range(1, 1_000_000)? as usize,
            logon_max_failures: cx
                .pick(
                    ua.logon_max_failures,
                    da.logon_max_failures,
                    "admin.logon_max_failures",
                )?
                .range(1, 1000)? as u32,
            logon_lockout: cx
                .pick(ua.logon_lockout, da.logon_lockout, "admin.logon_lockout")?
                .duration()?,
            audit_max_age: cx
                .pick(ua.audit_max_age, da.audit_max_age, "admin.audit_max_age")?
                .duration()?,
        },
    })
}

/// A list of CIDR networks.
fn cidrs(list: value::Loc<'_, Vec<toml::Spanned<String>>>) -> Result<Vec<ipnet::IpNet>, Error> {
    let mut out = Vec::new();
    for item in list.items() {
        out.push(item.parse_with(|s| super::syntax::parse_cidr(s))?);
    }
    Ok(out)
}

/// Shortest `admin.metrics_token` accepted: a bearer token is a password.
pub const MIN_TOKEN_CHARS: usize = 16;

/// Empty (no token), or at least [`MIN_TOKEN_CHARS`] visible ASCII characters (RFC 6750's
/// token68 alphabet is narrower; any visible character but a space works in the header).
fn parse_token(s: &str) -> Result<Option<String>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    if s.len() < MIN_TOKEN_CHARS || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "admin.metrics_token must be empty or at least {MIN_TOKEN_CHARS} visible ASCII characters without spaces"
        ));
    }
    Ok(Some(s.to_string()))
}

/// Empty, or an `https://` URL without query or fragment; the trailing slash is dropped.
fn parse_public_url(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(String::new());
    }
    let rest = s
        .strip_prefix("https://")
        .ok_or_else(|| format!("{s:?} must start with https:// (approval links carry secrets)"))?;
    if rest.is_empty()
        || rest.starts_with('/')
        || rest.contains(['?', '#'])
        || rest.bytes().any(|b| !b.is_ascii_graphic())
    {
        return Err(format!(
            "{s:?} is not a base URL like \"https://mail.example.com:8443\""
        ));
    }
    Ok(s.trim_end_matches('/').to_string())
}
