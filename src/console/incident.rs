//! `sluice incident list|show|remediate`: incidents from the command line. Flags in, service calls,
//! text or JSON out.

use std::process::ExitCode;

use crate::cli::{Incident, IncidentCommand, IncidentList, IncidentRemediate, IncidentShow};
use crate::service::{self, Op, Service, Target};

use super::{
    Ctx, EXIT_OK, EXIT_PARTIAL, Request, fail, out, prepare, release, remediate, render, with_store,
};

/// The actions `incident remediate --action` accepts.
const ACTIONS: &str = "release, delete, forward, rescan, resolve, dismiss, note";

/// Runs an `incident` subcommand.
pub fn incident(i: Incident) -> ExitCode {
    match i.command {
        IncidentCommand::List(a) => {
            with_store("incident list", &a.store_args(), false, |ctx| list(ctx, &a))
        }
        IncidentCommand::Show(a) => {
            with_store("incident show", &a.store_args(), false, |ctx| show(ctx, &a))
        }
        IncidentCommand::Remediate(a) => {
            with_store("incident remediate", &a.store_args(), false, |ctx| {
                remediate_cmd(ctx, &a)
            })
        }
    }
}

/// The operation `--action` names, with its flags.
fn op(a: &IncidentRemediate) -> Result<Op, String> {
    let action = a.action.trim();
    if a.tag.is_some() && action != "release" {
        return Err("--tag goes with --action release".into());
    }
    if !a.to.is_empty() && action != "forward" {
        return Err("--to goes with --action forward".into());
    }
    if a.note.is_some() && action != "note" {
        return Err("--note goes with --action note".into());
    }
    Ok(match action {
        "release" => release(a.tag.as_deref())?,
        "delete" => Op::Delete,
        "forward" => Op::Forward { to: a.to.clone() },
        "rescan" => Op::Rescan,
        "resolve" => Op::Resolve,
        "dismiss" => Op::Dismiss,
        "note" => match &a.note {
            Some(n) => Op::Note { text: n.clone() },
            None => return Err("--action note needs --note TEXT".into()),
        },
        other => return Err(format!("--action {other:?}: use one of {ACTIONS}")),
    })
}

fn remediate_cmd(ctx: &Ctx, a: &IncidentRemediate) -> ExitCode {
    let op = match op(a) {
        Ok(op) => op,
        Err(e) => return fail(ctx.cmd, e),
    };
    let forward = matches!(op, Op::Forward { .. });
    let op = match prepare(ctx, op) {
        Ok(p) => p,
        Err(e) if forward => return fail(ctx.cmd, format!("{e} (give --to)")),
        Err(e) => return fail(ctx.cmd, e),
    };
    remediate(
        ctx,
        Request {
            target: Target::Incident,
            ids: a.ids.clone(),
            all_matching: a.all_matching,
            filter: a.filter_args(),
            op,
            actor: a.actor.clone(),
            confirm: super::confirm::Confirm {
                yes: a.yes,
                dry_run: a.dry_run,
            },
        },
    )
}

fn list(ctx: &Ctx, a: &IncidentList) -> ExitCode {
    super::quarantine::list_records(
        ctx,
        &a.filter_args(),
        a.json,
        Service::list_incidents,
        render::incident_table,
    )
}

fn show(ctx: &Ctx, a: &IncidentShow) -> ExitCode {
    let view = match ctx.service.show_incident(service::IncidentId(a.id)) {
        Ok(v) => v,
        Err(e @ service::Error::NotFound(_)) => {
            eprintln!("sluice {}: {e}", ctx.cmd);
            return ExitCode::from(EXIT_PARTIAL);
        }
        Err(e) => return fail(ctx.cmd, e),
    };
    if a.json {
        let mut v = match serde_json::to_value(&view) {
            Ok(v) => v,
            Err(e) => return fail(ctx.cmd, e),
        };
        render::json_times(&mut v);
        out(format!("{v}\n").as_bytes());
    } else {
        out(render::incident(&view).as_bytes());
    }
    ExitCode::from(EXIT_OK)
}
