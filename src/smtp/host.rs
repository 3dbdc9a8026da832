//! [`HostName`]: a name Sluice puts on the wire as its own (greeting, EHLO/HELO, Message-IDs),
//! validated once so that nothing else has to.
//!
//! Security: a host name reaches the next hop inside command lines and the upstream inside replies;
//! a CR or LF in it would let whoever set it write a second command (desynchronising the next hop),
//! so the only way to get a `HostName` is through [`HostName::new`], which admits exactly RFC 5321's
//! `Domain / address-literal` (or [`HostName::localhost`], a constant that is one).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Longest host name accepted, in octets (RFC 5321 4.5.3.1.2 limits a domain to 255).
pub const MAX_HOST_NAME: usize = 255;
/// Longest label of a domain, in octets (RFC 1035).
pub const MAX_LABEL: usize = 63;

/// An RFC 5321 `Domain` (`mail.example.com`) or `address-literal` (`[192.0.2.1]`,
/// `[IPv6:2001:db8::1]`): letters, digits and hyphens, at most 255 octets, labels at most 63.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostName(String);

impl HostName {
    /// `localhost`, a constant valid name (for test and fuzz settings): no validation can fail.
    pub fn localhost() -> HostName {
        HostName("localhost".to_string())
    }

    /// Validates `s` (the error says what is wrong, without repeating a huge value).
    pub fn new(s: &str) -> Result<HostName, String> {
        if s.len() > MAX_HOST_NAME {
            return Err(format!(
                "a host name has at most {MAX_HOST_NAME} octets; this one has {}",
                s.len()
            ));
        }
        let shown = || format!("{s:?}");
        if let Some(inner) = s.strip_prefix('[') {
            let inner = inner
                .strip_suffix(']')
                .ok_or_else(|| format!("{} is not an address literal like [192.0.2.1]", shown()))?;
            let ok = match inner.strip_prefix("IPv6:") {
                Some(v6) => v6.parse::<Ipv6Addr>().is_ok(),
                None => inner.parse::<Ipv4Addr>().is_ok(),
            };
            return if ok {
                Ok(HostName(s.to_string()))
            } else {
                Err(format!(
                    "{} is not an address literal like [192.0.2.1] or [IPv6:2001:db8::1]",
                    shown()
                ))
            };
        }
        if s.parse::<std::net::IpAddr>().is_ok() {
            return Err(format!(
                "{}: write an IP address as an address literal, e.g. [192.0.2.1] or [IPv6:2001:db8::1]",
                shown()
            ));
        }
        for label in s.split('.') {
            if label.is_empty() {
                return Err(format!("{} has an empty label", shown()));
            }
            if label.len() > MAX_LABEL {
                return Err(format!(
                    "{} has a label longer than {MAX_LABEL} octets",
                    shown()
                ));
            }
            let b = label.as_bytes();
            let ldh = b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-');
            if !ldh || b[0] == b'-' || b[b.len() - 1] == b'-' {
                return Err(format!(
                    "{} is not a host name: letters, digits and inner hyphens between dots (RFC 5321)",
                    shown()
                ));
            }
        }
        Ok(HostName(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as a certificate subject: a DNS name, or the bare IP of an address literal.
    pub fn subject(&self) -> &str {
        let s = self.0.trim_start_matches('[').trim_end_matches(']');
        s.strip_prefix("IPv6:").unwrap_or(s)
    }
}

impl std::ops::Deref for HostName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_localhost_constant_is_a_valid_name() {
        assert_eq!(HostName::new("localhost").unwrap(), HostName::localhost());
    }

    #[test]
    fn accepts_domains_and_address_literals() {
        for ok in [
            "mx.example.com",
            "localhost",
            "a-b.c0",
            "[192.0.2.1]",
            "[IPv6:2001:db8::1]",
            &format!("{}.example", "a".repeat(63)),
        ] {
            assert_eq!(HostName::new(ok).unwrap().as_str(), ok);
        }
        assert_eq!(
            HostName::new("[IPv6:::1]").unwrap().subject(),
            "::1",
            "certificate subject"
        );
    }

    #[test]
    fn refuses_line_breaks_nul_and_everything_else_off_grammar() {
        let long_label = format!("{}.example", "a".repeat(64));
        let too_long = ["abc"; 65].join(".");
        assert!(too_long.len() > MAX_HOST_NAME);
        for bad in [
            "",
            "mx.example\r\nMAIL FROM:<x@y>",
            "mx.example\n",
            "mx\0.example",
            "mx example",
            "mx..example",
            ".mx.example",
            "mx.example.",
            "-mx.example",
            "mx_1.example",
            "mx.exämple",
            "192.0.2.1",
            "[192.0.2.300]",
            "[192.0.2.1",
            "[IPv6:zz]",
            long_label.as_str(),
            too_long.as_str(),
        ] {
            assert!(HostName::new(bad).is_err(), "{bad:?} accepted");
        }
        let huge = "a".repeat(100_000);
        let e = HostName::new(&huge).unwrap_err();
        assert!(e.len() < 200, "error repeats the value: {} bytes", e.len());
    }
}
