//! `sluice user add|passwd|list|remove` and `sluice token create|list|revoke`: the admin UI's
//! accounts and API tokens from the command line (also the way back in when every administrator's
//! password is lost). Flags in, one service call, text or JSON out; the changes are audited with
//! the operator's login name and the source `cli`.
//!
//! Passwords are read from `--password-file` (its first line), else twice from the terminal with
//! echo off, else (stdin not a terminal) as one line from stdin; they go to the service and
//! nowhere else. `token create` prints the token, and only the token, on stdout.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use crate::cli::{Token, TokenCommand, User, UserCommand};
use crate::service::{self, Caller, Role, Service};

use super::{EXIT_ERROR, EXIT_OK, EXIT_PARTIAL, actor, fail, out, render, time, with_store};

/// Longest password file read (a password is at most 128 characters).
const MAX_PASSWORD_FILE: u64 = 4096;

/// Runs a `user` subcommand.
pub fn user(u: User) -> ExitCode {
    match u.command {
        UserCommand::Add(a) => with_store("user add", &a.store_args(), false, |ctx| {
            let Some(role) = Role::parse(a.role.trim()) else {
                return fail(
                    ctx.cmd,
                    format!("--role {:?}: use one of {}", a.role, roles()),
                );
            };
            changed(
                ctx.cmd,
                caller().and_then(|c| {
                    let pw = password(a.password_file.as_deref())?;
                    ctx.service
                        .add_user(&a.name, role, &pw, &c)
                        .map_err(Failure::Service)
                }),
                || format!("user {} added ({})", a.name, role),
            )
        }),
        UserCommand::Passwd(a) => with_store("user passwd", &a.store_args(), false, |ctx| {
            changed(
                ctx.cmd,
                caller().and_then(|c| {
                    exists(&ctx.service, &a.name)?;
                    let pw = password(a.password_file.as_deref())?;
                    ctx.service
                        .set_password(&a.name, &pw, &c)
                        .map_err(Failure::Service)
                }),
                || format!("password of {} changed; its sessions end", a.name),
            )
        }),
        UserCommand::List(a) => with_store("user list", &a.store_args(), false, |ctx| {
            match ctx.service.list_users() {
                Ok(users) => {
                    out(list(&users, a.json).as_bytes());
                    ExitCode::from(EXIT_OK)
                }
                Err(e) => fail(ctx.cmd, e),
            }
        }),
        UserCommand::Remove(a) => with_store("user remove", &a.store_args(), false, |ctx| {
            changed(
                ctx.cmd,
                caller().and_then(|c| {
                    ctx.service
                        .remove_user(&a.name, &c)
                        .map_err(Failure::Service)
                }),
                || format!("user {} removed", a.name),
            )
        }),
    }
}

/// Runs a `token` subcommand.
pub fn token(t: Token) -> ExitCode {
    match t.command {
        TokenCommand::Create(a) => with_store("token create", &a.store_args(), false, |ctx| {
            let expires = match a.expires.as_deref().map(crate::units::duration::parse) {
                None => None,
                Some(Ok(d)) if d.as_secs() > 0 => Some(d),
                Some(_) => return fail(ctx.cmd, "--expires: a duration like 30m, 12h, 90d or 1w"),
            };
            let made = caller().and_then(|c| {
                let now = ctx.service.now();
                ctx.service
                    .create_token(&a.user, expires, now, &c)
                    .map_err(Failure::Service)
            });
            match made {
                Ok((id, token)) => {
                    eprintln!("token {id} for {} (shown once; keep it safe)", a.user);
                    crate::outln!("{token}");
                    ExitCode::from(EXIT_OK)
                }
                Err(f) => f.exit(ctx.cmd),
            }
        }),
        TokenCommand::List(a) => with_store("token list", &a.store_args(), false, |ctx| match ctx
            .service
            .list_tokens(a.user.as_deref())
        {
            Ok(tokens) => {
                out(token_list(&tokens, a.json).as_bytes());
                ExitCode::from(EXIT_OK)
            }
            Err(e) => fail(ctx.cmd, e),
        }),
        TokenCommand::Revoke(a) => with_store("token revoke", &a.store_args(), false, |ctx| {
            changed(
                ctx.cmd,
                caller().and_then(|c| {
                    ctx.service
                        .revoke_token(a.id.trim(), None, &c)
                        .map_err(Failure::Service)
                }),
                || format!("token {} revoked", a.id.trim()),
            )
        }),
    }
}

/// Why a command did not do its change.
enum Failure {
    /// The command line or the terminal (exit 2).
    Usage(String),
    Service(service::Error),
}

impl Failure {
    /// The message on stderr and the exit code: 1 for a missing or refused item, else 2.
    fn exit(self, cmd: &str) -> ExitCode {
        match self {
            Failure::Usage(m) => fail(cmd, m),
            Failure::Service(e) => {
                eprintln!("sluice {cmd}: {e}");
                ExitCode::from(match e.kind() {
                    service::ErrorKind::NotFound | service::ErrorKind::Conflict => EXIT_PARTIAL,
                    _ => EXIT_ERROR,
                })
            }
        }
    }
}

/// The outcome of a change: `done()` on stderr and 0, or the failure.
fn changed(cmd: &str, r: Result<(), Failure>, done: impl FnOnce() -> String) -> ExitCode {
    match r {
        Ok(()) => {
            crate::outln!("{}", done());
            ExitCode::from(EXIT_OK)
        }
        Err(f) => f.exit(cmd),
    }
}

fn caller() -> Result<Caller, Failure> {
    let a = actor(None).map_err(Failure::Usage)?;
    Ok(Caller::cli(a.as_str()))
}

/// Asked before the password, so a typo in the name does not cost a prompt.
fn exists(s: &Service, name: &str) -> Result<(), Failure> {
    match s.user_name(name) {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(Failure::Service(service::Error::NotFound(format!(
            "no user {name:?}"
        )))),
        Err(e) => Err(Failure::Service(e)),
    }
}

fn roles() -> String {
    Role::ALL.map(Role::name).join(", ")
}

/// The password: the file's first line, or the terminal (twice, no echo), or stdin's first line.
fn password(file: Option<&Path>) -> Result<String, Failure> {
    let usage = |m: String| Failure::Usage(m);
    if let Some(f) = file {
        let bytes = crate::file::read(f, MAX_PASSWORD_FILE)
            .map_err(|e| usage(format!("--password-file {}: {e}", f.display())))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| usage(format!("--password-file {}: not UTF-8", f.display())))?;
        return Ok(first_line(&text));
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| usage(format!("reading the password from stdin: {e}")))?;
        return Ok(first_line(&line));
    }
    let first = prompt("Password: ").map_err(|e| usage(format!("reading the password: {e}")))?;
    let again = prompt("Again: ").map_err(|e| usage(format!("reading the password: {e}")))?;
    if first != again {
        return Err(usage("the two passwords differ".into()));
    }
    Ok(first)
}

fn first_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or("")
        .trim_end_matches('\r')
        .to_string()
}

/// Reads one line from the terminal on stdin with echo off (restored afterwards, also on error).
fn prompt(what: &str) -> std::io::Result<String> {
    eprint!("{what}");
    std::io::stderr().flush()?;
    let line = {
        let _quiet = NoEcho::on(libc::STDIN_FILENO)?;
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line
    };
    eprintln!();
    Ok(first_line(&line))
}

/// The terminal's settings before echo was turned off; put back on drop.
struct NoEcho {
    fd: libc::c_int,
    saved: libc::termios,
}

impl NoEcho {
    fn on(fd: libc::c_int) -> std::io::Result<NoEcho> {
        // SAFETY: termios is plain data; tcgetattr fills it or fails, and we check the result.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut quiet = saved;
        quiet.c_lflag &= !libc::ECHO;
        quiet.c_lflag |= libc::ECHONL;
        // SAFETY: a termios obtained from tcgetattr with one flag changed.
        if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(NoEcho { fd, saved })
    }
}

impl Drop for NoEcho {
    fn drop(&mut self) {
        // SAFETY: the settings read in `on`, put back on the same descriptor.
        unsafe { libc::tcsetattr(self.fd, libc::TCSANOW, &self.saved) };
    }
}

fn when(t: Option<u64>, none: &str) -> String {
    t.map_or_else(|| none.to_string(), time::format)
}

/// The accounts as a table or JSON lines.
fn list(users: &[service::UserView], json: bool) -> String {
    if json {
        return users
            .iter()
            .map(|u| {
                let mut v = serde_json::json!({
                    "name": u.name,
                    "role": u.role,
                    "disabled": u.disabled,
                    "created": time::format(u.created),
                    "last_logon": u.last_logon.map(time::format),
                });
                v["last_logon_unix"] = serde_json::json!(u.last_logon);
                v.to_string() + "\n"
            })
            .collect();
    }
    let rows: Vec<Vec<String>> = users
        .iter()
        .map(|u| {
            vec![
                u.name.clone(),
                u.role.name().to_string(),
                if u.disabled { "yes" } else { "no" }.to_string(),
                when(u.last_logon, "never"),
            ]
        })
        .collect();
    render::table(&["NAME", "ROLE", "DISABLED", "LAST LOGON"], &rows)
}

/// The tokens as a table or JSON lines.
fn token_list(tokens: &[service::TokenView], json: bool) -> String {
    if json {
        return tokens
            .iter()
            .map(|t| {
                serde_json::json!({
                    "id": t.id,
                    "user": t.user,
                    "role": t.role,
                    "created": time::format(t.created),
                    "expires": t.expires.map(time::format),
                    "last_used": t.last_used.map(time::format),
                })
                .to_string()
                    + "\n"
            })
            .collect();
    }
    let rows: Vec<Vec<String>> = tokens
        .iter()
        .map(|t| {
            vec![
                t.id.clone(),
                t.user.clone(),
                t.role.clone(),
                time::format(t.created),
                when(t.expires, "never"),
                when(t.last_used, "never"),
            ]
        })
        .collect();
    render::table(
        &["ID", "USER", "ROLE", "CREATED", "EXPIRES", "LAST USED"],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_file_gives_its_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "correct horse battery\r\nsecond line\n").unwrap();
        assert_eq!(
            password(Some(&f)).ok().as_deref(),
            Some("correct horse battery")
        );
        std::fs::write(&f, [0xff, 0xfe]).unwrap();
        assert!(password(Some(&f)).is_err());
    }
}
