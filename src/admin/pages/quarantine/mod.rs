//! The quarantine pages: `/quarantine`, held messages listed and searched (recipient, sender,
//! policy, status, time, subject; newest first, pages by cursor; bulk release and delete over a
//! selection or a filter), `/quarantine/{id}`, one held message with a safe preview (headers as
//! text, the body as text only, attachments listed and never opened or linked) and its actions
//! (release, release with a tag, delete, forward), and `/quarantine/{id}/raw`, the raw message for
//! administrators (`DownloadRaw`), written to the audit log. Viewing needs `ViewQuarantine`;
//! changes need `ReleaseQuarantine` and go through the service as `sluice quarantine ...` does.

mod detail;
mod list;

pub(crate) use detail::held_actions;
pub(crate) mod preview;

use super::super::router::{Access, Def};
use crate::service::Permission;

pub(crate) fn routes() -> Vec<Def> {
    let view = Access::Signed(Permission::ViewQuarantine);
    let act = Access::Signed(Permission::ReleaseQuarantine);
    vec![
        Def::get("/quarantine", "quarantine", view, |ui, call| {
            super::with_service(ui, call, list::show)
        }),
        Def::post("/quarantine/bulk", "quarantine.bulk", act, |ui, call| {
            super::with_service(ui, call, list::bulk)
        }),
        Def::get("/quarantine/{id}", "held", view, |ui, call| {
            super::with_service(ui, call, detail::show)
        }),
        Def::post("/quarantine/{id}/act", "held.act", act, |ui, call| {
            super::with_service(ui, call, detail::act)
        }),
        Def::get(
            "/quarantine/{id}/raw",
            "held.raw",
            Access::Signed(Permission::DownloadRaw),
            |ui, call| super::with_service(ui, call, detail::raw),
        ),
    ]
}

#[cfg(test)]
mod tests;
