//! Unit tests of where context is found and how strong it must be: the message-level scope
//! (subject and body share context words), labels beside bare nine-digit numbers, other ids'
//! labels as exclusions, and the SIN forms and words.

use super::tests::{check, found};
use super::*;

/// (matched text, confidence) of `ty` at `breadth` in `text`, with `shared` as the other half of
/// the message.
fn scoped(text: &str, shared: &[&str], ty: &str, breadth: Breadth) -> Vec<(String, Confidence)> {
    let mut out = Vec::new();
    let mut sh = Shared::new(shared.to_vec());
    Identifiers::embedded().scan_shared(
        text,
        Some(&[(ty.to_string(), breadth)]),
        &mut sh,
        &mut out,
    );
    out.iter()
        .map(|h| (text[h.start..h.end].to_string(), h.confidence))
        .collect()
}

#[test]
fn a_routing_number_in_the_subject_finds_routing_in_the_body() {
    let subject = "Payroll update 021000021";
    let body = "Hi,\r\nplease use the routing number in the subject line for my direct deposit.";
    assert_eq!(
        scoped(subject, &[body], "US_BANK_ROUTING", Breadth::Narrow),
        vec![("021000021".to_string(), Confidence::High)]
    );
    // The reverse: the subject names it, the number is in the body.
    assert_eq!(
        scoped(
            "Hi, here it is: 021000021. Thanks!",
            &["ABA for the vendor"],
            "US_BANK_ROUTING",
            Breadth::Narrow
        )
        .len(),
        1
    );
    // Without the other half, or with a body that says nothing, a bare number is no routing number.
    assert!(scoped(subject, &[], "US_BANK_ROUTING", Breadth::Narrow).is_empty());
    assert!(
        scoped(
            subject,
            &["see you on Monday"],
            "US_BANK_ROUTING",
            Breadth::Narrow
        )
        .is_empty()
    );
    // The shared word does not make a bad number valid.
    assert!(
        scoped(
            "Update 021000022",
            &[body],
            "US_BANK_ROUTING",
            Breadth::Narrow
        )
        .is_empty()
    );
    assert!(
        scoped(
            "Update 991000027",
            &[body],
            "US_BANK_ROUTING",
            Breadth::Narrow
        )
        .is_empty()
    );
}

#[test]
fn a_routing_number_labelled_as_another_id_is_that_id() {
    let narrow = |t: &str| check(t, "US_BANK_ROUTING", Breadth::Narrow);
    for t in [
        "Ticket 021000021: ACH return pending",
        "Confirmation 021000021 for your wire",
        "Order 021000021 - direct deposit refund",
    ] {
        assert!(narrow(t).is_empty(), "{t}");
    }
    // Also when the word is elsewhere in the message.
    assert!(
        scoped(
            "Case 021000021",
            &["the ACH return"],
            "US_BANK_ROUTING",
            Breadth::Narrow
        )
        .is_empty()
    );
    // A routing word between the label and the number wins.
    assert_eq!(narrow("Invoice 12, wire to routing 021000021").len(), 1);
}

#[test]
fn a_word_in_the_window_outranks_a_word_elsewhere_in_the_message() {
    // 211000161 passes both the 3-7-1 checksum and Luhn: a routing number and a SIN by shape.
    let sel: Vec<(String, Breadth)> = ["US_BANK_ROUTING", "CA_SIN"]
        .iter()
        .map(|n| (n.to_string(), Breadth::Narrow))
        .collect();
    let text = "SIN 211000161";
    let mut out = Vec::new();
    let mut sh = Shared::new(vec!["routing details for payroll"]);
    Identifiers::embedded().scan_shared(text, Some(&sel), &mut sh, &mut out);
    let names: Vec<&str> = out.iter().map(|h| h.detector.as_str()).collect();
    assert_eq!(names, vec!["CA_SIN"]);
}

#[test]
fn a_bare_ssn_needs_a_label_beside_it() {
    // A word elsewhere in the message or far in the window does not make 9 digits an SSN...
    assert!(
        scoped(
            "Update 536228741",
            &["SSN on file"],
            "US_SSN",
            Breadth::Medium
        )
        .is_empty()
    );
    let far = format!(
        "ref 536228741 {} SSN",
        "and then some more words ".repeat(3)
    );
    assert!(found(&far, "US_SSN").is_empty(), "{far}");
    // ...but it does for the 3-2-4 shape, which says SSN by itself (the word raises confidence).
    assert_eq!(
        scoped(
            "Update 536-22-8741",
            &["SSN on file"],
            "US_SSN",
            Breadth::Medium
        ),
        vec![("536-22-8741".to_string(), Confidence::High)]
    );
    // Labels beside a bare number still make it one.
    for t in [
        "SSN: 536228741",
        "My social security no. 536228741, thanks",
        "536228741 is my SSN",
        "Member ID / SSN: 536228741",
        "Employee SSN 536228741 for the background check.",
    ] {
        assert_eq!(found(t, "US_SSN"), vec!["536228741"], "{t}");
    }
}

#[test]
fn a_customer_id_near_identity_words_is_not_an_ssn() {
    for t in [
        "Customer ID 536228741 - please confirm your identity with the last four of your SSN.",
        "Your customer number: 536228741. We never ask for your social security number by email.",
        "Account number 536228741 (SSN verified)",
        "Order 536228741 shipped; SSN check pending.",
        "Invoice 536228741 for the SSN verification service",
        "member id 536228741, ssn on file",
    ] {
        assert!(found(t, "US_SSN").is_empty(), "{t}");
        assert!(check(t, "US_SSN", Breadth::Narrow).is_empty(), "{t}");
    }
    // The id label belongs to its own sentence: a real SSN after it is still found.
    assert_eq!(
        found("Customer ID is in the header. SSN: 536228741", "US_SSN"),
        vec!["536228741"]
    );
    // Written 3-2-4, the shape says SSN whatever label precedes it.
    assert_eq!(
        found("Invoice query - 536-22-8741", "US_SSN"),
        vec!["536-22-8741"]
    );
}

#[test]
fn canadian_sins_in_every_form_and_in_french() {
    for t in [
        "SIN 130 692 544",
        "SIN 130-692-544",
        "SIN 130692544",
        "S.I.N. 130692544",
        "Numéro d\u{2019}assurance sociale : 130692544",
        "numéro d'assurance-sociale 130692544",
        "N.A.S. 130692544",
        "NAS : 130692544",
        "Please put 130692544 on the T4 slip.",
        // 9: a temporary resident's SIN.
        "SIN 946 123 379",
    ] {
        assert_eq!(found(t, "CA_SIN").len(), 1, "{t}");
    }
    // A bare SIN in the subject, its word in the body.
    assert_eq!(
        scoped(
            "New hire 130692544",
            &["her social insurance number is in the subject"],
            "CA_SIN",
            Breadth::Medium
        )
        .len(),
        1
    );
    // First digit 0 or 8, or a bad check digit: not a SIN, whatever the words.
    for t in ["SIN 046454286", "SIN 846454288", "SIN 130692545"] {
        assert!(found(t, "CA_SIN").is_empty(), "{t}");
    }
}
