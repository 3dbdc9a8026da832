//! Building message parts in tests and benches: base64 with 76-character lines, and zip archives
//! (deflated) of named entries. Shared by `tests/` and `benches/` (through `#[path]`).
#![allow(dead_code)]

use std::io::Write;

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
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut z = zip::ZipWriter::new(&mut buf);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        z.start_file(*name, opts).expect("zip entry");
        z.write_all(data).expect("zip data");
    }
    z.finish().expect("zip");
    buf.into_inner()
}
