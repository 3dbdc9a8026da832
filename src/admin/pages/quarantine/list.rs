//! `/quarantine`: held messages, searched and listed newest first, one bounded page per view by
//! cursor; bulk release and delete over a selection or everything the filter matches (counted
//! only on the confirm step, up to `admin.max_bulk`; without a status, "all matching" means the
//! messages still held, as in the CLI).

use hyper::StatusCode;
use maud::{Markup, html};

use super::super::super::call::Call;
use super::super::super::response::Response;
use super::super::filter::{self, Filter};
use super::super::remedy;
use super::super::{Nav, page, pager, severity_badge, status_badge, time};
use crate::remediate::Target;
use crate::service::{Paged, Permission, Service};
use crate::store::records::Held;

/// The actions the listing offers in bulk.
const BULK: [&str; 2] = ["release", "delete"];

/// Recipients shown in a row (the rest are counted).
const ROW_RECIPIENTS: usize = 3;

/// `GET /quarantine`.
pub(super) fn show(s: &Service, call: &Call) -> Response {
    let (filter, error) = match Filter::parse(&call.query, Target::Held, call.now) {
        Ok(f) => (f, None),
        Err(e) => (Filter::default(), Some(e)),
    };
    let found = match &error {
        Some(_) => None,
        None => match s.page_held(&filter.query, filter.before) {
            Ok(p) => Some(p),
            Err(e) => return remedy::failed(call, Nav::Quarantine, "/quarantine", &e),
        },
    };
    let body = html! {
        (filter::form("/quarantine", Target::Held, &filter, error.as_deref()))
        @if let Some(p) = &found { (listing(call, &filter, p)) }
    };
    let mut r = page(call, "Quarantine", Nav::Quarantine, body);
    if error.is_some() {
        r.status = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

fn listing(call: &Call, filter: &Filter, p: &Paged<Held>) -> Markup {
    let act = call
        .principal
        .as_ref()
        .is_some_and(|who| who.can(Permission::ReleaseQuarantine));
    let table = html! {
        table class="list" {
            thead {
                tr {
                    @if act {
                        th class="pick" {
                            input type="checkbox" data-select-all="id" aria-label="Select every message on this page";
                        }
                    }
                    th { "Received" } th { "Status" } th { "Sender" } th { "Recipients" }
                    th { "Subject" } th { "Policies" } th { "Severity" } th { "Size" }
                }
            }
            tbody { @for h in &p.items { (row(h, act)) } }
        }
    };
    html! {
        p class="note" {
            "Newest first (the store's order). "
            @if p.items.is_empty() { "No held message matches." }
            @else {
                "Showing " (p.items.len())
                @if p.next.is_some() { "; more may match (“Older”)" }
                "."
            }
            @if p.corrupt > 0 { " " (p.corrupt) " unreadable record(s) skipped." }
        }
        @if act && !p.items.is_empty() {
            form class="bulk" method="post" action="/quarantine/bulk" {
                (super::super::csrf_field(call))
                (filter.hidden())
                (table)
                div class="actions" {
                    label { "Action"
                        select name="op" {
                            option value="release" { "Release" }
                            option value="delete" { "Delete" }
                        }
                    }
                    button type="submit" name="scope" value="selected" { "Apply to selected" }
                    button type="submit" name="scope" value="all" class="secondary" { "Apply to all matching…" }
                }
            }
        } @else {
            (table)
        }
        (pager(call, filter.older(p.next)))
    }
}

fn row(h: &Held, pick: bool) -> Markup {
    let href = format!("/quarantine/{}", h.id);
    html! {
        tr {
            @if pick {
                td class="pick" {
                    input type="checkbox" name="id" value=(h.id) aria-label=(format!("Select held message {}", h.id));
                }
            }
            td class="when" { a href=(href) { (time(h.received)) } }
            td { (status_badge(h.status.name())) }
            td { (h.sender) }
            td {
                @for r in h.recipients.iter().take(ROW_RECIPIENTS) { (r.address) br; }
                @if h.recipients.len() > ROW_RECIPIENTS {
                    span class="note" { "and " (h.recipients.len() - ROW_RECIPIENTS) " more" }
                }
            }
            td { a href=(href) { @if h.subject.is_empty() { "(no subject)" } @else { (h.subject) } } }
            td { @for p in &h.policies { (p.name) br; } }
            td { (severity_badge(h.severity.name())) }
            td { (super::super::super::page::size(h.size)) }
        }
    }
}

/// `POST /quarantine/bulk`.
pub(super) fn bulk(s: &Service, call: &Call) -> Response {
    remedy::bulk(
        s,
        call,
        Target::Held,
        Nav::Quarantine,
        "/quarantine/bulk",
        &BULK,
    )
}
