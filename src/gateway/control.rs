//! The gateway's SMTP-time decisions (pure): anti-relay (seed 004, 6.1), blocked address
//! characters (6.2), and every refusal the gate gives, each with its reply and the reason name
//! that logs and metrics carry.
//!
//! Replies follow Postfix's wording where Postfix has the check (`reject_unauth_destination`,
//! `reject_unverified_recipient`, anvil's rate limits), so an administrator who knows its logs
//! knows these.

use std::net::IpAddr;

use crate::smtp::Reply;

/// Why the gate refused a connection, a sender or a recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Neither the client nor the recipient's domain is local.
    RelayDenied,
    /// A character of `gateway.blocked_address_chars` in the sender's local part.
    SenderChar,
    /// A character of `gateway.blocked_address_chars` in a recipient's local part.
    RecipientChar,
    /// Recipient verification said the address does not exist.
    UnknownUser,
    /// Recipient verification could not tell (callout tempfailed, timed out, unreachable).
    VerifyDeferred,
    /// `gateway.max_connection_rate` reached.
    ConnectionRate,
    /// `gateway.max_message_rate` reached.
    MessageRate,
}

impl Reason {
    /// The name logs and the `sluice_gateway_rejected_total{reason}` metric carry.
    pub fn name(self) -> &'static str {
        match self {
            Reason::RelayDenied => "relay_denied",
            Reason::SenderChar => "sender_char",
            Reason::RecipientChar => "recipient_char",
            Reason::UnknownUser => "unknown_user",
            Reason::VerifyDeferred => "verify_deferred",
            Reason::ConnectionRate => "connection_rate",
            Reason::MessageRate => "message_rate",
        }
    }

    /// The reply for this refusal; `address` is the sender or recipient concerned, `ip` the client.
    pub fn reply(self, address: &str, ip: IpAddr) -> Reply {
        match self {
            Reason::RelayDenied => Reply::new(550, Some([5, 7, 1]), "Relaying denied"),
            Reason::SenderChar => Reply::new(
                553,
                Some([5, 1, 7]),
                format!("<{address}>: Sender address rejected: character not allowed"),
            ),
            Reason::RecipientChar => Reply::new(
                553,
                Some([5, 1, 3]),
                format!("<{address}>: Recipient address rejected: character not allowed"),
            ),
            Reason::UnknownUser => Reply::new(
                550,
                Some([5, 1, 1]),
                format!("<{address}>: Recipient address rejected: User unknown"),
            ),
            Reason::VerifyDeferred => Reply::new(
                450,
                Some([4, 1, 1]),
                format!(
                    "<{address}>: Recipient address rejected: unverified address: Address verification failed temporarily, try again later"
                ),
            ),
            Reason::ConnectionRate => Reply::new(
                421,
                Some([4, 7, 0]),
                format!("Error: too many connections from {ip}"),
            ),
            Reason::MessageRate => Reply::new(
                450,
                Some([4, 7, 1]),
                format!("Error: too much mail from {ip}"),
            ),
        }
    }
}

/// Seed 004, 6.1: the relay restriction does not apply when the source (the client) or the
/// destination (the recipient's domain) is local.
pub fn relay_allowed(source_local: bool, destination_local: bool) -> bool {
    source_local || destination_local
}

/// The first character of `blocked` in the local part of `address` (the part before the last
/// `@`; the whole address when it has none), if any. The null sender `<>` has no local part.
pub fn blocked_char(address: &str, blocked: &str) -> Option<char> {
    if blocked.is_empty() {
        return None;
    }
    let local = address.rsplit_once('@').map_or(address, |(l, _)| l);
    local.chars().find(|c| blocked.contains(*c))
}

/// The domain of `address` (after the last `@`; empty when it has none).
pub fn domain_of(address: &str) -> &str {
    address.rsplit_once('@').map_or("", |(_, d)| d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_needs_a_local_source_or_destination() {
        assert!(relay_allowed(true, false));
        assert!(relay_allowed(false, true));
        assert!(relay_allowed(true, true));
        assert!(!relay_allowed(false, false));
    }

    #[test]
    fn blocked_chars_are_looked_for_in_the_local_part_only() {
        assert_eq!(blocked_char("a%b@corp.example", "!%"), Some('%'));
        assert_eq!(blocked_char("host!user@corp.example", "!%"), Some('!'));
        assert_eq!(blocked_char("user@corp.example", "!%"), None);
        // The last @ separates the domain: a quoted local part with @ in it is still checked.
        assert_eq!(blocked_char("\"a@b%c\"@corp.example", "!%"), Some('%'));
        assert_eq!(blocked_char("a%b@corp.example", ""), None);
        assert_eq!(blocked_char("", "!%"), None);
        assert_eq!(blocked_char("postmaster", "!%"), None);
        assert_eq!(blocked_char("a+b@corp.example", "+"), Some('+'));
    }

    #[test]
    fn replies_have_the_codes_and_texts_of_their_reason() {
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let cases = [
            (Reason::RelayDenied, 550, [5, 7, 1], "Relaying denied"),
            (
                Reason::SenderChar,
                553,
                [5, 1, 7],
                "<a%b@x.example>: Sender",
            ),
            (
                Reason::RecipientChar,
                553,
                [5, 1, 3],
                "<a%b@x.example>: Recipient",
            ),
            (Reason::UnknownUser, 550, [5, 1, 1], "User unknown"),
            (Reason::VerifyDeferred, 450, [4, 1, 1], "temporarily"),
            (
                Reason::ConnectionRate,
                421,
                [4, 7, 0],
                "too many connections from 192.0.2.7",
            ),
            (
                Reason::MessageRate,
                450,
                [4, 7, 1],
                "too much mail from 192.0.2.7",
            ),
        ];
        for (reason, code, enhanced, text) in cases {
            let r = reason.reply("a%b@x.example", ip);
            assert_eq!((r.code, r.enhanced), (code, Some(enhanced)), "{reason:?}");
            assert!(r.lines[0].contains(text), "{reason:?}: {:?}", r.lines);
            assert!(r.is_writable());
        }
        assert_eq!(domain_of("u@Corp.Example"), "Corp.Example");
        assert_eq!(domain_of("postmaster"), "");
    }
}
