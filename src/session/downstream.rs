//! The session's next-hop side: the connection is opened (or taken from the pool) at MAIL, MAIL goes
//! out pipelined with the first RCPT, every RCPT is answered with the next hop's own reply, DATA is
//! sent ahead while the upstream uploads when the session says so (`relay.data_ahead`), and at end of
//! DATA the pipeline's outcome is carried out (relay, redirect, or refuse).
//!
//! Round trips to the next hop per message: one for `MAIL`+`RCPT` (with PIPELINING), one per further
//! RCPT, and one for the message itself; with DATA sent ahead its `354` arrives during the upload,
//! else DATA costs one more. A transaction that ends without the message (refused, held, redirected,
//! or a failure) ends with RSET and the connection stays; when DATA already went out it can only be
//! closed, in order ([`Connection::abandon_data`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::hold::Facts;
use crate::message::{Content, Envelope, MailParams, MessageId, Origin, Recipient, header};
use crate::notify::Disposition;
use crate::pipeline::{Failure, Inspection, Outcome};
use crate::policy::Decision;
use crate::policy::Verdict;
use crate::relay::{Connection, Relay, client};
use crate::smtp::{DataError, Reply};

use super::Shared;
use super::track::{self, Ending, Write};
use crate::pipeline::track::Status;

/// A message to send as its pieces: the (edited) header block, then the body from the received bytes,
/// so a large (spooled, mapped) body is never copied.
type Parts<'a> = [&'a [u8]; 2];

/// Attempts on a kept or pooled connection that turns out stale before giving up.
const STALE_RETRIES: usize = 2;

pub(super) struct Downstream {
    conn: Option<Connection>,
    /// A MAIL transaction is open at the next hop (so the next one needs an RSET first: the upstream
    /// may have reset its own transaction with RSET or EHLO, or sent DATA with no accepted recipient).
    open: bool,
    /// The upstream's current MAIL has been sent to the next hop (it goes out with the first RCPT).
    mail_sent: bool,
    /// DATA was sent ahead and its reply is still to be read.
    data_sent: bool,
    /// The address of the next hop that took the last message (for its tracking).
    hop: Option<SocketAddr>,
}

impl Downstream {
    pub(super) fn new() -> Downstream {
        Downstream {
            conn: None,
            open: false,
            mail_sent: false,
            data_sent: false,
            hop: None,
        }
    }

    /// The upstream's MAIL passed the local checks. Makes sure a next-hop connection exists, so an
    /// unreachable next hop is reported at MAIL; the command itself is sent with the first RCPT
    /// (as Postfix's `smtpd_delay_reject` does), and a refusal of it is the answer to that RCPT.
    pub(super) async fn mail(&mut self, relay: &Relay, origin: &Origin) -> Reply {
        self.mail_sent = false;
        if self.data_sent {
            self.end_data_ahead().await;
        }
        match self.connect(relay, origin).await {
            Ok(()) => Reply::sender_ok(),
            Err(r) => r,
        }
    }

    async fn connect(&mut self, relay: &Relay, origin: &Origin) -> Result<(), Reply> {
        if self.conn.is_some() {
            return Ok(());
        }
        match relay.connect(origin).await {
            Ok(c) => {
                tracing::debug!(next_hop = %c.label, tls = c.is_tls(), "connected to next hop");
                if c.is_tls() && !c.reused() {
                    crate::metrics::global().tls_session("smtp_out");
                }
                self.conn = Some(c);
                self.open = false;
                Ok(())
            }
            Err(e) => {
                tracing::warn!(peer = %origin.peer, error = %e, "no next hop for MAIL");
                Err(Failure::from(e).reply())
            }
        }
    }

    /// RCPT at the next hop; the first one of a transaction carries the MAIL with it.
    pub(super) async fn rcpt(
        &mut self,
        relay: &Relay,
        origin: &Origin,
        sender: &str,
        params: &MailParams,
        rcpt: &Recipient,
    ) -> Reply {
        if self.mail_sent {
            let Some(conn) = self.conn.as_mut() else {
                return Failure::NextHopGone.reply();
            };
            return match conn.rcpt(rcpt).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "next hop failed at RCPT");
                    self.drop_conn();
                    Failure::from(e).reply()
                }
            };
        }
        // A kept or pooled connection may have gone stale: then retry on a fresh one.
        for attempt in 0..=STALE_RETRIES {
            if let Err(r) = self.connect(relay, origin).await {
                return r;
            }
            let Some(conn) = self.conn.as_mut() else {
                continue;
            };
            let reused = conn.reused();
            match conn.open_transaction(self.open, sender, params, rcpt).await {
                Ok((mail, rcpt)) => {
                    self.open = mail.is_positive();
                    self.mail_sent = mail.is_positive();
                    return if mail.is_positive() { rcpt } else { mail };
                }
                Err(e) if reused && attempt < STALE_RETRIES => {
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
        Failure::Internal("no next-hop connection after connecting").reply()
    }

    /// The upstream said DATA and at least one recipient was accepted: send DATA ahead. A failure
    /// here only drops the connection; [`Downstream::finish`] then replays the transaction.
    pub(super) async fn start_data(&mut self) {
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        if !self.mail_sent {
            return;
        }
        match conn.start_data().await {
            Ok(()) => self.data_sent = true,
            Err(e) => {
                tracing::debug!(error = %e, "next hop lost at DATA; will replay the transaction");
                self.drop_conn();
            }
        }
    }

    fn drop_conn(&mut self) {
        // Dropping the connection closes the socket; a polite QUIT is only sent on a session's end.
        self.conn = None;
        self.open = false;
        self.mail_sent = false;
        self.data_sent = false;
    }

    /// Ends the next hop's transaction without sending the message: RSET, or, when DATA already went
    /// out, [`Downstream::end_data_ahead`].
    async fn abandon(&mut self) {
        if self.data_sent {
            self.end_data_ahead().await;
            return;
        }
        self.rset().await;
    }

    /// The transaction whose DATA went out ahead ends without the message: the connection is closed
    /// in order after the next hop's answer to DATA (kept, after RSET, if that answer was a refusal).
    async fn end_data_ahead(&mut self) {
        let conn = self.conn.take();
        self.drop_conn();
        if let Some(conn) = conn {
            self.conn = conn.abandon_data().await;
        }
    }

    async fn rset(&mut self) {
        self.open = false;
        self.mail_sent = false;
        if let Some(conn) = self.conn.as_mut()
            && conn.rset().await.is_err()
        {
            self.drop_conn();
        }
    }

    /// At the session's end: an idle connection goes back to the pool, any other is closed.
    pub(super) async fn close(&mut self, relay: &Relay) {
        if self.data_sent {
            // The upstream went away during DATA: QUIT would be read as message text.
            self.end_data_ahead().await;
        }
        if let Some(conn) = self.conn.take() {
            if self.open {
                conn.quit().await;
            } else {
                relay.give_back(conn);
            }
        }
    }

    /// End of DATA: inspect, decide, and relay (or hold, or refuse). Returns the upstream's final
    /// reply; the message's disposition is logged, counted and recorded first (`track`).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn finish(
        &mut self,
        shared: &Shared,
        origin: &Origin,
        id: MessageId,
        envelope: Envelope,
        data: Result<Content, DataError>,
        trace: crate::message::header::Field,
        started: Instant,
    ) -> Reply {
        self.hop = None;
        let content = match data {
            Ok(m) => Arc::new(m),
            Err(e) => {
                self.abandon().await;
                let f = Failure::Data(e);
                tracing::info!(%id, peer = %origin.peer, error = %f, "message refused");
                let reply = f.reply();
                let facts = Facts::of(id, origin, &envelope, &[], &shared.internal_domains);
                let status = track::status_of(&reply, Status::Relayed);
                let end = Ending::new(&facts, origin.peer, started, 0);
                track::conclude(
                    shared,
                    &end.track(status, &reply),
                    end.inspection,
                    Write::Own,
                );
                return reply;
            }
        };
        let size = content.len();
        let facts = Facts::of(id, origin, &envelope, &content, &shared.internal_domains);
        let mut end = Ending::new(&facts, origin.peer, started, size as u64);
        let inspecting = Instant::now();
        let inspection = match shared.inspector.inspect(&envelope, &content).await {
            Ok(i) => i,
            Err(f) => {
                self.abandon().await;
                tracing::warn!(%id, peer = %origin.peer, error = %f, "inspection failed; message deferred");
                let reply = f.reply();
                end.inspection = inspecting.elapsed();
                let tracked = end.track(Status::Deferred, &reply);
                track::conclude(shared, &tracked, end.inspection, Write::Own);
                return reply;
            }
        };
        end.inspection = inspecting.elapsed();
        let trial = shared.inspector.trial_mode();
        let verdict = match &inspection {
            Inspection::Done(v) if v.violated() => Some(v),
            _ => None,
        };
        if let Some(v) = verdict {
            end.policies = v.hits.iter().map(|h| h.name.clone()).collect();
        }
        log_verdict(id, origin, &envelope, size, &inspection, trial);
        // Body edits (attachments removed, disclaimers) make a new message: the one copy, only
        // for a policy that asks for one. Otherwise policies edit only the header block and the
        // body is sent from the received bytes as they are.
        let edits = match verdict {
            Some(v) if !trial => match &v.decision {
                Decision::Relay { body, .. } => body.as_slice(),
                _ => &[],
            },
            _ => &[],
        };
        let rewritten = match crate::rewrite::apply(&content, edits) {
            Ok(r) => r,
            Err(e) => {
                self.abandon().await;
                let f = Failure::Inspection(e.to_string());
                tracing::warn!(%id, peer = %origin.peer, error = %f, "message could not be rewritten as a policy asks; deferred");
                let reply = f.reply();
                let tracked = end.track(Status::Deferred, &reply);
                track::conclude(shared, &tracked, end.inspection, Write::Own);
                return reply;
            }
        };
        if let Some(r) = &rewritten {
            tracing::info!(%id, peer = %origin.peer, done = %r.describe(), size = r.message.len(), "message rewritten");
        }
        let sent: &[u8] = rewritten.as_ref().map_or(&content, |r| &r.message);
        let (head, body) = sent.split_at(header::header_end(sent));
        let original = match verdict {
            Some(v) if v.hits.iter().any(|h| !h.notify.is_empty()) => Some(content.to_vec()),
            _ => None,
        };
        let modified =
            matches!(verdict, Some(v) if !trial && matches!(v.decision, Decision::Relay { .. }));
        let (reply, action, status) = match shared.inspector.decide(
            id,
            head.to_vec(),
            &inspection,
            Some(trace),
        ) {
            Outcome::Refuse { reply, reason } => {
                self.abandon().await;
                tracing::info!(%id, peer = %origin.peer, reason, reply = %reply, "message refused");
                let action = format!("blocked ({})", reply.code);
                (reply, action, Status::Blocked)
            }
            Outcome::Relay {
                message,
                redirect_to: None,
            } => {
                let r = self
                    .deliver(id, &shared.relay, origin, &envelope, &[&message, body])
                    .await;
                let mut action = relayed("relayed", &r, trial);
                if let Some(w) = &rewritten {
                    action = format!("{action} ({})", w.describe());
                }
                let done = if modified {
                    Status::Modified
                } else {
                    Status::Relayed
                };
                let status = track::status_of(&r, done);
                (r, action, status)
            }
            Outcome::Relay {
                message,
                redirect_to: Some(to),
            } => {
                let r = self
                    .redirect(id, &shared.relay, origin, &envelope, &to, &[&message, body])
                    .await;
                let mut action = relayed("redirected", &r, false);
                if let Some(w) = &rewritten {
                    action = format!("{action} ({})", w.describe());
                }
                let status = track::status_of(&r, Status::Redirected);
                (r, action, status)
            }
            Outcome::Hold {
                message: mut held_head,
                approvers,
            } => {
                self.abandon().await;
                held_head.extend_from_slice(body);
                return hold(shared, id, held_head, verdict, &approvers, &end).await;
            }
        };
        if status != Status::Blocked && reply.is_positive() {
            end.hop = self.hop;
        }
        let tracked = end.track(status, &reply);
        let mut write = Write::Own;
        if let Some(verdict) = verdict {
            // Notices only for an outcome that stands: delivered, or refused by policy.
            let notify = disposition(verdict, &reply, trial).zip(original.as_deref());
            let event = Some(track::event(&tracked));
            if let Some(work) = shared
                .keeper
                .record(facts.clone(), verdict, action, notify, event)
            {
                shared.tasks.spawn(work);
                write = Write::WithRecord;
            }
        }
        track::conclude(shared, &tracked, end.inspection, write);
        reply
    }

    /// Relays the message in the open transaction. DATA normally went out ahead; when the connection
    /// was lost before the next hop could have seen any of the message, the transaction is replayed
    /// once on a fresh connection.
    async fn deliver(
        &mut self,
        id: MessageId,
        relay: &Relay,
        origin: &Origin,
        envelope: &Envelope,
        message: &Parts<'_>,
    ) -> Reply {
        if self.data_sent {
            self.data_sent = false;
            let lost = match self.conn.as_mut() {
                Some(conn) => match conn.data_reply().await {
                    Ok(r) if r.code == 354 => None,
                    Ok(r) => {
                        self.open = false;
                        self.mail_sent = false;
                        tracing::info!(%id, next_hop = %conn.label, reply = %r, "next hop refused DATA; reply relayed");
                        return r;
                    }
                    Err(e) => Some(e),
                },
                None => None,
            };
            match lost {
                None if self.conn.is_some() => return self.body(id, message).await,
                None => {}
                Some(e) => {
                    tracing::info!(%id, error = %e, "next hop lost before the message; replaying the transaction");
                    self.drop_conn();
                }
            }
            return self
                .replay(id, relay, origin, envelope, &envelope.recipients, message)
                .await;
        }
        if self.conn.is_none() {
            return self
                .replay(id, relay, origin, envelope, &envelope.recipients, message)
                .await;
        }
        self.send(id, message).await
    }

    /// DATA, then the message.
    async fn send(&mut self, id: MessageId, message: &Parts<'_>) -> Reply {
        let Some(conn) = self.conn.as_mut() else {
            return Failure::NextHopGone.reply();
        };
        match conn.start_data().await.and(conn.data_reply().await) {
            Ok(r) if r.code == 354 => self.body(id, message).await,
            Ok(r) => {
                self.open = false;
                self.mail_sent = false;
                tracing::info!(%id, next_hop = %conn.label, reply = %r, "next hop refused DATA; reply relayed");
                r
            }
            Err(e) => self.lost(id, e),
        }
    }

    /// The message after `354`, and the upstream's final reply built from the next hop's.
    async fn body(&mut self, id: MessageId, message: &Parts<'_>) -> Reply {
        self.open = false;
        self.mail_sent = false;
        let Some(conn) = self.conn.as_mut() else {
            return Failure::NextHopGone.reply();
        };
        match conn.body(message).await {
            Ok(r) if r.is_positive() => {
                let tls = conn.protection();
                tracing::info!(%id, next_hop = %conn.label, tls = %tls.name(), tls_version = %tls.version(), reply = %r, size = message[0].len() + message[1].len(), "message relayed");
                self.hop = Some(conn.key.0);
                Reply::relayed(id, r.lines.first().map(String::as_str).unwrap_or(""))
            }
            Ok(r) => {
                let tls = conn.protection();
                tracing::info!(%id, next_hop = %conn.label, tls = %tls.name(), tls_version = %tls.version(), reply = %r, "next hop refused the message; reply relayed");
                r
            }
            Err(e) => self.lost(id, e),
        }
    }

    fn lost(&mut self, id: MessageId, e: client::Error) -> Reply {
        let tls = self
            .conn
            .as_ref()
            .map(Connection::protection)
            .unwrap_or_default();
        tracing::warn!(%id, tls = %tls.name(), tls_version = %tls.version(), error = %e, "next hop failed during DATA; message deferred");
        self.drop_conn();
        Failure::from(e).reply()
    }

    /// A whole transaction on the current (or a new) connection: MAIL, every recipient, DATA and the
    /// message. Used for redirects and to replay a transaction whose connection was lost before the
    /// message went out. The upstream was already told its recipients are accepted, so any refusal
    /// here is answered with a temporary error: the upstream keeps the message and retries.
    async fn replay(
        &mut self,
        id: MessageId,
        relay: &Relay,
        origin: &Origin,
        envelope: &Envelope,
        recipients: &[Recipient],
        message: &Parts<'_>,
    ) -> Reply {
        let Some((first, rest)) = recipients.split_first() else {
            return Failure::NextHopGone.reply();
        };
        self.mail_sent = false;
        let r = self
            .rcpt(relay, origin, &envelope.sender, &envelope.params, first)
            .await;
        if !r.is_positive() {
            tracing::warn!(%id, reply = %r, "next hop refused a recipient on replay");
            self.abandon().await;
            return Failure::RefusedOnReplay(r).reply();
        }
        for rcpt in rest {
            let r = self
                .rcpt(relay, origin, &envelope.sender, &envelope.params, rcpt)
                .await;
            if !r.is_positive() {
                tracing::warn!(%id, reply = %r, "next hop refused a recipient on replay");
                self.abandon().await;
                return Failure::RefusedOnReplay(r).reply();
            }
        }
        self.send(id, message).await
    }

    /// Replaces the envelope recipients with the review addresses (a new transaction at the next hop;
    /// the one opened for the original recipients is ended first).
    async fn redirect(
        &mut self,
        id: MessageId,
        relay: &Relay,
        origin: &Origin,
        envelope: &Envelope,
        to: &[String],
        message: &Parts<'_>,
    ) -> Reply {
        self.abandon().await;
        let review: Vec<Recipient> = to.iter().map(|a| Recipient::plain(a.clone())).collect();
        self.replay(id, relay, origin, envelope, &review, message)
            .await
    }
}

/// Holds the message (its `message.quarantined` event in the same commit); a failure defers it
/// (its `message.deferred` event best-effort).
async fn hold(
    shared: &Shared,
    id: MessageId,
    message: Vec<u8>,
    verdict: Option<&Verdict>,
    approvers: &[String],
    end: &Ending<'_>,
) -> Reply {
    let Some(verdict) = verdict else {
        return Failure::Unholdable("no verdict").reply();
    };
    let peer = end.client;
    let event = end.track(Status::Held, &Reply::held(id, 0, false)).fields();
    match shared
        .keeper
        .hold(end.facts.clone(), verdict, message, approvers, event)
        .await
    {
        Ok(held) => {
            let approval = matches!(held.hold, crate::store::records::Hold::Approval { .. });
            tracing::info!(%id, %peer, held = held.id.0, approval, incidents = ?held.incidents, "message held");
            let reply = Reply::held(id, held.id.0, approval);
            let tracked = end.track(Status::Held, &reply);
            track::conclude(shared, &tracked, end.inspection, Write::WithRecord);
            reply
        }
        Err(e) => {
            let f = Failure::Store(e);
            tracing::error!(%id, %peer, error = %f, "message could not be held; deferred");
            let reply = f.reply();
            let tracked = end.track(Status::Deferred, &reply);
            track::conclude(shared, &tracked, end.inspection, Write::Own);
            reply
        }
    }
}

/// What a violation notice says happened, when the outcome stands (delivered, or refused by policy).
fn disposition(verdict: &Verdict, reply: &Reply, trial: bool) -> Option<Disposition> {
    if trial {
        return reply.is_positive().then_some(Disposition::Monitored);
    }
    match &verdict.decision {
        Decision::Block { .. } if reply.is_permanent() => Some(Disposition::Blocked),
        _ if !reply.is_positive() => None,
        Decision::Pass => Some(Disposition::Monitored),
        Decision::Relay { redirect_to, .. } if !redirect_to.is_empty() => {
            Some(Disposition::Redirected)
        }
        Decision::Relay { .. } => Some(Disposition::DeliveredModified),
        Decision::Block { .. } | Decision::Hold { .. } => None,
    }
}

/// How a relayed message ended, for its incidents.
fn relayed(what: &str, reply: &Reply, trial: bool) -> String {
    let trial = if trial { " (trial mode)" } else { "" };
    if reply.is_positive() {
        format!("{what}{trial}")
    } else {
        format!("{what}{trial}, but the next hop answered {}", reply.code)
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
                Decision::Hold { approvers } if approvers.is_empty() => "quarantine",
                Decision::Hold { .. } => "approval",
            };
            tracing::info!(%id, peer = %origin.peer, sender = %envelope.sender, recipients = envelope.recipients.len(), size, policies = %policies.join(","), decision, trial, findings = %v.detail.join(" | "), "policy violation");
        }
        Inspection::Done(_) => {
            tracing::debug!(%id, peer = %origin.peer, size, "no policy violated")
        }
    }
}
