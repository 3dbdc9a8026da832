//! Settings → certificate through the real binary: an administrator installs an uploaded chain
//! and key, and the admin port (and STARTTLS) present it at once, without a restart, with the
//! configuration file pointing at it and the change in the audit log; a key that does not belong
//! to the certificate changes nothing; an auditor sees the page but cannot install.

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::admin::{add_user, csrf_of, form, get, log_in, post};
use support::sluice::{Sluice, config};

const ADMIN_PW: &str = "the admin's long password";
const AUDITOR_PW: &str = "the auditor's long password";

fn pair(cn: &str) -> (String, String) {
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// The DER of the certificate the admin port presents (any certificate accepted: the test
/// compares it with what it uploaded).
fn presented(s: &Sluice) -> Vec<u8> {
    #[derive(Debug)]
    struct Any;
    impl rustls::client::danger::ServerCertVerifier for Any {
        fn verify_server_cert(
            &self,
            _: &rustls::pki_types::CertificateDer<'_>,
            _: &[rustls::pki_types::CertificateDer<'_>],
            _: &rustls::pki_types::ServerName<'_>,
            _: &[u8],
            _: rustls::pki_types::UnixTime,
        ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            _: &[u8],
            _: &rustls::pki_types::CertificateDer<'_>,
            _: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
        }
        fn verify_tls13_signature(
            &self,
            _: &[u8],
            _: &rustls::pki_types::CertificateDer<'_>,
            _: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
        }
        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            rustls::crypto::aws_lc_rs::default_provider()
                .signature_verification_algorithms
                .supported_schemes()
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Any))
        .with_no_client_auth();
    let mut tcp = std::net::TcpStream::connect(s.admin.unwrap()).unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).unwrap();
    }
    conn.peer_certificates().unwrap()[0].to_vec()
}

fn der(pem: &str) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes())
        .unwrap()
        .to_vec()
}

#[test]
fn an_uploaded_certificate_is_checked_and_served_without_a_restart() {
    let s = Sluice::start(&config(
        "",
        "mode = \"forward\"\nhosts = [\"127.0.0.1:9\"]",
        "[admin]\naddress = \"127.0.0.1:0\"\npublic_url = \"https://localhost\"\n",
    ));
    assert!(s.wait_log("admin UI serving", Duration::from_secs(10)));
    add_user(&s, "root", "administrator", ADMIN_PW);
    add_user(&s, "audrey", "auditor", AUDITOR_PW);
    let generated = presented(&s);
    let cookie = log_in(&s, "root", ADMIN_PW);
    let page = get(&s, "/settings/certificate", &cookie);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("self-signed"), "{}", page.body);
    let csrf = csrf_of(&page.body);
    let digest = page
        .body
        .split("name=\"digest\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    let action = format!("/settings/certificate?csrf={csrf}");

    // A key of another certificate: refused with the reason, nothing changes.
    let (cert, key) = pair("uploaded");
    let (_, other_key) = pair("other");
    let body = form(&[
        ("certificate", &cert),
        ("key", &other_key),
        ("digest", &digest),
    ]);
    let r = post(&s, &action, &body, &cookie);
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("does not belong"), "{}", r.body);
    assert_eq!(presented(&s), generated);

    // Without the CSRF token: 403.
    let body = form(&[("certificate", &cert), ("key", &key), ("digest", &digest)]);
    assert_eq!(
        post(&s, "/settings/certificate", &body, &cookie).status,
        403
    );

    // An auditor reads the page but cannot install.
    let auditor = log_in(&s, "audrey", AUDITOR_PW);
    let page = get(&s, "/settings/certificate", &auditor);
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("Check and install"));
    let r = post(&s, "/settings/certificate?csrf=x", &body, &auditor);
    assert_eq!(r.status, 403);

    // The good pair: installed and served by the next connection (this test's HTTPS client
    // trusts only the generated certificate: nothing below goes through it).
    let r = post(&s, &action, &body, &cookie);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(presented(&s), der(&cert));
    let file = std::fs::read_to_string(s.dir.path().join("sluice.toml")).unwrap();
    assert!(
        file.contains("cert_file = ") && file.contains("uploaded-"),
        "{file}"
    );
    let (code, out, _) = s.cli(&["events", "list", "--json", "--limit", "1000"]);
    assert_eq!(code, 0);
    assert!(out.contains("settings.certificate"), "{out}");
}
