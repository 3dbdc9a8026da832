//! `sluice siem test` against receivers written here: a TCP listener and a TLS listener (a
//! certificate made by the test with rcgen) that read what arrives until the connection closes.
//! The bytes must be one RFC 6587 octet-counted frame holding a system.siem.test event; a
//! receiver that is not there, and a TLS receiver whose certificate the anchors do not vouch
//! for, fail with exit status 1 and say why.

mod support;

use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Accepts one connection and returns everything read from it (until EOF or 10 s).
fn receiver(tls: Option<Arc<rustls::ServerConfig>>) -> (SocketAddr, JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut got = Vec::new();
        match tls {
            None => {
                let _ = (&tcp).read_to_end(&mut got);
            }
            Some(config) => {
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut s = rustls::StreamOwned::new(conn, tcp);
                let mut buf = [0u8; 4096];
                loop {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
            }
        }
        got
    });
    (addr, handle)
}

/// A self-signed certificate for 127.0.0.1 and localhost: its PEM and a server config with it.
fn certificate() -> (String, Arc<rustls::ServerConfig>) {
    let ck =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    let der: CertificateDer<'static> = ck.cert.der().clone();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![der], key)
    .unwrap();
    (ck.cert.pem(), Arc::new(config))
}

/// The one octet-counted frame in `bytes`, checked: `LEN SP MSG` with LEN the bytes of MSG.
fn one_frame(bytes: &[u8]) -> String {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let (len, msg) = text.split_once(' ').expect("MSG-LEN SP");
    assert!(
        len.bytes().all(|b| b.is_ascii_digit()) && !len.starts_with('0'),
        "{text}"
    );
    assert_eq!(len.parse::<usize>().unwrap(), msg.len(), "{text}");
    msg.to_string()
}

fn run(dir: &Path, config: &str, args: &[&str]) -> (i32, String, String) {
    let path = dir.join("sluice.toml");
    std::fs::write(&path, config).unwrap();
    let out = Command::new(support::sluice::binary())
        .args(["siem", "test", "--config", path.to_str().unwrap()])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn destination(name: &str, format: &str, transport: &str, addr: &str, extra: &str) -> String {
    format!(
        "[[siem]]\nname = \"{name}\"\nformat = \"{format}\"\ntransport = \"{transport}\"\naddress = \"{addr}\"\n{extra}\n"
    )
}

#[test]
fn tcp_and_tls_receivers_get_one_octet_counted_test_event() {
    let dir = tempfile::tempdir().unwrap();
    let (pem, server) = certificate();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &pem).unwrap();
    let (tcp_addr, tcp) = receiver(None);
    let (tls_addr, tls) = receiver(Some(server));
    let config = format!(
        "[server]\ndata_dir = \"{}\"\n\n{}\n{}",
        dir.path().join("data").display(),
        destination("plain", "rfc5424", "tcp", &tcp_addr.to_string(), ""),
        destination(
            "secure",
            "cef",
            "tls",
            &format!("localhost:{}", tls_addr.port()),
            &format!("ca_file = \"{}\"", ca.display())
        ),
    );
    let (code, out, err) = run(dir.path(), &config, &[]);
    assert_eq!(code, 0, "{out}\n{err}");

    let msg = one_frame(&tcp.join().unwrap());
    assert!(msg.starts_with('<'), "{msg}");
    assert!(msg.contains("system.siem.test"), "{msg}");
    let msg = one_frame(&tls.join().unwrap());
    assert!(msg.contains("CEF:0|"), "{msg}");
    assert!(msg.contains("|912|"), "{msg}");

    assert!(out.contains("plain: rfc5424 over tcp to "), "{out}");
    assert!(out.contains(&format!("connected: {tcp_addr}")), "{out}");
    assert!(out.contains("secure: cef over tls to localhost:"), "{out}");
    assert!(
        out.contains("tls: verified (TLSv1.3); subject: CN=rcgen self signed cert"),
        "{out}"
    );
    assert_eq!(out.matches("  written: ").count(), 2, "{out}");
    assert_eq!(out.matches("\n  ok\n").count(), 2, "{out}");
}

#[test]
fn a_missing_receiver_and_an_unverified_certificate_fail_and_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let (_, server) = certificate();
    let (other_pem, _) = certificate();
    let ca = dir.path().join("other.pem");
    std::fs::write(&ca, &other_pem).unwrap();
    let (tls_addr, tls) = receiver(Some(server));
    let closed = support::sluice::closed_addr("127.0.0.1".parse().unwrap());
    let config = format!(
        "[server]\ndata_dir = \"{}\"\n\n{}\n{}",
        dir.path().join("data").display(),
        destination("gone", "json", "tcp", &closed.to_string(), ""),
        destination(
            "untrusted",
            "rfc5424",
            "tls",
            &tls_addr.to_string(),
            &format!(
                "ca_file = \"{}\"\nserver_name = \"localhost\"",
                ca.display()
            )
        ),
    );
    let (code, out, err) = run(dir.path(), &config, &[]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains(&format!(
            "gone: json over tcp to {closed}\n  failed: cannot connect to"
        )),
        "{out}"
    );
    assert!(out.contains("untrusted: rfc5424 over tls to"), "{out}");
    assert!(out.contains("  failed: TLS with "), "{out}");
    assert!(!out.contains("written"), "{out}");
    assert!(tls.join().unwrap().is_empty(), "nothing is sent unverified");

    // --destination picks one; a name not configured is exit 2.
    let (code, out, _) = run(dir.path(), &config, &["--destination", "gone"]);
    assert_eq!(code, 1);
    assert!(!out.contains("untrusted"), "{out}");
    let (code, _, err) = run(dir.path(), &config, &["--destination", "nosuch"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no [[siem]] destination named \"nosuch\" (configured: gone, untrusted)"),
        "{err}"
    );
}

#[test]
fn a_receiver_that_asks_for_a_client_certificate_gets_the_configured_one() {
    let dir = tempfile::tempdir().unwrap();
    let client = rcgen::generate_simple_self_signed(vec!["sluice.example".into()]).unwrap();
    let (client_pem, client_key) = (client.cert.pem(), client.signing_key.serialize_pem());
    // The receiver trusts only that client certificate, and requires one.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(client.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let server = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let server_pem = server.cert.pem();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server.signing_key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![server.cert.der().clone()], key)
        .unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &server_pem).unwrap();
    let (cert, key) = (dir.path().join("client.pem"), dir.path().join("client.key"));
    std::fs::write(&cert, client_pem).unwrap();
    std::fs::write(&key, client_key).unwrap();

    let tls = |port: u16, extra: &str| {
        format!(
            "[server]\ndata_dir = \"{}\"\n\n{}",
            dir.path().join("data").display(),
            destination(
                "mtls",
                "rfc3164",
                "tls",
                &format!("localhost:{port}"),
                &format!("ca_file = \"{}\"\n{extra}", ca.display())
            )
        )
    };
    let client_keys = format!(
        "client_cert = \"{}\"\nclient_key = \"{}\"",
        cert.display(),
        key.display()
    );
    let (addr, got) = receiver(Some(Arc::new(config.clone())));
    let (code, out, err) = run(dir.path(), &tls(addr.port(), &client_keys), &[]);
    assert_eq!(code, 0, "{out}\n{err}");
    let msg = one_frame(&got.join().unwrap());
    assert!(msg.contains("system.siem.test"), "{msg}");

    // Without it the receiver refuses the handshake: nothing arrives.
    let (addr, got) = receiver(Some(Arc::new(config)));
    let (code, out, _) = run(dir.path(), &tls(addr.port(), ""), &[]);
    assert!(got.join().unwrap().is_empty(), "{out}");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("  failed: "), "{out}");
    assert!(out.to_lowercase().contains("certificate"), "{out}");
}
