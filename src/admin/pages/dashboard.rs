//! The dashboard at `/`: counters for today and since start (messages by outcome, incidents by
//! severity), what waits (the queues by stage with the queue switches, held messages), health (next hops as the relay and the monitor
//! see them, certificates, store and disk use, uptime, configuration and definitions), and the
//! traffic and incident charts over 24 h, 7 d or 30 d (`?range=`), as inline SVG. Every number
//! comes from the service (the same counters as `sluice report summary`) or the monitor.

use maud::{Markup, html};

use super::super::call::Call;
use super::super::response::Response;
use super::super::router::{Access, Def};
use super::super::ui::{App, Ui};
use super::{Nav, chart};
use crate::service::{Permission, Series};
use crate::store::stats::name;

pub(crate) fn routes() -> Vec<Def> {
    vec![Def::get(
        "/",
        "dashboard",
        Access::Signed(Permission::ViewStatus),
        show,
    )]
}

/// The outcomes counted on the dashboard, in order.
const OUTCOMES: [&str; 7] = [
    "relayed",
    "modified",
    "redirected",
    "quarantined",
    "blocked",
    "deferred",
    "rejected",
];

/// The charts' ranges: (query value, label, span seconds, bucket seconds).
const RANGES: [(&str, &str, u64, u64); 3] = [
    ("24h", "24 hours", 86_400, 3600),
    ("7d", "7 days", 7 * 86_400, 6 * 3600),
    ("30d", "30 days", 30 * 86_400, 86_400),
];

/// Counters as the page shows them: (label, today, since start).
pub(crate) type Counters = Vec<(String, u64, u64)>;

/// Everything the dashboard shows.
pub(crate) struct View {
    pub now: u64,
    pub uptime: u64,
    pub range: usize,
    pub messages: Counters,
    pub incidents: Counters,
    pub traffic: Series,
    pub incident_series: Series,
    pub status: Option<crate::metrics::Snapshot>,
    pub hops: Vec<crate::relay::status::Snapshot>,
    pub config_digest: String,
    pub policies_digest: String,
    /// The address the SMTP listener accepts on (the configured one when it is not bound); with
    /// several listeners, each `name address`.
    pub listener: String,
    /// The queue switches (`sluice queue pause|reject`); `None`: not readable.
    pub switches: Option<crate::store::switches::Switches>,
}

fn show(ui: &Ui, call: &Call) -> Response {
    let app = match ui.app() {
        Ok(a) => a,
        Err(r) => return r,
    };
    let service = match ui.service() {
        Ok(s) => s,
        Err(r) => return r,
    };
    let range = RANGES
        .iter()
        .position(|r| Some(r.0) == call.query("range"))
        .unwrap_or(0);
    match gather(ui, app, &service, call.now, range) {
        Ok(view) => super::page(call, "Dashboard", Nav::Dashboard, render(&view)),
        Err(e) => super::service_error(call, &e),
    }
}

/// Everything the dashboard shows at `now`, the charts over `RANGES[range]`: the page's and the
/// API's (`GET /api/v1/status`) numbers alike.
pub(crate) fn gather(
    ui: &Ui,
    app: &App,
    service: &crate::service::Service,
    now: u64,
    range: usize,
) -> crate::service::Result<View> {
    let today = now / 86_400 * 86_400;
    let (_, _, span, step) = RANGES[range.min(RANGES.len() - 1)];
    let from = now.saturating_sub(span - step);
    let mut names: Vec<String> = vec![name::MESSAGES.to_string()];
    names.extend(OUTCOMES.iter().map(|o| name::outcome(o)));
    let mut incident_names: Vec<String> = vec![name::INCIDENTS.to_string()];
    incident_names.extend(
        crate::service::SEVERITIES
            .iter()
            .rev()
            .map(|s| name::severity(s)),
    );
    let counters = |names: &[String]| -> crate::service::Result<Counters> {
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let day = service.counters(&refs, Some(today), now)?;
        let all = service.counters(&refs, None, now)?;
        Ok(day
            .into_iter()
            .zip(all)
            .map(|(d, a)| (d.key, d.count, a.count))
            .collect())
    };
    let current = app.swap.current();
    Ok(View {
        now,
        uptime: now.saturating_sub(app.started),
        range,
        messages: counters(&names)?,
        incidents: counters(&incident_names)?,
        traffic: service.series(name::MESSAGES, from, now, step)?,
        incident_series: service.series(name::INCIDENTS, from, now, step)?,
        status: ui.health.as_ref().map(|h| h.status()),
        hops: app.hop_status.snapshot(),
        config_digest: current.digest.config.clone(),
        policies_digest: current.digest.policies.clone(),
        listener: match app.reloader.front.list().as_slice() {
            [] => current.config.listener.address.to_string(),
            [one] => one.addr.to_string(),
            all => all
                .iter()
                .map(|l| format!("{} {} ({})", l.name, l.addr, l.mode.name()))
                .collect::<Vec<_>>()
                .join(", "),
        },
        switches: service.switches().ok(),
    })
}

/// A counter's label: `messages.relayed` -> `relayed`, `incidents.high` -> `high`.
pub(crate) fn short(name: &str) -> &str {
    match name {
        name::MESSAGES => "messages",
        name::INCIDENTS => "incidents",
        n => n.rsplit('.').next().unwrap_or(n),
    }
}

fn counter_cards(title: &str, list: &Counters) -> Markup {
    html! {
        h2 { (title) }
        div class="cards" {
            @for (key, today, all) in list {
                div class="stat" {
                    div class="n" { (today) }
                    div class="l" { (short(key)) " today · " (all) " since start" }
                }
            }
        }
    }
}

/// The queue switches and the queues by stage, each linking to its tab of the queue page.
fn queues(v: &View) -> Markup {
    use super::super::page::{duration, size};
    html! {
        h2 { "Queues" }
        @if let Some(q) = &v.switches {
            p { "Queue switches: "
                @if q.paused { "delivery paused" } @else { "delivering" }
                "; "
                @if q.rejecting { "gateway listeners refuse new mail with 421" } @else { "accepting mail" }
                " (" a href="/queue" { "queue page" } ")"
            }
        }
        @if let Some(s) = &v.status {
            table {
                thead { tr { th { "Stage" } th { "Messages" } th { "Size" } th { "Oldest" } } }
                tbody {
                    @for q in &s.queues {
                        tr {
                            td { a href=(format!("/queue?stage={}", q.stage)) { (q.stage) } }
                            td { (q.messages) }
                            td { (size(q.bytes)) }
                            td { @if q.messages > 0 { (duration(q.oldest_age)) } @else { "-" } }
                        }
                    }
                }
            }
        }
    }
}

/// The page body.
pub(crate) fn render(v: &View) -> Markup {
    use super::super::page::{duration, size, utc};
    let (_, label, _, step) = RANGES[v.range];
    html! {
        (counter_cards("Messages", &v.messages))
        (counter_cards("Incidents", &v.incidents))
        h2 { "Traffic and incidents over " (label) }
        nav class="pager" aria-label="Chart range" {
            @for (i, (q, l, _, _)) in RANGES.iter().enumerate() {
                @if i == v.range {
                    a href=(format!("/?range={q}")) aria-current="page" { (l) }
                } @else {
                    a href=(format!("/?range={q}")) { (l) }
                }
            }
        }
        (chart::bars("Messages", &v.traffic.points, step, false))
        (chart::bars("Incidents", &v.incident_series.points, step, true))
        h2 { "System" }
        table class="kv" {
            tr { th { "Uptime" } td { (duration(v.uptime)) } }
            tr { th { "Version" } td { (env!("CARGO_PKG_VERSION")) } }
            tr { th { "SMTP listener" } td { (v.listener) @if v.status.as_ref().is_some_and(|s| !s.ready) { " (not ready)" } } }
            tr { th { "Configuration" } td { "digest " code { (v.config_digest) } ", policies " code { (v.policies_digest) } } }
            tr { th { "Definitions" } td { "embedded in this version" } }
            @if let Some(s) = &v.status {
                tr { th { "Ready" } td { @if s.ready { "yes" } @else { "no" } } }
                tr { th { "Held messages" } td { (s.held_messages) " (" (size(s.held_bytes)) ")" } }
                tr { th { "Store" } td { (size(s.store_used)) " of " (size(s.store_max)) " in use" } }
                tr { th { "Disk" } td { (size(s.disk_free)) " free of " (size(s.disk_size)) } }
                tr { th { "Event outbox" } td { (s.outbox_events) " events, " (s.events_dropped) " dropped" } }
                @for (name, not_after) in &s.certificates {
                    tr { th { "Certificate " (name) } td {
                        "expires " (utc(*not_after))
                        @if *not_after < v.now { " (expired)" } @else { " (in " (duration(not_after - v.now)) ")" }
                    } }
                }
            }
        }
        (queues(v))
        h2 { "Next hops" }
        @if v.hops.is_empty() && v.status.as_ref().is_none_or(|s| s.hops.is_empty()) {
            p class="note" { "No next hop contacted or probed yet." }
        } @else {
            table {
                thead { tr { th { "Address" } th { "State" } th { "Since" } th { "Last error" } } }
                tbody {
                    @for h in &v.hops {
                        tr {
                            td { (h.host) }
                            td { (super::badge(if h.state == crate::relay::status::State::Up { "out-relayed" } else { "sev-high" }, h.state.name())) }
                            td { (utc(h.since)) }
                            td { (h.last_error.as_deref().unwrap_or("")) }
                        }
                    }
                    @if let Some(s) = &v.status {
                        @for h in &s.hops {
                            tr {
                                td { (h.address) " (probe)" }
                                td { (super::badge(if h.up { "out-relayed" } else { "sev-high" }, if h.up { "up" } else { "down" })) }
                                td { (utc(h.probed_at)) }
                                td {}
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dashboard_shows_todays_and_all_counters_and_both_charts() {
        let v = View {
            now: 100_000,
            uptime: 3700,
            range: 0,
            messages: vec![("messages.relayed".into(), 3, 10)],
            incidents: vec![("incidents.high".into(), 1, 2)],
            traffic: Series {
                name: "messages".into(),
                points: vec![(0, 3)],
            },
            incident_series: Series {
                name: "incidents".into(),
                points: vec![(0, 1)],
            },
            status: Some(crate::metrics::Snapshot {
                queues: vec![
                    crate::metrics::Queue {
                        stage: "deferred",
                        messages: 2,
                        bytes: 2048,
                        oldest_age: 7200,
                    },
                    crate::metrics::Queue {
                        stage: "hold",
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }),
            hops: vec![],
            config_digest: "abc".into(),
            policies_digest: "def".into(),
            listener: "127.0.0.1:25".into(),
            switches: Some(crate::store::switches::Switches {
                paused: true,
                rejecting: false,
            }),
        };
        let html = render(&v).into_string();
        assert!(html.contains("relayed today · 10 since start"), "{html}");
        assert!(html.contains("high today · 2 since start"));
        assert_eq!(html.matches("<svg").count(), 2);
        assert!(html.contains("1 hour"));
        assert!(
            html.contains(r#"delivery paused; accepting mail (<a href="/queue">queue page</a>)"#)
        );
        assert!(
            html.contains(r#"<a href="/queue?stage=deferred">deferred</a></td><td>2</td>"#),
            "{html}"
        );
        assert!(html.contains(r#"<a href="/queue?stage=hold">hold</a></td><td>0</td>"#));
    }
}
