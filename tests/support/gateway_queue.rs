//! Gateway delivery without a gateway listener: `QueueKind::Gateway` entries put into the store
//! of a stopped instance (as the custody path would queue them), then `sluice serve` started on
//! that data dir with a shiftable clock (`support::stopped`, shared with `tests/queue.rs`),
//! delivering them by route. For `tests/gateway_*.rs`.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;

use sluice::store::records::{QueueKind, Queued, QueuedRecipient};

use super::sluice::closed_addr;
#[allow(unused_imports)] // for the tests that use them (gateway_delivery, gateway_route)
pub use super::stopped::{Instance, now, queue_len};

pub const CONTENT: &[u8] = b"From: alice@partner.example\r\nTo: bob@corp.example\r\nSubject: routed\r\nMessage-ID: <r1@partner.example>\r\n\r\nThe body stays private.\r\n";

/// A config for gateway delivery: `[relay]` toward a closed port (gateway entries never use
/// it), short retries and lease, no admin server, DNS from `dns` when given, and `extra`
/// (`[gateway]`, `[[route]]`, more `[queue]` keys via `queue_extra`).
pub fn config(dns: Option<SocketAddr>, queue_extra: &str, extra: &str) -> String {
    let relay = closed_addr(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let dns = dns.map_or(String::new(), |d| {
        format!("[dns]\nservers = [\"{d}\"]\ntimeout = \"2s\"\n")
    });
    super::sluice::config(
        "",
        &super::sluice::hosts_relay(&[relay]),
        &format!(
            "[admin]\nenabled = false\n\n[queue]\nretry = [\"1s\"]\nlease = \"10s\"\n{queue_extra}\n\n{dns}\n{extra}\n"
        ),
    )
}

/// A gateway entry (accepted by listener "inbound") from `sender` to `rcpts`, due now.
pub fn entry(sender: &str, rcpts: &[&str]) -> Queued {
    Queued {
        id: sluice::store::records::QueueId(0),
        kind: QueueKind::Gateway {
            guid: "0192a4b6-0000-7000-8000-000000000001".into(),
            direction: sluice::policy::Direction::Inbound,
            listener: "inbound".into(),
            received: Some(now()),
        },
        created: now(),
        sender: sender.into(),
        envid: None,
        ret_full: false,
        recipients: rcpts.iter().map(|a| QueuedRecipient::new(*a)).collect(),
        peer: "192.0.2.10".into(),
        attempts: 0,
        next_attempt: now(),
        give_up_at: 0,
        delay_notice_sent: false,
        held: false,
    }
}

/// Puts entries (with [`CONTENT`]) into the store of a stopped instance.
pub fn enqueue(dir: &Path, entries: Vec<Queued>) {
    super::stopped::enqueue(dir, entries, CONTENT);
}

/// A port free on every one of these loopback addresses (MX delivery uses one port for all).
pub fn common_port(ips: &[Ipv4Addr]) -> u16 {
    'next: for _ in 0..50 {
        let first = std::net::TcpListener::bind((ips[0], 0)).unwrap();
        let port = first.local_addr().unwrap().port();
        for ip in &ips[1..] {
            if std::net::TcpListener::bind((*ip, port)).is_err() {
                continue 'next;
            }
        }
        return port;
    }
    panic!("no common free port on {ips:?}");
}
