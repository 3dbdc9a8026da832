//! The local control socket, `<data_dir>/control.sock` (Unix, mode 0600, made at start, removed at
//! shutdown, a stale one from a crashed server replaced): one JSON request line in, one JSON
//! answer line out. `sluice reload` and `sluice status` ([`client`]) talk to it; the server's side
//! ([`Control::serve`]) hands each request to a [`Handler`] (`app::reload`).

pub mod client;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_lite::{AsyncBufReadExt, AsyncWriteExt, FutureExt};
use serde::{Deserialize, Serialize};

use crate::shutdown::Shutdown;

/// The socket's file name in the data dir.
pub const SOCKET: &str = "control.sock";

/// Longest request line read.
const MAX_REQUEST: u64 = 4096;

/// A client that does not send its request within this is dropped.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What a client asks.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Request {
    /// Re-read the configuration file and everything loaded from it.
    Reload,
    Status,
}

/// The answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Response {
    Reloaded(Reloaded),
    Status(Box<Status>),
    /// The request failed (a reload: the running set stays; `error` is `file:line:col: ...`).
    Error {
        error: String,
    },
}

/// A reload that took effect.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Reloaded {
    pub config_digest: String,
    pub policies_digest: String,
    pub previous_config_digest: String,
    pub policies: Vec<String>,
    /// Changed keys now in effect.
    pub applied: Vec<String>,
    /// Changed keys that need a restart.
    pub restart_needed: Vec<RestartNeeded>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RestartNeeded {
    pub key: String,
    pub reason: String,
}

impl From<&crate::runtime::Report> for Reloaded {
    fn from(r: &crate::runtime::Report) -> Reloaded {
        Reloaded {
            config_digest: r.digest.config.clone(),
            policies_digest: r.digest.policies.clone(),
            previous_config_digest: r.previous.config.clone(),
            policies: r.policies.clone(),
            applied: r.changes.applied.clone(),
            restart_needed: r
                .changes
                .restart
                .iter()
                .map(|(key, reason)| RestartNeeded {
                    key: key.clone(),
                    reason: reason.clone(),
                })
                .collect(),
        }
    }
}

/// The server's state for `sluice status`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Status {
    pub version: String,
    pub pid: u32,
    pub uptime_seconds: u64,
    /// The configuration file (absolute), `None`: the embedded defaults.
    pub config_file: Option<String>,
    pub config_digest: String,
    pub policies_digest: String,
    pub policies: Vec<String>,
    /// Successful reloads since start.
    pub reloads: u64,
    pub listeners: Listeners,
    pub sessions: usize,
    pub store: StoreHealth,
    pub next_hops: Vec<NextHop>,
    /// The queues by stage (`inspect`, `deliver`, `deferred`, `hold`); empty when the store could
    /// not be read.
    #[serde(default)]
    pub queues: Vec<QueueStage>,
}

/// One stage of the queues (`store::backlog`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct QueueStage {
    pub stage: String,
    pub messages: u64,
    pub bytes: u64,
    /// Seconds since the oldest message was queued (0 when empty).
    pub oldest_age: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Listeners {
    /// The first SMTP listener's address.
    pub smtp: String,
    pub admin: Option<String>,
    /// Every SMTP listener, in the configuration's order.
    #[serde(default)]
    pub each: Vec<SmtpListener>,
}

/// One running SMTP listener.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SmtpListener {
    pub name: String,
    /// `inline` or `gateway`.
    pub mode: String,
    pub address: String,
    /// Its open sessions.
    pub sessions: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoreHealth {
    pub ok: bool,
    pub error: Option<String>,
}

/// One next-hop address as the status cache knows it (`relay::status::Snapshot`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NextHop {
    pub host: String,
    pub state: String,
    pub since: u64,
    pub last_error: Option<String>,
    pub next_probe: Option<u64>,
}

impl From<&crate::relay::status::Snapshot> for NextHop {
    fn from(s: &crate::relay::status::Snapshot) -> NextHop {
        NextHop {
            host: s.host.to_string(),
            state: s.state.name().to_string(),
            since: s.since,
            last_error: s.last_error.clone(),
            next_probe: s.next_probe,
        }
    }
}

/// What the server does for a request (implemented by `app::reload`).
pub trait Handler: Send + Sync + 'static {
    /// Re-reads the configuration and swaps the new set in; blocking (run off the executor).
    fn reload(&self) -> Result<Reloaded, String>;
    fn status(&self) -> Status;
}

/// The bound control socket.
pub struct Control {
    listener: smol::net::unix::UnixListener,
    path: PathBuf,
}

/// The socket's path for a data dir.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET)
}

impl Control {
    /// Binds `<data_dir>/control.sock`. A socket some live server answers on is an error; a
    /// socket that cannot be made (a path too long for a Unix socket, a read-only directory) is
    /// logged and the server runs without one (`None`: SIGHUP still reloads).
    pub fn bind(data_dir: &Path) -> anyhow::Result<Option<Control>> {
        let path = socket_path(data_dir);
        if std::os::unix::net::UnixStream::connect(&path).is_ok() {
            anyhow::bail!(
                "{}: another sluice server is running on this data dir",
                path.display()
            );
        }
        match Control::make(data_dir, path) {
            Ok(c) => Ok(Some(c)),
            Err(e) => {
                tracing::warn!(error = %e, "no control socket: `sluice reload` and `sluice status` cannot reach this server; SIGHUP reloads");
                Ok(None)
            }
        }
    }

    /// Binds with mode 0600: under a temporary name, restricted, then renamed over a stale socket.
    fn make(data_dir: &Path, path: PathBuf) -> anyhow::Result<Control> {
        use std::os::unix::fs::PermissionsExt;
        let tmp = data_dir.join(format!("{SOCKET}.{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        let std_listener = std::os::unix::net::UnixListener::bind(&tmp)
            .map_err(|e| anyhow::anyhow!("{}: {e}", tmp.display()))?;
        let placed = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
            .and_then(|()| std::fs::rename(&tmp, &path));
        if let Err(e) = placed {
            let _ = std::fs::remove_file(&tmp);
            anyhow::bail!("{}: {e}", path.display());
        }
        std_listener.set_nonblocking(true)?;
        let listener = smol::net::unix::UnixListener::from(smol::Async::new(std_listener)?);
        Ok(Control { listener, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Answers requests (each on `ex`) until shutdown begins, then removes the socket.
    pub async fn serve(
        self,
        handler: Arc<dyn Handler>,
        shutdown: Arc<Shutdown>,
        ex: Arc<smol::Executor<'static>>,
    ) {
        loop {
            let stop = shutdown.clone();
            let accepted = async { Some(self.listener.accept().await) }
                .or(async move {
                    stop.draining().await;
                    None
                })
                .await;
            match accepted {
                None => break,
                Some(Ok((stream, _))) => {
                    let handler = handler.clone();
                    ex.spawn(answer(stream, handler)).detach();
                }
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "control socket accept failed");
                    smol::Timer::after(Duration::from_millis(50)).await;
                }
            }
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// One request, one answer.
async fn answer(stream: smol::net::unix::UnixStream, handler: Arc<dyn Handler>) {
    let mut reader = futures_lite::io::BufReader::new(futures_lite::AsyncReadExt::take(
        stream.clone(),
        MAX_REQUEST,
    ));
    let mut line = String::new();
    let read = async { reader.read_line(&mut line).await.ok() }
        .or(async {
            smol::Timer::after(REQUEST_TIMEOUT).await;
            None
        })
        .await;
    if read.is_none() {
        return;
    }
    let response = match serde_json::from_str::<Request>(line.trim()) {
        Err(e) => Response::Error {
            error: format!("bad request: {e}"),
        },
        Ok(Request::Status) => Response::Status(Box::new(handler.status())),
        Ok(Request::Reload) => match smol::unblock(move || handler.reload()).await {
            Ok(r) => Response::Reloaded(r),
            Err(error) => Response::Error { error },
        },
    };
    let mut out = match serde_json::to_vec(&response) {
        Ok(v) => v,
        Err(e) => format!("{{\"result\":\"error\",\"error\":\"{e}\"}}").into_bytes(),
    };
    out.push(b'\n');
    let mut stream = stream;
    let _ = stream.write_all(&out).await;
    let _ = stream.flush().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_answers_are_one_json_line_each() {
        let r: Request = serde_json::from_str(r#"{"command":"reload"}"#).unwrap();
        assert_eq!(r, Request::Reload);
        let e = serde_json::to_string(&Response::Error {
            error: "a.toml:3:7: bad".into(),
        })
        .unwrap();
        assert_eq!(e, r#"{"result":"error","error":"a.toml:3:7: bad"}"#);
        assert!(serde_json::from_str::<Request>(r#"{"command":"shutdown"}"#).is_err());
    }

    #[test]
    fn a_stale_socket_is_replaced_and_a_live_one_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        // A socket file nobody listens on (a crashed server's).
        drop(std::os::unix::net::UnixListener::bind(socket_path(dir.path())).unwrap());
        let control = Control::bind(dir.path()).unwrap().unwrap();
        let mode = std::fs::metadata(control.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let err = Control::bind(dir.path()).err().unwrap().to_string();
        assert!(err.contains("another sluice server"), "{err}");
    }
}
