//! What happens to a received message: loop check -> decompose -> policy -> the message to relay (or not),
//! and the one mapping from every per-message failure to its SMTP reply ([`Failure::reply`]).
//!
//! Inspection runs on the blocking thread pool (never on the async threads) under a time budget; the
//! rest is pure. Only a policy decision produces a 5xx; store, I/O, time and internal failures are 4xx.

use crate::message::header::Field;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_lite::FutureExt;

use crate::config::{Config, OnFailure};
use crate::decompose::{Budget, NoBudget};
use crate::detect::Library;
use crate::message::{Envelope, MessageId, header};
use crate::policy::{Decision, Direction, Verdict};
use crate::relay;
use crate::scan::{Pdf, Scanner};
use crate::smtp::{DataError, Reply};

/// Why one message could not be handled as asked.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("message refused at end of DATA: {0:?}")]
    Data(DataError),
    #[error("{0}")]
    NoNextHop(#[from] relay::Error),
    #[error("next hop: {0}")]
    NextHop(#[from] relay::client::Error),
    #[error("inspection failed: {0}")]
    Inspection(String),
    #[error("inspection ran past its time budget")]
    InspectionTimeout,
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
    /// The next-hop connection the transaction was using is gone (or a replay had no recipient).
    #[error("the next-hop connection is gone")]
    NextHopGone,
    /// A recipient refused on a second attempt (a replayed transaction, or a redirect address),
    /// after the upstream was told its recipients are accepted: the next hop's reply.
    #[error("next hop refused a recipient on a second attempt: {0}")]
    RefusedOnReplay(Reply),
    /// A message to hold came without what holding needs (a bug: only a violated verdict holds).
    #[error("cannot hold the message: {0}")]
    Unholdable(&'static str),
    /// A state the session should never reach (a bug), answered as a temporary failure.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl Failure {
    /// The reply the upstream gets. The single place where failures become SMTP replies.
    pub fn reply(&self) -> Reply {
        match self {
            Failure::Data(DataError::TooBig) => Reply::size_exceeded(),
            Failure::Data(DataError::LineTooLong) => Reply::data_line_too_long(),
            Failure::Data(DataError::BareLineEnding) => Reply::bare_line_ending(),
            Failure::Data(DataError::Nul) => Reply::nul_in_data(),
            Failure::Data(DataError::OverBudget | DataError::SpoolFailed) => {
                Reply::insufficient_resources()
            }
            Failure::NoNextHop(relay::Error::Tls(_)) => Reply::next_hop_tls_failed(),
            Failure::NoNextHop(relay::Error::Dns(_)) => Reply::next_hop_dns_failed(),
            Failure::NoNextHop(relay::Error::Unreachable { .. }) => Reply::next_hop_unreachable(),
            // A refusal at greeting/EHLO is the next hop's own word, but never permanent for our upstream:
            // the message is still safe there and can be retried.
            Failure::NoNextHop(relay::Error::Refused(_)) => Reply::next_hop_unreachable(),
            Failure::NextHop(e) if e.is_tls() => Reply::next_hop_tls_failed(),
            Failure::NextHop(relay::client::Error::Protocol(_)) => Reply::next_hop_protocol(),
            Failure::NextHop(_) => Reply::next_hop_lost(),
            Failure::Inspection(_) | Failure::InspectionTimeout => Reply::inspection_failed(),
            // Never permanent: the upstream still has the message.
            Failure::Store(crate::store::StoreError::Full(_)) => Reply::store_full(),
            Failure::Store(_) | Failure::Unholdable(_) => Reply::store_failed(),
            Failure::NextHopGone => Reply::next_hop_lost(),
            // The upstream was already told its recipients are accepted: never permanent.
            Failure::RefusedOnReplay(r) if r.is_permanent() => Reply::refused_on_second_attempt(),
            // A temporary refusal is the next hop's own word, relayed as it is.
            Failure::RefusedOnReplay(r) => r.clone(),
            Failure::Internal(_) => Reply::relay_internal(),
        }
    }
}

/// Messages up to this size are inspected on the session's own thread (see [`Inspector::inspect`]).
pub const INLINE_INSPECTION_BYTES: usize = 16 * 1024;

mod pool;
pub mod track;

pub use pool::{Pool, PoolError};

/// Decomposition, detection and policy, with a panic turned into an inspection failure.
fn evaluate(
    scanner: &Scanner,
    envelope: &Envelope,
    message: &[u8],
    budget: &dyn Budget,
    direction: Option<Direction>,
    fault: Option<&Fault>,
) -> Result<Verdict, Failure> {
    let report = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        if let Some(f) = fault {
            f.strike(message);
        }
        scanner.scan_as(envelope, message, budget, direction)
    }))
    .map_err(|_| Failure::Inspection("inspection panicked".into()))?;
    // Decomposition stopped at the deadline: the rest of the message was never looked at, so this
    // is the same failure as the race below losing, whichever finished first (`on_failure` decides).
    let out_of_time = report.anomalies.iter().any(|a| {
        matches!(
            a,
            crate::decompose::Anomaly::LimitExceeded {
                kind: crate::decompose::LimitKind::Time,
                ..
            }
        )
    });
    if out_of_time {
        return Err(Failure::InspectionTimeout);
    }
    Ok(report.verdict)
}

/// A test hook (`SLUICE_TEST_INSPECT_FAULT=panic:MARK` or `abort:MARK`, read from the
/// environment only, like `SLUICE_CLOCK_OFFSET_FILE`): the gateway's inspection of a message
/// containing MARK panics, or aborts the process, so the tests can show what a crashing
/// inspection does to a message in custody.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    abort: bool,
    mark: Vec<u8>,
}

impl Fault {
    /// `panic:MARK` or `abort:MARK`; anything else is no fault.
    pub fn parse(s: &str) -> Option<Fault> {
        let (how, mark) = s.split_once(':')?;
        let abort = match how {
            "panic" => false,
            "abort" => true,
            _ => return None,
        };
        (!mark.is_empty()).then(|| Fault {
            abort,
            mark: mark.as_bytes().to_vec(),
        })
    }

    fn from_env() -> Option<&'static Fault> {
        static FAULT: std::sync::OnceLock<Option<Fault>> = std::sync::OnceLock::new();
        FAULT
            .get_or_init(|| {
                std::env::var("SLUICE_TEST_INSPECT_FAULT")
                    .ok()
                    .and_then(|s| Fault::parse(&s))
            })
            .as_ref()
    }

    fn strike(&self, message: &[u8]) {
        if !message.windows(self.mark.len()).any(|w| w == self.mark) {
            return;
        }
        if self.abort {
            std::process::abort();
        }
        panic!("SLUICE_TEST_INSPECT_FAULT: inspection panics on its mark");
    }
}

/// The inspection time budget as the decomposition core sees it (only the shell reads the clock).
struct Deadline(Instant);

impl Budget for Deadline {
    fn expired(&self) -> bool {
        Instant::now() >= self.0
    }
}

/// What to do with the message after inspection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Refuse it with this reply (policy block or loop).
    Refuse { reply: Reply, reason: &'static str },
    /// Relay this (possibly edited) message, to `redirect_to` instead of the envelope recipients if set.
    Relay {
        message: Vec<u8>,
        redirect_to: Option<Vec<String>>,
    },
    /// Keep this message in the store (quarantine; or until an approver decides when `approvers`
    /// is non-empty); the upstream gets 250 only after the commit.
    Hold {
        message: Vec<u8>,
        approvers: Vec<String>,
    },
}

/// Everything the end-of-DATA step needs, shared by all sessions (cloned per listener: its parts
/// are shared handles).
#[derive(Clone)]
pub struct Inspector {
    scanner: Arc<Scanner>,
    pool: Pool,
    trial_mode: bool,
    on_failure: OnFailure,
    time_budget: Duration,
    failure_header: Field,
    tag_violations: bool,
    pass_header: Option<Field>,
    max_received: usize,
    released: Released,
}

/// Tells whether a message carries a valid release mark (it was released from Sluice's quarantine).
pub type Released = Arc<dyn Fn(&[u8]) -> bool + Send + Sync>;

/// The result of inspecting one message, for logging and for [`Inspector::decide`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inspection {
    Done(Verdict),
    /// Inspection failed but the configuration says to pass the message on, tagged.
    FailedOpen(String),
}

impl Inspector {
    /// Fails when a detector the policies need cannot be built (a message naming it).
    pub fn new(config: &Config, pdf: Pdf, library: &Library) -> Result<Inspector, String> {
        let threads = match config.inspection.threads {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        Ok(Inspector {
            scanner: Arc::new(Scanner::with(config, &[], pdf, library)?),
            pool: Pool::new(threads).map_err(|e| format!("starting the inspection pool: {e}"))?,
            trial_mode: config.server.trial_mode,
            on_failure: config.inspection.on_failure,
            time_budget: config.inspection.time_budget,
            failure_header: config.inspection.failure_header.clone(),
            tag_violations: config.inspection.tag_violations,
            pass_header: config.relay.pass_header.clone(),
            max_received: config.relay.max_received_headers,
            released: Arc::new(|_: &[u8]| false),
        })
    }

    /// How a released message is recognised (the store's release mark; without it, none is).
    pub fn with_released(mut self, released: Released) -> Inspector {
        self.released = released;
        self
    }

    pub fn trial_mode(&self) -> bool {
        self.trial_mode
    }

    /// Whether some message may be refused, held or redirected rather than relayed to its
    /// recipients: never in trial mode, else when a policy can (`Policies::can_refuse_or_divert`).
    /// The loop check refuses too, but only mail that is looping.
    pub fn can_refuse_or_divert(&self) -> bool {
        !self.trial_mode && self.scanner.policies().can_refuse_or_divert()
    }

    /// Runs decomposition and policy: in place for small messages, on the inspection pool within the
    /// time budget for larger ones. A failure follows `inspection.on_failure`.
    pub async fn inspect<M: AsRef<[u8]> + Send + Sync + 'static>(
        &self,
        envelope: &Envelope,
        message: &Arc<M>,
    ) -> Result<Inspection, Failure> {
        let result = self.verdict(envelope, message, None, None).await;
        match (result, self.on_failure) {
            (Ok(v), _) => Ok(Inspection::Done(v)),
            (Err(e), OnFailure::TempFail) => Err(e),
            (Err(e), OnFailure::Pass) => Ok(Inspection::FailedOpen(e.to_string())),
        }
    }

    /// The gateway's inspection of a message in its custody: the same scan with the direction
    /// given as a fact; a failure (panic, time budget) is returned as it is, whatever
    /// `inspection.on_failure` says (the gateway retries, then holds the message as suspect).
    /// The test hook `SLUICE_TEST_INSPECT_FAULT` ([`Fault`]) applies here only.
    pub async fn inspect_custody<M: AsRef<[u8]> + Send + Sync + 'static>(
        &self,
        envelope: &Envelope,
        message: &Arc<M>,
        direction: Direction,
    ) -> Result<Inspection, Failure> {
        let fault = Fault::from_env();
        self.verdict(envelope, message, Some(direction), fault)
            .await
            .map(Inspection::Done)
    }

    async fn verdict<M: AsRef<[u8]> + Send + Sync + 'static>(
        &self,
        envelope: &Envelope,
        message: &Arc<M>,
        direction: Option<Direction>,
        fault: Option<&'static Fault>,
    ) -> Result<Verdict, Failure> {
        let bytes = message.as_ref().as_ref();
        if self.scanner.policies().is_empty() && fault.is_none() {
            return Ok(Verdict::default());
        }
        if bytes.len() <= INLINE_INSPECTION_BYTES {
            // Small messages: cheaper here than two thread hand-offs.
            return evaluate(&self.scanner, envelope, bytes, &NoBudget, direction, fault);
        }
        let (scanner, env, msg) = (self.scanner.clone(), envelope.clone(), message.clone());
        let budget = self.time_budget;
        // Decomposition stops itself at the deadline (what it did not reach is an anomaly);
        // the race below also covers a detector that runs long.
        let deadline = Deadline(Instant::now() + budget);
        let pool = self.pool.clone();
        async move {
            pool.run(move || {
                let bytes = msg.as_ref().as_ref();
                let verdict = evaluate(&scanner, &env, bytes, &deadline, direction, fault);
                if bytes.len() >= crate::memory::RELEASE_AFTER {
                    // What decomposing a large message allocated on this worker goes back now.
                    crate::memory::release();
                }
                verdict
            })
            .await
            .unwrap_or_else(|_| Err(Failure::Inspection("inspection worker lost".into())))
        }
        .or(async {
            smol::Timer::after(budget).await;
            Err(Failure::InspectionTimeout)
        })
        .await
    }

    /// Turns an inspection result into what happens to the message. Pure. `trace` (Sluice's own
    /// `Received:` field) goes on top of whatever is passed on; the loop limit counts only the
    /// Received fields the message arrived with.
    pub fn decide(
        &self,
        id: MessageId,
        message: Vec<u8>,
        inspection: &Inspection,
        trace: Option<Field>,
    ) -> Outcome {
        let received = header::count(&message, "received");
        if received > self.max_received {
            return Outcome::Refuse {
                reply: Reply::mail_loop(received),
                reason: "loop",
            };
        }
        // Headers Sluice vouches for are never taken from the sender: drop inbound copies first.
        let mut own: Vec<&str> = vec![self.failure_header.name()];
        if let Some(pass) = &self.pass_header {
            own.push(pass.name());
        }
        if self.tag_violations {
            own.extend(["X-dlp-uniquemsgid", "X-dlp-policyid"]);
        }
        let message = header::remove(message, &own);
        let mut added: Vec<Field> = trace.into_iter().collect();
        if let Some(h) = &self.pass_header {
            added.push(h.clone());
        }
        let verdict = match inspection {
            Inspection::FailedOpen(_) => {
                added.push(self.failure_header.clone());
                return Outcome::Relay {
                    message: header::prepend(message, &added),
                    redirect_to: None,
                };
            }
            Inspection::Done(v) => v,
        };
        if self.trial_mode || !verdict.violated() {
            return Outcome::Relay {
                message: header::prepend(message, &added),
                redirect_to: None,
            };
        }
        let enforcing = verdict.hits.iter().any(|h| !h.monitor);
        if self.tag_violations && enforcing {
            let pid = verdict
                .deciding_policy
                .or(verdict.hits.first().map(|h| h.id))
                .unwrap_or(0);
            // A GUID and a number: always valid fields.
            added.extend(Field::new("X-dlp-uniquemsgid", id.to_string()).ok());
            added.extend(Field::new("X-dlp-policyid", pid.to_string()).ok());
        }
        match &verdict.decision {
            Decision::Block { reply } => Outcome::Refuse {
                reply: Reply::blocked(reply),
                reason: "policy",
            },
            Decision::Pass => Outcome::Relay {
                message: header::prepend(message, &added),
                redirect_to: None,
            },
            Decision::Hold { .. } if (self.released)(&message) => Outcome::Relay {
                // Released from the quarantine and back through Sluice (reflecting mode): the
                // hold is not repeated; the policies were still evaluated and their incidents logged.
                message: header::prepend(message, &added),
                redirect_to: None,
            },
            Decision::Hold { approvers } => Outcome::Hold {
                message: header::prepend(message, &added),
                approvers: approvers.clone(),
            },
            Decision::Relay {
                redirect_to,
                subject,
                headers,
                ..
            } => {
                let mut message = message;
                if !subject.is_empty() {
                    let mut s = header::first(&message, "subject").unwrap_or_default();
                    for edit in subject {
                        s = edit.apply(&s);
                    }
                    message = header::set_subject(message, &s);
                }
                added.extend(headers.iter().cloned());
                let redirect = (!redirect_to.is_empty()).then(|| redirect_to.clone());
                Outcome::Relay {
                    message: header::prepend(message, &added),
                    redirect_to: redirect,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
