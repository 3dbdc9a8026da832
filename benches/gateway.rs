//! Gateway benchmark (issue 14): the same load, through three store-and-forward stacks, into the
//! same timing sink; one run, one report (see BENCHMARKS.md, "Gateway").
//!
//!     cargo bench --bench gateway -- [--sessions 20] [--messages 5000] [--size 10240]
//!
//! Paths (the generator is `support::client` with a sequence number per message; the sink is
//! `support::timing::TimingSink`, which notes each message's arrival):
//!   sluice:  generator -> Sluice gateway listener (durable custody, built-in policies enforced,
//!            delivery by `[[route]]`) -> sink
//!   postfix: generator -> private Postfix, plain relay (fsyncs each queue file) -> sink
//!   amavis:  generator -> Postfix (content_filter) -> amavisd-new -> Postfix reinjection -> sink
//! Reported per path: messages accepted per second (client side), messages delivered per second
//! (first MAIL to last arrival), time to delivery (MAIL to arrival at the sink) p50/p99/max, the
//! client's end-of-DATA p50/p99, and the whole machine's busy CPU per message (every process of
//! the stack plus generator and sink, from /proc/stat). Nothing here asserts a timing.
//!
//! Needs root and Debian's postfix and amavisd-new packages for the Postfix paths (skipped with
//! a note otherwise).

mod support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::client::{self, LoadSpec};
use support::procs::Sluice;
use support::timing::{self, Stamps, TimingSink};
use support::{free_port, machine_noise};

struct Opts {
    sessions: usize,
    messages: usize,
    size: usize,
    sluice: PathBuf,
    amavis_servers: usize,
    paths: Vec<String>,
}

const USAGE: &str = "cargo bench --bench gateway -- [--sessions N] [--messages N] [--size BYTES] \
[--amavis-servers N] [--paths sluice,postfix,amavis] [--sluice PATH]";

fn opts() -> Result<Opts, String> {
    let mut o = Opts {
        sessions: 20,
        messages: 5000,
        size: 10 * 1024,
        sluice: PathBuf::from(env!("CARGO_BIN_EXE_sluice")),
        amavis_servers: 4,
        paths: vec!["sluice".into(), "postfix".into(), "amavis".into()],
    };
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    while let Some(a) = args.next() {
        let mut val = || {
            args.next()
                .ok_or_else(|| format!("{a} needs a value\n{USAGE}"))
        };
        let num = |v: String| v.parse::<usize>().map_err(|_| format!("bad number {v:?}"));
        match a.as_str() {
            "--sessions" => o.sessions = num(val()?)?,
            "--messages" => o.messages = num(val()?)?,
            "--size" => o.size = num(val()?)?,
            "--amavis-servers" => o.amavis_servers = num(val()?)?,
            "--sluice" => o.sluice = PathBuf::from(val()?),
            "--paths" => o.paths = val()?.split(',').map(str::to_string).collect(),
            "--help" | "-h" => return Err(USAGE.into()),
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    Ok(o)
}

fn main() {
    if std::env::args().len() == 1 {
        eprintln!("benches/gateway.rs: skipped (run it with `cargo bench --bench gateway`)");
        return;
    }
    let o = match opts() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    support::raise_nofile();
    println!("machine before: {}", machine_noise());
    let base = Instant::now();
    let sink = match TimingSink::start(base, o.messages) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("timing sink: {e}");
            std::process::exit(1);
        }
    };
    let (_, plain) = client::make_message(o.size, "us-ascii");
    let (wire, offset) = timing::with_slot(&plain);
    let wire = Arc::new(wire);
    let mut rows = Vec::new();
    for path in &o.paths {
        sink.reset();
        let stamps = Arc::new(Stamps::new(base, offset, o.messages));
        let row = match path.as_str() {
            "sluice" => run_sluice(&o, &sink, &wire, &stamps),
            "postfix" => run_postfix(&o, &sink, &wire, &stamps, None),
            "amavis" => run_postfix(&o, &sink, &wire, &stamps, Some(o.amavis_servers)),
            other => Err(format!("unknown path {other}")),
        };
        match row {
            Ok(r) => rows.push(r),
            Err(e) => println!("{path}: skipped: {e}"),
        }
    }
    report(&o, &rows);
    println!("machine after: {}", machine_noise());
}

/// One path's figures.
struct Row {
    path: String,
    accepted: usize,
    accept_rate: f64,
    delivered: usize,
    delivery_rate: f64,
    ttd_ms: Vec<f64>,
    eod_p50_ms: f64,
    eod_p99_ms: f64,
    cpu_ms_per_msg: f64,
    note: String,
}

fn spec(o: &Opts, addr: SocketAddr, wire: &Arc<Vec<u8>>, stamps: &Arc<Stamps>) -> LoadSpec {
    LoadSpec {
        addr,
        sessions: o.sessions,
        messages: o.messages,
        wire: wire.clone(),
        size: o.size,
        rate: None,
        from: "loadgen@bench.example".into(),
        to: "rcpt@sink.example".into(),
        stamp: Some(stamps.clone()),
    }
}

/// Runs the load against `addr` and waits for the sink; the figures of one path.
fn measure(
    name: &str,
    o: &Opts,
    addr: SocketAddr,
    sink: &TimingSink,
    wire: &Arc<Vec<u8>>,
    stamps: &Arc<Stamps>,
) -> Row {
    let busy0 = machine_busy_ms();
    let r = client::run(&spec(o, addr, wire, stamps));
    let waited = sink.wait_received(r.ok as u64, Duration::from_secs(300));
    let busy = machine_busy_ms().saturating_sub(busy0);
    let (ttd_ms, first, last) = stamps.delivery_ms(sink);
    let span = match (first, last) {
        (Some(f), Some(l)) => l.saturating_sub(f).as_secs_f64(),
        _ => 0.0,
    };
    let mut note = r.errors.first().cloned().unwrap_or_default();
    if waited.is_none() {
        note = format!(
            "sink got {} of {} accepted after 300 s",
            sink.received(),
            r.ok
        );
    }
    let pct = |q: f64| support::percentile(&r.eod_us, q).map_or(0.0, |u| u as f64 / 1000.0);
    Row {
        path: name.into(),
        accepted: r.ok,
        accept_rate: r.msgs_per_sec(),
        delivered: ttd_ms.len(),
        delivery_rate: ttd_ms.len() as f64 / span.max(1e-9),
        eod_p50_ms: pct(0.50),
        eod_p99_ms: pct(0.99),
        cpu_ms_per_msg: busy as f64 / ttd_ms.len().max(1) as f64,
        ttd_ms,
        note,
    }
}

fn run_sluice(
    o: &Opts,
    sink: &TimingSink,
    wire: &Arc<Vec<u8>>,
    stamps: &Arc<Stamps>,
) -> Result<Row, String> {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port())
        .parse()
        .map_err(|e| format!("{e}"))?;
    let config = gateway_config(addr, sink.addr, o.sessions.max(100));
    let mut s = Sluice::start(&o.sluice, addr, &config, "warn")?;
    let row = measure("sluice gateway", o, addr, sink, wire, stamps);
    let (problems, first) = s.problems();
    s.stop();
    if problems > 0 {
        println!("sluice logged {problems} warnings/errors, first: {first:?}");
    }
    Ok(row)
}

/// A gateway listener, the sink's domain routed to the sink, the built-in policies enforced.
fn gateway_config(listen: SocketAddr, sink: SocketAddr, sessions: usize) -> String {
    format!(
        r#"[server]
hostname = "sluice.bench.example"

[listener]
name = "inbound"
mode = "gateway"
address = "{listen}"
max_sessions = {sessions}
max_sessions_per_client = {sessions}

[inspection]
builtin_policies = "enforce"

[[route]]
domain = "sink.example"
destination = "{sink}"
"#
    )
}

fn run_postfix(
    o: &Opts,
    sink: &TimingSink,
    wire: &Arc<Vec<u8>>,
    stamps: &Arc<Stamps>,
    amavis: Option<usize>,
) -> Result<Row, String> {
    if let Some(why) = support::postfix::unavailable() {
        return Err(why);
    }
    let mut cfg = support::postfix::PostfixConfig {
        content_filter: None,
        relayhost: sink.addr,
        smtp_port: 0,
        resubmit_port: 0,
        main_extra: Vec::new(),
        resubmit_options: Vec::new(),
        files: Vec::new(),
        filter_maxproc: None,
    };
    let mut filter = None;
    if let Some(servers) = amavis {
        if let Some(why) = support::amavis::unavailable() {
            return Err(why);
        }
        let listen: SocketAddr = format!("127.0.0.1:{}", free_port())
            .parse()
            .map_err(|e| format!("{e}"))?;
        let reinject = free_port();
        let forward: SocketAddr = format!("127.0.0.1:{reinject}")
            .parse()
            .map_err(|e| format!("{e}"))?;
        filter = Some(support::amavis::Amavis::start(listen, forward, servers)?);
        cfg.content_filter = Some(listen);
        cfg.resubmit_port = reinject;
        cfg.filter_maxproc = Some(servers as u32);
    }
    let postfix = support::postfix::Postfix::start(&cfg);
    let name = if amavis.is_some() {
        "postfix + amavisd-new"
    } else {
        "postfix relay"
    };
    let row = measure(name, o, postfix.smtp, sink, wire, stamps);
    drop(postfix);
    drop(filter);
    Ok(row)
}

/// Busy CPU time of the whole machine so far (all CPUs), in milliseconds, from /proc/stat.
fn machine_busy_ms() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(cpu) = stat.lines().next() else {
        return 0;
    };
    let v: Vec<u64> = cpu
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
    let busy: u64 = v
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4 && *i < 8)
        .map(|(_, x)| x)
        .sum();
    // USER_HZ is 100 on Linux: a jiffy is 10 ms.
    busy * 10
}

fn pct(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let i = ((v.len() as f64 - 1.0) * q).round() as usize;
    v[i.min(v.len() - 1)]
}

fn report(o: &Opts, rows: &[Row]) {
    println!(
        "\ngateway bench: {} sessions, {} messages of {} bytes, one recipient each",
        o.sessions, o.messages, o.size
    );
    println!(
        "{:<24} {:>9} {:>10} {:>9} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8}",
        "path",
        "accepted",
        "acc msg/s",
        "delivered",
        "dlv msg/s",
        "ttd p50",
        "ttd p99",
        "ttd max",
        "eod p50",
        "eod p99",
        "cpu ms/m"
    );
    for r in rows {
        println!(
            "{:<24} {:>9} {:>10.0} {:>9} {:>10.0} {:>9.1} {:>9.1} {:>9.1} {:>9.2} {:>9.2} {:>8.2}",
            r.path,
            r.accepted,
            r.accept_rate,
            r.delivered,
            r.delivery_rate,
            pct(&r.ttd_ms, 0.50),
            pct(&r.ttd_ms, 0.99),
            r.ttd_ms.last().copied().unwrap_or(0.0),
            r.eod_p50_ms,
            r.eod_p99_ms,
            r.cpu_ms_per_msg
        );
        if !r.note.is_empty() {
            println!("  note: {}", r.note);
        }
    }
    let rate = |name: &str| {
        rows.iter()
            .find(|r| r.path.starts_with(name))
            .map(|r| r.delivery_rate)
    };
    if let (Some(s), Some(p)) = (rate("sluice"), rate("postfix relay")) {
        println!(
            "sluice / postfix relay (delivered msg/s): {:.2}x",
            s / p.max(1e-9)
        );
    }
    if let (Some(s), Some(a)) = (rate("sluice"), rate("postfix + amavisd-new")) {
        println!(
            "sluice / postfix + amavisd-new (delivered msg/s): {:.2}x",
            s / a.max(1e-9)
        );
    }
    println!(
        "(times in ms; ttd = MAIL to arrival at the sink; cpu = whole machine, per delivered message)"
    );
}
