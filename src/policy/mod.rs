//! Sans-I/O policies (response rules): conditions over envelope and content, and how the actions of
//! several matching policies combine into one [`Verdict`].
//!
//! Combination rule (documented in ARCHITECTURE.md): the strongest enforcing action wins,
//! Block > Redirect > Modify > Log. Every matching Modify edit is applied to a message that is relayed
//! (including a redirected one), in policy order; all matching Redirect addresses receive it.
//! Monitor-mode policies are reported but never change the message; in trial mode nothing does.

mod matcher;

use std::sync::Arc;

use crate::decompose::Content;
use crate::message::Envelope;
use matcher::{Glob, Keywords};
pub use matcher::{check_address, check_regex};

pub const DEFAULT_BLOCK_TEXT: &str = "Message blocked by data loss prevention policy";
/// The seed's limit: a Modify rule adds up to three header lines.
pub const MAX_ADDED_HEADERS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectMode {
    Replace,
    Prepend,
    Append,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectEdit {
    pub mode: SubjectMode,
    pub text: String,
}

impl SubjectEdit {
    pub fn apply(&self, subject: &str) -> String {
        match self.mode {
            SubjectMode::Replace => self.text.clone(),
            SubjectMode::Prepend => format!("{}{}", self.text, subject),
            SubjectMode::Append => format!("{}{}", subject, self.text),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Block {
        reply: String,
    },
    Redirect {
        to: String,
    },
    Modify {
        subject: Option<SubjectEdit>,
        headers: Vec<(String, String)>,
    },
    Log,
}

impl Action {
    fn strength(&self) -> u8 {
        match self {
            Action::Block { .. } => 3,
            Action::Redirect { .. } => 2,
            Action::Modify { .. } => 1,
            Action::Log => 0,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Action::Block { .. } => "block",
            Action::Redirect { .. } => "redirect",
            Action::Modify { .. } => "modify",
            Action::Log => "log",
        }
    }
}

/// A policy as configured (already validated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub id: u64,
    pub name: String,
    pub monitor: bool,
    pub keywords: Vec<String>,
    pub regexes: Vec<String>,
    pub senders: Vec<String>,
    pub recipients: Vec<String>,
    pub action: Action,
}

/// A compiled policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub spec: Spec,
    keywords: Option<Keywords>,
    regexes: Vec<regex::Regex>,
    senders: Vec<Glob>,
    recipients: Vec<Glob>,
}

impl Policy {
    pub fn compile(spec: Spec) -> Result<Policy, String> {
        let keywords = if spec.keywords.is_empty() {
            None
        } else {
            Some(Keywords::new(&spec.keywords)?)
        };
        let regexes = spec
            .regexes
            .iter()
            .map(|r| matcher::regex(r))
            .collect::<Result<Vec<_>, _>>()?;
        let senders = spec.senders.iter().map(|g| Glob::new(g)).collect();
        let recipients = spec.recipients.iter().map(|g| Glob::new(g)).collect();
        Ok(Policy {
            spec,
            keywords,
            regexes,
            senders,
            recipients,
        })
    }

    /// Whether every condition given holds: sender AND recipient AND (any keyword OR any regex).
    pub fn matches(&self, envelope: &Envelope, content: &Content) -> bool {
        self.matches_prepared(envelope, content, &Prepared::new(content))
    }

    fn matches_prepared(
        &self,
        envelope: &Envelope,
        content: &Content,
        prepared: &Prepared,
    ) -> bool {
        if !self.senders.is_empty() && !self.senders.iter().any(|g| g.matches(&envelope.sender)) {
            return false;
        }
        if !self.recipients.is_empty()
            && !envelope
                .recipients
                .iter()
                .any(|r| self.recipients.iter().any(|g| g.matches(&r.address)))
        {
            return false;
        }
        if self.keywords.is_none() && self.regexes.is_empty() {
            return true;
        }
        let texts = [content.subject.as_str(), content.text.as_str()];
        if let Some(k) = &self.keywords
            && prepared.normalized.iter().any(|t| k.found_in(t))
        {
            return true;
        }
        self.regexes
            .iter()
            .any(|r| texts.iter().any(|t| r.is_match(t)))
    }
}

/// The content in the form keyword matching needs, computed once per message.
struct Prepared {
    normalized: [String; 2],
}

impl Prepared {
    fn new(content: &Content) -> Prepared {
        Prepared {
            normalized: [
                matcher::normalize(&content.subject),
                matcher::normalize(&content.text),
            ],
        }
    }
}

/// All configured policies, in order; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Policies(Arc<Vec<Policy>>);

/// One policy that matched a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub id: u64,
    pub name: String,
    pub action: &'static str,
    pub monitor: bool,
}

/// What to do with a message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Decision {
    #[default]
    Pass,
    Block {
        reply: String,
    },
    /// Relay, possibly to replaced recipients, with edits.
    Relay {
        redirect_to: Vec<String>,
        subject: Vec<SubjectEdit>,
        headers: Vec<(String, String)>,
    },
}

/// The outcome of evaluating every policy against one message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verdict {
    pub hits: Vec<Hit>,
    /// The decision the enforcing policies call for (what happens unless trial mode is on).
    pub decision: Decision,
    /// The id of the policy whose action decided (for `X-dlp-policyid`).
    pub deciding_policy: Option<u64>,
}

impl Verdict {
    pub fn violated(&self) -> bool {
        !self.hits.is_empty()
    }
}

impl Policies {
    pub fn new(list: Vec<Policy>) -> Policies {
        Policies(Arc::new(list))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn evaluate(&self, envelope: &Envelope, content: &Content) -> Verdict {
        let mut verdict = Verdict::default();
        let mut strongest: Option<&Policy> = None;
        let mut redirect_to: Vec<String> = Vec::new();
        let mut subject = Vec::new();
        let mut headers: Vec<(String, String)> = Vec::new();
        let prepared = Prepared::new(content);
        for p in self.0.iter() {
            if !p.matches_prepared(envelope, content, &prepared) {
                continue;
            }
            verdict.hits.push(Hit {
                id: p.spec.id,
                name: p.spec.name.clone(),
                action: p.spec.action.name(),
                monitor: p.spec.monitor,
            });
            if p.spec.monitor {
                continue;
            }
            if strongest.is_none_or(|s| p.spec.action.strength() > s.spec.action.strength()) {
                strongest = Some(p);
            }
            match &p.spec.action {
                Action::Redirect { to } => {
                    if !redirect_to.iter().any(|r| r.eq_ignore_ascii_case(to)) {
                        redirect_to.push(to.clone());
                    }
                }
                Action::Modify {
                    subject: s,
                    headers: h,
                } => {
                    subject.extend(s.iter().cloned());
                    for line in h {
                        if !headers.contains(line) {
                            headers.push(line.clone());
                        }
                    }
                }
                Action::Block { .. } | Action::Log => {}
            }
        }
        let Some(top) = strongest else {
            return verdict;
        };
        verdict.deciding_policy = Some(top.spec.id);
        verdict.decision = match &top.spec.action {
            Action::Block { reply } => Decision::Block {
                reply: reply.clone(),
            },
            Action::Log => Decision::Pass,
            Action::Redirect { .. } | Action::Modify { .. } => Decision::Relay {
                redirect_to,
                subject,
                headers,
            },
        };
        verdict
    }
}

#[cfg(test)]
mod tests;
