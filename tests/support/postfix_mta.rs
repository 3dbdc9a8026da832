//! Postfix as a plain MTA for the gateway's interop tests (`tests/postfix_gateway.rs`): a private
//! instance of `support::postfix` (its own directories, loopback ports, maillog, stopped on drop)
//! without a content filter, in one of the two places a gateway sits between:
//!
//! - the organisation's internal server: mail it cannot deliver itself goes to the gateway
//!   (`relayhost = [127.0.0.1]:<gateway>`) with its own client TLS level
//!   (`smtp_tls_security_level = encrypt`), and mail for its domains goes where `transports` say
//!   (a test sink standing in for its mailboxes);
//! - a server on the "Internet": it offers STARTTLS with a generated certificate and hands what it
//!   receives to its relay host (the recipient's mailbox sink).
//!
//! Both log their TLS sessions (`smtp(d)_tls_loglevel = 1`) and put the TLS session of their
//! server side in the `Received:` field (`smtpd_tls_received_header = yes`).
#![allow(dead_code)]

use std::net::SocketAddr;

use super::postfix::{Postfix, PostfixConfig, free_port, self_signed};

/// What one MTA does.
pub struct MtaConfig {
    /// Its `myhostname`.
    pub hostname: String,
    /// Where the mail it does not route itself goes.
    pub relayhost: SocketAddr,
    /// `smtp_tls_security_level` of its client side (`none`, `may`, `encrypt`, ...).
    pub client_tls: String,
    /// `(domain, host:port)`: mail for `domain` goes to that SMTP server (`transport_maps`).
    pub transports: Vec<(String, SocketAddr)>,
}

/// A running MTA with the certificate its server side offers.
pub struct Mta {
    pub postfix: Postfix,
    /// Its STARTTLS certificate (PEM, self-signed for 127.0.0.1 and `hostname`): the anchor a
    /// client that verifies it needs.
    pub cert_pem: String,
}

impl Mta {
    /// Starts it with STARTTLS offered on its main listener.
    pub fn start(cfg: &MtaConfig) -> Mta {
        let (cert, key) = self_signed(&["127.0.0.1", &cfg.hostname]);
        let mut pc = PostfixConfig {
            content_filter: None,
            relayhost: cfg.relayhost,
            smtp_port: free_port(),
            resubmit_port: 0,
            main_extra: Vec::new(),
            resubmit_options: Vec::new(),
            files: vec![
                ("server.pem".into(), cert.clone()),
                ("server.key".into(), key),
            ],
            filter_maxproc: None,
        };
        let transports: String = cfg
            .transports
            .iter()
            .map(|(d, to)| format!("{d} smtp:[{}]:{}\n", to.ip(), to.port()))
            .collect();
        pc.files.push(("transport".into(), transports));
        for line in [
            format!("myhostname = {}", cfg.hostname),
            "transport_maps = texthash:$config_directory/transport".into(),
            format!("smtp_tls_security_level = {}", cfg.client_tls),
            "smtp_tls_loglevel = 1".into(),
            "smtpd_tls_security_level = may".into(),
            "smtpd_tls_cert_file = $config_directory/server.pem".into(),
            "smtpd_tls_key_file = $config_directory/server.key".into(),
            "smtpd_tls_received_header = yes".into(),
            "smtpd_tls_loglevel = 1".into(),
        ] {
            pc.main_extra.push(line);
        }
        Mta {
            postfix: Postfix::start(&pc),
            cert_pem: cert,
        }
    }

    /// Its main listener (STARTTLS offered).
    pub fn smtp(&self) -> SocketAddr {
        self.postfix.smtp
    }
}
