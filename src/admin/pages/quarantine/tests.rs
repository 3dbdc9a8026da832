//! The quarantine pages over a real in-memory store: search, the safe preview, actions, the raw
//! download, the routes' permissions, and hostile values rendered inert.

use hyper::{Method, StatusCode};

use super::super::fixture::*;
use super::{detail, list};
use crate::admin::response::Body;
use crate::admin::router::{Access, Def};
use crate::service::{HeldId, Permission, Role};
use crate::store::records::HeldStatus;

#[test]
fn the_listing_searches_by_recipient_sender_subject_and_status() {
    let (s, store) = service();
    add(
        &store,
        Mail {
            n: 1,
            subject: "alpha",
            ..Mail::default()
        },
    );
    add(
        &store,
        Mail {
            n: 2,
            subject: "beta",
            sender: "eve@other.example",
            ..Mail::default()
        },
    );
    let show = |q: &str| {
        text(&list::show(
            &s,
            &call(Role::Auditor, Method::GET, &format!("/quarantine?{q}"), ""),
        ))
    };
    let all = show("");
    assert!(all.contains(">alpha</a>") && all.contains(">beta</a>"));
    assert!(
        all.find(">beta</a>") < all.find(">alpha</a>"),
        "newest first"
    );
    assert!(show("sender=%40other.example").contains(">beta</a>"));
    assert!(!show("sender=%40other.example").contains(">alpha</a>"));
    assert!(show("recipient=bob%40partner.example&subject=ALP").contains(">alpha</a>"));
    assert!(show("status=released").contains("No held message matches."));
    assert!(show("policy=100").contains(">alpha</a>"));
    // An auditor cannot act: no bulk form.
    assert!(!all.contains("/quarantine/bulk"));
    let remediator = text(&list::show(
        &s,
        &call(Role::Remediator, Method::GET, "/quarantine", ""),
    ));
    assert!(remediator.contains(r#"action="/quarantine/bulk""#));
}

#[test]
fn the_preview_is_text_headers_and_a_list_of_attachments() {
    let (s, store) = service();
    let (_, held) = add(
        &store,
        Mail {
            subject: SCRIPT,
            ..Mail::default()
        },
    );
    let held = held.unwrap();
    let r = detail::show(
        &s,
        &with_id(call(Role::Administrator, Method::GET, "/", ""), held),
    );
    assert_eq!(r.status, StatusCode::OK);
    let page = text(&r);
    assert_inert(&page);
    // The header section as text, the HTML body as text, no remote content, no attachment link.
    assert!(
        page.contains("Subject: &lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    assert!(page.contains("Quarterly figures"), "{page}");
    assert!(
        !page.contains("<b>figures") && !page.contains("tracker.example"),
        "{page}"
    );
    assert!(page.contains("<td>text</td>"), "{page}");
    // The sections scroll (a long header or text): a keyboard can reach them to scroll them.
    assert!(
        page.contains(r#"<pre class="preview headers" tabindex="0">"#)
            && page.contains(r#"<pre class="preview" tabindex="0">"#),
        "{page}"
    );
    // The attachment's hostile name is listed as text.
    assert!(
        page.contains("<td>&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(1)&gt;.txt</td>"),
        "{page}"
    );
    assert!(
        !page.contains(".txt\""),
        "an attachment became an attribute: {page}"
    );
    // Administrators get the raw download link; a remediator neither the link nor ... the route
    // refuses them (see the permissions test).
    assert!(page.contains(&format!(r#"href="/quarantine/{held}/raw""#)));
    assert!(page.contains(&format!(r#"action="/quarantine/{held}/act""#)));
    let remediator = text(&detail::show(
        &s,
        &with_id(call(Role::Remediator, Method::GET, "/", ""), held),
    ));
    assert!(!remediator.contains("/raw\"") && remediator.contains("Release with tag"));
    let auditor = text(&detail::show(
        &s,
        &with_id(call(Role::Auditor, Method::GET, "/", ""), held),
    ));
    assert!(!auditor.contains(r#"method="post" action="/quarantine"#));
}

#[test]
fn release_with_a_tag_delete_and_the_refusals_after() {
    let (s, store) = service();
    let (_, a) = add(
        &store,
        Mail {
            n: 1,
            ..Mail::default()
        },
    );
    let (_, b) = add(
        &store,
        Mail {
            n: 2,
            ..Mail::default()
        },
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let post = |id: u64, body: &str| {
        detail::act(
            &s,
            &with_id(call(Role::Remediator, Method::POST, "/", body), id),
        )
    };
    let r = post(a, "op=release&tag_name=X-CFilter&tag_value=Encrypt");
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        location(&r),
        Some(format!("/quarantine/{a}?ok=release").as_str())
    );
    let v = s.show_held(HeldId(a), false).unwrap();
    assert_eq!(v.held.status, HeldStatus::Released);
    let h = v.incidents[0].history.last().unwrap();
    assert_eq!(h.actor, "ann");
    assert!(h.result.contains("with X-CFilter: Encrypt"), "{h:?}");
    // Again: refused, as the CLI refuses it.
    let r = post(a, "op=release");
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(text(&r).contains("already released"));
    // A bad tag or address changes nothing.
    assert_eq!(
        post(b, "op=release&tag_name=X-A&tag_value=a%0D%0ABcc%3A+x").status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        post(b, "op=forward&to=not+an+address").status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        s.show_held(HeldId(b), false).unwrap().incidents[0]
            .history
            .len(),
        1
    );
    assert_eq!(
        post(b, "op=forward&to=review%40corp.example").status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(post(b, "op=delete").status, StatusCode::SEE_OTHER);
    let v = s.show_held(HeldId(b), true).unwrap();
    assert_eq!(
        (v.held.status, v.content.is_none()),
        (HeldStatus::Deleted, true)
    );
    let page = text(&detail::show(
        &s,
        &with_id(call(Role::Remediator, Method::GET, "/", ""), b),
    ));
    assert!(
        page.contains("The content is no longer stored (deleted)"),
        "{page}"
    );
}

#[test]
fn the_raw_message_is_a_named_download() {
    let (s, store) = service();
    let (_, held) = add(&store, Mail::default());
    let held = held.unwrap();
    let r = detail::raw(
        &s,
        &with_id(call(Role::Administrator, Method::GET, "/", ""), held),
    );
    assert_eq!(r.status, StatusCode::OK);
    match &r.body {
        Body::Bytes {
            content_type,
            bytes,
        } => {
            assert_eq!(*content_type, "message/rfc822");
            assert_eq!(&bytes[..], &message("Q3 numbers")[..]);
        }
        other => panic!("{other:?}"),
    }
    let disposition = r
        .headers
        .iter()
        .find(|(n, _)| n == hyper::header::CONTENT_DISPOSITION);
    assert_eq!(
        disposition.map(|(_, v)| v.as_str()),
        Some(format!("attachment; filename=\"sluice-held-{held}.eml\"").as_str())
    );
    let gone = detail::raw(
        &s,
        &with_id(call(Role::Administrator, Method::GET, "/", ""), 999),
    );
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[test]
fn bulk_release_over_a_filter_takes_the_messages_still_held() {
    let (s, store) = service();
    let (_, a) = add(
        &store,
        Mail {
            n: 1,
            ..Mail::default()
        },
    );
    add(
        &store,
        Mail {
            n: 2,
            ..Mail::default()
        },
    );
    let r = detail::act(
        &s,
        &with_id(
            call(Role::Remediator, Method::POST, "/", "op=delete"),
            a.unwrap(),
        ),
    );
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let ask = list::bulk(
        &s,
        &call(
            Role::Remediator,
            Method::POST,
            "/quarantine/bulk",
            "op=release&scope=all",
        ),
    );
    assert!(
        text(&ask).contains("1 held message matches the filter (no filter: all of them)."),
        "{}",
        text(&ask)
    );
    let done = list::bulk(
        &s,
        &call(
            Role::Remediator,
            Method::POST,
            "/quarantine/bulk",
            "op=release&scope=all&confirm=yes",
        ),
    );
    assert!(
        text(&done).contains("released 1, refused 0"),
        "{}",
        text(&done)
    );
    // Only release and delete in bulk here.
    let r = list::bulk(
        &s,
        &call(
            Role::Remediator,
            Method::POST,
            "/quarantine/bulk",
            "op=resolve&scope=all",
        ),
    );
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[test]
fn hostile_values_render_inert_on_every_quarantine_page() {
    let (s, store) = service();
    let (_, held) = add(
        &store,
        Mail {
            sender: IMG,
            subject: SCRIPT,
            policy: SCRIPT,
            ..Mail::default()
        },
    );
    add(
        &store,
        Mail {
            n: 2,
            sender: SCRIPT,
            subject: IMG,
            policy: IMG,
            ..Mail::default()
        },
    );
    let held = held.unwrap();
    for page in [
        text(&list::show(
            &s,
            &call(Role::Administrator, Method::GET, "/quarantine", ""),
        )),
        text(&detail::show(
            &s,
            &with_id(call(Role::Administrator, Method::GET, "/", ""), held),
        )),
        text(&list::bulk(
            &s,
            &call(
                Role::Administrator,
                Method::POST,
                "/quarantine/bulk",
                "op=delete&scope=all",
            ),
        )),
        text(&list::bulk(
            &s,
            &call(
                Role::Administrator,
                Method::POST,
                "/quarantine/bulk",
                &format!("op=delete&scope=selected&id={held}"),
            ),
        )),
    ] {
        assert_inert(&page);
    }
}

/// The access rule of `method path` among every route.
fn access(method: Method, path: &str) -> Access {
    let all: Vec<Def> = crate::admin::routes::all();
    all.iter()
        .find(|d| d.method == method && d.path == path)
        .unwrap_or_else(|| panic!("{method} {path} is not routed"))
        .access
}

#[test]
fn every_change_needs_a_remediation_permission_and_raw_needs_download_raw() {
    use Permission::*;
    let table = [
        (Method::GET, "/incidents", ViewIncidents),
        (Method::GET, "/incidents/{id}", ViewIncidents),
        (Method::POST, "/incidents/bulk", Remediate),
        (Method::POST, "/incidents/{id}/act", Remediate),
        (Method::GET, "/quarantine", ViewQuarantine),
        (Method::GET, "/quarantine/{id}", ViewQuarantine),
        (Method::POST, "/quarantine/bulk", ReleaseQuarantine),
        (Method::POST, "/quarantine/{id}/act", ReleaseQuarantine),
        (Method::GET, "/quarantine/{id}/raw", DownloadRaw),
        (Method::GET, "/api/v1/incidents", ViewIncidents),
        (Method::GET, "/api/v1/incidents/{id}", ViewIncidents),
        (Method::POST, "/api/v1/incidents/{id}/actions", Remediate),
        (Method::POST, "/api/v1/incidents/actions", Remediate),
        (Method::GET, "/api/v1/quarantine", ViewQuarantine),
        (Method::GET, "/api/v1/quarantine/{id}", ViewQuarantine),
        (
            Method::POST,
            "/api/v1/quarantine/{id}/actions",
            ReleaseQuarantine,
        ),
        (
            Method::POST,
            "/api/v1/quarantine/actions",
            ReleaseQuarantine,
        ),
        (Method::GET, "/api/v1/quarantine/{id}/raw", DownloadRaw),
    ];
    for (method, path, need) in table {
        assert_eq!(
            access(method.clone(), path),
            Access::Signed(need),
            "{method} {path}"
        );
    }
    // Auditors change nothing; only administrators download raw messages.
    for p in [Remediate, ReleaseQuarantine, DownloadRaw] {
        assert!(!Role::Auditor.allows(p));
    }
    assert!(
        Role::ALL
            .iter()
            .filter(|r| r.allows(DownloadRaw))
            .eq([Role::Administrator].iter())
    );
}
