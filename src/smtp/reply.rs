//! SMTP replies: the [`Reply`] value and every reply text Sluice sends, in one place.

use std::fmt;

/// One SMTP reply: a code, an optional enhanced status code (RFC 3463) and one or more text lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub enhanced: Option<[u8; 3]>,
    pub lines: Vec<String>,
}

impl Reply {
    pub fn new(code: u16, enhanced: Option<[u8; 3]>, text: impl Into<String>) -> Reply {
        Reply {
            code,
            enhanced,
            lines: vec![text.into()],
        }
    }

    fn e(code: u16, class: u8, subject: u8, detail: u8, text: impl Into<String>) -> Reply {
        Reply::new(code, Some([class, subject, detail]), text)
    }

    pub fn is_positive(&self) -> bool {
        (200..400).contains(&self.code)
    }

    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    pub fn is_permanent(&self) -> bool {
        self.code >= 500
    }

    /// The wire form; `enhanced` says whether ENHANCEDSTATUSCODES is on for this session.
    ///
    /// A text with CR, LF or NUL in it is never written (it could end the reply early and make
    /// the client read the rest as a second reply): the reply is refused and
    /// [`Reply::unwritable`] goes out instead, a 4xx, since refusing is an internal error.
    pub fn write_to(&self, out: &mut Vec<u8>, enhanced: bool) {
        if !self.is_writable() {
            return Reply::unwritable(self.code).write_to(out, enhanced);
        }
        let n = self.lines.len().max(1);
        for i in 0..n {
            let text = self.lines.get(i).map(String::as_str).unwrap_or("");
            out.extend_from_slice(self.code.to_string().as_bytes());
            out.push(if i + 1 < n { b'-' } else { b' ' });
            if let (true, Some([a, b, c])) = (enhanced, self.enhanced) {
                out.extend_from_slice(format!("{a}.{b}.{c} ").as_bytes());
            }
            out.extend_from_slice(text.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }

    /// Whether every text line can go on the wire as it is: no CR, LF or NUL.
    pub fn is_writable(&self) -> bool {
        self.lines
            .iter()
            .all(|l| !l.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)))
    }

    /// What is sent instead of a reply whose text cannot be written: 421 where the reply would
    /// have opened or closed the connection, else 451 (temporary: nothing is lost).
    pub fn unwritable(code: u16) -> Reply {
        match code {
            220 | 221 | 421 => Reply::internal_error(),
            _ => Reply::e(
                451,
                4,
                3,
                0,
                "Internal error: reply text refused, try again later",
            ),
        }
    }

    pub fn to_bytes(&self, enhanced: bool) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out, enhanced);
        out
    }

    /// The wire form of a reply that refuses a connection before any command: with its
    /// enhanced code (the client could not ask for ENHANCEDSTATUSCODES yet; Postfix sends it
    /// too), the same for the listener's own refusals and the gateway gate's.
    pub fn at_connect(&self) -> Vec<u8> {
        self.to_bytes(true)
    }

    // ---- connection ----
    /// `421 4.3.2`: the gateway refuses incoming mail for now (`sluice queue reject`).
    pub fn not_accepting(host: &str) -> Reply {
        Reply::e(
            421,
            4,
            3,
            2,
            format!("{host} not accepting messages now, try again later"),
        )
    }
    pub fn greeting(host: &str) -> Reply {
        Reply::new(220, None, format!("{host} ESMTP Sluice"))
    }
    pub fn closing(host: &str) -> Reply {
        Reply::e(221, 2, 0, 0, format!("{host} closing connection"))
    }
    pub fn not_allowed_client() -> Reply {
        Reply::e(
            554,
            5,
            7,
            1,
            "Access denied: this client may not relay through this server",
        )
    }
    pub fn too_many_sessions() -> Reply {
        Reply::e(421, 4, 3, 2, "Too many connections, try again later")
    }
    pub fn too_many_sessions_from_client() -> Reply {
        Reply::e(
            421,
            4,
            7,
            0,
            "Too many connections from your address, try again later",
        )
    }
    pub fn shutting_down(host: &str) -> Reply {
        Reply::e(
            421,
            4,
            3,
            2,
            format!("{host} Service shutting down, try again later"),
        )
    }
    pub fn timeout(host: &str) -> Reply {
        Reply::e(
            421,
            4,
            4,
            2,
            format!("{host} Timeout exceeded, closing connection"),
        )
    }
    pub fn too_many_errors() -> Reply {
        Reply::e(421, 4, 7, 0, "Too many errors, closing connection")
    }
    pub fn internal_error() -> Reply {
        Reply::e(421, 4, 3, 0, "Internal error, closing connection")
    }

    // ---- commands ----
    pub fn ok() -> Reply {
        Reply::e(250, 2, 0, 0, "OK")
    }
    pub fn helo(host: &str, peer: &str) -> Reply {
        Reply::new(250, None, format!("{host} Hello {peer}"))
    }
    /// The EHLO reply: the greeting line, then one line per extension keyword offered.
    pub fn ehlo(host: &str, peer: &str, keywords: impl IntoIterator<Item = String>) -> Reply {
        let mut lines = vec![format!("{host} Hello {peer}")];
        lines.extend(keywords);
        Reply {
            code: 250,
            enhanced: None,
            lines,
        }
    }
    pub fn sender_ok() -> Reply {
        Reply::e(250, 2, 1, 0, "Sender OK")
    }
    pub fn recipient_ok() -> Reply {
        Reply::e(250, 2, 1, 5, "Recipient OK")
    }
    pub fn start_data() -> Reply {
        Reply::new(354, None, "Start mail input; end with <CRLF>.<CRLF>")
    }
    pub fn ready_for_tls() -> Reply {
        Reply::e(220, 2, 0, 0, "Ready to start TLS")
    }
    pub fn reset() -> Reply {
        Reply::e(250, 2, 0, 0, "Reset OK")
    }
    pub fn vrfy() -> Reply {
        Reply::e(
            252,
            2,
            5,
            2,
            "Cannot VRFY user, but will accept message and attempt delivery",
        )
    }
    pub fn help() -> Reply {
        Reply {
            code: 214,
            enhanced: Some([2, 0, 0]),
            lines: vec![
                "Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP STARTTLS".into(),
                "See RFC 5321".into(),
            ],
        }
    }

    // ---- errors in the conversation ----
    pub fn syntax_error(what: &str) -> Reply {
        Reply::e(501, 5, 5, 4, format!("Syntax error: {what}"))
    }
    pub fn unknown_command() -> Reply {
        Reply::e(500, 5, 5, 2, "Command not recognized")
    }
    pub fn not_implemented(cmd: &str) -> Reply {
        Reply::e(502, 5, 5, 1, format!("{cmd} not implemented"))
    }
    pub fn line_too_long() -> Reply {
        Reply::e(500, 5, 5, 6, "Line too long")
    }
    pub fn bad_sequence(what: &str) -> Reply {
        Reply::e(503, 5, 5, 1, format!("Bad sequence of commands: {what}"))
    }
    pub fn bad_parameter(what: &str) -> Reply {
        Reply::e(
            555,
            5,
            5,
            4,
            format!("Unsupported or invalid parameter {what}"),
        )
    }
    pub fn bad_sender() -> Reply {
        Reply::e(553, 5, 1, 7, "Invalid sender address")
    }
    pub fn bad_recipient() -> Reply {
        Reply::e(553, 5, 1, 3, "Invalid recipient address")
    }
    pub fn too_many_recipients() -> Reply {
        Reply::e(452, 4, 5, 3, "Too many recipients")
    }
    pub fn size_exceeded() -> Reply {
        Reply::e(
            552,
            5,
            3,
            4,
            "Message size exceeds fixed maximum message size",
        )
    }
    pub fn tls_already_active() -> Reply {
        Reply::e(503, 5, 5, 1, "TLS already active")
    }
    pub fn tls_unavailable() -> Reply {
        Reply::e(454, 4, 7, 0, "TLS not available")
    }
    pub fn no_valid_recipients() -> Reply {
        Reply::e(554, 5, 5, 1, "No valid recipients")
    }
    pub fn bare_line_ending() -> Reply {
        Reply::e(
            550,
            5,
            5,
            2,
            "Message contains a bare CR or LF; lines must end with CRLF",
        )
    }
    pub fn nul_in_data() -> Reply {
        Reply::e(
            550,
            5,
            6,
            0,
            "Message contains NUL characters, which SMTP does not carry",
        )
    }
    pub fn insufficient_resources() -> Reply {
        Reply::e(
            452,
            4,
            3,
            1,
            "Insufficient system resources for the message now, try again later",
        )
    }
    pub fn data_line_too_long() -> Reply {
        Reply::e(
            552,
            5,
            3,
            4,
            "Message contains a line longer than the limit",
        )
    }
    pub fn smtputf8_required() -> Reply {
        Reply::e(
            553,
            5,
            6,
            7,
            "Non-ASCII address needs the SMTPUTF8 parameter",
        )
    }

    // ---- outcomes of a message ----
    pub fn queued(id: &str) -> Reply {
        Reply::e(250, 2, 0, 0, format!("OK id={id}"))
    }
    /// The upstream's final reply for a relayed message, built from the next hop's positive reply
    /// (its first line, `next_hop`).
    pub fn relayed(id: impl std::fmt::Display, next_hop: &str) -> Reply {
        Reply::e(
            250,
            2,
            0,
            0,
            format!("OK id={id}; next hop said: {next_hop}"),
        )
    }
    pub fn mail_loop(count: usize) -> Reply {
        Reply::e(
            554,
            5,
            4,
            6,
            format!("Mail loop detected: {count} Received headers"),
        )
    }
    pub fn blocked(text: &str) -> Reply {
        Reply::e(550, 5, 7, 1, text)
    }
    pub fn next_hop_unreachable() -> Reply {
        Reply::e(
            451,
            4,
            4,
            1,
            "No next hop could be reached, try again later",
        )
    }
    pub fn next_hop_lost() -> Reply {
        Reply::e(
            451,
            4,
            4,
            2,
            "Connection to the next hop was lost, try again later",
        )
    }
    pub fn next_hop_tls_failed() -> Reply {
        Reply::e(
            451,
            4,
            7,
            5,
            "TLS to the next hop failed; not sending in clear",
        )
    }
    pub fn next_hop_dns_failed() -> Reply {
        Reply::e(451, 4, 4, 3, "Next hop lookup failed, try again later")
    }
    pub fn next_hop_protocol() -> Reply {
        Reply::e(451, 4, 5, 0, "Next hop protocol error, try again later")
    }
    /// The store is full (map cap or disk): the upstream keeps the message and retries.
    pub fn store_full() -> Reply {
        Reply::e(452, 4, 3, 1, "Insufficient system storage, try again later")
    }

    /// Any other store failure (I/O, corrupt page, store unavailable).
    pub fn store_failed() -> Reply {
        Reply::e(451, 4, 3, 0, "Message could not be stored, try again later")
    }

    /// The message is held (quarantine or approval) and committed to the store.
    pub fn held(id: impl std::fmt::Display, held: u64, approval: bool) -> Reply {
        Reply::new(
            250,
            Some([2, 0, 0]),
            format!(
                "OK id={id}; held as {held}{}",
                if approval {
                    " pending approval"
                } else {
                    " for review"
                }
            ),
        )
    }

    /// A gateway listener took custody of the message: built only from the store's receipt of
    /// the synced write that keeps it (acknowledgement follows durability).
    pub fn accepted(receipt: &crate::store::intake::Receipt) -> Reply {
        Reply::e(
            250,
            2,
            0,
            0,
            format!("OK id={}; queued as {}", receipt.guid(), receipt.id()),
        )
    }

    pub fn inspection_failed() -> Reply {
        Reply::e(
            451,
            4,
            3,
            0,
            "Message could not be inspected, try again later",
        )
    }
    /// A recipient the next hop refused for good on a second attempt (a replayed transaction, or a
    /// redirect address), after the upstream was told its recipients are accepted: kept retryable.
    pub fn refused_on_second_attempt() -> Reply {
        Reply::e(
            451,
            4,
            3,
            0,
            "Recipient refused by the next hop on a second attempt, try again later",
        )
    }
    pub fn relay_internal() -> Reply {
        Reply::e(451, 4, 3, 0, "Internal error, try again later")
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some([a, b, c]) = self.enhanced {
            write!(f, " {a}.{b}.{c}")?;
        }
        write!(f, " {}", self.lines.join(" / "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_multiline_with_enhanced_codes() {
        let r = Reply::help();
        assert_eq!(r.to_bytes(true), b"214-2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP STARTTLS\r\n214 2.0.0 See RFC 5321\r\n");
        assert_eq!(Reply::ok().to_bytes(false), b"250 OK\r\n");
    }

    #[test]
    fn line_breaks_in_text_never_reach_the_wire() {
        // Refused, not patched up: the writer sends a temporary failure instead.
        let r = Reply::blocked("evil\r\n250 ok");
        assert_eq!(
            r.to_bytes(true),
            b"451 4.3.0 Internal error: reply text refused, try again later\r\n"
        );
        for bad in ["mx\r\n250 ok", "mx\n250 ok", "mx\r", "mx\0"] {
            let out = Reply::helo(bad, "peer").to_bytes(false);
            assert!(out.starts_with(b"451 "), "{bad:?}: {out:?}");
            assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1, "one line");
            let greeting = Reply::greeting(bad).to_bytes(false);
            assert!(greeting.starts_with(b"421 "), "{bad:?}: {greeting:?}");
        }
        let mut multi = Reply::help();
        multi.lines[1] = "x\r\n250 ok".into();
        assert!(multi.to_bytes(true).starts_with(b"451 4.3.0 "));
    }
}
