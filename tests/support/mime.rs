//! Building message parts in tests and benches: base64 with 76-character lines, and zip archives
//! (deflated) of named entries. Shared by `tests/` and `benches/` (through `#[path]`).
#![allow(dead_code)]

use std::io::Write;

/// A message from a@corp.example to b@partner.example: a text body and one base64 attachment.
pub fn with_attachment(subject: &str, body: &str, name: &str, data: &[u8]) -> String {
    format!(
        "From: <a@corp.example>\r\nTo: <b@partner.example>\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n{body}\r\n\
         --b\r\nContent-Type: application/octet-stream; name=\"{name}\"\r\n\
         Content-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}--b--\r\n",
        b64(data)
    )
}

/// Base64 (RFC 2045) with CRLF after every 76 characters and at the end.
pub fn b64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len() * 4 / 3 + data.len() / 57 * 2 + 8);
    for (i, c) in data.chunks(3).enumerate() {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..4 {
            out.push(if k <= c.len() {
                T[(n >> (18 - 6 * k)) as usize & 63] as char
            } else {
                '='
            });
        }
        if i % 19 == 18 {
            out.push_str("\r\n");
        }
    }
    out.push_str("\r\n");
    out
}

/// A deflated zip of `(name, content)` entries.
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    zip_by(zip::CompressionMethod::Deflated, entries)
}

/// A zip of `(name, content)` entries compressed with `method`.
pub fn zip_by(method: zip::CompressionMethod, entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut z = zip::ZipWriter::new(&mut buf);
    let opts = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, data) in entries {
        z.start_file(*name, opts).expect("zip entry");
        z.write_all(data).expect("zip data");
    }
    z.finish().expect("zip");
    buf.into_inner()
}

/// A valid single-page PDF (uncompressed content stream, correct cross-reference table) drawing each
/// of `lines` with `Tj` in Helvetica.
pub fn pdf_of_lines(lines: &[&str]) -> Vec<u8> {
    pdf_with_page(
        lines,
        "/MediaBox [0 0 612 40000] /Resources << /Font << /F1 5 0 R >> >>",
    )
}

/// A one-page PDF of `lines` whose page dictionary holds `entries` besides its type, parent and
/// contents (font F1 is object 5): e.g. no `/MediaBox`, which readers default.
pub fn pdf_with_page(lines: &[&str], entries: &str) -> Vec<u8> {
    let mut content = String::from("BT /F1 10 Tf 40 760 Td 12 TL\n");
    for l in lines {
        content.push_str(&format!("({}) Tj T*\n", l.replace(['(', ')', '\\'], " ")));
    }
    content.push_str("ET\n");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        format!("<< /Type /Page /Parent 2 0 R /Contents 4 0 R {entries} >>"),
        format!(
            "<< /Length {} >>\nstream\n{content}endstream",
            content.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}
