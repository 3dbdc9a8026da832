//! resolv.conf parsing into [`ResolverConfig`], following glibc's reading of the file.
//!
//! Only `nameserver` and `options timeout:N attempts:N` are used; everything else (`search`,
//! `domain`, `sortlist`, other options) is ignored, as are lines that do not parse.

use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::path::Path;
use std::time::Duration;

use tracing::debug;

use super::ResolverConfig;

/// Where the system resolver configuration lives.
pub const RESOLV_CONF_PATH: &str = "/etc/resolv.conf";

/// glibc's defaults (`RES_TIMEOUT`, `RES_DFLRETRY`) and caps (`RES_MAXRETRANS`, `RES_MAXRETRY`).
const DEFAULT_TIMEOUT_SECS: u64 = 5;
const MAX_TIMEOUT_SECS: u64 = 30;
const DEFAULT_ATTEMPTS: u32 = 2;
const MAX_ATTEMPTS: u32 = 5;
/// Default bound on cached (name, type) outcomes.
pub const DEFAULT_CACHE_ENTRIES: usize = 4096;

impl ResolverConfig {
    /// Parse resolv.conf text: `nameserver` lines (IPv4/IPv6, port 53), `options timeout:N
    /// attempts:N`; ignore the rest. No nameserver => 127.0.0.1:53 (glibc behaviour).
    ///
    /// As in glibc, `timeout` is clamped to 1..=30 seconds and `attempts` to 1..=5, later
    /// `options` lines override earlier ones, and `#` or `;` start a comment. An IPv6 address
    /// may carry a numeric zone (`fe80::1%2`); a named zone (`%eth0`) cannot be resolved
    /// without libc, so such a line is skipped. `cache_entries` is [`DEFAULT_CACHE_ENTRIES`].
    pub fn from_resolv_conf(text: &str) -> ResolverConfig {
        let mut servers = Vec::new();
        let mut timeout_secs = DEFAULT_TIMEOUT_SECS;
        let mut attempts = DEFAULT_ATTEMPTS;
        for line in text.lines() {
            let line = line.split(['#', ';']).next().unwrap_or_default().trim();
            let mut words = line.split_whitespace();
            match words.next() {
                Some("nameserver") => match words.next().map(parse_nameserver) {
                    Some(Some(addr)) => servers.push(addr),
                    other => debug!(line, parsed = ?other, "ignoring unusable nameserver line"),
                },
                Some("options") => {
                    for option in words {
                        if let Some(n) = option_value(option, "timeout:") {
                            timeout_secs = n.clamp(1, MAX_TIMEOUT_SECS);
                        } else if let Some(n) = option_value(option, "attempts:") {
                            attempts = u32::try_from(n.clamp(1, u64::from(MAX_ATTEMPTS)))
                                .unwrap_or(DEFAULT_ATTEMPTS);
                        }
                    }
                }
                _ => {}
            }
        }
        if servers.is_empty() {
            servers.push(SocketAddr::from(([127, 0, 0, 1], 53)));
        }
        ResolverConfig {
            servers,
            timeout: Duration::from_secs(timeout_secs),
            attempts,
            cache_entries: DEFAULT_CACHE_ENTRIES,
        }
    }

    /// Read and parse a resolv.conf file. A missing file yields the defaults (127.0.0.1:53),
    /// as glibc does; any other read error is returned.
    pub fn load(path: &Path) -> io::Result<ResolverConfig> {
        match crate::file::read(path, crate::file::MAX_RESOLV_CONF) {
            Ok(bytes) => Ok(ResolverConfig::from_resolv_conf(&String::from_utf8_lossy(
                &bytes,
            ))),
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                debug!(path = %path.display(), "resolv.conf missing, using defaults");
                Ok(ResolverConfig::from_resolv_conf(""))
            }
            Err(err) => Err(err),
        }
    }

    /// [`ResolverConfig::load`] of [`RESOLV_CONF_PATH`].
    pub fn system() -> io::Result<ResolverConfig> {
        ResolverConfig::load(Path::new(RESOLV_CONF_PATH))
    }
}

impl Default for ResolverConfig {
    /// The configuration of an empty resolv.conf: 127.0.0.1:53, 5 s, 2 attempts.
    fn default() -> ResolverConfig {
        ResolverConfig::from_resolv_conf("")
    }
}

/// `prefix` followed by a decimal number; absurdly large numbers saturate.
fn option_value(option: &str, prefix: &str) -> Option<u64> {
    let digits = option.strip_prefix(prefix)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse().unwrap_or(u64::MAX))
}

fn parse_nameserver(text: &str) -> Option<SocketAddr> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, 53));
    }
    let (ip, zone) = text.split_once('%')?;
    let ip: Ipv6Addr = ip.parse().ok()?;
    let scope: u32 = zone.parse().ok()?;
    Some(SocketAddr::V6(SocketAddrV6::new(ip, 53, 0, scope)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(a: [u8; 4]) -> SocketAddr {
        SocketAddr::from((a, 53))
    }

    #[test]
    fn empty_text_gives_glibc_defaults() {
        let config = ResolverConfig::from_resolv_conf("");
        assert_eq!(config.servers, vec![v4([127, 0, 0, 1])]);
        assert_eq!(config.timeout, Duration::from_secs(5));
        assert_eq!(config.attempts, 2);
        assert_eq!(config.cache_entries, DEFAULT_CACHE_ENTRIES);
        assert_eq!(ResolverConfig::default(), config);
    }

    #[test]
    fn typical_file() {
        let text = "# generated by NetworkManager\n\
                    search example.com corp.example\n\
                    nameserver 192.0.2.1\n\
                    nameserver   2001:db8::53  \n\
                    \tnameserver 198.51.100.7 # trailing comment\n\
                    options ndots:2 timeout:3 rotate attempts:4 edns0\n";
        let config = ResolverConfig::from_resolv_conf(text);
        assert_eq!(
            config.servers,
            vec![
                v4([192, 0, 2, 1]),
                "[2001:db8::53]:53".parse().unwrap(),
                v4([198, 51, 100, 7]),
            ]
        );
        assert_eq!(config.timeout, Duration::from_secs(3));
        assert_eq!(config.attempts, 4);
    }

    #[test]
    fn comments_garbage_and_bad_addresses_are_ignored() {
        let text = "; nameserver 10.0.0.1\n\
                    #nameserver 10.0.0.2\n\
                    nameserver\n\
                    nameserver not-an-ip\n\
                    nameserver 10.0.0.3:5353\n\
                    nameserver fe80::1%eth0\n\
                    nameservers 10.0.0.4\n\
                    garbage line here\n\
                    options timeout: attempts:x timeout:abc\n";
        let config = ResolverConfig::from_resolv_conf(text);
        assert_eq!(config.servers, vec![v4([127, 0, 0, 1])]);
        assert_eq!(config.timeout, Duration::from_secs(5));
        assert_eq!(config.attempts, 2);
    }

    #[test]
    fn numeric_ipv6_zone_is_kept() {
        let config = ResolverConfig::from_resolv_conf("nameserver fe80::1%3\n");
        let expected = SocketAddrV6::new("fe80::1".parse().unwrap(), 53, 0, 3);
        assert_eq!(config.servers, vec![SocketAddr::V6(expected)]);
    }

    #[test]
    fn options_are_clamped_and_later_lines_win() {
        let config = ResolverConfig::from_resolv_conf(
            "options timeout:0 attempts:0\noptions timeout:99999999999999999999999 attempts:77\n",
        );
        assert_eq!(config.timeout, Duration::from_secs(30));
        assert_eq!(config.attempts, 5);
        let config = ResolverConfig::from_resolv_conf("options timeout:0 attempts:0\n");
        assert_eq!(config.timeout, Duration::from_secs(1));
        assert_eq!(config.attempts, 1);
    }

    #[test]
    fn load_missing_file_gives_defaults() {
        let config = ResolverConfig::load(Path::new("/nonexistent/dir/resolv.conf")).unwrap();
        assert_eq!(config, ResolverConfig::default());
    }
}
