//! Notifications: turns facts about a message into ready-to-send RFC 5322 messages (policy
//! violation notices, approval requests and outcomes, quarantine releases) and RFC 3464 DSNs.
//!
//! Pure: no I/O, no clock (times come in as Unix seconds), no randomness (the caller hands in
//! each notice's id). It does not decide when to notify or send anything: the quarantine,
//! approval and queue shell does, with the bytes returned here and the null sender
//! (`MAIL FROM:<>`), so a notice can never bounce back into a loop.
//!
//! `template` parses and expands `${NAME}` metatags; `facts` turns [`Facts`] into tag values;
//! `defaults` holds the embedded default template of every [`Kind`]; `build` writes the MIME
//! message; `dsn` writes delivery status notifications.
//!
//! Privacy: [`Facts`] carries only redacted evidence (the caller's job), and its `Debug` shows
//! no subject, file name or evidence, so a notice's content cannot reach a log through it.

pub mod build;
mod defaults;
pub mod dsn;
mod facts;
pub mod template;

use std::fmt;

pub use build::{Attach, Outgoing};
pub use template::{Place, Tag, Template, TemplateError};

use crate::policy::Severity;

/// The kinds of notice, each with its own template and audience.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// To the sender: their message violated a policy. Off by default (backscatter).
    SenderViolation,
    /// To the administrators: a message violated a policy, and what was done with it.
    AdminViolation,
    /// To the recipients: a message addressed to them violated a policy.
    RecipientViolation,
    /// To the approvers: a message waits for a decision (approve and reject links, expiry).
    ApprovalRequest,
    /// To the sender: an approver approved the message and it was delivered.
    Approved,
    /// To the sender: an approver rejected the message for these recipients.
    Rejected,
    /// To the sender: no decision was made in time; the message is returned.
    Expired,
    /// To the recipients or administrators: a quarantined message was released.
    Released,
}

impl Kind {
    /// Every kind, in documentation order.
    pub const ALL: [Kind; 8] = [
        Kind::SenderViolation,
        Kind::AdminViolation,
        Kind::RecipientViolation,
        Kind::ApprovalRequest,
        Kind::Approved,
        Kind::Rejected,
        Kind::Expired,
        Kind::Released,
    ];

    /// The configuration name (`[notifications.templates.<name>]`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::SenderViolation => "sender_violation",
            Kind::AdminViolation => "admin_violation",
            Kind::RecipientViolation => "recipient_violation",
            Kind::ApprovalRequest => "approval_request",
            Kind::Approved => "approved",
            Kind::Rejected => "rejected",
            Kind::Expired => "expired",
            Kind::Released => "released",
        }
    }

    /// The kind with this configuration name.
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    fn index(self) -> usize {
        self as usize
    }

    /// Whether a template of this kind may use `tag`; `Err` says why not. Tags that would tell
    /// the wrong audience too much are refused at load time rather than silently emptied:
    /// the approve and reject links are capabilities (a sender holding them could approve their
    /// own message), and the disposition is for administrators (as in the seed).
    pub fn allows(self, tag: Tag) -> Result<(), &'static str> {
        match tag {
            Tag::ApproveUrl | Tag::RejectUrl if self != Kind::ApprovalRequest => {
                Err("the approve and reject links are single-use capabilities for approvers only")
            }
            Tag::Disposition if self != Kind::AdminViolation => {
                Err("how a message was handled is told to administrators only")
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One policy a message violated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyFact {
    pub id: u64,
    pub name: String,
    pub severity: Severity,
}

/// One entry of `${CONTENTINFO}`, already redacted by the caller.
#[derive(Clone, PartialEq, Eq)]
pub enum Content {
    /// A rule that held: `detail` says which detector matched how often and where (for example
    /// a line of `policy::Verdict::detail`), never a matched value.
    Rule {
        policy: String,
        rule: String,
        detail: String,
    },
    /// The seed's subject blocking: the configured pattern and the subject that matched it.
    Subject { specified: String, matched: String },
    /// The seed's file-name blocking: the blocked file names and the pattern they matched.
    FileName {
        names: Vec<String>,
        specified: String,
    },
    /// Decomposition went past a limit (`limit` names it; empty: the seed's depth text).
    LimitExceeded { limit: String },
}

impl fmt::Debug for Content {
    /// Names the variant only: subjects and file names are message content.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Content::Rule { .. } => "Content::Rule",
            Content::Subject { .. } => "Content::Subject",
            Content::FileName { .. } => "Content::FileName",
            Content::LimitExceeded { .. } => "Content::LimitExceeded",
        })
    }
}

/// How a message was handled (`${DISPOSITION}`, administrator notices only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    Blocked,
    Dropped,
    Quarantined,
    HeldForApproval,
    Redirected,
    DeliveredModified,
    Delivered,
    /// Delivered unchanged because every matching policy only monitors (or trial mode).
    Monitored,
    Released,
    Deleted,
    Approved,
    Rejected,
    Expired,
}

impl Disposition {
    /// The sentence shown for `${DISPOSITION}` (the seed's example: "The message was dropped").
    pub fn text(self) -> &'static str {
        match self {
            Disposition::Blocked => "The message was blocked and the sending server was told so.",
            Disposition::Dropped => "The message was dropped.",
            Disposition::Quarantined => "The message was quarantined.",
            Disposition::HeldForApproval => {
                "The message is held in quarantine until an approver decides."
            }
            Disposition::Redirected => "The message was redirected instead of delivered.",
            Disposition::DeliveredModified => "The message was delivered with changes.",
            Disposition::Delivered => "The message was delivered.",
            Disposition::Monitored => {
                "The message was delivered unchanged (the policy only monitors)."
            }
            Disposition::Released => "The message was released from quarantine and delivered.",
            Disposition::Deleted => "The message was deleted from quarantine.",
            Disposition::Approved => "The message was approved and delivered.",
            Disposition::Rejected => "The message was rejected by an approver and deleted.",
            Disposition::Expired => {
                "No decision was made in time; the message was returned to the sender."
            }
        }
    }
}

/// Everything a notice can tell about one message. All evidence is already redacted; fields that
/// do not apply stay empty (or `None`) and their tags expand to nothing.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Sluice's message GUID (`X-dlp-uniquemsgid`).
    pub guid: String,
    /// The envelope sender; empty for the null sender.
    pub sender: String,
    pub recipients: Vec<String>,
    /// The decoded Subject of the message.
    pub subject: String,
    /// When the message was received (Unix seconds).
    pub date: Option<u64>,
    /// The message's own Message-ID, without angle brackets.
    pub message_id: String,
    /// Size in bytes.
    pub size: Option<u64>,
    pub policies: Vec<PolicyFact>,
    pub content: Vec<Content>,
    /// Virus names with their signature (none today: Sluice has no virus scanner).
    pub viruses: Vec<String>,
    /// The message contained an encrypted container.
    pub encrypted: bool,
    pub disposition: Option<Disposition>,
    pub quarantine_id: String,
    pub incident_ids: Vec<String>,
    /// Signed, single-use links (approval requests only).
    pub approve_url: String,
    pub reject_url: String,
    /// When an approval request expires (Unix seconds).
    pub expires: Option<u64>,
    /// Free text: why this notice is sent (an approver's comment, a release reason).
    pub reason: String,
    /// The approver's own comment with the decision (already bounded and cleaned by the caller).
    pub approver_comment: String,
}

impl fmt::Debug for Facts {
    /// Ids, addresses and counts only (the subject and evidence are content).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Facts")
            .field("guid", &self.guid)
            .field("sender", &self.sender)
            .field("recipients", &self.recipients.len())
            .field(
                "policies",
                &self.policies.iter().map(|p| p.id).collect::<Vec<_>>(),
            )
            .field("content", &self.content.len())
            .field("quarantine_id", &self.quarantine_id)
            .field("incident_ids", &self.incident_ids)
            .finish_non_exhaustive()
    }
}

/// One kind's template: subject, text body and an optional HTML body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeTemplate {
    pub subject: Template,
    pub text: Template,
    pub html: Option<Template>,
}

/// Which part of a [`NoticeTemplate`] a text is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Subject,
    Text,
    Html,
}

impl Section {
    /// The configuration key.
    pub fn name(self) -> &'static str {
        match self {
            Section::Subject => "subject",
            Section::Text => "text",
            Section::Html => "html",
        }
    }
}

/// A notice rendered for one message, ready for [`build::message`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

/// The template of every kind: the embedded defaults with the configured overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Templates {
    list: Vec<NoticeTemplate>,
}

impl Default for Templates {
    fn default() -> Templates {
        Templates::defaults()
    }
}

impl Templates {
    /// The embedded defaults (see `defaults.rs`; a test proves each one parses and is allowed).
    pub fn defaults() -> Templates {
        Templates {
            list: Kind::ALL.map(defaults::template).to_vec(),
        }
    }

    /// Replaces one section of one kind's template. An empty HTML text removes the HTML part.
    /// Fails, naming the tag, for an unknown tag or one the kind does not allow.
    pub fn set(&mut self, kind: Kind, section: Section, text: &str) -> Result<(), TemplateError> {
        let parsed = Template::parse(text)?;
        for (tag, offset) in parsed.tags() {
            kind.allows(tag).map_err(|why| TemplateError::NotAllowed {
                tag,
                kind: kind.name(),
                why,
                offset,
            })?;
        }
        let slot = &mut self.list[kind.index()];
        match section {
            Section::Subject => slot.subject = parsed,
            Section::Text => slot.text = parsed,
            Section::Html => slot.html = (!text.trim().is_empty()).then_some(parsed),
        }
        Ok(())
    }

    /// The template of `kind`.
    pub fn get(&self, kind: Kind) -> &NoticeTemplate {
        &self.list[kind.index()]
    }

    /// Renders `kind` for `facts`; `hostname` is `${HOSTNAME}` (this gateway's name).
    pub fn render(&self, kind: Kind, facts: &Facts, hostname: &str) -> Rendered {
        let t = self.get(kind);
        let value = |tag: Tag| {
            let v = facts::value(tag, facts, hostname);
            if v.is_empty() {
                tag.fallback().to_string()
            } else {
                v
            }
        };
        Rendered {
            subject: t.subject.render(Place::Subject, value),
            text: t.text.render(Place::Text, value),
            html: t.html.as_ref().map(|h| h.render(Place::Html, value)),
        }
    }
}

/// The validated `[notifications]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The From address of every notice (DSNs use `MAILER-DAEMON@hostname`).
    pub from: String,
    /// Administrator addresses for `admin_violation` (empty: no administrator notices).
    pub admin: Vec<String>,
    /// Whether `sender_violation` notices are sent at all (default off: backscatter).
    pub sender_notices: bool,
    /// How much of the original message a notice carries.
    pub attach_original: Attach,
    pub templates: Templates,
    /// This gateway's host name: `${HOSTNAME}`, Message-ID domain, DSN Reporting-MTA.
    pub hostname: String,
}

impl Settings {
    /// The embedded defaults for a gateway called `hostname`.
    pub fn defaults(hostname: &str) -> Settings {
        Settings {
            from: format!("postmaster@{hostname}"),
            admin: Vec::new(),
            sender_notices: false,
            attach_original: Attach::Headers,
            templates: Templates::defaults(),
            hostname: hostname.to_string(),
        }
    }

    /// Whether a notice of `kind` about this message has anyone to go to: never to the null
    /// sender, sender violation notices only when `sender_notices` is on, administrator notices
    /// only when administrators are configured.
    pub fn wanted(&self, kind: Kind, facts: &Facts) -> bool {
        match kind {
            Kind::SenderViolation => self.sender_notices && !facts.sender.is_empty(),
            Kind::Approved | Kind::Rejected | Kind::Expired => !facts.sender.is_empty(),
            Kind::AdminViolation => !self.admin.is_empty(),
            Kind::RecipientViolation | Kind::ApprovalRequest | Kind::Released => true,
        }
    }

    /// Renders and builds one notice of `kind` to `to`, dated `now` (Unix seconds), with `id`
    /// as its Message-ID (`<id@hostname>`). `original` is the message the notice is about; how
    /// much of it is attached follows `attach_original` (an expired message is always returned
    /// whole when it can be, as the seed's "returned to the sender" asks).
    pub fn notice(
        &self,
        kind: Kind,
        facts: &Facts,
        to: &[String],
        id: uuid::Uuid,
        now: u64,
        original: Option<&[u8]>,
    ) -> Vec<u8> {
        let rendered = self.templates.render(kind, facts, &self.hostname);
        let attach = match kind {
            Kind::Expired => Attach::Full,
            _ => self.attach_original,
        };
        build::message(&Outgoing {
            id,
            hostname: &self.hostname,
            date: now,
            from_name: "Sluice",
            from: &self.from,
            to,
            kind: kind.name(),
            rendered: &rendered,
            original,
            attach,
        })
    }
}

impl Settings {
    /// A system alert to the administrators (the seed's Alerts: "Low Disk Space Threshold
    /// Exceeded", ...): a fixed subject and text, no template, nothing attached. `None` when no
    /// administrator address is configured.
    pub fn alert(&self, subject: &str, text: &str, id: uuid::Uuid, now: u64) -> Option<Vec<u8>> {
        if self.admin.is_empty() {
            return None;
        }
        let rendered = Rendered {
            subject: template::single_line(subject, template::MAX_SUBJECT_CHARS),
            text: text.to_string(),
            html: None,
        };
        Some(build::message(&Outgoing {
            id,
            hostname: &self.hostname,
            date: now,
            from_name: "Sluice",
            from: &self.from,
            to: &self.admin,
            kind: "alert",
            rendered: &rendered,
            original: None,
            attach: Attach::None,
        }))
    }
}

#[cfg(test)]
mod tests;
