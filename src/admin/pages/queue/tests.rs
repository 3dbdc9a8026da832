//! The queue pages over a real in-memory store with one message per stage: tabs and counts,
//! filters, the detail page (header section, never the body), hostile values rendered inert,
//! actions and switches for the roles that may act (and no controls for the others), bulk with
//! its confirm step, and the routes' permissions.

use hyper::{Method, StatusCode};

use super::fixture::*;
use super::{bulk, detail, list};
use crate::admin::call::Call;
use crate::admin::router::Access;
use crate::service::{Permission, Role};

fn get(s: &crate::service::Service, role: Role, path: &str) -> String {
    let c = call(role, Method::GET, path, "");
    let r = list::show(s, &c);
    assert_eq!(r.status, StatusCode::OK, "{}", text(&r));
    text(&r)
}

fn entry(role: Role, method: Method, id: &str, body: &str) -> Call {
    let mut c = call(role, method, &format!("/queue/{id}"), body);
    c.params = vec![("id".into(), id.into())];
    c
}

#[test]
fn the_listing_has_tabs_with_counts_filters_and_inert_values() {
    let (s, store) = service();
    let f = fill(&store);
    let all = get(&s, Role::Auditor, "/queue");
    assert_inert(&all);
    for tab in [
        "All (4)",
        "Inspect (1)",
        "Deliver (1)",
        "Deferred (1)",
        "Hold (1)",
    ] {
        assert!(all.contains(tab), "{tab}: {all}");
    }
    assert!(all.contains("&lt;script&gt;alert(1)&lt;/script&gt;@evil.example"));
    assert!(!all.contains(BODY));
    let hold = get(&s, Role::Auditor, "/queue?stage=hold");
    assert!(hold.contains(&format!("/queue/i{}", f.hold.0)), "{hold}");
    assert!(!hold.contains(&format!("/queue/q{}\"", f.deliver.0)));
    let inspect = get(&s, Role::Auditor, "/queue?stage=inspect");
    assert!(
        inspect.contains(&format!("/queue/i{}", f.inspect.0)),
        "{inspect}"
    );
    let deferred = get(&s, Role::Auditor, "/queue?stage=deferred");
    assert!(deferred.contains(&format!("/queue/q{}", f.deferred.0)));
    assert!(!deferred.contains(&format!("/queue/q{}\"", f.deliver.0)));
    let none = get(&s, Role::Auditor, "/queue?sender=nobody%40x.example");
    assert!(none.contains("No queued message matches."), "{none}");
    // A bad filter is a 422 with the reason, not an error page.
    let bad = list::show(
        &s,
        &call(Role::Auditor, Method::GET, "/queue?older_than=soon", ""),
    );
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&bad).contains("older_than"));
}

#[test]
fn read_only_roles_see_no_action_controls_and_managers_do() {
    let (s, store) = service();
    let f = fill(&store);
    let hold = format!("i{}", f.hold.0);
    for role in [Role::Auditor, Role::PolicyAuthor] {
        let page = get(&s, role, "/queue");
        assert!(
            !page.contains("/queue/bulk") && !page.contains("/queue/switches"),
            "{role}"
        );
        assert!(page.contains("delivering") && page.contains("accepting"));
        let d = text(&detail::show(&s, &entry(role, Method::GET, &hold, "")));
        assert!(
            !d.contains("method=\"post\" action=\"/queue"),
            "{role}: {d}"
        );
    }
    for role in [Role::Administrator, Role::Remediator] {
        let page = get(&s, role, "/queue");
        assert!(page.contains(r#"action="/queue/bulk""#), "{role}");
        assert!(page.contains(r#"action="/queue/switches""#));
        assert!(page.contains(&format!(r#"name="csrf" value="{CSRF}""#)));
        assert!(page.contains("will likely crash it again"));
        let d = text(&detail::show(&s, &entry(role, Method::GET, &hold, "")));
        assert!(d.contains(&format!(r#"action="/queue/{hold}/act""#)), "{d}");
        assert!(d.contains("Release unscanned") && d.contains("will likely crash it again"));
    }
}

#[test]
fn the_detail_page_shows_the_envelope_and_headers_never_the_body() {
    let (s, store) = service();
    let f = fill(&store);
    for id in [format!("i{}", f.hold.0), format!("q{}", f.deferred.0)] {
        let r = detail::show(&s, &entry(Role::Auditor, Method::GET, &id, ""));
        assert_eq!(r.status, StatusCode::OK);
        let page = text(&r);
        assert_inert(&page);
        assert!(
            page.contains("Subject: &lt;script&gt;alert(1)&lt;/script&gt;"),
            "{page}"
        );
        assert!(page.contains("bob@corp.example"));
        assert!(!page.contains(BODY), "the body leaked: {page}");
    }
    let deferred = text(&detail::show(
        &s,
        &entry(
            Role::Auditor,
            Method::GET,
            &format!("q{}", f.deferred.0),
            "",
        ),
    ));
    assert!(
        deferred.contains("451 4.3.0 &lt;b&gt;try later&lt;/b&gt;"),
        "{deferred}"
    );
    for missing in ["q999", "x1", "i"] {
        let r = detail::show(&s, &entry(Role::Auditor, Method::GET, missing, ""));
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{missing}");
    }
}

#[test]
fn actions_on_one_entry_and_their_refusals() {
    let (s, store) = service();
    let f = fill(&store);
    let id = format!("q{}", f.deliver.0);
    let act = |body: &str| detail::act(&s, &entry(Role::Remediator, Method::POST, &id, body));
    let r = act("op=hold");
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", text(&r));
    assert!(get(&s, Role::Auditor, "/queue?stage=hold").contains(&format!("/queue/{id}")));
    // Bad forms change nothing and say why.
    let bad = act("op=explode");
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&bad).contains("one of"));
    let bad = act("op=forward&to=a%40x%2C+b%40y");
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Forward keeps the original; delete drops it.
    let r = act("op=forward&to=sec%40corp.example&subject=look");
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", text(&r));
    let r = act("op=delete");
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", text(&r));
    let r = detail::show(&s, &entry(Role::Auditor, Method::GET, &id, ""));
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[test]
fn bulk_over_all_matching_asks_first_then_acts() {
    let (s, store) = service();
    let f = fill(&store);
    let post = |body: &str| {
        bulk::bulk(
            &s,
            &call(Role::Remediator, Method::POST, "/queue/bulk", body),
        )
    };
    let ask = post("stage=hold&op=release&scope=all");
    assert_eq!(ask.status, StatusCode::OK);
    let page = text(&ask);
    assert!(page.contains("1 queued message"), "{page}");
    assert!(page.contains("will likely crash it again"));
    assert!(page.contains(r#"name="confirm" value="yes""#));
    assert_inert(&page);
    // Nothing moved yet.
    assert!(get(&s, Role::Auditor, "/queue?stage=hold").contains(&format!("/queue/i{}", f.hold.0)));
    let done = text(&post("stage=hold&op=release&scope=all&confirm=yes"));
    assert!(done.contains("1 done, 0 skipped"), "{done}");
    assert!(get(&s, Role::Auditor, "/queue?stage=hold").contains("No queued message matches."));
    // Selected ids; an action that does not apply is skipped, not an error.
    let body = format!(
        "op=retry&scope=selected&id=q{}&id=q{}",
        f.deferred.0, f.deliver.0
    );
    let r = text(&post(&body));
    assert!(r.contains("done"), "{r}");
    let none = post("op=retry&scope=selected");
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    let junk = post("op=retry&scope=selected&id=42");
    assert_eq!(junk.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[test]
fn the_switches_flip_and_show_their_state() {
    let (s, _) = service();
    let flip = |body: &str| {
        list::switch(
            &s,
            &call(Role::Remediator, Method::POST, "/queue/switches", body),
        )
    };
    let r = flip("switch=rejecting&on=yes");
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(s.switches().unwrap().rejecting);
    let page = get(&s, Role::Remediator, "/queue?ok=rejecting");
    assert!(page.contains("Accept incoming mail") && page.contains("answer 421 at connect"));
    assert_eq!(flip("switch=paused&on=yes").status, StatusCode::SEE_OTHER);
    assert!(get(&s, Role::Auditor, "/queue").contains("paused"));
    assert_eq!(flip("switch=paused&on=no").status, StatusCode::SEE_OTHER);
    assert_eq!(flip("switch=rejecting&on=no").status, StatusCode::SEE_OTHER);
    assert_eq!(s.switches().unwrap(), Default::default());
    assert_eq!(
        flip("switch=everything&on=yes").status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        flip("switch=paused&on=maybe").status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // Each change is in the audit log under the user's name.
    let (entries, _) = s
        .audit_page(&crate::store::audit::Filter::default(), None, 10)
        .unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e.action == "queue.reject" && e.actor == "ann")
    );
}

#[test]
fn viewing_is_for_every_role_and_acting_for_administrators_and_remediators() {
    for def in super::routes().into_iter().chain(
        crate::admin::api::routes()
            .into_iter()
            .filter(|d| d.path.contains("/queue")),
    ) {
        let Access::Signed(p) = def.access else {
            panic!("{} is not signed", def.path)
        };
        let want = match def.method {
            Method::GET => Permission::ViewQueue,
            _ => Permission::ManageQueue,
        };
        assert_eq!(p, want, "{} {}", def.method, def.path);
    }
    for role in Role::ALL {
        assert!(role.allows(Permission::ViewQueue), "{role}");
    }
    let act: Vec<Role> = Role::ALL
        .into_iter()
        .filter(|r| r.allows(Permission::ManageQueue))
        .collect();
    assert_eq!(act, [Role::Administrator, Role::Remediator]);
}
