//! The PDF text extractor for real: the sluice binary re-executed as `sluice pdf-text` in a
//! sandboxed child (rlimits, wall-clock timeout). PDFs are built here by hand.

use std::time::{Duration, Instant};

use sluice::decompose::pdf_child::ChildPdf;
use sluice::decompose::{Limits, NoBudget, PdfError, PdfText, decompose};

fn extractor() -> ChildPdf {
    ChildPdf::new(env!("CARGO_BIN_EXE_sluice").into())
}

/// A one-page PDF showing `text` in Helvetica, with a correct cross-reference table.
fn pdf_with_text(text: &str) -> Vec<u8> {
    let content = format!("BT /F1 24 Tf 72 720 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for off in offsets {
        pdf.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
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
    let mut hang = ChildPdf::new(script);
    hang.timeout = Duration::from_millis(500);
    let started = Instant::now();
    assert_eq!(hang.text(b"%PDF-1.4"), Err(PdfError::Timeout));
    assert!(started.elapsed() < Duration::from_secs(5));
    let missing = ChildPdf::new(dir.path().join("missing"));
    assert_eq!(missing.text(b"%PDF-1.4"), Err(PdfError::Unavailable));
}

#[test]
fn attached_pdf_text_reaches_the_decomposition() {
    let pdf = pdf_with_text("Quarterly numbers");
    let b64 = base64(&pdf);
    let raw = format!(
        "Subject: report\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee pdf\r\n\
         --b\r\nContent-Type: application/pdf; name=r.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--b--\r\n"
    );
    let d = decompose(raw.as_bytes(), &Limits::default(), &extractor(), &NoBudget);
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

fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for (i, c) in data.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            out.push_str("\r\n");
        }
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        out.push(A[(n >> 18) as usize & 63] as char);
        out.push(A[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 {
            A[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if c.len() > 2 {
            A[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}
