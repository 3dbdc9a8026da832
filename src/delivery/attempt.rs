//! One delivery attempt of one queue entry through the configured next hop: connect, MAIL, one RCPT
//! per pending recipient, DATA, and every recipient's result. Shell: owns the socket, not the store.
//!
//! Replies are per recipient as the next hop gave them; a 250 to DATA delivers every recipient it
//! accepted. Any failure of our own (no connection, lost connection, timeout) is temporary: the
//! recipients stay pending and the message is tried again (at least once, never silently dropped).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::message::{Body, MailParams, Origin, Recipient, Ret};
use crate::relay::route::Failed;
use crate::relay::{Connection, Relay};
use crate::smtp::Reply;
use crate::store::records::Queued;

use super::outcome::{Attempted, RcptResult};

/// The upstream a reflected message goes back to: the entry's `peer` (an IP, or ip:port).
pub fn peer_of(entry: &Queued) -> Option<IpAddr> {
    let p = entry.peer.trim();
    p.parse::<IpAddr>()
        .ok()
        .or_else(|| p.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// The next-hop key of an entry that goes through `[relay]`, for reordering: its upstream in
/// reflecting mode, else one key (every entry goes to the same configured hosts or MX domains).
/// Gateway entries have a key per destination (`route::hops`).
pub fn hop_of(entry: &Queued, reflect: bool) -> String {
    if reflect {
        peer_of(entry).map_or_else(String::new, |ip| ip.to_string())
    } else {
        "next-hop".to_string()
    }
}

/// The next-hop keys of an entry, for reordering: one for a `[relay]` entry (`hop_of`), one per
/// destination its pending recipients go to for a gateway entry (`route::hops`).
pub fn hops_of(entry: &Queued, reflect: bool, gw: &crate::config::gateway::Gateway) -> Vec<String> {
    match entry.kind {
        crate::store::records::QueueKind::Gateway { .. } => super::route::hops(entry, gw),
        _ => vec![hop_of(entry, reflect)],
    }
}

/// A reply as one line: `550 5.1.1 No such user` (multi-line replies joined with spaces).
pub fn reply_line(r: &Reply) -> String {
    let mut s = r.code.to_string();
    if let Some([a, b, c]) = r.enhanced {
        s.push_str(&format!(" {a}.{b}.{c}"));
    }
    for l in &r.lines {
        if !l.is_empty() {
            s.push(' ');
            s.push_str(l);
        }
    }
    super::outcome::clip(&s)
}

/// MAIL parameters for a queued message: its size, RET and ENVID, and BODY=8BITMIME / SMTPUTF8
/// when the content or the addresses need them.
fn params(entry: &Queued, content: &[u8]) -> MailParams {
    let utf8 = !entry.sender.is_ascii() || entry.recipients.iter().any(|r| !r.address.is_ascii());
    MailParams {
        size: Some(content.len()),
        body: if content.is_ascii() {
            Body::Unspecified
        } else {
            Body::EightBitMime
        },
        smtputf8: utf8,
        ret: entry.ret_full.then_some(Ret::Full),
        envid: entry.envid.clone(),
    }
}

/// Every pending recipient with the same result.
pub fn all_pending(entry: &Queued, result: RcptResult) -> Vec<(usize, RcptResult)> {
    entry
        .recipients
        .iter()
        .enumerate()
        .filter(|(_, r)| r.state == crate::store::records::RcptState::Pending)
        .map(|(i, _)| (i, result.clone()))
        .collect()
}

/// Classifies a refusal of MAIL or RCPT: 5xx is permanent, anything else is retried.
fn refused(reply: &Reply) -> RcptResult {
    let line = reply_line(reply);
    if reply.is_permanent() {
        RcptResult::Failed(line)
    } else {
        RcptResult::Deferred(line)
    }
}

/// Tries to deliver `entry` once. `reflect`: the relay sends to the upstream (needs `peer`).
pub async fn deliver(relay: &Relay, reflect: bool, entry: &Queued, content: &[u8]) -> Attempted {
    let peer = peer_of(entry);
    if reflect && peer.is_none() {
        return Attempted {
            results: all_pending(
                entry,
                RcptResult::Deferred("no upstream address to deliver back to".into()),
            ),
            remote: None,
            tls: Default::default(),
            hops: Vec::new(),
        };
    }
    let origin = Origin {
        peer: SocketAddr::new(peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)), 0),
        helo: String::new(),
        tls: false,
    };
    let conn = relay.connect(&origin).await.map_err(Failed::Relay);
    send(relay, conn, entry, content, &pending(entry)).await
}

/// The indexes of `entry`'s pending recipients.
pub fn pending(entry: &Queued) -> Vec<usize> {
    all_pending(entry, RcptResult::Deferred(String::new()))
        .into_iter()
        .map(|(i, _)| i)
        .collect()
}

/// Sends `entry` to `recipients` over `conn` (or says why there was none: a next hop that cannot
/// receive mail for them at all fails them, anything else defers them); a clean connection goes
/// back to `relay`'s pool.
pub async fn send(
    relay: &Relay,
    conn: Result<Connection, Failed>,
    entry: &Queued,
    content: &[u8],
    recipients: &[usize],
) -> Attempted {
    let mut conn = match conn {
        Ok(c) => c,
        Err(e) => {
            let result = match e {
                Failed::Undeliverable(text) => RcptResult::Failed(text),
                e => RcptResult::Deferred(format!("no connection: {e}")),
            };
            return Attempted {
                results: recipients.iter().map(|&i| (i, result.clone())).collect(),
                remote: None,
                tls: Default::default(),
                hops: Vec::new(),
            };
        }
    };
    let remote = Some(conn.label.clone());
    let tls = conn.protection();
    match transaction(&mut conn, entry, content, recipients).await {
        Ok((results, clean)) => {
            if clean {
                relay.give_back(conn);
            } else {
                conn.quit().await;
            }
            Attempted {
                results,
                remote,
                tls,
                hops: Vec::new(),
            }
        }
        Err((results, e)) => {
            tracing::info!(queue_id = entry.id.0, next_hop = %conn.label, tls = %tls.name(), tls_version = %tls.version(), error = %e, "queue: delivery attempt failed");
            Attempted {
                results,
                remote,
                tls,
                hops: Vec::new(),
            }
        }
    }
}

type Partial = (Vec<(usize, RcptResult)>, crate::relay::client::Error);

/// MAIL, RCPTs (to the recipients `pending`) and DATA on an open connection.
/// `Ok((results, clean))`: `clean` when the connection is idle again and can be pooled. `Err`:
/// the connection failed; every recipient not refused yet is deferred.
async fn transaction(
    conn: &mut Connection,
    entry: &Queued,
    content: &[u8],
    pending: &[usize],
) -> Result<(Vec<(usize, RcptResult)>, bool), Partial> {
    let Some(&first) = pending.first() else {
        return Ok((Vec::new(), true));
    };
    let params = params(entry, content);
    let rcpt = |i: usize| Recipient {
        address: entry.recipients[i].address.clone(),
        notify: entry.recipients[i].notify,
        orcpt: entry.recipients[i].orcpt.clone(),
    };
    let mut results: Vec<(usize, RcptResult)> = Vec::new();
    let lost = |results: &[(usize, RcptResult)], e: crate::relay::client::Error| -> Partial {
        let text = format!("connection to the next hop failed: {e}");
        let mut out: Vec<(usize, RcptResult)> = results
            .iter()
            .filter(|(_, r)| matches!(r, RcptResult::Failed(_)))
            .cloned()
            .collect();
        for &i in pending {
            if !out.iter().any(|(j, _)| *j == i) {
                out.push((i, RcptResult::Deferred(text.clone())));
            }
        }
        (out, e)
    };
    let (mail, first_reply) = conn
        .open_transaction(false, &entry.sender, &params, &rcpt(first))
        .await
        .map_err(|e| lost(&results, e))?;
    if !mail.is_positive() {
        let r = refused(&mail);
        let out = pending.iter().map(|&i| (i, r.clone())).collect();
        let _ = conn.rset().await;
        return Ok((out, false));
    }
    let mut accepted = Vec::new();
    for (n, &i) in pending.iter().enumerate() {
        let reply = if n == 0 {
            first_reply.clone()
        } else {
            conn.rcpt(&rcpt(i)).await.map_err(|e| lost(&results, e))?
        };
        if reply.is_positive() {
            accepted.push(i);
        } else {
            results.push((i, refused(&reply)));
        }
    }
    if accepted.is_empty() {
        conn.rset().await.map_err(|e| lost(&results, e))?;
        return Ok((results, true));
    }
    let data = conn.data(content).await.map_err(|e| lost(&results, e))?;
    let line = reply_line(&data);
    for i in accepted {
        let r = if data.is_positive() {
            RcptResult::Delivered(line.clone())
        } else {
            refused(&data)
        };
        results.push((i, r));
    }
    Ok((results, true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::records::{QueueKind, QueuedRecipient, RcptState};

    fn entry(peer: &str) -> Queued {
        Queued {
            id: crate::store::records::QueueId(1),
            kind: QueueKind::Notice { what: "x".into() },
            created: 0,
            sender: "a@x.org".into(),
            envid: Some("abc+2B1".into()),
            ret_full: true,
            recipients: vec![QueuedRecipient {
                address: "b@y.org".into(),
                notify: Default::default(),
                orcpt: None,
                state: RcptState::Pending,
                last_reply: None,
            }],
            peer: peer.into(),
            attempts: 0,
            next_attempt: 0,
            give_up_at: 0,
            delay_notice_sent: false,
            held: false,
        }
    }

    #[test]
    fn hop_is_the_upstream_only_when_reflecting() {
        assert_eq!(hop_of(&entry("10.0.0.5"), true), "10.0.0.5");
        assert_eq!(hop_of(&entry("10.0.0.5:4711"), true), "10.0.0.5");
        assert_eq!(hop_of(&entry("10.0.0.5"), false), "next-hop");
        assert_eq!(hop_of(&entry(""), true), "");
        assert_eq!(peer_of(&entry("nonsense")), None);
    }

    #[test]
    fn replies_become_one_line_with_the_enhanced_code() {
        let r = Reply {
            code: 550,
            enhanced: Some([5, 1, 1]),
            lines: vec!["No such user".into(), "see docs".into()],
        };
        assert_eq!(reply_line(&r), "550 5.1.1 No such user see docs");
        assert_eq!(refused(&r), RcptResult::Failed(reply_line(&r)));
        let t = Reply::new(451, None, "later");
        assert_eq!(refused(&t), RcptResult::Deferred("451 later".into()));
    }

    #[test]
    fn mail_parameters_carry_envid_ret_and_8bit() {
        let e = entry("");
        let p = params(&e, "h: v\r\n\r\nbody".as_bytes());
        assert_eq!(p.envid.as_deref(), Some("abc+2B1"));
        assert_eq!(p.ret, Some(Ret::Full));
        assert_eq!(p.body, Body::Unspecified);
        assert!(!p.smtputf8);
        let p = params(&e, "h: v\r\n\r\nbödy".as_bytes());
        assert_eq!(p.body, Body::EightBitMime);
    }
}
