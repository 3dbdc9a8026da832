//! The policy pages' rendering: names from the file are text, the editor marks the error's line,
//! a test result shows the outcome, and only editors get the controls.

use std::net::IpAddr;

use hyper::Method;

use super::*;
use crate::admin::call::{Principal, Via};
use crate::service::Role;

fn call(role: Role) -> Call {
    let peer: IpAddr = "127.0.0.1".parse().unwrap();
    let mut c = Call::new(Method::GET, "/policies", peer, 1_700_000_000);
    c.principal = Some(Principal {
        user: "ann".into(),
        role,
        via: Via::Session {
            id: "sid".into(),
            csrf: "tok".into(),
        },
    });
    c
}

fn snap(text: &str) -> edit::Snapshot {
    edit::Snapshot {
        text: text.into(),
        digest: "d1g".into(),
        exists: true,
    }
}

const FILE: &str = "[[policy]]\nid = 1\nname = \"<script>alert(1)</script>\"\nkeywords = [\"x\"]\naction = \"log\"\n\n[[policy]]\nid = 2\nname = \"two\"\nkeywords = [\"y\"]\naction = \"block\"\n";

#[test]
fn the_list_escapes_names_and_shows_controls_to_editors_only() {
    let s = snap(FILE);
    let list = Document::new(FILE).policies().unwrap();
    let out = render_list(&call(Role::PolicyAuthor), &s, &list, None).into_string();
    assert!(!out.contains("<script>alert(1)"));
    assert!(out.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(out.contains(r#"name="digest" value="d1g""#));
    assert!(out.contains(">Down</button>") && out.contains(">Up</button>"));
    assert!(out.contains(r#"action="/policies/delete""#));
    let out = render_list(&call(Role::Auditor), &s, &list, None).into_string();
    assert!(!out.contains("<form"), "an auditor gets no controls");
}

#[test]
fn the_editor_marks_the_error_line_and_offers_the_form_for_common_shapes() {
    let s = snap(FILE);
    let text = "[[policy]]\nid = 3\nname = \"n\"\naction = \"explode\"\nkeywords = [\"x\"]\n";
    let err = Document::new(FILE).put_policy("", text).unwrap_err();
    let e = Editor {
        original: "",
        text,
        error: Some(&err),
        probe: None,
        saved: None,
    };
    let out = render_editor(&call(Role::Administrator), &s, &e).into_string();
    assert!(out.contains("line 4, column 10"), "{out}");
    assert!(out.contains(r#"<li class="error-line" id="error-line"><code>action = &quot;explode&quot;</code></li>"#), "{out}");
    // The test button posts the same form as an upload with the CSRF token in the query.
    assert!(
        out.contains(r#"formaction="/policies/test?csrf=tok""#),
        "{out}"
    );
    assert!(out.contains(r#"action="/policies/save-form""#));
}

#[test]
fn a_test_result_says_what_would_happen() {
    let message = b"From: a@corp.example\r\nTo: b@x.example\r\nSubject: s\r\n\r\nsome y here\r\n";
    let config = crate::config::Config::parse(FILE, "t").unwrap();
    let probe = edit::probe::test_with(
        &config,
        message,
        std::sync::Arc::new(crate::decompose::NoPdf),
    )
    .unwrap();
    let out = render_probe(&probe).into_string();
    assert!(out.contains("refused: <code>550 5.7.1"), "{out}");
    assert!(out.contains("two (2)"), "{out}");
}

#[test]
fn the_comment_above_a_policy_is_what_the_form_keeps() {
    let text = "# Secrets go nowhere.\n#   (the board's rule)\n[[policy]]\nid = 1 # inline\n";
    assert_eq!(
        leading_comment(text),
        "# Secrets go nowhere.\n#   (the board's rule)\n"
    );
    assert_eq!(leading_comment("[[policy]]\n# below\n"), "");
}
