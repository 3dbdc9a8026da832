//! Entry points for the decomposition fuzz targets (`tests/fuzz/`) and their corpus replay
//! (`tests/fuzz_corpus.rs`). Each takes arbitrary bytes and must never panic, hang or allocate
//! without bound; they assert the invariants the decomposition promises.

use super::{
    Decomposed, Limits, NoBudget, PdfError, PdfText, decompose, decompose_file, office, pdf_child,
    transfer,
};

/// Small limits, so a fuzzer explores the limit paths and every run stays fast.
fn limits() -> Limits {
    Limits {
        max_depth: 4,
        max_entries_per_container: 64,
        max_entries_total: 256,
        max_extracted_bytes: 4 << 20,
        max_ratio: 100,
        ratio_floor: 64 << 10,
        max_parts: 128,
        max_text_bytes: 1 << 20,
    }
}

fn check(d: &Decomposed, limits: &Limits) {
    let text: usize = d.parts.iter().map(|p| p.text.len()).sum();
    assert!(
        text as u64 <= limits.max_text_bytes,
        "text limit not enforced"
    );
    assert!(d.anomalies.len() <= super::limits::MAX_ANOMALIES);
}

/// A whole message: the full decomposition and the proxy's flat `content` view.
pub fn mime(data: &[u8]) {
    let limits = limits();
    check(&decompose(data, &limits, &EchoPdf, &NoBudget), &limits);
    let c = super::content(data, &limits, 1 << 16);
    assert!(c.text.len() <= 1 << 16);
}

/// A file of any type (zip, gzip, tar, office, RTF, HTML...), named as a zip.
pub fn zip(data: &[u8]) {
    let limits = limits();
    check(
        &decompose_file(data, Some("fuzz.zip"), &limits, &EchoPdf, &NoBudget),
        &limits,
    );
}

/// An office package, and the same bytes as one of its XML parts.
pub fn ooxml(data: &[u8]) {
    let limits = limits();
    check(
        &decompose_file(data, Some("fuzz.docx"), &limits, &EchoPdf, &NoBudget),
        &limits,
    );
    let (text, _) = office::xml_to_text(data);
    assert!(text.len() <= data.len() * 4 + 16);
}

/// The PDF path as the core sees it (encryption check, extractor result handling) and the
/// parent's reading of a child's exit status and output. The first byte picks the exit status.
pub fn pdf(data: &[u8]) {
    let limits = limits();
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.extend_from_slice(data);
    check(
        &decompose_file(&pdf, Some("fuzz.pdf"), &limits, &EchoPdf, &NoBudget),
        &limits,
    );
    let (status, out) = match data.split_first() {
        Some((&s, rest)) => (Some(i32::from(s % 5)), rest),
        None => (None, data),
    };
    let _ = pdf_child::outcome(status, out);
}

/// The transfer decoders: the first byte picks base64 or quoted-printable. Decoding never grows
/// past the input's bound, and the clean encoding the repair writes decodes back to the same
/// bytes, cleanly, with no line a MIME parser could take for a boundary.
pub fn transfer(data: &[u8]) {
    let Some((&pick, input)) = data.split_first() else {
        return;
    };
    let encoding = if pick % 2 == 0 {
        transfer::Encoding::Base64
    } else {
        transfer::Encoding::QuotedPrintable
    };
    let decoded = encoding.decode(input);
    let bound = match encoding {
        transfer::Encoding::Base64 => input.len() / 4 * 3 + 2,
        transfer::Encoding::QuotedPrintable => input.len(),
    };
    assert!(decoded.bytes.len() <= bound, "decoding grew past its bound");
    let encoded = encoding.encode(&decoded.bytes);
    assert!(memchr::memmem::find(&encoded, b"--").is_none());
    let again = encoding.decode(&encoded);
    assert!(again.clean, "the repair's encoding is clean");
    assert_eq!(
        again.bytes, decoded.bytes,
        "the repair's encoding round-trips"
    );
}

/// Echoes the bytes after `TEXT:` as the PDF's text, or fails: exercises both result paths.
struct EchoPdf;

impl PdfText for EchoPdf {
    fn text(&self, pdf: &[u8]) -> Result<String, PdfError> {
        match memchr::memmem::find(pdf, b"TEXT:") {
            Some(at) => Ok(String::from_utf8_lossy(&pdf[at + 5..]).into_owned()),
            None => Err(PdfError::Malformed),
        }
    }
}
