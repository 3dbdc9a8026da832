//! The configuration's versions: `/config/history` lists them (who, when, what), a version's page
//! shows its change as a unified diff (the file before and after it), and a rollback applies its
//! text through the same checks, write and reload as any change (itself a new version).

use hyper::StatusCode;
use maud::{Markup, html};

use super::super::super::call::Call;
use super::super::super::response::Response;
use super::super::super::router::{Access, Def};
use super::super::super::ui::Ui;
use super::super::Nav;
use crate::config::edit::history::History;
use crate::config::edit::{self, DiffLine, DiffTag, Version};
use crate::service::Permission;

pub(crate) fn routes() -> Vec<Def> {
    vec![
        Def::get(
            "/config/history",
            "config.history",
            Access::Signed(Permission::ViewPolicies),
            list,
        ),
        Def::get(
            "/config/history/{n}",
            "config.version",
            Access::Signed(Permission::ViewPolicies),
            show,
        ),
        Def::post(
            "/config/history/{n}/rollback",
            "config.rollback",
            Access::Signed(Permission::EditSettings),
            rollback,
        ),
    ]
}

fn list(ui: &Ui, call: &Call) -> Response {
    let (_, target, _) = match super::current(ui, call) {
        Ok(c) => c,
        Err(r) => return r,
    };
    match History::at(&target.data_dir).list() {
        Ok(versions) => super::super::page(
            call,
            "Configuration history",
            Nav::Policies,
            render_list(&versions, &target.path.display().to_string()),
        ),
        Err(e) => super::failure(call, &e),
    }
}

/// The versions, newest first.
pub(crate) fn render_list(versions: &[Version], file: &str) -> Markup {
    html! {
        p { "Every change saved here is a version of " code { (file) } ", newest first." }
        @if versions.is_empty() {
            p { "No change has been saved from this interface yet." }
        } @else {
            table {
                thead { tr { th { "Version" } th { "When" } th { "Who" } th { "What" } } }
                tbody {
                    @for v in versions {
                        tr {
                            td { a href=(format!("/config/history/{}", v.number)) { (v.number) } }
                            td { (super::super::time(v.meta.at)) }
                            td { (v.meta.by) }
                            td { @for w in &v.meta.what { (w) br; } }
                        }
                    }
                }
            }
        }
    }
}

fn number(call: &Call) -> Option<u64> {
    call.param("n").and_then(|n| n.parse().ok())
}

fn show(ui: &Ui, call: &Call) -> Response {
    let (_, target, snap) = match super::current(ui, call) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(n) = number(call) else {
        return super::super::failure(StatusCode::NOT_FOUND, "Not found", "No such version.");
    };
    let h = History::at(&target.data_dir);
    let texts = h.version(n).and_then(|v| Ok((v, h.before(n)?, h.text(n)?)));
    let (version, before, after) = match texts {
        Ok(t) => t,
        Err(e) => return super::failure(call, &e),
    };
    let can_roll_back = call
        .principal
        .as_ref()
        .is_some_and(|p| p.can(Permission::EditSettings));
    let body = html! {
        p {
            "Saved " (super::super::time(version.meta.at)) " by " (version.meta.by) ": "
            @for w in &version.meta.what { (w) "; " }
        }
        h2 { "The change" }
        (render_diff(&edit::diff(&before, &after)))
        @if after != snap.text {
            h2 { "From this version to the file now" }
            (render_diff(&edit::diff(&after, &snap.text)))
        }
        @if can_roll_back {
            form method="post" action=(format!("/config/history/{n}/rollback")) {
                (super::super::csrf_field(call))
                (super::digest_field(&snap))
                button type="submit" { "Roll back to version " (n) }
            }
        }
        p { a href="/config/history" { "All versions" } }
    };
    super::super::page(call, &format!("Version {n}"), Nav::Policies, body)
}

/// A unified diff, one line per row, added and removed lines marked.
pub(crate) fn render_diff(lines: &[DiffLine]) -> Markup {
    html! {
        @if lines.is_empty() {
            p { "No difference." }
        } @else {
            pre class="diff" tabindex="0" {
                @for l in lines {
                    @let class = match l.tag {
                        DiffTag::Hunk => "hunk",
                        DiffTag::Same => "same",
                        DiffTag::Removed => "del",
                        DiffTag::Added => "add",
                    };
                    span class=(class) { (l.to_string()) "\n" }
                }
            }
        }
    }
}

fn rollback(ui: &Ui, call: &Call) -> Response {
    let Some(n) = number(call) else {
        return super::super::failure(StatusCode::NOT_FOUND, "Not found", "No such version.");
    };
    let text = match ui
        .app()
        .map(|a| History::at(&a.reloader.edit_target().data_dir).text(n))
    {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => return super::failure(call, &e),
        Err(r) => return r,
    };
    match super::save(ui, call, |doc| {
        doc.replace_text(&text, &format!("rolled back to version {n}"))
    }) {
        Ok(a) => super::super::page(
            call,
            "Rolled back",
            Nav::Policies,
            html! { (super::applied_note(&a)) p { a href="/config/history" { "All versions" } } },
        ),
        Err(e) => super::failure(call, &e),
    }
}
