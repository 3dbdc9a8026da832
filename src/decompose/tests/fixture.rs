//! Fixture builders for the golden tests: messages, zips (with the zip crate's writer), tars,
//! gzips, 7z archives (with sevenz-rust2's writer) and minimal office packages, all made in memory.
//! The only committed blobs are the two encrypted 7z archives (`encrypted_*.7z`): the writer
//! this build links cannot encrypt (AES is left out of the decoder on purpose).

use std::io::{Cursor, Write};

use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

/// An attachment: file name, full Content-Type value, content (sent base64).
pub struct Att<'a> {
    name: &'a str,
    ctype: &'a str,
    data: &'a [u8],
}

impl<'a> Att<'a> {
    pub fn new(name: &'a str, ctype: &'a str, data: &'a [u8]) -> Self {
        Self { name, ctype, data }
    }
}

/// A message with a text body and base64 attachments (multipart/mixed when there are any).
pub fn mail(subject: &str, body: &str, atts: &[Att<'_>]) -> Vec<u8> {
    let mut m = format!("Subject: {subject}\r\nMIME-Version: 1.0\r\n");
    if atts.is_empty() {
        m.push_str(&format!(
            "Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
        ));
        return m.into_bytes();
    }
    let b = "=_boundary_";
    m.push_str(&format!(
        "Content-Type: multipart/mixed; boundary=\"{b}\"\r\n\r\n"
    ));
    m.push_str(&format!(
        "--{b}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ));
    for a in atts {
        m.push_str(&format!(
            "--{b}\r\nContent-Type: {}; name=\"{}\"\r\nContent-Disposition: attachment; filename=\"{}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            a.ctype,
            a.name,
            a.name,
            base64(a.data)
        ));
    }
    m.push_str(&format!("--{b}--\r\n"));
    m.into_bytes()
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

fn zip_with(entries: &[(&str, &[u8])], method: CompressionMethod) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(method);
    for (name, data) in entries {
        w.start_file(*name, opts).expect("start entry");
        w.write_all(data).expect("write entry");
    }
    w.finish().expect("finish zip").into_inner()
}

/// A zip whose entries are compressed with `method`.
pub fn zip_by(method: CompressionMethod, entries: &[(&str, &[u8])]) -> Vec<u8> {
    zip_with(entries, method)
}

/// `data` with `n` bytes of a self-extractor stub (a PE header, then padding) before it.
pub fn prepended(n: usize, data: &[u8]) -> Vec<u8> {
    let mut out = exe();
    out.resize(n.max(out.len()), 0);
    out.extend_from_slice(data);
    out
}

/// A deflated zip.
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    zip_with(entries, CompressionMethod::Deflated)
}

/// A zip whose entries are stored (not compressed).
pub fn stored_zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    zip_with(entries, CompressionMethod::Stored)
}

fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    memchr::memmem::find_iter(hay, needle).collect()
}

/// Sets the "encrypted" flag (bit 0) of the first entry, in its local and central headers.
pub fn encrypt_first_entry(mut zip: Vec<u8>) -> Vec<u8> {
    let local = find_all(&zip, b"PK\x03\x04")[0];
    zip[local + 6] |= 1;
    let central = find_all(&zip, b"PK\x01\x02")[0];
    zip[central + 8] |= 1;
    zip
}

/// Overwrites the declared uncompressed size of every entry (a lying zip bomb).
pub fn set_declared_size(mut zip: Vec<u8>, size: u32) -> Vec<u8> {
    for at in find_all(&zip, b"PK\x03\x04") {
        zip[at + 22..at + 26].copy_from_slice(&size.to_le_bytes());
    }
    for at in find_all(&zip, b"PK\x01\x02") {
        zip[at + 24..at + 28].copy_from_slice(&size.to_le_bytes());
    }
    zip
}

pub fn gzip_of(data: &[u8], name: Option<&str>) -> Vec<u8> {
    let mut b = flate2::GzBuilder::new();
    if let Some(n) = name {
        b = b.filename(n);
    }
    let mut enc = b.write(Vec::new(), flate2::Compression::default());
    enc.write_all(data).expect("gzip");
    enc.finish().expect("gzip finish")
}

pub fn tar_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in entries {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, *data).expect("tar entry");
    }
    b.into_inner().expect("tar finish")
}

/// A minimal PE executable header.
pub fn exe() -> Vec<u8> {
    let mut exe = vec![0u8; 0x100];
    exe[..2].copy_from_slice(b"MZ");
    exe[0x3c] = 0x80;
    exe[0x80..0x84].copy_from_slice(b"PE\0\0");
    exe
}

const CONTENT_TYPES: &[u8] = br#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>"#;

/// Entries of a docx: the body paragraph, "signed" after a tab, a footer, and styles (not text).
pub fn docx_entries(body: &str, footer: &str) -> Vec<(String, Vec<u8>)> {
    vec![
        ("[Content_Types].xml".into(), CONTENT_TYPES.to_vec()),
        (
            "word/document.xml".into(),
            format!(
                r#"<w:document xmlns:w="w"><w:body><w:p><w:r><w:t>{body}</w:t><w:tab/><w:t>signed</w:t></w:r></w:p></w:body></w:document>"#
            )
            .into_bytes(),
        ),
        ("word/styles.xml".into(), br#"<w:styles><w:name w:val="x"/><w:t>StyleName</w:t></w:styles>"#.to_vec()),
        (
            "word/footer1.xml".into(),
            format!(r#"<w:ftr xmlns:w="w"><w:p><w:r><w:t>{footer}</w:t></w:r></w:p></w:ftr>"#).into_bytes(),
        ),
    ]
}

pub fn as_entries(owned: &[(String, Vec<u8>)]) -> Vec<(&str, &[u8])> {
    owned
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect()
}

pub fn docx(body: &str, footer: &str) -> Vec<u8> {
    zip_of(&as_entries(&docx_entries(body, footer)))
}

pub fn xlsx() -> Vec<u8> {
    zip_of(&[
        ("[Content_Types].xml", CONTENT_TYPES),
        ("xl/workbook.xml", b"<workbook/>"),
        ("xl/sharedStrings.xml", b"<sst><si><t>Name</t></si><si><t>Card</t></si></sst>"),
        (
            "xl/worksheets/sheet1.xml",
            br#"<worksheet><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1"><v>4111111111111111</v></c><c t="inlineStr"><is><t>Bob</t></is></c></row></sheetData></worksheet>"#,
        ),
    ])
}

pub fn pptx() -> Vec<u8> {
    zip_of(&[
        ("[Content_Types].xml", CONTENT_TYPES),
        ("ppt/presentation.xml", b"<p:presentation/>"),
        (
            "ppt/slides/slide1.xml",
            br#"<p:sld><p:cSld><p:spTree><p:sp><p:txBody><a:p><a:r><a:t>Slide title</a:t></a:r></a:p><a:p><a:r><a:t>Confidential roadmap</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:sld>"#,
        ),
    ])
}

pub fn odt() -> Vec<u8> {
    zip_of(&[
        ("mimetype", b"application/vnd.oasis.opendocument.text"),
        (
            "content.xml",
            br#"<office:document-content><office:body><office:text><text:h>Memo</text:h><text:p>IBAN DE89 3704 0044 0532 0130 00</text:p></office:text></office:body></office:document-content>"#,
        ),
    ])
}

/// An encrypted OpenDocument package: its manifest declares encryption data.
pub fn odt_encrypted() -> Vec<u8> {
    zip_of(&[
        ("mimetype", b"application/vnd.oasis.opendocument.text"),
        (
            "META-INF/manifest.xml",
            br#"<manifest:manifest><manifest:file-entry manifest:full-path="content.xml"><manifest:encryption-data manifest:checksum-type="SHA1/1K"/></manifest:file-entry></manifest:manifest>"#,
        ),
    ])
}

/// An OLE2 compound file whose directory names `stream` (UTF-16LE, as OLE2 stores names).
pub fn cfb(stream: &[u8]) -> Vec<u8> {
    let mut f = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1".to_vec();
    f.resize(512, 0);
    for &b in stream {
        f.extend_from_slice(&[b, 0]);
    }
    f.resize(1024, 0);
    f
}

/// An encrypted OOXML package: an OLE2 file with EncryptionInfo and EncryptedPackage streams.
pub fn encrypted_ooxml() -> Vec<u8> {
    let mut f = cfb(b"EncryptionInfo");
    for &b in b"EncryptedPackage" {
        f.extend_from_slice(&[b, 0]);
    }
    f
}

/// The start of a 7z archive whose (encoded) next header names the AES coder when `encrypted`,
/// else LZMA; its checksums are zero, so the reader refuses it and only the AES marker decides.
pub fn sevenz(encrypted: bool) -> Vec<u8> {
    let mut f = b"7z\xbc\xaf\x27\x1c\x00\x04".to_vec();
    f.extend_from_slice(&[0; 4]); // start header CRC
    f.extend_from_slice(&0u64.to_le_bytes()); // next header offset
    f.extend_from_slice(&16u64.to_le_bytes()); // next header size
    f.extend_from_slice(&[0; 4]); // next header CRC
    let coder: &[u8] = if encrypted {
        &[0x06, 0xf1, 0x07, 0x01]
    } else {
        &[0x03, 0x01, 0x01]
    };
    f.extend_from_slice(&[0x17, 0x06, 0x00, 0x0b, 0x01, 0x00]);
    f.extend_from_slice(coder);
    f.extend_from_slice(&[0x00; 6]);
    f
}

/// A 7z archive (LZMA2, one block per entry), made with sevenz-rust2's writer.
pub fn sevenz_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = sevenz_rust2::ArchiveWriter::new(Cursor::new(Vec::new())).expect("7z writer");
    for (name, data) in entries {
        w.push_archive_entry(sevenz_rust2::ArchiveEntry::new_file(name), Some(*data))
            .expect("7z entry");
    }
    w.finish().expect("7z finish").into_inner()
}

/// A 7z archive whose entries are compressed with `method` (bzip2, zstd, ...).
pub fn sevenz_by(method: sevenz_rust2::EncoderMethod, entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = sevenz_rust2::ArchiveWriter::new(Cursor::new(Vec::new())).expect("7z writer");
    w.set_content_methods(vec![method.into()]);
    for (name, data) in entries {
        w.push_archive_entry(sevenz_rust2::ArchiveEntry::new_file(name), Some(*data))
            .expect("7z entry");
    }
    w.finish().expect("7z finish").into_inner()
}

/// A solid 7z archive: every entry in one LZMA2 block.
pub fn solid_sevenz_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = sevenz_rust2::ArchiveWriter::new(Cursor::new(Vec::new())).expect("7z writer");
    let names = entries
        .iter()
        .map(|(n, _)| sevenz_rust2::ArchiveEntry::new_file(n))
        .collect();
    let readers = entries.iter().map(|(_, d)| (*d).into()).collect();
    w.push_archive_entries(names, readers).expect("7z entries");
    w.finish().expect("7z finish").into_inner()
}

/// A 7z archive made with a password ("pw"), AES-256 + LZMA2: content only (the header lists
/// `secret.txt`), or header too (nothing can be listed).
pub fn encrypted_sevenz(header_too: bool) -> &'static [u8] {
    if header_too {
        include_bytes!("encrypted_header.7z")
    } else {
        include_bytes!("encrypted_content.7z")
    }
}

/// Base64 in 76-character lines, as a mailer sends an attachment.
pub fn fixture_base64(data: &[u8]) -> String {
    base64(data)
}
