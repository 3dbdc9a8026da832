//! S/MIME with the `openssl` command line for integration tests: a message signed by
//! `openssl smime -sign`, and the check that a relayed copy, wrapped by a disclaimer in a
//! multipart/mixed, still verifies.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use mail_parser::{MessageParser, MimeHeaders};

/// The text signed by [`signed`].
pub const SIGNED_TEXT: &str = "Signed numbers: 1, 2, 3.";

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A message from `from` to `to` with the subject "signed", signed by a fresh self-signed key in
/// `dir`, with CRLF line endings.
pub fn signed(dir: &Path, from: &str, to: &str) -> Vec<u8> {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=a@corp.example",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-days",
            "2",
        ],
    );
    let body = format!("{SIGNED_TEXT}   \r\nKeep them.\r\n");
    std::fs::write(dir.join("body.txt"), body).unwrap();
    openssl(
        dir,
        &[
            "smime",
            "-sign",
            "-in",
            "body.txt",
            "-signer",
            "cert.pem",
            "-inkey",
            "key.pem",
            "-from",
            from,
            "-to",
            to,
            "-subject",
            "signed",
            "-out",
            "signed.eml",
        ],
    );
    let text = std::fs::read_to_string(dir.join("signed.eml")).unwrap();
    text.replace("\r\n", "\n")
        .replace('\n', "\r\n")
        .into_bytes()
}

/// Checks a relayed copy of `signed` (in `data`): a multipart/mixed whose second part is the
/// signed original, body byte for byte, and whose signature openssl verifies (in `dir`).
pub fn assert_still_verifies(dir: &Path, signed: &[u8], data: &str) {
    let body_at = signed.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(
        data.contains(std::str::from_utf8(&signed[body_at..]).unwrap()),
        "{data}"
    );
    let msg = MessageParser::default().parse(data.as_bytes()).unwrap();
    let ct = msg.content_type().unwrap();
    assert_eq!(
        (ct.ctype(), ct.subtype()),
        ("multipart", Some("mixed")),
        "{data}"
    );
    let part = &msg.parts[1];
    let mut relayed = b"MIME-Version: 1.0\r\n".to_vec();
    relayed.extend_from_slice(
        &data.as_bytes()[part.raw_header_offset() as usize..part.raw_end_offset() as usize],
    );
    std::fs::write(dir.join("relayed.eml"), &relayed).unwrap();
    openssl(
        dir,
        &[
            "smime",
            "-verify",
            "-in",
            "relayed.eml",
            "-noverify",
            "-out",
            "content.txt",
        ],
    );
    let content = std::fs::read_to_string(dir.join("content.txt")).unwrap();
    assert!(content.contains(SIGNED_TEXT), "{content}");
}
