//! Settings → certificate: the certificate the SMTP listener (STARTTLS) and this admin port
//! present, and the upload of a new one (PEM chain and key), checked, written to the data dir and
//! applied through the configuration file and the reload path, without a restart.

use std::path::PathBuf;

use hyper::StatusCode;
use maud::{Markup, html};

use super::super::call::Call;
use super::super::response::Response;
use super::super::router::{Access, Def, Input};
use super::super::ui::{App, Ui};
use super::{Nav, csrf_query, flash};
use crate::config::edit::{self, EditError};
use crate::service::{Actor, Permission};
use crate::tls::certificate::{self, Info};

pub(crate) fn routes() -> Vec<Def> {
    vec![
        Def::get(
            "/settings/certificate",
            "settings.certificate",
            Access::Signed(Permission::ViewSettings),
            show,
        ),
        // PEM text can be longer than a form's max_body: read as an upload (CSRF in the query).
        Def::post(
            "/settings/certificate",
            "settings.certificate.upload",
            Access::Signed(Permission::EditSettings),
            upload,
        )
        .reading(Input::Upload),
    ]
}

const FLASH: [(&str, &str); 1] = [(
    "installed",
    "The new certificate is installed: new connections (STARTTLS and this page) use it now.",
)];

/// The certificate file in force: the configured one, else the generated one in the data dir.
fn current_file(app: &App) -> PathBuf {
    match &app.swap.current().config.tls.cert_and_key {
        Some((cert, _)) => cert.clone(),
        None => crate::tls::generated_paths(&app.data_dir).0,
    }
}

fn show(ui: &Ui, call: &Call) -> Response {
    let app = match ui.app() {
        Ok(a) => a,
        Err(r) => return r,
    };
    render(app, call, None, StatusCode::OK)
}

/// The certificate file in force and what it says (or why it cannot be read).
pub(crate) fn in_use(app: &App) -> (PathBuf, Result<Info, String>) {
    let file = current_file(app);
    let info = crate::file::read(&file, crate::file::MAX_PEM)
        .map_err(|e| e.to_string())
        .and_then(|pem| certificate::info(&pem));
    (file, info)
}

fn render(app: &App, call: &Call, error: Option<&str>, status: StatusCode) -> Response {
    let (file, info) = in_use(app);
    let hostname = app.swap.current().config.server.hostname.to_string();
    let can_edit = call
        .principal
        .as_ref()
        .is_some_and(|p| p.can(Permission::EditSettings));
    let digest = edit::read(&app.reloader.edit_target())
        .map(|s| s.digest)
        .unwrap_or_default();
    let body = html! {
        (flash(call, &FLASH))
        @if let Some(e) = error { p class="flash error" role="alert" { (e) } }
        div class="card" {
            h2 { "In use" }
            p class="note" { (file.display()) }
            @match &info {
                Ok(i) => { (describe(i, &hostname, call.now)) }
                Err(e) => { p class="flash error" { "The certificate file cannot be read: " (e) } }
            }
        }
        @if can_edit {
            div class="card" {
                h2 { "Install a certificate" }
                p { "Paste the certificate chain (the server's certificate first, then the \
                     intermediates) and its private key, both PEM. They are checked before \
                     anything changes; the key is kept readable by Sluice only." }
                form method="post" action=(format!("/settings/certificate?{}", csrf_query(call))) {
                    input type="hidden" name="digest" value=(digest);
                    p {
                        label for="certificate" { "Certificate chain (PEM)" }
                        textarea class="code" id="certificate" name="certificate" rows="10"
                            placeholder="-----BEGIN CERTIFICATE-----" {}
                    }
                    p {
                        label for="key" { "Private key (PEM)" }
                        textarea class="code" id="key" name="key" rows="6"
                            placeholder="-----BEGIN PRIVATE KEY-----" autocomplete="off" {}
                    }
                    p { button type="submit" { "Check and install" } }
                }
            }
        }
    };
    let mut r = super::page(call, "TLS certificate", Nav::Settings, body);
    r.status = status;
    r
}

fn describe(i: &Info, hostname: &str, now: u64) -> Markup {
    let days = i.days_left(now);
    html! {
        table class="kv" {
            tr { th { "Subject" } td { (i.subject) } }
            tr { th { "Issuer" } td { (i.issuer) @if i.self_signed { " " (super::badge("sev-medium", "self-signed")) } } }
            tr { th { "Names" } td { (i.names.join(", ")) } }
            tr { th { "Valid" } td { (super::time(i.not_before.max(0) as u64)) " to " (super::time(i.not_after.max(0) as u64)) } }
            tr { th { "Expires in" } td {
                @if days < 0 { (super::badge("sev-critical", "expired")) }
                @else if days < 30 { (super::badge("sev-high", &format!("{days} days"))) }
                @else { (days) " days" }
            } }
            tr { th { "Chain" } td { (i.chain) " certificate(s)" } }
        }
        @if !hostname.is_empty() && !i.covers(hostname) {
            p class="note" { "This certificate does not name this server's host name (" (hostname) ")." }
        }
    }
}

fn upload(ui: &Ui, call: &Call) -> Response {
    let app = match ui.app() {
        Ok(a) => a,
        Err(r) => return r,
    };
    let form = call.form();
    let (cert, key) = (
        form.raw("certificate").unwrap_or(""),
        form.raw("key").unwrap_or(""),
    );
    match put(ui, app, call, (cert, key), form.get("digest").unwrap_or("")) {
        Ok(()) => Response::redirect("/settings/certificate?ok=installed"),
        Err((status, e)) => render(app, call, Some(&e), status),
    }
}

/// Checks the PEM chain and key (they belong together, the chain is valid now) and installs them
/// ([`install`]); else the status and why not. The page's and the API's one way.
pub(crate) fn put(
    ui: &Ui,
    app: &App,
    call: &Call,
    pair: (&str, &str),
    digest: &str,
) -> Result<(), (StatusCode, String)> {
    certificate::check_pair(pair.0.as_bytes(), pair.1.as_bytes(), call.now)
        .map_err(|e| (StatusCode::UNPROCESSABLE_ENTITY, e))?;
    install(ui, app, call, pair, digest).map_err(|e| (StatusCode::CONFLICT, e))
}

/// Writes the pair to `<data_dir>/tls/uploaded-<time>.{crt,key}` and points `[tls]` at it.
fn install(
    ui: &Ui,
    app: &App,
    call: &Call,
    pair: (&str, &str),
    digest: &str,
) -> Result<(), String> {
    let (cert, key) = pair;
    let before = app.swap.current().config.tls.cert_and_key.clone();
    let dir = app.data_dir.join("tls");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let cert_path = dir.join(format!("uploaded-{}.crt", call.now));
    let key_path = dir.join(format!("uploaded-{}.key", call.now));
    crate::file::write_secret(&key_path, key.as_bytes())
        .map_err(|e| format!("{}: {e}", key_path.display()))?;
    crate::file::write_secret(&cert_path, cert.as_bytes())
        .map_err(|e| format!("{}: {e}", cert_path.display()))?;
    let actor = Actor::new(call.actor()).map_err(|e| e.to_string())?;
    let paths = [
        ("tls.cert_file", cert_path.display().to_string()),
        ("tls.key_file", key_path.display().to_string()),
    ];
    let applied = edit::apply(
        &app.reloader.edit_target(),
        digest,
        |doc| doc.set_all(paths.iter().map(|(k, v)| (*k, v.as_str().into()))),
        &actor,
        call.now,
        || app.reloader.reload(call.actor()),
    );
    match applied {
        Ok(_) => {
            if let Ok(service) = ui.service() {
                super::super::auth::changed(
                    &service,
                    call,
                    "settings.certificate",
                    "tls",
                    before.map(|(c, _)| c.display().to_string()),
                    Some(cert_path.display().to_string()),
                );
            }
            tracing::info!(user = call.actor(), cert = %cert_path.display(), "TLS certificate installed");
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_file(&cert_path);
            let _ = std::fs::remove_file(&key_path);
            Err(match e {
                EditError::Conflict => e.to_string(),
                other => format!("Nothing was changed: {other}"),
            })
        }
    }
}
