//! `sluice queue list|show|hold|release|delete|retry|forward`: queued messages (custody `i<n>`,
//! delivery entries `q<n>`) from the command line. Flags in, `Service::queue_*` calls, a table,
//! text or JSON lines out; bulk actions (`--all-matching`) confirm as `sluice quarantine` does
//! (`confirm`). Exit codes: 0 all done, 1 some message skipped or not found, 2 an error.

use std::process::ExitCode;

use crate::cli::{QueueFilterArgs, QueueSelection};
use crate::policy::Direction;
use crate::service::{
    Caller, DEFAULT_LIST, QueueAction, QueueEntryView, QueueFilter, QueueOutcome, QueueRef,
    QueueRow, QueueStage,
};

use super::super::confirm::{self, Confirm, Go};
use super::super::{Ctx, EXIT_OK, EXIT_PARTIAL, actor, fail, out, render, time};

/// Rows listed before a bulk action (the rest are counted).
const SHOWN: usize = confirm::SHOWN;

/// The filter flags as the service's filter; `bulk`: without `--limit`, every match.
fn filter(args: &QueueFilterArgs, bulk: bool) -> Result<QueueFilter, String> {
    let stage = args
        .stage
        .as_deref()
        .map(str::parse::<QueueStage>)
        .transpose()
        .map_err(|e| format!("--{e}"))?;
    let direction =
        match args.direction.as_deref().map(str::trim) {
            None => None,
            Some(d) => Some(Direction::parse(d).ok_or_else(|| {
                format!("--direction {d:?}: use one of inbound, outbound, internal")
            })?),
        };
    let older_than = match &args.older_than {
        None => None,
        Some(s) => Some(
            crate::units::duration::parse(s)
                .map_err(|e| format!("--older-than: {e}"))?
                .as_secs(),
        ),
    };
    let limit = match (args.limit, bulk) {
        (Some(0), _) => return Err("--limit must be at least 1".into()),
        (Some(n), _) => n,
        (None, false) => DEFAULT_LIST,
        (None, true) => usize::MAX,
    };
    Ok(QueueFilter {
        stage,
        sender: args.sender.clone(),
        recipient: args.recipient.clone(),
        listener: args.listener.clone(),
        direction,
        older_than,
        limit,
    })
}

/// `3h` / `2d` / `45s`: how long ago `t` was.
fn age(now: u64, t: u64) -> String {
    let s = now.saturating_sub(t);
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m", s / 60),
        3_600..86_400 => format!("{}h", s / 3_600),
        _ => format!("{}d", s / 86_400),
    }
}

/// The listing table.
fn table(rows: &[QueueRow], now: u64) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.id.to_string(),
                r.stage.name().to_string(),
                age(now, r.queued),
                render::sender_cell(&r.sender),
                render::clean(&r.recipients.join(",")),
                r.attempts.to_string(),
                render::clean(r.last_error.as_deref().unwrap_or("-")),
            ]
        })
        .collect();
    render::table(
        &[
            "ID",
            "STAGE",
            "AGE",
            "SENDER",
            "RECIPIENTS",
            "ATTEMPTS",
            "LAST ERROR",
        ],
        &cells,
    )
}

/// `sluice queue list`.
pub fn list(ctx: &Ctx, args: &QueueFilterArgs, json: bool) -> ExitCode {
    let f = match filter(args, false) {
        Ok(f) => f,
        Err(e) => return fail(ctx.cmd, e),
    };
    let listing = match ctx.service.queue_list(&f) {
        Ok(l) => l,
        Err(e) => return fail(ctx.cmd, e),
    };
    if json {
        let mut text = String::new();
        for row in &listing.rows {
            match serde_json::to_string(row) {
                Ok(line) => {
                    text.push_str(&line);
                    text.push('\n');
                }
                Err(e) => return fail(ctx.cmd, e),
            }
        }
        out(text.as_bytes());
    } else {
        out(table(&listing.rows, ctx.service.now()).as_bytes());
    }
    if listing.more {
        eprintln!(
            "showing the first {}; more may match (raise --limit)",
            listing.rows.len()
        );
    }
    ExitCode::from(EXIT_OK)
}

/// The text of `sluice queue show`.
fn view_text(v: &QueueEntryView) -> String {
    let r = &v.row;
    let opt = |o: &Option<String>| o.as_deref().map_or("-".to_string(), render::clean);
    let mut t = String::new();
    let mut line = |k: &str, v: String| t.push_str(&format!("{k:<12} {v}\n"));
    line("id", r.id.to_string());
    line("stage", r.stage.name().into());
    line("kind", r.kind.into());
    line("guid", opt(&r.guid));
    line("listener", opt(&r.listener));
    line("direction", opt(&r.direction));
    line("queued", time::format(r.queued));
    line("sender", render::sender_cell(&r.sender));
    line("size", r.size.to_string());
    line("attempts", r.attempts.to_string());
    line("next", r.next_attempt.map_or("-".into(), time::format));
    line("last error", opt(&r.last_error));
    line("peer", render::clean(&v.peer));
    line("helo", opt(&v.helo));
    line("tls", v.tls.map_or("-".into(), |b| b.to_string()));
    t.push_str("recipients\n");
    for rc in &v.recipients {
        let reply = rc.reply.as_deref().map_or(String::new(), render::clean);
        t.push_str(&format!(
            "  {}  {}  {reply}\n",
            render::clean(&rc.address),
            rc.state
        ));
    }
    t.push_str("headers\n");
    for (n, val) in &v.headers {
        t.push_str(&format!("  {}: {}\n", render::clean(n), render::clean(val)));
    }
    t
}

/// `sluice queue show ID`: exit 1 when it is not in the queue.
pub fn show(ctx: &Ctx, id: &str, json: bool) -> ExitCode {
    let id: QueueRef = match id.parse() {
        Ok(id) => id,
        Err(e) => return fail(ctx.cmd, e),
    };
    let view = match ctx.service.queue_show(id) {
        Ok(v) => v,
        Err(e @ crate::service::Error::NotFound(_)) => {
            eprintln!("sluice {}: {e}", ctx.cmd);
            return ExitCode::from(EXIT_PARTIAL);
        }
        Err(e) => return fail(ctx.cmd, e),
    };
    if json {
        match serde_json::to_string(&view) {
            Ok(s) => out(format!("{s}\n").as_bytes()),
            Err(e) => return fail(ctx.cmd, e),
        }
    } else {
        out(view_text(&view).as_bytes());
    }
    ExitCode::from(EXIT_OK)
}

/// The ids an action acts on: those given, or with `--all-matching` what the filter flags select.
fn selection(ctx: &Ctx, sel: &QueueSelection) -> Result<Vec<QueueRef>, String> {
    let filtered = sel.filter != QueueFilterArgs::default();
    match (sel.all_matching, sel.ids.is_empty()) {
        (true, false) => Err("give ids or --all-matching, not both".into()),
        (false, true) => Err(
            "give the ids to act on (i<n> or q<n>, as `sluice queue list` shows \
                              them), or --all-matching with filter flags"
                .into(),
        ),
        (false, false) if filtered => {
            Err("filter flags select messages only with --all-matching".into())
        }
        (false, false) => sel
            .ids
            .iter()
            .map(|s| s.parse::<QueueRef>().map_err(|e| e.to_string()))
            .collect(),
        (true, true) => {
            let f = filter(&sel.filter, true)?;
            ctx.service.queue_select(&f).map_err(|e| e.to_string())
        }
    }
}

/// The listing shown before a bulk action: a count, then the first [`SHOWN`] messages.
fn preview(ctx: &Ctx, ids: &[QueueRef], dry_run: bool) -> String {
    let now = ctx.service.now();
    let rows: Vec<QueueRow> = ids
        .iter()
        .take(SHOWN)
        .filter_map(|&id| ctx.service.queue_show(id).ok().map(|v| v.row))
        .collect();
    let would = if dry_run { "would be touched" } else { "match" };
    let mut text = format!("{} {would}:\n", count(ids.len()));
    for line in table(&rows, now).lines() {
        text.push_str("  ");
        text.push_str(line);
        text.push('\n');
    }
    if ids.len() > SHOWN {
        text.push_str(&format!("  ... and {} more\n", ids.len() - SHOWN));
    }
    text
}

/// `3 queued messages`.
fn count(n: usize) -> String {
    format!("{n} queued message{}", if n == 1 { "" } else { "s" })
}

/// The line of one outcome.
fn said(o: &QueueOutcome, verb: &str) -> String {
    match (o.done, o.detail.as_str()) {
        (true, d) => format!("{}: {verb}: {d}", o.id),
        (false, "not found") => format!("{}: not found", o.id),
        (false, d) => format!("{}: skipped: {d}", o.id),
    }
}

/// `sluice queue hold|release|delete|retry|forward`.
pub fn act(ctx: &Ctx, sel: QueueSelection, action: QueueAction) -> ExitCode {
    let cmd = ctx.cmd;
    let caller = match actor(sel.actor.as_deref()) {
        Ok(a) => Caller::cli(a.as_str()),
        Err(e) => return fail(cmd, e),
    };
    if let Err(e) = action.check() {
        return fail(cmd, format!("--{e}"));
    }
    let ids = match selection(ctx, &sel) {
        Ok(ids) => ids,
        Err(e) => return fail(cmd, e),
    };
    if sel.all_matching || sel.dry_run {
        out(preview(ctx, &ids, sel.dry_run).as_bytes());
    }
    let flags = Confirm {
        yes: sel.yes,
        dry_run: sel.dry_run,
    };
    let go = match (sel.all_matching, sel.dry_run) {
        (true, _) => confirm::decide_on(flags, ids.len(), &count(ids.len()), action.name()),
        (false, true) => Go::DryRun,
        (false, false) => Go::Act,
    };
    match go {
        Go::Act => {}
        Go::DryRun => {
            crate::outln!("dry run: nothing was changed");
            return ExitCode::from(EXIT_OK);
        }
        Go::Refused(why) => return fail(cmd, why),
    }
    let outcomes = match ctx.service.queue_act(&action, &ids, &caller) {
        Ok(o) => o,
        Err(e) => return fail(cmd, e),
    };
    let verb = action.verb();
    let mut text = String::new();
    for o in &outcomes {
        if sel.json {
            match serde_json::to_string(o) {
                Ok(s) => text.push_str(&s),
                Err(e) => return fail(cmd, e),
            }
        } else if !(sel.all_matching && o.done) {
            text.push_str(&render::clean(&said(o, verb)));
        } else {
            continue;
        }
        text.push('\n');
    }
    let done = outcomes.iter().filter(|o| o.done).count();
    let skipped = outcomes.len() - done;
    if !sel.json {
        text.push_str(&format!("{done} {verb}, {skipped} skipped or not found\n"));
    }
    out(text.as_bytes());
    ExitCode::from(if skipped > 0 { EXIT_PARTIAL } else { EXIT_OK })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_flags_are_checked_and_named() {
        let args = |f: fn(&mut QueueFilterArgs)| {
            let mut a = QueueFilterArgs::default();
            f(&mut a);
            a
        };
        let e = filter(&args(|a| a.stage = Some("active".into())), false).unwrap_err();
        assert_eq!(
            e,
            "--stage \"active\": use one of inspect, deliver, deferred, hold"
        );
        let e = filter(&args(|a| a.direction = Some("up".into())), false).unwrap_err();
        assert!(e.starts_with("--direction \"up\""), "{e}");
        let e = filter(&args(|a| a.older_than = Some("soon".into())), false).unwrap_err();
        assert!(e.starts_with("--older-than: "), "{e}");
        let f = filter(
            &args(|a| {
                a.stage = Some("Deferred".into());
                a.older_than = Some("1h".into());
            }),
            false,
        )
        .unwrap();
        assert_eq!(f.stage, Some(QueueStage::Deferred));
        assert_eq!(f.older_than, Some(3_600));
        assert_eq!(f.limit, DEFAULT_LIST);
        assert_eq!(
            filter(&QueueFilterArgs::default(), true).unwrap().limit,
            usize::MAX
        );
        assert_eq!(age(10_000, 10_000 - 7_200), "2h");
    }
}
