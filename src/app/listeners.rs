//! The running SMTP listeners: one accept loop per configured listener (`[listener]` or each
//! `[[listener]]`), each with its own session gauge (its `max_sessions`) and per-client limit,
//! reading its own session set by name from the current [`Runtime`] ([`Named`]). A reload first
//! binds what is new or moved ([`Listeners::bind`]: an error there changes nothing), swaps the
//! configuration in, then [`Listeners::apply`] starts the new and moved accept loops and retires the
//! removed and moved-away ones: a retired socket is closed, its open sessions go on with the set
//! they have (a removed listener's sessions keep its last set).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use crate::clients::Clients;
use crate::config::Config;
use crate::config::gateway::ListenerMode;
use crate::listener::{Gauge, Listener};
use crate::runtime::Swap;
use crate::session::{Current, Shared};
use crate::store::switches::Watch;

/// The listeners in force and what they share.
pub struct Listeners {
    ex: Arc<smol::Executor<'static>>,
    swap: Arc<Swap>,
    /// Every listener's sessions together (retired listeners' too): what shutdown waits for.
    pub sessions: Arc<Gauge>,
    switches: Arc<Watch>,
    active: Mutex<Vec<Accepting>>,
}

/// One accept loop.
struct Accepting {
    name: String,
    mode: ListenerMode,
    /// The address as configured: the same one at the next reload keeps this socket (port 0
    /// included, which would otherwise bind anew each time).
    configured: SocketAddr,
    /// The address bound.
    addr: SocketAddr,
    sessions: Arc<Gauge>,
    clients: Arc<Clients>,
    /// Dropped to retire the listener.
    _stop: smol::channel::Sender<()>,
    task: smol::Task<()>,
}

/// A listener as `sluice status` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    pub name: String,
    pub mode: ListenerMode,
    pub addr: SocketAddr,
    pub sessions: usize,
}

/// Sockets bound ahead of a swap, by listener name.
pub struct Bound(Vec<(String, std::net::TcpListener)>);

/// The current session set of one listener, by name. After a reload removed the listener, its
/// open sessions keep the last set they could see.
struct Named {
    swap: Arc<Swap>,
    name: String,
    last: Mutex<Arc<Shared>>,
}

impl Current for Named {
    fn shared(&self) -> Arc<Shared> {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(now) = self.swap.current().listener(&self.name) {
            *last = now;
        }
        last.clone()
    }
}

impl Listeners {
    pub fn new(
        ex: Arc<smol::Executor<'static>>,
        swap: Arc<Swap>,
        switches: Arc<Watch>,
    ) -> Listeners {
        Listeners {
            ex,
            swap,
            sessions: Arc::new(Gauge::default()),
            switches,
            active: Mutex::new(Vec::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Accepting>> {
        self.active.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Binds each listener of `config` that has no socket yet: new, or moved to another address.
    /// Nothing runs on them until [`Listeners::apply`]; on an error the ones bound are closed.
    pub fn bind(&self, config: &Config) -> Result<Bound, String> {
        let kept: Vec<(String, SocketAddr)> = self
            .lock()
            .iter()
            .map(|a| (a.name.clone(), a.configured))
            .collect();
        bind_except(config, &kept)
    }

    /// Binds every listener of `config` (at start, before anything else is served).
    pub fn bind_all(config: &Config) -> Result<Bound, String> {
        bind_except(config, &[])
    }

    /// Makes the running listeners those of `config` (the set in force now): starts the ones in
    /// `bound` (a moved listener's old socket is retired), retires the ones `config` no longer
    /// has, and sets the per-client limit of every one. Logs `listener bound` for each new socket.
    pub fn apply(&self, config: &Config, bound: Bound) -> std::io::Result<()> {
        let mut active = self.lock();
        let mut retired = Vec::new();
        active.retain_mut(|a| {
            let keep = config
                .listeners
                .iter()
                .any(|l| l.name == a.name && !bound.0.iter().any(|(n, _)| *n == a.name));
            if !keep {
                retired.push((a.name.clone(), a.addr));
            }
            keep
        });
        // Retired ones stop accepting now (their task ends when its stop channel closes).
        for (name, addr) in &retired {
            if !config.listeners.iter().any(|l| l.name == *name) {
                tracing::info!(name = %name, addr = %addr, "listener removed: no longer accepting; its sessions go on");
            }
        }
        let mut first_error = None;
        for (name, tcp) in bound.0 {
            let Some(l) = config.listeners.iter().find(|l| l.name == name) else {
                continue;
            };
            match self.start(l, tcp) {
                Ok(a) => {
                    if let Some((_, old)) = retired.iter().find(|(n, _)| *n == name) {
                        tracing::info!(name = %name, old = %old, addr = %a.addr, "listener moved: accepting on the new address; the old one no longer accepts, its sessions go on");
                    }
                    active.push(a);
                }
                Err(e) => {
                    tracing::error!(name = %name, error = %e, "listener socket cannot be used");
                    first_error.get_or_insert(e);
                }
            }
        }
        for a in active.iter_mut() {
            if let Some(l) = config.listeners.iter().find(|l| l.name == a.name) {
                a.clients.set_max(l.max_sessions_per_client);
                a.mode = l.mode;
            }
        }
        // In the configuration's order (`status`, the first listener's address).
        active.sort_by_key(|a| {
            config
                .listeners
                .iter()
                .position(|l| l.name == a.name)
                .unwrap_or(usize::MAX)
        });
        first_error.map_or(Ok(()), Err)
    }

    fn start(
        &self,
        l: &crate::config::Listener,
        tcp: std::net::TcpListener,
    ) -> std::io::Result<Accepting> {
        let tcp = smol::net::TcpListener::try_from(tcp)?;
        let addr = tcp.local_addr()?;
        let now = self.swap.current();
        let shared = now.listener(&l.name).unwrap_or_else(|| now.session.clone());
        let current: Arc<dyn Current> = Arc::new(Named {
            swap: self.swap.clone(),
            name: l.name.clone(),
            last: Mutex::new(shared),
        });
        let (stop_tx, stop) = smol::channel::bounded(1);
        let sessions = Arc::new(Gauge::default());
        let clients = Clients::new(l.max_sessions_per_client);
        let listener = Listener {
            tcp,
            sessions: sessions.clone(),
            total: self.sessions.clone(),
            switches: self.switches.clone(),
            clients: clients.clone(),
            stop,
        };
        let task = self.ex.spawn(listener.serve(current, self.ex.clone()));
        tracing::info!(name = %l.name, mode = l.mode.name(), addr = %addr, "listener bound");
        Ok(Accepting {
            name: l.name.clone(),
            mode: l.mode,
            configured: l.address,
            addr,
            sessions,
            clients,
            _stop: stop_tx,
            task,
        })
    }

    /// The first listener's bound address.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.lock().first().map(|a| a.addr)
    }

    /// The running listeners, in the configuration's order.
    pub fn list(&self) -> Vec<Running> {
        self.lock()
            .iter()
            .map(|a| Running {
                name: a.name.clone(),
                mode: a.mode,
                addr: a.addr,
                sessions: a.sessions.current(),
            })
            .collect()
    }

    /// At shutdown: waits for the accept loops (they end when draining begins).
    pub async fn finish(&self) {
        let active = std::mem::take(&mut *self.lock());
        for a in active {
            a.task.await;
        }
    }
}

/// Binds the listeners of `config` except those `kept` (name and configured address) already has.
fn bind_except(config: &Config, kept: &[(String, SocketAddr)]) -> Result<Bound, String> {
    let mut bound = Vec::new();
    for l in &config.listeners {
        if kept.iter().any(|(n, a)| *n == l.name && *a == l.address) {
            continue;
        }
        let tcp = std::net::TcpListener::bind(l.address).map_err(|e| {
            format!(
                "listener.address {} (listener {}): cannot bind: {e}",
                l.address, l.name
            )
        })?;
        bound.push((l.name.clone(), tcp));
    }
    Ok(Bound(bound))
}
