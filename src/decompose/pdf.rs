//! PDF text, as the core sees it: a [`PdfText`] service provided by the shell (in production a
//! sandboxed child process, see `pdf_child`), because PDF parsers can panic, loop or abort on
//! hostile input. The core itself only checks for encryption, which needs no parser.

use std::fmt;

/// Extracts the text of a PDF. Implementations must bound their own time and memory.
pub trait PdfText {
    /// The text of `pdf`, or why there is none.
    fn text(&self, pdf: &[u8]) -> Result<String, PdfError>;
}

/// Why a PDF yielded no text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PdfError {
    /// The parser rejected the document.
    Malformed,
    /// The extractor ran out of its time.
    Timeout,
    /// The extractor crashed or ran out of memory.
    Crashed,
    /// No extractor is configured (or it could not be started).
    Unavailable,
}

impl fmt::Display for PdfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Malformed => "malformed PDF",
            Self::Timeout => "PDF text extraction timed out",
            Self::Crashed => "PDF text extraction crashed",
            Self::Unavailable => "PDF text extraction unavailable",
        })
    }
}

impl std::error::Error for PdfError {}

/// A [`PdfText`] that extracts nothing: PDFs are still typed and checked for encryption.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPdf;

impl PdfText for NoPdf {
    fn text(&self, _pdf: &[u8]) -> Result<String, PdfError> {
        Err(PdfError::Unavailable)
    }
}

/// True when the document has an encryption dictionary (`/Encrypt` in a trailer or
/// cross-reference stream dictionary). A name match is enough: the key only appears there.
pub(crate) fn is_encrypted(pdf: &[u8]) -> bool {
    memchr::memmem::find_iter(pdf, b"/Encrypt").any(|at| {
        // Not a longer name such as /EncryptMetadata.
        pdf.get(at + 8).is_none_or(|&c| !c.is_ascii_alphanumeric())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_encryption_dictionary() {
        assert!(is_encrypted(
            b"%PDF-1.6\ntrailer<</Root 1 0 R/Encrypt 5 0 R>>"
        ));
        assert!(is_encrypted(
            b"%PDF-1.6\ntrailer<</Encrypt<</Filter/Standard>>>>"
        ));
        assert!(!is_encrypted(b"%PDF-1.6\n<</EncryptMetadata false>>"));
        assert!(!is_encrypted(b"%PDF-1.4\ntrailer<</Root 1 0 R>>"));
    }
}
