//! Sans-I/O policies (response rules): conditions over envelope and content, and how the actions of
//! several matching policies combine into one [`Verdict`].
//!
//! Combination rule (documented in ARCHITECTURE.md): the strongest enforcing action wins,
//! Block > Quarantine > Approval > Redirect > Modify > Log. Every matching Modify edit is applied to a message that is relayed
//! (including a redirected one), in policy order; all matching Redirect addresses receive it.
//! Monitor-mode policies are reported but never change the message; in trial mode nothing does.

mod matcher;
mod rule;

use crate::message::header::Field;
use std::sync::Arc;

use crate::detect::Registry;
pub use matcher::{Glob, check_address};
pub use rule::{
    Condition, Direction, Evidence, Facts, FileFacts, FileRule, Join, Rule, Scope, Uninspected,
    Unreadable,
};

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
    /// Hold the message in the quarantine for review by an administrator.
    Quarantine,
    /// Hold the message until one of the approvers decides; `MANAGER` stands for the sender's
    /// manager from the imported mapping.
    Approval {
        approvers: Vec<String>,
    },
    Redirect {
        to: String,
    },
    Modify {
        subject: Option<SubjectEdit>,
        headers: Vec<Field>,
        /// Changes to the body: attachments removed or replaced, disclaimers added.
        body: Vec<BodyAction>,
    },
    Log,
}

/// A Modify policy's change to the message body (carried out by `rewrite`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyAction {
    /// Remove attachments: every one (`all`), or those the policy's evidence is in; with a
    /// notice, each is replaced by a text part saying so.
    Strip { all: bool, notice: Option<String> },
    /// Add this disclaimer (once).
    Disclaimer(Arc<crate::rewrite::Disclaimer>),
}

/// The approver entry that stands for the sender's manager (from `approval.managers_file`).
pub const MANAGER: &str = "manager";

/// Who gets a notification when a policy is violated (the seed's "Send Email Notification").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Sender,
    Recipients,
    Admin,
}

impl Audience {
    pub fn parse(s: &str) -> Option<Audience> {
        Some(match s {
            "sender" => Audience::Sender,
            "recipients" => Audience::Recipients,
            "admin" => Audience::Admin,
            _ => return None,
        })
    }
}

impl Action {
    fn strength(&self) -> u8 {
        match self {
            Action::Block { .. } => 5,
            Action::Quarantine => 4,
            Action::Approval { .. } => 3,
            Action::Redirect { .. } => 2,
            Action::Modify { .. } => 1,
            Action::Log => 0,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Action::Block { .. } => "block",
            Action::Quarantine => "quarantine",
            Action::Approval { .. } => "approval",
            Action::Redirect { .. } => "redirect",
            Action::Modify { .. } => "modify",
            Action::Log => "log",
        }
    }
}

/// How serious a violation of a policy is (Symantec's incident severities). Stored by name
/// (`info` ... `critical`) in the store's records.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s {
            "info" => Severity::Info,
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }
}

/// A policy as configured and validated: its content conditions already point at registered detectors.
#[derive(Debug, Clone)]
pub struct Policy {
    pub id: u64,
    pub name: String,
    pub enabled: bool,
    /// Monitor-only: violations are reported, the action is not carried out.
    pub monitor: bool,
    pub severity: Severity,
    /// How the rules combine (`Any` or `All`). A policy without rules matches every message.
    pub join: Join,
    pub rules: Vec<Rule>,
    /// When any exception holds, the policy does not apply.
    pub exceptions: Vec<Rule>,
    pub action: Action,
    /// Who is notified of a violation (besides the action).
    pub notify: Vec<Audience>,
}

/// A rule of a policy that held, with its evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    pub rule: String,
    pub evidence: Vec<Evidence>,
}

impl Policy {
    /// The rules that held, or `None` when the policy does not apply to this message.
    pub fn eval(&self, facts: &Facts<'_>) -> Option<Vec<Matched>> {
        if !self.enabled {
            return None;
        }
        let mut matched = Vec::new();
        let held = if self.rules.is_empty() {
            true
        } else {
            let results: Vec<bool> = self
                .rules
                .iter()
                .map(|r| match r.eval(facts) {
                    Some(evidence) => {
                        matched.push(Matched {
                            rule: r.name.clone(),
                            evidence,
                        });
                        true
                    }
                    None => false,
                })
                .collect();
            self.join.combine(results.into_iter())
        };
        if !held || self.exceptions.iter().any(|e| e.eval(facts).is_some()) {
            return None;
        }
        Some(matched)
    }
}

/// All configured policies, in order; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Policies {
    list: Arc<Vec<Policy>>,
    registry: Arc<Registry>,
    /// See [`Policies::can_refuse_or_divert`]; computed once, in [`Policies::new`].
    can_refuse_or_divert: bool,
}

/// One policy that matched a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub id: u64,
    pub name: String,
    pub action: &'static str,
    pub monitor: bool,
    pub severity: Severity,
    /// The rules that held and why (redacted evidence only).
    pub matched: Vec<Matched>,
    /// Who the policy says to notify.
    pub notify: Vec<Audience>,
}

/// What to do with a message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Decision {
    #[default]
    Pass,
    Block {
        reply: String,
    },
    /// Keep the message in the store: for an administrator's review, or until an approver decides
    /// (`approvers` non-empty: every approver named by the matching approval policies).
    Hold {
        approvers: Vec<String>,
    },
    /// Relay, possibly to replaced recipients, with edits.
    Relay {
        redirect_to: Vec<String>,
        subject: Vec<SubjectEdit>,
        headers: Vec<Field>,
        /// Body edits of the matching Modify policies, in policy order (see `rewrite::plan`).
        body: Vec<crate::rewrite::Edit>,
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
    /// One line per matched rule for logs and reports: policy, rule, detector, count and where,
    /// never a matched value (filled in by `scan::Scanner`, which knows the part locations).
    pub detail: Vec<String>,
    /// The same lines with redacted samples added, for incident records (never logged).
    pub evidence: Vec<String>,
}

impl Verdict {
    pub fn violated(&self) -> bool {
        !self.hits.is_empty()
    }
}

impl Policies {
    pub fn new(list: Vec<Policy>, registry: Registry) -> Policies {
        let can_refuse_or_divert = list.iter().any(|p| {
            p.enabled
                && !p.monitor
                && match p.action {
                    Action::Block { .. }
                    | Action::Quarantine
                    | Action::Approval { .. }
                    | Action::Redirect { .. } => true,
                    Action::Modify { .. } | Action::Log => false,
                }
        });
        Policies {
            list: Arc::new(list),
            registry: Arc::new(registry),
            can_refuse_or_divert,
        }
    }

    /// Whether some message could be kept from its recipients: an enabled, enforcing (not
    /// monitor-mode) policy blocks, holds (quarantine, approval) or redirects. When none does, every
    /// message goes to its envelope recipients, so the session may send DATA to the next hop ahead
    /// of the message (`relay.data_ahead = "auto"`).
    pub fn can_refuse_or_divert(&self) -> bool {
        self.can_refuse_or_divert
    }

    /// Whether any condition looks at header fields (so they must be collected per message).
    pub fn uses_headers(&self) -> bool {
        fn any(c: &[Condition]) -> bool {
            c.iter().any(|c| match c {
                Condition::Header { .. } => true,
                Condition::Group(_, inner) => any(inner),
                _ => false,
            })
        }
        self.list
            .iter()
            .flat_map(|p| p.rules.iter().chain(&p.exceptions))
            .any(|r| any(&r.conditions))
    }

    /// The detectors the policies' content conditions need.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Policy> {
        self.list.iter()
    }

    pub fn evaluate(&self, facts: &Facts<'_>) -> Verdict {
        let mut verdict = Verdict::default();
        let mut strongest: Option<&Policy> = None;
        let mut redirect_to: Vec<String> = Vec::new();
        let mut subject = Vec::new();
        let mut headers: Vec<Field> = Vec::new();
        let mut body: Vec<crate::rewrite::Edit> = Vec::new();
        let mut approvers: Vec<String> = Vec::new();
        for p in self.list.iter() {
            let Some(matched) = p.eval(facts) else {
                continue;
            };
            if let Action::Modify { body: b, .. } = &p.action
                && !p.monitor
            {
                for a in b {
                    let edit = body_edit(a, &matched, facts);
                    if !body.contains(&edit) {
                        body.push(edit);
                    }
                }
            }
            verdict.hits.push(Hit {
                id: p.id,
                name: p.name.clone(),
                action: p.action.name(),
                monitor: p.monitor,
                severity: p.severity,
                matched,
                notify: p.notify.clone(),
            });
            if p.monitor {
                continue;
            }
            if strongest.is_none_or(|s| p.action.strength() > s.action.strength()) {
                strongest = Some(p);
            }
            match &p.action {
                Action::Redirect { to } => {
                    if !redirect_to.iter().any(|r| r.eq_ignore_ascii_case(to)) {
                        redirect_to.push(to.clone());
                    }
                }
                Action::Modify {
                    subject: s,
                    headers: h,
                    ..
                } => {
                    subject.extend(s.iter().cloned());
                    for line in h {
                        if !headers.contains(line) {
                            headers.push(line.clone());
                        }
                    }
                }
                Action::Approval { approvers: a } => {
                    for x in a {
                        if !approvers.iter().any(|y| y.eq_ignore_ascii_case(x)) {
                            approvers.push(x.clone());
                        }
                    }
                }
                Action::Block { .. } | Action::Quarantine | Action::Log => {}
            }
        }
        // Attachments go before disclaimers are added (stable: policy order otherwise).
        body.sort_by_key(|e| matches!(e, crate::rewrite::Edit::Disclaimer(_)));
        let Some(top) = strongest else {
            return verdict;
        };
        verdict.deciding_policy = Some(top.id);
        verdict.decision = match &top.action {
            Action::Block { reply } => Decision::Block {
                reply: reply.clone(),
            },
            // A quarantine is for an administrator, whatever approvers other policies name.
            Action::Quarantine => Decision::Hold {
                approvers: Vec::new(),
            },
            Action::Approval { .. } => Decision::Hold { approvers },
            Action::Log => Decision::Pass,
            Action::Redirect { .. } | Action::Modify { .. } => Decision::Relay {
                redirect_to,
                subject,
                headers,
                body,
            },
        };
        verdict
    }
}

/// A body action as an edit of this message: `Strip` of the matched attachments names the
/// attachments the policy's evidence is in (a part inside an attachment, such as a container
/// entry or a nested message's text, names the attachment it came from).
fn body_edit(a: &BodyAction, matched: &[Matched], facts: &Facts<'_>) -> crate::rewrite::Edit {
    use crate::rewrite::{Attachments, Edit};
    match a {
        BodyAction::Disclaimer(d) => Edit::Disclaimer(d.clone()),
        BodyAction::Strip { all: true, notice } => Edit::Strip {
            attachments: Attachments::All,
            notice: notice.clone(),
        },
        BodyAction::Strip { all: false, notice } => {
            let mut paths: Vec<String> = Vec::new();
            let parts = matched
                .iter()
                .flat_map(|m| &m.evidence)
                .flat_map(|e| &e.parts);
            for &part in parts {
                if facts.part_scope.get(part) != Some(&Scope::ATTACHMENTS) {
                    continue;
                }
                // The file the part is, or the last file before it (parts come depth-first).
                let file = facts.files.iter().rev().find(|f| f.part <= part);
                if let Some(path) = file.and_then(|f| f.location.strip_prefix("attachment:"))
                    && !paths.iter().any(|p| p == path)
                {
                    paths.push(path.to_string());
                }
            }
            Edit::Strip {
                attachments: Attachments::Matched(paths),
                notice: notice.clone(),
            }
        }
    }
}

#[cfg(test)]
mod tests;
