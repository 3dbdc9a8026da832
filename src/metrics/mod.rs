//! Prometheus metrics: the process's counters, gauges and histograms, and their text exposition
//! for `/metrics`. (Interface fixed for issue 12's parts; the bodies are being written.)

use std::time::Duration;

/// The process's metrics.
pub struct Metrics {}

/// The one registry of the process (metrics are the shell's, like logs).
pub fn global() -> &'static Metrics {
    static METRICS: Metrics = Metrics {};
    &METRICS
}

impl Metrics {
    /// A message reached its final disposition. `outcome` is the `message.*` kind's last part
    /// (`relayed`, `blocked`, `quarantined`, `redirected`, `modified`, `deferred`, `rejected`,
    /// `accepted`); `direction` is `inbound`, `outbound` or `internal`.
    pub fn message(&self, outcome: &str, direction: &str, size: u64, inspection: Duration) {
        let _ = (outcome, direction, size, inspection);
    }

    /// A policy matched a message.
    pub fn policy_hit(&self, policy: &str) {
        let _ = policy;
    }

    /// An SMTP connection was accepted (`refused` false) or refused by the connection limits.
    pub fn smtp_connection(&self, refused: bool) {
        let _ = refused;
    }

    /// A TLS session was established (`side` is `smtp_in`, `smtp_out` or `admin`).
    pub fn tls_session(&self, side: &str) {
        let _ = side;
    }

    /// A SIEM destination wrote `events` events in `bytes` bytes.
    pub fn siem_sent(&self, destination: &str, events: u64, bytes: u64) {
        let _ = (destination, events, bytes);
    }

    /// A SIEM destination failed to connect or write.
    pub fn siem_error(&self, destination: &str) {
        let _ = destination;
    }
}
