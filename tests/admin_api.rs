//! The JSON API through the real binary, as a script uses it: a bearer token from `sluice token
//! create` (no session, no CSRF) lists and changes policies (an invalid one refused with its line,
//! nothing written), tests a policy against an .eml, changes a setting that then shows in the API
//! and in the configuration file, reads the history and rolls back, reads the audit log, the status
//! and the certificate (and installs one), manages accounts and its own tokens; a token of a lower role gets 403
//! and changes nothing.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::admin::add_user;
use support::https::{Reply, request};
use support::sluice::{Sluice, config};

const POLICIES: &str = r#"
[[policy]]
id = 1
name = "Falcon"
action = "block"
keywords = ["project falcon"]

[[policy]]
id = 2
name = "Second"
action = "log"
keywords = ["zzqq"]
"#;

const EML: &str = "From: alice@corp.example\r\nTo: bob@partner.example\r\nSubject: plans\r\n\r\nThe project eagle numbers.\r\n";

struct Api<'a> {
    s: &'a Sluice,
    auth: String,
}

impl Api<'_> {
    fn send(&self, method: &str, path: &str, ctype: &str, body: &str) -> Reply {
        let head = match ctype {
            "" => String::new(),
            t => format!("Content-Type: {t}\r\nContent-Length: {}\r\n", body.len()),
        };
        request(
            self.s,
            &format!(
                "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{}{head}\r\n{body}",
                self.auth
            ),
        )
    }

    fn get(&self, path: &str) -> (u16, Value) {
        decode(self.send("GET", path, "", ""))
    }

    fn json(&self, method: &str, path: &str, body: &str) -> (u16, Value) {
        decode(self.send(method, path, "application/json", body))
    }
}

fn decode(r: Reply) -> (u16, Value) {
    let v =
        serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{} {e}: {:?}", r.status, r.body));
    (r.status, v)
}

/// A server with `policies`, an administrator `root` and an auditor `audrey`.
fn start(policies: &str) -> Sluice {
    let relay = "mode = \"forward\"\nhosts = [\"127.0.0.1:9\"]";
    let s = Sluice::start(&config("", relay, policies));
    assert!(s.wait_log("admin UI serving", Duration::from_secs(10)));
    add_user(&s, "root", "administrator", "the admin's long password");
    add_user(&s, "audrey", "auditor", "the auditor's long password");
    s
}

/// The API as `user`, with a token from `sluice token create`.
fn api<'a>(s: &'a Sluice, user: &str) -> Api<'a> {
    let (code, out, err) = s.cli(&["token", "create", "--user", user]);
    assert_eq!(code, 0, "{err}");
    Api {
        s,
        auth: format!("Authorization: Bearer {}\r\n", out.trim()),
    }
}

fn names(v: &Value) -> Vec<String> {
    v["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_script_with_a_bearer_token_manages_policies_and_settings() {
    let s = start(POLICIES);
    let (root, audrey) = (api(&s, "root"), api(&s, "audrey"));
    let file = || std::fs::read_to_string(&s.config_path).unwrap();

    // The list, one policy with its text and fields.
    let (code, list) = root.get("/api/v1/policies");
    assert_eq!(code, 200, "{list}");
    assert_eq!(names(&list), ["Falcon", "Second"]);
    let (code, one) = root.get("/api/v1/policies/Falcon");
    assert_eq!(code, 200, "{one}");
    assert!(one["text"].as_str().unwrap().contains("project falcon"));
    assert_eq!(one["fields"]["keywords"][0], "project falcon");
    assert_eq!(root.get("/api/v1/policies/Nope").0, 404);

    // Refusals change nothing: an invalid policy (with its line), a bad body, a lower role.
    let before = file();
    let bad = "[[policy]]\nid = 1\nname = \"Falcon\"\naction = \"explode\"\nkeywords = [\"x\"]\n";
    let body = serde_json::json!({ "text": bad }).to_string();
    let (code, err) = root.json("PUT", "/api/v1/policies/Falcon", &body);
    assert_eq!(code, 422, "{err}");
    assert_eq!(err["error"]["place"], "policy");
    assert_eq!(err["error"]["line"], 4);
    let (code, err) = root.json("PUT", "/api/v1/policies/Falcon", "{\"text\": ");
    assert_eq!(code, 400);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("invalid JSON body")
    );
    let fields = r#"{"fields": {"id": 1, "name": "Falcon", "enabled": true, "mode": "enforce",
        "severity": "high", "action": "block", "keywords": ["project eagle"]}}"#;
    let (code, err) = audrey.json("PUT", "/api/v1/policies/Falcon", fields);
    assert_eq!(code, 403, "{err}");
    assert_eq!(file(), before);

    // Saved from fields, then reordered and disabled in one change.
    let (code, saved) = root.json("PUT", "/api/v1/policies/Falcon", fields);
    assert_eq!(code, 200, "{saved}");
    assert!(saved["version"].as_u64().is_some(), "{saved}");
    assert!(file().contains("project eagle") && !file().contains("project falcon"));
    let (code, moved) = root.json(
        "PATCH",
        "/api/v1/policies/Second",
        r#"{"position": 0, "enabled": false}"#,
    );
    assert_eq!(code, 200, "{moved}");
    let (_, list) = root.get("/api/v1/policies");
    assert_eq!(names(&list), ["Second", "Falcon"]);
    assert_eq!(list["policies"][0]["enabled"], false);

    // The .eml against the configuration as it runs, and against a candidate (not saved).
    let r = root.send("POST", "/api/v1/policy-test", "message/rfc822", EML);
    let (code, probe) = decode(r);
    assert_eq!(code, 200, "{probe}");
    assert_eq!(probe["outcome"]["kind"], "refused", "{probe}");
    assert_eq!(probe["violations"][0]["name"], "Falcon");
    let candidate =
        "[[policy]]\nid = 1\nname = \"Falcon\"\naction = \"log\"\nkeywords = [\"project eagle\"]\n";
    let multipart = format!(
        "--XyZ\r\nContent-Disposition: form-data; name=\"original\"\r\n\r\nFalcon\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n{candidate}\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"eml\"; filename=\"m.eml\"\r\n\r\n{EML}\r\n--XyZ--\r\n"
    );
    let r = root.send(
        "POST",
        "/api/v1/policy-test",
        "multipart/form-data; boundary=XyZ",
        &multipart,
    );
    let (code, probe) = decode(r);
    assert_eq!(code, 200, "{probe}");
    assert_eq!(probe["outcome"]["kind"], "sent", "{probe}");
    assert_eq!(probe["violations"][0]["action"], "log", "{probe}");
    assert!(
        file().contains("action = \"block\""),
        "the test saved nothing"
    );

    let (code, gone) = root.json("DELETE", "/api/v1/policies/Second", "");
    assert_eq!(code, 200, "{gone}");
    assert_eq!(names(&root.get("/api/v1/policies").1), ["Falcon"]);

    // A setting: changed by PUT, seen in GET and in the file; refusals change nothing.
    let (code, group) = root.get("/api/v1/settings/listener");
    assert_eq!(code, 200, "{group}");
    let sessions = |g: &Value| {
        g["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["key"] == "listener.max_sessions")
            .unwrap()["value"]
            .clone()
    };
    let old = sessions(&group);
    assert!(old.is_number(), "{group}");
    let before = file();
    let put = |api: &Api, body: &str| api.json("PUT", "/api/v1/settings/listener", body);
    assert_eq!(put(&root, "{\"values\": ").0, 400);
    let (code, err) = put(&root, r#"{"values": {"relay.mode": "reflect"}}"#);
    assert_eq!(code, 400, "{err}");
    let (code, err) = put(&root, r#"{"values": {"listener.max_sessions": "lots"}}"#);
    assert_eq!(code, 400, "{err}");
    assert_eq!(
        put(&audrey, r#"{"values": {"listener.max_sessions": 77}}"#).0,
        403
    );
    assert_eq!(file(), before);
    let (code, applied) = put(&root, r#"{"values": {"listener.max_sessions": 77}}"#);
    assert_eq!(code, 200, "{applied}");
    let settings_version = applied["version"].as_u64().unwrap();
    assert_eq!(sessions(&root.get("/api/v1/settings/listener").1), 77);
    assert!(file().contains("max_sessions = 77"), "{}", file());
    // Secrets are never shown.
    let (_, admin) = root.get("/api/v1/settings/admin");
    let token = admin["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "admin.metrics_token")
        .unwrap()
        .clone();
    assert_eq!(token["secret"], true);
    assert!(token["value"].is_null());

    // History: the version's diff, and a rollback to the version before it.
    let (code, history) = root.get("/api/v1/config/history");
    assert_eq!(code, 200, "{history}");
    assert_eq!(history["versions"][0]["number"], settings_version);
    let (_, version) = root.get(&format!("/api/v1/config/history/{settings_version}"));
    let diff = version["diff"].to_string();
    assert!(diff.contains("max_sessions = 77"), "{version}");
    assert_eq!(
        audrey
            .json(
                "POST",
                &format!("/api/v1/config/history/{}/rollback", settings_version - 1),
                ""
            )
            .0,
        403
    );
    let (code, back) = root.json(
        "POST",
        &format!("/api/v1/config/history/{}/rollback", settings_version - 1),
        "",
    );
    assert_eq!(code, 200, "{back}");
    assert!(!file().contains("max_sessions = 77"));
    assert_eq!(sessions(&root.get("/api/v1/settings/listener").1), old);

    // The audit log has the changes with before and after, and the refusals.
    let (code, audit) = audrey.get("/api/v1/audit?action=config.");
    assert_eq!(code, 200, "{audit}");
    let entries = audit["entries"].as_array().unwrap();
    assert!(entries.len() >= 5, "{audit}");
    assert!(entries.iter().all(|e| e["actor"] == "root"));
    assert!(
        entries.iter().any(|e| e["after"]
            .as_str()
            .is_some_and(|a| a.contains("max_sessions = 77"))),
        "{audit}"
    );
    let (_, denied) = root.get("/api/v1/audit?actor=audrey");
    assert!(denied.to_string().contains("denied"), "{denied}");
}

#[test]
fn status_certificate_accounts_and_own_tokens() {
    let s = start("");
    let (root, audrey) = (api(&s, "root"), api(&s, "audrey"));

    let (code, status) = audrey.get("/api/v1/status");
    assert_eq!(code, 200, "{status}");
    assert!(
        status["messages"]["messages"]["today"].is_number(),
        "{status}"
    );
    assert!(status["uptime"].is_number());
    let (code, cert) = root.get("/api/v1/certificate");
    assert_eq!(code, 200, "{cert}");
    assert_eq!(cert["self_signed"], true, "{cert}");
    let (code, err) = root.json(
        "PUT",
        "/api/v1/certificate",
        r#"{"certificate": "not PEM", "key": "nor this"}"#,
    );
    assert_eq!(code, 422, "{err}");
    assert_eq!(audrey.json("PUT", "/api/v1/certificate", "{}").0, 403);

    // Accounts: the auditor may not; the last administrator stays.
    assert_eq!(audrey.get("/api/v1/users").0, 403);
    let (code, carl) = root.json(
        "POST",
        "/api/v1/users",
        r#"{"name": "carl", "role": "remediator", "password": "carl's long password"}"#,
    );
    assert_eq!(code, 201, "{carl}");
    assert_eq!(root.json("DELETE", "/api/v1/users/root", "").0, 409);
    assert_eq!(root.json("DELETE", "/api/v1/users/carl", "").0, 200);

    // One's own token: shown once, works, revoked.
    let (code, made) = audrey.json("POST", "/api/v1/tokens", r#"{"expires": "1d"}"#);
    assert_eq!(code, 201, "{made}");
    let fresh = Api {
        s: &s,
        auth: format!(
            "Authorization: Bearer {}\r\n",
            made["token"].as_str().unwrap()
        ),
    };
    assert_eq!(fresh.get("/api/v1/whoami").1["user"], "audrey");
    let (_, mine) = audrey.get("/api/v1/tokens");
    assert_eq!(mine["tokens"].as_array().unwrap().len(), 2);
    let id = made["id"].as_str().unwrap();
    assert_eq!(
        root.json("DELETE", &format!("/api/v1/tokens/{id}"), "").0,
        404
    );
    assert_eq!(
        audrey.json("DELETE", &format!("/api/v1/tokens/{id}"), "").0,
        200
    );
    assert_eq!(fresh.send("GET", "/api/v1/whoami", "", "").status, 401);

    // Last: a new certificate, in use at once (this client trusts only the generated one).
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "from the api");
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let body = serde_json::json!({"certificate": cert.pem(), "key": key.serialize_pem()});
    let (code, now) = root.json("PUT", "/api/v1/certificate", &body.to_string());
    assert_eq!(code, 200, "{now}");
    assert!(
        now["subject"].as_str().unwrap().contains("from the api"),
        "{now}"
    );
    assert!(now["file"].as_str().unwrap().contains("uploaded-"), "{now}");
    let file = std::fs::read_to_string(&s.config_path).unwrap();
    assert!(file.contains(now["file"].as_str().unwrap()), "{file}");
}

#[test]
fn siem_destinations_and_notice_templates_through_the_api() {
    let s = start(POLICIES);
    let (root, audrey) = (api(&s, "root"), api(&s, "audrey"));
    let file = || std::fs::read_to_string(&s.config_path).unwrap();
    let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    receiver
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let address = receiver.local_addr().unwrap().to_string();
    let (code, list) = root.get("/api/v1/settings/siem");
    assert_eq!(
        (code, list["destinations"].as_array().unwrap().len()),
        (200, 0)
    );
    // Added (201), in the file and in force: its test event reaches the receiver.
    let body = format!(
        r#"{{"values": {{"format": "rfc5424", "transport": "udp", "address": "{address}", "categories": "admin, config, system", "min_severity": "0"}}}}"#
    );
    let (code, v) = root.json("PUT", "/api/v1/settings/siem/probe", &body);
    assert_eq!(code, 201, "{v}");
    assert!(file().contains("name = \"probe\""), "{}", file());
    let (code, v) = root.json("POST", "/api/v1/settings/siem/probe/test", "");
    assert_eq!((code, v["sent"].as_bool()), (200, Some(true)), "{v}");
    let mut buf = [0u8; 4096];
    let n = receiver.recv(&mut buf).expect("the test event");
    assert!(String::from_utf8_lossy(&buf[..n]).contains("sluice"));
    let (_, list) = root.get("/api/v1/settings/siem");
    assert_eq!(list["destinations"][0]["values"]["transport"], "udp");
    // Replaced (200); refused with the loader's reason and nothing written; an unknown key is a 400.
    let body = body.replace("rfc5424", "cef");
    assert_eq!(
        root.json("PUT", "/api/v1/settings/siem/probe", &body).0,
        200
    );
    assert!(file().contains("format = \"cef\""));
    let before = file();
    let (code, v) = root.json(
        "PUT",
        "/api/v1/settings/siem/probe",
        &body.replace("cef", "xml"),
    );
    assert_eq!(code, 422, "{v}");
    let (code, _) = root.json(
        "PUT",
        "/api/v1/settings/siem/probe",
        r#"{"values": {"colour": "red"}}"#,
    );
    assert_eq!(code, 400);
    assert_eq!(
        audrey.json("PUT", "/api/v1/settings/siem/probe", &body).0,
        403
    );
    assert_eq!(file(), before);
    // Removed.
    assert_eq!(
        root.send("DELETE", "/api/v1/settings/siem/probe", "", "")
            .status,
        200
    );
    assert!(!file().contains("[[siem]]"), "{}", file());

    // A notice template: preview (an auditor may), save (the administrator), read back.
    let t = r#"{"subject": "Held: ${SUBJECT}", "text": "Your message was held."}"#;
    let leak = r#"{"text": "Handled: ${DISPOSITION}"}"#;
    let preview = "/api/v1/settings/templates/sender_violation/preview";
    let (code, v) = root.json("POST", preview, leak);
    assert_eq!(code, 422, "a sender is never told how it was handled: {v}");
    let (code, v) = audrey.json(
        "POST",
        "/api/v1/settings/templates/sender_violation/preview",
        t,
    );
    assert_eq!(code, 200, "{v}");
    assert!(v["subject"].as_str().unwrap().starts_with("Held: "), "{v}");
    assert!(
        v["text"]
            .as_str()
            .unwrap()
            .contains("Your message was held."),
        "{v}"
    );
    assert_eq!(
        audrey
            .json("PUT", "/api/v1/settings/templates/sender_violation", t)
            .0,
        403
    );
    let (code, v) = root.json("PUT", "/api/v1/settings/templates/sender_violation", t);
    assert_eq!(code, 200, "{v}");
    let (_, v) = root.get("/api/v1/settings/templates/sender_violation");
    assert_eq!(v["subject"], "Held: ${SUBJECT}");
    assert_eq!(root.get("/api/v1/settings/templates/no_such_kind").0, 404);
    // Every change is in the audit log.
    let (_, audit) = root.get("/api/v1/audit");
    assert!(audit.to_string().contains("config"), "{audit}");
}
