//! The effective settings as an administrator reads them (`sluice check-config`): sections and keys
//! as they are written in the file, durations as `30s`, sizes as `10 MiB`, next hops as
//! `host:port`. Pure: a [`Config`] in, text out; no Debug formatting anywhere.

mod gateway;

use std::fmt::Write;
use std::time::Duration;

use super::{Config, DataAhead, OnFailure, Route, StartTls, TlsFailure};
use crate::smtp::BareLineEndings;

pub use crate::units::size::exact as size;
pub use gateway::{body_action, body_edit};

use crate::units::duration::format as duration;

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

/// Appends `  key: value` lines under a `[section]` heading.
fn section(out: &mut String, name: &str, keys: &[(&str, String)]) {
    let _ = writeln!(out, "[{name}]");
    for (k, v) in keys {
        let _ = writeln!(out, "  {k} = {v}");
    }
}

fn list(items: impl IntoIterator<Item = String>) -> String {
    let items: Vec<String> = items.into_iter().collect();
    if items.is_empty() {
        "(none)".into()
    } else {
        items.join(", ")
    }
}

/// Where mail goes, in words (`forward to smtp1.corp.example:25, ...`): check-config and the start line.
pub fn relay_route(c: &Config) -> String {
    match &c.relay.route {
        Route::Reflect => format!("reflect to the connecting client on port {}", c.relay.port),
        Route::Hosts(hops) => format!(
            "forward to {}",
            list(hops.iter().map(|h| format!("{}:{}", h.host, h.port)))
        ),
        Route::Mx(domains) => format!(
            "MX of {} (port {})",
            list(domains.iter().cloned()),
            c.relay.port
        ),
    }
}

/// `[[siem]]`: one section per destination with its effective settings, or a line saying none.
fn siem(c: &Config, out: &mut String) {
    use super::siem::Transport;
    if c.siem.is_empty() {
        let _ = writeln!(out, "[siem]\n  (no destination)");
    }
    for s in &c.siem {
        let mut keys = vec![
            ("format", s.format.name().to_string()),
            ("transport", s.transport.name().to_string()),
            ("address", s.address.to_string()),
        ];
        if s.transport == Transport::Tls {
            let ca = s.ca_file.as_ref().map_or_else(
                || format!("{} (system bundle)", crate::tls::SYSTEM_BUNDLE),
                |p| p.display().to_string(),
            );
            keys.push(("ca_file", ca));
            keys.push(("server_name", s.server_name.clone()));
            let client = s.client_cert.as_ref().map_or("(none)".into(), |(c, k)| {
                format!("{} / {}", c.display(), k.display())
            });
            keys.push(("client_cert / client_key", client));
        }
        if s.format == crate::export::render::Format::Leef {
            keys.push(("leef_version", s.leef_version.name().to_string()));
        }
        if matches!(s.transport, Transport::Udp | Transport::Local) {
            keys.push(("udp_max", size(s.udp_max as u64)));
        }
        keys.extend([
            ("min_severity", s.min_severity.to_string()),
            (
                "categories",
                list(s.categories.iter().map(|c| c.name().to_string())),
            ),
            ("subject", s.subject.name().to_string()),
            (
                "facility",
                super::siem::facility_name(s.facility).to_string(),
            ),
            ("start", s.start.name().to_string()),
            (
                "backoff",
                format!("{} to {}", duration(s.backoff_min), duration(s.backoff_max)),
            ),
            ("timeout", duration(s.timeout)),
            ("batch", s.batch.to_string()),
            ("poll_interval", duration(s.poll_interval)),
            ("down_after", duration(s.down_after)),
        ]);
        section(out, &format!("siem {}", s.name), &keys);
    }
}

/// `sluice check-config`: the effective settings, one `[section]` per subsystem, then the policies.
pub fn summary(c: &Config) -> String {
    let mut out = String::new();
    for part in [service, relay, gateway::gateway, keeping, siem, policies] {
        part(c, &mut out);
    }
    out
}

/// `[server]`, `[listener]`, `[tls]`.
fn service(c: &Config, out: &mut String) {
    let s = &c.server;
    section(
        out,
        "server",
        &[
            ("hostname", s.hostname.to_string()),
            ("data_dir", s.data_dir.display().to_string()),
            ("trial_mode", on_off(s.trial_mode).into()),
            ("threads", s.threads.to_string()),
        ],
    );
    // One `[listener]` when the file has one; a `[[listener]]` per listener when it has several.
    let heading = if c.listeners.len() > 1 {
        "[listener]"
    } else {
        "listener"
    };
    for l in &c.listeners {
        listener(out, heading, l);
    }
    let tls = match &c.tls.cert_and_key {
        Some((cert, key)) => format!("{} (key {})", cert.display(), key.display()),
        None => "self-signed, generated in the data dir".into(),
    };
    section(out, "tls", &[("certificate", tls)]);
}

/// One listener's effective settings.
fn listener(out: &mut String, heading: &str, l: &super::Listener) {
    section(
        out,
        heading,
        &[
            ("name", l.name.clone()),
            ("mode", l.mode.name().into()),
            ("address", l.address.to_string()),
            (
                "allowed_clients",
                list(l.allowed_clients.iter().map(|n| n.to_string())),
            ),
            ("max_sessions", l.max_sessions.to_string()),
            (
                "max_sessions_per_client",
                l.max_sessions_per_client.to_string(),
            ),
            ("max_message_size", size(l.limits.max_message_size as u64)),
            ("max_recipients", l.limits.max_recipients.to_string()),
            ("max_bytes_in_flight", size(l.max_bytes_in_flight as u64)),
            ("spool_threshold", size(l.spool_threshold as u64)),
            (
                "bare_line_endings",
                match l.bare_line_endings {
                    BareLineEndings::Normalize => "normalize",
                    BareLineEndings::Reject => "reject",
                }
                .into(),
            ),
            ("command_timeout", duration(l.command_timeout)),
            ("data_timeout", duration(l.data_timeout)),
            ("shutdown_grace", duration(l.shutdown_grace)),
            ("starttls", l.starttls.name().into()),
            (
                "certificate",
                match &l.cert_and_key {
                    Some((cert, key)) => format!("{} (key {})", cert.display(), key.display()),
                    None => "the [tls] one".into(),
                },
            ),
        ],
    );
}

/// `[relay]`, `[dns]`.
fn relay(c: &Config, out: &mut String) {
    let r = &c.relay;
    section(
        out,
        "relay",
        &[
            ("route", relay_route(c)),
            ("helo_name", r.helo_name.to_string()),
            (
                "source_address",
                r.source_address.map_or("(any)".into(), |a| a.to_string()),
            ),
            (
                "starttls",
                match r.starttls {
                    StartTls::Mirror => "mirror",
                    StartTls::Always => "always",
                    StartTls::Never => "never",
                }
                .into(),
            ),
            (
                "tls_failure",
                match r.tls_failure {
                    TlsFailure::TempFail => "tempfail",
                    TlsFailure::Plaintext => "plaintext",
                }
                .into(),
            ),
            (
                "trust_anchors",
                list(r.trust_anchors.iter().map(|p| p.display().to_string())),
            ),
            ("dead_host_retry", duration(r.dead_host_retry)),
            (
                "data_ahead",
                match r.data_ahead {
                    DataAhead::Auto => "auto",
                    DataAhead::Always => "always",
                    DataAhead::Never => "never",
                }
                .into(),
            ),
            ("connect_timeout", duration(r.connect_timeout)),
            ("command_timeout", duration(r.command_timeout)),
            ("data_timeout", duration(r.data_timeout)),
            ("max_reply_line", size(r.max_reply_line as u64)),
            ("max_reply_lines", r.max_reply_lines.to_string()),
            (
                "pass_header",
                r.pass_header
                    .as_ref()
                    .map_or("off".into(), |f| format!("{}: {}", f.name(), f.value())),
            ),
        ],
    );
    let d = &c.dns;
    let servers = if d.servers.is_empty() {
        format!("from {}", d.resolv_conf.display())
    } else {
        list(d.servers.iter().map(|a| a.to_string()))
    };
    section(
        out,
        "dns",
        &[
            ("servers", servers),
            ("timeout", duration(d.timeout)),
            ("attempts", d.attempts.to_string()),
        ],
    );
}

/// `[decomposition]` and `[pdf]`.
fn limits(c: &Config, out: &mut String) {
    let l = &c.decomposition;
    section(
        out,
        "decomposition",
        &[
            ("max_depth", l.max_depth.to_string()),
            (
                "max_entries_per_container",
                l.max_entries_per_container.to_string(),
            ),
            ("max_entries_total", l.max_entries_total.to_string()),
            ("max_extracted_bytes", size(l.max_extracted_bytes)),
            ("max_ratio", l.max_ratio.to_string()),
            ("ratio_floor", size(l.ratio_floor)),
            ("max_parts", l.max_parts.to_string()),
        ],
    );
    let p = &c.pdf;
    section(
        out,
        "pdf",
        &[
            ("memory", size(p.memory_bytes)),
            ("cpu_time", duration(Duration::from_secs(p.cpu_seconds))),
            ("timeout", duration(p.timeout)),
            ("max_output", size(p.max_output as u64)),
        ],
    );
}

/// `[inspection]`, `[decomposition]`, `[pdf]`, `[store]`, `[queue]`, `[admin]`, `[monitor]`,
/// `[notifications]`.
fn keeping(c: &Config, out: &mut String) {
    let i = &c.inspection;
    section(
        out,
        "inspection",
        &[
            (
                "on_failure",
                match i.on_failure {
                    OnFailure::TempFail => "tempfail",
                    OnFailure::Pass => "pass",
                }
                .into(),
            ),
            ("time_budget", duration(i.time_budget)),
            ("max_scan_bytes", size(i.max_scan_bytes as u64)),
            ("tag_violations", on_off(i.tag_violations).into()),
            ("internal_domains", list(i.internal_domains.iter().cloned())),
        ],
    );
    limits(c, out);
    let k = &c.store;
    section(out, "store", &[("max_size", size(k.max_size))]);
    section(
        out,
        "quarantine",
        &[
            ("retention", duration(k.retention)),
            ("max_bytes", size(k.max_bytes)),
            ("max_messages", k.max_messages.to_string()),
        ],
    );
    section(
        out,
        "approval",
        &[
            ("expiry", duration(k.approval_expiry)),
            (
                "managers_file",
                k.managers_file
                    .as_ref()
                    .map_or("(none)".into(), |p| p.display().to_string()),
            ),
            ("preview", on_off(k.approval_preview).into()),
            ("preview_bytes", size(k.approval_preview_bytes as u64)),
        ],
    );
    let q = &c.queue;
    section(
        out,
        "queue",
        &[
            ("retry", list(q.retry.iter().map(|d| duration(*d)))),
            ("give_up", duration(q.give_up)),
            ("delay_notice", duration(q.delay_notice)),
            ("concurrency", q.concurrency.to_string()),
        ],
    );
    let a = &c.admin;
    let admin = if a.enabled {
        vec![
            ("enabled", "on".to_string()),
            ("address", a.address.to_string()),
            ("public_url", a.public_url.clone()),
            (
                "metrics_allow",
                list(a.metrics_allow.iter().map(|n| n.to_string())),
            ),
            (
                "metrics_token",
                if a.metrics_token.is_some() {
                    "(set)"
                } else {
                    "(none)"
                }
                .to_string(),
            ),
            ("config_history", a.config_history.to_string()),
            ("session_idle", duration(a.auth.session_idle)),
            ("session_max", duration(a.auth.session_max)),
            ("logon_max_failures", a.auth.logon_max_failures.to_string()),
            ("logon_lockout", duration(a.auth.logon_lockout)),
            ("audit_max_age", duration(a.auth.audit_max_age)),
        ]
    } else {
        vec![("enabled", "off".to_string())]
    };
    section(out, "admin", &admin);
    let m = &c.monitor;
    section(
        out,
        "monitor",
        &[
            ("interval", duration(m.interval)),
            ("probe_next_hop", on_off(m.probe_next_hop).into()),
            ("certificate_warning", duration(m.certificate_warning)),
            ("queue_max_messages", m.queue_max_messages.to_string()),
            ("queue_max_age", duration(m.queue_max_age)),
            ("disk_min_free_percent", m.disk_min_free_percent.to_string()),
            (
                "store_max_used_percent",
                m.store_max_used_percent.to_string(),
            ),
        ],
    );
    let r = &c.reports;
    section(
        out,
        "reports",
        &[
            ("keep_days", r.keep_days.to_string()),
            ("top", r.top.to_string()),
            ("detail_max_rows", r.detail_max_rows.to_string()),
            (
                "schedule",
                list(r.schedules.iter().map(|s| {
                    let every = match s.every {
                        super::reports::Every::Daily => "daily",
                        super::reports::Every::Weekly => "weekly",
                    };
                    format!(
                        "{} ({} {every} at {:02}:{:02} UTC to {})",
                        s.name,
                        s.report.name(),
                        s.at / 60,
                        s.at % 60,
                        s.to.join(" ")
                    )
                })),
            ),
        ],
    );
    let n = &c.notifications;
    section(
        out,
        "notifications",
        &[
            ("from", n.from.clone()),
            ("admin", list(n.admin.iter().cloned())),
            ("sender_notices", on_off(n.sender_notices).into()),
        ],
    );
}

/// One line per policy: id, name, action, severity, mode.
fn policies(c: &Config, out: &mut String) {
    let _ = writeln!(out, "policies: {} ({})", c.policies.len(), c.policy_source);
    for p in c.policies.iter() {
        let mut flags = Vec::new();
        if !p.enabled {
            flags.push("disabled");
        }
        if p.monitor {
            flags.push("monitor");
        }
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!(", {}", flags.join(", "))
        };
        let body = match &p.action {
            crate::policy::Action::Modify { body, .. } if !body.is_empty() => format!(
                "; body: {}",
                body.iter().map(body_action).collect::<Vec<_>>().join(", ")
            ),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  {} \"{}\": {}, severity {}{flags}{body}",
            p.id,
            p.name,
            p.action.name(),
            p.severity.name()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_reads_like_the_file_and_has_no_debug_output() {
        let c = Config::parse(
            "[relay]\nmode = \"forward\"\nhosts = [\"smtp1.corp.example:25\", \"smtp2.corp.example:2525\"]\n\n[[policy]]\nid = 9\nname = \"Cards\"\nmode = \"monitor\"\naction = \"block\"\nkeywords = [\"card\"]\n",
            "t.toml",
        )
        .unwrap();
        let text = summary(&c);
        assert!(
            text.contains("route = forward to smtp1.corp.example:25, smtp2.corp.example:2525"),
            "{text}"
        );
        assert!(text.contains("command_timeout = "), "{text}");
        assert!(text.contains("  9 \"Cards\": block, severity "), "{text}");
        assert!(text.contains("monitor"), "{text}");
        for debug in [
            "{",
            "}",
            "[relay]\n  route = Hosts",
            "NextHop",
            "Some(",
            "None",
        ] {
            assert!(!text.contains(debug), "{debug:?} in {text}");
        }
    }
}
