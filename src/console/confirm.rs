//! The safety catch of bulk actions: before `--all-matching` changes anything, the command lists
//! what it would touch (how many, and the first [`SHOWN`] by id, date, sender and subject) and goes
//! on only with `--yes`, or after a "y" typed on a terminal. `--dry-run` lists and stops. Off a
//! terminal without `--yes` it refuses and changes nothing.

use std::io::{BufRead, IsTerminal, Write};

use crate::service::Target;

use super::{Ctx, render, time};

/// Items listed by id and subject before a bulk action (the rest are counted).
pub const SHOWN: usize = 10;

/// What the command line said about confirming.
#[derive(Debug, Clone, Copy, Default)]
pub struct Confirm {
    pub yes: bool,
    pub dry_run: bool,
}

/// What to do after the list was shown.
#[derive(Debug, PartialEq, Eq)]
pub enum Go {
    /// Carry out the action.
    Act,
    /// `--dry-run`: nothing changed, all is well.
    DryRun,
    /// Not confirmed: nothing changed; the message says why and what to do.
    Refused(String),
}

/// `3 held messages` / `1 incident`.
fn count(target: Target, n: usize) -> String {
    let (one, many) = match target {
        Target::Held => ("held message", "held messages"),
        Target::Incident => ("incident", "incidents"),
    };
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The listing shown before a bulk action: a count, then the first [`SHOWN`] items.
pub fn preview(ctx: &Ctx, target: Target, ids: &[u64], dry_run: bool) -> String {
    let mut rows = Vec::new();
    for &id in ids.iter().take(SHOWN) {
        rows.push(match ctx.service.summary(target, id) {
            Ok(Some(item)) => vec![
                id.to_string(),
                time::format(item.at),
                render::sender_cell(&item.sender),
                render::subject_cell(&item.subject),
            ],
            Ok(None) => vec![id.to_string(), "-".into(), "-".into(), "(not found)".into()],
            Err(e) => vec![id.to_string(), "-".into(), "-".into(), format!("({e})")],
        });
    }
    let would = if dry_run { "would be touched" } else { "match" };
    let mut out = format!("{} {would}:\n", count(target, ids.len()));
    for line in render::table(&["ID", "DATE", "SENDER", "SUBJECT"], &rows).lines() {
        out.push_str("  ");
        out.push_str(line);
        out.push('\n');
    }
    if ids.len() > SHOWN {
        out.push_str(&format!("  ... and {} more\n", ids.len() - SHOWN));
    }
    out
}

/// Decides whether a bulk action over `n` items goes ahead: `--dry-run` stops, `--yes` goes on, a
/// terminal is asked (stdin and stdout both terminals), anything else is refused. `verb` is the
/// action's command word (`release`).
pub fn decide(flags: Confirm, target: Target, n: usize, verb: &str) -> Go {
    decide_on(flags, n, &count(target, n), verb)
}

/// [`decide`] over `n` items called `what` (`3 queued messages`).
pub fn decide_on(flags: Confirm, n: usize, what: &str, verb: &str) -> Go {
    if flags.dry_run {
        return Go::DryRun;
    }
    if flags.yes || n == 0 {
        return Go::Act;
    }
    if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        eprint!("{verb} these {what}? [y/N] ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        let read = std::io::stdin().lock().read_line(&mut answer);
        if read.is_ok() && matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
            return Go::Act;
        }
        return Go::Refused("not confirmed; nothing was changed".into());
    }
    Go::Refused(format!(
        "--all-matching would {verb} {what}: add --yes to do it (or --dry-run to only list them); nothing was changed"
    ))
}
