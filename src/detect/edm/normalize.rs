//! EDM normalisation, the same for table cells and for text: case-folded word tokens for text
//! values, digits only for number values.

use crate::detect::dictionary::text::{fold, tokens};

/// Domain byte hashed before a text value.
pub(crate) const DOMAIN_TEXT: u8 = b't';
/// Domain byte hashed before a number value.
pub(crate) const DOMAIN_NUMBER: u8 = b'n';
/// Separators allowed between the digit groups of one number ("123-45-6789", "(555) 123.4567").
pub(crate) const NUMBER_SEPARATORS: &[char] = &[' ', '-', '.', '/', '(', ')', '+'];

/// The text form of a cell: folded word tokens joined by one space, and how many there are.
pub(crate) fn text_form(cell: &str) -> Option<(String, usize)> {
    let folded = fold(cell);
    let mut out = String::with_capacity(folded.len());
    let mut n = 0;
    for (s, e) in tokens(&folded) {
        if n > 0 {
            out.push(' ');
        }
        out.push_str(&folded[s..e]);
        n += 1;
    }
    (n > 0).then_some((out, n))
}

/// The number form of a cell: its ASCII digits.
pub(crate) fn number_form(cell: &str) -> Option<String> {
    let digits: String = cell.chars().filter(char::is_ascii_digit).collect();
    (!digits.is_empty()).then_some(digits)
}

/// Whether a cell looks like a number: at least one digit, otherwise only separators.
pub(crate) fn number_like(cell: &str) -> bool {
    let cell = cell.trim();
    cell.chars().any(|c| c.is_ascii_digit())
        && cell
            .chars()
            .all(|c| c.is_ascii_digit() || NUMBER_SEPARATORS.contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(
            text_form("  John \t SMITH "),
            Some(("john smith".into(), 2))
        );
        assert_eq!(
            text_form("O'Brien-Müller"),
            Some(("o brien müller".into(), 3))
        );
        assert_eq!(text_form(" -- "), None);
        assert_eq!(number_form("123-45-6789").as_deref(), Some("123456789"));
        assert_eq!(number_form("n/a"), None);
        assert!(number_like(" (555) 123-4567 "));
        assert!(number_like("+44 20 7946 0958"));
        assert!(!number_like("12 Main Street"));
        assert!(!number_like("--"));
    }
}
