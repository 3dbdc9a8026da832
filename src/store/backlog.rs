//! The gateway's queues by stage, as an operator sees them (Postfix's incoming, active, deferred
//! and hold): how many messages, their bytes and the oldest one's queued time, read in one cheap
//! pass for `/metrics`, the dashboard, `sluice status` and the monitor's alerts.
//!
//! Stages: `inspect` (custody waiting for inspection, `intake` [`intake::Stage::Inspect`]),
//! `deliver` (delivery queue entries not tried yet), `deferred` (tried at least once) and `hold`
//! (custody held as suspect; delivery entries an administrator put on hold count here too, see
//! [`stage_of`]). Each call decodes at most [`SCAN`] records per table, oldest first (ids grow with
//! time, so the oldest is among them); records past that are counted without being decoded, in the
//! first stage of their table (`inspect`, `deliver`), and the result says it is [`Backlog::partial`].

use super::kv::ReadTxn;
use super::records::Queued;
use super::{Result, intake, queue};

/// Records decoded per table and call.
pub const SCAN: usize = 10_000;

/// Where a queued message stands, as an operator sees it (Postfix's incoming, active/deferred and
/// hold queues); the service's `QueueStage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// In custody, waiting for inspection.
    Inspect,
    /// A delivery entry not tried yet.
    Deliver,
    /// A delivery entry tried at least once, waiting for its next attempt.
    Deferred,
    /// Held: a suspect message in custody, or a delivery entry an administrator put on hold.
    Hold,
}

impl Stage {
    pub const ALL: [Stage; 4] = [Stage::Inspect, Stage::Deliver, Stage::Deferred, Stage::Hold];

    /// The name in labels, URLs (`/queue?stage=`) and the CLI.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Inspect => "inspect",
            Stage::Deliver => "deliver",
            Stage::Deferred => "deferred",
            Stage::Hold => "hold",
        }
    }

    /// A stage by its name (case and surrounding white space aside).
    pub fn parse(s: &str) -> Option<Stage> {
        Stage::ALL
            .into_iter()
            .find(|v| v.name().eq_ignore_ascii_case(s.trim()))
    }
}

/// One stage's messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Load {
    pub messages: u64,
    /// Bytes of the messages looked at (records past [`SCAN`] add none).
    pub bytes: u64,
    /// The oldest message's queued time (Unix seconds): received for custody, queued for delivery.
    pub oldest: Option<u64>,
}

impl Load {
    fn add(&mut self, bytes: u64, queued: u64) {
        self.messages += 1;
        self.bytes = self.bytes.saturating_add(bytes);
        self.oldest = Some(self.oldest.map_or(queued, |o| o.min(queued)));
    }

    /// The oldest message's age at `now` in seconds (0 when empty).
    pub fn oldest_age(&self, now: u64) -> u64 {
        self.oldest.map_or(0, |t| now.saturating_sub(t))
    }
}

/// Every stage's load.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    loads: [Load; 4],
    /// Some records were counted without being looked at (more than [`SCAN`] in a table).
    pub partial: bool,
}

impl Backlog {
    pub fn get(&self, stage: Stage) -> &Load {
        &self.loads[stage as usize]
    }

    /// Sets one stage's load (for tests and callers that build a backlog by hand).
    pub fn set(&mut self, stage: Stage, load: Load) {
        self.loads[stage as usize] = load;
    }

    fn at(&mut self, stage: Stage) -> &mut Load {
        &mut self.loads[stage as usize]
    }

    /// Each stage with its load, in [`Stage::ALL`]'s order.
    pub fn stages(&self) -> impl Iterator<Item = (Stage, &Load)> {
        Stage::ALL.into_iter().map(|s| (s, self.get(s)))
    }

    /// Messages in every stage.
    pub fn total(&self) -> u64 {
        self.loads.iter().map(|l| l.messages).sum()
    }
}

/// The stage of a delivery queue entry.
pub fn stage_of(entry: &Queued) -> Stage {
    if entry.held {
        Stage::Hold
    } else if entry.attempts == 0 {
        Stage::Deliver
    } else {
        Stage::Deferred
    }
}

/// The stage of a message in custody.
pub fn custody_stage(stage: intake::Stage) -> Stage {
    match stage {
        intake::Stage::Inspect => Stage::Inspect,
        intake::Stage::Suspect => Stage::Hold,
    }
}

/// Reads every stage's load (at most [`SCAN`] records decoded per table).
pub fn read(txn: &dyn ReadTxn) -> Result<Backlog> {
    read_at_most(txn, SCAN)
}

fn read_at_most(txn: &dyn ReadTxn, scan: usize) -> Result<Backlog> {
    let mut b = Backlog::default();
    let (custody, more) = intake::list(txn, None, None, scan)?;
    for c in &custody {
        b.at(custody_stage(c.stage)).add(c.size, c.received);
    }
    if more.is_some() {
        let rest = intake::len(txn)?.saturating_sub(custody.len() as u64);
        b.at(Stage::Inspect).messages += rest;
        b.partial |= rest > 0;
    }
    let entries = queue::list(txn, scan)?;
    for q in &entries {
        let bytes = queue::content_len(txn, q.id)?;
        b.at(stage_of(q)).add(bytes, q.created);
    }
    let rest = queue::len(txn)?.saturating_sub(entries.len() as u64);
    b.at(Stage::Deliver).messages += rest;
    b.partial |= rest > 0;
    Ok(b)
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::store::intake::IntakeId;
    use crate::store::intake::tests::custody;
    use crate::store::{Store, tests::queued};
    use crate::testing::on_both_backends;

    fn open(dir: &Path) -> Store {
        Store::open(dir, &crate::testing::options()).expect("open store")
    }

    on_both_backends!(
        an_empty_store_has_empty_stages,
        each_stage_counts_its_messages_bytes_and_oldest,
        records_past_the_scan_are_counted_in_the_first_stage,
    );

    fn take(store: &Store, at: u64, body: &[u8]) -> IntakeId {
        let c = custody(at, body);
        smol::block_on(intake::take(store, c, Arc::new(body.to_vec()), false, 60))
            .unwrap()
            .id()
    }

    fn an_empty_store_has_empty_stages(store: Store) {
        let b = store.read(read).unwrap();
        assert_eq!(b, Backlog::default());
        assert_eq!(b.total(), 0);
        assert_eq!(b.get(Stage::Hold).oldest_age(1000), 0);
    }

    fn each_stage_counts_its_messages_bytes_and_oldest(store: Store) {
        take(&store, 200, b"one");
        take(&store, 150, b"second");
        let suspect = take(&store, 300, b"third!!");
        store
            .write_blocking(move |txn| intake::hold(txn, suspect, "test").map(drop))
            .unwrap();
        let fresh = queued(400);
        let mut tried = queued(100);
        tried.attempts = 2;
        store
            .write_blocking(move |txn| {
                queue::insert(txn, fresh, b"12345")?;
                queue::insert(txn, tried, b"1234567890")?;
                Ok(())
            })
            .unwrap();
        let b = store.read(read).unwrap();
        let load = |s| *b.get(s);
        assert_eq!(
            load(Stage::Inspect),
            Load {
                messages: 2,
                bytes: 9,
                oldest: Some(150)
            }
        );
        assert_eq!(
            load(Stage::Hold),
            Load {
                messages: 1,
                bytes: 7,
                oldest: Some(300)
            }
        );
        assert_eq!(
            load(Stage::Deliver),
            Load {
                messages: 1,
                bytes: 5,
                oldest: Some(400)
            }
        );
        assert_eq!(
            load(Stage::Deferred),
            Load {
                messages: 1,
                bytes: 10,
                oldest: Some(100)
            }
        );
        assert_eq!(b.total(), 5);
        assert!(!b.partial);
        assert_eq!(b.get(Stage::Deferred).oldest_age(160), 60);
        let names: Vec<_> = b.stages().map(|(s, _)| s.name()).collect();
        assert_eq!(names, ["inspect", "deliver", "deferred", "hold"]);
    }

    fn records_past_the_scan_are_counted_in_the_first_stage(store: Store) {
        for at in [10, 20, 30] {
            take(&store, at, b"x");
        }
        let mut tried = queued(5);
        tried.attempts = 1;
        store
            .write_blocking(move |txn| {
                queue::insert(txn, tried, b"abc")?;
                queue::insert(txn, queued(6), b"abc")?;
                Ok(())
            })
            .unwrap();
        let b = store.read(|txn| read_at_most(txn, 1)).unwrap();
        assert!(b.partial);
        assert_eq!(b.get(Stage::Inspect).messages, 3);
        assert_eq!(b.get(Stage::Inspect).oldest, Some(10));
        assert_eq!(b.get(Stage::Deferred).messages, 1);
        assert_eq!(b.get(Stage::Deliver).messages, 1);
        assert_eq!(b.get(Stage::Deliver).oldest, None, "not looked at");
        assert_eq!(b.total(), 5);
    }
}
