//! Unit tests: secrets (cloud keys, tokens, private keys, JWTs), definition errors, and the
//! property that scanning arbitrary text never panics and never leaks a value into evidence.

use proptest::prelude::*;

use super::tests::{check, found};
use super::*;

/// A fake but well-formed PEM body: 64-column lines of base64 characters.
fn pem(label: &str, end_label: &str) -> String {
    let line = "MIIEowIBAAKCAQEAx3k9Qz1hT8cPq0L7mRzV2b5nJwYtK4sUoHdE6fGiCjBlNaXvWy";
    format!(
        "-----BEGIN {label}PRIVATE KEY-----\n{line}\n{line}\n{line}\n-----END {end_label}PRIVATE KEY-----"
    )
}

#[test]
fn aws_access_keys() {
    assert_eq!(
        found("key AKIAIOSFODNN7EXAMPLE ok", "AWS_ACCESS_KEY"),
        vec!["AKIAIOSFODNN7EXAMPLE"]
    );
    assert_eq!(
        found("id=ASIAY34FZKBOKMUTVV7A", "AWS_ACCESS_KEY"),
        vec!["ASIAY34FZKBOKMUTVV7A"]
    );
    for t in [
        "too long AKIAIOSFODNN7EXAMPLEX",
        "too short AKIAIOSFODNN7EXAMPL",
        "glued xAKIAIOSFODNN7EXAMPLE",
        "bad alphabet AKIAIOSFODNN1EXAMPLE",
        "low entropy AKIAAAAAAAAAAAAAAAAA",
    ] {
        assert!(found(t, "AWS_ACCESS_KEY").is_empty(), "{t}");
    }
}

#[test]
fn aws_secret_keys_need_an_aws_word() {
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let hits = check(
        &format!("aws_secret_access_key = {secret}"),
        "AWS_SECRET_KEY",
        Breadth::Medium,
    );
    assert_eq!(hits, vec![(secret.to_string(), Confidence::High)]);
    assert_eq!(
        found(
            &format!("AWS credentials:\n  key: AKIAIOSFODNN7EXAMPLE\n  secret: {secret}\n"),
            "AWS_SECRET_KEY"
        )
        .len(),
        1
    );
    assert!(
        found(&format!("commit {secret} is fine"), "AWS_SECRET_KEY").is_empty(),
        "no aws word"
    );
    assert!(
        found(
            "laws say wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "AWS_SECRET_KEY"
        )
        .is_empty(),
        "laws is not aws"
    );
    let low = "aws secret aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    assert!(found(low, "AWS_SECRET_KEY").is_empty());
    let path = "aws docs at abcdefghijklmnopqrstuvwxyzabcdefghijklmn";
    assert!(
        found(path, "AWS_SECRET_KEY").is_empty(),
        "one character class"
    );
}

#[test]
fn private_key_blocks() {
    for label in ["", "RSA ", "EC ", "OPENSSH ", "ENCRYPTED "] {
        let block = pem(label, label);
        let text = format!("here it is:\n{block}\nthanks");
        let hits = found(&text, "PRIVATE_KEY");
        assert_eq!(hits, vec![block.clone()], "{label}");
    }
    let mut out = Vec::new();
    let block = pem("RSA ", "RSA ");
    Identifiers::embedded().scan(&block, None, &mut out);
    assert_eq!(
        out[0].redacted,
        format!("RSA PRIVATE KEY block [{} bytes]", block.len())
    );
    // Header only, mismatched labels, public keys and certificates.
    let header_only = "-----BEGIN RSA PRIVATE KEY-----\n(truncated)";
    assert!(found(header_only, "PRIVATE_KEY").is_empty());
    assert_eq!(
        check(header_only, "PRIVATE_KEY", Breadth::Wide).len(),
        1,
        "wide reports the header"
    );
    assert!(found(&pem("RSA ", "EC "), "PRIVATE_KEY").is_empty());
    assert!(
        found(
            "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----",
            "PRIVATE_KEY"
        )
        .is_empty()
    );
    assert!(
        found(
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
            "PRIVATE_KEY"
        )
        .is_empty()
    );
}

#[test]
fn github_tokens() {
    let classic = "ghp_1A2b3C4d5E6f7G8h9I0jKlMnOpQrStUvWxYz";
    assert_eq!(classic.len(), 40);
    assert_eq!(
        found(&format!("token: {classic}"), "GITHUB_TOKEN"),
        vec![classic]
    );
    for p in ["gho_", "ghu_", "ghs_", "ghr_"] {
        let t = format!("{p}{}", &classic[4..]);
        assert_eq!(found(&format!("x {t} y"), "GITHUB_TOKEN"), vec![t.clone()]);
    }
    let fine = format!(
        "github_pat_{}_{}",
        "11ABCDEFG0aBcDeFgHiJkL", "mNoPqRsTuVwXyZ0123456789aBcDeFgHiJkLmNoPqRsTuVwXyZ012345678"
    );
    assert_eq!(
        found(&format!("PAT={fine}"), "GITHUB_TOKEN"),
        vec![fine.clone()]
    );
    assert!(found("ghp_short123", "GITHUB_TOKEN").is_empty());
    assert!(
        found(&format!("{classic}X"), "GITHUB_TOKEN").is_empty(),
        "too long"
    );
    assert!(
        found("ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "GITHUB_TOKEN").is_empty(),
        "no entropy"
    );
}

#[test]
fn slack_tokens_and_webhooks() {
    let bot = "xoxb-2048150370-1191523491411-Qk9rT3vX7mB2nL8pZ4wY6sJd";
    assert_eq!(
        found(&format!("SLACK_BOT_TOKEN={bot}"), "SLACK_TOKEN"),
        vec![bot]
    );
    let hook = "hooks.slack.com/services/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";
    assert_eq!(
        found(&format!("post to https://{hook} now"), "SLACK_TOKEN"),
        vec![hook]
    );
    assert!(found("xoxb-123", "SLACK_TOKEN").is_empty());
    assert!(found("hooks.slack.com/services/", "SLACK_TOKEN").is_empty());
}

#[test]
fn jwts_need_an_alg_header() {
    let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
    assert_eq!(
        found(&format!("Authorization: Bearer {jwt}"), "JWT"),
        vec![jwt]
    );
    let no_alg = "eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";
    assert!(found(no_alg, "JWT").is_empty());
    assert_eq!(check(no_alg, "JWT", Breadth::Wide).len(), 1);
    assert!(found("eyJhbGciOiJIUzI1NiJ9 only one segment", "JWT").is_empty());
    let mut out = Vec::new();
    Identifiers::embedded().scan(jwt, None, &mut out);
    assert!(
        out[0].redacted.starts_with("eyJ***") && out[0].redacted.len() < 60,
        "{}",
        out[0].redacted
    );
}

/// Compiles a one-entry definition file and returns the error text.
fn error_of(entry: &str) -> String {
    let text = format!("[[identifier]]\n{entry}\n");
    match Identifiers::from_toml(&text) {
        Ok(_) => String::from("(compiled)"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn definition_errors_name_the_entry_and_the_problem() {
    let base = "name = \"MY_ID\"\ntrigger = \"number\"\ndigits = [9, 9]\npattern = '\\d{9}'";
    assert_eq!(error_of(base), "(compiled)");
    let cases = [
        (format!("{base}\nwide = [\"lunh\"]"), "identifier #1 (MY_ID): `wide` validator \"lunh\": unknown validator"),
        (format!("{base}\nmedium = [\"entropy\"]"), "needs an argument"),
        (format!("{base}\nmedium = [\"luhn:2\"]"), "takes no argument"),
        (format!("{base}\nbreadth = \"broad\""), "unknown breadth \"broad\""),
        (format!("{base}\nconfidence = \"sure\""), "unknown confidence"),
        (format!("{base}\nprefixes = [\"AB\"]"), "field `prefixes` only applies to trigger = \"prefix\""),
        (format!("{base}\nredact = {{ style = \"blur\" }}"), "unknown style \"blur\""),
        (format!("{base}\nwindow = 100000"), "at most 4096"),
        (base.replace("[9, 9]", "[9, 3]"), "`digits` = [9, 3] must satisfy"),
        (base.replace("'\\d{9}'", "'\\d{9'"), "pattern does not compile"),
        (base.replace("\"number\"", "\"numbers\""), "unknown trigger \"numbers\""),
        (base.replace("MY_ID", "my id"), "upper snake case"),
        (base.replace("digits = [9, 9]\n", ""), "needs `digits`"),
        ("name = \"K\"\ntrigger = \"prefix\"\npattern = 'x'\nmax_len = 4".into(), "needs a non-empty `prefixes`"),
        ("name = \"K\"\ntrigger = \"context\"\npattern = 'x'\ntriggers = [\"k\"]\nlength = [1, 2]".into(), "needs `charset`"),
        (format!("{base}\ncolour = 3"), "unknown field `colour`"),
    ];
    for (entry, want) in cases {
        let got = error_of(&entry);
        assert!(
            got.contains(want),
            "for\n{entry}\nwanted {want:?}, got {got:?}"
        );
    }
    let empty = Identifiers::from_toml("")
        .map(|_| ())
        .map_err(|e| e.to_string());
    assert_eq!(
        empty,
        Err("identifier definitions: settings: no [[identifier]] entries".into())
    );
    let bad_toml = Identifiers::from_toml("[[identifier]\nname = 1")
        .map(|_| ())
        .map_err(|e| e.entry);
    assert_eq!(bad_toml, Err("file".into()));
}

#[test]
fn custom_definitions_are_data() {
    let text = r#"
[[identifier]]
name = "EMPLOYEE_ID"
trigger = "alnum"
length = [8, 8]
pattern = 'EM\d{6}'
breadth = "narrow"
context = ["employee"]
redact = { keep_start = 2 }
"#;
    let ids = Identifiers::from_toml(text).expect("compiles");
    assert_eq!(ids.names().collect::<Vec<_>>(), vec!["EMPLOYEE_ID"]);
    let mut out = Vec::new();
    let text = format!(
        "badge EM123456 {} employee EM654321",
        "and so on ".repeat(20)
    );
    ids.scan(&text, None, &mut out);
    assert_eq!(out.len(), 1, "narrow needs the word");
    assert_eq!(out[0].redacted, "EM******");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn scan_never_panics_and_never_leaks(text in "\\PC{0,200}") {
        let mut out = Vec::new();
        Identifiers::embedded().scan(&text, None, &mut out);
        for h in &out {
            prop_assert!(h.start < h.end && h.end <= text.len());
            prop_assert!(text.is_char_boundary(h.start) && text.is_char_boundary(h.end));
            prop_assert!(!h.redacted.contains(&text[h.start..h.end]));
        }
    }

    #[test]
    fn scan_never_panics_on_number_soup(text in "[0-9 .:@()+/A-Za-z\\-_=]{0,300}") {
        for breadth in [Breadth::Wide, Breadth::Medium, Breadth::Narrow] {
            let sel: Vec<(String, Breadth)> = Identifiers::embedded().names().map(|n| (n.to_string(), breadth)).collect();
            let mut out = Vec::new();
            Identifiers::embedded().scan(&text, Some(&sel), &mut out);
            for h in &out {
                prop_assert!(!h.redacted.contains(&text[h.start..h.end]), "{} leaks", h.detector);
            }
        }
    }
}

#[test]
fn hostile_prefix_runs_stay_linear() {
    // 64 KiB of "eyJ-" would cost one 4 KiB regex run per prefix if attempts could overlap.
    let text = "eyJ-".repeat(16 * 1024);
    let mut out = Vec::new();
    Identifiers::embedded().scan(&text, None, &mut out);
    assert!(out.is_empty());
    let dots = "eyJhbGciOiJub25lIn0.eyJ4Ijo1fQ.".repeat(1000);
    Identifiers::embedded().scan(&dots, None, &mut out);
    assert!(!out.is_empty() && out.iter().all(|h| h.detector == "JWT"));
    assert!(
        out.windows(2).all(|w| w[0].end <= w[1].start),
        "hits of one detector do not overlap"
    );
}
