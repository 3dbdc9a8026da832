//! `sluice reload` and `sluice status`: one request over the running server's control socket,
//! the answer printed. Exit codes: 0 done; 1 the reload was refused (the running set stays; the
//! error, `file:line:col: ...`, on stderr); 2 no server answers on that data dir.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use super::{Request, Response, Status, socket_path};

/// How long an answer may take (a reload compiles policies and reads EDM indexes).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(300);

/// `--data-dir`, else `server.data_dir` of the embedded defaults.
fn data_dir(given: Option<PathBuf>) -> Result<PathBuf, String> {
    match given {
        Some(d) => Ok(d),
        None => crate::config::Config::embedded()
            .map(|c| c.server.data_dir)
            .map_err(|e| e.to_string()),
    }
}

/// Sends `request` to the server of `data_dir` and reads its answer.
fn ask(data_dir: &Path, request: &Request) -> Result<Response, String> {
    let path = socket_path(data_dir);
    let mut stream = std::os::unix::net::UnixStream::connect(&path).map_err(|e| {
        format!(
            "no sluice server is running on {} (cannot connect to {}: {e})",
            data_dir.display(),
            path.display()
        )
    })?;
    let mut line = serde_json::to_vec(request).map_err(|e| e.to_string())?;
    line.push(b'\n');
    let talk = |stream: &mut std::os::unix::net::UnixStream| -> std::io::Result<String> {
        stream.set_read_timeout(Some(ANSWER_TIMEOUT))?;
        stream.write_all(&line)?;
        let mut answer = String::new();
        BufReader::new(stream).read_line(&mut answer)?;
        Ok(answer)
    };
    let answer = talk(&mut stream).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(answer.trim()).map_err(|e| {
        format!(
            "{}: the server's answer is not understood ({e})",
            path.display()
        )
    })
}

/// `sluice reload`.
pub fn reload(args: crate::cli::Reload) -> ExitCode {
    let dir = match data_dir(args.data_dir) {
        Ok(d) => d,
        Err(e) => return fail(2, &e),
    };
    match ask(&dir, &Request::Reload) {
        Ok(Response::Reloaded(r)) => {
            crate::outln!(
                "reloaded: config {} policies {} (config was {})",
                r.config_digest,
                r.policies_digest,
                r.previous_config_digest
            );
            crate::outln!("policies: {}", list(&r.policies));
            crate::outln!("changed: {}", list(&r.applied));
            for n in &r.restart_needed {
                crate::outln!("restart needed: {} ({})", n.key, n.reason);
                eprintln!(
                    "sluice reload: {} changed and needs a restart: {}",
                    n.key, n.reason
                );
            }
            ExitCode::SUCCESS
        }
        Ok(Response::Error { error }) => fail(1, &error),
        Ok(_) => fail(2, "the server answered something else"),
        Err(e) => fail(2, &e),
    }
}

/// `sluice status`.
pub fn status(args: crate::cli::Status) -> ExitCode {
    let dir = match data_dir(args.data_dir) {
        Ok(d) => d,
        Err(e) => return fail(2, &e),
    };
    match ask(&dir, &Request::Status) {
        Ok(Response::Status(s)) if args.json => {
            match serde_json::to_string_pretty(&s) {
                Ok(text) => crate::outln!("{text}"),
                Err(e) => return fail(2, &e.to_string()),
            }
            ExitCode::SUCCESS
        }
        Ok(Response::Status(s)) => {
            crate::output::bytes(text(&s).as_bytes());
            ExitCode::SUCCESS
        }
        Ok(Response::Error { error }) => fail(2, &error),
        Ok(_) => fail(2, "the server answered something else"),
        Err(e) => fail(2, &e),
    }
}

/// The status for people.
fn text(s: &Status) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let up = crate::units::duration::format(Duration::from_secs(s.uptime_seconds));
    let _ = writeln!(out, "sluice {} (pid {}), up {up}", s.version, s.pid);
    let file = s.config_file.as_deref().unwrap_or("(embedded defaults)");
    let _ = writeln!(
        out,
        "config: {file}, digest {}; policies digest {}; reloads {}",
        s.config_digest, s.policies_digest, s.reloads
    );
    let _ = writeln!(out, "policies: {}", list(&s.policies));
    let admin = s.listeners.admin.as_deref().unwrap_or("off");
    let _ = writeln!(out, "listening: smtp {}, admin {admin}", s.listeners.smtp);
    for l in &s.listeners.each {
        let _ = writeln!(
            out,
            "listener {}: {} on {}, {} sessions",
            l.name, l.mode, l.address, l.sessions
        );
    }
    let _ = writeln!(out, "sessions: {}", s.sessions);
    match &s.store.error {
        None => {
            let _ = writeln!(out, "store: ok");
        }
        Some(e) => {
            let _ = writeln!(out, "store: unavailable: {e}");
        }
    }
    if !s.queues.is_empty() {
        let stages: Vec<String> = s
            .queues
            .iter()
            .map(|q| {
                if q.messages == 0 {
                    format!("{} 0", q.stage)
                } else {
                    let age = crate::units::duration::format(Duration::from_secs(q.oldest_age));
                    format!("{} {} (oldest {age})", q.stage, q.messages)
                }
            })
            .collect();
        let _ = writeln!(out, "queues: {}", stages.join(", "));
    }
    for h in &s.next_hops {
        let since = crate::units::time::format(h.since);
        let _ = write!(out, "next hop {}: {} since {since}", h.host, h.state);
        if let Some(e) = &h.last_error {
            let _ = write!(out, ", last error: {e}");
        }
        if let Some(t) = h.next_probe {
            let _ = write!(out, ", next probe {}", crate::units::time::format(t));
        }
        out.push('\n');
    }
    out
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".into()
    } else {
        items.join(", ")
    }
}

fn fail(code: u8, message: &str) -> ExitCode {
    eprintln!("{message}");
    ExitCode::from(code)
}
