//! Message tracking: what Sluice says about one message at its final disposition, as a value
//! ([`Track`]), and the two ways it is said: the `message.*` event's fields ([`Track::fields`]) and
//! the one info log line per message ([`Track::log_line`], Postfix's stable `key=value` layout, so
//! `grep <id>` finds it). Pure: the session builds a `Track` and writes both.
//!
//! Privacy: a `Track` carries addresses, ids, sizes, reply codes and policy names. The subject and
//! the Message-ID go to the event (the SIEM destination may mask the subject); the log line carries
//! neither (no content at all).

use std::borrow::Cow;
use std::net::SocketAddr;
use std::time::Duration;

use crate::events::{Field, Fields, Kind};
use crate::policy::Direction;

/// How a message ended at the SMTP edge (the log line's `status=` and the event kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The next hop took it unchanged.
    Relayed,
    /// Relayed with a policy's edits (headers, subject).
    Modified,
    /// Relayed to a policy's review addresses instead of its recipients.
    Redirected,
    /// Kept in the store (quarantine or approval); the client got 250.
    Held,
    /// Refused permanently by a policy (or the loop check).
    Blocked,
    /// The client got a temporary failure and keeps the message.
    Deferred,
    /// Refused permanently without a policy (size, NUL, bare line ending, the next hop's 5xx).
    Rejected,
    /// Taken into the gateway's custody (a synced queue commit) and to be delivered from there.
    Accepted,
}

impl Status {
    /// The log line's `status=` value.
    pub fn name(self) -> &'static str {
        match self {
            Status::Relayed => "relayed",
            Status::Modified => "modified",
            Status::Redirected => "redirected",
            Status::Held => "held",
            Status::Blocked => "blocked",
            Status::Deferred => "deferred",
            Status::Rejected => "rejected",
            Status::Accepted => "accepted",
        }
    }

    /// The `message.*` event kind.
    pub fn kind(self) -> Kind {
        match self {
            Status::Relayed => Kind::MessageRelayed,
            Status::Modified => Kind::MessageModified,
            Status::Redirected => Kind::MessageRedirected,
            Status::Held => Kind::MessageQuarantined,
            Status::Blocked => Kind::MessageBlocked,
            Status::Deferred => Kind::MessageDeferred,
            Status::Rejected => Kind::MessageRejected,
            Status::Accepted => Kind::MessageAccepted,
        }
    }

    /// The metrics' outcome label: the event kind's last part (`quarantined` for held).
    pub fn outcome(self) -> &'static str {
        let name = self.kind().name();
        name.rsplit('.').next().unwrap_or(name)
    }
}

/// The next hop a relayed message went to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    /// The name it was found under (a host name, or the address itself).
    pub host: String,
    pub addr: SocketAddr,
}

/// Everything tracked about one message at its final disposition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Track {
    /// Sluice's GUID for the message (`X-dlp-uniquemsgid`).
    pub guid: String,
    pub client: SocketAddr,
    pub sender: String,
    pub recipients: Vec<String>,
    pub subject: String,
    pub message_id: String,
    pub direction: Option<Direction>,
    pub size: u64,
    /// From the client's MAIL to the final reply.
    pub delay: Duration,
    pub hop: Option<Hop>,
    pub status: Status,
    /// The enhanced status code of the final reply (`2.0.0`), when it had one.
    pub dsn: Option<String>,
    /// The names of the policies that matched.
    pub policies: Vec<String>,
}

impl Track {
    /// The `message.*` event's fields (ECS names). No body, no matched value.
    pub fn fields(&self) -> Fields {
        let mut f = Fields::new()
            .with(Field::EmailLocalId, &self.guid)
            .with(Field::EmailFromAddress, &self.sender)
            .with_each(Field::EmailToAddress, &self.recipients)
            .with(Field::EmailSubject, &self.subject)
            .with(Field::EmailMessageId, &self.message_id);
        if let Some(d) = self.direction {
            f.push(Field::EmailDirection, d.name());
        }
        f.push(Field::SourceIp, self.client.ip());
        f.push(Field::SourcePort, self.client.port());
        if let Some(hop) = &self.hop {
            f.push(Field::DestinationAddress, &hop.host);
            f.push(Field::DestinationIp, hop.addr.ip());
            f.push(Field::DestinationPort, hop.addr.port());
        }
        if self.size > 0 {
            // 0: the content was never received whole (refused during DATA).
            f.push(Field::Size, self.size);
        }
        if let Some(dsn) = &self.dsn {
            f.push(Field::Dsn, dsn);
        }
        f.push(Field::Delay, self.delay.as_millis());
        f.with_each(Field::RuleName, &self.policies)
    }

    /// The one log line: `id=<guid> from=<a> to=<b>,<c> size=N relay=host[ip]:port delay=0.25
    /// status=relayed dsn=2.0.0 policy=p1,p2`. Keys always in this order and always present
    /// (`relay=none`, `dsn=none`, `policy=none`); a value with a space, `=`, `"`, `\` or a control
    /// character is quoted with those escaped, so the line splits the same way every time.
    pub fn log_line(&self) -> String {
        let to = self
            .recipients
            .iter()
            .map(|r| format!("<{r}>"))
            .collect::<Vec<_>>()
            .join(",");
        let relay = match &self.hop {
            Some(h) => format!("{}[{}]:{}", h.host, h.addr.ip(), h.addr.port()),
            None => "none".into(),
        };
        let policy = if self.policies.is_empty() {
            "none".to_string()
        } else {
            self.policies.join(",")
        };
        let pairs: [(&str, Cow<str>); 9] = [
            ("id", Cow::from(self.guid.as_str())),
            ("from", format!("<{}>", self.sender).into()),
            ("to", to.into()),
            ("size", self.size.to_string().into()),
            ("relay", relay.into()),
            ("delay", format!("{:.2}", self.delay.as_secs_f64()).into()),
            ("status", self.status.name().into()),
            ("dsn", self.dsn.as_deref().unwrap_or("none").into()),
            ("policy", policy.into()),
        ];
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", value(v)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A log value as it is, or quoted (`"..."` with `\"`, `\\`, `\n`, `\r`, `\t` and `\u{..}`
/// escapes) when it has a space, `=`, `"`, `\`, a control character, or is empty.
pub fn value(v: &str) -> Cow<'_, str> {
    let plain = !v.is_empty()
        && !v
            .chars()
            .any(|c| c == ' ' || c == '=' || c == '"' || c == '\\' || c.is_control());
    if plain {
        return Cow::Borrowed(v);
    }
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    Cow::Owned(out)
}

/// The enhanced status code of a reply (`5.7.1`), if it has one (a next hop's reply carries the
/// code it sent, parsed by the relay client).
pub fn dsn(reply: &crate::smtp::Reply) -> Option<String> {
    reply.enhanced.map(|[a, b, c]| format!("{a}.{b}.{c}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track() -> Track {
        Track {
            guid: "0b6a-guid".into(),
            client: "192.0.2.7:40000".parse().unwrap(),
            sender: "alice@corp.example".into(),
            recipients: vec!["bob@ext.example".into(), "carol@ext.example".into()],
            subject: "Quarterly plan".into(),
            message_id: "<m1@corp.example>".into(),
            direction: Some(Direction::Outbound),
            size: 1234,
            delay: Duration::from_millis(1250),
            hop: Some(Hop {
                host: "mx.ext.example".into(),
                addr: "198.51.100.2:25".parse().unwrap(),
            }),
            status: Status::Relayed,
            dsn: Some("2.0.0".into()),
            policies: vec!["PCI".into()],
        }
    }

    #[test]
    fn the_log_line_has_every_key_in_order_and_no_subject() {
        let line = track().log_line();
        assert_eq!(
            line,
            "id=0b6a-guid from=<alice@corp.example> to=<bob@ext.example>,<carol@ext.example> \
             size=1234 relay=mx.ext.example[198.51.100.2]:25 delay=1.25 status=relayed dsn=2.0.0 \
             policy=PCI"
        );
        assert!(!line.contains("Quarterly"));
        let mut t = track();
        t.hop = None;
        t.dsn = None;
        t.policies.clear();
        t.status = Status::Deferred;
        t.sender.clear();
        let line = t.log_line();
        assert!(
            line.contains(" from=<> ")
                && line.contains(" relay=none ")
                && line.ends_with(" status=deferred dsn=none policy=none"),
            "{line}"
        );
    }

    #[test]
    fn values_with_spaces_equals_quotes_or_controls_are_quoted() {
        assert_eq!(value("plain@x"), "plain@x");
        assert_eq!(value(""), "\"\"");
        assert_eq!(value("a b"), "\"a b\"");
        assert_eq!(value("k=v"), "\"k=v\"");
        assert_eq!(value("say \"hi\" \\o/"), "\"say \\\"hi\\\" \\\\o/\"");
        assert_eq!(value("a\r\nb\u{1}"), "\"a\\r\\nb\\u{1}\"");
        let mut t = track();
        t.policies = vec!["Card numbers".into(), "x=y".into()];
        t.sender = "odd name@x".into();
        let line = t.log_line();
        assert!(line.ends_with(" policy=\"Card numbers,x=y\""), "{line}");
        assert!(line.contains(" from=\"<odd name@x>\" "), "{line}");
        // Splitting on unquoted spaces gives the nine keys.
        assert_eq!(split(&line).len(), 9, "{line}");
    }

    /// Splits a log line the way a reader would: on spaces outside quotes.
    fn split(line: &str) -> Vec<String> {
        let (mut out, mut cur, mut quoted, mut esc) = (Vec::new(), String::new(), false, false);
        for c in line.chars() {
            match c {
                _ if esc => esc = false,
                '\\' if quoted => esc = true,
                '"' => quoted = !quoted,
                ' ' if !quoted => {
                    out.push(std::mem::take(&mut cur));
                    continue;
                }
                _ => {}
            }
            cur.push(c);
        }
        out.push(cur);
        out
    }

    #[test]
    fn the_event_fields_carry_the_ecs_names() {
        let f = track().fields().into_vec();
        let get = |field| {
            f.iter()
                .filter(|(k, _)| *k == field)
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(get(Field::EmailFromAddress), ["alice@corp.example"]);
        assert_eq!(
            get(Field::EmailToAddress),
            ["bob@ext.example", "carol@ext.example"]
        );
        assert_eq!(get(Field::EmailSubject), ["Quarterly plan"]);
        assert_eq!(get(Field::EmailMessageId), ["<m1@corp.example>"]);
        assert_eq!(get(Field::EmailLocalId), ["0b6a-guid"]);
        assert_eq!(get(Field::EmailDirection), ["outbound"]);
        assert_eq!(get(Field::SourceIp), ["192.0.2.7"]);
        assert_eq!(get(Field::SourcePort), ["40000"]);
        assert_eq!(get(Field::DestinationAddress), ["mx.ext.example"]);
        assert_eq!(get(Field::DestinationIp), ["198.51.100.2"]);
        assert_eq!(get(Field::DestinationPort), ["25"]);
        assert_eq!(get(Field::Size), ["1234"]);
        assert_eq!(get(Field::Dsn), ["2.0.0"]);
        assert_eq!(get(Field::Delay), ["1250"]);
        assert_eq!(get(Field::RuleName), ["PCI"]);
        assert_eq!(Status::Held.kind(), Kind::MessageQuarantined);
        assert_eq!(Status::Held.outcome(), "quarantined");
        assert_eq!(Status::Relayed.outcome(), "relayed");
    }

    #[test]
    fn the_dsn_is_the_enhanced_code() {
        use crate::smtp::Reply;
        assert_eq!(
            dsn(&Reply::new(250, Some([2, 0, 0]), "OK")).as_deref(),
            Some("2.0.0")
        );
        assert_eq!(dsn(&Reply::new(250, None, "ok 1.2")), None);
    }
}
