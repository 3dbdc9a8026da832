//! What is read at scrape time (from the store, the disk, the monitor's last probes) as plain
//! values: `monitor` fills it, [`super::Metrics::render`] sets the gauges from it.

/// The scrape-time values. Zero where nothing could be read (no store: the store's gauges are 0).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Unix seconds at the scrape.
    pub now: u64,
    /// `/readyz` would answer 200.
    pub ready: bool,
    /// The gateway's queues by stage (`inspect`, `deliver`, `deferred`, `hold`), each one always
    /// listed when the store could be read.
    pub queues: Vec<Queue>,
    pub held_messages: u64,
    pub held_bytes: u64,
    pub store_used: u64,
    pub store_max: u64,
    pub store_file: u64,
    pub disk_free: u64,
    pub disk_size: u64,
    pub outbox_events: u64,
    pub outbox_bytes: u64,
    /// Per SIEM destination (by name): events not written yet.
    pub outbox_lag: Vec<(String, u64)>,
    /// Events dropped by the outbox bounds, in all.
    pub events_dropped: u64,
    /// The next hops the monitor probed (none in reflecting mode or before the first probe).
    pub hops: Vec<Hop>,
    /// Certificates by name (`tls`) and their notAfter, Unix seconds.
    pub certificates: Vec<(String, u64)>,
}

/// One stage of the queues (`store::backlog`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Queue {
    /// `inspect`, `deliver`, `deferred` or `hold`.
    pub stage: &'static str,
    pub messages: u64,
    pub bytes: u64,
    /// Seconds since the oldest message was queued (0 when empty).
    pub oldest_age: u64,
}

impl Snapshot {
    /// Messages in every stage.
    pub fn queue_messages(&self) -> u64 {
        self.queues.iter().map(|q| q.messages).sum()
    }

    /// The oldest message's age in any stage.
    pub fn queue_oldest_age(&self) -> u64 {
        self.queues.iter().map(|q| q.oldest_age).max().unwrap_or(0)
    }

    /// The stage named `stage`, if listed.
    pub fn queue(&self, stage: &str) -> Option<&Queue> {
        self.queues.iter().find(|q| q.stage == stage)
    }
}

/// One next-hop address and the last probe of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    /// `host:port` as probed (`192.0.2.1:25`, `[2001:db8::1]:25`).
    pub address: String,
    pub up: bool,
    /// Unix seconds of the probe.
    pub probed_at: u64,
}
