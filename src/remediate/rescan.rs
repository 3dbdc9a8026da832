//! Rescan: the stored content of a held message inspected again with the current policies (after a
//! policy change, or to confirm a false positive). The outcome goes to the history of the message's
//! incidents; the message itself is never changed.

use crate::decompose::NoBudget;
use crate::events::{Field as EventField, Kind as EventKind};
use crate::message::{Envelope, MailParams, Recipient, Ret};
use crate::scan::Scanner;
use crate::store::records::{Held, HeldId, IncidentId};
use crate::store::{Result, Store, StoreError, events, held};

use super::{Step, entry, incident_ids, open_held, run, write_incidents};

/// What a rescan found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rescanned {
    /// The policies the content violates now: (id, name), in policy order.
    pub violated: Vec<(u64, String)>,
    /// `still violates 100 (PCI), 120` or `no policy violated now`.
    pub summary: String,
}

/// The envelope the message was held with, for envelope conditions.
fn envelope(h: &Held) -> Envelope {
    Envelope {
        sender: h.sender.clone(),
        params: MailParams {
            envid: h.envid.clone(),
            ret: h.ret_full.then_some(Ret::Full),
            ..MailParams::default()
        },
        recipients: h
            .recipients
            .iter()
            .map(|r| Recipient {
                orcpt: r.orcpt.clone(),
                ..Recipient::plain(r.address.clone())
            })
            .collect(),
    }
}

/// The history wording for a rescan's result.
pub(crate) fn summary(violated: &[(u64, String)]) -> String {
    if violated.is_empty() {
        return "no policy violated now".into();
    }
    let list: Vec<String> = violated
        .iter()
        .map(|(id, name)| {
            if name.is_empty() {
                id.to_string()
            } else {
                format!("{id} ({name})")
            }
        })
        .collect();
    format!("still violates {}", list.join(", "))
}

/// Rescans held message `id` with `scanner` (on this thread: CPU-bound, bounded by the scanner's
/// limits) and records the outcome on its incidents. Refused when the content is gone.
pub async fn rescan(
    store: &Store,
    id: HeldId,
    scanner: &Scanner,
    actor: &str,
    now: u64,
) -> Result<Rescanned> {
    rescan_via(store, id, None, scanner, actor, now).await
}

pub(super) async fn rescan_via(
    store: &Store,
    id: HeldId,
    via: Option<IncidentId>,
    scanner: &Scanner,
    actor: &str,
    now: u64,
) -> Result<Rescanned> {
    let loaded = store.read(|txn| {
        let h = held::get(txn, id)?;
        let content = match &h {
            Some(h) if h.status.is_open() => held::content(txn, id)?,
            _ => None,
        };
        Ok(h.zip(content))
    })?;
    let Some((h, content)) = loaded else {
        // Missing, closed or without content: the write below finds out which and records it.
        let actor = actor.to_string();
        let out = run(store, move |txn| {
            Ok(match open_held(txn, id, via, &actor, now, "rescan")? {
                Err(stop) => Step::Stop(stop),
                // Reopened in between (cannot happen today: nothing reopens a message).
                Ok(_) => Step::Stop(StoreError::Refused("changed during the rescan".into())),
            })
        })
        .await;
        return super::failed(store, out, id, via, "rescan", now).await;
    };
    let report = scanner.scan(&envelope(&h), &content, &NoBudget);
    let violated: Vec<(u64, String)> = report
        .verdict
        .hits
        .iter()
        .map(|hit| (hit.id, hit.name.clone()))
        .collect();
    let text = summary(&violated);
    let (actor, result, ids) = (actor.to_string(), text.clone(), incident_ids(&h, via));
    let event = crate::hold::fields::held(&h)
        .with(EventField::UserName, &actor)
        .with(EventField::Violations, violated.len());
    store
        .write(move |txn| {
            let e = entry(now, &actor, "rescan", result);
            write_incidents(txn, &ids, None, &e)?;
            events::append(txn, now, EventKind::QuarantineRescanned, event)?;
            Ok(())
        })
        .await?;
    Ok(Rescanned {
        violated,
        summary: text,
    })
}
