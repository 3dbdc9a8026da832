//! Accounts, sign-in, tokens and the audit log over the in-memory store.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::clock::Clock;
use crate::config::Config;
use crate::events::Kind;
use crate::service::AuditFilter;
use crate::service::tokens::ID_CHARS;
use crate::store::Store;

const NOW: u64 = 1_700_000_000;
const PW: &str = "correct horse battery";

fn service() -> Service {
    let config = Config::embedded().expect("embedded defaults");
    Service::new(
        Store::memory().unwrap(),
        Arc::new(config),
        Clock::fixed(NOW),
    )
}

fn cli() -> Caller {
    Caller::cli("root")
}

fn kinds(s: &Service) -> Vec<Kind> {
    s.events(0, 1000).unwrap().iter().map(|e| e.kind).collect()
}

#[test]
fn passwords_are_argon2id_and_sign_in_checks_them() {
    let s = service();
    s.add_user("Alice", Role::Remediator, PW, &cli()).unwrap();
    let hash = s
        .store
        .read(|txn| users::get(txn, "alice"))
        .unwrap()
        .unwrap()
        .hash;
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert_eq!(s.authenticate("alice", PW, NOW + 5), Ok(Role::Remediator));
    assert_eq!(s.list_users().unwrap()[0].last_logon, Some(NOW + 5));
    let wrong = s
        .authenticate("Alice", "correct horse battery!", NOW)
        .unwrap_err();
    let unknown = s.authenticate("mallory", PW, NOW).unwrap_err();
    let bad_name = s.authenticate("a b", PW, NOW).unwrap_err();
    assert_eq!(wrong, Error::Invalid(WRONG.into()));
    assert_eq!(unknown, wrong);
    assert_eq!(bad_name, wrong);
    s.add_user("root", Role::Administrator, "another long one", &cli())
        .unwrap();
    s.set_disabled("alice", true, &cli()).unwrap();
    assert_eq!(s.authenticate("alice", PW, NOW).unwrap_err(), wrong);
    s.set_disabled("alice", false, &cli()).unwrap();
    s.set_password("alice", "a new password here", &cli())
        .unwrap();
    assert!(s.authenticate("alice", PW, NOW).is_err());
    assert_eq!(
        s.authenticate("alice", "a new password here", NOW),
        Ok(Role::Remediator)
    );
}

#[test]
fn names_and_passwords_are_checked() {
    let s = service();
    for name in ["", "a b", "x/y", &"n".repeat(65), "é"] {
        assert!(
            matches!(
                s.add_user(name, Role::Auditor, PW, &cli()),
                Err(Error::Invalid(_))
            ),
            "{name:?}"
        );
    }
    s.add_user("o.k_name@x-y", Role::Auditor, PW, &cli())
        .unwrap();
    for pw in ["short", &"p".repeat(129)] {
        assert!(matches!(
            s.add_user("bob", Role::Auditor, pw, &cli()),
            Err(Error::Invalid(_))
        ));
    }
    let same = s.add_user("bob.the.builder", Role::Auditor, "Bob.The.Builder", &cli());
    assert!(matches!(same, Err(Error::Invalid(m)) if m.contains("user name")));
    assert!(matches!(
        s.add_user("O.K_NAME@x-y", Role::Auditor, PW, &cli()),
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        s.set_password("nobody", PW, &cli()),
        Err(Error::NotFound(_))
    ));
}

#[test]
fn the_last_enabled_administrator_stays() {
    let s = service();
    s.add_user("root", Role::Administrator, PW, &cli()).unwrap();
    let last = |r: Result<()>| matches!(r, Err(Error::Conflict(m)) if m.contains("last enabled administrator"));
    assert!(last(s.remove_user("root", &cli())));
    assert!(last(s.set_role("root", Role::Auditor, &cli())));
    assert!(last(s.set_disabled("root", true, &cli())));
    // A disabled second administrator does not count.
    s.add_user("second", Role::Administrator, PW, &cli())
        .unwrap();
    s.set_disabled("second", true, &cli()).unwrap();
    assert!(last(s.remove_user("root", &cli())));
    s.set_disabled("second", false, &cli()).unwrap();
    s.set_role("root", Role::Auditor, &cli()).unwrap();
    assert!(last(s.remove_user("second", &cli())));
    s.set_role("root", Role::Administrator, &cli()).unwrap();
    s.remove_user("second", &cli()).unwrap();
    let names: Vec<_> = s
        .list_users()
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(names, ["root"]);
}

#[test]
fn tokens_work_until_they_expire_are_revoked_or_go_stale() {
    let s = service();
    s.add_user("ops", Role::Remediator, PW, &cli()).unwrap();
    s.add_user("root", Role::Administrator, PW, &cli()).unwrap();
    let (id, token) = s
        .create_token("ops", Some(Duration::from_secs(3600)), NOW, &cli())
        .unwrap();
    assert_eq!(id.len(), ID_CHARS);
    assert!(token.starts_with(&format!("slc_{id}_")), "{token}");
    let ops = ("ops".to_string(), Role::Remediator);
    assert_eq!(s.verify_token(&token, NOW + 10), Ok(ops.clone()));
    assert_eq!(
        s.list_tokens(Some("ops")).unwrap()[0].last_used,
        Some(NOW + 10)
    );
    // Noted at most once a minute.
    s.verify_token(&token, NOW + 30).unwrap();
    assert_eq!(s.list_tokens(None).unwrap()[0].last_used, Some(NOW + 10));
    s.verify_token(&token, NOW + 70).unwrap();
    assert_eq!(s.list_tokens(None).unwrap()[0].last_used, Some(NOW + 70));
    // Expired.
    assert!(s.verify_token(&token, NOW + 3600).is_err());
    // A wrong secret, a changed one, garbage.
    let wrong = format!("{}x", &token[..token.len() - 1]);
    assert!(s.verify_token(&wrong, NOW).is_err());
    assert!(s.verify_token("slc_", NOW).is_err());
    assert!(s.verify_token("Bearer", NOW).is_err());
    // Stale after a role change; refused for a disabled account.
    let (_, forever) = s.create_token("ops", None, NOW, &cli()).unwrap();
    assert_eq!(s.verify_token(&forever, NOW + 1_000_000), Ok(ops));
    s.set_role("ops", Role::Auditor, &cli()).unwrap();
    assert!(s.verify_token(&forever, NOW).is_err());
    s.set_role("ops", Role::Remediator, &cli()).unwrap();
    s.set_disabled("ops", true, &cli()).unwrap();
    assert!(s.verify_token(&forever, NOW).is_err());
    s.set_disabled("ops", false, &cli()).unwrap();
    assert!(s.verify_token(&forever, NOW).is_ok());
    // Revoked: only by its owner or an administrator's unrestricted call.
    let forever_id = &forever[4..4 + ID_CHARS];
    assert!(matches!(
        s.revoke_token(forever_id, Some("root"), &cli()),
        Err(Error::NotFound(_))
    ));
    s.revoke_token(forever_id, Some("OPS"), &cli()).unwrap();
    assert!(s.verify_token(&forever, NOW).is_err());
    assert_eq!(s.list_tokens(Some("ops")).unwrap().len(), 1);
    // Removing the account removes its tokens.
    s.remove_user("ops", &cli()).unwrap();
    assert!(s.list_tokens(None).unwrap().is_empty());
    assert!(s.create_token("ops", None, NOW, &cli()).is_err());
}

#[test]
fn every_change_is_audited_without_secrets() {
    let s = service();
    let web = Caller::web("root", "192.0.2.9".parse().unwrap());
    s.add_user("root", Role::Administrator, PW, &cli()).unwrap();
    s.add_user("ann", Role::Auditor, PW, &web).unwrap();
    s.set_role("ann", Role::PolicyAuthor, &web).unwrap();
    s.set_password("ann", "the second password", &web).unwrap();
    s.set_disabled("ann", true, &web).unwrap();
    let (id, token) = s.create_token("root", None, NOW, &web).unwrap();
    s.revoke_token(&id, None, &web).unwrap();
    s.remove_user("ann", &web).unwrap();
    let (log, next) = s.audit_page(&AuditFilter::default(), None, 100).unwrap();
    assert_eq!(next, None);
    let actions: Vec<_> = log.iter().rev().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "user.add",
            "user.add",
            "user.role",
            "user.password",
            "user.disable",
            "token.create",
            "token.revoke",
            "user.remove"
        ]
    );
    let role = &log[5];
    assert_eq!(
        (role.before.as_deref(), role.after.as_deref()),
        (Some("auditor"), Some("policy-author"))
    );
    assert_eq!(log[0].source, "192.0.2.9");
    assert_eq!(log[7].source, "cli");
    assert!(kinds(&s).iter().all(|k| *k == Kind::AdminChange));
    assert_eq!(kinds(&s).len(), 8);
    // Neither passwords nor the token's secret are anywhere in the log or the events.
    let everything = format!(
        "{}{}",
        serde_json::to_string(&log).unwrap(),
        serde_json::to_string(&s.events(0, 1000).unwrap()).unwrap()
    );
    let secret = &token[4 + ID_CHARS + 1..];
    for needle in [PW, "the second password", secret] {
        assert!(!everything.contains(needle), "{needle}");
    }
    let only_tokens = AuditFilter {
        action: Some("token.".into()),
        ..AuditFilter::default()
    };
    assert_eq!(s.audit_page(&only_tokens, None, 10).unwrap().0.len(), 2);
}
