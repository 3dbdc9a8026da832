//! Hostile values for the UI's security tests, and how to put them into the store through the real
//! binary: a message whose subject, envelope sender, body and attachment names carry them, held by
//! a policy whose name carries them too. Every page that shows such a message, incident or policy
//! must render them as inert text (`tests/browser/lib.mjs`: `noInjection`, `showsLiterally`).
//!
//! The payloads that would run set `window.__xss`, so a page where one ran is caught even if the
//! markup left behind looks harmless.
#![allow(dead_code)]

use base64::Engine;

use super::client::{Client, Reply};
use super::sluice::Sluice;

/// (what it probes, the value). All are printable and shown literally by a correct page, except
/// the RTL override, which a page may show with the override neutralised.
pub const VALUES: &[(&str, &str)] = &[
    ("script element", "<script>alert(1)</script>"),
    ("attribute break-out", "\"><img src=x onerror=alert(1)>"),
    (
        "handler that marks",
        "<img src=x onerror=\"window.__xss=1\">",
    ),
    ("svg onload", "<svg onload=\"window.__xss=2\">"),
    ("javascript URL", "javascript:window.__xss=3//"),
    (
        "textarea break-out",
        "</textarea><script>window.__xss=4</script>",
    ),
    (
        "single-quote attribute",
        "' autofocus onfocus='window.__xss=5",
    ),
    ("title break-out", "</title><script>window.__xss=6</script>"),
    ("template", "{{7*7}} ${7*7} <%= 7*7 %>"),
    ("RTL override", "invoice\u{202E}fdp.exe"),
];

/// The values alone.
pub fn values() -> Vec<&'static str> {
    VALUES.iter().map(|(_, v)| *v).collect()
}

/// The values as a JSON array (for `SLUICE_HOSTILE`, read by `lib.mjs`'s `hostileValues()`).
pub fn json() -> String {
    serde_json::to_string(&values()).expect("JSON of strings")
}

/// The values a page must show literally as text (all but the RTL override).
pub fn json_literal() -> String {
    let v: Vec<&str> = VALUES
        .iter()
        .filter(|(what, _)| *what != "RTL override")
        .map(|(_, v)| *v)
        .collect();
    serde_json::to_string(&v).expect("JSON of strings")
}

/// An envelope sender whose quoted local part is hostile (RFC 5321 allows `<`, `>`, `/` and
/// parentheses in a quoted string).
pub const SENDER: &str = "\"<script>alert(1)</script>\"@corp.example";

/// The keyword the policies from [`policy`] match (put in every hostile message's body).
pub const KEYWORD: &str = "hostile-payload-marker";

/// A `[[policy]]` with this id and action whose name is every hostile value, matching [`KEYWORD`].
/// `extra` adds keys (e.g. `approvers = [...]` for `action = "approval"`).
pub fn policy(id: u32, action: &str, extra: &str) -> String {
    let name = toml_string(&values().join(" "));
    format!(
        "[[policy]]\nid = {id}\nname = {name}\naction = \"{action}\"\nkeywords = [\"{KEYWORD}\"]\n{extra}\n"
    )
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A Subject header value carrying every hostile value, as RFC 2047 encoded words (so the RTL
/// override and the quotes survive any transport).
pub fn subject() -> String {
    values()
        .iter()
        .map(|v| encoded_word(v))
        .collect::<Vec<_>>()
        .join("\r\n ")
}

fn encoded_word(v: &str) -> String {
    format!(
        "=?UTF-8?B?{}?=",
        base64::engine::general_purpose::STANDARD.encode(v)
    )
}

/// The subject as a reader decodes it (adjacent encoded words join without the space between).
pub fn subject_text() -> String {
    values().concat()
}

/// The policy name [`policy`] gives.
pub fn policy_name() -> String {
    values().join(" ")
}

/// RFC 2231 `filename*=` for any name.
fn filename_param(name: &str) -> String {
    let mut out = String::from("filename*=UTF-8''");
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A message with the hostile subject, a text body holding every value and the keyword, and one
/// attachment named after each value.
pub fn message(to: &str) -> String {
    let mut m = format!(
        "From: {SENDER}\r\nTo: <{to}>\r\nSubject: {}\r\nMessage-ID: <hostile@corp.example>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"hostile-b\"\r\n\r\n\
         --hostile-b\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
        subject(),
        base64::engine::general_purpose::STANDARD
            .encode(format!("{KEYWORD}\n{}\n", values().join("\n")))
    );
    for v in values() {
        m.push_str(&format!(
            "--hostile-b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; {}\r\n\r\n\
             attachment\r\n",
            filename_param(v)
        ));
    }
    m.push_str("--hostile-b--\r\n");
    m
}

/// Sends [`message`] to `to` through a Sluice whose policies include [`policy`] with
/// `action = "quarantine"`; returns the held message's id.
pub fn quarantine(sluice: &Sluice, to: &str) -> u64 {
    held_id(&send(sluice, to))
}

/// The held message's id in the proxy's reply to a quarantined message ("... held as N for
/// review"); panics on any other reply.
pub fn held_id(r: &Reply) -> u64 {
    assert!(r.code == 250 && r.text.contains("held as"), "not held: {r}");
    r.text
        .split("held as ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("not held: {r}"))
}

/// Sends [`message`] from [`SENDER`] to `to` through the proxy; returns the final reply.
pub fn send(sluice: &Sluice, to: &str) -> Reply {
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let r = c.send(SENDER, &[to], &message(to));
    c.quit();
    r
}
