//! TLS material: the STARTTLS server configuration (configured PEM files, or a self-signed pair generated
//! once and kept in the data dir) and the client configuration used toward next hops (trust anchors).
//!
//! One crypto provider (aws-lc-rs), set explicitly on every config. Start-up code: errors are `anyhow`.

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

/// Paths of the generated pair inside the data dir.
pub fn generated_paths(data_dir: &Path) -> (PathBuf, PathBuf) {
    let dir = data_dir.join("tls");
    (dir.join("cert.pem"), dir.join("key.pem"))
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
            if !c.exists() || !k.exists() {
                generate_self_signed(&c, &k, hostname)?;
                tracing::info!(cert = %c.display(), "generated a self-signed TLS certificate");
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
fn read_pem(path: &Path) -> anyhow::Result<Vec<u8>> {
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

fn generate_self_signed(cert_path: &Path, key_path: &Path, hostname: &str) -> anyhow::Result<()> {
    let dir = cert_path
        .parent()
        .context("certificate path has no parent")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut names = vec![hostname.to_string(), "localhost".to_string()];
    names.dedup();
    let mut params = rcgen::CertificateParams::new(names).context("certificate names")?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, hostname);
    params.distinguished_name.push(
        rcgen::DnType::OrganizationName,
        "Sluice (self-signed on first start)",
    );
    let key = rcgen::KeyPair::generate().context("generating a key pair")?;
    let cert = params
        .self_signed(&key)
        .context("self-signing the certificate")?;
    write_private(key_path, key.serialize_pem().as_bytes())?;
    std::fs::write(cert_path, cert.pem())
        .with_context(|| format!("writing {}", cert_path.display()))?;
    Ok(())
}

fn write_private(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(data)
        .with_context(|| format!("writing {}", path.display()))?;
    f.sync_all()
        .with_context(|| format!("syncing {}", path.display()))?;
    Ok(())
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
