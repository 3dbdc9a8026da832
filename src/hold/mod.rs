//! The SMTP side of the store: holding a message (quarantine, or until an approver decides) together
//! with its incidents in one commit before the upstream gets 250; recording the incidents of every
//! other violation; and the retention purge. Owns no LMDB code (that is `store`), only what to keep.

mod alert;
mod facts;
pub mod fields;
mod managers;
pub mod notices;
mod parts;

pub use alert::{ALERT_INTERVAL, Alerts};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

pub use facts::Facts;
pub use managers::load_managers;

use crate::clock::Clock;
use crate::config::{Config, Keep};
use crate::events::{Field, Fields, Kind as EventKind};
use crate::link::token::{self, Claims, Key};
use crate::notify::{self, Disposition, Kind};
use crate::policy::{MANAGER, Severity, Verdict};
use crate::store::records::{
    Approval, ApprovalId, ApprovalState, Held, HeldId, HeldRecipient, HeldStatus, HistoryEntry,
    Hold, Incident, IncidentId, IncidentStatus, PolicyRef,
};
use crate::store::{
    Store, StoreError, WriteTxn, approvals, events, held, incidents, lifecycle, stats,
};
use notices::Notice;
use parts::{approval_requests, evicted_history, highest, incidents_of, join_ids, log_eviction};

/// Holds messages and records incidents; shared by every session.
pub struct Keeper {
    store: Result<Store, String>,
    clock: Arc<Clock>,
    keep: Keep,
    /// `[decomposition]`: bounds the approval page's preview of a held message.
    limits: crate::decompose::Limits,
    /// Sender address (lower case) -> manager address, from `approval.managers_file`.
    managers: HashMap<String, String>,
    notify: notify::Settings,
    links: Option<Links>,
    /// Wakes the delivery worker (none: no worker, e.g. tests and the CLI).
    wake: Option<Waker>,
    /// How store failures reach the administrators (none: only logged).
    alerts: Option<Alerts>,
    /// `admin.audit_max_age`: the audit log's entries older than this are pruned with the outbox.
    audit_max_age: Duration,
}

/// Wakes the delivery worker after notices or releases were queued.
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// How approval links are made: the signing key and the admin UI's public base URL.
#[derive(Clone)]
pub struct Links {
    pub key: Key,
    pub public_url: String,
}

impl Links {
    /// The signed link an approver follows to make `decision` on `approval`, bound to the held
    /// message with GUID `guid`.
    pub fn url(
        &self,
        (approval, guid): (u64, &str),
        approver: u32,
        decision: token::Decision,
        expires: u64,
    ) -> String {
        let t = token::sign(
            &self.key,
            &Claims {
                approval,
                approver,
                decision,
                expires,
                message: token::message_tag(guid),
            },
        );
        crate::link::approval_url(&self.public_url, &t)
    }
}

impl Keeper {
    /// Opens the store in `<data_dir>/store`. A store that cannot be opened (newer schema, corrupt
    /// file, full disk) is logged once and leaves Sluice serving: messages that need it get 451.
    /// `managers` is what [`load_managers`] read from `approval.managers_file` (start-up loads it
    /// once, with everything else `check-config` checks).
    pub fn open(
        config: &Config,
        clock: Arc<Clock>,
        managers: HashMap<String, String>,
    ) -> Result<Keeper, String> {
        let dir = config.server.data_dir.join("store");
        let store = Store::open(&dir, &config.store.store_options())
        .map_err(|e| {
            tracing::error!(path = %dir.display(), error = %e, "the store cannot be opened: quarantine, incidents and the delivery queue are unavailable; other mail still flows");
            e.to_string()
        });
        if let Ok(s) = &store {
            let bounds = config.store.event_bounds;
            if let Err(e) = s.write_blocking(move |txn| events::set_bounds(txn, &bounds)) {
                tracing::warn!(error = %e, "the event outbox's bounds could not be recorded; the previous ones stay");
            }
        }
        Ok(Keeper {
            store,
            clock,
            keep: config.store.clone(),
            limits: config.decomposition.clone(),
            managers,
            notify: config.notifications.clone(),
            links: None,
            wake: None,
            alerts: None,
            audit_max_age: config.admin.auth.audit_max_age,
        })
    }

    /// A keeper over an already open store (tests, CLI).
    pub fn with_store(store: Store, config: &Config, clock: Arc<Clock>) -> Keeper {
        Keeper {
            store: Ok(store),
            clock,
            keep: config.store.clone(),
            limits: config.decomposition.clone(),
            managers: HashMap::new(),
            notify: config.notifications.clone(),
            links: None,
            wake: None,
            alerts: None,
            audit_max_age: config.admin.auth.audit_max_age,
        }
    }

    /// The alerts to the administrators, if any (a reload gives them the new next hops).
    pub fn alerts(&self) -> Option<&Alerts> {
        self.alerts.as_ref()
    }

    /// How store alerts reach the administrators.
    pub fn with_alerts(mut self, alerts: Alerts) -> Keeper {
        self.alerts = Some(alerts);
        self
    }

    /// Tells the administrators that holding failed for a store reason (throttled).
    fn alert(&self, e: &StoreError, peer: &str) {
        let Some(alerts) = &self.alerts else {
            return;
        };
        let (kind, subject) = match e {
            StoreError::Full(_) => (
                "store-full",
                "Sluice store full: quarantined mail is deferred",
            ),
            _ => (
                "store-failed",
                "Sluice store failure: quarantined mail is deferred",
            ),
        };
        let ip = peer
            .parse::<std::net::IpAddr>()
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
        let text = format!(
            "Sluice could not store a message a policy holds: {e}.\n\nSuch messages get a temporary \
             SMTP error (452/451) and stay with the sending server, which will retry. Relayed mail \
             still flows. Free space, raise store.max_size, or release and delete held messages \
             (sluice quarantine list).\n"
        );
        alerts.raise(
            kind,
            subject,
            &text,
            self.clock.now(),
            std::net::SocketAddr::new(ip, 0),
        );
    }

    /// Sets how approval links are signed and addressed (without them, approval policies hold the
    /// message for an administrator instead: nobody could follow a link).
    pub fn with_links(mut self, links: Links) -> Keeper {
        self.links = Some(links);
        self
    }

    /// The delivery worker's wake-up, called after notices or releases were queued.
    pub fn with_waker(mut self, wake: Waker) -> Keeper {
        self.wake = Some(wake);
        self
    }

    /// Tells the delivery worker that something was queued.
    pub fn wake_delivery(&self) {
        if let Some(w) = &self.wake {
            w();
        }
    }

    pub fn notify_settings(&self) -> &notify::Settings {
        &self.notify
    }

    pub fn links(&self) -> Option<&Links> {
        self.links.as_ref()
    }

    pub fn keep(&self) -> &Keep {
        &self.keep
    }

    /// The decomposition limits (`[decomposition]`).
    pub fn limits(&self) -> &crate::decompose::Limits {
        &self.limits
    }

    pub fn store(&self) -> Result<&Store, StoreError> {
        self.store
            .as_ref()
            .map_err(|e| StoreError::Unavailable(e.clone()))
    }

    pub fn clock(&self) -> &Arc<Clock> {
        &self.clock
    }

    /// Resolves a policy's approver list (`manager` -> the sender's manager).
    fn approvers_for(&self, sender: &str, wanted: &[String]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for a in wanted {
            let who = if a == MANAGER {
                match self.managers.get(&sender.to_ascii_lowercase()) {
                    Some(m) => m.clone(),
                    None => continue,
                }
            } else {
                a.clone()
            };
            if !out.iter().any(|x| x.eq_ignore_ascii_case(&who)) {
                out.push(who);
            }
        }
        out
    }

    /// Stores the message and one incident per violated policy in one commit, with their events:
    /// `message.quarantined` (`event`, the session's tracking fields, completed here with the held
    /// id, the approval and the incidents) and one `policy.violation` per incident. Returns the held
    /// record (its id, and its approval when approvers were named and resolved).
    pub async fn hold(
        &self,
        facts: Facts,
        verdict: &Verdict,
        message: Vec<u8>,
        approvers: &[String],
        event: Fields,
    ) -> Result<Held, StoreError> {
        self.hold_from(facts, verdict, message, approvers, event, None)
            .await
    }

    /// [`Keeper::hold`] of a message in the gateway's custody (`custody`): it leaves the custody in
    /// the same commit, or nothing is written when it is no longer there (`NotFound`: another
    /// inspection attempt moved it on first).
    pub async fn hold_from(
        &self,
        facts: Facts,
        verdict: &Verdict,
        message: Vec<u8>,
        approvers: &[String],
        event: Fields,
        custody: Option<crate::store::intake::IntakeId>,
    ) -> Result<Held, StoreError> {
        let peer = facts.peer.clone();
        let store = match self.store() {
            Ok(s) => s.clone(),
            Err(e) => {
                self.alert(&e, &peer);
                return Err(e);
            }
        };
        let now = self.clock.now();
        let resolved = if self.links.is_some() {
            self.approvers_for(&facts.sender, approvers)
        } else {
            Vec::new()
        };
        let wanted_approval = !approvers.is_empty();
        let action = if resolved.is_empty() {
            "quarantined"
        } else {
            "held for approval"
        };
        let incidents = incidents_of(&facts, verdict, now, action);
        let policies: Vec<PolicyRef> = incidents.iter().map(|(i, _)| i.policy.clone()).collect();
        let record = Held {
            id: HeldId(0),
            guid: facts.guid.clone(),
            received: now,
            direction: facts.direction,
            peer: facts.peer.clone(),
            sender: facts.sender.clone(),
            envid: facts.envid.clone(),
            ret_full: facts.ret_full,
            recipients: facts
                .recipients
                .iter()
                .map(|r| HeldRecipient {
                    address: r.address.clone(),
                    notify: r.notify,
                    orcpt: r.orcpt.clone(),
                    status: if resolved.is_empty() {
                        HeldStatus::Held
                    } else {
                        HeldStatus::AwaitingApproval
                    },
                })
                .collect(),
            subject: facts.subject.clone(),
            message_id: facts.message_id.clone(),
            size: message.len() as u64,
            severity: highest(&policies),
            policies,
            status: if resolved.is_empty() {
                HeldStatus::Held
            } else {
                HeldStatus::AwaitingApproval
            },
            hold: Hold::Quarantine,
            findings: verdict.evidence.clone(),
            incidents: vec![],
            expires: now.saturating_add(self.keep.retention.as_secs()),
        };
        let caps = self.keep.caps();
        let window = self.keep.reconcile_window.as_secs();
        let expiry = self.keep.approval_expiry.as_secs();
        let identity = facts.identity.clone();
        let disposition = if resolved.is_empty() {
            Disposition::Quarantined
        } else {
            Disposition::HeldForApproval
        };
        let violation = notices::Violation::new(&self.notify, &facts, verdict, disposition, now);
        let settings = self.notify.clone();
        let links = self.links.clone();
        let result = store
            .write(move |txn| {
                if let Some(c) = custody {
                    crate::store::intake::remove(txn, c)?
                        .ok_or_else(|| StoreError::NotFound(format!("message in custody {c}")))?;
                }
                let (id, evicted) = held::insert(txn, record, &message, caps)?;
                let mut rec = held::must_get(txn, id)?;
                let mut violations = Vec::new();
                for (mut inc, action) in incidents {
                    inc.held = Some(id);
                    let key = incidents::reconcile_key(&identity, &inc.sender, inc.policy.id);
                    let got = incidents::record(txn, inc.clone(), key, window)?.id();
                    rec.incidents.push(got);
                    violations.push(fields::violation(&inc, got, action));
                }
                if !resolved.is_empty() {
                    let approval = approvals::insert(
                        txn,
                        Approval {
                            id: ApprovalId(0),
                            held: id,
                            approvers: resolved.clone(),
                            created: now,
                            expires: now.saturating_add(expiry),
                            state: ApprovalState::Pending,
                        },
                    )?;
                    rec.hold = Hold::Approval { approval };
                }
                let before = held::must_get(txn, id)?;
                held::update(txn, &before, &rec)?;
                let mut expires = None;
                if let (Hold::Approval { approval }, Some(links)) = (&rec.hold, &links) {
                    let approval = approvals::get(txn, *approval)?
                        .ok_or_else(|| StoreError::NotFound(format!("approval {approval}")))?;
                    expires = Some(approval.expires);
                    for notice in
                        approval_requests(&settings, links, &rec, &approval, &message, now)
                    {
                        notices::enqueue(txn, &notice, &rec.peer, now)?;
                    }
                }
                let recorded = notices::Recorded {
                    held: Some(id),
                    incidents: &rec.incidents,
                    expires,
                };
                for notice in violation.notices(&settings, recorded, now, &message) {
                    notices::enqueue(txn, &notice, &rec.peer, now)?;
                }
                let note = if resolved.is_empty() && wanted_approval {
                    Some("no approver could be resolved for the sender; held for an administrator")
                } else {
                    None
                };
                for &inc in &rec.incidents {
                    incidents::append_history(
                        txn,
                        inc,
                        &HistoryEntry {
                            at: now,
                            actor: "sluice".into(),
                            action: "hold".into(),
                            result: match (&rec.hold, note) {
                                (Hold::Approval { approval }, _) => format!(
                                    "held as {id} awaiting approval {approval} by {}",
                                    resolved.join(", ")
                                ),
                                (_, Some(n)) => format!("held as {id}; {n}"),
                                _ => format!("quarantined as {id}"),
                            },
                        },
                    )?;
                }
                for &victim in &evicted.ids {
                    evicted_history(txn, victim, evicted.reason, now)?;
                }
                if !evicted.ids.is_empty() {
                    stats::bump(txn, now, held::EVICTED_STAT, evicted.ids.len() as u64)?;
                }
                let mut event = event.with(Field::HeldId, id);
                if let Hold::Approval { approval } = &rec.hold {
                    event.push(Field::ApprovalId, approval);
                }
                event.push(Field::IncidentId, join_ids(&rec.incidents));
                events::append(txn, now, EventKind::MessageQuarantined, event)?;
                for v in violations {
                    events::append(txn, now, EventKind::PolicyViolation, v)?;
                }
                stats::bump(txn, now, "quarantined", 1)?;
                Ok((rec, evicted))
            })
            .await;
        match result {
            Ok((rec, evicted)) => {
                for id in &evicted.ids {
                    // Ids and the cap only: nothing of the message (see `log_eviction`).
                    log_eviction(*id, evicted.reason);
                }
                self.wake_delivery();
                Ok(rec)
            }
            Err(e) => {
                self.alert(&e, &peer);
                Err(e)
            }
        }
    }

    /// The work of recording the incidents of a message that was not held (relayed, redirected,
    /// blocked), for the caller to run in the background (the app's task group): the upstream's
    /// reply never waits for it, and a store failure is only logged. `None`: nothing to record.
    /// `notify` carries the disposition when the policies' notices are due (the message was
    /// delivered or refused by policy), and the message they may attach. The same write appends one
    /// `policy.violation` per incident and `message`, the message's own `message.*` event.
    pub fn record(
        &self,
        facts: Facts,
        verdict: &Verdict,
        action: String,
        notify: Option<(Disposition, &[u8])>,
        message: Option<(EventKind, Fields)>,
    ) -> Option<impl std::future::Future<Output = ()> + Send + 'static> {
        let store = self.store().ok()?.clone();
        let now = self.clock.now();
        let list = incidents_of(&facts, verdict, now, &action);
        if list.is_empty() {
            return None;
        }
        // The notices are rendered in the write, where the incident ids are known.
        let outgoing = notify.and_then(|(disposition, original)| {
            let v = notices::Violation::new(&self.notify, &facts, verdict, disposition, now);
            if v.is_empty() {
                return None;
            }
            let kept = notices::Violation::kept_original(&self.notify, original);
            Some((v, self.notify.clone(), kept))
        });
        let peer = facts.peer.clone();
        let wake = self.wake.clone();
        let window = self.keep.reconcile_window.as_secs();
        let identity = facts.identity;
        let guid = facts.guid;
        Some(async move {
            let result = store
                .write(move |txn| {
                    let mut ids = Vec::new();
                    let mut violations = Vec::new();
                    for (inc, policy_action) in list {
                        let key = incidents::reconcile_key(&identity, &inc.sender, inc.policy.id);
                        let id = incidents::record(txn, inc.clone(), key, window)?.id();
                        ids.push(id);
                        violations.push(fields::violation(&inc, id, policy_action));
                    }
                    if let Some((violation, settings, original)) = &outgoing {
                        let recorded = notices::Recorded {
                            held: None,
                            incidents: &ids,
                            expires: None,
                        };
                        for notice in violation.notices(settings, recorded, now, original) {
                            notices::enqueue(txn, &notice, &peer, now)?;
                        }
                    }
                    if let Some((kind, fields)) = &message {
                        let fields = fields.clone().with(Field::IncidentId, join_ids(&ids));
                        events::append(txn, now, *kind, fields)?;
                    }
                    for v in violations {
                        events::append(txn, now, EventKind::PolicyViolation, v)?;
                    }
                    stats::bump(txn, now, "incidents", ids.len() as u64)?;
                    Ok(outgoing.is_some())
                })
                .await;
            match result {
                Ok(true) => {
                    if let Some(w) = wake {
                        w();
                    }
                }
                Ok(false) => {}
                Err(e) => tracing::error!(%guid, error = %e, "incidents not recorded"),
            }
        })
    }

    /// One event in a write of its own (relayed mail, deferrals, connection refusals, reloads):
    /// the store's writer commits it with whatever else is queued (group commit). For the caller to
    /// spawn (the app's task group) or await; a failure is only logged (the store may be what
    /// failed: a deferral's event is best-effort). `None`: no store.
    pub fn event(
        &self,
        kind: EventKind,
        fields: Fields,
    ) -> Option<impl std::future::Future<Output = ()> + Send + 'static> {
        let store = self.store().ok()?.clone();
        let now = self.clock.now();
        Some(async move {
            let written = store
                .write(move |txn| events::append(txn, now, kind, fields).map(|_| ()))
                .await;
            if let Err(e) = written {
                tracing::warn!(event = kind.name(), error = %e, "event not written");
            }
        })
    }

    /// One retention run: removes the content of held messages past their retention.
    pub async fn purge(&self) -> Result<usize, StoreError> {
        let store = self.store()?.clone();
        let now = self.clock.now();
        let ids = store.read(|txn| held::expired(txn, now, self.keep.purge_batch))?;
        let n = ids.len();
        if n == 0 {
            return Ok(0);
        }
        store
            .write(move |txn| {
                for id in ids {
                    let old = held::must_get(txn, id)?;
                    if !old.status.is_open() {
                        continue;
                    }
                    let asked = lifecycle::Asked {
                        at: now,
                        actor: "sluice",
                        action: "expire",
                    };
                    let lifecycle::Changed::Done(new) =
                        lifecycle::change(txn, &old, HeldStatus::Expired, asked)?
                    else {
                        continue;
                    };
                    for &inc in &new.incidents {
                        incidents::set_status(
                            txn,
                            inc,
                            Some(IncidentStatus::Expired),
                            &HistoryEntry {
                                at: now,
                                actor: "sluice".into(),
                                action: "expire".into(),
                                result: format!(
                                    "retention ended; content of held message {id} removed"
                                ),
                            },
                        )?;
                    }
                    let event = fields::held(&new).with(Field::UserName, "sluice");
                    events::append(txn, now, EventKind::QuarantineExpired, event)?;
                }
                stats::bump(txn, now, "expired", n as u64)
            })
            .await?;
        Ok(n)
    }

    /// Runs the purge every `quarantine.purge_interval` until the task is cancelled (at shutdown).
    /// Applies the event outbox's bounds (its age bound above all) when nothing is being written.
    async fn prune_events(&self) {
        let Ok(store) = self.store() else { return };
        let now = self.clock.now();
        match store.write(move |txn| events::prune(txn, now)).await {
            Ok(r) if r.removed > 0 => {
                tracing::info!(
                    removed = r.removed,
                    dropped = r.dropped,
                    "event outbox pruned"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "event outbox prune failed"),
        }
        let max_age = self.audit_max_age.as_secs();
        match store
            .write(move |txn| crate::store::audit::prune(txn, now, max_age))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "audit log pruned"),
            Err(e) => tracing::warn!(error = %e, "audit log prune failed"),
        }
    }

    pub async fn purge_forever(self: Arc<Self>) {
        if self.store.is_err() {
            return;
        }
        loop {
            match self.purge().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "quarantine retention purge"),
                Err(e) => tracing::warn!(error = %e, "quarantine retention purge failed"),
            }
            self.prune_events().await;
            smol::Timer::after(self.keep.purge_interval.max(Duration::from_secs(1))).await;
        }
    }
}
