//! Signing in to the admin UI of a running test server: accounts through `sluice user add`, forms,
//! GET and POST over HTTPS, the session cookie and a page's CSRF token.
#![allow(dead_code)]

use super::https::{Reply, request};
use super::sluice::Sluice;

/// `sluice user add NAME --role ROLE` with the password in a file.
pub fn add_user(s: &Sluice, name: &str, role: &str, password: &str) {
    let file = s.dir.path().join(format!("{name}.pw"));
    std::fs::write(&file, format!("{password}\n")).unwrap();
    let (code, out, err) = s.cli(&[
        "user",
        "add",
        name,
        "--role",
        role,
        "--password-file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn get(s: &Sluice, path: &str, headers: &str) -> Reply {
    request(
        s,
        &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{headers}\r\n"),
    )
}

pub fn post(s: &Sluice, path: &str, body: &str, headers: &str) -> Reply {
    request(
        s,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n{headers}\r\n{body}",
            body.len()
        ),
    )
}

/// The `Cookie:` header line for the session a response set.
pub fn session_of(r: &Reply) -> String {
    let set = r.header("set-cookie").expect("a session cookie");
    assert!(
        set.ends_with("; Secure; HttpOnly; SameSite=Strict; Path=/"),
        "{set}"
    );
    format!("Cookie: {}\r\n", set.split(';').next().unwrap())
}

pub fn log_in(s: &Sluice, user: &str, password: &str) -> String {
    let r = post(
        s,
        "/login",
        &form(&[("user", user), ("password", password)]),
        "",
    );
    assert_eq!(r.status, 303, "{}", r.body);
    session_of(&r)
}

pub fn csrf_of(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a CSRF field")
        .to_string()
}

/// CSV records as text cells (a byte-order mark first is skipped): a report's
/// download or `sluice report --csv` output.
pub fn read_csv(bytes: &[u8]) -> Vec<Vec<String>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}
