//! `sluice siem test`: one `system.siem.test` event sent straight to each configured destination
//! (or the one named), not through the outbox, so it works without a running server; and what the
//! receiver did, per destination: connected (address), TLS verified (the certificate's subject
//! and issuer, or why verification failed), bytes written, and whether a TCP or TLS receiver
//! closed the connection after the write. Exit 0: every destination took the event; 1: some
//! failed; 2: the configuration is unusable or names no such destination.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use super::destination::{self, Destination};
use super::transport::{Connection, Ending};
use crate::cli::SiemTest;
use crate::config::Config;
use crate::config::record::Record;
use crate::events::{Event, Field, Fields, Kind};

/// How long a TCP or TLS receiver is watched after the write for closing the connection.
const WATCH_CLOSE: Duration = Duration::from_secs(1);

pub fn run(args: SiemTest) -> ExitCode {
    let config = match &args.config {
        // A file given is tested as it is (before it is deployed, say).
        Some(path) => Config::load(path).map_err(|e| e.to_string()),
        None => Record::choose(None, args.data_dir.as_deref()).map(|c| c.config),
    };
    let mut config = match config {
        Ok(c) => c,
        Err(e) => return usage(&e),
    };
    if let Some(d) = &args.data_dir {
        config.server.data_dir = d.clone();
    }
    let chosen: Vec<_> = config
        .siem
        .iter()
        .filter(|s| args.destination.as_ref().is_none_or(|n| *n == s.name))
        .cloned()
        .collect();
    if chosen.is_empty() {
        let names: Vec<&str> = config.siem.iter().map(|s| s.name.as_str()).collect();
        return usage(&match names.is_empty() {
            true => "no [[siem]] destination is configured".to_string(),
            false => format!(
                "no [[siem]] destination named {:?} (configured: {})",
                args.destination.unwrap_or_default(),
                names.join(", ")
            ),
        });
    }
    // The hashing key the server uses if there is one; else a throwaway (nothing is created).
    let key = match destination::read_subject_key(&config.server.data_dir) {
        Ok(Some(k)) => k,
        _ => {
            let mut k = [0u8; 32];
            let _ = getrandom::fill(&mut k);
            k
        }
    };
    let mut failed = 0;
    for s in &chosen {
        let by = std::env::var("USER").unwrap_or_default();
        let (ok, report) = smol::block_on(one(s, &config, key, &by));
        crate::output::bytes(report.as_bytes());
        failed += usize::from(!ok);
    }
    match failed {
        0 => ExitCode::SUCCESS,
        _ => ExitCode::from(1),
    }
}

/// The admin UI's "send test event": what `sluice siem test --destination NAME` does for one
/// destination of the running configuration, sent as `by`; whether it took the event, and the
/// report's lines.
pub fn send_one(config: &Config, name: &str, by: &str) -> Result<(bool, String), String> {
    let s = config
        .siem
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| format!("no [[siem]] destination named {name:?}"))?;
    let key = match destination::read_subject_key(&config.server.data_dir) {
        Ok(Some(k)) => k,
        _ => {
            let mut k = [0u8; 32];
            let _ = getrandom::fill(&mut k);
            k
        }
    };
    Ok(smol::block_on(one(s, config, key, by)))
}

fn usage(e: &str) -> ExitCode {
    eprintln!("sluice siem test: {e}");
    ExitCode::from(2)
}

/// Tests one destination: whether it took the event, and the lines saying what happened.
async fn one(s: &crate::config::Siem, config: &Config, key: [u8; 32], by: &str) -> (bool, String) {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} over {} to {}",
        s.name,
        s.format.name(),
        s.transport.name(),
        s.address
    );
    let fail = |mut out: String, what: &str| {
        let _ = writeln!(out, "  failed: {what}");
        (false, out)
    };
    let dest = match Destination::load(s) {
        Ok(d) => d,
        Err(e) => return fail(out, &format!("{e:#}")),
    };
    let style = destination::style(s, config.server.hostname.as_str(), key);
    let event = Event {
        seq: 0,
        at: crate::clock::Clock::system().now(),
        kind: Kind::SystemSiemTest,
        fields: Fields::new()
            .with(Field::Destination, &s.name)
            .with(Field::UserName, by)
            .with(Field::EventReason, "sent by sluice siem test")
            .into_vec(),
    };
    let message = super::render::render(&event, &style);
    let mut conn = match Connection::open(&dest.target).await {
        Ok(c) => c,
        Err(e) => return fail(out, &e.to_string()),
    };
    let peer = conn.peer().clone();
    let _ = writeln!(out, "  connected: {}", peer.address);
    if let Some(t) = &peer.tls {
        let _ = writeln!(
            out,
            "  tls: verified ({}); subject: {}; issuer: {}",
            t.version, t.subject, t.issuer
        );
    }
    let bytes = match conn.send(std::slice::from_ref(&message)).await {
        Ok(b) => b,
        Err(e) => return fail(out, &e.to_string()),
    };
    let _ = writeln!(out, "  written: {bytes} bytes (one system.siem.test event)");
    let note = match conn.wait_closed(WATCH_CLOSE).await {
        Some(Ending::Refused(why)) => return fail(out, &format!("the receiver refused it: {why}")),
        Some(Ending::Closed) => {
            "closed the connection after the write (it may not have taken the event: check its log)"
                .to_string()
        }
        Some(Ending::Open) => format!(
            "kept the connection open ({}s watched)",
            WATCH_CLOSE.as_secs()
        ),
        None => "datagrams are not acknowledged: check that it arrived".to_string(),
    };
    let _ = writeln!(out, "  receiver: {note}");
    let _ = writeln!(out, "  ok");
    (true, out)
}
