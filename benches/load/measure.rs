//! Measurements of one load run for `benches/load.rs`: CPU time of the processes and one report row.

use std::time::Duration;

use crate::support::client::LoadResult;
use crate::support::{self, median, proc_cpu};

/// CPU time (user+system) of the sink, Sluice and the generator over one run.
#[derive(Debug, Default, Clone, Copy)]
pub struct Cpu {
    pub sink: Duration,
    pub sluice: Duration,
    pub client: Duration,
    /// Context switches of Sluice's threads.
    pub sluice_cs: u64,
}

pub struct Sampler {
    pub sink: u32,
    pub sluice: Option<u32>,
    pub at: (Duration, Duration),
    pub cs: u64,
}

impl Sampler {
    pub fn new(sink: u32, sluice: Option<u32>) -> Sampler {
        let at = (
            proc_cpu(sink).unwrap_or_default(),
            sluice.and_then(proc_cpu).unwrap_or_default(),
        );
        let cs = sluice.map(support::proc_ctx_switches).unwrap_or(0);
        Sampler {
            sink,
            sluice,
            at,
            cs,
        }
    }
    pub fn done(self, client: Duration) -> Cpu {
        Cpu {
            sink: proc_cpu(self.sink)
                .unwrap_or_default()
                .saturating_sub(self.at.0),
            sluice: self
                .sluice
                .and_then(proc_cpu)
                .unwrap_or_default()
                .saturating_sub(self.at.1),
            client,
            sluice_cs: self
                .sluice
                .map(support::proc_ctx_switches)
                .unwrap_or(0)
                .saturating_sub(self.cs),
        }
    }
}

pub struct Row {
    pub name: &'static str,
    pub rates: Vec<f64>,
    pub eod: Vec<u32>,
    pub txn: Vec<u32>,
    pub cpu: Cpu,
    pub elapsed: Duration,
    pub ok: usize,
    pub failed: usize,
    pub errors: Vec<String>,
    pub note: String,
}

impl Row {
    pub fn new(name: &'static str) -> Row {
        Row {
            name,
            rates: Vec::new(),
            eod: Vec::new(),
            txn: Vec::new(),
            cpu: Cpu::default(),
            elapsed: Duration::ZERO,
            ok: 0,
            failed: 0,
            errors: Vec::new(),
            note: String::new(),
        }
    }
    pub fn add(&mut self, r: LoadResult, cpu: Cpu, rate: f64) {
        self.rates.push(rate);
        self.eod.extend(&r.eod_us);
        self.txn.extend(&r.txn_us);
        self.cpu.sink += cpu.sink;
        self.cpu.sluice += cpu.sluice;
        self.cpu.client += cpu.client;
        self.cpu.sluice_cs += cpu.sluice_cs;
        self.elapsed += r.elapsed;
        self.ok += r.ok;
        self.failed += r.failed;
        self.errors.extend(r.errors.into_iter().take(3));
    }
    pub fn finish(&mut self) {
        self.eod.sort_unstable();
        self.txn.sort_unstable();
    }
    pub fn rate(&self) -> f64 {
        median(&self.rates)
    }
}
