//! Unit tests: true positives and tricky negatives for the number- and letter-shaped identifiers,
//! breadth, context and same-span resolution. Synthetic values only (test cards, example IBANs).

use super::*;

/// Scans with the embedded set for one type at one breadth; returns (matched text, confidence).
pub(super) fn check(text: &str, ty: &str, breadth: Breadth) -> Vec<(String, Confidence)> {
    let mut out = Vec::new();
    Identifiers::embedded().scan(text, Some(&[(ty.to_string(), breadth)]), &mut out);
    for h in &out {
        assert_eq!(h.detector, ty);
        assert!(
            !h.redacted.contains(&text[h.start..h.end]),
            "evidence {} reveals {}",
            h.redacted,
            &text[h.start..h.end]
        );
    }
    out.iter()
        .map(|h| (text[h.start..h.end].to_string(), h.confidence))
        .collect()
}

/// Matched texts for one type at medium breadth.
pub(super) fn found(text: &str, ty: &str) -> Vec<String> {
    check(text, ty, Breadth::Medium)
        .into_iter()
        .map(|(s, _)| s)
        .collect()
}

/// Asserts that each text yields exactly one hit of `ty` (the whole value after a label).
fn all_found(ty: &str, values: &[&str]) {
    for v in values {
        let text = format!("Details follow: {v} (see above)");
        assert_eq!(
            found(&text, ty),
            vec![v.to_string()],
            "{ty} should match {v:?}"
        );
    }
}

/// Asserts that none of the texts yields a hit of `ty` at medium breadth.
fn none_found(ty: &str, texts: &[&str]) {
    for t in texts {
        assert_eq!(
            found(t, ty),
            Vec::<String>::new(),
            "{ty} should not match in {t:?}"
        );
    }
}

#[test]
fn identifiers_are_shareable_across_threads() {
    fn send_sync<T: Send + Sync + Clone>() {}
    send_sync::<Identifiers>();
}

#[test]
fn embedded_definitions_compile() {
    let ids = Identifiers::from_toml(EMBEDDED_DEFINITIONS).expect("embedded definitions compile");
    let names: Vec<&str> = ids.names().collect();
    for n in [
        "CREDIT_CARD",
        "US_SSN",
        "IBAN",
        "SWIFT_BIC",
        "US_BANK_ROUTING",
        "UK_NINO",
        "CA_SIN",
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "IP_ADDRESS",
        "AWS_ACCESS_KEY",
        "AWS_SECRET_KEY",
        "PRIVATE_KEY",
        "GITHUB_TOKEN",
        "SLACK_TOKEN",
        "JWT",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    assert_eq!(
        names.iter().filter(|n| **n == "IP_ADDRESS").count(),
        1,
        "names are listed once"
    );
}

#[test]
fn credit_cards_of_every_issuer() {
    all_found(
        "CREDIT_CARD",
        &[
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "4111111111111111",
            "5555 5555 5555 4444",
            "2223 0031 2200 3222",
            "3782 822463 10005",
            "378282246310005",
            "6011 1111 1111 1117",
            "3530 1113 3330 0000",
            "3056 9309 0259 04",
            "6200 0000 0000 0005",
            "6759 6498 2643 8453",
        ],
    );
}

#[test]
fn credit_card_negatives() {
    none_found(
        "CREDIT_CARD",
        &[
            "Luhn fails: 4111 1111 1111 1112",
            "mixed separators 4111-1111 1111-1111",
            "all zeros 0000 0000 0000 0000",
            "unknown issuer 9111 1111 1111 1110",
            "Order 1234567890123452 was shipped",
            "ISBN 9780306406157 and 978-0-306-40615-7",
            "timestamp 1700000000000 ms",
            "uuid 123e4567-e89b-12d3-a456-426614174000",
            "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "glued x4111111111111111 and 4111111111111111abc",
            "ref INV-4111-1111-1111-1111",
        ],
    );
}

#[test]
fn credit_card_beside_other_numbers() {
    assert_eq!(
        found("Qty 2 4111 1111 1111 1111 2025", "CREDIT_CARD"),
        vec!["4111 1111 1111 1111"]
    );
    assert_eq!(
        found("cards 4111111111111111, 5555555555554444.", "CREDIT_CARD").len(),
        2
    );
}

#[test]
fn ssn_rules() {
    all_found("US_SSN", &["536-22-8741", "536 22 8741"]);
    none_found(
        "US_SSN",
        &[
            "area 000-12-3456",
            "area 666-12-3456",
            "area 912-34-5678",
            "group 536-00-8741",
            "serial 536-22-0000",
            "Woolworth 078-05-1120",
            "219-09-9999",
            "textbook 123-45-6789",
            "advertising 987-65-4321",
            "mixed 536-22 8741",
            "repeated 111-11-1111",
            "bare without context 536228741",
            "date 2024-03-15",
        ],
    );
    assert_eq!(
        found("SSN: 536228741", "US_SSN"),
        vec!["536228741"],
        "bare with context"
    );
}

#[test]
fn iban_forms() {
    all_found(
        "IBAN",
        &[
            "GB82 WEST 1234 5698 7654 32",
            "GB82WEST12345698765432",
            "DE89 3704 0044 0532 0130 00",
            "FR14 2004 1010 0505 0001 3M02 606",
            "NO93 8601 1117 947",
        ],
    );
    none_found(
        "IBAN",
        &[
            "bad check GB82 WEST 1234 5698 7654 33",
            "short DE89 3704 0044 0532 0130",
            "unknown country ZZ82 WEST 1234 5698 7654 32",
            "glued xGB82WEST12345698765432",
            "lower case gb82 west 1234 5698 7654 32",
        ],
    );
    assert_eq!(
        found("IBAN DE89 3704 0044 0532 0130 00 BIC DEUTDEFF", "IBAN"),
        vec!["DE89 3704 0044 0532 0130 00"]
    );
}

#[test]
fn swift_bic_needs_its_word() {
    assert_eq!(found("SWIFT: DEUTDEFF", "SWIFT_BIC"), vec!["DEUTDEFF"]);
    assert_eq!(
        found("bic code NWBKGB2L for the transfer", "SWIFT_BIC"),
        vec!["NWBKGB2L"]
    );
    assert_eq!(
        found("Swift DEUTDEFF500 please", "SWIFT_BIC"),
        vec!["DEUTDEFF500"]
    );
    none_found(
        "SWIFT_BIC",
        &[
            "DEUTDEFF without the word",
            "SWIFT: TRANSFER pending",
            "SWIFT code DEUTZZFF",
            "SWIFT branch DEUTDEFFX12",
            "Taylor Swift sang ACCOUNTS",
        ],
    );
    // Even at wide breadth an upper-case word alone is not a BIC.
    assert!(check("PLEASE ACKNOWLEDGE RECEIPT", "SWIFT_BIC", Breadth::Wide).is_empty());
}

#[test]
fn routing_numbers() {
    let narrow = |t: &str| check(t, "US_BANK_ROUTING", Breadth::Narrow);
    assert_eq!(
        narrow("Routing number: 021000021"),
        vec![("021000021".into(), Confidence::High)]
    );
    assert_eq!(narrow("ABA 011000015, checking").len(), 1);
    for t in [
        "Routing number: 021000022",
        "no context 021000021",
        "routing 000000000",
        "routing 991000027",
    ] {
        assert!(narrow(t).is_empty(), "{t}");
    }
    // Narrow is the default breadth: a bare 9-digit number is no routing number without the word.
    let mut out = Vec::new();
    Identifiers::embedded().scan("ref 021000021", None, &mut out);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(
        check("no context 021000021", "US_BANK_ROUTING", Breadth::Wide).len(),
        1
    );
}

#[test]
fn uk_nino() {
    all_found("UK_NINO", &["AB123456C", "AB 12 34 56 C", "JG103759A"]);
    none_found(
        "UK_NINO",
        &[
            "first letter DA123456C",
            "second letter O AO123456C",
            "prefix GB123456C",
            "prefix NK123456A",
            "prefix ZZ123456A",
            "suffix AB123456E",
            "glued XAB123456C",
        ],
    );
}

/// The last digit that makes `first8` Luhn-valid.
fn luhn_complete(first8: &str) -> String {
    (0..10)
        .map(|d| format!("{first8}{d}"))
        .find(|s| validate::luhn(s.as_bytes()))
        .unwrap_or_default()
}

#[test]
fn canadian_sin() {
    all_found("CA_SIN", &["130 692 544", "728-451-295"]);
    let eight = luhn_complete("84645428");
    let zero = luhn_complete("04645428");
    none_found(
        "CA_SIN",
        &[
            "Luhn fails 130 692 545",
            &format!(
                "first digit 8: {} {} {}",
                &eight[0..3],
                &eight[3..6],
                &eight[6..9]
            ),
            &format!(
                "first digit 0: {} {} {}",
                &zero[0..3],
                &zero[3..6],
                &zero[6..9]
            ),
            "mixed 130-692 544",
            "bare without context 946123379",
        ],
    );
    assert_eq!(
        found("SIN 946123379", "CA_SIN"),
        vec!["946123379"],
        "bare with context"
    );
}

#[test]
fn email_addresses() {
    all_found(
        "EMAIL_ADDRESS",
        &[
            "jane.doe@example.com",
            "j_o+tag@mail.example.co.uk",
            "x1@xn--bcher-kva.example",
        ],
    );
    none_found(
        "EMAIL_ADDRESS",
        &[
            "user@localhost",
            "a@b.c",
            "@example.com",
            "john@@example.com",
            ".dot.@example.com.",
            "a..b@example.com",
        ],
    );
    assert_eq!(
        found("<mailto:jane.doe@example.com>.", "EMAIL_ADDRESS"),
        vec!["jane.doe@example.com"]
    );
}

#[test]
fn phone_numbers() {
    all_found(
        "PHONE_NUMBER",
        &[
            "(415) 555-2671",
            "415-555-2671",
            "415.555.2671",
            "+1 415 555 2671",
            "1-800-555-2671",
            "+44 20 7946 0958",
            "+33 1 23 45 67 89",
            "+49 30 901820",
        ],
    );
    none_found(
        "PHONE_NUMBER",
        &[
            "date 2024-03-15 10:30",
            "Order no. 415-555-2671",
            "Invoice 415-555-2671",
            "area code 1: 123-456-7890",
            "N11 area 911-555-2671",
            "bare 4155552671 without context",
            "version 10.2.3.4",
            "unassigned +28 123 456 789",
            "invoice number INV-2024-555-1234",
            "timestamp 1700000000",
        ],
    );
    assert_eq!(
        found("call me on 4155552671", "PHONE_NUMBER"),
        vec!["4155552671"]
    );
}

#[test]
fn ip_addresses() {
    all_found(
        "IP_ADDRESS",
        &[
            "192.168.1.10",
            "10.0.0.1",
            "2001:db8::8a2e:370:7334",
            "fe80::1",
            "::ffff:192.0.2.128",
        ],
    );
    assert_eq!(
        found("net 10.1.2.0/24 routed", "IP_ADDRESS"),
        vec!["10.1.2.0"]
    );
    none_found(
        "IP_ADDRESS",
        &[
            "octet 256.1.1.1",
            "leading zero 192.168.01.1",
            "version 10.2.3.4",
            "upgrade to 10.2.3.4-beta",
            "v10.2.3.4",
            "five parts 1.2.3.4.5",
            "time 12:30:45",
            "std::vector<int>",
            "mac 00:1A:2B:3C:4D:5E",
            "Note: see below",
            "times 10:30 and 11:45",
        ],
    );
}

#[test]
fn business_text_has_no_false_positives() {
    let text = "Hi team, invoice INV-20931 for $12,499.00 is due 03/15/2024. Order #5839201 shipped \
        2024-03-14 via tracking 1Z999AA10123456784. We upgraded to version 10.2.3 (build 4521) at 14:05:33. \
        Meeting room 4B, ext. 2231, ISBN 978-3-16-148410-0. Revenue grew 12.5% to 3.4 million in Q3 2023. \
        UUID 123e4567-e89b-12d3-a456-426614174000, commit 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b. \
        Price list v2.14.0, SKU 4006381333931, part 12-3456-78, PO 4500012345.";
    let mut out = Vec::new();
    Identifiers::embedded().scan(text, None, &mut out);
    let shown: Vec<(String, String)> = out
        .iter()
        .map(|h| (h.detector.clone(), text[h.start..h.end].to_string()))
        .collect();
    assert!(shown.is_empty(), "{shown:?}");
}

#[test]
fn breadth_changes_results() {
    // Luhn passes, issuer unknown: wide only, at low confidence.
    let text = "number 9111 1111 1111 1110";
    assert_eq!(
        check(text, "CREDIT_CARD", Breadth::Wide),
        vec![("9111 1111 1111 1110".into(), Confidence::Low)]
    );
    assert!(check(text, "CREDIT_CARD", Breadth::Medium).is_empty());
    // A valid card without a context word: medium yes, narrow no.
    let bare = "paid with 4111 1111 1111 1111 today";
    assert_eq!(check(bare, "CREDIT_CARD", Breadth::Medium).len(), 1);
    assert!(check(bare, "CREDIT_CARD", Breadth::Narrow).is_empty());
    assert_eq!(
        check("visa 4111 1111 1111 1111", "CREDIT_CARD", Breadth::Narrow).len(),
        1
    );
    // Exclusion words drop a candidate at medium, not at wide.
    assert!(check("version 10.2.3.4", "IP_ADDRESS", Breadth::Medium).is_empty());
    assert_eq!(
        check("version 10.2.3.4", "IP_ADDRESS", Breadth::Wide),
        vec![("10.2.3.4".into(), Confidence::Low)]
    );
}

#[test]
fn context_raises_confidence() {
    assert_eq!(
        check("reference 536-22-8741 here", "US_SSN", Breadth::Medium)[0].1,
        Confidence::Medium
    );
    assert_eq!(
        check(
            "social security number 536-22-8741",
            "US_SSN",
            Breadth::Medium
        )[0]
        .1,
        Confidence::High
    );
    assert_eq!(
        check("SSN: 536-22-8741", "US_SSN", Breadth::Medium)[0].1,
        Confidence::High
    );
    // Whole words only: "lesson" does not contain the word "ssn"; the window is bounded.
    assert_eq!(
        check("classn 536-22-8741", "US_SSN", Breadth::Medium)[0].1,
        Confidence::Medium
    );
    let far = format!("SSN {} 536-22-8741", "word ".repeat(80));
    assert_eq!(
        check(&far, "US_SSN", Breadth::Medium)[0].1,
        Confidence::Medium
    );
    let after = "536-22-8741 is her social security number";
    assert_eq!(
        check(after, "US_SSN", Breadth::Medium)[0].1,
        Confidence::High
    );
}

#[test]
fn same_span_keeps_the_most_confident() {
    // 9 bare digits: a routing number (checksum) and maybe an SSN; the routing context decides.
    let text = "routing 021000021";
    let mut out = Vec::new();
    let sel: Vec<(String, Breadth)> = ["US_SSN", "US_BANK_ROUTING", "CA_SIN"]
        .iter()
        .map(|n| (n.to_string(), Breadth::Wide))
        .collect();
    Identifiers::embedded().scan(text, Some(&sel), &mut out);
    let names: Vec<&str> = out.iter().map(|h| h.detector.as_str()).collect();
    assert_eq!(names, vec!["US_BANK_ROUTING"]);
}

#[test]
fn selection_limits_and_ignores_unknown_names() {
    let text = "4111 1111 1111 1111 and jane.doe@example.com";
    let mut out = Vec::new();
    Identifiers::embedded().scan(
        text,
        Some(&[
            ("EMAIL_ADDRESS".into(), Breadth::Medium),
            ("NOPE".into(), Breadth::Wide),
        ]),
        &mut out,
    );
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].detector, "EMAIL_ADDRESS");
    out.clear();
    Identifiers::embedded().scan(text, Some(&[]), &mut out);
    assert!(out.is_empty());
}

#[test]
fn offsets_respect_multibyte_text() {
    let text = "Zahlung für Müller → Karte 4111 1111 1111 1111 — 東京 jane@example.jp ✓ AB123456C";
    let mut out = Vec::new();
    Identifiers::embedded().scan(text, None, &mut out);
    let got: Vec<(&str, &str)> = out
        .iter()
        .map(|h| (h.detector.as_str(), &text[h.start..h.end]))
        .collect();
    assert_eq!(
        got,
        vec![
            ("CREDIT_CARD", "4111 1111 1111 1111"),
            ("EMAIL_ADDRESS", "jane@example.jp"),
            ("UK_NINO", "AB123456C")
        ]
    );
    for h in &out {
        assert!(text.is_char_boundary(h.start) && text.is_char_boundary(h.end));
    }
}

#[test]
fn hits_are_sorted_and_redacted() {
    let text = "SSN 536-22-8741, card 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32, jane.doe@example.com";
    let mut out = Vec::new();
    Identifiers::embedded().scan(text, None, &mut out);
    let ev: Vec<&str> = out.iter().map(|h| h.redacted.as_str()).collect();
    assert_eq!(
        ev,
        vec![
            "***-**-8741",
            "4111 **** **** 1111",
            "GB82 **** **** **** **** 32",
            "j***@example.com"
        ]
    );
    assert!(out.windows(2).all(|w| w[0].start <= w[1].start));
}

#[test]
fn rows_of_a_number_table_are_not_identifiers() {
    let row = "12 536 22 8741 7 95 415 555 2671 33 4111 1111 1111 1111 8 64";
    let mut out = Vec::new();
    Identifiers::embedded().scan(row, None, &mut out);
    assert!(out.is_empty(), "{out:?}");
    // The same values with words around them are found.
    let prose = "SSN 536 22 8741, phone 415 555 2671, card 4111 1111 1111 1111.";
    Identifiers::embedded().scan(prose, None, &mut out);
    let names: Vec<&str> = out.iter().map(|h| h.detector.as_str()).collect();
    assert_eq!(names, vec!["US_SSN", "PHONE_NUMBER", "CREDIT_CARD"]);
}
