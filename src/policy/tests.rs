//! Policy evaluation tests: conditions, combination of actions, monotonicity.

use super::*;
use crate::message::Recipient;

fn spec(id: u64, action: Action) -> Spec {
    Spec {
        id,
        name: format!("p{id}"),
        monitor: false,
        keywords: vec!["secret".into()],
        regexes: vec![],
        senders: vec![],
        recipients: vec![],
        action,
    }
}

fn env(sender: &str, rcpts: &[&str]) -> Envelope {
    Envelope {
        sender: sender.into(),
        params: Default::default(),
        recipients: rcpts.iter().map(|r| Recipient::plain(*r)).collect(),
    }
}

fn text(s: &str) -> Content {
    Content {
        subject: String::new(),
        text: s.into(),
        truncated: false,
        unparsed: false,
    }
}

fn policies(list: Vec<Spec>) -> Policies {
    Policies::new(
        list.into_iter()
            .map(|s| Policy::compile(s).unwrap())
            .collect(),
    )
}

#[test]
fn no_match_passes() {
    let p = policies(vec![spec(1, Action::Block { reply: "no".into() })]);
    let v = p.evaluate(&env("a@x.com", &["b@y.com"]), &text("hello"));
    assert_eq!(v.decision, Decision::Pass);
    assert!(!v.violated());
}

#[test]
fn block_beats_redirect_beats_modify() {
    let modify = Action::Modify {
        subject: Some(SubjectEdit {
            mode: SubjectMode::Prepend,
            text: "[S] ".into(),
        }),
        headers: vec![("X-CFilter".into(), "Encrypt".into())],
    };
    let p = policies(vec![
        spec(1, modify.clone()),
        spec(
            2,
            Action::Redirect {
                to: "review@x.com".into(),
            },
        ),
        spec(
            3,
            Action::Block {
                reply: "stop".into(),
            },
        ),
    ]);
    let v = p.evaluate(&env("a@x.com", &["b@y.com"]), &text("a secret"));
    assert_eq!(
        v.decision,
        Decision::Block {
            reply: "stop".into()
        }
    );
    assert_eq!(v.deciding_policy, Some(3));
    assert_eq!(v.hits.len(), 3);

    let p = policies(vec![
        spec(1, modify),
        spec(
            2,
            Action::Redirect {
                to: "review@x.com".into(),
            },
        ),
    ]);
    let v = p.evaluate(&env("a@x.com", &["b@y.com"]), &text("a secret"));
    let Decision::Relay {
        redirect_to,
        subject,
        headers,
    } = v.decision
    else {
        panic!("{v:?}")
    };
    assert_eq!(redirect_to, vec!["review@x.com".to_string()]);
    assert_eq!(subject.len(), 1);
    assert_eq!(
        headers,
        vec![("X-CFilter".to_string(), "Encrypt".to_string())]
    );
    assert_eq!(v.deciding_policy, Some(2));
}

#[test]
fn monitor_policies_are_reported_but_do_not_decide() {
    let mut s = spec(1, Action::Block { reply: "x".into() });
    s.monitor = true;
    let v = policies(vec![s]).evaluate(&env("a@x.com", &["b@y.com"]), &text("secret"));
    assert!(v.violated());
    assert_eq!(v.decision, Decision::Pass);
}

#[test]
fn sender_recipient_and_content_must_all_hold() {
    let mut s = spec(1, Action::Block { reply: "x".into() });
    s.senders = vec!["*@corp.example".into()];
    s.recipients = vec!["*@partner.example".into()];
    let p = policies(vec![s]);
    assert!(
        p.evaluate(
            &env(
                "me@corp.example",
                &["you@other.example", "them@partner.example"]
            ),
            &text("secret")
        )
        .violated()
    );
    assert!(
        !p.evaluate(
            &env("me@else.example", &["them@partner.example"]),
            &text("secret")
        )
        .violated()
    );
    assert!(
        !p.evaluate(
            &env("me@corp.example", &["you@other.example"]),
            &text("secret")
        )
        .violated()
    );
    assert!(
        !p.evaluate(
            &env("me@corp.example", &["them@partner.example"]),
            &text("public")
        )
        .violated()
    );
}

#[test]
fn regex_over_subject() {
    let mut s = spec(1, Action::Log);
    s.keywords.clear();
    s.regexes = vec![r"\b\d{3}-\d{2}-\d{4}\b".into()];
    let p = policies(vec![s]);
    let c = Content {
        subject: "ssn 123-45-6789".into(),
        ..text("")
    };
    assert!(p.evaluate(&env("a@x.com", &["b@y.com"]), &c).violated());
}

proptest::proptest! {
    /// Adding a matching policy never relaxes the decision (policy is monotone).
    #[test]
    fn more_matches_never_relax(kinds in proptest::collection::vec(0u8..4, 1..6)) {
        let actions: Vec<Action> = kinds.iter().map(|k| match k {
            0 => Action::Log,
            1 => Action::Modify { subject: None, headers: vec![("X-A".into(), "1".into())] },
            2 => Action::Redirect { to: "r@x.com".into() },
            _ => Action::Block { reply: "b".into() },
        }).collect();
        let rank = |d: &Decision| match d { Decision::Pass => 0, Decision::Relay { redirect_to, .. } if redirect_to.is_empty() => 1, Decision::Relay { .. } => 2, Decision::Block { .. } => 3 };
        let mut last = 0;
        for n in 1..=actions.len() {
            let list = actions[..n].iter().enumerate().map(|(i, a)| spec(i as u64 + 1, a.clone())).collect();
            let v = policies(list).evaluate(&env("a@x.com", &["b@y.com"]), &text("secret"));
            let r = rank(&v.decision);
            proptest::prop_assert!(r >= last);
            last = r;
        }
    }
}
