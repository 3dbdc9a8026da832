//! An incident's findings in context. The record keeps one line per matched rule, as the scanner
//! wrote it (`policy 100 rule "cards": CREDIT_CARD x3 in body, attachment:a.zip/b.txt (4111 ****
//! **** 1111); file held`), with redacted evidence only; this splits a line into its pieces (rule,
//! detector or condition, count, where, redacted samples) for a table. Pure. A line in another
//! shape is kept whole as one piece, so nothing recorded is ever hidden.

use maud::{Markup, html};

/// One piece of evidence of a matched rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    /// The rule's name, when the line names one.
    pub rule: Option<String>,
    /// The detector (or condition) that matched, or the whole line when it could not be split.
    pub what: String,
    pub count: Option<u64>,
    /// Which parts of the message (`body`, `subject`, `attachment:a.zip/b.txt`).
    pub places: String,
    /// The redacted samples (`4111 **** **** 1111`).
    pub samples: String,
}

/// The pieces of one recorded finding line.
pub(crate) fn parse(line: &str) -> Vec<Finding> {
    let (rule, body) = split_rule(line).unwrap_or((None, line));
    body.split("; ")
        .filter(|p| !p.trim().is_empty())
        .map(|piece| {
            let mut f = piece_of(piece);
            f.rule = rule.clone();
            f
        })
        .collect()
}

/// `policy N rule "NAME": REST` -> (Some(NAME), REST).
fn split_rule(line: &str) -> Option<(Option<String>, &str)> {
    let rest = line.strip_prefix("policy ")?;
    let (id, rest) = rest.split_once(' ')?;
    id.parse::<u64>().ok()?;
    let rest = rest.strip_prefix("rule \"")?;
    // The name is written as a Rust string literal: find its closing quote past escapes.
    let mut name = String::new();
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                if let Some((_, n)) = chars.next() {
                    name.push(n);
                }
            }
            '"' => {
                let tail = rest[i + 1..].strip_prefix(": ")?;
                return Some((Some(name), tail));
            }
            c => name.push(c),
        }
    }
    None
}

/// `WHAT xN in PLACES[ (SAMPLES)]`, else the piece whole as `what`.
fn piece_of(piece: &str) -> Finding {
    let whole = Finding {
        rule: None,
        what: piece.to_string(),
        count: None,
        places: String::new(),
        samples: String::new(),
    };
    for (at, _) in piece.match_indices(" x") {
        let after = &piece[at + 2..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let Some(rest) = after[digits..].strip_prefix(" in ") else {
            continue;
        };
        let Ok(count) = after[..digits].parse() else {
            continue;
        };
        let (places, samples) = match rest.strip_suffix(')').and_then(|r| r.rsplit_once(" (")) {
            Some((p, s)) => (p, s),
            None => (rest, ""),
        };
        return Finding {
            rule: None,
            what: piece[..at].to_string(),
            count: Some(count),
            places: places.to_string(),
            samples: samples.to_string(),
        };
    }
    whole
}

/// The findings of `lines` as a table (text only: maud escapes every piece).
pub(crate) fn table(lines: &[String]) -> Markup {
    let rows: Vec<Finding> = lines.iter().flat_map(|l| parse(l)).collect();
    html! {
        @if rows.is_empty() {
            p class="note" { "No findings recorded (a policy on the envelope or the message as a whole)." }
        } @else {
            table {
                thead {
                    tr { th { "Rule" } th { "Detector or condition" } th { "Count" } th { "Where" } th { "Redacted evidence" } }
                }
                tbody {
                    @for f in &rows {
                        tr {
                            td { (f.rule.as_deref().unwrap_or("")) }
                            td { (f.what) }
                            td { @if let Some(n) = f.count { (n) } }
                            td { (f.places) }
                            td { code { (f.samples) } }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The scanner's lines split into their pieces; other lines kept whole.
    use super::*;

    #[test]
    fn scanner_lines_split_into_rule_detector_count_place_and_samples() {
        let line = r#"policy 100 rule "cards \"A\"": Credit card number x3 in body, attachment:a.zip/b.txt (4111 **** **** 1111, 5500 **** **** 0004); file held"#;
        let f = parse(line);
        assert_eq!(f.len(), 2, "{f:?}");
        assert_eq!(f[0].rule.as_deref(), Some("cards \"A\""));
        assert_eq!(f[0].what, "Credit card number");
        assert_eq!(f[0].count, Some(3));
        assert_eq!(f[0].places, "body, attachment:a.zip/b.txt");
        assert_eq!(f[0].samples, "4111 **** **** 1111, 5500 **** **** 0004");
        assert_eq!(f[1].what, "file held");
        assert_eq!(f[1].count, None);
        let file = parse(r#"policy 7 rule "exe": file x1 in attachment:setup.exe"#);
        assert_eq!(
            (
                file[0].what.as_str(),
                file[0].count,
                file[0].places.as_str(),
                file[0].samples.as_str()
            ),
            ("file", Some(1), "attachment:setup.exe", "")
        );
    }

    #[test]
    fn other_lines_are_kept_whole() {
        let f = parse("something else entirely");
        assert_eq!(f[0].what, "something else entirely");
        assert_eq!(f[0].rule, None);
        let f = parse("CREDIT_CARD x2 in body: 4111 **** **** 1111");
        assert_eq!(f[0].count, Some(2));
        assert_eq!(f[0].places, "body: 4111 **** **** 1111");
    }
}
