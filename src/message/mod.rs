//! The message in flight: envelope (with DSN parameters passed through), raw content, and its id.
//!
//! `header` edits the raw header block without re-encoding anything else, so a relayed message is
//! byte-identical to what was received apart from the headers Sluice adds or changes.

pub mod header;
pub mod received;

use std::fmt;

/// Sluice's id for one message transaction; also the `X-dlp-uniquemsgid` GUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageId(pub uuid::Uuid);

impl MessageId {
    pub fn random() -> MessageId {
        MessageId(uuid::Uuid::new_v4())
    }
}

impl fmt::Display for MessageId {
    /// Upper-case hyphenated, as the seed's examples show it (`3984736A-2964-437D-A0EC-67E62D4C187F`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = uuid::Uuid::encode_buffer();
        f.write_str(self.0.hyphenated().encode_upper(&mut buf))
    }
}

/// The BODY parameter of MAIL FROM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Body {
    #[default]
    Unspecified,
    SevenBit,
    EightBitMime,
}

/// DSN RET parameter (RFC 3461).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ret {
    Full,
    Headers,
}

/// Parameters of MAIL FROM that are passed on to the next hop.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailParams {
    pub size: Option<usize>,
    pub body: Body,
    pub smtputf8: bool,
    pub ret: Option<Ret>,
    /// The raw xtext of ENVID, relayed unchanged.
    pub envid: Option<String>,
}

/// DSN NOTIFY parameter (RFC 3461).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Notify {
    pub success: bool,
    pub failure: bool,
    pub delay: bool,
    pub never: bool,
}

impl Notify {
    pub fn is_set(&self) -> bool {
        self.success || self.failure || self.delay || self.never
    }

    /// The NOTIFY= value, e.g. `SUCCESS,FAILURE`.
    pub fn value(&self) -> String {
        if self.never {
            return "NEVER".to_string();
        }
        let mut v = Vec::new();
        if self.success {
            v.push("SUCCESS");
        }
        if self.failure {
            v.push("FAILURE");
        }
        if self.delay {
            v.push("DELAY");
        }
        v.join(",")
    }
}

/// One envelope recipient with its DSN parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub address: String,
    pub notify: Notify,
    /// The raw `addr-type;xtext` of ORCPT, relayed unchanged.
    pub orcpt: Option<String>,
}

impl Recipient {
    pub fn plain(address: impl Into<String>) -> Recipient {
        Recipient {
            address: address.into(),
            notify: Notify::default(),
            orcpt: None,
        }
    }
}

/// The SMTP envelope of one transaction.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Envelope {
    /// The reverse path; empty for the null sender `<>`.
    pub sender: String,
    pub params: MailParams,
    pub recipients: Vec<Recipient>,
}

/// Facts about the upstream connection a message came in on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub peer: std::net::SocketAddr,
    pub helo: String,
    pub tls: bool,
}

/// A received message's bytes: in memory, or mapped read-only from a spool file (large messages).
#[derive(Debug)]
pub enum Content {
    Memory(Vec<u8>),
    Mapped(memmap2::Mmap),
}

impl std::ops::Deref for Content {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Content::Memory(v) => v,
            Content::Mapped(m) => m,
        }
    }
}

impl AsRef<[u8]> for Content {
    fn as_ref(&self) -> &[u8] {
        self
    }
}
