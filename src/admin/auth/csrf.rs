//! Cross-site request forgery: every form of a signed-in page carries its session's token in a
//! hidden field ([`FIELD`]); a POST whose token is missing or differs is refused (403) before its
//! handler runs. The comparison takes the same time wherever the two differ. With the cookie's
//! `SameSite=Strict` this is the second of two defences.

/// The hidden form field that carries the token (the `?csrf=` query parameter of an upload, whose
/// multipart body is read only after the check).
pub const FIELD: &str = "csrf";

/// Whether `given` (the request's token, if it sent one) is the session's token `want`.
pub fn check(want: &str, given: Option<&str>) -> bool {
    given.is_some_and(|g| !g.is_empty() && crate::secret::same(want.as_bytes(), g.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_sessions_own_token_passes() {
        assert!(check("tok-123", Some("tok-123")));
        assert!(!check("tok-123", Some("tok-124")));
        assert!(!check("tok-123", Some("tok-12")));
        assert!(!check("tok-123", Some("")));
        assert!(!check("tok-123", None));
        assert!(!check("", Some("")), "an empty token never matches");
    }
}
