//! Live reload through the real binary: `sluice reload` over the control socket and SIGHUP swap the
//! whole set built from the configuration file while mail flows (no transaction fails or is
//! dropped, each message is judged wholly by one set, the new set decides at once); a broken file
//! leaves the running set serving and prints `file:line:col`; the STARTTLS certificate, the
//! listener address and the policies change live; `sluice status` reports the server.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use support::client::{Client, message};
use support::sink::Sink;
use support::sluice::{Sluice, binary, forward_config};

const FROM: &str = "a@corp.example";
const TO: &str = "b@partner.example";
const MARKER: &str = "zzmarkerzz";

/// Set A blocks the marker; set B passes it (tagged). Each stamps every message it passes with
/// its own `X-Set`, so a message judged by a mix of both would show it.
fn policies(set: char) -> String {
    let marker = match set {
        'A' => "action = \"block\"\nreply = \"Blocked by set A\"".to_string(),
        _ => "action = \"modify\"\nheaders = [\"X-Marker: passed\"]".to_string(),
    };
    format!(
        "[[policy]]\nid = 1\nname = \"marker\"\nkeywords = [\"{MARKER}\"]\n{marker}\n\n[[policy]]\nid = 2\nname = \"stamp\"\nmatch = \"all-mail\"\naction = \"modify\"\nheaders = [\"X-Set: {set}\"]\n"
    )
}

/// `sluice <command> --data-dir <the server's>`: (exit code, stdout, stderr).
fn sluice_cli(sluice: &Sluice, args: &[&str]) -> (i32, String, String) {
    cli_at(&sluice.dir.path().join("data"), args)
}

/// `sluice <command> --data-dir <data>`: (exit code, stdout, stderr).
fn cli_at(data: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(binary())
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .output()
        .expect("run sluice");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes `config` over the server's file and asks for a reload; the CLI must succeed.
fn reload_to(sluice: &Sluice, config: &str) {
    write_config(sluice, config);
    let (code, out, err) = sluice_cli(sluice, &["reload"]);
    assert_eq!(code, 0, "reload failed: {out}{err}");
}

/// The server's config file, rewritten (with the admin section the harness adds).
fn write_config(sluice: &Sluice, config: &str) {
    let text = format!(
        "{config}\n[admin]\naddress = \"127.0.0.1:0\"\npublic_url = \"https://localhost\"\n"
    );
    std::fs::write(&sluice.config_path, text).expect("write config");
}

/// What one set decides about a marker message sent on `c`: 'A' (blocked) or 'B' (passed).
fn marker_decision(c: &mut Client, sink: &Sink, tag: &str) -> char {
    let r = c.send(FROM, &[TO], &message(tag, MARKER));
    match r.code {
        550 => {
            assert!(r.text.contains("set A"), "{r}");
            'A'
        }
        250 => {
            let m = at_sink(sink, tag);
            assert_eq!(m.headers("X-Set"), vec!["B".to_string()], "{tag}");
            'B'
        }
        _ => panic!("marker message {tag}: {r}"),
    }
}

/// The message with this Subject at the sink (waited for: relaying ends before the 250).
fn at_sink(sink: &Sink, subject: &str) -> support::sink::Received {
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        let found = sink
            .messages()
            .into_iter()
            .find(|m| m.header("Subject").as_deref() == Some(subject));
        match found {
            Some(m) => return m,
            None if Instant::now() < end => std::thread::sleep(Duration::from_millis(10)),
            None => panic!("{subject} was accepted but is not at the sink"),
        }
    }
}

/// Polls (fresh transactions on `c`) until the marker is decided by `set`, for at most 1 s.
fn decided_by_within_a_second(c: &mut Client, sink: &Sink, set: char, round: usize) -> bool {
    let end = Instant::now() + Duration::from_secs(1);
    let mut n = 0;
    loop {
        n += 1;
        if marker_decision(c, sink, &format!("probe-{round}-{n}")) == set {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
    }
}

/// One message the generator sent and what became of it.
struct Sent {
    subject: String,
    marker: bool,
    code: u16,
    text: String,
}

/// Sends continuously until `stop`, a few transactions per connection; every reply is recorded.
/// A lost connection panics the thread (the test then fails at join).
fn generator(addr: SocketAddr, id: usize, stop: Arc<AtomicBool>) -> Vec<Sent> {
    let mut sent = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let mut c = Client::connect(addr);
        c.ehlo();
        for _ in 0..4 {
            n += 1;
            let subject = format!("gen-{id}-{n}");
            let marker = n % 2 == 0;
            let body = if marker { MARKER } else { "plain text" };
            let r = c.send(FROM, &[TO], &message(&subject, body));
            sent.push(Sent {
                subject,
                marker,
                code: r.code,
                text: r.text,
            });
        }
        c.quit();
    }
    sent
}

#[test]
fn reload_under_load_swaps_whole_sets_without_failing_a_transaction() {
    let sink = Sink::start_default();
    let base = |set: char| forward_config(&[sink.addr], &policies(set));
    let sluice = Sluice::start(&base('A'));
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..3)
        .map(|id| {
            let stop = stop.clone();
            let addr = sluice.addr;
            std::thread::spawn(move || generator(addr, id, stop))
        })
        .collect();
    // A session opened before any reload: each new transaction on it must use the newest set.
    let mut probe = Client::connect(sluice.addr);
    probe.ehlo();
    assert_eq!(marker_decision(&mut probe, &sink, "probe-start"), 'A');
    for round in 0..20 {
        let set = if round % 2 == 0 { 'B' } else { 'A' };
        reload_to(&sluice, &base(set));
        assert!(
            decided_by_within_a_second(&mut probe, &sink, set, round),
            "round {round}: set {set} did not decide within 1 s of the reload's answer"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::Relaxed);
    let mut sent = Vec::new();
    for t in threads {
        sent.extend(
            t.join()
                .expect("a generator lost its connection or a reply"),
        );
    }
    probe.quit();
    let passed = sent.iter().filter(|s| s.code == 250).count();
    assert!(sent.len() >= 40, "the generator sent only {}", sent.len());
    sink.wait_for(passed, Duration::from_secs(10));
    for s in &sent {
        match s.code {
            550 => assert!(
                s.marker && s.text.contains("set A"),
                "{}: {} {}",
                s.subject,
                s.code,
                s.text
            ),
            250 => {
                let m = at_sink(&sink, &s.subject);
                let stamps = m.headers("X-Set");
                assert_eq!(stamps.len(), 1, "{}: {stamps:?}", s.subject);
                if s.marker {
                    // Passed, so set B judged it: its stamp must be B's too.
                    assert_eq!(stamps[0], "B", "{} was judged by a mix", s.subject);
                    assert_eq!(m.headers("X-Marker"), vec!["passed".to_string()]);
                }
            }
            _ => panic!(
                "{}: {} {} (no transaction may fail)",
                s.subject, s.code, s.text
            ),
        }
    }
    let reloads = sluice.count_logs("configuration reloaded");
    assert_eq!(reloads, 20);
}

#[test]
fn a_broken_policy_is_refused_with_its_place_and_the_old_set_keeps_serving() {
    let sink = Sink::start_default();
    let good = forward_config(&[sink.addr], &policies('A'));
    let sluice = Sluice::start(&good);
    let (_, before, _) = sluice_cli(&sluice, &["status", "--json"]);
    let broken = good.replace("action = \"block\"", "action = \"blok\"");
    write_config(&sluice, &broken);
    let (code, out, err) = sluice_cli(&sluice, &["reload"]);
    assert_eq!(code, 1, "{out}{err}");
    let line = broken
        .lines()
        .position(|l| l.contains("blok"))
        .expect("the broken line")
        + 1;
    let place = format!("sluice.toml:{line}:10: unknown action \"blok\"");
    assert!(err.contains(&place), "stderr must name {place}: {err}");
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    assert_eq!(marker_decision(&mut c, &sink, "after-broken"), 'A');
    let (_, after, _) = sluice_cli(&sluice, &["status", "--json"]);
    let digest = |s: &str| json(s)["config_digest"].as_str().map(str::to_string);
    assert_eq!(digest(&before), digest(&after));
    assert!(sluice.wait_log("reload refused", Duration::from_secs(5)));
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn sighup_reloads_the_configuration() {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&forward_config(&[sink.addr], &policies('A')));
    write_config(&sluice, &forward_config(&[sink.addr], &policies('B')));
    let pid = sluice.pid().expect("pid").to_string();
    let status = Command::new("kill").args(["-HUP", &pid]).status();
    assert!(status.expect("kill").success());
    assert!(
        sluice.wait_log("configuration reloaded", Duration::from_secs(10)),
        "{:?}",
        sluice.logs()
    );
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    assert_eq!(marker_decision(&mut c, &sink, "after-hup"), 'B');
}

#[test]
fn status_reports_the_running_server_and_fails_without_one() {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&forward_config(&[sink.addr], &policies('A')));
    let (code, out, err) = sluice_cli(&sluice, &["status", "--json"]);
    assert_eq!(code, 0, "{err}");
    let s = json(&out);
    assert_eq!(s["version"], env!("CARGO_PKG_VERSION"));
    assert!(s["uptime_seconds"].is_u64());
    assert_eq!(s["listeners"]["smtp"], sluice.addr.to_string());
    assert!(s["listeners"]["admin"].is_string());
    assert_eq!(s["policies"], serde_json::json!(["1", "2"]));
    assert_eq!(s["store"]["ok"], true);
    assert_eq!(s["reloads"], 0);
    let started = sluice.log_line(" listening addr=").expect("listening line");
    let digest = s["config_digest"].as_str().expect("digest");
    assert_eq!(digest.len(), 12);
    assert!(
        started.contains(&format!("config_digest={digest}")),
        "{started}"
    );
    let (code, out, _) = sluice_cli(&sluice, &["status"]);
    assert_eq!(code, 0);
    assert!(
        out.contains(&format!("listening: smtp {}", sluice.addr)),
        "{out}"
    );
    assert!(out.contains("store: ok"), "{out}");
    // With a new policy set the digest and the ids change.
    let more = policies('B').replace("id = 2", "id = 3");
    reload_to(&sluice, &forward_config(&[sink.addr], &more));
    let s = json(&sluice_cli(&sluice, &["status", "--json"]).1);
    assert_eq!(s["policies"], serde_json::json!(["1", "3"]));
    assert_ne!(s["config_digest"], digest);
    assert_eq!(s["reloads"], 1);

    let nowhere = tempfile::tempdir().expect("tempdir");
    for args in [&["status"][..], &["reload"][..]] {
        let out = Command::new(binary())
            .args(args)
            .arg("--data-dir")
            .arg(nowhere.path())
            .output()
            .expect("run sluice");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("no sluice server is running"), "{err}");
    }
}

#[test]
fn a_moved_listener_address_is_rebound_and_open_sessions_go_on() {
    let sink = Sink::start_default();
    let config = |addr: &str| {
        forward_config(&[sink.addr], &policies('A')).replace(
            "address = \"127.0.0.1:0\"",
            &format!("address = \"{addr}\""),
        )
    };
    let sluice = Sluice::start(&config("127.0.0.1:0"));
    let mut open = Client::connect(sluice.addr);
    open.ehlo();
    let new = support::sluice::closed_addr("127.0.0.1".parse().expect("ip"));
    reload_to(&sluice, &config(&new.to_string()));
    // The new address accepts; the old one no longer does.
    let mut c = Client::connect(new);
    c.ehlo();
    assert_eq!(c.send(FROM, &[TO], &message("via-new", "x")).code, 250);
    c.quit();
    assert!(std::net::TcpStream::connect(sluice.addr).is_err());
    // The session opened on the old address carries on.
    assert_eq!(open.send(FROM, &[TO], &message("via-old", "x")).code, 250);
    open.quit();
    let s = json(&sluice_cli(&sluice, &["status", "--json"]).1);
    assert_eq!(s["listeners"]["smtp"], new.to_string());
    let reply = sluice_cli(&sluice, &["reload"]).1;
    assert!(reply.contains("changed: (none)"), "{reply}");
}

/// A self-signed certificate for localhost: (cert PEM, key PEM).
fn certificate(name: &str) -> (String, String) {
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("names");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("cert");
    (cert.pem(), key.serialize_pem())
}

/// Writes a certificate pair into `dir` under `name`; the `[tls]` section naming it.
fn tls_section(dir: &Path, name: &str, pair: &(String, String)) -> String {
    let cert = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    std::fs::write(&cert, &pair.0).expect("write cert");
    std::fs::write(&key, &pair.1).expect("write key");
    format!(
        "[tls]\ncert_file = \"{}\"\nkey_file = \"{}\"\n",
        cert.display(),
        key.display()
    )
}

/// The certificate the server presents after STARTTLS on `c` (trusting both test certificates).
fn served_certificate(mut c: Client, trusted: &[&str]) -> Vec<u8> {
    c.ehlo();
    c.send_raw(b"STARTTLS\r\n");
    assert_eq!(c.read_reply().code, 220);
    c_handshake(c.into_tcp(), trusted)
}

/// The certificate the admin HTTPS port presents.
fn admin_certificate(sluice: &Sluice, trusted: &[&str]) -> Vec<u8> {
    let tcp = std::net::TcpStream::connect(sluice.admin.expect("admin port")).expect("connect");
    c_handshake(tcp, trusted)
}

/// The server certificate a TLS handshake over `tcp` shows (trusting `trusted`).
fn c_handshake(mut tcp: std::net::TcpStream, trusted: &[&str]) -> Vec<u8> {
    let mut roots = rustls::RootCertStore::empty();
    for pem in trusted {
        use rustls::pki_types::pem::PemObject;
        let der = rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).expect("pem");
        roots.add(der).expect("root");
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).expect("client");
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).expect("TLS handshake");
    }
    conn.peer_certificates().expect("a certificate")[0].to_vec()
}

fn der(pem: &str) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes())
        .expect("pem")
        .to_vec()
}

#[test]
fn the_starttls_certificate_changes_on_reload() {
    let sink = Sink::start_default();
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (certificate("cert-a"), certificate("cert-b"));
    let with = |tls: &str| forward_config(&[sink.addr], &format!("{tls}\n{}", policies('A')));
    let sluice = Sluice::start(&with(&tls_section(dir.path(), "a", &a)));
    let trusted = [a.0.as_str(), b.0.as_str()];
    assert_eq!(
        served_certificate(Client::connect(sluice.addr), &trusted),
        der(&a.0)
    );
    assert_eq!(admin_certificate(&sluice, &trusted), der(&a.0));
    // Connected before the reload, STARTTLS after it: the handshake uses the new certificate.
    let early = Client::connect(sluice.addr);
    reload_to(&sluice, &with(&tls_section(dir.path(), "b", &b)));
    assert_eq!(
        served_certificate(Client::connect(sluice.addr), &trusted),
        der(&b.0)
    );
    assert_eq!(served_certificate(early, &trusted), der(&b.0));
    // The admin port follows without a restart.
    assert_eq!(admin_certificate(&sluice, &trusted), der(&b.0));
}

#[test]
fn a_reload_rewrites_the_record_and_names_the_keys_that_need_a_restart() {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&forward_config(&[sink.addr], &policies('A')));
    // The file changed under the running server: a store command that judges refuses.
    let edited = format!(
        "{}\n[store]\nmax_size = 2147483648\n",
        forward_config(&[sink.addr], &policies('B'))
    );
    write_config(&sluice, &edited);
    let judge = || {
        let out = Command::new(binary())
            .args(["quarantine", "rescan", "1"])
            .arg("--data-dir")
            .arg(sluice.dir.path().join("data"))
            .output()
            .expect("run sluice");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let before = judge();
    assert!(before.contains("sluice reload"), "{before}");
    let (code, out, err) = sluice_cli(&sluice, &["reload"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("changed: policy"), "{out}");
    assert!(
        out.contains("restart needed: store.max_size (the store is opened once)"),
        "{out}"
    );
    assert!(
        err.contains("store.max_size changed and needs a restart"),
        "{err}"
    );
    assert!(sluice.wait_log("needs a restart", Duration::from_secs(5)));
    let logged = sluice.log_line("needs a restart").expect("logged");
    assert!(logged.contains("store.max_size"), "{logged}");
    // The record names the file as it is now: the store commands judge with it again.
    let after = judge();
    assert!(!after.contains("changed since the server"), "{after}");
}

/// `sluice edm import --name customers` of `csv` into `data`.
fn import_edm(data: &Path, csv: &str) {
    let file = data.with_extension("csv");
    std::fs::write(&file, csv).expect("write csv");
    let out = Command::new(binary())
        .args(["edm", "import", "--name", "customers", "--data-dir"])
        .arg(data)
        .arg(&file)
        .output()
        .expect("run sluice");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_reimported_edm_index_is_used_after_a_reload() {
    let sink = Sink::start_default();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    import_edm(
        &data,
        "name,email,ssn\nBob Jones,bob@example.org,987-65-4321\n",
    );
    let policy = "[[policy]]\nid = 9\naction = \"block\"\nreply = \"customer data\"\n[[policy.rule]]\nconditions = [{ edm = \"customers\", columns = 2 }]\n";
    let sluice = Sluice::start_with_data(&forward_config(&[sink.addr], policy), &data);
    let body = "Wei Zhang, wei@example.net, 111-22-3333";
    let send = |subject: &str| {
        let mut c = Client::connect(sluice.addr);
        c.ehlo();
        let r = c.send(FROM, &[TO], &message(subject, body));
        c.quit();
        r
    };
    assert_eq!(send("before").code, 250);
    let (_, before, _) = cli_at(&data, &["status", "--json"]);
    import_edm(
        &data,
        "name,email,ssn\nWei Zhang,wei@example.net,111-22-3333\n",
    );
    let (code, out, err) = cli_at(&data, &["reload"]);
    assert_eq!(code, 0, "{out}{err}");
    let r = send("after");
    assert_eq!(r.code, 550, "{r}");
    assert!(r.text.contains("customer data"), "{r}");
    let (_, after, _) = cli_at(&data, &["status", "--json"]);
    let policies = |s: &str| json(s)["policies_digest"].as_str().map(str::to_string);
    assert_ne!(
        policies(&before),
        policies(&after),
        "a new index is a new policy set"
    );
}
