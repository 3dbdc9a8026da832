//! The audit log at `/audit` (administrators and auditors): who did what, when, from where, on
//! what, with the values before and after and the outcome; newest first, filtered by actor, action
//! (a prefix: `user.`) and time, [`PAGE`] entries a page, walked by sequence number.

use hyper::StatusCode;
use maud::html;

use super::super::call::Call;
use super::super::response::Response;
use super::super::router::{Access, Def};
use super::login::with_service;
use super::{Nav, page, pager, time};
use crate::service::{AuditFilter, Permission, Service};

/// Entries on one page.
pub const PAGE: usize = 50;

pub(crate) fn routes() -> Vec<Def> {
    vec![Def::get(
        "/audit",
        "audit",
        Access::Signed(Permission::ViewAudit),
        |ui, call| with_service(ui, call, show),
    )]
}

/// The filter of the query (`actor`, `action`, `since`, `until`: dates or times as the CLI reads
/// them), or the field that did not parse.
pub(crate) fn filter(call: &Call) -> Result<AuditFilter, &'static str> {
    let at = |name: &'static str| {
        call.query(name)
            .map(|v| crate::units::time::parse(v.trim(), call.now).map_err(|_| name))
            .transpose()
    };
    let until = at("until")?;
    // A date alone means the whole day.
    let until = match (until, call.query("until")) {
        (Some(u), Some(v)) if v.trim().len() == 10 => Some(u + 86_399),
        (u, _) => u,
    };
    Ok(AuditFilter {
        actor: call.query("actor").map(|s| s.trim().to_string()),
        action: call.query("action").map(|s| s.trim().to_string()),
        since: at("since")?,
        until,
    })
}

fn show(service: &Service, call: &Call) -> Response {
    let (f, bad) = match filter(call) {
        Ok(f) => (f, None),
        Err(field) => (AuditFilter::default(), Some(field)),
    };
    let before = call.query("before").and_then(|b| b.parse().ok());
    let (entries, next) = match service.audit_page(&f, before, PAGE) {
        Ok(p) => p,
        Err(e) => return super::service_error(call, &e),
    };
    let keep: Vec<(String, String)> = ["actor", "action", "since", "until"]
        .iter()
        .filter_map(|k| call.query(k).map(|v| (k.to_string(), v.to_string())))
        .collect();
    let older = next.map(|n| {
        let mut q = keep.clone();
        q.push(("before".into(), n.to_string()));
        q
    });
    let value = |k: &str| call.query(k).unwrap_or_default().to_string();
    let body = html! {
        @if let Some(field) = bad {
            p class="flash error" role="alert" { "The " (field) " field is not a date (2026-12-05), a time (2026-12-05T15:00:00Z) or a span (12h, 7d)." }
        }
        form method="get" action="/audit" class="filters" {
            label { "Actor" input name="actor" value=(value("actor")); }
            label { "Action" input name="action" value=(value("action")) placeholder="user., policy.update"; }
            label { "Since" input name="since" value=(value("since")) placeholder="2026-12-01 or 7d"; }
            label { "Until" input name="until" value=(value("until")) placeholder="2026-12-05"; }
            button type="submit" { "Filter" }
        }
        @if entries.is_empty() {
            p class="note" { "No entries match." }
        } @else {
            table {
                thead { tr { th { "Time" } th { "Actor" } th { "From" } th { "Action" } th { "Object" } th { "Before" } th { "After" } th { "Outcome" } } }
                tbody {
                    @for e in &entries {
                        tr {
                            td { (time(e.at)) }
                            td { (e.actor) }
                            td { (e.source) }
                            td { code { (e.action) } }
                            td { (e.object) }
                            td { @if let Some(b) = &e.before { span class="preview" { (b) } } }
                            td { @if let Some(a) = &e.after { span class="preview" { (a) } } }
                            td { (e.outcome) }
                        }
                    }
                }
            }
        }
        (pager(call, older))
    };
    let mut r = page(call, "Audit log", Nav::Audit, body);
    if bad.is_some() {
        r.status = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::admin::call::{Principal, Via};
    use crate::service::{Caller, Role};

    fn service() -> Service {
        let config = crate::config::Config::embedded().unwrap();
        Service::new(
            crate::store::Store::memory().unwrap(),
            Arc::new(config),
            crate::clock::Clock::fixed(1_700_000_000),
        )
    }

    fn call(path: &str) -> Call {
        let mut c = Call::new(
            hyper::Method::GET,
            path,
            "127.0.0.1".parse().unwrap(),
            1_700_000_000,
        );
        c.principal = Some(Principal {
            user: "audrey".into(),
            role: Role::Auditor,
            via: Via::Session {
                id: "s".into(),
                csrf: "c".into(),
            },
        });
        c
    }

    fn html(r: &Response) -> String {
        match &r.body {
            crate::admin::response::Body::Html(s) => s.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_log_is_filtered_escaped_and_paged() {
        let s = service();
        let cli = Caller::cli("root");
        for i in 0..(PAGE + 5) {
            s.add_user(&format!("user{i}"), Role::Auditor, "long enough pw", &cli)
                .unwrap();
        }
        let mut e = cli.entry(1_700_000_000, "policy.update", "<script>x</script>");
        e.before = Some("keywords = [\"a\"]".into());
        s.audit(e).unwrap();
        let first = html(&show(&s, &call("/audit")));
        assert!(first.contains("policy.update"));
        assert!(first.contains("&lt;script&gt;x&lt;/script&gt;") && !first.contains("<script>x"));
        assert!(first.contains("keywords = [&quot;a&quot;]"));
        assert_eq!(first.matches("<tr>").count(), PAGE + 1, "header + a page");
        // The next page holds the rest.
        let older = first
            .split("href=\"/audit?before=")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap()
            .to_string();
        let second = html(&show(&s, &call(&format!("/audit?before={older}"))));
        assert_eq!(second.matches("<tr>").count(), 1 + 6, "56 entries in all");
        let only = html(&show(&s, &call("/audit?action=policy.")));
        assert_eq!(only.matches("<tr>").count(), 2);
        let bad = show(&s, &call("/audit?since=yesterday"));
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        let none = html(&show(&s, &call("/audit?actor=nobody")));
        assert!(none.contains("No entries match."));
    }
}
