//! Identifier context across a message, end to end through `sluice scan --json --show-matches`:
//! a routing number in the Subject found by the word in the body, a customer id beside identity
//! words not taken for an SSN, a bare SIN with its French word.

mod support;

use std::process::Command;

use support::sluice::binary;

/// (type, location, value) of every identifier `sluice scan` finds in a one-part message.
fn findings(subject: &str, body: &str) -> Vec<(String, String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.eml");
    let text = format!(
        "From: <a@corp.example>\r\nTo: <b@partner.example>\r\nSubject: {subject}\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    );
    std::fs::write(&path, text).unwrap();
    // The identifiers alone, at their own breadth: no policy asks for more (or less).
    let config = dir.path().join("sluice.toml");
    std::fs::write(&config, "[inspection]\nbuiltin_policies = \"off\"\n").unwrap();
    let out = Command::new(binary())
        .args(["scan", "--json", "--show-matches", "--config"])
        .arg(&config)
        .arg(&path)
        .output()
        .expect("run sluice scan");
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| !v["type"].is_null())
        .map(|v| (field(&v, "type"), field(&v, "location"), field(&v, "value")))
        .collect()
}

fn one(t: &str, loc: &str, v: &str) -> Vec<(String, String, String)> {
    vec![(t.to_string(), loc.to_string(), v.to_string())]
}

#[test]
fn a_routing_number_in_the_subject_is_found_by_the_word_in_the_body() {
    assert_eq!(
        findings(
            "Payroll update 021000021",
            "Hi,\r\nthe routing number for my direct deposit is in the subject line."
        ),
        one("US_BANK_ROUTING", "header:Subject", "021000021")
    );
    assert_eq!(
        findings("ABA for the new vendor", "Here it is: 021000021. Thanks!"),
        one("US_BANK_ROUTING", "body", "021000021")
    );
    assert!(findings("Payroll update 021000021", "See you Monday.").is_empty());
}

#[test]
fn a_customer_id_beside_identity_words_is_not_an_ssn_and_a_labelled_one_is() {
    assert!(
        findings(
            "Your account",
            "Customer ID 536228741 - please confirm your identity with the last four of your SSN."
        )
        .is_empty()
    );
    assert_eq!(
        findings(
            "Onboarding",
            "Employee SSN 536228741 for the background check."
        ),
        one("US_SSN", "body", "536228741")
    );
}

#[test]
fn a_bare_sin_is_found_by_its_french_or_subject_words() {
    assert_eq!(
        findings("Dossier", "Numéro d\u{2019}assurance sociale : 130692544"),
        one("CA_SIN", "body", "130692544")
    );
    assert_eq!(
        findings("S.I.N. for the new hire", "130692544"),
        one("CA_SIN", "body", "130692544")
    );
}
