//! A server certificate as the admin sees it and as an upload is checked: what it says (subject,
//! issuer, names, validity) and whether a PEM chain and key form a pair the server can use. Pure:
//! bytes and the time in, values out.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Serialize;

/// What a certificate says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Info {
    pub subject: String,
    pub issuer: String,
    /// The DNS names and addresses it is valid for (subject alternative names).
    pub names: Vec<String>,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    /// Issued by itself (the generated one, or an upload without a CA).
    pub self_signed: bool,
    /// Certificates in the chain, the server's own first.
    pub chain: usize,
}

impl Info {
    /// Whole days from `now` until it expires (negative: expired).
    pub fn days_left(&self, now: u64) -> i64 {
        (self.not_after - now as i64).div_euclid(86_400)
    }

    /// Whether `host` is among its names (a `*.` name covers one label).
    pub fn covers(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.names.iter().any(|n| {
            let n = n.to_ascii_lowercase();
            match n.strip_prefix("*.") {
                Some(rest) => host
                    .split_once('.')
                    .is_some_and(|(first, tail)| !first.is_empty() && tail == rest),
                None => n == host,
            }
        })
    }
}

/// The chain in `pem` (at least one certificate), or why not.
pub fn chain(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .map(|c| c.map(CertificateDer::into_owned))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the certificate is not valid PEM: {e}"))?;
    if certs.is_empty() {
        return Err("no certificate found (expected -----BEGIN CERTIFICATE-----)".into());
    }
    Ok(certs)
}

/// What the first certificate of `pem` says.
pub fn info(pem: &[u8]) -> Result<Info, String> {
    let certs = chain(pem)?;
    let (_, cert) = x509_parser::parse_x509_certificate(&certs[0])
        .map_err(|e| format!("the certificate does not parse: {e}"))?;
    let names = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .filter_map(|g| match g {
                    x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_string()),
                    x509_parser::extensions::GeneralName::IPAddress(b) => ip(b),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Info {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        names,
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        self_signed: cert.subject() == cert.issuer(),
        chain: certs.len(),
    })
}

fn ip(b: &[u8]) -> Option<String> {
    match b.len() {
        4 => Some(std::net::Ipv4Addr::from(<[u8; 4]>::try_from(b).ok()?).to_string()),
        16 => Some(std::net::Ipv6Addr::from(<[u8; 16]>::try_from(b).ok()?).to_string()),
        _ => None,
    }
}

/// Checks an uploaded chain and key at `now`: both parse, the key belongs to the certificate (the
/// server config rustls builds from them), and the certificate is valid now. Returns what it says.
pub fn check_pair(cert_pem: &[u8], key_pem: &[u8], now: u64) -> Result<Info, String> {
    let certs = chain(cert_pem)?;
    let info = info(cert_pem)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|_| "no usable private key found (expected PEM: -----BEGIN PRIVATE KEY----- or an RSA / EC key)".to_string())?;
    rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| format!("the key does not belong to the certificate, or cannot be used: {e}"))?;
    let now = now as i64;
    if now > info.not_after {
        return Err("the certificate has expired".into());
    }
    if now < info.not_before {
        return Err("the certificate is not valid yet".into());
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    //! Pairs that match, keys that do not, dates, names and garbage.
    use super::*;

    fn pair(names: &[&str]) -> (String, String) {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let params = rcgen::CertificateParams::new(names).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    #[test]
    fn a_matching_pair_passes_and_says_what_it_is() {
        let (cert, key) = pair(&["mail.example.com", "*.corp.example"]);
        let now = 1_800_000_000;
        let i = check_pair(cert.as_bytes(), key.as_bytes(), now).expect("a good pair");
        assert_eq!(i.names, vec!["mail.example.com", "*.corp.example"]);
        assert!(i.self_signed && i.chain == 1);
        assert!(i.covers("MAIL.example.com") && i.covers("a.corp.example"));
        assert!(!i.covers("a.b.corp.example") && !i.covers("corp.example"));
        assert!(i.days_left(i.not_after as u64 - 86_400 * 3) == 3);
    }

    #[test]
    fn another_key_garbage_and_expiry_are_refused() {
        let (cert, _) = pair(&["a.example"]);
        let (_, other_key) = pair(&["a.example"]);
        let e = check_pair(cert.as_bytes(), other_key.as_bytes(), 1_800_000_000).unwrap_err();
        assert!(e.contains("does not belong"), "{e}");
        let e = check_pair(b"hello", other_key.as_bytes(), 1_800_000_000).unwrap_err();
        assert!(e.contains("no certificate"), "{e}");
        let (cert, key) = pair(&["a.example"]);
        let e = check_pair(
            cert.as_bytes(),
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n",
            1_800_000_000,
        )
        .unwrap_err();
        assert!(e.contains("private key"), "{e}");
        let far = 70_000_000_000; // rcgen's default validity ends in 4096
        let e = check_pair(cert.as_bytes(), key.as_bytes(), far).unwrap_err();
        assert!(e.contains("expired"), "{e}");
    }
}
