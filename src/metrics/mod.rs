//! Prometheus metrics: the process's counters, gauges and histograms, and their text exposition
//! (format 0.0.4) for `/metrics`. Built on `prometheus-client` (the Prometheus organisation's Rust
//! client). The shell's, like logs: callers count as things happen ([`Metrics::message`], ...);
//! what the store and the disk hold is read at scrape time by `monitor` into a [`Snapshot`] and
//! set just before encoding ([`Metrics::render`]).
//!
//! Names follow Prometheus' rules: `sluice_` prefix, base units (seconds, bytes), counters end in
//! `_total`. Labels carry closed values (outcome, direction, side) or names an administrator chose
//! (policy names, SIEM destination names, next-hop addresses); never addresses of mail, subjects or
//! content.

mod snapshot;
#[cfg(test)]
mod tests;

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

pub use snapshot::{Hop, Queue, Snapshot};

/// The `Content-Type` of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Inspection time buckets, seconds (1 ms to the 30 s default budget and past it).
const INSPECTION_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Message size buckets, bytes: 1 KiB to 64 MiB by fours.
const SIZE_BUCKETS: [f64; 9] = [
    1024.0,
    4096.0,
    16384.0,
    65536.0,
    262_144.0,
    1_048_576.0,
    4_194_304.0,
    16_777_216.0,
    67_108_864.0,
];

/// Time to delivery buckets, seconds: from the 250 to a recipient's delivery (inline inspection
/// and a first attempt take seconds; retries minutes to the 5 d give-up).
const DELIVERY_BUCKETS: [f64; 14] = [
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
    900.0,
    3600.0,
    4.0 * 3600.0,
    86_400.0,
    2.0 * 86_400.0,
    5.0 * 86_400.0,
];

type Labels1 = [(&'static str, String); 1];
type Labels2 = [(&'static str, String); 2];

/// The process's metrics.
pub struct Metrics {
    registry: Registry,
    /// One render at a time: the scrape-time gauges are set, then encoded.
    render: Mutex<()>,
    messages: Family<Labels2, Counter>,
    policy_hits: Family<Labels1, Counter>,
    inspection: Histogram,
    size: Histogram,
    smtp_connections: Family<Labels1, Counter>,
    tls_sessions: Family<Labels1, Counter>,
    siem_events: Family<Labels1, Counter>,
    siem_bytes: Family<Labels1, Counter>,
    siem_errors: Family<Labels1, Counter>,
    definitions_loaded: Gauge,
    gauges: Gauges,
    gateway_rejected: Family<Labels2, Counter>,
    callouts: Family<Labels1, Counter>,
    time_to_delivery: Histogram,
}

/// What [`Snapshot`] sets at each scrape.
#[derive(Default)]
struct Gauges {
    ready: Gauge,
    queue_messages: Family<Labels1, Gauge>,
    queue_bytes: Family<Labels1, Gauge>,
    queue_oldest_age: Family<Labels1, Gauge>,
    held_messages: Gauge,
    held_bytes: Gauge,
    store_used: Gauge,
    store_max: Gauge,
    store_file: Gauge,
    disk_free: Gauge,
    disk_size: Gauge,
    outbox_events: Gauge,
    outbox_bytes: Gauge,
    outbox_lag: Family<Labels1, Gauge>,
    events_dropped: Counter,
    hop_up: Family<Labels1, Gauge>,
    hop_probed: Family<Labels1, Gauge>,
    definitions_age: Gauge,
    certificate_expiry: Family<Labels1, Gauge>,
}

/// The one registry of the process (metrics are the shell's, like logs).
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

fn counter_family<L>(r: &mut Registry, name: &str, help: &str) -> Family<L, Counter>
where
    L: prometheus_client::encoding::EncodeLabelSet
        + Clone
        + std::hash::Hash
        + Eq
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let f = Family::<L, Counter>::default();
    r.register(name, help, f.clone());
    f
}

fn gauge(r: &mut Registry, name: &str, help: &str, g: &Gauge) {
    r.register(name, help, g.clone());
}

impl Metrics {
    /// A registry with every metric registered (tests make their own; the process uses [`global`]).
    pub fn new() -> Metrics {
        let mut r = Registry::default();
        let build = Family::<Labels1, Gauge>::default();
        r.register(
            "sluice_build_info",
            "The running Sluice (always 1; its version as a label)",
            build.clone(),
        );
        build
            .get_or_create(&[("version", env!("CARGO_PKG_VERSION").to_string())])
            .set(1);
        let messages = counter_family(
            &mut r,
            "sluice_messages",
            "Messages at their final disposition, by outcome and direction",
        );
        let policy_hits = counter_family(
            &mut r,
            "sluice_policy_hits",
            "Messages a policy matched, by policy name",
        );
        let inspection = Histogram::new(INSPECTION_BUCKETS);
        r.register(
            "sluice_inspection_duration_seconds",
            "Time spent inspecting a message (decomposition, detection, policies)",
            inspection.clone(),
        );
        let size = Histogram::new(SIZE_BUCKETS);
        r.register(
            "sluice_message_size_bytes",
            "Size of the messages received",
            size.clone(),
        );
        let smtp_connections = counter_family(
            &mut r,
            "sluice_smtp_connections",
            "SMTP connections, accepted or refused by the connection limits and allow list",
        );
        let tls_sessions = counter_family(
            &mut r,
            "sluice_tls_sessions",
            "TLS sessions established, by side (smtp_in, smtp_out, admin)",
        );
        let siem_events = counter_family(
            &mut r,
            "sluice_siem_events_sent",
            "Events written to a SIEM destination",
        );
        let siem_bytes = counter_family(
            &mut r,
            "sluice_siem_bytes_sent",
            "Bytes written to a SIEM destination",
        );
        let siem_errors = counter_family(
            &mut r,
            "sluice_siem_errors",
            "Failed connections or writes to a SIEM destination",
        );
        let definitions_loaded = Gauge::default();
        gauge(
            &mut r,
            "sluice_definitions_loaded_timestamp_seconds",
            "When the detection definitions and policies in force were loaded (start or reload; the embedded definitions carry no date of their own), Unix seconds",
            &definitions_loaded,
        );
        let gauges = Gauges::default();
        gauges.register(&mut r);
        let gateway_rejected = counter_family(
            &mut r,
            "sluice_gateway_rejected",
            "Connections, senders and recipients a gateway listener refused at SMTP time, by listener and reason",
        );
        let callouts = counter_family(
            &mut r,
            "sluice_callouts",
            "Recipient verification callouts by result (exists, unknown, deferred; cached: answered from the cache)",
        );
        let time_to_delivery = Histogram::new(DELIVERY_BUCKETS);
        r.register(
            "sluice_time_to_delivery_seconds",
            "Time from a gateway listener's 250 to a recipient's delivery (per recipient delivered)",
            time_to_delivery.clone(),
        );
        Metrics {
            registry: r,
            render: Mutex::new(()),
            messages,
            policy_hits,
            inspection,
            size,
            smtp_connections,
            tls_sessions,
            siem_events,
            siem_bytes,
            siem_errors,
            definitions_loaded,
            gauges,
            gateway_rejected,
            callouts,
            time_to_delivery,
        }
    }

    /// A message reached its final disposition. `outcome` is the `message.*` kind's last part
    /// (`relayed`, `blocked`, `quarantined`, `redirected`, `modified`, `deferred`, `rejected`,
    /// `accepted`); `direction` is `inbound`, `outbound` or `internal` (empty: `unknown`).
    pub fn message(&self, outcome: &str, direction: &str, size: u64, inspection: Duration) {
        let direction = if direction.is_empty() {
            "unknown"
        } else {
            direction
        };
        self.messages
            .get_or_create(&[
                ("outcome", outcome.to_string()),
                ("direction", direction.to_string()),
            ])
            .inc();
        self.size.observe(size as f64);
        self.inspection.observe(inspection.as_secs_f64());
    }

    /// A policy matched a message.
    pub fn policy_hit(&self, policy: &str) {
        self.policy_hits
            .get_or_create(&[("policy", policy.to_string())])
            .inc();
    }

    /// An SMTP connection was accepted (`refused` false) or refused by the connection limits.
    pub fn smtp_connection(&self, refused: bool) {
        let result = if refused { "refused" } else { "accepted" };
        self.smtp_connections
            .get_or_create(&[("result", result.to_string())])
            .inc();
    }

    /// A TLS session was established (`side` is `smtp_in`, `smtp_out` or `admin`).
    pub fn tls_session(&self, side: &str) {
        self.tls_sessions
            .get_or_create(&[("side", side.to_string())])
            .inc();
    }

    /// A SIEM destination wrote `events` events in `bytes` bytes.
    pub fn siem_sent(&self, destination: &str, events: u64, bytes: u64) {
        let l = [("destination", destination.to_string())];
        self.siem_events.get_or_create(&l).inc_by(events);
        self.siem_bytes.get_or_create(&l).inc_by(bytes);
    }

    /// A SIEM destination failed to connect or write.
    pub fn siem_error(&self, destination: &str) {
        self.siem_errors
            .get_or_create(&[("destination", destination.to_string())])
            .inc();
    }

    /// A gateway listener refused a connection, a sender or a recipient at SMTP time (`reason`:
    /// `gateway::control::Reason::name`).
    pub fn gateway_rejected(&self, listener: &str, reason: &str) {
        self.gateway_rejected
            .get_or_create(&[
                ("listener", listener.to_string()),
                ("reason", reason.to_string()),
            ])
            .inc();
    }

    /// A recipient callout's result, or `cached` when the cache answered.
    pub fn callout(&self, result: &str) {
        self.callouts
            .get_or_create(&[("result", result.to_string())])
            .inc();
    }

    /// A gateway message was delivered to a recipient `seconds` after its 250.
    pub fn delivered_after(&self, seconds: u64) {
        self.time_to_delivery.observe(seconds as f64);
    }

    /// The definitions and policies in force were loaded at `at` (Unix seconds): at start and at
    /// each reload.
    pub fn definitions_loaded(&self, at: u64) {
        self.definitions_loaded.set(clamp(at));
    }

    /// The text exposition of every metric, the scrape-time gauges set from `snap` first.
    pub fn render(&self, snap: &Snapshot) -> String {
        let _one = self.render.lock().unwrap_or_else(|p| p.into_inner());
        let loaded = self.definitions_loaded.get();
        self.gauges.set(snap, loaded);
        let mut out = String::new();
        // Writing into a String cannot fail; a metric that could not be encoded is left out.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Gauges {
    fn register(&self, r: &mut Registry) {
        let g = |r: &mut Registry, name: &str, help: &str, m: &Gauge| gauge(r, name, help, m);
        g(
            r,
            "sluice_ready",
            "1 when /readyz answers 200 (not draining, store writable, next hop reachable)",
            &self.ready,
        );
        r.register(
            "sluice_queue_messages",
            "Messages queued, by stage: inspect (in custody, waiting for inspection), deliver (not tried yet), deferred (tried, to be retried), hold (suspect or held by an administrator)",
            self.queue_messages.clone(),
        );
        r.register(
            "sluice_queue_bytes",
            "Bytes of the messages queued, by stage",
            self.queue_bytes.clone(),
        );
        r.register(
            "sluice_queue_oldest_age_seconds",
            "Age of the oldest message queued, by stage (0 when empty)",
            self.queue_oldest_age.clone(),
        );
        g(
            r,
            "sluice_held_messages",
            "Messages held in the quarantine or awaiting approval",
            &self.held_messages,
        );
        g(
            r,
            "sluice_held_bytes",
            "Bytes of the messages held",
            &self.held_bytes,
        );
        g(
            r,
            "sluice_store_used_bytes",
            "Bytes of the store's pages in use",
            &self.store_used,
        );
        g(
            r,
            "sluice_store_max_bytes",
            "The store's size cap (store.max_size)",
            &self.store_max,
        );
        g(
            r,
            "sluice_store_file_bytes",
            "Bytes the store's file takes on disk",
            &self.store_file,
        );
        g(
            r,
            "sluice_data_dir_free_bytes",
            "Free bytes (for an unprivileged user) on the file system of the data dir",
            &self.disk_free,
        );
        g(
            r,
            "sluice_data_dir_size_bytes",
            "Size of the file system of the data dir",
            &self.disk_size,
        );
        g(
            r,
            "sluice_outbox_events",
            "Events in the SIEM outbox",
            &self.outbox_events,
        );
        g(
            r,
            "sluice_outbox_bytes",
            "Bytes of the events in the SIEM outbox",
            &self.outbox_bytes,
        );
        r.register(
            "sluice_outbox_lag_events",
            "Events a SIEM destination has not written yet (the outbox head minus its cursor)",
            self.outbox_lag.clone(),
        );
        r.register(
            "sluice_siem_events_dropped",
            "Events removed by the outbox bounds before every destination had read them",
            self.events_dropped.clone(),
        );
        r.register(
            "sluice_next_hop_up",
            "1 when the next hop answered the last probe with an SMTP greeting, else 0",
            self.hop_up.clone(),
        );
        r.register(
            "sluice_next_hop_last_probe_timestamp_seconds",
            "When the next hop was last probed, Unix seconds",
            self.hop_probed.clone(),
        );
        g(
            r,
            "sluice_definitions_age_seconds",
            "Seconds since the detection definitions and policies in force were loaded",
            &self.definitions_age,
        );
        r.register(
            "sluice_certificate_expiry_timestamp_seconds",
            "When a certificate Sluice presents expires (notAfter), Unix seconds",
            self.certificate_expiry.clone(),
        );
    }

    fn set(&self, s: &Snapshot, definitions_loaded: i64) {
        self.ready.set(i64::from(s.ready));
        for q in &s.queues {
            let l = [("stage", q.stage.to_string())];
            self.queue_messages.get_or_create(&l).set(clamp(q.messages));
            self.queue_bytes.get_or_create(&l).set(clamp(q.bytes));
            self.queue_oldest_age
                .get_or_create(&l)
                .set(clamp(q.oldest_age));
        }
        self.held_messages.set(clamp(s.held_messages));
        self.held_bytes.set(clamp(s.held_bytes));
        self.store_used.set(clamp(s.store_used));
        self.store_max.set(clamp(s.store_max));
        self.store_file.set(clamp(s.store_file));
        self.disk_free.set(clamp(s.disk_free));
        self.disk_size.set(clamp(s.disk_size));
        self.outbox_events.set(clamp(s.outbox_events));
        self.outbox_bytes.set(clamp(s.outbox_bytes));
        self.outbox_lag.clear();
        for (dest, lag) in &s.outbox_lag {
            self.outbox_lag
                .get_or_create(&[("destination", dest.clone())])
                .set(clamp(*lag));
        }
        // A counter: raised to the store's total (which only grows).
        let seen = self.events_dropped.get();
        if s.events_dropped > seen {
            self.events_dropped.inc_by(s.events_dropped - seen);
        }
        self.hop_up.clear();
        self.hop_probed.clear();
        for hop in &s.hops {
            let l = [("address", hop.address.clone())];
            self.hop_up.get_or_create(&l).set(i64::from(hop.up));
            self.hop_probed.get_or_create(&l).set(clamp(hop.probed_at));
        }
        let age = if definitions_loaded > 0 {
            clamp(s.now).saturating_sub(definitions_loaded).max(0)
        } else {
            0
        };
        self.definitions_age.set(age);
        self.certificate_expiry.clear();
        for (name, not_after) in &s.certificates {
            self.certificate_expiry
                .get_or_create(&[("certificate", name.clone())])
                .set(clamp(*not_after));
        }
    }
}
