//! Where a session's messages go: the in-line proxy's next hop (`Downstream`, unchanged), or a
//! gateway listener's custody (`gateway::intake`): the gate at connect, MAIL and RCPT, and at the
//! end of DATA one synced store write before the 250, then the inline verdict.
//!
//! The dispatch is one `match` per SMTP step; the in-line proxy's path is exactly `Downstream`'s.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_lite::FutureExt;

use crate::gateway::intake::{self, Arrival, Intake};
use crate::gateway::settle::{self, Parts, Settled};
use crate::hold::Facts;
use crate::message::header::Field;
use crate::message::{Content, Envelope, MailParams, MessageId, Origin, Recipient};
use crate::pipeline::Failure;
use crate::pipeline::track::Status;
use crate::relay::Relay;
use crate::smtp::{DataError, Reply};

use super::Shared;
use super::downstream::Downstream;
use super::track::{self, Ending, Write};

// One per session, on its task's stack: the in-line proxy's `Downstream` stays unboxed (its path
// is unchanged), the smaller gateway side needs no box either.
#[allow(clippy::large_enum_variant)]
pub(super) enum Leg {
    Inline(Downstream),
    Gateway(Intake),
}

impl Leg {
    /// The leg for a new session on a listener of `shared`'s mode: a gateway client the gate
    /// refuses gets the refusal instead.
    pub(super) async fn connect(shared: &Shared, peer: std::net::SocketAddr) -> Result<Leg, Reply> {
        match &shared.gateway {
            None => Ok(Leg::Inline(Downstream::new())),
            Some(context) => Intake::connect(context.clone(), peer)
                .await
                .map(Leg::Gateway),
        }
    }

    /// The set changed between transactions: a next-hop connection of the old set is settled with
    /// it; a gateway session takes the new set's gateway settings.
    pub(super) async fn refresh(&mut self, old: &Shared, new: &Shared) {
        match self {
            Leg::Inline(d) => {
                d.close(&old.relay).await;
                *d = Downstream::new();
            }
            Leg::Gateway(i) => i.refresh(new.gateway.as_ref()),
        }
    }

    pub(super) async fn mail(&mut self, relay: &Relay, origin: &Origin, sender: &str) -> Reply {
        match self {
            Leg::Inline(d) => d.mail(relay, origin).await,
            Leg::Gateway(i) => i.mail(sender).await,
        }
    }

    pub(super) async fn rcpt(
        &mut self,
        relay: &Relay,
        origin: &Origin,
        sender: &str,
        params: &MailParams,
        rcpt: &Recipient,
    ) -> Reply {
        match self {
            Leg::Inline(d) => d.rcpt(relay, origin, sender, params, rcpt).await,
            Leg::Gateway(i) => i.rcpt(sender, rcpt).await,
        }
    }

    pub(super) async fn start_data(&mut self) {
        if let Leg::Inline(d) = self {
            d.start_data().await;
        }
    }

    pub(super) async fn close(&mut self, relay: &Relay) {
        if let Leg::Inline(d) = self {
            d.close(relay).await;
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn finish(
        &mut self,
        shared: &Arc<Shared>,
        origin: &Origin,
        id: MessageId,
        envelope: Envelope,
        data: Result<Content, DataError>,
        trace: Field,
        started: Instant,
    ) -> Reply {
        match self {
            Leg::Inline(d) => {
                d.finish(shared, origin, id, envelope, data, trace, started)
                    .await
            }
            Leg::Gateway(i) => {
                let m = Message {
                    shared,
                    intake: i,
                    origin,
                    id,
                    started,
                };
                m.custody(envelope, data, trace).await
            }
        }
    }
}

/// One message at the end of DATA on a gateway listener.
struct Message<'a> {
    shared: &'a Arc<Shared>,
    intake: &'a Intake,
    origin: &'a Origin,
    id: MessageId,
    started: Instant,
}

impl Message<'_> {
    /// Custody, then the inline verdict. The 250 is built from the store's receipt, or from the
    /// hold's commit; a store failure before the receipt is a 4xx (`Failure::reply`).
    async fn custody(
        &self,
        envelope: Envelope,
        data: Result<Content, DataError>,
        trace: Field,
    ) -> Reply {
        let (shared, id) = (self.shared, self.id);
        let direction = self.intake.direction(&envelope);
        let content = match data {
            // What the client sent, without Sluice's own marker fields (`intake::MARKERS`).
            Ok(c) => Arc::new(intake::unmarked(c)),
            Err(e) => {
                let f = Failure::Data(e);
                tracing::info!(%id, peer = %self.origin.peer, error = %f, "message refused");
                return self.refused(&envelope, direction, f);
            }
        };
        let mut facts = Facts::of(id, self.origin, &envelope, &content, &[]);
        facts.direction = direction;
        let mut end = Ending::new(&facts, self.origin.peer, self.started, content.len() as u64);
        let settings = &self.intake.context().custody;
        let arrival = Arrival {
            guid: id.to_string(),
            listener: &shared.listener,
            origin: self.origin,
            local: self.intake.client().local,
            envelope: &envelope,
            direction,
            trace: trace.value(),
            now: shared.clock.now(),
        };
        let mut custody = intake::record(&arrival, &content);
        let taken = match shared.keeper.store() {
            Ok(store) => intake::take(store, settings, custody.clone(), content.clone()).await,
            Err(e) => Err(e),
        };
        let receipt = match taken {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(%id, peer = %self.origin.peer, error = %e, "message could not be taken into custody; deferred");
                return self.refused(&envelope, direction, Failure::Store(e));
            }
        };
        let accepted = Reply::accepted(&receipt);
        tracing::info!(%id, peer = %self.origin.peer, custody = %receipt.id(), inline = receipt.inline(), "message taken into custody");
        custody.id = receipt.id();
        custody.attempts = 1;
        if !receipt.inline() {
            crate::gateway::inspect::wake();
            return self.accepted(&end, accepted, Duration::ZERO);
        }
        let inspecting = Instant::now();
        let wait = settings.custody.inline_verdict;
        // Inspection runs in the task group: a verdict in time is carried out here; one that comes
        // after the client stopped waiting is carried out by the task itself (a block then bounces).
        let (tx, rx) = smol::channel::bounded(1);
        let job = {
            let (shared, settings) = (shared.clone(), settings.clone());
            let (envelope, content, custody) = (envelope.clone(), content.clone(), custody.clone());
            async move {
                let result = shared
                    .inspector
                    .inspect_custody(&envelope, &content, direction)
                    .await;
                if let Err(smol::channel::SendError(result)) = tx.send(result).await {
                    crate::gateway::inspect::conclude(
                        &shared, &settings, &custody, &content, result,
                    )
                    .await;
                }
            }
        };
        shared.tasks.spawn(job);
        let inspection = async { rx.recv().await.ok() }
            .or(async {
                smol::Timer::after(wait).await;
                None
            })
            .await;
        end.inspection = inspecting.elapsed();
        let inspection = match inspection {
            None => {
                tracing::info!(%id, custody = %receipt.id(), "no inline verdict in time; carried out when it comes");
                return self.accepted(&end, accepted, end.inspection);
            }
            Some(Err(f)) => {
                tracing::warn!(%id, custody = %receipt.id(), error = %f, "inspection failed; the inspection worker tries again");
                crate::gateway::inspect::failed(shared, settings, &custody, &f.to_string()).await;
                return self.accepted(&end, accepted, end.inspection);
            }
            Some(Ok(i)) => i,
        };
        if let crate::pipeline::Inspection::Done(v) = &inspection
            && v.violated()
        {
            end.policies = v.hits.iter().map(|h| h.name.clone()).collect();
        }
        let parts = Parts {
            keeper: &shared.keeper,
            inspector: &shared.inspector,
            settings,
            hostname: shared.settings.hostname.as_str(),
        };
        let plan = match settle::plan(&parts, &custody, &content, &inspection, false) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(%id, custody = %receipt.id(), error = %e, "the verdict could not be carried out; the inspection worker tries again");
                return self.accepted(&end, accepted, end.inspection);
            }
        };
        let held_event = end.track(Status::Held, &Reply::held(id, 0, false)).fields();
        if plan.delivers() {
            // The 250 is the custody's: the move to the delivery queue need not hold the client.
            let tracked = end.track(Status::Accepted, &accepted);
            let context = self.intake.context().clone();
            let (shared2, inspected) = (shared.clone(), end.inspection);
            shared.tasks.spawn(async move {
                let settings = &context.custody;
                let parts = Parts {
                    keeper: &shared2.keeper,
                    inspector: &shared2.inspector,
                    settings,
                    hostname: shared2.settings.hostname.as_str(),
                };
                let moved = settle::carry(&parts, &custody, &content, &inspection, plan, held_event);
                let write = match moved.await {
                    Ok(s) => {
                        let event = Some(track::event(&tracked));
                        let recorded = settle::record(
                            &parts,
                            &shared2.tasks,
                            &custody,
                            &content,
                            &inspection,
                            &s,
                            event,
                        );
                        if recorded { Write::WithRecord } else { Write::Own }
                    }
                    Err(e) => {
                        tracing::warn!(custody = %custody.id, error = %e, "the verdict could not be carried out; the inspection worker tries again");
                        Write::Own
                    }
                };
                track::conclude(&shared2, &tracked, inspected, write);
            });
            return accepted;
        }
        let settled = settle::carry(&parts, &custody, &content, &inspection, plan, held_event);
        match settled.await {
            Err(e) => {
                tracing::warn!(%id, custody = %receipt.id(), error = %e, "the verdict could not be carried out; the inspection worker tries again");
                self.accepted(&end, accepted, end.inspection)
            }
            Ok(Settled::Held { held, approval }) => {
                tracing::info!(%id, held = held.0, approval, "message held");
                let reply = Reply::held(id, held.0, approval);
                let tracked = end.track(Status::Held, &reply);
                track::conclude(shared, &tracked, end.inspection, Write::WithRecord);
                reply
            }
            Ok(s) => {
                let (status, reply) = match &s {
                    Settled::Blocked { reply, .. } => {
                        tracing::info!(%id, reply = %reply, "message blocked; removed from custody");
                        (Status::Blocked, reply.clone())
                    }
                    _ => (Status::Accepted, accepted),
                };
                let tracked = end.track(status, &reply);
                let event = Some(track::event(&tracked));
                let content: &[u8] = &content;
                let recorded = settle::record(
                    &parts,
                    &shared.tasks,
                    &custody,
                    content,
                    &inspection,
                    &s,
                    event,
                );
                let write = if recorded {
                    Write::WithRecord
                } else {
                    Write::Own
                };
                track::conclude(shared, &tracked, end.inspection, write);
                reply
            }
        }
    }

    /// The message is in custody and its 250 goes out; what happens next is the worker's.
    fn accepted(&self, end: &Ending<'_>, reply: Reply, inspection: Duration) -> Reply {
        let tracked = end.track(Status::Accepted, &reply);
        track::conclude(self.shared, &tracked, inspection, Write::Own);
        reply
    }

    /// Not taken: the client keeps the message (`Failure::reply`, the one mapping).
    fn refused(
        &self,
        envelope: &Envelope,
        direction: crate::policy::Direction,
        f: Failure,
    ) -> Reply {
        let reply = f.reply();
        let mut facts = Facts::of(self.id, self.origin, envelope, &[], &[]);
        facts.direction = direction;
        let end = Ending::new(&facts, self.origin.peer, self.started, 0);
        let status = track::status_of(&reply, Status::Accepted);
        track::conclude(
            self.shared,
            &end.track(status, &reply),
            Duration::ZERO,
            Write::Own,
        );
        reply
    }
}
