//! Settings: reads the TOML file over the embedded defaults and validates it into an immutable [`Config`].
//!
//! `assets/sluice.toml` is the one table of defaults: it is embedded, parsed with the same structs as the
//! user's file, and used for every key the user leaves out. Every error names `file:line:col`.
//! This module reads no sockets and starts nothing; `app` does that with the value built here.

mod body_edits;
mod builtin;
mod disclaimers;
pub mod edit;
pub mod gate;
pub mod gateway;
mod keep;
mod limits;
mod listeners;
pub use listeners::Listener;
pub mod monitor;
pub mod reports;
mod services;
pub mod siem;
mod syntax;
pub use keep::Keep;
pub use services::{Admin, Auth, Queue};
use services::{build_admin, build_queue};
pub use siem::Siem;
mod notifications;
mod policies;
mod raw;
pub mod record;
pub mod show;
mod value;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::message::header::Field;
use crate::policy;
use crate::smtp::HostName;
use value::{Ctx, Error};

pub use value::Error as ConfigError;

/// The defaults, also the documented example configuration.
pub const DEFAULT_TOML: &str = include_str!("../../assets/sluice.toml");
pub use builtin::{BUILTIN_POLICIES, PolicySource};

/// The configuration file in the data dir, `<data_dir>/sluice.toml`: what the admin UI's first save
/// writes when `serve` was started without `--config`, and what `serve`, a reload and
/// `check-config` without `--config` read from then on.
pub const DATA_DIR_FILE: &str = "sluice.toml";

/// The data dir when none is given: the embedded defaults' `server.data_dir`.
pub fn default_data_dir() -> PathBuf {
    Config::embedded()
        .map(|c| c.server.data_dir)
        .unwrap_or_else(|_| PathBuf::from("."))
}

/// The file to edit: the one given with `--config`, else `<data_dir>/sluice.toml` (whether or not
/// it exists yet); `data_dir` is `--data-dir`, else the embedded default.
pub fn edited_file(given: Option<&Path>, data_dir: Option<&Path>) -> PathBuf {
    match given {
        Some(p) => p.to_path_buf(),
        None => data_dir
            .map_or_else(default_data_dir, Path::to_path_buf)
            .join(DATA_DIR_FILE),
    }
}

/// The file to read: the one given, else `<data_dir>/sluice.toml` when it exists, else none (the
/// embedded defaults run).
pub fn located(given: Option<&Path>, data_dir: Option<&Path>) -> Option<PathBuf> {
    let path = edited_file(given, data_dir);
    (given.is_some() || path.is_file()).then_some(path)
}

/// Validated settings; built once at start-up and shared read-only.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: Server,
    pub listener: Listener,
    pub tls: Tls,
    pub relay: Relay,
    pub dns: Dns,
    pub inspection: Inspection,
    /// `[decomposition]` (its text limit is `inspection.max_scan_bytes`).
    pub decomposition: crate::decompose::Limits,
    /// `[pdf]`: the PDF text child's sandbox.
    pub pdf: crate::decompose::pdf_child::ChildLimits,
    pub store: keep::Keep,
    pub policies: policy::Policies,
    /// Where `policies` come from (the configuration, or the built-in set and its mode).
    pub policy_source: PolicySource,
    /// `[notifications]`: notice sender, administrators, templates (validated at load).
    pub notifications: crate::notify::Settings,
    pub admin: Admin,
    pub queue: Queue,
    /// `[[siem]]`: the SIEM destinations draining the event outbox (none by default).
    pub siem: Vec<Siem>,
    /// `[gateway]` and `[[route]]`: the store-and-forward gateway's routing and relay control.
    pub gateway: gateway::Gateway,
    /// `[[disclaimer]]`: disclaimers by direction and sender domain (`rewrite::plan`).
    pub disclaimers: Vec<crate::rewrite::Disclaimer>,
    /// `[monitor]`: the periodic checks and their thresholds.
    pub monitor: monitor::Monitor,
    /// `[reports]`: report counters' retention, report sizes, scheduled reports.
    pub reports: reports::Reports,
    /// Every SMTP listener (`[listener]` or `[[listener]]`), the first first; `listener` is the
    /// first (and holds the process-wide keys).
    pub listeners: Vec<Listener>,
}

#[derive(Debug, Clone)]
pub struct Server {
    pub hostname: HostName,
    pub data_dir: PathBuf,
    pub trial_mode: bool,
    /// Executor threads for sessions (default 1); 0 means one per core (at least 2).
    pub threads: usize,
}

#[derive(Debug, Clone)]
pub struct Tls {
    /// Certificate chain and key files; `None` means generate a self-signed pair in the data dir.
    pub cert_and_key: Option<(PathBuf, PathBuf)>,
}

/// Where relayed mail goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Back to the connecting client's IP address on `Relay::port`.
    Reflect,
    /// To these hosts, always starting with the first.
    Hosts(Vec<NextHop>),
    /// To the MX hosts of these domains.
    Mx(Vec<String>),
}

/// One configured next hop: a host name or address and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextHop {
    pub host: String,
    pub port: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartTls {
    Mirror,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsFailure {
    TempFail,
    Plaintext,
}

/// `relay.data_ahead`: whether DATA goes to the next hop while the upstream is still uploading
/// (saving a round trip per message), which leaves closing the connection as the only way to end
/// the next hop's transaction when the message is then blocked, held or redirected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataAhead {
    /// Only when no enforcing policy can block, hold (quarantine, approval) or redirect.
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone)]
pub struct Relay {
    pub route: Route,
    pub port: u16,
    pub helo_name: HostName,
    pub source_address: Option<IpAddr>,
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
    pub data_timeout: Duration,
    pub starttls: StartTls,
    pub tls_failure: TlsFailure,
    pub trust_anchors: Vec<PathBuf>,
    pub max_received_headers: usize,
    /// How long a next-hop address that failed is skipped before it is probed again (0: never).
    pub dead_host_retry: Duration,
    /// The pass header added to every relayed message, if enabled.
    pub pass_header: Option<Field>,
    pub data_ahead: DataAhead,
    /// Longest line of a next hop's reply, in bytes, and most lines in one reply.
    pub max_reply_line: usize,
    pub max_reply_lines: usize,
}

#[derive(Debug, Clone)]
pub struct Dns {
    /// Explicit servers; empty means read `resolv_conf`.
    pub servers: Vec<SocketAddr>,
    pub resolv_conf: PathBuf,
    pub timeout: Duration,
    pub attempts: u32,
    pub cache_entries: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    TempFail,
    Pass,
}

#[derive(Debug, Clone)]
pub struct Inspection {
    pub on_failure: OnFailure,
    pub time_budget: Duration,
    pub failure_header: Field,
    pub tag_violations: bool,
    pub max_scan_bytes: usize,
    /// Inspection pool threads (0: one per core).
    pub threads: usize,
    /// The organisation's own domains (subdomains included): what makes mail inbound or outbound.
    pub internal_domains: Vec<String>,
}

/// Most retry intervals in `queue.retry`.
pub const MAX_QUEUE_RETRY_STEPS: usize = 64;

impl Config {
    /// The embedded defaults alone.
    pub fn embedded() -> Result<Config, ConfigError> {
        Config::parse("", "<embedded defaults>")
    }

    /// Reads and validates a configuration file (at most [`crate::file::MAX_CONFIG`] bytes of
    /// UTF-8; the first byte that is not UTF-8 is reported as `file:line:col`).
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Config::load_bytes(path).map(|(config, _)| config)
    }

    /// [`Config::load`], also giving the bytes it read (what the server's record hashes).
    pub fn load_bytes(path: &Path) -> Result<(Config, Vec<u8>), ConfigError> {
        let file = path.display().to_string();
        let bytes = crate::file::read(path, crate::file::MAX_CONFIG).map_err(|e| Error::Io {
            file: file.clone(),
            message: e.to_string(),
        })?;
        let text = String::from_utf8(bytes).map_err(|e| value::not_utf8(&file, e))?;
        let config = Config::parse(&text, &file)?;
        Ok((config, text.into_bytes()))
    }

    /// Validates `text` (the user's file, named `file` in errors) over the embedded defaults.
    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        let defaults: raw::Raw = toml::from_str(DEFAULT_TOML)
            .map_err(|e| Error::from_toml(&e, DEFAULT_TOML, "<embedded defaults>"))?;
        let user: raw::Raw = toml::from_str(text).map_err(|e| Error::from_toml(&e, text, file))?;
        let ctx = Ctx::new(file, text, DEFAULT_TOML);
        build(&ctx, user, defaults)
    }
}

fn build(cx: &Ctx<'_>, user: raw::Raw, def: raw::Raw) -> Result<Config, Error> {
    let (us, ds) = (
        user.server.unwrap_or_default(),
        def.server.unwrap_or_default(),
    );
    let hostname_loc = cx.pick(us.hostname.clone(), ds.hostname.clone(), "server.hostname")?;
    let at_hostname = |m: &str| hostname_loc.error(m);
    let hostname = cx
        .pick(us.hostname, ds.hostname, "server.hostname")?
        .parse_with(|s| match s.as_str() {
            "" => {
                let system = system_hostname();
                HostName::new(&system).map_err(|e| {
                    format!("server.hostname is empty and the machine's host name is not usable ({e}): set server.hostname")
                })
            }
            s => HostName::new(s),
        })?;
    let server = Server {
        hostname: hostname.clone(),
        data_dir: PathBuf::from(cx.pick(us.data_dir, ds.data_dir, "server.data_dir")?.take()),
        trial_mode: cx
            .pick(us.trial_mode, ds.trial_mode, "server.trial_mode")?
            .take(),
        threads: cx
            .pick(us.threads, ds.threads, "server.threads")?
            .range(0, 256)? as usize,
    };

    let listeners = listeners::build(cx, user.listener, def.listener)?;
    let listener = listeners[0].clone();

    let (ut, dt) = (user.tls.unwrap_or_default(), def.tls.unwrap_or_default());
    let cert = cx.pick(ut.cert_file, dt.cert_file, "tls.cert_file")?;
    let key = cx.pick(ut.key_file, dt.key_file, "tls.key_file")?;
    let cert_and_key =
        match (cert.value().is_empty(), key.value().is_empty()) {
            (true, true) => None,
            (false, false) => Some((PathBuf::from(cert.take()), PathBuf::from(key.take()))),
            (true, false) => {
                return Err(key
                    .error("tls.key_file is set but tls.cert_file is empty: set both or neither"));
            }
            (false, true) => {
                return Err(cert
                    .error("tls.cert_file is set but tls.key_file is empty: set both or neither"));
            }
        };
    let tls = Tls { cert_and_key };

    let relay = build_relay(
        cx,
        user.relay.unwrap_or_default(),
        def.relay.unwrap_or_default(),
        &hostname,
    )?;

    let (ud, dd) = (user.dns.unwrap_or_default(), def.dns.unwrap_or_default());
    let mut servers = Vec::new();
    for item in cx.pick(ud.servers, dd.servers, "dns.servers")?.items() {
        servers.push(item.parse_with(|s| parse_host_port_ip(s, 53))?);
    }
    let dns = Dns {
        servers,
        resolv_conf: PathBuf::from(
            cx.pick(ud.resolv_conf, dd.resolv_conf, "dns.resolv_conf")?
                .take(),
        ),
        timeout: cx.pick(ud.timeout, dd.timeout, "dns.timeout")?.duration()?,
        attempts: cx
            .pick(ud.attempts, dd.attempts, "dns.attempts")?
            .range(1, 10)? as u32,
        cache_entries: cx
            .pick(ud.cache_entries, dd.cache_entries, "dns.cache_entries")?
            .range(0, 1 << 20)? as usize,
    };

    let (ui, di) = (
        user.inspection.unwrap_or_default(),
        def.inspection.unwrap_or_default(),
    );
    let (ui_builtin, di_builtin) = (ui.builtin_policies.clone(), di.builtin_policies.clone());
    let inspection = Inspection {
        on_failure: cx
            .pick(ui.on_failure, di.on_failure, "inspection.on_failure")?
            .choice(&[("tempfail", OnFailure::TempFail), ("pass", OnFailure::Pass)])?,
        time_budget: cx
            .pick(ui.time_budget, di.time_budget, "inspection.time_budget")?
            .duration()?,
        failure_header: cx
            .pick(
                ui.failure_header,
                di.failure_header,
                "inspection.failure_header",
            )?
            .parse_with(|s| parse_header_line(s))?,
        tag_violations: cx
            .pick(
                ui.tag_violations,
                di.tag_violations,
                "inspection.tag_violations",
            )?
            .take(),
        max_scan_bytes: cx
            .pick(
                ui.max_scan_bytes,
                di.max_scan_bytes,
                "inspection.max_scan_bytes",
            )?
            .range(1024, 1 << 32)? as usize,
        threads: cx
            .pick(ui.threads, di.threads, "inspection.threads")?
            .range(0, 256)? as usize,
        internal_domains: {
            let mut list = Vec::new();
            for d in cx
                .pick(
                    ui.internal_domains,
                    di.internal_domains,
                    "inspection.internal_domains",
                )?
                .items()
            {
                list.push(d.parse_with(|s| {
                    let s = s.trim().trim_start_matches("*.").to_ascii_lowercase();
                    if !s.is_empty()
                        && s.len() <= 253
                        && s.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
                    {
                        Ok(s)
                    } else {
                        Err(format!("{s:?} is not a domain name like corp.example"))
                    }
                })?);
            }
            list
        },
    };

    let decomposition = limits::decomposition(
        cx,
        (user.decomposition, def.decomposition),
        inspection.max_scan_bytes as u64,
    )?;
    let pdf = limits::pdf(cx, (user.pdf, def.pdf))?;
    let store = keep::build(
        cx,
        (user.store, def.store),
        (user.quarantine, def.quarantine),
        (user.incidents, def.incidents),
        (user.approval, def.approval),
        (user.events, def.events),
    )?;
    let disclaimers = disclaimers::build(
        cx,
        user.disclaimer,
        (user.disclaimer_defaults, def.disclaimer_defaults),
    )?;
    let (policies, policy_source) = builtin::policies(
        cx,
        user.policy,
        cx.pick(ui_builtin, di_builtin, "inspection.builtin_policies")?,
        &disclaimers,
    )?;
    let notifications = notifications::build(
        cx,
        user.notifications.unwrap_or_default(),
        def.notifications.unwrap_or_default(),
        &hostname,
        &at_hostname,
    )?;
    let admin = build_admin(
        cx,
        user.admin.unwrap_or_default(),
        def.admin.unwrap_or_default(),
        &hostname,
    )?;
    let queue = build_queue(
        cx,
        user.queue.unwrap_or_default(),
        def.queue.unwrap_or_default(),
    )?;
    let siem = siem::build(cx, user.siem, (user.siem_defaults, def.siem_defaults))?;
    let monitor = monitor::build(
        cx,
        user.monitor.unwrap_or_default(),
        def.monitor.unwrap_or_default(),
    )?;
    let reports = reports::build(
        cx,
        user.reports.unwrap_or_default(),
        def.reports.unwrap_or_default(),
    )?;
    let gateway = gateway::build(
        cx,
        user.gateway.unwrap_or_default(),
        def.gateway.unwrap_or_default(),
        user.route,
    )?;
    Ok(Config {
        server,
        listener,
        tls,
        relay,
        dns,
        inspection,
        decomposition,
        pdf,
        store,
        policies,
        policy_source,
        notifications,
        admin,
        queue,
        siem,
        monitor,
        reports,
        gateway,
        listeners,
        disclaimers,
    })
}

fn build_relay(
    cx: &Ctx<'_>,
    ur: raw::Relay,
    dr: raw::Relay,
    hostname: &HostName,
) -> Result<Relay, Error> {
    let port = cx.pick(ur.port, dr.port, "relay.port")?.range(1, 65535)? as u16;
    let mode = cx.pick(ur.mode, dr.mode, "relay.mode")?;
    let hosts = cx.pick(ur.hosts, dr.hosts, "relay.hosts")?;
    let domains = cx.pick(ur.mx_domains, dr.mx_domains, "relay.mx_domains")?;
    let route = match mode.value().as_str() {
        "reflect" => Route::Reflect,
        "forward" => {
            let both = domains.error("set relay.hosts (MX lookup disabled) or relay.mx_domains (MX lookup enabled), not both");
            let (host_items, domain_items) = (hosts.items(), domains.items());
            match (host_items.is_empty(), domain_items.is_empty()) {
                (false, true) => {
                    let mut list = Vec::new();
                    for h in host_items {
                        list.push(h.parse_with(|s| parse_next_hop(s, port))?);
                    }
                    Route::Hosts(list)
                }
                (true, false) => {
                    let mut list = Vec::new();
                    for d in domain_items {
                        list.push(d.parse_with(|s| parse_domain(s))?);
                    }
                    Route::Mx(list)
                }
                (true, true) => return Err(mode.error("relay.mode = \"forward\" needs at least one entry in relay.hosts or relay.mx_domains")),
                (false, false) => return Err(both),
            }
        }
        other => {
            return Err(mode.error(&format!(
                "unknown relay.mode {other:?}: expected \"reflect\" or \"forward\""
            )));
        }
    };
    let helo_name = cx
        .pick(ur.helo_name, dr.helo_name, "relay.helo_name")?
        .parse_with(|s| match s.as_str() {
            "" => Ok(hostname.clone()),
            s => HostName::new(s),
        })?;
    let source = cx.pick(ur.source_address, dr.source_address, "relay.source_address")?;
    let source_address = if source.value().is_empty() {
        None
    } else {
        Some(source.parse_with(|s| {
            s.parse::<IpAddr>()
                .map_err(|_| "expected an IP address".to_string())
        })?)
    };
    let mut trust_anchors = Vec::new();
    for item in cx
        .pick(ur.trust_anchors, dr.trust_anchors, "relay.trust_anchors")?
        .items()
    {
        trust_anchors.push(PathBuf::from(item.take()));
    }
    let (up, dp) = (
        ur.pass_header.unwrap_or_default(),
        dr.pass_header.unwrap_or_default(),
    );
    let enabled = cx
        .pick(up.enabled, dp.enabled, "relay.pass_header.enabled")?
        .take();
    let pass_name = cx.pick(up.name, dp.name, "relay.pass_header.name")?;
    check_header_name(pass_name.value()).map_err(|e| pass_name.error(&e))?;
    let value = cx
        .pick(up.value, dp.value, "relay.pass_header.value")?
        .parse_with(|s| check_header_value(s).map(|()| s.to_string()))?;
    Ok(Relay {
        max_reply_line: cx
            .pick(ur.max_reply_line, dr.max_reply_line, "relay.max_reply_line")?
            .range(512, 1 << 16)? as usize,
        max_reply_lines: cx
            .pick(
                ur.max_reply_lines,
                dr.max_reply_lines,
                "relay.max_reply_lines",
            )?
            .range(1, 10_000)? as usize,
        route,
        port,
        helo_name,
        source_address,
        connect_timeout: cx
            .pick(
                ur.connect_timeout,
                dr.connect_timeout,
                "relay.connect_timeout",
            )?
            .duration()?,
        command_timeout: cx
            .pick(
                ur.command_timeout,
                dr.command_timeout,
                "relay.command_timeout",
            )?
            .duration()?,
        data_timeout: cx
            .pick(ur.data_timeout, dr.data_timeout, "relay.data_timeout")?
            .duration()?,
        starttls: cx
            .pick(ur.starttls, dr.starttls, "relay.starttls")?
            .choice(&[
                ("mirror", StartTls::Mirror),
                ("always", StartTls::Always),
                ("never", StartTls::Never),
            ])?,
        tls_failure: cx
            .pick(ur.tls_failure, dr.tls_failure, "relay.tls_failure")?
            .choice(&[
                ("tempfail", TlsFailure::TempFail),
                ("plaintext", TlsFailure::Plaintext),
            ])?,
        trust_anchors,
        max_received_headers: cx
            .pick(
                ur.max_received_headers,
                dr.max_received_headers,
                "relay.max_received_headers",
            )?
            .range(1, 1000)? as usize,
        dead_host_retry: cx
            .pick(
                ur.dead_host_retry,
                dr.dead_host_retry,
                "relay.dead_host_retry",
            )?
            .duration()?,
        pass_header: match enabled {
            true => Some(pass_name.parse_with(|n| Field::new(n.as_str(), value.as_str()))?),
            false => None,
        },
        data_ahead: cx
            .pick(ur.data_ahead, dr.data_ahead, "relay.data_ahead")?
            .choice(&[
                ("auto", DataAhead::Auto),
                ("always", DataAhead::Always),
                ("never", DataAhead::Never),
            ])?,
    })
}

fn system_hostname() -> String {
    crate::file::read(Path::new("/proc/sys/kernel/hostname"), 4096)
        .ok()
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

pub(crate) use syntax::{
    check_header_name, check_header_value, parse_cidr, parse_domain, parse_header_line,
    parse_host_port_ip, parse_next_hop,
};

#[cfg(test)]
mod tests;
