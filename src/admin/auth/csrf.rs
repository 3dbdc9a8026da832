//! Cross-site request forgery: every form of a signed-in page carries its session's token in a
//! hidden field ([`FIELD`]); a POST whose token is missing or differs is refused (403) before its
//! handler runs. The comparison takes the same time wherever the two differ. With the cookie's
//! `SameSite=Strict` this is the second of two defences.

use super::session::Session;

/// The hidden form field that carries the token.
pub const FIELD: &str = "csrf";

/// Whether `form_token` is the session's CSRF token.
pub fn check(session: &Session, form_token: &str) -> bool {
    !form_token.is_empty() && crate::secret::same(session.csrf.as_bytes(), form_token.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::Role;

    #[test]
    fn only_the_sessions_own_token_passes() {
        let s = Session {
            user: "alice".into(),
            role: Role::Administrator,
            csrf: "tok-123".into(),
            stamp: String::new(),
            created: 0,
            seen: 0,
        };
        assert!(check(&s, "tok-123"));
        assert!(!check(&s, "tok-124"));
        assert!(!check(&s, "tok-12"));
        assert!(!check(&s, ""));
        let empty = Session {
            csrf: String::new(),
            ..s
        };
        assert!(!check(&empty, ""));
    }
}
