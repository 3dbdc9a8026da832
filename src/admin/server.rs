//! The shell of the admin server: accepts TCP, counts connections, does TLS (rustls), hands each
//! connection to hyper (HTTP/1.1, one request per connection) and enforces the limits.
//!
//! Limits, all from `[admin]`: at most `max_connections` at once and `max_connections_per_client`
//! from one client (the next is closed at once, before TLS: refusing is cheaper than a handshake);
//! the TLS handshake and the request head must arrive within `header_timeout` of the connection
//! opening, so an idle connection holds its slot no longer than that (a slow head gets a raw 408
//! written after hyper hands the stream back), and the body within `request_timeout` (a slow body
//! gets 408 from the handler); bodies
//! above `max_body` get 413 (from `Content-Length` before reading, or while reading a chunked one);
//! heads above [`MAX_HEAD_BYTES`] or [`MAX_HEADERS`] get hyper's 431. A response a client does
//! not read is dropped [`RESPONSE_WRITE_TIME`] after the deadline.
//!
//! One request per connection keeps the deadline exact and the slot count honest; approval pages
//! are one GET and one POST.
//! Desk calls may block on the store, so approval handlers run on the blocking pool.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_lite::{AsyncWriteExt, FutureExt};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::CONTENT_LENGTH;
use hyper::{Request, StatusCode};
use smol::Timer;
use smol_hyper::rt::FuturesIo;

use super::call::Call;
use super::response::Response;
use super::router::{Input, Lookup, Router};
use super::ui::{App, Ui};
use super::{
    MAX_HEAD_BYTES, MAX_HEADERS, RESPONSE_WRITE_TIME, form, method_not_allowed, not_found, pages,
    timed_out, too_large,
};
use crate::approval::ApprovalDesk;
use crate::clients::Clients;
use crate::clock::Clock;
use crate::link::token::Key;
use crate::listener::Gauge;
use crate::shutdown::Shutdown;

/// Pause after a failed accept (EMFILE and friends) instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The bound admin server, ready to [`Server::serve`].
pub struct Server {
    tcp: smol::net::TcpListener,
    ctx: Arc<Ctx>,
    connections: Arc<Gauge>,
}

struct Ctx {
    /// The acceptor for the certificate the server started with; with an `App`, the current
    /// session set's certificate is used instead (a reload or an upload changes it at once).
    tls: futures_rustls::TlsAcceptor,
    /// The acceptor built for the current set's TLS config, and that config (to see it change).
    current_tls: std::sync::Mutex<Option<(Arc<rustls::ServerConfig>, futures_rustls::TlsAcceptor)>>,
    ui: Ui,
    clock: Arc<Clock>,
    max_connections: usize,
    clients: Arc<Clients>,
    header_timeout: Duration,
    request_timeout: Duration,
    max_body: usize,
    max_upload: usize,
    /// `admin.public_url`: the base of the set-up link.
    public_url: String,
}

impl Server {
    /// Binds `config.address`. `tls` is the server configuration `tls::server_config` built
    /// (same certificate as STARTTLS); the desk answers approvals; `key` verifies approval links.
    pub fn bind(
        config: &crate::config::Admin,
        tls: &rustls::ServerConfig,
        desk: Arc<dyn ApprovalDesk>,
        key: Key,
        clock: Arc<Clock>,
    ) -> std::io::Result<Server> {
        let std_listener = std::net::TcpListener::bind(config.address)?;
        let tcp = smol::net::TcpListener::try_from(std_listener)?;
        let router = Router::new(super::routes::all()).map_err(std::io::Error::other)?;
        let mut tls = tls.clone();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Server {
            tcp,
            ctx: Arc::new(Ctx {
                tls: futures_rustls::TlsAcceptor::from(Arc::new(tls)),
                current_tls: std::sync::Mutex::new(None),
                ui: Ui {
                    desk,
                    key,
                    metrics_access: super::metrics::Access::new(
                        config.metrics_allow.clone(),
                        config.metrics_token.as_deref(),
                    ),
                    health: None,
                    allowed: config.allowed_clients.clone(),
                    router,
                    app: None,
                    auth: super::auth::Auth::new(&config.auth, super::auth::Setup::none()),
                },
                clock,
                max_connections: config.max_connections,
                clients: Clients::new(config.max_connections_per_client),
                header_timeout: config.header_timeout,
                request_timeout: config.request_timeout,
                max_body: config.max_body,
                max_upload: config.max_upload,
                public_url: config.public_url.clone(),
            }),
            connections: Arc::new(Gauge::default()),
        })
    }

    /// `/readyz` and `/metrics` answer from `health` (the monitor's); set before serving.
    pub fn with_health(mut self, health: Arc<crate::monitor::Health>) -> Server {
        if let Some(ctx) = Arc::get_mut(&mut self.ctx) {
            ctx.ui.health = Some(health);
        }
        self
    }

    /// The pages work with the running server's state; set before serving (without it they
    /// answer 503).
    /// With no account in the store, the one-time set-up link is made here (see `auth::setup`).
    pub fn with_app(mut self, app: App) -> Server {
        if let Some(ctx) = Arc::get_mut(&mut self.ctx) {
            ctx.ui.app = Some(app);
            match ctx.ui.service().map(|s| s.has_users()) {
                Ok(Ok(has_users)) => {
                    let data_dir = ctx.ui.app.as_ref().map(|a| a.data_dir.clone());
                    match super::auth::Setup::start(
                        &data_dir.unwrap_or_default(),
                        has_users,
                        &ctx.public_url,
                    ) {
                        Ok(setup) => ctx.ui.auth.setup = setup,
                        Err(e) => {
                            tracing::error!(error = %e, "the set-up link could not be written")
                        }
                    }
                }
                _ => tracing::error!("the accounts could not be read: no set-up link"),
            }
        }
        self
    }

    /// The bound address (the real port when the configured one is 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }

    /// Live connections; shutdown waits on it.
    pub fn connections(&self) -> Arc<Gauge> {
        self.connections.clone()
    }

    /// Accepts until shutdown begins; each connection runs on `ex`.
    pub async fn serve(self, shutdown: Arc<Shutdown>, ex: Arc<smol::Executor<'static>>) {
        loop {
            let stop = shutdown.clone();
            let accepted = async { Some(self.tcp.accept().await) }
                .or(async move {
                    stop.draining().await;
                    None
                })
                .await;
            let (tcp, peer) = match accepted {
                None => return,
                Some(Ok(pair)) => pair,
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "admin accept failed");
                    Timer::after(ACCEPT_BACKOFF).await;
                    continue;
                }
            };
            let Some(client_slot) = self.ctx.clients.try_acquire(peer.ip()) else {
                tracing::debug!(%peer, "admin connection limit per client reached; closed");
                drop(tcp);
                continue;
            };
            let Some(slot) = self.connections.try_acquire(self.ctx.max_connections) else {
                // Debug level: a flood must not flood the log too.
                tracing::debug!(%peer, max = self.ctx.max_connections, "admin connection limit reached; closed");
                drop(tcp);
                continue;
            };
            let ctx = self.ctx.clone();
            ex.spawn(async move {
                let _slots = (slot, client_slot);
                let run = std::panic::AssertUnwindSafe(connection(ctx, tcp, peer));
                if run.catch_unwind().await.is_err() {
                    tracing::error!(%peer, "admin connection task panicked; connection dropped");
                }
            })
            .detach();
        }
    }
}

/// The request limits in force for one connection.
struct Limits {
    header_timeout: Duration,
    request_timeout: Duration,
    max_body: usize,
    max_upload: usize,
}

impl Ctx {
    /// The current configuration's limits (a reload changes them for the next connection), or
    /// the ones the server was bound with when it runs without an `App`.
    fn limits(&self) -> Limits {
        match &self.ui.app {
            Some(app) => {
                let a = &app.swap.current().config.admin;
                Limits {
                    header_timeout: a.header_timeout,
                    request_timeout: a.request_timeout,
                    max_body: a.max_body,
                    max_upload: a.max_upload,
                }
            }
            None => Limits {
                header_timeout: self.header_timeout,
                request_timeout: self.request_timeout,
                max_body: self.max_body,
                max_upload: self.max_upload,
            },
        }
    }

    /// The TLS acceptor for the next connection: the current session set's certificate (the one
    /// STARTTLS uses; a reload or an uploaded certificate replaces it) when the server runs with an
    /// `App`, else the one it was bound with.
    fn acceptor(&self) -> futures_rustls::TlsAcceptor {
        let Some(current) = self
            .ui
            .app
            .as_ref()
            .and_then(|a| a.swap.current().session.tls.clone())
        else {
            return self.tls.clone();
        };
        let mut cache = self.current_tls.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((config, acceptor)) = cache.as_ref()
            && Arc::ptr_eq(config, &current)
        {
            return acceptor.clone();
        }
        let mut tls = (*current).clone();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = futures_rustls::TlsAcceptor::from(Arc::new(tls));
        *cache = Some((current, acceptor.clone()));
        acceptor
    }
}

/// How a connection ended.
enum End {
    Served(Result<(), hyper::Error>),
    HeadTimeout,
    Overdue,
}

async fn connection(ctx: Arc<Ctx>, tcp: smol::net::TcpStream, peer: SocketAddr) {
    let opened = Instant::now();
    let limits = ctx.limits();
    let head_deadline = opened + limits.header_timeout;
    let deadline = opened + limits.request_timeout;
    let acceptor = ctx.acceptor();
    let handshake = async { acceptor.accept(tcp).await.map_err(|e| e.to_string()) }
        .or(async {
            Timer::at(head_deadline).await;
            Err("timed out".to_string())
        })
        .await;
    let stream = match handshake {
        Ok(s) => {
            crate::metrics::global().tls_session("admin");
            s
        }
        Err(e) => {
            tracing::debug!(%peer, error = %e, "admin TLS handshake failed");
            return;
        }
    };
    let in_service = Arc::new(AtomicBool::new(false));
    let service = {
        let (ctx, in_service) = (ctx.clone(), in_service.clone());
        hyper::service::service_fn(move |req| {
            in_service.store(true, Ordering::SeqCst);
            let ctx = ctx.clone();
            async move { Ok::<_, Infallible>(handle(ctx, req, deadline, peer).await) }
        })
    };
    let mut conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(false)
        .header_read_timeout(None)
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS)
        .serve_connection(
            FuturesIo::new(super::stamp::Stamped::new(stream, in_service.clone())),
            service,
        );
    let end = async { End::Served((&mut conn).await) }
        .or(async {
            Timer::at(head_deadline).await;
            if !in_service.load(Ordering::SeqCst) {
                return End::HeadTimeout;
            }
            Timer::at(deadline + RESPONSE_WRITE_TIME).await;
            End::Overdue
        })
        .await;
    match end {
        End::Served(Ok(())) => {}
        End::Served(Err(e)) => {
            tracing::debug!(%peer, error = %e, "admin connection ended with an HTTP error");
        }
        End::HeadTimeout => {
            tracing::debug!(%peer, "admin request head not complete in time; 408");
            // The handler never ran, so nothing was written: the stream is ours to answer on.
            let mut stream = conn.into_parts().io.into_inner().into_inner();
            let bytes = timed_out().to_http1_bytes();
            let _ = async {
                stream.write_all(&bytes).await?;
                stream.close().await
            }
            .or(async {
                Timer::after(RESPONSE_WRITE_TIME).await;
                Ok(())
            })
            .await;
        }
        End::Overdue => {
            tracing::debug!(%peer, "admin response not taken in time; connection dropped");
        }
    }
}

/// Why a body could not be read.
enum BodyError {
    TooLarge,
    Timeout,
    Broken,
}

async fn handle(
    ctx: Arc<Ctx>,
    req: Request<Incoming>,
    deadline: Instant,
    peer: SocketAddr,
) -> hyper::Response<Full<Bytes>> {
    let found = match ctx.ui.router.find(req.method(), req.uri().path()) {
        Lookup::Route(def, params) => Ok((def.clone(), params)),
        Lookup::NotFound => Err(("not_found", not_found())),
        Lookup::MethodNotAllowed(allow) => Err(("method_not_allowed", method_not_allowed(allow))),
    };
    let (def, params) = match found {
        Ok(f) => f,
        Err((name, response)) => return finish(peer, name, response),
    };
    let mut call = Call::new(req.method().clone(), "/", peer.ip(), ctx.clock.now());
    call.path = req.uri().path().to_string();
    call.query = form::pairs(req.uri().query().unwrap_or_default().as_bytes());
    call.params = params;
    call.headers = req.headers().clone();
    let limits = ctx.limits();
    let limit = match def.input {
        Input::None => None,
        Input::Upload => Some(limits.max_upload),
        Input::Form | Input::Json => Some(limits.max_body),
    };
    if let Some(max) = limit {
        match read_body(req, max, deadline).await {
            Ok(b) => call.body = b,
            Err(BodyError::TooLarge) => return finish(peer, def.name, too_large()),
            Err(BodyError::Timeout) => return finish(peer, def.name, timed_out()),
            Err(BodyError::Broken) => {
                let r = pages::failure(
                    StatusCode::BAD_REQUEST,
                    "Bad request",
                    "The request body could not be read.",
                );
                return finish(peer, def.name, r);
            }
        }
    }
    let name = def.name;
    let worker = ctx.clone();
    // Handlers may read the store or apply a configuration: off the async threads. The time they
    // take goes out as `Server-Timing` (what the benchmark reads; browsers show it too).
    let response = smol::unblock(move || {
        let started = Instant::now();
        let r = worker.ui.dispatch(&def, call);
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        r.header(
            hyper::header::HeaderName::from_static("server-timing"),
            format!("app;dur={ms:.2}"),
        )
    })
    .await;
    finish(peer, name, response)
}

/// Logs one request by its route's name (never the path, which may hold a token).
fn finish(peer: SocketAddr, name: &str, response: Response) -> hyper::Response<Full<Bytes>> {
    tracing::debug!(%peer, route = name, status = response.status.as_u16(), "admin request");
    response.into_hyper()
}

async fn read_body(
    req: Request<Incoming>,
    max: usize,
    deadline: Instant,
) -> Result<Vec<u8>, BodyError> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(BodyError::TooLarge);
    }
    let limited = Limited::new(req.into_body(), max);
    let collected = async { Some(limited.collect().await) }
        .or(async {
            Timer::at(deadline).await;
            None
        })
        .await;
    match collected {
        None => Err(BodyError::Timeout),
        Some(Ok(c)) => Ok(c.to_bytes().to_vec()),
        Some(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(BodyError::TooLarge),
        Some(Err(_)) => Err(BodyError::Broken),
    }
}
