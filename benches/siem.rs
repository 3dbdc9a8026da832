//! SIEM export benchmark. One run measures and prints one report (see BENCHMARKS.md):
//!
//!     cargo build --release
//!     cargo bench --bench siem -- [--events 100000] [--messages 2000] [--sessions 10] [--rounds 3]
//!
//! 1. Events/s per destination: the outbox of a fresh data directory is filled with `--events`
//!    `message.relayed` events, then `sluice serve` starts with one `[[siem]]` destination
//!    (`start = "oldest"`) sending them to a counting sink in this process over TCP (RFC 6587) or
//!    TLS (RFC 5425); the rate is taken between the first and the last frame the sink read. The peer
//!    in the same run: this process rendering the same events with the same formatter and writing
//!    them on one connection to a sink of the same kind (no store, no batching, no async runtime).
//! 2. Msgs/s of the in-line proxy (keyword block policy, Postfix's smtp-sink as the next hop) with no
//!    SIEM, with a live SIEM (the counting sink, TCP), and with a dead one (a port that refuses; a
//!    black hole whose full backlog drops the SYN), rounds alternating between the four servers.
//!    The ratios to "no SIEM" in the same round are what matters: mail must not wait for a SIEM.
//!
//! Needs Debian's postfix package (smtp-sink) for part 2. Nothing here asserts a timing.

mod support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sluice::events::{Event, Field, Fields, Kind};
use sluice::export::render::{self, Format, LeefVersion, Style, SubjectMode};
use support::client::{self, LoadSpec};
use support::procs::{self, Sluice, SmtpSink};
use support::{machine_noise, median};

#[path = "siem/sink.rs"]
mod sink;

use sink::SiemSink;

struct Opts {
    events: u64,
    messages: usize,
    sessions: usize,
    size: usize,
    rounds: usize,
    sluice: PathBuf,
    proxy: bool,
    export: bool,
}

fn parse_opts() -> Result<Opts, String> {
    let mut o = Opts {
        events: 100_000,
        messages: 2000,
        sessions: 10,
        size: 10_240,
        rounds: 3,
        sluice: PathBuf::from(env!("CARGO_BIN_EXE_sluice")),
        proxy: true,
        export: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--bench" => {}
            "--events" => o.events = val(&a)?.parse().map_err(|e| format!("--events: {e}"))?,
            "--messages" => o.messages = val(&a)?.parse().map_err(|e| format!("{a}: {e}"))?,
            "--sessions" => o.sessions = val(&a)?.parse().map_err(|e| format!("{a}: {e}"))?,
            "--size" => o.size = val(&a)?.parse().map_err(|e| format!("{a}: {e}"))?,
            "--rounds" => o.rounds = val(&a)?.parse().map_err(|e| format!("{a}: {e}"))?,
            "--sluice" => o.sluice = PathBuf::from(val(&a)?),
            "--no-proxy" => o.proxy = false,
            "--no-export" => o.export = false,
            "--help" | "-h" => {
                return Err("options: --events N (100000) --messages N (2000) --sessions N (10) \
                            --size BYTES (10240) --rounds N (3) --sluice PATH --no-proxy --no-export"
                    .into());
            }
            other => return Err(format!("unknown option {other} (--help)")),
        }
    }
    Ok(o)
}

fn main() {
    // `cargo test --all-targets` runs this binary with no arguments: nothing to do there.
    if std::env::args().len() == 1 {
        eprintln!("benches/siem.rs: skipped (run it with `cargo bench --bench siem`)");
        return;
    }
    let o = match parse_opts() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if !o.sluice.is_file() {
        eprintln!(
            "{} not found: run `cargo build --release`",
            o.sluice.display()
        );
        std::process::exit(1);
    }
    support::raise_nofile();
    eprintln!("[siem] before: {}", machine_noise());
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = sink::pki(dir.path());
    if o.export {
        export_rates(&o, &pki);
    }
    if o.proxy
        && let Err(e) = proxy_rates(&o)
    {
        eprintln!("[siem] proxy part failed: {e}");
        std::process::exit(1);
    }
    eprintln!("[siem] after: {}", machine_noise());
}

/// A relayed message's event as the emitters write it (sizes like real ones).
fn sample_fields(i: u64) -> Vec<(Field, String)> {
    Fields::new()
        .with(
            Field::EmailLocalId,
            format!("0b6f3c9e-4f1a-4c55-9d2e-{i:012}"),
        )
        .with(Field::EmailFromAddress, "alice.sender@corp.example")
        .with(Field::EmailToAddress, "bob.recipient@partner.example")
        .with(Field::EmailSubject, format!("Quarterly figures, draft {i}"))
        .with(Field::EmailMessageId, format!("<{i}.bench@corp.example>"))
        .with(Field::EmailDirection, "outbound")
        .with(Field::SourceIp, "192.0.2.10")
        .with(Field::DestinationAddress, "mx.partner.example")
        .with(Field::Size, 10_240)
        .with(Field::Delay, 35)
        .with(Field::EventOutcome, "success")
        .into_vec()
}

/// A fresh data directory whose outbox holds `n` events.
fn filled_data_dir(n: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = sluice::config::Config::embedded()
        .expect("embedded config")
        .store
        .store_options();
    let store = sluice::store::Store::open(&dir.path().join("store"), &options).expect("store");
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut done = 0;
    while done < n {
        let batch = (n - done).min(5000);
        store
            .write_blocking(move |txn| {
                for i in done..done + batch {
                    sluice::store::events::append(txn, at, Kind::MessageRelayed, sample_fields(i))?;
                }
                Ok(())
            })
            .expect("fill the outbox");
        done += batch;
    }
    drop(store);
    dir
}

/// The frame a destination in `format` sends for the `i`-th sample event, rendered here with the
/// same formatter (for the peer writer).
fn frame(format: Format, i: u64) -> Vec<u8> {
    let style = Style {
        format,
        hostname: "sluice.bench.example".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        facility: 16,
        subject: SubjectMode::Clear,
        subject_key: [0; 32],
        leef: LeefVersion::V2,
    };
    let event = Event {
        seq: i + 1,
        at: 1_764_979_200,
        kind: Kind::MessageRelayed,
        fields: sample_fields(i),
    };
    let msg = render::render(&event, &style);
    format!("{} {msg}", msg.len()).into_bytes()
}

/// Part 1: events/s per format and transport, and the peer writer's rate to the same sink.
fn export_rates(o: &Opts, pki: &sink::Pki) {
    println!(
        "\n## SIEM export: events/s, {} events per destination\n",
        o.events
    );
    println!(
        "| format | transport | Sluice events/s | MB/s | peer (this process rendering and writing the same events) events/s | Sluice / peer |"
    );
    println!("|---|---|---|---|---|---|");
    let cases = [
        (Format::Rfc5424, false),
        (Format::Rfc5424, true),
        (Format::Cef, false),
        (Format::Leef, false),
        (Format::Json, false),
        (Format::Json, true),
    ];
    for (format, tls) in cases {
        let sink = SiemSink::start(tls.then(|| pki.server.clone()));
        let data = filled_data_dir(o.events);
        let mut table = format!(
            "[[siem]]\nname = \"bench\"\nformat = \"{}\"\ntransport = \"{}\"\naddress = \"{}\"\n\
             start = \"oldest\"\npoll_interval = \"100ms\"\n",
            format.name(),
            if tls { "tls" } else { "tcp" },
            sink.addr
        );
        if tls {
            table.push_str(&format!("ca_file = \"{}\"\n", pki.ca_file.display()));
        }
        let listen = SocketAddr::from(([127, 0, 0, 1], support::free_port()));
        let config = procs::sluice_config(listen, sink::refusing(), 64, "none") + "\n" + &table;
        let sluice = match Sluice::start_in(&o.sluice, listen, &config, "warn", Some(data.path())) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("[siem] {}: {e}", format.name());
                continue;
            }
        };
        let took = sink.wait(o.events, Duration::from_secs(600));
        let bytes = sink.bytes();
        drop(sluice);
        let rate = took.map(|d| (o.events - 1) as f64 / d.as_secs_f64().max(1e-9));
        // The peer: the same events rendered and written by this process, to a sink of the same kind.
        let peer_sink = SiemSink::start(tls.then(|| pki.server.clone()));
        sink::blast(
            peer_sink.addr,
            tls.then_some(pki.ca_pem.as_str()),
            o.events,
            |i| frame(format, i),
        );
        let peer = peer_sink
            .wait(o.events, Duration::from_secs(120))
            .map(|d| (o.events - 1) as f64 / d.as_secs_f64().max(1e-9));
        let fmt = |r: Option<f64>| r.map_or("did not finish".into(), |r| format!("{r:.0}"));
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            format.name(),
            if tls { "tls" } else { "tcp" },
            fmt(rate),
            took.map_or("-".into(), |d| format!(
                "{:.1}",
                bytes as f64 / d.as_secs_f64() / 1e6
            )),
            fmt(peer),
            match (rate, peer) {
                (Some(r), Some(p)) => format!("{:.3}", r / p),
                _ => "-".into(),
            }
        );
    }
}

/// Part 2: the proxy's msgs/s with no SIEM, a live one and two dead ones, rounds alternating.
fn proxy_rates(o: &Opts) -> Result<(), String> {
    let smtp_sink = SmtpSink::start()?;
    let live = SiemSink::start(None);
    let hole = sink::black_hole();
    let table = |addr: SocketAddr| {
        format!(
            "\n[[siem]]\nname = \"siem\"\nformat = \"rfc5424\"\ntransport = \"tcp\"\naddress = \"{addr}\"\n"
        )
    };
    let setups: Vec<(&str, String)> = vec![
        ("no SIEM", String::new()),
        ("live SIEM (tcp)", table(live.addr)),
        ("dead SIEM (refused)", table(sink::refusing())),
        ("dead SIEM (black hole)", table(hole.addr)),
    ];
    let mut servers = Vec::new();
    for (name, extra) in &setups {
        let listen = SocketAddr::from(([127, 0, 0, 1], support::free_port()));
        let config = procs::sluice_config(listen, smtp_sink.addr, o.sessions + 64, "block") + extra;
        let s = Sluice::start(&o.sluice, listen, &config, "warn")
            .map_err(|e| format!("{name}: {e}"))?;
        servers.push((*name, s));
    }
    let (_, wire) = client::make_message(o.size, "us-ascii");
    let wire = Arc::new(wire);
    let spec = |addr, messages| LoadSpec {
        addr,
        sessions: o.sessions,
        messages,
        wire: wire.clone(),
        size: o.size,
        rate: None,
        from: "loadgen@bench.example".into(),
        to: "rcpt@sink.example".into(),
        stamp: None,
    };
    for (name, s) in &servers {
        let r = client::run(&spec(s.addr, (o.messages / 10).max(100)));
        if r.failed > 0 {
            return Err(format!("warm-up of {name} failed: {:?}", r.errors));
        }
    }
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); servers.len()];
    let mut failed = vec![0usize; servers.len()];
    for round in 0..o.rounds {
        for (i, (name, s)) in servers.iter().enumerate() {
            let r = client::run(&spec(s.addr, o.messages));
            eprintln!(
                "[siem] round {} {name}: {:.0} msgs/s ({} ok, {} failed)",
                round + 1,
                r.msgs_per_sec(),
                r.ok,
                r.failed
            );
            rates[i].push(r.msgs_per_sec());
            failed[i] += r.failed;
        }
    }
    println!(
        "\n## In-line proxy with and without a SIEM: {} sessions x {} messages x {} B, {} rounds\n",
        o.sessions, o.messages, o.size, o.rounds
    );
    println!(
        "| setup | msgs/s (median) | each round | / no SIEM (median of per-round ratios) | failed |"
    );
    println!("|---|---|---|---|---|");
    for (i, (name, _)) in servers.iter().enumerate() {
        let ratios: Vec<f64> = rates[i].iter().zip(&rates[0]).map(|(r, b)| r / b).collect();
        println!(
            "| {name} | {:.0} | {} | {:.2} | {} |",
            median(&rates[i]),
            rates[i]
                .iter()
                .map(|r| format!("{r:.0}"))
                .collect::<Vec<_>>()
                .join(", "),
            median(&ratios),
            failed[i]
        );
    }
    println!(
        "\nlive SIEM: {} events received ({} bytes) during the run",
        live.frames(),
        live.bytes()
    );
    Ok(())
}
