//! The JSON twins of the dashboard (`GET /api/v1/status`: the same numbers, from
//! `pages::dashboard::gather`) and of Settings → certificate (`GET` the certificate in use,
//! `PUT` a PEM chain and key: checked and installed by `pages::certificate::put`, applied
//! without a restart and audited, as the page does).

use hyper::{Method, StatusCode};
use serde::Deserialize;

use super::super::call::Call;
use super::super::pages::certificate;
use super::super::pages::dashboard::{self, View};
use super::super::response::Response;
use super::super::router::{Access, Def, Input};
use super::super::ui::Ui;
use super::{digest_of, no_store, service_error};
use crate::service::Permission;

pub(crate) fn routes() -> Vec<Def> {
    let cert = "/api/v1/certificate";
    vec![
        Def::get(
            "/api/v1/status",
            "api.status",
            Access::Signed(Permission::ViewStatus),
            status,
        ),
        Def::get(
            cert,
            "api.certificate",
            Access::Signed(Permission::ViewSettings),
            show_certificate,
        ),
        // PEM can be longer than admin.max_body: read with the upload's bound, as the page does.
        Def::post(
            cert,
            "api.certificate.put",
            Access::Signed(Permission::EditSettings),
            put_certificate,
        )
        .reading(Input::Upload)
        .answering(Method::PUT),
    ]
}

/// `GET /api/v1/status`: the dashboard's numbers.
fn status(ui: &Ui, call: &Call) -> Response {
    let (app, service) = match (ui.app(), ui.service()) {
        (Ok(a), Ok(s)) => (a, s),
        _ => return no_store(),
    };
    match dashboard::gather(ui, app, &service, call.now, 0) {
        Ok(v) => Response::json(StatusCode::OK, &json(&v)),
        Err(e) => service_error(&e),
    }
}

/// The view as JSON: counters by name (`today`, `since_start`), the monitor's last look (`null`
/// before its first), the next hops, certificates, configuration digests.
pub(crate) fn json(v: &View) -> serde_json::Value {
    let counters = |list: &dashboard::Counters| -> serde_json::Value {
        list.iter()
            .map(|(key, today, all)| {
                (
                    dashboard::short(key).to_string(),
                    serde_json::json!({"today": today, "since_start": all}),
                )
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let monitor = v.status.as_ref().map(|s| {
        serde_json::json!({
            "ready": s.ready,
            "queue": {
                "messages": s.queue_messages(), "oldest_age": s.queue_oldest_age(),
                "stages": s.queues.iter().map(|q| (q.stage.to_string(), serde_json::json!({
                    "messages": q.messages, "bytes": q.bytes, "oldest_age": q.oldest_age,
                }))).collect::<serde_json::Map<_, _>>(),
            },
            "held": {"messages": s.held_messages, "bytes": s.held_bytes},
            "store": {"used": s.store_used, "max": s.store_max, "file": s.store_file},
            "disk": {"free": s.disk_free, "size": s.disk_size},
            "outbox": {"events": s.outbox_events, "bytes": s.outbox_bytes, "dropped": s.events_dropped},
            "probes": s.hops.iter().map(|h| serde_json::json!({
                "address": h.address, "up": h.up, "probed_at": h.probed_at,
            })).collect::<Vec<_>>(),
            "certificates": s.certificates.iter().map(|(name, not_after)| serde_json::json!({
                "name": name, "not_after": not_after,
                "days_left": (*not_after as i64 - v.now as i64).div_euclid(86_400),
            })).collect::<Vec<_>>(),
        })
    });
    let hops: Vec<_> = v
        .hops
        .iter()
        .map(|h| {
            serde_json::json!({
                "address": h.host.to_string(), "state": h.state.name(), "since": h.since,
                "last_error": h.last_error, "next_probe": h.next_probe,
            })
        })
        .collect();
    serde_json::json!({
        "now": v.now,
        "uptime": v.uptime,
        "version": env!("CARGO_PKG_VERSION"),
        "listener": v.listener,
        "messages": counters(&v.messages),
        "incidents": counters(&v.incidents),
        "configuration": {"digest": v.config_digest, "policies_digest": v.policies_digest},
        "definitions": "embedded in this version",
        "next_hops": hops,
        "monitor": monitor,
    })
}

/// `GET /api/v1/certificate`: the file in use and what it says (`error` when unreadable).
fn show_certificate(ui: &Ui, call: &Call) -> Response {
    let app = match ui.app() {
        Ok(a) => a,
        Err(_) => return no_store(),
    };
    let (file, info) = certificate::in_use(app);
    let hostname = app.swap.current().config.server.hostname.to_string();
    let body = match info {
        Ok(i) => serde_json::json!({
            "file": file.display().to_string(),
            "subject": i.subject, "issuer": i.issuer, "names": i.names,
            "not_before": i.not_before, "not_after": i.not_after,
            "days_left": i.days_left(call.now), "self_signed": i.self_signed, "chain": i.chain,
            "covers_hostname": hostname.is_empty() || i.covers(&hostname),
        }),
        Err(e) => serde_json::json!({"file": file.display().to_string(), "error": e}),
    };
    Response::json(StatusCode::OK, &body)
}

/// A certificate to install: the PEM chain (the server's first) and its private key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Pair {
    certificate: String,
    key: String,
    #[serde(default)]
    digest: Option<String>,
}

/// `PUT /api/v1/certificate` `{"certificate", "key"}`: checked, installed, in use at once;
/// the certificate now in use as the answer.
fn put_certificate(ui: &Ui, call: &Call) -> Response {
    let app = match ui.app() {
        Ok(a) => a,
        Err(_) => return no_store(),
    };
    let p: Pair = match call.json() {
        Ok(p) => p,
        Err(r) => return r,
    };
    let digest = digest_of(ui, call, p.digest.as_deref());
    match certificate::put(ui, app, call, (&p.certificate, &p.key), &digest) {
        Ok(()) => show_certificate(ui, call),
        Err((status, e)) => Response::api_error(status, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::Series;

    #[test]
    fn the_dashboards_numbers_as_json() {
        let v = View {
            now: 100_000,
            uptime: 3700,
            range: 0,
            messages: vec![
                ("messages".into(), 4, 12),
                ("messages.relayed".into(), 3, 10),
            ],
            incidents: vec![("incidents.high".into(), 1, 2)],
            traffic: Series {
                name: "messages".into(),
                points: vec![],
            },
            incident_series: Series {
                name: "incidents".into(),
                points: vec![],
            },
            status: Some(crate::metrics::Snapshot {
                queues: vec![
                    crate::metrics::Queue {
                        stage: "deliver",
                        messages: 2,
                        bytes: 10,
                        oldest_age: 5,
                    },
                    crate::metrics::Queue {
                        stage: "deferred",
                        messages: 3,
                        bytes: 30,
                        oldest_age: 700,
                    },
                ],
                store_used: 1000,
                certificates: vec![("tls".into(), 100_000 + 10 * 86_400)],
                ..Default::default()
            }),
            hops: vec![],
            config_digest: "abc".into(),
            policies_digest: "def".into(),
            listener: "127.0.0.1:25".into(),
            switches: None,
        };
        let j = json(&v);
        assert_eq!(j["messages"]["relayed"]["today"], 3);
        assert_eq!(j["messages"]["messages"]["since_start"], 12);
        assert_eq!(j["incidents"]["high"]["since_start"], 2);
        assert_eq!(j["uptime"], 3700);
        assert_eq!(j["monitor"]["queue"]["messages"], 5);
        assert_eq!(j["monitor"]["queue"]["oldest_age"], 700);
        assert_eq!(j["monitor"]["queue"]["stages"]["deferred"]["messages"], 3);
        assert_eq!(j["monitor"]["store"]["used"], 1000);
        assert_eq!(j["monitor"]["certificates"][0]["days_left"], 10);
        assert_eq!(j["configuration"]["digest"], "abc");
    }
}
