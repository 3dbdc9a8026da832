//! Approval links as values: the signed token ([`token`]) and the URL an approver follows
//! ([`approval_url`]). Pure. Sits below `hold` (which makes links when it holds a message),
//! `approval` (whose desk decides what a link asks) and `admin` (which routes and verifies them),
//! so none of those needs another for it.

pub mod token;

/// The path prefix of approval links (the admin server routes on it).
pub const APPROVAL_PREFIX: &str = "/approval/";

/// The link an approver follows: `public_url` (no trailing slash, as `config::Admin` holds it)
/// plus the approval path and the signed token.
pub fn approval_url(public_url: &str, token: &str) -> String {
    format!(
        "{}{APPROVAL_PREFIX}{token}",
        public_url.trim_end_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approval_links_are_built_from_the_public_url() {
        assert_eq!(
            approval_url("https://dlp.example:8443", "abc"),
            "https://dlp.example:8443/approval/abc"
        );
        assert_eq!(
            approval_url("https://dlp.example/", "abc"),
            "https://dlp.example/approval/abc"
        );
    }
}
