//! What the store records about a received message (envelope, identity, subject), taken once at end
//! of DATA from the envelope and the message's own header fields.

use crate::message::{Envelope, MessageId, Origin, Recipient, Ret, header};
use crate::policy::Direction;

/// Facts about one received message, as kept with its held copy and its incidents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// Sluice's GUID for the message (`X-dlp-uniquemsgid`).
    pub guid: String,
    pub peer: String,
    pub sender: String,
    pub envid: Option<String>,
    pub ret_full: bool,
    /// Envelope recipients with their NOTIFY and raw ORCPT.
    pub recipients: Vec<Recipient>,
    pub subject: String,
    pub message_id: String,
    /// What makes copies of the message the same message: an `X-dlp-uniquemsgid` it already
    /// carried (an upstream DLP tagged it), else its Message-ID.
    pub identity: String,
    pub direction: Direction,
    pub size: u64,
}

impl Facts {
    pub fn of(
        id: MessageId,
        origin: &Origin,
        envelope: &Envelope,
        message: &[u8],
        internal_domains: &[String],
    ) -> Facts {
        let field = |name: &str| {
            header::first(message, name)
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        };
        let message_id = field("message-id");
        let tagged = field("x-dlp-uniquemsgid");
        Facts {
            guid: id.to_string(),
            peer: origin.peer.ip().to_string(),
            sender: envelope.sender.clone(),
            envid: envelope.params.envid.clone(),
            ret_full: envelope.params.ret == Some(Ret::Full),
            recipients: envelope.recipients.clone(),
            subject: header::subject(message),
            identity: if tagged.is_empty() {
                message_id.clone()
            } else {
                tagged
            },
            message_id,
            direction: Direction::of(envelope, internal_domains),
            size: message.len() as u64,
        }
    }
}
