//! The PDF text extractor for real: the sluice binary re-executed as `sluice pdf-text` in a
//! sandboxed child (rlimits, wall-clock timeout). PDFs are built here by hand.

mod support;

use std::time::{Duration, Instant};

use sluice::decompose::pdf_child::ChildPdf;
use sluice::decompose::{NoBudget, PdfError, PdfText, decompose};

/// The shipped limits (assets/sluice.toml).
fn limits() -> sluice::decompose::pdf_child::ChildLimits {
    sluice::config::Config::embedded().expect("embedded").pdf
}

fn extractor() -> ChildPdf {
    ChildPdf::new(env!("CARGO_BIN_EXE_sluice").into(), &limits())
}

/// A one-page PDF showing `text`.
fn pdf_with_text(text: &str) -> Vec<u8> {
    support::mime::pdf_of_lines(&[text])
}

#[test]
fn extracts_text_in_a_child_process() {
    let text = extractor()
        .text(&pdf_with_text("Hello PDF 4111"))
        .expect("text");
    assert!(text.contains("Hello PDF 4111"), "{text:?}");
}

#[test]
fn garbage_and_truncated_pdfs_fail_without_hanging() {
    let pdf = pdf_with_text("Hello");
    let inputs: [&[u8]; 3] = [b"%PDF-1.4\ngarbage", &pdf[..pdf.len() / 2], b""];
    for input in inputs {
        let started = Instant::now();
        let result = extractor().text(input);
        assert!(
            matches!(result, Err(PdfError::Malformed | PdfError::Crashed)),
            "{result:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}

#[test]
fn a_hanging_extractor_is_killed_at_the_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("hang.sh");
    std::fs::write(&script, "#!/bin/sh\nexec /bin/sleep 30\n").expect("script");
    let mut perms = std::fs::metadata(&script).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&script, perms).expect("chmod");
    let mut hang = ChildPdf::new(script, &limits());
    hang.timeout = Duration::from_millis(500);
    let started = Instant::now();
    assert_eq!(hang.text(b"%PDF-1.4"), Err(PdfError::Timeout));
    assert!(started.elapsed() < Duration::from_secs(5));
    let missing = ChildPdf::new(dir.path().join("missing"), &limits());
    assert_eq!(missing.text(b"%PDF-1.4"), Err(PdfError::Unavailable));
}

#[test]
fn a_pdf_without_optional_page_entries_is_read_as_readers_do() {
    // No /MediaBox anywhere (pdf-extract 0.12 panics), a /MediaBox of three numbers: readers
    // show the page on a default one.
    for entries in [
        "/Resources << /Font << /F1 5 0 R >> >>",
        "/MediaBox [0 0 612] /Resources << /Font << /F1 5 0 R >> >>",
    ] {
        let pdf = support::mime::pdf_with_page(&["the falcon plan"], entries);
        let text = extractor().text(&pdf);
        assert!(
            text.as_ref().is_ok_and(|t| t.contains("the falcon plan")),
            "{entries}: {text:?}"
        );
    }
}

#[test]
fn a_pdf_the_extractor_still_cannot_read_is_a_malformed_anomaly() {
    // A Type0 font without descendant fonts: pdf-extract panics in the child.
    let mut pdf = support::mime::pdf_of_lines(&["x"]);
    let at = pdf
        .windows(9)
        .position(|w| w == b"/Type1 /B")
        .expect("font");
    pdf[at..at + 6].copy_from_slice(b"/Type0");
    assert_eq!(extractor().text(&pdf), Err(PdfError::Crashed));
    let d = sluice::decompose::decompose_file(
        &pdf,
        Some("r.pdf"),
        &sluice::config::Config::embedded()
            .expect("embedded")
            .decomposition,
        &extractor(),
        &NoBudget,
    );
    assert_eq!(
        d.anomalies,
        [sluice::decompose::Anomaly::Malformed {
            path: "r.pdf".into(),
            what: sluice::decompose::Malformation::Pdf
        }]
    );
}

#[test]
fn attached_pdf_text_reaches_the_decomposition() {
    let pdf = pdf_with_text("Quarterly numbers");
    let b64 = support::mime::b64(&pdf);
    let raw = format!(
        "Subject: report\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee pdf\r\n\
         --b\r\nContent-Type: application/pdf; name=r.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--b--\r\n"
    );
    let d = decompose(
        raw.as_bytes(),
        &sluice::config::Config::embedded()
            .expect("embedded")
            .decomposition,
        &extractor(),
        &NoBudget,
    );
    let part = d
        .parts
        .iter()
        .find(|p| {
            p.file
                .as_ref()
                .is_some_and(|f| f.name.as_deref() == Some("r.pdf"))
        })
        .expect("pdf part");
    assert!(part.text.contains("Quarterly numbers"), "{part:?}");
    assert!(d.anomalies.is_empty(), "{:?}", d.anomalies);
}
