//! The administrator's store commands: `sluice quarantine list|show|release|delete|forward|rescan|stats`,
//! `sluice incident list|show|remediate`, `sluice events list`, `sluice backup`, `sluice restore`,
//! `sluice report summary|detail`, `sluice queue list|show|hold|release|delete|retry|forward|pause|...`,
//! `sluice user add|passwd|list|remove` and
//! `sluice token create|list|revoke`. Shell: it chooses
//! the configuration (see `config::record`), turns the flags (`cli`) into the service's typed
//! requests, calls `service` (which opens the store once per process and does the work), and
//! renders the results to stdout (tables or JSON, `render`) and stderr (errors, notes, the
//! progress bar). Nothing here reads or writes the store itself.
//!
//! The commands run beside a serving Sluice: LMDB is multi-process, and what a release enqueues is
//! delivered by the server's queue worker. Exit codes: 0 all done, 1 some item refused or not found,
//! 2 an error (bad flags, no store, a store failure, a bulk action not confirmed, a configuration
//! that is not the server's), 141 stdout closed by its reader (see `output`).

mod confirm;
mod events;
mod incident;
mod quarantine;
mod queue;
pub mod render;
mod report;
mod users;
pub use crate::units::time;

use std::process::ExitCode;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::{Backup, FilterArgs, Restore, StoreArgs};
use crate::config::record::{Choice, Record};
use crate::service::{self, Actor, Op, Outcome, Prepared, Query, Service, Target};
use crate::store::Mode;

pub use events::events;
pub use incident::incident;
pub use quarantine::quarantine;
pub use queue::queue;
pub use report::report;
pub use users::{token, user};

/// Commands that go on when the server's recorded configuration cannot be used (lost, changed, or
/// another `--config`), saying so on stderr: they only read the store or copy it whole, judge
/// nothing, and need only `store.max_size`; recovering a store must not depend on a config file
/// that may be lost with it. The account and token commands judge nothing either, and are how an
/// administrator gets back in. Every command that judges or acts refuses instead.
const LENIENT: [&str; 18] = [
    "events list",
    "queue list",
    "queue show",
    "report summary",
    "report detail",
    "quarantine list",
    "quarantine show",
    "incident list",
    "incident show",
    "backup",
    "restore",
    "user add",
    "user passwd",
    "user list",
    "user remove",
    "token create",
    "token list",
    "token revoke",
];

/// Exit code: every item done.
const EXIT_OK: u8 = 0;
/// Exit code: some item refused or not found (or the one item asked for does not exist).
const EXIT_PARTIAL: u8 = 1;
/// Exit code: an error.
const EXIT_ERROR: u8 = 2;

/// Prints `sluice <cmd>: <msg>` to stderr and gives exit code 2.
fn fail(cmd: &str, msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("sluice {cmd}: {msg}");
    ExitCode::from(EXIT_ERROR)
}

/// What a command works with: the service over the open store, and how its configuration was
/// chosen.
struct Ctx {
    cmd: &'static str,
    service: Service,
    /// The configuration is the one the data dir's server recorded (see `config::record`).
    recorded: bool,
    /// `--config` was given.
    explicit_config: bool,
}

/// Chooses the configuration (the one the data dir's server recorded, see
/// [`Record::choose`]; a mismatch with `--config` is an error), opens the service over the store
/// (which must already exist unless `create`, for a restore; `Service::open` takes the server's own
/// open path), runs `f`, and closes the store.
fn with_store(
    cmd: &'static str,
    args: &StoreArgs,
    create: bool,
    f: impl FnOnce(&Ctx) -> ExitCode,
) -> ExitCode {
    let choice = match Record::choose(args.config.as_deref(), args.data_dir.as_deref()) {
        Ok(c) => c,
        Err(e) if LENIENT.contains(&cmd) => {
            let fallback = if args.config.is_some() {
                "--config"
            } else {
                "the embedded defaults"
            };
            eprintln!("sluice {cmd}: {e}; going on with {fallback} (only store.max_size is used)");
            match Choice::unrecorded(args.config.as_deref(), args.data_dir.as_deref()) {
                Ok(c) => c,
                Err(e) => return fail(cmd, e),
            }
        }
        Err(e) => return fail(cmd, e),
    };
    let mode = if create {
        Mode::Restore
    } else {
        Mode::Existing
    };
    let clock = crate::clock::Clock::system();
    let service = match Service::open(Arc::new(choice.config), mode, clock) {
        Ok(s) => s,
        Err(e @ service::Error::NotFound(_)) => {
            return fail(cmd, format!("{e} (check --data-dir or server.data_dir)"));
        }
        Err(e) => return fail(cmd, e),
    };
    let ctx = Ctx {
        cmd,
        service,
        recorded: choice.recorded,
        explicit_config: args.config.is_some(),
    };
    let code = f(&ctx);
    ctx.service.close();
    code
}

/// Turns the filter flags into the service's query (times read against `now`).
fn query(args: &FilterArgs, now: u64) -> Result<Query, String> {
    let at = |v: &Option<String>| v.as_deref().map(|s| time::parse(s, now)).transpose();
    Ok(Query {
        status: args.status.clone(),
        sender: args.sender.clone(),
        recipient: args.recipient.clone(),
        policy: args.policy,
        severity: args.severity.clone(),
        direction: args.direction.clone(),
        since: at(&args.since)?,
        until: at(&args.until)?,
        subject: args.subject.clone(),
        limit: args.limit,
    })
}

/// A service error on a query, for the command line: a value the service refused is named by its
/// field, which is the flag's name (`--severity "severe": use one of ...`).
fn flagged(e: service::Error) -> String {
    match e {
        service::Error::Invalid(m) => format!("--{m}"),
        other => other.to_string(),
    }
}

/// True when any filter flag (other than `--limit`) is set.
fn has_filter(args: &FilterArgs) -> bool {
    FilterArgs {
        limit: None,
        ..args.clone()
    } != FilterArgs::default()
}

/// The name recorded in history: `--actor`, else `$USER`/`$LOGNAME`, else `admin`.
fn actor(flag: Option<&str>) -> Result<Actor, String> {
    let name = match flag {
        Some(a) => a.to_string(),
        None => std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "admin".into()),
    };
    Actor::new(&name).map_err(|_| {
        format!(
            "--actor must be 1 to {} printable characters",
            service::MAX_ACTOR
        )
    })
}

/// `"X-CFilter: Encrypt"` -> `("X-CFilter", "Encrypt")`, checked.
fn tag(flag: &str) -> Result<(String, String), String> {
    let (n, v) = flag
        .split_once(':')
        .ok_or_else(|| format!("--tag {flag:?}: write it as \"Name: value\""))?;
    let t = service::Tag::new(n, v).map_err(|e| e.to_string())?;
    Ok((t.name, t.value))
}

/// A release with the `--tag` flag, if given.
fn release(flag: Option<&str>) -> Result<Op, String> {
    let tag = flag.map(tag).transpose()?;
    Ok(Op::Release {
        tag: tag.map(|(name, value)| service::Tag { name, value }),
    })
}

/// Readies `op` with the service; before a rescan on a data dir no server recorded its
/// configuration in, says on stderr which configuration judges.
fn prepare(ctx: &Ctx, op: Op) -> Result<Prepared, service::Error> {
    if op == Op::Rescan && !ctx.recorded {
        eprintln!(
            "sluice {}: no server has recorded its configuration in {}; judging with {}",
            ctx.cmd,
            ctx.service.config().server.data_dir.display(),
            if ctx.explicit_config {
                "--config"
            } else {
                "the embedded defaults (give --config FILE to use another)"
            }
        );
    }
    ctx.service.prepare(op)
}

/// One remediation command: ids, or `--all-matching` with the filter flags.
struct Request {
    target: Target,
    ids: Vec<u64>,
    all_matching: bool,
    filter: FilterArgs,
    op: Prepared,
    actor: Option<String>,
    /// `--yes` / `--dry-run`.
    confirm: confirm::Confirm,
}

/// The ids a request acts on: those given, or with `--all-matching` what the filter flags select.
fn selection(ctx: &Ctx, req: &Request) -> Result<Vec<u64>, String> {
    match (req.all_matching, req.ids.is_empty()) {
        (true, false) => Err("give ids or --all-matching, not both".into()),
        (false, true) => Err("give the ids to act on, or --all-matching with filter flags".into()),
        (false, false) if has_filter(&req.filter) || req.filter.limit.is_some() => {
            Err("filter flags select items only with --all-matching".into())
        }
        (false, false) => Ok(req.ids.clone()),
        (true, true) => {
            let q = query(&req.filter, ctx.service.now())?;
            ctx.service.matching(req.target, &q).map_err(flagged)
        }
    }
}

/// Runs a remediation over its items with a progress bar (stderr, hidden when not a terminal),
/// one line per item (with `--all-matching`, only those not done), and a summary.
fn remediate(ctx: &Ctx, req: Request) -> ExitCode {
    let cmd = ctx.cmd;
    let actor = match actor(req.actor.as_deref()) {
        Ok(a) => a,
        Err(e) => return fail(cmd, e),
    };
    let ids = match selection(ctx, &req) {
        Ok(ids) => ids,
        Err(e) => return fail(cmd, e),
    };
    if req.all_matching || req.confirm.dry_run {
        out(confirm::preview(ctx, req.target, &ids, req.confirm.dry_run).as_bytes());
    }
    let go = if req.all_matching {
        confirm::decide(req.confirm, req.target, ids.len(), req.op.name())
    } else if req.confirm.dry_run {
        confirm::Go::DryRun
    } else {
        confirm::Go::Act
    };
    match go {
        confirm::Go::Act => {}
        confirm::Go::DryRun => {
            crate::outln!("dry run: nothing was changed");
            return ExitCode::from(EXIT_OK);
        }
        confirm::Go::Refused(why) => return fail(cmd, why),
    }
    let what = match req.target {
        Target::Held => "held",
        Target::Incident => "incident",
    };
    let bar = if ids.len() > 1 {
        let bar =
            ProgressBar::with_draw_target(Some(ids.len() as u64), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} {elapsed} {msg}") {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let all_lines = !req.all_matching;
    let verb = req.op.verb();
    let bulk = smol::block_on(ctx.service.apply(&req.op, req.target, &ids, &actor, |p| {
        bar.inc(1);
        let line = match &p.item.outcome {
            Outcome::Done(s) if all_lines => Some(format!("{what} {}: {verb}: {s}", p.item.id)),
            Outcome::Done(_) => None,
            Outcome::Refused(s) => Some(format!("{what} {}: refused: {s}", p.item.id)),
            Outcome::NotFound(s) => Some(format!("{what} {}: {s}", p.item.id)),
            Outcome::Failed(s) => Some(format!("{what} {}: failed: {s}", p.item.id)),
        };
        if let Some(line) = line {
            bar.suspend(|| crate::output::line(render::clean(&line)));
        }
    }));
    bar.finish_and_clear();
    crate::output::line(bulk.totals.summary(verb));
    let t = &bulk.totals;
    ExitCode::from(if t.failed > 0 {
        EXIT_ERROR
    } else if t.refused + t.not_found > 0 {
        EXIT_PARTIAL
    } else {
        EXIT_OK
    })
}

/// Writes `bytes` to stdout; a closed pipe (`| head`) ends the command quietly (see `output`).
fn out(bytes: &[u8]) {
    crate::output::bytes(bytes);
}

/// `sluice backup FILE`.
pub fn backup(args: Backup) -> ExitCode {
    with_store("backup", &args.store_args(), false, |ctx| {
        match ctx.service.backup(&args.file) {
            Ok(size) => {
                crate::outln!("backup written to {} ({size} bytes)", args.file.display());
                ExitCode::from(EXIT_OK)
            }
            Err(e) => fail(ctx.cmd, e),
        }
    })
}

/// `sluice restore FILE`.
pub fn restore(args: Restore) -> ExitCode {
    with_store("restore", &args.store_args(), true, |ctx| {
        match ctx.service.restore(&args.file) {
            Ok(r) => {
                crate::outln!(
                    "restored {}: {} records (schema {})",
                    args.file.display(),
                    r.records,
                    r.schema
                );
                ExitCode::from(EXIT_OK)
            }
            Err(e) => fail(ctx.cmd, e),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::search::Filter;

    /// The flags as the store filter they become: the console's query, the service's check.
    fn filter(args: &FilterArgs, target: Target, now: u64) -> Result<Filter, String> {
        query(args, now)?.filter(target).map_err(flagged)
    }

    #[test]
    fn filter_flags_are_checked_and_converted() {
        let args = FilterArgs {
            status: Some("held".into()),
            recipient: Some(" @partner.example ".into()),
            severity: Some("high".into()),
            since: Some("2d".into()),
            until: Some("2023-11-14T22:13:20Z".into()),
            ..FilterArgs::default()
        };
        let f = filter(&args, Target::Held, 1_700_000_000).unwrap();
        assert_eq!(f.status.as_deref(), Some("held"));
        assert_eq!(f.recipient.as_deref(), Some("@partner.example"));
        assert_eq!(f.since, Some(1_700_000_000 - 2 * 86_400));
        assert_eq!(f.until, Some(1_700_000_000));
        // `held` is a message status, not an incident status.
        assert!(
            filter(&args, Target::Incident, 0)
                .unwrap_err()
                .contains("--status")
        );
        let bad = FilterArgs {
            severity: Some("severe".into()),
            ..FilterArgs::default()
        };
        assert!(
            filter(&bad, Target::Held, 0)
                .unwrap_err()
                .contains("--severity")
        );
        let bad = FilterArgs {
            since: Some("yesterday".into()),
            ..FilterArgs::default()
        };
        assert!(filter(&bad, Target::Held, 0).is_err());
        assert!(has_filter(&args));
        assert!(!has_filter(&FilterArgs {
            limit: Some(3),
            ..FilterArgs::default()
        }));
    }

    #[test]
    fn tags_and_actors_are_checked() {
        assert_eq!(
            tag("X-CFilter: Encrypt"),
            Ok(("X-CFilter".into(), "Encrypt".into()))
        );
        assert!(tag("X-CFilter Encrypt").is_err());
        assert!(tag("X-CFilter: a\r\nBcc: b").is_err());
        assert_eq!(
            actor(Some(" alice ")).map(|a| a.as_str().to_string()),
            Ok("alice".into())
        );
        assert!(actor(Some("")).is_err());
        assert!(actor(Some("a\x1bb")).is_err());
    }
}
