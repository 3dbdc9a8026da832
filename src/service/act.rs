//! The changes: an [`Op`] (release, optionally with a [`Tag`]; delete; forward; rescan; resolve;
//! dismiss; note) checked once into a [`Prepared`] action, then applied to held messages or
//! incidents by id, one store write each (`remediate` does the writes and records every outcome,
//! refusals included, in the incidents' history under the [`Actor`]'s name). Also backup and restore.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::remediate::{self, Action, Bulk, Outcome, Progress, Release, Target};
use crate::scan::Scanner;

use super::{Actor, Error, Result, Service};

/// A header a release adds, e.g. `X-CFilter: Encrypt` (encrypt-and-deliver at the next hop).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub name: String,
    pub value: String,
}

impl Tag {
    /// A checked tag (trimmed): a field name of printable ASCII without `:`, not Sluice's release
    /// mark, a one-line value, at most `remediate::MAX_TAG` bytes together.
    pub fn new(name: &str, value: &str) -> Result<Tag> {
        let (name, value) = (name.trim(), value.trim());
        remediate::check_tag(name, value).map_err(|e| Error::Invalid(e.to_string()))?;
        Ok(Tag {
            name: name.to_string(),
            value: value.to_string(),
        })
    }
}

/// What to do with a held message or an incident. Message operations on an incident act on its
/// held message; resolve, dismiss and note on a held message act on each of its incidents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Deliver to the recipients still held (through the delivery queue), with an optional header.
    Release { tag: Option<Tag> },
    /// Drop the content; the record stays for the audit trail.
    Delete,
    /// Queue a copy for these addresses; the message stays held.
    Forward { to: Vec<String> },
    /// Inspect the stored content again with the current policies (history only).
    Rescan,
    /// Close the incident.
    Resolve,
    /// Close the incident as a false positive.
    Dismiss,
    /// Add a note (1 to `remediate::MAX_NOTE` characters) to the incident's history.
    Note { text: String },
}

/// An [`Op`] checked and ready to apply: its tag and addresses valid, the scanner built for a
/// rescan, the queue's give-up time taken from the configuration.
pub struct Prepared {
    op: Op,
    ready: Ready,
}

/// The remediation a [`Prepared`] op is: any action but a rescan borrows nothing.
enum Ready {
    Plain(Action<'static>),
    Rescan(Box<Scanner>),
}

impl Prepared {
    /// The operation.
    pub fn op(&self) -> &Op {
        &self.op
    }

    /// The remediation this is.
    pub fn action(&self) -> Action<'_> {
        match &self.ready {
            Ready::Plain(a) => a.clone(),
            Ready::Rescan(s) => Action::Rescan(s),
        }
    }

    /// The command word (`release`), as the history records it.
    pub fn name(&self) -> &'static str {
        self.action().name()
    }

    /// The past tense for summaries (`released`).
    pub fn verb(&self) -> &'static str {
        self.action().verb()
    }
}

impl Service {
    /// Checks `op` and readies it: a tag is checked again, forward addresses are checked, a
    /// rescan's scanner is built from the configuration's policies (as `sluice scan` builds it).
    pub fn prepare(&self, op: Op) -> Result<Prepared> {
        if let Op::Release { tag: Some(t) } = &op {
            Tag::new(&t.name, &t.value)?;
        }
        if let Op::Forward { to } = &op {
            remediate::check_addresses(to).map_err(|e| Error::Invalid(e.to_string()))?;
        }
        let give_up = self.config.queue.give_up.as_secs();
        let ready = match &op {
            Op::Release { tag } => Ready::Plain(Action::Release(Release {
                tag: tag.as_ref().map(|t| (t.name.clone(), t.value.clone())),
                give_up,
            })),
            Op::Delete => Ready::Plain(Action::Delete),
            Op::Forward { to } => Ready::Plain(Action::Forward {
                to: to.clone(),
                give_up,
            }),
            Op::Rescan => Ready::Rescan(Box::new(self.scanner()?)),
            Op::Resolve => Ready::Plain(Action::Resolve),
            Op::Dismiss => Ready::Plain(Action::Dismiss),
            Op::Note { text } => Ready::Plain(Action::Note(text.clone())),
        };
        Ok(Prepared { op, ready })
    }

    /// The scanner for the configuration's policies.
    fn scanner(&self) -> Result<Scanner> {
        let pdf =
            crate::decompose::pdf_child::ChildPdf::current_exe(&self.config.pdf).map_err(|e| {
                Error::Internal(format!("cannot find its own executable for PDF text: {e}"))
            })?;
        let library = crate::scan::library::load(&self.config)
            .map_err(|e| Error::Internal(format!("{e:#}")))?;
        Scanner::with(&self.config, &[], Arc::new(pdf), &library).map_err(Error::Internal)
    }

    /// Applies `prepared` to each id in turn, one write each, calling `progress` after every item
    /// (the CLI's progress bar). Through incidents, a message shared by several of them is acted
    /// on once. Never fails as a whole: each item's outcome is in the result.
    pub async fn apply(
        &self,
        prepared: &Prepared,
        target: Target,
        ids: &[u64],
        actor: &Actor,
        progress: impl FnMut(Progress<'_>),
    ) -> Bulk {
        let action = prepared.action();
        let now = self.now();
        remediate::apply(
            &self.store,
            target,
            ids,
            &action,
            actor.as_str(),
            now,
            progress,
        )
        .await
    }

    /// [`Service::prepare`] and [`Service::apply`] in one call, without progress.
    pub async fn act(&self, target: Target, ids: &[u64], op: Op, actor: &Actor) -> Result<Bulk> {
        let prepared = self.prepare(op)?;
        Ok(self.apply(&prepared, target, ids, actor, |_| {}).await)
    }

    /// `op` on one held message or incident: what was done, or why not (a refusal is
    /// [`Error::Conflict`], a missing item [`Error::NotFound`]).
    pub async fn act_one(&self, target: Target, id: u64, op: Op, actor: &Actor) -> Result<String> {
        let bulk = self.act(target, &[id], op, actor).await?;
        match bulk.items.into_iter().next().map(|i| i.outcome) {
            Some(Outcome::Done(s)) => Ok(s),
            Some(Outcome::Refused(s)) => Err(Error::Conflict(s)),
            Some(Outcome::NotFound(s)) => Err(Error::NotFound(s)),
            Some(Outcome::Failed(s)) => Err(Error::Unavailable(s)),
            None => Err(Error::Internal("no outcome".into())),
        }
    }

    /// Writes a backup of the whole store to `to`; returns its size in bytes.
    pub fn backup(&self, to: &Path) -> Result<u64> {
        Ok(crate::store::backup(&self.store, to)?)
    }

    /// Replaces the store's contents with the backup at `from` (verified whole first).
    pub fn restore(&self, from: &Path) -> Result<Restored> {
        let r = crate::store::restore(&self.store, from)?;
        Ok(Restored {
            records: r.records,
            schema: r.schema,
        })
    }
}

/// What a restore put back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Restored {
    pub records: u64,
    pub schema: u32,
}
