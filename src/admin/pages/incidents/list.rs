//! `/incidents`: the listing and its bulk actions. One bounded store search per view (one page by
//! cursor, never a count of every match); "all matching" is counted only on its confirm step, up
//! to `admin.max_bulk`.

use hyper::StatusCode;
use maud::{Markup, html};

use super::super::super::call::Call;
use super::super::super::response::Response;
use super::super::filter::{self, Filter};
use super::super::remedy;
use super::super::{Nav, page, pager, severity_badge, status_badge, time};
use crate::remediate::Target;
use crate::service::{Paged, Permission, Service};
use crate::store::records::Incident;

/// The actions the listing offers in bulk.
pub(super) const BULK: [&str; 5] = ["resolve", "dismiss", "note", "release", "delete"];

/// Recipients shown in a row (the rest are counted).
const ROW_RECIPIENTS: usize = 3;

/// `GET /incidents`.
pub(super) fn show(s: &Service, call: &Call) -> Response {
    let (filter, error) = match Filter::parse(&call.query, Target::Incident, call.now) {
        Ok(f) => (f, None),
        Err(e) => (Filter::default(), Some(e)),
    };
    let found = match &error {
        Some(_) => None,
        None => match s.page_incidents(&filter.query, filter.before) {
            Ok(p) => Some(p),
            Err(e) => return remedy::failed(call, Nav::Incidents, "/incidents", &e),
        },
    };
    let body = html! {
        (filter::form("/incidents", Target::Incident, &filter, error.as_deref()))
        @if let Some(p) = &found { (listing(call, &filter, p)) }
    };
    let mut r = page(call, "Incidents", Nav::Incidents, body);
    if error.is_some() {
        r.status = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

fn listing(call: &Call, filter: &Filter, p: &Paged<Incident>) -> Markup {
    let remediate = call
        .principal
        .as_ref()
        .is_some_and(|who| who.can(Permission::Remediate));
    let table = html! {
        table class="list" {
            thead {
                tr {
                    @if remediate {
                        th class="pick" {
                            input type="checkbox" data-select-all="id" aria-label="Select every incident on this page";
                        }
                    }
                    th { "Time" } th { "Severity" } th { "Policy" } th { "Sender" }
                    th { "Recipients" } th { "Subject" } th { "Status" }
                }
            }
            tbody {
                @for i in &p.items { (row(i, remediate)) }
            }
        }
    };
    html! {
        p class="note" {
            "Newest first (the store's order). "
            @if p.items.is_empty() { "No incident matches." }
            @else {
                "Showing " (p.items.len())
                @if p.next.is_some() { "; more may match (“Older”)" }
                "."
            }
            @if p.corrupt > 0 { " " (p.corrupt) " unreadable record(s) skipped." }
        }
        @if remediate && !p.items.is_empty() {
            form class="bulk" method="post" action="/incidents/bulk" {
                (super::super::csrf_field(call))
                (filter.hidden())
                (table)
                (bulk_controls())
            }
        } @else {
            (table)
        }
        (pager(call, filter.older(p.next)))
    }
}

fn row(i: &Incident, pick: bool) -> Markup {
    let href = format!("/incidents/{}", i.id);
    html! {
        tr {
            @if pick {
                td class="pick" {
                    input type="checkbox" name="id" value=(i.id) aria-label=(format!("Select incident {}", i.id));
                }
            }
            td class="when" { a href=(href) { (time(i.created)) } }
            td { (severity_badge(i.policy.severity.name())) }
            td { (i.policy.name) @if i.policy.monitor { " " span class="note" { "(monitor)" } } }
            td { (i.sender) }
            td {
                @for r in i.recipients.iter().take(ROW_RECIPIENTS) { (r) br; }
                @if i.recipients.len() > ROW_RECIPIENTS {
                    span class="note" { "and " (i.recipients.len() - ROW_RECIPIENTS) " more" }
                }
            }
            td { a href=(href) { @if i.subject.is_empty() { "(no subject)" } @else { (i.subject) } } }
            td { (status_badge(i.status.name())) }
        }
    }
}

fn bulk_controls() -> Markup {
    html! {
        div class="actions" {
            label { "Action"
                select name="op" {
                    option value="resolve" { "Resolve" }
                    option value="dismiss" { "Dismiss (false positive)" }
                    option value="note" { "Add a note" }
                    option value="release" { "Release the held message" }
                    option value="delete" { "Delete the held message" }
                }
            }
            label { "Note (for “Add a note”)" input type="text" name="text" maxlength=(crate::remediate::MAX_NOTE); }
            button type="submit" name="scope" value="selected" { "Apply to selected" }
            button type="submit" name="scope" value="all" class="secondary" { "Apply to all matching…" }
        }
    }
}

/// `POST /incidents/bulk`: the selection (`id` fields) at once; everything the filter matches
/// (`scope=all`) after a confirm step.
pub(super) fn bulk(s: &Service, call: &Call) -> Response {
    remedy::bulk(
        s,
        call,
        Target::Incident,
        Nav::Incidents,
        "/incidents/bulk",
        &BULK,
    )
}
