//! `sluice quarantine list|show|release|delete|forward|rescan`: held messages from the command line.

use std::process::ExitCode;
use std::sync::Arc;

use crate::cli::{
    FilterArgs, Quarantine, QuarantineCommand, QuarantineList, QuarantineRescan, QuarantineShow,
    QuarantineStats,
};
use crate::detect::Library;
use crate::remediate::{Action, Release, Target};
use crate::scan::Scanner;
use crate::store::records::{Held, HeldId, HistoryEntry, Incident};
use crate::store::search::{Filter, Found, MAX_PAGE, Page};
use crate::store::{ReadTxn, Result, Store, held, incidents, stats};

use super::confirm::Confirm;
use super::{
    Ctx, DEFAULT_LIST, EXIT_OK, EXIT_PARTIAL, Request, fail, filter, out, remediate, render, tag,
    with_store,
};

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
                let tag = match a.tag.as_deref().map(tag).transpose() {
                    Ok(t) => t,
                    Err(e) => return fail(ctx.cmd, e),
                };
                let release = Release {
                    tag,
                    give_up: ctx.config.queue.give_up.as_secs(),
                };
                remediate(
                    ctx,
                    request(
                        a.ids.clone(),
                        a.all_matching,
                        a.filter_args(),
                        Action::Release(release),
                        a.actor.clone(),
                        Confirm {
                            yes: a.yes,
                            dry_run: a.dry_run,
                        },
                    ),
                )
            })
        }
        QuarantineCommand::Delete(a) => {
            with_store("quarantine delete", &a.store_args(), false, |ctx| {
                remediate(
                    ctx,
                    request(
                        a.ids.clone(),
                        a.all_matching,
                        a.filter_args(),
                        Action::Delete,
                        a.actor.clone(),
                        Confirm {
                            yes: a.yes,
                            dry_run: a.dry_run,
                        },
                    ),
                )
            })
        }
        QuarantineCommand::Forward(a) => {
            with_store("quarantine forward", &a.store_args(), false, |ctx| {
                if a.to.is_empty() {
                    return fail(ctx.cmd, "give at least one --to address");
                }
                if let Err(e) = crate::remediate::check_addresses(&a.to) {
                    return fail(ctx.cmd, e);
                }
                remediate(
                    ctx,
                    request(
                        a.ids.clone(),
                        a.all_matching,
                        a.filter_args(),
                        Action::Forward {
                            to: a.to.clone(),
                            give_up: ctx.config.queue.give_up.as_secs(),
                        },
                        a.actor.clone(),
                        Confirm {
                            yes: a.yes,
                            dry_run: a.dry_run,
                        },
                    ),
                )
            })
        }
        QuarantineCommand::Rescan(a) => {
            with_store("quarantine rescan", &a.store_args(), false, |ctx| {
                rescan(ctx, &a)
            })
        }
        QuarantineCommand::Stats(a) => {
            with_store("quarantine stats", &a.store_args(), false, |ctx| {
                show_stats(ctx, &a)
            })
        }
    }
}

/// The counters `quarantine stats` shows, by their `stats` names.
const COUNTERS: [&str; 5] = [
    "quarantined",
    held::EVICTED_STAT,
    "released",
    "deleted",
    "expired",
];

fn show_stats(ctx: &Ctx, a: &QuarantineStats) -> ExitCode {
    let read = ctx.store.read(|txn| {
        let (bytes, count) = held::totals(txn)?;
        let mut counters = Vec::new();
        for name in COUNTERS {
            counters.push((name, stats::total(txn, name)?));
        }
        Ok((bytes, count, counters))
    });
    let (bytes, count, counters) = match read {
        Ok(v) => v,
        Err(e) => return fail(ctx.cmd, e),
    };
    let text = if a.json {
        let mut map = serde_json::Map::new();
        map.insert("held_messages".into(), count.into());
        map.insert("held_bytes".into(), bytes.into());
        for (name, n) in &counters {
            map.insert((*name).into(), (*n).into());
        }
        format!("{}\n", serde_json::Value::Object(map))
    } else {
        let mut t = format!("held_messages  {count}\nheld_bytes     {bytes}\n");
        for (name, n) in &counters {
            t.push_str(&format!("{name:<14} {n}\n"));
        }
        t
    };
    out(text.as_bytes());
    ExitCode::from(EXIT_OK)
}

/// A request on held messages; `--all-matching` without `--status` means the messages still held.
fn request(
    ids: Vec<u64>,
    all_matching: bool,
    mut filter: FilterArgs,
    action: Action<'_>,
    actor: Option<String>,
    confirm: Confirm,
) -> Request<'_> {
    if all_matching && filter.status.is_none() {
        filter.status = Some("held".into());
    }
    Request {
        target: Target::Held,
        ids,
        all_matching,
        filter,
        action,
        actor,
        confirm,
    }
}

/// Builds the scanner for the current policies, as `sluice scan` does.
/// On a data dir no server recorded its configuration in, says on stderr which one judges.
pub(super) fn scanner(ctx: &Ctx) -> std::result::Result<Scanner, String> {
    if !ctx.recorded {
        eprintln!(
            "sluice {}: no server has recorded its configuration in {}; judging with {}",
            ctx.cmd,
            ctx.config.server.data_dir.display(),
            if ctx.explicit_config {
                "--config"
            } else {
                "the embedded defaults (give --config FILE to use another)"
            }
        );
    }
    let pdf = crate::decompose::pdf_child::ChildPdf::current_exe(&ctx.config.pdf)
        .map_err(|e| format!("cannot find its own executable for PDF text: {e}"))?;
    let library: Library = crate::app::library(&ctx.config).map_err(|e| format!("{e:#}"))?;
    Scanner::with(&ctx.config, &[], Arc::new(pdf), &library)
}

fn rescan(ctx: &Ctx, a: &QuarantineRescan) -> ExitCode {
    let scanner = match scanner(ctx) {
        Ok(s) => s,
        Err(e) => return fail(ctx.cmd, e),
    };
    remediate(
        ctx,
        request(
            a.ids.clone(),
            a.all_matching,
            a.filter_args(),
            Action::Rescan(&scanner),
            a.actor.clone(),
            Confirm {
                yes: a.yes,
                dry_run: a.dry_run,
            },
        ),
    )
}

/// Up to `limit` records matching `filter`, newest first, walking pages; also whether more may
/// match and how many records were skipped as corrupt.
fn collect<T>(
    store: &Store,
    filter: &Filter,
    limit: usize,
    search: impl Fn(&dyn ReadTxn, &Filter, Page) -> Result<Found<T>>,
) -> Result<(Vec<T>, bool, usize)> {
    let (mut items, mut corrupt) = (Vec::new(), 0);
    let mut before = None;
    loop {
        let want = limit.saturating_sub(items.len()).min(MAX_PAGE);
        if want == 0 {
            return Ok((items, before.is_some(), corrupt));
        }
        let found = store.read(|txn| {
            search(
                txn,
                filter,
                Page {
                    limit: want,
                    before,
                },
            )
        })?;
        corrupt += found.corrupt.len();
        items.extend(found.items);
        match found.next {
            Some(cursor) => before = Some(cursor),
            None => return Ok((items, false, corrupt)),
        }
    }
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
        Target::Held,
        a.json,
        held::search,
        render::held_table,
    )
}

/// A listing of held messages or incidents: the filter flags, pages walked up to `--limit`, a table
/// or one JSON object per line, and the notes (more may match, corrupt records skipped).
pub(super) fn list_records<T: serde::Serialize>(
    ctx: &Ctx,
    args: &FilterArgs,
    target: Target,
    json: bool,
    search: impl Fn(&dyn ReadTxn, &Filter, Page) -> Result<Found<T>>,
    table: fn(&[T]) -> String,
) -> ExitCode {
    let f = match filter(args, target, ctx.now) {
        Ok(f) => f,
        Err(e) => return fail(ctx.cmd, e),
    };
    let limit = args.limit.unwrap_or(DEFAULT_LIST);
    let (items, more, corrupt) = match collect(&ctx.store, &f, limit, search) {
        Ok(x) => x,
        Err(e) => return fail(ctx.cmd, e),
    };
    if json {
        let mut text = String::new();
        for item in &items {
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
        out(table(&items).as_bytes());
    }
    notes(items.len(), more, corrupt);
    ExitCode::from(EXIT_OK)
}

type Shown = (
    Held,
    Option<Vec<u8>>,
    bool,
    Vec<(Incident, Vec<HistoryEntry>)>,
);

fn show(ctx: &Ctx, a: &QuarantineShow) -> ExitCode {
    let want_content = a.content;
    let found = ctx.store.read(|txn| {
        let Some(h) = held::get(txn, HeldId(a.id))? else {
            return Ok(None);
        };
        let content = held::content(txn, HeldId(a.id))?;
        let present = content.is_some();
        let mut list = Vec::new();
        for &i in &h.incidents {
            if let Some(inc) = incidents::get(txn, i)? {
                list.push((inc, incidents::history(txn, i)?));
            }
        }
        Ok(Some((h, content.filter(|_| want_content), present, list)))
    });
    let (h, content, present, list): Shown = match found {
        Ok(Some(x)) => x,
        Ok(None) => {
            eprintln!("sluice {}: held message {} not found", ctx.cmd, a.id);
            return ExitCode::from(EXIT_PARTIAL);
        }
        Err(e) => return fail(ctx.cmd, e),
    };
    if a.content {
        return match content {
            Some(bytes) => {
                out(&bytes);
                ExitCode::from(EXIT_OK)
            }
            None => {
                eprintln!(
                    "sluice {}: held message {} has no content any more ({})",
                    ctx.cmd,
                    a.id,
                    h.status.name()
                );
                ExitCode::from(EXIT_PARTIAL)
            }
        };
    }
    if a.json {
        let incidents: Vec<serde_json::Value> = list
            .iter()
            .map(|(i, hist)| serde_json::json!({ "incident": i, "history": hist }))
            .collect();
        let mut v =
            serde_json::json!({ "held": h, "content_held": present, "incidents": incidents });
        render::json_times(&mut v);
        out(format!("{v}\n").as_bytes());
    } else {
        out(render::held(&h, present, &list).as_bytes());
    }
    ExitCode::from(EXIT_OK)
}
