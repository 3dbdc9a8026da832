//! Remediation from the pages, shared by incidents and quarantine: the operation a form asks for
//! ([`op_from_form`]), carrying it out under the signed-in user's name through the service (the
//! same `prepare` + `apply` as `sluice incident remediate` and `sluice quarantine ...`, so the same
//! refusals), the confirm step of an action over everything a filter matches, and the result page
//! that lists every item's outcome.

use hyper::StatusCode;
use maud::{Markup, html};

use super::super::call::Call;
use super::super::form::Form;
use super::super::response::{self, Response};
use super::filter::Filter;
use super::{Nav, badge, page, time};
use crate::remediate::Target;
use crate::service::{self, Actor, Bulk, Op, Outcome, Service, Tag};

/// Items of a bulk action listed by date, sender and subject on its confirm page (the rest are
/// counted), as the CLI's confirm step lists them.
pub(crate) const SHOWN: usize = 10;

/// The form's operation (`op` field) when it is one of `allowed`: `release` with an optional tag
/// (`tag_name`, `tag_value`), `forward` to the addresses in `to` (commas, spaces or lines between
/// them), `note` with its `text`.
pub(crate) fn op_from_form(form: &Form, allowed: &[&str]) -> Result<Op, String> {
    let name = form.get("op").unwrap_or("");
    if !allowed.contains(&name) {
        return Err(format!("choose an action: {}", allowed.join(", ")));
    }
    Ok(match name {
        "release" => {
            let tag = match (form.get("tag_name"), form.get("tag_value")) {
                (None, None) => None,
                (Some(n), v) => {
                    Some(Tag::new(n, v.unwrap_or("")).map_err(|e| e.message().to_string())?)
                }
                (None, Some(_)) => return Err("a tag needs a header name".into()),
            };
            Op::Release { tag }
        }
        "delete" => Op::Delete,
        "forward" => Op::Forward {
            to: form
                .get("to")
                .unwrap_or("")
                .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
                .filter(|a| !a.is_empty())
                .map(str::to_string)
                .collect(),
        },
        "resolve" => Op::Resolve,
        "dismiss" => Op::Dismiss,
        "note" => match form.get("text") {
            Some(text) => Op::Note {
                text: text.to_string(),
            },
            None => return Err("write the note first".into()),
        },
        other => return Err(format!("{other}: not an action here")),
    })
}

/// The operation's word for flash codes and confirm texts (`release`).
pub(crate) fn op_name(op: &Op) -> &'static str {
    match op {
        Op::Release { .. } => "release",
        Op::Delete => "delete",
        Op::Forward { .. } => "forward",
        Op::Rescan => "rescan",
        Op::Resolve => "resolve",
        Op::Dismiss => "dismiss",
        Op::Note { .. } => "note",
    }
}

/// The fields that repeat `op` in a form (the confirm step's hidden fields).
pub(crate) fn op_fields(op: &Op) -> Vec<(&'static str, String)> {
    let mut out = vec![("op", op_name(op).to_string())];
    match op {
        Op::Release { tag: Some(t) } => {
            out.push(("tag_name", t.name.clone()));
            out.push(("tag_value", t.value.clone()));
        }
        Op::Forward { to } => out.push(("to", to.join(", "))),
        Op::Note { text } => out.push(("text", text.clone())),
        _ => {}
    }
    out
}

/// `op` on `ids` under the caller's name: the service's checks first (an invalid op changes
/// nothing), then one write per item.
pub(crate) fn run(
    s: &Service,
    call: &Call,
    target: Target,
    ids: &[u64],
    op: Op,
) -> service::Result<Bulk> {
    let actor = Actor::new(call.actor())?;
    let name = op_name(&op);
    let prepared = s.prepare(op)?;
    let bulk = smol::block_on(s.apply(&prepared, target, ids, &actor, |_| {}));
    super::super::auth::remediated(s, call, target, name, ids, &totals(&bulk));
    Ok(bulk)
}

/// "2 done, 1 refused" for the audit log.
pub(crate) fn totals(b: &Bulk) -> String {
    let (mut done, mut refused, mut missing, mut failed) = (0, 0, 0, 0);
    for i in &b.items {
        match i.outcome {
            Outcome::Done(_) => done += 1,
            Outcome::Refused(_) => refused += 1,
            Outcome::NotFound(_) => missing += 1,
            Outcome::Failed(_) => failed += 1,
        }
    }
    format!("{done} done, {refused} refused, {missing} not found, {failed} failed")
}

/// `3 held messages` / `1 incident`.
pub(crate) fn count(target: Target, n: usize) -> String {
    let (one, many) = match target {
        Target::Held => ("held message", "held messages"),
        Target::Incident => ("incident", "incidents"),
    };
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Where an item of `target` is shown.
pub(crate) fn link(target: Target, id: u64) -> String {
    match target {
        Target::Held => format!("/quarantine/{id}"),
        Target::Incident => format!("/incidents/{id}"),
    }
}

/// A refusal of the request itself (no item touched): the page with the reason.
pub(crate) fn refused(call: &Call, nav: Nav, back: &str, why: &str) -> Response {
    let mut r = page(
        call,
        "Nothing was changed",
        nav,
        html! {
            p class="flash error" role="alert" { (why) }
            p { a href=(back) { "Back" } }
        },
    );
    r.status = StatusCode::UNPROCESSABLE_ENTITY;
    r
}

/// A service error of the request (invalid op, store down): the page with its status.
pub(crate) fn failed(call: &Call, nav: Nav, back: &str, e: &service::Error) -> Response {
    let mut r = refused(call, nav, back, e.message());
    r.status = response::status_of(e);
    r
}

/// What a bulk action over a filter would touch, and the form that does it: the count (at most
/// `cap`: more is said as "more than"), the first [`SHOWN`] items, and a confirm button that posts
/// the filter and the op again with `confirm=yes`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn confirm_page(
    s: &Service,
    call: &Call,
    nav: Nav,
    target: Target,
    action: &str,
    filter: &Filter,
    op: &Op,
    ids: &[u64],
    cap: usize,
) -> Response {
    let shown = ids.len().min(cap);
    let over = ids.len() > cap;
    let verb = op_name(op);
    let rows: Vec<Markup> = ids
        .iter()
        .take(SHOWN)
        .map(|&id| match s.summary(target, id) {
            Ok(Some(item)) => html! {
                tr {
                    td { a href=(link(target, id)) { (id) } }
                    td { (time(item.at)) }
                    td { (item.sender) }
                    td { (item.subject) }
                }
            },
            _ => html! { tr { td { (id) } td colspan="3" { "(no longer there)" } } },
        })
        .collect();
    let what = count(target, shown);
    let title = format!("{} {}?", capitalise(verb), what);
    page(
        call,
        &title,
        nav,
        html! {
            @if over {
                p class="flash error" role="alert" {
                    "More than " (cap) " match: this action covers the newest " (cap)
                    " (admin.max_bulk). Run it again for the rest."
                }
            }
            p {
                (what) @if shown == 1 { " matches" } @else { " match" } " the filter"
                @if filter.is_set() { ":" } @else { " (no filter: all of them)." }
            }
            @if target == Target::Held && filter.value("status").is_empty() {
                p class="note" { "Without a status, “all matching” means the messages still held." }
            }
            @if filter.is_set() {
                ul { @for (k, v) in &filter.given { li { (k) ": " (v) } } }
            }
            @if shown > 0 {
                table {
                    thead { tr { th { "Id" } th { "Date" } th { "Sender" } th { "Subject" } } }
                    tbody { @for r in &rows { (r) } }
                }
                @if shown > SHOWN { p class="note" { "… and " (shown - SHOWN) " more" } }
                form method="post" action=(action) {
                    (super::csrf_field(call))
                    (filter.hidden())
                    @for (k, v) in op_fields(op) { input type="hidden" name=(k) value=(v); }
                    input type="hidden" name="scope" value="all";
                    input type="hidden" name="confirm" value="yes";
                    div class="actions" {
                        button type="submit" class=(if matches!(op, Op::Delete) { "danger" } else { "" }) {
                            (capitalise(verb)) " " (what)
                        }
                        a class="button secondary" href=(back_of(action, filter)) { "Cancel" }
                    }
                }
            } @else {
                p { "Nothing to do." a href=(back_of(action, filter)) { " Back" } }
            }
        },
    )
}

/// The listing a bulk action came from, with its filter.
pub(crate) fn back_of(action: &str, filter: &Filter) -> String {
    let list = action.trim_end_matches("/bulk");
    if filter.given.is_empty() {
        list.to_string()
    } else {
        format!("{list}?{}", super::super::form::encode_pairs(&filter.given))
    }
}

/// Every item's outcome after an action, with the totals (the CLI's summary line).
pub(crate) fn result_page(
    call: &Call,
    nav: Nav,
    target: Target,
    op: &Op,
    bulk: &Bulk,
    back: &str,
) -> Response {
    let verb = verb_of(op);
    page(
        call,
        &format!("{} — result", capitalise(op_name(op))),
        nav,
        html! {
            p class=(if bulk.totals.refused + bulk.totals.not_found + bulk.totals.failed == 0 { "flash ok" } else { "flash error" })
                role="status" { (bulk.totals.summary(verb)) }
            table {
                thead { tr { th { "Id" } th { "Outcome" } th { "Detail" } } }
                tbody {
                    @for item in &bulk.items {
                        @let (class, word, detail) = outcome(&item.outcome);
                        tr {
                            td { a href=(link(target, item.id)) { (item.id) } }
                            td { (badge(class, word)) }
                            td { (detail) }
                        }
                    }
                }
            }
            p { a href=(back) { "Back" } }
        },
    )
}

/// The past tense the totals use.
fn verb_of(op: &Op) -> &'static str {
    match op {
        Op::Release { .. } => "released",
        Op::Delete => "deleted",
        Op::Forward { .. } => "forwarded",
        Op::Rescan => "rescanned",
        Op::Resolve => "resolved",
        Op::Dismiss => "dismissed",
        Op::Note { .. } => "noted",
    }
}

fn outcome(o: &Outcome) -> (&'static str, &'static str, &str) {
    match o {
        Outcome::Done(d) => ("out-relayed", "done", d),
        Outcome::Refused(d) => ("out-held", "refused", d),
        Outcome::NotFound(d) => ("out-blocked", "not found", d),
        Outcome::Failed(d) => ("out-blocked", "failed", d),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The bulk action of a listing (incidents or held messages).
pub(crate) fn bulk(
    s: &Service,
    call: &Call,
    target: Target,
    nav: Nav,
    action: &str,
    allowed: &[&str],
) -> Response {
    let form = call.form();
    let filter = match Filter::parse(&super::super::form::pairs(&call.body), target, call.now) {
        Ok(f) => f,
        Err(e) => return refused(call, nav, action.trim_end_matches("/bulk"), &e),
    };
    let back = back_of(action, &filter);
    let op = match op_from_form(&form, allowed) {
        Ok(op) => op,
        Err(e) => return refused(call, nav, &back, &e),
    };
    let cap = s.config().admin.max_bulk;
    let ids: Vec<u64> = match form.get("scope") {
        Some("all") => {
            let mut q = filter.query.clone();
            q.limit = Some(cap.saturating_add(1));
            let mut ids = match s.matching(target, &q) {
                Ok(ids) => ids,
                Err(e) => return failed(call, nav, &back, &e),
            };
            if form.get("confirm") != Some("yes") {
                return confirm_page(s, call, nav, target, action, &filter, &op, &ids, cap);
            }
            ids.truncate(cap);
            ids
        }
        _ => {
            let picked: Result<Vec<u64>, _> = form.all("id").iter().map(|v| v.parse()).collect();
            match picked {
                Ok(ids) if !ids.is_empty() => ids,
                Ok(_) => {
                    return refused(
                        call,
                        nav,
                        &back,
                        "Select at least one item, or use “Apply to all matching”.",
                    );
                }
                Err(_) => return refused(call, nav, &back, "The selection is not a list of ids."),
            }
        }
    };
    match run(s, call, target, &ids, op.clone()) {
        Ok(bulk) => result_page(call, nav, target, &op, &bulk, &back),
        Err(e) => failed(call, nav, &back, &e),
    }
}

/// The id in the path, or the 404 page.
pub(crate) fn id_of(call: &Call) -> Result<u64, Response> {
    call.param("id")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| super::failure(StatusCode::NOT_FOUND, "Not found", "There is no such item."))
}

/// One action on the item in the path (an incident or a held message).
pub(crate) fn act_on(
    s: &Service,
    call: &Call,
    target: Target,
    nav: Nav,
    allowed: &[&str],
) -> Response {
    let id = match id_of(call) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let back = link(target, id);
    let op = match op_from_form(&call.form(), allowed) {
        Ok(op) => op,
        Err(e) => return refused(call, nav, &back, &e),
    };
    let word = op_name(&op);
    match run(s, call, target, &[id], op.clone()) {
        Ok(bulk) => match bulk.items.first().map(|i| &i.outcome) {
            Some(crate::service::Outcome::Done(_)) => {
                Response::redirect(&format!("{back}?ok={word}"))
            }
            other => {
                let mut r = result_page(call, nav, target, &op, &bulk, &back);
                r.status = match other {
                    Some(crate::service::Outcome::NotFound(_)) => StatusCode::NOT_FOUND,
                    Some(crate::service::Outcome::Failed(_)) => StatusCode::SERVICE_UNAVAILABLE,
                    _ => StatusCode::CONFLICT,
                };
                r
            }
        },
        Err(e) => failed(call, nav, &back, &e),
    }
}

#[cfg(test)]
mod tests {
    //! Forms become the service's operations; bad ones are refused with the reason.
    use super::*;

    fn form(body: &str) -> Form {
        Form::parse(body.as_bytes())
    }

    const ALL: [&str; 6] = ["release", "delete", "forward", "resolve", "dismiss", "note"];

    #[test]
    fn forms_become_operations() {
        assert_eq!(
            op_from_form(&form("op=release"), &ALL),
            Ok(Op::Release { tag: None })
        );
        assert_eq!(
            op_from_form(
                &form("op=release&tag_name=X-CFilter&tag_value=Encrypt"),
                &ALL
            ),
            Ok(Op::Release {
                tag: Some(Tag {
                    name: "X-CFilter".into(),
                    value: "Encrypt".into()
                })
            })
        );
        assert_eq!(
            op_from_form(
                &form("op=forward&to=a%40x.example%2C+b%40y.example%0D%0Ac%40z"),
                &ALL
            ),
            Ok(Op::Forward {
                to: vec!["a@x.example".into(), "b@y.example".into(), "c@z".into()]
            })
        );
        assert_eq!(
            op_from_form(&form("op=note&text=looked+at+it"), &ALL),
            Ok(Op::Note {
                text: "looked at it".into()
            })
        );
        let again = op_fields(&Op::Release {
            tag: Some(Tag {
                name: "X-A".into(),
                value: "b".into(),
            }),
        });
        assert_eq!(again[1], ("tag_name", "X-A".to_string()));
    }

    #[test]
    fn bad_forms_are_refused_with_the_reason() {
        assert!(op_from_form(&form("op=rescan"), &ALL).is_err());
        assert!(op_from_form(&form("op=resolve"), &["release", "delete"]).is_err());
        assert!(
            op_from_form(&form(""), &ALL)
                .unwrap_err()
                .starts_with("choose an action")
        );
        let e = op_from_form(
            &form("op=release&tag_name=X-A&tag_value=a%0D%0ABcc:+b"),
            &ALL,
        )
        .unwrap_err();
        assert!(e.contains("invalid tag header"), "{e}");
        assert!(op_from_form(&form("op=release&tag_value=b"), &ALL).is_err());
        assert_eq!(
            op_from_form(&form("op=note&text=+"), &ALL),
            Err("write the note first".to_string())
        );
    }
}
