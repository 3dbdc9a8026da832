//! Unit tests: how hits that compete for the same digits are settled (containment, the nearest
//! context word, exclusion words overridden by a nearer context word), `_` in field names, UK
//! national phone numbers and parcel numbers. Synthetic values only.

use super::tests::found;
use super::*;

/// Every hit of the embedded set at its configured breadth: (detector, matched text).
fn all_hits(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    Identifiers::embedded().scan(text, None, &mut out);
    out.iter()
        .map(|h| (h.detector.clone(), text[h.start..h.end].to_string()))
        .collect()
}

fn hits_of(text: &str, ty: &str) -> Vec<String> {
    all_hits(text)
        .into_iter()
        .filter(|(d, _)| d == ty)
        .map(|(_, v)| v)
        .collect()
}

#[test]
fn groups_of_an_iban_with_a_bad_check_digit_are_not_a_card() {
    // Both IBANs fail mod 97; their last groups are Luhn-valid card-length numbers.
    for text in [
        "Transfer to IBAN DE87 6555 1182 2614 7746 93 today",
        "Transfer to IBAN GB50 NWBK 3877 7959 0369 96 Vero",
        "invoice DE14 2322 5960 7900 6577 39",
    ] {
        assert_eq!(all_hits(text), vec![], "{text}");
    }
    // The same digits alone are a card (Luhn, issuer range).
    assert_eq!(
        found("card 6555 1182 2614 7746 93", "CREDIT_CARD"),
        vec!["6555 1182 2614 7746 93"]
    );
    // A valid IBAN is one IBAN hit, nothing inside it.
    assert_eq!(
        all_hits("IBAN GB82 WEST 1234 5698 7654 32."),
        vec![(
            "IBAN".to_string(),
            "GB82 WEST 1234 5698 7654 32".to_string()
        )]
    );
}

#[test]
fn digits_inside_a_card_are_not_a_phone_number() {
    // Diners Club 14 digits grouped 4-6-4: "471422 4604" alone has the shape of a phone number.
    for text in [
        "As discussed, 3645 471422 4604.",
        "CC# 3620 442582 4873",
        "Meeting notes - Fwd: 3619 240505 5289",
    ] {
        let hits = all_hits(text);
        assert_eq!(hits.len(), 1, "{text}: {hits:?}");
        assert_eq!(hits[0].0, "CREDIT_CARD", "{text}");
    }
}

#[test]
fn a_number_belongs_to_the_context_word_before_it() {
    // Routing numbers that also satisfy the SSN rules, with an SSN word in the window.
    let text = "SSN: 005 75 6268\n\nNumber on file: 474 944 931\n\nWire to routing # 800913122 at the bank";
    assert_eq!(hits_of(text, "US_SSN"), vec!["005 75 6268"]);
    assert_eq!(hits_of(text, "US_BANK_ROUTING"), vec!["800913122"]);
    let text = "Routing number: 660360601\nSSN 025-10-1325\nThanks";
    assert_eq!(hits_of(text, "US_BANK_ROUTING"), vec!["660360601"]);
    assert_eq!(hits_of(text, "US_SSN"), vec!["025-10-1325"]);
    let text = "Vendor setup - SSN check 383-92-6531 / Routing number 213087098";
    assert_eq!(hits_of(text, "US_SSN"), vec!["383-92-6531"]);
    assert_eq!(hits_of(text, "US_BANK_ROUTING"), vec!["213087098"]);
    // With only an SSN word, a bare number that is also a routing number stays an SSN.
    assert_eq!(hits_of("SSN 800913122", "US_SSN"), vec!["800913122"]);
}

#[test]
fn snake_case_field_names_are_context() {
    let text = "Name,Company,Field,Value\nLisa James,Harvey-Blackburn,aba_routing,301484972,West";
    assert_eq!(hits_of(text, "US_BANK_ROUTING"), vec!["301484972"]);
    assert_eq!(hits_of(text, "US_SSN"), Vec::<String>::new());
    assert_eq!(hits_of("ssn_number=536225219", "US_SSN"), vec!["536225219"]);
    // Still whole words: "cc" is not found inside "access".
    assert_eq!(
        found("access 4155552671", "PHONE_NUMBER"),
        Vec::<String>::new()
    );
}

#[test]
fn a_nearer_context_word_overrides_an_exclusion_word() {
    for (text, value) in [
        ("Invoice query - Phone +1 213 961 0861", "+1 213 961 0861"),
        ("RE: Invoice query - Call (602) 371 1651", "(602) 371 1651"),
    ] {
        assert_eq!(found(text, "PHONE_NUMBER"), vec![value], "{text}");
    }
    assert_eq!(
        found(
            "economy build.\nWhitelist IP 10.80.19.248 on it",
            "IP_ADDRESS"
        ),
        vec!["10.80.19.248"]
    );
    // The exclusion word still wins when it is the nearer one.
    for text in [
        "Phone: see below. Invoice 213-961-0861",
        "Call about order 213-961-0861",
        "Server build 10.1.7.9 passed",
        "Phone\tfoo\nAccount\t3995995615",
    ] {
        let ty = if text.contains("10.1") {
            "IP_ADDRESS"
        } else {
            "PHONE_NUMBER"
        };
        assert_eq!(found(text, ty), Vec::<String>::new(), "{text}");
    }
}

#[test]
fn uk_national_phone_numbers() {
    for v in [
        "020 3883 8737",
        "07813 057510",
        "0113 496 0000",
        "029 2018 3000",
    ] {
        assert_eq!(
            found(&format!("My mobile is {v}."), "PHONE_NUMBER"),
            vec![v],
            "{v}"
        );
        assert_eq!(found(&format!("Jane Doe {v}"), "PHONE_NUMBER"), vec![v]);
    }
    for text in [
        "Jane Doe 060 3883 8737",  // no UK numbers start 06
        "Jane Doe 021 0383 8737",  // 021 is not a London-style area code
        "Jane Doe 020 0383 8737",  // local numbers do not start with 0
        "Jane Doe 07013 057510 x", // 070 personal numbers are left out
        "Jane Doe 02038838737",    // bare: needs a context word
    ] {
        assert_eq!(found(text, "PHONE_NUMBER"), Vec::<String>::new(), "{text}");
    }
    assert_eq!(
        found("tel 02038838737", "PHONE_NUMBER"),
        vec!["02038838737"]
    );
}

#[test]
fn parcel_numbers_are_not_ssns() {
    for text in [
        "Tracking: 1Z WPR 065 38 1915 4748",
        "Shipment 1Z AOJ 278 48 6768 9738 delayed.",
        "Parcel 1Z CAE 521 12 3001 5492",
    ] {
        assert_eq!(found(text, "US_SSN"), Vec::<String>::new(), "{text}");
    }
    assert_eq!(found("SSN 278 48 6768", "US_SSN"), vec!["278 48 6768"]);
}

#[test]
fn phrases_match_across_line_breaks() {
    for text in [
        "consumer company. Social\nSecurity Number: 286780870\n",
        "consumer company. Social\r\nSecurity Number: 286780870\r\n",
    ] {
        assert_eq!(found(text, "US_SSN"), vec!["286780870"], "{text:?}");
    }
    assert_eq!(
        found("Socialist security 286780870", "US_SSN"),
        Vec::<String>::new()
    );
}

#[test]
fn an_exclusion_word_labels_only_its_own_sentence() {
    assert_eq!(
        found(
            "themselves build season\nprobably. 200.73.241.31 - - \"GET /\" 200",
            "IP_ADDRESS"
        ),
        vec!["200.73.241.31"]
    );
    for text in [
        "Firmware v. 10.1.2.3",
        "Build 10.1.7.9 passed",
        "ver. 2.6.12.1",
    ] {
        assert_eq!(found(text, "IP_ADDRESS"), Vec::<String>::new(), "{text}");
    }
}
