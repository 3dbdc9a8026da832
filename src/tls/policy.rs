//! The TLS policy toward one delivery destination (pure): `none`, `may`, `encrypt`, `verify`
//! (Postfix's `smtp_tls_security_level` names), and what each asks of a connection — whether to
//! say STARTTLS after EHLO, whether a failed STARTTLS may be retried in clear, whether the
//! certificate is verified. The shell (`relay`) carries the decisions out.

/// `[gateway] tls` and `[[route]] tls`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TlsPolicy {
    /// Plain SMTP: STARTTLS is never said.
    None,
    /// Opportunistic: STARTTLS when offered, the certificate not verified; when STARTTLS is
    /// refused or its handshake fails, the message goes in clear on a new connection.
    #[default]
    May,
    /// TLS required, the certificate not verified (protects against passive listeners only).
    Encrypt,
    /// TLS required and the certificate verified against the trust anchors, for the
    /// destination's host name.
    Verify,
}

/// What a connection does after EHLO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Starttls {
    /// Stay in clear.
    Skip,
    /// Say STARTTLS and handshake.
    Start,
    /// The destination does not offer STARTTLS and the policy requires TLS: fail (temporary).
    Fail,
}

impl TlsPolicy {
    pub const ALL: [TlsPolicy; 4] = [
        TlsPolicy::None,
        TlsPolicy::May,
        TlsPolicy::Encrypt,
        TlsPolicy::Verify,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TlsPolicy::None => "none",
            TlsPolicy::May => "may",
            TlsPolicy::Encrypt => "encrypt",
            TlsPolicy::Verify => "verify",
        }
    }

    pub fn parse(s: &str) -> Result<TlsPolicy, String> {
        TlsPolicy::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| format!("{s:?} is not a TLS policy: use none, may, encrypt or verify"))
    }

    /// After EHLO, given whether the destination offered STARTTLS.
    pub fn starttls(self, offered: bool) -> Starttls {
        match (self, offered) {
            (TlsPolicy::None, _) | (TlsPolicy::May, false) => Starttls::Skip,
            (_, true) => Starttls::Start,
            (TlsPolicy::Encrypt | TlsPolicy::Verify, false) => Starttls::Fail,
        }
    }

    /// Whether a refused STARTTLS or a failed handshake may be followed by delivery in clear
    /// (on a new connection): only `may`.
    pub fn falls_back_to_plaintext(self) -> bool {
        self == TlsPolicy::May
    }

    /// Whether the certificate is checked (chain to the anchors, name): only `verify`. The others
    /// use the unverified client configuration (`tls::unverified`).
    pub fn verifies(self) -> bool {
        self == TlsPolicy::Verify
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_policy_says_starttls_falls_back_and_verifies_as_postfix_levels_do() {
        use Starttls::*;
        // (policy, offered -> step, not offered -> step, falls back, verifies)
        let table = [
            (TlsPolicy::None, Skip, Skip, false, false),
            (TlsPolicy::May, Start, Skip, true, false),
            (TlsPolicy::Encrypt, Start, Fail, false, false),
            (TlsPolicy::Verify, Start, Fail, false, true),
        ];
        for (p, offered, missing, fallback, verifies) in table {
            assert_eq!(p.starttls(true), offered, "{p:?} offered");
            assert_eq!(p.starttls(false), missing, "{p:?} not offered");
            assert_eq!(p.falls_back_to_plaintext(), fallback, "{p:?}");
            assert_eq!(p.verifies(), verifies, "{p:?}");
            assert_eq!(TlsPolicy::parse(p.name()), Ok(p));
        }
        assert_eq!(TlsPolicy::default(), TlsPolicy::May);
        let e = TlsPolicy::parse("dane").unwrap_err();
        assert!(e.contains("none, may, encrypt or verify"), "{e}");
        assert!(TlsPolicy::parse("Verify").is_err(), "names are lower case");
    }
}
