//! `sluice incident list|show|remediate`: incidents from the command line.

use std::process::ExitCode;

use crate::cli::{Incident, IncidentCommand, IncidentList, IncidentRemediate, IncidentShow};
use crate::remediate::{Action, Release, Target};
use crate::store::records::IncidentId;
use crate::store::{held, incidents};

use super::quarantine::scanner;
use super::{Ctx, EXIT_OK, EXIT_PARTIAL, Request, fail, out, remediate, render, tag, with_store};

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

fn remediate_cmd(ctx: &Ctx, a: &IncidentRemediate) -> ExitCode {
    let action = a.action.trim();
    if a.tag.is_some() && action != "release" {
        return fail(ctx.cmd, "--tag goes with --action release");
    }
    if !a.to.is_empty() && action != "forward" {
        return fail(ctx.cmd, "--to goes with --action forward");
    }
    if a.note.is_some() && action != "note" {
        return fail(ctx.cmd, "--note goes with --action note");
    }
    let scanner = if action == "rescan" {
        match scanner(ctx) {
            Ok(s) => Some(s),
            Err(e) => return fail(ctx.cmd, e),
        }
    } else {
        None
    };
    let action = match (action, &scanner) {
        ("release", _) => {
            let tag = match a.tag.as_deref().map(tag).transpose() {
                Ok(t) => t,
                Err(e) => return fail(ctx.cmd, e),
            };
            Action::Release(Release {
                tag,
                give_up: ctx.config.queue.give_up.as_secs(),
            })
        }
        ("delete", _) => Action::Delete,
        ("forward", _) => {
            if let Err(e) = crate::remediate::check_addresses(&a.to) {
                return fail(ctx.cmd, format!("{e} (give --to)"));
            }
            Action::Forward {
                to: a.to.clone(),
                give_up: ctx.config.queue.give_up.as_secs(),
            }
        }
        ("rescan", Some(s)) => Action::Rescan(s),
        ("resolve", _) => Action::Resolve,
        ("dismiss", _) => Action::Dismiss,
        ("note", _) => match &a.note {
            Some(n) => Action::Note(n.clone()),
            None => return fail(ctx.cmd, "--action note needs --note TEXT"),
        },
        (other, _) => return fail(ctx.cmd, format!("--action {other:?}: use one of {ACTIONS}")),
    };
    remediate(
        ctx,
        Request {
            target: Target::Incident,
            ids: a.ids.clone(),
            all_matching: a.all_matching,
            filter: a.filter_args(),
            action,
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
        Target::Incident,
        a.json,
        incidents::search,
        render::incident_table,
    )
}

fn show(ctx: &Ctx, a: &IncidentShow) -> ExitCode {
    let found = ctx.store.read(|txn| {
        let Some(i) = incidents::get(txn, IncidentId(a.id))? else {
            return Ok(None);
        };
        let history = incidents::history(txn, IncidentId(a.id))?;
        let h = match i.held {
            Some(id) => held::get(txn, id)?,
            None => None,
        };
        Ok(Some((i, history, h)))
    });
    let (i, history, h) = match found {
        Ok(Some(x)) => x,
        Ok(None) => {
            eprintln!("sluice {}: incident {} not found", ctx.cmd, a.id);
            return ExitCode::from(EXIT_PARTIAL);
        }
        Err(e) => return fail(ctx.cmd, e),
    };
    if a.json {
        let mut v = serde_json::json!({ "incident": i, "history": history, "held": h });
        render::json_times(&mut v);
        out(format!("{v}\n").as_bytes());
    } else {
        out(render::incident(&i, &history, h.as_ref()).as_bytes());
    }
    ExitCode::from(EXIT_OK)
}
