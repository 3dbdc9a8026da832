//! Route table, approval pages and responses against a fake desk: GET never acts, POST acts once,
//! replays and stale or forged links get clear pages, every response carries the security headers.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use hyper::{Method, StatusCode};

use super::response::{Body, Response, SECURITY_HEADERS};
use super::router::{Lookup, Router};
use super::ui::Ui;
use super::*;
use crate::approval::ApprovalDesk;
use crate::approval::{ApprovalState, ApprovalSummary, Decided, DeskError, MessageTag};
use crate::link::token::Key;
use crate::link::token::{self, Claims, Decision};

const NOW: u64 = 1_700_000_000;
/// The GUID of every held message the fake desk knows.
const GUID: &str = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";
const EXPIRES: u64 = NOW + 2 * 86_400;

/// A desk over a map; counts calls; can be told the store is down.
#[derive(Default)]
struct FakeDesk {
    approvals: Mutex<HashMap<u64, ApprovalSummary>>,
    summaries: AtomicUsize,
    decisions: AtomicUsize,
    /// The comment of every decide call, as the form gave it.
    comments: Mutex<Vec<String>>,
    down: bool,
}

impl ApprovalDesk for FakeDesk {
    fn summary(&self, approval: u64, message: &MessageTag) -> Result<ApprovalSummary, DeskError> {
        self.summaries.fetch_add(1, Ordering::SeqCst);
        if self.down {
            return Err(DeskError::Unavailable("disk on fire".into()));
        }
        if *message != token::message_tag(GUID) {
            return Err(DeskError::NotFound);
        }
        let map = self.approvals.lock().unwrap();
        map.get(&approval).cloned().ok_or(DeskError::NotFound)
    }

    fn decide(
        &self,
        approval: u64,
        message: &MessageTag,
        approver: u32,
        decision: Decision,
        comment: &str,
        now: u64,
    ) -> Result<Decided, DeskError> {
        self.decisions.fetch_add(1, Ordering::SeqCst);
        self.comments.lock().unwrap().push(comment.to_string());
        if self.down {
            return Err(DeskError::Unavailable("disk on fire".into()));
        }
        if *message != token::message_tag(GUID) {
            return Err(DeskError::NotFound);
        }
        let mut map = self.approvals.lock().unwrap();
        let s = map.get_mut(&approval).ok_or(DeskError::NotFound)?;
        match &s.state {
            ApprovalState::Pending if now >= s.expires => {
                s.state = ApprovalState::Expired { at: s.expires };
                Ok(Decided::Expired)
            }
            ApprovalState::Pending => {
                let by = format!("approver{approver}@corp.example");
                s.state = match decision {
                    Decision::Approve => ApprovalState::Approved { by, at: now },
                    Decision::Reject => ApprovalState::Rejected { by, at: now },
                };
                Ok(Decided::Done(s.state.clone()))
            }
            ApprovalState::Expired { .. } => Ok(Decided::Expired),
            other => Ok(Decided::AlreadyDecided(other.clone())),
        }
    }
}

fn summary() -> ApprovalSummary {
    ApprovalSummary {
        sender: "alice@corp.example".into(),
        recipients: vec!["bob@partner.example".into(), "carol@partner.example".into()],
        subject: "Q3 numbers <script>alert(1)</script>".into(),
        size: 52_000,
        received: NOW - 3600,
        policies: vec!["Card numbers leaving the company".into()],
        findings: vec!["CREDIT_CARD: 4111 **** **** 1111".into()],
        expires: EXPIRES,
        state: ApprovalState::Pending,
        preview: None,
    }
}

struct Fixture {
    desk: Arc<FakeDesk>,
    handlers: Ui,
}

fn fixture(down: bool) -> Fixture {
    let desk = Arc::new(FakeDesk {
        down,
        ..FakeDesk::default()
    });
    desk.approvals.lock().unwrap().insert(42, summary());
    Fixture {
        desk: desk.clone(),
        handlers: Ui {
            desk,
            key: Key::from_bytes([7; 32]),
            metrics_access: metrics::Access::new(loopback(), None),
            health: None,
            allowed: loopback(),
            router: Router::new(routes::all()).unwrap(),
            app: None,
            auth: auth::Auth::new(
                &crate::config::Config::embedded().unwrap().admin.auth,
                auth::Setup::none(),
            ),
        },
    }
}

impl Fixture {
    fn token(&self, approval: u64, decision: Decision) -> String {
        token::sign(
            &self.handlers.key,
            &Claims {
                approval,
                approver: 3,
                decision,
                expires: EXPIRES,
                message: token::message_tag(GUID),
            },
        )
    }

    fn get(&self, path: &str, now: u64) -> Response {
        self.call(Method::GET, path, b"", "127.0.0.1", None, now)
    }

    fn post(&self, path: &str, body: &str, now: u64) -> Response {
        self.call(Method::POST, path, body.as_bytes(), "127.0.0.1", None, now)
    }

    /// Routes and dispatches one request as the server does.
    fn call(
        &self,
        method: Method,
        path: &str,
        body: &[u8],
        peer: &str,
        authorization: Option<&str>,
        now: u64,
    ) -> Response {
        let def = match self.handlers.router.find(&method, path) {
            Lookup::Route(d, p) => (d.clone(), p),
            Lookup::NotFound => return not_found(),
            Lookup::MethodNotAllowed(a) => return method_not_allowed(a),
        };
        let mut call = Call::new(method, path, peer.parse().unwrap(), now);
        call.params = def.1;
        call.body = body.to_vec();
        if let Some(a) = authorization {
            call.headers
                .insert(hyper::header::AUTHORIZATION, a.parse().unwrap());
        }
        self.handlers.dispatch(&def.0, call)
    }

    fn decisions(&self) -> usize {
        self.desk.decisions.load(Ordering::SeqCst)
    }

    fn summaries(&self) -> usize {
        self.desk.summaries.load(Ordering::SeqCst)
    }
}

fn html(r: &Response) -> &str {
    match &r.body {
        Body::Html(s) | Body::Metrics(s) | Body::Json(s) => s,
        Body::Text(s) => s,
        Body::Bytes { bytes, .. } => std::str::from_utf8(bytes).unwrap(),
        Body::Empty => "",
    }
}

/// The name of the route `method path` finds, or "404" / "405 ALLOW".
fn route_of(method: Method, path: &str) -> String {
    let router = Router::new(routes::all()).unwrap();
    match router.find(&method, path) {
        Lookup::Route(d, p) => match p.first() {
            Some((_, v)) => format!("{} {v}", d.name),
            None => d.name.to_string(),
        },
        Lookup::NotFound => "404".into(),
        Lookup::MethodNotAllowed(a) => format!("405 {a}"),
    }
}

fn allow_of(r: &Response) -> Option<&str> {
    r.headers
        .iter()
        .find(|(n, _)| n == hyper::header::ALLOW)
        .map(|(_, v)| v.as_str())
}

#[test]
fn monitoring_and_approval_routes() {
    assert_eq!(route_of(Method::GET, "/healthz"), "healthz");
    assert_eq!(route_of(Method::POST, "/healthz"), "405 GET, HEAD");
    assert_eq!(route_of(Method::GET, "/approval/abc"), "approval.show abc");
    assert_eq!(route_of(Method::POST, "/approval/abc"), "approval.act abc");
    assert_eq!(
        route_of(Method::DELETE, "/approval/abc"),
        "405 GET, POST, HEAD"
    );
    for path in [
        "/approval",
        "/approval/",
        "/approval/a/b",
        "/healthz/",
        "/x",
    ] {
        assert_eq!(route_of(Method::GET, path), "404", "{path}");
    }
}

#[test]
fn health_not_found_and_method_not_allowed() {
    let f = fixture(false);
    let r = f.get("/healthz", NOW);
    assert_eq!((r.status, &r.body), (StatusCode::OK, &Body::Text("ok")));
    assert_eq!(f.get("/nope", NOW).status, StatusCode::NOT_FOUND);
    let r = f.post("/healthz", "", NOW);
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(allow_of(&r), Some("GET, HEAD"));
}

#[test]
fn head_goes_where_get_goes() {
    // Load balancers probe with HEAD; every GET route answers it (hyper drops the body).
    assert_eq!(route_of(Method::HEAD, "/healthz"), "healthz");
    assert_eq!(route_of(Method::HEAD, "/approval/abc"), "approval.show abc");
    assert_eq!(route_of(Method::HEAD, "/nope"), "404");
}

#[test]
fn get_shows_the_summary_and_never_decides() {
    let f = fixture(false);
    let t = f.token(42, Decision::Approve);
    let r = f.get(&format!("/approval/{t}"), NOW);
    assert_eq!(r.status, StatusCode::OK);
    let page = html(&r);
    for needle in [
        "alice@corp.example",
        "bob@partner.example",
        "carol@partner.example",
        "Q3 numbers &lt;script&gt;alert(1)&lt;/script&gt;",
        "50.8 KiB",
        "2023-11-14 21:13 UTC",
        "2023-11-16 22:13 UTC",
        "Card numbers leaving the company",
        "CREDIT_CARD: 4111 **** **** 1111",
        "name=\"decision\" value=\"approve\"",
        "Approve and deliver",
        "(in 2 days)",
    ] {
        assert!(page.contains(needle), "missing {needle:?} in\n{page}");
    }
    assert!(page.contains(&format!("action=\"/approval/{t}\"")));
    assert!(!page.contains("<script>"));
    // Fetching it again (a mail scanner, a preview) changes nothing either.
    f.get(&format!("/approval/{t}"), NOW);
    assert_eq!(f.decisions(), 0);
    assert_eq!(
        f.desk.approvals.lock().unwrap()[&42].state,
        ApprovalState::Pending
    );
}

#[test]
fn post_decides_once_and_a_replay_shows_already_decided() {
    let f = fixture(false);
    let path = format!("/approval/{}", f.token(42, Decision::Approve));
    let r = f.post(&path, "decision=approve", NOW + 60);
    assert_eq!(r.status, StatusCode::OK);
    assert!(html(&r).contains("Approved by <strong>approver3@corp.example</strong>"));
    assert_eq!(f.decisions(), 1);
    let again = f.post(&path, "decision=approve", NOW + 120);
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(html(&again).contains("Already decided"), "{}", html(&again));
    assert!(html(&again).contains("2023-11-14 22:14 UTC"));
    // The state is the first decision's.
    assert_eq!(
        f.desk.approvals.lock().unwrap()[&42].state,
        ApprovalState::Approved {
            by: "approver3@corp.example".into(),
            at: NOW + 60
        }
    );
    // The page behind the link now says so too, with no form.
    let shown = f.get(&path, NOW + 180);
    assert_eq!(shown.status, StatusCode::OK);
    assert!(html(&shown).contains("Already decided"));
    assert!(!html(&shown).contains("<form"));
}

#[test]
fn a_reject_link_rejects() {
    let f = fixture(false);
    let path = format!("/approval/{}", f.token(42, Decision::Reject));
    assert!(html(&f.get(&path, NOW)).contains("Reject and delete"));
    let r = f.post(&path, "decision=reject", NOW);
    assert_eq!(r.status, StatusCode::OK);
    assert!(html(&r).contains("rejected by a moderator"));
}

#[test]
fn the_form_must_repeat_the_links_decision() {
    let f = fixture(false);
    let path = format!("/approval/{}", f.token(42, Decision::Reject));
    for body in [
        "decision=approve",
        "",
        "decision=",
        "decision=REJECT",
        "x=reject",
    ] {
        let r = f.post(&path, body, NOW);
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body:?}");
        assert!(html(&r).contains("Nothing was changed"));
    }
    assert_eq!(f.decisions(), 0);
}

#[test]
fn forged_and_malformed_links_get_the_same_page_and_touch_nothing() {
    let f = fixture(false);
    let good = f.token(42, Decision::Approve);
    let forged = token::sign(
        &Key::from_bytes([8; 32]),
        &Claims {
            approval: 42,
            approver: 3,
            decision: Decision::Approve,
            expires: EXPIRES,
            message: token::message_tag(GUID),
        },
    );
    let mut flipped = good.clone().into_bytes();
    flipped[40] = if flipped[40] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let responses: Vec<Response> = [forged.as_str(), "garbage", &good[..10], &flipped]
        .iter()
        .flat_map(|t| {
            let path = format!("/approval/{t}");
            [f.get(&path, NOW), f.post(&path, "decision=approve", NOW)]
        })
        .collect();
    for r in &responses {
        assert_eq!(r, &responses[0]);
    }
    assert_eq!(responses[0].status, StatusCode::BAD_REQUEST);
    assert!(html(&responses[0]).contains("This link is not valid"));
    assert_eq!((f.summaries(), f.decisions()), (0, 0));
}

#[test]
fn expired_links_and_lapsed_approvals_say_expired() {
    let f = fixture(false);
    let path = format!("/approval/{}", f.token(42, Decision::Approve));
    for r in [
        f.get(&path, EXPIRES),
        f.post(&path, "decision=approve", EXPIRES + 1),
    ] {
        assert_eq!(r.status, StatusCode::GONE);
        assert!(html(&r).contains("This link has expired"));
    }
    assert_eq!((f.summaries(), f.decisions()), (0, 0));

    // The token is still valid but the desk has the approval lapsed.
    let f = fixture(false);
    f.desk.approvals.lock().unwrap().get_mut(&42).unwrap().state =
        ApprovalState::Expired { at: NOW - 1 };
    let path = format!("/approval/{}", f.token(42, Decision::Approve));
    assert_eq!(f.get(&path, NOW).status, StatusCode::GONE);
    let r = f.post(&path, "decision=approve", NOW);
    assert_eq!(r.status, StatusCode::GONE);
    assert!(html(&r).contains("This link has expired"));
}

#[test]
fn unknown_approvals_and_a_down_store() {
    let f = fixture(false);
    let path = format!("/approval/{}", f.token(7, Decision::Approve));
    assert_eq!(f.get(&path, NOW).status, StatusCode::NOT_FOUND);
    assert_eq!(
        f.post(&path, "decision=approve", NOW).status,
        StatusCode::NOT_FOUND
    );

    let f = fixture(true);
    let path = format!("/approval/{}", f.token(42, Decision::Approve));
    for r in [f.get(&path, NOW), f.post(&path, "decision=approve", NOW)] {
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(html(&r).contains("Temporarily unavailable"));
        assert!(!html(&r).contains("disk on fire"), "internal detail leaked");
    }
}

#[test]
fn every_response_carries_the_security_headers() {
    let f = fixture(false);
    let t = f.token(42, Decision::Approve);
    for r in [
        f.get("/healthz", NOW),
        f.get(&format!("/approval/{t}"), NOW),
        f.post("/healthz", "", NOW),
        timed_out(),
        too_large(),
    ] {
        let status = r.status;
        let raw = String::from_utf8(r.to_http1_bytes()).unwrap();
        let h = r.into_hyper();
        assert_eq!(h.status(), status);
        for (name, value) in SECURITY_HEADERS {
            assert_eq!(h.headers()[name], value, "{name} on {status}");
            assert!(raw.contains(&format!("{name}: {value}\r\n")));
        }
        assert!(
            h.headers()["content-type"]
                .to_str()
                .unwrap()
                .contains("charset=utf-8")
        );
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with(&format!("HTTP/1.1 {}", status.as_u16())));
        assert!(head.contains(&format!("content-length: {}\r\n", body.len())));
        assert!(head.contains("connection: close"));
    }
    let csp = SECURITY_HEADERS[0].1;
    assert!(csp.contains("script-src 'self';") && csp.contains("style-src 'self';"));
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
}

#[test]
fn times_sizes_and_durations_read_well() {
    assert_eq!(page::utc(0), "1970-01-01 00:00 UTC");
    assert_eq!(page::utc(951_782_400), "2000-02-29 00:00 UTC");
    assert_eq!(page::utc(1_700_000_000), "2023-11-14 22:13 UTC");
    assert_eq!(page::utc(4_102_444_799), "2099-12-31 23:59 UTC");
    assert_eq!(page::size(512), "512 bytes");
    assert_eq!(page::size(52_000), "50.8 KiB");
    assert_eq!(page::size(5 << 20), "5.0 MiB");
    assert_eq!(page::duration(2 * 86_400), "2 days");
    assert_eq!(page::duration(86_400 + 3600 + 60), "1 day 1 hour");
    assert_eq!(page::duration(3 * 3600 + 5 * 60), "3 hours 5 minutes");
    assert_eq!(page::duration(30), "less than a minute");
}

#[test]
fn bidirectional_controls_from_a_message_are_shown_visibly() {
    use crate::approval::preview::{Attachment, Preview};
    let mut s = summary();
    s.subject = "invoice\u{202E}fdp.exe".into();
    s.sender = "\u{2067}alice@corp.example".into();
    s.preview = Some(Preview {
        text: "see \u{202D}attached".into(),
        truncated: false,
        attachments: vec![Attachment {
            name: "invoice\u{202E}fdp.exe".into(),
            true_type: "exe",
            size: 10,
        }],
        more_attachments: 0,
    });
    let page = page::approval_form(&s, Decision::Approve, "/approval/t", NOW);
    assert!(page.contains("<td>invoice[U+202E]fdp.exe</td>"), "{page}");
    assert!(page.contains("[U+2067]alice@corp.example"), "{page}");
    assert!(page.contains("see [U+202D]attached"), "{page}");
    assert!(
        !page.contains(|c| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')),
        "{page}"
    );
    assert_eq!(
        page::shown("plain, with Arabic \u{0627} and a mark \u{200F}"),
        "plain, with Arabic \u{0627} and a mark \u{200F}"
    );
}

#[test]
fn every_page_shows_bidirectional_controls_visibly_but_keeps_them_in_form_values() {
    // The layout neutralises them whichever page put them in its text (a subject in tracking,
    // an attachment name in the quarantine preview, a policy name); what a form submits back (a
    // field's value, a textarea's text) keeps them as they are.
    let body = maud::html! {
        p { "invoice\u{202E}fdp.exe" }
        pre { "\u{2067}alice@corp.example" }
        input name="subject" value="a\u{202E}b";
        textarea name="text" { "policy \u{202D}name" }
        p { "after \u{2069}the textarea" }
    };
    let page = pages::document(None, "Held \u{202E}fdp", pages::Nav::None, body);
    assert!(page.contains("<p>invoice[U+202E]fdp.exe</p>"), "{page}");
    assert!(
        page.contains("<pre>[U+2067]alice@corp.example</pre>"),
        "{page}"
    );
    assert!(page.contains("<h1>Held [U+202E]fdp</h1>"), "{page}");
    assert!(page.contains("<p>after [U+2069]the textarea</p>"), "{page}");
    assert!(page.contains("value=\"a\u{202E}b\""), "{page}");
    assert!(page.contains(">policy \u{202D}name</textarea>"), "{page}");
    assert_eq!(
        page::shown_markup("<p>plain \u{0627}</p>"),
        "<p>plain \u{0627}</p>"
    );
}

/// A summary with a preview whose body and attachment name carry markup.
fn with_preview(f: &Fixture) {
    use crate::approval::preview::{Attachment, Preview};
    let mut map = f.desk.approvals.lock().unwrap();
    let s = map.get_mut(&42).unwrap();
    s.preview = Some(Preview {
        text: "Hi Bob,\n<script>alert('body')</script> see <b>attached</b>".into(),
        truncated: true,
        attachments: vec![
            Attachment {
                name: "<script>alert('name')</script>.pdf".into(),
                true_type: "exe",
                size: 2048,
            },
            Attachment {
                name: String::new(),
                true_type: "zip",
                size: 10,
            },
        ],
        more_attachments: 0,
    });
}

#[test]
fn the_page_shows_an_escaped_body_preview_and_the_attachment_list() {
    let f = fixture(false);
    with_preview(&f);
    let t = f.token(42, Decision::Approve);
    let r = f.get(&format!("/approval/{t}"), NOW);
    let page = html(&r);
    for needle in [
        "Message text",
        "Hi Bob,\n&lt;script&gt;alert('body')&lt;/script&gt; see &lt;b&gt;attached&lt;/b&gt;",
        "Only the beginning is shown.",
        "Attachments",
        "&lt;script&gt;alert('name')&lt;/script&gt;.pdf",
        "<td>exe</td>",
        "2.0 KiB",
        "(no name)",
        "<textarea id=\"comment\" name=\"comment\"",
    ] {
        assert!(page.contains(needle), "missing {needle:?} in\n{page}");
    }
    assert!(!page.contains("<script>"), "{page}");
    assert!(!page.contains("<b>attached"), "{page}");
    // Names are text, never links.
    assert!(!page.contains("<a "), "{page}");
}

#[test]
fn without_a_preview_the_page_shows_metadata_only() {
    let f = fixture(false);
    let t = f.token(42, Decision::Approve);
    let r = f.get(&format!("/approval/{t}"), NOW);
    let page = html(&r);
    assert!(!page.contains("Message text"), "{page}");
    assert!(!page.contains("Attachments"), "{page}");
    assert!(page.contains("CREDIT_CARD: 4111 **** **** 1111"));
}

#[test]
fn the_comment_goes_to_the_desk_only_with_the_links_decision() {
    let f = fixture(false);
    let path = format!("/approval/{}", f.token(42, Decision::Approve));
    // A form that does not repeat the signed link's decision carries no comment anywhere.
    let r = f.post(&path, "decision=reject&comment=sneaky", NOW);
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // A forged token neither.
    let forged = format!("{path}x");
    f.post(&forged, "decision=approve&comment=forged", NOW);
    assert!(f.desk.comments.lock().unwrap().is_empty());
    let r = f.post(
        &path,
        "decision=approve&comment=%3Cscript%3Ealert(1)%3C%2Fscript%3E+ok",
        NOW,
    );
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        *f.desk.comments.lock().unwrap(),
        ["<script>alert(1)</script> ok"]
    );
    assert!(!html(&r).contains("<script>"));
}

// ---- /metrics, /readyz ----

fn loopback() -> Vec<ipnet::IpNet> {
    vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()]
}

const TOKEN: &str = "s3cret-token-0123456789";

#[test]
fn metrics_are_open_to_the_allow_list_and_the_bearer_token_only() {
    use std::net::IpAddr;
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let open = metrics::Access::new(loopback(), None);
    assert!(open.allows(ip("127.0.0.1"), None));
    assert!(open.allows(ip("::1"), None));
    assert!(
        open.allows(ip("::ffff:127.0.0.1"), None),
        "IPv4 on a dual-stack listener"
    );
    assert!(!open.allows(ip("192.0.2.7"), None));
    assert!(
        !open.allows(ip("192.0.2.7"), Some(format!("Bearer {TOKEN}").as_bytes())),
        "no token configured: a token opens nothing"
    );
    let token_only = metrics::Access::new(Vec::new(), Some(TOKEN));
    assert!(!token_only.allows(ip("127.0.0.1"), None));
    assert!(token_only.allows(ip("127.0.0.1"), Some(format!("Bearer {TOKEN}").as_bytes())));
    assert!(token_only.allows(
        ip("192.0.2.7"),
        Some(format!("bearer  {TOKEN} ").as_bytes())
    ));
    for wrong in [
        format!("Bearer {TOKEN}x"),
        format!("Bearer {}", &TOKEN[..10]),
        format!("Basic {TOKEN}"),
        "Bearer ".to_string(),
        TOKEN.to_string(),
    ] {
        assert!(
            !token_only.allows(ip("192.0.2.7"), Some(wrong.as_bytes())),
            "{wrong:?}"
        );
    }
}

#[test]
fn a_refused_metrics_request_gets_the_same_403_whatever_the_reason() {
    let f = fixture(false);
    let outside = "192.0.2.7";
    for auth in [None, Some("Bearer nope-nope-nope-nope")] {
        let r = f.call(Method::GET, "/metrics", b"", outside, auth, NOW);
        assert_eq!(
            (r.status, r.body),
            (StatusCode::FORBIDDEN, Body::Text("forbidden"))
        );
    }
    // Other routes are not affected by the metrics rule.
    let r = f.call(Method::GET, "/readyz", b"", outside, None, NOW);
    assert_eq!(r.status, StatusCode::OK);
    let r = f.call(Method::GET, "/metrics", b"", "127.0.0.1", None, NOW);
    assert_eq!(r.status, StatusCode::OK);
    let Body::Metrics(text) = &r.body else {
        panic!("{:?}", r.body)
    };
    assert!(text.contains("# TYPE sluice_build_info gauge"), "{text}");
    let h = r.clone().into_hyper();
    assert_eq!(
        h.headers().get("content-type").unwrap(),
        "text/plain; version=0.0.4; charset=utf-8"
    );
}

#[test]
fn readyz_says_why_it_is_not_ready() {
    let mut f = fixture(false);
    let r = f.get("/readyz", NOW);
    assert_eq!((r.status, r.body), (StatusCode::OK, Body::Text("ready")));
    let shutdown = Arc::new(crate::shutdown::Shutdown::new());
    f.handlers.health = Some(Arc::new(crate::monitor::Health::new(
        shutdown.clone(),
        Some(crate::store::Store::memory().unwrap()),
        std::env::temp_dir(),
        Arc::new(crate::clock::Clock::fixed(NOW)),
    )));
    assert_eq!(f.get("/readyz", NOW).status, StatusCode::OK);
    shutdown.drain();
    let r = f.get("/readyz", NOW);
    assert_eq!(
        (r.status, r.body),
        (StatusCode::SERVICE_UNAVAILABLE, Body::Text("draining"))
    );
    assert_eq!(route_of(Method::POST, "/metrics"), "405 GET, HEAD");
    assert_eq!(route_of(Method::HEAD, "/readyz"), "readyz");
}

// ---- the gate of the admin UI ----

#[test]
fn the_ui_is_for_allowed_clients_and_signed_in_users_only() {
    let f = fixture(false);
    let outside = f.call(Method::GET, "/", b"", "192.0.2.7", None, NOW);
    assert_eq!(outside.status, StatusCode::FORBIDDEN);
    let r = f.call(Method::GET, "/", b"", "127.0.0.1", None, NOW);
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let location = r.headers.iter().find(|(n, _)| n == hyper::header::LOCATION);
    assert_eq!(location.map(|(_, v)| v.as_str()), Some("/login?next=%2F"));
    let api = f.call(Method::GET, "/api/v1/whoami", b"", "::1", None, NOW);
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
    assert!(html(&api).contains(r#""status":401"#));
    let api = f.call(Method::GET, "/api/v1/whoami", b"", "192.0.2.7", None, NOW);
    assert_eq!(api.status, StatusCode::FORBIDDEN);
    assert!(html(&api).starts_with(r#"{"error":"#));
    // The approval links stay open to approvers anywhere.
    let t = f.token(42, Decision::Approve);
    let r = f.call(
        Method::GET,
        &format!("/approval/{t}"),
        b"",
        "192.0.2.7",
        None,
        NOW,
    );
    assert_eq!(r.status, StatusCode::OK);
}

#[test]
fn assets_and_the_api_document_are_served_from_the_binary() {
    let f = fixture(false);
    let css = f.get("/assets/app.css", NOW);
    assert_eq!(css.status, StatusCode::OK);
    assert!(
        css.clone().into_hyper().headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert!(html(&css).contains(".flash"));
    assert_eq!(f.get("/assets/nope.js", NOW).status, StatusCode::NOT_FOUND);
    let doc = f.get("/api/v1/openapi.json", NOW);
    assert_eq!(doc.status, StatusCode::OK);
    assert!(html(&doc).contains("\"openapi\": \"3.1.0\""));
}

#[test]
fn incidents_and_quarantine_are_behind_the_gate() {
    let f = fixture(false);
    for path in [
        "/incidents",
        "/incidents/1",
        "/quarantine",
        "/quarantine/1/raw",
    ] {
        let r = f.get(path, NOW);
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(
            r.headers
                .iter()
                .find(|(n, _)| n == hyper::header::LOCATION)
                .map(|(_, v)| v.clone()),
            Some(format!("/login?next={}", super::form::encode(path))),
        );
    }
    for (method, path) in [
        (Method::GET, "/api/v1/incidents"),
        (Method::POST, "/api/v1/incidents/actions"),
        (Method::POST, "/api/v1/quarantine/7/actions"),
        (Method::GET, "/api/v1/quarantine/7/raw"),
    ] {
        let r = f.call(method, path, b"{}", "127.0.0.1", None, NOW);
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let outside = f.call(
        Method::POST,
        "/incidents/bulk",
        b"op=resolve",
        "192.0.2.7",
        None,
        NOW,
    );
    assert_eq!(outside.status, StatusCode::FORBIDDEN);
    // A GET never reaches a changing handler.
    assert_eq!(route_of(Method::GET, "/incidents/bulk"), "405 POST");
    assert_eq!(route_of(Method::GET, "/quarantine/3/act"), "405 POST");
    assert_eq!(
        route_of(Method::GET, "/api/v1/incidents/actions"),
        "405 POST"
    );
}
