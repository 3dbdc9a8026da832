//! Every route of the admin port, gathered from the modules that own them (one line each).

use super::router::Def;

/// The whole table.
pub(crate) fn all() -> Vec<Def> {
    let mut defs = super::base_routes();
    defs.extend(super::pages::assets::routes());
    defs.extend(super::pages::dashboard::routes());
    defs.extend(super::pages::certificate::routes());
    defs.extend(super::pages::login::routes());
    defs.extend(super::pages::users::routes());
    defs.extend(super::pages::password::routes());
    defs.extend(super::pages::audit::routes());
    defs.extend(super::pages::policies::routes());
    defs.extend(super::pages::settings::routes());
    defs.extend(super::pages::siem::routes());
    defs.extend(super::pages::config::history::routes());
    defs.extend(super::pages::incidents::routes());
    defs.extend(super::pages::quarantine::routes());
    defs.extend(super::pages::queue::routes());
    defs.extend(super::pages::tracking::routes());
    defs.extend(super::pages::reports::routes());
    defs.extend(super::api::routes());
    defs.extend(super::api::records::routes());
    defs
}
