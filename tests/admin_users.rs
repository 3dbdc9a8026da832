//! Accounts, sign-in and API tokens through the real binary: the one-time set-up link of a fresh
//! install (its account and gateway settings), `sluice user` and `sluice token` beside a running
//! server, sign-in over HTTPS with the
//! throttle (events from the outbox), sessions ended by idle time and by a password change from
//! the CLI, CSRF and role refusals, bearer tokens that expire and are revoked, one's own password
//! changed on `/account/password`; and no password or token secret in the server's log.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::admin::{add_user, csrf_of, encode, form, get, log_in, post, session_of};
use support::sluice::{Sluice, binary, config};

const WAIT: Duration = Duration::from_secs(10);
const ALICE_PW: &str = "alice's long password";
const ROOT_PW: &str = "root's very long password";

fn start_with(env: &[(&str, &str)]) -> Sluice {
    let s = Sluice::start_with_env(
        &config(
            "",
            "mode = \"forward\"\nhosts = [\"127.0.0.1:9\"]",
            "[admin]\naddress = \"127.0.0.1:0\"\npublic_url = \"https://localhost\"\n",
        ),
        env,
    );
    assert!(s.wait_log("admin UI serving", WAIT));
    s
}

fn start() -> Sluice {
    start_with(&[])
}

fn data(s: &Sluice) -> std::path::PathBuf {
    s.dir.path().join("data")
}

/// The outbox's event kinds, in order.
fn event_kinds(s: &Sluice) -> Vec<String> {
    let (code, out, err) = s.cli(&["events", "list", "--json", "--limit", "1000"]);
    assert_eq!(code, 0, "{err}");
    out.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["kind"].as_str().unwrap().to_string()
        })
        .collect()
}

fn assert_not_logged(s: &Sluice, secrets: &[&str]) {
    let logs = s.logs().join("\n");
    for secret in secrets {
        assert!(!logs.contains(secret), "{secret:?} is in the log");
    }
}

#[test]
fn a_fresh_install_is_set_up_once_through_its_link() {
    let s = start();
    assert!(s.wait_log("no administrator account yet", WAIT));
    let file = data(&s).join("setup-link");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let link = std::fs::read_to_string(&file).unwrap();
    let path = link
        .trim()
        .strip_prefix("https://localhost")
        .unwrap()
        .to_string();
    assert!(path.starts_with("/setup/"), "{link}");
    assert!(
        s.log_line("no administrator account yet")
            .unwrap()
            .contains(link.trim())
    );
    // Without an account nothing but the log-in page is reachable.
    let home = get(&s, "/", "");
    assert_eq!(home.status, 303);
    assert!(home.header("location").unwrap().starts_with("/login"));
    assert_eq!(get(&s, &path, "").status, 200);
    let body = form(&[
        ("user", "root"),
        ("password", ROOT_PW),
        ("again", ROOT_PW),
        ("mode", "forwarding"),
        ("hostname", "gw.example"),
        ("next_hops", "127.0.0.1:9\r\n127.0.0.1:10"),
    ]);
    let done = post(&s, &path, &body, "");
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.header("location"), Some("/"));
    let cookie = session_of(&done);
    let dash = get(&s, "/", &cookie);
    assert_eq!(dash.status, 200);
    assert!(dash.body.contains("root") && dash.body.contains("administrator"));
    // The listener's address as bound (the configuration says port 0).
    assert!(dash.body.contains(&s.addr.to_string()), "{}", dash.body);
    assert!(!file.exists());
    // The gateway settings went into the configuration file and were applied by a reload.
    let text = std::fs::read_to_string(&s.config_path).unwrap();
    assert!(text.contains("hostname = \"gw.example\""), "{text}");
    assert!(text.contains("\"127.0.0.1:10\""), "{text}");
    assert!(s.wait_log("configuration reloaded", WAIT));
    // Used once: the link is gone, whatever is sent.
    assert_eq!(get(&s, &path, "").status, 404);
    assert_eq!(post(&s, &path, &body, "").status, 404);
    let (code, out, _) = s.cli(&["user", "list", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 1);
    assert!(out.contains("\"name\":\"root\"") && out.contains("\"role\":\"administrator\""));
    assert_not_logged(&s, &[ROOT_PW, &encode(ROOT_PW)]);
}

#[test]
fn wrong_passwords_are_throttled_and_reported() {
    let s = start();
    add_user(&s, "alice", "auditor", ALICE_PW);
    // A password on stdin (not a terminal), as scripts give it.
    let mut child = Command::new(binary())
        .args(["user", "add", "bob", "--role", "remediator", "--config"])
        .arg(&s.config_path)
        .arg("--data-dir")
        .arg(data(&s))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"bob's long password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    // With an account, the set-up link made at start no longer works.
    let link = std::fs::read_to_string(data(&s).join("setup-link")).unwrap();
    let path = link.trim().strip_prefix("https://localhost").unwrap();
    assert_eq!(get(&s, path, "").status, 404);
    let (code, out, _) = s.cli(&["user", "list"]);
    assert_eq!(code, 0);
    assert!(out.contains("alice") && out.contains("auditor") && out.contains("never"));
    let wrong = form(&[("user", "alice"), ("password", "not alice's password")]);
    let statuses: Vec<u16> = (0..6)
        .map(|_| post(&s, "/login", &wrong, "").status)
        .collect();
    assert_eq!(statuses, [403, 403, 403, 403, 429, 429]);
    // Locked out: the account, and this client for any account.
    let right = form(&[("user", "bob"), ("password", "bob's long password")]);
    let locked = post(&s, "/login", &right, "");
    assert_eq!(locked.status, 429);
    // The lock-out's 15 minutes, counted from the failure that set it (a second may have passed).
    let wait: u64 = locked.header("retry-after").unwrap().parse().unwrap();
    assert!((895..=900).contains(&wait), "Retry-After: {wait}");
    let kinds = event_kinds(&s);
    let count = |k: &str| kinds.iter().filter(|x| *x == k).count();
    assert_eq!(count("admin.logon.failed"), 5, "{kinds:?}");
    assert_eq!(count("admin.logon.throttled"), 3, "{kinds:?}");
    let third = kinds
        .iter()
        .position(|k| k == "admin.logon.throttled")
        .unwrap();
    assert_eq!(
        kinds[..third]
            .iter()
            .filter(|k| *k == "admin.logon.failed")
            .count(),
        3
    );
    assert_eq!(count("admin.change"), 2, "two accounts added: {kinds:?}");
    assert_not_logged(
        &s,
        &[ALICE_PW, "not alice's password", "bob's long password"],
    );
}

#[test]
fn sessions_csrf_roles_and_tokens() {
    let offset = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(offset.path(), "0").unwrap();
    let s = start_with(&[("SLUICE_CLOCK_OFFSET_FILE", offset.path().to_str().unwrap())]);
    add_user(&s, "root", "administrator", ROOT_PW);
    add_user(&s, "alice", "auditor", ALICE_PW);
    let root = log_in(&s, "root", ROOT_PW);
    let users = get(&s, "/users", &root);
    assert_eq!(users.status, 200);
    let csrf = csrf_of(&users.body);
    // A form without the session's token is refused; with it, it acts.
    let add = |token: &str| {
        let body = form(&[
            ("csrf", token),
            ("name", "carol"),
            ("role", "remediator"),
            ("password", "carol's long password"),
            ("again", "carol's long password"),
        ]);
        post(&s, "/users", &body, &root)
    };
    assert_eq!(add("forged").status, 403);
    assert_eq!(add("").status, 403);
    let ok = add(&csrf);
    assert_eq!(ok.status, 303);
    assert_eq!(ok.header("location"), Some("/users?ok=added"));
    // An auditor reads the audit log but may not manage users: 403 and an audit entry.
    let alice = log_in(&s, "alice", ALICE_PW);
    assert_eq!(get(&s, "/users", &alice).status, 403);
    let audit = get(&s, "/audit", &alice);
    assert_eq!(audit.status, 200);
    assert!(audit.body.contains("user.add") && audit.body.contains("carol"));
    assert!(audit.body.contains("denied"));
    assert!(event_kinds(&s).contains(&"admin.access_denied".to_string()));
    // A password changed from the command line ends alice's session.
    let file = s.dir.path().join("new.pw");
    std::fs::write(&file, "alice's new long password\n").unwrap();
    let (code, _, err) = s.cli(&[
        "user",
        "passwd",
        "alice",
        "--password-file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(get(&s, "/audit", &alice).status, 303);
    // Tokens: printed once, alone on stdout; they work on the API until revoked or expired.
    let (code, token, err) = s.cli(&["token", "create", "--user", "root", "--expires", "1h"]);
    assert_eq!(code, 0, "{err}");
    let token = token.trim().to_string();
    assert!(token.starts_with("slc_") && !token.contains(char::is_whitespace));
    let bearer = format!("Authorization: Bearer {token}\r\n");
    let me = get(&s, "/api/v1/whoami", &bearer);
    assert_eq!(me.status, 200, "{}", me.body);
    assert!(me.body.contains("\"user\":\"root\""));
    // A session cookie is not a credential for the API, nor a token for the pages.
    assert_eq!(get(&s, "/api/v1/whoami", &root).status, 401);
    assert_eq!(get(&s, "/users", &bearer).status, 303);
    let (_, forever, _) = s.cli(&["token", "create", "--user", "root"]);
    let forever = format!("Authorization: Bearer {}\r\n", forever.trim());
    let id = &forever["Authorization: Bearer slc_".len()..][..12];
    let (code, listed, _) = s.cli(&["token", "list", "--user", "root"]);
    assert_eq!(code, 0);
    assert!(listed.contains(id) && !listed.contains(&token[17..]));
    let (code, _, _) = s.cli(&["token", "revoke", id]);
    assert_eq!(code, 0);
    assert_eq!(get(&s, "/api/v1/whoami", &forever).status, 401);
    let (code, _, _) = s.cli(&["token", "revoke", id]);
    assert_eq!(code, 1);
    // Idle for 31 minutes: root's session is over; the 1 h token still works, then expires.
    std::fs::write(offset.path(), "1860").unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let home = get(&s, "/", &root);
    assert_eq!(home.status, 303);
    assert_eq!(get(&s, "/api/v1/whoami", &bearer).status, 200);
    std::fs::write(offset.path(), "3700").unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(get(&s, "/api/v1/whoami", &bearer).status, 401);
    // The last administrator stays.
    let (code, _, err) = s.cli(&["user", "remove", "root"]);
    assert_eq!(code, 1);
    assert!(err.contains("last enabled administrator"), "{err}");
    assert_not_logged(
        &s,
        &[
            ROOT_PW,
            ALICE_PW,
            "carol's long password",
            &encode("carol's long password"),
            &token[17..],
        ],
    );
}

#[test]
fn a_user_changes_their_own_password_with_the_csrf_token_and_the_current_password() {
    let s = start();
    add_user(&s, "alice", "auditor", ALICE_PW);
    let here = log_in(&s, "alice", ALICE_PW);
    let elsewhere = log_in(&s, "alice", ALICE_PW);
    let page = get(&s, "/account/password", &here);
    assert_eq!(page.status, 200);
    let csrf = csrf_of(&page.body);
    let new = "alice's brand new password";
    let change = |token: &str, current: &str| {
        let body = form(&[
            ("csrf", token),
            ("current", current),
            ("password", new),
            ("again", new),
        ]);
        post(&s, "/account/password", &body, &here)
    };
    // Without the session's token: refused before anything is checked.
    assert_eq!(change("forged", ALICE_PW).status, 403);
    let wrong = change(&csrf, "not alice's password");
    assert_eq!(wrong.status, 403);
    assert!(wrong.body.contains("The current password is wrong."));
    let ok = change(&csrf, ALICE_PW);
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(ok.header("location"), Some("/account/password?ok=changed"));
    let renewed = session_of(&ok);
    assert_eq!(get(&s, "/account", &renewed).status, 200);
    // Both old sessions are over; the new password signs in, the old one not.
    assert_eq!(get(&s, "/account", &here).status, 303);
    assert_eq!(get(&s, "/account", &elsewhere).status, 303);
    log_in(&s, "alice", new);
    let old = post(
        &s,
        "/login",
        &form(&[("user", "alice"), ("password", ALICE_PW)]),
        "",
    );
    assert_eq!(old.status, 403);
    assert!(event_kinds(&s).contains(&"admin.change".to_string()));
    assert_not_logged(&s, &[ALICE_PW, new, &encode(new), "not alice's password"]);
}
