//! Security headers on the responses hyper writes by itself (400 for a malformed request, 431 for
//! a head too large, 505...): those never reach a handler, so [`Stamped`] wraps the connection's
//! stream and, while no handler has run, inserts the headers after the status line of the first
//! response written. Once a handler runs, bytes pass through untouched (its responses carry the
//! headers already).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use futures_lite::{AsyncRead, AsyncWrite};

use super::response::SECURITY_HEADERS;

/// A stream whose first response, if hyper writes it itself, gets the security headers.
pub(crate) struct Stamped<S> {
    inner: S,
    /// Set when the service (a handler) took the request.
    in_service: Arc<AtomicBool>,
    /// Whether the first write was looked at.
    looked: bool,
    /// Bytes accepted from hyper and not yet written to `inner`.
    pending: Vec<u8>,
}

impl<S> Stamped<S> {
    pub(crate) fn new(inner: S, in_service: Arc<AtomicBool>) -> Stamped<S> {
        Stamped {
            inner,
            in_service,
            looked: false,
            pending: Vec::new(),
        }
    }

    pub(crate) fn into_inner(self) -> S {
        self.inner
    }
}

/// `head` with the security headers after its status line (unchanged when it has none).
pub(crate) fn stamp(head: &[u8]) -> Vec<u8> {
    let Some(end) = head.windows(2).position(|w| w == b"\r\n") else {
        return head.to_vec();
    };
    let mut out = Vec::with_capacity(head.len() + 512);
    out.extend_from_slice(&head[..end + 2]);
    for (name, value) in SECURITY_HEADERS {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    out.extend_from_slice(&head[end + 2..]);
    out
}

impl<S: AsyncWrite + Unpin> Stamped<S> {
    /// Writes what is pending; `Ready(Ok)` when nothing is left.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending.is_empty() {
            match Pin::new(&mut self.inner).poll_write(cx, &self.pending) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    self.pending.drain(..n);
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Stamped<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Stamped<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        match this.drain(cx) {
            Poll::Ready(Ok(())) => {}
            other => return other.map(|r| r.map(|()| 0)),
        }
        if !this.looked && !buf.is_empty() {
            this.looked = true;
            if !this.in_service.load(Ordering::SeqCst) {
                this.pending = stamp(buf);
                // Accepted whole; what the stream does not take now goes out with the next
                // write or the flush hyper always makes.
                if let Poll::Ready(Err(e)) = this.drain(cx) {
                    return Poll::Ready(Err(e));
                }
                return Poll::Ready(Ok(buf.len()));
            }
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.drain(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut self.inner).poll_flush(cx),
            other => other,
        }
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.drain(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut self.inner).poll_close(cx),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    //! The headers go after the status line of hyper's own responses, and nowhere else.
    use super::*;
    use futures_lite::AsyncWriteExt;

    #[test]
    fn hyper_s_own_response_gets_the_headers_after_its_status_line() {
        let head = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n";
        let out = String::from_utf8(stamp(head)).unwrap();
        assert!(out.starts_with(
            "HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-security-policy: "
        ));
        for (name, value) in SECURITY_HEADERS {
            assert!(out.contains(&format!("\r\n{name}: {value}\r\n")));
        }
        assert!(out.ends_with("content-length: 0\r\n\r\n"));
        assert_eq!(stamp(b"junk"), b"junk");
    }

    #[test]
    fn only_before_a_handler_ran() {
        let flag = Arc::new(AtomicBool::new(false));
        let mut s = Stamped::new(Vec::new(), flag.clone());
        smol::block_on(async {
            s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                .await
                .unwrap();
            s.write_all(b"more").await.unwrap();
            s.flush().await.unwrap();
        });
        let out = String::from_utf8(s.into_inner()).unwrap();
        assert!(out.contains("x-frame-options: DENY") && out.ends_with("\r\n\r\nmore"));

        let flag = Arc::new(AtomicBool::new(true));
        let mut s = Stamped::new(Vec::new(), flag);
        smol::block_on(async {
            s.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await.unwrap();
            s.flush().await.unwrap();
        });
        assert_eq!(s.into_inner(), b"HTTP/1.1 200 OK\r\n\r\n");
    }
}
