//! Manager approval of held messages: the [`ApprovalDesk`] through which the admin server reads
//! and decides an approval. The signed links approvers click are `crate::link::token` (below this
//! module, `hold` and `admin`; re-exported here as [`token`]).
//!
//! The desk is implemented over the store (one writer; a decision is recorded once, so a link is
//! single use there). This module only names the contract; `admin` renders it, `link` signs it.

pub mod desk;
#[cfg(test)]
mod metatags;
pub mod preview;

pub use crate::link::token::{self, Decision, MessageTag};
pub use preview::Preview;

/// Longest approver comment kept, in characters; the rest is cut.
pub const MAX_COMMENT_CHARS: usize = 1000;

/// An approver's comment as it is kept and shown: control characters removed (line breaks become
/// spaces), surrounding white space trimmed, at most [`MAX_COMMENT_CHARS`] characters. Output
/// escaping is the renderer's job (maud on the page, the template's place in a notice).
pub fn clean_comment(raw: &str) -> String {
    let one_line: String = raw
        .chars()
        .filter_map(|c| match c {
            '\r' | '\n' | '\t' => Some(' '),
            c if c.is_control() => None,
            // Bidirectional overrides and isolates could make the text read differently.
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => None,
            c => Some(c),
        })
        .take(MAX_COMMENT_CHARS)
        .collect();
    one_line.trim().to_string()
}

/// What an approver sees about a held message before deciding. Every field is already safe to
/// show the approver: findings are redacted evidence, never matched values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalSummary {
    /// The envelope sender.
    pub sender: String,
    /// The envelope recipients.
    pub recipients: Vec<String>,
    /// The Subject header, decoded.
    pub subject: String,
    /// Message size in bytes.
    pub size: u64,
    /// When Sluice received the message (Unix seconds).
    pub received: u64,
    /// Names of the policies that asked for approval.
    pub policies: Vec<String>,
    /// Redacted findings (e.g. `CREDIT_CARD: 4111 **** **** 1111`).
    pub findings: Vec<String>,
    /// When the approval lapses and the message goes back to its sender (Unix seconds).
    pub expires: u64,
    /// Where the approval stands now.
    pub state: ApprovalState,
    /// A text preview of the body and the attachment list (`approval.preview`; `None` when it is
    /// off or the content is no longer held).
    pub preview: Option<Preview>,
}

/// The state of one approval. `by` names the approver as the desk knows them (their address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalState {
    /// Waiting for a decision.
    Pending,
    /// Approved by `by` at `at` (Unix seconds).
    Approved { by: String, at: u64 },
    /// Rejected by `by` at `at` (Unix seconds).
    Rejected { by: String, at: u64 },
    /// No decision came in time; lapsed at `at` (Unix seconds).
    Expired { at: u64 },
}

/// The result of [`ApprovalDesk::decide`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decided {
    /// This call recorded the decision; the new state.
    Done(ApprovalState),
    /// Someone decided before (a replayed link, a second approver); the state they left.
    AlreadyDecided(ApprovalState),
    /// The approval lapsed before the decision came.
    Expired,
}

/// Why the desk could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeskError {
    /// No such approval (purged, or never existed).
    #[error("approval not found")]
    NotFound,
    /// The store cannot be read or written now; try again later.
    #[error("approval store unavailable: {0}")]
    Unavailable(String),
}

/// Reads and decides approvals. Implemented over the store; the admin server holds it as
/// `Arc<dyn ApprovalDesk>`. Calls may block (store reads and commits): the server runs them off
/// the async threads.
pub trait ApprovalDesk: Send + Sync {
    /// The approval's summary, in whatever state it is. `message` is the link's
    /// [`token::message_tag`]: when it is not the held message's, the approval is
    /// [`DeskError::NotFound`] (the number belongs to another message now).
    fn summary(&self, approval: u64, message: &MessageTag) -> Result<ApprovalSummary, DeskError>;
    /// Records `decision` by `approver` at `now` (Unix seconds), once: a second call reports
    /// [`Decided::AlreadyDecided`] and changes nothing. `message` as for [`ApprovalDesk::summary`],
    /// checked before anything else. `comment` is the approver's optional comment, untrusted
    /// (the desk keeps it through [`clean_comment`]).
    fn decide(
        &self,
        approval: u64,
        message: &MessageTag,
        approver: u32,
        decision: Decision,
        comment: &str,
        now: u64,
    ) -> Result<Decided, DeskError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comment_is_one_bounded_line_without_control_characters() {
        assert_eq!(
            clean_comment("  ok\r\nsend it\u{7}\u{1b}[31m\u{202e}txt\t "),
            "ok  send it[31mtxt"
        );
        let long = "é".repeat(MAX_COMMENT_CHARS + 50);
        assert_eq!(clean_comment(&long).chars().count(), MAX_COMMENT_CHARS);
        assert_eq!(clean_comment(""), "");
    }
}
