//! The next-hop probe (shell): a TCP connection to each address and its SMTP greeting, then QUIT.
//! A 220 greeting within the timeouts is "up"; anything else (refused, timed out, another code,
//! a closed connection) is "down" with a one-line reason. No EHLO, no TLS, no transaction: the
//! probe costs the next hop one short connection.

use std::net::SocketAddr;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt, FutureExt};

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
