//! `/queue`: the switches with their buttons, the stage tabs with their counts, the filter form,
//! one page of the stage's entries (oldest first, as the service lists them) and, for
//! `ManageQueue`, the bulk form; `POST /queue/switches` turns a switch on or off.

use hyper::StatusCode;
use maud::{Markup, html};

use super::super::super::call::Call;
use super::super::super::form::encode_pairs;
use super::super::super::page::{duration, size};
use super::super::super::response::Response;
use super::super::remedy;
use super::super::{Nav, badge, csrf_field, flash, page, pager_links, time};
use super::filter::{ACTIONS, Picked};
use crate::service::{Caller, Permission, QueueFilter, QueueRow, QueueStage, Service};
use crate::store::switches::{Switch, Switches};

/// Rows on one page.
pub(super) const PAGE: usize = crate::service::DEFAULT_LIST;
/// Pages one can walk (the service lists from the start each time).
const MAX_PAGES: usize = 100;
/// Counts on the tabs stop here ("1000+").
const COUNT_CAP: usize = 1000;
/// Recipients shown in a row (the rest are counted).
const ROW_RECIPIENTS: usize = 3;

/// The tabs: `None` is every stage.
const TABS: [(Option<QueueStage>, &str); 5] = [
    (None, "All"),
    (Some(QueueStage::Inspect), "Inspect"),
    (Some(QueueStage::Deliver), "Deliver"),
    (Some(QueueStage::Deferred), "Deferred"),
    (Some(QueueStage::Hold), "Hold"),
];

/// The notes after a redirect (`?ok=`).
pub(super) const DONE: [(&str, &str); 4] = [
    (
        "paused",
        "Delivery is paused: the queue keeps every message.",
    ),
    ("resumed", "Delivery resumed."),
    (
        "rejecting",
        "Incoming mail is refused: gateway listeners answer 421 at connect.",
    ),
    ("accepting", "Incoming mail is accepted again."),
];

/// The warning seed 004 5.1 asks for before reprocessing.
pub(super) const CRASHER: &str = "Reprocessing a message held as suspect (its inspection crashed or timed out three times) will likely crash it again.";

/// `GET /queue`.
pub(super) fn show(s: &Service, call: &Call) -> Response {
    let (picked, error) = match Picked::parse(&call.query) {
        Ok(p) => (p, None),
        Err(e) => (Picked::default(), Some(e)),
    };
    let page_no = call
        .query("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_PAGES - 1);
    let manage = can(call, Permission::ManageQueue);
    let listing = match &error {
        Some(_) => None,
        None => {
            let mut f = picked.filter.clone();
            f.limit = (page_no + 1) * PAGE;
            match s.queue_list(&f) {
                Ok(l) => Some(l),
                Err(e) => return remedy::failed(call, Nav::Queue, "/queue", &e),
            }
        }
    };
    let body = html! {
        (flash(call, &DONE))
        (flash(call, &super::detail::DONE))
        (switches(call, s.switches().ok(), manage))
        (tabs(s, &picked))
        (filter_form(&picked, error.as_deref()))
        @if let Some(l) = &listing {
            @let rows: Vec<&QueueRow> = l.rows.iter().skip(page_no * PAGE).collect();
            (table_and_actions(call, &picked, &rows, manage))
            (pager(call, &picked, page_no, l.more))
        }
    };
    let mut r = page(call, "Queue", Nav::Queue, body);
    if error.is_some() {
        r.status = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

pub(super) fn can(call: &Call, p: Permission) -> bool {
    call.principal.as_ref().is_some_and(|who| who.can(p))
}

/// Both switches with their state, and for `manage` the button that flips each.
fn switches(call: &Call, sw: Option<Switches>, manage: bool) -> Markup {
    let Some(sw) = sw else {
        return html! { p class="flash error" role="alert" { "The queue switches could not be read." } };
    };
    let button = |switch: &str, on: bool, text: &str, confirm: &str| {
        html! {
            @if manage {
                form class="inline" method="post" action="/queue/switches" {
                    (csrf_field(call))
                    input type="hidden" name="switch" value=(switch);
                    input type="hidden" name="on" value=(if on { "yes" } else { "no" });
                    @if confirm.is_empty() {
                        button type="submit" class="secondary" { (text) }
                    } @else {
                        button type="submit" class="danger" data-confirm=(confirm) { (text) }
                    }
                }
            }
        }
    };
    html! {
        table class="kv" {
            tr { th { "Delivery" } td {
                @if sw.paused {
                    (badge("out-held", "paused")) " nothing leaves the queue until delivery resumes "
                    (button("paused", false, "Resume delivery", ""))
                } @else {
                    (badge("out-relayed", "delivering")) " "
                    (button("paused", true, "Pause delivery", "Pause delivery? Messages stay queued until you resume."))
                }
            } }
            tr { th { "Incoming mail" } td {
                @if sw.rejecting {
                    (badge("out-blocked", "refused")) " gateway listeners answer 421 at connect "
                    (button("rejecting", false, "Accept incoming mail", ""))
                } @else {
                    (badge("out-relayed", "accepting")) " "
                    (button("rejecting", true, "Reject incoming mail (421)", "Refuse new mail on the gateway listeners (421 at connect)?"))
                }
            } }
        }
    }
}

/// The stage tabs with their counts (the whole queue's; the other filters are kept in the links).
fn tabs(s: &Service, picked: &Picked) -> Markup {
    let rest = picked.without_stage();
    let counts: Vec<Option<usize>> = TABS[1..]
        .iter()
        .map(|(stage, _)| count(s, *stage))
        .collect();
    let all: Option<usize> = counts.iter().copied().sum();
    let shown = |n: Option<usize>| match n {
        Some(n) if n > COUNT_CAP => format!("{COUNT_CAP}+"),
        Some(n) => n.to_string(),
        None => "?".into(),
    };
    let links: Vec<(bool, String, String)> = TABS
        .iter()
        .enumerate()
        .map(|(i, (stage, label))| {
            let n = if i == 0 { all } else { counts[i - 1] };
            let mut q = rest.clone();
            if let Some(st) = stage {
                q.push(("stage".into(), st.name().into()));
            }
            let href = match q.is_empty() {
                true => "/queue".to_string(),
                false => format!("/queue?{}", encode_pairs(&q)),
            };
            (
                picked.filter.stage == *stage,
                href,
                format!("{label} ({})", shown(n)),
            )
        })
        .collect();
    html! {
        nav class="tabs" aria-label="Queue stages" {
            @for (current, href, text) in &links {
                @if *current { a href=(href) aria-current="page" { (text) } }
                @else { a href=(href) { (text) } }
            }
        }
    }
}

/// How many entries a stage holds, up to just over [`COUNT_CAP`]; `None` when unreadable.
fn count(s: &Service, stage: Option<QueueStage>) -> Option<usize> {
    let f = QueueFilter {
        stage,
        limit: COUNT_CAP + 1,
        ..QueueFilter::default()
    };
    s.queue_select(&f).ok().map(|ids| ids.len())
}

fn filter_form(picked: &Picked, error: Option<&str>) -> Markup {
    let field = |name: &str, label: &str, hint: &str| {
        html! {
            label { (label) input type="text" name=(name) value=(picked.value(name)) placeholder=(hint); }
        }
    };
    html! {
        @if let Some(e) = error { p class="flash error" role="alert" { (e) } }
        form class="filters" method="get" action="/queue" {
            @if let Some(st) = picked.filter.stage { input type="hidden" name="stage" value=(st.name()); }
            (field("sender", "Sender", "address or @domain"))
            (field("recipient", "Recipient", "address or @domain"))
            (field("listener", "Listener", "name"))
            (field("direction", "Direction", "inbound, outbound, internal"))
            (field("older_than", "Older than", "30m, 2h, 1d"))
            button type="submit" { "Filter" }
            a class="button secondary" href="/queue" { "Clear" }
        }
    }
}

fn table_and_actions(call: &Call, picked: &Picked, rows: &[&QueueRow], manage: bool) -> Markup {
    let pick = manage && !rows.is_empty();
    let table = html! {
        table class="list" {
            thead {
                tr {
                    @if pick {
                        th class="pick" {
                            input type="checkbox" data-select-all="id" aria-label="Select every entry on this page";
                        }
                    }
                    th { "Id" } th { "Stage" } th { "Age" } th { "Sender" } th { "Pending recipients" }
                    th { "Size" } th { "Attempts" } th { "Next attempt" } th { "Last error" }
                }
            }
            tbody { @for r in rows { (row(call.now, r, pick)) } }
        }
    };
    html! {
        @if rows.is_empty() { p class="note" { "No queued message matches." } }
        @else if pick {
            form class="bulk" method="post" action="/queue/bulk" {
                (csrf_field(call))
                (picked.hidden())
                (table)
                (action_fields(picked.filter.stage))
                div class="actions" {
                    button type="submit" name="scope" value="selected" data-confirm="Apply this action to the selected messages?" { "Apply to selected" }
                    button type="submit" name="scope" value="all" class="secondary" { "Apply to all matching…" }
                }
            }
        } @else {
            (table)
        }
    }
}

/// The action picker and the forward fields of a bulk form, with the warnings.
pub(super) fn action_fields(stage: Option<QueueStage>) -> Markup {
    html! {
        div class="actions" {
            label { "Action "
                select name="op" {
                    @for (name, label) in ACTIONS { option value=(name) { (label) } }
                }
            }
            label { "Forward to (one address) " input type="email" name="to" placeholder="reviewer@example.com"; }
            label { "Subject of the copy " input type="text" name="subject" maxlength="900"; }
        }
        @if stage.is_none() || stage == Some(QueueStage::Hold) {
            p class="flash warn" role="note" { (CRASHER) }
        }
        p class="note" {
            "Reprocess sends a held message back to inspection; release unscanned delivers it uninspected. "
            "A forwarded copy is not scanned and the original stays where it is. Delete drops a message: "
            "it is never delivered and no bounce is sent. An action that does not apply to an entry's stage skips it."
        }
    }
}

fn row(now: u64, r: &QueueRow, pick: bool) -> Markup {
    let href = format!("/queue/{}", r.id);
    html! {
        tr {
            @if pick {
                td class="pick" {
                    input type="checkbox" name="id" value=(r.id.to_string()) aria-label=(format!("Select {}", r.id));
                }
            }
            td { a href=(href) { (r.id.to_string()) } }
            td { (stage_badge(r.stage)) }
            td class="when" { (duration(now.saturating_sub(r.queued))) }
            td { (sender(&r.sender)) }
            td {
                @for a in r.recipients.iter().take(ROW_RECIPIENTS) { (a) br; }
                @if r.recipients.len() > ROW_RECIPIENTS {
                    span class="note" { "and " (r.recipients.len() - ROW_RECIPIENTS) " more" }
                }
            }
            td { (size(r.size)) }
            td { (r.attempts) }
            td class="when" { @if let Some(t) = r.next_attempt { (time(t)) } @else { "—" } }
            td { @if let Some(e) = &r.last_error { (e) } }
        }
    }
}

/// A stage as a badge.
pub(super) fn stage_badge(stage: QueueStage) -> Markup {
    let class = match stage {
        QueueStage::Inspect => "sev-info",
        QueueStage::Deliver => "out-relayed",
        QueueStage::Deferred => "out-deferred",
        QueueStage::Hold => "out-blocked",
    };
    badge(class, stage.name())
}

/// The envelope sender, `<>` for the null sender.
pub(super) fn sender(s: &str) -> &str {
    if s.is_empty() { "<>" } else { s }
}

fn pager(call: &Call, picked: &Picked, page_no: usize, more: bool) -> Markup {
    let at = |n: usize| {
        let mut q = picked.given.clone();
        if n > 0 {
            q.push(("page".into(), n.to_string()));
        }
        q
    };
    let newer = (page_no > 0).then(|| at(page_no - 1));
    let older = (more && page_no + 1 < MAX_PAGES).then(|| at(page_no + 1));
    pager_links(call, None, newer, older)
}

/// `POST /queue/switches`: `switch` (paused, rejecting) and `on` (yes, no).
pub(super) fn switch(s: &Service, call: &Call) -> Response {
    let form = call.form();
    let switch = match form.get("switch") {
        Some("paused") => Switch::Paused,
        Some("rejecting") => Switch::Rejecting,
        _ => {
            return remedy::refused(
                call,
                Nav::Queue,
                "/queue",
                "Choose a switch: paused or rejecting.",
            );
        }
    };
    let on = match form.get("on") {
        Some("yes") => true,
        Some("no") => false,
        _ => {
            return remedy::refused(
                call,
                Nav::Queue,
                "/queue",
                "Say whether to turn the switch on (yes) or off (no).",
            );
        }
    };
    match s.set_switch(switch, on, &Caller::web(call.actor(), call.peer)) {
        Ok(_) => {
            let code = match (switch, on) {
                (Switch::Paused, true) => "paused",
                (Switch::Paused, false) => "resumed",
                (Switch::Rejecting, true) => "rejecting",
                (Switch::Rejecting, false) => "accepting",
            };
            Response::redirect(&format!("/queue?ok={code}"))
        }
        Err(e) => remedy::failed(call, Nav::Queue, "/queue", &e),
    }
}
