//! The syntax of single values the config names: CIDR ranges, `host:port` next hops, domains,
//! header lines. Each function takes the text and says what is wrong in words.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;

use super::NextHop;
use crate::message::header::Field;

pub(crate) fn parse_cidr(s: &str) -> Result<IpNet, String> {
    if let Ok(net) = s.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    s.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("{s:?} is not a CIDR block like \"10.0.0.0/8\" or an IP address"))
}

/// "ip" or "ip:port" / "[v6]:port" for DNS servers.
pub(crate) fn parse_host_port_ip(s: &str, default_port: u16) -> Result<SocketAddr, String> {
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Ok(sa);
    }
    s.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, default_port))
        .map_err(|_| format!("{s:?} is not an IP address or ip:port"))
}

/// "host", "host:port", "1.2.3.4", "1.2.3.4:25", "[::1]:25", "::1".
pub(crate) fn parse_next_hop(s: &str, default_port: u16) -> Result<NextHop, String> {
    let s = s.trim();
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Ok(NextHop {
            host: sa.ip().to_string(),
            port: sa.port(),
        });
    }
    if let Ok(ip) = s
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return Ok(NextHop {
            host: ip.to_string(),
            port: default_port,
        });
    }
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("bad port in next hop {s:?}"))?,
        ),
        None => (s, default_port),
    };
    let host = parse_domain(host)?;
    Ok(NextHop { host, port })
}

pub(crate) fn parse_domain(s: &str) -> Result<String, String> {
    let d = s.trim().trim_end_matches('.').to_ascii_lowercase();
    let ok = !d.is_empty()
        && d.len() <= 253
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    if ok {
        Ok(d)
    } else {
        Err(format!("{s:?} is not a valid domain or host name"))
    }
}

/// A header field name as [`Field`] admits it.
pub(crate) fn check_header_name(s: &str) -> Result<(), String> {
    Field::new(s, "").map(|_| ())
}

/// A header value as [`Field`] admits it: one line of at most 900 bytes, no control character
/// but tab.
pub(crate) fn check_header_value(s: &str) -> Result<(), String> {
    Field::new("X", s).map(|_| ())
}

/// "Name: value" as one header field.
pub(crate) fn parse_header_line(s: &str) -> Result<Field, String> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| format!("{s:?} is not a header line like \"X-CFilter: Encrypt\""))?;
    Field::new(name.trim(), value.trim())
}
