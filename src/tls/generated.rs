//! The self-signed certificate generated in the data dir when no `[tls]` files are configured:
//! made on first start, valid for two years, and made again at a start or reload that finds it
//! within a month of its expiry (the monitor warns before that, like for any certificate).

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::{certificate, read_pem};

/// How long a generated self-signed certificate is valid: two years.
pub const GENERATED_LIFETIME: u64 = 730 * 86_400;
/// A generated certificate this close to its expiry is replaced at the next start or reload.
pub const RENEW_BEFORE: u64 = 30 * 86_400;

/// Paths of the generated pair inside the data dir.
pub fn generated_paths(data_dir: &Path) -> (PathBuf, PathBuf) {
    let dir = data_dir.join("tls");
    (dir.join("cert.pem"), dir.join("key.pem"))
}

/// Whether the generated certificate at `cert` expires within [`RENEW_BEFORE`] of `now` (or
/// cannot be read: then it is made again too).
pub(super) fn due_for_renewal(cert: &Path, now: u64) -> bool {
    let not_after = read_pem(cert)
        .ok()
        .and_then(|pem| certificate::info(&pem).ok())
        .map(|i| i.not_after);
    not_after.is_none_or(|t| t < (now + RENEW_BEFORE) as i64)
}

pub(super) fn generate_self_signed(
    cert_path: &Path,
    key_path: &Path,
    hostname: &str,
    now: u64,
) -> anyhow::Result<()> {
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
    // Whole UTC days: valid from yesterday (a peer's clock a little behind) for two years.
    let day_of = |t: u64| {
        let ((y, m, d), _) = crate::units::time::civil(t);
        rcgen::date_time_ymd(y as i32, m as u8, d as u8)
    };
    params.not_before = day_of(now.saturating_sub(86_400));
    params.not_after = day_of(now + GENERATED_LIFETIME);
    let key = rcgen::KeyPair::generate().context("generating a key pair")?;
    let cert = params
        .self_signed(&key)
        .context("self-signing the certificate")?;
    crate::file::write_secret(key_path, key.serialize_pem().as_bytes())
        .with_context(|| format!("writing {}", key_path.display()))?;
    std::fs::write(cert_path, cert.pem())
        .with_context(|| format!("writing {}", cert_path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn not_after(c: &Path) -> i64 {
        certificate::info(&std::fs::read(c).unwrap())
            .unwrap()
            .not_after
    }

    #[test]
    fn a_generated_certificate_lasts_two_years_and_is_renewed_in_its_last_month() {
        let dir = tempfile::tempdir().unwrap();
        let (c, k) = generated_paths(dir.path());
        let now = 1_800_000_000;
        generate_self_signed(&c, &k, "mx.example", now).unwrap();
        let until = not_after(&c);
        let lifetime = until - now as i64;
        assert!(
            (GENERATED_LIFETIME as i64 - 86_400..=GENERATED_LIFETIME as i64).contains(&lifetime),
            "valid for {lifetime} s"
        );
        assert!(!due_for_renewal(&c, now));
        assert!(!due_for_renewal(&c, until as u64 - RENEW_BEFORE - 1));
        assert!(due_for_renewal(&c, until as u64 - RENEW_BEFORE + 1));
        assert!(due_for_renewal(&c, until as u64 + 1));
        std::fs::write(&c, "not a certificate").unwrap();
        assert!(due_for_renewal(&c, now), "an unreadable one is made again");
    }
}
