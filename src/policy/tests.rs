//! Policy evaluation tests: conditions, combination of actions, monotonicity.

use super::*;
use crate::detect::{Confidence, Detector, Engine};
use crate::message::header::Field;
use crate::message::{Envelope, Recipient};

/// A policy as the first release wrote it (the config shorthand), for these tests.
#[derive(Clone)]
struct Spec {
    id: u64,
    monitor: bool,
    keywords: Vec<String>,
    regexes: Vec<String>,
    senders: Vec<String>,
    recipients: Vec<String>,
    action: Action,
}

fn spec(id: u64, action: Action) -> Spec {
    Spec {
        id,
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

/// (subject, body text)
type Content = (String, String);

fn text(s: &str) -> Content {
    (String::new(), s.into())
}

fn policies(list: Vec<Spec>) -> Policies {
    let mut registry = Registry::default();
    let compiled = list
        .into_iter()
        .map(|s| {
            let mut conditions = Vec::new();
            if !s.senders.is_empty() {
                conditions.push(Condition::Sender(
                    s.senders.iter().map(|g| Glob::new(g)).collect(),
                ));
            }
            if !s.recipients.is_empty() {
                conditions.push(Condition::Recipient(
                    s.recipients.iter().map(|g| Glob::new(g)).collect(),
                ));
            }
            let mut content = Vec::new();
            let mut add = |d: Detector| {
                content.push(Condition::Content {
                    detector: registry.register(d),
                    min: 1,
                    confidence: Confidence::Low,
                    scope: Scope::CONTENT,
                })
            };
            if !s.keywords.is_empty() {
                add(Detector::Keywords(s.keywords.clone()));
            }
            for r in &s.regexes {
                add(Detector::Regex(r.clone()));
            }
            if !content.is_empty() {
                conditions.push(Condition::Group(Join::Any, content));
            }
            Policy {
                id: s.id,
                name: format!("p{}", s.id),
                enabled: true,
                monitor: s.monitor,
                severity: Severity::Medium,
                join: Join::Any,
                rules: vec![Rule {
                    name: "r".into(),
                    join: Join::All,
                    conditions,
                }],
                exceptions: vec![],
                action: s.action,
                notify: vec![],
            }
        })
        .collect();
    Policies::new(compiled, registry)
}

trait Evaluate {
    fn evaluate_text(&self, env: &Envelope, content: &Content) -> Verdict;
}

impl Evaluate for Policies {
    fn evaluate_text(&self, env: &Envelope, content: &Content) -> Verdict {
        let engine = Engine::new(
            self.registry(),
            &crate::detect::Library::embedded().unwrap(),
        )
        .unwrap();
        let findings = engine.scan(&[&content.0, &content.1]);
        let facts = Facts {
            envelope: env,
            size: content.1.len(),
            headers: &[],
            subject: &content.0,
            files: &[],
            limit_exceeded: false,
            uninspected: &[],
            direction: Direction::Outbound,
            findings: &findings,
            part_scope: &[Scope::SUBJECT, Scope::BODY],
        };
        self.evaluate(&facts)
    }
}

#[test]
fn no_match_passes() {
    let p = policies(vec![spec(1, Action::Block { reply: "no".into() })]);
    let v = p.evaluate_text(&env("a@x.com", &["b@y.com"]), &text("hello"));
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
        headers: vec![Field::new("X-CFilter", "Encrypt").unwrap()],
        body: vec![],
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
    let v = p.evaluate_text(&env("a@x.com", &["b@y.com"]), &text("a secret"));
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
    let v = p.evaluate_text(&env("a@x.com", &["b@y.com"]), &text("a secret"));
    let Decision::Relay {
        redirect_to,
        subject,
        headers,
        ..
    } = v.decision
    else {
        panic!("{v:?}")
    };
    assert_eq!(redirect_to, vec!["review@x.com".to_string()]);
    assert_eq!(subject.len(), 1);
    assert_eq!(headers, vec![Field::new("X-CFilter", "Encrypt").unwrap()]);
    assert_eq!(v.deciding_policy, Some(2));
}

#[test]
fn monitor_policies_are_reported_but_do_not_decide() {
    let mut s = spec(1, Action::Block { reply: "x".into() });
    s.monitor = true;
    let v = policies(vec![s]).evaluate_text(&env("a@x.com", &["b@y.com"]), &text("secret"));
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
        p.evaluate_text(
            &env(
                "me@corp.example",
                &["you@other.example", "them@partner.example"]
            ),
            &text("secret")
        )
        .violated()
    );
    assert!(
        !p.evaluate_text(
            &env("me@else.example", &["them@partner.example"]),
            &text("secret")
        )
        .violated()
    );
    assert!(
        !p.evaluate_text(
            &env("me@corp.example", &["you@other.example"]),
            &text("secret")
        )
        .violated()
    );
    assert!(
        !p.evaluate_text(
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
    let c: Content = ("ssn 123-45-6789".into(), String::new());
    assert!(
        p.evaluate_text(&env("a@x.com", &["b@y.com"]), &c)
            .violated()
    );
}

proptest::proptest! {
    /// Adding a matching policy never relaxes the decision (policy is monotone).
    #[test]
    fn more_matches_never_relax(kinds in proptest::collection::vec(0u8..6, 1..6)) {
        let actions: Vec<Action> = kinds.iter().map(|k| match k {
            0 => Action::Log,
            1 => Action::Modify { subject: None, headers: vec![Field::new("X-A", "1").unwrap()], body: vec![] },
            2 => Action::Redirect { to: "r@x.com".into() },
            3 => Action::Approval { approvers: vec!["boss@x.com".into()] },
            4 => Action::Quarantine,
            _ => Action::Block { reply: "b".into() },
        }).collect();
        let rank = |d: &Decision| match d {
            Decision::Pass => 0,
            Decision::Relay { redirect_to, .. } if redirect_to.is_empty() => 1,
            Decision::Relay { .. } => 2,
            Decision::Hold { approvers } if !approvers.is_empty() => 3,
            Decision::Hold { .. } => 4,
            Decision::Block { .. } => 5,
        };
        let mut last = 0;
        for n in 1..=actions.len() {
            let list = actions[..n].iter().enumerate().map(|(i, a)| spec(i as u64 + 1, a.clone())).collect();
            let v = policies(list).evaluate_text(&env("a@x.com", &["b@y.com"]), &text("secret"));
            let r = rank(&v.decision);
            proptest::prop_assert!(r >= last);
            last = r;
        }
    }
}

#[test]
fn quarantine_outranks_approval_and_approvers_are_merged() {
    let both = policies(vec![
        spec(
            1,
            Action::Approval {
                approvers: vec!["a@x.com".into()],
            },
        ),
        spec(
            2,
            Action::Approval {
                approvers: vec!["b@x.com".into(), "A@x.com".into()],
            },
        ),
    ]);
    let v = both.evaluate_text(&env("s@x.com", &["r@y.com"]), &text("secret"));
    assert_eq!(
        v.decision,
        Decision::Hold {
            approvers: vec!["a@x.com".into(), "b@x.com".into()]
        }
    );
    let with_quarantine = policies(vec![
        spec(
            1,
            Action::Approval {
                approvers: vec!["a@x.com".into()],
            },
        ),
        spec(2, Action::Quarantine),
        spec(
            3,
            Action::Redirect {
                to: "r@x.com".into(),
            },
        ),
    ]);
    let v = with_quarantine.evaluate_text(&env("s@x.com", &["r@y.com"]), &text("secret"));
    assert_eq!(v.decision, Decision::Hold { approvers: vec![] });
    assert_eq!(v.deciding_policy, Some(2));
}

#[test]
fn only_enforcing_block_hold_and_redirect_can_refuse_or_divert() {
    let block = || Action::Block {
        reply: DEFAULT_BLOCK_TEXT.into(),
    };
    let modify = Action::Modify {
        subject: None,
        headers: vec![],
        body: vec![],
    };
    assert!(!Policies::default().can_refuse_or_divert());
    assert!(!policies(vec![spec(1, Action::Log), spec(2, modify)]).can_refuse_or_divert());
    for action in [
        block(),
        Action::Quarantine,
        Action::Approval {
            approvers: vec!["boss@example.com".into()],
        },
        Action::Redirect {
            to: "review@example.com".into(),
        },
    ] {
        assert!(
            policies(vec![spec(1, Action::Log), spec(2, action.clone())]).can_refuse_or_divert(),
            "{action:?}"
        );
        // In monitor mode the action is only reported.
        let monitor = Spec {
            monitor: true,
            ..spec(2, action.clone())
        };
        assert!(
            !policies(vec![monitor]).can_refuse_or_divert(),
            "{action:?}"
        );
    }
    // A disabled policy never matches.
    let mut set = policies(vec![spec(1, block())]);
    let mut list = set.iter().cloned().collect::<Vec<_>>();
    list[0].enabled = false;
    set = Policies::new(list, set.registry().clone());
    assert!(!set.can_refuse_or_divert());
}

#[test]
fn strip_names_the_attachments_the_evidence_is_in() {
    use crate::rewrite::{Attachments, Edit};
    let file = |part: usize, location: &str, true_type: &str| FileFacts {
        part,
        location: location.into(),
        name: None,
        true_type: true_type.into(),
        size: 10,
        encrypted: false,
    };
    // body, report.pdf, a.zip, a.zip/x.pdf, fwd.eml, fwd.eml/[body]
    let files = vec![
        file(1, "attachment:report.pdf", "pdf"),
        file(2, "attachment:a.zip", "zip"),
        file(3, "attachment:a.zip/x.pdf", "pdf"),
        file(4, "attachment:fwd.eml", "message"),
    ];
    let scopes = [
        Scope::BODY,
        Scope::ATTACHMENTS,
        Scope::ATTACHMENTS,
        Scope::ATTACHMENTS,
        Scope::ATTACHMENTS,
        Scope::ATTACHMENTS,
    ];
    let pdf = Condition::File(FileRule {
        types: vec!["pdf".into()],
        ..FileRule::default()
    });
    let policy = |id, all, monitor| Policy {
        id,
        name: format!("p{id}"),
        enabled: true,
        monitor,
        severity: Severity::Medium,
        join: Join::Any,
        rules: vec![Rule {
            name: "pdf".into(),
            join: Join::All,
            conditions: vec![pdf.clone()],
        }],
        exceptions: vec![],
        action: Action::Modify {
            subject: None,
            headers: vec![],
            body: vec![BodyAction::Strip {
                all,
                notice: Some("gone".into()),
            }],
        },
        notify: vec![],
    };
    let envelope = env("a@x.com", &["b@y.com"]);
    let findings = crate::detect::Findings::default();
    let facts = Facts {
        envelope: &envelope,
        size: 100,
        headers: &[],
        subject: "",
        files: &files,
        limit_exceeded: false,
        uninspected: &[],
        direction: Direction::Outbound,
        findings: &findings,
        part_scope: &scopes,
    };
    let body = |list: Vec<Policy>| match Policies::new(list, Registry::default())
        .evaluate(&facts)
        .decision
    {
        Decision::Relay { body, .. } => body,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        body(vec![policy(1, false, false)]),
        [Edit::Strip {
            attachments: Attachments::Matched(vec!["report.pdf".into(), "a.zip/x.pdf".into()]),
            notice: Some("gone".into()),
        }]
    );
    assert_eq!(
        body(vec![policy(1, true, false), policy(2, true, false)]),
        [Edit::Strip {
            attachments: Attachments::All,
            notice: Some("gone".into()),
        }]
    );
    // A monitor-mode policy changes nothing.
    assert_eq!(
        Policies::new(vec![policy(1, false, true)], Registry::default())
            .evaluate(&facts)
            .decision,
        Decision::Pass
    );
}
