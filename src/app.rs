//! Wiring: runs a subcommand; for `serve`, builds the shared state from the [`Config`], binds the
//! listeners (`app::listeners`) and the control socket, runs the executor threads, reloads on SIGHUP (`reload`), and
//! owns graceful shutdown on SIGTERM/SIGINT.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_lite::{FutureExt, StreamExt};

use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::config::record::{self, Record};
use crate::detect::Detector;
use crate::pipeline::Inspector;
use crate::relay::Relay;
use crate::scan::Scanner;
use crate::shutdown::Shutdown;

pub mod listeners;
pub mod reload;

pub fn main(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Version(_) => {
            crate::outln!("sluice {}", env!("CARGO_PKG_VERSION"));
            Ok(ExitCode::SUCCESS)
        }
        Command::PdfText(_) => Ok(crate::decompose::pdf_child::child_main()),
        Command::CheckConfig(c) => {
            // The file serve would read: --config, else <data_dir>/sluice.toml, else the defaults.
            let source = reload::Source {
                path: c.config.clone(),
                data_dir: c.data_dir.clone(),
            };
            check_config(&source)
        }
        Command::Scan(s) => {
            let config = match &s.config {
                Some(path) => Config::load(path),
                None => Config::embedded(),
            };
            let config = match config {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("{e}");
                    return Ok(ExitCode::from(2));
                }
            };
            if s.paths.is_empty() {
                eprintln!("sluice scan: give at least one file or directory");
                return Ok(ExitCode::from(2));
            }
            let pdf = match crate::decompose::pdf_child::ChildPdf::current_exe(&config.pdf) {
                Ok(p) => std::sync::Arc::new(p) as crate::scan::Pdf,
                Err(e) => {
                    eprintln!("sluice scan: cannot find its own executable for PDF text: {e}");
                    return Ok(ExitCode::from(2));
                }
            };
            let library = match crate::scan::library::load(&config) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("sluice scan: {e}");
                    return Ok(ExitCode::from(2));
                }
            };
            let scanner = match Scanner::with(&config, &[Detector::AllIdentifiers], pdf, &library) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("sluice scan: {e}");
                    return Ok(ExitCode::from(2));
                }
            };
            let opts = crate::scan::command::Options {
                json: s.json,
                show_matches: s.show_matches,
            };
            let mut out = std::io::BufWriter::new(crate::output::Stdout);
            let code = crate::scan::command::run(&scanner, &s.paths, &opts, &mut out);
            let _ = std::io::Write::flush(&mut out);
            Ok(code)
        }
        Command::Edm(e) => match e.command {
            crate::cli::EdmCommand::Import(args) => edm_import(args),
        },
        Command::Quarantine(q) => Ok(crate::console::quarantine(q)),
        Command::Incident(i) => Ok(crate::console::incident(i)),
        Command::Events(e) => Ok(crate::console::events(e)),
        Command::Report(r) => Ok(crate::console::report(r)),
        Command::Backup(b) => Ok(crate::console::backup(b)),
        Command::Restore(r) => Ok(crate::console::restore(r)),
        Command::User(u) => Ok(crate::console::user(u)),
        Command::Token(t) => Ok(crate::console::token(t)),
        Command::Queue(q) => Ok(crate::console::queue(q)),
        Command::Siem(c) => match c.command {
            crate::cli::SiemCommand::Test(t) => Ok(crate::export::test::run(t)),
        },
        Command::Reload(r) => Ok(crate::control::client::reload(r)),
        Command::Status(st) => Ok(crate::control::client::status(st)),
        Command::Serve(s) => {
            // --config, else <data_dir>/sluice.toml once the admin UI wrote it, else the defaults.
            let source = reload::Source {
                path: s.config.clone(),
                data_dir: s.data_dir.clone(),
            };
            let (config, text, record) = match source.read() {
                Ok(read) => read,
                Err(e) => {
                    eprintln!("{e}");
                    return Ok(ExitCode::from(2));
                }
            };
            init_logging();
            let loaded = match load(&config) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("{}: {e:#}", source.name());
                    return Ok(ExitCode::from(2));
                }
            };
            serve(config, loaded, record, source, text)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `sluice check-config`: loads everything `serve` would (nothing is created); exit 0 when it could
/// start, 2 otherwise.
fn check_config(source: &reload::Source) -> anyhow::Result<ExitCode> {
    let cfg = match source.read() {
        Ok((cfg, _, _)) => cfg,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(2));
        }
    };
    let file = source.name();
    // Everything serve reads, through the same function (nothing is created).
    if let Err(e) = load(&cfg) {
        eprintln!("{file}: {e:#}");
        return Ok(ExitCode::from(2));
    }
    crate::outln!("{file}: OK");
    crate::output::bytes(crate::config::show::summary(&cfg).as_bytes());
    Ok(ExitCode::SUCCESS)
}

/// `sluice edm import`: CSV -> index file, with a summary that names no cell value.
fn edm_import(args: crate::cli::EdmImport) -> anyhow::Result<ExitCode> {
    use crate::detect::edm::{self, ColumnKind, file};
    let bad = |msg: String| {
        eprintln!("sluice edm import: {msg}");
        Ok(ExitCode::from(2))
    };
    let data_dir = match (&args.data_dir, &args.config) {
        (Some(d), _) => d.clone(),
        (None, Some(path)) => match Config::load(path) {
            Ok(c) => c.server.data_dir,
            Err(e) => return bad(e.to_string()),
        },
        (None, None) => {
            Config::embedded()
                .context("embedded defaults")?
                .server
                .data_dir
        }
    };
    let name = match &args.name {
        Some(n) => n.clone(),
        None => args
            .file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    if let Err(e) = edm::build::check_name(&name) {
        return bad(format!("{e} (choose one with --name)"));
    }
    let csv = match std::fs::File::open(&args.file) {
        Ok(f) => std::io::BufReader::new(f),
        Err(e) => return bad(format!("{}: {e}", args.file.display())),
    };
    let key = file::random_key()?;
    let (index, summary) = match edm::build(&name, csv, key) {
        Ok(x) => x,
        Err(e) => return bad(format!("{}: {e}", args.file.display())),
    };
    let columns: Vec<String> = summary
        .columns
        .iter()
        .map(|c| {
            let kind = match c.kind {
                ColumnKind::Text => "text",
                ColumnKind::Number => "number",
            };
            format!("{} ({kind})", c.name)
        })
        .collect();
    crate::outln!(
        "edm index {name}: {} rows, {} columns: {}",
        summary.rows,
        columns.len(),
        columns.join(", ")
    );
    if summary.skipped_total > 0 {
        let lines: Vec<String> = summary
            .skipped
            .iter()
            .map(|(line, why)| format!("line {line} ({why})"))
            .collect();
        let more = summary.skipped_total - summary.skipped.len() as u64;
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        crate::outln!(
            "rows skipped: {}: {}{more}",
            summary.skipped_total,
            lines.join(", ")
        );
    }
    if summary.long_cells > 0 || summary.empty_cells > 0 {
        crate::outln!(
            "cells not indexed: {} empty, {} too long",
            summary.empty_cells,
            summary.long_cells
        );
    }
    let (path, size) = file::write(&data_dir, &index)
        .with_context(|| format!("writing the index under {}", data_dir.display()))?;
    crate::outln!(
        "wrote {} ({size} bytes; about {} KiB in memory when loaded)",
        path.display(),
        index.memory_bytes().div_ceil(1024)
    );
    Ok(ExitCode::SUCCESS)
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SLUICE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

fn resolver(config: &Config) -> crate::dns::Resolver {
    crate::dns::Resolver::new(resolver_config(&config.dns))
}

/// The resolver's settings: all from `[dns]`; the servers of `dns.resolv_conf` when `dns.servers`
/// names none (its `options` are not used: `dns.timeout` and `dns.attempts` are).
pub fn resolver_config(d: &crate::config::Dns) -> crate::dns::ResolverConfig {
    let servers = if d.servers.is_empty() {
        let text = crate::file::read(&d.resolv_conf, crate::file::MAX_RESOLV_CONF)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_else(|e| {
                tracing::warn!(file = %d.resolv_conf.display(), error = %e, "cannot read resolv.conf; using 127.0.0.1");
                String::new()
            });
        crate::dns::ResolvConf::parse(&text).servers
    } else {
        d.servers.clone()
    };
    crate::dns::ResolverConfig {
        servers,
        timeout: d.timeout,
        attempts: d.attempts,
        cache_entries: d.cache_entries,
    }
}

/// Everything `serve` reads from files besides the configuration itself, read (bounded) and
/// checked. `check-config` runs [`load`] too, so that it passes exactly when `serve` can start
/// (binding the ports aside); nothing here creates a file.
pub struct Loaded {
    /// The STARTTLS and admin certificate; `None` when none is configured and none was generated
    /// in the data dir yet (`serve` generates one).
    server_tls: Option<Arc<rustls::ServerConfig>>,
    client_tls: Arc<rustls::ClientConfig>,
    /// The policies compiled against the definitions and the EDM indexes they name.
    inspector: Inspector,
    /// `approval.managers_file`, read.
    managers: std::collections::HashMap<String, String>,
    /// The approval-link key in the data dir; `None`: not generated yet.
    approval_key: Option<crate::link::token::Key>,
    /// The `[[siem]]` destinations with their TLS material read.
    siem: Vec<crate::export::destination::Destination>,
    /// The STARTTLS configs of the listeners with their own certificate, by listener name.
    listener_tls: Vec<(String, Arc<rustls::ServerConfig>)>,
}

/// Reads and checks what [`Loaded`] holds, each error naming the setting or file.
pub fn load(config: &Config) -> anyhow::Result<Loaded> {
    let data_dir = &config.server.data_dir;
    let server_tls = match &config.tls.cert_and_key {
        Some((cert, key)) => Some(
            crate::tls::server_config_from(cert, key).context("tls.cert_file / tls.key_file")?,
        ),
        None => {
            let (cert, key) = crate::tls::generated_paths(data_dir);
            if cert.exists() && key.exists() {
                Some(
                    crate::tls::server_config_from(&cert, &key)
                        .context("the generated TLS certificate in the data dir")?,
                )
            } else {
                None
            }
        }
    };
    let client_tls =
        crate::tls::client_config(&config.relay.trust_anchors).context("relay.trust_anchors")?;
    let managers = match &config.store.managers_file {
        Some(path) => crate::hold::load_managers(path).map_err(anyhow::Error::msg)?,
        None => Default::default(),
    };
    let pdf = crate::decompose::pdf_child::ChildPdf::current_exe(&config.pdf)
        .context("finding the sluice executable for PDF text extraction")?;
    let inspector = Inspector::new(config, Arc::new(pdf), &crate::scan::library::load(config)?)
        .map_err(|e| anyhow::anyhow!("policies: {e}"))?;
    let approval_key = read_approval_key(data_dir)?;
    let siem = crate::export::destination::Destination::load_all(config)?;
    let mut listener_tls = Vec::new();
    for l in &config.listeners {
        if let Some((cert, key)) = &l.cert_and_key {
            let tls = crate::tls::server_config_from(cert, key)
                .with_context(|| format!("listener {}: cert_file / key_file", l.name))?;
            listener_tls.push((l.name.clone(), tls));
        }
    }
    Ok(Loaded {
        listener_tls,
        server_tls,
        client_tls,
        inspector,
        managers,
        approval_key,
        siem,
    })
}

/// Writes a `system.started` / `system.stopped` event and waits for its commit (no store: nothing).
async fn system_event(keeper: &crate::hold::Keeper, kind: crate::events::Kind, reason: String) {
    let fields = crate::events::Fields::new()
        .with(crate::events::Field::UserName, "sluice")
        .with(crate::events::Field::EventReason, reason);
    if let Some(write) = keeper.event(kind, fields) {
        write.await;
    }
}

/// Runs the service until SIGTERM/SIGINT, then drains; SIGHUP (and `sluice reload` on the control
/// socket) reloads the configuration (see [`reload`]). `loaded` is [`load`] of `config`, whose file
/// `source` names and whose text is `text`; `record` says where `config` came from and is written
/// into the data dir once the listener is bound, so that the store commands on this data dir use
/// the same configuration.
pub fn serve(
    config: Config,
    loaded: Loaded,
    record: Record,
    source: reload::Source,
    text: Option<String>,
) -> anyhow::Result<()> {
    let data_dir = config.server.data_dir.clone();
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating data dir {}", data_dir.display()))?;
    // Before anything in the data dir is touched (the spool's leftovers are removed below): a
    // server already answering on this data dir's socket stops this one.
    let control = crate::control::Control::bind(&data_dir)?;
    let server_tls =
        reload::server_tls(&config, loaded.server_tls).context("STARTTLS certificate")?;
    let client_tls = loaded.client_tls;
    let server_tls_for_admin = server_tls.clone();
    let shutdown = Arc::new(Shutdown::new());
    let clock = Arc::new(crate::clock::Clock::system());
    // One next-hop status cache for the proxy, the notices and the delivery queue.
    let hop_status = Arc::new(crate::relay::status::HopStatus::new(
        clock.clone(),
        config.relay.dead_host_retry.as_secs(),
    ));
    let approval_key = match loaded.approval_key {
        Some(k) => k,
        None => approval_key(&data_dir)?,
    };
    let (spool, left_over) = crate::session::spool::Spool::open(&data_dir)
        .with_context(|| format!("preparing the spool in {}", data_dir.display()))?;
    if left_over > 0 {
        tracing::info!(
            files = left_over,
            "removed spool files left by an earlier run"
        );
    }
    // Built once, in order, each from what is already built (nothing is set afterwards): the
    // executor and the background task group, the store (in the keeper), the delivery queue over
    // it, the keeper with its links, alerts and the queue's wake-up, the store's release marks,
    // the desk, the sessions' shared state (`reload::session_set`, which a reload calls again).
    let ex = Arc::new(smol::Executor::new());
    let tasks = crate::task::Group::new(ex.clone());
    let keeper = crate::hold::Keeper::open(&config, clock.clone(), loaded.managers)
        .map_err(|e| anyhow::anyhow!(e))?;
    // The delivery queue's worker over the keeper's store, with its own next-hop pool; woken when
    // the keeper queues notices or releases. No store, no worker (mail keeps flowing; logged there).
    let delivery = keeper.store().ok().map(|store| {
        crate::delivery::Delivery::new(
            store.clone(),
            Relay::new(
                config.relay.clone(),
                resolver(&config),
                client_tls.clone(),
                hop_status.clone(),
            ),
            clock.clone(),
            crate::delivery::Settings::from_config(&config),
        )
    });
    // A message released from the quarantine that comes back (reflecting mode) is not held again.
    let released: Option<crate::pipeline::Released> = keeper.store().ok().and_then(|store| {
        match smol::block_on(crate::remediate::mark_key(store)) {
            Ok(key) => Some(Arc::new(crate::remediate::recogniser(store.clone(), key)) as _),
            Err(e) => {
                tracing::warn!(error = %e, "release marks cannot be checked; released messages may be held again");
                None
            }
        }
    });
    let mut keeper = keeper
        .with_links(crate::hold::Links {
            key: approval_key.clone(),
            public_url: config.admin.public_url.clone(),
        })
        .with_alerts(crate::hold::Alerts::new(
            Relay::new(
                config.relay.clone(),
                resolver(&config),
                client_tls.clone(),
                hop_status.clone(),
            ),
            config.notifications.clone(),
            tasks.clone(),
        ));
    if let Some(d) = &delivery {
        let d = d.clone();
        keeper = keeper.with_waker(Arc::new(move || d.wake()));
    }
    let keeper = Arc::new(keeper);
    crate::gateway::inspect::recover(&keeper);
    let desk = Arc::new(crate::approval::desk::StoreDesk::new(
        keeper.clone(),
        config.queue.give_up.as_secs(),
    ));
    // The SIEM destinations drain the store's event outbox in the task group (no store: none).
    let exporter = keeper.store().ok().map(|store| {
        let exporter = crate::export::destination::Exporter::new(
            Arc::new(store.clone()),
            clock.clone(),
            tasks.clone(),
            shutdown.clone(),
            data_dir.clone(),
        );
        exporter.apply(loaded.siem, config.server.hostname.as_str());
        Arc::new(exporter)
    });
    let base = reload::Base {
        keeper: keeper.clone(),
        tasks: tasks.clone(),
        shutdown: shutdown.clone(),
        clock: clock.clone(),
        budget: crate::session::budget::Budget::new(config.listener.max_bytes_in_flight),
        spool,
        hop_status: hop_status.clone(),
        released,
        gates: Default::default(),
    };
    let shared = reload::session_sets(
        &config,
        server_tls,
        &loaded.listener_tls,
        client_tls,
        loaded.inspector,
        &base,
    );
    let sockets = listeners::Listeners::bind_all(&config).map_err(anyhow::Error::msg)?;
    // What the monitor sees, for /readyz and /metrics; the definitions count as loaded now.
    let health = Arc::new(crate::monitor::Health::new(
        shutdown.clone(),
        keeper.store().ok().cloned(),
        data_dir.clone(),
        clock.clone(),
    ));
    crate::metrics::global().definitions_loaded(clock.now());
    let admin = if config.admin.enabled {
        let server = crate::admin::Server::bind(
            &config.admin,
            &server_tls_for_admin,
            desk.clone(),
            approval_key,
            clock.clone(),
        )
        .with_context(|| format!("binding admin.address {}", config.admin.address))?
        .with_health(health.clone());
        let admin_bound = server.local_addr().context("admin address")?;
        if !config.admin.public_url_set {
            tracing::warn!(public_url = %config.admin.public_url, "admin.public_url is not set: approval links point at the server's host name and admin port; set admin.public_url to the https:// address approvers reach");
        }
        // Logged before "listening": tests read both from the log, the SMTP line last.
        tracing::info!(admin_addr = %admin_bound, public_url = %config.admin.public_url, "admin UI serving");
        Some((server, admin_bound))
    } else {
        None
    };
    record
        .write(&data_dir)
        .with_context(|| format!("writing {}", data_dir.join(record::FILE).display()))?;
    let admin_connections = admin.as_ref().map(|(a, _)| a.connections());
    if config.policy_source == (crate::config::PolicySource::Builtin { monitor: true }) {
        tracing::warn!(
            "the built-in policies run in monitor mode: violations are recorded as incidents, nothing is blocked or changed; set inspection.builtin_policies = \"enforce\" or write [[policy]] tables to enforce"
        );
    }
    let route = crate::config::show::relay_route(&config);
    let (trial_mode, policies) = (config.server.trial_mode, config.policies.len());
    let (policy_source, data_ahead) = (
        config.policy_source,
        shared.0.first().is_some_and(|s| s.data_ahead),
    );
    let threads = match config.server.threads {
        0 => std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .max(2),
        n => n,
    };
    let runtime = reload::runtime(config, shared, text, record);
    let digest = runtime.digest.clone();
    let swap = Arc::new(crate::runtime::Swap::new(runtime));

    let switches = Arc::new(crate::store::switches::Watch::new(
        keeper.store().ok().cloned(),
    ));
    let front = listeners::Listeners::new(ex.clone(), swap.clone(), switches);
    front
        .apply(&swap.current().config, sockets)
        .context("listener socket")?;
    let sessions = front.sessions.clone();
    let bound = front.addr().context("no listener")?;
    // Before the `listening` line: a SIGHUP sent as soon as it appears must reload, not kill.
    use async_signal::Signal;
    let mut signals = async_signal::Signals::new([Signal::Term, Signal::Int, Signal::Hup])
        .context("installing signal handlers")?;
    tracing::info!(addr = %bound, route = %route, trial_mode, policies, policy_source = %policy_source, data_ahead, config_digest = %digest.config, policies_digest = %digest.policies, control = %control.as_ref().map_or("(none)".into(), |c| c.path().display().to_string()), "listening");
    let reloader = Arc::new(
        reload::Reloader::new(
            swap.clone(),
            base,
            source,
            front,
            delivery.clone(),
            admin.as_ref().map(|(_, a)| *a),
        )
        .with_exporter(exporter),
    );
    let (stop_tx, stop_rx) = smol::channel::bounded::<()>(1);
    let mut workers = Vec::new();
    for i in 1..threads {
        let (ex, stop_rx) = (ex.clone(), stop_rx.clone());
        workers.push(
            std::thread::Builder::new()
                .name(format!("sluice-worker-{i}"))
                .spawn(move || smol::block_on(ex.run(stop_rx.recv())))
                .context("spawning worker thread")?,
        );
    }
    let result = smol::block_on(ex.run(async {
        let handler: Arc<dyn crate::control::Handler> = reloader.clone();
        let control = control.map(|c| ex.spawn(c.serve(handler, shutdown.clone(), ex.clone())));
        // The purge and the sweep stop when draining begins (a run in progress is cancelled; its
        // store write, if one was sent, still commits whole on the writer thread).
        let (k, s) = (keeper.clone(), shutdown.clone());
        tasks.spawn(async move { k.purge_forever().or(s.draining()).await });
        let (d, s) = (desk.clone(), shutdown.clone());
        tasks.spawn(async move { d.sweep_forever().or(s.draining()).await });
        // The periodic checks; the monitor stops by itself when draining begins.
        tasks.spawn(crate::monitor::Monitor::new(health, swap.clone(), keeper.clone()).run());
        // Scheduled reports and the report counters' retention; stops when draining begins.
        tasks.spawn(
            crate::scheduled::Scheduler::new(swap.clone(), keeper.clone(), shutdown.clone()).run(),
        );
        // The gateway's inspection worker (custody not settled inline); stops when draining begins.
        tasks.spawn(crate::gateway::inspect::Worker::new(swap.clone(), shutdown.clone()).run());
        let admin_accept = admin.map(|(a, _)| {
            let a = match keeper.store() {
                Ok(store) => a.with_app(crate::admin::App {
                    store: store.clone(),
                    swap: swap.clone(),
                    reloader: reloader.clone(),
                    hop_status: hop_status.clone(),
                    started: clock.now(),
                    data_dir: data_dir.clone(),
                }),
                Err(_) => a,
            };
            ex.spawn(a.serve(shutdown.clone(), ex.clone()))
        });
        let queue = delivery.map(|d| ex.spawn(d.run(ex.clone(), shutdown.clone())));
        let started = format!("sluice {} listening on {bound}", env!("CARGO_PKG_VERSION"));
        system_event(&keeper, crate::events::Kind::SystemStarted, started).await;
        let sig = loop {
            match signals.next().await {
                Some(Ok(Signal::Hup)) => {
                    tracing::info!("SIGHUP: reloading the configuration");
                    let r = reloader.clone();
                    ex.spawn(smol::unblock(move || r.reload("sighup"))).detach();
                }
                other => break other,
            }
        };
        let grace = swap.current().config.listener.shutdown_grace;
        tracing::info!(signal = ?sig, sessions = sessions.current(), grace = ?grace, "shutting down: no new connections; open transactions may finish");
        shutdown.drain();
        reloader.front.finish().await;
        if let Some(c) = control {
            c.await;
        }
        if let Some(a) = admin_accept {
            a.await;
        }
        let admin_busy = || admin_connections.as_ref().is_some_and(|g| g.current() > 0);
        let deadline = Instant::now() + grace;
        while (sessions.current() > 0 || admin_busy()) && Instant::now() < deadline {
            smol::Timer::after(Duration::from_millis(20)).await;
        }
        if sessions.current() > 0 {
            tracing::info!(sessions = sessions.current(), "grace period over; closing remaining sessions with 421");
            shutdown.abort();
            let hard = Instant::now() + Duration::from_secs(5);
            while sessions.current() > 0 && Instant::now() < hard {
                smol::Timer::after(Duration::from_millis(20)).await;
            }
        }
        // Deliveries in flight may finish within the same grace; the rest are retried after restart.
        let stopped = async { if let Some(q) = queue { q.await; } true }.or(async { smol::Timer::at(deadline).await; false }).await;
        if !stopped {
            shutdown.abort();
        }
        // Background work in flight (incidents being recorded, an alert being sent) finishes
        // within the grace (at least a few seconds more); what is left then is cancelled.
        let joined = tasks.join(deadline.max(Instant::now() + Duration::from_secs(5))).await;
        if joined.finished + joined.cancelled > 0 {
            tracing::info!(finished = joined.finished, cancelled = joined.cancelled, "background tasks ended");
        }
        let why = match &sig {
            Some(Ok(s)) => format!("signal {s:?}"),
            _ => "signal handling ended".to_string(),
        };
        system_event(&keeper, crate::events::Kind::SystemStopped, why).await;
        tracing::info!("stopped");
        anyhow::Ok(())
    }));
    drop(stop_tx);
    for w in workers {
        let _ = w.join();
    }
    result
}

/// Where the key that signs approval links is kept (32 raw bytes, mode 0600).
pub const APPROVAL_KEY_FILE: &str = "approval.key";

/// The approval-link key in the data dir, generated on first start. A file of the wrong size is
/// an error, never silently replaced: a new key would void every link already sent.
pub fn approval_key(data_dir: &std::path::Path) -> anyhow::Result<crate::link::token::Key> {
    use crate::link::token::Key;
    if let Some(key) = read_approval_key(data_dir)? {
        return Ok(key);
    }
    let path = data_dir.join(APPROVAL_KEY_FILE);
    let key = Key::generate().map_err(|e| anyhow::anyhow!("approval key: no randomness: {e}"))?;
    crate::file::write_secret(&path, &key.to_bytes())
        .with_context(|| format!("creating {}", path.display()))?;
    tracing::info!(file = %path.display(), "generated the approval-link key");
    Ok(key)
}

/// The approval-link key if the data dir has one (`None`: not generated yet). A file of the
/// wrong size is an error.
fn read_approval_key(
    data_dir: &std::path::Path,
) -> anyhow::Result<Option<crate::link::token::Key>> {
    use crate::link::token::{KEY_BYTES, Key};
    let path = data_dir.join(APPROVAL_KEY_FILE);
    match crate::file::read(&path, KEY_BYTES as u64) {
        Ok(bytes) => {
            let bytes: [u8; KEY_BYTES] = bytes.try_into().map_err(|b: Vec<u8>| {
                anyhow::anyhow!(
                    "{}: {} bytes, expected {KEY_BYTES}; restore it from a backup (deleting it voids every approval link sent)",
                    path.display(),
                    b.len()
                )
            })?;
            Ok(Some(Key::from_bytes(bytes)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow::anyhow!(
            "{}: {e}; restore it from a backup (deleting it voids every approval link sent)",
            path.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approval_key_is_made_once_and_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let first = approval_key(dir.path()).unwrap();
        let path = dir.path().join(APPROVAL_KEY_FILE);
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            approval_key(dir.path()).unwrap().to_bytes(),
            first.to_bytes()
        );
        std::fs::write(&path, b"short").unwrap();
        let err = approval_key(dir.path()).unwrap_err().to_string();
        assert!(err.contains("5 bytes, expected 32"), "{err}");
        // Not replaced: the damaged file is still there for the admin to restore.
        assert_eq!(std::fs::read(&path).unwrap(), b"short");
    }
}
