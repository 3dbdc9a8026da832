//! One event in one format: the catalogue's [`Event`] in, one syslog message (unframed) out, for
//! RFC 5424, RFC 3164, CEF, LEEF and JSON (ECS). Pure. (Interface fixed for issue 12's parts;
//! the bodies are being written.)

use crate::events::Event;

/// A destination's wire format (`format` in a `[[siem]]` table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Rfc5424,
    Rfc3164,
    Cef,
    Leef,
    Json,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Rfc5424,
        Format::Rfc3164,
        Format::Cef,
        Format::Leef,
        Format::Json,
    ];

    /// The name in configuration: `rfc5424`, `rfc3164`, `cef`, `leef`, `json`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Rfc5424 => "rfc5424",
            Format::Rfc3164 => "rfc3164",
            Format::Cef => "cef",
            Format::Leef => "leef",
            Format::Json => "json",
        }
    }

    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// What a destination gets of a subject (`subject` in a `[[siem]]` table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectMode {
    /// As the message had it.
    Clear,
    /// Replaced by a fixed mask (`[masked]`), its presence still visible.
    Mask,
    /// A keyed hash (same subject, same hash on this installation; not reversible by guessing).
    Hash,
    /// Left out.
    Omit,
}

impl SubjectMode {
    pub fn name(self) -> &'static str {
        match self {
            SubjectMode::Clear => "clear",
            SubjectMode::Mask => "mask",
            SubjectMode::Hash => "hash",
            SubjectMode::Omit => "omit",
        }
    }

    pub fn from_name(name: &str) -> Option<SubjectMode> {
        [
            SubjectMode::Clear,
            SubjectMode::Mask,
            SubjectMode::Hash,
            SubjectMode::Omit,
        ]
        .into_iter()
        .find(|m| m.name() == name)
    }
}

/// Everything about a destination that shapes its messages.
#[derive(Debug, Clone)]
pub struct Style {
    pub format: Format,
    /// The syslog HOSTNAME (`server.hostname`).
    pub hostname: String,
    /// Sluice's version (CEF/LEEF device version, JSON `observer.version`).
    pub version: String,
    /// Syslog facility 0..=23 (default 16, local0).
    pub facility: u8,
    pub subject: SubjectMode,
    /// The key of [`SubjectMode::Hash`] (generated on the machine, kept in the data directory).
    pub subject_key: [u8; 32],
}

/// The message for `event` in `style`, without transport framing.
pub fn render(event: &Event, style: &Style) -> String {
    let _ = (event, style);
    todo!("issue 12: formats")
}

/// One UDP datagram of at most `cap` bytes (RFC 5426): a longer message is cut on a character
/// boundary and the cut marked.
pub fn udp_datagram(message: &str, cap: usize) -> Vec<u8> {
    let _ = (message, cap);
    todo!("issue 12: formats")
}
