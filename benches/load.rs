//! Load benchmark: Sluice as an in-line SMTP proxy, against the same load sent straight to the sink and
//! through a plain Postfix relay. One run measures everything and prints one report (see BENCHMARKS.md).
//!
//!     cargo build --release
//!     cargo bench --bench load -- [--sessions 20] [--messages 5000] [--size 10240] ...
//!
//! Paths (the final sink is always Postfix's `smtp-sink`, which keeps nothing and counts what it got):
//!   direct:  load generator -> smtp-sink
//!   sluice:  load generator -> sluice (forward mode, keyword policy on) -> smtp-sink
//!   postfix: load generator -> private Postfix (plain relay, relayhost = sink) -> queue -> smtp-sink
//!   (diagnostic) load generator -> do-nothing TCP relay in this process -> smtp-sink
//! plus Postfix's smtp-source as a second generator (direct and through Sluice), a paced run for
//! added latency, 1,000 idle sessions for Sluice's memory, and a burst of large messages (RSS before,
//! peak during and after, against `listener.max_bytes_in_flight`).
//!
//! With the default `--action block` Sluice sends DATA to the sink only after inspection
//! (`relay.data_ahead = "auto"`: a policy that can block); `--data-ahead always` sends it ahead as
//! before issue 10, so the two runs show what the extra round trip costs.
//!
//! Needs Debian's postfix package (smtp-sink, smtp-source, postfix) and, for the Postfix path, root.
//! Nothing here asserts a timing: it measures and reports.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use support::client::{self, LoadResult, LoadSpec};
use support::procs::{self, Sluice, SmtpSink, SourceRun};
use support::{machine_noise, median, percentile, proc_status};

#[path = "load/measure.rs"]
mod measure;
#[path = "load/opts.rs"]
mod opts;

use measure::{Cpu, Row, Sampler};
use opts::{Opts, parse_opts};

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary with no arguments,
    // and a 30-second load run with external programs has no place in a test run.
    if std::env::args().len() == 1 {
        eprintln!("benches/load.rs: skipped (run it with `cargo bench --bench load`)");
        return;
    }
    let opts = match parse_opts() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&opts) {
        eprintln!("load bench failed: {e}");
        std::process::exit(1);
    }
}

/// The idle-session reading: sessions open, errors, VmRSS before and with them (kB), threads, still open.
type Idle = (
    usize,
    Vec<String>,
    Option<u64>,
    Option<u64>,
    Option<u64>,
    usize,
);

fn ms(us: Option<u32>) -> String {
    us.map_or("-".into(), |u| format!("{:.2}", u as f64 / 1000.0))
}

fn spec(
    o: &Opts,
    addr: std::net::SocketAddr,
    wire: &Arc<Vec<u8>>,
    messages: usize,
    rate: Option<f64>,
) -> LoadSpec {
    LoadSpec {
        addr,
        sessions: o.sessions,
        messages,
        wire: wire.clone(),
        size: o.size,
        rate,
        from: "loadgen@bench.example".into(),
        to: "rcpt@sink.example".into(),
        stamp: None,
    }
}

/// One load run, with the sink's count checked afterwards.
fn measured(sink: &SmtpSink, sluice: Option<&Sluice>, s: &LoadSpec) -> (LoadResult, Cpu, String) {
    let before = sink.received();
    let sampler = Sampler::new(sink.pid(), sluice.map(Sluice::pid));
    let r = client::run(s);
    let cpu = sampler.done(r.client_cpu);
    let want = before + r.ok as u64;
    let note = match sink.wait_received(want, Duration::from_secs(10)) {
        Some(_) => String::new(),
        None => format!(
            "sink received {} of {} acknowledged messages",
            sink.received() - before,
            r.ok
        ),
    };
    (r, cpu, note)
}

fn run(o: &Opts) -> Result<(), String> {
    let nofile = support::raise_nofile();
    let started = Instant::now();
    let (_msg, wire) = if o.attachments {
        client::make_attached_message(o.size)
    } else {
        client::make_message(o.size, &o.charset)
    };
    let wire = Arc::new(wire);
    let noise_start = machine_noise();
    eprintln!("[load] before start: {noise_start}");
    if !o.sluice.is_file() {
        return Err(format!(
            "{} not found: run `cargo build --release` first",
            o.sluice.display()
        ));
    }

    let sink = SmtpSink::start()?;
    eprintln!("[load] sink: {} (pid {})", sink.command, sink.pid());
    let listen = std::net::SocketAddr::from(([127, 0, 0, 1], support::free_port()));
    let mut config = procs::sluice_config(listen, sink.addr, o.idle + 64, &o.action);
    if let Some(set) = &o.policies {
        let text = std::fs::read_to_string(set)
            .unwrap_or_else(|e| panic!("--policies {}: {e}", set.display()));
        config = procs::sluice_config(listen, sink.addr, o.idle + 64, "none") + "\n" + &text;
    } else if o.action == "none" {
        // No policy at all: not even the built-in set in monitor mode (issue 10).
        config.push_str("\n[inspection]\nbuiltin_policies = \"off\"\n");
    }
    // relay.data_ahead: with an enforcing block policy "auto" sends no DATA ahead (issue 10).
    let config = config.replacen(
        "[relay]\n",
        &format!("[relay]\ndata_ahead = \"{}\"\n", o.data_ahead),
        1,
    );
    let mut sluice = Sluice::start(&o.sluice, listen, &config, &o.log)?;
    // What Sluice made of it (its "listening" line says data_ahead=true|false).
    std::thread::sleep(Duration::from_millis(200));
    let data_ahead_on = sluice
        .early_line(" listening")
        .map(|l| l.contains("data_ahead=true"));
    eprintln!(
        "[load] sluice {} listening on {} (pid {}), forwarding to {}",
        o.sluice.display(),
        sluice.addr,
        sluice.pid(),
        sink.addr
    );

    // Warm-up (connections, allocator, page cache), not recorded.
    let warm = (o.messages / 10).max(200);
    for addr in [sink.addr, sluice.addr] {
        let r = client::run(&spec(o, addr, &wire, warm, None));
        if r.failed > 0 {
            return Err(format!("warm-up against {addr} failed: {:?}", r.errors));
        }
    }

    // Throughput: alternating rounds with the Rust generator.
    let mut direct = Row::new("direct -> sink");
    let mut through = Row::new("-> Sluice -> sink");
    for round in 0..o.rounds {
        let (r, cpu, note) = measured(&sink, None, &spec(o, sink.addr, &wire, o.messages, None));
        let rate = r.msgs_per_sec();
        eprintln!(
            "[load] round {} direct: {:.0} msgs/s ({} ok, {} failed) {note}",
            round + 1,
            rate,
            r.ok,
            r.failed
        );
        direct.note.push_str(&note);
        direct.add(r, cpu, rate);
        let (r, cpu, note) = measured(
            &sink,
            Some(&sluice),
            &spec(o, sluice.addr, &wire, o.messages, None),
        );
        let rate = r.msgs_per_sec();
        eprintln!(
            "[load] round {} sluice: {:.0} msgs/s ({} ok, {} failed) {note}",
            round + 1,
            rate,
            r.ok,
            r.failed
        );
        through.note.push_str(&note);
        through.add(r, cpu, rate);
    }
    // Diagnostic floor: the same load through a do-nothing TCP relay (inside this process).
    let mut floor = Row::new("-> plain TCP relay -> sink");
    if o.tcp_floor {
        let relay = procs::tcp_relay(sink.addr)?;
        let _ = client::run(&spec(o, relay, &wire, warm, None));
        for round in 0..o.rounds {
            let (r, cpu, note) = measured(&sink, None, &spec(o, relay, &wire, o.messages, None));
            let rate = r.msgs_per_sec();
            eprintln!(
                "[load] round {} plain TCP relay: {:.0} msgs/s ({} ok, {} failed) {note}",
                round + 1,
                rate,
                r.ok,
                r.failed
            );
            floor.note.push_str(&note);
            floor.add(r, cpu, rate);
        }
        floor.finish();
    }
    direct.finish();
    through.finish();
    let hwm_after_throughput = proc_status(sluice.pid(), "VmHWM");
    let threads_after_throughput = proc_status(sluice.pid(), "Threads");

    if o.hold > 0.0 {
        eprintln!(
            "[load] holding a steady load through Sluice for {} s: perf record -g -p {} -- sleep {}",
            o.hold,
            sluice.pid(),
            o.hold
        );
        let n = (o.hold * 1.2 * through.rate().max(100.0)) as usize;
        let r = client::run(&spec(o, sluice.addr, &wire, n, None));
        eprintln!(
            "[load] hold: {} messages in {:.1} s",
            r.ok,
            r.elapsed.as_secs_f64()
        );
    }

    // smtp-source (Postfix's generator), direct and through Sluice.
    // (label, runs direct, runs via Sluice, messages per run)
    let mut source_rows: Vec<(String, Vec<SourceRun>, Vec<SourceRun>, usize)> = Vec::new();
    if o.smtp_source {
        let payload = o.size.saturating_sub(200);
        let single = o.messages.min(2000);
        let modes = [
            (
                format!("-d -s {} -m {} (connection reused)", o.sessions, o.messages),
                true,
                o.sessions,
                o.messages,
                o.rounds,
            ),
            (
                format!(
                    "-s {} -m {} (new connection per message)",
                    o.sessions, o.messages
                ),
                false,
                o.sessions,
                o.messages,
                1,
            ),
            (
                format!("-s 1 -m {single} (one session, new connection per message)"),
                false,
                1,
                single,
                o.rounds,
            ),
        ];
        for (label, reuse, sessions, messages, rounds) in modes {
            let (mut d, mut s) = (Vec::new(), Vec::new());
            for _ in 0..rounds {
                let before = sink.received();
                let r = procs::smtp_source(sink.addr, sessions, messages, payload, reuse);
                if sink
                    .wait_received(before + messages as u64, Duration::from_secs(10))
                    .is_none()
                {
                    eprintln!(
                        "[load] smtp-source direct: sink got {} of {}",
                        sink.received() - before,
                        messages
                    );
                }
                d.push(r);
                let before = sink.received();
                let r = procs::smtp_source(sluice.addr, sessions, messages, payload, reuse);
                if sink
                    .wait_received(before + messages as u64, Duration::from_secs(10))
                    .is_none()
                {
                    eprintln!(
                        "[load] smtp-source via Sluice: sink got {} of {}",
                        sink.received() - before,
                        messages
                    );
                }
                s.push(r);
            }
            eprintln!(
                "[load] smtp-source {label}: direct {:.0} msgs/s, sluice {:.0} msgs/s",
                messages as f64 / d[0].elapsed.as_secs_f64(),
                messages as f64 / s[0].elapsed.as_secs_f64()
            );
            source_rows.push((label, d, s, messages));
        }
    }

    // Paced latency.
    let mut paced: Option<(Row, Row)> = None;
    if o.paced {
        let n = (o.rate * o.paced_secs).round().max(1.0) as usize;
        let mut pd = Row::new("direct -> sink");
        let mut ps = Row::new("-> Sluice -> sink");
        let (r, cpu, note) = measured(&sink, None, &spec(o, sink.addr, &wire, n, Some(o.rate)));
        pd.note = format!("{} late starts {note}", r.late);
        let rate = r.msgs_per_sec();
        pd.add(r, cpu, rate);
        let (r, cpu, note) = measured(
            &sink,
            Some(&sluice),
            &spec(o, sluice.addr, &wire, n, Some(o.rate)),
        );
        ps.note = format!("{} late starts {note}", r.late);
        let rate = r.msgs_per_sec();
        ps.add(r, cpu, rate);
        pd.finish();
        ps.finish();
        eprintln!(
            "[load] paced {} msgs/s: direct p99 {} ms, sluice p99 {} ms (end of DATA)",
            o.rate,
            ms(percentile(&pd.eod, 0.99)),
            ms(percentile(&ps.eod, 0.99))
        );
        paced = Some((pd, ps));
    }
    let hwm_after_load = proc_status(sluice.pid(), "VmHWM");

    // Idle sessions.
    let mut idle: Option<Idle> = None;
    if o.idle_on {
        std::thread::sleep(Duration::from_millis(500));
        let rss_before = proc_status(sluice.pid(), "VmRSS");
        let (open, errors) = client::open_idle(sluice.addr, o.idle);
        std::thread::sleep(Duration::from_secs(1));
        let rss = proc_status(sluice.pid(), "VmRSS");
        let threads = proc_status(sluice.pid(), "Threads");
        let alive = open.iter().filter(|s| client::still_open(s)).count();
        eprintln!(
            "[load] {} idle sessions open ({} still open after 1 s): sluice VmRSS {} kB (before: {} kB)",
            open.len(),
            alive,
            rss.unwrap_or(0),
            rss_before.unwrap_or(0)
        );
        idle = Some((open.len(), errors, rss_before, rss, threads, alive));
        drop(open);
    }
    // A burst of large messages: the in-flight budget bounds the peak; memory goes back after.
    let burst = (o.burst > 0).then(|| {
        let b = support::burst::run(sluice.addr, sluice.pid(), o.burst, o.burst_size);
        eprintln!(
            "[load] burst: {} x {} bytes: VmRSS before {:?} kB, peak {} kB, after {:?} kB; {} relayed, {} deferred",
            b.sessions, b.size, b.before, b.peak, b.after, b.ok, b.deferred
        );
        b
    });
    let hwm_final = proc_status(sluice.pid(), "VmHWM");
    let sluice_relayed = sluice.relayed();
    let (problem_count, problems) = sluice.problems();
    let sluice_pid = sluice.pid();
    sluice.stop();

    // Postfix relay.
    let mut postfix_row: Option<Row> = None;
    let mut postfix_note = String::new();
    if o.postfix {
        match procs::postfix_relay(sink.addr) {
            Err(e) => postfix_note = format!("Postfix relay not measured: {e}"),
            Ok(mut pf) => {
                let n = o.postfix_messages.unwrap_or(o.messages);
                // Warm-up: start the daemons (smtpd, cleanup, qmgr, smtp) and wait for delivery.
                let before = sink.received();
                let w = client::run(&spec(o, pf.smtp, &wire, 200, None));
                let _ = sink.wait_received(before + w.ok as u64, Duration::from_secs(60));
                let before = sink.received();
                let r = client::run(&spec(o, pf.smtp, &wire, n, None));
                let start = r.start.unwrap_or_else(Instant::now);
                let accept_rate = r.msgs_per_sec();
                let delivered_at =
                    sink.wait_received(before + r.ok as u64, Duration::from_secs(600));
                let mut row = Row::new("-> Postfix relay -> sink");
                match delivered_at {
                    Some(t) => {
                        let secs = t.saturating_duration_since(start).as_secs_f64();
                        let rate = r.ok as f64 / secs;
                        row.note = format!(
                            "accepted {} at {:.0} msgs/s; all delivered to the sink after {:.2} s",
                            r.ok, accept_rate, secs
                        );
                        row.add(r, Cpu::default(), rate);
                    }
                    None => {
                        row.note = format!(
                            "sink got only {} of {} accepted messages within 600 s",
                            sink.received() - before,
                            r.ok
                        );
                        row.add(r, Cpu::default(), 0.0);
                    }
                }
                row.finish();
                eprintln!(
                    "[load] postfix: {:.0} msgs/s delivered ({})",
                    row.rate(),
                    row.note
                );
                pf.stop();
                postfix_row = Some(row);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Report.
    let mb = |rate: f64| rate * o.size as f64 / 1e6;
    println!();
    println!("== Sluice load benchmark ==");
    let kind = if o.attachments {
        "multipart: text, .docx, .zip of .txt, base64".to_string()
    } else {
        format!("text/plain; charset={}", o.charset)
    };
    let policy = match &o.policies {
        Some(p) => format!("policy set {}", p.display()),
        None => format!(
            "policy keywords [secret, confidential, project falcon] action {}",
            o.action
        ),
    };
    println!(
        "load: {} sessions x {} messages of {} bytes ({kind}) per run, {} rounds (median msgs/s), generator: benches/load.rs (one thread per session, no pipelining)",
        o.sessions, o.messages, o.size, o.rounds
    );
    println!(
        "sink: {}    sluice: {} (pid {sluice_pid}), {policy}, relay.data_ahead = {} ({}), SLUICE_LOG={}",
        sink.command,
        o.sluice.display(),
        o.data_ahead,
        match data_ahead_on {
            Some(true) => "DATA sent ahead",
            Some(false) => "DATA after inspection",
            None => "not seen in the log",
        },
        o.log
    );
    println!(
        "RLIMIT_NOFILE {nofile}; total bench time {:.0} s",
        started.elapsed().as_secs_f64()
    );
    println!("before start: {noise_start}");
    println!("after the runs: {}", machine_noise());
    println!();
    println!(
        "Throughput (latency = end-of-DATA reply time seen by the client: message written -> final reply)"
    );
    println!(
        "{:<28} {:>10} {:>8} {:>9} {:>9} {:>12} {:>12}   rounds msgs/s",
        "path", "msgs/s", "MB/s", "p50 ms", "p99 ms", "txn p50 ms", "txn p99 ms"
    );
    let mut rows: Vec<&Row> = vec![&direct, &through];
    if let Some(p) = &postfix_row {
        rows.push(p);
    }
    if o.tcp_floor {
        rows.push(&floor);
    }
    for r in &rows {
        let each: Vec<String> = r.rates.iter().map(|x| format!("{x:.0}")).collect();
        println!(
            "{:<28} {:>10.0} {:>8.1} {:>9} {:>9} {:>12} {:>12}   [{}]",
            r.name,
            r.rate(),
            mb(r.rate()),
            ms(percentile(&r.eod, 0.5)),
            ms(percentile(&r.eod, 0.99)),
            ms(percentile(&r.txn, 0.5)),
            ms(percentile(&r.txn, 0.99)),
            each.join(", ")
        );
    }
    for r in &rows {
        if r.failed > 0 || !r.note.is_empty() {
            println!(
                "  {}: {} ok, {} failed {} {:?}",
                r.name,
                r.ok,
                r.failed,
                r.note,
                r.errors.iter().take(3).collect::<Vec<_>>()
            );
        }
    }
    if !postfix_note.is_empty() {
        println!("  {postfix_note}");
    }
    println!(
        "  (Postfix: msgs/s = messages delivered to the sink / time from the first MAIL until the sink counted the last one; p50/p99 = Postfix's own end-of-DATA reply, after queueing.)"
    );
    if o.tcp_floor {
        println!(
            "  (diagnostic floor: a do-nothing byte relay, one thread per direction, inside the generator process: what any in-line proxy costs here before doing SMTP work; ratio to direct {:.2})",
            floor.rate() / direct.rate()
        );
    }
    let ratio_direct = through.rate() / direct.rate();
    println!();
    println!("Ratios and targets");
    // Issue 2: the keyword policy on 10 KB text, against the reference load (smtp-source's
    // default single session, about 2,000 msgs/s direct here). Issue 3: full detection on 50 KB with
    // attachments, against the generator's load.
    let full_detection = o.policies.is_some() && o.attachments;
    let reference = source_rows
        .iter()
        .find(|(label, ..)| label.starts_with("-s 1 "))
        .map(|(_, d, s, messages)| {
            let rate = |v: &[procs::SourceRun]| {
                median(
                    &v.iter()
                        .map(|r| *messages as f64 / r.elapsed.as_secs_f64())
                        .collect::<Vec<_>>(),
                )
            };
            (rate(d), rate(s))
        });
    if full_detection {
        println!(
            "  Sluice / direct  = {:.2}   (full detection, 50 KB with attachments: target >= 0.50: {})",
            ratio_direct,
            verdict(ratio_direct >= 0.5)
        );
    } else {
        if let Some((d, s)) = reference {
            println!(
                "  Sluice / direct, reference load (smtp-source, one session; {d:.0} msgs/s direct) = {:.2}   (target >= 0.80: {})",
                s / d,
                verdict(s / d >= 0.8)
            );
        }
        println!(
            "  Sluice / direct, {} persistent sessions (CPU-bound: generator, sink and Sluice share 2 cores) = {:.2}   (see BENCHMARKS.md: a proxy that receives and resends each message needs at least the sink's plus the generator's work, so on 2 cores this ratio stays near 0.5, far from 0.8)",
            o.sessions, ratio_direct
        );
    }
    if let Some(p) = &postfix_row
        && p.rate() > 0.0
    {
        let r = through.rate() / p.rate();
        println!(
            "  Sluice / Postfix = {:.1}x   (target >= 5x: {})",
            r,
            verdict(r >= 5.0)
        );
    }
    let cpu_line = |r: &Row| {
        let secs = r.elapsed.as_secs_f64().max(1e-9);
        let per = |d: Duration| d.as_secs_f64() * 1e6 / r.ok.max(1) as f64;
        let total = r.cpu.sluice + r.cpu.sink + r.cpu.client;
        format!(
            "sluice {:>3.0}% ({:>5.1} us/msg, {:.1} context switches/msg)  smtp-sink {:>3.0}% ({:>5.1} us/msg)  generator {:>3.0}% ({:>5.1} us/msg)  sum {:>3.0}%",
            r.cpu.sluice.as_secs_f64() / secs * 100.0,
            per(r.cpu.sluice),
            r.cpu.sluice_cs as f64 / r.ok.max(1) as f64,
            r.cpu.sink.as_secs_f64() / secs * 100.0,
            per(r.cpu.sink),
            r.cpu.client.as_secs_f64() / secs * 100.0,
            per(r.cpu.client),
            total.as_secs_f64() / secs * 100.0
        )
    };
    println!();
    println!(
        "CPU during the throughput rounds (% of one core; the machine has {} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("  {:<20} {}", "direct", cpu_line(&direct));
    println!("  {:<20} {}", "through Sluice", cpu_line(&through));
    if o.tcp_floor {
        println!(
            "  {:<20} {}   (the relay's CPU is in \"generator\")",
            "plain TCP relay",
            cpu_line(&floor)
        );
    }

    if !source_rows.is_empty() {
        println!();
        println!(
            "Postfix smtp-source as the generator (smtp-source -l {} ...; msgs/s = messages / wall time of smtp-source)",
            o.size.saturating_sub(200)
        );
        println!(
            "{:<58} {:>10} {:>12} {:>7}   rounds (direct | sluice)",
            "smtp-source options", "direct", "via Sluice", "ratio"
        );
        for (label, d, s, messages) in &source_rows {
            let rd: Vec<f64> = d
                .iter()
                .map(|r| *messages as f64 / r.elapsed.as_secs_f64())
                .collect();
            let rs: Vec<f64> = s
                .iter()
                .map(|r| *messages as f64 / r.elapsed.as_secs_f64())
                .collect();
            let fmt = |v: &[f64]| {
                v.iter()
                    .map(|x| format!("{x:.0}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            println!(
                "{:<58} {:>10.0} {:>12.0} {:>7.2}   {} | {}",
                label,
                median(&rd),
                median(&rs),
                median(&rs) / median(&rd),
                fmt(&rd),
                fmt(&rs)
            );
            for r in d.iter().chain(s.iter()).filter(|r| !r.ok) {
                println!(
                    "  FAILED: {}: {}",
                    r.command,
                    r.output.lines().take(3).collect::<Vec<_>>().join(" / ")
                );
            }
        }
    }

    if let Some((pd, ps)) = &paced {
        println!();
        println!(
            "Latency at a fixed rate: {} msgs/s for {} s ({} messages, {} sessions)",
            o.rate,
            o.paced_secs,
            (o.rate * o.paced_secs).round(),
            o.sessions
        );
        println!(
            "{:<28} {:>9} {:>9} {:>9} {:>12} {:>12} {:>12}",
            "path", "p50 ms", "p99 ms", "max ms", "txn p50 ms", "txn p99 ms", "txn max ms"
        );
        for r in [pd, ps] {
            println!(
                "{:<28} {:>9} {:>9} {:>9} {:>12} {:>12} {:>12}   ({} ok, {} failed, {})",
                r.name,
                ms(percentile(&r.eod, 0.5)),
                ms(percentile(&r.eod, 0.99)),
                ms(r.eod.last().copied()),
                ms(percentile(&r.txn, 0.5)),
                ms(percentile(&r.txn, 0.99)),
                ms(r.txn.last().copied()),
                r.ok,
                r.failed,
                r.note.trim()
            );
        }
        let added = |q: f64, a: &[u32], b: &[u32]| match (percentile(a, q), percentile(b, q)) {
            (Some(x), Some(y)) => format!("{:.2}", (x as f64 - y as f64) / 1000.0),
            _ => "-".into(),
        };
        let p99_added = match (percentile(&ps.eod, 0.99), percentile(&pd.eod, 0.99)) {
            (Some(x), Some(y)) => (x as f64 - y as f64) / 1000.0,
            _ => f64::NAN,
        };
        println!(
            "  added by Sluice, end of DATA: p50 {} ms, p99 {} ms   (target p99 <= 5 ms: {})",
            added(0.5, &ps.eod, &pd.eod),
            added(0.99, &ps.eod, &pd.eod),
            verdict(p99_added <= 5.0)
        );
        println!(
            "  added by Sluice, whole transaction (MAIL..final reply, includes lock-step MAIL/RCPT): p50 {} ms, p99 {} ms",
            added(0.5, &ps.txn, &pd.txn),
            added(0.99, &ps.txn, &pd.txn)
        );
    }

    println!();
    println!("Memory (sluice process)");
    let mbk = |k: Option<u64>| k.map_or("-".into(), |k| format!("{:.1} MB", k as f64 / 1024.0));
    println!(
        "  peak RSS (VmHWM) after the throughput rounds: {}  (threads: {})",
        mbk(hwm_after_throughput),
        threads_after_throughput.map_or("-".into(), |t| t.to_string())
    );
    println!(
        "  peak RSS (VmHWM) after all load runs:         {}",
        mbk(hwm_after_load)
    );
    if let Some((n, errors, before, rss, threads, alive)) = &idle {
        let target = rss.map(|k| k as f64 / 1024.0 <= 100.0).unwrap_or(false);
        println!(
            "  RSS (VmRSS) with {} idle sessions: {}  (before opening them: {}; {} still open after 1 s; threads {})   (target <= 100 MB: {})",
            n,
            mbk(*rss),
            mbk(*before),
            alive,
            threads.map_or("-".into(), |t| t.to_string()),
            verdict(target)
        );
        if let (Some(a), Some(b)) = (rss, before) {
            println!(
                "  per idle session: {:.1} kB",
                (*a as f64 - *b as f64) / (*n).max(1) as f64
            );
        }
        if !errors.is_empty() {
            println!("  idle session errors: {errors:?}");
        }
    }
    if let Some(b) = &burst {
        b.print();
    }
    println!(
        "  peak RSS (VmHWM) at the end:                  {}",
        mbk(hwm_final)
    );
    println!();
    println!(
        "Sluice log: {sluice_relayed} \"message relayed\" lines, {problem_count} WARN/ERROR lines"
    );
    for p in problems.iter().take(5) {
        println!("  {p}");
    }
    Ok(())
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}
