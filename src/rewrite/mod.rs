//! Message rewriting (pure: no I/O, no clock): disclaimers added to the body texts and
//! attachments removed or replaced by a notice, producing new message bytes.
//!
//! The gateway and the in-line proxy make one call each: [`plan`] turns the configured
//! `[[disclaimer]]` rules (by direction and sender domain) and the deciding policies' body edits
//! into a list of [`Edit`]s, and [`apply`] makes them (`None`: the message stays as it is, no copy
//! made).
//!
//! Invariants: signed and encrypted content (multipart/signed, multipart/encrypted, S/MIME
//! `pkcs7-mime`, inline PGP) is never modified by a disclaimer: the message is wrapped in a new
//! multipart/mixed instead, its original body and MIME fields untouched byte for byte in the first
//! part. Attachments and nested messages never get a disclaimer. A disclaimer is added once: a
//! message carrying its marker field ([`MARKER`]) is left alone, one already ending with its text
//! only gets the marker (gateway listeners remove the markers clients send, `gateway::intake`).
//! Bad MIME never panics; it can at worst leave the message unchanged.

mod disclaimer;
mod encode;
mod mime;
mod strip;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::sync::Arc;

use crate::policy::Direction;

/// The field that marks a message as carrying a disclaimer (its value is the disclaimer's name).
/// Only ever read to avoid adding the same disclaimer twice.
pub const MARKER: &str = "X-Sluice-Disclaimer";

/// A `[[disclaimer]]` table as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disclaimer {
    pub name: String,
    /// The directions whose mail gets it (outbound by default).
    pub directions: Vec<Direction>,
    /// Sender domains (`corp.example`; `.corp.example` for the names below it); empty: any.
    pub sender_domains: Vec<String>,
    /// Added to text/plain bodies (and as the separate part).
    pub text: String,
    /// Added to text/html bodies; when absent, the text as HTML.
    pub html: Option<String>,
    /// A message with a DKIM-Signature field is left unchanged (modifying it would break the
    /// signature).
    pub skip_dkim_signed: bool,
}

impl Disclaimer {
    /// The HTML to add: as configured, else the text escaped, its lines joined by `<br>`.
    pub fn html_or_text(&self) -> String {
        match &self.html {
            Some(h) => h.clone(),
            None => {
                let escaped = self
                    .text
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
                    .replace('\r', "");
                format!("<div>{}</div>", escaped.replace('\n', "<br>"))
            }
        }
    }

    /// Whether this rule applies to a message of `direction` from `sender`.
    pub fn applies(&self, direction: Direction, sender: &str) -> bool {
        if !self.directions.contains(&direction) {
            return false;
        }
        if self.sender_domains.is_empty() {
            return true;
        }
        let domain = sender.rsplit_once('@').map_or("", |(_, d)| d);
        self.sender_domains
            .iter()
            .any(|d| match d.strip_prefix('.') {
                Some(parent) => {
                    domain.len() > parent.len() + 1
                        && domain.as_bytes()[domain.len() - parent.len() - 1] == b'.'
                        && domain[domain.len() - parent.len()..].eq_ignore_ascii_case(parent)
                }
                None => domain.eq_ignore_ascii_case(d),
            })
    }
}

/// Which attachments a strip removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attachments {
    /// Every attachment of the message (not its body texts).
    All,
    /// Those the policy's evidence is in: display paths as in `decompose`'s locations
    /// (`report.pdf`, `a.zip/b.txt`: the top-level attachment is removed). If none of them is
    /// found in the message, every attachment is removed: a match is never left in place.
    Matched(Vec<String>),
}

/// One change to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// Remove attachments; with a notice, each is replaced by a text part saying so.
    Strip {
        attachments: Attachments,
        notice: Option<String>,
    },
    Disclaimer(Arc<Disclaimer>),
}

/// Why a message could not be rewritten as a policy asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RewriteError {
    /// Attachments were to be removed but the message's structure could not be read.
    #[error("the message's MIME structure could not be read to remove attachments")]
    Unparsable,
}

/// A rewritten message, and what was done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewritten {
    pub message: Vec<u8>,
    /// Display names of the attachments removed or replaced.
    pub stripped: Vec<String>,
    /// Names of the disclaimers added.
    pub disclaimers: Vec<String>,
}

impl Rewritten {
    /// What was done, for an incident's action and the log (names of files, never content).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.stripped.is_empty() {
            parts.push(format!("attachments removed: {}", self.stripped.join(", ")));
        }
        if !self.disclaimers.is_empty() {
            parts.push(format!("disclaimer {}", self.disclaimers.join(", ")));
        }
        parts.join("; ")
    }
}

/// The edits for one message: the policies' body edits (strips first), then the first
/// `[[disclaimer]]` rule for its direction and sender, each disclaimer once.
pub fn plan(
    disclaimers: &[Disclaimer],
    direction: Direction,
    sender: &str,
    policy: &[Edit],
) -> Vec<Edit> {
    let mut out: Vec<Edit> = policy
        .iter()
        .filter(|e| matches!(e, Edit::Strip { .. }))
        .cloned()
        .collect();
    let named = |out: &[Edit], name: &str| {
        out.iter()
            .any(|e| matches!(e, Edit::Disclaimer(d) if d.name == name))
    };
    for e in policy {
        if let Edit::Disclaimer(d) = e
            && !named(&out, &d.name)
        {
            out.push(e.clone());
        }
    }
    if let Some(d) = disclaimers.iter().find(|d| d.applies(direction, sender))
        && !named(&out, &d.name)
    {
        out.push(Edit::Disclaimer(Arc::new(d.clone())));
    }
    out
}

/// Makes the edits, in order. `Ok(None)`: nothing to change (no edit, no attachment to remove,
/// every disclaimer already there or skipped). A message without a readable header gets no
/// disclaimer; removing the attachments the policies matched in one is an error (never relayed
/// with them).
pub fn apply(message: &[u8], edits: &[Edit]) -> Result<Option<Rewritten>, RewriteError> {
    let mut current: Cow<'_, [u8]> = Cow::Borrowed(message);
    let mut stripped = Vec::new();
    let mut added = Vec::new();
    for edit in edits {
        let Some(tree) = mime::parse(&current) else {
            match edit {
                Edit::Strip {
                    attachments: Attachments::Matched(paths),
                    ..
                } if !paths.is_empty() => return Err(RewriteError::Unparsable),
                _ => continue,
            }
        };
        match edit {
            Edit::Strip {
                attachments,
                notice,
            } => {
                if let Some((m, names)) =
                    strip::strip(&current, &tree, attachments, notice.as_deref())
                {
                    current = Cow::Owned(m);
                    stripped.extend(names);
                }
            }
            Edit::Disclaimer(d) => {
                if let disclaimer::Added::Message(m) = disclaimer::add(&current, &tree, d) {
                    current = Cow::Owned(m);
                    added.push(d.name.clone());
                }
            }
        }
    }
    Ok(match current {
        Cow::Borrowed(_) => None,
        Cow::Owned(message) => Some(Rewritten {
            message,
            stripped,
            disclaimers: added,
        }),
    })
}
