//! The `Received:` trace field Sluice prepends to every message it passes on (RFC 5321 section 4.4),
//! laid out as Postfix writes it, TLS details included. Pure: the time comes in as Unix seconds.

use std::net::IpAddr;

use super::header::Field;
use super::{MessageId, Recipient};

/// What the trace field records about one message's arrival.
#[derive(Debug, Clone)]
pub struct Trace<'a> {
    /// The client's EHLO/HELO argument.
    pub helo: &'a str,
    pub peer: IpAddr,
    /// `server.hostname`.
    pub by: &'a str,
    /// The client said EHLO (ESMTP), not HELO.
    pub esmtp: bool,
    /// MAIL carried SMTPUTF8 (RFC 6531 protocol types).
    pub utf8: bool,
    /// The TLS session, as [`tls_details`] writes it; `None` in plaintext.
    pub tls: Option<&'a str>,
    pub id: MessageId,
    pub recipients: &'a [Recipient],
    /// Receipt time, Unix seconds.
    pub date: u64,
}

impl Trace<'_> {
    /// The (folded) field, ready for `header::prepend`.
    pub fn field(&self) -> Field {
        let from = match self.peer {
            IpAddr::V4(v4) => format!("[{v4}]"),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => format!("[{v4}]"),
                None => format!("[IPv6:{v6}]"),
            },
        };
        // RFC 3848 / RFC 6531 protocol types.
        let with = match (self.utf8, self.esmtp, self.tls.is_some()) {
            (true, _, true) => "UTF8SMTPS",
            (true, _, false) => "UTF8SMTP",
            (false, true, true) => "ESMTPS",
            (false, true, false) => "ESMTP",
            (false, false, _) => "SMTP",
        };
        // No reverse lookup: RFC 5321 TCP-info may be the address literal alone (Postfix writes
        // "unknown" there, which is not in the grammar).
        let mut v = format!("from {} ({from})", clean(self.helo));
        if let Some(tls) = self.tls {
            v.push_str(&format!("\r\n\t(using {})", clean_comment(tls)));
        }
        v.push_str(&format!(
            "\r\n\tby {} (Sluice) with {with} id {}",
            clean(self.by),
            self.id
        ));
        // Like Postfix: the recipient only when there is exactly one (no list of who else got it).
        if let [only] = self.recipients {
            v.push_str(&format!("\r\n\tfor <{}>", clean(&only.address)));
        }
        v.push_str(&format!("; {}", rfc5322_date(self.date)));
        // Every token is cleaned and bounded above, so this holds; a fallback keeps it total.
        Field::folded("Received", v).unwrap_or_else(|_| {
            Field::new(
                "Received",
                format!(
                    "by {} (Sluice); {}",
                    clean(self.by),
                    rfc5322_date(self.date)
                ),
            )
            .unwrap_or_else(|_| Field::received_by_sluice())
        })
    }
}

/// How Postfix describes a TLS session: `TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)`.
pub fn tls_details(version: &str, suite: &str) -> String {
    let version = match version {
        "TLSv1_3" => "TLSv1.3",
        "TLSv1_2" => "TLSv1.2",
        v => v,
    };
    // rustls names TLS 1.3 suites "TLS13_..."; the registered (and OpenSSL) name is "TLS_...".
    let suite = suite
        .strip_prefix("TLS13_")
        .map(|s| format!("TLS_{s}"))
        .unwrap_or_else(|| suite.to_string());
    let bits = if suite.contains("AES_128") {
        128
    } else if suite.contains("AES_256") || suite.contains("CHACHA20") {
        256
    } else {
        0
    };
    format!("{version} with cipher {suite} ({bits}/{bits} bits)")
}

/// A token from the client (HELO, an address) made safe inside a header: printable, no parentheses
/// or semicolons that would change how the field parses, bounded.
fn clean(s: &str) -> String {
    let t: String = s
        .chars()
        .take(255)
        .map(|c| {
            if c.is_control() || c.is_whitespace() || matches!(c, '(' | ')' | ';' | '<' | '>') {
                '?'
            } else {
                c
            }
        })
        .collect();
    if t.is_empty() { "unknown".into() } else { t }
}

/// Text for inside a comment: printable, parentheses balanced by construction (ours only).
fn clean_comment(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// RFC 5322 date-time in UTC, e.g. `Sat, 5 Dec 2026 14:06:24 +0000`.
fn rfc5322_date(unix: u64) -> String {
    mail_builder::headers::date::Date::new(i64::try_from(unix).unwrap_or(i64::MAX)).to_rfc822()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace<'a>(rcpts: &'a [Recipient], tls: Option<&'a str>) -> Trace<'a> {
        Trace {
            helo: "mta.corp.example",
            peer: "192.0.2.7".parse().unwrap(),
            by: "sluice.corp.example",
            esmtp: true,
            utf8: false,
            tls,
            id: MessageId::random(),
            recipients: rcpts,
            date: 1_764_943_584,
        }
    }

    #[test]
    fn writes_the_postfix_layout_with_tls_and_one_recipient() {
        let rcpts = [Recipient::plain("b@partner.example")];
        let tls = tls_details("TLSv1_3", "TLS13_AES_256_GCM_SHA384");
        let t = trace(&rcpts, Some(&tls));
        let f = t.field();
        let (name, v) = (f.name().to_string(), f.value().to_string());
        assert_eq!(name, "Received");
        assert_eq!(
            v,
            format!(
                "from mta.corp.example ([192.0.2.7])\r\n\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))\r\n\tby sluice.corp.example (Sluice) with ESMTPS id {}\r\n\tfor <b@partner.example>; Fri, 5 Dec 2025 14:06:24 +0000",
                t.id
            )
        );
    }

    #[test]
    fn plaintext_helo_several_recipients_ipv6_and_hostile_helo() {
        let rcpts = [
            Recipient::plain("a@x.example"),
            Recipient::plain("b@x.example"),
        ];
        let mut t = trace(&rcpts, None);
        t.esmtp = false;
        t.helo = "evil (x)\r\nBcc: y";
        t.peer = "2001:db8::1".parse().unwrap();
        let v = t.field().value().to_string();
        assert!(
            v.starts_with("from evil??x???Bcc:?y ([IPv6:2001:db8::1])\r\n\tby sluice.corp.example (Sluice) with SMTP id "),
            "{v}"
        );
        assert!(!v.contains("for <"), "{v}");
        assert_eq!(v.matches("\r\n").count(), 1, "{v}");
        assert_eq!(
            tls_details("TLSv1_2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
            "TLSv1.2 with cipher TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 (128/128 bits)"
        );
    }
}
