//! The administrator's store commands: `sluice quarantine list|show|release|delete|forward|rescan`,
//! `sluice incident list|show|remediate`, `sluice backup` and `sluice restore`. Shell: it opens the
//! store (once per process), reads the clock, and writes to stdout (results) and stderr (errors and
//! the progress bar); what each action does is `remediate`'s, how records look is `render`'s.
//!
//! The commands run beside a serving Sluice: LMDB is multi-process, and what a release enqueues is
//! delivered by the server's queue worker. Exit codes: 0 all done, 1 some item refused or not found,
//! 2 an error (bad flags, no store, a store failure, a bulk action not confirmed, a configuration
//! that is not the server's), 141 stdout closed by its reader (see `output`).

mod confirm;
mod incident;
mod quarantine;
pub mod render;
pub use crate::units::time;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::{Backup, FilterArgs, Restore, StoreArgs};
use crate::config::Config;
use crate::config::record::{Choice, Record};
use crate::remediate::{self, Action, Outcome, Target};
use crate::store::records::{HeldStatus, IncidentStatus};
use crate::store::search::Filter;
use crate::store::{Mode, Options, Store, StoreError};

pub use incident::incident;
pub use quarantine::quarantine;

/// The store's directory under the data directory: `<data_dir>/store`.
pub const STORE_DIR: &str = "store";

/// Commands that go on when the server's recorded configuration cannot be used (lost, changed, or
/// another `--config`), saying so on stderr: they only read the store or copy it whole, judge
/// nothing, and need only `store.max_size`; recovering a store must not depend on a config file
/// that may be lost with it. Every command that judges or acts refuses instead.
const LENIENT: [&str; 6] = [
    "quarantine list",
    "quarantine show",
    "incident list",
    "incident show",
    "backup",
    "restore",
];

/// Items a listing shows when no `--limit` is given.
pub const DEFAULT_LIST: usize = 50;

/// Longest `--actor` name (characters).
pub const MAX_ACTOR: usize = 64;

/// Exit code: every item done.
const EXIT_OK: u8 = 0;
/// Exit code: some item refused or not found (or the one item asked for does not exist).
const EXIT_PARTIAL: u8 = 1;
/// Exit code: an error.
const EXIT_ERROR: u8 = 2;

/// Severities and directions the filters accept (as the policies and the store record them).
const SEVERITIES: [&str; 5] = ["info", "low", "medium", "high", "critical"];
const DIRECTIONS: [&str; 3] = ["inbound", "outbound", "internal"];

/// The store directory of a data directory.
pub fn store_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(STORE_DIR)
}

/// Prints `sluice <cmd>: <msg>` to stderr and gives exit code 2.
fn fail(cmd: &str, msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("sluice {cmd}: {msg}");
    ExitCode::from(EXIT_ERROR)
}

/// What a command works with: the configuration, the open store, the time.
struct Ctx {
    cmd: &'static str,
    config: Config,
    /// The configuration is the one the data dir's server recorded (see `config::record`).
    recorded: bool,
    /// `--config` was given.
    explicit_config: bool,
    store: Store,
    now: u64,
}

/// Chooses the configuration (the one the data dir's server recorded, see
/// [`Record::choose`]; a mismatch with `--config` is an error), opens the store (which must already exist unless `create`, for a restore) through `Store::open_as`, the
/// path the server takes, runs `f`, and closes the store.
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
    let (config, recorded) = (choice.config, choice.recorded);
    let dir = store_dir(&choice.data_dir);
    let options = Options {
        max_size: config.store.max_size,
    };
    // The server's own open path: the same marker, structure and schema checks.
    let mode = if create {
        Mode::Restore
    } else {
        Mode::Existing
    };
    let store = match Store::open_as(&dir, &options, mode) {
        Ok(s) => s,
        Err(StoreError::NotFound(_)) => {
            return fail(
                cmd,
                format!(
                    "no store at {} (check --data-dir or server.data_dir)",
                    dir.display()
                ),
            );
        }
        Err(e) => return fail(cmd, format!("{}: {e}", dir.display())),
    };
    let ctx = Ctx {
        cmd,
        config,
        recorded,
        explicit_config: args.config.is_some(),
        store,
        now: crate::clock::Clock::system().now(),
    };
    let code = f(&ctx);
    ctx.store.close();
    code
}

/// Turns the filter flags into a store filter for `target`, checking every value.
fn filter(args: &FilterArgs, target: Target, now: u64) -> Result<Filter, String> {
    let one_of =
        |what: &str, v: &Option<String>, allowed: &[&str]| -> Result<Option<String>, String> {
            match v.as_deref().map(str::trim) {
                None => Ok(None),
                Some(s) if allowed.contains(&s) => Ok(Some(s.to_string())),
                Some(s) => Err(format!("--{what} {s:?}: use one of {}", allowed.join(", "))),
            }
        };
    let statuses: Vec<&str> = match target {
        Target::Held => HeldStatus::ALL.iter().map(|s| s.name()).collect(),
        Target::Incident => IncidentStatus::ALL.iter().map(|s| s.name()).collect(),
    };
    let address = |v: &Option<String>| v.as_deref().map(|s| s.trim().to_string());
    let at = |v: &Option<String>| v.as_deref().map(|s| time::parse(s, now)).transpose();
    Ok(Filter {
        status: one_of("status", &args.status, &statuses)?,
        sender: address(&args.sender),
        recipient: address(&args.recipient),
        policy: args.policy,
        severity: one_of("severity", &args.severity, &SEVERITIES)?,
        direction: one_of("direction", &args.direction, &DIRECTIONS)?,
        guid: None,
        since: at(&args.since)?,
        until: at(&args.until)?,
        subject: args.subject.clone(),
    })
}

/// True when any filter flag (other than `--limit`) is set.
fn has_filter(args: &FilterArgs) -> bool {
    FilterArgs {
        limit: None,
        ..args.clone()
    } != FilterArgs::default()
}

/// The name recorded in history: `--actor`, else `$USER`/`$LOGNAME`, else `admin`.
fn actor(flag: Option<&str>) -> Result<String, String> {
    let name = match flag {
        Some(a) => a.trim().to_string(),
        None => std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "admin".into()),
    };
    if name.is_empty() || name.chars().count() > MAX_ACTOR || name.chars().any(char::is_control) {
        return Err(format!(
            "--actor must be 1 to {MAX_ACTOR} printable characters"
        ));
    }
    Ok(name)
}

/// `"X-CFilter: Encrypt"` -> `("X-CFilter", "Encrypt")`, checked.
fn tag(flag: &str) -> Result<(String, String), String> {
    let (n, v) = flag
        .split_once(':')
        .ok_or_else(|| format!("--tag {flag:?}: write it as \"Name: value\""))?;
    let (n, v) = (n.trim().to_string(), v.trim().to_string());
    remediate::check_tag(&n, &v).map_err(|e| e.to_string())?;
    Ok((n, v))
}

/// One remediation command: ids, or `--all-matching` with the filter flags.
struct Request<'a> {
    target: Target,
    ids: Vec<u64>,
    all_matching: bool,
    filter: FilterArgs,
    action: Action<'a>,
    actor: Option<String>,
    /// `--yes` / `--dry-run`.
    confirm: confirm::Confirm,
}

/// Runs a remediation over its items with a progress bar (stderr, hidden when not a terminal),
/// one line per item (with `--all-matching`, only those not done), and a summary.
fn remediate(ctx: &Ctx, req: Request<'_>) -> ExitCode {
    let cmd = ctx.cmd;
    let actor = match actor(req.actor.as_deref()) {
        Ok(a) => a,
        Err(e) => return fail(cmd, e),
    };
    let ids = match (req.all_matching, req.ids.is_empty()) {
        (true, false) => return fail(cmd, "give ids or --all-matching, not both"),
        (false, true) => {
            return fail(
                cmd,
                "give the ids to act on, or --all-matching with filter flags",
            );
        }
        (false, false) if has_filter(&req.filter) || req.filter.limit.is_some() => {
            return fail(cmd, "filter flags select items only with --all-matching");
        }
        (false, false) => req.ids,
        (true, true) => {
            let filter = match filter(&req.filter, req.target, ctx.now) {
                Ok(f) => f,
                Err(e) => return fail(cmd, e),
            };
            match remediate::matching(&ctx.store, req.target, &filter, req.filter.limit) {
                Ok(ids) => ids,
                Err(e) => return fail(cmd, e),
            }
        }
    };
    if req.all_matching || req.confirm.dry_run {
        out(confirm::preview(ctx, req.target, &ids, req.confirm.dry_run).as_bytes());
    }
    let go = if req.all_matching {
        confirm::decide(req.confirm, req.target, ids.len(), &req.action)
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
    let bulk = smol::block_on(remediate::apply(
        &ctx.store,
        req.target,
        &ids,
        &req.action,
        &actor,
        ctx.now,
        |p| {
            bar.inc(1);
            let line = match &p.item.outcome {
                Outcome::Done(s) if all_lines => {
                    Some(format!("{what} {}: {}: {s}", p.item.id, req.action.verb()))
                }
                Outcome::Done(_) => None,
                Outcome::Refused(s) => Some(format!("{what} {}: refused: {s}", p.item.id)),
                Outcome::NotFound(s) => Some(format!("{what} {}: {s}", p.item.id)),
                Outcome::Failed(s) => Some(format!("{what} {}: failed: {s}", p.item.id)),
            };
            if let Some(line) = line {
                bar.suspend(|| crate::output::line(render::clean(&line)));
            }
        },
    ));
    bar.finish_and_clear();
    crate::output::line(bulk.totals.summary(req.action.verb()));
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
    with_store(
        "backup",
        &args.store_args(),
        false,
        |ctx| match crate::store::backup(&ctx.store, &args.file) {
            Ok(size) => {
                crate::outln!("backup written to {} ({size} bytes)", args.file.display());
                ExitCode::from(EXIT_OK)
            }
            Err(e) => fail(ctx.cmd, e),
        },
    )
}

/// `sluice restore FILE`.
pub fn restore(args: Restore) -> ExitCode {
    with_store(
        "restore",
        &args.store_args(),
        true,
        |ctx| match crate::store::restore(&ctx.store, &args.file) {
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
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(actor(Some(" alice ")), Ok("alice".into()));
        assert!(actor(Some("")).is_err());
        assert!(actor(Some("a\x1bb")).is_err());
    }
}
