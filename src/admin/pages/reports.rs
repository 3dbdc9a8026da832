//! Reports: `/reports` shows the summary or the detail report for a date range (detail: by event
//! type and text), and `/reports/csv` downloads the same report as CSV (`sluice-summary-...csv`,
//! optionally with a byte order mark for Excel). The numbers are the service's, as
//! `sluice report` prints them; every value escaped by maud.

use maud::{Markup, html};

use super::super::call::Call;
use super::super::response::Response;
use super::super::router::{Access, Def};
use super::super::ui::Ui;
use super::{Nav, time};
use crate::events::Category;
use crate::report::{self, DetailReport, SummaryReport, Which};
use crate::service::{Permission, Service};

pub(crate) fn routes() -> Vec<Def> {
    vec![
        Def::get(
            "/reports",
            "reports",
            Access::Signed(Permission::ViewReports),
            show,
        ),
        Def::get(
            "/reports/csv",
            "reports.csv",
            Access::Signed(Permission::ViewReports),
            csv,
        ),
    ]
}

/// What the form asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ask {
    pub which: Which,
    pub from: u64,
    pub to: u64,
    pub types: Vec<String>,
    pub text: Option<String>,
}

/// The request's report: `report=summary|detail`, `from`/`to` (a date is a whole UTC day: `to`
/// includes it), `type` (repeatable), `text`. `None` when no range was given yet.
pub(crate) fn ask(call: &Call) -> Result<Option<Ask>, String> {
    let (Some(from), Some(to)) = (call.query("from"), call.query("to")) else {
        return Ok(None);
    };
    let parse = |v: &str, label: &str| {
        crate::units::time::parse(v, call.now).map_err(|e| format!("{label}: {e}"))
    };
    let from_at = parse(from, "From")?;
    let mut to_at = parse(to, "To")?;
    if to.trim().len() == 10 {
        to_at = to_at.saturating_add(86_399);
    }
    let which = match call.query("report") {
        Some("detail") => Which::Detail,
        _ => Which::Summary,
    };
    let types = call
        .query
        .iter()
        .filter(|(k, v)| k == "type" && !v.trim().is_empty())
        .map(|(_, v)| v.trim().to_string())
        .collect();
    Ok(Some(Ask {
        which,
        from: from_at,
        to: to_at,
        types,
        text: call.query("text").map(str::to_string),
    }))
}

/// A built report.
pub(crate) enum Built {
    Summary(SummaryReport),
    Detail(DetailReport),
}

fn build(service: &Service, a: &Ask) -> crate::service::Result<Built> {
    Ok(match a.which {
        Which::Summary => Built::Summary(service.summary_report(a.from, a.to)?),
        Which::Detail => {
            let limit = service.config().reports.detail_max_rows;
            Built::Detail(service.detail_report(
                a.from,
                a.to,
                a.types.clone(),
                a.text.clone(),
                limit,
            )?)
        }
    })
}

fn show(ui: &Ui, call: &Call) -> Response {
    let service = match ui.service() {
        Ok(s) => s,
        Err(r) => return r,
    };
    let built = match ask(call) {
        Ok(Some(a)) => build(&service, &a)
            .map(Some)
            .map_err(|e| e.message().to_string()),
        Ok(None) => Ok(None),
        Err(e) => Err(e),
    };
    super::page(call, "Reports", Nav::Reports, render(call, &built))
}

fn csv(ui: &Ui, call: &Call) -> Response {
    let service = match ui.service() {
        Ok(s) => s,
        Err(r) => return r,
    };
    let a = match ask(call) {
        Ok(Some(a)) => a,
        Ok(None) => {
            return super::failure(
                hyper::StatusCode::BAD_REQUEST,
                "No range",
                "Give a From and a To date.",
            );
        }
        Err(e) => return super::failure(hyper::StatusCode::BAD_REQUEST, "Bad range", &e),
    };
    let rows = match build(&service, &a) {
        Ok(Built::Summary(r)) => report::summary_rows(&r),
        Ok(Built::Detail(r)) => report::detail_rows(&r),
        Err(e) => return super::service_error(call, &e),
    };
    let bom = call.query("bom").is_some();
    Response::download(
        "text/csv; charset=utf-8",
        &report::file_name(a.which, call.now),
        report::csv::write(&rows, bom),
    )
}

fn form(call: &Call) -> Markup {
    let detail = call.query("report") == Some("detail");
    let chosen: Vec<&str> = call
        .query
        .iter()
        .filter(|(k, _)| k == "type")
        .map(|(_, v)| v.as_str())
        .collect();
    let today = super::date(call.now);
    html! {
        form class="filters" method="get" action="/reports" {
            label { "Report"
                select name="report" {
                    @if detail { option value="summary" { "Summary" } option value="detail" selected { "Detail" } }
                    @else { option value="summary" selected { "Summary" } option value="detail" { "Detail" } }
                }
            }
            label { "From" input type="text" name="from" value=(call.query("from").unwrap_or(&today)) placeholder="2026-12-01"; }
            label { "To (inclusive)" input type="text" name="to" value=(call.query("to").unwrap_or(&today)) placeholder="2026-12-05"; }
            label { "Event types (detail)"
                select name="type" multiple size="4" {
                    @for c in Category::ALL {
                        @if chosen.contains(&c.name()) { option value=(c.name()) selected { (c.name()) } }
                        @else { option value=(c.name()) { (c.name()) } }
                    }
                }
            }
            label { "Text (detail)" input type="text" name="text" value=(call.query("text").unwrap_or("")); }
            button type="submit" { "Show" }
        }
    }
}

/// The page: the form, then the report with its CSV download links.
pub(crate) fn render(call: &Call, built: &Result<Option<Built>, String>) -> Markup {
    let csv_link = |bom: bool| {
        let mut q: Vec<(String, String)> = call.query.clone();
        if bom {
            q.push(("bom".into(), "1".into()));
        }
        format!("/reports/csv?{}", super::super::form::encode_pairs(&q))
    };
    html! {
        (form(call))
        @match built {
            Err(e) => p class="flash error" role="alert" { (e) },
            Ok(None) => p class="note" { "Choose a report and a date range." },
            Ok(Some(b)) => {
                p class="actions" {
                    a class="button" href=(csv_link(false)) { "Download CSV" }
                    " "
                    a class="button secondary" href=(csv_link(true)) { "Download CSV for Excel (with BOM)" }
                }
                @match b {
                    Built::Summary(r) => (summary(r)),
                    Built::Detail(r) => (detail(r)),
                }
            }
        }
    }
}

fn counts(title: &str, list: &[report::Count]) -> Markup {
    html! {
        div class="card" {
            h3 { (title) }
            @if list.is_empty() { p class="note" { "None." } } @else {
                table { tbody { @for c in list { tr { td { (c.key) } td { (c.count) } } } } }
            }
        }
    }
}

fn summary(r: &SummaryReport) -> Markup {
    html! {
        h2 { "Summary " (time(r.from)) " – " (time(r.to)) }
        div class="cards" {
            div class="stat" { div class="n" { (r.messages) } div class="l" { "messages (" (super::super::page::size(r.bytes)) ")" } }
            div class="stat" { div class="n" { (r.incidents) } div class="l" { "incidents" } }
        }
        div class="card" {
            h3 { "Messages by outcome and direction" }
            table {
                thead { tr { th { "Outcome" } th { "Total" } th { "Inbound" } th { "Outbound" } th { "Internal" } th { "Unknown" } } }
                tbody { @for o in &r.outcomes {
                    tr { td { (o.outcome) } td { (o.total) } td { (o.inbound) } td { (o.outbound) } td { (o.internal) } td { (o.unknown) } }
                } }
            }
        }
        div class="card" {
            h3 { "Incidents by policy" }
            @if r.policies.is_empty() { p class="note" { "None." } } @else {
                table { tbody { @for p in &r.policies {
                    tr { td { (p.id.map(|i| i.to_string()).unwrap_or_default()) } td { (p.name) } td { (p.count) } }
                } } }
            }
        }
        (counts("Incidents by severity", &r.severities))
        (counts("Top senders", &r.senders))
        (counts("Top recipients", &r.recipients))
        (counts("Top detectors", &r.detectors))
    }
}

fn detail(r: &DetailReport) -> Markup {
    html! {
        h2 { "Detail " (time(r.from)) " – " (time(r.to)) " (" (r.rows.len()) " events)" }
        @if r.more { p class="note" { "More events matched than shown: narrow the range or the types." } }
        table {
            thead { tr { th { "Time" } th { "Event" } th { "From" } th { "To" } th { "Subject" } th { "Policy" } th { "Action" } th { "Reason" } } }
            tbody { @for d in &r.rows {
                tr {
                    td { @if d.guid.is_empty() { (time(d.at)) } @else { a href=(format!("/tracking/{}", super::super::form::encode(&d.guid))) { (time(d.at)) } } }
                    td { (d.kind) }
                    td { (d.from) }
                    td { (d.to.join(", ")) }
                    td { (d.subject) }
                    td { (d.policies.join(", ")) }
                    td { (d.action) }
                    td { (d.reason) }
                }
            } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::Method;

    const HOSTILE: &str = "\"><img src=x onerror=alert(1)><script>alert(2)</script>";

    fn call(q: &str) -> Call {
        Call::new(
            Method::GET,
            &format!("/reports{q}"),
            "127.0.0.1".parse().unwrap(),
            1_796_482_859,
        )
    }

    #[test]
    fn the_range_and_types_come_from_the_query() {
        assert_eq!(ask(&call("")).unwrap(), None);
        let a = ask(&call(
            "?report=detail&from=2026-12-05&to=2026-12-05&type=message&type=policy&text=x",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(a.which, Which::Detail);
        assert_eq!(a.to - a.from, 86_399);
        assert_eq!(a.types, ["message", "policy"]);
        assert!(ask(&call("?from=soon&to=2026-12-05")).is_err());
    }

    #[test]
    fn a_summary_renders_escaped_with_its_csv_links() {
        let r = SummaryReport {
            senders: vec![report::Count {
                key: HOSTILE.into(),
                count: 2,
            }],
            policies: vec![report::PolicyCount {
                id: Some(1),
                name: HOSTILE.into(),
                count: 1,
            }],
            ..SummaryReport::default()
        };
        let c = call("?report=summary&from=2026-12-05&to=2026-12-05");
        let html = render(&c, &Ok(Some(Built::Summary(r)))).into_string();
        assert!(
            !html.contains("<script") && !html.contains("<img"),
            "{html}"
        );
        assert!(
            html.contains(
                "/reports/csv?report=summary&amp;from=2026-12-05&amp;to=2026-12-05&amp;bom=1"
            ),
            "{html}"
        );
        let d = DetailReport {
            rows: vec![report::DetailRow::of(&crate::events::Event {
                seq: 1,
                at: 0,
                kind: crate::events::Kind::MessageBlocked,
                fields: crate::events::Fields::new()
                    .with(crate::events::Field::EmailSubject, HOSTILE)
                    .with(crate::events::Field::EmailLocalId, "G")
                    .into_vec(),
            })],
            ..DetailReport::default()
        };
        let html = render(&c, &Ok(Some(Built::Detail(d)))).into_string();
        assert!(!html.contains("<script") && html.contains("message.blocked"));
    }
}
