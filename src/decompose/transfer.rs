//! Lenient Content-Transfer-Encoding decoders (and the clean encoders that repair a body), the way
//! receiving mail clients decode.
//!
//! Every base64 and quoted-printable body is decoded here from its raw bytes, never by
//! mail-parser: a single byte outside the base64 alphabet makes mail-parser give up and keep the
//! encoded text, while mail clients (Python's `email`, which uses `binascii`) ignore it as RFC 2045
//! section 6.8 says, and show the decoded text. Decoding as leniently as the most lenient client
//! means detection sees whatever a recipient can see. Whether the body was well formed is reported
//! alongside ([`Decoded::clean`]), so a badly encoded part becomes an anomaly policies can act on.
//!
//! Base64: bytes outside the alphabet are skipped; `=` ends a quantum only once it is complete
//! (a lone `=` inside a quantum is skipped, as `binascii` does), and decoding goes on after the
//! padding (some clients read concatenated base64); a trailing partial quantum yields its whole
//! bytes. Quoted-printable: `=XX` (either case) is a byte, `=` at the end of a line a soft break,
//! `==` a literal `=` (as `binascii` reads it), any other `=` is kept as it is.

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};

/// Bytes decoded from a transfer encoding, and whether the input was well formed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decoded {
    pub bytes: Vec<u8>,
    /// No byte outside the encoding's alphabet, no malformed escape, nothing after the padding.
    pub clean: bool,
}

/// The transfer encodings decoded here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Base64,
    QuotedPrintable,
}

impl Encoding {
    /// The encoding a `Content-Transfer-Encoding` value names, if it is one decoded here.
    pub(crate) fn of(value: &str) -> Option<Self> {
        let value = value.trim();
        if value.eq_ignore_ascii_case("base64") {
            Some(Self::Base64)
        } else if value.eq_ignore_ascii_case("quoted-printable") {
            Some(Self::QuotedPrintable)
        } else {
            None
        }
    }

    pub(crate) fn decode(self, input: &[u8]) -> Decoded {
        match self {
            Self::Base64 => base64(input),
            Self::QuotedPrintable => quoted_printable(input),
        }
    }

    /// A well-formed encoding of `bytes` that [`Encoding::decode`] turns back into them, and that
    /// holds no line a MIME parser could take for a boundary.
    pub(crate) fn encode(self, bytes: &[u8]) -> Vec<u8> {
        match self {
            Self::Base64 => base64_encode(bytes),
            Self::QuotedPrintable => quoted_printable_encode(bytes),
        }
    }
}

/// The alphabet's value of each byte (`0xff` outside it), for the lenient pre-filter.
const fn base64_table() -> [u8; 256] {
    let mut t = [0xff; 256];
    let alphabet = BASE64_ALPHABET;
    let mut i = 0;
    while i < 64 {
        t[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    t
}

const BASE64_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static BASE64: [u8; 256] = base64_table();

/// The `base64` crate's engine for mail bodies: padding optional, and any trailing bits of an
/// unfinished quantum ignored (its whole bytes are kept), as mail-parser and clients do.
pub(crate) const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes base64 leniently (see the module documentation): a pre-filter applies the lenient
/// rules and splits the input into runs of alphabet characters, each ended by the padding that
/// completes a quantum; the `base64` crate decodes every run.
pub(crate) fn base64(input: &[u8]) -> Decoded {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 3);
    let mut clean = true;
    let mut run = Vec::with_capacity(input.len());
    let mut pads = 0usize;
    let mut padded = false; // a quantum was completed by padding
    for &b in input {
        if BASE64[usize::from(b)] < 64 {
            if padded || pads > 0 {
                clean = false; // data after padding
            }
            pads = 0;
            run.push(b);
            continue;
        }
        match b {
            b'=' => {
                let n = run.len() % 4;
                if n < 2 {
                    // Padding where no quantum needs it: skipped.
                    if !padded {
                        clean = false;
                    }
                    continue;
                }
                pads += 1;
                if n + pads >= 4 {
                    decode_run(&mut out, &mut run);
                    pads = 0;
                    padded = true;
                }
            }
            b' ' | b'\t' | b'\r' | b'\n' => {}
            _ => clean = false,
        }
    }
    if run.len() % 4 == 1 || pads > 0 {
        clean = false;
    }
    decode_run(&mut out, &mut run);
    Decoded { bytes: out, clean }
}

/// Appends the whole bytes of a run of alphabet characters, a dangling sixth of a byte dropped,
/// and empties the run.
fn decode_run(out: &mut Vec<u8>, run: &mut Vec<u8>) {
    let whole = run.len() - usize::from(run.len() % 4 == 1);
    // A run holds only alphabet characters and no lone final character, so this cannot fail.
    let _ = B64.decode_vec(&run[..whole], out);
    run.clear();
}

/// Standard base64 (the `base64` crate) in lines of 76 characters.
fn base64_encode(bytes: &[u8]) -> Vec<u8> {
    let flat = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = Vec::with_capacity(flat.len() + flat.len() / 76 * 2);
    for (i, line) in flat.as_bytes().chunks(76).enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(line);
    }
    out
}

/// Decodes quoted-printable leniently (see the module documentation).
pub(crate) fn quoted_printable(input: &[u8]) -> Decoded {
    let mut out = Vec::with_capacity(input.len());
    let mut clean = true;
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b != b'=' {
            out.push(b);
            i += 1;
            continue;
        }
        match (input.get(i + 1), input.get(i + 2)) {
            (Some(b'\r'), Some(b'\n')) => i += 3,
            (Some(b'\n'), _) => i += 2,
            (Some(&h), Some(&l)) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => {
                out.push(hex(h) << 4 | hex(l));
                i += 3;
            }
            (Some(b'='), _) => {
                out.push(b'=');
                clean = false;
                i += 2;
            }
            (None, _) => {
                // A soft break at the very end.
                i += 1;
            }
            _ => {
                // Transport padding before a soft break is allowed; anything else is malformed.
                let rest = &input[i + 1..];
                let pad = rest
                    .iter()
                    .position(|&c| !matches!(c, b' ' | b'\t'))
                    .unwrap_or(rest.len());
                match rest.get(pad..) {
                    Some([b'\r', b'\n', ..]) => i += 1 + pad + 2,
                    Some([b'\n', ..]) => i += 1 + pad + 1,
                    Some([]) => i += 1 + pad,
                    _ => {
                        out.push(b'=');
                        clean = false;
                        i += 1;
                    }
                }
            }
        }
    }
    Decoded { bytes: out, clean }
}

/// Quoted-printable with every byte but letters, digits and spaces escaped: one line, so no
/// boundary can appear in it.
fn quoted_printable_encode(bytes: &[u8]) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = Vec::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b == b' ' {
            out.push(b);
        } else {
            out.extend_from_slice(&[b'=', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
    }
    out
}

fn hex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c.wrapping_sub(b'A').wrapping_add(10),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &[u8]) -> (Vec<u8>, bool) {
        let d = base64(s);
        (d.bytes, d.clean)
    }

    fn qp(s: &[u8]) -> (Vec<u8>, bool) {
        let d = quoted_printable(s);
        (d.bytes, d.clean)
    }

    #[test]
    fn base64_with_line_breaks_and_truncation() {
        assert_eq!(
            b64(b"c2VjcmV0\r\nIHBsYW5z\r\n"),
            (b"secret plans".to_vec(), true)
        );
        assert_eq!(b64(b"aGk="), (b"hi".to_vec(), true));
        assert_eq!(b64(b"aQ=="), (b"i".to_vec(), true));
        // Unpadded: the complete bytes survive, and that is not malformed.
        assert_eq!(b64(b"c2VjcmV0IHBsYW4"), (b"secret plan".to_vec(), true));
        // A dangling sixth of a byte is.
        assert_eq!(b64(b"c2VjcmV0IHBsYW5zZ"), (b"secret plans".to_vec(), false));
        assert_eq!(b64(b"!!!"), (Vec::new(), false));
        assert_eq!(b64(b""), (Vec::new(), true));
    }

    #[test]
    fn base64_skips_bytes_outside_the_alphabet_as_clients_do() {
        // The example of issue 9: one '!' must not hide the text.
        let (text, clean) = b64(b"UGxlYXNl!IGtlZXAgdGhlIGZhbGNvbiBwbGFuIHNlY3JldC4NCg==");
        assert_eq!(text, b"Please keep the falcon plan secret.\r\n");
        assert!(!clean);
        // Non-ASCII bytes, a '-', a trailing junk line after the padding.
        assert_eq!(b64("aGVs\u{e9}bG8-".as_bytes()).0, b"hello");
        assert_eq!(b64(b"aGVsbG8=\r\n-- \r\nsent.\r\n").0[..5], *b"hello");
        assert!(!b64(b"aGVsbG8=\r\n-- \r\nsent.\r\n").1);
    }

    #[test]
    fn base64_padding_rules() {
        // A lone '=' inside a quantum is skipped (binascii), not an end.
        assert_eq!(b64(b"aG=Vs bG8="), (b"hello".to_vec(), false));
        // Padding where no quantum needs it is skipped.
        assert_eq!(b64(b"=aGk="), (b"hi".to_vec(), false));
        // Decoding goes on after complete padding (concatenated base64).
        assert_eq!(b64(b"aGk=aGk="), (b"hihi".to_vec(), false));
        assert_eq!(b64(b"aGk=\r\n\r\n"), (b"hi".to_vec(), true));
        assert_eq!(b64(b"aGk==="), (b"hi".to_vec(), true));
    }

    #[test]
    fn quoted_printable_soft_breaks_and_bad_escapes() {
        assert_eq!(
            qp(b"caf=C3=A9 =\r\nok"),
            ("café ok".as_bytes().to_vec(), true)
        );
        assert_eq!(qp(b"caf=c3=a9"), ("café".as_bytes().to_vec(), true));
        assert_eq!(qp(b"a=zz b="), (b"a=zz b".to_vec(), false));
        assert_eq!(qp(b"x=3d=3D"), (b"x==".to_vec(), true));
        // Transport padding after a soft break's '='.
        assert_eq!(qp(b"fal= \t\r\ncon"), (b"falcon".to_vec(), true));
        // "==" is a literal '=' (binascii), so what follows is read as it stands.
        assert_eq!(qp(b"==falcon"), (b"=falcon".to_vec(), false));
        // '=' then a space and text: kept as is, not taken as an escape of the text.
        assert_eq!(qp(b"= falcon"), (b"= falcon".to_vec(), false));
        // A body ending in '=' right before a boundary (mail-parser's decoder underflows there).
        assert_eq!(qp(b"=\r\n"), (Vec::new(), true));
    }

    #[test]
    fn encoders_round_trip_and_hold_no_boundary() {
        for data in [
            &b""[..],
            b"a",
            b"ab",
            b"abc",
            b"\r\n--b1\r\n\x00\xff= tail",
            &[7u8; 200],
        ] {
            for e in [Encoding::Base64, Encoding::QuotedPrintable] {
                let enc = e.encode(data);
                assert_eq!(
                    e.decode(&enc),
                    Decoded {
                        bytes: data.to_vec(),
                        clean: true
                    }
                );
                assert!(memchr::memmem::find(&enc, b"--").is_none());
            }
        }
        assert!(
            base64_encode(&[0u8; 200])
                .split(|&b| b == b'\n')
                .all(|l| l.len() <= 78)
        );
    }

    #[test]
    fn encoding_names() {
        assert_eq!(Encoding::of(" BASE64 "), Some(Encoding::Base64));
        assert_eq!(
            Encoding::of("Quoted-Printable"),
            Some(Encoding::QuotedPrintable)
        );
        assert_eq!(Encoding::of("7bit"), None);
    }
}
