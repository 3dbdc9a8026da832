//! Random secrets as text and their comparison: session ids, CSRF tokens, API token secrets and
//! the set-up link's token are [`random`] bytes from the operating system (getrandom) written as
//! base64url without padding, and a secret presented by a client is compared with [`same`], whose
//! time does not depend on where the two differ (BLAKE3 digests compared in constant time).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// `n` random bytes as base64url without padding.
pub fn random(n: usize) -> Result<String, String> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| format!("random: {e}"))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Whether `a` and `b` are equal, in time independent of their contents.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    // blake3::Hash's equality is constant-time; digests make the lengths equal.
    blake3::hash(a) == blake3::hash(b)
}

/// The BLAKE3 digest of a secret, hex (what the store keeps of an API token).
pub fn digest(secret: &[u8]) -> String {
    blake3::hash(secret).to_hex().to_string()
}

/// Whether `secret` has the hex digest `hex`, compared in constant time.
pub fn matches_digest(secret: &[u8], hex: &str) -> bool {
    blake3::Hash::from_hex(hex).is_ok_and(|h| h == blake3::hash(secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_compared_whole() {
        let a = random(32).unwrap();
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(a, random(32).unwrap());
        assert!(same(a.as_bytes(), a.clone().as_bytes()));
        assert!(!same(a.as_bytes(), &a.as_bytes()[1..]));
        assert!(!same(b"", b"x"));
        assert!(matches_digest(b"s", &digest(b"s")));
        assert!(!matches_digest(b"t", &digest(b"s")));
        assert!(!matches_digest(b"s", "zz"));
    }
}
