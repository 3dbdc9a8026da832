//! `[[siem]]` destinations and `[siem_defaults]`: where the event outbox is exported, in which
//! format, over which transport, with which filter. A key a destination leaves out takes its value
//! from `[siem_defaults]` (the user's, else the embedded one: `assets/sluice.toml`). Pure: certificate
//! files are named here and read by `export::destination` when the server starts (and by
//! `check-config`).

use std::path::PathBuf;
use std::time::Duration;

use toml::Spanned;

use super::raw;
use super::value::{Ctx, Error, Loc};
use crate::events::Category;
use crate::export::render::{Format, LeefVersion, SubjectMode};

/// One configured destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Siem {
    /// Unique; names the destination's outbox cursor, its metrics and its log lines.
    pub name: String,
    pub format: Format,
    pub transport: Transport,
    pub address: Address,
    /// Events below this severity (0-10) are skipped (their place is still passed).
    pub min_severity: u8,
    /// Only events of these categories are sent.
    pub categories: Vec<Category>,
    pub subject: SubjectMode,
    /// `format = "leef"`: LEEF 1.0 or 2.0.
    pub leef_version: LeefVersion,
    /// Syslog facility, 0..=23.
    pub facility: u8,
    /// `transport = "tls"`: PEM trust anchors for the receiver's certificate; `None`: the system
    /// bundle ([`crate::tls::SYSTEM_BUNDLE`]).
    pub ca_file: Option<PathBuf>,
    /// `transport = "tls"`: the name the receiver's certificate must carry.
    pub server_name: String,
    /// `transport = "tls"`: a client certificate chain and key (PEM) to present.
    pub client_cert: Option<(PathBuf, PathBuf)>,
    /// Largest UDP or local datagram; longer messages are cut and the cut marked.
    pub udp_max: usize,
    pub start: Start,
    /// Waits between reconnection attempts: from `backoff_min`, doubling, at most `backoff_max`.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// Bound on connecting (TLS handshake included) and on each write.
    pub timeout: Duration,
    /// Events read, written and acknowledged (cursor) together.
    pub batch: usize,
    /// How often the outbox is looked at for new events when the destination is idle.
    pub poll_interval: Duration,
    /// Failing continuously for this long raises `system.siem.down` (once) and a warning.
    pub down_after: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// RFC 5426: one event per datagram.
    Udp,
    /// RFC 6587 octet counting.
    Tcp,
    /// RFC 5425: octet counting over TLS.
    Tls,
    /// The local syslog socket (a Unix datagram socket, `/dev/log`).
    Local,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
            Transport::Local => "local",
        }
    }
}

/// Where a destination sends: a host (name or address) and port, or a socket path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Net { host: String, port: u16 },
    Path(PathBuf),
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Address::Net { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            Address::Net { host, port } => write!(f, "{host}:{port}"),
            Address::Path(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Where a new destination (one without a cursor yet) starts reading the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// At the outbox's head: only events from now on.
    End,
    /// Everything the outbox still holds.
    Oldest,
}

impl Start {
    pub fn name(self) -> &'static str {
        match self {
            Start::End => "end",
            Start::Oldest => "oldest",
        }
    }
}

/// RFC 5424 §6.2.1 facility names, by number.
const FACILITIES: [&str; 24] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "ntp", "audit", "alert", "clock", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];

/// The facility's name (`local0`) for `check-config`.
pub fn facility_name(n: u8) -> &'static str {
    FACILITIES.get(n as usize).copied().unwrap_or("?")
}

/// Longest destination name (it is a store key and a metric label).
const MAX_NAME: usize = 64;

pub(super) fn build(
    cx: &Ctx<'_>,
    list: Option<Vec<Spanned<raw::Siem>>>,
    (user, def): (Option<raw::SiemDefaults>, Option<raw::SiemDefaults>),
) -> Result<Vec<Siem>, Error> {
    let (ud, dd) = (user.unwrap_or_default(), def.unwrap_or_default());
    let mut out: Vec<Siem> = Vec::new();
    for table in list.unwrap_or_default() {
        let whole = cx.user(table);
        let s = one(cx, &whole, &ud, &dd)?;
        if out.iter().any(|o| o.name == s.name) {
            return Err(whole.error(&format!(
                "siem destination name {:?} is used twice (each destination has its own cursor)",
                s.name
            )));
        }
        out.push(s);
    }
    Ok(out)
}

/// The destination's own value, else `[siem_defaults]` (the user's, else the embedded one).
fn key<'a, T: Clone>(
    cx: &'a Ctx<'a>,
    own: &raw::V<T>,
    user: &raw::V<T>,
    def: &raw::V<T>,
    name: &str,
) -> Result<Loc<'a, T>, Error> {
    match own {
        Some(v) => Ok(cx.user(v.clone())),
        None => cx.pick(user.clone(), def.clone(), &format!("siem_defaults.{name}")),
    }
}

fn one(
    cx: &Ctx<'_>,
    whole: &Loc<'_, raw::Siem>,
    ud: &raw::SiemDefaults,
    dd: &raw::SiemDefaults,
) -> Result<Siem, Error> {
    let r = whole.value();
    let name = r
        .name
        .clone()
        .ok_or_else(|| whole.error("a [[siem]] destination needs a `name`"))?;
    let name = cx.user(name).parse_with(|n| check_name(n))?;
    let format = r.format.clone().ok_or_else(|| {
        whole.error(&format!(
            "siem destination {name:?} needs a `format`: {}",
            format_names()
        ))
    })?;
    let format = cx.user(format).parse_with(|f| {
        Format::from_name(f)
            .ok_or_else(|| format!("unknown format {f:?}: expected one of {}", format_names()))
    })?;
    let transport = r.transport.clone().ok_or_else(|| {
        whole.error(&format!(
            "siem destination {name:?} needs a `transport`: \"udp\", \"tcp\", \"tls\" or \"local\""
        ))
    })?;
    let transport = cx.user(transport).choice(&[
        ("udp", Transport::Udp),
        ("tcp", Transport::Tcp),
        ("tls", Transport::Tls),
        ("local", Transport::Local),
    ])?;
    let address = match (&r.address, transport) {
        (Some(a), Transport::Local) => cx.user(a.clone()).parse_with(|s| socket_path(s))?,
        (Some(a), _) => cx.user(a.clone()).parse_with(|s| host_port(s))?,
        (None, Transport::Local) => key(
            cx,
            &None,
            &ud.local_socket,
            &dd.local_socket,
            "local_socket",
        )?
        .parse_with(|s| socket_path(s))?,
        (None, _) => {
            return Err(whole.error(&format!(
                "siem destination {name:?} needs an `address` like \"siem.example.com:6514\""
            )));
        }
    };
    let tls_only = |v: &raw::V<String>, what: &str| -> Result<(), Error> {
        match v {
            Some(v) if transport != Transport::Tls => Err(cx
                .user(v.clone())
                .error(&format!("{what} applies only to transport = \"tls\""))),
            _ => Ok(()),
        }
    };
    tls_only(&r.ca_file, "ca_file")?;
    tls_only(&r.server_name, "server_name")?;
    tls_only(&r.client_cert, "client_cert")?;
    tls_only(&r.client_key, "client_key")?;
    let ca_file = r
        .ca_file
        .clone()
        .map(|v| v.into_inner())
        .filter(|s| !s.is_empty())
        .map(PathBuf::from);
    let client_cert = match (&r.client_cert, &r.client_key) {
        (Some(c), Some(k)) => Some((
            PathBuf::from(c.get_ref().clone()),
            PathBuf::from(k.get_ref().clone()),
        )),
        (None, None) => None,
        (Some(c), None) => {
            return Err(cx
                .user(c.clone())
                .error("client_cert is set but client_key is not: set both or neither"));
        }
        (None, Some(k)) => {
            return Err(cx
                .user(k.clone())
                .error("client_key is set but client_cert is not: set both or neither"));
        }
    };
    let server_name = match (&r.server_name, &address) {
        (Some(s), _) => cx.user(s.clone()).parse_with(|s| check_server_name(s))?,
        (None, Address::Net { host, .. }) => host.clone(),
        (None, Address::Path(_)) => String::new(),
    };
    let (min, max) = (
        key(
            cx,
            &r.backoff_min,
            &ud.backoff_min,
            &dd.backoff_min,
            "backoff_min",
        )?,
        key(
            cx,
            &r.backoff_max,
            &ud.backoff_max,
            &dd.backoff_max,
            "backoff_max",
        )?,
    );
    // Pointed at the value the user wrote (the other may be a default).
    let inverted = match max.is_user() {
        true => max.error("backoff_max must not be shorter than backoff_min"),
        false => min.error("backoff_min must not be longer than backoff_max"),
    };
    let (backoff_min, backoff_max) = (min.duration()?, max.duration()?);
    if backoff_max < backoff_min {
        return Err(inverted);
    }
    let mut categories = Vec::new();
    let list = key(
        cx,
        &r.categories,
        &ud.categories,
        &dd.categories,
        "categories",
    )?;
    let empty = list
        .error("categories is empty, so nothing would be sent: leave it out for every category");
    for c in list.items() {
        let c = c.parse_with(|s| {
            Category::from_name(s).ok_or_else(|| {
                let names: Vec<&str> = Category::ALL.iter().map(|c| c.name()).collect();
                format!(
                    "unknown category {s:?}: expected some of {}",
                    names.join(", ")
                )
            })
        })?;
        if !categories.contains(&c) {
            categories.push(c);
        }
    }
    if categories.is_empty() {
        return Err(empty);
    }
    Ok(Siem {
        name,
        format,
        transport,
        address,
        min_severity: key(
            cx,
            &r.min_severity,
            &ud.min_severity,
            &dd.min_severity,
            "min_severity",
        )?
        .range(0, 10)? as u8,
        categories,
        subject: key(cx, &r.subject, &ud.subject, &dd.subject, "subject")?.parse_with(|s| {
            SubjectMode::from_name(s).ok_or_else(|| {
                format!(
                    "unknown subject mode {s:?}: expected \"clear\", \"mask\", \"hash\" or \"omit\""
                )
            })
        })?,
        leef_version: key(
            cx,
            &r.leef_version,
            &ud.leef_version,
            &dd.leef_version,
            "leef_version",
        )?
        .parse_with(|v| {
            LeefVersion::from_name(v)
                .ok_or_else(|| format!("unknown LEEF version {v:?}: expected \"1.0\" or \"2.0\""))
        })?,
        facility: facility(key(
            cx,
            &r.facility,
            &ud.facility,
            &dd.facility,
            "facility",
        )?)?,
        ca_file,
        server_name,
        client_cert,
        udp_max: key(cx, &r.udp_max, &ud.udp_max, &dd.udp_max, "udp_max")?.range(480, 65_507)?
            as usize,
        start: key(cx, &r.start, &ud.start, &dd.start, "start")?
            .choice(&[("end", Start::End), ("oldest", Start::Oldest)])?,
        backoff_min,
        backoff_max,
        timeout: key(cx, &r.timeout, &ud.timeout, &dd.timeout, "timeout")?.duration()?,
        batch: key(cx, &r.batch, &ud.batch, &dd.batch, "batch")?.range(1, 10_000)? as usize,
        poll_interval: key(
            cx,
            &r.poll_interval,
            &ud.poll_interval,
            &dd.poll_interval,
            "poll_interval",
        )?
        .duration()?,
        down_after: key(
            cx,
            &r.down_after,
            &ud.down_after,
            &dd.down_after,
            "down_after",
        )?
        .duration()?,
    })
}

fn format_names() -> String {
    let names: Vec<String> = Format::ALL
        .iter()
        .map(|f| format!("{:?}", f.name()))
        .collect();
    names.join(", ")
}

fn check_name(n: &str) -> Result<String, String> {
    let ok = !n.is_empty()
        && n.len() <= MAX_NAME
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    match ok {
        true => Ok(n.to_string()),
        false => Err(format!(
            "siem destination name {n:?}: use 1 to {MAX_NAME} of A-Z a-z 0-9 - _ ."
        )),
    }
}

/// `host:port` (a name or an address; IPv6 in brackets).
fn host_port(s: &str) -> Result<Address, String> {
    let bad = || format!("{s:?} is not an address like \"siem.example.com:6514\" or \"[::1]:514\"");
    if let Ok(sa) = s.parse::<std::net::SocketAddr>() {
        if sa.port() == 0 {
            return Err(bad());
        }
        return Ok(Address::Net {
            host: sa.ip().to_string(),
            port: sa.port(),
        });
    }
    let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(bad)?;
    let host = super::parse_domain(host).map_err(|_| bad())?;
    Ok(Address::Net { host, port })
}

fn socket_path(s: &str) -> Result<Address, String> {
    if s.starts_with('/') && !s.contains('\0') {
        Ok(Address::Path(PathBuf::from(s)))
    } else {
        Err(format!(
            "{s:?} is not an absolute socket path like \"/dev/log\""
        ))
    }
}

fn check_server_name(s: &str) -> Result<String, String> {
    rustls::pki_types::ServerName::try_from(s.to_string())
        .map(|_| s.to_string())
        .map_err(|_| format!("{s:?} is not a host name or IP address"))
}

fn facility(v: Loc<'_, raw::Facility>) -> Result<u8, Error> {
    v.parse_with(|f| match f {
        raw::Facility::Number(n) if *n < 24 => Ok(*n as u8),
        raw::Facility::Number(n) => Err(format!("facility {n} is out of range: expected 0 to 23")),
        raw::Facility::Name(s) => FACILITIES
            .iter()
            .position(|name| name == s)
            .map(|n| n as u8)
            .ok_or_else(|| {
                format!("unknown facility {s:?}: expected 0 to 23 or a name (mail, daemon, auth, local0 ... local7)")
            }),
    })
}

#[cfg(test)]
mod tests;
