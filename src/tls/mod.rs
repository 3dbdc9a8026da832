//! TLS material: the STARTTLS server configuration (configured PEM files, or a self-signed pair generated
//! once and kept in the data dir) and the client configuration used toward next hops (trust anchors).
//!
//! One crypto provider (aws-lc-rs), set explicitly on every config. Start-up code: errors are `anyhow`.

pub mod certificate;
mod generated;
pub mod policy;
pub mod unverified;

pub use generated::generated_paths;
use generated::{due_for_renewal, generate_self_signed};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// The system CA bundle used when no trust anchors are configured.
pub const SYSTEM_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The server configuration for STARTTLS.
pub fn server_config(
    files: Option<&(PathBuf, PathBuf)>,
    data_dir: &Path,
    hostname: &str,
) -> anyhow::Result<Arc<ServerConfig>> {
    let (cert_path, key_path) = match files {
        Some((c, k)) => (c.clone(), k.clone()),
        None => {
            let (c, k) = generated_paths(data_dir);
            let now = crate::clock::Clock::system().now();
            if !c.exists() || !k.exists() {
                generate_self_signed(&c, &k, hostname, now)?;
                tracing::info!(cert = %c.display(), "generated a self-signed TLS certificate");
            } else if due_for_renewal(&c, now) {
                generate_self_signed(&c, &k, hostname, now)?;
                tracing::warn!(cert = %c.display(), "renewed the generated self-signed TLS certificate (it was near or past its expiry)");
            }
            (c, k)
        }
    };
    server_config_from(&cert_path, &key_path)
}

/// The server configuration from a PEM certificate chain and key (both read bounded).
pub fn server_config_from(cert_path: &Path, key_path: &Path) -> anyhow::Result<Arc<ServerConfig>> {
    let certs = load_certs(cert_path)?;
    let key_pem = read_pem(key_path)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .with_context(|| format!("{}: no usable PEM private key", key_path.display()))?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .with_context(|| {
            format!(
                "{} / {}: certificate and key do not form a usable pair",
                cert_path.display(),
                key_path.display()
            )
        })?;
    Ok(Arc::new(config))
}

/// A PEM file, read with the bound of [`crate::file::MAX_PEM`].
pub(crate) fn read_pem(path: &Path) -> anyhow::Result<Vec<u8>> {
    crate::file::read(path, crate::file::MAX_PEM)
        .with_context(|| format!("{}: cannot read", path.display()))
}

fn load_certs(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let pem = read_pem(path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .map(|c| c.map(CertificateDer::into_owned))
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{}: bad PEM certificate", path.display()))?;
    if certs.is_empty() {
        bail!("{}: no PEM certificate found", path.display());
    }
    Ok(certs)
}

/// The client configuration for STARTTLS to next hops: verifies against `anchors`, or the system bundle.
pub fn client_config(anchors: &[PathBuf]) -> anyhow::Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    let system = [PathBuf::from(SYSTEM_BUNDLE)];
    let files: &[PathBuf] = if anchors.is_empty() {
        if system[0].exists() { &system } else { &[] }
    } else {
        anchors
    };
    for f in files {
        for cert in load_certs(f)? {
            roots.add(cert).with_context(|| {
                format!("{}: certificate is not a usable trust anchor", f.display())
            })?;
        }
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The client configuration toward a SIEM receiver (RFC 5425): its certificate verified against
/// `ca_file` (PEM anchors; `None`: the system bundle, which must then exist), and the client
/// certificate chain and key to present, if any.
pub fn siem_client_config(
    ca_file: Option<&Path>,
    client: Option<&(PathBuf, PathBuf)>,
) -> anyhow::Result<Arc<ClientConfig>> {
    let ca = ca_file.unwrap_or(Path::new(SYSTEM_BUNDLE));
    let mut roots = RootCertStore::empty();
    for cert in load_certs(ca)? {
        roots.add(cert).with_context(|| {
            format!("{}: certificate is not a usable trust anchor", ca.display())
        })?;
    }
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_root_certificates(roots);
    let config = match client {
        None => builder.with_no_client_auth(),
        Some((cert_path, key_path)) => {
            let certs = load_certs(cert_path)?;
            let key = PrivateKeyDer::from_pem_slice(&read_pem(key_path)?)
                .with_context(|| format!("{}: no usable PEM private key", key_path.display()))?;
            builder.with_client_auth_cert(certs, key).with_context(|| {
                format!(
                    "{} / {}: certificate and key do not form a usable pair",
                    cert_path.display(),
                    key_path.display()
                )
            })?
        }
    };
    Ok(Arc::new(config))
}

/// A TLS failure toward a next hop in plain words: one line that says what is wrong and what to do.
/// The TLS error inside an I/O error (as the handshake returns it) is explained; any other I/O error
/// is given as it is.
pub fn explain_io(e: &std::io::Error) -> String {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(tls) => explain(tls),
        None => e.to_string(),
    }
}

/// Sluice's side of the handshake, named in the advice.
const OUR_TLS: &str = "Sluice offers TLS 1.2 and 1.3 with current cipher suites only";

/// A rustls error met as a client (Sluice talking to a next hop) in plain words: what is wrong, and
/// what to do about it.
pub fn explain(e: &rustls::Error) -> String {
    use rustls::Error as E;
    match e {
        E::InvalidCertificate(c) => explain_certificate(c),
        E::NoCertificatesPresented => "the next hop presented no certificate; configure a server \
             certificate on it"
            .into(),
        E::AlertReceived(a) => explain_alert(*a),
        E::PeerIncompatible(p) => explain_incompatible(p),
        E::PeerMisbehaved(p) => format!(
            "the next hop broke the TLS protocol ({p:?}); its TLS implementation (or a middlebox \
             in between) is at fault: update it or go around the middlebox"
        ),
        E::InvalidMessage(_)
        | E::InappropriateMessage { .. }
        | E::InappropriateHandshakeMessage { .. } => {
            format!(
                "the next hop did not answer with a valid TLS handshake ({e}); check that the port \
                 speaks SMTP with STARTTLS and that no middlebox rewrites the connection"
            )
        }
        E::DecryptError | E::PeerSentOversizedRecord => format!(
            "TLS records from the next hop could not be read ({e}); the connection is being \
             corrupted, or a middlebox interferes: check the network path"
        ),
        E::InvalidCertRevocationList(r) => format!(
            "a certificate revocation list is unusable ({r:?}); replace it with a current one"
        ),
        E::FailedToGetCurrentTime => "this host's clock cannot be read, so no certificate can be \
             checked; fix the system clock"
            .into(),
        _ => format!("TLS with the next hop failed: {e}"),
    }
}

fn explain_certificate(c: &rustls::CertificateError) -> String {
    use rustls::CertificateError as C;
    let when = |t: &rustls::pki_types::UnixTime| crate::units::time::format(t.as_secs());
    match c {
        C::Expired => "the next hop's certificate has expired; renew it on the next hop (or check \
             this host's clock)"
            .into(),
        C::ExpiredContext { time, not_after } => format!(
            "the next hop's certificate expired at {} (now {}); renew it on the next hop (or check \
             this host's clock)",
            when(not_after),
            when(time)
        ),
        C::NotValidYet => "the next hop's certificate is not valid yet; check the clocks of this \
             host and of the next hop"
            .into(),
        C::NotValidYetContext { time, not_before } => format!(
            "the next hop's certificate is valid only from {} (now {}); check the clocks of this \
             host and of the next hop",
            when(not_before),
            when(time)
        ),
        C::Revoked => "the next hop's certificate has been revoked by its CA; install a new \
             certificate on the next hop"
            .into(),
        C::UnknownIssuer => {
            "the next hop's certificate does not chain to a trusted CA; add the CA \
             that issued it to relay.trust_anchors (PEM), or have the next hop send its \
             intermediate certificates too"
                .into()
        }
        C::BadSignature => "the next hop's certificate is not signed by the key of the trust \
             anchor or CA that carries its issuer's name (another or a renewed CA?); put the CA \
             that really issued it in relay.trust_anchors, or have the next hop send the right chain"
            .into(),
        #[allow(deprecated)]
        C::UnsupportedSignatureAlgorithm
        | C::UnsupportedSignatureAlgorithmContext { .. }
        | C::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            "the next hop's certificate is signed with an algorithm Sluice does not accept (such \
             as SHA-1); the next hop needs a certificate signed with SHA-256 or better"
                .into()
        }
        C::NotValidForName => "the next hop's certificate is not valid for the name Sluice \
             connected to; name the next hop in relay.hosts as its certificate does, or give it a \
             certificate for that name"
            .into(),
        C::NotValidForNameContext {
            expected,
            presented,
        } => format!(
            "the next hop's certificate is not valid for {} (it names {}); name the next hop in \
             relay.hosts as its certificate does, or give it a certificate for that name",
            expected.to_str(),
            if presented.is_empty() {
                "no name".to_string()
            } else {
                presented.join(", ")
            }
        ),
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => "the next hop's certificate is not \
             for a TLS server (its extended key usage lacks serverAuth); give the next hop a \
             server certificate"
            .into(),
        C::UnhandledCriticalExtension => "the next hop's certificate has a critical extension \
             Sluice cannot check; give the next hop a standard server certificate"
            .into(),
        C::BadEncoding => "the next hop's certificate cannot be parsed; check the certificate \
             file configured on the next hop"
            .into(),
        C::UnknownRevocationStatus
        | C::ExpiredRevocationList
        | C::ExpiredRevocationListContext { .. }
        | C::InvalidOcspResponse => format!(
            "the revocation status of the next hop's certificate cannot be established ({c:?}); \
             provide a current revocation list or OCSP response"
        ),
        C::Other(other) => explain_other_certificate(&format!("{other:?}"), &other.to_string()),
        _ => format!(
            "the next hop's certificate was refused ({c:?}); check it and relay.trust_anchors"
        ),
    }
}

/// Certificate errors rustls passes on from webpki as `Other`, by their name (in `debug`); `shown`
/// is the error's own text, for the ones without advice.
fn explain_other_certificate(debug: &str, shown: &str) -> String {
    let has = |name: &str| debug.contains(name);
    if has("CaUsedAsEndEntity") {
        "the next hop's certificate is a CA certificate used as a server certificate; configure \
         the CA as relay.trust_anchors (trust anchor) and have the server present its own leaf \
         certificate"
            .into()
    } else if has("EndEntityUsedAsCa") {
        "a server (leaf) certificate is used as an issuer in the next hop's chain; the next hop \
         must send its own certificate followed by the CA certificates that issued it"
            .into()
    } else if has("PathLenConstraintViolated") || has("MaximumPathDepthExceeded") {
        "the next hop's certificate chain is longer than its CAs allow; have the next hop send a \
         shorter, correct chain"
            .into()
    } else if has("NameConstraintViolation") || has("InvalidNetworkMaskConstraint") {
        "the next hop's certificate names something its CA may not issue for (name \
         constraints); get a certificate from a CA allowed to issue that name"
            .into()
    } else if has("CertDistrusted") {
        "the next hop's certificate was issued by a CA that is no longer trusted; get a \
         certificate from another CA"
            .into()
    } else {
        format!(
            "the next hop's certificate was refused ({shown}); check it and relay.trust_anchors"
        )
    }
}

fn explain_alert(a: rustls::AlertDescription) -> String {
    use rustls::AlertDescription as A;
    match a {
        A::HandshakeFailure | A::InsufficientSecurity => format!(
            "the next hop ended the handshake ({a:?}): it shares no protocol version or cipher \
             suite with Sluice ({OUR_TLS}); enable TLS 1.2 or 1.3 with current suites on the next hop"
        ),
        A::ProtocolVersion => format!(
            "the next hop refused the TLS version ({OUR_TLS}); enable TLS 1.2 or 1.3 on the next hop"
        ),
        A::BadCertificate
        | A::UnsupportedCertificate
        | A::CertificateRevoked
        | A::CertificateExpired
        | A::CertificateUnknown
        | A::UnknownCA
        | A::CertificateRequired
        | A::AccessDenied => format!(
            "the next hop refused the connection ({a:?}); it wants a client certificate, which \
             Sluice does not send: configure the next hop not to require one for Sluice"
        ),
        A::UnrecognisedName => "the next hop does not serve the name Sluice asked for (SNI); name \
             the next hop in relay.hosts as it knows itself"
            .into(),
        _ => format!(
            "the next hop ended the TLS handshake with the alert {a:?}; see its logs for why"
        ),
    }
}

fn explain_incompatible(p: &rustls::PeerIncompatible) -> String {
    use rustls::PeerIncompatible as P;
    match p {
        P::NoCipherSuitesInCommon => format!(
            "the next hop shares no cipher suite with Sluice ({OUR_TLS}); enable AES-GCM or \
             ChaCha20-Poly1305 suites on the next hop"
        ),
        P::NoKxGroupsInCommon | P::NoSignatureSchemesInCommon | P::NoEcPointFormatsInCommon => {
            format!(
                "the next hop shares no key exchange or signature scheme with Sluice ({p:?}; \
                 {OUR_TLS}); enable ECDHE (X25519 or P-256) and RSA-PSS or ECDSA on the next hop"
            )
        }
        P::ServerDoesNotSupportTls12Or13
        | P::SupportedVersionsExtensionRequired
        | P::Tls12NotOffered
        | P::Tls12NotOfferedOrEnabled
        | P::ServerTlsVersionIsDisabledByOurConfig => format!(
            "the next hop offers only a TLS version Sluice refuses ({OUR_TLS}); enable TLS 1.2 or \
             1.3 on the next hop"
        ),
        _ => format!(
            "the next hop's TLS settings do not fit Sluice's ({p:?}; {OUR_TLS}); update the next \
             hop's TLS configuration"
        ),
    }
}

/// How a connection to a next hop was protected, for relay log lines (`tls=verified
/// tls_version=TLSv1.3`, `tls=unverified`, or `tls=none`). The `[relay]` client configuration
/// always verifies the next hop's certificate (a handshake that does not verify fails), so TLS
/// toward a `[relay]` next hop is `verified`; `relay.tls_failure = "plaintext"` gives `none`. A
/// gateway destination whose TLS policy is `may` or `encrypt` uses the unverified configuration
/// (`unverified`): its TLS is `unverified`, never shown as verified.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Protection {
    /// Plain SMTP.
    #[default]
    None,
    /// TLS with the certificate verified against the trust anchors, and its protocol version.
    Verified { version: String },
    /// TLS whose certificate was not checked (`tls::unverified`), and its protocol version.
    Unverified { version: String },
}

impl Protection {
    /// `none`, `unverified` or `verified`, the log field `tls`.
    pub fn name(&self) -> &'static str {
        match self {
            Protection::None => "none",
            Protection::Verified { .. } => "verified",
            Protection::Unverified { .. } => "unverified",
        }
    }

    /// The protocol version (`TLSv1.3`), or `-` without TLS: the log field `tls_version`.
    pub fn version(&self) -> &str {
        match self {
            Protection::None => "-",
            Protection::Verified { version } | Protection::Unverified { version } => version,
        }
    }
}

/// A rustls protocol version as people write it: `TLSv1.3`.
pub fn version_name(v: rustls::ProtocolVersion) -> String {
    match v {
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".into(),
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".into(),
        other => format!("{other:?}"),
    }
}

/// A connection that may have been upgraded with STARTTLS (either side).
pub enum Stream {
    Plain(smol::net::TcpStream),
    Tls(Box<futures_rustls::TlsStream<smol::net::TcpStream>>),
    /// Only while the plain stream is moved into a TLS handshake; every operation fails.
    Detached,
}

fn detached() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::NotConnected,
        "stream detached for a TLS handshake",
    )
}

impl Stream {
    pub fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }

    /// The negotiated TLS protocol version (`TLSv1.3`), if this is a TLS stream.
    pub fn tls_version(&self) -> Option<String> {
        match self {
            Stream::Tls(s) => s.get_ref().1.protocol_version().map(version_name),
            _ => None,
        }
    }

    /// Takes the plain TCP stream out for a TLS handshake, leaving `Detached`.
    pub fn take_plain(&mut self) -> Option<smol::net::TcpStream> {
        match std::mem::replace(self, Stream::Detached) {
            Stream::Plain(s) => Some(s),
            other => {
                *self = other;
                None
            }
        }
    }
}

impl futures_lite::AsyncRead for Stream {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut [u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => std::pin::Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_read(cx, buf),
            Stream::Detached => std::task::Poll::Ready(Err(detached())),
        }
    }
}

impl futures_lite::AsyncWrite for Stream {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => std::pin::Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_write(cx, buf),
            Stream::Detached => std::task::Poll::Ready(Err(detached())),
        }
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => std::pin::Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_flush(cx),
            Stream::Detached => std::task::Poll::Ready(Err(detached())),
        }
    }

    fn poll_close(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => std::pin::Pin::new(s).poll_close(cx),
            Stream::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_close(cx),
            Stream::Detached => std::task::Poll::Ready(Err(detached())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::client::danger::ServerCertVerifier;
    use rustls::pki_types::ServerName;

    #[test]
    fn generates_once_and_reuses_the_pair() {
        let dir = tempfile::tempdir().unwrap();
        server_config(None, dir.path(), "mx.example").unwrap();
        let (c, k) = generated_paths(dir.path());
        let first = std::fs::read(&c).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&k).unwrap().permissions().mode() & 0o777,
            0o600
        );
        server_config(None, dir.path(), "mx.example").unwrap();
        assert_eq!(std::fs::read(&c).unwrap(), first);
        // The generated certificate works as a client trust anchor too.
        client_config(std::slice::from_ref(&c)).unwrap();
    }

    /// The advice for `e`, checked to be one line that says what to do.
    fn check(e: rustls::Error, says: &[&str]) {
        let text = explain(&e);
        assert!(!text.contains('\n'), "{text}");
        for s in says {
            assert!(text.contains(s), "{e:?}: {text:?} lacks {s:?}");
        }
        assert!(!text.contains("OtherError"), "{text}");
    }

    fn cert(c: rustls::CertificateError) -> rustls::Error {
        rustls::Error::InvalidCertificate(c)
    }

    #[derive(Debug)]
    struct Webpki(&'static str);
    impl std::fmt::Display for Webpki {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for Webpki {}

    fn webpki(name: &'static str) -> rustls::Error {
        cert(rustls::CertificateError::Other(rustls::OtherError(
            Arc::new(Webpki(name)),
        )))
    }

    #[test]
    fn certificate_errors_are_explained_with_what_to_do() {
        use rustls::CertificateError as C;
        use rustls::pki_types::UnixTime;
        let at = |s: u64| UnixTime::since_unix_epoch(std::time::Duration::from_secs(s));
        check(cert(C::Expired), &["has expired", "renew"]);
        check(
            cert(C::ExpiredContext {
                time: at(1_700_000_000),
                not_after: at(1_600_000_000),
            }),
            &["expired at 2020-09-13T12:26:40Z", "renew"],
        );
        check(cert(C::NotValidYet), &["not valid yet", "clocks"]);
        check(
            cert(C::NotValidYetContext {
                time: at(0),
                not_before: at(86_400),
            }),
            &["valid only from 1970-01-02", "clocks"],
        );
        check(
            cert(C::UnknownIssuer),
            &["trusted CA", "relay.trust_anchors"],
        );
        check(cert(C::Revoked), &["revoked", "new certificate"]);
        check(
            cert(C::BadSignature),
            &["not signed by the key", "relay.trust_anchors"],
        );
        check(
            cert(C::NotValidForName),
            &["not valid for the name", "relay.hosts"],
        );
        check(
            cert(C::NotValidForNameContext {
                expected: ServerName::try_from("mx.partner.example").unwrap(),
                presented: vec!["DnsName(\"other.example\")".into()],
            }),
            &["mx.partner.example", "other.example", "relay.hosts"],
        );
        check(cert(C::InvalidPurpose), &["serverAuth"]);
        check(cert(C::BadEncoding), &["cannot be parsed"]);
        check(cert(C::UnhandledCriticalExtension), &["critical extension"]);
        check(cert(C::UnknownRevocationStatus), &["revocation status"]);
        check(
            webpki("CaUsedAsEndEntity"),
            &[
                "a CA certificate used as a server certificate",
                "relay.trust_anchors (trust anchor)",
                "its own leaf certificate",
            ],
        );
        check(webpki("EndEntityUsedAsCa"), &["used as an issuer"]);
        check(webpki("PathLenConstraintViolated"), &["chain is longer"]);
        check(webpki("NameConstraintViolation"), &["name constraints"]);
        check(
            webpki("SomethingNew"),
            &["refused (", "relay.trust_anchors"],
        );
    }

    #[test]
    fn alerts_and_incompatibilities_are_explained() {
        use rustls::{AlertDescription as A, PeerIncompatible as P};
        check(
            rustls::Error::AlertReceived(A::HandshakeFailure),
            &["no protocol version or cipher suite", "TLS 1.2 or 1.3"],
        );
        check(
            rustls::Error::AlertReceived(A::ProtocolVersion),
            &["TLS version", "enable TLS 1.2 or 1.3"],
        );
        check(
            rustls::Error::AlertReceived(A::CertificateRequired),
            &["client certificate", "not to require one"],
        );
        check(rustls::Error::AlertReceived(A::UnrecognisedName), &["SNI"]);
        check(
            rustls::Error::AlertReceived(A::InternalError),
            &["alert InternalError", "logs"],
        );
        check(
            rustls::Error::PeerIncompatible(P::NoCipherSuitesInCommon),
            &["no cipher suite", "AES-GCM"],
        );
        check(
            rustls::Error::PeerIncompatible(P::NoKxGroupsInCommon),
            &["key exchange", "X25519"],
        );
        check(
            rustls::Error::PeerIncompatible(P::ServerDoesNotSupportTls12Or13),
            &["TLS version Sluice refuses", "TLS 1.2"],
        );
        check(rustls::Error::NoCertificatesPresented, &["no certificate"]);
        check(rustls::Error::DecryptError, &["middlebox"]);
        check(
            rustls::Error::General("odd".into()),
            &["TLS with the next hop failed", "odd"],
        );
    }

    #[test]
    fn a_tls_error_inside_an_io_error_is_explained_and_others_are_kept() {
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            cert(rustls::CertificateError::UnknownIssuer),
        );
        assert!(explain_io(&io).contains("relay.trust_anchors"));
        let plain = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert_eq!(explain_io(&plain), "reset");
    }

    /// What the issue saw: a CA certificate presented as the server's, verified for real.
    #[test]
    fn a_ca_presented_as_the_server_certificate_is_explained() {
        let mut params = rcgen::CertificateParams::new(vec!["mx.example".to_string()]).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key = rcgen::KeyPair::generate().unwrap();
        let ca = params.self_signed(&key).unwrap();
        let mut roots = RootCertStore::empty();
        roots.add(ca.der().clone()).unwrap();
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            provider(),
        )
        .build()
        .unwrap();
        let err = verifier
            .verify_server_cert(
                ca.der(),
                &[],
                &ServerName::try_from("mx.example").unwrap(),
                &[],
                rustls::pki_types::UnixTime::now(),
            )
            .unwrap_err();
        assert!(format!("{err}").contains("CaUsedAsEndEntity"), "{err}");
        let text = explain(&err);
        assert!(
            text.starts_with("the next hop's certificate is a CA certificate used as a server certificate; configure the CA as relay.trust_anchors"),
            "{text}"
        );
    }

    #[test]
    fn protection_names_and_versions_for_logs() {
        assert_eq!(Protection::None.name(), "none");
        assert_eq!(Protection::None.version(), "-");
        let v = Protection::Verified {
            version: version_name(rustls::ProtocolVersion::TLSv1_3),
        };
        assert_eq!((v.name(), v.version()), ("verified", "TLSv1.3"));
        assert_eq!(version_name(rustls::ProtocolVersion::TLSv1_2), "TLSv1.2");
    }

    #[test]
    fn bad_files_give_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let bogus = dir.path().join("bogus.pem");
        std::fs::write(&bogus, "not pem").unwrap();
        let err =
            server_config(Some(&(bogus.clone(), bogus.clone())), dir.path(), "x").unwrap_err();
        assert!(format!("{err:#}").contains("bogus.pem"), "{err:#}");
        assert!(client_config(&[dir.path().join("missing.pem")]).is_err());
        // An endless file is refused after the PEM limit instead of exhausting memory.
        let zero = PathBuf::from("/dev/zero");
        let err = server_config(Some(&(zero.clone(), zero.clone())), dir.path(), "x").unwrap_err();
        assert!(format!("{err:#}").contains("larger than"), "{err:#}");
        let err = client_config(&[zero]).unwrap_err();
        assert!(format!("{err:#}").contains("larger than"), "{err:#}");
    }
}
