//! A gateway listener's side of one SMTP session (issue 14): the gate's checks at connect, MAIL and
//! RCPT, and at the end of DATA the custody of the message (one synced store write, whose receipt
//! is the only source of the 250), then its inspection inline for up to `gateway.inline_verdict`.
//! A verdict in time is carried out at once (`settle`: a block is a 550 and the message leaves the
//! store); any other message is left to the inspection worker (`inspect`).
//!
//! Security: the client is untrusted; what it sent is stored as it is and inspected before it goes
//! anywhere. Nothing here logs message content.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::config::gateway::Custody as CustodyConfig;
use crate::gateway::gate::Client;
use crate::gateway::router::Routes;
use crate::message::header;
use crate::message::{Body, Content, Envelope, MailParams, Origin, Recipient, Ret};
use crate::policy::Direction;
use crate::smtp::Reply;
use crate::store::intake::{self, Custody, IntakeId, Params, Rcpt, Receipt, Stage};
use crate::store::{Store, StoreError};

/// The custody settings of one configuration set (`[gateway]`, and `queue.give_up`).
#[derive(Debug, Clone)]
pub struct Settings {
    pub custody: CustodyConfig,
    /// How long a queued message may wait for delivery (`queue.give_up`).
    pub give_up: Duration,
    pub routes: Routes,
    /// `[[disclaimer]]`, for `rewrite::plan` when a verdict delivers a message.
    pub disclaimers: Vec<crate::rewrite::Disclaimer>,
}

impl Settings {
    pub fn new(config: &Config) -> Settings {
        Settings {
            custody: config.gateway.custody.clone(),
            give_up: config.queue.give_up,
            routes: config.gateway.routes.clone(),
            disclaimers: config.disclaimers.clone(),
        }
    }
}

/// Sluice's own marker fields, which change what Sluice does with a message: a client could
/// send them to suppress a disclaimer (`rewrite::MARKER`) or pass its mail off as a notice of
/// Sluice's. They are removed from every message a gateway listener receives, before custody
/// (so before inspection and rewriting); Sluice adds its own afterwards.
pub const MARKERS: [&str; 2] = [crate::rewrite::MARKER, "X-Sluice-Notice"];

/// `content` without any [`MARKERS`] field in its header (unchanged, not copied, when it has
/// none).
pub fn unmarked(content: Content) -> Content {
    let head = &content[..header::header_end(&content)];
    if !MARKERS.iter().any(|m| header::count(head, m) > 0) {
        return content;
    }
    let bytes = match content {
        Content::Memory(v) => v,
        Content::Mapped(m) => m.to_vec(),
    };
    Content::Memory(header::remove(bytes, &MARKERS))
}

/// The direction as a fact (seed 004): mail from a client that is not local is inbound; from a
/// local client, internal when every recipient's domain is local, else outbound.
pub fn direction(local_client: bool, routes: &Routes, envelope: &Envelope) -> Direction {
    if !local_client {
        return Direction::Inbound;
    }
    let all_local = envelope.recipients.iter().all(|r| {
        let domain = r.address.rsplit_once('@').map_or("", |(_, d)| d);
        routes.is_local(domain)
    });
    match all_local && !envelope.recipients.is_empty() {
        true => Direction::Internal,
        false => Direction::Outbound,
    }
}

/// One session on a gateway listener: who the client is (decided once, at connect).
pub struct Intake {
    client: Client,
    context: Arc<super::Context>,
}

impl Intake {
    /// A new connection: the gate's verdict on the client, or the reply that refuses it.
    pub async fn connect(context: Arc<super::Context>, peer: SocketAddr) -> Result<Intake, Reply> {
        let client = context.gate.connect(peer).await?;
        Ok(Intake { client, context })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn context(&self) -> &Arc<super::Context> {
        &self.context
    }

    /// The configuration changed (a reload): later transactions use its gateway settings.
    pub fn refresh(&mut self, context: Option<&Arc<super::Context>>) {
        if let Some(c) = context {
            self.context = c.clone();
        }
    }

    /// MAIL FROM: the gate's refusal, or OK.
    pub async fn mail(&self, sender: &str) -> Reply {
        match self.context.gate.mail(&self.client, sender).await {
            Some(refusal) => refusal,
            None => Reply::sender_ok(),
        }
    }

    /// RCPT TO: the gate's refusal, or OK.
    pub async fn rcpt(&self, sender: &str, rcpt: &Recipient) -> Reply {
        match self
            .context
            .gate
            .rcpt(&self.client, sender, &rcpt.address)
            .await
        {
            Some(refusal) => refusal,
            None => Reply::recipient_ok(),
        }
    }

    /// The message's direction as a fact.
    pub fn direction(&self, envelope: &Envelope) -> Direction {
        direction(self.client.local, &self.context.custody.routes, envelope)
    }
}

/// What the session knows about a message at the end of DATA.
pub struct Arrival<'a> {
    pub guid: String,
    pub listener: &'a str,
    pub origin: &'a Origin,
    pub local: bool,
    pub envelope: &'a Envelope,
    pub direction: Direction,
    /// The `Received:` field's value.
    pub trace: &'a str,
    pub now: u64,
}

/// The record kept for a message (before the store gives it its id).
pub fn record(a: &Arrival<'_>, content: &[u8]) -> Custody {
    let p = &a.envelope.params;
    Custody {
        id: IntakeId(0),
        guid: a.guid.clone(),
        received: a.now,
        listener: a.listener.to_string(),
        direction: a.direction,
        peer: a.origin.peer.to_string(),
        helo: a.origin.helo.clone(),
        tls: a.origin.tls,
        local: a.local,
        sender: a.envelope.sender.clone(),
        params: Params {
            size: p.size,
            body: match p.body {
                Body::Unspecified => String::new(),
                Body::SevenBit => "7bit".into(),
                Body::EightBitMime => "8bitmime".into(),
            },
            smtputf8: p.smtputf8,
            ret: p.ret.map(|r| match r {
                Ret::Full => "full".to_string(),
                Ret::Headers => "hdrs".to_string(),
            }),
            envid: p.envid.clone(),
        },
        recipients: a
            .envelope
            .recipients
            .iter()
            .map(|r| Rcpt {
                address: r.address.clone(),
                notify: r.notify,
                orcpt: r.orcpt.clone(),
            })
            .collect(),
        trace: a.trace.to_string(),
        fingerprint: intake::fingerprint(content),
        size: content.len() as u64,
        stage: Stage::Inspect,
        attempts: 0,
        next_attempt: a.now,
        last_error: None,
    }
}

/// The envelope and client of a message in custody, as the session had them.
pub fn envelope(c: &Custody) -> Envelope {
    Envelope {
        sender: c.sender.clone(),
        params: MailParams {
            size: c.params.size,
            body: match c.params.body.as_str() {
                "7bit" => Body::SevenBit,
                "8bitmime" => Body::EightBitMime,
                _ => Body::Unspecified,
            },
            smtputf8: c.params.smtputf8,
            ret: match c.params.ret.as_deref() {
                Some("full") => Some(Ret::Full),
                Some("hdrs") => Some(Ret::Headers),
                _ => None,
            },
            envid: c.params.envid.clone(),
        },
        recipients: c
            .recipients
            .iter()
            .map(|r| Recipient {
                address: r.address.clone(),
                notify: r.notify,
                orcpt: r.orcpt.clone(),
            })
            .collect(),
    }
}

pub fn origin(c: &Custody) -> Origin {
    Origin {
        peer: c
            .peer
            .parse()
            .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0))),
        helo: c.helo.clone(),
        tls: c.tls,
    }
}

/// Takes custody of the message: the one synced write, and the receipt the 250 is built from.
/// `inline` says whether the session will wait for a verdict (the attempt is counted in the write).
pub async fn take<C: AsRef<[u8]> + Send + Sync + 'static>(
    store: &Store,
    settings: &Settings,
    custody: Custody,
    content: Arc<C>,
) -> Result<Receipt, StoreError> {
    let inline = !settings.custody.inline_verdict.is_zero();
    let retry = settings.custody.inspect_retry.as_secs();
    intake::take(store, custody, content, inline, retry).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(to: &[&str]) -> Envelope {
        Envelope {
            sender: "a@corp.example".into(),
            params: Default::default(),
            recipients: to.iter().map(|a| Recipient::plain(a.to_string())).collect(),
        }
    }

    #[test]
    fn direction_is_a_fact_of_the_client_and_the_routing_list() {
        let routes = Routes::new(&[("corp.example", None), (".corp.example", None)], None).unwrap();
        let d = |local, to: &[&str]| direction(local, &routes, &env(to));
        assert_eq!(d(false, &["b@corp.example"]), Direction::Inbound);
        assert_eq!(d(false, &["b@else.example"]), Direction::Inbound);
        assert_eq!(
            d(true, &["b@corp.example", "c@eu.corp.example"]),
            Direction::Internal
        );
        assert_eq!(
            d(true, &["b@corp.example", "c@else.example"]),
            Direction::Outbound
        );
    }

    #[test]
    fn marker_fields_a_client_sent_are_removed() {
        let sent = b"Subject: s\r\nx-sluice-disclaimer: legal\r\nX-Sluice-Notice: alert\r\n\tfolded\r\nTo: b\r\n\r\nX-Sluice-Disclaimer: body\r\n";
        let out = unmarked(Content::Memory(sent.to_vec()));
        assert_eq!(
            &out[..],
            b"Subject: s\r\nTo: b\r\n\r\nX-Sluice-Disclaimer: body\r\n"
        );
        let plain = b"Subject: s\r\n\r\nbody\r\n";
        assert_eq!(&unmarked(Content::Memory(plain.to_vec()))[..], plain);
    }

    #[test]
    fn the_envelope_survives_the_record() {
        let mut e = env(&["b@corp.example"]);
        e.params = MailParams {
            size: Some(10),
            body: Body::EightBitMime,
            smtputf8: true,
            ret: Some(Ret::Headers),
            envid: Some("QQ".into()),
        };
        e.recipients[0].orcpt = Some("rfc822;b@corp.example".into());
        let origin = Origin {
            peer: "192.0.2.1:2500".parse().unwrap(),
            helo: "h".into(),
            tls: true,
        };
        let a = Arrival {
            guid: "G".into(),
            listener: "mx",
            origin: &origin,
            local: false,
            envelope: &e,
            direction: Direction::Inbound,
            trace: "from h",
            now: 5,
        };
        let c = record(&a, b"x");
        assert_eq!(envelope(&c), e);
        assert_eq!(super::origin(&c), origin);
    }
}
