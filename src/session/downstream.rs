//! The session's next-hop side: opens the connection at MAIL, relays MAIL/RCPT in lock-step, and at end of
//! DATA carries out the pipeline's outcome (relay, redirect, or refuse with RSET downstream).

use std::sync::Arc;

use crate::message::{Envelope, MailParams, MessageId, Origin, Recipient};
use crate::pipeline::{Failure, Inspection, Outcome};
use crate::policy::Decision;
use crate::relay::{Connection, Relay};
use crate::smtp::{DataError, Reply};

use super::Shared;

pub(super) struct Downstream {
    conn: Option<Connection>,
    /// A MAIL transaction is open at the next hop (so the next MAIL needs an RSET first: the upstream
    /// may have reset its own transaction with RSET or EHLO, or sent DATA with no accepted recipient).
    open: bool,
}

impl Downstream {
    pub(super) fn new() -> Downstream {
        Downstream {
            conn: None,
            open: false,
        }
    }

    /// MAIL FROM at the next hop, connecting first when needed. The reply is what the upstream gets.
    pub(super) async fn mail(
        &mut self,
        relay: &Relay,
        origin: &Origin,
        sender: &str,
        params: &MailParams,
    ) -> Reply {
        if self.open {
            self.rset().await;
        }
        // A kept or pooled connection may have gone stale: then retry on another one.
        for attempt in 0..3 {
            if self.conn.is_none() {
                match relay.connect(origin).await {
                    Ok(c) => {
                        tracing::debug!(next_hop = %c.label, tls = c.is_tls(), "connected to next hop");
                        self.conn = Some(c);
                    }
                    Err(e) => {
                        tracing::warn!(peer = %origin.peer, error = %e, "no next hop for MAIL");
                        return Failure::from(e).reply();
                    }
                }
            }
            let Some(conn) = self.conn.as_mut() else {
                continue;
            };
            let reused = conn.reused();
            match conn.mail(sender, params, None).await {
                Ok(r) => {
                    self.open = r.is_positive();
                    return r;
                }
                Err(e) if reused && attempt < 2 => {
                    tracing::debug!(error = %e, "kept next-hop connection failed; reconnecting");
                    self.drop_conn();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "next hop failed at MAIL");
                    self.drop_conn();
                    return Failure::from(e).reply();
                }
            }
        }
        Reply::relay_internal()
    }

    pub(super) async fn rcpt(&mut self, rcpt: &Recipient) -> Reply {
        let Some(conn) = self.conn.as_mut() else {
            return Reply::next_hop_lost();
        };
        match conn.rcpt(rcpt).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "next hop failed at RCPT");
                self.drop_conn();
                Failure::from(e).reply()
            }
        }
    }

    fn drop_conn(&mut self) {
        // Dropping the connection closes the socket; a polite QUIT is only sent on a session's end.
        self.conn = None;
        self.open = false;
    }

    async fn rset(&mut self) {
        self.open = false;
        if let Some(conn) = self.conn.as_mut()
            && conn.rset().await.is_err()
        {
            self.drop_conn();
        }
    }

    /// At the session's end: an idle connection goes back to the pool, any other is closed.
    pub(super) async fn close(&mut self, relay: &Relay) {
        if let Some(conn) = self.conn.take() {
            if self.open {
                conn.quit().await;
            } else {
                relay.give_back(conn);
            }
        }
    }

    /// End of DATA: inspect, decide, and relay. Returns the upstream's final reply.
    pub(super) async fn finish(
        &mut self,
        shared: &Shared,
        origin: &Origin,
        envelope: Envelope,
        data: Result<Vec<u8>, DataError>,
    ) -> Reply {
        let id = MessageId::random();
        let message = match data {
            Ok(m) => m,
            Err(e) => {
                self.rset().await;
                let f = Failure::Data(e);
                tracing::info!(%id, peer = %origin.peer, error = %f, "message refused");
                return f.reply();
            }
        };
        let size = message.len();
        let shared_msg = Arc::new(message);
        let inspection = match shared.inspector.inspect(&envelope, &shared_msg).await {
            Ok(i) => i,
            Err(f) => {
                self.rset().await;
                tracing::warn!(%id, peer = %origin.peer, error = %f, "inspection failed; message deferred");
                return f.reply();
            }
        };
        let message = Arc::try_unwrap(shared_msg).unwrap_or_else(|a| (*a).clone());
        log_verdict(
            id,
            origin,
            &envelope,
            size,
            &inspection,
            shared.inspector.trial_mode(),
        );
        match shared.inspector.decide(id, message, &inspection) {
            Outcome::Refuse { reply, reason } => {
                self.rset().await;
                tracing::info!(%id, peer = %origin.peer, reason, reply = %reply, "message refused");
                reply
            }
            Outcome::Relay {
                message,
                redirect_to: None,
            } => self.send(id, &message).await,
            Outcome::Relay {
                message,
                redirect_to: Some(to),
            } => {
                self.redirect(id, &shared.relay, origin, &envelope, &to, &message)
                    .await
            }
        }
    }

    async fn send(&mut self, id: MessageId, message: &[u8]) -> Reply {
        let Some(conn) = self.conn.as_mut() else {
            return Reply::next_hop_lost();
        };
        self.open = false;
        match conn.data(message).await {
            Ok(r) if r.is_positive() => {
                tracing::info!(%id, next_hop = %conn.label, reply = %r, size = message.len(), "message relayed");
                Reply::new(
                    250,
                    Some([2, 0, 0]),
                    format!(
                        "OK id={id}; next hop said: {}",
                        r.lines.first().map(String::as_str).unwrap_or("")
                    ),
                )
            }
            Ok(r) => {
                tracing::info!(%id, next_hop = %conn.label, reply = %r, "next hop refused the message; reply relayed");
                r
            }
            Err(e) => {
                tracing::warn!(%id, error = %e, "next hop failed during DATA; message deferred");
                self.drop_conn();
                Failure::from(e).reply()
            }
        }
    }

    /// Replaces the envelope recipients with the review addresses on the same next-hop connection.
    async fn redirect(
        &mut self,
        id: MessageId,
        relay: &Relay,
        origin: &Origin,
        envelope: &Envelope,
        to: &[String],
        message: &[u8],
    ) -> Reply {
        self.rset().await;
        let r = self
            .mail(relay, origin, &envelope.sender, &envelope.params)
            .await;
        if !r.is_positive() {
            return transient(r);
        }
        let mut accepted = 0;
        let mut last = Reply::next_hop_lost();
        for address in to {
            let r = self.rcpt(&Recipient::plain(address.clone())).await;
            if r.is_positive() {
                accepted += 1;
            } else {
                tracing::warn!(%id, reply = %r, "next hop refused the redirect address");
                last = r;
            }
        }
        if accepted == 0 {
            self.rset().await;
            return transient(last);
        }
        self.send(id, message).await
    }
}

/// A refusal of Sluice's own redirect is a configuration problem, never the sender's: keep it retryable.
fn transient(r: Reply) -> Reply {
    if r.is_permanent() {
        Reply::new(
            451,
            Some([4, 3, 0]),
            "Redirect address refused by the next hop, try again later",
        )
    } else {
        r
    }
}

fn log_verdict(
    id: MessageId,
    origin: &Origin,
    envelope: &Envelope,
    size: usize,
    inspection: &Inspection,
    trial: bool,
) {
    match inspection {
        Inspection::FailedOpen(e) => {
            tracing::warn!(%id, peer = %origin.peer, error = %e, "inspection failed; passing the message on tagged")
        }
        Inspection::Done(v) if v.violated() => {
            let policies: Vec<String> = v
                .hits
                .iter()
                .map(|h| {
                    format!(
                        "{}:{}{}",
                        h.id,
                        h.action,
                        if h.monitor { "(monitor)" } else { "" }
                    )
                })
                .collect();
            let decision = match &v.decision {
                Decision::Pass => "pass",
                Decision::Block { .. } => "block",
                Decision::Relay { redirect_to, .. } if !redirect_to.is_empty() => "redirect",
                Decision::Relay { .. } => "modify",
            };
            tracing::info!(%id, peer = %origin.peer, sender = %envelope.sender, recipients = envelope.recipients.len(), size, policies = %policies.join(","), decision, trial, "policy violation");
        }
        Inspection::Done(_) => {
            tracing::debug!(%id, peer = %origin.peer, size, "no policy violated")
        }
    }
}
