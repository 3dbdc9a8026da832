//! Admin UI and JSON API benchmark (issue 13). One run measures and prints one report (see
//! BENCHMARKS.md):
//!
//!     cargo build --release && cargo bench --bench admin --no-run
//!     target/.../release/deps/admin-<hash> --sluice target/x86_64-unknown-linux-gnu/release/sluice \
//!         [--incidents 1000000] [--held 100000] [--events 1000000] [--rounds 30] [--dir PATH]
//!
//! A data directory is filled through the store's own API with `--incidents` incidents (spread
//! over 30 days, ten policies, four severities), `--held` held messages (2 KB each) and
//! `--events` messages' final dispositions in the event outbox (spread over 30 days, indexed for
//! tracking and counted for the dashboard and reports as the proxy's would be); an
//! administrator and an API token are made with `sluice user add` and `sluice token create`; then
//! `sluice serve` runs on it and every page and API call is requested `--rounds` times over HTTPS
//! (one request per connection, as the server serves them). What is measured is the server's own
//! time for the request, from the `Server-Timing` header the handler reports (the goal: < 100 ms
//! for each), and the whole round trip as the client sees it; the peer in the same run is the
//! port's floor, `/healthz` (TLS, HTTP, the gate: no store), whose round trip every other request
//! is put in ratio to. Nothing here asserts a timing.

mod support;

#[path = "common/records.rs"]
mod records;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice::store::{Mode, Options, Store, held, incidents};

use support::procs::Sluice;

struct Opts {
    sluice: PathBuf,
    incidents: u64,
    held: u64,
    events: u64,
    rounds: usize,
    dir: Option<PathBuf>,
}

fn opts() -> Opts {
    let mut o = Opts {
        sluice: PathBuf::from("target/x86_64-unknown-linux-gnu/release/sluice"),
        incidents: 1_000_000,
        held: 100_000,
        events: 1_000_000,
        rounds: 30,
        dir: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().unwrap_or_default();
        match k.as_str() {
            "--sluice" => o.sluice = PathBuf::from(v()),
            "--incidents" => o.incidents = v().parse().unwrap_or(o.incidents),
            "--held" => o.held = v().parse().unwrap_or(o.held),
            "--events" => o.events = v().parse().unwrap_or(o.events),
            "--rounds" => o.rounds = v().parse().unwrap_or(o.rounds),
            "--dir" => o.dir = Some(PathBuf::from(v())),
            _ => {}
        }
    }
    o
}

/// Fills `<data>/store` as the server would find it; returns an incident id and a held id.
fn fill(data: &Path, o: &Opts, now: u64) -> (u64, u64) {
    let defaults = sluice::config::Config::embedded().expect("embedded defaults");
    let options = Options {
        max_size: defaults.store.max_size,
    };
    let caps = defaults.store.caps();
    let store = Store::open_as(&data.join("store"), &options, Mode::Serve).expect("open store");
    let t = Instant::now();
    let mut i = 0;
    while i < o.incidents {
        let (from, to, n) = (i, (i + 10_000).min(o.incidents), o.incidents);
        store
            .write_blocking(move |txn| {
                for k in from..to {
                    incidents::record(txn, records::incident(k, n, now), None, 0)?;
                }
                Ok(())
            })
            .expect("load incidents");
        i = to;
    }
    let body = Arc::new(small_message());
    let mut i = 0;
    while i < o.held {
        let (from, to, body) = (i, (i + 1_000).min(o.held), body.clone());
        store
            .write_blocking(move |txn| {
                for k in from..to {
                    let mut rec = records::held_record(k, now - 86_400 + k % 86_400);
                    rec.size = body.len() as u64;
                    held::insert(txn, rec, &body, caps)?;
                }
                Ok(())
            })
            .expect("load held messages");
        i = to;
    }
    let mut i = 0;
    while i < o.events {
        let (from, to, n) = (i, (i + 10_000).min(o.events), o.events);
        store
            .write_blocking(move |txn| {
                for k in from..to {
                    let (at, kind, fields) = records::message_event(k, n, now);
                    sluice::store::events::append(txn, at, kind, fields)?;
                }
                Ok(())
            })
            .expect("load message events");
        i = to;
    }
    eprintln!(
        "[admin] filled {} incidents, {} held messages and {} message events in {:.0} s; store {:.0} MB",
        o.incidents,
        o.held,
        o.events,
        t.elapsed().as_secs_f64(),
        store.disk_size() as f64 / 1e6
    );
    store.close();
    (o.incidents / 2, o.held / 2)
}

fn small_message() -> Vec<u8> {
    let mut m =
        b"From: <user@corp.example>\r\nTo: <r@partner.example>\r\nSubject: held\r\n\r\n".to_vec();
    while m.len() < 2048 {
        m.extend_from_slice(b"Card 4111 1111 1111 1111, quarterly numbers attached.\r\n");
    }
    m
}

/// Runs a `sluice` command on the bench's data directory; its stdout.
fn cli(o: &Opts, data: &Path, args: &[&str]) -> String {
    let out = Command::new(&o.sluice)
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .output()
        .expect("run sluice");
    assert!(
        out.status.success(),
        "sluice {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// One HTTPS request on its own connection: status, headers, body length, round trip.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    bytes: usize,
    took: Duration,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The handler's time from `Server-Timing: app;dur=MS`.
    fn server_ms(&self) -> Option<f64> {
        self.header("server-timing")?
            .strip_prefix("app;dur=")?
            .parse()
            .ok()
    }
}

fn tls_config(data: &Path) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    let pem = std::fs::read(data.join("tls/cert.pem")).expect("the generated certificate");
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(c.expect("pem")).expect("root");
    }
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

fn request(tls: &Arc<rustls::ClientConfig>, addr: SocketAddr, head: &str, body: &str) -> Reply {
    let start = Instant::now();
    let tcp = TcpStream::connect(addr).expect("connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let conn = rustls::ClientConnection::new(tls.clone(), name).expect("client");
    let mut s = rustls::StreamOwned::new(conn, tcp);
    let req = format!(
        "{head}Host: localhost\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("write");
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let took = start.elapsed();
    let text = String::from_utf8_lossy(&raw);
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Reply {
        status,
        headers,
        bytes: rest.len(),
        took,
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let o = opts();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let base = o.dir.clone().unwrap_or_else(std::env::temp_dir);
    let work = tempfile::tempdir_in(&base).expect("tempdir");
    let data = work.path().join("data");
    let (incident, held_id) = fill(&data, &o, now);

    let listen = SocketAddr::from(([127, 0, 0, 1], support::free_port()));
    let config = format!(
        "[server]\nhostname = \"sluice.bench.example\"\n[listener]\naddress = \"{listen}\"\n[relay]\nmode = \"forward\"\nhosts = [\"127.0.0.1:9\"]\n[admin]\naddress = \"127.0.0.1:0\"\npublic_url = \"https://localhost\"\n"
    );
    let password = "bench-password-0123";
    std::fs::write(work.path().join("pw"), password).expect("password file");
    let pw = work.path().join("pw").display().to_string();
    cli(
        &o,
        &data,
        &[
            "user",
            "add",
            "bench",
            "--role",
            "administrator",
            "--password-file",
            &pw,
        ],
    );
    let token = cli(&o, &data, &["token", "create", "--user", "bench"]);

    let sluice = Sluice::start_in(&o.sluice, listen, &config, "info", Some(&data)).expect("sluice");
    let admin: SocketAddr = sluice
        .early_line("admin UI serving")
        .and_then(|l| {
            l.split("admin_addr=")
                .nth(1)
                .map(|s| s.split_whitespace().next().unwrap_or("").to_string())
        })
        .and_then(|a| a.parse().ok())
        .expect("the admin address in the log");
    let tls = tls_config(&data);
    let login = request(
        &tls,
        admin,
        "POST /login HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n",
        &format!("user=bench&password={password}"),
    );
    let cookie = login
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("a session cookie from /login")
        .to_string();

    let today = &sluice::units::time::format(now)[..10];
    let month = &sluice::units::time::format(now - 30 * 86_400)[..10];
    let pages: Vec<(String, bool)> = [
        ("/healthz".to_string(), false),
        ("/".into(), false),
        ("/incidents".into(), false),
        (
            "/incidents?severity=critical&recipient=%40home.example".into(),
            false,
        ),
        ("/incidents?status=new&policy=130".into(), false),
        (format!("/incidents/{incident}"), false),
        ("/quarantine".into(), false),
        ("/quarantine?sender=user40%40corp.example".into(), false),
        (format!("/quarantine/{held_id}"), false),
        ("/tracking".into(), false),
        ("/tracking?sender=user40%40corp.example".into(), false),
        (
            "/tracking?recipient=%40home.example&outcome=quarantined".into(),
            false,
        ),
        ("/tracking?subject=numbers+4999&since=7d".into(), false),
        (format!("/tracking/GUID-{:08}", o.events / 2), false),
        ("/reports".into(), false),
        (
            format!("/reports?report=summary&from={month}&to={today}"),
            false,
        ),
        (
            format!("/reports?report=detail&from={today}&to={today}"),
            false,
        ),
        (
            format!("/reports/csv?report=detail&from={today}&to={today}"),
            false,
        ),
        (
            format!("/reports/csv?report=summary&from={month}&to={today}"),
            false,
        ),
        ("/policies".into(), false),
        ("/settings".into(), false),
        ("/settings/siem".into(), false),
        ("/settings/certificate".into(), false),
        ("/config/history".into(), false),
        ("/users".into(), false),
        ("/account".into(), false),
        ("/audit".into(), false),
        ("/api/v1/incidents".into(), true),
        ("/api/v1/incidents?severity=critical".into(), true),
        (format!("/api/v1/incidents/{incident}"), true),
        ("/api/v1/quarantine".into(), true),
        ("/api/v1/whoami".into(), true),
        ("/api/v1/status".into(), true),
        ("/api/v1/policies".into(), true),
        ("/api/v1/settings".into(), true),
        ("/api/v1/config/history".into(), true),
        ("/api/v1/users".into(), true),
        ("/api/v1/tokens".into(), true),
        ("/api/v1/audit".into(), true),
        ("/api/v1/certificate".into(), true),
        ("/api/v1/tracking?sender=user40%40corp.example".into(), true),
        (format!("/api/v1/tracking/GUID-{:08}", o.events / 2), true),
        (
            format!("/api/v1/reports/summary?from={month}&to={today}"),
            true,
        ),
        (
            format!("/api/v1/reports/detail?from={today}&to={today}"),
            true,
        ),
    ]
    .into_iter()
    .collect();
    println!(
        "\n## Admin UI and API over {} incidents, {} held messages and {} message events, {} requests each\n",
        o.incidents, o.held, o.events, o.rounds
    );
    println!(
        "| request | status | bytes | server p50 | server p99 | round trip p50 | / healthz round trip |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut floor = None;
    for (path, api) in &pages {
        let auth = if *api {
            format!("Authorization: Bearer {token}\r\n")
        } else {
            format!("Cookie: {cookie}\r\n")
        };
        let head = format!("GET {path} HTTP/1.1\r\n{auth}");
        let mut server = Vec::new();
        let mut trip = Vec::new();
        let mut last = None;
        for _ in 0..o.rounds {
            let r = request(&tls, admin, &head, "");
            server.push(r.server_ms().unwrap_or(f64::NAN));
            trip.push(r.took.as_secs_f64() * 1e3);
            last = Some(r);
        }
        let last = last.expect("one round");
        server.sort_by(f64::total_cmp);
        trip.sort_by(f64::total_cmp);
        let p50 = percentile(&trip, 0.5);
        let floor = *floor.get_or_insert(p50);
        println!(
            "| `{path}` | {} | {} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} |",
            last.status,
            last.bytes,
            percentile(&server, 0.5),
            percentile(&server, 0.99),
            p50,
            p50 / floor
        );
    }
    println!("\n{}", support::machine_noise());
}
