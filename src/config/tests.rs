//! Configuration tests: the embedded defaults, every error names file:line:col, and validation rules.

use super::*;
use crate::smtp::{Extensions, Limits};

mod load;
mod wire;

fn err(text: &str) -> String {
    Config::parse(text, "test.toml").unwrap_err().to_string()
}

#[test]
fn embedded_defaults_are_complete_and_match_the_issue() {
    let c = Config::embedded().unwrap();
    assert_eq!(c.listener.address, "0.0.0.0:10025".parse().unwrap());
    assert_eq!(c.relay.route, Route::Reflect);
    assert_eq!(c.relay.port, 10026);
    assert_eq!(c.server.data_dir, PathBuf::from("./sluice-data"));
    assert_eq!(
        c.relay.pass_header,
        Some(Field::new("X-CFilter-Loop", "Reflected").unwrap())
    );
    assert_eq!(c.inspection.on_failure, OnFailure::TempFail);
    assert_eq!(c.listener.limits, Limits::default());
    assert!(c.listener.extensions.has(Extensions::STARTTLS));
    // Safe by default: the built-in set runs, every policy of it in monitor mode.
    assert_eq!(
        c.policy_source,
        crate::config::PolicySource::Builtin { monitor: true }
    );
    assert_eq!(c.policies.len(), 8);
    assert!(c.policies.iter().all(|p| p.monitor));
    assert!(!c.server.trial_mode);
    assert!(
        c.listener
            .allowed_clients
            .iter()
            .any(|n| n.contains(&"127.0.0.1".parse::<IpAddr>().unwrap()))
    );
    assert!(
        !c.listener
            .allowed_clients
            .iter()
            .any(|n| n.contains(&"8.8.8.8".parse::<IpAddr>().unwrap()))
    );
}

#[test]
fn every_default_key_is_present_in_the_embedded_file() {
    // An empty user file must not hit a missing default anywhere (pick() would report it).
    Config::parse("", "empty.toml").unwrap();
    // And the documented example policy in the comments parses when uncommented.
    let example: String = DEFAULT_TOML
        .lines()
        .skip_while(|l| !l.starts_with("# [[policy]]"))
        // The commented example ends where the next real table (e.g. `[admin]`) begins.
        .take_while(|l| !l.starts_with('['))
        .map(|l| l.strip_prefix("# ").unwrap_or(l))
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let c = Config::parse(&example, "example.toml").unwrap();
    assert_eq!(c.policies.len(), 1);
}

#[test]
fn unknown_keys_are_errors_with_location() {
    assert_eq!(
        err("[listener]\nadress = \"1.2.3.4:25\"\n")
            .split(": ")
            .next()
            .unwrap(),
        "test.toml:2:1"
    );
    assert!(err("[nope]\n").starts_with("test.toml:1:"));
}

#[test]
fn type_and_syntax_errors_have_locations() {
    assert!(
        err("[listener]\nmax_sessions = \"many\"\n").starts_with("test.toml:2:16:"),
        "{}",
        err("[listener]\nmax_sessions = \"many\"\n")
    );
    assert!(err("[listener\n").starts_with("test.toml:1:"));
}

#[test]
fn semantic_errors_point_at_the_value() {
    let e = err("[listener]\naddress = \"localhost\"\n");
    assert!(
        e.starts_with("test.toml:2:11:") && e.contains("address like"),
        "{e}"
    );
    let e = err("[listener]\nallowed_clients = [\"10.0.0.0/8\", \"bogus\"]\n");
    assert!(
        e.starts_with("test.toml:2:34:") && e.contains("CIDR"),
        "{e}"
    );
    let e = err("[listener]\nmax_sessions = 0\n");
    assert!(e.contains("out of range"), "{e}");
    let e = err("[listener]\ncommand_timeout = \"5 parsecs\"\n");
    assert!(
        e.starts_with("test.toml:2:19:") && e.contains("unit"),
        "{e}"
    );
    let e = err("[relay]\nmode = \"sideways\"\n");
    assert!(e.starts_with("test.toml:2:8:"), "{e}");
}

#[test]
fn forward_mode_needs_exactly_one_kind_of_next_hop() {
    assert!(err("[relay]\nmode = \"forward\"\n").contains("at least one entry"));
    assert!(
        err("[relay]\nmode = \"forward\"\nhosts = [\"a.example\"]\nmx_domains = [\"b.example\"]\n")
            .contains("not both")
    );
    let c = Config::parse("[relay]\nmode = \"forward\"\nport = 25\nhosts = [\"smtp1.example\", \"10.0.0.2:2525\", \"[::1]:26\", \"::2\"]\n", "t").unwrap();
    assert_eq!(
        c.relay.route,
        Route::Hosts(vec![
            NextHop {
                host: "smtp1.example".into(),
                port: 25
            },
            NextHop {
                host: "10.0.0.2".into(),
                port: 2525
            },
            NextHop {
                host: "::1".into(),
                port: 26
            },
            NextHop {
                host: "::2".into(),
                port: 25
            },
        ])
    );
    let c = Config::parse(
        "[relay]\nmode = \"forward\"\nmx_domains = [\"Corp.Example.\"]\n",
        "t",
    )
    .unwrap();
    assert_eq!(c.relay.route, Route::Mx(vec!["corp.example".into()]));
    assert!(
        err("[relay]\nmode = \"forward\"\nhosts = [\"bad host!\"]\n")
            .contains("not a valid domain")
    );
}

#[test]
fn policies_are_validated() {
    let p = |body: &str| format!("[[policy]]\n{body}\n");
    assert!(err(&p("action = \"block\"")).contains("needs an `id`"));
    assert!(err(&p("id = 1")).contains("needs an `action`"));
    let e = err(&p("id = 1\nregexes = [\"(open\"]\naction = \"log\""));
    assert!(
        e.starts_with("test.toml:3:12:") && e.contains("invalid regex"),
        "{e}"
    );
    assert!(err(&p("id = 1\naction = \"redirect\"")).contains("redirect_to"));
    assert!(
        err(&p(
            "id = 1\naction = \"redirect\"\nredirect_to = \"nobody\""
        ))
        .contains("email address")
    );
    let e = err(&p(
        "id = 1\naction = \"modify\"\nheaders = [\"A: 1\", \"B: 2\", \"C: 3\", \"D: 4\"]",
    ));
    assert!(
        e.contains("at most 3 headers") && e.starts_with("test.toml:4:"),
        "{e}"
    );
    assert!(
        err(&p(
            "id = 1\naction = \"modify\"\nheaders = [\"Bad Header: 1\"]"
        ))
        .contains("header field name")
    );
    assert!(err(&p("id = 1\naction = \"modify\"")).contains("needs `subject`, `headers`"));
    assert!(err(&p("id = 1\naction = \"explode\"")).contains("unknown action"));
    assert!(err(&p("id = 1\naction = \"block\"\nreply = \"two\\nlines\"")).contains("one line"));
    assert!(
        err("[[policy]]\nid = 1\naction = \"log\"\nmatch = \"all-mail\"\n[[policy]]\nid = 1\naction = \"log\"\n")
            .contains("used twice")
    );
    let c = Config::parse(&p("id = 9\naction = \"modify\"\nsubject = { mode = \"append\", text = \" [x]\" }\nheaders = [\"X-CFilter: Encrypt\"]\nmode = \"monitor\"\nmatch = \"all-mail\""), "t").unwrap();
    assert_eq!(c.policies.len(), 1);
}

#[test]
fn tls_files_must_come_in_pairs() {
    assert!(err("[tls]\ncert_file = \"/x.pem\"\n").contains("set both or neither"));
}

#[test]
fn durations_parse() {
    assert_eq!(
        value::parse_duration("250ms").unwrap(),
        Duration::from_millis(250)
    );
    assert_eq!(
        value::parse_duration("5m").unwrap(),
        Duration::from_secs(300)
    );
    assert_eq!(
        value::parse_duration("2h").unwrap(),
        Duration::from_secs(7200)
    );
    assert_eq!(value::parse_duration("7").unwrap(), Duration::from_secs(7));
    // The CLI's unit is a config unit too (one grammar).
    assert_eq!(
        value::parse_duration("2w").unwrap(),
        Duration::from_secs(14 * 86_400)
    );
    assert!(value::parse_duration("0s").is_err());
    assert!(value::parse_duration("s").is_err());
}

#[test]
fn policy_rules_exceptions_and_groups_load() {
    let c = Config::parse(
        r#"
[inspection]
internal_domains = ["corp.example", "*.corp.example"]

[[policy]]
id = 5
name = "PCI"
severity = "critical"
match = "all"
action = "log"

[[policy.rule]]
name = "cards"
conditions = [
  { identifier = "CREDIT_CARD", breadth = "narrow", min = 3, in = ["body", "attachments"] },
  { any = [{ direction = "outbound" }, { recipient_domain = ["*.partner.example"] }] },
]

[[policy.rule]]
name = "files"
match = "any"
conditions = [
  { file_type = ["xlsx"], file_size_over = "2MB" },
  { encrypted = true },
  { header = "X-Classification", matches = "(?i)secret" },
  { size_over = 10485760 },
]

[[policy.exception]]
conditions = [{ sender = ["payroll@corp.example"] }]
"#,
        "t.toml",
    )
    .unwrap();
    let p = c.policies.iter().next().unwrap();
    assert_eq!(
        (p.id, p.severity, p.join, p.rules.len(), p.exceptions.len()),
        (
            5,
            crate::policy::Severity::Critical,
            crate::policy::Join::All,
            2,
            1
        )
    );
    assert_eq!(
        c.inspection.internal_domains,
        ["corp.example", "corp.example"]
    );
    assert_eq!(c.policies.registry().len(), 1);
    assert!(c.policies.uses_headers());
}

#[test]
fn bad_conditions_are_refused_with_their_place() {
    let policy = |cond: &str| {
        err(&format!(
            "[[policy]]\nid = 1\naction = \"log\"\n[[policy.rule]]\nconditions = [{cond}]\n"
        ))
    };
    let e = policy("{ identifier = \"CREDIT_CARD\", sender = [\"a@b.c\"] }");
    assert!(e.starts_with("test.toml:5:"), "{e}");
    assert!(e.contains("exactly one kind"), "{e}");
    assert!(policy("{ identifier = \"CREDIT_CARDS\" }").contains("unknown data identifier"));
    assert!(policy("{ sender = [\"*@x\"], min = 2 }").contains("`min` does not apply"));
    assert!(policy("{ near = [\"a\", \"b\"] }").contains("needs `words`"));
    assert!(policy("{ file_size_over = \"12 parsecs\" }").contains("unknown size unit"));
    assert!(policy("{ regex = \"(\" }").contains("invalid regex"));
    let e = policy("{ pattern = \"internal-hostnames\" }");
    assert!(e.starts_with("test.toml:5:"), "{e}");
    assert!(
        e.contains("unknown pattern \"internal-hostnames\"; known: ")
            && e.contains("classification-header")
            && e.contains("internal-hostname"),
        "{e}"
    );
    assert!(
        policy("{ pattern = \"internal-hostname\", words = 3 }")
            .contains("`words` does not apply to a `pattern` condition")
    );
    assert!(
        policy("{ pattern = \"internal-hostname\", regex = \"x\" }").contains("exactly one kind")
    );
    assert!(policy("{ keywords = [\"x\"], in = [\"footer\"] }").contains("unknown place"));
    assert!(policy("{ file_type = [\"docz\"] }").contains("unknown file type"));
    assert!(policy("{ }").contains("needs one kind key"));
    assert!(policy("{ any = [] }").contains("at least one condition"));
    assert!(
        policy("{ identifier = \"US_SSN\", breadth = \"deep\" }")
            .contains("expected one of \"wide\", \"medium\", \"narrow\"")
    );
    assert!(
        err("[[policy]]\nid = 1\naction = \"log\"\n[[policy.rule]]\nconditions = []\n")
            .contains("at least one condition")
    );
    assert!(
        err("[[policy]]\nid = 1\naction = \"log\"\nkeywords = [\"x\"]\n[[policy.rule]]\nconditions = [{ limit_exceeded = true }]\n")
            .contains("not both")
    );
    assert!(
        err("[inspection]\ninternal_domains = [\"not a domain\"]\n").contains("not a domain name")
    );
}

#[test]
fn uninspectable_reasons_are_validated_where_written() {
    let policy = |cond: &str| {
        Config::parse(
            &format!(
                "[[policy]]\nid = 1\naction = \"log\"\n[[policy.rule]]\nconditions = [{cond}]\n"
            ),
            "test.toml",
        )
    };
    let e = policy("{ uninspectable = [\"encrypted\", \"corrupt\"] }")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("test.toml:5:47:"), "{e}");
    assert!(e.contains("unknown value \"corrupt\""), "{e}");
    assert!(
        e.contains("\"encrypted\", \"unsupported\", \"malformed\", \"encoding\", \"limit\""),
        "{e}"
    );
    let e = policy("{ uninspectable = false }").unwrap_err().to_string();
    assert!(e.contains("true or a list"), "{e}");
    let e = policy("{ uninspectable = [] }").unwrap_err().to_string();
    assert!(e.contains("at least one reason"), "{e}");
    let e = policy("{ uninspectable = 3 }").unwrap_err().to_string();
    assert!(e.starts_with("test.toml:"), "{e}");
    let c = policy("{ uninspectable = true }").unwrap();
    let crate::policy::Condition::Uninspectable(all) =
        &c.policies.iter().next().unwrap().rules[0].conditions[0]
    else {
        panic!("not an uninspectable condition");
    };
    assert_eq!(all.len(), 5);
    let c = policy("{ uninspectable = [\"malformed\", \"limit\", \"malformed\"] }").unwrap();
    let crate::policy::Condition::Uninspectable(some) =
        &c.policies.iter().next().unwrap().rules[0].conditions[0]
    else {
        panic!("not an uninspectable condition");
    };
    use crate::policy::Unreadable;
    assert_eq!(some, &[Unreadable::Malformed, Unreadable::Limit]);
}

#[test]
fn the_shipped_default_policy_set_loads() {
    let text = include_str!("../../assets/policies/default.toml");
    let c = Config::parse(text, "assets/policies/default.toml").unwrap();
    assert_eq!(c.policies.len(), 8);
    assert!(c.policies.iter().all(|p| p.enabled && !p.rules.is_empty()));
}

#[test]
fn hold_actions_notify_and_keep_settings_load() {
    let c = Config::parse(
        r#"
[quarantine]
retention = "3d"

[approval]
expiry = "36h"

[[policy]]
id = 1
action = "approval"
approvers = ["manager", "boss@corp.example"]
notify = ["sender", "admin"]
keywords = ["x"]

[[policy]]
id = 2
action = "quarantine"
keywords = ["y"]
"#,
        "t.toml",
    )
    .unwrap();
    let list: Vec<&crate::policy::Policy> = c.policies.iter().collect();
    assert_eq!(
        list[0].action,
        crate::policy::Action::Approval {
            approvers: vec!["manager".into(), "boss@corp.example".into()]
        }
    );
    assert_eq!(
        list[0].notify,
        vec![
            crate::policy::Audience::Sender,
            crate::policy::Audience::Admin
        ]
    );
    assert_eq!(list[1].action, crate::policy::Action::Quarantine);
    assert_eq!(c.store.retention, Duration::from_secs(3 * 86_400));
    assert_eq!(c.store.approval_expiry, Duration::from_secs(36 * 3600));
    let d = Config::embedded().unwrap();
    assert_eq!(d.store.retention, Duration::from_secs(7 * 86_400));
    assert_eq!(d.store.approval_expiry, Duration::from_secs(2 * 86_400));
    assert_eq!(d.store.reconcile_window, Duration::from_secs(86_400));
    assert_eq!(d.store.max_size, 8 << 30);
    // The outbox bounds the file documents are the store's own defaults.
    assert_eq!(
        d.store.event_bounds,
        crate::store::events::Bounds::default()
    );
    let c = Config::parse("[events]\nmax_events = 500\nmax_age = \"2h\"\n", "t.toml").unwrap();
    assert_eq!(c.store.event_bounds.max_events, 500);
    assert_eq!(c.store.event_bounds.max_age, 7200);
    let e = Config::parse("[events]\nmax_events = 1\n", "t.toml").unwrap_err();
    assert!(
        e.to_string().contains("t.toml:2:14: 1 is out of range"),
        "{e}"
    );
}

#[test]
fn hold_action_errors_point_at_the_value() {
    let e = err("[[policy]]\nid = 1\naction = \"approval\"\nkeywords = [\"x\"]\n");
    assert!(
        e.contains("test.toml:3:10") && e.contains("needs `approvers`"),
        "{e}"
    );
    let e = err(
        "[[policy]]\nid = 1\naction = \"approval\"\napprovers = [\"not an address\"]\nkeywords = [\"x\"]\n",
    );
    assert!(e.contains("test.toml:4:"), "{e}");
    let e =
        err("[[policy]]\nid = 1\naction = \"log\"\nnotify = [\"everyone\"]\nkeywords = [\"x\"]\n");
    assert!(
        e.contains("test.toml:4:") && e.contains("unknown notify audience"),
        "{e}"
    );
    let e = err("[quarantine]\nretention = \"7y\"\n");
    assert!(
        e.contains("test.toml:2:") && e.contains("use ms, s, m, h, d or w"),
        "{e}"
    );
}

#[test]
fn notification_defaults_are_quiet_and_headers_only() {
    let c = Config::parse("[server]\nhostname = \"gw.example.com\"\n", "t.toml").unwrap();
    let n = &c.notifications;
    assert_eq!(n.from, "postmaster@gw.example.com");
    assert!(n.admin.is_empty());
    assert!(
        !n.sender_notices,
        "sender notices are backscatter: off by default"
    );
    assert_eq!(n.attach_original, crate::notify::Attach::Headers);
    assert_eq!(n.templates, crate::notify::Templates::defaults());
    assert_eq!(n.hostname, "gw.example.com");
}

#[test]
fn notification_settings_and_template_overrides_load() {
    let c = Config::parse(
        "[notifications]\nfrom = \"dlp@corp.example\"\nadmin = [\"secops@corp.example\"]\n\
         sender_notices = true\nattach_original = \"full\"\n\
         [notifications.templates.rejected]\nsubject = \"Not delivered: ${SUBJECT}\"\n\
         html = \"<p>{$RECIPIENTS}</p>\"\n",
        "t.toml",
    )
    .unwrap();
    let n = &c.notifications;
    assert_eq!(n.from, "dlp@corp.example");
    assert_eq!(n.admin, vec!["secops@corp.example".to_string()]);
    assert!(n.sender_notices);
    assert_eq!(n.attach_original, crate::notify::Attach::Full);
    let facts = crate::notify::Facts {
        subject: "Q3".into(),
        recipients: vec!["<b>@x.example".into()],
        ..Default::default()
    };
    let r = n
        .templates
        .render(crate::notify::Kind::Rejected, &facts, "gw");
    assert_eq!(r.subject, "Not delivered: Q3");
    assert_eq!(r.html.as_deref(), Some("<p>&lt;b&gt;@x.example</p>"));
    // The text was not overridden: the default stays.
    assert!(
        r.text
            .starts_with("Your message was rejected by a moderator")
    );
}

#[test]
fn template_errors_point_at_the_tag() {
    let e = err(
        "[notifications.templates.approved]\ntext = \"\"\"\nHello\nSee ${APPROVE_URL} now\n\"\"\"\n",
    );
    assert!(
        e.starts_with("test.toml:4:5: notifications.templates.approved.text: ${APPROVE_URL} is not allowed in approved notices"),
        "{e}"
    );
    let e = err("[notifications.templates.released]\nsubject = \"x ${SUBJCT}\"\n");
    assert!(
        e.starts_with("test.toml:2:14: notifications.templates.released.subject: unknown tag ${SUBJCT} (known: MSGINFO"),
        "{e}"
    );
    let e = err("[notifications.templates.released]\nsubject = \"x ${SUBJECT\"\n");
    assert!(e.contains("unclosed tag"), "{e}");
    let e = err("[notifications.templates.sender_violation]\ntext = \"${DISPOSITION}\"\n");
    assert!(e.contains("administrators only"), "{e}");
    assert!(err("[notifications.templates.bounce]\ntext = \"x\"\n").starts_with("test.toml:1:"));
    assert!(err("[notifications.templates.approved]\nbody = \"x\"\n").starts_with("test.toml:2:1"));
}

#[test]
fn notification_addresses_and_choices_are_checked() {
    let e = err("[notifications]\nadmin = [\"ops@corp.example\", \"not an address\"]\n");
    assert!(e.starts_with("test.toml:2:30:"), "{e}");
    assert!(e.contains("is not a mail address"), "{e}");
    assert!(err("[notifications]\nfrom = \"a@b@c\"\n").contains("is not a mail address"));
    assert!(
        err("[notifications]\nattach_original = \"body\"\n")
            .contains("expected one of \"headers\", \"full\", \"none\"")
    );
}

#[test]
fn the_documented_notification_template_example_loads() {
    let example: String = DEFAULT_TOML
        .lines()
        .skip_while(|l| !l.starts_with("# [notifications.templates.rejected]"))
        .take_while(|l| l.starts_with('#'))
        .map(|l| l.strip_prefix("# ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(example.contains("${RECIPIENTS}"), "{example}");
    let c = Config::parse(&example, "example.toml").unwrap();
    let r = c.notifications.templates.render(
        crate::notify::Kind::Rejected,
        &crate::notify::Facts {
            subject: "Q3".into(),
            ..Default::default()
        },
        "gw",
    );
    assert_eq!(r.subject, "Not delivered: Q3");
}

#[test]
fn admin_defaults_and_public_url() {
    let c = Config::parse("[server]\nhostname = \"dlp.example\"\n", "t.toml").unwrap();
    assert!(c.admin.enabled);
    assert_eq!(c.admin.address, "0.0.0.0:8443".parse().unwrap());
    assert_eq!(c.admin.public_url, "https://dlp.example:8443");
    assert!(!c.admin.public_url_set);
    assert_eq!(c.admin.max_connections, 64);
    assert_eq!(c.admin.request_timeout, Duration::from_secs(30));
    assert_eq!(c.admin.max_connections_per_client, 8);
    assert_eq!(c.admin.header_timeout, Duration::from_secs(10));
    assert_eq!(c.admin.max_body, 16 * 1024);
    // A shorter request_timeout bounds the head too.
    let c = Config::parse("[admin]\nrequest_timeout = \"2s\"\n", "t.toml").unwrap();
    assert_eq!(c.admin.header_timeout, Duration::from_secs(2));
    let e = err("[admin]\nmax_connections_per_client = 0\n");
    assert!(
        e.starts_with("test.toml:2:30:") && e.contains("range"),
        "{e}"
    );
    let c = Config::parse(
        "[admin]\npublic_url = \"https://approve.example.com/\"\nenabled = false\n",
        "t.toml",
    )
    .unwrap();
    assert_eq!(c.admin.public_url, "https://approve.example.com");
    assert!(c.admin.public_url_set);
    assert!(!c.admin.enabled);
}

#[test]
fn admin_errors_point_at_the_value() {
    for (text, needle) in [
        ("[admin]\npublic_url = \"http://x.example\"\n", "https://"),
        (
            "[admin]\npublic_url = \"https://x.example/?a=b\"\n",
            "base URL",
        ),
        ("[admin]\naddress = \"localhost\"\n", "0.0.0.0:8443"),
        ("[admin]\nmax_connections = 0\n", "out of range"),
        ("[admin]\nmax_body = 10\n", "out of range"),
        ("[admin]\nrequest_timeout = \"0s\"\n", "greater than zero"),
    ] {
        let e = err(text);
        assert!(e.starts_with("test.toml:2:"), "{e}");
        assert!(e.contains(needle), "{e}");
    }
}

#[test]
fn queue_defaults_are_the_documented_schedule() {
    let q = Config::embedded().unwrap().queue;
    let m = |n: u64| Duration::from_secs(n * 60);
    assert_eq!(
        q.retry,
        vec![m(1), m(5), m(15), m(30), m(60), m(120), m(240)]
    );
    assert_eq!(q.give_up, Duration::from_secs(5 * 86_400));
    assert_eq!(q.delay_notice, m(240));
    assert_eq!(q.lease, m(10));
    assert_eq!(q.concurrency, 30);
    assert!(q.bounce_sender_notices);
}

#[test]
fn queue_settings_are_validated_with_their_place() {
    let q = Config::parse(
        "[queue]\nretry = [\"2s\"]\ndelay_notice = \"0s\"\ngive_up = \"1d\"\n",
        "test.toml",
    )
    .unwrap()
    .queue;
    assert_eq!(q.retry, vec![Duration::from_secs(2)]);
    assert_eq!(q.delay_notice, Duration::ZERO);
    assert_eq!(q.give_up, Duration::from_secs(86_400));
    assert_eq!(
        err("[queue]\nretry = []\n"),
        "test.toml:2:9: queue.retry needs at least one interval, e.g. [\"1m\", \"5m\"]"
    );
    assert!(err("[queue]\nretry = [\"1m\", \"500ms\"]\n").starts_with("test.toml:2:16: "));
    assert!(err("[queue]\ngive_up = \"0s\"\n").starts_with("test.toml:2:11: "));
    assert!(
        err("[queue]\ndelay_notice = \"6d\"\n")
            .contains("queue.delay_notice must be shorter than queue.give_up")
    );
    assert!(err("[queue]\nlease = \"2s\"\n").contains("at least 5s"));
    assert!(err("[queue]\nconcurrency = 0\n").starts_with("test.toml:2:15: "));
    assert!(err("[queue]\nretries = [\"1m\"]\n").starts_with("test.toml:2:1: "));
}

#[test]
fn a_named_pattern_condition_finds_what_its_definition_matches() {
    use crate::message::{Envelope, Recipient};
    let c = Config::parse(
        r#"
[[policy]]
id = 7
name = "internal names"
action = "block"

[[policy.rule]]
name = "two internal hosts"
conditions = [{ pattern = "internal-hostname", min = 2, in = ["body"] }]
"#,
        "t.toml",
    )
    .unwrap();
    let scanner = crate::scan::Scanner::new(&c).unwrap();
    let envelope = Envelope {
        sender: "a@corp.example".into(),
        params: Default::default(),
        recipients: vec![Recipient::plain("b@x.example")],
    };
    let mail = |body: &str| format!("Subject: hosts\r\n\r\n{body}\r\n").into_bytes();
    let scan = |body: &str| scanner.scan(&envelope, &mail(body), &crate::decompose::NoBudget);
    let two = scan("build01.corp and db.eu.internal are down");
    assert!(two.verdict.violated());
    assert_eq!(two.verdict.deciding_policy, Some(7));
    assert!(
        two.verdict
            .detail
            .iter()
            .any(|d| d.contains("pattern:internal-hostname x2")),
        "{:?}",
        two.verdict.detail
    );
    assert!(!scan("only build01.corp is down").verdict.violated());
    assert!(
        !scan("build01.corp.example and db.example.com")
            .verdict
            .violated()
    );
}

#[test]
fn session_bounds_of_issue_9_have_defaults_and_ranges() {
    let c = Config::embedded().unwrap();
    let l = &c.listener;
    assert_eq!(l.max_sessions_per_client, 100);
    assert_eq!(l.data_min_rate, 500);
    assert_eq!(l.max_bytes_in_flight, 512 << 20);
    assert_eq!(l.spool_threshold, 1 << 20);
    // The budget must hold at least one message of the largest size.
    let e = err("[listener]\nmax_message_size = 2000000\nmax_bytes_in_flight = 1000000\n");
    assert!(
        e.starts_with("test.toml:3:23:") && e.contains("out of range"),
        "{e}"
    );
    let e = err("[listener]\nspool_threshold = 1000\n");
    assert!(e.contains("out of range"), "{e}");
    let e = err("[listener]\nmax_sessions_per_client = 0\n");
    assert!(e.contains("out of range"), "{e}");
    let c = Config::parse("[listener]\ndata_min_rate = 0\n", "t.toml").unwrap();
    assert_eq!(c.listener.data_min_rate, 0);
}

#[test]
fn the_builtin_policies_run_only_without_policies_of_ones_own() {
    let parse = |t: &str| Config::parse(t, "t").unwrap();
    let enforce = parse("[inspection]\nbuiltin_policies = \"enforce\"\n");
    assert_eq!(
        enforce.policy_source,
        crate::config::PolicySource::Builtin { monitor: false }
    );
    // The set's own modes: policy 160 quarantines for real.
    assert!(enforce.policies.iter().any(|p| p.id == 160 && !p.monitor));
    let off = parse("[inspection]\nbuiltin_policies = \"off\"\n");
    assert!(off.policies.is_empty());
    assert_eq!(off.policy_source, crate::config::PolicySource::None);
    let own = parse("[[policy]]\nid = 7\naction = \"log\"\nkeywords = [\"x\"]\n");
    assert_eq!(own.policy_source, crate::config::PolicySource::Configured);
    assert_eq!(own.policies.iter().map(|p| p.id).collect::<Vec<_>>(), [7]);
    assert!(err("[inspection]\nbuiltin_policies = \"maybe\"\n").starts_with("test.toml:2:20:"));
}

#[test]
fn a_policy_without_conditions_must_say_it_means_all_mail() {
    let e = err("[[policy]]\nid = 3\naction = \"block\"\n");
    assert!(
        e.starts_with("test.toml:1:1:") && e.contains("no conditions") && e.contains("all-mail"),
        "{e}"
    );
    let all = Config::parse(
        "[[policy]]\nid = 3\naction = \"block\"\nmatch = \"all-mail\"\n",
        "t",
    )
    .unwrap();
    assert_eq!(all.policies.len(), 1);
    let e =
        err("[[policy]]\nid = 3\naction = \"block\"\nmatch = \"all-mail\"\nkeywords = [\"x\"]\n");
    assert!(e.contains("takes no rules"), "{e}");
}

#[test]
fn relay_data_ahead_defaults_to_auto_and_is_a_choice() {
    let c = Config::parse("", "t.toml").unwrap();
    assert_eq!(c.relay.data_ahead, DataAhead::Auto);
    for (text, want) in [
        ("always", DataAhead::Always),
        ("never", DataAhead::Never),
        ("auto", DataAhead::Auto),
    ] {
        let c = Config::parse(&format!("[relay]\ndata_ahead = \"{text}\"\n"), "t.toml").unwrap();
        assert_eq!(c.relay.data_ahead, want);
    }
    let e = err("[relay]\ndata_ahead = \"sometimes\"\n");
    assert!(
        e.starts_with("test.toml:2:14:") && e.contains("\"always\""),
        "{e}"
    );
}
