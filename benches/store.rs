//! Store benchmarks (issue 4): quarantine inserts per second with full durability, incident search
//! latency over a million incidents, and store size per 1,000 quarantined 50 KB messages.
//!
//! `cargo bench --bench store [-- --incidents N --inserts N --writers N --dir PATH]`
//! The store goes in a temporary directory under `--dir` (default: the system temp dir); put it on
//! the disk you want measured (tmpfs makes fsync free).

use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "common/records.rs"]
mod records;

use records::*;
use sluice::store::records::*;
use sluice::store::search::{Filter, Page};
use sluice::store::{Store, held, incidents};

struct Args {
    incidents: u64,
    inserts: usize,
    writers: usize,
    dir: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        incidents: 1_000_000,
        inserts: 2000,
        writers: 16,
        dir: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().unwrap_or_default();
        match k.as_str() {
            "--incidents" => a.incidents = v().parse().unwrap_or(a.incidents),
            "--inserts" => a.inserts = v().parse().unwrap_or(a.inserts),
            "--writers" => a.writers = v().parse().unwrap_or(a.writers),
            "--dir" => a.dir = Some(v()),
            _ => {}
        }
    }
    a
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let a = args();
    let base = a
        .dir
        .clone()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let now = 1_795_000_000u64;
    // The shipped defaults (assets/sluice.toml): store size and quarantine caps.
    let defaults = sluice::config::Config::embedded().expect("embedded defaults");
    let caps = defaults.store.caps();

    // 1. Quarantine inserts with full durability: `writers` threads, each insert its own write
    //    (group commit batches what arrives together).
    let dir = tempfile::tempdir_in(&base).expect("tempdir");
    let st = Store::open(dir.path(), &defaults.store.store_options()).expect("open");
    let msgs: Arc<Vec<Vec<u8>>> = Arc::new((0..a.inserts).map(message).collect());
    let t = Instant::now();
    let per = a.inserts / a.writers;
    let threads: Vec<_> = (0..a.writers)
        .map(|w| {
            let (st, msgs) = (st.clone(), msgs.clone());
            std::thread::spawn(move || {
                for k in 0..per {
                    let i = w * per + k;
                    let rec = held_record(i as u64, now);
                    let body = msgs[i].clone();
                    st.write_blocking(move |txn| held::insert(txn, rec, &body, caps))
                        .expect("insert");
                }
            })
        })
        .collect();
    for th in threads {
        th.join().expect("writer");
    }
    let n = per * a.writers;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "quarantine inserts (50 KB, durable, {} writers): {n} in {secs:.2} s = {:.0} inserts/s",
        a.writers,
        n as f64 / secs
    );
    // Sequential, one writer: every insert waits for its own commit.
    let t = Instant::now();
    for i in 0..200 {
        let rec = held_record(i, now);
        let body = msgs[i as usize % msgs.len()].clone();
        st.write_blocking(move |txn| held::insert(txn, rec, &body, caps))
            .expect("insert");
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "quarantine inserts, one writer (each waits for its commit): {:.0} inserts/s",
        200.0 / secs
    );

    // 3. Size per 1,000 held 50 KB messages.
    let size_dir = tempfile::tempdir_in(&base).expect("tempdir");
    let sized = Store::open(size_dir.path(), &defaults.store.store_options()).expect("open");
    let empty = sized.disk_size();
    for chunk in 0..10 {
        let batch: Vec<(Held, Vec<u8>)> = (0..100)
            .map(|k| {
                let i = chunk * 100 + k;
                (held_record(i as u64, now), msgs[i % msgs.len()].clone())
            })
            .collect();
        sized
            .write_blocking(move |txn| {
                for (rec, body) in batch {
                    held::insert(txn, rec, &body, caps)?;
                }
                Ok(())
            })
            .expect("insert");
    }
    let used = sized.disk_size() - empty;
    println!(
        "store size per 1,000 held 50 KB messages: {:.1} MB ({:.2}x the message bytes)",
        used as f64 / 1e6,
        used as f64 / (1000.0 * 51_200.0)
    );
    drop(sized);

    // 2. Incident search over `incidents` incidents.
    let idir = tempfile::tempdir_in(&base).expect("tempdir");
    let ist = Store::open(idir.path(), &defaults.store.store_options()).expect("open");
    let t = Instant::now();
    let batch = 10_000u64;
    let mut i = 0;
    while i < a.incidents {
        let (from, n) = (i, a.incidents);
        let to = (i + batch).min(a.incidents);
        ist.write_blocking(move |txn| {
            for k in from..to {
                incidents::record(txn, incident(k, n, now), None, 0)?;
            }
            Ok(())
        })
        .expect("load incidents");
        i = to;
    }
    println!(
        "loaded {} incidents in {:.1} s; store {:.0} MB",
        a.incidents,
        t.elapsed().as_secs_f64(),
        ist.disk_size() as f64 / 1e6
    );
    let queries: Vec<(&str, Filter)> = vec![
        ("newest page, no filter", Filter::default()),
        (
            "status=new, policy, last 7 days",
            Filter {
                status: Some("new".into()),
                policy: Some(130),
                since: Some(now - 7 * 86_400),
                ..Filter::default()
            },
        ),
        (
            "recipient domain + severity=critical",
            Filter {
                recipient: Some("@home.example".into()),
                severity: Some("critical".into()),
                ..Filter::default()
            },
        ),
        (
            "worst case: two big conditions that never meet (empty result)",
            Filter {
                recipient: Some("@bank.example".into()),
                severity: Some("critical".into()),
                ..Filter::default()
            },
        ),
        (
            "sender + status=resolved, one day 20 days ago",
            Filter {
                sender: Some("user40@corp.example".into()),
                status: Some("resolved".into()),
                since: Some(now - 21 * 86_400),
                until: Some(now - 20 * 86_400),
                ..Filter::default()
            },
        ),
        (
            "subject text (not indexed) + policy",
            Filter {
                policy: Some(150),
                subject: Some("numbers 99".into()),
                ..Filter::default()
            },
        ),
    ];
    for (name, filter) in &queries {
        let mut times = Vec::new();
        let mut count = 0;
        for _ in 0..50 {
            let t = Instant::now();
            let found = ist
                .read(|txn| incidents::search(txn, filter, Page::default()))
                .expect("search");
            times.push(t.elapsed());
            count = found.items.len();
        }
        times.sort();
        println!(
            "search [{name}]: {count} results/page, p50 {:.2} ms, p99 {:.2} ms",
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            percentile(&times, 0.99).as_secs_f64() * 1e3
        );
    }
}
