//! Dictionary tests: whole words, case (ASCII and Unicode), phrases across line breaks, counts,
//! offsets, proximity, definition errors, and properties over arbitrary text.

use proptest::prelude::*;

use super::proximity::within;
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
