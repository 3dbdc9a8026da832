//! The SMTP listeners: one `[listener]` table (today's form: one listener) or any number of
//! `[[listener]]` tables, each checked into a [`Listener`] with the place of every mistake. A key a
//! `[[listener]]` table leaves out takes the embedded `[listener]` default (`assets/sluice.toml`).
//! Names and addresses are unique (port 0, "any free port", may repeat). The process-wide keys
//! (`max_bytes_in_flight`, `spool_threshold`, `shutdown_grace`) are read from the first listener
//! and refused in the others. Pure: files and sockets are `app`'s.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use toml::Spanned;

use super::gateway::{self, ListenerMode};
use super::raw::{self, ListenerSection};
use super::value::{Ctx, Error, Loc};
use crate::smtp::server::Starttls;
use crate::smtp::{BareLineEndings, Extensions, Limits};

/// One SMTP listener (`[listener]`, or one `[[listener]]` table).
#[derive(Debug, Clone)]
pub struct Listener {
    /// Names the listener in logs, events and metrics (`[a-z0-9-]`).
    pub name: String,
    pub mode: ListenerMode,
    pub address: SocketAddr,
    pub allowed_clients: Vec<IpNet>,
    pub max_sessions: usize,
    /// Sessions at once from one client address (IPv6: one /64); more get 421 4.7.0 at connect.
    pub max_sessions_per_client: usize,
    /// Message bytes all sessions may hold at once; past it DATA gets 452 4.3.1 (process-wide:
    /// the first listener's).
    pub max_bytes_in_flight: usize,
    /// Messages larger than this are received into `<data_dir>/spool/` and mapped, not kept in
    /// memory (process-wide: the first listener's).
    pub spool_threshold: usize,
    pub limits: Limits,
    pub extensions: Extensions,
    pub bare_line_endings: BareLineEndings,
    pub command_timeout: Duration,
    pub data_timeout: Duration,
    /// Bytes per second a client must keep up on average during DATA (0: only `data_timeout`).
    pub data_min_rate: u64,
    /// Process-wide: the first listener's.
    pub shutdown_grace: Duration,
    /// This listener's own STARTTLS certificate chain and key; `None`: the `[tls]` pair.
    pub cert_and_key: Option<(PathBuf, PathBuf)>,
    /// Whether STARTTLS is offered, required before MAIL, or not offered.
    pub starttls: Starttls,
}

/// The keys only the first listener may set.
const PROCESS_WIDE: [&str; 3] = ["max_bytes_in_flight", "spool_threshold", "shutdown_grace"];

/// Every listener, the first first; the list is never empty.
pub(super) fn build(
    cx: &Ctx<'_>,
    user: Option<ListenerSection>,
    def: Option<ListenerSection>,
) -> Result<Vec<Listener>, Error> {
    let def = match def {
        Some(ListenerSection::One(d)) => *d,
        _ => raw::Listener::default(),
    };
    match user {
        None => Ok(vec![one(cx, raw::Listener::default(), &def, None)?]),
        Some(ListenerSection::One(u)) => Ok(vec![one(cx, *u, &def, None)?]),
        Some(ListenerSection::Many(list)) => many(cx, list, &def),
    }
}

fn many(
    cx: &Ctx<'_>,
    list: Vec<Spanned<raw::Listener>>,
    def: &raw::Listener,
) -> Result<Vec<Listener>, Error> {
    let mut out: Vec<Listener> = Vec::new();
    for table in list {
        let whole = cx.user(table);
        let r = whole.value().clone();
        let Some(name_at) = r.name.clone().map(|n| cx.user(n)) else {
            return Err(
                whole.error("a [[listener]] table needs a `name` (1 to 32 of a-z, 0-9 and -)")
            );
        };
        let Some(address_at) = r.address.clone().map(|a| cx.user(a)) else {
            return Err(whole.error("a [[listener]] table needs an `address` like \"0.0.0.0:25\""));
        };
        if let Some(first) = out.first()
            && let Some((key, at)) = process_wide(cx, &r)
        {
            return Err(at.error(&format!(
                "listener.{key} is process-wide: set it in the first [[listener]] table (listener {:?})",
                first.name
            )));
        }
        let mut l = one(cx, r, def, out.first())?;
        if let Some(other) = out.iter().find(|o| o.name == l.name) {
            return Err(name_at.error(&format!(
                "listener name {:?} is used twice (each listener has its own name)",
                other.name
            )));
        }
        if l.address.port() != 0
            && let Some(other) = out.iter().find(|o| o.address == l.address)
        {
            return Err(address_at.error(&format!(
                "listener address {} is already listener {:?}'s",
                l.address, other.name
            )));
        }
        if let Some(first) = out.first() {
            l.max_bytes_in_flight = first.max_bytes_in_flight;
            l.spool_threshold = first.spool_threshold;
            l.shutdown_grace = first.shutdown_grace;
        }
        out.push(l);
    }
    if out.is_empty() {
        return Ok(vec![one(cx, raw::Listener::default(), def, None)?]);
    }
    Ok(out)
}

/// A process-wide key this table sets, with its place.
fn process_wide<'a>(cx: &'a Ctx<'a>, r: &raw::Listener) -> Option<(&'static str, Loc<'a, ()>)> {
    let found = [
        r.max_bytes_in_flight
            .clone()
            .map(|v| cx.user(v).map(|_| ())),
        r.spool_threshold.clone().map(|v| cx.user(v).map(|_| ())),
        r.shutdown_grace.clone().map(|v| cx.user(v).map(|_| ())),
    ];
    PROCESS_WIDE
        .iter()
        .zip(found)
        .find_map(|(k, at)| at.map(|at| (*k, at)))
}

/// One listener: its own keys over the embedded `[listener]` defaults `dl`. `first` is set for
/// the second and later `[[listener]]` tables (their process-wide keys are the first's).
fn one(
    cx: &Ctx<'_>,
    ul: raw::Listener,
    dl: &raw::Listener,
    first: Option<&Listener>,
) -> Result<Listener, Error> {
    let dl = dl.clone();
    let size_at = (ul.max_message_size.clone(), dl.max_message_size.clone());
    let address = cx
        .pick(ul.address, dl.address, "listener.address")?
        .parse_with(|s| {
            s.parse::<SocketAddr>().map_err(|_| {
                "expected an address like \"0.0.0.0:10025\" or \"[::]:25\"".to_string()
            })
        })?;
    let mut allowed_clients = Vec::new();
    for item in cx
        .pick(
            ul.allowed_clients,
            dl.allowed_clients,
            "listener.allowed_clients",
        )?
        .items()
    {
        allowed_clients.push(item.parse_with(|s| super::parse_cidr(s))?);
    }
    let limits = Limits {
        max_message_size: cx
            .pick(
                ul.max_message_size,
                dl.max_message_size,
                "listener.max_message_size",
            )?
            .range(1024, 1 << 34)? as usize,
        max_recipients: cx
            .pick(
                ul.max_recipients,
                dl.max_recipients,
                "listener.max_recipients",
            )?
            .range(1, 100_000)? as usize,
        max_line_length: cx
            .pick(
                ul.max_line_length,
                dl.max_line_length,
                "listener.max_line_length",
            )?
            .range(512, 1 << 20)? as usize,
        max_data_line_length: cx
            .pick(
                ul.max_data_line_length,
                dl.max_data_line_length,
                "listener.max_data_line_length",
            )?
            .range(1000, 1 << 24)? as usize,
        max_errors: cx
            .pick(ul.max_errors, dl.max_errors, "listener.max_errors")?
            .range(1, 10_000)? as usize,
        max_junk_commands: cx
            .pick(
                ul.max_junk_commands,
                dl.max_junk_commands,
                "listener.max_junk_commands",
            )?
            .range(1, 1_000_000)? as usize,
    };
    let mut extensions = Extensions::empty();
    for item in cx
        .pick(ul.extensions, dl.extensions, "listener.extensions")?
        .items()
    {
        extensions = extensions.with(item.parse_with(|s| {
            Extensions::parse_one(s).ok_or_else(|| {
                format!(
                    "unknown extension {s:?} (known: {})",
                    Extensions::KNOWN.join(", ")
                )
            })
        })?);
    }
    let starttls_at = cx.pick(ul.starttls, dl.starttls, "listener.starttls")?;
    let starttls = match starttls_at.value().as_str() {
        "require" if !extensions.has(Extensions::STARTTLS) => {
            return Err(
                starttls_at.error("starttls = \"require\" needs STARTTLS in listener.extensions")
            );
        }
        _ => starttls_at.choice(&[
            ("offer", Starttls::Offer),
            ("require", Starttls::Require),
            ("off", Starttls::Off),
        ])?,
    };
    let cert_and_key = cert_pair(
        cx.pick(ul.cert_file, dl.cert_file, "listener.cert_file")?,
        cx.pick(ul.key_file, dl.key_file, "listener.key_file")?,
        "listener.",
    )?;
    let max_bytes_in_flight = cx.pick(
        ul.max_bytes_in_flight,
        dl.max_bytes_in_flight,
        "listener.max_bytes_in_flight",
    )?;
    // At least one message of the largest size must fit (the first listener's budget is shared).
    let max_bytes_in_flight = match first {
        Some(f) if (limits.max_message_size) > f.max_bytes_in_flight => {
            let at = cx.pick(size_at.0, size_at.1, "listener.max_message_size")?;
            return Err(at.error(&format!(
                "larger than listener.max_bytes_in_flight ({}) of the first listener",
                f.max_bytes_in_flight
            )));
        }
        Some(f) => f.max_bytes_in_flight,
        None => max_bytes_in_flight.range(limits.max_message_size as u64, 1 << 44)? as usize,
    };
    Ok(Listener {
        name: gateway::listener_name(cx.pick(ul.name, dl.name, "listener.name")?)?,
        mode: cx.pick(ul.mode, dl.mode, "listener.mode")?.choice(&[
            ("inline", ListenerMode::Inline),
            ("gateway", ListenerMode::Gateway),
        ])?,
        address,
        allowed_clients,
        max_sessions: cx
            .pick(ul.max_sessions, dl.max_sessions, "listener.max_sessions")?
            .range(1, 1_000_000)? as usize,
        max_sessions_per_client: cx
            .pick(
                ul.max_sessions_per_client,
                dl.max_sessions_per_client,
                "listener.max_sessions_per_client",
            )?
            .range(1, 1_000_000)? as usize,
        max_bytes_in_flight,
        spool_threshold: cx
            .pick(
                ul.spool_threshold,
                dl.spool_threshold,
                "listener.spool_threshold",
            )?
            .range(65_536, 1 << 44)? as usize,
        limits,
        extensions,
        bare_line_endings: cx
            .pick(
                ul.bare_line_endings,
                dl.bare_line_endings,
                "listener.bare_line_endings",
            )?
            .choice(&[
                ("normalize", BareLineEndings::Normalize),
                ("reject", BareLineEndings::Reject),
            ])?,
        command_timeout: cx
            .pick(
                ul.command_timeout,
                dl.command_timeout,
                "listener.command_timeout",
            )?
            .duration()?,
        data_timeout: cx
            .pick(ul.data_timeout, dl.data_timeout, "listener.data_timeout")?
            .duration()?,
        data_min_rate: cx
            .pick(ul.data_min_rate, dl.data_min_rate, "listener.data_min_rate")?
            .range(0, 1 << 30)?,
        shutdown_grace: cx
            .pick(
                ul.shutdown_grace,
                dl.shutdown_grace,
                "listener.shutdown_grace",
            )?
            .duration()?,
        cert_and_key,
        starttls,
    })
}

/// A certificate and key file named together (both empty: none); `section` prefixes the keys'
/// names in errors (`listener.`).
fn cert_pair(
    cert: Loc<'_, String>,
    key: Loc<'_, String>,
    section: &str,
) -> Result<Option<(PathBuf, PathBuf)>, Error> {
    match (cert.value().is_empty(), key.value().is_empty()) {
        (true, true) => Ok(None),
        (false, false) => Ok(Some((
            PathBuf::from(cert.take()),
            PathBuf::from(key.take()),
        ))),
        (true, false) => Err(key.error(&format!(
            "{section}key_file is set but {section}cert_file is empty: set both or neither"
        ))),
        (false, true) => Err(cert.error(&format!(
            "{section}cert_file is set but {section}key_file is empty: set both or neither"
        ))),
    }
}

#[cfg(test)]
mod tests;
