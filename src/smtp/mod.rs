//! Sans-I/O SMTP (RFC 5321): command lines, the DATA receiver, the server state machine, and every reply text.
//!
//! Nothing here touches a socket, a file or the clock: `session` feeds bytes in and writes replies out.
//! Security: all input is untrusted. Every buffer is bounded by [`Limits`]; only `<CRLF>.<CRLF>` ends DATA
//! (see `data`), so bare LF / bare CR can never be used to smuggle a second message past Sluice.

pub mod command;
pub mod data;
pub mod host;
pub mod reply;
pub mod server;
pub mod transcript;

pub use command::{Command, LineReader};
pub use data::{DataError, DataReceiver};
pub use host::HostName;
pub use reply::Reply;
pub use server::{Protocol, Step};

/// Per-session bounds on untrusted input. Defaults live in `assets/sluice.toml` (`[listener]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_message_size: usize,
    pub max_recipients: usize,
    pub max_line_length: usize,
    pub max_data_line_length: usize,
    pub max_errors: usize,
    /// NOOP, RSET, VRFY and HELP allowed between two messages before each one also counts as an
    /// error (Postfix's `smtpd_junk_command_limit`).
    pub max_junk_commands: usize,
}

impl Default for Limits {
    /// The same numbers as `assets/sluice.toml`; used by tests and benches that build a protocol directly.
    fn default() -> Self {
        Limits {
            max_message_size: 52_428_800,
            max_recipients: 1000,
            max_line_length: 2048,
            max_data_line_length: 65_536,
            max_errors: 20,
            max_junk_commands: 100,
        }
    }
}

/// What to do with a bare CR or LF inside DATA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BareLineEndings {
    /// Turn it into CRLF (it never ends DATA).
    Normalize,
    /// Refuse the message with 550 5.5.2.
    Reject,
}

/// The set of ESMTP extensions advertised in the EHLO reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Extensions(u16);

impl Extensions {
    pub const SIZE: Extensions = Extensions(1);
    pub const EIGHTBITMIME: Extensions = Extensions(1 << 1);
    pub const PIPELINING: Extensions = Extensions(1 << 2);
    pub const ENHANCEDSTATUSCODES: Extensions = Extensions(1 << 3);
    pub const SMTPUTF8: Extensions = Extensions(1 << 4);
    pub const STARTTLS: Extensions = Extensions(1 << 5);
    pub const DSN: Extensions = Extensions(1 << 6);
    pub const VRFY: Extensions = Extensions(1 << 7);
    pub const HELP: Extensions = Extensions(1 << 8);

    pub const KNOWN: [&'static str; 9] = [
        "SIZE",
        "8BITMIME",
        "PIPELINING",
        "ENHANCEDSTATUSCODES",
        "SMTPUTF8",
        "STARTTLS",
        "DSN",
        "VRFY",
        "HELP",
    ];

    pub const fn empty() -> Extensions {
        Extensions(0)
    }

    pub fn all() -> Extensions {
        Extensions(0x1ff)
    }

    pub fn parse_one(name: &str) -> Option<Extensions> {
        let i = Self::KNOWN
            .iter()
            .position(|k| k.eq_ignore_ascii_case(name))?;
        Some(Extensions(1 << i))
    }

    pub fn with(self, other: Extensions) -> Extensions {
        Extensions(self.0 | other.0)
    }

    pub fn without(self, other: Extensions) -> Extensions {
        Extensions(self.0 & !other.0)
    }

    pub fn has(self, other: Extensions) -> bool {
        self.0 & other.0 == other.0
    }
}
