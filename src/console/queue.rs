//! `sluice queue pause|resume|reject|accept`: the queue switches (`store::switches`) from the
//! command line, each change audited with the operator's name and the source `cli` (event
//! `admin.change`). The running server sees a change within a second. The operations on queued
//! messages (list, show, hold, release, delete, retry, forward) are in `ops`.

mod ops;

use std::process::ExitCode;

use crate::cli::{Queue, QueueCommand, StoreArgs};
use crate::service::{Caller, QueueAction};
use crate::store::switches::Switch;

use super::{EXIT_OK, actor, fail, with_store};

/// Runs a `queue` subcommand.
pub fn queue(q: Queue) -> ExitCode {
    match q.command {
        QueueCommand::Pause(a) => switch(
            "queue pause",
            &a.store_args(),
            a.actor,
            Switch::Paused,
            true,
        ),
        QueueCommand::Resume(a) => switch(
            "queue resume",
            &a.store_args(),
            a.actor,
            Switch::Paused,
            false,
        ),
        QueueCommand::Reject(a) => switch(
            "queue reject",
            &a.store_args(),
            a.actor,
            Switch::Rejecting,
            true,
        ),
        QueueCommand::Accept(a) => switch(
            "queue accept",
            &a.store_args(),
            a.actor,
            Switch::Rejecting,
            false,
        ),
        QueueCommand::List(a) => with_store("queue list", &a.store_args(), false, |ctx| {
            ops::list(ctx, &a.queue_filter_args(), a.json)
        }),
        QueueCommand::Show(a) => with_store("queue show", &a.store_args(), false, |ctx| {
            ops::show(ctx, &a.id, a.json)
        }),
        QueueCommand::Hold(a) => with_store("queue hold", &a.store_args(), false, |ctx| {
            ops::act(ctx, a.selection(), QueueAction::Hold)
        }),
        QueueCommand::Release(a) => with_store("queue release", &a.store_args(), false, |ctx| {
            let action = QueueAction::Release {
                unscanned: a.unscanned,
            };
            ops::act(ctx, a.selection(), action)
        }),
        QueueCommand::Delete(a) => with_store("queue delete", &a.store_args(), false, |ctx| {
            ops::act(ctx, a.selection(), QueueAction::Delete)
        }),
        QueueCommand::Retry(a) => with_store("queue retry", &a.store_args(), false, |ctx| {
            ops::act(ctx, a.selection(), QueueAction::Retry)
        }),
        QueueCommand::Forward(a) => with_store("queue forward", &a.store_args(), false, |ctx| {
            let action = QueueAction::Forward {
                to: a.to.clone(),
                subject: a.subject.clone(),
            };
            ops::act(ctx, a.selection(), action)
        }),
    }
}

fn switch(
    cmd: &'static str,
    args: &StoreArgs,
    who: Option<String>,
    switch: Switch,
    on: bool,
) -> ExitCode {
    with_store(cmd, args, false, |ctx| {
        let caller = match actor(who.as_deref()) {
            Ok(a) => Caller::cli(a.as_str()),
            Err(e) => return fail(ctx.cmd, e),
        };
        match ctx.service.set_switch(switch, on, &caller) {
            Ok(changed) => {
                crate::outln!("{}", said(switch, on, changed));
                ExitCode::from(EXIT_OK)
            }
            Err(e) => fail(ctx.cmd, e),
        }
    })
}

/// The line a change prints.
fn said(switch: Switch, on: bool, changed: bool) -> String {
    let state = match (switch, on) {
        (Switch::Paused, true) => {
            "delivery paused: the queue delivers nothing until `sluice queue resume`"
        }
        (Switch::Paused, false) => "delivery resumed",
        (Switch::Rejecting, true) => {
            "rejecting: gateway listeners answer 421 at connect until `sluice queue accept`"
        }
        (Switch::Rejecting, false) => "accepting incoming mail",
    };
    if changed {
        state.to_string()
    } else {
        format!("{state} (already so)")
    }
}
