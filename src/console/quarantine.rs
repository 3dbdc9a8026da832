//! `sluice quarantine list|show|release|delete|forward|rescan|stats`: held messages from the
//! command line. Flags in, service calls, text or JSON out.

use std::process::ExitCode;

use crate::cli::{
    FilterArgs, Quarantine, QuarantineCommand, QuarantineList, QuarantineShow, QuarantineStats,
};
use crate::service::{self, Listing, Op, Query, Service, Target};

use super::confirm::Confirm;
use super::{
    Ctx, EXIT_OK, EXIT_PARTIAL, Request, fail, flagged, out, prepare, query, release, remediate,
    render, with_store,
};

/// The [`Held`] selection of a release, delete, forward or rescan command's flags (argh structs
/// share fields, not a type).
macro_rules! selection {
    ($a:expr) => {
        Held {
            ids: $a.ids.clone(),
            all_matching: $a.all_matching,
            filter: $a.filter_args(),
            actor: $a.actor.clone(),
            confirm: Confirm {
                yes: $a.yes,
                dry_run: $a.dry_run,
            },
        }
    };
}

/// Runs a `quarantine` subcommand.
pub fn quarantine(q: Quarantine) -> ExitCode {
    match q.command {
        QuarantineCommand::List(a) => {
            with_store("quarantine list", &a.store_args(), false, |ctx| {
                list(ctx, &a)
            })
        }
        QuarantineCommand::Show(a) => {
            with_store("quarantine show", &a.store_args(), false, |ctx| {
                show(ctx, &a)
            })
        }
        QuarantineCommand::Release(a) => {
            with_store("quarantine release", &a.store_args(), false, |ctx| {
                let op = match release(a.tag.as_deref()) {
                    Ok(op) => op,
                    Err(e) => return fail(ctx.cmd, e),
                };
                let held = selection!(a);
                act(ctx, held, op)
            })
        }
        QuarantineCommand::Delete(a) => {
            with_store("quarantine delete", &a.store_args(), false, |ctx| {
                let held = selection!(a);
                act(ctx, held, Op::Delete)
            })
        }
        QuarantineCommand::Forward(a) => {
            with_store("quarantine forward", &a.store_args(), false, |ctx| {
                if a.to.is_empty() {
                    return fail(ctx.cmd, "give at least one --to address");
                }
                let held = selection!(a);
                act(ctx, held, Op::Forward { to: a.to.clone() })
            })
        }
        QuarantineCommand::Rescan(a) => {
            with_store("quarantine rescan", &a.store_args(), false, |ctx| {
                let held = selection!(a);
                act(ctx, held, Op::Rescan)
            })
        }
        QuarantineCommand::Stats(a) => {
            with_store("quarantine stats", &a.store_args(), false, |ctx| {
                show_stats(ctx, &a)
            })
        }
    }
}

/// The flags every action on held messages shares.
struct Held {
    ids: Vec<u64>,
    all_matching: bool,
    filter: FilterArgs,
    actor: Option<String>,
    confirm: Confirm,
}

/// An action on held messages (`--all-matching` without `--status` means those still held: the
/// service's selection).
fn act(ctx: &Ctx, held: Held, op: Op) -> ExitCode {
    let op = match prepare(ctx, op) {
        Ok(p) => p,
        Err(e) => return fail(ctx.cmd, e),
    };
    remediate(
        ctx,
        Request {
            target: Target::Held,
            ids: held.ids,
            all_matching: held.all_matching,
            filter: held.filter,
            op,
            actor: held.actor,
            confirm: held.confirm,
        },
    )
}

fn show_stats(ctx: &Ctx, a: &QuarantineStats) -> ExitCode {
    let stats = match ctx.service.stats() {
        Ok(s) => s,
        Err(e) => return fail(ctx.cmd, e),
    };
    let text = if a.json {
        let mut map = serde_json::Map::new();
        map.insert("held_messages".into(), stats.held_messages.into());
        map.insert("held_bytes".into(), stats.held_bytes.into());
        for c in &stats.counters {
            map.insert(c.name.into(), c.total.into());
        }
        format!("{}\n", serde_json::Value::Object(map))
    } else {
        let mut t = format!(
            "held_messages  {}\nheld_bytes     {}\n",
            stats.held_messages, stats.held_bytes
        );
        for c in &stats.counters {
            t.push_str(&format!("{:<14} {}\n", c.name, c.total));
        }
        t
    };
    out(text.as_bytes());
    ExitCode::from(EXIT_OK)
}

/// Prints a listing's notes to stderr: more may match, corrupt records skipped.
fn notes(shown: usize, more: bool, corrupt: usize) {
    if more {
        eprintln!("showing the first {shown}; more may match (raise --limit)");
    }
    if corrupt > 0 {
        eprintln!("{corrupt} corrupt record(s) skipped");
    }
}

fn list(ctx: &Ctx, a: &QuarantineList) -> ExitCode {
    list_records(
        ctx,
        &a.filter_args(),
        a.json,
        Service::list_held,
        render::held_table,
    )
}

/// A listing of held messages or incidents: the filter flags as a query, the service's listing
/// (pages walked up to `--limit`), a table or one JSON object per line, and the notes (more may
/// match, corrupt records skipped).
pub(super) fn list_records<T: serde::Serialize>(
    ctx: &Ctx,
    args: &FilterArgs,
    json: bool,
    listing: fn(&Service, &Query) -> service::Result<Listing<T>>,
    table: fn(&[T]) -> String,
) -> ExitCode {
    let q = match query(args, ctx.service.now()) {
        Ok(q) => q,
        Err(e) => return fail(ctx.cmd, e),
    };
    let found = match listing(&ctx.service, &q) {
        Ok(x) => x,
        Err(e) => return fail(ctx.cmd, flagged(e)),
    };
    if json {
        let mut text = String::new();
        for item in &found.items {
            match serde_json::to_value(item) {
                Ok(mut v) => {
                    render::json_times(&mut v);
                    text.push_str(&v.to_string());
                    text.push('\n');
                }
                Err(e) => return fail(ctx.cmd, e),
            }
        }
        out(text.as_bytes());
    } else {
        out(table(&found.items).as_bytes());
    }
    notes(found.items.len(), found.more, found.corrupt);
    ExitCode::from(EXIT_OK)
}

fn show(ctx: &Ctx, a: &QuarantineShow) -> ExitCode {
    let view = match ctx.service.show_held(service::HeldId(a.id), a.content) {
        Ok(v) => v,
        Err(e @ service::Error::NotFound(_)) => {
            eprintln!("sluice {}: {e}", ctx.cmd);
            return ExitCode::from(EXIT_PARTIAL);
        }
        Err(e) => return fail(ctx.cmd, e),
    };
    if a.content {
        return match &view.content {
            Some(bytes) => {
                out(bytes);
                ExitCode::from(EXIT_OK)
            }
            None => {
                eprintln!(
                    "sluice {}: held message {} has no content any more ({})",
                    ctx.cmd,
                    a.id,
                    view.held.status.name()
                );
                ExitCode::from(EXIT_PARTIAL)
            }
        };
    }
    if a.json {
        let mut v = match serde_json::to_value(&view) {
            Ok(v) => v,
            Err(e) => return fail(ctx.cmd, e),
        };
        render::json_times(&mut v);
        out(format!("{v}\n").as_bytes());
    } else {
        out(render::held(&view).as_bytes());
    }
    ExitCode::from(EXIT_OK)
}
