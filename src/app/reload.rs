//! Live reload's wiring: [`Reloader::reload`] re-reads the configuration file the server started
//! with and everything loaded from it (certificates, trust anchors, definitions, EDM indexes,
//! compiled policies), builds the whole new [`Runtime`] (binding a moved listener address too), and
//! only then swaps it in through [`Swap::replace`]; any error leaves the running set in force and
//! comes back as `file:line:col: ...` (or `file: ...`). After the swap the process-wide parts follow:
//! the byte budget, the delivery queue's next hops, the listeners (`app::listeners`: new and moved
//! ones accept, removed and moved-away ones are retired; open sessions go on). `sluice reload` (the control socket) and SIGHUP both call [`Reloader::reload`]; so will
//! the admin UI's settings pages and the definition updates, after writing their files.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::listeners::Listeners;
use crate::config::Config;
use crate::config::record::Record;
use crate::control::{self, Reloaded, Status};
use crate::events::{Field, Fields, Kind as EventKind};
use crate::pipeline::{Inspector, Released};
use crate::relay::Relay;
use crate::runtime::{Report, Runtime, Swap};
use crate::session::Shared;
use crate::smtp::server::Settings;

/// The process-wide parts every session set refers to (built once by `serve`).
pub struct Base {
    pub keeper: Arc<crate::hold::Keeper>,
    /// The app's background tasks (`task::Group`), handed to every session set.
    pub tasks: crate::task::Group,
    pub shutdown: Arc<crate::shutdown::Shutdown>,
    pub clock: Arc<crate::clock::Clock>,
    pub budget: Arc<crate::session::budget::Budget>,
    pub spool: crate::session::spool::Spool,
    pub hop_status: Arc<crate::relay::status::HopStatus>,
    /// Recognises a message released from the quarantine (`None`: no store).
    pub released: Option<Released>,
    /// The gateway listeners' one gate state, kept across reloads that leave its settings alone.
    pub gates: crate::gateway::gate::Shelf,
}

/// Where the configuration comes from: the file `serve` was given with `--config` and its
/// `--data-dir`. Without `--config` it is `<data_dir>/sluice.toml` when that exists (the admin
/// UI's first save writes it), else the embedded defaults; each read looks again.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
}

impl Source {
    /// The file read now (`None`: the embedded defaults).
    pub fn file(&self) -> Option<PathBuf> {
        crate::config::located(self.path.as_deref(), self.data_dir.as_deref())
    }

    /// The file the admin UI writes: `--config`'s, else `<data_dir>/sluice.toml`.
    pub fn edited(&self) -> PathBuf {
        crate::config::edited_file(self.path.as_deref(), self.data_dir.as_deref())
    }

    /// Reads the configuration: the config, the file's text and the record that names it.
    pub fn read(&self) -> Result<(Config, Option<String>, Record), String> {
        let file = self.file();
        let (mut config, bytes) = match &file {
            Some(path) => Config::load_bytes(path)
                .map(|(c, b)| (c, Some(b)))
                .map_err(|e| e.to_string())?,
            None => (Config::embedded().map_err(|e| e.to_string())?, None),
        };
        let record = Record::new(file.as_deref().zip(bytes.as_deref()))
            .map_err(|e| format!("recording the configuration: {e}"))?;
        match (&self.data_dir, &self.path, &file) {
            (Some(d), _, _) => config.server.data_dir = d.clone(),
            // Found in the default data dir: that stays the data dir, whatever the file says.
            (None, None, Some(_)) => config.server.data_dir = crate::config::default_data_dir(),
            _ => {}
        }
        let text = bytes.map(|b| String::from_utf8_lossy(&b).into_owned());
        Ok((config, text, record))
    }

    /// How errors name the file.
    pub fn name(&self) -> String {
        self.file()
            .map_or("<embedded defaults>".into(), |p| p.display().to_string())
    }
}

/// The session sets for `config`, one per listener in its order: each listener's settings and
/// STARTTLS config (its own certificate, else `server_tls`), over one inspector and the
/// process-wide parts in `base`. `listener_tls` holds the listeners' own certificates by name.
/// Also, when the first listener has its own certificate, its set with `server_tls` instead: the
/// runtime's `session` (what the admin port presents is the `[tls]` pair, not a listener's).
pub fn session_sets(
    config: &Config,
    server_tls: Arc<rustls::ServerConfig>,
    listener_tls: &[(String, Arc<rustls::ServerConfig>)],
    client_tls: Arc<rustls::ClientConfig>,
    inspector: Inspector,
    base: &Base,
) -> (Vec<Shared>, Option<Shared>) {
    // A message released from the quarantine that comes back (reflecting mode) is not held again.
    let inspector = match &base.released {
        Some(r) => inspector.with_released(r.clone()),
        None => inspector,
    };
    let sets = config
        .listeners
        .iter()
        .map(|l| {
            let tls = listener_tls
                .iter()
                .find(|(name, _)| *name == l.name)
                .map_or_else(|| server_tls.clone(), |(_, t)| t.clone());
            session_set(config, l, tls, client_tls.clone(), inspector.clone(), base)
        })
        .collect();
    let primary = config
        .listeners
        .first()
        .filter(|l| l.cert_and_key.is_some())
        .map(|l| session_set(config, l, server_tls, client_tls, inspector, base));
    (sets, primary)
}

/// The runtime of `config` over its session sets (see [`session_sets`]).
pub fn runtime(
    config: Config,
    (sets, primary): (Vec<Shared>, Option<Shared>),
    text: Option<String>,
    record: Record,
) -> Runtime {
    let mut runtime = Runtime::new(config, sets, text, record);
    if let Some(p) = primary {
        runtime.session = Arc::new(p);
    }
    runtime
}

/// One listener's session set.
fn session_set(
    config: &Config,
    l: &crate::config::Listener,
    server_tls: Arc<rustls::ServerConfig>,
    client_tls: Arc<rustls::ClientConfig>,
    inspector: Inspector,
    base: &Base,
) -> Shared {
    let data_ahead = crate::session::data_ahead(config.relay.data_ahead, &inspector);
    let gateway = (l.mode == crate::config::gateway::ListenerMode::Gateway).then(|| {
        let dns = super::resolver_config(&config.dns);
        let state = base
            .gates
            .state(config, &dns, || crate::dns::Resolver::new(dns.clone()));
        let cx = crate::gateway::Context::new(
            config,
            crate::gateway::gate::Gate::shared(&l.name, state),
        );
        cx.gate.set_reporter(crate::session::edge::rate_limited(
            base.keeper.clone(),
            base.tasks.clone(),
        ));
        Arc::new(cx)
    });
    Shared {
        listener: l.name.clone(),
        mode: l.mode,
        gateway,
        data_ahead,
        settings: Settings {
            hostname: config.server.hostname.clone(),
            limits: l.limits,
            extensions: l.extensions,
            bare_line_endings: l.bare_line_endings,
            tls_available: true,
            starttls: l.starttls,
        },
        allowed_clients: l.allowed_clients.clone(),
        max_sessions: l.max_sessions,
        command_timeout: l.command_timeout,
        data_timeout: l.data_timeout,
        data_min_rate: l.data_min_rate,
        tls: Some(server_tls),
        inspector,
        keeper: base.keeper.clone(),
        tasks: base.tasks.clone(),
        internal_domains: config.inspection.internal_domains.clone(),
        relay: Relay::new(
            config.relay.clone(),
            super::resolver(config),
            client_tls,
            base.hop_status.clone(),
        ),
        shutdown: base.shutdown.clone(),
        clock: base.clock.clone(),
        budget: base.budget.clone(),
        spool: base.spool.clone(),
        spool_threshold: config.listener.spool_threshold,
    }
}

/// The STARTTLS server config: the configured pair, else the one generated in the data dir.
pub fn server_tls(
    config: &Config,
    loaded: Option<Arc<rustls::ServerConfig>>,
) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    match loaded {
        Some(t) => Ok(t),
        None => crate::tls::server_config(
            None,
            &config.server.data_dir,
            config.server.hostname.subject(),
        ),
    }
}

/// Rebuilds and swaps the running set; answers the control socket.
pub struct Reloader {
    pub swap: Arc<Swap>,
    pub base: Base,
    pub source: Source,
    /// The running SMTP listeners.
    pub front: Listeners,
    pub delivery: Option<crate::delivery::Delivery>,
    pub admin: Option<SocketAddr>,
    /// The SIEM destinations (`None`: no store); a reload starts, restarts and stops them.
    pub exporter: Option<Arc<crate::export::destination::Exporter>>,
    pub started: Instant,
    reloads: AtomicU64,
    /// One reload at a time (the control socket and SIGHUP may ask at once).
    busy: Mutex<()>,
}

impl Reloader {
    pub fn new(
        swap: Arc<Swap>,
        base: Base,
        source: Source,
        front: Listeners,
        delivery: Option<crate::delivery::Delivery>,
        admin: Option<SocketAddr>,
    ) -> Reloader {
        Reloader {
            swap,
            base,
            source,
            front,
            delivery,
            admin,
            exporter: None,
            started: Instant::now(),
            reloads: AtomicU64::new(0),
            busy: Mutex::new(()),
        }
    }

    /// The file the admin UI edits and where its versions go (`admin.config_history` of the
    /// settings in force).
    pub fn edit_target(&self) -> crate::config::edit::Target {
        let now = self.swap.current();
        crate::config::edit::Target {
            path: self.source.edited(),
            data_dir: now.config.server.data_dir.clone(),
            keep: now.config.admin.config_history,
        }
    }

    pub fn with_exporter(
        mut self,
        exporter: Option<Arc<crate::export::destination::Exporter>>,
    ) -> Reloader {
        self.exporter = exporter;
        self
    }

    /// Re-reads the configuration file and everything loaded from it, builds the new set whole,
    /// and swaps it in. Blocking (compiles policies, reads files): run it off the executor. On an
    /// error nothing changed. `by` says who asked (`sighup`, `control socket`): the
    /// `config.reloaded` / `config.reload_refused` event's `user.name`, written before this returns.
    pub fn reload(&self, by: &str) -> Result<Report, String> {
        let _one = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        let result = self.rebuild();
        if let Err(e) = &result {
            tracing::warn!(error = %e, "reload refused; the running configuration stays");
        }
        let (kind, fields) = reload_event(&result, by);
        if let Some(write) = self.base.keeper.event(kind, fields) {
            smol::block_on(write);
        }
        result
    }

    fn rebuild(&self) -> Result<Report, String> {
        let old = self.swap.current();
        let (mut config, text, record) = self.source.read()?;
        let file = self.source.name();
        // The data dir cannot move under a running server (the change is reported as such).
        config.server.data_dir = old.config.server.data_dir.clone();
        let loaded = super::load(&config).map_err(|e| format!("{file}: {e:#}"))?;
        let tls = server_tls(&config, loaded.server_tls)
            .map_err(|e| format!("{file}: STARTTLS certificate: {e:#}"))?;
        // New and moved listeners are bound before anything changes (a bind error refuses it all).
        let bound = self
            .front
            .bind(&config)
            .map_err(|e| format!("{file}: {e}"))?;
        let queue_relay = Relay::new(
            config.relay.clone(),
            super::resolver(&config),
            loaded.client_tls.clone(),
            self.base.hop_status.clone(),
        );
        let loaded_client_tls = loaded.client_tls.clone();
        let siem = loaded.siem;
        let shared = session_sets(
            &config,
            tls,
            &loaded.listener_tls,
            loaded.client_tls,
            loaded.inspector,
            &self.base,
        );
        let runtime = runtime(config, shared, text, record);
        let report = self.swap.replace(runtime)?;
        crate::metrics::global().definitions_loaded(self.base.clock.now());
        let new = self.swap.current();
        self.base
            .budget
            .set_max(new.config.listener.max_bytes_in_flight);
        if let Some(a) = self.base.keeper.alerts() {
            a.set_relay(Relay::new(
                new.config.relay.clone(),
                super::resolver(&new.config),
                loaded_client_tls,
                self.base.hop_status.clone(),
            ));
        }
        if let Some(d) = &self.delivery {
            d.set_relay(queue_relay);
            d.set_gateway(new.config.gateway.clone());
        }
        if let Some(x) = &self.exporter {
            x.apply(siem, new.config.server.hostname.as_str());
        }
        // Bound above, so an error here is a socket's conversion failing (logged there).
        let _ = self.front.apply(&new.config, bound);
        self.reloads.fetch_add(1, Ordering::Relaxed);
        Ok(report)
    }
}

/// The event of a reload: the keys it applied (names only, never values), the keys that wait for
/// a restart, or the error.
fn reload_event(result: &Result<Report, String>, by: &str) -> (EventKind, Fields) {
    let fields = Fields::new().with(Field::UserName, by);
    match result {
        Ok(report) => {
            let mut f = fields.with_each(Field::Setting, &report.changes.applied);
            if !report.changes.restart.is_empty() {
                let keys: Vec<&str> = report
                    .changes
                    .restart
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect();
                f.push(
                    Field::EventReason,
                    format!("restart needed for: {}", keys.join(", ")),
                );
            }
            (EventKind::ConfigReloaded, f)
        }
        Err(e) => (
            EventKind::ConfigReloadRefused,
            fields.with(Field::ErrorMessage, e),
        ),
    }
}

impl control::Handler for Reloader {
    fn reload(&self) -> Result<Reloaded, String> {
        Reloader::reload(self, "control socket").map(|r| Reloaded::from(&r))
    }

    fn status(&self) -> Status {
        let now = self.swap.current();
        let (store, queues) = match self.base.keeper.store() {
            Ok(s) => (
                control::StoreHealth {
                    ok: true,
                    error: None,
                },
                queue_stages(s, self.base.clock.now()),
            ),
            Err(e) => (
                control::StoreHealth {
                    ok: false,
                    error: Some(e.to_string()),
                },
                Vec::new(),
            ),
        };
        Status {
            version: env!("CARGO_PKG_VERSION").to_string(),
            pid: std::process::id(),
            uptime_seconds: self.started.elapsed().as_secs(),
            config_file: now.record.config.as_ref().map(|p| p.display().to_string()),
            config_digest: now.digest.config.clone(),
            policies_digest: now.digest.policies.clone(),
            policies: now.policy_ids(),
            reloads: self.reloads.load(Ordering::Relaxed),
            listeners: control::Listeners {
                smtp: self.front.addr().map_or(String::new(), |a| a.to_string()),
                admin: self.admin.map(|a| a.to_string()),
                each: self
                    .front
                    .list()
                    .into_iter()
                    .map(|l| control::SmtpListener {
                        name: l.name,
                        mode: l.mode.name().to_string(),
                        address: l.addr.to_string(),
                        sessions: l.sessions,
                    })
                    .collect(),
            },
            sessions: self.front.sessions.current(),
            store,
            next_hops: self
                .base
                .hop_status
                .snapshot()
                .iter()
                .map(control::NextHop::from)
                .collect(),
            queues,
        }
    }
}

/// The queues by stage for `sluice status` (empty when the store cannot be read).
fn queue_stages(store: &crate::store::Store, now: u64) -> Vec<control::QueueStage> {
    match store.read(crate::store::backlog::read) {
        Ok(b) => crate::monitor::stages(&b, now)
            .into_iter()
            .map(|q| control::QueueStage {
                stage: q.stage.to_string(),
                messages: q.messages,
                bytes: q.bytes,
                oldest_age: q.oldest_age,
            })
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "status: the queues could not be read");
            Vec::new()
        }
    }
}
