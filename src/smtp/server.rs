//! The server side of one SMTP conversation as a pure state machine: lines in, [`Step`]s out.
//!
//! It owns the envelope being built, the order rules of RFC 5321, extension checks and the per-session
//! error budget. It knows nothing of sockets, TLS or time; `session` does the I/O and calls back
//! [`Protocol::tls_started`] and [`Protocol::take_envelope`].

use super::command::{Command, Line};
use super::data::DataReceiver;
use super::reply::Reply;
use super::{BareLineEndings, Extensions, Limits};
use crate::message::{Body, Envelope, MailParams, Recipient};

/// Fixed settings for the conversations of one listener.
#[derive(Debug, Clone)]
pub struct Settings {
    pub hostname: super::HostName,
    pub limits: Limits,
    pub extensions: Extensions,
    pub bare_line_endings: BareLineEndings,
    /// Whether a TLS server configuration exists (STARTTLS can only be offered then).
    pub tls_available: bool,
    /// `listener.starttls`: offered, required before MAIL, or not offered.
    pub starttls: Starttls,
}

/// Whether a listener offers STARTTLS (`listener.starttls`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Starttls {
    /// Advertised (when `STARTTLS` is in the extensions); plaintext mail is accepted too.
    #[default]
    Offer,
    /// Advertised, and MAIL before TLS gets `530 5.7.0` (RFC 3207 section 4).
    Require,
    /// Not advertised; STARTTLS gets `454`.
    Off,
}

impl Starttls {
    pub fn name(self) -> &'static str {
        match self {
            Starttls::Offer => "offer",
            Starttls::Require => "require",
            Starttls::Off => "off",
        }
    }
}

/// `530 5.7.0`: MAIL before STARTTLS on a listener that requires TLS (RFC 3207 section 4).
fn tls_required() -> Reply {
    Reply::new(530, Some([5, 7, 0]), "Must issue a STARTTLS command first")
}

/// What the session must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send this reply and read the next command.
    Reply(Reply),
    /// MAIL passed the local checks: make sure a next hop is there, then call [`Protocol::accept_mail`].
    Mail { sender: String, params: MailParams },
    /// RCPT passed the local checks: ask the next hop, then call [`Protocol::accept_rcpt`] if it agreed.
    Rcpt(Recipient),
    /// Send `354`, then receive the message with [`Protocol::data_receiver`].
    StartData,
    /// Send `220`, discard buffered input, and run the TLS handshake.
    StartTls,
    /// Send this reply and close the connection.
    Close(Reply),
}

#[derive(Debug)]
pub struct Protocol {
    settings: Settings,
    peer: String,
    helo: Option<String>,
    esmtp: bool,
    tls: bool,
    envelope: Option<Envelope>,
    errors: usize,
    /// NOOP, RSET, VRFY and HELP since the last message.
    junk: usize,
}

impl Protocol {
    pub fn new(settings: Settings, peer: String) -> Protocol {
        Protocol {
            settings,
            peer,
            helo: None,
            esmtp: false,
            tls: false,
            envelope: None,
            errors: 0,
            junk: 0,
        }
    }

    pub fn greeting(&self) -> Reply {
        Reply::greeting(&self.settings.hostname)
    }

    /// Whether replies carry enhanced status codes (after EHLO, when the extension is on).
    pub fn enhanced(&self) -> bool {
        self.esmtp
            && self
                .settings
                .extensions
                .has(Extensions::ENHANCEDSTATUSCODES)
    }

    pub fn helo(&self) -> &str {
        self.helo.as_deref().unwrap_or("")
    }

    /// The client said EHLO (not HELO).
    pub fn esmtp(&self) -> bool {
        self.esmtp
    }

    pub fn tls_active(&self) -> bool {
        self.tls
    }

    /// Whether a transaction is open (MAIL given, message not yet taken).
    pub fn in_transaction(&self) -> bool {
        self.envelope.is_some()
    }

    fn offered(&self) -> Extensions {
        let mut e = self.settings.extensions;
        if self.tls || !self.settings.tls_available || self.settings.starttls == Starttls::Off {
            e = e.without(Extensions::STARTTLS);
        }
        e
    }

    /// Handles one framed command line.
    pub fn on_line(&mut self, line: Line) -> Step {
        let text = match line {
            Line::Text(t) => t,
            Line::TooLong => return self.error(Reply::line_too_long()),
        };
        let command = match Command::parse(&text) {
            Ok(c) => c,
            Err(reply) => return self.error(reply),
        };
        self.on_command(command)
    }

    fn on_command(&mut self, command: Command) -> Step {
        let ext = self.offered();
        match command {
            Command::Ehlo(host) => {
                self.helo = Some(host);
                self.esmtp = true;
                self.envelope = None;
                Step::Reply(self.ehlo_reply(ext))
            }
            Command::Helo(host) => {
                self.helo = Some(host);
                self.esmtp = false;
                self.envelope = None;
                Step::Reply(Reply::helo(&self.settings.hostname, &self.peer))
            }
            Command::Mail { sender, params } => {
                if self.helo.is_none() {
                    return self.error(Reply::bad_sequence("send EHLO or HELO first"));
                }
                if self.envelope.is_some() {
                    return self.error(Reply::bad_sequence("nested MAIL command"));
                }
                if self.settings.starttls == Starttls::Require && !self.tls {
                    return self.error(tls_required());
                }
                if params.size.is_some() && !ext.has(Extensions::SIZE) {
                    return self.error(Reply::bad_parameter("SIZE"));
                }
                if params
                    .size
                    .is_some_and(|s| s > self.settings.limits.max_message_size)
                {
                    return Step::Reply(Reply::size_exceeded());
                }
                if params.body == Body::EightBitMime && !ext.has(Extensions::EIGHTBITMIME) {
                    return self.error(Reply::bad_parameter("BODY=8BITMIME"));
                }
                if params.smtputf8 && !ext.has(Extensions::SMTPUTF8) {
                    return self.error(Reply::bad_parameter("SMTPUTF8"));
                }
                if (params.ret.is_some() || params.envid.is_some()) && !ext.has(Extensions::DSN) {
                    return self.error(Reply::bad_parameter("RET/ENVID (DSN is not offered)"));
                }
                if !sender.is_ascii() && !params.smtputf8 {
                    return self.error(Reply::smtputf8_required());
                }
                Step::Mail { sender, params }
            }
            Command::Rcpt(rcpt) => {
                let Some(env) = self.envelope.as_ref() else {
                    return self.error(Reply::bad_sequence("send MAIL first"));
                };
                let (count, utf8) = (env.recipients.len(), env.params.smtputf8);
                if (rcpt.notify.is_set() || rcpt.orcpt.is_some()) && !ext.has(Extensions::DSN) {
                    return self.error(Reply::bad_parameter("NOTIFY/ORCPT (DSN is not offered)"));
                }
                if !rcpt.address.is_ascii() && !utf8 {
                    return self.error(Reply::smtputf8_required());
                }
                if rcpt.address.is_empty() {
                    return self.error(Reply::bad_recipient());
                }
                if count >= self.settings.limits.max_recipients {
                    return Step::Reply(Reply::too_many_recipients());
                }
                Step::Rcpt(rcpt)
            }
            Command::Data => match &self.envelope {
                None => self.error(Reply::bad_sequence("send MAIL and RCPT first")),
                Some(env) if env.recipients.is_empty() => self.error(Reply::no_valid_recipients()),
                Some(_) => Step::StartData,
            },
            Command::Rset => {
                self.envelope = None;
                self.junk(Reply::reset())
            }
            Command::Noop => self.junk(Reply::ok()),
            Command::Quit => Step::Close(Reply::closing(&self.settings.hostname)),
            Command::Vrfy if ext.has(Extensions::VRFY) => self.junk(Reply::vrfy()),
            Command::Help if ext.has(Extensions::HELP) => self.junk(Reply::help()),
            Command::Vrfy => self.error(Reply::not_implemented("VRFY")),
            Command::Help => self.error(Reply::not_implemented("HELP")),
            Command::StartTls => {
                if self.tls {
                    self.error(Reply::tls_already_active())
                } else if !ext.has(Extensions::STARTTLS) {
                    self.error(Reply::tls_unavailable())
                } else {
                    Step::StartTls
                }
            }
            Command::NotImplemented(name) => self.error(Reply::not_implemented(name)),
        }
    }

    fn ehlo_reply(&self, ext: Extensions) -> Reply {
        let pairs: [(Extensions, String); 9] = [
            (
                Extensions::SIZE,
                format!("SIZE {}", self.settings.limits.max_message_size),
            ),
            (Extensions::EIGHTBITMIME, "8BITMIME".into()),
            (Extensions::PIPELINING, "PIPELINING".into()),
            (
                Extensions::ENHANCEDSTATUSCODES,
                "ENHANCEDSTATUSCODES".into(),
            ),
            (Extensions::SMTPUTF8, "SMTPUTF8".into()),
            (Extensions::STARTTLS, "STARTTLS".into()),
            (Extensions::DSN, "DSN".into()),
            (Extensions::VRFY, "VRFY".into()),
            (Extensions::HELP, "HELP".into()),
        ];
        let keywords = pairs
            .into_iter()
            .filter(|(e, _)| ext.has(*e))
            .map(|(_, s)| s);
        Reply::ehlo(&self.settings.hostname, &self.peer, keywords)
    }

    /// Counts a junk command (NOOP, RSET, VRFY, HELP); past `max_junk_commands` since the last
    /// message each one is also an error, so the session ends at the error budget.
    fn junk(&mut self, reply: Reply) -> Step {
        self.junk += 1;
        if self.junk > self.settings.limits.max_junk_commands {
            self.error(reply)
        } else {
            Step::Reply(reply)
        }
    }

    /// Counts a client error; past the budget the session is closed.
    fn error(&mut self, reply: Reply) -> Step {
        self.errors += 1;
        if self.errors >= self.settings.limits.max_errors {
            Step::Close(Reply::too_many_errors())
        } else {
            Step::Reply(reply)
        }
    }

    /// The next hop accepted MAIL: the transaction is open.
    pub fn accept_mail(&mut self, sender: String, params: MailParams) {
        self.envelope = Some(Envelope {
            sender,
            params,
            recipients: Vec::new(),
        });
    }

    /// The next hop accepted RCPT.
    pub fn accept_rcpt(&mut self, rcpt: Recipient) {
        if let Some(env) = self.envelope.as_mut() {
            env.recipients.push(rcpt);
        }
    }

    /// A receiver for the message after `354`, with this listener's limits.
    pub fn data_receiver(&self) -> DataReceiver {
        let l = self.settings.limits;
        DataReceiver::new(
            l.max_message_size,
            l.max_data_line_length,
            self.settings.bare_line_endings,
        )
    }

    /// The open transaction, if MAIL was accepted.
    pub fn envelope(&self) -> Option<&Envelope> {
        self.envelope.as_ref()
    }

    /// Ends the transaction after DATA and hands over its envelope.
    pub fn take_envelope(&mut self) -> Option<Envelope> {
        self.junk = 0;
        self.envelope.take()
    }

    /// After a TLS handshake the conversation starts over (RFC 3207 section 4.2).
    pub fn tls_started(&mut self) {
        self.tls = true;
        self.helo = None;
        self.esmtp = false;
        self.envelope = None;
    }
}

#[cfg(test)]
mod tests;
