//! The dashboard at `/`: what a signed-in user sees first. (A first version: the `data` work
//! replaces it with counters, health and charts.)

use maud::html;

use super::super::call::Call;
use super::super::response::Response;
use super::super::router::{Access, Def};
use super::super::ui::Ui;
use super::Nav;
use crate::service::Permission;

pub(crate) fn routes() -> Vec<Def> {
    vec![Def::get(
        "/",
        "dashboard",
        Access::Signed(Permission::ViewStatus),
        show,
    )]
}

fn show(ui: &Ui, call: &Call) -> Response {
    let app = match ui.app() {
        Ok(a) => a,
        Err(r) => return r,
    };
    let uptime = call.now.saturating_sub(app.started);
    super::page(
        call,
        "Dashboard",
        Nav::Dashboard,
        html! {
            div class="cards" {
                div class="stat" { div class="n" { (super::super::page::duration(uptime)) } div class="l" { "uptime" } }
            }
        },
    )
}
