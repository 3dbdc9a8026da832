//! Several SMTP listeners through the real binary on loopback: `[[listener]]` tables side by side
//! (own names, ports, allowed clients), STARTTLS required on one and its own certificate presented,
//! a reload that adds one and removes another (the removed port refuses, its open session goes on),
//! and the queue switches: `sluice queue reject|accept` at connect on gateway listeners, `sluice
//! queue pause|resume` holding back the delivery queue.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;

use support::client::{Client, message};
use support::sink::Sink;
use support::sluice::{Sluice, hosts_relay, listeners_config};

const FROM: &str = "a@corp.example";
const TO: &str = "b@partner.example";

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

/// The greeting a new connection to `addr` gets once it starts with `code` (the switches are read
/// at most once a second), or panics after 20 s.
fn greeting_becomes(addr: SocketAddr, code: &str) -> String {
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let c = Client::connect(addr);
        if c.greeting.starts_with(code) {
            return c.greeting;
        }
        assert!(Instant::now() < end, "still {:?}", c.greeting);
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn two_listeners_answer_side_by_side_each_with_its_own_clients() {
    let sink = Sink::start_default();
    let config = listeners_config(
        &[
            ("inbound", "allowed_clients = [\"127.0.0.1/32\"]"),
            ("partners", "allowed_clients = [\"127.0.0.2/32\"]"),
        ],
        &hosts_relay(&[sink.addr]),
        "",
    );
    let sluice = Sluice::start(&config);
    let (inbound, partners) = (sluice.listener("inbound"), sluice.listener("partners"));
    assert_ne!(inbound.port(), partners.port());
    assert_eq!(
        sluice.addr, inbound,
        "the first listener is the `listening` one"
    );

    let mut c = Client::connect_from("127.0.0.1".parse().unwrap(), inbound);
    c.ehlo();
    assert_eq!(c.send(FROM, &[TO], &message("via-inbound", "x")).code, 250);
    c.quit();
    let refused = Client::connect_from("127.0.0.1".parse().unwrap(), partners);
    assert!(refused.greeting.starts_with("554"), "{}", refused.greeting);
    let mut c = Client::connect_from("127.0.0.2".parse().unwrap(), partners);
    c.ehlo();
    assert_eq!(c.send(FROM, &[TO], &message("via-partners", "x")).code, 250);
    c.quit();
    let refused = Client::connect_from("127.0.0.2".parse().unwrap(), inbound);
    assert!(refused.greeting.starts_with("554"), "{}", refused.greeting);
    let got = sink.wait_for(2, Duration::from_secs(20));
    assert_eq!(got.len(), 2);

    let (code, out, err) = sluice.control(&["status"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("listener inbound: inline on {inbound}")),
        "{out}"
    );
    assert!(
        out.contains(&format!("listener partners: inline on {partners}")),
        "{out}"
    );
    let (code, out, err) = sluice.control(&[
        "check-config",
        "--config",
        sluice.config_path.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("[[listener]]\n  name = inbound"), "{out}");
    assert!(out.contains("[[listener]]\n  name = partners"), "{out}");
}

#[test]
fn starttls_required_gives_530_before_tls_and_each_listener_presents_its_certificate() {
    let sink = Sink::start_default();
    let own = certificate("own");
    let (cert, key) = (
        tempfile::NamedTempFile::new().unwrap(),
        tempfile::NamedTempFile::new().unwrap(),
    );
    std::fs::write(cert.path(), &own.0).unwrap();
    std::fs::write(key.path(), &own.1).unwrap();
    let secure = format!(
        "starttls = \"require\"\ncert_file = \"{}\"\nkey_file = \"{}\"",
        cert.path().display(),
        key.path().display()
    );
    let config = listeners_config(
        &[("secure", &secure), ("plain", "")],
        // The sink offers no STARTTLS: the next hop is reached in plaintext.
        &format!("{}\nstarttls = \"never\"", hosts_relay(&[sink.addr])),
        "[server]\nhostname = \"localhost\"\n",
    );
    let sluice = Sluice::start(&config);

    let mut c = Client::connect(sluice.listener("secure"));
    c.ehlo();
    let r = c.cmd(&format!("MAIL FROM:<{FROM}>"));
    assert_eq!(r.code, 530, "{r}");
    assert!(
        r.text.contains("5.7.0 Must issue a STARTTLS command first"),
        "{r}"
    );
    // Trusting only the listener's own certificate: the handshake shows it is the one presented.
    let mut c = c.starttls(&own.0, "localhost");
    c.ehlo();
    assert_eq!(c.send(FROM, &[TO], &message("over-tls", "x")).code, 250);
    c.quit();

    // The other listener takes plaintext mail and presents the [tls] (generated) certificate.
    let mut c = Client::connect(sluice.listener("plain"));
    c.ehlo();
    assert_eq!(c.send(FROM, &[TO], &message("plaintext", "x")).code, 250);
    let mut c = c.starttls(&sluice.cert_pem(), "localhost");
    c.ehlo();
    assert_eq!(c.send(FROM, &[TO], &message("plain-tls", "x")).code, 250);
    c.quit();
    assert_eq!(sink.wait_for(3, Duration::from_secs(20)).len(), 3);
    // The admin port keeps the [tls] certificate, though the first listener has its own.
    let admin = std::net::TcpStream::connect(sluice.admin.expect("admin port")).unwrap();
    let presented = handshake(admin, &[&own.0, &sluice.cert_pem()]);
    let generated = rustls::pki_types::CertificateDer::from_pem_slice(sluice.cert_pem().as_bytes());
    assert!(
        presented == generated.expect("pem").to_vec(),
        "the admin port presents the first listener's own certificate"
    );
}

/// The server certificate a TLS handshake over `tcp` shows (trusting `trusted`, for localhost).
fn handshake(mut tcp: std::net::TcpStream, trusted: &[&str]) -> Vec<u8> {
    let mut roots = rustls::RootCertStore::empty();
    for pem in trusted {
        let der = rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).expect("pem");
        roots.add(der).expect("root");
    }
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut conn =
        rustls::ClientConnection::new(std::sync::Arc::new(config), name).expect("client");
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).expect("TLS handshake");
    }
    conn.peer_certificates().expect("a certificate")[0].to_vec()
}

#[test]
fn a_reload_adds_a_listener_and_removes_one_whose_open_session_goes_on() {
    let sink = Sink::start_default();
    let relay = hosts_relay(&[sink.addr]);
    let sluice = Sluice::start(&listeners_config(&[("main", ""), ("old", "")], &relay, ""));
    let old = sluice.listener("old");
    let mut open = Client::connect(old);
    open.ehlo();

    let next = listeners_config(&[("main", ""), ("new", "mode = \"inline\"")], &relay, "");
    let text =
        format!("{next}\n[admin]\naddress = \"127.0.0.1:0\"\npublic_url = \"https://localhost\"\n");
    std::fs::write(&sluice.config_path, text).unwrap();
    let (code, out, err) = sluice.control(&["reload"]);
    assert_eq!(code, 0, "{out}{err}");
    let new = sluice.listener("new");
    let mut c = Client::connect(new);
    c.ehlo();
    assert_eq!(c.send(FROM, &[TO], &message("via-new", "x")).code, 250);
    c.quit();
    // The kept listener kept its socket (port 0 is not bound anew).
    assert_eq!(sluice.listener_binds("main"), 1);
    assert_eq!(sluice.listener("main"), sluice.addr);
    assert!(
        std::net::TcpStream::connect(old).is_err(),
        "the removed port still accepts"
    );
    assert_eq!(open.send(FROM, &[TO], &message("via-old", "x")).code, 250);
    open.quit();
    assert_eq!(sink.wait_for(2, Duration::from_secs(20)).len(), 2);

    // A bad reload (an address in use) keeps the running set.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let bad = listeners_config(
        &[
            ("main", ""),
            ("new", ""),
            (
                "third",
                &format!("address = \"{}\"", taken.local_addr().unwrap()),
            ),
        ],
        &relay,
        "",
    );
    std::fs::write(&sluice.config_path, bad).unwrap();
    let (code, out, err) = sluice.control(&["reload"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(format!("{out}{err}").contains("cannot bind"), "{out}{err}");
    let mut c = Client::connect(new);
    c.ehlo();
    c.quit();
}

#[test]
fn reject_refuses_gateway_listeners_at_connect_until_accept() {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&listeners_config(
        &[("inline", ""), ("gateway", "mode = \"gateway\"")],
        &hosts_relay(&[sink.addr]),
        "",
    ));
    let (inline, gateway) = (sluice.listener("inline"), sluice.listener("gateway"));
    assert!(Client::connect(gateway).greeting.starts_with("220"));
    let (code, out, err) = sluice.cli(&["queue", "reject", "--actor", "ops"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("rejecting"), "{out}");
    let greeting = greeting_becomes(gateway, "421");
    assert!(
        greeting.contains("4.3.2")
            && greeting.contains("not accepting messages now, try again later"),
        "{greeting}"
    );
    // In-line listeners are not affected.
    assert!(Client::connect(inline).greeting.starts_with("220"));
    let (code, out, err) = sluice.cli(&["queue", "accept", "--actor", "ops"]);
    assert_eq!(code, 0, "{out}{err}");
    greeting_becomes(gateway, "220");
    // Both changes are in the event outbox as admin.change.
    let (_, events, _) = sluice.cli(&["events", "list", "--json"]);
    let changes = events
        .lines()
        .filter(|l| l.contains("admin.change") && l.contains("queue."))
        .count();
    assert_eq!(changes, 2, "{events}");
}

#[test]
fn pause_keeps_a_released_message_in_the_queue_until_resume() {
    let sink = Sink::start_default();
    let policy = "[[policy]]\nid = 300\nname = \"Hold falcon\"\naction = \"quarantine\"\nkeywords = [\"falcon\"]\n";
    let sluice = Sluice::start(&listeners_config(
        &[("smtp", "")],
        &hosts_relay(&[sink.addr]),
        policy,
    ));
    let (code, out, err) = sluice.cli(&["queue", "pause"]);
    assert_eq!(code, 0, "{out}{err}");
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let r = c.send(FROM, &[TO], &message("falcon-plan", "the falcon plan"));
    c.quit();
    assert!(r.text.contains("held as 1"), "{r}");
    let (code, out, err) = sluice.cli(&["quarantine", "release", "1"]);
    assert_eq!(code, 0, "{out}{err}");
    // Several rounds of the worker (it looks at least once a second) deliver nothing.
    std::thread::sleep(Duration::from_secs(3));
    assert!(sink.messages().is_empty(), "delivered while paused");
    let (code, out, err) = sluice.cli(&["queue", "resume"]);
    assert_eq!(code, 0, "{out}{err}");
    let got = sink.wait_for(1, Duration::from_secs(20));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].header("Subject").as_deref(), Some("falcon-plan"));
}
