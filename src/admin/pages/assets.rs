//! The embedded static assets: the stylesheet and the small script, served from the binary (no
//! CDN, nothing fetched at run time) at `/assets/{name}`.

use hyper::StatusCode;

use super::super::call::Call;
use super::super::response::Response;
use super::super::router::{Access, Def};
use super::super::ui::Ui;

const FILES: [(&str, &str, &str); 2] = [
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../../../assets/admin/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../assets/admin/app.js"),
    ),
];

pub(crate) fn routes() -> Vec<Def> {
    vec![Def::get(
        "/assets/{name}",
        "asset",
        Access::Anonymous,
        serve,
    )]
}

fn serve(_: &Ui, call: &Call) -> Response {
    match FILES
        .iter()
        .find(|(n, _, _)| Some(*n) == call.param("name"))
    {
        Some((_, content_type, text)) => {
            Response::bytes(StatusCode::OK, content_type, text.as_bytes().to_vec())
        }
        None => super::failure(StatusCode::NOT_FOUND, "Not found", "There is no such file."),
    }
}
