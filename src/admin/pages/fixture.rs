//! What the incidents, quarantine and API tests share: a service over a real in-memory store
//! filled with held messages and incidents (hostile values included), calls signed in with a
//! role, and the body of a response.

use std::sync::Arc;

use hyper::Method;

use crate::admin::call::{Call, Principal, Via};
use crate::admin::response::{Body, Response};
use crate::clock::Clock;
use crate::config::Config;
use crate::service::{Role, Service};
use crate::store::{Store, held, incidents};

pub(crate) const NOW: u64 = 1_700_000_000;
pub(crate) const CSRF: &str = "csrf-token";

/// The hostile values every page must render inert.
pub(crate) const SCRIPT: &str = "<script>alert(1)</script>";
pub(crate) const IMG: &str = "\"><img src=x onerror=alert(1)>";

/// A message with a text part (HTML with a remote image and a script) and an attachment whose
/// name is hostile.
pub(crate) fn message(subject: &str) -> Vec<u8> {
    format!(
        "From: <alice@corp.example>\r\nTo: <bob@partner.example>\r\nSubject: {subject}\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
Content-Type: text/html\r\n\r\n<p>Quarterly <b>figures</b><img src=\"https://tracker.example/x.png\"></p>\
<script>alert(2)</script>\r\n--b\r\nContent-Type: application/octet-stream; name=\"f.txt\"\r\n\
Content-Disposition: attachment; filename*=utf-8''%3Cscript%3Ealert%281%29%3C%2Fscript%3E%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.txt\r\n\r\nnotes\r\n--b--\r\n"
    )
    .into_bytes()
}

/// A service over a fresh in-memory store at [`NOW`].
pub(crate) fn service() -> (Service, Store) {
    let store = Store::memory().expect("memory store");
    let config = Config::embedded().expect("embedded defaults");
    (
        Service::new(store.clone(), Arc::new(config), Clock::fixed(NOW)),
        store,
    )
}

/// What a held message and its incident look like.
pub(crate) struct Mail<'a> {
    pub n: u64,
    pub sender: &'a str,
    pub subject: &'a str,
    pub policy: &'a str,
    pub held: bool,
}

impl Default for Mail<'_> {
    fn default() -> Self {
        Mail {
            n: 0,
            sender: "alice@corp.example",
            subject: "Q3 numbers",
            policy: "PCI",
            held: true,
        }
    }
}

/// Stores `m`: an incident, with its held message (and content) when `m.held`. Returns the
/// (incident id, held id).
pub(crate) fn add(store: &Store, m: Mail<'_>) -> (u64, Option<u64>) {
    let mut h = crate::store::tests::held(m.sender, &["bob@partner.example"], NOW - 1000 + m.n);
    h.subject = m.subject.to_string();
    h.policies[0].name = m.policy.to_string();
    h.findings = vec![format!(
        "policy 100 rule \"cards\": Credit card number x2 in body (4111 **** **** 1111)"
    )];
    let mut i = crate::store::tests::incident(100, &["bob@partner.example"], NOW - 1000 + m.n);
    i.sender = m.sender.to_string();
    i.subject = m.subject.to_string();
    i.policy.name = m.policy.to_string();
    i.policy.severity = crate::policy::Severity::High;
    i.findings = h.findings.clone();
    let content = message(m.subject);
    let keep = m.held;
    store
        .write_blocking(move |txn| {
            if !keep {
                i.action = "blocked".into();
                return Ok((incidents::record(txn, i, None, 0)?.id().0, None));
            }
            let (id, _) = held::insert(txn, h, &content, crate::testing::caps())?;
            i.held = Some(id);
            let inc = incidents::record(txn, i, None, 0)?.id();
            let old = held::must_get(txn, id)?;
            let mut new = old.clone();
            new.incidents = vec![inc];
            held::update(txn, &old, &new)?;
            Ok((inc.0, Some(id.0)))
        })
        .expect("stored")
}

/// A request by a user with `role` (a browser session whose CSRF token is [`CSRF`]).
pub(crate) fn call(role: Role, method: Method, path: &str, body: &str) -> Call {
    let mut c = Call::new(method, path, "127.0.0.1".parse().unwrap(), NOW);
    c.body = body.as_bytes().to_vec();
    c.principal = Some(Principal {
        user: "ann".into(),
        role,
        via: Via::Session {
            id: "sid".into(),
            csrf: CSRF.into(),
        },
    });
    c
}

/// The same with the route's path parameter `id`.
pub(crate) fn with_id(mut c: Call, id: u64) -> Call {
    c.params = vec![("id".into(), id.to_string())];
    c
}

/// A response's body as text.
pub(crate) fn text(r: &Response) -> String {
    match &r.body {
        Body::Html(s) | Body::Json(s) | Body::Metrics(s) => s.clone(),
        Body::Text(s) => s.to_string(),
        Body::Bytes { bytes, .. } => String::from_utf8_lossy(bytes).into_owned(),
        Body::Empty => String::new(),
    }
}

/// The `Location` of a redirect.
pub(crate) fn location(r: &Response) -> Option<&str> {
    header(r, hyper::header::LOCATION.as_str())
}

/// A response header's value.
pub(crate) fn header<'r>(r: &'r Response, name: &str) -> Option<&'r str> {
    r.headers
        .iter()
        .find(|(n, _)| n.as_str() == name)
        .map(|(_, v)| v.as_str())
}

/// Asserts that nothing hostile survived as markup, and that the text is there escaped.
pub(crate) fn assert_inert(page: &str) {
    assert!(
        !page.contains("<script>alert"),
        "a script got through:\n{page}"
    );
    assert!(!page.contains("<img src=x"), "an img got through:\n{page}");
    assert!(
        !page.contains("tracker.example/x.png\">"),
        "remote content:\n{page}"
    );
    // The only script is our own file.
    assert_eq!(page.matches("<script").count(), 1, "{page}");
}
