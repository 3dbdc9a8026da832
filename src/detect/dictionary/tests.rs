//! Dictionary tests: whole words, case (ASCII and Unicode), phrases across line breaks, counts,
//! offsets, proximity, definition errors, and properties over arbitrary text.

use proptest::prelude::*;

use super::proximity::within;
use super::reference;
use super::*;

fn dict(name: &str, terms: &[&str]) -> DictionaryDef {
    DictionaryDef {
        name: name.into(),
        description: String::new(),
        terms: terms.iter().map(|t| (*t).to_owned()).collect(),
    }
}

fn one(terms: &[&str]) -> Dictionaries {
    Dictionaries::new(&[dict("d", terms)]).unwrap()
}

/// The matched substrings of `text`, in order.
fn found<'t>(d: &Dictionaries, text: &'t str) -> Vec<&'t str> {
    d.scan(text)
        .all()
        .iter()
        .map(|h| &text[h.start..h.end])
        .collect()
}

#[test]
fn whole_words_only() {
    let d = one(&["secret", "co-op", "project falcon"]);
    assert_eq!(found(&d, "This is SECRET."), ["SECRET"]);
    assert_eq!(found(&d, "(secret)"), ["secret"]);
    assert!(found(&d, "secretary").is_empty());
    assert!(found(&d, "topsecret").is_empty());
    assert!(found(&d, "secret2 2secret").is_empty());
    assert_eq!(
        found(&d, "secret_key"),
        ["secret"],
        "underscore separates words"
    );
    assert_eq!(found(&d, "the Co-Op shop"), ["Co-Op"]);
    assert!(found(&d, "co-ops").is_empty());
    assert!(found(&d, "projectfalcon project-falcon").is_empty());
    assert!(found(&d, "project falcons").is_empty());
    assert!(found(&d, "").is_empty());
    // Non-ASCII letters are word characters for the boundary too.
    assert!(found(&d, "ésecret secretä").is_empty());
    assert_eq!(found(&d, "«secret»"), ["secret"]);
}

#[test]
fn phrases_match_across_any_whitespace() {
    let d = one(&["project falcon", "strictly confidential"]);
    let t = "About PROJECT\r\n   Falcon and Strictly\tconfidential\u{a0}stuff; project\n\nfalcon.";
    assert_eq!(
        found(&d, t),
        [
            "PROJECT\r\n   Falcon",
            "Strictly\tconfidential",
            "project\n\nfalcon"
        ]
    );
    assert!(found(&d, "project, falcon").is_empty());
    assert!(found(&d, "project").is_empty());
}

#[test]
fn unicode_terms_fold_case_and_ascii_terms_stay_fast() {
    let d = one(&[
        "Geheimhaltung",
        "confidentiel",
        "vertraulich",
        "ÄÖÜ",
        "Geschäftsgeheimnis",
        "très secret",
    ]);
    assert_eq!(found(&d, "GEHEIMHALTUNG!"), ["GEHEIMHALTUNG"]);
    assert_eq!(found(&d, "Document CONFIDENTIEL"), ["CONFIDENTIEL"]);
    assert_eq!(found(&d, "Streng Vertraulich"), ["Vertraulich"]);
    assert_eq!(found(&d, "äöü und ÄÖÜ"), ["äöü", "ÄÖÜ"]);
    assert_eq!(found(&d, "Ein GESCHÄFTSGEHEIMNIS."), ["GESCHÄFTSGEHEIMNIS"]);
    assert_eq!(found(&d, "c'est TRÈS\nSECRET"), ["TRÈS\nSECRET"]);
    assert!(found(&d, "Geschäftsgeheimnisse").is_empty());
    assert!(found(&d, "xäöü").is_empty());
    // ASCII term next to non-ASCII text: offsets are into the original text.
    let t = "Größe: vertraulich";
    let s = d.scan(t);
    assert_eq!(&t[s.all()[0].start..s.all()[0].end], "vertraulich");
}

#[test]
fn many_cased_letters_use_the_folded_copy() {
    // Five cased non-ASCII letters: 32 spellings, more than MAX_CASE_VARIANTS.
    let d = one(&["äöüäö", "ärger ÄRGER", "ǆungla"]);
    assert_eq!(found(&d, "x ÄöÜäÖ y"), ["ÄöÜäÖ"]);
    assert_eq!(found(&d, "ÄRGER\närger"), ["ÄRGER\närger"]);
    assert!(found(&d, "äöüäöx").is_empty());
    assert_eq!(found(&d, "ǄUNGLA ǅungla"), ["ǄUNGLA"]);
}

#[test]
fn counts_per_term_dictionary_and_total() {
    let d = Dictionaries::new(&[
        dict(
            "marks",
            &["confidential", "strictly confidential", "Confidential"],
        ),
        dict("money", &["iban", "wire transfer"]),
    ])
    .unwrap();
    assert_eq!(d.len(), 4, "duplicate term in one dictionary counted once");
    let t = "Strictly confidential: wire\ntransfer to IBAN x. confidential! iban";
    let s = d.scan(t);
    let marks = d.dictionary("marks").unwrap();
    let money = d.dictionary("money").unwrap();
    let conf = d.term(marks, "CONFIDENTIAL").unwrap();
    let strict = d.term(marks, "strictly   confidential").unwrap();
    assert_eq!(s.count(Selector::Term(conf), &d), 2);
    assert_eq!(s.count(Selector::Term(strict), &d), 1);
    assert_eq!(s.count(Selector::Dictionary(marks), &d), 3);
    assert_eq!(s.count(Selector::Dictionary(money), &d), 3);
    assert_eq!(s.total(), 6);
    assert_eq!(s.spans(Selector::Term(strict), &d), vec![(0, 21)]);
    assert!(d.term(marks, "secret").is_none());
    let hits = d.hits(&s, money);
    assert_eq!(hits.len(), 3);
    assert_eq!(hits[0].detector, "dictionary:money");
    assert_eq!(hits[0].redacted, "w*** *******r");
    assert!(!s.truncated());
}

#[test]
fn terms_with_punctuation_edges() {
    let d = one(&["#include", "p&l", "password:", "import java."]);
    assert_eq!(found(&d, "x #include <a>"), ["#include"]);
    assert_eq!(found(&d, "the P&L report"), ["P&L"]);
    assert!(found(&d, "ap&l").is_empty());
    assert_eq!(found(&d, "Password: x"), ["Password:"]);
    assert_eq!(found(&d, "import java.util"), ["import java."]);
}

#[test]
fn proximity_between_terms_and_dictionaries() {
    let d = Dictionaries::new(&[
        dict("project", &["project falcon"]),
        dict("marks", &["confidential", "secret"]),
    ])
    .unwrap();
    let t = "Project\nFalcon: the budget is confidential. Nothing else here at all, secret.";
    let s = d.scan(t);
    let a = s.spans(d.selector("project", None).unwrap(), &d);
    let b = s.spans(d.selector("marks", Some("confidential")).unwrap(), &d);
    let c = s.spans(d.selector("marks", Some("secret")).unwrap(), &d);
    assert!(within(t, &a, &b, 4).is_some());
    assert!(within(t, &a, &b, 3).is_none());
    assert!(within(t, &a, &c, 5).is_none());
    let marks = s.spans(d.selector("marks", None).unwrap(), &d);
    assert!(within(t, &a, &marks, 4).is_some());
    assert!(d.selector("nope", None).is_err());
    assert!(
        d.selector("marks", Some("nope"))
            .unwrap_err()
            .to_string()
            .contains("no term")
    );
}

#[test]
fn embedded_definitions_parse_and_match() {
    let defs = Definitions::embedded().unwrap();
    assert!(defs.dictionaries.len() >= 6);
    assert!(!defs.regexes.is_empty());
    let d = Dictionaries::new(&defs.dictionaries).unwrap();
    let s = d.scan("STRENG VERTRAULICH – nur für den internen Gebrauch. Diagnosed with\ndiabetes.");
    let names: Vec<&str> = s
        .all()
        .iter()
        .map(|h| d.name(d.dictionary_of(h.term)))
        .collect();
    assert!(names.contains(&"confidential-de"));
    assert!(names.contains(&"medical"));
    assert!(
        d.scan("The secretary will visit the internet café.")
            .all()
            .is_empty()
    );
    crate::detect::pattern::Patterns::new(&defs.regexes).unwrap();
}

#[test]
fn definition_errors_are_clear() {
    let err = |s: &str| Definitions::parse(s).unwrap_err().to_string();
    assert!(
        err("version = 1\n[[dictionary]]\nname = \"a\"\nterms = [\"x\"\n").contains("definitions:")
    );
    assert!(err("version = 2").contains("version 2 is not supported"));
    assert!(
        err("version = 1\n[[dictionary]]\nname = \"A B\"\nterms = [\"x\"]")
            .contains("name \"A B\"")
    );
    assert!(err("version = 1\n[[dictionary]]\nname = \"a\"\nterms = []").contains("has no terms"));
    assert!(
        err("version = 1\n[[dictionary]]\nname = \"a\"\nterms = [\"ok\", \"  \"]")
            .contains("term 2: empty term")
    );
    assert!(err("version = 1\n[[dictionary]]\nname = \"a\"\nterms = [\"x\"]\n[[dictionary]]\nname = \"a\"\nterms = [\"y\"]").contains("defined twice"));
    assert!(
        err("version = 1\n[[dictionary]]\nname = \"a\"\nterms = [\"x\"]\ncolour = 1")
            .contains("colour")
    );
    assert!(
        err("version = 1\n[[regex]]\nname = \"r\"\npattern = \"(x\"")
            .contains("regex \"r\": invalid regex")
    );
    let long = format!(
        "version = 1\n[[dictionary]]\nname = \"a\"\nterms = [\"{}\"]",
        "x ".repeat(20)
    );
    assert!(err(&long).contains("more than 16 words"));
    assert!(
        Definitions::parse("version = 1")
            .unwrap()
            .dictionaries
            .is_empty()
    );
}

#[test]
fn hit_offsets_are_capped_but_counts_are_exact() {
    let d = one(&["x"]);
    let t = "x ".repeat(MAX_HITS + 10);
    let s = d.scan(&t);
    assert_eq!(s.all().len(), MAX_HITS);
    assert_eq!(s.total(), (MAX_HITS + 10) as u64);
    assert!(s.truncated());
}

/// Matches with their term and a canonical form of the matched text (whitespace runs collapsed).
fn canonical(d: &Dictionaries, text: &str) -> Vec<(TermId, String)> {
    d.scan(text)
        .all()
        .iter()
        .map(|h| {
            let words: Vec<&str> = text[h.start..h.end].split_whitespace().collect();
            (h.term, words.join(" "))
        })
        .collect()
}

fn word() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "secret",
        "Project",
        "FALCON",
        "co-op",
        "vertraulich",
        "Größe",
        "ÄÖÜ",
        "x",
        "secretary",
        "très",
        "SECRET.",
        "projet",
        "falcon,",
        "é",
    ])
    .prop_map(str::to_owned)
}

proptest! {
    #[test]
    fn line_endings_and_space_runs_do_not_change_results(
        words in prop::collection::vec(word(), 0..40),
        seps in prop::collection::vec(0usize..4, 40),
    ) {
        let d = one(&["secret", "project falcon", "co-op", "vertraulich", "äöü", "très secret"]);
        let sep = |i: usize, lf: &str| match seps[i % seps.len()] {
            0 => " ".to_owned(),
            1 => lf.to_owned(),
            2 => "   ".to_owned(),
            _ => format!(" {lf}  "),
        };
        let build = |lf: &str| {
            let mut s = String::new();
            for (i, w) in words.iter().enumerate() {
                if i > 0 { s.push_str(&sep(i, lf)); }
                s.push_str(w);
            }
            s
        };
        let plain: String = words.join(" ");
        let lf = build("\n");
        let crlf = build("\r\n");
        let want = canonical(&d, &plain);
        prop_assert_eq!(&canonical(&d, &lf), &want);
        prop_assert_eq!(&canonical(&d, &crlf), &want);
    }

    #[test]
    fn scanning_arbitrary_text_never_panics(text in "\\PC{0,200}", raw in prop::collection::vec(any::<u8>(), 0..200)) {
        let d = one(&["secret", "project falcon", "äöü", "#include"]);
        let s = d.scan(&text);
        for h in s.all() {
            prop_assert!(h.start <= h.end && h.end <= text.len());
            prop_assert!(text.is_char_boundary(h.start) && text.is_char_boundary(h.end));
        }
        let lossy = String::from_utf8_lossy(&raw);
        let _ = d.scan(&lossy);
    }
}

/// Every hit `(start, end, term)` of the scan, sorted.
fn triples(d: &Dictionaries, text: &str) -> Vec<(usize, usize, u32)> {
    d.scan(text)
        .all()
        .iter()
        .map(|h| (h.start, h.end, h.term.0))
        .collect()
}

#[test]
fn overlapping_and_nested_heads_all_count() {
    let terms = [
        "secret",
        "client_secret",
        "attorney-client",
        "client",
        "aws_secret_access_key",
        "access",
        "#include",
        "include",
        "p&l",
        "p",
        "-->",
        "->",
        "#!/usr/bin/env",
        "bin",
    ];
    let d = one(&terms);
    let t = "attorney-client_secret; AWS_SECRET_ACCESS_KEY ##include P&L p --> #!/usr/bin/env";
    let got = found(&d, t);
    assert_eq!(
        got,
        [
            "attorney-client",
            "client",
            "client_secret",
            "secret",
            "AWS_SECRET_ACCESS_KEY",
            "SECRET",
            "ACCESS",
            "#include",
            "include",
            "P",
            "P&L",
            "p",
            "-->",
            "->",
            "#!/usr/bin/env",
            "bin",
        ]
    );
    let defs = [dict("d", &terms)];
    assert_eq!(triples(&d, t), reference::hits(&defs, t));
    let s = d.scan(t);
    assert_eq!(s.total(), 16);
    let dict = d.dictionary("d").unwrap();
    assert_eq!(s.count(Selector::Dictionary(dict), &d), 16);
    assert_eq!(s.count(Selector::Term(d.term(dict, "p").unwrap()), &d), 2);
}

#[test]
fn non_ascii_heads_and_marks_next_to_words() {
    let d = one(&["éclair", "Ärger", "straße", "secret", "über alles", "«top»"]);
    assert_eq!(
        found(&d, "ÉCLAIR «secret» STRAẞE Straße ärger ÜBER\nALLES «TOP»"),
        [
            "ÉCLAIR",
            "«secret",
            "secret",
            "STRAẞE",
            "Straße",
            "ärger",
            "ÜBER\nALLES",
            "«TOP»"
        ]
        .iter()
        .filter(|s| **s != "«secret")
        .copied()
        .collect::<Vec<_>>()
    );
    assert!(found(&d, "xéclair éclairs secretä äsecret").is_empty());
    // A non-ASCII word character glued to an ASCII head keeps it from matching.
    assert!(found(&d, "secretß").is_empty());
}

#[test]
fn tokens_across_the_64_byte_blocks() {
    let d = one(&["confidential", "strictly confidential", "x"]);
    for pad in 0..70 {
        let t = format!(
            "{}strictly confidential x",
            "a.".repeat(pad / 2) + ".".repeat(pad % 2).as_str()
        );
        let defs = [dict("d", &["confidential", "strictly confidential", "x"])];
        assert_eq!(triples(&d, &t), reference::hits(&defs, &t), "pad {pad}");
        assert_eq!(d.scan(&t).total(), 3, "pad {pad}");
    }
    let long = "y".repeat(200);
    assert!(found(&d, &format!("{long}confidential")).is_empty());
}

#[test]
fn embedded_set_matches_the_reference_on_mixed_text() {
    let defs = Definitions::embedded().unwrap().dictionaries;
    let d = Dictionaries::new(&defs).unwrap();
    let t = "For internal use only: the P&L and EBITDA, wire\r\ntransfer; STRENG VERTRAULICH – \
             nur für den internen Gebrauch; Geschäftsgeheimnis, GESCHÄFTSGEHEIMNIS; très secret; \
             TRÈS SECRET; #include <x>; #!/usr/bin/env python; aws_secret_access_key=1; \
             ICD-10; attorney-client privileged; diagnosed with diabetes; secret défense.";
    let got = triples(&d, t);
    assert!(got.len() >= 20, "{}", got.len());
    assert_eq!(got, reference::hits(&defs, t));
}

fn term_word() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "secret",
        "sec",
        "client",
        "client_secret",
        "a-b",
        "b",
        "#x",
        "x",
        "p&l",
        "p",
        "->",
        "-",
        "äöüäö",
        "ärger",
        "straße",
        "é",
        "ǆa",
        "co-op",
        "op",
        "über",
        "«q»",
        "q",
        "ab_cd",
        "cd",
    ])
    .prop_map(str::to_owned)
}

fn text_piece() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "secret",
        "SECRET",
        "Sec",
        "client",
        "CLIENT_SECRET",
        "a-b",
        "A-B",
        "b",
        "#x",
        "##X",
        "x",
        "P&L",
        "p",
        "->",
        "-",
        "--",
        "ÄÖÜÄÖ",
        "äöüäö",
        "ÄRGER",
        "Ärger",
        "STRAẞE",
        "straße",
        "É",
        "é",
        "Ǆa",
        "ǅa",
        "ǆA",
        "co-op",
        "CO-OP",
        "op",
        "Über",
        "«q»",
        "«Q»",
        "q",
        "ab_cd",
        "cd",
        "xy",
        "z9",
        "_",
        "«",
        "\u{a0}",
    ])
    .prop_map(str::to_owned)
}

proptest! {
    #[test]
    fn same_hits_as_the_reference_matcher(
        terms in prop::collection::vec(
            prop::collection::vec(term_word(), 1..3).prop_map(|w| w.join(" ")),
            1..12,
        ),
        pieces in prop::collection::vec(text_piece(), 0..60),
        seps in prop::collection::vec(prop::sample::select(vec!["", " ", "\n", "  ", ", ", "\u{a0}"]), 60),
    ) {
        let defs = [dict("d", &terms.iter().map(String::as_str).collect::<Vec<_>>())];
        let d = Dictionaries::new(&defs).unwrap();
        let mut t = String::new();
        for (i, p) in pieces.iter().enumerate() {
            t.push_str(p);
            t.push_str(seps[i % seps.len()]);
        }
        prop_assert_eq!(triples(&d, &t), reference::hits(&defs, &t));
        let s = d.scan(&t);
        prop_assert_eq!(s.total(), s.all().len() as u64);
    }
}

proptest! {
    /// Long ASCII texts go through the SIMD prefilter block by block (tests above are mostly
    /// shorter than a block or hold non-ASCII bytes, which turn it off for their block).
    #[test]
    fn long_ascii_text_same_hits_as_the_reference(
        terms in prop::collection::vec(
            prop::collection::vec(
                prop::sample::select(vec!["secret", "sec", "client_secret", "a-b", "b", "#x", "x", "p&l", "co-op", "op", "do", "dox", "q1"]),
                1..3,
            ).prop_map(|w| w.join(" ")),
            1..12,
        ),
        pieces in prop::collection::vec(
            prop::sample::select(vec!["secret", "SECRET", "Sec", "Client_Secret", "A-B", "b", "##X", "x", "P&L", "co-op", "OP", "Do", "dOx", "Q1", "the", "report", "zzzzzzzzzzzzzzzzzzzzzzzzzz"]),
            0..120,
        ),
        seps in prop::collection::vec(prop::sample::select(vec!["", " ", "\n", "  ", ", ", "-"]), 60),
    ) {
        let defs = [dict("d", &terms.iter().map(String::as_str).collect::<Vec<_>>())];
        let d = Dictionaries::new(&defs).unwrap();
        let mut t = String::new();
        for (i, p) in pieces.iter().enumerate() {
            t.push_str(p);
            t.push_str(seps[i % seps.len()]);
        }
        prop_assert_eq!(triples(&d, &t), reference::hits(&defs, &t));
    }
}
