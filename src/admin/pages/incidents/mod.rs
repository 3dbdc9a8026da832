//! The incidents pages: `/incidents`, the listing (filter, newest first, pages by cursor, bulk
//! actions over a selection or over everything the filter matches), and `/incidents/{id}`, one
//! incident (message metadata, findings in context, history, actions). Viewing needs
//! `ViewIncidents`; every change (POST) needs `Remediate` and goes through the service, as
//! `sluice incident remediate` does, so the same refusals apply and are listed per item.

mod detail;
pub(crate) mod findings;
mod list;

use super::super::router::{Access, Def};
use crate::service::Permission;

pub(crate) fn routes() -> Vec<Def> {
    let view = Access::Signed(Permission::ViewIncidents);
    let act = Access::Signed(Permission::Remediate);
    vec![
        Def::get("/incidents", "incidents", view, |ui, call| {
            super::with_service(ui, call, list::show)
        }),
        Def::post("/incidents/bulk", "incidents.bulk", act, |ui, call| {
            super::with_service(ui, call, list::bulk)
        }),
        Def::get("/incidents/{id}", "incident", view, |ui, call| {
            super::with_service(ui, call, detail::show)
        }),
        Def::post("/incidents/{id}/act", "incident.act", act, |ui, call| {
            super::with_service(ui, call, detail::act)
        }),
    ]
}

#[cfg(test)]
mod tests;
