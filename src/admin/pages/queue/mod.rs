//! The queue pages (seed 004 5.1): `/queue`, the gateway's messages by stage (tabs Inspect,
//! Deliver, Deferred, Hold with their counts; filters by sender, recipient, listener and age;
//! pages), the two switches (pause delivery, reject incoming mail with 421 at connect) and bulk
//! actions over a selection or everything the filter matches (reprocess / release, release
//! unscanned, hold, delete, retry now, forward an unscanned copy with a subject to one address);
//! `/queue/{id}`, one entry (envelope, each recipient's state and last reply, the header section:
//! never the body) with its actions. Viewing needs `ViewQueue`; actions and switches need
//! `ManageQueue` and go through the service (`queue_act`, `set_switch`) as `sluice queue ...`
//! does, audited under the signed-in user's name.

mod bulk;
mod detail;
pub(crate) mod filter;
mod list;

#[cfg(test)]
pub(crate) mod fixture;
#[cfg(test)]
mod tests;

use super::super::router::{Access, Def};
use crate::service::Permission;

pub(crate) fn routes() -> Vec<Def> {
    let view = Access::Signed(Permission::ViewQueue);
    let manage = Access::Signed(Permission::ManageQueue);
    vec![
        Def::get("/queue", "queue", view, |ui, call| {
            super::with_service(ui, call, list::show)
        }),
        Def::post("/queue/bulk", "queue.bulk", manage, |ui, call| {
            super::with_service(ui, call, bulk::bulk)
        }),
        Def::post("/queue/switches", "queue.switches", manage, |ui, call| {
            super::with_service(ui, call, list::switch)
        }),
        Def::get("/queue/{id}", "queue.entry", view, |ui, call| {
            super::with_service(ui, call, detail::show)
        }),
        Def::post("/queue/{id}/act", "queue.entry.act", manage, |ui, call| {
            super::with_service(ui, call, detail::act)
        }),
    ]
}
