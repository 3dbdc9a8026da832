//! Rewrites the bodies mail-parser could not transfer-decode, so that a second parse classifies
//! every part as it would in a well-formed message.
//!
//! When mail-parser meets a byte outside the base64 alphabet (or a quoted-printable escape it does
//! not take), it keeps the encoded text and changes the part: an HTML body becomes an attachment of
//! "other text", a binary attachment becomes text, an inline body is no longer inline. Mail clients
//! decode such bodies anyway (see `transfer`). So each such body is decoded leniently here and
//! replaced by a well-formed encoding of the same bytes, and the message is parsed again: the
//! walker then sees the parts a client sees, and decodes the same bytes it would have from the
//! original body. Whether the original was clean is kept per body, for the anomaly.

use mail_parser::{Message, MimeHeaders, PartType};

use super::transfer::Encoding;

/// A message with its badly encoded bodies re-encoded.
#[derive(Debug)]
pub(crate) struct Repaired {
    pub(crate) bytes: Vec<u8>,
    /// Body offsets in `bytes` of the rewritten bodies, and whether the original was clean.
    pub(crate) bodies: Vec<(u32, bool)>,
    /// Each rewritten body: where it starts in `bytes`, its length there, and its length before.
    spans: Vec<(usize, usize, usize)>,
}

impl Repaired {
    /// Whether the original of the body at `offset` was clean (`None`: not rewritten).
    pub(crate) fn clean_at(&self, offset: u32) -> Option<bool> {
        self.bodies
            .iter()
            .find(|(at, _)| *at == offset)
            .map(|&(_, clean)| clean)
    }

    /// An offset into `bytes` outside the rewritten bodies, as an offset into the input.
    pub(crate) fn original(&self, at: usize) -> usize {
        let mut shifted = at;
        for &(start, new_len, old_len) in &self.spans {
            if at < start + new_len {
                break;
            }
            shifted = shifted + old_len - new_len;
        }
        shifted
    }
}

/// The input of `msg` with every body mail-parser reported an encoding problem for, and that is
/// base64 or quoted-printable, rewritten; `None` when there is none.
pub(crate) fn repair(msg: &Message<'_>) -> Option<Repaired> {
    let raw: &[u8] = msg.raw_message.as_ref();
    let mut spans: Vec<(usize, usize, Vec<u8>, bool)> = Vec::new();
    for part in &msg.parts {
        if !part.is_encoding_problem || matches!(part.body, PartType::Multipart(_)) {
            continue;
        }
        let Some(encoding) = part.content_transfer_encoding().and_then(Encoding::of) else {
            continue;
        };
        let (start, end) = (
            part.raw_body_offset() as usize,
            part.raw_end_offset() as usize,
        );
        let Some(body) = raw.get(start..end) else {
            continue;
        };
        let decoded = encoding.decode(body);
        spans.push((start, end, encoding.encode(&decoded.bytes), decoded.clean));
    }
    if spans.is_empty() {
        return None;
    }
    spans.sort_by_key(|s| s.0);
    let mut bytes = Vec::with_capacity(raw.len());
    let mut bodies = Vec::with_capacity(spans.len());
    let mut rewritten = Vec::with_capacity(spans.len());
    let mut last = 0;
    for (start, end, encoded, clean) in spans {
        if start < last {
            continue; // overlapping spans cannot come from one parse; ignored if they do
        }
        bytes.extend_from_slice(&raw[last..start]);
        bodies.push((u32::try_from(bytes.len()).ok()?, clean));
        rewritten.push((bytes.len(), encoded.len(), end - start));
        bytes.extend_from_slice(&encoded);
        last = end;
    }
    bytes.extend_from_slice(&raw[last..]);
    Some(Repaired {
        bytes,
        bodies,
        spans: rewritten,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_only_badly_encoded_bodies_and_maps_offsets_back() {
        let raw = b"Subject: s\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
Content-Transfer-Encoding: base64\r\n\r\naGk=!!!!\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\naGk=\r\n--b--\r\n";
        let msg = mail_parser::MessageParser::default()
            .parse(&raw[..])
            .expect("parse");
        let fixed = repair(&msg).expect("one body to repair");
        let text = String::from_utf8_lossy(&fixed.bytes);
        assert_eq!(text.matches("aGk=").count(), 2, "{text}");
        assert!(!text.contains('!'));
        assert_eq!(fixed.bodies.len(), 1);
        assert!(!fixed.bodies[0].1, "the original was not clean");
        // The second part's header, 4 bytes earlier after the rewrite, maps back.
        let second = memchr::memmem::rfind(&raw[..], b"Content-Transfer").unwrap();
        let moved = memchr::memmem::rfind(&fixed.bytes, b"Content-Transfer").unwrap();
        assert_eq!(moved + 4, second);
        assert_eq!(fixed.original(moved), second);
        assert_eq!(fixed.original(3), 3);
        let clean = mail_parser::MessageParser::default()
            .parse(&fixed.bytes[..])
            .expect("parse");
        assert!(repair(&clean).is_none());
    }
}
