//! The next-hop probe (shell): a TCP connection to each address and its SMTP greeting, then QUIT.
//! A 220 greeting within the timeouts is "up"; anything else (refused, timed out, another code,
//! a closed connection) is "down" with a one-line reason. No EHLO, no TLS, no transaction: the
//! probe costs the next hop one short connection. In gateway mode the fixed destinations
//! ([`gateway_hosts`]: each `[[route]]` destination and the smart host) are probed too, never the
//! Internet's MX hosts.

use std::net::SocketAddr;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt, FutureExt};

/// The fixed destinations of the gateway's delivery, each once: the `[[route]]` destinations and
/// the smart host; none when no listener is a gateway listener.
pub fn gateway_hosts(cfg: &crate::config::Config) -> Vec<crate::config::NextHop> {
    use crate::config::gateway::ListenerMode;
    if !cfg
        .listeners
        .iter()
        .any(|l| l.mode == ListenerMode::Gateway)
    {
        return Vec::new();
    }
    let routes = &cfg.gateway.routes;
    let mut out: Vec<crate::config::NextHop> = Vec::new();
    let fixed = routes
        .entries()
        .iter()
        .filter_map(|r| r.destination.as_ref());
    for d in fixed.chain(routes.smart_host()) {
        if !out.iter().any(|h| h.host == d.host && h.port == d.port) {
            out.push(crate::config::NextHop {
                host: d.host.clone(),
                port: d.port,
            });
        }
    }
    out
}

/// Probes the gateway's fixed destinations ([`gateway_hosts`]) not already in `done` (the
/// `[relay]` hops' results), as `probe_hops` does those.
pub async fn gateway_hops(
    relay: &crate::relay::Relay,
    cfg: &crate::config::Config,
    done: &[(String, Result<(), String>)],
) -> Vec<(String, Result<(), String>)> {
    let (connect, greeting) = (cfg.relay.connect_timeout, cfg.relay.command_timeout);
    let mut out: Vec<(String, Result<(), String>)> = Vec::new();
    for group in relay.hosts_targets(&gateway_hosts(cfg)).await {
        match group {
            Ok(targets) => {
                for t in targets {
                    let address = t.addr.to_string();
                    if done.iter().chain(out.iter()).any(|(a, _)| *a == address) {
                        continue;
                    }
                    out.push((address, probe(t.addr, connect, greeting).await));
                }
            }
            Err(e) => {
                let host = e.split(": ").next().unwrap_or_default().to_string();
                out.push((host, Err(e)));
            }
        }
    }
    out
}

/// Greeting bytes read at most (a multi-line greeting's lines included).
const MAX_GREETING: usize = 4096;

/// Probes `addr`: connect within `connect`, the whole greeting within `greeting`.
pub async fn probe(addr: SocketAddr, connect: Duration, greeting: Duration) -> Result<(), String> {
    let tcp = async {
        smol::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))
    }
    .or(async {
        smol::Timer::after(connect).await;
        Err("connect: timed out".to_string())
    })
    .await?;
    let mut tcp = tcp;
    let code = async { read_greeting(&mut tcp).await }
        .or(async {
            smol::Timer::after(greeting).await;
            Err("greeting: timed out".to_string())
        })
        .await;
    // Best effort: a polite end of the session, never waited for long.
    let _ = async {
        let _ = tcp.write_all(b"QUIT\r\n").await;
        let _ = tcp.close().await;
    }
    .or(async {
        smol::Timer::after(Duration::from_secs(1)).await;
    })
    .await;
    match code? {
        220 => Ok(()),
        other => Err(format!("greeting: {other}")),
    }
}

/// Reads the greeting up to its last line and returns its code.
async fn read_greeting(tcp: &mut smol::net::TcpStream) -> Result<u16, String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 512];
    loop {
        let n = tcp
            .read(&mut chunk)
            .await
            .map_err(|e| format!("greeting: {e}"))?;
        if n == 0 {
            return Err("greeting: connection closed".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(code) = last_line_code(&buf) {
            return code;
        }
        if buf.len() > MAX_GREETING {
            return Err("greeting: too long".into());
        }
    }
}

/// The code of a complete greeting (its last line `NNN ` or `NNN\r\n`), `None` while incomplete.
fn last_line_code(buf: &[u8]) -> Option<Result<u16, String>> {
    let mut start = 0;
    while let Some(end) = buf[start..].iter().position(|&b| b == b'\n') {
        let line = &buf[start..start + end];
        start += end + 1;
        let code = line
            .get(..3)
            .and_then(|c| std::str::from_utf8(c).ok())
            .and_then(|c| c.parse::<u16>().ok());
        let Some(code) = code else {
            return Some(Err("greeting: not SMTP".into()));
        };
        if line.get(3) != Some(&b'-') {
            return Some(Ok(code));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_greeting_code_is_the_last_lines() {
        assert_eq!(last_line_code(b"220 mx ESMTP\r\n"), Some(Ok(220)));
        assert_eq!(last_line_code(b"220-mx\r\n220 ready\r\n"), Some(Ok(220)));
        assert_eq!(last_line_code(b"220-mx\r\n"), None);
        assert_eq!(last_line_code(b"220 mx"), None);
        assert_eq!(last_line_code(b"554 go away\r\n"), Some(Ok(554)));
        assert!(matches!(last_line_code(b"HTTP/1.1 400\r\n"), Some(Err(_))));
    }

    #[test]
    fn gateway_mode_probes_the_route_destinations_and_the_smart_host_once_each() {
        let parse = |t: &str| crate::config::Config::parse(t, "sluice.toml").unwrap();
        let routes = "[gateway]\nsmart_host = \"relay.isp.example:587\"\n\n[[route]]\ndomain = \"corp.example\"\ndestination = \"10.0.0.5:2525\"\n\n[[route]]\ndomain = \"corp2.example\"\ndestination = \"10.0.0.5:2525\"\n\n[[route]]\ndomain = \".corp.example\"\n";
        let hosts: Vec<String> = gateway_hosts(&parse(&format!(
            "[listener]\nmode = \"gateway\"\n\n{routes}"
        )))
        .iter()
        .map(|h| format!("{}:{}", h.host, h.port))
        .collect();
        assert_eq!(hosts, ["10.0.0.5:2525", "relay.isp.example:587"]);
        // In-line listeners only: the [relay] hops alone.
        assert!(gateway_hosts(&parse(routes)).is_empty());
    }

    #[test]
    fn probes_a_listener_and_a_closed_port() {
        smol::block_on(async {
            let l = smol::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            let server = smol::spawn(async move {
                let (mut s, _) = l.accept().await.unwrap();
                s.write_all(b"220-hello\r\n220 ready\r\n").await.unwrap();
                let mut quit = [0u8; 6];
                let _ = s.read_exact(&mut quit).await;
                quit
            });
            let t = Duration::from_secs(10);
            assert_eq!(probe(addr, t, t).await, Ok(()));
            assert_eq!(&server.await, b"QUIT\r\n");
            // Nothing listens there any more.
            assert!(probe(addr, t, t).await.unwrap_err().starts_with("connect"));
        });
    }
}
